"""The protocol runner on the simulated instrument: events, records, pause, abort, faults."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses
import json
import threading
import time

import pytest
from pypdf import PdfReader
from reportlab.platypus.doctemplate import LayoutError

from drivers.sim.faults import FaultPlan
from drivers.sim.scene import Scene
from instrument.config import load_config, simulated
from instrument.run_record import read_run_record
from protocols import runner as runner_module
from protocols.events import (
    LiveData,
    OperatorPrompt,
    QcResult,
    RunFailed,
    RunFinished,
    RunWarning,
    StepFinished,
    StepProgress,
    StepStarted,
)
from protocols.protocol_file import ProtocolError, parse_protocol
from protocols.runner import ProtocolRunner

pytestmark = pytest.mark.timeout(120)

TINY = """\
name: tiny
version: "1"
intended_use: research
device:
  led_pattern:
    - {{wavelength_nm: 660, drive_current_ma: 0.5}}
    - {{wavelength_nm: 940, drive_current_ma: 1.0}}
steps:
  - kind: dark_reference
    name: dark
    duration_s: 0.5
  - kind: acquire
    name: signal
    duration_s: {duration}
  - kind: analyse
    name: led
    analysis: led_signal
    source: signal
    dark: dark
  - kind: qc_gate
    name: led-power
    figure: led.min_signal_dn
    low: {low}
    stops_run: {stops}
  - kind: analyse
    name: dark-stats
    analysis: frame_statistics
    source: dark
  - kind: report
