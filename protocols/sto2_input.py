"""Tissue oxygenation map from a run record: SRS over the detector array's regions.

The detector array sees the LED at many distances at once, so every square region of
``region_px`` × ``region_px`` recorded pixels is a small multi-distance probe: its pixels' mean
signals over its lit LED steps (dark-corrected with the record's dark step or the black level,
``instrument.snirf_export.recorded_dark_frame_dn``; time-averaged per wavelength) against their
distances from the LED give the slope of ln(R ρ²) that spatially resolved spectroscopy
(``imaging.srs``) turns into StO2, the tissue oxygenation index and HbT. A region is withheld
(NaN) when it lies closer to the LED than ``min_distance_mm`` (the diffusion model needs ρ well
beyond a transport mean free path) or when any of its pixels is outside the linear range at any
wavelength (nearly dark, or above ``max_dn``, the start of the sensor's compression toward full
well).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from imaging.srs import (
    DEFAULT_REFRACTIVE_INDEX,
    DEFAULT_SCATTERING_A_PER_MM,
    DEFAULT_SCATTERING_POWER,
    spatially_resolved_sto2,
)
from imaging.statistics import median_of_finite
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

DEFAULT_REGION_PX = 8
DEFAULT_MIN_DISTANCE_MM = 10.0


@dataclass(frozen=True)
class Sto2Map:
    """StO2 map over the detector array's regions (NaN where withheld).

    Attributes
    ----------
    sto2_percent, toi_percent : ndarray, shape (R, C)
        StO2 (Farrell slope fit) and the Suzuki tissue oxygenation index, %.
    hbt_um : ndarray, shape (R, C)
        Total haemoglobin, µM (under the assumed scattering).
    x_mm, y_mm, distance_mm : ndarray, shape (R, C)
        Region centre on the surface and its mean distance from the LED, mm.
    wavelengths_nm : tuple of int
        Wavelengths used, nm.
    region_px : int
        Region side, recorded pixels.
    """

    sto2_percent: NDArray[np.float64]
    toi_percent: NDArray[np.float64]
    hbt_um: NDArray[np.float64]
    x_mm: NDArray[np.float64]
    y_mm: NDArray[np.float64]
    distance_mm: NDArray[np.float64]
    wavelengths_nm: tuple[int, ...]
    region_px: int

    @property
    def median_sto2_percent(self) -> float:
        """Median StO2 over the regions not withheld, % (NaN if all are)."""
        return median_of_finite(self.sto2_percent)

    @property
    def median_toi_percent(self) -> float:
        """Median TOI over the regions not withheld, % (NaN if all are)."""
        return median_of_finite(self.toi_percent)


def _blocks(array: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """(..., H, W) → (..., H // size, W // size, size²), trailing pixels dropped."""
    *lead, height, width = array.shape
    rows, cols = height // size, width // size
    cut = array[..., : rows * size, : cols * size]
    shaped = cut.reshape(*lead, rows, size, cols, size)
    return np.moveaxis(shaped, -3, -2).reshape(*lead, rows, cols, size * size)


def sto2_map_from_run(
    record: RunRecord,
    *,
    region_px: int = DEFAULT_REGION_PX,
    min_distance_mm: float = DEFAULT_MIN_DISTANCE_MM,
    black_level_dn: float = DEFAULT_BLACK_LEVEL_DN,
    max_dn: float = DEFAULT_MAX_DN,
    scattering_a_per_mm: float = DEFAULT_SCATTERING_A_PER_MM,
    scattering_power: float = DEFAULT_SCATTERING_POWER,
    refractive_index: float = DEFAULT_REFRACTIVE_INDEX,
    water_fraction: float | None = None,
) -> Sto2Map:
    """StO2 / TOI map from the multi-distance reflectance in a run record.

    Parameters
    ----------
    record : RunRecord
        A run with probe geometry and at least three LED wavelengths (two with
        `water_fraction`).
    region_px : int
        Region side, recorded pixels.
    min_distance_mm : float
        Regions with any pixel nearer the LED are withheld, mm.
    black_level_dn : float
        Dark offset subtracted from every pixel when the record holds no dark step, DN.
    max_dn : float
        Largest mean DN taken as linear; regions with a brighter pixel are withheld.
    scattering_a_per_mm, scattering_power, refractive_index, water_fraction
        As ``imaging.srs.spatially_resolved_sto2``.

    Returns
    -------
    Sto2Map

    Raises
    ------
    ValueError
        If the record lacks geometry or wavelengths, or the region does not fit the frame.
    """
    x, y = pixel_centres_mm(record)
    height, width = x.shape
    if not 2 <= region_px <= min(height, width):
        raise ValueError(f"region size must lie in 2..{min(height, width)} pixels")
    lit_frames, _ = frames_by_led_step(record)
    wavelengths = np.array(sorted(lit_frames))
    needed = 2 if water_fraction is not None else 3
    if len(wavelengths) < needed:
        raise ValueError(
            f"{record.path}: SRS needs {needed} or more LED wavelengths, found {len(wavelengths)}"
        )
    means = np.stack(
        [record.frames[lit_frames[float(w)]].mean(axis=0) for w in wavelengths]
    )  # (W, H, W_px), DN
    led_x, led_y = led_position_mm(record)
    rho = np.hypot(x - led_x, y - led_y)
    signal = means - recorded_dark_frame_dn(record, black_level_dn)
    linear = np.all((signal > MIN_SIGNAL_DN) & (means < max_dn), axis=0)
    usable = linear & (rho >= min_distance_mm)
    region_signal = np.moveaxis(_blocks(signal, region_px), 0, -2)  # (R, C, W, P)
    region_rho = _blocks(rho, region_px)  # (R, C, P)
    region_ok = np.all(_blocks(usable.astype(float), region_px) > 0.0, axis=-1)
    result = spatially_resolved_sto2(
        np.where(region_ok[..., None, None], region_signal, 1.0),
        region_rho,
        wavelengths.astype(float),
        scattering_a_per_mm=scattering_a_per_mm,
        scattering_power=scattering_power,
        refractive_index=refractive_index,
        water_fraction=water_fraction,
        rho_per_wavelength=False,
    )

    def withheld(values: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(region_ok, values, np.nan)

    return Sto2Map(
        sto2_percent=withheld(result.sto2_percent),
        toi_percent=withheld(result.toi_percent),
        hbt_um=withheld(result.hbt_um),
        x_mm=_blocks(x, region_px).mean(axis=-1),
        y_mm=_blocks(y, region_px).mean(axis=-1),
        distance_mm=region_rho.mean(axis=-1),
        wavelengths_nm=tuple(int(w) for w in wavelengths),
        region_px=region_px,
    )
