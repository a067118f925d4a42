"""Regularised DOT inversion: sensitivity compensation, automatic Tikhonov parameter,
iteratively re-weighted constrained Tikhonov, spectral (chromophore) unknowns.

The linearised (Rytov) problem y = J x is underdetermined (M measurements ≪ N unknowns), so
every solve works in measurement space: with the depth-compensated Jacobian J̃ = J W,

    x = W J̃ᵀ (J̃ J̃ᵀ + λ I)⁻¹ y,

an M × M system (Tikhonov minimum-norm form). W = diag(w(z)) with
w(z) = (s(z) + β s_max)^-γ, s(z) the RMS sensitivity (column norm of J) of depth layer z:
without it the minimum-norm solution pulls every absorber towards the probes.
λ = α · max eig(J̃ J̃ᵀ); α is chosen by generalised cross-validation (Golub, Heath & Wahba
1979) or the L-curve corner (Hansen 1992) unless given.

`remove_wavelength_offsets` projects a common factor per wavelength (source power or detector
gain drift between measurement and baseline, a pure offset of ln(I / I₀)) out of the data and
the Jacobian before any solve, so such a drift cannot be reconstructed into absorption.

`gauss_newton_reconstruct` continues with steps of a minimum-support functional
(iteratively reweighted prior) under a non-negative contrast constraint (absorption or total
haemoglobin may only rise, as for a lesion), which keeps compact inclusions compact. Every step
uses the same Jacobian, computed once at the homogeneous background (Rytov linearisation): the
Gauss–Newton name refers to the re-weighted normal equations, the forward model is not
re-linearised.

Cost: every solve forms one M × M kernel J D² Jᵀ (BLAS syrk over blocks of columns of J, the
blocks' products summed in float64), so nothing of size M × N is copied. A float32 Jacobian
(`imaging.dot_jacobian.rytov_jacobian`) is used as it is. The linear step's kernel is formed in
float64 and eigendecomposed once: that serves every α of the GCV/L-curve search and the linear
solution. The re-weighted steps form theirs in float32 when α allows
(`SINGLE_PRECISION_ALPHA`) and factor them (Cholesky) in float64. The solution x = D² Jᵀ c needs no
weighted copy of J either.

With ≥ 2 wavelengths the unknowns are ΔHbO2 and ΔHb directly (spectral constraint,
Li et al., Opt. Lett. 29, 256 (2004)): J_λ is multiplied by the Prahl extinction of each
chromophore (`imaging.chromophores`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike, DTypeLike, NDArray
from scipy.linalg.blas import get_blas_funcs
from threadpoolctl import threadpool_limits

from imaging.chromophores import (
    LN10,
    PER_CM_PER_M_TIMES_UM_TO_PER_MM,
    hemoglobin_extinction,
    water_absorption_per_mm,
)

SENSITIVITY_FLOOR = 0.01
"""β: layer sensitivities are floored at this fraction of the largest before inversion."""

COMPENSATION_POWER = 0.5
"""γ: exponent of the depth compensation."""

ALPHA_GRID = np.logspace(-5, 0, 101)
"""Candidate relative regularisation parameters α searched by GCV and the L-curve. The lower
bound keeps noise-free or offset-dominated data from driving λ to (numerically) zero, where the
minimum-norm solution explodes."""

DEFAULT_STEPS = 12
"""Re-weighted steps of the constrained reconstruction (the slab contrast needs ≈ 12 once
the per-wavelength gain offset is projected out)."""

SUPPORT_FLOOR = 0.05
"""ε of the minimum-support weights (relative to the peak contrast)."""

BLAS_THREADS = 1
"""BLAS threads of a solve. Its dense operations are M × M (M ≤ a few thousand) or blocks of
columns: on the two cores of the instrument, shared with acquisition, OpenBLAS's own threads
wait on each other for longer than they save (5-10× slower when the cores are busy)."""

SINGLE_PRECISION_ALPHA = 1e-3
"""The re-weighted steps form their kernels in float32 when α is at least this: the rounding
(about 1e-6 of the largest eigenvalue) is then ≤ 0.1 % of λ. The linear step's kernel, whose
eigenvalues choose α (GCV curves are flat, small perturbations move their minimum), and the
steps of a smaller α use float64."""

BLOCK_ELEMENTS = 1 << 21
"""Columns of the Jacobian are processed in blocks of about this many values."""

LambdaRule = Literal["gcv", "lcurve"]


@dataclass(frozen=True)
class Reconstruction:
    """Result of an inversion.

    Parameters
    ----------
    x : ndarray
        (blocks × V,) unknowns, block-major (δμa in mm⁻¹, or ΔHbO2 then ΔHb in µM).
    alpha : float
        Relative regularisation parameter used (λ / max eigenvalue).
    steps : int
        Gauss–Newton steps taken (1 for the linear solve).
    residual_norm : float
        ‖y - J x‖ of the data.
    """

    x: NDArray[np.float64]
    alpha: float
    steps: int
    residual_norm: float


def depth_weights(
    jacobian: NDArray[np.float64],
    grid_shape: tuple[int, int, int],
    floor: float = SENSITIVITY_FLOOR,
    power: float = COMPENSATION_POWER,
) -> NDArray[np.float64]:
    """Depth-dependent sensitivity compensation w(z) = 1 / (s(z) + β max s)^γ.

    Parameters
    ----------
    jacobian : ndarray
        (M, blocks × V) Jacobian; blocks share the voxel grid.
    grid_shape : tuple of int
        (nx, ny, nz) with V = nx·ny·nz in C order (z fastest).
    floor : float
        β, relative floor of the layer sensitivity.
    power : float
        γ: 1 equalises the layers' sensitivity, 0 switches compensation off.

    Returns
    -------
    ndarray
        (blocks × V,) column weights, scaled so that the largest is 1.
    """
    voxels = int(np.prod(grid_shape))
    blocks = jacobian.shape[1] // voxels
    column_norm = np.sqrt(_column_sums_of_squares(jacobian)).reshape(blocks, *grid_shape)
    layer = np.sqrt(np.mean(column_norm**2, axis=(0, 1, 2)))  # (nz,)
    weight = (layer + floor * layer.max()) ** -power
    weight /= weight.max()
    return np.tile(np.broadcast_to(weight, grid_shape).ravel(), blocks)


def _float_matrix(values: ArrayLike) -> NDArray[np.floating]:
    """A float32 or float64 array as given (no copy), anything else as float64."""
    array = np.asarray(values)
    return array if array.dtype in (np.float32, np.float64) else array.astype(np.float64)


def _column_blocks(rows: int, columns: int) -> Iterator[slice]:
    """Slices of about `BLOCK_ELEMENTS` values of an (rows, columns) matrix, by columns."""
    width = max(1, BLOCK_ELEMENTS // max(1, rows))
    for start in range(0, columns, width):
        yield slice(start, min(start + width, columns))


def _column_sums_of_squares(matrix: NDArray[np.floating]) -> NDArray[np.float64]:
    """Σ_i A_ij² for every column, accumulated in float64."""
    result = np.empty(matrix.shape[1])
    for part in _column_blocks(*matrix.shape):
        block = matrix[:, part].astype(np.float64)
        result[part] = np.einsum("ij,ij->j", block, block)
    return result


def _weighted_kernel(
    jacobian: NDArray[np.floating],
    weights: NDArray[np.float64],
    dtype: DTypeLike | None = None,
) -> NDArray[np.float64]:
    """K = J diag(w²) Jᵀ (M × M, float64) over the columns with w ≠ 0, by blocks of columns.

    Each block is a BLAS syrk in `dtype` (default float64; float32 rounds each block's sum to
    about 1e-6 of the largest eigenvalue), the blocks summed in float64.
    """
    dtype = np.float64 if dtype is None else dtype
    rows = jacobian.shape[0]
    columns = np.flatnonzero(weights)
    every = columns.size == jacobian.shape[1]
    syrk = get_blas_funcs("syrk", dtype=dtype)
    upper = np.zeros((rows, rows))
    for part in _column_blocks(rows, columns.size):
        index = part if every else columns[part]
        block = np.asfortranarray(jacobian[:, index], dtype=dtype)
        block *= weights[index].astype(dtype)
        upper += syrk(1.0, block)  # upper triangle of block · blockᵀ
    return np.triu(upper) + np.triu(upper, 1).T


def _back_project(
    jacobian: NDArray[np.floating], coefficients: NDArray[np.float64], weights: NDArray[np.float64]
) -> NDArray[np.float64]:
    """x = diag(w²) Jᵀ c, float64."""
    projected = jacobian.T @ coefficients.astype(jacobian.dtype)
    return weights**2 * projected.astype(np.float64)


def _residual_norm(
    jacobian: NDArray[np.floating], data: NDArray[np.float64], x: NDArray[np.float64]
) -> float:
    """‖y - J x‖."""
    return float(np.linalg.norm(data - jacobian @ x.astype(jacobian.dtype)))


def remove_wavelength_offsets(
    jacobian: ArrayLike, data: ArrayLike, groups: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Project a free additive offset per group (wavelength) out of the data and the Jacobian.

    A common factor K_λ on every measurement of one wavelength (source power, detector gain or
    coupling drift between measurement and baseline) adds ln K_λ to all of its ln(I / I₀).
    Subtracting each group's mean from its data and from each Jacobian column is the same as
    solving for an unregularised offset per group: the result no longer depends on K_λ. The
    price is the group-mean of the absorption signal, which a compact inclusion hardly uses.

    Parameters
    ----------
    jacobian : array_like
        (M, N) Jacobian.
    data : array_like
        (M,) data, ln(I / I₀).
    groups : array_like
        (M,) integer group (wavelength) of each measurement.

    Returns
    -------
    (jacobian, data) : tuple of ndarray
        Centred copies, each group with zero mean (a float32 Jacobian stays float32, in its
        memory order; the group means are taken in float64).

    Raises
    ------
    ValueError
        If a group has fewer than two measurements (nothing would be left of it).
    """
    source = _float_matrix(jacobian)
    y = np.array(data, dtype=float)
    labels, group, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    if source.ndim != 2 or y.shape != (source.shape[0],) or group.shape != y.shape:
        raise ValueError(f"shapes do not match: Jacobian {source.shape}, data {y.shape}")
    if np.any(counts < 2):
        raise ValueError(
            f"group {labels[np.argmin(counts)]} has a single measurement; a common gain cannot "
            "be separated from absorption"
        )
    y -= (np.bincount(group, weights=y) / counts)[group]
    membership = (group == np.arange(labels.size)[:, np.newaxis]) / counts[:, np.newaxis]
    fortran = source.flags.f_contiguous and not source.flags.c_contiguous
    j = np.empty(source.shape, dtype=source.dtype, order="F" if fortran else "C")
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        for part in _column_blocks(*source.shape):  # one pass: read, centre in float64, write
            block = source[:, part].astype(np.float64)
            block -= (membership @ block)[group]
            j[:, part] = block
    return j, y


