"""SpO2 curve, LED power, lock-in verification and frame-correction coefficients."""

import math

import numpy as np
import pytest

from calibration.frame_correction import (
    FrameCorrectionCoefficients,
    coefficients_from_photon_transfer,
    expected_dark_dn,
)
from calibration.led_power import LedSweep, ReferenceDetector, calibrate_led_power
from calibration.lockin_verification import LockinCheckPoint, ReferenceSource, verify_lockin
from calibration.photon_transfer import photon_transfer_from_mappings
from calibration.spo2_curve import fit_spo2_curve
from drivers.sim.photon_transfer import simulate_photon_transfer
from drivers.sim.scene import Scene
from drivers.sim.sensor import SensorConfig
from drivers.sim.tissue import TissueConfig

TRUE_SPO2_COEFFICIENTS = np.array([110.0, -25.0])  # SpO2 = 110 − 25 R, %


def _desaturation_study(rng, subjects=12, points_per_subject=20, noise_percent=1.5):
    sao2 = rng.uniform(70.0, 100.0, subjects * points_per_subject)
    ratio = (TRUE_SPO2_COEFFICIENTS[0] - sao2) / -TRUE_SPO2_COEFFICIENTS[1]
    ratio += rng.normal(0.0, noise_percent / 25.0, ratio.size)
    subject_ids = np.repeat([f"S{i:02d}" for i in range(subjects)], points_per_subject)
    return ratio, sao2, subject_ids


def test_spo2_curve_recovers_coefficients_and_iso_statistics():
    rng = np.random.default_rng(11)
    ratio, sao2, subject_ids = _desaturation_study(rng, noise_percent=0.5)
    curve = fit_spo2_curve(ratio, sao2, subject_ids, degree=1, study_id="DS-001")

    errors = np.sqrt(np.diag(curve.covariance))
    assert np.all(np.abs(curve.coefficients - TRUE_SPO2_COEFFICIENTS) < 4 * errors)
    differences = np.polyval(curve.coefficients[::-1], ratio) - sao2
    assert curve.arms_percent == pytest.approx(np.sqrt(np.mean(differences**2)))
    assert curve.bias_percent == pytest.approx(np.mean(differences), abs=1e-9)
    assert curve.precision_percent == pytest.approx(np.std(differences, ddof=1))
    assert (curve.points, curve.subjects) == (240, 12)
    assert curve.sao2_range_percent == (sao2.min(), sao2.max())
    assert curve.study_id == "DS-001" and curve.warnings == ()
    np.testing.assert_allclose(curve.evaluate(ratio[:5]), differences[:5] + sao2[:5])

    names = [result.name for result in curve.results()]
    assert names[-3:] == ["SpO2 accuracy Arms", "SpO2 bias", "SpO2 precision"]
    bias = curve.results()[-2]
    assert bias.standard_uncertainty == pytest.approx(curve.precision_percent / math.sqrt(240))


def test_spo2_quadratic_curve_recovers_known_polynomial():
    rng = np.random.default_rng(5)
    ratio = rng.uniform(0.4, 2.0, 300)
    truth = np.array([112.0, -20.0, -5.0])
    sao2 = np.polynomial.polynomial.polyval(ratio, truth) + rng.normal(0.0, 0.3, ratio.size)
    curve = fit_spo2_curve(ratio, sao2, np.arange(300) % 15, degree=2, study_id="DS-002")
    errors = np.sqrt(np.diag(curve.covariance))
    assert np.all(np.abs(curve.coefficients - truth) < 4 * errors)


def test_spo2_small_study_flags_warnings_and_reports_out_of_range_points():
    rng = np.random.default_rng(3)
    ratio, sao2, subject_ids = _desaturation_study(rng, subjects=4, points_per_subject=10)
    sao2[:3] = [65.0, 66.0, 68.0]
    curve = fit_spo2_curve(ratio, sao2, subject_ids, degree=1, study_id="DS-003")
    assert curve.points == 37 and curve.points_outside_range == 3
    assert any("fewer than 200" in warning for warning in curve.warnings)
    assert any("fewer than 10" in warning for warning in curve.warnings)
    assert any("outside 70-100 %" in warning for warning in curve.warnings)
    assert curve.sao2_range_percent[0] == 65.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ratio": [1.0, np.nan, 0.5, 0.7]}, "non-finite"),
        ({"degree": 3}, "degree"),
        ({"sao2_percent": [90.0, 95.0]}, "equal length"),
    ],
)
def test_spo2_curve_rejects_bad_input(change, message):
    arguments = {
        "ratio": [1.0, 0.8, 0.5, 0.7],
        "sao2_percent": [85.0, 90.0, 98.0, 93.0],
        "subject_ids": ["a", "a", "b", "b"],
        "degree": 1,
        "study_id": "x",
    } | change
    with pytest.raises(ValueError, match=message):
        fit_spo2_curve(**arguments)


