"""``dark_reference``: frames with every LED off; the mean dark frame for later steps."""

from __future__ import annotations

from typing import Literal

import numpy as np

from drivers.detector_messages import LedStep
from protocols.context import RunContext, StepOutcome
from protocols.schema import PositiveSeconds, StepBase, StepKind


class DarkReferenceStep(StepBase):
    """Acquire frames with every LED off (mean dark frame for the later steps)."""

    kind: Literal["dark_reference"]
    duration_s: PositiveSeconds = 2.0


def run(step: DarkReferenceStep, context: RunContext) -> StepOutcome:
    """Acquire with the protocol's LED steps at 0 mA; store the mean frame (DN)."""
    board = context.instrument.board
    assert board is not None
    dark_pattern = tuple(LedStep(s.wavelength_nm, 0.0) for s in board.led_pattern)
    segment = context.acquire(context.scaled(step.duration_s), dark_pattern, live=False)
    if len(segment.frames) < 2:
        return StepOutcome("failed", message="fewer than two dark frames were received")
    frames = segment.frames.astype(np.float64)
    mean_frame = frames.mean(axis=0)
    context.data[context.step_name] = segment
    results = {
        "frames": len(frames),
        "mean_dn": round(float(mean_frame.mean()), 3),
        "board_temperature_c": round(float(segment.board_temperature_c.mean()), 3),
    }
    return StepOutcome("passed", results, {"mean_frame_dn": mean_frame})


KIND = StepKind(
    DarkReferenceStep, run, figures=("frames", "mean_dn", "board_temperature_c"), acquires=True
)
