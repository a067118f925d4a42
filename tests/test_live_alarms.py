"""Alarm conditions: delays, ends, acknowledgement, pause, staleness, validation."""

import math

import pytest

from protocols.alarms import AlarmCondition, AlarmMonitor, AlarmSettings, Vitals
from protocols.protocol_file import ProtocolError, parse_protocol

NAN = math.nan


def _run(monitor: AlarmMonitor, values) -> list[tuple[float, str, str]]:
    events = []
    for t, (spo2, rate, off) in enumerate(values, start=1):
        for entry in monitor.update(Vitals(float(t), spo2, rate, probe_off=off)):
            events.append((entry.time_s, entry.condition, entry.event))
    return events


def test_spo2_low_starts_after_its_delay_and_ends_when_it_recovers():
    monitor = AlarmMonitor(AlarmSettings())
    values = [(97.0, 72.0, False)] * 5 + [(85.0, 72.0, False)] * 10 + [(95.0, 72.0, False)] * 3
    events = _run(monitor, values)
    # First low value at the end of second 6; the 5 s alarm-condition delay: start at 11 s.
    assert events == [(11.0, "spo2_low", "start"), (16.0, "spo2_low", "end")]
    assert monitor.log[0].priority == "high"


def test_a_dip_shorter_than_the_delay_raises_nothing():
    monitor = AlarmMonitor(AlarmSettings())
    values = [(97.0, 72.0, False)] * 3 + [(88.0, 72.0, False)] * 4 + [(97.0, 72.0, False)] * 3
    assert _run(monitor, values) == []


def test_pulse_rate_limits_and_priorities():
    monitor = AlarmMonitor(AlarmSettings())
    events = _run(monitor, [(97.0, 140.0, False)] * 7 + [(97.0, 40.0, False)] * 7)
    assert (6.0, "pulse_rate_high", "start") in events
    assert (8.0, "pulse_rate_high", "end") in events
    assert (13.0, "pulse_rate_low", "start") in events
    assert {a["condition"]: a["priority"] for a in monitor.active(14.0)} == {
        "pulse_rate_low": "medium"
    }


def test_signal_inadequate_after_ten_seconds_withheld_and_probe_off_apart():
    monitor = AlarmMonitor(AlarmSettings())
    events = _run(monitor, [(97.0, 72.0, False)] * 2 + [(NAN, NAN, False)] * 12)
    assert events == [(13.0, "signal_inadequate", "start")]  # withheld 11 s > 10 s
    probe = AlarmMonitor(AlarmSettings())
    events = _run(probe, [(NAN, NAN, True)] * 15 + [(97.0, 72.0, False)])
    assert events == [(3.0, "probe_off", "start"), (16.0, "probe_off", "end")]


def test_stale_after_thirty_seconds_without_a_value():
    monitor = AlarmMonitor(AlarmSettings())
    _run(monitor, [(97.0, 72.0, False)] * 5 + [(NAN, NAN, False)] * 40)
    assert not monitor.stale(35.0)
    assert monitor.stale(35.5)


def test_acknowledge_and_pause_are_logged_with_times():
    monitor = AlarmMonitor(AlarmSettings(acknowledge_s=60.0, pause_s=30.0))
    _run(monitor, [(80.0, 72.0, False)] * 7)
    monitor.acknowledge(7.5)
    assert monitor.active(8.0)[0]["acknowledged"]
    assert not monitor.active(68.0)[0]["acknowledged"]
    monitor.pause(8.0)
    quiet = AlarmMonitor(AlarmSettings(pause_s=30.0))
    quiet.pause(0.0)
    assert _run(quiet, [(97.0, 140.0, False)] * 20) == []  # paused: none starts
    assert [e.event for e in monitor.log] == ["start", "acknowledged", "paused"]


def test_disconnection_is_a_high_priority_technical_alarm():
    monitor = AlarmMonitor(AlarmSettings())
    monitor.disconnected(12.0)
    assert monitor.active(12.0) == [
        {
            "condition": "device_disconnected",
            "priority": "high",
            "category": "technical",
            "acknowledged": False,
        }
    ]


def test_disconnection_lasts_while_the_board_is_away_and_ends_when_it_is_back():
    monitor = AlarmMonitor(AlarmSettings())
    _run(monitor, [(97.0, 72.0, False)] * 3)
    monitor.disconnected(3.4)
    for t in range(4, 20):  # 16 s without a signal: no signal_inadequate, the alarm stays
        monitor.update(Vitals(float(t), NAN, NAN, device_connected=False))
    monitor.reconnected(19.2)
    for t in range(20, 28):  # new analysers warming up: withheld 8 s < 10 s
        monitor.update(Vitals(float(t), NAN, NAN))
    events = [(e.time_s, e.condition, e.event) for e in monitor.log]
    assert events == [
        (3.4, "device_disconnected", "start"),
        (19.2, "device_disconnected", "end"),
    ]
    assert not monitor.stale(27.0) and monitor.stale(33.5)  # 30 s after the last value


PROTOCOL = """name: m
version: "1"
intended_use: research
steps:
  - kind: monitor
    alarms:
      {alarm}
"""


@pytest.mark.parametrize(
    "alarm, message",
    [
        ("spo2_low: {priority: urgent, limit: 90}", "priority"),
        ("spo2_low: {priority: high, limit: 120}", "limit in 50..100"),
        ("pulse_rate_low: {priority: medium, limit: 150}", "below pulse_rate_high"),
        ("probe_off: {priority: low, limit: 3}", "takes no limit"),
        ("spo2_low: {priority: high, limit: 90, delay_s: 100}", "delay_s"),
        ("apnoea: {priority: high}", "unknown field"),
    ],
)
def test_bad_alarm_settings_name_the_line_and_field(alarm, message):
    with pytest.raises(ProtocolError, match=message) as error:
        parse_protocol(PROTOCOL.format(alarm=alarm), "m.yaml")
    assert str(error.value).startswith("m.yaml:")


def test_alarm_settings_from_a_protocol_file():
    text = PROTOCOL.format(alarm="spo2_low: {priority: medium, limit: 88, delay_s: 10}")
    step = parse_protocol(text, "m.yaml").steps[0]
    assert step.alarms.spo2_low == AlarmCondition(priority="medium", limit=88.0, delay_s=10.0)
    assert step.alarms.pulse_rate_high.limit == 120.0
