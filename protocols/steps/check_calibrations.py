"""``check_calibrations``: the states of the run's calibrations, checked when it started.

A protocol names calibration *kinds* (``spo2-curve``, ``detector-characterisation`` …); each
resolves to the newest usable record of that kind in the site's registry, else the newest of
that kind (so that an expired one is reported as expired).
"""

from __future__ import annotations

import datetime as dt

from calibration.registry import USABLE_STATES, Registry
from protocols.calibration_gate import (
    CalibrationRefused,
    CalibrationUse,
    Override,
    check_calibrations,
)
from protocols.protocol_file import CheckCalibrationsStep
from protocols.steps.context import RunContext, StepOutcome


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


def run(step: CheckCalibrationsStep, context: RunContext) -> StepOutcome:
    """The calibration states as figures. A clinical run with an unusable calibration never
    gets here (the runner refuses it before the first step); should one, the step fails. QC and
    research runs pass and carry the states, with a warning for what is missing."""
    results = {
        "calibrations": [
            {"record": u.record, "state": u.state, "due_date": u.due_date}
            for u in context.calibration_uses
        ],
        "unusable_count": sum(u.state not in USABLE_STATES for u in context.calibration_uses)
        - sum(bool(u.override_by) for u in context.calibration_uses),
    }
    message = "; ".join(context.calibration_problems)
    if context.clinical and message:
        return StepOutcome("failed", results, message=message, stops_run=step.stops_run)
    return StepOutcome("passed", results, message=message)
