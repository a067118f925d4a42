"""``nirpoct gui``: the desktop app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from protocols.cli.commands import COMMAND_HELP
from protocols.cli.common import add_instrument_options

LANGUAGE_CODES = ("en", "zh_CN")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command to the top-level parser."""
    from protocols.cli.calib_records import add_registry_option

    parser = commands.add_parser(
        "gui",
        help=COMMAND_HELP["gui"],
        description="Instrument status, live view, protocol runs, results and calibrations.",
    )
    add_instrument_options(parser)
    add_registry_option(parser)
    parser.add_argument("--out", type=Path, default=Path("runs"), metavar="DIR", help="run folder")
    parser.add_argument("--language", choices=LANGUAGE_CODES, default="en")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct gui``."""
    # Qt loads only when the app is asked for: the other commands stay light.
    from gui.app import DesktopUnavailable, main, make_context
    from protocols.cli.calib_records import default_registry
    from protocols.cli.output_file import finalise_unfinished_records

    finalise_unfinished_records(args.out)
    context = make_context(args.config, args.sim, args.registry or default_registry(), args.out)
    try:
        return main(context, args.language)
    except DesktopUnavailable as exc:
        print(f"nirpoct: error: {exc}", file=sys.stderr)
        return 1
