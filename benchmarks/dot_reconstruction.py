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
    python benchmarks/dot_reconstruction.py --threads 1   # BLAS threads of the dense baseline
    python benchmarks/dot_reconstruction.py --large       # 10^5 voxels, measured
    python benchmarks/dot_reconstruction.py --vs redbirdpy

``--large`` measures (does not extrapolate) the 10⁵-voxel case of the largest probe: Jacobian,
offset removal and weights, and the re-weighted reconstruction, with the process's peak
resident memory.

``--vs redbirdpy`` compares with the peer on the committed transmission slab
(tests/data/dot/slab_*.snirf, 625 measurements, 4 mm voxels): the whole ``nirpoct
reconstruct`` job in a fresh interpreter (start-up, SNIRF read, solve, maps written) and the
in-process `reconstruct_snirf`, against redbirdpy's own Gauss–Newton (``runrecon``, 5
iterations, CW log-amplitude, the measured I/I₀ ratios as data) on an iso2mesh/TetGen box mesh
of the same volume with at least as many nodes as our grid has voxels (mesh and numba
compilation done before the timing). Accuracy of both against the phantom truth: distance of
the inclusion's centre (ours: centroid of the detected inclusion; peer: intensity-weighted
centroid of the nodes above half its peak contrast) and peak contrast μa / background.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
ROOT = Path(__file__).resolve().parent.parent
SLAB_DIR = ROOT / "tests" / "data" / "dot"
PEER_ITERATIONS = 5
N_TISSUE = 1.4


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
        "--threads",
        type=int,
        help="BLAS threads of the dense baseline (the solver: dot_inverse.BLAS_THREADS)",
    )
    parser.add_argument("--large", action="store_true", help="measure the 10^5-voxel case")
    parser.add_argument("--vs", choices=["redbirdpy"], help="compare with a peer on the slab")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (best counts)")
    args = parser.parse_args()
    if args.vs == "redbirdpy":
        versus_redbirdpy(args.repeats)
        return
    if args.large:
        large_case(max(args.probes))
        return
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


def large_case(per_side: int, voxels: float = 1e5) -> None:
    """The 10⁵-voxel reconstruction of the largest layout, measured step by step."""
    sources, detectors, s_idx, d_idx = layout(per_side)
    extent = (per_side - 1) * 20.0 + 20.0  # probes plus the 10 mm margins
    grid = probe_grid(
        sources, detectors, THICKNESS_MM, (extent * extent * THICKNESS_MM / voxels) ** (1 / 3)
    )
    centres = grid.centers_mm
    start = time.perf_counter()
    jac = rytov_jacobian(
        sources, detectors, s_idx, d_idx, centres, grid.voxel_volume_mm3, MUA, MUSP, THICKNESS_MM
    )
    t_jac = time.perf_counter() - start
    inside = np.sum((centres - [6.0, -4.0, 30.0]) ** 2, axis=1) <= 25.0
    rng = np.random.default_rng(0)
    y = jac @ (MUA * inside).astype(jac.dtype) + 0.01 * rng.standard_normal(len(s_idx))
    start = time.perf_counter()
    jac, y = remove_wavelength_offsets(jac, y + np.log(1.02), np.zeros(len(s_idx)))
    weights = depth_weights(jac, grid.shape)
    t_prep = time.perf_counter() - start
    start = time.perf_counter()
    result = gauss_newton_reconstruct(jac, y, weights)
    t_gn = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    print(
        f"{len(s_idx)} measurements × {centres.shape[0]} voxels ({jac.dtype}, "
        f"{jac.nbytes / 1e9:.2f} GB): Jacobian {t_jac:.2f} s, offsets + weights {t_prep:.2f} s, "
        f"Gauss-Newton ({result.steps} steps) {t_gn:.2f} s, total {t_jac + t_prep + t_gn:.2f} s, "
        f"peak memory {peak_gb:.2f} GB"
    )


def nirpoct_cli_job(out_dir: Path) -> tuple[float, dict]:
    """Wall time of ``nirpoct reconstruct`` on the slab in a fresh interpreter, and its JSON."""
    truth = json.loads((SLAB_DIR / "truth.json").read_text())["slab"]
    command = [
        sys.executable,
        "-m",
        "protocols.cli",
        "reconstruct",
        str(SLAB_DIR / "slab_measurement.snirf"),
        "--baseline",
        str(SLAB_DIR / "slab_baseline.snirf"),
        "--slab-thickness-mm",
        str(truth["thickness_mm"]),
        "--mua",
        str(truth["mua_per_mm"][0]),
        "--musp",
        str(truth["musp_per_mm"][0]),
        "--out",
        str(out_dir / "slab.h5"),
        "--force",
        "--json",
    ]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, json.loads(done.stdout)


