"""Imaging photoplethysmography: SpO2, perfusion and quality maps from frame stacks.

All pixels share one heartbeat: beats are found once on the array-mean infrared signal, and
every pixel (or block of pixels) is then analysed at once as a column of a (time, pixel)
array. Frames are first averaged in time over groups of ``q`` frames (down to about
`ANALYSIS_RATE_HZ`, well above the 5 Hz pulse band) and optionally over ``block × block``
pixel regions. Per pixel: DC = time mean; R = least-squares slope of the normalised red
pulse against the normalised infrared pulse over the beats; perfusion index = mean
beat-to-beat peak-to-peak infrared pulse over DC; quality = (red/infrared pulse correlation
score) × (correlation of the pixel's infrared pulse with the array pulse, scored) × (noise
score: power off the array pulse over power on it, which biases R) × (perfusion above the
floor). Pixels with a non-finite sample or at the ADC limit are left out one by one: they
get NaN and quality 0, and take no part in the array pulse.

The analysis runs on the time-group and region sums (:func:`group_sums`,
:func:`maps_from_group_sums`), which is what its streaming twin
(:class:`imaging.streaming_maps.StreamingPpgMaps`) keeps of a window of frames.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imaging.beats import detect_beats, segment_extremes
from imaging.ppg_filters import pulse_band
from imaging.pulse_oximetry import MIN_DURATION_S, QUALITY_THRESHOLD
from imaging.signal_quality import (
    MAX_CLIPPED_FRACTION,
    MIN_PERFUSION_PERCENT,
    RED_NOISE_TOLERANCE,
    correlation_score,
    ramp,
)
from imaging.spo2_curves import SpO2Curve, default_curve

ANALYSIS_RATE_HZ = 25.0
"""Frames are averaged in time down to at least this rate before the analysis, Hz."""
NOISE_RATIO_RAMP = (0.06, 0.02)
"""Pixel noise-to-pulse power ratio at which the noise score is 0 and 1."""


def _saturated(pair_stack: NDArray[Any], full_scale: float | None) -> NDArray[np.bool_]:
    """Pixels of a (N, 2, H, W) stack at the ADC limit in either channel, (H, W)."""
    if full_scale is not None:
        saturated: NDArray[np.bool_] = np.any(pair_stack.max(axis=0) >= full_scale, axis=0)
        return saturated
    frames = pair_stack.shape[0]
    piled = np.zeros(pair_stack.shape[2:], dtype=bool)
    for extreme in (pair_stack.max(axis=0), pair_stack.min(axis=0)):
        count = np.count_nonzero(pair_stack == extreme, axis=0)
        piled |= np.any(count > max(2, MAX_CLIPPED_FRACTION * frames), axis=0)
    return piled


@dataclass(frozen=True)
class PpgMaps:
    """Per-pixel (or per-block) pulse oximetry over a whole frame stack.

    Attributes
    ----------
    spo2_percent : ndarray, shape (H', W')
        SpO2, %; NaN where the quality is below `QUALITY_THRESHOLD`.
    perfusion_index_percent : ndarray, shape (H', W')
        Infrared AC (peak-to-peak) over DC, %.
    signal_quality : ndarray, shape (H', W')
        0..1.
    ratio_of_ratios : ndarray, shape (H', W')
        R per pixel.
    pulse_rate_bpm : float
        Mean pulse rate of the array-mean signal, beats/min.
    beats_s : ndarray
        Beat times, s.
    pair_nm : tuple of float
        (red, infrared) wavelengths used, nm.
    """

    spo2_percent: NDArray[np.float64]
    perfusion_index_percent: NDArray[np.float64]
    signal_quality: NDArray[np.float64]
    ratio_of_ratios: NDArray[np.float64]
    pulse_rate_bpm: float
    beats_s: NDArray[np.float64]
    pair_nm: tuple[float, float]


def _stack(frames: ArrayLike | Sequence[ArrayLike], wavelengths: int) -> NDArray[Any]:
    """(N, W, H, Wpx) from one array of that shape or W stacks (N, H, Wpx)."""
    if isinstance(frames, list | tuple):
        stack = np.stack([np.asarray(f) for f in frames], axis=1)
    else:
        stack = np.asarray(frames)
    if stack.ndim != 4 or stack.shape[1] != wavelengths:
        raise ValueError(
            f"frames must be (N, {wavelengths}, H, W) or {wavelengths} stacks (N, H, W), "
            f"got shape {stack.shape}"
        )
    return stack


@dataclass(frozen=True)
class _ReducedSeries:
    """Red and infrared series of each pixel (block) at the analysis rate."""

    rows: int
    cols: int
    rate_hz: float
    usable: NDArray[np.bool_]
    """(pixels,) no non-finite sample, not saturated."""
    dc_red: NDArray[np.float64]
    dc_ir: NDArray[np.float64]
    pulse_red: NDArray[np.float64]
    """(samples, pixels) pulse band; 0 for pixels not usable."""
    pulse_ir: NDArray[np.float64]
    array_pulse: NDArray[np.float64]
    """(samples,) infrared pulse averaged over the usable pixels."""


def frames_per_sample(sample_rate_hz: float) -> int:
    """Frames averaged into one analysis sample: the rate is brought down to at least
    `ANALYSIS_RATE_HZ`."""
    return max(1, int(sample_rate_hz // ANALYSIS_RATE_HZ))


def group_sums(pair_stack: NDArray[Any], group: int, block: int) -> NDArray[np.float32]:
    """Sums of time groups of `group` frames over ``block × block`` pixel regions.

    Parameters
    ----------
    pair_stack : ndarray, shape (n · group, 2, rows · block, cols · block)
        Red and infrared frames (any unit).
    group, block : int
        Frames per group; side of a region, pixels.

    Returns
    -------
    ndarray of float32, shape (n, 2, rows, cols)
        Sum over each group and region (float32: half the memory; the analysis divides by
        ``group · block²``).
    """
    n = pair_stack.shape[0] // group
    rows, cols = pair_stack.shape[2] // block, pair_stack.shape[3] // block
    grouped = pair_stack.reshape(n, group, 2, rows, block, cols, block)
    sums: NDArray[np.float32] = grouped.sum(axis=(1, 4, 6), dtype=np.float32)
    return sums


def _reduced_series(
    sums: NDArray[np.float32],
    saturated: NDArray[np.bool_],
    scale: float,
    rate_hz: float,
) -> _ReducedSeries:
    """Per-region series at the analysis rate from the group sums; filtered."""
    n, _, rows, cols = sums.shape
    pixels = rows * cols
    series = sums.astype(np.float64).reshape(n, 2 * pixels) / scale
    # Pixels with a non-finite sample or at the ADC limit are left out (per pixel/block).
    usable = np.all(np.isfinite(series), axis=0)
    usable = usable[:pixels] & usable[pixels:] & ~saturated.ravel()
    series = np.where(np.tile(usable, 2), series, 0.0)
    dc = series.mean(axis=0)
    pulse = pulse_band(series, rate_hz)
    pulse_ir = pulse[:, pixels:]
    array_pulse = pulse_ir[:, usable].mean(axis=1) if usable.any() else np.zeros(n)
    return _ReducedSeries(
        rows=rows,
        cols=cols,
        rate_hz=rate_hz,
        usable=usable,
        dc_red=dc[:pixels],
        dc_ir=dc[pixels:],
        pulse_red=pulse[:, :pixels],
        pulse_ir=pulse_ir,
        array_pulse=array_pulse,
    )


def _pixel_figures(
    reduced: _ReducedSeries, index: NDArray[np.intp]
) -> tuple[NDArray[np.float64], ...]:
    """Per pixel over the beats `index`: ratio of ratios, red/infrared agreement, coherence
    with the array pulse, perfusion index (%) and the noise ratio (NaN/inf where undefined)."""
    span = slice(int(index[0]), int(index[-1]))
    red_span, ir_span = reduced.pulse_red[span], reduced.pulse_ir[span]
    cross = np.einsum("tp,tp->p", red_span, ir_span)
    power_ir = np.einsum("tp,tp->p", ir_span, ir_span)
    power_red = np.einsum("tp,tp->p", red_span, red_span)
    reference = reduced.array_pulse[span]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = cross / power_ir * reduced.dc_ir / reduced.dc_red
        agreement = cross / np.sqrt(power_red * power_ir)
        coherence = (reference @ ir_span) / np.sqrt(power_ir * (reference @ reference))
        coherence_red = (reference @ red_span) / np.sqrt(power_red * (reference @ reference))
        low, high = segment_extremes(reduced.pulse_ir, index)
        perfusion = 100.0 * np.mean(high - low, axis=0) / reduced.dc_ir
        # Power off the array pulse over power on it: infrared noise biases R low.
        noise_ratio = np.maximum(
            1.0 / coherence**2 - 1.0, (1.0 / coherence_red**2 - 1.0) / RED_NOISE_TOLERANCE
        )
    return ratio, agreement, coherence, perfusion, noise_ratio


def ppg_maps(
    frames: ArrayLike | Sequence[ArrayLike],
    sample_rate_hz: float,
    wavelengths_nm: Sequence[float],
    curve: SpO2Curve | None = None,
    block: int = 1,
    full_scale: float | None = None,
) -> PpgMaps:
    """SpO2, perfusion-index and quality maps of a multi-wavelength frame stack.

    Parameters
    ----------
    frames : array_like (N, W, H, Wpx) or sequence of W arrays (N, H, Wpx)
        Intensities above dark (any unit), frame rate `sample_rate_hz`.
    sample_rate_hz : float
        Frame rate per wavelength, Hz.
    wavelengths_nm : sequence of float, length W >= 2
        Wavelengths, nm; red = shortest, infrared = longest.
    curve : SpO2Curve, optional
        R → SpO2 curve (default `imaging.spo2_curves.default_curve`).
    block : int
        Side of the square pixel regions averaged before the analysis (1 = per pixel);
        H and Wpx are cropped to multiples of it.
    full_scale : float, optional
        ADC full scale (same unit as `frames`); pixels reaching it in any frame are left out.
        Without it, a pixel whose maximum (or minimum) holds more than
        `MAX_CLIPPED_FRACTION` of its frames is taken for saturated (or bottomed out).

    Returns
    -------
    PpgMaps
        Maps of shape (H // block, Wpx // block); pixels (blocks) with a non-finite or
        saturated sample are NaN with quality 0, the others unaffected.
    """
    wavelengths = np.asarray(wavelengths_nm, dtype=float)
    if wavelengths.size < 2 or np.unique(wavelengths).size != wavelengths.size:
        raise ValueError(f"need two or more distinct wavelengths, got {list(wavelengths_nm)}")
    stack = _stack(frames, wavelengths.size)
    red, infrared = int(np.argmin(wavelengths)), int(np.argmax(wavelengths))
    pair = (float(wavelengths[red]), float(wavelengths[infrared]))
    curve = curve or default_curve(*pair)
    curve.check_pair(*pair)
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    if stack.shape[0] < MIN_DURATION_S * sample_rate_hz:
        raise ValueError(f"the stack lasts under {MIN_DURATION_S:g} s")

    q = frames_per_sample(sample_rate_hz)
    n = stack.shape[0] // q
    rows, cols = stack.shape[2] // block, stack.shape[3] // block
    # A view of the input when it holds just the red and infrared stacks in that order.
    channels = slice(0, 2) if (red, infrared) == (0, 1) else [red, infrared]
    pair_stack = stack[: n * q, channels, : rows * block, : cols * block]
    saturated = _saturated(pair_stack, full_scale).reshape(rows, block, cols, block)
    return maps_from_group_sums(
        group_sums(pair_stack, q, block),
        np.any(saturated, axis=(1, 3)),
        q * block**2,
        sample_rate_hz / q,
        pair,
        curve,
    )


def maps_from_group_sums(
    sums: NDArray[np.float32],
    saturated: NDArray[np.bool_],
    scale: float,
    rate_hz: float,
    pair_nm: tuple[float, float],
    curve: SpO2Curve,
) -> PpgMaps:
    """The maps of :func:`ppg_maps` from its reduced series (shared with the streaming maps).

    Parameters
    ----------
    sums : ndarray of float32, shape (n, 2, rows, cols)
        Red and infrared sums over time groups and pixel regions (:func:`group_sums`).
    saturated : ndarray of bool, shape (rows, cols)
        Regions with a pixel at the ADC limit (left out).
    scale : float
        Values per sum (frames per group × pixels per region).
    rate_hz : float
        Rate of the groups, Hz.
    pair_nm : tuple of float
        (red, infrared) wavelengths, nm.
    curve : SpO2Curve
        R → SpO2 curve.

    Returns
    -------
    PpgMaps
        Maps of shape (rows, cols).
    """
    reduced = _reduced_series(sums, saturated, scale, rate_hz)
    rows, cols, usable = reduced.rows, reduced.cols, reduced.usable
    beats = detect_beats(reduced.array_pulse, reduced.rate_hz)
    if beats.index.size < 3:
        nan_map = np.full((rows, cols), np.nan)
        return PpgMaps(
            nan_map, nan_map, np.zeros((rows, cols)), nan_map, np.nan, beats.time_s, pair_nm
        )
    ratio, agreement, coherence, perfusion, noise_ratio = _pixel_figures(reduced, beats.index)
    quality = (
        correlation_score(agreement)
        * correlation_score(coherence)
        * ramp(noise_ratio, *NOISE_RATIO_RAMP)
        * (np.nan_to_num(perfusion) >= MIN_PERFUSION_PERCENT)
        * usable
    )
    spo2 = np.where(quality >= QUALITY_THRESHOLD, curve.spo2_percent(ratio), np.nan)
    intervals = np.diff(beats.time_s)
    perfusion = np.where(usable, perfusion, np.nan)
    ratio = np.where(usable, ratio, np.nan)
    return PpgMaps(
        spo2_percent=spo2.reshape(rows, cols),
        perfusion_index_percent=perfusion.reshape(rows, cols),
        signal_quality=quality.reshape(rows, cols),
        ratio_of_ratios=ratio.reshape(rows, cols),
        pulse_rate_bpm=float(60.0 / intervals.mean()),
        beats_s=beats.time_s,
        pair_nm=pair_nm,
    )
