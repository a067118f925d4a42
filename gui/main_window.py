"""The main window: a calibration banner above tabs for instrument, live view, protocol runner,
results and calibration browser; a language menu."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from calibration.registry import Registry
from gui.calibration_browser import UNUSABLE_STATES, CalibrationBrowser, sorted_entries, state_text
from gui.i18n import LANGUAGES, Languages
from gui.instrument_panel import InstrumentPanel
from gui.instrument_session import InstrumentSession
from gui.live_buffer import LiveBuffer
from gui.live_view import LiveView
from gui.results_view import ResultsView
from gui.run_worker import Worker
from gui.runner_view import RunnerView
from instrument.config import InstrumentConfig

BANNER_CHECK_MS = 60_000
SHUTDOWN_WAIT_S = 30.0


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
        self.calibration_browser.changed.connect(self.refresh_calibrations)
        self.calibration_browser.changed.connect(self.runner_view.refresh_calibrations)
        self.banner_timer = QTimer(self)
        self.banner_timer.setInterval(BANNER_CHECK_MS)
        self.banner_timer.timeout.connect(self.refresh_calibrations)
        self.banner_timer.start()
        self.resize(1280, 820)
        self.retranslate()

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
        self.refresh_calibrations()

    def set_language(self, code: str) -> None:
        """Switch the interface language (``en`` or ``zh_CN``)."""
        self.languages.set(code)
        self.language_actions[code].setChecked(True)

    def refresh_calibrations(self) -> None:
        """Re-read calibration states: banner, instrument panel and browser."""
        today = dt.date.today()
        unusable = [
            e for e in sorted_entries(self.registry) if e.state_on(today) in UNUSABLE_STATES
        ]
        # Only the newest version of a record counts: an expired v1 corrected by an approved v2
        # is history, not a problem.
        newest = {e.record_id: e for e in sorted_entries(self.registry)}
        unusable = [e for e in unusable if newest[e.record_id].version == e.version]
        self.banner.setVisible(bool(unusable))
        if unusable:
            records = "; ".join(
                self.tr("%1 %2 (due %3)")
                .replace("%1", e.reference)
                .replace("%2", state_text(e.state_on(today)))
                .replace("%3", e.due_date)
                for e in unusable
            )
            self.banner.setText(
                self.tr("CALIBRATION NOT VALID: %1. Clinical protocols are blocked.").replace(
                    "%1", records
                )
            )
        self.instrument_panel.refresh_calibrations()

    def _on_run_finished(self, outcome: object) -> None:
        self.results_view.show_outcome(outcome)
        self.refresh_calibrations()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Abort a running protocol and disconnect the devices before closing."""
        if self.runner_view.runner is not None:
            self.runner_view.runner.abort()
        self.run_worker.wait(SHUTDOWN_WAIT_S)
        self.session.close_now()
        super().closeEvent(event)
