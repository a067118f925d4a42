"""Monitoring view: what a running ``monitor`` step measures, once per second, and its alarms.

Large SpO2, pulse rate and perfusion index with their units and the protocol's alarm limits;
the pulse waveform against time (s); the signal quality (0..1); the active alarms in their
IEC 60601-1-8 priority colours with *Acknowledge* and *Pause alarms* (the runner's
``acknowledge_alarms()`` / ``pause_alarms()``, through the runner view); the monitoring time
and, for a set duration, the time left.

Values are never shown as current when they are not: a withheld value is a dash marked
"withheld"; a value not updated for longer than the protocol's ``stale_after_s`` (the runner
says so, or no second has arrived for that long) is greyed and marked "stale"; after the
monitoring ends the last values are greyed and marked "ended".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.live_buffer import LiveBuffer
from gui.live_view import VITALS
from gui.monitoring_texts import (
    PRIORITY_ORDER,
    condition_text,
    limits_text,
    minutes_text,
    number_text,
    priority_colours,
    priority_text,
)
from gui.plot_style import wavelength_colour
from protocols.alarms import AlarmSettings
from protocols.events import LiveVitals, RunFinished, StepFinished, StepStarted
from protocols.protocol_file import Protocol

REDRAW_PERIOD_MS = 100
CLOCK_PERIOD_MS = 500
QUALITY_STEPS = 100
DECIMALS = {"spo2_percent": 0, "pulse_rate_bpm": 0, "perfusion_index_percent": 2}
CURRENT_STYLE = "font-size: 48pt; font-weight: bold; color: #1565c0"
ALARM_STYLE = "font-size: 48pt; font-weight: bold; color: {text}; background: {background}"
NOT_CURRENT_STYLE = "font-size: 48pt; font-weight: bold; color: #9e9e9e; font-style: italic"
STATE_STYLE = "color: white; background: #616161; font-weight: bold; padding: 2px 6px"

ALARMS_ON = {
    "spo2_percent": ("spo2_low",),
    "pulse_rate_bpm": ("pulse_rate_high", "pulse_rate_low"),
}
"""The alarm conditions that concern each vital sign (its value is shown in their colour)."""

State = Literal["idle", "waiting", "monitoring", "ended"]
ValueState = Literal["current", "withheld", "stale", "ended", "none"]


class MonitoringView(QWidget):
    """The running monitor step's vital signs, pulse waveform, signal quality and alarms.

    Parameters
    ----------
    live : LiveBuffer
        The run's live data (the pulse waveform's samples).
    duration_scale : float
        The app's duration scale (a set monitoring duration is scaled by it, as the runner does).
    clock : callable
        Monotonic seconds (the age of the newest second is measured with it).
    """

    acknowledge_requested = Signal()
    pause_requested = Signal()
    stop_requested = Signal()
    monitoring_started = Signal()
    """A monitor step started (the window brings this view to the front)."""

    def __init__(
        self,
        live: LiveBuffer,
        duration_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.live = live
        self.duration_scale = duration_scale
        self.clock = clock
        self.protocol: Protocol | None = None
        self.settings: AlarmSettings | None = None
        self.duration_s: float | None = None
        self.state: State = "idle"
        self.latest: LiveVitals | None = None
        self.received_at = 0.0
        self.last_values: dict[str, float] = {}
        self.alarm_since: dict[str, float] = {}
        self.paused_until_s: float | None = None
        self._monitor_index: int | None = None
        self._pulse_pushes = -1

        layout = QVBoxLayout(self)
        layout.addLayout(self._build_header())
        layout.addLayout(self._build_vitals())
        layout.addLayout(self._build_quality())
        body = QHBoxLayout()
        body.addWidget(self._build_waveform(), 3)
        body.addWidget(self._build_alarms(), 2)
        layout.addLayout(body, 1)

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(REDRAW_PERIOD_MS)
        self.redraw_timer.timeout.connect(self._on_redraw_timer)
        self.redraw_timer.start()
        self.clock_timer = QTimer(self)
        self.clock_timer.setInterval(CLOCK_PERIOD_MS)
        self.clock_timer.timeout.connect(self.refresh)
        self.clock_timer.start()
        self.retranslate()

    # ------------------------------------------------------------------ layout
    def _build_header(self) -> QHBoxLayout:
        """The state line, the monitoring time and the alarm buttons."""
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("font-size: 13pt; font-weight: bold")
        self.time_label = QLabel()
        self.time_label.setStyleSheet("font-size: 13pt")
        self.acknowledge_button = QPushButton()
        self.pause_button = QPushButton()
        self.stop_button = QPushButton()
        self.acknowledge_button.clicked.connect(self.acknowledge)
        self.pause_button.clicked.connect(self.pause)
        self.stop_button.clicked.connect(self.stop_requested.emit)
        header = QHBoxLayout()
        header.addWidget(self.status, 1)
        header.addWidget(self.time_label)
        for button in (self.acknowledge_button, self.pause_button, self.stop_button):
            header.addWidget(button)
        return header

    def _build_vitals(self) -> QGridLayout:
        """Per vital sign: caption with unit, large value, state tag, alarm limits."""
        self.captions: dict[str, QLabel] = {}
        self.values: dict[str, QLabel] = {}
        self.value_states: dict[str, QLabel] = {}
        self.limits: dict[str, QLabel] = {}
        grid = QGridLayout()
        for column, name in enumerate(VITALS):
            labels = (QLabel(), QLabel("—"), QLabel(), QLabel())
            for row, label in enumerate(labels):
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                grid.addWidget(label, row, column)
            caption, value, state, limits = labels
            caption.setStyleSheet("font-size: 13pt")
            value.setStyleSheet(CURRENT_STYLE)
            state.setStyleSheet(STATE_STYLE)
            state.setVisible(False)
            self.captions[name], self.values[name] = caption, value
            self.value_states[name], self.limits[name] = state, limits
        return grid

    def _build_quality(self) -> QHBoxLayout:
        """The signal quality of the newest second as a bar over 0..1."""
        self.quality_caption = QLabel()
        self.quality = QProgressBar()
        self.quality.setRange(0, QUALITY_STEPS)
        self.quality.setValue(0)
        self.quality.setFormat("—")
        row = QHBoxLayout()
        row.addWidget(self.quality_caption)
        row.addWidget(self.quality, 1)
        return row

    def _build_waveform(self) -> pg.PlotWidget:
        """The infrared pulse of the last seconds against monitoring time (s)."""
        self.waveform = pg.PlotWidget()
        self.waveform.getPlotItem().setDownsampling(auto=True, mode="peak")
        self.waveform.getPlotItem().setClipToView(True)
        self.waveform_curve = self.waveform.plot(pen=pg.mkPen("#1565c0", width=2))
        self.waveform_nm: float | None = None
        return self.waveform

    def _build_alarms(self) -> QGroupBox:
        """The active alarms, each row in its priority colour, and the pause state."""
        self.alarms_box = QGroupBox()
        self.alarms = QTableWidget(0, 4)
        self.alarms.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.alarms.verticalHeader().setVisible(False)
        self.alarms.horizontalHeader().setStretchLastSection(True)
        self.no_alarms = QLabel()
        self.paused_label = QLabel()
        self.paused_label.setStyleSheet(STATE_STYLE)
        self.paused_label.setVisible(False)
        box_layout = QVBoxLayout(self.alarms_box)
        box_layout.addWidget(self.paused_label)
        box_layout.addWidget(self.no_alarms)
        box_layout.addWidget(self.alarms, 1)
        return self.alarms_box

    # ------------------------------------------------------------------ texts
    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        self.captions["spo2_percent"].setText(self.tr("SpO2 (%)"))
        self.captions["pulse_rate_bpm"].setText(self.tr("Pulse rate (bpm)"))
        self.captions["perfusion_index_percent"].setText(self.tr("Perfusion index (%)"))
        self.quality_caption.setText(self.tr("Signal quality (0–1)"))
        self.acknowledge_button.setText(self.tr("Acknowledge"))
        pause_s = self.settings.pause_s if self.settings is not None else AlarmSettings().pause_s
        self.pause_button.setText(self.tr("Pause alarms (%1 s)").replace("%1", f"{pause_s:g}"))
        self.stop_button.setText(self.tr("Stop monitoring"))
        self.alarms_box.setTitle(self.tr("Active alarms"))
        self.alarms.setHorizontalHeaderLabels(
            [self.tr("Alarm"), self.tr("Priority"), self.tr("Since"), self.tr("State")]
        )
        self.waveform.setTitle(self._waveform_title())
        self.waveform.setLabel("bottom", self.tr("Time (s)"))
        self.waveform.setLabel("left", self.tr("Light absorbed by the pulse (DN, up = more blood)"))
        for name, label in self.limits.items():
            label.setText(limits_text(self.settings, name))
        self.refresh()

    # ------------------------------------------------------------------ run events
    def start(self, protocol: Protocol) -> None:
        """A run of ``protocol`` starts: forget the last run; wait for its monitor step."""
        self.protocol = protocol
        monitors = [step for step in protocol.steps if step.kind == "monitor"]
        self.settings = monitors[0].alarms if monitors else None
        self.duration_s = None
        self.state = "waiting" if monitors else "idle"
        self._monitor_index = None
        self._forget_values()
        self.retranslate()

    def _forget_values(self) -> None:
        self.latest = None
        self.last_values = {}
        self.alarm_since = {}
        self.paused_until_s = None
        self._pulse_pushes = -1
        self.waveform_nm = None
        self.waveform_curve.setData([], [])

    def on_event(self, event: object) -> None:
        """Follow one runner event (GUI thread)."""
        if isinstance(event, StepStarted) and event.kind == "monitor":
            self._monitor_started(event.index)
        elif isinstance(event, LiveVitals) and self.state == "monitoring":
            self.show_vitals(event)
        elif isinstance(event, StepFinished) and event.index == self._monitor_index:
            self._ended()
        elif isinstance(event, RunFinished):
            self.run_ended()

    def run_ended(self) -> None:
        """The run is over (finished, refused or failed): a monitoring still shown ends; a run
        that ended before its monitor step leaves nothing to show."""
        if self.state == "monitoring":
            self._ended()
        elif self.state == "waiting":
            self.state = "idle"
            self.refresh()

    def _monitor_started(self, index: int) -> None:
        step = self.protocol.steps[index] if self.protocol is not None else None
        if step is not None and step.kind == "monitor":
            self.settings = step.alarms
            duration = step.duration_s
            self.duration_s = None if duration is None else self.duration_scale * duration
        self.state = "monitoring"
        self._monitor_index = index
        self._forget_values()
        self.received_at = self.clock()
        self.retranslate()
        self.monitoring_started.emit()

    def _ended(self) -> None:
        self.state = "ended"
        self.paused_until_s = None
        self.refresh()

    def show_vitals(self, vitals: LiveVitals) -> None:
        """Show one second of monitoring."""
        self.latest = vitals
        self.received_at = self.clock()
        for name in VITALS:
            value = float(getattr(vitals, name))
            if math.isfinite(value):
                self.last_values[name] = value
        active = {str(alarm["condition"]) for alarm in vitals.alarms}
        self.alarm_since = {
            condition: self.alarm_since.get(condition, vitals.time_s) for condition in active
        }
        if self.paused_until_s is not None and vitals.time_s >= self.paused_until_s:
            self.paused_until_s = None
        self.refresh()

    # ------------------------------------------------------------------ buttons
    def acknowledge(self) -> None:
        """Ask the runner to acknowledge the active alarms (the list shows it once the runner
        has done so)."""
        self.acknowledge_requested.emit()

    def pause(self) -> None:
        """Ask the runner to pause the alarms for the protocol's ``pause_s``."""
        self.pause_requested.emit()
        now = self.latest.time_s if self.latest is not None else 0.0
        pause_s = self.settings.pause_s if self.settings is not None else AlarmSettings().pause_s
        self.paused_until_s = now + pause_s
        self.refresh()

    # ------------------------------------------------------------------ state
    @property
    def stale(self) -> bool:
        """True when the newest values are older than the protocol's ``stale_after_s``: the
        runner flagged them, or no second has arrived for that long."""
        if self.state != "monitoring":
            return False
        limit = (self.settings or AlarmSettings()).stale_after_s
        if self.clock() - self.received_at > limit:
            return True
        return self.latest is not None and self.latest.stale

    def value_state(self, name: str) -> ValueState:
        """How vital ``name`` is shown: current, withheld (dash), stale or ended (greyed), or
        none (nothing measured yet)."""
        latest = self.latest
        if self.state == "ended":
            return "ended" if name in self.last_values else "none"
        if self.stale:
            return "stale"
        if latest is None:
            return "none"
        return "current" if math.isfinite(float(getattr(latest, name))) else "withheld"

    def refresh(self) -> None:
        """Show the newest second, the state of each value, the alarms and the times."""
        self._show_status()
        self._show_time()
        for name in VITALS:
            self._show_value(name)
        self._show_quality()
        self._show_alarms()
        monitoring = self.state == "monitoring"
        unacknowledged = self.latest is not None and any(
            not alarm["acknowledged"] for alarm in self.latest.alarms
        )
        self.acknowledge_button.setEnabled(monitoring and unacknowledged)
        self.pause_button.setEnabled(monitoring and self.paused_until_s is None)
        self.stop_button.setEnabled(monitoring)

    def _show_status(self) -> None:
        if self.state == "idle":
            text = self.tr(
                "No monitoring is running. Monitoring starts with a protocol that "
                "monitors (Protocol tab)."
            )
        elif self.state == "waiting":
            text = self.tr("The run has started; monitoring begins at its monitoring step.")
        elif self.state == "ended":
            text = self.tr("Monitoring ended: the values shown are the last ones, not current.")
        elif self.stale:
            text = self.tr("STALE: no new values for more than %1 s.").replace(
                "%1", f"{(self.settings or AlarmSettings()).stale_after_s:g}"
            )
        elif self.latest is not None and self.latest.probe_off:
            text = self.tr("PROBE OFF: place the probe on the fingertip.")
        else:
            text = self.tr("Monitoring")
        self.status.setText(text)
        alert = self.state == "monitoring" and (
            self.stale or (self.latest is not None and self.latest.probe_off)
        )
        self.status.setStyleSheet(
            "font-size: 13pt; font-weight: bold"
            + ("; color: white; background: #d32f2f; padding: 4px" if alert else "")
        )

    def _show_time(self) -> None:
        if self.state not in ("monitoring", "ended"):
            self.time_label.clear()
            return
        elapsed = self.latest.time_s if self.latest is not None else 0.0
        text = self.tr("Monitoring time %1").replace("%1", minutes_text(elapsed))
        if self.duration_s is not None and self.state == "monitoring":
            left = self.tr("%1 left").replace("%1", minutes_text(self.duration_s - elapsed))
            text += " · " + left
        self.time_label.setText(text)

    def _show_value(self, name: str) -> None:
        state = self.value_state(name)
        value, tag = self.values[name], self.value_states[name]
        if state == "current" and self.latest is not None:
            value.setText(number_text(float(getattr(self.latest, name)), DECIMALS[name]))
        elif state in ("stale", "ended"):
            value.setText(number_text(self.last_values.get(name, math.nan), DECIMALS[name]))
        else:
            value.setText("—")
        priority = self._alarm_priority(name)
        if state == "current" and priority is not None:
            background, text = priority_colours(priority)
            value.setStyleSheet(ALARM_STYLE.format(text=text, background=background))
        else:
            value.setStyleSheet(CURRENT_STYLE if state == "current" else NOT_CURRENT_STYLE)
        tags = {
            "withheld": self.tr("withheld"),
            "stale": self.tr("stale"),
            "ended": self.tr("ended"),
        }
        tag.setText(tags.get(state, ""))
        tag.setVisible(state in tags)

    def _alarm_priority(self, name: str) -> str | None:
        """The highest priority of the active alarms on vital ``name``, if any."""
        latest = self.latest if self.state == "monitoring" else None
        concerned = ALARMS_ON.get(name, ())
        priorities = {
            str(alarm["priority"])
            for alarm in (latest.alarms if latest is not None else ())
            if alarm["condition"] in concerned
        }
        return next((p for p in PRIORITY_ORDER if p in priorities), None)

    def _show_quality(self) -> None:
        quality = self.latest.signal_quality if self.latest is not None else math.nan
        if self.state != "monitoring" or self.stale or not math.isfinite(quality):
            self.quality.setValue(0)
            self.quality.setFormat("—")
            return
        share = min(max(quality, 0.0), 1.0)
        self.quality.setValue(round(QUALITY_STEPS * share))
        self.quality.setFormat(f"{quality:.2f}")

    def _show_alarms(self) -> None:
        """One row per active alarm (highest priority first) in its priority colour."""
        latest = self.latest if self.state == "monitoring" else None
        active = list(latest.alarms) if latest is not None else []
        active.sort(
            key=lambda a: (
                PRIORITY_ORDER.index(str(a["priority"]))
                if a["priority"] in PRIORITY_ORDER
                else len(PRIORITY_ORDER),
                str(a["condition"]),
            )
        )
        self.alarms.setRowCount(len(active))
        for row, alarm in enumerate(active):
            condition, priority = str(alarm["condition"]), str(alarm["priority"])
            acknowledged = bool(alarm["acknowledged"])
            cells = (
                (condition_text(condition), condition),
                (priority_text(priority), priority),
                (minutes_text(self.alarm_since.get(condition, 0.0)), None),
                (self.tr("acknowledged") if acknowledged else self.tr("active"), acknowledged),
            )
            background, foreground = priority_colours(priority)
            for column, (text, data) in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, data)
                item.setBackground(QBrush(QColor(background)))
                item.setForeground(QBrush(QColor(foreground)))
                self.alarms.setItem(row, column, item)
        self.alarms.resizeColumnsToContents()
        self.alarms.setVisible(bool(active))
        self.no_alarms.setVisible(not active)
        self.no_alarms.setText(self.tr("No active alarms") if self.state == "monitoring" else "—")
        paused = self.paused_until_s is not None and self.state == "monitoring"
        self.paused_label.setVisible(paused)
        if paused and self.paused_until_s is not None:
            self.paused_label.setText(
                self.tr("Alarms paused until %1").replace("%1", minutes_text(self.paused_until_s))
            )

    def listed_alarms(self) -> list[str]:
        """The alarm conditions listed, top to bottom (identifiers, e.g. ``spo2_low``)."""
        items = (self.alarms.item(row, 0) for row in range(self.alarms.rowCount()))
        return [str(item.data(Qt.ItemDataRole.UserRole)) for item in items if item is not None]

    # ------------------------------------------------------------------ waveform
    def _on_redraw_timer(self) -> None:
        if self.isVisible():
            self.draw_waveform()

    def draw_waveform(self) -> None:
        """Draw the infrared (longest lit wavelength) pulse of the last seconds, if new, as a
        plethysmogram: the mean level minus the level, so that more blood (less light) is up."""
        pulse = self.live.pulse()
        if pulse is None or pulse.pushes == self._pulse_pushes or not pulse.wavelengths_nm:
            return
        self._pulse_pushes = pulse.pushes
        column = int(np.argmax(pulse.wavelengths_nm))
        wavelength = float(pulse.wavelengths_nm[column])
        if wavelength != self.waveform_nm:
            self.waveform_nm = wavelength
            self.waveform_curve.setPen(pg.mkPen(wavelength_colour(wavelength), width=2))
        level = pulse.signals[:, column]
        self.waveform_curve.setData(pulse.time_s, np.mean(level) - level)
        self.waveform.setTitle(self._waveform_title())

    def _waveform_title(self) -> str:
        if self.waveform_nm is None:
            return self.tr("Pulse waveform")
        return self.tr("Pulse waveform, %1 nm").replace("%1", f"{self.waveform_nm:g}")