DETECTOR = ReferenceDetector("PM-0042", "CERT-2024-117", relative_expanded_uncertainty=0.03)


def _led_sweep(rng, wavelength_nm, c1, c2, relative_noise=0.002, repeats=5):
    current = np.linspace(5.0, 100.0, 12)
    power = c1 * current + c2 * current**2
    readings = power[:, None] * (1.0 + relative_noise * rng.standard_normal((12, repeats)))
    return LedSweep(wavelength_nm, current, readings), power


def test_led_power_fit_recovers_known_curve():
    rng = np.random.default_rng(8)
    sweep_660, _ = _led_sweep(rng, 660.0, 2.0e-4, -4.0e-7)
    sweep_940, power_940 = _led_sweep(rng, 940.0, 3.0e-4, -8.0e-7)
    calibration = calibrate_led_power([sweep_660, sweep_940], DETECTOR)

    assert calibration.reference_detector_id == "PM-0042"
    np.testing.assert_allclose(calibration.curves[940.0].coefficients[1:], [3e-4, -8e-7], rtol=0.02)
    np.testing.assert_allclose(
        calibration.power_w(940.0, sweep_940.current_ma), power_940, rtol=2e-3
    )
    curve = calibration.curves[660.0]
    np.testing.assert_allclose(
        curve.residuals_w,
        curve.mean_power_w - calibration.power_w(660.0, curve.current_ma),
        atol=1e-15,
    )
    with pytest.raises(ValueError, match="no LED calibrated at 850 nm"):
        calibration.power_w(850.0, 10.0)
    with pytest.raises(ValueError, match="outside the calibrated"):
        calibration.power_w(660.0, 150.0)


def test_led_power_budget_combines_certificate_and_repeatability():
    rng = np.random.default_rng(9)
    sweep, _ = _led_sweep(rng, 850.0, 2.5e-4, -5.0e-7, relative_noise=0.01)
    result = calibrate_led_power([sweep], DETECTOR).results()[3]

    readings = sweep.power_w[3]
    mean = readings.mean()
    repeatability = readings.std(ddof=1) / math.sqrt(readings.size)
    certificate = 0.03 * mean / 2.0
    assert result.value == pytest.approx(mean)
    assert result.standard_uncertainty == pytest.approx(math.hypot(repeatability, certificate))
    assert result.expanded_uncertainty == pytest.approx(2.0 * result.standard_uncertainty)
    assert [c.evaluation for c in result.budget.components] == ["A", "B"]
    assert "PM-0042" in result.budget.components[1].name


SOURCE = ReferenceSource("SRC-7", "CERT-7", 0.001, phase_expanded_uncertainty_deg=0.05)


def _check_point(rng, sensitivity_v, amplitude_gain=1.0, phase_offset_deg=0.0):
    reference_v = 0.5 * sensitivity_v
    return LockinCheckPoint(
        sensitivity_v=sensitivity_v,
        frequency_hz=1000.0,
        reference_amplitude_v=reference_v,
        reference_phase_deg=179.9,
        amplitude_v=reference_v * amplitude_gain * (1.0 + 1e-4 * rng.standard_normal(6)),
        phase_deg=(179.9 + phase_offset_deg + 0.01 * rng.standard_normal(6) + 180.0) % 360.0
        - 180.0,
    )


def test_lockin_verification_passes_within_tolerance_and_fails_out_of_tolerance_point():
    rng = np.random.default_rng(4)
    points = [
        _check_point(rng, 1e-3, amplitude_gain=1.002, phase_offset_deg=0.2),
        _check_point(rng, 1e-2),
        _check_point(rng, 1e-1, amplitude_gain=1.015),
    ]
    verification = verify_lockin(
        points, SOURCE, gain_tolerance_percent=1.0, phase_tolerance_deg=1.0
    )

    table = verification.table()
    assert [row["passed"] for row in table] == [True, True, False]
    assert table[2]["gain_passed"] is False and table[2]["phase_passed"] is True
    assert not verification.passed
    assert table[0]["gain_error_percent"] == pytest.approx(0.2, abs=0.02)
    assert table[0]["phase_error_deg"] == pytest.approx(0.2, abs=0.02)  # wrapped across ±180°
    assert len(verification.results()) == 6

    gain = verification.verdicts[1].gain_error
    readings = points[1].amplitude_v
    u_repeat = 100.0 / points[1].reference_amplitude_v * readings.std(ddof=1) / math.sqrt(6)
    u_source = 100.0 * readings.mean() / points[1].reference_amplitude_v * 0.001 / 2.0
    assert gain.standard_uncertainty == pytest.approx(math.hypot(u_repeat, u_source))

    within = verify_lockin(points[:2], SOURCE, gain_tolerance_percent=1.0, phase_tolerance_deg=1.0)
    assert within.passed


