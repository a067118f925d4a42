"""``report``: marks where the protocol's report is due; the runner writes the PDF and the
JSON summary when the run ends (also when it ends early), so they hold the final status."""

from __future__ import annotations

from typing import Literal

from protocols.context import RunContext, StepOutcome
from protocols.schema import StepBase, StepKind


class ReportStep(StepBase):
    """Write the PDF report and the JSON summary (also written when a run ends early)."""

    kind: Literal["report"]
    title: str = ""


def run(step: ReportStep, context: RunContext) -> StepOutcome:
    """Note the report title for the runner."""
    context.data["report_title"] = step.title
    return StepOutcome("passed", {"report_title": step.title})


KIND = StepKind(ReportStep, run)
