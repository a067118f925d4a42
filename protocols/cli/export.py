"""``nirpoct export``: run records into exchange formats (``export snirf``)."""

from __future__ import annotations

import argparse
import json
import sys

from instrument.region_defaults import DEFAULT_REGION_PX
from protocols.cli.commands import COMMAND_HELP


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command and its formats to the top-level parser."""
    parser = commands.add_parser("export", help=COMMAND_HELP["export"])
    formats = parser.add_subparsers(dest="format", required=True, metavar="FORMAT")
    snirf = formats.add_parser(
        "snirf",
        help="SNIRF v1.1 (MNE, Homer3, cedalion)",
        description=(
            "Write a run record as SNIRF: the detector array's pixels grouped into square "
            "detector regions (mean dark-corrected DN, positions in mm), the LED as source 1, "
            "one measurement per detector and wavelength on one time base (each wavelength "
            "linearly interpolated to the LED-cycle grid). Saturated and near-dark regions are "
            "left out (and counted) unless --keep-unreliable. Of a protocol run, one step is "
            "exported (--step; default the first acquire step). An existing OUT is kept unless "
            "--force; a run record or the input itself is never overwritten."
        ),
    )
    snirf.add_argument("record", metavar="RUN.h5", help="run record")
    snirf.add_argument("out", metavar="OUT.snirf", help="SNIRF file to write")
    snirf.add_argument(
        "--region-px",
        type=int,
        default=DEFAULT_REGION_PX,
        metavar="N",
        help=f"detector region side in recorded pixels (default {DEFAULT_REGION_PX})",
    )
    snirf.add_argument(
        "--keep-unreliable",
        action="store_true",
        help="keep saturated and near-dark detector regions",
    )
    snirf.add_argument(
        "--step",
        metavar="NAME",
        help="protocol runs: the step whose frames to export (default: the first acquire step)",
    )
    snirf.add_argument("--force", action="store_true", help="overwrite an existing OUT.snirf")
    snirf.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    snirf.set_defaults(run=run_snirf)


def run_snirf(args: argparse.Namespace) -> int:
    """Export one run record to SNIRF."""
    from instrument.run_record import read_run_record, unfinished_note
    from instrument.run_steps import measurement_step
    from instrument.snirf import refuse_unsafe_output, write_snirf
    from instrument.snirf_export import export_run

    refuse_unsafe_output(args.out, args.record, overwrite=args.force)
    record = read_run_record(args.record)
    warning = unfinished_note(args.record, record.metadata.get("status"))
    if warning:
        print(f"nirpoct: warning: {warning}", file=sys.stderr)
    step = measurement_step(record, args.step)
    export = export_run(
        record,
        region_px=args.region_px,
        keep_unreliable=args.keep_unreliable,
        step=args.step,
    )
    data = export.data
    write_snirf(args.out, data, overwrite=args.force)
    left_out = "kept" if args.keep_unreliable else "left out"
    summary = {
        "snirf": str(args.out),
        "step": None if step is None else step.name,
        "samples": len(data.time_s),
        "sample_rate_hz": round(data.sample_rate_hz, 6),
        "sources": len(data.source_positions_mm),
        "detectors": len(data.detector_positions_mm),
        "wavelengths_nm": [float(w) for w in data.wavelengths_nm],
        "measurements": int(data.measurement_count),
        "saturated_regions": export.saturated,
        "near_dark_regions": export.near_dark,
        "unreliable_regions": left_out,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"wrote {args.out}{'' if step is None else f' (step {step.name})'}: "
            f"{summary['measurements']} measurements "
            f"({summary['detectors']} detectors × {len(data.wavelengths_nm)} wavelengths), "
            f"{summary['samples']} samples at {data.sample_rate_hz:.3g} Hz; "
            f"{export.saturated} saturated and {export.near_dark} near-dark regions {left_out}"
        )
    return 0
