"""The serial pump empties a device on a pseudo-terminal while its reader does not read."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import tty
from pathlib import Path

import pytest

from drivers.serial_pump import SerialPump

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def device():
    """A pseudo-terminal: (master fd the 'device' writes to, slave path the host opens)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    for fd in (master, slave):
        with contextlib.suppress(OSError):  # the test may have closed the master already
            os.close(fd)


def _read_all(pump: SerialPump, count: int) -> bytes:
    received = bytearray()
    while len(received) < count:
        data = pump.read()
        assert data, "the pump ended early"
        received += data
    return bytes(received)


def test_bytes_written_while_the_reader_stalls_all_arrive_in_order(device):
    master, path = device
    payload = os.urandom(4 * 1024 * 1024)  # 1000× a pseudo-terminal's buffer
    pump = SerialPump(path)
    pump.start()
    try:
        written = threading.Event()

        def write() -> None:
            view = memoryview(payload)
            while view:
                view = view[os.write(master, view[:4096]) :]
            written.set()

        writer = threading.Thread(target=write)
        writer.start()
        # Nobody reads the pump's pipe meanwhile: the device's writes still complete, because
        # the pump keeps emptying the terminal.
        assert written.wait(timeout=20)
        writer.join()
        assert _read_all(pump, len(payload)) == payload
    finally:
        pump.close()


def test_an_unplugged_device_ends_the_pump_with_its_reason(device):
    master, path = device
    pump = SerialPump(path)
    pump.start()
    try:
        os.write(master, b"last bytes")
        assert _read_all(pump, 10) == b"last bytes"
        os.close(master)  # the device disappears: reads of the terminal fail with EIO
        assert pump.read() == b""
        assert "device ended" in pump.ending()
    finally:
        pump.close()


def test_the_pump_ends_with_the_process_that_started_it(device, tmp_path):
    _, path = device
    script = tmp_path / "owner.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            sys.path.insert(0, {str(Path(__file__).parents[1])!r})
            from drivers.serial_pump import SerialPump
            pump = SerialPump({path!r})
            pump.start()
            print(pump._process.pid, flush=True)
            time.sleep(60)
            """
        )
    )
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    pump_pid = int(owner.stdout.readline())
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            os.kill(pump_pid, 0)
        except ProcessLookupError:
            break
        # A zombie counts as gone: its parent (init) reaps it.
        status = Path(f"/proc/{pump_pid}/stat")
        if status.exists() and status.read_text().split(") ")[1].startswith("Z"):
            break
        time.sleep(0.1)
    else:
        os.kill(pump_pid, signal.SIGKILL)
        pytest.fail("the pump outlived the process that started it")


def test_only_device_files_are_pumped(tmp_path):
    assert not SerialPump.usable("socket://localhost:7000")
    assert not SerialPump.usable(str(tmp_path))
    assert SerialPump.usable("/dev/null")
