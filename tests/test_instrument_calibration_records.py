"""SpO2-curve, LED-power and lock-in-verification calibrations recorded from measurement tables."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from calibration.instrument_records import spo2_curve_pair_nm
from calibration.registry import Registry
from tests.test_calibration_cli import lab, record, run  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(300)


def write_csv(path, header, rows) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def created_reference(out: str) -> str:
    line = next(line for line in out.splitlines() if line.startswith("created "))
    return line.split()[1]


def test_spo2_curve_record_with_pseudonymised_subjects(lab, capsys, monkeypatch):  # noqa: F811
    rng = np.random.default_rng(5)
    subjects = np.repeat([f"QL-{n:04d}" for n in range(12)], 20)
    sao2 = rng.uniform(70, 100, subjects.size)
    ratio = (110 - sao2) / 25 + rng.normal(0, 0.02, subjects.size)
    write_csv(
        lab / "study.csv",
        ["ratio", "sao2_percent", "subject"],
        zip(ratio, sao2, subjects, strict=True),
    )
    code, out, err = record(
        capsys,
        monkeypatch,
        "record-spo2-curve",
        "study.csv",
        "--study-id",
        "QL-DESAT-01",
        "--pair",
        "660,940",
        "--degree",
        "1",
    )
    assert code == 0, err
    assert "SpO2 accuracy Arms" in out and "pass" in out
    reference = created_reference(out)
    stored = Registry(lab / "registry").load(reference)
    np.testing.assert_allclose(
        stored.content.arrays["coefficients/spo2_curve"], [110, -25], atol=1.5
    )
    assert spo2_curve_pair_nm(stored.content.arrays) == (660.0, 940.0)
    arms = next(r for r in stored.content.as_left if r.name == "SpO2 accuracy Arms")
    assert arms.value == pytest.approx(25 * 0.02, rel=0.2)
    pseudonyms = stored.content.arrays["raw/subject_pseudonym"]
    assert all(p.startswith(b"sub-") for p in pseudonyms)
    assert b"QL-0003" not in stored.path.read_bytes()


def test_led_power_record(lab, capsys, monkeypatch):  # noqa: F811
    rng = np.random.default_rng(6)
    rows = [
        (wavelength, current, slope * current - 2e-7 * current**2 + rng.normal(0, 1e-7))
        for wavelength, slope in ((660, 1.0e-4), (940, 1.4e-4))
        for current in (1, 2, 5, 10, 20)
        for _ in range(3)
    ]
    write_csv(lab / "sweep.csv", ["wavelength_nm", "current_ma", "power_w"], rows)
    code, out, err = record(
        capsys,
        monkeypatch,
        "record-led-power",
        "sweep.csv",
        "--reference-detector",
        "PM-S120C-7",
        "--reference-certificate",
        "C-77",
        "--reference-relative-u",
        "0.03",
    )
    assert code == 0, err
    stored = Registry(lab / "registry").load(created_reference(out))
    slope = stored.content.arrays["coefficients/led_940nm_power_polynomial_w"][1]
    assert slope == pytest.approx(1.4e-4, rel=0.02)
    assert "PM-S120C-7" in stored.content.remarks


def test_lockin_verification_out_of_tolerance_triggers_impact(lab, capsys, monkeypatch):  # noqa: F811
    rows = []
    for sensitivity, gain_error in ((0.01, 0.002), (0.1, -0.001), (1.0, 0.03)):
        for repeat in range(3):
            rows.append(
                (
                    sensitivity,
                    1000,
                    0.5 * sensitivity,
                    0.0,
                    0.5 * sensitivity * (1 + gain_error) * (1 + 1e-4 * repeat),
                    0.05,
                )
            )
    write_csv(
        lab / "lockin.csv",
        [
            "sensitivity_v",
            "frequency_hz",
            "reference_amplitude_v",
            "reference_phase_deg",
            "amplitude_v",
            "phase_deg",
        ],
        rows,
    )
    code, out, err = record(
        capsys,
        monkeypatch,
        "record-lockin-verification",
        "lockin.csv",
        "--source",
        "DS360-1",
        "--source-certificate",
        "C-360",
        "--source-amplitude-relative-u",
        "0.002",
        "--source-phase-u",
        "0.05",
    )
    assert code == 0, err
    verdicts = [line.split()[-1] for line in out.splitlines() if "gain error" in line]
    assert verdicts.count("fail") == 2 and verdicts.count("pass") == 4  # 1 V point, found and left
    reference = created_reference(out)
    (lab / "runs").mkdir()
    code, out, _ = run(
        capsys, monkeypatch, "calib", "impact", reference, "--runs", "runs", "--json"
    )
    assert code == 0 and json.loads(out)["out_of_tolerance"] is True


def test_bad_measurement_table_names_line_and_column(lab, capsys, monkeypatch):  # noqa: F811
    (lab / "study.csv").write_text("ratio,sao2_percent,subject\n0.5,98,A\n0.6,high,B\n")
    code, _, err = record(
        capsys,
        monkeypatch,
        "record-spo2-curve",
        "study.csv",
        "--study-id",
        "S",
        "--pair",
        "660,940",
    )
    assert code == 2 and "line 3, column sao2_percent: 'high' is not a number" in err
