"""``nirpoct batch``: the single commands' numbers, a real Dask scheduler and workers on
loopback, a worker killed mid-batch, damaged inputs, --resume."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

from instrument.snirf import read_snirf, write_snirf
from protocols.cli import main
from tests.test_cli_reconstruct import small_recording
from tests.test_snirf import small_data, write_sim_record

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
DOT_DATA = ROOT / "tests" / "data" / "dot"
RECORDS = 4
TRUE_SPO2_PERCENT = 98.0  # TissueConfig's default arterial saturation
TRUE_PULSE_RATE_BPM = 72.0


def _manifest(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def _without_timing(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]


def _batch(capsys, *argv: object) -> tuple[int, dict]:
    code = main(["batch", *map(str, argv), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def _damaged_inputs(folder: Path, record: Path) -> dict[str, str]:
    """Corrupt, truncated and foreign files beside the records; name → words of its error."""
    content = record.read_bytes()
    (folder / "truncated.h5").write_bytes(content[: len(content) // 3])
    corrupt = bytearray(content)
    corrupt[96:4096] = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    (folder / "corrupt.h5").write_bytes(bytes(corrupt))
    (folder / "photo.h5").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (folder / "table.csv").write_text("name,age\nalice,3\n")
    shutil.copy(DOT_DATA / "slab_baseline.snirf", folder / "probe.h5")
    return {
        "truncated.h5": "truncated file",
        "corrupt.h5": "damaged record",
        "photo.h5": "not an HDF5 file",
        "table.csv": "header must be time",
        "probe.h5": "not a nirpoct-run file",
    }


@pytest.fixture(scope="module")
def ppg_inputs(tmp_path_factory) -> tuple[Path, list[Path], dict[str, str]]:
    """Simulated run records (6 s, 100 frames/s) and damaged files in one folder."""
    folder = tmp_path_factory.mktemp("ppg-inputs")
    key = tmp_path_factory.getbasetemp() / "pseudonym.key"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NIRPOCT_KEY_FILE", str(key))
        records = []
        for seed in range(RECORDS):
            path = folder / ("site-a" if seed % 2 else "site-b") / f"run-{seed}.h5"
            path.parent.mkdir(exist_ok=True)
            write_sim_record(path, duration_s=6.0, frame_rate_hz=100.0, seed=seed)
            records.append(path)
    damaged = _damaged_inputs(folder, records[0])
    return folder, records, damaged


def test_ppg_batch_equals_single_command_and_names_damaged_inputs(ppg_inputs, tmp_path, capsys):
    folder, records, damaged = ppg_inputs
    out = tmp_path / "out"
    code, summary = _batch(capsys, "ppg", folder, "--out", out, "--pair", "660,940", "--workers", 2)
    assert code == 1  # damaged inputs failed, the batch went on
    assert summary["inputs"] == RECORDS + len(damaged)
    assert (summary["ok"], summary["failed"], summary["skipped"]) == (RECORDS, len(damaged), 0)
    rows = {Path(row["path"]).name: row for row in _manifest(out)}
    for record in records:
        row = rows[record.name]
        assert row["status"] == "ok" and row["error"] == ""
        assert row["size_bytes"] == str(record.stat().st_size)
        result = out / record.parent.name / row["result"]
        # The batch calls the single command's own function: the same JSON, not merely close.
        assert main(["analyze", "ppg", str(record), "--pair", "660,940", "--json"]) == 0
        assert json.loads(result.read_text()) == json.loads(capsys.readouterr().out)
        assert abs(float(row["median_spo2_percent"]) - TRUE_SPO2_PERCENT) < 3.0
        assert abs(float(row["mean_pulse_rate_bpm"]) - TRUE_PULSE_RATE_BPM) < 3.0
    for name, words in damaged.items():
        row = rows[name]
        assert row["status"] == "failed" and row["result"] == ""
        assert words in row["error"] and name in row["error"]
        assert "\n" not in row["error"] and "Traceback" not in row["error"]
    assert len({row["options_sha256"] for row in rows.values()}) == 1
    assert not [p for p in out.rglob(".*")]  # no temporary file left


def test_resume_skips_done_inputs_and_redoes_changed_ones(ppg_inputs, tmp_path, capsys):
    folder, _, damaged = ppg_inputs
    inputs = tmp_path / "inputs"
    shutil.copytree(folder, inputs)
    out = tmp_path / "out"
    assert _batch(capsys, "ppg", inputs, "--out", out, "--workers", 1)[0] == 1
    first = {row["path"]: row for row in _manifest(out)}
    results = {p: p.stat().st_mtime_ns for p in out.rglob("*.ppg.json")}
    # An earlier batch is neither overwritten nor continued unasked.
    code = main(["batch", "ppg", str(inputs), "--out", str(out)])
    assert code == 2 and "--resume" in capsys.readouterr().err
    changed = inputs / "site-a" / "run-1.h5"
    changed.unlink()
    write_sim_record(changed, duration_s=6.0, frame_rate_hz=100.0, seed=11)
    code, summary = _batch(capsys, "ppg", inputs, "--out", out, "--resume", "--workers", 1)
    assert code == 1  # the damaged inputs are tried again and fail again
    assert (summary["skipped"], summary["ok"], summary["failed"]) == (
        RECORDS - 1,
        1,
        len(damaged),
    )
    second = {row["path"]: row for row in _manifest(out)}
    assert second[str(changed)]["status"] == "ok"
    assert second[str(changed)]["sha256"] != first[str(changed)]["sha256"]
    for path, row in second.items():
        if row["status"] == "skipped":
            assert row["sha256"] == first[path]["sha256"]
            assert row["median_spo2_percent"] == first[path]["median_spo2_percent"]
    for result, mtime in results.items():
        if "run-1.h5" not in result.name:
            assert result.stat().st_mtime_ns == mtime  # skipped: not written again
    # Other options are another batch: nothing skipped.
    code, summary = _batch(capsys, "ppg", inputs, "--out", out, "--resume", "--fs", "20")
    assert summary["skipped"] == 0 and summary["ok"] == RECORDS


def test_nirs_batch_equals_single_command(tmp_path, capsys):
    folder = tmp_path / "snirf"
    folder.mkdir()
    rng = np.random.default_rng(5)
    for k in range(3):
        write_snirf(folder / f"cw-{k}.snirf", small_data(values=1000.0 + rng.normal(0, 5, (50, 4))))
    out = tmp_path / "out"
    code, summary = _batch(capsys, "nirs", folder, "--out", out, "--dpf", "6.5,5.5")
    assert code == 0 and summary["ok"] == 3
    for row in _manifest(out):
        single_out = tmp_path / f"{Path(row['path']).stem}.hb.snirf"
        args = ["analyze", "nirs", row["path"], "--dpf", "6.5,5.5", "--out", str(single_out)]
        assert main([*args, "--json"]) == 0
        single = json.loads(capsys.readouterr().out)
        batched = json.loads((out / row["result"]).read_text())
        assert batched.pop("out").endswith(".hb.snirf") and single.pop("out")
        assert batched == single
        assert int(row["channels"]) == 2 and float(row["hbo_max_um"]) > 0.0
        hb_batched = read_snirf(out / f"{Path(row['path']).name}.hb.snirf")
        np.testing.assert_array_equal(hb_batched.values, read_snirf(single_out).values)


def test_reconstruct_batch_equals_single_command(tmp_path, capsys):
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(DOT_DATA / "slab_measurement.snirf", folder / "slab.snirf")
    write_snirf(folder / "homogeneous.snirf", small_recording())
    options = ["--baseline", DOT_DATA / "slab_baseline.snirf", "--slab-thickness-mm", 60]
    out = tmp_path / "out"
    code, summary = _batch(capsys, "reconstruct", folder, "--out", out, *options, "--workers", 1)
    assert code == 1 and summary["ok"] == 1 and summary["failed"] == 1
    rows = {Path(row["path"]).name: row for row in _manifest(out)}
    # The 2×2 probe is not the slab probe of the baseline: refused, with the reason.
    assert rows["homogeneous.snirf"]["status"] == "failed"
    assert "homogeneous.snirf" in rows["homogeneous.snirf"]["error"]
    row = rows["slab.snirf"]
    assert row["status"] == "ok" and int(row["inclusions"]) >= 1
    assert float(row["peak_contrast"]) >= 1.3  # the phantom's sphere has contrast 2
    single_maps = tmp_path / "single.h5"
    argv = ["reconstruct", row["path"], *map(str, options), "--out", str(single_maps), "--json"]
    assert main(argv) == 0
    single = json.loads(capsys.readouterr().out)
    batched = json.loads((out / row["result"]).read_text())
    assert batched.pop("seconds") >= 0.0 and single.pop("seconds") >= 0.0  # wall time
    assert batched == single
    with h5py.File(out / "slab.snirf.maps.h5") as mine, h5py.File(single_maps) as theirs:
        assert set(mine["maps"]) == set(theirs["maps"])
        for name in mine["maps"]:
            # Same function, same data; a Dask worker runs BLAS on one thread, this process on
            # several, so sums may be ordered differently (last digits only).
            np.testing.assert_allclose(
                mine["maps"][name][()], theirs["maps"][name][()], rtol=1e-9, atol=1e-15
            )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def dask_cluster(scratch: Path, workers: int = 2) -> Iterator[tuple[str, list]]:
    """A real ``dask scheduler`` and `workers` ``dask worker`` processes (no nanny, so a
    worker's process id is the worker) on loopback; they import the project from this tree."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    log = open(scratch / "dask.log", "w")  # noqa: SIM115 - closed below
    common = {"env": env, "stdout": log, "stderr": subprocess.STDOUT, "cwd": scratch}
    port = address.rsplit(":", 1)[1]
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
            **common,
        )
    ]
    try:
        for k in range(workers):
            processes.append(
                subprocess.Popen(
                    [
                        DASK,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--name",
                        f"w{k}",
                        "--local-directory",
                        str(scratch),
                    ],
                    **common,
                )
            )
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, processes[1:]
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def test_scheduler_batch_gives_the_local_manifest(ppg_inputs, tmp_path, capsys):
    folder, _, damaged = ppg_inputs
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert _batch(capsys, "ppg", folder, "--out", local, "--workers", 2)[0] == 1
    with dask_cluster(tmp_path) as (address, _):
        code, summary = _batch(capsys, "ppg", folder, "--out", remote, "--scheduler", address)
    assert code == 1 and summary["workers"] == 2 and summary["failed"] == len(damaged)
    assert _without_timing(_manifest(remote)) == _without_timing(_manifest(local))
    for result in local.rglob("*.ppg.json"):
        assert result.read_text() == (remote / result.relative_to(local)).read_text()


