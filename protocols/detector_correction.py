"""The frame correction a run applies: the detector-characterisation record that gates it.

`run_frame_correction` finds the run's usable detector-characterisation calibration (the one
the calibration gate let the run use, named in the run record's ``/calibrations``), reads its
frame-correction coefficients (dark level vs integration time and temperature, linearity,
flat field, bad pixels) and crops them to the board's region of interest. `FrameCorrector`
applies them to frame batches (`imaging.frame_correction.correct_frames`). Without such a
record, or when it holds no coefficients for these frames, the run analyses uncorrected frames
and says so.

Analyses of recorded frames (the ``analyse`` steps of a run, and ``nirpoct batch rerun`` of a
finished record) apply the same correction: `record_frame_correction` finds it from a step's
exposure and region of interest as the record stores them, and `corrected_record` serves the
step's frames corrected as the analyses read them (in chunks; saturated pixels NaN for the
analyses that leave such pixels out one by one, as the live maps do). The record itself is
only read.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from calibration.detector_record import KIND as DETECTOR_KIND
from calibration.detector_record import frame_correction_from_record
from calibration.frame_correction import FrameCorrectionCoefficients
from calibration.gate import CalibrationUse
from calibration.registry import Registry
from imaging.frame_correction import correct_frames
from instrument.run_record import READ_CHUNK_FRAMES, RunRecord

logger = logging.getLogger(__name__)

NO_REGISTRY = "uncorrected frames: no calibration registry"
"""What a run without a calibration registry records about its frames."""


@dataclass(frozen=True)
class FrameCorrector:
    """Applies one detector record's correction to frames of one exposure.

    Attributes
    ----------
    record : str
        The calibration record (``ID@version``) the coefficients come from.
    content_sha256 : str
        Its content hash.
    exposure_s : float
        Integration time of the frames, s.
    keywords : dict
        Keyword arguments of `imaging.frame_correction.correct_frames`.
    """

    record: str
    content_sha256: str
    exposure_s: float
    keywords: dict[str, object]

    def correct(
        self, frames: NDArray[np.generic], temperature_c: NDArray[np.floating]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """(corrected frames in linear DN above dark, saturated pixels) of raw `frames`."""
        result = correct_frames(frames, self.exposure_s, temperature_c, **self.keywords)  # type: ignore[arg-type]
        return result.signal_dn, result.saturated

    @property
    def description(self) -> str:
        """What the run records about the correction it applied."""
        return f"{self.record} (sha256 {self.content_sha256[:12]})"

    def as_json(self) -> dict[str, str | int]:
        """The record applied: ``record`` (``ID@version``), ``id``, ``version``,
        ``content_sha256``."""
        identifier, _, version = self.record.partition("@")
        return {
            "record": self.record,
            "id": identifier,
            "version": int(version) if version.isdigit() else version,
            "content_sha256": self.content_sha256,
        }


def cropped(
    coefficients: FrameCorrectionCoefficients, roi: tuple[int, int, int, int, int]
) -> FrameCorrectionCoefficients:
    """The coefficients of the (row, col, height, width, binning) region of the sensor.

    Raises
    ------
    ValueError
        Binned frames (the per-pixel maps hold full-resolution pixels) or a region outside the
        characterised sensor.
    """
    row, col, height, width, binning = roi
    if binning != 1:
        raise ValueError(f"frames binned {binning}×{binning}; the record maps single pixels")
    rows, cols = coefficients.black_level_dn.shape
    if row + height > rows or col + width > cols:
        raise ValueError(f"region {roi[:4]} lies outside the characterised {rows}×{cols} sensor")
    window = (slice(row, row + height), slice(col, col + width))
    return replace(
        coefficients,
        black_level_dn=coefficients.black_level_dn[window],
        dark_current_dn_per_s=coefficients.dark_current_dn_per_s[window],
        flat_gain=coefficients.flat_gain[window],
        bad_pixel_mask=coefficients.bad_pixel_mask[window],
    )


def run_frame_correction(
    registry: Registry | None,
    uses: list[CalibrationUse],
    exposure_s: float,
    roi: tuple[int, int, int, int, int],
) -> tuple[FrameCorrector | None, str]:
    """The run's frame corrector and what to record about it.

    Returns (None, why) when the frames stay uncorrected: no registry, no usable
    detector-characterisation record among `uses`, or a record without coefficients for
    these frames.
    """
    if registry is None:
        return None, NO_REGISTRY
    for use in uses:
        if use.state not in ("approved", "due"):
            continue
        content = registry.load(use.record).content
        if content.kind != DETECTOR_KIND:
            continue
        try:
            coefficients = cropped(frame_correction_from_record(content), roi)
        except (KeyError, TypeError, ValueError) as exc:
            return None, f"uncorrected frames: {use.record} holds no usable correction ({exc})"
        corrector = FrameCorrector(
            use.record, use.content_sha256, exposure_s, coefficients.imaging_arguments()
        )
        logger.info("frames corrected with %s", corrector.description)
        return corrector, corrector.description
    return None, "uncorrected frames: no approved detector-characterisation record"


def _exposure_and_roi(record: RunRecord) -> tuple[float, tuple[int, int, int, int, int]]:
    """Integration time (s) and (row, col, height, width, binning) of recorded frames.

    Raises
    ------
    ValueError
        If the record does not hold them.
    """
    settings = record.acquisition
    try:
        exposure_s = float(str(settings["integration_time_us"])) * 1e-6
        roi = settings["roi"]
        values = json.loads(roi) if isinstance(roi, str) else roi
        row, col, height, width, binning = (int(v) for v in values)  # type: ignore[union-attr]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{record.path}: the record holds no exposure and ROI") from None
    return exposure_s, (row, col, height, width, binning)


def record_frame_correction(
    registry: Registry | None, uses: list[CalibrationUse], record: RunRecord
) -> tuple[FrameCorrector | None, str]:
    """The frame correction of recorded frames (`run_frame_correction` with the exposure and
    ROI the record stores), and what to record about it."""
    if registry is None:
        return None, NO_REGISTRY
    try:
        exposure_s, roi = _exposure_and_roi(record)
    except ValueError as exc:
        return None, f"uncorrected frames: {exc}"
    return run_frame_correction(registry, uses, exposure_s, roi)


class CorrectedFrames:
    """Raw frames read through a `FrameCorrector`, as analyses index them.

    Indexing along the first axis reads and corrects only the frames asked for, at most
    `READ_CHUNK_FRAMES` at a time (the raw frames may be a record's `RecordFrames`); values are
    float64 DN above dark.

    Parameters
    ----------
    frames : array_like, shape (N, H, W)
        Raw frames, DN.
    temperature_c : ndarray, shape (N,)
        Board temperature of each frame, °C.
    corrector : FrameCorrector
        The correction.
    saturated_nan : bool
        Saturated pixels read as NaN (else as corrected, like any other pixel).
    """

    def __init__(
        self,
        frames: Any,
        temperature_c: NDArray[np.floating],
        corrector: FrameCorrector,
        saturated_nan: bool = True,
    ) -> None:
        self._raw = frames
        self._temperature_c = np.asarray(temperature_c, dtype=float)
        self.corrector = corrector
        self.saturated_nan = saturated_nan

    @property
    def shape(self) -> tuple[int, ...]:
        """(frames, rows, cols)."""
        shape: tuple[int, ...] = tuple(self._raw.shape)
        return shape

    @property
    def dtype(self) -> np.dtype[np.float64]:
        """float64."""
        return np.dtype(np.float64)

    @property
    def ndim(self) -> int:
        """3."""
        return 3

    def __len__(self) -> int:
        return int(self._raw.shape[0])

    def __getitem__(self, key: Any) -> NDArray[np.float64]:
        first_axis, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if isinstance(first_axis, int | np.integer):
            frames = self._read(np.arange(len(self))[np.array([first_axis])])[0]
        else:
            frames = self._read(np.arange(len(self))[first_axis])
            rest = (slice(None), *rest)
        selected: NDArray[np.float64] = frames[rest] if rest else frames
        return selected

    def _read(self, indices: NDArray[np.intp]) -> NDArray[np.float64]:
        out = np.empty((indices.size, *self.shape[1:]))
        for start in range(0, indices.size, READ_CHUNK_FRAMES):
            part = indices[start : start + READ_CHUNK_FRAMES]
            corrected, saturated = self.corrector.correct(
                self._raw[part], self._temperature_c[part]
            )
            if self.saturated_nan:
                corrected = np.where(saturated, np.nan, corrected)
            out[start : start + part.size] = corrected
        return out

    def __array__(self, dtype: npt.DTypeLike | None = None, copy: object = None) -> NDArray[Any]:
        frames = self._read(np.arange(len(self)))
        return frames if dtype is None else frames.astype(dtype)

    def astype(self, dtype: npt.DTypeLike) -> NDArray[Any]:
        """All frames as an array of `dtype` (reads and corrects them all)."""
        return np.asarray(self).astype(dtype)


def corrected_record(
    record: RunRecord, corrector: FrameCorrector, saturated_nan: bool = True
) -> RunRecord:
    """`record` with its frames served corrected (`CorrectedFrames`); everything else as is."""
    frames = CorrectedFrames(record.frames, record.board_temperature_c, corrector, saturated_nan)
    return replace(record, frames=frames)  # type: ignore[arg-type]
