"""Options shared by the commands that talk to the instrument."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from instrument.config import InstrumentConfig


def add_instrument_options(parser: argparse.ArgumentParser) -> None:
    """``--sim`` and ``--config``."""
    parser.add_argument(
        "--sim",
        action="store_true",
        help="use the simulated devices (the built-in configuration simulates everything)",
    )
    parser.add_argument("--config", metavar="FILE", help="instrument configuration (YAML or TOML)")


def instrument_config(args: argparse.Namespace) -> tuple[InstrumentConfig, str]:
    """The configuration the options ask for, and its text."""
    from instrument.config import load_config, simulated

    config, text = load_config(args.config)
    if args.sim:
        config = simulated(config)
    return config, text


def wavelength_pair(text: str) -> tuple[float, float]:
    """Parse ``--pair RED,IR`` (nm, red shorter than infrared)."""
    try:
        red, infrared = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected RED,IR in nm, got {text!r}") from None
    if not 0.0 < red < infrared:
        raise argparse.ArgumentTypeError(f"expected RED,IR with 0 < RED < IR nm, got {text!r}")
    return red, infrared
