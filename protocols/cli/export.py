"""``nirpoct export``: run records into exchange formats (``export snirf``)."""

from __future__ import annotations

import argparse
import json

from instrument.run_record import read_run_record
from instrument.snirf import write_snirf
from instrument.snirf_export import DEFAULT_REGION_PX, run_to_nirs


def register(commands: argparse._SubParsersAction) -> None:
    """Add the command and its formats to the top-level parser."""
    parser = commands.add_parser("export", help="export a run record to an exchange format")
    formats = parser.add_subparsers(dest="format", required=True, metavar="FORMAT")
    snirf = formats.add_parser(
        "snirf",
        help="SNIRF v1.1 (MNE, Homer3, cedalion)",
        description=(
            "Write a run record as SNIRF: the detector array's pixels grouped into square "
            "detector regions (mean DN, positions in mm), the LED as source 1, one measurement "
            "per detector and wavelength on one time base (each wavelength linearly "
            "interpolated to the LED-cycle grid)."
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
    snirf.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    snirf.set_defaults(run=run_snirf)


def run_snirf(args: argparse.Namespace) -> int:
    """Export one run record to SNIRF."""
    record = read_run_record(args.record)
    data = run_to_nirs(record, region_px=args.region_px)
    write_snirf(args.out, data)
    summary = {
        "snirf": str(args.out),
        "samples": len(data.time_s),
        "sample_rate_hz": round(data.sample_rate_hz, 6),
        "sources": len(data.source_positions_mm),
        "detectors": len(data.detector_positions_mm),
        "wavelengths_nm": [float(w) for w in data.wavelengths_nm],
        "measurements": int(data.measurement_count),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"wrote {args.out}: {summary['measurements']} measurements "
            f"({summary['detectors']} detectors × {len(data.wavelengths_nm)} wavelengths), "
            f"{summary['samples']} samples at {data.sample_rate_hz:.3g} Hz"
        )
    return 0
