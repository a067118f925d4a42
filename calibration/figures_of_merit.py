"""Photodetector figures of merit with GUM uncertainty budgets, from measurement arrays.

Pure functions: arrays of readings in, :class:`~calibration.uncertainty.Result` out (value,
unit and a budget whose components keep their Type A/B evaluation). A result derived from
other results carries their components forward with chained sensitivity coefficients, and one
input quantity that enters twice (e.g. the TIA gain in both noise and responsivity, which
cancels in the NEP) is merged into one component, as it is fully correlated with itself.

Currents are signed anode → cathode, A; a photocurrent is the magnitude of light − dark at the
same bias and temperature. Noise densities are one-sided. Areas are in cm².
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from calibration.uncertainty import Budget, Component, Result, type_a, type_b

ELEMENTARY_CHARGE_C = 1.602176634e-19
BOLTZMANN_J_PER_K = 1.380649e-23
HC_OVER_Q_NM_V = 1239.841984
ENBW_TIMES_TAU = {6: 1.0 / 4.0, 12: 1.0 / 8.0, 18: 3.0 / 32.0, 24: 5.0 / 64.0}
DETECTIVITY_DISAGREEMENT_FACTOR = 10.0
ROOM_TEMPERATURE_DETECTIVITY_LIMIT_JONES = 1e14
ROOM_TEMPERATURE_RANGE_C = (15.0, 35.0)
NEP_UNITS = ("W/√Hz", "W")


@dataclass(frozen=True)
class Detectivity:
    """Specific detectivity from the measured noise and the shot-noise-only shortcut.

    Attributes
    ----------
    measured : Result
        D* = R·sqrt(A)/i_n with the measured noise density, Jones (the figure to report).
    shot_noise_limit : Result
        D* with i_n replaced by sqrt(2 q |I_d|) (+ Johnson noise of R_sh if given), Jones; an
        upper bound only.
    warnings : tuple of str
        Set when the two differ by more than ``DETECTIVITY_DISAGREEMENT_FACTOR``.
    """

    measured: Result
    shot_noise_limit: Result
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class LinearDynamicRange:
    """Linear dynamic range of a power sweep.

    Attributes
    ----------
    result : Result
        LDR = 20·log10(P_upper/P_lower), dB.
    lower_power_w, upper_power_w : float
        Lowest and highest measured points of the linear region, W.
    fit_range_w : tuple of float
        Power range the proportional fit I = R·P used, W.
    criterion_relative : float
        Largest |I/(R·P) − 1| a point may show and still count as linear.
    slope_a_per_w : float
        Fitted R, A/W.
    relative_deviation : ndarray
        I/(R·P) − 1 of every point.
    upper_limit_found : bool
        False when the highest measured point is still linear (the LDR is then a lower bound).
    """

    result: Result
    lower_power_w: float
    upper_power_w: float
    fit_range_w: tuple[float, float]
    criterion_relative: float
    slope_a_per_w: float
    relative_deviation: np.ndarray
    upper_limit_found: bool


@dataclass(frozen=True)
class CutoffFrequency:
    """−3 dB bandwidth of a modulation-frequency sweep.

    Attributes
    ----------
    result : Result
        f_3dB, Hz.
    method : str
        How it was obtained.
    relative_response : ndarray
        Amplitude relative to the lowest frequency of the sweep.
    """

    result: Result
    method: str
    relative_response: np.ndarray


def equivalent_noise_bandwidth_hz(time_constant_s: float, slope_db_per_oct: int) -> float:
    """ENBW of a lock-in output filter, Hz: 1/(4τ), 1/(8τ), 3/(32τ), 5/(64τ) for 6…24 dB/oct."""
    if slope_db_per_oct not in ENBW_TIMES_TAU:
        raise ValueError(f"filter slope {slope_db_per_oct} dB/oct not one of (6, 12, 18, 24)")
    if not time_constant_s > 0:
        raise ValueError(f"time constant must be > 0 s, got {time_constant_s}")
    return ENBW_TIMES_TAU[slope_db_per_oct] / time_constant_s


def mean_current(name: str, current_a: ArrayLike, *, meter_relative_u: float = 0.0) -> Result:
    """Mean of repeated current readings, A (Type A spread, Type B meter gain)."""
    readings = _samples(current_a, name)
    mean = float(np.mean(readings))
    components = [type_a(f"{name}: repeatability", readings.tolist(), "A")]
    if meter_relative_u:
        components.append(_relative_b(f"{name}: current meter gain", mean, meter_relative_u, "A"))
    return Result(name, mean, "A", Budget(tuple(components)))


def photocurrent(
    light_current_a: ArrayLike, dark_current_a: ArrayLike, *, meter_relative_u: float = 0.0
) -> Result:
    """Photocurrent I_ph = |mean(light) − mean(dark)|, A (same bias and temperature).

    Parameters
    ----------
    light_current_a, dark_current_a : array_like
        Repeated current readings with the light on and off, A.
    meter_relative_u : float
        Relative standard uncertainty of the current meter's gain (Type B).
    """
    light = _samples(light_current_a, "light current")
    dark = _samples(dark_current_a, "dark current")
    difference = float(np.mean(light) - np.mean(dark))
    sign = 1.0 if difference >= 0 else -1.0
    components = [
        type_a("light current repeatability", light.tolist(), "A", sign),
        type_a("dark current repeatability", dark.tolist(), "A", -sign),
    ]
    if meter_relative_u:
        components.append(_relative_b("current meter gain", abs(difference), meter_relative_u, "A"))
    return Result("photocurrent", abs(difference), "A", Budget(tuple(components)))


def photocurrent_from_lockin(
    r_v_rms: ArrayLike,
    *,
    tia_gain_v_per_a: float,
    tia_gain_relative_u: float,
    modulation_depth: float,
    modulation_depth_relative_u: float = 0.0,
) -> Result:
    """Mean photocurrent from the lock-in amplitude at the TIA output, A.

    I_ph = sqrt(2)·R_rms/(G_TIA·m): the peak photocurrent at the modulation frequency divided
    by the modulation depth m of the light, i.e. the mean photocurrent the same light would
    give if the detector responded at that frequency as at DC.
    """
    amplitude = _samples(r_v_rms, "lock-in amplitude")
    scale = math.sqrt(2.0) / (tia_gain_v_per_a * modulation_depth)
    value = scale * float(np.mean(amplitude))
    components = [
        type_a("lock-in amplitude repeatability", amplitude.tolist(), "V", scale),
        _relative_b(
            "TIA gain", tia_gain_v_per_a, tia_gain_relative_u, "V/A", -value / tia_gain_v_per_a
        ),
    ]
    if modulation_depth_relative_u:
        components.append(
            _relative_b(
                "modulation depth",
                modulation_depth,
                modulation_depth_relative_u,
                "1",
                -value / modulation_depth,
            )
        )
    return Result("photocurrent (lock-in)", value, "A", Budget(tuple(components)))


def responsivity(
    photocurrent_a: Result,
    reference_power_w: ArrayLike,
    *,
    wavelength_nm: float,
    power_meter_relative_u: float,
    split_ratio: float = 1.0,
    split_ratio_relative_u: float = 0.0,
) -> Result:
    """Responsivity R(λ) = I_ph / P_opt, A/W, with P_opt = mean(P_ref) / split_ratio.

    Parameters
    ----------
    photocurrent_a : Result
        Photocurrent, A (:func:`photocurrent` or :func:`photocurrent_from_lockin`).
    reference_power_w : array_like
        Repeated readings of the reference power meter, W (Type A repeatability).
    wavelength_nm : float
        Wavelength, nm.
    power_meter_relative_u : float
        Relative standard uncertainty from the power meter's certificate (Type B, U/k).
    split_ratio : float
        P_ref / P_opt of the beam splitter (1 when the meter is at the device position).
    split_ratio_relative_u : float
        Its relative standard uncertainty (Type B).
    """
    powers = _samples(reference_power_w, "reference power")
    reference = Result(
        "reference power",
        float(np.mean(powers)),
        "W",
        Budget(
            (
                type_a("power meter repeatability", powers.tolist(), "W"),
                _relative_b(
                    "power meter calibration (certificate)",
                    float(np.mean(powers)),
                    power_meter_relative_u,
                    "W",
                ),
            )
        ),
    )
    split = _stated("beam splitter ratio P_ref/P_opt", split_ratio, split_ratio_relative_u, "1")
    return _product(
        f"responsivity at {wavelength_nm:g} nm",
        "A/W",
        ((photocurrent_a, 1.0), (reference, -1.0), (split, 1.0)),
    )


def external_quantum_efficiency(responsivity_a_per_w: Result, wavelength_nm: float) -> Result:
    """EQE = R·h·c/(q·λ) = R[A/W]·1239.84/λ[nm], in %."""
    factor = 100.0 * HC_OVER_Q_NM_V / wavelength_nm
    return _product(
        f"external quantum efficiency at {wavelength_nm:g} nm",
        "%",
        ((responsivity_a_per_w, 1.0),),
        factor,
    )


def dark_current_density(
    dark_current_a: Result, area_cm2: float, area_relative_u: float = 0.0
) -> Result:
    """J_d = |I_d| / A, A/cm², with the device area ``area_cm2`` (cm²) stated."""
    area = _stated("device area", area_cm2, area_relative_u, "cm²")
    magnitude = _product(
        "|dark current|", "A", ((dark_current_a, 1.0),), math.copysign(1.0, dark_current_a.value)
    )
    return _product(
        f"dark current density (A = {area_cm2:g} cm²)", "A/cm²", ((magnitude, 1.0), (area, -1.0))
    )


def noise_current_density(
    x_v: ArrayLike,
    y_v: ArrayLike,
    *,
    tia_gain_v_per_a: float,
    tia_gain_relative_u: float,
    time_constant_s: float,
    slope_db_per_oct: int,
    frequency_hz: float,
    enbw_relative_u: float = 0.0,
) -> Result:
    """Noise current spectral density i_n = σ / (G_TIA·sqrt(ENBW)), A/√Hz.

    σ is the pooled standard deviation of the lock-in X and Y outputs (V RMS) taken in the
    dark; the samples must be spaced far enough apart (≳ 5 τ) to be independent.

    Parameters
    ----------
    x_v, y_v : array_like
        Lock-in X and Y samples, V.
    tia_gain_v_per_a, tia_gain_relative_u : float
        Transimpedance gain at ``frequency_hz``, V/A, and its relative standard uncertainty.
    time_constant_s, slope_db_per_oct : float, int
        Lock-in output filter, s and dB/oct (give the ENBW).
    frequency_hz : float
        Reference frequency, Hz (named in the result).
    enbw_relative_u : float
        Relative standard uncertainty of the ENBW (time-constant accuracy, Type B).
    """
    x = _samples(x_v, "lock-in X")
    y = _samples(y_v, "lock-in Y")
    degrees_of_freedom = x.size + y.size - 2
    sigma = math.sqrt(
        (np.sum((x - x.mean()) ** 2) + np.sum((y - y.mean()) ** 2)) / degrees_of_freedom
    )
    spread = Result(
        "lock-in output noise",
        sigma,
        "V",
        Budget(
            (
                Component(
                    "lock-in X/Y sample spread",
                    sigma,
                    sigma / math.sqrt(2.0 * degrees_of_freedom),
                    "V",
                    evaluation="A",
                    degrees_of_freedom=degrees_of_freedom,
                ),
            )
        ),
    )
    enbw = equivalent_noise_bandwidth_hz(time_constant_s, slope_db_per_oct)
    return _product(
        f"noise current density at {frequency_hz:g} Hz",
        "A/√Hz",
        (
            (spread, 1.0),
            (_stated("TIA gain", tia_gain_v_per_a, tia_gain_relative_u, "V/A"), -1.0),
            (_stated("lock-in ENBW", enbw, enbw_relative_u, "Hz"), -0.5),
        ),
    )


def noise_equivalent_power(noise_a_per_rthz: Result, responsivity_a_per_w: Result) -> Result:
    """NEP = i_n / R at the same frequency and bias, W/√Hz."""
    return _product(
        f"NEP ({noise_a_per_rthz.name}; {responsivity_a_per_w.name})",
        "W/√Hz",
        ((noise_a_per_rthz, 1.0), (responsivity_a_per_w, -1.0)),
    )


def shot_noise_density(
    dark_current_a: Result,
    *,
    shunt_resistance_ohm: float | None = None,
    temperature_c: float = 25.0,
) -> Result:
    """Theoretical white-noise floor sqrt(2 q |I_d| [+ 4 k T / R_sh]), A/√Hz (a bound only)."""
    shot = 2.0 * ELEMENTARY_CHARGE_C * abs(dark_current_a.value)
    thermal = (
        0.0
        if shunt_resistance_ohm is None
        else 4.0 * BOLTZMANN_J_PER_K * (temperature_c + 273.15) / shunt_resistance_ohm
    )
    value = math.sqrt(shot + thermal)
    # d(value)/d|I_d| = q / value; the Johnson term is taken as exact.
    sensitivity = math.copysign(ELEMENTARY_CHARGE_C / value, dark_current_a.value)
    components = tuple(
        replace(c, sensitivity=c.sensitivity * sensitivity)
        for c in dark_current_a.budget.components
    )
    label = "shot" if shunt_resistance_ohm is None else "shot + Johnson"
    return Result(f"{label} noise density (theoretical floor)", value, "A/√Hz", Budget(components))


def specific_detectivity(
    responsivity_a_per_w: Result,
    noise_a_per_rthz: Result,
    dark_current_a: Result,
    *,
    area_cm2: float,
    area_relative_u: float = 0.0,
    shunt_resistance_ohm: float | None = None,
    temperature_c: float = 25.0,
) -> Detectivity:
    """D* = R·sqrt(A)/i_n (Jones) from the measured noise, and the shot-noise-only shortcut.

    The shortcut replaces i_n by :func:`shot_noise_density`; it ignores 1/f, g-r and amplifier
    noise and is reported only to show how far it overstates D*.
    """
    area = _stated("device area", area_cm2, area_relative_u, "cm²")
    measured = _product(
        "D* from measured noise",
        "Jones",
        ((responsivity_a_per_w, 1.0), (area, 0.5), (noise_a_per_rthz, -1.0)),
    )
    floor = shot_noise_density(
        dark_current_a, shunt_resistance_ohm=shunt_resistance_ohm, temperature_c=temperature_c
    )
    shortcut = _product(
        f"D* from {floor.name.split(' (')[0]} only (upper bound, not a measurement)",
        "Jones",
        ((responsivity_a_per_w, 1.0), (area, 0.5), (floor, -1.0)),
    )
    ratio = shortcut.value / measured.value
    warnings: tuple[str, ...] = ()
    if not 1.0 / DETECTIVITY_DISAGREEMENT_FACTOR <= ratio <= DETECTIVITY_DISAGREEMENT_FACTOR:
        warnings = (
            f"shot-noise-only D* differs from measured D* by {ratio:.3g}×: the noise is not "
            "shot-limited; report the measured D*",
        )
    return Detectivity(measured, shortcut, warnings)


def linear_dynamic_range(
    power_w: ArrayLike,
    photocurrent_a: ArrayLike,
    *,
    fit_range_w: tuple[float, float],
    criterion_relative: float = 0.05,
    power_standard_uncertainty_w: ArrayLike | None = None,
    readings_per_point: int = 2,
) -> LinearDynamicRange:
    """LDR = 20·log10(P_upper/P_lower), dB, from a power sweep.

    A proportional fit I = R·P (geometric mean of I/P) over ``fit_range_w`` sets R; a point is
    linear when |I/(R·P) − 1| ≤ ``criterion_relative``. The linear region is the run of
    contiguous linear points (in order of power) around the fit range; P_lower and P_upper are
    its lowest and highest *measured* points.

    Parameters
    ----------
    power_w, photocurrent_a : array_like
        Optical power on the device, W, and photocurrent, A, per sweep point.
    fit_range_w : tuple of float
        (low, high) power range of the fit, W.
    criterion_relative : float
        Allowed relative deviation from the fit (e.g. 0.05 = 5 %).
    power_standard_uncertainty_w : array_like, optional
        Standard uncertainty (Type A, repeatability) of each power point, W.
    readings_per_point : int
        Readings averaged per point (gives the degrees of freedom of those uncertainties).
    """
    power = _samples(power_w, "power")
    current = np.abs(_samples(photocurrent_a, "photocurrent"))
    if power.size != current.size:
        raise ValueError("power and photocurrent arrays differ in length")
    order = np.argsort(power)
    power, current = power[order], current[order]
    in_fit = (power >= fit_range_w[0]) & (power <= fit_range_w[1]) & (current > 0)
    if np.count_nonzero(in_fit) < 2:
        raise ValueError(f"fewer than 2 points inside the fit range {fit_range_w} W")
    slope = float(np.exp(np.mean(np.log(current[in_fit] / power[in_fit]))))
    deviation = current / (slope * power) - 1.0
    linear = np.abs(deviation) <= criterion_relative
    anchor = int(np.flatnonzero(in_fit)[0])
    if not linear[anchor]:
        raise ValueError("the fit range itself deviates from linearity beyond the criterion")
    low = anchor
    while low > 0 and linear[low - 1]:
        low -= 1
    high = anchor
    while high < power.size - 1 and linear[high + 1]:
        high += 1
    p_low, p_high = float(power[low]), float(power[high])
    value = 20.0 * math.log10(p_high / p_low)
    components: list[Component] = []
    if power_standard_uncertainty_w is not None:
        u_power = np.asarray(power_standard_uncertainty_w, dtype=float)[order]
        db_per_relative = 20.0 / math.log(10.0)
        for label, index, sign in (("upper", high, 1.0), ("lower", low, -1.0)):
            components.append(
                Component(
                    f"{label} limit power repeatability",
                    float(power[index]),
                    float(u_power[index]),
                    "W",
                    sign * db_per_relative / float(power[index]),
                    "A",
                    degrees_of_freedom=readings_per_point - 1,
                )
            )
    result = Result("linear dynamic range", value, "dB", Budget(tuple(components)))
    return LinearDynamicRange(
        result=result,
        lower_power_w=p_low,
        upper_power_w=p_high,
        fit_range_w=(float(fit_range_w[0]), float(fit_range_w[1])),
        criterion_relative=criterion_relative,
        slope_a_per_w=slope,
        relative_deviation=deviation[np.argsort(order)],
        upper_limit_found=high < power.size - 1,
    )


def cutoff_frequency(
    frequency_hz: ArrayLike,
    amplitude: ArrayLike,
    *,
    amplitude_relative_u: float = 0.0,
    readings_per_point: int = 2,
) -> CutoffFrequency:
    """−3 dB bandwidth f_3dB where |R(f)|/|R(f_low)| = 1/√2, Hz.

    Method: the response in dB relative to the lowest frequency is interpolated linearly in
    log10(f) between the two sweep points that bracket −3.01 dB (the first crossing). Budget:
    the amplitude repeatability of those points and of the reference point (Type A, through
    the local slope) and an interpolation component (Type B, rectangular, half-width = the
    difference to linear interpolation in f).

    Parameters
    ----------
    frequency_hz : array_like
        Modulation frequencies, Hz.
    amplitude : array_like
        Response amplitude at each frequency (any unit, e.g. lock-in R, V).
    amplitude_relative_u : float
        Relative standard uncertainty of one amplitude point (Type A).
    readings_per_point : int
        Readings averaged per amplitude point (degrees of freedom).
    """
    frequency = _samples(frequency_hz, "frequency")
    response = _samples(amplitude, "amplitude")
    order = np.argsort(frequency)
    frequency, response = frequency[order], response[order]
    relative = response / response[0]
    level_db = 20.0 * np.log10(relative)
    target_db = -10.0 * math.log10(2.0)
    below = np.flatnonzero(level_db <= target_db)
    if below.size == 0 or below[0] == 0:
        raise ValueError("the response does not cross −3 dB inside the sweep")
    upper = int(below[0])
    lower = upper - 1
    log_f = np.log10(frequency[[lower, upper]])
    slope_db_per_decade = (level_db[upper] - level_db[lower]) / (log_f[1] - log_f[0])
    log_f3 = log_f[0] + (target_db - level_db[lower]) / slope_db_per_decade
    value = float(10.0**log_f3)
    fraction = (target_db - level_db[lower]) / (level_db[upper] - level_db[lower])
    linear_f = float(frequency[lower] + fraction * (frequency[upper] - frequency[lower]))
    components = [type_b("interpolation between sweep points", value, abs(value - linear_f), "Hz")]
    if amplitude_relative_u:
        db_u = 20.0 / math.log(10.0) * amplitude_relative_u
        hz_per_db = value * math.log(10.0) / abs(slope_db_per_decade)
        for label in ("reference (lowest-frequency) point", "bracketing points"):
            components.append(
                Component(
                    f"amplitude repeatability, {label}",
                    0.0,
                    db_u,
                    "dB",
                    hz_per_db,
                    "A",
                    degrees_of_freedom=readings_per_point - 1,
                )
            )
    method = (
        "linear interpolation of 20·log10(|R(f)|/|R(f_low)|) in log10(f) between the points "
        "bracketing the first −3.01 dB crossing"
    )
    result = Result("−3 dB bandwidth", value, "Hz", Budget(tuple(components)))
    return CutoffFrequency(result, method, relative[np.argsort(order)])


def sanity_warnings(
    *,
    eqe_percent: Sequence[Result] = (),
    gain_device: bool = False,
    detectivity: Detectivity | None = None,
    nep: Result | None = None,
    temperature_c: float = 25.0,
) -> tuple[str, ...]:
    """Warnings the figures-of-merit reference asks for.

    EQE > 100 % without a declared gain device; measured D* > 1e14 Jones at room temperature;
    NEP without an explicit unit (W/√Hz or band-integrated W); the D* shortcut disagreement.
    """
    warnings: list[str] = []
    for eqe in eqe_percent:
        if eqe.value > 100.0 and not gain_device:
            warnings.append(
                f"{eqe.name} = {eqe.value:.3g} % > 100 % on a device not declared as a gain "
                "device: check P_opt and area, or report noise and f_3dB with it"
            )
    if detectivity is not None:
        low, high = ROOM_TEMPERATURE_RANGE_C
        limit = ROOM_TEMPERATURE_DETECTIVITY_LIMIT_JONES
        if low <= temperature_c <= high and detectivity.measured.value > limit:
            warnings.append(
                f"measured D* = {detectivity.measured.value:.3g} Jones > {limit:.0e} Jones "
                "at room temperature is implausible"
            )
        warnings.extend(detectivity.warnings)
    if nep is not None and nep.unit not in NEP_UNITS:
        warnings.append(f"NEP unit {nep.unit!r} is not explicit; use one of {NEP_UNITS}")
    return tuple(warnings)


def _samples(values: ArrayLike, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"{what}: need finite values, got {array.size} values")
    return array


def _relative_b(
    name: str, estimate: float, relative_u: float, unit: str, sensitivity: float = 1.0
) -> Component:
    """Type B component with standard uncertainty ``relative_u·|estimate|`` (normal)."""
    return type_b(name, estimate, relative_u * abs(estimate), unit, "normal", sensitivity)


def _stated(name: str, value: float, relative_u: float, unit: str) -> Result:
    """A stated input quantity with a Type B relative standard uncertainty."""
    return Result(name, value, unit, Budget((_relative_b(name, value, relative_u, unit),)))


def _product(
    name: str, unit: str, factors: Sequence[tuple[Result, float]], constant: float = 1.0
) -> Result:
    """y = constant·Π x_i^e_i with every input's components carried by chained sensitivities.

    ∂y/∂x_i = e_i·y/x_i; a component appearing under several inputs (same name, unit and
    estimate) is one input quantity and its sensitivities add.
    """
    value = constant * math.prod(result.value**exponent for result, exponent in factors)
    merged: dict[tuple[str, str, float], Component] = {}
    for result, exponent in factors:
        chain = exponent * value / result.value
        for component in result.budget.components:
            key = (component.name, component.unit, component.estimate)
            sensitivity = component.sensitivity * chain
            if key in merged:
                sensitivity += merged[key].sensitivity
            merged[key] = replace(component, sensitivity=sensitivity)
    return Result(name, value, unit, Budget(tuple(merged.values())))
