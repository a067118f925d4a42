"""The simulated scene's physics, checked against hand-derived numbers and its own truth."""

import math

import numpy as np
import pytest

from drivers.sim.optics import FarrellTable, farrell_reflectance_per_mm2
from drivers.sim.scene import Scene
from drivers.sim.sensor import BoardThermalConfig, BoardThermalModel, SensorConfig, SensorModel
from drivers.sim.tissue import MotionBurst, TissueConfig, TissuePhantom, pulse_waveform
from imaging.chromophores import (
    absorption_per_mm,
    hemoglobin_extinction,
    reduced_scattering_per_mm,
    water_absorption_per_mm,
)

SHAPE = (64, 64)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return Scene(seed=7)


@pytest.fixture(scope="module")
def sensor() -> SensorModel:
    return SensorModel(SensorConfig(), SHAPE, np.random.default_rng(11))


def live_mask(sensor: SensorModel) -> np.ndarray:
    """Pixels that are neither hot nor dead."""
    mask = np.ones(sensor.shape, dtype=bool)
    truth = sensor.truth()
    for rows_cols in (truth["hot_pixels"], truth["dead_pixels"]):
        mask[rows_cols[:, 0], rows_cols[:, 1]] = False
    return mask


# -- optics ----------------------------------------------------------------------------------


def test_extinction_table_reproduces_prahl_values():
    epsilon_hbo2, epsilon_hb = hemoglobin_extinction([660.0, 940.0])
    np.testing.assert_allclose(epsilon_hbo2, [319.6, 1214.0])
    np.testing.assert_allclose(epsilon_hb, [3226.56, 693.44])
    # 805 nm lies halfway between Prahl's 804 nm (836, 737.08) and 806 nm (844, 730.28) rows.
    np.testing.assert_allclose(hemoglobin_extinction(805.0), (840.0, 733.68))


@pytest.mark.parametrize("wavelength_nm", [600.0, 1100.0])
def test_wavelengths_outside_the_table_are_refused(wavelength_nm):
    with pytest.raises(ValueError, match="650-1000 nm"):
        hemoglobin_extinction(wavelength_nm)
    with pytest.raises(ValueError, match="650-1000 nm"):
        water_absorption_per_mm(wavelength_nm)


def test_absorption_is_ln10_times_extinction_times_concentration():
    # 100 µM HbO2 at 940 nm: ln(10) × 1214 cm⁻¹/M × 100e-6 M = 0.2795 cm⁻¹ = 0.02795 mm⁻¹.
    assert absorption_per_mm(940.0, 100.0, 0.0, 0.0) == pytest.approx(
        math.log(10) * 1214.0 * 100e-6 / 10.0, rel=1e-12
    )
    # Water at 750 nm (Hale & Querry k = 1.56e-7): 4πk/λ = 2.614e-3 mm⁻¹.
    assert water_absorption_per_mm(750.0) == pytest.approx(4 * math.pi * 1.56e-7 / 750e-6)
    assert water_absorption_per_mm(975.0) > water_absorption_per_mm(900.0) > 0.0


def test_reduced_scattering_power_law():
    assert reduced_scattering_per_mm(500.0, 1.89, 1.286) == pytest.approx(1.89)
    assert reduced_scattering_per_mm(1000.0, 1.89, 1.286) == pytest.approx(1.89 * 2**-1.286)


def test_farrell_reflectance_matches_hand_calculation():
    # μa = 0.01 mm⁻¹, μs' = 1 mm⁻¹, n = 1.4, ρ = 10 mm:
    # r_id = -1.44/1.96 + 0.71/1.4 + 0.668 + 0.0636 × 1.4 = 0.529489, A = 3.250697,
    # μt' = 1.01, z0 = 0.990099, D = 0.330033, zb = 2AD = 2.145675, μeff = √(3 × 0.01 × 1.01)
    # = 0.174069, r1 = 10.048895, r2 = √((z0 + 2zb)² + ρ²) = 11.309010,
    # R = (1/1.01)/(4π) [4.665110e-4 + 1.513889e-3] = 1.560349e-4 mm⁻².
    reflectance = farrell_reflectance_per_mm2(10.0, 0.01, 1.0, 1.4)
    assert reflectance == pytest.approx(1.560348775e-4, rel=1e-8)


