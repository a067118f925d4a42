"""Keithley 2400-style SCPI source-meter: source voltage, measure current."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from drivers.errors import DeviceError, ProtocolError
from drivers.lockin import check_range, finite_number
from drivers.visa_device import VisaDevice

logger = logging.getLogger(__name__)

STATUS_COMPLIANCE = 1 << 3


@dataclass(frozen=True)
class SourceMeterReading:
    """One ``:READ?`` result: source voltage (V), current (A), timestamp (s), status word."""

    voltage_v: float
    current_a: float
    timestamp_s: float
    status: int

    @property
    def in_compliance(self) -> bool:
        """The current reached the compliance limit (status bit 3)."""
        return bool(self.status & STATUS_COMPLIANCE)


@dataclass(frozen=True)
class VoltageSweep:
    """A voltage sweep: arrays of equal length, V, A and compliance flags."""

    voltage_v: np.ndarray
    current_a: np.ndarray
    in_compliance: np.ndarray


class Keithley2400(VisaDevice):
    """Keithley 2400 source-meter used as a voltage source with current measurement.

    Set-up on connect: ``:SOUR:FUNC VOLT`` and ``:SENS:FUNC "CURR"``. The output is switched
    off on :meth:`close`. Limits (2400 specification): source -210 … 210 V; current
    compliance 1 nA … 1.05 A, at most 105 mA when \\|V\\| > 21 V; integration 0.01 … 10 PLC.
    Arguments as for :class:`~drivers.visa_device.VisaDevice`.
    """

    DEFAULT_NAME = "Keithley 2400"
    VOLTAGE_RANGE_V = (-210.0, 210.0)
    COMPLIANCE_RANGE_A = (1e-9, 1.05)
    LOW_VOLTAGE_LIMIT_V = 21.0
    HIGH_VOLTAGE_COMPLIANCE_LIMIT_A = 0.105
    NPLC_RANGE = (0.01, 10.0)

    @property
    def voltage_v(self) -> float:
        """Source voltage level, V."""
        return self.query_float(":SOUR:VOLT:LEV?")

    @voltage_v.setter
    def voltage_v(self, value: float) -> None:
        voltage = check_range(value, f"{self.name} source voltage", *self.VOLTAGE_RANGE_V, "V")
        with self._lock:
            if abs(voltage) > self.LOW_VOLTAGE_LIMIT_V:
                self._check_power_envelope(voltage, self.compliance_a)
            self.write_checked(f":SOUR:VOLT:LEV {voltage:.6g}")

    @property
    def compliance_a(self) -> float:
        """Current compliance, A."""
        return self.query_float(":SENS:CURR:PROT?")

    @compliance_a.setter
    def compliance_a(self, value: float) -> None:
        compliance = check_range(value, f"{self.name} compliance", *self.COMPLIANCE_RANGE_A, "A")
        with self._lock:
            if compliance > self.HIGH_VOLTAGE_COMPLIANCE_LIMIT_A:
                self._check_power_envelope(self.voltage_v, compliance)
            self.write_checked(f":SENS:CURR:PROT {compliance:.6g}")

    @property
    def nplc(self) -> float:
        """Integration time in power-line cycles."""
        return self.query_float(":SENS:CURR:NPLC?")

    @nplc.setter
    def nplc(self, value: float) -> None:
        cycles = check_range(value, f"{self.name} NPLC", *self.NPLC_RANGE, "PLC")
        self.write_checked(f":SENS:CURR:NPLC {cycles:.6g}")

    @property
    def output_enabled(self) -> bool:
        """Whether the output is on."""
        return self.query_int(":OUTP?") == 1

    @output_enabled.setter
    def output_enabled(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"output_enabled must be a bool, got {type(value).__name__}")
        self.write_checked(f":OUTP {'ON' if value else 'OFF'}")

    def measure(self) -> SourceMeterReading:
        """One ``:READ?`` (the 2400's voltage, current, resistance, time, status 5-tuple).

        Raises
        ------
        DeviceError
            If the output is off.
        """
        with self._lock:
            if not self.output_enabled:
                raise DeviceError(self._describe("output is off; enable it before measuring"))
            voltage, current, _, timestamp, status = self.query_floats(":READ?", 5)
        return SourceMeterReading(voltage, current, timestamp, int(status))

    def sweep_voltage(
        self, start_v: float, stop_v: float, points: int, *, settle_s: float = 0.0
    ) -> VoltageSweep:
        """Step the source from ``start_v`` to ``stop_v`` (V) in ``points`` steps and measure.

        The output is switched on for the sweep and left on; ``settle_s`` (s) is waited after
        each step.
        """
        if isinstance(points, bool) or not isinstance(points, int) or points < 2:
            raise ValueError(f"points must be an integer ≥ 2, got {points!r}")
        for end in (start_v, stop_v):
            check_range(end, f"{self.name} sweep voltage", *self.VOLTAGE_RANGE_V, "V")
        if finite_number(settle_s, "settle_s") < 0:
            raise ValueError(f"settle_s must be ≥ 0 s, got {settle_s}")
        levels = np.linspace(start_v, stop_v, points)
        readings = []
        with self._lock:
            self.voltage_v = float(levels[0])
            self.output_enabled = True
            for level in levels:
                self.voltage_v = float(level)
                time.sleep(settle_s)
                readings.append(self.measure())
        return VoltageSweep(
            voltage_v=np.array([reading.voltage_v for reading in readings]),
            current_a=np.array([reading.current_a for reading in readings]),
            in_compliance=np.array([reading.in_compliance for reading in readings]),
        )

    def _check_power_envelope(self, voltage_v: float, compliance_a: float) -> None:
        if (
            abs(voltage_v) > self.LOW_VOLTAGE_LIMIT_V
            and compliance_a > self.HIGH_VOLTAGE_COMPLIANCE_LIMIT_A
        ):
            logger.info(
                "%s refused %g V with %g A compliance (power envelope)",
                self.name,
                voltage_v,
                compliance_a,
            )
            raise ValueError(
                f"{self.name}: above {self.LOW_VOLTAGE_LIMIT_V:g} V the compliance is limited "
                f"to {self.HIGH_VOLTAGE_COMPLIANCE_LIMIT_A:g} A "
                f"(asked {voltage_v:g} V with {compliance_a:g} A)"
            )

    def _after_connect(self) -> None:
        identity = self.identify()
        if not identity.model.upper().startswith("MODEL 24"):
            raise ProtocolError(
                self._describe(f"expected a Keithley 24xx, *IDN? says {identity.model!r}")
            )
        self.write_checked(":SOUR:FUNC VOLT")
        self.write_checked(':SENS:FUNC "CURR"')

    def _before_close(self) -> None:
        self.write_checked(":OUTP OFF")
