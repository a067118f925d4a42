"""The detector board driver against the simulated board, through a real pseudo-terminal."""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from drivers import detector_messages as msg
from drivers.detector_board import DetectorBoard, ReceivedFrame
from drivers.detector_protocol import ErrorCode
from drivers.errors import DeviceDisconnected, DeviceErrorResponse, DeviceTimeout
from drivers.sim.faults import FaultPlan
from drivers.sim.processes import DetectorBoardSimulator

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def board():
    with DetectorBoardSimulator(seed=3) as simulator, DetectorBoard(simulator.port) as board:
        yield board


def collect_frames(board: DetectorBoard, count: int, timeout_s: float = 10.0):
    frames: list[ReceivedFrame] = []
    done = threading.Event()

    def on_frame(received: ReceivedFrame) -> None:
        frames.append(received)
        if len(frames) >= count:
            done.set()

    board.start_stream(on_frame)
    assert done.wait(timeout_s), f"only {len(frames)} of {count} frames arrived"
    board.stop_stream()
    return frames


def test_identify_reports_model_sensor_and_leds(board):
    identity = board.identify()
    assert identity.serial == "SIM000003"
    assert identity.model and identity.firmware
    assert identity.sensor_height > 0 and identity.sensor_width > 0
    assert {660, 940} <= set(identity.wavelengths_nm)


def test_settings_round_trip(board):
    board.identify()
    board.frame_rate_hz = 100.0
    board.integration_time_us = 5000
    board.gain = 4
    board.roi = msg.Roi(8, 4, 32, 16, 2)
    board.led_pattern = (msg.LedStep(760, 10.0), msg.LedStep(850, 30.5))
    board.calibration_id = "CAL-2026-0042"
    assert board.frame_rate_hz == 100.0
    assert board.integration_time_us == 5000
    assert board.gain == 4
    assert board.roi == msg.Roi(8, 4, 32, 16, 2)
    assert board.led_pattern == (msg.LedStep(760, 10.0), msg.LedStep(850, 30.5))
    assert board.calibration_id == "CAL-2026-0042"
    assert 15.0 < board.read_temperature_c() < 60.0
    board.reset()
    assert board.gain == 1


def test_invalid_value_is_refused_before_sending(board):
    before = board.integration_time_us
    with pytest.raises(ValueError, match="10..1000000"):
        board.integration_time_us = 2_000_000
    with pytest.raises(ValueError, match=r"one of \(1, 2, 4, 8\)"):
        board.gain = 3
    assert board.integration_time_us == before


def test_device_rejection_comes_back_as_coded_error(board, caplog):
    caplog.set_level(logging.INFO, logger="drivers.detector_board")
    board.frame_rate_hz = 500.0
    with pytest.raises(DeviceErrorResponse, match="exceeds the frame period") as caught:
        board.integration_time_us = 5000
    assert caught.value.code == ErrorCode.OUT_OF_RANGE
    assert "refused SET_INTEGRATION_TIME (parameter out of range)" in caplog.text


def test_streamed_frames_follow_the_led_pattern(board):
    board.identify()
    board.led_pattern = (msg.LedStep(660, 20.0), msg.LedStep(940, 20.0))
    board.roi = msg.Roi(0, 0, 16, 16, 1)
    frames = collect_frames(board, 40)
    counters = [r.frame.frame_counter for r in frames]
    assert counters == list(range(len(frames)))
    assert [r.frame.wavelength_nm for r in frames[:4]] == [660, 940, 660, 940]
    assert frames[0].frame.pixels.shape == (16, 16)
    times = [r.frame.device_time_us for r in frames]
    assert all(b - a == 5000 for a, b in itertools.pairwise(times))


def test_settings_are_refused_while_streaming(board):
    board.start_stream(lambda received: None)
    with pytest.raises(DeviceErrorResponse) as caught:
        board.gain = 2
    assert caught.value.code == ErrorCode.BUSY_STREAMING
    board.stop_stream()


def test_two_threads_never_get_each_others_answers(board):
    """Two threads issue different commands at once; every answer must be the one to its own
    command (the driver raises on a mismatched answer, and the values must be plausible)."""
    board.identify()
    errors: list[str] = []

    def hammer(worker: int) -> None:
        try:
            for i in range(40):
                if worker == 0:
                    board.calibration_id = f"worker-{i}"
                    assert board.roi.frame_shape == (board.roi.height, board.roi.width)
                else:
                    assert 15.0 < board.read_temperature_c() < 60.0
                    assert board.frame_rate_hz == 200.0
        except BaseException as exc:
            errors.append(f"worker {worker}: {exc!r}")

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert board.calibration_id == "worker-39"


