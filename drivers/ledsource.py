"""Thorlabs DC2200-style SCPI LED driver with one LED (wavelength) per channel."""

from __future__ import annotations

import logging
import math

from drivers.errors import ProtocolError
from drivers.lockin import check_range, finite_number
from drivers.visa_device import VisaDevice

logger = logging.getLogger(__name__)


class DC2200(VisaDevice):
    """LED source: channel (LED wavelength) selection, drive current, output on/off.

    On connect the LED wavelength of every channel (``SOUR:WAV:CAT?``) and the drive-current
    range (``SOUR:CURR? MIN``/``MAX``) are read; every set is checked against them before
    anything is sent. The output is switched off on :meth:`close`. The LED is modulated
    through the driver's external modulation input (at the lock-in reference frequency);
    :attr:`modulation_depth` reports its depth. Arguments as for
    :class:`~drivers.visa_device.VisaDevice`.
    """

    DEFAULT_NAME = "DC2200"
    MODES = ("CC", "CB", "PWM", "IMOD", "EMOD")

    channel_wavelengths_nm: tuple[float, ...] = ()
    current_range_a: tuple[float, float] | None = None

    @property
    def channel(self) -> int:
        """Selected channel, 1-based."""
        return self.query_int("SOUR:CHAN?")

    @channel.setter
    def channel(self, value: int) -> None:
        count = len(self._wavelengths())
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= count:
            logger.info("%s refused channel %r (1 … %d)", self.name, value, count)
            raise ValueError(f"{self.name} channel {value!r} outside the allowed range 1 … {count}")
        self.write_checked(f"SOUR:CHAN {value}")

    @property
    def wavelength_nm(self) -> float:
        """Wavelength of the LED on the selected channel, nm; setting it selects that channel."""
        return self.query_float("SOUR:WAV?")

    @wavelength_nm.setter
    def wavelength_nm(self, value: float) -> None:
        wavelength = finite_number(value, f"{self.name} wavelength")
        for channel, available in enumerate(self._wavelengths(), start=1):
            if math.isclose(wavelength, available, abs_tol=0.5):
                self.channel = channel
                return
        listed = ", ".join(f"{nm:g}" for nm in self._wavelengths())
        logger.info("%s refused wavelength %g nm (LEDs: %s nm)", self.name, wavelength, listed)
        raise ValueError(f"{self.name} has no {wavelength:g} nm LED; available: {listed} nm")

    @property
    def current_a(self) -> float:
        """LED drive current set-point, A."""
        return self.query_float("SOUR:CURR?")

    @current_a.setter
    def current_a(self, value: float) -> None:
        if self.current_range_a is None:
            raise ProtocolError(self._describe("current range unknown (not connected)"))
        current = check_range(value, f"{self.name} LED current", *self.current_range_a, "A")
        self.write_checked(f"SOUR:CURR {current:.6g}")

    @property
    def output_enabled(self) -> bool:
        """Whether the LED output is on."""
        return self.query_int("OUTP?") == 1

    @output_enabled.setter
    def output_enabled(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"output_enabled must be a bool, got {type(value).__name__}")
        self.write_checked(f"OUTP {'ON' if value else 'OFF'}")

    @property
    def mode(self) -> str:
        """Operating mode: ``CC`` constant current, ``CB`` constant brightness, ``PWM``,
        ``IMOD`` internal or ``EMOD`` external modulation."""
        return self.query("SOUR:MODE?").strip().upper()

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in self.MODES:
            logger.info("%s refused mode %r (%s)", self.name, value, ", ".join(self.MODES))
            raise ValueError(f"{self.name} mode {value!r} not one of {', '.join(self.MODES)}")
        self.write_checked(f"SOUR:MODE {value}")

    @property
    def modulation_depth(self) -> float:
        """Modulation depth of the LED power (0 … 1)."""
        return self.query_float("SOUR:MOD:DEPT?") / 100.0

    def _wavelengths(self) -> tuple[float, ...]:
        if not self.channel_wavelengths_nm:
            raise ProtocolError(self._describe("LED catalogue unknown (not connected)"))
        return self.channel_wavelengths_nm

    def _after_connect(self) -> None:
        identity = self.identify()
        if not identity.model.upper().startswith("DC2200"):
            raise ProtocolError(
                self._describe(f"expected a Thorlabs DC2200, *IDN? says {identity.model!r}")
            )
        catalogue = self.query("SOUR:WAV:CAT?")
        self.channel_wavelengths_nm = tuple(
            self._parse("SOUR:WAV:CAT?", part, float) for part in catalogue.split(",")
        )
        self.current_range_a = (
            self.query_float("SOUR:CURR? MIN"),
            self.query_float("SOUR:CURR? MAX"),
        )

    def _before_close(self) -> None:
        self.write_checked("OUTP OFF")
