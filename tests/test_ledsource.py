"""DC2200 LED source driver against the simulated LED driver acting on the bench LED."""

from __future__ import annotations

import pytest

from drivers.errors import DeviceErrorResponse
from drivers.ledsource import DC2200
from drivers.sim.bench import LED_WAVELENGTHS_NM
from drivers.sim.scpi_server import start_in_thread

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def servers():
    with start_in_thread(seed=61) as running:
        yield running


def test_catalogue_and_identity_are_read_on_connect(servers):
    with DC2200(servers.resources["ledsource"]) as led:
        assert led.channel_wavelengths_nm == LED_WAVELENGTHS_NM
        assert led.current_range_a == (0.0, 1.0)
        assert led.identify().model == "DC2200"


def test_wavelength_current_and_output_drive_the_bench_led(servers):
    bench = servers.bench
    with DC2200(servers.resources["ledsource"]) as led:
        led.wavelength_nm = 940.0
        led.current_a = 0.05
        led.output_enabled = True
        assert led.channel == LED_WAVELENGTHS_NM.index(940.0) + 1
        assert led.wavelength_nm == 940.0
        assert led.current_a == pytest.approx(0.05)
        assert led.output_enabled
        assert bench.led.wavelength_nm == 940.0
        assert bench.led.drive_current_a == pytest.approx(0.05)
        led.output_enabled = False
        assert bench.led.drive_current_a == 0.0
        assert led.current_a == pytest.approx(0.05)  # the set-point survives output off
        led.channel = 1
        assert bench.led.wavelength_nm == LED_WAVELENGTHS_NM[0]
        assert led.modulation_depth == pytest.approx(bench.led.modulation_depth)


def test_close_switches_the_output_off(servers):
    with DC2200(servers.resources["ledsource"]) as led:
        led.current_a = 0.01
        led.output_enabled = True
    assert servers.bench.led.drive_current_a == 0.0


def test_sim_takes_over_the_led_as_set_up(servers):
    # The default bench LED (850 nm, 20 mA) keeps shining until the source changes it, so
    # simulators started with an LED setting from the command line keep their light.
    device = servers.devices["ledsource"]
    assert device.output_on
    assert device.wavelength_nm == servers.bench.led.wavelength_nm


@pytest.mark.parametrize(
    ("attribute", "value", "pattern"),
    [
        ("current_a", 1.5, r"LED current 1.5 A outside the allowed range 0 … 1 A"),
        ("current_a", -0.01, r"outside the allowed range 0 … 1 A"),
        ("wavelength_nm", 700.0, r"no 700 nm LED; available: 660, 760, 850, 940 nm"),
        ("channel", 5, r"channel 5 outside the allowed range 1 … 4"),
    ],
)
def test_invalid_values_raise_before_anything_is_sent(servers, attribute, value, pattern):
    with DC2200(servers.resources["ledsource"]) as led:
        sent = len(servers.devices["ledsource"].command_log)
        with pytest.raises(ValueError, match=pattern):
            setattr(led, attribute, value)
        assert len(servers.devices["ledsource"].command_log) == sent


def test_device_side_range_errors_are_reported(servers):
    with DC2200(servers.resources["ledsource"]) as led:
        with pytest.raises(DeviceErrorResponse, match="-222"):
            led.write_checked("SOUR:CURR 2")
        with pytest.raises(DeviceErrorResponse, match="-222"):
            led.write_checked("SOURce:CHANnel 9")


def test_long_form_headers_are_understood(servers):
    with DC2200(servers.resources["ledsource"]) as led:
        led.write_checked("SOURce:CURRent:LEVel:IMMediate:AMPLitude 0.03")
        led.write_checked("OUTPut:STATe ON")
        assert led.current_a == pytest.approx(0.03)
        assert servers.bench.led.drive_current_a == pytest.approx(0.03)
