"""SRS StO2 against diffusion-theory data and against the simulated detector array's truth."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.optics import FarrellTable, farrell_reflectance_per_mm2
from drivers.sim.tissue import TissueConfig
from imaging.chromophores import absorption_per_mm, reduced_scattering_per_mm
from imaging.srs import spatially_resolved_sto2
from instrument.run_record import read_run_record
from protocols.sto2_input import sto2_map_from_run
from tests.test_snirf import write_sim_record

WAVELENGTHS = np.array([660.0, 760.0, 850.0, 940.0])
SCATTERING = (1.89, 1.286)  # the simulator's default a (mm⁻¹) and b


def tissue_reflectance(sto2_percent: float, hbt_um: float, rho_mm: np.ndarray) -> np.ndarray:
    """Farrell R(ρ) of the simulator's optics for a homogeneous tissue, shape (W, P)."""
    saturation = sto2_percent / 100.0
    mua = absorption_per_mm(WAVELENGTHS, hbt_um * saturation, hbt_um * (1 - saturation), 0.7)
    musp = reduced_scattering_per_mm(WAVELENGTHS, *SCATTERING)
    return farrell_reflectance_per_mm2(rho_mm[None, :], mua[:, None], musp[:, None])


@pytest.mark.parametrize("sto2", [35.0, 55.0, 72.3, 85.0, 97.0])
@pytest.mark.parametrize("hbt", [30.0, 60.0, 120.0])
def test_sto2_within_one_point_on_farrell_data(sto2, hbt):
    rho = np.linspace(12.0, 30.0, 10)
    result = spatially_resolved_sto2(tissue_reflectance(sto2, hbt, rho), rho, WAVELENGTHS)
    assert abs(float(result.sto2_percent) - sto2) < 1.0
    assert float(result.hbt_um) == pytest.approx(hbt, rel=0.01)
    # Suzuki's far-field TOI is close but biased at these distances.
    assert abs(float(result.toi_percent) - sto2) < 5.0


def test_two_detectors_and_two_wavelengths_with_known_water():
    rho = np.array([20.0, 30.0])
    reflectance = tissue_reflectance(65.0, 60.0, rho)[1:3]
    result = spatially_resolved_sto2(reflectance, rho, WAVELENGTHS[1:3], water_fraction=0.7)
    assert abs(float(result.sto2_percent) - 65.0) < 1.0
    with pytest.raises(ValueError, match="give the water fraction"):
        spatially_resolved_sto2(reflectance, rho, WAVELENGTHS[1:3])


def test_vectorised_over_pixels_with_interpolated_farrell_tables():
    # Pixels of a 6×5 patch at their own distances, each with its own StO2, from the
    # simulator's tabulated Farrell model (Hermite interpolation, not the closed form).
    rng = np.random.default_rng(4)
    rho = rng.uniform(12.0, 28.0, (6, 5, 8))
    sto2 = rng.uniform(40.0, 95.0, (6, 5))
    reflectance = np.empty((6, 5, len(WAVELENGTHS), 8))
    for k, wavelength in enumerate(WAVELENGTHS):
        musp = float(reduced_scattering_per_mm(wavelength, *SCATTERING))
        mua = absorption_per_mm(wavelength, 60.0 * sto2 / 100, 60.0 * (1 - sto2 / 100), 0.7)
        table = FarrellTable(rho, musp, (float(mua.min()), float(mua.max())))
        # The table gives every pixel at every μa: keep each pixel's own μa.
        every = table(mua.ravel()).reshape(6, 5, 6, 5, 8)
        rows, cols = np.indices((6, 5))
        reflectance[:, :, k] = every[rows, cols, rows, cols]
    result = spatially_resolved_sto2(reflectance, rho, WAVELENGTHS)
    assert result.sto2_percent.shape == (6, 5)
    np.testing.assert_allclose(result.sto2_percent, sto2, atol=1.0)


def test_wrong_scattering_amplitude_costs_a_few_points():
    rho = np.linspace(12.0, 30.0, 10)
    reflectance = tissue_reflectance(72.3, 60.0, rho)
    for factor in (0.7, 1.3):
        result = spatially_resolved_sto2(
            reflectance, rho, WAVELENGTHS, scattering_a_per_mm=SCATTERING[0] * factor
        )
        assert 0.3 < abs(float(result.sto2_percent) - 72.3) < 5.0


@pytest.mark.parametrize("spo2", [98.0, 80.0])
def test_sto2_map_of_a_simulated_run_matches_the_phantom_truth(tmp_path, spo2):
    tissue = TissueConfig(inclusion=None, spo2_trajectory=((0.0, spo2),))
    scene = write_sim_record(tmp_path / "run.h5", duration_s=1.0, tissue=tissue)
    record = read_run_record(tmp_path / "run.h5")
    result = sto2_map_from_run(record)
    truth = scene.tissue.truth(0.5)
    assert np.isfinite(result.sto2_percent).sum() >= 10
    assert abs(result.median_sto2_percent - truth["sto2_percent"]) < 1.0
    assert abs(result.median_toi_percent - truth["sto2_percent"]) < 4.0
    assert float(np.nanmedian(result.hbt_um)) == pytest.approx(truth["tissue_hbt_um"], rel=0.05)
    # Regions nearer the LED than 10 mm are withheld.
    assert np.all(np.isnan(result.sto2_percent[result.distance_mm < 10.0]))


def test_sto2_map_refuses_what_it_cannot_use(tmp_path):
    write_sim_record(tmp_path / "run.h5", duration_s=0.2, pattern=((760, 0.4), (850, 0.4)))
    record = read_run_record(tmp_path / "run.h5")
    with pytest.raises(ValueError, match="needs 3 or more LED wavelengths"):
        sto2_map_from_run(record)
    with pytest.raises(ValueError, match="region size"):
        sto2_map_from_run(record, region_px=100, water_fraction=0.7)
