"""Alarm conditions of continuous SpO2 monitoring (IEC 60601-1-8 priorities, ISO 80601-2-61).

An alarm condition is *detected* when its test holds for a second's values; it *starts* once
it has held for its ``delay_s`` without a break (the alarm-condition delay: detected at the end
of second k, it starts at the end of second k + delay_s), and *ends* at the first second it no
longer holds. Physiological conditions test the per-second vitals against
limits; technical ones test the signal (SpO2 withheld, probe off the skin, no frames from the
device). A started alarm can be *acknowledged* for ``acknowledge_s`` (its signal is silenced
while the condition lasts; it stays listed) or *paused* for ``pause_s`` (no condition starts
meanwhile). Every start, end, acknowledgement and pause is an `AlarmLogEntry`.

A value not updated for more than ``stale_after_s`` is *stale*: shown as such, never as
current.

Delays, totalled from the change in the patient to the alarm (docs/monitoring.md): the
signal-generation delay (`imaging.streaming_oximetry.DEFAULT_DELAY_S` = 2.4 s after the end of
a second, plus the ±2 s beat window that averages the change in) and the alarm-condition
delay (``delay_s`` of each condition).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)

Priority = Literal["high", "medium", "low"]
"""IEC 60601-1-8 alarm priority."""
Category = Literal["physiological", "technical"]

CONDITIONS: dict[str, Category] = {
    "spo2_low": "physiological",
    "pulse_rate_high": "physiological",
    "pulse_rate_low": "physiological",
    "signal_inadequate": "technical",
    "probe_off": "technical",
    "device_disconnected": "technical",
}
"""Alarm conditions and their category."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlarmCondition(_Strict):
    """One condition's settings: priority, limit, alarm-condition delay, on or off."""

    priority: Priority
    limit: float | None = None
    delay_s: Annotated[float, Field(ge=0, le=60)] = 0.0
    enabled: bool = True


class AlarmSettings(_Strict):
    """Every alarm condition of a monitoring step (protocol file ``alarms:``).

    Limits: ``spo2_low`` below % SpO2, ``pulse_rate_high`` / ``pulse_rate_low`` above / below
    beats/min, ``signal_inadequate`` SpO2 withheld longer than s; ``probe_off`` and
    ``device_disconnected`` have none.
    """

    spo2_low: AlarmCondition = AlarmCondition(priority="high", limit=90.0, delay_s=5.0)
    pulse_rate_high: AlarmCondition = AlarmCondition(priority="medium", limit=120.0, delay_s=5.0)
    pulse_rate_low: AlarmCondition = AlarmCondition(priority="medium", limit=50.0, delay_s=5.0)
    signal_inadequate: AlarmCondition = AlarmCondition(priority="low", limit=10.0)
    probe_off: AlarmCondition = AlarmCondition(priority="medium", delay_s=2.0)
    device_disconnected: AlarmCondition = AlarmCondition(priority="high")
    stale_after_s: Annotated[float, Field(gt=0, le=300)] = 30.0
    acknowledge_s: Annotated[float, Field(gt=0, le=600)] = 120.0
    pause_s: Annotated[float, Field(gt=0, le=600)] = 120.0

    def condition(self, name: str) -> AlarmCondition:
        """Settings of condition `name` (one of `CONDITIONS`)."""
        value: AlarmCondition = getattr(self, name)
        return value

    def problems(self) -> list[tuple[str, str]]:
        """(field, what is wrong) for limits that are missing or out of range."""
        ranges = {
            "spo2_low": (50.0, 100.0),
            "pulse_rate_high": (30.0, 300.0),
            "pulse_rate_low": (20.0, 200.0),
            "signal_inadequate": (1.0, 120.0),
        }
        found = []
        for name, (low, high) in ranges.items():
            limit = self.condition(name).limit
            if limit is None or not low <= limit <= high:
                found.append((f"{name}.limit", f"needs a limit in {low:g}..{high:g}"))
        for name in ("probe_off", "device_disconnected"):
            if self.condition(name).limit is not None:
                found.append((f"{name}.limit", "takes no limit"))
        low_rate, high_rate = self.pulse_rate_low.limit, self.pulse_rate_high.limit
        if low_rate is not None and high_rate is not None and low_rate >= high_rate:
            found.append(("pulse_rate_low.limit", "must be below pulse_rate_high.limit"))
        return found


@dataclass(frozen=True)
class Vitals:
    """What the alarm logic sees each second.

    Attributes
    ----------
    time_s : float
        Time of the values, s (the second's end on the run clock).
    spo2_percent, pulse_rate_bpm : float
        NaN when withheld.
    probe_off : bool
        No tissue in front of the probe: no light, or a saturated detector.
    device_connected : bool
        False for a second while the board is disconnected (no signal: not counted as
        withheld for ``signal_inadequate``).
    """

    time_s: float
    spo2_percent: float
    pulse_rate_bpm: float
    probe_off: bool = False
    device_connected: bool = True


@dataclass(frozen=True)
class AlarmLogEntry:
    """One line of the alarm log: ``event`` is start, end, acknowledged or paused."""

    time_s: float
    condition: str
    priority: str
    event: str
    value: float = math.nan


