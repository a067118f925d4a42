"""Calibration browser: records with states and due dates, signing, verification,
certificates and the audit trail.

Every action is the same call the ``nirpoct calib`` commands make on
:class:`calibration.registry.Registry` and :func:`calibration.certificate.write_certificate`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from calibration.certificate import write_certificate
from calibration.registry import IndexEntry, Registry
from gui.tasks import run_task

UNUSABLE_STATES = ("expired", "revoked")
STATE_COLOURS = {
    "expired": QColor("#d32f2f"),
    "revoked": QColor("#d32f2f"),
    "due": QColor("#f9a825"),
    "approved": QColor("#2e7d32"),
}
SIGN_MEANINGS = ("reviewed", "approved", "revoked")


# What reading or writing the registry raises: damaged or missing files (ValueError, including
# RecordIntegrityError), file system errors and refused signatures (OSError, including
# AuthorisationError), unknown records (LookupError).
REGISTRY_ERRORS = (ValueError, OSError, LookupError)


def state_text(state: str) -> str:
    """A record state or signature meaning as the interface shows it, in the current language."""
    names = {
        "performed": QCoreApplication.translate("State", "performed"),
        "draft": QCoreApplication.translate("State", "draft"),
        "reviewed": QCoreApplication.translate("State", "reviewed"),
        "approved": QCoreApplication.translate("State", "approved"),
        "due": QCoreApplication.translate("State", "due"),
        "expired": QCoreApplication.translate("State", "expired"),
        "revoked": QCoreApplication.translate("State", "revoked"),
        "superseded": QCoreApplication.translate("State", "superseded"),
    }
    return names.get(state, state)


def sorted_entries(registry: Registry) -> list[IndexEntry]:
    """Every record version of ``registry``, by id then version."""
    return sorted(registry.index().values(), key=lambda e: (e.record_id, e.version))


def fill_record_table(table: QTableWidget, entries: list[IndexEntry], day: dt.date) -> None:
    """Rows of record, title, item, state and due date; unusable records in red."""
    table.setRowCount(len(entries))
    for row, entry in enumerate(entries):
        state = entry.state_on(day)
        cells = (
            entry.reference,
            entry.title,
            f"{entry.item_serial} {entry.component}",
            entry.calibration_date,
            entry.due_date,
            state_text(state),
        )
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, state)
            if state in STATE_COLOURS:
                colour = STATE_COLOURS[state]
                if state in UNUSABLE_STATES:
                    item.setBackground(QBrush(colour))
                    item.setForeground(QBrush(QColor("white")))
                elif column == len(cells) - 1:
                    item.setForeground(QBrush(colour))
            table.setItem(row, column, item)
    table.resizeColumnsToContents()


def record_table_headers() -> list[str]:
    """Column headers of :func:`fill_record_table`, in the current language."""
    return [
        QCoreApplication.translate("RecordTable", "Record"),
        QCoreApplication.translate("RecordTable", "Title"),
        QCoreApplication.translate("RecordTable", "Item"),
        QCoreApplication.translate("RecordTable", "Calibrated"),
        QCoreApplication.translate("RecordTable", "Due"),
        QCoreApplication.translate("RecordTable", "State"),
    ]


class SignDialog(QDialog):
    """Sign one record version with a meaning, as a registered user with their password."""

    def __init__(self, registry: Registry, reference: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.reference = reference
        self.signing = False
        self.meaning = QComboBox()
        for meaning in SIGN_MEANINGS:
            self.meaning.addItem(state_text(meaning), meaning)
        self.user = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.reason = QLineEdit()
        self.error = QLabel()
        self.error.setStyleSheet("color: #d32f2f")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.sign)
        self.buttons.rejected.connect(self.reject)
        self.form = QFormLayout(self)
        self.form_labels = [QLabel() for _ in range(4)]
        for label, field_widget in zip(
            self.form_labels, (self.meaning, self.user, self.password, self.reason), strict=True
        ):
            self.form.addRow(label, field_widget)
        self.form.addRow(self.error)
        self.form.addRow(self.buttons)
        self.retranslate()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        for index, meaning in enumerate(SIGN_MEANINGS):
            self.meaning.setItemText(index, state_text(meaning))
        self.setWindowTitle(self.tr("Sign %1").replace("%1", self.reference))
        texts = (self.tr("Meaning"), self.tr("User id"), self.tr("Password"), self.tr("Reason"))
        for label, text in zip(self.form_labels, texts, strict=True):
            label.setText(text)

    def sign(self) -> None:
        """Sign with the entered credentials in the thread pool (the key derivation and the
        record write take a while); stay open and say why when refused."""
        registry, reference = self.registry, self.reference
        meaning, user = self.meaning.currentData(), self.user.text().strip()
        password, reason = self.password.text(), self.reason.text().strip()
        self.password.clear()
        self.buttons.setEnabled(False)
        self.error.setText(self.tr("Signing…"))
        self.signing = True
        run_task(
            self,
            lambda: registry.sign(reference, meaning, user, password, reason),
            self._signed,
            self._refused,
        )

    def _signed(self, entry: object) -> None:
        self.signing = False
        self.buttons.setEnabled(True)
        self.signed_state = entry.lifecycle  # type: ignore[attr-defined]
        self.accept()

    def _refused(self, message: str) -> None:
        self.signing = False
        self.buttons.setEnabled(True)
        self.error.setText(self.tr("Not signed: %1").replace("%1", message))


class CalibrationBrowser(QWidget):
    """Records, states and due dates; sign, verify, export certificates; audit trail.

    Parameters
    ----------
    registry : Registry
        The calibration registry.
    """

    changed = Signal()
    verified = Signal(object)
    certificate_written = Signal(object)

    def __init__(self, registry: Registry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.sign_dialog: SignDialog | None = None
        self.refresh_button = QPushButton()
        self.sign_button = QPushButton()
        self.verify_button = QPushButton()
        self.certificate_button = QPushButton()
        self.refresh_button.clicked.connect(self.refresh)
        self.sign_button.clicked.connect(self.open_sign_dialog)
        self.verify_button.clicked.connect(self.verify)
        self.certificate_button.clicked.connect(self._ask_certificate_path)
        buttons = QHBoxLayout()
        for button in (
            self.refresh_button,
            self.sign_button,
            self.verify_button,
            self.certificate_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.records = QTableWidget(0, 6)
        self.records.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.records.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.records.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.records.itemSelectionChanged.connect(self._show_signatures)
        self.signatures = QTableWidget(0, 4)
        self.signatures.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.audit = QTableWidget(0, 6)
        self.audit.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.details = QTabWidget()
        self.details.addTab(self.signatures, "")
        self.details.addTab(self.audit, "")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.records)
        splitter.addWidget(self.details)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message)
        self.retranslate()
        self.refresh()

    # ------------------------------------------------------------------ texts
    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        """Set every visible text in the current language."""
        self.refresh_button.setText(self.tr("Refresh"))
        self.sign_button.setText(self.tr("Sign…"))
        self.verify_button.setText(self.tr("Verify"))
        self.certificate_button.setText(self.tr("Export certificate…"))
        self.records.setHorizontalHeaderLabels(record_table_headers())
        self.signatures.setHorizontalHeaderLabels(
            [self.tr("Meaning"), self.tr("Signer"), self.tr("User id"), self.tr("Signed (UTC)")]
        )
        self.audit.setHorizontalHeaderLabels(
            [
                self.tr("#"),
                self.tr("Time (UTC)"),
                self.tr("User"),
                self.tr("Action"),
                self.tr("Record"),
                self.tr("Reason"),
            ]
        )
        self.details.setTabText(0, self.tr("Signatures"))
        self.details.setTabText(1, self.tr("Audit trail"))
        if self.records.rowCount():
            fill_record_table(self.records, self.entries, dt.date.today())

    # ------------------------------------------------------------------ content
    def refresh(self) -> None:
        """Re-read the registry; say what is wrong when it cannot be read."""
        selected = self.selected_reference()
        try:
            self.entries = sorted_entries(self.registry)
            audit_entries = self.registry.audit.entries()
        except REGISTRY_ERRORS as exc:
            self.entries, audit_entries = [], []
            self._say(
                self.tr("The registry cannot be read: %1").replace("%1", str(exc)), error=True
            )
        fill_record_table(self.records, self.entries, dt.date.today())
        for row, entry in enumerate(self.entries):
            if entry.reference == selected:
                self.records.selectRow(row)
        self.audit.setRowCount(len(audit_entries))
        for row, audit_entry in enumerate(audit_entries):
            cells = (
                str(audit_entry.sequence),
                audit_entry.time_utc,
                audit_entry.user,
                audit_entry.action,
                audit_entry.record,
                audit_entry.reason,
            )
            for column, text in enumerate(cells):
                self.audit.setItem(row, column, QTableWidgetItem(text))
        self.audit.resizeColumnsToContents()
        self._show_signatures()

    def selected_reference(self) -> str:
        """``ID@version`` of the selected record, or ``""``."""
        rows = self.records.selectionModel().selectedRows() if self.records.rowCount() else []
        if not rows:
            return ""
        item = self.records.item(rows[0].row(), 0)
        return item.text() if item is not None else ""

    def select(self, reference: str) -> None:
        """Select a record version by ``ID@version``."""
        for row, entry in enumerate(self.entries):
            if entry.reference == reference:
                self.records.selectRow(row)
                return
        raise LookupError(f"no calibration record {reference} in {self.registry.root}")

    def _show_signatures(self) -> None:
        reference = self.selected_reference()
        try:
            signatures = self.registry.load(reference).signatures if reference else ()
        except REGISTRY_ERRORS as exc:
            signatures = ()
            self._say(
                self.tr("%1 cannot be read: %2").replace("%1", reference).replace("%2", str(exc)),
                error=True,
            )
        self.signatures.setRowCount(len(signatures))
        for row, signature in enumerate(signatures):
            cells = (
                state_text(signature.meaning),
                signature.signer_name,
                signature.signer_id,
                signature.signed_utc,
            )
            for column, text in enumerate(cells):
                self.signatures.setItem(row, column, QTableWidgetItem(text))
        self.signatures.resizeColumnsToContents()

    # ------------------------------------------------------------------ actions
    def open_sign_dialog(self) -> SignDialog | None:
        """Open the signing dialog for the selected record (non-blocking)."""
        reference = self.selected_reference()
        if not reference:
            self._say(self.tr("Select a record to sign."), error=True)
            return None
        self.sign_dialog = SignDialog(self.registry, reference, self)
        self.sign_dialog.accepted.connect(self._signed)
        self.sign_dialog.open()
        return self.sign_dialog

    def _signed(self) -> None:
        dialog = self.sign_dialog
        self.refresh()
        if dialog is not None:
            self._say(
                self.tr("%1 is now %2")
                .replace("%1", dialog.reference)
                .replace("%2", state_text(dialog.signed_state))
            )
        self.changed.emit()

    def verify(self) -> None:
        """Check the integrity of every record, signature and the audit trail (in the thread
        pool; the outcome is shown and emitted as ``verified``)."""
        self._say(self.tr("Verifying…"))
        run_task(self, self.registry.verify, self._show_verification, self._failed)

    def _show_verification(self, problems: list[str]) -> None:
        if problems:
            self._say(
                self.tr("INTEGRITY FAILURE: %1 problem(s)").replace("%1", str(len(problems)))
                + "\n"
                + "\n".join(problems),
                error=True,
            )
        elif not self.entries:
            self._say(
                self.tr(
                    "Nothing to verify: the registry holds no calibration record yet (%1)."
                ).replace("%1", str(self.registry.root))
            )
        else:
            self._say(
                self.tr("Verified %1 record version(s), audit trail and users: intact").replace(
                    "%1", str(len(self.entries))
                )
            )
        self.verified.emit(problems)

    def export_certificate(self, path: str | Path) -> None:
        """Write the selected record's PDF certificate to ``path`` (in the thread pool; the
        written path is shown and emitted as ``certificate_written``)."""
        reference = self.selected_reference()
        if not reference:
            self._say(self.tr("Select a record first."), error=True)
            return
        registry, day = self.registry, dt.date.today()

        def write() -> Path:
            entry = registry.entry(reference)
            return write_certificate(registry.load(reference), entry.state_on(day), path)

        self._say(self.tr("Writing the certificate…"))
        run_task(self, write, self._show_certificate, self._failed)

    def _show_certificate(self, written: Path) -> None:
        self._say(self.tr("Certificate written to %1").replace("%1", str(written)))
        self.certificate_written.emit(written)

    def _failed(self, message: str) -> None:
        self._say(self.tr("Failed: %1").replace("%1", message), error=True)

    def _ask_certificate_path(self) -> None:
        reference = self.selected_reference()
        if not reference:
            self._say(self.tr("Select a record first."), error=True)
            return
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Export certificate"), f"{reference}.pdf", self.tr("PDF (*.pdf)")
        )
        if path:
            self.export_certificate(path)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color: #d32f2f; font-weight: bold" if error else "")
        self.message.setText(text)
