"""Run record → SNIRF measurement: detector regions, the LED as the source, one time base.

Mapping
-------
- Frames: a plain acquisition is exported whole; of a protocol run, one step holding frames
  (``/results/<step>``, frames ``first_frame`` … ``first_frame + frames``; by default the
  first ``acquire`` step that lit an LED). Only frames of lit LED steps become measurements.
- Dark: every frame has the dark reference subtracted (:func:`recorded_dark_frame_dn`): the mean
  frame of the run's dark-reference steps (protocol steps that lit no LED) when it has one,
  else of the measurement's own dark LED steps (0 mA), else the sensor's black level (64 DN
  unless given).
- Detectors: the recorded frame (after the board's ROI and binning) is cut into square
  regions of ``region_px`` × ``region_px`` recorded pixels; rows and columns left over at the
  far edges are dropped. Each region is one SNIRF detector whose value is the mean
  dark-corrected DN of its pixels, at the mean of its pixels' centres (mm, on the surface,
  z = 0). Regions are numbered row-major from the array's first row; the detector label
  ``D<n>`` keeps that number.
- Unreliable regions are left out unless asked to keep them: a region is *saturated* when any
  of its pixels reaches ``max_dn`` (raw DN, where the sensor's response stops being linear) in
  any frame, and *near dark* when its mean dark-corrected signal at any wavelength is below
  ``min_signal_dn``. Their optical density would be wrong (a clipped channel shows no change
  at all; near dark, the residual offset dominates).
- Source: the LED (all wavelengths share one package), source 1 at ``led_xy_mm``.
- Measurements: one per detector and wavelength, detector-major with wavelengths ascending
  (the order MNE expects).
- Time: the LED steps are interleaved, one step per frame, so each wavelength is sampled at
  its own instants. Every wavelength's series is linearly interpolated onto one uniform time
  base: the LED-cycle period (median spacing of one wavelength's frames) starting at the
  latest first sample of any wavelength and ending at or before the earliest last sample, so
  no value is extrapolated. A frame dropped on the link costs nothing but the interpolation
  span across the gap.
- Metadata: SubjectID is the record's subject pseudonym (never an identifier);
  MeasurementDate/Time are the UTC start of the exported acquisition (of the step, when the
  record holds it; else of the run); RunID, SoftwareVersion and ManufacturerName.

Geometry comes from the record's ``/probe`` attributes (``instrument.config.ProbeConfig``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from instrument.region_defaults import DEFAULT_REGION_PX
from instrument.run_record import RunRecord
from instrument.run_steps import (
    dark_reference_dn,
    frames_by_led_step,
    led_pattern,
    measurement_view,
)
from instrument.snirf import DATA_TYPE_CW_AMPLITUDE, RECORD_STATUS_TAG, NirsData

FRAMES_PER_CHUNK = 2048
DEFAULT_BLACK_LEVEL_DN = 64.0
MAX_LINEAR_DN = 3000.0
MIN_SIGNAL_DN = 20.0


def pixel_centres_mm(record: RunRecord) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Surface position of every recorded pixel's centre, from the probe geometry and ROI.

    Parameters
    ----------
    record : RunRecord
        A run record with ``/probe`` geometry.

    Returns
    -------
    x_mm, y_mm : ndarray, shape (H, W)
        Centre of each recorded (ROI-cropped, binned) pixel, mm.

    Raises
    ------
    ValueError
        If the record holds no probe geometry.
    """
    probe: dict[str, Any] = record.probe
    if "pixel_pitch_mm" not in probe or "led_xy_mm" not in probe:
        raise ValueError(f"{record.path}: the run record holds no probe geometry (/probe)")
    roi = record.acquisition.get("roi")
    if isinstance(roi, str):
        row0, col0, _, _, binning = (int(v) for v in json.loads(roi))
    else:  # an unfinished record: the ROI the configuration asked for
        config = yaml.safe_load(str(record.metadata.get("config_yaml", ""))) or {}
        window = (config.get("detector") or {}).get("roi") or {}
        row0, col0 = int(window.get("row", 0)), int(window.get("col", 0))
        binning = int(window.get("binning", 1))
    pitch = float(probe["pixel_pitch_mm"])
    height, width = record.frames.shape[1:]
    x = (col0 + (np.arange(width) + 0.5) * binning) * pitch
    y = (row0 + (np.arange(height) + 0.5) * binning) * pitch
    grid_x, grid_y = np.meshgrid(x, y)
    return grid_x, grid_y


