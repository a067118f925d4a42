"""HL7 v2 over MLLP (Minimal Lower Layer Protocol): one message, one acknowledgement.

A message counts as delivered only when the receiver answers an ACK whose MSA-1 is ``AA``
(original mode) or ``CA`` (enhanced mode) and whose MSA-2 names the message's control id;
``AE``/``AR``, another control id, silence past the timeout or a closed connection raise
:class:`DeliveryFailed`, and the outbox tries again later with the same control id.
"""

from __future__ import annotations

import logging
import socket
import time

from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from protocols.outputs.exchange.errors import DeliveryFailed

logger = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
FILE_SEPARATOR = b"\x1c"
END_BLOCK = FILE_SEPARATOR + b"\r"
ACCEPTED = ("AA", "CA")


def frame(er7: str) -> bytes:
    """The MLLP frame of an ER7 message (UTF-8)."""
    return START_BLOCK + er7.encode("utf-8") + END_BLOCK


def exchange(host: str, port: int, er7: str, timeout_s: float) -> str:
    """Send one message and return the receiver's answer (ER7 text, unframed).

    Raises
    ------
    DeliveryFailed
        If the receiver cannot be reached or does not answer a whole frame within
        ``timeout_s`` (s, for the whole exchange).
    """
    deadline = time.monotonic() + timeout_s
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as link:
            link.sendall(frame(er7))
            answer = b""
            while FILE_SEPARATOR not in answer:  # some receivers omit the CR after it
                link.settimeout(max(0.001, deadline - time.monotonic()))
                chunk = link.recv(65536)
                if not chunk:
                    raise DeliveryFailed(f"{host}:{port} closed the connection without an ACK")
                answer += chunk
    except TimeoutError:
        raise DeliveryFailed(f"{host}:{port}: no ACK within {timeout_s:g} s") from None
    except OSError as exc:
        raise DeliveryFailed(f"{host}:{port}: {exc.strerror or exc}") from None
    start = answer.find(START_BLOCK) + 1
    return answer[start : answer.index(FILE_SEPARATOR)].decode("utf-8", errors="replace")


def check_ack(ack: str, control_id: str) -> None:
    """Accept ``ack`` only as a positive acknowledgement of message ``control_id``.

    Raises
    ------
    DeliveryFailed
        If it is not an ACK, is negative (AE/AR/CE/CR), or acknowledges another message.
    """
    try:
        parsed = parse_message(ack.replace("\n", "\r"), find_groups=False)
        code = str(parsed.msa.msa_1.value)
        acknowledged = str(parsed.msa.msa_2.value)
    except (HL7apyException, AttributeError, IndexError) as exc:
        raise DeliveryFailed(f"the answer is not an HL7 ACK ({exc})") from None
    if acknowledged != control_id:
        raise DeliveryFailed(f"the ACK names message {acknowledged!r}, not {control_id!r}")
    if code not in ACCEPTED:
        raise DeliveryFailed(f"the receiver answered {code} ({parsed.msa.to_er7()})")


def send_message(host: str, port: int, er7: str, control_id: str, timeout_s: float) -> None:
    """Send ``er7`` and return only when the receiver accepted it (AA/CA)."""
    check_ack(exchange(host, port, er7, timeout_s), control_id)
    logger.info("HL7 message %s accepted by %s:%d", control_id, host, port)
