"""One model of a finished run, the single source every outgoing message is built from.

Built from the run's JSON summary (results, QC gates, device identities, calibrations) and its
run record (the maps as arrays, the record's identity); the patient's MRN and the accession
number are given at send time and never stored in the record.

A value is *withheld* (sent without a number: HL7 OBX-11 ``X``, FHIR ``dataAbsentReason``) when
the analysis gave none, when its step did not pass, or when a QC gate on any figure of its step
failed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calibration.gate import CalibrationUse
from instrument.run_record import RunRecord, read_run_record
from protocols.outputs.exchange import codes
from protocols.outputs.exchange.codes import Code, ResultCoding, Unit

logger = logging.getLogger(__name__)

SUMMARY_FORMAT = "nirpoct-run-summary"
OXIMETRY_BRANCH, TISSUE_BRANCH, DOT_BRANCH, QC_BRANCH = 1, 2, 3, 4
"""Second level of the OBX-4 device hierarchy (MDS.VMD.channel.metric): one per analysis."""


DEFAULT_PITCH_MM = 0.4
"""Pixel pitch of records made before the probe geometry was stored, mm."""


class ExchangeInputError(ValueError):
    """A summary or record cannot be sent; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Result:
    """One result as sent.

    Attributes
    ----------
    key : str
        Stable name within the run, e.g. ``spo2`` or ``lesion-1.depth``.
    coding : ResultCoding
        Codes and unit.
    value : float or None
        The value in ``coding.unit``; None when withheld (or for coded results).
    time_utc : datetime.datetime
        When it was measured (end of the run), UTC.
    hierarchy : str
        OBX-4 sub-id, ``MDS.VMD.channel.metric``.
    withheld_reason : str
        Why a value is withheld; empty when it is sent.
    value_code : Code or None
        The value of a coded result (the QC verdict).
    """

    key: str
    coding: ResultCoding
    value: float | None
    time_utc: dt.datetime
    hierarchy: str
    withheld_reason: str = ""
    value_code: Code | None = None

    @property
    def withheld(self) -> bool:
        """True when the value is not sent as a number."""
        return self.value is None and self.value_code is None


@dataclass(frozen=True)
class MapImage:
    """A 2-D map to send as an image.

    Attributes
    ----------
    title : str
        What it shows, e.g. ``StO2 map`` or ``DOT HbT z = 10 mm``.
    values : numpy.ndarray
        (rows, columns) float in ``unit``; NaN where there is no value.
    unit : Unit
        Unit of the values.
    pixel_spacing_mm : tuple of float
        (row, column) spacing, mm.
    """

    title: str
    values: np.ndarray
    unit: Unit
    pixel_spacing_mm: tuple[float, float]


@dataclass(frozen=True)
class DeviceIdentity:
    """The instrument that measured: model, serial, firmware and the OBX-18 equipment id."""

    model: str
    serial: str
    firmware: str
    software_version: str

    @property
    def equipment_id(self) -> str:
        """The serial number (the board has no EUI-64)."""
        return self.serial or "unknown"


@dataclass(frozen=True)
class RunResults:
    """Everything a receiver is told about one finished run."""

    patient_id: str
    accession: str
    run_id: str
    protocol_name: str
    protocol_version: str
    start_utc: dt.datetime
    stop_utc: dt.datetime
    device: DeviceIdentity
    calibrations: tuple[CalibrationUse, ...]
    qc_passed: bool
    results: tuple[Result, ...]
    maps: tuple[MapImage, ...] = field(default=())


MAX_PATIENT_ID_CHARS = 64
"""DICOM Patient ID (LO) holds 64 characters."""
MAX_ACCESSION_CHARS = 16
"""DICOM Accession Number (SH) holds 16 characters."""
_RESERVED = re.compile(r"[|^~\\&\x00-\x1f\x7f]")


def _check_identifier(text: str, what: str, max_chars: int) -> None:
    """Refuse an identifier no receiver can carry unchanged (empty, too long, delimiters)."""
    if not text:
        raise ExchangeInputError(f"no {what} given")
    if len(text) > max_chars:
        raise ExchangeInputError(f"{what} {text!r} is longer than {max_chars} characters")
    if _RESERVED.search(text):
        raise ExchangeInputError(
            f"{what} {text!r} holds an HL7/DICOM delimiter (| ^ ~ \\ &) or a control character"
        )


