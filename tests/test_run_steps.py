"""Protocol run records hold several steps' frames, each with its own time base: the analyses
and the SNIRF export read one step, take the run's dark reference and leave dark LED steps out.
"""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest

from drivers.sim.scene import Scene
from instrument.config import load_config, simulated
from instrument.ppg_signals import ppg_signals_from_run
from instrument.run_record import read_run_record
from instrument.run_steps import (
    dark_reference_dn,
    frames_by_led_step,
    measurement_step,
    measurement_view,
    recorded_steps,
)
from instrument.snirf import read_snirf
from instrument.snirf_export import recorded_dark_frame_dn
from protocols.cli import main
from protocols.protocol_file import parse_protocol
from protocols.runner import ProtocolRunner

pytestmark = pytest.mark.timeout(180)

TWO_MEASUREMENTS = """\
name: two-measurements
version: "1"
intended_use: research
device:
  frame_rate_hz: 200
  led_pattern:
    - {wavelength_nm: 660, drive_current_ma: 0.5}
    - {wavelength_nm: 940, drive_current_ma: 1.0}
    - {wavelength_nm: 850, drive_current_ma: 0.0}
steps:
  - kind: dark_reference
    name: dark
    duration_s: 0.5
  - kind: acquire
    name: rest
    duration_s: 8
  - kind: acquire
    name: after
    duration_s: 6
"""


@pytest.fixture(scope="module")
def protocol_record(tmp_path_factory):
    """A finished run of dark reference, 8 s and 6 s of PPG on the simulator."""
    out = tmp_path_factory.mktemp("runs")
    config, config_text = load_config(None)
    runner = ProtocolRunner(
        parse_protocol(TWO_MEASUREMENTS, "two.yaml"),
        simulated(config),
        out,
        "tester",
        "",
        lambda event: None,
        config_text=config_text,
    )
    finished = runner.run()
    assert finished.status == "completed", finished
    return finished.record_path


def test_steps_with_frames_are_found_and_read_on_their_own_time_base(protocol_record):
    record = read_run_record(protocol_record)
    steps = recorded_steps(record)
    assert [(s.name, s.kind, s.lit) for s in steps] == [
        ("dark", "dark_reference", False),
        ("rest", "acquire", True),
        ("after", "acquire", True),
    ]
    assert sum(s.frames for s in steps) == len(record.frames)
    # Every step's clock starts again: the whole record's time is not monotonic.
    assert np.any(np.diff(record.time_s) < 0)
    rest = measurement_view(record)
    assert measurement_step(record).name == "rest"
    assert len(rest.frames) == steps[1].frames and rest.results == {}
    first, count = steps[1].first_frame, steps[1].frames
    np.testing.assert_array_equal(rest.frames, record.frames[first : first + count])
    assert np.all(np.diff(rest.time_s) > 0)
    assert json.loads(rest.acquisition["led_pattern"]) == [[660, 0.5], [940, 1.0], [850, 0.0]]
    lit, dark = frames_by_led_step(rest)
    assert sorted(lit) == [660.0, 940.0]
    assert np.all(rest.wavelength_nm[dark] == 850)
    assert len(measurement_view(record, "after").frames) == steps[2].frames

    # Dark: the run's dark-reference step first, else the measurement's 0 mA frames.
    first, count = steps[0].first_frame, steps[0].frames
    reference = record.frames[first : first + count].mean(axis=0)
    np.testing.assert_allclose(dark_reference_dn(record), reference)
    np.testing.assert_allclose(recorded_dark_frame_dn(record), reference)
    np.testing.assert_allclose(recorded_dark_frame_dn(rest), rest.frames[dark].mean(axis=0))
    assert dark_reference_dn(rest) is None


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("dark", "step 'dark' lit no LED (a dark reference)"),
        ("warm", "no step 'warm' holding frames"),
    ],
)
def test_a_step_that_cannot_be_analysed_is_named_with_the_steps_there_are(
    protocol_record, capsys, step, message
):
    listing = "steps holding frames: dark (dark_reference), rest (acquire), after (acquire)"
    out = str(protocol_record.with_suffix(".snirf"))
    for command in (
        ["analyze", "ppg", str(protocol_record), "--step", step],
        ["export", "snirf", str(protocol_record), out, "--step", step],
    ):
        assert main(command) == 2
        error = capsys.readouterr().err
        assert message in error and listing in error and "Traceback" not in error
    assert not protocol_record.with_suffix(".snirf").exists()


