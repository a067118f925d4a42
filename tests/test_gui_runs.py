"""Protocol runs driven through the desktop app offscreen, on the simulated instrument: what the
app shows must be what the run record holds."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
import json

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from calibration.registry import Registry
from gui.app import make_context
from gui.i18n import Languages
from gui.main_window import MainWindow
from gui.results_view import figure_unit, value_text
from gui.runner_view import step_seconds
from instrument.run_record import read_run_record
from protocols.events import RunFinished, StepStarted
from protocols.protocol_file import load_protocol
from tests.calibration_fixtures import PASSWORDS, approved_record, make_content, make_registry
from tests.gui_texts import untranslated, visible_texts

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


def open_window(qtbot, registry, tmp_path, duration_scale, simulator=None):
    """The app on the simulated instrument; ``simulator`` overrides its settings (scenario,
    speed, …)."""
    context = dataclasses.replace(
        make_context(None, True, registry.root, tmp_path / "runs"), duration_scale=duration_scale
    )
    if simulator:
        config = context.config
        config = config.model_copy(
            update={"simulator": config.simulator.model_copy(update=simulator)}
        )
        context = dataclasses.replace(context, config=config)
    window = MainWindow(context, Languages(QApplication.instance()))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.calibration_checks > 0, timeout=10_000)
    return window


def select(qtbot, view, name):
    """Select a protocol in the runner view and wait for its calibration check (thread pool)."""
    view.select_protocol(name)
    qtbot.waitUntil(lambda: not view.calibrations_pending, timeout=10_000)


def run_protocol(qtbot, window, name, operator, subject=""):
    """Start ``name`` from the runner view; count heartbeat ticks until the run ends."""
    view = window.runner_view
    select(qtbot, view, name)
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
    # Connected from the instrument panel first: the run takes the devices over.
    panel, live, session = window.instrument_panel, window.live_view, window.session
    with qtbot.waitSignal(session.opened, timeout=RUN_TIMEOUT_MS):
        panel.connect_button.click()
    qtbot.waitUntil(lambda: panel.temperature_c is not None, timeout=10_000)

    def controls() -> tuple[bool, bool, bool]:
        buttons = (panel.connect_button, panel.disconnect_button, live.start_button)
        return tuple(button.isEnabled() for button in buttons)

    during_run, session_failures = [], []
    window.run_worker.run_event.connect(
        lambda event: isinstance(event, RunFinished) or during_run.append(controls())
    )
    # A temperature poll due just as the run starts waits for the devices instead of racing
    # the run for them.
    window.run_worker.run_event.connect(
        lambda event: (
            isinstance(event, StepStarted) and event.index == 0 and session.read_temperature()
        )
    )
    session.failed.connect(session_failures.append)
    outcome, ticks = run_protocol(qtbot, window, "daily-qc", "qc-bot")
    finished = outcome.finished
    assert finished.status == "completed"
    # No second acquisition on the same devices while the run holds them; afterwards the
    # session is disconnected and the buttons say so.
    assert during_run and set(during_run) == {(False, False, False)}
    qtbot.waitUntil(lambda: controls() == (True, False, False), timeout=10_000)
    assert not session.is_open and not session.busy
    assert session_failures == []
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
        [step, name, value_text(float(value)), figure_unit(name)]
        for step, figures in stored.items()
        for name, value in figures.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    assert sorted(table(results.figures)) == sorted(expected)
    # Independently of the stored figures: the dark level from the dark step's raw frames.
    dark = record.results["dark"]
    first, count = int(dark["first_frame"]), int(dark["frames"])
    dark_level = record.frames[first : first + count].mean()
    shown = {(row[0], row[1]): row[2] for row in table(results.figures)}
    assert float(shown[("dark-stats", "mean_dn")]) == pytest.approx(dark_level, rel=1e-3)
    assert float(dict((r[0], r[2]) for r in shown_qc)["dark-level"]) == pytest.approx(
        dark_level, rel=1e-3
    )
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
    detector = approved_record(registry)
    curve = approved_spo2_curve(registry)
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.1)
    live = window.live_view
    # The calibrations the protocol needs are named by kind, record and state.
    select(qtbot, window.runner_view, "spo2-screening")
    shown = window.runner_view.calibrations.text()
    assert f"detector-characterisation: {detector} approved" in shown
    assert f"spo2-curve: {curve} approved" in shown
    window.tabs.setCurrentWidget(live)
    outcome, ticks = run_protocol(qtbot, window, "spo2-screening", "nurse-li", "MRN-0042")
    finished = outcome.finished
    assert finished.status == "completed"
    record = read_run_record(finished.record_path)
    oximetry = step_results(record)["oximetry"]
    assert record.metadata["subject_pseudonym"].startswith("sub-")
    assert "MRN-0042" not in json.dumps(record.metadata, default=str)
    # Nor in the stored results, the JSON summary or the app's texts (the PDF report prints
    # the identifier as typed, for the clinician).
    assert "MRN-0042" not in json.dumps(record.results, default=str)
    assert "MRN-0042" not in finished.summary_json.read_text()
    view = window.runner_view
    shown_texts = [view.messages.item(row).text() for row in range(view.messages.count())]
    shown_texts += [view.status.text(), view.step_message.text()]
    shown_texts += [cell for row in table(window.results_view.figures) for cell in row]
    assert not [text for text in shown_texts if "MRN-0042" in text]

    # Live frames were drawn while acquiring, throttled to 10 Hz (one redraw per 20 frames).
    assert 5 <= live.redraws <= record.frames.shape[0] // 15
    # The event loop kept serving a 20 ms timer through a ≥ 6 s acquisition (≥ 300 periods).
    assert ticks >= 50
    live.redraw()
    # The protocol's 850 nm step is dark (LED at 0 mA): no trace, never the image. The traces
    # are the lit frames' means in record order, each sample once (no overlapping windows).
    dark = record.wavelength_nm == 850
    assert record.frames[dark].mean() < 0.5 * record.frames[~dark].mean()
    np.testing.assert_array_equal(live.snapshot.image, record.frames[~dark][-1])
    assert sorted(live.snapshot.traces) == [660.0, 940.0]
    for wavelength, trace in live.snapshot.traces.items():
        means = record.frames[record.wavelength_nm == wavelength].mean(axis=(1, 2))
        assert len(trace) == min(len(means), live.live.window_samples)
        np.testing.assert_allclose(trace, means[-len(trace) :], rtol=1e-12)
        # Against the frames' own times (s since the run started), drawn as such.
        times = record.time_s[record.wavelength_nm == wavelength][-len(trace) :]
        np.testing.assert_allclose(live.snapshot.trace_times_s[wavelength], times, rtol=1e-12)
        np.testing.assert_array_equal(live.curves[wavelength].xData, times)
    assert live.traces.getPlotItem().getAxis("bottom").labelText == "Time (s)"
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
    assert figures[("oximetry", "spo2_percent")] == value_text(float(oximetry["spo2_percent"]))
    window.close()


def test_expired_calibration_blocks_the_clinical_protocol_until_an_approver_overrides(
    qtbot, tmp_path
):
    registry = make_registry(tmp_path / "registry")
    approved_record(registry)
    expired = approved_spo2_curve(registry, calibration_date="2024-03-01", interval_days=365)
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.1)
    view = window.runner_view
    select(qtbot, view, "spo2-screening")
    view.operator.setText("nurse-li")
    assert not view.start_button.isEnabled()
    assert "BLOCKED" in view.calibrations.text() and expired in view.calibrations.text()
    assert expired in window.banner.text()
    assert not view.override_box.isHidden()

    # A QC protocol is not blocked by it.
    select(qtbot, view, "daily-qc")
    assert view.start_button.isEnabled() and view.override_box.isHidden()
    select(qtbot, view, "spo2-screening")

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
    # In Chinese, the app's framing of the runner's (English) refusal is translated.
    window.set_language("zh_CN")
    qtbot.waitUntil(lambda: view.start_button.text() == "开始", timeout=5000)
    assert view.status.text().startswith("运行被拒绝或失败：")
    assert view.messages.item(0).text().startswith("错误：")
    assert "wrong password" in view.messages.item(0).text()
    window.set_language("en")
    qtbot.waitUntil(lambda: view.start_button.text() == "Start", timeout=5000)
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
    assert window.results_view.trend_plots[0].getAxis("bottom").labelText == "时间（秒）"
    window.set_language("en")
    qtbot.waitUntil(lambda: view.start_button.text() == "Start", timeout=5000)
    window.close()


def test_pause_resume_and_abort_from_the_runner_view(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.05)
    view = window.runner_view
    select(qtbot, view, "daily-qc")
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


def test_closing_during_a_run_asks_then_aborts_and_closes_when_the_run_has_ended(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.05)
    view = window.runner_view
    select(qtbot, view, "daily-qc")
    view.operator.setText("qc-bot")
    finished = []
    view.run_finished.connect(finished.append)
    view.start_button.click()
    qtbot.waitUntil(lambda: window.run_worker.busy and view.runner is not None, timeout=10_000)

    window.close()  # asks; "No" keeps the run going
    assert window.isVisible() and window.close_question.isVisible()
    window.close_question.button(QMessageBox.StandardButton.No).click()
    assert window.isVisible() and not view.runner.aborted

    window.close()
    window.close_question.button(QMessageBox.StandardButton.Yes).click()
    assert window.isVisible()  # until the run has stopped, with the event loop running
    assert window.statusBar().currentMessage().startswith("Aborting the run")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=RUN_TIMEOUT_MS)
    assert not window.run_worker.busy
    (outcome,) = finished
    assert outcome.finished.status == "aborted"
    assert read_run_record(outcome.finished.record_path).metadata["status"] == "aborted"


def test_the_run_waits_at_each_operator_prompt_until_continue_is_pressed(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    approved_record(registry)
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.2)
    view = window.runner_view
    select(qtbot, view, "dot-lesion-scan")
    view.operator.setText("tech")
    statuses = {}

    def shown(expected: str) -> bool:
        return not view.prompt_box.isHidden() and expected in view.prompt_text.text()

    with qtbot.waitSignal(view.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        view.start_button.click()
        for step, expected in (
            ("place-reference", "healthy contralateral side"),
            ("place-scan", "region under examination"),
        ):
            window.tabs.setCurrentWidget(window.live_view)
            qtbot.waitUntil(lambda expected=expected: shown(expected), timeout=RUN_TIMEOUT_MS)
            # Wherever the operator was looking, the prompt comes to the front.
            assert window.tabs.currentWidget() is view
            qtbot.wait(300)  # the run stays at the prompt
            statuses = {row[0]: row[2] for row in table(view.steps)}
            assert statuses[step] == "running" and shown(expected)
            view.continue_button.click()
            assert view.prompt_box.isHidden()
    outcome = finished.args[0]
    assert outcome.finished.status == "completed"
    record = read_run_record(outcome.finished.record_path)
    results = step_results(record)
    assert results["place-reference"] == results["place-scan"] == {"confirmed_by": "operator"}
    assert {row[0]: row[2] for row in table(view.steps)}["dot"] == "passed"


def test_a_refused_clinical_run_is_a_refusal_and_the_history_opens_an_older_run(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    approved_record(registry)  # no spo2-curve: a screening is refused
    window = open_window(qtbot, registry, tmp_path, duration_scale=0.05)
    qc_outcome, _ = run_protocol(qtbot, window, "daily-qc", "qc-bot")
    assert qc_outcome.finished.status == "completed"
    results, view, history = window.results_view, window.runner_view, window.history
    shown_before = table(results.figures)
    # The progress went by time; the form is ready for the next subject.
    assert view.time_label.text().startswith("Elapsed ")
    assert view.progress.value() == view.progress.maximum()
    assert view.subject.text() == ""
    assert shown_before and results.open_pdf_button.isEnabled()

    assert view.qc.rowCount() > 0 and view.status.text()
    select(qtbot, view, "spo2-screening")
    # The daily QC's gates, messages and status line are not carried over to the next protocol.
    assert view.qc.rowCount() == 0 and view.messages.count() == 0
    assert view.status.text() == "" and view.progress.value() == 0
    view.operator.setText("nurse-li")
    # A missing calibration cannot be overridden: no override box, Start stays disabled.
    assert "BLOCKED" in view.calibrations.text()
    assert view.override_box.isHidden() and not view.start_button.isEnabled()
    view.override_user.setText("boss")
    view.override_password.setText(PASSWORDS["boss"])
    view.override_reason.setText("urgent")
    assert not view.start_button.isEnabled() and view.override() is None
    # Started by other means than the (disabled) button, the runner refuses it.
    with qtbot.waitSignal(view.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        view.start()
    refused = finished.args[0]
    assert refused.refused and refused.finished.record_path is None
    assert view.status.text().startswith("Run refused, nothing was measured:")
    assert "spo2-curve" in view.status.text() and "QC not passed" not in view.status.text()
    # The results of the daily QC stay shown.
    assert table(results.figures) == shown_before
    assert results.outcome is not None and results.outcome.name == "daily-qc"
    assert results.open_pdf_button.isEnabled()

    # The history lists both runs, newest first, the refusal as such.
    qtbot.waitUntil(lambda: history.table.rowCount() == 2, timeout=10_000)
    rows = table(history.table)
    assert [(row[1], row[3]) for row in rows] == [
        ("spo2-screening", "refused"),
        ("daily-qc", "completed"),
    ]
    assert rows[1][4] == qc_outcome.finished.record_path.name
    # Opening the refused run shows the refusal; opening the older run shows its results.
    history.open_run(0)
    assert results.verdict.text().startswith("REFUSED")
    assert results.figures.rowCount() == 0
    assert results.outcome.finished.report_pdf == refused.finished.report_pdf  # its refusal
    history.open_run(1)
    assert window.tabs.currentWidget() is results
    assert results.verdict.text().startswith("RESULTS VALID")
    assert sorted(table(results.figures)) == sorted(shown_before)
    assert results.open_pdf_button.isEnabled() and history.pdf_button.isEnabled()
    assert history.record_button.isEnabled()
    record = read_run_record(qc_outcome.finished.record_path)
    qtbot.waitUntil(lambda: "dark.mean_frame_dn" in results.map_items, timeout=30_000)
    assert results.arrays.keys() == record.results.keys()

    # After both runs, in Chinese: no English left in the runner, the results or the history
    # (identifiers such as protocol and step names, figure names and file names aside).
    identifiers = {"spo2-screening", "daily-qc", "spo2-curve", "sim"}
    for protocol in (qc_outcome.protocol, refused.protocol):
        identifiers |= {part for step in protocol.steps for part in (step.name, step.kind)}
    identifiers |= {name for figures in stored_figures(qc_outcome) for name in figures}
    window.set_language("zh_CN")
    try:
        qtbot.waitUntil(lambda: view.start_button.text() == "开始", timeout=5000)
        for shown in (view, results, history):
            window.tabs.setCurrentWidget(shown)
            assert untranslated(visible_texts(shown), identifiers) == []
        assert view.status.text().startswith("运行被拒绝，未进行任何测量：")
        assert "校准登记库" in view.status.text()  # the runner's reason, translated
    finally:
        window.set_language("en")
    window.close()


def stored_figures(outcome) -> list[dict]:
    return list(outcome.step_results.values())


def test_figures_have_units_and_integers_stay_integers():
    assert value_text(12000.0) == "12000"
    assert value_text(97.25) == "97.25"
    assert value_text(float("nan")) == "—"
    units = {
        name: figure_unit(name)
        for name in (
            "spo2_percent",
            "pulse_rate_bpm",
            "board_temperature_c",
            "signal_quality",
            "frames",
            "dark_noise_dn_uncertainty",
            "dark_current_e_per_s",
            "report_lag_p99_s",
            "processing_p50_ms",
            "hbt_um",
        )
    }
    assert units == {
        "spo2_percent": "%",
        "pulse_rate_bpm": "bpm",
        "board_temperature_c": "°C",
        "signal_quality": "0–1",
        "frames": "",
        "dark_noise_dn_uncertainty": "DN",
        "dark_current_e_per_s": "e⁻/s",
        "report_lag_p99_s": "s",
        "processing_p50_ms": "ms",
        "hbt_um": "µM",
    }


def test_progress_counts_the_acquisition_time_of_each_step():
    protocol = load_protocol("spo2-screening")
    names = [step.name for step in protocol.steps]
    seconds = dict(zip(names, step_seconds(protocol, 0.5), strict=True))
    by_name = {step.name: step for step in protocol.steps}
    assert seconds["ppg"] == pytest.approx(0.5 * by_name["ppg"].duration_s)
    assert seconds["settle"] == pytest.approx(0.5 * by_name["settle"].window_s)
    # Steps that only compute or check take no share of the bar.
    assert seconds["oximetry"] == 0.0 and seconds["check_calibrations"] == 0.0
