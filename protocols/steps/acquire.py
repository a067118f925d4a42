"""``acquire``: frames with the LEDs of the step's wavelengths, into the run record."""

from __future__ import annotations

from protocols.protocol_file import AcquireStep
from protocols.steps.context import RunContext, StepOutcome


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
    context.data[step.name] = segment
    stats = segment.stats
    results = {
        "frames": stats.frames,
        "duration_s": stats.duration_s,
        "dropped_frames": stats.dropped_frames,
        "wavelengths_nm": list(stats.wavelengths_nm),
    }
    return StepOutcome("passed", results)
