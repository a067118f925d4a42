"""``nirpoct analyze nirs``."""

from __future__ import annotations

import argparse


def register(analyses: argparse._SubParsersAction) -> None:
    """Add the analysis to ``nirpoct analyze``."""
    analyses.add_parser("nirs")
