"""``nirpoct gui``: the desktop app."""

from __future__ import annotations

import argparse
from pathlib import Path

from protocols.cli.calib_records import default_registry
from protocols.cli.commands import COMMAND_HELP
from protocols.cli.common import add_instrument_options

LANGUAGE_CODES = ("en", "zh_CN")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command to the top-level parser."""
    parser = commands.add_parser(
        "gui",
        help=COMMAND_HELP["gui"],
        description="Instrument status, live view, protocol runs, results and calibrations.",
    )
    add_instrument_options(parser)
    parser.add_argument(
        "--registry",
        type=Path,
        default=None,
        metavar="DIR",
        help="calibration registry (default $NIRPOCT_CALIBRATION_DIR)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs"), metavar="DIR", help="run folder")
    parser.add_argument("--language", choices=LANGUAGE_CODES, default="en")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct gui``."""
    # Qt loads only when the app is asked for: the other commands stay light.
    from gui.app import main, make_context

    context = make_context(args.config, args.sim, args.registry or default_registry(), args.out)
    return main(context, args.language)
