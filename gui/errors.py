"""Errors nobody caught (an exception in a slot) are shown, never lost on stderr."""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMainWindow, QMessageBox

STATUS_STYLE = "color: white; background: #d32f2f; font-weight: bold"


def show_error(window: QMainWindow, message: str) -> None:
    """Put ``message`` on the window's status bar (red) and in a non-blocking message box."""
    text = QCoreApplication.translate("Errors", "Unexpected error: %1").replace("%1", message)
    window.statusBar().setStyleSheet(STATUS_STYLE)
    window.statusBar().showMessage(text)
    box = QMessageBox(QMessageBox.Icon.Critical, window.windowTitle(), text, parent=window)
    box.open()
    window.error_box = box  # type: ignore[attr-defined]


def install_excepthook(window: QMainWindow) -> None:
    """Show every uncaught exception in ``window`` (and keep the traceback on stderr)."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        traceback.print_exception(kind, error, tb)
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, error, tb)
            return
        show_error(window, f"{error}" or kind.__name__)

    sys.excepthook = hook
