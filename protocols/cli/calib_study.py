"""``nirpoct calib study pair|report``: an SpO2 accuracy study from instrument sessions.

``pair`` reads the ``spo2-accuracy-study`` sessions (run records), the subjects' study data
(sex, age band, skin tone, probe site) and the co-oximeter's results (draw times, SaO2), pairs
each sample with the session's R at its draw time (:mod:`calibration.spo2_study`) and writes
the study table (CSV). ``report`` fits the curve to the table and states its accuracy overall,
per SaO2 band and per skin-tone group (text, ``--json``, ``--pdf``); ``calib
record-spo2-curve`` takes the same table. Subject ids are pseudonymised as they are read.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from calibration.spo2_study import (
    DEFAULT_LAG_S,
    DEFAULT_MIN_SECONDS,
    DEFAULT_WINDOW_S,
    STUDY_COLUMNS,
    StudyReport,
    analyse_study,
    pair_with_references,
    skin_tone_group,
)
from instrument.pseudonym import load_site_key, pseudonymise
from protocols.cli.csv_table import read_columns
from protocols.cli.output_file import atomic_output, refuse_unsafe_output

if TYPE_CHECKING:
    from instrument.run_record import RunRecord

logger = logging.getLogger(__name__)

SUBJECT_COLUMNS = ("subject", "sex", "age_band", "skin_tone_scale", "skin_tone", "probe_site")
REFERENCE_COLUMNS = ("subject", "draw_time")


def register(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``calib study`` and its actions."""
    study = actions.add_parser(
        "study",
        help="SpO2 accuracy study: pair sessions with co-oximetry, report the accuracy",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    verbs = study.add_subparsers(dest="study_command", required=True, metavar="ACTION")
    pair = verbs.add_parser("pair", help="pair the sessions' R with the reference samples")
    pair.add_argument("sessions", nargs="+", metavar="SESSION.h5")
    pair.add_argument("--study-id", required=True)
    pair.add_argument(
        "--subjects",
        required=True,
        metavar="SUBJECTS.csv",
        help="columns " + ",".join(SUBJECT_COLUMNS) + " (scale monk or fitzpatrick)",
    )
    pair.add_argument(
        "--references",
        required=True,
        metavar="COOX.csv",
        help="co-oximeter results: columns subject,draw_time (ISO 8601; no zone = UTC),"
        "sao2_percent",
    )
    pair.add_argument("--out", required=True, metavar="STUDY.csv")
    pair.add_argument("--window-s", type=float, default=DEFAULT_WINDOW_S, help="pairing window")
    pair.add_argument("--lag-s", type=float, default=DEFAULT_LAG_S, help="window delay after draw")
    pair.add_argument("--min-seconds", type=int, default=DEFAULT_MIN_SECONDS)
    pair.add_argument("--force", action="store_true", help="overwrite an existing table")
    pair.set_defaults(run=run_pair)

    report = verbs.add_parser("report", help="fit the curve and state its accuracy")
    report.add_argument("table", metavar="STUDY.csv")
    report.add_argument("--degree", type=int, choices=(1, 2), default=2)
    report.add_argument("--pdf", metavar="REPORT.pdf", help="also write a PDF with the plots")
    report.add_argument("--json", action="store_true", help="print JSON on stdout")
    report.add_argument("--force", action="store_true", help="overwrite an existing PDF")
    report.set_defaults(run=run_report)

    simulate = verbs.add_parser(
        "simulate", help="the study table of simulated subjects (truth as the co-oximeter)"
    )
    simulate.add_argument("out", metavar="STUDY.csv")
    simulate.add_argument("--subjects", type=int, default=10, help="number of subjects")
    simulate.add_argument("--first-seed", type=int, default=101)
    simulate.add_argument("--duration-s", type=float, default=50.0, help="desaturation length")
    simulate.add_argument("--study-id", default="SIM-DESAT")
    simulate.add_argument("--force", action="store_true", help="overwrite an existing table")
    simulate.set_defaults(run=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    """Execute ``calib study simulate`` (the physics is heavy to import: only here)."""
    from protocols.cli.calib_study_sim import write_simulated_study

    return write_simulated_study(
        args.out,
        subjects=args.subjects,
        first_seed=args.first_seed,
        duration_s=args.duration_s,
        study_id=args.study_id,
        force=args.force,
    )


@dataclass(frozen=True)
class Session:
    """R per second of one session on the POSIX clock."""

    path: Path
    subject_pseudonym: str
    time_s: np.ndarray
    ratio: np.ndarray
    quality: np.ndarray


def parse_utc(text: str, where: str) -> float:
    """POSIX seconds of an ISO 8601 time (no zone: UTC)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def read_session(path: str) -> Session:
    """The R series of an ``spo2`` analysis in a session's run record."""
    from instrument.run_record import read_run_record  # h5py: not at parse time

    record = read_run_record(path)
    for name, stored in record.results.items():
        if "ratio_of_ratios" in stored:
            return _session(record, name, stored)
    raise ValueError(f"{path}: no spo2 analysis with R per second (run spo2-accuracy-study)")


def _session(record: RunRecord, name: str, stored: dict[str, object]) -> Session:
    results = json.loads(str(stored["results_json"]))
    source = record.results.get(str(results.get("source")), {})
    if "start_time_utc" not in source:
        raise ValueError(f"{record.path}: step {name!r} names no acquisition with a start time")
    start_s = parse_utc(str(source["start_time_utc"]), str(record.path))
    ppg_time = np.asarray(stored["ppg_time_s"], dtype=float)
    offset_s = start_s + (float(ppg_time[0]) if ppg_time.size else 0.0)
    subject = str(record.metadata.get("subject_pseudonym", ""))
    if not subject:
        raise ValueError(f"{record.path}: the session names no subject (run with --subject)")
    return Session(
        record.path,
        subject,
        offset_s + np.asarray(stored["time_s"], dtype=float),
        np.asarray(stored["ratio_of_ratios"], dtype=float),
        np.asarray(stored["signal_quality"], dtype=float),
    )


def _subjects(path: str, key: bytes) -> dict[str, dict[str, str]]:
    table = read_columns(path, (), SUBJECT_COLUMNS)
    subjects = {}
    for row, subject in enumerate(table["subject"]):
        values = {name: str(table[name][row]) for name in SUBJECT_COLUMNS[1:]}
        try:
            values["skin_tone_group"] = skin_tone_group(
                values["skin_tone_scale"], values["skin_tone"]
            )
        except ValueError as error:
            raise ValueError(f"{path}: subject on line {row + 2}: {error}") from None
        subjects[pseudonymise(str(subject), key)] = values
    return subjects


def run_pair(args: argparse.Namespace) -> int:
    """Execute ``calib study pair``."""
    out = refuse_unsafe_output(args.out, force=args.force)
    key = load_site_key()
    subjects = _subjects(args.subjects, key)
    references = read_columns(args.references, ("sao2_percent",), REFERENCE_COLUMNS)
    draw_s = np.array(
        [
            parse_utc(str(text), f"{args.references}: line {row + 2}")
            for row, text in enumerate(references["draw_time"])
        ]
    )
    draw_subjects = np.array([pseudonymise(str(s), key) for s in references["subject"]])
    rows = []
    for session in (read_session(path) for path in args.sessions):
        if session.subject_pseudonym not in subjects:
            raise ValueError(f"{session.path}: its subject is not in {args.subjects}")
        during = (draw_subjects == session.subject_pseudonym) & (
            (draw_s >= session.time_s[0] - 0.5) & (draw_s <= session.time_s[-1] + 0.5)
        )
        ratio, seconds, quality = pair_with_references(
            session.time_s,
            session.ratio,
            session.quality,
            draw_s[during],
            window_s=args.window_s,
            lag_s=args.lag_s,
            min_seconds=args.min_seconds,
        )
        facts = subjects[session.subject_pseudonym]
        for index, draw in enumerate(np.flatnonzero(during)):
            rows.append(
                {
                    "study_id": args.study_id,
                    "subject_pseudonym": session.subject_pseudonym,
                    **{name: facts[name] for name in STUDY_COLUMNS[2:8] if name in facts},
                    "session": session.path.name,
                    "draw_time_utc": dt.datetime.fromtimestamp(draw_s[draw], dt.UTC).isoformat(),
                    "sao2_percent": f"{references['sao2_percent'][draw]:.2f}",
                    "ratio": f"{ratio[index]:.6f}",
                    "ratio_seconds": str(int(seconds[index])),
                    "quality": f"{quality[index]:.3f}",
                }
            )
    with atomic_output(out) as scratch, open(scratch, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=STUDY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    paired = sum(row["ratio"] != "nan" for row in rows)
    unmatched = len(draw_s) - len(rows)
    print(f"{paired} of {len(rows)} samples paired ({unmatched} outside every session) → {out}")
    return 0


def read_study_table(path: str) -> dict[str, np.ndarray]:
    """The paired rows of a study table (rows without an R are dropped, with a warning)."""
    table = read_columns(
        path, ("sao2_percent", "ratio"), ("subject_pseudonym", "skin_tone_group", "study_id")
    )
    paired = np.isfinite(table["ratio"])
    if not paired.all():
        logger.warning("%s: %d samples without an R are left out", path, int((~paired).sum()))
    return {name: values[paired] for name, values in table.items()}


def study_report(path: str, degree: int) -> StudyReport:
    """Fit and state the accuracy of the study table at ``path``."""
    table = read_study_table(path)
    study_ids = sorted(set(table["study_id"].tolist()))
    if len(study_ids) != 1:
        raise ValueError(f"{path}: expected one study_id, found {', '.join(study_ids) or 'none'}")
    return analyse_study(
        table["ratio"],
        table["sao2_percent"],
        table["subject_pseudonym"],
        table["skin_tone_group"],
        degree=degree,
        study_id=study_ids[0],
    )


def study_arrays(path: str, report: StudyReport) -> dict[str, np.ndarray]:
    """The pairing and the per-band and per-group figures of a study, as record arrays."""
    table = read_columns(
        path,
        ("ratio", "ratio_seconds", "quality"),
        ("draw_time_utc", "session", "skin_tone_group"),
    )
    paired = np.isfinite(table["ratio"])
    return {
        "raw/draw_time_utc": np.asarray(table["draw_time_utc"][paired], dtype="S"),
        "raw/session": np.asarray(table["session"][paired], dtype="S"),
        "raw/skin_tone_group": np.asarray(table["skin_tone_group"][paired], dtype="S"),
        "raw/ratio_seconds": table["ratio_seconds"][paired],
        "raw/pair_quality": table["quality"][paired],
        "results/study_json": np.asarray(np.bytes_(json.dumps(report.to_json_dict()))),
    }


def run_report(args: argparse.Namespace) -> int:
    """Execute ``calib study report``."""
    pdf = refuse_unsafe_output(args.pdf, force=args.force, option="--pdf") if args.pdf else None
    report = study_report(args.table, args.degree)
    for warning in report.warnings:
        print(f"nirpoct: warning: {warning}", file=sys.stderr)
    if pdf is not None:
        from protocols.outputs.study_pdf import write_study_pdf

        table = read_study_table(args.table)
        with atomic_output(pdf) as scratch:
            write_study_pdf(scratch, report, table["ratio"], table["sao2_percent"])
    if args.json:
        print(json.dumps(report.to_json_dict()))
        return 0
    overall = report.overall
    print(
        f"study {report.curve.study_id}: SpO2 = "
        + " + ".join(f"{c:.4g}·R^{i}" for i, c in enumerate(report.curve.coefficients))
    )
    print(f"{'set':14s} {'points':>6s} {'subj':>4s} {'Arms':>6s} {'bias':>6s} {'prec':>6s} LoA")
    rows = {"all 70-100 %": overall} | {f"SaO2 {k}": v for k, v in report.bands.items()}
    rows |= {f"skin {k}": v for k, v in report.groups.items()}
    for name, figures in rows.items():
        if figures is None:
            print(f"{name:14s} {'-':>6s}")
            continue
        print(
            f"{name:14s} {figures.points:6d} {figures.subjects:4d} {figures.arms_percent:6.2f} "
            f"{figures.bias_percent:+6.2f} {figures.precision_percent:6.2f} "
            f"{figures.loa_low_percent:+.2f} … {figures.loa_high_percent:+.2f}"
        )
    return 0
