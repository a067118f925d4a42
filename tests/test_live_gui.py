"""The desktop app during a monitoring run: live vitals, the pulse traces and the alarms as
they happen; Abort ends the monitoring normally with a complete record."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from instrument.run_record import read_run_record
from tests.calibration_fixtures import approved_record, make_registry
from tests.test_gui_runs import RUN_TIMEOUT_MS, approved_spo2_curve, open_window, select

pytestmark = pytest.mark.timeout(240)


def test_monitoring_shows_live_vitals_and_stops_cleanly(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    approved_record(registry)
    approved_spo2_curve(registry)
    window = open_window(qtbot, registry, tmp_path, duration_scale=1.0)
    live = window.live_view
    window.tabs.setCurrentWidget(live)
    view = window.runner_view
    select(qtbot, view, "spo2-monitoring")
    view.operator.setText("nurse-li")
    view.start_button.click()

    def spo2_shown() -> bool:
        """The number on the live view (it comes with the live data, straight from the run's
        thread) and the vitals line of the runner view (a queued event)."""
        live.redraw()
        return live.vital_values["spo2_percent"].text() not in ("—", "") and (
            "SpO2" in view.step_message.text()
        )

    qtbot.waitUntil(spo2_shown, timeout=RUN_TIMEOUT_MS)
    assert "alarms:" in view.step_message.text()
    assert 85 <= float(live.vital_values["spo2_percent"].text()) <= 100
    assert 50 <= float(live.vital_values["pulse_rate_bpm"].text()) <= 100
    assert sorted(live.snapshot.traces) == [660.0, 940.0]  # the pulse waveforms
    # The monitoring step brought the monitoring view to the front; it shows the same second.
    monitoring = window.monitoring_view
    assert window.tabs.currentWidget() is monitoring and monitoring.state == "monitoring"
    qtbot.waitUntil(
        lambda: monitoring.values["spo2_percent"].text() not in ("—", ""), timeout=10_000
    )
    assert 85 <= float(monitoring.values["spo2_percent"].text()) <= 100
    with qtbot.waitSignal(view.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        view.abort_button.click()
    outcome = finished.args[0]
    assert outcome.finished.status == "completed"
    record = read_run_record(outcome.finished.record_path)
    assert record.metadata["status"] == "completed"
    assert record.results["monitoring"]["per_second_spo2_percent"].size >= 1
    window.close()
