"""The roles a person may hold in the calibration registry (light to import: the command line
offers them as choices)."""

from __future__ import annotations

ROLES: tuple[str, ...] = ("performer", "reviewer", "approver", "administrator")
"""The roles a registry user can hold (the one list; the CLI's ``--role`` choices too)."""
