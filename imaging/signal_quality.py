"""Per-beat signal quality of a photoplethysmogram, 0 (unusable) to 1 (clean).

The quality of a beat is the product of five scores, each 1 for a clean beat and falling
linearly to 0:

- shape: correlation of the beat's waveform with the recording's median beat
  (1 at >= 0.9, 0 at <= 0.6);
- channel agreement: correlation of the normalised red and infrared pulses within the beat
  (1 at >= 0.9, 0 at <= 0.6); motion and noise decorrelate them;
- rhythm: deviation of the beat interval from the local median interval
  (1 within 15 %, 0 beyond 40 %);
- perfusion stability: deviation of the beat's infrared perfusion index from the recording's
  median, on a log scale (1 within a factor 1.5, 0 beyond a factor 2.5); motion raises the
  apparent AC far above the arterial pulse;
- perfusion floor and saturation: 0 when the perfusion index is below
  `MIN_PERFUSION_PERCENT`, or when more than 2 % of the beat's samples sit at a channel's
  extreme value for two samples in a row (clipped ADC).
"""

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

MIN_PERFUSION_PERCENT = 0.05
"""Perfusion index (infrared AC/DC) below which no beat is usable, %."""
MAX_CLIPPED_FRACTION = 0.02
"""Largest fraction of a beat's samples that may sit at a channel's extreme value."""
LOCAL_BEATS = 7
"""Beats in the running median of beat intervals."""


def ramp(values: ArrayLike, zero_at: float, one_at: float) -> NDArray[np.float64]:
    """Linear score: 0 at `zero_at`, 1 at `one_at`, clipped to 0..1 (NaN gives 0)."""
    score = (np.asarray(values, dtype=float) - zero_at) / (one_at - zero_at)
    return np.nan_to_num(np.clip(score, 0.0, 1.0), nan=0.0)


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
    """Samples at their channel's maximum or minimum with an equal neighbour (N, W) → (N,).

    Runs of equal extreme values are what a saturated or bottomed-out ADC leaves.
    """
    values = np.asarray(signals, dtype=float)
    at_extreme = (values == values.max(axis=0)) | (values == values.min(axis=0))
    flat = np.zeros_like(at_extreme)
    flat[1:] |= values[1:] == values[:-1]
    flat[:-1] |= values[:-1] == values[1:]
    return np.any(at_extreme & flat, axis=1)


def clipping_score(clipped_fraction: ArrayLike) -> NDArray[np.float64]:
    """1 when at most `MAX_CLIPPED_FRACTION` of a beat's samples are clipped, else 0."""
    return (np.asarray(clipped_fraction, dtype=float) <= MAX_CLIPPED_FRACTION).astype(float)
