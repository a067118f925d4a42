"""Photoplethysmogram filtering: the pulsatile (AC) band and a running envelope.

Filters are designed for the sample rate given, so a recording at 25 Hz and one at 1000 Hz go
through the same pass band (zero-phase Butterworth, forward and backward).
"""

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, signal

PULSE_BAND_HZ = (0.5, 5.0)
"""Pass band of the pulsatile component, Hz (30-300 beats/min and the first harmonics)."""
FILTER_ORDER = 2
"""Butterworth order of each band edge (doubled by the forward-backward pass)."""
MIN_SAMPLE_RATE_HZ = 2.5 * PULSE_BAND_HZ[1]
"""Lowest sample rate the pass band fits under (upper edge below 0.8 × Nyquist), Hz."""


def pulse_band(signals: ArrayLike, sample_rate_hz: float, axis: int = 0) -> NDArray[np.float64]:
    """Band-pass the pulsatile component of light-intensity signals.

    The per-channel median is removed first, so DC levels of any size (e.g. 10⁶ counts under a
    0.1 % pulse) leave no filter transient.

    Parameters
    ----------
    signals : array_like
        Intensities (any unit), samples along `axis`.
    sample_rate_hz : float
        Sample rate, Hz (>= `MIN_SAMPLE_RATE_HZ`).
    axis : int
        Time axis.

    Returns
    -------
    ndarray of float64
        The 0.5-5 Hz component, same shape and unit as `signals`.
    """
    if not sample_rate_hz >= MIN_SAMPLE_RATE_HZ:
        raise ValueError(
            f"sample rate must be at least {MIN_SAMPLE_RATE_HZ:g} Hz, got {sample_rate_hz:g} Hz"
        )
    values = np.asarray(signals, dtype=float)
    centred = values - np.median(values, axis=axis, keepdims=True)
    sos = signal.butter(
        FILTER_ORDER, PULSE_BAND_HZ, btype="bandpass", fs=sample_rate_hz, output="sos"
    )
    return signal.sosfiltfilt(sos, centred, axis=axis)


def running_rms(values: ArrayLike, window_samples: int, axis: int = 0) -> NDArray[np.float64]:
    """Root mean square over a centred running window.

    Parameters
    ----------
    values : array_like
        Signal, samples along `axis`.
    window_samples : int
        Window length, samples (>= 1).
    axis : int
        Time axis.

    Returns
    -------
    ndarray of float64
        Running RMS, same shape and unit as `values`.
    """
    squared = np.square(np.asarray(values, dtype=float))
    mean_square = ndimage.uniform_filter1d(squared, max(1, int(window_samples)), axis=axis)
    return np.sqrt(np.maximum(mean_square, 0.0))
