"""Signals never leave a broken record: SIGTERM/SIGHUP close it ``aborted`` like Ctrl-C; after
SIGKILL, ``nirpoct records repair`` finalises it so plain h5py opens it, status ``interrupted``,
every flushed frame kept. Real ``python -m protocols.cli acquire --sim`` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from instrument.record_repair import consistency_flags, lookup3
from instrument.run_record import read_run_record
from protocols.cli import main

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[1]


def _start_acquisition(out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "protocols.cli", "acquire", "--sim", "--duration", "120",
         "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )  # fmt: skip


def _wait_for_frames(out: Path, process: subprocess.Popen, frames: int = 100) -> Path:
    """The record once a SWMR reader sees at least ``frames`` flushed frames."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for path in out.glob("*.h5"):
            try:
                with h5py.File(path, "r", swmr=True) as root:
                    if root["raw/frames"].shape[0] >= frames:
                        return path
            except (OSError, KeyError):
                pass
        time.sleep(0.2)
    raise AssertionError("the acquisition wrote no frames")


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGHUP])
def test_termination_signal_closes_the_record_aborted(tmp_path, sent):
    process = _start_acquisition(tmp_path)
    path = _wait_for_frames(tmp_path, process)
    process.send_signal(sent)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + sent, err
    assert f"stopped by {sent.name}" in err and "Traceback" not in err
    with h5py.File(path, "r") as root:  # plain reader: the record was closed
        assert root.attrs["status"] == "aborted"
        assert root["raw/frames"].shape[0] >= 100


def test_killed_acquisition_is_finalised_by_records_repair(tmp_path, capsys):
    process = _start_acquisition(tmp_path)
    path = _wait_for_frames(tmp_path, process, frames=150)
    process.kill()
    process.communicate(timeout=60)
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(path, "r")
    assert consistency_flags(path) != 0
    with h5py.File(path, "r", swmr=True) as root:
        flushed = min(root[f"raw/{name}"].shape[0] for name in ("frames", "time_s"))
    time.sleep(5.5)  # the repair leaves records modified in the last 5 s alone
    assert main(["records", "list", str(tmp_path), "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["status"] == "unfinished" and listed["frames"] >= flushed

    assert main(["records", "repair", str(path)]) == 0
    out = capsys.readouterr().out
    assert "finalised, status interrupted" in out
    with h5py.File(path, "r") as root:
        assert root.attrs["status"] == "interrupted"
        assert root["raw/frames"].shape[0] == root["raw/time_s"].shape[0] >= flushed
    record = read_run_record(path)
    assert record.metadata["status"] == "interrupted" and record.frames.shape[0] >= flushed
    assert main(["records", "repair", str(path)]) == 0
    assert "already finished" in capsys.readouterr().out
    assert main(["records", "list", str(tmp_path)]) == 0
    assert "interrupted" in capsys.readouterr().out


def test_acquire_finalises_a_record_a_crash_left_in_its_folder(tmp_path, capsys):
    process = _start_acquisition(tmp_path)
    path = _wait_for_frames(tmp_path, process)
    process.kill()
    process.communicate(timeout=60)
    time.sleep(5.5)
    assert main(["acquire", "--sim", "--duration", "0.2", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert f"{path} was left open by an earlier run" in err and "finalised as interrupted" in err
    with h5py.File(path, "r") as root:
        assert root.attrs["status"] == "interrupted"
    statuses = []
    for record in tmp_path.glob("*.h5"):
        with h5py.File(record, "r") as root:
            statuses.append(str(root.attrs["status"]))
    assert sorted(statuses) == ["completed", "interrupted"]


def test_records_repair_refuses_what_it_must_not_touch(tmp_path, capsys):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    assert main(["records", "repair", str(text), str(tmp_path / "missing.h5")]) == 1
    err = capsys.readouterr().err
    assert f"{text}: not an HDF5 file" in err and "missing.h5: no such file" in err


def test_lookup3_matches_the_published_test_vectors():
    # Bob Jenkins' lookup3.c driver5: hashlittle("", 0) and "Four score and seven years ago".
    assert lookup3(b"", 0) == 0xDEADBEEF
    assert lookup3(b"", 0xDEADBEEF) == 0xBD5B7DDE
    assert lookup3(b"Four score and seven years ago", 0) == 0x17770551
    assert lookup3(b"Four score and seven years ago", 1) == 0xCD628161
