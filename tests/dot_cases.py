"""The DOT validation cases as SNIRF files (finite-volume phantom data, `drivers.sim.dot_phantom`).

``python -m tests.dot_cases [OUT_DIR]`` regenerates the committed files in ``tests/data/dot``
(measurement and baseline per case, and ``truth.json``); the full-resolution solves take a few
minutes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from drivers.sim.dot_phantom import DotCase, reflectance_pad_case, transmission_slab_case
from instrument.snirf import NirsData, write_snirf

DATA_DIR = Path(__file__).parent / "data" / "dot"
FRAME_INTERVAL_S = 0.1


def case_files(name: str, directory: Path = DATA_DIR) -> tuple[Path, Path]:
    """Measurement and baseline SNIRF paths of a case ("slab" or "pad")."""
    return directory / f"{name}_measurement.snirf", directory / f"{name}_baseline.snirf"


def nirs_data(case: DotCase, values: np.ndarray) -> NirsData:
    """One recording of a simulated case as SNIRF data (1-based indices, CW amplitude)."""
    return NirsData(
        time_s=FRAME_INTERVAL_S * np.arange(values.shape[0]),
        values=values,
        source_index=case.source_index + 1,
        detector_index=case.detector_index + 1,
        wavelength_index=case.wavelength_index + 1,
        wavelengths_nm=case.wavelengths_nm,
        source_positions_mm=case.source_positions_mm,
        detector_positions_mm=case.detector_positions_mm,
        metadata={"MeasurementDate": "2026-01-01", "MeasurementTime": "00:00:00"},
    )


def write_case(name: str, case: DotCase, directory: Path) -> tuple[Path, Path]:
    """Write a case's measurement and baseline SNIRF files; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    measurement, baseline = case_files(name, directory)
    write_snirf(measurement, nirs_data(case, case.measurement))
    write_snirf(baseline, nirs_data(case, case.baseline))
    return measurement, baseline


def case_truth(case: DotCase) -> dict[str, object]:
    """Ground truth and background optics of a case, JSON-ready."""
    return {
        **case.truth,
        "thickness_mm": case.phantom.thickness_mm,
        "mua_per_mm": list(case.phantom.mua_per_mm),
        "musp_per_mm": list(case.phantom.musp_per_mm),
    }


def main(directory: Path) -> None:
    """Simulate both validation cases at full resolution and write them with their truth."""
    truth = {}
    for name, case in (("slab", transmission_slab_case()), ("pad", reflectance_pad_case())):
        write_case(name, case, directory)
        truth[name] = case_truth(case)
    (directory / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR)
