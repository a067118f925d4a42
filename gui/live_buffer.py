"""A thread-safe hand-over of live data from a worker thread to the views.

The worker thread pushes every :class:`instrument.live_data.LiveData` (at whatever rate the
acquisition produces them); each carries only samples not sent before, which the buffer appends
to its rolling window; the GUI thread takes a snapshot on its own timer (≤ 20 Hz), so a
200 fps acquisition never floods the event loop: between two redraws, any number of pushes
collapse into one snapshot.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from instrument.live_data import LiveData, live_data
from instrument.run_record import FrameBatch

TRACE_WINDOW_SAMPLES = 600


@dataclass(frozen=True)
class LiveSnapshot:
    """What the live view draws.

    Attributes
    ----------
    time_s : float
        Time of the newest data, s since the run started.
    traces : dict of float to numpy.ndarray
        Per wavelength (nm), the newest samples (at most the window), arbitrary units.
    image : numpy.ndarray or None
        The newest detector frame (rows, cols).
    vitals : dict of str to float
        Newest value of each figure (``spo2_percent``, ``pulse_rate_bpm``, …).
    pushes : int
        Pushes received since the buffer was cleared.
    generation : int
        How many times the buffer was cleared (a new run or acquisition started).
    """

    time_s: float
    traces: dict[float, NDArray[np.float64]]
    image: NDArray[np.float64] | None
    vitals: dict[str, float]
    pushes: int
    generation: int = 0


class LiveBuffer:
    """Latest live data: rolling per-wavelength traces, newest image, newest vitals.

    Parameters
    ----------
    window_samples : int
        Samples kept per wavelength.
    """

    def __init__(self, window_samples: int = TRACE_WINDOW_SAMPLES) -> None:
        self.window_samples = window_samples
        self._lock = threading.Lock()
        self._taken = 0
        self._generation = -1
        self.clear()

    def clear(self) -> None:
        """Forget everything (a new run starts)."""
        with self._lock:
            self._traces: dict[float, NDArray[np.float64]] = {}
            self._image: NDArray[np.float64] | None = None
            self._vitals: dict[str, float] = {}
            self._time_s = 0.0
            self._pushes = 0
            self._taken = 0
            self._generation += 1

    def push(self, data: LiveData) -> None:
        """Add one :class:`LiveData` (any thread): its traces are new samples, appended."""
        with self._lock:
            for wavelength, samples in data.traces.items():
                old = self._traces.get(float(wavelength), np.empty(0))
                joined = np.concatenate((old, np.asarray(samples, dtype=np.float64)))
                self._traces[float(wavelength)] = joined[-self.window_samples :]
            if data.image is not None:
                self._image = np.asarray(data.image, dtype=np.float64)
            self._vitals.update(data.vitals)
            self._time_s = data.time_s
            self._pushes += 1

    def take(self) -> LiveSnapshot | None:
        """The current state if anything arrived since the last call, else None (GUI thread)."""
        with self._lock:
            if self._pushes == self._taken:
                return None
            self._taken = self._pushes
            return LiveSnapshot(
                self._time_s,
                dict(self._traces),
                self._image,
                dict(self._vitals),
                self._pushes,
                self._generation,
            )


def live_data_from_frames(batch: FrameBatch, lit_steps: set[int]) -> LiveData | None:
    """Display data of one batch of a plain acquisition (see :func:`protocols.context.
    live_data`): only its new samples of lit LED steps, and its newest lit frame.

    This is only what the live view draws; analyses read the run record.
    """
    return live_data([batch], lit_steps)
