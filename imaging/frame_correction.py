"""Dark, linearity, flat-field and bad-pixel correction of raw sensor frames.

The coefficients are plain arrays (as produced by a frame-correction calibration); a raw frame
(DN) taken with exposure t (s) at sensor temperature T (°C) is corrected as

1. dark = black_level_dn + dark_current_dn_per_s · t · 2^((T − T_ref) / T_d);
2. signal = raw − dark (DN above dark);
3. linear = Σ_i linearity_coefficients[i] · signal^i (ascending powers);
4. corrected = linear / flat_gain;
5. bad pixels take the mean of their valid 8-neighbours (neither bad nor saturated).

Pixels whose raw value reaches the ADC maximum or whose signal exceeds the linearisation range
(`valid_max_dn`) are flagged as saturated.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

_NEIGHBOURS = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])


@dataclass(frozen=True, eq=False)
class CorrectedFrames:
    """Corrected frames and their saturation flags.

    Attributes
    ----------
    signal_dn : ndarray of float64, shape (N, H, W) or (H, W)
        Dark-subtracted, linearised, flat-fielded signal, DN; bad pixels replaced by the mean
        of their valid 8-neighbours (NaN where none is valid).
    saturated : ndarray of bool, same shape as `signal_dn`
        Good pixels at or above the ADC maximum or above the linearisation range; their
        `signal_dn` is not reliable. Bad pixels are never flagged (they are replaced).
    """

    signal_dn: NDArray[np.float64]
    saturated: NDArray[np.bool_]


def dark_frame_dn(
    exposure_s: float,
    temperature_c: ArrayLike,
    *,
    black_level_dn: ArrayLike,
    dark_current_dn_per_s: ArrayLike,
    reference_temperature_c: float,
    doubling_temperature_c: float,
) -> NDArray[np.float64]:
    """Expected dark frame, DN.

    Parameters
    ----------
    exposure_s : float
        Exposure time, s.
    temperature_c : float or array_like, shape (N,)
        Sensor temperature, °C; one per frame for a stack.
    black_level_dn : array_like, shape (H, W)
        Dark offset at zero exposure, DN.
    dark_current_dn_per_s : array_like, shape (H, W)
        Dark current at `reference_temperature_c`, DN/s.
    reference_temperature_c : float
        Temperature of `dark_current_dn_per_s`, °C.
    doubling_temperature_c : float
        Temperature rise that doubles the dark current, °C.

    Returns
    -------
    ndarray of float64, shape (H, W), or (N, H, W) for N temperatures
        black + dark current · t · 2^((T − T_ref) / T_d), DN.

    Raises
    ------
    ValueError
        Maps that are not 2-D or differ in shape, a temperature array that is not 0-D or 1-D,
        a negative exposure or a non-positive doubling temperature.
    """
    black = np.asarray(black_level_dn, dtype=float)
    current = np.asarray(dark_current_dn_per_s, dtype=float)
    if black.ndim != 2:
        raise ValueError(f"black_level_dn must be 2-D (H, W), got shape {black.shape}")
    if current.shape != black.shape:
        raise ValueError(
            f"dark_current_dn_per_s has shape {current.shape}, black_level_dn {black.shape}"
        )
    temperature = np.asarray(temperature_c, dtype=float)
    if temperature.ndim > 1:
        raise ValueError(f"temperature_c must be a scalar or 1-D, got shape {temperature.shape}")
    if exposure_s < 0.0 or doubling_temperature_c <= 0.0:
        raise ValueError(
            f"need exposure_s >= 0 and doubling_temperature_c > 0, got {exposure_s}, "
            f"{doubling_temperature_c}"
        )
    scale = 2.0 ** ((temperature - reference_temperature_c) / doubling_temperature_c)
    return black + current * (exposure_s * scale[..., np.newaxis, np.newaxis])


def correct_frames(
    frames: ArrayLike,
    exposure_s: float,
    temperature_c: ArrayLike,
    *,
    black_level_dn: ArrayLike,
    dark_current_dn_per_s: ArrayLike,
    reference_temperature_c: float,
    doubling_temperature_c: float,
    flat_gain: ArrayLike,
    linearity_coefficients: ArrayLike,
    valid_max_dn: float,
    bad_pixel_mask: ArrayLike,
    saturation_dn: float,
) -> CorrectedFrames:
    """Dark-subtract, linearise, flat-field and repair raw frames.

    Parameters
    ----------
    frames : array_like of int, shape (N, H, W) or (H, W)
        Raw frames, DN.
    exposure_s : float
        Exposure time, s.
    temperature_c : float or array_like, shape (N,)
        Sensor temperature, °C: one for all frames, or one per frame of a stack.
    black_level_dn : array_like, shape (H, W)
        Dark offset at zero exposure, DN.
    dark_current_dn_per_s : array_like, shape (H, W)
        Dark current at `reference_temperature_c`, DN/s.
    reference_temperature_c : float
        Temperature of `dark_current_dn_per_s`, °C.
    doubling_temperature_c : float
        Temperature rise that doubles the dark current, °C.
    flat_gain : array_like, shape (H, W)
        Relative photo-response (mean 1), dimensionless.
    linearity_coefficients : array_like, shape (degree + 1,)
        c_0 … c_d of linear DN = Σ c_i (raw − dark)^i, DN.
    valid_max_dn : float
        Largest signal above dark the linearisation holds for, DN.
    bad_pixel_mask : array_like of bool, shape (H, W)
        Hot or dead pixels to replace.
    saturation_dn : float
        ADC maximum, 2^bit_depth − 1, DN.

    Returns
    -------
    CorrectedFrames
        `signal_dn` (float64, shape of `frames`, DN) and the `saturated` mask.

    Raises
    ------
    ValueError
        Naming the argument whose shape or value is wrong: frames not 2-D or 3-D, maps not
        matching the frame size, a non-boolean mask, linearity coefficients not 1-D, or a
        temperature array whose length differs from the frame count.
    """
    raw = np.asarray(frames)
    if raw.ndim not in (2, 3):
        raise ValueError(f"frames must be (H, W) or (N, H, W), got shape {raw.shape}")
    maps = {
        "black_level_dn": np.asarray(black_level_dn, dtype=float),
        "dark_current_dn_per_s": np.asarray(dark_current_dn_per_s, dtype=float),
        "flat_gain": np.asarray(flat_gain, dtype=float),
        "bad_pixel_mask": np.asarray(bad_pixel_mask),
    }
    coefficients, temperature = _checked_inputs(
        raw.shape, maps, linearity_coefficients, temperature_c
    )
    bad = maps["bad_pixel_mask"]

    dark = dark_frame_dn(
        exposure_s,
        temperature,
        black_level_dn=maps["black_level_dn"],
        dark_current_dn_per_s=maps["dark_current_dn_per_s"],
        reference_temperature_c=reference_temperature_c,
        doubling_temperature_c=doubling_temperature_c,
    )
    signal = raw.astype(float) - dark
    saturated = ((raw >= saturation_dn) | (signal > valid_max_dn)) & ~bad
    linear = np.polynomial.polynomial.polyval(signal, coefficients) / maps["flat_gain"]
    return CorrectedFrames(signal_dn=_replace_bad(linear, bad, saturated), saturated=saturated)


def _checked_inputs(
    frames_shape: tuple[int, ...],
    maps: dict[str, NDArray[Any]],
    linearity_coefficients: ArrayLike,
    temperature_c: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Linearity coefficients and temperature(s) as arrays, after checking every input's shape
    against the frames' (see :func:`correct_frames` for the errors raised)."""
    frame_shape = frames_shape[-2:]
    for name, image in maps.items():
        if image.shape != frame_shape:
            raise ValueError(f"{name} has shape {image.shape}, the frames are {frame_shape}")
    bad = maps["bad_pixel_mask"]
    if bad.dtype != np.bool_:
        raise ValueError(f"bad_pixel_mask must be boolean, got {bad.dtype}")
    coefficients = np.asarray(linearity_coefficients, dtype=float)
    if coefficients.ndim != 1 or coefficients.size == 0:
        raise ValueError(
            f"linearity_coefficients must be 1-D and non-empty, got shape {coefficients.shape}"
        )
    temperature = np.asarray(temperature_c, dtype=float)
    stack = len(frames_shape) == 3
    if temperature.ndim != 0 and (not stack or temperature.shape != frames_shape[:1]):
        expected = f"a scalar or shape ({frames_shape[0]},)" if stack else "a scalar"
        raise ValueError(f"temperature_c must be {expected}, got shape {temperature.shape}")
    return coefficients, temperature


