"""The app's connection to the instrument: open, read temperature, acquire, close — all in a
worker thread, reported through signals.

Nothing here knows about widgets; the instrument panel and the live view connect to the
signals. The calls are those a script makes on :class:`instrument.instrument.Instrument`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gui.live_buffer import LiveBuffer, live_data_from_frames
from gui.run_worker import Job, Post, Worker
from instrument.config import InstrumentConfig
from instrument.instrument import AcquisitionResult, Instrument
from instrument.live_data import lit_steps_of
from instrument.run_record import FrameBatch


class AcquisitionStopped(Exception):
    """The operator stopped a live acquisition; the record keeps the frames so far."""


class InstrumentSession(QObject):
    """One instrument, driven from a worker thread.

    Parameters
    ----------
    config : InstrumentConfig
        Devices to open.
    config_text : str
        The configuration file's text (stored in run records).
    live : LiveBuffer
        Where live frames go while acquiring.
    """

    opened = Signal(object)
    closed = Signal()
    temperature_read = Signal(float)
    acquired = Signal(object)
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(
        self,
        config: InstrumentConfig,
        config_text: str,
        live: LiveBuffer,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self.config_text = config_text
        self.live = live
        self.instrument: Instrument | None = None
        self.identities: dict[str, dict[str, str]] = {}
        self.worker = Worker(live, self)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self._stop = threading.Event()
        # What each queued job is ("open", "close", "acquire", "poll"), oldest first: jobs run
        # and report back in the order they were queued.
        self._queued: deque[str] = deque()
        # Held by every device operation, the session's and a protocol run's: one at a time.
        self.device_lock = threading.Lock()
        self.running = False

    @property
    def is_open(self) -> bool:
        """True while the devices are connected."""
        return self.instrument is not None

    @property
    def busy(self) -> bool:
        """True while an operator's device operation (connect, disconnect, acquire) or a
        protocol run is under way.

        Background temperature reads do not count: they take milliseconds and anything started
        meanwhile simply queues behind them.
        """
        return self.running or any(kind != "poll" for kind in self._queued)

    @property
    def acquiring(self) -> bool:
        """True while a live acquisition is queued or running."""
        return "acquire" in self._queued

    @property
    def connecting(self) -> bool:
        """True while a connect is queued or running."""
        return "open" in self._queued

    @property
    def polling(self) -> bool:
        """True while a background temperature read is queued or running."""
        return "poll" in self._queued

    def _start(self, kind: str, job: Job) -> None:
        def locked(post: Post) -> object:
            with self.device_lock:
                return job(post)

        self._queued.append(kind)
        self.worker.start(locked)
        self.busy_changed.emit(self.busy)

    def run_job(self, run: Callable[[], object]) -> Job:
        """A protocol run's worker job: it waits for any session operation to end, disconnects
        the session (the run opens the devices itself) and runs, holding the devices throughout.

        Call :meth:`end_run` (GUI thread) when the run has finished or failed.
        """
        self.running = True
        self.busy_changed.emit(True)

        def job(post: Post) -> object:
            with self.device_lock:
                self.release()
                return run()

        return job

    def end_run(self) -> None:
        """A protocol run ended: the session's controls are free again (GUI thread)."""
        self.running = False
        self.busy_changed.emit(self.busy)

    def open(self) -> None:
        """Connect every device (and start simulators) in the worker thread."""
        self._start("open", self._open)

    def _open(self, post: Post) -> tuple[str, object]:
        instrument = Instrument(self.config, self.config_text).open()
        self.instrument = instrument
        return "opened", dict(instrument.identities)

    def close(self) -> None:
        """Disconnect every device in the worker thread."""
        self._start("close", self._close)

    def _close(self, post: Post) -> tuple[str, object]:
        if self.instrument is not None:
            self.instrument.close()
        self.instrument = None
        return "closed", None

    def close_now(self) -> None:
        """Stop any acquisition and disconnect, waiting for it (the app is quitting; no protocol
        run may be under way)."""
        self._stop.set()
        self.worker.wait(10.0)
        with self.device_lock:
            if self.instrument is not None:
                self.instrument.close()
                self.instrument = None

    def release(self) -> None:
        """Disconnect now from the calling thread (a protocol run is about to open the devices).

        Call it only while no session job runs; ``closed`` is delivered to the GUI thread.
        """
        if self.instrument is not None:
            self.instrument.close()
            self.instrument = None
            self.identities = {}
            self.closed.emit()

    def read_temperature(self) -> None:
        """Read the board temperature (°C) in the worker thread."""
        self._start("poll", self._read_temperature)

    def _read_temperature(self, post: Post) -> tuple[str, object]:
        if self.instrument is None:  # a protocol run took the devices meanwhile
            return "skipped", None
        board = self.instrument.board
        if board is None:
            raise RuntimeError("the detector board is not connected")
        return "temperature", board.read_temperature_c()

    def acquire(self, duration_s: float, out_dir: str | Path, operator: str = "") -> None:
        """Acquire ``duration_s`` seconds into a run record, feeding the live view."""
        self._stop.clear()
        self.live.clear()

        def job(post: Post) -> tuple[str, object]:
            instrument = self._instrument()
            board = instrument.board
            lit_steps = lit_steps_of(board.led_pattern) if board is not None else set()

            def on_frames(batch: FrameBatch) -> None:
                if self._stop.is_set():
                    raise AcquisitionStopped
                data = live_data_from_frames(batch, lit_steps)
                if data is not None:
                    post(data)

            try:
                result = instrument.acquire(
                    duration_s, out_dir, operator=operator, on_frames=on_frames
                )
            except AcquisitionStopped:
                return "acquired", None
            return "acquired", result

        self._start("acquire", job)

    def stop(self) -> None:
        """End a running acquisition at its next frame batch."""
        self._stop.set()

    def _instrument(self) -> Instrument:
        if self.instrument is None:
            raise RuntimeError("the instrument is not connected; connect it first")
        return self.instrument

    def _on_finished(self, result: tuple[str, object]) -> None:
        self._queued.popleft()
        kind, value = result
        self.busy_changed.emit(self.busy)
        if kind == "opened":
            self.identities = value  # type: ignore[assignment]
            self.opened.emit(value)
        elif kind == "closed":
            self.identities = {}
            self.closed.emit()
        elif kind == "temperature":
            self.temperature_read.emit(value)
        elif kind == "acquired":
            self.acquired.emit(value if isinstance(value, AcquisitionResult) else None)

    def _on_failed(self, message: str) -> None:
        self._queued.popleft()
        self.busy_changed.emit(self.busy)
        self.failed.emit(message)
