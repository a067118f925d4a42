"""Protocol runner view: pick a protocol, enter operator and subject, follow the steps, the
progress and the QC gates; pause, resume or abort.

The run is :meth:`protocols.runner.ProtocolRunner.run` in a worker thread — the same call
``nirpoct run`` makes; its events arrive here through a queued signal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from calibration.gate import CalibrationUse, Override, run_calibrations
from calibration.registry import OVERRIDABLE_STATES, USABLE_STATES, Registry
from gui.calibration_browser import state_text
from gui.instrument_session import InstrumentSession
from gui.live_view import VITALS
from gui.monitoring_texts import vitals_text
from gui.protocol_texts import description_text, kind_text, message_text, prompt_text, step_text
from gui.run_worker import Worker
from gui.tasks import run_task
from instrument.config import InstrumentConfig
from instrument.live_data import LiveData
from protocols.events import (
    LiveVitals,
    OperatorPrompt,
    QcResult,
    RunFailed,
    RunFinished,
    RunWarning,
    StepFinished,
    StepProgress,
    StepStarted,
)
from protocols.protocol_file import Protocol, load_protocol, shipped_protocols
from protocols.runner import ProtocolRunner

STATUS_COLOURS = {
    "running": QColor("#1565c0"),
    "passed": QColor("#2e7d32"),
    "failed": QColor("#d32f2f"),
    "aborted": QColor("#d32f2f"),
    "skipped": QColor("#757575"),
}
PROGRESS_STEPS = 1000
CLOCK_MS = 500
MAX_MONITORING_S = 24 * 3600.0


def step_seconds(protocol: Protocol, duration_scale: float) -> list[float]:
    """Expected duration (s) of each step: an acquiring step's ``duration_s``, a warm-up's
    stability window ``window_s`` (its shortest duration), both scaled; 0 for steps that only
    compute, check or wait for the operator."""
    seconds = []
    for step in protocol.steps:
        expected = getattr(step, "duration_s", None) or getattr(step, "window_s", None) or 0.0
        seconds.append(duration_scale * float(expected))
    return seconds


def has_monitor_step(protocol: Protocol) -> bool:
    """True when the protocol monitors (a ``monitor`` step runs until stopped or for a time)."""
    return any(step.kind == "monitor" for step in protocol.steps)


def time_text(seconds: float) -> str:
    """A duration as ``m:ss``."""
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


@dataclass
class RunOutcome:
    """What the runner view (or the run history) hands to the results view.

    ``protocol`` is ``None`` for a run read back from the output folder; ``refused`` is true
    for a clinical run the runner refused before it touched the devices (no record).
    """

    protocol: Protocol | None
    finished: RunFinished
    step_results: dict[str, dict[str, Any]] = field(default_factory=dict)
    qc: list[QcResult] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    protocol_name: str = ""
    protocol_version: str = ""
    subject_pseudonym: str = ""
    start_time_utc: str = ""

    @property
    def name(self) -> str:
        """The protocol's name."""
        return self.protocol.name if self.protocol is not None else self.protocol_name

    @property
    def version(self) -> str:
        """The protocol's version."""
        return self.protocol.version if self.protocol is not None else self.protocol_version

    @property
    def refused(self) -> bool:
        """True for a run refused before it started (failed, and no record was made)."""
        return self.finished.status == "failed" and self.finished.record_path is None


def overridable(uses: list[CalibrationUse], kinds: tuple[str, ...]) -> bool:
    """True when an approver's override can unblock a clinical run: every required kind has a
    record and every record that is not usable is only expired (a missing, revoked or
    unverifiable calibration cannot be overridden)."""
    unusable = [use for use in uses if use.state not in USABLE_STATES]
    return (
        len(uses) >= len(kinds)
        and bool(unusable)
        and all(use.state in OVERRIDABLE_STATES for use in unusable)
    )


