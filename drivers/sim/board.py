"""Simulated detector board behind a pseudo-terminal.

Run as a process (``python -m drivers.sim.board --seed 0``): it opens a pseudo-terminal pair,
prints one JSON line ``{"port": PATH, "tty": "/dev/pts/N", "serial": …}`` and then behaves like
the board on a USB-CDC link: pyserial opens the printed device path exactly as it would open
``/dev/serial/by-id/usb-…-if00``. ``PATH`` is such a stable name: a symbolic link in a private
temporary folder to the current pseudo-terminal, removed while the board is unplugged and
pointed at the new pseudo-terminal when it is plugged back (``--fault unplug@20+10``), as udev
does for a re-plugged USB device that comes back under another tty name. The process ends on
SIGTERM or when its standard input closes (its parent went away).

``--speed N`` runs the board's clock N times faster than real time: frames are produced N
times as often and stamped on that clock, so an hour of streaming takes 60/N minutes. When the
physics cannot keep up, the clock still advances but frames keep their schedule (and the
board drops frames only when the host does not read them). ``--scenario NAME`` plays a named
patient scenario (`drivers.sim.scenarios`) laid out over ``--scenario-period`` seconds from the
first stream.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import tty
from pathlib import Path

import numpy as np

from drivers.detector_protocol import StreamDecoder
from drivers.sim.board_device import BoardDevice
from drivers.sim.faults import FaultInjector, FaultPlan
from drivers.sim.illumination import DiffuserTarget
from drivers.sim.scenarios import DEFAULT_PERIOD_S, SCENARIOS, scenario_tissue
from drivers.sim.scene import Scene

# A device whose host stops reading cannot buffer forever: past this many bytes waiting to be
# written it drops whole frames, as a USB device does when the host does not poll.
OUTBOX_LIMIT_BYTES = 256 * 1024
# Frames produced before the server looks at the host's commands again (a board running
# faster than its physics must still answer STOP_STREAM).
FRAMES_PER_TURN = 8
MAX_SPEED = 1000.0


class PtyBoardServer:
    """Moves a :class:`BoardDevice`'s bytes over the master side of a pseudo-terminal.

    Parameters
    ----------
    device : BoardDevice
        The board's firmware.
    faults : FaultInjector
        Link faults to inject on the way to the host.
    speed : float
        Board clock rate relative to real time (1 = real time).
    """

    def __init__(self, device: BoardDevice, faults: FaultInjector, speed: float = 1.0) -> None:
        if not 0.0 < speed <= MAX_SPEED:
            raise ValueError(f"speed must be in (0, {MAX_SPEED:g}], got {speed:g}")
        self.speed = speed
        self.device = device
        self.faults = faults
        self._folder = Path(tempfile.mkdtemp(prefix="nirpoct-board-"))
        identity = device.identity
        name = f"usb-nirpoct_{identity.model}_{identity.serial}-if00"
        self.port = str(self._folder / "by-id" / name)
        Path(self.port).parent.mkdir()
        self.master_fd = self.slave_fd = -1
        self.tty = ""
        self._decoder = StreamDecoder()
        self._outbox = bytearray()
        self._clock_origin = time.monotonic()
        self.frames_dropped_by_device = 0
        self._plug_in()

    def now_s(self) -> float:
        """Simulation clock, s since the simulator started (running `speed` times real time);
        the board's own clock counts from its last power-on."""
        return (time.monotonic() - self._clock_origin) * self.speed

    def _plug_in(self) -> None:
        """A new pseudo-terminal for the board, and the stable path pointed at it."""
        self.master_fd, self.slave_fd = os.openpty()
        tty.setraw(self.slave_fd)
        flags = fcntl.fcntl(self.master_fd, fcntl.F_GETFL)
        fcntl.fcntl(self.master_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.tty = os.ttyname(self.slave_fd)
        self._decoder = StreamDecoder()
        self._outbox = bytearray()
        staged = f"{self.port}.new"
        os.symlink(self.tty, staged)
        os.replace(staged, self.port)

    def _unplug(self) -> None:
        """Both sides of the pseudo-terminal closed and the stable path removed."""
        for fd in (self.master_fd, self.slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.master_fd = self.slave_fd = -1
        with contextlib.suppress(OSError):
            os.unlink(self.port)

    def _unplugged_for(self, duration_s: float, stop_fd: int | None) -> bool:
        """Stay unplugged for `duration_s` (simulation clock), then plug the board back in,
        powered up afresh; False when `stop_fd` reached its end meanwhile."""
        self._unplug()
        back_at = self.now_s() + duration_s
        while (remaining := back_at - self.now_s()) > 0:
            readers = [stop_fd] if stop_fd is not None else []
            readable, _, _ = select.select(readers, [], [], min(0.2, remaining / self.speed))
            if stop_fd is not None and stop_fd in readable and not os.read(stop_fd, 4096):
                return False
        self.faults.plugged_back()
        self.device.power_on(self.now_s())
        self._plug_in()
        return True

    def _stream_time_s(self, now_s: float) -> float | None:
        return now_s - self.device.stream_start_s if self.device.streaming else None

    def _send(self, packet: bytes, now_s: float) -> None:
        self._outbox += self.faults.corrupt(packet, self._stream_time_s(now_s))

    def _flush(self) -> None:
        while self._outbox:
            try:
                written = os.write(self.master_fd, self._outbox)
            except BlockingIOError:
                return
            del self._outbox[:written]

    def serve(self, stop_fd: int | None) -> None:
        """Run until ``stop_fd`` becomes readable (EOF) or the fault plan unplugs the board."""
        stalled_since: float | None = None
        while True:
            now = self.now_s()
            stream_time = self._stream_time_s(now)
            if self.faults.unplugged(stream_time):
                duration = self.faults.plan.duration_s if self.faults.plan else None
                if duration is None or not self._unplugged_for(duration, stop_fd):
                    self.close()
                    return
                continue
            if stalled_since is None and self.faults.stalled(stream_time):
                stalled_since = now
            stalled = stalled_since is not None
            if self.device.streaming and not stalled:
                timeout = max(0.0, self.device.next_frame_due_s() - now) / self.speed
            else:
                timeout = 0.2
            readers = [self.master_fd] + ([stop_fd] if stop_fd is not None else [])
            writers = [self.master_fd] if self._outbox and not stalled else []
            readable, writable, _ = select.select(readers, writers, [], timeout)
            if stop_fd is not None and stop_fd in readable and not os.read(stop_fd, 4096):
                return
            if self.master_fd in readable:
                self._receive(stalled)
            if writable:
                self._flush()
            if self.device.streaming and not stalled:
                self._produce_due_frames()

    def close(self) -> None:
        """Close both sides of the pseudo-terminal and remove the stable path (the device
        disappears); idempotent."""
        self._unplug()
        shutil.rmtree(self._folder, ignore_errors=True)

    def _receive(self, stalled: bool) -> None:
        try:
            data = os.read(self.master_fd, 65536)
        except OSError as exc:
            if exc.errno in (errno.EIO, errno.EAGAIN):
                return
            raise
        if stalled:
            return
        for packet in self._decoder.feed(data):
            self._send(self.device.handle(packet, self.now_s()), self.now_s())
        self._flush()

    def _produce_due_frames(self) -> None:
        for _ in range(FRAMES_PER_TURN):
            if not (self.device.streaming and self.device.next_frame_due_s() <= self.now_s()):
                break
            _, packet = self.device.produce_frame()
            # The device buffers a fixed stretch of its own (simulated) time.
            if len(self._outbox) > OUTBOX_LIMIT_BYTES * max(1.0, self.speed):
                self.frames_dropped_by_device += 1
                continue
            self._send(packet, self.now_s())
            self._flush()


def open_board(
    seed: int = 0,
    serial: str | None = None,
    fault: FaultPlan | None = None,
    light_link: Path | None = None,
    *,
    scenario: str | None = None,
    scenario_period_s: float = DEFAULT_PERIOD_S,
    speed: float = 1.0,
) -> PtyBoardServer:
    """The simulated board of ``seed`` on a new pseudo-terminal (serve it with
    :meth:`PtyBoardServer.serve`; its ``port`` is the stable device path a host opens, its
    ``tty`` the pseudo-terminal behind it; :meth:`PtyBoardServer.close` removes both); with
    ``light_link`` the bench's illumination head can light the array
    (:mod:`drivers.sim.illumination`); ``scenario`` (:data:`drivers.sim.scenarios.SCENARIOS`)
    plays a patient over ``scenario_period_s`` from the first frame streamed; ``speed`` runs
    the board's clock that many times faster than real time."""
    tissue = scenario_tissue(scenario, scenario_period_s) if scenario else None
    scene = Scene(seed=seed, tissue=tissue)
    if light_link is not None:
        scene.illumination = DiffuserTarget(light_link, scene.tissue.config.pixel_pitch_mm).photons
    device = BoardDevice(
        scene, serial=serial or f"SIM{seed:06d}", scenario_at_first_stream=scenario is not None
    )
    faults = FaultInjector(fault, np.random.default_rng([seed, 0xFA17]))
    return PtyBoardServer(device, faults, speed=speed)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the simulator process."""
    parser = argparse.ArgumentParser(description="Simulated NIR detector board on a pty")
    parser.add_argument("--seed", type=int, default=0, help="seed of the physics scene")
    parser.add_argument("--serial", default=None, help="serial number to report")
    parser.add_argument(
        "--fault", type=FaultPlan.parse, default=None, help="KIND@SECONDS or unplug@SECONDS+SECONDS"
    )
    parser.add_argument("--light-link", type=Path, default=None, help="bench light-link file")
    parser.add_argument("--speed", type=float, default=1.0, help="clock rate × real time")
    parser.add_argument("--scenario", choices=SCENARIOS, default=None, help="patient scenario")
    parser.add_argument(
        "--scenario-period", type=float, default=DEFAULT_PERIOD_S, help="scenario length, s"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = open_board(
        args.seed,
        args.serial,
        args.fault,
        args.light_link,
        scenario=args.scenario,
        scenario_period_s=args.scenario_period,
        speed=args.speed,
    )
    try:
        identity = server.device.identity
        ready = {"port": server.port, "tty": server.tty, "serial": identity.serial}
        print(json.dumps(ready), flush=True)
        server.serve(stop_fd=sys.stdin.fileno())
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
