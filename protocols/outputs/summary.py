"""The JSON summary of a protocol run, for scripts (``nirpoct run --json`` prints it too).

Layout (``format`` ``nirpoct-run-summary``, ``format_version`` 1): ``protocol`` (name,
version, intended use, source, sha256), ``status`` (completed / failed / aborted),
``qc_passed``, ``error``, ``record``, ``report_pdf``, the run's ``run_id``, start and stop
times, ``operator``, ``subject_pseudonym`` (never the id as typed), ``software_version``,
``instrument`` (device identities), ``calibrations`` (record, state, due date, override),
``steps`` (name, kind, status, message, results) and ``qc_gates``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from instrument.run_record import read_run_header
from protocols.protocol_file import Protocol

if TYPE_CHECKING:
    from protocols.context import RunContext

FORMAT = "nirpoct-run-summary"
FORMAT_VERSION = 1


HEADER_FIELDS = (
    "run_id",
    "start_time_utc",
    "stop_time_utc",
    "subject_pseudonym",
    "software_version",
    "status",
)


def _record_attributes(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    metadata = read_run_header(path).metadata
    return {key: metadata[key] for key in HEADER_FIELDS if key in metadata}


def qc_passed(protocol: Protocol, status: str, context: RunContext | None) -> bool:
    """True only when the run completed and every QC gate and every step passed."""
    if status != "completed" or context is None:
        return False
    return all(
        (outcome := context.outcomes.get(step.name)) is not None and outcome.status == "passed"
        for step in protocol.steps
    )


def build_summary(
    protocol: Protocol,
    status: str,
    error: str,
    record_path: Path | None,
    context: RunContext | None,
    *,
    operator: str,
) -> dict[str, Any]:
    """The summary as a JSON-ready dict."""
    attributes = _record_attributes(record_path)
    steps, gates = [], []
    for index, step in enumerate(protocol.steps):
        outcome = context.outcomes.get(step.name) if context is not None else None
        steps.append(
            {
                "index": index,
                "name": step.name,
                "kind": step.kind,
                "status": outcome.status if outcome is not None else "not run",
                "message": outcome.message if outcome is not None else "",
                "results": _clean(outcome.results) if outcome is not None else {},
            }
        )
        if step.kind == "qc_gate":
            result = outcome.results if outcome is not None else {}
            gates.append(
                {
                    "step": step.name,
                    "figure": step.figure,
                    "value": _clean(result.get("value")),
                    "unit": step.unit,
                    "low": step.low,
                    "high": step.high,
                    "passed": bool(result.get("passed", False)),
                    "stops_run": step.stops_run,
                    "ran": outcome is not None,
                }
            )
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "protocol": {
            "name": protocol.name,
            "version": protocol.version,
            "intended_use": protocol.intended_use,
            "source": protocol.source,
            "sha256": protocol.sha256,
        },
        "status": status,
        "qc_passed": qc_passed(protocol, status, context),
        "error": error,
        "record": str(record_path) if record_path is not None else None,
        "report_pdf": None,
        "summary_json": None,
        "run_id": attributes.get("run_id", ""),
        "start_time_utc": attributes.get("start_time_utc", ""),
        "stop_time_utc": attributes.get("stop_time_utc", ""),
        "operator": operator,
        "subject_pseudonym": attributes.get("subject_pseudonym", ""),
        "software_version": attributes.get("software_version", ""),
        "duration_scale": context.duration_scale if context is not None else 1.0,
        "instrument": context.instrument.identities if context is not None else {},
        "calibrations": [
            use.as_attributes() for use in (context.calibration_uses if context else [])
        ],
        "steps": steps,
        "qc_gates": gates,
    }


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """Write the summary as indented JSON."""
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
