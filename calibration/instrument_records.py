"""Calibration records of the instrument's own calibrations: SpO2 curve, LED optical power,
lock-in gain/phase verification — in the same record form as every other calibration."""

from __future__ import annotations

import numpy as np

from calibration.context import CalibrationContext
from calibration.led_power import LedPowerCalibration
from calibration.lockin_verification import LockinVerification
from calibration.record import RecordContent, Tolerance
from calibration.spo2_curve import Spo2CurveCalibration

SPO2_CURVE = "spo2-curve"
LED_POWER = "led-power"
LOCKIN_VERIFICATION = "lockin-verification"
FDA_ARMS_LIMIT_PERCENT = 3.0
SPO2_PAIR_ARRAY = "coefficients/spo2_wavelength_pair_nm"
"""Array of an SpO2-curve record holding its study's (red, infrared) wavelengths, nm."""


def spo2_curve_pair_nm(arrays: dict[str, np.ndarray]) -> tuple[float, float] | None:
    """The (red, infrared) wavelengths, nm, an SpO2-curve record's curve belongs to; None for
    a record made before the pair was stored (its curve is applied to any pair)."""
    pair = arrays.get(SPO2_PAIR_ARRAY)
    if pair is None:
        return None
    red, infrared = (float(w) for w in np.asarray(pair, dtype=float).ravel()[:2])
    return red, infrared


def spo2_curve_content(
    curve: Spo2CurveCalibration,
    context: CalibrationContext,
    *,
    pair_nm: tuple[float, float],
    ratio: np.ndarray,
    sao2_percent: np.ndarray,
    subject_pseudonyms: np.ndarray,
    performed_by: str,
    calibration_date: str,
    software_version: str,
    arms_limit_percent: float = FDA_ARMS_LIMIT_PERCENT,
    study: dict[str, np.ndarray] | None = None,
) -> RecordContent:
    """Record of an R → SpO2 curve from a desaturation study (subjects pseudonymised).

    Stores the coefficients, their covariance and the (red, infrared) wavelength pair of the
    study, nm, under ``coefficients/``, the study data under ``raw/``, and judges Arms against
    ``arms_limit_percent`` (FDA guidance: 3 %). ``study`` adds arrays of an accuracy study
    (its pairing under ``raw/``, its per-band and per-group figures under ``results/``).
    """
    red, infrared = (float(w) for w in pair_nm)
    if not 0.0 < red < infrared:
        raise ValueError(
            f"the wavelength pair must be red then infrared, nm, red < infrared; got "
            f"{red:g},{infrared:g}"
        )
    low, high = curve.sao2_range_percent
    remarks = [
        f"Study {curve.study_id} at {red:g}/{infrared:g} nm: {curve.points} points from "
        f"{curve.subjects} subjects, SaO2 {low:.1f}–{high:.1f} %; accuracy stated over SaO2 "
        "70–100 %."
    ]
    remarks += list(curve.warnings)
    return context.record_content(
        SPO2_CURVE,
        f"SpO2 calibration curve (study {curve.study_id})",
        performed_by=performed_by,
        calibration_date=calibration_date,
        software_version=software_version,
        as_left=curve.results(),
        extra_tolerances=(Tolerance("SpO2 accuracy Arms", None, arms_limit_percent, "%"),),
        arrays={
            "coefficients/spo2_curve": np.asarray(curve.coefficients),
            "coefficients/spo2_curve_covariance": np.asarray(curve.covariance),
            SPO2_PAIR_ARRAY: np.array([red, infrared]),
            "raw/ratio": np.asarray(ratio, dtype=float),
            "raw/sao2_percent": np.asarray(sao2_percent, dtype=float),
            "raw/subject_pseudonym": np.asarray(subject_pseudonyms, dtype="S"),
            **(study or {}),
        },
        remarks=" ".join(remarks),
    )


def led_power_content(
    calibration: LedPowerCalibration,
    context: CalibrationContext,
    *,
    performed_by: str,
    calibration_date: str,
    software_version: str,
) -> RecordContent:
    """Record of LED optical power per drive current, per wavelength."""
    arrays: dict[str, np.ndarray] = {}
    for wavelength, curve in calibration.curves.items():
        label = f"{wavelength:g}nm"
        arrays[f"coefficients/led_{label}_power_polynomial_w"] = np.asarray(curve.coefficients)
        arrays[f"raw/led_{label}_current_ma"] = np.asarray(curve.current_ma)
        arrays[f"raw/led_{label}_mean_power_w"] = np.asarray(curve.mean_power_w)
    detector = calibration.reference_detector
    return context.record_content(
        LED_POWER,
        "LED optical power per drive current",
        performed_by=performed_by,
        calibration_date=calibration_date,
        software_version=software_version,
        as_left=calibration.results(),
        arrays=arrays,
        remarks=f"Reference detector {detector.detector_id} (certificate "
        f"{detector.certificate_id}, relative U = {100 * detector.relative_expanded_uncertainty:g} "
        f"% at k = {detector.coverage_factor:g}).",
    )


def lockin_verification_content(
    verification: LockinVerification,
    context: CalibrationContext,
    *,
    performed_by: str,
    calibration_date: str,
    software_version: str,
) -> RecordContent:
    """Record of a lock-in gain/phase verification (no adjustment: as found = as left)."""
    tolerances = []
    for verdict in verification.verdicts:
        gain, phase = verdict.gain_error, verdict.phase_error
        g, p = verification.gain_tolerance_percent, verification.phase_tolerance_deg
        tolerances += [
            Tolerance(gain.name, -g, g, gain.unit),
            Tolerance(phase.name, -p, p, phase.unit),
        ]
    results = verification.results()
    source = verification.source
    return context.record_content(
        LOCKIN_VERIFICATION,
        "Lock-in amplifier gain and phase verification",
        performed_by=performed_by,
        calibration_date=calibration_date,
        software_version=software_version,
        as_found=results,
        as_left=results,
        extra_tolerances=tuple(tolerances),
        remarks=f"No adjustment made. Reference source {source.source_id} (certificate "
        f"{source.certificate_id}).",
    )
