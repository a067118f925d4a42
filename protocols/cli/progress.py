"""A one-line progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 30


class ProgressBar:
    """Progress of a task, e.g. ``[#####.....]  2.5/5.0 s  500 frames``.

    Parameters
    ----------
    total_s : float
        Length of the task, s (for `update`; `draw` takes the fraction done).
    stream : TextIO, optional
        Where to draw (default: standard error as it is when the bar is made); nothing is
        drawn unless it is a terminal.
    """

    def __init__(self, total_s: float, stream: TextIO | None = None) -> None:
        self.total_s = total_s
        stream = sys.stderr if stream is None else stream
        self.stream = stream
        self.enabled = stream.isatty()

    def update(self, done_s: float, frames: int) -> None:
        """Redraw for ``done_s`` seconds done and ``frames`` frames stored."""
        fraction = min(1.0, done_s / self.total_s) if self.total_s > 0 else 1.0
        self.draw(fraction, f"{done_s:6.1f}/{self.total_s:.1f} s  {frames} frames")

    def draw(self, fraction: float, detail: str) -> None:
        """Redraw the bar filled to `fraction` (0-1), followed by `detail`."""
        if not self.enabled:
            return
        filled = round(min(1.0, max(0.0, fraction)) * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stream.write(f"\r[{bar}] {detail}")
        self.stream.flush()

    def finish(self) -> None:
        """End the line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
