"""Beat detection on a photoplethysmogram and per-beat statistics over beat segments.

A beat is the systolic maximum of arterial blood volume, i.e. a minimum of detected light:
peaks are found on the negated pulse-band signal, normalised by its running RMS so that the
threshold does not depend on perfusion or gain. The minimum spacing follows the local pulse
rate (harmonic spectrum of 8 s windows), which keeps the diastolic (dicrotic) wave from counting
as a beat while the rate changes within the recording.
"""

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from scipy import signal

from imaging.ppg_filters import pulse_fundamental_hz, running_rms, windowed_spectra

PULSE_RATE_RANGE_BPM = (30.0, 240.0)
"""Pulse rates the detector looks for, beats/min."""
RMS_WINDOW_S = 2.0
"""Window of the running RMS that normalises the pulse signal, s."""
MIN_PROMINENCE = 0.8
"""Least peak prominence in units of the running RMS."""
SPACING_OF_PERIOD = 0.55
"""Least beat spacing as a fraction of the local pulse period."""
LOCAL_WINDOW_S = 8.0
"""Window of the local pulse rate, s."""


@dataclass(frozen=True)
class Beats:
    """Detected beats.

    Attributes
    ----------
    index : ndarray of int, shape (B,)
        Sample index of each beat (systolic peak of blood volume).
    time_s : ndarray of float, shape (B,)
        Beat times refined by parabolic interpolation, s from the first sample.
    dominant_rate_bpm : float
        Dominant pulse rate of the whole recording, beats/min (NaN if none found).
    """

    index: NDArray[np.intp]
    time_s: NDArray[np.float64]
    dominant_rate_bpm: float


def dominant_rate_bpm(pulse: ArrayLike, sample_rate_hz: float) -> float:
    """Frequency of the largest spectral peak within `PULSE_RATE_RANGE_BPM`, beats/min.

    Parameters
    ----------
    pulse : array_like, shape (N,)
        Pulse-band signal (any unit).
    sample_rate_hz : float
        Sample rate, Hz.
    """
    values = np.asarray(pulse, dtype=float)
    segment = min(values.size, round(16.0 * sample_rate_hz))
    if segment < 8:
        return float("nan")
    frequency_hz, power = _welch_power(values, sample_rate_hz, segment)
    low, high = (rate / 60.0 for rate in PULSE_RATE_RANGE_BPM)
    band = (frequency_hz >= low) & (frequency_hz <= high)
    if not np.any(band) or not np.any(power[band] > 0.0):
        return float("nan")
    return float(60.0 * frequency_hz[band][np.argmax(power[band])])


