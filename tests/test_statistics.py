"""Summaries over the finite values of arrays with withheld (NaN) and infinite elements."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from imaging.statistics import finite_range, median_of_finite


def test_median_leaves_out_nan_and_infinite_values():
    values = np.array([[97.0, np.nan], [np.inf, 95.0], [-np.inf, 99.0]])
    assert median_of_finite(values) == pytest.approx(97.0)


def test_median_of_nothing_finite_is_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(median_of_finite(np.full(4, np.nan)))
        assert math.isnan(median_of_finite([]))


def test_finite_range_and_its_empty_default():
    assert finite_range([np.nan, 3.0, -1.0, np.inf]) == pytest.approx((-1.0, 3.0))
    assert finite_range([np.nan]) == (0.0, 1.0)
    assert finite_range([np.nan], empty=(5.0, 6.0)) == (5.0, 6.0)