def _replace_bad(
    images: NDArray[np.float64], bad: NDArray[np.bool_], saturated: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """`images` with bad pixels set to the mean of their valid 8-neighbours (NaN if none).

    Only the bad pixels' neighbourhoods are read (a sensor has few bad pixels), so the cost
    follows the bad pixels, not the frame size."""
    rows, cols = np.nonzero(bad)
    if rows.size == 0:
        return images
    height, width = bad.shape
    offset_rows, offset_cols = np.nonzero(_NEIGHBOURS)
    neighbour_rows = rows[:, np.newaxis] + (offset_rows - 1)
    neighbour_cols = cols[:, np.newaxis] + (offset_cols - 1)
    inside = (
        (neighbour_rows >= 0)
        & (neighbour_rows < height)
        & (neighbour_cols >= 0)
        & (neighbour_cols < width)
    )
    neighbour_rows = np.clip(neighbour_rows, 0, height - 1)
    neighbour_cols = np.clip(neighbour_cols, 0, width - 1)
    valid = (
        inside
        & ~bad[neighbour_rows, neighbour_cols]
        & ~saturated[..., neighbour_rows, neighbour_cols]
    )
    values = np.where(valid, images[..., neighbour_rows, neighbour_cols], 0.0)
    count = np.count_nonzero(valid, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        neighbour_mean = np.where(count > 0, values.sum(axis=-1) / count, np.nan)
    repaired = images.copy()
    repaired[..., rows, cols] = neighbour_mean
    return repaired
