"""Finite-volume diffusion phantom: test data for diffuse optical tomography.

An independent forward model for the DOT reconstruction (which uses analytic image-source
Green's functions in a laterally infinite slab): here the steady diffusion equation

    -∇·(D ∇Φ) + μa(r) Φ = q(r),   D = 1 / (3 μs'),

is discretised by vertex-centred finite volumes on a uniform grid over a *finite* box
(x, y centred on 0, 0 ≤ z ≤ T, mm), with the partial-current (Robin) condition
Φ + 2 A D ∂Φ/∂n = 0 on all six faces, A from the refractive-index mismatch (Contini's
polynomial fit; the reconstruction integrates the Fresnel reflectance instead). The detected
flux on a face is the partial current Φ / (2 A). Absorbing spheres are rasterised with their
partial volume in each control volume. The sparse system is symmetric positive definite and is
solved for all sources at once by block conjugate gradients with a Jacobi preconditioner.

Two validation cases follow the DOT acceptance tests: a transmission slab (25 sources on top,
25 detectors below, a 10 mm sphere of twice the background μa at mid-depth) and a reflectance
pad (probes on one face, separations up to 40 mm, a 12 mm lesion 15 mm deep with more
haemoglobin at lower saturation, two wavelengths).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from imaging.chromophores import absorption_per_mm, reduced_scattering_per_mm

PARTIAL_VOLUME_SAMPLES = 4
"""Sub-samples per axis used to rasterise a sphere into a control volume."""


@dataclass(frozen=True)
class Sphere:
    """An absorbing sphere.

    Parameters
    ----------
    center_mm : tuple of float
        Centre (x, y, z), mm; z is depth below the top face.
    radius_mm : float
        Radius, mm.
    mua_per_mm : tuple of float
        Absorption inside, one value per wavelength, mm⁻¹.
    """

    center_mm: tuple[float, float, float]
    radius_mm: float
    mua_per_mm: tuple[float, ...]


@dataclass(frozen=True)
class SlabPhantom:
    """A finite box of homogeneous scattering tissue with absorbing spheres.

    Parameters
    ----------
    width_mm : float
        Lateral extent in x and y (the box spans ±width/2), mm.
    thickness_mm : float
        Extent in z, mm.
    mua_per_mm, musp_per_mm : tuple of float
        Background absorption and reduced scattering per wavelength, mm⁻¹.
    spheres : tuple of Sphere
        Inclusions (absorption only).
    n_tissue : float
        Refractive index of the tissue (outside: 1).
    """

    width_mm: float
    thickness_mm: float
    mua_per_mm: tuple[float, ...]
    musp_per_mm: tuple[float, ...]
    spheres: tuple[Sphere, ...] = ()
    n_tissue: float = 1.4


@dataclass(frozen=True)
class DotCase:
    """Probe layout, measurements and ground truth of one simulated DOT acquisition.

    ``baseline`` and ``measurement`` are (frames, M) noisy detector fluxes (mm⁻² per unit
    source power) without and with the inclusions; indices are 0-based.
    """

    source_positions_mm: NDArray[np.float64]
    detector_positions_mm: NDArray[np.float64]
    source_index: NDArray[np.int64]
    detector_index: NDArray[np.int64]
    wavelength_index: NDArray[np.int64]
    wavelengths_nm: NDArray[np.float64]
    baseline: NDArray[np.float64]
    measurement: NDArray[np.float64]
    phantom: SlabPhantom
    truth: dict[str, float]


def boundary_coefficient(n_tissue: float) -> float:
    """A of the partial-current condition from the polynomial fit of Contini et al. (1997),
    eq. 3.6 (valid for tissue/air index ratios 1 < n < 1.6)."""
    if not 1.0 < n_tissue < 1.6:
        raise ValueError(f"the phantom supports refractive indices 1-1.6, got {n_tissue}")
    coefficients = (
        504.332889,
        -2641.00214,
        5923.699064,
        -7376.355814,
        5507.53041,
        -2463.357945,
        610.956547,
        -64.8047,
    )
    return float(np.polynomial.polynomial.polyval(n_tissue, coefficients))


def _axis(low: float, high: float, step: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    count = round((high - low) / step) + 1
    nodes = np.linspace(low, high, count)
    h = nodes[1] - nodes[0]
    widths = np.full(count, h)
    widths[[0, -1]] = h / 2
    return nodes, widths


def _stiffness_1d(count: int, h: float) -> sp.csr_matrix:
    main = np.full(count, 2.0)
    main[[0, -1]] = 1.0
    return sp.diags([-np.ones(count - 1), main, -np.ones(count - 1)], [-1, 0, 1]) / h


def _ends(count: int) -> sp.dia_matrix:
    ends = np.zeros(count)
    ends[[0, -1]] = 1.0
    return sp.diags(ends)


def _system(
    axes: list[NDArray[np.float64]],
    widths: list[NDArray[np.float64]],
    mua_nodes: NDArray[np.float64],
    diffusion: float,
    a_coef: float,
) -> sp.csr_matrix:
    """D·stiffness + μa·mass + Robin boundary, assembled with Kronecker products."""
    wx, wy, wz = (sp.diags(w) for w in widths)
    kx, ky, kz = (_stiffness_1d(len(a), a[1] - a[0]) for a in axes)
    bx, by, bz = (_ends(len(a)) for a in axes)
    kron = sp.kron
    stiffness = kron(kron(kx, wy), wz) + kron(kron(wx, ky), wz) + kron(kron(wx, wy), kz)
    boundary = kron(kron(bx, wy), wz) + kron(kron(wx, by), wz) + kron(kron(wx, wy), bz)
    volume = np.einsum("i,j,k->ijk", *widths).ravel()
    return (
        diffusion * stiffness + boundary / (2.0 * a_coef) + sp.diags(mua_nodes.ravel() * volume)
    ).tocsr()


def _interpolation(axes: list[NDArray[np.float64]], points: NDArray[np.float64]) -> sp.csr_matrix:
    """(P, N) trilinear interpolation from grid nodes to points (transpose: spreading)."""
    shape = tuple(len(a) for a in axes)
    index = []
    frac = []
    for dim, axis in enumerate(axes):
        h = axis[1] - axis[0]
        position = np.clip((points[:, dim] - axis[0]) / h, 0.0, len(axis) - 1 - 1e-9)
        base = np.floor(position).astype(int)
        index.append(base)
        frac.append(position - base)
    rows, cols, vals = [], [], []
    for corner in np.ndindex(2, 2, 2):
        weight = np.ones(len(points))
        idx = []
        for dim, bit in enumerate(corner):
            weight = weight * (frac[dim] if bit else 1.0 - frac[dim])
            idx.append(np.minimum(index[dim] + bit, shape[dim] - 1))
        rows.append(np.arange(len(points)))
        cols.append(np.ravel_multi_index(tuple(idx), shape))
        vals.append(weight)
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(points), int(np.prod(shape))),
    )


def _sphere_fraction(
    axes: list[NDArray[np.float64]], widths: list[NDArray[np.float64]], sphere: Sphere
) -> NDArray[np.float64]:
    """Fraction of each node's control volume inside the sphere, shape of the grid."""
    grids = np.meshgrid(*axes, indexing="ij")
    width_grids = np.meshgrid(*widths, indexing="ij")
    fraction = np.zeros(grids[0].shape)
    center = np.asarray(sphere.center_mm)
    near = np.ones(grids[0].shape, dtype=bool)
    for dim in range(3):
        near &= np.abs(grids[dim] - center[dim]) <= sphere.radius_mm + axes[dim][1] - axes[dim][0]
    offsets = (np.arange(PARTIAL_VOLUME_SAMPLES) + 0.5) / PARTIAL_VOLUME_SAMPLES - 0.5
    sub = np.stack(np.meshgrid(offsets, offsets, offsets, indexing="ij"), -1).reshape(-1, 3)
    nodes = np.stack([g[near] for g in grids], -1)
    sizes = np.stack([w[near] for w in width_grids], -1)
    low = np.stack([a[0] for a in axes])
    high = np.stack([a[-1] for a in axes])
    # control volumes of boundary nodes extend only inward: centre them on their half cell
    centres = np.clip(nodes, low + sizes / 2, high - sizes / 2)
    samples = centres[:, None, :] + sub[None, :, :] * sizes[:, None, :]
    inside = np.sum((samples - center) ** 2, axis=-1) <= sphere.radius_mm**2
    fraction[near] = inside.mean(axis=1)
    return fraction


