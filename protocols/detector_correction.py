"""The frame correction a run applies: the detector-characterisation record that gates it.

`run_frame_correction` finds the run's usable detector-characterisation calibration (the one
the calibration gate let the run use, named in the run record's ``/calibrations``), reads its
frame-correction coefficients (dark level vs integration time and temperature, linearity,
flat field, bad pixels) and crops them to the board's region of interest. `FrameCorrector`
applies them to frame batches (`imaging.frame_correction.correct_frames`). Without such a
record, or when it holds no coefficients for these frames, the run analyses uncorrected frames
and says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from calibration.detector_record import KIND as DETECTOR_KIND
from calibration.detector_record import frame_correction_from_record
from calibration.frame_correction import FrameCorrectionCoefficients
from calibration.gate import CalibrationUse
from calibration.registry import Registry
from imaging.frame_correction import correct_frames

logger = logging.getLogger(__name__)


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
        return None, "uncorrected frames: no calibration registry"
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
