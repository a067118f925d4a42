"""Curves from the ratio of ratios R to SpO2.

Every curve is a rational function SpO2 = 100 · P(R) / Q(R) (%, clipped to 0-100 %), which
covers the three kinds in use:

- the textbook empirical line for 660/940 nm, SpO2 = 110 − 25 R;
- the Beer–Lambert curve for any wavelength pair with equal path lengths at both wavelengths:
  R = (ε_HbO2,r S + ε_Hb,r (1 − S)) / (ε_HbO2,ir S + ε_Hb,ir (1 − S)), solved for S,
  S = (ε_Hb,r − R ε_Hb,ir) / ((ε_Hb,r − ε_HbO2,r) + R (ε_HbO2,ir − ε_Hb,ir)),
  with Prahl's tabulated molar extinction coefficients (`imaging.chromophores`);
- a polynomial SpO2 = Σ a_i R^i (from ``--curve`` or a calibration record).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imaging.chromophores import hemoglobin_extinction

EMPIRICAL_PAIR_NM = (660.0, 940.0)
"""Wavelength pair of the textbook empirical line, nm."""
EMPIRICAL_LINE = (110.0, -25.0)
"""Coefficients (a_0, a_1) of SpO2 = a_0 + a_1 R, %."""
PAIR_TOLERANCE_NM = 5.0
"""Largest difference between a curve's wavelengths and the signals', nm."""

_TERM = re.compile(
    r"\s*([+-])?\s*(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)?\s*\*?\s*"
    r"(R(?:\s*(?:\^|\*\*)\s*(\d+))?)?\s*"
)


@dataclass(frozen=True)
class SpO2Curve:
    """SpO2 (%) = 100 · P(R) / Q(R), clipped to 0-100 %.

    Attributes
    ----------
    numerator, denominator : tuple of float
        Ascending coefficients of P and Q.
    pair_nm : tuple of float or None
        (red, infrared) wavelengths the curve belongs to, nm; None for a curve that applies to
        whichever pair is analysed.
    description : str
        Where the curve comes from, for reports.
    """

    numerator: tuple[float, ...]
    denominator: tuple[float, ...]
    pair_nm: tuple[float, float] | None
    description: str

    def __post_init__(self) -> None:
        if not self.numerator or not self.denominator:
            raise ValueError("an SpO2 curve needs numerator and denominator coefficients")
        if not all(np.isfinite(self.numerator)) or not all(np.isfinite(self.denominator)):
            raise ValueError("SpO2 curve coefficients must be finite")

    def spo2_percent(self, ratio: ArrayLike) -> NDArray[np.float64]:
        """SpO2, %, at ratio(s) of ratios `ratio` (NaN stays NaN)."""
        r = np.asarray(ratio, dtype=float)
        top = np.polynomial.polynomial.polyval(r, self.numerator)
        bottom = np.polynomial.polynomial.polyval(r, self.denominator)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = 100.0 * top / bottom
        spo2: NDArray[np.float64] = np.clip(value, 0.0, 100.0)
        return spo2

    def check_pair(self, red_nm: float, infrared_nm: float) -> None:
        """Raise ValueError if the curve belongs to another wavelength pair."""
        if self.pair_nm is None:
            return
        red, infrared = self.pair_nm
        if abs(red - red_nm) > PAIR_TOLERANCE_NM or abs(infrared - infrared_nm) > PAIR_TOLERANCE_NM:
            raise ValueError(
                f"the SpO2 curve ({self.description}) is for {red:g}/{infrared:g} nm, "
                f"the signals are {red_nm:g}/{infrared_nm:g} nm"
            )


def polynomial_curve(
    coefficients: ArrayLike, pair_nm: tuple[float, float] | None = None, description: str = ""
) -> SpO2Curve:
    """SpO2 = Σ a_i R^i (%).

    Parameters
    ----------
    coefficients : array_like
        a_0 … a_d, % per R^i.
    pair_nm : tuple of float, optional
        (red, infrared) wavelengths the curve belongs to, nm.
    description : str
        Origin of the curve.
    """
    values = tuple(float(a) / 100.0 for a in np.atleast_1d(np.asarray(coefficients, dtype=float)))
    text = description or "SpO2 = " + polynomial_text(np.asarray(values) * 100.0)
    return SpO2Curve(values, (1.0,), pair_nm, text)


def polynomial_text(coefficients: ArrayLike) -> str:
    """Human form of Σ a_i R^i, e.g. ``110 - 25 R``."""
    terms: list[str] = []
    for power, value in enumerate(np.asarray(coefficients, dtype=float)):
        if value == 0.0 and power:
            continue
        magnitude = f"{abs(value):.6g}" + (
            "" if power == 0 else " R" if power == 1 else f" R^{power}"
        )
        if terms:
            terms.append(("- " if value < 0 else "+ ") + magnitude)
        else:
            terms.append(("-" if value < 0 else "") + magnitude)
    return " ".join(terms)


def empirical_line() -> SpO2Curve:
    """The textbook 660/940 nm line SpO2 = 110 − 25 R (%)."""
    return polynomial_curve(
        EMPIRICAL_LINE, EMPIRICAL_PAIR_NM, "empirical 660/940 nm line SpO2 = 110 - 25 R"
    )


def beer_lambert_curve(red_nm: float, infrared_nm: float) -> SpO2Curve:
    """The curve of the Beer–Lambert law with equal path lengths (Prahl's extinction).

    Parameters
    ----------
    red_nm, infrared_nm : float
        Wavelengths, nm, within the extinction table (650-1000 nm).
    """
    (oxy_red, oxy_ir), (deoxy_red, deoxy_ir) = (
        np.asarray(e, dtype=float) for e in hemoglobin_extinction([red_nm, infrared_nm])
    )
    return SpO2Curve(
        (float(deoxy_red), -float(deoxy_ir)),
        (float(deoxy_red - oxy_red), float(oxy_ir - deoxy_ir)),
        (float(red_nm), float(infrared_nm)),
        f"Beer-Lambert {red_nm:g}/{infrared_nm:g} nm, Prahl extinction, equal path lengths",
    )


def default_curve(red_nm: float, infrared_nm: float) -> SpO2Curve:
    """The empirical line for 660/940 nm (±5 nm), the Beer–Lambert curve otherwise."""
    red, infrared = EMPIRICAL_PAIR_NM
    if abs(red_nm - red) <= PAIR_TOLERANCE_NM and abs(infrared_nm - infrared) <= PAIR_TOLERANCE_NM:
        return empirical_line()
    return beer_lambert_curve(red_nm, infrared_nm)


def calibrated_curve(
    coefficients: ArrayLike, pair_nm: tuple[float, float] | None, source: str
) -> SpO2Curve:
    """The curve of an SpO2-curve calibration: SpO2 = Σ a_i R^i (%).

    Parameters
    ----------
    coefficients : array_like
        a_0 … a_d of the fitted polynomial, % per R^i.
    pair_nm : tuple of float or None
        (red, infrared) wavelengths of the study, nm; None when the record predates storing
        them (the curve then serves any pair).
    source : str
        The calibration record or study it comes from, for reports.
    """
    values = np.asarray(coefficients, dtype=float)
    origin = f"calibration {source}".rstrip()
    return polynomial_curve(values, pair_nm, f"{origin}: SpO2 = {polynomial_text(values)}")


class CurveCoefficients(Protocol):
    """Anything with the ascending coefficients a_0 … a_d of SpO2 = Σ a_i R^i, %."""

    @property
    def coefficients(self) -> ArrayLike:
        """a_0 … a_d, %."""


def curve_from_calibration(
    calibration: CurveCoefficients, pair_nm: tuple[float, float] | None = None
) -> SpO2Curve:
    """The curve of an SpO2-curve calibration (`calibration.spo2_curve.Spo2CurveCalibration`).

    Parameters
    ----------
    calibration : CurveCoefficients
        Anything with ``coefficients`` (a_0 … a_d, %) and ``study_id``.
    pair_nm : tuple of float, optional
        (red, infrared) wavelengths of the study, nm.
    """
    coefficients = np.asarray(calibration.coefficients, dtype=float)
    return calibrated_curve(coefficients, pair_nm, str(getattr(calibration, "study_id", "")))


def curve_arrays(curve: SpO2Curve) -> dict[str, NDArray[np.float64]]:
    """The curve as arrays (``curve_numerator``, ``curve_denominator``, ``curve_pair_nm`` when
    it has a pair), for storing beside the results it produced."""
    arrays = {
        "curve_numerator": np.asarray(curve.numerator, dtype=float),
        "curve_denominator": np.asarray(curve.denominator, dtype=float),
    }
    if curve.pair_nm is not None:
        arrays["curve_pair_nm"] = np.asarray(curve.pair_nm, dtype=float)
    return arrays


def curve_from_arrays(
    arrays: Mapping[str, ArrayLike],
    applied_pair_nm: Sequence[float] | None,
    description: str,
) -> SpO2Curve:
    """The curve :func:`curve_arrays` stored.

    Parameters
    ----------
    arrays : mapping
        ``curve_numerator``, ``curve_denominator`` and optionally ``curve_pair_nm``.
    applied_pair_nm : sequence of float or None
        The pair the curve was applied to, nm: the curve's pair when it stored none.
    description : str
        Where the curve comes from, for reports.
    """
    pair = arrays.get("curve_pair_nm", applied_pair_nm)
    return SpO2Curve(
        tuple(float(a) for a in np.atleast_1d(np.asarray(arrays["curve_numerator"], dtype=float))),
        tuple(
            float(a) for a in np.atleast_1d(np.asarray(arrays["curve_denominator"], dtype=float))
        ),
        None if pair is None else (float(np.ravel(pair)[0]), float(np.ravel(pair)[1])),
        description,
    )


def parse_polynomial(text: str) -> NDArray[np.float64]:
    """Coefficients a_0 … a_d of a polynomial in R.

    Accepts a comma-separated list of ascending coefficients (``110,-25``) or an expression in
    R (``110 - 25R``, ``-16.7*R^2 - 8.3 R + 112``).

    Raises
    ------
    ValueError
        Naming the part of `text` that is not a polynomial in R.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty SpO2 curve")
    if "," in stripped or "R" not in stripped.upper():
        try:
            values = np.array([float(part) for part in stripped.split(",")])
        except ValueError:
            raise ValueError(
                f"SpO2 curve {text!r} is neither coefficients a0,a1,… nor a polynomial in R"
            ) from None
        if not np.all(np.isfinite(values)):
            raise ValueError(f"SpO2 curve {text!r} has non-finite coefficients")
        return values
    expression = stripped.upper()
    coefficients: dict[int, float] = {}
    position = 0
    while position < len(expression):
        match = _TERM.match(expression, position)
        if match is None or match.end() == position or not (match.group(2) or match.group(3)):
            raise ValueError(f"SpO2 curve {text!r}: cannot read {expression[position:]!r}")
        if position and match.group(1) is None:
            raise ValueError(f"SpO2 curve {text!r}: missing + or - before {match.group(0)!r}")
        sign = -1.0 if match.group(1) == "-" else 1.0
        value = float(match.group(2)) if match.group(2) else 1.0
        power = (int(match.group(4)) if match.group(4) else 1) if match.group(3) else 0
        coefficients[power] = coefficients.get(power, 0.0) + sign * value
        position = match.end()
    result = np.zeros(max(coefficients) + 1)
    for power, value in coefficients.items():
        result[power] = value
    return result
