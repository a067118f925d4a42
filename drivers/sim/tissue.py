"""Seeded tissue phantom seen by a pixel array: photon rates with known physiological truth.

A semi-infinite, homogeneous tissue is lit by point LEDs at one position on the surface and
seen by an H×W array of pixels lying on the surface. The light reaching each pixel follows the
Farrell et al. (1992) diffusion model (`drivers.sim.optics`) evaluated with the absorption of
the moment, so the arterial pulse, breathing and the SpO2 trajectory all act through Δμa:

- tissue blood: total haemoglobin `tissue_hbt_um` at StO2 = f_a SpO2 + (1 - f_a) SvO2, with
  SvO2 = SpO2 (1 - OEF) (arterial/venous mix, e.g. Watzman et al., Anesthesiology 93, 947,
  2000, for the mix model);
- arterial pulse: extra whole blood of volume fraction V_p w(φ) at SpO2, w a normalised
  two-wave pulse shape (systolic upstroke, dicrotic notch, diastolic wave) and φ the cardiac
  phase of a heart rate with respiratory and Mayer-wave variability;
- breathing: extra venous blood of volume fraction V_r (1 + sin 2πf_r t) / 2 at SvO2;
- an absorbing inclusion (extra haemoglobin in a sphere) as a first-order Rytov attenuation;
- motion bursts: non-physiological, spatially tilted intensity excursions in time windows;
- probe off: time windows in which the pad has left the skin and no LED light reaches the
  pixels (`LIGHT_LOST_TRANSMISSION` of it).

V_p and V_r are solved at construction so that the array-summed infrared signal shows the
configured perfusion index and respiratory wander at t = 0.
"""

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from drivers.sim.optics import (
    FarrellTable,
    farrell_reflectance_per_mm2,
    rytov_partial_pathlength_mm,
)
from imaging.chromophores import (
    LN10,
    PER_CM_PER_M_TIMES_UM_TO_PER_MM,
    WAVELENGTH_RANGE_NM,
    hemoglobin_extinction,
    reduced_scattering_per_mm,
    water_absorption_per_mm,
)

PLANCK_TIMES_LIGHT_SPEED_J_M = 6.62607015e-34 * 299792458.0
WAVEFORM_SAMPLES = 512
INCLUSION_GRID_POINTS = 7  # voxel grid points across the inclusion diameter
LIGHT_LOST_TRANSMISSION = 0.0
"""Share of the light reaching the pixels while the probe is off the skin."""


@dataclass(frozen=True)
class AbsorbingInclusion:
    """A sphere of extra haemoglobin below the array.

    Parameters
    ----------
    center_x_mm, center_y_mm : float
        Centre on the surface plane, mm (x along columns, y along rows; pixel (0, 0) spans
        0..pitch in both).
    depth_mm : float
        Depth of the centre below the surface, mm; must exceed `radius_mm`.
    radius_mm : float
        Radius, mm.
    extra_hbt_um : float
        Extra total haemoglobin inside the sphere, µM.
    so2_percent : float
        Oxygen saturation of that haemoglobin, %.
    """

    center_x_mm: float = 18.0
    center_y_mm: float = 14.0
    depth_mm: float = 6.0
    radius_mm: float = 3.0
    extra_hbt_um: float = 150.0
    so2_percent: float = 60.0

    def __post_init__(self) -> None:
        if not 0.0 < self.radius_mm < self.depth_mm:
            raise ValueError("inclusion needs 0 < radius_mm < depth_mm")
        if self.extra_hbt_um < 0.0 or not 0.0 <= self.so2_percent <= 100.0:
            raise ValueError("inclusion needs extra_hbt_um >= 0 and 0 <= so2_percent <= 100")


@dataclass(frozen=True)
class MotionBurst:
    """A time window of probe motion.

    Parameters
    ----------
    start_s, duration_s : float
        Window, s.
    amplitude : float
        Scale of the relative intensity excursions (0.5 means changes of tens of %).
    """

    start_s: float
    duration_s: float
    amplitude: float = 0.5

    def __post_init__(self) -> None:
        if self.duration_s <= 0.0 or self.amplitude < 0.0:
            raise ValueError("motion burst needs duration_s > 0 and amplitude >= 0")


