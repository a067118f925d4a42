"""EMVA 1288 photon-transfer series measured through the instrument: board + bench.

The bench LED (DC2200, constant current) lights a diffuser in front of the detector array; the
reference power meter (PM100) sits in the same uniform field at the sensor plane. At a fixed
LED current the exposure time steps up to beyond saturation (EMVA 1288 allows exposure-time
variation); at every step the power meter is read with the LED on, two frames are taken lit
and two with the LED off. A spatial (non-uniformity) stack of lit and dark frames follows at
about half saturation, then dark stacks for the dark current against the board temperature
(the board reads its temperature; it cannot set it, so the stacks are spread over a warm-up
time and the temperatures are those measured).

:func:`measure_photon_transfer` drives the devices and hands frames to a ``grab`` callable
that acquires them into the run record; it returns the raw series (frames, readings, frame
indices in the record). :func:`series_from_record` reads the same series back from a run
record. The EMVA 1288 figures are computed from it in :mod:`calibration`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from drivers.detector_board import DetectorBoard
from drivers.ledsource import DC2200
from drivers.powermeter import PM100
from instrument.run_record import RunRecord

logger = logging.getLogger(__name__)

MAX_FRAME_RATE_HZ = 500.0
"""Frame rate used while stepping (lower when the exposure needs a longer period), Hz."""


@dataclass(frozen=True)
class Grabbed:
    """Frames one ``grab`` call acquired into the run record.

    Attributes
    ----------
    frames : ndarray of uint16, shape (N, H, W)
        DN.
    temperature_c : ndarray, shape (N,)
        Board temperature per frame, °C.
    first_frame : int
        Index of the first of them in the record's frames.
    """

    frames: NDArray[np.uint16]
    temperature_c: NDArray[np.float64]
    first_frame: int


Grab = Callable[[int], Grabbed]
"""``grab(count)`` acquires ``count`` frames at the board's present settings."""


@dataclass(frozen=True)
class PhotonTransferPlan:
    """What to measure.

    Attributes
    ----------
    wavelength_nm : float
        Bench LED (and power-meter correction) wavelength, nm.
    led_current_a : float
        LED drive current of the temporal series, A.
    exposures_us : tuple of int
        Exposure steps of the temporal series, µs.
    spatial_exposure_us : int
        Exposure of the spatial stacks, µs: long enough for hot pixels to show in the dark.
    spatial_led_current_a : float
        LED current of the lit spatial stack, A (for about 50 % of saturation).
    spatial_frames : int
        Frames per spatial stack (lit and dark).
    power_readings : int
        Power-meter readings per step.
    power_average_count : int
        Samples the power meter averages per reading.
    dark_current_exposure_us : int
        Exposure of the dark-current stacks, µs.
    dark_current_frames : int
        Frames per dark-current stack.
    dark_current_warm_up_s : float
        Time over which dark-current stacks are taken while the board warms, s (0: one stack
        before and one after the series).
    dark_current_interval_s : float
        Time between dark-current stacks during the warm-up, s.
    """

    wavelength_nm: float
    led_current_a: float
    exposures_us: tuple[int, ...]
    spatial_exposure_us: int
    spatial_led_current_a: float
    spatial_frames: int = 16
    power_readings: int = 3
    power_average_count: int = 1000
    dark_current_exposure_us: int = 200_000
    dark_current_frames: int = 8
    dark_current_warm_up_s: float = 0.0
    dark_current_interval_s: float = 30.0


