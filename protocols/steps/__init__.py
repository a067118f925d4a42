"""Step kinds of a protocol: one module per kind, each with ``run(step, context)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protocols.steps import (
    acquire,
    analyse,
    check_calibrations,
    dark_reference,
    lockin_sweep,
    photon_transfer,
    prompt,
    qc_gate,
    report,
    warm_up,
)
from protocols.steps.context import RunContext, StepOutcome

StepFunction = Callable[[Any, RunContext], StepOutcome]

STEP_FUNCTIONS: dict[str, StepFunction] = {
    "check_calibrations": check_calibrations.run,
    "warm_up": warm_up.run,
    "dark_reference": dark_reference.run,
    "acquire": acquire.run,
    "lockin_sweep": lockin_sweep.run,
    "photon_transfer": photon_transfer.run,
    "analyse": analyse.run,
    "qc_gate": qc_gate.run,
    "prompt": prompt.run,
    "report": report.run,
}
