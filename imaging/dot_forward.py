"""Continuous-wave diffusion in a homogeneous slab: Green's functions with image sources.

The slab occupies 0 ≤ z ≤ T (z positive into the tissue; mm). Both faces carry the
extrapolated-boundary condition Φ = 0 at z = -z_e and z = T + z_e with z_e = 2 A D, A from the
Fresnel reflection at the tissue/outside refractive-index mismatch (Haskell et al. 1994), and
the boundary is met with the infinite series of image sources of Contini et al. (1997):

    Φ(r; r') = Σ_m [exp(-μ_eff r⁺_m) / (4π D r⁺_m) - exp(-μ_eff r⁻_m) / (4π D r⁻_m)],
    z⁺_m = 2m (T + 2 z_e) + z',   z⁻_m = 2m (T + 2 z_e) - 2 z_e - z',

with D = 1/(3 μs') and μ_eff = √(μa / D). A detector on a face measures the diffuse flux
through it, D |∂Φ/∂z| (Fick's law): the reflectance R(ρ) of Farrell et al. (1992) on the
source face, the transmittance T(ρ) of Contini et al. (1997) on the other. A source on a face is
the usual isotropic point source one transport mean free path (1/μs') inside.

References
----------
- T. J. Farrell, M. S. Patterson, B. Wilson, Med. Phys. 19, 879-888 (1992).
- D. Contini, F. Martelli, G. Zaccanti, Appl. Opt. 36, 4587-4599 (1997).
- R. C. Haskell et al., J. Opt. Soc. Am. A 11, 2727-2741 (1994).

Units: positions and distances mm, coefficients mm⁻¹, fluence and flux per unit source power
(mm⁻²).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike, NDArray

FACE_TOLERANCE_MM = 1e-6
"""A point closer than this to a face counts as lying on it, mm."""

QUADRATURE_NODES = 200
"""Gauss-Legendre nodes of the Fresnel angular averages."""

_SERIES_DECADES = 40.0
"""Image pairs are kept while their weight relative to the nearest pair, at most
exp(-μ_eff (|m| - 1) · period), stays above e^-40 (far below float64 resolution)."""


def _fresnel_reflectance(n_rel: float, cos_i: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unpolarised Fresnel reflectance for light leaving a medium of relative index n_rel."""
    sin_t = n_rel * np.sqrt(np.clip(1.0 - cos_i**2, 0.0, None))
    total = sin_t >= 1.0
    cos_t = np.sqrt(np.clip(1.0 - sin_t**2, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        r_s = ((n_rel * cos_i - cos_t) / (n_rel * cos_i + cos_t)) ** 2
        r_p = ((n_rel * cos_t - cos_i) / (n_rel * cos_t + cos_i)) ** 2
    return np.where(total, 1.0, 0.5 * (r_s + r_p))


@functools.lru_cache(maxsize=64)
def boundary_coefficient(n_tissue: float = 1.4, n_outside: float = 1.0) -> float:
    """Boundary coefficient A = (1 + R_J) / (1 - R_Φ) of the partial-current condition.

    R_Φ and R_J are the Fresnel reflectance averaged over angles with weights 2 sinθ cosθ and
    3 sinθ cos²θ (Haskell et al. 1994, eqs. 8-9), by Gauss-Legendre quadrature.

    Parameters
    ----------
    n_tissue, n_outside : float
        Refractive indices of the tissue and the medium outside.

    Returns
    -------
    float
        A, dimensionless (1 for matched indices, ≈ 2.95 for 1.4 against air).
    """
    if n_tissue <= 0 or n_outside <= 0:
        raise ValueError(f"refractive indices must be positive, got {n_tissue}, {n_outside}")
    nodes, weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    theta = 0.25 * np.pi * (nodes + 1.0)
    weights = 0.25 * np.pi * weights
    cos_i = np.cos(theta)
    reflect = _fresnel_reflectance(n_tissue / n_outside, cos_i)
    r_phi = np.sum(weights * 2.0 * np.sin(theta) * cos_i * reflect)
    r_j = np.sum(weights * 3.0 * np.sin(theta) * cos_i**2 * reflect)
    return float((1.0 + r_j) / (1.0 - r_phi))


def _check_optics(mua_per_mm: float, musp_per_mm: float, thickness_mm: float) -> None:
    if not (mua_per_mm > 0 and musp_per_mm > 0):
        raise ValueError(
            f"μa and μs' must be positive, got {mua_per_mm:g} and {musp_per_mm:g} mm⁻¹"
        )
    if not thickness_mm > 0:
        raise ValueError(f"slab thickness must be positive, got {thickness_mm:g} mm")


def _image_orders(mu_eff: float, period_mm: float, decades: float) -> NDArray[np.int64]:
    if not np.isfinite(period_mm):
        return np.zeros(1, dtype=np.int64)
    count = max(1, int(np.ceil(decades / (mu_eff * period_mm))))
    return np.arange(-count, count + 1)


def _image_terms(
    sources_mm: NDArray[np.float64],
    points_mm: NDArray[np.float64],
    mua_per_mm: float,
    musp_per_mm: float,
    thickness_mm: float,
    n_tissue: float,
    derivative: bool,
    min_distance_mm: float = 0.0,
    decades: float = _SERIES_DECADES,
) -> NDArray[np.float64]:
    """Σ over image pairs of Φ (or of D ∂Φ/∂z at the field point): shape (S, P).

    Distances below `min_distance_mm` are raised to it (finite value at the source itself).
    Each term is evaluated in place on (S, P) buffers; the constant factors 1/(4π D) (and
    -D for the derivative) are applied once to the sum.
    """
    diffusion = 1.0 / (3.0 * musp_per_mm)
    mu_eff = np.sqrt(mua_per_mm / diffusion)
    z_e = 2.0 * boundary_coefficient(n_tissue) * diffusion
    period = 2.0 * (thickness_mm + 2.0 * z_e)
    lateral_sq = np.sum((sources_mm[:, None, :2] - points_mm[None, :, :2]) ** 2, axis=-1)
    z_src = sources_mm[:, 2][:, None]
    z_pts = points_mm[None, :, 2]
    total = np.zeros(lateral_sq.shape)
    r = np.empty(lateral_sq.shape)
    inverse_r = np.empty(lateral_sq.shape)
    term = np.empty(lateral_sq.shape)
    dz = np.empty(lateral_sq.shape)
    for order in _image_orders(mu_eff, period, decades):
        shift = order * period if order else 0.0
        for sign, z_image in ((1.0, shift + z_src), (-1.0, shift - 2.0 * z_e - z_src)):
            np.subtract(z_pts, z_image, out=dz)
            np.multiply(dz, dz, out=r)
            r += lateral_sq
            np.sqrt(r, out=r)
            np.maximum(r, min_distance_mm, out=r)
            np.divide(1.0, r, out=inverse_r)
            np.multiply(r, -mu_eff, out=term)
            np.exp(term, out=term)
            term *= inverse_r  # exp(-μ_eff r) / r
            if derivative:  # ∂/∂z of the point: -dz (μ_eff + 1/r) / r · exp(-μ_eff r) / r
                term *= dz
                inverse_r += mu_eff
                term *= inverse_r
                np.divide(term, r, out=term)
            if sign > 0:
                total += term
            else:
                total -= term
    total *= (-diffusion if derivative else 1.0) / (4.0 * np.pi * diffusion)
    return total


def _as_points(points_mm: ArrayLike, name: str) -> NDArray[np.float64]:
    points = np.atleast_2d(np.asarray(points_mm, dtype=float))
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"{name} must be an (N, 3) array of positions in mm")
    return points


def slab_fluence(
    sources_mm: ArrayLike,
    points_mm: ArrayLike,
    mua_per_mm: float,
    musp_per_mm: float,
    thickness_mm: float,
    n_tissue: float = 1.4,
    min_distance_mm: float = 0.0,
    series_decades: float = _SERIES_DECADES,
) -> NDArray[np.float64]:
    """Fluence at field points from unit isotropic point sources inside the slab.

    Parameters
    ----------
    sources_mm, points_mm : array_like
        (S, 3) source and (P, 3) field positions, mm, with 0 ≤ z ≤ T (`np.inf` for a
        semi-infinite medium).
    mua_per_mm, musp_per_mm : float
        Background absorption and reduced scattering, mm⁻¹.
    thickness_mm : float
        Slab thickness T, mm.
    n_tissue : float
        Refractive index of the tissue (outside: 1).
    min_distance_mm : float
        Source-point distances are taken as at least this, mm: with (2/3) the radius of a
        sphere of one voxel's volume, the value at r → 0 is the Green's function averaged over
        that sphere (for μ_eff r ≪ 1) instead of the 1/r singularity.
    series_decades : float
        Image pairs whose weight relative to the nearest pair is below e^-series_decades are
        left out (20 suffices for results kept in float32).

    Returns
    -------
    ndarray
        (S, P) fluence per unit power, mm⁻². The Green's function is symmetric in its two
        arguments.
    """
    _check_optics(mua_per_mm, musp_per_mm, thickness_mm)
    sources = _as_points(sources_mm, "sources_mm")
    points = _as_points(points_mm, "points_mm")
    optics = (mua_per_mm, musp_per_mm, thickness_mm, n_tissue)
    return _image_terms(sources, points, *optics, False, min_distance_mm, series_decades)


def slab_face_flux(
    sources_mm: ArrayLike,
    detectors_mm: ArrayLike,
    mua_per_mm: float,
    musp_per_mm: float,
    thickness_mm: float,
    n_tissue: float = 1.4,
    min_distance_mm: float = 0.0,
    series_decades: float = _SERIES_DECADES,
) -> NDArray[np.float64]:
    """Diffuse flux leaving the slab at detectors on its faces, from internal point sources.

    Parameters
    ----------
    sources_mm : array_like
        (S, 3) unit point sources inside the slab, mm.
    detectors_mm : array_like
        (D, 3) detector positions on the faces (z = 0 or z = T), mm.
    mua_per_mm, musp_per_mm, thickness_mm, n_tissue, min_distance_mm, series_decades
        As in `slab_fluence`.

    Returns
    -------
    ndarray
        (S, D) outgoing flux D |∂Φ/∂z| per unit power, mm⁻²: the reflectance R(ρ) on the
        z = 0 face, the transmittance T(ρ) on the z = T face.

    Raises
    ------
    ValueError
        If a detector is not on a face.
    """
    _check_optics(mua_per_mm, musp_per_mm, thickness_mm)
    sources = _as_points(sources_mm, "sources_mm")
    detectors = _as_points(detectors_mm, "detectors_mm")
    on_top = np.abs(detectors[:, 2]) <= FACE_TOLERANCE_MM
    on_bottom = np.abs(detectors[:, 2] - thickness_mm) <= FACE_TOLERANCE_MM
    if not np.all(on_top | on_bottom):
        raise ValueError("every detector must lie on a slab face (z = 0 or z = thickness)")
    optics = (mua_per_mm, musp_per_mm, thickness_mm, n_tissue)
    flux = _image_terms(sources, detectors, *optics, True, min_distance_mm, series_decades)
    return np.where(on_top[None, :], flux, -flux)


def effective_sources_mm(
    sources_mm: ArrayLike, musp_per_mm: float, thickness_mm: float
) -> NDArray[np.float64]:
    """Move sources on a face one transport mean free path (1/μs') into the slab, mm."""
    sources = _as_points(sources_mm, "sources_mm").copy()
    depth = 1.0 / musp_per_mm
    on_top = np.abs(sources[:, 2]) <= FACE_TOLERANCE_MM
    on_bottom = np.abs(sources[:, 2] - thickness_mm) <= FACE_TOLERANCE_MM
    if not np.all(on_top | on_bottom):
        raise ValueError("every source must lie on a slab face (z = 0 or z = thickness)")
    sources[on_top, 2] = depth
    sources[on_bottom, 2] = thickness_mm - depth
    return sources


def cw_measurements(
    sources_mm: ArrayLike,
    detectors_mm: ArrayLike,
    source_index: ArrayLike,
    detector_index: ArrayLike,
    mua_per_mm: float,
    musp_per_mm: float,
    thickness_mm: float,
    n_tissue: float = 1.4,
) -> NDArray[np.float64]:
    """Continuous-wave signal of each source-detector pair of a homogeneous slab.

    Parameters
    ----------
    sources_mm, detectors_mm : array_like
        (S, 3) and (D, 3) probe positions on the slab faces, mm.
    source_index, detector_index : array_like
        (M,) 0-based indices into the probe arrays: one pair per measurement.
    mua_per_mm, musp_per_mm, thickness_mm, n_tissue
        As in `slab_fluence`.

    Returns
    -------
    ndarray
        (M,) flux at the detector per unit source power, mm⁻².
    """
    sources = effective_sources_mm(sources_mm, musp_per_mm, thickness_mm)
    flux = slab_face_flux(sources, detectors_mm, mua_per_mm, musp_per_mm, thickness_mm, n_tissue)
    pairs: NDArray[np.float64] = flux[np.asarray(source_index), np.asarray(detector_index)]
    return pairs
