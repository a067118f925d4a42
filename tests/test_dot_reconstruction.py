"""DOT reconstructions of finite-volume phantom data (no inverse crime) against ground truth.

The committed SNIRF files in tests/data/dot come from `tests.dot_cases` (finite-volume diffusion
on a 1.5 mm grid of a finite box, 1 % noise per frame); the reconstruction uses the analytic
image-source slab model on a 4 mm grid.
"""

from __future__ import annotations

import dataclasses
import json

import h5py
import numpy as np
import pytest

from drivers.sim.dot_phantom import SlabPhantom, Sphere, transmission_slab_case
from imaging.dot_grid import VoxelGrid, probe_grid
from imaging.dot_inverse import depth_weights, tikhonov_reconstruct
from imaging.dot_jacobian import rytov_jacobian
from imaging.lesions import find_inclusions
from instrument.dot_input import dot_input
from instrument.snirf import read_snirf
from protocols.analyses.dot import DotOptions, reconstruct_snirf, result_summary, write_dot_maps
from protocols.cli import main
from tests.dot_cases import DATA_DIR, case_files, nirs_data

TRUTH = json.loads((DATA_DIR / "truth.json").read_text())


def centre(truth: dict) -> np.ndarray:
    return np.array([truth["x_mm"], truth["y_mm"], truth["z_mm"]])


def given_optics(truth: dict) -> list[str]:
    return [
        "--mua",
        ",".join(str(v) for v in truth["mua_per_mm"]),
        "--musp",
        ",".join(str(v) for v in truth["musp_per_mm"]),
    ]


@pytest.fixture(scope="module")
def slab_recordings():
    return tuple(read_snirf(p) for p in case_files("slab"))


@pytest.fixture(scope="module")
def pad_recordings():
    return tuple(read_snirf(p) for p in case_files("pad"))


def pad_options(**changes) -> DotOptions:
    truth = TRUTH["pad"]
    settings = {
        "thickness_mm": truth["thickness_mm"],
        "mua_per_mm": tuple(truth["mua_per_mm"]),
        "musp_per_mm": tuple(truth["musp_per_mm"]),
        "voxel_mm": 4.0,
    }
    return DotOptions(**{**settings, **changes})


@pytest.fixture(scope="module")
def pad_result(pad_recordings):
    return reconstruct_snirf(*pad_recordings, pad_options())


