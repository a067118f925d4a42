"""A rolled-back calibration registry is caught (its audit chain's head is witnessed outside it
and kept by run records); verification refuses a missing registry, names every damaged file and
goes on past the first problem; ``calib list`` shows integrity."""

from __future__ import annotations

import json
import shutil

import h5py
import pytest

from calibration.registry import ChainHead, Registry
from protocols.cli import main
from tests.calibration_fixtures import PASSWORDS, approved_record, make_registry

pytestmark = pytest.mark.timeout(300)


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def rolled_back(tmp_path, monkeypatch):
    """A registry whose approved record was revoked, then an older copy put back."""
    registry = make_registry(tmp_path / "registry")
    reference = approved_record(registry)
    shutil.copytree(registry.root, tmp_path / "backup")
    registry.sign(reference, "revoked", "boss", PASSWORDS["boss"], "detector dropped")
    revoked_head = registry.chain_head()
    shutil.rmtree(registry.root)
    shutil.copytree(tmp_path / "backup", registry.root)
    monkeypatch.setenv("NIRPOCT_CALIBRATION_DIR", str(registry.root))
    monkeypatch.chdir(tmp_path)
    return registry, reference, revoked_head


def test_rollback_is_reported_by_verify_and_list(rolled_back, capsys):
    registry, reference, _ = rolled_back
    assert registry.entry(reference).lifecycle == "approved"  # the revocation is gone
    problems = registry.verify()
    assert len(problems) == 1 and "rolled back" in problems[0]
    assert str(registry.witness_path) in problems[0]
    code, out, _ = _cli(capsys, "calib", "verify")
    assert code == 1 and "INTEGRITY FAILURE" in out and "rolled back" in out
    code, out, _ = _cli(capsys, "calib", "list")
    assert code == 1 and "integrity FAILED" in out and "NOT USABLE" in out
    code, out, _ = _cli(capsys, "calib", "list", "--json")
    (entry,) = json.loads(out)
    assert entry["state"] == "approved" and entry["integrity"] == "FAILED"
    assert any("rolled back" in p for p in entry["integrity_problems"])


def test_rolled_back_registry_blocks_a_clinical_run(rolled_back, capsys, monkeypatch):
    _, reference, _ = rolled_back
    code, _, err = _cli(
        capsys, "acquire", "--sim", "--duration", "0.3", "--out", "runs", "--clinical",
        "--calibration", reference,
    )  # fmt: skip
    assert code == 1 and "clinical run refused" in err and "failed verification" in err, err


def test_head_kept_by_a_run_record_catches_a_rollback_without_the_witness(rolled_back):
    registry, _, revoked_head = rolled_back
    registry.witness_path.unlink()
    attributes = revoked_head.as_attributes()
    head = ChainHead.from_attributes(attributes)
    assert head == revoked_head
    problem = registry.rollback_problem(head, "run record runs/x.h5")
    assert problem is not None and "run record runs/x.h5" in problem and "rolled back" in problem
    older = ChainHead(head.length - 1, registry.audit.entries()[head.length - 2].entry_hash)
    assert registry.rollback_problem(older, "an older run") is None


def test_a_registry_replaced_by_another_is_reported(tmp_path):
    registry = make_registry(tmp_path / "registry")
    approved_record(registry)
    shutil.rmtree(registry.root)
    other = make_registry(tmp_path / "registry")  # same path, a different chain
    problems = Registry(other.root).verify()
    assert any("replaced or rewritten" in p or "rolled back" in p for p in problems), problems


def test_intact_registry_verifies_and_lists_as_intact(tmp_path, capsys, monkeypatch):
    registry = make_registry(tmp_path / "registry")
    reference = approved_record(registry)
    monkeypatch.setenv("NIRPOCT_CALIBRATION_DIR", str(registry.root))
    assert registry.verify() == []
    assert json.loads(registry.witness_path.read_text())["length"] == len(registry.audit.entries())
    code, out, _ = _cli(capsys, "calib", "list")
    assert code == 0 and reference in out and "integrity intact" in out


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_verify_refuses_a_registry_that_is_not_there(tmp_path, capsys, kind):
    path = tmp_path / "registry"
    if kind == "file":
        path.write_text("not a registry")
    code, out, err = _cli(capsys, "calib", "verify", "--registry", str(path))
    assert code == 2 and "intact" not in out and str(path) in err
    assert ("no such folder" if kind == "missing" else "is a file") in err
    (tmp_path / "empty").mkdir()
    code, out, _ = _cli(capsys, "calib", "verify", "--registry", str(tmp_path / "empty"))
    assert code == 1 and "audit.jsonl: missing" in out


