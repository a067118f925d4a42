"""What an analysis reads of the earlier steps of its run: frames, ROI, dark reference.

Shared by the analyses of :mod:`protocols.analyses`; each takes the ``analyse`` step (its
``source``, ``dark`` and ``options``) and the run context. Analyses of tissue measurements read
the frames through :func:`analysis_frames`: corrected with the run's approved
detector-characterisation record as the live path corrects them
(:mod:`protocols.detector_correction`), their dark reference corrected alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from instrument.run_record import RunRecord
from protocols.context import RunContext, Segment, StepFailure
from protocols.detector_correction import (
    CorrectedFrames,
    FrameCorrector,
    corrected_record,
    record_frame_correction,
)
from protocols.schema import AnalysisRoi


def segment_of(context: RunContext, name: str) -> Segment:
    """Frames of the acquiring step ``name``."""
    data = context.data.get(name)
    if not isinstance(data, Segment):
        raise StepFailure(f"step {name!r} holds no frames (it did not finish)")
    if len(data.frames) == 0:
        raise StepFailure(f"step {name!r} received no frames")
    return data


def source_record(step: Any, context: RunContext) -> RunRecord:
    """The frames of the step's source, as a run record of their own."""
    return context.record_view(segment_of(context, step.source))


def analysis_frames(
    step: Any, context: RunContext, saturated_nan: bool = True
) -> tuple[RunRecord, FrameCorrector | None, str]:
    """The frames of the step's source corrected with the run's detector record (saturated
    pixels NaN when `saturated_nan`), that correction (None: the frames stay uncorrected) and
    what the results say about it."""
    record = source_record(step, context)
    corrector, correction = record_frame_correction(
        context.registry, context.calibration_uses, record
    )
    if corrector is not None:
        record = corrected_record(record, corrector, saturated_nan)
    return record, corrector, correction


def analysis_roi(step: Any, context: RunContext) -> AnalysisRoi | None:
    """The ROI in ``options.roi``, else the source acquire step's ROI, else the whole frame."""
    if "roi" in step.options:
        return AnalysisRoi.model_validate(step.options["roi"])
    source = next(s for s in context.protocol_steps if s.name == step.source)
    return getattr(source, "roi", None)


def cropped(frames: np.ndarray, roi: AnalysisRoi | None) -> np.ndarray:
    """``frames[..., rows, cols]`` of the ROI (all when ``roi`` is None)."""
    if roi is None:
        return frames
    height, width = frames.shape[-2:]
    if roi.row + roi.height > height or roi.col + roi.width > width:
        raise StepFailure(
            f"ROI rows {roi.row}+{roi.height}, cols {roi.col}+{roi.width} exceeds the "
            f"{height}×{width} frame"
        )
    return frames[..., roi.row : roi.row + roi.height, roi.col : roi.col + roi.width]


def dark_frame(
    step: Any, context: RunContext, corrector: FrameCorrector | None = None
) -> np.ndarray | None:
    """Mean frame (DN) of the step's dark reference (corrected with `corrector` when given),
    or None without one."""
    if step.dark is None:
        return None
    segment = segment_of(context, step.dark)
    frames: Any = segment.frames
    if corrector is not None:
        frames = CorrectedFrames(frames, segment.board_temperature_c, corrector)
    frame: np.ndarray = frames.astype(np.float64).mean(axis=0)
    return frame


def dark_level(
    step: Any, context: RunContext, corrector: FrameCorrector | None = None
) -> float | None:
    """Mean level (DN) of the step's dark reference (corrected with `corrector` when given),
    or None without one."""
    frame = dark_frame(step, context, corrector)
    return None if frame is None else float(frame.mean())
