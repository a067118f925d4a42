"""The shipped protocols' own texts (descriptions, step names, step kinds, operator prompts) and
the runner's and registry's common messages, in the interface language.

Protocol files and the runner speak English (they are recorded as written); the app shows them
through this table, translated like every other text (``gui/translations``). A text the table
does not know is shown as written; identifiers stay visible beside their translation where
the record names them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from gui.calibration_browser import state_text
from gui.i18n import filled
from gui.monitoring_texts import alarm_message_text
from protocols.protocol_file import Protocol

CONTEXT = "ProtocolTexts"

DESCRIPTIONS = (
    QT_TRANSLATE_NOOP(
        "ProtocolTexts",
        "Daily headless QC of the instrument: board warm-up, dark level, temporal noise, DSNU "
        "and hot pixels, LED signal per wavelength, lock-in chain — each against limits.",
    ),
    QT_TRANSLATE_NOOP(
        "ProtocolTexts",
        "EMVA 1288 detector characterisation: photon-transfer series on the integrating-sphere "
        "rig, system gain, quantum efficiency, dark noise, saturation, SNR, dynamic range, "
        "linearity, DSNU, PRNU and defect pixels against the detector's acceptance limits.",
    ),
    QT_TRANSLATE_NOOP(
        "ProtocolTexts",
        "Multi-wavelength diffuse optical tomography of a breast/soft-tissue region: "
        "reflectance at four wavelengths over the detector array, DOT reconstruction of "
        "absorption changes, lesion table (position, size, contrast, HbT, StO2).",
    ),
    QT_TRANSLATE_NOOP(
        "ProtocolTexts",
        "Continuous SpO2 monitoring: calibration check, red/infrared PPG at the fingertip "
        "until the operator stops it (Ctrl-C, Stop) or for --duration, SpO2, pulse rate, "
        "perfusion index and signal quality once per second with physiological and technical "
        "alarms (IEC 60601-1-8 priorities), alarm log in the run record, report.",
    ),
    QT_TRANSLATE_NOOP(
        "ProtocolTexts",
        "SpO2 screening: calibration check, 60 s red/infrared PPG at the fingertip, SpO2, pulse "
        "rate and perfusion index with signal-quality gates, report.",
    ),
    QT_TRANSLATE_NOOP(
        "ProtocolTexts",
        "Tissue oxygenation map: multi-wavelength reflectance over the detector array — StO2 / "
        "TOI map (spatially resolved spectroscopy) and imaging-PPG maps of SpO2 and perfusion.",
    ),
)

PROMPTS = (
    QT_TRANSLATE_NOOP(
        "ProtocolTexts",
        "Place the pad on the healthy contralateral side, mirroring the region to examine, "
        "then confirm.",
    ),
    QT_TRANSLATE_NOOP(
        "ProtocolTexts",
        "Move the pad to the region under examination, same orientation, then confirm.",
    ),
)

INTENDED_USES = {
    "clinical": QT_TRANSLATE_NOOP("ProtocolTexts", "clinical"),
    "research": QT_TRANSLATE_NOOP("ProtocolTexts", "research"),
    "qc": QT_TRANSLATE_NOOP("ProtocolTexts", "quality control"),
}

STEP_KINDS = {
    "acquire": QT_TRANSLATE_NOOP("ProtocolTexts", "acquisition"),
    "analyse": QT_TRANSLATE_NOOP("ProtocolTexts", "analysis"),
    "check_calibrations": QT_TRANSLATE_NOOP("ProtocolTexts", "calibration check"),
    "dark_reference": QT_TRANSLATE_NOOP("ProtocolTexts", "dark reference"),
    "lockin_sweep": QT_TRANSLATE_NOOP("ProtocolTexts", "lock-in sweep"),
    "monitor": QT_TRANSLATE_NOOP("ProtocolTexts", "monitoring"),
    "photon_transfer": QT_TRANSLATE_NOOP("ProtocolTexts", "photon transfer series"),
    "prompt": QT_TRANSLATE_NOOP("ProtocolTexts", "operator prompt"),
    "qc_gate": QT_TRANSLATE_NOOP("ProtocolTexts", "QC gate"),
    "report": QT_TRANSLATE_NOOP("ProtocolTexts", "report"),
    "warm_up": QT_TRANSLATE_NOOP("ProtocolTexts", "warm-up"),
}

STEP_NAMES = {
    "check_calibrations": QT_TRANSLATE_NOOP("ProtocolTexts", "calibration check"),
    "warm-up": QT_TRANSLATE_NOOP("ProtocolTexts", "warm-up"),
    "settle": QT_TRANSLATE_NOOP("ProtocolTexts", "settling"),
    "dark": QT_TRANSLATE_NOOP("ProtocolTexts", "dark frames"),
    "dark-stats": QT_TRANSLATE_NOOP("ProtocolTexts", "dark statistics"),
    "led-check": QT_TRANSLATE_NOOP("ProtocolTexts", "LED check"),
    "led": QT_TRANSLATE_NOOP("ProtocolTexts", "LED signal"),
    "lockin": QT_TRANSLATE_NOOP("ProtocolTexts", "lock-in chain"),
    "dark-level": QT_TRANSLATE_NOOP("ProtocolTexts", "dark level"),
    "dark-noise": QT_TRANSLATE_NOOP("ProtocolTexts", "dark noise"),
    "hot-pixels": QT_TRANSLATE_NOOP("ProtocolTexts", "hot pixels"),
    "led-power": QT_TRANSLATE_NOOP("ProtocolTexts", "LED power"),
    "lockin-valid": QT_TRANSLATE_NOOP("ProtocolTexts", "lock-in reading valid"),
    "lockin-response": QT_TRANSLATE_NOOP("ProtocolTexts", "lock-in response"),
    "report": QT_TRANSLATE_NOOP("ProtocolTexts", "report"),
    "ptc": QT_TRANSLATE_NOOP("ProtocolTexts", "photon transfer series"),
    "emva1288": QT_TRANSLATE_NOOP("ProtocolTexts", "EMVA 1288 analysis"),
    "system-gain": QT_TRANSLATE_NOOP("ProtocolTexts", "system gain"),
    "quantum-efficiency": QT_TRANSLATE_NOOP("ProtocolTexts", "quantum efficiency"),
    "snr-max": QT_TRANSLATE_NOOP("ProtocolTexts", "maximum SNR"),
    "dynamic-range": QT_TRANSLATE_NOOP("ProtocolTexts", "dynamic range"),
    "linearity": QT_TRANSLATE_NOOP("ProtocolTexts", "linearity"),
    "prnu": QT_TRANSLATE_NOOP("ProtocolTexts", "PRNU"),
    "place-reference": QT_TRANSLATE_NOOP("ProtocolTexts", "place on the reference side"),
    "reference": QT_TRANSLATE_NOOP("ProtocolTexts", "reference scan"),
    "place-scan": QT_TRANSLATE_NOOP("ProtocolTexts", "place on the region"),
    "scan": QT_TRANSLATE_NOOP("ProtocolTexts", "region scan"),
    "dot": QT_TRANSLATE_NOOP("ProtocolTexts", "DOT reconstruction"),
    "ppg": QT_TRANSLATE_NOOP("ProtocolTexts", "PPG recording"),
    "oximetry": QT_TRANSLATE_NOOP("ProtocolTexts", "oximetry"),
    "signal-quality": QT_TRANSLATE_NOOP("ProtocolTexts", "signal quality"),
    "spo2-coverage": QT_TRANSLATE_NOOP("ProtocolTexts", "SpO2 coverage"),
    "monitoring": QT_TRANSLATE_NOOP("ProtocolTexts", "monitoring"),
    "perfusion": QT_TRANSLATE_NOOP("ProtocolTexts", "perfusion"),
    "spo2-range": QT_TRANSLATE_NOOP("ProtocolTexts", "SpO2 in range"),
    "pulse-rate-range": QT_TRANSLATE_NOOP("ProtocolTexts", "pulse rate in range"),
    "reflectance": QT_TRANSLATE_NOOP("ProtocolTexts", "reflectance recording"),
    "sto2": QT_TRANSLATE_NOOP("ProtocolTexts", "StO2 map"),
    "ippg": QT_TRANSLATE_NOOP("ProtocolTexts", "imaging PPG"),
    "sto2-coverage": QT_TRANSLATE_NOOP("ProtocolTexts", "StO2 coverage"),
    "sto2-range": QT_TRANSLATE_NOOP("ProtocolTexts", "StO2 in range"),
    "ippg-coverage": QT_TRANSLATE_NOOP("ProtocolTexts", "imaging-PPG coverage"),
}


def _translate(text: object) -> str:
    return QCoreApplication.translate(CONTEXT, str(text))


def description_text(protocol: Protocol) -> str:
    """The protocol's name, version, intended use and description, in the current language."""
    use = _translate(INTENDED_USES.get(protocol.intended_use, protocol.intended_use))
    description = _translate(" ".join(protocol.description.split()))
    return f"{protocol.name} {protocol.version} ({use}) — {description}"


