"""Results of the last run: figures, trends, maps, DOT slices, lesion table, the PDF report.

Figures come from the run's step results (the same the JSON summary holds); trends, maps and
DOT volumes from the arrays the run stored in its record (read in a worker thread). Nothing is
computed here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.run_worker import Worker
from gui.runner_view import RunOutcome, status_text
from imaging.statistics import finite_range
from instrument.run_record import read_run_record

LESION_KEYS = ("inclusions", "lesions")
MAP_MIN_SIDE = 4


def scalar_figures(step_results: dict[str, dict[str, Any]]) -> list[tuple[str, str, float]]:
    """(step, figure, value) of every numeric scalar result, in run order."""
    rows = []
    for step, results in step_results.items():
        for name, value in results.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            rows.append((step, name, float(value)))
    return rows


def trend_series(
    results: dict[str, dict[str, Any]],
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(``step.figure``, time (s), values) of every per-second series a step stored beside its
    ``time_s``."""
    found = []
    for step, data in results.items():
        time_s = data.get("time_s")
        if not isinstance(time_s, np.ndarray) or time_s.ndim != 1:
            continue
        for name, values in data.items():
            if (
                name != "time_s"
                and isinstance(values, np.ndarray)
                and values.shape == time_s.shape
                and np.issubdtype(values.dtype, np.number)
            ):
                found.append((f"{step}.{name}", time_s, values.astype(np.float64)))
    return found


def stored_arrays(
    results: dict[str, dict[str, Any]], ndim: int, min_side: int = MAP_MIN_SIDE
) -> list[tuple[str, np.ndarray]]:
    """(``step.figure``, array) of every stored array with ``ndim`` dimensions, each at least
    ``min_side`` long (maps are 2-D, DOT volumes 3-D)."""
    return [
        (f"{step}.{name}", values.astype(np.float64))
        for step, data in results.items()
        for name, values in data.items()
        if isinstance(values, np.ndarray)
        and values.ndim == ndim
        and min(values.shape) >= min_side
        and np.issubdtype(values.dtype, np.number)
    ]


