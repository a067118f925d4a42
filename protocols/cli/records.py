"""``nirpoct records``: list run records; finalise records left open by a crash or a kill."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from protocols.cli.commands import COMMAND_HELP


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command group to the top-level parser."""
    parser = commands.add_parser("records", help=COMMAND_HELP["records"])
    actions = parser.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    repair = actions.add_parser(
        "repair",
        help="finalise records left open by a crash, a kill or a power loss",
        description=(
            "Finalise run records whose writer stopped without closing them: afterwards any "
            "HDF5 reader opens them, their status is 'interrupted' and every flushed frame is "
            "kept. Finished records are left as they are; a record modified in the last few "
            "seconds (maybe still being written) is refused."
        ),
    )
    repair.add_argument("paths", nargs="+", metavar="PATH", help="run record (.h5)")
    repair.set_defaults(run=run_repair)
    listing = actions.add_parser(
        "list", help="runs in a folder with status, protocol, start time and frames"
    )
    listing.add_argument("folder", metavar="DIR")
    listing.add_argument("--json", action="store_true", help="print a JSON list on stdout")
    listing.set_defaults(run=run_list)


def run_repair(args: argparse.Namespace) -> int:
    """Execute ``nirpoct records repair``; exit 1 when any record could not be finalised."""
    from instrument.record_repair import RepairError, repair_record

    failed = 0
    for path in args.paths:
        try:
            outcome = repair_record(path)
        except RepairError as exc:
            print(f"nirpoct: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if outcome.repaired:
            dropped = (
                f", {outcome.frames_dropped} incomplete frame(s) left out"
                if outcome.frames_dropped
                else ""
            )
            print(f"{path}: finalised, status interrupted, {outcome.frames} frames kept{dropped}")
        else:
            print(f"{path}: already finished (status {outcome.status}); left as it is")
    return 1 if failed else 0


def run_list(args: argparse.Namespace) -> int:
    """Execute ``nirpoct records list``."""
    from instrument.record_repair import record_summary

    folder = Path(args.folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: {'is a file, not' if folder.exists() else 'no such'} folder")
    summaries = [record_summary(path) for path in sorted(folder.glob("*.h5"))]
    runs = [summary for summary in summaries if summary is not None]
    if args.json:
        print(json.dumps([asdict(run) for run in runs]))
        return 0
    for run in runs:
        print(
            f"{run.file:44s} {run.status:12s} {run.protocol or '(acquire)':28s} "
            f"{run.start_time_utc[:19]:19s} {run.frames:>8d} frames"
        )
    if not runs:
        print(f"no run records in {folder}")
    return 0