def _largest_eigenvalue(kernel: NDArray[np.float64], iterations: int = 50) -> float:
    """Largest eigenvalue of a symmetric positive semi-definite matrix (power iteration)."""
    vector = np.full(kernel.shape[0], 1.0 / np.sqrt(kernel.shape[0]))
    value = 0.0
    for _ in range(iterations):
        product = kernel @ vector
        value = float(np.linalg.norm(product))
        if value == 0.0:
            break
        vector = product / value
    return value


def _alpha_by_rule(
    eigenvalues: NDArray[np.float64], projected: NDArray[np.float64], rule: LambdaRule
) -> float:
    """α minimising GCV or at the L-curve's corner, from K = U diag(s) Uᵀ and c = Uᵀ y."""
    s = np.clip(eigenvalues, 0.0, None)
    lam = ALPHA_GRID[:, None] * s.max()
    filter_residual = lam / (s[None, :] + lam)  # (A, M)
    residual_sq = np.sum((filter_residual * projected) ** 2, axis=1)
    if rule == "gcv":
        trace = np.sum(filter_residual, axis=1)
        return float(ALPHA_GRID[np.argmin(residual_sq / trace**2)])
    if rule == "lcurve":
        solution_sq = np.sum(s * projected**2 / (s[None, :] + lam) ** 2, axis=1)
        t = np.log(ALPHA_GRID)
        rho, eta = 0.5 * np.log(residual_sq), 0.5 * np.log(solution_sq)
        d_rho, d_eta = np.gradient(rho, t), np.gradient(eta, t)
        dd_rho, dd_eta = np.gradient(d_rho, t), np.gradient(d_eta, t)
        curvature = (d_rho * dd_eta - dd_rho * d_eta) / (d_rho**2 + d_eta**2) ** 1.5
        return float(ALPHA_GRID[np.nanargmax(curvature[1:-1]) + 1])
    raise ValueError(f"unknown regularisation rule {rule!r}; use 'gcv' or 'lcurve'")


