"""Protocol runs driven through the desktop app offscreen, on the simulated instrument: what the
app shows must be what the run record holds."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
import json

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from calibration.registry import Registry
from gui.app import make_context
from gui.i18n import Languages
from gui.main_window import MainWindow
from gui.results_view import value_text
from instrument.run_record import read_run_record
from tests.calibration_fixtures import PASSWORDS, approved_record, make_content, make_registry

RUN_TIMEOUT_MS = 180_000
SPO2_LINE = np.array([110.0, -25.0])  # SpO2 = 110 - 25 R, the empirical red/infrared line


def approved_spo2_curve(registry: Registry, **content_options) -> str:
    content = dataclasses.replace(
        make_content(**content_options),
        kind="spo2-curve",
        title="SpO2 calibration curve",
        arrays={"coefficients/spo2_curve": SPO2_LINE},
    )
    reference = registry.create(content, PASSWORDS["tech"]).reference
    registry.sign(reference, "reviewed", "rev", PASSWORDS["rev"])
    registry.sign(reference, "approved", "boss", PASSWORDS["boss"])
    return reference


def open_window(qtbot, registry, tmp_path, duration_scale):
    context = dataclasses.replace(
        make_context(None, True, registry.root, tmp_path / "runs"), duration_scale=duration_scale
    )
    window = MainWindow(context, Languages(QApplication.instance()))
    qtbot.addWidget(window)
    window.show()
    return window


def run_protocol(qtbot, window, name, operator, subject=""):
    """Start ``name`` from the runner view; count heartbeat ticks until the run ends."""
    view = window.runner_view
    view.select_protocol(name)
    view.operator.setText(operator)
    view.subject.setText(subject)
    ticks = []
    heartbeat = QTimer()
    heartbeat.setInterval(20)
    heartbeat.timeout.connect(lambda: ticks.append(1))
    heartbeat.start()
    with qtbot.waitSignal(view.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        view.start_button.click()
    heartbeat.stop()
    return finished.args[0], len(ticks)


def step_results(record) -> dict[str, dict]:
    return {name: json.loads(group["results_json"]) for name, group in record.results.items()}


def table(widget) -> list[list[str]]:
    return [
        [widget.item(row, column).text() for column in range(widget.columnCount())]
        for row in range(widget.rowCount())
    ]


def test_daily_qc_run_shows_what_the_record_holds(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    approved_record(registry)
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.05)
    outcome, ticks = run_protocol(qtbot, window, "daily-qc", "qc-bot")
    finished = outcome.finished
    assert finished.status == "completed"
    record = read_run_record(finished.record_path)
    assert record.metadata["operator"] == "qc-bot"
    stored = step_results(record)

    view = window.runner_view
    statuses = {row[0]: row[2] for row in table(view.steps)}
    assert statuses == {name: group["status"] for name, group in record.results.items()}
    assert view.progress.value() == view.progress.maximum()

    gates = {step.name: step for step in outcome.protocol.steps if step.kind == "qc_gate"}
    shown_qc = table(view.qc)
    assert [row[0] for row in shown_qc] == list(gates)
    for step, figure, value, unit, low, high, verdict in shown_qc:
        gate = stored[step]
        assert (figure, unit) == (gate["figure"], gate["unit"])
        assert value == f"{gate['value']:.4g}"
        assert low == ("—" if gate["low"] is None else f"{gate['low']:g}")
        assert high == ("—" if gate["high"] is None else f"{gate['high']:g}")
        assert verdict == ("PASS" if gate["passed"] else "FAIL")
    assert finished.qc_passed == all(stored[name]["passed"] for name in gates)

    results = window.results_view
    expected = [
        [step, name, value_text(float(value))]
        for step, figures in stored.items()
        for name, value in figures.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    assert sorted(table(results.figures)) == sorted(expected)
    assert ["dark-stats", "mean_dn", f"{stored['dark-stats']['mean_dn']:.4g}"] in expected
    assert results.open_pdf_button.isEnabled()
    assert finished.report_pdf.read_bytes().startswith(b"%PDF")
    # Arrays come from the record: the dark step's mean frame is a map, the warm-up a trend.
    qtbot.waitUntil(lambda: "dark.mean_frame_dn" in results.map_items, timeout=30_000)
    np.testing.assert_array_equal(
        results.map_items["dark.mean_frame_dn"].image, record.results["dark"]["mean_frame_dn"]
    )
    warm_up = record.results["warm-up"]
    x, y = results.trend_curves["warm-up.board_temperature_c"].getData()
    np.testing.assert_array_equal(x, warm_up["time_s"])
    np.testing.assert_array_equal(y, warm_up["board_temperature_c"])
    # The event loop kept serving a 20 ms timer throughout the run.
    assert ticks >= 50
    window.close()


def test_spo2_screening_run_shows_the_recorded_vitals(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    approved_record(registry)
    approved_spo2_curve(registry)
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.1)
    live = window.live_view
    window.tabs.setCurrentWidget(live)
    outcome, ticks = run_protocol(qtbot, window, "spo2-screening", "nurse-li", "MRN-0042")
    finished = outcome.finished
    assert finished.status == "completed"
    record = read_run_record(finished.record_path)
    oximetry = step_results(record)["oximetry"]
    assert record.metadata["subject_pseudonym"].startswith("sub-")
    assert "MRN-0042" not in json.dumps(record.metadata, default=str)

    # Live frames were drawn while acquiring, throttled to 10 Hz (one redraw per 20 frames).
    assert 5 <= live.redraws <= record.frames.shape[0] // 15
    # The event loop kept serving a 20 ms timer through a ≥ 6 s acquisition (≥ 300 periods).
    assert ticks >= 50
    live.redraw()
    shown = {name: label.text() for name, label in live.vital_values.items()}
    assert shown == {
        "spo2_percent": f"{oximetry['spo2_percent']:.0f}",
        "pulse_rate_bpm": f"{oximetry['pulse_rate_bpm']:.0f}",
        "perfusion_index_percent": f"{oximetry['perfusion_index_percent']:.2f}",
    }
    assert 85 <= oximetry["spo2_percent"] <= 100

    results = window.results_view
    qtbot.waitUntil(lambda: "oximetry.spo2_percent" in results.trend_curves, timeout=30_000)
    x, y = results.trend_curves["oximetry.spo2_percent"].getData()
    stored = record.results["oximetry"]
    np.testing.assert_array_equal(x, stored["time_s"])
    np.testing.assert_array_equal(y, stored["spo2_percent"])
    figures = {(row[0], row[1]): row[2] for row in table(results.figures)}
    assert figures[("oximetry", "spo2_percent")] == f"{oximetry['spo2_percent']:.4g}"
    window.close()


def test_expired_calibration_blocks_the_clinical_protocol_until_an_approver_overrides(
    qtbot, tmp_path
):
    registry = make_registry(tmp_path / "registry")
    approved_record(registry)
    expired = approved_spo2_curve(registry, calibration_date="2024-03-01", interval_days=365)
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.1)
    view = window.runner_view
    view.select_protocol("spo2-screening")
    view.operator.setText("nurse-li")
    assert not view.start_button.isEnabled()
    assert "BLOCKED" in view.calibrations.text() and expired in view.calibrations.text()
    assert expired in window.banner.text()
    assert not view.override_box.isHidden()

    # A QC protocol is not blocked by it.
    view.select_protocol("daily-qc")
    assert view.start_button.isEnabled() and view.override_box.isHidden()
    view.select_protocol("spo2-screening")

    # An override needs the approver's id, password and a reason.
    view.override_user.setText("boss")
    view.override_reason.setText("new curve due Monday; screening cannot wait")
    assert not view.start_button.isEnabled()
    view.override_password.setText("not-the-password")
    assert view.start_button.isEnabled()
    # The runner checks the credentials before any step runs.
    with qtbot.waitSignal(window.run_worker.failed, timeout=RUN_TIMEOUT_MS):
        view.start_button.click()
    assert "wrong password" in view.status.text()
    assert view.override_password.text() == ""
    assert not [e for e in registry.audit.entries() if e.action == "override"]

    view.override_password.setText(PASSWORDS["boss"])
    qtbot.waitUntil(view.start_button.isEnabled, timeout=30_000)
    with qtbot.waitSignal(view.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        view.start_button.click()
    outcome = finished.args[0]
    assert outcome.finished.status == "completed"
    record = read_run_record(outcome.finished.record_path)
    used = record.calibrations[expired]
    assert (used["state"], used["override_by"]) == ("expired", "boss")
    overrides = [e for e in registry.audit.entries() if e.action == "override"]
    assert [(e.user, e.record) for e in overrides] == [("boss", expired)]
    assert used["override_audit_hash"] == overrides[0].entry_hash
    window.close()


def test_runner_view_speaks_chinese(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.05)
    window.set_language("zh_CN")
    view = window.runner_view
    qtbot.waitUntil(lambda: view.start_button.text() != "Start", timeout=5000)
    assert view.start_button.text() == "开始"
    assert table(view.steps)[0][2] == "等待中"
    window.set_language("en")
    qtbot.waitUntil(lambda: view.start_button.text() == "Start", timeout=5000)
    window.close()


def test_pause_resume_and_abort_from_the_runner_view(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.05)
    view = window.runner_view
    view.select_protocol("daily-qc")
    view.operator.setText("qc-bot")

    def status(name):
        return {row[0]: row[2] for row in table(view.steps)}[name]

    view.start_button.click()
    qtbot.waitUntil(lambda: status("warm-up") == "running", timeout=RUN_TIMEOUT_MS)
    assert not view.start_button.isEnabled()
    view.pause_button.click()
    assert view.pause_button.text() == "Resume"
    # The runner holds at its next safe point (a warm-up poll): nothing moves on while paused.
    qtbot.wait(1500)
    assert (status("warm-up"), status("dark")) == ("running", "pending")
    view.pause_button.click()
    assert view.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: status("dark") != "pending", timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(view.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        view.abort_button.click()
    outcome = finished.args[0]
    assert outcome.finished.status == "aborted"
    assert status("report") == "pending"
    record = read_run_record(outcome.finished.record_path)
    assert record.metadata["status"] == "aborted"
    # Start comes back once the runner's thread has ended.
    qtbot.waitUntil(view.start_button.isEnabled, timeout=30_000)
    window.close()