def test_stalled_board_times_out_with_a_clear_message():
    with (
        DetectorBoardSimulator(fault=FaultPlan.parse("stall@0.2")) as simulator,
        DetectorBoard(simulator.port, timeout_s=0.3) as board,
    ):
        board.start_stream(lambda received: None)
        time.sleep(0.5)
        with pytest.raises(DeviceTimeout, match=r"did not answer READ_TEMPERATURE within 0.3 s"):
            board.read_temperature_c()


def test_unplugged_board_raises_disconnected():
    failures = []
    with (
        DetectorBoardSimulator(fault=FaultPlan.parse("unplug@0.2")) as simulator,
        DetectorBoard(simulator.port) as board,
    ):
        board.start_stream(lambda received: None, failures.append)
        deadline = time.monotonic() + 5
        while not failures and time.monotonic() < deadline:
            time.sleep(0.05)
        assert failures and isinstance(failures[0], DeviceDisconnected)
        with pytest.raises(DeviceDisconnected, match="disconnected"):
            board.identify()


def test_a_replugged_board_comes_back_on_its_stable_path_at_power_on_settings():
    failures: list = []
    frames: list = []
    with DetectorBoardSimulator(fault=FaultPlan.parse("unplug@0.3+0.6")) as simulator:
        assert Path(simulator.port).parent.name == "by-id"
        assert os.readlink(simulator.port) == simulator.ready["tty"]
        with DetectorBoard(simulator.port) as board:
            board.frame_rate_hz = 100.0
            board.start_stream(frames.append, failures.append)
            deadline = time.monotonic() + 5
            while not failures and time.monotonic() < deadline:
                time.sleep(0.02)
            assert failures and isinstance(failures[0], DeviceDisconnected)
            assert not os.path.lexists(simulator.port)  # gone while unplugged
        deadline = time.monotonic() + 5
        while not os.path.lexists(simulator.port) and time.monotonic() < deadline:
            time.sleep(0.02)
        with DetectorBoard(simulator.port) as board:
            assert board.identify().serial == simulator.serial
            assert board.frame_rate_hz == pytest.approx(200.0)  # power-on settings
            before = len(frames)
            board.start_stream(frames.append)
            time.sleep(0.8)  # past the fault's onset again: it does not happen twice
            board.stop_stream()
        after = frames[before].frame
        assert after.frame_counter == 0
        assert after.device_time_us < frames[before - 1].frame.device_time_us  # clock restarted
    assert not Path(simulator.port).parent.exists()  # the private folder is removed


def test_missing_port_is_reported_by_name():
    with pytest.raises(DeviceDisconnected, match="/dev/does-not-exist"):
        DetectorBoard("/dev/does-not-exist").connect()


def test_constructor_does_no_io():
    board = DetectorBoard("/dev/does-not-exist")
    assert board.port == "/dev/does-not-exist"


def test_roi_frames_show_that_part_of_the_sensor(board):
    board.identify()
    board.led_pattern = (msg.LedStep(940, 0.5),)

    def mean_frame(roi: msg.Roi):
        board.roi = roi
        frames = collect_frames(board, 20)
        return np.mean([r.frame.pixels for r in frames], axis=0)

    full = mean_frame(msg.Roi(0, 0, 64, 64))
    part = mean_frame(msg.Roi(8, 20, 16, 16))
    binned = mean_frame(msg.Roi(8, 20, 16, 16, 2))
    np.testing.assert_allclose(part, full[8:24, 20:36], rtol=0.1)
    assert not np.allclose(part, full[0:16, 0:16], rtol=0.1)
    assert binned.shape == (8, 8)
    # On-chip binning sums the charge of 2×2 pixels before one readout (one black level, 64 DN).
    black = 64.0
    summed = (part - black).reshape(8, 2, 8, 2).sum(axis=(1, 3))
    unsaturated = binned < 3500
    assert unsaturated.sum() >= 16
    np.testing.assert_allclose(binned[unsaturated] - black, summed[unsaturated], rtol=0.15)
