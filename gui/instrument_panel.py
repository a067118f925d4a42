"""Instrument panel: devices and firmware, board temperature, calibration states and due dates."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from calibration.registry import RecordNotFound, Registry
from gui.calibration_browser import (
    REGISTRY_ERRORS,
    fill_record_table,
    record_table_headers,
    sorted_entries,
    state_text,
)
from gui.instrument_session import InstrumentSession

TEMPERATURE_PERIOD_MS = 2000
ERROR_STYLE = "color: white; background: #d32f2f; font-weight: bold; padding: 4px"
DEVICE_FIELDS = ("kind", "model", "serial", "firmware", "address")


class InstrumentPanel(QWidget):
    """Status of the instrument and of its calibrations.

    Parameters
    ----------
    session : InstrumentSession
        The instrument connection.
    registry : Registry
        The calibration registry.
    """

    def __init__(
        self, session: InstrumentSession, registry: Registry, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.registry = registry
        self.temperature_c: float | None = None
        self.connect_button = QPushButton()
        self.disconnect_button = QPushButton()
        self.connect_button.clicked.connect(session.open)
        self.disconnect_button.clicked.connect(session.close)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.temperature = QLabel("—")
        self.temperature.setStyleSheet("font-size: 20pt; font-weight: bold")
        self.temperature_caption = QLabel()
        self.devices = QTableWidget(0, 1 + len(DEVICE_FIELDS))
        self.devices.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.detector_calibration = QLabel()
        self.detector_calibration.setWordWrap(True)
        self.calibrations = QTableWidget(0, 6)
        self.calibrations.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.devices_box = QGroupBox()
        self.calibrations_box = QGroupBox()

        top = QHBoxLayout()
        top.addWidget(self.connect_button)
        top.addWidget(self.disconnect_button)
        top.addWidget(self.status, 1)
        top.addWidget(self.temperature_caption)
        top.addWidget(self.temperature)
        devices_layout = QVBoxLayout(self.devices_box)
        devices_layout.addWidget(self.devices)
        calibrations_layout = QVBoxLayout(self.calibrations_box)
        calibrations_layout.addWidget(self.detector_calibration)
        calibrations_layout.addWidget(self.calibrations)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.devices_box, 1)
        layout.addWidget(self.calibrations_box, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(TEMPERATURE_PERIOD_MS)
        self.timer.timeout.connect(self._poll_temperature)
        session.opened.connect(self._on_opened)
        session.closed.connect(self._on_closed)
        session.temperature_read.connect(self._on_temperature)
        session.failed.connect(self._on_failed)
        session.busy_changed.connect(self._update_buttons)
        self._state = "disconnected"
        self._error = ""
        self.retranslate()
        self.refresh_calibrations()
        self._update_buttons(False)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        self.connect_button.setText(self.tr("Connect"))
        self.disconnect_button.setText(self.tr("Disconnect"))
        self.temperature_caption.setText(self.tr("Board temperature"))
        self.devices_box.setTitle(self.tr("Devices"))
        self.calibrations_box.setTitle(self.tr("Calibrations"))
        self.devices.setHorizontalHeaderLabels(
            [
                self.tr("Device"),
                self.tr("Kind"),
                self.tr("Model"),
                self.tr("Serial"),
                self.tr("Firmware"),
                self.tr("Address"),
            ]
        )
        self.calibrations.setHorizontalHeaderLabels(record_table_headers())
        self._show_status()
        self.refresh_calibrations()

    def _show_status(self) -> None:
        texts = {
            "disconnected": self.tr("Not connected."),
            "connecting": self.tr("Connecting…"),
            "connected": self.tr("Connected."),
            "failed": self.tr("Device error: %1").replace("%1", self._error),
        }
        self.status.setText(texts[self._state])
        self.status.setStyleSheet("color: #d32f2f" if self._state == "failed" else "")

    def _update_buttons(self, _: bool = False) -> None:
        """Connect and disconnect follow the connection; both wait while the devices are busy
        (an operation of the session's or a protocol run)."""
        busy = self.session.busy
        self.connect_button.setEnabled(not busy and not self.session.is_open)
        self.disconnect_button.setEnabled(not busy and self.session.is_open)
        if self.session.connecting:
            self._state = "connecting"
            self._show_status()

    def _on_opened(self, identities: dict[str, dict[str, str]]) -> None:
        self._state = "connected"
        self._show_status()
        self.devices.setRowCount(len(identities))
        for row, (name, identity) in enumerate(identities.items()):
            cells = (name, *(str(identity.get(key, "")) for key in DEVICE_FIELDS))
            for column, text in enumerate(cells):
                self.devices.setItem(row, column, QTableWidgetItem(text))
        self.devices.resizeColumnsToContents()
        self.refresh_calibrations()
        self.timer.start()
        self._poll_temperature()

    def _on_closed(self) -> None:
        self._update_buttons()
        self._state = "disconnected"
        self.timer.stop()
        self.devices.setRowCount(0)
        self.temperature.setText("—")
        self._show_status()
        self.refresh_calibrations()

    def _on_failed(self, message: str) -> None:
        self._error = message
        self._state = "failed" if not self.session.is_open else "connected"
        self._show_status()
        if self.session.is_open:
            self.status.setText(self.tr("Device error: %1").replace("%1", message))
            self.status.setStyleSheet("color: #d32f2f")

    def _poll_temperature(self) -> None:
        if self.session.is_open and not self.session.busy and not self.session.polling:
            self.session.read_temperature()

    def _on_temperature(self, celsius: float) -> None:
        self.temperature_c = celsius
        self.temperature.setText(f"{celsius:.2f} °C")

    def refresh_calibrations(self) -> None:
        """Re-read the registry: every record, and the detector board's own calibration."""
        today = dt.date.today()
        try:
            entries = sorted_entries(self.registry)
        except REGISTRY_ERRORS as exc:
            entries = []
            self.detector_calibration.setText(
                self.tr("The calibration registry cannot be read: %1").replace("%1", str(exc))
            )
            self.detector_calibration.setStyleSheet(ERROR_STYLE)
            fill_record_table(self.calibrations, entries, today)
            return
        fill_record_table(self.calibrations, entries, today)
        calibration_id = self.session.identities.get("detector", {}).get("calibration_id", "")
        if not self.session.is_open:
            text, unusable = "", False
        elif not calibration_id:
            text, unusable = self.tr("The detector board holds no calibration record."), False
        else:
            try:
                entry = self.registry.latest_usable(calibration_id, today) or self.registry.entry(
                    calibration_id
                )
            except RecordNotFound:
                text = self.tr("Detector calibration %1 is not in the registry.").replace(
                    "%1", calibration_id
                )
                unusable = True
            else:
                state = entry.state_on(today)
                unusable = state not in ("approved", "due")
                text = (
                    self.tr("Detector calibration %1: %2, due %3")
                    .replace("%1", entry.reference)
                    .replace("%2", state_text(state))
                    .replace("%3", entry.due_date)
                )
        self.detector_calibration.setText(text)
        self.detector_calibration.setStyleSheet(ERROR_STYLE if unusable else "")
