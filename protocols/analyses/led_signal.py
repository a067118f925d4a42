"""``led_signal``: mean dark-subtracted signal of each LED over the ROI, DN."""

from __future__ import annotations

from typing import Any

import numpy as np

from protocols.analyses.frame_statistics import FrameStatisticsOptions
from protocols.analyses.step_data import analysis_roi, cropped, dark_frame, segment_of
from protocols.context import RunContext, StepOutcome
from protocols.schema import AnalysisKind


def run(step: Any, context: RunContext) -> StepOutcome:
    """Figures ``signal_<nm>_dn`` per wavelength and ``min_signal_dn``."""
    segment = segment_of(context, step.source)
    dark = dark_frame(step, context)
    frames = segment.frames.astype(np.float64)
    if dark is not None:
        frames = frames - dark
    values = cropped(frames, analysis_roi(step, context)).mean(axis=(1, 2))
    wavelengths = np.unique(segment.wavelength_nm)
    signals = {int(w): float(values[segment.wavelength_nm == w].mean()) for w in wavelengths}
    results: dict[str, Any] = {f"signal_{w}_dn": round(v, 3) for w, v in signals.items()}
    results["min_signal_dn"] = round(min(signals.values()), 3)
    results["dark_subtracted"] = dark is not None
    return StepOutcome(
        "passed",
        results,
        {"wavelength_nm": np.array(list(signals)), "signal_dn": np.array(list(signals.values()))},
    )


ANALYSIS = AnalysisKind(
    "led_signal",
    FrameStatisticsOptions,
    sources=("acquire",),
    figures=("min_signal_dn", r"signal_\d+_dn"),
    run=run,
)
