"""The command line's one progress bar: one line on stderr, drawn only on a terminal.

``nirpoct acquire`` draws the time of a timed acquisition (:meth:`ProgressBar.update`);
``nirpoct run`` draws each step's fraction and message (:meth:`ProgressBar.draw`).
"""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 30


def bar_text(fraction: float, width: int = BAR_WIDTH) -> str:
    """``[#####.....]``: ``fraction`` (clipped to 0 … 1) of ``width`` characters filled.

    Examples
    --------
    >>> bar_text(0.5, width=10)
    '[#####.....]'
    """
    filled = round(min(1.0, max(0.0, fraction)) * width)
    return f"[{'#' * filled}{'.' * (width - filled)}]"


class ProgressBar:
    """A progress line redrawn in place, e.g. ``[#####.....]  2.5/5.0 s  500 frames``.

    Parameters
    ----------
    total_s : float
        Length of a timed task, s (what :meth:`update` measures against).
    stream : TextIO, optional
        Where to draw (default: standard error as it is when the bar is made); nothing is
        drawn unless it is a terminal.
    indent : str
        Drawn before the bar.
    """

    def __init__(self, total_s: float = 0.0, stream: TextIO | None = None, *, indent: str = ""):
        self.total_s = total_s
        stream = sys.stderr if stream is None else stream
        self.stream = stream
        self.enabled = stream.isatty()
        self.indent = indent

    def draw(self, fraction: float, text: str) -> None:
        """Redraw the line: the bar at ``fraction`` done (0 … 1), then ``text``."""
        if not self.enabled:
            return
        self.stream.write(f"\r{self.indent}{bar_text(fraction)} {text}")
        self.stream.flush()

    def update(self, done_s: float, frames: int) -> None:
        """Redraw for ``done_s`` seconds of ``total_s`` done and ``frames`` frames stored."""
        fraction = min(1.0, done_s / self.total_s) if self.total_s > 0 else 1.0
        self.draw(fraction, f"{done_s:6.1f}/{self.total_s:.1f} s  {frames} frames")

    def finish(self) -> None:
        """End the line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