def test_analyze_ppg_reads_one_step_of_a_protocol_run(protocol_record, capsys):
    assert main(["analyze", "ppg", str(protocol_record), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["step"] == "rest" and report["pair_nm"] == [660.0, 940.0]
    # 8 s at 200 frames/s over a 3-step pattern, not the 14.5 s of every step run together.
    assert report["sample_rate_hz"] == pytest.approx(200 / 3)
    assert 7.9 <= report["duration_s"] <= 8.0
    truth = Scene(0).truth(4.0)["tissue"]
    spo2 = np.array([v for v in report["spo2_percent"] if v is not None])
    assert spo2.size >= 6
    assert np.sqrt(np.mean((spo2 - truth["spo2_percent"]) ** 2)) <= 1.5
    assert abs(report["mean_pulse_rate_bpm"] - truth["mean_pulse_rate_bpm"]) < 3.0

    assert main(["analyze", "ppg", str(protocol_record), "--step", "after", "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["step"] == "after" and 5.9 <= after["duration_s"] <= 6.0

    assert main(["analyze", "ppg", str(protocol_record)]) == 0
    assert f"{protocol_record} (step rest)" in capsys.readouterr().out


def test_export_snirf_writes_one_step_with_the_lit_wavelengths(protocol_record, tmp_path, capsys):
    out = tmp_path / "rest.snirf"
    assert main(["export", "snirf", str(protocol_record), str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["step"] == "rest"
    # The 850 nm LED step is driven at 0 mA: dark frames, not a measurement wavelength.
    assert summary["wavelengths_nm"] == [660.0, 940.0]
    data = read_snirf(out)
    assert np.all(np.diff(data.time_s) > 0)
    assert data.sample_rate_hz == pytest.approx(200 / 3)
    assert 7.9 <= data.time_s[-1] - data.time_s[0] <= 8.0
    assert summary["detectors"] > 0 and summary["measurements"] == 2 * summary["detectors"]


def edited_copy(record_path, tmp_path, edit) -> object:
    """A copy of the record with ``edit(root)`` applied to its HDF5 tree."""
    copy = tmp_path / "edited.h5"
    shutil.copy(record_path, copy)
    with h5py.File(copy, "r+") as root:
        edit(root)
    return copy


def test_a_step_counting_more_frames_than_the_record_holds_is_cut_not_fatal(
    protocol_record, tmp_path, capsys
):
    def overcount(root):
        root["results/after"].attrs["frames"] = root["results/after"].attrs["frames"] + 50

    copy = edited_copy(protocol_record, tmp_path, overcount)
    record = read_run_record(copy)
    after = measurement_step(record, "after")
    assert after.first_frame + after.frames == len(record.frames)
    assert main(["analyze", "ppg", str(copy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == "rest"


def test_records_without_step_index_or_kind_are_read_in_frame_order(protocol_record, tmp_path):
    def strip(root):
        for group in root["results"].values():
            for key in ("index", "kind"):
                if key in group.attrs:
                    del group.attrs[key]

    record = read_run_record(edited_copy(protocol_record, tmp_path, strip))
    # h5py lists groups alphabetically ("after" first); frame order puts "rest" first.
    assert [s.name for s in recorded_steps(record)] == ["dark", "rest", "after"]
    assert measurement_step(record).name == "rest"


def test_a_step_that_received_no_frames_is_passed_over_and_named_when_asked_for(
    protocol_record, tmp_path, capsys
):
    def empty_rest(root):
        root["results/rest"].attrs["frames"] = 0

    copy = edited_copy(protocol_record, tmp_path, empty_rest)
    assert measurement_step(read_run_record(copy)).name == "after"
    assert main(["analyze", "ppg", str(copy), "--step", "rest"]) == 2
    assert "step 'rest' holds no frames (it did not finish)" in capsys.readouterr().err


def test_a_snirf_export_of_a_step_starts_when_the_step_started(protocol_record, tmp_path):
    record = read_run_record(protocol_record)
    started = {name: record.results[name]["start_time_utc"] for name in ("rest", "after")}
    assert started["rest"] < started["after"]
    for name, stamp in started.items():
        out = tmp_path / f"{name}.snirf"
        assert main(["export", "snirf", str(protocol_record), str(out), "--step", name]) == 0
        tags = read_snirf(out).metadata
        assert f"{tags['MeasurementDate']}T{tags['MeasurementTime']}".startswith(stamp[:19])


def test_a_recorded_curve_serves_only_the_pair_it_was_applied_to(protocol_record, tmp_path, capsys):
    def calibrated(pair_nm):
        def edit(root):
            # As a run with a calibrated curve (no pair in the calibration) stores its SpO2 step.
            step = root["results"].create_group("oximetry")
            step.attrs["kind"] = "analyse"
            step.attrs["results_json"] = json.dumps(
                {"source": "rest", "curve": "calibration CAL-X@1", "wavelengths_nm": pair_nm}
            )
            step["curve_numerator"] = np.array([1.12, -0.27])
            step["curve_denominator"] = np.array([1.0])

        return edit

    copy = edited_copy(protocol_record, tmp_path, calibrated([660, 940]))
    assert main(["analyze", "ppg", str(copy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["curve"] == "calibration CAL-X@1 (as recorded)"
    copy = edited_copy(protocol_record, tmp_path, calibrated([760, 940]))
    assert main(["analyze", "ppg", str(copy)]) == 2
    assert "is for 760/940 nm, the signals are 660/940 nm" in capsys.readouterr().err
    # An explicit curve replaces the recorded one.
    assert main(["analyze", "ppg", str(copy), "--curve", "110-25R"]) == 0


def test_of_two_spo2_analyses_of_a_step_the_first_in_run_order_is_re_analysed(
    protocol_record, tmp_path, capsys
):
    record = read_run_record(protocol_record)
    signals = ppg_signals_from_run(measurement_view(record))

    def two_analyses(root):
        for index, name, scale in ((3, "z-first", 1.0), (4, "a-second", 2.0)):
            step = root["results"].create_group(name)
            step.attrs["index"], step.attrs["kind"] = index, "analyse"
            step.attrs["results_json"] = json.dumps({"source": "rest", "roi_pixels": 7})
            step["ppg_time_s"] = signals.time_s
            step["ppg_signals"] = signals.signals * scale
            step["ppg_wavelengths_nm"] = np.asarray(signals.wavelengths_nm)

    copy = edited_copy(protocol_record, tmp_path, two_analyses)
    assert main(["analyze", "ppg", str(copy), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["signals_recorded_by"] == "z-first" and report["roi_pixels"] == 7