SENSOR = SensorConfig(exact_shot_noise=True, hot_pixel_fraction=5e-3, dead_pixel_fraction=5e-3)
PTC_SEED = 3
PTC_SIZE = 32


@pytest.fixture(scope="module")
def frame_correction():
    datasets, attrs, _ = simulate_photon_transfer(
        PTC_SEED, height=PTC_SIZE, width=PTC_SIZE, steps=30, sensor=SENSOR
    )
    data = photon_transfer_from_mappings(datasets, attrs)
    sensor = Scene(
        PTC_SEED, tissue=TissueConfig(rows=PTC_SIZE, cols=PTC_SIZE), sensor=SENSOR
    ).sensor
    return coefficients_from_photon_transfer(data), sensor


def test_frame_correction_bad_pixel_mask_equals_hot_or_dead_truth(frame_correction):
    coefficients, sensor = frame_correction
    truth = sensor.truth()
    expected = np.zeros(sensor.shape, dtype=bool)
    for pixels in (truth["hot_pixels"], truth["dead_pixels"]):
        expected[tuple(pixels.T)] = True
    assert expected.sum() == 10
    np.testing.assert_array_equal(coefficients.bad_pixel_mask, expected)


def test_frame_correction_dark_model_matches_sensor_truth(frame_correction):
    coefficients, sensor = frame_correction
    truth, config = sensor.truth(), sensor.config
    good = ~coefficients.bad_pixel_mask
    black = config.black_level_dn + config.gain_dn_per_e * truth["dsnu_offset_e"]
    # Per-pixel intercept from 30 dark pairs: scatter ≈ 0.25 DN.
    assert np.sqrt(np.mean((coefficients.black_level_dn - black)[good] ** 2)) < 0.4

    assert coefficients.doubling_temperature_c == pytest.approx(
        config.doubling_temperature_c, rel=0.03
    )
    dark = (
        config.gain_dn_per_e
        * truth["dark_current_e_per_s"]
        * sensor.dark_current_scale(coefficients.reference_temperature_c)
    )
    # Normal pixels: 20 ms dark frames give ≈ 16 % per-pixel scatter, 0.5 % on the mean.
    assert coefficients.dark_current_dn_per_s[good].mean() == pytest.approx(
        dark[good].mean(), rel=0.03
    )
    hot = tuple(truth["hot_pixels"].T)
    np.testing.assert_allclose(coefficients.dark_current_dn_per_s[hot], dark[hot], rtol=0.03)
    assert np.corrcoef(coefficients.dark_current_dn_per_s.ravel(), dark.ravel())[0, 1] > 0.999

    exposure_s, temperature_c = 0.05, 38.0
    expected = (
        black
        + dark
        / sensor.dark_current_scale(coefficients.reference_temperature_c)
        * sensor.dark_current_scale(temperature_c)
        * exposure_s
    )
    difference = expected_dark_dn(coefficients, exposure_s, temperature_c) - expected
    assert np.sqrt(np.mean(difference[good] ** 2)) < 0.5


def test_frame_correction_flat_gain_and_linearity_match_sensor_truth(frame_correction):
    coefficients, sensor = frame_correction
    good = ~coefficients.bad_pixel_mask
    assert coefficients.flat_gain[good].mean() == pytest.approx(1.0)
    assert np.all(coefficients.flat_gain[~good] == 1.0)
    assert np.corrcoef(coefficients.flat_gain[good], sensor.prnu_gain[good])[0, 1] > 0.98

    gain = sensor.config.gain_dn_per_e
    electrons = np.linspace(0.02, 1.0, 500) * sensor.config.full_well_e
    measured_dn = gain * sensor.compress(electrons)
    usable = measured_dn <= coefficients.valid_max_dn
    assert coefficients.valid_max_dn > 0.6 * gain * sensor.config.full_well_e
    linear_dn = np.polynomial.polynomial.polyval(
        measured_dn[usable], coefficients.linearity_coefficients
    )
    np.testing.assert_allclose(linear_dn, gain * electrons[usable], rtol=0.01)


def test_frame_correction_coefficients_round_trip_through_arrays(frame_correction):
    coefficients, _ = frame_correction
    arrays = coefficients.as_arrays()
    assert all(isinstance(value, np.ndarray) for value in arrays.values())
    restored = FrameCorrectionCoefficients.from_arrays(arrays)
    for name, value in restored.as_arrays().items():
        np.testing.assert_array_equal(value, arrays[name])
        assert value.dtype == arrays[name].dtype
    with pytest.raises(ValueError, match="missing fields"):
        FrameCorrectionCoefficients.from_arrays(
            {k: v for k, v in arrays.items() if k != "bit_depth"}
        )
