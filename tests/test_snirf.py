"""SNIRF read/write and the run-record export, checked with the snirf validator and MNE."""

from __future__ import annotations

import contextlib
import json
import tempfile
import warnings
from pathlib import Path

import h5py
import mne
import numpy as np
import pytest

from drivers.sim.scene import Scene
from drivers.sim.tissue import TissueConfig
from instrument.config import InstrumentConfig, load_config
from instrument.pseudonym import load_site_key, pseudonymise
from instrument.run_record import FrameBatch, RunRecordWriter, read_run_record, write_results
from instrument.run_steps import measurement_view
from instrument.snirf import (
    DATA_TYPE_PROCESSED,
    NirsData,
    SnirfError,
    read_snirf,
    write_snirf,
)
from instrument.snirf_export import export_run, run_to_nirs

DEFAULT_PATTERN = ((660, 0.5), (940, 1.0), (760, 0.4), (850, 0.4))


def validate_snirf(path: Path) -> bool:
    """The snirf package's verdict; the package logs into the working directory on import."""
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
        import snirf

        result = snirf.validateSnirf(str(path))
    return bool(result)


def read_with_mne(path: Path) -> mne.io.BaseRaw:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mne.io.read_raw_snirf(path, preload=True, verbose="error")


def write_sim_record(
    path: Path,
    duration_s: float = 2.0,
    frame_rate_hz: float = 200.0,
    pattern: tuple[tuple[int, float], ...] = DEFAULT_PATTERN,
    seed: int = 3,
    subject_id: str = "QL-000042",
    tissue: TissueConfig | None = None,
) -> Scene:
    """A run record of the physics scene, interleaved LED steps as the board produces them."""
    scene = Scene(seed, tissue=tissue or TissueConfig())
    probe = InstrumentConfig.model_validate(
        {"detector": {"led_pattern": [{"wavelength_nm": 660, "drive_current_ma": 1}]}}
    ).probe
    count = round(duration_s * frame_rate_hz)
    times = np.arange(count) / frame_rate_hz
    steps = np.arange(count) % len(pattern)
    frames = np.stack(
        [
            scene.frame(t, pattern[s][0], pattern[s][1], 0.002)
            for t, s in zip(times, steps, strict=True)
        ]
    )
    writer = RunRecordWriter(
        path,
        frames.shape[1:],
        {"subject_pseudonym": pseudonymise(subject_id, load_site_key()), "operator": "qc"},
        {},
        probe=probe.model_dump(),
    )
    fields = {
        "time_s": times,
        "device_time_us": (times * 1e6).astype(np.uint64),
        "host_arrival_s": times + 0.001,
        "frame_counter": np.arange(count, dtype=np.uint32),
        "wavelength_nm": np.array([pattern[s][0] for s in steps], dtype=np.uint16),
        "led_step": steps.astype(np.uint8),
        "board_temperature_c": np.full(count, 30.0, dtype=np.float32),
    }
    writer.append(FrameBatch(frames, fields))
    roi = [0, 0, frames.shape[1], frames.shape[2], 1]
    writer.close(
        "completed",
        {"frame_rate_hz": frame_rate_hz, "roi": roi, "led_pattern": json.dumps(pattern)},
    )
    return scene


def small_data(**changes: object) -> NirsData:
    rng = np.random.default_rng(0)
    fields: dict[str, object] = {
        "time_s": np.arange(50) / 10.0,
        "values": 1000.0 + rng.normal(0.0, 5.0, (50, 4)),
        "source_index": [1, 1, 1, 1],
        "detector_index": [1, 1, 2, 2],
        "wavelength_index": [1, 2, 1, 2],
        "wavelengths_nm": [760.0, 850.0],
        "source_positions_mm": [[0.0, 0.0, 0.0]],
        "detector_positions_mm": [[10.0, 0.0, 0.0], [30.0, 0.0, 0.0]],
        "metadata": {
            "SubjectID": "sub-0123456789abcdef0123",
            "MeasurementDate": "2026-11-26",
            "MeasurementTime": "09:30:00.000Z",
        },
    }
    fields.update(changes)
    return NirsData(**fields)  # type: ignore[arg-type]


