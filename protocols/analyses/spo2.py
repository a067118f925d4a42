"""``spo2``: SpO2 (%), pulse rate (bpm) and perfusion index (%) with signal quality.

The PPG signals come from the source step's frames (:mod:`instrument.ppg_signals`), corrected
with the run's approved detector-characterisation record when it has one (``frame_correction``
names it, or says why the frames stay uncorrected; corrected frames are signal above the
characterised dark, so the black level is 0 without a dark reference), the curve
from the run's usable ``spo2-curve`` calibration (else the analysis's default curve for the
wavelength pair); the calibrated curve and the signals are kept with the results so that a
re-analysis (``nirpoct analyze ppg``) reproduces them without the registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from calibration.gate import CalibrationUse
from calibration.instrument_records import SPO2_CURVE, spo2_curve_pair_nm
from calibration.registry import USABLE_STATES, Registry
from imaging.pulse_oximetry import pulse_oximetry
from imaging.spo2_curves import SpO2Curve, calibrated_curve, curve_arrays
from instrument.ppg_signals import ppg_signals_from_run
from protocols.analyses.figures import finite_figure, median_figure
from protocols.analyses.step_data import analysis_frames, analysis_roi, dark_level
from protocols.context import RunContext, StepOutcome
from protocols.schema import AnalysisKind, AnalysisRoi, DarkLevel, PositiveFloat, Strict

if TYPE_CHECKING:
    from collections.abc import Sequence

    from instrument.config import InstrumentConfig


class Spo2Options(Strict):
    """``roi`` (default: the source step's), ``black_level_dn`` (default: the dark reference's
    mean level), ``full_scale_dn`` (the ADC's full scale, DN)."""

    roi: AnalysisRoi | None = None
    black_level_dn: DarkLevel | None = None
    full_scale_dn: PositiveFloat = 4095.0


def calibrated_spo2_curve(
    registry: Registry | None, uses: Sequence[CalibrationUse]
) -> SpO2Curve | None:
    """The curve of the run's usable ``spo2-curve`` calibration (for its study's wavelength
    pair when the record stores it); None without one."""
    if registry is None:
        return None
    for use in uses:
        usable = use.state in USABLE_STATES or bool(use.override_by)
        if usable and registry.entry(use.record).kind == SPO2_CURVE:
            arrays = registry.load(use.record).content.arrays
            return calibrated_curve(
                arrays["coefficients/spo2_curve"], spo2_curve_pair_nm(arrays), use.record
            )
    return None


def pair_problems(
    steps: Sequence[Any],
    config: InstrumentConfig,
    registry: Registry | None,
    uses: Sequence[CalibrationUse],
) -> list[str]:
    """Why the run's SpO2 curve cannot serve its SpO2 analyses: each ``spo2`` analysis whose
    (shortest, longest) lit wavelengths are not the pair the curve was calibrated for."""
    curve = calibrated_spo2_curve(registry, uses)
    if curve is None or curve.pair_nm is None:
        return []
    lit = {s.wavelength_nm for s in config.detector.led_pattern if s.drive_current_ma > 0.0}
    by_name = {step.name: step for step in steps}
    problems = []
    for step in steps:
        if step.kind != "analyse" or step.analysis != "spo2":
            continue
        chosen = getattr(by_name.get(step.source), "wavelengths_nm", None) or lit
        wavelengths = sorted(lit.intersection(chosen))
        if len(wavelengths) < 2:
            continue
        try:
            curve.check_pair(float(wavelengths[0]), float(wavelengths[-1]))
        except ValueError as exc:
            problems.append(f"step {step.name!r}: {exc}")
    return problems


def run(step: Any, context: RunContext) -> StepOutcome:
    """Figures are medians over the per-second values that were not withheld;
    ``withheld_percent`` is the share of seconds without an SpO2 value. The arrays keep R per
    second and per beat with the beats' quality, for accuracy studies
    (:mod:`calibration.spo2_study`)."""
    options = dict(step.options)
    options.pop("roi", None)
    roi = analysis_roi(step, context)
    if roi is not None:
        options["roi"] = (roi.row, roi.col, roi.height, roi.width)
    # As the monitoring step: the PPG region's rules choose the pixels, saturated ones are not
    # blanked one by one (that would move the region, and R depends on the distance from the LED).
    record, corrector, correction = analysis_frames(step, context, saturated_nan=False)
    if step.dark is not None:
        options.setdefault("black_level_dn", dark_level(step, context, corrector))
    elif corrector is not None:  # corrected frames are signal above the characterised dark
        options.setdefault("black_level_dn", 0.0)
    signals = ppg_signals_from_run(record, **options)
    curve = calibrated_spo2_curve(context.registry, context.calibration_uses)
    result = pulse_oximetry(signals.signals, signals.sample_rate_hz, signals.wavelengths_nm, curve)
    spo2_values = np.asarray(result.spo2_percent, dtype=float)
    withheld = float(np.mean(~np.isfinite(spo2_values))) * 100 if spo2_values.size else 100.0
    results = {
        "spo2_percent": median_figure(spo2_values),
        "pulse_rate_bpm": finite_figure(result.mean_pulse_rate_bpm),
        "perfusion_index_percent": median_figure(result.perfusion_index_percent),
        "signal_quality": median_figure(result.signal_quality),
        "withheld_percent": round(withheld, 1),
        "beats": len(result.beats_s),
        "roi_pixels": signals.roi_pixels,
        "curve": result.curve_description,
        "wavelengths_nm": [float(w) for w in result.pair_nm],
        "source": step.source,
        "frame_correction": correction,
    }
    arrays = {
        "time_s": np.asarray(result.time_s, dtype=float),
        "spo2_percent": spo2_values,
        "pulse_rate_bpm": np.asarray(result.pulse_rate_bpm, dtype=float),
        "perfusion_index_percent": np.asarray(result.perfusion_index_percent, dtype=float),
        "signal_quality": np.asarray(result.signal_quality, dtype=float),
        "ratio_of_ratios": np.asarray(result.ratio_of_ratios, dtype=float),
        "beats_s": np.asarray(result.beats_s, dtype=float),
        "beat_ratio_of_ratios": np.asarray(result.beat_ratio_of_ratios, dtype=float),
        "beat_quality": np.asarray(result.beat_quality, dtype=float),
        "beat_accepted": np.asarray(result.beat_accepted, dtype=bool),
        "ppg_time_s": np.asarray(signals.time_s, dtype=float),
        "ppg_signals": np.asarray(signals.signals, dtype=float),
        "ppg_wavelengths_nm": np.asarray(signals.wavelengths_nm, dtype=float),
    }
    if curve is not None:  # the calibration's curve, for re-analysis without the registry
        arrays.update(curve_arrays(curve))
    return StepOutcome("passed", results, arrays)


ANALYSIS = AnalysisKind(
    "spo2",
    Spo2Options,
    sources=("acquire",),
    figures=(
        "spo2_percent",
        "pulse_rate_bpm",
        "perfusion_index_percent",
        "signal_quality",
        "withheld_percent",
        "beats",
        "roi_pixels",
    ),
    run=run,
)
