"""Optical density and the modified Beer–Lambert law (continuous-wave NIRS).

Optical density is natural-log attenuation against a reference intensity,
ΔOD = -ln(I / I_ref), with I_ref the recording mean by default (as MNE's
``optical_density`` and Homer's ``hmrR_Intensity2OD``) or the mean over a baseline window.

The modified Beer–Lambert law relates ΔOD at wavelength λ to concentration changes:

    ΔOD(λ) = ln(10) [ε_HbO2(λ) ΔHbO2 + ε_Hb(λ) ΔHbR] · d · DPF(λ)

with ε the decadic molar extinction (Prahl, OMLC; ``imaging.chromophores``), d the
source–detector distance and DPF the differential pathlength factor. With two or more
wavelengths the 2×2 (or W×2, least-squares) system is solved per channel; distances enter
only as a per-channel scale, so one pseudo-inverse serves every channel.

Sources
-------
- D. T. Delpy et al., "Estimation of optical pathlength through tissue from direct time of
  flight measurement", Phys. Med. Biol. 33, 1433-1442 (1988) (modified Beer–Lambert law).
- F. Scholkmann and M. Wolf, "General equation for the differential pathlength factor of
  the frontal human head depending on wavelength and age", J. Biomed. Opt. 18, 105004 (2013).
- S. Prahl, "Tabulated molar extinction coefficient for hemoglobin in water", OMLC.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from imaging.chromophores import LN10, PER_CM_PER_M_TIMES_UM_TO_PER_MM, hemoglobin_extinction

# Scholkmann & Wolf (2013), eq. 3: DPF(λ, A) = α + β A^γ + δ λ³ + ε λ² + ζ λ.
_SW_ALPHA = 223.3
_SW_BETA = 0.05624
_SW_GAMMA = 0.8493
_SW_DELTA = -5.723e-7
_SW_EPSILON = 0.001245
_SW_ZETA = -0.9025
AGE_RANGE_YEARS = (0.0, 100.0)
BLOCK_SAMPLES = 1024  # time samples per block of `hemoglobin_changes` (cache-sized)


class IntensityError(ValueError):
    """An intensity or reference value that is not positive and finite, and where it is.

    Attributes
    ----------
    sample : int or None
        Time index of the value (None for the reference).
    channel, wavelength : int
        Channel and wavelength index of the value.
    value : float
        The offending value.
    """

    def __init__(self, sample: int | None, channel: int, wavelength: int, value: float) -> None:
        self.sample, self.channel, self.wavelength, self.value = (
            sample,
            channel,
            wavelength,
            value,
        )
        where = "reference" if sample is None else f"sample {sample}"
        super().__init__(
            f"{where}, channel {channel}, wavelength {wavelength}: intensity {value:g} is not "
            "positive and finite (optical density needs a positive, finite intensity)"
        )


MIN_WAVELENGTH_SEPARATION_NM = 1.0
"""Closest two wavelengths may be, nm: nearer ones make the 2-chromophore system singular."""


def _first_bad(values: NDArray[np.float64]) -> tuple[int, ...]:
    """Index of the first value that is not positive and finite."""
    bad = ~(np.isfinite(values) & (values > 0.0))
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), values.shape))


def optical_density(
    intensity: ArrayLike, reference: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Change of optical density, ΔOD = -ln(I / I_ref).

    Parameters
    ----------
    intensity : array_like, shape (T, ...)
        Detected intensity (any linear unit), time along axis 0; must be positive.
    reference : array_like, optional
        Reference intensity per channel, shaped like ``intensity[0]``; the mean over time by
        default (see :func:`baseline_reference` for a window).

    Returns
    -------
    ndarray, shape (T, ...)
        ΔOD, dimensionless (natural log).

    Raises
    ------
    ValueError
        If an intensity or reference value is not positive and finite.
    """
    values = np.asarray(intensity, dtype=float)
    if values.ndim < 1 or len(values) == 0:
        raise ValueError("intensity needs at least one sample along axis 0")
    ref = values.mean(axis=0) if reference is None else np.asarray(reference, dtype=float)
    if ref.shape != values.shape[1:]:
        raise ValueError(f"reference has shape {ref.shape}, expected {values.shape[1:]}")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.divide(values, ref)
        np.log(out, out=out)
    if not np.isfinite(out).all():
        raise ValueError("intensity and reference must be positive and finite for optical density")
    np.negative(out, out=out)
    optical_density: NDArray[np.float64] = out
    return optical_density


