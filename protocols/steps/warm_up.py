"""``warm_up``: wait until the board temperature is stable."""

from __future__ import annotations

import time
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from protocols.context import RunContext, StepOutcome
from protocols.schema import PositiveSeconds, StepBase, StepKind


class WarmUpStep(StepBase):
    """Wait until the board temperature varies less than ``stable_within_c`` over ``window_s``."""

    kind: Literal["warm_up"]
    stable_within_c: Annotated[float, Field(gt=0, le=10)] = 0.2
    window_s: PositiveSeconds = 10.0
    max_duration_s: PositiveSeconds = 300.0
    poll_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    on_timeout: Literal["fail", "warn"] = "fail"

    @model_validator(mode="after")
    def _window_fits(self) -> WarmUpStep:
        if self.window_s > self.max_duration_s:
            raise ValueError(
                f"window_s {self.window_s:g} must not exceed max_duration_s {self.max_duration_s:g}"
            )
        return self


def run(step: WarmUpStep, context: RunContext) -> StepOutcome:
    """Poll the board temperature until it varied less than ``stable_within_c`` over the last
    ``window_s`` (both scaled by the run's duration scale); fail or warn after
    ``max_duration_s``."""
    board = context.instrument.board
    assert board is not None
    window_s = context.scaled(step.window_s)
    limit_s = context.scaled(step.max_duration_s)
    poll_s = min(step.poll_interval_s, window_s / 5)
    start = time.monotonic()
    times: list[float] = []
    temperatures: list[float] = []
    while True:
        context.checkpoint()
        elapsed = time.monotonic() - start
        times.append(elapsed)
        temperatures.append(board.read_temperature_c())
        t, temperature = np.array(times), np.array(temperatures)
        recent = temperature[t >= elapsed - window_s]
        span = float(np.ptp(recent))
        results = {
            "board_temperature_c": round(temperatures[-1], 3),
            "temperature_span_c": round(span, 4),
            "warm_up_s": round(elapsed, 2),
        }
        arrays = {"time_s": t, "board_temperature_c": temperature}
        if elapsed >= window_s and span <= step.stable_within_c:
            return StepOutcome("passed", results, arrays)
        if elapsed >= limit_s:
            message = (
                f"board temperature still varied {span:.3f} °C over {window_s:g} s after "
                f"{limit_s:g} s (limit {step.stable_within_c:g} °C)"
            )
            status = "failed" if step.on_timeout == "fail" else "passed"
            return StepOutcome(status, results, arrays, message, stops_run=status == "failed")
        context.progress(
            elapsed / limit_s,
            f"board {temperatures[-1]:.2f} °C, varied {span:.3f} °C over the last "
            f"{min(elapsed, window_s):.0f} s",
        )
        time.sleep(poll_s)


KIND = StepKind(
    WarmUpStep,
    run,
    figures=("board_temperature_c", "temperature_span_c", "warm_up_s"),
    acquires=True,
)
