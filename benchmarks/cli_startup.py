"""Command-line start-up: how long ``nirpoct`` takes before it does anything.

Each command is started afresh several times; the median wall time is printed as a ratio
against the bare interpreter start (``python -c pass``), measured in the same run. A ratio near
1 means the command costs little more than Python itself.

    python benchmarks/cli_startup.py --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = (
    ("--help",),
    ("analyze", "ppg", "--help"),
    ("run", "--help"),
    ("analyze", "nirs", "--help"),
    ("export", "snirf", "--help"),
    ("reconstruct", "--help"),
    ("batch", "ppg", "--help"),
    ("acquire", "--help"),
    ("calib", "--help"),
    ("calib", "record-spo2-curve", "--help"),
    ("devices", "--help"),
    ("gui", "--help"),
    ("sim", "board", "--help"),
    ("send", "--help"),
    ("outbox", "--help"),
    ("records", "--help"),
    ("protocols", "--help"),
    ("protocols",),
)
"""Arguments of each command timed (none of them touches a device); ``nirpoct protocols``
itself reads and validates the shipped protocol files, so it loads the schema."""


def median_start_s(arguments: list[str], repeats: int) -> float:
    """Median wall time of `repeats` fresh processes running `arguments`, s."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(arguments, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="starts per command (default 7)")
    args = parser.parse_args()
    baseline = median_start_s([sys.executable, "-c", "pass"], args.repeats)
    print(f"{'command':42s} start-up / bare interpreter ({baseline * 1000:.0f} ms)")
    for command in COMMANDS:
        seconds = median_start_s([sys.executable, "-m", "protocols.cli", *command], args.repeats)
        print(f"nirpoct {' '.join(command):34s} {seconds / baseline:8.1f}")


if __name__ == "__main__":
    main()
