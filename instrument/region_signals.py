"""Region reflectances of a run record: the detector array seen as many multi-distance probes.

The detector array sees the LED at many distances at once, so every square region of
``region_px`` × ``region_px`` recorded pixels is a small multi-distance probe: its pixels' mean
signals over its lit LED steps (dark-corrected with the record's dark step or the black level,
``instrument.snirf_export.recorded_dark_frame_dn``; time-averaged per wavelength) and their
distances from the LED. A region is marked unusable when it lies closer to the LED than
``min_distance_mm`` or when any of its pixels is outside the linear range at any wavelength
(nearly dark, or above ``max_dn``, the start of the sensor's compression toward full well).
The spatially resolved analysis of these arrays is ``protocols.analyses.sto2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from instrument.region_defaults import DEFAULT_REGION_PX
from instrument.run_record import RunRecord
from instrument.run_steps import frames_by_led_step
from instrument.snirf_export import (
    DEFAULT_BLACK_LEVEL_DN,
    MIN_SIGNAL_DN,
    led_position_mm,
    pixel_centres_mm,
    recorded_dark_frame_dn,
)
from instrument.snirf_export import MAX_LINEAR_DN as DEFAULT_MAX_DN

__all__ = [
    "DEFAULT_MAX_DN",
    "DEFAULT_MIN_DISTANCE_MM",
    "DEFAULT_REGION_PX",
    "RegionReflectance",
    "region_reflectance",
]

DEFAULT_MIN_DISTANCE_MM = 10.0


@dataclass(frozen=True)
class RegionReflectance:
    """Dark-corrected signals of square pixel regions and their distances from the LED.

    Attributes
    ----------
    signal_dn : ndarray, shape (R, C, W, P)
        Per region, wavelength and pixel: time-averaged signal above dark, DN.
    rho_mm : ndarray, shape (R, C, P)
        Per region and pixel: distance from the LED, mm.
    usable : ndarray of bool, shape (R, C)
        Regions whose every pixel is linear at every wavelength and far enough from the LED.
    x_mm, y_mm, distance_mm : ndarray, shape (R, C)
        Region centre on the surface and its mean distance from the LED, mm.
    wavelengths_nm : ndarray, shape (W,)
        Lit LED wavelengths, nm, ascending.
    region_px : int
        Region side, recorded pixels.
    """

    signal_dn: NDArray[np.float64]
    rho_mm: NDArray[np.float64]
    usable: NDArray[np.bool_]
    x_mm: NDArray[np.float64]
    y_mm: NDArray[np.float64]
    distance_mm: NDArray[np.float64]
    wavelengths_nm: NDArray[np.float64]
    region_px: int


def _blocks(array: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """(..., H, W) → (..., H // size, W // size, size²), trailing pixels dropped."""
    *lead, height, width = array.shape
    rows, cols = height // size, width // size
    cut = array[..., : rows * size, : cols * size]
    shaped = cut.reshape(*lead, rows, size, cols, size)
    return np.moveaxis(shaped, -3, -2).reshape(*lead, rows, cols, size * size)


def region_reflectance(
    record: RunRecord,
    *,
    region_px: int = DEFAULT_REGION_PX,
    min_distance_mm: float = DEFAULT_MIN_DISTANCE_MM,
    black_level_dn: float = DEFAULT_BLACK_LEVEL_DN,
    max_dn: float = DEFAULT_MAX_DN,
) -> RegionReflectance:
    """Region signals and distances of a run record with probe geometry.

    Parameters
    ----------
    record : RunRecord
        A run with probe geometry.
    region_px : int
        Region side, recorded pixels.
    min_distance_mm : float
        Regions with any pixel nearer the LED are unusable, mm.
    black_level_dn : float
        Dark offset subtracted from every pixel when the record holds no dark step, DN.
    max_dn : float
        Largest mean DN taken as linear; regions with a brighter pixel are unusable.

    Raises
    ------
    ValueError
        If the record lacks geometry or the region does not fit the frame.
    """
    x, y = pixel_centres_mm(record)
    height, width = x.shape
    if not 2 <= region_px <= min(height, width):
        raise ValueError(f"region size must lie in 2..{min(height, width)} pixels")
    lit_frames, _ = frames_by_led_step(record)
    wavelengths = np.array(sorted(lit_frames), dtype=float)
    means = np.stack(
        [record.frames[lit_frames[float(w)]].mean(axis=0) for w in wavelengths]
    )  # (W, H, W_px), DN
    led_x, led_y = led_position_mm(record)
    rho = np.hypot(x - led_x, y - led_y)
    signal = means - recorded_dark_frame_dn(record, black_level_dn)
    linear = np.all((signal > MIN_SIGNAL_DN) & (means < max_dn), axis=0)
    usable = linear & (rho >= min_distance_mm)
    region_rho = _blocks(rho, region_px)  # (R, C, P)
    return RegionReflectance(
        signal_dn=np.moveaxis(_blocks(signal, region_px), 0, -2),  # (R, C, W, P)
        rho_mm=region_rho,
        usable=np.all(_blocks(usable.astype(float), region_px) > 0.0, axis=-1),
        x_mm=_blocks(x, region_px).mean(axis=-1),
        y_mm=_blocks(y, region_px).mean(axis=-1),
        distance_mm=region_rho.mean(axis=-1),
        wavelengths_nm=wavelengths,
        region_px=region_px,
    )
