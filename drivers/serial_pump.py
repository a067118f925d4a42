"""Drain a serial device into a pipe from a process of its own.

A reader thread in the instrument's process needs the interpreter lock to empty the port: a
process busy in native code that keeps the lock (an HDF5 write) or descheduled while holding
it leaves the device's buffer to fill, and a USB-CDC device then drops frames. The pump is a
small process of its own (standard library only) that reads the device as soon as bytes
arrive and keeps them until the instrument's process reads its pipe, so a stall of the
instrument's process costs memory for a moment, not frames.

As a program: ``python -I serial_pump.py DEVICE PARENT_PID`` copies DEVICE's bytes to stdout;
when the device ends (unplugged), it writes the reason on stderr and exits with `DEVICE_GONE`.
It also ends when the process PARENT_PID that started it does.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import fcntl
import os
import select
import stat
import subprocess
import sys
import threading
from pathlib import Path

DEVICE_GONE = 3
"""Exit status of a pump whose device ended."""
PIPE_BYTES = 1 << 20
"""Pipe capacity asked for (Linux ``F_SETPIPE_SZ``), bytes."""
READ_BYTES = 1 << 16
"""Largest read from the device or the pipe, bytes."""
PARENT_CHECK_S = 1.0
"""How often an idle pump checks that its parent still runs, s."""
_F_SETPIPE_SZ = 1031


class SerialPump:
    """A pump process reading one serial device for this process.

    Parameters
    ----------
    device : str
        Path of the serial device (a character device: ``/dev/ttyACM0``, a pseudo-terminal).
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def usable(port: str) -> bool:
        """True for a path naming a character device (not a pyserial URL)."""
        try:
            return stat.S_ISCHR(os.stat(port).st_mode)
        except (OSError, ValueError):
            return False

    def start(self) -> None:
        """Start the pump (its device must exist)."""
        self._process = subprocess.Popen(
            [sys.executable, "-I", str(Path(__file__)), self.device, str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,  # a terminal's Ctrl-C is for the instrument, not the pump
        )

    def read(self) -> bytes:
        """The bytes pumped so far (blocks until some arrive); b"" once the pump has ended."""
        assert self._process is not None and self._process.stdout is not None
        return os.read(self._process.stdout.fileno(), READ_BYTES)

    def ending(self) -> str:
        """Why the pump ended (after `read` returned b"")."""
        assert self._process is not None and self._process.stderr is not None
        try:
            self._process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "the link's reader stopped answering"
        return self._process.stderr.read().decode(errors="replace").strip() or (
            f"the link's reader ended with status {self._process.returncode}"
        )

    def stop(self) -> None:
        """End the pump; its pipes stay open until `close` (a reader blocked on the pipe sees
        its end)."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def close(self) -> None:
        """End the pump and close its pipes (idempotent)."""
        self.stop()
        process, self._process = self._process, None
        if process is not None:
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()


def pump(device: str, parent: int) -> int:
    """Copy `device` to stdout until it ends or process `parent` (ours) does; the exit
    status."""
    source = os.open(device, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    sink = sys.stdout.fileno()
    with contextlib.suppress(OSError):  # a smaller pipe only means more wake-ups
        fcntl.fcntl(sink, _F_SETPIPE_SZ, PIPE_BYTES)
    chunks: collections.deque[bytes] = collections.deque()
    ready = threading.Condition()
    ended: list[str] = []

    def write_out() -> None:
        while True:
            with ready:
                while not chunks and not ended:
                    ready.wait()
                if not chunks:
                    return
                data = b"".join(chunks)
                chunks.clear()
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(sink, view) :]
                except BrokenPipeError:
                    os._exit(0)  # the reading process has gone

    writer = threading.Thread(target=write_out, daemon=True)
    writer.start()
    while not ended:
        readable, _, _ = select.select([source], [], [], PARENT_CHECK_S)
        if not readable:
            if os.getppid() != parent:
                return 0
            continue
        try:
            data = os.read(source, READ_BYTES)
        except BlockingIOError:
            continue
        except OSError as exc:
            reason = "the device ended (EIO)" if exc.errno == errno.EIO else str(exc)
            data, ended_reason = b"", reason
        else:
            ended_reason = "the device ended"
        with ready:
            if data:
                chunks.append(data)
            else:
                ended.append(ended_reason)
            ready.notify()
    writer.join()
    sys.stderr.write(ended[0])
    return DEVICE_GONE


if __name__ == "__main__":
    sys.exit(pump(sys.argv[1], int(sys.argv[2])))
