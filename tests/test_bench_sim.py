"""The bench scene's truths, the device-side parsers, and the simulator process lifecycle."""

from __future__ import annotations

import math
import socket

import pytest

from drivers.sim.bench import LED_WAVELENGTHS_NM, OpticalBench
from drivers.sim.processes import ScpiSimulator
from drivers.sim.scpi_instruments import PowerMeterSim
from drivers.sim.scpi_server import INSTRUMENT_NAMES, start_in_thread

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def servers():
    with start_in_thread(seed=51) as running:
        yield running


def test_responsivity_is_silicon_like():
    bench = OpticalBench()
    responsivity = {nm: bench.photodiode.responsivity_a_per_w(nm) for nm in LED_WAVELENGTHS_NM}
    assert 0.5 <= responsivity[940.0] <= 0.65
    assert responsivity[660.0] < responsivity[760.0] < responsivity[850.0] < responsivity[940.0]
    assert bench.photodiode.responsivity_a_per_w(1150.0) < 0.1 * responsivity[940.0]
    for nm in LED_WAVELENGTHS_NM:
        bench.set_led(wavelength_nm=nm)
        assert 0.6 < bench.truth().external_quantum_efficiency < 0.9


def test_noise_nep_and_detectivity_are_consistent():
    bench = OpticalBench(bias_v=-1.0)
    truth = bench.truth(frequency_hz=1000.0)
    q, k = 1.602176634e-19, 1.380649e-23
    white = 2 * q * abs(truth.dark_current_a) + 4 * k * 298.15 / truth.shunt_resistance_ohm
    flicker = 1 + bench.photodiode.flicker_corner_hz / 1000.0
    assert truth.dark_noise_current_density_a_per_rthz == pytest.approx(math.sqrt(white * flicker))
    assert truth.nep_w_per_rthz == pytest.approx(
        truth.dark_noise_current_density_a_per_rthz / truth.responsivity_a_per_w
    )
    area_cm2 = truth.active_area_mm2 / 100.0
    assert truth.specific_detectivity_jones == pytest.approx(
        math.sqrt(area_cm2) / truth.nep_w_per_rthz
    )
    assert 1e11 < truth.specific_detectivity_jones < 1e14
    assert truth.noise_current_density_a_per_rthz > truth.dark_noise_current_density_a_per_rthz
    assert bench.truth(frequency_hz=10.0).nep_w_per_rthz > truth.nep_w_per_rthz  # 1/f


def test_led_power_is_sublinear_and_falls_with_temperature():
    bench = OpticalBench()
    powers = []
    for current in (0.01, 0.02, 0.04):
        bench.set_led(drive_current_a=current)
        powers.append(bench.truth().led_mean_power_w)
    assert powers[0] > 0
    assert powers[1] / powers[0] < 2.0
    assert powers[1] / powers[0] > 1.9
    assert powers[2] / powers[1] < powers[1] / powers[0]
    bench.temperature_c = 45.0
    assert bench.truth().led_mean_power_w < powers[2]
    bench.set_led(drive_current_a=0.0)
    assert bench.truth().photocurrent_mean_a == 0.0
    with pytest.raises(ValueError, match="not one of"):
        bench.set_led(wavelength_nm=700.0)


def test_streams_are_reproducible_from_the_seed():
    def readings(seed: int) -> list[float]:
        meter = PowerMeterSim(OpticalBench(seed=seed))
        return [meter.read_power_w() for _ in range(5)]

    assert readings(7) == readings(7)
    assert readings(7) != readings(8)


@pytest.mark.parametrize(
    ("key", "commands", "expected"),
    [
        ("sr830", ["SENS20", "SENS?"], "20"),
        ("sr830", ["SENS 21", "SENS ?"], "21"),
        ("sr860", ["SCAL 3", "SCAL?"], "3"),
        ("sr830", ["FREQ 1234.5", "FREQ?"], "1234.5"),
        ("sr830", ["OUTX 1", "OUTP?3"], None),
        ("sr830", ["OUTX 1", "OUTP? 3"], None),
        ("sr860", ["FREQ 555", "OUTP? 15"], "555"),
        ("sr860", ["FREQ 556", "OUTP? FInt"], "556"),
        ("sourcemeter", [":SOURce:VOLTage:LEVel:IMMediate:AMPLitude 1.5", ":SOUR:VOLT?"], None),
        ("powermeter", ["SENSE:CORRECTION:WAVELENGTH 905", "SENS:CORR:WAV?"], None),
    ],
)
def test_both_command_dialects_are_understood(servers, raw, key, commands, expected):
    resource = raw(servers.resources[key])
    *setup, query = commands
    for command in setup:
        resource.write(command)
    answer = resource.query(query)
    if expected is not None:
        assert answer == expected
    elif key.startswith("sr"):
        # R of the bench signal, within its noise after settling from the last command.
        expected_r = servers.bench.truth(float(resource.query("FREQ?"))).lockin_r_v_rms
        assert float(answer) == pytest.approx(expected_r, rel=0.2)
    else:
        assert float(answer) == pytest.approx(float(setup[0].split()[-1]))
    assert resource.query("*ESR?" if key.startswith("sr") else "SYST:ERR?") in ("0", '0,"No error"')


def test_sr830_outp_index_outside_one_to_four_is_an_execution_error(servers, raw):
    resource = raw(servers.resources["sr830"])
    resource.write("OUTP? 9;*ESR?")
    assert int(resource.read()) & (1 << 4)


def test_esr_reports_execution_and_command_errors(servers, raw):
    resource = raw(servers.resources["sr830"])
    resource.write("SENS 27")
    assert int(resource.query("*ESR?")) == 1 << 4
    assert resource.query("SENS?") == "26"  # unchanged default
    resource.write("BOGUS 1")
    assert int(resource.query("*ESR?")) == 1 << 5
    assert int(resource.query("*ESR?")) == 0


def test_multiple_queries_on_one_line_answer_semicolon_separated(servers, raw):
    resource = raw(servers.resources["sr860"])
    assert resource.query("SCAL 5;SCAL?;OFSL?") == "5;1"


def test_lias_latches_overload_until_read(servers, raw):
    resource = raw(servers.resources["sr830"])
    resource.write("SENS 17")  # 1 mV full scale, far below the bench signal
    overloaded = int(resource.query("LIAS?"))
    resource.write("SENS 26")
    assert overloaded & (1 << 2)
    resource.query("LIAS?")  # clears what latched before the range change
    assert int(resource.query("LIAS?")) & 0b111 == 0


def test_simulator_process_serves_all_instruments_and_is_reaped(raw):
    with ScpiSimulator(seed=3) as simulator:
        assert set(simulator.resources) == set(INSTRUMENT_NAMES)
        for name, resource_name in simulator.resources.items():
            assert resource_name.startswith("TCPIP::127.0.0.1::")
            assert resource_name.endswith("::SOCKET")
            assert raw(resource_name).query("*IDN?"), name
        process = simulator.process
        port = int(simulator.resources["sr830"].split("::")[2])
    assert process.poll() == 0  # SIGTERM handled: clean shutdown
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_in_thread_servers_release_their_ports():
    with start_in_thread(seed=1) as running:
        port = int(running.resources["powermeter"].split("::")[2])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
