"""``nirpoct devices``: find and identify the instrument's devices."""

from __future__ import annotations

import argparse
import json

from serial.tools import list_ports

from drivers.errors import DeviceError
from protocols.cli.commands import COMMAND_HELP
from protocols.cli.common import add_instrument_options, instrument_config

PROBE_TIMEOUT_S = 0.5


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command to the top-level parser."""
    parser = commands.add_parser(
        "devices",
        help=COMMAND_HELP["devices"],
        description=(
            "Identify the devices of a configuration (--config, or --sim for the simulated "
            "instrument); with neither, probe every serial port for a detector board. VISA "
            "instruments are identified from their resources in a configuration: nothing is "
            "discovered over the network."
        ),
    )
    add_instrument_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")
    parser.set_defaults(run=run)


def probe_serial_ports() -> dict[str, dict[str, str]]:
    """Ask every serial port whether a detector board answers on it."""
    from drivers.detector_board import DetectorBoard

    found: dict[str, dict[str, str]] = {}
    for port in list_ports.comports():
        try:
            with DetectorBoard(port.device, timeout_s=PROBE_TIMEOUT_S) as board:
                identity = board.identify()
        except DeviceError:
            continue
        found[f"detector@{port.device}"] = {
            "kind": "detector board",
            "model": identity.model,
            "serial": identity.serial,
            "firmware": identity.firmware,
            "address": port.device,
        }
    return found


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct devices``."""
    from instrument.instrument import Instrument

    if args.sim or args.config:
        config, text = instrument_config(args)
        with Instrument(config, text) as instrument:
            devices = dict(instrument.identities)
    else:
        devices = probe_serial_ports()
    if args.json:
        print(json.dumps(devices, indent=2))
        return 0
    if not devices:
        print(
            "no detector board found on any serial port; check cables and power, give a "
            "configuration with --config, or try --sim"
        )
        return 1
    for name, identity in devices.items():
        print(
            f"{name:12s} {identity.get('kind', ''):20s} {identity.get('model', ''):10s} "
            f"serial {identity.get('serial', '')}, firmware {identity.get('firmware', '')}\n"
            f"{'':12s} at {identity.get('address', '')}"
        )
    return 0
