"""Summary statistics that ignore withheld values (NaN) and non-finite ones.

Analyses withhold a value they cannot trust as NaN (a second without accepted beats, a map
pixel below the signal floor). A summary over such values uses the finite ones only, and is
NaN when there are none — unlike :func:`numpy.nanmedian`, which keeps ±inf and warns on an
all-NaN input.

Examples
--------
>>> import numpy as np
>>> median_of_finite(np.array([97.0, np.nan, 95.0, np.inf, 99.0]))
97.0
>>> finite_range(np.array([[np.nan, 2.0], [5.0, -np.inf]]))
(2.0, 5.0)
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["finite_range", "median_of_finite"]


def median_of_finite(values: ArrayLike) -> float:
    """Median of the finite elements of ``values`` (any shape), NaN when there are none.

    Parameters
    ----------
    values : array_like
        Values in any unit; NaN and ±inf are left out.

    Returns
    -------
    float
        The median, in the unit of ``values``.
    """
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    return float(np.median(finite)) if finite.size else math.nan


def finite_range(values: ArrayLike, empty: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float]:
    """Smallest and largest finite element of ``values``; ``empty`` when there is none.

    Parameters
    ----------
    values : array_like
        Values in any unit (e.g. a map with withheld pixels); NaN and ±inf are left out.
    empty : tuple of float
        What to return when no element is finite.
    """
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    return (float(finite.min()), float(finite.max())) if finite.size else empty
