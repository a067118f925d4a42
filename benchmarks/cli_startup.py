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
    ("export", "snirf", "--help"),
    ("analyze", "ppg", "--help"),
    ("protocols",),
    ("run", "--help"),
)
"""Arguments of each command timed (none of them touches a device)."""


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
    print("command                    start-up / bare interpreter")
    for command in COMMANDS:
        seconds = median_start_s([sys.executable, "-m", "protocols.cli", *command], args.repeats)
        print(f"nirpoct {' '.join(command):20s} {seconds / baseline:8.1f}")


if __name__ == "__main__":
    main()
