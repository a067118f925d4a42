"""``monitor``: continuous SpO2 monitoring with alarms, until stopped or for ``duration_s``.

Frames go to the run record as they arrive and through the live path: per-wavelength PPG
samples (`imaging.streaming_ppg`), once-per-second SpO2, pulse rate, perfusion index and
signal quality (`imaging.streaming_oximetry`), the alarm conditions (`protocols.alarms`) and
a :class:`protocols.events.LiveVitals` event per second (terminal lines, JSON lines, LSL, the
desktop app). No frame is kept in memory: memory is bounded by the analysis window however
long the step runs. Frames are first corrected with the run's approved detector-characterisation
record (`protocols.detector_correction`; the step's ``frame_correction`` result names it, or
says why the frames stay uncorrected). The imaging-PPG maps of the red and infrared frames
(perfusion index, SpO2 and signal quality per pixel region) are refreshed every few seconds
as well (:mod:`protocols.live_maps`). Every alarm start, end, acknowledgement and pause goes
into the record's alarm log as it happens; the per-second values are the step's result arrays.

A second is reported without numbers (never as current) while the probe is off the skin
within `PROBE_OFF_MARGIN_S` of it, and is flagged stale once no value has been updated for
the alarms' ``stale_after_s``.

When the board's link is lost (unplugged), the step keeps its record open: the
``device_disconnected`` alarm starts, each second of the outage is reported without numbers,
the board is reopened every `RECONNECT_INTERVAL_S` for up to ``reconnect_s`` (signal clock),
the instrument's detector settings and the step's LED pattern are applied again, and the
frames of the new stream follow in the same record, on the step's clock (the gap shows in
``time_s``; frame counters go on as if the board had counted through it). The alarm ends with
the first frame after the gap, and the live analysis starts afresh there (new PPG, oximetry
and map analysers: they assume evenly spaced samples). A board not back within
``reconnect_s`` ends the run as any device fault does.
"""

from __future__ import annotations

import logging
import math
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from drivers.errors import DeviceDisconnected, DeviceError
from imaging.spo2_curves import SpO2Curve
from imaging.statistics import median_of_finite
from imaging.streaming_oximetry import SecondResult, StreamingOximeter
from imaging.streaming_ppg import StreamingPpg
from instrument.acquisition import ClockMap
from instrument.live_data import LiveData
from instrument.run_record import FrameBatch
from protocols.alarms import AlarmLogEntry, AlarmMonitor, AlarmSettings, Vitals
from protocols.analyses.spo2 import calibrated_spo2_curve
from protocols.context import RunContext, StepOutcome
from protocols.detector_correction import FrameCorrector
from protocols.events import LiveSamples, LiveVitals, RunEvent, RunWarning
from protocols.live_maps import LiveMapper, live_mapper
from protocols.schema import EarlierSteps, Fail, PositiveSeconds, StepBase, StepKind

logger = logging.getLogger(__name__)

PROBE_OFF_MARGIN_S = 3
"""Seconds either side of a probe-off second whose values are withheld (the beat window and
the filters reach this far)."""
PROBE_OFF_SHARE = 0.1
"""Share of a second's samples with the light lost that marks the second probe-off."""
RECONNECT_INTERVAL_S = 1.0
"""Wall-clock time between attempts to reopen a disconnected board, s."""
OUTAGE_POLL_S = 0.1
"""Wall-clock time between reports of the outage's seconds while the board is away, s."""
SERIES = (
    "time_s",
    "spo2_percent",
    "pulse_rate_bpm",
    "perfusion_index_percent",
    "signal_quality",
    "stale",
    "probe_off",
    "report_lag_s",
)
"""Per-second result arrays of the step (``report_lag_s``: signal time from a second's end
to its report, s; the step's figures give its p50/p99, and those of the wall-clock time the
live path spends on each frame batch, ``processing_p50_ms``/``processing_p99_ms``)."""
BEAT_SERIES = (
    "time_s",
    "interval_s",
    "spo2_percent",
    "perfusion_index_percent",
    "quality",
)
"""Per-beat result arrays (``per_beat_<name>``: middle of each beat cycle, s from the step's
first sample; SpO2 NaN for beats not accepted or near a probe-off stretch)."""


class MonitorStep(StepBase):
    """Monitor SpO2 until stopped (``duration_s`` unset) or for ``duration_s`` seconds;
    a disconnected board is waited for up to ``reconnect_s`` seconds (0: the run ends at
    once)."""

    kind: Literal["monitor"]
    duration_s: PositiveSeconds | None = None
    wavelengths_nm: Annotated[list[int], Field(min_length=2, max_length=8)] | None = None
    alarms: AlarmSettings = AlarmSettings()
    reconnect_s: Annotated[float, Field(ge=0, le=3600)] = 120.0