def test_farrell_reflectance_decays_with_distance_and_vectorises_over_wavelength():
    rho = np.linspace(1.0, 40.0, 79)
    mua = np.array([[0.005], [0.01], [0.03]])
    reflectance = farrell_reflectance_per_mm2(rho, mua, 1.0)
    assert reflectance.shape == (3, 79)
    assert np.all(np.diff(reflectance, axis=1) < 0.0)
    assert np.all(np.diff(reflectance[:, -1]) < 0.0)  # more absorption, less light far away


def test_farrell_table_interpolates_the_exact_model():
    rho = np.linspace(5.0, 35.0, 31)
    table = FarrellTable(rho, 1.0, (0.005, 0.02))
    mua = np.random.default_rng(0).uniform(0.005, 0.02, 25)
    exact = farrell_reflectance_per_mm2(rho, mua[:, np.newaxis], 1.0)
    np.testing.assert_allclose(table(mua), exact, rtol=1e-5)
    np.testing.assert_allclose(table(mua[3]), exact[3], rtol=1e-5)
    with pytest.raises(ValueError, match="outside the table"):
        table(0.03)


# -- tissue ----------------------------------------------------------------------------------


def test_default_geometry_spans_5_to_30_mm(scene):
    distance = scene.tissue.truth(0.0)["source_distance_mm"]
    assert distance.shape == SHAPE
    assert 4.9 < distance.min() < 5.5
    assert distance.max() > 30.0


def test_photon_rate_is_farrell_reflectance_times_the_led_photon_flux(scene):
    config = scene.tissue.config
    t_s, wavelength, current = 1.234, 850.0, 20.0
    truth = scene.tissue.truth(t_s)
    reflectance = farrell_reflectance_per_mm2(
        truth["source_distance_mm"],
        truth["mua_per_mm"][wavelength],
        truth["musp_per_mm"][wavelength],
    )
    photon_energy_j = 6.62607015e-34 * 299792458.0 / (wavelength * 1e-9)
    led_photons_per_s = config.led_radiant_efficiency_mw_per_ma * current * 1e-3 / photon_energy_j
    expected = (
        led_photons_per_s
        * reflectance
        * config.pixel_pitch_mm**2
        * config.collection_efficiency
        * truth["inclusion"]["transmission"][wavelength]
    )
    rate = scene.tissue.photon_rate(t_s, wavelength, current)
    assert rate.dtype == np.float64
    np.testing.assert_allclose(rate, expected, rtol=1e-5)


def test_unknown_led_wavelength_is_refused(scene):
    with pytest.raises(ValueError, match="no LED at 700"):
        scene.tissue.photon_rate(0.0, 700.0, 10.0)


@pytest.mark.parametrize("perfusion_percent", [1.5, 0.3])
def test_perfusion_index_at_940_nm_follows_config(perfusion_percent):
    phantom = TissuePhantom(
        TissueConfig(perfusion_index_percent=perfusion_percent, respiratory_wander_percent=0.0),
        np.random.default_rng(0),
    )
    truth = phantom.truth(0.0)
    assert truth["perfusion_index"][940.0] == pytest.approx(perfusion_percent / 100, rel=1e-6)
    # Ratio of ratios as a calibrated pulse oximeter sees it near SpO2 98 %.
    assert 0.4 < truth["ratio_of_ratios"] < 0.6


def test_pulse_waveform_has_upstroke_and_dicrotic_notch():
    phase = np.arange(1000) / 1000
    volume = pulse_waveform(phase)
    assert volume.min() == pytest.approx(0.0, abs=1e-3)
    assert volume.max() == pytest.approx(1.0, abs=1e-3)
    rising = volume > np.roll(volume, 1)
    peaks = np.flatnonzero(rising & ~np.roll(rising, -1))
    troughs = np.flatnonzero(~rising & np.roll(rising, -1))
    assert len(peaks) == 2 and len(troughs) == 2  # systolic and diastolic waves
    systolic, diastolic = sorted(peaks, key=lambda i: -volume[i])
    notch = troughs[(troughs > systolic) & (troughs < diastolic)][0]
    assert volume[notch] < volume[diastolic] - 0.05
    slope = np.diff(volume)
    assert slope.max() > 1.5 * -slope.min()  # systolic upstroke steeper than any fall


