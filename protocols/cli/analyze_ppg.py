"""``nirpoct analyze ppg``: pulse oximetry of a run record or a CSV file."""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from imaging.pulse_oximetry import OximetryResult, pulse_oximetry
from imaging.spo2_curves import SpO2Curve, curve_from_arrays, parse_polynomial, polynomial_curve
from imaging.statistics import median_of_finite
from instrument.ppg_signals import (
    PpgSignals,
    ppg_signals_from_run,
    read_ppg_csv,
    resampled,
    selected,
)
from instrument.run_record import RunRecord, read_run_record
from instrument.run_steps import dark_reference_dn, measurement_step, step_view
from protocols.cli.common import wavelength_pair


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
    parser.add_argument("--json", action="store_true", help="print a JSON object on stdout")
    parser.set_defaults(run=run)


def curve_argument(text: str) -> SpO2Curve:
    """Parse ``--curve`` so that argparse shows the parser's own message."""
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


@dataclass(frozen=True)
class PpgInput:
    """What FILE gives the analysis.

    Attributes
    ----------
    signals : PpgSignals
        Resampled and selected as the options ask.
    step : str or None
        The protocol step analysed (None: a plain acquisition or a CSV file).
    recorded_by : str or None
        The protocol's SpO2 analysis step whose stored signals these are (None: derived from
        the frames here).
    recorded_curve : SpO2Curve or None
        The calibrated curve that analysis used.
    """

    signals: PpgSignals
    step: str | None = None
    recorded_by: str | None = None
    recorded_curve: SpO2Curve | None = None


@dataclass(frozen=True)
class RecordedSpo2:
    """A protocol's SpO2 analysis of one acquire step, as its run record keeps it.

    Attributes
    ----------
    name : str
        The analysis step.
    signals : PpgSignals or None
        The PPG signals it analysed (None in records that do not keep them).
    curve : SpO2Curve or None
        The calibrated curve it used, for the wavelength pair it served (None: the default).
    """

    name: str
    signals: PpgSignals | None
    curve: SpO2Curve | None


def _figures(result: dict[str, Any]) -> dict[str, Any]:
    try:
        figures = json.loads(str(result.get("results_json", "{}")))
    except ValueError:
        return {}
    return figures if isinstance(figures, dict) else {}


def recorded_spo2(record: RunRecord, step_name: str) -> RecordedSpo2 | None:
    """The protocol's (first, in run order) SpO2 analysis of `step_name` in `record`, if the
    run made one."""
    results: dict[str, dict[str, Any]] = record.results
    in_run_order = sorted(results.items(), key=lambda item: int(item[1].get("index", 0)))
    for name, result in in_run_order:
        figures = _figures(result)
        if figures.get("source") != step_name or not {"ppg_signals", "curve_numerator"} & set(
            result
        ):
            continue
        signals = None
        if "ppg_time_s" in result and "ppg_wavelengths_nm" in result:
            time_s = np.asarray(result["ppg_time_s"], dtype=float)
            values = np.asarray(result["ppg_signals"], dtype=float)
            if time_s.size >= 2 and values.shape[0] == time_s.size:
                signals = PpgSignals(
                    time_s,
                    values.reshape(time_s.size, -1),
                    tuple(float(w) for w in np.atleast_1d(result["ppg_wavelengths_nm"])),
                    float((time_s.size - 1) / (time_s[-1] - time_s[0])),
                    int(figures.get("roi_pixels", 0)),
                )
        curve = None
        if "curve_numerator" in result and "curve_denominator" in result:
            # The calibration's own pair, else the pair the run applied the curve to.
            curve = curve_from_arrays(
                result,
                figures.get("wavelengths_nm"),
                f"{figures.get('curve', 'calibrated curve')} (as recorded)",
            )
        return RecordedSpo2(name, signals, curve)
    return None


def load_input(args: argparse.Namespace) -> PpgInput:
    """The signals FILE holds, resampled and selected as the options ask.

    Of a protocol run, the signals the run's own SpO2 analysis of the step derived (its ROI
    and dark level) when the record keeps them and neither ``--roi`` nor ``--black-level``
    asks for a new derivation; else they are derived from the step's frames here.
    """
    path = Path(args.file)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if not h5py.is_hdf5(path):
        if args.step is not None:
            raise ValueError(f"{path}: --step applies to protocol run records, not CSV files")
        signals = _selected(read_ppg_csv(path, args.fs), args.pair)
        if signals.time_base_note:
            print(f"nirpoct: note: {signals.time_base_note}", file=sys.stderr)
        return PpgInput(signals)
    record = read_run_record(path)
    step = measurement_step(record, args.step)
    recorded = None if step is None else recorded_spo2(record, step.name)
    rederive = args.roi is not None or args.black_level is not None
    if recorded is not None and recorded.signals is not None and not rederive:
        signals, recorded_by = recorded.signals, recorded.name
    else:
        black_level = args.black_level
        reference = dark_reference_dn(record)
        if black_level is None and reference is not None:
            black_level = float(reference.mean())
        measurement = record if step is None else step_view(record, step)
        signals = ppg_signals_from_run(measurement, roi=args.roi, black_level_dn=black_level)
        recorded_by = None
    if args.fs is not None:
        signals = resampled(signals, args.fs)
    return PpgInput(
        _selected(signals, args.pair),
        None if step is None else step.name,
        recorded_by,
        None if recorded is None else recorded.curve,
    )


