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

from instrument.run_record import RunRecordError, read_run_record

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


def test_log_options_before_the_command_log_to_the_file(tmp_path):
    result = nirpoct(
        "--log-file", "nirpoct.log", "-v", "acquire", "--sim", "--duration", "1", "--out", "out",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    log = (tmp_path / "nirpoct.log").read_text()
    assert "acquiring 200 frames at 200 Hz from the detector board" in log
    assert "acquiring 200 frames" in result.stderr  # -v: the log on stderr too


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


def _wait_for_frames(directory: Path, count: int, timeout_s: float = 60.0) -> Path:
    """The run record in ``directory`` once a reader sees at least ``count`` frames in it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        records = list(directory.glob("run-*.h5"))
        if records:
            try:
                if read_run_record(records[0]).frames.shape[0] >= count:
                    return records[0]
            except RunRecordError:
                pass  # the writer has not yet made its first flush
        time.sleep(0.1)
    pytest.fail(f"no run record with {count} frames appeared in {directory}")


def _start_long_acquisition(directory: Path, **popen_options) -> subprocess.Popen:
    """``nirpoct acquire --sim`` for 60 s into ``directory/out``, as a separate process."""
    command = [sys.executable, "-m", "protocols.cli", "acquire", "--sim", "--duration", "60"]
    return subprocess.Popen([*command, "--out", "out"], cwd=directory, **popen_options)


def test_sigkill_leaves_a_readable_record(tmp_path):
    process = _start_long_acquisition(
        tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    path = _wait_for_frames(tmp_path / "out", 300)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    record = read_run_record(path)
    assert not record.complete
    # Everything a reader had seen before the kill was flushed, so it survives the kill.
    assert record.frames.shape[0] >= 300
    assert list(record.frame_counter) == list(range(record.frames.shape[0]))
    _wait_for_group_exit(process.pid)


def test_ctrl_c_closes_the_record_as_aborted(tmp_path):
    process = _start_long_acquisition(
        tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    path = _wait_for_frames(tmp_path / "out", 100)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and "interrupted" in stderr
    assert "Traceback" not in stderr
    record = read_run_record(path)
    assert record.complete and record.metadata["status"] == "aborted"
    assert record.metadata["error"] == "interrupted" and record.frames.shape[0] >= 100


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


def test_devices_finds_a_board_on_a_serial_port(monkeypatch, capsys):
    from drivers.sim.processes import DetectorBoardSimulator
    from protocols.cli import devices, main

    with DetectorBoardSimulator(seed=4) as simulator:
        port = type("Port", (), {"device": simulator.port})()
        monkeypatch.setattr(devices.list_ports, "comports", lambda: [port])
        assert main(["devices", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found == {
        f"detector@{simulator.port}": {
            "kind": "detector board",
            "model": "NIRPD-A64",
            "serial": "SIM000004",
            "firmware": "1.3.0-sim",
            "address": simulator.port,
        }
    }


def test_devices_says_when_nothing_answers(monkeypatch, capsys):
    from protocols.cli import devices, main

    monkeypatch.setattr(devices.list_ports, "comports", lambda: [])
    assert main(["devices"]) == 1
    assert "no detector board found on any serial port" in capsys.readouterr().out


IMPORTS_AFTER = """
import sys
from protocols.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(",".join(sorted(m for m in {modules!r} if m in sys.modules)))
"""


@pytest.mark.parametrize(
    ("argv", "loaded", "not_loaded"),
    [
        (["--help"], [], ["scipy", "h5py", "PySide6", "protocols.runner", "protocols.cli.run"]),
        (["bogus"], [], ["scipy", "h5py", "PySide6", "protocols.cli.acquire"]),
        (["export", "snirf", "--help"], ["protocols.cli.export"], ["PySide6", "protocols.runner"]),
        (["protocols"], ["protocols.cli.protocol_list"], ["PySide6", "protocols.runner"]),
    ],
)
def test_a_command_loads_only_its_own_module(argv, loaded, not_loaded):
    modules = loaded + not_loaded
    code = IMPORTS_AFTER.format(argv=argv, modules=modules)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.splitlines()[-1] == ",".join(sorted(loaded))
    # Every command is still listed by `nirpoct --help`.
    if argv == ["--help"]:
        for command in ("run", "protocols", "acquire", "analyze", "export", "reconstruct"):
            assert f"    {command}" in result.stdout
