"""Optical density + modified Beer–Lambert: nirpoct (imaging.mbll) against MNE, same data.

64 source–detector channels × 2 wavelengths (760/850 nm) × 24 h at 10 Hz by default. Times
``mne.preprocessing.nirs.optical_density`` + ``beer_lambert_law`` on a preloaded RawArray and
``imaging.mbll.hemoglobin_changes`` (optical density + modified Beer–Lambert, what
``nirpoct analyze nirs`` runs) on the same intensities (best of ``--repeats`` runs each);
prints the throughput ratio and the largest difference of the results relative to their
range. MNE is timed on two channel layouts: every channel sharing one source (S1_D1 … S1_D64)
and distinct source–detector pairs (S1_D1, S2_D2, …), its common case, so that the ratio is
not taken against a slow path of MNE's.

    python benchmarks/mbll_vs_mne.py            # 24 h
    python benchmarks/mbll_vs_mne.py --hours 1  # quicker

With ``--snirf`` it times SNIRF files instead: ``instrument.snirf.write_snirf`` against the
same layout written with h5py's high-level API (one ``create_dataset`` per field), and
``read_snirf`` against ``mne.io.read_raw_snirf`` (preload), for 626 measurements (313
channels × 2 wavelengths) × 200 samples (``--measurements``, ``--samples``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import h5py
import mne
import numpy as np

from imaging.mbll import hemoglobin_changes
from instrument.snirf import NirsData, read_snirf, write_snirf

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


def mne_raw(
    data: np.ndarray, distances_mm: np.ndarray, distinct_pairs: bool = False
) -> mne.io.RawArray:
    """A preloaded CW-amplitude RawArray holding `data` with optode positions set.

    Channels share source S1, or with `distinct_pairs` each has its own source (Sc_Dc), the
    pairs side by side 10 mm apart.
    """
    samples, channels, n_wavelengths = data.shape
    names = [
        f"S{c + 1 if distinct_pairs else 1}_D{c + 1} {int(w)}"
        for c in range(channels)
        for w in WAVELENGTHS_NM
    ]
    info = mne.create_info(names, SAMPLE_RATE_HZ, "fnirs_cw_amplitude", verbose="error")
    for index, ch in enumerate(info["chs"]):
        channel, wavelength = divmod(index, n_wavelengths)
        offset_m = 0.01 * channel if distinct_pairs else 0.0
        ch["loc"][3:6] = [0.0, offset_m, 0.0]
        ch["loc"][6:9] = [distances_mm[channel] * 1e-3, offset_m, 0.0]
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


def snirf_data(measurements: int, samples: int) -> NirsData:
    """CW amplitudes: one source, one detector per measurement, two wavelengths."""
    detectors = (measurements + 1) // 2
    rng = np.random.default_rng(1)
    return NirsData(
        time_s=np.arange(samples) / SAMPLE_RATE_HZ,
        values=rng.uniform(500.0, 5000.0, (samples, measurements)),
        source_index=np.ones(measurements, dtype=np.int64),
        detector_index=np.arange(measurements) // 2 + 1,
        wavelength_index=np.arange(measurements) % 2 + 1,
        wavelengths_nm=WAVELENGTHS_NM,
        source_positions_mm=np.zeros((1, 3)),
        detector_positions_mm=np.column_stack(
            [np.linspace(10.0, 40.0, detectors), np.zeros(detectors), np.zeros(detectors)]
        ),
        metadata={"MeasurementDate": "2026-11-26", "MeasurementTime": "10:00:00Z"},
    )


def write_plain_h5py(path: Path, data: NirsData) -> None:
    """The same SNIRF layout through h5py's high-level API: the reference writer."""
    text = h5py.string_dtype()
    with h5py.File(path, "w") as root:
        root.create_dataset("formatVersion", data="1.1", dtype=text)
        nirs = root.create_group("nirs")
        meta = nirs.create_group("metaDataTags")
        tags = {"SubjectID": "", **data.metadata, "LengthUnit": "mm", "TimeUnit": "s"}
        for key, value in {**tags, "FrequencyUnit": "Hz"}.items():
            meta.create_dataset(key, data=value, dtype=text)
        block = nirs.create_group("data1")
        block.create_dataset("dataTimeSeries", data=data.values)
        block.create_dataset("time", data=data.time_s)
        for k in range(data.measurement_count):
            entry = block.create_group(f"measurementList{k + 1}")
            entry.create_dataset("sourceIndex", data=np.int32(data.source_index[k]))
            entry.create_dataset("detectorIndex", data=np.int32(data.detector_index[k]))
            entry.create_dataset("wavelengthIndex", data=np.int32(data.wavelength_index[k]))
            entry.create_dataset("dataType", data=np.int32(1))
            entry.create_dataset("dataTypeIndex", data=np.int32(1))
        probe = nirs.create_group("probe")
        probe.create_dataset("wavelengths", data=data.wavelengths_nm)
        probe.create_dataset("sourcePos3D", data=data.source_positions_mm)
        probe.create_dataset("detectorPos3D", data=data.detector_positions_mm)


