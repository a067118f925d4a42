"""Soak: ``nirpoct run spo2-monitoring`` on the simulator at ``--sim-speed N`` for a simulated
time (64×64 px, 200 fps, record writer and live analysis running).

Reports frames lost (must be 0), resident memory of the host process at 5 min and at the end
of simulated time (growth after warm-up, MB), CPU of the host process, of the simulated board
and of the port's pump per wall second (fraction of one core), the speed reached against the
speed asked for (ratio), the signal-clock latency from a second's end to its value (p50/p99,
s) and the wall-clock time the live path spends per frame batch (p50/p99, ms).

    python benchmarks/monitoring_soak.py --minutes 60 --speed 4

The run uses a throw-away calibration registry with approved records (as the tests do): a
detector record characterised from the simulated sensor, so every frame is corrected as in a
clinical run, and an SpO2 curve.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drivers.sim.sensor import SensorConfig  # noqa: E402
from tests.test_live_frame_correction import (  # noqa: E402  (a throw-away registry)
    detector_coefficients,
    registry_with_detector_record,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WARM_UP_S = 300.0
"""Simulated time after which resident memory is taken as the baseline, s."""


def rss_mb(pid: int) -> float:
    """Resident memory of a live process, MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU time of a live process (all its threads), s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:13]) / CLOCK_TICKS


def children(pid: int, module: str) -> list[int]:
    """Child processes started by any thread of `pid` whose command line names `module`
    (``drivers.sim.board``: the simulated board; ``serial_pump``: the port's pump)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        path = task / "children"
        found += [int(p) for p in path.read_text().split()] if path.exists() else []
    return [
        child
        for child in found
        if module in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
    ]


def soak(minutes: float, speed: float, out: Path) -> dict[str, object]:
    """Run the monitoring and measure it; the figures as a dict."""
    registry_with_detector_record(out / "registry", detector_coefficients(SensorConfig()))
    command = [
        sys.executable,
        "-m",
        "protocols.cli",
        "run",
        "spo2-monitoring",
        "--sim",
        "--registry",
        "registry",
        "--duration",
        str(60.0 * minutes),
        "--sim-speed",
        str(speed),
        "--jsonl",
        "--out",
        "runs",
    ]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=out,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    rss: dict[str, float] = {}
    board_cpu = 0.0
    pump_cpu = 0.0
    host_cpu = 0.0
    seconds = 0
    for line in process.stdout:
        time_s = json.loads(line)["time_s"]
        seconds += 1
        try:
            host_cpu = cpu_s(process.pid)
            boards = children(process.pid, "drivers.sim.board")
            board_cpu = cpu_s(boards[0]) if boards else board_cpu
            pumps = children(process.pid, "serial_pump")
            pump_cpu = cpu_s(pumps[0]) if pumps else pump_cpu
            if time_s >= WARM_UP_S and "warm_up" not in rss:
                rss["warm_up"] = rss_mb(process.pid)
            rss["last"] = rss_mb(process.pid)
        except (FileNotFoundError, ProcessLookupError):
            pass
    process.wait()
    wall_s = time.monotonic() - started
    (summary_path,) = (out / "runs").glob("*.json")
    summary = json.loads(summary_path.read_text())
    monitoring = next(s for s in summary["steps"] if s["name"] == "monitoring")["results"]
    simulated_s = 60.0 * minutes
    return {
        "simulated_min": minutes,
        "speed_asked": speed,
        "speed_reached_ratio": round(simulated_s / wall_s / speed, 3),
        "seconds_reported": seconds,
        "frames": monitoring["frames"],
        "frames_lost": monitoring["dropped_frames"],
        "frame_correction": monitoring["frame_correction"],
        "rss_mb_at_5_min": round(rss.get("warm_up", float("nan")), 1),
        "rss_mb_at_end": round(rss.get("last", float("nan")), 1),
        "rss_growth_mb": round(rss.get("last", float("nan")) - rss.get("warm_up", float("nan")), 1),
        "host_cpu_per_core": round(host_cpu / wall_s, 3),
        "board_cpu_per_core": round(board_cpu / wall_s, 3),
        "pump_cpu_per_core": round(pump_cpu / wall_s, 3),
        "latency_signal_p50_s": monitoring["report_lag_p50_s"],
        "latency_signal_p99_s": monitoring["report_lag_p99_s"],
        "processing_p50_ms": monitoring["processing_p50_ms"],
        "processing_p99_ms": monitoring["processing_p99_ms"],
        "wall_s": round(wall_s, 1),
        "exit_code": process.returncode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated minutes")
    parser.add_argument("--speed", type=float, default=4.0, help="--sim-speed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        figures = soak(args.minutes, args.speed, Path(directory))
    for name, value in figures.items():
        print(f"{name:24s} {value}")
    return 0 if figures["frames_lost"] == 0 and figures["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
