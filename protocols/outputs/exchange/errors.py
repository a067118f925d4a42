"""The one failure every transport raises: the receiver did not take the message (yet)."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """A message was not acknowledged (receiver down, timeout, negative ACK, HTTP error); it
    stays in the outbox and is tried again. The message says what happened."""
