"""Per-beat signal quality of a photoplethysmogram, 0 (unusable) to 1 (clean).

The quality of a beat is the product of scores, each 1 for a clean beat and falling
linearly to 0. Relative to the recording:

- shape: correlation of the beat's waveform with the recording's median beat
  (1 at >= 0.9, 0 at <= 0.6);
- rhythm: deviation of the beat interval from the local median interval
  (1 within 15 %, 0 beyond 40 %);
- perfusion stability: deviation of the beat's infrared perfusion index from the recording's
  median, on a log scale (1 within a factor 1.5, 0 beyond a factor 2.5).

In absolute terms, so that an artefact filling the whole recording is not judged against
itself:

- channel agreement: correlation of the normalised red and infrared pulses within the beat
  (1 at >= 0.9, 0 at <= 0.6);
- perfusion floor and saturation: 0 when the perfusion index is below
  `MIN_PERFUSION_PERCENT`, or when more than 2 % of the beat's samples sit at a channel's
  ceiling or floor (clipped ADC, `clipped_samples`);
- spectral quality (`spectral_quality`) of the windows around the beat: periodicity of the
  infrared pulse, one R across the spectrum and across the harmonics (common-mode motion has
  R ≈ 1, arterial pulses their own), and a pulse well above the noise.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from imaging.ppg_filters import PULSE_BAND_HZ, pulse_fundamental_hz, windowed_spectra

MIN_PERFUSION_PERCENT = 0.05
"""Perfusion index (infrared AC/DC) below which no beat is usable, %."""
MAX_CLIPPED_FRACTION = 0.02
"""Largest fraction of a beat's samples that may sit at a channel's ceiling or floor."""
MIN_CLIPPED_SAMPLES = 3
"""Least samples at a channel's extreme value for it to be taken for an ADC limit."""
PILE_UP = 3.0
"""Samples at an ADC limit outnumber those at the next level inside by more than this."""
RED_NOISE_TOLERANCE = 3.0
"""Red noise only scatters R (infrared noise also biases it): the red noise ratio counts
this many times less."""
LOCAL_BEATS = 7
"""Beats in the running median of beat intervals."""


def ramp(values: ArrayLike, zero_at: float, one_at: float) -> NDArray[np.float64]:
    """Linear score: 0 at `zero_at`, 1 at `one_at`, clipped to 0..1 (NaN gives 0)."""
    score = (np.asarray(values, dtype=float) - zero_at) / (one_at - zero_at)
    return np.nan_to_num(np.clip(score, 0.0, 1.0), nan=0.0)


