"""Events a protocol run emits, for the command line and the desktop app alike.

The runner calls its ``on_event`` callback with one of these frozen dataclasses, from the
thread that runs the protocol; a GUI marshals them to its own thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    | QcResult
    | OperatorPrompt
    | RunWarning
    | RunFailed
    | RunFinished
)
