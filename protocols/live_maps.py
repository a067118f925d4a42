"""Live imaging-PPG and StO2 maps of an acquiring step, refreshed every `MAP_PERIOD_S`.

While a step acquires, :class:`LiveMapper` takes every frame batch (after the run's detector
correction, the one the monitoring step applies) and feeds the streaming analysers of
:mod:`imaging.streaming_maps`; whenever one of them refreshes, it sends a
:class:`instrument.live_data.LiveData` whose ``maps`` hold the latest maps of both
(:class:`instrument.live_data.LiveMaps`), the way every other live update reaches the
command line, scripts and the desktop app. Which maps a step gets follows from its LED pattern:

- imaging PPG (SpO2, perfusion index and signal quality per pixel region) with two or more lit
  wavelengths (red = shortest, infrared = longest);
- StO2 (spatially resolved spectroscopy per pixel region) with three or more lit wavelengths
  (two when an ``sto2`` analysis of the step gives a water fraction) and the probe geometry.

When an ``imaging_ppg`` or ``sto2`` analysis step reads this step, the live maps take its
options and dark reference, so the final live map is the one that analysis computes from the
recorded frames (up to the saturation rule, see :mod:`imaging.streaming_maps`); without one,
the analyses' defaults (`LIVE_PPG_BLOCK_PX` for the PPG regions) and the pattern's dark frames.
Memory is bounded by the maps' window (`MAP_HISTORY_S`), however long the step runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from imaging.statistics import median_of_finite
from imaging.streaming_maps import (
    DARK,
    MAP_HISTORY_S,
    MAP_PERIOD_S,
    SKIP,
    PpgMapUpdate,
    Sto2Maps,
    StreamingPpgMaps,
    StreamingSto2Map,
)
from instrument.live_data import LiveData, LiveMaps
from instrument.region_signals import DEFAULT_MAX_DN, DEFAULT_MIN_DISTANCE_MM, DEFAULT_REGION_PX
from instrument.run_record import FrameBatch, RunRecord
from instrument.snirf_export import DEFAULT_BLACK_LEVEL_DN, led_position_mm, pixel_centres_mm
from protocols.analyses.step_data import dark_frame
from protocols.context import RunContext, StepFailure
from protocols.detector_correction import FrameCorrector
from protocols.events import RunEvent

logger = logging.getLogger(__name__)

__all__ = ["LIVE_PPG_BLOCK_PX", "LiveMapper", "live_mapper"]

LIVE_PPG_BLOCK_PX = 4
"""Side of the imaging-PPG map's pixel regions without an ``imaging_ppg`` analysis, pixels."""
MAX_PAIRING_LAG = 64
"""Most red (or infrared) frames kept waiting for their partner; older ones are dropped."""


