"""``nirpoct outbox``: the messages waiting for a hospital receiver (list, retry, show)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protocols.cli.commands import COMMAND_HELP

if TYPE_CHECKING:
    from instrument.config import ExchangeConfig
    from protocols.outputs.exchange.outbox import Outbox, OutboxMessage


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command to the top-level parser."""
    parser = commands.add_parser(
        "outbox",
        help=COMMAND_HELP["outbox"],
        description=(
            "Messages written by `nirpoct send` or a clinical run that no receiver has "
            "acknowledged yet. The files hold the patient's MRN and are readable by their owner "
            "only."
        ),
    )
    where = argparse.ArgumentParser(add_help=False)  # before or after the action
    for owner, default in ((parser, None), (where, argparse.SUPPRESS)):
        owner.add_argument("--outbox", metavar="DIR", default=default, help="outbox directory")
        owner.add_argument(
            "--config", metavar="FILE", default=default, help="site configuration with exchange:"
        )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[where], help="list the waiting messages")
    listing.add_argument("--json", action="store_true", help="print JSON on stdout")
    retry = actions.add_parser("retry", parents=[where], help="send waiting messages now")
    retry.add_argument("id", nargs="?", metavar="ID", help="only this message (or id prefix)")
    retry.add_argument("--due", action="store_true", help="only those whose back-off has passed")
    retry.add_argument("--json", action="store_true", help="print JSON on stdout")
    show = actions.add_parser("show", parents=[where], help="show one message")
    show.add_argument("id", metavar="ID", help="message id (or a unique prefix)")
    parser.set_defaults(run=run)


def _settings(args: argparse.Namespace) -> tuple[Outbox, ExchangeConfig]:
    from instrument.config import ExchangeConfig, load_config
    from protocols.outputs.exchange.outbox import Outbox, default_outbox_dir

    config = load_config(args.config)[0] if args.config else None
    exchange = (config.exchange if config else None) or ExchangeConfig()
    directory = Path(args.outbox) if args.outbox else default_outbox_dir(exchange.outbox_dir)
    return Outbox(directory), exchange


def _row(message: OutboxMessage) -> dict[str, Any]:
    from protocols.outputs.exchange.delivery import describe_destination

    return {
        "id": message.id,
        "channel": message.channel,
        "destination": describe_destination(message.channel, message.destination),
        "run_id": message.run_id,
        "created_utc": message.created_utc,
        "attempts": message.attempts,
        "next_attempt_utc": message.next_attempt_utc,
        "last_error": message.last_error,
    }


def _printable(message: OutboxMessage) -> dict[str, Any]:
    """The whole message, DICOM instances shown by UID and size instead of their bytes."""
    shown = _row(message) | {"record": message.record}
    payload = dict(message.payload)
    if "instances" in payload:
        payload["instances"] = [
            {
                "sop_instance_uid": item["sop_instance_uid"],
                "stored": item["stored"],
                "bytes": len(item["part10_hex"]) // 2,
            }
            for item in payload["instances"]
        ]
    return shown | {"payload": payload}


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct outbox``."""
    from protocols.outputs.exchange.delivery import send_due

    outbox, exchange = _settings(args)
    if args.action == "show":
        message = outbox.get(args.id)
        shown = _printable(message)
        if message.channel == "hl7":
            print(
                json.dumps(
                    shown | {"payload": {"control_id": message.payload["control_id"]}}, indent=2
                )
            )
            print(message.payload["er7"].replace("\r", "\n"))
        else:
            print(json.dumps(shown, indent=2))
        return 0
    if args.action == "list":
        rows = [_row(message) for message in outbox.messages()]
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print(f"the outbox {outbox.directory} is empty")
        for row in [] if args.json else rows:
            print(
                f"{row['id']}  {row['channel']:5s} {row['destination']:32s} "
                f"attempts {row['attempts']}, next {row['next_attempt_utc']}\n"
                f"    {row['last_error']}"
            )
        return 0
    only = outbox.get(args.id).id if args.id else None
    outcomes = send_due(
        outbox,
        retry_initial_s=exchange.retry_initial_s,
        retry_max_s=exchange.retry_max_s,
        everything=not args.due,
        only=only,
    )
    if args.json:
        print(json.dumps([vars(o) for o in outcomes], indent=2))
    for outcome in [] if args.json else outcomes:
        state = "delivered" if outcome.delivered else f"QUEUED: {outcome.detail}"
        print(f"{outcome.message_id}  {outcome.channel:5s} {outcome.destination}: {state}")
    return 0 if all(o.delivered for o in outcomes) else 1
