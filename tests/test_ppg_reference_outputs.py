"""`pulse_oximetry` gives the numbers it gave before its spectra were made cheaper.

tests/data/ppg/reference_outputs.npz holds the per-second and per-beat outputs of the
implementation before the speed-ups (windowed spectra restricted to the pulse band, masked
medians without masked arrays, Welch's dominant rate vectorised, the pulse band centred on the
mean) for synthetic recordings at 25, 100, 200 and 500 Hz, clean, desaturating, moving and at
low perfusion. Results may differ by float rounding only: every value within 0.01 of its unit
(%, beats/min, quality 0..1 within 0.0001) and the same beats, withheld seconds and accepted
beats. Regenerate (only on purpose) with ``python -m tests.test_ppg_reference_outputs``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imaging.pulse_oximetry import OximetryResult, pulse_oximetry
from imaging.spo2_curves import default_curve
from tests.ppg_synthetic import SyntheticPpg, synthesize

REFERENCE = Path(__file__).parent / "data" / "ppg" / "reference_outputs.npz"
WAVELENGTHS_NM = (660.0, 940.0)
DESATURATION = ((0.0, 98.0), (20.0, 98.0), (40.0, 80.0))

RECORDINGS = {
    "clean_100hz": SyntheticPpg(sample_rate_hz=100.0, duration_s=60.0, seed=11),
    "desaturation_motion_100hz": SyntheticPpg(
        sample_rate_hz=100.0,
        duration_s=90.0,
        spo2_knots=DESATURATION,
        motion_bursts_s=((30.0, 6.0), (60.0, 4.0)),
        seed=12,
    ),
    "low_perfusion_25hz": SyntheticPpg(
        sample_rate_hz=25.0,
        duration_s=120.0,
        perfusion_index_percent=0.3,
        noise_counts=10.0,
        spo2_knots=DESATURATION,
        seed=13,
    ),
    "fast_pulse_200hz": SyntheticPpg(
        sample_rate_hz=200.0, duration_s=45.0, pulse_rate_bpm=150.0, seed=14
    ),
    "low_perfusion_motion_500hz": SyntheticPpg(
        sample_rate_hz=500.0,
        duration_s=40.0,
        perfusion_index_percent=0.5,
        motion_bursts_s=((15.0, 5.0),),
        seed=15,
    ),
}

PER_SECOND = ("spo2_percent", "pulse_rate_bpm", "perfusion_index_percent", "ratio_of_ratios")
PER_BEAT = ("beat_interval_s", "beat_ratio_of_ratios", "beat_perfusion_index_percent")
QUALITY = ("signal_quality", "beat_quality")


def analyse(name: str) -> OximetryResult:
    config = RECORDINGS[name]
    recording = synthesize(config, default_curve(*WAVELENGTHS_NM))
    return pulse_oximetry(recording.signals, config.sample_rate_hz, WAVELENGTHS_NM)


def outputs(result: OximetryResult) -> dict[str, np.ndarray]:
    names = (*PER_SECOND, *PER_BEAT, *QUALITY, "beats_s", "beat_accepted")
    return {name: np.asarray(getattr(result, name)) for name in names}


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_outputs_match_the_reference(name):
    with np.load(REFERENCE) as stored:
        reference = {key.split("/", 1)[1]: stored[key] for key in stored if key.startswith(name)}
    result = outputs(analyse(name))
    assert reference, f"no reference outputs for {name}"
    np.testing.assert_array_equal(result["beat_accepted"], reference["beat_accepted"])
    np.testing.assert_allclose(result["beats_s"], reference["beats_s"], atol=1e-9)
    for key in (*PER_SECOND, *PER_BEAT):
        np.testing.assert_array_equal(np.isnan(result[key]), np.isnan(reference[key]), key)
        np.testing.assert_allclose(result[key], reference[key], atol=0.01, err_msg=key)
    for key in QUALITY:
        np.testing.assert_allclose(result[key], reference[key], atol=1e-4, err_msg=key)


def write_reference(path: Path = REFERENCE) -> None:
    """Store the current implementation's outputs as the reference."""
    arrays = {
        f"{name}/{key}": value
        for name in RECORDINGS
        for key, value in outputs(analyse(name)).items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


if __name__ == "__main__":
    write_reference()
