"""Who, where and against what a calibration is made: the context file of a calibration.

A YAML file names the laboratory, customer, item, method, reference standards, environment,
interval and tolerances; ``nirpoct calib context-template`` prints a filled-in example.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from calibration.record import (
    DECISION_RULES,
    Environment,
    Item,
    Laboratory,
    Method,
    RecordContent,
    ReferenceStandard,
    Tolerance,
)
from calibration.uncertainty import Result

TEMPLATE = """\
# Context of a calibration: fill in, then pass with --context.
laboratory: {name: nirpoct QC laboratory, address: "1 Example Road, Jinan", location: bench 1}
customer: Qilu Hospital NIR POCT pilot
item:
  instrument: NIR POCT instrument
  model: NIRPD-A64
  serial: SIM000000
  component: detector array
  condition: no damage or malfunction observed
method: {name: EMVA 1288 release 4.0 photon transfer, sop_id: SOP-DET-001, sop_version: "1"}
references:
  - name: calibrated radiometer
    serial: RAD-0001
    certificate_id: CERT-RAD-0001
    calibrated_by: national metrology institute
    due_date: "2027-12-31"
environment: {temperature_c: 23.0, humidity_percent: 40.0}
interval_days: 365
decision_rule: simple acceptance
tolerances:
  - {result: system_gain_dn_per_e, lower: 0.09, upper: 0.11, unit: DN/e⁻}
  - {result: dark_noise_e, lower: null, upper: 12.0, unit: e⁻}
"""


@dataclass(frozen=True)
class CalibrationContext:
    """Everything about a calibration except its measurements."""

    laboratory: Laboratory
    customer: str
    item: Item
    method_name: str
    sop_id: str
    sop_version: str
    references: tuple[ReferenceStandard, ...]
    environment: Environment
    interval_days: int
    decision_rule: str
    tolerances: tuple[Tolerance, ...]

    def method(self, software_version: str) -> Method:
        """The method, with the software version that computed the results."""
        return Method(self.method_name, self.sop_id, self.sop_version, software_version)

    def record_content(
        self,
        kind: str,
        title: str,
        *,
        performed_by: str,
        calibration_date: str,
        software_version: str,
        as_left: tuple[Result, ...],
        as_found: tuple[Result, ...] = (),
        extra_tolerances: tuple[Tolerance, ...] = (),
        arrays: dict[str, np.ndarray] | None = None,
        raw_data_references: tuple[tuple[str, str], ...] = (),
        remarks: str = "",
    ) -> RecordContent:
        """Record content of a calibration made in this context."""
        return RecordContent(
            kind=kind,
            title=title,
            laboratory=self.laboratory,
            customer=self.customer,
            item=self.item,
            method=self.method(software_version),
            references=self.references,
            environment=self.environment,
            performed_by=performed_by,
            calibration_date=calibration_date,
            interval_days=self.interval_days,
            as_left=as_left,
            as_found=as_found,
            tolerances=self.tolerances + extra_tolerances,
            decision_rule=self.decision_rule,  # type: ignore[arg-type]
            arrays=arrays or {},
            raw_data_references=raw_data_references,
            remarks=remarks,
        )


def parse_context(text: str, source: str) -> CalibrationContext:
    """Parse a context file's text.

    Raises
    ------
    ValueError
        Naming ``source`` and the missing or malformed field.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a mapping of fields")
    try:
        rule = data.get("decision_rule", "simple acceptance")
        if rule not in DECISION_RULES:
            raise ValueError(f"decision_rule must be one of {sorted(DECISION_RULES)}")
        method = _mapping(data, "method")
        references = data.get("references")
        if not isinstance(references, list) or not references:
            raise ValueError("references: a list of reference standards is required")
        standards = []
        for number, reference in enumerate(references, start=1):
            if not isinstance(reference, dict):
                raise ValueError(f"references[{number}] must be a mapping")
            standard = ReferenceStandard(**{k: str(v) for k, v in reference.items()})
            _date(standard.due_date, f"references[{number}].due_date")
            standards.append(standard)
        interval = data.get("interval_days")
        if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0:
            raise ValueError(f"interval_days must be a whole number of days > 0, got {interval!r}")
        tolerances = data.get("tolerances") or []
        if not isinstance(tolerances, list) or not all(isinstance(t, dict) for t in tolerances):
            raise ValueError("tolerances must be a list of mappings")
        return CalibrationContext(
            laboratory=Laboratory(**_mapping(data, "laboratory")),
            customer=str(data["customer"]),
            item=Item(**_mapping(data, "item")),
            method_name=str(method["name"]),
            sop_id=str(method["sop_id"]),
            sop_version=str(method["sop_version"]),
            references=tuple(standards),
            environment=Environment(**_mapping(data, "environment")),
            interval_days=interval,
            decision_rule=rule,
            tolerances=tuple(Tolerance(**t) for t in tolerances),
        )
    except KeyError as exc:
        raise ValueError(f"{source}: missing field {exc.args[0]!r}") from None
    except TypeError as exc:
        raise ValueError(f"{source}: malformed field ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _mapping(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data[name]
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a mapping of fields")
    return value


def _date(text: str, name: str) -> None:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be a date YYYY-MM-DD, got {text!r}") from None


def load_context(path: str | Path) -> CalibrationContext:
    """Read a context file."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ValueError(f"cannot read calibration context {path}: {exc.strerror}") from None
    return parse_context(text, str(path))
