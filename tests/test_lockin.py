"""SR830 / SR860 drivers against the simulated lock-ins demodulating the bench signal."""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pytest

from drivers.errors import DeviceErrorResponse, ProtocolError
from drivers.lockin import equivalent_noise_bandwidth_hz, settle_time_s
from drivers.sim.scpi_server import start_in_thread
from drivers.sr830 import SR830
from drivers.sr860 import SR860, SR865

pytestmark = pytest.mark.timeout(60)

MODELS = {"sr830": SR830, "sr860": SR860}


@pytest.fixture
def servers():
    with start_in_thread(seed=21) as running:
        yield running


def connect(servers, key: str):
    return MODELS[key](servers.resources[key])


@pytest.mark.parametrize("key", ["sr830", "sr860"])
def test_r_and_theta_equal_bench_photocurrent_in_rms(servers, key):
    frequency_hz = 1000.0
    with connect(servers, key) as lockin:
        lockin.frequency_hz = frequency_hz
        lockin.time_constant_s = 10e-3
        lockin.filter_slope_db_per_oct = 24
        lockin.sensitivity_v = 0.5
        # Two settle times: the 99 % point leaves 1 % of the step transient, more than the
        # noise tolerance below.
        time.sleep(2 * lockin.settle_time_s())
        reading = lockin.measure()
        enbw = lockin.equivalent_noise_bandwidth_hz()
    truth = servers.bench.truth(frequency_hz)
    tia = truth.tia_gain_v_per_a / math.hypot(1.0, frequency_hz / truth.tia_bandwidth_hz)
    expected_r = truth.photocurrent_amplitude_a * tia / math.sqrt(2.0)
    noise_v = truth.lockin_noise_density_v_per_rthz * math.sqrt(enbw)
    assert reading.valid
    assert reading.r_v == pytest.approx(expected_r, abs=5 * noise_v + 1e-6 * expected_r)
    expected_theta = -math.degrees(math.atan(frequency_hz / truth.tia_bandwidth_hz))
    assert reading.theta_deg == pytest.approx(
        expected_theta, abs=math.degrees(5 * noise_v / expected_r) + 1e-4
    )


def dark_xy_samples(lockin, time_constant_s: float, reads: int) -> np.ndarray:
    lockin.time_constant_s = time_constant_s
    lockin.wait_settled()
    samples = []
    for _ in range(reads):
        time.sleep(5 * time_constant_s)  # decorrelate successive readings
        reading = lockin.measure(auto_range=False)
        assert reading.valid
        samples += [reading.x_v, reading.y_v]
    return np.array(samples)


def test_dark_noise_scales_with_sqrt_enbw_and_matches_bench(servers):
    bench = servers.bench
    bench.set_led(drive_current_a=0.0)
    bench.set_bias(-1.0)
    frequency_hz = 10e3
    with connect(servers, "sr860") as lockin:
        lockin.frequency_hz = frequency_hz
        lockin.filter_slope_db_per_oct = 6
        lockin.sensitivity_v = 1e-6
        short = dark_xy_samples(lockin, 100e-6, 150)
        long = dark_xy_samples(lockin, 1e-3, 150)
    density = bench.truth(frequency_hz).lockin_noise_density_v_per_rthz
    for samples, tau in ((short, 100e-6), (long, 1e-3)):
        expected = density * math.sqrt(equivalent_noise_bandwidth_hz(tau, 6))
        assert np.std(samples) == pytest.approx(expected, rel=0.2)
        assert abs(np.mean(samples)) < 5 * expected / math.sqrt(samples.size)
    assert np.std(short) / np.std(long) == pytest.approx(math.sqrt(10.0), rel=0.25)