"""


def tiny(duration: float = 1.0, low: float = 10.0, stops: bool = False) -> str:
    return TINY.format(duration=duration, low=low, stops=str(stops).lower())


def make_runner(text: str, tmp_path, events: list, **options) -> ProtocolRunner:
    config, config_text = load_config(None)
    return ProtocolRunner(
        parse_protocol(text, "tiny.yaml"),
        simulated(config),
        tmp_path / "runs",
        "tester",
        options.pop("subject_id", ""),
        events.append,
        config_text=config_text,
        **options,
    )


def in_thread(runner: ProtocolRunner) -> tuple[threading.Thread, list[RunFinished]]:
    finished: list[RunFinished] = []
    thread = threading.Thread(target=lambda: finished.append(runner.run()))
    thread.start()
    return thread, finished


def wait_for(events: list, predicate, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not any(predicate(e) for e in list(events)):
        assert time.monotonic() < deadline, "the expected event never came"
        time.sleep(0.02)


def test_completed_run_events_record_summary_and_report(tmp_path):
    events: list = []
    runner = make_runner(tiny(), tmp_path, events, subject_id="MRN-0042")
    finished = runner.run()

    assert finished.status == "completed" and finished.qc_passed
    assert events[-1] == finished
    started = [e for e in events if isinstance(e, StepStarted)]
    done = [e for e in events if isinstance(e, StepFinished)]
    assert [e.name for e in started] == [
        "dark",
        "signal",
        "led",
        "led-power",
        "dark-stats",
        "report",
    ]
    assert [e.status for e in done] == ["passed"] * 6
    gate = next(e for e in events if isinstance(e, QcResult))
    assert gate.passed and gate.figure == "led.min_signal_dn" and gate.value > 10
    live = [e for e in events if isinstance(e, LiveData)]
    assert live and set(live[-1].traces) == {660.0, 940.0}
    assert live[-1].image is not None and live[-1].image.shape == (64, 64)

    record = read_run_record(finished.record_path)
    assert record.metadata["status"] == "completed"
    assert record.protocol["text"] == runner.protocol.text
    assert record.protocol["sha256"] == runner.protocol.sha256
    dark, signal = record.results["dark"], record.results["signal"]
    assert dark["first_frame"] == 0 and signal["first_frame"] == dark["frames"]
    assert len(record.frames) == dark["frames"] + signal["frames"] == 100 + 200
    # The dark frames are the sensor's black level; the LED frames are far above it.
    black_level = Scene(0).truth(0.0)["sensor"]["black_level_dn"]
    dark_frames = record.frames[: dark["frames"]].astype(float)
    assert abs(dark_frames.mean() - black_level) < 2.0
    assert record.frames[dark["frames"] :].mean() > dark_frames.mean() + 100
    led = json.loads(record.results["led"]["results_json"])
    assert led["min_signal_dn"] == min(led["signal_660_dn"], led["signal_940_dn"])
    assert record.results["dark-stats"]["mean_frame_dn"].shape == (64, 64)

    summary = json.loads(finished.summary_json.read_text())
    assert summary["status"] == "completed" and summary["qc_passed"] is True
    assert summary["record"] == str(finished.record_path)
    assert summary["subject_pseudonym"].startswith("sub-")
    assert "MRN-0042" not in finished.summary_json.read_text()
    assert "MRN-0042" not in json.dumps(record.metadata)
    text = "".join(page.extract_text() for page in PdfReader(finished.report_pdf).pages)
    assert "MRN-0042" in text and "led.min_signal_dn" in text and "PASS" in text


def test_abort_mid_acquisition_leaves_a_valid_aborted_record(tmp_path):
    events: list = []
    runner = make_runner(tiny(duration=30.0), tmp_path, events)
    thread, finished = in_thread(runner)
    wait_for(events, lambda e: isinstance(e, StepProgress) and e.index == 1 and e.fraction > 0.02)
    runner.abort()
    thread.join(30)

    assert finished[0].status == "aborted" and not finished[0].qc_passed
    assert any(isinstance(e, RunFailed) and "aborted" in e.message for e in events)
    record = read_run_record(finished[0].record_path)
    assert record.metadata["status"] == "aborted"
    assert record.metadata["error"] == "aborted by the operator"
    signal = record.results["signal"]
    assert signal["status"] == "aborted"
    assert 0 < signal["frames"] < 30 * 200
    assert len(record.frames) == record.results["dark"]["frames"] + signal["frames"]
    assert set(record.results) == {"dark", "signal"}
    summary = json.loads(finished[0].summary_json.read_text())
    assert summary["status"] == "aborted"
    assert [s["status"] for s in summary["steps"]][2:] == ["not run"] * 4
    assert finished[0].report_pdf.read_bytes().startswith(b"%PDF")


def test_device_fault_mid_run_leaves_a_valid_aborted_record(tmp_path):
    events: list = []
    runner = make_runner(
        tiny(duration=20.0), tmp_path, events, sim_fault=FaultPlan.parse("unplug@2")
    )
    finished = runner.run()

    assert finished.status == "aborted"
    record = read_run_record(finished.record_path)
    assert record.metadata["status"] == "aborted"
    assert record.metadata["error"].startswith("device fault: ")
    assert record.results["signal"]["status"] == "aborted"
    assert 0 < len(record.frames) < 100 + 20 * 200
    summary = json.loads(finished.summary_json.read_text())
    assert summary["status"] == "aborted" and summary["error"].startswith("device fault")


def test_pause_holds_the_run_and_a_failing_gate_that_stops_it_ends_it(tmp_path):
    events: list = []
    runner = make_runner(tiny(duration=0.5, low=1e6, stops=True), tmp_path, events)

    def pause_after_dark(event) -> None:
        events.append(event)
        if isinstance(event, StepFinished) and event.name == "dark":
            runner.pause()

    runner.on_event = pause_after_dark
    thread, finished = in_thread(runner)
    wait_for(events, lambda e: isinstance(e, StepFinished) and e.name == "dark")
    time.sleep(1.0)
    assert runner.paused
    assert not any(isinstance(e, StepStarted) and e.name == "signal" for e in events)
    runner.resume()
    thread.join(60)

    assert finished[0].status == "failed" and not finished[0].qc_passed
    gate = next(e for e in events if isinstance(e, QcResult))
    assert not gate.passed and gate.stops_run
    record = read_run_record(finished[0].record_path)
    assert record.metadata["status"] == "aborted"
    assert "led-power failed: led.min_signal_dn" in record.metadata["error"]
    assert "dark-stats" not in record.results
    summary = json.loads(finished[0].summary_json.read_text())
    assert [s["status"] for s in summary["steps"]] == [
        "passed",
        "passed",
        "passed",
        "failed",
        "not run",
        "not run",
    ]


def test_device_settings_that_do_not_fit_are_refused_before_any_hardware(tmp_path):
    text = tiny().replace("device:\n", "device:\n  integration_time_us: 10000\n")
    runner = make_runner(text, tmp_path, [])
    with pytest.raises(ProtocolError, match="exceeds the frame period"):
        runner.run()
    assert not (tmp_path / "runs").exists()


def test_duration_scale_outside_zero_to_one_is_refused(tmp_path):
    with pytest.raises(ValueError, match="duration scale"):
        make_runner(tiny(), tmp_path, [], duration_scale=2.0)


def test_abort_then_pause_ends_the_run_and_pause_after_abort_does_nothing(tmp_path):
    events: list = []
    runner = make_runner(tiny(duration=30.0), tmp_path, events)
    thread, finished = in_thread(runner)
    wait_for(events, lambda e: isinstance(e, StepProgress) and e.index == 1 and e.fraction > 0.02)
    runner.abort()
    runner.pause()
    assert runner.aborted and not runner.paused
    thread.join(30)

    assert not thread.is_alive()
    assert finished[0].status == "aborted"
    assert read_run_record(finished[0].record_path).metadata["status"] == "aborted"


def test_an_abort_ends_a_paused_run(tmp_path):
    events: list = []
    runner = make_runner(tiny(duration=0.5), tmp_path, events)

    def pause_after_dark(event) -> None:
        events.append(event)
        if isinstance(event, StepFinished) and event.name == "dark":
            runner.pause()

    runner.on_event = pause_after_dark
    thread, finished = in_thread(runner)
    wait_for(events, lambda e: isinstance(e, StepFinished) and e.name == "dark")
    runner.abort()
    thread.join(30)
    assert not thread.is_alive() and finished[0].status == "aborted"


def test_a_report_that_cannot_be_written_is_a_warning_and_the_summary_is_kept(
    tmp_path, monkeypatch
):
    def failing_report(*args, **kwargs):
        raise LayoutError("Flowable too large on page 1")

    monkeypatch.setattr(runner_module, "write_report", failing_report)
    events: list = []
    finished = make_runner(tiny(duration=0.5), tmp_path, events).run()

    assert finished.status == "completed" and events[-1] == finished
    assert finished.report_pdf is None
    assert any(
        isinstance(e, RunWarning) and "LayoutError: Flowable too large" in e.message for e in events
    )
    summary = json.loads(finished.summary_json.read_text())
    assert summary["status"] == "completed" and summary["report_pdf"] is None
    assert not list((tmp_path / "runs").glob("*.pdf"))


def test_very_long_text_in_the_report_is_wrapped_and_cut(tmp_path):
    operator = "\n".join(f"operator line {i} " + "x" * 90 for i in range(120))
    events: list = []
    config, config_text = load_config(None)
    runner = ProtocolRunner(
        parse_protocol(tiny(duration=0.5), "tiny.yaml"),
        simulated(config),
        tmp_path / "runs",
        operator,
        "S" * 500,
        events.append,
        config_text=config_text,
    )
    finished = runner.run()

    assert not [e for e in events if isinstance(e, RunWarning)]
    text = "".join(page.extract_text() for page in PdfReader(finished.report_pdf).pages)
    assert "operator line 0" in text and "operator line 119" not in text
    assert "S" * 40 in text and "S" * 500 not in text.replace("\n", "")


def test_the_runner_view_disables_pause_once_abort_is_pressed(qtbot, tmp_path):
    from PySide6.QtWidgets import QApplication

    from gui.app import make_context
    from gui.i18n import Languages
    from gui.main_window import MainWindow
    from tests.calibration_fixtures import make_registry

    registry = make_registry(tmp_path / "registry")
    context = dataclasses.replace(
        make_context(None, True, registry.root, tmp_path / "runs"), duration_scale=0.05
    )
    window = MainWindow(context, Languages(QApplication.instance()))
    qtbot.addWidget(window)
    window.show()
    view = window.runner_view
    view.select_protocol("daily-qc")
    view.operator.setText("qc-bot")
    view.start_button.click()
    qtbot.waitUntil(view.pause_button.isEnabled, timeout=30_000)
    runner = view.runner
    with qtbot.waitSignal(view.run_finished, timeout=60_000) as finished:
        view.abort_button.click()
        assert not view.pause_button.isEnabled()
        view.pause_button.click()  # a disabled button does nothing
        assert runner is not None and runner.aborted and not runner.paused
    assert finished.args[0].finished.status == "aborted"
    window.close()


PROMPTED = """\
name: prompted
version: "1"
intended_use: research
device:
  led_pattern:
    - {wavelength_nm: 660, drive_current_ma: 0.5}
