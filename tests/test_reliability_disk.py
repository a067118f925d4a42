"""A full disk stops a run cleanly: refused before starting when the space is lacking; stopped
while running with enough space left to close the record (aborted), one line, exit 1, no
traceback, no crash. On a real 8 MB tmpfs mounted by the test (needs root)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def _acquire(out: Path, duration_s: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "protocols.cli", "acquire", "--sim", "--duration",
         str(duration_s), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_acquisition_larger_than_the_free_space_is_refused_before_it_starts(small_disk):
    process = _acquire(small_disk / "runs", 30.0)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert f"not enough free space in {small_disk / 'runs'}" in err and "needs 54.0 MB" in err
    assert not list(small_disk.glob("runs/*.h5"))


def test_disk_filling_up_during_acquisition_stops_it_cleanly(small_disk):
    process = _acquire(small_disk / "runs", 3.0)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        records = list(small_disk.glob("runs/*.h5"))
        if records and records[0].stat().st_size > 400_000:
            break
        time.sleep(0.1)
    # Another program fills the disk.
    with contextlib.suppress(OSError), open(small_disk / "filler", "wb") as filler:
        filler.write(bytes(5_000_000))
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert err.strip().count("\n") == 0 and "Traceback" not in err, err
    assert f"the disk of {small_disk / 'runs'} is full" in err and "closed (aborted)" in err
    (record,) = small_disk.glob("runs/*.h5")
    with h5py.File(record, "r") as root:  # a plain reader opens it: it was closed
        assert root.attrs["status"] == "aborted"
        frames = root["raw/frames"].shape[0]
        assert 0 < frames == root["raw/time_s"].shape[0]
    assert f"with {frames} frames" in err


def _run_protocol(out: Path, scale: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "protocols.cli", "run", "daily-qc", "--sim", "--duration-scale",
         scale, "--out", str(out), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_protocol_run_larger_than_the_free_space_is_refused_before_its_record(small_disk):
    process = _run_protocol(small_disk / "runs", "1")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert err.strip().count("\n") == 0 and "Traceback" not in err, err
    assert f"not enough free space in {small_disk / 'runs'}: daily-qc" in err
    assert not list(small_disk.glob("runs/*.h5"))


def test_disk_filling_up_during_a_protocol_run_aborts_it_with_a_closed_record(small_disk):
    process = _run_protocol(small_disk / "runs", "0.15")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        records = list(small_disk.glob("runs/*.h5"))
        if records and records[0].stat().st_size > 400_000:
            break
        time.sleep(0.1)
    with contextlib.suppress(OSError), open(small_disk / "filler", "wb") as filler:
        filler.write(bytes(7_000_000))
    _, err = process.communicate(timeout=120)
    assert "Traceback" not in err, err
    (record,) = small_disk.glob("runs/*.h5")
    with h5py.File(record, "r") as root:  # closed: a plain reader opens it
        assert root.attrs["status"] == "aborted", dict(root.attrs)
        assert "is full" in root.attrs["error"]
        assert root["raw/frames"].shape[0] == root["raw/time_s"].shape[0] > 0
    assert process.returncode != 0
