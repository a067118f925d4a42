"""The main window: a calibration banner above tabs for instrument, live view, protocol runner,
results and calibration browser; a language menu."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from calibration.gate import CalibrationNeeds, CalibrationStatus, KindProblem, calibration_status
from calibration.registry import Registry
from gui.calibration_browser import CalibrationBrowser, state_text
from gui.i18n import LANGUAGES, Languages
from gui.instrument_panel import InstrumentPanel
from gui.instrument_session import InstrumentSession
from gui.live_buffer import LiveBuffer
from gui.live_view import LiveView
from gui.results_view import ResultsView
from gui.run_worker import Worker
from gui.runner_view import RunnerView, RunOutcome
from gui.tasks import run_task
from instrument.config import InstrumentConfig
from protocols.protocol_file import load_protocol, shipped_protocols

BANNER_CHECK_MS = 60_000
TASK_WAIT_MS = 10_000


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
        self.results_view = ResultsView()
        self.calibration_browser = CalibrationBrowser(self.registry)
        self.tabs = QTabWidget()
        for view in (
            self.instrument_panel,
            self.live_view,
            self.runner_view,
            self.results_view,
            self.calibration_browser,
        ):
            self.tabs.addTab(view, "")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

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
        self.runner_view.prompt_shown.connect(lambda: self.tabs.setCurrentWidget(self.runner_view))
        self.calibration_browser.changed.connect(self.refresh_calibrations)
        self.calibration_browser.changed.connect(self.runner_view.refresh_calibrations)
        self.banner_timer = QTimer(self)
        self.banner_timer.setInterval(BANNER_CHECK_MS)
        self.banner_timer.timeout.connect(self.refresh_calibrations)
        self.banner_timer.start()
        self.resize(1280, 820)
        self.retranslate()
        self.refresh_calibrations()

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
        for index, text in enumerate(
            (
                self.tr("Instrument"),
                self.tr("Live view"),
                self.tr("Protocol"),
                self.tr("Results"),
                self.tr("Calibration"),
            )
        ):
            self.tabs.setTabText(index, text)
        self._show_banner()

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
        if status is None or not status.blocked:
            return
        problems = "; ".join(problem_text(problem) for problem in status.problems)
        self.banner.setText(
            self.tr("CALIBRATION NOT VALID: %1. These clinical protocols cannot start: %2.")
            .replace("%1", problems)
            .replace("%2", ", ".join(status.blocked))
        )

    def _on_run_finished(self, outcome: RunOutcome) -> None:
        self.results_view.show_outcome(outcome)
        self.refresh_calibrations()

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
