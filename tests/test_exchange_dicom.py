"""DICOM to a real PACS: Orthanc (Debian's package) receives the report and the maps by
C-STORE; the test reads back over Orthanc's REST API what it stored."""

from __future__ import annotations

import json

import numpy as np
import pytest

from instrument.config import DicomDestinationConfig, ExchangeConfig
from instrument.run_record import read_run_record
from protocols.outputs.exchange.delivery import deliver_run, send_due
from protocols.outputs.exchange.dicom_client import from_bytes
from protocols.outputs.exchange.dicom_objects import values_of
from protocols.outputs.exchange.outbox import Outbox
from tests.exchange_fixtures import (
    free_port,
    session_orthanc,
    session_runs,
    start_orthanc,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def finished_runs(tmp_path_factory):
    return session_runs(tmp_path_factory)


@pytest.fixture
def orthanc(tmp_path_factory):
    return session_orthanc(tmp_path_factory)


MRN = "QL-0042137"
ACCESSION = "ACC-2026-0815"
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def dicom_config(port: int, called_ae: str = "TESTPACS") -> ExchangeConfig:
    return ExchangeConfig(
        dicom=DicomDestinationConfig(
            host="127.0.0.1",
            port=port,
            called_ae=called_ae,
            calling_ae="NIRPOCT-T",
            timeout_s=10,
        )
    )


def stored_instances(pacs):
    """SOP class UID → list of (tags, dataset) of every instance Orthanc holds."""
    found: dict[str, list] = {}
    for instance in pacs.get("/instances"):
        tags = pacs.get(f"/instances/{instance}/simplified-tags")
        dataset = from_bytes(pacs.get(f"/instances/{instance}/file"))
        found.setdefault(tags["SOPClassUID"], []).append((tags, dataset))
    return found


def test_orthanc_stores_the_report_and_the_dot_slices(finished_runs, orthanc, tmp_path):
    run = finished_runs["dot-lesion-scan"]
    report = deliver_run(
        run.record,
        run.summary,
        run.report,
        MRN,
        ACCESSION,
        dicom_config(orthanc.dicom_port),
        tmp_path / "outbox",
    )
    assert report.all_delivered
    (patient,) = orthanc.get("/patients")
    assert orthanc.get(f"/patients/{patient}")["MainDicomTags"]["PatientID"] == MRN
    (study,) = orthanc.get("/studies")
    assert orthanc.get(f"/studies/{study}")["MainDicomTags"]["AccessionNumber"] == ACCESSION
    found = stored_instances(orthanc)
    assert set(found) == {SECONDARY_CAPTURE, ENCAPSULATED_PDF}
    ((pdf_tags, pdf),) = found[ENCAPSULATED_PDF]
    report_bytes = run.report.read_bytes()
    assert pdf.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert bytes(pdf.EncapsulatedDocument)[: pdf.EncapsulatedDocumentLength] == report_bytes
    assert pdf_tags["PatientID"] == MRN and pdf_tags["Modality"] == "DOC"
    record = read_run_record(run.record)
    arrays = record.results["dot"]
    z_mm = arrays["dot_z_mm"]
    images = sorted(found[SECONDARY_CAPTURE], key=lambda item: int(item[0]["InstanceNumber"]))
    assert len(images) == 2 * len(z_mm)  # HbT and StO2, one image per depth
    for (tags, dataset), (name, index) in zip(
        images,
        [("dot_hbt_map", i) for i in range(len(z_mm))]
        + [("dot_sto2_map", i) for i in range(len(z_mm))],
        strict=True,
    ):
        truth = arrays[name][:, :, index].T
        assert tags["PatientID"] == MRN and tags["AccessionNumber"] == ACCESSION
        assert tags["StudyInstanceUID"] == pdf_tags["StudyInstanceUID"]
        assert f"z = {z_mm[index]:g} mm" in tags["ImageComments"]
        values = values_of(dataset)
        assert values.shape == truth.shape
        assert np.array_equal(np.isnan(values), np.isnan(truth))
        assert np.nanmax(np.abs(values - truth)) <= 0.05 + 1e-9  # 0.1-unit pixel steps


def test_sending_again_keeps_one_copy(finished_runs, orthanc, tmp_path):
    run = finished_runs["dot-lesion-scan"]
    for _ in range(2):
        deliver_run(
            run.record,
            run.summary,
            run.report,
            MRN,
            ACCESSION,
            dicom_config(orthanc.dicom_port),
            tmp_path / "outbox",
        )
    assert len(orthanc.get("/instances")) == 1 + 2 * 4
    assert len(orthanc.get("/studies")) == 1


def test_a_pacs_that_is_down_gets_the_study_when_it_comes_up(finished_runs, tmp_path):
    run = finished_runs["dot-lesion-scan"]
    port = free_port()
    outbox = Outbox(tmp_path / "outbox")
    report = deliver_run(
        run.record,
        run.summary,
        run.report,
        MRN,
        ACCESSION,
        dicom_config(port),
        outbox.directory,
    )
    assert not report.all_delivered
    (waiting,) = outbox.messages()
    assert "association" in waiting.last_error
    assert not any(item["stored"] for item in waiting.payload["instances"])
    pacs = start_orthanc(tmp_path / "late-pacs", dicom_port=port)
    try:
        (outcome,) = send_due(outbox, everything=True)
        assert outcome.delivered
        assert len(pacs.get("/instances")) == 9
        assert outbox.messages() == []
    finally:
        pacs.process.terminate()
        pacs.process.wait(10)


def test_a_wrong_called_ae_title_is_refused_and_queued(finished_runs, orthanc, tmp_path):
    run = finished_runs["spo2-screening"]
    outbox = Outbox(tmp_path / "outbox")
    report = deliver_run(
        run.record,
        run.summary,
        run.report,
        MRN,
        "",
        dicom_config(orthanc.dicom_port, "OTHER"),
        outbox.directory,
    )
    assert not report.all_delivered
    assert orthanc.get("/instances") == []
    (waiting,) = outbox.messages()
    assert len(waiting.payload["instances"]) == 1  # the report; spo2-screening has no maps


def test_orthanc_stores_the_sto2_map(finished_runs, orthanc, tmp_path):
    run = finished_runs["tissue-oxygenation-map"]
    report = deliver_run(
        run.record,
        run.summary,
        run.report,
        MRN,
        "",
        dicom_config(orthanc.dicom_port),
        tmp_path / "outbox",
    )
    assert report.all_delivered
    found = stored_instances(orthanc)
    ((tags, dataset),) = found[SECONDARY_CAPTURE]
    assert len(found[ENCAPSULATED_PDF]) == 1
    record = read_run_record(run.record)
    truth = record.results["sto2"]["sto2_map_percent"]
    values = values_of(dataset)
    assert tags["PatientID"] == MRN and "StO2 map" in tags["ImageComments"]
    assert np.array_equal(np.isnan(values), np.isnan(truth))
    assert np.nanmax(np.abs(values - truth)) <= 0.05 + 1e-9
    region_px = json.loads(record.results["sto2"]["results_json"])["region_px"]
    region_mm = record.probe["pixel_pitch_mm"] * region_px
    assert [float(v) for v in dataset.PixelSpacing] == pytest.approx([region_mm, region_mm])
