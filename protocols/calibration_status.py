"""Which calibration kinds have no usable record, and which protocols that blocks.

The protocol runner resolves each calibration a protocol needs by kind: the newest usable
record of that kind (:func:`protocols.steps.check_calibrations.resolve_kinds`), checked by
:func:`protocols.calibration_gate.check_calibrations`. This module asks the same two questions
for every protocol at once, so a display can say what would be refused before anyone starts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from calibration.registry import USABLE_STATES, Registry
from protocols.calibration_gate import check_calibrations
from protocols.protocol_file import Protocol
from protocols.steps.check_calibrations import resolve_kinds


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
    """Calibration kinds without a usable record and the clinical protocols they block.

    Attributes
    ----------
    problems : list of KindProblem
        One per unusable kind, in the order the protocols name them.
    blocked : dict of str to list of str
        Per blocked clinical protocol (by name), the unusable kinds it needs.
    """

    problems: list[KindProblem]
    blocked: dict[str, list[str]]


def calibration_status(
    registry: Registry, protocols: Sequence[Protocol], day: dt.date | None = None
) -> CalibrationStatus:
    """What the runner would refuse today: unusable calibration kinds and blocked protocols.

    Only clinical protocols are blocked; QC and research runs proceed carrying the states.
    Reads and verifies the records (disk I/O: call it off the GUI thread).
    """
    today = day or dt.date.today()
    kinds = list(dict.fromkeys(k for p in protocols for k in p.required_calibrations))
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
        p.name: [k for k in p.required_calibrations if k in problems]
        for p in protocols
        if p.clinical and any(k in problems for k in p.required_calibrations)
    }
    return CalibrationStatus(list(problems.values()), blocked)
