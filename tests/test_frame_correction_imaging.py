"""Frame correction in imaging/ with coefficients calibrated on a simulated photon-transfer run."""

import numpy as np
import pytest

from calibration.frame_correction import coefficients_from_photon_transfer
from calibration.photon_transfer import photon_transfer_from_mappings
from drivers.sim.photon_transfer import simulate_photon_transfer
from drivers.sim.scene import Scene
from drivers.sim.sensor import SensorConfig
from drivers.sim.tissue import TissueConfig
from imaging.frame_correction import correct_frames, dark_frame_dn

SEED = 5
SIZE = 32
SENSOR = SensorConfig(exact_shot_noise=True, hot_pixel_fraction=5e-3, dead_pixel_fraction=5e-3)
WAVELENGTH_NM = 850.0
EXPOSURE_S = 0.02
TEMPERATURE_C = 40.0


@pytest.fixture(scope="module")
def calibrated():
    """(correct_frames keywords, coefficients, sensor model, sensor truth, normal-pixel mask)."""
    datasets, attrs, _ = simulate_photon_transfer(
        SEED, height=SIZE, width=SIZE, steps=30, spatial_frames=64, sensor=SENSOR
    )
    data = photon_transfer_from_mappings(datasets, attrs)
    coefficients = coefficients_from_photon_transfer(data)
    sensor = Scene(SEED, tissue=TissueConfig(rows=SIZE, cols=SIZE), sensor=SENSOR).sensor
    truth = sensor.truth()
    normal = np.ones(sensor.shape, dtype=bool)
    normal[tuple(truth["hot_pixels"].T)] = False
    normal[tuple(truth["dead_pixels"].T)] = False
    keywords = coefficients.imaging_arguments()
    return keywords, coefficients, sensor, truth, normal


def _expose(sensor, electrons_fraction, frames, *, exposure_s=EXPOSURE_S, temperature_c=None):
    """`frames` flat-field frames collecting `electrons_fraction` of the full well (0: dark)."""
    photons = electrons_fraction * SENSOR.full_well_e / sensor.quantum_efficiency(WAVELENGTH_NM)
    return sensor.expose(
        np.full((frames, 1, 1), photons),
        exposure_s,
        TEMPERATURE_C if temperature_c is None else temperature_c,
        np.random.default_rng([SEED, frames, round(1000 * electrons_fraction)]),
        wavelength_nm=WAVELENGTH_NM,
    )


def test_corrected_dark_frames_average_zero(calibrated):
    keywords, _, sensor, truth, _ = calibrated
    frames = 64
    result = correct_frames(_expose(sensor, 0.0, frames), EXPOSURE_S, TEMPERATURE_C, **keywords)
    mean_image = result.signal_dn.mean(axis=0)
    tolerance_dn = truth["read_noise_e"] * truth["gain_dn_per_e"] / np.sqrt(frames)  # 0.1 DN
    assert abs(mean_image.mean()) < tolerance_dn
    assert np.sqrt(np.mean(mean_image**2)) < 3.0 * tolerance_dn
    assert not result.saturated.any()


def test_flat_field_prnu_drops_far_below_truth(calibrated):
    keywords, coefficients, sensor, truth, normal = calibrated
    frames = _expose(sensor, 0.4, 200)
    corrected = correct_frames(frames, EXPOSURE_S, TEMPERATURE_C, **keywords).signal_dn.mean(0)
    raw = frames.mean(axis=0) - coefficients.black_level_dn
    gain = truth["prnu_gain"][normal]
    prnu_truth = gain.std(ddof=1) / gain.mean()
    prnu_raw = raw[normal].std(ddof=1) / raw[normal].mean()
    prnu_corrected = corrected[normal].std(ddof=1) / corrected[normal].mean()
    assert prnu_raw == pytest.approx(prnu_truth, rel=0.1)  # ≈ 1 %
    assert prnu_corrected < prnu_truth / 5.0  # ≈ 0.1 %


def test_hot_and_dead_pixels_no_longer_stand_out(calibrated):
    keywords, coefficients, sensor, _, normal = calibrated
    defects = ~normal
    assert np.array_equal(coefficients.bad_pixel_mask, defects)
    frames = _expose(sensor, 0.4, 32)
    raw = frames.mean(axis=0) - coefficients.black_level_dn
    corrected = correct_frames(frames, EXPOSURE_S, TEMPERATURE_C, **keywords).signal_dn.mean(0)

    def z_scores(image):
        return (image[defects] - np.median(image[normal])) / image[normal].std(ddof=1)

    assert np.abs(z_scores(raw)).max() > 10.0
    assert np.abs(z_scores(corrected)).max() < 3.0

    dark = _expose(sensor, 0.0, 32, exposure_s=0.1, temperature_c=50.0)
    raw_dark = dark.mean(axis=0) - coefficients.black_level_dn
    corrected_dark = correct_frames(dark, 0.1, 50.0, **keywords).signal_dn.mean(0)
    assert np.abs(z_scores(raw_dark)).max() > 10.0
    assert np.abs(z_scores(corrected_dark)).max() < 3.0


