"""Pulse oximetry of one file: the pure ``process(path, options)`` of ``nirpoct analyze ppg``.

The single command and ``nirpoct batch ppg`` (on any Dask worker) call `process` alike, so
both give the same numbers; the file is opened where `process` runs.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, SupportsInt, cast

import h5py
import numpy as np

from imaging.pulse_oximetry import OximetryResult, pulse_oximetry
from imaging.spo2_curves import SpO2Curve, curve_from_arrays
from imaging.statistics import median_of_finite
from instrument.ppg_signals import (
    PpgSignals,
    ppg_signals_from_run,
    read_ppg_csv,
    resampled,
    selected,
)
from instrument.run_record import RunRecord, read_run_record, unfinished_note
from instrument.run_steps import dark_reference_dn, measurement_step, step_view

logger = logging.getLogger(__name__)

KEY_FIGURES = (
    "median_spo2_percent",
    "mean_pulse_rate_bpm",
    "spo2_withheld_percent",
    "median_perfusion_index_percent",
    "mean_signal_quality",
)
"""The figures of a result that ``nirpoct batch`` lists in its manifest."""

RECORD_SUFFIXES = (".h5", ".hdf5")
"""Name endings of run records (a file with another ending that is not HDF5 is read as CSV)."""


@dataclass(frozen=True)
class PpgOptions:
    """Settings of ``nirpoct analyze ppg`` (from the same command-line options).

    Attributes
    ----------
    fs_hz : float or None
        Resample the signals to this rate before the analysis, Hz.
    curve : SpO2Curve or None
        R → SpO2 curve (None: the run's recorded curve, else the default for the pair).
    pair_nm : (red, infrared) or None
        Wavelengths to use, nm (None: the shortest and the longest).
    roi : (row, col, height, width) or None
        Run records: restrict the averaged pixels to this rectangle, pixels.
    step : str or None
        Protocol runs: the acquire step to analyse (None: the first acquire step).
    black_level_dn : float or None
        Run records without dark frames: dark level, DN.
    """

    fs_hz: float | None = None
    curve: SpO2Curve | None = None
    pair_nm: tuple[float, float] | None = None
    roi: tuple[int, int, int, int] | None = None
    step: str | None = None
    black_level_dn: float | None = None


@dataclass(frozen=True)
class PpgInput:
    """What a file gives the analysis.

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
    warning : str
        One line when the file is a record of a run that did not finish (else "").
    """

    signals: PpgSignals
    step: str | None = None
    recorded_by: str | None = None
    recorded_curve: SpO2Curve | None = None
    warning: str = ""


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


@dataclass(frozen=True)
class PpgFileResult:
    """The analysis of one file.

    Attributes
    ----------
    report : dict
        The JSON object ``nirpoct analyze ppg --json`` prints.
    oximetry : OximetryResult
        Per-second and per-beat results.
    signals : PpgSignals
        The signals analysed.
    step, recorded_by : str or None
        As in `PpgInput`.
    warning : str
        As in `PpgInput`.
    """

    report: dict[str, Any]
    oximetry: OximetryResult
    signals: PpgSignals
    step: str | None
    recorded_by: str | None
    warning: str = ""


def _figures(result: dict[str, Any]) -> dict[str, Any]:
    try:
        figures = json.loads(str(result.get("results_json", "{}")))
    except ValueError:
        return {}
    return figures if isinstance(figures, dict) else {}


def _recorded_signals(result: dict[str, Any], figures: dict[str, Any]) -> PpgSignals | None:
    if "ppg_time_s" not in result or "ppg_wavelengths_nm" not in result:
        return None
    time_s = np.asarray(result["ppg_time_s"], dtype=float)
    values = np.asarray(result["ppg_signals"], dtype=float)
    if time_s.size < 2 or values.shape[0] != time_s.size:
        return None
    return PpgSignals(
        time_s,
        values.reshape(time_s.size, -1),
        tuple(float(w) for w in np.atleast_1d(result["ppg_wavelengths_nm"])),
        float((time_s.size - 1) / (time_s[-1] - time_s[0])),
        int(figures.get("roi_pixels", 0)),
    )


def _recorded_curve(result: dict[str, Any], figures: dict[str, Any]) -> SpO2Curve | None:
    if "curve_numerator" not in result or "curve_denominator" not in result:
        return None
    # The calibration's own pair, else the pair the run applied the curve to.
    return curve_from_arrays(
        result,
        figures.get("wavelengths_nm"),
        f"{figures.get('curve', 'calibrated curve')} (as recorded)",
    )


def recorded_spo2(record: RunRecord, step_name: str) -> RecordedSpo2 | None:
    """The protocol's (first, in run order) SpO2 analysis of `step_name` in `record`, if the
    run made one."""
    in_run_order = sorted(
        record.results.items(), key=lambda item: int(cast(SupportsInt, item[1].get("index", 0)))
    )
    for name, result in in_run_order:
        figures = _figures(result)
        if figures.get("source") != step_name or not {"ppg_signals", "curve_numerator"} & set(
            result
        ):
            continue
        return RecordedSpo2(
            name, _recorded_signals(result, figures), _recorded_curve(result, figures)
        )
    return None


def load_input(path: str | Path, options: PpgOptions) -> PpgInput:
    """The signals the file holds, resampled and selected as the options ask.

    Of a protocol run, the signals the run's own SpO2 analysis of the step derived (its ROI
    and dark level) when the record keeps them and neither ``roi`` nor ``black_level_dn``
    asks for a new derivation; else they are derived from the step's frames here.

    Raises
    ------
    ValueError
        If the file is missing or is neither a run record nor a PPG CSV file.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a run record or CSV file")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if not h5py.is_hdf5(path):
        if path.suffix.lower() in RECORD_SUFFIXES:
            raise ValueError(f"{path}: not an HDF5 file, so not a run record (damaged?)")
        if options.step is not None:
            raise ValueError(f"{path}: --step applies to protocol run records, not CSV files")
        return PpgInput(_selected(read_ppg_csv(path, options.fs_hz), options.pair_nm))
    record = read_run_record(path)
    step = measurement_step(record, options.step)
    recorded = None if step is None else recorded_spo2(record, step.name)
    rederive = options.roi is not None or options.black_level_dn is not None
    if recorded is not None and recorded.signals is not None and not rederive:
        signals, recorded_by = recorded.signals, recorded.name
    else:
        black_level = options.black_level_dn
        reference = dark_reference_dn(record)
        if black_level is None and reference is not None:
            black_level = float(reference.mean())
        measurement = record if step is None else step_view(record, step)
        signals = ppg_signals_from_run(measurement, roi=options.roi, black_level_dn=black_level)
        recorded_by = None
    if options.fs_hz is not None:
        signals = resampled(signals, options.fs_hz)
    return PpgInput(
        _selected(signals, options.pair_nm),
        None if step is None else step.name,
        recorded_by,
        None if recorded is None else recorded.curve,
        unfinished_note(path, record.metadata.get("status")),
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


def process(path: str | Path, options: PpgOptions) -> PpgFileResult:
    """Pulse oximetry of one run record or CSV file.

    Parameters
    ----------
    path : str or Path
        Run record (HDF5) or CSV file ``time,<nm>,<nm>…`` (time in s).
    options : PpgOptions
        The analysis settings.

    Returns
    -------
    PpgFileResult
        The report (as ``nirpoct analyze ppg --json`` prints it) and the arrays behind it.

    Raises
    ------
    ValueError
        If the file cannot be read or analysed (the message names the file).
    """
    given = load_input(path, options)
    signals = given.signals
    curve = options.curve if options.curve is not None else given.recorded_curve
    result = pulse_oximetry(signals.signals, signals.sample_rate_hz, signals.wavelengths_nm, curve)
    logger.debug("analysed %s: %d s", path, result.time_s.size)
    return PpgFileResult(
        report(result, signals, str(path), given.step, given.recorded_by),
        result,
        signals,
        given.step,
        given.recorded_by,
        given.warning,
    )


def _rounded(value: float, digits: int) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def key_figures(result: PpgFileResult) -> dict[str, float | None]:
    """The figures named in `KEY_FIGURES` (None where withheld)."""
    oximetry = result.oximetry
    seconds = oximetry.time_s.size
    withheld = int(np.count_nonzero(np.isnan(oximetry.spo2_percent)))
    return {
        "median_spo2_percent": _rounded(median_of_finite(oximetry.spo2_percent), 2),
        "mean_pulse_rate_bpm": _rounded(oximetry.mean_pulse_rate_bpm, 2),
        "spo2_withheld_percent": round(100.0 * withheld / seconds, 1) if seconds else None,
        "median_perfusion_index_percent": _rounded(
            median_of_finite(oximetry.perfusion_index_percent), 4
        ),
        "mean_signal_quality": round(float(np.mean(oximetry.signal_quality)), 3)
        if seconds
        else None,
    }
