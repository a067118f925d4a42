"""``check_calibrations``: the states of the run's calibrations, checked when it started.

A protocol names calibration *kinds* (``spo2-curve``, ``detector-characterisation`` …); the
runner resolves each to the newest usable record of that kind in the site's registry, else the
newest of that kind (so that an expired one is reported as expired), with
:func:`calibration.gate.run_calibrations`; this step reports what it found.
"""

from __future__ import annotations

from typing import Literal

from calibration.registry import USABLE_STATES
from protocols.context import RunContext, StepOutcome
from protocols.schema import StepBase, StepKind


class CheckCalibrationsStep(StepBase):
    """Report the states of the required calibrations; fail when any is not usable."""

    kind: Literal["check_calibrations"]
    stops_run: bool = True


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


KIND = StepKind(CheckCalibrationsStep, run, figures=("unusable_count",))
