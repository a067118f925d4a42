"""Keithley 2400-style source-meter wired across the bench photodiode.

Sources voltage or current and measures voltage, current and resistance of the photodiode at
the bench's light. Subsystems as in the 2400 manual: ``:SOURce`` (function, levels, ranges,
delay, auto output-off), ``:SENSe`` (functions, ranges, NPLC, protection, averaging
filter), ``:FORMat:ELEMents``, ``:OUTPut``, ``:READ?``/``:FETCh?``/``:INITiate``/
``:MEASure[:<function>]?``/``:CONFigure``, the trigger model's counts and sources,
``:TRACe`` (reading buffer) with ``:CALCulate3`` statistics, ``:STATus:MEASurement``,
``:SYSTem`` (errors, auto-zero, line frequency, remote sense, beeper), ``:ROUTe:TERMinals``,
``:DISPlay:ENABle``.

Readings: the diode current at the applied bias plus noise with standard deviation
:meth:`SourceMeterSim.current_noise_a` (the diode's white noise over ``1 / (2 T)``,
``T = NPLC / line frequency``, plus the meter's floor and gain noise); in current-source mode
the bias is the voltage at which the diode carries the set current (diode equation solved),
limited by the voltage compliance. Delays and timers are accepted but not waited: every
reading is taken when asked.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import cast

import numpy as np
from scipy.optimize import brentq

from drivers.sim.bench import OpticalBench
from drivers.sim.scpi_core import (
    SCPI_NOT_A_NUMBER,
    SCPI_OVERFLOW,
    Boolean,
    Choice,
    ExecutionError,
    Number,
    ScpiDeviceSim,
    ScpiError,
    Setting,
    parse_number,
    split_parameters,
    token_matches,
)

# Ranges as the 2400 reports them (nominal + 5 %): 200 mV … 200 V, 1 µA … 1 A, 20 Ω … 200 MΩ.
VOLTAGE_RANGES_V = (0.21, 2.1, 21.0, 210.0)
CURRENT_RANGES_A = (1.05e-6, 1.05e-5, 1.05e-4, 1.05e-3, 1.05e-2, 1.05e-1, 1.05)
RESISTANCE_RANGES_OHM = (21.0, 210.0, 2.1e3, 2.1e4, 2.1e5, 2.1e6, 2.1e7, 2.1e8)
ELEMENTS = ("VOLT", "CURR", "RES", "TIME", "STAT")
STATUS_OVERFLOW = 1 << 0
STATUS_COMPLIANCE = 1 << 3
MEASUREMENT_BUFFER_FULL = 1 << 9
MAX_READINGS = 2500
_FUNCTIONS = {"VOLT": "VOLTage[:DC]", "CURR": "CURRent[:DC]", "RES": "RESistance"}
_FUNCTION_WORDS = {"VOLT": "VOLTage", "CURR": "CURRent", "RES": "RESistance"}
_FUNCTION_NAMES = {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}

_ON_OFF = Boolean()


_RANGE_V = Number(-210.0, 210.0, 21.0)
_RANGE_I = Number(-1.05, 1.05, 105e-6)
_RANGE_R = Number(0.0, 2.1e8, 2.1e5)

SETTINGS: tuple[Setting, ...] = (
    Setting("output", ":OUTPut[:STATe]", _ON_OFF, False),
    Setting(
        "off_state", ":OUTPut:SMODe", Choice(("HIMPedance", "NORMal", "ZERO", "GUARd")), "NORM"
    ),
    Setting("source", ":SOURce#:FUNCtion[:MODE]", Choice(("VOLTage", "CURRent")), "VOLT"),
    Setting(
        "voltage",
        ":SOURce#:VOLTage[:LEVel][:IMMediate][:AMPLitude]",
        Number(-210.0, 210.0, 0.0),
        0.0,
    ),
    Setting(
        "current",
        ":SOURce#:CURRent[:LEVel][:IMMediate][:AMPLitude]",
        Number(-1.05, 1.05, 0.0),
        0.0,
    ),
    Setting("source_voltage_range", ":SOURce#:VOLTage:RANGe", _RANGE_V, 21.0),
    Setting("source_voltage_auto", ":SOURce#:VOLTage:RANGe:AUTO", _ON_OFF, True),
    Setting("source_current_range", ":SOURce#:CURRent:RANGe", _RANGE_I, 1.05e-4),
    Setting("source_current_auto", ":SOURce#:CURRent:RANGe:AUTO", _ON_OFF, True),
    Setting("source_delay", ":SOURce#:DELay", Number(0.0, 999.9999, 0.0), 0.0),
    Setting("source_delay_auto", ":SOURce#:DELay:AUTO", _ON_OFF, True),
    Setting("auto_off", ":SOURce#:CLEar:AUTO", _ON_OFF, False),
    Setting("current_compliance", "[:SENSe#]:CURRent[:DC]:PROTection[:LEVel]", _RANGE_I, 105e-6),
    Setting("voltage_compliance", "[:SENSe#]:VOLTage[:DC]:PROTection[:LEVel]", _RANGE_V, 21.0),
    Setting("current_range", "[:SENSe#]:CURRent[:DC]:RANGe[:UPPer]", _RANGE_I, 105e-6),
    Setting("current_auto", "[:SENSe#]:CURRent[:DC]:RANGe:AUTO", _ON_OFF, True),
    Setting("voltage_range", "[:SENSe#]:VOLTage[:DC]:RANGe[:UPPer]", _RANGE_V, 21.0),
    Setting("voltage_auto", "[:SENSe#]:VOLTage[:DC]:RANGe:AUTO", _ON_OFF, True),
    Setting("resistance_range", "[:SENSe#]:RESistance:RANGe[:UPPer]", _RANGE_R, 2.1e5),
    Setting("resistance_auto", "[:SENSe#]:RESistance:RANGe:AUTO", _ON_OFF, True),
    Setting("resistance_mode", "[:SENSe#]:RESistance:MODE", Choice(("MANual", "AUTO")), "MAN"),
    *(
        Setting(f"nplc_{name}", f"[:SENSe#]:{pattern}:NPLCycles", Number(0.01, 10.0, 1.0), 1.0)
        for name, pattern in _FUNCTIONS.items()
    ),
    Setting("filter", "[:SENSe#]:AVERage[:STATe]", _ON_OFF, False),
    Setting("filter_type", "[:SENSe#]:AVERage:TCONtrol", Choice(("REPeat", "MOVing")), "REP"),
    Setting("filter_count", "[:SENSe#]:AVERage:COUNt", Number(1, 100, 10, integer=True), 10),
    Setting("concurrent", "[:SENSe#]:FUNCtion:CONCurrent", _ON_OFF, True),
    Setting("data_format", ":FORMat[:DATA]", Choice(("ASCii",)), "ASC"),
    Setting(
        "trigger_count",
        ":TRIGger[:SEQuence1]:COUNt",
        Number(1, MAX_READINGS, 1, integer=True),
        1,
    ),
    Setting("trigger_delay", ":TRIGger[:SEQuence1]:DELay", Number(0.0, 999.9999, 0.0), 0.0),
    Setting("trigger_source", ":TRIGger[:SEQuence1]:SOURce", Choice(("IMMediate", "TLINk")), "IMM"),
    Setting("trigger_input", ":TRIGger[:SEQuence1]:ILINe", Number(1, 4, 1, integer=True), 1),
    Setting("trigger_output_line", ":TRIGger[:SEQuence1]:OLINe", Number(1, 4, 2, integer=True), 2),
    Setting(
        "trigger_output",
        ":TRIGger[:SEQuence1]:OUTPut",
        Choice(("SOURce", "DELay", "SENSe", "NONE")),
        "NONE",
    ),
    Setting(
        "arm_count",
        ":ARM[:SEQuence1][:LAYer1]:COUNt",
        Number(1, MAX_READINGS, 1, integer=True),
        1,
    ),
    Setting(
        "arm_source",
        ":ARM[:SEQuence1][:LAYer1]:SOURce",
        Choice(("IMMediate", "TLINk", "TIMer", "MANual", "BUS", "NSTest", "PSTest", "BSTest")),
        "IMM",
    ),
    Setting("arm_timer", ":ARM[:SEQuence1][:LAYer1]:TIMer", Number(0.001, 99999.99, 0.1), 0.1),
    Setting("arm_input", ":ARM[:SEQuence1][:LAYer1]:ILINe", Number(1, 4, 1, integer=True), 1),
    Setting("arm_output_line", ":ARM[:SEQuence1][:LAYer1]:OLINe", Number(1, 4, 2, integer=True), 2),
    Setting(
        "arm_output",
        ":ARM[:SEQuence1][:LAYer1]:OUTPut",
        Choice(("TENTer", "TEXit", "NONE")),
        "NONE",
    ),
    Setting("trace_points", ":TRACe:POINts", Number(1, MAX_READINGS, 100, integer=True), 100),
    Setting(
        "trace_feed",
        ":TRACe:FEED",
        Choice(("SENSe1", "CALCulate1", "CALCulate2", "NONE"), {"SENSE": "SENS1", "SENS": "SENS1"}),
        "SENS1",
    ),
    Setting("trace_control", ":TRACe:FEED:CONTrol", Choice(("NEXT", "NEVer")), "NEV"),
    Setting(
        "statistic",
        ":CALCulate3:FORMat",
        Choice(("MEAN", "SDEViation", "MAXimum", "MINimum", "PKPK")),
        "MEAN",
    ),
    Setting(
        "measurement_enable", ":STATus:MEASurement:ENABle", Number(0, 65535, 0, integer=True), 0
    ),
    # Set by its own handler (it also takes ONCE).
    Setting("auto_zero", ":SYSTem:AZERo[:STATe]", _ON_OFF, True, read_only=True),
    Setting("remote_sense", ":SYSTem:RSENse", _ON_OFF, False),
    Setting("line_frequency", ":SYSTem:LFRequency", Number(50, 60, 50, integer=True), 50),
    Setting("line_frequency_auto", ":SYSTem:LFRequency:AUTO", _ON_OFF, False),
    Setting("terminals", ":ROUTe:TERMinals", Choice(("FRONt", "REAR")), "FRON"),
    Setting("display", ":DISPlay:ENABle", _ON_OFF, True),
)
"""The 2400 settings this simulator keeps (one line each: name, header, value, default)."""


def _range_for(value: float, ranges: tuple[float, ...]) -> float:
    """The smallest range that holds ``|value|``."""
    for upper in ranges:
        if abs(value) <= upper * (1 + 1e-9):
            return upper
    raise ExecutionError(-222, "Data out of range")


class SourceMeterSim(ScpiDeviceSim):
    """Keithley 2400 source-meter across the bench photodiode (see the module text)."""

    IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,4101234,C32   Oct  4 2010 14:20:11/A02  /S/K"
    CURRENT_NOISE_FLOOR_A = 10e-12
    CURRENT_NOISE_RELATIVE = 1e-5
    VOLTAGE_NOISE_V = 20e-6
    STATUS_COMPLIANCE = STATUS_COMPLIANCE

    def __init__(self, bench: OpticalBench, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(bench, self.IDN, clock)
        self.rng = bench.rng("sourcemeter")
        self.add_settings(SETTINGS)
        self._add_subsystems()
        self.reset()

    def _add_subsystems(self) -> None:
        add = self.add
        add("[:SENSe#]:FUNCtion[:ON]", lambda text: self._set_functions(text, on=True))
        add("[:SENSe#]:FUNCtion[:ON]?", lambda _: self._functions_answer())
        add("[:SENSe#]:FUNCtion:OFF", lambda text: self._set_functions(text, on=False))
        add("[:SENSe#]:FUNCtion[:ON]:ALL", lambda _: self.functions.update(ELEMENTS[:3]))
        add("[:SENSe#]:FUNCtion:OFF:ALL", lambda _: self.functions.clear())
        add(":FORMat:ELEMents[:SENSe1]", self._set_elements)
        add(":FORMat:ELEMents[:SENSe1]?", lambda _: ",".join(self.elements))
        add(":READ?", lambda _: self._format(self._acquire()))
        add(":INITiate[:IMMediate]", self._initiate)
        add(":FETCh?", lambda _: self._fetch())
        add(":ABORt", lambda _: None)
        add(":TRIGger:CLEar", lambda _: None)
        for name, pattern in _FUNCTIONS.items():
            add(f":CONFigure:{pattern}", self._configure_handler(name))
            add(f":MEASure:{pattern}?", self._measure_handler(name))
        add(":CONFigure?", lambda _: self._functions_answer())
        add(":MEASure?", lambda _: self._format(self._acquire()))
        add(":TRACe:CLEar", lambda _: self.trace.clear())
        add(":TRACe:DATA?", lambda _: self._format(self.trace))
        add(":TRACe:POINts:ACTual?", lambda _: str(len(self.trace)))
        add(":CALCulate3:DATA?", lambda _: self._statistics())
        add(":STATus:MEASurement[:EVENt]?", lambda _: self._read_measurement_event())
        add(":STATus:PRESet", lambda _: self._status_preset())
        add(":SYSTem:AZERo[:STATe]", self._set_auto_zero)
        add(":SYSTem:BEEPer[:IMMediate]", self._beep)
        add(":SYSTem:PRESet", lambda _: self.reset())
        add(":SYSTem:TIME:RESet", lambda _: setattr(self, "started_at", self.clock()))
        add("*TRG", lambda _: None)

    def reset(self) -> None:
        self.functions: set[str] = {"CURR"}
        self.elements: tuple[str, ...] = ELEMENTS
        self.trace: list[dict[str, float]] = []
        self.last_readings: list[dict[str, float]] = []
        self.measurement_event = 0
        self.started_at = self.clock()
        super().reset()
        self._apply_bias()

    # --- settings --------------------------------------------------------------------------

    @property
    def output_on(self) -> bool:
        """Whether the output is on."""
        return bool(self.state["output"])

    @property
    def voltage_v(self) -> float:
        """Programmed source voltage, V."""
        return float(cast(float, self.state["voltage"]))

    @property
    def compliance_a(self) -> float:
        """Current compliance, A."""
        return abs(float(self.state["current_compliance"]))  # type: ignore[arg-type]

    @property
    def nplc(self) -> float:
        """Integration time, power-line cycles."""
        return float(cast(float, self.state["nplc_CURR"]))

    def accept_setting(self, name: str, value: object) -> object:
        ranges = {
            "source_voltage_range": (VOLTAGE_RANGES_V, "source_voltage_auto"),
            "source_current_range": (CURRENT_RANGES_A, "source_current_auto"),
            "current_range": (CURRENT_RANGES_A, "current_auto"),
            "voltage_range": (VOLTAGE_RANGES_V, "voltage_auto"),
            "resistance_range": (RESISTANCE_RANGES_OHM, "resistance_auto"),
        }
        if name in ranges:  # the most sensitive range that holds the value; auto off
            table, auto = ranges[name]
            selected = _range_for(float(value), table)  # type: ignore[arg-type]
            self.state[auto] = False
            return selected
        if name == "line_frequency" and value not in (50, 60):
            raise ExecutionError(-224, "Illegal parameter value")
        if name in ("arm_count", "trigger_count"):
            counts = {key: int(self.state[key]) for key in ("arm_count", "trigger_count")}  # type: ignore[call-overload]
            counts[name] = int(value)  # type: ignore[call-overload]
            if counts["arm_count"] * counts["trigger_count"] > MAX_READINGS:
                raise ExecutionError(-221, "Settings conflict")
        return value

    def on_change(self, name: str, value: object) -> None:
        if name.startswith("nplc_"):
            for function in _FUNCTIONS:  # one integration time for every function
                self.state[f"nplc_{function}"] = value
        if name in ("output", "voltage", "current", "source", "voltage_compliance"):
            self._apply_bias()

    def _set_functions(self, text: str | None, *, on: bool) -> None:
        names = []
        for part in split_parameters(text):
            token = part.strip("'\"").upper().removesuffix(":DC")
            name = next(
                (key for key, word in _FUNCTION_WORDS.items() if token_matches(token, word)), None
            )
            if name is None:
                raise ExecutionError(-224, "Illegal parameter value")
            names.append(name)
        if not names:
            raise ScpiError(-109, "Missing parameter")
        if on:
            if not self.state["concurrent"]:
                self.functions.clear()
            self.functions.update(names)
        else:
            self.functions.difference_update(names)

    def _functions_answer(self) -> str:
        return ",".join(_FUNCTION_NAMES[name] for name in _FUNCTIONS if name in self.functions)

    def _set_elements(self, text: str | None) -> None:
        chosen = []
        for part in split_parameters(text):
            name = next(
                (
                    element
                    for element, pattern in zip(
                        ELEMENTS,
                        ("VOLTage", "CURRent", "RESistance", "TIME", "STATus"),
                        strict=True,
                    )
                    if token_matches(part, pattern)
                ),
                None,
            )
            if name is None:
                raise ExecutionError(-224, "Illegal parameter value")
            chosen.append(name)
        if not chosen:
            raise ScpiError(-109, "Missing parameter")
        self.elements = tuple(element for element in ELEMENTS if element in chosen)

    def _set_auto_zero(self, text: str | None) -> None:
        if (text or "").strip().upper() == "ONCE":
            return
        self.state["auto_zero"] = _ON_OFF.parse(text, None)

    def _beep(self, text: str | None) -> None:
        parameters = split_parameters(text)
        if len(parameters) != 2:
            raise ScpiError(-109, "Missing parameter")
        frequency, duration = (parse_number(part) for part in parameters)
        if not (65.0 <= frequency <= 2e6 and 0.0 <= duration <= 7.9):
            raise ExecutionError(-222, "Data out of range")

    def _configure_handler(self, function: str) -> Callable[[str | None], None]:
        def configure(_: str | None) -> None:
            self.functions = {function}
            self.state["auto_off"] = True
            if function == "RES":
                self.state["resistance_mode"] = "AUTO"

        return configure

    def _measure_handler(self, function: str) -> Callable[[str | None], str]:
        def measure(text: str | None) -> str:
            self._configure_handler(function)(text)
            return self._format(self._acquire())

        return measure

    # --- physics ---------------------------------------------------------------------------

    def _bias_for_current(self, current_a: float) -> tuple[float, bool]:
        """Bias (V) at which the diode carries ``current_a``; True if the voltage
        compliance limits it."""
        limit = abs(float(self.state["voltage_compliance"]))  # type: ignore[arg-type]
        bench = self.bench

        def excess(bias_v: float) -> float:
            dark = bench.photodiode.dark_current_a(bias_v, bench.temperature_c)
            return dark - bench.photocurrent_mean_a() - current_a

        low, high = -limit, min(limit, 1.0)
        if excess(low) > 0:
            return low, True
        if excess(high) < 0:
            return high, True
        return float(brentq(excess, low, high, xtol=1e-9)), False

    def _source_bias(self) -> tuple[float, bool]:
        if self.state["source"] == "CURR":
            return self._bias_for_current(float(self.state["current"]))  # type: ignore[arg-type]
        return self.voltage_v, False

    def _apply_bias(self, force_on: bool = False) -> None:
        on = self.output_on or force_on
        self.bench.set_bias(self._source_bias()[0] if on else 0.0)

    def current_noise_a(self) -> float:
        """Standard deviation of one current reading at the present state, A."""
        integration_s = self.nplc / float(cast(float, self.state["line_frequency"]))
        bandwidth_hz = 1.0 / (2.0 * integration_s)
        bench = self.bench
        dark = bench.photodiode.dark_current_a(bench.bias_v, bench.temperature_c)
        white = bench.photodiode.white_noise_psd_a2_per_hz(
            bench.photocurrent_mean_a(), dark, bench.temperature_c
        )
        relative = self.CURRENT_NOISE_RELATIVE * bench.diode_current_a()
        return math.sqrt(white * bandwidth_hz + self.CURRENT_NOISE_FLOOR_A**2 + relative**2)

    def _reading(self) -> dict[str, float]:
        bias, voltage_limited = self._source_bias()
        self.bench.set_bias(bias)
        status = STATUS_COMPLIANCE if voltage_limited else 0
        if self.state["source"] == "CURR" and not voltage_limited:
            current = float(cast(float, self.state["current"]))
        else:
            current = self.bench.diode_current_a() + self.rng.normal(0.0, self.current_noise_a())
        if abs(current) > self.compliance_a and self.state["source"] == "VOLT":
            current = math.copysign(self.compliance_a, current)
            status |= STATUS_COMPLIANCE
        if not self.state["current_auto"] and abs(current) > 1.05 * float(
            self.state["current_range"]  # type: ignore[arg-type]
        ):
            current, status = SCPI_OVERFLOW, status | STATUS_OVERFLOW
        voltage = bias + self.rng.normal(0.0, self.VOLTAGE_NOISE_V)
        resistance = voltage / current if "RES" in self.functions and current else SCPI_NOT_A_NUMBER
        return {
            "VOLT": voltage,
            "CURR": current,
            "RES": resistance,
            "TIME": self.clock() - self.started_at,
            "STAT": float(status),
        }

    def _acquire(self) -> list[dict[str, float]]:
        """INIT: take arm count × trigger count readings (output on, or switched on for them
        when auto output-off is set); feed the buffer if it is armed."""
        if not self.output_on and not self.state["auto_off"]:
            raise ScpiError(803, "Output disabled")
        count = int(cast(int, self.state["arm_count"])) * int(
            cast(int, self.state["trigger_count"])
        )
        self._apply_bias(force_on=True)
        try:
            readings = [self._reading() for _ in range(count)]
        finally:
            if self.state["auto_off"]:
                self.state["output"] = False
            self._apply_bias()
        self.last_readings = readings
        if self.state["trace_control"] == "NEXT":
            room = int(self.state["trace_points"]) - len(self.trace)  # type: ignore[call-overload]
            self.trace.extend(readings[:room])
            if len(self.trace) >= int(self.state["trace_points"]):  # type: ignore[call-overload]
                self.state["trace_control"] = "NEV"
                self.measurement_event |= MEASUREMENT_BUFFER_FULL
        return readings

    def _initiate(self, _: str | None) -> None:
        self._acquire()

    def _fetch(self) -> str:
        if not self.last_readings:
            raise ExecutionError(-230, "Data corrupt or stale")
        return self._format(self.last_readings)

    def _format(self, readings: list[dict[str, float]]) -> str:
        return ",".join(
            f"{reading[element]:+.6E}" for reading in readings for element in self.elements
        )

    def _statistics(self) -> str:
        if not self.trace:
            raise ExecutionError(-230, "Data corrupt or stale")
        elements = [element for element in ("VOLT", "CURR", "RES") if element in self.elements]
        return ",".join(
            f"{_statistic(str(self.state['statistic']), [r[e] for r in self.trace]):+.6E}"
            for e in elements
        )

    def summary_bits(self) -> int:
        enabled = int(cast(int, self.state["measurement_enable"]))
        return 1 if self.measurement_event & enabled else 0

    def _read_measurement_event(self) -> str:
        event, self.measurement_event = self.measurement_event, 0
        return str(event)

    def _status_preset(self) -> None:
        self.state["measurement_enable"] = 0
        self.measurement_event = 0


def _statistic(name: str, values: list[float]) -> float:
    """``:CALCulate3:FORMat`` statistic of the buffered readings of one element."""
    array = np.asarray(values)
    if name == "SDEV":
        return float(np.std(array, ddof=1)) if array.size > 1 else 0.0
    if name == "PKPK":
        return float(np.ptp(array))
    if name == "MAX":
        return float(np.max(array))
    if name == "MIN":
        return float(np.min(array))
    return float(np.mean(array))