def _translated_or(identifier: str, table: dict[str, object]) -> str:
    """The translation of ``table[identifier]``; the identifier itself in English (it is what
    the record and the report name) or when the table does not know it."""
    if identifier not in table:
        return identifier
    translated = _translate(table[identifier])
    return identifier if translated == table[identifier] else translated


def step_text(name: str) -> str:
    """A step's name as shown: as written in English, its plain translation otherwise."""
    return _translated_or(name, STEP_NAMES)


def kind_text(kind: str) -> str:
    """A step kind as shown: as written in English, its plain translation otherwise."""
    return _translated_or(kind, STEP_KINDS)


def prompt_text(message: str) -> str:
    """An operator prompt of a shipped protocol, in the current language."""
    return _translate(" ".join(message.split()))


MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"^no (\S+) calibration in the registry (.+)$"),
        lambda m: filled(
            QCoreApplication.translate("ProtocolTexts", "no %1 calibration in the registry %2"),
            m.group(1),
            m.group(2),
        ),
    ),
    (
        re.compile(r"^(\S+) is (\w[\w ]*) \(due (\S+)\)$"),
        lambda m: filled(
            QCoreApplication.translate("ProtocolTexts", "%1 is %2 (due %3)"),
            m.group(1),
            state_text(m.group(2)),
            m.group(3),
        ),
    ),
    (
        re.compile(
            r"^clinical run refused: calibration (.+)\. Recalibrate, or have an approver "
            r"override with a reason\.$"
        ),
        lambda m: QCoreApplication.translate(
            "ProtocolTexts",
            "clinical run refused: calibration %1. Recalibrate, or have an approver override "
            "with a reason.",
        ).replace("%1", message_text(m.group(1))),
    ),
    (
        re.compile(r"^step (\S+) failed: (.+)$"),
        lambda m: filled(
            QCoreApplication.translate("ProtocolTexts", "step %1 failed: %2"),
            step_text(m.group(1)),
            m.group(2),
        ),
    ),
    (
        re.compile(r"^alarm (\S+) \((\w+) priority\) at (\S+) s$"),
        lambda m: alarm_message_text(m.group(1), m.group(2), m.group(3)),
    ),
    (
        re.compile(r"^(\S+) analyses uncorrected frames: (.+)$"),
        lambda m: filled(
            QCoreApplication.translate("ProtocolTexts", "%1 analyses uncorrected frames: %2"),
            step_text(m.group(1)),
            correction_text(m.group(2)),
        ),
    ),
    (
        re.compile(r"^([\d.]+)/([\d.]+) s, (\d+) frames$"),
        lambda m: filled(
            QCoreApplication.translate("ProtocolTexts", "%1/%2 s, %3 frames"),
            m.group(1),
            m.group(2),
            m.group(3),
        ),
    ),
    (
        re.compile(r"^([\d.]+) s, (\d+) frames \(until stopped\)$"),
        lambda m: filled(
            QCoreApplication.translate("ProtocolTexts", "%1 s, %2 frames (until stopped)"),
            m.group(1),
            m.group(2),
        ),
    ),
    (
        re.compile(r"^board ([-\d.]+) °C, varied ([\d.]+) °C over the last (\d+) s$"),
        lambda m: filled(
            QCoreApplication.translate(
                "ProtocolTexts", "board %1 °C, varied %2 °C over the last %3 s"
            ),
            m.group(1),
            m.group(2),
            m.group(3),
        ),
    ),
    (
        re.compile(r"^device fault: (.+)$"),
        lambda m: QCoreApplication.translate("ProtocolTexts", "device fault: %1").replace(
            "%1", m.group(1)
        ),
    ),
)


