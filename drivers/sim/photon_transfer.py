"""Simulated EMVA 1288 photon-transfer measurement of the scene's sensor, with known truth.

A flat field (as from an integrating sphere) of constant photon flux illuminates the sensor
held at a fixed temperature; the exposure time steps linearly from t_max / steps to
beyond saturation. The result is plain arrays keyed by HDF5 dataset path (the layout of
`calibration.photon_transfer`), so that this package stays free of `calibration` imports.
"""

from collections.abc import Sequence
from os import PathLike
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from drivers.sim.scene import Scene
from drivers.sim.sensor import SensorConfig, SensorModel
from drivers.sim.tissue import TissueConfig

NOISE_STREAM = 1288
"""Second seed word of the temporal-noise generator, (seed, NOISE_STREAM)."""


def simulate_photon_transfer(
    seed: int,
    *,
    height: int = 32,
    width: int = 32,
    steps: int = 50,
    wavelength_nm: float = 850.0,
    temperature_c: float = 40.0,
    max_exposure_s: float = 0.1,
    overexposure: float = 1.3,
    spatial_frames: int = 32,
    dark_current_temperatures_c: tuple[float, ...] = (34.0, 41.0, 48.0, 55.0),
    dark_current_frames: int = 32,
    dark_current_exposure_s: float = 0.02,
    sensor: SensorConfig | None = None,
) -> tuple[dict[str, NDArray[Any]], dict[str, dict[str, float | int]], dict[str, Any]]:
    """Photon-transfer frames of `Scene(seed)`'s sensor and the figures it should yield.

    Parameters
    ----------
    seed : int
        Scene seed (pixel maps); the temporal noise uses the generator (seed, NOISE_STREAM).
    height, width : int
        Pixel array size.
    steps : int
        Exposure steps of the temporal series.
    wavelength_nm : float
        Illumination wavelength, nm.
    temperature_c : float
        Sensor temperature of the temporal and spatial sets, °C.
    max_exposure_s : float
        Longest exposure, s; the photon flux is set so that it collects `overexposure` times
        the full well (mean pixel).
    overexposure : float
        Collected charge at the longest exposure relative to the full well.
    spatial_frames : int
        Frames L of each spatial stack; the bright one at 50 % of the full well.
    dark_current_temperatures_c : tuple of float
        Temperatures of the dark-current stacks, °C; empty for none.
    dark_current_frames : int
        Frames M per dark-current temperature.
    dark_current_exposure_s : float
        Exposure of the dark-current frames, s.
    sensor : SensorConfig, optional
        Sensor parameters; default `SensorConfig(exact_shot_noise=True)`.

    Returns
    -------
    datasets : dict
        HDF5 dataset path → array (frames uint16 DN, exposures s, photons, °C).
    attrs : dict
        HDF5 object path ("/" for the root) → attribute name → value.
    truth : dict
        Expected EMVA 1288 figures, keyed like ``Emva1288Result.to_json_dict()``, plus
        ``temperature_c``; defect pixels as sorted lists of [row, col].
    """
    scene = Scene(
        seed,
        tissue=TissueConfig(rows=height, cols=width),
        sensor=sensor or SensorConfig(exact_shot_noise=True),
    )
    model = scene.sensor
    rng = np.random.default_rng([seed, NOISE_STREAM])
    truth = sensor_truth(model, wavelength_nm, temperature_c)
    electrons_per_photon = truth["quantum_efficiency_percent"] / 100.0
    photons_per_s = (
        overexposure * model.config.full_well_e / (electrons_per_photon * max_exposure_s)
    )

    def expose(
        exposure_s: Sequence[float] | NDArray[np.float64],
        photons: Sequence[float] | NDArray[np.float64],
        repeats: int,
        temp_c: float,
    ) -> NDArray[np.uint16]:
        frames = [
            model.expose(
                np.full((repeats, 1, 1), photon_count),
                float(exposure),
                temp_c,
                rng,
                wavelength_nm=wavelength_nm,
            )
            for exposure, photon_count in zip(exposure_s, photons, strict=True)
        ]
        return np.stack(frames)

    exposure_s = np.linspace(max_exposure_s / steps, max_exposure_s, steps)
    photons = photons_per_s * exposure_s
    spatial_exposure_s = 0.5 * max_exposure_s / overexposure
    spatial_photons = photons_per_s * spatial_exposure_s
    datasets: dict[str, NDArray[Any]] = {
        "/temporal/bright": expose(exposure_s, photons, 2, temperature_c),
        "/temporal/dark": expose(exposure_s, np.zeros(steps), 2, temperature_c),
        "/temporal/exposure_s": exposure_s,
        "/temporal/photons_per_pixel": photons,
        "/spatial/bright": expose(
            [spatial_exposure_s], [spatial_photons], spatial_frames, temperature_c
        )[0],
        "/spatial/dark": expose([spatial_exposure_s], [0.0], spatial_frames, temperature_c)[0],
    }
    attrs: dict[str, dict[str, float | int]] = {
        "/": {"wavelength_nm": float(wavelength_nm), "bit_depth": model.config.bit_depth},
        "/spatial": {"exposure_s": spatial_exposure_s, "photons_per_pixel": spatial_photons},
    }
    if dark_current_temperatures_c:
        temperatures = np.asarray(dark_current_temperatures_c, dtype=float)
        datasets["/dark_current/temperature_c"] = temperatures
        datasets["/dark_current/frames"] = np.stack(
            [
                expose([dark_current_exposure_s], [0.0], dark_current_frames, temp_c)[0]
                for temp_c in temperatures
            ]
        )
        attrs["/dark_current"] = {"exposure_s": dark_current_exposure_s}
    return datasets, attrs, truth


