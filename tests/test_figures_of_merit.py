"""Figures-of-merit math on synthetic arrays with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibration import figures_of_merit as fom
from calibration.uncertainty import Budget, Result, type_b

Q = 1.602176634e-19


def stated(value: float, unit: str, relative_u: float = 0.0) -> Result:
    return Result(
        "x", value, unit, Budget((type_b("x", value, relative_u * value, unit, "normal"),))
    )


@pytest.mark.parametrize(
    ("slope", "enbw_times_tau"), [(6, 1 / 4), (12, 1 / 8), (18, 3 / 32), (24, 5 / 64)]
)
def test_enbw_follows_the_sr830_manual(slope, enbw_times_tau):
    assert fom.equivalent_noise_bandwidth_hz(0.01, slope) == pytest.approx(enbw_times_tau / 0.01)


def test_enbw_rejects_unknown_slope():
    with pytest.raises(ValueError, match="not one of"):
        fom.equivalent_noise_bandwidth_hz(0.01, 9)


def test_photocurrent_is_light_minus_dark_with_both_type_a_components():
    light = [-2.0e-6 - 1e-9, -2.0e-6 + 1e-9, -2.0e-6]
    dark = [-1.0e-9, -1.2e-9, -0.8e-9]
    result = fom.photocurrent(light, dark, meter_relative_u=1e-3)
    assert result.value == pytest.approx(2.0e-6 - 1.0e-9)
    kinds = [c.evaluation for c in result.budget.components]
    assert kinds == ["A", "A", "B"]
    u_light = np.std(light, ddof=1) / math.sqrt(3)
    u_dark = np.std(dark, ddof=1) / math.sqrt(3)
    expected = math.sqrt(u_light**2 + u_dark**2 + (1e-3 * result.value) ** 2)
    assert result.standard_uncertainty == pytest.approx(expected)


def test_responsivity_and_eqe_with_split_ratio_and_budget():
    current = stated(0.5e-6, "A", 1e-3)
    powers = np.array([99.0e-6, 101.0e-6, 100.0e-6, 100.0e-6])  # at the meter port
    result = fom.responsivity(
        current,
        powers,
        wavelength_nm=850.0,
        power_meter_relative_u=0.01,
        split_ratio=100.0,
        split_ratio_relative_u=0.005,
    )
    assert result.value == pytest.approx(0.5e-6 / (100e-6 / 100.0))
    assert result.unit == "A/W"
    relative_a = np.std(powers, ddof=1) / math.sqrt(4) / 100e-6
    expected = result.value * math.sqrt(1e-3**2 + relative_a**2 + 0.01**2 + 0.005**2)
    assert result.standard_uncertainty == pytest.approx(expected)
    names = {c.name: c.evaluation for c in result.budget.components}
    assert names["power meter repeatability"] == "A"
    assert names["power meter calibration (certificate)"] == "B"
    eqe = fom.external_quantum_efficiency(result, 850.0)
    assert eqe.value == pytest.approx(result.value * 1239.841984 / 850.0 * 100.0)
    assert eqe.unit == "%"
    assert eqe.standard_uncertainty / eqe.value == pytest.approx(expected / result.value)


def test_lockin_photocurrent_undoes_rms_gain_and_modulation_depth():
    result = fom.photocurrent_from_lockin(
        [0.0707, 0.0707], tia_gain_v_per_a=1e5, tia_gain_relative_u=0.002, modulation_depth=0.5
    )
    assert result.value == pytest.approx(math.sqrt(2) * 0.0707 / 1e5 / 0.5)
    assert result.standard_uncertainty == pytest.approx(0.002 * result.value)


def test_noise_density_recovers_a_known_white_density():
    rng = np.random.default_rng(1)
    density, gain, tau, slope = 2e-14, 1e5, 1e-3, 12
    sigma = density * gain * math.sqrt(fom.equivalent_noise_bandwidth_hz(tau, slope))
    x, y = rng.normal(0, sigma, 4000), rng.normal(0, sigma, 4000)
    result = fom.noise_current_density(
        x,
        y,
        tia_gain_v_per_a=gain,
        tia_gain_relative_u=0.0,
        time_constant_s=tau,
        slope_db_per_oct=slope,
        frequency_hz=1e3,
    )
    assert result.unit == "A/√Hz"
    assert result.value == pytest.approx(density, rel=3 * result.standard_uncertainty / density)
    assert result.standard_uncertainty / result.value == pytest.approx(1 / math.sqrt(2 * 7998))


def test_tia_gain_cancels_in_nep_when_it_enters_noise_and_responsivity():
    noise = fom.noise_current_density(
        [1e-8, -1e-8, 2e-8, -2e-8],
        [0.5e-8, -0.5e-8, 1e-8, -1e-8],
        tia_gain_v_per_a=1e5,
        tia_gain_relative_u=0.05,
        time_constant_s=1e-3,
        slope_db_per_oct=6,
        frequency_hz=1e3,
    )
    current = fom.photocurrent_from_lockin(
        [0.1, 0.1], tia_gain_v_per_a=1e5, tia_gain_relative_u=0.05, modulation_depth=1.0
    )
    responsivity = fom.responsivity(
        current, [1e-6, 1e-6], wavelength_nm=850.0, power_meter_relative_u=0.0
    )
    nep = fom.noise_equivalent_power(noise, responsivity)
    assert nep.unit == "W/√Hz"
    assert nep.value == pytest.approx(noise.value / responsivity.value)
    gain = [c for c in nep.budget.components if c.name == "TIA gain"]
    assert len(gain) == 1
    assert gain[0].contribution == pytest.approx(0.0, abs=1e-12 * nep.value)


def test_dark_current_density_uses_the_stated_area():
    dark = fom.mean_current("dark", [-1e-9, -1.1e-9, -0.9e-9])
    density = fom.dark_current_density(dark, area_cm2=0.01, area_relative_u=0.02)
    assert density.value == pytest.approx(1e-7)
    assert density.unit == "A/cm²"
    assert "0.01 cm²" in density.name


def test_detectivity_measured_and_shot_only_are_both_labelled():
    responsivity = stated(0.5, "A/W")
    dark = fom.mean_current("dark", [-1e-9, -1e-9 + 1e-13])
    shot = math.sqrt(2 * Q * abs(dark.value))
    noise = stated(3 * shot, "A/√Hz")
    result = fom.specific_detectivity(responsivity, noise, dark, area_cm2=0.01)
    assert result.measured.value == pytest.approx(0.5 * 0.1 / (3 * shot))
    assert result.shot_noise_limit.value == pytest.approx(0.5 * 0.1 / shot)
    assert "measured" in result.measured.name
    assert "only" in result.shot_noise_limit.name
    assert result.warnings == ()
    far = fom.specific_detectivity(responsivity, stated(30 * shot, "A/√Hz"), dark, area_cm2=0.01)
    assert far.warnings and "30×" in far.warnings[0]


def test_shot_floor_adds_johnson_noise_when_the_shunt_is_given():
    dark = fom.mean_current("dark", [-1e-9, -1e-9])
    floor = fom.shot_noise_density(dark, shunt_resistance_ohm=1e9, temperature_c=25.0)
    johnson = 4 * 1.380649e-23 * 298.15 / 1e9
    assert floor.value == pytest.approx(math.sqrt(2 * Q * 1e-9 + johnson))


def test_ldr_lower_limit_is_the_lowest_measured_linear_point_and_upper_the_compression():
    power = np.logspace(-10, -3, 8)
    current = 0.5 * power
    current[0] *= 1.5  # noise-dominated bottom point
    current[-1] *= 0.8  # compressed top point
    result = fom.linear_dynamic_range(
        power, current, fit_range_w=(1e-8, 1e-5), criterion_relative=0.05
    )
    assert result.lower_power_w == pytest.approx(1e-9)
    assert result.upper_power_w == pytest.approx(1e-4)
    assert result.result.value == pytest.approx(100.0)
    assert result.upper_limit_found
    assert result.slope_a_per_w == pytest.approx(0.5)
    assert result.fit_range_w == (1e-8, 1e-5)
    assert result.criterion_relative == 0.05
    assert result.relative_deviation[-1] == pytest.approx(-0.2)


def test_ldr_without_compression_reports_a_lower_bound():
    power = np.logspace(-9, -4, 6)
    result = fom.linear_dynamic_range(
        power,
        0.5 * power,
        fit_range_w=(1e-8, 1e-6),
        power_standard_uncertainty_w=1e-3 * power,
        readings_per_point=5,
    )
    assert not result.upper_limit_found
    assert result.result.value == pytest.approx(100.0)
    expected_u = 20 / math.log(10) * math.sqrt(2) * 1e-3
    assert result.result.standard_uncertainty == pytest.approx(expected_u)


def test_cutoff_of_a_single_pole_response():
    frequency = np.array([1e2, 1e3, 5e3, 8e3, 12e3, 20e3, 50e3])
    cutoff_hz = 10e3
    amplitude = 1.0 / np.sqrt(1.0 + (frequency / cutoff_hz) ** 2)
    result = fom.cutoff_frequency(frequency, amplitude, amplitude_relative_u=1e-3)
    assert result.result.unit == "Hz"
    assert result.result.value == pytest.approx(cutoff_hz, rel=0.03)
    assert abs(result.result.value - cutoff_hz) < 2 * result.result.expanded_uncertainty
    assert "log10(f)" in result.method
    assert result.relative_response[0] == 1.0


def test_cutoff_outside_the_sweep_is_an_error():
    with pytest.raises(ValueError, match="does not cross"):
        fom.cutoff_frequency([1e2, 1e3], [1.0, 0.9])


def test_sanity_flags():
    eqe = Result("EQE at 850 nm", 140.0, "%", Budget(()))
    (warning,) = fom.sanity_warnings(eqe_percent=[eqe])
    assert "EQE at 850 nm = 140 % > 100 %" in warning
    assert fom.sanity_warnings(eqe_percent=[eqe], gain_device=True) == ()
    high = fom.Detectivity(
        Result("D* from measured noise", 5e14, "Jones", Budget(())),
        Result("D* shot", 6e14, "Jones", Budget(())),
        (),
    )
    assert any("1e+14" in w for w in fom.sanity_warnings(detectivity=high, temperature_c=22.0))
    assert fom.sanity_warnings(detectivity=high, temperature_c=-196.0) == ()
    bad_nep = Result("NEP", 1e-14, "W/Hz", Budget(()))
    (warning,) = fom.sanity_warnings(nep=bad_nep)
    assert "NEP unit 'W/Hz' is not explicit" in warning