def test_verify_names_every_damaged_file_and_goes_on(tmp_path, capsys):
    registry = make_registry(tmp_path / "registry")
    reference = approved_record(registry)
    second = approved_record(registry)
    (registry.root / "index.json").write_text("{garbage")
    entry = registry.entry(second)
    with h5py.File(registry.root / entry.file, "r+") as handle:
        signatures = handle["signatures"]
        name = sorted(signatures)[-1]
        del signatures[name]
        signatures.create_dataset(name, data="not a signature")
    code, out, err = _cli(capsys, "calib", "verify", "--registry", str(registry.root))
    assert code == 1, err
    assert "index.json: unreadable or not JSON" in out
    assert f"{second}: {registry.root / entry.file}" in out and "corrupt" in out
    assert reference not in out  # the intact record is not blamed
    code, _, err = _cli(capsys, "calib", "show", second, "--registry", str(registry.root))
    assert code == 2 and f"{second}: {registry.root / entry.file}" in err and "corrupt" in err
    (registry.root / "users.json").write_text("[1, 2")
    code, _, err = _cli(capsys, "calib", "list", "--registry", str(registry.root))
    assert code == 2 and "users.json: unreadable or malformed" in err
    assert len(err.strip().splitlines()) == 1


def test_the_newest_run_records_catch_a_registry_put_back_with_its_witness(tmp_path, capsys):
    """Backup restored together with its witness file: the run records made in between still
    hold the newer audit head, and a clinical run (acquire or protocol) is refused before any
    device is opened."""
    registry = make_registry(tmp_path / "registry")
    reference = approved_record(registry)
    shutil.copytree(registry.root, tmp_path / "backup")
    shutil.copy(registry.witness_path, tmp_path / "backup-witness.json")
    runs = tmp_path / "runs"
    code, _, err = _cli(
        capsys, "acquire", "--sim", "--duration", "0.3", "--out", str(runs),
        "--registry", str(registry.root), "--calibration", reference,
    )  # fmt: skip
    assert code == 0, err
    (made,) = runs.glob("*.h5")
    with h5py.File(made, "r") as record:
        assert record.attrs["calibration_audit_length"] == len(registry.audit.entries())
    registry.sign(reference, "revoked", "boss", PASSWORDS["boss"], "detector dropped")
    code, _, err = _cli(
        capsys, "acquire", "--sim", "--duration", "0.3", "--out", str(runs),
        "--registry", str(registry.root), "--calibration", reference,
    )  # fmt: skip
    assert code == 0, err  # a research acquisition after the revocation: the newer head
    shutil.rmtree(registry.root)
    shutil.copytree(tmp_path / "backup", registry.root)
    shutil.copy(tmp_path / "backup-witness.json", registry.witness_path)
    assert Registry(registry.root).verify() == []  # the restored registry looks intact alone
    code, _, err = _cli(
        capsys, "acquire", "--sim", "--duration", "0.3", "--out", str(runs), "--clinical",
        "--registry", str(registry.root), "--calibration", reference,
    )  # fmt: skip
    assert code == 1 and "clinical run refused" in err and "rolled back" in err, err
    assert "run record" in err and len(list(runs.glob("*.h5"))) == 2
    code, out, err = _cli(
        capsys, "run", "spo2-screening", "--sim", "--out", str(runs), "--subject", "S-1",
        "--registry", str(registry.root),
    )  # fmt: skip
    assert code == 1 and "rolled back" in out + err, out + err
    assert len(list(runs.glob("*.h5"))) == 2  # refused before any device was opened
