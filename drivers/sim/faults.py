"""Faults a simulated serial link can suffer, injected on the device side of the wire.

A fault is written ``KIND@SECONDS`` (``unplug@2.5``: the board disappears 2.5 s after
streaming starts, for good), or ``unplug@SECONDS+SECONDS`` for an unplug that ends
(``unplug@20+10``: unplugged 20 s after streaming starts, plugged back 10 s later, as a
re-plugged USB device comes back: powered again, settings at their power-on values, not
streaming). Seconds are on the board's clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

FAULT_WINDOW_S = 1.0


class FaultKind(enum.StrEnum):
    """What goes wrong on the link.

    ``garbage`` inserts random bytes between packets, ``drop`` loses bytes, ``crc`` corrupts
    bits (each for :data:`FAULT_WINDOW_S` seconds, then the link recovers); ``stall`` makes the
    device stop answering for good; ``unplug`` makes the device disappear (for good, or for
    the plan's ``duration_s``).
    """

    GARBAGE = "garbage"
    DROP = "drop"
    CRC = "crc"
    STALL = "stall"
    UNPLUG = "unplug"


@dataclass(frozen=True)
class FaultPlan:
    """One fault of a kind, starting ``onset_s`` seconds after streaming starts.

    ``duration_s`` (``unplug`` only): seconds until the board is plugged back; None: never.
    """

    kind: FaultKind
    onset_s: float
    duration_s: float | None = None

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """Parse ``KIND@SECONDS`` (``unplug@2.5``) or ``unplug@SECONDS+SECONDS``
        (``unplug@20+10``: plugged back 10 s after it was unplugged).

        Raises
        ------
        ValueError
            Naming the allowed kinds or the malformed number.
        """
        kinds = ", ".join(kind.value for kind in FaultKind)
        kind_text, at, when_text = text.partition("@")
        if not at:
            raise ValueError(f"fault {text!r} must look like KIND@SECONDS, KIND one of {kinds}")
        try:
            kind = FaultKind(kind_text.strip().lower())
        except ValueError:
            raise ValueError(f"unknown fault kind {kind_text!r}; choose one of {kinds}") from None
        onset_text, plus, duration_text = when_text.partition("+")
        onset_s = _seconds(onset_text, "fault onset")
        if not onset_s >= 0:
            raise ValueError(f"fault onset must be ≥ 0 s, got {onset_s}")
        if not plus:
            return cls(kind, onset_s)
        if kind is not FaultKind.UNPLUG:
            raise ValueError(f"only unplug takes a duration (unplug@SECONDS+SECONDS), not {kind}")
        duration_s = _seconds(duration_text, "unplug duration")
        if not 0 < duration_s < 86_400:
            raise ValueError(f"unplug duration must be in (0, 86400) s, got {duration_s:g}")
        return cls(kind, onset_s, duration_s)

    def __str__(self) -> str:
        duration = "" if self.duration_s is None else f"+{self.duration_s:g}"
        return f"{self.kind.value}@{self.onset_s:g}{duration}"


def _seconds(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number of seconds") from None


class FaultInjector:
    """Applies a :class:`FaultPlan` to the bytes a device writes.

    Parameters
    ----------
    plan : FaultPlan or None
        The fault to inject; ``None`` leaves the link clean.
    rng : numpy.random.Generator
        Source of the random corruption, for reproducible faults.
    """

    def __init__(self, plan: FaultPlan | None, rng: np.random.Generator) -> None:
        self.plan = plan
        self._rng = rng
        self._over = False

    def _active(self, kind: FaultKind, stream_time_s: float | None) -> bool:
        if self.plan is None or self.plan.kind is not kind or stream_time_s is None or self._over:
            return False
        return stream_time_s >= self.plan.onset_s

    def _in_window(self, kind: FaultKind, stream_time_s: float | None) -> bool:
        plan = self.plan
        return (
            plan is not None
            and stream_time_s is not None
            and self._active(kind, stream_time_s)
            and stream_time_s < plan.onset_s + FAULT_WINDOW_S
        )

    def stalled(self, stream_time_s: float | None) -> bool:
        """True once a stall has begun: the device neither sends nor answers."""
        return self._active(FaultKind.STALL, stream_time_s)

    def unplugged(self, stream_time_s: float | None) -> bool:
        """True once the device has been unplugged (until :meth:`plugged_back`)."""
        return self._active(FaultKind.UNPLUG, stream_time_s)

    def plugged_back(self) -> None:
        """The unplug is over: the fault does not happen again."""
        self._over = True

    def corrupt(self, packet: bytes, stream_time_s: float | None) -> bytes:
        """Return the encoded ``packet`` as it arrives at the host under the fault."""
        rng = self._rng
        if self._in_window(FaultKind.GARBAGE, stream_time_s) and rng.random() < 0.3:
            noise = rng.integers(0, 256, size=int(rng.integers(1, 400)), dtype=np.uint8)
            return noise.tobytes() + packet
        if self._in_window(FaultKind.DROP, stream_time_s) and rng.random() < 0.2:
            lost = rng.choice(len(packet), size=min(len(packet), int(rng.integers(1, 16))))
            return np.delete(np.frombuffer(packet, np.uint8), lost).tobytes()
        if self._in_window(FaultKind.CRC, stream_time_s) and rng.random() < 0.2:
            data = bytearray(packet)
            position = int(rng.integers(0, max(1, len(data) - 1)))
            data[position] ^= 1 << int(rng.integers(0, 8))
            return bytes(data)
        return packet
