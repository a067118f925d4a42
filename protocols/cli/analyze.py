"""``nirpoct analyze``: analyses of recorded data (pulse oximetry, NIRS haemoglobin)."""

from __future__ import annotations

import argparse

from protocols.cli import analyze_nirs, analyze_ppg
from protocols.cli.commands import COMMAND_HELP


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command and its analyses to the top-level parser."""
    parser = commands.add_parser("analyze", help=COMMAND_HELP["analyze"])
    analyses = parser.add_subparsers(dest="analysis", required=True, metavar="ANALYSIS")
    analyze_ppg.register(analyses)
    analyze_nirs.register(analyses)
