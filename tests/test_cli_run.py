"""``nirpoct run`` and ``nirpoct protocols`` as a user runs them: a real process on the
simulator, its outputs and exit code."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from calibration.instrument_records import SPO2_PAIR_ARRAY
from calibration.registry import Registry
from drivers.sim.scene import Scene
from instrument.run_record import read_run_record
from protocols.cli import main
from tests.calibration_fixtures import PASSWORDS, make_content, make_registry

pytestmark = pytest.mark.timeout(180)

SUBJECT = "QL-2026-0042"
EMPIRICAL_660_940 = np.array([110.0, -25.0])  # SpO2 = 110 − 25 R, %


def nirpoct(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "protocols.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=150,
    )


def approve(registry: Registry, content) -> str:
    entry = registry.create(content, PASSWORDS["tech"])
    registry.sign(entry.reference, "reviewed", "rev", PASSWORDS["rev"])
    registry.sign(entry.reference, "approved", "boss", PASSWORDS["boss"])
    return entry.reference


def clinical_registry(
    root: Path, *, spo2_curve_days_old: int = 0, pair_nm: tuple[float, float] | None = None
) -> Registry:
    """Approved detector and SpO2-curve calibrations (the curve ``days_old`` days old, for
    the wavelength pair ``pair_nm`` or, as records made before the pair was stored, any)."""
    registry = make_registry(root)
    approve(registry, make_content())
    day = (dt.date.today() - dt.timedelta(days=spo2_curve_days_old)).isoformat()
    arrays = {"coefficients/spo2_curve": EMPIRICAL_660_940}
    if pair_nm is not None:
        arrays[SPO2_PAIR_ARRAY] = np.array(pair_nm)
    curve = dataclasses.replace(
        make_content(calibration_date=day),
        kind="spo2-curve",
        title="SpO2 calibration curve",
        arrays=arrays,
    )
    approve(registry, curve)
    return registry


def test_protocols_lists_the_shipped_ones(capsys):
    assert main(["protocols", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {
        "daily-qc",
        "detector-characterisation",
        "dot-lesion-scan",
        "spo2-accuracy-study",
        "spo2-monitoring",
        "spo2-screening",
        "tissue-oxygenation-map",
    }
    assert rows["spo2-screening"]["intended_use"] == "clinical"
    assert rows["daily-qc"]["intended_use"] == "qc"


def test_daily_qc_on_the_simulator(tmp_path):
    result = nirpoct(
        "run",
        "daily-qc",
        "--sim",
        "--duration-scale",
        "0.1",
        "--out",
        "out",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed" and summary["qc_passed"] is True
    assert len(summary["qc_gates"]) == 6 and all(g["passed"] for g in summary["qc_gates"])
    for key in ("record", "report_pdf", "summary_json"):
        assert Path(tmp_path, summary[key]).is_file()
    assert "[8/14] dark-level (qc_gate)" in result.stderr
    assert "QC PASS: dark-stats.mean_dn" in result.stderr

    figures = {step["name"]: step["results"] for step in summary["steps"]}
    sensor = Scene(0).truth(0.0)["sensor"]
    assert abs(figures["dark-stats"]["mean_dn"] - sensor["black_level_dn"]) < 2.0
    # Read noise and quantisation noise, DN.
    expected_noise_dn = np.hypot(sensor["read_noise_e"] * sensor["gain_dn_per_e"], 12**-0.5)
    assert figures["dark-stats"]["temporal_noise_dn"] == pytest.approx(expected_noise_dn, rel=0.15)
    assert figures["led"]["min_signal_dn"] > 100
    assert figures["lockin"]["valid_fraction"] == 1.0

    record = read_run_record(Path(tmp_path, summary["record"]))
    assert record.metadata["status"] == "completed"
    assert record.protocol["name"] == "daily-qc"
    assert record.protocol["sha256"] == summary["protocol"]["sha256"]
    assert record.metadata["duration_scale"] == 0.1


def test_spo2_screening_with_approved_calibrations(tmp_path, capsys):
    clinical_registry(tmp_path / "registry")
    result = nirpoct(
        "run",
        "spo2-screening",
        "--sim",
        "--operator",
        "X",
        "--subject",
        SUBJECT,
        "--registry",
        "registry",
        "--duration-scale",
        "0.1",
        "--out",
        "out",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "spo2-screening completed: QC passed (5/5 gates)" in result.stdout
    summary_path = next(Path(tmp_path, "out").glob("*.json"))
    summary = json.loads(summary_path.read_text())
    oximetry = next(s for s in summary["steps"] if s["name"] == "oximetry")["results"]
    truth = Scene(0).truth(3.0)["tissue"]
    assert abs(oximetry["spo2_percent"] - truth["spo2_percent"]) < 3.0
    assert abs(oximetry["pulse_rate_bpm"] - truth["mean_pulse_rate_bpm"]) < 3.0
    assert oximetry["curve"].startswith("calibration CAL-")
    assert [c["state"] for c in summary["calibrations"]] == ["approved", "approved"]

    # The subject id appears only as its pseudonym, except on the printed report.
    assert SUBJECT not in summary_path.read_text()
    record = read_run_record(Path(tmp_path, summary["record"]))
    assert record.metadata["subject_pseudonym"] == summary["subject_pseudonym"] != ""
    assert SUBJECT not in json.dumps(record.metadata)
    assert record.results["oximetry"]["ppg_signals"].shape[1] == 2

    # Re-analysed from the record alone (no registry), the PPG step gives the report's numbers:
    # the calibration's curve travels in the record.
    assert main(["analyze", "ppg", str(record.path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["step"] == "ppg" and again["signals_recorded_by"] == "oximetry"
    assert again["curve"] == f"{oximetry['curve']} (as recorded)"
    recorded = record.results["oximetry"]["spo2_percent"]
    reanalysed = np.array([np.nan if v is None else v for v in again["spo2_percent"]])
    np.testing.assert_allclose(reanalysed, recorded, atol=0.005)
    # Derived from the frames again (here with the run's own dark frames), nearly the same.
    assert main(["analyze", "ppg", str(record.path), "--black-level", "64", "--json"]) == 0
    derived = json.loads(capsys.readouterr().out)
    assert derived["signals_recorded_by"] is None and derived["curve"] == again["curve"]
    values = np.array([np.nan if v is None else v for v in derived["spo2_percent"]])
    assert np.nanmedian(values) == pytest.approx(np.nanmedian(recorded), abs=0.5)
    # The 0 mA LED step is dark, not a SNIRF wavelength.
    assert main(["export", "snirf", str(record.path), str(tmp_path / "ppg.snirf"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["wavelengths_nm"] == [660.0, 940.0]
    report = "".join(
        p.extract_text() for p in PdfReader(Path(tmp_path, summary["report_pdf"])).pages
    )
    assert SUBJECT in report and "SpO2 trend" in report


def test_expired_calibration_blocks_the_clinical_protocol(tmp_path):
    clinical_registry(tmp_path / "registry", spo2_curve_days_old=400)
    result = nirpoct(
        "run",
        "spo2-screening",
        "--sim",
        "--operator",
        "X",
        "--subject",
        SUBJECT,
        "--registry",
        "registry",
        "--out",
        "out",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "clinical run refused: calibration CAL-" in result.stderr
    assert "is expired" in result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed" and summary["qc_passed"] is False
    assert {s["status"] for s in summary["steps"]} == {"not run"}
    # Refused before the hardware was opened: no run record, but the summary and the report.
    assert summary["record"] is None and not list(Path(tmp_path, "out").glob("*.h5"))
    assert Path(tmp_path, summary["report_pdf"]).read_bytes().startswith(b"%PDF")


def test_a_refused_clinical_run_says_that_no_record_was_made(tmp_path):
    result = nirpoct(
        "run", "spo2-screening", "--sim", "--subject", SUBJECT, "--out", "out", cwd=tmp_path
    )
    assert result.returncode == 1
    assert "no calibration registry" in result.stderr
    assert "record  (none: no device was opened)" in result.stdout + result.stderr
    assert "None" not in result.stdout + result.stderr


@pytest.mark.parametrize("check", ["none", "not stopping"])
def test_the_runner_refuses_an_expired_calibration_whatever_steps_the_protocol_lists(
    tmp_path, capsys, check
):
    clinical_registry(tmp_path / "registry", spo2_curve_days_old=400)
    text = (Path(__file__).parents[1] / "protocols/shipped/spo2-screening.yaml").read_text()
    step = "  - kind: check_calibrations\n"
    assert step in text
    text = text.replace(step, "" if check == "none" else step + "    stops_run: false\n", 1)
    if check == "none":
        text = text.replace(
            "    description: every calibration approved and in date, else the run stops\n", "", 1
        )
    protocol = tmp_path / "no-check.yaml"
    protocol.write_text(text)
    code = main(
        [
            "run",
            str(protocol),
            "--sim",
            "--registry",
            str(tmp_path / "registry"),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "clinical run refused: calibration CAL-" in captured.err
    summary = json.loads(captured.out)
    assert summary["status"] == "failed" and summary["record"] is None
    assert {s["status"] for s in summary["steps"]} == {"not run"}


def test_invalid_protocol_file_is_one_line_naming_file_line_and_field(tmp_path, capsys):
    protocol = tmp_path / "mine.yaml"
    protocol.write_text(
        "name: mine\nversion: '1'\nintended_use: qc\nsteps:\n  - kind: acquire\n    duration_s: 0\n"
    )
    assert main(["run", str(protocol), "--sim", "--out", str(tmp_path / "runs")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"nirpoct: error: {protocol}:6: steps[0].duration_s: Input should be greater than 0"
    ]
    assert not (tmp_path / "runs").exists()


def test_bad_duration_scale_is_refused(capsys):
    assert main(["run", "daily-qc", "--sim", "--duration-scale", "3"]) == 2
    assert "--duration-scale must be in (0, 1], got 3" in capsys.readouterr().err


LONG_ACQUISITION = """\
name: long
version: "1"
intended_use: research
steps:
  - kind: dark_reference
    duration_s: 0.2
  - kind: acquire
    name: signal
    duration_s: 60
