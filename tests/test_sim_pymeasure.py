"""PyMeasure's own instrument classes (an independent driver) against the simulated bench.

Every property of PyMeasure's ``SR830``, ``SR860``, ``Keithley2400`` and ``ThorlabsPM100USB``
is found by introspection and exercised over ``TCPIP::127.0.0.1::PORT::SOCKET`` through
pyvisa-py: each setting is set to a value other than its present one and read back; each
reading is read and checked against the bench's truth where it has one. What the real
instrument lacks (or what PyMeasure sends that the real instrument refuses) is listed in
``UNAVAILABLE`` with the reason, and checked to fail as it would on the real one.
Methods are exercised one by one in the tests below; ``test_every_property_and_method_is_
covered`` makes sure none is forgotten.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import numpy as np
import pytest
from pymeasure.instruments.keithley import Keithley2400
from pymeasure.instruments.srs import SR830, SR860
from pymeasure.instruments.thorlabs import ThorlabsPM100USB

from drivers.sim.scpi_server import BenchServers, start_in_thread

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # PyMeasure's deprecated aliases
]

CLASSES: dict[str, type] = {
    "sr830": SR830,
    "sr860": SR860,
    "sourcemeter": Keithley2400,
    "powermeter": ThorlabsPM100USB,
}
CONNECTION = {
    "read_termination": "\n",
    "write_termination": "\n",
    "timeout": 3000,
    "visa_library": "@py",
}

# What the real instrument lacks or refuses, or PyMeasure's class cannot send, by "property"
# or "property.set": the reason.
UNAVAILABLE: dict[str, dict[str, str]] = {
    "sr830": {
        "complete": "no *OPC? on the SR830; PyMeasure's class raises NotImplementedError",
        "next_error": "no SYST:ERR? on the SR830 (errors are ERRS?/*ESR? bits); PyMeasure raises",
        "options": "no *OPT? on the SR830; PyMeasure's class raises NotImplementedError",
    },
    "sr860": {
        "id": "PyMeasure's SR860 is built without SCPI commands and raises (the simulator "
        "answers *IDN?, see test_sr860_common_commands_answer)",
        "status": "as id (*STB? answers, see test_sr860_common_commands_answer)",
        "complete": "as id (*OPC? answers, see test_sr860_common_commands_answer)",
        "next_error": "no SYST:ERR? on the SR86x (errors are *ESR?/ERRS? bits)",
        "options": "no *OPT? on the SR86x",
        "filter_advanced.set": "PyMeasure sends ADVFIL; the SR86x command is ADVFILT "
        "(command error, setting unchanged)",
        "horizontal_time_div.set": "PyMeasure sends GSDP; the SR86x command is GSPD "
        "(command error, setting unchanged)",
        "reference_externalinput.set": "PyMeasure's set format 'REFZ&d' takes no value: "
        "PyMeasure raises TypeError before sending",
    },
    "sourcemeter": {},
    "powermeter": {
        "energy": "the S120C photodiode sensor measures power, not energy (its flags say so); "
        "PyMeasure raises AttributeError, MEAS:ENER? answers an error",
    },
}

# Value to set (and what reads back, if it differs) where the first other allowed value would
# not do: a table entry, a range the instrument selects, a value its physics refuses.
SET_VALUES: dict[str, dict[str, tuple[Any, Any]]] = {
    "sr830": {
        "channel1": ("R", [1.0, 0.0]),  # DDEF? answers "j,k": PyMeasure returns the pair
        "channel2": ("Theta", [1.0, 0.0]),
        "frequency": (1234.5, 1234.5),
        "phase": (45.0, 45.0),
        "sine_voltage": (0.5, 0.5),
        "sensitivity": (0.5, 0.5),
        "time_constant": (0.03, 0.03),
        "harmonic": (2, 2),
        "sample_frequency": (512, 512),
        "reserve": ("Low Noise", "Low Noise"),
    },
    "sr860": {
        "frequency": (1234.5, 1234.5),
        "internalfrequency": (2345.5, 2345.5),
        "phase": (45.0, 45.0),
        "sine_voltage": (0.5, 0.5),
        "dcmode": ("DIF", "DIF"),
        "input_signal": ("CURR", "CURR"),
        "sensitivity": (0.05, 0.05),
        "time_constant": (0.03, 0.03),
        "harmonic": (3, 3),
        "harmonicdual": (3, 3),
        "filter_slope": (3, 3),
        "horizontal_time_div": (5, 1),  # GSDP refused: stays at its default
        "filter_advanced": ("On", "Off"),  # ADVFIL refused: stays off
        **{f"sine_amplitudepreset{n}": (0.25, 0.25) for n in range(1, 5)},
        **{f"sine_dclevelpreset{n}": (-1.5, -1.5) for n in range(1, 5)},
        **{f"frequencypreset{n}": (777.0, 777.0) for n in range(1, 5)},
    },
    "sourcemeter": {
        "auto_zero": (False, False),
        "buffer_points": (10, 10),
        "compliance_current": (0.01, 0.01),
        "compliance_voltage": (5.0, 5.0),
        "current_range": (0.002, 1.05e-2),  # the most sensitive range that holds 2 mA
        "source_current_range": (1.05e-3, 1.05e-3),
        "voltage_range": (5.0, 21.0),
        "source_voltage_range": (2.1, 2.1),
        "resistance_range": (2.1e4, 2.1e4),
        "current_nplc": (2.5, 2.5),
        "voltage_nplc": (0.5, 0.5),
        "resistance_nplc": (5.0, 5.0),
        "filter_state": ("ON", 1.0),  # the 2400 answers 1; PyMeasure does not map it back
        "filter_count": (25, 25),
        "source_current": (-1e-6, -1e-6),
        "source_voltage": (-1.5, -1.5),
        "source_delay": (0.5, 0.5),
        "trigger_delay": (0.25, 0.25),
        "arm_timer": (2.5, 2.5),
        "line_frequency": (60, 60),
        "output_off_state": ("zero", "zero"),
        "trigger_count": (5, 5),
        "arm_count": (2, 2),
        **{
            f"{layer}_{way}_line": (3, 3)
            for layer in ("trigger", "arm")
            for way in ("input", "output")
        },
    },
    "powermeter": {"wavelength": (850.0, 850.0)},
}


def pymeasure_properties(cls: type) -> dict[str, property]:
    """Public properties the PyMeasure class defines (its own module and its mixins')."""
    found: dict[str, property] = {}
    for klass in reversed(cls.__mro__):
        for name, attribute in vars(klass).items():
            if isinstance(attribute, property) and not name.startswith("_"):
                found[name] = attribute
    return found


def pymeasure_methods(cls: type) -> set[str]:
    """Public methods of the class and of its instrument-family modules (not the generic
    ``Instrument`` plumbing such as ``ask``/``write``)."""
    family = cls.__module__.rsplit(".", 1)[0]
    return {
        name
        for klass in cls.__mro__
        if klass.__module__.startswith(family)
        for name, attribute in vars(klass).items()
        if inspect.isfunction(attribute) and not name.startswith("_")
    }


def property_kind(prop: property) -> str:
    """``control`` (PyMeasure settable), ``measurement`` (PyMeasure read-only) or ``plain``."""
    getter_defaults = getattr(prop.fget, "__defaults__", None) or ()
    setter_defaults = getattr(prop.fset, "__defaults__", None) or ()
    if getter_defaults and setter_defaults and isinstance(getter_defaults[0], str | None):
        return "control" if setter_defaults[0] is not None else "measurement"
    return "plain"


def allowed_values(prop: property) -> Any:
    """The ``values`` a PyMeasure control validates against."""
    return prop.fset.__defaults__[2]  # type: ignore[union-attr]


def other_value(prop: property, present: Any) -> Any:
    """An allowed value different from ``present``."""
    values = allowed_values(prop)
    validator = prop.fset.__defaults__[1].__name__  # type: ignore[union-attr]
    if isinstance(values, range):
        candidates = list(values)[:4]
    elif validator not in ("strict_range", "truncated_range"):
        candidates = list(values)
    else:  # [low, high]
        low, high = values
        candidates = [low + 0.375 * (high - low), low + 0.625 * (high - low)]
    for candidate in candidates:
        if not _same(candidate, present):
            return candidate
    raise AssertionError(f"no other value among {candidates!r}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-3, abs_tol=1e-9)
    return bool(a == b)


@pytest.fixture
def servers() -> Iterator[BenchServers]:
    with start_in_thread(seed=7) as running:
        yield running


def connect(servers: BenchServers, key: str) -> Any:
    return CLASSES[key](servers.resources[key], **CONNECTION)


def device_errors(servers: BenchServers, key: str) -> int:
    """The instrument's standard event register, read through the device side."""
    return servers.devices[key].event_status


@pytest.mark.parametrize("key", list(CLASSES))
def test_every_property_the_real_instrument_has_works(servers, key):
    instrument = connect(servers, key)
    lacking = UNAVAILABLE[key]
    worked = []
    for name, prop in sorted(pymeasure_properties(CLASSES[key]).items()):
        if name in lacking or name in SPECIAL_PROPERTIES.get(key, ()):
            continue
        kind = property_kind(prop)
        present = getattr(instrument, name)
        assert present is not None, name
        settable = kind == "control" or (kind == "plain" and prop.fset is not None)
        if settable and f"{name}.set" not in lacking:
            value, expected = SET_VALUES[key].get(name, (None, None))
            if value is None:
                value = expected = other_value(prop, present)
            setattr(instrument, name, value)
            read_back = getattr(instrument, name)
            assert _same(read_back, expected), f"{name}: set {value!r}, read {read_back!r}"
            assert device_errors(servers, key) == 0, f"{name}: the instrument refused {value!r}"
        worked.append(name)
    assert worked
    instrument.adapter.close()


@pytest.mark.parametrize("key", list(CLASSES))
def test_what_the_real_instrument_lacks_fails_as_it_would(servers, key):
    instrument = connect(servers, key)
    for entry in UNAVAILABLE[key]:
        name, _, part = entry.partition(".")
        if part == "set":
            prop = pymeasure_properties(CLASSES[key])[name]
            before = getattr(instrument, name)
            with pytest.raises(TypeError) if name == "reference_externalinput" else nullcontext():
                setattr(instrument, name, SET_VALUES[key].get(name, (None,))[0] or before)
            assert _same(getattr(instrument, name), before), name
            if name != "reference_externalinput":
                assert int(instrument.ask("*ESR?")) & (1 << 5), f"{name}: no command error"
            assert property_kind(prop) == "control"
        else:
            with pytest.raises((NotImplementedError, AttributeError)):
                getattr(instrument, name)
    instrument.adapter.close()


SPECIAL_PROPERTIES = {
    # Read after their buffer is filled, in the buffer tests below.
    "sourcemeter": {
        "buffer_data",
        *(
            f"{s}_{q}"
            for s in ("mean", "max", "min", "std")
            for q in ("voltage", "current", "resistance")
        ),
        "means",
        "maximums",
        "minimums",
        "standard_devs",
    },
}


# --- readings against the bench's truth --------------------------------------------------


def test_lockin_readings_match_the_bench(servers):
    truth = servers.bench.truth(1000.0)
    for key in ("sr830", "sr860"):
        lockin = connect(servers, key)
        lockin.time_constant = 0.1
        noise = truth.lockin_noise_density_v_per_rthz * math.sqrt(1.0 / (8 * 0.1))
        tolerance = 0.02 * truth.lockin_r_v_rms + 10 * noise
        assert lockin.magnitude == pytest.approx(truth.lockin_r_v_rms, abs=tolerance)
        x, y = lockin.snap("X", "Y")
        assert math.hypot(x, y) == pytest.approx(truth.lockin_r_v_rms, abs=tolerance)
        assert lockin.theta == pytest.approx(truth.lockin_theta_deg, abs=2.0)
        lockin.adapter.close()


def test_sourcemeter_and_power_meter_readings_match_the_bench(servers):
    smu = connect(servers, "sourcemeter")
    smu.source_voltage = -2.0
    smu.enable_source()
    assert smu.source_enabled  # a query: the writes before it have been executed
    expected = servers.bench.diode_current_a()
    noise = servers.devices["sourcemeter"].current_noise_a()
    assert smu.current == pytest.approx(expected, abs=6 * noise)
    meter = connect(servers, "powermeter")
    meter.wavelength = servers.bench.led.wavelength_nm
    power = np.mean([meter.power for _ in range(10)])
    assert power == pytest.approx(servers.bench.power_meter_power_w(), rel=0.01)
    smu.adapter.close()
    meter.adapter.close()


# --- methods ---------------------------------------------------------------------------------

SR830_METHODS = {
    "clear", "reset", "auto_gain", "auto_reserve", "auto_phase", "auto_offset", "get_scaling",
    "set_scaling", "output_conversion", "aquireOnTrigger", "is_out_of_range", "quick_range",
    "fill_buffer", "buffer_measure", "pause_buffer", "start_buffer", "wait_for_buffer",
    "get_buffer", "reset_buffer", "trigger", "snap", "save_setup", "load_setup", "start_scan",
    "pause_scan",
}  # fmt: skip
SR860_METHODS = {"snap", "snap_all", "screenshot"}
KEITHLEY_METHODS = {
    "reset_data_format", "enable_source", "disable_source", "auto_zero_once",
    "auto_range_source", "measure_all", "measure_current", "measure_voltage",
    "measure_resistance", "apply_current", "apply_voltage", "ramp_to_current",
    "ramp_to_voltage", "trigger", "reset_trigger", "clear_trigger", "disable_output_triggers",
    "trigger_on_bus", "trigger_on_external", "trigger_immediately", "sample_continuously",
    "set_trigger_counts", "set_timed_arm", "disable_output_trigger", "output_trigger_on_external",
    "beep", "triad", "use_rear_terminals", "use_front_terminals", "shutdown", "config_buffer",
    "is_buffer_full", "wait_for_buffer", "start_buffer", "reset_buffer", "stop_buffer",
    "disable_buffer",
}  # fmt: skip
PM100_METHODS: set[str] = set()
METHODS = {
    "sr830": SR830_METHODS,
    "sr860": SR860_METHODS,
    "sourcemeter": KEITHLEY_METHODS,
    "powermeter": PM100_METHODS,
}


@pytest.mark.parametrize("key", list(CLASSES))
def test_every_property_and_method_is_covered(key):
    assert pymeasure_methods(CLASSES[key]) == METHODS[key]
    properties = set(pymeasure_properties(CLASSES[key]))
    lacking = {entry.partition(".")[0] for entry in UNAVAILABLE[key]}
    assert {entry.partition(".")[0] for entry in SET_VALUES[key]} <= properties
    assert lacking <= properties
    assert SPECIAL_PROPERTIES.get(key, set()) <= properties


def test_sr830_auto_functions_scaling_and_setups(servers):
    lockin = connect(servers, "sr830")
    device = servers.devices["sr830"]
    truth = servers.bench.truth(1000.0)
    lockin.time_constant = 0.01
    lockin.sensitivity = 1.0
    lockin.auto_gain()
    assert truth.lockin_r_v_rms <= lockin.sensitivity <= 5 * truth.lockin_r_v_rms
    lockin.auto_reserve()
    lockin.auto_phase()
    assert abs(lockin.theta) < 1.0
    lockin.auto_offset("X")
    offset, expand = lockin.get_scaling("X")
    assert offset == pytest.approx(100 * truth.lockin_r_v_rms / lockin.sensitivity, rel=0.05)
    assert expand == 1
    lockin.set_scaling("Y", 10.0, 1)  # PyMeasure sends the index: 1 = x10
    assert lockin.get_scaling("Y") == (pytest.approx(10.0), 10)
    convert = lockin.output_conversion("X")
    assert convert(0.0) == pytest.approx(offset / 100 * lockin.sensitivity)
    lockin.save_setup(3)
    lockin.frequency = 321.0
    lockin.load_setup(3)
    assert lockin.frequency == pytest.approx(1000.0)
    assert lockin.is_out_of_range() is False
    lockin.clear()
    lockin.reset()
    assert lockin.sensitivity == 1.0 and device.event_status == 0


def test_sr830_quick_range_steps_out_of_overload(servers):
    lockin = connect(servers, "sr830")
    lockin.time_constant = 0.001
    lockin.sensitivity = 1e-3  # far below the bench signal
    lockin.quick_range()
    r = servers.bench.truth(1000.0).lockin_r_v_rms
    assert r < lockin.sensitivity < 3 * r
    assert lockin.is_out_of_range() is False


def test_sr830_data_storage(servers):
    lockin = connect(servers, "sr830")
    lockin.adapter.connection.timeout = 300  # binary reads end at the timeout
    r = servers.bench.truth(1000.0).lockin_r_v_rms
    lockin.time_constant = 0.01
    lockin.channel1 = "R"
    lockin.sample_frequency = 512
    lockin.reset_buffer()
    lockin.start_buffer(fast=False)  # FAST0 only
    lockin.start_scan()
    lockin.wait_for_buffer(20)
    lockin.pause_scan()
    stored = lockin.buffer_count
    assert stored >= 20
    ch1 = lockin.get_buffer(1, 0, 10)
    assert ch1.dtype == np.float32 and ch1.size == 10
    assert np.allclose(ch1, r, rtol=0.05)
    ch1, ch2 = lockin.fill_buffer(5)
    assert np.allclose(ch1, r, rtol=0.05)
    assert ch2.size == 5 and np.all(np.abs(ch2) < 0.2 * r)  # CH2 shows Y, in phase: small
    lockin.reset_buffer()
    mean1, std1, _, _ = lockin.buffer_measure(10)
    assert mean1 == pytest.approx(r, rel=0.05) and std1 < 0.05 * r
    lockin.pause_buffer()
    lockin.reset_buffer()
    lockin.sample_frequency = None  # trigger mode
    lockin.aquireOnTrigger(True)
    for _ in range(3):
        lockin.trigger()
    assert lockin.buffer_count == 3
    assert lockin.lia_status & 64  # data storage triggered
    lockin.start_buffer(fast=True)
    assert servers.devices["sr830"].event_status == 0


def test_sr860_snaps_and_screenshot(servers):
    lockin = connect(servers, "sr860")
    x, y, r, theta = lockin.snap_all()
    assert math.hypot(x, y) == pytest.approx(r, rel=1e-3)
    assert math.degrees(math.atan2(y, x)) == pytest.approx(theta, abs=0.1)
    assert len(lockin.snap("X", "Y", "THeta")) == 3
    assert len(lockin.snap(0, 15)) == 2
    lockin.screenshot()
    assert servers.devices["sr860"].event_status == 0


def test_sr860_common_commands_answer(servers):
    lockin = connect(servers, "sr860")
    assert lockin.ask("*IDN?").startswith("Stanford_Research_Systems,SR860")
    assert int(lockin.ask("*STB?")) == 0
    assert lockin.ask("*OPC?") == "1"


@pytest.mark.parametrize(("name", "value"), [("dcmode", "difference"), ("input_signal", "current")])
def test_sr860_pymeasure_values_the_instrument_refuses_set_the_error_bit(servers, name, value):
    # PyMeasure maps these to indices 3 (REFM 3, IVMD 3) that the SR86x does not have.
    lockin = connect(servers, "sr860")
    before = getattr(lockin, name)
    setattr(lockin, name, value)
    assert int(lockin.ask("*ESR?")) & (1 << 4)
    assert getattr(lockin, name) == before


def test_keithley_sourcing_and_measuring_methods(servers):
    smu = connect(servers, "sourcemeter")
    bench = servers.bench
    smu.reset()
    smu.reset_data_format()
    smu.apply_voltage(compliance_current=0.01)
    smu.source_voltage = -1.0
    smu.enable_source()
    assert smu.source_enabled  # a query: the writes before it have been executed
    assert bench.bias_v == pytest.approx(-1.0)
    smu.measure_current(nplc=1, current=1e-3, auto_range=False)
    assert smu.current == pytest.approx(bench.diode_current_a(), rel=0.01)
    everything = smu.measure_all()
    assert everything["voltage"] == pytest.approx(-1.0, abs=1e-3)
    assert everything["resistance"] == pytest.approx(-1.0 / everything["current"], rel=0.01)
    smu.measure_voltage(nplc=1, voltage=21.0)
    smu.measure_resistance(nplc=1, resistance=2.1e5)
    smu.ramp_to_voltage(-2.0, steps=3, pause=0)
    assert smu.source_voltage == pytest.approx(-2.0)
    smu.apply_current(compliance_voltage=5.0)
    smu.ramp_to_current(-1e-6, steps=3, pause=0)
    smu.enable_source()
    assert smu.current == pytest.approx(-1e-6, rel=1e-6)
    # The diode carries -1 µA at the bias where dark current minus photocurrent is -1 µA.
    bias_v = smu.voltage
    assert bias_v > 0.0  # forward: less than the photocurrent flows in reverse
    dark = bench.photodiode.dark_current_a(bias_v, bench.temperature_c)
    assert dark - bench.photocurrent_mean_a() == pytest.approx(-1e-6, rel=0.01)
    smu.auto_range_source()
    smu.auto_zero_once()
    smu.beep(440, 0.01)
    smu.triad(440, 0.01)
    smu.use_rear_terminals()
    assert smu.front_terminals_enabled is False
    smu.use_front_terminals()
    smu.disable_source()
    assert not smu.source_enabled
    assert bench.bias_v == 0.0
    smu.check_errors()
    smu.shutdown()
    assert not servers.devices["sourcemeter"].output_on


def test_keithley_trigger_model_methods(servers):
    smu = connect(servers, "sourcemeter")
    smu.trigger_on_bus()
    assert (smu.arm_source, smu.trigger_source, smu.arm_count) == ("bus", "immediate", 1)
    smu.trigger()
    smu.trigger_on_external(line=2)
    assert (smu.arm_input_line, smu.trigger_input_line) == (2, 2)
    smu.trigger_immediately()
    smu.disable_output_triggers()
    assert smu.trigger_output_event == "none"
    smu.output_trigger_on_external(line=3, after="SENS")
    assert (smu.trigger_output_event, smu.trigger_output_line) == ("sense", 3)
    smu.disable_output_trigger()
    smu.set_trigger_counts(2, 3)
    assert (smu.arm_count, smu.trigger_count) == (2, 3)
    smu.set_timed_arm(0.5)
    assert smu.arm_source == "timer" and smu.arm_timer == pytest.approx(0.5)
    smu.sample_continuously()
    smu.reset_trigger()
    smu.clear_trigger()
    with pytest.raises(ValueError):
        smu.trigger_count = 2501  # PyMeasure's own check: arm × trigger ≤ 2500
    smu.check_errors()


def test_keithley_buffer_and_statistics(servers):
    smu = connect(servers, "sourcemeter")
    smu.source_voltage = -1.0
    smu.enable_source()
    smu.config_buffer(points=8)
    assert not smu.is_buffer_full()
    smu.start_buffer()
    smu.wait_for_buffer(timeout=5, interval=0.01)
    assert smu.is_buffer_full()
    data = smu.buffer_data.reshape(-1, 5)
    assert data.shape == (8, 5)
    currents = data[:, 1]
    expected = servers.bench.diode_current_a()
    assert smu.mean_current == pytest.approx(currents.mean(), rel=1e-5)
    assert smu.mean_current == pytest.approx(expected, rel=0.01)
    assert smu.max_current == pytest.approx(currents.max(), rel=1e-5)
    assert smu.min_current == pytest.approx(currents.min(), rel=1e-5)
    assert smu.std_current == pytest.approx(currents.std(ddof=1), rel=1e-3)
    assert smu.mean_voltage == pytest.approx(-1.0, abs=1e-3)
    for name in ("max_voltage", "min_voltage", "std_voltage", "mean_resistance",
                 "max_resistance", "min_resistance", "std_resistance"):  # fmt: skip
        assert math.isfinite(getattr(smu, name)), name
    for name in ("means", "maximums", "minimums", "standard_devs"):
        assert len(getattr(smu, name)) == 3, name
    smu.disable_buffer()
    smu.stop_buffer()
    smu.reset_buffer()
    smu.check_errors()
