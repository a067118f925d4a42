"""``nirpoct batch rerun``: a protocol run re-analysed from its record with the calibrations
valid now, and ``--from-impact`` choosing the runs an out-of-tolerance calibration affected.
The run is a real ``nirpoct run spo2-screening`` on the simulator. The frames of a re-analysis
are corrected with the detector record valid now (or the one named), as the live path corrects
them: a simulated sensor's dark-offset and PRNU bias on R is removed."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from calibration.gate import run_calibrations
from calibration.registry import Registry
from drivers.sim.scene import Scene
from drivers.sim.sensor import SensorConfig
from instrument.run_record import (
    FrameBatch,
    RunRecordWriter,
    detector_settings_attributes,
    led_pattern_attribute,
    read_run_record,
    step_result_attributes,
    write_results,
)
from protocols.cli import main
from protocols.protocol_file import parse_protocol
from protocols.rerun import RerunOptions, key_figures, process
from tests.calibration_fixtures import PASSWORDS, make_content, make_registry
from tests.test_cli_run import EMPIRICAL_660_940, SUBJECT, approve, clinical_registry, nirpoct
from tests.test_live_frame_correction import DSNU_SENSOR, PATTERN, SEED, detector_coefficients

pytestmark = pytest.mark.timeout(300)

OTHER_CURVE = np.array([104.0, -20.0])  # SpO2 = 104 − 20 R, %: another study's curve


@pytest.fixture(scope="module")
def screening(tmp_path_factory) -> tuple[Path, Path]:
    """A registry (detector record, an SpO2 curve ten days old) and a folder with one
    spo2-screening run made with them."""
    root = tmp_path_factory.mktemp("screening")
    clinical_registry(root / "registry", spo2_curve_days_old=10)
    result = nirpoct(
        "run",
        "spo2-screening",
        "--sim",
        "--subject",
        SUBJECT,
        "--registry",
        "registry",
        "--duration-scale",
        "0.1",
        "--out",
        "runs",
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    return root / "registry", next((root / "runs").glob("*.h5"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def _rerun(*argv: object) -> int:
    """``nirpoct batch rerun ARGV…`` on a local cluster of one worker."""
    return main(["batch", "rerun", *map(str, argv), "--workers", "1"])


def _new_curve(registry_root: Path) -> str:
    registry = Registry(registry_root)
    curve = dataclasses.replace(
        make_content(),
        kind="spo2-curve",
        title="SpO2 calibration curve",
        arrays={"coefficients/spo2_curve": OTHER_CURVE},
    )
    return approve(registry, curve)


def test_rerun_reproduces_the_run_then_follows_a_new_curve(screening, tmp_path, capsys):
    registry_root, record_path = screening
    registry_copy = tmp_path / "registry"  # the module's registry stays as the run saw it
    registry_copy.mkdir()
    for item in registry_root.rglob("*"):
        target = registry_copy / item.relative_to(registry_root)
        if item.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(item.read_bytes())
    record = read_run_record(record_path)
    recorded = json.loads(record.results["oximetry"]["results_json"])
    before = _sha256(record_path)

    # With the calibrations the run used (still the valid ones), the same numbers.
    same = process(record_path, RerunOptions(registry=str(registry_copy)))
    oximetry = same.steps["oximetry"]
    assert oximetry.status == "passed" and oximetry.changed == []
    assert oximetry.results["spo2_percent"] == pytest.approx(recorded["spo2_percent"], abs=1e-9)
    assert oximetry.results["curve"] == recorded["curve"]
    assert sorted(use.record for use in same.calibrations) == sorted(record.calibrations)

    # Through the command: one result file in --out, the manifest's key figures.
    out = tmp_path / "first"
    code = _rerun(record_path.parent, "--out", out, "--registry", registry_copy)
    assert code == 0, capsys.readouterr().err
    (row,) = _rows(out)
    assert row["status"] == "ok" and row["changed_figures"] == "0"
    assert float(row["spo2_percent"]) == pytest.approx(recorded["spo2_percent"], abs=1e-9)
    result = json.loads((out / row["result"]).read_text())
    assert result["steps"]["oximetry"]["recorded"]["spo2_percent"] == recorded["spo2_percent"]
    # Resumed with the registry unchanged: nothing to do.
    assert _rerun(record_path.parent, "--out", out, "--registry", registry_copy, "--resume") == 0
    assert _rows(out)[0]["status"] == "skipped"

    # A new SpO2 curve approved today: the re-analysis uses it and the SpO2 moves.
    new_curve = _new_curve(registry_copy)
    moved = process(record_path, RerunOptions(registry=str(registry_copy)))
    oximetry = moved.steps["oximetry"]
    assert new_curve in {use.record for use in moved.calibrations}
    assert oximetry.results["curve"].startswith(f"calibration {new_curve.split('@')[0]}")
    assert "spo2_percent" in oximetry.changed
    assert abs(oximetry.results["spo2_percent"] - recorded["spo2_percent"]) > 1.0
    # The pulse rate does not depend on the curve.
    assert oximetry.results["pulse_rate_bpm"] == pytest.approx(recorded["pulse_rate_bpm"])
    # A resumed batch sees the registry changed and analyses the run again.
    assert _rerun(record_path.parent, "--out", out, "--registry", registry_copy, "--resume") == 0
    (row,) = _rows(out)
    assert row["status"] == "ok" and float(row["spo2_percent"]) == pytest.approx(
        oximetry.results["spo2_percent"]
    )

    # --calibration names the old curve: the run's numbers again.
    kinds = {
        use.record: Registry(registry_copy).entry(use.record).kind for use in same.calibrations
    }
    old_curve = next(reference for reference, kind in kinds.items() if kind == "spo2-curve")
    named = process(
        record_path, RerunOptions(registry=str(registry_copy), calibrations=(old_curve,))
    )
    assert named.steps["oximetry"].results["spo2_percent"] == pytest.approx(
        recorded["spo2_percent"], abs=1e-9
    )
    assert _sha256(record_path) == before  # the original record is never changed


def test_from_impact_reanalyses_only_the_runs_the_calibration_affected(screening, tmp_path, capsys):
    registry_root, record_path = screening
    record = read_run_record(record_path)
    serial = str(record.devices["detector"]["serial"])
    other = tmp_path / "other-board.h5"  # a run made with another detector board
    writer = RunRecordWriter(other, (2, 2), {}, {"detector": {"serial": "OTHER-BOARD"}})
    writer.close("completed", {})
    registry = Registry(registry_root)
    failing = registry.create(
        dataclasses.replace(
            make_content(as_found_gain=0.12),
            item=dataclasses.replace(make_content().item, serial=serial),
        ),
        PASSWORDS["tech"],
    )
    assert failing.out_of_tolerance_as_found

    out = tmp_path / "impact"
    code = _rerun(
        record_path.parent,
        other,
        "--out",
        out,
        "--registry",
        registry_root,
        "--from-impact",
        failing.reference,
    )
    assert code == 0, capsys.readouterr().err
    rows = _rows(out)
    assert [Path(row["path"]) for row in rows] == [record_path.resolve()]
    assert rows[0]["status"] == "ok"

    # A calibration whose as-found results were in tolerance affects nothing.
    good = next(e for e in registry.index().values() if e.kind == "spo2-curve")
    code = _rerun(
        record_path.parent,
        "--out",
        tmp_path / "none",
        "--registry",
        registry_root,
        "--from-impact",
        good.reference,
    )
    assert code == 0
    assert "no run among the inputs is affected" in capsys.readouterr().out


def test_a_plain_acquisition_is_a_failed_row(screening, tmp_path, capsys):
    registry_root, _ = screening
    plain = tmp_path / "runs" / "plain.h5"
    plain.parent.mkdir()
    writer = RunRecordWriter(plain, (2, 2), {}, {"detector": {"serial": "X"}})
    writer.close("completed", {})
    out = tmp_path / "out"
    code = _rerun(plain.parent, "--out", out, "--registry", registry_root)
    assert code == 1
    (row,) = _rows(out)
    assert row["status"] == "failed" and "not a protocol run" in row["error"]


# -- detector correction in re-analysis ---------------------------------------------------

FINGER_PPG = """\
name: finger-ppg
version: "1"
intended_use: research
description: red/infrared PPG at the fingertip, SpO2
required_calibrations: [spo2-curve]
device:
  frame_rate_hz: 200
  integration_time_us: 2000
  led_pattern:
    - {wavelength_nm: 660, drive_current_ma: 0.5}
    - {wavelength_nm: 940, drive_current_ma: 1.0}
