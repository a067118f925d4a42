"""``nirpoct analyze ppg``: a simulated acquisition analysed end to end, CSV input, bad files."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from drivers.sim.scene import Scene
from imaging.pulse_oximetry import pulse_oximetry
from imaging.spo2_curves import empirical_line
from instrument.ppg_signals import ppg_signals_from_run
from protocols.cli import main
from tests.ppg_sim import simulated_run, simulator_curve
from tests.ppg_synthetic import SyntheticPpg, synthesize

pytestmark = pytest.mark.timeout(240)


def _nirpoct(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "protocols.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_acquired_run_record_end_to_end(tmp_path, capsys):
    acquired = _nirpoct(
        "acquire", "--sim", "--duration", "10", "--out", "runs", "--json", cwd=tmp_path
    )
    assert acquired.returncode == 0, acquired.stderr
    record = json.loads(acquired.stdout)["record"]
    _, fitted = simulator_curve()
    coefficients = ",".join(f"{a:.6f}" for a in fitted.coefficients)
    analysed = _nirpoct("analyze", "ppg", record, "--curve", coefficients, "--json", cwd=tmp_path)
    assert analysed.returncode == 0, analysed.stderr
    report = json.loads(analysed.stdout)
    assert report["pair_nm"] == [660.0, 940.0] and report["sample_rate_hz"] == pytest.approx(50.0)
    lengths = {
        len(report[k])
        for k in (
            "time_s",
            "spo2_percent",
            "pulse_rate_bpm",
            "perfusion_index_percent",
            "signal_quality",
        )
    }
    assert lengths == {9}
    # The default configuration simulates seed 0: SpO2 98 %, 72 beats/min with variability.
    scene = Scene(0)
    spo2 = np.array([v for v in report["spo2_percent"] if v is not None])
    assert spo2.size >= 7
    assert np.sqrt(np.mean((spo2 - 98.0) ** 2)) <= 1.5
    rates = np.array(report["pulse_rate_bpm"], dtype=float)
    truth = scene.tissue.pulse_rate_bpm(np.array(report["time_s"]))
    assert np.sqrt(np.nanmean((rates - truth) ** 2)) <= 1.5
    assert abs(report["mean_pulse_rate_bpm"] - 72.0) < 2.0
    assert all(0.0 <= q <= 1.0 for q in report["signal_quality"])
    assert main(["analyze", "ppg", str(tmp_path / record)]) == 0
    human = capsys.readouterr().out
    assert "SpO2" in human and "110 - 25 R" in human


def _write_csv(path: Path, header: str, rows: np.ndarray) -> Path:
    lines = [header] + [",".join(f"{v:.6f}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_input_json(tmp_path, capsys):
    recording = synthesize(SyntheticPpg(sample_rate_hz=100.0, duration_s=30.0), empirical_line())
    path = _write_csv(
        tmp_path / "ppg.csv", "time,660,940", np.column_stack([recording.time_s, recording.signals])
    )
    assert main(["analyze", "ppg", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["time_s"]) == 30 and report["time_s"][0] == pytest.approx(0.5)
    spo2 = np.array(report["spo2_percent"], dtype=float)
    assert np.nanmax(np.abs(spo2 - 97.0)) < 1.5
    assert abs(report["mean_pulse_rate_bpm"] - 72.0) < 1.5
    assert len(report["beats_s"]) > 30
    # --fs resamples; --curve changes the SpO2 scale.
    assert main(["analyze", "ppg", str(path), "--json", "--fs", "40", "--curve", "120 - 25R"]) == 0
    shifted = json.loads(capsys.readouterr().out)
    assert shifted["sample_rate_hz"] == 40.0
    assert np.nanmedian(np.array(shifted["spo2_percent"], dtype=float)) == 100.0


def test_one_column_csv_gives_pulse_rate_only(tmp_path, capsys):
    recording = synthesize(SyntheticPpg(duration_s=20.0, pulse_rate_bpm=95.0), empirical_line())
    path = _write_csv(
        tmp_path / "ir.csv",
        "time,940",
        np.column_stack([recording.time_s, recording.signals[:, 1]]),
    )
    assert main(["analyze", "ppg", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert all(v is None for v in report["spo2_percent"])
    assert abs(report["mean_pulse_rate_bpm"] - 95.0) < 1.5


@pytest.mark.parametrize(
    ("header", "mutate", "options", "message"),
    [
        ("t,660,940", None, (), "header must be time"),
        ("time,red,940", None, (), "header column 2 is 'red'"),
        ("time", None, (), "header must be time"),
        ("time,660,940", "text", (), "line 5, column 660: 'abc' is not a number"),
        ("time,660,940", "unsorted", (), "line 7: time goes back"),
        ("time,660,940", "short", (), "at least 5 s"),
        ("time,660,940", None, ("--pair", "660,850"), "no 850 nm signal"),
        ("time,660,940", "ragged", (), "line 4 has 2 cells, expected 3"),
        ("time,660,940", "nan", (), "line 6, column 940: not finite"),
        ("time,660,940", "gap", (), "line 101: gap of 0.4"),
        ("time,660,660.5", None, (), "column 3: '660.5' repeats the wavelength of column 2"),
        ("time,660,940", "empty", (), "empty file"),
        ("time,660,940", "binary", (), "cannot read"),
        ("time,660,940", "nul", (), "is not a number"),
        ("time,660,940", "huge_field", (), "not a CSV file"),
        ("time,660,940", "ms", (), "time in ms steps 1000 times too far"),
        ("time,660,940", "ms", ("--fs", "100"), "time in ms steps 1000 times too far"),
        ("time,660,940", None, ("--fs", "1e9"), "more than 2e+07"),
    ],
)
def test_bad_csv_files_give_one_clear_line(tmp_path, capsys, header, mutate, options, message):
    recording = synthesize(SyntheticPpg(duration_s=10.0), empirical_line())
    rows = np.column_stack([recording.time_s, recording.signals])
    columns = len(header.split(","))
    lines = [header] + [",".join(f"{v:.6f}" for v in row[:columns]) for row in rows]
    if mutate == "text":
        lines[4] = lines[4].split(",")[0] + ",abc," + lines[4].split(",")[2]
    elif mutate == "unsorted":
        lines[5], lines[6] = lines[6], lines[5]
    elif mutate == "short":
        lines = lines[:200]
    elif mutate == "ragged":
        lines[3] = ",".join(lines[3].split(",")[:2])
    elif mutate == "nan":
        lines[5] = ",".join([*lines[5].split(",")[:2], "nan"])
    elif mutate == "gap":  # 40 rows lost after line 100
        lines = lines[:100] + lines[140:]
    elif mutate == "empty":
        lines = []
    elif mutate == "huge_field":  # a cell past the csv module's 128 KiB field limit
        lines[3] = lines[3] + ',"' + "9" * 200_000 + '"'
    elif mutate == "ms":
        lines = [header] + [
            ",".join([f"{1000 * row[0]:.3f}"] + [f"{v:.6f}" for v in row[1:]]) for row in rows
        ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n" if lines else "")
    if mutate == "binary":
        path.write_bytes(bytes(range(256)) * 40)
    elif mutate == "nul":
        path.write_bytes(("\n".join(lines) + "\n").replace("0.", "\0.", 3).encode())
    assert main(["analyze", "ppg", str(path), *options]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error, error


def test_csv_with_a_byte_order_mark(tmp_path, capsys):
    recording = synthesize(SyntheticPpg(duration_s=10.0), empirical_line())
    path = _write_csv(
        tmp_path / "bom.csv", "time,660,940", np.column_stack([recording.time_s, recording.signals])
    )
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as spreadsheets save UTF-8
    assert main(["analyze", "ppg", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["wavelengths_nm"] == [660.0, 940.0]
    assert abs(report["mean_pulse_rate_bpm"] - 72.0) < 2.0


def test_noise_csv_reports_nothing(tmp_path, capsys):
    # White noise common to both channels at 25 Hz: no SpO2, no pulse rate, per second or beat.
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(1500)
    time_s = np.arange(noise.size) / 25.0
    path = _write_csv(
        tmp_path / "noise.csv",
        "time,660,940",
        np.column_stack([time_s, 1000.0 + noise, 2000.0 + 1.5 * noise]),
    )
    assert main(["analyze", "ppg", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("spo2_percent", "pulse_rate_bpm", "perfusion_index_percent", "beat_spo2_percent"):
        assert all(v is None for v in report[key]), key
    assert report["mean_pulse_rate_bpm"] is None


def test_missing_file_and_non_record_hdf5(tmp_path, capsys):
    assert main(["analyze", "ppg", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    with h5py.File(tmp_path / "other.h5", "w") as handle:
        handle["x"] = np.zeros(3)
    assert main(["analyze", "ppg", str(tmp_path / "other.h5")]) == 2
    assert "not a nirpoct-run file" in capsys.readouterr().err


def test_bad_curve_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "ppg", str(tmp_path / "x.csv"), "--curve", "110 25R"])
    assert exit_info.value.code == 2
    assert "missing + or -" in capsys.readouterr().err


def test_a_pair_with_infrared_first_is_a_usage_error(tmp_path, capsys):
    # R would be inverted and SpO2 wrong, not refused further down.
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "ppg", str(tmp_path / "x.csv"), "--pair", "940,660"])
    assert exit_info.value.code == 2
    assert "expected RED,IR with 0 < RED < IR nm, got '940,660'" in capsys.readouterr().err


# -- run-record input ---------------------------------------------------------------------


def test_dark_steps_and_black_level():
    pattern = ((660.0, 0.5), (940.0, 1.0), (660.0, 0.0))
    record, scene = simulated_run(21, 12.0, pattern=pattern)
    signals = ppg_signals_from_run(record)
    assert signals.wavelengths_nm == (660.0, 940.0)
    assert signals.sample_rate_hz == pytest.approx(200.0 / 3.0)
    curve, _ = simulator_curve()
    result = pulse_oximetry(signals.signals, signals.sample_rate_hz, signals.wavelengths_nm, curve)
    assert np.nanmax(np.abs(result.spo2_percent - 98.0)) < 2.0
    assert abs(result.mean_pulse_rate_bpm - 72.0) < 2.0
    # Without dark steps the black level is estimated; a stated level of 0 DN keeps it in.
    default, _ = simulated_run(22, 6.0)
    lit = (16, 16, 16, 32)  # well lit, unsaturated pixels: the same ROI either way
    estimated = ppg_signals_from_run(default, roi=lit)
    unsubtracted = ppg_signals_from_run(default, roi=lit, black_level_dn=0.0)
    assert estimated.roi_pixels == unsubtracted.roi_pixels == 16 * 32
    black_level = scene.sensor.config.black_level_dn
    offset = unsubtracted.signals.mean(axis=0) - estimated.signals.mean(axis=0)
    np.testing.assert_allclose(offset, black_level, atol=3.0)


def test_dropped_frames_keep_the_time_base():
    # Bursts of 8 frames lost every 80 (10 %, e.g. buffer overruns): the frame counter and
    # device clock keep the grid uniform; the lost samples are interpolated across.
    record, scene = simulated_run(31, 20.0)
    keep = np.ones(record.time_s.size, dtype=bool)
    for start in range(100, keep.size, 80):
        keep[start : start + 8] = False
    dropped = dataclasses.replace(
        record,
        **{
            name: np.asarray(getattr(record, name))[keep]
            for name in (
                "frames",
                "time_s",
                "wavelength_nm",
                "board_temperature_c",
                "frame_counter",
                "device_time_us",
            )
        },
    )
    intact, lossy = ppg_signals_from_run(record), ppg_signals_from_run(dropped)
    assert lossy.sample_rate_hz == pytest.approx(intact.sample_rate_hz)
    np.testing.assert_allclose(np.diff(lossy.time_s), 1.0 / intact.sample_rate_hz)
    assert lossy.time_s[-1] - lossy.time_s[0] == pytest.approx(
        intact.time_s[-1] - intact.time_s[0], abs=0.1
    )
    result = pulse_oximetry(lossy.signals, lossy.sample_rate_hz, lossy.wavelengths_nm)
    truth = float(np.mean(scene.tissue.pulse_rate_bpm(result.time_s + lossy.time_s[0])))
    assert abs(result.mean_pulse_rate_bpm - truth) < 1.5


def test_roi_and_pattern_checks():
    record, _ = simulated_run(23, 6.0)
    whole = ppg_signals_from_run(record)
    corner = ppg_signals_from_run(record, roi=(32, 0, 32, 32))
    assert 0 < corner.roi_pixels <= 32 * 32 < whole.roi_pixels
    with pytest.raises(ValueError, match="does not fit"):
        ppg_signals_from_run(record, roi=(50, 50, 20, 20))
    with pytest.raises(ValueError, match="no pixel of the ROI"):
        ppg_signals_from_run(record, roi=(0, 28, 2, 8))  # beside the LEDs: saturated
    record.wavelength_nm[5] = 850
    with pytest.raises(ValueError, match="frame 5 is at 850 nm"):
        ppg_signals_from_run(record)
