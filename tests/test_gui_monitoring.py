"""The monitoring view: vital signs with units and alarm limits, withheld and stale values,
alarms in their IEC 60601-1-8 priority colours, Acknowledge and Pause wired to the runner, and
a whole spo2-monitoring run on the simulated patient whose alarm is acknowledged from the view
and logged in the record."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import math
import re

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from gui.i18n import Languages
from gui.live_buffer import LiveBuffer
from gui.monitoring_view import MonitoringView
from instrument.run_record import read_run_record
from protocols.events import LiveSamples, LiveVitals, RunFinished, StepFinished, StepStarted
from protocols.protocol_file import load_protocol
from tests.calibration_fixtures import approved_record, make_registry
from tests.gui_texts import untranslated, visible_texts
from tests.test_gui_runs import RUN_TIMEOUT_MS, approved_spo2_curve, open_window, select

pytestmark = pytest.mark.timeout(240)

SPEED = 3.0
"""Simulated clock rate, × real time (as the command-line monitoring tests)."""
PERIOD_S = 60.0
"""Monitoring duration and the desaturation scenario's period, s: SpO2 crosses 90 % at about
12 s and is back above it at about 48 s."""
NAN = math.nan


def hue_of(item) -> tuple[int, int]:
    """(hue in degrees, saturation 0–255) of a table item's background."""
    colour = item.background().color()
    return colour.hsvHue(), colour.hsvSaturation()


def is_red(item) -> bool:
    hue, saturation = hue_of(item)
    return saturation > 150 and (hue <= 15 or hue >= 345)


def is_yellow(item) -> bool:
    hue, saturation = hue_of(item)
    return saturation > 150 and 45 <= hue <= 65


def is_cyan(item) -> bool:
    hue, saturation = hue_of(item)
    return saturation > 150 and 175 <= hue <= 200


def value_background(view: MonitoringView, name: str) -> str | None:
    """The colour family of a big value's background (None when it has none)."""
    found = re.search(r"background: (#[0-9a-fA-F]{6})", view.values[name].styleSheet())
    if found is None:
        return None
    colour = QColor(found.group(1))
    hue, saturation = colour.hsvHue(), colour.hsvSaturation()
    if saturation < 150:
        return "grey"
    if hue <= 15 or hue >= 345:
        return "red"
    return "yellow" if 45 <= hue <= 65 else "cyan" if 175 <= hue <= 200 else "other"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def second(time_s, spo2=97.0, rate=72.0, perfusion=1.5, quality=0.9, stale=False, alarms=()):
    return LiveVitals(
        step="monitoring",
        time_s=time_s,
        spo2_percent=spo2,
        pulse_rate_bpm=rate,
        perfusion_index_percent=perfusion,
        signal_quality=quality,
        stale=stale,
        probe_off=False,
        alarms=tuple(
            {"condition": c, "priority": p, "category": "physiological", "acknowledged": a}
            for c, p, a in alarms
        ),
    )


@pytest.fixture
def monitoring(qtbot):
    """A monitoring view following a started spo2-monitoring run, on a hand-moved clock."""
    clock = Clock()
    view = MonitoringView(LiveBuffer(), duration_scale=0.5, clock=clock)
    qtbot.addWidget(view)
    view.show()
    protocol = load_protocol("spo2-monitoring").with_monitor_duration(120.0)
    view.start(protocol)
    index = [step.kind for step in protocol.steps].index("monitor")
    view.on_event(StepStarted(index, "monitoring", "monitor"))
    return view, clock, index


def shown(view: MonitoringView) -> dict[str, tuple[str, str]]:
    """Each vital's (value, state tag) as shown; the tag empty when hidden."""
    return {
        name: (
            view.values[name].text(),
            view.value_states[name].text() if view.value_states[name].isVisibleTo(view) else "",
        )
        for name in view.values
    }


