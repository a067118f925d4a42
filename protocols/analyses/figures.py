"""Figures of an analysis as the run's results hold them: rounded numbers, None for none."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from imaging.statistics import median_of_finite


def median_figure(values: ArrayLike, digits: int = 3) -> float | None:
    """Median of the finite values, rounded; None when none is finite."""
    median = median_of_finite(values)
    return round(median, digits) if math.isfinite(median) else None


def finite_figure(value: float, digits: int = 3) -> float | None:
    """``value`` rounded, or None when it is NaN or infinite."""
    return round(float(value), digits) if np.isfinite(value) else None