steps:
  - kind: acquire
    name: ppg
    duration_s: 20
  - kind: analyse
    name: oximetry
    analysis: spo2
    source: ppg
"""


def _finger_record(path: Path, sensor, curve_use) -> Path:
    """A finished ``finger-ppg`` run of the simulated finger seen by `sensor` (no dark step:
    the dark level must come from the detector record or the darkest pixels), written as the
    runner writes one."""
    protocol = parse_protocol(FINGER_PPG, "finger-ppg.yaml")
    scene = Scene(SEED, sensor=sensor)
    count = 20 * 200
    time_s = np.arange(count) / 200.0
    steps = np.arange(count) % 2
    frames = np.stack(
        [scene.frame(t + 0.001, *PATTERN[s], 0.002) for t, s in zip(time_s, steps, strict=True)]
    )
    settings = detector_settings_attributes(200.0, 2000, 1, (0, 0, 64, 64, 1))
    writer = RunRecordWriter(
        path,
        (64, 64),
        {"operator": "tester", "subject_pseudonym": ""},
        {"detector": {"kind": "detector board", "serial": "SIM000003"}},
        calibrations={curve_use.record: curve_use.as_attributes()},
        probe={"pixel_pitch_mm": 0.4, "led_xy_mm": [12.8, -4.8]},
        protocol={
            "name": protocol.name,
            "version": protocol.version,
            "intended_use": protocol.intended_use,
            "source": protocol.source,
            "text": protocol.text,
            "sha256": protocol.sha256,
        },
    )
    fields = {
        "time_s": time_s,
        "device_time_us": np.round(time_s * 1e6).astype(np.uint64),
        "host_arrival_s": time_s + 0.002,
        "frame_counter": np.arange(count, dtype=np.uint32),
        "wavelength_nm": np.array([PATTERN[s][0] for s in steps], dtype=np.uint16),
        "led_step": steps.astype(np.uint8),
        "board_temperature_c": np.array([scene.board_temperature_c(t) for t in time_s]),
    }
    writer.append(FrameBatch(frames, fields))
    pattern = led_pattern_attribute(PATTERN)
    writer.close("completed", {**settings, "frames": count, "led_pattern": pattern})
    placement = {
        "first_frame": 0,
        "frames": count,
        "led_pattern": [list(step) for step in PATTERN],
        "start_time_utc": "2026-12-01T09:00:00Z",
    }
    write_results(
        path,
        {
            "ppg": (step_result_attributes(0, "acquire", "passed", "", {}, **placement), {}),
            "oximetry": (step_result_attributes(1, "analyse", "passed", "", {}), {}),
        },
    )
    return path


def _curve_registry(root: Path) -> Registry:
    registry = make_registry(root)
    approve(
        registry,
        dataclasses.replace(
            make_content(),
            kind="spo2-curve",
            title="SpO2 calibration curve",
            arrays={"coefficients/spo2_curve": EMPIRICAL_660_940},
        ),
    )
    return registry


def _detector_record(registry: Registry, coefficients, days_old: int) -> str:
    day = (dt.date.today() - dt.timedelta(days=days_old)).isoformat()
    arrays = {f"coefficients/{k}": v for k, v in coefficients.as_arrays().items()}
    return approve(registry, dataclasses.replace(make_content(calibration_date=day), arrays=arrays))


def _median_ratio(result) -> float:
    """Median R of the re-analysed oximetry, from its SpO2 through the registry's curve
    (SpO2 = a + b R): the bias the sensor puts on R, read back from the figures."""
    a, b = EMPIRICAL_660_940
    return (result.steps["oximetry"].results["spo2_percent"] - a) / b


def test_rerun_corrects_the_frames_with_the_valid_detector_record(tmp_path):
    """A sensor with a dark-offset spread of 150 DN and 5 % PRNU biases R when the frames are
    analysed raw; re-analysed with its approved detector record, the bias is gone, as in the
    live path (tests/test_live_frame_correction.py)."""
    plain = _curve_registry(tmp_path / "plain")
    curve_use = next(iter(run_calibrations(plain, ("spo2-curve",), [], clinical=False)[0]))
    ideal = SensorConfig(
        dsnu_e=0.0,
        prnu_fraction=0.0,
        hot_pixel_fraction=0.0,
        dead_pixel_fraction=0.0,
        dark_current_e_per_s=0.0,
    )
    ideal_path = _finger_record(tmp_path / "ideal.h5", ideal, curve_use)
    biased_path = _finger_record(tmp_path / "biased.h5", DSNU_SENSOR, curve_use)
    before = _sha256(biased_path)

    reference = process(ideal_path, RerunOptions(registry=str(plain.root)))
    raw = process(biased_path, RerunOptions(registry=str(plain.root)))
    assert raw.frame_correction.startswith("uncorrected frames")
    assert raw.summary["frame_correction"]["applied"] is False
    assert raw.steps["oximetry"].results["frame_correction"] == raw.frame_correction

    # The board's detector record (valid now) and an older one of another sensor.
    corrected_root = tmp_path / "corrected"
    registry = _curve_registry(corrected_root)
    older = _detector_record(registry, detector_coefficients(SensorConfig()), days_old=30)
    valid = _detector_record(registry, detector_coefficients(DSNU_SENSOR), days_old=1)
    corrected = process(biased_path, RerunOptions(registry=str(corrected_root)))
    assert corrected.steps["oximetry"].status == "passed"

    ideal_ratio = _median_ratio(reference)
    bias = abs(_median_ratio(raw) - ideal_ratio)
    left = abs(_median_ratio(corrected) - ideal_ratio)
    assert bias > 0.005  # the sensor biases R by ~2 %
    assert left < bias / 3.0

    # The result names the record applied: id, version and content hash.
    entry = registry.entry(valid)
    named = corrected.summary["frame_correction"]
    assert named["applied"] is True and named["record"] == valid
    assert named["id"] == entry.record_id and named["version"] == entry.version
    assert named["content_sha256"] == entry.content_sha256 == registry.load(valid).computed_sha256
    assert corrected.frame_correction.startswith(valid)
    assert key_figures(corrected)["frame_correction"] == corrected.frame_correction
    assert valid in {use.record for use in corrected.calibrations}
    # --calibration names the older record: it is the one applied (and it fits this sensor
    # worse than the valid one).
    chosen = process(biased_path, RerunOptions(registry=str(corrected_root), calibrations=(older,)))
    assert chosen.summary["frame_correction"]["record"] == older
    assert abs(_median_ratio(chosen) - ideal_ratio) > left
    assert _sha256(biased_path) == before  # the record is only read
