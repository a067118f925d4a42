"""A thread-safe hand-over of live data from a worker thread to the views.

The worker thread pushes every :class:`instrument.live_data.LiveData` (at whatever rate the
acquisition produces them); each carries only samples not sent before, which the buffer appends
to its rolling window; the GUI thread takes a snapshot on its own timer (≤ 20 Hz), so a
200 fps acquisition never floods the event loop: between two redraws, any number of pushes
collapse into one snapshot. A monitoring step's PPG samples
(:class:`protocols.events.LiveSamples`) are kept the same way, over the last
``PULSE_WINDOW_S`` seconds, for the monitoring view's pulse waveform. The latest maps of the
running step (:class:`instrument.live_data.LiveMaps`, sent every few seconds) stay until the next
ones or the next run, so a view that was hidden when they came still draws them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from instrument.live_data import LiveData, LiveMaps, live_data
from instrument.run_record import FrameBatch
from protocols.events import LiveSamples

TRACE_WINDOW_SAMPLES = 600
PULSE_WINDOW_S = 8.0
"""Seconds of pulse waveform kept for the monitoring view."""


@dataclass(frozen=True)
class LiveSnapshot:
    """What the live view draws.

    Attributes
    ----------
    time_s : float
        Time of the newest data, s since the run started.
    traces : dict of float to numpy.ndarray
        Per wavelength (nm), the newest samples (at most the window), arbitrary units.
    trace_times_s : dict of float to numpy.ndarray
        Per wavelength (nm), each sample's time, s since the run started.
    image : numpy.ndarray or None
        The newest detector frame (rows, cols).
    vitals : dict of str to float
        Newest value of each figure (``spo2_percent``, ``pulse_rate_bpm``, …).
    pushes : int
        Pushes received since the buffer was cleared.
    generation : int
        How many times the buffer was cleared (a new run or acquisition started).
    maps : LiveMaps or None
        The latest maps of this run (None before its first).
    """

    time_s: float
    traces: dict[float, NDArray[np.float64]]
    image: NDArray[np.float64] | None
    vitals: dict[str, float]
    pushes: int
    generation: int = 0
    trace_times_s: dict[float, NDArray[np.float64]] = field(default_factory=dict)
    maps: LiveMaps | None = None


@dataclass(frozen=True)
class PulseSnapshot:
    """The monitoring step's PPG samples of the last ``PULSE_WINDOW_S`` seconds.

    Attributes
    ----------
    time_s : numpy.ndarray
        (n,) s since the monitoring step's first frame.
    signals : numpy.ndarray
        (n, W) level above dark (DN) of each wavelength of ``wavelengths_nm``.
    wavelengths_nm : tuple of float
        The signals' wavelengths, nm.
    pushes : int
        Sample blocks received since the buffer was cleared.
    """

    time_s: NDArray[np.float64]
    signals: NDArray[np.float64]
    wavelengths_nm: tuple[float, ...]
    pushes: int


class LiveBuffer:
    """Latest live data: rolling per-wavelength traces, newest image, newest vitals, latest
    maps.

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
            self._trace_times: dict[float, NDArray[np.float64]] = {}
            self._pulse: PulseSnapshot | None = None
            self._image: NDArray[np.float64] | None = None
            self._vitals: dict[str, float] = {}
            self._maps: LiveMaps | None = None
            self._time_s = 0.0
            self._pushes = 0
            self._taken = 0
            self._generation += 1

    def push(self, data: LiveData) -> None:
        """Add one :class:`LiveData` (any thread): its traces are new samples, appended.

        Samples that come without times are spread evenly from the wavelength's previous
        sample to ``data.time_s``."""
        with self._lock:
            for wavelength, samples in data.traces.items():
                key = float(wavelength)
                new = np.asarray(samples, dtype=np.float64)
                old = self._traces.get(key, np.empty(0))
                old_times = self._trace_times.get(key, np.empty(0))
                times = data.trace_times_s.get(wavelength)
                if times is None or len(times) != len(new):
                    since = old_times[-1] if old_times.size else data.time_s
                    times = np.linspace(since, data.time_s, new.size + 1)[1:]
                joined = np.concatenate((old, new))
                joined_times = np.concatenate((old_times, np.asarray(times, dtype=np.float64)))
                self._traces[key] = joined[-self.window_samples :]
                self._trace_times[key] = joined_times[-self.window_samples :]
            if data.image is not None:
                self._image = np.asarray(data.image, dtype=np.float64)
            self._vitals.update(data.vitals)
            if data.maps is not None:  # sent at each refresh only: the latest stay
                self._maps = data.maps
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
                dict(self._trace_times),
                self._maps,
            )

    def push_samples(self, samples: LiveSamples) -> None:
        """Add a monitoring step's new PPG samples (any thread), keeping ``PULSE_WINDOW_S``."""
        time_s = np.asarray(samples.time_s, dtype=np.float64)
        signals = np.asarray(samples.signals, dtype=np.float64).reshape(time_s.size, -1)
        with self._lock:
            old = self._pulse
            if old is not None and old.wavelengths_nm == samples.wavelengths_nm:
                time_s = np.concatenate((old.time_s, time_s))
                signals = np.concatenate((old.signals, signals))
            keep = time_s > time_s[-1] - PULSE_WINDOW_S if time_s.size else np.zeros(0, bool)
            pushes = old.pushes + 1 if old is not None else 1
            self._pulse = PulseSnapshot(time_s[keep], signals[keep], samples.wavelengths_nm, pushes)

    def pulse(self) -> PulseSnapshot | None:
        """The pulse samples kept, or None before any (GUI thread; nothing is consumed)."""
        with self._lock:
            return self._pulse


def live_data_from_frames(batch: FrameBatch, lit_steps: set[int]) -> LiveData | None:
    """Display data of one batch of a plain acquisition (see :func:`protocols.context.
    live_data`): only its new samples of lit LED steps, and its newest lit frame.

    This is only what the live view draws; analyses read the run record.
    """
    return live_data([batch], lit_steps)