def test_values_with_units_and_limits_withheld_and_stale_never_current(qtbot, monitoring):
    view, clock, index = monitoring
    assert [view.captions[n].text() for n in view.captions] == [
        "SpO2 (%)",
        "Pulse rate (bpm)",
        "Perfusion index (%)",
    ]
    # The shipped protocol's limits, and its pause time on the button.
    assert view.limits["spo2_percent"].text() == "Alarm below 90 %"
    assert view.limits["pulse_rate_bpm"].text() == "Alarm below 50 or above 120 bpm"
    assert view.limits["perfusion_index_percent"].text() == "No alarm limit"
    assert view.pause_button.text() == "Pause alarms (120 s)"

    view.on_event(second(12.0, spo2=96.6, rate=71.6, perfusion=1.234, quality=0.87))
    assert shown(view) == {
        "spo2_percent": ("97", ""),
        "pulse_rate_bpm": ("72", ""),
        "perfusion_index_percent": ("1.23", ""),
    }
    assert view.quality.format() == "0.87" and view.quality.value() == 87
    # 120 s set, halved by the app's duration scale: 60 s in all.
    assert view.time_label.text() == "Monitoring time 0:12 · 0:48 left"

    # SpO2 withheld: a dash marked withheld, the other values stay current.
    view.on_event(second(13.0, spo2=NAN, rate=74.0))
    assert shown(view)["spo2_percent"] == ("—", "withheld")
    assert shown(view)["pulse_rate_bpm"] == ("74", "")

    # No new second for longer than the protocol's stale time: greyed, marked stale.
    clock.now += 29.0
    view.refresh()
    assert shown(view)["pulse_rate_bpm"] == ("74", "")
    clock.now += 2.0
    view.refresh()
    assert shown(view) == {
        "spo2_percent": ("97", "stale"),
        "pulse_rate_bpm": ("74", "stale"),
        "perfusion_index_percent": ("1.50", "stale"),
    }
    assert "#9e9e9e" in view.values["pulse_rate_bpm"].styleSheet()
    assert view.status.text().startswith("STALE")
    assert view.quality.format() == "—"
    # The runner's own stale flag is shown the same way.
    view.on_event(second(14.0, spo2=NAN, rate=NAN, stale=True))
    assert shown(view)["pulse_rate_bpm"] == ("74", "stale")
    view.on_event(second(15.0, spo2=95.0))
    assert shown(view)["spo2_percent"] == ("95", "")
    assert "#1565c0" in view.values["spo2_percent"].styleSheet()

    # After the monitoring step: the last values, marked ended; no alarm buttons.
    view.on_event(StepFinished(index, "monitoring", "passed"))
    assert shown(view)["spo2_percent"] == ("95", "ended")
    assert view.status.text().startswith("Monitoring ended")
    assert not any(
        b.isEnabled() for b in (view.acknowledge_button, view.pause_button, view.stop_button)
    )


def test_alarms_in_priority_colours_and_the_buttons_ask_the_runner(qtbot, monitoring):
    view, _, _ = monitoring
    asked = []
    view.acknowledge_requested.connect(lambda: asked.append("acknowledge"))
    view.pause_requested.connect(lambda: asked.append("pause"))
    view.stop_requested.connect(lambda: asked.append("stop"))
    assert view.no_alarms.text() == "No active alarms" and view.alarms.isHidden()
    assert not view.acknowledge_button.isEnabled()

    view.on_event(second(20.0, alarms=[("signal_inadequate", "low", False)]))
    view.on_event(
        second(
            21.0,
            spo2=86.0,
            alarms=[
                ("signal_inadequate", "low", False),
                ("pulse_rate_high", "medium", False),
                ("spo2_low", "high", False),
            ],
        )
    )
    rows = [
        [view.alarms.item(row, column).text() for column in range(4)]
        for row in range(view.alarms.rowCount())
    ]
    # Highest priority first; each since the second it was first listed.
    assert rows == [
        ["SpO2 low", "high", "0:21", "active"],
        ["Pulse rate high", "medium", "0:21", "active"],
        ["Signal inadequate", "low", "0:20", "active"],
    ]
    assert all(is_red(view.alarms.item(0, column)) for column in range(4))
    # The values the alarms concern are shown in the alarms' colours; the others are not.
    assert value_background(view, "spo2_percent") == "red"
    assert value_background(view, "pulse_rate_bpm") == "yellow"
    assert value_background(view, "perfusion_index_percent") is None
    assert all(is_yellow(view.alarms.item(1, column)) for column in range(4))
    assert all(is_cyan(view.alarms.item(2, column)) for column in range(4))
    assert not is_red(view.alarms.item(1, 0)) and not is_cyan(view.alarms.item(1, 0))

    view.acknowledge_button.click()
    assert asked == ["acknowledge"]
    # Shown acknowledged only once the runner says so.
    assert view.alarms.item(0, 3).text() == "active"
    view.on_event(
        second(
            22.0,
            spo2=86.0,
            alarms=[("spo2_low", "high", True), ("pulse_rate_high", "medium", True)],
        )
    )
    assert [view.alarms.item(row, 3).text() for row in range(2)] == ["acknowledged"] * 2
    assert is_red(view.alarms.item(0, 0))  # still listed in its colour
    assert not view.acknowledge_button.isEnabled()

    view.pause_button.click()
    assert asked == ["acknowledge", "pause"]
    assert view.paused_label.text() == "Alarms paused until 2:22"
    assert not view.pause_button.isEnabled()
    view.on_event(second(142.0))
    assert view.paused_label.isHidden() and view.pause_button.isEnabled()
    view.stop_button.click()
    assert asked == ["acknowledge", "pause", "stop"]

    # A run refused before its monitor step leaves the view idle.
    view.start(load_protocol("spo2-monitoring"))
    view.on_event(RunFinished("failed", None, None, None, False))
    assert view.state == "idle" and view.status.text().startswith("No monitoring is running")


