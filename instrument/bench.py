"""Bench instruments of an instrument configuration: lock-in, source-meter, power meter."""

from __future__ import annotations

import contextlib
import logging

from drivers.ledsource import DC2200
from drivers.lockin import LockInAmplifier
from drivers.powermeter import PM100
from drivers.sim.processes import ScpiSimulator
from drivers.sourcemeter import Keithley2400
from drivers.sr830 import SR830
from drivers.sr860 import SR860
from drivers.visa_device import Identity, VisaDevice
from instrument.config import BenchConfig, BenchInstrumentConfig, LockinConfig

logger = logging.getLogger(__name__)

LOCKIN_MODELS: dict[str, type[LockInAmplifier]] = {"SR830": SR830, "SR860": SR860}


def describe(identity: Identity, kind: str, address: str) -> dict[str, str]:
    """Identity attributes stored in run records and shown by ``nirpoct devices``."""
    return {
        "kind": kind,
        "model": identity.model,
        "serial": identity.serial,
        "firmware": identity.firmware,
        "manufacturer": identity.manufacturer,
        "address": address,
    }


class BenchInstruments:
    """Opens the configured bench instruments (starting their simulator when any is ``sim``).

    Parameters
    ----------
    config : BenchConfig
        Which instruments, at which VISA resources.
    seed : int
        Seed of the simulated optical bench.

    Attributes
    ----------
    lockin, sourcemeter, powermeter, ledsource : driver or None
        Connected drivers, ``None`` for instruments the configuration leaves out.
    identities : dict of str to dict
        ``*IDN?`` fields per instrument name.
    """

    def __init__(self, config: BenchConfig, seed: int = 0) -> None:
        self.config = config
        self.seed = seed
        self.lockin: LockInAmplifier | None = None
        self.sourcemeter: Keithley2400 | None = None
        self.powermeter: PM100 | None = None
        self.ledsource: DC2200 | None = None
        self.identities: dict[str, dict[str, str]] = {}
        self._stack = contextlib.ExitStack()
        self._simulator: ScpiSimulator | None = None

    def _resource(
        self, configured: LockinConfig | BenchInstrumentConfig, simulated_name: str
    ) -> tuple[str, str]:
        """VISA resource to open and the address to report."""
        if not configured.simulated:
            return configured.resource, configured.resource
        if self._simulator is None:
            self._simulator = self._stack.enter_context(ScpiSimulator(seed=self.seed))
        resource = self._simulator.resources[simulated_name]
        return resource, f"sim ({resource})"

    def _open(self, device: VisaDevice, kind: str, address: str) -> dict[str, str]:
        self._stack.enter_context(device)
        identity = describe(device.identify(), kind, address)
        logger.info(
            "%s %s (serial %s, firmware %s) at %s",
            kind,
            identity["model"],
            identity["serial"],
            identity["firmware"],
            address,
        )
        return identity

    def open(self) -> BenchInstruments:
        """Connect every configured instrument and read its identity."""
        try:
            if (lockin := self.config.lockin) is not None:
                resource, address = self._resource(lockin, lockin.model.lower())
                self.lockin = LOCKIN_MODELS[lockin.model](resource)
                self.identities["lockin"] = self._open(self.lockin, "lock-in amplifier", address)
            if (sourcemeter := self.config.sourcemeter) is not None:
                resource, address = self._resource(sourcemeter, "sourcemeter")
                self.sourcemeter = Keithley2400(resource)
                self.identities["sourcemeter"] = self._open(
                    self.sourcemeter, "source-meter", address
                )
            if (powermeter := self.config.powermeter) is not None:
                resource, address = self._resource(powermeter, "powermeter")
                self.powermeter = PM100(resource)
                self.identities["powermeter"] = self._open(
                    self.powermeter, "optical power meter", address
                )
            if (ledsource := self.config.ledsource) is not None:
                resource, address = self._resource(ledsource, "ledsource")
                self.ledsource = DC2200(resource)
                self.identities["ledsource"] = self._open(self.ledsource, "LED source", address)
        except BaseException:
            logger.info("opening the bench instruments failed; closing those already open")
            self.close()
            raise
        return self

    def close(self) -> None:
        """Disconnect every instrument and stop the simulator (idempotent)."""
        self._stack.close()
        self._simulator = None
        self.lockin = self.sourcemeter = self.powermeter = self.ledsource = None

    def __enter__(self) -> BenchInstruments:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
