"""SNIRF measurement + baseline → calibrated DOT data in the slab frame.

Raw CW intensities carry unknown source powers, detector gains and coupling; they are only
usable as the Rytov ratio y = ln(I / I₀) against a baseline (reference) recording of the same
probe with the same measurement list, where all those factors cancel. Anything that cannot be
calibrated that way is refused with an error naming the problem.

Frame: the slab's top face is the plane of the lowest probe z; z increases into the tissue, so
a reflectance probe has every optode on that plane and a transmission probe has the others on
the plane one slab thickness below. x and y are the SNIRF probe coordinates. The slab faces
must be planes of constant SNIRF z (axis-aligned probe) and +z must point into the tissue; a
reflectance probe (all optodes on one plane) carries no information about its tissue side, so
that convention cannot be checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from instrument.snirf import DATA_TYPE_CW_AMPLITUDE, NirsData

FACE_TOLERANCE_MM = 0.5
"""Optodes must lie this close to a slab face, mm."""

POSITION_TOLERANCE_MM = 0.1
"""Measurement and baseline optode positions must agree this closely, mm."""


@dataclass(frozen=True)
class DotInput:
    """Calibrated DOT data.

    Parameters
    ----------
    sources_mm, detectors_mm : ndarray
        (S, 3) and (D, 3) optode positions in the slab frame (z = 0 or z = T), mm.
    source_index, detector_index, wavelength_index : ndarray
        (M,) 0-based indices of each measurement.
    wavelengths_nm : ndarray
        (W,) wavelengths in the file's order, nm.
    log_ratio : ndarray
        (M,) ln(I / I₀) of the time-averaged measurement against the time-averaged baseline.
    baseline_intensity : ndarray
        (M,) time-averaged baseline, file units.
    thickness_mm : float
        Slab thickness, mm.
    top_z_mm : float
        SNIRF z of the slab's top face, mm (slab z + top_z = SNIRF z).
    """

    sources_mm: NDArray[np.float64]
    detectors_mm: NDArray[np.float64]
    source_index: NDArray[np.int64]
    detector_index: NDArray[np.int64]
    wavelength_index: NDArray[np.int64]
    wavelengths_nm: NDArray[np.float64]
    log_ratio: NDArray[np.float64]
    baseline_intensity: NDArray[np.float64]
    thickness_mm: float
    top_z_mm: float


def _check_cw(data: NirsData, role: str) -> None:
    if data.data_type != DATA_TYPE_CW_AMPLITUDE:
        raise ValueError(
            f"{role} holds processed data (dataType {data.data_type}); DOT needs raw CW "
            "amplitudes (dataType 1)"
        )
    values = data.values
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{role} has non-finite intensities (NaN or infinity)")
    bad = np.flatnonzero(np.any(values <= 0, axis=0))
    if bad.size:
        raise ValueError(
            f"{role} has zero or negative intensities in {bad.size} measurement(s) "
            f"(first: measurement {bad[0] + 1}); ln(I/I0) is undefined"
        )


def _check_same_probe(measurement: NirsData, baseline: NirsData) -> None:
    for name in ("source_index", "detector_index", "wavelength_index"):
        if not np.array_equal(getattr(measurement, name), getattr(baseline, name)):
            raise ValueError(
                f"measurement and baseline have different measurement lists ({name} differs); "
                "they cannot be calibrated against each other"
            )
    ours, theirs = measurement.wavelengths_nm, baseline.wavelengths_nm
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, atol=0.5):
        raise ValueError(
            f"wavelengths differ: measurement {ours.tolist()} nm vs baseline {theirs.tolist()} nm"
        )
    for name in ("source_positions_mm", "detector_positions_mm"):
        a, b = getattr(measurement, name), getattr(baseline, name)
        if a.shape != b.shape or not np.allclose(a, b, atol=POSITION_TOLERANCE_MM):
            raise ValueError(f"measurement and baseline {name.split('_')[0]} positions differ")


def _check_wavelengths(wavelengths_nm: NDArray[np.float64]) -> None:
    if len(wavelengths_nm) == 0:
        raise ValueError("the measurement has no wavelengths")
    spacing = np.diff(np.sort(wavelengths_nm))
    if np.any(spacing < 1.0):
        raise ValueError(
            f"duplicate wavelengths {wavelengths_nm.tolist()} nm: each wavelength must appear "
            "once (repeated ones make the haemoglobin system singular)"
        )


def _check_planes(sources: NDArray[np.float64], detectors: NDArray[np.float64]) -> None:
    """Optodes must sit on at most two planes of constant z (the slab faces)."""
    z = np.concatenate([sources[:, 2], detectors[:, 2]])
    between = (z - z.min() > FACE_TOLERANCE_MM) & (z.max() - z > FACE_TOLERANCE_MM)
    if np.any(between):
        raise ValueError(
            f"optodes lie at more than two depths (z {z.min():.1f} to {z.max():.1f} mm, "
            f"{int(between.sum())} in between): "
            "DOT needs every probe on planes of constant z (slab faces axis-aligned in the "
            "SNIRF frame, +z into the tissue); a tilted or curved probe cannot be reconstructed"
        )


def dot_input(measurement: NirsData, baseline: NirsData | None, thickness_mm: float) -> DotInput:
    """Calibrate a DOT measurement against its baseline.

    Parameters
    ----------
    measurement : NirsData
        Raw CW recording with the inclusion(s).
    baseline : NirsData or None
        Raw CW reference recording of the same probe (None is refused: raw intensities cannot
        be reconstructed uncalibrated).
    thickness_mm : float
        Slab thickness, mm.

    Returns
    -------
    DotInput

    Raises
    ------
    ValueError
        Missing baseline, processed data, non-positive or non-finite intensities, different
        measurement lists, wavelengths or positions, duplicate wavelengths, optodes off two
        planes of constant z or off the slab faces.
    """
    if baseline is None:
        raise ValueError(
            "uncalibrated CW intensities cannot be reconstructed: give a baseline (reference) "
            "recording of the same probe"
        )
    if not thickness_mm > 0:
        raise ValueError(f"slab thickness must be positive, got {thickness_mm:g} mm")
    _check_cw(measurement, "measurement")
    _check_cw(baseline, "baseline")
    _check_same_probe(measurement, baseline)
    _check_wavelengths(measurement.wavelengths_nm)
    _check_planes(measurement.source_positions_mm, measurement.detector_positions_mm)
    sources = measurement.source_positions_mm.copy()
    detectors = measurement.detector_positions_mm.copy()
    top = float(min(sources[:, 2].min(), detectors[:, 2].min()))
    for positions, role in ((sources, "source"), (detectors, "detector")):
        positions[:, 2] -= top
        on_top = np.abs(positions[:, 2]) <= FACE_TOLERANCE_MM
        on_bottom = np.abs(positions[:, 2] - thickness_mm) <= FACE_TOLERANCE_MM
        if not np.all(on_top | on_bottom):
            worst = float(positions[~(on_top | on_bottom), 2][0])
            raise ValueError(
                f"a {role} lies {worst:.1f} mm below the top face, on neither face of a "
                f"{thickness_mm:g} mm slab; check --slab-thickness-mm"
            )
        positions[:, 2] = np.where(on_top, 0.0, thickness_mm)
    measured = measurement.values.mean(axis=0)
    reference = baseline.values.mean(axis=0)
    return DotInput(
        sources_mm=sources,
        detectors_mm=detectors,
        source_index=measurement.source_index - 1,
        detector_index=measurement.detector_index - 1,
        wavelength_index=measurement.wavelength_index - 1,
        wavelengths_nm=measurement.wavelengths_nm.copy(),
        log_ratio=np.log(measured / reference),
        baseline_intensity=reference,
        thickness_mm=float(thickness_mm),
        top_z_mm=top,
    )