@dataclass(frozen=True)
class TissueConfig:
    """Configuration of `TissuePhantom` (defaults give a forearm-like soft tissue).

    Parameters
    ----------
    rows, cols : int
        Pixel array size.
    pixel_pitch_mm : float
        Pixel pitch, mm (default array spans 25.6 mm × 25.6 mm).
    source_xy_mm : tuple of float
        LED position on the surface, mm; default centred 4.8 mm before row 0, so
        source-pixel distances span 5.0-32.7 mm.
    led_wavelengths_nm : tuple of float
        Centre wavelengths of the LEDs, nm.
    led_radiant_efficiency_mw_per_ma : float
        LED optical power per drive current, mW/mA.
    collection_efficiency : float
        Fraction of the diffuse reflectance over a pixel's area that the pixel receives
        (coupling into tissue, window and angular-filter transmission, fill factor).
    tissue_hbt_um : float
        Tissue total haemoglobin, µM.
    water_fraction : float
        Tissue water volume fraction.
    scattering_a_per_mm, scattering_b : float
        μs' = a (λ/500 nm)^-b; defaults are the soft-tissue average of Jacques 2013, Table 2.
    refractive_index : float
        Tissue refractive index (against air).
    spo2_trajectory : tuple of (time_s, spo2_percent)
        Knots of a piecewise-linear arterial SpO2, held constant outside the knots.
    arterial_blood_fraction : float
        Arterial share f_a of tissue blood in StO2 = f_a SpO2 + (1 - f_a) SvO2.
    oxygen_extraction_fraction : float
        OEF in SvO2 = SpO2 (1 - OEF).
    blood_hb_um : float
        Haemoglobin concentration of whole blood, µM (15 g/dL / 64 500 g/mol ≈ 2300 µM).
    pulse_rate_bpm : float
        Mean pulse rate, beats/min.
    heart_rate_variability : float
        Relative amplitude of the instantaneous heart-rate modulation (half respiratory
        sinus arrhythmia, half ~0.1 Hz Mayer wave).
    perfusion_index_percent : float
        Peak-to-peak AC over DC of the array-summed signal at the infrared wavelength of
        `pulse_oximetry_pair_nm`, at the t = 0 saturations and without breathing, %.
    pulse_oximetry_pair_nm : tuple of float
        (red, infrared) wavelengths whose ratio of ratios `truth` reports; both must be LEDs.
    respiration_rate_bpm : float
        Breathing rate, breaths/min.
    respiratory_wander_percent : float
        Peak-to-peak breathing modulation of the array-summed infrared signal, %.
    motion_bursts : tuple of MotionBurst
        Windows of motion artefact.
    probe_off_windows_s : tuple of (start_s, duration_s)
        Windows in which the probe is off the skin (no light reaches the pixels), s.
    inclusion : AbsorbingInclusion or None
        Absorbing inclusion, or None for homogeneous tissue.
    """

    rows: int = 64
    cols: int = 64
    pixel_pitch_mm: float = 0.4
    source_xy_mm: tuple[float, float] = (12.8, -4.8)
    led_wavelengths_nm: tuple[float, ...] = (660.0, 730.0, 760.0, 805.0, 850.0, 940.0)
    led_radiant_efficiency_mw_per_ma: float = 0.1
    collection_efficiency: float = 0.01
    tissue_hbt_um: float = 60.0
    water_fraction: float = 0.7
    scattering_a_per_mm: float = 1.89
    scattering_b: float = 1.286
    refractive_index: float = 1.4
    spo2_trajectory: tuple[tuple[float, float], ...] = ((0.0, 98.0),)
    arterial_blood_fraction: float = 0.25
    oxygen_extraction_fraction: float = 0.35
    blood_hb_um: float = 2300.0
    pulse_rate_bpm: float = 72.0
    heart_rate_variability: float = 0.03
    perfusion_index_percent: float = 1.5
    pulse_oximetry_pair_nm: tuple[float, float] = (660.0, 940.0)
    respiration_rate_bpm: float = 15.0
    respiratory_wander_percent: float = 0.5
    motion_bursts: tuple[MotionBurst, ...] = ()
    probe_off_windows_s: tuple[tuple[float, float], ...] = ()
    inclusion: AbsorbingInclusion | None = field(default_factory=AbsorbingInclusion)

    def __post_init__(self) -> None:
        low, high = WAVELENGTH_RANGE_NM
        if self.rows < 1 or self.cols < 1 or self.pixel_pitch_mm <= 0.0:
            raise ValueError("need rows, cols >= 1 and pixel_pitch_mm > 0")
        if not self.led_wavelengths_nm or not all(
            low <= w <= high for w in self.led_wavelengths_nm
        ):
            raise ValueError(f"LED wavelengths must lie in {low:g}-{high:g} nm")
        if not set(self.pulse_oximetry_pair_nm) <= set(self.led_wavelengths_nm):
            raise ValueError("pulse_oximetry_pair_nm must name two of led_wavelengths_nm")
        times = [time for time, _ in self.spo2_trajectory]
        if not times or any(b <= a for a, b in itertools.pairwise(times)):
            raise ValueError("spo2_trajectory needs at least one knot, times increasing")
        if not all(0.0 <= spo2 <= 100.0 for _, spo2 in self.spo2_trajectory):
            raise ValueError("SpO2 values must lie in 0-100 %")
        if not 0.0 < self.perfusion_index_percent < 50.0:
            raise ValueError("perfusion_index_percent must lie in (0, 50)")
        if not 0.0 <= self.respiratory_wander_percent < 50.0:
            raise ValueError("respiratory_wander_percent must lie in [0, 50)")
        if self.pulse_rate_bpm <= 0.0 or self.respiration_rate_bpm <= 0.0:
            raise ValueError("pulse and respiration rates must be positive")
        if not 0.0 <= self.heart_rate_variability < 0.5:
            raise ValueError("heart_rate_variability must lie in [0, 0.5)")
        if any(duration <= 0.0 for _, duration in self.probe_off_windows_s):
            raise ValueError("probe_off_windows_s need durations > 0 s")


