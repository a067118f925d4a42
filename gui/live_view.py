"""Live view: detector image with a colour bar, the running step's latest maps (imaging PPG,
StO2), per-wavelength traces, big SpO2 / PR / PI.

The view redraws from a :class:`gui.live_buffer.LiveBuffer` on its own timer (10 Hz, and only
while it is shown), never per frame, so the window stays responsive at 200 fps and leaves the
CPU to the acquisition.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui.instrument_session import InstrumentSession
from gui.live_buffer import LiveBuffer, LiveSnapshot
from gui.live_maps_view import LiveMapPanel
from gui.plot_style import SATURATION_WARNING_FRACTION, saturated_fraction, wavelength_colour
from instrument.instrument import AcquisitionResult

REDRAW_PERIOD_MS = 100
VITALS = ("spo2_percent", "pulse_rate_bpm", "perfusion_index_percent")


def vital_text(value: float | None, decimals: int) -> str:
    """A vital sign as shown: the value, or a dash when missing or withheld (NaN)."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{decimals}f}"


class LiveView(QWidget):
    """The newest frame, the latest maps, traces and vital signs.

    Parameters
    ----------
    live : LiveBuffer
        Filled by the acquisition or protocol worker.
    session : InstrumentSession
        Starts and stops plain acquisitions from this view.
    runs_dir : pathlib.Path or None
        Where plain acquisitions put their run records (a temporary directory when None).
    """

    def __init__(
        self,
        live: LiveBuffer,
        session: InstrumentSession,
        runs_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.live = live
        self.session = session
        self.runs_dir = runs_dir or Path(tempfile.gettempdir()) / "nirpoct-runs"
        self.redraws = 0
        self.snapshot: LiveSnapshot | None = None
        self.levels: tuple[float, float] | None = None
        self.levels_generation = -1

        self.message = QLabel()
        self._message_text: Callable[[], str] = str
        controls = self._build_controls()
        self._build_image()
        self._build_traces()
        vitals = self._build_vitals()
        self.map_panel = LiveMapPanel()

        self.saturation = QLabel()
        self.saturation.setStyleSheet(
            "color: white; background: #d32f2f; font-weight: bold; padding: 4px"
        )
        self.saturation.setVisible(False)
        image_box = QWidget()
        image_layout = QVBoxLayout(image_box)
        image_layout.setContentsMargins(0, 0, 0, 0)
        image_layout.addWidget(self.saturation)
        image_layout.addWidget(self.image_widget, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(image_box)
        splitter.addWidget(self.map_panel)
        splitter.addWidget(self.traces)
        splitter.setSizes([350, 350, 500])
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addLayout(vitals)
        layout.addWidget(splitter, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_PERIOD_MS)
        self.timer.timeout.connect(self._on_timer)
        self.timer.start()
        session.busy_changed.connect(self._update_buttons)
        session.opened.connect(lambda _: self._update_buttons(False))
        session.closed.connect(lambda: self._update_buttons(False))
        session.acquired.connect(self._on_acquired)
        self.retranslate()
        self._update_buttons(False)

    def _build_controls(self) -> QHBoxLayout:
        """Duration, start and stop of a plain acquisition, and the message line."""
        self.duration = QDoubleSpinBox()
        self.duration.setRange(0.1, 3600.0)
        self.duration.setValue(30.0)
        self.duration.setSuffix(" s")
        self.duration_caption = QLabel()
        self.start_button = QPushButton()
        self.stop_button = QPushButton()
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.session.stop)
        controls = QHBoxLayout()
        controls.addWidget(self.duration_caption)
        controls.addWidget(self.duration)
        controls.addWidget(self.start_button)
        controls.addWidget(self.stop_button)
        controls.addWidget(self.message, 1)
        return controls

    def _build_image(self) -> None:
        """The live frame with its colour bar (0 … 4095 DN until levels are set)."""
        self.image_widget = pg.GraphicsLayoutWidget()
        self.image_plot = self.image_widget.addPlot()
        self.image_plot.setAspectLocked(True)
        self.image_plot.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image_plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(
            values=(0, 4095), colorMap=pg.colormap.get("viridis"), interactive=False
        )
        self.colour_bar.setImageItem(self.image, insert_in=self.image_plot)

    def _build_traces(self) -> None:
        """The PPG traces over the live window against time (s since the run or acquisition
        started), one curve per wavelength (added as they come)."""
        self.traces = pg.PlotWidget()
        self.traces.getPlotItem().setDownsampling(auto=True, mode="peak")
        self.traces.getPlotItem().setClipToView(True)
        self.curves: dict[float, pg.PlotDataItem] = {}

    def _build_vitals(self) -> QGridLayout:
        """A caption and a large value per vital sign."""
        self.vital_values: dict[str, QLabel] = {}
        self.vital_captions: dict[str, QLabel] = {}
        vitals = QGridLayout()
        for column, name in enumerate(VITALS):
            caption = QLabel()
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            value = QLabel("—")
            value.setAlignment(Qt.AlignmentFlag.AlignCenter)
            value.setStyleSheet("font-size: 40pt; font-weight: bold; color: #1565c0")
            vitals.addWidget(caption, 0, column)
            vitals.addWidget(value, 1, column)
            self.vital_captions[name] = caption
            self.vital_values[name] = value
        return vitals

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        self.duration_caption.setText(self.tr("Duration"))
        self.message.setText(self._message_text())
        self.start_button.setText(self.tr("Start acquisition"))
        self.stop_button.setText(self.tr("Stop"))
        self.vital_captions["spo2_percent"].setText(self.tr("SpO2 (%)"))
        self.vital_captions["pulse_rate_bpm"].setText(self.tr("Pulse rate (bpm)"))
        self.vital_captions["perfusion_index_percent"].setText(self.tr("Perfusion index (%)"))
        self.image_plot.setTitle(self.tr("Detector image (DN)"))
        self.traces.setTitle(self.tr("Signal per wavelength"))
        self.traces.setLabel("bottom", self.tr("Time (s)"))
        self.traces.setLabel("left", self.tr("Mean level (DN)"))
        self._show_saturation()

    def _update_buttons(self, _: bool = False) -> None:
        session = self.session
        self.start_button.setEnabled(session.is_open and not session.busy)
        self.stop_button.setEnabled(session.is_open and session.acquiring)

    def start(self) -> None:
        """Acquire for the chosen duration into a run record, showing it live."""
        self._say(lambda: self.tr("Acquiring…"))
        self.session.acquire(self.duration.value(), self.runs_dir)

    def _on_acquired(self, result: AcquisitionResult | None) -> None:
        if result is None:
            self._say(lambda: self.tr("Stopped."))
            return
        self._say(
            lambda: (
                self.tr("%1 frames in %2")
                .replace("%1", str(result.stats.frames))
                .replace("%2", str(result.record_path))
            )
        )

    def _show_saturation(self) -> None:
        """Mark the image when part of it is at the ADC's full scale."""
        image = self.snapshot.image if self.snapshot is not None else None
        share = saturated_fraction(image) if image is not None else 0.0
        self.saturation.setVisible(share > SATURATION_WARNING_FRACTION)
        self.saturation.setText(
            self.tr(
                "SATURATED: %1 % of the pixels at full scale; lower the LED current or the "
                "integration time"
            ).replace("%1", f"{100 * share:.1f}")
        )

    def _say(self, text: Callable[[], str]) -> None:
        """Show a status line; ``text`` is called again when the language changes."""
        self._message_text = text
        self.message.setText(text())

    def _on_timer(self) -> None:
        # A hidden view leaves its data in the buffer; it draws the newest when shown again.
        if self.isVisible():
            self.redraw()

    def _levels(self, image: NDArray[np.float64], generation: int) -> tuple[float, float]:
        """Colour levels (DN): the 1st–99th percentile range of the images seen in this run
        (`generation`), only ever widened, so the colours do not flicker from frame to frame."""
        low, high = (float(v) for v in np.nanpercentile(image, (1, 99)))
        if self.levels is not None and self.levels_generation == generation:
            low, high = min(low, self.levels[0]), max(high, self.levels[1])
        self.levels, self.levels_generation = (low, max(high, low + 1)), generation
        return self.levels

    def redraw(self) -> None:
        """Draw the newest live data, if any arrived since the last redraw."""
        snapshot = self.live.take()
        if snapshot is None:
            return
        self.snapshot = snapshot
        self.redraws += 1
        if snapshot.image is not None:
            self.image.setImage(snapshot.image, autoLevels=False)
            self.colour_bar.setLevels(self._levels(snapshot.image, snapshot.generation))
        self._show_saturation()
        if snapshot.maps is not self.map_panel.maps:  # refreshed every few seconds only
            self.map_panel.show_maps(snapshot.maps)
        for wavelength in set(self.curves) - set(snapshot.traces):
            self.traces.removeItem(self.curves.pop(wavelength))
        for wavelength, samples in sorted(snapshot.traces.items()):
            curve = self.curves.get(wavelength)
            if curve is None:
                colour = wavelength_colour(wavelength)
                curve = self.traces.plot(pen=pg.mkPen(colour, width=1), name=f"{wavelength:g} nm")
                self.curves[wavelength] = curve
            curve.setData(snapshot.trace_times_s[wavelength], samples)
        # The curves' names in their colours above the plot, not over the traces.
        self.traces.setTitle(
            "  ".join(
                f"<span style='color: {wavelength_colour(nm)}'>■ {nm:g} nm</span>"
                for nm in sorted(self.curves)
            )
            or self.tr("Signal per wavelength")
        )
        decimals = {"spo2_percent": 0, "pulse_rate_bpm": 0, "perfusion_index_percent": 2}
        for name, label in self.vital_values.items():
            label.setText(vital_text(snapshot.vitals.get(name), decimals[name]))
