"""The ``nirpoct`` command line: thin argument parsing over the instrument and its packages.

Every command reports failures as one line on stderr and a non-zero exit code; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from drivers.errors import DeviceError
from instrument.config import ConfigError
from instrument.run_record import RunRecordError
from protocols.cli import acquire, analyze, calib, devices, export, gui, reconstruct, run

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

COMMANDS = (acquire, devices, calib, analyze, gui, export, run, reconstruct)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="nirpoct", description="NIR photodetector point-of-care instrument"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        sys.stdout = None  # the reader went away (e.g. `| head`); nothing more to say
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("nirpoct: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ConfigError, ValueError) as exc:
        if args.debug:
            raise
        print(f"nirpoct: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DeviceError, RunRecordError, OSError, LookupError) as exc:
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


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
