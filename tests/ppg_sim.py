"""Run records straight from the physics scene, and an SpO2 calibration study on them.

`simulated_run` exposes frames exactly as the simulated detector board does (interleaved LED
steps, each frame exposed at its step's instant through the scene's sensor) without the
serial link and its real-time pacing, so a 70 s desaturation takes seconds. The calibration
study is how a device is calibrated: runs with known arterial SpO2 through the whole analysis
chain, and a least-squares curve from the measured R to the known SpO2
(`calibration.spo2_curve.fit_spo2_curve`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from calibration.spo2_curve import Spo2CurveCalibration, fit_spo2_curve
from drivers.sim.scene import Scene
from drivers.sim.tissue import TissueConfig
from imaging.pulse_oximetry import pulse_oximetry
from imaging.spo2_curves import SpO2Curve, curve_from_calibration, polynomial_curve
from instrument.ppg_signals import ppg_signals_from_run
from instrument.run_record import RunRecord
from protocols.cli.calib_study_sim import scene_record

DEFAULT_PATTERN = ((660.0, 0.5), (940.0, 1.0), (760.0, 0.4), (850.0, 0.4))
"""LED steps (wavelength nm, drive current mA) of the default instrument configuration."""
FRAME_RATE_HZ = 200.0


def simulated_run(
    seed: int,
    duration_s: float,
    tissue: TissueConfig | None = None,
    pattern: tuple[tuple[float, float], ...] = DEFAULT_PATTERN,
    frame_rate_hz: float = FRAME_RATE_HZ,
) -> tuple[RunRecord, Scene]:
    """An in-memory run record of `Scene(seed, tissue)` and the scene (for its truth)."""
    scene = Scene(seed, tissue=tissue)
    record = scene_record(scene, duration_s, pattern, frame_rate_hz, Path(f"sim-seed{seed}.h5"))
    return record, scene


def desaturation(start_s: float, stop_s: float, high: float = 100.0, low: float = 70.0):
    """SpO2 knots: `high` until `start_s`, linear to `low` at `stop_s`, then held."""
    return ((0.0, high), (start_s, high), (stop_s, low))


def truth_spo2(scene: Scene, time_s: np.ndarray) -> np.ndarray:
    """True arterial SpO2 (%) at `time_s`."""
    return np.array([scene.truth(float(t))["tissue"]["spo2_percent"] for t in time_s])


def truth_pulse_rate(scene: Scene, time_s: np.ndarray) -> np.ndarray:
    """True instantaneous pulse rate (beats/min) at `time_s`."""
    return np.asarray(scene.tissue.pulse_rate_bpm(np.asarray(time_s)), dtype=float)


def calibration_study(seeds: tuple[int, ...] = (101, 102), duration_s: float = 30.0):
    """Fit the simulator's R → SpO2 curve (degree 2) from desaturation runs 100 → 70 %.

    Returns the calibration and the (R, SpO2) points.
    """
    ratios, spo2, subjects = [], [], []
    for seed in seeds:
        tissue = TissueConfig(
            spo2_trajectory=desaturation(5.0, duration_s - 5.0),
            pulse_rate_bpm=60.0 + 7.0 * (seed % 5),
        )
        record, scene = simulated_run(seed, duration_s, tissue)
        signals = ppg_signals_from_run(record)
        result = pulse_oximetry(signals.signals, signals.sample_rate_hz, signals.wavelengths_nm)
        measured = np.isfinite(result.ratio_of_ratios)
        times = result.time_s[measured] + signals.time_s[0]
        ratios.append(result.ratio_of_ratios[measured])
        spo2.append(truth_spo2(scene, times))
        subjects += [f"sim-{seed}"] * int(measured.sum())
    calibration: Spo2CurveCalibration = fit_spo2_curve(
        np.concatenate(ratios), np.concatenate(spo2), subjects, degree=2, study_id="sim-desat"
    )
    return calibration, np.concatenate(ratios), np.concatenate(spo2)


if __name__ == "__main__":
    fitted, r, s = calibration_study()
    curve = polynomial_curve(fitted.coefficients)
    print(f"{curve.description}; Arms {fitted.arms_percent:.2f} % over {fitted.points} points")
    print("--curve " + ",".join(f"{a:.4f}" for a in fitted.coefficients))


@functools.cache
def simulator_curve() -> tuple[SpO2Curve, Spo2CurveCalibration]:
    """The simulated instrument's fitted curve (computed once per test process)."""
    fitted, _, _ = calibration_study()
    return curve_from_calibration(fitted, (660.0, 940.0)), fitted