def dominant_frequency_hz(signal: np.ndarray, rate_hz: float, band_hz=(0.5, 4.0)) -> float:
    spectrum = np.abs(np.fft.rfft((signal - signal.mean()) * np.hanning(len(signal))))
    frequencies = np.fft.rfftfreq(len(signal), 1.0 / rate_hz)
    in_band = (frequencies >= band_hz[0]) & (frequencies <= band_hz[1])
    return float(frequencies[in_band][np.argmax(spectrum[in_band])])


def exposure_current_ma(scene: Scene, wavelength_nm: float, exposure_s: float) -> float:
    """Drive current that fills the brightest pixel to 40 % of full well."""
    peak = scene.tissue.photon_rate(0.0, wavelength_nm, 1.0).max() * exposure_s
    electrons_per_ma = peak * scene.sensor.quantum_efficiency(wavelength_nm)
    return 0.4 * scene.sensor.config.full_well_e / electrons_per_ma


def test_ppg_dominant_frequency_is_the_pulse_rate():
    scene = Scene(seed=3, tissue=TissueConfig(pulse_rate_bpm=84.0))
    rate_hz, duration_s, exposure_s = 50.0, 30.0, 2e-3
    current = exposure_current_ma(scene, 940.0, exposure_s)
    times = np.arange(int(rate_hz * duration_s)) / rate_hz
    signal = np.array([scene.frame(t, 940.0, current, exposure_s).mean() for t in times])
    assert dominant_frequency_hz(signal, rate_hz) == pytest.approx(84.0 / 60.0, abs=1.0 / 30)


def test_ratio_of_ratios_from_frames_matches_truth(scene):
    rate_hz, duration_s, exposure_s = 40.0, 20.0, 2e-3
    times = np.arange(int(rate_hz * duration_s)) / rate_hz
    normalised = {}
    for wavelength in (660.0, 940.0):
        current = exposure_current_ma(scene, wavelength, exposure_s)
        dark = np.mean([scene.frame(t, wavelength, 0.0, exposure_s).mean() for t in times[:20]])
        signal = (
            np.array([scene.frame(t, wavelength, current, exposure_s).mean() for t in times]) - dark
        )
        spectrum = np.fft.rfft(signal - signal.mean())
        frequencies = np.fft.rfftfreq(len(signal), 1.0 / rate_hz)
        spectrum[(frequencies < 0.6) | (frequencies > 8.0)] = 0.0  # cardiac band only
        normalised[wavelength] = np.fft.irfft(spectrum, len(signal)).std() / signal.mean()
    measured = normalised[660.0] / normalised[940.0]
    assert measured == pytest.approx(scene.tissue.truth(0.0)["ratio_of_ratios"], rel=0.03)


def test_spo2_trajectory_drives_saturations_and_ratio_of_ratios():
    trajectory = ((0.0, 98.0), (60.0, 98.0), (120.0, 85.0), (180.0, 85.0), (240.0, 98.0))
    phantom = TissuePhantom(TissueConfig(spo2_trajectory=trajectory), np.random.default_rng(1))
    assert phantom.truth(90.0)["spo2_percent"] == pytest.approx(91.5)
    assert phantom.truth(150.0)["spo2_percent"] == pytest.approx(85.0)
    assert phantom.truth(400.0)["spo2_percent"] == pytest.approx(98.0)
    truth = phantom.truth(150.0)
    svo2 = 85.0 * (1 - 0.35)
    assert truth["sto2_percent"] == pytest.approx(0.25 * 85.0 + 0.75 * svo2)
    assert truth["ratio_of_ratios"] > phantom.truth(0.0)["ratio_of_ratios"] + 0.2
    # The red light rises while deoxyhaemoglobin falls back during recovery.
    recovery = phantom.photon_rates(np.array([180.0, 240.0]), 660.0, 1.0).sum(axis=(1, 2))
    assert recovery[1] > recovery[0]


def test_inclusion_lowers_the_signal_of_the_pixels_above_it():
    # The same seed gives both phantoms the same physiology; only the inclusion differs.
    with_inclusion = TissuePhantom(TissueConfig(), np.random.default_rng(0))
    homogeneous = TissuePhantom(TissueConfig(inclusion=None), np.random.default_rng(0))
    inclusion = with_inclusion.truth(0.0)["inclusion"]
    footprint = inclusion["footprint"]
    assert footprint.sum() > 100
    for wavelength in (660.0, 940.0):
        ratio = with_inclusion.photon_rate(2.5, wavelength, 1.0) / homogeneous.photon_rate(
            2.5, wavelength, 1.0
        )
        # (1e-4: the pulse volume is calibrated on each phantom's own array sum)
        np.testing.assert_allclose(ratio, inclusion["transmission"][wavelength], rtol=1e-4)
        assert ratio[footprint].mean() < 0.95
        # Pixels mirrored about the source axis see the same distances but no inclusion.
        mirrored = footprint[:, ::-1]
        assert ratio[mirrored].mean() > ratio[footprint].mean() + 0.03


