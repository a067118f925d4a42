"""Pulse oximetry from two or more wavelength time series.

Pipeline: pulse band (0.5-5 Hz) of every channel → beats on the infrared channel → per beat
(from one beat to the next) the DC (mean intensity), the AC (peak-to-peak infrared pulse in the
0.5-15 Hz band, which keeps the harmonics of fast pulses), the ratio of
ratios R = (AC_red/DC_red) / (AC_ir/DC_ir) as the least-squares slope of the red AC/DC
waveform against the infrared one (each averaged in phase bins of the cycle), and a signal
quality (`imaging.signal_quality`, including recording-independent spectral checks on 8 s
windows) → once per second the median of the accepted beats within
±`WINDOW_HALF_S` of the second's centre, R → SpO2 through an `imaging.spo2_curves.SpO2Curve`.

The red channel is the shortest wavelength and the infrared channel the longest. Signals are
detected light intensities (any unit, dark already subtracted): more arterial blood means
less light.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imaging.beats import PULSE_RATE_RANGE_BPM, detect_beats, segment_extremes, segment_sums
from imaging.ppg_filters import MIN_SAMPLE_RATE_HZ, WAVEFORM_HIGH_HZ, pulse_band
from imaging.signal_quality import (
    beat_spectral_score,
    clipped_samples,
    clipping_score,
    correlation_score,
    masked_median,
    perfusion_score,
    rhythm_score,
    spectral_quality,
)
from imaging.spo2_curves import SpO2Curve, default_curve

MIN_DURATION_S = 5.0
"""Shortest recording analysed, s."""
WINDOW_HALF_S = 2.0
"""Half-width of the window of beats behind each per-second value, s."""
QUALITY_THRESHOLD = 0.5
"""Least beat quality for a beat to count, and least per-second quality for SpO2."""
MIN_BEATS = 2
"""Least accepted beats in a window for a per-second value."""
TEMPLATE_POINTS = 32
"""Phase bins each beat cycle is averaged into (fewer if a cycle has fewer samples)."""


@dataclass(frozen=True)
class OximetryResult:
    """Per-second and per-beat pulse oximetry.

    Per-second arrays (length S) stand for the centre of each whole second of the recording,
    ``time_s = 0.5, 1.5, …`` s from the first sample, each computed from the beats whose middle
    lies within ±`WINDOW_HALF_S` of it. Per-beat arrays (length B - 1) describe the cycle from
    beat ``beats_s[k]`` to ``beats_s[k + 1]``.

    Attributes
    ----------
    time_s : ndarray, shape (S,)
        Centres of the seconds, s.
    spo2_percent : ndarray, shape (S,)
        SpO2, %; NaN where withheld (too few accepted beats or quality below
        `QUALITY_THRESHOLD`) and for one-wavelength signals.
    pulse_rate_bpm : ndarray, shape (S,)
        Pulse rate, beats/min (60 / median accepted beat interval); NaN where SpO2 would be
        withheld for quality.
    perfusion_index_percent : ndarray, shape (S,)
        Infrared AC (peak-to-peak) over DC, %, median of the accepted beats; NaN where
        withheld.
    signal_quality : ndarray, shape (S,)
        Mean quality of the beats in the window, 0..1 (0 without beats).
    ratio_of_ratios : ndarray, shape (S,)
        Median R of the accepted beats; NaN where SpO2 is withheld.
    beats_s : ndarray, shape (B,)
        Beat times (systolic blood-volume peaks), s.
    mean_pulse_rate_bpm : float
        60 / mean accepted beat interval over the recording, beats/min (NaN without beats).
    beat_interval_s, beat_ratio_of_ratios, beat_spo2_percent,
    beat_perfusion_index_percent, beat_quality : ndarray, shape (B - 1,)
        Per beat: interval (s), R (as measured, also for beats not accepted), SpO2 (%; NaN
        for beats not accepted), infrared perfusion index (%), quality (0..1).
    beat_accepted : ndarray of bool, shape (B - 1,)
        Beats whose quality reaches `QUALITY_THRESHOLD`.
    pair_nm : tuple of float
        (red, infrared) wavelengths used, nm (red = infrared for one wavelength).
    curve_description : str
        The SpO2 curve used ("" for one wavelength).
    """

    time_s: NDArray[np.float64]
    spo2_percent: NDArray[np.float64]
    pulse_rate_bpm: NDArray[np.float64]
    perfusion_index_percent: NDArray[np.float64]
    signal_quality: NDArray[np.float64]
    ratio_of_ratios: NDArray[np.float64]
    beats_s: NDArray[np.float64]
    mean_pulse_rate_bpm: float
    beat_interval_s: NDArray[np.float64]
    beat_ratio_of_ratios: NDArray[np.float64]
    beat_spo2_percent: NDArray[np.float64]
    beat_perfusion_index_percent: NDArray[np.float64]
    beat_quality: NDArray[np.float64]
    beat_accepted: NDArray[np.bool_]
    pair_nm: tuple[float, float]
    curve_description: str


def checked_signals(
    signals: ArrayLike, sample_rate_hz: float, wavelengths_nm: Sequence[float]
) -> NDArray[np.float64]:
    """Signals as a float (N, W) array, or ValueError naming what is wrong."""
    values = np.asarray(signals, dtype=float)
    if values.ndim == 1:
        values = values[:, np.newaxis]
    if values.ndim != 2:
        raise ValueError(f"signals must be (samples, wavelengths), got shape {values.shape}")
    if values.shape[1] != len(wavelengths_nm) or not wavelengths_nm:
        raise ValueError(
            f"{values.shape[1]} signal columns but {len(wavelengths_nm)} wavelengths given"
        )
    if len(set(wavelengths_nm)) != len(wavelengths_nm):
        raise ValueError(f"wavelengths repeat: {list(wavelengths_nm)}")
    if not np.isfinite(sample_rate_hz) or sample_rate_hz < MIN_SAMPLE_RATE_HZ:
        raise ValueError(
            f"sample rate must be at least {MIN_SAMPLE_RATE_HZ:g} Hz, got {sample_rate_hz:g} Hz"
        )
    if values.shape[0] < MIN_DURATION_S * sample_rate_hz:
        raise ValueError(
            f"{values.shape[0] / sample_rate_hz:.2f} s of signal; pulse oximetry needs at "
            f"least {MIN_DURATION_S:g} s"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"signals hold {np.count_nonzero(~np.isfinite(values))} non-finite values")
    return values


def pulse_oximetry(
    signals: ArrayLike,
    sample_rate_hz: float,
    wavelengths_nm: Sequence[float],
    curve: SpO2Curve | None = None,
) -> OximetryResult:
    """SpO2, pulse rate, perfusion index and signal quality from PPG signals.

    Parameters
    ----------
    signals : array_like, shape (N, W)
        Light intensity per sample and wavelength (any unit, dark subtracted); one column
        gives pulse rate and perfusion only.
    sample_rate_hz : float
        Sample rate, Hz (25-1000 Hz tested).
    wavelengths_nm : sequence of float, length W
        Wavelength of each column, nm.
    curve : SpO2Curve, optional
        R → SpO2 curve of the (shortest, longest) wavelength pair; default
        `imaging.spo2_curves.default_curve`.

    Returns
    -------
    OximetryResult

    Raises
    ------
    ValueError
        Bad shapes, non-finite values, a recording shorter than `MIN_DURATION_S`, too low a
        sample rate, or a curve for another wavelength pair.
    """
    values = checked_signals(signals, sample_rate_hz, wavelengths_nm)
    wavelengths = np.asarray(wavelengths_nm, dtype=float)
    red, infrared = int(np.argmin(wavelengths)), int(np.argmax(wavelengths))
    pair = (float(wavelengths[red]), float(wavelengths[infrared]))
    oximetry = red != infrared
    curve = (curve or default_curve(*pair)) if oximetry else None
    if curve is not None:
        curve.check_pair(*pair)

    pulse = pulse_band(values, sample_rate_hz)
    beats = detect_beats(pulse[:, infrared], sample_rate_hz)
    duration_s = values.shape[0] / sample_rate_hz
    time_s = np.arange(int(duration_s + 1e-6), dtype=np.float64) + 0.5
    middle_s = 0.5 * (beats.time_s[:-1] + beats.time_s[1:])
    dc = values.mean(axis=0)  # the spectral figures do not depend on this scale
    spectral = spectral_quality(
        pulse[:, red] / dc[red],
        pulse[:, infrared] / dc[infrared],
        sample_rate_hz,
        time_s,
        (PULSE_RATE_RANGE_BPM[0] / 60.0, PULSE_RATE_RANGE_BPM[1] / 60.0),
    )
    waveform = pulse_band(values[:, infrared], sample_rate_hz, high_hz=WAVEFORM_HIGH_HZ)
    beat = _beat_features(
        values, pulse, waveform, beats.index, np.diff(beats.time_s), red, infrared
    )
    beat["quality"] = beat["quality"] * beat_spectral_score(
        spectral, time_s, middle_s, beat["interval_s"]
    )
    accepted = beat["quality"] >= QUALITY_THRESHOLD
    spo2 = (
        curve.spo2_percent(beat["ratio"])
        if curve is not None
        else np.full_like(beat["ratio"], np.nan)
    )

    window, inside = _beat_windows(middle_s, time_s)
    good = inside & accepted[window]
    counted = np.count_nonzero(good, axis=1)
    beats_in_window = np.count_nonzero(inside, axis=1)
    quality = np.divide(
        np.sum(np.where(inside, beat["quality"][window], 0.0), axis=1),
        beats_in_window,
        out=np.zeros(time_s.size),
        where=beats_in_window > 0,
    )
    reported = (counted >= MIN_BEATS) & (quality >= QUALITY_THRESHOLD)
    ratio = np.full(time_s.size, np.nan)
    if oximetry:
        ratio = _window_median(beat["ratio"], window, good, reported)
    accepted_intervals = beat["interval_s"][accepted]
    return OximetryResult(
        time_s=time_s,
        spo2_percent=curve.spo2_percent(ratio) if curve is not None else ratio.copy(),
        pulse_rate_bpm=60.0 / _window_median(beat["interval_s"], window, good, reported),
        perfusion_index_percent=_window_median(beat["perfusion_percent"], window, good, reported),
        signal_quality=quality,
        ratio_of_ratios=ratio,
        beats_s=beats.time_s,
        mean_pulse_rate_bpm=(
            float(60.0 / accepted_intervals.mean()) if accepted_intervals.size else float("nan")
        ),
        beat_interval_s=beat["interval_s"],
        beat_ratio_of_ratios=beat["ratio"] if oximetry else np.full_like(spo2, np.nan),
        beat_spo2_percent=np.where(accepted, spo2, np.nan),
        beat_perfusion_index_percent=beat["perfusion_percent"],
        beat_quality=beat["quality"],
        beat_accepted=accepted,
        pair_nm=pair,
        curve_description=curve.description if curve is not None else "",
    )


def _beat_windows(
    middle_s: NDArray[np.float64], time_s: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Beats within ±`WINDOW_HALF_S` of each second: indices (S, K) and which are real.

    Beats are in time order, so each window is a contiguous run of at most K beats.
    """
    first = np.searchsorted(middle_s, time_s - WINDOW_HALF_S, side="left")
    stop = np.searchsorted(middle_s, time_s + WINDOW_HALF_S, side="right")
    width = int(np.max(stop - first, initial=0))
    window = first[:, np.newaxis] + np.arange(width)
    return np.minimum(window, max(middle_s.size - 1, 0)), window < stop[:, np.newaxis]