def test_cw_round_trip_is_valid_and_mne_reads_it(tmp_path):
    data = small_data()
    path = tmp_path / "cw.snirf"
    write_snirf(path, data)
    assert validate_snirf(path)
    back = read_snirf(path)
    np.testing.assert_array_equal(back.values, data.values)
    np.testing.assert_array_equal(back.time_s, data.time_s)
    np.testing.assert_array_equal(back.detector_positions_mm, data.detector_positions_mm)
    np.testing.assert_array_equal(back.wavelength_index, data.wavelength_index)
    assert back.metadata["SubjectID"] == data.metadata["SubjectID"]
    assert back.data_type == 1 and back.data_type_labels is None
    raw = read_with_mne(path)
    assert raw.ch_names == ["S1_D1 760", "S1_D1 850", "S1_D2 760", "S1_D2 850"]
    assert raw.info["sfreq"] == pytest.approx(10.0)
    np.testing.assert_allclose(raw.get_data().T, data.values)
    # MNE works in metres: the 30 mm detector lies 0.03 m from the source.
    assert raw.info["chs"][2]["loc"][6] == pytest.approx(0.030)
    assert raw.info["meas_date"].isoformat().startswith("2026-11-26T09:30:00")


def test_haemoglobin_is_written_in_micromolar_and_read_by_mne_in_molar(tmp_path):
    data = small_data(
        values=np.linspace(-2.0, 3.0, 200).reshape(50, 4),
        wavelength_index=[0, 0, 0, 0],
        data_type=DATA_TYPE_PROCESSED,
        data_type_labels=("HbO", "HbR", "HbO", "HbR"),
    )
    path = tmp_path / "hb.snirf"
    write_snirf(path, data)
    assert validate_snirf(path)
    back = read_snirf(path)
    assert back.data_type_labels == ("HbO", "HbR", "HbO", "HbR")
    raw = read_with_mne(path)
    assert raw.get_channel_types() == ["hbo", "hbr", "hbo", "hbr"]
    np.testing.assert_allclose(raw.get_data().T, data.values * 1e-6)


def test_other_units_and_forms_are_converted_on_reading(tmp_path):
    path = tmp_path / "cm.snirf"
    write_snirf(path, small_data())
    with h5py.File(path, "r+") as root:
        meta = root["nirs/metaDataTags"]
        del meta["LengthUnit"], meta["TimeUnit"]
        meta["LengthUnit"], meta["TimeUnit"] = "cm", "ms"
        probe = root["nirs/probe"]
        del probe["detectorPos3D"], probe["sourcePos3D"]
        probe["detectorPos2D"] = [[1.0, 0.0], [3.0, 0.5]]
        probe["sourcePos2D"] = [[0.0, 0.0]]
        del root["nirs/data1/time"]
        root["nirs/data1/time"] = [1000.0, 100.0]  # (start, period) in ms
    back = read_snirf(path)
    np.testing.assert_allclose(back.detector_positions_mm, [[10, 0, 0], [30, 5, 0]])
    np.testing.assert_allclose(back.time_s, 1.0 + 0.1 * np.arange(50))


def _damage(path: Path, how: str) -> None:
    with h5py.File(path, "r+") as root:
        if how == "no data1":
            del root["nirs/data1"]
        elif how == "columns":
            del root["nirs/data1/dataTimeSeries"]
            root["nirs/data1/dataTimeSeries"] = np.zeros((50, 3))
        elif how == "rows":
            del root["nirs/data1/time"]
            root["nirs/data1/time"] = np.arange(49) / 10.0
        elif how == "time":
            time = np.arange(50) / 10.0
            time[20] = time[10]
            root["nirs/data1/time"][...] = time
        elif how == "detector index":
            root["nirs/data1/measurementList4/detectorIndex"][()] = 7


@pytest.mark.parametrize(
    ("how", "named"),
    [
        ("no data1", "missing /nirs/data1"),
        ("columns", "dataTimeSeries has shape (50, 3)"),
        ("rows", "dataTimeSeries has shape (50, 4), expected (49,"),
        ("time", "time is not strictly increasing"),
        ("detector index", "detector_index must lie in 1..2"),
    ],
)
def test_malformed_files_name_the_file_and_the_problem(tmp_path, how, named):
    path = tmp_path / "bad.snirf"
    write_snirf(path, small_data())
    _damage(path, how)
    with pytest.raises(SnirfError) as caught:
        read_snirf(path)
    assert str(path) in str(caught.value)
    assert named in str(caught.value)