@dataclass(frozen=True, eq=False)
class PhotonTransferSeries:
    """The raw series as measured (every array is also in the run record).

    Attributes
    ----------
    exposure_s : ndarray, shape (steps,)
        Exposure per step, s.
    power_w : ndarray, shape (steps, readings)
        Power-meter readings with the LED on, W.
    bright, dark : ndarray of uint16, shape (steps, 2, H, W)
        Lit and dark frame pairs, DN.
    bright_index, dark_index : ndarray of int, shape (steps, 2)
        Their indices in the record's frames.
    spatial_exposure_s : float
        Exposure of the spatial stacks, s.
    spatial_power_w : ndarray, shape (readings,)
        Readings during the lit spatial stack, W.
    spatial_bright, spatial_dark : ndarray of uint16, shape (L, H, W)
        Spatial stacks, DN; ``spatial_bright_index``/``spatial_dark_index`` their indices.
    dark_current_exposure_s : float
        Exposure of the dark-current stacks, s.
    dark_current_temperature_c : ndarray, shape (stacks,)
        Mean board temperature of each stack, °C.
    dark_current_frames : ndarray of uint16, shape (stacks, M, H, W)
        DN; ``dark_current_index`` (stacks, M) their indices.
    temperature_c : ndarray, shape (steps,)
        Mean board temperature of each temporal step, °C.
    wavelength_nm, led_current_a, spatial_led_current_a : float
        Illumination, nm and A (temporal and spatial series).
    """

    exposure_s: NDArray[np.float64]
    power_w: NDArray[np.float64]
    bright: NDArray[np.uint16]
    dark: NDArray[np.uint16]
    bright_index: NDArray[np.int64]
    dark_index: NDArray[np.int64]
    spatial_exposure_s: float
    spatial_power_w: NDArray[np.float64]
    spatial_bright: NDArray[np.uint16]
    spatial_dark: NDArray[np.uint16]
    spatial_bright_index: NDArray[np.int64]
    spatial_dark_index: NDArray[np.int64]
    dark_current_exposure_s: float
    dark_current_temperature_c: NDArray[np.float64]
    dark_current_frames: NDArray[np.uint16]
    dark_current_index: NDArray[np.int64]
    temperature_c: NDArray[np.float64]
    wavelength_nm: float
    led_current_a: float
    spatial_led_current_a: float

    _FRAMES = ("bright", "dark", "spatial_bright", "spatial_dark", "dark_current_frames")

    def record_arrays(self) -> dict[str, NDArray[Any]]:
        """Everything but the frames (which the record holds once, in its frame stream) as
        arrays for the step's results."""
        arrays: dict[str, NDArray[Any]] = {}
        for item in fields(self):
            if item.name not in self._FRAMES:
                arrays[item.name] = np.asarray(getattr(self, item.name))
        return arrays


@dataclass
class _Collected:
    """Frames and readings as they arrive."""

    pairs: dict[str, list[Grabbed]] = field(default_factory=lambda: {"bright": [], "dark": []})
    power_w: list[list[float]] = field(default_factory=list)
    stacks: list[Grabbed] = field(default_factory=list)


def _set_exposure(board: DetectorBoard, exposure_us: int, rate: float | None = None) -> None:
    """Exposure and frame rate (by default the fastest whose period holds the exposure), set
    in the order that keeps both valid at every moment."""
    if rate is None:
        rate = min(MAX_FRAME_RATE_HZ, float(np.floor(1e6 / exposure_us)))
    if exposure_us <= board.integration_time_us:
        board.integration_time_us = exposure_us
        board.frame_rate_hz = rate
    else:
        board.frame_rate_hz = rate
        board.integration_time_us = exposure_us


def _readings(powermeter: PM100, count: int) -> list[float]:
    return [powermeter.read_power_w() for _ in range(count)]


def measure_photon_transfer(
    plan: PhotonTransferPlan,
    board: DetectorBoard,
    ledsource: DC2200,
    powermeter: PM100,
    grab: Grab,
    progress: Callable[[float, str], None] = lambda fraction, message: None,
) -> PhotonTransferSeries:
    """Run the series; the LED is switched off and the board's exposure restored on every path.

    Parameters
    ----------
    plan : PhotonTransferPlan
        What to measure.
    board, ledsource, powermeter : driver
        Open devices; the board's LED pattern must be dark (the step's ``grab`` sets it).
    grab : callable
        Acquires frames into the run record.
    progress : callable
        ``progress(fraction, message)``.
    """
    restore = (board.integration_time_us, board.frame_rate_hz)
    ledsource.output_enabled = False
    ledsource.mode = "CC"
    ledsource.wavelength_nm = plan.wavelength_nm
    ledsource.current_a = plan.led_current_a
    powermeter.wavelength_nm = plan.wavelength_nm
    powermeter.average_count = plan.power_average_count
    collected = _Collected()
    try:
        started = time.monotonic()
        collected.stacks.append(_dark_stack(plan, board, grab))
        for number, exposure_us in enumerate(plan.exposures_us):
            progress(number / (len(plan.exposures_us) + 2), f"exposure {exposure_us} µs")
            _set_exposure(board, exposure_us)
            ledsource.output_enabled = True
            collected.power_w.append(_readings(powermeter, plan.power_readings))
            collected.pairs["bright"].append(grab(2))
            ledsource.output_enabled = False
            collected.pairs["dark"].append(grab(2))
        progress(len(plan.exposures_us) / (len(plan.exposures_us) + 2), "spatial stacks")
        _set_exposure(board, plan.spatial_exposure_us)
        ledsource.current_a = plan.spatial_led_current_a
        ledsource.output_enabled = True
        spatial_power = _readings(powermeter, plan.power_readings)
        spatial_bright = grab(plan.spatial_frames)
        ledsource.output_enabled = False
        spatial_dark = grab(plan.spatial_frames)
        progress((len(plan.exposures_us) + 1) / (len(plan.exposures_us) + 2), "dark current")
        deadline = started + plan.dark_current_warm_up_s
        while True:
            collected.stacks.append(_dark_stack(plan, board, grab))
            if time.monotonic() + plan.dark_current_interval_s > deadline:
                break
            time.sleep(plan.dark_current_interval_s)
    finally:
        ledsource.output_enabled = False
        _set_exposure(board, *restore)
    return _series(plan, collected, spatial_power, spatial_bright, spatial_dark)


