"""Acquisition: frames from the board's reader thread, through a bounded buffer, into a record.

The driver's reader thread is the producer; it never blocks: when the buffer is full the
frame is counted as a buffer overrun. The consumer (the thread that calls
:meth:`Acquisition.run`) maps device timestamps to host time, counts frames the link lost
(gaps in the frame counter) and appends batches to the run record.
"""

from __future__ import annotations

import logging
import math
import queue
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from drivers.detector_board import DetectorBoard, ReceivedFrame
from drivers.errors import DeviceError, DeviceTimeout
from instrument.run_record import FrameBatch, RunRecordWriter

logger = logging.getLogger(__name__)

MAX_BATCH_FRAMES = 64
BATCH_WINDOW_S = 0.05
POLL_S = 0.05


@dataclass(frozen=True)
class AcquisitionStats:
    """What an acquisition delivered and what it lost.

    Attributes
    ----------
    frames : int
        Frames stored in the run record.
    frame_rate_hz : float
        Board frame rate, Hz.
    dropped_frames : int
        Frames the board produced within the run that are not in the record (all causes).
    buffer_overruns : int
        Of those, frames the host discarded because the buffer was full.
    decoder_resyncs : int
        Corrupt chunks the decoder skipped to find the next packet.
    discarded_bytes : int
        Bytes skipped with them.
    duration_s : float
        Device time covered by the stored frames, s.
    wavelengths_nm : tuple of int
        LED wavelengths of the stored frames, nm, ascending.
    """

    frames: int
    frame_rate_hz: float
    dropped_frames: int
    buffer_overruns: int
    decoder_resyncs: int
    discarded_bytes: int
    duration_s: float
    wavelengths_nm: tuple[int, ...]

    def as_dict(self) -> dict[str, object]:
        """Plain dict for JSON and record attributes."""
        return asdict(self)


ProgressCallback = Callable[[float, int], None]
FramesCallback = Callable[[FrameBatch], None]


def frames_in(duration_s: float, frame_rate_hz: float) -> int:
    """Frames of an acquisition of ``duration_s`` seconds at ``frame_rate_hz``.

    Raises
    ------
    ValueError
        If the duration is not finite or shorter than one frame period.
    """
    if not math.isfinite(duration_s) or duration_s <= 0:
        raise ValueError(f"duration must be a finite number of seconds > 0, got {duration_s}")
    frames = round(duration_s * frame_rate_hz)
    if frames < 1:
        raise ValueError(
            f"duration {duration_s:g} s is shorter than one frame period ({1 / frame_rate_hz:g} s)"
        )
    return frames


def _log_losses(stats: AcquisitionStats) -> None:
    """One line per acquisition; a warning when frames were lost or the link was resynchronised."""
    lossy = stats.dropped_frames or stats.buffer_overruns or stats.decoder_resyncs
    logger.log(
        logging.WARNING if lossy else logging.INFO,
        "acquired %d frames (%.3f s): %d dropped, of which %d buffer overruns; "
        "%d decoder resyncs (%d bytes discarded)",
        stats.frames,
        stats.duration_s,
        stats.dropped_frames,
        stats.buffer_overruns,
        stats.decoder_resyncs,
        stats.discarded_bytes,
    )


