"""The ``nirpoct`` commands: the module that implements each and its one-line help.

The command line imports only the module of the command it runs, so ``nirpoct --help`` and
light commands start without loading the analysis and GUI packages.
"""

from __future__ import annotations

COMMAND_MODULES = {
    "run": "protocols.cli.run",
    "protocols": "protocols.cli.protocol_list",
    "acquire": "protocols.cli.acquire",
    "analyze": "protocols.cli.analyze",
    "export": "protocols.cli.export",
    "reconstruct": "protocols.cli.reconstruct",
    "batch": "protocols.cli.batch",
    "calib": "protocols.cli.calib",
    "devices": "protocols.cli.devices",
    "gui": "protocols.cli.gui",
    "sim": "protocols.cli.sim",
    "send": "protocols.cli.send",
    "outbox": "protocols.cli.outbox",
    "records": "protocols.cli.records",
}
"""Command name → module whose ``register(commands)`` adds it (with its options)."""

COMMAND_HELP = {
    "run": "run a protocol (shipped name or YAML file) end to end",
    "protocols": "list the shipped protocols",
    "acquire": "acquire frames into a run record",
    "analyze": "analyse recorded data",
    "export": "export a run record to an exchange format",
    "reconstruct": "reconstruct absorption / haemoglobin maps and find inclusions (DOT)",
    "batch": "run one analysis over many files on Dask, with a manifest (resumable)",
    "calib": "calibration and detector characterisation",
    "devices": "find and identify devices",
    "gui": "open the desktop app",
    "sim": "serve the simulated bench or detector board to any software (no hardware)",
    "send": "send a finished run to the hospital (HL7 v2, FHIR R4, DICOM)",
    "outbox": "messages waiting for a hospital receiver: list, retry, show",
    "records": "list run records, finalise records left open by a crash",
}
"""Command name → one-line help, shown by ``nirpoct --help``."""
