"""The SpO2 accuracy study of the simulated instrument, through the product's commands.

Ten simulated subjects (Monk skin tones 1-10, epidermal melanin from ``drivers.sim.skin``)
desaturate from 100 % to 70 %; R per second comes from the product's pulse-oximetry chain and
is paired with "arterial samples" whose SaO2 is the simulator's truth
(``nirpoct calib study simulate``). The table is then reported like a site's study, and the
fitted curve is checked against the truth of ten other simulated subjects.

Run from the repository root::

    python -m docs.examples.simulated_spo2_study docs/examples/spo2-study-sim.csv
"""

from __future__ import annotations

import sys

from protocols.cli import main as nirpoct
from protocols.cli.calib_study import study_report
from protocols.cli.calib_study_sim import simulated_subjects, truth_arms

DURATION_S = 50.0


def main(table: str) -> int:
    """Write the study table to ``table``, report it, and state the curve's Arms on others."""
    argv = ["calib", "study", "simulate", table, "--subjects", "10", "--force"]
    argv += ["--study-id", "SIM-DESAT-1"]
    if nirpoct([*argv, "--duration-s", str(DURATION_S)]) != 0:
        return 1
    nirpoct(["calib", "study", "report", table])
    report = study_report(table, 2)  # the degree record-spo2-curve uses by default
    unseen = simulated_subjects(201, 10)
    arms = truth_arms(report.curve.coefficients, unseen, DURATION_S)
    print(f"Arms against the truth of 10 other simulated subjects (seeds 201-210): {arms:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "spo2-study-sim.csv"))
