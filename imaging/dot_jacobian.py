"""Sensitivity of continuous-wave slab measurements to voxel absorption (Rytov approximation).

For a measurement from source s to detector d, the Rytov data y = ln(I / I₀) respond to a
small absorption change δμa(r) as

    y ≈ -Σ_v Φ(r_s, r_v) F(r_v, r_d) ΔV / I₀(s, d) · δμa_v,

with Φ the slab Green's function from the (effective) source, F the flux leaving at the
detector from a unit source at the voxel (reciprocity) and I₀ the homogeneous signal
(`imaging.dot_forward`). All sources and detectors are evaluated once against all voxels, so
the cost is (S + D) × V Green's function evaluations, not M × V. A voxel centre on an
(effective) source or detector would make 1/r infinite; distances are floored at 2/3 of the
radius of a sphere of one voxel's volume, where the point value equals the voxel-averaged
Green's function (`imaging.dot_forward.slab_fluence`).

The Green's functions are computed in float64 and their products in the Jacobian's type,
float32 by default (7 significant digits, far below the model error of a few per cent), stored
in column-major (Fortran) order so that the solver's column gathers are contiguous copies.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from imaging.dot_forward import effective_sources_mm, slab_face_flux, slab_fluence

JACOBIAN_SERIES_DECADES = 20.0
"""Image pairs below e^-20 (2e-9) of the nearest pair are left out of the voxel Green's
functions: far below the float32 resolution (6e-8) of the Jacobian they build."""

BLOCK_ELEMENTS = 1 << 20
"""Voxel blocks of the product are sized to hold about this many float64 values per matrix."""


def rytov_jacobian(
    sources_mm: ArrayLike,
    detectors_mm: ArrayLike,
    source_index: ArrayLike,
    detector_index: ArrayLike,
    voxels_mm: ArrayLike,
    voxel_volume_mm3: float,
    mua_per_mm: float,
    musp_per_mm: float,
    thickness_mm: float,
    n_tissue: float = 1.4,
    dtype: DTypeLike = np.float32,
) -> NDArray[np.floating]:
    """∂ ln I / ∂μa for every measurement and voxel, at one wavelength.

    Parameters
    ----------
    sources_mm, detectors_mm : array_like
        (S, 3) and (D, 3) probe positions on the slab faces, mm.
    source_index, detector_index : array_like
        (M,) 0-based probe indices of each measurement.
    voxels_mm : array_like
        (V, 3) voxel centres inside the slab, mm.
    voxel_volume_mm3 : float
        Volume of one voxel, mm³.
    mua_per_mm, musp_per_mm : float
        Background optical properties at this wavelength, mm⁻¹.
    thickness_mm : float
        Slab thickness, mm.
    n_tissue : float
        Refractive index of the tissue.
    dtype : dtype
        Floating type of the result (float32 halves memory and solver time).

    Returns
    -------
    ndarray
        (M, V) Jacobian in Fortran order, mm (ln-intensity change per mm⁻¹ of voxel
        absorption); negative.
    """
    s_idx = np.asarray(source_index, dtype=np.int64)
    d_idx = np.asarray(detector_index, dtype=np.int64)
    voxels = np.asarray(voxels_mm, dtype=float)
    sources = effective_sources_mm(sources_mm, musp_per_mm, thickness_mm)
    floor = 2.0 / 3.0 * (3.0 * voxel_volume_mm3 / (4.0 * np.pi)) ** (1.0 / 3.0)
    optics = (mua_per_mm, musp_per_mm, thickness_mm, n_tissue, floor)
    used_s, s_pos = np.unique(s_idx, return_inverse=True)
    used_d, d_pos = np.unique(d_idx, return_inverse=True)
    detectors = np.asarray(detectors_mm, dtype=float)[used_d]
    truncated = (*optics, JACOBIAN_SERIES_DECADES)
    from_source = np.ascontiguousarray(slab_fluence(sources[used_s], voxels, *truncated).T)
    to_detector = slab_face_flux(voxels, detectors, *truncated)  # (V, D')
    direct = slab_face_flux(sources[used_s], detectors, *optics[:4])[s_pos, d_pos]  # (M,)
    # Each probe's Green's function scaled to a peak of 1 before the cast, so that float32
    # neither underflows nor overflows; the scales go into each measurement's factor.
    source_peak = from_source.max(axis=0)
    detector_peak = to_detector.max(axis=0)
    from_source = (from_source / source_peak).astype(dtype)
    to_detector = (to_detector / detector_peak).astype(dtype)
    scale = (-voxel_volume_mm3 * source_peak[s_pos] * detector_peak[d_pos] / direct).astype(dtype)
    jacobian = np.empty((s_idx.size, voxels.shape[0]), dtype=dtype, order="F")
    block = max(1, BLOCK_ELEMENTS // max(1, s_idx.size))
    for start in range(0, voxels.shape[0], block):
        part = slice(start, start + block)
        product = np.take(from_source[part], s_pos, axis=1)  # (block, M)
        product *= np.take(to_detector[part], d_pos, axis=1)
        product *= scale
        jacobian[:, part] = product.T
    return jacobian
