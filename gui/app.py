"""Entry point of the desktop app: ``nirpoct gui [--sim] [--config FILE]``."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QLibraryInfo
from PySide6.QtWidgets import QApplication

from gui.errors import install_excepthook
from gui.i18n import Languages
from gui.main_window import AppContext, MainWindow
from instrument.config import load_config, simulated

logger = logging.getLogger(__name__)

XCB_LIBRARY_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
"""Debian/Ubuntu package of each library Qt's xcb platform plugin (and Qt) needs."""


class DesktopUnavailable(RuntimeError):
    """The desktop app cannot start here; the message says why and what to install."""


def platform_name(environment: Mapping[str, str]) -> str:
    """The Qt platform plugin the app will load (``QT_QPA_PLATFORM``, else Qt's default)."""
    chosen = environment.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if chosen:
        return chosen
    if environment.get("XDG_SESSION_TYPE") == "wayland" and environment.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb" if sys.platform.startswith("linux") else ""


def missing_libraries(plugin: Path) -> list[str]:
    """Shared libraries ``plugin`` needs that the dynamic loader does not find (``ldd``)."""
    ldd = shutil.which("ldd")
    if ldd is None or not plugin.is_file():
        return []
    listing = subprocess.run(
        [ldd, str(plugin)], capture_output=True, text=True, check=False, timeout=30
    ).stdout
    return list(dict.fromkeys(re.findall(r"^\s*(\S+) => not found", listing, re.MULTILINE)))


def platform_problem(environment: Mapping[str, str]) -> str | None:
    """Why Qt's platform plugin would abort the app at start, and what to install; None when
    nothing is known to be wrong (only the X11 ``xcb`` plugin is checked)."""
    if platform_name(environment) != "xcb":
        return None
    if not environment.get("DISPLAY"):
        return (
            "the desktop app needs a display: DISPLAY is not set (start it from the desktop "
            "session, or set QT_QPA_PLATFORM=offscreen for a window-less test)"
        )
    folder = environment.get("QT_QPA_PLATFORM_PLUGIN_PATH") or str(
        Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    )
    missing = missing_libraries(Path(folder) / "libqxcb.so")
    if not missing:
        return None
    packages = [XCB_LIBRARY_PACKAGES[name] for name in missing if name in XCB_LIBRARY_PACKAGES]
    unknown = [name for name in missing if name not in XCB_LIBRARY_PACKAGES]
    advice = f"sudo apt-get install {' '.join(packages)}" if packages else ""
    if unknown:
        advice += ("; and " if advice else "") + "the packages providing " + ", ".join(unknown)
    return (
        "the desktop app cannot start: Qt's X11 (xcb) platform plugin needs "
        f"{', '.join(missing)}, not installed; install with: {advice}"
    )


def make_context(
    config_path: str | None, sim: bool, registry_root: Path, runs_dir: Path
) -> AppContext:
    """The app's instrument configuration (simulated with ``sim``), registry and run folder."""
    config, text = load_config(config_path)
    if sim:
        config = simulated(config)
    return AppContext(config, text, registry_root, runs_dir)


def main(context: AppContext, language: str = "en", argv: Sequence[str] | None = None) -> int:
    """Show the main window and run the event loop until it closes; return the exit code.

    Raises
    ------
    DesktopUnavailable
        Qt's platform plugin would abort here (no display, missing system libraries); the
        message names the Debian packages to install.
    """
    problem = None if QApplication.instance() else platform_problem(os.environ)
    if problem:
        raise DesktopUnavailable(problem)
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("nirpoct")
    languages = Languages(app)
    languages.set(language)
    window = MainWindow(context, languages)
    install_excepthook(window)
    window.show()
    return app.exec()
