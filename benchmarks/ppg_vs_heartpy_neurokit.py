"""PPG benchmark: `imaging.pulse_oximetry` against HeartPy and NeuroKit2 on the same signal.

The signal is the array-summed light of the simulator's tissue (`drivers.sim.tissue`, 4×4
pixels, 660 and 940 nm, shot noise), by default 5 min at 25, 100 and 500 Hz and 10 min of a
low-perfusion (0.5 %) recording at 100 Hz; and 10 min at 100 Hz of the tests' synthetic
generator (`tests.ppg_synthetic`) at 0.3 % perfusion under a fixed detector noise. HeartPy
(``heartpy.process``) and NeuroKit2 (``neurokit2.ppg_process``) analyse the 940 nm channel for
beats and rate only; the pipeline analyses both channels and also gives SpO2, perfusion index
and quality each second. Each analysis runs ``--repeats`` times; the best time counts. Ratios
> 1 mean the pipeline is faster.

    python benchmarks/ppg_vs_heartpy_neurokit.py
    python benchmarks/ppg_vs_heartpy_neurokit.py --rates 100 --minutes 5 --low-perfusion-minutes 0
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
from imaging.spo2_curves import default_curve
from tests.ppg_synthetic import SyntheticPpg, synthesize

WAVELENGTHS_NM = (660.0, 940.0)
CURRENT_MA = 1.0


LOW_PERFUSION_PERCENT = 0.5


def simulated_ppg(
    minutes: float, rate_hz: float, seed: int = 0, perfusion_percent: float | None = None
) -> tuple[np.ndarray, float]:
    """(N, 2) photon counts per sample of the simulated tissue and its mean pulse rate."""
    perfusion = {} if perfusion_percent is None else {"perfusion_index_percent": perfusion_percent}
    config = TissueConfig(
        rows=4, cols=4, inclusion=None, led_wavelengths_nm=WAVELENGTHS_NM, **perfusion
    )
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


def synthetic_low_perfusion(minutes: float) -> tuple[np.ndarray, float]:
    """(N, 2) signals of the tests' generator at 0.3 % perfusion and 10 counts of detector
    noise, 100 Hz, and their mean pulse rate."""
    config = SyntheticPpg(
        sample_rate_hz=100.0,
        duration_s=60.0 * minutes,
        perfusion_index_percent=0.3,
        noise_counts=10.0,
        seed=3,
    )
    return synthesize(config, default_curve(*WAVELENGTHS_NM)).signals, config.pulse_rate_bpm


def best_time(function, repeats: int) -> tuple[float, object]:
    """Shortest wall time of `repeats` calls, s, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def compare(signals: np.ndarray, rate_hz: float, repeats: int) -> dict[str, float]:
    """Best times (s) and mean rates (beats/min) of the three analyses of one recording."""
    # Both libraries expect blood volume up: the negated 940 nm light (HeartPy also scaled).
    volume = -signals[:, 1]
    ours_s, ours = best_time(lambda: pulse_oximetry(signals, rate_hz, WAVELENGTHS_NM), repeats)
    heartpy_s, (_, measures) = best_time(
        lambda: heartpy.process(heartpy.scale_data(volume), rate_hz), repeats
    )
    neurokit_s, (frame, _) = best_time(
        lambda: neurokit2.ppg_process(volume, sampling_rate=rate_hz), repeats
    )
    return {
        "ours_s": ours_s,
        "heartpy_s": heartpy_s,
        "neurokit_s": neurokit_s,
        "ours_bpm": ours.mean_pulse_rate_bpm,
        "heartpy_bpm": measures["bpm"],
        "neurokit_bpm": float(frame["PPG_Rate"].mean()),
        "spo2": float(np.nanmedian(ours.spo2_percent)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument(
        "--rates", type=float, nargs="*", default=[25.0, 100.0, 500.0], help="sample rates, Hz"
    )
    parser.add_argument(
        "--low-perfusion-minutes",
        type=float,
        default=10.0,
        help=f"length of the {LOW_PERFUSION_PERCENT} %% perfusion recording at 100 Hz (0: none)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    cases = [
        (f"{args.minutes:g} min at {rate:g} Hz", args.minutes, rate, None) for rate in args.rates
    ]
    if args.low_perfusion_minutes > 0:
        cases.append(
            (
                f"{args.low_perfusion_minutes:g} min at 100 Hz, PI {LOW_PERFUSION_PERCENT} %",
                args.low_perfusion_minutes,
                100.0,
                LOW_PERFUSION_PERCENT,
            )
        )
    print(
        f"{'2-wavelength PPG':32} {'nirpoct':>9} {'HeartPy':>9} {'NeuroKit2':>10} "
        f"{'vs HeartPy':>10} {'vs NK2':>7}   rates nirpoct/HeartPy/NK2 (bpm), SpO2"
    )
    for name, minutes, rate, perfusion in cases:
        signals, true_rate = simulated_ppg(minutes, rate, perfusion_percent=perfusion)
        print_row(name, compare(signals, rate, args.repeats), true_rate)
    if args.low_perfusion_minutes > 0:
        signals, true_rate = synthetic_low_perfusion(args.low_perfusion_minutes)
        name = f"{args.low_perfusion_minutes:g} min at 100 Hz, synthetic 0.3 %"
        print_row(name, compare(signals, 100.0, args.repeats), true_rate)


def print_row(name: str, r: dict[str, float], true_rate: float) -> None:
    """One line of the table."""
    print(
        f"{name:32} {r['ours_s'] * 1e3:7.1f}ms {r['heartpy_s'] * 1e3:7.1f}ms "
        f"{r['neurokit_s'] * 1e3:8.1f}ms {r['heartpy_s'] / r['ours_s']:9.1f}x "
        f"{r['neurokit_s'] / r['ours_s']:6.1f}x   {r['ours_bpm']:.1f}/{r['heartpy_bpm']:.1f}/"
        f"{r['neurokit_bpm']:.1f} (true {true_rate:g}), {r['spo2']:.1f} %"
    )


if __name__ == "__main__":
    main()