def _block_pcg(
    matrix: sp.csr_matrix, rhs: NDArray[np.float64], tolerance: float, max_iterations: int
) -> NDArray[np.float64]:
    """Conjugate gradients for all right-hand sides at once (Jacobi preconditioned)."""
    inverse_diag = 1.0 / matrix.diagonal()
    x = np.zeros_like(rhs)
    residual = rhs.copy()
    z = inverse_diag[:, None] * residual
    direction = z.copy()
    rz = np.sum(residual * z, axis=0)
    target = tolerance * np.linalg.norm(rhs, axis=0)
    for _ in range(max_iterations):
        product = matrix @ direction
        alpha = rz / np.sum(direction * product, axis=0)
        x += alpha * direction
        residual -= alpha * product
        if np.all(np.linalg.norm(residual, axis=0) <= target):
            return x
        z = inverse_diag[:, None] * residual
        rz_new = np.sum(residual * z, axis=0)
        direction = z + (rz_new / rz) * direction
        rz = rz_new
    raise RuntimeError(f"diffusion solver did not converge in {max_iterations} iterations")


def fd_measurements(
    phantom: SlabPhantom,
    sources_mm: NDArray[np.float64],
    detectors_mm: NDArray[np.float64],
    source_index: NDArray[np.int64],
    detector_index: NDArray[np.int64],
    wavelength_index: NDArray[np.int64],
    step_mm: float,
    with_spheres: bool = True,
    tolerance: float = 1e-14,
) -> NDArray[np.float64]:
    """Detector flux of each measurement, by the finite-volume solver.

    Parameters
    ----------
    phantom : SlabPhantom
        Tissue; probes must lie on its top (z = 0) or bottom (z = T) face.
    sources_mm, detectors_mm : ndarray
        (S, 3) and (D, 3) probe positions, mm.
    source_index, detector_index, wavelength_index : ndarray
        (M,) 0-based indices of each measurement.
    step_mm : float
        Grid spacing, mm (the box dimensions should be multiples of it).
    with_spheres : bool
        False gives the homogeneous baseline.
    tolerance : float
        Relative residual at which conjugate gradients stop.

    Returns
    -------
    ndarray
        (M,) flux per unit source power, mm⁻².
    """
    half = phantom.width_mm / 2
    grids = [_axis(-half, half, step_mm), _axis(-half, half, step_mm)]
    grids.append(_axis(0.0, phantom.thickness_mm, step_mm))
    axes = [g[0] for g in grids]
    widths = [g[1] for g in grids]
    a_coef = boundary_coefficient(phantom.n_tissue)
    fractions = [_sphere_fraction(axes, widths, s) for s in phantom.spheres] if with_spheres else []
    result = np.empty(len(source_index))
    for wl in np.unique(wavelength_index):
        mua0 = phantom.mua_per_mm[wl]
        musp = phantom.musp_per_mm[wl]
        mua = np.full(tuple(len(a) for a in axes), mua0)
        for sphere, fraction in zip(phantom.spheres, fractions, strict=False):
            mua += fraction * (sphere.mua_per_mm[wl] - mua0)
        matrix = _system(axes, widths, mua, 1.0 / (3.0 * musp), a_coef)
        rows = np.flatnonzero(wavelength_index == wl)
        used = np.unique(source_index[rows])
        points = np.asarray(sources_mm, dtype=float)[used].copy()
        depth = 1.0 / musp
        points[:, 2] = np.where(points[:, 2] < phantom.thickness_mm / 2, depth, -depth)
        points[:, 2] += np.where(points[:, 2] < 0, phantom.thickness_mm, 0.0)
        rhs = _interpolation(axes, points).T.toarray()
        fluence = _block_pcg(matrix, rhs, tolerance, 20000)
        readout = _interpolation(axes, np.asarray(detectors_mm, dtype=float))
        flux = (readout @ fluence) / (2.0 * a_coef)  # (D, used sources)
        column = np.searchsorted(used, source_index[rows])
        result[rows] = flux[detector_index[rows], column]
    return result


