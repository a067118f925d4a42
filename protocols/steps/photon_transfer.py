"""``photon_transfer``: an EMVA 1288 photon-transfer series for detector characterisation.

The series needs a uniform, calibrated illumination (integrating sphere) and exposure steps
to saturation. With a simulated detector the rig is simulated too
(:func:`drivers.sim.photon_transfer.simulate_photon_transfer`, seeded by the instrument's
simulator seed); with hardware the rig's HDF5 export named by ``file`` is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from calibration.photon_transfer import (
    PhotonTransferData,
    photon_transfer_from_mappings,
    read_photon_transfer,
)
from drivers.sim.photon_transfer import simulate_photon_transfer
from protocols.context import RunContext, StepFailure, StepOutcome
from protocols.schema import StepBase, StepKind


class PhotonTransferStep(StepBase):
    """EMVA 1288 photon-transfer series (integrating-sphere rig; simulated with ``--sim``).

    On hardware the series is read from ``file`` (the rig's HDF5 export).
    """

    kind: Literal["photon_transfer"]
    file: str | None = None
    height: Annotated[int, Field(ge=8, le=512)] = 32
    width: Annotated[int, Field(ge=8, le=512)] = 32
    exposure_steps: Annotated[int, Field(ge=10, le=200)] = 50
    wavelength_nm: Annotated[float, Field(ge=300, le=2000)] = 850.0
    temperature_c: Annotated[float, Field(ge=-20, le=80)] = 40.0


def run(step: PhotonTransferStep, context: RunContext) -> StepOutcome:
    """Load or simulate the series; keep it for the ``detector_characterisation`` analysis."""
    config = context.instrument.config
    if step.file is not None:
        data = read_photon_transfer(Path(step.file))
        origin = str(step.file)
    elif config.detector.simulated:
        context.progress(0.0, "simulating the integrating-sphere series")
        datasets, attrs, _ = simulate_photon_transfer(
            config.simulator.seed,
            height=step.height,
            width=step.width,
            steps=step.exposure_steps,
            wavelength_nm=step.wavelength_nm,
            temperature_c=step.temperature_c,
        )
        data = photon_transfer_from_mappings(datasets, attrs)
        origin = f"simulated rig (seed {config.simulator.seed})"
    else:
        raise StepFailure(
            "photon transfer on hardware needs the rig's series: set file: in the step"
        )
    context.data[context.step_name] = data
    return StepOutcome("passed", _summary(data, origin))


def _summary(data: PhotonTransferData, origin: str) -> dict[str, object]:
    return {
        "source": origin,
        "exposure_steps": len(data.exposure_s),
        "wavelength_nm": float(data.wavelength_nm),
    }


KIND = StepKind(PhotonTransferStep, run, figures=("exposure_steps", "wavelength_nm"), acquires=True)
