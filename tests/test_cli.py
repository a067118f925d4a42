"""The nirpoct command line as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from instrument.run_record import read_run_record

pytestmark = pytest.mark.timeout(120)


def nirpoct(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "protocols.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=90,
    )


def test_acquire_json_summary(tmp_path):
    result = nirpoct("acquire", "--sim", "--duration", "2", "--out", "out", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["frames"] == 400 and summary["frame_rate_hz"] == 200
    assert summary["dropped_frames"] == 0 and summary["decoder_resyncs"] == 0
    record = read_run_record(tmp_path / summary["record"])
    assert record.frames.shape[0] == 400


def test_human_summary_names_the_record(tmp_path):
    result = nirpoct("acquire", "--sim", "--duration", "1", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "completed: 200 frames" in result.stdout and "out/run-" in result.stdout


def test_unplug_exits_non_zero_without_traceback(tmp_path):
    result = nirpoct(
        "acquire",
        "--sim",
        "--duration",
        "3",
        "--out",
        "out",
        "--json",
        "--sim-fault",
        "unplug@1",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "disconnected" in result.stderr and "frames received before the fault" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "aborted"
    assert read_run_record(tmp_path / summary["record"]).frames.shape[0] == summary["frames"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sim-fault", "melt@1"], "unknown fault kind 'melt'"),
        (["--duration", "-1"], "--duration must be a finite number of seconds > 0"),
        (["--duration", "nan"], "--duration must be a finite number of seconds > 0"),
        (["--duration", "0.001"], "shorter than one frame period"),
        (["--config", "missing.yaml"], "cannot read configuration missing.yaml"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, args, message):
    result = nirpoct("acquire", "--sim", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_invalid_config_names_the_field(tmp_path):
    (tmp_path / "bad.toml").write_text(
        '[detector]\nport = "sim"\nframe_rate_hz = 5000\n'
        "led_pattern = [{wavelength_nm = 660, drive_current_ma = 20}]\n"
    )
    result = nirpoct("acquire", "--config", "bad.toml", "--duration", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.toml: detector.frame_rate_hz" in result.stderr


def test_sigkill_leaves_a_readable_record(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "protocols.cli",
            "acquire",
            "--sim",
            "--duration",
            "60",
            "--out",
            "out",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not list((tmp_path / "out").glob("run-*.h5")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(3.0)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    (path,) = (tmp_path / "out").glob("run-*.h5")
    record = read_run_record(path)
    assert not record.complete
    # Over 3 s of frames at 200 Hz were acquired; at most the last flush interval (0.5 s) and
    # the time to open the instrument are missing: require everything up to 1 s before the kill.
    assert record.frames.shape[0] >= 200 * (3.0 - 1.0)
    assert list(record.frame_counter) == list(range(record.frames.shape[0]))
    _wait_for_group_exit(process.pid)


def _wait_for_group_exit(pgid: int, timeout_s: float = 10.0) -> None:
    """The simulator sees its parent's pipe close and exits by itself."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(pgid, signal.SIGKILL)
    pytest.fail("the board simulator outlived its killed parent")


def test_calib_characterize_simulated_sensor(tmp_path):
    made = nirpoct("calib", "simulate-ptc", "ptc.h5", "--size", "32", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    result = nirpoct("calib", "characterize", "ptc.h5", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    gain = figures["system_gain_dn_per_e"]
    assert gain["unit"] == "DN/e⁻" and gain["value"] == pytest.approx(0.1, rel=0.03)
    assert len(figures["dead_pixels"]) >= 1


def test_calib_characterize_names_a_bad_file(tmp_path):
    (tmp_path / "notes.h5").write_text("not hdf5")
    result = nirpoct("calib", "characterize", "notes.h5", cwd=tmp_path)
    assert result.returncode == 2
    assert "notes.h5: not a readable HDF5 file" in result.stderr
    assert "Traceback" not in result.stderr