def test_motion_bursts_change_intensity_only_inside_their_window():
    burst = MotionBurst(start_s=10.0, duration_s=4.0)
    moving = TissuePhantom(TissueConfig(motion_bursts=(burst,)), np.random.default_rng(2))
    still = TissuePhantom(TissueConfig(), np.random.default_rng(2))
    times = np.array([5.0, 11.0, 12.0, 13.0, 20.0])
    change = moving.photon_rates(times, 940.0, 1.0) / still.photon_rates(times, 940.0, 1.0)
    assert [moving.truth(t)["motion_active"] for t in times] == [False, True, True, True, False]
    np.testing.assert_allclose(change[[0, -1]], 1.0, rtol=1e-12)
    assert np.abs(change[1:-1] - 1.0).max() > 0.1


def test_a_scene_with_motion_renders_frames_inside_and_outside_a_burst():
    burst = MotionBurst(start_s=1.0, duration_s=2.0)
    moving = Scene(seed=4, tissue=TissueConfig(motion_bursts=(burst,)))
    still = Scene(seed=4)
    inside = [scene.frame(2.0, 940.0, 1.0, 2e-3).astype(float).mean() for scene in (moving, still)]
    outside = [scene.frame(5.0, 940.0, 1.0, 2e-3).astype(float).mean() for scene in (moving, still)]
    assert abs(inside[0] / inside[1] - 1.0) > 0.02
    assert abs(outside[0] / outside[1] - 1.0) < 0.005


# -- sensor ----------------------------------------------------------------------------------


def flat_field_pairs(
    sensor: SensorModel, photons: float, pairs: int, rng: np.random.Generator, exposure_s=1e-4
) -> tuple[np.ndarray, np.ndarray]:
    frames = sensor.expose(
        np.full((2 * pairs, 1, 1), photons), exposure_s, 25.0, rng, wavelength_nm=850.0
    ).astype(float)
    return frames[0::2], frames[1::2]


def test_photon_transfer_gives_system_gain_and_read_noise(sensor):
    rng = np.random.default_rng(21)
    live = live_mask(sensor)
    config = sensor.config
    qe = sensor.quantum_efficiency(850.0)

    dark_a, dark_b = flat_field_pairs(sensor, 0.0, 8, rng)
    dark_mean = 0.5 * (dark_a + dark_b)[:, live].mean()
    dark_variance = 0.5 * (dark_a - dark_b)[:, live].var(axis=1).mean()

    means, variances = [], []
    for fraction in np.linspace(0.05, 0.65, 9):
        a, b = flat_field_pairs(sensor, fraction * config.full_well_e / qe, 8, rng)
        means.append(0.5 * (a + b)[:, live].mean() - dark_mean)
        variances.append(0.5 * (a - b)[:, live].var(axis=1).mean() - dark_variance)
    slope = np.polyfit(means, variances, 1)[0]
    assert slope == pytest.approx(config.gain_dn_per_e, rel=0.02)

    read_noise_e = math.sqrt(dark_variance - 1.0 / 12.0) / slope
    assert read_noise_e == pytest.approx(config.read_noise_e, rel=0.05)


def test_dark_signal_doubles_every_doubling_temperature(sensor):
    rng = np.random.default_rng(22)
    live = live_mask(sensor)
    config = sensor.config
    cold = config.dark_reference_temperature_c
    warm = cold + config.doubling_temperature_c

    def dark_signal(temperature_c: float) -> float:
        offset = sensor.expose(np.zeros((8, 1, 1)), 0.0, temperature_c, rng, wavelength_nm=850.0)
        dark = sensor.expose(np.zeros((8, 1, 1)), 10.0, temperature_c, rng, wavelength_nm=850.0)
        return float(dark[:, live].mean() - offset[:, live].mean())

    cold_signal = dark_signal(cold)
    expected = config.dark_current_e_per_s * 10.0 * config.gain_dn_per_e
    assert cold_signal == pytest.approx(expected, rel=0.02)
    assert dark_signal(warm) / cold_signal == pytest.approx(2.0, rel=0.02)