def snirf_benchmark(measurements: int, samples: int, repeats: int) -> None:
    """Print write and read times of SNIRF files against their references."""
    data = snirf_data(measurements, samples)
    with tempfile.TemporaryDirectory() as scratch:
        ours_path, plain_path = Path(scratch) / "ours.snirf", Path(scratch) / "plain.snirf"
        write_s, _ = best_of(repeats, lambda: write_snirf(ours_path, data))
        plain_s, _ = best_of(repeats, lambda: write_plain_h5py(plain_path, data))
        read_s, back = best_of(repeats, lambda: read_snirf(ours_path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mne_s, _ = best_of(
                repeats,
                lambda: mne.io.read_raw_snirf(ours_path, preload=True, verbose="error"),
            )
    assert np.array_equal(back.values, data.values)
    print(f"SNIRF, {measurements} measurements × {samples} samples, best of {repeats}")
    print(f"write  nirpoct {write_s:7.3f} s   h5py high-level {plain_s:7.3f} s   ", end="")
    print(f"ratio {plain_s / write_s:.2f}")
    print(f"read   nirpoct {read_s:7.3f} s   MNE read_raw_snirf {mne_s:7.3f} s   ", end="")
    print(f"ratio {mne_s / read_s:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="recording length, h")
    parser.add_argument("--channels", type=int, default=64, help="source–detector channels")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, best kept")
    parser.add_argument("--snirf", action="store_true", help="time SNIRF write and read")
    parser.add_argument("--measurements", type=int, default=626, help="SNIRF measurements (even)")
    parser.add_argument("--samples", type=int, default=200, help="SNIRF samples")
    args = parser.parse_args()
    if args.snirf:
        snirf_benchmark(args.measurements, args.samples, args.repeats)
        return
    samples = round(args.hours * 3600 * SAMPLE_RATE_HZ)
    data = intensities(args.channels, samples)
    distances = np.linspace(15.0, 40.0, args.channels)
    layouts = {
        "one shared source": mne_raw(data, distances),
        "distinct pairs": mne_raw(data, distances, distinct_pairs=True),
    }
    print(
        f"{args.channels} channels × {len(WAVELENGTHS_NM)} wavelengths × {samples} samples "
        f"({args.hours:g} h at {SAMPLE_RATE_HZ:g} Hz), best of {args.repeats}"
    )
    values = samples * args.channels * len(WAVELENGTHS_NM)
    ours_s, ours_hb = best_of(
        args.repeats, lambda: hemoglobin_changes(data, WAVELENGTHS_NM, distances, DPF)
    )
    print(f"nirpoct                  {ours_s:8.3f} s  {values / ours_s / 1e6:8.1f} M values/s")
    for name, raw in layouts.items():

        def theirs(raw: mne.io.RawArray = raw) -> np.ndarray:
            od = mne.preprocessing.nirs.optical_density(raw, verbose="error")
            return mne.preprocessing.nirs.beer_lambert_law(od, ppf=DPF).get_data()

        theirs_s, theirs_hb = best_of(args.repeats, theirs)
        # MNE: rows Sx_Dc hbo, Sx_Dc hbr in M; ours: (T, C, 2) in µM.
        theirs_um = theirs_hb.T.reshape(samples, args.channels, 2) * 1e6
        difference = np.abs(ours_hb - theirs_um).max() / np.ptp(theirs_um)
        print(
            f"MNE, {name:19} {theirs_s:8.3f} s  {values / theirs_s / 1e6:8.1f} M values/s  "
            f"ratio nirpoct / MNE {theirs_s / ours_s:5.2f}  "
            f"largest difference / range {difference:.1e}"
        )


if __name__ == "__main__":
    main()
