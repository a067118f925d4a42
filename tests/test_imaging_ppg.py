"""Imaging PPG maps against a synthetic frame stack with a known SpO2 and perfusion map."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.imaging_ppg import ppg_maps
from imaging.spo2_curves import empirical_line
from tests.ppg_synthetic import ratio_for_spo2

FPS = 200.0


def _stack(seed: int = 0, duration_s: float = 12.0, rows: int = 16, cols: int = 20):
    """(N, 2, H, W) stack: SpO2 97 % on the left, 80 % on the right, no pulse in a corner."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(duration_s * FPS)) / FPS
    phase = 1.25 * t + 0.1 * np.sin(2 * np.pi * t / 7.0)
    volume = np.exp(-0.5 * ((np.mod(phase, 1.0) - 0.2) / 0.08) ** 2)
    spo2 = np.where(np.arange(cols) < cols // 2, 97.0, 80.0)[np.newaxis, :].repeat(rows, 0)
    ratio = ratio_for_spo2(empirical_line(), spo2)
    perfusion = np.linspace(0.5, 2.0, rows)[:, np.newaxis].repeat(cols, 1) / 100.0
    perfusion[:4, :4] = 0.0  # tissue without arterial pulse
    dc = np.stack([rng.uniform(800, 1200, (rows, cols)), rng.uniform(1500, 2500, (rows, cols))])
    k = np.stack([ratio * perfusion, perfusion])
    frames = dc * np.exp(-k * volume[:, None, None, None])
    frames += rng.standard_normal(frames.shape) * 0.5
    return frames, spo2, perfusion


def test_maps_recover_spo2_and_perfusion_per_pixel():
    frames, spo2, perfusion = _stack()
    maps = ppg_maps(frames, FPS, (660.0, 940.0))
    pulsing = perfusion > 0
    assert np.all(np.isnan(maps.spo2_percent[~pulsing]))
    assert np.all(maps.signal_quality[~pulsing] < 0.5)
    error = maps.spo2_percent[pulsing] - spo2[pulsing]
    assert np.sqrt(np.mean(error**2)) < 1.5
    np.testing.assert_allclose(
        maps.perfusion_index_percent[pulsing], 100 * perfusion[pulsing], rtol=0.2
    )
    assert maps.pulse_rate_bpm == pytest.approx(75.0, abs=1.5)


def test_per_wavelength_stacks_and_blocks():
    frames, spo2, _ = _stack(seed=1, cols=24)
    maps = ppg_maps([frames[:, 0], frames[:, 1]], FPS, (660.0, 940.0), block=4)
    assert maps.spo2_percent.shape == (4, 6)
    expected = spo2[::4, ::4]  # each block lies within one half
    assert np.isnan(maps.spo2_percent[0, 0])
    np.testing.assert_allclose(maps.spo2_percent[1:], expected[1:], atol=1.5)


@pytest.mark.parametrize(
    ("frames", "wavelengths", "message"),
    [
        (np.ones((3000, 2, 4, 4)), (660.0,), "two or more"),
        (np.ones((3000, 3, 4, 4)), (660.0, 940.0), "must be"),
        (np.ones((100, 2, 4, 4)), (660.0, 940.0), "under 5 s"),
    ],
)
def test_bad_stacks_are_named(frames, wavelengths, message):
    with pytest.raises(ValueError, match=message):
        ppg_maps(frames, FPS, wavelengths)


def test_a_nan_pixel_blanks_only_itself():
    frames, spo2, perfusion = _stack()
    frames[100, 1, 10, 15] = np.nan  # one lost sample of one pixel
    maps = ppg_maps(frames, FPS, (660.0, 940.0))
    assert np.isnan(maps.spo2_percent[10, 15]) and maps.signal_quality[10, 15] == 0.0
    others = perfusion > 0
    others[10, 15] = False
    error = maps.spo2_percent[others] - spo2[others]
    assert np.all(np.isfinite(error)) and np.sqrt(np.mean(error**2)) < 1.5


@pytest.mark.parametrize("full_scale", [None, 3000.0])
def test_saturated_pixels_are_withheld(full_scale):
    frames, spo2, perfusion = _stack()
    ceiling = 3000.0
    hot = np.zeros(spo2.shape, dtype=bool)
    hot[8:12, 2:8] = True  # a bright patch whose infrared light reaches the ADC ceiling
    frames[:, 1, 8:12, 2:8] *= ceiling / frames[:, 1, 8:12, 2:8].mean(axis=0)
    frames[:, 1] = np.where(hot, np.minimum(frames[:, 1], ceiling), frames[:, 1])
    maps = ppg_maps(frames, FPS, (660.0, 940.0), full_scale=full_scale)
    assert np.all(np.isnan(maps.spo2_percent[hot]))
    assert np.all(maps.signal_quality[hot] == 0.0)
    rest = (perfusion > 0) & ~hot
    error = maps.spo2_percent[rest] - spo2[rest]
    assert np.all(np.isfinite(error)) and np.sqrt(np.mean(error**2)) < 1.5


def test_noisy_pixels_are_withheld_not_biased():
    frames, spo2, perfusion = _stack()
    rng = np.random.default_rng(5)
    noisy = np.zeros(spo2.shape, dtype=bool)
    noisy[4:16, 12:14] = True  # a column of pixels with a bad readout: 10 DN of noise
    frames += np.where(noisy, 10.0, 0.0) * rng.standard_normal(frames.shape)
    maps = ppg_maps(frames, FPS, (660.0, 940.0))
    reported = np.isfinite(maps.spo2_percent)
    error = maps.spo2_percent[reported] - spo2[reported]
    assert np.all(np.abs(error) < 3.0)
    assert reported[noisy].mean() < 0.5
    assert reported[(perfusion > 0) & ~noisy].mean() > 0.9
