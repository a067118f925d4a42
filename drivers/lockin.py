"""Behaviour shared by the SR830 and SR86x lock-in drivers.

Every setter validates its value against the model's own table or range *before* anything is
sent; a value that is not allowed raises ``ValueError`` naming what is allowed (no silent
rounding). Every set is sent with ``*ESR?`` on the same line, and the driver raises
:class:`~drivers.errors.DeviceErrorResponse` on an execution (EXE) or command (CMD) error.

Settling: the step response of an N-pole RC cascade (6/12/18/24 dB/oct = 1..4 poles),
``1 - exp(-t/tau) * sum_{k<N} (t/tau)**k / k!``, reaches 99 % at 4.6, 6.6, 8.4 and 10.0 tau;
:func:`settle_time_s` returns the customary 5, 7, 9 and 10 tau. Equivalent noise bandwidths
are ``1/(4 tau)``, ``1/(8 tau)``, ``3/(32 tau)`` and ``5/(64 tau)``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import ClassVar

from drivers.errors import DeviceErrorResponse, ProtocolError
from drivers.visa_device import VisaDevice

logger = logging.getLogger(__name__)

SLOPES_DB_PER_OCT = (6, 12, 18, 24)
SETTLE_TIME_CONSTANTS = {6: 5.0, 12: 7.0, 18: 9.0, 24: 10.0}
ENBW_TIMES_TAU = {6: 1.0 / 4.0, 12: 1.0 / 8.0, 18: 3.0 / 32.0, 24: 5.0 / 64.0}

ESR_EXECUTION_ERROR = 1 << 4
ESR_COMMAND_ERROR = 1 << 5


def _check_slope(slope_db_per_oct: int) -> None:
    if slope_db_per_oct not in SLOPES_DB_PER_OCT:
        raise ValueError(
            f"filter slope {slope_db_per_oct!r} dB/oct not one of {SLOPES_DB_PER_OCT} dB/oct"
        )


def settle_time_s(time_constant_s: float, slope_db_per_oct: int) -> float:
    """Time to settle to 99 % after a step, s (5, 7, 9, 10 tau for 6..24 dB/oct)."""
    _check_slope(slope_db_per_oct)
    return SETTLE_TIME_CONSTANTS[slope_db_per_oct] * time_constant_s


def equivalent_noise_bandwidth_hz(time_constant_s: float, slope_db_per_oct: int) -> float:
    """Equivalent noise bandwidth of the output filter, Hz."""
    _check_slope(slope_db_per_oct)
    return ENBW_TIMES_TAU[slope_db_per_oct] / time_constant_s


def format_si(value: float, unit: str) -> str:
    """Format ``value`` with an SI prefix, e.g. ``format_si(2e-9, "V") == "2 nV"``."""
    if value == 0:
        return f"0 {unit}"
    prefixes = {-15: "f", -12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k"}
    exponent = max(-15, min(3, 3 * math.floor(math.log10(abs(value)) / 3)))
    return f"{value / 10.0**exponent:g} {prefixes[exponent]}{unit}"


def finite_number(value: object, what: str) -> float:
    """Return ``value`` as a float; reject booleans, non-numbers and non-finite numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value}")
    return float(value)


def check_range(value: object, what: str, low: float, high: float, unit: str) -> float:
    """Return ``value`` as a float if ``low <= value <= high``; else raise ValueError."""
    number = finite_number(value, what)
    if not low <= number <= high:
        logger.info("refused %s %g %s (allowed %g … %g)", what, number, unit, low, high)
        raise ValueError(
            f"{what} {number:g} {unit} outside the allowed range {low:g} … {high:g} {unit}"
        )
    return number


def table_index(value: object, table: tuple[float, ...], what: str, unit: str) -> int:
    """Index of ``value`` in ``table`` (relative tolerance 1e-9); ValueError listing the table."""
    number = finite_number(value, what)
    for index, allowed in enumerate(table):
        if math.isclose(number, allowed, rel_tol=1e-9):
            return index
    listed = ", ".join(format_si(allowed, unit) for allowed in sorted(table))
    logger.info("refused %s %s (not in the table)", what, format_si(number, unit))
    raise ValueError(f"{what} {format_si(number, unit)} is not an allowed value; allowed: {listed}")


@dataclass(frozen=True)
class LockInReading:
    """One coherent lock-in reading with the settings and status it was taken with.

    ``x_v``, ``y_v`` and ``r_v`` are RMS volts, ``theta_deg`` degrees. A reading taken while
    the output or input was overloaded, or the reference was unlocked, is not ``valid``.
    """

    x_v: float
    y_v: float
    r_v: float
    theta_deg: float
    overloaded: bool
    unlocked: bool
    sensitivity_v: float
    time_constant_s: float

    @property
    def valid(self) -> bool:
        """Neither overloaded nor unlocked."""
        return not (self.overloaded or self.unlocked)