def test_sensitivity_tables_are_reversed_on_the_wire(servers):
    with connect(servers, "sr830") as sr830, connect(servers, "sr860") as sr860:
        sr830.sensitivity_v = 1.0
        sr830.sensitivity_v = 2e-9
        sr860.sensitivity_v = 1.0
        sr860.sensitivity_v = 1e-9
        sr830.write("SENS 0")
        sr860.write("SCAL 0")
        most_sensitive_830, least_sensitive_860 = sr830.sensitivity_v, sr860.sensitivity_v
    assert "SENS 26;*ESR?" in servers.devices["sr830"].command_log
    assert "SENS 0;*ESR?" in servers.devices["sr830"].command_log
    assert "SCAL 0;*ESR?" in servers.devices["sr860"].command_log
    assert "SCAL 27;*ESR?" in servers.devices["sr860"].command_log
    assert most_sensitive_830 == pytest.approx(2e-9)
    assert least_sensitive_860 == pytest.approx(1.0)
    assert SR830.MODEL.sensitivities_v[0] < SR830.MODEL.sensitivities_v[-1]
    assert SR860.MODEL.sensitivities_v[0] > SR860.MODEL.sensitivities_v[-1]


@pytest.mark.parametrize(
    ("key", "attribute", "value", "pattern"),
    [
        (
            "sr830",
            "sensitivity_v",
            3e-3,
            r"3 mV is not an allowed value; allowed: 2 nV, .*2 mV, 5 mV",
        ),
        ("sr830", "time_constant_s", 1e-6, r"1 µs is not an allowed value; allowed: 10 µs"),
        ("sr830", "frequency_hz", 200e3, r"200000 Hz outside the allowed range 0.001 … 102000 Hz"),
        ("sr860", "frequency_hz", 600e3, r"600000 Hz outside the allowed range 0.001 … 500000 Hz"),
        ("sr830", "phase_deg", 800.0, r"-360 … 729.99 deg"),
        ("sr830", "sine_amplitude_v", 0.001, r"0.004 … 5 V"),
        ("sr860", "sensitivity_v", 2.0, r"allowed: 1 nV, 2 nV, .* 1 V"),
        ("sr860", "filter_slope_db_per_oct", 9, r"\(6, 12, 18, 24\)"),
        ("sr860", "frequency_hz", float("nan"), r"must be finite"),
    ],
)
def test_invalid_values_raise_before_anything_is_sent(servers, key, attribute, value, pattern):
    device_side = servers.devices[key]
    with connect(servers, key) as lockin:
        sent_before = len(device_side.command_log)
        with pytest.raises(ValueError, match=pattern):
            setattr(lockin, attribute, value)
        assert len(device_side.command_log) == sent_before


def test_non_numbers_are_type_errors(servers):
    with connect(servers, "sr830") as lockin, pytest.raises(TypeError):
        lockin.sensitivity_v = True


def test_explicit_range_helper_picks_smallest_range_at_least_amplitude():
    assert SR830.smallest_sensitivity_at_least(3e-3) == pytest.approx(5e-3)
    assert SR860.smallest_sensitivity_at_least(3e-3) == pytest.approx(5e-3)
    assert SR830.smallest_sensitivity_at_least(1e-12) == pytest.approx(2e-9)
    assert SR860.smallest_sensitivity_at_least(1e-12) == pytest.approx(1e-9)
    with pytest.raises(ValueError, match="exceeds the top range 1 V"):
        SR830.smallest_sensitivity_at_least(1.5)


@pytest.mark.parametrize("key", ["sr830", "sr860"])
def test_auto_range_climbs_out_of_overload(servers, key):
    frequency_hz = 1000.0
    expected_r = servers.bench.truth(frequency_hz).lockin_r_v_rms
    with connect(servers, key) as lockin:
        lockin.frequency_hz = frequency_hz
        lockin.time_constant_s = 1e-3
        lockin.filter_slope_db_per_oct = 24
        lockin.sensitivity_v = 10e-3
        lockin.wait_settled()
        stuck = lockin.measure(auto_range=False)
        climbed = lockin.measure()
    assert stuck.overloaded and not stuck.valid
    assert stuck.r_v < expected_r
    assert climbed.valid
    assert climbed.sensitivity_v == pytest.approx(lockin.smallest_sensitivity_at_least(expected_r))
    assert climbed.r_v == pytest.approx(expected_r, rel=1e-3)