def lesion_rows(step_results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every lesion (inclusion) any step reported, strongest first as reported."""
    return [
        row
        for results in step_results.values()
        for key in LESION_KEYS
        for row in results.get(key, [])
        if isinstance(row, dict)
    ]


def value_text(value: object) -> str:
    """A result value as the tables show it."""
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    return str(value)


class ResultsView(QWidget):
    """The outcome of the last protocol run."""

    arrays_shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.outcome: RunOutcome | None = None
        self.arrays: dict[str, dict[str, Any]] = {}
        self.trend_curves: dict[str, pg.PlotDataItem] = {}
        self.map_items: dict[str, pg.ImageItem] = {}
        self.slice_items: dict[str, pg.ImageItem] = {}
        self.loader = Worker(None, self)
        self.loader.finished.connect(self.show_arrays)
        self.loader.failed.connect(self._on_load_failed)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.open_pdf_button = QPushButton()
        self.open_pdf_button.clicked.connect(self.open_pdf)
        self.open_pdf_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.open_pdf_button)

        self.figures = QTableWidget(0, 3)
        self.figures.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.trends = pg.PlotWidget()
        self.trends.addLegend(offset=(5, 5))
        self.maps = pg.GraphicsLayoutWidget()
        self.slices = pg.GraphicsLayoutWidget()
        self.lesions = QTableWidget(0, 0)
        self.lesions.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.tabs = QTabWidget()
        for widget in (self.trends, self.maps, self.slices, self.lesions):
            self.tabs.addTab(widget, "")
        splitter = QSplitter()
        splitter.addWidget(self.figures)
        splitter.addWidget(self.tabs)
        splitter.setSizes([350, 650])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.retranslate()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        self.open_pdf_button.setText(self.tr("Open PDF report"))
        self.trends.setLabel("bottom", self.tr("t (s)"))
        self.figures.setHorizontalHeaderLabels(
            [self.tr("Step"), self.tr("Figure"), self.tr("Value")]
        )
        for index, text in enumerate(
            (self.tr("Trends"), self.tr("Maps"), self.tr("DOT slices"), self.tr("Lesions"))
        ):
            self.tabs.setTabText(index, text)
        self._show_summary()

    def _show_summary(self) -> None:
        if self.outcome is None:
            self.summary.setText(self.tr("No run yet."))
            return
        finished = self.outcome.finished
        verdict = self.tr("all QC gates passed") if finished.qc_passed else self.tr("QC not passed")
        text = (
            self.tr("%1 %2: %3, %4\nRun record: %5")
            .replace("%1", self.outcome.protocol.name)
            .replace("%2", self.outcome.protocol.version)
            .replace("%3", status_text(finished.status))
            .replace("%4", verdict)
            .replace("%5", str(finished.record_path or "—"))
        )
        if finished.hospital_delivery:
            states = [
                (
                    self.tr("%1 delivered") if delivered else self.tr("%1 waiting in the outbox")
                ).replace("%1", channel.upper())
                for channel, delivered in finished.hospital_delivery.items()
            ]
            text += "\n" + self.tr("Hospital systems: %1").replace("%1", ", ".join(states))
        self.summary.setText(text)

    def show_outcome(self, outcome: RunOutcome) -> None:
        """Show a finished run."""
        self.outcome = outcome
        self._show_summary()
        pdf = outcome.finished.report_pdf
        self.open_pdf_button.setEnabled(pdf is not None and Path(pdf).exists())
        rows = scalar_figures(outcome.step_results)
        self.figures.setRowCount(len(rows))
        for row, (step, name, value) in enumerate(rows):
            for column, text in enumerate((step, name, value_text(value))):
                self.figures.setItem(row, column, QTableWidgetItem(text))
        self.figures.resizeColumnsToContents()
        self._show_lesions(lesion_rows(outcome.step_results))
        self.trends.clear()
        self.maps.clear()
        self.slices.clear()
        record = outcome.finished.record_path
        if record is not None:
            self.loader.start(lambda post: read_run_record(record).results)

    def show_arrays(self, results: dict[str, dict[str, Any]]) -> None:
        """Draw the arrays the run stored: trends, maps and DOT slices."""
        self.arrays = results
        self._show_trends(trend_series(results))
        self.map_items = self._show_images(self.maps, stored_arrays(results, 2))
        self.slice_items = self._show_images(
            self.slices,
            [
                (f"{name} [{'xyz'[axis]}]", np.take(volume, volume.shape[axis] // 2, axis=axis))
                for name, volume in stored_arrays(results, 3)
                for axis in range(3)
            ],
        )
        self.arrays_shown.emit()

    def _show_trends(self, series: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
        self.trends.clear()
        self.trend_curves = {}
        colours = ("#e53935", "#1e88e5", "#43a047", "#8e24aa", "#fb8c00", "#6d4c41")
        for index, (name, time_s, values) in enumerate(series):
            pen = pg.mkPen(colours[index % len(colours)], width=2)
            self.trend_curves[name] = self.trends.plot(time_s, values, pen=pen, name=name)

    @staticmethod
    def _show_images(
        widget: pg.GraphicsLayoutWidget, images: list[tuple[str, np.ndarray]]
    ) -> dict[str, pg.ImageItem]:
        widget.clear()
        items = {}
        for index, (name, image) in enumerate(images):
            plot = widget.addPlot(row=index // 3, col=index % 3, title=name)
            plot.setAspectLocked(True)
            plot.invertY(True)
            low, high = finite_range(image)
            # Withheld pixels (NaN) show in the colour of the lowest value.
            item = pg.ImageItem(np.nan_to_num(image, nan=low), axisOrder="row-major")
            plot.addItem(item)
            bar = pg.ColorBarItem(
                values=(low, high if high > low else low + 1),
                colorMap=pg.colormap.get("viridis"),
                interactive=False,
            )
            bar.setImageItem(item, insert_in=plot)
            items[name] = item
        return items

    def _show_lesions(self, rows: list[dict[str, Any]]) -> None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        self.lesions.clear()
        self.lesions.setColumnCount(len(columns))
        self.lesions.setRowCount(len(rows))
        self.lesions.setHorizontalHeaderLabels(columns)
        for row, lesion in enumerate(rows):
            for column, key in enumerate(columns):
                self.lesions.setItem(row, column, QTableWidgetItem(value_text(lesion.get(key, ""))))
        self.lesions.resizeColumnsToContents()

    def _on_load_failed(self, message: str) -> None:
        self.summary.setText(
            self.summary.text()
            + "\n"
            + self.tr("Cannot read the run record: %1").replace("%1", message)
        )

    def open_pdf(self) -> bool:
        """Open the run's PDF report in the system viewer."""
        if self.outcome is None or self.outcome.finished.report_pdf is None:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.outcome.finished.report_pdf)))