@dataclass(frozen=True)
class LockInModel:
    """Command-set facts of one lock-in model (tables in wire-index order)."""

    model: str
    sensitivity_command: str
    sensitivities_v: tuple[float, ...]
    time_constants_s: tuple[float, ...]
    frequency_range_hz: tuple[float, float]
    phase_range_deg: tuple[float, float]
    sine_amplitude_range_v: tuple[float, float]
    overload_mask: int
    unlock_mask: int


class LockInAmplifier(VisaDevice):
    """Common driver of the SR830 and SR86x; subclasses set ``MODEL`` and ``snap``."""

    MODEL: ClassVar[LockInModel]

    @classmethod
    def allowed_sensitivities_v(cls) -> tuple[float, ...]:
        """Full-scale sensitivities, V, ascending."""
        return tuple(sorted(cls.MODEL.sensitivities_v))

    @classmethod
    def allowed_time_constants_s(cls) -> tuple[float, ...]:
        """Time constants, s, ascending."""
        return tuple(sorted(cls.MODEL.time_constants_s))

    @classmethod
    def smallest_sensitivity_at_least(cls, amplitude_v: float) -> float:
        """The most sensitive full scale that is ≥ ``amplitude_v`` (RMS V)."""
        amplitude = finite_number(amplitude_v, "amplitude")
        for sensitivity in cls.allowed_sensitivities_v():
            if sensitivity >= amplitude:
                return sensitivity
        top = format_si(cls.allowed_sensitivities_v()[-1], "V")
        raise ValueError(
            f"{cls.MODEL.model}: amplitude {amplitude:g} V exceeds the top range {top}"
        )

    @property
    def sensitivity_v(self) -> float:
        """Full-scale sensitivity, V (one of :meth:`allowed_sensitivities_v`)."""
        return self._query_table(f"{self.MODEL.sensitivity_command}?", self.MODEL.sensitivities_v)

    @sensitivity_v.setter
    def sensitivity_v(self, value: float) -> None:
        index = table_index(
            value, self.MODEL.sensitivities_v, f"{self.MODEL.model} sensitivity", "V"
        )
        self._set(f"{self.MODEL.sensitivity_command} {index}")

    @property
    def time_constant_s(self) -> float:
        """Output filter time constant, s (one of :meth:`allowed_time_constants_s`)."""
        return self._query_table("OFLT?", self.MODEL.time_constants_s)

    @time_constant_s.setter
    def time_constant_s(self, value: float) -> None:
        index = table_index(
            value, self.MODEL.time_constants_s, f"{self.MODEL.model} time constant", "s"
        )
        self._set(f"OFLT {index}")

    @property
    def filter_slope_db_per_oct(self) -> int:
        """Output filter slope, dB/oct: 6, 12, 18 or 24."""
        return round(self._query_table("OFSL?", tuple(map(float, SLOPES_DB_PER_OCT))))

    @filter_slope_db_per_oct.setter
    def filter_slope_db_per_oct(self, value: int) -> None:
        _check_slope(value)
        self._set(f"OFSL {SLOPES_DB_PER_OCT.index(value)}")

    @property
    def frequency_hz(self) -> float:
        """Internal reference frequency, Hz."""
        return self.query_float("FREQ?")

    @frequency_hz.setter
    def frequency_hz(self, value: float) -> None:
        low, high = self.MODEL.frequency_range_hz
        number = check_range(value, f"{self.MODEL.model} frequency", low, high, "Hz")
        self._set(f"FREQ {number:.6g}")

    @property
    def phase_deg(self) -> float:
        """Reference phase, degrees."""
        return self.query_float("PHAS?")

    @phase_deg.setter
    def phase_deg(self, value: float) -> None:
        low, high = self.MODEL.phase_range_deg
        number = check_range(value, f"{self.MODEL.model} phase", low, high, "deg")
        self._set(f"PHAS {number:.6g}")

    @property
    def sine_amplitude_v(self) -> float:
        """Sine output amplitude, V RMS."""
        return self.query_float("SLVL?")

    @sine_amplitude_v.setter
    def sine_amplitude_v(self, value: float) -> None:
        low, high = self.MODEL.sine_amplitude_range_v
        number = check_range(value, f"{self.MODEL.model} sine amplitude", low, high, "V")
        self._set(f"SLVL {number:.6g}")

    def settle_time_s(self) -> float:
        """Settling time for the present time constant and slope, s."""
        with self._lock:
            return settle_time_s(self.time_constant_s, self.filter_slope_db_per_oct)

    def equivalent_noise_bandwidth_hz(self) -> float:
        """ENBW for the present time constant and slope, Hz."""
        with self._lock:
            return equivalent_noise_bandwidth_hz(self.time_constant_s, self.filter_slope_db_per_oct)

    def wait_settled(self) -> None:
        """Sleep for :meth:`settle_time_s`."""
        time.sleep(self.settle_time_s())

    def lia_status(self) -> int:
        """Read (and thereby clear) the latched ``LIAS?`` status bits."""
        return self.query_int("LIAS?")

    def snap(self) -> tuple[float, float, float, float]:
        """X, Y, R (V RMS) and theta (deg) taken at one instant."""
        raise NotImplementedError

    def measure(self, *, auto_range: bool = True) -> LockInReading:
        """Take one coherent reading with its status.

        With ``auto_range``, while the reading reports overload the sensitivity is stepped to
        the next less-sensitive range, the settle time is waited and the reading is repeated,
        until it is no longer overloaded or the top range is reached. A reading that stays
        overloaded or unlocked is returned with ``valid == False``.
        """
        with self._lock:
            reading = self._read_once()
            top = self.allowed_sensitivities_v()[-1]
            while auto_range and reading.overloaded and reading.sensitivity_v < top:
                ranges = self.allowed_sensitivities_v()
                self.sensitivity_v = ranges[ranges.index(reading.sensitivity_v) + 1]
                logger.info(
                    "%s",
                    self._describe(f"overload; sensitivity raised to {self.sensitivity_v:g} V"),
                )
                self.wait_settled()
                reading = self._read_once()
            return reading

    def read_ranged(self, count: int) -> list[LockInReading]:
        """``count`` readings on the most sensitive range that holds the signal.

        The range is found from one coarse reading on the least sensitive range (after one
        settling time), set to the smallest full scale of at least 1.5 times that amplitude;
        each reading then waits one settling time of the output filter and auto-ranges up if
        it still overloads (:meth:`measure`). Check :attr:`LockInReading.valid` of each.

        Parameters
        ----------
        count : int
            Number of readings to take.

        Returns
        -------
        list of LockInReading
            The readings, in the order taken.
        """
        with self._lock:
            self.sensitivity_v = self.allowed_sensitivities_v()[-1]
            self.wait_settled()
            coarse = self.measure(auto_range=False).r_v
            self.sensitivity_v = self.smallest_sensitivity_at_least(1.5 * coarse)
            settle = self.settle_time_s()
            readings = []
            for _ in range(count):
                time.sleep(settle)
                readings.append(self.measure())
            return readings

    def _read_once(self) -> LockInReading:
        self.lia_status()
        x, y, r, theta = self.snap()
        status = self.lia_status()
        return LockInReading(
            x_v=x,
            y_v=y,
            r_v=r,
            theta_deg=theta,
            overloaded=bool(status & self.MODEL.overload_mask),
            unlocked=bool(status & self.MODEL.unlock_mask),
            sensitivity_v=self.sensitivity_v,
            time_constant_s=self.time_constant_s,
        )

    def _query_table(self, command: str, table: tuple[float, ...]) -> float:
        index = self.query_int(command)
        if not 0 <= index < len(table):
            raise ProtocolError(
                self._describe(f"{command} answered index {index}, outside 0..{len(table) - 1}")
            )
        return table[index]

    def _set(self, command: str) -> None:
        """Send a set command with ``*ESR?`` on the same line; raise on EXE/CMD errors."""
        status = self.query_int(f"{command};*ESR?")
        if status & (ESR_COMMAND_ERROR | ESR_EXECUTION_ERROR):
            logger.info("%s", self._describe(f"event status {status} after {command!r}"))
        if status & ESR_COMMAND_ERROR:
            raise DeviceErrorResponse(
                ESR_COMMAND_ERROR, self._describe(f"command error (CMD) after {command!r}")
            )
        if status & ESR_EXECUTION_ERROR:
            raise DeviceErrorResponse(
                ESR_EXECUTION_ERROR,
                self._describe(f"execution error (EXE, parameter out of range) after {command!r}"),
            )

    def _check_model(self, accepted: tuple[str, ...], prefix: str = "") -> None:
        identity = self.identify(prefix)
        if identity.model not in accepted:
            raise ProtocolError(
                self._describe(f"expected a {'/'.join(accepted)}, *IDN? says {identity.model!r}")
            )