@pytest.mark.parametrize(("temperature_c", "exposure_s"), [(52.0, 0.05), (30.0, 0.2)])
def test_dark_frame_predicted_at_another_temperature(calibrated, temperature_c, exposure_s):
    _, coefficients, sensor, truth, normal = calibrated
    measured = _expose(sensor, 0.0, 64, exposure_s=exposure_s, temperature_c=temperature_c)
    measured = measured.mean(axis=0)
    predicted = dark_frame_dn(
        exposure_s,
        temperature_c,
        black_level_dn=coefficients.black_level_dn,
        dark_current_dn_per_s=coefficients.dark_current_dn_per_s,
        reference_temperature_c=coefficients.reference_temperature_c,
        doubling_temperature_c=coefficients.doubling_temperature_c,
    )
    dark_signal = measured - coefficients.black_level_dn
    error = measured - predicted
    assert abs(error[normal].mean()) < 0.02 * dark_signal[normal].mean()
    hot = tuple(truth["hot_pixels"].T)
    linear = dark_signal[hot] < 0.5 * coefficients.valid_max_dn
    assert linear.any()
    np.testing.assert_allclose(predicted[hot][linear], measured[hot][linear], rtol=0.05)


def test_saturated_pixels_are_flagged(calibrated):
    keywords, _, sensor, _, normal = calibrated
    below = correct_frames(_expose(sensor, 0.6, 4), EXPOSURE_S, TEMPERATURE_C, **keywords)
    above = correct_frames(_expose(sensor, 1.3, 4), EXPOSURE_S, TEMPERATURE_C, **keywords)
    assert not below.saturated.any()
    assert np.array_equal(above.saturated, np.broadcast_to(normal, above.saturated.shape))


def test_polynomial_flat_gain_and_neighbour_mean_conventions():
    frame = np.full((3, 4), 110, dtype=np.uint16)
    frame[1, 1] = 4000
    bad = np.zeros((3, 4), dtype=bool)
    bad[1, 1] = True
    flat_gain = np.full((3, 4), 2.0)
    flat_gain[0, 0] = 4.0
    result = correct_frames(
        frame,
        0.5,
        30.0,
        black_level_dn=np.full((3, 4), 6.0),
        dark_current_dn_per_s=np.full((3, 4), 4.0),
        reference_temperature_c=20.0,
        doubling_temperature_c=10.0,
        flat_gain=flat_gain,
        linearity_coefficients=[0.0, 2.0, 0.001],
        valid_max_dn=1000.0,
        bad_pixel_mask=bad,
        saturation_dn=4095,
    )
    # dark = 6 + 4 · 0.5 · 2 = 10 DN; signal 100 DN; linear = 2·100 + 0.001·100² = 210 DN.
    expected = np.full((3, 4), 105.0)
    expected[0, 0] = 52.5
    expected[1, 1] = (7 * 105.0 + 52.5) / 8
    np.testing.assert_allclose(result.signal_dn, expected)
    assert not result.saturated.any()


def test_frames_in_one_call_equal_single_frame_calls(calibrated):
    keywords, _, sensor, _, _ = calibrated
    frames = _expose(sensor, 0.3, 5)
    temperatures = np.array([38.0, 39.0, 40.0, 41.0, 42.0])
    batch = correct_frames(frames, EXPOSURE_S, temperatures, **keywords)
    singles = [
        correct_frames(frame, EXPOSURE_S, temperature, **keywords)
        for frame, temperature in zip(frames, temperatures, strict=True)
    ]
    # The batch path vectorises over frames, so its floating-point operations may be ordered
    # differently (SIMD lanes) from a single frame's: equal to 1e-12 relative (2e-13 seen).
    np.testing.assert_allclose(
        batch.signal_dn, [single.signal_dn for single in singles], rtol=1e-12, atol=1e-9
    )
    np.testing.assert_array_equal(batch.saturated, [single.saturated for single in singles])


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"flat_gain": np.ones((SIZE, SIZE + 1))}, "flat_gain"),
        ({"black_level_dn": np.zeros((SIZE - 1, SIZE))}, "black_level_dn"),
        ({"dark_current_dn_per_s": np.zeros(SIZE)}, "dark_current_dn_per_s"),
        ({"bad_pixel_mask": np.zeros((SIZE, 2 * SIZE), dtype=bool)}, "bad_pixel_mask"),
        ({"bad_pixel_mask": np.zeros((SIZE, SIZE))}, "bad_pixel_mask"),
        ({"linearity_coefficients": np.zeros((2, 3))}, "linearity_coefficients"),
    ],
)
def test_mismatched_maps_raise_naming_the_array(calibrated, change, name):
    keywords, _, _, _, _ = calibrated
    frames = np.zeros((2, SIZE, SIZE), dtype=np.uint16)
    with pytest.raises(ValueError, match=name):
        correct_frames(frames, EXPOSURE_S, TEMPERATURE_C, **(keywords | change))


def test_wrong_frames_or_temperatures_raise_naming_the_array(calibrated):
    keywords, _, _, _, _ = calibrated
    stack = np.zeros((3, SIZE, SIZE), dtype=np.uint16)
    with pytest.raises(ValueError, match="temperature_c"):
        correct_frames(stack, EXPOSURE_S, [40.0, 41.0], **keywords)
    with pytest.raises(ValueError, match="temperature_c"):
        correct_frames(stack[0], EXPOSURE_S, [40.0], **keywords)
    with pytest.raises(ValueError, match="frames"):
        correct_frames(np.zeros(SIZE, dtype=np.uint16), EXPOSURE_S, 40.0, **keywords)
    with pytest.raises(ValueError, match="frames are"):
        correct_frames(np.zeros((3, SIZE, SIZE + 2)), EXPOSURE_S, 40.0, **keywords)
    with pytest.raises(ValueError, match="dark_current_dn_per_s"):
        dark_frame_dn(
            EXPOSURE_S,
            40.0,
            black_level_dn=np.zeros((SIZE, SIZE)),
            dark_current_dn_per_s=np.zeros((SIZE, SIZE - 1)),
            reference_temperature_c=25.0,
            doubling_temperature_c=6.5,
        )
