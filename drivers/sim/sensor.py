"""Seeded pixel-array detector and board temperature, with known ground truth.

The signal chain follows the linear camera model of EMVA Standard 1288 (release 4.0):
photons → electrons (quantum efficiency η, per-pixel gain non-uniformity PRNU) plus dark
electrons (dark current doubling every `doubling_temperature_c`), shot noise (Poisson, or its
moment-matched normal approximation, see `SensorConfig.exact_shot_noise`), pixel full-well
compression, per-pixel dark offset (DSNU), optional on-chip charge binning, read noise,
system gain K (DN/e⁻), black level and quantisation to `bit_depth` bits with saturation.
"""

from dataclasses import asdict, dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

NIR_SILICON_QE = (
    (600.0, 0.70),
    (650.0, 0.72),
    (700.0, 0.72),
    (750.0, 0.68),
    (800.0, 0.62),
    (850.0, 0.54),
    (900.0, 0.44),
    (950.0, 0.33),
    (1000.0, 0.20),
)
"""Quantum efficiency of a NIR-enhanced (thick-epitaxy) silicon pixel: (wavelength nm, η)."""


@dataclass(frozen=True)
class SensorConfig:
    """Configuration of `SensorModel`.

    Parameters
    ----------
    quantum_efficiency : tuple of (wavelength_nm, efficiency)
        Knots of η(λ), interpolated linearly; wavelengths outside are refused.
    gain_dn_per_e : float
        System gain K, DN/e⁻.
    read_noise_e : float
        Read noise, e⁻ rms.
    full_well_e : float
        Full-well capacity, e⁻.
    nonlinearity_knee_fraction : float
        Fraction of full well above which the response compresses smoothly toward full well.
    dark_current_e_per_s : float
        Dark current of a normal pixel at `dark_reference_temperature_c`, e⁻/s.
    dark_reference_temperature_c : float
        Reference temperature of the dark current, °C.
    doubling_temperature_c : float
        Temperature rise that doubles the dark current, °C.
    dsnu_e : float
        Spatial standard deviation of the per-pixel dark offset, e⁻.
    prnu_fraction : float
        Spatial standard deviation of the per-pixel gain, relative.
    hot_pixel_fraction : float
        Fraction of pixels with a large dark current.
    hot_pixel_dark_factor : tuple of float
        (low, high) range of the hot-pixel dark-current multiplier, drawn log-uniformly.
    dead_pixel_fraction : float
        Fraction of pixels with no response to light or dark current.
    black_level_dn : float
        Offset added before quantisation, DN.
    bit_depth : int
        ADC resolution, bits (output saturates at 2**bit_depth - 1).
    exact_shot_noise : bool
        Draw every pixel's electrons from a Poisson distribution. By default (about 4x
        faster), a pixel's shot and read noise are drawn together as one normal variable of
        variance μ + σ_read² (same mean and variance; skewness <= 0.05 for σ_read = 8 e⁻),
        except for pixels that can reach the nonlinearity knee, whose shot noise is drawn from
        a normal distribution of variance μ before compression.
    """

    quantum_efficiency: tuple[tuple[float, float], ...] = NIR_SILICON_QE
    gain_dn_per_e: float = 0.1
    read_noise_e: float = 8.0
    full_well_e: float = 40000.0
    nonlinearity_knee_fraction: float = 0.8
    dark_current_e_per_s: float = 50.0
    dark_reference_temperature_c: float = 25.0
    doubling_temperature_c: float = 6.5
    dsnu_e: float = 20.0
    prnu_fraction: float = 0.01
    hot_pixel_fraction: float = 1e-3
    hot_pixel_dark_factor: tuple[float, float] = (100.0, 1000.0)
    dead_pixel_fraction: float = 5e-4
    black_level_dn: float = 64.0
    bit_depth: int = 12
    exact_shot_noise: bool = False

    def __post_init__(self) -> None:
        wavelengths = [w for w, _ in self.quantum_efficiency]
        if len(wavelengths) < 2 or wavelengths != sorted(set(wavelengths)):
            raise ValueError("quantum_efficiency needs >= 2 knots with increasing wavelengths")
        if not all(0.0 <= eta <= 1.0 for _, eta in self.quantum_efficiency):
            raise ValueError("quantum efficiencies must lie in 0-1")
        if self.gain_dn_per_e <= 0.0 or self.full_well_e <= 0.0 or self.read_noise_e < 0.0:
            raise ValueError("need gain_dn_per_e > 0, full_well_e > 0, read_noise_e >= 0")
        if not 0.0 < self.nonlinearity_knee_fraction <= 1.0:
            raise ValueError("nonlinearity_knee_fraction must lie in (0, 1]")
        if self.doubling_temperature_c <= 0.0 or self.dark_current_e_per_s < 0.0:
            raise ValueError("need doubling_temperature_c > 0 and dark_current_e_per_s >= 0")
        if self.hot_pixel_fraction + self.dead_pixel_fraction > 1.0:
            raise ValueError("hot and dead pixel fractions exceed 1")
        if not 1 <= self.bit_depth <= 16:
            raise ValueError("bit_depth must lie in 1-16")