def test_files_that_are_not_snirf_are_refused(tmp_path):
    text = tmp_path / "notes.snirf"
    text.write_text("not hdf5")
    with pytest.raises(SnirfError, match="not an HDF5"):
        read_snirf(text)
    with pytest.raises(SnirfError, match="no such file"):
        read_snirf(tmp_path / "absent.snirf")
    with pytest.raises(SnirfError, match="missing /nirs group"):
        h5py.File(tmp_path / "empty.snirf", "w").close()
        read_snirf(tmp_path / "empty.snirf")


def test_inconsistent_data_is_refused_before_writing():
    with pytest.raises(SnirfError, match="expected \\(3,\\)"):
        small_data(values=np.ones((50, 3)))
    with pytest.raises(SnirfError, match="one dataTypeLabel per measurement"):
        small_data(data_type=DATA_TYPE_PROCESSED, wavelength_index=[0, 0, 0, 0])


def test_default_probe_geometry_is_the_simulators():
    config, _ = load_config(None)
    tissue = TissueConfig()
    assert config.probe.pixel_pitch_mm == tissue.pixel_pitch_mm
    assert config.probe.led_xy_mm == tissue.source_xy_mm


def test_run_record_export_maps_regions_source_and_time(tmp_path):
    scene = write_sim_record(tmp_path / "run.h5", duration_s=1.0)
    record = read_run_record(tmp_path / "run.h5")
    data = run_to_nirs(record, region_px=8, keep_unreliable=True)
    # 64×64 pixels in 8×8 regions: 64 detectors × 4 wavelengths.
    assert data.values.shape[1] == 64 * 4
    np.testing.assert_array_equal(data.wavelengths_nm, [660, 760, 850, 940])
    # Uniform time base at the LED-cycle rate, inside every wavelength's samples.
    np.testing.assert_allclose(np.diff(data.time_s), 4 / 200.0)
    assert data.time_s[0] == pytest.approx(3 / 200.0)
    # Region centres: region (row 2, col 5) of 8×8 pixels at 0.4 mm pitch.
    np.testing.assert_allclose(data.detector_positions_mm[2 * 8 + 5], [17.6, 8.0, 0.0])
    np.testing.assert_allclose(data.source_positions_mm, [[12.8, -4.8, 0.0]])
    # At t = 3/200 s the 850 nm frame was exposed: the value is that frame's region mean less
    # the sensor's 64 DN black level (the record has no dark step).
    frame = record.frames[3].astype(float)
    column = (2 * 8 + 5) * 4 + 2
    assert data.values[0, column] == pytest.approx(frame[16:24, 40:48].mean() - 64.0)
    # Light falls off with distance from the LED (diffusion in the scene).
    distance = np.hypot(*(data.detector_positions_mm[:, :2] - [12.8, -4.8]).T)
    near, far = np.argmin(distance), np.argmax(distance)
    assert data.values[:, near * 4 + 3].mean() > 5 * data.values[:, far * 4 + 3].mean()
    assert data.metadata["SubjectID"] == pseudonymise("QL-000042", load_site_key())
    assert "QL-000042" not in json.dumps(data.metadata)
    assert scene.tissue.truth(0.0)["source_xy_mm"] == (12.8, -4.8)
    out = tmp_path / "run.snirf"
    write_snirf(out, data)
    assert validate_snirf(out)
    raw = read_with_mne(out)
    assert len(raw.ch_names) == 256
    assert raw.info["sfreq"] == pytest.approx(50.0)


def test_export_refuses_records_it_cannot_map(tmp_path):
    write_sim_record(tmp_path / "twice.h5", 0.1, pattern=((760, 0.4), (850, 0.4), (760, 0.8)))
    with pytest.raises(ValueError, match="several steps"):
        run_to_nirs(read_run_record(tmp_path / "twice.h5"))
    write_sim_record(tmp_path / "one.h5", 0.1, pattern=((850, 0.4),))
    with pytest.raises(ValueError, match="at least two lit LED wavelengths, found 1"):
        run_to_nirs(read_run_record(tmp_path / "one.h5"))
    # A step at 0 mA is a dark frame, not a second wavelength.
    write_sim_record(tmp_path / "dark_step.h5", 0.1, pattern=((850, 0.4), (760, 0.0)))
    with pytest.raises(ValueError, match="at least two lit LED wavelengths, found 1"):
        run_to_nirs(read_run_record(tmp_path / "dark_step.h5"))
    with h5py.File(tmp_path / "one.h5", "r+") as root:
        del root["probe"]
    with pytest.raises(ValueError, match="no probe geometry"):
        run_to_nirs(read_run_record(tmp_path / "one.h5"))