def check(step: MonitorStep, earlier: EarlierSteps, fail: Fail) -> MonitorStep:
    """Alarm limits in range; wavelengths in the protocol's LED pattern."""
    for name, problem in step.alarms.problems():
        fail(f"alarms.{name}", problem)
    if step.wavelengths_nm and earlier.led_wavelengths_nm is not None:
        missing = sorted(set(step.wavelengths_nm) - earlier.led_wavelengths_nm)
        if missing:
            fail("wavelengths_nm", f"{missing} nm not in device.led_pattern")
    return step


@dataclass
class LiveMonitor:
    """Frame batches in, per-second vitals and alarms out (events, alarm log, series).

    Parameters
    ----------
    step : str
        Step name (in events).
    led_pattern : tuple of (wavelength nm, drive mA)
        The stream's LED steps.
    sample_rate_hz : float
        Pattern cycles per second, Hz.
    curve : SpO2Curve or None
        R → SpO2 curve (None: the default curve of the pair).
    alarms : AlarmMonitor
        Alarm state.
    emit : callable
        Sends events.
    log_alarms : callable
        Appends alarm-log rows to the record.
    corrector : FrameCorrector or None
        Detector correction applied to every frame first (None: uncorrected frames).
    maps : LiveMapper or None
        Live maps fed with the same (corrected) frames.
    requests : queue.SimpleQueue of str
        The operator's ``acknowledge`` / ``pause`` requests, served with every batch.
    """

    step: str
    led_pattern: tuple[tuple[float, float], ...]
    sample_rate_hz: float
    curve: SpO2Curve | None
    alarms: AlarmMonitor
    emit: Callable[[RunEvent], None]
    log_alarms: Callable[[list[tuple[float, str, str, str, float]]], None]
    corrector: FrameCorrector | None = None
    maps: LiveMapper | None = None
    requests: queue.SimpleQueue[str] = field(default_factory=queue.SimpleQueue)
    series: dict[str, list[float]] = field(default_factory=dict)
    processing_s: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._start_analysers()
        self._start_s: float | None = None  # the step's first PPG sample, s
        self._first_frame_s: float | None = None
        self._offset: int | None = 0  # second number of the oximeter's second 0
        self._next_second = 0  # seconds reported so far
        self._connected = True
        self._resumed = False
        self._off: dict[int, list[int]] = {}  # second → [probe-off samples, samples]
        self.series = {name: [] for name in SERIES}
        self.beats: dict[str, list[float]] = {name: [] for name in BEAT_SERIES}

    def _start_analysers(self) -> None:
        # Corrected frames are in linear DN above the characterised dark level.
        self._ppg = StreamingPpg(
            self.led_pattern, black_level_dn=0.0 if self.corrector is not None else None
        )
        self._oximeter = StreamingOximeter(
            self.sample_rate_hz, self._ppg.wavelengths_nm, self.curve
        )

    @property
    def first_frame_s(self) -> float | None:
        """Time of the step's first frame on the step's clock, s (None before it)."""
        return self._first_frame_s

    def _origin_s(self) -> float:
        """Zero of the per-second clock on the step's clock, s."""
        if self._start_s is None:  # no PPG sample yet: count from the first frame
            self._start_s = self._first_frame_s if self._first_frame_s is not None else 0.0
        return self._start_s

    def add(self, batch: FrameBatch) -> None:
        """Feed one frame batch (called from the acquisition loop)."""
        started = time.perf_counter()
        self._serve_requests()
        if len(batch) and self._first_frame_s is None:
            self._first_frame_s = float(batch.fields["time_s"][0])
        if len(batch) and self._resumed:
            self._resume(float(batch.fields["time_s"][0]))
        frames, saturated = batch.frames, None
        if self.corrector is not None:
            frames, saturated = self.corrector.correct(
                batch.frames, batch.fields["board_temperature_c"]
            )
        if self.maps is not None:
            self.maps.add(batch, None if saturated is None else (frames, saturated))
        block = self._ppg.push(
            frames, batch.fields["frame_counter"], batch.fields["time_s"], saturated
        )
        if block.time_s.size == 0:
            return
        if self._start_s is None:
            self._start_s = float(block.time_s[0])
        time_s = block.time_s - self._start_s
        if self._offset is None:  # first samples after a reconnection: on the whole seconds
            self._offset = max(math.ceil(float(time_s[0]) - 1e-6), self._next_second)
            self._report_until(self._offset, connected=True)
        kept = time_s >= self._offset - 1e-6
        if not kept.any():
            return
        time_s, signals, probe_off = time_s[kept], block.signals[kept], block.probe_off[kept]
        self._emit(
            LiveSamples(self.step, time_s, signals, self._ppg.wavelengths_nm, self.sample_rate_hz)
        )
        first = self._oximeter.samples_pushed
        seconds = self._offset + (first + np.arange(time_s.size)) // self.sample_rate_hz
        for second in np.unique(seconds):
            inside = seconds == second
            counts = self._off.setdefault(int(second), [0, 0])
            counts[0] += int(np.count_nonzero(probe_off[inside]))
            counts[1] += int(np.count_nonzero(inside))
        signal_end_s = float(time_s[-1])
        for result in self._oximeter.push(signals):
            self._report(result, signal_end_s - (self._offset + result.index + 1))
        self.processing_s.append(time.perf_counter() - started)

    def _serve_requests(self) -> None:
        """Acknowledge or pause the alarms as the operator asked (at the latest second)."""
        now = self.series["time_s"][-1] if self.series["time_s"] else 0.0
        while not self.requests.empty():
            request = self.requests.get_nowait()
            if request == "acknowledge":
                self._log(self.alarms.acknowledge(now))
            elif request == "pause":
                self._log(self.alarms.pause(now))

    def finish(self) -> None:
        """Serve the last requests and report the seconds still waiting at the end."""
        self._serve_requests()
        if not self._connected:
            return
        for result in self._oximeter.flush():
            self._report(result, 0.0)
        if self.maps is not None:
            self.maps.finish()

    def disconnected(self, time_s: float) -> None:
        """The device stopped delivering frames at `time_s` (s on the step's clock): the
        seconds the analysers hold are reported and the technical alarm starts, logged."""
        if self._connected:
            self.finish()
            self._connected = False
        self._log(self.alarms.disconnected(time_s - self._origin_s()))

    def outage(self, time_s: float) -> None:
        """Report the whole seconds up to `time_s` (s on the step's clock) as seconds without
        a signal: no numbers, the disconnection alarm active."""
        self._serve_requests()
        self._report_until(math.floor(time_s - self._origin_s()), connected=False)

    def reconnected(self, maps: LiveMapper | None) -> None:
        """The board streams again: new analysers (with `maps`) for the frames after the gap;
        the alarm ends with the first of them."""
        self._start_analysers()
        self.maps = maps
        self._off.clear()
        self._offset = None
        self._resumed = True

    def _resume(self, time_s: float) -> None:
        """The first frame after the gap, at `time_s` (s on the step's clock)."""
        at = time_s - self._origin_s()
        self._report_until(math.floor(at), connected=False)
        self._log(self.alarms.reconnected(at))
        self._connected = True
        self._resumed = False

    def _report_until(self, end: int, *, connected: bool) -> None:
        """Report the seconds not reported yet that end by `end` (s) without numbers."""
        while self._next_second + 1 <= end:
            end_s = self._next_second + 1.0
            vitals = Vitals(end_s, math.nan, math.nan, device_connected=connected)
            self._log(self.alarms.update(vitals))
            self._publish(end_s, (math.nan, math.nan, math.nan), 0.0, False, 0.0)

    def _probe_off(self, index: int) -> tuple[bool, bool]:
        """(this second probe-off, probe off within `PROBE_OFF_MARGIN_S` of it)."""

        def off(second: int) -> bool:
            counts = self._off.get(second, [0, 0])
            return counts[1] > 0 and counts[0] > PROBE_OFF_SHARE * counts[1]

        near = any(off(s) for s in range(index - PROBE_OFF_MARGIN_S, index + PROBE_OFF_MARGIN_S))
        for old in [s for s in self._off if s < index - PROBE_OFF_MARGIN_S]:
            del self._off[old]
        return off(index), near

    def _report(self, result: SecondResult, lag_s: float) -> None:
        offset = self._offset or 0
        second = offset + result.index
        if second < self._next_second:  # already reported without numbers
            return
        off, near = self._probe_off(second)
        nan = math.nan
        values = (
            (nan, nan, nan)
            if near
            else (result.spo2_percent, result.pulse_rate_bpm, result.perfusion_index_percent)
        )
        end_s = second + 1.0
        self._log(self.alarms.update(Vitals(end_s, values[0], values[1], probe_off=off)))
        self._publish(end_s, values, 0.0 if near else result.signal_quality, off, lag_s)
        beats = (
            result.beat_time_s + offset,
            result.beat_interval_s,
            np.full_like(result.beat_spo2_percent, np.nan) if near else result.beat_spo2_percent,
            result.beat_perfusion_index_percent,
            result.beat_quality,
        )
        for name, values_of_beats in zip(BEAT_SERIES, beats, strict=True):
            self.beats[name].extend(np.asarray(values_of_beats, dtype=float).tolist())

    def _publish(
        self,
        end_s: float,
        values: tuple[float, float, float],
        quality: float,
        off: bool,
        lag_s: float,
    ) -> None:
        """Send and keep one second's values (SpO2 %, PR /min, PI %), after the alarms."""
        spo2, rate, perfusion = values
        stale = self.alarms.stale(end_s)
        vitals = LiveVitals(
            step=self.step,
            time_s=end_s,
            spo2_percent=spo2,
            pulse_rate_bpm=rate,
            perfusion_index_percent=perfusion,
            signal_quality=quality,
            stale=stale,
            probe_off=off,
            alarms=tuple(self.alarms.active(end_s)),
        )
        self._emit(vitals)
        self._emit(
            LiveData(
                time_s=end_s,
                traces={},
                image=None,
                vitals={
                    "spo2_percent": spo2,
                    "pulse_rate_bpm": rate,
                    "perfusion_index_percent": perfusion,
                },
            )
        )
        for name, value in zip(
            SERIES, (end_s, spo2, rate, perfusion, quality, stale, off, lag_s), strict=True
        ):
            self.series[name].append(float(value))
        self._next_second = round(end_s)

    def _log(self, entries: list[AlarmLogEntry]) -> None:
        if entries:
            rows = [(e.time_s, e.condition, e.priority, e.event, e.value) for e in entries]
            self.log_alarms(rows)

    def _emit(self, event: RunEvent) -> None:
        self.emit(event)


