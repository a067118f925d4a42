"""``photon_transfer``: an EMVA 1288 photon-transfer series for detector characterisation.

By default the series is measured through the instrument
(:func:`instrument.photon_transfer_bench.measure_photon_transfer`): the bench LED at a fixed
current lights a diffuser in front of the array, the power meter in the same field gives the
irradiance at the sensor plane, and the exposure time steps to beyond saturation. Every frame
goes into the run record's frame stream and every reading into the step's results, so the
figures can be recomputed from the record (:func:`series_from_record`). Labs with their own
integrating sphere name the rig's HDF5 export with ``file:`` instead.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from calibration.photon_transfer import (
    DARK_CURRENT_MIN_SPAN_C,
    PhotonTransferData,
    photons_per_pixel,
    read_photon_transfer,
)
from drivers.detector_messages import LedStep
from instrument.photon_transfer_bench import (
    Grabbed,
    PhotonTransferPlan,
    PhotonTransferSeries,
    measure_photon_transfer,
    series_from_record,
)
from instrument.run_record import RunRecord
from protocols.context import RunContext, StepFailure, StepOutcome
from protocols.schema import StepBase, StepKind

__all__ = [
    "KIND",
    "PhotonTransferStep",
    "photon_transfer_data",
    "photon_transfer_from_record",
    "series_from_record",
]

logger = logging.getLogger(__name__)

SATURATION_OVERSHOOT = 1.3
"""The longest exposure collects about this many times the saturation charge (set by the
default LED current)."""


class PhotonTransferStep(StepBase):
    """EMVA 1288 photon-transfer series through the board and the bench (or a rig's ``file``).

    The analysed window is ``height`` × ``width`` full-resolution pixels at the centre of the
    array. The LED current should make the longest exposure ``max_exposure_us`` pass
    saturation; the spatial stacks use ``spatial_exposure_us`` at a current scaled to half
    saturation. ``power_meter_certificate`` names the power meter's calibration certificate.
    """

    kind: Literal["photon_transfer"]
    file: str | None = None
    height: Annotated[int, Field(ge=8, le=512)] = 32
    width: Annotated[int, Field(ge=8, le=512)] = 32
    exposure_steps: Annotated[int, Field(ge=10, le=200)] = 50
    wavelength_nm: Annotated[float, Field(ge=300, le=2000)] = 850.0
    max_exposure_us: Annotated[int, Field(ge=100, le=1_000_000)] = 1000
    led_current_ma: Annotated[float, Field(gt=0, le=1000)] = 5e-4
    spatial_exposure_us: Annotated[int, Field(ge=10, le=1_000_000)] = 100_000
    spatial_frames: Annotated[int, Field(ge=4, le=256)] = 16
    power_readings: Annotated[int, Field(ge=1, le=100)] = 3
    power_average_count: Annotated[int, Field(ge=1, le=10_000)] = 1000
    power_meter_aperture_mm2: Annotated[float, Field(gt=0)] = 70.88
    power_meter_certificate: str = ""
    dark_current_exposure_us: Annotated[int, Field(ge=10, le=1_000_000)] = 200_000
    dark_current_frames: Annotated[int, Field(ge=2, le=256)] = 8
    dark_current_warm_up_s: Annotated[float, Field(ge=0, le=7200)] = 0.0


def _plan(step: PhotonTransferStep) -> PhotonTransferPlan:
    exposures = np.linspace(
        step.max_exposure_us / step.exposure_steps, step.max_exposure_us, step.exposure_steps
    )
    half_saturation = 0.5 / SATURATION_OVERSHOOT * step.max_exposure_us / step.spatial_exposure_us
    return PhotonTransferPlan(
        wavelength_nm=step.wavelength_nm,
        led_current_a=step.led_current_ma * 1e-3,
        exposures_us=tuple(round(float(e)) for e in exposures),
        spatial_exposure_us=step.spatial_exposure_us,
        spatial_led_current_a=step.led_current_ma * 1e-3 * half_saturation,
        spatial_frames=step.spatial_frames,
        power_readings=step.power_readings,
        power_average_count=step.power_average_count,
        dark_current_exposure_us=step.dark_current_exposure_us,
        dark_current_frames=step.dark_current_frames,
        dark_current_warm_up_s=step.dark_current_warm_up_s,
    )


def _window(shape: tuple[int, int], step: PhotonTransferStep) -> tuple[int, int, int, int]:
    rows, cols = shape
    if step.height > rows or step.width > cols:
        raise StepFailure(
            f"window {step.height}×{step.width} exceeds the {rows}×{cols} frames of the record"
        )
    return (rows - step.height) // 2, (cols - step.width) // 2, step.height, step.width


def photon_transfer_data(
    series: PhotonTransferSeries,
    window: tuple[int, int, int, int],
    *,
    pixel_pitch_mm: float,
    aperture_area_mm2: float,
    bit_depth: int,
) -> PhotonTransferData:
    """The EMVA 1288 input of a measured series, over ``window`` (row0, col0, height, width).

    The LED current is fixed through the temporal series, so its irradiance is the mean of
    every reading; the photons of each step follow from it and the step's exposure. The
    dark-current stacks are kept when their temperatures span at least
    ``DARK_CURRENT_MIN_SPAN_C`` (the board cannot set its temperature).
    """
    row0, col0, height, width = window
    crop = (..., slice(row0, row0 + height), slice(col0, col0 + width))
    pixel_area_um2 = (pixel_pitch_mm * 1e3) ** 2
    photons = photons_per_pixel(
        float(series.power_w.mean()),
        aperture_area_mm2,
        pixel_area_um2,
        series.exposure_s,
        series.wavelength_nm,
    )
    spatial_photons = photons_per_pixel(
        float(series.spatial_power_w.mean()),
        aperture_area_mm2,
        pixel_area_um2,
        series.spatial_exposure_s,
        series.wavelength_nm,
    )
    temperatures = series.dark_current_temperature_c
    span = float(temperatures.max() - temperatures.min())
    dark_current: dict[str, object] = {}
    if span >= DARK_CURRENT_MIN_SPAN_C:
        dark_current = {
            "dark_current_temperature_c": temperatures,
            "dark_current_frames": np.ascontiguousarray(series.dark_current_frames[crop]),
            "dark_current_exposure_s": series.dark_current_exposure_s,
        }
    else:
        logger.info(
            "dark-current stacks span %.2f °C (< %.1f °C): no dark current against temperature",
            span,
            DARK_CURRENT_MIN_SPAN_C,
        )
    return PhotonTransferData(
        temporal_bright=np.ascontiguousarray(series.bright[crop]),
        temporal_dark=np.ascontiguousarray(series.dark[crop]),
        exposure_s=series.exposure_s,
        photons_per_pixel=photons,
        spatial_bright=np.ascontiguousarray(series.spatial_bright[crop]),
        spatial_dark=np.ascontiguousarray(series.spatial_dark[crop]),
        spatial_exposure_s=series.spatial_exposure_s,
        spatial_photons_per_pixel=float(spatial_photons),
        wavelength_nm=series.wavelength_nm,
        bit_depth=bit_depth,
        **dark_current,  # type: ignore[arg-type]
    )


def photon_transfer_from_record(record: RunRecord, step: str) -> PhotonTransferData:
    """The EMVA 1288 input of the series the step ``step`` measured, from its run record
    alone (frames, readings and the step's stated window, aperture and pixel pitch).

    Raises
    ------
    ValueError
        The record holds no such series.
    """
    series = series_from_record(record, step)
    try:
        results = json.loads(str(record.results[step]["results_json"]))
        row0, col0, height, width = (int(v) for v in results["window"])
        return photon_transfer_data(
            series,
            (row0, col0, height, width),
            pixel_pitch_mm=float(results["pixel_pitch_mm"]),
            aperture_area_mm2=float(results["power_meter_aperture_mm2"]),
            bit_depth=int(results["bit_depth"]),
        )
    except KeyError as missing:
        raise ValueError(f"{record.path}: step {step!r} does not state {missing}") from None


def _measure(step: PhotonTransferStep, context: RunContext) -> StepOutcome:
    instrument = context.instrument
    bench = instrument.bench
    board = instrument.board
    if board is None or bench.ledsource is None or bench.powermeter is None:
        raise StepFailure(
            "photon transfer needs the LED source and the power meter of the bench (or file:)"
        )
    dark = (LedStep(board.led_pattern[0].wavelength_nm, 0.0),)

    def grab(count: int) -> Grabbed:
        segment = context.acquire(count / board.frame_rate_hz, dark, live=False)
        if len(segment.frames) != count:
            raise StepFailure(f"the board delivered {len(segment.frames)} of {count} frames")
        return Grabbed(segment.frames, segment.board_temperature_c, segment.first_frame)

    series = measure_photon_transfer(
        _plan(step), board, bench.ledsource, bench.powermeter, grab, context.progress
    )
    window = _window(series.bright.shape[-2:], step)
    identity = board.identify()
    data = photon_transfer_data(
        series,
        window,
        pixel_pitch_mm=instrument.config.probe.pixel_pitch_mm * board.roi.binning,
        aperture_area_mm2=step.power_meter_aperture_mm2,
        bit_depth=identity.bit_depth,
    )
    context.data[context.step_name] = data
    power = series.power_w
    results: dict[str, object] = {
        "source": "instrument",
        "exposure_steps": len(series.exposure_s),
        "wavelength_nm": series.wavelength_nm,
        "window": list(window),
        "power_meter_w": float(power.mean()),
        "power_meter_relative_scatter": float(power.std(ddof=1) / power.mean()),
        "power_meter_certificate": step.power_meter_certificate,
        "power_meter_aperture_mm2": step.power_meter_aperture_mm2,
        "pixel_pitch_mm": instrument.config.probe.pixel_pitch_mm * board.roi.binning,
        "bit_depth": identity.bit_depth,
        "board_temperature_c": float(series.temperature_c.mean()),
        "dark_current_temperature_span_c": float(np.ptp(series.dark_current_temperature_c)),
    }
    if not step.power_meter_certificate:
        logger.warning("photon transfer: no power-meter certificate named in the step")
    return StepOutcome("passed", results, series.record_arrays())


def run(step: PhotonTransferStep, context: RunContext) -> StepOutcome:
    """Measure (or read from ``file``) the series; keep it for the ``detector_characterisation``
    analysis."""
    if step.file is None:
        return _measure(step, context)
    data = read_photon_transfer(Path(step.file))
    context.data[context.step_name] = data
    return StepOutcome(
        "passed",
        {
            "source": str(step.file),
            "exposure_steps": len(data.exposure_s),
            "wavelength_nm": float(data.wavelength_nm),
        },
    )


KIND = StepKind(
    PhotonTransferStep,
    run,
    figures=(
        "exposure_steps",
        "wavelength_nm",
        "power_meter_w",
        "power_meter_relative_scatter",
        "power_meter_aperture_mm2",
        "pixel_pitch_mm",
        "bit_depth",
        "board_temperature_c",
        "dark_current_temperature_span_c",
    ),
    acquires=True,
    uses_bench=True,
)
