"""Records of runs that did not finish are analysed and exported with a one-line warning;
damaged records and folders are refused with one line naming the file."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import h5py
import pytest

from instrument.run_record import RunRecordError, read_run_header, read_run_record
from protocols.cli import main
from tests.test_snirf import write_sim_record

pytestmark = pytest.mark.timeout(300)

WARNING = "the run did not finish (record status interrupted)"


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> tuple[Path, Path]:
    """A finished record and a copy marked ``interrupted``, as ``nirpoct records repair``
    leaves a record a crash left open."""
    folder = tmp_path_factory.mktemp("records")
    finished = folder / "finished.h5"
    write_sim_record(finished, duration_s=6.0)
    interrupted = folder / "interrupted.h5"
    shutil.copy(finished, interrupted)
    with h5py.File(interrupted, "r+") as root:
        root.attrs["status"] = "interrupted"
    return finished, interrupted


def test_unfinished_records_are_unfinished(records):
    finished, interrupted = records
    assert read_run_record(finished).complete
    assert not read_run_record(interrupted).complete


def test_analyses_and_exports_of_an_interrupted_run_warn(records, tmp_path, capsys):
    finished, interrupted = records
    assert main(["analyze", "ppg", str(interrupted), "--json"]) == 0
    err = capsys.readouterr().err
    assert f"nirpoct: warning: {interrupted}: {WARNING}" in err
    assert len([line for line in err.splitlines() if "warning" in line]) == 1

    snirf = tmp_path / "interrupted.snirf"
    assert main(["export", "snirf", str(interrupted), str(snirf), "--region-px", "16"]) == 0
    assert WARNING in capsys.readouterr().err
    assert main(["analyze", "nirs", str(snirf), "--json"]) == 0
    assert f"{snirf}: {WARNING}" in capsys.readouterr().err

    # A finished record: no warning anywhere.
    assert main(["analyze", "ppg", str(finished), "--json"]) == 0
    assert "warning" not in capsys.readouterr().err
    clean = tmp_path / "finished.snirf"
    assert main(["export", "snirf", str(finished), str(clean), "--region-px", "16"]) == 0
    assert main(["analyze", "nirs", str(clean), "--json"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_batch_rows_of_an_interrupted_run_carry_the_warning(records, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["batch", "ppg", str(records[0].parent), "--out", str(out), "--workers", "1"])
    assert code == 0, capsys.readouterr().err
    with open(out / "manifest.csv", newline="") as stream:
        rows = {Path(row["path"]).name: row for row in csv.DictReader(stream)}
    assert rows["finished.h5"]["status"] == rows["interrupted.h5"]["status"] == "ok"
    assert rows["finished.h5"]["warning"] == ""
    assert WARNING in rows["interrupted.h5"]["warning"]


def _damaged(record: Path, target: Path, damage: str) -> Path:
    shutil.copy(record, target)
    with h5py.File(target, "r+") as root:
        if damage == "dataset replaced by a group":
            del root["raw/time_s"]
            root.create_group("raw/time_s")
        elif damage == "dangling link":
            root.require_group("results")["lost"] = h5py.SoftLink("/nowhere")
            root["protocol"] = h5py.SoftLink("/nowhere")
    return target


@pytest.mark.parametrize("damage", ["dataset replaced by a group", "dangling link"])
def test_a_damaged_record_is_one_error_naming_the_file(records, tmp_path, capsys, damage):
    path = _damaged(records[0], tmp_path / "damaged.h5", damage)
    with pytest.raises(RunRecordError, match=f"^{path}: damaged record"):
        read_run_record(path)
    if damage == "dangling link":
        with pytest.raises(RunRecordError, match=f"^{path}: damaged record"):
            read_run_header(path)
    assert main(["analyze", "ppg", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nirpoct: error: {path}: damaged record") and err.count("\n") == 1


def test_a_folder_given_to_analyze_ppg_is_called_a_folder(tmp_path, capsys):
    assert main(["analyze", "ppg", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"nirpoct: error: {tmp_path}: is a folder, not a run record or CSV file\n"
    )
    assert main(["analyze", "nirs", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