def run(step: MonitorStep, context: RunContext) -> StepOutcome:
    """Monitor until stopped or for ``duration_s`` (scaled); results per second."""
    board = context.instrument.board
    assert board is not None
    wanted = step.wavelengths_nm
    pattern = tuple(
        s
        for s in board.led_pattern
        if s.drive_current_ma == 0.0 or wanted is None or s.wavelength_nm in wanted
    )
    lit = {s.wavelength_nm for s in pattern if s.drive_current_ma > 0.0}
    if len(lit) < 2:
        return StepOutcome(
            "failed",
            message="monitoring needs two lit wavelengths (red and infrared)",
            stops_run=True,
        )
    corrector, correction = context.frame_correction()
    if corrector is None:
        context.emit(RunWarning(f"{context.step_name} analyses {correction}"))
    steps = tuple((float(s.wavelength_nm), float(s.drive_current_ma)) for s in pattern)
    frame_rate_hz = board.frame_rate_hz
    monitor = LiveMonitor(
        step=context.step_name,
        led_pattern=steps,
        sample_rate_hz=frame_rate_hz / len(pattern),
        curve=calibrated_spo2_curve(context.registry, context.calibration_uses),
        alarms=AlarmMonitor(step.alarms),
        emit=context.emit,
        log_alarms=context.writer.append_alarms,
        corrector=corrector,
        maps=live_mapper(context, steps, frame_rate_hz, corrector),
        requests=context.alarm_requests,
    )
    duration = None if step.duration_s is None else context.scaled(step.duration_s)
    clock = ClockMap(time.monotonic())
    try:
        while True:
            left = None if duration is None else duration - _signal_now(clock)
            if left is not None and left * frame_rate_hz < 1.0:
                break
            try:
                context.acquire(left, pattern, live=True, consumer=monitor.add, clock=clock)
                break
            except DeviceDisconnected as exc:
                monitor.disconnected(_signal_now(clock))
                if not _board_back(step, context, monitor, clock, duration, exc):
                    break
            except DeviceError:
                monitor.disconnected(_signal_now(clock))
                raise
            clock.restart(frame_rate_hz, len(pattern))
            maps = live_mapper(context, steps, frame_rate_hz, corrector)
            if maps is not None:
                maps.step_start_s = monitor.first_frame_s
            monitor.reconnected(maps)
    finally:
        segment = context.join_segments()
    monitor.finish()
    if segment is not None:
        context.data[context.step_name] = segment
    frames, dropped = (segment.stats.frames, segment.stats.dropped_frames) if segment else (0, 0)
    outcome = _outcome(monitor, frames, dropped)
    outcome.results["frame_correction"] = correction
    return outcome


