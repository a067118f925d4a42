"""Blocking work (device I/O, protocol runs) in a worker thread, reported to the GUI thread.

A :class:`Worker` runs queued jobs one after another in a Python thread. A job gets a ``post``
callable: live data and a monitoring step's PPG samples go into a
:class:`gui.live_buffer.LiveBuffer` (drained by the views' redraw timers);
every other event travels to the GUI thread through the ``event`` signal over a queued
connection. The job's return value arrives as ``finished``; an exception as ``failed`` with its
message (the GUI shows one line, never a traceback).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from gui.live_buffer import LiveBuffer
from instrument.live_data import LiveData
from protocols.events import LiveSamples

Post = Callable[[object], None]
Job = Callable[[Post], Any]


class Worker(QObject):
    """Runs jobs off the GUI thread, one after another.

    Parameters
    ----------
    live : LiveBuffer or None
        Where live data goes; ``None`` drops it.
    """

    run_event = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    _deliver = Signal(str, object)

    def __init__(self, live: LiveBuffer | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.live = live
        self._lock = threading.Lock()
        self._jobs: deque[Job] = deque()
        self._pending = 0
        self._thread: threading.Thread | None = None
        # Emitted from the worker thread; the queued connection runs the slot in the GUI thread.
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        """True while a job runs or waits."""
        return self._pending > 0

    def start(self, job: Job) -> None:
        """Queue ``job(post)``; jobs run one after another in the worker thread."""
        with self._lock:
            self._jobs.append(job)
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, daemon=True)
                self._thread.start()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until every queued job has run (tests, shutdown); True when they have."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return self._thread is None

    def post(self, event: object) -> None:
        """Hand one event over (any thread)."""
        if isinstance(event, LiveData):
            if self.live is not None:
                self.live.push(event)
            return
        if isinstance(event, LiveSamples):  # the pulse waveform, drawn on the view's timer
            if self.live is not None:
                self.live.push_samples(event)
            return
        self._deliver.emit("event", event)

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._jobs:
                    self._thread = None
                    return
                job = self._jobs.popleft()
            try:
                kind, payload = "finished", job(self.post)
            except Exception as exc:  # reported in the GUI as one line
                kind, payload = "failed", f"{exc}" or type(exc).__name__
            with self._lock:
                self._pending -= 1
            self._deliver.emit(kind, payload)

    def _on_deliver(self, kind: str, payload: object) -> None:
        if kind == "event":
            self.run_event.emit(payload)
        elif kind == "finished":
            self.finished.emit(payload)
        else:
            self.failed.emit(str(payload))
