"""Events a protocol run emits, for the command line and the desktop app alike.

The runner calls its ``on_event`` callback with one of these frozen dataclasses, from the
thread that runs the protocol; a GUI marshals them to its own thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from instrument.live_data import LiveData


@dataclass(frozen=True)
class StepStarted:
    """Step ``index`` (0-based) named ``name`` of kind ``kind`` begins."""

    index: int
    name: str
    kind: str


@dataclass(frozen=True)
class StepProgress:
    """Progress of the running step: ``fraction`` in 0..1 and what it is doing."""

    index: int
    fraction: float
    message: str


@dataclass(frozen=True)
class StepFinished:
    """A step ended with ``status`` (``passed``, ``failed``, ``skipped``, ``aborted``).

    ``results`` maps figure names to JSON-able values (numbers carry their unit in the name,
    e.g. ``spo2_percent``).
    """

    index: int
    name: str
    status: str
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QcResult:
    """A QC gate's verdict: ``figure`` = ``value`` ``unit`` against [``low``, ``high``].

    ``low`` or ``high`` is ``None`` when the gate has no limit on that side; ``stops_run`` says
    whether a failure ends the run.
    """

    step: str
    figure: str
    value: float
    unit: str
    low: float | None
    high: float | None
    passed: bool
    stops_run: bool


@dataclass(frozen=True)
class OperatorPrompt:
    """The run waits for the operator: do what ``message`` says, then confirm
    (:meth:`protocols.runner.ProtocolRunner.confirm`)."""

    index: int
    name: str
    message: str


@dataclass(frozen=True)
class RunWarning:
    """Something the operator should know that does not stop the run."""

    message: str


@dataclass(frozen=True)
class LiveSamples:
    """Per-wavelength PPG samples of a monitoring step as they arrive (for raw outputs).

    ``time_s`` (n,) s since the step's first frame; ``signals`` (n, W) mean DN above dark of
    each wavelength in ``wavelengths_nm``, sampled at ``sample_rate_hz``.
    """

    step: str
    time_s: np.ndarray
    signals: np.ndarray
    wavelengths_nm: tuple[float, ...]
    sample_rate_hz: float


@dataclass(frozen=True)
class LiveVitals:
    """One second of monitoring: the per-second values, whether they are stale, and the
    active alarms (each a dict with ``condition``, ``priority``, ``category``,
    ``acknowledged``).

    ``time_s`` is the end of the second, s since the step's first frame; values are NaN when
    withheld; ``waveform`` is the infrared pulse of that second (AC/DC, dimensionless) for a
    display.
    """

    step: str
    time_s: float
    spo2_percent: float
    pulse_rate_bpm: float
    perfusion_index_percent: float
    signal_quality: float
    stale: bool
    probe_off: bool
    alarms: tuple[dict[str, object], ...]
    waveform: tuple[float, ...] = ()

    def as_json(self) -> dict[str, object]:
        """The JSON-lines object: NaN values as null."""

        def number(value: float) -> float | None:
            return round(value, 2) if value == value else None

        return {
            "time_s": round(self.time_s, 3),
            "spo2_percent": number(self.spo2_percent),
            "pulse_rate_bpm": number(self.pulse_rate_bpm),
            "perfusion_index_percent": number(self.perfusion_index_percent),
            "signal_quality": number(self.signal_quality),
            "stale": self.stale,
            "probe_off": self.probe_off,
            "alarms": [
                {"condition": a["condition"], "priority": a["priority"]} for a in self.alarms
            ],
        }


@dataclass(frozen=True)
class RunFailed:
    """An error: a step failed, the device faulted, or the run was aborted."""

    message: str


@dataclass(frozen=True)
class RunFinished:
    """The run is over; ``status`` is ``completed``, ``failed`` or ``aborted``.

    ``report_pdf`` and ``summary_json`` are ``None`` when they could not be written;
    ``qc_passed`` is true only when every QC gate ran and passed; ``hospital_delivery`` maps each
    channel the results were sent on (``hl7``, ``fhir``, ``dicom``) to whether its receiver
    acknowledged them (False: waiting in the outbox); empty when nothing was sent.
    """

    status: str
    record_path: Path | None
    report_pdf: Path | None
    summary_json: Path | None
    qc_passed: bool
    hospital_delivery: dict[str, bool] = field(default_factory=dict)


RunEvent = (
    StepStarted
    | StepProgress
    | StepFinished
    | LiveData
    | LiveVitals
    | LiveSamples
    | QcResult
    | OperatorPrompt
    | RunWarning
    | RunFailed
    | RunFinished
)
