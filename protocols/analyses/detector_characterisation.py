"""``detector_characterisation``: EMVA 1288 figures of a photon-transfer series."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

import numpy as np

from calibration.emva1288 import Emva1288Result, characterize
from calibration.frame_correction import coefficients_from_photon_transfer
from calibration.photon_transfer import PhotonTransferData
from protocols.context import RunContext, StepFailure, StepOutcome
from protocols.schema import AnalysisKind, Strict


class NoOptions(Strict):
    """The analysis takes no options."""


def _figure_names() -> tuple[str, ...]:
    """Each EMVA 1288 result field as a figure: measurements with their uncertainty, pixel
    lists as counts."""
    names = []
    for item in fields(Emva1288Result):
        if item.name.endswith("pixels"):
            names.append(item.name.removesuffix("s") + "_count")
        elif "Measurement" in str(item.type):
            names += [item.name, f"{item.name}_uncertainty"]
        else:
            names.append(item.name)
    return tuple(names)


def run(step: Any, context: RunContext) -> StepOutcome:
    """EMVA 1288 figures (:func:`calibration.emva1288.characterize`) of the source series; each
    measurement gives ``<figure>`` and ``<figure>_uncertainty`` (k = 1). With a dark-current
    series at several temperatures the frame-correction coefficients
    (:func:`calibration.frame_correction.coefficients_from_photon_transfer`) are stored too,
    as ``frame_correction_<field>`` arrays."""
    data = context.data.get(step.source)
    if not isinstance(data, PhotonTransferData):
        raise StepFailure(f"step {step.source!r} holds no photon-transfer series")
    figures = characterize(data).to_json_dict()
    results: dict[str, Any] = {}
    for name, value in figures.items():
        if isinstance(value, dict):
            results[name] = value["value"]
            results[f"{name}_uncertainty"] = value["uncertainty"]
        elif isinstance(value, list):
            count_name = name.removesuffix("s") + "_count" if name.endswith("pixels") else name
            results[count_name] = len(value)
        else:
            results[name] = value
    arrays: dict[str, np.ndarray] = {"emva1288_json": np.asarray(np.bytes_(json.dumps(figures)))}
    if data.has_dark_current_series:
        coefficients = coefficients_from_photon_transfer(data)
        arrays |= {f"frame_correction_{k}": v for k, v in coefficients.as_arrays().items()}
        results["frame_correction_doubling_temperature_c"] = coefficients.doubling_temperature_c
    return StepOutcome("passed", results, arrays)


ANALYSIS = AnalysisKind(
    "detector_characterisation",
    NoOptions,
    sources=("photon_transfer",),
    figures=(*_figure_names(), "frame_correction_doubling_temperature_c"),
    run=run,
)
