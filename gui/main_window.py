"""The main window: a calibration banner above tabs for instrument, live view, monitoring,
protocol runner, results, run history and calibration browser; a language menu."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QThreadPool, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from calibration.gate import CalibrationNeeds, CalibrationStatus, KindProblem, calibration_status
from calibration.registry import Registry
from calibration.roles import ROLES
from gui.calibration_browser import CalibrationBrowser, state_text
from gui.i18n import LANGUAGES, MISSING_CJK_FONT, Languages, cjk_font_installed
from gui.instrument_panel import InstrumentPanel
from gui.instrument_session import InstrumentSession
from gui.live_buffer import LiveBuffer
from gui.live_view import LiveView
from gui.monitoring_view import MonitoringView
from gui.results_view import ResultsView
from gui.run_history import RunHistory
from gui.run_worker import Worker
from gui.runner_view import RunnerView, RunOutcome
from gui.tasks import run_task
from instrument.config import InstrumentConfig
from protocols.protocol_file import load_protocol, shipped_protocols

logger = logging.getLogger(__name__)

BANNER_CHECK_MS = 60_000
TASK_WAIT_MS = 10_000
SIGNABLE_STATES = ("draft", "reviewed")
# How a record of each kind is made (the app cannot measure a calibration itself).
RECORD_COMMANDS = {
    "detector-characterisation": (
        "nirpoct calib record-detector PTC.h5 --context CONTEXT.yaml --performer USER"
    ),
    "spo2-curve": (
        "nirpoct calib record-spo2-curve STUDY.csv --study-id ID --pair RED,IR "
        "--context CONTEXT.yaml --performer USER"
    ),
    "led-power": (
        "nirpoct calib record-led-power SWEEP.csv --reference-detector ID "
        "--reference-certificate CERT --context CONTEXT.yaml --performer USER"
    ),
}


def problem_text(problem: KindProblem) -> str:
    """One unusable calibration kind, as the banner names it."""
    if not problem.record:
        return QCoreApplication.translate("MainWindow", "%1: no record").replace("%1", problem.kind)
    return (
        QCoreApplication.translate("MainWindow", "%1: %2 %3 (due %4)")
        .replace("%1", problem.kind)
        .replace("%2", problem.record)
        .replace("%3", state_text(problem.state))
        .replace("%4", problem.due_date)
    )


def device_text(name: str) -> str:
    """A configured device's name as the status bar shows it, in the current language."""
    names = {
        "detector": QCoreApplication.translate("MainWindow", "detector board"),
        "lockin": QCoreApplication.translate("MainWindow", "lock-in amplifier"),
        "sourcemeter": QCoreApplication.translate("MainWindow", "source meter"),
        "powermeter": QCoreApplication.translate("MainWindow", "power meter"),
        "ledsource": QCoreApplication.translate("MainWindow", "LED source"),
    }
    return names.get(name, name)


def problem_guidance(problem: KindProblem, registry_root: Path) -> str:
    """What must be done about one unusable calibration kind: what the app does itself
    (signing, in the Calibration tab; an approver's override of an expired record, in the
    Protocol tab), else the ``nirpoct calib`` commands to run."""
    registry = f" --registry {registry_root}"
    record_command = RECORD_COMMANDS.get(problem.kind, "nirpoct calib --help") + registry
    sign_command = f"nirpoct calib sign ID --meaning reviewed|approved --user USER{registry}"
    if problem.state in SIGNABLE_STATES:
        return (
            QCoreApplication.translate(
                "MainWindow",
                "%1: record %2 is %3. Sign it in the Calibration tab (Sign…): a reviewer "
                "signs “reviewed”, then an approver signs “approved”.",
            )
            .replace("%1", problem.kind)
            .replace("%2", problem.record)
            .replace("%3", state_text(problem.state))
        )
    if problem.state == "expired":
        text = QCoreApplication.translate(
            "MainWindow",
            "%1: record %2 expired on %3. Recalibrate with\n    %4\nthen sign the new record "
            "in the Calibration tab; until then an approver may override it for one run in the "
            "Protocol tab (with a reason, recorded in the audit trail).",
        )
        return (
            text.replace("%1", problem.kind)
            .replace("%2", problem.record)
            .replace("%3", problem.due_date)
            .replace("%4", record_command)
        )
    if not problem.record:
        text = QCoreApplication.translate(
            "MainWindow",
            "%1: no record. Measure and record one with\n    %2\nthen sign it in the "
            "Calibration tab (or: %3).",
        )
        return (
            text.replace("%1", problem.kind)
            .replace("%2", record_command)
            .replace("%3", sign_command)
        )
    text = QCoreApplication.translate(
        "MainWindow",
        "%1: record %2 is %3 and cannot be used or overridden. Recalibrate with\n    %4\n"
        "then sign the new record in the Calibration tab.",
    )
    return (
        text.replace("%1", problem.kind)
        .replace("%2", problem.record)
        .replace("%3", state_text(problem.state))
        .replace("%4", record_command)
    )


