"""The durable outbox: a directory holding every outgoing message until a receiver takes it.

One JSON file per message (``<id>.json``), written atomically (a temporary file, fsync,
rename, fsync of the directory) with owner-only permissions (0600, the directory 0700): the
files hold the patient's MRN, which the run record never does. A message is written before
it is first sent and removed only once its receiver acknowledged it; a failed attempt records
the error and the time of the next one (exponential back-off). One process at a time sends
(an exclusive lock on ``.lock``), so two senders never send the same message at once.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FORMAT = "nirpoct-outbox-message"
FORMAT_VERSION = 1
OUTBOX_DIR_ENV = "NIRPOCT_OUTBOX_DIR"
CHANNELS = ("hl7", "fhir", "dicom")


class OutboxError(ValueError):
    """An outbox file or id is not usable; the message names it."""


def utc_iso(moment: dt.datetime) -> str:
    """ISO 8601 UTC with a ``Z`` suffix."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_outbox_dir(configured: str | None = None) -> Path:
    """The outbox directory: ``configured``, else ``NIRPOCT_OUTBOX_DIR``, else
    ``~/.local/share/nirpoct/outbox``."""
    chosen = configured or os.environ.get(OUTBOX_DIR_ENV)
    if chosen:
        return Path(chosen).expanduser()
    return Path.home() / ".local" / "share" / "nirpoct" / "outbox"


@dataclass
class OutboxMessage:
    """One queued message.

    Attributes
    ----------
    id : str
        File name without ``.json``: creation time, channel and a random part.
    channel : str
        ``hl7``, ``fhir`` or ``dicom``.
    destination : dict
        Where it goes (the destination's configuration at queue time).
    run_id, record : str
        The run it reports and its record's path.
    payload : dict
        ``hl7``: ``control_id``, ``er7``; ``fhir``: ``bundle``; ``dicom``: ``instances``
        (each ``sop_instance_uid``, ``stored`` and ``part10_hex``).
    attempts : int
        Failed attempts so far.
    next_attempt_utc, created_utc, last_error : str
        When it is due next, when it was queued, what the last attempt met.
    """

    id: str
    channel: str
    destination: dict[str, Any]
    run_id: str
    record: str
    payload: dict[str, Any]
    created_utc: str
    next_attempt_utc: str
    attempts: int = 0
    last_error: str = ""
    format: str = field(default=FORMAT)
    format_version: int = field(default=FORMAT_VERSION)

    def due(self, now: dt.datetime) -> bool:
        """True when its next attempt time has come."""
        return dt.datetime.fromisoformat(self.next_attempt_utc.replace("Z", "+00:00")) <= now


def new_message(
    channel: str,
    destination: dict[str, Any],
    run_id: str,
    record: str,
    payload: dict[str, Any],
    now: dt.datetime,
) -> OutboxMessage:
    """A message due at once."""
    if channel not in CHANNELS:
        raise OutboxError(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return OutboxMessage(
        id=f"{stamp}-{channel}-{secrets.token_hex(4)}",
        channel=channel,
        destination=destination,
        run_id=run_id,
        record=record,
        payload=payload,
        created_utc=utc_iso(now),
        next_attempt_utc=utc_iso(now),
    )


def backoff_s(attempts: int, initial_s: float, maximum_s: float) -> float:
    """Wait before the next attempt after ``attempts`` failed ones, s: doubling, capped."""
    return float(min(maximum_s, initial_s * 2 ** max(0, attempts - 1)))


class Outbox:
    """The outbox directory (created 0700 on first use)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _ensure(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path_of(self, message_id: str) -> Path:
        """The file of a message."""
        return self.directory / f"{message_id}.json"

    def write(self, message: OutboxMessage) -> Path:
        """Write (or replace) a message atomically, owner-only; return its path."""
        self._ensure()
        target = self.path_of(message.id)
        temporary = self.directory / f".{message.id}.{secrets.token_hex(4)}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(asdict(message), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._sync_directory()
        return target

    def remove(self, message_id: str) -> None:
        """Remove a delivered message."""
        self.path_of(message_id).unlink(missing_ok=True)
        self._sync_directory()

    def _sync_directory(self) -> None:
        descriptor = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def messages(self) -> list[OutboxMessage]:
        """Every queued message, oldest first (unreadable files are logged and skipped)."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                found.append(self.read(path))
            except OutboxError as exc:
                logger.error("%s", exc)
        return found

    @staticmethod
    def read(path: Path) -> OutboxMessage:
        """One message file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise OutboxError(f"{path}: not a {FORMAT} file")
            return OutboxMessage(**data)
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise OutboxError(f"{path}: unreadable outbox message ({exc})") from None

    def get(self, message_id: str) -> OutboxMessage:
        """The message whose id is (or starts with) ``message_id``."""
        matches = [m for m in self.messages() if m.id.startswith(message_id)]
        if len(matches) != 1:
            what = "no" if not matches else f"{len(matches)}"
            raise OutboxError(f"{what} message in {self.directory} matches {message_id!r}")
        return matches[0]

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Hold the outbox's send lock (waits for another sender to finish)."""
        self._ensure()
        descriptor = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)
