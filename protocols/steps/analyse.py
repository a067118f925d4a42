"""``analyse``: an analysis of an earlier step's data; its figures become the step's results.

Detector figures (frame statistics, LED signal, EMVA 1288 characterisation) are computed here
from the calibration package; the physiological analyses (SpO2/PR/PI, imaging PPG, StO2, DOT)
live in :mod:`protocols.steps.physiology`. An analysis whose package is not part of this build
fails the step with a message saying so, never with a made-up result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from calibration.emva1288 import characterize, hot_pixel_map
from calibration.photon_transfer import PhotonTransferData
from protocols.protocol_file import AnalyseStep, AnalysisRoi
from protocols.steps import physiology
from protocols.steps.context import RunContext, Segment, StepFailure, StepOutcome

Analysis = Callable[[AnalyseStep, RunContext], StepOutcome]


def run(step: AnalyseStep, context: RunContext) -> StepOutcome:
    """Dispatch to the step's analysis."""
    context.progress(0.0, f"{step.analysis} of {step.source}")
    return ANALYSES[step.analysis](step, context)


def segment_of(context: RunContext, name: str) -> Segment:
    """Frames of the acquiring step ``name``."""
    data = context.data.get(name)
    if not isinstance(data, Segment):
        raise StepFailure(f"step {name!r} holds no frames (it did not finish)")
    if len(data.frames) == 0:
        raise StepFailure(f"step {name!r} received no frames")
    return data


def analysis_roi(step: AnalyseStep, context: RunContext) -> AnalysisRoi | None:
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


def dark_frame(step: AnalyseStep, context: RunContext) -> np.ndarray | None:
    """Mean frame (DN) of the step's dark reference, or None."""
    if step.dark is None:
        return None
    return segment_of(context, step.dark).frames.astype(np.float64).mean(axis=0)


def frame_statistics(step: AnalyseStep, context: RunContext) -> StepOutcome:
    """Mean level, temporal noise, DSNU and hot pixels of a frame series (e.g. dark frames).

    Figures: ``mean_dn``; ``temporal_noise_dn`` (RMS over pixels of each pixel's temporal
    standard deviation); ``dsnu_dn`` (spatial standard deviation of the mean frame, its
    temporal-noise share removed); ``hot_pixels`` (EMVA 1288 rule on the mean frame).
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


def led_signal(step: AnalyseStep, context: RunContext) -> StepOutcome:
    """Mean dark-subtracted signal of each LED over the ROI, DN.

    Figures: ``signal_<nm>_dn`` per wavelength and ``min_signal_dn``.
    """
    segment = segment_of(context, step.source)
    roi = analysis_roi(step, context)
    dark = dark_frame(step, context)
    frames = segment.frames.astype(np.float64)
    if dark is not None:
        frames = frames - dark
    values = cropped(frames, roi).mean(axis=(1, 2))
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


def detector_characterisation(step: AnalyseStep, context: RunContext) -> StepOutcome:
    """EMVA 1288 figures (:func:`calibration.emva1288.characterize`) of a photon-transfer
    series; each measurement gives ``<figure>`` and ``<figure>_uncertainty`` (k = 1)."""
    data = context.data.get(step.source)
    if not isinstance(data, PhotonTransferData):
        raise StepFailure(f"step {step.source!r} holds no photon-transfer series")
    figures = characterize(data).to_json_dict()
    results: dict[str, Any] = {}
    for name, value in figures.items():
        if isinstance(value, dict):
            results[name] = value["value"]
            results[f"{name}_uncertainty"] = value["uncertainty"]
        elif isinstance(value, list):
            results[name.removesuffix("s") + "_count" if name.endswith("pixels") else name] = len(
                value
            )
        else:
            results[name] = value
    return StepOutcome("passed", results, {"emva1288_json": np.bytes_(json.dumps(figures))})


ANALYSES: dict[str, Analysis] = {
    "frame_statistics": frame_statistics,
    "led_signal": led_signal,
    "detector_characterisation": detector_characterisation,
    "spo2": physiology.spo2,
    "imaging_ppg": physiology.imaging_ppg,
    "sto2": physiology.sto2,
    "dot": physiology.dot,
}
