"""Short blocking jobs (registry reads and verification, record files) off the GUI thread.

:func:`run_task` runs a function in Qt's global thread pool; its result or the message of the
exception it raised comes back to the GUI thread through a signal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal


class Task(QObject):
    """One background job; its outcome is handed to the callbacks in the GUI thread."""

    _done = Signal(object)
    _failed = Signal(str)

    def __init__(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_failed: Callable[[str], None],
        parent: QObject,
    ) -> None:
        super().__init__(parent)
        self.work, self.on_done, self.on_failed = work, on_done, on_failed
        # Emitted from a pool thread; the queued connections run the slots in this object's
        # (the GUI) thread.
        self._done.connect(self._deliver_result, Qt.ConnectionType.QueuedConnection)
        self._failed.connect(self._deliver_error, Qt.ConnectionType.QueuedConnection)

    def run(self) -> None:
        """Run ``work`` (pool thread) and send its outcome to the GUI thread."""
        try:
            result = self.work()
        except Exception as exc:  # shown in the GUI as one line
            self._failed.emit(f"{exc}" or type(exc).__name__)
        else:
            self._done.emit(result)

    def _deliver_result(self, result: object) -> None:
        self.deleteLater()
        self.on_done(result)

    def _deliver_error(self, message: str) -> None:
        self.deleteLater()
        self.on_failed(message)


def run_task(
    parent: QObject,
    work: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_failed: Callable[[str], None],
) -> Task:
    """Run ``work()`` in the thread pool; call ``on_done(result)`` or ``on_failed(message)``
    in the GUI thread. ``parent`` owns the task until it has delivered."""
    task = Task(work, on_done, on_failed, parent)
    QThreadPool.globalInstance().start(task.run)
    return task
