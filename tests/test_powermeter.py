"""PM100 driver against the simulated power meter at the bench's split port."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drivers.errors import DeviceErrorResponse
from drivers.powermeter import PM100
from drivers.sim.bench import silicon_responsivity_a_per_w
from drivers.sim.scpi_server import start_in_thread

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def servers():
    with start_in_thread(seed=41) as running:
        yield running


def readings_w(meter: PM100, count: int) -> np.ndarray:
    return np.array([meter.read_power_w() for _ in range(count)])


@pytest.mark.parametrize("wavelength_nm", [660.0, 940.0])
def test_reads_led_power_times_split_within_noise(servers, wavelength_nm):
    bench = servers.bench
    bench.set_led(wavelength_nm=wavelength_nm, drive_current_a=0.05)
    with PM100(servers.resources["powermeter"]) as meter:
        meter.wavelength_nm = wavelength_nm
        noise_w = servers.devices["powermeter"].power_noise_w()
        power = readings_w(meter, 20)
    truth = bench.truth()
    expected = truth.photodiode_power_w * truth.split_ratio
    assert expected == pytest.approx(truth.led_mean_power_w * bench.power_meter_fraction)
    assert power.mean() == pytest.approx(expected, abs=5 * noise_w / math.sqrt(power.size))
    assert power.std() < 0.01 * expected


def test_wrong_correction_wavelength_scales_reading(servers):
    bench = servers.bench
    bench.set_led(wavelength_nm=850.0)
    with PM100(servers.resources["powermeter"]) as meter:
        meter.wavelength_nm = 850.0
        right = readings_w(meter, 10).mean()
        meter.wavelength_nm = 500.0
        wrong = readings_w(meter, 10).mean()
    # The sensor divides its photocurrent by its responsivity at the set wavelength, so the
    # reading scales by the ratio of the sensor's responsivities at 850 nm and 500 nm.
    ratio = silicon_responsivity_a_per_w(850.0) / silicon_responsivity_a_per_w(500.0)
    assert ratio > 1.2
    assert wrong / right == pytest.approx(ratio, rel=0.02)


def test_averaging_reduces_noise(servers):
    with PM100(servers.resources["powermeter"]) as meter:
        meter.average_count = 1
        single = readings_w(meter, 30).std()
        meter.average_count = 100
        averaged = readings_w(meter, 30).std()
        assert meter.average_count == 100
    assert averaged < single / 4


def test_wavelength_range_comes_from_the_sensor_and_is_enforced(servers):
    device_side = servers.devices["powermeter"]
    with PM100(servers.resources["powermeter"]) as meter:
        assert meter.wavelength_range_nm == (400.0, 1100.0)
        sent_before = len(device_side.command_log)
        with pytest.raises(ValueError, match=r"1200 nm outside the allowed range 400 … 1100 nm"):
            meter.wavelength_nm = 1200.0
        with pytest.raises(ValueError, match=r"integer 1 … 10000"):
            meter.average_count = 0
        assert len(device_side.command_log) == sent_before
        meter.wavelength_nm = 1064.0
        assert meter.wavelength_nm == pytest.approx(1064.0)


def test_auto_range_setting_round_trips(servers):
    with PM100(servers.resources["powermeter"]) as meter:
        meter.auto_range = False
        assert meter.auto_range is False
        meter.auto_range = True
        assert meter.auto_range is True


def test_device_side_error_queue_is_raised(servers):
    with PM100(servers.resources["powermeter"]) as meter:
        meter.wavelength_range_nm = (100.0, 2000.0)  # a driver that believes a wider sensor
        with pytest.raises(DeviceErrorResponse, match=r"-222.*Data out of range.*SENS:CORR:WAV"):
            meter.wavelength_nm = 1500.0