@pytest.mark.parametrize("key", ["sr830", "sr860"])
def test_ranged_readings_use_the_most_sensitive_range_that_holds_the_signal(servers, key):
    frequency_hz = 1000.0
    expected_r = servers.bench.truth(frequency_hz).lockin_r_v_rms
    with connect(servers, key) as lockin:
        lockin.frequency_hz = frequency_hz
        lockin.time_constant_s = 1e-3
        lockin.filter_slope_db_per_oct = 24
        readings = lockin.read_ranged(4)
    expected_range = lockin.smallest_sensitivity_at_least(1.5 * expected_r)
    assert len(readings) == 4
    for reading in readings:
        assert reading.valid
        assert reading.sensitivity_v == pytest.approx(expected_range)
        assert reading.r_v == pytest.approx(expected_r, rel=1e-3)


def test_reading_that_stays_overloaded_at_top_range_is_invalid(servers):
    servers.bench.set_led(drive_current_a=0.2)
    assert servers.bench.truth(1000.0).lockin_r_v_rms > 1.0
    with connect(servers, "sr830") as lockin:
        lockin.frequency_hz = 1000.0
        lockin.time_constant_s = 1e-3
        lockin.sensitivity_v = 0.5
        lockin.wait_settled()
        reading = lockin.measure()
    assert reading.sensitivity_v == pytest.approx(1.0)
    assert reading.overloaded
    assert not reading.valid


def test_unlocked_reference_flags_reading_invalid(servers):
    servers.devices["sr860"].reference_unlocked = True
    with connect(servers, "sr860") as lockin:
        reading = lockin.measure()
    assert reading.unlocked
    assert not reading.valid


def test_device_execution_error_is_reported(servers, caplog):
    caplog.set_level(logging.INFO, logger="drivers.lockin")
    # An SR865 driver on an SR860 accepts 1 MHz; the SR860 itself rejects it (EXE).
    with (
        SR865(servers.resources["sr860"]) as lockin,
        pytest.raises(DeviceErrorResponse, match=r"SR865 at .*EXE.*FREQ 1e\+06"),
    ):
        lockin.frequency_hz = 1e6
    assert "event status" in caplog.text and "after 'FREQ 1e+06'" in caplog.text


def test_wrong_model_on_the_wire_is_refused(servers):
    with pytest.raises(ProtocolError, match="expected an SR86x"):
        SR860(servers.resources["sr830"]).connect()


def test_settle_time_and_enbw_follow_filter_order():
    assert [settle_time_s(0.1, slope) for slope in (6, 12, 18, 24)] == pytest.approx(
        [0.5, 0.7, 0.9, 1.0]
    )
    assert [equivalent_noise_bandwidth_hz(0.1, slope) for slope in (6, 12, 18, 24)] == (
        pytest.approx([2.5, 1.25, 0.9375, 0.78125])
    )
    with pytest.raises(ValueError, match="not one of"):
        settle_time_s(0.1, 30)


def test_settings_read_back_through_the_device(servers):
    with connect(servers, "sr830") as lockin:
        lockin.time_constant_s = 30e-3
        lockin.filter_slope_db_per_oct = 18
        lockin.phase_deg = 45.0
        lockin.sine_amplitude_v = 0.5
        assert lockin.time_constant_s == pytest.approx(30e-3)
        assert lockin.filter_slope_db_per_oct == 18
        assert lockin.phase_deg == pytest.approx(45.0)
        assert lockin.sine_amplitude_v == pytest.approx(0.5)
        assert lockin.settle_time_s() == pytest.approx(9 * 30e-3)
