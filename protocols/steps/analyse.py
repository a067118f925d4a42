"""``analyse``: an analysis of an earlier step's data; its figures become the step's results.

The analyses are the modules of :mod:`protocols.analyses`; their names, options models,
allowed sources and figures come from :data:`ANALYSES`, so adding one is one module there and
its line here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError

from protocols.analyses import (
    detector_characterisation,
    dot,
    frame_statistics,
    imaging_ppg,
    led_signal,
    spo2,
    sto2,
)
from protocols.context import RunContext, StepOutcome
from protocols.schema import (
    AnalysisKind,
    EarlierSteps,
    Fail,
    StepBase,
    StepKind,
    StepName,
    earlier_step_problem,
    explain,
)

ANALYSES: dict[str, AnalysisKind] = {
    module.ANALYSIS.name: module.ANALYSIS
    for module in (
        frame_statistics,
        led_signal,
        detector_characterisation,
        spo2,
        imaging_ppg,
        sto2,
        dot,
    )
}
"""Analysis name → what it is, in the order protocol files document them."""


class AnalyseStep(StepBase):
    """Run an analysis on an earlier step's data; its figures become the step's results."""

    kind: Literal["analyse"]
    analysis: Literal[tuple(ANALYSES)]  # type: ignore[valid-type]
    source: StepName
    dark: StepName | None = None
    options: dict[str, Any] = Field(default_factory=dict)


def check(step: AnalyseStep, earlier: EarlierSteps, fail: Fail) -> AnalyseStep:
    """Source and dark reference are earlier steps of the right kinds; the options are the
    analysis's (validated, unset ones left out)."""
    analysis = ANALYSES[step.analysis]
    if earlier.kinds.get(step.source) not in analysis.sources:
        fail(
            "source",
            earlier_step_problem(
                step.source, earlier, analysis.sources, f"data for {step.analysis}"
            ),
        )
    if step.dark is not None and earlier.kinds.get(step.dark) != "dark_reference":
        fail("dark", earlier_step_problem(step.dark, earlier, ("dark_reference",), "dark frames"))
    try:
        options = analysis.options.model_validate(step.options)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in ("options", *error["loc"]))
        allowed = ", ".join(analysis.options.model_fields) or "none"
        fail(field, f"{explain(error)} (options of {step.analysis}: {allowed})")
    for name in analysis.frame_options:
        referenced = getattr(options, name, None)
        if referenced is not None and earlier.kinds.get(referenced) != "acquire":
            fail(
                f"options.{name}",
                earlier_step_problem(referenced, earlier, ("acquire",), f"{name} frames"),
            )
    values = options.model_dump(exclude_unset=True, exclude_none=True)
    return step.model_copy(update={"options": values})


def run(step: AnalyseStep, context: RunContext) -> StepOutcome:
    """Run the step's analysis."""
    context.progress(0.0, f"{step.analysis} of {step.source}")
    return ANALYSES[step.analysis].run(step, context)


def figures(step: AnalyseStep) -> tuple[str, ...]:
    """The figures of the step's analysis."""
    return ANALYSES[step.analysis].figures


KIND = StepKind(AnalyseStep, run, figures=figures, check=check)