def baseline_reference(
    intensity: ArrayLike, time_s: ArrayLike, start_s: float, end_s: float
) -> NDArray[np.float64]:
    """Mean intensity over the baseline window start_s <= t < end_s.

    Parameters
    ----------
    intensity : array_like, shape (T, ...)
        Intensity, time along axis 0.
    time_s : array_like, shape (T,)
        Sample times, s.
    start_s, end_s : float
        Window, s.

    Returns
    -------
    ndarray, shape intensity.shape[1:]

    Raises
    ------
    ValueError
        If the window is empty or holds no sample.
    """
    time = np.asarray(time_s, dtype=float)
    if not end_s > start_s:
        raise ValueError(f"baseline window needs start < end, got {start_s:g}:{end_s:g} s")
    inside = (time >= start_s) & (time < end_s)
    if not np.any(inside):
        raise ValueError(
            f"baseline window {start_s:g}:{end_s:g} s holds no sample "
            f"(data span {time[0]:g}-{time[-1]:g} s)"
        )
    baseline: NDArray[np.float64] = np.asarray(intensity, dtype=float)[inside].mean(axis=0)
    return baseline


def dpf_from_age(age_years: float, wavelength_nm: ArrayLike) -> NDArray[np.float64]:
    """Differential pathlength factor of the adult/child frontal head (Scholkmann & Wolf 2013).

    DPF(λ, A) = 223.3 + 0.05624 A^0.8493 - 5.723e-7 λ³ + 0.001245 λ² - 0.9025 λ. The fit
    rests on data at 690-832 nm and ages 0-50 years; elsewhere it is an extrapolation.

    Parameters
    ----------
    age_years : float
        Age, years, 0-100.
    wavelength_nm : array_like
        Wavelengths, nm.

    Returns
    -------
    ndarray
        DPF, dimensionless, shaped like `wavelength_nm`.
    """
    low, high = AGE_RANGE_YEARS
    if not low <= age_years <= high:
        raise ValueError(f"age must lie in {low:g}-{high:g} years, got {age_years:g}")
    lam = np.asarray(wavelength_nm, dtype=float)
    dpf: NDArray[np.float64] = (
        _SW_ALPHA
        + _SW_BETA * age_years**_SW_GAMMA
        + _SW_DELTA * lam**3
        + _SW_EPSILON * lam**2
        + _SW_ZETA * lam
    )
    return dpf


def extinction_per_mm_per_um(wavelength_nm: ArrayLike) -> NDArray[np.float64]:
    """Natural-log absorption per mm per µM of HbO2 and Hb: ln(10) ε × 1e-7.

    Parameters
    ----------
    wavelength_nm : array_like, shape (W,)
        Wavelengths, nm (650-1000).

    Returns
    -------
    ndarray, shape (W, 2)
        Columns HbO2, Hb; mm⁻¹ µM⁻¹.
    """
    hbo2, hb = hemoglobin_extinction(np.atleast_1d(wavelength_nm))
    return LN10 * PER_CM_PER_M_TIMES_UM_TO_PER_MM * np.column_stack([hbo2, hb])


