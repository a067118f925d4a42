"""Simulator scenarios (with truth) and the board running faster than real time."""

import threading
import time

import numpy as np
import pytest

from drivers import detector_messages as msg
from drivers.detector_board import DetectorBoard, ReceivedFrame
from drivers.sim.processes import DetectorBoardSimulator
from drivers.sim.scenarios import SCENARIOS, scenario_tissue
from drivers.sim.scene import Scene


def _truth(scene: Scene, t_s: float) -> dict:
    return scene.truth(t_s)["tissue"]


def test_desaturation_ramps_down_holds_and_recovers():
    scene = Scene(1, tissue=scenario_tissue("desaturation", 90.0))
    spo2 = [_truth(scene, t)["spo2_percent"] for t in (0.0, 15.0, 30.0, 45.0, 60.0, 75.0, 90.0)]
    np.testing.assert_allclose(spo2, [98.0, 91.5, 85.0, 85.0, 85.0, 91.5, 98.0], atol=1e-6)


def test_probe_off_loses_the_light_in_the_middle_only():
    scene = Scene(2, tissue=scenario_tissue("probe-off", 100.0))
    on = scene.frame(30.0, 940.0, 0.5, 0.002).astype(float)
    off = scene.frame(50.0, 940.0, 0.5, 0.002).astype(float)
    dark = scene.frame(50.0, 940.0, 0.0, 0.002).astype(float)
    assert _truth(scene, 50.0)["probe_off"] and not _truth(scene, 30.0)["probe_off"]
    assert on.mean() > dark.mean() + 100.0
    assert abs(off.mean() - dark.mean()) < 2.0


def test_tachycardia_and_motion_truth():
    fast = Scene(3, tissue=scenario_tissue("tachycardia"))
    assert _truth(fast, 10.0)["mean_pulse_rate_bpm"] > 120.0
    moving = Scene(3, tissue=scenario_tissue("motion", 120.0))
    assert _truth(moving, 22.0)["motion_active"] and not _truth(moving, 10.0)["motion_active"]


def test_every_scenario_builds_and_unknown_ones_are_named():
    for name in SCENARIOS:
        Scene(0, tissue=scenario_tissue(name, 60.0))
    with pytest.raises(ValueError, match="desaturation"):
        scenario_tissue("apnoea")


def test_scenario_time_starts_with_the_first_stream():
    scene = Scene(4, tissue=scenario_tissue("desaturation", 30.0))
    scene.start_scenario(100.0)
    assert scene.truth(110.0)["tissue"]["spo2_percent"] == pytest.approx(85.0)


def _stream_for(board: DetectorBoard, wall_s: float) -> list[ReceivedFrame]:
    frames: list[ReceivedFrame] = []
    lock = threading.Lock()

    def on_frame(received: ReceivedFrame) -> None:
        with lock:
            frames.append(received)

    board.start_stream(on_frame)
    time.sleep(wall_s)
    board.stop_stream()
    return frames


def test_a_fast_board_stamps_frames_on_its_own_clock():
    speed = 4.0
    with (
        DetectorBoardSimulator(
            seed=5, scenario="probe-off", scenario_period_s=10.0, speed=speed
        ) as simulator,
        DetectorBoard(simulator.port) as board,
    ):
        board.roi = msg.Roi(0, 0, 16, 16, 1)
        start = time.monotonic()
        frames = _stream_for(board, 2.0)
        wall_s = time.monotonic() - start
        period_s = 1.0 / board.frame_rate_hz
    counters = np.array([r.frame.frame_counter for r in frames])
    device_s = np.array([r.frame.device_time_us for r in frames]) * 1e-6
    assert np.all(np.diff(counters) == 1)
    # Frames keep the frame period on the board clock …
    np.testing.assert_allclose(np.diff(device_s), period_s, atol=2e-6)
    # … which runs about `speed` times faster than the wall clock.
    assert device_s[-1] - device_s[0] > 0.6 * speed * (wall_s - 0.5)
    # The probe-off stretch (4-6 s of scenario time from the first frame) is dark.
    scenario_s = device_s - device_s[0]
    lit = np.array([r.frame.wavelength_nm == 940 for r in frames])
    level = np.array([r.frame.pixels.mean() for r in frames])
    on = level[lit & (scenario_s < 3.5)]
    off = level[lit & (scenario_s > 4.2) & (scenario_s < 5.8)]
    assert on.size and off.size
    assert off.mean() < on.mean() - 100.0
