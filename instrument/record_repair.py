"""Finalise a run record left open by a crash, a kill or a power loss.

A writer killed while the record is open in SWMR mode leaves the HDF5 superblock's file
consistency flags set; HDF5 readers other than a SWMR reader then refuse the file ("already open
for write"). :func:`repair_record` clears the flags (HDF5 superblock version 2/3: the flags byte
and the superblock's Jenkins lookup3 checksum, as ``h5clear -s`` does), then keeps every frame
whose per-frame fields were all flushed, marks the record ``interrupted`` and closes it properly,
after which any HDF5 reader opens it.

A record still being written is never touched: the writer flushes at least every half second,
so a record modified less than :data:`QUIET_S` ago, or whose consistency flags are set while
its status is not ``running``, is refused.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from instrument.run_record import (
    RunHeader,
    RunRecordError,
    finalise_interrupted,
    read_run_header,
)

logger = logging.getLogger(__name__)

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
FLAGS_OFFSET = 11
"""Byte of the file consistency flags in a version 2/3 superblock."""
QUIET_S = 5.0
"""A record modified more recently than this may still be written; it is not repaired, s."""
_MASK = 0xFFFFFFFF


class RepairError(ValueError):
    """The file cannot be repaired; the message names it and says why."""


@dataclass(frozen=True)
class RepairOutcome:
    """What :func:`repair_record` did.

    Attributes
    ----------
    path : Path
        The record.
    repaired : bool
        False when the record was already finished (nothing changed).
    status : str
        The record's status afterwards.
    frames : int
        Frames the record holds afterwards.
    frames_dropped : int
        Frames left out because some of their fields were never flushed.
    """

    path: Path
    repaired: bool
    status: str
    frames: int
    frames_dropped: int = 0


def _rot(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (32 - shift))) & _MASK


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle``, the checksum of HDF5 metadata."""
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & _MASK
    offset = 0
    while length > 12:
        x, y, z = struct.unpack_from("<3I", data, offset)
        a, b, c = (a + x) & _MASK, (b + y) & _MASK, (c + z) & _MASK
        a = ((a - c) & _MASK) ^ _rot(c, 4)
        c = (c + b) & _MASK
        b = ((b - a) & _MASK) ^ _rot(a, 6)
        a = (a + c) & _MASK
        c = ((c - b) & _MASK) ^ _rot(b, 8)
        b = (b + a) & _MASK
        a = ((a - c) & _MASK) ^ _rot(c, 16)
        c = (c + b) & _MASK
        b = ((b - a) & _MASK) ^ _rot(a, 19)
        a = (a + c) & _MASK
        c = ((c - b) & _MASK) ^ _rot(b, 4)
        b = (b + a) & _MASK
        length -= 12
        offset += 12
    if length == 0:
        return c
    tail = data[offset:] + bytes(12 - length)
    x, y, z = struct.unpack("<3I", tail)
    a, b, c = (a + x) & _MASK, (b + y) & _MASK, (c + z) & _MASK
    c = ((c ^ b) - _rot(b, 14)) & _MASK
    a = ((a ^ c) - _rot(c, 11)) & _MASK
    b = ((b ^ a) - _rot(a, 25)) & _MASK
    c = ((c ^ b) - _rot(b, 16)) & _MASK
    a = ((a ^ c) - _rot(c, 4)) & _MASK
    b = ((b ^ a) - _rot(a, 14)) & _MASK
    c = ((c ^ b) - _rot(b, 24)) & _MASK
    return int(c)


def _superblock(path: Path) -> tuple[bytearray, int]:
    """The version 2/3 superblock at the start of ``path`` and its length, bytes."""
    with open(path, "rb") as handle:
        head = bytearray(handle.read(128))
    if not head.startswith(HDF5_SIGNATURE):
        raise RepairError(f"{path}: not an HDF5 file")
    version = head[8]
    if version not in (2, 3):
        raise RepairError(f"{path}: HDF5 superblock version {version} is not written by nirpoct")
    length = 12 + 4 * head[9] + 4
    return head[:length], length


