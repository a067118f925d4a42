"""``nirpoct acquire``: one acquisition into a run record."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drivers.errors import DeviceError
from protocols.cli.commands import COMMAND_HELP
from protocols.cli.common import add_instrument_options, instrument_config
from protocols.cli.progress import ProgressBar

if TYPE_CHECKING:
    from calibration.registry import Registry
    from drivers.sim.faults import FaultPlan
    from instrument.acquisition import AcquisitionStats


MAX_DURATION_S = 24 * 3600.0
"""Longest acquisition one command may ask for, s."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command to the top-level parser."""
    from protocols.cli.calib_records import add_override_options, add_registry_option

    parser = commands.add_parser(
        "acquire",
        help=COMMAND_HELP["acquire"],
        description="Acquire frames from the detector board into one HDF5 run record.",
    )
    add_instrument_options(parser)
    parser.add_argument("--duration", type=float, default=10.0, metavar="S", help="seconds")
    parser.add_argument("--out", default="runs", metavar="DIR", help="directory for the record")
    parser.add_argument("--operator", default="", help="who runs the acquisition")
    parser.add_argument("--subject", default="", help="subject id (stored pseudonymised)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.add_argument(
        "--sim-fault",
        type=fault_plan,
        metavar="KIND@SECONDS",
        help="inject a link fault on the simulated board: garbage, drop, crc, stall, unplug; "
        "unplug@SECONDS+SECONDS plugs it back after the second time",
    )
    parser.add_argument(
        "--clinical",
        action="store_true",
        help="refuse to run unless every calibration used is approved and in date",
    )
    parser.add_argument(
        "--calibration",
        action="append",
        default=[],
        metavar="ID",
        help="calibration record the run uses (besides the one the detector board holds)",
    )
    add_registry_option(parser)
    add_override_options(parser, "running with an expired calibration")
    parser.set_defaults(run=run)


def calibrations_used(
    args: argparse.Namespace, board_calibration_id: str
) -> tuple[dict[str, dict[str, str]], Registry | None]:
    """Check the run's calibrations (refusing a clinical run that may not proceed, also on a
    registry older than the one the newest records of ``--out`` used); the calibrations as the
    record stores them, and the registry they come from."""
    from calibration.gate import CalibrationRefused, check_calibrations
    from calibration.registry import Registry
    from protocols.cli.calib_records import default_registry, override_from_args
    from protocols.registry_witness import rollback_problems

    record_ids = list(
        dict.fromkeys(
            [*args.calibration, board_calibration_id] if board_calibration_id else args.calibration
        )
    )
    if not record_ids and not args.clinical:
        return {}, None
    override = override_from_args(args)
    registry = Registry(args.registry or default_registry())
    rolled_back = rollback_problems(registry, Path(args.out)) if args.clinical else []
    if rolled_back:
        raise CalibrationRefused(f"clinical run refused: {rolled_back[0]}")
    uses = check_calibrations(registry, record_ids, clinical=args.clinical, override=override)
    for use in uses:
        if use.state == "due":
            print(
                f"nirpoct: warning: calibration {use.record} is due on {use.due_date}",
                file=sys.stderr,
            )
    return {use.record: use.as_attributes() for use in uses}, registry


def fault_plan(text: str) -> FaultPlan:
    """Parse ``--sim-fault`` so that argparse shows the parser's own message."""
    from drivers.sim.faults import FaultPlan

    try:
        return FaultPlan.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def summary(stats: AcquisitionStats, record: str, status: str, error: str = "") -> dict[str, Any]:
    """The JSON summary of an acquisition."""
    return {
        **stats.as_dict(),
        "record": record,
        "status": status,
        "error": error,
    }


def print_human(report: dict[str, Any]) -> None:
    """The summary for a person."""
    wavelengths = "/".join(str(w) for w in report["wavelengths_nm"]) or "none"
    print(
        f"{report['status']}: {report['frames']} frames, {report['duration_s']:.2f} s at "
        f"{report['frame_rate_hz']:g} Hz, LEDs {wavelengths} nm\n"
        f"  record          {report['record']}\n"
        f"  dropped frames  {report['dropped_frames']} "
        f"(buffer overruns {report['buffer_overruns']})\n"
        f"  decoder resyncs {report['decoder_resyncs']} "
        f"({report['discarded_bytes']} bytes discarded)"
    )


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct acquire``."""
    from instrument.disk_space import FreeSpaceMonitor, check_free_space, record_bytes
    from instrument.instrument import AcquisitionError, Instrument
    from protocols.cli.output_file import finalise_unfinished_records, output_folder
    from protocols.registry_witness import head_attributes

    if not math.isfinite(args.duration) or not 0 < args.duration <= MAX_DURATION_S:
        raise ValueError(
            f"--duration must be a finite number of seconds > 0 and at most {MAX_DURATION_S:g} "
            f"(24 h), got {args.duration:g}"
        )
    output_folder(args.out)
    finalise_unfinished_records(args.out)
    config, text = instrument_config(args)
    if args.sim_fault is not None and not config.detector.simulated:
        raise ValueError("--sim-fault needs the simulated detector board (add --sim)")
    progress = ProgressBar(args.duration)
    with Instrument(config, text, sim_fault=args.sim_fault) as instrument:
        calibrations, registry = calibrations_used(
            args, instrument.identities["detector"]["calibration_id"]
        )
        board = instrument.board
        if board is None:
            raise DeviceError("the detector board did not open")
        rate_hz, shape = board.frame_rate_hz, board.roi.frame_shape
        needed = record_bytes(args.duration, rate_hz, shape)
        check_free_space(args.out, needed, f"the record of {args.duration:g} s at {rate_hz:g} Hz")
        try:
            result = instrument.acquire(
                args.duration,
                args.out,
                operator=args.operator,
                subject_id=args.subject,
                on_progress=FreeSpaceMonitor(args.out, rate_hz, shape, then=progress.update),
                calibrations=calibrations,
                metadata=head_attributes(registry),
            )
        except AcquisitionError as exc:
            progress.finish()
            report = summary(exc.stats, str(exc.record_path), "aborted", str(exc))
            if args.json:
                print(json.dumps(report))
            print(
                f"nirpoct: error: {exc}\nnirpoct: the {exc.stats.frames} frames received before "
                f"the fault are saved in {exc.record_path}",
                file=sys.stderr,
            )
            return 1
    progress.finish()
    report = summary(result.stats, str(result.record_path), "completed")
    if args.json:
        print(json.dumps(report))
    else:
        print_human(report)
    return 0
