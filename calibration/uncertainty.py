"""Measurement uncertainty after the GUM (JCGM 100:2008): budgets, combination, expansion.

A :class:`Budget` lists the input quantities of one result with their standard uncertainties,
sensitivity coefficients, kind of evaluation (Type A: statistics of repeated observations;
Type B: certificates, resolution, drift …) and degrees of freedom. It combines them
(uncorrelated inputs) into the combined standard uncertainty, the effective degrees of freedom
(Welch–Satterthwaite) and the expanded uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Evaluation = Literal["A", "B"]
Distribution = Literal["normal", "rectangular", "triangular", "u-shaped"]

DIVISORS: dict[str, float] = {
    "normal": 1.0,
    "rectangular": math.sqrt(3.0),
    "triangular": math.sqrt(6.0),
    "u-shaped": math.sqrt(2.0),
}
COVERAGE_PROBABILITY = 0.9545


def require_finite(
    name: str, value: float, *, minimum: float = 0.0, inclusive: bool = True
) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is finite and ≥ (or >) ``minimum``."""
    above = value >= minimum if inclusive else value > minimum
    if not (math.isfinite(value) and above):
        bound = f"{'≥' if inclusive else '>'} {minimum:g}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


@dataclass(frozen=True)
class Component:
    """One input quantity of an uncertainty budget.

    Attributes
    ----------
    name : str
        What the input is (e.g. "reference power meter calibration").
    estimate : float
        Its value, in ``unit``.
    standard_uncertainty : float
        u(x_i), in ``unit``.
    unit : str
        Unit of the input quantity.
    sensitivity : float
        c_i = ∂y/∂x_i, in result unit per input unit.
    evaluation : {"A", "B"}
        Type A (statistical) or Type B (other means).
    distribution : str
        Distribution assumed for the input.
    degrees_of_freedom : float
        ν_i; ``math.inf`` for Type B inputs known exactly enough.
    """

    name: str
    estimate: float
    standard_uncertainty: float
    unit: str
    sensitivity: float = 1.0
    evaluation: Evaluation = "B"
    distribution: Distribution = "normal"
    degrees_of_freedom: float = math.inf

    @property
    def contribution(self) -> float:
        """|c_i|·u(x_i), in the result's unit."""
        return abs(self.sensitivity) * self.standard_uncertainty


def type_a(
    name: str, observations: list[float] | tuple[float, ...], unit: str, sensitivity: float = 1.0
) -> Component:
    """Type A component from repeated observations: mean, s/√n, ν = n − 1."""
    count = len(observations)
    if count < 2:
        raise ValueError(f"{name}: a Type A evaluation needs at least 2 observations")
    mean = math.fsum(observations) / count
    spread = math.sqrt(math.fsum((x - mean) ** 2 for x in observations) / (count - 1))
    return Component(
        name, mean, spread / math.sqrt(count), unit, sensitivity, "A", "normal", count - 1
    )


def type_b(
    name: str,
    estimate: float,
    half_width: float,
    unit: str,
    distribution: Distribution = "rectangular",
    sensitivity: float = 1.0,
) -> Component:
    """Type B component from a bound ±``half_width`` and an assumed distribution.

    For ``normal``, ``half_width`` is the standard uncertainty itself (e.g. U/k of a certificate).
    """
    return Component(
        name, estimate, half_width / DIVISORS[distribution], unit, sensitivity, "B", distribution
    )


@dataclass(frozen=True)
class Budget:
    """Uncertainty budget of one result (uncorrelated inputs).

    Attributes
    ----------
    components : tuple of Component
        The inputs.
    coverage_factor : float or None
        k of the expanded uncertainty; ``None`` chooses it from ν_eff for 95.45 % coverage.
    """

    components: tuple[Component, ...] = field(default_factory=tuple)
    coverage_factor: float | None = 2.0

    @property
    def combined_standard_uncertainty(self) -> float:
        """u_c = sqrt(Σ c_i² u_i²)."""
        return math.sqrt(math.fsum(c.contribution**2 for c in self.components))

    @property
    def effective_degrees_of_freedom(self) -> float:
        """ν_eff after Welch–Satterthwaite."""
        u_c = self.combined_standard_uncertainty
        denominator = math.fsum(
            c.contribution**4 / c.degrees_of_freedom
            for c in self.components
            if math.isfinite(c.degrees_of_freedom) and c.contribution > 0
        )
        return math.inf if denominator == 0 else u_c**4 / denominator

    @property
    def k(self) -> float:
        """The coverage factor used."""
        if self.coverage_factor is not None:
            return self.coverage_factor
        dof = self.effective_degrees_of_freedom
        if math.isinf(dof):
            return 2.0
        from scipy import stats  # imported here: scipy.stats costs every CLI command ~1 s

        return float(stats.t.ppf(0.5 + COVERAGE_PROBABILITY / 2, dof))

    @property
    def expanded_uncertainty(self) -> float:
        """U = k·u_c."""
        return self.k * self.combined_standard_uncertainty


@dataclass(frozen=True)
class Result:
    """A calibration result: value, unit and its uncertainty budget.

    Attributes
    ----------
    name : str
        Quantity (e.g. "responsivity at 850 nm").
    value : float
        Best estimate, in ``unit``.
    unit : str
        Unit of the value.
    budget : Budget
        How its uncertainty arises.
    """

    name: str
    value: float
    unit: str
    budget: Budget

    @property
    def standard_uncertainty(self) -> float:
        """u_c, in ``unit``."""
        return self.budget.combined_standard_uncertainty

    @property
    def expanded_uncertainty(self) -> float:
        """U = k·u_c, in ``unit``."""
        return self.budget.expanded_uncertainty

    @property
    def coverage_factor(self) -> float:
        """k."""
        return self.budget.k


def single_component_result(
    name: str, value: float, unit: str, standard_uncertainty: float, evaluation: Evaluation = "A"
) -> Result:
    """A result whose whole uncertainty is one evaluated component (e.g. a fit's covariance)."""
    component = Component(
        f"{name} ({'statistical' if evaluation == 'A' else 'estimated'})",
        value,
        standard_uncertainty,
        unit,
        evaluation=evaluation,
    )
    return Result(name, value, unit, Budget((component,)))
