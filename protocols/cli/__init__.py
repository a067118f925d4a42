"""The ``nirpoct`` command line: thin argument parsing over the instrument and its packages.

Every command reports failures as one line on stderr and a non-zero exit code; ``--debug``
shows the traceback instead. ``-v`` shows what the packages log (device faults, retries,
refusals, recoveries) on stderr, ``-vv`` with debug detail; ``--log-file FILE`` appends the
same to a file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from drivers.errors import DeviceError
from protocols.cli.commands import COMMAND_HELP, COMMAND_MODULES

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


TERMINATION_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Signals (systemd, `timeout`, a closed terminal, a shutdown) handled like Ctrl-C."""


class Terminated(KeyboardInterrupt):
    """A termination signal arrived; raised where Ctrl-C would be, so the same cleanup runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _TerminationHandler:
    """Raises :class:`Terminated` once, where the main thread can act on it.

    Python ignores an exception raised inside a destructor or a weakref callback ("Exception
    ignored in …"); a signal that arrives there is delivered again a moment later instead, so it
    is never lost. Later signals are ignored: the cleanup the first one started must finish.
    """

    def __init__(self) -> None:
        self.raised = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.raised:
            return
        code = frame.f_code if frame is not None else None
        if code is not None and (
            code.co_name == "__del__" or code.co_filename.endswith("weakref.py")
        ):
            threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
            return
        self.raised = True
        raise Terminated(signum)


@contextmanager
def termination_signals_interrupt() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread (as
    SIGINT raises KeyboardInterrupt), so a run record is closed ``aborted`` on every path."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = _TerminationHandler()
    previous = {number: signal.signal(number, handler) for number in TERMINATION_SIGNALS}
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started in the background of a script, which ignores SIGINT for its children: a
        # supervisor's SIGINT still closes the record as Ctrl-C does.
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for number, handler_before in previous.items():
            signal.signal(number, handler_before)


LOG_FILE_OPTION = "--log-file"
GLOBAL_OPTIONS_WITH_VALUE = (LOG_FILE_OPTION,)
"""Options before the command word that take the next argument as their value."""


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (the first argument that is neither an option nor the
    value of one of `GLOBAL_OPTIONS_WITH_VALUE`), if any."""
    arguments = iter(argv)
    for arg in arguments:
        if arg in GLOBAL_OPTIONS_WITH_VALUE:
            next(arguments, None)
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The argument parser: `command` with all its options, the other commands by name and
    help only (their modules are not imported)."""
    parser = argparse.ArgumentParser(
        prog="nirpoct", description="NIR photodetector point-of-care instrument"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log what the instrument does on stderr (-vv: with debug detail)",
    )
    parser.add_argument(LOG_FILE_OPTION, metavar="FILE", help="append the log to FILE")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if command in COMMAND_MODULES:
        importlib.import_module(COMMAND_MODULES[command]).register(commands)
    for name, text in COMMAND_HELP.items():
        if name not in commands.choices:
            commands.add_parser(name, help=text)
    return parser


def configure_logging(verbosity: int, log_file: str | None) -> None:
    """Send the packages' log to stderr (``verbosity`` 1: info, 2: debug) and/or a file."""
    level = logging.DEBUG if verbosity >= 2 else logging.INFO
    root = logging.getLogger()
    root.addHandler(logging.NullHandler())  # without -v, the one-line errors say it all
    handlers: list[logging.Handler] = []
    if verbosity:
        handlers.append(logging.StreamHandler(sys.stderr))
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    if not handlers:
        return
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.setLevel(level)
        root.addHandler(handler)
    root.setLevel(min(root.level, level))


def entry() -> None:
    """The ``nirpoct`` program: run the command of the command line, then exit with its code.

    Once the command has finished (its record closed, its summary written), a late Ctrl-C or
    termination signal — a third Ctrl-C pressed while the run was closing — is ignored, so the
    program exits with the command's code instead of dying by the signal while it shuts down.
    """
    code = main()
    for number in (signal.SIGINT, *TERMINATION_SIGNALS):
        signal.signal(number, signal.SIG_IGN)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(chosen_command(argv)).parse_args(argv)
    try:
        configure_logging(args.verbose, args.log_file)
    except OSError as exc:
        print(
            f"nirpoct: error: cannot write the log file {args.log_file}: {exc.strerror}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        with termination_signals_interrupt():
            code: int = args.run(args)
        return code
    except BrokenPipeError:
        sys.stdout = None  # the reader went away (e.g. `| head`); nothing more to say
        return EXIT_FAILURE
    except Terminated as stop:
        name = signal.Signals(stop.signum).name
        print(f"nirpoct: stopped by {name}; the run record is closed", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        print("nirpoct: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ValueError as exc:  # bad input: configuration, files, records, arguments
        if args.debug:
            raise
        print(f"nirpoct: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DeviceError, OSError, LookupError) as exc:
        if args.debug:
            raise
        print(f"nirpoct: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # the last guard: a person never sees a traceback
        if args.debug:
            raise
        print(
            f"nirpoct: internal error ({type(exc).__name__}: {exc}); "
            "run again with --debug for the traceback",
            file=sys.stderr,
        )
        return EXIT_FAILURE