"""


def test_every_ctrl_c_aborts_and_the_command_waits_until_the_record_is_closed(tmp_path):
    (tmp_path / "long.yaml").write_text(LONG_ACQUISITION)
    process = subprocess.Popen(
        [sys.executable, "-m", "protocols.cli", "run", "long.yaml", "--sim", "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("[2/2] signal"):
            break
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "interrupted again; still closing the run record" in stderr
    summary = json.loads(stdout)
    assert summary["status"] == "aborted"
    record = read_run_record(Path(tmp_path, summary["record"]))
    assert record.metadata["status"] == "aborted"
    assert Path(tmp_path, summary["report_pdf"]).is_file()


def test_a_curve_calibrated_at_another_wavelength_pair_refuses_the_run_before_measuring(
    tmp_path, capsys
):
    clinical_registry(tmp_path / "registry", pair_nm=(660.0, 940.0))
    text = (Path(__file__).parents[1] / "protocols/shipped/spo2-screening.yaml").read_text()
    red = "    - {wavelength_nm: 660, drive_current_ma: 0.5}\n"
    assert red in text
    protocol = tmp_path / "760-940.yaml"
    protocol.write_text(text.replace(red, "    - {wavelength_nm: 760, drive_current_ma: 0.5}\n"))
    options = ["--sim", "--registry", str(tmp_path / "registry"), "--out", str(tmp_path / "out")]
    code = main(["run", str(protocol), *options, "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert (
        "step 'oximetry': the SpO2 curve (calibration CAL-" in captured.err
        and "is for 660/940 nm, the signals are 760/940 nm" in captured.err
    )
    summary = json.loads(captured.out)
    assert summary["status"] == "failed" and summary["record"] is None


PROMPTED = """\
name: prompted
version: "1"
intended_use: research
steps:
  - kind: prompt
    name: place
    message: Place the probe on the forearm.
  - kind: acquire
    duration_s: 0.5
