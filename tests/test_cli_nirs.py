"""``nirpoct export snirf`` and ``nirpoct analyze nirs``, end to end through the simulator."""

from __future__ import annotations

import json
import re
import warnings

import h5py
import mne
import numpy as np
import pytest

from instrument.config import load_config
from instrument.instrument import Instrument
from instrument.run_record import read_run_record
from instrument.snirf import read_snirf
from protocols.cli import main
from tests.test_snirf import read_with_mne, validate_snirf, write_sim_record


@pytest.fixture(scope="module")
def acquired_record(tmp_path_factory):
    """One second acquired from the simulated board through the whole instrument stack."""
    config, text = load_config(None)
    with Instrument(config, text) as instrument:
        result = instrument.acquire(1.0, tmp_path_factory.mktemp("runs"), subject_id="QL-7")
    return result.record_path


def test_export_of_an_acquired_run_is_valid_snirf(acquired_record, tmp_path, capsys):
    record = read_run_record(acquired_record)
    assert record.probe["pixel_pitch_mm"] == 0.4
    np.testing.assert_allclose(record.probe["led_xy_mm"], [12.8, -4.8])
    out = tmp_path / "run.snirf"
    args = ["export", "snirf", str(acquired_record), str(out), "--region-px", "16", "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["wavelengths_nm"] == [660, 760, 850, 940]
    # 16 regions of 16×16 pixels; the LED's neighbours clip and the far corner is near dark.
    left_out = summary["saturated_regions"] + summary["near_dark_regions"]
    assert summary["saturated_regions"] > 0 and summary["near_dark_regions"] > 0
    assert summary["detectors"] == 16 - left_out
    assert validate_snirf(out)
    data = read_snirf(out)
    assert data.metadata["SubjectID"] == record.metadata["subject_pseudonym"]
    assert data.metadata["SubjectID"].startswith("sub-")
    raw = read_with_mne(out)
    assert len(raw.ch_names) == 4 * summary["detectors"]
    assert raw.info["sfreq"] == pytest.approx(50.0, rel=0.01)


def test_analyze_nirs_writes_haemoglobin_that_mne_reads(tmp_path, capsys):
    write_sim_record(tmp_path / "run.h5", duration_s=2.0)
    cw = tmp_path / "run.snirf"
    assert main(["export", "snirf", str(tmp_path / "run.h5"), str(cw), "--region-px", "16"]) == 0
    capsys.readouterr()
    hb_path = tmp_path / "hb.snirf"
    code = main(["analyze", "nirs", str(cw), "--dpf", "6.5", "--out", str(hb_path), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    channels = summary["channels"]
    assert channels == read_snirf(cw).detector_positions_mm.shape[0]
    assert summary["dpf"] == [6.5] * 4
    assert validate_snirf(hb_path)
    hb = read_with_mne(hb_path)
    assert hb.get_channel_types() == ["hbo", "hbr"] * channels
    # The same numbers as MNE's own pipeline on the exported amplitudes (µM vs M).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = read_with_mne(cw)
        theirs = mne.preprocessing.nirs.beer_lambert_law(
            mne.preprocessing.nirs.optical_density(raw, verbose="error"), ppf=6.5
        )
    order = [theirs.ch_names.index(name) for name in hb.ch_names]
    expected = theirs.get_data()[order]
    np.testing.assert_allclose(
        hb.get_data(), expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max()
    )


def test_baseline_window_sets_the_reference(tmp_path, capsys):
    write_sim_record(tmp_path / "run.h5", duration_s=2.0)
    cw = tmp_path / "run.snirf"
    main(["export", "snirf", str(tmp_path / "run.h5"), str(cw), "--region-px", "16"])
    args = ["analyze", "nirs", str(cw), "--age", "40", "--out"]
    assert main([*args, str(tmp_path / "mean.snirf")]) == 0
    assert main([*args, str(tmp_path / "window.snirf"), "--baseline", "0:0.5"]) == 0
    assert "baseline 0:0.5 s" in capsys.readouterr().out
    mean, window = read_snirf(tmp_path / "mean.snirf"), read_snirf(tmp_path / "window.snirf")
    # Another reference only shifts each channel by a constant ...
    shift = window.values - mean.values
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-9)
    # ... that brings the window's changes to ~0 (the mean of ln I, not ln of the mean I).
    inside = window.time_s < 0.5
    swing = np.ptp(window.values, axis=0)
    assert np.all(np.abs(window.values[inside].mean(axis=0)) <= 0.01 * swing + 1e-12)
    assert np.abs(mean.values[inside].mean(axis=0)).max() > 0.1 * swing.max()


def _damaged(tmp_path, how: str):
    path = tmp_path / f"{how}.snirf"
    if how == "text":
        path.write_text("plain text")
        return path
    write_sim_record(tmp_path / "run.h5", duration_s=0.3)
    main(["export", "snirf", str(tmp_path / "run.h5"), str(path), "--region-px", "16"])
    with h5py.File(path, "r+") as root:
        if how == "no data":
            del root["nirs/data1"]
        elif how == "time":
            root["nirs/data1/time"][3] = 0.0
    return path


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("text", "not an HDF5"),
        ("no data", "missing /nirs/data1"),
        ("time", "time is not strictly increasing"),
    ],
)
def test_bad_files_give_one_error_line(tmp_path, capsys, how, message):
    path = _damaged(tmp_path, how)
    capsys.readouterr()
    assert main(["analyze", "nirs", str(path)]) != 0
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0]
    assert "Traceback" not in captured.err


