"""The protocol layer's check that a run's calibrations are approved and in date.

Clinical runs are refused when any calibration they need is not usable (draft, reviewed,
expired, revoked, superseded, missing, or failing verification). An approver who did not perform
it may override an *expired* calibration with a signed, reasoned audit entry; nothing else can
be overridden. Research and QC runs proceed and carry the states.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from calibration.registry import OVERRIDABLE_STATES, USABLE_STATES, RecordNotFound, Registry


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
        if state in USABLE_STATES and registry.verify(entry.reference):
            state = "failed verification"
        if state not in USABLE_STATES:
            refusals.append(f"{entry.reference} is {state} (due {entry.due_date})")
        uses.append(CalibrationUse(entry.reference, entry.content_sha256, state, entry.due_date))
    if not (clinical and refusals):
        return uses
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