def test_dsnu_and_prnu_spreads_match_truth_and_config(sensor):
    rng = np.random.default_rng(23)
    live = live_mask(sensor)
    config = sensor.config
    truth = sensor.truth()
    frames = 64

    dark = sensor.expose(np.zeros((frames, 1, 1)), 0.0, 25.0, rng, wavelength_nm=850.0)
    dark_mean = dark.mean(axis=0)
    dsnu_e = dark_mean[live].std() / config.gain_dn_per_e
    assert dsnu_e == pytest.approx(truth["dsnu_offset_e"][live].std(), rel=0.03)
    assert dsnu_e == pytest.approx(config.dsnu_e, rel=0.1)

    photons = 0.5 * config.full_well_e / sensor.quantum_efficiency(850.0)
    light = sensor.expose(
        np.full((frames, 1, 1), photons), 1e-4, 25.0, rng, wavelength_nm=850.0
    ).astype(float)
    signal = light.mean(axis=0) - dark_mean
    temporal_variance = light[:, live].var(axis=0, ddof=1).mean() / frames
    spatial_variance = signal[live].var() - temporal_variance
    prnu = math.sqrt(spatial_variance) / signal[live].mean()
    assert prnu == pytest.approx(truth["prnu_gain"][live].std(), rel=0.05)
    assert prnu == pytest.approx(config.prnu_fraction, rel=0.1)


def test_hot_and_dead_pixels_are_where_truth_says(sensor):
    rng = np.random.default_rng(24)
    truth = sensor.truth()
    assert len(truth["hot_pixels"]) == 4 and len(truth["dead_pixels"]) == 2

    dark = sensor.expose(np.zeros(SHAPE), 1.0, 25.0, rng, wavelength_nm=850.0).astype(float)
    hot = np.argwhere(dark > np.median(dark) + 100.0)
    np.testing.assert_array_equal(hot, truth["hot_pixels"])

    photons = 0.3 * sensor.config.full_well_e / sensor.quantum_efficiency(850.0)
    light = sensor.expose(np.full(SHAPE, photons), 1e-4, 25.0, rng, wavelength_nm=850.0)
    dead = np.argwhere(light < 0.2 * np.median(light))
    np.testing.assert_array_equal(dead, truth["dead_pixels"])


def test_response_is_linear_below_70_percent_of_full_well_and_compresses_above(sensor):
    rng = np.random.default_rng(25)
    live = live_mask(sensor)
    config = sensor.config
    qe = sensor.quantum_efficiency(850.0)
    offset = sensor.expose(np.zeros((16, 1, 1)), 1e-4, 25.0, rng, wavelength_nm=850.0)
    black = offset[:, live].mean()
    gain_map = sensor.truth()["prnu_gain"][live]

    fractions = np.array([0.1, 0.3, 0.5, 0.7, 0.85, 0.95, 1.1, 1.5])
    measured, ideal = [], []
    for fraction in fractions:
        photons = fraction * config.full_well_e / qe
        frames = sensor.expose(np.full((16, 1, 1), photons), 1e-4, 25.0, rng, wavelength_nm=850.0)
        measured.append(frames[:, live].mean() - black)
        ideal.append(config.gain_dn_per_e * qe * photons * gain_map.mean())
    deviation = np.array(measured) / np.array(ideal) - 1.0
    assert np.all(np.abs(deviation[fractions <= 0.7]) < 0.01)
    assert np.all(deviation[fractions >= 1.1] < -0.05)
    assert np.all(np.diff(measured) > 0.0)
    assert max(measured) < config.full_well_e * config.gain_dn_per_e * 1.03


def test_binning_sums_charge_and_analog_gain_scales_the_system_gain(sensor):
    rng = np.random.default_rng(26)
    photons = np.full(SHAPE, 0.1 * sensor.config.full_well_e / sensor.quantum_efficiency(850.0))
    black = sensor.config.black_level_dn
    single = sensor.expose(photons, 1e-4, 25.0, rng, wavelength_nm=850.0).astype(float)
    binned = sensor.expose(photons, 1e-4, 25.0, rng, wavelength_nm=850.0, binning=2)
    assert binned.shape == (32, 32)
    assert binned.mean() - black == pytest.approx(4.0 * (single.mean() - black), rel=0.01)
    saturated = sensor.expose(photons * 100, 1e-4, 25.0, rng, wavelength_nm=850.0, binning=2)
    assert saturated.max() == 2**sensor.config.bit_depth - 1
    doubled = sensor.expose(photons, 1e-4, 25.0, rng, wavelength_nm=850.0, analog_gain=2.0)
    assert doubled.mean() - black == pytest.approx(2.0 * (single.mean() - black), rel=0.01)
    with pytest.raises(ValueError, match="divisible"):
        sensor.expose(photons, 1e-4, 25.0, rng, wavelength_nm=850.0, roi=(0, 0, 5, 4), binning=2)


