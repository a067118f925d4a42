"""What an analysis reads of the earlier steps of its run: frames, ROI, dark reference.

Shared by the analyses of :mod:`protocols.analyses`; each takes the ``analyse`` step (its
``source``, ``dark`` and ``options``) and the run context.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from instrument.run_record import RunRecord
from protocols.context import RunContext, Segment, StepFailure
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


def dark_frame(step: Any, context: RunContext) -> np.ndarray | None:
    """Mean frame (DN) of the step's dark reference, or None without one."""
    if step.dark is None:
        return None
    frame: np.ndarray = segment_of(context, step.dark).frames.astype(np.float64).mean(axis=0)
    return frame


def dark_level(step: Any, context: RunContext) -> float | None:
    """Mean level (DN) of the step's dark reference, or None without one."""
    frame = dark_frame(step, context)
    return None if frame is None else float(frame.mean())