def masked_median(values: ArrayLike, mask: ArrayLike) -> NDArray[np.float64]:
    """Median of each row's values where `mask` is true (NaN for a row without any).

    The same numbers as ``np.nanmedian(np.where(mask, values, np.nan), axis=1)`` from one sort
    of the rows, without the masked arrays NumPy uses for short rows.

    Parameters
    ----------
    values : array_like, shape (R, K)
        Values (NaN values count as masked out).
    mask : array_like of bool, shape (R, K)
        Which values count.

    Returns
    -------
    ndarray, shape (R,)
    """
    array = np.asarray(values, dtype=float)
    if array.shape[1] == 0:
        return np.full(array.shape[0], np.nan)
    keep = np.asarray(mask, dtype=bool) & ~np.isnan(array)
    ordered = np.sort(np.where(keep, array, np.inf), axis=1)
    count = np.count_nonzero(keep, axis=1)
    rows = np.arange(array.shape[0])
    low = ordered[rows, np.maximum(count - 1, 0) // 2]
    high = ordered[rows, np.minimum(count // 2, array.shape[1] - 1)]
    return np.where(count > 0, 0.5 * (low + high), np.nan)


def correlation_score(correlation: ArrayLike) -> NDArray[np.float64]:
    """Score of a waveform or channel correlation coefficient."""
    return ramp(correlation, 0.6, 0.9)


def rhythm_score(interval_s: ArrayLike) -> NDArray[np.float64]:
    """Score of each beat interval against the running median of `LOCAL_BEATS` intervals."""
    intervals = np.asarray(interval_s, dtype=float)
    if intervals.size == 0:
        return intervals
    local = ndimage.median_filter(intervals, size=LOCAL_BEATS, mode="nearest")
    deviation = np.abs(intervals / local - 1.0)
    return ramp(deviation, 0.40, 0.15)


def perfusion_score(perfusion_percent: ArrayLike) -> NDArray[np.float64]:
    """Score of each beat's perfusion index against the median and the floor."""
    perfusion = np.asarray(perfusion_percent, dtype=float)
    if perfusion.size == 0:
        return perfusion
    typical = np.nanmedian(perfusion)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.abs(np.log(perfusion / typical))
    stability = ramp(spread, np.log(2.5), np.log(1.5))
    return np.where(perfusion >= MIN_PERFUSION_PERCENT, stability, 0.0)


def clipped_samples(signals: ArrayLike) -> NDArray[np.bool_]:
    """Samples at a channel's ceiling or floor (N, W) → (N,).

    A saturated or bottomed-out ADC piles samples up at one extreme value: a channel's
    maximum (minimum) is taken for a ceiling (floor) when at least `MIN_CLIPPED_SAMPLES`
    samples sit at it and more than `PILE_UP` times as many as at the next level inside.
    Quantised data that merely repeat their extremes tail off towards them instead.
    """
    values = np.asarray(signals, dtype=float)
    if values.ndim == 1:
        values = values[:, np.newaxis]
    clipped = np.zeros(values.shape[0], dtype=bool)
    for column in values.T:  # a few channels
        for sign in (1.0, -1.0):
            signed = sign * column
            at_extreme = signed == signed.max()
            count = np.count_nonzero(at_extreme)
            if count < MIN_CLIPPED_SAMPLES:  # the common case: no pile-up to look at
                continue
            inside = signed[~at_extreme]
            next_count = np.count_nonzero(signed == inside.max()) if inside.size else 0
            if count > PILE_UP * next_count:
                clipped |= at_extreme
    return clipped


def clipping_score(clipped_fraction: ArrayLike) -> NDArray[np.float64]:
    """1 when at most `MAX_CLIPPED_FRACTION` of a beat's samples are clipped, else 0."""
    return (np.asarray(clipped_fraction, dtype=float) <= MAX_CLIPPED_FRACTION).astype(float)


SPECTRAL_WINDOW_S = 8.0
"""Window of the spectral (recording-independent) quality checks, s."""
HARMONIC_HALF_WIDTH_HZ = 0.25
"""Half-width of the band around each pulse harmonic counted as pulse power, Hz."""
PULSE_HARMONICS = 4
"""Harmonics of the pulse counted as pulse power."""
RATE_AGREEMENT = 0.2
"""Largest relative mismatch of a beat's rate and its window's pulse fundamental."""
STRONG_PEAK_OF_DENSITY = 100.0
"""A bin between the harmonics with this many times the noise density is a component (e.g.
periodic motion) whose R must agree with the pulse's."""


@dataclass(frozen=True)
class SpectralQuality:
    """Recording-independent quality of windows of a two-channel PPG.

    Attributes
    ----------
    fundamental_hz : ndarray, shape (S,)
        Pulse fundamental of the infrared channel, Hz.
    periodicity : ndarray, shape (S,)
        Share of the infrared pulse-band power at the pulse harmonics (0..1); about 1 for a
        pulse, about half for noise.
    consistency : ndarray, shape (S,)
        Spread of the red/infrared ratio over the strong components of the spectrum (pulse
        harmonics and strong peaks between them) relative to their overall ratio, beyond the
        spread white noise gives (0 when every component has the same R); arterial pulses
        share one R, while motion (common to both channels, R ≈ 1) added to them spreads it.
    noise_ratio : ndarray, shape (S,)
        Pulse-band noise power over pulse power, the larger of the infrared ratio and the red
        ratio over `RED_NOISE_TOLERANCE` (noise density from the bins between the harmonics);
        infrared noise biases R low (SpO2 high), red noise scatters it.
    harmonic_disagreement : ndarray, shape (S,)
        |R at the second harmonic / R at the fundamental − 1| beyond three standard errors
        of that ratio from the noise; a motion at the pulse frequency shifts the
        fundamental's R but leaves the harmonics alone.
    """

    fundamental_hz: NDArray[np.float64]
    periodicity: NDArray[np.float64]
    consistency: NDArray[np.float64]
    noise_ratio: NDArray[np.float64]
    harmonic_disagreement: NDArray[np.float64]

    def score(self) -> NDArray[np.float64]:
        """Product of the four scores per window, 0..1."""
        return (
            ramp(self.periodicity, 0.6, 0.8)
            * ramp(self.consistency, 0.10, 0.05)
            * ramp(self.noise_ratio, 0.06, 0.02)
            * ramp(self.harmonic_disagreement, 0.25, 0.12)
        )


def beat_spectral_score(
    quality: SpectralQuality,
    centre_s: ArrayLike,
    middle_s: ArrayLike,
    interval_s: ArrayLike,
) -> NDArray[np.float64]:
    """Spectral score of each beat: the best score of the windows covering the beat whose
    pulse fundamental matches the beat's own rate (within `RATE_AGREEMENT`).

    A short artefact spoils every window it falls in, yet the beats beside it are still
    covered by a clean window on their other side; an artefact filling every window around a
    beat leaves it low, and so do beats whose rate is not the pulse the spectrum shows.

    Parameters
    ----------
    quality : SpectralQuality
        Of windows centred at `centre_s` (evenly spaced, s).
    centre_s : array_like, shape (S,)
        Window centres, s.
    middle_s, interval_s : array_like, shape (B,)
        Middle time and length of each beat, s.
    """
    centres = np.asarray(centre_s, dtype=float)
    middle = np.asarray(middle_s, dtype=float)
    if centres.size == 0 or middle.size == 0:
        return np.zeros(middle.size)
    step = centres[1] - centres[0] if centres.size > 1 else 1.0
    reach = max(0, round((0.5 * SPECTRAL_WINDOW_S - 0.5) / step))
    nearest = np.clip(np.round((middle - centres[0]) / step).astype(int), 0, centres.size - 1)
    windows = np.clip(nearest[:, np.newaxis] + np.arange(-reach, reach + 1), 0, centres.size - 1)
    cycles = quality.fundamental_hz[windows] * np.asarray(interval_s, dtype=float)[:, np.newaxis]
    matching = np.abs(np.nan_to_num(cycles) - 1.0) <= RATE_AGREEMENT
    score: NDArray[np.float64] = np.max(np.where(matching, quality.score()[windows], 0.0), axis=1)
    return score


def spectral_quality(
    red: ArrayLike,
    infrared: ArrayLike,
    sample_rate_hz: float,
    centre_s: ArrayLike,
    rate_range_hz: tuple[float, float],
) -> SpectralQuality:
    """Spectral quality of the windows of `SPECTRAL_WINDOW_S` around each time.

    Parameters
    ----------
    red, infrared : array_like, shape (N,)
        Pulse-band signals normalised by their DC (AC/DC, dimensionless); pass the infrared
        signal twice for one wavelength.
    sample_rate_hz : float
        Sample rate, Hz.
    centre_s : array_like, shape (S,)
        Window centres, s from the first sample.
    rate_range_hz : tuple of float
        Pulse rates looked for, Hz.
    """
    pair = np.column_stack([np.asarray(red, dtype=float), np.asarray(infrared, dtype=float)])
    all_frequencies, spectra = windowed_spectra(pair, sample_rate_hz, centre_s, SPECTRAL_WINDOW_S)
    fundamental = pulse_fundamental_hz(all_frequencies, np.abs(spectra[..., 1]) ** 2, rate_range_hz)
    # Every figure below counts only pulse-band bins: the rest of the spectrum is dropped.
    band = (all_frequencies >= PULSE_BAND_HZ[0]) & (all_frequencies <= PULSE_BAND_HZ[1])
    frequency = all_frequencies[band]
    spectra = spectra[:, band]
    power_ir = np.abs(spectra[..., 1]) ** 2
    cross = np.real(spectra[..., 0] * np.conj(spectra[..., 1]))
    harmonics = np.arange(1, PULSE_HARMONICS + 1)
    distance = np.abs(
        frequency[np.newaxis, :, np.newaxis] - fundamental[:, np.newaxis, np.newaxis] * harmonics
    )
    near = distance <= HARMONIC_HALF_WIDTH_HZ
    at_pulse = np.any(near, axis=2)
    between = ~at_pulse
    total = np.sum(power_ir, axis=1)
    pulse_power = np.sum(np.where(at_pulse, power_ir, 0.0), axis=1)
    density = masked_median(power_ir, between)
    density = np.nan_to_num(density, nan=0.0)
    signal_power = pulse_power - density * np.count_nonzero(at_pulse, axis=1)
    power_red = np.abs(spectra[..., 0]) ** 2
    density_red = np.nan_to_num(masked_median(power_red, between))
    with np.errstate(divide="ignore", invalid="ignore"):
        # Components well above the noise: the pulse harmonics and any strong peak between.
        strong = at_pulse | (between & (power_ir > STRONG_PEAK_OF_DENSITY * density[:, None]))
        strong_power = np.sum(np.where(strong, power_ir, 0.0), axis=1)
        overall = np.sum(np.where(strong, cross, 0.0), axis=1) / strong_power
        residual = np.sum(
            np.where(strong & (power_ir > 0.0), (cross - overall[:, None] * power_ir) ** 2, 0.0)
            / np.where(power_ir > 0.0, power_ir, 1.0),
            axis=1,
        )
        # White noise in either channel scatters R over the bins by this much on average.
        bin_noise = 0.5 * (density_red + overall**2 * density)
        expected = bin_noise * np.count_nonzero(strong, axis=1)
        consistency = np.sqrt(np.maximum(residual - expected, 0.0) / (overall**2 * strong_power))
        periodicity = pulse_power / total
        red_signal = np.sum(np.where(at_pulse, power_red, 0.0), axis=1) - density_red * (
            np.count_nonzero(at_pulse, axis=1)
        )
        noise_ratio = (
            np.maximum(density / signal_power, density_red / (RED_NOISE_TOLERANCE * red_signal))
            * frequency.size
        )
        noise_ratio = np.where((signal_power > 0.0) & (red_signal > 0.0), noise_ratio, np.inf)
        ratios, variances = [], []
        for k in (0, 1):
            bins = near[..., k]
            power = np.sum(np.where(bins, power_ir, 0.0), axis=1)
            ratios.append(np.sum(np.where(bins, cross, 0.0), axis=1) / power)
            variances.append(bin_noise * np.count_nonzero(bins, axis=1) / (overall**2 * power))
        spread = np.abs(ratios[1] / ratios[0] - 1.0)
        disagreement = np.maximum(spread - 3.0 * np.sqrt(variances[0] + variances[1]), 0.0)
        # A fast pulse has its second harmonic above the band: nothing to compare.
        disagreement = np.where(np.any(near[..., 1], axis=1), disagreement, 0.0)
    return SpectralQuality(
        fundamental_hz=fundamental,
        periodicity=np.nan_to_num(periodicity, nan=0.0),
        consistency=np.where(np.isfinite(consistency), consistency, np.inf),
        noise_ratio=noise_ratio,
        harmonic_disagreement=np.where(np.isfinite(disagreement), disagreement, np.inf),
    )
