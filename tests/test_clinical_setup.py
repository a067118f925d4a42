"""The walkthrough of docs/clinical-setup.md, command for command, as a new site runs it.

From an empty registry: people, a detector characterisation and an SpO2 curve recorded,
reviewed and approved by different people, then the clinical ``spo2-screening`` protocol on
the simulator. Only the acquisition time is shortened (``--duration-scale``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drivers.sim.scene import Scene
from instrument.run_record import read_run_record
from protocols.cli.calib_study_sim import simulated_subjects, study_rows

pytestmark = pytest.mark.timeout(180)

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
PASSWORDS = {
    "admin": "admin-password",
    "tech": "tech-password",
    "rev": "rev-password",
    "boss": "boss-password",
}


def nirpoct(cwd: Path, *args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run one ``nirpoct`` command as a shell would, with extra environment variables."""
    env = {
        **os.environ,
        "NIRPOCT_CALIBRATION_DIR": str(cwd / "registry"),
        "NIRPOCT_KEY_FILE": str(cwd / "site.key"),
        **environment,
    }
    for name in ("NIRPOCT_PASSWORD", "NIRPOCT_ADMIN_PASSWORD", "NIRPOCT_NEW_PASSWORD"):
        if name not in environment:
            env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "protocols.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=150,
    )
    assert result.returncode == 0, f"nirpoct {' '.join(args)}: {result.stderr}"
    return result


def created_record(result: subprocess.CompletedProcess[str]) -> str:
    """The ``ID@VERSION`` a ``calib record-…`` command printed."""
    match = re.search(r"^created (\S+) \(draft\)", result.stdout, re.MULTILINE)
    assert match, result.stdout
    return match.group(1)


def test_the_committed_study_table_is_the_simulators(tmp_path):
    with (EXAMPLES / "spo2-study-sim.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["session"] == "SIM-101.h5"]
    subject = simulated_subjects(101, 1)[0]
    regenerated = study_rows(subject, 50.0, "SIM-DESAT-1", b"any key")
    assert len(rows) == len(regenerated) > 20
    for row, again in zip(rows, regenerated, strict=True):
        assert float(row["ratio"]) == pytest.approx(float(again["ratio"]), abs=1e-5)
        assert float(row["sao2_percent"]) == pytest.approx(float(again["sao2_percent"]), abs=0.01)
        assert row["skin_tone"] == "1" and row["skin_tone_group"] == "light"


def test_clinical_setup_walkthrough(tmp_path):
    admin = {"NIRPOCT_ADMIN_PASSWORD": PASSWORDS["admin"]}
    # 1. People: the administrator first, then a performer, a reviewer and an approver.
    nirpoct(
        tmp_path,
        *("calib", "users", "add", "admin", "--name", "Ada Admin", "--role", "administrator"),
        NIRPOCT_NEW_PASSWORD=PASSWORDS["admin"],
    )
    for user, name, role in (
        ("tech", "Tom Tech", "performer"),
        ("rev", "Rita Reviewer", "reviewer"),
        ("boss", "Bo Approver", "approver"),
    ):
        nirpoct(
            tmp_path,
            *("calib", "users", "add", user, "--name", name, "--role", role, "--admin", "admin"),
            NIRPOCT_NEW_PASSWORD=PASSWORDS[user],
            **admin,
        )

    # 2. Detector characterisation of the simulated detector (EMVA 1288 photon transfer).
    nirpoct(tmp_path, "calib", "simulate-ptc", "ptc.h5")
    detector = created_record(
        nirpoct(
            tmp_path,
            *("calib", "record-detector", "ptc.h5"),
            *("--context", str(EXAMPLES / "detector-context.yaml"), "--performer", "tech"),
            NIRPOCT_PASSWORD=PASSWORDS["tech"],
        )
    )

    # 3. SpO2 curve from the desaturation study table.
    curve = created_record(
        nirpoct(
            tmp_path,
            *("calib", "record-spo2-curve", str(EXAMPLES / "spo2-study-sim.csv")),
            *("--study-id", "SIM-DESAT-1", "--pair", "660,940"),
            *("--context", str(EXAMPLES / "spo2-curve-context.yaml"), "--performer", "tech"),
            NIRPOCT_PASSWORD=PASSWORDS["tech"],
        )
    )

    # 4. Review and approval by two other people.
    for record in (detector, curve):
        for meaning, user in (("reviewed", "rev"), ("approved", "boss")):
            signed = nirpoct(
                tmp_path,
                *("calib", "sign", record, "--meaning", meaning, "--user", user),
                NIRPOCT_PASSWORD=PASSWORDS[user],
            )
            assert f"{record} is now {meaning}" in signed.stdout

    # 5. The clinical protocol.
    result = nirpoct(
        tmp_path,
        *("run", "spo2-screening", "--sim", "--operator", "X", "--subject", "Y"),
        *("--registry", "registry", "--out", "out", "--json", "--duration-scale", "0.1"),
    )
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed" and summary["qc_passed"] is True
    for key in ("record", "report_pdf", "summary_json"):
        assert Path(tmp_path, summary[key]).is_file()
    oximetry = next(s for s in summary["steps"] if s["name"] == "oximetry")["results"]
    truth = Scene(0).truth(3.0)["tissue"]["spo2_percent"]
    assert abs(oximetry["spo2_percent"] - truth) < 3.0
    assert oximetry["curve"].startswith(f"calibration {curve}:")
    used = {c["record"]: c["state"] for c in summary["calibrations"]}
    assert used == {detector: "approved", curve: "approved"}
    record = read_run_record(Path(tmp_path, summary["record"]))
    assert {name: attrs["state"] for name, attrs in record.calibrations.items()} == used
    # The curve's wavelength pair travels with it into the run record.
    np.testing.assert_array_equal(record.results["oximetry"]["curve_pair_nm"], [660.0, 940.0])
