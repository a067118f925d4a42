"""HL7 v2.6 ORU^R01 (IHE PCD-01) over MLLP against hl7apy's own MLLP server on loopback."""

from __future__ import annotations

import json
import stat

import pytest
from hl7apy.parser import parse_message

from instrument.config import (
    ConfigError,
    ExchangeConfig,
    Hl7DestinationConfig,
    default_config_text,
    parse_config,
)
from protocols.outputs.exchange.delivery import deliver_run, send_due
from protocols.outputs.exchange.hl7_message import build_oru_r01, new_control_id
from protocols.outputs.exchange.outbox import Outbox
from protocols.outputs.exchange.result_model import load_run_results
from tests.exchange_fixtures import Hl7Receiver, free_port, run_nirpoct, session_runs

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def finished_runs(tmp_path_factory):
    return session_runs(tmp_path_factory)


MRN = "QL-0042137"


def hl7_config(port: int, timeout_s: float = 5.0) -> ExchangeConfig:
    return ExchangeConfig(
        hl7=Hl7DestinationConfig(
            host="127.0.0.1",
            port=port,
            sending_facility="PILOT",
            receiving_application="HIS",
            receiving_facility="QILU",
            timeout_s=timeout_s,
        ),
        retry_initial_s=30.0,
    )


def send(run, config, outbox_dir, accession="ACC-77"):
    return deliver_run(run.record, run.summary, run.report, MRN, accession, config, outbox_dir)


def observations(message):
    order = message.ORU_R01_PATIENT_RESULT.ORU_R01_ORDER_OBSERVATION
    return [group.obx for group in order.ORU_R01_OBSERVATION]


def test_the_receiver_parses_what_was_meant_and_acks(finished_runs, tmp_path):
    run = finished_runs["spo2-screening"]
    summary = json.loads(run.summary.read_text())
    oximetry = next(s for s in summary["steps"] if s["name"] == "oximetry")["results"]
    receiver = Hl7Receiver().start()
    try:
        report = send(run, hl7_config(receiver.port), tmp_path / "outbox")
        again = send(run, hl7_config(receiver.port), tmp_path / "outbox")
    finally:
        receiver.stop()
    assert report.all_delivered and again.all_delivered
    assert Outbox(tmp_path / "outbox").messages() == []
    first, second = receiver.received
    assert first.msh.msh_10.value != second.msh.msh_10.value  # a unique control id each
    assert receiver.acknowledged == [first.msh.msh_10.value, second.msh.msh_10.value]
    assert first.msh.msh_9.to_er7() == "ORU^R01^ORU_R01"
    assert first.msh.msh_12.to_er7() == "2.6"
    assert first.msh.msh_21.to_er7().startswith("IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1")
    patient = first.ORU_R01_PATIENT_RESULT.ORU_R01_PATIENT.pid
    assert patient.pid_3.cx_1.value == MRN
    order = first.ORU_R01_PATIENT_RESULT.ORU_R01_ORDER_OBSERVATION.obr
    assert order.obr_2.to_er7() == "ACC-77"
    assert order.obr_3.to_er7() == f"{summary['run_id']}^NIRPOCT"
    by_code = {obx.obx_3.cwe_1.value: obx for obx in observations(first)}
    device = by_code["69642"]
    assert device.obx_4.to_er7() == "1.0.0.0"
    assert device.obx_18.to_er7() == "SIM000000^NIRPD-A64"
    expected = {
        "150456": ("59408-5", "spo2_percent", "262688^MDC_DIM_PERCENT^MDC^%^%^UCUM", "1.1.1.1"),
        "149530": (
            "8889-8",
            "pulse_rate_bpm",
            "264864^MDC_DIM_BEAT_PER_MIN^MDC^/min^/min^UCUM",
            "1.1.1.2",
        ),
        "150488": (
            "61006-3",
            "perfusion_index_percent",
            "262688^MDC_DIM_PERCENT^MDC^%^%^UCUM",
            "1.1.1.3",
        ),
    }
    for mdc, (loinc, figure, units, hierarchy) in expected.items():
        obx = by_code[mdc]
        assert obx.obx_3.cwe_3.value == "MDC"
        assert (obx.obx_3.cwe_4.value, obx.obx_3.cwe_6.value) == (loinc, "LN")
        assert obx.obx_2.value == "NM"
        assert float(obx.obx_5.to_er7()) == pytest.approx(oximetry[figure], rel=1e-5)
        assert obx.obx_6.to_er7() == units
        assert obx.obx_4.to_er7() == hierarchy
        assert obx.obx_11.value == "F"
        assert obx.obx_18.to_er7() == "SIM000000^NIRPD-A64"
    verdict = by_code["QC-VERDICT"]
    assert verdict.obx_5.to_er7().startswith("QC-PASSED^") and summary["qc_passed"]
    # the MRN went into the message only: the record and summary hold the pseudonym
    assert MRN.encode() not in run.record.read_bytes()
    assert MRN not in run.summary.read_text()
    assert summary["subject_pseudonym"].startswith("sub-")