@dataclass
class _State:
    detected_since: float | None = None
    active: bool = False
    acknowledged_until: float = -math.inf


@dataclass
class AlarmMonitor:
    """The alarm conditions' state over a monitoring run.

    Parameters
    ----------
    settings : AlarmSettings
        Priorities, limits and delays.
    """

    settings: AlarmSettings
    log: list[AlarmLogEntry] = field(default_factory=list)
    _states: dict[str, _State] = field(default_factory=dict)
    _paused_until: float = -math.inf
    _last_spo2_s: float | None = None
    _last_rate_s: float | None = None
    _withheld_since: float | None = None

    def __post_init__(self) -> None:
        self._states = {name: _State() for name in CONDITIONS}

    def update(self, vitals: Vitals) -> list[AlarmLogEntry]:
        """Evaluate every condition for a new second; the log entries it caused."""
        now = vitals.time_s
        if math.isfinite(vitals.spo2_percent):
            self._last_spo2_s = now
            self._withheld_since = None
        elif not vitals.device_connected:
            self._withheld_since = None
        elif self._withheld_since is None:
            self._withheld_since = now - 1.0
        if math.isfinite(vitals.pulse_rate_bpm):
            self._last_rate_s = now
        detected = self._detected(vitals)
        detected["device_disconnected"] = (not vitals.device_connected, math.nan)
        return self._advance(now, detected)

    def disconnected(self, time_s: float) -> list[AlarmLogEntry]:
        """The device stopped delivering frames at `time_s` (s)."""
        return self._advance(time_s, {"device_disconnected": (True, math.nan)})

    def reconnected(self, time_s: float) -> list[AlarmLogEntry]:
        """The device delivers frames again from `time_s` (s)."""
        return self._advance(time_s, {"device_disconnected": (False, math.nan)})

    def _detected(self, vitals: Vitals) -> dict[str, tuple[bool, float]]:
        s = self.settings
        spo2, rate = vitals.spo2_percent, vitals.pulse_rate_bpm
        withheld_s = 0.0 if self._withheld_since is None else vitals.time_s - self._withheld_since
        return {
            "spo2_low": (spo2 < (s.spo2_low.limit or 0.0), spo2),
            "pulse_rate_high": (rate > (s.pulse_rate_high.limit or math.inf), rate),
            "pulse_rate_low": (rate < (s.pulse_rate_low.limit or 0.0), rate),
            "signal_inadequate": (
                not vitals.probe_off
                and vitals.device_connected
                and withheld_s > (s.signal_inadequate.limit or 0.0),
                withheld_s,
            ),
            "probe_off": (vitals.probe_off, math.nan),
        }

    def _advance(self, now: float, detected: dict[str, tuple[bool, float]]) -> list[AlarmLogEntry]:
        entries = []
        for name, (holds, value) in detected.items():
            settings = self.settings.condition(name)
            state = self._states[name]
            holds = holds and settings.enabled
            if not holds:
                state.detected_since = None
                if state.active:
                    state.active = False
                    entries.append(AlarmLogEntry(now, name, settings.priority, "end", value))
                continue
            if state.detected_since is None:
                state.detected_since = now
            due = now - state.detected_since >= settings.delay_s - 1e-9
            if due and not state.active and now >= self._paused_until:
                state.active = True
                entries.append(AlarmLogEntry(now, name, settings.priority, "start", value))
        self.log += entries
        for entry in entries:
            logger.info("alarm %s %s at %.1f s", entry.condition, entry.event, entry.time_s)
        return entries

    def acknowledge(self, time_s: float) -> list[AlarmLogEntry]:
        """Acknowledge every active alarm at `time_s` for ``acknowledge_s``."""
        entries = []
        for name, state in self._states.items():
            if state.active:
                state.acknowledged_until = time_s + self.settings.acknowledge_s
                priority = self.settings.condition(name).priority
                entries.append(AlarmLogEntry(time_s, name, priority, "acknowledged"))
        self.log += entries
        return entries

    def pause(self, time_s: float) -> list[AlarmLogEntry]:
        """Pause all alarms at `time_s` for ``pause_s``: none starts meanwhile."""
        self._paused_until = time_s + self.settings.pause_s
        entry = AlarmLogEntry(time_s, "all", "", "paused", self.settings.pause_s)
        self.log.append(entry)
        return [entry]

    def active(self, time_s: float) -> list[dict[str, object]]:
        """Active alarms at `time_s`: condition, priority, category, acknowledged."""
        return [
            {
                "condition": name,
                "priority": self.settings.condition(name).priority,
                "category": CONDITIONS[name],
                "acknowledged": time_s < state.acknowledged_until,
            }
            for name, state in self._states.items()
            if state.active
        ]

    def stale(self, time_s: float) -> bool:
        """True when SpO2 or pulse rate has not been updated for more than ``stale_after_s``
        at `time_s` (s; before the first value, the count starts at 0 s)."""
        limit = self.settings.stale_after_s
        spo2 = self._last_spo2_s if self._last_spo2_s is not None else 0.0
        rate = self._last_rate_s if self._last_rate_s is not None else 0.0
        return time_s - min(spo2, rate) > limit
