"""A detector-characterisation calibration record from EMVA 1288 figures and the
frame-correction coefficients the imaging pipeline applies."""

from __future__ import annotations

import hashlib
from dataclasses import fields
from pathlib import Path

import numpy as np

from calibration.context import CalibrationContext
from calibration.emva1288 import Emva1288Result, Measurement
from calibration.frame_correction import FrameCorrectionCoefficients
from calibration.record import RecordContent
from calibration.uncertainty import Result, single_component_result

KIND = "detector-characterisation"


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file (hash-linked reference to raw data kept outside the record)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def emva_results(figures: Emva1288Result) -> tuple[Result, ...]:
    """Every EMVA 1288 figure as a record result, named by its JSON key.

    The uncertainties come from the characterisation's own fits and repeated frames (Type A).
    """
    results = []
    for field in fields(figures):
        value = getattr(figures, field.name)
        if isinstance(value, Measurement):
            results.append(
                single_component_result(field.name, value.value, value.unit, value.uncertainty)
            )
        elif isinstance(value, float):
            results.append(single_component_result(field.name, value, "%", 0.0))
    return tuple(results)


def detector_characterisation_content(
    figures: Emva1288Result,
    coefficients: FrameCorrectionCoefficients,
    context: CalibrationContext,
    *,
    dataset_path: str | Path,
    performed_by: str,
    calibration_date: str,
    software_version: str,
) -> RecordContent:
    """Record content of a detector characterisation.

    Stores the figures as as-left results, the frame-correction coefficients under
    ``coefficients/``, the hot and dead pixel lists, and a hash-linked reference to the
    photon-transfer dataset.
    """
    arrays: dict[str, np.ndarray] = {
        f"coefficients/{name}": np.asarray(array)
        for name, array in coefficients.as_arrays().items()
    }
    arrays["coefficients/hot_pixels"] = np.asarray(figures.hot_pixels, dtype=np.int32).reshape(
        -1, 2
    )
    arrays["coefficients/dead_pixels"] = np.asarray(figures.dead_pixels, dtype=np.int32).reshape(
        -1, 2
    )
    return context.record_content(
        KIND,
        "Detector characterisation (EMVA 1288 release 4.0)",
        performed_by=performed_by,
        calibration_date=calibration_date,
        software_version=software_version,
        as_left=emva_results(figures),
        arrays=arrays,
        raw_data_references=((str(Path(dataset_path).resolve()), file_sha256(dataset_path)),),
        remarks="DSNU and PRNU exclude the listed hot and dead pixels.",
    )


def frame_correction_from_record(content: RecordContent) -> FrameCorrectionCoefficients:
    """The frame-correction coefficients a detector-characterisation record stores.

    Public API: the inverse of what :func:`detector_characterisation_content` stores under
    ``coefficients/``, for code that applies an approved detector record to frames.

    Parameters
    ----------
    content : RecordContent
        Content of a ``detector-characterisation`` record.

    Returns
    -------
    FrameCorrectionCoefficients
        Black level, dark current, flat gain, linearity and bad-pixel mask (with their
        temperature, range and bit-depth facts) as stored.

    Raises
    ------
    ValueError
        If the record is of another kind.
    """
    if content.kind != KIND:
        raise ValueError(f"a {content.kind} record holds no frame-correction coefficients")
    prefix = "coefficients/"
    names = {field.name for field in fields(FrameCorrectionCoefficients)}
    return FrameCorrectionCoefficients.from_arrays(
        {
            name[len(prefix) :]: array
            for name, array in content.arrays.items()
            if name.startswith(prefix) and name[len(prefix) :] in names
        }
    )
