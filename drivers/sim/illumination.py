"""The bench's uniform illumination head seen by the simulated detector array.

For an EMVA 1288 photon-transfer series the bench LED (driven by the simulated DC2200 in
constant-current mode) lights a diffuser placed in front of the detector array; the reference
power meter's sensor sits in the same uniform field at the sensor plane. The two simulators
run as separate processes, so the bench publishes what the diffuser emits through a small
*light link* file and the board reads it when it exposes a frame:

- the bench (:func:`publish_bench_light`) writes the LED wavelength (nm) and the irradiance at
  the sensor plane (W/m²) = the power meter's true power / its aperture area, whenever the LED
  changes. The head is lit only in an unmodulated mode (``CC``) with the output on; in the
  modulated modes used by the photodiode bench (``EMOD``/``IMOD``) it is dark.
- the board (:class:`DiffuserTarget`) turns that irradiance into photons per pixel:
  ``E · A_pixel · t · λ / (h c)``; while the head is dark the tissue scene shows as usual.

Both processes find the file from the process that started them and the seed
(:func:`drivers.sim.light_link.light_link_path`). :func:`diffuser_truth` gives the figures a
photon-transfer series of a window of the board's sensor should yield.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from drivers.sim.light_link import write_light
from drivers.sim.scene import Scene

logger = logging.getLogger(__name__)

PLANCK_J_S = 6.62607015e-34
LIGHT_SPEED_M_PER_S = 299792458.0
POWER_METER_APERTURE_MM2 = math.pi * 4.75**2
"""Aperture of the simulated S120C-like power-meter sensor (Ø 9.5 mm), mm²."""


def publish_bench_light(bench: Any, path: Path) -> None:
    """Write what the bench's illumination head emits now to the light link.

    Parameters
    ----------
    bench : drivers.sim.bench.OpticalBench
        The bench; its power meter's true power divided by the aperture is the irradiance.
    path : Path
        The light-link file.
    """
    led = bench.led
    lit = led.modulation_depth == 0.0 and led.drive_current_a > 0.0
    aperture_m2 = POWER_METER_APERTURE_MM2 * 1e-6
    irradiance = bench.power_meter_power_w() / aperture_m2 if lit else 0.0
    write_light(path, float(led.wavelength_nm), float(irradiance))


class DiffuserTarget:
    """Photons the diffuser delivers to every pixel, read from the light link.

    Parameters
    ----------
    path : Path
        The light-link file (absent: the head is dark).
    pixel_pitch_mm : float
        Pixel pitch of the array, mm (the pixel area is its square).
    """

    def __init__(self, path: Path, pixel_pitch_mm: float) -> None:
        self.path = path
        self.pixel_area_m2 = (pixel_pitch_mm * 1e-3) ** 2
        self._cache: tuple[int, tuple[float, float]] | None = None

    def light(self) -> tuple[float, float]:
        """(wavelength nm, irradiance W/m²) now; irradiance 0 when the head is dark."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0.0, 0.0
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        try:
            content = json.loads(self.path.read_text())
            value = (float(content["wavelength_nm"]), float(content["irradiance_w_per_m2"]))
        except (OSError, ValueError, KeyError) as error:
            logger.info("light link %s unreadable (%s): head taken as dark", self.path, error)
            return 0.0, 0.0
        self._cache = (stamp, value)
        return value

    def photons(self, exposure_s: float) -> tuple[float, float] | None:
        """(mean photons per pixel during ``exposure_s`` s, wavelength nm), or None when dark."""
        wavelength_nm, irradiance = self.light()
        if irradiance <= 0.0:
            return None
        photon_energy_j = PLANCK_J_S * LIGHT_SPEED_M_PER_S / (wavelength_nm * 1e-9)
        return irradiance * self.pixel_area_m2 * exposure_s / photon_energy_j, wavelength_nm


def diffuser_truth(
    seed: int, window: tuple[int, int, int, int], wavelength_nm: float, temperature_c: float
) -> dict[str, Any]:
    """EMVA 1288 figures a photon-transfer series of ``window`` of board ``seed``'s sensor
    should yield (as :func:`drivers.sim.photon_transfer.sensor_truth`, over the window).

    Parameters
    ----------
    seed : int
        Scene seed of the simulated board.
    window : tuple of int
        (row0, col0, height, width) analysed, full-resolution pixels.
    wavelength_nm, temperature_c : float
        Illumination wavelength (nm) and sensor temperature (°C).

    Returns
    -------
    dict
        Keyed like ``Emva1288Result.to_json_dict()``; defect pixels as sorted [row, col]
        lists relative to the window.
    """
    model = Scene(seed).sensor
    truth = model.truth()
    config = model.config
    row0, col0, height, width = window
    rows, cols = slice(row0, row0 + height), slice(col0, col0 + width)

    def inside(pixels: NDArray[np.int64]) -> list[list[int]]:
        kept = [[int(r) - row0, int(c) - col0] for r, c in pixels]
        return sorted(p for p in kept if 0 <= p[0] < height and 0 <= p[1] < width)

    hot, dead = inside(truth["hot_pixels"]), inside(truth["dead_pixels"])
    normal = np.ones((height, width), dtype=bool)
    response = truth["prnu_gain"][rows, cols].copy()
    for r, c in hot + dead:
        normal[r, c] = False
    for r, c in dead:
        response[r, c] = 0.0
    charge_e = np.linspace(0.5, 1.0, 200_001) * config.full_well_e
    variance_e2 = charge_e * np.gradient(model.compress(charge_e), charge_e) ** 2
    gain = truth["prnu_gain"][rows, cols][normal]
    return {
        "system_gain_dn_per_e": config.gain_dn_per_e,
        "quantum_efficiency_percent": 100.0
        * model.quantum_efficiency(wavelength_nm)
        * float(response.mean()),
        "dark_noise_e": config.read_noise_e,
        "dark_current_e_per_s": float(truth["dark_current_e_per_s"][rows, cols].mean())
        * model.dark_current_scale(temperature_c),
        "doubling_temperature_c": config.doubling_temperature_c,
        "saturation_capacity_e": float(charge_e[np.argmax(variance_e2)]),
        "dsnu_e": float(truth["dsnu_offset_e"][rows, cols][normal].std(ddof=1)),
        "prnu_percent": 100.0 * float(gain.std(ddof=1) / gain.mean()),
        "hot_pixels": hot,
        "dead_pixels": dead,
        "temperature_c": temperature_c,
    }
