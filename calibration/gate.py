"""The calibration gate: which calibration records a run may use, and why not.

Given the calibration kinds a run needs (a list of kind names), explicitly named records, today
and any override, the gate resolves each kind to the newest usable record and checks it. The
protocol runner, ``nirpoct acquire`` and the desktop app all ask it the same questions.

Clinical runs are refused when any calibration they need is not usable (draft, reviewed,
expired, revoked, superseded, missing, or failing verification). An approver who did not perform
it may override an *expired* calibration with a signed, reasoned audit entry; nothing else can
be overridden. Research and QC runs proceed and carry the states.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from calibration.registry import OVERRIDABLE_STATES, USABLE_STATES, RecordNotFound, Registry

logger = logging.getLogger(__name__)


class CalibrationRefused(PermissionError):
    """A clinical run needs a calibration that is not approved and in date."""


@dataclass(frozen=True)
class Override:
    """An authorised person's decision to run despite an unusable calibration."""

    user_id: str
    password: str
    reason: str


@dataclass(frozen=True)
class CalibrationUse:
    """One calibration as a run record stores it."""

    record: str
    content_sha256: str
    state: str
    due_date: str
    override_by: str = ""
    override_reason: str = ""
    override_audit_hash: str = ""

    def as_attributes(self) -> dict[str, str]:
        """Attributes for the run record's ``/calibrations`` group."""
        return asdict(self)


def check_calibrations(
    registry: Registry,
    record_ids: list[str],
    *,
    clinical: bool,
    override: Override | None = None,
    today: dt.date | None = None,
) -> list[CalibrationUse]:
    """States of the calibrations a run uses; refuse a clinical run that may not proceed.

    Raises
    ------
    CalibrationRefused
        Naming each record and its state, when ``clinical`` and any is not usable and no
        override is given (or the run names no calibration at all).
    """
    day = today or dt.date.today()
    if clinical and not record_ids:
        raise CalibrationRefused(
            "clinical run refused: it names no calibration record and the detector board holds "
            "none; pass --calibration ID"
        )
    uses, refusals = [], []
    for record_id in record_ids:
        try:
            entry = registry.latest_usable(record_id, day) or registry.entry(record_id)
        except RecordNotFound:
            refusals.append(f"{record_id} is not in the registry {registry.root}")
            continue
        state = entry.state_on(day)
        integrity = registry.verify(entry.reference) if state in USABLE_STATES else []
        if integrity:
            state = "failed verification"
            refusals.append(f"{entry.reference} failed verification ({integrity[0]})")
        elif state not in USABLE_STATES:
            refusals.append(f"{entry.reference} is {state} (due {entry.due_date})")
        uses.append(CalibrationUse(entry.reference, entry.content_sha256, state, entry.due_date))
    if not (clinical and refusals):
        return uses
    logger.warning("calibrations not usable for a clinical run: %s", "; ".join(refusals))
    if override is None:
        raise CalibrationRefused(
            "clinical run refused: calibration "
            + "; ".join(refusals)
            + ". Recalibrate, or have an approver override with a reason."
        )
    not_overridable = [
        f"{use.record} is {use.state}"
        for use in uses
        if use.state not in USABLE_STATES and use.state not in OVERRIDABLE_STATES
    ]
    if len(uses) < len(record_ids) or not_overridable:
        raise CalibrationRefused(
            "clinical run refused: "
            + "; ".join(refusals)
            + ". Only an expired calibration can be overridden."
        )
    return [
        use
        if use.state in USABLE_STATES
        else CalibrationUse(
            use.record,
            use.content_sha256,
            use.state,
            use.due_date,
            override.user_id,
            override.reason,
            registry.record_override(
                use.record, override.user_id, override.password, override.reason
            ),
        )
        for use in uses
    ]


