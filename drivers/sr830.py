"""Stanford Research Systems SR830 lock-in amplifier driver."""

from __future__ import annotations

from typing import Literal

import pyvisa

from drivers.lockin import LockInAmplifier, LockInModel

# SR830 manual table 3: SENS 0..26, most sensitive first.
SR830_SENSITIVITIES_V = (
    2e-9, 5e-9, 10e-9, 20e-9, 50e-9, 100e-9, 200e-9, 500e-9,
    1e-6, 2e-6, 5e-6, 10e-6, 20e-6, 50e-6, 100e-6, 200e-6, 500e-6,
    1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 100e-3, 200e-3, 500e-3,
    1.0,
)  # fmt: skip

# SR830 manual table 4: OFLT 0..19.
SR830_TIME_CONSTANTS_S = (
    10e-6, 30e-6, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3, 30e-3, 100e-3, 300e-3,
    1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 3e3, 10e3, 30e3,
)  # fmt: skip

# LIAS? bits: 0 input/reserve, 1 filter, 2 output overload; 3 reference unlock.
SR830_OVERLOAD_MASK = 0b0111
SR830_UNLOCK_MASK = 0b1000

_OUTX = {"rs232": 0, "gpib": 1}


class SR830(LockInAmplifier):
    """SR830 lock-in amplifier.

    Parameters
    ----------
    resource_name : str
        VISA resource of the instrument (or of its GPIB/serial gateway).
    output_interface : {"gpib", "rs232"} or None
        Interface selected with ``OUTX`` on connect (the SR830 answers only on the selected
        interface); None skips it.
    **kwargs
        Passed to :class:`~drivers.visa_device.VisaDevice` (name, resource_manager,
        timeout_s, read_termination, write_termination).
    """

    DEFAULT_NAME = "SR830"
    MODEL = LockInModel(
        model="SR830",
        sensitivity_command="SENS",
        sensitivities_v=SR830_SENSITIVITIES_V,
        time_constants_s=SR830_TIME_CONSTANTS_S,
        frequency_range_hz=(0.001, 102e3),
        phase_range_deg=(-360.0, 729.99),
        sine_amplitude_range_v=(0.004, 5.0),
        overload_mask=SR830_OVERLOAD_MASK,
        unlock_mask=SR830_UNLOCK_MASK,
    )

    def __init__(
        self,
        resource_name: str,
        *,
        output_interface: Literal["gpib", "rs232"] | None = "gpib",
        name: str | None = None,
        resource_manager: pyvisa.ResourceManager | None = None,
        timeout_s: float = 2.0,
        read_termination: str = "\n",
        write_termination: str = "\n",
    ) -> None:
        if output_interface is not None and output_interface not in _OUTX:
            raise ValueError(f"output_interface must be one of {sorted(_OUTX)} or None")
        super().__init__(
            resource_name,
            name=name,
            resource_manager=resource_manager,
            timeout_s=timeout_s,
            read_termination=read_termination,
            write_termination=write_termination,
        )
        self.output_interface = output_interface

    def snap(self) -> tuple[float, float, float, float]:
        """X, Y, R (V RMS) and theta (deg) from one ``SNAP? 1,2,3,4``."""
        x, y, r, theta = self.query_floats("SNAP? 1,2,3,4", 4)
        return x, y, r, theta

    def _after_connect(self) -> None:
        select = "" if self.output_interface is None else f"OUTX {_OUTX[self.output_interface]};"
        self._check_model(("SR830",), prefix=select)
