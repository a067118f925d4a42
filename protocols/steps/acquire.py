"""``acquire``: frames with the LEDs of the step's wavelengths, into the run record."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from protocols.context import RunContext, StepOutcome
from protocols.schema import AnalysisRoi, EarlierSteps, Fail, PositiveSeconds, StepBase, StepKind


class AcquireStep(StepBase):
    """Acquire ``duration_s`` seconds with the LEDs of ``wavelengths_nm`` (all by default)."""

    kind: Literal["acquire"]
    duration_s: PositiveSeconds
    wavelengths_nm: Annotated[list[int], Field(min_length=1, max_length=8)] | None = None
    roi: AnalysisRoi | None = None
    live: bool = True


def check(step: AcquireStep, earlier: EarlierSteps, fail: Fail) -> AcquireStep:
    """The chosen wavelengths must be in the protocol's LED pattern, when it has one."""
    if step.wavelengths_nm and earlier.led_wavelengths_nm is not None:
        missing = sorted(set(step.wavelengths_nm) - earlier.led_wavelengths_nm)
        if missing:
            fail(
                "wavelengths_nm",
                f"{missing} nm not in device.led_pattern; allowed: "
                f"{sorted(earlier.led_wavelengths_nm)}",
            )
    return step


def run(step: AcquireStep, context: RunContext) -> StepOutcome:
    """Acquire ``duration_s`` (scaled) with the protocol's LED steps at ``wavelengths_nm``."""
    board = context.instrument.board
    assert board is not None
    pattern = tuple(
        s
        for s in board.led_pattern
        if step.wavelengths_nm is None or s.wavelength_nm in step.wavelengths_nm
    )
    if not pattern:
        return StepOutcome(
            "failed",
            message=f"the LED pattern has none of {step.wavelengths_nm} nm",
            stops_run=True,
        )
    segment = context.acquire(context.scaled(step.duration_s), pattern, live=step.live)
    context.data[context.step_name] = segment
    stats = segment.stats
    results = {
        "frames": stats.frames,
        "duration_s": stats.duration_s,
        "dropped_frames": stats.dropped_frames,
        "wavelengths_nm": list(stats.wavelengths_nm),
    }
    return StepOutcome("passed", results)


KIND = StepKind(
    AcquireStep,
    run,
    figures=("frames", "duration_s", "dropped_frames"),
    acquires=True,
    check=check,
)
