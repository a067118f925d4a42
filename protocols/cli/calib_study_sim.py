"""``nirpoct calib study simulate``: the accuracy study of the simulated instrument.

Each simulated subject is a scene seed with a Monk skin tone (epidermal melanin,
:mod:`drivers.sim.skin`) and a desaturation from 100 % to 70 %; the frames of the
``spo2-screening`` LED pattern are rendered in this process (faster than the real-time board),
go through the product's chain (:func:`instrument.ppg_signals.ppg_signals_from_run`,
:func:`imaging.pulse_oximetry.pulse_oximetry`) and the R per second is paired with "arterial
samples" whose SaO2 is the simulator's truth at the draw time
(:func:`calibration.spo2_study.pair_with_references`). The table has the columns of ``calib
study pair``, so ``calib study report`` and ``calib record-spo2-curve`` take it as they take a
site's study. :func:`truth_arms` states a curve's Arms against the truth on other subjects.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration.spo2_study import STUDY_COLUMNS, pair_with_references, skin_tone_group
from drivers.sim.scene import Scene
from drivers.sim.skin import monk_transmission
from drivers.sim.tissue import TissueConfig
from imaging.pulse_oximetry import pulse_oximetry
from instrument.ppg_signals import ppg_signals_from_run
from instrument.pseudonym import load_site_key, pseudonymise
from instrument.run_record import RunRecord, led_pattern_attribute
from protocols.cli.output_file import atomic_output, refuse_unsafe_output

SCREENING_PATTERN = ((660.0, 0.5), (940.0, 1.0), (850.0, 0.0))
"""LED steps (wavelength nm, drive mA) of protocols/shipped/spo2-screening.yaml."""
FRAME_RATE_HZ = 200.0
EXPOSURE_S = 0.002
DRAW_INTERVAL_S = 2.0
PAIRING_WINDOW_S = 4.0
"""Shorter than a site's 20 s: the simulated desaturation is a 1 %/s ramp, not plateaus."""
AGE_BANDS = ("20-29", "30-39", "40-49", "50-59")
SESSION_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""Clock of the simulated sessions (their draw times are on it)."""


@dataclass(frozen=True)
class SimulatedSubject:
    """One simulated subject: scene seed, Monk skin tone, sex, age band."""

    seed: int
    monk_tone: int
    sex: str
    age_band: str

    @property
    def subject_id(self) -> str:
        """The id a site would write (pseudonymised when stored)."""
        return f"SIM-{self.seed}"


def simulated_subjects(first_seed: int, count: int, first_tone: int = 1) -> list[SimulatedSubject]:
    """``count`` subjects from ``first_seed``, skin tones cycling through Monk 1–10 from
    ``first_tone``."""
    return [
        SimulatedSubject(
            first_seed + i,
            (first_tone - 1 + i) % 10 + 1,
            "FM"[i % 2],
            AGE_BANDS[i % len(AGE_BANDS)],
        )
        for i in range(count)
    ]


def session(subject: SimulatedSubject, duration_s: float) -> tuple[RunRecord, Scene]:
    """The subject's desaturation (100 % → 70 % from 5 s to ``duration_s`` − 5 s) as an
    in-memory run record, and its scene (for the truth)."""
    tissue = TissueConfig(
        spo2_trajectory=((0.0, 100.0), (5.0, 100.0), (duration_s - 5.0, 70.0)),
        pulse_rate_bpm=60.0 + 7.0 * (subject.seed % 5),
    )
    scene = Scene(subject.seed, tissue=tissue)
    scene.skin = monk_transmission(subject.monk_tone)
    record = scene_record(
        scene, duration_s, SCREENING_PATTERN, FRAME_RATE_HZ, Path(f"{subject.subject_id}.h5")
    )
    return record, scene


def scene_record(
    scene: Scene,
    duration_s: float,
    pattern: tuple[tuple[float, float], ...],
    frame_rate_hz: float,
    path: Path,
) -> RunRecord:
    """``duration_s`` seconds of ``scene`` seen through the LED ``pattern`` (wavelength nm,
    drive mA per step) at ``frame_rate_hz``, as an in-memory run record named ``path``."""
    count = round(duration_s * frame_rate_hz)
    start_s = np.arange(count) / frame_rate_hz
    steps = [pattern[i % len(pattern)] for i in range(count)]
    frames = np.stack(
        [
            scene.frame(t + EXPOSURE_S / 2, wavelength, current, EXPOSURE_S)
            for t, (wavelength, current) in zip(start_s, steps, strict=True)
        ]
    )
    return RunRecord(
        path=path,
        frames=frames,
        time_s=start_s,
        wavelength_nm=np.array([round(w) for w, _ in steps], dtype=np.uint16),
        board_temperature_c=np.zeros(count, dtype=np.float32),
        frame_counter=np.arange(count, dtype=np.uint32),
        device_time_us=np.round(start_s * 1e6).astype(np.uint64),
        metadata={"status": "completed"},
        acquisition={"frame_rate_hz": frame_rate_hz, "led_pattern": led_pattern_attribute(pattern)},
    )


def ratio_per_second(record: RunRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(second centres s, R, quality) of a session through the product's chain."""
    signals = ppg_signals_from_run(record)
    result = pulse_oximetry(signals.signals, signals.sample_rate_hz, signals.wavelengths_nm)
    return result.time_s + signals.time_s[0], result.ratio_of_ratios, result.signal_quality


