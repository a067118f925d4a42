"""SpO2 calibration curve (ratio of ratios R → SpO2) from a controlled-desaturation study.

The curve is the least-squares polynomial SpO2 = Σ a_i R^i (degree 1 or 2). Its accuracy
follows ISO 80601-2-61 over the points whose co-oximetry SaO2 lies in 70-100 %:
Arms = sqrt(mean((SpO2_i − SaO2_i)²)), bias = mean difference, precision = SD of the
differences (n − 1). Study-size shortfalls against the FDA guidance (≥ 200 points from
≥ 10 subjects) and points outside 70-100 % are reported in ``warnings``, not raised.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.uncertainty import Budget, Component, Result, single_component_result

MIN_POINTS = 200
"""Data points the FDA guidance asks for."""
MIN_SUBJECTS = 10
"""Subjects the FDA guidance asks for."""
SAO2_RANGE_PERCENT = (70.0, 100.0)
"""SaO2 range over which ISO 80601-2-61 states the accuracy, %."""
SUPPORTED_DEGREES = (1, 2)


@dataclass(frozen=True, eq=False)
class Spo2CurveCalibration:
    """Fitted R → SpO2 curve and its ISO 80601-2-61 accuracy.

    Attributes
    ----------
    coefficients : ndarray, shape (degree + 1,)
        a_0 … a_d of SpO2 = Σ a_i R^i, % (per R^i).
    covariance : ndarray, shape (degree + 1, degree + 1)
        Covariance of the coefficients, %².
    arms_percent, bias_percent, precision_percent : float
        Accuracy root mean square, mean and SD of SpO2 − SaO2 over the in-range points, %.
    points : int
        Data points with SaO2 in 70-100 % (those the accuracy is stated over).
    subjects : int
        Distinct subjects among those points.
    sao2_range_percent : tuple of float
        (min, max) SaO2 of all points, %.
    points_outside_range : int
        Points with SaO2 outside 70-100 % (fitted, not in the accuracy statistics).
    study_id : str
        Identifier of the desaturation study.
    warnings : tuple of str
        Study-size shortfalls and out-of-range points.
    """

    coefficients: NDArray[np.float64]
    covariance: NDArray[np.float64]
    arms_percent: float
    bias_percent: float
    precision_percent: float
    points: int
    subjects: int
    sao2_range_percent: tuple[float, float]
    points_outside_range: int
    study_id: str
    warnings: tuple[str, ...]

    @property
    def degree(self) -> int:
        """Polynomial degree of the curve."""
        return self.coefficients.size - 1

    def evaluate(self, ratio: ArrayLike) -> NDArray[np.float64]:
        """SpO2, %, at ratio(s) of ratios `ratio` (any shape)."""
        return np.polynomial.polynomial.polyval(np.asarray(ratio, dtype=float), self.coefficients)

    def results(self) -> tuple[Result, ...]:
        """Coefficients (fit covariance) and Arms, bias, precision, each with its budget.

        The accuracy figures carry their sampling (Type A) uncertainty for normally
        distributed differences d of mean μ and SD σ over n points: u(bias) = σ/√n,
        u(precision) = σ/√(2(n − 1)), u(Arms) = √((2σ⁴ + 4μ²σ²)/n) / (2 Arms). Points are
        treated as independent (no allowance for clustering by subject).
        """
        coefficients = tuple(
            single_component_result(
                f"SpO2 curve coefficient a{i}", float(value), "%", float(np.sqrt(variance))
            )
            for i, (value, variance) in enumerate(
                zip(self.coefficients, np.diag(self.covariance), strict=True)
            )
        )
        n, bias, sd = self.points, self.bias_percent, self.precision_percent
        u_mean_square = np.sqrt((2.0 * sd**4 + 4.0 * bias**2 * sd**2) / n)
        bias_component = Component(
            "mean of SpO2 − SaO2 (statistical)",
            bias,
            sd / np.sqrt(n),
            "%",
            1.0,
            "A",
            "normal",
            n - 1,
        )
        accuracy = (
            single_component_result(
                "SpO2 accuracy Arms",
                self.arms_percent,
                "%",
                u_mean_square / (2 * self.arms_percent),
            ),
            Result("SpO2 bias", bias, "%", Budget((bias_component,))),
            single_component_result("SpO2 precision", sd, "%", sd / np.sqrt(2.0 * (n - 1))),
        )
        return coefficients + accuracy


def fit_spo2_curve(
    ratio: ArrayLike,
    sao2_percent: ArrayLike,
    subject_ids: ArrayLike,
    *,
    degree: int,
    study_id: str,
) -> Spo2CurveCalibration:
    """Fit SpO2 = Σ a_i R^i to paired (R, SaO2) data and state its accuracy.

    Parameters
    ----------
    ratio : array_like, shape (n,)
        Ratio of ratios R per data point (dimensionless).
    sao2_percent : array_like, shape (n,)
        Reference SaO2 from co-oximetry, %.
    subject_ids : array_like, shape (n,)
        Subject of each data point (any hashable labels).
    degree : {1, 2}
        Polynomial degree.
    study_id : str
        Identifier of the desaturation study.

    Raises
    ------
    ValueError
        Unsupported degree, mismatched lengths, non-finite values, too few points for the
        fit, or fewer than two in-range points for the accuracy statistics.
    """
    r, sao2, subjects = _checked_study(ratio, sao2_percent, subject_ids, degree)
    parameters = degree + 1
    design = np.vander(r, parameters, increasing=True)
    coefficients, *_ = np.linalg.lstsq(design, sao2, rcond=None)
    residual_variance = np.sum((sao2 - design @ coefficients) ** 2) / (r.size - parameters)
    covariance = residual_variance * np.linalg.inv(design.T @ design)

    low, high = SAO2_RANGE_PERCENT
    in_range = (sao2 >= low) & (sao2 <= high)
    if np.count_nonzero(in_range) < 2:
        raise ValueError(f"need at least 2 points with SaO2 in {low:g}-{high:g} %")
    differences = np.polynomial.polynomial.polyval(r[in_range], coefficients) - sao2[in_range]
    points = differences.size
    subject_count = np.unique(subjects[in_range]).size
    outside = r.size - points

    warnings = []
    if points < MIN_POINTS:
        warnings.append(f"{points} data points in range, fewer than {MIN_POINTS}")
    if subject_count < MIN_SUBJECTS:
        warnings.append(f"{subject_count} subjects, fewer than {MIN_SUBJECTS}")
    if outside:
        warnings.append(f"{outside} points with SaO2 outside {low:g}-{high:g} %")

    return Spo2CurveCalibration(
        coefficients=np.asarray(coefficients, dtype=np.float64),
        covariance=covariance,
        arms_percent=float(np.sqrt(np.mean(differences**2))),
        bias_percent=float(np.mean(differences)),
        precision_percent=float(np.std(differences, ddof=1)),
        points=points,
        subjects=subject_count,
        sao2_range_percent=(float(sao2.min()), float(sao2.max())),
        points_outside_range=outside,
        study_id=study_id,
        warnings=tuple(warnings),
    )


def _checked_study(
    ratio: ArrayLike, sao2_percent: ArrayLike, subject_ids: ArrayLike, degree: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[Any]]:
    """Study data as arrays, checked as :func:`fit_spo2_curve` documents."""
    if degree not in SUPPORTED_DEGREES:
        raise ValueError(f"degree must be one of {SUPPORTED_DEGREES}, got {degree}")
    r = np.asarray(ratio, dtype=float)
    sao2 = np.asarray(sao2_percent, dtype=float)
    subjects = np.asarray(subject_ids)
    if not r.ndim == sao2.ndim == subjects.ndim == 1 or not r.size == sao2.size == subjects.size:
        raise ValueError(
            "ratio, sao2_percent and subject_ids must be 1-D of equal length, got shapes "
            f"{r.shape}, {sao2.shape}, {subjects.shape}"
        )
    for name, values in (("ratio", r), ("sao2_percent", sao2)):
        if not np.all(np.isfinite(values)):
            raise ValueError(
                f"{name} has {np.count_nonzero(~np.isfinite(values))} non-finite values"
            )
    if r.size <= degree + 1:
        raise ValueError(f"a degree-{degree} fit needs more than {degree + 1} points, got {r.size}")
    return r, sao2, subjects