def _noisy(
    signal: NDArray[np.float64], frames: int, noise: float, rng: np.random.Generator
) -> NDArray[np.float64]:
    return signal[None, :] * (1.0 + noise * rng.standard_normal((frames, signal.size)))


def _probe_grid(count: int, pitch_mm: float, z_mm: float) -> NDArray[np.float64]:
    offsets = (np.arange(count) - (count - 1) / 2) * pitch_mm
    x, y = np.meshgrid(offsets, offsets, indexing="ij")
    return np.column_stack([x.ravel(), y.ravel(), np.full(x.size, z_mm)])


def transmission_slab_case(
    step_mm: float = 1.5,
    width_mm: float = 120.0,
    thickness_mm: float = 60.0,
    probes_per_side: int = 5,
    pitch_mm: float = 20.0,
    noise: float = 0.01,
    frames: int = 2,
    seed: int = 0,
) -> DotCase:
    """Transmission slab: sources on top, detectors below, a 10 mm sphere of 2× μa.

    Parameters
    ----------
    step_mm : float
        Finite-volume grid spacing, mm.
    width_mm, thickness_mm : float
        Box size, mm.
    probes_per_side : int
        Sources and detectors each form a square grid of this many per side.
    pitch_mm : float
        Probe spacing, mm.
    noise : float
        Relative Gaussian noise per frame (fraction, e.g. 0.01 = 1 %).
    frames : int
        Time frames written per file.
    seed : int
        Noise seed.

    Returns
    -------
    DotCase
        All source-detector pairs at 800 nm; truth has the sphere centre, radius and contrast.
    """
    mua, musp = 0.01, 1.0
    center = (6.0, -4.0, thickness_mm / 2)
    sphere = Sphere(center, 5.0, (2.0 * mua,))
    phantom = SlabPhantom(width_mm, thickness_mm, (mua,), (musp,), (sphere,))
    sources = _probe_grid(probes_per_side, pitch_mm, 0.0)
    detectors = _probe_grid(probes_per_side, pitch_mm, thickness_mm)
    s_idx, d_idx = (
        i.ravel()
        for i in np.meshgrid(np.arange(len(sources)), np.arange(len(detectors)), indexing="ij")
    )
    w_idx = np.zeros_like(s_idx)
    return _simulate(
        phantom,
        sources,
        detectors,
        s_idx,
        d_idx,
        w_idx,
        np.array([800.0]),
        step_mm,
        noise,
        frames,
        seed,
        {
            "x_mm": center[0],
            "y_mm": center[1],
            "z_mm": center[2],
            "radius_mm": 5.0,
            "contrast": 2.0,
        },
    )


