"""Acquisition end to end on the simulated instrument: counts, faults, record contents."""

from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np
import pytest

from drivers.detector_protocol import MessageType, encode_packet
from drivers.sim.faults import FaultPlan
from instrument.config import ConfigError, RoiConfig, dump_config, load_config, parse_config
from instrument.instrument import AcquisitionError, Instrument
from instrument.pseudonym import load_site_key, pseudonymise
from instrument.run_record import read_run_record

pytestmark = pytest.mark.timeout(120)


def detector_only_config():
    """The built-in configuration without bench instruments, and its text."""
    config, _ = load_config(None)
    config = config.model_copy(update={"bench": type(config.bench)()})
    return config, dump_config(config)


def test_default_acquisition_records_every_frame(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    config, text = detector_only_config()
    with Instrument(config, text) as instrument:
        result = instrument.acquire(2.0, tmp_path, operator="tech-1", subject_id="QL-000123")
    assert not [t for t in threading.enumerate() if t.name.startswith("detector-board-reader")]
    stats = result.stats
    assert stats.frames == 400 and stats.dropped_frames == 0 and stats.buffer_overruns == 0
    assert stats.wavelengths_nm == (660, 760, 850, 940)
    record = read_run_record(result.record_path)
    assert record.complete and record.metadata["status"] == "completed"
    assert record.frames.shape[0] == 400 and record.frames.dtype == np.uint16
    assert np.all(np.diff(record.time_s) > 0)
    np.testing.assert_allclose(np.diff(record.time_s), 1 / 200, rtol=1e-6)
    assert list(record.wavelength_nm[:4]) == [660, 940, 760, 850]
    assert record.metadata["operator"] == "tech-1"
    assert record.metadata["subject_pseudonym"] == pseudonymise("QL-000123", load_site_key())
    assert b"QL-000123" not in result.record_path.read_bytes()
    assert record.devices["detector"]["serial"] == "SIM000000"
    assert parse_config(record.metadata["config_yaml"], "record") == config
    assert record.acquisition["dropped_frames"] == 0
    # The log tells what happened, never who the subject is.
    assert "acquired 400 frames" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "QL-000123" not in caplog.text


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("kind", ["garbage", "drop", "crc"])
def test_link_corruption_is_survived_and_counted(tmp_path, kind, caplog):
    config, text = detector_only_config()
    with Instrument(config, text, sim_fault=FaultPlan.parse(f"{kind}@0.3")) as instrument:
        result = instrument.acquire(2.0, tmp_path)
    stats = result.stats
    assert stats.frames + stats.dropped_frames == 400
    assert stats.decoder_resyncs > 0
    if kind != "garbage":
        assert stats.dropped_frames > 0
    record = read_run_record(result.record_path)
    assert record.frames.shape[0] == stats.frames
    assert np.all(np.diff(record.frame_counter.astype(np.int64)) >= 1)
    assert record.acquisition["decoder_resyncs"] == stats.decoder_resyncs
    # Recovered faults are not silent: the first resync and the run's losses are warnings.
    warnings = _warnings(caplog)
    assert any("resynchronised after corrupt data" in m for m in warnings)
    assert any(
        f"acquired {stats.frames} frames" in m and f"{stats.dropped_frames} dropped" in m
        for m in warnings
    )


@pytest.mark.parametrize(("kind", "error"), [("unplug", "disconnected"), ("stall", "stopped")])
def test_fatal_fault_keeps_every_frame_received(tmp_path, kind, error):
    config, text = detector_only_config()
    with (
        Instrument(config, text, sim_fault=FaultPlan.parse(f"{kind}@0.5")) as instrument,
        pytest.raises(AcquisitionError, match=error) as caught,
    ):
        instrument.acquire(3.0, tmp_path)
    record = read_run_record(caught.value.record_path)
    assert record.metadata["status"] == "aborted"
    assert error in record.metadata["error"]
    assert 80 <= record.frames.shape[0] == caught.value.stats.frames <= 110
    assert list(record.frame_counter) == list(range(record.frames.shape[0]))


def test_board_left_streaming_by_another_client_gives_a_clean_run(tmp_path):
    config, text = detector_only_config()
    with Instrument(config, text) as instrument:
        # Another program writes START_STREAM on the port: frames of a stream nobody here
        # asked for are in flight when the acquisition starts.
        other_client = os.open(instrument.board.port, os.O_WRONLY | os.O_NOCTTY)
        try:
            os.write(other_client, encode_packet(MessageType.START_STREAM, 60_000))
        finally:
            os.close(other_client)
        time.sleep(0.5)
        result = instrument.acquire(1.0, tmp_path)
    assert result.stats.frames == 200 and result.stats.dropped_frames == 0
    record = read_run_record(result.record_path)
    assert list(record.frame_counter) == list(range(200))
    np.testing.assert_array_equal(np.diff(record.device_time_us.astype(np.int64)), 5000)


def test_short_exposure_at_a_high_frame_rate(tmp_path):
    config, text = detector_only_config()
    fast = config.detector.model_copy(
        update={
            "frame_rate_hz": 1000.0,
            "integration_time_us": 500,
            "roi": RoiConfig(row=0, col=0, height=16, width=16),
        }
    )
    with Instrument(config.model_copy(update={"detector": fast}), text) as instrument:
        result = instrument.acquire(0.5, tmp_path)
    assert result.stats.frames == 500 and result.stats.dropped_frames == 0
    assert read_run_record(result.record_path).frames.shape[1:] == (16, 16)


def test_exposure_longer_than_the_frame_period_is_a_config_error():
    text = (
        "detector:\n  frame_rate_hz: 1000\n  integration_time_us: 2000\n"
        "  led_pattern: [{wavelength_nm: 660, drive_current_ma: 1}]\n"
    )
    with pytest.raises(ConfigError, match="integration_time_us 2000 exceeds the frame period 1000"):
        parse_config(text, "fast.yaml")


def test_a_full_buffer_is_counted_never_silent(tmp_path, caplog):
    config, _ = detector_only_config()
    small = config.acquisition.model_copy(update={"buffer_frames": 16})
    config = config.model_copy(update={"acquisition": small})
    with Instrument(config, dump_config(config)) as instrument:
        # A consumer slower than the frame rate makes the bounded buffer overflow.
        result = instrument.acquire(1.0, tmp_path, on_frames=lambda batch: time.sleep(0.2))
    stats = result.stats
    assert stats.buffer_overruns > 0
    assert stats.frames + stats.dropped_frames == 200
    assert stats.dropped_frames >= stats.buffer_overruns
    record = read_run_record(result.record_path)
    assert record.acquisition["buffer_overruns"] == stats.buffer_overruns
    assert any(f"of which {stats.buffer_overruns} buffer overruns" in m for m in _warnings(caplog))