def _welch_power(
    values: NDArray[np.float64], sample_rate_hz: float, segment: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Welch's averaged periodogram (periodic Hann window, half-overlapping mean-removed
    segments), up to a constant factor: `scipy.signal.welch`'s spectrum shape from one FFT
    of all segments, without its per-segment detrending calls."""
    step = segment - segment // 2
    segments = sliding_window_view(values, segment)[::step]
    segments = segments - segments.mean(axis=1, keepdims=True)
    taper = signal.get_window("hann", segment)
    power = np.mean(np.abs(np.fft.rfft(segments * taper, axis=1)) ** 2, axis=0)
    return np.fft.rfftfreq(segment, 1.0 / sample_rate_hz).astype(np.float64), power


def local_rate_bpm(pulse: ArrayLike, sample_rate_hz: float) -> NDArray[np.float64]:
    """Pulse rate around every sample from the harmonic spectrum of `LOCAL_WINDOW_S` windows
    one second apart, beats/min (NaN where none is found).

    Parameters
    ----------
    pulse : array_like, shape (N,)
        Pulse-band signal (any unit).
    sample_rate_hz : float
        Sample rate, Hz.
    """
    values = np.asarray(pulse, dtype=float)
    duration_s = values.size / sample_rate_hz
    centre_s = np.arange(0.5, max(duration_s, 1.0), 1.0)
    frequency, spectra = windowed_spectra(
        values[:, np.newaxis], sample_rate_hz, centre_s, LOCAL_WINDOW_S
    )
    if frequency.size < 2:
        return np.full(values.size, np.nan)
    rate_hz = pulse_fundamental_hz(
        frequency,
        np.abs(spectra[..., 0]) ** 2,
        (PULSE_RATE_RANGE_BPM[0] / 60.0, PULSE_RATE_RANGE_BPM[1] / 60.0),
    )
    return 60.0 * np.interp(np.arange(values.size) / sample_rate_hz, centre_s, rate_hz)


def detect_beats(pulse: ArrayLike, sample_rate_hz: float) -> Beats:
    """Find the beats in a pulse-band light signal.

    Peaks closer than `SPACING_OF_PERIOD` of the local pulse period to a higher peak are
    dropped, so the spacing follows the rate as it changes within the recording.

    Parameters
    ----------
    pulse : array_like, shape (N,)
        Pulse-band intensity (from `imaging.ppg_filters.pulse_band`); blood volume peaks are
        intensity minima.
    sample_rate_hz : float
        Sample rate, Hz.

    Returns
    -------
    Beats
    """
    volume = -np.asarray(pulse, dtype=float)
    envelope = running_rms(volume, round(RMS_WINDOW_S * sample_rate_hz))
    normalised = np.divide(volume, envelope, out=np.zeros_like(volume), where=envelope > 0.0)
    rate = dominant_rate_bpm(volume, sample_rate_hz)
    fastest_period_s = 60.0 / PULSE_RATE_RANGE_BPM[1]
    shortest = max(1, int(SPACING_OF_PERIOD * fastest_period_s * sample_rate_hz))
    index, _ = signal.find_peaks(normalised, distance=shortest, prominence=MIN_PROMINENCE)
    if index.size > 1:
        local = local_rate_bpm(volume, sample_rate_hz)[index]
        period = np.where(np.isfinite(local), 60.0 / local, fastest_period_s)
        spacing = SPACING_OF_PERIOD * np.maximum(period, fastest_period_s) * sample_rate_hz
        height = normalised[index]
        gap_before = np.diff(index, prepend=-np.inf)
        gap_after = np.diff(index, append=np.inf)
        higher_before = np.concatenate([[False], height[:-1] > height[1:]])
        higher_after = np.concatenate([height[1:] >= height[:-1], [False]])
        crowded = ((gap_before < spacing) & higher_before) | ((gap_after < spacing) & higher_after)
        index = index[~crowded]
    return Beats(
        index=index.astype(np.intp),
        time_s=_refined_times(volume, index) / sample_rate_hz,
        dominant_rate_bpm=rate,
    )


def _refined_times(values: NDArray[np.float64], index: NDArray[np.intp]) -> NDArray[np.float64]:
    """Peak positions (samples) refined by a parabola through each peak and its neighbours."""
    inner = np.clip(index, 1, values.size - 2)
    left, centre, right = values[inner - 1], values[inner], values[inner + 1]
    curvature = left - 2.0 * centre + right
    shift = np.divide(
        0.5 * (left - right), curvature, out=np.zeros_like(centre), where=curvature < 0.0
    )
    refined: NDArray[np.float64] = inner + np.clip(shift, -0.5, 0.5)
    return refined


def segment_sums(values: ArrayLike, starts: ArrayLike) -> NDArray[np.float64]:
    """Sums of `values` (along axis 0) over the segments [starts[k], starts[k + 1]).

    Parameters
    ----------
    values : array_like, shape (N, ...)
        Samples along axis 0.
    starts : array_like of int, shape (B,)
        Increasing segment starts; the last segment ends at starts[-1] (excluded).

    Returns
    -------
    ndarray, shape (B - 1, ...)
    """
    return np.add.reduceat(np.asarray(values, dtype=float), np.asarray(starts), axis=0)[:-1]


def segment_extremes(
    values: ArrayLike, starts: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(minimum, maximum) of `values` along axis 0 over the segments of `segment_sums`."""
    array = np.asarray(values, dtype=float)
    bounds = np.asarray(starts)
    return (
        np.minimum.reduceat(array, bounds, axis=0)[:-1],
        np.maximum.reduceat(array, bounds, axis=0)[:-1],
    )
