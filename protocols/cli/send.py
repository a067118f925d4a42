"""``nirpoct send``: send one finished run to the hospital (HL7 v2, FHIR R4, DICOM)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from protocols.cli.commands import COMMAND_HELP

if TYPE_CHECKING:
    from instrument.config import ExchangeConfig
    from protocols.outputs.exchange.delivery import DeliveryReport


EXIT_QUEUED = 1
_HOST_PORT = re.compile(r"^(?P<host>[^:@\s]+):(?P<port>\d{1,5})$")
_AE_HOST_PORT = re.compile(r"^(?P<ae>[^@\s]{1,16})@(?P<host>[^:@\s]+):(?P<port>\d{1,5})$")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command to the top-level parser."""
    parser = commands.add_parser(
        "send",
        help=COMMAND_HELP["send"],
        description=(
            "Send a finished run to the destinations of the configuration's exchange: section, "
            "or to those given here (which replace it): HL7 v2.6 ORU^R01 over MLLP, a FHIR R4 "
            "transaction Bundle, the PDF report and maps by DICOM C-STORE. Every message is "
            "written to the outbox first and stays there until its receiver acknowledges it "
            "(see `nirpoct outbox`). Exit code 0 when every message was delivered, 1 when some "
            "wait in the outbox."
        ),
    )
    parser.add_argument("record", metavar="RUN.h5", help="the run record")
    parser.add_argument("--patient-id", required=True, metavar="MRN", help="the patient's MRN")
    parser.add_argument("--accession", default="", metavar="N", help="accession number")
    parser.add_argument("--hl7", metavar="HOST:PORT", help="HL7 v2 MLLP receiver")
    parser.add_argument("--fhir", metavar="URL", help="FHIR R4 server base URL")
    parser.add_argument("--dicom", metavar="AE@HOST:PORT", help="DICOM storage SCP (PACS)")
    parser.add_argument("--config", metavar="FILE", help="site configuration with exchange:")
    parser.add_argument("--summary", metavar="FILE", help="JSON summary (default: RUN.json)")
    parser.add_argument("--report", metavar="FILE", help="PDF report (default: RUN.pdf)")
    parser.add_argument("--outbox", metavar="DIR", help="outbox directory")
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")
    parser.set_defaults(run=run)


def destinations(args: argparse.Namespace, configured: ExchangeConfig | None) -> ExchangeConfig:
    """The exchange settings: the configuration's, with ``--hl7/--fhir/--dicom`` replacing
    its destinations when any is given (other settings, e.g. facility names, are kept)."""
    from instrument.config import (
        DicomDestinationConfig,
        ExchangeConfig,
        FhirDestinationConfig,
        Hl7DestinationConfig,
    )

    base = configured or ExchangeConfig()
    if not (args.hl7 or args.fhir or args.dicom):
        if base.hl7 is None and base.fhir is None and base.dicom is None:
            raise ValueError(
                "no destination: give --hl7, --fhir or --dicom, or a --config "
                "whose exchange: section names one"
            )
        return base
    update: dict[str, object] = {"hl7": None, "fhir": None, "dicom": None}
    if args.hl7:
        match = _HOST_PORT.match(args.hl7)
        if match is None:
            raise ValueError(f"--hl7 {args.hl7!r}: expected HOST:PORT")
        hl7 = {**(base.hl7.model_dump() if base.hl7 else {}), **match.groupdict()}
        update["hl7"] = Hl7DestinationConfig.model_validate(hl7)
    if args.fhir:
        fhir = {**(base.fhir.model_dump() if base.fhir else {}), "base_url": args.fhir}
        update["fhir"] = FhirDestinationConfig.model_validate(fhir)
    if args.dicom:
        match = _AE_HOST_PORT.match(args.dicom)
        if match is None:
            raise ValueError(f"--dicom {args.dicom!r}: expected AE@HOST:PORT (AE up to 16 chars)")
        parts = match.groupdict()
        dicom = {
            **(base.dicom.model_dump() if base.dicom else {}),
            "called_ae": parts["ae"],
            "host": parts["host"],
            "port": parts["port"],
        }
        update["dicom"] = DicomDestinationConfig.model_validate(dicom)
    return base.model_copy(update=update)


def print_report(report: DeliveryReport) -> None:
    """One line per message."""
    for outcome in (*report.outcomes, *report.earlier):
        earlier = "" if outcome.run_id == report.run_id else f" (run {outcome.run_id})"
        state = "delivered" if outcome.delivered else "QUEUED"
        print(f"{outcome.channel:5s} {outcome.destination:32s} {state}{earlier}")
        if not outcome.delivered:
            print(f"      {outcome.detail} [{outcome.message_id}]")


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct send``."""
    from instrument.config import load_config
    from protocols.outputs.exchange.delivery import deliver_run
    from protocols.outputs.exchange.outbox import default_outbox_dir

    record = Path(args.record)
    config = load_config(args.config)[0] if args.config else None
    exchange = destinations(args, config.exchange if config else None)
    outbox = Path(args.outbox) if args.outbox else default_outbox_dir(exchange.outbox_dir)
    report_path = Path(args.report) if args.report else record.with_suffix(".pdf")
    report = deliver_run(
        record,
        Path(args.summary) if args.summary else record.with_suffix(".json"),
        report_path if (args.report or report_path.exists()) else None,
        args.patient_id,
        args.accession,
        exchange,
        outbox,
    )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print_report(report)
    return 0 if report.all_delivered else EXIT_QUEUED
