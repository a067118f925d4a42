"""What a step sees while it runs: the instrument, the open run record, earlier results.

Steps are plain functions ``run(step, context) -> StepOutcome``. They acquire through
:meth:`RunContext.acquire` (frames of every acquiring step go consecutively into the one run
record), report progress through :meth:`RunContext.progress` and call
:meth:`RunContext.checkpoint` where a pause may hold them or an abort may end them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np

from calibration.gate import CalibrationUse
from calibration.registry import Registry
from drivers.detector_messages import LedStep
from instrument.acquisition import Acquisition, AcquisitionStats, ClockMap
from instrument.disk_space import FreeSpaceMonitor, check_free_space, record_bytes
from instrument.instrument import Instrument
from instrument.live_data import LiveTraces, lit_steps_of
from instrument.run_record import (
    FrameBatch,
    RecordFrames,
    RunRecord,
    RunRecordWriter,
    led_pattern_attribute,
    utc_now_iso,
)
from protocols.detector_correction import FrameCorrector, run_frame_correction
from protocols.events import OperatorPrompt, RunEvent, StepProgress


class RunAborted(Exception):
    """The operator aborted the run."""


class StepFailure(Exception):
    """A step could not produce its result; the message says why (shown to the operator)."""


@dataclass
class StepOutcome:
    """What a step produced.

    Attributes
    ----------
    status : str
        ``passed``, ``failed`` or ``skipped``.
    results : dict
        Figure name → JSON-able value; the unit is the name's suffix (``_dn``, ``_percent`` …).
    arrays : dict
        Arrays stored in the run record under ``/results/<step>``.
    message : str
        Why it failed, or a note.
    stops_run : bool
        A failure of this step ends the run.
    """

    status: str
    results: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    message: str = ""
    stops_run: bool = False


@dataclass(frozen=True)
class Segment:
    """Frames one acquiring step stored in the run record.

    ``frames`` reads the step's frames back from the record on demand (none is held in
    memory); ``first_frame`` indexes ``/raw/frames``; ``led_pattern`` is (wavelength nm,
    drive mA) per LED step (drive 0 for dark frames); ``start_time_utc`` is when the
    acquisition started (the zero of the step's ``time_s``).
    """

    step: str
    frames: np.ndarray
    time_s: np.ndarray
    wavelength_nm: np.ndarray
    board_temperature_c: np.ndarray
    frame_counter: np.ndarray
    device_time_us: np.ndarray
    first_frame: int
    stats: AcquisitionStats
    led_pattern: tuple[tuple[int, float], ...]
    start_time_utc: str

    def attributes(self) -> dict[str, Any]:
        """Attributes that place the segment in the record."""
        return {
            "first_frame": self.first_frame,
            "frames": len(self.frames),
            "led_pattern": [list(step) for step in self.led_pattern],
            "start_time_utc": self.start_time_utc,
            **{f"acquisition_{k}": v for k, v in self.stats.as_dict().items()},
        }


class RunContext:
    """Shared state of one run, handed to every step.

    Parameters
    ----------
    instrument : Instrument
        The open instrument.
    writer : RunRecordWriter
        The run record, open for frames.
    emit : callable
        Sends an event to the runner's listener.
    resume, abort : threading.Event
        Set when the run may proceed / must end.
    confirmed : threading.Event
        Set when the operator confirmed the current prompt.
    protocol_steps : tuple
        The validated steps of the protocol being run.
    clinical : bool
        The protocol is for clinical use.
    registry : Registry or None
        Calibration registry of the site.
    calibration_uses : list of CalibrationUse
        States of the run's calibrations, checked when the run started.
    calibration_problems : list of str
        What is missing, or why a clinical run may not proceed (empty when nothing is).
    duration_scale : float
        Multiplies every acquisition and warm-up time (shortened runs for tests; 1 otherwise).
    confirm_prompts : bool
        Confirm every operator prompt at once (headless runs).
    stop : threading.Event, optional
        Set when the operator ends an open-ended step (monitoring) normally.
    alarm_requests : queue.SimpleQueue of str, optional
        The operator's ``acknowledge`` / ``pause`` requests for a monitor step's alarms.
    metadata, settings : dict
        The record's root attributes and the detector settings (for :meth:`record_view`).
    """

    def __init__(
        self,
        instrument: Instrument,
        writer: RunRecordWriter,
        emit: Callable[[RunEvent], None],
        resume: threading.Event,
        abort: threading.Event,
        confirmed: threading.Event,
        *,
        protocol_steps: tuple[Any, ...],
        clinical: bool,
        registry: Registry | None,
        calibration_uses: list[CalibrationUse],
        calibration_problems: list[str],
        duration_scale: float,
        metadata: dict[str, object],
        settings: dict[str, object],
        confirm_prompts: bool = False,
        stop: threading.Event | None = None,
        alarm_requests: queue.SimpleQueue[str] | None = None,
    ) -> None:
        self.instrument = instrument
        self.writer = writer
        self.emit = emit
        self.registry = registry
        self.calibration_uses = calibration_uses
        self.calibration_problems = calibration_problems
        self.duration_scale = duration_scale
        self.clinical = clinical
        self.protocol_steps = protocol_steps
        self.metadata = metadata
        self.settings = settings
        self.outcomes: dict[str, StepOutcome] = {}
        self.data: dict[str, Any] = {}
        self.segments: list[Segment] = []
        self.step_index = 0
        self.step_name = ""
        self._resume = resume
        self._abort = abort
        self._confirmed = confirmed
        self.confirm_prompts = confirm_prompts
        self.stop_requested = stop if stop is not None else threading.Event()
        self.alarm_requests: queue.SimpleQueue[str] = alarm_requests or queue.SimpleQueue()

    # ------------------------------------------------------------------ control
    def checkpoint(self) -> None:
        """Wait while paused; raise :class:`RunAborted` when aborted (also while paused)."""
        while not self._resume.wait(0.1) and not self._abort.is_set():
            pass
        if self._abort.is_set():
            raise RunAborted("aborted by the operator")

    def ask_operator(self, message: str) -> str:
        """Show ``message`` to the operator and wait until they confirm it.

        Returns who confirmed: ``operator``, or ``automatic`` when the run confirms prompts
        itself. Pause holds the wait; abort ends it (:class:`RunAborted`).
        """
        self.checkpoint()
        self._confirmed.clear()
        self.emit(OperatorPrompt(self.step_index, self.step_name, message))
        if self.confirm_prompts:
            return "automatic"
        while not self._confirmed.wait(0.1):
            self.checkpoint()
        self.checkpoint()
        return "operator"

    def progress(self, fraction: float, message: str) -> None:
        """Report the running step's progress (0..1)."""
        self.emit(StepProgress(self.step_index, min(1.0, max(0.0, fraction)), message))

    def scaled(self, seconds: float) -> float:
        """A protocol time after the run's duration scale, s."""
        return seconds * self.duration_scale

    # ------------------------------------------------------------------ acquisition
    def frame_correction(self) -> tuple[FrameCorrector | None, str]:
        """The run's detector correction for the board's current exposure and region, and
        what to record about it (`protocols.detector_correction.run_frame_correction`)."""
        settings = self.instrument.detector_settings()
        return run_frame_correction(
            self.registry,
            self.calibration_uses,
            float(settings["integration_time_us"]) * 1e-6,  # type: ignore[arg-type]
            tuple(settings["roi"]),  # type: ignore[arg-type]
        )

    def record_view(self, segment: Segment) -> RunRecord:
        """The segment as a run record of its own, for analyses that read run records."""
        return RunRecord(
            path=self.writer.path,
            frames=segment.frames,
            time_s=segment.time_s,
            wavelength_nm=segment.wavelength_nm,
            board_temperature_c=segment.board_temperature_c,
            frame_counter=segment.frame_counter,
            device_time_us=segment.device_time_us,
            metadata={**self.metadata, "status": "completed"},
            devices={name: {**identity} for name, identity in self.instrument.identities.items()},
            acquisition={
                **segment.stats.as_dict(),
                **self.settings,
                "led_pattern": led_pattern_attribute(segment.led_pattern),
            },
            calibrations={use.record: {**use.as_attributes()} for use in self.calibration_uses},
            probe=self.instrument.config.probe.model_dump(),
        )

    def acquire(
        self,
        duration_s: float | None,
        led_pattern: tuple[LedStep, ...],
        *,
        live: bool = True,
        consumer: Callable[[FrameBatch], None] | None = None,
        clock: ClockMap | None = None,
    ) -> Segment:
        """Acquire ``duration_s`` s with ``led_pattern`` into the run record.

        With ``duration_s`` None the acquisition runs until the operator stops it
        (:attr:`stop_requested`). ``consumer`` sees every frame batch as it arrives (live
        analysis). ``clock`` continues the step's clock of an earlier acquisition (after a
        reconnection: :meth:`ClockMap.restart`); each call adds a segment (one step's
        segments become one with :meth:`join_segments`). Frames go to the record as they
        arrive and are not kept in memory: the
        segment's ``frames`` read them back from the record on demand (in chunks), so memory
        stays bounded however long the step runs. The free disk space is checked first and
        while acquiring (:mod:`instrument.disk_space`).

        Raises
        ------
        DeviceError
            The link failed; the frames received before are in the record.
        RunAborted
            The operator aborted.
        """
        self.checkpoint()
        board = self.instrument.board
        assert board is not None
        original = board.led_pattern
        board.led_pattern = led_pattern
        first = self.writer.frames_written
        started = utc_now_iso()
        live_state = LiveTraces(self.emit, lit_steps_of(led_pattern)) if live else None

        def on_frames(batch: FrameBatch) -> None:
            if live_state is not None:
                live_state.add(batch)
            if consumer is not None:
                consumer(batch)

        def on_progress(done_s: float, frames: int) -> None:
            if self._abort.is_set():
                raise RunAborted("aborted by the operator")
            if duration_s is None:
                self.progress(0.0, f"{done_s:.1f} s, {frames} frames (until stopped)")
            else:
                self.progress(
                    done_s / duration_s, f"{done_s:.1f}/{duration_s:.1f} s, {frames} frames"
                )

        settings = self.instrument.config.acquisition
        folder = self.writer.path.parent
        if duration_s is not None:
            check_free_space(
                folder,
                record_bytes(duration_s, board.frame_rate_hz, board.roi.frame_shape),
                f"step {self.step_name} ({duration_s:g} s of frames)",
            )
        watched = FreeSpaceMonitor(folder, board.frame_rate_hz, board.roi.frame_shape, on_progress)
        acquisition = Acquisition(
            board,
            self.writer,
            frame_rate_hz=board.frame_rate_hz,
            buffer_frames=settings.buffer_frames,
            stall_timeout_s=settings.stall_timeout_s,
            clock=clock,
        )
        try:
            stats = acquisition.run(
                duration_s, watched, on_frames, should_stop=self.stop_requested.is_set
            )
            if live_state is not None:
                live_state.flush()
        except BaseException:
            self.segments.append(self._segment(first, acquisition.stats(), led_pattern, started))
            raise
        board.led_pattern = original
        segment = self._segment(first, stats, led_pattern, started)
        self.segments.append(segment)
        return segment

    def join_segments(self) -> Segment | None:
        """The running step's segments as one (a step that streamed again after its board was
        reconnected has one per stretch): all its frames, counts summed over the stretches;
        None when it has none."""
        parts = [s for s in self.segments if s.step == self.step_name]
        if len(parts) < 2:
            return parts[0] if parts else None
        first = parts[0]
        later = parts[1:]  # each on a newly opened board, whose counters start at 0
        stats = AcquisitionStats(
            frames=sum(p.stats.frames for p in parts),
            frame_rate_hz=first.stats.frame_rate_hz,
            dropped_frames=sum(p.stats.dropped_frames for p in parts),
            buffer_overruns=sum(p.stats.buffer_overruns for p in parts),
            decoder_resyncs=first.stats.decoder_resyncs
            + sum(p.stats.decoder_resyncs for p in later),
            discarded_bytes=first.stats.discarded_bytes
            + sum(p.stats.discarded_bytes for p in later),
            duration_s=round(sum(p.stats.duration_s for p in parts), 6),
            wavelengths_nm=tuple(sorted({w for p in parts for w in p.stats.wavelengths_nm})),
        )
        # Every frame from the first stretch's first on, with the first stretch's pattern.
        joined = replace(
            self._segment(first.first_frame, stats, (), first.start_time_utc),
            led_pattern=first.led_pattern,
        )
        position = self.segments.index(first)
        self.segments = [s for s in self.segments if s.step != self.step_name]
        self.segments.insert(position, joined)
        return joined

    def _segment(
        self,
        first: int,
        stats: AcquisitionStats,
        pattern: tuple[LedStep, ...],
        start_time_utc: str,
    ) -> Segment:
        """The step's segment, read back from the record: its per-frame fields (once the
        acquisition has ended) and a view of its frames."""
        self.writer.flush()
        count = self.writer.frames_written - first
        return _segment(
            self.step_name,
            self.writer.read_fields(first, count),
            self.writer.frames_view(first, count),
            first,
            stats,
            pattern,
            start_time_utc,
        )


def _segment(
    step: str,
    fields: dict[str, np.ndarray],
    frames: RecordFrames,
    first: int,
    stats: AcquisitionStats,
    pattern: tuple[LedStep, ...],
    start_time_utc: str,
) -> Segment:
    return Segment(
        step=step,
        # A RecordFrames serves the array reads the analyses make (indexing, astype, len,
        # shape) from the record, in chunks.
        frames=cast(np.ndarray, frames),
        time_s=fields["time_s"],
        wavelength_nm=fields["wavelength_nm"],
        board_temperature_c=fields["board_temperature_c"],
        frame_counter=fields["frame_counter"],
        device_time_us=fields["device_time_us"],
        first_frame=first,
        stats=stats,
        led_pattern=tuple((int(s.wavelength_nm), float(s.drive_current_ma)) for s in pattern),
        start_time_utc=start_time_utc,
    )