def _cell(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """The item the view put at (row, column) of one of its tables."""
    item = table.item(row, column)
    if item is None:
        raise LookupError(f"no table item at row {row}, column {column}")
    return item


def status_text(status: str) -> str:
    """A step status as the interface shows it, in the current language."""
    names = {
        "pending": QCoreApplication.translate("Status", "pending"),
        "running": QCoreApplication.translate("Status", "running"),
        "passed": QCoreApplication.translate("Status", "passed"),
        "failed": QCoreApplication.translate("Status", "failed"),
        "skipped": QCoreApplication.translate("Status", "skipped"),
        "aborted": QCoreApplication.translate("Status", "aborted"),
        "completed": QCoreApplication.translate("Status", "completed"),
    }
    return names.get(status, status)


def limit_text(value: float | None) -> str:
    """A QC limit as shown: the number, or a dash when the gate has no limit on that side."""
    return "—" if value is None else f"{value:g}"


class RunnerView(QWidget):
    """Runs one protocol at a time on the instrument.

    Parameters
    ----------
    config : InstrumentConfig
        The instrument the runner opens.
    runs_dir : pathlib.Path
        Where run records, reports and summaries go.
    worker : Worker
        Runs the protocol off the GUI thread (its live data feeds the live view).
    session : InstrumentSession
        The panel's instrument connection, released before a run opens the devices.
    registry : Registry
        The site's calibration registry (a clinical protocol needs its calibrations usable).
    config_text : str
        The configuration file's text (stored in the run record).
    duration_scale : float
        Shortens every acquisition and warm-up (simulator demonstrations; 1 for real runs).
    """

    run_finished = Signal(object)
    prompt_shown = Signal()
    """A prompt step waits for the operator (the window brings this view to the front)."""
    run_started = Signal(object)
    """A run of this protocol (:class:`Protocol`, its monitoring duration applied) starts."""
    _alarms_shown: frozenset[str] | None = None  # while a monitor step runs: alarms listed

    def __init__(
        self,
        config: InstrumentConfig,
        runs_dir: Path,
        worker: Worker,
        session: InstrumentSession,
        registry: Registry,
        config_text: str = "",
        duration_scale: float = 1.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self.registry = registry
        self.config_text = config_text
        self.duration_scale = duration_scale
        self.calibrations_usable = True
        self.calibrations_overridable = False
        self.calibrations_pending = False
        self._checked: tuple[str, list[CalibrationUse], list[str], dict[str, str]] | None = None
        self.runs_dir = runs_dir
        self.worker = worker
        self.session = session
        self.runner: ProtocolRunner | None = None
        self.outcome: RunOutcome | None = None
        self.paused = False
        self._prompt: str | None = None
        self._seconds: list[float] = []
        self._done_s = 0.0
        self._started_at: float | None = None
        self.clock = QTimer(self)
        self.clock.setInterval(CLOCK_MS)
        self.clock.timeout.connect(self._show_time)
        self._status_text: Callable[[], str] = str
        self._status_error = False
        self._step_text: Callable[[], str] = str

        layout = QVBoxLayout(self)
        layout.addLayout(self._build_form())
        layout.addWidget(self._build_override_box())
        layout.addLayout(self._build_buttons())
        layout.addWidget(self._build_prompt_box())
        self._build_progress(layout)

        worker.run_event.connect(self.on_event)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(lambda _: self._update_buttons())
        self.retranslate()
        self._show_protocol()
        self._update_buttons()

    # ------------------------------------------------------------------ layout
    def _build_form(self) -> QFormLayout:
        """Protocol choice, its description and calibrations, operator and subject."""
        self.protocol_box = QComboBox()
        for name in shipped_protocols():
            self.protocol_box.addItem(name, name)
        self.protocol_box.currentIndexChanged.connect(self._on_protocol_chosen)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.calibrations = QLabel()
        self.calibrations.setWordWrap(True)
        self.operator = QLineEdit()
        self.subject = QLineEdit()
        self.monitoring_duration = QDoubleSpinBox()
        self.monitoring_duration.setRange(0.0, MAX_MONITORING_S)
        self.monitoring_duration.setDecimals(0)
        self.monitoring_duration.setSingleStep(60.0)
        self.monitoring_duration.setSuffix(" s")
        self.form = QFormLayout()
        self.form_labels = [QLabel() for _ in range(6)]
        for label, field_widget in zip(
            self.form_labels,
            (
                self.protocol_box,
                self.description,
                self.calibrations,
                self.operator,
                self.subject,
                self.monitoring_duration,
            ),
            strict=True,
        ):
            self.form.addRow(label, field_widget)
        return self.form

    def _build_override_box(self) -> QGroupBox:
        """User, password and reason of a calibration override (hidden until needed)."""
        self.override_box = QGroupBox()
        self.override_user = QLineEdit()
        self.override_password = QLineEdit()
        self.override_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.override_reason = QLineEdit()
        self.override_labels = [QLabel() for _ in range(3)]
        override_form = QFormLayout(self.override_box)
        for label, field_widget in zip(
            self.override_labels,
            (self.override_user, self.override_password, self.override_reason),
            strict=True,
        ):
            override_form.addRow(label, field_widget)
            field_widget.textChanged.connect(self._update_buttons)
        self.override_box.setVisible(False)
        return self.override_box

    def _build_buttons(self) -> QHBoxLayout:
        """Start, pause/resume and abort."""
        self.start_button = QPushButton()
        self.pause_button = QPushButton()
        self.abort_button = QPushButton()
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.abort_button.clicked.connect(self.abort)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.abort_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        return buttons

    def _build_prompt_box(self) -> QGroupBox:
        """An operator prompt's message and its continue button (hidden until a prompt)."""
        self.prompt_box = QGroupBox()
        self.prompt_text = QLabel()
        self.prompt_text.setWordWrap(True)
        self.prompt_text.setStyleSheet("font-size: 14pt; font-weight: bold")
        self.continue_button = QPushButton()
        self.continue_button.clicked.connect(self.confirm)
        prompt_layout = QHBoxLayout(self.prompt_box)
        prompt_layout.addWidget(self.prompt_text, 1)
        prompt_layout.addWidget(self.continue_button)
        self.prompt_box.setVisible(False)
        return self.prompt_box

    def _build_progress(self, layout: QVBoxLayout) -> None:
        """Status line, progress bar, step message, then the steps and QC tables side by side."""
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.step_message = QLabel()
        self.time_label = QLabel()
        self.steps = QTableWidget(0, 3)
        self.steps.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.qc = QTableWidget(0, 7)
        self.qc.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.messages = QListWidget()
        self.steps_box = QGroupBox()
        self.qc_box = QGroupBox()
        QVBoxLayout(self.steps_box).addWidget(self.steps)
        qc_layout = QVBoxLayout(self.qc_box)
        qc_layout.addWidget(self.qc, 2)
        qc_layout.addWidget(self.messages, 1)
        splitter = QSplitter()
        splitter.addWidget(self.steps_box)
        splitter.addWidget(self.qc_box)
        layout.addWidget(self.status)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.time_label)
        layout.addLayout(progress_row)
        layout.addWidget(self.step_message)
        layout.addWidget(splitter, 1)

    # ------------------------------------------------------------------ texts
    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        for row in range(self.messages.count()):
            item = self.messages.item(row)
            error = item.data(Qt.ItemDataRole.UserRole)
            framing = self.tr("Error: %1") if error else self.tr("Warning: %1")
            original = item.data(Qt.ItemDataRole.UserRole + 1)
            item.setText(framing.replace("%1", message_text(original)))
        labels = (
            self.tr("Protocol"),
            self.tr("About"),
            self.tr("Calibrations"),
            self.tr("Operator"),
            self.tr("Subject"),
            self.tr("Monitoring duration"),
        )
        for label, text in zip(self.form_labels, labels, strict=True):
            label.setText(text)
        self.monitoring_duration.setSpecialValueText(self.tr("until stopped"))
        self.subject.setPlaceholderText(self.tr("stored only as a pseudonym"))
        self.start_button.setText(self.tr("Start"))
        self.pause_button.setText(self.tr("Resume") if self.paused else self.tr("Pause"))
        self.abort_button.setText(self.tr("Abort"))
        self.prompt_box.setTitle(self.tr("The run waits for you"))
        self.continue_button.setText(self.tr("Done, continue"))
        self.override_box.setTitle(
            self.tr("Approver override (an expired calibration only; recorded in the audit trail)")
        )
        texts = (self.tr("Approver user id"), self.tr("Password"), self.tr("Reason"))
        for label, text in zip(self.override_labels, texts, strict=True):
            label.setText(text)
        if self._checked is not None:  # the last check, in the new language
            self._show_calibrations(*self._checked)
        elif self.protocol_box.count():
            self.refresh_calibrations()
        self._say(self._status_text, self._status_error)
        self._show_step_message(self._step_text)
        self._show_time()
        self.steps_box.setTitle(self.tr("Steps"))
        self.qc_box.setTitle(self.tr("QC gates and messages"))
        self.steps.setHorizontalHeaderLabels([self.tr("Step"), self.tr("Kind"), self.tr("Status")])
        self.qc.setHorizontalHeaderLabels(
            [
                self.tr("Step"),
                self.tr("Figure"),
                self.tr("Value"),
                self.tr("Unit"),
                self.tr("Low"),
                self.tr("High"),
                self.tr("Result"),
            ]
        )
        for row in range(self.steps.rowCount()):
            for column, shown in ((0, step_text), (1, kind_text), (2, status_text)):
                cell = _cell(self.steps, row, column)
                cell.setText(shown(cell.data(Qt.ItemDataRole.UserRole)))
        self.steps.resizeColumnsToContents()
        if self.protocol_box.count():
            self.description.setText(description_text(self.protocol()))
        if self._prompt is not None:
            self.prompt_text.setText(prompt_text(self._prompt))
        for row in range(self.qc.rowCount()):
            verdict = _cell(self.qc, row, 6)
            verdict.setText(
                self.tr("PASS") if verdict.data(Qt.ItemDataRole.UserRole) else self.tr("FAIL")
            )
        self.qc.resizeColumnsToContents()  # headers change width with the language

    # ------------------------------------------------------------------ protocol
    def protocol(self) -> Protocol:
        """The selected protocol, validated."""
        return load_protocol(self.protocol_box.currentData())

    def protocol_to_run(self) -> Protocol:
        """The selected protocol with the monitoring duration entered (0: until stopped)."""
        protocol = self.protocol()
        duration_s = self.monitoring_duration.value()
        if duration_s > 0 and has_monitor_step(protocol):
            return protocol.with_monitor_duration(duration_s)
        return protocol

    def select_protocol(self, name: str) -> None:
        """Choose a shipped protocol by name."""
        index = self.protocol_box.findData(name)
        if index < 0:
            raise LookupError(f"no shipped protocol named {name!r}")
        self.protocol_box.setCurrentIndex(index)

    def _on_protocol_chosen(self) -> None:
        """Another protocol was chosen: the last run's QC table, messages, status line and
        progress go (its results stay in the Results tab and the Run history)."""
        self.qc.setRowCount(0)
        self.messages.clear()
        self.progress.setValue(0)
        self._show_step_message(str)
        self._started_at = None
        self._show_time()
        self._say(str)
        self._show_protocol()

    def _show_protocol(self) -> None:
        if self.protocol_box.count() == 0:
            return
        protocol = self.protocol()
        self.description.setText(description_text(protocol))
        self.form.setRowVisible(self.monitoring_duration, has_monitor_step(protocol))
        self.steps.setRowCount(len(protocol.steps))
        for row, step in enumerate(protocol.steps):
            self._set_step(row, step.name, step.kind, "pending")
        self.steps.resizeColumnsToContents()
        self.refresh_calibrations()

    def refresh_calibrations(self) -> None:
        """States of the calibrations the selected protocol needs; a clinical protocol whose
        calibrations are not all approved and in date cannot be started."""
        if self.protocol_box.count() == 0:
            return
        protocol = self.protocol()
        self._checked = None
        if not protocol.required_calibrations:
            self.calibrations_pending = False
            self.calibrations_usable = True
            self.calibrations_overridable = False
            self.override_box.setVisible(False)
            self.calibrations.setText(self.tr("none required"))
            self.calibrations.setStyleSheet("")
            self._update_buttons()
            return
        self.calibrations_pending = True
        self.calibrations.setText(self.tr("checking…"))
        self.calibrations.setStyleSheet("")
        self._update_buttons()
        registry, name = self.registry, protocol.name

        def check() -> tuple[list[CalibrationUse], list[str], dict[str, str]]:
            uses, problems = run_calibrations(
                registry, protocol.required_calibrations, [], clinical=protocol.clinical
            )
            kinds = {entry.reference: entry.kind for entry in registry.index().values()}
            return uses, problems, kinds

        run_task(
            self,
            check,
            lambda checked: self._show_calibrations(name, *checked),
            lambda message: self._show_calibrations(name, [], [message], {}),
        )

    def _show_calibrations(
        self, name: str, uses: list[CalibrationUse], problems: list[str], kinds: dict[str, str]
    ) -> None:
        """The required calibrations, each as ``kind: record state (due …)``."""
        protocol = self.protocol()
        if protocol.name != name:  # another protocol was selected meanwhile
            return
        self._checked = (name, uses, problems, kinds)
        self.calibrations_pending = False
        due = self.tr("due %1")
        states = "; ".join(
            f"{kinds.get(use.record, '?')}: {use.record} {state_text(use.state)} "
            f"({due.replace('%1', use.due_date)})"
            for use in uses
        )
        self.calibrations_usable = not (protocol.clinical and problems)
        self.calibrations_overridable = not self.calibrations_usable and overridable(
            uses, protocol.required_calibrations
        )
        self.override_box.setVisible(self.calibrations_overridable)
        if self.calibrations_usable:
            self.calibrations.setText(states)
            self.calibrations.setStyleSheet("")
        else:
            self.calibrations.setText(
                self.tr(
                    "BLOCKED: this clinical protocol needs approved, in-date calibrations. %1"
                ).replace("%1", message_text("; ".join(problems)))
            )
            self.calibrations.setStyleSheet(
                "color: white; background: #d32f2f; font-weight: bold; padding: 4px"
            )
        self._update_buttons()

    def _set_step(self, row: int, name: str, kind: str, status: str) -> None:
        """One step's row: its name, kind and status as shown; the identifiers as item data."""
        items = []
        for value, text in ((name, step_text), (kind, kind_text), (status, status_text)):
            item = QTableWidgetItem(text(value))
            item.setData(Qt.ItemDataRole.UserRole, value)
            item.setToolTip(value)
            items.append(item)
        if status in STATUS_COLOURS:
            items[2].setForeground(QBrush(STATUS_COLOURS[status]))
        for column, item in enumerate(items):
            self.steps.setItem(row, column, item)

    # ------------------------------------------------------------------ run control
    def _update_buttons(self) -> None:
        running = self.worker.busy
        allowed = self.calibrations_usable or self.override() is not None
        self.start_button.setEnabled(not running and allowed and not self.calibrations_pending)
        self.protocol_box.setEnabled(not running)
        aborting = self.runner is not None and self.runner.aborted
        self.pause_button.setEnabled(running and not aborting)
        self.abort_button.setEnabled(running)
        self.pause_button.setText(self.tr("Resume") if self.paused else self.tr("Pause"))

    def override(self) -> Override | None:
        """The approver override entered for a blocked clinical protocol, if complete.

        The runner checks it (password, approver role, not the calibration's performer, and
        that the calibration is only expired) and records it in the audit trail.
        """
        fields = (self.override_user.text().strip(), self.override_password.text())
        reason = self.override_reason.text().strip()
        if not self.calibrations_overridable or not all(fields) or not reason:
            return None
        return Override(fields[0], fields[1], reason)

    def start(self) -> None:
        """Start the selected protocol with the entered operator and subject."""
        if self.session.busy:
            self._say(
                lambda: self.tr("The instrument is busy; stop the live acquisition first."), True
            )
            return
        if not self.operator.text().strip():
            self._say(lambda: self.tr("Enter the operator."), True)
            return
        protocol = self.protocol_to_run()
        self._show_protocol()
        self.qc.setRowCount(0)
        self.messages.clear()
        self.progress.setValue(0)
        self._show_step_message(str)
        self.paused = False
        self._seconds = step_seconds(protocol, self.duration_scale)
        self._done_s = 0.0
        self._started_at = time.monotonic()
        self.clock.start()
        self.outcome = RunOutcome(protocol, RunFinished("running", None, None, None, False))
        if self.worker.live is not None:
            self.worker.live.clear()
        self.runner = ProtocolRunner(
            protocol,
            self.config,
            self.runs_dir,
            operator=self.operator.text().strip(),
            subject_id=self.subject.text().strip(),
            on_event=self.worker.post,
            config_text=self.config_text,
            registry=self.registry,
            override=self.override(),
            duration_scale=self.duration_scale,
        )
        self.override_password.clear()
        self.subject.clear()  # the next run's subject is entered anew
        self.run_started.emit(protocol)
        was_open = self.session.is_open
        self.worker.start(self.session.run_job(self.runner.run))
        if was_open:
            self._say(
                lambda: self.tr(
                    "Running %1… The run uses the instrument itself: the Instrument tab's "
                    "connection is closed and stays closed after the run (connect again there)."
                ).replace("%1", protocol.name)
            )
        else:
            self._say(lambda: self.tr("Running %1…").replace("%1", protocol.name))
        self._show_time()
        self._update_buttons()

    def toggle_pause(self) -> None:
        """Pause the run at its next safe point, or resume it."""
        if self.runner is None:
            return
        if self.paused:
            self.runner.resume()
            self._say(lambda: self.tr("Resumed."))
        else:
            self.runner.pause()
            self._say(lambda: self.tr("Paused."))
        self.paused = not self.paused
        self._update_buttons()

    def confirm(self) -> None:
        """The operator did what the run's prompt asked: the run goes on."""
        self.prompt_box.setVisible(False)
        if self.runner is not None:
            self.runner.confirm()

    def acknowledge_alarms(self) -> None:
        """Acknowledge the running monitor step's active alarms (for the protocol's
        ``acknowledge_s``); the runner logs it in the record's alarm log."""
        if self.runner is not None:
            self.runner.acknowledge_alarms()

    def pause_alarms(self) -> None:
        """Pause the running monitor step's alarms (for the protocol's ``pause_s``); the runner
        logs it in the record's alarm log."""
        if self.runner is not None:
            self.runner.pause_alarms()

    def stop_monitoring(self) -> bool:
        """End a running monitor step normally: its record is complete and the protocol's
        remaining steps run. False when no monitor step runs."""
        if self.runner is None or self._alarms_shown is None:
            return False
        self.runner.stop()  # the step list shows the monitoring step end
        self._alarms_shown = None
        return True

    def abort(self) -> None:
        """End the run at its next safe point (the record is kept, marked aborted); while a
        monitor step runs, end the monitoring normally instead (its record is complete and
        the protocol's remaining steps run)."""
        if self.stop_monitoring():
            return
        if self.runner is not None:
            self.runner.abort()
            self._say(lambda: self.tr("Aborting…"), True)
            self._update_buttons()

    # ------------------------------------------------------------------ events
    def on_event(self, event: object) -> None:
        """Show one runner event (GUI thread)."""
        outcome = self.outcome
        if isinstance(event, LiveVitals):
            self._show_live_vitals(event)
        elif isinstance(event, StepStarted):
            self._alarms_shown = frozenset() if event.kind == "monitor" else None
            self._set_step(event.index, event.name, event.kind, "running")
            self._show_progress(event.index, 0.0)
            name = event.name
            self._show_step_message(lambda: step_text(name))
        elif isinstance(event, StepProgress):
            self._show_progress(event.index, min(max(event.fraction, 0.0), 1.0))
            if self._alarms_shown is None:  # monitoring shows its vitals line instead
                message = event.message
                self._show_step_message(lambda: message_text(message))
        elif isinstance(event, StepFinished):
            kind = _cell(self.steps, event.index, 1).data(Qt.ItemDataRole.UserRole)
            self._set_step(event.index, event.name, kind, event.status)
            self._show_progress(event.index, 1.0)
            if outcome is not None:
                outcome.step_results[event.name] = dict(event.results)
            self._show_vitals(event.results)
        elif isinstance(event, OperatorPrompt):
            self._prompt = event.message
            self.prompt_text.setText(prompt_text(event.message))
            self.prompt_box.setVisible(True)
            self.prompt_shown.emit()
            self.continue_button.setFocus()
        elif isinstance(event, QcResult):
            self._add_qc(event)
            if outcome is not None:
                outcome.qc.append(event)
        elif isinstance(event, RunWarning | RunFailed):
            failed = isinstance(event, RunFailed)
            self._add_message(event.message, failed)
            if outcome is not None:
                outcome.messages.append(event.message)
            if failed:
                message = event.message
                self._say(
                    lambda: self.tr("Run failed: %1").replace("%1", message_text(message)), True
                )
        elif isinstance(event, RunFinished):
            self.prompt_box.setVisible(False)
            self._finish(event)

    def _show_progress(self, index: int, fraction: float) -> None:
        """Progress by expected time: the acquisition seconds done of the run's total (by step
        count when the protocol acquires nothing)."""
        seconds = self._seconds or [0.0] * max(1, self.steps.rowCount())
        total = sum(seconds)
        if total > 0 and index < len(seconds):
            self._done_s = sum(seconds[:index]) + fraction * seconds[index]
            share = self._done_s / total
        else:
            share = (index + fraction) / max(1, len(seconds))
        self.progress.setValue(int(PROGRESS_STEPS * min(share, 1.0)))
        self._show_time()

    def _show_time(self) -> None:
        """Elapsed time and, for protocols that acquire, the acquisition time left."""
        if self._started_at is None:
            self.time_label.clear()
            return
        elapsed = time.monotonic() - self._started_at
        text = self.tr("Elapsed %1").replace("%1", time_text(elapsed))
        total = sum(self._seconds)
        if total > 0 and self.runner is not None:
            left = self.tr("about %1 left").replace("%1", time_text(total - self._done_s))
            text += " · " + left
        self.time_label.setText(text)

    def _show_live_vitals(self, vitals: LiveVitals) -> None:
        """One second of monitoring on the step line; each alarm as it starts in the messages
        (high priority as an error). The big numbers come with the live data."""
        self._show_step_message(lambda: vitals_text(vitals))
        if self._alarms_shown is None:
            return
        active = {str(a["condition"]): str(a["priority"]) for a in vitals.alarms}
        for condition in sorted(set(active) - self._alarms_shown):
            text = f"alarm {condition} ({active[condition]} priority) at {vitals.time_s:.0f} s"
            self._add_message(text, active[condition] == "high")
        self._alarms_shown = frozenset(active)

    def _show_vitals(self, results: dict[str, Any]) -> None:
        """Put a step's vital signs (SpO2, PR, PI) on the live view's big numbers."""
        vitals = {
            name: float(value)
            for name, value in results.items()
            if name in VITALS and isinstance(value, int | float)
        }
        if vitals and self.worker.live is not None:
            self.worker.live.push(LiveData(0.0, {}, None, vitals))

    def _add_qc(self, result: QcResult) -> None:
        row = self.qc.rowCount()
        self.qc.insertRow(row)
        cells = (
            result.step,
            result.figure,
            f"{result.value:.4g}",
            result.unit,
            limit_text(result.low),
            limit_text(result.high),
        )
        for column, text in enumerate(cells):
            self.qc.setItem(row, column, QTableWidgetItem(text))
        verdict = QTableWidgetItem(self.tr("PASS") if result.passed else self.tr("FAIL"))
        verdict.setData(Qt.ItemDataRole.UserRole, result.passed)
        colour = STATUS_COLOURS["passed" if result.passed else "failed"]
        verdict.setBackground(QBrush(colour))
        verdict.setForeground(QBrush(QColor("white")))
        self.qc.setItem(row, 6, verdict)
        self.qc.resizeColumnsToContents()

    def _add_message(self, text: str, error: bool) -> None:
        """List a runner message (English, as recorded) under a translated ``Error``/``Warning``."""
        framing = self.tr("Error: %1") if error else self.tr("Warning: %1")
        item = QListWidgetItem(framing.replace("%1", message_text(text)))
        item.setData(Qt.ItemDataRole.UserRole, error)
        item.setData(Qt.ItemDataRole.UserRole + 1, text)
        item.setForeground(QBrush(QColor("#d32f2f" if error else "#e65100")))
        self.messages.addItem(item)

    def _finish(self, event: RunFinished) -> None:
        self.runner = None
        self.session.end_run()
        self.paused = False
        self.clock.stop()
        self._show_time()
        if event.status == "completed":
            self.progress.setValue(PROGRESS_STEPS)
        failures = [
            self.messages.item(row).data(Qt.ItemDataRole.UserRole + 1)
            for row in range(self.messages.count())
            if self.messages.item(row).data(Qt.ItemDataRole.UserRole)
        ]
        if self.outcome is not None:
            self.outcome.finished = event
        if self.outcome is not None and self.outcome.refused:
            reason = failures[0] if failures else ""
            self._say(
                lambda: self.tr("Run refused, nothing was measured: %1").replace(
                    "%1", message_text(reason)
                ),
                True,
            )
            self._update_buttons()
            self.run_finished.emit(self.outcome)
            return

        def finished_text() -> str:
            verdict = (
                self.tr("all QC gates passed") if event.qc_passed else self.tr("QC not passed")
            )
            text = self.tr("Run %1: %2").replace("%1", status_text(event.status))
            return text.replace("%2", verdict) + (
                " — " + message_text(failures[0]) if failures else ""
            )

        self._say(finished_text, event.status != "completed" or not event.qc_passed)
        self._update_buttons()
        if self.outcome is not None:
            self.run_finished.emit(self.outcome)

    def _on_failed(self, message: str) -> None:
        self.prompt_box.setVisible(False)
        self.clock.stop()
        self.runner = None
        self.session.end_run()
        self.paused = False
        self._add_message(message, True)
        self._say(
            lambda: self.tr("Run refused or failed: %1").replace("%1", message_text(message)),
            True,
        )
        self._update_buttons()

    def _show_step_message(self, text: Callable[[], str]) -> None:
        """Show what the running step does; ``text`` is called again when the language
        changes."""
        self._step_text = text
        self.step_message.setText(text())

    def _say(self, text: Callable[[], str], error: bool = False) -> None:
        """Show a status line; ``text`` is called again when the language changes."""
        self._status_text, self._status_error = text, error
        self.status.setText(text())
        self.status.setStyleSheet(
            "color: white; background: #d32f2f; font-weight: bold; padding: 4px" if error else ""
        )
