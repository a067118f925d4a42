"""C-STORE of DICOM instances to a PACS (pynetdicom), and their Part-10 bytes for the outbox.

An instance counts as stored on a Success or Warning status (PS3.4 B.2.3); every stored one is
reported to ``on_stored`` at once, so that a failure half-way through leaves only the rest to
send again.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import (
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
)
from pynetdicom import AE

from protocols.outputs.exchange.errors import DeliveryFailed

logger = logging.getLogger(__name__)

SOP_CLASSES = (EncapsulatedPDFStorage, SecondaryCaptureImageStorage)
STORED_STATUSES = {0x0000, 0xB000, 0xB006, 0xB007}


def to_bytes(dataset: Dataset) -> bytes:
    """The DICOM Part-10 file of ``dataset``."""
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def from_bytes(data: bytes) -> Dataset:
    """A dataset back from its Part-10 bytes."""
    return dcmread(io.BytesIO(data))


def store(
    host: str,
    port: int,
    called_ae: str,
    calling_ae: str,
    instances: Iterable[Dataset],
    timeout_s: float,
    on_stored: Callable[[str], None],
) -> None:
    """C-STORE every instance over one association.

    Raises
    ------
    DeliveryFailed
        If the association is refused or aborted, or an instance is not stored; the
        instances stored before were reported to ``on_stored``.
    """
    entity = AE(ae_title=calling_ae)
    for sop_class in SOP_CLASSES:
        entity.add_requested_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    entity.acse_timeout = entity.dimse_timeout = entity.network_timeout = timeout_s
    entity.connection_timeout = timeout_s
    where = f"{called_ae}@{host}:{port}"
    association = entity.associate(host, port, ae_title=called_ae)
    if not association.is_established:
        raise DeliveryFailed(f"{where}: association refused, rejected or timed out")
    try:
        for dataset in instances:
            status = association.send_c_store(dataset)
            code = int(getattr(status, "Status", -1)) if status else -1
            if code not in STORED_STATUSES:
                text = f"status 0x{code:04X}" if code >= 0 else "no answer"
                raise DeliveryFailed(f"{where}: {dataset.SOPInstanceUID} not stored ({text})")
            on_stored(str(dataset.SOPInstanceUID))
    finally:
        if association.is_established:
            association.release()
    logger.info("DICOM instances stored at %s", where)
