"""Device side of the SCPI bench instruments: power meter and LED source (the source-meter is
in :mod:`drivers.sim.sourcemeter`, the SCPI machinery in :mod:`drivers.sim.scpi_core`).

The power meter reads the shared :class:`~drivers.sim.bench.OpticalBench`; the LED source
drives its LED.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import cast

from drivers.sim.bench import LED_WAVELENGTHS_NM, OpticalBench, silicon_responsivity_a_per_w
from drivers.sim.scpi_core import (
    ESR_COMMAND_ERROR,
    ESR_EXECUTION_ERROR,
    SCPI_NOT_A_NUMBER,
    SCPI_OVERFLOW,
    Boolean,
    Choice,
    CommandError,
    DeviceSim,
    ExecutionError,
    Number,
    ScpiDeviceSim,
    Setting,
    parse_bool,
)
from drivers.sim.sourcemeter import SourceMeterSim

__all__ = [
    "ESR_COMMAND_ERROR",
    "ESR_EXECUTION_ERROR",
    "SCPI_NOT_A_NUMBER",
    "CommandError",
    "DeviceSim",
    "ExecutionError",
    "LedSourceSim",
    "PowerMeterSim",
    "ScpiDeviceSim",
    "SourceMeterSim",
    "parse_bool",
]

POWER_RANGES_W = tuple(5.0 * 10.0**exponent for exponent in range(-8, -1))
"""Power ranges of the simulated S120C-like sensor, 50 nW … 50 mW (decades), W."""

_ON_OFF = Boolean()
WAVELENGTH_RANGE_NM = (400.0, 1100.0)
"""Correction wavelengths of the simulated S120C-like sensor, nm."""
AVERAGE_COUNT_RANGE = (1, 10000)
CURRENT_RANGE_A = (0.0, 1.0)
"""LED drive current of the simulated DC2200, A."""
LED_MODES = ("CC", "CB", "PWM", "IMOD", "EMOD")
"""DC2200 operating modes simulated (see :class:`LedSourceSim`)."""


POWER_METER_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "wavelength",
        "[:SENSe#]:CORRection:WAVelength",
        Number(*WAVELENGTH_RANGE_NM, 633.0, fmt="{:.6E}"),
        633.0,
    ),
    Setting(
        "average",
        "[:SENSe#]:AVERage[:COUNt]",
        Number(*AVERAGE_COUNT_RANGE, 1, integer=True),
        1,
    ),
    Setting("auto_range", "[:SENSe#]:POWer[:DC]:RANGe:AUTO", _ON_OFF, True),
    Setting(
        "range",
        "[:SENSe#]:POWer[:DC]:RANGe[:UPPer]",
        Number(0.0, POWER_RANGES_W[-1], POWER_RANGES_W[-1], fmt="{:.6E}"),
        POWER_RANGES_W[-1],
    ),
    Setting("unit", "[:SENSe#]:POWer[:DC]:UNIT", Choice(("W", "DBM")), "W"),
    Setting(
        "attenuation",
        "[:SENSe#]:CORRection[:LOSS][:INPut][:MAGNitude]",
        Number(-60.0, 60.0, 0.0, fmt="{:.6E}"),
        0.0,
    ),
    Setting(
        "function",
        ":CONFigure[:SCALar][:POWer]",
        Choice(("POWer",)),
        "POW",
        read_only=True,
    ),
    Setting("line_frequency", ":SYSTem:LFRequency", Number(50, 60, 50, integer=True), 50),
)
"""The PM100 settings this simulator keeps."""


class PowerMeterSim(ScpiDeviceSim):
    """Thorlabs PM100-style power meter with a silicon photodiode sensor (S120C-like).

    Reads the LED power at the power-meter port of the bench. Like the real sensor it divides
    its photocurrent by its responsivity at the *set* correction wavelength, so a wrong setting
    scales the reading by ``R(lambda_LED) / R(lambda_set)``. Noise per reading: floor and
    relative terms, divided by ``sqrt(average count)``.

    Commands (PM100 SCPI): ``SENSe:CORRection:WAVelength`` (``? MIN|MAX``),
    ``SENSe:AVERage[:COUNt]``, ``SENSe:POWer[:DC]:RANGe[:UPPer]`` and ``:AUTO``,
    ``SENSe:POWer[:DC]:UNIT W|DBM``, ``SENSe:CORRection[:LOSS[:INPut]][:MAGNitude]`` (dB),
    ``SENSe:CORRection:COLLect:ZERO[:INITiate]`` / ``:STATe?`` / ``:MAGNitude?``,
    ``SENSe:CORRection:POWer:PDIode:RESPonse?`` (A/W), ``MEASure[:SCALar]:POWer?`` /
    ``:CURRent?`` / ``:TEMPerature?``, ``CONFigure[:SCALar]:POWer|CURRent``, ``CONFigure?``,
    ``INITiate``, ``FETCh?``, ``READ?``, ``ABORt``, ``SYSTem:SENSor:IDN?``,
    ``SYSTem:LFRequency``. ``MEASure:ENERgy?`` is refused (-221): a photodiode sensor does not
    measure energy. A reading above the fixed range answers the SCPI overflow 9.9E37.
    """

    IDN = "Thorlabs,PM100USB,P2004321,1.7.0"
    SENSOR_IDN = "S120C,18120412,12-Mar-2024,1,18,289"
    """Name, serial, calibration date, type 1 (photodiode), subtype 18, flags 289 = power
    sensor (1) + wavelength settable (32) + temperature sensor (256)."""
    WAVELENGTH_RANGE_NM = WAVELENGTH_RANGE_NM
    AVERAGE_COUNT_RANGE = AVERAGE_COUNT_RANGE
    NOISE_FLOOR_W = 1e-9
    NOISE_RELATIVE = 1e-3

    def __init__(self, bench: OpticalBench, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(bench, self.IDN, clock)
        self.rng = bench.rng("powermeter")
        self.add_settings(POWER_METER_SETTINGS)
        self.add(":MEASure[:SCALar]:POWer?", lambda _: self._measure("POW"))
        self.add(":MEASure[:SCALar]:CURRent[:DC]?", lambda _: self._measure("CURR"))
        self.add(":MEASure[:SCALar]:TEMPerature?", lambda _: f"{self.bench.temperature_c:.6E}")
        self.add(":MEASure[:SCALar]:ENERgy?", lambda _: self._not_an_energy_sensor())
        self.add(":CONFigure[:SCALar]:POWer", lambda _: self.state.update(function="POW"))
        self.add(":CONFigure[:SCALar]:CURRent[:DC]", lambda _: self.state.update(function="CURR"))
        self.add(":INITiate[:IMMediate]", lambda _: self._initiate())
        self.add(":FETCh?", lambda _: self._fetch())
        self.add(":READ?", lambda _: self._measure(str(self.state["function"])))
        self.add(":ABORt", lambda _: None)
        self.add(":SYSTem:SENSor:IDN?", lambda _: self.SENSOR_IDN)
        self.add("[:SENSe#]:CORRection:COLLect:ZERO[:INITiate]", lambda _: self._zero())
        self.add("[:SENSe#]:CORRection:COLLect:ZERO:ABORt", lambda _: None)
        self.add("[:SENSe#]:CORRection:COLLect:ZERO:STATe?", lambda _: "0")
        self.add("[:SENSe#]:CORRection:COLLect:ZERO:MAGNitude?", lambda _: f"{self.zero_w:.6E}")
        self.add(
            "[:SENSe#]:CORRection:POWer[:PDIOde][:RESPonse]?",
            lambda _: f"{silicon_responsivity_a_per_w(self.wavelength_nm):.6E}",
        )
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.zero_w = 0.0
        self.fetched: str | None = None

    @property
    def wavelength_nm(self) -> float:
        """Correction wavelength, nm."""
        return float(cast(float, self.state["wavelength"]))

    @property
    def average_count(self) -> int:
        """Samples averaged per reading."""
        return int(cast(int, self.state["average"]))

    @property
    def auto_range(self) -> bool:
        """Whether the range follows the signal."""
        return bool(self.state["auto_range"])

    def accept_setting(self, name: str, value: object) -> object:
        if name == "range":  # the most sensitive range that holds the value; auto off
            self.state["auto_range"] = False
            return next(upper for upper in POWER_RANGES_W if float(value) <= upper)  # type: ignore[arg-type]
        if name == "line_frequency" and value not in (50, 60):
            raise ExecutionError(-224, "Illegal parameter value")
        return value

    def expected_power_w(self) -> float:
        """Noise-free reading at the present wavelength correction, W (before zero and
        attenuation)."""
        true_power = self.bench.power_meter_power_w()
        correction = float(silicon_responsivity_a_per_w(self.bench.led.wavelength_nm)) / float(
            silicon_responsivity_a_per_w(self.wavelength_nm)
        )
        return true_power * correction

    def power_noise_w(self) -> float:
        """Standard deviation of one reading at the present state, W."""
        single = math.hypot(self.NOISE_FLOOR_W, self.NOISE_RELATIVE * self.expected_power_w())
        return single / math.sqrt(self.average_count)

    def read_power_w(self) -> float:
        """One noisy reading, W (zero subtracted, attenuation applied)."""
        measured = self.expected_power_w() + float(self.rng.normal(0.0, self.power_noise_w()))
        gain = 10.0 ** (float(cast(float, self.state["attenuation"])) / 10.0)
        return float((measured - self.zero_w) * gain)

    def _measure(self, function: str) -> str:
        power = self.read_power_w()
        if not self.auto_range and power > float(self.state["range"]):  # type: ignore[arg-type]
            return f"{SCPI_OVERFLOW:.6E}"
        if function == "CURR":
            responsivity = silicon_responsivity_a_per_w(self.wavelength_nm)
            return f"{power / 10.0 ** (float(self.state['attenuation']) / 10.0) * responsivity:.6E}"  # type: ignore[arg-type]
        if self.state["unit"] == "DBM":
            return f"{10.0 * math.log10(max(power, 1e-15) / 1e-3):.6E}"
        return f"{power:.9E}"

    def _initiate(self) -> None:
        self.fetched = self._measure(str(self.state["function"]))

    def _fetch(self) -> str:
        if self.fetched is None:
            raise ExecutionError(-230, "Data corrupt or stale")
        return self.fetched

    def _zero(self) -> None:
        """Dark zero: what the sensor sees now becomes the zero (cover it first)."""
        self.zero_w = self.expected_power_w()

    def _not_an_energy_sensor(self) -> str:
        raise ExecutionError(-221, "Settings conflict; the sensor is not an energy sensor")


LED_SOURCE_SETTINGS: tuple[Setting, ...] = (
    Setting("channel", ":SOURce#:CHANnel", Number(1, len(LED_WAVELENGTHS_NM), 1, integer=True), 1),
    Setting("mode", ":SOURce#:MODE", Choice(LED_MODES), "CC"),
    Setting(
        "current",
        ":SOURce#:CURRent[:LEVel][:IMMediate][:AMPLitude]",
        Number(*CURRENT_RANGE_A, 0.0, fmt="{:.6E}"),
        0.0,
    ),
    Setting(
        "limit",
        ":SOURce#:CURRent:LIMit[:AMPLitude]",
        Number(*CURRENT_RANGE_A, CURRENT_RANGE_A[1], fmt="{:.6E}"),
        CURRENT_RANGE_A[1],
    ),
    Setting(
        "brightness",
        ":SOURce#:CBRightness[:BRIGhtness]",
        Number(0.0, 100.0, 100.0, fmt="{:.6E}"),
        100.0,
    ),
    Setting(
        "pwm_frequency",
        ":SOURce#:PWM:FREQuency",
        Number(1.0, 1e4, 100.0, fmt="{:.6E}"),
        100.0,
    ),
    Setting("pwm_duty", ":SOURce#:PWM:DCYCle", Number(1.0, 99.0, 50.0, fmt="{:.6E}"), 50.0),
    Setting(
        "imod_frequency",
        ":SOURce#:IMODulation:FREQuency",
        Number(0.1, 1e5, 1000.0, fmt="{:.6E}"),
        1000.0,
    ),
    Setting(
        "imod_depth",
        ":SOURce#:IMODulation:DEPTh",
        Number(0.0, 100.0, 100.0, fmt="{:.6E}"),
        100.0,
    ),
    Setting("output", ":OUTPut#[:STATe]", _ON_OFF, False),
)
"""The DC2200 settings this simulator keeps."""


class LedSourceSim(ScpiDeviceSim):
    """Thorlabs DC2200-style LED driver switching between the bench LEDs.

    Channel ``n`` (1-based) drives the LED of ``LED_WAVELENGTHS_NM[n - 1]``. Operating modes
    (``SOURce:MODE``): ``CC`` constant current, ``CB`` constant brightness (the set current
    times ``SOURce:CBRightness`` %), ``PWM`` (mean current = current × duty cycle),
    ``IMOD`` internal sine modulation (depth ``SOURce:IMODulation:DEPTh`` %), ``EMOD``
    external modulation (depth 100 %). The lock-ins are referenced to the modulation, so in
    ``CC``, ``CB`` and ``PWM`` they see no signal. Limits: the drive current may not exceed
    ``SOURce:CURRent:LIMit`` (a set above it is refused with -222; lowering the limit below
    the set current lowers the current).

    Other commands: ``SOUR:CHAN n``/``?``, ``SOUR:WAV?`` (selected LED, nm), ``SOUR:WAV:CAT?``
    (LED of every channel, nm), ``SOUR:CURR x``/``?`` (A; ``? MIN``/``? MAX`` give the range up
    to the limit), ``OUTP ON|OFF``/``?``, ``SOUR:MOD:DEPT?`` (present depth, %),
    ``SOUR:PWM:FREQ``/``:DCYC``, ``SOUR:IMOD:FREQ``. The bench LED gets the resulting current
    while the output is on and 0 A while it is off. The mode mnemonics follow the DC2200's
    operating modes; the channel switch is this bench's (one LED head per channel).
    """

    IDN = "Thorlabs,DC2200,M00412345,1.2.0"
    CURRENT_RANGE_A = CURRENT_RANGE_A
    MODES = LED_MODES

    def __init__(self, bench: OpticalBench, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(bench, self.IDN, clock)
        # Before the settings: its ``? MAX`` is the present limit.
        self.add(":SOURce#:CURRent[:LEVel][:IMMediate][:AMPLitude]?", self._query_current)
        self.add_settings(LED_SOURCE_SETTINGS)
        self.add(":SOURce#:WAVelength?", lambda _: f"{self.wavelength_nm:.6E}")
        self.add(
            ":SOURce#:WAVelength:CATalog?",
            lambda _: ",".join(f"{nm:.6E}" for nm in LED_WAVELENGTHS_NM),
        )
        self.add(":SOURce#:MODulation:DEPTh?", lambda _: f"{100.0 * self._depth():.6E}")
        # Take over the LED as the bench was set up (e.g. from the command line): it is
        # driven through the external modulation input.
        led = bench.led
        self.state.update(
            channel=LED_WAVELENGTHS_NM.index(led.wavelength_nm) + 1,
            mode="EMOD" if led.modulation_depth > 0 else "CC",
            current=led.drive_current_a,
            output=led.drive_current_a > 0.0,
        )

    @property
    def channel(self) -> int:
        """Selected channel, 1-based."""
        return int(cast(int, self.state["channel"]))

    @property
    def current_a(self) -> float:
        """Drive current set-point, A."""
        return float(cast(float, self.state["current"]))

    @property
    def output_on(self) -> bool:
        """Whether the LED output is on."""
        return bool(self.state["output"])

    @property
    def wavelength_nm(self) -> float:
        """Wavelength of the LED on the selected channel, nm."""
        return LED_WAVELENGTHS_NM[self.channel - 1]

    def reset(self) -> None:
        super().reset()
        self._apply()

    def accept_setting(self, name: str, value: object) -> object:
        if name == "current" and float(value) > float(self.state["limit"]):  # type: ignore[arg-type]
            raise ExecutionError(-222, "Data out of range")
        if name == "limit":
            self.state["current"] = min(self.current_a, float(value))  # type: ignore[arg-type]
        return value

    def on_change(self, name: str, value: object) -> None:
        self._apply()

    def _depth(self) -> float:
        mode = self.state["mode"]
        if mode == "EMOD":
            return 1.0
        if mode == "IMOD":
            return float(self.state["imod_depth"]) / 100.0  # type: ignore[arg-type]
        return 0.0

    def drive_current_a(self) -> float:
        """Mean current the LED gets in the present mode, A."""
        factor = {
            "CB": float(self.state["brightness"]) / 100.0,  # type: ignore[arg-type]
            "PWM": float(self.state["pwm_duty"]) / 100.0,  # type: ignore[arg-type]
        }.get(str(self.state["mode"]), 1.0)
        return self.current_a * factor if self.output_on else 0.0

    def _apply(self) -> None:
        self.bench.set_led(
            wavelength_nm=self.wavelength_nm,
            drive_current_a=self.drive_current_a(),
            modulation_depth=self._depth(),
        )

    def _query_current(self, parameter: str | None) -> str:
        limits = {"MIN": self.CURRENT_RANGE_A[0], "MAX": float(self.state["limit"])}  # type: ignore[arg-type]
        token = (parameter or "").upper()
        if token and token not in limits:
            raise ExecutionError(-224, "Illegal parameter value")
        return f"{limits.get(token, self.current_a):.6E}"
