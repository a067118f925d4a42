"""Live data: what a display shows of the frames as they arrive.

:func:`live_data` turns consecutive frame blocks into one :class:`LiveData` (per-wavelength
frame means of the lit LED steps and the newest lit frame); :class:`LiveTraces` sends them at
most every ``LIVE_INTERVAL_S``. The protocol runner, the desktop app's live view and the manual
acquisition all use these, so every display shows the same numbers. While a step acquires the
LED patterns they need, the runner also sends the latest imaging-PPG and StO2 maps
(:class:`LiveMaps`, in :attr:`LiveData.maps`) every few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from drivers.detector_messages import LedStep
from instrument.run_record import FrameBatch

LIVE_INTERVAL_S = 0.1
"""Shortest time between two live updates, s."""


@dataclass(frozen=True)
class LiveMaps:
    """The latest maps of a running step (each refreshed every few seconds of signal).

    Attributes
    ----------
    step : str
        The step the maps belong to.
    time_s : float
        End of the frames behind the newest map, s of signal time from the step's first frame.
    maps : dict of str to ndarray
        Map name (its unit in the name: ``ppg_spo2_percent``, ``ppg_perfusion_index_percent``,
        ``ppg_signal_quality``, ``sto2_percent``, ``toi_percent``, ``hbt_um``) → values per
        cell, shape (rows, cols), row 0 at the sensor's first row; NaN where withheld.
    cell_px : dict of str to int
        Per map, the side of a cell in recorded pixels.
    window_s : dict of str to tuple of float
        Per map, the (start, end) of the frames behind it, s from the step's first frame.
    figures : dict of str to float
        Per map, the median over the cells with a value (same names), and
        ``ppg_pulse_rate_bpm``, the pulse rate of the array (NaN when none).
    """

    step: str
    time_s: float
    maps: dict[str, NDArray[np.float64]]
    cell_px: dict[str, int]
    window_s: dict[str, tuple[float, float]]
    figures: dict[str, float]


@dataclass(frozen=True)
class LiveData:
    """Data to show while a step runs.

    ``traces`` maps wavelength (nm) to the latest samples (arbitrary units) and
    ``trace_times_s`` to each sample's time (s since the run started; empty when unknown);
    ``image`` is the latest frame (rows, cols) or ``None``; ``vitals`` maps a figure
    (``spo2_percent``, ``pulse_rate_bpm``, …) to its latest value; ``maps`` holds the latest
    maps when they were refreshed (``None`` in every other update).
    """

    time_s: float
    traces: dict[float, NDArray[np.float64]]
    image: NDArray[np.float64] | None
    vitals: dict[str, float]
    trace_times_s: dict[float, NDArray[np.float64]] = field(default_factory=dict)
    maps: LiveMaps | None = None


def live_data(batches: list[FrameBatch], lit_steps: set[int]) -> LiveData | None:
    """Display data of consecutive frame batches: the live view's one contract.

    Each :class:`LiveData` carries only the samples of ``batches`` (the view appends them):
    per wavelength, the frame mean (DN) of frames from a lit LED step (``led_step`` in
    ``lit_steps``) and the frames' times (s), and the newest lit frame as the image. Dark
    steps (LED at 0 mA) give no trace and no image. None when ``batches`` hold no frame.
    """
    if not batches or not sum(len(b) for b in batches):
        return None
    frames = np.concatenate([b.frames for b in batches])
    fields = {
        name: np.concatenate([b.fields[name] for b in batches])
        for name in ("time_s", "wavelength_nm", "led_step", "board_temperature_c")
    }
    lit = np.isin(fields["led_step"], sorted(lit_steps))
    means = frames[lit].mean(axis=(1, 2)) if lit.any() else np.zeros(0)
    wavelengths = fields["wavelength_nm"][lit]
    traces = {float(w): means[wavelengths == w] for w in np.unique(wavelengths)}
    times = fields["time_s"][lit]
    trace_times = {float(w): times[wavelengths == w].astype(np.float64) for w in traces}
    lit_index = np.flatnonzero(lit)
    image = frames[lit_index[-1]].astype(np.float64) if lit_index.size else None
    return LiveData(
        float(fields["time_s"][-1]),
        traces,
        image,
        {"board_temperature_c": float(fields["board_temperature_c"][-1])},
        trace_times,
    )


def lit_steps_of(pattern: tuple[LedStep, ...]) -> set[int]:
    """Indices of the LED steps that light an LED (drive current > 0 mA)."""
    return {index for index, step in enumerate(pattern) if step.drive_current_ma > 0}


class LiveTraces:
    """Collects frame batches and sends their :func:`live_data` at most every
    ``LIVE_INTERVAL_S`` s (only the samples since the previous send)."""

    def __init__(self, emit: Callable[[LiveData], None], lit_steps: set[int]) -> None:
        self.emit = emit
        self.lit_steps = lit_steps
        self.pending: list[FrameBatch] = []
        self._last_sent = 0.0

    def add(self, batch: FrameBatch) -> None:
        self.pending.append(batch)
        now = time.monotonic()
        if now - self._last_sent < LIVE_INTERVAL_S:
            return
        self._last_sent = now
        self.flush()

    def flush(self) -> None:
        """Send what was collected since the last send."""
        data = live_data(self.pending, self.lit_steps)
        self.pending = []
        if data is not None:
            self.emit(data)
