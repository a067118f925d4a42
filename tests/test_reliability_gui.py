"""``nirpoct gui`` on a plain Linux desktop: instead of Qt aborting the process when its X11
(xcb) platform plugin cannot load, the command says which libraries are missing and which
Debian packages provide them, in one line, exit 1.

The plugin with a missing library is a real shared object built here with the C compiler (a
stand-in for Qt's libqxcb.so, loaded from QT_QPA_PLATFORM_PLUGIN_PATH as Qt would), because the
test cannot uninstall system packages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]


def _gui(environment: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "DISPLAY", "WAYLAND"))}
    env.update(environment, PYTHONPATH=str(ROOT), NIRPOCT_CALIBRATION_DIR=str(tmp_path / "reg"))
    return subprocess.run(
        [sys.executable, "-m", "protocols.cli", "gui", "--sim", "--out", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=90,
        check=False,
    )


@pytest.fixture
def plugin_missing_a_library(tmp_path) -> Path:
    """A folder holding ``libqxcb.so`` that needs ``libnirpoct-absent.so.0``, which is gone."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the stand-in plugin")
    build, platforms = tmp_path / "build", tmp_path / "platforms"
    build.mkdir()
    platforms.mkdir()
    (build / "absent.c").write_text("int nirpoct_absent(void) { return 1; }\n")
    (build / "plugin.c").write_text(
        "int nirpoct_absent(void);\nint plugin_entry(void) { return nirpoct_absent(); }\n"
    )
    dependency = build / "libnirpoct-absent.so.0"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-Wl,-soname,libnirpoct-absent.so.0", "-o",
         str(dependency), str(build / "absent.c")],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(platforms / "libqxcb.so"),
         str(build / "plugin.c"), str(dependency)],
        check=True,
    )  # fmt: skip
    dependency.unlink()
    return platforms


def test_missing_plugin_library_is_named_instead_of_an_abort(tmp_path, plugin_missing_a_library):
    result = _gui(
        {
            "QT_QPA_PLATFORM": "xcb",
            "DISPLAY": ":97",
            "QT_QPA_PLATFORM_PLUGIN_PATH": str(plugin_missing_a_library),
        },
        tmp_path,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "xcb" in lines[0] and "libnirpoct-absent.so.0" in lines[0]
    assert "install" in lines[0]


def test_without_a_display_the_app_says_so(tmp_path):
    result = _gui({"QT_QPA_PLATFORM": "xcb"}, tmp_path)
    assert result.returncode == 1
    assert "DISPLAY is not set" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_every_library_missing_for_the_real_plugin_has_its_debian_package():
    from PySide6.QtCore import QLibraryInfo

    from gui.app import XCB_LIBRARY_PACKAGES, missing_libraries, platform_problem

    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    missing = missing_libraries(plugin / "libqxcb.so")
    assert all(name in XCB_LIBRARY_PACKAGES for name in missing), missing
    problem = platform_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":97"})
    if missing:
        assert problem is not None
        assert all(XCB_LIBRARY_PACKAGES[name] in problem for name in missing)
    else:
        assert problem is None
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_readme_lists_the_desktop_packages():
    readme = (ROOT / "README.md").read_text()
    from gui.app import XCB_LIBRARY_PACKAGES

    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0"):
        assert package in readme and package in XCB_LIBRARY_PACKAGES.values()
