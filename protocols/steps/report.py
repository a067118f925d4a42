"""``report``: marks where the protocol's report is due; the runner writes the PDF and the
JSON summary when the run ends (also when it ends early), so they hold the final status."""

from __future__ import annotations

from protocols.protocol_file import ReportStep
from protocols.steps.context import RunContext, StepOutcome


def run(step: ReportStep, context: RunContext) -> StepOutcome:
    """Note the report title for the runner."""
    context.data["report_title"] = step.title
    return StepOutcome("passed", {"report_title": step.title})