CORRECTION_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"^no calibration registry$"),
        lambda m: QCoreApplication.translate("ProtocolTexts", "no calibration registry"),
    ),
    (
        re.compile(r"^no approved detector-characterisation record$"),
        lambda m: QCoreApplication.translate(
            "ProtocolTexts", "no approved detector-characterisation record"
        ),
    ),
    (
        re.compile(r"^(\S+) holds no usable correction \(missing fields (.*), unexpected (.*)\)$"),
        lambda m: filled(
            QCoreApplication.translate(
                "ProtocolTexts", "%1 holds no usable correction (missing fields %2, unexpected %3)"
            ),
            m.group(1),
            m.group(2),
            m.group(3),
        ),
    ),
    (
        re.compile(r"^(\S+) holds no usable correction \((.*)\)$"),
        lambda m: filled(
            QCoreApplication.translate("ProtocolTexts", "%1 holds no usable correction (%2)"),
            m.group(1),
            m.group(2),
        ),
    ),
)
"""Why a step analyses uncorrected frames (`protocols.detector_correction`)."""


def _matched(
    text: str, patterns: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]
) -> str | None:
    for pattern, translate in patterns:
        match = pattern.match(text)
        if match is not None:
            return translate(match)
    return None


def correction_text(reason: str) -> str:
    """Why frames stay uncorrected, in the current language (as written when unknown)."""
    return _matched(reason, CORRECTION_PATTERNS) or reason


def message_text(message: str) -> str:
    """A runner or registry message in the current language: each ``; ``-separated part that
    matches a known message is translated, the rest (details such as paths) stays as written."""
    return "; ".join(_matched(part, MESSAGE_PATTERNS) or part for part in message.split("; "))