def test_the_pulse_waveform_is_drawn_against_time_in_seconds(qtbot, monitoring):
    view, _, _ = monitoring
    rate = 66.0
    time_s = np.arange(0, 12 * rate) / rate
    signals = np.column_stack((100 + np.sin(time_s), 200 + np.sin(2 * np.pi * 1.2 * time_s)))
    for block in np.array_split(np.arange(time_s.size), 12):
        view.live.push_samples(
            LiveSamples("monitoring", time_s[block], signals[block], (660.0, 940.0), rate)
        )
    view.draw_waveform()
    x, y = view.waveform_curve.getData()
    # The infrared signal of the last 8 s, against the monitoring step's time.
    assert x[-1] == pytest.approx(time_s[-1])
    assert 7.5 < x[-1] - x[0] <= 8.0
    # A plethysmogram: more blood (less light) is up.
    shown = signals[-len(y) :, 1]
    np.testing.assert_allclose(y, shown.mean() - shown)
    axis = view.waveform.getPlotItem().getAxis("bottom")
    assert axis.labelText == "Time (s)"
    assert "940 nm" in view.waveform.getPlotItem().titleLabel.text


def test_the_monitoring_view_speaks_chinese(qtbot, monitoring):
    view, _, _ = monitoring
    view.on_event(
        second(
            30.0,
            spo2=NAN,
            alarms=[("spo2_low", "high", True), ("probe_off", "medium", False)],
        )
    )
    languages = Languages(QApplication.instance())
    languages.set("zh_CN")
    try:
        qtbot.waitUntil(lambda: view.acknowledge_button.text() != "Acknowledge", timeout=5000)
        texts = visible_texts(view)
        assert "时间（秒）" in texts
        assert untranslated(texts, set()) == [], untranslated(texts, set())
        assert [view.alarms.item(0, c).text() for c in (0, 1, 3)] == ["SpO2 过低", "高", "已确认"]
    finally:
        languages.set("en")


def listed(view: MonitoringView) -> dict[str, int]:
    """Alarm condition → its row in the view's alarm list."""
    return {
        view.alarms.item(row, 0).data(Qt.ItemDataRole.UserRole): row
        for row in range(view.alarms.rowCount())
    }