def led_position_mm(record: RunRecord) -> tuple[float, float]:
    """LED (source) position (x, y) on the surface, mm."""
    if "led_xy_mm" not in record.probe:
        raise ValueError(f"{record.path}: the run record holds no probe geometry (/probe)")
    led_x, led_y = (float(v) for v in np.asarray(record.probe["led_xy_mm"], dtype=float))
    return led_x, led_y


def recorded_dark_frame_dn(
    record: RunRecord, black_level_dn: float = DEFAULT_BLACK_LEVEL_DN
) -> NDArray[np.float64]:
    """Dark reference of every recorded pixel, DN.

    Parameters
    ----------
    record : RunRecord
        A run record; a protocol run keeps its steps' frame ranges under ``/results/<step>``.
    black_level_dn : float
        Level used when the record holds no dark frame, DN.

    Returns
    -------
    ndarray, shape (H, W)
        The mean frame of the run's dark-reference steps (protocol steps that lit no LED);
        else of the measurement's own dark frames (LED steps driven at 0 mA); else
        `black_level_dn` everywhere.
    """
    reference = dark_reference_dn(record)
    if reference is not None:
        return reference
    _, dark_frames = frames_by_led_step(record)
    if dark_frames.size:
        dark_mean: NDArray[np.float64] = np.mean(
            record.frames[dark_frames], axis=0, dtype=np.float64
        )
        return dark_mean
    return np.full(record.frames.shape[1:], float(black_level_dn))


def brightest_dn(frames: np.ndarray) -> NDArray[np.float64]:
    """Largest value of every pixel over all frames, DN; frames (N, H, W) → (H, W)."""
    out = np.zeros(frames.shape[1:])
    for start in range(0, len(frames), FRAMES_PER_CHUNK):
        np.maximum(out, frames[start : start + FRAMES_PER_CHUNK].max(axis=0), out=out)
    return out


def region_means(frames: np.ndarray, region_px: int) -> NDArray[np.float64]:
    """Mean DN of each ``region_px`` × ``region_px`` block of every frame.

    Parameters
    ----------
    frames : ndarray, shape (N, H, W)
        Frames, DN.
    region_px : int
        Block side, pixels; trailing rows/columns that do not fill a block are dropped.

    Returns
    -------
    ndarray, shape (N, H // region_px, W // region_px)
        Block means, DN.
    """
    count, height, width = frames.shape
    rows, cols = height // region_px, width // region_px
    out = np.empty((count, rows, cols))
    for start in range(0, count, FRAMES_PER_CHUNK):
        block = frames[start : start + FRAMES_PER_CHUNK, : rows * region_px, : cols * region_px]
        shaped = block.reshape(len(block), rows, region_px, cols, region_px)
        out[start : start + len(block)] = shaped.mean(axis=(2, 4))
    return out


def region_maxima(image: NDArray[np.float64], region_px: int) -> NDArray[np.float64]:
    """Largest value of each ``region_px`` × ``region_px`` block of an (H, W) image."""
    rows, cols = image.shape[0] // region_px, image.shape[1] // region_px
    cut = image[: rows * region_px, : cols * region_px]
    maxima: NDArray[np.float64] = cut.reshape(rows, region_px, cols, region_px).max(axis=(1, 3))
    return maxima