class SensorModel:
    """A pixel array with seeded per-pixel maps, exposing uint16 frames.

    Parameters
    ----------
    config : SensorConfig
        Sensor parameters.
    shape : tuple of int
        (rows, cols) of the array.
    rng : numpy.random.Generator
        Draws the per-pixel maps once, at construction.
    """

    def __init__(
        self, config: SensorConfig, shape: tuple[int, int], rng: np.random.Generator
    ) -> None:
        self.config = config
        self.shape = (int(shape[0]), int(shape[1]))
        pixels = self.shape[0] * self.shape[1]
        knots = np.array(config.quantum_efficiency, dtype=float)
        self._qe_nm, self._qe = knots[:, 0], knots[:, 1]

        self.prnu_gain = 1.0 + config.prnu_fraction * rng.standard_normal(self.shape)
        self.dsnu_offset_e = config.dsnu_e * rng.standard_normal(self.shape)
        hot_count = round(config.hot_pixel_fraction * pixels)
        dead_count = round(config.dead_pixel_fraction * pixels)
        chosen = rng.choice(pixels, hot_count + dead_count, replace=False)
        self.hot_pixels = np.sort(chosen[:hot_count])
        self.dead_pixels = np.sort(chosen[hot_count:])
        low, high = np.log(config.hot_pixel_dark_factor)
        hot_factors = np.exp(rng.uniform(low, high, hot_count))

        self._response = self.prnu_gain.copy()
        self._response.flat[self.dead_pixels] = 0.0
        self._dark_e_per_s = np.full(self.shape, config.dark_current_e_per_s)
        self._dark_e_per_s.flat[self.hot_pixels] *= hot_factors
        self._dark_e_per_s.flat[self.dead_pixels] = 0.0
        for array in (self.prnu_gain, self.dsnu_offset_e, self._response, self._dark_e_per_s):
            array.setflags(write=False)
        self._knee_e = config.nonlinearity_knee_fraction * config.full_well_e
        self._max_dn = float(2**config.bit_depth - 1)

    def quantum_efficiency(self, wavelength_nm: float) -> float:
        """Quantum efficiency η at `wavelength_nm` (nm), electrons per photon.

        Raises
        ------
        ValueError
            Outside the tabulated wavelengths.
        """
        if not self._qe_nm[0] <= wavelength_nm <= self._qe_nm[-1]:
            raise ValueError(
                f"wavelength {wavelength_nm} nm outside the quantum-efficiency table "
                f"{self._qe_nm[0]:g}-{self._qe_nm[-1]:g} nm"
            )
        return float(np.interp(wavelength_nm, self._qe_nm, self._qe))

    def dark_current_scale(self, temperature_c: float) -> float:
        """Dark current relative to the reference temperature: 2^((T - T_ref) / T_double)."""
        config = self.config
        excess = temperature_c - config.dark_reference_temperature_c
        return float(2.0 ** (excess / config.doubling_temperature_c))

    def compress(self, electrons: NDArray[np.float64]) -> NDArray[np.float64]:
        """Full-well response: identity below the knee, knee + s tanh((e - knee)/s) above it.

        s = full well - knee, so the response is smooth, monotone and tends to full well.
        """
        span = self.config.full_well_e - self._knee_e
        excess = electrons - self._knee_e
        if span <= 0.0:
            return np.minimum(electrons, self._knee_e)
        above = excess > 0.0
        if not above.any():
            return electrons
        return np.where(above, self._knee_e + span * np.tanh(excess / span), electrons)

    def _window(self, roi: tuple[int, int, int, int] | None, binning: int) -> tuple[slice, slice]:
        rows, cols = self.shape
        row0, col0, height, width = (0, 0, rows, cols) if roi is None else roi
        if min(row0, col0) < 0 or min(height, width) <= 0:
            raise ValueError(f"invalid ROI {roi}")
        if row0 + height > rows or col0 + width > cols:
            raise ValueError(f"ROI {roi} exceeds the {rows}×{cols} array")
        if binning < 1 or height % binning or width % binning:
            raise ValueError(f"ROI {height}×{width} is not divisible by binning {binning}")
        return slice(row0, row0 + height), slice(col0, col0 + width)

    def expose(
        self,
        photons: ArrayLike,
        exposure_s: float,
        temperature_c: float,
        rng: np.random.Generator,
        *,
        wavelength_nm: float,
        roi: tuple[int, int, int, int] | None = None,
        binning: int = 1,
        analog_gain: float = 1.0,
    ) -> NDArray[np.uint16]:
        """Integrate, read out and digitise one frame or a batch of frames.

        Parameters
        ----------
        photons : array_like
            Mean photons per pixel during the exposure, broadcastable to (..., H, W) of the
            full array (e.g. (H, W), (N, H, W), or (N, 1, 1) for flat fields).
        exposure_s : float
            Integration time, s (sets the dark charge).
        temperature_c : float
            Sensor temperature, °C.
        rng : numpy.random.Generator
            Source of the temporal noise.
        wavelength_nm : float
            Wavelength of the light, nm (sets the quantum efficiency).
        roi : tuple of int, optional
            (row0, col0, height, width) window to read; the full array by default.
        binning : int
            On-chip binning factor; charge of binning × binning pixels is summed before read
            noise and quantisation. ROI height and width must be multiples of it.
        analog_gain : float
            Gain of the analogue stage before the ADC; the system gain becomes
            K × analog_gain DN/e⁻ (read noise stays as configured, in e⁻).

        Returns
        -------
        ndarray of uint16, shape (..., height / binning, width / binning)
            Digital numbers, DN.
        """
        if exposure_s < 0.0 or analog_gain <= 0.0:
            raise ValueError(
                f"need exposure >= 0 s and analog gain > 0, got {exposure_s}, {analog_gain}"
            )
        rows, cols = self._window(roi, binning)
        photons = np.asarray(photons, dtype=float)
        if photons.shape[-2:] != self.shape:
            photons = np.broadcast_to(photons, np.broadcast_shapes(photons.shape, self.shape))
        photons = photons[..., rows, cols]
        if photons.min() < 0.0:
            raise ValueError("photon counts must be >= 0")

        dark_scale = self.dark_current_scale(temperature_c) * exposure_s
        mean_e = photons * (self.quantum_efficiency(wavelength_nm) * self._response[rows, cols])
        mean_e += self._dark_e_per_s[rows, cols] * dark_scale
        if self.config.exact_shot_noise:
            collected = self.compress(rng.poisson(mean_e).astype(float))
            shot_variance: NDArray[np.float64] | float = 0.0
        else:
            collected, shot_variance = self._collect(mean_e, rng)
        signal = self._bin(collected + self.dsnu_offset_e[rows, cols], binning)
        variance = self._bin(shot_variance, binning) + self.config.read_noise_e**2
        electrons = signal + np.sqrt(variance) * rng.standard_normal(signal.shape)
        digital = electrons * (self.config.gain_dn_per_e * analog_gain)
        digital += self.config.black_level_dn
        np.rint(digital, out=digital)
        np.maximum(digital, 0.0, out=digital)
        np.minimum(digital, self._max_dn, out=digital)
        return digital.astype(np.uint16)

    def _collect(
        self, mean_e: NDArray[np.float64], rng: np.random.Generator
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Collected charge with normal shot noise, and the shot variance left to draw.

        Pixels that can reach the nonlinearity knee (mean above knee - 5√knee) get their shot
        noise now, before compression; the others return their mean and their shot variance,
        which the caller draws together with the read noise as one normal variable.
        """
        near_knee = mean_e > self._knee_e - 5.0 * np.sqrt(self._knee_e)
        if not near_knee.any():
            return mean_e, mean_e
        collected = mean_e.copy()
        bright = mean_e[near_knee]
        collected[near_knee] = self.compress(
            bright + np.sqrt(bright) * rng.standard_normal(bright.shape)
        )
        return collected, np.where(near_knee, 0.0, mean_e)

    @overload
    @staticmethod
    def _bin(electrons: NDArray[np.float64], binning: int) -> NDArray[np.float64]: ...

    @overload
    @staticmethod
    def _bin(
        electrons: NDArray[np.float64] | float, binning: int
    ) -> NDArray[np.float64] | float: ...

    @staticmethod
    def _bin(electrons: NDArray[np.float64] | float, binning: int) -> NDArray[np.float64] | float:
        """Sum the charge of binning × binning blocks over the last two axes."""
        if not isinstance(electrons, np.ndarray) or electrons.ndim == 0:
            return electrons * binning**2
        if binning == 1:
            return electrons
        *leading, height, width = electrons.shape
        blocks = (*leading, height // binning, binning, width // binning, binning)
        binned: NDArray[np.float64] = electrons.reshape(blocks).sum(axis=(-3, -1))
        return binned

    def truth(self) -> dict[str, Any]:
        """Every parameter and per-pixel map of the sensor.

        Returns
        -------
        dict
            The `SensorConfig` fields; ``shape``; ``prnu_gain`` (H×W relative photo-response
            of live pixels; dead pixels respond 0 whatever it says), ``dsnu_offset_e`` (H×W,
            e⁻), ``dark_current_e_per_s`` (H×W at the reference temperature, hot pixels
            included, dead pixels 0); ``hot_pixels`` and ``dead_pixels`` as (K, 2) integer
            arrays of (row, col); ``saturation_dn``.
        """
        return {
            **asdict(self.config),
            "shape": self.shape,
            "prnu_gain": self.prnu_gain,
            "dsnu_offset_e": self.dsnu_offset_e,
            "dark_current_e_per_s": self._dark_e_per_s,
            "hot_pixels": np.column_stack(np.unravel_index(self.hot_pixels, self.shape)),
            "dead_pixels": np.column_stack(np.unravel_index(self.dead_pixels, self.shape)),
            "saturation_dn": int(self._max_dn),
        }


@dataclass(frozen=True)
class BoardThermalConfig:
    """Configuration of `BoardThermalModel`.

    Parameters
    ----------
    ambient_c : float
        Ambient temperature, where the board starts at t = 0, °C.
    self_heating_c : float
        Steady-state rise of the powered board with LEDs off, °C.
    led_heating_c : float
        Additional steady-state rise at 100 % LED duty, °C.
    led_duty : float
        Mean LED duty cycle, 0-1.
    time_constant_s : float
        First-order warm-up time constant, s.
    noise_c : float
        Standard deviation of the slow temperature fluctuation, °C.
    """

    ambient_c: float = 23.0
    self_heating_c: float = 3.0
    led_heating_c: float = 12.0
    led_duty: float = 0.25
    time_constant_s: float = 240.0
    noise_c: float = 0.02

    def __post_init__(self) -> None:
        if not 0.0 <= self.led_duty <= 1.0 or self.time_constant_s <= 0.0 or self.noise_c < 0:
            raise ValueError("need 0 <= led_duty <= 1, time_constant_s > 0, noise_c >= 0")


class BoardThermalModel:
    """Board temperature warming from ambient toward a duty-dependent steady state.

    T(t) = T_amb + (ΔT_self + ΔT_led · duty)(1 - e^(-t/τ)) + n(t), with n(t) a seeded sum of
    sinusoids (0.005-0.5 Hz, random phases) of standard deviation `noise_c`, so that T is a
    pure function of time.

    Parameters
    ----------
    config : BoardThermalConfig
        Thermal parameters.
    rng : numpy.random.Generator
        Draws the fluctuation frequencies and phases once.
    """

    COMPONENTS = 8

    def __init__(self, config: BoardThermalConfig, rng: np.random.Generator) -> None:
        self.config = config
        frequencies_hz = np.exp(rng.uniform(np.log(0.005), np.log(0.5), self.COMPONENTS))
        self._angular_frequencies = 2.0 * np.pi * frequencies_hz
        self._phases_rad = rng.uniform(0.0, 2.0 * np.pi, self.COMPONENTS)
        self._amplitude_c = config.noise_c * np.sqrt(2.0 / self.COMPONENTS)

    @property
    def steady_state_c(self) -> float:
        """Temperature approached for t ≫ τ, °C."""
        config = self.config
        return config.ambient_c + config.self_heating_c + config.led_heating_c * config.led_duty

    def temperature_c(self, t_s: ArrayLike) -> NDArray[np.float64] | float:
        """Board temperature at time(s) `t_s` (s since power-on), °C."""
        t = np.asarray(t_s, dtype=float)
        config = self.config
        warm_up = (self.steady_state_c - config.ambient_c) * -np.expm1(-t / config.time_constant_s)
        angles = self._angular_frequencies * t[..., np.newaxis] + self._phases_rad
        fluctuation = self._amplitude_c * np.sin(angles).sum(axis=-1)
        temperature = config.ambient_c + warm_up + fluctuation
        return float(temperature) if t.ndim == 0 else temperature
