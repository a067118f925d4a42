"""The ``nirpoct`` command line: thin argument parsing over the instrument and its packages.

Every command reports failures as one line on stderr and a non-zero exit code; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from drivers.errors import DeviceError
from protocols.cli.commands import COMMAND_HELP, COMMAND_MODULES

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (the first argument that is not an option), if any."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The argument parser: `command` with all its options, the other commands by name and
    help only (their modules are not imported)."""
    parser = argparse.ArgumentParser(
        prog="nirpoct", description="NIR photodetector point-of-care instrument"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if command in COMMAND_MODULES:
        importlib.import_module(COMMAND_MODULES[command]).register(commands)
    for name, text in COMMAND_HELP.items():
        if name not in commands.choices:
            commands.add_parser(name, help=text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(chosen_command(argv)).parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        sys.stdout = None  # the reader went away (e.g. `| head`); nothing more to say
        return EXIT_FAILURE
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
