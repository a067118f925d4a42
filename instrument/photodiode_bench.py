"""Photodiode characterisation on the optical bench: the measurement sequence and its raw data.

:func:`measure_photodiode` drives already-connected instruments (LED source, source-meter
biasing the photodiode and reading its current, reference power meter behind a beam splitter,
lock-in after the TIA) and returns :class:`PhotodiodeRawData`: plain numpy arrays and the
conditions they were taken under. The figures of merit are computed from it, with no hardware,
by :func:`calibration.photodiode_figures.compute_figures`, so stored raw data can be
re-evaluated.

Sequence: dark current (LED off) → per wavelength, reference power and light current (DC
responsivity, EQE) → at the signal wavelength and frequency, lock-in amplitude and reference
power (R(f)) → dark lock-in X/Y samples at the same frequency and bias (noise density, NEP,
D*) → LED-current sweep (LDR) → modulation-frequency sweep (f_3dB).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from drivers.errors import DeviceError
from drivers.ledsource import DC2200
from drivers.lockin import LockInAmplifier, settle_time_s
from drivers.powermeter import PM100
from drivers.sourcemeter import Keithley2400

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CharacterisationSettings:
    """What to measure and how (units in the names)."""

    bias_v: float = -0.1
    temperature_c: float = 25.0
    """Stated device temperature, °C (recorded, not measured)."""
    wavelengths_nm: tuple[float, ...] = (660.0, 850.0, 940.0)
    led_current_a: float = 0.02
    readings_per_point: int = 10
    signal_wavelength_nm: float = 850.0
    signal_frequency_hz: float = 2000.0
    """Frequency of R(f) and of the noise density (NEP and D* use both)."""
    signal_time_constant_s: float = 3e-3
    signal_slope_db_per_oct: int = 24
    noise_time_constant_s: float = 300e-6
    noise_slope_db_per_oct: int = 12
    noise_samples: int = 120
    noise_sample_interval_s: float = 15e-3
    noise_sensitivity_v: float = 100e-9
    ldr_led_currents_a: tuple[float, ...] = (1e-7, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0)
    sweep_frequencies_hz: tuple[float, ...] = (
        1e3, 10e3, 30e3, 60e3, 80e3, 100e3, 125e3, 160e3, 250e3,
    )  # fmt: skip
    sweep_readings: int = 3


@dataclass(frozen=True)
class PhotodiodeRawData:
    """Raw readings (one row per point, one column per repeated reading) and conditions."""

    bias_v: float
    temperature_c: float
    wavelengths_nm: np.ndarray
    dark_current_a: np.ndarray
    """(n,) source-meter current with the LED off, A."""
    light_current_a: np.ndarray
    """(wavelengths, n) source-meter current with the LED on, A."""
    reference_power_w: np.ndarray
    """(wavelengths, n) reference power meter, W."""
    led_current_a: float
    signal_wavelength_nm: float
    signal_frequency_hz: float
    signal_time_constant_s: float
    signal_slope_db_per_oct: int
    modulation_depth: float
    signal_r_v: np.ndarray
    """(n,) lock-in amplitude at the signal frequency, V RMS."""
    signal_reference_power_w: np.ndarray
    """(n,) reference power during those readings, W."""
    noise_time_constant_s: float
    noise_slope_db_per_oct: int
    noise_x_v: np.ndarray
    """(m,) lock-in X in the dark at the signal frequency, V."""
    noise_y_v: np.ndarray
    """(m,) lock-in Y in the dark, V."""
    ldr_led_current_a: np.ndarray
    ldr_reference_power_w: np.ndarray
    """(points, n) reference power during the LED-current sweep, W."""
    ldr_light_current_a: np.ndarray
    """(points, n) source-meter current during the sweep, A."""
    sweep_frequency_hz: np.ndarray
    sweep_r_v: np.ndarray
    """(frequencies, k) lock-in amplitude of the modulation-frequency sweep, V RMS."""


@dataclass(frozen=True)
class _SignalReadings:
    r_v: np.ndarray
    reference_power_w: np.ndarray
    modulation_depth: float


def measure_photodiode(
    led: DC2200,
    sourcemeter: Keithley2400,
    powermeter: PM100,
    lockin: LockInAmplifier,
    settings: CharacterisationSettings | None = None,
) -> PhotodiodeRawData:
    """Run the characterisation on connected instruments; return the raw data.

    The source-meter biases the photodiode at ``settings.bias_v`` (output left on); the LED is
    switched off at the end.
    """
    settings = settings or CharacterisationSettings()
    count = settings.readings_per_point
    sourcemeter.voltage_v = settings.bias_v
    sourcemeter.output_enabled = True
    led.output_enabled = False
    dark = _currents(sourcemeter, count)
    logger.info("photodiode dark current: %d readings at %g V", count, settings.bias_v)

    light, power = _light_series(led, sourcemeter, powermeter, settings)
    signal = _signal_readings(led, powermeter, lockin, settings)
    led.output_enabled = False
    noise_x, noise_y = _dark_xy(lockin, settings)
    ldr_power, ldr_current = _ldr_sweep(led, sourcemeter, powermeter, settings)
    frequencies, sweep = _frequency_sweep(led, lockin, settings)
    led.output_enabled = False

    return PhotodiodeRawData(
        bias_v=settings.bias_v,
        temperature_c=settings.temperature_c,
        wavelengths_nm=np.array(settings.wavelengths_nm),
        dark_current_a=dark,
        light_current_a=light,
        reference_power_w=power,
        led_current_a=settings.led_current_a,
        signal_wavelength_nm=settings.signal_wavelength_nm,
        signal_frequency_hz=settings.signal_frequency_hz,
        signal_time_constant_s=settings.signal_time_constant_s,
        signal_slope_db_per_oct=settings.signal_slope_db_per_oct,
        modulation_depth=signal.modulation_depth,
        signal_r_v=signal.r_v,
        signal_reference_power_w=signal.reference_power_w,
        noise_time_constant_s=settings.noise_time_constant_s,
        noise_slope_db_per_oct=settings.noise_slope_db_per_oct,
        noise_x_v=noise_x,
        noise_y_v=noise_y,
        ldr_led_current_a=np.array(settings.ldr_led_currents_a),
        ldr_reference_power_w=ldr_power,
        ldr_light_current_a=ldr_current,
        sweep_frequency_hz=np.array(frequencies),
        sweep_r_v=sweep,
    )


def _light_series(
    led: DC2200,
    sourcemeter: Keithley2400,
    powermeter: PM100,
    settings: CharacterisationSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """Per wavelength, light current (A) and reference power (W); LED off between and after."""
    count = settings.readings_per_point
    led.current_a = settings.led_current_a
    light, power = [], []
    for wavelength in settings.wavelengths_nm:
        _select(led, powermeter, wavelength)
        led.output_enabled = True
        power.append(_powers(powermeter, count))
        light.append(_currents(sourcemeter, count))
        led.output_enabled = False
    return np.array(light), np.array(power)


def _signal_readings(
    led: DC2200, powermeter: PM100, lockin: LockInAmplifier, settings: CharacterisationSettings
) -> _SignalReadings:
    """Lock-in amplitude and reference power at the signal wavelength and frequency (LED on)."""
    count = settings.readings_per_point
    _select(led, powermeter, settings.signal_wavelength_nm)
    lockin.frequency_hz = settings.signal_frequency_hz
    lockin.time_constant_s = settings.signal_time_constant_s
    lockin.filter_slope_db_per_oct = settings.signal_slope_db_per_oct
    led.output_enabled = True
    r_v = _amplitudes(lockin, count)
    reference_power_w = _powers(powermeter, count)
    return _SignalReadings(r_v, reference_power_w, led.modulation_depth)


def _ldr_sweep(
    led: DC2200,
    sourcemeter: Keithley2400,
    powermeter: PM100,
    settings: CharacterisationSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference power (W) and light current (A) per LED current; leaves the LED on."""
    count = settings.readings_per_point
    ldr_power, ldr_current = [], []
    led.output_enabled = True
    for current in settings.ldr_led_currents_a:
        led.current_a = current
        ldr_power.append(_powers(powermeter, count))
        ldr_current.append(_currents(sourcemeter, count))
    return np.array(ldr_power), np.array(ldr_current)


