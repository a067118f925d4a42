"""Simulated devices as child processes, as a host sees real devices: by an address.

Each simulator runs as ``python -m MODULE …``, prints one JSON line with its addresses when it
is ready, and exits when its standard input closes, so it never outlives the process that
started it. A board and a bench started by the same process share a light link
(:func:`drivers.sim.light_link.light_link_path`): the bench's illumination head can light the
board's array.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import tempfile
from typing import Self

from drivers.errors import DeviceError
from drivers.sim.faults import FaultPlan
from drivers.sim.light_link import light_link_path

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 5.0


class SimulatorProcess:
    """A simulator child process; a context manager.

    Parameters
    ----------
    module : str
        Module run with ``python -m``.
    args : tuple of str
        Its command-line arguments.
    startup_timeout_s : float
        How long to wait for the ready line, s.

    Attributes
    ----------
    ready : dict
        The JSON object the simulator printed when ready (its addresses).
    process : subprocess.Popen or None
        The running child.
    """

    def __init__(
        self, module: str, args: tuple[str, ...], startup_timeout_s: float = STARTUP_TIMEOUT_S
    ) -> None:
        self.module = module
        self.args = args
        self.startup_timeout_s = startup_timeout_s
        self.ready: dict[str, str] = {}
        self.process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the running simulator."""
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start the process and wait for its ready line (DeviceError on failure or timeout)."""
        if self.process is not None:
            return
        with tempfile.TemporaryFile("w+") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
            assert self.process.stdout is not None
            readable, _, _ = select.select([self.process.stdout], [], [], self.startup_timeout_s)
            line = self.process.stdout.readline() if readable else ""
            try:
                self.ready = json.loads(line)
            except ValueError:
                self.close()
                stderr.seek(0)
                detail = stderr.read().strip().splitlines()
                logger.info("simulator %s did not start: %s", self.module, detail[-1:] or line)
                raise DeviceError(
                    f"simulator {self.module} did not start within {self.startup_timeout_s:g} s"
                    + (f": {detail[-1]}" if detail else "")
                ) from None
        logger.info("simulator %s started (pid %d): %s", self.module, self.process.pid, self.ready)

    def close(self) -> None:
        """Close its standard input (it exits by itself), then reap it (idempotent)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            logger.warning(
                "simulator %s (pid %d) did not exit within %g s; killed",
                self.module,
                process.pid,
                SHUTDOWN_TIMEOUT_S,
            )
            process.kill()
            process.wait()
        logger.info("simulator %s (pid %d) stopped", self.module, process.pid)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class DetectorBoardSimulator(SimulatorProcess):
    """The simulated detector board behind a pseudo-terminal (:mod:`drivers.sim.board`).

    Parameters
    ----------
    seed : int
        Seed of the physics scene (same seed, same frames).
    fault : FaultPlan or None
        A link fault to inject.
    scenario : str or None
        Patient scenario (`drivers.sim.scenarios.SCENARIOS`), laid out over `scenario_period_s`.
    scenario_period_s : float or None
        Planned run length the scenario's events are laid out over, s (None: the default).
    speed : float
        Board clock rate relative to real time.
    """

    def __init__(
        self,
        seed: int = 0,
        fault: FaultPlan | None = None,
        *,
        scenario: str | None = None,
        scenario_period_s: float | None = None,
        speed: float = 1.0,
    ) -> None:
        args = ("--seed", str(seed)) + (("--fault", str(fault)) if fault else ())
        if scenario is not None:
            args += ("--scenario", scenario)
        if scenario_period_s is not None:
            args += ("--scenario-period", repr(float(scenario_period_s)))
        if speed != 1.0:
            args += ("--speed", repr(float(speed)))
        link = ("--light-link", str(light_link_path(os.getpid(), seed)))
        super().__init__("drivers.sim.board", args + link)

    @property
    def port(self) -> str:
        """Device path of the board's serial port."""
        return self.ready["port"]

    @property
    def serial(self) -> str:
        """Serial number the board reports."""
        return self.ready["serial"]


class ScpiSimulator(SimulatorProcess):
    """The simulated bench instruments behind loopback TCP sockets (:mod:`drivers.sim.scpi_server`).

    Parameters
    ----------
    seed : int
        Bench seed.
    extra_args : tuple of str
        More command-line options (e.g. ``("--led-wavelength-nm", "940")``).
    """

    def __init__(self, seed: int = 0, *, extra_args: tuple[str, ...] = ()) -> None:
        link = ("--light-link", str(light_link_path(os.getpid(), seed)))
        super().__init__("drivers.sim.scpi_server", ("--seed", str(seed), *link, *extra_args))

    @property
    def resources(self) -> dict[str, str]:
        """VISA resource of each instrument, by name."""
        return self.ready
