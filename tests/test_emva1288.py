"""EMVA 1288 figures of a simulated photon-transfer dataset against the sensor's truth."""

import h5py
import numpy as np
import pytest

from calibration.emva1288 import characterize, fit_line, temporal_mean_and_variance
from calibration.photon_transfer import read_photon_transfer, write_photon_transfer
from drivers.sim.photon_transfer import save_photon_transfer_h5, simulate_photon_transfer

SEED = 7
SIZE = 64  # 4096 pixels: the pair-difference variances scatter by √(2/4096) ≈ 2.2 % per step

# figure: relative tolerance. Scatter over 20 seeds at 64×64 (one standard deviation) was about
# 0.6 % for K, η and the dark current, 1.1 % for the dark noise, 0.6 % for DSNU, 0.3 % for PRNU
# and 0.4 % for the doubling temperature.
TOLERANCES = {
    "system_gain_dn_per_e": 0.02,
    "quantum_efficiency_percent": 0.02,
    "dark_current_e_per_s": 0.02,
    "dsnu_e": 0.02,
    "prnu_percent": 0.02,
    "doubling_temperature_c": 0.02,
    # σ_d comes from the zero-exposure intercept of the dark variance (1.1 % scatter).
    "dark_noise_e": 0.03,
    # The standard takes the single step of maximum variance; the variance curve is flat at
    # its top, so the arg-max jitters by ±2 steps (2.6 % of the full well each): 2 % scatter.
    "saturation_capacity_e": 0.05,
}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    datasets, attrs, truth = simulate_photon_transfer(SEED, height=SIZE, width=SIZE)
    path = tmp_path_factory.mktemp("emva") / "photon_transfer.h5"
    save_photon_transfer_h5(path, datasets, attrs)
    return path, truth


@pytest.fixture(scope="module")
def result(simulated):
    path, _ = simulated
    return characterize(read_photon_transfer(path)).to_json_dict()


@pytest.mark.parametrize("figure", sorted(TOLERANCES))
def test_figure_matches_truth(result, simulated, figure):
    truth = simulated[1][figure]
    measured = result[figure]
    assert measured["value"] == pytest.approx(truth, rel=TOLERANCES[figure])
    assert abs(measured["value"] - truth) < 3.0 * measured["uncertainty"]


def test_dark_current_from_variance_is_consistent(result, simulated):
    # The slope of the dark variance rests on ~40 e⁻ of dark charge against 8 e⁻ read noise
    # and the single-pair variance of one hot pixel, so it scatters by ~7 % at 64×64.
    truth = simulated[1]["dark_current_e_per_s"]
    assert result["dark_current_from_variance_e_per_s"]["value"] == pytest.approx(truth, rel=0.25)


def test_defect_pixel_maps_equal_truth(result, simulated):
    truth = simulated[1]
    assert result["hot_pixels"] == truth["hot_pixels"]
    assert result["dead_pixels"] == truth["dead_pixels"]
    assert truth["hot_pixels"] and truth["dead_pixels"]


def test_linear_sensor_has_small_linearity_error(result):
    # The simulated response is linear up to 80 % of the full well, above the 95 % limit.
    assert -0.5 < result["linearity_error_min_percent"] <= 0.0
    assert 0.0 <= result["linearity_error_max_percent"] < 0.5


def test_derived_figures_follow_their_definitions(result):
    eta = result["quantum_efficiency_percent"]["value"] / 100.0
    gain = result["system_gain_dn_per_e"]["value"]
    saturation_e = result["saturation_capacity_e"]["value"]
    threshold = result["absolute_sensitivity_threshold_photons"]["value"]
    assert result["responsivity_dn_per_photon"]["value"] == pytest.approx(eta * gain)
    assert result["snr_max_db"]["value"] == pytest.approx(10.0 * np.log10(saturation_e))
    dynamic_range = saturation_e / eta / threshold
    assert result["dynamic_range_db"]["value"] == pytest.approx(20.0 * np.log10(dynamic_range))
    read_noise_dn = result["dark_noise_e"]["value"] * gain
    assert result["dark_noise_without_quantisation_dn"]["value"] == pytest.approx(read_noise_dn)
    # σ_y.dark (EMVA 1288) includes the quantisation noise of a 1 DN step, variance 1/12 DN².
    assert result["dark_noise_dn"]["value"] == pytest.approx(np.hypot(read_noise_dn, 12**-0.5))


