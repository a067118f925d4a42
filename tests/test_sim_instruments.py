"""The simulated instruments' command sets, error behaviour and physics, over raw pyvisa-py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drivers.sim.lockin_models import SR830_FACTS, SR860_FACTS, Param
from drivers.sim.scpi_core import ERROR_QUEUE_LENGTH
from drivers.sim.scpi_server import start_in_thread

pytestmark = pytest.mark.timeout(120)

EXE = 1 << 4
CMD = 1 << 5


@pytest.fixture
def servers():
    with start_in_thread(seed=23) as running:
        yield running


def _query(param: Param) -> str:
    channel = f" {param.channels[-1]}" if param.channels else ""
    return f"{param.mnemonic}?{channel}"


def _set(param: Param, value: float) -> str:
    channel = f"{param.channels[-1]}," if param.channels else ""
    text = str(int(value)) if param.integer else repr(value)
    return f"{param.mnemonic} {channel}{text}"


@pytest.mark.parametrize(
    ("key", "param"),
    [("sr830", p) for p in SR830_FACTS.params if p.mnemonic not in ("OUTX",)]
    + [("sr860", p) for p in SR860_FACTS.params],
    ids=lambda value: getattr(value, "mnemonic", value),
)
def test_every_lockin_setting_applies_valid_values_and_refuses_invalid_ones(
    servers, raw, key, param
):
    resource = raw(servers.resources[key])
    resource.query("*ESR?")
    before = resource.query(_query(param))
    valid = param.high if float(before) != param.high else param.low
    if param.mnemonic == "HARM":
        valid = 5  # harmonic × frequency must stay within the frequency range
    if param.mnemonic == "PHAS":
        valid = 90.0  # phase reads back wrapped into ±180°
    resource.write(_set(param, valid))
    assert int(resource.query("*ESR?")) == 0, f"{param.mnemonic} {valid} refused"
    assert float(resource.query(_query(param))) == pytest.approx(valid)
    for invalid in (param.high + (1 if param.integer else abs(param.high) + 1), param.low - 1):
        resource.write(_set(param, invalid))
        assert int(resource.query("*ESR?")) & EXE, f"{param.mnemonic} {invalid} accepted"
        assert float(resource.query(_query(param))) == pytest.approx(valid)


@pytest.mark.parametrize("key", ["sr830", "sr860"])
def test_lockin_unknown_commands_set_only_the_command_error_bit(servers, raw, key):
    resource = raw(servers.resources[key])
    resource.query("*ESR?")
    resource.write("WXYZ 3")
    assert int(resource.query("*ESR?")) == CMD
    assert int(resource.query("*ESR? 5")) == 0  # read and cleared


def test_sr830_status_bytes_and_enables(servers, raw):
    resource = raw(servers.resources["sr830"])
    resource.write("LIAE 2,1;*ESE 48;*SRE 8")
    assert resource.query("LIAE?") == "4" and resource.query("*ESE?") == "48"
    resource.write("SENS 17")  # 1 mV: the bench signal overloads the output
    status = int(resource.query("*STB?"))
    assert status & (1 << 3) and status & (1 << 6)  # LIA summary, service request
    assert resource.query("LIAS? 2") == "1"
    assert resource.query("ERRS?") == "0"
    resource.write("SENS 26;*CLS")
    assert int(resource.query("*STB?")) & 0b1100 == 0
    resource.write("FREQ 150")  # the detection frequency crosses 200 Hz
    assert resource.query("LIAS? 4") == "1"
    resource.write("FREQ 180")
    assert resource.query("LIAS? 4") == "0"


def test_sr830_displays_follow_ddef_and_offsets(servers, raw):
    resource = raw(servers.resources["sr830"])
    r = servers.bench.truth(1000.0).lockin_r_v_rms
    resource.write("OFLT 5;DDEF 1,1,0")  # CH1 shows R
    assert float(resource.query("OUTR? 1")) == pytest.approx(r, rel=0.05)
    resource.write("SENS 26;OEXP 3,10,0")  # R offset by 10 % of 1 V
    assert float(resource.query("OUTR? 1")) == pytest.approx(r - 0.1, abs=0.01)
    assert resource.query("OEXP? 3") == "10.00,0"
    values = [float(v) for v in resource.query("SNAP? 1,2,3,4,9,10").split(",")]
    assert len(values) == 6 and values[4] == pytest.approx(1000.0)
    resource.write("SNAP? 1,2,3,4,5,6,7")  # at most six
    assert int(resource.query("*ESR?")) & EXE


def test_sr830_trace_beyond_stored_points_is_an_error(servers, raw):
    resource = raw(servers.resources["sr830"])
    resource.write("REST;SRAT 13;STRT")
    while int(resource.query("SPTS?")) < 5:
        pass
    resource.write("PAUS")
    stored = int(resource.query("SPTS?"))
    values = resource.query(f"TRCA? 1,0,{stored}").split(",")
    assert len(values) == stored
    resource.write(f"TRCA? 1,0,{stored + 1}")
    assert int(resource.query("*ESR?")) & EXE


def test_sr860_data_channels_and_snapd(servers, raw):
    resource = raw(servers.resources["sr860"])
    resource.write("CDSP 0,15;CDSP 1,12;PHAS 30")
    f, phase, r, _theta = (float(v) for v in resource.query("SNAPD?").split(","))
    assert (f, phase) == (pytest.approx(1000.0), pytest.approx(30.0))
    assert r == pytest.approx(servers.bench.truth(1000.0).lockin_r_v_rms, rel=0.05)
    assert float(resource.query("OUTR? DAT1")) == pytest.approx(1000.0)
    assert resource.query("OUTP? phase") == "30"
    resource.write("IRNG 4")  # 10 mV input range: the bench signal overloads the input
    resource.query("LIAS?")
    assert int(resource.query("LIAS?")) & (1 << 4)
    assert resource.query("ILVL?") == "4"


@pytest.mark.parametrize("key", ["sr830", "sr860"])
def test_external_reference_with_nothing_connected_unlocks(servers, raw, key):
    resource = raw(servers.resources[key])
    resource.write("FMOD 0" if key == "sr830" else "RSRC 1")
    resource.query("LIAS?")
    assert int(resource.query("LIAS?")) & (1 << 3)


@pytest.mark.parametrize("key", ["sourcemeter", "powermeter", "ledsource"])
def test_scpi_error_queue_semantics(servers, raw, key):
    resource = raw(servers.resources[key])
    resource.write("*CLS")
    resource.write(":BOGus:HEADer 1")
    resource.write(":SYSTem:ERRor:NEXT?X")  # not a command either
    assert int(resource.query("*ESR?")) == CMD
    assert resource.query("SYST:ERR:COUN?") == "2"
    assert resource.query("SYST:ERR?") == '-113,"Undefined header"'
    assert resource.query(":syst:err:next?") == '-113,"Undefined header"'
    assert resource.query("SYST:ERR?") == '0,"No error"'
    for _ in range(ERROR_QUEUE_LENGTH + 3):
        resource.write("NOPE")
    answers = resource.query("SYST:ERR:ALL?")
    assert answers.count("-113") == ERROR_QUEUE_LENGTH - 1
    assert answers.endswith('-350,"Queue overflow"')
    resource.write("NOPE;*CLS")
    assert resource.query("SYST:ERR?") == '0,"No error"'


def test_sourcemeter_refuses_and_keeps_the_previous_value(servers, raw):
    resource = raw(servers.resources["sourcemeter"])
    resource.write(":SOUR:VOLT 1.5")
    resource.write(":SOUR:VOLT 300")
    assert resource.query("SYST:ERR?") == '-222,"Data out of range"'
    assert int(resource.query("*ESR?")) & EXE
    assert float(resource.query(":SOUR:VOLT?")) == pytest.approx(1.5)
    assert float(resource.query(":SOUR:VOLT? MAX")) == pytest.approx(210.0)
    resource.write(":ARM:COUN 100;:TRIG:COUN 100")
    assert resource.query("SYST:ERR?") == '-221,"Settings conflict"'
    assert resource.query(":TRIG:COUN?") == "1"
    resource.write(":FETC?")
    assert resource.query("SYST:ERR?") == '-230,"Data corrupt or stale"'
    resource.write(":READ?")  # output off, auto output-off not set
    assert resource.query("SYST:ERR?") == '+803,"Output disabled"'


def test_sourcemeter_format_elements_choose_the_fields(servers, raw):
    resource = raw(servers.resources["sourcemeter"])
    resource.write(":FORM:ELEM CURR,TIME;:OUTP ON;:SOUR:VOLT -1")
    fields = resource.query(":READ?").split(",")
    assert len(fields) == 2
    assert float(fields[0]) == pytest.approx(servers.bench.diode_current_a(), rel=0.01)
    resource.write(":TRIG:COUN 3")
    assert len(resource.query(":READ?").split(",")) == 6
    assert resource.query(":FORM:ELEM?") == "CURR,TIME"


def test_sourcemeter_current_source_reaches_voltage_compliance(servers, raw):
    resource = raw(servers.resources["sourcemeter"])
    resource.write(":SOUR:FUNC CURR;:SENS:VOLT:PROT 0.2;:SOUR:CURR 1e-3;:OUTP ON")
    voltage, current, _, _, status = (float(v) for v in resource.query(":READ?").split(","))
    # 1 mA forward needs more than 0.2 V across the diode: the voltage is limited, and the
    # diode carries what it does at 0.2 V (still the photocurrent, in reverse, mostly).
    bench = servers.bench
    assert voltage == pytest.approx(0.2, abs=1e-3)
    assert int(status) & (1 << 3)
    dark = bench.photodiode.dark_current_a(0.2, bench.temperature_c)
    assert current == pytest.approx(dark - bench.photocurrent_mean_a(), rel=0.01)


def test_power_meter_units_attenuation_zero_and_range(servers, raw):
    resource = raw(servers.resources["powermeter"])
    meter = servers.devices["powermeter"]
    resource.write(f"SENS:CORR:WAV {servers.bench.led.wavelength_nm}")
    watts = float(resource.query("MEAS:POW?"))
    assert watts == pytest.approx(meter.expected_power_w(), rel=0.01)
    resource.write("SENS:POW:UNIT DBM")
    assert float(resource.query("MEAS:POW?")) == pytest.approx(
        10 * math.log10(watts / 1e-3), abs=0.05
    )
    resource.write("SENS:POW:UNIT W;SENS:CORR:LOSS 3")
    assert float(resource.query("MEAS:POW?")) == pytest.approx(watts * 10**0.3, rel=0.01)
    resource.write("SENS:CORR 0;SENS:CORR:COLL:ZERO")
    assert abs(float(resource.query("MEAS:POW?"))) < 0.01 * watts
    resource.write("SENS:CORR:COLL:ZERO:ABOR;*RST;SENS:POW:RANG 1e-6")
    assert float(resource.query("SENS:POW:RANG?")) == pytest.approx(5e-6)
    assert float(resource.query("MEAS:POW?")) == pytest.approx(9.9e37)
    responsivity = float(resource.query("SENS:CORR:POW:PDIO:RESP?"))
    assert 0.1 < responsivity < 0.7


def test_led_source_modes_and_limit_change_what_the_bench_sees(servers, raw):
    resource = raw(servers.resources["ledsource"])
    bench = servers.bench
    assert resource.query("SOUR:MODE?") == "EMOD"
    resource.write("OUTP ON;SOUR:CURR 0.04")
    emod_power = float(raw(servers.resources["powermeter"]).query("MEAS:POW?"))
    resource.write("SOUR:MODE PWM;SOUR:PWM:DCYC 25")  # a query follows: the bench is set
    assert resource.query("SOUR:MOD:DEPT?") == "0.000000E+00"
    assert bench.led.drive_current_a == pytest.approx(0.01)
    resource.write("SOUR:MODE CB;SOUR:CBR 50")
    assert resource.query("*OPC?") == "1"  # the writes before it have been executed
    assert bench.led.drive_current_a == pytest.approx(0.02)
    resource.write("SOUR:MODE IMOD;SOUR:IMOD:DEPT 40")
    assert float(resource.query("SOUR:MOD:DEPT?")) == pytest.approx(40.0)
    resource.write("SOUR:MODE CC")
    lockin = raw(servers.resources["sr830"])
    lockin.write("OFLT 5")
    assert float(lockin.query("OUTP? 3")) < 0.01 * bench.truth(1000.0).photocurrent_mean_a * 1e5
    resource.write("SOUR:CURR:LIM 0.03")
    assert float(resource.query("SOUR:CURR?")) == pytest.approx(0.03)
    assert float(resource.query("SOUR:CURR? MAX")) == pytest.approx(0.03)
    resource.write("SOUR:CURR 0.05")
    assert resource.query("SYST:ERR?") == '-222,"Data out of range"'
    resource.write("SOUR:MODE TTL")
    assert resource.query("SYST:ERR?") == '-224,"Illegal parameter value"'
    assert emod_power > 0 and np.isfinite(emod_power)
