"""EMVA 1288 (release 4.0) characterisation of a linear image sensor from photon-transfer data.

Pure functions on numpy arrays (frames in DN, photons per pixel, exposure times in s) and
`characterize`, which chains them into an `Emva1288Result`. Standard uncertainties come from
least-squares fits (residual scatter), sampling statistics of spatial variances and the step
spacing of the photon-transfer series; they are propagated to first order with correlations
between inputs neglected. The photon counts are taken as exact (the radiometer's uncertainty
is not part of the dataset).
"""

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.photon_transfer import PhotonTransferData

QUANTIZATION_VARIANCE_DN2 = 1.0 / 12.0
"""Variance of uniform quantisation with a 1 DN step, DN²."""
SENSITIVITY_FIT_MAX_FRACTION = 0.7
"""Upper end of the K and R fits, fraction of the saturation signal (EMVA 1288)."""
LINEARITY_RANGE_FRACTIONS = (0.05, 0.95)
"""Signal range of the linearity error, fractions of the saturation signal (EMVA 1288)."""
HOT_PIXEL_ROBUST_SIGMAS = 6.0
"""A pixel is hot when its mean dark signal exceeds the median by this many robust sigmas."""
DEAD_PIXEL_RESPONSE_FRACTION = 0.5
"""A pixel is dead when its photo-response is below this fraction of the median response."""
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Measurement:
    """A value with its standard uncertainty (k = 1) and unit."""

    value: float
    uncertainty: float
    unit: str

    def to_json_dict(self) -> dict[str, float | str]:
        """``{"value", "uncertainty", "unit"}``."""
        return {"value": self.value, "uncertainty": self.uncertainty, "unit": self.unit}


@dataclass(frozen=True)
class LineFit:
    """Least-squares line y = slope·x + intercept with standard uncertainties."""

    slope: float
    intercept: float
    slope_uncertainty: float
    intercept_uncertainty: float


@dataclass(frozen=True)
class Emva1288Result:
    """EMVA 1288 figures of one sensor; see ``docs/emva1288.md`` for methods and thresholds.

    Hot and dead pixels are (row, col) tuples; DSNU and PRNU exclude them. The temporal dark
    noise in DN, ``dark_noise_dn``, is the standard's σ_y.dark: the measured dark noise,
    quantisation noise included; ``dark_noise_e`` is σ_d = √(σ²_y.dark − 1/12) / K in e⁻, and
    ``dark_noise_without_quantisation_dn`` the same σ_d in DN (K·σ_d).
    """

    system_gain_dn_per_e: Measurement
    quantum_efficiency_percent: Measurement
    responsivity_dn_per_photon: Measurement
    dark_noise_e: Measurement
    dark_noise_dn: Measurement
    dark_noise_without_quantisation_dn: Measurement
    dark_current_e_per_s: Measurement
    dark_current_from_variance_e_per_s: Measurement
    saturation_capacity_e: Measurement
    absolute_sensitivity_threshold_photons: Measurement
    snr_max_db: Measurement
    dynamic_range_db: Measurement
    linearity_error_min_percent: float
    linearity_error_max_percent: float
    dsnu_e: Measurement
    prnu_percent: Measurement
    hot_pixels: tuple[tuple[int, int], ...]
    dead_pixels: tuple[tuple[int, int], ...]
    doubling_temperature_c: Measurement | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready figures: measurements as dicts, pixels as [row, col] lists."""
        result: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Measurement):
                result[field.name] = value.to_json_dict()
            elif isinstance(value, tuple):
                result[field.name] = [list(pixel) for pixel in value]
            elif value is not None:
                result[field.name] = float(value)
        return result


def temporal_mean_and_variance(
    frame_pairs: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Spatial mean and temporal variance per step from frame pairs (EMVA 1288 eq. 31-32).

    Parameters
    ----------
    frame_pairs : array_like, shape (steps, 2, H, W)
        Two frames per step, DN.

    Returns
    -------
    mean : ndarray, shape (steps,)
        μ_y, DN.
    variance : ndarray, shape (steps,)
        σ²_y = ⟨((y_A − μ_A) − (y_B − μ_B))²⟩ / 2, DN².
    """
    frames = np.asarray(frame_pairs, dtype=float)
    frame_means = frames.mean(axis=(-2, -1), keepdims=True)
    difference = np.diff(frames - frame_means, axis=1)[:, 0]
    return frames.mean(axis=(1, 2, 3)), 0.5 * (difference**2).mean(axis=(-2, -1))


