"""``sto2``: tissue oxygen saturation map by spatially resolved spectroscopy (SRS).

Every square region of the detector array is a small multi-distance probe
(:func:`instrument.region_signals.region_reflectance`): the slope of ln(R ρ²) against the
distance ρ from the LED, per wavelength, gives StO2, the tissue oxygenation index and HbT
(:func:`imaging.srs.spatially_resolved_sto2`). Regions the adapter marks unusable are withheld
(NaN). The frames are corrected with the run's approved detector-characterisation record when
it has one (``frame_correction`` names it, or says why the frames stay uncorrected; the black
level of corrected frames is 0). While the source step acquires, the same map is streamed every
few seconds (:mod:`protocols.live_maps`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from imaging.srs import (
    DEFAULT_REFRACTIVE_INDEX,
    DEFAULT_SCATTERING_A_PER_MM,
    DEFAULT_SCATTERING_POWER,
    spatially_resolved_sto2,
)
from imaging.statistics import median_of_finite
from instrument.region_signals import (
    DEFAULT_MAX_DN,
    DEFAULT_MIN_DISTANCE_MM,
    DEFAULT_REGION_PX,
    region_reflectance,
)
from instrument.run_record import RunRecord
from instrument.snirf_export import DEFAULT_BLACK_LEVEL_DN
from protocols.analyses.figures import median_figure
from protocols.analyses.step_data import analysis_frames, dark_level
from protocols.context import RunContext, StepOutcome
from protocols.schema import AnalysisKind, DarkLevel, Fraction, PositiveFloat, Strict


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
    regions = region_reflectance(
        record,
        region_px=region_px,
        min_distance_mm=min_distance_mm,
        black_level_dn=black_level_dn,
        max_dn=max_dn,
    )
    needed = 2 if water_fraction is not None else 3
    if len(regions.wavelengths_nm) < needed:
        raise ValueError(
            f"{record.path}: SRS needs {needed} or more LED wavelengths, found "
            f"{len(regions.wavelengths_nm)}"
        )
    usable = regions.usable
    result = spatially_resolved_sto2(
        np.where(usable[..., None, None], regions.signal_dn, 1.0),
        regions.rho_mm,
        regions.wavelengths_nm,
        scattering_a_per_mm=scattering_a_per_mm,
        scattering_power=scattering_power,
        refractive_index=refractive_index,
        water_fraction=water_fraction,
        rho_per_wavelength=False,
    )

    def withheld(values: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(usable, values, np.nan)

    return Sto2Map(
        sto2_percent=withheld(result.sto2_percent),
        toi_percent=withheld(result.toi_percent),
        hbt_um=withheld(result.hbt_um),
        x_mm=regions.x_mm,
        y_mm=regions.y_mm,
        distance_mm=regions.distance_mm,
        wavelengths_nm=tuple(int(w) for w in regions.wavelengths_nm),
        region_px=region_px,
    )


class Sto2Options(Strict):
    """Options of :func:`sto2_map_from_run` (unset: its defaults; ``black_level_dn`` defaults
    to the dark reference's mean level)."""

    region_px: Annotated[int, Field(ge=1)] | None = None
    min_distance_mm: PositiveFloat | None = None
    black_level_dn: DarkLevel | None = None
    max_dn: PositiveFloat | None = None
    scattering_a_per_mm: PositiveFloat | None = None
    scattering_power: PositiveFloat | None = None
    refractive_index: Annotated[float, Field(ge=1, le=2)] | None = None
    water_fraction: Fraction | None = None


def run(step: Any, context: RunContext) -> StepOutcome:
    """StO2 and TOI maps of the source step; figures are medians over the regions with a
    value."""
    options = dict(step.options)
    record, corrector, correction = analysis_frames(step, context)
    if step.dark is not None:
        options.setdefault("black_level_dn", dark_level(step, context, corrector))
    elif corrector is not None:  # corrected frames are signal above the characterised dark
        options.setdefault("black_level_dn", 0.0)
    result = sto2_map_from_run(record, **options)
    sto2_map = np.asarray(result.sto2_percent, dtype=float)
    results = {
        "sto2_percent": median_figure(sto2_map),
        "toi_percent": median_figure(result.toi_percent),
        "hbt_um": median_figure(result.hbt_um),
        "valid_regions_percent": round(float(np.mean(np.isfinite(sto2_map))) * 100, 1),
        "region_px": int(result.region_px),
        "frame_correction": correction,
    }
    arrays = {
        "sto2_map_percent": sto2_map,
        "toi_map_percent": np.asarray(result.toi_percent, dtype=float),
        "hbt_map_um": np.asarray(result.hbt_um, dtype=float),
        "distance_mm": np.asarray(result.distance_mm, dtype=float),
    }
    return StepOutcome("passed", results, arrays)


ANALYSIS = AnalysisKind(
    "sto2",
    Sto2Options,
    sources=("acquire",),
    figures=("sto2_percent", "toi_percent", "hbt_um", "valid_regions_percent", "region_px"),
    run=run,
)
