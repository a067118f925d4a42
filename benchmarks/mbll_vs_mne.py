"""Optical density + modified Beer–Lambert: nirpoct (imaging.mbll) against MNE, same data.

64 source–detector channels × 2 wavelengths (760/850 nm) × 24 h at 10 Hz by default. Times
``mne.preprocessing.nirs.optical_density`` + ``beer_lambert_law`` on a preloaded RawArray and
``imaging.mbll.hemoglobin_changes`` (optical density + modified Beer–Lambert, what
``nirpoct analyze nirs`` runs) on the same intensities (best of ``--repeats`` runs each);
prints the throughput ratio and the largest difference of the results relative to their
range.

    python benchmarks/mbll_vs_mne.py            # 24 h
    python benchmarks/mbll_vs_mne.py --hours 1  # quicker
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import mne
import numpy as np

from imaging.mbll import hemoglobin_changes

WAVELENGTHS_NM = np.array([760.0, 850.0])
SAMPLE_RATE_HZ = 10.0
DPF = 6.0


def intensities(channels: int, samples: int, seed: int = 0) -> np.ndarray:
    """(T, C, W) intensities: slow haemodynamic-like swings with noise, all positive."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / SAMPLE_RATE_HZ
    out = np.empty((samples, channels, len(WAVELENGTHS_NM)))
    base = rng.uniform(500.0, 5000.0, (channels, len(WAVELENGTHS_NM)))
    phase = rng.uniform(0.0, 2 * np.pi, channels)
    out[...] = base
    out *= 1.0 + 0.02 * np.sin(2 * np.pi * 0.1 * t[:, None, None] + phase[:, None])
    out *= 1.0 + 0.005 * rng.standard_normal(out.shape)
    return out


def mne_raw(data: np.ndarray, distances_mm: np.ndarray) -> mne.io.RawArray:
    """A preloaded CW-amplitude RawArray holding `data` with optode positions set."""
    samples, channels, n_wavelengths = data.shape
    names = [f"S1_D{c + 1} {int(w)}" for c in range(channels) for w in WAVELENGTHS_NM]
    info = mne.create_info(names, SAMPLE_RATE_HZ, "fnirs_cw_amplitude", verbose="error")
    for index, ch in enumerate(info["chs"]):
        channel, wavelength = divmod(index, n_wavelengths)
        ch["loc"][3:6] = 0.0
        ch["loc"][6:9] = [distances_mm[channel] * 1e-3, 0.0, 0.0]
        ch["loc"][0:3] = ch["loc"][6:9] / 2
        ch["loc"][9] = WAVELENGTHS_NM[wavelength]
    return mne.io.RawArray(data.reshape(samples, -1).T, info, verbose="error")


def best_of(repeats: int, work: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    """Shortest wall time of `repeats` calls, s, and the last result."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="recording length, h")
    parser.add_argument("--channels", type=int, default=64, help="source–detector channels")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, best kept")
    args = parser.parse_args()
    samples = round(args.hours * 3600 * SAMPLE_RATE_HZ)
    data = intensities(args.channels, samples)
    distances = np.linspace(15.0, 40.0, args.channels)
    raw = mne_raw(data, distances)
    print(
        f"{args.channels} channels × {len(WAVELENGTHS_NM)} wavelengths × {samples} samples "
        f"({args.hours:g} h at {SAMPLE_RATE_HZ:g} Hz), best of {args.repeats}"
    )

    def ours() -> np.ndarray:
        return hemoglobin_changes(data, WAVELENGTHS_NM, distances, DPF)

    def theirs() -> np.ndarray:
        od = mne.preprocessing.nirs.optical_density(raw, verbose="error")
        return mne.preprocessing.nirs.beer_lambert_law(od, ppf=DPF).get_data()

    ours_s, ours_hb = best_of(args.repeats, ours)
    theirs_s, theirs_hb = best_of(args.repeats, theirs)
    # MNE: rows S1_Dc hbo, S1_Dc hbr in M; ours: (T, C, 2) in µM.
    theirs_um = theirs_hb.T.reshape(samples, args.channels, 2) * 1e6
    difference = np.abs(ours_hb - theirs_um).max() / np.ptp(theirs_um)
    values = samples * args.channels * len(WAVELENGTHS_NM)
    print(f"MNE      {theirs_s:8.3f} s  {values / theirs_s / 1e6:8.1f} M values/s")
    print(f"nirpoct  {ours_s:8.3f} s  {values / ours_s / 1e6:8.1f} M values/s")
    print(f"throughput ratio nirpoct / MNE: {theirs_s / ours_s:.2f}")
    print(f"largest difference / range of MNE's result: {difference:.2e}")


if __name__ == "__main__":
    main()
