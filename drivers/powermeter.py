"""Thorlabs PM100-style optical power meter (SCPI)."""

from __future__ import annotations

import logging

from drivers.errors import ProtocolError
from drivers.lockin import check_range
from drivers.visa_device import VisaDevice

logger = logging.getLogger(__name__)


class PM100(VisaDevice):
    """Thorlabs PM100 power meter with a photodiode sensor.

    On connect the sensor's correction-wavelength limits are read
    (``SENS:CORR:WAV? MIN``/``MAX``) and every wavelength set is checked against them.
    Arguments as for :class:`~drivers.visa_device.VisaDevice`.
    """

    DEFAULT_NAME = "PM100"
    AVERAGE_COUNT_RANGE = (1, 10000)

    wavelength_range_nm: tuple[float, float] | None = None

    @property
    def wavelength_nm(self) -> float:
        """Correction wavelength, nm."""
        return self.query_float("SENS:CORR:WAV?")

    @wavelength_nm.setter
    def wavelength_nm(self, value: float) -> None:
        low, high = self._sensor_range()
        wavelength = check_range(value, f"{self.name} wavelength", low, high, "nm")
        self.write_checked(f"SENS:CORR:WAV {wavelength:.6g}")

    @property
    def average_count(self) -> int:
        """Number of samples averaged per reading."""
        return self.query_int("SENS:AVER:COUN?")

    @average_count.setter
    def average_count(self, value: int) -> None:
        low, high = self.AVERAGE_COUNT_RANGE
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            logger.info("%s refused average count %r (%d … %d)", self.name, value, low, high)
            raise ValueError(f"{self.name} average count must be an integer {low} … {high}")
        self.write_checked(f"SENS:AVER:COUN {value}")

    @property
    def auto_range(self) -> bool:
        """Whether the power range follows the signal."""
        return self.query_int("SENS:POW:RANG:AUTO?") == 1

    @auto_range.setter
    def auto_range(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"auto_range must be a bool, got {type(value).__name__}")
        self.write_checked(f"SENS:POW:RANG:AUTO {'ON' if value else 'OFF'}")

    def read_power_w(self) -> float:
        """One power reading (``MEAS:POW?``), W."""
        return self.query_float("MEAS:POW?")

    def _sensor_range(self) -> tuple[float, float]:
        if self.wavelength_range_nm is None:
            raise ProtocolError(self._describe("sensor wavelength range unknown (not connected)"))
        return self.wavelength_range_nm

    def _after_connect(self) -> None:
        identity = self.identify()
        if not identity.model.upper().startswith("PM100"):
            raise ProtocolError(
                self._describe(f"expected a Thorlabs PM100, *IDN? says {identity.model!r}")
            )
        low = self.query_float("SENS:CORR:WAV? MIN")
        high = self.query_float("SENS:CORR:WAV? MAX")
        self.wavelength_range_nm = (low, high)
