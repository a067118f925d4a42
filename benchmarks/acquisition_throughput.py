"""Acquisition benchmark: 64×64 px uint16 frames at 200 fps through the pseudo-terminal.

Reports frames lost (must be 0), CPU use of the host process and of the simulated board (as a
fraction of one core), and the run-record write throughput as a ratio against a plain
``numpy.save`` of the same frames, both measured in this run.

    python benchmarks/acquisition_throughput.py --duration 60
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from instrument.config import load_config
from instrument.instrument import Instrument
from instrument.run_record import FrameBatch, RunRecordWriter, read_run_record

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User + system CPU time of a live process, s (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def write_record(frames: np.ndarray, fields: dict[str, np.ndarray], path: Path) -> float:
    """Seconds to write ``frames`` into a run record in acquisition-sized batches."""
    start = time.perf_counter()
    writer = RunRecordWriter(path, frames.shape[1:], {}, {}, flush_interval_s=0.5)
    for begin in range(0, len(frames), 64):
        batch = slice(begin, begin + 64)
        writer.append(FrameBatch(frames[batch], {k: v[batch] for k, v in fields.items()}))
    writer.close("completed", {})
    return time.perf_counter() - start


def numpy_save(frames: np.ndarray, path: Path) -> float:
    """Seconds for one ``numpy.save`` of the same frames (the baseline)."""
    start = time.perf_counter()
    np.save(path, frames)
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of acquisition")
    args = parser.parse_args()
    config, text = load_config(None)
    detector = config.detector.model_copy(update={"frame_rate_hz": 200.0, "roi": None})
    config = config.model_copy(update={"detector": detector, "bench": type(config.bench)()})
    with tempfile.TemporaryDirectory() as scratch, Instrument(config, text) as instrument:
        simulator_pid = instrument.board_simulator_pid
        own_before = resource.getrusage(resource.RUSAGE_SELF)
        sim_before = process_cpu_s(simulator_pid)
        wall_start = time.perf_counter()
        result = instrument.acquire(args.duration, scratch)
        wall = time.perf_counter() - wall_start
        own_after = resource.getrusage(resource.RUSAGE_SELF)
        sim_cpu = process_cpu_s(simulator_pid) - sim_before
        own_cpu = (own_after.ru_utime - own_before.ru_utime) + (
            own_after.ru_stime - own_before.ru_stime
        )
        record = read_run_record(result.record_path)
        fields = {
            "time_s": record.time_s,
            "device_time_us": record.device_time_us,
            "host_arrival_s": record.time_s,
            "frame_counter": record.frame_counter,
            "wavelength_nm": record.wavelength_nm,
            "led_step": np.zeros(len(record.frames), np.uint8),
            "board_temperature_c": record.board_temperature_c,
        }
        hdf5_s = write_record(record.frames, fields, Path(scratch) / "again.h5")
        baseline_s = numpy_save(record.frames, Path(scratch) / "frames.npy")
    stats = result.stats
    shape = record.frames.shape
    print(f"frames: {stats.frames} of {shape[1]}x{shape[2]} px at {stats.frame_rate_hz:g} fps")
    print(f"frames lost: {stats.dropped_frames} (buffer overruns {stats.buffer_overruns})")
    print(f"decoder resyncs: {stats.decoder_resyncs}")
    print(f"host CPU: {own_cpu / wall:.2f} of one core")
    print(f"simulated board CPU: {sim_cpu / wall:.2f} of one core")
    print(
        f"run-record write time / numpy.save time: {hdf5_s / baseline_s:.2f} "
        f"(numpy.save throughput / run-record throughput)"
    )
    print(f"acquisition real-time factor: {stats.duration_s / wall:.3f}")


if __name__ == "__main__":
    main()
