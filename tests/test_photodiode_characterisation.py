"""End to end: the characterisation over TCP against the simulated bench, versus its truth."""

from __future__ import annotations

import math

import pytest

from calibration.photodiode_figures import BenchSetup, compute_figures
from drivers.ledsource import DC2200
from drivers.powermeter import PM100
from drivers.sim.scpi_server import start_in_thread
from drivers.sourcemeter import Keithley2400
from drivers.sr860 import SR860
from instrument.photodiode_bench import CharacterisationSettings, measure_photodiode

pytestmark = pytest.mark.timeout(120)

SETTINGS = CharacterisationSettings()


@pytest.fixture(scope="module")
def run():
    """One characterisation; yields (bench, raw data, figures)."""
    with start_in_thread(seed=71) as servers:
        resources = servers.resources
        with (
            DC2200(resources["ledsource"]) as led,
            Keithley2400(resources["sourcemeter"]) as sourcemeter,
            PM100(resources["powermeter"]) as powermeter,
            SR860(resources["sr860"]) as lockin,
        ):
            raw = measure_photodiode(led, sourcemeter, powermeter, lockin, SETTINGS)
        bench = servers.bench
        bench.set_bias(SETTINGS.bias_v)
        truth = bench.truth(SETTINGS.signal_frequency_hz)
        setup = BenchSetup(
            area_cm2=truth.active_area_mm2 / 100.0,
            tia_gain_v_per_a=truth.tia_gain_v_per_a,
            split_ratio=truth.split_ratio,
        )
        yield bench, raw, compute_figures(raw, setup)


def truth_at(bench, wavelength_nm: float, led_current_a: float = SETTINGS.led_current_a):
    bench.set_led(wavelength_nm=wavelength_nm, drive_current_a=led_current_a)
    return bench.truth(SETTINGS.signal_frequency_hz)


def test_raw_data_holds_arrays_and_conditions(run):
    _, raw, _ = run
    count = SETTINGS.readings_per_point
    assert raw.light_current_a.shape == (len(SETTINGS.wavelengths_nm), count)
    assert raw.noise_x_v.shape == (SETTINGS.noise_samples,)
    assert raw.sweep_r_v.shape == (len(SETTINGS.sweep_frequencies_hz), SETTINGS.sweep_readings)
    assert raw.bias_v == SETTINGS.bias_v
    assert raw.noise_slope_db_per_oct == 12
    assert raw.modulation_depth == pytest.approx(1.0)


@pytest.mark.parametrize("wavelength_nm", SETTINGS.wavelengths_nm)
def test_responsivity_and_eqe_match_the_bench(run, wavelength_nm):
    bench, _, figures = run
    truth = truth_at(bench, wavelength_nm)
    responsivity = figures.responsivity[wavelength_nm]
    eqe = figures.external_quantum_efficiency[wavelength_nm]
    assert responsivity.value == pytest.approx(truth.responsivity_a_per_w, rel=0.005)
    assert eqe.value == pytest.approx(100.0 * truth.external_quantum_efficiency, rel=0.005)
    # The budget (power-meter certificate dominates) covers the error.
    assert abs(responsivity.value - truth.responsivity_a_per_w) < responsivity.expanded_uncertainty


def test_dark_current_and_density(run):
    bench, _, figures = run
    truth = truth_at(bench, SETTINGS.signal_wavelength_nm)
    dark = figures.dark_current
    assert dark.value == pytest.approx(truth.dark_current_a, abs=2 * dark.expanded_uncertainty)
    assert dark.value == pytest.approx(truth.dark_current_a, rel=0.1)
    area_cm2 = truth.active_area_mm2 / 100.0
    assert figures.dark_current_density.value == pytest.approx(abs(dark.value) / area_cm2)


def test_noise_nep_and_detectivity_match_the_bench(run):
    bench, _, figures = run
    truth = truth_at(bench, SETTINGS.signal_wavelength_nm)
    assert figures.responsivity_at_signal_frequency.value == pytest.approx(
        truth.responsivity_a_per_w, rel=0.005
    )
    assert figures.noise_density.value == pytest.approx(
        truth.dark_noise_current_density_a_per_rthz, rel=0.15
    )
    assert figures.nep.unit == "W/√Hz"
    assert figures.nep.value == pytest.approx(truth.nep_w_per_rthz, rel=0.15)
    measured = figures.detectivity.measured
    assert measured.unit == "Jones"
    assert measured.value == pytest.approx(truth.specific_detectivity_jones, rel=0.15)
    # Johnson and 1/f noise are real: the shot-noise-only shortcut overstates D*.
    assert figures.detectivity.shot_noise_limit.value > measured.value
    assert figures.warnings == ()


def test_linear_dynamic_range_spans_the_measured_linear_points(run):
    bench, _, figures = run
    ldr = figures.linear_dynamic_range
    powers = {
        current: truth_at(bench, SETTINGS.signal_wavelength_nm, current).photodiode_power_w
        for current in SETTINGS.ldr_led_currents_a
    }
    # 0.1 µA of LED current gives ~10 pA of photocurrent, at the source-meter noise floor:
    # the lowest linear point is the next one; the bench diode never compresses.
    assert ldr.lower_power_w == pytest.approx(powers[1e-5], rel=0.02)
    assert ldr.upper_power_w == pytest.approx(powers[1.0], rel=0.02)
    assert not ldr.upper_limit_found
    expected_db = 20 * math.log10(powers[1.0] / powers[1e-5])
    assert ldr.result.value == pytest.approx(expected_db, abs=0.2)
    assert ldr.slope_a_per_w == pytest.approx(
        bench.photodiode.responsivity_a_per_w(SETTINGS.signal_wavelength_nm), rel=0.01
    )
    assert abs(ldr.relative_deviation[0]) > ldr.criterion_relative


def test_bandwidth_matches_the_tia(run):
    bench, _, figures = run
    bandwidth = figures.bandwidth.result
    assert bandwidth.value == pytest.approx(bench.tia.bandwidth_hz, rel=0.05)
    assert "interpolation" in figures.bandwidth.method
