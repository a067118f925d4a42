"""Imaging-PPG benchmark: SpO2/perfusion/quality maps of 64×64 px × 60 s at 200 fps.

The stack (two wavelengths, uint16 DN) is built from a pulse of known SpO2 map. The
vectorised `imaging.imaging_ppg.ppg_maps` is timed against the recording's duration (aim:
>= 20× real time) and against a per-pixel baseline measured in the same run doing the same
work: each pixel's frames averaged in time down to `ANALYSIS_RATE_HZ` as `ppg_maps` does, then
the one-signal pipeline `imaging.pulse_oximetry.pulse_oximetry`, on a sample of pixels and
scaled to the whole array.

    python benchmarks/imaging_ppg.py --seconds 60
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from imaging.imaging_ppg import ANALYSIS_RATE_HZ, ppg_maps
from imaging.pulse_oximetry import pulse_oximetry

FPS = 200.0
SIZE = 64
WAVELENGTHS_NM = (660.0, 940.0)
BASELINE_PIXELS = 16


def frame_stack(seconds: float, seed: int = 0) -> np.ndarray:
    """(N, 2, 64, 64) uint16 frames: 1.2 Hz pulse, SpO2 97 % left / 85 % right, PI 0.5-2 %."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * FPS)) / FPS
    volume = np.exp(-0.5 * ((np.mod(1.2 * t, 1.0) - 0.2) / 0.08) ** 2).astype(np.float32)
    ratio = np.where(np.arange(SIZE) < SIZE // 2, (110 - 97) / 25, (110 - 85) / 25)
    perfusion = np.linspace(0.005, 0.02, SIZE)[:, None] * np.ones(SIZE)
    k = np.stack([ratio * perfusion, perfusion]).astype(np.float32)
    dc = np.array([1500.0, 2500.0], dtype=np.float32)[:, None, None]
    frames = np.empty((t.size, 2, SIZE, SIZE), dtype=np.uint16)
    noise = rng.standard_normal((64, 2, SIZE, SIZE)).astype(np.float32)
    for start in range(0, t.size, 64):
        v = volume[start : start + 64, None, None, None]
        frames[start : start + 64] = dc * (1 - k * v) + noise[: v.shape[0]] * 3.0
        noise = np.roll(noise, 7, axis=2)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    frames = frame_stack(args.seconds)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        maps = ppg_maps(frames, FPS, WAVELENGTHS_NM)
        times.append(time.perf_counter() - start)
    vectorised_s = min(times)
    pixels = np.random.default_rng(1).choice(SIZE * SIZE, BASELINE_PIXELS, replace=False)
    # The same work per pixel: average groups of q frames down to ANALYSIS_RATE_HZ, as
    # ppg_maps does, then the one-signal pipeline.
    q = max(1, int(FPS // ANALYSIS_RATE_HZ))
    n = frames.shape[0] // q
    start = time.perf_counter()
    for pixel in pixels:
        row, col = divmod(int(pixel), SIZE)
        series = frames[: n * q, :, row, col].reshape(n, q, 2).mean(axis=1)
        pulse_oximetry(series, FPS / q, WAVELENGTHS_NM)
    baseline_s = (time.perf_counter() - start) * SIZE * SIZE / BASELINE_PIXELS
    left, right = maps.spo2_percent[:, : SIZE // 2], maps.spo2_percent[:, SIZE // 2 :]
    print(f"{SIZE}x{SIZE} px x {args.seconds:g} s at {FPS:g} fps, 2 wavelengths")
    print(
        f"  ppg_maps             {vectorised_s:7.2f} s   "
        f"{args.seconds / vectorised_s:6.1f}x real time"
    )
    print(
        f"  per-pixel baseline   {baseline_s:7.2f} s   (scaled from {BASELINE_PIXELS} pixels, "
        f"each averaged to {FPS / q:g} Hz first)"
    )
    print(f"  speed-up vs per-pixel {baseline_s / vectorised_s:.1f}x")
    print(
        f"  SpO2 map median left {np.nanmedian(left):.1f} % (true 97), right "
        f"{np.nanmedian(right):.1f} % (true 85); pulse rate {maps.pulse_rate_bpm:.1f} bpm (true 72)"
    )


if __name__ == "__main__":
    main()