def test_writing_never_replaces_a_run_record_and_keeps_existing_files_on_request(tmp_path):
    write_sim_record(tmp_path / "run.h5", duration_s=0.2)
    before = (tmp_path / "run.h5").read_bytes()
    with pytest.raises(SnirfError, match="run record"):
        write_snirf(tmp_path / "run.h5", small_data())
    assert (tmp_path / "run.h5").read_bytes() == before
    read_run_record(tmp_path / "run.h5")
    out = tmp_path / "x.snirf"
    write_snirf(out, small_data())
    with pytest.raises(SnirfError, match="exists"):
        write_snirf(out, small_data(values=np.ones((50, 4))), overwrite=False)
    assert read_snirf(out).values[0, 0] != 1.0
    write_snirf(out, small_data(values=np.ones((50, 4))))
    assert read_snirf(out).values[0, 0] == 1.0
    # Written through a temporary file in the same directory, nothing left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5", "x.snirf"]


def test_export_subtracts_the_records_dark_step(tmp_path):
    write_sim_record(tmp_path / "run.h5", duration_s=1.0)
    # A protocol run keeps its steps' frame ranges under /results: here frames 0-2 are a dark
    # reference at 100, 101 and 102 DN and the rest an acquire step.
    with h5py.File(tmp_path / "run.h5", "r+") as root:
        for index in range(3):
            root["raw/frames"][index] = 100 + index
        count = root["raw/frames"].shape[0]
    pattern = json.loads(read_run_record(tmp_path / "run.h5").acquisition["led_pattern"])
    dark = {"index": 0, "kind": "dark_reference", "first_frame": 0, "frames": 3}
    dark["led_pattern"] = [[660, 0.0]]
    signal = {"index": 1, "kind": "acquire", "first_frame": 3, "frames": count - 3}
    signal["led_pattern"] = pattern
    write_results(tmp_path / "run.h5", {"dark": (dark, {}), "signal": (signal, {})})
    record = read_run_record(tmp_path / "run.h5")
    data = run_to_nirs(record, region_px=8, keep_unreliable=True)
    # The acquire step alone, less the black level (64 DN) instead of the dark mean (101 DN).
    plain = run_to_nirs(measurement_view(record), region_px=8, keep_unreliable=True)
    np.testing.assert_allclose(plain.time_s, data.time_s)
    np.testing.assert_allclose(data.values, plain.values - 37.0, atol=1e-9)
    assert plain.time_s[0] >= record.time_s[3]


def test_export_leaves_out_saturated_and_near_dark_regions(tmp_path):
    write_sim_record(tmp_path / "run.h5", duration_s=1.0)
    record = read_run_record(tmp_path / "run.h5")
    export = export_run(record, region_px=8)
    kept = export.data
    assert export.saturated > 0 and export.near_dark > 0
    assert kept.detector_positions_mm.shape[0] == 64 - export.saturated - export.near_dark
    everything = export_run(record, region_px=8, keep_unreliable=True).data
    assert everything.detector_positions_mm.shape[0] == 64
    numbers = [int(label[1:]) - 1 for label in kept.detector_labels]
    frames = record.frames.astype(float)
    for number in numbers:
        row, col = divmod(number, 8)
        block = frames[:, 8 * row : 8 * row + 8, 8 * col : 8 * col + 8]
        assert block.max() < 3000.0
        for wavelength in (660, 760, 850, 940):
            lit = block[record.wavelength_nm == wavelength]
            assert lit.mean() - 64.0 >= 20.0
    # The regions left out are the ones that clip or sit near the dark level.
    for number in sorted(set(range(64)) - set(numbers)):
        row, col = divmod(number, 8)
        block = frames[:, 8 * row : 8 * row + 8, 8 * col : 8 * col + 8]
        signals = [block[record.wavelength_nm == w].mean() - 64.0 for w in (660, 760, 850, 940)]
        assert block.max() >= 3000.0 or min(signals) < 20.0