def _checked(
    jacobian: ArrayLike, data: ArrayLike, weights: ArrayLike, alpha: float | None
) -> tuple[NDArray[np.floating], NDArray[np.float64], NDArray[np.float64]]:
    if alpha is not None and not alpha > 0:
        raise ValueError(f"regularisation α must be positive, got {alpha:g}")
    j = _float_matrix(jacobian)
    y = np.asarray(data, dtype=float)
    w = np.asarray(weights, dtype=float)
    if j.ndim != 2 or y.shape != (j.shape[0],) or w.shape != (j.shape[1],):
        raise ValueError(
            f"shapes do not match: Jacobian {j.shape}, data {y.shape}, weights {w.shape}"
        )
    finite = all(np.isfinite(j[:, part]).all() for part in _column_blocks(*j.shape))
    if not (finite and np.all(np.isfinite(y))):
        raise ValueError("Jacobian and data must be finite")
    return j, y, w


def tikhonov_reconstruct(
    jacobian: ArrayLike,
    data: ArrayLike,
    weights: ArrayLike,
    alpha: float | None = None,
    rule: LambdaRule = "gcv",
) -> Reconstruction:
    """Linear Tikhonov reconstruction in measurement space.

    Parameters
    ----------
    jacobian : array_like
        (M, N) sensitivity of the data to the unknowns.
    data : array_like
        (M,) data, e.g. ln(I / I₀).
    weights : array_like
        (N,) column weights (`depth_weights`).
    alpha : float, optional
        Relative regularisation λ / max eig(J̃ J̃ᵀ); chosen by `rule` when omitted.
    rule : {"gcv", "lcurve"}
        Automatic choice of α.

    Returns
    -------
    Reconstruction
    """
    j, y, w = _checked(jacobian, data, weights, alpha)
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        return _linear_step(j, y, w, alpha, rule)


