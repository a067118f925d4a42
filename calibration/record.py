"""What a calibration record says: the content that is hashed, signed and certified.

The content covers the ISO/IEC 17025 §7.8 certificate fields (laboratory, customer, item and
its condition, method and version, dates, results with units and expanded uncertainty, the
environment, the reference standards behind the results with their certificates and due dates,
as-found and as-left results, tolerances with the decision rule and the statement of
conformity) plus the raw data and coefficients as arrays. Its SHA-256 content hash is what
signatures bind and what verification recomputes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from calibration.uncertainty import Budget, Component, Result

DecisionRule = Literal["simple acceptance", "guarded acceptance"]
Verdict = Literal["pass", "fail", "indeterminate"]
Stage = Literal["as found", "as left"]

SCOPE_STATEMENT = "The results relate only to the item calibrated."
DECISION_RULES: dict[str, str] = {
    "simple acceptance": "pass when the measured value lies within the tolerance limits "
    "(ILAC-G8 simple acceptance, shared risk)",
    "guarded acceptance": "pass when value ± U lies within the limits, fail when the value lies "
    "outside them, indeterminate otherwise (guard band w = U, ILAC-G8)",
}


@dataclass(frozen=True)
class Laboratory:
    """Who calibrated, where."""

    name: str
    address: str
    location: str = "laboratory"


@dataclass(frozen=True)
class Item:
    """The item calibrated and its condition on receipt."""

    instrument: str
    model: str
    serial: str
    component: str
    condition: str = "no damage or malfunction observed"


@dataclass(frozen=True)
class Method:
    """Method or SOP with its version, and the software that computed the results."""

    name: str
    sop_id: str
    sop_version: str
    software_version: str


@dataclass(frozen=True)
class ReferenceStandard:
    """A reference standard used, with its own certificate (metrological traceability)."""

    name: str
    serial: str
    certificate_id: str
    calibrated_by: str
    due_date: str

    def in_date_on(self, day: dt.date) -> bool:
        """True when the standard's calibration is valid on ``day``."""
        return dt.date.fromisoformat(self.due_date) >= day


@dataclass(frozen=True)
class Environment:
    """Conditions that influence the results."""

    temperature_c: float
    humidity_percent: float | None = None
    notes: str = ""


@dataclass(frozen=True)
class Tolerance:
    """Acceptance limits of one result (either limit may be open)."""

    result: str
    lower: float | None
    upper: float | None
    unit: str


@dataclass(frozen=True)
class ConformityStatement:
    """Verdict of one result against its tolerance under the record's decision rule."""

    stage: Stage
    result: str
    value: float
    expanded_uncertainty: float
    unit: str
    lower: float | None
    upper: float | None
    verdict: Verdict


@dataclass(frozen=True)
class RecordContent:
    """Everything a calibration record states, except its lifecycle and signatures.

    Attributes
    ----------
    kind : str
        Calibration type, e.g. ``detector-characterisation``, ``spo2-curve``.
    title : str
        Title of the certificate.
    customer : str
        Owner of the item.
    performed_by : str
        User id of the person who performed the calibration.
    calibration_date : str
        ISO date of the calibration.
    interval_days : int
        Calibration interval; the record is valid up to and including
        ``calibration_date + interval_days``.
    as_found, as_left : tuple of Result
        Results before and after adjustment (``as_found`` empty when nothing was adjusted).
    arrays : dict of str to numpy.ndarray
        Raw data (``raw/…``) and coefficients (``coefficients/…``) stored with the record.
    raw_data_references : tuple of (str, str)
        Raw data kept elsewhere: (location, SHA-256 of the file).
    """

    kind: str
    title: str
    laboratory: Laboratory
    customer: str
    item: Item
    method: Method
    references: tuple[ReferenceStandard, ...]
    environment: Environment
    performed_by: str
    calibration_date: str
    interval_days: int
    as_left: tuple[Result, ...]
    as_found: tuple[Result, ...] = ()
    tolerances: tuple[Tolerance, ...] = ()
    decision_rule: DecisionRule = "simple acceptance"
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    raw_data_references: tuple[tuple[str, str], ...] = ()
    remarks: str = ""

    def __post_init__(self) -> None:
        dt.date.fromisoformat(self.calibration_date)
        if self.interval_days <= 0:
            raise ValueError(f"calibration interval must be > 0 days, got {self.interval_days}")
        if self.decision_rule not in DECISION_RULES:
            raise ValueError(f"decision rule must be one of {sorted(DECISION_RULES)}")

    @property
    def due_date(self) -> dt.date:
        """Last day on which the calibration is valid; it is expired from the next day."""
        return dt.date.fromisoformat(self.calibration_date) + dt.timedelta(self.interval_days)

    def conformity(self) -> tuple[ConformityStatement, ...]:
        """Statements of conformity of every toleranced result, as found and as left."""
        limits = {t.result: t for t in self.tolerances}
        statements = []
        stages: tuple[tuple[Stage, tuple[Result, ...]], ...] = (
            ("as found", self.as_found),
            ("as left", self.as_left),
        )
        for stage, results in stages:
            for result in results:
                if result.name in limits:
                    statements.append(_judge(stage, result, limits[result.name], self))
        return tuple(statements)

    @property
    def out_of_tolerance_as_found(self) -> bool:
        """True when any as-found result failed its tolerance."""
        return any(s.verdict == "fail" for s in self.conformity() if s.stage == "as found")