steps:
  - kind: prompt
    name: place
    message: Place the probe on the forearm.
  - kind: acquire
    name: signal
    duration_s: 0.5
"""


def test_a_prompt_holds_the_run_until_the_operator_confirms(tmp_path):
    events: list = []
    runner = make_runner(PROMPTED, tmp_path, events)
    thread, finished = in_thread(runner)
    wait_for(events, lambda e: isinstance(e, OperatorPrompt))
    prompt = next(e for e in events if isinstance(e, OperatorPrompt))
    assert (prompt.index, prompt.name) == (0, "place")
    assert prompt.message == "Place the probe on the forearm."
    time.sleep(0.5)
    assert not any(isinstance(e, StepStarted) and e.name == "signal" for e in events)
    runner.confirm()
    thread.join(60)
    assert finished[0].status == "completed"
    summary = json.loads(finished[0].summary_json.read_text())
    assert summary["steps"][0]["results"] == {"confirmed_by": "operator"}


def test_an_abort_while_a_prompt_waits_ends_the_run_with_its_record(tmp_path):
    events: list = []
    runner = make_runner(PROMPTED, tmp_path, events)
    thread, finished = in_thread(runner)
    wait_for(events, lambda e: isinstance(e, OperatorPrompt))
    runner.abort()
    thread.join(60)
    assert finished[0].status == "aborted"
    assert read_run_record(finished[0].record_path).metadata["status"] == "aborted"
    summary = json.loads(finished[0].summary_json.read_text())
    assert [s["status"] for s in summary["steps"]] == ["aborted", "not run"]


def test_prompts_confirmed_by_the_run_itself_for_headless_use(tmp_path):
    events: list = []
    finished = make_runner(PROMPTED, tmp_path, events, confirm_prompts=True).run()
    assert finished.status == "completed"
    assert any(isinstance(e, OperatorPrompt) for e in events)
    summary = json.loads(finished.summary_json.read_text())
    assert summary["steps"][0]["results"] == {"confirmed_by": "automatic"}


def test_a_script_without_a_listener_cannot_start_a_protocol_that_waits_for_the_operator():
    config, _ = load_config(None)
    with pytest.raises(ValueError, match="waits for the operator at steps place"):
        ProtocolRunner(parse_protocol(PROMPTED, "p.yaml"), simulated(config), "runs")