class ClockMap:
    """Maps the board clock (µs) to host time (s since the run started).

    The first frame's arrival anchors the board clock to the host clock; later frames keep the
    board's own spacing, so host times increase exactly as the exposures did.

    One map can follow a step over several streams: after :meth:`restart` (the board was
    reconnected and streams again, its counters and possibly its clock restarted) the next
    frame is placed where the step's clock has got to by its arrival (:meth:`time_at`), and the
    new stream's counters and device times are shifted to continue the step's
    (:meth:`continued`), so that they keep increasing and the gap shows in both.

    Parameters
    ----------
    run_start_s : float
        Host monotonic time the step's ``time_s`` counts from, s.
    """

    def __init__(self, run_start_s: float) -> None:
        self.run_start_s = run_start_s
        self._anchor_device_us: int | None = None
        self._anchor_host_s = 0.0
        self._anchor_arrival_s = 0.0
        self._last: tuple[float, float, int, int] | None = None  # time s, arrival s, µs, counter
        self._rate = 1.0
        self._restart: tuple[float, int] | None = None  # (frame rate Hz, pattern length)
        self._counter_offset = 0
        self._device_offset_us = 0

    def host_time_s(self, device_time_us: np.ndarray, arrival_s: float) -> np.ndarray:
        """Host times (s since the run started) of exposures at ``device_time_us``."""
        if self._anchor_device_us is None:
            self._anchor_device_us = int(device_time_us[0])
            self._anchor_host_s = arrival_s - self.run_start_s
            self._anchor_arrival_s = arrival_s
        offsets = (device_time_us.astype(np.int64) - self._anchor_device_us) * 1e-6
        return self._anchor_host_s + offsets

    def continued(
        self, counters: np.ndarray, device_time_us: np.ndarray, arrival_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(time s, frame counters, device times µs) of a batch on the step's clock.

        Parameters
        ----------
        counters, device_time_us : ndarray
            The batch's frame counters and board times, µs, as the board sent them.
        arrival_s : ndarray
            Host monotonic time each frame arrived, s.
        """
        if self._restart is not None and self._last is not None:
            self._resume(int(counters[0]), int(device_time_us[0]), float(arrival_s[0]))
        device_us = device_time_us.astype(np.int64) + self._device_offset_us
        time_s = self.host_time_s(device_us, float(arrival_s[0]))
        counted = counters.astype(np.int64) + self._counter_offset
        last_arrival = float(arrival_s[-1])
        self._last = (float(time_s[-1]), last_arrival, int(device_us[-1]), int(counted[-1]))
        elapsed_host = last_arrival - self._anchor_arrival_s
        if elapsed_host > 1.0:
            self._rate = float(time_s[-1] - self._anchor_host_s) / elapsed_host
        return time_s, counted, device_us.astype(np.uint64)

    def _resume(self, counter: int, device_us: int, arrival_s: float) -> None:
        """Shift the new stream so that its first frame continues the step's clock."""
        assert self._restart is not None and self._last is not None
        frame_rate_hz, cycle = self._restart
        last_time_s, _, last_device_us, last_counter = self._last
        start_s = max(self.time_at(arrival_s), last_time_s + 1.0 / frame_rate_hz)
        gap_s = start_s - last_time_s
        self._device_offset_us = last_device_us + round(gap_s * 1e6) - device_us
        first = last_counter + max(1, round(gap_s * frame_rate_hz))
        self._counter_offset = -(-(first - counter) // cycle) * cycle  # whole pattern cycles
        self._anchor_device_us = device_us + self._device_offset_us
        self._anchor_host_s = start_s
        self._anchor_arrival_s = arrival_s
        self._restart = None
        logger.info("stream resumed at %.2f s after a gap of %.2f s", start_s, gap_s)

    @property
    def last_time_s(self) -> float | None:
        """Time of the last frame mapped, s (None before the first)."""
        return None if self._last is None else self._last[0]

    def time_at(self, host_s: float) -> float:
        """Where the step's clock is at host monotonic time `host_s`, s: extrapolated from the
        last frame at the rate the board's clock ran against the host's (1 on hardware; the
        simulated board's speed), s from the run start before any frame."""
        if self._last is None:
            return host_s - self.run_start_s
        last_time_s, last_arrival_s, _, _ = self._last
        return last_time_s + (host_s - last_arrival_s) * self._rate

    def restart(self, frame_rate_hz: float, pattern_length: int) -> None:
        """The next frame starts a new stream (counters from 0) after a gap: place it at the
        step's clock when it arrives, its counters a whole number of `pattern_length` cycles
        on, as if the board had counted through the gap at `frame_rate_hz`."""
        self._restart = (frame_rate_hz, max(1, pattern_length))


class Acquisition:
    """One acquisition from a detector board into a run record.

    Parameters
    ----------
    board : DetectorBoard
        A connected board, configured.
    writer : RunRecordWriter
        Where the frames go.
    frame_rate_hz : float
        The board's frame rate, Hz.
    buffer_frames : int
        Capacity of the buffer between the link and the recorder, frames.
    stall_timeout_s : float
        A gap without frames this long ends the run with :class:`DeviceTimeout`.
    clock : ClockMap, optional
        The step's clock, to continue (after a reconnection); default: a new one from the
        start of :meth:`run`.
    """

    def __init__(
        self,
        board: DetectorBoard,
        writer: RunRecordWriter,
        *,
        frame_rate_hz: float,
        buffer_frames: int,
        stall_timeout_s: float,
        clock: ClockMap | None = None,
    ) -> None:
        self.board = board
        self.clock = clock
        self.writer = writer
        self.frame_rate_hz = frame_rate_hz
        self.stall_timeout_s = stall_timeout_s
        self._buffer: queue.Queue[ReceivedFrame] = queue.Queue(maxsize=buffer_frames)
        self._failure: DeviceError | None = None
        self.buffer_overruns = 0
        self._expected_frames = 0
        self.dropped_frames = 0
        self._next_counter = 0
        self._first_device_us: int | None = None
        self._last_device_us = 0
        self._frames = 0
        self._wavelengths_nm: set[int] = set()

    def _enqueue(self, received: ReceivedFrame) -> None:
        try:
            self._buffer.put_nowait(received)
        except queue.Full:
            if received.frame.frame_counter < self._expected_frames:
                self.buffer_overruns += 1
                logger.debug("buffer full: frame %d discarded", received.frame.frame_counter)

    def _on_failure(self, error: DeviceError) -> None:
        logger.info("acquisition: link failure reported: %s", error)
        self._failure = error

    def stats(self) -> AcquisitionStats:
        """Counts so far."""
        duration = (
            0.0
            if self._first_device_us is None
            else round(
                (self._last_device_us - self._first_device_us) * 1e-6 + 1 / self.frame_rate_hz, 6
            )
        )
        return AcquisitionStats(
            frames=self._frames,
            frame_rate_hz=self.frame_rate_hz,
            dropped_frames=self.dropped_frames,
            buffer_overruns=self.buffer_overruns,
            decoder_resyncs=self.board.resyncs,
            discarded_bytes=self.board.discarded_bytes,
            duration_s=duration,
            wavelengths_nm=tuple(sorted(self._wavelengths_nm)),
        )

    def run(
        self,
        duration_s: float | None,
        on_progress: ProgressCallback | None = None,
        on_frames: FramesCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> AcquisitionStats:
        """Acquire ``duration_s`` seconds of frames (device time) into the record, or until
        ``should_stop()`` returns true (checked after every batch; ``duration_s`` None: no
        time limit).

        Frames go to the record (and to ``on_frames``) batch by batch as they arrive; none is
        kept here. Everything received before an error is in the record when this raises.

        Raises
        ------
        DeviceError
            The link failed (disconnect) or stalled (no frame for ``stall_timeout_s``).
        """
        expected_frames = self._expected_frames = (
            sys.maxsize if duration_s is None else frames_in(duration_s, self.frame_rate_hz)
        )
        stop = should_stop or (lambda: False)
        logger.info(
            "acquiring %s at %g Hz from the detector board on %s",
            "until stopped" if duration_s is None else f"{expected_frames} frames",
            self.frame_rate_hz,
            self.board.port,
        )
        clock = self.clock if self.clock is not None else ClockMap(time.monotonic())
        self.clock = clock
        last_frame_at = time.monotonic()
        try:
            # A board left streaming by an earlier client is stopped first, so that no frame of
            # that stream is taken for one of this run; START_STREAM restarts the counter at 0.
            self.board.stop_stream()
            self.board.start_stream(self._enqueue, self._on_failure)
            while self._next_counter < expected_frames and not stop():
                batch, past_end = self._take_batch(expected_frames)
                if batch:
                    last_frame_at = time.monotonic()
                    self._store(batch, clock, on_frames)
                    if on_progress is not None:
                        on_progress(self._next_counter / self.frame_rate_hz, self._frames)
                if past_end:
                    # Frames between the last one stored and the run's end were lost.
                    self._count_lost(np.array([expected_frames], dtype=np.int64))
                if batch or past_end:
                    continue
                if self._failure is not None:
                    raise self._failure
                silent_for = time.monotonic() - last_frame_at
                if silent_for > self.stall_timeout_s:
                    logger.info(
                        "acquisition stalled: no frame for %.1f s after frame %d",
                        silent_for,
                        self._next_counter,
                    )
                    raise DeviceTimeout(
                        f"detector board on {self.board.port} stopped sending frames: none for "
                        f"{silent_for:.1f} s; check the link and the board's power"
                    )
        finally:
            self._stop_stream()
        self.writer.flush()
        stats = self.stats()
        _log_losses(stats)
        return stats

    def _stop_stream(self) -> None:
        if self._failure is not None:
            return
        try:
            self.board.stop_stream()
        except DeviceError as exc:
            logger.info("acquisition: stopping the stream failed: %s", exc)
            self._failure = exc

    def _take_batch(self, expected_frames: int) -> tuple[list[ReceivedFrame], bool]:
        """Frames waiting in the buffer that belong to the run, and whether the board has
        already passed the run's last frame."""
        try:
            first = self._buffer.get(timeout=POLL_S)
        except queue.Empty:
            return [], False
        batch = [first]
        # Gather for a short window: fewer, larger HDF5 writes cost far less CPU per frame.
        window_end = time.monotonic() + BATCH_WINDOW_S
        while len(batch) < MAX_BATCH_FRAMES:
            remaining = window_end - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._buffer.get(timeout=remaining))
            except queue.Empty:
                break
        kept = [r for r in batch if r.frame.frame_counter < expected_frames]
        return kept, len(kept) < len(batch)

    def _count_lost(self, counters: np.ndarray) -> None:
        expected = np.concatenate(([self._next_counter], counters[:-1] + 1))
        lost = counters - expected
        if np.any(lost > 0):
            logger.debug("frames lost before counters %s", counters[lost > 0].tolist())
        self.dropped_frames += int(np.sum(lost[lost > 0]))
        self._next_counter = int(counters[-1]) + 1

    def _store(
        self, batch: list[ReceivedFrame], clock: ClockMap, on_frames: FramesCallback | None
    ) -> None:
        counters = np.array([r.frame.frame_counter for r in batch], dtype=np.int64)
        self._count_lost(counters)
        device_us = np.array([r.frame.device_time_us for r in batch], dtype=np.uint64)
        if self._first_device_us is None:
            self._first_device_us = int(device_us[0])
        self._last_device_us = int(device_us[-1])
        arrivals = np.array([r.host_time_s for r in batch])
        time_s, step_counters, step_device_us = clock.continued(counters, device_us, arrivals)
        fields = {
            "time_s": time_s,
            "device_time_us": step_device_us,
            "host_arrival_s": arrivals - clock.run_start_s,
            "frame_counter": step_counters.astype(np.uint32),
            "wavelength_nm": np.array([r.frame.wavelength_nm for r in batch], dtype=np.uint16),
            "led_step": np.array([r.frame.led_step for r in batch], dtype=np.uint8),
            "board_temperature_c": np.array(
                [r.frame.temperature_c for r in batch], dtype=np.float32
            ),
        }
        frame_batch = FrameBatch(np.stack([r.frame.pixels for r in batch]), fields)
        self.writer.append(frame_batch)
        self._frames += len(batch)
        self._wavelengths_nm.update(np.unique(fields["wavelength_nm"]).tolist())
        if on_frames is not None:
            on_frames(frame_batch)
