"""The protocol runner: executes a validated protocol against an instrument.

The same runner serves ``nirpoct run`` and the desktop app. :meth:`ProtocolRunner.run` blocks
(call it from a worker thread in a GUI); :meth:`pause`, :meth:`resume` and :meth:`abort` may be
called from any thread. Every event goes to ``on_event`` (see :mod:`protocols.events`).

A run is one run record: the frames of every acquiring step stored one after the other in
``/raw``, the protocol text and hash in ``/protocol``, every step's status, figures and arrays
under ``/results/<step>``. When the run ends — completed, stopped by a failing step, aborted
by the operator or by a device fault — the record is closed and valid, and the JSON summary
and the PDF report are written beside it.

A clinical protocol runs only on usable calibrations (approved, in date, not revoked or
superseded; or expired with an approver's override): the runner checks the protocol's
required calibrations before it opens the hardware, and the detector board's own calibration
before the first step, whatever steps the protocol lists. A refused run writes the JSON summary
and the report, and no run record when the hardware was never opened.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from calibration.gate import CalibrationUse, Override, run_calibrations
from calibration.registry import Registry
from drivers.errors import DeviceError
from drivers.sim.faults import FaultPlan
from instrument.config import BenchConfig, InstrumentConfig, dump_config
from instrument.disk_space import DiskSpaceError, check_free_space, record_bytes
from instrument.instrument import Instrument
from instrument.run_record import (
    RunRecordWriter,
    led_pattern_attribute,
    new_record_path,
    step_result_attributes,
    write_results,
)
from protocols.analyses.spo2 import pair_problems
from protocols.context import RunAborted, RunContext, StepFailure, StepOutcome
from protocols.events import (
    RunEvent,
    RunFailed,
    RunFinished,
    RunWarning,
    StepFinished,
    StepStarted,
)
from protocols.outputs.report_pdf import write_report
from protocols.outputs.summary import build_summary, write_summary
from protocols.protocol_file import Protocol, detector_settings
from protocols.registry_witness import head_attributes, rollback_problems
from protocols.steps import STEP_KINDS

logger = logging.getLogger(__name__)

EventCallback = Callable[[RunEvent], None]


def protocol_config(config: InstrumentConfig, protocol: Protocol) -> InstrumentConfig:
    """The configuration a protocol runs with: its detector settings in place of the
    configuration's, and the bench instruments only when a step uses them (a clinical run does
    not depend on the lab bench being connected).

    The ROI is checked against the sensor once the board has said its size
    (:meth:`ProtocolRunner.run`).

    Raises
    ------
    ProtocolError
        The combined settings are invalid (e.g. the exposure exceeds the frame period), naming
        the protocol file, line and ``device`` field.
    """
    detector = detector_settings(protocol, config.detector, None)
    uses_bench = any(STEP_KINDS[step.kind].uses_bench for step in protocol.steps)
    bench = config.bench if uses_bench else BenchConfig(photodiode=config.bench.photodiode)
    return config.model_copy(update={"detector": detector, "bench": bench})


class ProtocolRunner:
    """Runs one protocol once.

    Parameters
    ----------
    protocol : Protocol
        A validated protocol (:func:`protocols.protocol_file.load_protocol`).
    config : InstrumentConfig
        The instrument to run on (``instrument.config.simulated(...)`` for the simulator).
    out_dir : str or pathlib.Path
        Directory for the run record, the PDF report and the JSON summary.
    operator : str
        Who runs the protocol.
    subject_id : str
        Subject id as typed; records, summaries and events hold only its pseudonym, the PDF
        report printed for the clinician shows it as typed.
    on_event : callable or None
        Receives every :data:`protocols.events.RunEvent`, on the thread that calls :meth:`run`.
    config_text : str
        Text of the configuration file (stored in the record).
    registry : Registry or None
        The site's calibration registry; a clinical protocol is refused without one.
    calibration_ids : sequence of str
        Calibration records the run uses besides the protocol's required kinds.
    override : Override or None
        An approver's override of an expired calibration (clinical runs).
    sim_fault : FaultPlan or None
        A link fault to inject on the simulated detector board (tests and demonstrations).
    duration_scale : float
        Multiplies every acquisition and warm-up time of the protocol (shortened runs for
        tests and demonstrations; 1 for real runs). Recorded in the run record.
    confirm_prompts : bool
        Confirm every ``prompt`` step at once instead of waiting for :meth:`confirm`
        (headless runs, where the instrument is set up beforehand).
    accession : str
        The order's accession number, for the hospital (clinical runs with an ``exchange:``
        configuration send their results when they complete).
    """

    def __init__(
        self,
        protocol: Protocol,
        config: InstrumentConfig,
        out_dir: str | Path,
        operator: str = "",
        subject_id: str = "",
        on_event: EventCallback | None = None,
        *,
        config_text: str = "",
        registry: Registry | None = None,
        calibration_ids: tuple[str, ...] = (),
        override: Override | None = None,
        sim_fault: FaultPlan | None = None,
        duration_scale: float = 1.0,
        confirm_prompts: bool = False,
        accession: str = "",
    ) -> None:
        if not 0 < duration_scale <= 1:
            raise ValueError(f"duration scale must be in (0, 1], got {duration_scale:g}")
        if on_event is None and not confirm_prompts:
            prompts = [step.name for step in protocol.steps if step.kind == "prompt"]
            if prompts:
                raise ValueError(
                    f"{protocol.name} waits for the operator at steps {', '.join(prompts)}: "
                    "listen for OperatorPrompt events and call confirm(), or pass "
                    "confirm_prompts=True"
                )
        self.protocol = protocol
        self.config = config
        self.out_dir = Path(out_dir)
        self.operator = operator
        self.subject_id = subject_id
        self._listener = on_event or (lambda event: None)
        self.config_text = config_text or dump_config(config)
        self.registry = registry
        self.calibration_ids = tuple(calibration_ids)
        self.override = override
        self.sim_fault = sim_fault
        self.duration_scale = duration_scale
        self._resume = threading.Event()
        self._resume.set()
        self._abort = threading.Event()
        self._stop = threading.Event()
        self._alarm_requests: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._confirmed = threading.Event()
        self.confirm_prompts = confirm_prompts
        self.accession = accession

    def on_event(self, event: RunEvent) -> None:
        """Send ``event`` to the listener; warnings and failures are logged too (and so kept
        in the run record's log while it is open)."""
        if isinstance(event, RunWarning):
            logger.warning("%s: %s", self.protocol.name, event.message)
        elif isinstance(event, RunFailed):
            logger.error("%s: %s", self.protocol.name, event.message)
        self._listener(event)

    # ------------------------------------------------------------------ control
    def confirm(self) -> None:
        """The operator did what the current ``prompt`` step asked
        (:class:`protocols.events.OperatorPrompt`)."""
        self._confirmed.set()

    def pause(self) -> None:
        """Hold the run at the next safe point (between steps, or a warm-up poll).

        Does nothing once the run is aborted: an abort always wins.
        """
        if not self._abort.is_set():
            self._resume.clear()

    def resume(self) -> None:
        """Continue a paused run."""
        self._resume.set()

    def abort(self) -> None:
        """End the run at the next safe point (within a frame batch while acquiring).

        The record is kept, closed and marked ``aborted``.
        """
        self._abort.set()
        self._resume.set()

    def stop(self) -> None:
        """End the running open-ended step (monitoring) normally: its record, results and
        alarm log are complete and the protocol's remaining steps run."""
        self._stop.set()

    def acknowledge_alarms(self) -> None:
        """Acknowledge the active alarms of the running monitor step (for its set time)."""
        self._alarm_requests.put("acknowledge")

    def pause_alarms(self) -> None:
        """Pause the alarms of the running monitor step (for its set time)."""
        self._alarm_requests.put("pause")

    @property
    def aborted(self) -> bool:
        """True once :meth:`abort` was called."""
        return self._abort.is_set()

    @property
    def paused(self) -> bool:
        """True while paused."""
        return not self._resume.is_set()

    # ------------------------------------------------------------------ run
    def run(self) -> RunFinished:
        """Execute every step; blocks until the run ends and returns its last event.

        Raises
        ------
        ProtocolError
            The protocol's device settings do not fit the instrument (nothing was touched).
        """
        config = protocol_config(self.config, self.protocol)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        started = dt.datetime.now(dt.UTC)
        uses, problems = run_calibrations(
            self.registry,
            self.protocol.required_calibrations,
            list(self.calibration_ids),
            clinical=self.protocol.clinical,
            override=self.override,
        )
        problems += pair_problems(self.protocol.steps, config, self.registry, uses)
        problems += self._rollback_problems()
        if self.protocol.clinical and problems:
            error = "; ".join(problems)
            self.on_event(RunFailed(error))
            return self._finish(None, "failed", error, started)
        context: RunContext | None = None
        status, error = "aborted", ""
        opening = config.model_copy(update={"detector": self.config.detector})
        try:
            with Instrument(opening, self.config_text, sim_fault=self.sim_fault) as instrument:
                instrument.configure_detector(
                    detector_settings(self.protocol, self.config.detector, instrument.sensor_shape)
                )
                context = self._context(instrument, uses, problems)
                status, error = self._run_steps(context)
        except DeviceError as exc:
            status, error = "aborted", f"device fault: {exc}"
            self.on_event(RunFailed(error))
        finally:
            if context is not None:
                self._close_record(context, status, error)
        return self._finish(context, status, error, started)

    def _check_free_space(self, frame_rate_hz: float, frame_shape: tuple[int, int]) -> None:
        """Refuse to start when the output folder cannot hold every acquiring step's frames.

        Raises
        ------
        DiskSpaceError
            Naming the folder and both sizes (no record is made).
        """
        seconds = sum(  # a step that runs until stopped is watched while it runs
            self.duration_scale * float(getattr(step, "duration_s", None) or 0.0)
            for step in self.protocol.steps
            if STEP_KINDS[step.kind].acquires
        )
        check_free_space(
            self.out_dir,
            record_bytes(seconds, frame_rate_hz, frame_shape),
            f"{self.protocol.name} ({seconds:g} s of frames)",
        )

    def _rollback_problems(self) -> list[str]:
        """Why the registry is older than the one the output folder's newest runs used."""
        if self.registry is None:
            return []
        return rollback_problems(self.registry, self.out_dir)

    def _context(
        self, instrument: Instrument, uses: list[CalibrationUse], problems: list[str]
    ) -> RunContext:
        """The run's context; ``uses`` and ``problems`` are the calibrations checked before the
        hardware was opened, completed here with the detector board's own calibration."""
        board_id = instrument.identities["detector"].get("calibration_id", "")
        checked = {part for use in uses for part in (use.record, use.record.split("@")[0])}
        checked |= set(self.calibration_ids)
        if board_id and board_id not in checked:
            board_uses, board_problems = run_calibrations(
                self.registry,
                (),
                [board_id],
                clinical=self.protocol.clinical,
                override=self.override,
            )
            uses = [*uses, *board_uses]
            problems = list(dict.fromkeys([*problems, *board_problems]))
        for use in uses:
            if use.state == "due":
                self.on_event(RunWarning(f"calibration {use.record} is due on {use.due_date}"))
            elif use.state not in ("approved",) and not self.protocol.clinical:
                self.on_event(RunWarning(f"calibration {use.record} is {use.state}"))
        calibrations = {use.record: use.as_attributes() for use in uses}
        board = instrument.board
        assert board is not None
        self._check_free_space(board.frame_rate_hz, board.roi.frame_shape)
        path = new_record_path(self.out_dir, self.protocol.name)
        metadata = instrument.record_metadata(
            self.operator,
            self.subject_id,
            duration_scale=self.duration_scale,
            **head_attributes(self.registry),
        )
        protocol = {
            "name": self.protocol.name,
            "version": self.protocol.version,
            "intended_use": self.protocol.intended_use,
            "source": self.protocol.source,
            "text": self.protocol.text,
            "sha256": self.protocol.sha256,
        }
        writer = RunRecordWriter(
            path,
            board.roi.frame_shape,
            metadata,
            instrument.identities,
            flush_interval_s=instrument.config.acquisition.flush_interval_s,
            calibrations=calibrations,
            probe=instrument.config.probe.model_dump(),
            protocol=protocol,
        )
        return RunContext(
            instrument,
            writer,
            self.on_event,
            self._resume,
            self._abort,
            self._confirmed,
            protocol_steps=self.protocol.steps,
            clinical=self.protocol.clinical,
            registry=self.registry,
            calibration_uses=uses,
            calibration_problems=problems,
            duration_scale=self.duration_scale,
            confirm_prompts=self.confirm_prompts,
            stop=self._stop,
            alarm_requests=self._alarm_requests,
            metadata=metadata,
            settings=instrument.detector_settings(),
        )

    def _run_steps(self, context: RunContext) -> tuple[str, str]:
        """Run the steps in order; the run's status and error."""
        if self.protocol.clinical and context.calibration_problems:
            error = "; ".join(context.calibration_problems)
            self.on_event(RunFailed(error))
            return "failed", error
        for index, step in enumerate(self.protocol.steps):
            context.step_index, context.step_name = index, step.name
            try:
                context.checkpoint()
            except RunAborted as exc:
                self.on_event(RunFailed(str(exc)))
                return "aborted", str(exc)
            self.on_event(StepStarted(index, step.name, step.kind))
            outcome, fault = self._run_step(step, context)
            context.outcomes[step.name] = outcome
            self.on_event(StepFinished(index, step.name, outcome.status, outcome.results))
            if outcome.status == "aborted":
                self.on_event(RunFailed(f"step {step.name}: {outcome.message}"))
                return "aborted", fault or outcome.message
            if outcome.status == "failed":
                self.on_event(RunFailed(f"step {step.name} failed: {outcome.message}"))
                if outcome.stops_run:
                    return "failed", f"step {step.name} failed: {outcome.message}"
            elif outcome.message:
                self.on_event(RunWarning(f"step {step.name}: {outcome.message}"))
        return "completed", ""

    def _run_step(self, step: Any, context: RunContext) -> tuple[StepOutcome, str]:
        """A step's outcome, and the device fault that aborted it (else "")."""
        try:
            return STEP_KINDS[step.kind].run(step, context), ""
        except RunAborted as exc:
            return StepOutcome("aborted", message=str(exc)), ""
        except DeviceError as exc:
            return StepOutcome("aborted", message=f"device fault: {exc}"), f"device fault: {exc}"
        except DiskSpaceError as exc:
            return StepOutcome("aborted", message=str(exc)), str(exc)
        except StepFailure as exc:
            return StepOutcome(
                "failed", message=str(exc), stops_run=STEP_KINDS[step.kind].acquires
            ), ""
        except (ValueError, TypeError, ArithmeticError, LookupError) as exc:
            # Analyses reject data (or options) they cannot use with an error naming it.
            return StepOutcome(
                "failed", message=str(exc), stops_run=STEP_KINDS[step.kind].acquires
            ), ""
        except Exception as exc:  # an internal error ends only this step, never the record
            logger.exception("step %s (%s) raised an internal error", step.name, step.kind)
            where = traceback.extract_tb(exc.__traceback__)[-1]
            message = (
                f"internal error {type(exc).__name__}: {exc} "
                f"({Path(where.filename).name}:{where.lineno})"
            )
            return StepOutcome("failed", message=message, stops_run=True), ""

    def _close_record(self, context: RunContext, status: str, error: str) -> None:
        segments = context.segments
        totals = {
            "frames": sum(s.stats.frames for s in segments),
            "dropped_frames": sum(s.stats.dropped_frames for s in segments),
            "buffer_overruns": sum(s.stats.buffer_overruns for s in segments),
            "decoder_resyncs": max((s.stats.decoder_resyncs for s in segments), default=0),
            "discarded_bytes": max((s.stats.discarded_bytes for s in segments), default=0),
            "duration_s": round(sum(s.stats.duration_s for s in segments), 6),
            "wavelengths_nm": sorted({w for s in segments for w in s.stats.wavelengths_nm}),
            "led_pattern": led_pattern_attribute(
                (s.wavelength_nm, s.drive_current_ma)
                for s in context.instrument.config.detector.led_pattern
            ),
        }
        record_status = "completed" if status == "completed" else "aborted"
        context.writer.close(record_status, {**context.settings, **totals}, error)
        by_segment = {segment.step: segment.attributes() for segment in segments}
        steps = {}
        for index, step in enumerate(self.protocol.steps):
            outcome = context.outcomes.get(step.name)
            if outcome is None:
                continue
            attributes = step_result_attributes(
                index,
                step.kind,
                outcome.status,
                outcome.message,
                outcome.results,
                **by_segment.get(step.name, {}),
            )
            steps[step.name] = (attributes, outcome.arrays)
        write_results(context.writer.path, steps)

    def _finish(
        self, context: RunContext | None, status: str, error: str, started: dt.datetime
    ) -> RunFinished:
        record_path = context.writer.path if context is not None else None
        stem = (
            record_path.stem
            if record_path is not None
            else f"run-{started:%Y%m%dT%H%M%S%fZ}-{self.protocol.name}"
        )
        summary = build_summary(
            self.protocol,
            status,
            error,
            record_path,
            context,
            operator=self.operator,
        )
        json_path = self.out_dir / f"{stem}.json"
        summary["report_pdf"] = None
        summary["summary_json"] = str(json_path)
        write_summary(json_path, summary)  # first: a failing report must not lose it
        pdf_path = self._report(self.out_dir / f"{stem}.pdf", summary, context)
        if pdf_path is not None:
            summary["report_pdf"] = str(pdf_path)
            write_summary(json_path, summary)
        delivery: dict[str, bool] = {}
        if status == "completed" and record_path is not None:
            delivery = self._send_to_hospital(record_path, json_path, pdf_path)
        if delivery:
            summary["hospital_delivery"] = delivery
            write_summary(json_path, summary)
        finished = RunFinished(
            status, record_path, pdf_path, json_path, summary["qc_passed"], delivery
        )
        self.on_event(finished)
        return finished

    def _report(
        self, path: Path, summary: dict[str, Any], context: RunContext | None
    ) -> Path | None:
        """Write the PDF report; None, with a warning, when it could not be written."""
        try:
            write_report(path, summary, context, subject_id=self.subject_id)
        except Exception as exc:  # any report failure is a warning; the run still finishes
            self.on_event(
                RunWarning(f"the PDF report could not be written: {type(exc).__name__}: {exc}")
            )
            path.unlink(missing_ok=True)
            return None
        return path

    def _send_to_hospital(
        self, record: Path, summary: Path, report: Path | None
    ) -> dict[str, bool]:
        """A completed clinical run's results to the hospital's systems, when the configuration
        has an ``exchange:`` section; what cannot be delivered now waits in the outbox. Per
        channel, whether it was delivered."""
        exchange = self.config.exchange
        if exchange is None or not self.protocol.clinical or not self.subject_id:
            return {}
        from protocols.outputs.exchange.delivery import deliver_run  # only runs that send
        from protocols.outputs.exchange.outbox import default_outbox_dir

        try:
            report_sent = deliver_run(
                record,
                summary,
                report,
                self.subject_id,
                self.accession,
                exchange,
                default_outbox_dir(exchange.outbox_dir),
            )
        except (ValueError, OSError) as exc:
            self.on_event(RunWarning(f"results not sent to the hospital: {exc}"))
            return {}
        for outcome in report_sent.outcomes:
            if not outcome.delivered:
                self.on_event(
                    RunWarning(
                        f"{outcome.channel} to {outcome.destination} not delivered yet "
                        f"({outcome.detail}); it waits in the outbox"
                    )
                )
            else:
                logger.info("%s delivered to %s", outcome.channel, outcome.destination)
        return {outcome.channel: outcome.delivered for outcome in report_sent.outcomes}
