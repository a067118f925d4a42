"""Append-only, hash-chained audit trail (21 CFR Part 11 §11.10(e), EU GMP Annex 11 §9).

Each entry records who did what to which record, when (UTC) and why, and carries the SHA-256
of the previous entry; its own hash covers all of it. Editing, inserting, deleting or reordering
any entry breaks the chain, which :func:`verify_chain` reports.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from calibration.record import canonical_json

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64


def utc_now() -> str:
    """Current UTC time, ISO 8601 with microseconds and ``Z``."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AuditEntry:
    """One action on the calibration registry.

    Attributes
    ----------
    sequence : int
        Position in the trail, from 1.
    time_utc : str
        When, UTC.
    user : str
        Who (user id).
    action : str
        What, e.g. ``create``, ``sign``, ``revoke``, ``override``.
    record : str
        ``ID@version`` the action concerns ("" for registry-wide actions).
    content_sha256 : str
        Content hash of that record version at the time.
    reason : str
        Why.
    details : dict
        Anything else (old and new state, signature meaning …).
    previous_hash : str
        Hash of the previous entry.
    entry_hash : str
        SHA-256 of this entry's other fields.
    """

    sequence: int
    time_utc: str
    user: str
    action: str
    record: str
    content_sha256: str
    reason: str
    details: dict[str, Any]
    previous_hash: str
    entry_hash: str = ""

    def computed_hash(self) -> str:
        """SHA-256 over every field but ``entry_hash``."""
        fields = asdict(self)
        fields.pop("entry_hash")
        return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


class AuditTrail:
    """The trail of one registry, stored as JSON lines.

    Parameters
    ----------
    path : pathlib.Path
        The ``audit.jsonl`` file.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def entries(self) -> list[AuditEntry]:
        """Every entry, oldest first.

        Raises
        ------
        ValueError
            If a line is not a valid entry (naming the line).
        """
        if not self.path.exists():
            return []
        entries = []
        for number, line in enumerate(self.path.read_text().splitlines(), start=1):
            try:
                entries.append(AuditEntry(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"{self.path}: line {number} is not an audit entry ({exc})"
                ) from None
        return entries

    def append(
        self,
        user: str,
        action: str,
        record: str = "",
        content_sha256: str = "",
        reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Add an entry chained to the last one and write it durably.

        Appends are serialised by an exclusive lock on a lock file beside the trail, so two
        processes never chain to the same predecessor.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            existing = self.entries()
            previous = existing[-1] if existing else None
            entry = AuditEntry(
                sequence=(previous.sequence + 1) if previous else 1,
                time_utc=utc_now(),
                user=user,
                action=action,
                record=record,
                content_sha256=content_sha256,
                reason=reason,
                details=details or {},
                previous_hash=previous.entry_hash if previous else GENESIS_HASH,
            )
            entry = AuditEntry(**{**asdict(entry), "entry_hash": entry.computed_hash()})
            with open(self.path, "a") as handle:
                handle.write(canonical_json(asdict(entry)) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        logger.debug("audit entry %d: %s %s by %s", entry.sequence, action, record, user)
        return entry


def verify_chain(entries: list[AuditEntry]) -> list[str]:
    """Problems with a trail (empty when intact): broken links, altered entries, gaps."""
    problems = []
    previous_hash = GENESIS_HASH
    for expected_sequence, entry in enumerate(entries, start=1):
        if entry.sequence != expected_sequence:
            problems.append(f"audit entry {expected_sequence} has sequence number {entry.sequence}")
        if entry.previous_hash != previous_hash:
            problems.append(f"audit entry {entry.sequence} does not follow the entry before it")
        if entry.computed_hash() != entry.entry_hash:
            problems.append(f"audit entry {entry.sequence} ({entry.action}) was altered")
        previous_hash = entry.entry_hash
    return problems
