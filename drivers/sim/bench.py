"""Physics of the optical test bench behind the simulated bench instruments.

One scene: an LED source, a beam splitter that sends known fractions of its power to a
photodiode under test and to a reference power meter, the photodiode (spectral responsivity,
dark current, noise) and the transimpedance amplifier (TIA) that feeds the lock-ins.

Conventions
-----------
- The LED optical power is sine-modulated at the reading lock-in's reference frequency
  ``f``: ``P(t) = P_mean * (1 + m * sin(2 pi f t))`` with modulation depth ``m``.
- ``bias_v`` is the voltage across the photodiode, anode minus cathode (reverse bias < 0).
  The diode current (anode to cathode) is ``I = I_diode(V) - I_photo``; under reverse bias
  both terms make it negative.
- Noise spectral densities are one-sided, in A²/Hz (or A/√Hz for their square roots):
  shot noise ``2 q (I_photo + |I_dark|)``, Johnson noise of the shunt ``4 k T / R_sh``, and a
  1/f corner that multiplies the white sum by ``1 + f_corner / f``.
- NEP and D* are computed from the noise in the dark (LED off) at the present bias, as a
  measurement would: ``NEP = i_n / R(lambda)``, ``D* = sqrt(A) / NEP`` with A in cm².

Every number a calibration should recover is in :meth:`OpticalBench.truth`.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

ELEMENTARY_CHARGE_C = 1.602176634e-19
BOLTZMANN_J_PER_K = 1.380649e-23
HC_OVER_Q_NM_V = 1239.841984
REFERENCE_TEMPERATURE_C = 25.0
LED_WAVELENGTHS_NM = (660.0, 760.0, 850.0, 940.0)


def silicon_responsivity_a_per_w(wavelength_nm: float | np.ndarray) -> float | np.ndarray:
    """Spectral responsivity of a silicon photodiode, A/W.

    External quantum efficiency 0.85 with a blue roll-off (absorption near the surface) and a
    red cut-off near 1040 nm (band gap); peak ≈ 0.6 A/W near 940-960 nm.

    Parameters
    ----------
    wavelength_nm : float or ndarray
        Wavelength, nm (meaningful from 300 to 1200 nm).
    """
    wavelength = np.asarray(wavelength_nm, dtype=float)
    blue = 1.0 - np.exp(-(wavelength - 300.0) / 150.0)
    red = 1.0 / (1.0 + np.exp((wavelength - 1040.0) / 35.0))
    eqe = 0.85 * np.clip(blue, 0.0, None) * red
    responsivity = eqe * wavelength / HC_OVER_Q_NM_V
    return float(responsivity) if responsivity.ndim == 0 else responsivity


def thermal_voltage_v(temperature_c: float) -> float:
    """Thermal voltage k T / q, V."""
    return BOLTZMANN_J_PER_K * (temperature_c + 273.15) / ELEMENTARY_CHARGE_C


@dataclass
class Led:
    """An LED whose mean optical power follows its drive current.

    ``P_mean = eta * I / (1 + I / I_droop) * (1 + tc * (T - 25 °C))``: threshold-free, mildly
    sublinear (efficiency droop), with a linear temperature coefficient.
    """

    wavelength_nm: float = 850.0
    drive_current_a: float = 0.02
    slope_efficiency_w_per_a: float = 0.2
    droop_current_a: float = 0.5
    temperature_coefficient_per_k: float = -0.004
    modulation_depth: float = 1.0

    def mean_power_w(self, temperature_c: float) -> float:
        """Mean optical power leaving the LED, W."""
        current = max(self.drive_current_a, 0.0)
        power = self.slope_efficiency_w_per_a * current / (1.0 + current / self.droop_current_a)
        thermal = 1.0 + self.temperature_coefficient_per_k * (
            temperature_c - REFERENCE_TEMPERATURE_C
        )
        return power * max(thermal, 0.0)


@dataclass
class Photodiode:
    """Photodiode under test: silicon responsivity, diode equation with shunt, noise model."""

    active_area_mm2: float = 1.0
    saturation_current_a: float = 50e-12
    saturation_doubling_k: float = 8.0
    ideality: float = 1.0
    shunt_resistance_ohm: float = 1e9
    flicker_corner_hz: float = 100.0

    def responsivity_a_per_w(self, wavelength_nm: float) -> float:
        """Responsivity at ``wavelength_nm``, A/W."""
        return float(silicon_responsivity_a_per_w(wavelength_nm))

    def saturation_current_at(self, temperature_c: float) -> float:
        """Diode saturation current, A (doubles every ``saturation_doubling_k`` kelvin)."""
        doublings = (temperature_c - REFERENCE_TEMPERATURE_C) / self.saturation_doubling_k
        factor: float = 2.0**doublings
        return self.saturation_current_a * factor

    def dark_current_a(self, bias_v: float, temperature_c: float) -> float:
        """Dark current at ``bias_v``: ``I0 (exp(V / (n Vt)) - 1) + V / R_sh``, A."""
        thermal = self.ideality * thermal_voltage_v(temperature_c)
        junction = self.saturation_current_at(temperature_c) * math.expm1(bias_v / thermal)
        return junction + bias_v / self.shunt_resistance_ohm

    def white_noise_psd_a2_per_hz(
        self, photocurrent_a: float, dark_current_a: float, temperature_c: float
    ) -> float:
        """White (shot + Johnson) current noise density, A²/Hz."""
        shot = 2.0 * ELEMENTARY_CHARGE_C * (abs(photocurrent_a) + abs(dark_current_a))
        johnson = 4.0 * BOLTZMANN_J_PER_K * (temperature_c + 273.15) / self.shunt_resistance_ohm
        return shot + johnson

    def flicker_factor(self, frequency_hz: float | np.ndarray) -> float | np.ndarray:
        """Factor ``1 + f_corner / f`` that the 1/f noise adds to the white density."""
        return 1.0 + self.flicker_corner_hz / frequency_hz


@dataclass
class Transimpedance:
    """Single-pole transimpedance amplifier between the photodiode and the lock-in inputs."""

    gain_v_per_a: float = 1e5
    bandwidth_hz: float = 100e3

    def response(self, frequency_hz: float | np.ndarray) -> complex | np.ndarray:
        """Complex gain relative to DC at ``frequency_hz`` (unitless)."""
        return 1.0 / (1.0 + 1j * np.asarray(frequency_hz) / self.bandwidth_hz)


@dataclass(frozen=True)
class BenchTruth:
    """Known truth of the bench at one modulation frequency (a snapshot of the scene)."""

    frequency_hz: float
    temperature_c: float
    wavelength_nm: float
    led_drive_current_a: float
    led_mean_power_w: float
    modulation_depth: float
    photodiode_power_w: float
    power_meter_power_w: float
    split_ratio: float
    """``power_meter_power_w / photodiode_power_w``."""
    responsivity_a_per_w: float
    external_quantum_efficiency: float
    bias_v: float
    active_area_mm2: float
    shunt_resistance_ohm: float
    dark_current_a: float
    photocurrent_mean_a: float
    photocurrent_amplitude_a: float
    """Peak amplitude of the photocurrent at ``frequency_hz``, A."""
    diode_current_a: float
    """Mean diode current under illumination (what a DC ammeter reads), A."""
    noise_current_density_a_per_rthz: float
    """Noise density at ``frequency_hz`` under the present illumination, A/√Hz."""
    dark_noise_current_density_a_per_rthz: float
    """Noise density at ``frequency_hz`` in the dark (LED off), A/√Hz."""
    nep_w_per_rthz: float
    specific_detectivity_jones: float
    tia_gain_v_per_a: float
    tia_bandwidth_hz: float
    lockin_r_v_rms: float
    """Amplitude a lock-in reads at the TIA output (RMS convention), V."""
    lockin_theta_deg: float
    """Phase of the TIA output relative to the LED modulation, degrees."""
    lockin_noise_density_v_per_rthz: float
    """Voltage noise density at the TIA output at ``frequency_hz``, V/√Hz."""


@dataclass
class OpticalBench:
    """The shared scene; thread-safe, seeded, reproducible.

    Parameters
    ----------
    seed : int
        Seed of every random stream drawn from this bench.
    temperature_c : float
        Ambient (LED and photodiode) temperature, °C.
    photodiode_fraction : float
        Fraction of the LED mean power that lands on the photodiode active area.
    power_meter_fraction : float
        Fraction of the LED mean power that reaches the reference power meter.
    """

    seed: int = 0
    temperature_c: float = REFERENCE_TEMPERATURE_C
    led: Led = field(default_factory=Led)
    photodiode: Photodiode = field(default_factory=Photodiode)
    tia: Transimpedance = field(default_factory=Transimpedance)
    photodiode_fraction: float = 1e-3
    power_meter_fraction: float = 0.1
    bias_v: float = 0.0
    led_listeners: list[Callable[[OpticalBench], None]] = field(default_factory=list)
    """Called with the bench after every LED change (e.g. the illumination head's link)."""
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    def rng(self, stream: str) -> np.random.Generator:
        """A random generator for one named stream, reproducible from ``seed``."""
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode())])

    def set_led(
        self,
        *,
        wavelength_nm: float | None = None,
        drive_current_a: float | None = None,
        modulation_depth: float | None = None,
    ) -> None:
        """Select the LED wavelength (nm), its drive current (A, 0 = off) and/or the depth of
        its modulation at the lock-in reference (0 … 1)."""
        with self._lock:
            if modulation_depth is not None:
                if not 0.0 <= modulation_depth <= 1.0:
                    raise ValueError(f"modulation depth {modulation_depth} outside 0 … 1")
                self.led = replace(self.led, modulation_depth=float(modulation_depth))
            if wavelength_nm is not None:
                if wavelength_nm not in LED_WAVELENGTHS_NM:
                    raise ValueError(
                        f"LED wavelength {wavelength_nm} nm not one of {LED_WAVELENGTHS_NM} nm"
                    )
                self.led = replace(self.led, wavelength_nm=float(wavelength_nm))
            if drive_current_a is not None:
                if not 0.0 <= drive_current_a <= 1.0:
                    raise ValueError(f"LED drive current {drive_current_a} A outside 0 … 1 A")
                self.led = replace(self.led, drive_current_a=float(drive_current_a))
            for listener in self.led_listeners:
                listener(self)

    def set_bias(self, bias_v: float) -> None:
        """Apply ``bias_v`` across the photodiode, V (anode minus cathode)."""
        with self._lock:
            self.bias_v = float(bias_v)

    def photodiode_power_w(self) -> float:
        """Mean optical power on the photodiode active area, W."""
        with self._lock:
            return self.led.mean_power_w(self.temperature_c) * self.photodiode_fraction

    def power_meter_power_w(self) -> float:
        """Mean optical power at the reference power meter, W."""
        with self._lock:
            return self.led.mean_power_w(self.temperature_c) * self.power_meter_fraction

    def photocurrent_mean_a(self) -> float:
        """Mean photocurrent, A (positive number, flows in reverse)."""
        with self._lock:
            responsivity = self.photodiode.responsivity_a_per_w(self.led.wavelength_nm)
            return responsivity * self.photodiode_power_w()

    def diode_current_a(self) -> float:
        """Mean current through the photodiode at the present bias and light, A."""
        with self._lock:
            dark = self.photodiode.dark_current_a(self.bias_v, self.temperature_c)
            return dark - self.photocurrent_mean_a()

    def current_noise_psd_a2_per_hz(
        self, frequency_hz: float | np.ndarray, *, dark: bool = False
    ) -> float | np.ndarray:
        """One-sided current noise density at the photodiode, A²/Hz.

        Parameters
        ----------
        frequency_hz : float or ndarray
            Frequency, Hz (> 0).
        dark : bool
            Evaluate with the LED off instead of the present illumination.
        """
        with self._lock:
            photocurrent = 0.0 if dark else self.photocurrent_mean_a()
            dark_current = self.photodiode.dark_current_a(self.bias_v, self.temperature_c)
            white = self.photodiode.white_noise_psd_a2_per_hz(
                photocurrent, dark_current, self.temperature_c
            )
            return white * self.photodiode.flicker_factor(frequency_hz)

    def tia_signal(self, frequency_hz: float) -> complex:
        """Complex amplitude (peak, V) of the TIA output at ``frequency_hz``.

        The phase is relative to the LED modulation ``sin(2 pi f t)``; the photocurrent
        flows in reverse, so the TIA (``v = G * i_reverse``) output is in phase with light
        apart from the amplifier's own lag.
        """
        with self._lock:
            amplitude = self.photocurrent_mean_a() * self.led.modulation_depth
            return complex(amplitude * self.tia.gain_v_per_a * self.tia.response(frequency_hz))

    def tia_noise_psd_v2_per_hz(self, frequency_hz: np.ndarray) -> np.ndarray:
        """One-sided voltage noise density at the TIA output, V²/Hz."""
        with self._lock:
            gain = self.tia.gain_v_per_a * np.abs(self.tia.response(frequency_hz))
            return self.current_noise_psd_a2_per_hz(frequency_hz) * gain**2

    def truth(self, frequency_hz: float = 1000.0) -> BenchTruth:
        """Snapshot of every quantity a calibration should recover, at ``frequency_hz``."""
        with self._lock:
            wavelength = self.led.wavelength_nm
            responsivity = self.photodiode.responsivity_a_per_w(wavelength)
            photocurrent = self.photocurrent_mean_a()
            noise = math.sqrt(self.current_noise_psd_a2_per_hz(frequency_hz))
            dark_noise = math.sqrt(self.current_noise_psd_a2_per_hz(frequency_hz, dark=True))
            nep = dark_noise / responsivity
            area_cm2 = self.photodiode.active_area_mm2 / 100.0
            signal = self.tia_signal(frequency_hz)
            gain_at_f = self.tia.gain_v_per_a * abs(complex(self.tia.response(frequency_hz)))
            return BenchTruth(
                frequency_hz=frequency_hz,
                temperature_c=self.temperature_c,
                wavelength_nm=wavelength,
                led_drive_current_a=self.led.drive_current_a,
                led_mean_power_w=self.led.mean_power_w(self.temperature_c),
                modulation_depth=self.led.modulation_depth,
                photodiode_power_w=self.photodiode_power_w(),
                power_meter_power_w=self.power_meter_power_w(),
                split_ratio=self.power_meter_fraction / self.photodiode_fraction,
                responsivity_a_per_w=responsivity,
                external_quantum_efficiency=responsivity * HC_OVER_Q_NM_V / wavelength,
                bias_v=self.bias_v,
                active_area_mm2=self.photodiode.active_area_mm2,
                shunt_resistance_ohm=self.photodiode.shunt_resistance_ohm,
                dark_current_a=self.photodiode.dark_current_a(self.bias_v, self.temperature_c),
                photocurrent_mean_a=photocurrent,
                photocurrent_amplitude_a=photocurrent * self.led.modulation_depth,
                diode_current_a=self.diode_current_a(),
                noise_current_density_a_per_rthz=noise,
                dark_noise_current_density_a_per_rthz=dark_noise,
                nep_w_per_rthz=nep,
                specific_detectivity_jones=math.sqrt(area_cm2) / nep,
                tia_gain_v_per_a=self.tia.gain_v_per_a,
                tia_bandwidth_hz=self.tia.bandwidth_hz,
                lockin_r_v_rms=abs(signal) / math.sqrt(2.0),
                lockin_theta_deg=math.degrees(math.atan2(signal.imag, signal.real)),
                lockin_noise_density_v_per_rthz=noise * gain_at_f,
            )