def _frequency_sweep(
    led: DC2200, lockin: LockInAmplifier, settings: CharacterisationSettings
) -> tuple[list[float], np.ndarray]:
    """Lock-in amplitudes (V RMS) at each sweep frequency the lock-in reaches."""
    led.current_a = settings.led_current_a
    lockin.time_constant_s = settings.signal_time_constant_s
    lockin.filter_slope_db_per_oct = settings.signal_slope_db_per_oct
    low, high = lockin.MODEL.frequency_range_hz
    frequencies = [f for f in settings.sweep_frequencies_hz if low <= f <= high]
    skipped = len(settings.sweep_frequencies_hz) - len(frequencies)
    if skipped:
        logger.info("%s: %d sweep frequencies outside %g–%g Hz", lockin.name, skipped, low, high)
    sweep = []
    for frequency in frequencies:
        lockin.frequency_hz = frequency
        sweep.append(_amplitudes(lockin, settings.sweep_readings))
    return frequencies, np.array(sweep)


def _select(led: DC2200, powermeter: PM100, wavelength_nm: float) -> None:
    led.wavelength_nm = wavelength_nm
    powermeter.wavelength_nm = wavelength_nm


def _currents(sourcemeter: Keithley2400, count: int) -> np.ndarray:
    readings = [sourcemeter.measure() for _ in range(count)]
    if any(reading.in_compliance for reading in readings):
        raise DeviceError(f"{sourcemeter.name}: current reached compliance")
    return np.array([reading.current_a for reading in readings])