def test_a_monitoring_run_raises_an_alarm_acknowledged_from_the_view_and_logged(qtbot, tmp_path):
    registry = make_registry(tmp_path / "registry")
    approved_record(registry)
    approved_spo2_curve(registry)
    window = open_window(
        qtbot,
        registry,
        tmp_path,
        duration_scale=1.0,
        simulator={"scenario": "desaturation", "scenario_period_s": PERIOD_S, "speed": SPEED},
    )
    view, monitoring = window.runner_view, window.monitoring_view
    select(qtbot, view, "spo2-monitoring")
    assert view.monitoring_duration.isVisibleTo(view)
    view.operator.setText("nurse-li")
    view.monitoring_duration.setValue(PERIOD_S)
    finished = []
    view.run_finished.connect(finished.append)
    view.start_button.click()
    # The monitor step brings the monitoring view to the front.
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is monitoring, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "spo2_low" in listed(monitoring), timeout=RUN_TIMEOUT_MS)
    row = listed(monitoring)["spo2_low"]
    cells = [monitoring.alarms.item(row, column) for column in range(4)]
    assert [cells[1].text(), cells[3].text()] == ["high", "active"]
    assert all(is_red(cell) for cell in cells)
    since = cells[2].text()
    spo2 = monitoring.values["spo2_percent"].text()
    if spo2 != "—":  # a current value: below the limit, in the alarm's colour
        assert float(spo2) < 92 and value_background(monitoring, "spo2_percent") == "red"
    match = re.fullmatch(
        r"Monitoring time (\d+):(\d\d) · (\d+):(\d\d) left", monitoring.time_label.text()
    )
    elapsed = 60 * int(match.group(1)) + int(match.group(2))
    left = 60 * int(match.group(3)) + int(match.group(4))
    assert 10 <= elapsed <= 40 and abs(elapsed + left - PERIOD_S) <= 1
    assert 0.0 < float(monitoring.quality.format()) <= 1.0
    monitoring.draw_waveform()
    x, _ = monitoring.waveform_curve.getData()
    assert np.all(np.diff(x) > 0) and 3.0 < x[-1] - x[0] <= 8.0
    assert abs(x[-1] - monitoring.latest.time_s) < 6.0

    clicked_at = monitoring.latest.time_s
    monitoring.acknowledge_button.click()
    qtbot.waitUntil(
        lambda: (
            "spo2_low" in listed(monitoring)
            and monitoring.alarms.item(listed(monitoring)["spo2_low"], 3).text() == "acknowledged"
        ),
        timeout=30_000,
    )
    row = listed(monitoring)["spo2_low"]
    assert is_red(monitoring.alarms.item(row, 0))
    assert not monitoring.acknowledge_button.isEnabled()

    qtbot.waitUntil(lambda: bool(finished), timeout=RUN_TIMEOUT_MS)
    outcome = finished[0]
    assert outcome.finished.status == "completed"
    assert monitoring.state == "ended" and monitoring.alarms.isHidden()
    assert monitoring.value_states["spo2_percent"].text() == "ended"
    log = read_run_record(outcome.finished.record_path).alarm_log
    spo2_low = [
        (r["event"], r["time_s"], r["priority"]) for r in log if r["condition"] == "spo2_low"
    ]
    events = [event for event, _, _ in spo2_low]
    assert events[:2] == ["start", "acknowledged"]
    (_, start_s, priority), (_, acknowledged_s, _) = spo2_low[:2]
    assert priority == "high"
    # Listed from the second it started; acknowledged when the button was pressed.
    assert since == f"{int(start_s) // 60}:{int(start_s) % 60:02d}"
    assert start_s <= clicked_at <= acknowledged_s <= clicked_at + 5.0

    # The runner view's alarm lines and the ended monitoring view, in Chinese.
    protocol = outcome.protocol
    identifiers = {protocol.name, *protocol.required_calibrations}
    identifiers |= {part for step in protocol.steps for part in (step.name, step.kind)}
    window.set_language("zh_CN")
    try:
        qtbot.waitUntil(lambda: view.start_button.text() == "开始", timeout=5000)
        for shown_view in (monitoring, view):
            window.tabs.setCurrentWidget(shown_view)
            assert untranslated(visible_texts(shown_view), identifiers) == [], untranslated(
                visible_texts(shown_view), identifiers
            )
        alarm_lines = [view.messages.item(row).text() for row in range(view.messages.count())]
        assert any("SpO2 过低" in line for line in alarm_lines), alarm_lines
    finally:
        window.set_language("en")
    window.close()
