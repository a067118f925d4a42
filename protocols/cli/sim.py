"""``nirpoct sim``: serve the simulated instruments to any software, as the real ones are seen.

``nirpoct sim bench`` serves the bench (SR830 and SR860 lock-ins, Keithley 2400 source-meter,
PM100 power meter, DC2200 LED source) on loopback TCP sockets and prints each instrument's VISA
resource string (``TCPIP::127.0.0.1::PORT::SOCKET``, for pyvisa-py, PyMeasure, QCoDeS …).
``nirpoct sim board`` serves the detector board on a pseudo-terminal and prints the device path
to open as its serial port. Both serve until Ctrl-C or SIGTERM, then close what they opened.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from protocols.cli.commands import COMMAND_HELP

logger = logging.getLogger(__name__)

BENCH_MODELS = {
    "sr830": "Stanford Research Systems SR830 lock-in",
    "sr860": "Stanford Research Systems SR860 lock-in",
    "sourcemeter": "Keithley 2400 source-meter",
    "powermeter": "Thorlabs PM100USB power meter (S120C sensor)",
    "ledsource": "Thorlabs DC2200 LED driver (660/760/850/940 nm)",
}
"""Instrument name → what answers there."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command to the top-level parser."""
    parser = commands.add_parser(
        "sim",
        help=COMMAND_HELP["sim"],
        description=(
            "Serve the simulated instruments to any software until Ctrl-C or SIGTERM: try "
            "scripts without hardware."
        ),
    )
    kinds = parser.add_subparsers(dest="sim_kind", required=True, metavar="WHAT")
    bench = kinds.add_parser(
        "bench",
        help="lock-ins, source-meter, power meter and LED source on loopback TCP (VISA)",
        description=(
            "Serve the simulated bench and print each instrument's VISA resource string "
            "(open it with pyvisa-py, read and write termination \\n)."
        ),
    )
    bench.add_argument("--seed", type=int, default=0, help="seed of the bench's noise")
    bench.add_argument("--json", action="store_true", help="print one JSON line of resources")
    bench.set_defaults(run=run_bench)
    board = kinds.add_parser(
        "board",
        help="the detector board on a pseudo-terminal (serial port)",
        description="Serve the simulated detector board and print its serial device path.",
    )
    board.add_argument("--seed", type=int, default=0, help="seed of the physics scene")
    board.add_argument(
        "--scenario",
        default="steady",
        type=_board_scenario,
        metavar="NAME",
        help="patient scenario: steady, desaturation, motion, probe-off, tachycardia",
    )
    board.add_argument("--json", action="store_true", help="print one JSON line")
    board.set_defaults(run=run_board)


def _board_scenario(name: str) -> str:
    """Check ``--scenario`` against the simulated board's scenarios."""
    from drivers.sim.scenario_names import SCENARIOS

    if name not in SCENARIOS:
        choices = ", ".join(repr(scenario) for scenario in SCENARIOS)
        raise argparse.ArgumentTypeError(f"invalid choice: {name!r} (choose from {choices})")
    return name


@contextmanager
def _stop_on_signals(on_stop: Callable[[], None]) -> Iterator[None]:
    """Call ``on_stop`` on SIGINT or SIGTERM while inside; restore the handlers after."""
    previous = {
        number: signal.signal(number, lambda *_: on_stop())
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_bench(args: argparse.Namespace) -> int:
    """Execute ``nirpoct sim bench``."""
    stop = threading.Event()
    with _stop_on_signals(stop.set):  # before the physics loads: a signal then still stops
        from drivers.sim.scpi_server import start_in_thread

        with start_in_thread(seed=args.seed) as servers:
            _print_bench(servers.resources, args)
            while not stop.wait(0.2):
                pass
    logger.info("simulated bench stopped")
    return 0


def _print_bench(resources: dict[str, str], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(resources), flush=True)
        return
    print(f"simulated bench (seed {args.seed}); VISA resources:")
    for name, resource in resources.items():
        print(f"  {name:12s} {resource:36s} {BENCH_MODELS[name]}")
    print("serving until Ctrl-C or SIGTERM", flush=True)


def run_board(args: argparse.Namespace) -> int:
    """Execute ``nirpoct sim board``."""
    from drivers.sim.board import open_board

    server = open_board(args.seed, scenario=args.scenario)
    stop_read, stop_write = os.pipe()

    closed: list[bool] = []

    def stop() -> None:  # the serving loop ends when the pipe reaches end-of-file
        if not closed:
            closed.append(True)
            os.close(stop_write)

    try:
        with _stop_on_signals(stop):
            serial = server.device.identity.serial
            if args.json:
                ready = {"port": server.port, "tty": server.tty, "serial": serial}
                print(json.dumps(ready), flush=True)
            else:
                print(
                    f"simulated detector board (seed {args.seed}, scenario {args.scenario}, "
                    f"serial {serial})\n  serial port: {server.port} (on {server.tty})\n"
                    "serving until Ctrl-C or SIGTERM",
                    flush=True,
                )
            server.serve(stop_fd=stop_read)
    finally:
        stop()
        server.close()
        os.close(stop_read)
    logger.info("simulated board stopped")
    return 0