@dataclass(frozen=True)
class AppContext:
    """What the app works with.

    Attributes
    ----------
    config : InstrumentConfig
        The instrument (simulated with ``--sim``).
    config_text : str
        Its configuration file's text.
    registry_root : pathlib.Path
        The calibration registry.
    runs_dir : pathlib.Path
        Where run records, reports and summaries go.
    duration_scale : float
        Shortens the protocols' acquisitions (simulator demonstrations; 1 for real runs).
    """

    config: InstrumentConfig
    config_text: str
    registry_root: Path
    runs_dir: Path
    duration_scale: float = 1.0


class MainWindow(QMainWindow):
    """The nirpoct desktop app.

    Parameters
    ----------
    context : AppContext
        Instrument, registry and output directory.
    languages : Languages
        Switches the interface language.
    """

    def __init__(self, context: AppContext, languages: Languages) -> None:
        super().__init__()
        self.context = context
        self.languages = languages
        self.registry = Registry(context.registry_root)
        self.protocols = [load_protocol(name) for name in shipped_protocols()]
        self.calibration_status: CalibrationStatus | None = None
        self.registry_error = ""
        self.calibration_checks = 0
        self.closing = False
        self.close_question: QMessageBox | None = None
        self.guide_box: QMessageBox | None = None
        self.live = LiveBuffer()
        self.session = InstrumentSession(context.config, context.config_text, self.live, self)
        self.run_worker = Worker(self.live, self)

        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "background: #d32f2f; color: white; font-size: 14pt; font-weight: bold; padding: 8px"
        )
        self.instrument_panel = InstrumentPanel(self.session, self.registry)
        self.live_view = LiveView(self.live, self.session, context.runs_dir)
        self.runner_view = RunnerView(
            context.config,
            context.runs_dir,
            self.run_worker,
            self.session,
            self.registry,
            context.config_text,
            context.duration_scale,
        )
        self.monitoring_view = MonitoringView(self.live, context.duration_scale)
        self.results_view = ResultsView()
        self.history = RunHistory(context.runs_dir)
        self.calibration_browser = CalibrationBrowser(self.registry)
        self.tabs = QTabWidget()
        for view in (
            self.instrument_panel,
            self.live_view,
            self.monitoring_view,
            self.runner_view,
            self.results_view,
            self.history,
            self.calibration_browser,
        ):
            self.tabs.addTab(view, "")
        self.guide_button = QPushButton()
        self.guide_button.clicked.connect(self.show_guidance)
        self.guide_button.setVisible(False)
        banner_row = QHBoxLayout()
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.guide_button)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(banner_row)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self._build_status_bar()

        self.language_menu = self.menuBar().addMenu("")
        self.language_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for code, name in LANGUAGES.items():
            action = QAction(name, self, checkable=True)
            action.setChecked(code == languages.code)
            action.triggered.connect(lambda _=False, code=code: self.set_language(code))
            group.addAction(action)
            self.language_menu.addAction(action)
            self.language_actions[code] = action

        self.runner_view.run_finished.connect(self._on_run_finished)
        self.history.opened.connect(self._open_past_run)
        self.session.opened.connect(lambda _: self._show_devices())
        self.session.closed.connect(self._show_devices)
        self.session.busy_changed.connect(lambda _: self._show_devices())
        self.run_worker.run_event.connect(lambda _: self._show_devices())
        self.run_worker.finished.connect(lambda _: self._show_devices())
        self.run_worker.failed.connect(lambda _: self._show_devices())
        self.runner_view.prompt_shown.connect(lambda: self.tabs.setCurrentWidget(self.runner_view))
        self._connect_monitoring()
        self.calibration_browser.changed.connect(self.refresh_calibrations)
        self.calibration_browser.changed.connect(self.runner_view.refresh_calibrations)
        self.banner_timer = QTimer(self)
        self.banner_timer.setInterval(BANNER_CHECK_MS)
        self.banner_timer.timeout.connect(self.refresh_calibrations)
        self.banner_timer.start()
        self.resize(1280, 820)
        self.retranslate()
        self.refresh_calibrations()
        self.history.refresh()

    def _connect_monitoring(self) -> None:
        """The monitoring view follows the runner's events; its buttons act on the run through
        the runner view; a monitor step that starts brings it to the front."""
        monitoring, runner = self.monitoring_view, self.runner_view
        self.run_worker.run_event.connect(monitoring.on_event)
        runner.run_started.connect(monitoring.start)
        monitoring.acknowledge_requested.connect(runner.acknowledge_alarms)
        monitoring.pause_requested.connect(runner.pause_alarms)
        monitoring.stop_requested.connect(runner.stop_monitoring)
        monitoring.monitoring_started.connect(lambda: self.tabs.setCurrentWidget(monitoring))
        self.run_worker.failed.connect(lambda _: monitoring.run_ended())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        title = self.tr("nirpoct — NIR point-of-care instrument")
        if self.context.config.uses_simulator:
            title += " " + self.tr("(simulated devices)")
        self.setWindowTitle(title)
        self.language_menu.setTitle(self.tr("Language"))
        self.guide_button.setText(self.tr("What must be done…"))
        for index, text in enumerate(
            (
                self.tr("Instrument"),
                self.tr("Live view"),
                self.tr("Monitoring"),
                self.tr("Protocol"),
                self.tr("Results"),
                self.tr("Run history"),
                self.tr("Calibration"),
            )
        ):
            self.tabs.setTabText(index, text)
        self.simulated_label.setText(
            self.tr("SIMULATED DEVICES — not for patients")
            if self.context.config.uses_simulator
            else ""
        )
        self._show_devices()
        self.font_warning.setVisible(self.languages.code != "en" and not cjk_font_installed())
        if self.font_warning.isVisibleTo(self):
            logger.warning("%s", MISSING_CJK_FONT)
        self._show_banner()

    def _build_status_bar(self) -> None:
        """Each device's connection state and, with the simulator, a permanent notice."""
        self.device_label = QLabel()
        self.simulated_label = QLabel()
        self.simulated_label.setVisible(self.context.config.uses_simulator)
        self.simulated_label.setStyleSheet(
            "color: white; background: #6a1b9a; font-weight: bold; padding: 2px 6px"
        )
        self.font_warning = QLabel(MISSING_CJK_FONT)
        self.font_warning.setStyleSheet("color: white; background: #d32f2f; padding: 2px 6px")
        self.font_warning.setVisible(False)
        self.statusBar().addWidget(self.font_warning, 1)
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.simulated_label)

    def device_states(self) -> dict[str, str]:
        """Each configured device and its state as the status bar shows it."""
        if self.run_worker.busy:
            state = self.tr("in use by the protocol run")
        elif self.session.is_open:
            state = self.tr("acquiring") if self.session.acquiring else self.tr("connected")
        elif self.session.connecting:
            state = self.tr("connecting…")
        else:
            state = self.tr("not connected")
        bench = self.context.config.bench
        names = ["detector"] + [
            name
            for name in ("lockin", "sourcemeter", "powermeter", "ledsource")
            if getattr(bench, name) is not None
        ]
        return {device_text(name): state for name in names}

    def _show_devices(self) -> None:
        self.device_label.setText(
            "  ".join(f"{name}: {state}" for name, state in self.device_states().items())
        )

    def set_language(self, code: str) -> None:
        """Switch the interface language (``en`` or ``zh_CN``)."""
        self.languages.set(code)
        self.language_actions[code].setChecked(True)

    def refresh_calibrations(self) -> None:
        """Re-read calibration states (instrument panel, browser) and, off the GUI thread, which
        calibration kinds have no usable record and which protocols that blocks (banner)."""
        self.instrument_panel.refresh_calibrations()
        self.calibration_browser.refresh()
        registry = self.registry
        needs = [
            CalibrationNeeds(p.name, p.clinical, p.required_calibrations) for p in self.protocols
        ]
        run_task(
            self,
            lambda: calibration_status(registry, needs),
            self._show_calibration_status,
            self._show_registry_error,
        )

    def _show_calibration_status(self, status: CalibrationStatus) -> None:
        self.calibration_status = status
        self.calibration_checks += 1
        self._show_banner()

    def _show_registry_error(self, message: str) -> None:
        self.calibration_status = None
        self.registry_error = message
        self.calibration_checks += 1
        self._show_banner()

    def _show_banner(self) -> None:
        status = self.calibration_status
        if self.registry_error and status is None:
            self.banner.setText(
                self.tr("CALIBRATION REGISTRY UNREADABLE: %1").replace("%1", self.registry_error)
            )
            self.banner.setVisible(True)
            return
        self.banner.setVisible(status is not None and bool(status.blocked))
        self.guide_button.setVisible(status is not None and bool(status.blocked))
        if status is None or not status.blocked:
            return
        problems = "; ".join(problem_text(problem) for problem in status.problems)
        self.banner.setText(
            self.tr("CALIBRATION NOT VALID: %1. These clinical protocols cannot start: %2.")
            .replace("%1", problems)
            .replace("%2", ", ".join(status.blocked))
        )

    def guidance(self) -> str:
        """What must be done to clear the banner, one paragraph per unusable kind."""
        status = self.calibration_status
        if status is None:
            return self.registry_error
        root = self.context.registry_root
        command = f"nirpoct calib users add USER --name NAME --role ROLE --registry {root}"
        users = (
            self.tr("People who sign are registered with\n    %1\n(roles: %2).")
            .replace("%1", command)
            .replace("%2", ", ".join(ROLES))
        )
        paragraphs = [problem_guidance(problem, root) for problem in status.problems]
        return "\n\n".join([*paragraphs, users])

    def show_guidance(self) -> None:
        """Show what must be done to clear the calibration banner (and go to the Calibration
        tab, where records are signed)."""
        self.tabs.setCurrentWidget(self.calibration_browser)
        box = QMessageBox(
            QMessageBox.Icon.Information,
            self.tr("What must be done"),
            self.guidance(),
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.guide_box = box
        box.open()

    def _on_run_finished(self, outcome: RunOutcome) -> None:
        """Show a finished run's results; a refused run leaves the results shown alone (the
        runner view says why it was refused; the history lists it)."""
        if not outcome.refused:
            self.results_view.show_outcome(outcome)
        self.refresh_calibrations()
        self.history.refresh()

    def _open_past_run(self, outcome: RunOutcome) -> None:
        self.results_view.show_outcome(outcome)
        self.tabs.setCurrentWidget(self.results_view)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Close; during a protocol run, ask first, abort, and close once the run has ended
        (its record closed), keeping the window responsive meanwhile."""
        if self.run_worker.busy:
            event.ignore()
            if not self.closing:
                self._ask_abort_and_close()
            return
        self.session.close_now()
        # Registry checks still in the thread pool deliver to this window: let them end first.
        QThreadPool.globalInstance().waitForDone(TASK_WAIT_MS)
        super().closeEvent(event)

    def _ask_abort_and_close(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.windowTitle(),
            self.tr("A protocol is running. Abort it and close when it has stopped?"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(self._abort_and_close)
        self.close_question = box
        box.open()

    def _abort_and_close(self) -> None:
        self.closing = True
        self.run_worker.finished.connect(self.close)
        self.run_worker.failed.connect(self.close)
        self.runner_view.abort()
        self.statusBar().showMessage(
            self.tr("Aborting the run; the window closes when it has stopped…")
        )
