"""Meaningless or damaged input gives one line naming the file and what is wrong, never numbers;
real-world CSV time bases (jittered, repeated stamps) are accepted and said to be so."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from imaging.mbll import modified_beer_lambert
from imaging.spo2_curves import empirical_line
from protocols.cli import main
from tests.ppg_synthetic import SyntheticPpg, synthesize
from tests.test_snirf import write_sim_record

pytestmark = pytest.mark.timeout(300)


def _error(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


@pytest.fixture(scope="module")
def sim_record(tmp_path_factory):
    path = tmp_path_factory.mktemp("records") / "run.h5"
    write_sim_record(path, duration_s=0.5)
    return path


def test_mbll_refuses_a_repeated_wavelength():
    with pytest.raises(ValueError, match="repeated"):
        modified_beer_lambert(np.zeros((1, 2)), [760.0, 760.0], [30.0], 6.0)
    with pytest.raises(ValueError, match="repeated"):
        modified_beer_lambert(np.zeros((1, 3)), [760.0, 850.0, 760.2], [30.0], 6.0)
    assert modified_beer_lambert(np.zeros((1, 2)), [760.0, 850.0], [30.0], 6.0).shape == (1, 2)


def test_analyze_nirs_refuses_duplicate_wavelengths(sim_record, tmp_path, capsys):
    snirf = tmp_path / "run.snirf"
    assert main(["export", "snirf", str(sim_record), str(snirf), "--region-px", "16"]) == 0
    with h5py.File(snirf, "r+") as root:
        wavelengths = root["nirs/probe/wavelengths"]
        wavelengths[...] = np.full(wavelengths.shape, 760.0)
    capsys.readouterr()
    assert main(["analyze", "nirs", str(snirf), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "wavelength repeated" in captured.err


def _damaged_copy(sim_record, tmp_path, how: str):
    path = tmp_path / f"{how.replace(' ', '_')}.h5"
    path.write_bytes(sim_record.read_bytes())
    with h5py.File(path, "r+") as root:
        if how == "newer format":
            root.attrs["format_version"] = 999
        elif how == "short time":
            time_s = root["raw/time_s"][:1]
            del root["raw/time_s"]
            root["raw/time_s"] = time_s
        elif how == "nan time":
            root["raw/time_s"][4] = np.nan
        elif how == "no acquisition":
            del root["acquisition"]
    return path


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("newer format", "format version 999 was written by a newer nirpoct"),
        ("short time", "damaged record: 100 frames but time_s 1"),
        ("nan time", "/raw/time_s of frame 4 is not a number"),
        ("no acquisition", "damaged record: missing /acquisition"),
    ],
)
@pytest.mark.parametrize("command", ["export", "analyze"])
def test_damaged_run_records_are_named_and_refused(
    sim_record, tmp_path, capsys, how, message, command
):
    path = _damaged_copy(sim_record, tmp_path, how)
    out = tmp_path / "out.snirf"
    args = ["export", "snirf", str(path), str(out)] if command == "export" else ["analyze", "ppg"]
    if command == "analyze":
        args.append(str(path))
    capsys.readouterr()
    assert main(args) != 0
    error = _error(capsys)
    assert str(path) in error and message in error
    assert not out.exists()


def test_export_of_a_folder_names_it(tmp_path, capsys):
    assert main(["export", "snirf", str(tmp_path), str(tmp_path / "x.snirf")]) != 0
    error = _error(capsys)
    assert f"{tmp_path}: is a folder" in error


@pytest.mark.parametrize("duration", ["1e12", "86401"])
def test_acquire_refuses_an_absurd_duration(tmp_path, capsys, duration):
    assert main(["acquire", "--sim", "--duration", duration, "--out", str(tmp_path)]) == 2
    assert "at most 86400" in _error(capsys)
    assert list(tmp_path.iterdir()) == []


def _logger_csv(path, time_s, signals) -> None:
    rows = [f"{t:.3f},{a:.4f},{b:.4f}" for t, (a, b) in zip(time_s, signals, strict=True)]
    path.write_text("time,660,940\n" + "\n".join(rows) + "\n")


def test_jittered_csv_with_repeated_stamps_gives_the_regular_result(tmp_path, capsys):
    # A logger at 133 Hz stamping rows at 1 ms resolution with ±2 ms jitter: stamps repeat
    # and steps vary; the pulse rate and SpO2 match those of the regular time base.
    recording = synthesize(
        SyntheticPpg(sample_rate_hz=1000.0 / 7.5, duration_s=30.0), empirical_line()
    )
    rng = np.random.default_rng(4)
    stamped = np.maximum.accumulate(
        np.round(recording.time_s + rng.normal(0.0, 0.002, recording.time_s.size), 3)
    )
    assert np.any(np.diff(stamped) == 0.0)
    _logger_csv(tmp_path / "regular.csv", recording.time_s, recording.signals)
    _logger_csv(tmp_path / "logger.csv", stamped, recording.signals)
    assert main(["analyze", "ppg", str(tmp_path / "regular.csv"), "--json"]) == 0
    regular = capsys.readouterr()
    assert main(["analyze", "ppg", str(tmp_path / "logger.csv"), "--json"]) == 0
    jittered = capsys.readouterr()
    assert "irregular time base" in jittered.err and "repeated" in jittered.err
    assert "133.3 Hz" in jittered.err and "irregular" not in regular.err
    ours, truth = json.loads(jittered.out), json.loads(regular.out)
    assert ours["mean_pulse_rate_bpm"] == pytest.approx(truth["mean_pulse_rate_bpm"], abs=1.0)
    assert abs(ours["mean_pulse_rate_bpm"] - 72.0) < 1.5
    spo2 = np.array(ours["spo2_percent"], dtype=float)
    assert np.nanmedian(np.abs(spo2 - 97.0)) < 1.5


def test_csv_time_going_back_is_refused_naming_the_line(tmp_path, capsys):
    time_s = np.arange(500) * 0.01
    time_s[200] = time_s[198]
    signals = np.column_stack([np.full(500, 1000.0), np.full(500, 900.0)])
    _logger_csv(tmp_path / "back.csv", time_s, signals)
    assert main(["analyze", "ppg", str(tmp_path / "back.csv")]) == 2
    assert "line 202: time goes back" in _error(capsys)


@pytest.mark.parametrize(
    "command", [["acquire", "--sim", "--duration", "0.2"], ["run", "daily-qc"]]
)
def test_out_pointing_at_a_file_is_named(tmp_path, capsys, command):
    target = tmp_path / "notes.txt"
    target.write_text("keep")
    assert main([*command, "--sim", "--out", str(target)] if command[0] == "run" else
                [*command, "--out", str(target)]) == 2  # fmt: skip
    assert f"--out {target}: is a file, not a folder" in _error(capsys)
    assert target.read_text() == "keep"


def test_export_into_a_missing_folder_names_the_folder(sim_record, tmp_path, capsys):
    out = tmp_path / "missing" / "run.snirf"
    assert main(["export", "snirf", str(sim_record), str(out)]) != 0
    error = _error(capsys)
    assert f"the folder {out.parent} does not exist" in error and "/." not in error
