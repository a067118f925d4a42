"""``frame_statistics``: mean level, temporal noise, DSNU and hot pixels of a frame series."""

from __future__ import annotations

from typing import Any

import numpy as np

from calibration.emva1288 import hot_pixel_map
from protocols.analyses.step_data import analysis_roi, cropped, segment_of
from protocols.context import RunContext, StepFailure, StepOutcome
from protocols.schema import AnalysisKind, AnalysisRoi, Strict


class FrameStatisticsOptions(Strict):
    """``roi``: the part of each frame to use (default: the source step's ROI, else all)."""

    roi: AnalysisRoi | None = None


def run(step: Any, context: RunContext) -> StepOutcome:
    """Figures of the source step's frames (e.g. dark frames).

    ``mean_dn``; ``temporal_noise_dn`` (RMS over pixels of each pixel's temporal standard
    deviation); ``dsnu_dn`` (spatial standard deviation of the mean frame, its temporal-noise
    share removed); ``hot_pixels`` (EMVA 1288 rule on the mean frame).
    """
    frames = cropped(segment_of(context, step.source).frames, analysis_roi(step, context))
    if len(frames) < 2:
        raise StepFailure("frame statistics need at least two frames")
    values = frames.astype(np.float64)
    mean_frame = values.mean(axis=0)
    temporal_variance = values.var(axis=0, ddof=1)
    spatial_variance = mean_frame.var(ddof=1) - temporal_variance.mean() / len(values)
    hot = hot_pixel_map(mean_frame)
    results = {
        "frames": len(values),
        "mean_dn": round(float(mean_frame.mean()), 4),
        "temporal_noise_dn": round(float(np.sqrt(temporal_variance.mean())), 4),
        "dsnu_dn": round(float(np.sqrt(max(spatial_variance, 0.0))), 4),
        "hot_pixels": int(hot.sum()),
    }
    return StepOutcome("passed", results, {"mean_frame_dn": mean_frame, "hot_pixel_map": hot})


ANALYSIS = AnalysisKind(
    "frame_statistics",
    FrameStatisticsOptions,
    sources=("acquire", "dark_reference"),
    figures=("frames", "mean_dn", "temporal_noise_dn", "dsnu_dn", "hot_pixels"),
    run=run,
)