def interpolate_columns(
    time_s: NDArray[np.float64], values: NDArray[np.float64], new_time_s: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Linear interpolation of every column of `values` from `time_s` onto `new_time_s`.

    Parameters
    ----------
    time_s : ndarray, shape (N,)
        Increasing sample times, s.
    values : ndarray, shape (N, M)
        Samples.
    new_time_s : ndarray, shape (K,)
        Times within [time_s[0], time_s[-1]], s.

    Returns
    -------
    ndarray, shape (K, M)
    """
    right = np.clip(np.searchsorted(time_s, new_time_s, side="right"), 1, len(time_s) - 1)
    left = right - 1
    weight = (new_time_s - time_s[left]) / (time_s[right] - time_s[left])
    return values[left] * (1.0 - weight[:, None]) + values[right] * weight[:, None]


def _measurement_date_time(start_utc: str) -> tuple[str, str]:
    date, _, time = start_utc.partition("T")
    return (date, time) if date and time else ("unknown", "unknown")


@dataclass(frozen=True)
class SnirfExport:
    """A run record's SNIRF measurement and the detector regions left out of it.

    Attributes
    ----------
    data : NirsData
        The measurement (see the module docstring).
    saturated, near_dark : int
        Regions left out as saturated or near dark (0 when they were kept).
    """

    data: NirsData
    saturated: int
    near_dark: int


def run_to_nirs(
    record: RunRecord,
    region_px: int = DEFAULT_REGION_PX,
    *,
    black_level_dn: float = DEFAULT_BLACK_LEVEL_DN,
    keep_unreliable: bool = False,
) -> NirsData:
    """A run record as a SNIRF CW-amplitude measurement: :func:`export_run`'s data."""
    return export_run(
        record, region_px, black_level_dn=black_level_dn, keep_unreliable=keep_unreliable
    ).data


def export_run(
    record: RunRecord,
    region_px: int = DEFAULT_REGION_PX,
    *,
    black_level_dn: float = DEFAULT_BLACK_LEVEL_DN,
    max_dn: float = MAX_LINEAR_DN,
    min_signal_dn: float = MIN_SIGNAL_DN,
    keep_unreliable: bool = False,
    step: str | None = None,
) -> SnirfExport:
    """A run record as a SNIRF CW-amplitude measurement, saying which regions were left out.

    Parameters
    ----------
    record : RunRecord
        A run record holding probe geometry and at least two LED wavelengths.
    region_px : int
        Side of a detector region, recorded pixels.
    black_level_dn : float
        Dark level subtracted when the record holds no dark step, DN.
    max_dn : float
        Raw level from which a pixel counts as saturated, DN.
    min_signal_dn : float
        Smallest mean dark-corrected region signal at every wavelength, DN.
    keep_unreliable : bool
        Keep saturated and near-dark regions (they are counted all the same).
    step : str, optional
        For a protocol run, the step whose frames are exported (default: its first ``acquire``
        step that lit an LED; see :func:`instrument.run_steps.measurement_view`).

    Returns
    -------
    SnirfExport
        Mean dark-corrected DN per kept detector region and wavelength on the common time
        base (see the module docstring), positions in mm, and the counts left out.

    Raises
    ------
    ValueError
        If the record lacks probe geometry, has no such step, has fewer than two lit
        wavelengths or two samples of one, lights one wavelength at several LED steps, has
        wavelength series that do not overlap in time, a region larger than the frame, or no
        region left to export.
    """
    where = str(record.path)
    x_mm, y_mm = pixel_centres_mm(record)
    led_xy_mm = led_position_mm(record)
    if region_px < 1:
        raise ValueError(f"region size must be >= 1 pixel, got {region_px}")
    reference = dark_reference_dn(record)
    record = measurement_view(record, step)
    frames = record.frames
    if frames.ndim != 3 or frames.shape[1] < region_px or frames.shape[2] < region_px:
        raise ValueError(
            f"{where}: frames of shape {frames.shape[1:]} are smaller than a "
            f"{region_px}×{region_px} region"
        )
    wavelengths, lit_frames = _lit_wavelengths(record, where)
    dark_dn = reference if reference is not None else recorded_dark_frame_dn(record, black_level_dn)
    dark = region_means(dark_dn[np.newaxis], region_px)[0]
    means = region_means(frames, region_px) - dark
    count, rows, cols = means.shape
    flat = means.reshape(count, rows * cols)
    series = _wavelength_series(record, flat, wavelengths, lit_frames, where)
    grid = _common_time_base(series, where)
    # (K, detectors, wavelengths) → columns detector-major, wavelength-minor.
    stacked = np.stack([interpolate_columns(t, v, grid) for t, v in series], axis=-1)

    saturated, near_dark = _unreliable_regions(frames, series, region_px, max_dn, min_signal_dn)
    kept = np.ones(rows * cols, dtype=bool) if keep_unreliable else ~(saturated | near_dark)
    if not kept.any():
        raise ValueError(
            f"{where}: every detector region is saturated ({int(saturated.sum())}) or near "
            f"dark ({int(near_dark.sum())}); nothing to export"
        )
    values = stacked[:, kept].reshape(len(grid), -1)
    centres = region_means(np.stack([x_mm, y_mm]), region_px)  # (2, rows, cols)
    detectors = np.column_stack([centres[0].ravel(), centres[1].ravel(), np.zeros(rows * cols)])
    data = _nirs_data(record, grid, values, wavelengths, detectors[kept], kept, led_xy_mm)
    return SnirfExport(data, int(saturated.sum()), int(near_dark.sum()))


def _lit_wavelengths(record: RunRecord, where: str) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """The lit LED wavelengths ascending (nm) and the frame indices of each.

    Raises ``ValueError`` when one wavelength is lit at several LED steps or fewer than two are.
    """
    stepped = [int(wavelength) for wavelength, current in led_pattern(record) if current > 0.0]
    if len(set(stepped)) != len(stepped):
        raise ValueError(
            f"{where}: the LED pattern lights one wavelength at several steps {stepped}; "
            "SNIRF export needs one step per wavelength"
        )
    lit_frames, _ = frames_by_led_step(record)
    wavelengths = np.array(sorted(lit_frames))
    if len(wavelengths) < 2:
        raise ValueError(
            f"{where}: needs at least two lit LED wavelengths, found {len(wavelengths)}"
        )
    return wavelengths, lit_frames


def _wavelength_series(
    record: RunRecord,
    flat: np.ndarray,
    wavelengths: np.ndarray,
    lit_frames: dict[float, np.ndarray],
    where: str,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per wavelength, its frames' times (s) and region means ((frames, regions), DN)."""
    series = []
    for wavelength in wavelengths:
        index = lit_frames[float(wavelength)]
        times = np.asarray(record.time_s[index], dtype=float)
        if len(times) < 2 or np.any(np.diff(times) <= 0.0):
            raise ValueError(
                f"{where}: the {int(wavelength)} nm frames need two or more increasing times"
            )
        series.append((times, flat[index]))
    return series


def _common_time_base(series: list[tuple[np.ndarray, np.ndarray]], where: str) -> np.ndarray:
    """Uniform times (s) at the LED-cycle period within every wavelength's span."""
    period_s = float(np.median(np.diff(series[0][0])))
    start = max(times[0] for times, _ in series)
    stop = min(times[-1] for times, _ in series)
    if stop <= start:
        raise ValueError(f"{where}: the wavelengths' samples do not overlap in time")
    count = int(np.floor((stop - start) / period_s + 1e-9)) + 1
    grid: np.ndarray = start + period_s * np.arange(count)
    return grid


def _unreliable_regions(
    frames: np.ndarray,
    series: list[tuple[np.ndarray, np.ndarray]],
    region_px: int,
    max_dn: float,
    min_signal_dn: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Saturated and near-dark regions, flat (regions,) boolean masks (see the module doc)."""
    peak = region_maxima(brightest_dn(frames), region_px).ravel()
    saturated = peak >= max_dn
    level = np.stack([values.mean(axis=0) for _, values in series], axis=-1)  # (regions, W)
    near_dark = ~saturated & np.any(level < min_signal_dn, axis=-1)
    return saturated, near_dark


def _nirs_data(
    record: RunRecord,
    grid: np.ndarray,
    values: np.ndarray,
    wavelengths: np.ndarray,
    detectors: np.ndarray,
    kept: np.ndarray,
    led_xy_mm: tuple[float, float],
) -> NirsData:
    """The SNIRF measurement of the kept detectors, with the record's metadata."""
    n_detectors, n_wavelengths = len(detectors), len(wavelengths)
    date, time = _measurement_date_time(str(record.metadata.get("start_time_utc", "")))
    return NirsData(
        time_s=grid,
        values=values,
        source_index=np.ones(values.shape[1], dtype=np.int64),
        detector_index=np.repeat(np.arange(1, n_detectors + 1), n_wavelengths),
        wavelength_index=np.tile(np.arange(1, n_wavelengths + 1), n_detectors),
        wavelengths_nm=wavelengths.astype(float),
        source_positions_mm=np.array([[led_xy_mm[0], led_xy_mm[1], 0.0]]),
        detector_positions_mm=detectors,
        data_type=DATA_TYPE_CW_AMPLITUDE,
        metadata={
            "SubjectID": str(record.metadata.get("subject_pseudonym", "")),
            "MeasurementDate": date,
            "MeasurementTime": time,
            "ManufacturerName": "nirpoct",
            "RunID": str(record.metadata.get("run_id", "")),
            "SoftwareVersion": str(record.metadata.get("software_version", "")),
            RECORD_STATUS_TAG: str(record.metadata.get("status", "")),
        },
        source_labels=("LED",),
        detector_labels=tuple(f"D{n + 1}" for n in np.flatnonzero(kept)),
    )
