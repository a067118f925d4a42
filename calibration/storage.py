"""Calibration records as HDF5 files: content (hashed) plus the signatures made over it.

Layout: root attrs ``format``, ``format_version``, ``record_id``, ``version``,
``content_sha256`` and ``metadata_json`` (canonical JSON of header and content); datasets
``/arrays/<name>`` (chunked, Fletcher-32 checksummed); ``/signatures/<n>`` (one JSON string
each, appended as people sign — they are not part of the content hash).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from calibration.record import (
    RecordContent,
    RecordHeader,
    canonical_json,
    content_from_metadata,
    content_hash,
    header_from_metadata,
    metadata_dict,
)
from calibration.signatures import Signature

FORMAT = "nirpoct-calibration"
FORMAT_VERSION = 1


class RecordIntegrityError(ValueError):
    """A record file is unreadable, corrupt or altered; the message says where."""


@dataclass(frozen=True)
class StoredRecord:
    """A record as read back from its file."""

    path: Path
    header: RecordHeader
    content: RecordContent
    stored_sha256: str
    computed_sha256: str
    signatures: tuple[Signature, ...]

    @property
    def reference(self) -> str:
        """``ID@version``."""
        return f"{self.header.record_id}@{self.header.version}"


def write_record_file(path: Path, header: RecordHeader, content: RecordContent) -> str:
    """Create the record file; return its content hash."""
    metadata = metadata_dict(header, content)
    digest = content_hash(metadata, content.arrays)
    with h5py.File(path, "x") as handle:
        handle.attrs.update(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "record_id": header.record_id,
                "version": header.version,
                "content_sha256": digest,
                "metadata_json": canonical_json(metadata),
            }
        )
        arrays = handle.create_group("arrays")
        for name, array in content.arrays.items():
            data = np.asarray(array)
            arrays.create_dataset(
                name, data=data, chunks=True if data.ndim else None, fletcher32=data.ndim > 0
            )
        handle.create_group("signatures")
    return digest


def append_signature(path: Path, signature: Signature) -> None:
    """Store one more signature in the record file."""
    with h5py.File(path, "r+") as handle:
        group = handle["signatures"]
        group.create_dataset(f"{len(group):04d}", data=signature.to_json())


def _read_arrays(group: h5py.Group, path: Path) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset):
            try:
                arrays[name] = item[()]
            except OSError as exc:
                raise RecordIntegrityError(
                    f"{path}: dataset /arrays/{name} fails its checksum ({exc})"
                ) from None

    group.visititems(visit)
    return arrays


def read_record_file(path: Path) -> StoredRecord:
    """Read a record, recomputing its content hash from what is on disk.

    Raises
    ------
    RecordIntegrityError
        If the file cannot be read, is not a record, or a checksummed dataset is corrupt.
    """
    try:
        handle = h5py.File(path, "r")
    except FileNotFoundError:
        raise RecordIntegrityError(f"{path}: record file is missing") from None
    except OSError as exc:
        raise RecordIntegrityError(f"{path}: not a readable HDF5 file ({exc})") from None
    with handle:
        if handle.attrs.get("format") != FORMAT:
            raise RecordIntegrityError(f"{path}: not a {FORMAT} file")
        try:
            metadata = json.loads(handle.attrs["metadata_json"])
        except (KeyError, ValueError) as exc:
            raise RecordIntegrityError(f"{path}: record metadata is unreadable ({exc})") from None
        arrays = _read_arrays(handle["arrays"], path)
        stored = str(handle.attrs["content_sha256"])
        signatures = tuple(
            Signature.from_json(handle["signatures"][name][()].decode())
            for name in sorted(handle["signatures"])
        )
    try:
        header = header_from_metadata(metadata)
        content = content_from_metadata(metadata, arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordIntegrityError(f"{path}: record content is malformed ({exc})") from None
    return StoredRecord(path, header, content, stored, content_hash(metadata, arrays), signatures)
