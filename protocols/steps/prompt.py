"""``prompt``: the operator does something (e.g. moves the probe) and confirms."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from protocols.context import RunContext, StepOutcome
from protocols.schema import StepBase, StepKind


class PromptStep(StepBase):
    """Ask the operator to do something (e.g. move the probe) and wait until they confirm."""

    kind: Literal["prompt"]
    message: Annotated[str, Field(min_length=1, max_length=500)]


def run(step: PromptStep, context: RunContext) -> StepOutcome:
    """Show the step's message and wait until the operator confirms it (pause holds the wait,
    abort ends the run); the result says who confirmed: ``operator`` or ``automatic``."""
    confirmed_by = context.ask_operator(step.message)
    return StepOutcome("passed", {"confirmed_by": confirmed_by})


KIND = StepKind(PromptStep, run)
