"""``nirpoct calib`` actions on the calibration registry: people, records, signatures,
verification, certificates and impact assessment."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from calibration.roles import ROLES
from protocols.cli.common import wavelength_pair

if TYPE_CHECKING:
    from calibration.context import CalibrationContext
    from calibration.gate import Override
    from calibration.record import RecordContent
    from calibration.registry import Registry


logger = logging.getLogger(__name__)

REGISTRY_ENV = "NIRPOCT_CALIBRATION_DIR"
PASSWORD_ENV = "NIRPOCT_PASSWORD"
ADMIN_PASSWORD_ENV = "NIRPOCT_ADMIN_PASSWORD"
NEW_PASSWORD_ENV = "NIRPOCT_NEW_PASSWORD"


def default_registry() -> Path:
    """``$NIRPOCT_CALIBRATION_DIR``, else ``~/.local/share/nirpoct/calibration``."""
    configured = os.environ.get(REGISTRY_ENV)
    return Path(configured) if configured else Path.home() / ".local/share/nirpoct/calibration"


def password(environment_variable: str, prompt: str) -> str:
    """A password from the environment (for scripts) or typed at the terminal."""
    if environment_variable in os.environ:
        return os.environ[environment_variable]
    if not sys.stdin.isatty():
        raise ValueError(f"no password: set {environment_variable} or run in a terminal")
    return getpass.getpass(prompt)


def context_from_file(path: str | Path) -> CalibrationContext:
    """A calibration context file, its YAML read with bounded work (``instrument.safe_yaml``).

    Raises
    ------
    ValueError
        Naming the file: unreadable, not YAML, beyond the YAML bounds, or malformed.
    """
    import yaml

    from calibration.context import parse_context
    from instrument import safe_yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ValueError(f"cannot read calibration context {path}: {reason}") from None
    try:
        safe_yaml.compose(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ValueError(f"{where}: not valid YAML: {problem}") from None
    return parse_context(text, str(path))


def add_registry_option(parser: argparse.ArgumentParser) -> None:
    """``--registry DIR`` (default ``$NIRPOCT_CALIBRATION_DIR``, else the user's data folder)."""
    parser.add_argument(
        "--registry",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"calibration registry (default ${REGISTRY_ENV}, else ~/.local/share/nirpoct/…)",
    )


def add_override_options(parser: argparse.ArgumentParser, purpose: str) -> None:
    """``--override-by USER`` and ``--override-reason TEXT``; ``purpose`` completes "approver
    who authorises …" in the help."""
    parser.add_argument(
        "--override-by",
        default="",
        metavar="USER",
        help=f"approver who authorises {purpose}",
    )
    parser.add_argument("--override-reason", default="", metavar="TEXT", help="why")


def override_from_args(args: argparse.Namespace) -> Override | None:
    """The override the options ask for (the approver's password from ``$NIRPOCT_PASSWORD`` or
    the terminal), or None; each of the two options needs the other."""
    from calibration.gate import Override

    if not args.override_by:
        if args.override_reason:
            raise ValueError("--override-reason needs --override-by")
        return None
    if not args.override_reason:
        raise ValueError("--override-by needs --override-reason")
    return Override(
        args.override_by,
        password(PASSWORD_ENV, f"password of {args.override_by}: "),
        args.override_reason,
    )


def registry_option() -> argparse.ArgumentParser:
    """Parent parser with ``--registry``."""
    parent = argparse.ArgumentParser(add_help=False)
    add_registry_option(parent)
    return parent


def open_registry(args: argparse.Namespace, *, must_exist: bool = True) -> Registry:
    """The registry the options name; one that is not there is refused when ``must_exist``
    (every action but those that create a registry's first content)."""
    from calibration.registry import Registry

    root = args.registry or default_registry()
    if root.exists() and not root.is_dir():
        raise ValueError(f"calibration registry {root}: is a file, not a registry folder")
    if must_exist and not root.is_dir():
        raise ValueError(f"calibration registry {root}: no such folder")
    return Registry(root)


def register_actions(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the registry actions to ``nirpoct calib``."""
    parent = registry_option()
    _register_users(actions, parent)
    template = actions.add_parser("context-template", help="print an example context file")
    template.set_defaults(run=run_context_template)
    recording = argparse.ArgumentParser(add_help=False, parents=[parent])
    recording.add_argument("--context", required=True, metavar="CONTEXT.yaml")
    recording.add_argument("--performer", required=True, help="user id of who performed it")
    recording.add_argument("--date", default=dt.date.today().isoformat(), help="calibration date")
    recording.add_argument(
        "--supersedes", default="", metavar="ID@VERSION", help="correct an earlier record"
    )
    recording.add_argument("--reason", default="", help="why (required for a correction)")
    _register_detector_and_spo2(actions, recording)
    _register_led_and_lockin(actions, recording)
    _register_queries(actions, parent)
    _register_signing(actions, parent)


def _register_users(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    users = actions.add_parser("users", parents=[parent], help="people who may sign")
    users_actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_actions.add_parser("add", parents=[parent], help="register a person")
    add.add_argument("user_id")
    add.add_argument("--name", required=True, help="printed name")
    add.add_argument(
        "--role",
        action="append",
        required=True,
        choices=ROLES,
    )
    add.add_argument("--admin", default="", help="administrator who authorises the addition")
    add.set_defaults(run=run_users_add)
    listing = users_actions.add_parser("list", parents=[parent], help="list people")
    listing.set_defaults(run=run_users_list)


def _register_detector_and_spo2(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    recording: argparse.ArgumentParser,
) -> None:
    record = actions.add_parser(
        "record-detector",
        parents=[recording],
        help="characterise a detector and store a draft calibration record",
    )
    record.add_argument("dataset", metavar="PTC.h5")
    record.set_defaults(run=run_record_detector)

    spo2 = actions.add_parser(
        "record-spo2-curve",
        parents=[recording],
        help="fit the R → SpO2 curve of a desaturation study and store a draft record",
    )
    spo2.add_argument("study", metavar="STUDY.csv", help="columns ratio,sao2_percent,subject")
    spo2.add_argument("--study-id", required=True)
    spo2.add_argument(
        "--pair",
        required=True,
        type=wavelength_pair,
        metavar="RED,IR",
        help="the study's red and infrared LED wavelengths, nm (e.g. 660,940): the curve is "
        "used only for signals at that pair",
    )
    spo2.add_argument("--degree", type=int, choices=(1, 2), default=2)
    spo2.add_argument("--arms-limit", type=float, default=3.0, metavar="PERCENT")
    spo2.set_defaults(run=run_record_spo2_curve)


def _register_led_and_lockin(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    recording: argparse.ArgumentParser,
) -> None:
    led = actions.add_parser(
        "record-led-power",
        parents=[recording],
        help="fit LED optical power per drive current and store a draft record",
    )
    led.add_argument("sweep", metavar="SWEEP.csv", help="columns wavelength_nm,current_ma,power_w")
    led.add_argument("--reference-detector", required=True, metavar="ID")
    led.add_argument("--reference-certificate", required=True, metavar="CERT")
    led.add_argument(
        "--reference-relative-u",
        type=float,
        required=True,
        metavar="FRACTION",
        help="relative expanded uncertainty of the reference detector (k=2)",
    )
    led.set_defaults(run=run_record_led_power)

    lockin = actions.add_parser(
        "record-lockin-verification",
        parents=[recording],
        help="verify lock-in gain and phase against a reference source; store a draft record",
    )
    lockin.add_argument(
        "readings",
        metavar="READINGS.csv",
        help="columns sensitivity_v,frequency_hz,reference_amplitude_v,reference_phase_deg,"
        "amplitude_v,phase_deg (one row per reading)",
    )
    lockin.add_argument("--source", required=True, metavar="ID", help="reference source id")
    lockin.add_argument("--source-certificate", required=True, metavar="CERT")
    lockin.add_argument(
        "--source-amplitude-relative-u",
        type=float,
        required=True,
        metavar="FRACTION",
        help="relative expanded uncertainty of the source amplitude (k=2)",
    )
    lockin.add_argument(
        "--source-phase-u",
        type=float,
        required=True,
        metavar="DEG",
        help="expanded phase uncertainty of the source (k=2), deg",
    )
    lockin.add_argument("--gain-tolerance", type=float, default=1.0, metavar="PERCENT")
    lockin.add_argument("--phase-tolerance", type=float, default=1.0, metavar="DEG")
    lockin.set_defaults(run=run_record_lockin_verification)


def _register_queries(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    listing = actions.add_parser("list", parents=[parent], help="records, states and due dates")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=run_list)

    show = actions.add_parser("show", parents=[parent], help="one record in full")
    show.add_argument("record", metavar="ID[@VERSION]")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=run_show)


def _register_signing(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    signing = actions.add_parser("sign", parents=[parent], help="review, approve or revoke")
    signing.add_argument("record", metavar="ID[@VERSION]")
    signing.add_argument("--meaning", required=True, choices=("reviewed", "approved", "revoked"))
    signing.add_argument("--user", required=True, help="signer's user id")
    signing.add_argument("--reason", default="", help="why (required to revoke)")
    signing.set_defaults(run=run_sign)

    verify = actions.add_parser("verify", parents=[parent], help="check integrity")
    verify.add_argument("record", nargs="?", metavar="ID[@VERSION]")
    verify.add_argument("--all", action="store_true", help="every record (the default)")
    verify.set_defaults(run=run_verify)

    certificate = actions.add_parser("certificate", parents=[parent], help="PDF certificate")
    certificate.add_argument("record", metavar="ID[@VERSION]")
    certificate.add_argument("--out", required=True, metavar="CERT.pdf")
    certificate.add_argument(
        "--force",
        action="store_true",
        help="overwrite an existing CERT.pdf (never a run record or a registry file)",
    )
    certificate.set_defaults(run=run_certificate)

    impact = actions.add_parser(
        "impact", parents=[parent], help="runs affected by an out-of-tolerance as-found result"
    )
    impact.add_argument("record", metavar="ID[@VERSION]")
    impact.add_argument("--runs", required=True, metavar="DIR", help="where run records are")
    impact.add_argument("--user", default="", help="who assesses")
    impact.add_argument("--json", action="store_true")
    impact.set_defaults(run=run_impact)


def run_context_template(args: argparse.Namespace) -> int:
    """Execute ``calib context-template``."""
    from calibration.context import TEMPLATE

    print(TEMPLATE, end="")
    return 0


def run_users_add(args: argparse.Namespace) -> int:
    """Execute ``calib users add``."""
    registry = open_registry(args, must_exist=False)
    admin_password = (
        password(ADMIN_PASSWORD_ENV, f"password of administrator {args.admin}: ")
        if args.admin
        else ""
    )
    new_password = password(NEW_PASSWORD_ENV, f"new password for {args.user_id}: ")
    user = registry.add_user(
        args.user_id,
        args.name,
        tuple(args.role),
        new_password,
        admin_id=args.admin,
        admin_password=admin_password,
    )
    print(f"registered {user.user_id} ({user.name}) as {', '.join(user.roles)}")
    return 0


def run_users_list(args: argparse.Namespace) -> int:
    """Execute ``calib users list``."""
    for user in open_registry(args).users().values():
        print(f"{user.user_id:12s} {user.name:24s} {', '.join(user.roles)}")
    return 0


def run_record_detector(args: argparse.Namespace) -> int:
    """Execute ``calib record-detector``."""
    from calibration.detector_record import detector_characterisation_content
    from calibration.emva1288 import characterize
    from calibration.frame_correction import coefficients_from_photon_transfer
    from calibration.photon_transfer import read_photon_transfer
    from instrument.instrument import software_version

    data = read_photon_transfer(args.dataset)
    content = detector_characterisation_content(
        characterize(data),
        coefficients_from_photon_transfer(data),
        context_from_file(args.context),
        dataset_path=args.dataset,
        performed_by=args.performer,
        calibration_date=args.date,
        software_version=software_version(),
    )
    return create_record(args, content)


def create_record(args: argparse.Namespace, content: RecordContent) -> int:
    """Store ``content`` as a draft record signed ``performed``; print its conformity."""
    registry = open_registry(args)
    entry = registry.create(
        content,
        password(PASSWORD_ENV, f"password of {args.performer}: "),
        supersedes=args.supersedes,
        reason=args.reason,
    )
    print(f"created {entry.reference} ({entry.lifecycle}), due {entry.due_date}")
    for statement in content.conformity():
        print(f"  {statement.stage:8s} {statement.result:40s} {statement.verdict}")
    return 0


def run_record_spo2_curve(args: argparse.Namespace) -> int:
    """Execute ``calib record-spo2-curve`` on a plain table (ratio, sao2_percent, subject) or
    on the study table of ``calib study pair`` (kept with its pairing and per-group figures)."""
    import numpy as np

    from calibration.instrument_records import spo2_curve_content
    from calibration.spo2_curve import fit_spo2_curve
    from instrument.instrument import software_version
    from instrument.pseudonym import load_site_key, pseudonymise
    from protocols.cli.calib_study import read_study_table, study_arrays, study_report
    from protocols.cli.csv_table import read_columns, read_header

    header = read_header(args.study)
    study = None
    if "subject_pseudonym" in header:
        table = read_study_table(args.study)
        pseudonyms = table["subject_pseudonym"]
        study = study_report(args.study, args.degree)
        curve = study.curve
    else:
        table = read_columns(args.study, ("ratio", "sao2_percent"), ("subject",))
        key = load_site_key()
        pseudonyms = np.array([pseudonymise(subject, key) for subject in table["subject"]])
        curve = fit_spo2_curve(
            table["ratio"],
            table["sao2_percent"],
            pseudonyms,
            degree=args.degree,
            study_id=args.study_id,
        )
    if curve.study_id != args.study_id:
        raise ValueError(f"{args.study}: study {curve.study_id!r}, not --study-id {args.study_id}")
    for warning in study.warnings if study is not None else curve.warnings:
        print(f"nirpoct: warning: {warning}", file=sys.stderr)
    content = spo2_curve_content(
        curve,
        context_from_file(args.context),
        pair_nm=args.pair,
        ratio=table["ratio"],
        sao2_percent=table["sao2_percent"],
        subject_pseudonyms=pseudonyms,
        performed_by=args.performer,
        calibration_date=args.date,
        software_version=software_version(),
        arms_limit_percent=args.arms_limit,
        study=study_arrays(args.study, study) if study is not None else None,
    )
    print(
        f"Arms {curve.arms_percent:.2f} %, bias {curve.bias_percent:+.2f} %, "
        f"precision {curve.precision_percent:.2f} % over {curve.points} points"
    )
    return create_record(args, content)


def run_record_led_power(args: argparse.Namespace) -> int:
    """Execute ``calib record-led-power``."""
    import numpy as np

    from calibration.instrument_records import led_power_content
    from calibration.led_power import LedSweep, ReferenceDetector, calibrate_led_power
    from instrument.instrument import software_version
    from protocols.cli.csv_table import read_columns

    table = read_columns(args.sweep, ("wavelength_nm", "current_ma", "power_w"))
    sweeps = []
    for wavelength in np.unique(table["wavelength_nm"]):
        rows = table["wavelength_nm"] == wavelength
        currents = np.unique(table["current_ma"][rows])
        readings = [table["power_w"][rows & (table["current_ma"] == c)] for c in currents]
        repeats = min(len(r) for r in readings)
        sweeps.append(
            LedSweep(float(wavelength), currents, np.array([r[:repeats] for r in readings]))
        )
    reference = ReferenceDetector(
        args.reference_detector, args.reference_certificate, args.reference_relative_u
    )
    content = led_power_content(
        calibrate_led_power(sweeps, reference),
        context_from_file(args.context),
        performed_by=args.performer,
        calibration_date=args.date,
        software_version=software_version(),
    )
    return create_record(args, content)


def run_record_lockin_verification(args: argparse.Namespace) -> int:
    """Execute ``calib record-lockin-verification``."""
    import numpy as np

    from calibration.instrument_records import lockin_verification_content
    from calibration.lockin_verification import LockinCheckPoint, ReferenceSource, verify_lockin
    from instrument.instrument import software_version
    from protocols.cli.csv_table import read_columns

    settings = ("sensitivity_v", "frequency_hz", "reference_amplitude_v", "reference_phase_deg")
    table = read_columns(args.readings, (*settings, "amplitude_v", "phase_deg"))
    keys = np.stack([table[name] for name in settings], axis=1)
    points = []
    for key in np.unique(keys, axis=0):
        rows = np.all(keys == key, axis=1)
        sensitivity_v, frequency_hz, amplitude_v, phase_deg = (float(v) for v in key)
        points.append(
            LockinCheckPoint(
                sensitivity_v,
                frequency_hz,
                amplitude_v,
                phase_deg,
                table["amplitude_v"][rows],
                table["phase_deg"][rows],
            )
        )
    source = ReferenceSource(
        args.source,
        args.source_certificate,
        args.source_amplitude_relative_u,
        args.source_phase_u,
    )
    verification = verify_lockin(
        points,
        source,
        gain_tolerance_percent=args.gain_tolerance,
        phase_tolerance_deg=args.phase_tolerance,
    )
    content = lockin_verification_content(
        verification,
        context_from_file(args.context),
        performed_by=args.performer,
        calibration_date=args.date,
        software_version=software_version(),
    )
    return create_record(args, content)


def run_list(args: argparse.Namespace) -> int:
    """Execute ``calib list``: every record version with its state and its integrity (a
    version whose files fail verification, or any version of a registry whose audit trail is
    damaged or rolled back, is flagged and not usable)."""
    today = dt.date.today()
    registry = open_registry(args)
    problems = registry.verify()
    entries = sorted(registry.index().values(), key=lambda e: (e.record_id, e.version))
    own = {e.reference: [p for p in problems if p.startswith(f"{e.reference}:")] for e in entries}
    shared = [p for p in problems if not any(p in listed for listed in own.values())]
    integrity = {ref: "intact" if not (found or shared) else "FAILED" for ref, found in own.items()}
    if args.json:
        listing = [
            {
                **asdict(e),
                "state": e.state_on(today),
                "integrity": integrity[e.reference],
                "integrity_problems": own[e.reference] + shared,
            }
            for e in entries
        ]
        print(json.dumps(listing))
        return 1 if problems else 0
    for e in entries:
        state = e.state_on(today)
        usable = state not in ("expired", "revoked") and integrity[e.reference] == "intact"
        print(
            f"{e.reference:26s} {state:11s} due {e.due_date}  {e.kind:26s} "
            f"{e.item_serial} {e.component}  integrity {integrity[e.reference]}"
            f"{'' if usable else '  <-- NOT USABLE'}"
        )
    if problems:
        print(f"INTEGRITY FAILURE: {len(problems)} problem(s) in {registry.root}; see calib verify")
    return 1 if problems else 0


def run_show(args: argparse.Namespace) -> int:
    """Execute ``calib show``."""
    registry = open_registry(args)
    entry = registry.entry(args.record)
    stored = registry.load(entry.reference)
    content = stored.content
    state = entry.state_on(dt.date.today())
    if args.json:
        print(
            json.dumps(
                {
                    **asdict(entry),
                    "state": state,
                    "results": [
                        {
                            "stage": stage,
                            "name": r.name,
                            "value": r.value,
                            "unit": r.unit,
                            "standard_uncertainty": r.standard_uncertainty,
                            "expanded_uncertainty": r.expanded_uncertainty,
                            "k": r.coverage_factor,
                        }
                        for stage, results in (
                            ("as found", content.as_found),
                            ("as left", content.as_left),
                        )
                        for r in results
                    ],
                    "signatures": [asdict(s) for s in stored.signatures],
                    "references": [asdict(r) for r in content.references],
                }
            )
        )
        return 0
    print(f"{entry.reference}  {content.title}\n  state {state}, due {entry.due_date}")
    print(f"  item {content.item.model} s/n {content.item.serial} ({content.item.component})")
    print(f"  performed by {content.performed_by} on {content.calibration_date}")
    for stage, results in (("as found", content.as_found), ("as left", content.as_left)):
        for r in results:
            print(
                f"  {stage:8s} {r.name:40s} {r.value:.6g} ± {r.expanded_uncertainty:.2g} "
                f"{r.unit} (k={r.coverage_factor:.2f})"
            )
    for standard in content.references:
        print(
            f"  reference {standard.name} {standard.serial}, certificate "
            f"{standard.certificate_id}, due {standard.due_date}"
        )
    for s in stored.signatures:
        print(f"  signed {s.meaning} by {s.signer_name} ({s.signer_id}) at {s.signed_utc}")
    return 0


def run_sign(args: argparse.Namespace) -> int:
    """Execute ``calib sign``."""
    registry = open_registry(args)
    entry = registry.sign(
        args.record,
        args.meaning,
        args.user,
        password(PASSWORD_ENV, f"password of {args.user}: "),
        args.reason,
    )
    print(f"{entry.reference} is now {entry.lifecycle}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Execute ``calib verify``; exit 1 on any integrity failure."""
    registry = open_registry(args)
    problems = registry.verify(None if args.all else args.record)
    checked = len(registry.index()) if args.all or not args.record else 1
    if problems:
        print(f"INTEGRITY FAILURE: {len(problems)} problem(s) in {registry.root}")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"verified {checked} record version(s), audit trail and users: intact")
    return 0


def run_certificate(args: argparse.Namespace) -> int:
    """Execute ``calib certificate``."""
    from calibration.certificate import write_certificate
    from protocols.cli.output_file import atomic_output, refuse_unsafe_output

    out = refuse_unsafe_output(args.out, force=args.force, option="--out")
    registry = open_registry(args)
    entry = registry.entry(args.record)
    with atomic_output(out) as scratch:
        write_certificate(registry.load(entry.reference), entry.state_on(dt.date.today()), scratch)
    print(f"certificate of {entry.reference} written to {out}")
    return 0


def run_impact(args: argparse.Namespace) -> int:
    """Execute ``calib impact``."""
    from calibration.registry import RunUse
    from instrument.run_record import run_headers

    runs = [
        RunUse(
            str(header.path), str(header.metadata.get("start_time_utc", "")), header.device_serials
        )
        for header in run_headers(args.runs)
    ]
    report = open_registry(args).impact(args.record, runs, args.user)
    if args.json:
        print(json.dumps(asdict(report)))
    elif not report.out_of_tolerance:
        print(f"{report.record}: as-found results within tolerance; no runs affected")
    else:
        print(
            f"{report.record}: as found OUT OF TOLERANCE; {len(report.runs)} run(s) since "
            f"{report.since or 'the first calibration'} used the item:"
        )
        for run in report.runs:
            print(f"  {run}")
    return 0