def _window_median(
    values: NDArray[np.float64],
    window: NDArray[np.intp],
    mask: NDArray[np.bool_],
    keep: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """Median of `values` over each window's masked beats; NaN for windows not in `keep`."""
    result = np.full(window.shape[0], np.nan)
    rows = np.flatnonzero(keep)
    if rows.size:
        result[rows] = masked_median(values[window[rows]], mask[rows])
    return result


def _centred_moments(
    red_shape: NDArray[np.float64], infrared_shape: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(covariance, red power, infrared power) of waveforms along the last axis (sums)."""
    red = red_shape - red_shape.mean(axis=-1, keepdims=True)
    infrared = infrared_shape - infrared_shape.mean(axis=-1, keepdims=True)
    return (
        np.sum(red * infrared, axis=-1),
        np.sum(red**2, axis=-1),
        np.sum(infrared**2, axis=-1),
    )


def _phase_bins(index: NDArray[np.intp]) -> tuple[NDArray[np.intp], int]:
    """Start sample of each of `bins` equal phase bins of every beat cycle, flattened (B-1)·bins,
    followed by the last beat; bins = min(`TEMPLATE_POINTS`, shortest cycle in samples)."""
    lengths = np.diff(index)
    bins = int(min(TEMPLATE_POINTS, lengths.min()))
    starts = index[:-1, np.newaxis] + (lengths[:, np.newaxis] * np.arange(bins)) // bins
    return np.append(starts.ravel(), index[-1]), bins


def _beat_features(
    values: NDArray[np.float64],
    pulse: NDArray[np.float64],
    waveform: NDArray[np.float64],
    index: NDArray[np.intp],
    interval_s: NDArray[np.float64],
    red: int,
    infrared: int,
) -> dict[str, NDArray[np.float64]]:
    """Per beat-to-beat cycle: interval, R, infrared perfusion index and quality.

    R and the shape comparison use the cycle's red and infrared AC/DC waveforms averaged in
    `TEMPLATE_POINTS` phase bins (which also averages noise at high sample rates); the
    perfusion index the peak-to-peak of the infrared `waveform` (0.5-15 Hz band)."""
    if index.size < 2:
        empty = np.zeros(0)
        return {"interval_s": empty, "ratio": empty, "perfusion_percent": empty, "quality": empty}
    samples = np.diff(index).astype(float)
    dc = segment_sums(values, index) / samples[:, np.newaxis]
    low, high = segment_extremes(waveform, index)
    with np.errstate(divide="ignore", invalid="ignore"):
        perfusion = 100.0 * (high - low) / dc[:, infrared]

    bounds, bins = _phase_bins(index)
    binned = segment_sums(pulse[:, [red, infrared]], bounds) / np.diff(bounds)[:, np.newaxis]
    with np.errstate(divide="ignore", invalid="ignore"):
        shapes = binned.reshape(index.size - 1, bins, 2) / dc[:, np.newaxis, [red, infrared]]
    red_shape, infrared_shape = shapes[..., 0], shapes[..., 1]
    covariance, power_red, power_ir = _centred_moments(red_shape, infrared_shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = covariance / power_ir
        agreement = covariance / np.sqrt(power_red * power_ir)
    clipped = segment_sums(clipped_samples(values).astype(float), index) / samples

    quality = (
        correlation_score(_shape_correlation(infrared_shape))
        * (correlation_score(agreement) if red != infrared else 1.0)
        * rhythm_score(interval_s)
        * perfusion_score(perfusion)
        * clipping_score(clipped)
    )
    return {
        "interval_s": interval_s,
        "ratio": ratio,
        "perfusion_percent": perfusion,
        "quality": quality,
    }


def _shape_correlation(shapes: NDArray[np.float64]) -> NDArray[np.float64]:
    """Correlation of each beat's binned waveform (rows) with the median beat."""
    centred = shapes - shapes.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    centred = np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 0.0)
    template = np.median(centred, axis=0)
    template /= np.linalg.norm(template) or 1.0
    correlation: NDArray[np.float64] = centred @ template
    return correlation
