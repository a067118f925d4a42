"""Where the simulated bench publishes its illumination head's light for the simulated board.

No physics here: a host that starts the simulators imports only this
(:mod:`drivers.sim.illumination` is the physics on both sides).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def light_link_path(host_pid: int, seed: int) -> Path:
    """The light-link file shared by the simulators a host process (``host_pid``) starts."""
    return Path(tempfile.gettempdir()) / f"nirpoct-sim-light-{host_pid}-{seed}.json"


def write_light(path: Path, wavelength_nm: float, irradiance_w_per_m2: float) -> None:
    """Publish the head's light atomically (a reader never sees half a file)."""
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(
        json.dumps({"wavelength_nm": wavelength_nm, "irradiance_w_per_m2": irradiance_w_per_m2})
    )
    os.replace(partial, path)
