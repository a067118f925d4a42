"""Photodiode figures of merit from bench raw data, and their calibration record.

:func:`compute_figures` turns the raw data of a bench characterisation
(:func:`instrument.photodiode_bench.measure_photodiode`, or stored raw data) plus the stated
set-up (:class:`BenchSetup`) into :class:`PhotodiodeFigures` with
:mod:`calibration.figures_of_merit`; it touches no hardware. :func:`record_content` makes the
calibration record of them. The raw data is described by :class:`PhotodiodeReadings`, which
the bench's ``PhotodiodeRawData`` satisfies (this package does not import the instrument).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from calibration import figures_of_merit as fom
from calibration.context import CalibrationContext
from calibration.record import RecordContent
from calibration.uncertainty import Result

logger = logging.getLogger(__name__)

KIND = "photodiode-figures-of-merit"


class PhotodiodeReadings(Protocol):
    """Raw readings of a bench characterisation: what :func:`compute_figures` reads.

    Arrays hold one row per point and one column per repeated reading; shapes and units are
    those of ``instrument.photodiode_bench.PhotodiodeRawData``. Every array attribute is
    stored in the calibration record as ``raw/<name>``.
    """

    @property
    def bias_v(self) -> float: ...
    @property
    def temperature_c(self) -> float: ...
    @property
    def wavelengths_nm(self) -> np.ndarray: ...
    @property
    def dark_current_a(self) -> np.ndarray: ...
    @property
    def light_current_a(self) -> np.ndarray: ...
    @property
    def reference_power_w(self) -> np.ndarray: ...
    @property
    def signal_wavelength_nm(self) -> float: ...
    @property
    def signal_frequency_hz(self) -> float: ...
    @property
    def modulation_depth(self) -> float: ...
    @property
    def signal_r_v(self) -> np.ndarray: ...
    @property
    def signal_reference_power_w(self) -> np.ndarray: ...
    @property
    def noise_time_constant_s(self) -> float: ...
    @property
    def noise_slope_db_per_oct(self) -> int: ...
    @property
    def noise_x_v(self) -> np.ndarray: ...
    @property
    def noise_y_v(self) -> np.ndarray: ...
    @property
    def ldr_reference_power_w(self) -> np.ndarray: ...
    @property
    def ldr_light_current_a(self) -> np.ndarray: ...
    @property
    def sweep_frequency_hz(self) -> np.ndarray: ...
    @property
    def sweep_r_v(self) -> np.ndarray: ...


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


def compute_figures(
    raw: PhotodiodeReadings,
    setup: BenchSetup,
    *,
    ldr_fit_range_w: tuple[float, float] = (5e-9, 5e-6),
    ldr_criterion_relative: float = 0.05,
) -> PhotodiodeFigures:
    """Figures of merit of ``raw`` under the stated ``setup`` (no I/O).

    Parameters
    ----------
    raw : PhotodiodeReadings
        Raw data of the bench characterisation.
    setup : BenchSetup
        Stated area, TIA gain, split ratio and their uncertainties.
    ldr_fit_range_w : tuple of float
        Optical power range on the device of the LDR linear fit, W.
    ldr_criterion_relative : float
        Largest relative deviation from the fit that still counts as linear.

    Returns
    -------
    PhotodiodeFigures
        Every figure with its GUM budget, and the sanity warnings.
    """
    responsivity, eqe = _dc_responsivity(raw, setup)
    dark = fom.mean_current(
        f"dark current at {raw.bias_v:g} V, {raw.temperature_c:g} °C",
        raw.dark_current_a,
        meter_relative_u=setup.current_meter_relative_u,
    )
    density = fom.dark_current_density(dark, setup.area_cm2, setup.area_relative_u)
    signal_responsivity = _signal_responsivity(raw, setup)
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
        linear_dynamic_range=_linear_dynamic_range(
            raw, setup, ldr_fit_range_w, ldr_criterion_relative
        ),
        bandwidth=_bandwidth(raw),
        warnings=warnings,
    )


def _dc_responsivity(
    raw: PhotodiodeReadings, setup: BenchSetup
) -> tuple[dict[float, Result], dict[float, Result]]:
    """DC responsivity (A/W) and EQE (%) by wavelength (nm)."""
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
    return responsivity, eqe


def _signal_responsivity(raw: PhotodiodeReadings, setup: BenchSetup) -> Result:
    """Responsivity at the signal frequency from the lock-in amplitude, A/W."""
    signal_current = fom.photocurrent_from_lockin(
        raw.signal_r_v,
        tia_gain_v_per_a=setup.tia_gain_v_per_a,
        tia_gain_relative_u=setup.tia_gain_relative_u,
        modulation_depth=raw.modulation_depth,
    )
    result = fom.responsivity(
        signal_current,
        raw.signal_reference_power_w,
        wavelength_nm=raw.signal_wavelength_nm,
        power_meter_relative_u=setup.power_meter_relative_u,
        split_ratio=setup.split_ratio,
        split_ratio_relative_u=setup.split_ratio_relative_u,
    )
    return Result(
        f"{result.name}, {raw.signal_frequency_hz:g} Hz", result.value, result.unit, result.budget
    )


def _linear_dynamic_range(
    raw: PhotodiodeReadings,
    setup: BenchSetup,
    fit_range_w: tuple[float, float],
    criterion_relative: float,
) -> fom.LinearDynamicRange:
    """LDR of the LED-current sweep, power on the device through the split ratio."""
    device_power = raw.ldr_reference_power_w.mean(axis=1) / setup.split_ratio
    repeats = raw.ldr_reference_power_w.shape[1]
    return fom.linear_dynamic_range(
        device_power,
        raw.ldr_light_current_a.mean(axis=1) - raw.dark_current_a.mean(),
        fit_range_w=fit_range_w,
        criterion_relative=criterion_relative,
        power_standard_uncertainty_w=raw.ldr_reference_power_w.std(axis=1, ddof=1)
        / np.sqrt(repeats)
        / setup.split_ratio,
        readings_per_point=repeats,
    )


def _bandwidth(raw: PhotodiodeReadings) -> fom.CutoffFrequency:
    """f_3dB of the modulation-frequency sweep."""
    sweep_mean = raw.sweep_r_v.mean(axis=1)
    sweep_repeats = raw.sweep_r_v.shape[1]
    relative_u = raw.sweep_r_v.std(axis=1, ddof=1) / np.sqrt(sweep_repeats) / sweep_mean
    return fom.cutoff_frequency(
        raw.sweep_frequency_hz,
        sweep_mean,
        amplitude_relative_u=float(np.max(relative_u)),
        readings_per_point=sweep_repeats,
    )


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
    raw: PhotodiodeReadings,
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
