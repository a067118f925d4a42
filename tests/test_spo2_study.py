"""SpO2 accuracy study: pairing with co-oximetry, repeated-measures limits, skin-tone groups,
the ``calib study`` commands and the curve record that keeps the pairing."""

from __future__ import annotations

import csv
import datetime as dt
import json

import numpy as np
import pytest
from pypdf import PdfReader

from calibration.registry import Registry
from calibration.spo2_study import (
    analyse_study,
    pair_with_references,
    repeated_measures_sd,
    skin_tone_group,
)
from instrument.config import load_config, simulated
from instrument.run_record import read_run_record
from protocols.cli import main
from protocols.protocol_file import load_protocol
from protocols.runner import ProtocolRunner
from tests.test_calibration_cli import lab, record, run  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(300)


def write_csv(path, header, rows) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_skin_tone_groups_on_both_scales():
    assert [skin_tone_group("monk", str(t)) for t in (1, 4, 5, 7, 8, 10)] == [
        "light",
        "light",
        "medium",
        "medium",
        "dark",
        "dark",
    ]
    assert [skin_tone_group("Fitzpatrick", t) for t in ("I", "iii", "VI")] == [
        "light",
        "medium",
        "dark",
    ]
    with pytest.raises(ValueError, match="1-10"):
        skin_tone_group("monk", "11")
    with pytest.raises(ValueError, match="monk or fitzpatrick"):
        skin_tone_group("von luschan", "3")


def test_each_draw_gets_the_median_r_of_its_window():
    time_s = np.arange(600) + 0.5
    ratio = np.where(time_s < 300, 0.5, 1.0)
    ratio[100:105] = np.nan
    paired, seconds, quality = pair_with_references(
        time_s, ratio, np.full(600, 0.9), [100.0, 450.0, 299.0, 2000.0], window_s=20, lag_s=5
    )
    # 100 s: window 95-115 s, 5 s withheld; 450 s: later plateau; 299 s: window straddles
    # the step (median of 6 s at 0.5 and 14 s at 1.0); beyond the session: no pair.
    assert seconds.tolist() == [15, 20, 20, 0]
    np.testing.assert_allclose(paired[:3], [0.5, 1.0, 1.0])
    assert np.isnan(paired[3]) and np.isnan(quality[3])
    assert quality[0] == pytest.approx(0.9)


def test_repeated_measures_sd_recovers_between_and_within_subject_spread():
    rng = np.random.default_rng(3)
    subjects = np.repeat(np.arange(400), rng.integers(3, 12, 400))
    offsets = rng.normal(0.0, 2.0, 400)
    differences = offsets[subjects] + rng.normal(0.0, 1.0, subjects.size)
    # Points of one subject are correlated: their plain SD understates neither term, but the
    # repeated-measures SD is sqrt(sigma_between² + sigma_within²) = sqrt(5).
    assert repeated_measures_sd(differences, subjects) == pytest.approx(np.sqrt(5.0), rel=0.08)
    single = rng.normal(0.0, 3.0, 300)
    assert repeated_measures_sd(single, np.arange(300)) == pytest.approx(np.std(single, ddof=1))


def synthetic_study(seed: int, groups: tuple[str, ...]):
    rng = np.random.default_rng(seed)
    subjects = np.repeat([f"sub-{n:02d}" for n in range(len(groups))], 25)
    tone = np.repeat(groups, 25)
    sao2 = rng.uniform(70, 100, subjects.size)
    # Darker skin reads 2 % high at the same R in this synthetic study.
    ratio = (110 - sao2 - 2.0 * (tone == "dark")) / 25 + rng.normal(0, 0.03, subjects.size)
    return ratio, sao2, subjects, tone


def test_study_statistics_per_band_and_group_and_the_guidance_minimums():
    groups = ("light",) * 5 + ("medium",) * 4 + ("dark",) * 3
    ratio, sao2, subjects, tone = synthetic_study(1, groups)
    report = analyse_study(ratio, sao2, subjects, tone, degree=1, study_id="S1")

    assert report.overall.points == 300 and report.overall.subjects == 12
    assert set(report.bands) == {"70-80", "80-90", "90-100"}
    assert sum(b.points for b in report.bands.values() if b) == 300
    # The curve fits everyone: darker skin shows a positive bias, the others a negative one.
    dark, light = report.groups["dark"], report.groups["light"]
    assert dark is not None and light is not None
    assert dark.bias_percent > 1.0 > 0.0 > light.bias_percent
    assert report.overall.loa_low_percent < report.overall.bias_percent
    assert report.subjects_per_group == {"light": 5, "medium": 4, "dark": 3}
    assert report.warnings == ()

    few_dark = analyse_study(
        *synthetic_study(2, ("light",) * 9 + ("dark",)), degree=1, study_id="S2"
    )
    assert any("darkly pigmented" in w for w in few_dark.warnings)
    narrow = sao2 > 85
    short = analyse_study(
        ratio[narrow], sao2[narrow], subjects[narrow], tone[narrow], degree=1, study_id="S3"
    )
    assert any("70-80" in w for w in short.warnings)