def sensor_truth(model: SensorModel, wavelength_nm: float, temperature_c: float) -> dict[str, Any]:
    """EMVA 1288 figures the sensor should yield at `wavelength_nm` (nm) and `temperature_c` (°C).

    Means are over all pixels (defects included); DSNU and PRNU over the pixels that are
    neither hot nor dead. The saturation capacity is the mean charge at which the temporal
    variance K²·μ_e·(dC/dμ_e)² of the full-well compression C peaks (EMVA 1288 defines
    saturation at the variance maximum).
    """
    truth = model.truth()
    config = model.config
    hot, dead = truth["hot_pixels"], truth["dead_pixels"]
    normal = np.ones(model.shape, dtype=bool)
    normal[tuple(hot.T)] = False
    normal[tuple(dead.T)] = False
    response = truth["prnu_gain"].copy()
    response[tuple(dead.T)] = 0.0
    charge_e = np.linspace(0.5, 1.0, 200_001) * config.full_well_e
    variance_e2 = charge_e * np.gradient(model.compress(charge_e), charge_e) ** 2
    normal_gain = truth["prnu_gain"][normal]
    return {
        "system_gain_dn_per_e": config.gain_dn_per_e,
        "quantum_efficiency_percent": 100.0
        * model.quantum_efficiency(wavelength_nm)
        * float(response.mean()),
        "dark_noise_e": config.read_noise_e,
        "dark_current_e_per_s": float(truth["dark_current_e_per_s"].mean())
        * model.dark_current_scale(temperature_c),
        "doubling_temperature_c": config.doubling_temperature_c,
        "saturation_capacity_e": float(charge_e[np.argmax(variance_e2)]),
        "dsnu_e": float(truth["dsnu_offset_e"][normal].std(ddof=1)),
        "prnu_percent": 100.0 * float(normal_gain.std(ddof=1) / normal_gain.mean()),
        "hot_pixels": sorted(hot.tolist()),
        "dead_pixels": sorted(dead.tolist()),
        "temperature_c": temperature_c,
    }


def save_photon_transfer_h5(
    path: str | PathLike[str],
    datasets: dict[str, NDArray[Any]],
    attrs: dict[str, dict[str, float | int]],
) -> None:
    """Write `datasets` (path → array) and `attrs` (object path → name → value) to HDF5."""
    with h5py.File(path, "w") as file:
        for location, values in datasets.items():
            file.create_dataset(location, data=values, compression="gzip", shuffle=True)
        for location, items in attrs.items():
            file[location].attrs.update(items)
