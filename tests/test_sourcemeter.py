"""Keithley 2400 driver against the simulated source-meter across the bench photodiode."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drivers.errors import DeviceError
from drivers.sim.bench import BOLTZMANN_J_PER_K, ELEMENTARY_CHARGE_C
from drivers.sim.scpi_server import start_in_thread
from drivers.sourcemeter import Keithley2400

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def servers():
    with start_in_thread(seed=31) as running:
        yield running


def diode_equation_a(photodiode, bias_v: float, temperature_c: float) -> float:
    """Dark current from the photodiode's stated parameters (independent of the bench code)."""
    thermal_v = BOLTZMANN_J_PER_K * (temperature_c + 273.15) / ELEMENTARY_CHARGE_C
    saturation = photodiode.saturation_current_a * 2 ** (
        (temperature_c - 25.0) / photodiode.saturation_doubling_k
    )
    junction = saturation * (math.exp(bias_v / (photodiode.ideality * thermal_v)) - 1.0)
    return junction + bias_v / photodiode.shunt_resistance_ohm


def mean_current_a(meter: Keithley2400, readings: int) -> tuple[float, float]:
    currents = [meter.measure().current_a for _ in range(readings)]
    return float(np.mean(currents)), float(np.std(currents))


@pytest.mark.parametrize("bias_v", [-2.0, -0.5, 0.2])
def test_dark_current_matches_diode_equation(servers, bias_v):
    bench = servers.bench
    bench.set_led(drive_current_a=0.0)
    with Keithley2400(servers.resources["sourcemeter"]) as meter:
        meter.compliance_a = 1e-3
        meter.voltage_v = bias_v
        meter.output_enabled = True
        noise_a = servers.devices["sourcemeter"].current_noise_a()
        mean, spread = mean_current_a(meter, 20)
    expected = diode_equation_a(bench.photodiode, bias_v, bench.temperature_c)
    assert spread < 0.05 * abs(expected)
    assert mean == pytest.approx(expected, abs=5 * noise_a / math.sqrt(20))


def test_illuminated_current_is_dark_minus_photocurrent(servers):
    bench = servers.bench
    with Keithley2400(servers.resources["sourcemeter"]) as meter:
        meter.voltage_v = -1.0
        meter.output_enabled = True
        noise_a = servers.devices["sourcemeter"].current_noise_a()
        mean, _ = mean_current_a(meter, 10)
    truth = bench.truth()
    photocurrent = truth.responsivity_a_per_w * truth.photodiode_power_w
    expected = diode_equation_a(bench.photodiode, -1.0, bench.temperature_c) - photocurrent
    assert photocurrent > 100 * abs(truth.dark_current_a)
    assert mean == pytest.approx(expected, abs=5 * noise_a / math.sqrt(10))


def test_sweep_returns_arrays_following_the_diode(servers):
    bench = servers.bench
    bench.set_led(drive_current_a=0.0)
    with Keithley2400(servers.resources["sourcemeter"]) as meter:
        meter.compliance_a = 10e-3
        sweep = meter.sweep_voltage(-1.0, 0.3, 14)
    expected = [diode_equation_a(bench.photodiode, v, bench.temperature_c) for v in sweep.voltage_v]
    assert sweep.voltage_v.shape == sweep.current_a.shape == sweep.in_compliance.shape == (14,)
    assert sweep.voltage_v == pytest.approx(np.linspace(-1.0, 0.3, 14), abs=1e-3)
    assert not sweep.in_compliance.any()
    assert sweep.current_a == pytest.approx(expected, rel=0.05, abs=100e-12)


def test_compliance_limits_the_current_and_is_flagged(servers):
    servers.bench.set_led(drive_current_a=0.0)
    with Keithley2400(servers.resources["sourcemeter"]) as meter:
        meter.compliance_a = 1e-6
        meter.voltage_v = 0.6
        meter.output_enabled = True
        reading = meter.measure()
    assert reading.in_compliance
    assert reading.current_a == pytest.approx(1e-6)


@pytest.mark.parametrize(
    ("attribute", "value", "pattern"),
    [
        ("voltage_v", 250.0, r"250 V outside the allowed range -210 … 210 V"),
        ("compliance_a", 2.0, r"2 A outside the allowed range 1e-09 … 1.05 A"),
        ("compliance_a", 0.0, r"1e-09 … 1.05 A"),
        ("nplc", 20.0, r"0.01 … 10 PLC"),
    ],
)
def test_invalid_settings_raise_before_anything_is_sent(servers, attribute, value, pattern):
    device_side = servers.devices["sourcemeter"]
    with Keithley2400(servers.resources["sourcemeter"]) as meter:
        sent_before = len(device_side.command_log)
        with pytest.raises(ValueError, match=pattern):
            setattr(meter, attribute, value)
        assert len(device_side.command_log) == sent_before


def test_high_voltage_needs_low_compliance(servers):
    with Keithley2400(servers.resources["sourcemeter"]) as meter:
        meter.compliance_a = 0.5
        with pytest.raises(ValueError, match="above 21 V the compliance is limited to 0.105 A"):
            meter.voltage_v = 100.0
        meter.compliance_a = 0.1
        meter.voltage_v = 100.0
        assert meter.voltage_v == pytest.approx(100.0)


def test_measuring_with_output_off_is_refused(servers):
    with Keithley2400(servers.resources["sourcemeter"]) as meter:
        meter.output_enabled = False
        with pytest.raises(DeviceError, match="output is off"):
            meter.measure()


def test_close_switches_the_output_off(servers):
    device_side = servers.devices["sourcemeter"]
    with Keithley2400(servers.resources["sourcemeter"]) as meter:
        meter.voltage_v = -1.0
        meter.output_enabled = True
        assert servers.bench.bias_v == pytest.approx(-1.0)
    assert not device_side.output_on
    assert servers.bench.bias_v == 0.0
