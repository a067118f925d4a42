"""The SpO2 study table of the simulated instrument: measured R against the true SaO2.

A laboratory fills ``ratio,sao2_percent,subject`` from a controlled-desaturation study (R from
the instrument, SaO2 from co-oximetry of arterial samples). For the simulated instrument the
co-oximeter is the simulator's truth: each simulated subject desaturates from 100 % to 70 %
with the LED pattern of the ``spo2-screening`` protocol, the frames go through the product's
pulse-oximetry chain (``instrument.ppg_signals``, ``imaging.pulse_oximetry``) and every second
with a valid R gives one row with the true SaO2 at that second.

Run from the repository root (writes CSV on stdout)::

    python -m docs.examples.simulated_spo2_study > docs/examples/spo2-study-sim.csv
"""

from __future__ import annotations

import numpy as np

from drivers.sim.tissue import TissueConfig
from imaging.pulse_oximetry import pulse_oximetry
from instrument.ppg_signals import ppg_signals_from_run
from tests.ppg_sim import desaturation, simulated_run, truth_spo2

SEEDS = tuple(range(101, 111))
"""Simulated subjects (scene seeds)."""
DURATION_S = 30.0
"""Length of each desaturation run, s."""
SCREENING_PATTERN = ((660.0, 0.5), (940.0, 1.0), (850.0, 0.0))
"""LED steps (wavelength nm, drive current mA) of protocols/shipped/spo2-screening.yaml."""


def study_rows(seed: int) -> list[tuple[float, float, str]]:
    """(R, true SaO2 %, subject) for every second of one subject's run with a valid R."""
    tissue = TissueConfig(
        spo2_trajectory=desaturation(5.0, DURATION_S - 5.0),
        pulse_rate_bpm=60.0 + 7.0 * (seed % 5),
    )
    record, scene = simulated_run(seed, DURATION_S, tissue, pattern=SCREENING_PATTERN)
    signals = ppg_signals_from_run(record)
    result = pulse_oximetry(signals.signals, signals.sample_rate_hz, signals.wavelengths_nm)
    valid = np.isfinite(result.ratio_of_ratios)
    times = result.time_s[valid] + signals.time_s[0]
    sao2 = truth_spo2(scene, times)
    subject = f"SIM-{seed}"
    return [
        (float(r), float(s), subject)
        for r, s in zip(result.ratio_of_ratios[valid], sao2, strict=True)
    ]


def main() -> None:
    """Write the study table as CSV on stdout."""
    print("ratio,sao2_percent,subject")
    for seed in SEEDS:
        for ratio, sao2, subject in study_rows(seed):
            print(f"{ratio:.5f},{sao2:.2f},{subject}")


if __name__ == "__main__":
    main()
