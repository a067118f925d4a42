"""Start-up of the command line: parsing arguments and printing any command's help loads no
heavy package (SciPy, scikit-image, h5py, ReportLab), checked in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from protocols.cli.commands import COMMAND_MODULES

HEAVY = ("scipy", "skimage", "h5py", "reportlab")
ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import argparse, json, sys
from protocols.cli import build_parser

def every_help(parser):
    parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                every_help(sub)

every_help(build_parser(sys.argv[1]))
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""
"""Builds the parser of one command, formats the help of it and of every subcommand, and
prints the top-level packages then loaded."""


def packages_loaded_by_help(command: str) -> set[str]:
    """Top-level packages a fresh interpreter has loaded after formatting every help text of
    `command`."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, command],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=environment,
        timeout=60,
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("command", list(COMMAND_MODULES))
def test_help_of_every_command_loads_no_heavy_package(command: str) -> None:
    heavy = sorted(set(HEAVY) & packages_loaded_by_help(command))
    assert heavy == [], f"nirpoct {command} --help imports {heavy}"


def test_top_level_help_loads_no_command_module() -> None:
    loaded = packages_loaded_by_help("--help")
    assert not set(HEAVY) & loaded
    assert "numpy" not in loaded


def test_analyze_ppg_help_prints_without_loading_numpy() -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "protocols.cli", "analyze", "ppg", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=60,
    )
    assert done.returncode == 0
    assert "--curve POLY" in done.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    assert not imported & {*HEAVY, "numpy"}
