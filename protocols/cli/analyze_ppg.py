"""``nirpoct analyze ppg``: pulse oximetry of a run record or a CSV file."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING

from protocols.cli.common import wavelength_pair

if TYPE_CHECKING:
    from imaging.pulse_oximetry import OximetryResult
    from imaging.spo2_curves import SpO2Curve
    from instrument.ppg_signals import PpgSignals
    from protocols.analyses.ppg_file import PpgOptions


def register(analyses: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the analysis to ``nirpoct analyze``."""
    parser = analyses.add_parser(
        "ppg",
        help="pulse oximetry: SpO2, pulse rate, perfusion index, signal quality",
        description=(
            "Pulse oximetry of a run record (ROI mean per LED step; of a protocol run, one "
            "acquire step) or of a CSV file with the "
            "header time,<nm>,<nm>… (time in s). Values are given once per second, for the "
            "centre of each second; SpO2, pulse rate and perfusion index are withheld (null) "
            "where the signal quality is too low, and per-beat SpO2 for beats not accepted."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="run record (.h5) or CSV file")
    add_options(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON object on stdout")
    parser.set_defaults(run=run)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The analysis options, shared by ``analyze ppg`` and ``batch ppg``."""
    parser.add_argument(
        "--fs",
        type=float,
        metavar="HZ",
        help="resample the signals to HZ before the analysis (CSV time must be in s)",
    )
    parser.add_argument(
        "--curve",
        type=curve_argument,
        metavar="POLY",
        help="R → SpO2 polynomial: coefficients a0,a1,… or an expression such as '110 - 25R' "
        "(default: 110 - 25R for 660/940 nm, the Beer–Lambert curve for other pairs)",
    )
    parser.add_argument(
        "--pair",
        type=wavelength_pair,
        metavar="RED,IR",
        help="wavelengths to use, nm (default: the shortest and the longest)",
    )
    parser.add_argument(
        "--roi",
        type=roi_argument,
        metavar="ROW,COL,H,W",
        help="run records: restrict the averaged pixels to this rectangle",
    )
    parser.add_argument(
        "--step",
        metavar="NAME",
        help="protocol runs: the acquire step to analyse (default: the first acquire step)",
    )
    parser.add_argument(
        "--black-level",
        type=float,
        metavar="DN",
        help="run records without dark frames: dark level, DN (default: the run's dark "
        "reference step, else estimated)",
    )


def options_from_args(args: argparse.Namespace) -> PpgOptions:
    """The analysis settings the options given by `add_options` ask for."""
    from protocols.analyses.ppg_file import PpgOptions

    return PpgOptions(
        fs_hz=args.fs,
        curve=args.curve,
        pair_nm=args.pair,
        roi=args.roi,
        step=args.step,
        black_level_dn=args.black_level,
    )


def curve_argument(text: str) -> SpO2Curve:
    """Parse ``--curve`` so that argparse shows the parser's own message."""
    from imaging.spo2_curves import parse_polynomial, polynomial_curve

    try:
        return polynomial_curve(parse_polynomial(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def roi_argument(text: str) -> tuple[int, int, int, int]:
    """Parse ``--roi ROW,COL,H,W``."""
    try:
        row, col, height, width = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ROW,COL,H,W in pixels, got {text!r}") from None
    return row, col, height, width


def _value(value: float, unit: str, digits: int) -> str:
    return f"{value:.{digits}f} {unit}" if math.isfinite(value) else "withheld"


def print_human(result: OximetryResult, signals: PpgSignals, source: str) -> None:
    """The summary for a person."""
    import numpy as np

    from imaging.statistics import median_of_finite

    seconds = result.time_s.size
    withheld = int(np.count_nonzero(np.isnan(result.spo2_percent)))
    wavelengths = "/".join(f"{w:g}" for w in signals.wavelengths_nm)
    spo2 = _value(median_of_finite(result.spo2_percent), "%", 1)
    lines = [
        f"pulse oximetry of {source}: {wavelengths} nm at {signals.sample_rate_hz:g} Hz, "
        f"{signals.signals.shape[0] / signals.sample_rate_hz:.1f} s",
        f"  SpO2             {spo2} (median; withheld in {withheld} of {seconds} s)"
        if result.pair_nm[0] != result.pair_nm[1]
        else "  SpO2             needs two wavelengths",
        f"  pulse rate       {_value(result.mean_pulse_rate_bpm, 'bpm', 1)} "
        f"({int(result.beat_accepted.sum())} of {result.beat_accepted.size} beats accepted)",
        f"  perfusion index  {_value(median_of_finite(result.perfusion_index_percent), '%', 2)} "
        "(median)",
        f"  signal quality   {float(np.mean(result.signal_quality)) if seconds else 0.0:.2f} "
        "(mean, 0-1)",
    ]
    if result.curve_description:
        lines.append(f"  SpO2 curve       {result.curve_description}")
    print("\n".join(lines))


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct analyze ppg``."""
    from protocols.analyses.ppg_file import process

    analysed = process(args.file, options_from_args(args))
    if analysed.warning:
        print(f"nirpoct: warning: {analysed.warning}", file=sys.stderr)
    if analysed.signals.time_base_note:
        print(f"nirpoct: note: {analysed.signals.time_base_note}", file=sys.stderr)
    if args.json:
        print(json.dumps(analysed.report))
    else:
        source = str(args.file)
        if analysed.step is not None:
            signals_of = (
                "" if analysed.recorded_by is None else f", signals of {analysed.recorded_by}"
            )
            source += f" (step {analysed.step}{signals_of})"
        print_human(analysed.oximetry, analysed.signals, source)
    return 0