def _powers(powermeter: PM100, count: int) -> np.ndarray:
    return np.array([powermeter.read_power_w() for _ in range(count)])


def _amplitudes(lockin: LockInAmplifier, count: int) -> np.ndarray:
    """``count`` lock-in amplitudes, V RMS, on the most sensitive range that holds the signal."""
    readings = lockin.read_ranged(count)
    if not all(reading.valid for reading in readings):
        raise DeviceError(f"{lockin.name}: reading overloaded or unlocked")
    return np.array([reading.r_v for reading in readings])


def _dark_xy(
    lockin: LockInAmplifier, settings: CharacterisationSettings
) -> tuple[np.ndarray, np.ndarray]:
    """Dark X and Y samples spaced ``noise_sample_interval_s`` apart, V.

    Raw ``snap()`` reads keep the command rate low between samples; the latched status read
    after the series rejects it (and raises the range) if anything overloaded meanwhile.
    """
    lockin.time_constant_s = settings.noise_time_constant_s
    lockin.filter_slope_db_per_oct = settings.noise_slope_db_per_oct
    sensitivity = settings.noise_sensitivity_v
    ranges = lockin.allowed_sensitivities_v()
    while True:
        lockin.sensitivity_v = sensitivity
        time.sleep(settle_time_s(settings.noise_time_constant_s, settings.noise_slope_db_per_oct))
        lockin.lia_status()
        samples = []
        for _ in range(settings.noise_samples):
            time.sleep(settings.noise_sample_interval_s)
            samples.append(lockin.snap()[:2])
        if not lockin.lia_status() & lockin.MODEL.overload_mask:
            xy = np.array(samples)
            return xy[:, 0], xy[:, 1]
        if sensitivity == ranges[-1]:
            raise DeviceError(f"{lockin.name}: dark noise overloads the top range")
        logger.info("%s: dark noise overloads %g V; next range", lockin.name, sensitivity)
        sensitivity = ranges[ranges.index(sensitivity) + 1]
