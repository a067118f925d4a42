"""Deliver a finished run: build its messages, queue them in the outbox, send what is due.

:func:`deliver_run` is what the runner calls at the end of a clinical run and what
``nirpoct send`` calls; :func:`send_due` is what ``nirpoct outbox retry`` (and every
:func:`deliver_run`, so queued messages also go out on the next start) calls.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from instrument.config import ExchangeConfig
from protocols.outputs.exchange import dicom_client, fhir_client, mllp
from protocols.outputs.exchange.dicom_objects import run_instances
from protocols.outputs.exchange.errors import DeliveryFailed
from protocols.outputs.exchange.fhir_bundle import build_bundle, validate_bundle
from protocols.outputs.exchange.hl7_message import build_oru_r01, new_control_id
from protocols.outputs.exchange.outbox import (
    Outbox,
    OutboxMessage,
    backoff_s,
    new_message,
    utc_iso,
)
from protocols.outputs.exchange.result_model import (
    ExchangeInputError,
    RunResults,
    load_run_results,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one queued message in one pass."""

    message_id: str
    channel: str
    destination: str
    run_id: str
    delivered: bool
    attempts: int
    detail: str


@dataclass(frozen=True)
class DeliveryReport:
    """The outcome of :func:`deliver_run`: this run's messages and any earlier ones sent."""

    run_id: str
    outcomes: tuple[DeliveryOutcome, ...]
    earlier: tuple[DeliveryOutcome, ...] = ()

    @property
    def all_delivered(self) -> bool:
        """True when every message of this run was acknowledged."""
        return all(outcome.delivered for outcome in self.outcomes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "run_id": self.run_id,
            "all_delivered": self.all_delivered,
            "messages": [asdict(o) for o in self.outcomes],
            "earlier_messages": [asdict(o) for o in self.earlier],
        }


def describe_destination(channel: str, destination: dict[str, Any]) -> str:
    """``host:port`` (HL7), the base URL (FHIR) or ``AE@host:port`` (DICOM)."""
    if channel == "fhir":
        return str(destination["base_url"])
    prefix = f"{destination['called_ae']}@" if channel == "dicom" else ""
    return f"{prefix}{destination['host']}:{destination['port']}"


def build_messages(
    run: RunResults,
    config: ExchangeConfig,
    record_path: Path,
    report_pdf: bytes | None,
    now: dt.datetime,
) -> list[OutboxMessage]:
    """One validated message per configured destination (none configured: none)."""
    messages = []
    record = str(record_path)
    if config.hl7 is not None:
        hl7 = config.hl7
        control_id = new_control_id()
        er7 = build_oru_r01(
            run,
            control_id,
            sending_application=hl7.sending_application,
            sending_facility=hl7.sending_facility,
            receiving_application=hl7.receiving_application,
            receiving_facility=hl7.receiving_facility,
            now=now,
        )
        hl7_payload = {"control_id": control_id, "er7": er7}
        messages.append(new_message("hl7", hl7.model_dump(), run.run_id, record, hl7_payload, now))
    if config.fhir is not None:
        bundle = build_bundle(run, config.fhir.patient_identifier_system)
        validate_bundle(bundle)
        messages.append(
            new_message(
                "fhir", config.fhir.model_dump(), run.run_id, record, {"bundle": bundle}, now
            )
        )
    if config.dicom is not None:
        instances = [
            {
                "sop_instance_uid": str(dataset.SOPInstanceUID),
                "stored": False,
                "part10_hex": dicom_client.to_bytes(dataset).hex(),
            }
            for dataset in run_instances(run, report_pdf, f"{run.protocol_name} report")
        ]
        payload: dict[str, Any] = {"instances": instances}
        messages.append(
            new_message("dicom", config.dicom.model_dump(), run.run_id, record, payload, now)
        )
    return messages


def transmit(message: OutboxMessage, outbox: Outbox) -> None:
    """Send one message once; return when its receiver acknowledged it.

    Raises
    ------
    DeliveryFailed
        When it did not (DICOM instances stored so far are marked in the outbox file).
    """
    destination, payload = message.destination, message.payload
    if message.channel == "hl7":
        mllp.send_message(
            destination["host"],
            destination["port"],
            payload["er7"],
            payload["control_id"],
            destination["timeout_s"],
        )
    elif message.channel == "fhir":
        fhir_client.post_bundle(
            destination["base_url"], payload["bundle"], destination["timeout_s"]
        )
    else:
        pending = [item for item in payload["instances"] if not item["stored"]]

        def mark_stored(uid: str) -> None:
            for item in payload["instances"]:
                if item["sop_instance_uid"] == uid:
                    item["stored"] = True
            outbox.write(message)

        dicom_client.store(
            destination["host"],
            destination["port"],
            destination["called_ae"],
            destination["calling_ae"],
            (dicom_client.from_bytes(bytes.fromhex(item["part10_hex"])) for item in pending),
            destination["timeout_s"],
            mark_stored,
        )


