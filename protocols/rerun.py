"""Re-analysis of one protocol run record: the pure ``process(path, options)`` of
``nirpoct batch rerun``.

The record's protocol (its text travels in the record) is parsed again, its ``analyse`` steps
are run again with the analysis modules of :mod:`protocols.analyses` on the frames each earlier
step stored, and with the calibrations valid now (or the ones named): no device is opened and
the record is only read. What changed against the recorded results is kept with the new ones.

The frames are corrected with the approved detector-characterisation record valid now (or the
one named with ``--calibration``), as the live path corrects them, whether or not the protocol
requires one; the result names the record applied (id, version, content hash) under
``frame_correction``, or says that the frames were analysed uncorrected and why.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from calibration.detector_record import KIND as DETECTOR_KIND
from calibration.gate import CalibrationUse, run_calibrations
from calibration.registry import USABLE_STATES, RecordNotFound, Registry
from instrument.acquisition import AcquisitionStats
from instrument.run_record import RunRecord, read_run_record, unfinished_note
from instrument.run_steps import RecordedStep, recorded_steps, step_view
from protocols.context import RunContext, Segment, StepFailure, StepOutcome
from protocols.detector_correction import record_frame_correction
from protocols.protocol_file import Protocol, parse_protocol
from protocols.steps.analyse import ANALYSES

logger = logging.getLogger(__name__)

KEY_FIGURES = (
    "analyses",
    "failed_analyses",
    "changed_figures",
    "calibrations",
    "frame_correction",
    "spo2_percent",
    "pulse_rate_bpm",
    "withheld_percent",
    "recorded_spo2_percent",
)
"""The figures of a result that ``nirpoct batch rerun`` lists in its manifest (SpO2, pulse
rate and withheld share are those of the first ``spo2`` analysis; ``frame_correction`` is the
detector record applied, ``ID@version (sha256 …)``, or why the frames are uncorrected)."""

FIGURE_TOLERANCE = 1e-6
"""Relative difference under which a re-computed figure counts as unchanged."""


@dataclass(frozen=True)
class RerunOptions:
    """Settings of ``nirpoct batch rerun``.

    Attributes
    ----------
    registry : str or None
        The calibration registry folder (None: none; the analyses then use their defaults).
    calibrations : tuple of str
        Records (``ID`` or ``ID@VERSION``) to use in place of the valid record of their kind.
    day : str or None
        The day whose valid calibrations are used, ISO date (None: today where the file is
        processed).
    """

    registry: str | None = None
    calibrations: tuple[str, ...] = ()
    day: str | None = None


@dataclass(frozen=True)
class StepRerun:
    """One ``analyse`` step analysed again.

    Attributes
    ----------
    status : str
        ``passed`` or ``failed``.
    message : str
        Why it failed (empty when it passed).
    results, recorded : dict
        The new figures and those the record holds.
    changed : list of str
        Numeric figures whose value changed.
    """

    status: str
    message: str
    results: dict[str, Any]
    recorded: dict[str, Any]
    changed: list[str]


@dataclass(frozen=True)
class RerunFileResult:
    """The re-analysis of one record.

    Attributes
    ----------
    record : RunRecord
        The record as read.
    steps : dict of str to StepRerun
        Per ``analyse`` step, in protocol order.
    calibrations : list of CalibrationUse
        The calibrations the re-analysis used.
    frame_correction : str
        The detector record applied to the frames (``ID@version (sha256 …)``), or why the
        frames were analysed uncorrected.
    summary : dict
        JSON-able result (the file ``nirpoct batch rerun`` writes).
    warning : str
        One line when the record's run did not finish (else "").
    """

    record: RunRecord
    steps: dict[str, StepRerun]
    calibrations: list[CalibrationUse]
    summary: dict[str, Any]
    warning: str = ""
    frame_correction: str = ""


class RecordContext(RunContext):
    """What an analysis sees of a finished run: the frames each step stored, read back from
    the record, and the calibrations of the re-analysis. No instrument, no writer: only the
    attributes the analyses read are set."""

    def __init__(  # the base class's instrument, writer and events do not exist here
        self,
        record: RunRecord,
        protocol: Protocol,
        registry: Registry | None,
        uses: list[CalibrationUse],
    ) -> None:
        self.record = record
        self.protocol_steps = protocol.steps
        self.clinical = protocol.clinical
        self.registry = registry
        self.calibration_uses = uses
        self.calibration_problems = []
        self.duration_scale = 1.0
        self.outcomes = {}
        self.segments = []
        self.step_index, self.step_name = 0, ""
        self.steps_by_name = {step.name: step for step in recorded_steps(record)}
        self.data = {name: _segment(record, step) for name, step in self.steps_by_name.items()}

    def progress(self, fraction: float, message: str) -> None:
        """Progress of a step is not shown in a batch."""

    def checkpoint(self) -> None:
        """A re-analysis is never paused."""

    def record_view(self, segment: Segment) -> RunRecord:
        """The segment's step as a run record of its own, with the re-analysis' calibrations."""
        view = step_view(self.record, self.steps_by_name[segment.step])
        view.metadata = {**view.metadata, "status": "completed"}
        view.calibrations = {use.record: {**use.as_attributes()} for use in self.calibration_uses}
        return view


def _segment(record: RunRecord, step: RecordedStep) -> Segment:
    """The frames `step` stored, as the runner handed them to the analyses."""
    view = step_view(record, step)
    stored = record.results[step.name]
    recorded: dict[str, Any] = {
        name.removeprefix("acquisition_"): value
        for name, value in stored.items()
        if name.startswith("acquisition_")
    }
    derived: dict[str, Any] = {
        "frames": len(view.frames),
        "frame_rate_hz": float(str(record.acquisition.get("frame_rate_hz", 0.0) or 0.0)),
        "dropped_frames": 0,
        "buffer_overruns": 0,
        "decoder_resyncs": 0,
        "discarded_bytes": 0,
        "duration_s": float(view.time_s[-1] - view.time_s[0]) if len(view.time_s) else 0.0,
        "wavelengths_nm": view.wavelengths_nm,
    }
    values: dict[str, Any] = {
        f.name: recorded.get(f.name, derived.get(f.name)) for f in fields(AcquisitionStats)
    }
    stats = AcquisitionStats(**values)
    return Segment(
        step=step.name,
        frames=view.frames,
        time_s=view.time_s,
        wavelength_nm=view.wavelength_nm,
        board_temperature_c=view.board_temperature_c,
        frame_counter=view.frame_counter,
        device_time_us=view.device_time_us,
        first_frame=step.first_frame,
        stats=stats,
        led_pattern=tuple((int(w), float(c)) for w, c in step.led_pattern),
        start_time_utc=str(stored.get("start_time_utc", "")),
    )


def _calibrations(
    record: RunRecord, protocol: Protocol, registry: Registry | None, options: RerunOptions
) -> tuple[list[CalibrationUse], list[str]]:
    """The calibrations valid on the day for every kind the protocol requires or the run used,
    and the detector characterisation when one is usable (the named records in place of their
    kind's), and what is missing."""
    if registry is None:
        return [], []
    kinds = list(protocol.required_calibrations)
    for reference in record.calibrations:
        try:
            kinds.append(registry.entry(reference).kind)
        except RecordNotFound:
            logger.info("%s: calibration %s is not in %s", record.path, reference, registry.root)
    named_kinds = set()
    for reference in options.calibrations:
        try:
            named_kinds.add(registry.entry(reference).kind)
        except RecordNotFound:
            raise ValueError(
                f"--calibration {reference}: not in the registry {registry.root}"
            ) from None
    day = dt.date.fromisoformat(options.day) if options.day else None
    on = day or dt.date.today()
    if any(
        e.kind == DETECTOR_KIND and e.state_on(on) in USABLE_STATES
        for e in registry.index().values()
    ):
        kinds.append(DETECTOR_KIND)  # its frame correction applies to every re-analysis
    return run_calibrations(
        registry,
        tuple(kind for kind in dict.fromkeys(kinds) if kind not in named_kinds),
        list(options.calibrations),
        clinical=False,
        day=day,
    )


def _changed(results: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """Numeric figures whose new value differs from the recorded one."""
    changed = []
    for name, value in results.items():
        old = recorded.get(name)
        numbers = (int, float)
        if not isinstance(value, numbers) or not isinstance(old, numbers):
            continue
        if isinstance(value, bool) or not np.isclose(value, old, rtol=FIGURE_TOLERANCE, atol=0):
            changed.append(name)
    return changed


def _rerun_step(step: Any, context: RecordContext) -> StepRerun:
    """Run the step's analysis again; a failure is the step's, never the batch's."""
    stored = context.record.results.get(step.name, {})
    try:
        recorded = json.loads(str(stored.get("results_json", "{}")))
    except ValueError:
        recorded = {}
    try:
        outcome = ANALYSES[step.analysis].run(step, context)
    except (StepFailure, ValueError, TypeError, ArithmeticError, LookupError) as exc:
        outcome = StepOutcome("failed", message=str(exc))
    context.outcomes[step.name] = outcome
    return StepRerun(
        outcome.status,
        outcome.message,
        outcome.results,
        recorded,
        _changed(outcome.results, recorded) if outcome.status == "passed" else [],
    )


def process(path: str | Path, options: RerunOptions) -> RerunFileResult:
    """Analyse the ``analyse`` steps of a protocol run record again.

    Raises
    ------
    ValueError
        The file is not a protocol run record, a named calibration is not in the registry, or
        a clinical protocol's calibration is missing or not usable on the day.
    """
    record = read_run_record(path)
    text = record.protocol.get("text")
    if not text:
        raise ValueError(f"{path}: not a protocol run (the record holds no protocol)")
    protocol = parse_protocol(str(text), f"{path}: /protocol")
    registry = Registry(options.registry) if options.registry else None
    uses, problems = _calibrations(record, protocol, registry, options)
    unusable = [f"{u.record} is {u.state}" for u in uses if u.state not in USABLE_STATES]
    if protocol.clinical and (problems or unusable or registry is None):
        reasons = [*problems, *unusable] or ["no calibration registry"]
        raise ValueError(f"{path}: clinical protocol not re-analysed: {'; '.join(reasons)}")
    context = RecordContext(record, protocol, registry, uses)
    corrector, correction = record_frame_correction(registry, uses, record)
    steps = {
        step.name: _rerun_step(step, context) for step in protocol.steps if step.kind == "analyse"
    }
    summary = {
        "record": str(record.path),
        "run_id": record.metadata.get("run_id", ""),
        "protocol": protocol.name,
        "record_status": record.metadata.get("status", ""),
        "calibrations": [use.as_attributes() for use in uses],
        "recorded_calibrations": sorted(record.calibrations),
        "frame_correction": (
            {"applied": True, **corrector.as_json()}
            if corrector is not None
            else {"applied": False, "note": correction}
        ),
        "problems": problems,
        "steps": {
            name: {
                "status": rerun.status,
                "message": rerun.message,
                "results": rerun.results,
                "recorded": rerun.recorded,
                "changed": rerun.changed,
            }
            for name, rerun in steps.items()
        },
    }
    warning = unfinished_note(path, record.metadata.get("status"))
    logger.info("%s: analysed with %s", path, correction)
    return RerunFileResult(record, steps, uses, summary, warning, correction)


def key_figures(result: RerunFileResult) -> dict[str, float | int | str | None]:
    """The manifest's figures of a re-analysis."""
    spo2 = next(
        (
            rerun
            for name, rerun in result.steps.items()
            if rerun.status == "passed" and "spo2_percent" in rerun.results
        ),
        None,
    )
    return {
        "analyses": len(result.steps),
        "failed_analyses": sum(rerun.status != "passed" for rerun in result.steps.values()),
        "changed_figures": sum(len(rerun.changed) for rerun in result.steps.values()),
        "calibrations": " ".join(use.record for use in result.calibrations),
        "frame_correction": result.frame_correction,
        "spo2_percent": None if spo2 is None else spo2.results.get("spo2_percent"),
        "pulse_rate_bpm": None if spo2 is None else spo2.results.get("pulse_rate_bpm"),
        "withheld_percent": None if spo2 is None else spo2.results.get("withheld_percent"),
        "recorded_spo2_percent": None if spo2 is None else spo2.recorded.get("spo2_percent"),
    }