@dataclass(frozen=True)
class _Channel:
    """Everything about one LED wavelength that does not change with time."""

    epsilon_hbo2: float  # cm⁻¹/M
    epsilon_hb: float  # cm⁻¹/M
    water_mua_per_mm: float
    musp_per_mm: float
    photons_per_s_per_ma_per_reflectance: NDArray[np.float64]  # (H, W), mm²
    inclusion_transmission: NDArray[np.float64]  # (H, W)


@dataclass(frozen=True)
class _MotionSignal:
    """Seeded sinusoid mixtures for one burst: common, x-tilt and y-tilt terms."""

    burst: MotionBurst
    offsets: NDArray[np.float64]  # (3,)
    amplitudes: NDArray[np.float64]  # (3, K)
    frequencies_hz: NDArray[np.float64]  # (3, K)
    phases_rad: NDArray[np.float64]  # (3, K)


def pulse_waveform(phase_cycles: ArrayLike) -> NDArray[np.float64]:
    """Normalised arterial blood volume over one cardiac cycle, 0 (diastole) to 1 (systole).

    Sum of an asymmetric systolic wave (fast upstroke) peaking at 0.16 cycles and a reflected
    diastolic wave at 0.46 cycles; the dip between them (~0.36 cycles) is the dicrotic notch.

    Parameters
    ----------
    phase_cycles : array_like
        Cardiac phase, cycles (periodic with period 1).

    Returns
    -------
    ndarray
        Pulse volume in [0, 1], shaped like `phase_cycles`.
    """
    position = np.mod(phase_cycles, 1.0) * WAVEFORM_SAMPLES
    index = position.astype(np.intp)
    fraction = position - index
    index %= WAVEFORM_SAMPLES
    following = (index + 1) % WAVEFORM_SAMPLES
    return _PULSE_TABLE[index] * (1.0 - fraction) + _PULSE_TABLE[following] * fraction


def _pulse_table() -> NDArray[np.float64]:
    phase = np.arange(WAVEFORM_SAMPLES) / WAVEFORM_SAMPLES

    def wave(center: float, rise: float, fall: float) -> NDArray[np.float64]:
        total = np.zeros_like(phase)
        for shift in (-1.0, 0.0, 1.0):
            offset = phase + shift - center
            total += np.exp(-0.5 * (offset / np.where(offset < 0.0, rise, fall)) ** 2)
        return total

    volume = wave(0.16, 0.05, 0.12) + 0.45 * wave(0.46, 0.07, 0.07)
    normalised: NDArray[np.float64] = (volume - volume.min()) / (volume.max() - volume.min())
    return normalised


_PULSE_TABLE = _pulse_table()
_PULSE_MEAN = float(_PULSE_TABLE.mean())


