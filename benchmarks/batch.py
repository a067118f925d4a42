"""``nirpoct batch`` against a serial loop: pulse oximetry of simulated run records.

The records (default 200 × 20 s at 100 frames/s, 64 × 64 pixels, four LED steps) are made
once by the physics simulator and kept in a cache folder. In the same run:

1. serial: one process calls ``protocols.analyses.ppg_file.process`` on every record in turn
   and writes each JSON result (imports done beforehand: the serial loop's best case);
2. ``nirpoct batch ppg RECORDS --out DIR --workers N``: the whole command in a fresh process,
   with its interpreter, local Dask cluster and worker start-up, hashing and manifest;
3. the same batch on a local cluster already running (``protocols.batch.run_batch``): the
   steady throughput a long batch approaches, and each worker's peak memory (ru_maxrss).

Printed: files/s of each, the ratios against the serial loop, peak memory per worker. The
machine's load average is printed too: on a shared machine the ratio is only as good as the
cores left free.

    python benchmarks/batch.py --records 200 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from protocols import batch  # noqa: E402
from protocols.analyses.ppg_file import PpgOptions, process  # noqa: E402

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "nirpoct-bench" / "batch-records"
DURATION_S = 20.0
FRAME_RATE_HZ = 100.0


def cached_records(folder: Path, count: int) -> list[Path]:
    """`count` simulated run records in `folder`, made only where missing."""
    from tests.test_snirf import write_sim_record  # the simulator's run-record writer

    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NIRPOCT_KEY_FILE", str(folder / "pseudonym.key"))
    paths = [folder / f"run-{seed:04d}.h5" for seed in range(count)]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"simulating {len(missing)} records into {folder} (once) …", flush=True)
    for path in missing:
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        seed = int(path.stem.split("-")[1])
        write_sim_record(partial, duration_s=DURATION_S, frame_rate_hz=FRAME_RATE_HZ, seed=seed)
        partial.rename(path)
    return paths


def serial_s(records: list[Path], out: Path) -> tuple[float, float]:
    """Wall time and CPU time of the serial loop, s."""
    out.mkdir(parents=True, exist_ok=True)
    options = PpgOptions()
    process(records[0], options)  # imports and caches warm before the clock starts
    started, cpu = time.perf_counter(), time.process_time()
    for path in records:
        result = process(path, options)
        batch.write_text_atomically(out / f"{path.name}.ppg.json", json.dumps(result.report))
    return time.perf_counter() - started, time.process_time() - cpu


def command_s(records: list[Path], out: Path, workers: int) -> tuple[float, dict]:
    """Wall time of the whole ``nirpoct batch`` command, s, and its JSON summary."""
    started = time.perf_counter()
    finished = subprocess.run(
        [
            *(sys.executable, "-m", "protocols.cli", "batch", "ppg", *map(str, records)),
            *("--out", str(out), "--workers", str(workers), "--json"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"nirpoct batch failed: {finished.stderr.strip()}")
    return elapsed, json.loads(finished.stdout)


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MB (run on each worker)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def running_cluster_s(
    records: list[Path], out: Path, workers: int
) -> tuple[float, float, list[float]]:
    """Wall time of the batch on a cluster already started, s, the CPU time its workers spent,
    s, and each worker's peak memory, MB."""
    options = PpgOptions()
    warm_up = batch.Outputs(str(out / "warm-up.json"), None)  # workers import before the clock
    with batch.dask_client(workers) as client:
        client.run(batch.analyse_file, "ppg", str(records[0]), options, "", warm_up)
        cpu = sum(client.run(time.process_time).values())
        started = time.perf_counter()
        batch.run_batch(client, "ppg", records, options, out, batch.options_sha256("ppg", options))
        elapsed = time.perf_counter() - started
        cpu = sum(client.run(time.process_time).values()) - cpu
        memory = sorted(client.run(peak_rss_mb).values())
    return elapsed, cpu, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200, help="run records (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="batch workers (default 2)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="records folder")
    args = parser.parse_args()
    records = cached_records(args.cache, args.records)
    size_mb = sum(p.stat().st_size for p in records) / 1e6
    print(f"{len(records)} records, {size_mb:.0f} MB; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as scratch:
        serial, serial_cpu = serial_s(records, Path(scratch) / "serial")
        command, summary = command_s(records, Path(scratch) / "command", args.workers)
        running, cpu, memory = running_cluster_s(records, Path(scratch) / "running", args.workers)
    count = len(records)
    workers = args.workers
    print("                                   files/s   wall s  ratio  CPU ms/file")
    print(
        f"serial loop (1 process)            {count / serial:7.2f}  {serial:7.1f}   1.00"
        f"  {1e3 * serial_cpu / count:7.0f}"
    )
    print(
        f"nirpoct batch --workers {workers} (command) {count / command:7.2f}  {command:7.1f}"
        f"  {serial / command:5.2f}  (start-up {command - summary['wall_s']:.1f} s)"
    )
    print(
        f"batch on a running cluster         {count / running:7.2f}  {running:7.1f}"
        f"  {serial / running:5.2f}  {1e3 * cpu / count:7.0f} (workers: hash, analysis, write)"
    )
    print(f"peak memory per worker             {', '.join(f'{m:.0f}' for m in memory)} MB")
    print(
        f"batch summary: {summary['ok']} ok, {summary['failed']} failed; "
        f"load average at the end {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