def redbirdpy_case(data, grid, mua: float, musp: float):
    """Mesh, prepared configuration and reconstruction settings of the peer for the slab."""
    import iso2mesh
    import redbirdpy

    # iso2mesh downloads its own mesher binaries unless this folder exists; with it, the
    # system's TetGen (Debian package `tetgen`) on PATH is used.
    (Path.home() / "iso2mesh-tools").mkdir(exist_ok=True)
    low = [grid.x_mm[0] - 2.0, grid.y_mm[0] - 2.0, 0.0]
    high = [grid.x_mm[-1] + 2.0, grid.y_mm[-1] + 2.0, data.thickness_mm]
    voxels = int(np.prod(grid.shape))
    max_volume = 40.0
    while True:  # the coarsest mesh with at least as many nodes as we have voxels
        node, _, elem = iso2mesh.meshabox(low, high, max_volume)
        if node.shape[0] >= voxels:
            break
        max_volume *= 0.8
    background = [mua, musp, 0.0, N_TISSUE]
    cfg = {
        "node": node,
        "elem": elem[:, :4],
        "seg": np.ones(elem.shape[0], dtype=int),
        "srcpos": data.sources_mm,
        "srcdir": np.array([[0.0, 0.0, 1.0]]),
        "detpos": data.detectors_mm,
        "detdir": np.array([[0.0, 0.0, -1.0]]),
        "prop": np.array([[0.0, 0.0, 1.0, 1.0], background]),
        "omega": 0,
    }
    cfg, sd = redbirdpy.utility.meshprep(cfg)
    cfg["prop"] = np.tile(background, (node.shape[0], 1))
    del cfg["seg"]
    ratio = np.ones((data.detectors_mm.shape[0], data.sources_mm.shape[0]))
    ratio[data.detector_index, data.source_index] = np.exp(data.log_ratio)
    return cfg, sd, ratio


def run_redbirdpy(cfg, sd, ratio, iterations: int):
    import copy

    import redbirdpy

    background = cfg["prop"][0]
    recon = {"prop": np.tile(background, (cfg["node"].shape[0], 1)), "isratio": True}
    result, *_ = redbirdpy.recon.runrecon(
        copy.deepcopy(cfg),
        recon,
        ratio.copy(),
        sd,
        maxiter=iterations,
        reform="logphase",
        report=False,
    )
    return result["prop"][:, 0]


def peer_accuracy(nodes: np.ndarray, mua: np.ndarray, background: float, centre: np.ndarray):
    """(centre error mm, peak contrast) of a nodal μa map."""
    contrast = mua - background
    core = contrast >= 0.5 * contrast.max()
    centroid = nodes[core].T @ contrast[core] / contrast[core].sum()
    return float(np.linalg.norm(centroid - centre)), float(mua.max() / background)


def versus_redbirdpy(repeats: int) -> None:
    """nirpoct against redbirdpy's Gauss–Newton on the committed slab, same data, same run."""
    from instrument.dot_input import dot_input
    from instrument.snirf import read_snirf
    from protocols.analyses.dot import DotOptions, reconstruct_snirf

    truth = json.loads((SLAB_DIR / "truth.json").read_text())["slab"]
    centre = np.array([truth["x_mm"], truth["y_mm"], truth["z_mm"]])
    mua, musp = truth["mua_per_mm"][0], truth["musp_per_mm"][0]
    measurement = read_snirf(SLAB_DIR / "slab_measurement.snirf")
    baseline = read_snirf(SLAB_DIR / "slab_baseline.snirf")
    options = DotOptions(truth["thickness_mm"], (mua,), (musp,))
    t_solve, result = timed(reconstruct_snirf, measurement, baseline, options, repeats=repeats)
    with tempfile.TemporaryDirectory() as folder:
        jobs = [nirpoct_cli_job(Path(folder)) for _ in range(repeats)]
    t_job, summary = min(jobs, key=lambda job: job[0])
    ours = summary["inclusions"][0]
    ours_error = float(np.linalg.norm(np.subtract(ours["centroid_mm"], centre)))

    data = dot_input(measurement, baseline, truth["thickness_mm"])
    cfg, sd, ratio = redbirdpy_case(data, result.grid, mua, musp)
    run_redbirdpy(cfg, sd, ratio, 1)  # numba compilation and caches
    t_peer, peer_mua = timed(run_redbirdpy, cfg, sd, ratio, PEER_ITERATIONS, repeats=repeats)
    frame_nodes = cfg["node"] + [0.0, 0.0, data.top_z_mm]
    peer_error, peer_contrast = peer_accuracy(frame_nodes, peer_mua, mua, centre)

    print(
        f"transmission slab, {data.log_ratio.size} measurements, "
        f"{int(np.prod(result.grid.shape))} voxels; redbirdpy mesh {cfg['node'].shape[0]} nodes, "
        f"{cfg['elem'].shape[0]} tetrahedra"
    )
    print(f"{'':34} {'time':>8} {'ratio':>7} {'centre error':>13} {'peak contrast':>14}")
    rows = [
        ("nirpoct reconstruct (whole job)", t_job, ours_error, ours["peak_contrast"]),
        ("nirpoct reconstruct_snirf", t_solve, ours_error, ours["peak_contrast"]),
        (f"redbirdpy runrecon, {PEER_ITERATIONS} iterations", t_peer, peer_error, peer_contrast),
    ]
    for name, seconds, error, contrast in rows:
        print(
            f"{name:34} {seconds:7.2f}s {t_peer / seconds:6.1f}x {error:10.1f} mm {contrast:14.2f}"
        )


if __name__ == "__main__":
    main()
