"""A DOT scan from SNIRF recordings: calibrate, reconstruct, find inclusions, write the maps.

`reconstruct_snirf` is the single entry point of ``nirpoct reconstruct`` and of the protocol
runner. One wavelength gives an absorption map (μa, mm⁻¹); two or more give ΔHbO2 and ΔHb
directly (spectral constraint) and from them HbT (µM) and StO2 (%) maps. Positions in the
result are in the SNIRF probe frame, mm.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np
from numpy.typing import NDArray

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
from instrument.snirf import NirsData
from protocols.dot_input import DotInput, dot_input

MATRIX_COPIES = 5
"""Dense M × N matrices alive at once at the peak of a reconstruction (per-wavelength and
spectral Jacobians, the offset-free copy, the weighted copies of the solver)."""

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


def _per_wavelength(values: tuple[float, ...] | None, count: int, name: str):
    if values is None:
        return None
    if len(values) != count:
        raise ValueError(
            f"--{name} needs one value per wavelength ({count} in the file), got {len(values)}"
        )
    if not all(v > 0 for v in values):
        raise ValueError(f"--{name} values must be positive mm⁻¹, got {list(values)}")
    return np.asarray(values, dtype=float)


def _background(data: DotInput, options: DotOptions) -> tuple[NDArray, NDArray]:
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
    return 8.0 * MATRIX_COPIES * measurements * blocks * float(np.prod(grid.shape))


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
    jacobians, order = _wavelength_jacobians(data, grid, mua0, musp0, options.n_tissue)
    multispectral = len(jacobians) >= 2
    jacobian = spectral_jacobian(jacobians, data.wavelengths_nm) if multispectral else jacobians[0]
    jacobian, y = remove_wavelength_offsets(
        jacobian, data.log_ratio[order], data.wavelength_index[order]
    )
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
    offset = np.array([0.0, 0.0, data.top_z_mm])
    snirf_grid = VoxelGrid(grid.x_mm, grid.y_mm, grid.z_mm + data.top_z_mm)
    inclusions = [
        Inclusion(
            centroid_mm=tuple(float(v) for v in np.add(i.centroid_mm, offset)),
            peak_mm=tuple(float(v) for v in np.add(i.peak_mm, offset)),
            volume_mm3=i.volume_mm3,
            peak_contrast=i.peak_contrast,
            hbt_um=i.hbt_um,
            sto2_percent=i.sto2_percent,
        )
        for i in inclusions
    ]
    return DotResult(
        grid=snirf_grid,
        maps=maps,
        wavelengths_nm=data.wavelengths_nm,
        background_mua_per_mm=mua0,
        background_musp_per_mm=musp0,
        inclusions=inclusions,
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


def _wavelength_jacobians(
    data: DotInput,
    grid: VoxelGrid,
    mua0: NDArray[np.float64],
    musp0: NDArray[np.float64],
    n_tissue: float,
) -> tuple[list[NDArray[np.float64]], NDArray[np.intp]]:
    """Rytov Jacobian of each wavelength's measurements about the fitted background, and the
    measurement rows in the order the Jacobians stack them."""
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
                n_tissue,
            )
        )
    return jacobians, np.concatenate(rows_all)


def _maps_and_inclusions(
    x: NDArray[np.float64],
    data: DotInput,
    grid: VoxelGrid,
    mua0: NDArray[np.float64],
    chromophores: tuple[float, float] | None,
) -> tuple[dict[str, NDArray[np.float64]], list[Inclusion], Background]:
    """Maps of the reconstructed update ``x`` (haemoglobin with ``chromophores``, the background
    HbO2 and Hb in µM; else μa) and the inclusions found in them, checked for plausibility."""
    maps: dict[str, NDArray[np.float64]] = {}
    if chromophores is not None:
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
    else:
        maps.update(mua=mua0[0] + x[0], delta_mua=x[0])
        inclusions, background = find_inclusions(maps["mua"], grid, float(mua0[0]))
        _check_plausible(inclusions, background, "μa")
    return maps, inclusions, background


def _rounded(values, digits: int = 2) -> list[float]:
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
        background["sto2_percent"] = round(float(result.background.sto2_percent), 2)
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
