"""Photoplethysmogram filtering: the pulsatile (AC) band and a running envelope.

Filters are designed for the sample rate given, so a recording at 25 Hz and one at 1000 Hz go
through the same pass band (zero-phase Butterworth, forward and backward).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, signal

PULSE_BAND_HZ = (0.5, 5.0)
"""Pass band of the pulsatile component, Hz (30-300 beats/min and the first harmonics)."""
FILTER_ORDER = 2
"""Butterworth order of each band edge (doubled by the forward-backward pass)."""
WAVEFORM_HIGH_HZ = 15.0
"""Upper edge of the band whose peak-to-peak gives the perfusion index, Hz: the pulse's
harmonics up to 240 beats/min, which the 5 Hz edge would cut."""
MIN_SAMPLE_RATE_HZ = 2.5 * PULSE_BAND_HZ[1]
"""Lowest sample rate the pass band fits under (upper edge below 0.8 × Nyquist), Hz."""


def pulse_band(
    signals: ArrayLike, sample_rate_hz: float, axis: int = 0, high_hz: float = PULSE_BAND_HZ[1]
) -> NDArray[np.float64]:
    """Band-pass the pulsatile component of light-intensity signals.

    The per-channel mean is removed first, so DC levels of any size (e.g. 10⁶ counts under a
    0.1 % pulse) leave no filter transient (the initial conditions start the filter in its
    steady state, so the constant removed only sets the rounding, not the result).

    Parameters
    ----------
    signals : array_like
        Intensities (any unit), samples along `axis`.
    sample_rate_hz : float
        Sample rate, Hz (>= `MIN_SAMPLE_RATE_HZ`).
    axis : int
        Time axis.
    high_hz : float
        Upper band edge, Hz (lowered to 0.4 × the sample rate if above it).

    Returns
    -------
    ndarray of float64
        The 0.5 Hz to `high_hz` component, same shape and unit as `signals`.
    """
    if not sample_rate_hz >= MIN_SAMPLE_RATE_HZ:
        raise ValueError(
            f"sample rate must be at least {MIN_SAMPLE_RATE_HZ:g} Hz, got {sample_rate_hz:g} Hz"
        )
    values = np.asarray(signals, dtype=float)
    centred = values - np.mean(values, axis=axis, keepdims=True)
    band = (PULSE_BAND_HZ[0], min(high_hz, 0.4 * sample_rate_hz))
    sos = signal.butter(FILTER_ORDER, band, btype="bandpass", fs=sample_rate_hz, output="sos")
    filtered: NDArray[np.float64] = signal.sosfiltfilt(sos, centred, axis=axis)
    return filtered


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
    rms: NDArray[np.float64] = np.sqrt(np.maximum(mean_square, 0.0))
    return rms


SPECTRUM_RATE_HZ = 40.0
"""Pulse-band signals are decimated to about this rate before windowed spectra, Hz (the
folded band stays far enough above the 5 Hz edge for the harmonics of fast pulses not to
alias into it)."""


def windowed_spectra(
    signals: ArrayLike, sample_rate_hz: float, centre_s: ArrayLike, window_s: float
) -> tuple[NDArray[np.float64], NDArray[np.complex128]]:
    """Hann-windowed spectra of pulse-band signals in windows around given times.

    Parameters
    ----------
    signals : array_like, shape (N, C)
        Pulse-band signals (already low-passed to 5 Hz), samples along axis 0.
    sample_rate_hz : float
        Sample rate, Hz.
    centre_s : array_like, shape (S,)
        Window centres, s from the first sample; windows are shifted to fit the recording.
    window_s : float
        Window length, s (shortened to the recording when longer).

    Returns
    -------
    frequency_hz : ndarray, shape (F,)
        Bin frequencies, Hz.
    spectra : ndarray of complex, shape (S, F, C)
        Spectrum of each window and channel.
    """
    values = np.asarray(signals, dtype=float)
    step = max(1, int(sample_rate_hz // SPECTRUM_RATE_HZ))
    decimated = np.ascontiguousarray(values[::step].T)  # (C, N')
    rate = sample_rate_hz / step
    length = int(min(decimated.shape[1], round(window_s * rate)))
    starts = np.clip(
        np.round((np.asarray(centre_s, dtype=float) - 0.5 * length / rate) * rate).astype(int),
        0,
        decimated.shape[1] - length,
    )
    taper = np.hanning(length)
    windows = sliding_window_view(decimated, length, axis=1)[:, starts] * taper  # (C, S, L)
    # The window mean removed before tapering, subtracted afterwards as mean × spectrum(taper):
    # one FFT of all windows of every channel, no centred copy.
    sums = np.concatenate([np.zeros((decimated.shape[0], 1)), np.cumsum(decimated, axis=1)], 1)
    means = (sums[:, starts + length] - sums[:, starts]) / length  # (C, S)
    spectra = np.fft.rfft(windows, axis=-1)
    spectra -= means[..., np.newaxis] * np.fft.rfft(taper)
    frequency_hz = np.fft.rfftfreq(length, 1.0 / rate).astype(np.float64)
    return frequency_hz, spectra.transpose(1, 2, 0)


HARMONICS = 3
"""Harmonics of a candidate pulse frequency summed when looking for the fundamental."""
FUNDAMENTAL_SHARE = 0.2
"""Least power of a candidate fundamental's own bin, as a share of the strongest bin."""


def pulse_fundamental_hz(
    frequency_hz: NDArray[np.float64], power: ArrayLike, rate_range_hz: tuple[float, float]
) -> NDArray[np.float64]:
    """Pulse fundamental of each power spectrum: of the candidates holding at least
    `FUNDAMENTAL_SHARE` of the strongest candidate's power, the one whose first `HARMONICS`
    harmonics hold the most power (so a strong second harmonic is not taken for the pulse,
    nor half the pulse rate for it).

    Parameters
    ----------
    frequency_hz : ndarray, shape (F,)
        Evenly spaced bin frequencies from 0, Hz.
    power : array_like, shape (S, F)
        Power spectra.
    rate_range_hz : tuple of float
        (lowest, highest) fundamental looked for, Hz.

    Returns
    -------
    ndarray, shape (S,)
        Fundamental, Hz (NaN for a spectrum without power in the range).
    """
    spectra = np.asarray(power, dtype=float)
    resolution = frequency_hz[1] - frequency_hz[0] if frequency_hz.size > 1 else 1.0
    candidates = np.flatnonzero(
        (frequency_hz >= rate_range_hz[0] - 0.5 * resolution)
        & (frequency_hz <= rate_range_hz[1] + 0.5 * resolution)
    )
    if candidates.size == 0:
        return np.full(spectra.shape[0], np.nan)
    harmonic_bins = candidates[:, np.newaxis] * np.arange(1, HARMONICS + 1)
    inside = harmonic_bins < frequency_hz.size
    summed = np.sum(
        np.where(inside, spectra[:, np.minimum(harmonic_bins, frequency_hz.size - 1)], 0.0),
        axis=2,
    )
    # A candidate without power of its own (e.g. half the pulse rate) is no fundamental.
    own = spectra[:, candidates]
    summed = np.where(own >= FUNDAMENTAL_SHARE * own.max(axis=1, keepdims=True), summed, 0.0)
    best = np.argmax(summed, axis=1)
    found = summed[np.arange(spectra.shape[0]), best] > 0.0
    return np.where(found, candidates[best] * resolution, np.nan)
