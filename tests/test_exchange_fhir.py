"""FHIR R4 transaction Bundles: validated before sending, POSTed to a local endpoint that
validates them with fhir.resources; 5xx and timeouts wait in the outbox and are retried."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from instrument.config import ExchangeConfig, FhirDestinationConfig
from protocols.outputs.exchange.delivery import deliver_run, send_due
from protocols.outputs.exchange.fhir_bundle import (
    FhirBundleError,
    build_bundle,
    check_profiles,
    validate_bundle,
)
from protocols.outputs.exchange.outbox import Outbox
from protocols.outputs.exchange.result_model import load_run_results
from tests.exchange_fixtures import FhirReceiver, session_runs

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def finished_runs(tmp_path_factory):
    return session_runs(tmp_path_factory)


MRN = "QL-0042137"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.19.5"


def fhir_config(url: str, timeout_s: float = 5.0) -> ExchangeConfig:
    return ExchangeConfig(
        fhir=FhirDestinationConfig(
            base_url=url, patient_identifier_system=MRN_SYSTEM, timeout_s=timeout_s
        )
    )


def observation(bundle, code):
    return next(
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Observation"
        and any(c["code"] == code for c in entry["resource"]["code"]["coding"])
    )


def test_the_endpoint_receives_a_valid_vital_signs_bundle(finished_runs, tmp_path):
    run = finished_runs["spo2-screening"]
    oximetry = next(
        s for s in json.loads(run.summary.read_text())["steps"] if s["name"] == "oximetry"
    )["results"]
    receiver = FhirReceiver()
    try:
        report = deliver_run(
            run.record,
            run.summary,
            run.report,
            MRN,
            "ACC-9",
            fhir_config(receiver.url),
            tmp_path / "outbox",
        )
    finally:
        receiver.stop()
    assert report.all_delivered and receiver.invalid == []
    (bundle,) = receiver.posts
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "transaction"
    kinds = [entry.resource.__resource_type__ for entry in parsed.entry]
    assert kinds[:2] == ["Patient", "Device"] and kinds.count("Observation") == 4
    patient = bundle["entry"][0]["resource"]
    assert patient["identifier"][0] == {
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
        },
        "system": MRN_SYSTEM,
        "value": MRN,
    }
    device = bundle["entry"][1]["resource"]
    assert device["serialNumber"] == "SIM000000"
    assert device["deviceName"] == [{"name": "NIRPD-A64", "type": "model-name"}]
    spo2 = observation(bundle, "59408-5")
    assert {c["code"] for c in spo2["code"]["coding"]} == {"150456", "59408-5", "2708-6"}
    assert spo2["category"][0]["coding"][0]["code"] == "vital-signs"
    assert "http://hl7.org/fhir/StructureDefinition/oxygensat" in spo2["meta"]["profile"]
    assert spo2["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert spo2["valueQuantity"]["code"] == "%"
    assert spo2["valueQuantity"]["value"] == pytest.approx(oximetry["spo2_percent"], rel=1e-6)
    assert spo2["subject"]["reference"] == bundle["entry"][0]["fullUrl"]
    assert spo2["device"]["reference"] == bundle["entry"][1]["fullUrl"]
    pulse = observation(bundle, "8889-8")
    assert pulse["valueQuantity"]["code"] == "/min"
    assert pulse["valueQuantity"]["value"] == pytest.approx(oximetry["pulse_rate_bpm"], rel=1e-6)
    assert observation(bundle, "61006-3")["valueQuantity"]["code"] == "%"
    verdict = observation(bundle, "QC-VERDICT")
    assert verdict["valueCodeableConcept"]["coding"][0]["code"] == "QC-PASSED"
    assert len(receiver.created) == 6  # patient, device, four observations: each once


def withheld_summary(run, tmp_path):
    """The run's summary as it would read had the SpO2 value been withheld."""
    summary = json.loads(run.summary.read_text())
    for step in summary["steps"]:
        if step["name"] == "oximetry":
            step["results"]["spo2_percent"] = None
    path = tmp_path / "withheld.json"
    path.write_text(json.dumps(summary))
    return path


def test_a_withheld_value_is_sent_without_a_number(finished_runs, tmp_path):
    run = finished_runs["spo2-screening"]
    results = load_run_results(withheld_summary(run, tmp_path), run.record, MRN)
    bundle = build_bundle(results, MRN_SYSTEM)
    validate_bundle(bundle)
    spo2 = observation(bundle, "59408-5")
    assert "valueQuantity" not in spo2
    assert spo2["dataAbsentReason"]["coding"][0]["code"] == "error"
    assert "withheld" in spo2["dataAbsentReason"]["text"]
    assert "valueQuantity" in observation(bundle, "8889-8")


def test_a_failed_gate_withholds_the_values_of_its_step(finished_runs, tmp_path):
    run = finished_runs["spo2-screening"]
    summary = json.loads(run.summary.read_text())
    gate = next(g for g in summary["qc_gates"] if g["step"] == "signal-quality")
    gate["passed"] = False
    summary["qc_passed"] = False
    path = tmp_path / "failed.json"
    path.write_text(json.dumps(summary))
    results = load_run_results(path, run.record, MRN)
    by_key = {result.key: result for result in results.results}
    for key in ("spo2", "pulse_rate", "perfusion_index"):
        assert by_key[key].value is None
        assert by_key[key].withheld_reason == "QC gate signal-quality failed"
    assert by_key["qc"].value_code.code == "QC-FAILED"


def test_profile_checks_refuse_a_broken_vital_sign(finished_runs):
    run = finished_runs["spo2-screening"]
    bundle = build_bundle(load_run_results(run.summary, run.record, MRN), MRN_SYSTEM)
    spo2 = observation(bundle, "59408-5")
    spo2["code"]["coding"] = [c for c in spo2["code"]["coding"] if c["code"] != "2708-6"]
    spo2["valueQuantity"]["code"] = "percent"
    with pytest.raises(FhirBundleError, match="LOINC 2708-6 missing; .*UCUM '%'"):
        check_profiles(bundle)
    spo2["valueQuantity"]["value"] = "high"
    with pytest.raises(FhirBundleError, match="not valid FHIR: entry.*valueQuantity.value"):
        validate_bundle(bundle)


@pytest.mark.parametrize("mode", ["error", "slow"])
def test_a_5xx_or_a_timeout_waits_then_is_retried(finished_runs, tmp_path, mode):
    run = finished_runs["spo2-screening"]
    receiver = FhirReceiver(mode=mode)
    outbox = Outbox(tmp_path / "outbox")
    try:
        report = deliver_run(
            run.record,
            run.summary,
            run.report,
            MRN,
            "",
            fhir_config(receiver.url, 1.0),
            outbox.directory,
        )
        assert not report.all_delivered
        (waiting,) = outbox.messages()
        expected = "HTTP 500" if mode == "error" else "no answer within 1 s"
        assert expected in waiting.last_error
        receiver.mode = "ok"
        (outcome,) = send_due(outbox, everything=True)
        assert outcome.delivered
        assert send_due(outbox, everything=True) == []
    finally:
        receiver.stop()
    assert len(receiver.posts) == 1 + (mode == "slow")  # the slow server took the first too
    assert len(receiver.created) == 6  # conditional creates: nothing created twice
    assert outbox.messages() == []