class TissuePhantom:
    """Photon rates on a pixel array from a seeded, physiologically driven tissue.

    Parameters
    ----------
    config : TissueConfig
        Scene parameters.
    rng : numpy.random.Generator
        Source of the seeded choices (heart-rate variability and breathing phases, motion
        signals). It is used only during construction: photon rates and truth are pure
        functions of time.
    """

    def __init__(self, config: TissueConfig, rng: np.random.Generator) -> None:
        self.config = config
        pitch = config.pixel_pitch_mm
        x_mm = (np.arange(config.cols) + 0.5) * pitch
        y_mm = (np.arange(config.rows) + 0.5) * pitch
        self._pixel_x_mm, self._pixel_y_mm = np.meshgrid(x_mm, y_mm)
        source_x, source_y = config.source_xy_mm
        self.source_distance_mm = np.hypot(self._pixel_x_mm - source_x, self._pixel_y_mm - source_y)
        self.source_distance_mm.setflags(write=False)
        knots = np.array(config.spo2_trajectory, dtype=float)
        self._spo2_times_s, self._spo2_fractions = knots[:, 0], knots[:, 1] / 100.0

        self._draw_variability(rng)
        self._motion = tuple(self._draw_motion(burst, rng) for burst in config.motion_bursts)
        self._tilt_x = (self._pixel_x_mm - self._pixel_x_mm.mean()) / (np.ptp(x_mm) or 1.0)
        self._tilt_y = (self._pixel_y_mm - self._pixel_y_mm.mean()) / (np.ptp(y_mm) or 1.0)

        self._channels = {
            float(wavelength): self._make_channel(float(wavelength))
            for wavelength in config.led_wavelengths_nm
        }
        self.pulse_volume_fraction = self._solve_volume_fraction(
            config.perfusion_index_percent / 100.0, arterial=True
        )
        self.respiratory_volume_fraction = self._solve_volume_fraction(
            config.respiratory_wander_percent / 100.0, arterial=False
        )
        self._tables = {
            wavelength: self._make_table(channel) for wavelength, channel in self._channels.items()
        }

    @property
    def shape(self) -> tuple[int, int]:
        """Pixel array shape (rows, cols)."""
        return (self.config.rows, self.config.cols)

    # -- physiology over time ------------------------------------------------------------------

    def _draw_variability(self, rng: np.random.Generator) -> None:
        config = self.config
        self._heart_hz = config.pulse_rate_bpm / 60.0
        self._breath_hz = config.respiration_rate_bpm / 60.0
        self._breath_phase_rad = float(rng.uniform(0.0, 2.0 * np.pi))
        mayer_hz = float(rng.uniform(0.08, 0.12))
        self._hrv_hz = np.array([self._breath_hz, mayer_hz])
        self._hrv_phases_rad = np.array([self._breath_phase_rad, rng.uniform(0.0, 2.0 * np.pi)])
        self._hrv_amplitudes = np.full(2, config.heart_rate_variability / 2.0)

    @staticmethod
    def _draw_motion(burst: MotionBurst, rng: np.random.Generator) -> _MotionSignal:
        components = 4
        return _MotionSignal(
            burst=burst,
            offsets=rng.uniform(-1.0, 1.0, 3),
            amplitudes=rng.uniform(0.3, 1.0, (3, components)),
            frequencies_hz=rng.uniform(0.3, 4.0, (3, components)),
            phases_rad=rng.uniform(0.0, 2.0 * np.pi, (3, components)),
        )

    def cardiac_phase_cycles(self, t_s: ArrayLike) -> NDArray[np.float64]:
        """Accumulated cardiac phase at time(s) `t_s` (s), cycles (0 at t = 0)."""
        t = np.asarray(t_s, dtype=float)[..., np.newaxis]
        angle = 2.0 * np.pi * self._hrv_hz * t + self._hrv_phases_rad
        wobble = self._hrv_amplitudes / (2.0 * np.pi * self._hrv_hz)
        drift = np.sum(wobble * (np.sin(angle) - np.sin(self._hrv_phases_rad)), axis=-1)
        cycles: NDArray[np.float64] = self._heart_hz * (t[..., 0] + drift)
        return cycles

    def pulse_rate_bpm(self, t_s: ArrayLike) -> NDArray[np.float64]:
        """Instantaneous pulse rate at time(s) `t_s` (s), beats/min."""
        t = np.asarray(t_s, dtype=float)[..., np.newaxis]
        angle = 2.0 * np.pi * self._hrv_hz * t + self._hrv_phases_rad
        variation = np.sum(self._hrv_amplitudes * np.cos(angle), -1)
        rate_bpm: NDArray[np.float64] = 60.0 * self._heart_hz * (1.0 + variation)
        return rate_bpm

    def _breathing(self, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Venous volume cycle of breathing, 0-1."""
        return 0.5 * (1.0 + np.sin(2.0 * np.pi * self._breath_hz * t_s + self._breath_phase_rad))

    def _spo2(self, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Arterial saturation, fraction."""
        return np.interp(t_s, self._spo2_times_s, self._spo2_fractions)

    def _venous_and_tissue_saturation(
        self, spo2: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(SvO2, StO2) as fractions for arterial saturation `spo2` (fraction)."""
        svo2 = spo2 * (1.0 - self.config.oxygen_extraction_fraction)
        share = self.config.arterial_blood_fraction
        return svo2, share * spo2 + (1.0 - share) * svo2

    # -- absorption ----------------------------------------------------------------------------

    def _channel(self, wavelength_nm: float) -> _Channel:
        try:
            return self._channels[float(wavelength_nm)]
        except KeyError:
            raise ValueError(
                f"no LED at {wavelength_nm} nm; LEDs are at {self.config.led_wavelengths_nm} nm"
            ) from None

    @staticmethod
    def _hemoglobin_mua(
        channel: _Channel, hbt_um: float, saturation: ArrayLike
    ) -> NDArray[np.float64]:
        """μa of haemoglobin at `hbt_um` (µM) and `saturation` (fraction), mm⁻¹."""
        fraction = np.asarray(saturation, dtype=float)
        epsilon = channel.epsilon_hbo2 * fraction + channel.epsilon_hb * (1.0 - fraction)
        return LN10 * PER_CM_PER_M_TIMES_UM_TO_PER_MM * hbt_um * epsilon

    def _absorption_parts(
        self, channel: _Channel, spo2: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """μa (mm⁻¹) of the static tissue, of the full breathing swing and of the full pulse."""
        svo2, sto2 = self._venous_and_tissue_saturation(spo2)
        blood = self.config.blood_hb_um
        tissue = (
            self._hemoglobin_mua(channel, self.config.tissue_hbt_um, sto2)
            + channel.water_mua_per_mm
        )
        breathing = self._hemoglobin_mua(channel, blood, svo2) * self.respiratory_volume_fraction
        pulse = self._hemoglobin_mua(channel, blood, spo2) * self.pulse_volume_fraction
        return tissue, breathing, pulse

    def _background_and_pulse_mua(
        self, channel: _Channel, t_s: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """μa without the arterial pulse and the full pulse swing at time(s) `t_s`, mm⁻¹."""
        tissue, breathing, pulse = self._absorption_parts(channel, self._spo2(t_s))
        return tissue + breathing * self._breathing(t_s), pulse

    def _mua(self, channel: _Channel, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Homogeneous tissue μa at time(s) `t_s`, mm⁻¹."""
        background, pulse = self._background_and_pulse_mua(channel, t_s)
        return background + pulse * pulse_waveform(self.cardiac_phase_cycles(t_s))

    # -- precomputation --------------------------------------------------------------------

    def _make_channel(self, wavelength_nm: float) -> _Channel:
        config = self.config
        epsilon_hbo2, epsilon_hb = (float(e) for e in hemoglobin_extinction(wavelength_nm))
        photon_energy_j = PLANCK_TIMES_LIGHT_SPEED_J_M / (wavelength_nm * 1e-9)
        photons_per_s_per_ma = config.led_radiant_efficiency_mw_per_ma * 1e-3 / photon_energy_j
        scale = photons_per_s_per_ma * config.pixel_pitch_mm**2 * config.collection_efficiency
        scattering = (config.scattering_a_per_mm, config.scattering_b)
        channel = _Channel(
            epsilon_hbo2=epsilon_hbo2,
            epsilon_hb=epsilon_hb,
            water_mua_per_mm=config.water_fraction * float(water_absorption_per_mm(wavelength_nm)),
            musp_per_mm=float(reduced_scattering_per_mm(wavelength_nm, *scattering)),
            photons_per_s_per_ma_per_reflectance=np.full(self.shape, scale),
            inclusion_transmission=np.ones(self.shape),
        )
        if config.inclusion is not None:
            transmission = self._inclusion_transmission(channel)
            channel = replace(
                channel,
                photons_per_s_per_ma_per_reflectance=scale * transmission,
                inclusion_transmission=transmission,
            )
        channel.photons_per_s_per_ma_per_reflectance.setflags(write=False)
        channel.inclusion_transmission.setflags(write=False)
        return channel

    def _inclusion_mua(self, channel: _Channel) -> float:
        """Extra μa inside the inclusion, mm⁻¹."""
        inclusion = self.config.inclusion
        assert inclusion is not None
        saturation = inclusion.so2_percent / 100.0
        return float(self._hemoglobin_mua(channel, inclusion.extra_hbt_um, saturation))

    def _inclusion_transmission(self, channel: _Channel) -> NDArray[np.float64]:
        """exp(-Δμa L) per pixel, with the tissue at its t = 0 saturation."""
        _, sto2 = self._venous_and_tissue_saturation(self._spo2(np.array(0.0)))
        tissue_mua = float(
            self._hemoglobin_mua(channel, self.config.tissue_hbt_um, sto2)
            + channel.water_mua_per_mm
        )
        pathlength = self._inclusion_pathlength_mm(tissue_mua, channel.musp_per_mm)
        return np.exp(-self._inclusion_mua(channel) * pathlength)

    def _inclusion_pathlength_mm(
        self, mua_per_mm: float, musp_per_mm: float
    ) -> NDArray[np.float64]:
        """Partial pathlength of each pixel's light inside the inclusion, mm."""
        inclusion = self.config.inclusion
        assert inclusion is not None
        steps = np.linspace(-1.0, 1.0, INCLUSION_GRID_POINTS)
        offsets = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), -1).reshape(-1, 3)
        offsets = offsets[np.sum(offsets**2, axis=1) <= 1.0]
        center = np.array([inclusion.center_x_mm, inclusion.center_y_mm, inclusion.depth_mm])
        voxels = center + inclusion.radius_mm * offsets
        voxel_volume = 4.0 / 3.0 * np.pi * inclusion.radius_mm**3 / len(voxels)
        depth = 1.0 / (mua_per_mm + musp_per_mm)
        source = np.array([*self.config.source_xy_mm, depth])
        pixels = np.stack([self._pixel_x_mm, self._pixel_y_mm, np.full(self.shape, depth)], axis=-1)
        return rytov_partial_pathlength_mm(
            source,
            pixels,
            voxels,
            voxel_volume,
            mua_per_mm,
            musp_per_mm,
            self.config.refractive_index,
        )

    def _array_signal(self, channel: _Channel, mua_per_mm: ArrayLike) -> float:
        """Array-summed photon rate per mA for a homogeneous μa (exact Farrell), photons/s/mA."""
        reflectance = farrell_reflectance_per_mm2(
            self.source_distance_mm, mua_per_mm, channel.musp_per_mm, self.config.refractive_index
        )
        return float(np.sum(reflectance * channel.photons_per_s_per_ma_per_reflectance))

    def _modulation(self, channel: _Channel, background: float, swing: float, mean: float) -> float:
        """Peak-to-peak over mean of the array sum when μa swings by `swing` above `background`."""
        high = self._array_signal(channel, background)
        low = self._array_signal(channel, background + swing)
        return (high - low) / self._array_signal(channel, background + swing * mean)

    def _solve_volume_fraction(self, modulation: float, *, arterial: bool) -> float:
        """Blood volume fraction giving `modulation` on the infrared array sum at t = 0.

        The arterial pulse is solved without breathing and breathing without the pulse.
        """
        if modulation == 0.0:
            return 0.0
        channel = self._channels[float(self.config.pulse_oximetry_pair_nm[1])]
        spo2 = self._spo2(np.array(0.0))
        svo2, sto2 = self._venous_and_tissue_saturation(spo2)
        tissue = float(
            self._hemoglobin_mua(channel, self.config.tissue_hbt_um, sto2)
            + channel.water_mua_per_mm
        )
        blood = float(
            self._hemoglobin_mua(channel, self.config.blood_hb_um, spo2 if arterial else svo2)
        )
        mean = _PULSE_MEAN if arterial else 0.5

        def excess(volume: float) -> float:
            return self._modulation(channel, tissue, blood * volume, mean) - modulation

        return float(brentq(excess, 0.0, 0.5, xtol=1e-14, rtol=1e-12))

    def _make_table(self, channel: _Channel) -> FarrellTable:
        """Photon-rate table covering every μa the SpO2 trajectory, pulse and breathing reach."""
        extremes = np.array([self._spo2_fractions.min(), self._spo2_fractions.max()])
        tissue, breathing, pulse = self._absorption_parts(channel, extremes)
        return FarrellTable(
            self.source_distance_mm,
            channel.musp_per_mm,
            # 1e-9 relative padding absorbs rounding in the per-frame sums.
            (
                float(tissue.min()) * (1 - 1e-9),
                float(np.max(tissue + breathing + pulse)) * (1 + 1e-9),
            ),
            weights=channel.photons_per_s_per_ma_per_reflectance,
            refractive_index=self.config.refractive_index,
        )

    # -- public API ------------------------------------------------------------------------

    def photon_rate(
        self, t_s: float, wavelength_nm: float, drive_current_ma: float
    ) -> NDArray[np.float64]:
        """Mean photon rate on every pixel at time `t_s`.

        Parameters
        ----------
        t_s : float
            Time, s.
        wavelength_nm : float
            One of the LED wavelengths, nm.
        drive_current_ma : float
            LED drive current, mA (>= 0; optical power is linear in it).

        Returns
        -------
        ndarray, shape (H, W), float64
            Photons/s arriving on each pixel.
        """
        return self._rates(float(t_s), wavelength_nm, drive_current_ma)

    def photon_rates(
        self, t_s: ArrayLike, wavelength_nm: float, drive_current_ma: float
    ) -> NDArray[np.float64]:
        """Mean photon rate on every pixel at each of the times `t_s`.

        Parameters
        ----------
        t_s : array_like, shape (N,)
            Times, s.
        wavelength_nm : float
            One of the LED wavelengths, nm.
        drive_current_ma : float
            LED drive current, mA (>= 0; optical power is linear in it).

        Returns
        -------
        ndarray, shape (N, H, W), float64
            Photons/s arriving on each pixel.
        """
        t = np.asarray(t_s, dtype=float)
        if t.ndim != 1:
            raise ValueError("t_s must be one-dimensional")
        return self._rates(t, wavelength_nm, drive_current_ma)

    def _rates(
        self, t_s: float | NDArray[np.float64], wavelength_nm: float, drive_current_ma: float
    ) -> NDArray[np.float64]:
        if drive_current_ma < 0.0:
            raise ValueError(f"drive current must be >= 0 mA, got {drive_current_ma}")
        channel = self._channel(wavelength_nm)
        t = np.asarray(t_s, dtype=float)
        rates = self._tables[float(wavelength_nm)](self._mua(channel, t), drive_current_ma)
        if self._motion:
            rates *= self._motion_factor(t)
        if self.config.probe_off_windows_s:
            off = self.probe_off(t)
            rates *= np.where(off, LIGHT_LOST_TRANSMISSION, 1.0)[..., np.newaxis, np.newaxis]
        return rates

    def probe_off(self, t_s: float | ArrayLike) -> NDArray[np.bool_]:
        """Whether the probe is off the skin at time(s) `t_s` (s)."""
        t = np.asarray(t_s, dtype=float)
        off = np.zeros(t.shape, dtype=bool)
        for start, duration in self.config.probe_off_windows_s:
            off |= (t >= start) & (t < start + duration)
        return off

    def _motion_factor(self, t_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Multiplicative motion artefact: 1 outside bursts, >= 0.05 inside."""
        t_s = np.asarray(t_s, dtype=float)
        t = t_s[..., np.newaxis, np.newaxis]
        factor = np.ones(np.broadcast_shapes(t.shape, self.shape))
        for signal in self._motion:
            burst = signal.burst
            progress = (t - burst.start_s) / burst.duration_s
            inside = (progress >= 0.0) & (progress < 1.0)
            if not np.any(inside):
                continue
            envelope = np.where(inside, np.sin(np.pi * progress) ** 2, 0.0)
            angle = 2.0 * np.pi * signal.frequencies_hz * t_s[..., np.newaxis, np.newaxis]
            oscillation = np.sum(signal.amplitudes * np.sin(angle + signal.phases_rad), axis=-1)
            common, tilt_x, tilt_y = np.moveaxis(signal.offsets + oscillation, -1, 0)
            change = common[..., None, None] + (
                tilt_x[..., None, None] * self._tilt_x + tilt_y[..., None, None] * self._tilt_y
            )
            factor = factor + burst.amplitude * envelope * change
        return np.maximum(factor, 0.05)

    def motion_active(self, t_s: float) -> bool:
        """Whether time `t_s` (s) lies inside a motion burst."""
        return any(b.start_s <= t_s < b.start_s + b.duration_s for b in self.config.motion_bursts)

    def truth(self, t_s: float) -> dict[str, Any]:
        """Ground truth of the scene at time `t_s` (s).

        Returns
        -------
        dict
            - ``time_s``; ``spo2_percent``, ``svo2_percent``, ``sto2_percent`` (%);
            - ``pulse_rate_bpm`` (instantaneous), ``mean_pulse_rate_bpm``,
              ``cardiac_phase_cycles``, ``respiration_rate_bpm``;
            - ``pulse_volume_fraction`` (peak-to-peak arterial blood volume fraction),
              ``arterial_volume_fraction`` (its pulsatile value now),
              ``respiratory_volume_fraction`` (peak-to-peak venous volume of breathing);
            - ``tissue_hbt_um``, ``water_fraction``;
            - ``mua_per_mm`` and ``musp_per_mm``: per LED wavelength (nm), of the homogeneous
              tissue now, pulse and breathing included;
            - ``perfusion_index``: per LED wavelength, peak-to-peak AC over DC of the
              array-summed signal at the current SpO2 and breathing state (a fraction);
            - ``ratio_of_ratios``: perfusion index of red over infrared of
              ``pulse_oximetry_pair_nm``;
            - ``motion_active``, ``probe_off``;
            - geometry: ``source_xy_mm``, ``pixel_pitch_mm``, ``source_distance_mm`` (H×W);
            - ``inclusion``: None, or its geometry, ``delta_mua_per_mm`` and ``transmission``
              (H×W) per LED wavelength, and ``footprint``, the H×W mask of pixels directly
              above it.
        """
        t = np.asarray(float(t_s))
        spo2 = self._spo2(t)
        svo2, sto2 = self._venous_and_tissue_saturation(spo2)
        pulse = float(pulse_waveform(self.cardiac_phase_cycles(t)))
        mua: dict[float, float] = {}
        perfusion: dict[float, float] = {}
        for wavelength, channel in self._channels.items():
            background, swing = (float(m) for m in self._background_and_pulse_mua(channel, t))
            mua[wavelength] = background + swing * pulse
            perfusion[wavelength] = self._modulation(channel, background, swing, _PULSE_MEAN)
        red, infrared = (float(w) for w in self.config.pulse_oximetry_pair_nm)
        return {
            "time_s": float(t_s),
            "spo2_percent": 100.0 * float(spo2),
            "svo2_percent": 100.0 * float(svo2),
            "sto2_percent": 100.0 * float(sto2),
            "pulse_rate_bpm": float(self.pulse_rate_bpm(t)),
            "mean_pulse_rate_bpm": self.config.pulse_rate_bpm,
            "cardiac_phase_cycles": float(self.cardiac_phase_cycles(t)),
            "respiration_rate_bpm": self.config.respiration_rate_bpm,
            "pulse_volume_fraction": self.pulse_volume_fraction,
            "arterial_volume_fraction": self.pulse_volume_fraction * pulse,
            "respiratory_volume_fraction": self.respiratory_volume_fraction,
            "tissue_hbt_um": self.config.tissue_hbt_um,
            "water_fraction": self.config.water_fraction,
            "mua_per_mm": mua,
            "musp_per_mm": {w: c.musp_per_mm for w, c in self._channels.items()},
            "perfusion_index": perfusion,
            "ratio_of_ratios": perfusion[red] / perfusion[infrared],
            "pulse_oximetry_pair_nm": (red, infrared),
            "motion_active": self.motion_active(float(t_s)),
            "probe_off": bool(self.probe_off(float(t_s))),
            "source_xy_mm": self.config.source_xy_mm,
            "pixel_pitch_mm": self.config.pixel_pitch_mm,
            "source_distance_mm": self.source_distance_mm,
            "inclusion": self._inclusion_truth(),
        }

    def _inclusion_truth(self) -> dict[str, Any] | None:
        inclusion = self.config.inclusion
        if inclusion is None:
            return None
        distance = np.hypot(
            self._pixel_x_mm - inclusion.center_x_mm, self._pixel_y_mm - inclusion.center_y_mm
        )
        return {
            "center_x_mm": inclusion.center_x_mm,
            "center_y_mm": inclusion.center_y_mm,
            "depth_mm": inclusion.depth_mm,
            "radius_mm": inclusion.radius_mm,
            "extra_hbt_um": inclusion.extra_hbt_um,
            "so2_percent": inclusion.so2_percent,
            "delta_mua_per_mm": {w: self._inclusion_mua(c) for w, c in self._channels.items()},
            "transmission": {w: c.inclusion_transmission for w, c in self._channels.items()},
            "footprint": distance <= inclusion.radius_mm,
        }
