"""The HL7 v2.6 ORU^R01 message of a run, per IHE PCD-01 (Device Enterprise Communication).

Built with hl7apy and validated against the v2.6 structure before it is queued. One OBX carries
the device (MDS, OBX-4 ``1.0.0.0``) and one OBX each result: OBX-3 the MDC code with the LOINC
code as its alternate (local results: the ``99NIRPOCT`` code), OBX-4 the device hierarchy
(MDS.VMD.channel.metric), OBX-6 MDC and UCUM units, OBX-11 ``F`` (final) or ``X`` (withheld:
no value, an NTE says why), OBX-18 the equipment id.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from typing import Any

from hl7apy.core import Message
from hl7apy.exceptions import HL7apyException

from protocols.outputs.exchange.codes import HL7_SYSTEM_NAMES, Code, ResultCoding, Unit
from protocols.outputs.exchange.result_model import Result, RunResults

logger = logging.getLogger(__name__)

HL7_VERSION = "2.6"
IHE_PCD_01_PROFILE = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
MDS_CODE = "69642^MDC_DEV_ANALY_SAT_O2_MDS^MDC"
ORDER_CODE = "182777000^monitoring of patient^SCT"
_HL7_RESERVED = re.compile(r"[|^~\\&\r\n]")


class Hl7MessageError(ValueError):
    """A value cannot go into an HL7 message (e.g. an MRN holding a delimiter)."""


def hl7_time(moment: dt.datetime) -> str:
    """HL7 DTM with the UTC offset, e.g. ``20261207010941.4210+0000``."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y%m%d%H%M%S.") + f"{moment.microsecond // 100:04d}+0000"


def new_control_id() -> str:
    """A unique MSH-10 message control id (20 hex digits)."""
    return uuid.uuid4().hex[:20]


def _plain(text: str, what: str) -> str:
    if _HL7_RESERVED.search(text):
        raise Hl7MessageError(f"{what} {text!r} holds an HL7 delimiter (| ^ ~ \\ & or a newline)")
    return text


def _coded(code: Code) -> str:
    return f"{code.code}^{code.display}^{HL7_SYSTEM_NAMES[code.system]}"


def observation_identifier(coding: ResultCoding) -> str:
    """OBX-3: the primary code, and the first alternate (LOINC) when there is one."""
    identifier = _coded(coding.primary)
    return f"{identifier}^{_coded(coding.alternates[0])}" if coding.alternates else identifier


def units_field(unit: Unit) -> str:
    """OBX-6: the MDC unit with UCUM as its alternate, or UCUM alone."""
    ucum = f"{unit.ucum}^{unit.display}^UCUM"
    if not unit.ucum:
        return ""
    return f"{_coded(unit.mdc)}^{ucum}" if unit.mdc is not None else ucum


def build_oru_r01(
    run: RunResults,
    control_id: str,
    *,
    sending_application: str = "NIRPOCT",
    sending_facility: str = "",
    receiving_application: str = "",
    receiving_facility: str = "",
    now: dt.datetime | None = None,
) -> str:
    """The ORU^R01 message of ``run`` as ER7 text (segments separated by CR).

    Raises
    ------
    Hl7MessageError
        If a value holds an HL7 delimiter or the message does not validate against v2.6.
    """
    message = Message("ORU_R01", version=HL7_VERSION)
    msh = message.msh
    msh.msh_3 = f"{_plain(sending_application, 'sending application')}^{run.device.equipment_id}"
    msh.msh_4 = _plain(sending_facility, "sending facility")
    msh.msh_5 = _plain(receiving_application, "receiving application")
    msh.msh_6 = _plain(receiving_facility, "receiving facility")
    msh.msh_7 = hl7_time(now or dt.datetime.now(dt.UTC))
    msh.msh_9 = "ORU^R01^ORU_R01"
    msh.msh_10 = control_id
    msh.msh_11 = "P"
    msh.msh_15 = "AL"
    msh.msh_16 = "NE"
    msh.msh_18 = "UNICODE UTF-8"
    msh.msh_21 = IHE_PCD_01_PROFILE
    software = message.add_segment("SFT")
    software.sft_1 = "nirpoct"
    software.sft_2 = _plain(run.device.software_version or "unknown", "software version")
    software.sft_3 = "nirpoct"
    software.sft_4 = _plain(run.protocol_name, "protocol name")
    patient_result = message.add_group("ORU_R01_PATIENT_RESULT")
    _add_patient(patient_result, run)
    _add_order(patient_result, run)
    try:
        message.validate()
    except HL7apyException as exc:
        raise Hl7MessageError(f"the ORU^R01 message does not validate: {exc}") from None
    return str(message.to_er7())


def _add_patient(patient_result: Any, run: RunResults) -> None:
    patient = patient_result.add_group("ORU_R01_PATIENT")
    patient.pid.pid_3 = f"{_plain(run.patient_id, 'patient id')}^^^^MR"
    patient.pid.pid_5 = "^^^^^^U"  # the name is not known to the instrument: "unspecified"


def _add_order(patient_result: Any, run: RunResults) -> None:
    order = patient_result.add_group("ORU_R01_ORDER_OBSERVATION")
    obr = order.obr
    obr.obr_1 = "1"
    if run.accession:
        obr.obr_2 = _plain(run.accession, "accession number")
    obr.obr_3 = f"{run.run_id}^NIRPOCT"
    obr.obr_4 = ORDER_CODE
    obr.obr_7 = hl7_time(run.start_utc)
    obr.obr_8 = hl7_time(run.stop_utc)
    for use in run.calibrations:
        note = order.add_segment("NTE")
        note.nte_3 = (
            f"calibration {use.record} ({use.state}, due {use.due_date}) "
            f"sha256 {use.content_sha256}"
        )
    equipment = f"{run.device.equipment_id}^{_plain(run.device.model, 'device model')}"
    device = order.add_group("ORU_R01_OBSERVATION")
    device.obx.obx_1 = "1"
    device.obx.obx_3 = MDS_CODE
    device.obx.obx_4 = "1.0.0.0"
    device.obx.obx_11 = "X"
    device.obx.obx_18 = equipment
    for index, result in enumerate(run.results, start=2):
        _add_result(order.add_group("ORU_R01_OBSERVATION"), index, result, equipment)


def _add_result(observation: Any, index: int, result: Result, equipment: str) -> None:
    obx = observation.obx
    obx.obx_1 = str(index)
    obx.obx_3 = observation_identifier(result.coding)
    obx.obx_4 = result.hierarchy
    if result.value_code is not None:
        obx.obx_2 = "CWE"
        obx.obx_5 = _coded(result.value_code)
    elif result.value is not None:
        obx.obx_2 = "NM"
        obx.obx_5 = f"{result.value:.6g}"
        obx.obx_6 = units_field(result.coding.unit)
    obx.obx_11 = "X" if result.withheld else "F"
    obx.obx_14 = hl7_time(result.time_utc)
    obx.obx_18 = equipment
    if result.withheld:
        note = observation.add_segment("NTE")
        note.nte_3 = f"value withheld: {result.withheld_reason}"