def saturation_index(variance_dn2: ArrayLike) -> int:
    """Index of the step at the maximum temporal variance (the EMVA 1288 saturation point)."""
    return int(np.argmax(np.asarray(variance_dn2)))


def signal_range(
    signal_dn: ArrayLike, saturation: int, low_fraction: float, high_fraction: float
) -> NDArray[np.bool_]:
    """Steps up to saturation whose signal lies within fractions of the saturation signal.

    Parameters
    ----------
    signal_dn : array_like, shape (steps,)
        Dark-subtracted mean signal μ_y − μ_y.dark, DN.
    saturation : int
        Index of the saturation step.
    low_fraction, high_fraction : float
        Inclusive bounds, fractions of ``signal_dn[saturation]``.
    """
    signal = np.asarray(signal_dn, dtype=float)
    level = signal[saturation]
    up_to_saturation = np.arange(signal.size) <= saturation
    inside = (signal >= low_fraction * level) & (signal <= high_fraction * level)
    usable: NDArray[np.bool_] = up_to_saturation & inside
    return usable


def fit_line(x: ArrayLike, y: ArrayLike, *, through_origin: bool = False) -> LineFit:
    """Unweighted least-squares line with heteroscedasticity-consistent uncertainties.

    The covariance is the HC1 sandwich estimate, (XᵀX)⁻¹ Xᵀ diag(r²) X (XᵀX)⁻¹ · n/(n − p),
    because the scatter of photon-transfer points grows with the signal. With
    ``through_origin`` the intercept is fixed at 0 (uncertainty 0).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    design = x[:, None] if through_origin else np.column_stack([x, np.ones_like(x)])
    parameters = design.shape[1]
    if x.size <= parameters:
        raise ValueError(f"need more than {parameters} points for a line fit, got {x.size}")
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    residuals = y - design @ coefficients
    bread = np.linalg.inv(design.T @ design)
    meat = (design * residuals[:, None] ** 2).T @ design
    covariance = bread @ meat @ bread * x.size / (x.size - parameters)
    errors = np.sqrt(np.diag(covariance))
    if through_origin:
        return LineFit(float(coefficients[0]), 0.0, float(errors[0]), 0.0)
    return LineFit(*(float(c) for c in coefficients), *(float(e) for e in errors))


def linearity_error_percent(
    photons: ArrayLike, signal_dn: ArrayLike, in_range: ArrayLike
) -> tuple[float, float]:
    """Min and max linearity error, %, of signal vs photons (EMVA 1288 eq. 50-52).

    The line is fitted with weights 1/signal (relative deviations) over `in_range`; the
    errors are 100·(signal − fit)/fit over the same steps.
    """
    photons, signal = np.asarray(photons, dtype=float), np.asarray(signal_dn, dtype=float)
    mask = np.asarray(in_range, dtype=bool)
    x, y = photons[mask], signal[mask]
    slope, intercept = np.polynomial.polynomial.polyfit(x, y, 1, w=1.0 / y)[::-1]
    fitted = slope * x + intercept
    deviation = 100.0 * (y - fitted) / fitted
    return float(deviation.min()), float(deviation.max())


def spatial_variance(
    frames: ArrayLike, pixels: ArrayLike | None = None
) -> tuple[NDArray[np.float64], float, float]:
    """Per-pixel mean image and its spatial variance corrected for temporal noise.

    Parameters
    ----------
    frames : array_like, shape (L, H, W)
        Frame stack, DN.
    pixels : array_like of bool, shape (H, W), optional
        Pixels to include; all by default.

    Returns
    -------
    mean_image : ndarray, shape (H, W)
        Per-pixel average over the L frames, DN.
    variance_dn2 : float
        s²_y = spatial variance of the mean image − σ²_temporal / L (EMVA 1288 eq. 41), DN².
    measured_variance_dn2 : float
        Spatial variance of the mean image before the correction, DN².
    """
    stack = np.asarray(frames, dtype=float)
    mean_image = stack.mean(axis=0)
    mask = np.ones(mean_image.shape, bool) if pixels is None else np.asarray(pixels, bool)
    temporal_variance = stack[:, mask].var(axis=0, ddof=1).mean()
    measured = float(mean_image[mask].var(ddof=1))
    return mean_image, measured - temporal_variance / stack.shape[0], measured


def hot_pixel_map(dark_mean_image: ArrayLike) -> NDArray[np.bool_]:
    """Pixels whose mean dark signal exceeds the median by `HOT_PIXEL_ROBUST_SIGMAS` robust σ.

    The robust σ is 1.4826 × the median absolute deviation of the dark image (DSNU plus the
    remaining temporal noise), so a few hot pixels do not mask each other.
    """
    image = np.asarray(dark_mean_image, dtype=float)
    median = np.median(image)
    robust_sigma = _MAD_TO_SIGMA * np.median(np.abs(image - median))
    hot: NDArray[np.bool_] = image > median + HOT_PIXEL_ROBUST_SIGMAS * robust_sigma
    return hot


def dead_pixel_map(response_image_dn: ArrayLike) -> NDArray[np.bool_]:
    """Pixels whose photo-response is below `DEAD_PIXEL_RESPONSE_FRACTION` of the median.

    Parameters
    ----------
    response_image_dn : array_like, shape (H, W)
        Mean bright minus mean dark image, DN.
    """
    response = np.asarray(response_image_dn, dtype=float)
    dead: NDArray[np.bool_] = response < DEAD_PIXEL_RESPONSE_FRACTION * np.median(response)
    return dead


def doubling_temperature(temperature_c: ArrayLike, dark_current_e_per_s: ArrayLike) -> Measurement:
    """Temperature rise that doubles the dark current, °C, from a fit of log2 I vs T.

    Raises
    ------
    ValueError
        Fewer than three temperatures, or a dark current <= 0.
    """
    temperatures = np.asarray(temperature_c, dtype=float)
    current = np.asarray(dark_current_e_per_s, dtype=float)
    if temperatures.size < 3 or np.any(current <= 0.0):
        raise ValueError("need dark currents > 0 at three or more temperatures")
    fit = fit_line(temperatures, np.log2(current))
    value = 1.0 / fit.slope
    return Measurement(value, abs(value) * fit.slope_uncertainty / abs(fit.slope), "°C")


def _relative(*value_uncertainty: tuple[float, float]) -> float:
    """Root-sum-square of relative uncertainties u/x."""
    return float(np.sqrt(sum((u / x) ** 2 for x, u in value_uncertainty)))


def _saturation_photon_uncertainty(
    photons: NDArray[np.float64], variance_dn2: NDArray[np.float64], saturation: int, pixels: int
) -> float:
    """Standard uncertainty of the photons at the variance maximum, photons.

    Rectangular over the steps whose variance is within the sampling uncertainty
    √(2/N) of the maximum (N pixels), and at least ± half the step spacing.
    """
    peak = variance_dn2[saturation]
    candidates = photons[variance_dn2 >= peak * (1.0 - np.sqrt(2.0 / pixels))]
    neighbours = photons[[max(saturation - 1, 0), min(saturation + 1, photons.size - 1)]]
    half_width = max(np.ptp(candidates), np.ptp(neighbours) / 2.0) / 2.0
    return float(half_width / np.sqrt(3.0))


def _pixel_list(pixel_map: NDArray[np.bool_]) -> tuple[tuple[int, int], ...]:
    """(row, col) of the True pixels, in row-major order."""
    return tuple((row, col) for row, col in np.argwhere(pixel_map).tolist())


def _decibels(ratio: float, relative_uncertainty: float) -> Measurement:
    return Measurement(20.0 * np.log10(ratio), 20.0 / np.log(10.0) * relative_uncertainty, "dB")


def _doubling_temperature(
    data: PhotonTransferData, dark_mean_fit: LineFit, k: float
) -> Measurement:
    """Doubling temperature from the dark-current stacks, °C.

    The dark current at each temperature is (mean dark signal − offset) / (K t), with the
    offset taken as the zero-exposure intercept of the temporal dark series (assumed
    independent of temperature); its uncertainty is propagated by finite difference.
    """
    temperatures_c, dark_frames, exposure_s = data.dark_current_series()
    frames = np.asarray(dark_frames, dtype=float)
    dark_signal_dn = frames.mean(axis=(1, 2, 3))
    charge_per_dn = 1.0 / (k * float(exposure_s))

    def at_offset(offset_dn: float) -> Measurement:
        current = (dark_signal_dn - offset_dn) * charge_per_dn
        return doubling_temperature(temperatures_c, current)

    nominal = at_offset(dark_mean_fit.intercept)
    shifted = at_offset(dark_mean_fit.intercept + dark_mean_fit.intercept_uncertainty)
    uncertainty = float(np.hypot(nominal.uncertainty, shifted.value - nominal.value))
    return Measurement(nominal.value, uncertainty, "°C")


def _spatial_figures(
    data: PhotonTransferData, k: float, u_k: float
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], Measurement, Measurement]:
    """Hot and dead pixels, DSNU (e⁻) and PRNU (%) of the spatial series, the defect pixels
    left out of the non-uniformities; ``k`` is the system gain (DN/e⁻) and ``u_k`` its
    uncertainty."""
    dark_image, _, _ = spatial_variance(data.spatial_dark)
    bright_image, _, _ = spatial_variance(data.spatial_bright)
    hot = hot_pixel_map(dark_image)
    dead = dead_pixel_map(bright_image - dark_image)
    normal = ~(hot | dead)
    pixel_count = int(normal.sum())
    _, dark_spatial, dark_measured = spatial_variance(data.spatial_dark, normal)
    _, bright_spatial, bright_measured = spatial_variance(data.spatial_bright, normal)
    # Sampling variance of a spatial variance estimate: 2 s⁴ / (N - 1).
    u_dark_spatial = dark_measured * np.sqrt(2.0 / (pixel_count - 1))
    u_bright_spatial = bright_measured * np.sqrt(2.0 / (pixel_count - 1))
    dsnu_e = np.sqrt(dark_spatial) / k
    u_dsnu_rel = _relative((2.0 * dark_spatial, u_dark_spatial), (k, u_k))
    photo_spatial = bright_spatial - dark_spatial
    spatial_signal = float(bright_image[normal].mean() - dark_image[normal].mean())
    prnu = 100.0 * np.sqrt(photo_spatial) / spatial_signal
    u_prnu_rel = np.hypot(u_bright_spatial, u_dark_spatial) / (2.0 * photo_spatial)
    return (
        hot,
        dead,
        Measurement(dsnu_e, dsnu_e * u_dsnu_rel, "e⁻"),
        Measurement(prnu, prnu * u_prnu_rel, "%"),
    )


def characterize(data: PhotonTransferData) -> Emva1288Result:
    """All EMVA 1288 figures of `data`; see ``docs/emva1288.md``."""
    exposure_s = np.asarray(data.exposure_s, dtype=float)
    photons = np.asarray(data.photons_per_pixel, dtype=float)
    bright_mean, bright_variance = temporal_mean_and_variance(data.temporal_bright)
    dark_mean, dark_variance = temporal_mean_and_variance(data.temporal_dark)
    signal = bright_mean - dark_mean
    photon_variance = bright_variance - dark_variance

    saturation = saturation_index(bright_variance)
    sensitivity = signal_range(signal, saturation, 0.0, SENSITIVITY_FIT_MAX_FRACTION)
    gain = fit_line(signal[sensitivity], photon_variance[sensitivity], through_origin=True)
    k, u_k = gain.slope, gain.slope_uncertainty
    response = fit_line(photons[sensitivity], signal[sensitivity], through_origin=True)
    r, u_r = response.slope, response.slope_uncertainty
    eta = r / k
    u_eta_rel = _relative((r, u_r), (k, u_k))

    dark_variance_fit = fit_line(exposure_s, dark_variance)
    dark_variance_dn2 = dark_variance_fit.intercept
    sigma_y_dark = np.sqrt(dark_variance_dn2)
    u_sigma_y_dark = dark_variance_fit.intercept_uncertainty / (2.0 * sigma_y_dark)
    read_variance_dn2 = dark_variance_dn2 - QUANTIZATION_VARIANCE_DN2
    sigma_d_dn = np.sqrt(read_variance_dn2)
    u_sigma_d_dn = dark_variance_fit.intercept_uncertainty / (2.0 * sigma_d_dn)
    sigma_d_e = sigma_d_dn / k

    dark_mean_fit = fit_line(exposure_s, dark_mean)
    dark_current = dark_mean_fit.slope / k
    dark_current_var = dark_variance_fit.slope / k**2

    saturation_photons = photons[saturation]
    u_saturation_photons = _saturation_photon_uncertainty(
        photons, bright_variance, saturation, data.temporal_bright[0, 0].size
    )
    saturation_rel = _relative((saturation_photons, u_saturation_photons))
    saturation_e = eta * saturation_photons
    u_saturation_e_rel = float(np.hypot(u_eta_rel, saturation_rel))

    threshold_e = sigma_y_dark / k + 0.5
    u_threshold_e = np.hypot(u_sigma_y_dark / k, sigma_y_dark * u_k / k**2)
    threshold_photons = threshold_e / eta
    u_threshold_rel = float(np.hypot(u_threshold_e / threshold_e, u_eta_rel))

    linearity = signal_range(signal, saturation, *LINEARITY_RANGE_FRACTIONS)
    linearity_min, linearity_max = linearity_error_percent(photons, signal, linearity)

    hot, dead, dsnu, prnu = _spatial_figures(data, k, u_k)
    doubling = None
    if data.has_dark_current_series:
        doubling = _doubling_temperature(data, dark_mean_fit, k)

    return Emva1288Result(
        system_gain_dn_per_e=Measurement(k, u_k, "DN/e⁻"),
        quantum_efficiency_percent=Measurement(100.0 * eta, 100.0 * eta * u_eta_rel, "%"),
        responsivity_dn_per_photon=Measurement(r, u_r, "DN/photon"),
        dark_noise_e=Measurement(
            sigma_d_e, sigma_d_e * _relative((sigma_d_dn, u_sigma_d_dn), (k, u_k)), "e⁻"
        ),
        dark_noise_dn=Measurement(float(sigma_y_dark), float(u_sigma_y_dark), "DN"),
        dark_noise_without_quantisation_dn=Measurement(
            float(sigma_d_dn), float(u_sigma_d_dn), "DN"
        ),
        dark_current_e_per_s=Measurement(
            dark_current,
            abs(dark_current)
            * _relative((dark_mean_fit.slope, dark_mean_fit.slope_uncertainty), (k, u_k)),
            "e⁻/s",
        ),
        dark_current_from_variance_e_per_s=Measurement(
            dark_current_var,
            abs(dark_current_var)
            * _relative(
                (dark_variance_fit.slope, dark_variance_fit.slope_uncertainty),
                (k, 2.0 * u_k),  # I = slope / K², so u(K) counts twice
            ),
            "e⁻/s",
        ),
        saturation_capacity_e=Measurement(saturation_e, saturation_e * u_saturation_e_rel, "e⁻"),
        absolute_sensitivity_threshold_photons=Measurement(
            threshold_photons, threshold_photons * u_threshold_rel, "photons"
        ),
        snr_max_db=Measurement(
            10.0 * np.log10(saturation_e), 10.0 / np.log(10.0) * u_saturation_e_rel, "dB"
        ),
        dynamic_range_db=_decibels(
            saturation_photons / threshold_photons, float(np.hypot(saturation_rel, u_threshold_rel))
        ),
        linearity_error_min_percent=linearity_min,
        linearity_error_max_percent=linearity_max,
        dsnu_e=dsnu,
        prnu_percent=prnu,
        hot_pixels=_pixel_list(hot),
        dead_pixels=_pixel_list(dead),
        doubling_temperature_c=doubling,
    )
