"""PPG benchmark: `imaging.pulse_oximetry` against HeartPy and NeuroKit2 on the same signal.

The signal is the array-summed light of the simulator's tissue (`drivers.sim.tissue`, 4×4
pixels, 660 and 940 nm, shot noise) at 100 Hz. HeartPy (``heartpy.process``) and NeuroKit2
(``neurokit2.ppg_process``) analyse the 940 nm channel for beats and rate only; the pipeline
analyses both channels and also gives SpO2, perfusion index and quality each second. Each
analysis runs ``--repeats`` times; the best time counts. Ratios > 1 mean the pipeline is
faster.

    python benchmarks/ppg_vs_heartpy_neurokit.py --minutes 5
"""

from __future__ import annotations

import argparse
import time
import warnings

import heartpy
import neurokit2
import numpy as np

from drivers.sim.tissue import TissueConfig, TissuePhantom
from imaging.pulse_oximetry import pulse_oximetry

WAVELENGTHS_NM = (660.0, 940.0)
CURRENT_MA = 1.0


def simulated_ppg(minutes: float, rate_hz: float, seed: int = 0) -> tuple[np.ndarray, float]:
    """(N, 2) photon counts per sample of the simulated tissue and its mean pulse rate."""
    config = TissueConfig(rows=4, cols=4, inclusion=None, led_wavelengths_nm=WAVELENGTHS_NM)
    tissue = TissuePhantom(config, np.random.default_rng(seed))
    t = np.arange(round(minutes * 60.0 * rate_hz)) / rate_hz
    exposure_s = 0.5 / rate_hz
    counts = np.stack(
        [
            tissue.photon_rates(t, w, CURRENT_MA).sum(axis=(1, 2)) * exposure_s
            for w in WAVELENGTHS_NM
        ],
        axis=1,
    )
    noisy = np.random.default_rng(seed + 1).poisson(counts).astype(float)
    return noisy, config.pulse_rate_bpm


def best_time(function, repeats: int) -> tuple[float, object]:
    """Shortest wall time of `repeats` calls, s, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=100.0, help="sample rate, Hz")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    signals, true_rate = simulated_ppg(args.minutes, args.rate)
    # Both libraries expect blood volume up: the negated 940 nm light (HeartPy also scaled).
    volume = -signals[:, 1]
    warnings.filterwarnings("ignore")

    ours_s, ours = best_time(
        lambda: pulse_oximetry(signals, args.rate, WAVELENGTHS_NM), args.repeats
    )
    heartpy_s, (_, measures) = best_time(
        lambda: heartpy.process(heartpy.scale_data(volume), args.rate), args.repeats
    )
    neurokit_s, (frame, _) = best_time(
        lambda: neurokit2.ppg_process(volume, sampling_rate=args.rate), args.repeats
    )
    fastest = min(heartpy_s, neurokit_s)
    print(
        f"{args.minutes:g} min of 2-wavelength PPG at {args.rate:g} Hz, true rate {true_rate:g} bpm"
    )
    print(
        f"  nirpoct pulse_oximetry  {ours_s * 1e3:8.1f} ms  "
        f"rate {ours.mean_pulse_rate_bpm:6.2f} bpm  "
        f"SpO2 median {np.nanmedian(ours.spo2_percent):5.1f} %"
    )
    print(f"  HeartPy process         {heartpy_s * 1e3:8.1f} ms  rate {measures['bpm']:6.2f} bpm")
    print(
        f"  NeuroKit2 ppg_process   {neurokit_s * 1e3:8.1f} ms  rate "
        f"{frame['PPG_Rate'].mean():6.2f} bpm"
    )
    print(
        f"  speed-up vs HeartPy {heartpy_s / ours_s:.1f}x, "
        f"vs NeuroKit2 {neurokit_s / ours_s:.1f}x, vs the faster of them {fastest / ours_s:.1f}x"
    )


if __name__ == "__main__":
    main()