def _judge(
    stage: Stage, result: Result, limit: Tolerance, content: RecordContent
) -> ConformityStatement:
    value, expanded = result.value, result.expanded_uncertainty
    lower = -math.inf if limit.lower is None else limit.lower
    upper = math.inf if limit.upper is None else limit.upper
    inside = lower <= value <= upper
    if content.decision_rule == "simple acceptance":
        verdict: Verdict = "pass" if inside else "fail"
    elif not inside:
        verdict = "fail"
    else:
        verdict = (
            "pass" if lower <= value - expanded and value + expanded <= upper else ("indeterminate")
        )
    return ConformityStatement(
        stage, result.name, value, expanded, result.unit, limit.lower, limit.upper, verdict
    )


@dataclass(frozen=True)
class RecordHeader:
    """Identity of one version of a record."""

    record_id: str
    version: int
    supersedes: str
    created_utc: str
    scope_statement: str = SCOPE_STATEMENT


# ---------------------------------------------------------------------------- serialisation
def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces); infinities written as "inf"."""
    return json.dumps(_finite(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def metadata_dict(header: RecordHeader, content: RecordContent) -> dict[str, Any]:
    """Header and content as plain JSON-ready data (arrays left out)."""
    body = asdict(content)
    body.pop("arrays")
    return {"header": asdict(header), "content": body, "array_names": sorted(content.arrays)}


def array_digest(name: str, array: np.ndarray) -> str:
    """SHA-256 of one named array: name, dtype, shape and bytes."""
    digest = hashlib.sha256()
    contiguous = np.ascontiguousarray(array)
    digest.update(f"{name}|{contiguous.dtype.str}|{contiguous.shape}|".encode())
    digest.update(contiguous.tobytes())
    return digest.hexdigest()


def content_hash(metadata: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 binding the metadata and every array of a record."""
    digest = hashlib.sha256(canonical_json(metadata).encode())
    for name in sorted(arrays):
        digest.update(array_digest(name, arrays[name]).encode())
    return digest.hexdigest()


def _result_from_dict(data: dict[str, Any]) -> Result:
    budget = data["budget"]
    components = tuple(
        Component(**{k: _number(v) for k, v in c.items()}) for c in budget["components"]
    )
    return Result(
        data["name"], data["value"], data["unit"], Budget(components, budget["coverage_factor"])
    )


def _number(value: Any) -> Any:
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return value


def content_from_metadata(metadata: dict[str, Any], arrays: dict[str, np.ndarray]) -> RecordContent:
    """Rebuild :class:`RecordContent` from :func:`metadata_dict` output and the arrays."""
    body = dict(metadata["content"])
    return RecordContent(
        kind=body["kind"],
        title=body["title"],
        laboratory=Laboratory(**body["laboratory"]),
        customer=body["customer"],
        item=Item(**body["item"]),
        method=Method(**body["method"]),
        references=tuple(ReferenceStandard(**r) for r in body["references"]),
        environment=Environment(**body["environment"]),
        performed_by=body["performed_by"],
        calibration_date=body["calibration_date"],
        interval_days=body["interval_days"],
        as_left=tuple(_result_from_dict(r) for r in body["as_left"]),
        as_found=tuple(_result_from_dict(r) for r in body["as_found"]),
        tolerances=tuple(Tolerance(**t) for t in body["tolerances"]),
        decision_rule=body["decision_rule"],
        arrays=dict(arrays),
        raw_data_references=tuple(tuple(pair) for pair in body["raw_data_references"]),
        remarks=body["remarks"],
    )


def header_from_metadata(metadata: dict[str, Any]) -> RecordHeader:
    """Rebuild the :class:`RecordHeader`."""
    return RecordHeader(**metadata["header"])