def test_study_report_and_curve_record_from_a_study_table(lab, capsys, monkeypatch):  # noqa: F811
    groups = ("light",) * 5 + ("medium",) * 4 + ("dark",) * 3
    ratio, sao2, subjects, tone = synthetic_study(4, groups)
    header = ["study_id", "subject_pseudonym", "sex", "age_band", "skin_tone_scale"]
    header += ["skin_tone", "skin_tone_group", "probe_site", "session", "draw_time_utc"]
    header += ["sao2_percent", "ratio", "ratio_seconds", "quality"]
    monk = {"light": "2", "medium": "6", "dark": "9"}
    rows = [
        [
            *("QS-1", s, "F", "30-39", "monk", monk[g], g, "finger", f"{s}.h5"),
            *(f"2026-01-01T10:{i % 60:02d}:00+00:00", f"{o:.2f}", f"{r:.5f}", "20", "0.9"),
        ]
        for i, (r, o, s, g) in enumerate(zip(ratio, sao2, subjects, tone, strict=True))
    ]
    write_csv(lab / "study.csv", header, rows)
    monkeypatch.chdir(lab)
    assert main(["calib", "study", "report", "study.csv", "--degree", "1", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["groups"]["dark"]["bias_percent"] > figures["groups"]["light"]["bias_percent"]
    assert main(["calib", "study", "report", "study.csv", "--pdf", "study.pdf"]) == 0
    text = "".join(page.extract_text() for page in PdfReader(lab / "study.pdf").pages)
    assert "QS-1" in text and "skin tone dark" in text and "Bland" in text

    code, out, err = record(
        capsys,
        monkeypatch,
        "record-spo2-curve",
        "study.csv",
        *("--study-id", "QS-1", "--pair", "660,940", "--degree", "1"),
    )
    assert code == 0, err
    reference = next(line for line in out.splitlines() if line.startswith("created ")).split()[1]
    arrays = Registry(lab / "registry").load(reference).content.arrays
    assert arrays["raw/skin_tone_group"].tolist().count(b"dark") == 75
    stored = json.loads(bytes(arrays["results/study_json"]).decode())
    assert stored["groups"]["dark"]["points"] == 75


def test_a_session_of_the_shipped_protocol_pairs_with_reference_samples(tmp_path):
    config, text = load_config(None)
    runner = ProtocolRunner(
        load_protocol("spo2-accuracy-study"),
        simulated(config),
        tmp_path,
        "tester",
        subject_id="VOL-07",
        config_text=text,
        duration_scale=0.06,
        confirm_prompts=True,
    )
    finished = runner.run()
    assert finished.status == "completed"
    session = read_run_record(finished.record_path).results["session"]
    started = dt.datetime.fromisoformat(str(session["start_time_utc"]))
    draws = [started + dt.timedelta(seconds=s) for s in (20, 500)]  # 2nd is after the session
    write_csv(
        tmp_path / "subjects.csv",
        ["subject", "sex", "age_band", "skin_tone_scale", "skin_tone", "probe_site"],
        [["VOL-07", "M", "20-29", "fitzpatrick", "V", "finger"]],
    )
    write_csv(
        tmp_path / "coox.csv",
        ["subject", "draw_time", "sao2_percent"],
        [["VOL-07", d.isoformat(), "97.5"] for d in draws]
        + [["OTHER", draws[0].isoformat(), "90"]],
    )
    argv = ["calib", "study", "pair", str(finished.record_path), "--study-id", "QS-2"]
    argv += ["--subjects", str(tmp_path / "subjects.csv"), "--references"]
    argv += [str(tmp_path / "coox.csv"), "--out", str(tmp_path / "study.csv"), "--window-s", "10"]
    argv += ["--min-seconds", "5"]
    assert main(argv) == 0
    with open(tmp_path / "study.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # The sample drawn after the session and the other subject's are left out.
    assert len(rows) == 1
    for row in rows:
        assert row["subject_pseudonym"].startswith("sub-") and row["skin_tone_group"] == "dark"
        assert 0.3 < float(row["ratio"]) < 1.5 and int(row["ratio_seconds"]) >= 5


def test_simulated_study_curve_holds_on_other_simulated_subjects(tmp_path, capsys):
    # Product path: simulated subjects with Monk skin tones (epidermal melanin), R through the
    # product's chain, samples paired with the simulator's truth; the curve fitted to the
    # table is then checked against the truth of subjects it never saw.
    from protocols.cli.calib_study import study_report
    from protocols.cli.calib_study_sim import simulated_subjects, truth_arms

    table = tmp_path / "sim-study.csv"
    argv = ["calib", "study", "simulate", str(table), "--subjects", "4", "--duration-s", "30"]
    assert main([*argv, "--first-seed", "101"]) == 0
    report = study_report(str(table), 1)
    assert report.overall.subjects == 4 and report.overall.arms_percent < 1.0
    assert any("fewer than 10" in w for w in report.warnings)
    unseen = simulated_subjects(301, 2, first_tone=9)  # darkly pigmented, other seeds
    assert truth_arms(report.curve.coefficients, unseen, 30.0) < 1.5
    assert main([*argv, "--first-seed", "101"]) != 0  # the table exists: refused without --force
    assert "exists" in capsys.readouterr().err
