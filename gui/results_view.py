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
from PySide6.QtCore import QCoreApplication, QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QGroupBox,
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

from gui.protocol_texts import message_text, step_text
from gui.run_worker import Worker
from gui.runner_view import RunOutcome, status_text
from imaging.statistics import finite_range
from instrument.run_record import read_run_record

LESION_KEYS = ("inclusions", "lesions")
MAP_MIN_SIDE = 4
TREND_COLOURS = ("#e53935", "#1e88e5", "#43a047", "#8e24aa", "#fb8c00", "#6d4c41")

# Units by the figure name's suffix (units are in the names, DESIGN.md), longest first.
UNIT_SUFFIXES = (
    ("_dn_per_photon", "DN/photon"),
    ("_dn_per_e", "DN/e⁻"),
    ("_e_per_s", "e⁻/s"),
    ("_percent", "%"),
    ("_photons", "photons"),
    ("_pixels", "px"),
    ("_count", ""),
    ("_bpm", "bpm"),
    ("_mm2", "mm²"),
    ("_ms", "ms"),
    ("_mm", "mm"),
    ("_nm", "nm"),
    ("_um", "µM"),
    ("_db", "dB"),
    ("_dn", "DN"),
    ("_px", "px"),
    ("_hz", "Hz"),
    ("_mw", "mW"),
    ("_ma", "mA"),
    ("_c", "°C"),
    ("_s", "s"),
    ("_e", "e⁻"),
    ("_v", "V"),
    ("_w", "W"),
)
DIMENSIONLESS = ("quality", "fraction", "scatter", "ratio", "index")
# Adult reference ranges of the vital signs (low, high, unit); shown beside the values.
VITAL_RANGES = {
    "spo2_percent": (95.0, 100.0, "%"),
    "spo2_median_percent": (95.0, 100.0, "%"),
    "pulse_rate_bpm": (60.0, 100.0, "bpm"),
    "perfusion_index_percent": (0.2, 20.0, "%"),
    "perfusion_index_median_percent": (0.2, 20.0, "%"),
    "sto2_percent": (60.0, 80.0, "%"),
}


def figure_unit(name: str) -> str:
    """The unit of a figure, from its name's suffix (``spo2_percent`` → ``%``; ``frames`` → no
    unit; ``signal_quality`` → ``0–1``)."""
    base = name.removesuffix("_uncertainty")
    for suffix, unit in UNIT_SUFFIXES:
        if base.endswith(suffix):
            return unit
    if any(base.endswith(word) for word in DIMENSIONLESS):
        return "0–1"
    return ""


def scalar_figures(step_results: dict[str, dict[str, Any]]) -> list[tuple[str, str, float]]:
    """(step, figure, value) of every numeric scalar result, in run order."""
    rows = []
    for step, results in step_results.items():
        for name, value in results.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            rows.append((step, name, float(value)))
    return rows


def vital_rows(step_results: dict[str, dict[str, Any]]) -> list[tuple[str, float, str]]:
    """(figure, value, unit) of every vital sign a step reported, first occurrence of each."""
    found: dict[str, tuple[str, float, str]] = {}
    for results in step_results.values():
        for name, value in results.items():
            if name in VITAL_RANGES and name not in found and isinstance(value, int | float):
                found[name] = (name, float(value), VITAL_RANGES[name][2])
    return list(found.values())


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
        if not math.isfinite(value):
            return "—"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))  # 12000 frames, not 1.2e+04
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    return str(value)


def vital_caption(name: str) -> str:
    """A vital sign's name as the results show it, in the current language."""
    captions = {
        "spo2_percent": QCoreApplication.translate("ResultsView", "SpO2"),
        "spo2_median_percent": QCoreApplication.translate("ResultsView", "SpO2 (median)"),
        "pulse_rate_bpm": QCoreApplication.translate("ResultsView", "Pulse rate"),
        "perfusion_index_percent": QCoreApplication.translate("ResultsView", "Perfusion index"),
        "perfusion_index_median_percent": QCoreApplication.translate(
            "ResultsView", "Perfusion index (median)"
        ),
        "sto2_percent": QCoreApplication.translate("ResultsView", "Tissue oxygenation (StO2)"),
    }
    return captions.get(name, name)