def _inverse_pathlength(
    wavelength_nm: ArrayLike, distance_mm: ArrayLike, dpf: ArrayLike, channels: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Checked distances (C,) and the (2, W) pseudo-inverse of ln(10) ε DPF (per mm)."""
    lam = np.atleast_1d(np.asarray(wavelength_nm, dtype=float))
    distance = np.atleast_1d(np.asarray(distance_mm, dtype=float))
    factor = np.broadcast_to(np.asarray(dpf, dtype=float), lam.shape)
    if len(lam) < 2:
        raise ValueError("the modified Beer–Lambert law needs at least two wavelengths")
    if not np.all(np.isfinite(lam)):
        raise ValueError(f"wavelengths must be finite numbers of nm, got {lam.tolist()}")
    if np.min(np.diff(np.sort(lam))) < MIN_WAVELENGTH_SEPARATION_NM:
        raise ValueError(
            "the modified Beer–Lambert law needs distinct wavelengths (at least "
            f"{MIN_WAVELENGTH_SEPARATION_NM:g} nm apart); got "
            + ", ".join(f"{w:g}" for w in lam)
            + " nm, a wavelength repeated (the HbO2/HbR system would be singular)"
        )
    if len(distance) != channels:
        raise ValueError(f"{len(distance)} distances given for {channels} channels")
    if not (np.all(distance > 0.0) and np.all(np.isfinite(distance))):
        raise ValueError("source–detector distances must be positive and finite (mm)")
    if not (np.all(factor > 0.0) and np.all(np.isfinite(factor))):
        raise ValueError("DPF must be positive and finite")
    return distance, np.linalg.pinv(extinction_per_mm_per_um(lam) * factor[:, np.newaxis])


def modified_beer_lambert(
    delta_od: ArrayLike,
    wavelength_nm: ArrayLike,
    distance_mm: ArrayLike,
    dpf: ArrayLike,
) -> NDArray[np.float64]:
    """Haemoglobin concentration changes from optical-density changes.

    Parameters
    ----------
    delta_od : array_like, shape (..., C, W)
        ΔOD (natural log) per channel and wavelength.
    wavelength_nm : array_like, shape (W,)
        Wavelengths, nm, at least two.
    distance_mm : array_like, shape (C,)
        Source–detector distance of each channel, mm, positive.
    dpf : float or array_like of shape (W,)
        Differential pathlength factor per wavelength.

    Returns
    -------
    ndarray, shape (..., C, 2)
        ΔHbO2 and ΔHbR, µM (least squares when W > 2).

    Raises
    ------
    ValueError
        If shapes disagree, fewer than two wavelengths, or a distance or DPF is not positive.
    """
    od = np.asarray(delta_od, dtype=float)
    count = len(np.atleast_1d(wavelength_nm))
    if od.ndim < 2 or od.shape[-1] != count:
        raise ValueError(f"delta_od has shape {od.shape}, expected (..., channels, {count})")
    distance, inverse = _inverse_pathlength(wavelength_nm, distance_mm, dpf, od.shape[-2])
    concentration = (od.reshape(-1, count) @ inverse.T).reshape(*od.shape[:-1], 2)
    concentration /= distance[:, np.newaxis]
    return concentration


def hemoglobin_changes(
    intensity: ArrayLike,
    wavelength_nm: ArrayLike,
    distance_mm: ArrayLike,
    dpf: ArrayLike,
    reference: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """ΔHbO2 and ΔHbR from intensities: optical density and the modified Beer–Lambert law.

    Equal to ``modified_beer_lambert(optical_density(intensity, reference), ...)``, computed
    block-wise over time in log space, ΔHb = P (ln I_ref - ln I) / d, so that each block stays
    in cache and no ΔOD array is kept.

    Parameters
    ----------
    intensity : array_like, shape (T, C, W)
        Intensity per time, channel and wavelength, positive.
    wavelength_nm, distance_mm, dpf
        As :func:`modified_beer_lambert`.
    reference : array_like of shape (C, W), optional
        Reference intensity; the mean over time by default (see :func:`baseline_reference`).

    Returns
    -------
    ndarray, shape (T, C, 2)
        ΔHbO2 and ΔHbR, µM.

    Raises
    ------
    ValueError
        As :func:`modified_beer_lambert`.
    IntensityError
        If an intensity or reference value is not positive and finite; it names the sample,
        channel and wavelength index.
    """
    values = np.asarray(intensity, dtype=float)
    if values.ndim != 3 or len(values) == 0:
        raise ValueError(f"intensity has shape {values.shape}, expected (T, C, W) with T >= 1")
    samples, channels, count = values.shape
    if count != len(np.atleast_1d(wavelength_nm)):
        raise ValueError(f"intensity has {count} wavelengths, {np.size(wavelength_nm)} given")
    distance, inverse = _inverse_pathlength(wavelength_nm, distance_mm, dpf, channels)
    ref = values.mean(axis=0) if reference is None else np.asarray(reference, dtype=float)
    if ref.shape != (channels, count):
        raise ValueError(f"reference has shape {ref.shape}, expected {(channels, count)}")
    scale = 1.0 / distance[:, np.newaxis]
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = (np.log(ref) * scale) @ inverse.T  # (C, 2)
    if not np.isfinite(offset).all():
        channel, wavelength = _first_bad(ref)
        raise IntensityError(None, channel, wavelength, float(ref[channel, wavelength]))
    out = np.empty((samples, channels, 2))
    block = np.empty((min(samples, BLOCK_SAMPLES), channels, count))
    for start in range(0, samples, BLOCK_SAMPLES):
        chunk = values[start : start + BLOCK_SAMPLES]
        logs = block[: len(chunk)]
        with np.errstate(divide="ignore", invalid="ignore"):
            np.log(chunk, out=logs)
        if not np.isfinite(logs).all():
            sample, channel, wavelength = _first_bad(chunk)
            value = float(chunk[sample, channel, wavelength])
            raise IntensityError(start + sample, channel, wavelength, value)
        logs *= scale
        target = out[start : start + BLOCK_SAMPLES]
        np.matmul(logs.reshape(-1, count), inverse.T, out=target.reshape(-1, 2))
        np.subtract(offset, target, out=target)
    return out