def test_exact_shot_noise_is_poisson():
    config = SensorConfig(
        exact_shot_noise=True, gain_dn_per_e=1.0, read_noise_e=0.0, dsnu_e=0.0, prnu_fraction=0.0
    )
    exact = SensorModel(config, SHAPE, np.random.default_rng(5))
    photons = 20.0 / exact.quantum_efficiency(850.0)
    frames = exact.expose(
        np.full((8, 1, 1), photons), 0.0, 25.0, np.random.default_rng(6), wavelength_nm=850.0
    ).astype(float)
    electrons = frames[:, live_mask(exact)] - config.black_level_dn
    assert np.all(electrons == np.round(electrons))
    assert electrons.mean() == pytest.approx(20.0, rel=0.01)
    assert electrons.var() == pytest.approx(20.0, rel=0.05)


def test_board_warms_from_ambient_toward_a_duty_dependent_steady_state():
    config = BoardThermalConfig()
    board = BoardThermalModel(config, np.random.default_rng(0))
    assert board.temperature_c(0.0) == pytest.approx(config.ambient_c, abs=0.1)
    late = board.temperature_c(10 * config.time_constant_s)
    assert late == pytest.approx(board.steady_state_c, abs=0.1)
    one_tau = board.temperature_c(config.time_constant_s)
    rise = board.steady_state_c - config.ambient_c
    assert one_tau - config.ambient_c == pytest.approx(rise * (1 - math.exp(-1)), abs=0.1)
    busy = BoardThermalModel(BoardThermalConfig(led_duty=1.0), np.random.default_rng(0))
    assert busy.steady_state_c > board.steady_state_c


# -- scene -----------------------------------------------------------------------------------


def test_same_seed_gives_bit_identical_frames_and_truth():
    def run(seed: int) -> list[np.ndarray]:
        scene = Scene(seed=seed)
        return [scene.frame(0.01 * i, 940.0, 0.2, 1e-3) for i in range(5)]

    first, again, other = run(5), run(5), run(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not any(np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    np.testing.assert_array_equal(
        Scene(seed=5).truth(1.0)["sensor"]["hot_pixels"],
        Scene(seed=5).truth(1.0)["sensor"]["hot_pixels"],
    )


def test_frame_shapes_and_dtypes(scene):
    full = scene.frame(0.0, 660.0, 0.5, 1e-3)
    assert full.dtype == np.uint16 and full.shape == SHAPE
    assert full.max() <= 2**scene.sensor.config.bit_depth - 1
    assert scene.frame(0.0, 660.0, 0.5, 1e-3, roi=(10, 20, 16, 8)).shape == (16, 8)
    assert scene.frame(0.0, 660.0, 0.5, 1e-3, roi=(10, 20, 16, 8), binning=2).shape == (8, 4)
    rates = scene.tissue.photon_rates(np.linspace(0.0, 1.0, 5), 940.0, 1.0)
    assert rates.dtype == np.float64 and rates.shape == (5, *SHAPE)
    np.testing.assert_allclose(rates[2], scene.tissue.photon_rate(0.5, 940.0, 1.0), rtol=1e-12)
    batch = scene.sensor.expose(
        np.ones((3, *SHAPE)), 1e-3, 25.0, np.random.default_rng(0), wavelength_nm=940.0
    )
    assert batch.dtype == np.uint16 and batch.shape == (3, *SHAPE)
    assert isinstance(scene.board_temperature_c(1.0), float)
    assert scene.sensor_shape == SHAPE and scene.bit_depth == 12
    assert scene.wavelengths_nm == (660, 730, 760, 805, 850, 940)
    with pytest.raises(ValueError, match="exceeds"):
        scene.frame(0.0, 660.0, 0.5, 1e-3, roi=(60, 0, 8, 8))
