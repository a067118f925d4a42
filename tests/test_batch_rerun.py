"""``nirpoct batch rerun``: a protocol run re-analysed from its record with the calibrations
valid now, and ``--from-impact`` choosing the runs an out-of-tolerance calibration affected.
The run is a real ``nirpoct run spo2-screening`` on the simulator."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from calibration.registry import Registry
from instrument.run_record import RunRecordWriter, read_run_record
from protocols.cli import main
from protocols.rerun import RerunOptions, process
from tests.calibration_fixtures import PASSWORDS, make_content
from tests.test_cli_run import SUBJECT, approve, clinical_registry, nirpoct

pytestmark = pytest.mark.timeout(300)

OTHER_CURVE = np.array([104.0, -20.0])  # SpO2 = 104 − 20 R, %: another study's curve


@pytest.fixture(scope="module")
def screening(tmp_path_factory) -> tuple[Path, Path]:
    """A registry (detector record, an SpO2 curve ten days old) and a folder with one
    spo2-screening run made with them."""
    root = tmp_path_factory.mktemp("screening")
    clinical_registry(root / "registry", spo2_curve_days_old=10)
    result = nirpoct(
        "run",
        "spo2-screening",
        "--sim",
        "--subject",
        SUBJECT,
        "--registry",
        "registry",
        "--duration-scale",
        "0.1",
        "--out",
        "runs",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    return root / "registry", next((root / "runs").glob("*.h5"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def _rerun(*argv: object) -> int:
    """``nirpoct batch rerun ARGV…`` on a local cluster of one worker."""
    return main(["batch", "rerun", *map(str, argv), "--workers", "1"])


def _new_curve(registry_root: Path) -> str:
    registry = Registry(registry_root)
    curve = dataclasses.replace(
        make_content(),
        kind="spo2-curve",
        title="SpO2 calibration curve",
        arrays={"coefficients/spo2_curve": OTHER_CURVE},
    )
    return approve(registry, curve)


def test_rerun_reproduces_the_run_then_follows_a_new_curve(screening, tmp_path, capsys):
    registry_root, record_path = screening
    registry_copy = tmp_path / "registry"  # the module's registry stays as the run saw it
    registry_copy.mkdir()
    for item in registry_root.rglob("*"):
        target = registry_copy / item.relative_to(registry_root)
        if item.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(item.read_bytes())
    record = read_run_record(record_path)
    recorded = json.loads(record.results["oximetry"]["results_json"])
    before = _sha256(record_path)

    # With the calibrations the run used (still the valid ones), the same numbers.
    same = process(record_path, RerunOptions(registry=str(registry_copy)))
    oximetry = same.steps["oximetry"]
    assert oximetry.status == "passed" and oximetry.changed == []
    assert oximetry.results["spo2_percent"] == pytest.approx(recorded["spo2_percent"], abs=1e-9)
    assert oximetry.results["curve"] == recorded["curve"]
    assert sorted(use.record for use in same.calibrations) == sorted(record.calibrations)

    # Through the command: one result file in --out, the manifest's key figures.
    out = tmp_path / "first"
    code = _rerun(record_path.parent, "--out", out, "--registry", registry_copy)
    assert code == 0, capsys.readouterr().err
    (row,) = _rows(out)
    assert row["status"] == "ok" and row["changed_figures"] == "0"
    assert float(row["spo2_percent"]) == pytest.approx(recorded["spo2_percent"], abs=1e-9)
    result = json.loads((out / row["result"]).read_text())
    assert result["steps"]["oximetry"]["recorded"]["spo2_percent"] == recorded["spo2_percent"]
    # Resumed with the registry unchanged: nothing to do.
    assert _rerun(record_path.parent, "--out", out, "--registry", registry_copy, "--resume") == 0
    assert _rows(out)[0]["status"] == "skipped"

    # A new SpO2 curve approved today: the re-analysis uses it and the SpO2 moves.
    new_curve = _new_curve(registry_copy)
    moved = process(record_path, RerunOptions(registry=str(registry_copy)))
    oximetry = moved.steps["oximetry"]
    assert new_curve in {use.record for use in moved.calibrations}
    assert oximetry.results["curve"].startswith(f"calibration {new_curve.split('@')[0]}")
    assert "spo2_percent" in oximetry.changed
    assert abs(oximetry.results["spo2_percent"] - recorded["spo2_percent"]) > 1.0
    # The pulse rate does not depend on the curve.
    assert oximetry.results["pulse_rate_bpm"] == pytest.approx(recorded["pulse_rate_bpm"])
    # A resumed batch sees the registry changed and analyses the run again.
    assert _rerun(record_path.parent, "--out", out, "--registry", registry_copy, "--resume") == 0
    (row,) = _rows(out)
    assert row["status"] == "ok" and float(row["spo2_percent"]) == pytest.approx(
        oximetry.results["spo2_percent"]
    )

    # --calibration names the old curve: the run's numbers again.
    kinds = {
        use.record: Registry(registry_copy).entry(use.record).kind for use in same.calibrations
    }
    old_curve = next(reference for reference, kind in kinds.items() if kind == "spo2-curve")
    named = process(
        record_path, RerunOptions(registry=str(registry_copy), calibrations=(old_curve,))
    )
    assert named.steps["oximetry"].results["spo2_percent"] == pytest.approx(
        recorded["spo2_percent"], abs=1e-9
    )
    assert _sha256(record_path) == before  # the original record is never changed


def test_from_impact_reanalyses_only_the_runs_the_calibration_affected(screening, tmp_path, capsys):
    registry_root, record_path = screening
    record = read_run_record(record_path)
    serial = str(record.devices["detector"]["serial"])
    other = tmp_path / "other-board.h5"  # a run made with another detector board
    writer = RunRecordWriter(other, (2, 2), {}, {"detector": {"serial": "OTHER-BOARD"}})
    writer.close("completed", {})
    registry = Registry(registry_root)
    failing = registry.create(
        dataclasses.replace(
            make_content(as_found_gain=0.12),
            item=dataclasses.replace(make_content().item, serial=serial),
        ),
        PASSWORDS["tech"],
    )
    assert failing.out_of_tolerance_as_found

    out = tmp_path / "impact"
    code = _rerun(
        record_path.parent,
        other,
        "--out",
        out,
        "--registry",
        registry_root,
        "--from-impact",
        failing.reference,
    )
    assert code == 0, capsys.readouterr().err
    rows = _rows(out)
    assert [Path(row["path"]) for row in rows] == [record_path.resolve()]
    assert rows[0]["status"] == "ok"

    # A calibration whose as-found results were in tolerance affects nothing.
    good = next(e for e in registry.index().values() if e.kind == "spo2-curve")
    code = _rerun(
        record_path.parent,
        "--out",
        tmp_path / "none",
        "--registry",
        registry_root,
        "--from-impact",
        good.reference,
    )
    assert code == 0
    assert "no run among the inputs is affected" in capsys.readouterr().out


def test_a_plain_acquisition_is_a_failed_row(screening, tmp_path, capsys):
    registry_root, _ = screening
    plain = tmp_path / "runs" / "plain.h5"
    plain.parent.mkdir()
    writer = RunRecordWriter(plain, (2, 2), {}, {"detector": {"serial": "X"}})
    writer.close("completed", {})
    out = tmp_path / "out"
    code = _rerun(plain.parent, "--out", out, "--registry", registry_root)
    assert code == 1
    (row,) = _rows(out)
    assert row["status"] == "failed" and "not a protocol run" in row["error"]