def _linear_step(
    j: NDArray[np.floating],
    y: NDArray[np.float64],
    w: NDArray[np.float64],
    alpha: float | None,
    rule: LambdaRule,
) -> Reconstruction:
    """The linear solve: one eigendecomposition of the float64 kernel serves the α search and
    the solution (a float32 kernel would move the GCV minimum, which is flat on real data)."""
    eigenvalues, vectors = np.linalg.eigh(_weighted_kernel(j, w))
    projected = vectors.T @ y
    if alpha is None:
        alpha = _alpha_by_rule(eigenvalues, projected, rule)
    lam = alpha * max(float(eigenvalues.max()), np.finfo(float).tiny)
    coefficients = vectors @ (projected / (np.clip(eigenvalues, 0, None) + lam))
    x = _back_project(j, coefficients, w)
    return Reconstruction(x, float(alpha), 1, _residual_norm(j, y, x))


def gauss_newton_reconstruct(
    jacobian: ArrayLike,
    data: ArrayLike,
    weights: ArrayLike,
    blocks: int = 1,
    alpha: float | None = None,
    rule: LambdaRule = "gcv",
    steps: int = DEFAULT_STEPS,
    support_floor: float = SUPPORT_FLOOR,
) -> Reconstruction:
    """Iteratively re-weighted Tikhonov with a minimum-support penalty and non-negative contrast.

    All steps share the background Jacobian (Rytov model, not re-linearised).

    Step k minimises ‖y - J x‖² + λ ‖(W F_k)⁻¹ x‖², F_k = diag(√(c⁺_{k-1}/max c + ε)) built
    from the previous contrast c (Portniaguine & Zhdanov, Geophysics 64, 874 (1999)):
    the iteratively reweighted least-squares form of the minimum-support functional, which keeps
    a compact inclusion compact instead of smearing it over the resolution cell. Voxels whose
    contrast comes out negative are fixed at zero for the following steps. The contrast of a
    voxel is the sum of its unknowns over the blocks (δμa, or ΔHbT = ΔHbO2 + ΔHb); each
    chromophore on its own may still fall.

    Parameters
    ----------
    jacobian, data, weights, alpha, rule
        As in `tikhonov_reconstruct`; α (relative to the largest eigenvalue of each step's
        kernel) is chosen on the first, linear step.
    blocks : int
        Unknowns per voxel (1: δμa; 2: ΔHbO2, ΔHb), block-major columns.
    steps : int
        Gauss–Newton steps including the first, linear one (≥ 1).
    support_floor : float
        ε of the minimum-support weights.

    Returns
    -------
    Reconstruction
    """
    if steps < 1:
        raise ValueError(f"at least one Gauss–Newton step is needed, got {steps}")
    j, y, w = _checked(jacobian, data, weights, alpha)
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        result = _linear_step(j, y, w, alpha, rule)
        x, taken = _reweighted_steps(j, y, w, result, blocks, steps, support_floor)
    return Reconstruction(x, result.alpha, taken, _residual_norm(j, y, x))


