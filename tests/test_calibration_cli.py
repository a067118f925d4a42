"""The calibration workflow as a lab runs it from the command line: characterise, record,
review, approve, certify, verify; and clinical runs refused on unusable calibrations."""

from __future__ import annotations

import datetime as dt
import json

import h5py
import numpy as np
import pytest
from pypdf import PdfReader

from calibration.detector_record import frame_correction_from_record
from calibration.registry import Registry
from drivers.sim.scene import Scene
from drivers.sim.sensor import SensorConfig
from drivers.sim.tissue import TissueConfig
from imaging.frame_correction import correct_frames
from instrument.run_record import read_run_record
from protocols.cli import main

pytestmark = pytest.mark.timeout(300)

PASSWORDS = {
    "admin": "admin-pass-1",
    "tech": "tech-pass-1",
    "rev": "rev-pass-11",
    "boss": "boss-pass-1",
}


def run(capsys, monkeypatch, *args: str, password: str | None = None) -> tuple[int, str, str]:
    if password is None:
        monkeypatch.delenv("NIRPOCT_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("NIRPOCT_PASSWORD", password)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def lab(tmp_path, monkeypatch, capsys):
    """A registry with four people, a simulated photon-transfer dataset and a context file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NIRPOCT_CALIBRATION_DIR", str(tmp_path / "registry"))
    monkeypatch.setenv("NIRPOCT_NEW_PASSWORD", PASSWORDS["admin"])
    assert (
        run(
            capsys,
            monkeypatch,
            "calib",
            "users",
            "add",
            "admin",
            "--name",
            "Ada Admin",
            "--role",
            "administrator",
        )[0]
        == 0
    )
    monkeypatch.setenv("NIRPOCT_ADMIN_PASSWORD", PASSWORDS["admin"])
    for user, name, role in [
        ("tech", "Tom Tech", "performer"),
        ("rev", "Rita Review", "reviewer"),
        ("boss", "Bo Approver", "approver"),
    ]:
        monkeypatch.setenv("NIRPOCT_NEW_PASSWORD", PASSWORDS[user])
        code, _, err = run(
            capsys,
            monkeypatch,
            "calib",
            "users",
            "add",
            user,
            "--name",
            name,
            "--role",
            role,
            "--admin",
            "admin",
        )
        assert code == 0, err
    assert run(capsys, monkeypatch, "calib", "simulate-ptc", "ptc.h5", "--size", "32")[0] == 0
    code, template, _ = run(capsys, monkeypatch, "calib", "context-template")
    (tmp_path / "context.yaml").write_text(template)
    return tmp_path


def record(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """``nirpoct calib ACTION …`` in the test lab's context, performed by tech."""
    return run(
        capsys,
        monkeypatch,
        "calib",
        *args,
        "--context",
        "context.yaml",
        "--performer",
        "tech",
        password=PASSWORDS["tech"],
    )


def create_record(capsys, monkeypatch, *extra: str) -> str:
    code, out, err = record(
        capsys,
        monkeypatch,
        "record-detector",
        "ptc.h5",
        *extra,
    )
    assert code == 0, err
    return out.split()[1].split("@")[0]


def approve(capsys, monkeypatch, record_id: str) -> None:
    for meaning, user in (("reviewed", "rev"), ("approved", "boss")):
        code, _, err = run(
            capsys,
            monkeypatch,
            "calib",
            "sign",
            record_id,
            "--meaning",
            meaning,
            "--user",
            user,
            password=PASSWORDS[user],
        )
        assert code == 0, err


def clinical_run(capsys, monkeypatch, record_id: str, *extra: str, password=None):
    return run(
        capsys,
        monkeypatch,
        "acquire",
        "--sim",
        "--duration",
        "0.5",
        "--out",
        "runs",
        "--json",
        "--clinical",
        "--calibration",
        record_id,
        *extra,
        password=password,
    )


def test_from_photon_transfer_data_to_signed_certificate(lab, capsys, monkeypatch):
    record_id = create_record(capsys, monkeypatch)
    code, _, err = run(
        capsys,
        monkeypatch,
        "calib",
        "sign",
        record_id,
        "--meaning",
        "approved",
        "--user",
        "boss",
        password=PASSWORDS["boss"],
    )
    assert code == 1 and "cannot be signed approved" in err
    approve(capsys, monkeypatch, record_id)
    code, out, _ = run(capsys, monkeypatch, "calib", "list", "--json")
    (entry,) = json.loads(out)
    assert entry["state"] == "approved" and entry["kind"] == "detector-characterisation"
    code, out, _ = run(capsys, monkeypatch, "calib", "show", record_id, "--json")
    shown = json.loads(out)
    gain = next(r for r in shown["results"] if r["name"] == "system_gain_dn_per_e")
    assert gain["value"] == pytest.approx(0.1, rel=0.03) and gain["k"] == 2.0
    assert [s["meaning"] for s in shown["signatures"]] == ["performed", "reviewed", "approved"]
    assert run(capsys, monkeypatch, "calib", "verify", "--all")[0] == 0
    code, _, err = run(capsys, monkeypatch, "calib", "certificate", record_id, "--out", "cert.pdf")
    assert code == 0, err
    text = "\n".join(page.extract_text() for page in PdfReader(lab / "cert.pdf").pages)
    for expected in (
        f"{record_id} version 1",
        "Bo Approver",
        "Rita Review",
        "Tom Tech",
        "approved",
        "system_gain_dn_per_e",
        "CERT-RAD-0001",
        "Statement of conformity",
        "Decision rule",
        "Uncertainty budget",
        "relate only to the item calibrated",
        f"End of certificate {record_id} version 1",
    ):
        assert expected in text, expected


def test_clinical_run_records_the_calibration_it_used(lab, capsys, monkeypatch):
    record_id = create_record(capsys, monkeypatch)
    approve(capsys, monkeypatch, record_id)
    code, out, err = clinical_run(capsys, monkeypatch, record_id)
    assert code == 0, err
    record = read_run_record(lab / json.loads(out)["record"])
    used = record.calibrations[f"{record_id}@1"]
    assert used["state"] == "approved" and len(used["content_sha256"]) == 64


def test_unusable_calibrations_block_clinical_runs(lab, capsys, monkeypatch):
    draft = create_record(capsys, monkeypatch)
    code, _, err = clinical_run(capsys, monkeypatch, draft)
    assert code == 1 and f"calibration {draft}@1 is draft" in err
    expired = create_record(
        capsys, monkeypatch, "--date", (dt.date.today() - dt.timedelta(400)).isoformat()
    )
    approve(capsys, monkeypatch, expired)
    code, _, err = clinical_run(capsys, monkeypatch, expired)
    assert code == 1 and f"{expired}@1 is expired" in err and "Traceback" not in err
    assert not (lab / "runs").exists() or not list((lab / "runs").glob("*.h5"))


def test_revoked_calibration_blocks_even_an_approver(lab, capsys, monkeypatch):
    record_id = create_record(capsys, monkeypatch)
    approve(capsys, monkeypatch, record_id)
    code, _, err = run(
        capsys,
        monkeypatch,
        "calib",
        "sign",
        record_id,
        "--meaning",
        "revoked",
        "--user",
        "boss",
        "--reason",
        "detector dropped",
        password=PASSWORDS["boss"],
    )
    assert code == 0, err
    code, _, err = clinical_run(capsys, monkeypatch, record_id)
    assert code == 1 and "is revoked" in err
    code, _, err = clinical_run(
        capsys,
        monkeypatch,
        record_id,
        "--override-by",
        "boss",
        "--override-reason",
        "urgent",
        password=PASSWORDS["boss"],
    )
    assert code == 1 and "Only an expired calibration can be overridden" in err


def test_expired_calibration_runs_only_with_a_signed_override(lab, capsys, monkeypatch):
    expired = create_record(
        capsys, monkeypatch, "--date", (dt.date.today() - dt.timedelta(400)).isoformat()
    )
    approve(capsys, monkeypatch, expired)
    code, _, err = clinical_run(
        capsys,
        monkeypatch,
        expired,
        "--override-by",
        "tech",
        "--override-reason",
        "urgent",
        password=PASSWORDS["tech"],
    )
    assert code == 1 and "not authorised to override" in err
    code, out, err = clinical_run(
        capsys,
        monkeypatch,
        expired,
        "--override-by",
        "boss",
        "--override-reason",
        "urgent screening, detector re-checked",
        password=PASSWORDS["boss"],
    )
    assert code == 0, err
    used = read_run_record(lab / json.loads(out)["record"]).calibrations[f"{expired}@1"]
    assert used["state"] == "expired" and used["override_by"] == "boss"
    assert used["override_reason"].startswith("urgent screening")
    assert run(capsys, monkeypatch, "calib", "verify", "--all")[0] == 0


def test_tampered_record_fails_verification_and_blocks_clinical_runs(lab, capsys, monkeypatch):
    record_id = create_record(capsys, monkeypatch)
    approve(capsys, monkeypatch, record_id)
    (path,) = (lab / "registry" / "records").glob(f"{record_id}-v1.h5")
    with h5py.File(path, "r+") as handle:
        handle.attrs["metadata_json"] = handle.attrs["metadata_json"].replace(
            '"interval_days":365', '"interval_days":3650'
        )
    code, out, _ = run(capsys, monkeypatch, "calib", "verify", "--all")
    assert code == 1 and "INTEGRITY FAILURE" in out and "altered" in out
    code, _, err = clinical_run(capsys, monkeypatch, record_id)
    assert code == 1 and "failed verification" in err


def test_photodiode_figures_of_merit_recorded_from_the_simulated_bench(lab, capsys, monkeypatch):
    code, out, err = record(
        capsys,
        monkeypatch,
        "photodiode",
        "--sim",
        "--json",
    )
    assert code == 0, err
    figures = {f["name"]: f for f in json.loads(out.splitlines()[0])["figures"]}
    # The simulated bench's silicon photodiode: 0.565 A/W at 850 nm, 100 kHz TIA bandwidth.
    assert figures["responsivity at 850 nm"]["value"] == pytest.approx(0.5654, rel=0.01)
    assert figures["−3 dB bandwidth"]["value"] == pytest.approx(1e5, rel=0.05)
    measured = next(v for k, v in figures.items() if k.startswith("D* from measured noise"))
    bound = next(v for k, v in figures.items() if k.startswith("D* from shot noise"))
    assert bound["value"] > measured["value"]
    code, out, _ = run(capsys, monkeypatch, "calib", "list", "--json")
    assert json.loads(out)[0]["kind"] == "photodiode-figures-of-merit"


def test_imaging_applies_the_approved_detector_calibration(lab, capsys, monkeypatch):
    """Photon-transfer data → approved record → coefficients → corrected frames."""
    record_id = create_record(capsys, monkeypatch)
    approve(capsys, monkeypatch, record_id)
    stored = Registry(lab / "registry").load(record_id)
    coefficients = frame_correction_from_record(stored.content)
    # The same simulated sensor (seed 0, 32×32, as `calib simulate-ptc --size 32`) takes dark
    # frames at another exposure and temperature: corrected, they are black.
    sensor = Scene(
        0, tissue=TissueConfig(rows=32, cols=32), sensor=SensorConfig(exact_shot_noise=True)
    ).sensor
    rng = np.random.default_rng(11)
    dark = sensor.expose(np.zeros((16, 32, 32)), 0.05, 45.0, rng, wavelength_nm=850.0)
    corrected = correct_frames(dark, 0.05, 45.0, **coefficients.imaging_arguments())
    raw_offset = float(np.mean(dark))
    assert raw_offset > 60  # black level and dark current
    assert abs(float(np.mean(corrected.signal_dn))) < 0.1
    assert not corrected.saturated.any()


@pytest.mark.parametrize(
    "action",
    [
        ["show", "CAL-NOPE"],
        ["verify", "CAL-NOPE"],
        ["certificate", "CAL-NOPE", "--out", "c.pdf"],
        ["impact", "CAL-NOPE", "--runs", "."],
    ],
)
def test_unknown_record_is_one_clear_line(lab, capsys, monkeypatch, action):
    code, _, err = run(capsys, monkeypatch, "calib", *action)
    assert code == 1
    assert err.strip().endswith(f"no calibration record CAL-NOPE in {lab / 'registry'}")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('due_date: "2027-12-31"', "due_date: soon"), "references[1].due_date must be a date"),
        (("interval_days: 365", "interval_days: a year"), "interval_days must be a whole number"),
        (("customer: Qilu Hospital NIR POCT pilot\n", ""), "missing field 'customer'"),
        (("decision_rule: simple acceptance", "decision_rule: trust me"), "decision_rule must be"),
    ],
)
def test_malformed_context_file_is_one_clear_line(lab, capsys, monkeypatch, edit, message):
    text = (lab / "context.yaml").read_text()
    assert edit[0] in text
    (lab / "bad.yaml").write_text(text.replace(*edit))
    code, _, err = run(
        capsys,
        monkeypatch,
        "calib",
        "record-detector",
        "ptc.h5",
        "--context",
        "bad.yaml",
        "--performer",
        "tech",
        password=PASSWORDS["tech"],
    )
    assert code == 2 and f"bad.yaml: {message}" in err and "Traceback" not in err
