"""Streaming imaging-PPG and StO2 maps: equal to their batch twins on the same frames, refreshed
every few seconds, bounded in memory, close to the simulator's truth, and sent while a protocol
run acquires (``LiveData.maps``)."""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import tracemalloc

import numpy as np
import pytest

from drivers.sim.scene import Scene
from drivers.sim.sensor import SensorConfig
from imaging.imaging_ppg import ppg_maps
from imaging.streaming_maps import (
    DARK,
    MAP_HISTORY_S,
    MAP_PERIOD_S,
    SKIP,
    StreamingPpgMaps,
    StreamingSto2Map,
)
from instrument.config import SimulatorConfig, load_config, simulated
from instrument.live_data import LiveData
from instrument.run_record import read_run_record
from instrument.snirf_export import led_position_mm, pixel_centres_mm
from protocols.analyses.sto2 import sto2_map_from_run
from protocols.protocol_file import load_protocol, parse_protocol
from protocols.runner import ProtocolRunner
from tests.calibration_fixtures import make_content, make_registry
from tests.ppg_sim import simulated_run
from tests.test_cli_run import approve
from tests.test_imaging_ppg import _stack
from tests.test_live_frame_correction import detector_coefficients

pytestmark = pytest.mark.timeout(300)

FRAME_RATE_HZ = 200.0
PATTERN = ((660.0, 0.5), (940.0, 1.0), (760.0, 0.4), (850.0, 0.4))
"""The default instrument's LED steps (four lit wavelengths: both maps)."""
PROBE = {"pixel_pitch_mm": 0.4, "led_xy_mm": [12.8, -4.8]}
"""The default probe geometry (instrument/default_config.yaml)."""
LINEAR_MAX_DN = 3000.0
SUM_RTOL = 1e-4
"""Streamed and batch maps are the same code on the same float32 group sums; only the order in
which numpy adds a group's frames may differ (2⁻²⁴ ≈ 6e-8 relative per sum). Over a pulse of
~1 % of the light that is ≲ 1e-5 relative on AC and R: 1e-4 bounds it with margin and is far
below any visible difference (0.01 SpO2 points)."""


@pytest.fixture(scope="module")
def sim():
    """45 s of the simulated forearm through the default pattern, with its geometry."""
    record, scene = simulated_run(0, 45.0, pattern=PATTERN)
    acquisition = {**record.acquisition, "roi": json.dumps([0, 0, 64, 64, 1])}
    record = dataclasses.replace(record, probe=PROBE, acquisition=acquisition)
    return record, scene


def _pair_stack(record, count=None):
    """(N, 2, H, W) red and infrared frames above the sensor's black level; saturated NaN."""
    frames = np.asarray(record.frames)
    red = frames[record.wavelength_nm == 660]
    infrared = frames[record.wavelength_nm == 940]
    n = min(len(red), len(infrared)) if count is None else count
    raw = np.stack([red[:n], infrared[:n]], axis=1)
    return np.where(raw >= LINEAR_MAX_DN, np.nan, raw - 64.0)


def _push_in_blocks(analyser, frames, *more, seed=0):
    """Push in random block sizes (1-40 frames); the updates returned."""
    rng = np.random.default_rng(seed)
    updates, start = [], 0
    while start < len(frames):
        stop = start + int(rng.integers(1, 41))
        update = analyser.push(frames[start:stop], *(m[start:stop] for m in more))
        if update is not None:
            updates.append(update)
        start = stop
    return updates


def _assert_same_maps(streamed, batch, names):
    for name in names:
        a, b = getattr(streamed, name), getattr(batch, name)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=name)
        np.testing.assert_allclose(a, b, rtol=SUM_RTOL, atol=1e-9, equal_nan=True, err_msg=name)


PPG_NAMES = ("spo2_percent", "perfusion_index_percent", "signal_quality", "ratio_of_ratios")


