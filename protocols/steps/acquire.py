"""``acquire``: frames with the LEDs of the step's wavelengths, into the run record.

A live acquisition (``live: true``, the default) also streams the imaging-PPG and StO2 maps
its LED pattern allows every few seconds (:mod:`protocols.live_maps`), from frames corrected
with the run's approved detector-characterisation record; the step's ``frame_correction``
result names the record, or says why the maps read uncorrected frames.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from protocols.context import RunContext, StepOutcome
from protocols.live_maps import LiveMapper, live_mapper
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
    mapper, correction = _live_maps(context, pattern) if step.live else (None, "")
    segment = context.acquire(
        context.scaled(step.duration_s),
        pattern,
        live=step.live,
        consumer=None if mapper is None else mapper.add,
    )
    context.data[context.step_name] = segment
    stats = segment.stats
    results = {
        "frames": stats.frames,
        "duration_s": stats.duration_s,
        "dropped_frames": stats.dropped_frames,
        "wavelengths_nm": list(stats.wavelengths_nm),
    }
    if mapper is not None:
        mapper.finish()
        results["live_maps"] = sorted(mapper.latest.maps) if mapper.latest is not None else []
        results["frame_correction"] = correction
    return StepOutcome("passed", results)


def _live_maps(context: RunContext, pattern: tuple[Any, ...]) -> tuple[LiveMapper | None, str]:
    """The step's live maps (None when its pattern allows none) and its frame correction."""
    board = context.instrument.board
    assert board is not None
    steps = tuple((float(s.wavelength_nm), float(s.drive_current_ma)) for s in pattern)
    if len({w for w, current in steps if current > 0.0}) < 2:
        return None, ""
    corrector, correction = context.frame_correction()
    return live_mapper(context, steps, board.frame_rate_hz, corrector), correction


KIND = StepKind(
    AcquireStep,
    run,
    figures=("frames", "duration_s", "dropped_frames"),
    acquires=True,
    check=check,
)