"""


def test_prompts_need_a_terminal_or_confirm_prompts(tmp_path):
    (tmp_path / "prompted.yaml").write_text(PROMPTED)
    command = [sys.executable, "-m", "protocols.cli", "run", "prompted.yaml", "--sim"]
    refused = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, timeout=150, stdin=subprocess.DEVNULL
    )
    assert refused.returncode == 2
    assert "prompted asks the operator to act before going on (steps place)" in refused.stderr
    assert "--confirm-prompts" in refused.stderr and not (tmp_path / "runs").exists()
    confirmed = subprocess.run(
        [*command, "--confirm-prompts", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=150,
        stdin=subprocess.DEVNULL,
    )
    assert confirmed.returncode == 0, confirmed.stderr
    assert ">>> Place the probe on the forearm." in confirmed.stderr
    assert "(confirmed by --confirm-prompts)" in confirmed.stderr
    steps = json.loads(confirmed.stdout)["steps"]
    assert steps[0]["results"] == {"confirmed_by": "automatic"}


AHEAD = """\
name: typed-ahead
version: "1"
intended_use: research
steps:
  - kind: acquire
    name: first
    duration_s: 1.5
  - kind: prompt
    name: move
    message: Move the probe.
  - kind: acquire
    name: second
    duration_s: 0.5
"""


def test_on_a_terminal_only_an_enter_pressed_after_the_prompt_confirms_it(tmp_path):
    (tmp_path / "ahead.yaml").write_text(AHEAD)
    pid, terminal = pty.fork()
    if pid == 0:  # the child: nirpoct on the pseudo-terminal
        os.chdir(tmp_path)
        command = ["-m", "protocols.cli", "run", "ahead.yaml", "--sim"]
        os.execv(sys.executable, [sys.executable, *command])
    shown = b""

    def read_until(text: bytes, timeout_s: float = 60.0) -> None:
        nonlocal shown
        deadline = time.monotonic() + timeout_s
        while text not in shown:
            assert time.monotonic() < deadline, shown.decode(errors="replace")
            if select.select([terminal], [], [], 0.1)[0]:
                shown += os.read(terminal, 4096)

    read_until(b"[1/3] first")
    os.write(terminal, b"\n")  # typed while the first acquisition runs
    read_until(b"Press Enter when done")
    deadline = time.monotonic() + 1.5  # what the run prints meanwhile
    while time.monotonic() < deadline:
        if select.select([terminal], [], [], 0.1)[0]:
            shown += os.read(terminal, 4096)
    assert b"[3/3]" not in shown
    os.write(terminal, b"\n")
    read_until(b"typed-ahead completed")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    os.close(terminal)
