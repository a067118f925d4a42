"""Render the app's main views to PNG files under a real X server, after simulated runs.

    python -m gui.screenshots docs/screenshots              # starts Xvfb itself
    python -m gui.screenshots --offscreen docs/screenshots  # Qt's offscreen platform instead

Without ``--offscreen`` the app is drawn by Qt's X11 (xcb) platform on a private Xvfb server
that this command starts and stops (Debian: ``apt-get install xvfb``; for the Chinese pictures
also ``fonts-wqy-microhei`` or ``fonts-noto-cjk``).

The app runs on the simulated instrument with a demonstration calibration registry (made in a
temporary directory): approved detector and SpO2-curve calibrations, and an expired lock-in
verification shown in red in the Calibration tab. It connects the instrument, monitors a
simulated patient who desaturates (``spo2-monitoring`` with the ``desaturation`` scenario, until
its SpO2 alarm is raised), runs ``spo2-screening`` (shortened), revokes the SpO2 curve and starts
a screening anyway (refused), and saves one picture per view, plus the monitoring, runner,
results and history in Chinese.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QCoreApplication, QEventLoop
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from calibration.record import (
    Environment,
    Item,
    Laboratory,
    Method,
    RecordContent,
    ReferenceStandard,
    Tolerance,
)
from calibration.registry import Registry
from calibration.uncertainty import Budget, Result, type_a, type_b
from gui.app import make_context
from gui.i18n import Languages
from gui.main_window import MainWindow

DEMO_PASSWORD = "demo-password"
DURATION_SCALE = 0.2
MONITORING_S = 60.0
"""Length of the demonstration monitoring (after the duration scale), s."""
MONITORING_PATIENT = {"scenario": "desaturation", "scenario_period_s": MONITORING_S, "speed": 3.0}
"""The simulated patient of the monitoring run: SpO2 98 → 85 % over its first third."""
TIMEOUT_S = 300.0
SIZE = (1280, 820)


def wait_until(
    app: QCoreApplication, done: Callable[[], bool], timeout_s: float = TIMEOUT_S
) -> None:
    """Serve the event loop until ``done()``.

    Raises
    ------
    TimeoutError
        If it does not happen within ``timeout_s`` seconds.
    """
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app did not get there within {timeout_s:g} s")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def demo_content(kind: str, title: str, day: str, arrays: dict[str, np.ndarray]) -> RecordContent:
    """A demonstration calibration record of ``kind`` performed by ``tech`` on ``day``."""
    gain = 0.1002
    repeat = type_a("repeated measurements", [gain * (1 + d) for d in (-1e-3, 0, 1e-3)], "DN/e⁻")
    reference = type_b("reference radiometer", gain, gain * 0.004, "DN/e⁻", "normal")
    return RecordContent(
        kind=kind,
        title=title,
        laboratory=Laboratory("nirpoct QC lab", "1 Lab Road, Jinan", "bench 2"),
        customer="demonstration",
        item=Item("NIR POCT", "NIRPD-A64", "SIM000000", "detector array"),
        method=Method(title, "SOP-DEMO-001", "1", "0.1.0"),
        references=(
            ReferenceStandard("radiometer", "RAD-7", "CERT-RAD-2026-11", "NIM", "2099-01-01"),
        ),
        environment=Environment(23.0, 40.0),
        performed_by="tech",
        calibration_date=day,
        interval_days=365,
        as_left=(Result("system gain", gain, "DN/e⁻", Budget((repeat, reference))),),
        tolerances=(Tolerance("system gain", 0.095, 0.105, "DN/e⁻"),),
        arrays=arrays,
    )


def demo_registry(root: Path) -> Registry:
    """Users ``admin``, ``tech``, ``rev`` and ``boss`` (password :data:`DEMO_PASSWORD`) and three
    records: detector and SpO2-curve calibrations approved today, a lock-in verification that
    expired."""
    registry = Registry(root)
    registry.add_user("admin", "Ada Admin", ("administrator",), DEMO_PASSWORD)
    for user_id, name, roles in (
        ("tech", "Tom Technician", ("performer",)),
        ("rev", "Rita Reviewer", ("reviewer",)),
        ("boss", "Bo Approver", ("approver", "reviewer")),
    ):
        registry.add_user(
            user_id, name, roles, DEMO_PASSWORD, admin_id="admin", admin_password=DEMO_PASSWORD
        )
    today = time.strftime("%Y-%m-%d")
    records: tuple[tuple[str, str, str, dict[str, NDArray[np.float64]]], ...] = (
        ("detector-characterisation", "Detector characterisation (EMVA 1288)", today, {}),
        (
            "spo2-curve",
            "SpO2 calibration curve",
            today,
            {"coefficients/spo2_curve": np.array([110.0, -25.0])},
        ),
        ("lockin-verification", "Lock-in amplifier verification", "2024-06-03", {}),
    )
    for kind, title, day, arrays in records:
        reference = registry.create(demo_content(kind, title, day, arrays), DEMO_PASSWORD).reference
        registry.sign(reference, "reviewed", "rev", DEMO_PASSWORD)
        registry.sign(reference, "approved", "boss", DEMO_PASSWORD)
    return registry


def save(widget: QWidget, path: Path) -> Path:
    """Save ``widget`` as a PNG: read back from the X server's screen when the app runs on X11
    (what a user sees), else rendered by Qt."""
    app = QApplication.instance()
    if app is not None:
        app.processEvents()
    screen = widget.screen()
    if QGuiApplication.platformName() == "xcb" and screen is not None:
        picture = screen.grabWindow(widget.winId())
    else:
        picture = widget.grab()
    if not picture.save(str(path)):
        raise OSError(f"cannot write {path}")
    print(path)
    return path


def _run_screening(app: QCoreApplication, window: MainWindow) -> None:
    runner = window.runner_view
    runner.select_protocol("spo2-screening")
    wait_until(app, lambda: not runner.calibrations_pending)
    runner.operator.setText("demo operator")
    runner.subject.setText("DEMO-001")
    finished: list[object] = []
    runner.run_finished.connect(finished.append)
    runner.start_button.click()
    window.tabs.setCurrentWidget(window.live_view)
    wait_until(app, lambda: window.live_view.redraws >= 60)
    window.live_view.redraw()
    wait_until(app, lambda: bool(finished))


def _monitor_until_alarm(app: QCoreApplication, window: MainWindow, out_dir: Path) -> list[Path]:
    """Monitor the desaturating simulated patient until the SpO2 alarm is raised; picture
    the monitoring view in English and Chinese; then stop the monitoring (the run ends with
    its report)."""
    runner, monitoring = window.runner_view, window.monitoring_view
    config = runner.config
    runner.config = config.model_copy(
        update={"simulator": config.simulator.model_copy(update=MONITORING_PATIENT)}
    )
    runner.select_protocol("spo2-monitoring")
    wait_until(app, lambda: not runner.calibrations_pending)
    runner.operator.setText("demo operator")
    runner.subject.setText("DEMO-002")
    runner.monitoring_duration.setValue(MONITORING_S / DURATION_SCALE)
    finished: list[object] = []
    runner.run_finished.connect(finished.append)
    runner.start_button.click()

    def alarm_listed() -> bool:
        return "spo2_low" in monitoring.listed_alarms()

    wait_until(app, alarm_listed)
    wait_until(app, lambda: monitoring.live.pulse() is not None)
    monitoring.draw_waveform()
    written = [save(window, out_dir / "monitoring.png")]
    window.set_language("zh_CN")
    wait_until(app, lambda: monitoring.acknowledge_button.text() != "Acknowledge")
    wait_until(app, alarm_listed)
    written.append(save(window, out_dir / "monitoring-zh_CN.png"))
    window.set_language("en")
    wait_until(app, lambda: monitoring.acknowledge_button.text() == "Acknowledge")
    runner.stop_monitoring()
    wait_until(app, lambda: bool(finished))
    runner.config = config
    runner.monitoring_duration.setValue(0.0)
    return written


def _refuse_screening(app: QCoreApplication, window: MainWindow, registry: Registry) -> None:
    """Revoke the SpO2 curve, then start a screening anyway (as a script could): the runner
    refuses it, and the app shows the refusal and the banner."""
    curve = next(e for e in registry.index().values() if e.kind == "spo2-curve")
    registry.sign(curve.reference, "revoked", "boss", DEMO_PASSWORD, "demonstration")
    checks = window.calibration_checks
    window.refresh_calibrations()
    runner = window.runner_view
    runner.refresh_calibrations()
    wait_until(app, lambda: window.calibration_checks > checks)
    wait_until(app, lambda: not runner.calibrations_pending)
    refused: list[object] = []
    runner.run_finished.connect(refused.append)
    runner.start()
    wait_until(app, lambda: bool(refused))


def render(out_dir: Path) -> list[Path]:
    """Run the demonstration and write the screenshots into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="nirpoct-screenshots-"))
    registry = demo_registry(work / "registry")
    context = replace(
        make_context(None, True, registry.root, work / "runs"), duration_scale=DURATION_SCALE
    )
    languages = Languages(app)
    window = MainWindow(context, languages)
    window.resize(*SIZE)
    window.show()
    wait_until(app, lambda: window.calibration_checks > 0)
    written = []

    window.session.open()
    wait_until(app, lambda: window.instrument_panel.temperature_c is not None)
    window.tabs.setCurrentWidget(window.instrument_panel)
    written.append(save(window, out_dir / "instrument.png"))

    written += _monitor_until_alarm(app, window, out_dir)
    _run_screening(app, window)
    written.append(save(window, out_dir / "live-vitals.png"))
    runner, results, history = window.runner_view, window.results_view, window.history
    window.tabs.setCurrentWidget(runner)
    written.append(save(window, out_dir / "runner.png"))
    wait_until(app, lambda: bool(results.trend_curves))
    window.tabs.setCurrentWidget(results)
    written.append(save(window, out_dir / "results.png"))

    _refuse_screening(app, window, registry)
    window.tabs.setCurrentWidget(runner)
    written.append(save(window, out_dir / "runner-refused.png"))
    wait_until(app, lambda: history.table.rowCount() >= 2)
    history.table.selectRow(1)
    window.tabs.setCurrentWidget(history)
    written.append(save(window, out_dir / "history.png"))

    browser = window.calibration_browser
    browser.select(browser.entries[-1].reference)
    window.tabs.setCurrentWidget(browser)
    written.append(save(window, out_dir / "calibration.png"))

    window.set_language("zh_CN")
    wait_until(app, lambda: runner.start_button.text() != "Start")
    wait_until(app, lambda: not runner.calibrations_pending)
    window.tabs.setCurrentWidget(runner)
    written.append(save(window, out_dir / "runner-zh_CN.png"))
    window.tabs.setCurrentWidget(history)
    written.append(save(window, out_dir / "history-zh_CN.png"))
    history.open_run(1)  # the completed screening
    wait_until(app, lambda: bool(results.trend_curves))
    written.append(save(window, out_dir / "results-zh_CN.png"))
    window.close()
    return written


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """Start a private Xvfb server; (its process, its display name).

    Raises
    ------
    RuntimeError
        When Xvfb is not installed or does not start.
    """
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise RuntimeError(
            "Xvfb is not installed (Debian: apt-get install xvfb); or pass --offscreen"
        )
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as display_number:
        number = display_number.readline().strip()
    if not number:
        server.kill()
        raise RuntimeError("Xvfb did not start")
    return server, f":{number}"


def main(argv: list[str] | None = None) -> int:
    """``python -m gui.screenshots [--offscreen] OUT_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    offscreen = "--offscreen" in args
    paths = [arg for arg in args if arg != "--offscreen"]
    if len(paths) != 1:
        print("usage: python -m gui.screenshots [--offscreen] OUT_DIR", file=sys.stderr)
        return 2
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        render(Path(paths[0]))
        return 0
    try:
        server, display = start_xvfb()
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        render(Path(paths[0]))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
