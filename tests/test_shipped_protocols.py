"""Shipped protocols end to end on the simulator, their figures against the simulator's truth.

``daily-qc`` and ``spo2-screening`` run through the command line in ``test_cli_run.py``; the
others run here through the runner. Acquisitions are shortened with the runner's documented
duration scale.
"""

from __future__ import annotations

import json
import re

import pytest
from pypdf import PdfReader

from calibration.emva1288 import characterize
from drivers.sim.illumination import diffuser_truth
from drivers.sim.scene import Scene
from instrument.config import load_config, simulated
from instrument.run_record import read_run_record
from protocols.cli import main
from protocols.protocol_file import load_protocol, shipped_protocols, step_figures
from protocols.runner import ProtocolRunner
from protocols.steps.photon_transfer import photon_transfer_from_record, series_from_record

pytestmark = pytest.mark.timeout(180)

RUN_THROUGH_THE_CLI = {"daily-qc", "spo2-screening", "spo2-monitoring"}  # + test_live_monitoring.py
RUN_HERE = {"tissue-oxygenation-map", "detector-characterisation", "dot-lesion-scan"}
RUN_WITH_THEIR_WORKFLOW = {"spo2-accuracy-study"}  # test_spo2_study.py


def run(name: str, tmp_path, scale: float):
    config, text = load_config(None)
    runner = ProtocolRunner(
        load_protocol(name),
        simulated(config),
        tmp_path,
        "tester",
        config_text=text,
        duration_scale=scale,
        confirm_prompts=True,
    )
    finished = runner.run()
    summary = json.loads(finished.summary_json.read_text())
    figures = {step["name"]: step["results"] for step in summary["steps"]}
    # Every numeric figure a step produced is one the protocol validator lets a QC gate name.
    for step in runner.protocol.steps:
        numeric = [
            key
            for key, value in figures[step.name].items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        ]
        if step.kind not in ("qc_gate", "report"):
            allowed = step_figures(step)
            assert all(any(re.fullmatch(a, key) for a in allowed) for key in numeric), step.name
    return finished, summary, figures


def test_every_shipped_protocol_has_an_end_to_end_run():
    assert set(shipped_protocols()) == RUN_THROUGH_THE_CLI | RUN_HERE | RUN_WITH_THEIR_WORKFLOW


def test_tissue_oxygenation_map_recovers_the_phantom_saturations(tmp_path):
    finished, summary, figures = run("tissue-oxygenation-map", tmp_path, 0.2)
    truth = Scene(0).truth(5.0)["tissue"]

    assert finished.status == "completed"
    assert [s["status"] for s in summary["steps"]] == ["passed"] * len(summary["steps"])
    assert abs(figures["sto2"]["sto2_percent"] - truth["sto2_percent"]) < 3.0
    assert abs(figures["sto2"]["hbt_um"] - truth["tissue_hbt_um"]) < 0.15 * truth["tissue_hbt_um"]
    assert abs(figures["ippg"]["spo2_median_percent"] - truth["spo2_percent"]) < 3.0
    assert finished.qc_passed
    record = read_run_record(finished.record_path)
    assert record.results["sto2"]["sto2_map_percent"].ndim == 2
    assert record.results["ippg"]["spo2_map_percent"].shape == (16, 16)


def test_detector_characterisation_recovers_the_sensor(tmp_path, capsys):
    # The series is measured through the board and the bench: the bench LED lights the
    # simulated diffuser in front of the array, the power meter reads the same field.
    finished, summary, figures = run("detector-characterisation", tmp_path, 1.0)
    ptc, emva = figures["ptc"], figures["emva1288"]
    truth = diffuser_truth(0, tuple(ptc["window"]), 850.0, ptc["board_temperature_c"])

    assert finished.status == "completed" and finished.qc_passed
    assert ptc["source"] == "instrument" and ptc["power_meter_certificate"]
    assert emva["system_gain_dn_per_e"] == pytest.approx(truth["system_gain_dn_per_e"], rel=0.03)
    assert emva["quantum_efficiency_percent"] == pytest.approx(
        truth["quantum_efficiency_percent"], rel=0.05
    )
    assert emva["dark_noise_e"] == pytest.approx(truth["dark_noise_e"], rel=0.05)
    assert emva["prnu_percent"] == pytest.approx(truth["prnu_percent"], rel=0.1)
    assert emva["dsnu_e"] == pytest.approx(truth["dsnu_e"], rel=0.1)
    assert emva["hot_pixel_count"] == len(truth["hot_pixels"])
    assert emva["dead_pixel_count"] == len(truth["dead_pixels"])
    gates = {g["step"]: g for g in summary["qc_gates"]}
    assert gates["system-gain"]["passed"] and gates["system-gain"]["value"] == pytest.approx(
        emva["system_gain_dn_per_e"]
    )
    # Every frame and reading is in the record: the figures are recomputed from it alone.
    record = read_run_record(finished.record_path)
    series = series_from_record(record, "ptc")
    assert series.bright.shape[:2] == (50, 2) and series.power_w.shape == (50, 3)
    again = characterize(photon_transfer_from_record(record, "ptc"))
    assert again.system_gain_dn_per_e.value == pytest.approx(emva["system_gain_dn_per_e"])
    assert again.quantum_efficiency_percent.value == pytest.approx(
        emva["quantum_efficiency_percent"]
    )
    # ... and exported as a PTC.h5 dataset that the calibration commands read.
    exported = tmp_path / "ptc.h5"
    assert main(["calib", "export-ptc", str(finished.record_path), str(exported)]) == 0
    capsys.readouterr()
    assert main(["calib", "characterize", str(exported), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert from_file["prnu_percent"]["value"] == pytest.approx(emva["prnu_percent"])


def test_dot_lesion_scan_runs_end_to_end_with_a_lesion_table_inside_the_volume(tmp_path):
    # The simulated pad cannot be moved to reference tissue: the reference and the scan see the
    # same tissue, so the reconstruction here shows the plumbing (record → SNIRF → DOT →
    # lesion table, maps, report), not a lesion.
    finished, summary, figures = run("dot-lesion-scan", tmp_path, 0.2)
    dot = figures["dot"]

    assert finished.status == "completed"
    assert {s["name"]: s["status"] for s in summary["steps"]}["dot"] == "passed"
    # The operator is asked to place the pad before each acquisition (confirmed by the run).
    assert figures["place-reference"] == figures["place-scan"] == {"confirmed_by": "automatic"}
    # The intensities are taken above the measured dark level (the sensor's black level).
    black_level = Scene(0).truth(0.0)["sensor"]["black_level_dn"]
    assert abs(dot["dark_level_dn"] - black_level) < 2.0
    record = read_run_record(finished.record_path)
    maps = record.results["dot"]
    x, y, z = maps["dot_x_mm"], maps["dot_y_mm"], maps["dot_z_mm"]
    assert maps["dot_hbt_map"].shape == (x.size, y.size, z.size)
    assert dot["lesion_count"] == len(dot["lesions"])
    for lesion in dot["lesions"]:
        cx, cy, cz = lesion["centroid_mm"]
        assert x.min() <= cx <= x.max() and y.min() <= cy <= y.max() and z.min() <= cz <= z.max()
        assert lesion["volume_mm3"] > 0 and lesion["peak_contrast"] > 1
    contrasts = [lesion["peak_contrast"] for lesion in dot["lesions"]]
    assert contrasts == sorted(contrasts, reverse=True)
    report = "".join(p.extract_text() for p in PdfReader(finished.report_pdf).pages)
    assert "HbT at depth" in report
