"""Loopback TCP servers for the simulated bench instruments.

Each instrument listens on ``127.0.0.1`` at an OS-chosen port, one thread per connection,
one ``\\n``-terminated line per command; pyvisa-py reaches it as
``TCPIP::127.0.0.1::PORT::SOCKET``. All instruments share one
:class:`~drivers.sim.bench.OpticalBench`.

Command line: ``python -m drivers.sim.scpi_server --seed N`` prints one JSON line mapping
instrument names to resource strings, then serves until stdin closes or SIGTERM.
In Python: :class:`drivers.sim.processes.ScpiSimulator` runs that process;
:func:`start_in_thread` serves in this process (tests use it to reach the bench and the device
state).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import socketserver
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from drivers.sim.bench import OpticalBench
from drivers.sim.illumination import publish_bench_light
from drivers.sim.lockin import sr830_sim, sr860_sim
from drivers.sim.scpi_instruments import LedSourceSim, PowerMeterSim, SourceMeterSim

HOST = "127.0.0.1"
INSTRUMENT_NAMES = ("sr830", "sr860", "sourcemeter", "powermeter", "ledsource")


class LineDevice(Protocol):
    """What a server needs from a simulated instrument."""

    def handle_line(self, line: str) -> str | bytes | None:
        """Execute one line; return the answer line, binary data (sent as is) or None."""
        ...


class _LineHandler(socketserver.StreamRequestHandler):
    server: InstrumentServer

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()
        self.server.track(self.request, opened=True)

    def handle(self) -> None:
        for raw in self.rfile:
            line = raw.decode("ascii", errors="replace").strip()
            answer = self.server.device.handle_line(line)
            if isinstance(answer, bytes):  # a binary transfer: as is, no terminator
                self.wfile.write(answer)
            elif answer is not None:
                self.wfile.write(answer.encode("ascii") + b"\n")

    def finish(self) -> None:
        self.server.track(self.request, opened=False)
        with contextlib.suppress(OSError):
            super().finish()


class InstrumentServer(socketserver.ThreadingTCPServer):
    """TCP server of one simulated instrument on ``127.0.0.1`` (port 0 = OS-chosen).

    Parameters
    ----------
    device : LineDevice
        The device side that answers each received line.
    port : int
        TCP port; 0 lets the OS choose.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, device: LineDevice, port: int = 0) -> None:
        super().__init__((HOST, port), _LineHandler)
        self.device = device
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def resource_name(self) -> str:
        """VISA resource string of this server."""
        return f"TCPIP::{HOST}::{self.server_address[1]}::SOCKET"

    def track(self, connection: socket.socket, *, opened: bool) -> None:
        """Remember open connections so that :meth:`stop` can close them."""
        with self._connections_lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sim-{self.resource_name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, drop open connections, close the listening socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()


class BenchServers:
    """The shared bench and one running server per instrument (in this process).

    Attributes
    ----------
    bench : OpticalBench
    devices : dict[str, LineDevice]
        Device sides by instrument name (their state and ``command_log`` are inspectable).
    resources : dict[str, str]
        VISA resource strings by instrument name.
    """

    def __init__(self, bench: OpticalBench) -> None:
        self.bench = bench
        self.devices = {
            "sr830": sr830_sim(bench),
            "sr860": sr860_sim(bench),
            "sourcemeter": SourceMeterSim(bench),
            "powermeter": PowerMeterSim(bench),
            "ledsource": LedSourceSim(bench),
        }
        self._servers = {name: InstrumentServer(device) for name, device in self.devices.items()}
        self.resources = {name: server.resource_name for name, server in self._servers.items()}
        for server in self._servers.values():
            server.start()

    def close(self) -> None:
        """Stop every server."""
        for server in self._servers.values():
            server.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def start_in_thread(seed: int = 0, bench: OpticalBench | None = None) -> BenchServers:
    """Serve all bench instruments from background threads of this process."""
    return BenchServers(bench or OpticalBench(seed=seed))


def _set_on_stdin_eof(stop: threading.Event) -> None:
    # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader aborts the
    # interpreter at shutdown.
    while os.read(sys.stdin.fileno(), 4096):
        pass
    stop.set()


def main(argv: list[str] | None = None) -> None:
    """Serve the bench until stdin closes or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="bench random seed")
    parser.add_argument("--led-wavelength-nm", type=float, default=850.0)
    parser.add_argument("--led-current-a", type=float, default=0.02)
    parser.add_argument("--light-link", type=Path, default=None, help="light-link file to write")
    options = parser.parse_args(argv)

    bench = OpticalBench(seed=options.seed)
    if options.light_link is not None:
        link: Path = options.light_link
        bench.led_listeners.append(lambda changed: publish_bench_light(changed, link))
    bench.set_led(wavelength_nm=options.led_wavelength_nm, drive_current_a=options.led_current_a)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with start_in_thread(bench=bench) as servers:
        print(json.dumps(servers.resources), flush=True)
        threading.Thread(target=_set_on_stdin_eof, args=(stop,), daemon=True).start()
        while not stop.wait(0.5):
            pass
    if options.light_link is not None:
        options.light_link.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