def _selected(signals: PpgSignals, pair: tuple[float, float] | None) -> PpgSignals:
    return signals if pair is None else selected(signals, pair)


def _numbers(values: np.ndarray, digits: int) -> list[float | None]:
    return [None if not math.isfinite(v) else round(float(v), digits) for v in values]


def report(
    result: OximetryResult,
    signals: PpgSignals,
    source: str,
    step: str | None = None,
    recorded_by: str | None = None,
) -> dict[str, Any]:
    """The JSON object of an analysis (times in the input's time base, s: of a protocol run,
    from the start of the step)."""
    offset = float(signals.time_s[0])
    mean_rate = result.mean_pulse_rate_bpm
    return {
        "file": source,
        "step": step,
        "signals_recorded_by": recorded_by,
        "wavelengths_nm": list(signals.wavelengths_nm),
        "pair_nm": list(result.pair_nm),
        "sample_rate_hz": signals.sample_rate_hz,
        "duration_s": round(signals.signals.shape[0] / signals.sample_rate_hz, 6),
        "roi_pixels": signals.roi_pixels,
        "curve": result.curve_description,
        "time_s": _numbers(result.time_s + offset, 6),
        "spo2_percent": _numbers(result.spo2_percent, 2),
        "pulse_rate_bpm": _numbers(result.pulse_rate_bpm, 2),
        "perfusion_index_percent": _numbers(result.perfusion_index_percent, 4),
        "signal_quality": _numbers(result.signal_quality, 3),
        "ratio_of_ratios": _numbers(result.ratio_of_ratios, 5),
        "beats_s": _numbers(result.beats_s + offset, 4),
        "mean_pulse_rate_bpm": round(mean_rate, 2) if math.isfinite(mean_rate) else None,
        "beat_interval_s": _numbers(result.beat_interval_s, 4),
        "beat_spo2_percent": _numbers(result.beat_spo2_percent, 2),
        "beat_quality": _numbers(result.beat_quality, 3),
        "beat_accepted": [bool(a) for a in result.beat_accepted],
    }


def _value(value: float, unit: str, digits: int) -> str:
    return f"{value:.{digits}f} {unit}" if math.isfinite(value) else "withheld"


def print_human(result: OximetryResult, signals: PpgSignals, source: str) -> None:
    """The summary for a person."""
    seconds = result.time_s.size
    withheld = int(np.count_nonzero(np.isnan(result.spo2_percent)))
    wavelengths = "/".join(f"{w:g}" for w in signals.wavelengths_nm)
    spo2 = _value(median_of_finite(result.spo2_percent), "%", 1)
    perfusion = _value(median_of_finite(result.perfusion_index_percent), "%", 2)
    lines = [
        f"pulse oximetry of {source}: {wavelengths} nm at {signals.sample_rate_hz:g} Hz, "
        f"{signals.signals.shape[0] / signals.sample_rate_hz:.1f} s",
        f"  SpO2             {spo2} (median; withheld in {withheld} of {seconds} s)"
        if result.pair_nm[0] != result.pair_nm[1]
        else "  SpO2             needs two wavelengths",
        f"  pulse rate       {_value(result.mean_pulse_rate_bpm, 'bpm', 1)} "
        f"({int(result.beat_accepted.sum())} of {result.beat_accepted.size} beats accepted)",
        f"  perfusion index  {perfusion} (median)",
        f"  signal quality   {float(np.mean(result.signal_quality)) if seconds else 0.0:.2f} "
        "(mean, 0-1)",
    ]
    if result.curve_description:
        lines.append(f"  SpO2 curve       {result.curve_description}")
    print("\n".join(lines))


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct analyze ppg``."""
    given = load_input(args)
    signals = given.signals
    curve = args.curve if args.curve is not None else given.recorded_curve
    result = pulse_oximetry(signals.signals, signals.sample_rate_hz, signals.wavelengths_nm, curve)
    if args.json:
        print(json.dumps(report(result, signals, str(args.file), given.step, given.recorded_by)))
    else:
        source = str(args.file)
        if given.step is not None:
            signals_of = "" if given.recorded_by is None else f", signals of {given.recorded_by}"
            source += f" (step {given.step}{signals_of})"
        print_human(result, signals, source)
    return 0
