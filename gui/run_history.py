"""Run history: every run of the output folder, newest first; open any to see its results,
its PDF report and its record.

A protocol run leaves a JSON summary (``protocols/outputs/summary.py``) beside its record —
also a refused run, which has no record. Records without a summary (plain acquisitions) are
listed from their headers (``instrument.run_record.run_headers``). Nothing is computed here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.runner_view import STATUS_COLOURS, RunOutcome, status_text
from gui.tasks import run_task
from instrument.run_record import read_run_header, run_headers
from protocols.events import QcResult, RunFinished

logger = logging.getLogger(__name__)

SUMMARY_FORMAT = "nirpoct-run-summary"
REFUSED = "refused"


@dataclass(frozen=True)
class PastRun:
    """One run of the output folder as the history lists it.

    Attributes
    ----------
    status : str
        ``completed``, ``failed``, ``aborted``, ``interrupted`` … or ``refused`` (a clinical
        run refused before it touched the devices).
    protocol : str
        Protocol name (empty for a plain acquisition).
    subject_pseudonym : str
    start_time_utc : str
        ISO time (for a refused run, the time in its summary's file name).
    outcome : RunOutcome
        What the results view shows for it.
    """

    status: str
    protocol: str
    subject_pseudonym: str
    start_time_utc: str
    outcome: RunOutcome


def _path(value: object) -> Path | None:
    return Path(str(value)) if value else None


def _stem_time(stem: str) -> str:
    """``run-20261207T021500123456Z-…`` → ``2026-12-07T02:15:00Z`` (empty when not so named)."""
    parts = stem.split("-")
    if len(parts) < 2 or len(parts[1]) < 15 or "T" not in parts[1]:
        return ""
    stamp = parts[1]
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"


def run_from_summary(path: Path, summary: dict[str, Any]) -> PastRun:
    """A past run from its JSON summary."""
    record = _path(summary.get("record"))
    finished = RunFinished(
        str(summary.get("status", "")),
        record,
        _path(summary.get("report_pdf")),
        path,
        bool(summary.get("qc_passed", False)),
        dict(summary.get("hospital_delivery") or {}),
    )
    protocol = summary.get("protocol") or {}
    gates = [
        QcResult(
            gate["step"],
            gate["figure"],
            float(gate["value"]),
            gate.get("unit", ""),
            gate.get("low"),
            gate.get("high"),
            bool(gate["passed"]),
            bool(gate.get("stops_run", False)),
        )
        for gate in summary.get("qc_gates", [])
        if gate.get("ran") and isinstance(gate.get("value"), int | float)
    ]
    subject = str(summary.get("subject_pseudonym", "") or "")
    outcome = RunOutcome(
        None,
        finished,
        {step["name"]: dict(step.get("results") or {}) for step in summary.get("steps", [])},
        gates,
        [str(summary["error"])] if summary.get("error") else [],
        protocol_name=str(protocol.get("name", "")),
        protocol_version=str(protocol.get("version", "")),
        subject_pseudonym=subject,
        start_time_utc=str(summary.get("start_time_utc") or _stem_time(path.stem)),
    )
    return PastRun(
        REFUSED if outcome.refused else finished.status,
        outcome.protocol_name,
        subject,
        outcome.start_time_utc,
        outcome,
    )


def run_from_record(path: Path) -> PastRun:
    """A past run from its record's header (a record without a JSON summary)."""
    header = read_run_header(path)
    metadata = header.metadata
    status = str(metadata.get("status", ""))
    finished = RunFinished(status, path, None, None, False)
    outcome = RunOutcome(
        None,
        finished,
        protocol_name=str(header.protocol.get("name", "")),
        protocol_version=str(header.protocol.get("version", "")),
        subject_pseudonym=str(metadata.get("subject_pseudonym", "")),
        start_time_utc=str(metadata.get("start_time_utc", "")),
    )
    return PastRun(
        status, outcome.protocol_name, outcome.subject_pseudonym, outcome.start_time_utc, outcome
    )


def past_runs(runs_dir: Path) -> list[PastRun]:
    """Every run of ``runs_dir``, newest first: protocol runs from their JSON summaries, other
    records from their headers; unreadable files are passed over (and logged)."""
    runs: list[PastRun] = []
    summarised: set[Path] = set()
    for path in sorted(Path(runs_dir).glob("*.json")):
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(summary, dict) or summary.get("format") != SUMMARY_FORMAT:
                continue
            run = run_from_summary(path, summary)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.info("%s is not a readable run summary (%s); passed over", path, exc)
            continue
        runs.append(run)
        if run.outcome.finished.record_path is not None:
            summarised.add(run.outcome.finished.record_path.resolve())
    if Path(runs_dir).is_dir():
        for header in run_headers(runs_dir):
            if header.path.resolve() not in summarised:
                runs.append(run_from_record(header.path))
    return sorted(runs, key=lambda run: run.start_time_utc, reverse=True)


class RunHistory(QWidget):
    """The runs of the output folder; *Open* shows one in the results view.

    Parameters
    ----------
    runs_dir : pathlib.Path
        The app's output folder.
    """

    opened = Signal(object)
    """A past run's :class:`RunOutcome`, to show in the results view."""
    loaded = Signal()

    def __init__(self, runs_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs_dir = runs_dir
        self.runs: list[PastRun] = []
        self.table = QTableWidget(0, 5)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(lambda row, _: self.open_run(row))
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.folder = QLabel()
        self.folder.setWordWrap(True)
        self.refresh_button = QPushButton()
        self.open_button = QPushButton()
        self.pdf_button = QPushButton()
        self.record_button = QPushButton()
        self.refresh_button.clicked.connect(self.refresh)
        self.open_button.clicked.connect(lambda: self.open_run(self.table.currentRow()))
        self.pdf_button.clicked.connect(self.open_pdf)
        self.record_button.clicked.connect(self.show_record)
        buttons = QHBoxLayout()
        for button in (self.refresh_button, self.open_button, self.pdf_button, self.record_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.folder)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        self.retranslate()
        self._update_buttons()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        self.folder.setText(self.tr("Runs in %1").replace("%1", str(self.runs_dir)))
        self.refresh_button.setText(self.tr("Refresh"))
        self.open_button.setText(self.tr("Open results"))
        self.pdf_button.setText(self.tr("Open PDF report"))
        self.record_button.setText(self.tr("Show record file"))
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Started (UTC)"),
                self.tr("Protocol"),
                self.tr("Subject (pseudonym)"),
                self.tr("Status"),
                self.tr("Record"),
            ]
        )
        self._fill()

    def refresh(self) -> None:
        """Read the output folder again (in the thread pool)."""
        runs_dir = self.runs_dir
        run_task(self, lambda: past_runs(runs_dir), self._show_runs, self._show_error)

    def _show_runs(self, runs: list[PastRun]) -> None:
        self.runs = runs
        self._fill()
        self.loaded.emit()

    def _show_error(self, message: str) -> None:
        self.folder.setText(self.tr("Cannot read the output folder: %1").replace("%1", message))
        self.loaded.emit()

    def _fill(self) -> None:
        self.table.setRowCount(len(self.runs))
        for row, run in enumerate(self.runs):
            status = self.tr("refused") if run.status == REFUSED else status_text(run.status)
            record = run.outcome.finished.record_path
            cells = (
                run.start_time_utc.replace("T", " ")[:19],
                run.protocol or self.tr("(acquisition)"),
                run.subject_pseudonym or "—",
                status,
                record.name if record is not None else self.tr("none (not started)"),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 3:
                    colour = STATUS_COLOURS.get("failed" if run.status == REFUSED else run.status)
                    if colour is not None:
                        item.setForeground(QBrush(colour))
                    elif run.status == "completed":
                        item.setForeground(QBrush(QColor("#2e7d32")))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self._update_buttons()

    def selected(self) -> PastRun | None:
        """The selected run, if any."""
        row = self.table.currentRow()
        return self.runs[row] if 0 <= row < len(self.runs) else None

    def _update_buttons(self) -> None:
        run = self.selected()
        finished = run.outcome.finished if run is not None else None
        self.open_button.setEnabled(run is not None)
        self.pdf_button.setEnabled(
            finished is not None
            and finished.report_pdf is not None
            and finished.report_pdf.exists()
        )
        self.record_button.setEnabled(finished is not None and finished.record_path is not None)

    def open_run(self, row: int) -> None:
        """Show run ``row`` in the results view."""
        if 0 <= row < len(self.runs):
            self.table.selectRow(row)
            self.opened.emit(self.runs[row].outcome)

    def open_pdf(self) -> bool:
        """Open the selected run's PDF report in the system viewer."""
        run = self.selected()
        if run is None or run.outcome.finished.report_pdf is None:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(run.outcome.finished.report_pdf)))

    def show_record(self) -> bool:
        """Open the folder holding the selected run's record in the file manager."""
        run = self.selected()
        if run is None or run.outcome.finished.record_path is None:
            return False
        folder = run.outcome.finished.record_path.parent
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
