"""``nirpoct batch``: one analysis over many files on Dask, resumable, with a manifest.

The analysis options are those of the single commands (``analyze ppg``, ``analyze nirs``,
``reconstruct``), defined once in their modules. Dask is imported only when a batch runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

from protocols.cli import analyze_nirs, analyze_ppg, batch_rerun, reconstruct
from protocols.cli.commands import COMMAND_HELP
from protocols.cli.progress import ProgressBar

EXIT_OK = 0
EXIT_FAILED_INPUTS = 1

ANALYSIS_HELP = {
    "ppg": ("run records or PPG CSV files", analyze_ppg),
    "nirs": ("SNIRF CW-amplitude files", analyze_nirs),
    "reconstruct": ("SNIRF CW measurements against one --baseline", reconstruct),
    "rerun": ("protocol run records, with the calibrations valid now", batch_rerun),
}
"""Analysis → (its inputs, the single command's module that owns its options)."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command and its analyses to the top-level parser."""
    parser = commands.add_parser(
        "batch",
        help=COMMAND_HELP["batch"],
        description="Run one analysis over files, directories (searched recursively) and "
        "globs on Dask: a local cluster of processes (one per core, or --workers N) or a "
        "running scheduler (--scheduler tcp://HOST:PORT). Writes each input's results and "
        "manifest.csv into --out; a failing input is a failed row, never the end of the "
        "batch; the exit code is 1 when any input failed.",
    )
    analyses = parser.add_subparsers(dest="analysis", required=True, metavar="ANALYSIS")
    for name, (inputs, module) in ANALYSIS_HELP.items():
        sub = analyses.add_parser(name, help=f"{name} analysis of {inputs}")
        sub.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders or globs")
        sub.add_argument("--out", required=True, metavar="DIR", help="output folder")
        module.add_options(sub)
        _add_batch_options(sub)
        sub.set_defaults(run=run, options_from_args=module.options_from_args)


def _add_batch_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="local cluster of N worker processes (default: one per core)",
    )
    where.add_argument(
        "--scheduler", metavar="URL", help="use a running Dask scheduler, e.g. tcp://HOST:8786"
    )
    again = parser.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        action="store_true",
        help="skip inputs the manifest in --out lists as done with the same content and options",
    )
    again.add_argument(
        "--force", action="store_true", help="start afresh over an earlier batch in --out"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {text!r}")
    return value


def _options(args: argparse.Namespace) -> tuple[Any, list[Path]]:
    """The analysis settings (file options made absolute, as workers may run elsewhere) and
    the files they name."""
    options = args.options_from_args(args)
    if args.analysis == "reconstruct":
        baseline = Path(options.baseline)
        if not baseline.is_file():
            raise ValueError(f"--baseline {baseline}: no such file")
        options = dataclasses.replace(options, baseline=str(baseline.resolve()))
        return options, [baseline.resolve()]
    if args.analysis == "rerun":
        index = Path(options.registry) / batch_rerun.REGISTRY_INDEX
        return options, [index] if index.is_file() else []
    return options, []


class _FileProgress:
    """Files done / total, rate, time left and failures on the progress bar."""

    def __init__(self) -> None:
        self.bar = ProgressBar(1.0)
        self.started = time.monotonic()

    def __call__(self, done: int, total: int, failed: int) -> None:
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (total - done) / rate if rate > 0 else math.inf
        eta = f"{left:.0f} s" if math.isfinite(left) else "?"
        self.bar.draw(
            done / total if total else 1.0,
            f"{done}/{total} files  {rate:.2f}/s  ETA {eta}  {failed} failed    ",
        )


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct batch``."""
    from protocols import batch

    options, named_files = _options(args)
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} is not a folder")
    manifest = out_dir / batch.MANIFEST_NAME
    if manifest.exists() and not (args.resume or args.force):
        raise ValueError(
            f"--out {out_dir} holds an earlier batch ({batch.MANIFEST_NAME}); "
            "give --resume to continue it or --force to start afresh"
        )
    analysis = batch.ANALYSES[args.analysis]
    patterns = args.inputs
    if getattr(args, "from_impact", None):
        patterns = batch_rerun.impact_inputs(args)
        if not patterns:
            print(f"{args.from_impact}: no run among the inputs is affected; nothing to re-analyse")
            return EXIT_OK
    inputs = batch.expand_inputs(patterns, analysis.suffixes, [out_dir, *named_files])
    options_hash = batch.options_sha256(args.analysis, options, named_files)
    progress = _FileProgress()
    with batch.dask_client(args.workers, args.scheduler) as client:
        summary = batch.run_batch(
            client,
            args.analysis,
            inputs,
            options,
            out_dir,
            options_hash,
            resume=args.resume,
            on_progress=progress,
        )
    progress.bar.finish()
    if args.json:
        print(json.dumps(dataclasses.asdict(summary), indent=2))
    else:
        print(
            f"{summary.analysis}: {summary.inputs} inputs, {summary.ok} ok, "
            f"{summary.failed} failed, {summary.skipped} skipped in {summary.wall_s:.1f} s "
            f"({summary.files_per_s:.2f} files/s on {summary.workers} workers); "
            f"manifest {summary.manifest}"
        )
    return EXIT_FAILED_INPUTS if summary.failed else EXIT_OK
