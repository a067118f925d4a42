"""``nirpoct protocols``: the protocols that ship with nirpoct."""

from __future__ import annotations

import argparse
import json

from protocols.cli.commands import COMMAND_HELP


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command to the top-level parser."""
    listing = commands.add_parser(
        "protocols",
        help=COMMAND_HELP["protocols"],
        description="List the protocols that ship with nirpoct.",
    )
    listing.add_argument("--json", action="store_true", help="print JSON on stdout")
    listing.set_defaults(run=list_protocols)


def list_protocols(args: argparse.Namespace) -> int:
    """Execute ``nirpoct protocols``."""
    from protocols.protocol_file import load_protocol, shipped_protocols

    rows = []
    for name in shipped_protocols():
        protocol = load_protocol(name)
        rows.append(
            {
                "name": name,
                "version": protocol.version,
                "intended_use": protocol.intended_use,
                "steps": len(protocol.steps),
                "description": protocol.description,
            }
        )
    if args.json:
        print(json.dumps(rows))
        return 0
    for row in rows:
        print(f"{row['name']:28} {row['version']:6} {row['intended_use']:9} {row['description']}")
    return 0