@pytest.mark.parametrize(("seconds", "block"), [(20.0, 4), (45.0, 8)])
def test_streamed_ppg_maps_equal_the_batch_maps_of_the_window(sim, seconds, block):
    record, _ = sim
    rate = FRAME_RATE_HZ / len(PATTERN)
    stack = _pair_stack(record, round(seconds * rate))
    stream = StreamingPpgMaps(rate, (660.0, 940.0), block=block)
    updates = _push_in_blocks(stream, stack)
    final = stream.flush()
    # The window: the whole stream while it is shorter than the history, else its last 30 s.
    assert final.end_s == pytest.approx(seconds, abs=0.05)
    assert final.end_s - final.start_s == pytest.approx(min(seconds, MAP_HISTORY_S), abs=0.05)
    end = round(final.end_s * rate)
    window = stack[end - final.frames : end]
    batch = ppg_maps(window, rate, (660.0, 940.0), block=block, full_scale=math.inf)
    _assert_same_maps(final.maps, batch, PPG_NAMES)
    assert final.maps.pulse_rate_bpm == pytest.approx(batch.pulse_rate_bpm, rel=SUM_RTOL)
    assert np.isfinite(batch.spo2_percent).sum() >= 10  # a comparison of maps with values
    # Refreshed every MAP_PERIOD_S of signal (within one pushed block of 40 frames).
    ends = np.array([u.end_s for u in updates])
    expected = MAP_PERIOD_S * np.arange(1, int(seconds // MAP_PERIOD_S) + 1)
    np.testing.assert_allclose(ends, expected[: ends.size], atol=40 / rate)
    assert ends.size == expected.size


def test_a_full_scale_withholds_the_same_regions_as_the_batch_maps(sim):
    record, _ = sim
    rate = FRAME_RATE_HZ / len(PATTERN)
    stack = _pair_stack(record, round(15 * rate))
    raw = np.nan_to_num(stack, nan=4000.0)  # the bright pixels stay, at a level above 2500
    stream = StreamingPpgMaps(rate, (660.0, 940.0), block=4, full_scale=2500.0)
    _push_in_blocks(stream, raw, seed=1)
    final = stream.flush()
    batch = ppg_maps(raw, rate, (660.0, 940.0), block=4, full_scale=2500.0)
    _assert_same_maps(final.maps, batch, PPG_NAMES)
    assert np.isnan(final.maps.perfusion_index_percent).sum() > 0


def test_streamed_ppg_maps_find_the_perfused_region_and_its_spo2():
    # Synthetic truth: SpO2 97 % on the left half, 80 % on the right, no pulse in a corner.
    frames, spo2, perfusion = _stack(seed=2, duration_s=14.0)
    stream = StreamingPpgMaps(200.0, (660.0, 940.0))
    _push_in_blocks(stream, frames, seed=2)
    maps = stream.flush().maps
    pulsing = perfusion > 0
    assert np.all(np.isnan(maps.spo2_percent[~pulsing]))
    error = maps.spo2_percent[pulsing] - spo2[pulsing]
    assert np.sqrt(np.nanmean(error**2)) < 1.5 and np.isfinite(error).mean() > 0.9
    np.testing.assert_allclose(
        maps.perfusion_index_percent[pulsing], 100 * perfusion[pulsing], rtol=0.2
    )


def test_streamed_ppg_map_of_the_simulated_tissue_matches_its_truth(sim):
    record, scene = sim
    rate = FRAME_RATE_HZ / len(PATTERN)
    stream = StreamingPpgMaps(rate, (660.0, 940.0), block=4)
    _push_in_blocks(stream, _pair_stack(record))
    maps = stream.flush().maps
    truth = scene.truth(30.0)["tissue"]
    assert np.isfinite(maps.spo2_percent).sum() >= 10
    assert abs(np.nanmedian(maps.spo2_percent) - truth["spo2_percent"]) < 3.0
    assert maps.pulse_rate_bpm == pytest.approx(truth["mean_pulse_rate_bpm"], abs=3.0)


def _sto2_inputs(record):
    x_mm, y_mm = pixel_centres_mm(record)
    led_x, led_y = led_position_mm(record)
    wavelengths = sorted({w for w, _ in PATTERN})
    channel = np.array([wavelengths.index(w) for w in record.wavelength_nm])
    return np.hypot(x_mm - led_x, y_mm - led_y), wavelengths, channel


STO2_NAMES = ("sto2_percent", "toi_percent", "hbt_um")


def test_streamed_sto2_map_equals_the_batch_analysis_and_the_phantom_truth(sim):
    record, scene = sim
    rho_mm, wavelengths, channel = _sto2_inputs(record)
    count = round(20 * FRAME_RATE_HZ)
    stream = StreamingSto2Map(rho_mm, wavelengths, FRAME_RATE_HZ, dark_dn=64.0)
    frames = np.asarray(record.frames[:count])
    updates = _push_in_blocks(stream, frames, channel[:count], seed=3)
    final = stream.flush()
    view = dataclasses.replace(
        record,
        **{
            name: getattr(record, name)[:count]
            for name in (
                "frames",
                "time_s",
                "wavelength_nm",
                "board_temperature_c",
                "frame_counter",
                "device_time_us",
            )
        },
    )
    batch = sto2_map_from_run(view, black_level_dn=64.0)
    # Means of integer frames are exact in float64: the same inputs to the same SRS fit.
    _assert_same_maps(final, batch, STO2_NAMES)
    assert final.frames == count and final.end_s == pytest.approx(20.0)
    assert [round(u.end_s) for u in updates] == [5, 10, 15, 20]
    # Against the phantom (its small absorbing inclusion moves a few regions only).
    truth = scene.truth(10.0)["tissue"]
    assert np.isfinite(final.sto2_percent).sum() >= 10
    assert abs(np.nanmedian(final.sto2_percent) - truth["sto2_percent"]) < 3.0
    assert np.nanmedian(final.hbt_um) == pytest.approx(truth["tissue_hbt_um"], rel=0.15)
    # Regions nearer the LED than 10 mm are withheld.
    assert np.all(np.isnan(final.sto2_percent[final.distance_mm < 10.0]))


def test_sto2_map_uses_the_dark_frames_of_the_window_and_skips_frames(sim):
    record, _ = sim
    rho_mm, wavelengths, channel = _sto2_inputs(record)
    frames = np.asarray(record.frames[:2000])
    dark = np.full((200, 64, 64), 64, dtype=np.uint16)  # dark frames at the black level
    with_dark = np.concatenate([frames, dark])
    labels = np.concatenate([channel[:2000], np.full(200, DARK)])
    skipped = labels.copy()
    skipped[::7] = SKIP
    a = StreamingSto2Map(rho_mm, wavelengths, FRAME_RATE_HZ, dark_dn=500.0)
    a.push(with_dark, labels)
    b = StreamingSto2Map(rho_mm, wavelengths, FRAME_RATE_HZ, dark_dn=64.0)
    b.push(frames, channel[:2000])
    c = StreamingSto2Map(rho_mm, wavelengths, FRAME_RATE_HZ, dark_dn=64.0)
    c.push(with_dark, skipped)
    first, second, third = a.flush(), b.flush(), c.flush()
    # The dark frames (64 DN), not the 500 DN fallback, set the dark level.
    _assert_same_maps(first, second, STO2_NAMES)
    # Skipping every 7th frame leaves a map of the same tissue.
    both = np.isfinite(third.sto2_percent) & np.isfinite(second.sto2_percent)
    assert both.sum() >= 10
    assert np.max(np.abs(third.sto2_percent[both] - second.sto2_percent[both])) < 0.5


def test_memory_is_bounded_by_the_window_not_the_run():
    rng = np.random.default_rng(4)
    rate, shape = 50.0, (32, 32)
    ppg = StreamingPpgMaps(rate, (660.0, 940.0), block=2)  # 16 x 16 regions
    sto2 = StreamingSto2Map(
        np.linspace(5.0, 30.0, 32 * 32).reshape(shape),
        (760.0, 850.0, 940.0),
        4 * rate,
        region_px=2,
    )
    block_frames = 25  # 0.5 s per push

    def run(seconds):
        for _ in range(round(seconds * rate / block_frames)):
            ppg.push(1000.0 + rng.normal(0.0, 1.0, (block_frames, 2, *shape)))
            frames = rng.integers(100, 2000, (4 * block_frames, *shape), dtype=np.uint16)
            sto2.push(frames, np.arange(4 * block_frames) % 4 - 1)
        gc.collect()

    run(MAP_HISTORY_S + 5.0)
    held = (ppg.nbytes, sto2.nbytes)
    groups = round(MAP_HISTORY_S * rate / ppg.group)
    # The window's group sums (float32) and saturation flags, one unfinished group of frames.
    assert ppg.nbytes == groups * 2 * 16 * 16 * 4 + groups * 16 * 16 + ppg.group * 2 * 32 * 32 * 8
    # Per period of the window: sums of each wavelength and of the dark frames, and counts.
    assert sto2.nbytes == 6 * (4 * 32 * 32 * 8 + 4 * 8)
    tracemalloc.start()
    run(60.0)
    after_one_minute, first_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    run(240.0)
    after_five_minutes, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (ppg.nbytes, sto2.nbytes) == held
    # Nothing kept per refresh (a kept 16 x 16 map set would be ~8 kB each of the 48): what
    # remains is what scipy's sosfiltfilt retains per call (~0.2 kB, docs/monitoring.md).
    refreshes = 240.0 / MAP_PERIOD_S
    assert after_five_minutes - after_one_minute < refreshes * 2048
    # The peak is a refresh's working memory over the window, the same 4 minutes later.
    assert peak < 1.05 * first_peak


def test_refused_inputs_are_named():
    with pytest.raises(ValueError, match="two or more distinct"):
        StreamingPpgMaps(50.0, (660.0,))
    with pytest.raises(ValueError, match="history_s"):
        StreamingPpgMaps(50.0, (660.0, 940.0), period_s=5.0, history_s=3.0)
    stream = StreamingPpgMaps(50.0, (660.0, 940.0))
    with pytest.raises(ValueError, match=r"\(n, 2, H, W\)"):
        stream.push(np.ones((10, 3, 4, 4)))
    with pytest.raises(ValueError, match="3 or more wavelengths"):
        StreamingSto2Map(np.ones((16, 16)), (760.0, 850.0), 200.0)
    with pytest.raises(ValueError, match="region size"):
        StreamingSto2Map(np.ones((16, 16)), (660.0, 760.0, 850.0), 200.0, region_px=20)


def _runner(protocol, tmp_path, events, scale=1.0, registry=None):
    config, text = load_config(None)
    config = simulated(config).model_copy(update={"simulator": SimulatorConfig(speed=3.0)})
    return ProtocolRunner(
        protocol,
        config,
        tmp_path / "runs",
        "tester",
        "",
        events.append,
        config_text=text,
        duration_scale=scale,
        confirm_prompts=True,
        registry=registry,
    )


def _detector_registry(root):
    """A registry with an approved detector record holding frame-correction coefficients."""
    registry = make_registry(root)
    coefficients = detector_coefficients(SensorConfig())
    arrays = {f"coefficients/{k}": v for k, v in coefficients.as_arrays().items()}
    return registry, approve(registry, dataclasses.replace(make_content(), arrays=arrays))


def _maps(events):
    return [e.maps for e in events if isinstance(e, LiveData) and e.maps is not None]


@pytest.mark.parametrize("corrected", [False, True])
def test_a_tissue_oxygenation_run_sends_maps_that_end_as_its_analyses(tmp_path, corrected):
    events: list = []
    registry, detector = _detector_registry(tmp_path / "registry") if corrected else (None, "")
    protocol = load_protocol("tissue-oxygenation-map")
    runner = _runner(protocol, tmp_path, events, scale=0.4, registry=registry)
    finished = runner.run()
    assert finished.status == "completed", events
    sent = _maps(events)
    # Every 5 s of the 12 s acquisition, and the final maps at its end (the two analysers
    # may refresh in consecutive frame batches).
    assert sorted({round(m.time_s) for m in sent}) == [5, 10, 12] and len(sent) <= 5
    final = sent[-1]
    assert final.step == "reflectance"
    assert set(final.maps) == {
        "ppg_spo2_percent",
        "ppg_perfusion_index_percent",
        "ppg_signal_quality",
        "sto2_percent",
        "toi_percent",
        "hbt_um",
    }
    assert final.cell_px["ppg_spo2_percent"] == 4 and final.cell_px["sto2_percent"] == 8
    assert final.maps["ppg_spo2_percent"].shape == (16, 16)
    record = read_run_record(finished.record_path)
    # The final live StO2 map is the sto2 analysis's map of the recorded frames (the frame
    # means differ by float64 summation order only when the frames are corrected).
    analysed = record.results["sto2"]["sto2_map_percent"]
    np.testing.assert_array_equal(np.isnan(final.maps["sto2_percent"]), np.isnan(analysed))
    np.testing.assert_allclose(final.maps["sto2_percent"], analysed, rtol=1e-9, equal_nan=True)
    # The imaging-PPG maps agree with the analysis wherever both give a value (the analysis
    # also guesses saturation from repeated extremes, which a stream cannot see).
    for live, stored in (
        ("ppg_spo2_percent", "spo2_map_percent"),
        ("ppg_perfusion_index_percent", "perfusion_index_map_percent"),
    ):
        a, b = final.maps[live], record.results["ippg"][stored]
        both = np.isfinite(a) & np.isfinite(b)
        assert both.sum() >= 10
        np.testing.assert_allclose(a[both], b[both], rtol=SUM_RTOL)
    truth = runner_truth()
    assert abs(final.figures["sto2_percent"] - truth["sto2_percent"]) < 3.0
    assert abs(final.figures["ppg_spo2_percent"] - truth["spo2_percent"]) < 3.0
    assert final.figures["ppg_pulse_rate_bpm"] == pytest.approx(truth["mean_pulse_rate_bpm"], abs=3)
    results = json.loads(record.results["reflectance"]["results_json"])
    assert results["live_maps"] == sorted(final.maps)
    # The live maps and both analyses read frames corrected with the same record, or none.
    corrections = {
        json.loads(record.results[step]["results_json"])["frame_correction"]
        for step in ("reflectance", "sto2", "ippg")
    }
    (correction,) = corrections
    if corrected:
        assert correction.startswith(f"{detector} (sha256 ")
    else:
        assert correction.startswith("uncorrected frames")


def runner_truth():
    """The simulated tissue behind the runner's board (seed 0, no scenario)."""
    return Scene(0).truth(5.0)["tissue"]


MONITOR = """\
name: finger-monitor
version: "1"
intended_use: research
device:
  led_pattern:
    - {wavelength_nm: 660, drive_current_ma: 0.5}
    - {wavelength_nm: 940, drive_current_ma: 1.0}
    - {wavelength_nm: 850, drive_current_ma: 0.0}
steps:
  - kind: monitor
    name: monitoring
    duration_s: 12
"""


def test_a_monitoring_step_sends_imaging_ppg_maps(tmp_path):
    events: list = []
    runner = _runner(parse_protocol(MONITOR, "finger-monitor.yaml"), tmp_path, events)
    finished = runner.run()
    assert finished.status == "completed", events
    sent = _maps(events)
    assert [round(m.time_s) for m in sent] == [5, 10, 12]
    final = sent[-1]
    assert set(final.maps) == {
        "ppg_spo2_percent",
        "ppg_perfusion_index_percent",
        "ppg_signal_quality",
    }  # two wavelengths: no StO2
    assert final.window_s["ppg_spo2_percent"] == pytest.approx((0.0, 12.0), abs=0.1)
    truth = runner_truth()
    assert abs(final.figures["ppg_spo2_percent"] - truth["spo2_percent"]) < 3.0
    assert np.isfinite(final.maps["ppg_perfusion_index_percent"]).sum() >= 10
