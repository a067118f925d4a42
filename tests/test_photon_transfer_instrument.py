"""Photon transfer through the instrument: the bench's illumination head seen by the board.

The simulated bench runs its real SCPI servers on loopback TCP and publishes the head's light
through a light-link file; the board's diffuser target reads it. The whole series through the
runner, the board and the bench is in ``test_shipped_protocols.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibration.photon_transfer import photons_per_pixel
from drivers.ledsource import DC2200
from drivers.powermeter import PM100
from drivers.sim.bench import OpticalBench
from drivers.sim.illumination import POWER_METER_APERTURE_MM2, DiffuserTarget, publish_bench_light
from drivers.sim.scpi_server import start_in_thread

pytestmark = pytest.mark.timeout(60)

PITCH_MM = 0.4


@pytest.fixture
def lit_bench(tmp_path):
    link = tmp_path / "light.json"
    bench = OpticalBench(seed=7)
    bench.led_listeners.append(lambda changed: publish_bench_light(changed, link))
    with start_in_thread(bench=bench) as servers:
        yield servers, DiffuserTarget(link, PITCH_MM)


def test_the_array_sees_the_irradiance_the_power_meter_measures(lit_bench):
    servers, target = lit_bench
    with (
        DC2200(servers.resources["ledsource"]) as led,
        PM100(servers.resources["powermeter"]) as meter,
    ):
        led.mode = "CC"
        assert led.mode == "CC"
        led.wavelength_nm = 850.0
        led.current_a = 5e-7
        led.output_enabled = True
        meter.wavelength_nm = 850.0
        meter.average_count = 1000
        power_w = float(np.mean([meter.read_power_w() for _ in range(5)]))
        photons, wavelength_nm = target.photons(1e-3)

    assert wavelength_nm == 850.0
    # Photons per pixel from the meter's reading (what the step computes) match what the
    # simulated diffuser delivers to the array, within the meter's noise.
    expected = photons_per_pixel(
        power_w, POWER_METER_APERTURE_MM2, (PITCH_MM * 1e3) ** 2, 1e-3, 850.0
    )
    assert float(expected) == pytest.approx(photons, rel=0.01)
    # 0.5 µA through the LED gives ~1e5 photons per 0.4 mm pixel in 1 ms: a detector's range.
    assert 3e4 < photons < 3e5


def test_the_head_is_dark_when_the_led_is_off_or_modulated(lit_bench):
    servers, target = lit_bench
    with DC2200(servers.resources["ledsource"]) as led:
        led.mode = "CC"
        led.current_a = 1e-6
        led.output_enabled = False
        assert target.photons(1e-3) is None
        led.output_enabled = True
        assert target.photons(1e-3) is not None
        led.mode = "EMOD"  # the lock-in bench's modulated light does not reach the array
        assert target.photons(1e-3) is None
        with pytest.raises(ValueError, match="not one of"):
            led.mode = "DC"


def test_photons_per_pixel_follows_the_photon_energy():
    # 1 µW/cm² on a 10 µm pixel for 1 s at 500 nm: E·A·t·λ/(hc).
    photons = photons_per_pixel(1e-6, 100.0, 100.0, 1.0, 500.0)
    expected = 1e-2 * 100e-12 * 1.0 * 500e-9 / (6.62607015e-34 * 299792458.0)
    assert math.isclose(float(photons), expected, rel_tol=1e-9)


def _series(temperatures_c):
    """A measured series of the simulated sensor (temporal, spatial, dark stacks at the given
    board temperatures), as measure_photon_transfer returns it."""
    from drivers.sim.scene import Scene
    from instrument.photon_transfer_bench import PhotonTransferSeries

    sensor = Scene(3).sensor
    rng = np.random.default_rng(3)
    exposure_s = np.linspace(2e-5, 1e-3, 20)

    def frames(count, exposure, lit, temperature_c=25.0):
        mean = np.full((count, 1, 1), 1e8 * exposure if lit else 0.0)
        return sensor.expose(mean, exposure, temperature_c, rng, wavelength_nm=850.0)

    index = np.zeros((20, 2), dtype=np.int64)
    return PhotonTransferSeries(
        exposure_s=exposure_s,
        power_w=np.full((20, 3), 1e-8),
        bright=np.stack([frames(2, t, True) for t in exposure_s]),
        dark=np.stack([frames(2, t, False) for t in exposure_s]),
        bright_index=index,
        dark_index=index,
        spatial_exposure_s=0.1,
        spatial_power_w=np.full(3, 4e-11),
        spatial_bright=frames(8, 4e-4, True),
        spatial_dark=frames(8, 0.1, False),
        spatial_bright_index=np.zeros(8, dtype=np.int64),
        spatial_dark_index=np.zeros(8, dtype=np.int64),
        dark_current_exposure_s=0.2,
        dark_current_temperature_c=np.asarray(temperatures_c, dtype=float),
        dark_current_frames=np.stack([frames(8, 0.2, False, t) for t in temperatures_c]),
        dark_current_index=np.zeros((len(temperatures_c), 8), dtype=np.int64),
        temperature_c=np.full(20, 25.0),
        wavelength_nm=850.0,
        led_current_a=5e-7,
        spatial_led_current_a=2e-9,
    )


def test_dark_current_against_temperature_only_over_a_span_that_measures_it():
    from calibration.emva1288 import characterize
    from protocols.steps.photon_transfer import photon_transfer_data

    window = (16, 16, 32, 32)
    arguments = {"pixel_pitch_mm": PITCH_MM, "aperture_area_mm2": 70.88, "bit_depth": 12}
    narrow = _series([23.0, 23.4])
    assert not photon_transfer_data(narrow, window, **arguments).has_dark_current_series
    warming = _series([23.0, 25.0, 27.0, 29.0])
    data = photon_transfer_data(warming, window, **arguments)
    assert data.has_dark_current_series and data.temporal_bright.shape == (20, 2, 32, 32)
    doubling = characterize(data).doubling_temperature_c
    assert doubling is not None and doubling.value == pytest.approx(6.5, rel=0.1)
