"""``prompt``: the operator does something (e.g. moves the probe) and confirms."""

from __future__ import annotations

from protocols.protocol_file import PromptStep
from protocols.steps.context import RunContext, StepOutcome


def run(step: PromptStep, context: RunContext) -> StepOutcome:
    """Show the step's message and wait until the operator confirms it (pause holds the wait,
    abort ends the run); the result says who confirmed: ``operator`` or ``automatic``."""
    confirmed_by = context.ask_operator(step.message)
    return StepOutcome("passed", {"confirmed_by": confirmed_by})
