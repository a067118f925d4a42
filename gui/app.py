"""Entry point of the desktop app: ``nirpoct gui [--sim] [--config FILE]``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QApplication

from gui.errors import install_excepthook
from gui.i18n import Languages
from gui.main_window import AppContext, MainWindow
from instrument.config import load_config, simulated


def make_context(
    config_path: str | None, sim: bool, registry_root: Path, runs_dir: Path
) -> AppContext:
    """The app's instrument configuration (simulated with ``sim``), registry and run folder."""
    config, text = load_config(config_path)
    if sim:
        config = simulated(config)
    return AppContext(config, text, registry_root, runs_dir)


def main(context: AppContext, language: str = "en", argv: Sequence[str] | None = None) -> int:
    """Show the main window and run the event loop until it closes; return the exit code."""
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("nirpoct")
    languages = Languages(app)
    languages.set(language)
    window = MainWindow(context, languages)
    install_excepthook(window)
    window.show()
    return app.exec()