def _dark_stack(plan: PhotonTransferPlan, board: DetectorBoard, grab: Grab) -> Grabbed:
    _set_exposure(board, plan.dark_current_exposure_us)
    return grab(plan.dark_current_frames)


def _indices(grabbed: list[Grabbed]) -> NDArray[np.int64]:
    return np.array(
        [g.first_frame + np.arange(len(g.frames)) for g in grabbed], dtype=np.int64
    ).reshape(len(grabbed), -1)


def _series(
    plan: PhotonTransferPlan,
    collected: _Collected,
    spatial_power: list[float],
    spatial_bright: Grabbed,
    spatial_dark: Grabbed,
) -> PhotonTransferSeries:
    bright, dark = collected.pairs["bright"], collected.pairs["dark"]
    stacks = collected.stacks
    return PhotonTransferSeries(
        exposure_s=np.asarray(plan.exposures_us, dtype=float) * 1e-6,
        power_w=np.asarray(collected.power_w, dtype=float),
        bright=np.stack([g.frames for g in bright]),
        dark=np.stack([g.frames for g in dark]),
        bright_index=_indices(bright),
        dark_index=_indices(dark),
        spatial_exposure_s=plan.spatial_exposure_us * 1e-6,
        spatial_power_w=np.asarray(spatial_power, dtype=float),
        spatial_bright=spatial_bright.frames,
        spatial_dark=spatial_dark.frames,
        spatial_bright_index=_indices([spatial_bright])[0],
        spatial_dark_index=_indices([spatial_dark])[0],
        dark_current_exposure_s=plan.dark_current_exposure_us * 1e-6,
        dark_current_temperature_c=np.array([float(g.temperature_c.mean()) for g in stacks]),
        dark_current_frames=np.stack([g.frames for g in stacks]),
        dark_current_index=_indices(stacks),
        temperature_c=np.array(
            [
                float(np.concatenate([b.temperature_c, d.temperature_c]).mean())
                for b, d in zip(bright, dark, strict=True)
            ]
        ),
        wavelength_nm=plan.wavelength_nm,
        led_current_a=plan.led_current_a,
        spatial_led_current_a=plan.spatial_led_current_a,
    )


def series_from_record(record: RunRecord, step: str) -> PhotonTransferSeries:
    """The series a ``photon_transfer`` step named ``step`` stored in ``record``.

    Raises
    ------
    ValueError
        The record has no such series (naming the record and the step).
    """
    stored = record.results.get(step, {})
    try:
        arrays = {
            item.name: stored[item.name]
            for item in fields(PhotonTransferSeries)
            if item.name not in PhotonTransferSeries._FRAMES
        }
    except KeyError as missing:
        raise ValueError(
            f"{record.path}: step {step!r} holds no photon-transfer series ({missing} missing)"
        ) from None
    frames = record.frames

    def take(name: str) -> NDArray[np.uint16]:
        return np.asarray(frames[np.asarray(arrays[name], dtype=np.int64)], dtype=np.uint16)

    scalars = (
        "spatial_exposure_s",
        "dark_current_exposure_s",
        "wavelength_nm",
        "led_current_a",
        "spatial_led_current_a",
    )
    values: dict[str, Any] = {
        name: (float(np.asarray(value)) if name in scalars else np.asarray(value))
        for name, value in arrays.items()
    }
    return PhotonTransferSeries(
        **values,
        bright=take("bright_index"),
        dark=take("dark_index"),
        spatial_bright=take("spatial_bright_index"),
        spatial_dark=take("spatial_dark_index"),
        dark_current_frames=take("dark_current_index"),
    )
