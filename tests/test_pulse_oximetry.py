"""Pulse oximetry against truth: the physics simulator (through a fitted calibration curve, as
a device is calibrated) and synthetic signals with a known R trajectory."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.spo2_curve import fit_spo2_curve
from drivers.sim.tissue import MotionBurst, TissueConfig
from imaging.chromophores import hemoglobin_extinction
from imaging.pulse_oximetry import pulse_oximetry
from imaging.spo2_curves import (
    beer_lambert_curve,
    curve_from_calibration,
    default_curve,
    empirical_line,
    parse_polynomial,
    polynomial_curve,
)
from instrument.ppg_signals import ppg_signals_from_run
from tests.ppg_sim import (
    desaturation,
    simulated_run,
    simulator_curve,
    truth_pulse_rate,
    truth_spo2,
)
from tests.ppg_synthetic import SyntheticPpg, ratio_for_spo2, synthesize

pytestmark = pytest.mark.timeout(300)


def _scores(result, spo2_truth, rate_truth):
    reported = np.isfinite(result.spo2_percent)
    arms = float(np.sqrt(np.mean((result.spo2_percent[reported] - spo2_truth[reported]) ** 2)))
    rate_rms = float(np.sqrt(np.nanmean((result.pulse_rate_bpm - rate_truth) ** 2)))
    return arms, 1.0 - reported.mean(), rate_rms


def _simulated(seed: int, duration_s: float, frame_rate_hz: float = 200.0, **tissue_options):
    tissue = TissueConfig(spo2_trajectory=desaturation(4.0, duration_s - 4.0), **tissue_options)
    record, scene = simulated_run(seed, duration_s, tissue, frame_rate_hz=frame_rate_hz)
    signals = ppg_signals_from_run(record)
    curve, _ = simulator_curve()
    result = pulse_oximetry(signals.signals, signals.sample_rate_hz, signals.wavelengths_nm, curve)
    times = result.time_s + signals.time_s[0]
    return result, truth_spo2(scene, times), truth_pulse_rate(scene, times), scene, times


# -- the simulator -------------------------------------------------------------------------


def test_simulator_calibration_fits_its_desaturation_runs():
    curve, fitted = simulator_curve()
    assert fitted.arms_percent < 1.0
    assert fitted.sao2_range_percent[0] < 72.0 and fitted.sao2_range_percent[1] > 98.0
    # The simulator's physics is not the equal-path Beer–Lambert law: its curve differs.
    ratios = np.array([0.6, 1.0, 1.4])
    assert (
        np.max(
            np.abs(curve.spo2_percent(ratios) - beer_lambert_curve(660, 940).spo2_percent(ratios))
        )
        > 5.0
    )


def test_simulated_desaturation_is_within_arms_1_5_percent():
    result, spo2, rate, _, _ = _simulated(seed=7, duration_s=30.0, pulse_rate_bpm=84.0)
    arms, withheld, rate_rms = _scores(result, spo2, rate)
    assert spo2.max() - spo2.min() > 29.0
    assert arms <= 1.5 and withheld <= 0.3 and rate_rms <= 1.5
    assert abs(result.mean_pulse_rate_bpm - 84.0) < 1.5


def test_simulated_low_perfusion_at_30_hz_is_within_arms_1_5_percent():
    # 120 fps over 4 LED steps: 30 Hz per wavelength, a rate the curve was not fitted at.
    result, spo2, rate, _, _ = _simulated(
        seed=8, duration_s=30.0, frame_rate_hz=120.0, perfusion_index_percent=0.4
    )
    arms, withheld, rate_rms = _scores(result, spo2, rate)
    assert arms <= 1.5 and withheld <= 0.3 and rate_rms <= 1.5


def test_simulated_motion_is_withheld_and_the_rest_within_3_percent():
    bursts = (MotionBurst(8.0, 5.0, 0.5), MotionBurst(24.0, 5.0, 0.5))
    result, spo2, rate, scene, times = _simulated(seed=9, duration_s=40.0, motion_bursts=bursts)
    arms, withheld, rate_rms = _scores(result, spo2, rate)
    assert arms <= 3.0 and 0.0 < withheld <= 0.3 and rate_rms <= 3.0
    moving = np.array([scene.tissue.motion_active(t) for t in times])
    withheld_seconds = np.isnan(result.spo2_percent)
    assert withheld_seconds[moving].mean() > 0.5  # motion is what gets withheld …
    assert withheld_seconds[~moving].mean() < 0.1  # … and little else
    assert result.signal_quality[moving].mean() < 0.5 < result.signal_quality[~moving].mean()


# -- synthetic signals ------------------------------------------------------------------------

DESATURATION = ((0.0, 100.0), (10.0, 100.0), (50.0, 70.0), (60.0, 70.0))


@pytest.mark.parametrize("rate_hz", [25.0, 100.0, 250.0, 500.0, 1000.0])
def test_synthetic_desaturation_at_any_sample_rate(rate_hz):
    curve = empirical_line()
    recording = synthesize(SyntheticPpg(sample_rate_hz=rate_hz, spo2_knots=DESATURATION), curve)
    result = pulse_oximetry(recording.signals, rate_hz, (660.0, 940.0))
    spo2, rate, _ = recording.truth_at(result.time_s)
    arms, withheld, rate_rms = _scores(result, spo2, rate)
    assert arms <= 1.5 and withheld <= 0.3 and rate_rms <= 1.5


@pytest.mark.parametrize("rate_hz", [100.0, 250.0, 500.0])
def test_synthetic_motion_bursts(rate_hz):
    config = SyntheticPpg(
        sample_rate_hz=rate_hz,
        duration_s=90.0,
        spo2_knots=((0.0, 98.0), (30.0, 98.0), (70.0, 80.0)),
        motion_bursts_s=((12.0, 6.0), (45.0, 8.0)),
        motion_amplitude=0.6,
        seed=3,
    )
    recording = synthesize(config, empirical_line())
    result = pulse_oximetry(recording.signals, rate_hz, (660.0, 940.0))
    spo2, rate, moving = recording.truth_at(result.time_s)
    arms, withheld, rate_rms = _scores(result, spo2, rate)
    assert arms <= 3.0 and withheld <= 0.3 and rate_rms <= 3.0
    assert np.isnan(result.spo2_percent[moving]).any()
    # The withheld beats are the ones that would have been wrong.
    beat_truth = np.interp(result.beats_s[:-1], recording.time_s, recording.spo2_percent)
    error = np.abs(empirical_line().spo2_percent(result.beat_ratio_of_ratios) - beat_truth)
    assert np.all(np.isnan(result.beat_spo2_percent[~result.beat_accepted]))
    assert np.nanmedian(error[~result.beat_accepted]) > 3.0 * np.nanmedian(
        error[result.beat_accepted]
    )


@pytest.mark.parametrize("perfusion", [0.3, 0.5])
def test_synthetic_low_perfusion(perfusion):
    config = SyntheticPpg(perfusion_index_percent=perfusion, spo2_knots=DESATURATION, seed=5)
    recording = synthesize(config, empirical_line())
    result = pulse_oximetry(recording.signals, 100.0, (660.0, 940.0))
    spo2, rate, _ = recording.truth_at(result.time_s)
    arms, withheld, rate_rms = _scores(result, spo2, rate)
    assert arms <= 1.5 and withheld <= 0.3 and rate_rms <= 1.5
    assert np.nanmedian(result.perfusion_index_percent) == pytest.approx(perfusion, rel=0.25)


def test_huge_dc_offsets_change_only_the_ratio_they_dilute():
    base = synthesize(
        SyntheticPpg(spo2_knots=DESATURATION, noise_percent_of_ac=0.0), empirical_line()
    )
    small = pulse_oximetry(base.signals, 100.0, (660.0, 940.0))
    # 10⁴ gain and then a real additive offset of 10⁹ counts under the red and 10⁸ under the IR.
    offset = np.array([1e9, 1e8])
    scaled = base.signals * 1e4
    large = pulse_oximetry(scaled + offset, 100.0, (660.0, 940.0))
    np.testing.assert_allclose(large.beats_s, small.beats_s, atol=1e-6)
    np.testing.assert_array_equal(large.beat_accepted, small.beat_accepted)
    # The offset adds to the DC only: R shrinks by the ratio of the DC dilutions.
    dc = scaled.mean(axis=0)
    dilution = (dc[0] / (dc[0] + offset[0])) / (dc[1] / (dc[1] + offset[1]))
    np.testing.assert_allclose(
        large.beat_ratio_of_ratios, small.beat_ratio_of_ratios * dilution, rtol=0.02
    )


def test_measured_ratio_of_ratios_matches_the_true_ratio():
    # The SpO2 checks go through the same curve both ways; this checks R itself.
    curve = empirical_line()
    recording = synthesize(SyntheticPpg(spo2_knots=DESATURATION), curve)
    result = pulse_oximetry(recording.signals, 100.0, (660.0, 940.0))
    spo2, _, _ = recording.truth_at(result.time_s)
    true_ratio = ratio_for_spo2(curve, spo2)
    reported = np.isfinite(result.ratio_of_ratios)
    assert reported.mean() > 0.9
    error = result.ratio_of_ratios[reported] - true_ratio[reported]
    assert np.sqrt(np.mean(error**2)) < 0.02  # 0.5 % SpO2 on the 25 %/R line


def test_saturated_adc_is_withheld():
    recording = synthesize(
        SyntheticPpg(dc=(2.0e4, 3.0e4), spo2_knots=((0.0, 95.0),)), empirical_line()
    )
    signals = recording.signals.copy()
    clipped = (recording.time_s >= 20.0) & (recording.time_s < 35.0)
    signals[clipped, 1] *= 1.2  # the infrared light rises into the ADC's ceiling
    ceiling = np.percentile(signals[clipped, 1], 40)
    signals[:, 1] = np.minimum(signals[:, 1], ceiling)
    for adc in (signals, np.round(signals)):  # float or integer (quantised) samples
        result = pulse_oximetry(adc, 100.0, (660.0, 940.0))
        inside = (result.time_s > 23.0) & (result.time_s < 32.0)
        assert np.all(np.isnan(result.spo2_percent[inside]))
        assert np.all(np.isfinite(result.spo2_percent[result.time_s < 15.0]))


@pytest.mark.parametrize("dc", [1000.0, 4000.0])
def test_quantised_unclipped_integers_are_not_clipping(dc):
    # Integer samples repeat their extreme values without any ADC limit being reached.
    config = SyntheticPpg(dc=(2 * dc / 3, dc), noise_percent_of_ac=0.0, spo2_knots=((0.0, 95.0),))
    recording = synthesize(config, empirical_line())
    result = pulse_oximetry(np.round(recording.signals), 100.0, (660.0, 940.0))
    assert np.all(np.isfinite(result.spo2_percent))
    assert np.all(np.abs(result.spo2_percent - 95.0) < 1.5)


def test_one_wavelength_gives_pulse_rate_only():
    recording = synthesize(SyntheticPpg(pulse_rate_bpm=110.0), empirical_line())
    result = pulse_oximetry(recording.signals[:, 1], 100.0, (940.0,))
    assert np.all(np.isnan(result.spo2_percent))
    assert abs(result.mean_pulse_rate_bpm - 110.0) < 1.5
    assert result.time_s.size == result.pulse_rate_bpm.size == result.signal_quality.size


@pytest.mark.parametrize("rate_hz", [25.0, 100.0])
@pytest.mark.parametrize("correlation", [1.0, 0.95, 0.0])
def test_noise_gives_no_spo2_and_no_pulse_rate(rate_hz, correlation):
    # White noise, common to both channels (correlation 1: a constant R of 1.33) or not.
    rng = np.random.default_rng(1)
    common = rng.standard_normal(round(60 * rate_hz))
    own = rng.standard_normal(common.size)
    infrared = correlation * common + np.sqrt(1 - correlation**2) * own
    signals = np.column_stack([1000.0 + common, 2000.0 + 1.5 * infrared])
    result = pulse_oximetry(signals, rate_hz, (660.0, 940.0))
    assert np.all(np.isnan(result.spo2_percent)) and np.all(np.isnan(result.pulse_rate_bpm))
    assert np.all(np.isnan(result.beat_spo2_percent))
    assert np.mean(result.signal_quality) < 0.2


def test_a_flat_line_gives_nothing():
    result = pulse_oximetry(np.full((3000, 2), 1000.0), 100.0, (660.0, 940.0))
    assert np.all(np.isnan(result.spo2_percent)) and np.all(np.isnan(result.pulse_rate_bpm))


@pytest.mark.parametrize(
    ("signals", "rate", "wavelengths", "message"),
    [
        (np.ones((1000, 2)), 100.0, (660.0,), "columns"),
        (np.ones((300, 2)), 100.0, (660.0, 940.0), "at least 5 s"),
        (np.full((1000, 2), np.nan), 100.0, (660.0, 940.0), "non-finite"),
        (np.ones((1000, 2)), 5.0, (660.0, 940.0), "sample rate"),
        (np.ones((1000, 2)), 100.0, (660.0, 660.0), "repeat"),
    ],
)
def test_bad_signals_are_named(signals, rate, wavelengths, message):
    with pytest.raises(ValueError, match=message):
        pulse_oximetry(signals, rate, wavelengths)


# -- curves --------------------------------------------------------------------------------


@pytest.mark.parametrize("pair", [(660.0, 940.0), (730.0, 850.0), (760.0, 940.0)])
def test_beer_lambert_curve_inverts_the_extinction_ratio(pair):
    saturation = np.array([0.7, 0.85, 0.98])
    oxy, deoxy = hemoglobin_extinction(list(pair))
    absorbance = oxy[:, None] * saturation + deoxy[:, None] * (1 - saturation)
    ratio = absorbance[0] / absorbance[1]
    np.testing.assert_allclose(beer_lambert_curve(*pair).spo2_percent(ratio), 100 * saturation)


def test_default_curves():
    assert default_curve(660, 940).spo2_percent(0.5) == pytest.approx(97.5)
    assert default_curve(662, 938).description == empirical_line().description
    assert default_curve(760, 850).description.startswith("Beer-Lambert 760/850")


def test_curve_for_another_pair_is_refused():
    recording = synthesize(SyntheticPpg(), empirical_line())
    with pytest.raises(ValueError, match="660/940 nm, the signals are 730/850"):
        pulse_oximetry(recording.signals, 100.0, (730.0, 850.0), empirical_line())


def test_calibration_record_curve_is_used_as_fitted():
    ratio = np.linspace(0.4, 1.5, 40)
    sao2 = 105.0 - 20.0 * ratio - 3.0 * ratio**2
    fitted = fit_spo2_curve(ratio, sao2, ["a", "b"] * 20, degree=2, study_id="S1")
    curve = curve_from_calibration(fitted, (660.0, 940.0))
    np.testing.assert_allclose(curve.spo2_percent(ratio), np.clip(sao2, 0, 100), atol=1e-9)
    assert "S1" in curve.description


@pytest.mark.parametrize(
    ("text", "coefficients"),
    [
        ("110,-25", [110, -25]),
        ("110 - 25R", [110, -25]),
        ("-16.7*R^2 - 8.3 R + 112", [112, -8.3, -16.7]),
        ("1e2 - R**2", [100, 0, -1]),
    ],
)
def test_polynomial_text(text, coefficients):
    np.testing.assert_allclose(parse_polynomial(text), coefficients)
    assert polynomial_curve(parse_polynomial(text)).spo2_percent(0.0) == min(100, coefficients[0])


@pytest.mark.parametrize("text", ["", "abc", "110 25R", "110 - 25X", "nan,1"])
def test_bad_polynomial_text_is_named(text):
    with pytest.raises(ValueError, match="SpO2 curve"):
        parse_polynomial(text)


def test_other_pairs_default_to_the_beer_lambert_curve():
    config = SyntheticPpg(
        wavelengths_nm=(730.0, 805.0, 850.0), dc=(1e4, 2e4, 3e4), spo2_knots=DESATURATION
    )
    recording = synthesize(config, beer_lambert_curve(730.0, 850.0))
    result = pulse_oximetry(recording.signals, 100.0, config.wavelengths_nm)
    spo2, rate, _ = recording.truth_at(result.time_s)
    arms, withheld, rate_rms = _scores(result, spo2, rate)
    assert result.pair_nm == (730.0, 850.0) and "Beer-Lambert" in result.curve_description
    assert arms <= 1.5 and withheld <= 0.3 and rate_rms <= 1.5


# -- artefacts that fill the recording: judged in absolute terms ----------------------------


@pytest.mark.parametrize(
    ("amplitude", "seed"), [(0.1, 0), (0.1, 1), (0.3, 0), (0.05, 2), (0.3, 3), (0.6, 3)]
)
def test_sustained_motion_is_withheld(amplitude, seed):
    # Motion throughout: the recording's own medians are the motion.
    config = SyntheticPpg(
        spo2_knots=((0.0, 97.0),),
        motion_bursts_s=((0.0, 60.0),),
        motion_amplitude=amplitude,
        seed=seed,
    )
    result = pulse_oximetry(synthesize(config, empirical_line()).signals, 100.0, (660.0, 940.0))
    reported = np.isfinite(result.spo2_percent)
    assert reported.mean() <= 0.05
    assert np.all(np.abs(result.spo2_percent[reported] - 97.0) <= 3.0)
    assert np.all(np.isnan(result.pulse_rate_bpm[~reported]))


@pytest.mark.parametrize("motion_hz", [1.0, 1.6, 2.4, 4.0])
def test_periodic_common_mode_motion_is_withheld(motion_hz):
    # 2 % modulation common to both channels (walking, tremor) over a 1.5 % pulse.
    recording = synthesize(SyntheticPpg(spo2_knots=((0.0, 97.0),)), empirical_line())
    motion = 1.0 + 0.02 * np.sin(2 * np.pi * motion_hz * recording.time_s)
    result = pulse_oximetry(recording.signals * motion[:, None], 100.0, (660.0, 940.0))
    assert np.all(np.isnan(result.spo2_percent)) and np.all(np.isnan(result.pulse_rate_bpm))


def test_simulated_sustained_motion_is_withheld():
    tissue = TissueConfig(motion_bursts=(MotionBurst(0.0, 20.0, 0.1),))
    record, _ = simulated_run(5, 20.0, tissue)
    signals = ppg_signals_from_run(record)
    curve, _ = simulator_curve()
    result = pulse_oximetry(signals.signals, signals.sample_rate_hz, signals.wavelengths_nm, curve)
    assert np.all(np.isnan(result.spo2_percent)) and np.all(np.isnan(result.pulse_rate_bpm))


@pytest.mark.parametrize("rate_hz", [25.0, 100.0])
@pytest.mark.parametrize("noise_counts", [10.0, 30.0])
def test_low_snr_from_fixed_detector_noise_is_withheld_not_biased(rate_hz, noise_counts):
    # The detector noise stays fixed while the pulse shrinks: the SNR falls, R scatters and
    # biases. What is still reported must be right; the faintest pulses are withheld.
    errors, reported = [], []
    for perfusion in (0.5, 0.3, 0.2, 0.1):
        config = SyntheticPpg(
            sample_rate_hz=rate_hz,
            perfusion_index_percent=perfusion,
            noise_counts=noise_counts,
            spo2_knots=((0.0, 97.0),),
            seed=2,
        )
        signals = synthesize(config, empirical_line()).signals
        spo2 = pulse_oximetry(signals, rate_hz, (660.0, 940.0)).spo2_percent
        errors.append(spo2[np.isfinite(spo2)] - 97.0)
        reported.append(np.isfinite(spo2).mean())
    error = np.concatenate(errors)
    assert np.all(np.abs(error) <= 3.0)
    assert error.size == 0 or np.sqrt(np.mean(error**2)) <= 1.5
    assert reported[-1] == 0.0  # 0.1 % perfusion under 10-30 counts of noise


def test_fixed_detector_noise_at_good_perfusion_is_reported():
    config = SyntheticPpg(
        perfusion_index_percent=1.0, noise_counts=30.0, spo2_knots=DESATURATION, seed=2
    )
    recording = synthesize(config, empirical_line())
    result = pulse_oximetry(recording.signals, 100.0, (660.0, 940.0))
    spo2, rate, _ = recording.truth_at(result.time_s)
    arms, withheld, rate_rms = _scores(result, spo2, rate)
    assert arms <= 1.5 and withheld <= 0.3 and rate_rms <= 1.5


def test_pulse_rate_change_within_the_recording():
    config = SyntheticPpg(
        pulse_rate_knots=((0.0, 60.0), (25.0, 60.0), (35.0, 150.0), (60.0, 150.0)), seed=4
    )
    recording = synthesize(config, empirical_line())
    result = pulse_oximetry(recording.signals, 100.0, (660.0, 940.0))
    spo2, rate, _ = recording.truth_at(result.time_s)
    arms, withheld, rate_rms = _scores(result, spo2, rate)
    assert arms <= 1.5 and withheld <= 0.1 and rate_rms <= 1.5
    fast = result.time_s > 38.0
    assert np.all(np.isfinite(result.pulse_rate_bpm[fast]))
    # Beats per minute over the recording: the time average of the rate.
    assert abs(result.mean_pulse_rate_bpm - recording.pulse_rate_bpm.mean()) < 1.5


@pytest.mark.parametrize("rate_bpm", [60.0, 200.0, 240.0])
def test_perfusion_index_holds_at_fast_pulse_rates(rate_bpm):
    config = SyntheticPpg(
        pulse_rate_bpm=rate_bpm, pulse_rate_swing_bpm=0.0, perfusion_index_percent=2.0, seed=1
    )
    result = pulse_oximetry(synthesize(config, empirical_line()).signals, 100.0, (660.0, 940.0))
    assert np.nanmedian(result.perfusion_index_percent) == pytest.approx(2.0, rel=0.06)
    assert np.isfinite(result.spo2_percent).mean() > 0.9
