"""Continuous monitoring survives an unplugged detector board: ``nirpoct run spo2-monitoring``
on the simulated board unplugged and plugged back (``--sim-fault unplug@T+D``), the alarm log,
the JSON lines and the record against the fault's times; a board that stays away ends the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drivers.sim.faults import FaultKind, FaultPlan
from protocols.protocol_file import ProtocolError, parse_protocol
from protocols.steps.monitor import RECONNECT_INTERVAL_S
from tests.test_cli_run import clinical_registry
from tests.test_live_monitoring import alarm_times, record_of

pytestmark = pytest.mark.timeout(240)

SPEED = 2.0
"""--sim-speed: signal seconds per wall-clock second."""
UNPLUG_S, AWAY_S = 15.0, 10.0
DURATION_S = 45.0
TRUE_SPO2_PERCENT = 98.0
"""SpO2 of the ``steady`` scenario."""
REGISTRY_CURVE_LOW = 3.0
"""The test registry's curve (not the simulator's own) reads up to ~3 points low near 98 %."""
RECONNECT_LATENCY_S = RECONNECT_INTERVAL_S * SPEED + 1.0
"""Signal time from the board's return to its first frame: one reopening attempt at most
(wall clock, so `SPEED` signal seconds each), then its set-up."""


def _run(tmp_path: Path, protocol: str, fault: str) -> tuple[int, list[dict], str]:
    """Exit code, JSON lines and standard error of a monitoring run on the ``steady`` patient."""
    clinical_registry(tmp_path / "registry")
    process = subprocess.run(
        [
            *(sys.executable, "-m", "protocols.cli", "run", protocol, "--sim"),
            *("--registry", "registry", "--sim-speed", str(SPEED), "--sim-scenario", "steady"),
            *("--duration", str(DURATION_S), "--sim-fault", fault, "--jsonl", "--out", "runs"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=200,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    lines = [json.loads(line) for line in process.stdout.splitlines()]
    return process.returncode, lines, process.stderr


def test_monitoring_goes_on_into_the_same_record_when_the_board_comes_back(tmp_path):
    code, lines, stderr = _run(tmp_path, "spo2-monitoring", f"unplug@{UNPLUG_S:g}+{AWAY_S:g}")
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "detector board disconnected; reconnecting" in stderr
    back_s = UNPLUG_S + AWAY_S

    # The alarm: on at the unplug, off once frames flow again (signal clock).
    record = record_of(tmp_path)
    assert record.metadata["status"] == "completed"
    log = [(row["condition"], row["event"], row["time_s"]) for row in record.alarm_log]
    assert [(c, e) for c, e, _ in log] == [
        ("device_disconnected", "start"),
        ("device_disconnected", "end"),
    ]
    started_s, ended_s = log[0][2], log[1][2]
    assert UNPLUG_S - 1.0 <= started_s <= UNPLUG_S + 1.0
    assert back_s - 1.0 <= ended_s <= back_s + RECONNECT_LATENCY_S
    starts, ends = alarm_times(lines, "device_disconnected")
    assert len(starts) == 1 and abs(starts[0] - started_s) <= 1.0
    assert len(ends) == 1 and abs(ends[0] - ended_s) <= 1.0

    # One JSON line per second throughout; none with numbers while the board is away.
    times = np.array([line["time_s"] for line in lines])
    assert np.all(np.diff(times) == 1.0) and times[-1] >= DURATION_S - 2.0
    away = [line for line in lines if started_s < line["time_s"] <= ended_s + 1.0]
    assert len(away) >= AWAY_S - 1
    assert all(
        line[name] is None
        for line in away
        for name in ("spo2_percent", "pulse_rate_bpm", "perfusion_index_percent")
    )
    assert all(not line["stale"] for line in away)  # 30 s without a value make it stale

    # SpO2 before and after: the patient's, from new analysers within seconds of the return.
    def spo2(low: float, high: float) -> np.ndarray:
        values = [line["spo2_percent"] for line in lines if low < line["time_s"] <= high]
        return np.array([np.nan if v is None else v for v in values])

    before, after = spo2(6.0, started_s - 1.0), spo2(ended_s + 9.0, DURATION_S)
    assert after.size >= 10
    # Frames lost while other jobs hold the cores can withhold a second here and there.
    assert np.isfinite(before).mean() > 0.8 and np.isfinite(after).mean() > 0.8
    assert abs(np.nanmedian(after) - TRUE_SPO2_PERCENT) < REGISTRY_CURVE_LOW
    assert abs(np.nanmedian(after) - np.nanmedian(before)) < 1.0

    # The record: frames before and after, the gap the outage left, per-frame fields in step.
    time_s = np.asarray(record.time_s)
    gaps = np.diff(time_s)
    gap = int(np.argmax(gaps))
    assert time_s[gap] == pytest.approx(UNPLUG_S, abs=0.5)
    assert AWAY_S <= gaps[gap] <= AWAY_S + RECONNECT_LATENCY_S
    assert gaps[gap] == pytest.approx(ended_s - started_s, abs=1.0)
    # No other gap than the frames a loaded host can lose (the board buffers 160 ms).
    assert np.sort(gaps)[-2] < 1.0
    counter = np.asarray(record.frame_counter, dtype=np.int64)
    assert np.all(np.diff(counter) > 0)
    assert np.all(np.diff(np.asarray(record.device_time_us, dtype=np.int64)) > 0)
    # Counters go on as if the board had counted through the gap at its frame rate.
    assert counter[gap + 1] - counter[gap] == pytest.approx(gaps[gap] * 200.0, abs=4)
    # The protocol's LED pattern again after the gap (the board came back at power-on settings).
    pattern_nm = np.array([660, 940, 850])
    np.testing.assert_array_equal(record.wavelength_nm, pattern_nm[counter % 3])
    assert (time_s > back_s).sum() > 0.8 * 200 * (DURATION_S - back_s - RECONNECT_LATENCY_S)
    results = record.results["monitoring"]
    assert results["frames"] == len(time_s) == record.acquisition["frames"]
    np.testing.assert_allclose(results["per_second_time_s"], times)


def test_a_board_that_stays_away_ends_the_run_with_what_was_acquired(tmp_path):
    shipped = Path(__file__).parents[1] / "protocols/shipped/spo2-monitoring.yaml"
    text = shipped.read_text()
    assert "reconnect_s: 120 " in text
    (tmp_path / "monitoring.yaml").write_text(text.replace("reconnect_s: 120 ", "reconnect_s: 6 "))
    code, lines, stderr = _run(tmp_path, "monitoring.yaml", "unplug@10")
    assert code == 1
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("nirpoct: error:")]
    assert len(errors) == 1 and "disconnected" in errors[0]
    assert errors[0].endswith("not back within 6 s")
    away = [line for line in lines if line["time_s"] > 11.0]
    assert away and all(line["spo2_percent"] is None for line in away)
    assert 15.0 <= lines[-1]["time_s"] <= 18.0  # waited 6 s of signal after the unplug

    record = record_of(tmp_path)
    assert record.metadata["status"] == "aborted"
    assert record.metadata["error"].startswith("device fault: ")
    assert [(r["condition"], r["event"]) for r in record.alarm_log] == [
        ("device_disconnected", "start")
    ]
    assert record.time_s[-1] == pytest.approx(10.0, abs=0.5)
    assert len(record.frames) > 0.8 * 200 * 10.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("unplug@2.5", FaultPlan(FaultKind.UNPLUG, 2.5)),
        ("unplug@20+10", FaultPlan(FaultKind.UNPLUG, 20.0, 10.0)),
        ("UNPLUG@0+0.5", FaultPlan(FaultKind.UNPLUG, 0.0, 0.5)),
    ],
)
def test_unplug_faults_read_and_print_alike(text, expected):
    assert FaultPlan.parse(text) == expected
    assert FaultPlan.parse(str(expected)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stall@2+5", "only unplug takes a duration"),
        ("unplug@2+", "unplug duration '' is not a number"),
        ("unplug@2+0", r"unplug duration must be in \(0, 86400\) s"),
        ("unplug@-1+5", "fault onset must be ≥ 0 s"),
    ],
)
def test_bad_unplug_faults_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        FaultPlan.parse(text)


PROTOCOL = """name: m
version: "1"
intended_use: research
steps:
  - kind: monitor
    reconnect_s: {value}
"""


def test_reconnect_s_is_validated_and_defaults_to_two_minutes():
    assert parse_protocol(PROTOCOL.format(value=30), "m.yaml").steps[0].reconnect_s == 30.0
    default = parse_protocol(PROTOCOL.replace("    reconnect_s: {value}\n", ""), "m.yaml")
    assert default.steps[0].reconnect_s == 120.0
    for value in (-1, 4000, "soon"):
        with pytest.raises(ProtocolError, match="reconnect_s") as error:
            parse_protocol(PROTOCOL.format(value=value), "m.yaml")
        assert str(error.value).startswith("m.yaml:6")
