"""Calibration records: lifecycle rules, signatures, tamper detection, impact assessment."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import h5py
import numpy as np
import pytest

from calibration.registry import Registry, RunUse
from calibration.signatures import AuthorisationError
from calibration.storage import read_record_file
from instrument.run_record import RunRecordWriter, run_headers
from tests.calibration_fixtures import PASSWORDS, approved_record, make_content, make_registry

TODAY = dt.date.today()


@pytest.fixture
def registry(tmp_path) -> Registry:
    return make_registry(tmp_path / "registry")


def test_lifecycle_from_draft_to_approved(registry):
    entry = registry.create(make_content(), PASSWORDS["tech"])
    assert entry.lifecycle == "draft"
    assert (
        registry.sign(entry.reference, "reviewed", "rev", PASSWORDS["rev"]).lifecycle == "reviewed"
    )
    approved = registry.sign(entry.reference, "approved", "boss", PASSWORDS["boss"])
    assert approved.lifecycle == "approved" and approved.state_on(TODAY) == "approved"
    meanings = [s.meaning for s in registry.load(entry.reference).signatures]
    assert meanings == ["performed", "reviewed", "approved"]
    assert registry.verify() == []


def test_approve_before_review_is_refused(registry, caplog):
    caplog.set_level(logging.INFO, logger="calibration.registry")
    entry = registry.create(make_content(), PASSWORDS["tech"])
    with pytest.raises(AuthorisationError, match="is draft; it cannot be signed approved"):
        registry.sign(entry.reference, "approved", "boss", PASSWORDS["boss"])
    assert f"created calibration {entry.reference}" in caplog.text
    assert f"refused to sign {entry.reference} approved for boss" in caplog.text


def test_nobody_signs_their_own_measurement(registry):
    entry = registry.create(make_content(performer="rev"), PASSWORDS["rev"])
    with pytest.raises(AuthorisationError, match="performed .* may not sign it reviewed"):
        registry.sign(entry.reference, "reviewed", "rev", PASSWORDS["rev"])


def test_approval_needs_the_approver_role_and_the_password(registry):
    entry = registry.create(make_content(), PASSWORDS["tech"])
    registry.sign(entry.reference, "reviewed", "boss", PASSWORDS["boss"])
    with pytest.raises(AuthorisationError, match="lacks the approver role"):
        registry.sign(entry.reference, "approved", "rev", PASSWORDS["rev"])
    with pytest.raises(AuthorisationError, match="wrong password"):
        registry.sign(entry.reference, "approved", "boss", "guess-guess")
    assert registry.entry(entry.reference).lifecycle == "reviewed"


def test_approved_records_are_immutable_and_corrections_supersede(registry):
    reference = approved_record(registry)
    with pytest.raises(AuthorisationError, match="is approved"):
        registry.sign(reference, "reviewed", "rev", PASSWORDS["rev"])
    correction = registry.create(
        make_content(), PASSWORDS["tech"], supersedes=reference, reason="typo in environment"
    )
    assert correction.version == 2 and correction.supersedes == reference
    assert registry.entry(reference).lifecycle == "approved"
    registry.sign(correction.reference, "reviewed", "rev", PASSWORDS["rev"])
    registry.sign(correction.reference, "approved", "boss", PASSWORDS["boss"])
    assert registry.entry(reference).lifecycle == "superseded"
    assert registry.latest_usable(correction.record_id, TODAY).version == 2
    assert registry.verify() == []


def test_due_and_expired_follow_the_calendar(registry):
    due_soon = approved_record(
        registry, calibration_date=(TODAY - dt.timedelta(350)).isoformat(), interval_days=365
    )
    expired = approved_record(
        registry, calibration_date=(TODAY - dt.timedelta(400)).isoformat(), interval_days=365
    )
    assert registry.entry(due_soon).state_on(TODAY) == "due"
    assert registry.entry(expired).state_on(TODAY) == "expired"
    assert registry.latest_usable(registry.entry(expired).record_id, TODAY) is None


def test_expired_reference_standard_is_refused(registry):
    with pytest.raises(ValueError, match="reference standard radiometer .* was due on 2020-01-01"):
        registry.create(make_content(reference_due="2020-01-01"), PASSWORDS["tech"])


def test_revocation_needs_a_reason_and_blocks_use(registry):
    reference = approved_record(registry)
    with pytest.raises(ValueError, match="needs a reason"):
        registry.sign(reference, "revoked", "boss", PASSWORDS["boss"])
    registry.sign(reference, "revoked", "boss", PASSWORDS["boss"], reason="sensor replaced")
    assert registry.entry(reference).state_on(TODAY) == "revoked"
    assert registry.latest_usable(registry.entry(reference).record_id, TODAY) is None


# ----------------------------------------------------------------------------- tampering
def _flip_byte_in_dataset(path: Path, name: str) -> None:
    with h5py.File(path, "r") as handle:
        dataset = handle[name]
        offset = (
            dataset.id.get_offset()
            if dataset.chunks is None
            else dataset.id.get_chunk_info(0).byte_offset
        )
    with open(path, "r+b") as raw:
        raw.seek(offset + 3)
        byte = raw.read(1)
        raw.seek(offset + 3)
        raw.write(bytes([byte[0] ^ 0x01]))


def test_flipped_byte_in_a_dataset_is_detected(registry):
    reference = approved_record(registry)
    path = registry.root / registry.entry(reference).file
    _flip_byte_in_dataset(path, "arrays/raw/means_dn")
    problems = registry.verify()
    assert any("fails its checksum" in p for p in problems), problems


def test_edited_attribute_is_detected(registry):
    reference = approved_record(registry)
    path = registry.root / registry.entry(reference).file
    with h5py.File(path, "r+") as handle:
        text = handle.attrs["metadata_json"].replace('"temperature_c":23.1', '"temperature_c":21.0')
        handle.attrs["metadata_json"] = text
    problems = registry.verify()
    assert any("does not match its stored hash" in p for p in problems), problems


def test_rehashed_forgery_is_detected(registry):
    reference = approved_record(registry)
    path = registry.root / registry.entry(reference).file
    with h5py.File(path, "r+") as handle:
        handle.attrs["metadata_json"] = handle.attrs["metadata_json"].replace("Jinan", "Qingdao")
    forged = read_record_file(path).computed_sha256
    with h5py.File(path, "r+") as handle:
        handle.attrs["content_sha256"] = forged
    problems = registry.verify()
    assert any("differs from the one recorded at creation" in p for p in problems), problems
    assert any("made over different content" in p for p in problems), problems


def test_edited_or_deleted_audit_entry_is_detected(registry):
    approved_record(registry)
    trail = registry.root / "audit.jsonl"
    lines = trail.read_text().splitlines()
    edited = json.loads(lines[-1])
    edited["user"] = "admin"
    trail.write_text("\n".join([*lines[:-1], json.dumps(edited)]) + "\n")
    assert any("was altered" in p for p in registry.verify())
    trail.write_text("\n".join(lines[:-3] + lines[-2:]) + "\n")
    assert any("does not follow" in p or "sequence number" in p for p in registry.verify())


def test_transplanted_signature_is_detected(registry):
    first = approved_record(registry)
    second = registry.create(make_content(), PASSWORDS["tech"]).reference
    source = registry.root / registry.entry(first).file
    target = registry.root / registry.entry(second).file
    with h5py.File(source, "r") as handle:
        approval = handle["signatures"]["0002"][()]
    with h5py.File(target, "r+") as handle:
        handle["signatures"].create_dataset("0001x", data=approval)
    problems = registry.verify(registry.entry(second).record_id)
    assert any(f"belongs to {first}" in p for p in problems), problems
    assert any("not in the audit trail" in p for p in problems), problems


def test_role_escalation_in_users_file_is_detected(registry):
    users = json.loads((registry.root / "users.json").read_text())
    users["tech"]["roles"] = ["performer", "approver"]
    (registry.root / "users.json").write_text(json.dumps(users))
    assert any("'tech' in users.json differs" in p for p in registry.verify())


def test_first_user_must_be_administrator(tmp_path):
    with pytest.raises(AuthorisationError, match="first user"):
        Registry(tmp_path).add_user("tech", "Tom", ("performer",), "tech-pass-1")


# ----------------------------------------------------------------------------- impact
def _run_record(directory: Path, serial: str) -> Path:
    path = directory / f"run-{serial}.h5"
    writer = RunRecordWriter(path, (2, 2), {}, {"detector": {"serial": serial}})
    writer.close("completed", {})
    return path


def test_out_of_tolerance_as_found_lists_runs_since_last_good_calibration(registry, tmp_path):
    approved_record(registry, calibration_date=(TODAY - dt.timedelta(100)).isoformat())
    runs = tmp_path / "runs"
    runs.mkdir()
    affected = _run_record(runs, "SIM000000")
    _run_record(runs, "OTHER-BOARD")
    failing = registry.create(make_content(as_found_gain=0.12), PASSWORDS["tech"])
    assert failing.out_of_tolerance_as_found
    candidates = [
        RunUse(str(h.path), str(h.metadata["start_time_utc"]), h.device_serials)
        for h in run_headers(runs)
    ]
    report = registry.impact(failing.reference, candidates, "boss")
    assert report.out_of_tolerance and report.runs == (str(affected),)
    assert report.since == (TODAY - dt.timedelta(100)).isoformat()
    assert registry.audit.entries()[-1].action == "impact-assessed"


def test_guarded_acceptance_gives_indeterminate_near_a_limit():
    content = make_content(as_found_gain=0.1049)
    guarded = type(content)(**{**content.__dict__, "decision_rule": "guarded acceptance"})
    verdicts = {s.stage: s.verdict for s in guarded.conformity()}
    assert verdicts == {"as found": "indeterminate", "as left": "pass"}
    assert {s.stage: s.verdict for s in content.conformity()}["as found"] == "pass"
    assert np.isfinite(guarded.conformity()[0].expanded_uncertainty)


def test_forged_approval_in_the_audit_trail_is_not_believed(registry):
    entry = registry.create(make_content(), PASSWORDS["tech"])
    performed = registry.load(entry.reference).signatures[0].signature_hex
    for user, meaning in (("rev", "reviewed"), ("boss", "approved")):
        registry.audit.append(
            user,
            "sign",
            entry.reference,
            entry.content_sha256,
            "",
            {"meaning": meaning, "signature": performed},
        )
    problems = registry.verify()
    assert any("the audit trail says boss signed approved" in p for p in problems), problems


def test_transition_against_the_rules_is_not_applied(registry):
    entry = registry.create(make_content(), PASSWORDS["tech"])
    registry.audit.append(
        "tech",
        "sign",
        entry.reference,
        entry.content_sha256,
        "",
        {"meaning": "approved", "signature": "00"},
    )
    assert registry.entry(entry.reference).lifecycle == "draft"
    assert any("lacks the approver role" in p for p in registry.verify())


def test_corrections_supersede_every_earlier_approved_version(registry):
    first = approved_record(registry)
    record_id = registry.entry(first).record_id
    draft = registry.create(make_content(), PASSWORDS["tech"], supersedes=record_id, reason="fix")
    assert draft.supersedes == first  # a bare id means its latest version
    with pytest.raises(ValueError, match=f"only the latest version .* is {record_id}@2"):
        registry.create(make_content(), PASSWORDS["tech"], supersedes=first, reason="again")
    third = registry.create(
        make_content(),
        PASSWORDS["tech"],
        supersedes=draft.reference,
        reason="replaces the abandoned draft",
    )
    registry.sign(third.reference, "reviewed", "rev", PASSWORDS["rev"])
    registry.sign(third.reference, "approved", "boss", PASSWORDS["boss"])
    states = {v: registry.entry(f"{record_id}@{v}").lifecycle for v in (1, 2, 3)}
    assert states == {1: "superseded", 2: "draft", 3: "approved"}
    assert registry.verify() == []


def test_revoked_version_stays_revoked_after_a_correction(registry):
    first = approved_record(registry)
    registry.sign(first, "revoked", "boss", PASSWORDS["boss"], reason="sensor cracked")
    fix = registry.create(make_content(), PASSWORDS["tech"], supersedes=first, reason="new")
    registry.sign(fix.reference, "reviewed", "rev", PASSWORDS["rev"])
    registry.sign(fix.reference, "approved", "boss", PASSWORDS["boss"])
    assert registry.entry(first).lifecycle == "revoked"


def test_overrides_need_a_non_performing_approver_and_an_expired_record(registry):
    expired = approved_record(registry, calibration_date=(TODAY - dt.timedelta(400)).isoformat())
    with pytest.raises(AuthorisationError, match="not authorised to override"):
        registry.record_override(expired, "rev", PASSWORDS["rev"], "urgent")
    registry.record_override(expired, "boss", PASSWORDS["boss"], "urgent")
    assert registry.verify() == []
    draft = registry.create(make_content(), PASSWORDS["tech"]).reference
    with pytest.raises(AuthorisationError, match="only an expired calibration"):
        registry.record_override(draft, "boss", PASSWORDS["boss"], "urgent")


def test_user_ids_cannot_leave_the_registry(registry):
    with pytest.raises(ValueError, match="user id '../evil'"):
        registry.add_user(
            "../evil",
            "Eve",
            ("performer",),
            "eve-pass-1",
            admin_id="admin",
            admin_password=PASSWORDS["admin"],
        )
