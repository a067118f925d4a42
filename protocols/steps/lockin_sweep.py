"""``lockin_sweep``: lock-in amplitude of the modulated bench LED across reference frequencies.

The bench LED is sine-modulated at the lock-in's reference frequency and seen by the
photodiode and its transimpedance amplifier; the amplitude at each frequency, relative to the
lowest one, checks the lock-in chain (reference lock, ranging, filter settling) and the
detector's roll-off.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from drivers.errors import DeviceError
from drivers.lockin import LockInAmplifier
from protocols.context import RunContext, StepFailure, StepOutcome
from protocols.schema import StepBase, StepKind


class LockinSweepStep(StepBase):
    """Lock-in amplitude of the modulated bench LED at each reference frequency."""

    kind: Literal["lockin_sweep"]
    frequencies_hz: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)]
    wavelength_nm: Annotated[float, Field(ge=300, le=2000)] = 850.0
    led_current_a: Annotated[float, Field(gt=0, le=2)] = 0.1
    time_constant_s: Annotated[float, Field(gt=0, le=30)] = 0.03
    readings: Annotated[int, Field(ge=2, le=100)] = 3


def run(step: LockinSweepStep, context: RunContext) -> StepOutcome:
    """Amplitude R (V rms) per frequency; figures ``amplitude_v`` (at the first frequency),
    ``relative_response_min_percent`` and ``valid_fraction``."""
    bench = context.instrument.bench
    lockin, led = bench.lockin, bench.ledsource
    if lockin is None or led is None:
        raise StepFailure("the lock-in sweep needs a lock-in amplifier and an LED source")
    low, high = lockin.MODEL.frequency_range_hz
    frequencies = [f for f in step.frequencies_hz if low <= f <= high]
    if not frequencies:
        raise StepFailure(f"no sweep frequency within the {lockin.name} range {low:g}–{high:g} Hz")
    led.wavelength_nm = step.wavelength_nm
    led.current_a = step.led_current_a
    lockin.time_constant_s = step.time_constant_s
    led.output_enabled = True
    amplitudes, valid = [], []
    try:
        for index, frequency in enumerate(frequencies):
            context.checkpoint()
            lockin.frequency_hz = frequency
            readings = _amplitudes(lockin, step.readings)
            amplitudes.append(float(np.mean([r for r, _ in readings])))
            valid.append(all(ok for _, ok in readings))
            context.progress((index + 1) / len(frequencies), f"{frequency:g} Hz")
    finally:
        led.output_enabled = False
    amplitude = np.array(amplitudes)
    relative = 100.0 * amplitude / amplitude[0]
    results = {
        "amplitude_v": float(amplitude[0]),
        "relative_response_min_percent": round(float(relative.min()), 3),
        "valid_fraction": float(np.mean(valid)),
        "frequencies_hz": frequencies,
    }
    arrays = {"frequency_hz": np.array(frequencies), "amplitude_v": amplitude}
    return StepOutcome("passed", results, arrays)


def _amplitudes(lockin: LockInAmplifier, count: int) -> list[tuple[float, bool]]:
    """``count`` readings (R in V rms, valid) on the most sensitive range that holds R."""
    try:
        readings = lockin.read_ranged(count)
    except DeviceError as exc:
        raise StepFailure(f"{lockin.name}: {exc}") from exc
    return [(reading.r_v, reading.valid) for reading in readings]


KIND = StepKind(
    LockinSweepStep,
    run,
    figures=("amplitude_v", "relative_response_min_percent", "valid_fraction"),
    acquires=True,
    uses_bench=True,
)