def test_transmission_slab_via_cli_json(capsys, tmp_path):
    truth = TRUTH["slab"]
    measurement, baseline = case_files("slab")
    out = tmp_path / "slab.h5"
    code = main(
        [
            "reconstruct",
            str(measurement),
            "--baseline",
            str(baseline),
            "--slab-thickness-mm",
            str(truth["thickness_mm"]),
            *given_optics(truth),
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    strongest = summary["inclusions"][0]
    error = np.array(strongest["centroid_mm"]) - centre(truth)
    assert np.linalg.norm(error) <= 3.5
    assert abs(error[2]) <= 3.5
    assert strongest["peak_contrast"] >= 1.3
    assert summary["background"]["variation_percent"] <= 2.0
    assert summary["background"]["mua_per_mm"] == pytest.approx(truth["mua_per_mm"][0], rel=0.02)
    with h5py.File(out) as root:
        mua = root["maps/mua"]
        assert mua.attrs["units"] == "mm^-1"
        assert [d.label for d in mua.dims] == ["x_mm", "y_mm", "z_mm"]
        z_axis = mua.dims[2][0][()]
        assert z_axis.min() > 0 and z_axis.max() < truth["thickness_mm"]
        peak = np.unravel_index(np.argmax(mua[()]), mua.shape)
        peak_mm = [mua.dims[k][0][peak[k]] for k in range(3)]
        np.testing.assert_allclose(peak_mm, strongest["peak_mm"], atol=1e-6)


def test_reflectance_pad_finds_the_hypoxic_lesion(pad_result):
    truth = TRUTH["pad"]
    summary = result_summary(pad_result)
    lesion = summary["inclusions"][0]
    error = np.array(lesion["centroid_mm"]) - centre(truth)
    assert np.linalg.norm(error) <= 3.5
    assert abs(error[2]) <= 3.5
    assert abs(lesion["sto2_percent"] - truth["sto2_percent"]) <= 10.0
    assert lesion["hbt_um"] > truth["background_hbt_um"] * 1.3
    background = summary["background"]
    assert background["variation_percent"] <= 2.0
    assert background["hbt_um"] == pytest.approx(truth["background_hbt_um"], rel=0.05)
    assert background["sto2_percent"] == pytest.approx(truth["background_sto2_percent"], abs=3)


def test_pad_maps_are_consistent(pad_result, tmp_path):
    maps = pad_result.maps
    np.testing.assert_allclose(maps["hbt"], maps["hbo2"] + maps["hb"])
    np.testing.assert_allclose(maps["sto2"], 100 * maps["hbo2"] / maps["hbt"])
    path = tmp_path / "pad.h5"
    write_dot_maps(path, pad_result)
    with h5py.File(path) as root:
        assert set(root["maps"]) >= {"hbt", "sto2", "hbo2", "hb", "mua_760nm", "mua_850nm"}
        assert root["maps/sto2"].attrs["units"] == "%"
        assert json.loads(root.attrs["summary_json"])["inclusions"]


def test_iterative_reconstruction_beats_linear_contrast(slab_recordings):
    truth = TRUTH["slab"]
    measurement, baseline = slab_recordings
    common = {
        "thickness_mm": truth["thickness_mm"],
        "mua_per_mm": tuple(truth["mua_per_mm"]),
        "musp_per_mm": tuple(truth["musp_per_mm"]),
        "voxel_mm": 5.0,
    }
    linear = reconstruct_snirf(measurement, baseline, DotOptions(**common, method="linear"))
    iterative = reconstruct_snirf(measurement, baseline, DotOptions(**common, rule="lcurve"))
    mua = truth["mua_per_mm"][0]
    linear_contrast = linear.maps["mua"].max() / mua
    assert iterative.inclusions[0].peak_contrast > linear_contrast + 0.1
    error = np.subtract(iterative.inclusions[0].centroid_mm, centre(truth))
    assert np.linalg.norm(error) <= 5.0
    peak = np.unravel_index(np.argmax(linear.maps["mua"]), linear.grid.shape)
    axes = (linear.grid.x_mm, linear.grid.y_mm, linear.grid.z_mm)
    linear_peak = [axis[i] for axis, i in zip(axes, peak, strict=True)]
    assert np.linalg.norm(np.subtract(linear_peak, centre(truth))) <= 5.0


def test_background_fitted_from_the_baseline(slab_recordings):
    """μa is fitted to the baseline when only μs' is given."""
    truth = TRUTH["slab"]
    measurement, baseline = slab_recordings
    options = DotOptions(
        thickness_mm=truth["thickness_mm"], musp_per_mm=tuple(truth["musp_per_mm"]), voxel_mm=6
    )
    result = reconstruct_snirf(measurement, baseline, options)
    assert result.background_mua_per_mm[0] == pytest.approx(truth["mua_per_mm"][0], rel=0.05)
    error = np.subtract(result.inclusions[0].centroid_mm, centre(truth))
    assert np.linalg.norm(error) <= 5.0


def test_generator_reduced_case_round_trip():
    """The phantom generator runs end to end on a small, coarse case."""
    case = transmission_slab_case(
        step_mm=3.0, width_mm=72.0, thickness_mm=36.0, probes_per_side=3, pitch_mm=15.0, seed=5
    )
    assert isinstance(case.phantom, SlabPhantom)
    assert isinstance(case.phantom.spheres[0], Sphere)
    options = DotOptions(thickness_mm=36.0, mua_per_mm=(0.01,), musp_per_mm=(1.0,), voxel_mm=4)
    result = reconstruct_snirf(
        nirs_data(case, case.measurement), nirs_data(case, case.baseline), options
    )
    assert np.mean(np.log(case.measurement.mean(0) / case.baseline.mean(0))) < 0
    error = np.subtract(result.inclusions[0].centroid_mm, centre(case.truth))
    assert np.linalg.norm(error) <= 6.0


def test_find_inclusions_separates_two_blobs():
    grid = VoxelGrid(
        np.arange(0, 60.0, 2) + 1, np.arange(0, 40.0, 2) + 1, np.arange(0, 30.0, 2) + 1
    )
    points = grid.centers_mm.reshape(*grid.shape, 3)

    def blob(center, amplitude):
        return amplitude * np.exp(-np.sum((points - center) ** 2, axis=-1) / (2 * 3.0**2))

    values = 1.0 + blob([15, 20, 10], 0.8) + blob([45, 21, 18], 1.2)
    inclusions, background = find_inclusions(values, grid, 1.0)
    assert len(inclusions) == 2
    np.testing.assert_allclose(inclusions[0].centroid_mm, [45, 21, 18], atol=1.0)
    np.testing.assert_allclose(inclusions[1].centroid_mm, [15, 20, 10], atol=1.0)
    assert inclusions[0].peak_contrast == pytest.approx(2.2, abs=0.1)
    assert background.mean == pytest.approx(1.0, abs=0.01)
    flat, _ = find_inclusions(np.ones(grid.shape), grid, 1.0)
    assert flat == []


def test_depth_compensation_keeps_the_lesion_deep(pad_recordings):
    """Without depth compensation the linear solution is pulled towards the probe."""
    truth = TRUTH["pad"]
    data = dot_input(*pad_recordings, truth["thickness_mm"])
    rows = data.wavelength_index == 1
    grid = probe_grid(data.sources_mm, data.detectors_mm, data.thickness_mm, 4.0)
    jac = rytov_jacobian(
        data.sources_mm,
        data.detectors_mm,
        data.source_index[rows],
        data.detector_index[rows],
        grid.centers_mm,
        grid.voxel_volume_mm3,
        truth["mua_per_mm"][1],
        truth["musp_per_mm"][1],
        data.thickness_mm,
    )
    y = data.log_ratio[rows]
    depths = {}
    for power in (0.0, 0.5):
        weights = depth_weights(jac, grid.shape, power=power)
        x = tikhonov_reconstruct(jac, y, weights).x.reshape(grid.shape)
        depths[power] = grid.z_mm[np.unravel_index(np.argmax(x), grid.shape)[2]]
    assert truth["z_mm"] - depths[0.0] > 3.5
    assert abs(depths[0.5] - truth["z_mm"]) <= 3.5


@pytest.mark.parametrize("name", ["slab", "pad"])
def test_noise_alone_gives_no_inclusion(name, slab_recordings, pad_recordings):
    """Two noisy frames of the baseline against each other: nothing to report."""
    baseline = {"slab": slab_recordings, "pad": pad_recordings}[name][1]
    first, second = (
        dataclasses.replace(baseline, values=baseline.values[k : k + 1], time_s=baseline.time_s[:1])
        for k in (0, 1)
    )
    truth = TRUTH[name]
    options = DotOptions(
        thickness_mm=truth["thickness_mm"],
        mua_per_mm=tuple(truth["mua_per_mm"]),
        musp_per_mm=tuple(truth["musp_per_mm"]),
        voxel_mm=5.0,
    )
    result = reconstruct_snirf(first, second, options)
    assert result.inclusions == []
    assert result.background.variation_percent <= 2.0


def scaled(recording, factor: float, rows=None):
    """The recording with every (or the selected) channel multiplied by a gain factor."""
    values = recording.values.copy()
    values[:, slice(None) if rows is None else rows] *= factor
    return dataclasses.replace(recording, values=values)


@pytest.mark.parametrize(("name", "factor"), [("pad", 1.01), ("pad", 1.03), ("slab", 1.03)])
def test_gain_drift_alone_gives_no_inclusion(name, factor, slab_recordings, pad_recordings):
    """A 1-3 % source/detector gain change between recordings is not absorption."""
    baseline = {"slab": slab_recordings, "pad": pad_recordings}[name][1]
    truth = TRUTH[name]
    options = DotOptions(
        thickness_mm=truth["thickness_mm"],
        mua_per_mm=tuple(truth["mua_per_mm"]),
        musp_per_mm=tuple(truth["musp_per_mm"]),
        voxel_mm=5.0,
    )
    result = reconstruct_snirf(scaled(baseline, factor), baseline, options)
    assert result.inclusions == []
    assert abs(result.background.variation_percent) <= 2.0


def test_gain_drift_of_one_wavelength_keeps_the_saturation(pad_recordings, pad_result):
    """850 nm 3 % darker in the measurement: the lesion's StO2 is unchanged."""
    measurement, baseline = pad_recordings
    drifted = scaled(measurement, 0.97, measurement.wavelength_index == 2)
    result = reconstruct_snirf(drifted, baseline, pad_options())
    assert len(result.inclusions) == 1
    sto2 = result.inclusions[0].sto2_percent
    assert sto2 == pytest.approx(pad_result.inclusions[0].sto2_percent, abs=0.5)
    assert abs(sto2 - TRUTH["pad"]["sto2_percent"]) <= 10.0


def test_implausible_reconstruction_is_refused(pad_recordings):
    """Noise fitted with almost no regularisation is refused, not reported as lesions."""
    baseline = pad_recordings[1]
    first, second = (
        dataclasses.replace(baseline, values=baseline.values[k : k + 1], time_s=baseline.time_s[:1])
        for k in (0, 1)
    )
    with pytest.raises(ValueError, match="inconsistent with the background optics"):
        reconstruct_snirf(first, second, pad_options(voxel_mm=5.0, alpha=1e-6))


def test_scattering_fitted_with_the_given_absorption(slab_recordings):
    """--mua alone: μs' is fitted with μa held at the given value (truth 1.0 mm⁻¹)."""
    truth = TRUTH["slab"]
    options = DotOptions(
        thickness_mm=truth["thickness_mm"], mua_per_mm=tuple(truth["mua_per_mm"]), voxel_mm=5.0
    )
    result = reconstruct_snirf(*slab_recordings, options)
    assert result.background_mua_per_mm[0] == truth["mua_per_mm"][0]
    assert result.background_musp_per_mm[0] == pytest.approx(truth["musp_per_mm"][0], rel=0.05)
    assert result.inclusions[0].peak_contrast >= 1.25