def resolve_kinds(
    registry: Registry, kinds: tuple[str, ...], day: dt.date
) -> tuple[list[str], list[str]]:
    """Record ids for ``kinds`` and the kinds the registry holds no record of."""
    entries = list(registry.index().values())
    record_ids, missing = [], []
    for kind in kinds:
        of_kind = [e for e in entries if e.kind == kind]
        if not of_kind:
            missing.append(kind)
            continue
        usable = [e for e in of_kind if e.state_on(day) in USABLE_STATES]
        newest = max(usable or of_kind, key=lambda e: (e.calibration_date, e.version))
        record_ids.append(newest.record_id)
    return record_ids, missing


def run_calibrations(
    registry: Registry | None,
    kinds: tuple[str, ...],
    record_ids: list[str],
    *,
    clinical: bool,
    override: Override | None = None,
    day: dt.date | None = None,
) -> tuple[list[CalibrationUse], list[str]]:
    """States of the calibrations a run uses, and what is missing or refused.

    ``record_ids`` are named explicitly (e.g. the detector board's own calibration id). For a
    clinical run every calibration must be approved and in date (or an expired one overridden
    by an approver), else the refusal is among the problems; QC and research runs carry the
    states, and only missing registries or kinds are problems.
    """
    day = day or dt.date.today()
    if registry is None:
        if kinds or record_ids or clinical:
            return [], ["no calibration registry: set NIRPOCT_CALIBRATION_DIR or pass --registry"]
        return [], []
    ids, missing = resolve_kinds(registry, kinds, day)
    ids = list(dict.fromkeys([*ids, *record_ids]))
    problems = [f"no {kind} calibration in the registry {registry.root}" for kind in missing]
    if not clinical:
        return check_calibrations(registry, ids, clinical=False, today=day), problems
    try:
        uses = check_calibrations(
            registry, ids, clinical=not problems, override=override, today=day
        )
    except CalibrationRefused as exc:
        return check_calibrations(registry, ids, clinical=False, today=day), [
            *problems,
            str(exc),
        ]
    return uses, problems


@dataclass(frozen=True)
class KindProblem:
    """A calibration kind without a usable record.

    Attributes
    ----------
    kind : str
        The calibration kind (e.g. ``spo2-curve``).
    record : str
        The record the runner would use (``id@vN``), or ``""`` when the registry holds none.
    state : str
        That record's state (``expired``, ``revoked``, ``failed verification``, …), or
        ``missing``.
    due_date : str
        That record's due date (ISO), or ``""``.
    """

    kind: str
    record: str
    state: str
    due_date: str


@dataclass(frozen=True)
class CalibrationStatus:
    """Calibration kinds without a usable record and the clinical runs they block.

    Attributes
    ----------
    problems : list of KindProblem
        One per unusable kind, in the order the needs name them.
    blocked : dict of str to list of str
        Per blocked clinical run (by name), the unusable kinds it needs.
    """

    problems: list[KindProblem]
    blocked: dict[str, list[str]]


@dataclass(frozen=True)
class CalibrationNeeds:
    """What one kind of run (e.g. a protocol) needs: its name, whether it is clinical, and the
    calibration kinds it requires."""

    name: str
    clinical: bool
    kinds: tuple[str, ...]


def calibration_status(
    registry: Registry, needs: Sequence[CalibrationNeeds], day: dt.date | None = None
) -> CalibrationStatus:
    """What the gate would refuse today: unusable calibration kinds and blocked runs.

    Only clinical runs are blocked; QC and research runs proceed carrying the states.
    Reads and verifies the records (disk I/O: call it off the GUI thread).
    """
    today = day or dt.date.today()
    kinds = list(dict.fromkeys(k for need in needs for k in need.kinds))
    problems: dict[str, KindProblem] = {}
    for kind in kinds:
        record_ids, missing = resolve_kinds(registry, (kind,), today)
        if missing:
            problems[kind] = KindProblem(kind, "", "missing", "")
            continue
        (use,) = check_calibrations(registry, record_ids, clinical=False, today=today)
        if use.state not in USABLE_STATES:
            problems[kind] = KindProblem(kind, use.record, use.state, use.due_date)
    blocked = {
        need.name: [k for k in need.kinds if k in problems]
        for need in needs
        if need.clinical and any(k in problems for k in need.kinds)
    }
    return CalibrationStatus(list(problems.values()), blocked)