@pytest.mark.parametrize("mode", ["AE", "AR", "silent"])
def test_a_refused_or_unanswered_message_waits_then_is_delivered_once(
    finished_runs,
    tmp_path,
    mode,
):
    run = finished_runs["spo2-screening"]
    receiver = Hl7Receiver(mode=mode).start()
    outbox = Outbox(tmp_path / "outbox")
    try:
        report = send(run, hl7_config(receiver.port, timeout_s=1.0), outbox.directory)
        assert not report.all_delivered
        (waiting,) = outbox.messages()
        reason = {"AE": "answered AE", "AR": "answered AR", "silent": "no ACK within 1 s"}[mode]
        assert reason in waiting.last_error and waiting.attempts == 1
        assert stat.S_IMODE(outbox.path_of(waiting.id).stat().st_mode) == 0o600
        assert stat.S_IMODE(outbox.directory.stat().st_mode) == 0o700
        assert send_due(outbox) == []  # back-off: not due for 30 s
        receiver.mode = "AA"
        (outcome,) = send_due(outbox, everything=True)
        assert outcome.delivered and outcome.attempts == 2
        assert send_due(outbox, everything=True) == []
    finally:
        receiver.stop()
    control_id = waiting.payload["control_id"]
    assert receiver.acknowledged == [control_id]  # acknowledged exactly once
    assert [m.msh.msh_10.value for m in receiver.received] == [control_id, control_id]
    assert outbox.messages() == []


def test_a_receiver_that_is_down_gets_the_message_when_it_comes_up(finished_runs, tmp_path):
    run = finished_runs["spo2-screening"]
    port = free_port()
    outbox = Outbox(tmp_path / "outbox")
    report = send(run, hl7_config(port), outbox.directory)
    (outcome,) = report.outcomes
    assert not outcome.delivered and "refused" in outcome.detail.lower()
    (waiting,) = outbox.messages()
    assert MRN in waiting.payload["er7"]
    receiver = Hl7Receiver(port=port).start()
    try:
        # the next run's delivery first sends what earlier runs left
        later = send(finished_runs["dot-lesion-scan"], hl7_config(port), outbox.directory)
    finally:
        receiver.stop()
    assert later.all_delivered
    assert [o.message_id for o in later.earlier] == [waiting.id]
    assert later.earlier[0].delivered
    assert receiver.acknowledged[0] == waiting.payload["control_id"]
    assert len(receiver.acknowledged) == 2 and outbox.messages() == []


def test_a_withheld_value_has_no_number_in_its_obx(finished_runs, tmp_path):
    run = finished_runs["spo2-screening"]
    summary = json.loads(run.summary.read_text())
    for step in summary["steps"]:
        if step["name"] == "oximetry":
            step["results"]["spo2_percent"] = None
    withheld = tmp_path / "withheld.json"
    withheld.write_text(json.dumps(summary))
    results = load_run_results(withheld, run.record, MRN)
    message = parse_message(build_oru_r01(results, new_control_id()), find_groups=True)
    order = message.ORU_R01_PATIENT_RESULT.ORU_R01_ORDER_OBSERVATION
    groups = {group.obx.obx_3.cwe_1.value: group for group in order.ORU_R01_OBSERVATION}
    spo2 = groups["150456"]
    assert spo2.obx.obx_11.value == "X"
    assert spo2.obx.obx_5.to_er7() == "" and spo2.obx.obx_2.to_er7() == ""
    assert spo2.nte.nte_3.to_er7() == "value withheld: no valid value"
    assert groups["149530"].obx.obx_11.value == "F"


def test_the_exchange_section_is_validated_with_the_configuration():
    text = default_config_text() + "exchange:\n  hl7: {host: his, port: 70000}\n"
    with pytest.raises(ConfigError, match=r"exchange\.hl7\.port: Input should be less"):
        parse_config(text, "site.yaml")
    text = default_config_text() + "exchange:\n  dicom: {host: pacs, port: 104, called_ae: X}\n"
    assert parse_config(text, "site.yaml").exchange.dicom.calling_ae == "NIRPOCT"


def test_a_clinical_run_sends_at_its_end_and_waits_in_the_outbox_when_the_his_is_down(
    finished_runs, tmp_path
):
    """`nirpoct run` with an `exchange:` configuration, as a site runs it: delivered to a
    running receiver; with the receiver down the run still completes and its message waits
    until `nirpoct outbox retry` delivers it."""
    site = finished_runs["spo2-screening"].record.parents[1]
    port = free_port()
    config = tmp_path / "site.yaml"
    config.write_text(
        default_config_text()
        + f"exchange:\n  hl7: {{host: 127.0.0.1, port: {port}, timeout_s: 2}}\n"
        + f"  outbox_dir: {tmp_path / 'outbox'}\n"
    )
    run = (
        *("run", "spo2-screening", "--sim", "--config", str(config), "--operator", "op"),
        *("--subject", MRN, "--accession", "ACC-9", "--registry", "registry"),
        *("--duration-scale", "0.1", "--out", str(tmp_path / "runs"), "--json"),
    )
    receiver = Hl7Receiver(port=port).start()
    try:
        delivered = json.loads(run_nirpoct(site, *run))
    finally:
        receiver.stop()
    assert delivered["status"] == "completed" and delivered["hospital_delivery"] == {"hl7": True}
    (message,) = receiver.received
    assert message.ORU_R01_PATIENT_RESULT.ORU_R01_PATIENT.pid.pid_3.cx_1.value == MRN
    assert receiver.acknowledged == [message.msh.msh_10.value]
    assert Outbox(tmp_path / "outbox").messages() == []

    queued = json.loads(run_nirpoct(site, *run))  # the receiver is down now
    assert queued["status"] == "completed" and queued["record"]
    assert queued["hospital_delivery"] == {"hl7": False}
    (waiting,) = Outbox(tmp_path / "outbox").messages()
    assert waiting.payload["control_id"] != message.msh.msh_10.value
    receiver = Hl7Receiver(port=port).start()
    try:
        run_nirpoct(site, "outbox", "retry", "--config", str(config))
    finally:
        receiver.stop()
    assert receiver.acknowledged == [waiting.payload["control_id"]]
    assert Outbox(tmp_path / "outbox").messages() == []