def consistency_flags(path: Path) -> int:
    """The file consistency flags of an HDF5 file's superblock (0 when closed properly)."""
    superblock, _ = _superblock(path)
    return superblock[FLAGS_OFFSET]


def _clear_flags(path: Path) -> None:
    superblock, length = _superblock(path)
    stored = struct.unpack_from("<I", superblock, length - 4)[0]
    if lookup3(bytes(superblock[: length - 4])) != stored:
        raise RepairError(f"{path}: the HDF5 superblock fails its checksum; not repaired")
    superblock[FLAGS_OFFSET] = 0
    struct.pack_into("<I", superblock, length - 4, lookup3(bytes(superblock[: length - 4])))
    with open(path, "r+b") as handle:
        handle.write(superblock)
        handle.flush()
        os.fsync(handle.fileno())


def _header(path: Path) -> RunHeader:
    try:
        return read_run_header(path)
    except RunRecordError as exc:
        raise RepairError(str(exc)) from None


def repair_record(path: str | Path, *, quiet_s: float = QUIET_S) -> RepairOutcome:
    """Finalise a record left open by a writer that stopped; leave a finished one as it is.

    Parameters
    ----------
    path : str or Path
        The run record.
    quiet_s : float
        A record modified less than this long ago is taken for one being written, s.

    Raises
    ------
    RepairError
        Not a run record, damaged beyond this repair, or possibly still being written.
    """
    path = Path(path)
    if not path.is_file():
        raise RepairError(f"{path}: {'is a folder' if path.is_dir() else 'no such file'}")
    flags = consistency_flags(path)
    header = _header(path)
    status = str(header.metadata.get("status", ""))
    if flags == 0 and status != "running":
        return RepairOutcome(path, False, status, header.frames)
    if time.time() - path.stat().st_mtime < quiet_s:
        raise RepairError(
            f"{path}: modified {time.time() - path.stat().st_mtime:.1f} s ago; it may still be "
            "written by a running acquisition (not repaired)"
        )
    if flags:
        _clear_flags(path)
    try:
        kept, dropped = finalise_interrupted(path)
    except RunRecordError as exc:
        raise RepairError(str(exc)) from None
    return RepairOutcome(path, True, "interrupted", kept, dropped)


@dataclass(frozen=True)
class RunSummary:
    """One run record as ``nirpoct records list`` shows it.

    ``status`` is the record's, except ``unfinished`` for a record a stopped writer left open
    (``running`` only while it is still being written).
    """

    file: str
    path: str
    status: str
    protocol: str
    start_time_utc: str
    frames: int


def record_summary(path: Path) -> RunSummary | None:
    """Status, protocol, start time and frame count of a run record (None when ``path`` is not
    a run record); reads attributes and shapes only, never the frames."""
    try:
        header = read_run_header(path)
    except RunRecordError:
        return None
    status = str(header.metadata.get("status", ""))
    if status == "running" and consistency_flags(path):
        status = "running" if time.time() - path.stat().st_mtime < QUIET_S else "unfinished"
    return RunSummary(
        file=path.name,
        path=str(path),
        status=status,
        protocol=str(header.protocol.get("name", "")),
        start_time_utc=str(header.metadata.get("start_time_utc", "")),
        frames=header.frames,
    )


def repair_unfinished(folder: str | Path) -> list[RepairOutcome | RepairError]:
    """Finalise every record in ``folder`` a stopped writer left open (acquire, run and the
    desktop app call this on their output folder at start); what could not be repaired is
    returned as its error, records that may still be written are left alone silently."""
    outcomes: list[RepairOutcome | RepairError] = []
    directory = Path(folder)
    if not directory.is_dir():
        return outcomes
    for path in sorted(directory.glob("*.h5")):
        summary = record_summary(path)
        if summary is None or summary.status != "unfinished":
            continue
        try:
            outcomes.append(repair_record(path))
        except RepairError as exc:
            outcomes.append(exc)
    return outcomes
