"""Physiological analyses of an acquire step: SpO2/PR/PI, imaging PPG, StO2, DOT.

Each calls its package (imaging/ and the protocols input adapters) on the step's frames seen
as a run record of their own. When a package is not part of this build the step fails with
"… analysis is not available in this build".
"""

from __future__ import annotations

import importlib
import math
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from calibration.instrument_records import SPO2_CURVE, spo2_curve_pair_nm
from calibration.registry import USABLE_STATES
from imaging.statistics import median_of_finite
from protocols.steps.context import StepFailure, StepOutcome

if TYPE_CHECKING:
    from calibration.registry import Registry
    from instrument.config import InstrumentConfig
    from protocols.calibration_gate import CalibrationUse
    from protocols.protocol_file import AnalyseStep, Protocol
    from protocols.steps.context import RunContext


def _module(name: str, analysis: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not name.startswith(exc.name):
            raise
        raise StepFailure(
            f"the {analysis} analysis is not available in this build ({name} is missing)"
        ) from None


def _record(step: AnalyseStep, context: RunContext) -> Any:
    from protocols.steps.analyse import segment_of

    return context.record_view(segment_of(context, step.source))


def calibrated_spo2_curve(
    registry: Registry | None, uses: list[CalibrationUse]
) -> tuple[str, np.ndarray, tuple[float, float] | None] | None:
    """The run's usable ``spo2-curve`` calibration: (record, coefficients a_0 … a_d in %,
    its study's (red, infrared) wavelengths in nm or None when the record predates storing
    them); None without one."""
    if registry is None:
        return None
    for use in uses:
        usable = use.state in USABLE_STATES or bool(use.override_by)
        if usable and registry.entry(use.record).kind == SPO2_CURVE:
            arrays = registry.load(use.record).content.arrays
            return use.record, arrays["coefficients/spo2_curve"], spo2_curve_pair_nm(arrays)
    return None


def spo2_pair_problems(
    protocol: Protocol,
    config: InstrumentConfig,
    registry: Registry | None,
    uses: list[CalibrationUse],
) -> list[str]:
    """Why the run's SpO2 curve cannot serve its SpO2 analyses: each analysis whose
    (shortest, longest) lit wavelengths are not the pair the curve was calibrated for."""
    calibrated = calibrated_spo2_curve(registry, uses)
    if calibrated is None or calibrated[2] is None:
        return []
    try:
        curves = importlib.import_module("imaging.spo2_curves")
    except ModuleNotFoundError:  # the SpO2 analysis itself says it is not available
        return []
    record, coefficients, pair_nm = calibrated
    curve = curves.polynomial_curve(coefficients, pair_nm, f"calibration {record}")
    lit = {s.wavelength_nm for s in config.detector.led_pattern if s.drive_current_ma > 0.0}
    steps = {step.name: step for step in protocol.steps}
    problems = []
    for step in protocol.steps:
        if step.kind != "analyse" or step.analysis != "spo2":
            continue
        chosen = getattr(steps.get(step.source), "wavelengths_nm", None) or lit
        wavelengths = sorted(lit.intersection(chosen))
        if len(wavelengths) < 2:
            continue
        try:
            curve.check_pair(float(wavelengths[0]), float(wavelengths[-1]))
        except ValueError as exc:
            problems.append(f"step {step.name!r}: {exc}")
    return problems


def _calibrated_curve(context: RunContext) -> Any:
    """The R → SpO2 curve of the run's usable ``spo2-curve`` calibration, for its wavelength
    pair when the record stores it; else None (the analysis's default curve)."""
    calibrated = calibrated_spo2_curve(context.registry, context.calibration_uses)
    if calibrated is None:
        return None
    curves = _module("imaging.spo2_curves", "SpO2/PR/PI")
    record, coefficients, pair = calibrated
    return curves.polynomial_curve(
        coefficients, pair, f"calibration {record}: SpO2 = " + curves.polynomial_text(coefficients)
    )


def _roi(step: AnalyseStep, context: RunContext) -> tuple[int, int, int, int] | None:
    from protocols.steps.analyse import analysis_roi

    roi = analysis_roi(step, context)
    return None if roi is None else (roi.row, roi.col, roi.height, roi.width)


def _dark_frame(step: AnalyseStep, context: RunContext) -> np.ndarray:
    """Mean frame of the step's dark reference, DN."""
    from protocols.steps.analyse import dark_frame

    frame = dark_frame(step, context)
    assert frame is not None
    return frame


def _dark_level(step: AnalyseStep, context: RunContext) -> float:
    """Mean level of the step's dark reference, DN."""
    return float(_dark_frame(step, context).mean())


def _median(values: np.ndarray) -> float | None:
    median = median_of_finite(values)
    return round(median, 3) if math.isfinite(median) else None


def spo2(step: AnalyseStep, context: RunContext) -> StepOutcome:
    """SpO2 (%), pulse rate (bpm) and perfusion index (%) with signal quality.

    Figures are medians over the per-second values that were not withheld;
    ``withheld_percent`` is the share of seconds without an SpO2 value.
    """
    ppg_input = _module("protocols.ppg_input", "SpO2/PR/PI")
    oximetry = _module("imaging.pulse_oximetry", "SpO2/PR/PI")
    options = dict(step.options)
    options.pop("roi", None)
    roi = _roi(step, context)
    if roi is not None:
        options["roi"] = roi
    if step.dark is not None:
        options.setdefault("black_level_dn", _dark_level(step, context))
    signals = ppg_input.ppg_signals_from_run(_record(step, context), **options)
    curve = _calibrated_curve(context)
    result = oximetry.pulse_oximetry(
        signals.signals, signals.sample_rate_hz, signals.wavelengths_nm, curve
    )
    spo2_values = np.asarray(result.spo2_percent, dtype=float)
    withheld = float(np.mean(~np.isfinite(spo2_values))) * 100 if spo2_values.size else 100.0
    results = {
        "spo2_percent": _median(spo2_values),
        "pulse_rate_bpm": _finite(result.mean_pulse_rate_bpm),
        "perfusion_index_percent": _median(result.perfusion_index_percent),
        "signal_quality": _median(result.signal_quality),
        "withheld_percent": round(withheld, 1),
        "beats": len(result.beats_s),
        "roi_pixels": signals.roi_pixels,
        "curve": result.curve_description,
        "wavelengths_nm": [float(w) for w in result.pair_nm],
        "source": step.source,
    }
    arrays = {
        "time_s": np.asarray(result.time_s, dtype=float),
        "spo2_percent": spo2_values,
        "pulse_rate_bpm": np.asarray(result.pulse_rate_bpm, dtype=float),
        "perfusion_index_percent": np.asarray(result.perfusion_index_percent, dtype=float),
        "signal_quality": np.asarray(result.signal_quality, dtype=float),
        "ppg_time_s": np.asarray(signals.time_s, dtype=float),
        "ppg_signals": np.asarray(signals.signals, dtype=float),
        "ppg_wavelengths_nm": np.asarray(signals.wavelengths_nm, dtype=float),
    }
    if curve is not None:  # the calibration's curve, for re-analysis without the registry
        arrays["curve_numerator"] = np.asarray(curve.numerator, dtype=float)
        arrays["curve_denominator"] = np.asarray(curve.denominator, dtype=float)
        if curve.pair_nm is not None:
            arrays["curve_pair_nm"] = np.asarray(curve.pair_nm, dtype=float)
    return StepOutcome("passed", results, arrays)


def imaging_ppg(step: AnalyseStep, context: RunContext) -> StepOutcome:
    """Maps of SpO2 (%), perfusion index (%) and signal quality over the array."""
    module = _module("imaging.imaging_ppg", "imaging PPG")
    record = _record(step, context)
    stacks = [record.frames[record.wavelength_nm == w] for w in record.wavelengths_nm]
    count = min(len(s) for s in stacks)
    frames = np.stack([s[:count] for s in stacks], axis=1).astype(np.float64)
    if step.dark is not None:
        frames -= _dark_frame(step, context)
    rate_hz = float(record.acquisition["frame_rate_hz"]) / len(stacks)
    maps = module.ppg_maps(frames, rate_hz, list(record.wavelengths_nm), **step.options)
    spo2_map = np.asarray(maps.spo2_percent, dtype=float)
    results = {
        "spo2_median_percent": _median(spo2_map),
        "perfusion_index_median_percent": _median(maps.perfusion_index_percent),
        "signal_quality_median": _median(
            np.where(np.isfinite(spo2_map), maps.signal_quality, np.nan)
        ),
        "valid_regions_percent": round(float(np.mean(np.isfinite(spo2_map))) * 100, 1),
    }
    arrays = {
        "spo2_map_percent": spo2_map,
        "perfusion_index_map_percent": np.asarray(maps.perfusion_index_percent, dtype=float),
        "signal_quality_map": np.asarray(maps.signal_quality, dtype=float),
    }
    return StepOutcome("passed", results, arrays)


def sto2(step: AnalyseStep, context: RunContext) -> StepOutcome:
    """Tissue oxygen saturation StO2 (%) and tissue oxygenation index from the detector
    array's multi-distance reflectance."""
    module = _module("protocols.sto2_input", "StO2")
    options = dict(step.options)
    if step.dark is not None:
        options.setdefault("black_level_dn", _dark_level(step, context))
    result = module.sto2_map_from_run(_record(step, context), **options)
    sto2_map = np.asarray(result.sto2_percent, dtype=float)
    results = {
        "sto2_percent": _median(sto2_map),
        "toi_percent": _median(result.toi_percent),
        "hbt_um": _median(result.hbt_um),
        "valid_regions_percent": round(float(np.mean(np.isfinite(sto2_map))) * 100, 1),
        "region_px": int(result.region_px),
    }
    arrays = {
        "sto2_map_percent": sto2_map,
        "toi_map_percent": np.asarray(result.toi_percent, dtype=float),
        "hbt_map_um": np.asarray(result.hbt_um, dtype=float),
        "distance_mm": np.asarray(result.distance_mm, dtype=float),
    }
    return StepOutcome("passed", results, arrays)


def dot(step: AnalyseStep, context: RunContext) -> StepOutcome:
    """DOT reconstruction of the source step against ``options.baseline`` (an earlier acquire
    step on reference tissue) and the lesion table, strongest first.

    The other options are :class:`protocols.dot_scan.DotOptions` fields (``thickness_mm`` …).
    With ``dark`` the intensities are taken above the dark reference's mean level, else above
    the export's default black level.
    """
    dot_scan = _module("protocols.dot_scan", "DOT reconstruction")
    export = _module("instrument.snirf_export", "DOT reconstruction")
    from protocols.steps.analyse import segment_of

    options = dict(step.options)
    baseline_name = options.pop("baseline", None)
    if baseline_name is None:
        raise StepFailure("the dot analysis needs options.baseline: an earlier acquire step")
    dark = {"black_level_dn": _dark_level(step, context)} if step.dark is not None else {}
    measurement = export.run_to_nirs(_record(step, context), **dark)
    baseline = export.run_to_nirs(context.record_view(segment_of(context, baseline_name)), **dark)
    result = dot_scan.reconstruct_snirf(measurement, baseline, dot_scan.DotOptions(**options))
    summary = dot_scan.result_summary(result)
    lesions = summary["inclusions"]
    results: dict[str, Any] = {
        "lesion_count": len(lesions),
        "lesions": lesions,
        "background": summary["background"],
        "method": summary["method"],
        "dark_level_dn": dark.get("black_level_dn"),
    }
    if lesions:
        strongest = lesions[0]
        results["lesion_peak_contrast"] = strongest["peak_contrast"]
        results["lesion_depth_mm"] = strongest["centroid_mm"][2]
        results["lesion_volume_mm3"] = strongest["volume_mm3"]
    grid = result.grid
    arrays = {
        f"dot_{name}_map": np.asarray(values, dtype=float).reshape(grid.shape)
        for name, values in result.maps.items()
    }
    arrays.update({"dot_x_mm": grid.x_mm, "dot_y_mm": grid.y_mm, "dot_z_mm": grid.z_mm})
    return StepOutcome("passed", results, arrays)


def _finite(value: float) -> float | None:
    return round(float(value), 3) if np.isfinite(value) else None
