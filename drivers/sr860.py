"""Stanford Research Systems SR86x (SR860, SR865, SR865A) lock-in amplifier drivers."""

from __future__ import annotations

import math
import re

from drivers.errors import ProtocolError
from drivers.lockin import LockInAmplifier, LockInModel

# SR86x SCAL 0..27, least sensitive first: 1 V, then 500/200/100 mV ... down to 1 nV.
SR86X_SENSITIVITIES_V = (
    1.0, 500e-3, 200e-3, 100e-3, 50e-3, 20e-3, 10e-3, 5e-3, 2e-3, 1e-3,
    500e-6, 200e-6, 100e-6, 50e-6, 20e-6, 10e-6, 5e-6, 2e-6, 1e-6,
    500e-9, 200e-9, 100e-9, 50e-9, 20e-9, 10e-9, 5e-9, 2e-9, 1e-9,
)  # fmt: skip

# SR86x OFLT 0..21: 1 us ... 30 ks, alternating 1 and 3 per decade.
SR86X_TIME_CONSTANTS_S = (
    1e-6, 3e-6, 10e-6, 30e-6, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3, 30e-3, 100e-3, 300e-3,
    1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3, 10e3, 30e3,
)  # fmt: skip

# LIAS? bits: 0/1 CH1/CH2 output overload, 4 input range overload, 8-11 data channel
# overloads; 3 external reference unlock.
SR86X_OVERLOAD_MASK = 0b1111_0001_0011
SR86X_UNLOCK_MASK = 0b1000

_IDN_MODEL = re.compile(r"SR86[05]A?")


def _sr86x_model(model: str, max_frequency_hz: float) -> LockInModel:
    return LockInModel(
        model=model,
        sensitivity_command="SCAL",
        sensitivities_v=SR86X_SENSITIVITIES_V,
        time_constants_s=SR86X_TIME_CONSTANTS_S,
        frequency_range_hz=(0.001, max_frequency_hz),
        phase_range_deg=(-360000.0, 360000.0),
        sine_amplitude_range_v=(1e-9, 2.0),
        overload_mask=SR86X_OVERLOAD_MASK,
        unlock_mask=SR86X_UNLOCK_MASK,
    )


class SR860(LockInAmplifier):
    """SR860 lock-in amplifier (500 kHz).

    Arguments as for :class:`drivers.visa_device.VisaDevice`.
    """

    DEFAULT_NAME = "SR860"
    MODEL = _sr86x_model("SR860", 500e3)

    def snap(self) -> tuple[float, float, float, float]:
        """X, Y, R (V RMS) from one ``SNAP? 0,1,2``; theta (deg) = atan2(Y, X).

        The SR86x snaps at most three values; theta is the instrument's own atan2 of the same
        X and Y, so computing it here keeps it coherent.
        """
        x, y, r = self.query_floats("SNAP? 0,1,2", 3)
        return x, y, r, math.degrees(math.atan2(y, x))

    def _after_connect(self) -> None:
        identity = self.identify()
        if not _IDN_MODEL.fullmatch(identity.model):
            raise ProtocolError(self._describe(f"expected an SR86x, *IDN? says {identity.model!r}"))


class SR865(SR860):
    """SR865 lock-in amplifier (2 MHz)."""

    DEFAULT_NAME = "SR865"
    MODEL = _sr86x_model("SR865", 2e6)


class SR865A(SR860):
    """SR865A lock-in amplifier (4 MHz)."""

    DEFAULT_NAME = "SR865A"
    MODEL = _sr86x_model("SR865A", 4e6)
