"""Run records as witnesses of the calibration registry: each keeps the head of the registry's
audit chain it saw, so a registry copied back from an older backup is caught by the next run.
"""

from __future__ import annotations

from pathlib import Path

from calibration.registry import ChainHead, Registry
from instrument.run_record import RunRecordError, read_run_header

WITNESSES = 20
"""How many of an output folder's newest run records vouch for the registry's audit head."""


def head_attributes(registry: Registry | None) -> dict[str, int | str]:
    """The registry's audit head as run-record attributes (none without a registry)."""
    return registry.chain_head().as_attributes() if registry is not None else {}


def rollback_problems(registry: Registry, out_dir: Path) -> list[str]:
    """Why ``registry`` does not extend the audit head that the newest run records of
    ``out_dir`` saw (at most one problem, naming the record); empty when it does."""
    if not out_dir.is_dir():
        return []
    newest = sorted(out_dir.glob("*.h5"), key=lambda path: path.stat().st_mtime, reverse=True)
    for path in newest[:WITNESSES]:
        try:
            head = ChainHead.from_attributes(read_run_header(path).metadata)
        except RunRecordError:
            continue
        problem = None if head is None else registry.rollback_problem(head, f"run record {path}")
        if problem is not None:
            return [f"calibration registry {registry.root}: {problem}"]
    return []
