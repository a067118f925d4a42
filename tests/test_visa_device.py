"""VisaDevice transport behaviour: parsing on a static fake, locking, and lost connections."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

import pytest
import pyvisa

from drivers.errors import DeviceDisconnected, DeviceTimeout, ProtocolError
from drivers.sim.processes import ScpiSimulator
from drivers.sim.scpi_server import start_in_thread
from drivers.sr830 import SR830
from drivers.visa_device import VisaDevice, instrument_lock

pytestmark = pytest.mark.timeout(60)

STATIC_YAML = Path(__file__).parent / "data" / "static_instruments.yaml"


@pytest.fixture
def static_manager():
    manager = pyvisa.ResourceManager(f"{STATIC_YAML}@sim")
    yield manager
    manager.close()


@pytest.fixture
def servers():
    with start_in_thread(seed=5) as running:
        yield running


def test_static_fake_reading_is_parsed_with_table_lookups(static_manager):
    with SR830("GPIB0::8::INSTR", resource_manager=static_manager) as lockin:
        reading = lockin.measure(auto_range=False)
        assert reading.x_v == pytest.approx(0.951359)
        assert reading.theta_deg == pytest.approx(1.525114)
        assert reading.overloaded  # LIAS? = 4: output overload bit
        assert not reading.valid
        assert reading.sensitivity_v == pytest.approx(50e-3)  # SENS index 22
        assert reading.time_constant_s == pytest.approx(100e-3)  # OFLT index 8
        lockin.sensitivity_v = 2e-9
        assert lockin.sensitivity_v == pytest.approx(2e-9)


def test_static_fake_malformed_answer_is_protocol_error(static_manager):
    lockin = SR830("GPIB0::8::INSTR", resource_manager=static_manager, name="bench lock-in")
    with lockin, pytest.raises(ProtocolError, match=r"bench lock-in at GPIB0::8::INSTR.*FREQ\?"):
        _ = lockin.frequency_hz


def test_wrong_model_is_refused_on_connect(static_manager):
    lockin = SR830("GPIB0::9::INSTR", resource_manager=static_manager)
    with pytest.raises(ProtocolError, match="expected a SR830.*DMM-1"):
        lockin.connect()
    assert not lockin.is_connected


def test_constructor_opens_nothing_and_unconnected_use_is_reported():
    lockin = SR830("TCPIP::127.0.0.1::9::SOCKET")
    assert not lockin.is_connected
    with pytest.raises(DeviceDisconnected, match=r"SR830 at TCPIP::127.0.0.1::9::SOCKET.*connect"):
        lockin.query("*IDN?")


def test_drivers_of_one_instrument_share_one_lock():
    first = VisaDevice("TCPIP::127.0.0.1::5025::SOCKET")
    second = VisaDevice("tcpip::127.0.0.1::5025::socket")
    other = VisaDevice("TCPIP::127.0.0.1::5026::SOCKET")
    assert first._lock is second._lock is instrument_lock("TCPIP::127.0.0.1::5025::SOCKET")
    assert other._lock is not first._lock


def test_two_threads_never_interleave_commands(servers):
    device_side = servers.devices["sr830"]
    rounds = 150
    answers: dict[str, list[str]] = {"idn": [], "freq": []}
    errors: list[BaseException] = []
    with SR830(servers.resources["sr830"]) as lockin:
        lockin.frequency_hz = 1234.5
        log_start = len(device_side.command_log)

        def hammer(key: str, command: str) -> None:
            try:
                for _ in range(rounds):
                    answers[key].append(lockin.query(command))
            except BaseException as error:  # reported in the main thread
                errors.append(error)

        threads = [
            threading.Thread(target=hammer, args=("idn", "*IDN?")),
            threading.Thread(target=hammer, args=("freq", "FREQ?")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert set(answers["idn"]) == {device_side.idn}
    assert set(answers["freq"]) == {"1234.5"}
    assert len(device_side.command_log) - log_start == 2 * rounds


def test_killed_server_raises_clear_error(caplog):
    caplog.set_level(logging.INFO, logger="drivers")
    with ScpiSimulator(seed=2) as simulator:
        resource = simulator.resources["sr830"]
        with SR830(resource, timeout_s=0.5, name="killed lock-in") as lockin:
            assert lockin.identify().model == "SR830"
            os.kill(simulator.pid, signal.SIGKILL)
            simulator.process.wait()
            with pytest.raises((DeviceDisconnected, DeviceTimeout)) as raised:
                lockin.identify()
            assert "killed lock-in" in str(raised.value)
            assert resource in str(raised.value)
            assert not lockin.is_connected
    # The lost link and the dropped connection are logged with the instrument's name.
    logged = [r.getMessage() for r in caplog.records if r.name == "drivers.visa_device"]
    assert any("killed lock-in" in m and "during '*IDN?'" in m for m in logged)
    assert any("killed lock-in" in m and "connection closed" in m for m in logged)
