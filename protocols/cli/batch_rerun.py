"""Options of ``nirpoct batch rerun``: re-analysis of protocol run records with the calibrations
valid now (or the ones named), and the runs an out-of-tolerance calibration affected."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from protocols.cli.calib_records import REGISTRY_ENV, add_registry_option, default_registry

if TYPE_CHECKING:
    from protocols.rerun import RerunOptions

REGISTRY_INDEX = "index.json"
"""The registry's index (every record version and its state): its content is hashed into the
batch's options, so a batch resumed after a calibration changed analyses every run again,
while an impact assessment (an audit entry, not a change of any record) does not."""


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--registry``, ``--calibration`` and ``--from-impact``."""
    add_registry_option(parser)
    parser.add_argument(
        "--calibration",
        action="append",
        default=[],
        metavar="ID",
        help="use this calibration record (ID or ID@VERSION) in place of the record of its "
        "kind valid today (repeatable)",
    )
    parser.add_argument(
        "--from-impact",
        metavar="CAL-ID",
        help="re-analyse only the runs among the inputs that `nirpoct calib impact` lists for "
        "this calibration (as-found out of tolerance)",
    )


def registry_root(args: argparse.Namespace) -> Path:
    """The registry folder the options name (absolute: workers may run elsewhere).

    Raises
    ------
    ValueError
        If it is not a folder.
    """
    root: Path = args.registry or default_registry()
    if not root.is_dir():
        raise ValueError(
            f"calibration registry {root}: no such folder (give --registry or ${REGISTRY_ENV})"
        )
    return root.resolve()


def options_from_args(args: argparse.Namespace) -> RerunOptions:
    """The re-analysis settings: the registry, the named records and today's date."""
    from protocols.rerun import RerunOptions

    return RerunOptions(
        registry=str(registry_root(args)),
        calibrations=tuple(args.calibration),
        day=dt.date.today().isoformat(),
    )


def impact_inputs(args: argparse.Namespace) -> list[str]:
    """The run records among the inputs (files, folders searched recursively) that the
    calibration named by ``--from-impact`` affected, as ``nirpoct calib impact`` lists them."""
    from calibration.registry import RecordNotFound, Registry, RunUse
    from instrument.run_record import RunRecordError, read_run_header, run_headers

    headers = []
    for name in args.inputs:
        path = Path(name)
        if path.is_dir():
            headers.extend(run_headers(path))
        elif path.is_file():
            try:
                headers.append(read_run_header(path))
            except RunRecordError as exc:
                raise ValueError(str(exc)) from None
        else:
            raise ValueError(f"{name}: no such file or folder")
    runs = [
        RunUse(str(h.path.resolve()), str(h.metadata.get("start_time_utc", "")), h.device_serials)
        for h in headers
    ]
    try:
        report = Registry(registry_root(args)).impact(args.from_impact, runs)
    except RecordNotFound as exc:
        raise ValueError(f"--from-impact: {exc}") from None
    return list(report.runs)