def _reweighted_steps(
    j: NDArray[np.floating],
    y: NDArray[np.float64],
    w: NDArray[np.float64],
    linear: Reconstruction,
    blocks: int,
    steps: int,
    support_floor: float,
) -> tuple[NDArray[np.float64], int]:
    """The minimum-support steps after the linear one: (x, steps taken in all)."""
    voxels = j.shape[1] // blocks
    single = j.dtype == np.float32 and linear.alpha >= SINGLE_PRECISION_ALPHA
    precision = np.float32 if single else np.float64
    x = linear.x
    free = np.ones(voxels, dtype=bool)
    taken = 1
    for _ in range(steps - 1):
        contrast = x.reshape(blocks, voxels).sum(axis=0)
        free &= contrast > 0
        if not free.any():
            break
        taken += 1
        positive = np.where(free, contrast, 0.0)
        focus = np.sqrt(positive / positive.max() + support_floor)
        step_weights = np.where(np.tile(free, blocks), w * np.tile(focus, blocks), 0.0)
        kernel = _weighted_kernel(j, step_weights, precision)
        lam = linear.alpha * _largest_eigenvalue(kernel)
        kernel[np.diag_indices_from(kernel)] += lam
        factor = scipy.linalg.cho_factor(kernel, overwrite_a=True)
        x = _back_project(j, scipy.linalg.cho_solve(factor, y), step_weights)
    return x, taken


def chromophore_absorption_per_um_mm(wavelength_nm: ArrayLike) -> NDArray[np.float64]:
    """(W, 2) absorption per µM of HbO2 and Hb at each wavelength, mm⁻¹/µM (Prahl)."""
    epsilon_hbo2, epsilon_hb = hemoglobin_extinction(np.atleast_1d(wavelength_nm))
    return LN10 * PER_CM_PER_M_TIMES_UM_TO_PER_MM * np.column_stack([epsilon_hbo2, epsilon_hb])


def spectral_jacobian(
    jacobians: Sequence[NDArray[np.floating]], wavelengths_nm: ArrayLike
) -> NDArray[np.float64]:
    """Stack per-wavelength μa Jacobians into one for [ΔHbO2, ΔHb] (µM).

    Parameters
    ----------
    jacobians : list of ndarray
        One (M_λ, V) Jacobian per wavelength, in the order of `wavelengths_nm`, mm.
    wavelengths_nm : array_like
        (W,) wavelengths, nm; W ≥ 2.

    Returns
    -------
    ndarray
        (Σ M_λ, 2V) Jacobian in Fortran order and the Jacobians' precision, ln-intensity
        change per µM.
    """
    if len(jacobians) < 2:
        raise ValueError("a spectral reconstruction needs at least two wavelengths")
    per_um = chromophore_absorption_per_um_mm(wavelengths_nm)
    voxels = jacobians[0].shape[1]
    rows = sum(jac.shape[0] for jac in jacobians)
    dtype = np.result_type(*(_float_matrix(jac).dtype for jac in jacobians))
    stacked = np.empty((rows, 2 * voxels), dtype=dtype, order="F")
    top = 0
    for i, jac in enumerate(jacobians):
        band = slice(top, top + jac.shape[0])
        np.multiply(jac, per_um[i, 0].astype(dtype), out=stacked[band, :voxels])
        np.multiply(jac, per_um[i, 1].astype(dtype), out=stacked[band, voxels:])
        top += jac.shape[0]
    return stacked


def background_chromophores_um(
    mua_per_mm: ArrayLike, wavelengths_nm: ArrayLike, water_fraction: float
) -> tuple[float, float]:
    """HbO2 and Hb (µM) that explain background absorption at ≥ 2 wavelengths.

    Least squares of μa(λ) - f_water μa_water(λ) on the Prahl extinctions.

    Raises
    ------
    ValueError
        If the fit gives a negative concentration (absorption inconsistent with haemoglobin).
    """
    mua = np.asarray(mua_per_mm, dtype=float)
    wavelengths = np.asarray(wavelengths_nm, dtype=float)
    haem = mua - water_fraction * water_absorption_per_mm(wavelengths)
    solution, *_ = np.linalg.lstsq(chromophore_absorption_per_um_mm(wavelengths), haem)
    if np.any(solution < 0):
        raise ValueError(
            f"background μa {mua.tolist()} mm⁻¹ at {wavelengths.tolist()} nm gives negative "
            f"haemoglobin (HbO2 {solution[0]:.1f} µM, Hb {solution[1]:.1f} µM)"
        )
    return float(solution[0]), float(solution[1])