def parse_utc(text: str, what: str) -> dt.datetime:
    """An ISO 8601 UTC time of the summary (``…Z``) as an aware datetime."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise ExchangeInputError(f"{what}: not an ISO 8601 time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def read_summary(path: Path) -> dict[str, Any]:
    """The JSON summary of a run, checked to be one."""
    try:
        summary = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExchangeInputError(f"{path}: no such summary file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ExchangeInputError(f"{path}: not a readable JSON summary ({exc})") from None
    if not isinstance(summary, dict) or summary.get("format") != SUMMARY_FORMAT:
        raise ExchangeInputError(f"{path}: not a {SUMMARY_FORMAT} file")
    return summary


def load_run_results(
    summary_path: Path, record_path: Path, patient_id: str, accession: str = ""
) -> RunResults:
    """The model of a finished run from its summary and record.

    Raises
    ------
    ExchangeInputError
        If a file is not what it should be, the two belong to different runs, the run did not
        finish, or the MRN is empty.
    """
    _check_identifier(patient_id.strip(), "patient id (MRN)", MAX_PATIENT_ID_CHARS)
    if accession.strip():
        _check_identifier(accession.strip(), "accession number", MAX_ACCESSION_CHARS)
    summary = read_summary(summary_path)
    record = read_run_record(record_path)
    if record.metadata.get("run_id") != summary.get("run_id"):
        raise ExchangeInputError(
            f"{summary_path} belongs to run {summary.get('run_id')!r}, "
            f"{record_path} to run {record.metadata.get('run_id')!r}"
        )
    if summary.get("status") != "completed":
        raise ExchangeInputError(f"{summary_path}: the run did not complete ({summary['status']})")
    stop = parse_utc(summary.get("stop_time_utc", ""), f"{summary_path}: stop_time_utc")
    return RunResults(
        patient_id=patient_id.strip(),
        accession=accession.strip(),
        run_id=str(summary["run_id"]),
        protocol_name=str(summary["protocol"]["name"]),
        protocol_version=str(summary["protocol"]["version"]),
        start_utc=parse_utc(summary.get("start_time_utc", ""), f"{summary_path}: start_time_utc"),
        stop_utc=stop,
        device=_device(summary, record),
        calibrations=tuple(
            CalibrationUse(c["record"], c["content_sha256"], c["state"], c["due_date"])
            for c in summary.get("calibrations", [])
        ),
        qc_passed=bool(summary.get("qc_passed")),
        results=(*_step_results(summary, stop), _qc_result(summary, stop)),
        maps=_maps(record),
    )


def _device(summary: dict[str, Any], record: RunRecord) -> DeviceIdentity:
    identity = summary.get("instrument", {}).get("detector") or record.devices.get("detector", {})
    return DeviceIdentity(
        model=str(identity.get("model", "")),
        serial=str(identity.get("serial", "")),
        firmware=str(identity.get("firmware", "")),
        software_version=str(summary.get("software_version", "")),
    )


def _failed_steps(summary: dict[str, Any]) -> dict[str, str]:
    """Step name → why its values are withheld (a failed gate on one of its figures)."""
    failed: dict[str, str] = {}
    for gate in summary.get("qc_gates", []):
        if gate.get("ran") and not gate.get("passed"):
            step = str(gate["figure"]).split(".")[0]
            failed.setdefault(step, f"QC gate {gate['step']} failed")
    return failed


def _step_results(summary: dict[str, Any], time_utc: dt.datetime) -> list[Result]:
    withheld_steps = _failed_steps(summary)
    results: list[Result] = []
    for step in summary.get("steps", []):
        figures = step.get("results") or {}
        reason = withheld_steps.get(step["name"], "")
        if step.get("status") != "passed":
            reason = f"step {step['name']} {step.get('status')}"
        if "spo2_percent" in figures:
            table = _OXIMETRY
        elif "sto2_percent" in figures and "toi_percent" in figures:
            table = _TISSUE
        elif "lesions" in figures:
            results += _dot_results(figures, time_utc, reason)
            continue
        else:
            continue
        results += [
            _result(key, coding, figures.get(figure), time_utc, hierarchy, reason)
            for key, figure, coding, hierarchy in table
        ]
    return results


_OXIMETRY = (
    ("spo2", "spo2_percent", codes.SPO2, f"1.{OXIMETRY_BRANCH}.1.1"),
    ("pulse_rate", "pulse_rate_bpm", codes.PULSE_RATE, f"1.{OXIMETRY_BRANCH}.1.2"),
    (
        "perfusion_index",
        "perfusion_index_percent",
        codes.PERFUSION_INDEX,
        f"1.{OXIMETRY_BRANCH}.1.3",
    ),
)
_TISSUE = (
    ("sto2", "sto2_percent", codes.TISSUE_STO2, f"1.{TISSUE_BRANCH}.1.1"),
    ("toi", "toi_percent", codes.TISSUE_TOI, f"1.{TISSUE_BRANCH}.1.2"),
    ("hbt", "hbt_um", codes.TISSUE_HBT, f"1.{TISSUE_BRANCH}.1.3"),
)


def _result(
    key: str,
    coding: ResultCoding,
    value: object,
    time_utc: dt.datetime,
    hierarchy: str,
    reason: str,
) -> Result:
    number = float(value) if isinstance(value, int | float) and np.isfinite(value) else None
    if number is None and not reason:
        reason = "no valid value"
    return Result(
        key=key,
        coding=coding,
        value=None if reason else number,
        time_utc=time_utc,
        hierarchy=hierarchy,
        withheld_reason=reason,
    )


def _dot_results(figures: dict[str, Any], time_utc: dt.datetime, reason: str) -> list[Result]:
    lesions = figures.get("lesions") or []
    background = figures.get("background") or {}
    results = [
        _result("lesion_count", codes.LESION_COUNT, len(lesions), time_utc, "1.3.1.1", reason),
        _result(
            "background.hbt",
            codes.BACKGROUND_HBT,
            background.get("hbt_um"),
            time_utc,
            "1.3.1.2",
            reason,
        ),
        _result(
            "background.sto2",
            codes.BACKGROUND_STO2,
            background.get("sto2_percent"),
            time_utc,
            "1.3.1.3",
            reason,
        ),
    ]
    for number, lesion in enumerate(lesions, start=1):
        centroid = lesion.get("centroid_mm") or [None, None, None]
        values = (
            (codes.LESION_X, centroid[0]),
            (codes.LESION_Y, centroid[1]),
            (codes.LESION_DEPTH, centroid[2]),
            (codes.LESION_VOLUME, lesion.get("volume_mm3")),
            (codes.LESION_CONTRAST, lesion.get("peak_contrast")),
            (codes.LESION_HBT, lesion.get("hbt_um")),
            (codes.LESION_STO2, lesion.get("sto2_percent")),
        )
        results += [
            _result(
                f"lesion-{number}.{coding.primary.code.removeprefix('DOT-LESION-').lower()}",
                coding,
                value,
                time_utc,
                f"1.{DOT_BRANCH}.{number + 1}.{metric}",
                reason,
            )
            for metric, (coding, value) in enumerate(values, start=1)
        ]
    return results


def _qc_result(summary: dict[str, Any], time_utc: dt.datetime) -> Result:
    passed = bool(summary.get("qc_passed"))
    return Result(
        key="qc",
        coding=codes.QC_VERDICT,
        value=None,
        time_utc=time_utc,
        hierarchy=f"1.{QC_BRANCH}.1.1",
        value_code=codes.QC_PASSED if passed else codes.QC_FAILED,
    )


def _maps(record: RunRecord) -> tuple[MapImage, ...]:
    """StO2 maps and DOT HbT/StO2 slices held in the record's results."""
    stated_pitch = record.probe.get("pixel_pitch_mm")
    pitch = float(stated_pitch) if isinstance(stated_pitch, int | float) else DEFAULT_PITCH_MM
    maps: list[MapImage] = []
    for step, arrays in record.results.items():
        if isinstance(arrays.get("sto2_map_percent"), np.ndarray):
            region_px = _region_pixels(record, arrays)
            maps.append(
                MapImage(
                    f"StO2 map ({step})",
                    np.asarray(arrays["sto2_map_percent"], dtype=float),
                    codes.PERCENT,
                    (pitch * region_px, pitch * region_px),
                )
            )
        if isinstance(arrays.get("dot_hbt_map"), np.ndarray):
            maps += _dot_slices(arrays)
    return tuple(maps)


