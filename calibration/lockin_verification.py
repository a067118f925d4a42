"""Lock-in amplifier gain and phase verification against a calibrated reference source.

At each check point (sensitivity, reference frequency) the lock-in reads a sine of known
amplitude A_ref (V rms) and phase φ_ref (deg) several times. With the mean readings Ā and φ̄:

- gain error e_G = 100·(Ā − A_ref)/A_ref, %; budget: repeatability of the amplitude
  readings (Type A, c = 100/A_ref %/V) and the source's amplitude certificate (Type B,
  normal, u = U_rel·A_ref/k, c = −100·Ā/A_ref² %/V);
- phase error e_φ = φ̄ − φ_ref wrapped to [−180, 180), deg; budget: repeatability of the
  phase readings (Type A) and the source's phase certificate (Type B, normal, u = U/k).

Decision rule (as-found, simple acceptance): a point passes when |e| ≤ tolerance for both
gain and phase; the expanded uncertainty is reported beside it, not used as a guard band.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from calibration.uncertainty import Budget, Result, require_finite, type_a, type_b


@dataclass(frozen=True)
class ReferenceSource:
    """The calibrated signal source.

    Attributes
    ----------
    source_id : str
        Asset id of the source.
    certificate_id : str
        Id of its calibration certificate.
    amplitude_relative_expanded_uncertainty : float
        U/A of the output amplitude from the certificate (e.g. 0.001 for 0.1 %).
    phase_expanded_uncertainty_deg : float
        U of the output phase, deg.
    coverage_factor : float
        k stated with both U.
    """

    source_id: str
    certificate_id: str
    amplitude_relative_expanded_uncertainty: float
    phase_expanded_uncertainty_deg: float
    coverage_factor: float = 2.0

    def __post_init__(self) -> None:
        require_finite(
            "amplitude_relative_expanded_uncertainty", self.amplitude_relative_expanded_uncertainty
        )
        require_finite("phase_expanded_uncertainty_deg", self.phase_expanded_uncertainty_deg)
        require_finite("coverage_factor", self.coverage_factor, inclusive=False)


@dataclass(frozen=True, eq=False)
class LockinCheckPoint:
    """Readings of the reference signal at one lock-in setting.

    Attributes
    ----------
    sensitivity_v : float
        Full-scale sensitivity, V.
    frequency_hz : float
        Reference frequency, Hz.
    reference_amplitude_v : float
        Source amplitude, V rms.
    reference_phase_deg : float
        Source phase, deg.
    amplitude_v : ndarray, shape (repeats,)
        Lock-in amplitude readings R, V rms.
    phase_deg : ndarray, shape (repeats,)
        Lock-in phase readings θ, deg.
    """

    sensitivity_v: float
    frequency_hz: float
    reference_amplitude_v: float
    reference_phase_deg: float
    amplitude_v: NDArray[np.float64]
    phase_deg: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class LockinPointVerdict:
    """As-found gain and phase errors of one check point, with budgets and pass/fail."""

    point: LockinCheckPoint
    gain_error: Result
    phase_error: Result
    gain_passed: bool
    phase_passed: bool

    @property
    def passed(self) -> bool:
        """Both gain and phase within tolerance."""
        return self.gain_passed and self.phase_passed


@dataclass(frozen=True, eq=False)
class LockinVerification:
    """Verification of a lock-in against `source`, point by point.

    Attributes
    ----------
    verdicts : tuple of LockinPointVerdict
        One per check point, in input order.
    source : ReferenceSource
        The reference used (traceability).
    gain_tolerance_percent, phase_tolerance_deg : float
        Acceptance limits ±, % and deg.
    """

    verdicts: tuple[LockinPointVerdict, ...]
    source: ReferenceSource
    gain_tolerance_percent: float
    phase_tolerance_deg: float

    @property
    def passed(self) -> bool:
        """Every point passed."""
        return all(verdict.passed for verdict in self.verdicts)

    def results(self) -> tuple[Result, ...]:
        """Gain and phase error of every point, in input order."""
        return tuple(
            result
            for verdict in self.verdicts
            for result in (verdict.gain_error, verdict.phase_error)
        )

    def table(self) -> list[dict[str, float | bool]]:
        """One row per point: setting, errors, expanded uncertainties (k), tolerances, verdict."""
        return [
            {
                "sensitivity_v": v.point.sensitivity_v,
                "frequency_hz": v.point.frequency_hz,
                "gain_error_percent": v.gain_error.value,
                "gain_expanded_uncertainty_percent": v.gain_error.expanded_uncertainty,
                "gain_tolerance_percent": self.gain_tolerance_percent,
                "gain_passed": v.gain_passed,
                "phase_error_deg": v.phase_error.value,
                "phase_expanded_uncertainty_deg": v.phase_error.expanded_uncertainty,
                "phase_tolerance_deg": self.phase_tolerance_deg,
                "phase_passed": v.phase_passed,
                "coverage_factor": v.gain_error.coverage_factor,
                "passed": v.passed,
            }
            for v in self.verdicts
        ]


def verify_lockin(
    points: Sequence[LockinCheckPoint],
    source: ReferenceSource,
    *,
    gain_tolerance_percent: float,
    phase_tolerance_deg: float,
) -> LockinVerification:
    """Gain and phase errors of each point against the tolerances (as-found).

    Raises
    ------
    ValueError
        No points, non-positive tolerances or reference amplitude, fewer than two readings,
        mismatched reading counts, or non-finite readings.
    """
    if not points:
        raise ValueError("no check points")
    if gain_tolerance_percent <= 0.0 or phase_tolerance_deg <= 0.0:
        raise ValueError("tolerances must be > 0")
    verdicts = []
    for point in points:
        gain_error, phase_error = _point_errors(point, source)
        verdicts.append(
            LockinPointVerdict(
                point,
                gain_error,
                phase_error,
                abs(gain_error.value) <= gain_tolerance_percent,
                abs(phase_error.value) <= phase_tolerance_deg,
            )
        )
    return LockinVerification(tuple(verdicts), source, gain_tolerance_percent, phase_tolerance_deg)


def _point_errors(point: LockinCheckPoint, source: ReferenceSource) -> tuple[Result, Result]:
    amplitude = np.asarray(point.amplitude_v, dtype=float)
    phase = np.asarray(point.phase_deg, dtype=float)
    where = f"point {point.sensitivity_v:g} V, {point.frequency_hz:g} Hz"
    if amplitude.ndim != 1 or amplitude.shape != phase.shape or amplitude.size < 2:
        raise ValueError(f"{where}: need ≥ 2 amplitude and phase readings of equal count")
    if not (np.all(np.isfinite(amplitude)) and np.all(np.isfinite(phase))):
        raise ValueError(f"{where}: non-finite readings")
    reference = float(point.reference_amplitude_v)
    if reference <= 0.0:
        raise ValueError(f"{where}: reference amplitude must be > 0 V")
    # Wrap the readings around the reference so that the mean does not straddle ±180°.
    phase_offsets = (phase - point.reference_phase_deg + 180.0) % 360.0 - 180.0

    readings = type_a(
        "repeatability of amplitude readings", amplitude.tolist(), "V", 100.0 / reference
    )
    certificate = type_b(
        f"source {source.source_id} amplitude ({source.certificate_id})",
        reference,
        source.amplitude_relative_expanded_uncertainty * reference / source.coverage_factor,
        "V",
        distribution="normal",
        sensitivity=-100.0 * readings.estimate / reference**2,
    )
    gain_error = Result(
        f"gain error at {point.sensitivity_v:g} V, {point.frequency_hz:g} Hz",
        100.0 * (readings.estimate - reference) / reference,
        "%",
        Budget((readings, certificate)),
    )
    phase_readings = type_a("repeatability of phase readings", phase_offsets.tolist(), "deg")
    phase_certificate = type_b(
        f"source {source.source_id} phase ({source.certificate_id})",
        float(point.reference_phase_deg),
        source.phase_expanded_uncertainty_deg / source.coverage_factor,
        "deg",
        distribution="normal",
        sensitivity=-1.0,
    )
    phase_error = Result(
        f"phase error at {point.sensitivity_v:g} V, {point.frequency_hz:g} Hz",
        phase_readings.estimate,
        "deg",
        Budget((phase_readings, phase_certificate)),
    )
    return gain_error, phase_error
