"""Optical density and the modified Beer–Lambert law against MNE and hand-derived numbers."""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pytest

from imaging.chromophores import hemoglobin_extinction
from imaging.mbll import (
    IntensityError,
    baseline_reference,
    dpf_from_age,
    extinction_per_mm_per_um,
    hemoglobin_changes,
    modified_beer_lambert,
    optical_density,
)
from instrument.snirf import NirsData, write_snirf


def forward_intensity(
    hb_um: np.ndarray, wavelengths_nm: np.ndarray, distance_mm: np.ndarray, dpf: np.ndarray
) -> np.ndarray:
    """I/I0 = exp(-ln10 Σ ε c d DPF) written out from Prahl's ε (cm⁻¹/M) and µM → M, mm → cm."""
    epsilon = np.stack(hemoglobin_extinction(wavelengths_nm), axis=-1)  # (W, 2) cm⁻¹/M
    molar = hb_um * 1e-6  # (T, C, 2) M
    pathlength_cm = distance_mm[:, None] * 0.1 * dpf[None, :]  # (C, W)
    absorbance = np.einsum("wk,tck->tcw", epsilon, molar) * pathlength_cm
    return np.exp(-np.log(10.0) * absorbance)


def haemodynamics(times: np.ndarray, channels: int, seed: int = 1) -> np.ndarray:
    """Slow oxygenation swings of a few µM with per-channel amplitude and phase, (T, C, 2)."""
    rng = np.random.default_rng(seed)
    amplitude = rng.uniform(0.5, 3.0, (channels, 2)) * np.array([1.0, -0.4])
    phase = rng.uniform(0, 2 * np.pi, channels)
    wave = np.sin(2 * np.pi * 0.1 * times[:, None] + phase)
    return wave[:, :, None] * amplitude + rng.normal(0.0, 0.05, (len(times), channels, 2))


def mne_haemoglobin(tmp_path, data: NirsData, ppf: tuple[float, ...]) -> np.ndarray:
    path = tmp_path / "cw.snirf"
    write_snirf(path, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = mne.io.read_raw_snirf(path, preload=True, verbose="error")
        od = mne.preprocessing.nirs.optical_density(raw, verbose="error")
        hb = mne.preprocessing.nirs.beer_lambert_law(od, ppf=ppf)
    return hb.get_data().T * 1e6  # M → µM, columns S_D hbo, S_D hbr …


@pytest.mark.parametrize("wavelengths", [(760.0, 850.0), (660.0, 760.0, 850.0, 940.0)])
def test_equals_mne_optical_density_and_beer_lambert(tmp_path, wavelengths):
    lam = np.array(wavelengths)
    times = np.arange(2500) / 10.0  # several blocks of hemoglobin_changes, the last partial
    distance = np.array([15.0, 22.0, 30.0, 35.0, 41.0, 28.0])
    dpf = dpf_from_age(30.0, lam)
    truth = haemodynamics(times, len(distance))
    intensity = 2000.0 * forward_intensity(truth, lam, distance, dpf)  # (T, C, W)
    count, n_w = len(distance), len(lam)
    data = NirsData(
        time_s=times,
        values=intensity.reshape(len(times), count * n_w),
        source_index=np.ones(count * n_w, dtype=int),
        detector_index=np.repeat(np.arange(1, count + 1), n_w),
        wavelength_index=np.tile(np.arange(1, n_w + 1), count),
        wavelengths_nm=lam,
        source_positions_mm=[[0.0, 0.0, 0.0]],
        detector_positions_mm=np.column_stack([distance, np.zeros(count), np.zeros(count)]),
    )
    ours = modified_beer_lambert(optical_density(intensity), lam, distance, dpf)
    # The block-wise log-space path gives the same numbers.
    np.testing.assert_allclose(
        hemoglobin_changes(intensity, lam, distance, dpf), ours, rtol=1e-9, atol=1e-9
    )
    theirs = mne_haemoglobin(tmp_path, data, tuple(dpf)).reshape(len(times), count, 2)
    scale = np.abs(theirs).max()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-3 * scale)
    # The changes are recovered exactly up to a constant per channel (the reference level).
    np.testing.assert_allclose(ours - ours.mean(axis=0), truth - truth.mean(axis=0), atol=1e-9)


