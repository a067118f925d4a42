"""Free disk space for run records: checked before a run starts and while it runs.

A disk that fills up during an HDF5 write can leave the record open or crash the process; so a
run is refused when the folder lacks the space its frames need, and stopped while enough space
is left to close its record properly (:class:`FreeSpaceMonitor`).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

PER_FRAME_FIELD_BYTES = 40
"""Bytes of per-frame vectors (time, counters, wavelength, temperature …) per frame."""
OVERHEAD_FRACTION = 0.05
"""HDF5 chunk and metadata overhead, fraction of the raw data."""
RESERVE_BYTES = 2 * 1024 * 1024
"""Least free space kept while running, enough to close a record, bytes."""
RESERVE_SECONDS = 1.0
"""Also kept free while running: this many seconds of frames, s."""
CHECK_INTERVAL_S = 0.2
"""Shortest time between two free-space checks while running, s."""


class DiskSpaceError(OSError):
    """Not enough free space for a run record; the message names the folder and the sizes."""


def _megabytes(count: float) -> str:
    return f"{count / 1e6:.1f} MB"


def existing_folder(folder: str | Path) -> Path:
    """``folder``, or its nearest existing parent (where it will be created)."""
    path = Path(folder).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def frame_bytes(frame_shape: tuple[int, int]) -> int:
    """Bytes a recorded frame of ``frame_shape`` (rows, cols) of 16-bit pixels takes."""
    rows, cols = frame_shape
    return 2 * rows * cols + PER_FRAME_FIELD_BYTES


def record_bytes(duration_s: float, frame_rate_hz: float, frame_shape: tuple[int, int]) -> int:
    """Bytes a record of ``duration_s`` at ``frame_rate_hz`` needs, headroom included."""
    data = duration_s * frame_rate_hz * frame_bytes(frame_shape)
    return int(data * (1.0 + OVERHEAD_FRACTION)) + RESERVE_BYTES


def check_free_space(folder: str | Path, needed_bytes: int, what: str) -> None:
    """Refuse to start when ``folder`` has less than ``needed_bytes`` free.

    Raises
    ------
    DiskSpaceError
        Naming the folder, what needs the space, and both sizes.
    """
    where = existing_folder(folder)
    free = shutil.disk_usage(where).free
    if free < needed_bytes:
        raise DiskSpaceError(
            f"not enough free space in {folder}: {what} needs {_megabytes(needed_bytes)}, "
            f"{_megabytes(free)} free; free some space or choose another --out"
        )


class FreeSpaceMonitor:
    """A progress callback that stops the run while enough space is left to close its record.

    Parameters
    ----------
    folder : str or Path
        Where the record is written.
    frame_rate_hz : float
        Frames per second, Hz.
    frame_shape : tuple of int
        (rows, cols) of a frame.
    then : callable, optional
        The progress callback to call after each check (elapsed s, frames).
    """

    def __init__(
        self,
        folder: str | Path,
        frame_rate_hz: float,
        frame_shape: tuple[int, int],
        then: Callable[[float, int], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.reserve_bytes = int(
            RESERVE_BYTES + RESERVE_SECONDS * frame_rate_hz * frame_bytes(frame_shape)
        )
        self.then = then
        self._checked_at = 0.0

    def __call__(self, elapsed_s: float, frames: int) -> None:
        now = time.monotonic()
        if now - self._checked_at >= CHECK_INTERVAL_S:
            self._checked_at = now
            free = shutil.disk_usage(existing_folder(self.folder)).free
            if free < self.reserve_bytes:
                logger.debug("disk nearly full in %s: %d bytes free", self.folder, free)
                raise DiskSpaceError(
                    f"the disk of {self.folder} is full ({_megabytes(free)} free, "
                    f"{_megabytes(self.reserve_bytes)} needed to go on); the run was stopped "
                    f"after {elapsed_s:.1f} s and its record closed (aborted) with {frames} frames"
                )
        if self.then is not None:
            self.then(elapsed_s, frames)