class ResultsView(QWidget):
    """The outcome of the last protocol run."""

    arrays_shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.outcome: RunOutcome | None = None
        self.arrays: dict[str, dict[str, Any]] = {}
        self.trend_curves: dict[str, pg.PlotDataItem] = {}
        self.trend_plots: list[pg.PlotItem] = []
        self.map_items: dict[str, pg.ImageItem] = {}
        self.slice_items: dict[str, pg.ImageItem] = {}
        self._series: list[tuple[str, np.ndarray, np.ndarray]] = []
        self.loader = Worker(None, self)
        self.loader.finished.connect(self._on_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self._load_error = ""
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.vitals = QLabel()
        self.vitals.setWordWrap(True)
        self.vitals.setTextFormat(Qt.TextFormat.RichText)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_pdf_button = QPushButton()
        self.open_pdf_button.clicked.connect(self.open_pdf)
        self.open_pdf_button.setEnabled(False)
        first = QVBoxLayout()
        first.addWidget(self.verdict)
        first.addWidget(self.vitals)
        top = QHBoxLayout()
        top.addLayout(first, 1)
        top.addWidget(self.open_pdf_button, 0, Qt.AlignmentFlag.AlignTop)

        self.figures = QTableWidget(0, 4)
        self.figures.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.trends = pg.GraphicsLayoutWidget()
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
        splitter.setSizes([420, 580])
        self.details_box = QGroupBox()
        details = QVBoxLayout(self.details_box)
        details.addWidget(self.summary)
        details.addWidget(splitter, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details_box, 1)
        self._show_trends([])
        self.retranslate()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        self.open_pdf_button.setText(self.tr("Open PDF report"))
        self.details_box.setTitle(self.tr("Details"))
        self.figures.setHorizontalHeaderLabels(
            [self.tr("Step"), self.tr("Figure"), self.tr("Value"), self.tr("Unit")]
        )
        for row in range(self.figures.rowCount()):
            step = self.figures.item(row, 0)
            if step is not None:
                step.setText(step_text(step.data(Qt.ItemDataRole.UserRole)))
        self.figures.resizeColumnsToContents()  # headers change width with the language
        for index, text in enumerate(
            (self.tr("Trends"), self.tr("Maps"), self.tr("DOT slices"), self.tr("Lesions"))
        ):
            self.tabs.setTabText(index, text)
        self._label_trends()
        self._show_summary()

    def _show_summary(self) -> None:
        if self.outcome is None:
            self.verdict.setText(self.tr("No run yet."))
            self.verdict.setStyleSheet("font-size: 16pt; font-weight: bold")
            self.vitals.clear()
            self.summary.clear()
            return
        self._show_verdict(self.outcome)
        self._show_vitals(self.outcome)
        finished = self.outcome.finished
        text = (
            self.tr("%1 %2: %3, %4\nRun record: %5")
            .replace("%1", self.outcome.name)
            .replace("%2", self.outcome.version)
            .replace("%3", status_text(finished.status))
            .replace("%4", self._qc_text(finished.qc_passed))
            .replace("%5", str(finished.record_path or "—"))
        )
        if self.outcome.start_time_utc:
            text += "\n" + self.tr("Started %1 UTC").replace(
                "%1", self.outcome.start_time_utc.replace("T", " ")
            )
        if self.outcome.subject_pseudonym:
            text += "\n" + self.tr("Subject (pseudonym): %1").replace(
                "%1", self.outcome.subject_pseudonym
            )
        if finished.hospital_delivery:
            states = [
                (
                    self.tr("%1 delivered") if delivered else self.tr("%1 waiting in the outbox")
                ).replace("%1", channel.upper())
                for channel, delivered in finished.hospital_delivery.items()
            ]
            text += "\n" + self.tr("Hospital systems: %1").replace("%1", ", ".join(states))
        if self._load_error:
            text += "\n" + self.tr("Cannot read the run record: %1").replace("%1", self._load_error)
        self.summary.setText(text)

    def _qc_text(self, passed: bool) -> str:
        return self.tr("all QC gates passed") if passed else self.tr("QC not passed")

    def _show_verdict(self, outcome: RunOutcome) -> None:
        """The overall verdict, large: usable results, a refusal, or why not usable."""
        finished = outcome.finished
        if outcome.refused:
            reason = outcome.messages[0] if outcome.messages else ""
            text = self.tr("REFUSED — nothing was measured: %1").replace("%1", message_text(reason))
            colour = "#d32f2f"
        elif finished.status == "completed" and finished.qc_passed:
            text = self.tr("RESULTS VALID — run completed, all QC gates passed")
            colour = "#2e7d32"
        elif finished.status == "completed":
            text = self.tr("NOT VALID — a QC gate failed; do not use these results")
            colour = "#d32f2f"
        else:
            text = self.tr("NOT VALID — run %1").replace("%1", status_text(finished.status))
            colour = "#d32f2f"
        self.verdict.setText(text)
        self.verdict.setStyleSheet(
            f"color: white; background: {colour}; font-size: 16pt; font-weight: bold; padding: 6px"
        )

    def _show_vitals(self, outcome: RunOutcome) -> None:
        """Vital signs with their reference ranges; a withheld value is explained."""
        parts = []
        for name, value, unit in vital_rows(outcome.step_results):
            low, high, _ = VITAL_RANGES[name]
            caption = vital_caption(name)
            reference = self.tr("reference %1–%2 %3").replace("%1", f"{low:g}")
            reference = reference.replace("%2", f"{high:g}").replace("%3", unit)
            if not math.isfinite(value):
                shown = self.tr("withheld (the signal was too poor to report a value reliably)")
                colour = "#e65100"
            else:
                shown = f"{value:.1f} {unit}"
                colour = "#2e7d32" if low <= value <= high else "#d32f2f"
            parts.append(
                f"<span style='font-size: 15pt'>{caption}: "
                f"<b style='color: {colour}'>{shown}</b></span> "
                f"<span style='color: #616161'>({reference})</span>"
            )
        self.vitals.setText("<br>".join(parts))

    def show_outcome(self, outcome: RunOutcome) -> None:
        """Show a finished run (or one of the run history)."""
        self.outcome = outcome
        self._load_error = ""
        self._show_summary()
        pdf = outcome.finished.report_pdf
        self.open_pdf_button.setEnabled(pdf is not None and Path(pdf).exists())
        rows = scalar_figures(outcome.step_results)
        self.figures.setRowCount(len(rows))
        for row, (step, name, value) in enumerate(rows):
            cells = (step_text(step), name, value_text(value), figure_unit(name))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, step)
                if column == 2:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.figures.setItem(row, column, item)
        self.figures.resizeColumnsToContents()
        self._show_lesions(lesion_rows(outcome.step_results))
        self._show_trends([])
        self.maps.clear()
        self.slices.clear()
        self.map_items, self.slice_items = {}, {}
        record = outcome.finished.record_path
        if record is not None:
            self.loader.start(lambda post: (record, read_run_record(record).results))

    def _on_loaded(self, loaded: tuple[Path, dict[str, dict[str, Any]]]) -> None:
        """Draw a record's arrays if its run is still the one shown."""
        record, results = loaded
        if self.outcome is not None and self.outcome.finished.record_path == record:
            self.show_arrays(results)

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
        """One plot per unit (stacked, time axes linked), each series in a fixed colour; the
        names are in the plot's title, not over the traces."""
        self._series = series
        self.trends.clear()
        self.trend_curves = {}
        self.trend_plots = []
        by_unit: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
        for name, time_s, values in series:
            by_unit.setdefault(figure_unit(name.rsplit(".", 1)[-1]), []).append(
                (name, time_s, values)
            )
        for row, (unit, members) in enumerate(by_unit.items() or [("", [])]):
            plot = self.trends.addPlot(row=row, col=0)
            plot.showGrid(x=True, y=True, alpha=0.2)
            if self.trend_plots:
                plot.setXLink(self.trend_plots[0])
            plot.setProperty("unit", unit)
            titles = []
            for index, (name, time_s, values) in enumerate(members):
                colour = TREND_COLOURS[(len(self.trend_curves) + index) % len(TREND_COLOURS)]
                titles.append(f"<span style='color: {colour}'>■ {name}</span>")
                self.trend_curves[name] = plot.plot(time_s, values, pen=pg.mkPen(colour, width=2))
            plot.setTitle("  ".join(titles))
            self.trend_plots.append(plot)
        self._label_trends()

    def _label_trends(self) -> None:
        for plot in self.trend_plots:
            plot.setLabel("bottom", self.tr("t (s)"))
            unit = str(plot.property("unit") or "")
            plot.setLabel("left", unit or self.tr("value"))

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
        self._load_error = message
        self._show_summary()

    def open_pdf(self) -> bool:
        """Open the run's PDF report in the system viewer."""
        if self.outcome is None or self.outcome.finished.report_pdf is None:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.outcome.finished.report_pdf)))
