"""The FHIR R4 transaction Bundle of a run: Patient, Device and one Observation per result.

SpO2 and pulse rate follow the vital-signs profile (category ``vital-signs``, LOINC codes —
both 2708-6 and 59408-5 for SpO2 —, UCUM units); a withheld value has no ``value[x]`` but a
``dataAbsentReason``. Every entry is a conditional create (``ifNoneExist`` on its identifier),
so a Bundle sent again after a lost answer creates nothing twice. The Bundle is validated with
the fhir.resources models (their R4B package: Patient, Device, Observation and Bundle are the
same as in R4) and by :func:`check_profiles` before it is queued.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from protocols.outputs.exchange import codes
from protocols.outputs.exchange.result_model import Result, RunResults

logger = logging.getLogger(__name__)

CATEGORY_URI = "http://terminology.hl7.org/CodeSystem/observation-category"
ABSENT_URI = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
IDENTIFIER_TYPE_URI = "http://terminology.hl7.org/CodeSystem/v2-0203"
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
OXYGEN_SATURATION_PROFILE = "http://hl7.org/fhir/StructureDefinition/oxygensat"
DEVICE_SERIAL_SYSTEM = "urn:nirpoct:device-serial"
OBSERVATION_SYSTEM = "urn:nirpoct:observation"


class FhirBundleError(ValueError):
    """A Bundle does not validate; the message names the entry and what is wrong."""


def _entry_url(run: RunResults, name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{OBSERVATION_SYSTEM}:{run.run_id}/{name}')}"


def build_bundle(run: RunResults, patient_identifier_system: str) -> dict[str, Any]:
    """The transaction Bundle of ``run`` as JSON-ready dict (validated by the caller)."""
    patient_url, device_url = _entry_url(run, "patient"), _entry_url(run, "device")
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {
                "type": {"coding": [{"system": IDENTIFIER_TYPE_URI, "code": "MR"}]},
                "system": patient_identifier_system,
                "value": run.patient_id,
            }
        ],
    }
    device = {
        "resourceType": "Device",
        "identifier": [{"system": DEVICE_SERIAL_SYSTEM, "value": run.device.equipment_id}],
        "manufacturer": "nirpoct",
        "serialNumber": run.device.serial,
        "deviceName": [{"name": run.device.model, "type": "model-name"}],
        "version": [
            {"type": {"text": "firmware"}, "value": run.device.firmware or "unknown"},
            {"type": {"text": "software"}, "value": run.device.software_version or "unknown"},
        ],
        "note": [
            {
                "text": f"calibration {use.record} ({use.state}, due {use.due_date}) "
                f"sha256 {use.content_sha256}"
            }
            for use in run.calibrations
        ]
        or None,
    }
    entries = [
        _entry(patient_url, patient, f"identifier={patient_identifier_system}|{run.patient_id}"),
        _entry(device_url, device, f"identifier={DEVICE_SERIAL_SYSTEM}|{run.device.equipment_id}"),
    ]
    for result in run.results:
        identifier = f"{run.run_id}/{result.key}"
        observation = _observation(run, result, identifier, patient_url, device_url)
        entries.append(
            _entry(
                _entry_url(run, result.key),
                observation,
                f"identifier={OBSERVATION_SYSTEM}|{identifier}",
            )
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _entry(full_url: str, resource: dict[str, Any], if_none_exist: str) -> dict[str, Any]:
    resource = {key: value for key, value in resource.items() if value is not None}
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {
            "method": "POST",
            "url": resource["resourceType"],
            "ifNoneExist": if_none_exist,
        },
    }


def _codeable(code: codes.Code) -> dict[str, Any]:
    return {"system": code.system, "code": code.code, "display": code.display}


def _observation(
    run: RunResults, result: Result, identifier: str, patient_url: str, device_url: str
) -> dict[str, Any]:
    coding = result.coding
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": OBSERVATION_SYSTEM, "value": identifier}],
        "status": "final",
        "code": {"coding": [_codeable(c) for c in coding.codes], "text": coding.primary.display},
        "subject": {"reference": patient_url},
        "effectiveDateTime": result.time_utc.isoformat().replace("+00:00", "Z"),
        "device": {"reference": device_url},
    }
    if run.accession:
        observation["identifier"].append(
            {
                "type": {"coding": [{"system": IDENTIFIER_TYPE_URI, "code": "ACSN"}]},
                "value": run.accession,
            }
        )
    if coding.vital_sign:
        profiles = [VITAL_SIGNS_PROFILE]
        if coding is codes.SPO2:
            profiles.append(OXYGEN_SATURATION_PROFILE)
        observation["meta"] = {"profile": profiles}
        observation["category"] = [
            {"coding": [{"system": CATEGORY_URI, "code": "vital-signs", "display": "Vital Signs"}]}
        ]
    if result.value_code is not None:
        observation["valueCodeableConcept"] = {"coding": [_codeable(result.value_code)]}
    elif result.value is not None:
        observation["valueQuantity"] = {
            "value": round(result.value, 6),
            "unit": coding.unit.display,
            "system": codes.UCUM_URI,
            "code": coding.unit.ucum,
        }
    else:
        observation["dataAbsentReason"] = {
            "coding": [{"system": ABSENT_URI, "code": "error", "display": "Error"}],
            "text": f"value withheld: {result.withheld_reason}",
        }
    return observation


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Validate with the fhir.resources models, then :func:`check_profiles`.

    Raises
    ------
    FhirBundleError
        Naming the first problem found.
    """
    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise FhirBundleError(f"the Bundle is not valid FHIR: {where}: {first['msg']}") from None
    check_profiles(bundle)