def test_json_has_the_agreed_keys(result):
    expected = {
        "system_gain_dn_per_e",
        "quantum_efficiency_percent",
        "responsivity_dn_per_photon",
        "dark_noise_e",
        "dark_noise_dn",
        "dark_noise_without_quantisation_dn",
        "dark_current_e_per_s",
        "saturation_capacity_e",
        "absolute_sensitivity_threshold_photons",
        "snr_max_db",
        "dynamic_range_db",
        "linearity_error_min_percent",
        "linearity_error_max_percent",
        "dsnu_e",
        "prnu_percent",
        "hot_pixels",
        "dead_pixels",
        "doubling_temperature_c",
    }
    assert expected <= result.keys()


def test_without_dark_current_series_there_is_no_doubling_temperature(tmp_path):
    datasets, attrs, _ = simulate_photon_transfer(1, steps=20, dark_current_temperatures_c=())
    path = tmp_path / "no_dark_series.h5"
    save_photon_transfer_h5(path, datasets, attrs)
    assert "doubling_temperature_c" not in characterize(read_photon_transfer(path)).to_json_dict()


def test_write_then_read_round_trips(simulated, tmp_path):
    data = read_photon_transfer(simulated[0])
    copy_path = tmp_path / "copy.h5"
    write_photon_transfer(copy_path, data)
    copy = read_photon_transfer(copy_path)
    np.testing.assert_array_equal(copy.temporal_bright, data.temporal_bright)
    np.testing.assert_array_equal(copy.dark_current_frames, data.dark_current_frames)
    assert copy.spatial_photons_per_pixel == data.spatial_photons_per_pixel
    assert copy.bit_depth == data.bit_depth


def _damaged_copy(source, target, damage):
    with h5py.File(source, "r") as original, h5py.File(target, "w") as copy:
        for name in original:
            original.copy(original[name], copy, name)
        copy.attrs.update(original.attrs)
        damage(copy)
    return target


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda f: f.__delitem__("/temporal/dark"), "dataset /temporal/dark is missing"),
        (
            lambda f: f["/spatial"].attrs.__delitem__("exposure_s"),
            "/spatial attribute 'exposure_s'",
        ),
        (lambda f: f.attrs.__delitem__("bit_depth"), "root attribute 'bit_depth'"),
        (lambda f: f.__delitem__("/dark_current/frames"), "dataset /dark_current/frames"),
    ],
)
def test_missing_item_is_named(simulated, tmp_path, damage, named):
    path = _damaged_copy(simulated[0], tmp_path / "damaged.h5", damage)
    with pytest.raises(ValueError, match=named) as error:
        read_photon_transfer(path)
    assert str(path) in str(error.value)


def _replace(location, values):
    def damage(file):
        del file[location]
        file[location] = values

    return damage


@pytest.mark.parametrize(
    ("location", "values", "named"),
    [
        (
            "/temporal/bright",
            np.zeros((50, 3, SIZE, SIZE), np.uint16),
            "/temporal/bright has shape",
        ),
        ("/temporal/exposure_s", np.zeros(49), "/temporal/exposure_s has shape"),
        ("/spatial/dark", np.zeros((8, SIZE, SIZE - 1), np.uint16), "/spatial/dark has shape"),
        (
            "/spatial/bright",
            np.zeros((8, SIZE, SIZE), np.float32),
            "/spatial/bright must be uint16",
        ),
    ],
)
def test_malformed_dataset_is_named(simulated, tmp_path, location, values, named):
    path = _damaged_copy(simulated[0], tmp_path / "malformed.h5", _replace(location, values))
    with pytest.raises(ValueError, match=named) as error:
        read_photon_transfer(path)
    assert str(path) in str(error.value)


def test_temporal_variance_removes_fixed_pattern():
    rng = np.random.default_rng(0)
    pattern = 100.0 * rng.standard_normal((16, 16))
    frames = (1000.0 + pattern + 3.0 * rng.standard_normal((4, 2, 16, 16))).round()
    mean, variance = temporal_mean_and_variance(frames.astype(np.uint16))
    assert mean == pytest.approx(frames.mean(axis=(1, 2, 3)))
    assert variance == pytest.approx(np.full(4, 9.0 + 1.0 / 12.0), rel=0.3)


def test_line_fit_recovers_slope_and_intercept():
    x = np.linspace(0.0, 10.0, 11)
    fit = fit_line(x, 2.0 * x + 1.0)
    assert (fit.slope, fit.intercept) == pytest.approx((2.0, 1.0))
    assert fit.slope_uncertainty == pytest.approx(0.0, abs=1e-9)