def _region_pixels(record: RunRecord, arrays: dict[str, object]) -> int:
    figures = arrays.get("results_json")
    try:
        return int(json.loads(str(figures)).get("region_px", 1)) if figures else 1
    except (ValueError, AttributeError):
        logger.warning("%s: unreadable results_json; StO2 map spacing taken as 1 px", record.path)
        return 1


def _dot_slices(arrays: dict[str, object]) -> list[MapImage]:
    x_mm, y_mm, z_mm = (np.asarray(arrays[f"dot_{axis}_mm"], dtype=float) for axis in "xyz")
    spacing = (
        float(np.diff(y_mm).mean()) if y_mm.size > 1 else 1.0,
        float(np.diff(x_mm).mean()) if x_mm.size > 1 else 1.0,
    )
    slices = []
    for name, title, unit in (
        ("dot_hbt_map", "DOT HbT", codes.MICROMOLAR),
        ("dot_sto2_map", "DOT StO2", codes.PERCENT),
    ):
        volume = np.asarray(arrays.get(name), dtype=float)  # (x, y, z)
        if volume.ndim != 3:
            continue
        slices += [
            MapImage(f"{title} z = {z:g} mm", volume[:, :, index].T, unit, spacing)
            for index, z in enumerate(z_mm)
        ]
    return slices