_VITAL_SIGN_RULES = {
    codes.SPO2.primary.code: codes.SPO2,
    codes.PULSE_RATE.primary.code: codes.PULSE_RATE,
}


def check_profiles(bundle: dict[str, Any]) -> None:
    """Check what the vital-signs profile requires of SpO2 and pulse rate Observations:
    category, every LOINC code, subject, effective time, a UCUM quantity in the right unit or
    a ``dataAbsentReason``, never both."""
    for index, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource", {})
        if resource.get("resourceType") != "Observation":
            continue
        where = f"entry {index} (Observation {resource['code'].get('text', '')})"
        found = {(c["system"], c["code"]) for c in resource["code"]["coding"]}
        expected = next(
            (rule for code, rule in _VITAL_SIGN_RULES.items() if (codes.MDC_URI, code) in found),
            None,
        )
        if expected is None:
            continue
        problems = _profile_problems(resource, found, expected)
        if problems:
            raise FhirBundleError(f"{where}: {'; '.join(problems)}")


def _profile_problems(
    resource: dict[str, Any], found: set[tuple[str, str]], expected: codes.ResultCoding
) -> list[str]:
    problems = [
        f"LOINC {code.code} missing"
        for code in expected.loinc
        if (codes.LOINC_URI, code.code) not in found
    ]
    categories = {
        (c.get("system"), c.get("code"))
        for category in resource.get("category", [])
        for c in category.get("coding", [])
    }
    if (CATEGORY_URI, "vital-signs") not in categories:
        problems.append("category vital-signs missing")
    for required in ("subject", "effectiveDateTime"):
        if required not in resource:
            problems.append(f"{required} missing")
    quantity = resource.get("valueQuantity")
    absent = resource.get("dataAbsentReason")
    if (quantity is None) == (absent is None):
        problems.append("needs exactly one of valueQuantity and dataAbsentReason")
    if quantity is not None and (
        quantity.get("system") != codes.UCUM_URI or quantity.get("code") != expected.unit.ucum
    ):
        problems.append(f"valueQuantity must be UCUM {expected.unit.ucum!r}")
    return problems