def _signal_now(clock: ClockMap) -> float:
    """Where the step's clock is now, s."""
    return clock.time_at(time.monotonic())


def _board_back(
    step: MonitorStep,
    context: RunContext,
    monitor: LiveMonitor,
    clock: ClockMap,
    duration_s: float | None,
    lost: DeviceDisconnected,
) -> bool:
    """Reopen the disconnected board every `RECONNECT_INTERVAL_S` while reporting the outage's
    seconds: True once it is back and set up again, False when the step ended meanwhile
    (stopped, or its duration is over).

    Raises
    ------
    DeviceDisconnected
        The board is not back within ``reconnect_s`` (the run ends).
    RunAborted
        The operator aborted.
    """
    lost_at_s = _signal_now(clock)
    logger.warning(
        "%s: detector board disconnected at %.1f s; reconnecting for up to %g s",
        context.step_name,
        lost_at_s,
        step.reconnect_s,
    )
    context.emit(RunWarning(f"{context.step_name}: detector board disconnected; reconnecting"))
    next_try = time.monotonic()
    while True:
        now = time.monotonic()
        signal_s = clock.time_at(now)
        monitor.outage(signal_s)
        context.checkpoint()
        if context.stop_requested.is_set() or (duration_s is not None and signal_s >= duration_s):
            return False
        away_s = signal_s - lost_at_s
        if away_s > step.reconnect_s:
            raise DeviceDisconnected(f"{lost}; not back within {step.reconnect_s:g} s") from None
        if now >= next_try:
            next_try = now + RECONNECT_INTERVAL_S
            context.progress(0.0, f"detector board disconnected for {away_s:.0f} s; reconnecting")
            try:
                context.instrument.reconnect_detector()
            except DeviceError as exc:
                logger.debug("detector board not back yet: %s", exc)
            else:
                logger.info("%s: detector board back after %.1f s", context.step_name, away_s)
                return True
        time.sleep(OUTAGE_POLL_S)


