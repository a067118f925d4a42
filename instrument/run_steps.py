"""The steps of a protocol run record that hold frames, and the frames of each LED step.

A protocol run stores the frames of all its acquiring steps one after another under
``/raw``; ``/results/<step>`` says where each step's frames start (``first_frame``), how many
there are (``frames``) and the LED pattern they were taken with (``led_pattern``, wavelength nm
and drive current mA per LED step). Each step's time and frame counter start again from zero,
so an analysis reads one step at a time: :func:`measurement_view` gives that step as a run
record of its own. A plain acquisition (``nirpoct acquire``) is one measurement as it is.

Within a measurement the board cycles the LED pattern one step per frame; a frame's LED step is
its frame counter modulo the pattern length (:func:`frames_by_led_step`). Steps driven at 0 mA
are dark frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from instrument.run_record import RunRecord, led_pattern_attribute

MEASUREMENT_KIND = "acquire"
"""The protocol step kind a measurement analysis reads by default."""


@dataclass(frozen=True)
class RecordedStep:
    """A protocol step that stored frames.

    Attributes
    ----------
    name, kind : str
        The step's name and kind (``acquire``, ``dark_reference`` …).
    first_frame, frames : int
        Its frames are ``record.frames[first_frame : first_frame + frames]``.
    led_pattern : tuple of (float, float)
        (wavelength nm, drive current mA) per LED step; 0 mA is a dark step.
    """

    name: str
    kind: str
    first_frame: int
    frames: int
    led_pattern: tuple[tuple[float, float], ...]

    @property
    def lit(self) -> bool:
        """True when the step lit an LED."""
        return any(current > 0.0 for _, current in self.led_pattern)


def _pattern(text: object, where: str) -> tuple[tuple[float, float], ...]:
    try:
        steps = json.loads(text) if isinstance(text, str) and text else []
        return tuple((float(w), float(c)) for w, c in steps)
    except (ValueError, TypeError):
        raise ValueError(f"{where}: unreadable led_pattern {text!r}") from None


def led_pattern(record: RunRecord) -> tuple[tuple[float, float], ...]:
    """The LED pattern a measurement was taken with: (wavelength nm, drive current mA) per LED
    step; empty when the record does not say."""
    return _pattern(record.acquisition.get("led_pattern", ""), str(record.path))


def recorded_steps(record: RunRecord) -> list[RecordedStep]:
    """The record's protocol steps that stored frames, in run order (the order of their
    frames; empty for a plain acquisition).

    A step's frame range is cut to the frames the record holds (a writer stopped early keeps
    fewer than the step counted).

    Raises
    ------
    ValueError
        If a step's LED pattern or frame range is unreadable.
    """
    steps = []
    for name, stored in record.results.items():
        result: dict[str, Any] = stored  # values read back from HDF5 attributes, of any type
        if "first_frame" not in result:
            continue
        where = f"{record.path}: step {name}"
        try:
            first, count = int(result["first_frame"]), int(result.get("frames", 0))
        except (TypeError, ValueError):
            raise ValueError(f"{where}: unreadable frame range") from None
        first = min(max(first, 0), len(record.frames))
        count = max(0, min(count, len(record.frames) - first))
        pattern = _pattern(result.get("led_pattern"), where)
        kind = str(result.get("kind", ""))
        steps.append(
            (first, int(result.get("index", 0)), RecordedStep(name, kind, first, count, pattern))
        )
    return [step for *_, step in sorted(steps, key=lambda item: item[:2])]


def step_view(record: RunRecord, step: RecordedStep) -> RunRecord:
    """The frames of one step as a run record of its own (its LED pattern, its start time when
    the record holds it, no results)."""
    window = slice(step.first_frame, step.first_frame + step.frames)
    started = record.results[step.name].get("start_time_utc")
    acquisition = {
        **record.acquisition,
        **{
            key.removeprefix("acquisition_"): value
            for key, value in record.results[step.name].items()
            if key.startswith("acquisition_")
        },
        "led_pattern": led_pattern_attribute(step.led_pattern),
    }
    return replace(
        record,
        frames=record.frames[window],
        time_s=record.time_s[window],
        wavelength_nm=record.wavelength_nm[window],
        board_temperature_c=record.board_temperature_c[window],
        frame_counter=record.frame_counter[window],
        device_time_us=record.device_time_us[window],
        acquisition=acquisition,
        metadata={**record.metadata, **({"start_time_utc": started} if started else {})},
        results={},
    )


def _listing(steps: list[RecordedStep]) -> str:
    return ", ".join(f"{step.name} ({step.kind or 'kind unknown'})" for step in steps)


def measurement_step(record: RunRecord, step_name: str | None = None) -> RecordedStep | None:
    """The protocol step a measurement analysis reads.

    Parameters
    ----------
    record : RunRecord
        A plain acquisition or a protocol run.
    step_name : str, optional
        For a protocol run, the step to read; default its first ``acquire`` step that lit an
        LED.

    Returns
    -------
    RecordedStep or None
        None for a plain acquisition (it is read whole).

    Raises
    ------
    ValueError
        Naming the steps that hold frames: ``step_name`` is not one of them or lit no LED, a
        plain acquisition was given a step, or a protocol run has no lit ``acquire`` step.
    """
    steps = recorded_steps(record)
    if not steps:
        if step_name is not None:
            raise ValueError(
                f"{record.path}: a plain acquisition has no steps (asked for {step_name!r})"
            )
        return None
    if step_name is None:
        # A step of unknown kind (a record from elsewhere) may be a measurement too.
        chosen = [s for s in steps if s.kind in (MEASUREMENT_KIND, "") and s.lit and s.frames]
        if not chosen:
            raise ValueError(
                f"{record.path}: no acquire step holds frames lit by an LED; steps holding "
                f"frames: {_listing(steps)}"
            )
        return chosen[0]
    named = {step.name: step for step in steps}
    if step_name not in named:
        raise ValueError(
            f"{record.path}: no step {step_name!r} holding frames; steps holding frames: "
            f"{_listing(steps)}"
        )
    if not named[step_name].lit:
        raise ValueError(
            f"{record.path}: step {step_name!r} lit no LED (a dark reference); steps holding "
            f"frames: {_listing(steps)}"
        )
    if not named[step_name].frames:
        raise ValueError(
            f"{record.path}: step {step_name!r} holds no frames (it did not finish); steps "
            f"holding frames: {_listing(steps)}"
        )
    return named[step_name]


def measurement_view(record: RunRecord, step_name: str | None = None) -> RunRecord:
    """The frames a measurement analysis reads: the whole of a plain acquisition, else the
    protocol step :func:`measurement_step` picks, as a record of its own."""
    step = measurement_step(record, step_name)
    return record if step is None else step_view(record, step)


def dark_reference_dn(record: RunRecord) -> NDArray[np.float64] | None:
    """Mean frame of the record's dark-reference steps (steps that lit no LED), DN; None when
    the run has none."""
    dark = [
        np.arange(step.first_frame, step.first_frame + step.frames)
        for step in recorded_steps(record)
        if step.led_pattern and not step.lit
    ]
    index = np.concatenate(dark) if dark else np.zeros(0, dtype=np.intp)
    if index.size == 0:
        return None
    dark_mean: NDArray[np.float64] = np.mean(record.frames[index], axis=0, dtype=np.float64)
    return dark_mean


def frames_by_led_step(
    record: RunRecord,
) -> tuple[dict[float, NDArray[np.intp]], NDArray[np.intp]]:
    """Frame indices of each lit wavelength (its first lit LED step) and of the dark frames.

    A frame's LED step is its frame counter modulo the pattern length, as the board cycles the
    pattern; without a recorded pattern, frames are grouped by wavelength and none is dark.

    Raises
    ------
    ValueError
        If a frame's wavelength is not the one the pattern puts at its step, or no frame was
        lit.
    """
    per_frame_nm = np.asarray(record.wavelength_nm, dtype=float)
    pattern = led_pattern(record)
    if not pattern:
        lit_frames = {float(w): np.flatnonzero(per_frame_nm == w) for w in np.unique(per_frame_nm)}
        return lit_frames, np.zeros(0, dtype=np.intp)
    step = np.asarray(record.frame_counter, dtype=np.int64) % len(pattern)
    expected_nm = np.array([round(w) for w, _ in pattern], dtype=float)[step]
    if not np.array_equal(expected_nm, np.round(per_frame_nm)):
        frame = int(np.argmax(expected_nm != np.round(per_frame_nm)))
        raise ValueError(
            f"{record.path}: frame {frame} is at {per_frame_nm[frame]:g} nm but the LED pattern "
            f"puts {expected_nm[frame]:g} nm there"
        )
    first_lit: dict[float, int] = {}
    for index, (wavelength, current) in enumerate(pattern):
        if current > 0.0:
            first_lit.setdefault(wavelength, index)
    lit_frames = {w: np.flatnonzero(step == index) for w, index in first_lit.items()}
    lit_frames = {w: index for w, index in lit_frames.items() if index.size}
    if not lit_frames:
        raise ValueError(f"{record.path}: no frames lit by an LED")
    dark = [index for index, (_, current) in enumerate(pattern) if current == 0.0]
    return lit_frames, np.flatnonzero(np.isin(step, dark))