def test_killed_worker_loses_no_input_and_leaves_no_partial_output(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    count = 4
    for k in range(count):
        shutil.copy(DOT_DATA / "slab_measurement.snirf", scans / f"scan-{k}.snirf")
    out = tmp_path / "out"
    options = [
        *("--baseline", str(DOT_DATA / "slab_baseline.snirf")),
        *("--slab-thickness-mm", "60", "--method", "linear"),
    ]
    with dask_cluster(tmp_path) as (address, workers):
        batch = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "protocols.cli",
                "batch",
                "reconstruct",
                str(scans),
                "--out",
                str(out),
                *options,
                "--scheduler",
                address,
                "--json",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 240
        while not list(out.glob("*.reconstruct.json")) and batch.poll() is None:
            assert time.monotonic() < deadline, "no result appeared"
            time.sleep(0.05)
        done_before_kill = len(list(out.glob("*.reconstruct.json")))
        os.kill(workers[0].pid, signal.SIGKILL)
        stdout, stderr = batch.communicate(timeout=240)
    assert done_before_kill < count  # the worker died mid-batch
    assert batch.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["ok"] == count and summary["failed"] == 0
    rows = _manifest(out)
    assert [row["status"] for row in rows] == ["ok"] * count
    assert len({row["inclusions"] for row in rows}) == 1  # identical inputs, identical results
    for row in rows:
        json.loads((out / row["result"]).read_text())
        with h5py.File(out / row["result"].replace(".reconstruct.json", ".maps.h5")) as maps:
            assert "maps" in maps
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.csv"]
        + [f"scan-{k}.snirf.reconstruct.json" for k in range(count)]
        + [f"scan-{k}.snirf.maps.h5" for k in range(count)]
    )


def test_progress_on_a_terminal(tmp_path):
    """Files done / total, rate, time left and failures on stderr when it is a terminal."""
    folder = tmp_path / "snirf"
    folder.mkdir()
    for k in range(2):
        write_snirf(folder / f"cw-{k}.snirf", small_data())
    (folder / "notes.snirf").write_text("not SNIRF\n")
    controller, terminal = pty.openpty()
    batch = subprocess.Popen(
        [
            *(sys.executable, "-m", "protocols.cli", "batch", "nirs", str(folder)),
            *("--out", str(tmp_path / "out"), "--workers", "1"),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
    )
    os.close(terminal)
    stdout, _ = batch.communicate(timeout=240)
    drawn = b""
    with contextlib.suppress(OSError):  # the terminal closes with the process
        while chunk := os.read(controller, 4096):
            drawn += chunk
    os.close(controller)
    assert batch.returncode == 1
    last = drawn.decode().replace("\r\n", "\n").split("\r")[-1]
    assert "3/3 files" in last and "1 failed" in last and "ETA" in last and "/s" in last
    assert "2 ok, 1 failed" in stdout