def truth_sao2(scene: Scene, time_s: np.ndarray) -> np.ndarray:
    """The simulator's arterial saturation at ``time_s``, %."""
    return np.array([scene.truth(float(t))["tissue"]["spo2_percent"] for t in time_s])


def study_rows(
    subject: SimulatedSubject, duration_s: float, study_id: str, key: bytes
) -> list[dict[str, str]]:
    """Study-table rows of one simulated subject: a sample every ``DRAW_INTERVAL_S``."""
    record, scene = session(subject, duration_s)
    time_s, ratio, quality = ratio_per_second(record)
    draws = np.arange(6.0, duration_s - 3.0, DRAW_INTERVAL_S)
    paired, seconds, mean_quality = pair_with_references(
        time_s, ratio, quality, draws, window_s=PAIRING_WINDOW_S, min_seconds=2
    )
    tone = str(subject.monk_tone)
    fixed = {
        "study_id": study_id,
        "subject_pseudonym": pseudonymise(subject.subject_id, key),
        "sex": subject.sex,
        "age_band": subject.age_band,
        "skin_tone_scale": "monk",
        "skin_tone": tone,
        "skin_tone_group": skin_tone_group("monk", tone),
        "probe_site": "finger (simulated)",
        "session": record.path.name,
    }
    return [
        fixed
        | {
            "draw_time_utc": (SESSION_START + dt.timedelta(seconds=float(draw))).isoformat(),
            "sao2_percent": f"{sao2:.2f}",
            "ratio": f"{r:.6f}",
            "ratio_seconds": str(int(n)),
            "quality": f"{q:.3f}",
        }
        for draw, sao2, r, n, q in zip(
            draws, truth_sao2(scene, draws), paired, seconds, mean_quality, strict=True
        )
    ]


def truth_arms(coefficients: np.ndarray, seeds: list[SimulatedSubject], duration_s: float) -> float:
    """Arms of SpO2 = Σ a_i R^i against the simulator's truth, every second with an R, over
    the seconds whose true SaO2 lies in 70–100 %, %."""
    errors = []
    for subject in seeds:
        record, scene = session(subject, duration_s)
        time_s, ratio, _ = ratio_per_second(record)
        measured = np.isfinite(ratio)
        truth = truth_sao2(scene, time_s[measured])
        spo2 = np.polynomial.polynomial.polyval(ratio[measured], coefficients)
        errors.append((spo2 - truth)[(truth >= 70.0) & (truth <= 100.0)])
    return float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))


def write_simulated_study(
    out: str, *, subjects: int, first_seed: int, duration_s: float, study_id: str, force: bool
) -> int:
    """Write the study table of ``subjects`` simulated subjects to ``out``; returns 0."""
    path = refuse_unsafe_output(out, force=force)
    if subjects < 1 or duration_s < 20.0:
        raise ValueError("need --subjects >= 1 and --duration-s >= 20")
    key = load_site_key()
    rows = [
        row
        for subject in simulated_subjects(first_seed, subjects)
        for row in study_rows(subject, duration_s, study_id, key)
    ]
    with atomic_output(path) as scratch, open(scratch, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=STUDY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} samples of {subjects} simulated subjects written to {out}")
    return 0
