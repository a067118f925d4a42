"""``nirpoct sim bench|board`` as real processes: what they print, that independent software
(PyMeasure) and our drivers reach what they serve, and that SIGTERM/Ctrl-C stop them cleanly."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest
import pyvisa
from pymeasure.instruments.keithley import Keithley2400
from pymeasure.instruments.srs import SR830 as PyMeasureSR830

from drivers.detector_board import DetectorBoard
from drivers.sr830 import SR830

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = 60.0
PYMEASURE_CONNECTION = {
    "read_termination": "\n",
    "write_termination": "\n",
    "timeout": 3000,
    "visa_library": "@py",
}


@contextmanager
def nirpoct_sim(*args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """Start ``python -m protocols.cli sim ARGS``; yield it and the lines it printed until it
    said it serves (or its one JSON line); kill it if the test left it running."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "protocols.cli", "sim", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    printed: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_forward_lines, args=(process.stdout, printed), daemon=True).start()
    lines: list[str] = []
    try:
        while not lines or not (lines[-1].startswith("{") or lines[-1].startswith("serving")):
            try:
                lines.append(printed.get(timeout=STARTUP_TIMEOUT_S).rstrip("\n"))
            except queue.Empty:
                raise AssertionError(f"no output within {STARTUP_TIMEOUT_S} s") from None
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _forward_lines(stream: IO[str], sink: queue.Queue[str]) -> None:
    for line in stream:
        sink.put(line)


def stop(process: subprocess.Popen[str], how: signal.Signals) -> str:
    """Send ``how``; return stderr after it exited (it must exit with 0 within 10 s)."""
    process.send_signal(how)
    process.wait(timeout=10)
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert process.returncode == 0, stderr
    return stderr


def test_sim_bench_json_serves_pymeasure_and_our_driver_until_sigterm():
    with nirpoct_sim("bench", "--json", "--seed", "5") as (process, lines):
        resources = json.loads(lines[-1])
        assert set(resources) == {"sr830", "sr860", "sourcemeter", "powermeter", "ledsource"}
        independent = PyMeasureSR830(resources["sr830"], **PYMEASURE_CONNECTION)
        assert independent.id.startswith("Stanford_Research_Systems,SR830")
        independent.sensitivity = 0.5
        smu = Keithley2400(resources["sourcemeter"], **PYMEASURE_CONNECTION)
        smu.source_voltage = -1.0
        smu.enable_source()
        assert smu.current < 0  # photocurrent flows in reverse
        with SR830(resources["sr830"]) as ours:  # our strict driver on the same instrument
            assert ours.sensitivity_v == pytest.approx(0.5)
            reading = ours.measure(auto_range=False)
            assert reading.valid
            assert reading.r_v == pytest.approx(independent.magnitude, rel=0.05)
        independent.adapter.close()
        smu.adapter.close()
        stderr = stop(process, signal.SIGTERM)
        assert "Traceback" not in stderr
    port = int(resources["sr830"].split("::")[2])
    with pytest.raises((pyvisa.errors.VisaIOError, OSError)):  # nothing listens any more
        pyvisa.ResourceManager("@py").open_resource(
            f"TCPIP::127.0.0.1::{port}::SOCKET", open_timeout=500
        ).query("*IDN?")


def test_sim_bench_prints_each_resource_and_stops_on_ctrl_c():
    with nirpoct_sim("bench") as (process, lines):
        listed = {line.split()[0]: line.split()[1] for line in lines if "TCPIP::" in line}
        assert set(listed) == {"sr830", "sr860", "sourcemeter", "powermeter", "ledsource"}
        assert all(resource.endswith("::SOCKET") for resource in listed.values())
        assert lines[-1] == "serving until Ctrl-C or SIGTERM"
        stop(process, signal.SIGINT)


def test_sim_board_serves_the_detector_board_on_a_pty_until_sigterm():
    with nirpoct_sim("board", "--json", "--seed", "3") as (process, lines):
        ready = json.loads(lines[-1])
        assert ready["serial"] == "SIM000003"
        with DetectorBoard(ready["port"]) as board:
            assert board.identify().serial == "SIM000003"
        stop(process, signal.SIGTERM)
    assert not os.path.exists(ready["port"]) or not _answers(ready["port"])


def _answers(port: str) -> bool:
    try:
        with DetectorBoard(port, timeout_s=0.5) as board:
            board.identify()
    except Exception:
        return False
    return True


def test_sim_board_refuses_an_unknown_scenario():
    result = subprocess.run(
        [sys.executable, "-m", "protocols.cli", "sim", "board", "--scenario", "storm"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "invalid choice: 'storm' (choose from 'steady', 'desaturation', 'motion'," in (
        result.stderr
    )
