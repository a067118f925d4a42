"""LED optical power versus drive current, from a sweep against a reference power meter.

Per wavelength, the mean of the repeated readings at each drive current is fitted with a
polynomial through the origin, P(I) = Σ_{i=1..d} c_i I^i (W, I in mA; an LED emits nothing
at zero current, and the quadratic term captures efficiency droop). Each calibration point
is a result whose budget has two components: the repeatability of the readings (Type A,
s/√n) and the reference detector's certificate (Type B, normal, u = U_rel/k · P). The
coefficients carry their least-squares covariance; the fit residuals are kept per point.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.uncertainty import (
    Budget,
    Result,
    require_finite,
    single_component_result,
    type_a,
    type_b,
)


@dataclass(frozen=True, eq=False)
class LedSweep:
    """Reference power-meter readings of one LED over its drive currents.

    Attributes
    ----------
    wavelength_nm : float
        Nominal LED wavelength, nm.
    current_ma : ndarray, shape (points,)
        Drive currents, mA (> 0, increasing).
    power_w : ndarray, shape (points, repeats)
        Optical power readings, W (at least two repeats per current).
    """

    wavelength_nm: float
    current_ma: NDArray[np.float64]
    power_w: NDArray[np.float64]


@dataclass(frozen=True)
class ReferenceDetector:
    """The traceable power meter of the sweep.

    Attributes
    ----------
    detector_id : str
        Asset id of the reference detector (with its certificate, the traceability link).
    certificate_id : str
        Id of its calibration certificate.
    relative_expanded_uncertainty : float
        U/P from the certificate (e.g. 0.02 for 2 %).
    coverage_factor : float
        k stated with U.
    """

    detector_id: str
    certificate_id: str
    relative_expanded_uncertainty: float
    coverage_factor: float = 2.0

    def __post_init__(self) -> None:
        require_finite("relative_expanded_uncertainty", self.relative_expanded_uncertainty)
        require_finite("coverage_factor", self.coverage_factor, inclusive=False)


@dataclass(frozen=True, eq=False)
class LedPowerCurve:
    """Fitted P(I) of one wavelength.

    Attributes
    ----------
    coefficients : ndarray, shape (degree + 1,)
        c_0 (= 0) … c_d of P = Σ c_i I^i, W/mA^i.
    covariance : ndarray, shape (degree + 1, degree + 1)
        Covariance of the coefficients (row and column 0 are zero), W²/mA^(i+j).
    current_ma : ndarray, shape (points,)
        Calibration currents, mA.
    mean_power_w : ndarray, shape (points,)
        Mean reading per current, W.
    residuals_w : ndarray, shape (points,)
        Mean reading minus fit, W.
    """

    coefficients: NDArray[np.float64]
    covariance: NDArray[np.float64]
    current_ma: NDArray[np.float64]
    mean_power_w: NDArray[np.float64]
    residuals_w: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class LedPowerCalibration:
    """LED power curves per wavelength, traceable to `reference_detector`.

    Attributes
    ----------
    curves : dict of float to LedPowerCurve
        Wavelength, nm → fitted curve.
    reference_detector : ReferenceDetector
        The power meter used.
    point_results : tuple of Result
        Power at each calibration point with its budget (repeatability, certificate).
    """

    curves: dict[float, LedPowerCurve]
    reference_detector: ReferenceDetector
    point_results: tuple[Result, ...]

    @property
    def reference_detector_id(self) -> str:
        """Asset id of the reference detector."""
        return self.reference_detector.detector_id

    def power_w(self, wavelength_nm: float, current_ma: ArrayLike) -> NDArray[np.float64]:
        """Optical power, W, of the `wavelength_nm` LED at drive current(s) `current_ma` (mA).

        Raises
        ------
        ValueError
            Wavelength not calibrated, or a current outside 0 to the largest calibrated one.
        """
        curve = self._curve(wavelength_nm)
        current = np.asarray(current_ma, dtype=float)
        if np.any(current < 0.0) or np.any(current > curve.current_ma.max()):
            raise ValueError(
                f"current outside the calibrated 0-{curve.current_ma.max():g} mA "
                f"at {wavelength_nm:g} nm"
            )
        return np.polynomial.polynomial.polyval(current, curve.coefficients)

    def results(self) -> tuple[Result, ...]:
        """Calibration points, then the fit coefficients c_1 … c_d of each wavelength."""
        coefficients = tuple(
            single_component_result(
                f"LED {wavelength:g} nm coefficient c{i}",
                float(curve.coefficients[i]),
                f"W/mA^{i}",
                float(np.sqrt(curve.covariance[i, i])),
            )
            for wavelength, curve in self.curves.items()
            for i in range(1, curve.coefficients.size)
        )
        return self.point_results + coefficients

    def _curve(self, wavelength_nm: float) -> LedPowerCurve:
        try:
            return self.curves[float(wavelength_nm)]
        except KeyError:
            known = ", ".join(f"{w:g}" for w in self.curves)
            raise ValueError(f"no LED calibrated at {wavelength_nm:g} nm (have {known})") from None


def calibrate_led_power(
    sweeps: Sequence[LedSweep], reference_detector: ReferenceDetector, *, degree: int = 2
) -> LedPowerCalibration:
    """Fit P(I) per wavelength and build the calibration-point budgets.

    Parameters
    ----------
    sweeps : sequence of LedSweep
        One sweep per wavelength.
    reference_detector : ReferenceDetector
        Power meter and its certificate uncertainty.
    degree : int
        Polynomial degree d ≥ 1 of P(I) through the origin.

    Raises
    ------
    ValueError
        Duplicate wavelength, bad shapes, non-finite or non-positive values, fewer than two
        repeats, or not more currents than coefficients.
    """
    if degree < 1:
        raise ValueError(f"degree must be >= 1, got {degree}")
    curves: dict[float, LedPowerCurve] = {}
    point_results: list[Result] = []
    for sweep in sweeps:
        wavelength = float(sweep.wavelength_nm)
        if wavelength in curves:
            raise ValueError(f"two sweeps at {wavelength:g} nm")
        current, power = _checked(sweep, degree)
        curves[wavelength] = _fit_curve(current, power, degree)
        point_results.extend(
            _point_result(wavelength, i_ma, readings, reference_detector)
            for i_ma, readings in zip(current, power, strict=True)
        )
    return LedPowerCalibration(curves, reference_detector, tuple(point_results))


def _checked(sweep: LedSweep, degree: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    current = np.asarray(sweep.current_ma, dtype=float)
    power = np.asarray(sweep.power_w, dtype=float)
    where = f"sweep at {sweep.wavelength_nm:g} nm"
    if current.ndim != 1 or power.ndim != 2 or power.shape[0] != current.size:
        raise ValueError(
            f"{where}: need current_ma (points,) and power_w (points, repeats), got shapes "
            f"{current.shape}, {power.shape}"
        )
    if not (np.all(np.isfinite(current)) and np.all(np.isfinite(power))):
        raise ValueError(f"{where}: non-finite current or power")
    if np.any(current <= 0.0) or np.any(power <= 0.0):
        raise ValueError(f"{where}: currents and powers must be > 0")
    if power.shape[1] < 2:
        raise ValueError(f"{where}: need at least 2 repeats per current, got {power.shape[1]}")
    if current.size <= degree:
        raise ValueError(f"{where}: a degree-{degree} fit needs more than {degree} currents")
    return current, power


def _fit_curve(
    current_ma: NDArray[np.float64], power_w: NDArray[np.float64], degree: int
) -> LedPowerCurve:
    """Least squares of the mean readings on I, I², … (no constant term)."""
    mean_power = power_w.mean(axis=1)
    design = np.vander(current_ma, degree + 1, increasing=True)[:, 1:]
    fitted, *_ = np.linalg.lstsq(design, mean_power, rcond=None)
    residuals = mean_power - design @ fitted
    residual_variance = residuals @ residuals / (current_ma.size - degree)
    covariance = np.zeros((degree + 1, degree + 1))
    covariance[1:, 1:] = residual_variance * np.linalg.inv(design.T @ design)
    return LedPowerCurve(
        coefficients=np.concatenate([[0.0], fitted]),
        covariance=covariance,
        current_ma=current_ma,
        mean_power_w=mean_power,
        residuals_w=residuals,
    )


def _point_result(
    wavelength_nm: float,
    current_ma: float,
    readings_w: NDArray[np.float64],
    reference: ReferenceDetector,
) -> Result:
    repeatability = type_a("repeatability of readings", readings_w.tolist(), "W")
    certificate = type_b(
        f"reference detector {reference.detector_id} ({reference.certificate_id})",
        repeatability.estimate,
        reference.relative_expanded_uncertainty
        * repeatability.estimate
        / reference.coverage_factor,
        "W",
        distribution="normal",
    )
    return Result(
        f"LED {wavelength_nm:g} nm power at {current_ma:g} mA",
        repeatability.estimate,
        "W",
        Budget((repeatability, certificate)),
    )