def test_stimuli_and_labels_survive_a_round_trip_and_reach_mne(tmp_path):
    stims = {"tap": [[1.0, 0.5, 1.0], [3.0, 0.5, 2.0]], "rest": [[2.0, 1.0, 1.0]]}
    data = small_data(stims=stims, source_labels=("LED",), detector_labels=("Dnear", "Dfar"))
    path = tmp_path / "stim.snirf"
    write_snirf(path, data)
    assert validate_snirf(path)
    back = read_snirf(path)
    assert sorted(back.stims) == ["rest", "tap"]
    np.testing.assert_allclose(back.stims["tap"], stims["tap"])
    assert back.source_labels == ("LED",) and back.detector_labels == ("Dnear", "Dfar")
    annotations = read_with_mne(path).annotations
    assert sorted(zip(annotations.onset, annotations.description, strict=True)) == [
        (1.0, "tap"),
        (2.0, "rest"),
        (3.0, "tap"),
    ]


def test_haemoglobin_units_are_converted_to_micromolar(tmp_path):
    hb = small_data(
        values=np.full((50, 4), 2.5),
        wavelength_index=[0, 0, 0, 0],
        data_type=DATA_TYPE_PROCESSED,
        data_type_labels=("HbO", "HbR", "HbO", "HbR"),
    )
    path = tmp_path / "hb.snirf"
    for unit, stored in (("M", 2.5e-6), ("mol/L", 2.5e-6), ("mM", 2.5e-3), (None, 2.5e-6)):
        write_snirf(path, hb)
        with h5py.File(path, "r+") as root:
            root["nirs/data1/dataTimeSeries"][...] = stored
            for k in range(1, 5):
                del root[f"nirs/data1/measurementList{k}/dataUnit"]
                if unit is not None:  # MNE writes no dataUnit: mol/L
                    group = root[f"nirs/data1/measurementList{k}"]
                    group.create_dataset("dataUnit", data=unit, dtype=h5py.string_dtype())
        np.testing.assert_allclose(read_snirf(path).values, 2.5, rtol=1e-12)
    write_snirf(path, hb)
    with h5py.File(path, "r+") as root:
        del root["nirs/data1/measurementList1/dataUnit"]
        root["nirs/data1/measurementList1"].create_dataset("dataUnit", data="furlong")
    with pytest.raises(SnirfError, match="unsupported dataUnit 'furlong'"):
        read_snirf(path)


def test_subject_identifiers_are_pseudonymised_and_other_tags_dropped(tmp_path):
    name = "John Smith 1970-01-01"
    data = small_data(
        metadata={
            "SubjectID": name,
            "MeasurementDate": "2026-11-26",
            "MeasurementTime": "09:30:00Z",
            "DateOfBirth": "1970-01-01",
            "RunID": "run-1",
        }
    )
    path = tmp_path / "subject.snirf"
    write_snirf(path, data)
    tags = read_snirf(path).metadata
    assert tags["SubjectID"] == pseudonymise(name, load_site_key())
    assert "DateOfBirth" not in tags and tags["RunID"] == "run-1"
    assert b"Smith" not in path.read_bytes() and b"1970" not in path.read_bytes()
    pseudonym = "sub-0123456789abcdef0123"
    write_snirf(path, small_data(metadata={"SubjectID": pseudonym}))
    assert read_snirf(path).metadata["SubjectID"] == pseudonym


def test_damaged_hdf5_content_is_named_not_raised_raw(tmp_path):
    path = tmp_path / "good.snirf"
    write_snirf(path, small_data())
    content = bytearray(path.read_bytes())
    heap = content.find(b"HEAP")  # the root group's local heap: link names
    assert heap > 0
    content[heap + 8 : heap + 24] = b"\xff" * 16  # data segment size and free-list offset
    damaged = tmp_path / "damaged.snirf"
    damaged.write_bytes(bytes(content))
    with pytest.raises(SnirfError, match=f"{damaged}: damaged SNIRF"):
        read_snirf(damaged)


def test_tags_that_are_not_text_or_numbers_are_refused_unread(tmp_path):
    path = tmp_path / "vlen.snirf"
    write_snirf(path, small_data())
    with h5py.File(path, "r+") as root:
        del root["nirs/metaDataTags/SubjectID"]
        tag = root["nirs/metaDataTags"].create_dataset(
            "SubjectID", (1,), dtype=h5py.vlen_dtype(np.int32)
        )
        tag[0] = np.arange(3, dtype=np.int32)
    with pytest.raises(SnirfError, match="SubjectID holds neither numbers nor text"):
        read_snirf(path)
