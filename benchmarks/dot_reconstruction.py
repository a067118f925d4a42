"""DOT reconstruction time against problem size (measurements × voxels).

Transmission slab (60 mm thick) with S×S sources on top and S×S detectors below (all pairs:
M = S⁴ measurements), a 10 mm absorber at mid-depth simulated with the analytic model plus 1 %
noise and a 2 % gain drift. For each size it times the Rytov Jacobian, the gain-offset removal,
the linear Tikhonov solve in measurement space (M × M kernel with GCV), and the full
iteratively re-weighted constrained reconstruction (``gauss-newton``); and, as the
baseline measured in the same run, the same linear Tikhonov solve done the dense way in voxel
space, (Jᵀ J + λ I) x = Jᵀ y (skipped above `--dense-limit` voxels). Ratios are baseline /
kernel. The last lines extrapolate memory and time to 10⁵ voxels.

    python benchmarks/dot_reconstruction.py                 # default sizes
    python benchmarks/dot_reconstruction.py --probes 5 --voxel-mm 4.6
    python benchmarks/dot_reconstruction.py --threads 1   # on a machine shared with others
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from imaging.dot_grid import probe_grid
from imaging.dot_inverse import (
    depth_weights,
    gauss_newton_reconstruct,
    remove_wavelength_offsets,
    tikhonov_reconstruct,
)
from imaging.dot_jacobian import rytov_jacobian

THICKNESS_MM = 60.0
MUA, MUSP = 0.01, 1.0


def layout(per_side: int) -> tuple[np.ndarray, ...]:
    """Sources on top, detectors below, 20 mm pitch; all pairs."""
    offsets = (np.arange(per_side) - (per_side - 1) / 2) * 20.0
    x, y = (g.ravel() for g in np.meshgrid(offsets, offsets, indexing="ij"))
    sources = np.column_stack([x, y, np.zeros(x.size)])
    detectors = np.column_stack([x, y, np.full(x.size, THICKNESS_MM)])
    s_idx, d_idx = (
        i.ravel() for i in np.meshgrid(np.arange(x.size), np.arange(x.size), indexing="ij")
    )
    return sources, detectors, s_idx, d_idx


def timed(function, *args, repeats: int = 3, **kwargs):
    """Best-of-`repeats` wall time (s) and the last result."""
    best = np.inf
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, result


def dense_tikhonov(jacobian: np.ndarray, data: np.ndarray, weights: np.ndarray, alpha: float):
    """The voxel-space baseline: (J̃ᵀ J̃ + λ I) x̃ = J̃ᵀ y by Cholesky, x = W x̃."""
    jw = jacobian * weights
    normal = jw.T @ jw
    lam = alpha * float(np.linalg.eigvalsh(jw @ jw.T).max())
    normal[np.diag_indices_from(normal)] += lam
    return weights * scipy.linalg.solve(normal, jw.T @ data, assume_a="pos")


def run_case(per_side: int, voxel_mm: float, dense_limit: int, rng) -> dict[str, float]:
    sources, detectors, s_idx, d_idx = layout(per_side)
    grid = probe_grid(sources, detectors, THICKNESS_MM, voxel_mm)
    voxels = grid.centers_mm
    t_jac, jac = timed(
        rytov_jacobian,
        sources,
        detectors,
        s_idx,
        d_idx,
        voxels,
        grid.voxel_volume_mm3,
        MUA,
        MUSP,
        THICKNESS_MM,
    )
    inside = np.sum((voxels - [6.0, -4.0, 30.0]) ** 2, axis=1) <= 25.0
    y = jac @ (MUA * inside) + 0.01 * rng.standard_normal(len(s_idx)) + np.log(1.02)
    t_offsets, (jac, y) = timed(remove_wavelength_offsets, jac, y, np.zeros(len(s_idx)))
    weights = depth_weights(jac, grid.shape)
    t_lin, linear = timed(tikhonov_reconstruct, jac, y, weights)
    t_gn, _ = timed(gauss_newton_reconstruct, jac, y, weights)
    row = {
        "M": float(len(s_idx)),
        "V": float(voxels.shape[0]),
        "jacobian_s": t_jac + t_offsets,
        "kernel_s": t_lin,
        "gauss_newton_s": t_gn,
        "dense_s": np.nan,
        "max_diff": np.nan,
    }
    if voxels.shape[0] <= dense_limit:
        t_dense, dense = timed(dense_tikhonov, jac, y, weights, linear.alpha, repeats=1)
        row["dense_s"] = t_dense
        row["max_diff"] = float(np.abs(dense - linear.x).max() / np.abs(linear.x).max())
    return row


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--probes",
        type=int,
        nargs="*",
        default=[3, 4, 5],
        help="probes per side of each square grid (M = S⁴)",
    )
    parser.add_argument(
        "--voxel-mm", type=float, nargs="*", default=[8.0, 6.0, 4.6, 3.5], help="voxel edges, mm"
    )
    parser.add_argument(
        "--dense-limit",
        type=int,
        default=7000,
        help="largest voxel count solved by the dense baseline",
    )
    parser.add_argument(
        "--threads", type=int, help="BLAS threads (default: the library's own choice)"
    )
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads, user_api="blas"):
        report(args)


def report(args: argparse.Namespace) -> None:
    """Run every size; print the table and the extrapolation to 10⁵ voxels."""
    rng = np.random.default_rng(0)
    header = (
        f"{'M':>5} {'V':>7} {'M·V':>9} {'jacobian':>9} {'kernel':>8} {'GN total':>9} "
        f"{'dense':>8} {'dense/kernel':>12} {'rel.diff':>9}"
    )
    print(header)
    rows = []
    for per_side in args.probes:
        for voxel in args.voxel_mm:
            row = run_case(per_side, voxel, args.dense_limit, rng)
            rows.append(row)
            ratio = row["dense_s"] / row["kernel_s"]
            print(
                f"{row['M']:5.0f} {row['V']:7.0f} {row['M'] * row['V']:9.2e} "
                f"{row['jacobian_s']:8.3f}s {row['kernel_s']:7.3f}s {row['gauss_newton_s']:8.3f}s "
                f"{row['dense_s']:7.2f}s {ratio:12.1f} {row['max_diff']:9.1e}"
            )
    largest = max((r for r in rows if r["M"] == max(x["M"] for x in rows)), key=lambda r: r["V"])
    scale = 1e5 / largest["V"]
    m = largest["M"]
    print(
        f"\n10^5 voxels, {m:.0f} measurements: Jacobian {m * 1e5 * 8 / 1e9:.2f} GB (float64), "
        f"kernel {m * m * 8 / 1e6:.1f} MB, dense normal matrix {1e10 * 8 / 1e9:.0f} GB "
        "(infeasible)."
    )
    print(
        f"extrapolated (linear in voxels from M={m:.0f}, V={largest['V']:.0f}): Jacobian "
        f"{largest['jacobian_s'] * scale:.1f} s, linear solve {largest['kernel_s'] * scale:.1f} s, "
        f"Gauss-Newton {largest['gauss_newton_s'] * scale:.1f} s"
    )


if __name__ == "__main__":
    main()
