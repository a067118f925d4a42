"""The latest imaging-PPG and StO2 maps of a running step, in the live view.

A protocol step that acquires two or more wavelengths sends its maps every few seconds of
signal (:class:`instrument.live_data.LiveMaps`); :class:`LiveMapPanel` draws the one chosen in
its selector over recorded-pixel coordinates (a cell of ``cell_px`` pixels covers the same
pixels as in the detector image beside it), on a fixed colour range per quantity so that two
refreshes compare at a glance, with the frames behind it and its median beneath.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, QRectF, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from imaging.streaming_maps import MAP_PERIOD_S
from instrument.live_data import LiveMaps

__all__ = ["MAP_LEVELS", "MAP_NAMES", "LiveMapPanel", "map_levels", "map_name", "median_text"]

CONTEXT = "LiveMapPanel"

MAP_NAMES = {
    "sto2_percent": QT_TRANSLATE_NOOP("LiveMapPanel", "StO2 (%)"),
    "toi_percent": QT_TRANSLATE_NOOP("LiveMapPanel", "TOI (%)"),
    "hbt_um": QT_TRANSLATE_NOOP("LiveMapPanel", "Total haemoglobin HbT (µM)"),
    "ppg_spo2_percent": QT_TRANSLATE_NOOP("LiveMapPanel", "SpO2, imaging PPG (%)"),
    "ppg_perfusion_index_percent": QT_TRANSLATE_NOOP(
        "LiveMapPanel", "Perfusion index, imaging PPG (%)"
    ),
    "ppg_signal_quality": QT_TRANSLATE_NOOP("LiveMapPanel", "Signal quality, imaging PPG (0–1)"),
}
"""Map name → its caption with the unit, in selector order (other maps follow by name)."""

MAP_LEVELS: dict[str, tuple[float, float] | None] = {
    "sto2_percent": (40.0, 90.0),
    "toi_percent": (40.0, 90.0),
    "hbt_um": None,
    "ppg_spo2_percent": (70.0, 100.0),
    "ppg_perfusion_index_percent": (0.0, 5.0),
    "ppg_signal_quality": (0.0, 1.0),
}
"""Fixed colour range per map in the map's unit; None: the range of the map's values."""

UNITS = {"percent": " %", "um": " µM"}
"""Unit shown after a median, by the last part of the map's name (none otherwise)."""

NO_MAP_COLOUR = "#9e9e9e"
"""Behind the map, over its extent: withheld cells (NaN, drawn transparent) show in this grey."""


def map_name(name: str) -> str:
    """A map's caption with its unit in the current language (the name itself when unknown)."""
    caption = MAP_NAMES.get(name)
    return QCoreApplication.translate(CONTEXT, str(caption)) if caption is not None else name


def map_levels(name: str, values: NDArray[np.float64]) -> tuple[float, float]:
    """Colour range of a map: fixed per quantity (:data:`MAP_LEVELS`), else its finite values'
    range (0–1 when it has none; widened to one unit when they are all equal)."""
    fixed = MAP_LEVELS.get(name)
    if fixed is not None:
        return fixed
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return low, max(high, low + 1.0)


def median_text(name: str, value: float | None) -> str:
    """A map's median as shown: with the map's unit, or a dash when it has no value."""
    if value is None or not math.isfinite(value):
        return "—"
    unit = UNITS.get(name.rsplit("_", 1)[-1], "")
    decimals = 2 if not unit else 1
    return f"{value:.{decimals}f}{unit}"


def _order(names: list[str]) -> list[str]:
    known = [name for name in MAP_NAMES if name in names]
    return known + sorted(set(names) - set(known))


