"""Homogeneous background optical properties fitted to a baseline measurement.

ln I(s, d) = ln K + ln F(s, d; μa, μs') is fitted by nonlinear least squares (Levenberg–
Marquardt on log-parameters) to the baseline intensities of one wavelength, with F the slab
model of `imaging.dot_forward` and K an unknown common coupling factor (source power, detector
gain and units). Continuous-wave data constrain μa much better than μs' (the decay over
separation mostly fixes μ_eff = √(3 μa μs')), so μs' should be given when it is known. When
μa is given instead, μs' is fitted with μa held at that value (fitting both and keeping only
μs' would pair a μs' that belongs to a different μa with the given one).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from imaging.dot_forward import cw_measurements

INITIAL_MUA_PER_MM = 0.01
INITIAL_MUSP_PER_MM = 1.0


def fit_background_optics(
    sources_mm: ArrayLike,
    detectors_mm: ArrayLike,
    source_index: ArrayLike,
    detector_index: ArrayLike,
    intensity: ArrayLike,
    thickness_mm: float,
    musp_per_mm: float | None = None,
    n_tissue: float = 1.4,
    mua_per_mm: float | None = None,
) -> tuple[float, float]:
    """μa and μs' of a homogeneous slab from CW intensities in arbitrary units.

    Parameters
    ----------
    sources_mm, detectors_mm : array_like
        (S, 3) and (D, 3) probe positions on the slab faces, mm.
    source_index, detector_index : array_like
        (M,) 0-based probe indices of each measurement (one wavelength).
    intensity : array_like
        (M,) positive baseline intensities, any unit.
    thickness_mm : float
        Slab thickness, mm.
    musp_per_mm : float, optional
        Known μs', mm⁻¹; fitted when omitted.
    n_tissue : float
        Refractive index of the tissue.
    mua_per_mm : float, optional
        Known μa, mm⁻¹; fitted when omitted. μa and μs' cannot both be given.

    Returns
    -------
    (mua_per_mm, musp_per_mm) : tuple of float

    Raises
    ------
    ValueError
        If the intensities are not positive, the separations do not vary, both optical
        properties are given, or the fit fails.
    """
    if mua_per_mm is not None and musp_per_mm is not None:
        raise ValueError("μa and μs' are both given: there is nothing to fit")
    measured = np.asarray(intensity, dtype=float)
    if measured.ndim != 1 or not np.all(np.isfinite(measured) & (measured > 0)):
        raise ValueError("baseline intensities must be finite and positive to fit μa and μs'")
    s_idx = np.asarray(source_index)
    d_idx = np.asarray(detector_index)
    separation = np.linalg.norm(
        np.asarray(sources_mm, float)[s_idx] - np.asarray(detectors_mm, float)[d_idx], axis=1
    )
    if np.ptp(separation) < 1.0:
        raise ValueError("fitting background optics needs source-detector separations that vary")
    log_measured = np.log(measured)

    def optics(p: np.ndarray) -> tuple[float, float]:
        free = iter(np.exp(p))
        mua = float(mua_per_mm) if mua_per_mm is not None else float(next(free))
        musp = float(musp_per_mm) if musp_per_mm is not None else float(next(free))
        return mua, musp

    def residual(p: np.ndarray) -> np.ndarray:
        mua, musp = optics(p)
        model = cw_measurements(
            sources_mm, detectors_mm, s_idx, d_idx, mua, musp, thickness_mm, n_tissue
        )
        log_model = np.log(np.clip(model, 1e-300, None))
        offset = np.mean(log_measured - log_model)  # ln K eliminated in closed form
        residual: NDArray[np.float64] = log_measured - log_model - offset
        return residual

    start = []
    if mua_per_mm is None:
        start.append(np.log(INITIAL_MUA_PER_MM))
    if musp_per_mm is None:
        start.append(np.log(INITIAL_MUSP_PER_MM))
    fit = least_squares(residual, start, method="lm")
    mua, musp = optics(fit.x)
    if not fit.success or not (1e-5 < mua < 1.0 and 0.01 < musp < 10.0):
        raise ValueError(
            f"background fit failed (μa {mua:.3g}, μs' {musp:.3g} mm⁻¹); give --mua/--musp"
        )
    return mua, musp
