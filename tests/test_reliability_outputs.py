"""Commands that write files never overwrite silently: an existing file needs --force, and a run
record or a registry file is never replaced, not even with --force."""

from __future__ import annotations

import hashlib
import json

import h5py
import pytest

from protocols.cli import main
from tests.calibration_fixtures import approved_record, make_registry

pytestmark = pytest.mark.timeout(300)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err.strip()


@pytest.fixture
def run_record(tmp_path, capsys):
    """A real run record of a short simulated acquisition."""
    assert main(["acquire", "--sim", "--duration", "0.3", "--out", str(tmp_path / "runs")]) == 0
    capsys.readouterr()
    (path,) = (tmp_path / "runs").glob("*.h5")
    return path


def test_simulate_ptc_keeps_an_existing_file_unless_forced(tmp_path, capsys):
    out, truth = tmp_path / "ptc.h5", tmp_path / "truth.json"
    assert main(["calib", "simulate-ptc", str(out), "--size", "16", "--truth", str(truth)]) == 0
    before = _digest(out), _digest(truth)
    code, error = _run(capsys, "calib", "simulate-ptc", str(out), "--size", "16", "--seed", "3")
    assert code == 2 and "exists; give --force" in error and str(out) in error
    code, error = _run(
        capsys, "calib", "simulate-ptc", str(tmp_path / "new.h5"), "--size", "16",
        "--truth", str(truth),
    )  # fmt: skip
    assert code == 2 and f"--truth {truth}: exists" in error
    assert not (tmp_path / "new.h5").exists()
    assert (_digest(out), _digest(truth)) == before
    code = main(["calib", "simulate-ptc", str(out), "--size", "16", "--seed", "3", "--force"])
    assert code == 0 and _digest(out) != before[0]
    with h5py.File(out, "r") as dataset:  # a complete file replaced the old one
        assert len(dataset.keys()) > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_simulate_ptc_never_replaces_a_run_record(run_record, capsys):
    before = _digest(run_record)
    for extra in ((), ("--force",)):
        code, error = _run(capsys, "calib", "simulate-ptc", str(run_record), "--size", "16", *extra)
        assert code == 2 and "is a run record; it is never overwritten" in error
        assert len(error.splitlines()) == 1
    code, error = _run(
        capsys, "calib", "simulate-ptc", str(run_record.parent / "x.h5"), "--size", "16",
        "--truth", str(run_record), "--force",
    )  # fmt: skip
    assert code == 2 and "run record" in error
    assert _digest(run_record) == before


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("missing/out.h5", "the folder"),
        (".", "is a folder"),
    ],
)
def test_simulate_ptc_output_problems_are_named(tmp_path, capsys, monkeypatch, out, message):
    monkeypatch.chdir(tmp_path)
    code, error = _run(capsys, "calib", "simulate-ptc", out, "--size", "16")
    assert code == 2 and message in error and out in error
    assert ".ptc" not in error and len(error.splitlines()) == 1


def test_certificate_refuses_to_replace_a_run_record_or_a_registry_file(
    tmp_path, capsys, monkeypatch, run_record
):
    registry = make_registry(tmp_path / "registry")
    reference = approved_record(registry)
    monkeypatch.setenv("NIRPOCT_CALIBRATION_DIR", str(registry.root))
    protected = [run_record, registry.root / "index.json", registry.root / "audit.jsonl"]
    protected += list((registry.root / "records").glob("*.h5"))
    before = [_digest(path) for path in protected]
    for path in protected:
        code, error = _run(capsys, "calib", "certificate", reference, "--out", str(path), "--force")
        assert code == 2 and "never overwritten" in error, error
    assert [_digest(path) for path in protected] == before
    assert registry.verify() == []
    pdf = tmp_path / "cert.pdf"
    pdf.write_text("an older certificate")
    code, error = _run(capsys, "calib", "certificate", reference, "--out", str(pdf))
    assert code == 2 and "exists; give --force" in error
    assert pdf.read_text() == "an older certificate"
    assert main(["calib", "certificate", reference, "--out", str(pdf), "--force"]) == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert json.loads((registry.root / "index.json").read_text())
