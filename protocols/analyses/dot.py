"""A DOT scan from SNIRF recordings: calibrate, reconstruct, find inclusions, write the maps.

`reconstruct_snirf` is the single entry point of ``nirpoct reconstruct`` and of the protocol
runner's ``dot`` analysis (:func:`run`, an acquire step against a baseline acquire step). One
wavelength gives an absorption map (μa, mm⁻¹); two or more give ΔHbO2 and ΔHb directly
(spectral constraint) and from them HbT (µM) and StO2 (%) maps. Positions in the result are in
the SNIRF probe frame, mm.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import h5py
import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from imaging.dot_background import fit_background_optics
from imaging.dot_grid import VoxelGrid, probe_grid
from imaging.dot_inverse import (
    background_chromophores_um,
    chromophore_absorption_per_um_mm,
    depth_weights,
    gauss_newton_reconstruct,
    remove_wavelength_offsets,
    spectral_jacobian,
    tikhonov_reconstruct,
)
from imaging.dot_jacobian import rytov_jacobian
from imaging.lesions import Background, Inclusion, find_inclusions
from instrument.dot_input import DotInput, dot_input
from instrument.snirf import NirsData
from instrument.snirf_export import DEFAULT_BLACK_LEVEL_DN, run_to_nirs
from protocols.analyses.step_data import dark_level, segment_of, source_record
from protocols.context import RunContext, StepOutcome
from protocols.schema import AnalysisKind, Fraction, PositiveFloat, StepName, Strict

MATRIX_COPIES = 3
"""Dense float32 M × N matrices alive at once at the peak of a reconstruction (the
per-wavelength and spectral Jacobians; the solver works on M × M kernels built by blocks; the
10⁵-voxel, 625-measurement case peaks at 0.61 GB, this bound says 1.5 GB)."""

MAX_CONTRAST = 20.0
"""A reconstructed peak this many times the background is not tissue: the data are refused."""

MAX_VARIATION_PERCENT = 25.0
"""Background variation beyond this means the data do not fit the background model."""

MAP_UNITS = {
    "mua": "mm^-1",
    "delta_mua": "mm^-1",
    "hbo2": "uM",
    "hb": "uM",
    "hbt": "uM",
    "sto2": "%",
    "delta_hbo2": "uM",
    "delta_hb": "uM",
}


@dataclass(frozen=True)
class DotOptions:
    """Settings of a reconstruction.

    Parameters
    ----------
    thickness_mm : float
        Slab thickness, mm.
    mua_per_mm, musp_per_mm : tuple of float, optional
        Background optical properties per wavelength in the file's order, mm⁻¹; fitted to
        the baseline when omitted (μa alone is fitted when μs' is given).
    voxel_mm : float
        Voxel edge, mm.
    method : {"gauss-newton", "linear"}
        Iteratively re-weighted, non-negative Tikhonov on the background (Rytov) Jacobian,
        which is not re-linearised, or one-step linear Tikhonov.
    alpha : float, optional
        Relative regularisation parameter; chosen automatically by `rule` when omitted.
    rule : {"gcv", "lcurve"}
        Automatic regularisation rule.
    n_tissue : float
        Refractive index of the tissue.
    water_fraction : float
        Tissue water volume fraction assumed when converting background μa to haemoglobin.
    memory_limit_gb : float
        Reconstructions whose dense matrices would need more than this are refused, GB.
    """

    thickness_mm: float
    mua_per_mm: tuple[float, ...] | None = None
    musp_per_mm: tuple[float, ...] | None = None
    voxel_mm: float = 4.0
    method: Literal["gauss-newton", "linear"] = "gauss-newton"
    alpha: float | None = None
    rule: Literal["gcv", "lcurve"] = "gcv"
    n_tissue: float = 1.4
    water_fraction: float = 0.7
    memory_limit_gb: float = 4.0


@dataclass(frozen=True)
class DotResult:
    """Maps, grid, inclusions and background of a DOT reconstruction.

    ``grid`` is in the SNIRF frame (mm); ``maps`` holds (nx, ny, nz) arrays named as in
    `MAP_UNITS` (per-wavelength μa maps are ``mua_<nm>nm``).
    """

    grid: VoxelGrid
    maps: dict[str, NDArray[np.float64]]
    wavelengths_nm: NDArray[np.float64]
    background_mua_per_mm: NDArray[np.float64]
    background_musp_per_mm: NDArray[np.float64]
    inclusions: list[Inclusion]
    background: Background
    multispectral: bool
    alpha: float
    method: str
    seconds: float
    background_hbo2_hb_um: tuple[float, float] | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def _per_wavelength(
    values: tuple[float, ...] | None, count: int, name: str
) -> NDArray[np.float64] | None:
    if values is None:
        return None
    if len(values) != count:
        raise ValueError(
            f"--{name} needs one value per wavelength ({count} in the file), got {len(values)}"
        )
    if not all(v > 0 for v in values):
        raise ValueError(f"--{name} values must be positive mm⁻¹, got {list(values)}")
    return np.asarray(values, dtype=float)


def _background(
    data: DotInput, options: DotOptions
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    count = len(data.wavelengths_nm)
    mua = _per_wavelength(options.mua_per_mm, count, "mua")
    musp = _per_wavelength(options.musp_per_mm, count, "musp")
    if mua is not None and musp is not None:
        return mua, musp
    fitted = []
    for w in range(count):
        rows = data.wavelength_index == w
        fitted.append(
            fit_background_optics(
                data.sources_mm,
                data.detectors_mm,
                data.source_index[rows],
                data.detector_index[rows],
                data.baseline_intensity[rows],
                data.thickness_mm,
                None if musp is None else float(musp[w]),
                options.n_tissue,
                mua_per_mm=None if mua is None else float(mua[w]),
            )
        )
    fitted_arr = np.asarray(fitted)
    return (fitted_arr[:, 0] if mua is None else mua), (fitted_arr[:, 1] if musp is None else musp)


def _matrix_bytes(grid: VoxelGrid, measurements: int, blocks: int) -> float:
    return 4.0 * MATRIX_COPIES * measurements * blocks * float(np.prod(grid.shape))


def _checked_grid(data: DotInput, options: DotOptions) -> VoxelGrid:
    """The voxel grid, refused when its dense matrices would not fit `memory_limit_gb`."""
    blocks = 2 if len(data.wavelengths_nm) >= 2 else 1
    measurements = data.log_ratio.size
    limit = options.memory_limit_gb * 1e9

    def grid_of(voxel_mm: float) -> VoxelGrid:
        return probe_grid(data.sources_mm, data.detectors_mm, data.thickness_mm, voxel_mm)

    grid = grid_of(options.voxel_mm)
    needed = _matrix_bytes(grid, measurements, blocks)
    if needed <= limit:
        return grid
    fitting = options.voxel_mm * (needed / limit) ** (1.0 / 3.0)
    while _matrix_bytes(grid_of(fitting), measurements, blocks) > limit:
        fitting *= 1.05
    raise ValueError(
        f"{int(np.prod(grid.shape))} voxels of {options.voxel_mm:g} mm × {measurements} "
        f"measurements need about {needed / 1e9:.1f} GB (limit {options.memory_limit_gb:g} GB); "
        f"use --voxel-mm {np.ceil(fitting * 10) / 10:.1f} or larger"
    )


def _check_plausible(inclusions: list[Inclusion], background: Background, what: str) -> None:
    """Refuse reconstructions that no tissue can produce (they mean the data are inconsistent)."""
    advice = (
        "the measurement and baseline are inconsistent with the background optics (check "
        "--mua/--musp, probe coupling and that both recordings are of the same probe)"
    )
    if not background.mean > 0:
        raise ValueError(f"reconstructed background {what} is {background.mean:.3g}: {advice}")
    if abs(background.variation_percent) > MAX_VARIATION_PERCENT:
        raise ValueError(
            f"reconstructed background {what} varies by {background.variation_percent:.0f} % "
            f"(more than {MAX_VARIATION_PERCENT:g} %): {advice}"
        )
    saturations = [i.sto2_percent for i in inclusions if i.sto2_percent is not None]
    if saturations and not all(0.0 <= v <= 100.0 for v in saturations):
        raise ValueError(f"reconstructed inclusion StO2 outside 0-100 %: {advice}")
    strongest = max((i.peak_contrast for i in inclusions), default=0.0)
    if strongest > MAX_CONTRAST:
        raise ValueError(
            f"reconstructed inclusion contrast {strongest:.1f} × the background is implausible "
            f"(more than {MAX_CONTRAST:g}): {advice}"
        )


def reconstruct_snirf(
    measurement: NirsData, baseline: NirsData | None, options: DotOptions
) -> DotResult:
    """Reconstruct absorption or haemoglobin maps and find inclusions.

    Parameters
    ----------
    measurement, baseline : NirsData
        Raw CW recordings with and without the inclusions (same probe, same measurement list).
    options : DotOptions
        Geometry, background and solver settings.

    Returns
    -------
    DotResult

    Raises
    ------
    ValueError
        For data that cannot be calibrated, options that do not fit the data, a grid too large
        for `DotOptions.memory_limit_gb`, or a physically impossible result (negative or
        wildly varying background, contrast above `MAX_CONTRAST`).
    """
    start = time.perf_counter()
    data = dot_input(measurement, baseline, options.thickness_mm)
    grid = _checked_grid(data, options)
    mua0, musp0 = _background(data, options)
    jacobian, y = _calibrated_problem(data, grid, mua0, musp0, options)
    multispectral = len(data.wavelengths_nm) >= 2
    weights = depth_weights(jacobian, grid.shape)
    blocks = 2 if multispectral else 1
    if options.method == "gauss-newton":
        rec = gauss_newton_reconstruct(jacobian, y, weights, blocks, options.alpha, options.rule)
    elif options.method == "linear":
        rec = tikhonov_reconstruct(jacobian, y, weights, options.alpha, options.rule)
    else:
        raise ValueError(f"unknown method {options.method!r}; use 'gauss-newton' or 'linear'")
    x = rec.x.reshape(blocks, *grid.shape)
    chromophores = (
        background_chromophores_um(mua0, data.wavelengths_nm, options.water_fraction)
        if multispectral
        else None
    )
    maps, inclusions, background = _maps_and_inclusions(x, data, grid, mua0, chromophores)
    return DotResult(
        grid=VoxelGrid(grid.x_mm, grid.y_mm, grid.z_mm + data.top_z_mm),
        maps=maps,
        wavelengths_nm=data.wavelengths_nm,
        background_mua_per_mm=mua0,
        background_musp_per_mm=musp0,
        inclusions=[_in_probe_frame(i, data.top_z_mm) for i in inclusions],
        background=background,
        multispectral=multispectral,
        alpha=rec.alpha,
        method=options.method,
        seconds=time.perf_counter() - start,
        background_hbo2_hb_um=chromophores,
        settings={
            "thickness_mm": data.thickness_mm,
            "voxel_mm": options.voxel_mm,
            "rule": options.rule if options.alpha is None else "given",
            "n_tissue": options.n_tissue,
            "water_fraction": options.water_fraction,
            "measurements": int(y.size),
            "voxels": int(np.prod(grid.shape)),
        },
    )


def _calibrated_problem(
    data: DotInput,
    grid: VoxelGrid,
    mua0: NDArray[np.float64],
    musp0: NDArray[np.float64],
    options: DotOptions,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The Rytov Jacobian (spectral when there are two or more wavelengths) and the data it
    maps to, with a free offset per wavelength removed from both."""
    jacobians, rows_all = [], []
    for w in range(len(data.wavelengths_nm)):
        rows = np.flatnonzero(data.wavelength_index == w)
        if rows.size == 0:
            raise ValueError(f"no measurements at {data.wavelengths_nm[w]:g} nm")
        rows_all.append(rows)
        jacobians.append(
            rytov_jacobian(
                data.sources_mm,
                data.detectors_mm,
                data.source_index[rows],
                data.detector_index[rows],
                grid.centers_mm,
                grid.voxel_volume_mm3,
                float(mua0[w]),
                float(musp0[w]),
                data.thickness_mm,
                options.n_tissue,
            )
        )
    multispectral = len(jacobians) >= 2
    jacobian = spectral_jacobian(jacobians, data.wavelengths_nm) if multispectral else jacobians[0]
    order = np.concatenate(rows_all)
    return remove_wavelength_offsets(jacobian, data.log_ratio[order], data.wavelength_index[order])


def _maps_and_inclusions(
    x: NDArray[np.float64],
    data: DotInput,
    grid: VoxelGrid,
    mua0: NDArray[np.float64],
    chromophores: tuple[float, float] | None,
) -> tuple[dict[str, NDArray[np.float64]], list[Inclusion], Background]:
    """The maps of the solution ``x`` (blocks, nx, ny, nz) over the background, and the
    inclusions found in them (HbT with two or more wavelengths, μa with one)."""
    maps: dict[str, NDArray[np.float64]] = {}
    if chromophores is None:
        maps.update(mua=mua0[0] + x[0], delta_mua=x[0])
        inclusions, background = find_inclusions(maps["mua"], grid, float(mua0[0]))
        _check_plausible(inclusions, background, "μa")
        return maps, inclusions, background
    hbo2, hb = chromophores[0] + x[0], chromophores[1] + x[1]
    hbt = hbo2 + hb
    with np.errstate(divide="ignore", invalid="ignore"):
        sto2 = np.where(hbt > 0, 100.0 * hbo2 / hbt, np.nan)
    maps.update(delta_hbo2=x[0], delta_hb=x[1], hbo2=hbo2, hb=hb, hbt=hbt, sto2=sto2)
    per_um = chromophore_absorption_per_um_mm(data.wavelengths_nm)
    for w, nm in enumerate(data.wavelengths_nm):
        maps[f"mua_{nm:g}nm"] = mua0[w] + per_um[w, 0] * x[0] + per_um[w, 1] * x[1]
    inclusions, background = find_inclusions(hbt, grid, sum(chromophores), hbt, sto2)
    _check_plausible(inclusions, background, "HbT")
    return maps, inclusions, background


def _in_probe_frame(inclusion: Inclusion, top_z_mm: float) -> Inclusion:
    """The inclusion with its positions in the SNIRF probe frame (slab top at ``top_z_mm``)."""

    def shifted(point: tuple[float, float, float]) -> tuple[float, float, float]:
        return (float(point[0]), float(point[1]), float(point[2]) + top_z_mm)

    return Inclusion(
        centroid_mm=shifted(inclusion.centroid_mm),
        peak_mm=shifted(inclusion.peak_mm),
        volume_mm3=inclusion.volume_mm3,
        peak_contrast=inclusion.peak_contrast,
        hbt_um=inclusion.hbt_um,
        sto2_percent=inclusion.sto2_percent,
    )


def _rounded(values: Iterable[float], digits: int = 2) -> list[float]:
    return [round(float(v), digits) for v in values]


def result_summary(result: DotResult) -> dict[str, Any]:
    """The JSON-ready summary: inclusions (strongest first) and background."""
    inclusions = []
    for inclusion in result.inclusions:
        entry: dict[str, Any] = {
            "centroid_mm": _rounded(inclusion.centroid_mm),
            "peak_mm": _rounded(inclusion.peak_mm),
            "volume_mm3": round(inclusion.volume_mm3, 1),
            "peak_contrast": round(inclusion.peak_contrast, 3),
        }
        if inclusion.hbt_um is not None:
            entry["hbt_um"] = round(inclusion.hbt_um, 2)
        if inclusion.sto2_percent is not None:
            entry["sto2_percent"] = round(inclusion.sto2_percent, 2)
        inclusions.append(entry)
    background: dict[str, Any] = {
        "variation_percent": round(result.background.variation_percent, 3)
    }
    if result.multispectral:
        background["hbt_um"] = round(result.background.mean, 2)
        background["sto2_percent"] = round(float(result.background.sto2_percent or np.nan), 2)
    else:
        background["mua_per_mm"] = round(result.background.mean, 6)
    return {
        "inclusions": inclusions,
        "background": background,
        "wavelengths_nm": _rounded(result.wavelengths_nm, 1),
        "background_optics": {
            "mua_per_mm": _rounded(result.background_mua_per_mm, 6),
            "musp_per_mm": _rounded(result.background_musp_per_mm, 4),
        },
        "method": result.method,
        "alpha": result.alpha,
        "grid_shape": list(result.grid.shape),
        "seconds": round(result.seconds, 3),
    }


def write_dot_maps(path: str | Path, result: DotResult) -> None:
    """Write the maps to HDF5 with their grid axes attached as dimension scales.

    Layout: ``/x_mm``, ``/y_mm``, ``/z_mm`` (voxel centres, SNIRF frame) and one dataset per
    map under ``/maps`` with a ``units`` attribute; the JSON summary in the root attribute
    ``summary_json``. The file is written under a temporary name in the same directory and
    renamed when complete, so an existing file is replaced whole or not at all.
    """
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    os.close(handle)
    try:
        _write_maps(temporary, result)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_maps(path: str, result: DotResult) -> None:
    with h5py.File(path, "w") as root:
        axes = []
        for name, values in (
            ("x_mm", result.grid.x_mm),
            ("y_mm", result.grid.y_mm),
            ("z_mm", result.grid.z_mm),
        ):
            axis = root.create_dataset(name, data=values)
            axis.attrs["units"] = "mm"
            axis.make_scale(name)
            axes.append(axis)
        group = root.create_group("maps")
        for name, values in result.maps.items():
            dataset = group.create_dataset(name, data=values, compression="gzip")
            base = name.split("_")[0] if name.startswith("mua_") else name
            dataset.attrs["units"] = MAP_UNITS[base]
            for dim, axis in enumerate(axes):
                dataset.dims[dim].attach_scale(axis)
                dataset.dims[dim].label = axis.name.lstrip("/")
        root.attrs["wavelengths_nm"] = result.wavelengths_nm
        root.attrs["background_mua_per_mm"] = result.background_mua_per_mm
        root.attrs["background_musp_per_mm"] = result.background_musp_per_mm
        root.attrs["summary_json"] = json.dumps(result_summary(result))


class DotStepOptions(Strict):
    """Options of the ``dot`` analysis: ``baseline`` (an earlier acquire step on reference
    tissue) and the :class:`DotOptions` fields."""

    baseline: StepName
    thickness_mm: PositiveFloat
    mua_per_mm: Annotated[list[PositiveFloat], Field(min_length=1)] | None = None
    musp_per_mm: Annotated[list[PositiveFloat], Field(min_length=1)] | None = None
    voxel_mm: PositiveFloat = 4.0
    method: Literal["gauss-newton", "linear"] = "gauss-newton"
    alpha: PositiveFloat | None = None
    rule: Literal["gcv", "lcurve"] = "gcv"
    n_tissue: Annotated[float, Field(ge=1, le=2)] = 1.4
    water_fraction: Fraction = 0.7


def run(step: Any, context: RunContext) -> StepOutcome:
    """Reconstruction of the source step against ``options.baseline`` and the lesion table,
    strongest first.

    With ``dark`` the intensities are taken above the dark reference's mean level, else above
    the export's default black level.
    """
    options = dict(step.options)
    baseline_name = options.pop("baseline")
    level = dark_level(step, context)
    black_level_dn = DEFAULT_BLACK_LEVEL_DN if level is None else level
    measurement = run_to_nirs(source_record(step, context), black_level_dn=black_level_dn)
    baseline = run_to_nirs(
        context.record_view(segment_of(context, baseline_name)), black_level_dn=black_level_dn
    )
    result = reconstruct_snirf(measurement, baseline, DotOptions(**options))
    summary = result_summary(result)
    lesions = summary["inclusions"]
    results: dict[str, Any] = {
        "lesion_count": len(lesions),
        "lesions": lesions,
        "background": summary["background"],
        "method": summary["method"],
        "dark_level_dn": level,
    }
    if lesions:
        strongest = lesions[0]
        results["lesion_peak_contrast"] = strongest["peak_contrast"]
        results["lesion_depth_mm"] = strongest["centroid_mm"][2]
        results["lesion_volume_mm3"] = strongest["volume_mm3"]
    grid = result.grid
    arrays = {
        f"dot_{name}_map": np.asarray(values, dtype=float).reshape(grid.shape)
        for name, values in result.maps.items()
    }
    arrays.update({"dot_x_mm": grid.x_mm, "dot_y_mm": grid.y_mm, "dot_z_mm": grid.z_mm})
    return StepOutcome("passed", results, arrays)


ANALYSIS = AnalysisKind(
    "dot",
    DotStepOptions,
    sources=("acquire",),
    figures=(
        "lesion_count",
        "lesion_peak_contrast",
        "lesion_depth_mm",
        "lesion_volume_mm3",
        "dark_level_dn",
    ),
    run=run,
    frame_options=("baseline",),
)
