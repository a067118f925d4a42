"""Monitoring values while a run goes on: one line per second for a person, or one JSON
object per second for a script (``nirpoct run … --jsonl``)."""

from __future__ import annotations

import json
import math

from protocols.events import LiveVitals


def _value(number: float, digits: int) -> str:
    return "--" if not math.isfinite(number) else f"{number:.{digits}f}"


def vitals_line(vitals: LiveVitals) -> str:
    """``t=12 s  SpO2 97 %  PR 72 /min  PI 1.5 %  quality 0.93  alarms: …`` (``--`` when
    withheld; ``STALE`` when no value has been updated for the stale time)."""
    alarms = ", ".join(
        f"{a['condition']} ({a['priority']}{', acknowledged' if a.get('acknowledged') else ''})"
        for a in vitals.alarms
    )
    flags = (" STALE" if vitals.stale else "") + (" PROBE OFF" if vitals.probe_off else "")
    return (
        f"t={vitals.time_s:6.0f} s  SpO2 {_value(vitals.spo2_percent, 0):>3} %  "
        f"PR {_value(vitals.pulse_rate_bpm, 0):>3} /min  "
        f"PI {_value(vitals.perfusion_index_percent, 2):>5} %  "
        f"quality {vitals.signal_quality:.2f}{flags}  alarms: {alarms or 'none'}"
    )


def vitals_json(vitals: LiveVitals) -> str:
    """One JSON line: time_s, spo2_percent (null when withheld), pulse_rate_bpm,
    perfusion_index_percent, signal_quality, stale, probe_off, alarms ({condition, priority})."""
    return json.dumps(vitals.as_json(), allow_nan=False)
