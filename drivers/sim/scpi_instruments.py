"""Device side of the line-based bench instruments: shared machinery, source-meter, power meter,
LED source.

:class:`DeviceSim` is what the TCP server talks to: it takes one received line, records it in
``command_log``, splits it at ``;`` and answers the queries. :class:`ScpiDeviceSim` adds SCPI
header handling (long/short forms, optional nodes), the standard event register and the
``SYST:ERR?`` queue. The source-meter and the power meter read the shared
:class:`~drivers.sim.bench.OpticalBench`; the LED source drives its LED.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from drivers.sim.bench import LED_WAVELENGTHS_NM, OpticalBench, silicon_responsivity_a_per_w

ESR_EXECUTION_ERROR = 1 << 4
ESR_COMMAND_ERROR = 1 << 5
SCPI_NOT_A_NUMBER = 9.91e37


class CommandError(Exception):
    """The device does not know this command (sets the CMD bit)."""


class ExecutionError(Exception):
    """A known command with a bad or out-of-range parameter (sets the EXE bit).

    Parameters
    ----------
    code : int
        SCPI error code, e.g. -222.
    message : str
        SCPI error text.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DeviceSim:
    """Device side of one ASCII instrument; thread-safe; records every received line.

    Parameters
    ----------
    bench : OpticalBench
        The shared physics scene.
    idn : str
        Answer to ``*IDN?``.
    clock : callable
        Monotonic clock, s.
    """

    def __init__(
        self, bench: OpticalBench, idn: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bench = bench
        self.idn = idn
        self.clock = clock
        self.lock = threading.RLock()
        self.command_log: list[str] = []
        self.event_status = 0

    def handle_line(self, line: str) -> str | None:
        """Execute one received line; return the answer line, or None if nothing to answer."""
        with self.lock:
            self.command_log.append(line)
            answers = []
            for command in line.split(";"):
                if not command.strip():
                    continue
                try:
                    answer = self.handle_command(command.strip())
                except CommandError:
                    self.event_status |= ESR_COMMAND_ERROR
                    continue
                except ExecutionError as error:
                    self.event_status |= ESR_EXECUTION_ERROR
                    self.record_error(error)
                    continue
                if answer is not None:
                    answers.append(answer)
            return ";".join(answers) if answers else None

    def handle_command(self, command: str) -> str | None:
        """Execute one command (override)."""
        raise NotImplementedError

    def record_error(self, error: ExecutionError) -> None:
        """Keep an execution error for an error query (default: only the EXE bit)."""

    def read_event_status(self) -> str:
        """Answer ``*ESR?`` and clear the register."""
        status, self.event_status = self.event_status, 0
        return str(status)


def parse_float(text: str | None) -> float:
    """Parse a numeric parameter; ExecutionError -224 if missing or not a finite number."""
    try:
        value = float(text or "")
    except ValueError:
        raise ExecutionError(-224, "Illegal parameter value") from None
    if not math.isfinite(value):
        raise ExecutionError(-224, "Illegal parameter value")
    return value


def parse_in_range(text: str | None, low: float, high: float) -> float:
    """Parse a number in ``[low, high]``; ExecutionError -222 when outside."""
    value = parse_float(text)
    if not low <= value <= high:
        raise ExecutionError(-222, "Data out of range")
    return value


def parse_bool(text: str | None) -> bool:
    """Parse ``ON``/``OFF``/``1``/``0``."""
    token = (text or "").strip().upper()
    if token in ("ON", "1"):
        return True
    if token in ("OFF", "0"):
        return False
    raise ExecutionError(-224, "Illegal parameter value")


_LONG_TO_SHORT = {
    "AMPLITUDE": "AMPL",
    "AVERAGE": "AVER",
    "CATALOG": "CAT",
    "CHANNEL": "CHAN",
    "CORRECTION": "CORR",
    "COUNT": "COUN",
    "CURRENT": "CURR",
    "ERROR": "ERR",
    "FUNCTION": "FUNC",
    "IMMEDIATE": "IMM",
    "DEPTH": "DEPT",
    "LEVEL": "LEV",
    "MEASURE": "MEAS",
    "MODULATION": "MOD",
    "OUTPUT": "OUTP",
    "POWER": "POW",
    "PROTECTION": "PROT",
    "RANGE": "RANG",
    "SCALAR": "SCAL",
    "SENSE": "SENS",
    "SOURCE": "SOUR",
    "STATE": "STAT",
    "SYSTEM": "SYST",
    "VOLTAGE": "VOLT",
    "WAVELENGTH": "WAV",
}
_OPTIONAL_NODES = frozenset({"AMPL", "IMM", "LEV", "NEXT", "SCAL", "STAT"})

ScpiHandler = Callable[[str | None], str | None]


def normalise_header(header: str) -> str:
    """Canonical short form of a SCPI header without optional nodes, e.g.
    ``":SOURce:VOLTage:LEVel"`` -> ``"SOUR:VOLT"``."""
    nodes = [_LONG_TO_SHORT.get(node, node) for node in header.strip(":").upper().split(":")]
    kept = [nodes[0], *(node for node in nodes[1:] if node not in _OPTIONAL_NODES)]
    return ":".join(kept)


class ScpiDeviceSim(DeviceSim):
    """A SCPI instrument: ``*IDN?``, ``*RST``, ``*CLS``, ``*ESR?``, ``SYST:ERR?`` + handlers.

    Subclasses fill ``self.handlers``: canonical header (``"SOUR:VOLT"`` for a set,
    ``"SOUR:VOLT?"`` for a query) -> function of the parameter text.
    """

    def __init__(
        self, bench: OpticalBench, idn: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(bench, idn, clock)
        self.errors: deque[tuple[int, str]] = deque(maxlen=10)
        self.handlers: dict[str, ScpiHandler] = {
            "*IDN?": lambda _: self.idn,
            "*RST": lambda _: self.reset(),
            "*CLS": lambda _: self.clear_status(),
            "*ESR?": lambda _: self.read_event_status(),
            "SYST:ERR?": lambda _: self.next_error(),
        }

    def handle_command(self, command: str) -> str | None:
        header, _, parameter = command.partition(" ")
        query = header.endswith("?")
        key = normalise_header(header.rstrip("?")) + ("?" if query else "")
        handler = self.handlers.get(key)
        if handler is None:
            self.record_error(ExecutionError(-113, "Undefined header"))
            raise CommandError(command)
        return handler(parameter.strip() or None)

    def record_error(self, error: ExecutionError) -> None:
        self.errors.append((error.code, error.message))

    def next_error(self) -> str:
        """Answer ``SYST:ERR?``: the oldest queued error, or ``0,"No error"``."""
        code, message = self.errors.popleft() if self.errors else (0, "No error")
        return f'{code},"{message}"'

    def clear_status(self) -> None:
        """``*CLS``: clear the event register and the error queue."""
        self.event_status = 0
        self.errors.clear()

    def reset(self) -> None:
        """``*RST`` (override to restore defaults)."""


class SourceMeterSim(ScpiDeviceSim):
    """Keithley 2400-style source-meter wired across the bench photodiode.

    Sources voltage (the photodiode bias, anode minus cathode) and measures current. The
    reading is the bench diode current plus noise with standard deviation
    :meth:`current_noise_a`: the diode's white noise over the integration bandwidth
    ``1 / (2 T)``, ``T = NPLC / 50 Hz``, plus the meter's floor and gain noise. The 1/f part
    is left out of the DC reading.
    """

    IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,4101234,C32   Oct  4 2010 14:20:11/A02  /S/K"
    LINE_FREQUENCY_HZ = 50.0
    CURRENT_NOISE_FLOOR_A = 10e-12
    CURRENT_NOISE_RELATIVE = 1e-5
    VOLTAGE_NOISE_V = 20e-6
    STATUS_COMPLIANCE = 1 << 3

    def __init__(self, bench: OpticalBench, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(bench, self.IDN, clock)
        self.rng = bench.rng("sourcemeter")
        self.handlers.update(
            {
                "SOUR:FUNC": self._set_source_function,
                "SOUR:FUNC?": lambda _: "VOLT",
                "SOUR:VOLT": self._set_voltage,
                "SOUR:VOLT?": lambda _: f"{self.voltage_v:+.6E}",
                "SENS:FUNC": self._set_sense_function,
                "SENS:FUNC?": lambda _: '"CURR:DC"',
                "SENS:CURR:PROT": self._set_compliance,
                "SENS:CURR:PROT?": lambda _: f"{self.compliance_a:+.6E}",
                "SENS:CURR:NPLC": self._set_nplc,
                "SENS:CURR:NPLC?": lambda _: f"{self.nplc:+.6E}",
                "OUTP": self._set_output,
                "OUTP?": lambda _: "1" if self.output_on else "0",
                "READ?": lambda _: self._read(),
            }
        )
        self.reset()

    def reset(self) -> None:
        self.output_on = False
        self.voltage_v = 0.0
        self.compliance_a = 105e-6
        self.nplc = 1.0
        self.started_at = self.clock()
        self.bench.set_bias(0.0)

    def current_noise_a(self) -> float:
        """Standard deviation of one current reading at the present state, A."""
        integration_s = self.nplc / self.LINE_FREQUENCY_HZ
        bandwidth_hz = 1.0 / (2.0 * integration_s)
        bench = self.bench
        dark = bench.photodiode.dark_current_a(bench.bias_v, bench.temperature_c)
        white = bench.photodiode.white_noise_psd_a2_per_hz(
            bench.photocurrent_mean_a(), dark, bench.temperature_c
        )
        relative = self.CURRENT_NOISE_RELATIVE * bench.diode_current_a()
        return math.sqrt(white * bandwidth_hz + self.CURRENT_NOISE_FLOOR_A**2 + relative**2)

    def _set_source_function(self, parameter: str | None) -> None:
        if (parameter or "").upper() not in ("VOLT", "VOLTAGE"):
            raise ExecutionError(-221, "Settings conflict; only voltage sourcing is simulated")

    def _set_sense_function(self, parameter: str | None) -> None:
        if (parameter or "").strip("'\"").upper() not in ("CURR", "CURR:DC", "CURRENT"):
            raise ExecutionError(-221, "Settings conflict; only current sensing is simulated")

    def _set_voltage(self, parameter: str | None) -> None:
        self.voltage_v = parse_in_range(parameter, -210.0, 210.0)
        if self.output_on:
            self.bench.set_bias(self.voltage_v)

    def _set_compliance(self, parameter: str | None) -> None:
        self.compliance_a = parse_in_range(parameter, 1e-9, 1.05)

    def _set_nplc(self, parameter: str | None) -> None:
        self.nplc = parse_in_range(parameter, 0.01, 10.0)

    def _set_output(self, parameter: str | None) -> None:
        self.output_on = parse_bool(parameter)
        self.bench.set_bias(self.voltage_v if self.output_on else 0.0)

    def _read(self) -> str | None:
        if not self.output_on:
            raise ExecutionError(-221, "Settings conflict; output off")
        current = self.bench.diode_current_a() + self.rng.normal(0.0, self.current_noise_a())
        status = 0
        if abs(current) > self.compliance_a:
            current = math.copysign(self.compliance_a, current)
            status |= self.STATUS_COMPLIANCE
        voltage = self.voltage_v + self.rng.normal(0.0, self.VOLTAGE_NOISE_V)
        timestamp = self.clock() - self.started_at
        fields = (voltage, current, SCPI_NOT_A_NUMBER, timestamp, float(status))
        return ",".join(f"{value:+.6E}" for value in fields)


class PowerMeterSim(ScpiDeviceSim):
    """Thorlabs PM100-style power meter with a silicon photodiode sensor (S120C-like).

    Reads the LED power at the power-meter port of the bench. Like the real sensor it divides
    its photocurrent by its responsivity at the *set* correction wavelength, so a wrong setting
    scales the reading by ``R(lambda_LED) / R(lambda_set)``. Noise per reading: floor and
    relative terms, divided by ``sqrt(average count)``.
    """

    IDN = "Thorlabs,PM100USB,P2004321,1.7.0"
    WAVELENGTH_RANGE_NM = (400.0, 1100.0)
    AVERAGE_COUNT_RANGE = (1, 10000)
    NOISE_FLOOR_W = 1e-9
    NOISE_RELATIVE = 1e-3

    def __init__(self, bench: OpticalBench, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(bench, self.IDN, clock)
        self.rng = bench.rng("powermeter")
        self.handlers.update(
            {
                "SENS:CORR:WAV": self._set_wavelength,
                "SENS:CORR:WAV?": self._query_wavelength,
                "SENS:AVER:COUN": self._set_average_count,
                "SENS:AVER:COUN?": lambda _: str(self.average_count),
                "SENS:POW:RANG:AUTO": self._set_auto_range,
                "SENS:POW:RANG:AUTO?": lambda _: "1" if self.auto_range else "0",
                "MEAS:POW?": lambda _: f"{self.read_power_w():.9E}",
            }
        )
        self.reset()

    def reset(self) -> None:
        self.wavelength_nm = 633.0
        self.average_count = 1
        self.auto_range = True

    def expected_power_w(self) -> float:
        """Noise-free reading at the present wavelength correction, W."""
        true_power = self.bench.power_meter_power_w()
        correction = silicon_responsivity_a_per_w(
            self.bench.led.wavelength_nm
        ) / silicon_responsivity_a_per_w(self.wavelength_nm)
        return true_power * float(correction)

    def power_noise_w(self) -> float:
        """Standard deviation of one reading at the present state, W."""
        single = math.hypot(self.NOISE_FLOOR_W, self.NOISE_RELATIVE * self.expected_power_w())
        return single / math.sqrt(self.average_count)

    def read_power_w(self) -> float:
        """One noisy reading, W."""
        return self.expected_power_w() + self.rng.normal(0.0, self.power_noise_w())

    def _set_wavelength(self, parameter: str | None) -> None:
        self.wavelength_nm = parse_in_range(parameter, *self.WAVELENGTH_RANGE_NM)

    def _query_wavelength(self, parameter: str | None) -> str:
        limits = {"MIN": self.WAVELENGTH_RANGE_NM[0], "MAX": self.WAVELENGTH_RANGE_NM[1]}
        token = (parameter or "").upper()
        if token and token not in limits:
            raise ExecutionError(-224, "Illegal parameter value")
        return f"{limits.get(token, self.wavelength_nm):.6E}"

    def _set_average_count(self, parameter: str | None) -> None:
        count = parse_in_range(parameter, *self.AVERAGE_COUNT_RANGE)
        if not count.is_integer():
            raise ExecutionError(-224, "Illegal parameter value")
        self.average_count = int(count)

    def _set_auto_range(self, parameter: str | None) -> None:
        self.auto_range = parse_bool(parameter)


class LedSourceSim(ScpiDeviceSim):
    """Thorlabs DC2200-style LED driver switching between the bench LEDs.

    Channel ``n`` (1-based) drives the LED of ``LED_WAVELENGTHS_NM[n - 1]``. The bench LED gets
    the set current while the output is on and 0 A while it is off. The LED is modulated at
    the reading lock-in's reference frequency (external modulation input); its depth is
    reported by ``SOUR:MOD:DEPT?`` in percent.

    Commands: ``SOUR:CHAN n``/``?``, ``SOUR:WAV?`` (selected LED, nm), ``SOUR:WAV:CAT?`` (LED
    of every channel, nm), ``SOUR:CURR x``/``?`` (A; ``? MIN``/``? MAX`` give the range),
    ``OUTP ON|OFF``/``?``, ``SOUR:MOD:DEPT?``.
    """

    IDN = "Thorlabs,DC2200,M00412345,1.2.0"
    CURRENT_RANGE_A = (0.0, 1.0)
    channel: int
    current_a: float
    output_on: bool

    def __init__(self, bench: OpticalBench, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(bench, self.IDN, clock)
        self.handlers.update(
            {
                "SOUR:CHAN": self._set_channel,
                "SOUR:CHAN?": lambda _: str(self.channel),
                "SOUR:WAV?": lambda _: f"{self.wavelength_nm:.6E}",
                "SOUR:WAV:CAT?": lambda _: ",".join(f"{nm:.6E}" for nm in LED_WAVELENGTHS_NM),
                "SOUR:CURR": self._set_current,
                "SOUR:CURR?": self._query_current,
                "OUTP": self._set_output,
                "OUTP?": lambda _: "1" if self.output_on else "0",
                "SOUR:MOD:DEPT?": lambda _: f"{100.0 * self.bench.led.modulation_depth:.6E}",
            }
        )
        # Take over the LED as the bench was set up (e.g. from the command line).
        led = bench.led
        self.channel = LED_WAVELENGTHS_NM.index(led.wavelength_nm) + 1
        self.current_a = led.drive_current_a
        self.output_on = led.drive_current_a > 0.0

    @property
    def wavelength_nm(self) -> float:
        """Wavelength of the LED on the selected channel, nm."""
        return LED_WAVELENGTHS_NM[self.channel - 1]

    def reset(self) -> None:
        self.output_on = False
        self.current_a = 0.0
        self._apply()

    def _apply(self) -> None:
        self.bench.set_led(
            wavelength_nm=self.wavelength_nm,
            drive_current_a=self.current_a if self.output_on else 0.0,
        )

    def _set_channel(self, parameter: str | None) -> None:
        channel = parse_in_range(parameter, 1, len(LED_WAVELENGTHS_NM))
        if not channel.is_integer():
            raise ExecutionError(-224, "Illegal parameter value")
        self.channel = int(channel)
        self._apply()

    def _set_current(self, parameter: str | None) -> None:
        self.current_a = parse_in_range(parameter, *self.CURRENT_RANGE_A)
        self._apply()

    def _query_current(self, parameter: str | None) -> str:
        limits = {"MIN": self.CURRENT_RANGE_A[0], "MAX": self.CURRENT_RANGE_A[1]}
        token = (parameter or "").upper()
        if token and token not in limits:
            raise ExecutionError(-224, "Illegal parameter value")
        return f"{limits.get(token, self.current_a):.6E}"

    def _set_output(self, parameter: str | None) -> None:
        self.output_on = parse_bool(parameter)
        self._apply()
