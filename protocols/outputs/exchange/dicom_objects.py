"""The DICOM instances of a run, all in one study carrying the MRN and accession number.

- the PDF report as an Encapsulated PDF instance (modality DOC);
- each map (StO2 map, DOT HbT and StO2 slices) as a Secondary Capture image (highdicom),
  16-bit, stored value = value / :data:`PIXEL_STEP` in the map's unit, with the Rescale Slope
  and Intercept that give the value back and Pixel Padding Value :data:`NO_VALUE` where the
  map has none.

UIDs derive from the run id, so the same run sent again gives the same instances (a PACS keeps
one copy).
"""

from __future__ import annotations

import datetime as dt
import logging

import highdicom
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, EncapsulatedPDFStorage, ExplicitVRLittleEndian, generate_uid

from protocols.outputs.exchange.result_model import MapImage, RunResults

logger = logging.getLogger(__name__)

PIXEL_STEP = 0.1
"""Value of one stored pixel unit (0.1 % or 0.1 µmol/L)."""
NO_VALUE = 65535
MANUFACTURER = "nirpoct"


def uid_for(run: RunResults, name: str) -> str:
    """A UID derived from the run id and ``name`` (the same on every send)."""
    return str(generate_uid(entropy_srcs=[run.run_id, name]))


def map_images(run: RunResults) -> list[Dataset]:
    """One Secondary Capture image per map of the run (series 2)."""
    images: list[Dataset] = []
    for number, image in enumerate(run.maps, start=1):
        dataset = highdicom.sc.SCImage(
            pixel_array=_stored_values(image),
            photometric_interpretation="MONOCHROME2",
            bits_allocated=16,
            coordinate_system="PATIENT",
            patient_orientation=("L", "F"),  # required by highdicom; emptied below
            series_instance_uid=uid_for(run, "maps"),
            series_number=2,
            sop_instance_uid=uid_for(run, f"map-{number}"),
            instance_number=number,
            manufacturer=MANUFACTURER,
            pixel_spacing=image.pixel_spacing_mm,
            study_instance_uid=uid_for(run, "study"),
            patient_id=run.patient_id,
            accession_number=run.accession or None,
            study_date=run.start_utc.date(),
            study_time=run.start_utc.time().replace(tzinfo=None),
            study_id=run.run_id[:16],
        )
        dataset["PatientOrientation"].value = ""  # the pad's orientation on the body: unknown
        dataset.ImageComments = f"{image.title}; value = stored × {PIXEL_STEP} {image.unit.ucum}"
        dataset.SeriesDescription = f"{run.protocol_name} maps"
        dataset.DerivationDescription = image.title
        dataset.RescaleSlope = PIXEL_STEP
        dataset.RescaleIntercept = 0
        dataset.RescaleType = image.unit.ucum
        dataset.PixelPaddingValue = NO_VALUE
        _add_equipment(dataset, run)
        images.append(dataset)
    return images


def _stored_values(image: MapImage) -> np.ndarray:
    scaled = np.round(np.asarray(image.values, dtype=float) / PIXEL_STEP)
    stored = np.where(np.isfinite(scaled), np.clip(scaled, 0, NO_VALUE - 1), NO_VALUE)
    return stored.astype(np.uint16)


def values_of(dataset: Dataset) -> np.ndarray:
    """The map values of a Secondary Capture image made here, in its unit (NaN where none)."""
    stored = dataset.pixel_array.astype(float)
    values = stored * float(dataset.RescaleSlope) + float(dataset.RescaleIntercept)
    return np.where(stored == NO_VALUE, np.nan, values)


def _add_equipment(dataset: Dataset, run: RunResults) -> None:
    dataset.ManufacturerModelName = run.device.model
    dataset.DeviceSerialNumber = run.device.serial
    dataset.SoftwareVersions = run.device.software_version or "unknown"


def encapsulated_pdf(run: RunResults, pdf: bytes, title: str) -> Dataset:
    """The PDF report as an Encapsulated PDF instance (series 1)."""
    if not pdf.startswith(b"%PDF"):
        raise ValueError(f"the report of run {run.run_id} is not a PDF file")
    now = dt.datetime.now(dt.UTC)
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = EncapsulatedPDFStorage
    dataset.file_meta.MediaStorageSOPInstanceUID = UID(uid_for(run, "report"))
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SpecificCharacterSet = "ISO_IR 192"
    dataset.SOPClassUID = EncapsulatedPDFStorage
    dataset.SOPInstanceUID = uid_for(run, "report")
    dataset.PatientName = ""
    dataset.PatientID = run.patient_id
    dataset.PatientBirthDate = ""
    dataset.PatientSex = ""
    dataset.StudyInstanceUID = uid_for(run, "study")
    dataset.StudyDate = run.start_utc.strftime("%Y%m%d")
    dataset.StudyTime = run.start_utc.strftime("%H%M%S")
    dataset.AccessionNumber = run.accession
    dataset.ReferringPhysicianName = ""
    dataset.StudyID = run.run_id[:16]
    dataset.Modality = "DOC"
    dataset.SeriesInstanceUID = uid_for(run, "report-series")
    dataset.SeriesNumber = 1
    dataset.SeriesDescription = f"{run.protocol_name} report"
    dataset.Manufacturer = MANUFACTURER
    _add_equipment(dataset, run)
    dataset.ConversionType = "WSD"
    dataset.InstanceNumber = 1
    dataset.ContentDate = now.strftime("%Y%m%d")
    dataset.ContentTime = now.strftime("%H%M%S")
    dataset.AcquisitionDateTime = run.stop_utc.strftime("%Y%m%d%H%M%S")
    dataset.BurnedInAnnotation = "YES"
    dataset.DocumentTitle = title
    dataset.ConceptNameCodeSequence = []
    dataset.MIMETypeOfEncapsulatedDocument = "application/pdf"
    dataset.EncapsulatedDocument = pdf + (b"\0" if len(pdf) % 2 else b"")
    dataset.EncapsulatedDocumentLength = len(pdf)
    return dataset


def run_instances(run: RunResults, pdf: bytes | None, title: str) -> list[Dataset]:
    """Every instance of the run: the report (when there is one) and the maps."""
    report = [encapsulated_pdf(run, pdf, title)] if pdf is not None else []
    return [*report, *map_images(run)]
