"""``imaging_ppg``: maps of SpO2 (%), perfusion index (%) and signal quality over the array.

The frames (and the dark reference) are corrected with the run's approved
detector-characterisation record when it has one; ``frame_correction`` names it, or says why
the frames stay uncorrected. While the source step acquires, the same maps are streamed every
few seconds (:mod:`protocols.live_maps`).
"""

from __future__ import annotations

from typing import Annotated, Any, cast

import numpy as np
from pydantic import Field

from imaging.imaging_ppg import ppg_maps
from protocols.analyses.figures import median_figure
from protocols.analyses.step_data import analysis_frames, dark_frame
from protocols.context import RunContext, StepOutcome
from protocols.schema import AnalysisKind, Strict


class ImagingPpgOptions(Strict):
    """``block``: pixels binned into one region per side before the analysis."""

    block: Annotated[int, Field(ge=1)] = 1


def run(step: Any, context: RunContext) -> StepOutcome:
    """Per-region maps; figures are medians over the regions with a value."""
    record, corrector, correction = analysis_frames(step, context)
    stacks = [record.frames[record.wavelength_nm == w] for w in record.wavelengths_nm]
    count = min(len(s) for s in stacks)
    frames = np.stack([s[:count] for s in stacks], axis=1).astype(np.float64)
    dark = dark_frame(step, context, corrector)
    if dark is not None:
        frames -= dark
    rate_hz = float(cast(float, record.acquisition["frame_rate_hz"])) / len(stacks)
    maps = ppg_maps(frames, rate_hz, list(record.wavelengths_nm), **step.options)
    spo2_map = np.asarray(maps.spo2_percent, dtype=float)
    results = {
        "spo2_median_percent": median_figure(spo2_map),
        "perfusion_index_median_percent": median_figure(maps.perfusion_index_percent),
        "signal_quality_median": median_figure(
            np.where(np.isfinite(spo2_map), maps.signal_quality, np.nan)
        ),
        "valid_regions_percent": round(float(np.mean(np.isfinite(spo2_map))) * 100, 1),
        "frame_correction": correction,
    }
    arrays = {
        "spo2_map_percent": spo2_map,
        "perfusion_index_map_percent": np.asarray(maps.perfusion_index_percent, dtype=float),
        "signal_quality_map": np.asarray(maps.signal_quality, dtype=float),
    }
    return StepOutcome("passed", results, arrays)


ANALYSIS = AnalysisKind(
    "imaging_ppg",
    ImagingPpgOptions,
    sources=("acquire",),
    figures=(
        "spo2_median_percent",
        "perfusion_index_median_percent",
        "signal_quality_median",
        "valid_regions_percent",
    ),
    run=run,
)
