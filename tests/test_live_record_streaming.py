"""Frames stream to the record and are read back in chunks; the disk is checked up front."""

from pathlib import Path

import numpy as np
import pytest

from instrument.run_record import PER_FRAME_FIELDS, FrameBatch, RunRecordWriter


def _writer(tmp_path: Path, frames: np.ndarray) -> RunRecordWriter:
    writer = RunRecordWriter(tmp_path / "r.h5", frames.shape[1:], {}, {})
    count = len(frames)
    fields = {name: np.zeros(count, dtype=dtype) for name, dtype in PER_FRAME_FIELDS.items()}
    for start in range(0, count, 7):
        part = slice(start, start + 7)
        writer.append(FrameBatch(frames[part], {k: v[part] for k, v in fields.items()}))
    return writer


def test_record_frames_read_back_any_first_axis_index(tmp_path, monkeypatch):
    monkeypatch.setattr("instrument.run_record.READ_CHUNK_FRAMES", 4)  # several chunks
    frames = np.random.default_rng(0).integers(0, 4096, (40, 5, 6)).astype(np.uint16)
    writer = _writer(tmp_path, frames)
    view = writer.frames_view(10, 25)
    mine = frames[10:35]
    assert len(view) == 25 and view.shape == (25, 5, 6) and view.dtype == np.uint16
    np.testing.assert_array_equal(view[3], mine[3])
    np.testing.assert_array_equal(view[-1], mine[-1])
    np.testing.assert_array_equal(view[2:20:3], mine[2:20:3])
    index = np.array([0, 5, 6, 17, 24])
    np.testing.assert_array_equal(view[index], mine[index])
    mask = np.arange(25) % 3 == 1
    np.testing.assert_array_equal(view[mask], mine[mask])
    np.testing.assert_array_equal(view[..., 1:3, 2:4], mine[..., 1:3, 2:4])
    np.testing.assert_allclose(view.astype(np.float64).mean(axis=0), mine.mean(axis=0))
    with pytest.raises(IndexError):
        view[25]
    writer.close("completed", {})


def _resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS in /proc/self/status")


def test_a_growing_record_keeps_its_writers_memory_bounded(tmp_path):
    # HDF5's default chunk cache keeps up to 8 MiB of each growing dataset's data: the per-frame
    # fields (35 bytes a frame) alone would grow by ~4 MB over these 120,000 frames.
    block = 16
    fields = {name: np.zeros(block, dtype=dtype) for name, dtype in PER_FRAME_FIELDS.items()}
    batch = FrameBatch(np.zeros((block, 4, 4), dtype=np.uint16), fields)
    with RunRecordWriter(tmp_path / "r.h5", (4, 4), {}, {}) as writer:
        for _ in range(20_000 // block):  # warm-up: first chunks, caches, allocator arenas
            writer.append(batch)
        before_mb = _resident_mb()
        for _ in range(120_000 // block):
            writer.append(batch)
        growth_mb = _resident_mb() - before_mb
        assert writer.frames_written == 140_000
    assert growth_mb < 2.0