def _outcome(monitor: LiveMonitor, frames: int, dropped: int) -> StepOutcome:
    """The step's figures and per-second arrays."""
    series = {name: np.asarray(values, dtype=float) for name, values in monitor.series.items()}
    spo2 = series["spo2_percent"]
    reported = np.isfinite(spo2)
    starts = [e for e in monitor.alarms.log if e.event == "start"]

    def median(values: np.ndarray) -> float | None:
        value = median_of_finite(values)
        return value if math.isfinite(value) else None

    results = {
        "frames": frames,
        "dropped_frames": dropped,
        "seconds": int(spo2.size),
        "withheld_percent": float(100.0 * (1.0 - reported.mean())) if spo2.size else 100.0,
        "spo2_percent": median(spo2),
        "pulse_rate_bpm": median(series["pulse_rate_bpm"]),
        "perfusion_index_percent": median(series["perfusion_index_percent"]),
        "alarms_started": len(starts),
        "alarm_conditions": sorted({e.condition for e in starts}),
        "report_lag_p50_s": _quantile(series["report_lag_s"], 0.5),
        "report_lag_p99_s": _quantile(series["report_lag_s"], 0.99),
        "processing_p50_ms": _quantile(1e3 * np.asarray(monitor.processing_s), 0.5),
        "processing_p99_ms": _quantile(1e3 * np.asarray(monitor.processing_s), 0.99),
    }
    arrays = {f"per_second_{k}": v for k, v in series.items()}
    arrays |= {f"per_beat_{k}": np.asarray(v, dtype=float) for k, v in monitor.beats.items()}
    return StepOutcome("passed", results, arrays=arrays)


def _quantile(values: np.ndarray, share: float) -> float | None:
    """The `share` quantile of `values` (None when empty), 4 significant digits."""
    return float(f"{np.quantile(values, share):.4g}") if np.size(values) else None


KIND = StepKind(
    MonitorStep,
    run,
    figures=(
        "frames",
        "dropped_frames",
        "seconds",
        "withheld_percent",
        "spo2_percent",
        "pulse_rate_bpm",
        "perfusion_index_percent",
        "alarms_started",
        "report_lag_p50_s",
        "report_lag_p99_s",
        "processing_p50_ms",
        "processing_p99_ms",
    ),
    acquires=True,
    check=check,
)
