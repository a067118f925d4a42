"""Defaults of detector-region grouping, light to import (the command line shows them)."""

from __future__ import annotations

DEFAULT_REGION_PX = 8
"""Side of a square detector region, recorded pixels."""
