"""The command line's progress bar, drawn on a real pseudo-terminal (and not on a pipe)."""

from __future__ import annotations

import io
import os
import pty

import pytest

from protocols.cli.progress import ProgressBar, bar_text


@pytest.fixture
def terminal():
    """A pseudo-terminal: yields (stream writing to its slave side, read of its master side)."""
    master, slave = pty.openpty()
    stream = open(slave, "w", encoding="utf-8", closefd=True)  # noqa: SIM115 - closed below

    def read() -> str:
        stream.flush()
        return os.read(master, 4096).decode()

    yield stream, read
    stream.close()
    os.close(master)


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.0, "[..........]"), (0.5, "[#####.....]"), (1.0, "[##########]"), (1.7, "[##########]")],
)
def test_bar_text_fills_the_fraction_done(fraction, expected):
    assert bar_text(fraction, width=10) == expected


def test_timed_bar_redraws_one_line_on_a_terminal(terminal):
    stream, read = terminal
    bar = ProgressBar(5.0, stream)
    bar.update(2.5, 500)
    bar.finish()
    text = read()
    assert "[" + "#" * 15 + "." * 15 + "]    2.5/5.0 s  500 frames" in text
    assert text.startswith("\r")
    assert text.rstrip("\r\n").count("\r") == 1


def test_step_bar_draws_indented_fraction_and_message(terminal):
    stream, read = terminal
    ProgressBar(stream=stream, indent="  ").draw(1.0, "warm-up")
    assert read() == "\r  [" + "#" * 30 + "] warm-up"


def test_nothing_is_drawn_on_a_pipe():
    stream = io.StringIO()
    bar = ProgressBar(5.0, stream)
    bar.update(1.0, 10)
    bar.draw(0.5, "step")
    bar.finish()
    assert stream.getvalue() == ""
