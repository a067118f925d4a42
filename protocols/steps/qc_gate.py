"""``qc_gate``: a named figure of an earlier step against limits."""

from __future__ import annotations

import math
from numbers import Real

from protocols.events import QcResult
from protocols.protocol_file import QcGateStep
from protocols.steps.context import RunContext, StepOutcome


def run(step: QcGateStep, context: RunContext) -> StepOutcome:
    """Pass when ``low <= value <= high``; a missing or non-numeric figure fails the gate."""
    source, figure = step.figure.rsplit(".", 1)
    outcome = context.outcomes.get(source)
    value = None if outcome is None else outcome.results.get(figure)
    numeric = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    passed = (
        numeric
        and (step.low is None or value >= step.low)
        and (step.high is None or value <= step.high)
    )
    context.emit(
        QcResult(
            step.name,
            step.figure,
            float(value) if numeric else math.nan,
            step.unit,
            step.low,
            step.high,
            bool(passed),
            step.stops_run,
        )
    )
    results = {
        "figure": step.figure,
        "value": float(value) if numeric else None,
        "unit": step.unit,
        "low": step.low,
        "high": step.high,
        "passed": bool(passed),
    }
    if passed:
        return StepOutcome("passed", results)
    if not numeric:
        why = (
            f"step {source!r} did not run"
            if outcome is None
            else f"step {source!r} {outcome.status}: {outcome.message}"
            if outcome.status != "passed"
            else f"step {source!r} has no numeric figure {figure!r}"
        )
        message = f"{step.figure} is not available ({why})"
    else:
        message = f"{step.figure} = {value:.4g} {step.unit} outside [{_limit(step.low)}, "
        message += f"{_limit(step.high)}]"
    return StepOutcome("failed", results, message=message, stops_run=step.stops_run)


def _limit(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"