@dataclass
class LiveMapper:
    """Frame batches in, :class:`LiveData` with the latest maps out at every refresh.

    Parameters
    ----------
    step : str
        Step name (in the maps).
    led_pattern : tuple of (wavelength nm, drive mA)
        The stream's LED steps.
    emit : callable
        Sends events.
    ppg : StreamingPpgMaps or None
        Imaging-PPG maps of the (red, infrared) frames.
    sto2 : StreamingSto2Map or None
        StO2 map of the lit wavelengths in `sto2_wavelengths_nm` order.
    sto2_wavelengths_nm : tuple of float
        Channel order of `sto2`.
    corrector : FrameCorrector or None
        Detector correction applied first (None: raw frames).
    ppg_dark_dn : ndarray or float or None
        Dark subtracted from the PPG frames (an analysis's dark reference); None: the latest
        dark frames of the pattern (nothing without any).
    step_start_s : float or None
        Zero of the maps' times on the step's clock, s (a mapper started after a gap in the
        stream); None: its first frame.
    """

    step: str
    led_pattern: tuple[tuple[float, float], ...]
    emit: Callable[[RunEvent], None]
    ppg: StreamingPpgMaps | None = None
    sto2: StreamingSto2Map | None = None
    sto2_wavelengths_nm: tuple[float, ...] = ()
    corrector: FrameCorrector | None = None
    ppg_dark_dn: NDArray[np.float64] | float | None = None
    step_start_s: float | None = None
    latest: LiveMaps | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        lit: dict[float, int] = {}
        for index, (wavelength, current) in enumerate(self.led_pattern):
            if current > 0.0:
                lit.setdefault(wavelength, index)
        self._red_step, self._ir_step = lit[min(lit)], lit[max(lit)]
        channel = np.full(len(self.led_pattern), SKIP)
        for index, (_, current) in enumerate(self.led_pattern):
            if current == 0.0:
                channel[index] = DARK
        for position, wavelength in enumerate(self.sto2_wavelengths_nm):
            channel[lit[wavelength]] = position
        self._channel_of_step = channel
        self._waiting: dict[int, list[NDArray[np.float64]]] = {
            self._red_step: [],
            self._ir_step: [],
        }
        self._pattern_dark: NDArray[np.float64] | None = None
        self._start_s: float | None = None
        self._ppg_update: PpgMapUpdate | None = None
        self._sto2_update: Sto2Maps | None = None

    def add(
        self,
        batch: FrameBatch,
        corrected: tuple[NDArray[np.float64], NDArray[np.bool_]] | None = None,
    ) -> None:
        """Feed one frame batch (`corrected`: its frames already corrected, and their saturated
        pixels, when the caller corrected them)."""
        if len(batch) == 0:
            return
        if self._start_s is None:
            self._start_s = float(batch.fields["time_s"][0])
        values = self._values(batch, corrected)
        steps = np.asarray(batch.fields["frame_counter"], dtype=np.int64) % len(self.led_pattern)
        refreshed = False
        if self.sto2 is not None:
            # Raw frames stay raw for StO2: its linear-range rule reads their levels.
            raw = corrected is None and self.corrector is None
            sto2_frames = batch.frames if raw else values
            update = self.sto2.push(sto2_frames, self._channel_of_step[steps])
            if update is not None:
                self._sto2_update, refreshed = update, True
        if self.ppg is not None:
            pairs = self._pairs(values, steps)
            update_ppg = self.ppg.push(pairs) if pairs is not None else None
            if update_ppg is not None:
                self._ppg_update, refreshed = update_ppg, True
        if refreshed:
            self._send(float(batch.fields["time_s"][-1]))

    def finish(self) -> LiveMaps | None:
        """Send and return the final maps: those of the frames in the window at the end."""
        if self.ppg is not None:
            self._ppg_update = self.ppg.flush() or self._ppg_update
        if self.sto2 is not None:
            self._sto2_update = self.sto2.flush() or self._sto2_update
        if self._ppg_update is not None or self._sto2_update is not None:
            self._send(None)
        return self.latest

    @property
    def nbytes(self) -> int:
        """Bytes of frame data the analysers hold."""
        held = sum(a.nbytes for a in (self.ppg, self.sto2) if a is not None)
        return held + sum(f.nbytes for frames in self._waiting.values() for f in frames)

    def _values(
        self, batch: FrameBatch, corrected: tuple[NDArray[np.float64], NDArray[np.bool_]] | None
    ) -> NDArray[np.float64]:
        """The batch's frames as the maps read them: corrected (saturated pixels NaN) when a
        detector record applies, else raw with pixels above the linear range NaN (from
        `DEFAULT_MAX_DN` the sensor compresses toward full well)."""
        if corrected is None and self.corrector is not None:
            corrected = self.corrector.correct(batch.frames, batch.fields["board_temperature_c"])
        if corrected is not None:
            frames, saturated = corrected
        else:
            frames = batch.frames.astype(np.float64)
            saturated = batch.frames >= DEFAULT_MAX_DN
        return np.where(saturated, np.nan, frames)

    def _pairs(self, values: NDArray[np.float64], steps: NDArray[np.int64]) -> NDArray[Any] | None:
        """(n, 2, H, W) red and infrared frames paired in order, above dark; None if none."""
        dark_steps = self._channel_of_step[steps] == DARK
        if dark_steps.any():
            self._pattern_dark = values[dark_steps].mean(axis=0)
        for step in (self._red_step, self._ir_step):
            self._waiting[step].extend(values[steps == step])
            del self._waiting[step][:-MAX_PAIRING_LAG]
        red, infrared = self._waiting[self._red_step], self._waiting[self._ir_step]
        count = min(len(red), len(infrared))
        if count == 0:
            return None
        pairs = np.stack([np.stack(red[:count]), np.stack(infrared[:count])], axis=1)
        del red[:count], infrared[:count]
        dark = self.ppg_dark_dn if self.ppg_dark_dn is not None else self._pattern_dark
        return pairs if dark is None else pairs - dark

    def _send(self, end_s: float | None) -> None:
        """Emit the latest maps of both analysers."""
        maps: dict[str, NDArray[np.float64]] = {}
        cell: dict[str, int] = {}
        window: dict[str, tuple[float, float]] = {}
        figures: dict[str, float] = {}
        if self._ppg_update is not None and self.ppg is not None:
            ppg = self._ppg_update.maps
            span = (self._ppg_update.start_s, self._ppg_update.end_s)
            for name, values in (
                ("ppg_spo2_percent", ppg.spo2_percent),
                ("ppg_perfusion_index_percent", ppg.perfusion_index_percent),
                ("ppg_signal_quality", ppg.signal_quality),
            ):
                maps[name], cell[name], window[name] = values, self.ppg.block, span
            figures["ppg_pulse_rate_bpm"] = ppg.pulse_rate_bpm
        if self._sto2_update is not None:
            sto2 = self._sto2_update
            for name, values in (
                ("sto2_percent", sto2.sto2_percent),
                ("toi_percent", sto2.toi_percent),
                ("hbt_um", sto2.hbt_um),
            ):
                maps[name], cell[name] = values, sto2.region_px
                window[name] = (sto2.start_s, sto2.end_s)
        figures |= {name: median_of_finite(values) for name, values in maps.items()}
        if "ppg_signal_quality" in maps:  # over the cells with an SpO2, as the analysis
            with_spo2 = np.isfinite(maps["ppg_spo2_percent"])
            figures["ppg_signal_quality"] = median_of_finite(maps["ppg_signal_quality"][with_spo2])
        if self.step_start_s is not None and self._start_s is not None:
            shift = self._start_s - self.step_start_s
            window = {name: (start + shift, end + shift) for name, (start, end) in window.items()}
        time_s = max(end for _, end in window.values())
        self.latest = LiveMaps(self.step, time_s, maps, cell, window, figures)
        origin = self.step_start_s if self.step_start_s is not None else self._start_s
        stamp = end_s if end_s is not None else (origin or 0.0) + time_s
        self.emit(LiveData(stamp, {}, None, {}, maps=self.latest))
        logger.debug("live maps of %s at %.1f s: %s", self.step, time_s, sorted(maps))


