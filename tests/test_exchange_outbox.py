"""The durable outbox and the ``nirpoct send`` / ``nirpoct outbox`` commands, run as a shell
runs them: a sender killed outright (SIGKILL) after writing a message and before its ACK sends
it after a restart, and the receiver acknowledges it once."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from instrument.config import default_config_text
from protocols.outputs.exchange.outbox import Outbox
from tests.exchange_fixtures import (
    REPOSITORY,
    FhirReceiver,
    Hl7Receiver,
    free_port,
    session_runs,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def finished_runs(tmp_path_factory):
    return session_runs(tmp_path_factory)


MRN = "QL-0042137"


def nirpoct_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "protocols.cli", *args]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPOSITORY)}


def nirpoct(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        nirpoct_command(*args), capture_output=True, text=True, env=environment(), timeout=120
    )


def wait_until(condition, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_a_sender_killed_before_the_ack_sends_after_restart_once(finished_runs, tmp_path):
    run = finished_runs["spo2-screening"]
    outbox = Outbox(tmp_path / "outbox")
    receiver = Hl7Receiver(mode="hold").start()
    try:
        sender = subprocess.Popen(
            nirpoct_command(
                "send",
                str(run.record),
                "--hl7",
                f"127.0.0.1:{receiver.port}",
                "--patient-id",
                MRN,
                "--outbox",
                str(outbox.directory),
            ),
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # the message is on disk and on the wire; the receiver holds its ACK back
        wait_until(lambda: len(receiver.received) == 1 and len(outbox.messages()) == 1)
        sender.send_signal(signal.SIGKILL)
        assert sender.wait(10) == -signal.SIGKILL
        receiver.release.set()
        (waiting,) = outbox.messages()
        assert waiting.attempts == 0 and receiver.acknowledged == []
        receiver.mode = "AA"
        restarted = nirpoct("outbox", "--outbox", str(outbox.directory), "retry")
        assert restarted.returncode == 0, restarted.stderr
        assert "delivered" in restarted.stdout
        again = nirpoct("outbox", "--outbox", str(outbox.directory), "retry")
        assert again.returncode == 0 and again.stdout == ""
    finally:
        receiver.stop()
    control_id = waiting.payload["control_id"]
    assert receiver.acknowledged == [control_id]  # delivered once, with its first control id
    assert outbox.messages() == []


def site_config(path: Path, hl7_port: int, fhir_url: str, outbox_dir: Path) -> Path:
    config = yaml.safe_load(default_config_text())
    config["exchange"] = {
        "hl7": {
            "host": "127.0.0.1",
            "port": hl7_port,
            "sending_facility": "PILOT",
            "receiving_facility": "QILU",
            "timeout_s": 2,
        },
        "fhir": {"base_url": fhir_url, "patient_identifier_system": "urn:oid:1.2.3.4"},
        "outbox_dir": str(outbox_dir),
        "retry_initial_s": 60,
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_send_with_a_site_configuration_then_outbox_list_show_retry(finished_runs, tmp_path):
    run = finished_runs["spo2-screening"]
    hl7_port, outbox_dir = free_port(), tmp_path / "outbox"
    outbox = Outbox(outbox_dir)
    fhir = FhirReceiver()
    config = site_config(tmp_path / "site.yaml", hl7_port, fhir.url, outbox_dir)
    try:
        sent = nirpoct(
            "send",
            str(run.record),
            "--config",
            str(config),
            "--patient-id",
            MRN,
            "--accession",
            "A-1",
            "--json",
        )
        assert sent.returncode == 1, sent.stderr  # the HL7 receiver is down: queued
        report = json.loads(sent.stdout)
        states = {m["channel"]: m["delivered"] for m in report["messages"]}
        assert states == {"hl7": False, "fhir": True}
        assert len(fhir.posts) == 1
        listed = nirpoct("outbox", "--config", str(config), "list", "--json")
        (row,) = json.loads(listed.stdout)
        assert row["channel"] == "hl7" and row["destination"] == f"127.0.0.1:{hl7_port}"
        assert "refused" in row["last_error"].lower() and row["attempts"] == 1
        shown = nirpoct("outbox", "--config", str(config), "show", row["id"][:24])
        assert shown.returncode == 0 and f"PID|||{MRN}^^^^MR" in shown.stdout
        assert stat.S_IMODE((outbox_dir / f"{row['id']}.json").stat().st_mode) == 0o600
        control_id = outbox.get(row["id"]).payload["control_id"]
        not_due = nirpoct("outbox", "--config", str(config), "retry", "--due")
        assert not_due.returncode == 0 and not_due.stdout == ""
        receiver = Hl7Receiver(port=hl7_port).start()
        try:
            retried = nirpoct("outbox", "--config", str(config), "retry", row["id"])
        finally:
            receiver.stop()
        assert retried.returncode == 0, retried.stdout + retried.stderr
        assert receiver.acknowledged == [control_id]
        empty = nirpoct("outbox", "--config", str(config), "list")
        assert "is empty" in empty.stdout
    finally:
        fhir.stop()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "no destination: give --hl7, --fhir or --dicom"),
        (("--hl7", "localhost"), "--hl7 'localhost': expected HOST:PORT"),
        (("--dicom", "127.0.0.1:104"), "expected AE@HOST:PORT"),
        (
            ("--hl7", "127.0.0.1:2575", "--summary", "/nonexistent.json"),
            "/nonexistent.json: no such summary file",
        ),
    ],
)
def test_bad_send_arguments_give_one_line(finished_runs, tmp_path, arguments, message):
    run = finished_runs["spo2-screening"]
    result = nirpoct(
        "send",
        str(run.record),
        "--patient-id",
        MRN,
        "--outbox",
        str(tmp_path / "outbox"),
        *arguments,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("nirpoct: error: ") and message in line
    assert not (tmp_path / "outbox").exists() or Outbox(tmp_path / "outbox").messages() == []


@pytest.mark.parametrize(
    ("patient", "accession", "message"),
    [
        ("12|34", "", "patient id (MRN) '12|34' holds an HL7/DICOM delimiter"),
        ("12\\34", "", "holds an HL7/DICOM delimiter"),
        ("M" * 65, "", "is longer than 64 characters"),
        ("QL-1", "A" * 17, "accession number 'AAAAAAAAAAAAAAAAA' is longer than 16 characters"),
    ],
)
def test_an_identifier_no_receiver_can_carry_is_refused(
    finished_runs, tmp_path, patient, accession, message
):
    run = finished_runs["spo2-screening"]
    result = nirpoct(
        "send",
        str(run.record),
        "--patient-id",
        patient,
        "--accession",
        accession,
        "--hl7",
        "127.0.0.1:9",
        "--outbox",
        str(tmp_path / "outbox"),
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "outbox").exists()