class LiveMapPanel(QWidget):
    """Selector, map with colour bar and caption of the latest maps; *no map yet* before."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.maps: LiveMaps | None = None
        self.selector_caption = QLabel()
        self.selector = QComboBox()
        self.selector.currentIndexChanged.connect(lambda _: self._draw())
        self.placeholder = QLabel()
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot = self.plot_widget.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)  # row 0 at the top, as in the detector image
        # Withheld cells are transparent: the grey of the map's extent shows through.
        self.extent = QGraphicsRectItem()
        self.extent.setBrush(QBrush(QColor(NO_MAP_COLOUR)))
        self.extent.setPen(pg.mkPen(None))
        self.extent.setZValue(-1.0)  # under the map
        self.plot.addItem(self.extent)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(
            values=(0.0, 1.0), colorMap=pg.colormap.get("viridis"), interactive=False
        )
        self.colour_bar.setImageItem(self.image, insert_in=self.plot)

        selector_row = QHBoxLayout()
        selector_row.addWidget(self.selector_caption)
        selector_row.addWidget(self.selector, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(selector_row)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.caption)
        self.retranslate()
        self.show_maps(None)

    @property
    def selected(self) -> str | None:
        """The name of the map drawn (None before any)."""
        name = self.selector.currentData()
        return str(name) if name is not None else None

    def select(self, name: str) -> None:
        """Draw the map ``name`` (one of those present)."""
        index = self.selector.findData(name)
        if index < 0:
            raise ValueError(f"no map {name!r}; present: {', '.join(self._names())}")
        self.selector.setCurrentIndex(index)

    def _names(self) -> list[str]:
        return [str(self.selector.itemData(i)) for i in range(self.selector.count())]

    def show_maps(self, maps: LiveMaps | None) -> None:
        """Show the latest maps (None: a new run without maps yet); the selected map stays
        selected while the new maps hold it."""
        self.maps = maps
        names = _order(list(maps.maps)) if maps is not None else []
        if names != self._names():
            keep = self.selected
            self.selector.blockSignals(True)
            self.selector.clear()
            for name in names:
                self.selector.addItem(map_name(name), name)
            if keep in names:
                self.selector.setCurrentIndex(names.index(keep))
            self.selector.blockSignals(False)
        shown = bool(names)
        for widget in (self.selector_caption, self.selector, self.plot_widget, self.caption):
            widget.setVisible(shown)
        self.placeholder.setVisible(not shown)
        self._draw()

    def _draw(self) -> None:
        """Draw the selected map: cells over the recorded pixels they cover, fixed levels."""
        name, maps = self.selected, self.maps
        if maps is None or name is None or name not in maps.maps:
            self.image.clear()
            self.extent.setRect(QRectF())
            self.caption.clear()
            return
        values = np.asarray(maps.maps[name], dtype=np.float64)
        cell_px = maps.cell_px.get(name, 1)
        rows, cols = values.shape
        self.image.setImage(values, autoLevels=False)
        extent = QRectF(0.0, 0.0, cols * cell_px, rows * cell_px)
        self.image.setRect(extent)
        self.extent.setRect(extent)
        self.colour_bar.setLevels(map_levels(name, values))
        self._caption()

    def _caption(self) -> None:
        name, maps = self.selected, self.maps
        if maps is None or name is None or name not in maps.maps:
            return
        start_s, end_s = maps.window_s.get(name, (math.nan, math.nan))
        self.plot.setTitle(map_name(name))
        fields = (
            maps.step,
            str(maps.cell_px.get(name, 1)),
            f"{start_s:.1f}",
            f"{end_s:.1f}",
            median_text(name, maps.figures.get(name)),
        )
        text = self.tr("Step %1, cells of %2 × %2 pixels, frames of %3–%4 s, median %5")
        for number in range(len(fields), 0, -1):  # %5 first: no value is read as a marker
            text = text.replace(f"%{number}", fields[number - 1])
        self.caption.setText(text)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        self.selector_caption.setText(self.tr("Map"))
        self.placeholder.setText(
            self.tr(
                "No map yet: a protocol step that acquires two or more wavelengths sends its "
                "maps every %1 s of signal."
            ).replace("%1", f"{MAP_PERIOD_S:g}")
        )
        for index in range(self.selector.count()):
            self.selector.setItemText(index, map_name(str(self.selector.itemData(index))))
        self._caption()