def _analysis_of(context: RunContext, step_name: str, analysis: str) -> Any | None:
    """The first ``analyse`` step running `analysis` on `step_name`'s frames, if any."""
    return next(
        (
            s
            for s in context.protocol_steps
            if s.kind == "analyse" and s.analysis == analysis and s.source == step_name
        ),
        None,
    )


def _dark(
    analysis: Any, context: RunContext, corrector: FrameCorrector | None
) -> NDArray[np.float64] | None:
    """The analysis's dark reference frame, DN (None: it has none, or it was not taken yet)."""
    try:
        return dark_frame(analysis, context, corrector)
    except StepFailure as exc:
        logger.info("%s: live maps without the dark reference (%s)", context.step_name, exc)
        return None


def _pixel_distances_mm(context: RunContext) -> NDArray[np.float64]:
    """Distance of every recorded pixel from the LED, mm (the probe geometry and the board's
    ROI, as the run record will state them)."""
    board = context.instrument.board
    assert board is not None
    roi = board.roi
    layout = RunRecord(
        path=context.writer.path,
        frames=np.empty((0, *roi.frame_shape), dtype=np.uint16),
        time_s=np.empty(0),
        wavelength_nm=np.empty(0),
        board_temperature_c=np.empty(0),
        frame_counter=np.empty(0),
        device_time_us=np.empty(0),
        metadata={},
        acquisition={"roi": json.dumps([roi.row, roi.col, roi.height, roi.width, roi.binning])},
        probe=context.instrument.config.probe.model_dump(),
    )
    x_mm, y_mm = pixel_centres_mm(layout)
    led_x, led_y = led_position_mm(layout)
    distance: NDArray[np.float64] = np.hypot(x_mm - led_x, y_mm - led_y)
    return distance


