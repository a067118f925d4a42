"""Photodiode characterisation on the optical bench: raw measurements, then figures of merit.

:func:`measure_photodiode` drives already-connected instruments (LED source, source-meter
biasing the photodiode and reading its current, reference power meter behind a beam splitter,
lock-in after the TIA) and returns :class:`PhotodiodeRawData`: plain numpy arrays and the
conditions they were taken under. :func:`compute_figures` turns raw data plus the stated set-up
(:class:`BenchSetup`) into :class:`PhotodiodeFigures` with
:mod:`calibration.figures_of_merit`; it touches no hardware, so stored raw data can be
re-evaluated.

Sequence: dark current (LED off) → per wavelength, reference power and light current (DC
responsivity, EQE) → at the signal wavelength and frequency, lock-in amplitude and reference
power (R(f)) → dark lock-in X/Y samples at the same frequency and bias (noise density, NEP,
D*) → LED-current sweep (LDR) → modulation-frequency sweep (f_3dB).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from calibration import figures_of_merit as fom
from calibration.context import CalibrationContext
from calibration.record import RecordContent
from calibration.uncertainty import Result
from drivers.errors import DeviceError
from drivers.ledsource import DC2200
from drivers.lockin import LockInAmplifier, LockInReading, settle_time_s
from drivers.powermeter import PM100
from drivers.sourcemeter import Keithley2400


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
class BenchSetup:
    """Stated facts of the set-up with their relative standard uncertainties (Type B)."""

    area_cm2: float
    tia_gain_v_per_a: float
    split_ratio: float
    """P_ref / P_opt of the beam splitter."""
    power_meter_relative_u: float = 0.01
    """Reference power meter, certificate U/k."""
    split_ratio_relative_u: float = 0.005
    tia_gain_relative_u: float = 0.001
    area_relative_u: float = 0.01
    current_meter_relative_u: float = 3e-4
    gain_device: bool = False


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
class PhotodiodeFigures:
    """Figures of merit of one characterisation, each with its GUM budget."""

    responsivity: dict[float, Result]
    """DC responsivity by wavelength (nm), A/W."""
    external_quantum_efficiency: dict[float, Result]
    """EQE by wavelength (nm), %."""
    dark_current: Result
    dark_current_density: Result
    responsivity_at_signal_frequency: Result
    noise_density: Result
    nep: Result
    detectivity: fom.Detectivity
    linear_dynamic_range: fom.LinearDynamicRange
    bandwidth: fom.CutoffFrequency
    warnings: tuple[str, ...]


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

    led.current_a = settings.led_current_a
    light, power = [], []
    for wavelength in settings.wavelengths_nm:
        _select(led, powermeter, wavelength)
        led.output_enabled = True
        power.append(_powers(powermeter, count))
        light.append(_currents(sourcemeter, count))
        led.output_enabled = False

    _select(led, powermeter, settings.signal_wavelength_nm)
    lockin.frequency_hz = settings.signal_frequency_hz
    lockin.time_constant_s = settings.signal_time_constant_s
    lockin.filter_slope_db_per_oct = settings.signal_slope_db_per_oct
    led.output_enabled = True
    signal_r = _amplitudes(lockin, count)
    signal_power = _powers(powermeter, count)
    modulation_depth = led.modulation_depth

    led.output_enabled = False
    noise_x, noise_y = _dark_xy(lockin, settings)

    ldr_power, ldr_current = [], []
    led.output_enabled = True
    for current in settings.ldr_led_currents_a:
        led.current_a = current
        ldr_power.append(_powers(powermeter, count))
        ldr_current.append(_currents(sourcemeter, count))

    led.current_a = settings.led_current_a
    lockin.time_constant_s = settings.signal_time_constant_s
    lockin.filter_slope_db_per_oct = settings.signal_slope_db_per_oct
    low, high = lockin.MODEL.frequency_range_hz
    frequencies = [f for f in settings.sweep_frequencies_hz if low <= f <= high]
    sweep = []
    for frequency in frequencies:
        lockin.frequency_hz = frequency
        sweep.append(_amplitudes(lockin, settings.sweep_readings))
    led.output_enabled = False

    return PhotodiodeRawData(
        bias_v=settings.bias_v,
        temperature_c=settings.temperature_c,
        wavelengths_nm=np.array(settings.wavelengths_nm),
        dark_current_a=dark,
        light_current_a=np.array(light),
        reference_power_w=np.array(power),
        led_current_a=settings.led_current_a,
        signal_wavelength_nm=settings.signal_wavelength_nm,
        signal_frequency_hz=settings.signal_frequency_hz,
        signal_time_constant_s=settings.signal_time_constant_s,
        signal_slope_db_per_oct=settings.signal_slope_db_per_oct,
        modulation_depth=modulation_depth,
        signal_r_v=signal_r,
        signal_reference_power_w=signal_power,
        noise_time_constant_s=settings.noise_time_constant_s,
        noise_slope_db_per_oct=settings.noise_slope_db_per_oct,
        noise_x_v=noise_x,
        noise_y_v=noise_y,
        ldr_led_current_a=np.array(settings.ldr_led_currents_a),
        ldr_reference_power_w=np.array(ldr_power),
        ldr_light_current_a=np.array(ldr_current),
        sweep_frequency_hz=np.array(frequencies),
        sweep_r_v=np.array(sweep),
    )


def compute_figures(
    raw: PhotodiodeRawData,
    setup: BenchSetup,
    *,
    ldr_fit_range_w: tuple[float, float] = (5e-9, 5e-6),
    ldr_criterion_relative: float = 0.05,
) -> PhotodiodeFigures:
    """Figures of merit of ``raw`` under the stated ``setup`` (no I/O).

    Parameters
    ----------
    raw : PhotodiodeRawData
    setup : BenchSetup
    ldr_fit_range_w : tuple of float
        Optical power range on the device of the LDR linear fit, W.
    ldr_criterion_relative : float
        Largest relative deviation from the fit that still counts as linear.
    """
    responsivity, eqe = {}, {}
    for index, wavelength in enumerate(raw.wavelengths_nm.tolist()):
        current = fom.photocurrent(
            raw.light_current_a[index],
            raw.dark_current_a,
            meter_relative_u=setup.current_meter_relative_u,
        )
        responsivity[wavelength] = fom.responsivity(
            current,
            raw.reference_power_w[index],
            wavelength_nm=wavelength,
            power_meter_relative_u=setup.power_meter_relative_u,
            split_ratio=setup.split_ratio,
            split_ratio_relative_u=setup.split_ratio_relative_u,
        )
        eqe[wavelength] = fom.external_quantum_efficiency(responsivity[wavelength], wavelength)

    dark = fom.mean_current(
        f"dark current at {raw.bias_v:g} V, {raw.temperature_c:g} °C",
        raw.dark_current_a,
        meter_relative_u=setup.current_meter_relative_u,
    )
    density = fom.dark_current_density(dark, setup.area_cm2, setup.area_relative_u)

    signal_current = fom.photocurrent_from_lockin(
        raw.signal_r_v,
        tia_gain_v_per_a=setup.tia_gain_v_per_a,
        tia_gain_relative_u=setup.tia_gain_relative_u,
        modulation_depth=raw.modulation_depth,
    )
    signal_responsivity = fom.responsivity(
        signal_current,
        raw.signal_reference_power_w,
        wavelength_nm=raw.signal_wavelength_nm,
        power_meter_relative_u=setup.power_meter_relative_u,
        split_ratio=setup.split_ratio,
        split_ratio_relative_u=setup.split_ratio_relative_u,
    )
    signal_responsivity = Result(
        f"{signal_responsivity.name}, {raw.signal_frequency_hz:g} Hz",
        signal_responsivity.value,
        signal_responsivity.unit,
        signal_responsivity.budget,
    )
    noise = fom.noise_current_density(
        raw.noise_x_v,
        raw.noise_y_v,
        tia_gain_v_per_a=setup.tia_gain_v_per_a,
        tia_gain_relative_u=setup.tia_gain_relative_u,
        time_constant_s=raw.noise_time_constant_s,
        slope_db_per_oct=raw.noise_slope_db_per_oct,
        frequency_hz=raw.signal_frequency_hz,
    )
    nep = fom.noise_equivalent_power(noise, signal_responsivity)
    detectivity = fom.specific_detectivity(
        signal_responsivity,
        noise,
        dark,
        area_cm2=setup.area_cm2,
        area_relative_u=setup.area_relative_u,
        temperature_c=raw.temperature_c,
    )

    device_power = raw.ldr_reference_power_w.mean(axis=1) / setup.split_ratio
    repeats = raw.ldr_reference_power_w.shape[1]
    ldr = fom.linear_dynamic_range(
        device_power,
        raw.ldr_light_current_a.mean(axis=1) - raw.dark_current_a.mean(),
        fit_range_w=ldr_fit_range_w,
        criterion_relative=ldr_criterion_relative,
        power_standard_uncertainty_w=raw.ldr_reference_power_w.std(axis=1, ddof=1)
        / np.sqrt(repeats)
        / setup.split_ratio,
        readings_per_point=repeats,
    )

    sweep_mean = raw.sweep_r_v.mean(axis=1)
    sweep_repeats = raw.sweep_r_v.shape[1]
    relative_u = raw.sweep_r_v.std(axis=1, ddof=1) / np.sqrt(sweep_repeats) / sweep_mean
    bandwidth = fom.cutoff_frequency(
        raw.sweep_frequency_hz,
        sweep_mean,
        amplitude_relative_u=float(np.max(relative_u)),
        readings_per_point=sweep_repeats,
    )
    warnings = fom.sanity_warnings(
        eqe_percent=tuple(eqe.values()),
        gain_device=setup.gain_device,
        detectivity=detectivity,
        nep=nep,
        temperature_c=raw.temperature_c,
    )
    return PhotodiodeFigures(
        responsivity=responsivity,
        external_quantum_efficiency=eqe,
        dark_current=dark,
        dark_current_density=density,
        responsivity_at_signal_frequency=signal_responsivity,
        noise_density=noise,
        nep=nep,
        detectivity=detectivity,
        linear_dynamic_range=ldr,
        bandwidth=bandwidth,
        warnings=warnings,
    )


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


def ranged_readings(lockin: LockInAmplifier, count: int) -> list[LockInReading]:
    """``count`` lock-in readings on the most sensitive range that holds the signal.

    The range is found from one coarse reading on the least sensitive range; each reading
    waits one settling time of the output filter.
    """
    lockin.sensitivity_v = lockin.allowed_sensitivities_v()[-1]
    lockin.wait_settled()
    coarse = lockin.measure(auto_range=False).r_v
    lockin.sensitivity_v = lockin.smallest_sensitivity_at_least(1.5 * coarse)
    settle = lockin.settle_time_s()
    readings = []
    for _ in range(count):
        time.sleep(settle)
        readings.append(lockin.measure())
    return readings


def _amplitudes(lockin: LockInAmplifier, count: int) -> np.ndarray:
    """``count`` lock-in amplitudes, V RMS, on the most sensitive range that holds the signal."""
    readings = ranged_readings(lockin, count)
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
        sensitivity = ranges[ranges.index(sensitivity) + 1]


KIND = "photodiode-figures-of-merit"


def figure_results(figures: PhotodiodeFigures) -> tuple[Result, ...]:
    """Every figure as a named result (D* twice: measured noise, and the shot-noise bound)."""
    return (
        *figures.responsivity.values(),
        *figures.external_quantum_efficiency.values(),
        figures.dark_current,
        figures.dark_current_density,
        figures.responsivity_at_signal_frequency,
        figures.noise_density,
        figures.nep,
        figures.detectivity.measured,
        figures.detectivity.shot_noise_limit,
        figures.linear_dynamic_range.result,
        figures.bandwidth.result,
    )


def record_content(
    figures: PhotodiodeFigures,
    raw: PhotodiodeRawData,
    context: CalibrationContext,
    *,
    performed_by: str,
    calibration_date: str,
    software_version: str,
) -> RecordContent:
    """Calibration record of a photodiode characterisation: figures with their budgets, the
    raw curves they were computed from, and the conditions and caveats."""
    arrays = {
        f"raw/{name}": np.asarray(value)
        for name, value in vars(raw).items()
        if isinstance(value, np.ndarray)
    }
    ldr = figures.linear_dynamic_range
    remarks = [
        f"Bias {raw.bias_v:g} V, {raw.temperature_c:g} °C. NEP and D* use R(f) and the dark "
        f"noise at {raw.signal_frequency_hz:g} Hz; D* from the measured noise is the figure to "
        "report, the shot-noise-only value is an upper bound.",
        f"LDR fit range {ldr.fit_range_w[0]:.3g}–{ldr.fit_range_w[1]:.3g} W, linearity criterion "
        f"{100 * ldr.criterion_relative:g} %"
        + ("" if ldr.upper_limit_found else "; upper limit not reached (lower bound)."),
        f"Bandwidth: {figures.bandwidth.method}.",
        *figures.warnings,
    ]
    return context.record_content(
        KIND,
        "Photodiode figures of merit",
        performed_by=performed_by,
        calibration_date=calibration_date,
        software_version=software_version,
        as_left=figure_results(figures),
        arrays=arrays,
        remarks=" ".join(remarks),
    )