def test_cli_refuses_haemoglobin_input_and_bad_options(tmp_path, capsys):
    write_sim_record(tmp_path / "run.h5", duration_s=0.5)
    cw, hb = tmp_path / "run.snirf", tmp_path / "hb.snirf"
    main(["export", "snirf", str(tmp_path / "run.h5"), str(cw), "--region-px", "16"])
    main(["analyze", "nirs", str(cw), "--out", str(hb)])
    capsys.readouterr()
    assert main(["analyze", "nirs", str(hb)]) == 2
    assert "needs CW amplitude data" in capsys.readouterr().err
    assert main(["analyze", "nirs", str(cw), "--baseline", "5:6"]) == 2
    assert "holds no sample" in capsys.readouterr().err
    assert main(["export", "snirf", str(cw), str(tmp_path / "x.snirf")]) == 2
    assert "not a nirpoct-run file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["analyze", "nirs", str(cw), "--baseline", "6:5"])
    assert exited.value.code == 2
    assert "END must exceed START" in capsys.readouterr().err


def _error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    return lines[0]


def test_outputs_never_overwrite_the_input_a_run_record_or_unasked_files(tmp_path, capsys):
    record = tmp_path / "run.h5"
    write_sim_record(record, duration_s=0.3)
    original = record.read_bytes()
    assert main(["export", "snirf", str(record), str(record)]) == 2
    assert "output is the input file" in _error_line(capsys)
    assert main(["export", "snirf", str(record), str(tmp_path / "." / "run.h5")]) == 2
    assert "output is the input file" in _error_line(capsys)
    cw = tmp_path / "run.snirf"
    assert main(["export", "snirf", str(record), str(cw), "--region-px", "16"]) == 0
    capsys.readouterr()
    assert main(["export", "snirf", str(record), str(cw), "--region-px", "16"]) == 2
    assert "exists (use --force" in _error_line(capsys)
    assert main(["export", "snirf", str(record), str(cw), "--region-px", "16", "--force"]) == 0
    capsys.readouterr()
    assert main(["analyze", "nirs", str(cw), "--out", str(cw), "--force"]) == 2
    assert "output is the input file" in _error_line(capsys)
    assert main(["analyze", "nirs", str(cw), "--out", str(record), "--force"]) == 2
    assert "is a run record" in _error_line(capsys)
    assert record.read_bytes() == original
    assert read_snirf(cw).data_type == 1


def test_export_says_how_many_regions_it_left_out(tmp_path, capsys):
    write_sim_record(tmp_path / "run.h5", duration_s=0.3)
    out = tmp_path / "run.snirf"
    assert main(["export", "snirf", str(tmp_path / "run.h5"), str(out), "--region-px", "8"]) == 0
    text = capsys.readouterr().out
    kept = read_snirf(out).detector_positions_mm.shape[0]
    match = re.search(r"(\d+) saturated and (\d+) near-dark regions left out", text)
    assert match and kept + int(match[1]) + int(match[2]) == 64 and kept < 64
    args = ["export", "snirf", str(tmp_path / "run.h5"), str(out), "--force", "--keep-unreliable"]
    assert main(args) == 0
    assert "regions kept" in capsys.readouterr().out
    assert read_snirf(out).detector_positions_mm.shape[0] == 64


def test_a_bad_sample_is_named_by_file_channel_wavelength_and_time(tmp_path, capsys):
    write_sim_record(tmp_path / "run.h5", duration_s=0.5)
    cw = tmp_path / "run.snirf"
    main(["export", "snirf", str(tmp_path / "run.h5"), str(cw), "--region-px", "16"])
    data = read_snirf(cw)
    with h5py.File(cw, "r+") as root:
        root["nirs/data1/dataTimeSeries"][7, 5] = 0.0  # second detector, 760 nm
    capsys.readouterr()
    assert main(["analyze", "nirs", str(cw)]) == 2
    line = _error_line(capsys)
    expected = f"channel S1-D2 at 760 nm has intensity 0 at t = {data.time_s[7]:g} s (sample 8)"
    assert str(cw) in line and expected in line


def test_baseline_with_a_negative_start_and_stimuli_reach_the_output(tmp_path, capsys):
    write_sim_record(tmp_path / "run.h5", duration_s=1.0)
    cw = tmp_path / "run.snirf"
    main(["export", "snirf", str(tmp_path / "run.h5"), str(cw), "--region-px", "16"])
    with h5py.File(cw, "r+") as root:
        stim = root["nirs"].create_group("stim1")
        stim.create_dataset("name", data="squeeze", dtype=h5py.string_dtype())
        stim.create_dataset("data", data=[[0.2, 0.3, 1.0], [0.6, 0.3, 1.0]])
    hb = tmp_path / "hb.snirf"
    assert main(["analyze", "nirs", str(cw), "--baseline=-5:0.5", "--out", str(hb)]) == 0
    assert "baseline -5:0.5 s" in capsys.readouterr().out
    given, written = read_with_mne(cw).annotations, read_with_mne(hb).annotations
    assert list(written.description) == list(given.description) == ["squeeze", "squeeze"]
    np.testing.assert_allclose(written.onset, given.onset)
    np.testing.assert_allclose(written.duration, [0.3, 0.3])
    with pytest.raises(SystemExit):
        main(["analyze", "nirs", str(cw), "--baseline", "5"])
    assert "--baseline=-5:-1" in capsys.readouterr().err
