"""``nirpoct reconstruct`` refuses what it cannot calibrate: one line on stderr, non-zero exit."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from imaging.dot_forward import cw_measurements
from instrument.snirf import NirsData, write_snirf
from protocols.cli import main
from tests.dot_cases import case_files

THICKNESS_MM = 40.0


def small_recording() -> NirsData:
    """A 2×2 transmission probe over a homogeneous slab (analytic model), 3 frames."""
    offsets = np.array([[-10.0, -10.0], [-10.0, 10.0], [10.0, -10.0], [10.0, 10.0]])
    sources = np.column_stack([offsets, np.zeros(4)])
    detectors = np.column_stack([offsets, np.full(4, THICKNESS_MM)])
    s_idx, d_idx = (i.ravel() for i in np.meshgrid(np.arange(4), np.arange(4), indexing="ij"))
    signal = cw_measurements(sources, detectors, s_idx, d_idx, 0.01, 1.0, THICKNESS_MM)
    return NirsData(
        time_s=np.arange(3.0),
        values=np.tile(signal, (3, 1)),
        source_index=s_idx + 1,
        detector_index=d_idx + 1,
        wavelength_index=np.ones(16, dtype=np.int64),
        wavelengths_nm=np.array([800.0]),
        source_positions_mm=sources,
        detector_positions_mm=detectors,
    )


@pytest.fixture
def files(tmp_path):
    """Measurement and baseline files of the small probe."""
    data = small_recording()
    paths = tmp_path / "meas.snirf", tmp_path / "base.snirf"
    for path in paths:
        write_snirf(path, data)
    return paths


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["reconstruct", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, expected_code: int, *words: str) -> None:
    assert code == expected_code
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nirpoct: error:")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


def test_small_files_reconstruct(capsys, files):
    """The small probe itself is valid: identical files give no inclusion."""
    measurement, baseline = files
    code, out, err = run(
        capsys,
        measurement,
        "--baseline",
        baseline,
        "--slab-thickness-mm",
        THICKNESS_MM,
        "--mua",
        "0.01",
        "--musp",
        "1.0",
    )
    assert code == 0, err
    assert "no inclusion found" in out


def test_missing_baseline_is_refused(capsys, files):
    measurement, _ = files
    code, out, err = run(capsys, measurement, "--slab-thickness-mm", THICKNESS_MM)
    assert_one_line_error(code, err, 2, "uncalibrated", "--baseline")
    assert out == ""


def test_zero_intensity_is_refused(capsys, tmp_path, files):
    measurement = small_recording()
    values = measurement.values.copy()
    values[:, 7] = 0.0
    path = tmp_path / "zero.snirf"
    write_snirf(path, dataclasses.replace(measurement, values=values))
    code, _, err = run(capsys, path, "--baseline", files[1], "--slab-thickness-mm", THICKNESS_MM)
    assert_one_line_error(code, err, 2, "zero or negative", "measurement 8")


def test_mismatched_measurement_lists_are_refused(capsys, tmp_path, files):
    baseline = small_recording()
    keep = np.arange(baseline.measurement_count - 1)
    shorter = dataclasses.replace(
        baseline,
        values=baseline.values[:, keep],
        source_index=baseline.source_index[keep],
        detector_index=baseline.detector_index[keep],
        wavelength_index=baseline.wavelength_index[keep],
    )
    path = tmp_path / "shorter.snirf"
    write_snirf(path, shorter)
    code, _, err = run(capsys, files[0], "--baseline", path, "--slab-thickness-mm", THICKNESS_MM)
    assert_one_line_error(code, err, 2, "different measurement lists")


def test_processed_data_is_refused(capsys, tmp_path):
    measurement = small_recording()
    processed = dataclasses.replace(
        measurement,
        data_type=99999,
        data_type_labels=("HbO",) * measurement.measurement_count,
        wavelength_index=np.zeros(measurement.measurement_count, dtype=np.int64),
    )
    path = tmp_path / "hb.snirf"
    write_snirf(path, processed)
    code, _, err = run(capsys, path, "--baseline", path, "--slab-thickness-mm", THICKNESS_MM)
    assert_one_line_error(code, err, 2, "processed")


def test_wrong_slab_thickness_is_refused(capsys, files):
    measurement, baseline = files
    code, _, err = run(capsys, measurement, "--baseline", baseline, "--slab-thickness-mm", 30)
    assert_one_line_error(code, err, 2, "--slab-thickness-mm")


def test_wrong_number_of_background_values_is_refused(capsys, files):
    measurement, baseline = files
    code, _, err = run(
        capsys,
        measurement,
        "--baseline",
        baseline,
        "--slab-thickness-mm",
        THICKNESS_MM,
        "--mua",
        "0.01,0.02",
        "--musp",
        "1",
    )
    assert_one_line_error(code, err, 2, "--mua", "one value per wavelength")


def test_missing_file_is_reported(capsys, tmp_path, files):
    code, _, err = run(
        capsys, tmp_path / "absent.snirf", "--baseline", files[1], "--slab-thickness-mm", 40
    )
    assert code != 0
    assert len(err.strip().splitlines()) == 1
    assert "absent.snirf" in err


def test_bad_background_list_is_a_usage_error(capsys, files):
    measurement, baseline = files
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "reconstruct",
                str(measurement),
                "--baseline",
                str(baseline),
                "--slab-thickness-mm",
                "40",
                "--mua",
                "0.01,abc",
            ]
        )
    assert exit_info.value.code == 2
    assert "comma-separated numbers" in capsys.readouterr().err


def test_out_equal_to_an_input_is_refused(capsys, files):
    """--out naming the measurement (even by another path) leaves it untouched."""
    measurement, baseline = files
    before = measurement.read_bytes()
    other_name = measurement.parent / "." / measurement.name
    code, _, err = run(
        capsys, measurement, "--baseline", baseline, "--slab-thickness-mm", THICKNESS_MM,
        "--mua", "0.01", "--musp", "1.0", "--out", other_name, "--force",
    )  # fmt: skip
    assert_one_line_error(code, err, 2, "--out", "input file")
    assert measurement.read_bytes() == before


def test_existing_out_needs_force(capsys, tmp_path, files):
    measurement, baseline = files
    out = tmp_path / "maps.h5"
    out.write_bytes(b"keep me")
    argv = [measurement, "--baseline", baseline, "--slab-thickness-mm", THICKNESS_MM]
    argv += ["--mua", "0.01", "--musp", "1.0", "--out", out]
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, 2, "exists", "--force")
    assert out.read_bytes() == b"keep me"
    code, _, err = run(capsys, *argv, "--force")
    assert code == 0, err
    with h5py.File(out) as root:
        assert "maps/mua" in root
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.snirf", "maps.h5", "meas.snirf"]


def test_different_wavelength_count_is_named(capsys, tmp_path, files):
    baseline = dataclasses.replace(small_recording(), wavelengths_nm=np.array([800.0, 850.0]))
    path = tmp_path / "two.snirf"
    write_snirf(path, baseline)
    code, _, err = run(capsys, files[0], "--baseline", path, "--slab-thickness-mm", THICKNESS_MM)
    assert_one_line_error(code, err, 2, "wavelengths differ", "[800.0]", "[800.0, 850.0]")


def test_tilted_probe_is_refused(capsys, tmp_path):
    tilted = small_recording()
    detectors = tilted.detector_positions_mm.copy()
    detectors[:, 2] += 0.2 * detectors[:, 0]  # 11° tilt of the detector plane
    tilted = dataclasses.replace(tilted, detector_positions_mm=detectors)
    path = tmp_path / "tilted.snirf"
    write_snirf(path, tilted)
    code, _, err = run(capsys, path, "--baseline", path, "--slab-thickness-mm", THICKNESS_MM)
    assert_one_line_error(code, err, 2, "planes of constant z", "tilted")


def test_duplicate_wavelengths_are_refused(capsys, tmp_path):
    single = small_recording()
    doubled = dataclasses.replace(
        single,
        values=np.hstack([single.values, single.values]),
        source_index=np.tile(single.source_index, 2),
        detector_index=np.tile(single.detector_index, 2),
        wavelength_index=np.repeat([1, 2], single.measurement_count),
        wavelengths_nm=np.array([800.0, 800.0]),
    )
    path = tmp_path / "doubled.snirf"
    write_snirf(path, doubled)
    code, _, err = run(capsys, path, "--baseline", path, "--slab-thickness-mm", THICKNESS_MM)
    assert_one_line_error(code, err, 2, "duplicate wavelengths")


def test_too_many_voxels_are_refused_up_front(capsys):
    """The pad at 0.5 mm would need tens of GB: refused before any matrix is built."""
    measurement, baseline = case_files("pad")
    code, _, err = run(
        capsys, measurement, "--baseline", baseline, "--slab-thickness-mm", 50,
        "--voxel-mm", 0.5,
    )  # fmt: skip
    assert_one_line_error(code, err, 2, "GB", "--voxel-mm")
    suggested = float(err.split("--voxel-mm ")[1].split()[0])
    assert 0.5 < suggested < 4.0
