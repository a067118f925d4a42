"""The seeded physics scene behind the simulated detector board.

`Scene` composes a `TissuePhantom` (photon rates with physiological truth), a `SensorModel`
(pixel array with noise and defects) and a `BoardThermalModel` (board temperature that drives
the dark current). One seed determines everything: `numpy.random.SeedSequence.spawn` gives each
part its own independent stream, so the same seed and the same sequence of calls produce
bit-identical frames.

Tissue time may start later than the board clock: `start_scenario` anchors the tissue's
events (an SpO2 trajectory, motion bursts, the probe leaving the skin) at a board-clock
instant, e.g. the start of the first stream, while the sensor and its temperature keep the
board clock.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from drivers.sim.sensor import BoardThermalConfig, BoardThermalModel, SensorConfig, SensorModel
from drivers.sim.tissue import TissueConfig, TissuePhantom


class Scene:
    """Tissue, sensor and board temperature driven by one seed.

    Parameters
    ----------
    seed : int
        Root seed.
    tissue, sensor, thermal : config or None
        Part configurations; None takes the defaults.
    """

    def __init__(
        self,
        seed: int = 0,
        tissue: TissueConfig | None = None,
        sensor: SensorConfig | None = None,
        thermal: BoardThermalConfig | None = None,
    ) -> None:
        self.seed = seed
        tissue_seed, sensor_seed, thermal_seed, noise_seed = np.random.SeedSequence(seed).spawn(4)
        self.tissue = TissuePhantom(tissue or TissueConfig(), np.random.default_rng(tissue_seed))
        self.sensor = SensorModel(
            sensor or SensorConfig(), self.tissue.shape, np.random.default_rng(sensor_seed)
        )
        self.thermal = BoardThermalModel(
            thermal or BoardThermalConfig(), np.random.default_rng(thermal_seed)
        )
        self._noise = np.random.default_rng(noise_seed)
        self.illumination: Callable[[float], tuple[float, float] | None] | None = None
        """Light that replaces the tissue when it returns (photons per pixel, wavelength nm)
        for an exposure (s), e.g. :class:`drivers.sim.illumination.DiffuserTarget`."""
        self.skin: Callable[[float], float] | None = None
        """Transmission of the epidermis by wavelength (nm) applied to the tissue's light, e.g.
        :class:`drivers.sim.skin.SkinTransmission`; None for no melanin."""
        self.scenario_start_s = 0.0

    def start_scenario(self, t_s: float) -> None:
        """Anchor tissue time 0 at board-clock time `t_s` (s)."""
        self.scenario_start_s = float(t_s)

    def tissue_time_s(self, t_s: float) -> float:
        """Tissue (scenario) time at board-clock time `t_s`, s."""
        return float(t_s) - self.scenario_start_s

    @property
    def sensor_shape(self) -> tuple[int, int]:
        """Full pixel array (rows, cols)."""
        return self.sensor.shape

    @property
    def bit_depth(self) -> int:
        """ADC resolution, bits."""
        return self.sensor.config.bit_depth

    @property
    def wavelengths_nm(self) -> tuple[int, ...]:
        """LED wavelengths in whole nm, as the board reports them."""
        return tuple(round(w) for w in self.tissue.config.led_wavelengths_nm)

    def frame(
        self,
        t_s: float,
        wavelength_nm: float,
        drive_current_ma: float,
        exposure_s: float,
        roi: tuple[int, int, int, int] | None = None,
        binning: int = 1,
        gain: float = 1.0,
    ) -> NDArray[np.uint16]:
        """One exposed and digitised frame.

        Parameters
        ----------
        t_s : float
            Mid-exposure time, s; light and board temperature are taken at this instant.
        wavelength_nm : float
            LED wavelength, nm (one of the tissue's LEDs).
        drive_current_ma : float
            LED drive current, mA; 0 gives a dark frame.
        exposure_s : float
            Integration time, s.
        roi : tuple of int, optional
            (row0, col0, height, width); the full array by default.
        binning : int
            On-chip binning factor (charge summed before read noise and quantisation).
        gain : float
            Analogue gain factor; multiplies the system gain K (DN/e⁻).

        Returns
        -------
        ndarray of uint16, shape (height / binning, width / binning)
            Digital numbers, DN.
        """
        uniform = self.illumination(exposure_s) if self.illumination is not None else None
        photons: NDArray[np.float64] | float
        if uniform is not None:
            photons, wavelength_nm = uniform
        else:
            photons = self.tissue.photon_rate(
                self.tissue_time_s(t_s), wavelength_nm, drive_current_ma
            )
            photons *= exposure_s * (self.skin(wavelength_nm) if self.skin is not None else 1.0)
        return self.sensor.expose(
            photons,
            exposure_s,
            self.board_temperature_c(t_s),
            self._noise,
            wavelength_nm=wavelength_nm,
            roi=roi,
            binning=binning,
            analog_gain=gain,
        )

    def board_temperature_c(self, t_s: float) -> float:
        """Board (and sensor) temperature at `t_s` (s), °C."""
        return float(self.thermal.temperature_c(t_s))

    def truth(self, t_s: float) -> dict[str, Any]:
        """Ground truth at `t_s` (s): ``tissue`` and ``sensor`` dicts and the temperature."""
        return {
            "seed": self.seed,
            "time_s": float(t_s),
            "board_temperature_c": self.board_temperature_c(t_s),
            "tissue": self.tissue.truth(self.tissue_time_s(t_s)),
            "sensor": self.sensor.truth(),
        }
