"""The approved detector record's frame correction in the live path: on the simulator it
removes the R bias of a sensor with a large dark-signal non-uniformity; a monitoring run names
the record it applied, or says that it analyses uncorrected frames."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from calibration.frame_correction import coefficients_from_photon_transfer
from calibration.photon_transfer import photon_transfer_from_mappings
from drivers.sim.photon_transfer import simulate_photon_transfer
from drivers.sim.scene import Scene
from drivers.sim.sensor import SensorConfig
from imaging.frame_correction import correct_frames
from imaging.pulse_oximetry import pulse_oximetry
from imaging.streaming_ppg import StreamingPpg
from tests.calibration_fixtures import make_content, make_registry
from tests.test_cli_run import EMPIRICAL_660_940, approve

pytestmark = pytest.mark.timeout(240)

PATTERN = ((660.0, 0.5), (940.0, 1.0))  # no dark step: the dark level must come from somewhere
SEED = 3
DSNU_SENSOR = SensorConfig(dsnu_e=1500.0, prnu_fraction=0.05)
"""A sensor whose dark offsets spread by 150 DN (default 2 DN): without a dark step, the
darkest pixels misjudge the dark level of the bright ones."""


def _ratio(sensor: SensorConfig, corrected_with=None) -> float:
    """Median R of 20 s of the simulated finger seen by `sensor`."""
    scene = Scene(SEED, sensor=sensor)
    count = 20 * 200
    time_s = np.arange(count) / 200.0
    frames = np.stack(
        [scene.frame(t + 0.001, *PATTERN[i % 2], 0.002) for i, t in enumerate(time_s)]
    )
    saturated = None
    ppg = StreamingPpg(PATTERN)
    if corrected_with is not None:
        temperature = np.array([scene.board_temperature_c(t) for t in time_s])
        result = correct_frames(frames, 0.002, temperature, **corrected_with)
        frames, saturated = result.signal_dn, result.saturated
        ppg = StreamingPpg(PATTERN, black_level_dn=0.0)
    block = ppg.push(frames, np.arange(count), time_s, saturated)
    oximetry = pulse_oximetry(block.signals, 100.0, ppg.wavelengths_nm)
    return float(np.nanmedian(oximetry.ratio_of_ratios))


def detector_coefficients(sensor: SensorConfig):
    """Detector-correction coefficients of `sensor` from a simulated photon-transfer series."""
    datasets, attrs, _ = simulate_photon_transfer(
        SEED,
        height=64,
        width=64,
        steps=20,
        spatial_frames=32,
        sensor=dataclasses.replace(sensor, exact_shot_noise=True),
    )
    return coefficients_from_photon_transfer(photon_transfer_from_mappings(datasets, attrs))


def test_correction_removes_the_r_bias_of_dark_signal_non_uniformity():
    ideal = _ratio(
        SensorConfig(
            dsnu_e=0.0,
            prnu_fraction=0.0,
            hot_pixel_fraction=0.0,
            dead_pixel_fraction=0.0,
            dark_current_e_per_s=0.0,
        )
    )
    raw = _ratio(DSNU_SENSOR)
    corrected = _ratio(DSNU_SENSOR, detector_coefficients(DSNU_SENSOR).imaging_arguments())
    assert abs(raw - ideal) > 0.005  # the sensor biases R by ~2 % (0.010)
    assert abs(corrected - ideal) < abs(raw - ideal) / 3.0


def registry_with_detector_record(root: Path, coefficients) -> None:
    """Approved detector record holding `coefficients`, and an approved SpO2 curve."""
    registry = make_registry(root)
    arrays = {f"coefficients/{k}": v for k, v in coefficients.as_arrays().items()}
    approve(registry, dataclasses.replace(make_content(), arrays=arrays))
    curve = dataclasses.replace(
        make_content(calibration_date=dt.date.today().isoformat()),
        kind="spo2-curve",
        title="SpO2 calibration curve",
        arrays={"coefficients/spo2_curve": EMPIRICAL_660_940},
    )
    approve(registry, curve)


def test_a_monitoring_run_applies_and_names_the_approved_detector_record(tmp_path):
    registry_with_detector_record(tmp_path / "registry", detector_coefficients(SensorConfig()))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "protocols.cli",
            "run",
            "spo2-monitoring",
            "--sim",
            "--registry",
            "registry",
            "--duration",
            "15",
            "--sim-speed",
            "3",
            "--json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=200,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    monitoring = next(s for s in summary["steps"] if s["name"] == "monitoring")
    correction = monitoring["results"]["frame_correction"]
    assert correction.startswith("DET-") or "@" in correction, correction
    assert "uncorrected" not in correction
    assert 90.0 < monitoring["results"]["spo2_percent"] <= 100.0
    assert "uncorrected frames" not in result.stderr
