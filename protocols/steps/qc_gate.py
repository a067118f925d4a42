"""``qc_gate``: a named figure of an earlier step against limits."""

from __future__ import annotations

import math
import re
from numbers import Real
from typing import Annotated, Literal

from pydantic import Field, model_validator

from protocols.context import RunContext, StepOutcome
from protocols.events import QcResult
from protocols.schema import EarlierSteps, Fail, StepBase, StepKind, earlier_step_problem


class QcGateStep(StepBase):
    """A named figure of an earlier step against limits."""

    kind: Literal["qc_gate"]
    figure: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_]+$")]
    low: float | None = None
    high: float | None = None
    unit: str = ""
    stops_run: bool = False

    @model_validator(mode="after")
    def _limits(self) -> QcGateStep:
        if self.low is None and self.high is None:
            raise ValueError("a QC gate needs low, high or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}")
        return self


def check(step: QcGateStep, earlier: EarlierSteps, fail: Fail) -> QcGateStep:
    """The gated figure must be one the named earlier step produces."""
    target, figure = step.figure.rsplit(".", 1)
    produced = earlier.figures.get(target, ())
    if not produced:
        with_figures = tuple(kind for name, kind in earlier.kinds.items() if earlier.figures[name])
        fail("figure", earlier_step_problem(target, earlier, with_figures, "figures"))
    if not any(re.fullmatch(name, figure) for name in produced):
        fail(
            "figure",
            f"step {target!r} produces no figure {figure!r}; allowed: "
            + ", ".join(name.replace(r"\d+", "<nm>") for name in produced),
        )
    return step


def run(step: QcGateStep, context: RunContext) -> StepOutcome:
    """Pass when ``low <= value <= high``; a missing or non-numeric figure fails the gate."""
    source, figure = step.figure.rsplit(".", 1)
    outcome = context.outcomes.get(source)
    value = _number(None if outcome is None else outcome.results.get(figure))
    passed = (
        value is not None
        and (step.low is None or value >= step.low)
        and (step.high is None or value <= step.high)
    )
    context.emit(
        QcResult(
            context.step_name,
            step.figure,
            math.nan if value is None else value,
            step.unit,
            step.low,
            step.high,
            passed,
            step.stops_run,
        )
    )
    results = {
        "figure": step.figure,
        "value": value,
        "unit": step.unit,
        "low": step.low,
        "high": step.high,
        "passed": passed,
    }
    if passed:
        return StepOutcome("passed", results)
    if value is None:
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


def _number(value: object) -> float | None:
    """``value`` as a finite float, or None when it is not a finite number."""
    if isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _limit(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


KIND = StepKind(QcGateStep, run, check=check)
