"""``nirpoct analyze nirs``: haemoglobin changes of a SNIRF CW-amplitude recording.

Optical density against the recording mean (or a baseline window), then the modified
Beer–Lambert law per source–detector channel (``protocols.analyses.nirs_file``); the HbO/HbR
result is written as SNIRF processed data (dataType 99999, dataTypeLabel HbO/HbR, µM) that MNE
reads.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING

from protocols.analyses.option_defaults import DEFAULT_DPF

if TYPE_CHECKING:
    from protocols.analyses.nirs_file import NirsOptions


def register(analyses: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the analysis to ``nirpoct analyze``."""
    parser = analyses.add_parser(
        "nirs",
        help="NIRS: ΔHbO2 / ΔHbR (µM) from a SNIRF CW-amplitude file",
        description=(
            "Optical density (natural log) against the recording mean or a baseline window, "
            "then the modified Beer–Lambert law with Prahl's extinction coefficients, per "
            "source–detector channel. Writes HbO/HbR as SNIRF processed data with --out."
        ),
    )
    parser.add_argument("file", metavar="FILE.snirf", help="SNIRF file of CW amplitudes")
    add_options(parser)
    parser.add_argument("--out", metavar="HB.snirf", help="write HbO/HbR as SNIRF")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    parser.add_argument("--json", action="store_true", help="print a JSON object on stdout")
    parser.set_defaults(run=run)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The analysis options, shared by ``analyze nirs`` and ``batch nirs``."""
    pathlength = parser.add_mutually_exclusive_group()
    pathlength.add_argument(
        "--dpf",
        type=dpf_argument,
        metavar="X[,X…]",
        help=f"differential pathlength factor, one value or one per wavelength "
        f"(default {DEFAULT_DPF:g})",
    )
    pathlength.add_argument(
        "--age",
        type=float,
        metavar="YEARS",
        help="DPF per wavelength from age (Scholkmann & Wolf 2013)",
    )
    parser.add_argument(
        "--baseline",
        type=baseline_argument,
        metavar="START:END",
        help="optical-density reference: mean over this window, s (default: whole recording); "
        "a negative start is given as --baseline=-5:-1",
    )


def options_from_args(args: argparse.Namespace) -> NirsOptions:
    """The analysis settings the options given by `add_options` ask for."""
    from protocols.analyses.nirs_file import NirsOptions

    return NirsOptions(dpf=args.dpf, age_years=args.age, baseline_s=args.baseline)


def dpf_argument(text: str) -> tuple[float, ...]:
    """Parse ``--dpf X`` or ``--dpf X1,X2,…``."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from None
    if not all(math.isfinite(v) and v > 0.0 for v in values):
        raise argparse.ArgumentTypeError(f"DPF values must be positive, got {text!r}")
    return values


def baseline_argument(text: str) -> tuple[float, float]:
    """Parse ``--baseline START:END`` (s)."""
    try:
        start, end = (float(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:END in s (a negative start as --baseline=-5:-1), got {text!r}"
        ) from None
    if not end > start:
        raise argparse.ArgumentTypeError(f"baseline END must exceed START, got {text!r}")
    return start, end


def run(args: argparse.Namespace) -> int:
    """Analyse one SNIRF file."""
    from instrument.snirf import refuse_unsafe_output, write_snirf
    from protocols.analyses.nirs_file import process

    if args.out:
        refuse_unsafe_output(args.out, args.file, overwrite=args.force)
    analysed = process(args.file, options_from_args(args))
    if analysed.warning:
        print(f"nirpoct: warning: {analysed.warning}", file=sys.stderr)
    if args.out:
        write_snirf(args.out, analysed.hemoglobin, overwrite=args.force)
    summary = {**analysed.summary, "out": args.out}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    wavelengths, dpf = summary["wavelengths_nm"], analysed.dpf
    hbo, hbr = summary["hbo_um"], summary["hbr_um"]
    print(
        f"{summary['channels']} channels, {summary['samples']} samples "
        f"({summary['duration_s']:.1f} s), "
        f"{'/'.join(f'{w:g}' for w in wavelengths)} nm, "
        f"DPF {'/'.join(f'{d:.2f}' for d in dpf)}, reference: {summary['reference']}"
    )
    print(
        f"ΔHbO2 {hbo['min']:.3g} to {hbo['max']:.3g} µM, "
        f"ΔHbR {hbr['min']:.3g} to {hbr['max']:.3g} µM"
    )
    if args.out:
        print(f"wrote {args.out}")
    return 0