def reflectance_pad_case(
    step_mm: float = 1.5,
    width_mm: float = 100.0,
    thickness_mm: float = 50.0,
    noise: float = 0.01,
    frames: int = 2,
    seed: int = 1,
) -> DotCase:
    """Reflectance pad: a hypoxic lesion (12 mm, centre 15 mm deep) seen at 760 and 850 nm.

    Sources on a 5×5 grid (10 mm pitch), detectors on the interleaved 4×4 grid, all pairs up to
    40 mm apart. Background: HbO2 35 µM, Hb 15 µM (HbT 50 µM, StO2 70 %), water 70 %; lesion:
    HbO2 40 µM, Hb 60 µM (HbT 100 µM, StO2 40 %); μs' = 1.2 (λ/500 nm)^-1.3 mm⁻¹.

    Parameters are as in `transmission_slab_case`.
    """
    wavelengths = np.array([760.0, 850.0])
    water = 0.7
    bg = absorption_per_mm(wavelengths, 35.0, 15.0, water)
    lesion = absorption_per_mm(wavelengths, 40.0, 60.0, water)
    musp = reduced_scattering_per_mm(wavelengths, 1.2, 1.3)
    center = (4.0, 3.0, 15.0)
    sphere = Sphere(center, 6.0, tuple(lesion))
    phantom = SlabPhantom(width_mm, thickness_mm, tuple(bg), tuple(musp), (sphere,))
    sources = _probe_grid(5, 10.0, 0.0)
    detectors = _probe_grid(4, 10.0, 0.0)
    s_idx, d_idx = (
        i.ravel()
        for i in np.meshgrid(np.arange(len(sources)), np.arange(len(detectors)), indexing="ij")
    )
    separation = np.linalg.norm(sources[s_idx] - detectors[d_idx], axis=1)
    keep = separation <= 40.0
    s_idx, d_idx = np.tile(s_idx[keep], 2), np.tile(d_idx[keep], 2)
    w_idx = np.repeat([0, 1], keep.sum())
    return _simulate(
        phantom,
        sources,
        detectors,
        s_idx,
        d_idx,
        w_idx,
        wavelengths,
        step_mm,
        noise,
        frames,
        seed,
        {
            "x_mm": center[0],
            "y_mm": center[1],
            "z_mm": center[2],
            "radius_mm": 6.0,
            "hbt_um": 100.0,
            "sto2_percent": 40.0,
            "background_hbt_um": 50.0,
            "background_sto2_percent": 70.0,
            "water_fraction": water,
        },
    )


def _simulate(
    phantom: SlabPhantom,
    sources: NDArray[np.float64],
    detectors: NDArray[np.float64],
    s_idx: NDArray[np.int64],
    d_idx: NDArray[np.int64],
    w_idx: NDArray[np.int64],
    wavelengths: NDArray[np.float64],
    step_mm: float,
    noise: float,
    frames: int,
    seed: int,
    truth: dict[str, float],
) -> DotCase:
    """Baseline and measurement fluxes with multiplicative Gaussian noise per frame."""
    args = (sources, detectors, s_idx, d_idx, w_idx, step_mm)
    baseline = fd_measurements(phantom, *args, with_spheres=False)
    measurement = fd_measurements(phantom, *args, with_spheres=True)
    rng = np.random.default_rng(seed)
    return DotCase(
        sources,
        detectors,
        s_idx,
        d_idx,
        w_idx,
        wavelengths,
        _noisy(baseline, frames, noise, rng),
        _noisy(measurement, frames, noise, rng),
        phantom,
        truth,
    )
