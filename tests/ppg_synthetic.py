"""Synthetic multi-wavelength PPG with known truth, for the pulse-oximetry tests.

Each channel is I_w(t) = DC_w · m(t) · b(t) · exp(−k_w v(t)) + noise, where v is a two-wave
arterial volume pulse (0..1) driven by an integrated, slowly varying pulse rate, k_ir is set
by the infrared perfusion index and k_red = R(t) k_ir with R(t) the ratio of ratios that gives
the true SpO2(t) through the curve under test, b a breathing wander and m motion bursts
(multiplicative, mostly common to all channels, as a probe shifting on the skin). The noise is
white, either a fixed share of each channel's pulse (`noise_percent_of_ac`) or a fixed detector
noise in signal units (`noise_counts`), which lowers the SNR as the perfusion falls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from imaging.spo2_curves import SpO2Curve


@dataclass(frozen=True)
class SyntheticPpg:
    """Parameters of a synthetic recording (times s, rates beats/min, percentages %)."""

    sample_rate_hz: float = 100.0
    duration_s: float = 60.0
    wavelengths_nm: tuple[float, ...] = (660.0, 940.0)
    dc: tuple[float, ...] = (2.0e4, 3.0e4)
    spo2_knots: tuple[tuple[float, float], ...] = ((0.0, 97.0),)
    pulse_rate_bpm: float = 72.0
    pulse_rate_swing_bpm: float = 3.0
    pulse_rate_knots: tuple[tuple[float, float], ...] = ()
    perfusion_index_percent: float = 1.5
    noise_percent_of_ac: float = 2.0
    noise_counts: float | None = None
    breathing_percent: float = 0.5
    motion_bursts_s: tuple[tuple[float, float], ...] = ()
    motion_amplitude: float = 0.3
    seed: int = 0


@dataclass(frozen=True)
class SyntheticRecording:
    """Signals (N, W) and the truth behind them."""

    time_s: NDArray[np.float64]
    signals: NDArray[np.float64]
    spo2_percent: NDArray[np.float64]
    pulse_rate_bpm: NDArray[np.float64]
    motion: NDArray[np.bool_]

    def truth_at(self, t_s: NDArray[np.float64]) -> tuple[NDArray, NDArray, NDArray]:
        """(SpO2 %, pulse rate bpm, motion nearby) at times `t_s` (motion within ±3 s)."""
        spo2 = np.interp(t_s, self.time_s, self.spo2_percent)
        rate = np.interp(t_s, self.time_s, self.pulse_rate_bpm)
        moving = np.array([np.any(self.motion[np.abs(self.time_s - t) <= 3.0]) for t in t_s])
        return spo2, rate, moving


def ratio_for_spo2(curve: SpO2Curve, spo2_percent: NDArray[np.float64]) -> NDArray[np.float64]:
    """Invert a monotonic decreasing curve on 0.2 ≤ R ≤ 3."""
    grid = np.linspace(0.2, 3.0, 20001)
    values = curve.spo2_percent(grid)
    order = np.argsort(values)
    return np.interp(spo2_percent, values[order], grid[order])


def _volume_pulse(phase_cycles: NDArray[np.float64]) -> NDArray[np.float64]:
    phase = np.mod(phase_cycles, 1.0)
    systolic = np.exp(-0.5 * ((phase - 0.18) / np.where(phase < 0.18, 0.06, 0.13)) ** 2)
    diastolic = 0.35 * np.exp(-0.5 * ((phase - 0.5) / 0.08) ** 2)
    wave = systolic + diastolic
    return (wave - wave.min()) / (wave.max() - wave.min())


def synthesize(config: SyntheticPpg, curve: SpO2Curve) -> SyntheticRecording:
    """A recording following `config`, with R(t) from `curve` (the red channel = shortest λ)."""
    rng = np.random.default_rng(config.seed)
    fs = config.sample_rate_hz
    t = np.arange(round(config.duration_s * fs)) / fs
    base_rate = config.pulse_rate_bpm
    if config.pulse_rate_knots:  # (time s, rate beats/min) knots, linear between
        knots_rate = np.array(config.pulse_rate_knots)
        base_rate = np.interp(t, knots_rate[:, 0], knots_rate[:, 1])
    rate = base_rate + config.pulse_rate_swing_bpm * np.sin(
        2 * np.pi * t / 23.0 + rng.uniform(0, 2 * np.pi)
    )
    phase = np.cumsum(rate / 60.0) / fs + rng.uniform()
    volume = _volume_pulse(phase)
    knots = np.array(config.spo2_knots)
    spo2 = np.interp(t, knots[:, 0], knots[:, 1])
    ratio = ratio_for_spo2(curve, spo2)
    wavelengths = np.asarray(config.wavelengths_nm)
    red, infrared = np.argmin(wavelengths), np.argmax(wavelengths)
    k_ir = -np.log(1.0 - config.perfusion_index_percent / 100.0)
    # Other channels sit between red and infrared in R.
    span = np.where(wavelengths == wavelengths[red], 1.0, 0.0)
    weights = np.interp(wavelengths, [wavelengths[red], wavelengths[infrared]], [1.0, 0.0])
    weights = np.maximum(span, weights)
    k = k_ir * (1.0 + weights[np.newaxis, :] * (ratio[:, np.newaxis] - 1.0))
    breathing = 1.0 + config.breathing_percent / 200.0 * np.sin(2 * np.pi * 0.25 * t + 1.0)
    motion_factor = np.ones_like(t)
    moving = np.zeros(t.size, dtype=bool)
    for start, length in config.motion_bursts_s:
        inside = (t >= start) & (t < start + length)
        moving |= inside
        envelope = np.where(inside, np.sin(np.pi * (t - start) / length) ** 2, 0.0)
        mixture = sum(
            rng.uniform(0.3, 1.0)
            * np.sin(2 * np.pi * rng.uniform(0.3, 4.0) * t + rng.uniform(0, 6))
            for _ in range(4)
        )
        motion_factor = motion_factor + config.motion_amplitude * envelope * mixture / 2.0
    motion_factor = np.maximum(motion_factor, 0.05)
    channel_motion = 1.0 + 0.1 * (rng.uniform(-1, 1, wavelengths.size))[np.newaxis, :] * (
        motion_factor[:, np.newaxis] - 1.0
    )
    clean = np.asarray(config.dc)[np.newaxis, :] * np.exp(-k * volume[:, np.newaxis])
    signals = clean * breathing[:, np.newaxis] * motion_factor[:, np.newaxis] * channel_motion
    ac = np.asarray(config.dc) * config.perfusion_index_percent / 100.0
    level = ac * config.noise_percent_of_ac / 100.0
    if config.noise_counts is not None:  # a fixed detector noise, whatever the perfusion
        level = np.full_like(ac, config.noise_counts)
    noise = rng.standard_normal(signals.shape) * level
    return SyntheticRecording(t, signals + noise, spo2, rate, moving)