def send_due(
    outbox: Outbox,
    *,
    retry_initial_s: float = 30.0,
    retry_max_s: float = 3600.0,
    everything: bool = False,
    only: str | None = None,
    now_for: frozenset[str] = frozenset(),
) -> list[DeliveryOutcome]:
    """Send the due messages, oldest first: those whose back-off has passed, those to a
    destination in ``now_for`` (described as by :func:`describe_destination`), every one
    (``everything``) or just the one with id ``only``.

    A delivered message is removed; a failed one keeps its file with the error, one more
    attempt and its next time (back-off from ``retry_initial_s`` doubling to ``retry_max_s``).
    After a failure, the pass tries no further message to that destination.
    """
    outcomes: list[DeliveryOutcome] = []
    failed: set[str] = set()
    with outbox.sending():
        for message in outbox.messages():
            where = describe_destination(message.channel, message.destination)
            chosen = (
                message.id == only
                if only is not None
                else (everything or where in now_for or message.due(dt.datetime.now(dt.UTC)))
            )
            if not chosen or where in failed:
                continue
            outcome = _attempt(message, outbox, retry_initial_s, retry_max_s)
            if not outcome.delivered:
                failed.add(where)
            outcomes.append(outcome)
    return outcomes


def _attempt(
    message: OutboxMessage, outbox: Outbox, retry_initial_s: float, retry_max_s: float
) -> DeliveryOutcome:
    where = describe_destination(message.channel, message.destination)
    try:
        transmit(message, outbox)
    except DeliveryFailed as exc:
        message.attempts += 1
        message.last_error = str(exc)
        wait_s = backoff_s(message.attempts, retry_initial_s, retry_max_s)
        message.next_attempt_utc = utc_iso(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait_s))
        outbox.write(message)
        logger.warning("%s message %s to %s queued: %s", message.channel, message.id, where, exc)
        detail = f"queued, next attempt in {wait_s:g} s: {exc}"
        return DeliveryOutcome(
            message.id, message.channel, where, message.run_id, False, message.attempts, detail
        )
    outbox.remove(message.id)
    return DeliveryOutcome(
        message.id, message.channel, where, message.run_id, True, message.attempts + 1, "delivered"
    )


def deliver_run(
    record_path: Path,
    summary_path: Path,
    report_path: Path | None,
    patient_id: str,
    accession: str,
    exchange_config: ExchangeConfig,
    outbox_dir: Path,
) -> DeliveryReport:
    """Queue a finished run's messages for every configured destination, then send them,
    after any that earlier runs left for the same destinations (and any others now due).

    Parameters
    ----------
    record_path, summary_path : pathlib.Path
        The run record (HDF5) and its JSON summary.
    report_path : pathlib.Path or None
        The PDF report, sent to DICOM as Encapsulated PDF (None: maps only).
    patient_id : str
        The patient's MRN: written only into the messages and the outbox (0600 files).
    accession : str
        The order's accession number ("" when there is none).
    exchange_config : ExchangeConfig
        The destinations (the site configuration's ``exchange:`` section).
    outbox_dir : pathlib.Path
        The outbox directory.

    Raises
    ------
    ExchangeInputError
        If the files cannot be read or do not belong to one completed run (nothing is queued).
    """
    run = load_run_results(Path(summary_path), Path(record_path), patient_id, accession)
    report_pdf = _read_report(report_path)
    outbox = Outbox(outbox_dir)
    now = dt.datetime.now(dt.UTC)
    queued = build_messages(run, exchange_config, Path(record_path), report_pdf, now)
    for message in queued:
        outbox.write(message)
    logger.info("run %s: %d message(s) queued in %s", run.run_id, len(queued), outbox_dir)
    outcomes = send_due(
        outbox,
        retry_initial_s=exchange_config.retry_initial_s,
        retry_max_s=exchange_config.retry_max_s,
        now_for=frozenset(describe_destination(m.channel, m.destination) for m in queued),
    )
    ours = {message.id for message in queued}
    return DeliveryReport(
        run_id=run.run_id,
        outcomes=tuple(o for o in outcomes if o.message_id in ours),
        earlier=tuple(o for o in outcomes if o.message_id not in ours),
    )


def _read_report(report_path: Path | None) -> bytes | None:
    if report_path is None:
        return None
    try:
        return Path(report_path).read_bytes()
    except OSError as exc:
        raise ExchangeInputError(
            f"{report_path}: cannot read the report ({exc.strerror})"
        ) from None
