"""How monitoring is shown: alarm conditions and priorities in the interface language, the
IEC 60601-1-8 priority colours, alarm limits and the one-line summary of a second.

The runner and the record name alarm conditions and priorities by their identifiers
(``spo2_low``, ``high``); the app shows them through these tables.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from protocols.alarms import AlarmSettings
from protocols.events import LiveVitals

CONTEXT = "Monitoring"

CONDITION_NAMES = {
    "spo2_low": QT_TRANSLATE_NOOP("Monitoring", "SpO2 low"),
    "pulse_rate_high": QT_TRANSLATE_NOOP("Monitoring", "Pulse rate high"),
    "pulse_rate_low": QT_TRANSLATE_NOOP("Monitoring", "Pulse rate low"),
    "signal_inadequate": QT_TRANSLATE_NOOP("Monitoring", "Signal inadequate"),
    "probe_off": QT_TRANSLATE_NOOP("Monitoring", "Probe off"),
    "device_disconnected": QT_TRANSLATE_NOOP("Monitoring", "Device disconnected"),
}
PRIORITY_NAMES = {
    "high": QT_TRANSLATE_NOOP("Monitoring", "high"),
    "medium": QT_TRANSLATE_NOOP("Monitoring", "medium"),
    "low": QT_TRANSLATE_NOOP("Monitoring", "low"),
}
PRIORITY_COLOURS = {
    "high": ("#d32f2f", "#ffffff"),
    "medium": ("#fdd835", "#000000"),
    "low": ("#00bcd4", "#000000"),
}
"""(background, text) of an alarm by its IEC 60601-1-8 priority: red, yellow, cyan."""
PRIORITY_ORDER = ("high", "medium", "low")


def _translate(text: str) -> str:
    """A text of the tables above in the current language."""
    return QCoreApplication.translate(CONTEXT, text)


def condition_text(condition: str) -> str:
    """An alarm condition's name in the current language (the identifier when unknown)."""
    name = CONDITION_NAMES.get(condition)
    return _translate(str(name)) if name is not None else condition


def priority_text(priority: str) -> str:
    """An alarm priority in the current language (as written when unknown)."""
    name = PRIORITY_NAMES.get(priority)
    return _translate(str(name)) if name is not None else priority


def priority_colours(priority: str) -> tuple[str, str]:
    """(background, text) colour of an alarm of ``priority`` (``low``'s cyan when unknown)."""
    return PRIORITY_COLOURS.get(priority, PRIORITY_COLOURS["low"])


def minutes_text(seconds: float) -> str:
    """A time as ``m:ss`` (negative times as 0:00)."""
    whole = max(0, math.floor(seconds + 0.5))
    return f"{whole // 60}:{whole % 60:02d}"


def number_text(value: float, decimals: int) -> str:
    """A value as shown: the number, or a dash when withheld (NaN)."""
    return f"{value:.{decimals}f}" if math.isfinite(value) else "—"


def limits_text(settings: AlarmSettings | None, vital: str) -> str:
    """The alarm limits of one vital sign (``spo2_percent``, ``pulse_rate_bpm``,
    ``perfusion_index_percent``) under ``settings``, in the current language."""

    def limit(condition: str) -> float | None:
        if settings is None:
            return None
        chosen = settings.condition(condition)
        return chosen.limit if chosen.enabled else None

    if vital == "spo2_percent":
        low = limit("spo2_low")
        if low is None:
            return QCoreApplication.translate("Monitoring", "No alarm limit")
        return QCoreApplication.translate("Monitoring", "Alarm below %1 %").replace(
            "%1", f"{low:g}"
        )
    if vital == "pulse_rate_bpm":
        low, high = limit("pulse_rate_low"), limit("pulse_rate_high")
        if low is not None and high is not None:
            return (
                QCoreApplication.translate("Monitoring", "Alarm below %1 or above %2 bpm")
                .replace("%1", f"{low:g}")
                .replace("%2", f"{high:g}")
            )
        if low is not None:
            return QCoreApplication.translate("Monitoring", "Alarm below %1 bpm").replace(
                "%1", f"{low:g}"
            )
        if high is not None:
            return QCoreApplication.translate("Monitoring", "Alarm above %1 bpm").replace(
                "%1", f"{high:g}"
            )
    return QCoreApplication.translate("Monitoring", "No alarm limit")


def alarm_message_text(condition: str, priority: str, time_s: str) -> str:
    """The runner view's line for an alarm that started: condition, priority, time (s)."""
    return (
        QCoreApplication.translate("Monitoring", "Alarm: %1 (%2 priority) at %3 s")
        .replace("%1", condition_text(condition))
        .replace("%2", priority_text(priority))
        .replace("%3", time_s)
    )


def vitals_text(vitals: LiveVitals) -> str:
    """One second of monitoring on one line, in the current language: time, SpO2, pulse rate,
    perfusion index, signal quality, the flags and the active alarms."""
    alarms = ", ".join(
        f"{condition_text(str(a['condition']))} ({priority_text(str(a['priority']))})"
        for a in vitals.alarms
    )
    text = (
        QCoreApplication.translate(
            "Monitoring", "t = %1 s  SpO2 %2 %  pulse rate %3 bpm  PI %4 %  signal quality %5"
        )
        .replace("%1", f"{vitals.time_s:.0f}")
        .replace("%2", number_text(vitals.spo2_percent, 0))
        .replace("%3", number_text(vitals.pulse_rate_bpm, 0))
        .replace("%4", number_text(vitals.perfusion_index_percent, 2))
        .replace("%5", number_text(vitals.signal_quality, 2))
    )
    if vitals.stale:
        text += "  " + QCoreApplication.translate("Monitoring", "STALE")
    if vitals.probe_off:
        text += "  " + QCoreApplication.translate("Monitoring", "PROBE OFF")
    return (
        text
        + "  "
        + QCoreApplication.translate("Monitoring", "alarms: %1").replace(
            "%1", alarms or QCoreApplication.translate("Monitoring", "none")
        )
    )