def test_hand_derived_concentration():
    # 1 µM HbO2 over 30 mm with DPF 6 at 760 and 850 nm (Prahl: 586 and 1058 cm⁻¹/M):
    # ΔOD = ln10 × ε × 1e-6 M × 3.0 cm × 6 = 2.302585 × 586 × 1.8e-5 = 0.0242877,
    # and 2.302585 × 1058 × 1.8e-5 = 0.0438504.
    delta_od = np.array([[[0.0242877, 0.0438504]]])
    result = modified_beer_lambert(delta_od, [760.0, 850.0], [30.0], 6.0)
    np.testing.assert_allclose(result[0, 0], [1.0, 0.0], atol=2e-5)
    # Natural-log attenuation per mm per µM at 760 nm: ln10 × 586 × 1e-7 and ln10 × 1548.52 × 1e-7.
    np.testing.assert_allclose(
        extinction_per_mm_per_um([760.0]), [[1.34931e-4, 3.56559e-4]], rtol=1e-5
    )


def test_dpf_from_age_follows_scholkmann_and_wolf():
    # 223.3 + 0.05624 × 25^0.8493 − 5.723e-7 × 807³ + 0.001245 × 807² − 0.9025 × 807
    # = 223.3 + 0.86560 − 300.77681 + 810.80501 − 728.31750 = 5.8763
    assert float(dpf_from_age(25.0, 807.0)) == pytest.approx(5.8763, abs=1e-4)
    older = dpf_from_age(50.0, [760.0, 850.0])
    younger = dpf_from_age(20.0, [760.0, 850.0])
    assert np.all(older > younger)
    with pytest.raises(ValueError, match="age must lie in"):
        dpf_from_age(-1.0, 800.0)


def test_optical_density_against_the_mean_or_a_baseline():
    times = np.arange(100) / 10.0
    intensity = np.column_stack([np.full(100, 100.0), np.where(times < 5.0, 50.0, 25.0)])
    od = optical_density(intensity)
    np.testing.assert_allclose(od[:, 0], 0.0)
    # Reference = mean 37.5: OD = -ln(50/37.5) before, -ln(25/37.5) after.
    np.testing.assert_allclose(od[[0, -1], 1], [-np.log(50 / 37.5), -np.log(25 / 37.5)])
    reference = baseline_reference(intensity, times, 0.0, 5.0)
    od_baseline = optical_density(intensity, reference)
    np.testing.assert_allclose(od_baseline[:50, 1], 0.0, atol=1e-15)
    np.testing.assert_allclose(od_baseline[50:, 1], np.log(2.0))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="positive and finite"):
        optical_density(np.array([[1.0, 0.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="holds no sample"):
        baseline_reference(np.ones((10, 2)), np.arange(10.0), 20.0, 30.0)
    with pytest.raises(ValueError, match="at least two wavelengths"):
        modified_beer_lambert(np.zeros((5, 1, 1)), [760.0], [30.0], 6.0)
    with pytest.raises(ValueError, match="2 distances given for 3 channels"):
        modified_beer_lambert(np.zeros((5, 3, 2)), [760.0, 850.0], [30.0, 20.0], 6.0)
    with pytest.raises(ValueError, match="positive and finite"):
        hemoglobin_changes(np.ones((5, 1, 2)), [760.0, 850.0], [30.0], 6.0, [[1.0, -1.0]])
    with pytest.raises(ValueError, match="distances must be positive"):
        modified_beer_lambert(np.zeros((5, 1, 2)), [760.0, 850.0], [0.0], 6.0)


def test_a_bad_intensity_is_located_by_sample_channel_and_wavelength():
    intensity = np.full((3000, 4, 2), 1000.0)
    intensity[2500, 3, 1] = -5.0  # in the third block of samples
    with pytest.raises(IntensityError, match="sample 2500, channel 3, wavelength 1") as caught:
        hemoglobin_changes(intensity, [760.0, 850.0], [30.0] * 4, 6.0)
    assert (caught.value.sample, caught.value.channel, caught.value.wavelength) == (2500, 3, 1)
    with pytest.raises(IntensityError, match="reference, channel 0, wavelength 1"):
        hemoglobin_changes(intensity[:10], [760.0, 850.0], [30.0] * 4, 6.0, [[1.0, 0.0]] * 4)