def live_mapper(
    context: RunContext,
    pattern: tuple[tuple[float, float], ...],
    frame_rate_hz: float,
    corrector: FrameCorrector | None,
) -> LiveMapper | None:
    """The live maps the running step's LED `pattern` allows (None: none).

    Parameters
    ----------
    context : RunContext
        The run (its protocol's analyses of this step, earlier dark references, the probe).
    pattern : tuple of (wavelength nm, drive mA)
        The step's LED steps.
    frame_rate_hz : float
        Frames per second over all steps, Hz.
    corrector : FrameCorrector or None
        The run's detector correction.
    """
    lit = sorted({w for w, current in pattern if current > 0.0})
    if len(lit) < 2:
        return None
    name = context.step_name
    ippg = _analysis_of(context, name, "imaging_ppg")
    ppg = StreamingPpgMaps(
        frame_rate_hz / len(pattern),
        (lit[0], lit[-1]),
        block=int(ippg.options.get("block", 1)) if ippg is not None else LIVE_PPG_BLOCK_PX,
        period_s=MAP_PERIOD_S,
        history_s=MAP_HISTORY_S,
    )
    ppg_dark: NDArray[np.float64] | float | None = None
    if ippg is not None:
        ppg_dark = _dark(ippg, context, corrector)
        ppg_dark = 0.0 if ppg_dark is None else ppg_dark  # as the analysis: nothing subtracted
    sto2 = _sto2_map(context, name, lit, frame_rate_hz, corrector)
    mapper = LiveMapper(
        name,
        pattern,
        context.emit,
        ppg=ppg,
        sto2=sto2,
        sto2_wavelengths_nm=tuple(lit) if sto2 is not None else (),
        corrector=corrector,
        ppg_dark_dn=ppg_dark,
    )
    logger.info(
        "%s: live maps every %g s (%s)",
        name,
        MAP_PERIOD_S,
        "imaging PPG and StO2" if sto2 is not None else "imaging PPG",
    )
    return mapper


def _sto2_map(
    context: RunContext,
    step_name: str,
    lit: list[float],
    frame_rate_hz: float,
    corrector: FrameCorrector | None,
) -> StreamingSto2Map | None:
    """The StO2 map of the step (an ``sto2`` analysis's options), None when the wavelengths
    or the probe geometry do not allow one."""
    analysis = _analysis_of(context, step_name, "sto2")
    options: dict[str, Any] = dict(analysis.options) if analysis is not None else {}
    if len(lit) < (2 if options.get("water_fraction") is not None else 3):
        return None
    black_level = options.pop("black_level_dn", None)
    if black_level is None and analysis is not None:
        frame = _dark(analysis, context, corrector)
        black_level = None if frame is None else float(frame.mean())
    if black_level is None:
        black_level = 0.0 if corrector is not None else DEFAULT_BLACK_LEVEL_DN
    try:
        rho_mm = _pixel_distances_mm(context)
        return StreamingSto2Map(
            rho_mm,
            lit,
            frame_rate_hz,
            dark_dn=black_level,
            region_px=options.pop("region_px", None) or DEFAULT_REGION_PX,
            min_distance_mm=options.pop("min_distance_mm", None) or DEFAULT_MIN_DISTANCE_MM,
            max_dn=options.pop("max_dn", None) or DEFAULT_MAX_DN,
            **{k: v for k, v in options.items() if v is not None},
        )
    except ValueError as exc:  # no geometry, or regions that do not fit the frame
        logger.info("%s: no live StO2 map (%s)", step_name, exc)
        return None
