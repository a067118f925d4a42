"""``nirpoct calib``: detector characterisation (EMVA 1288) and the calibration registry."""

from __future__ import annotations

import argparse
import json

from protocols.cli import calib_photodiode, calib_records, calib_study
from protocols.cli.commands import COMMAND_HELP


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command group to the top-level parser."""
    parser = commands.add_parser("calib", help=COMMAND_HELP["calib"])
    actions = parser.add_subparsers(dest="calib_command", required=True, metavar="ACTION")

    characterize_parser = actions.add_parser(
        "characterize",
        help="EMVA 1288 figures of a photon-transfer dataset",
        description="EMVA 1288 (release 4.0) characterisation of a photon-transfer HDF5 file.",
    )
    characterize_parser.add_argument("dataset", metavar="PTC.h5")
    characterize_parser.add_argument("--json", action="store_true", help="print JSON on stdout")
    characterize_parser.set_defaults(run=run_characterize)

    simulate_parser = actions.add_parser(
        "simulate-ptc",
        help="write a photon-transfer dataset of the simulated sensor",
        description="Acquire a photon-transfer dataset from the simulated sensor (known truth).",
    )
    simulate_parser.add_argument("out", metavar="OUT.h5")
    simulate_parser.add_argument("--seed", type=int, default=0, help="scene seed")
    simulate_parser.add_argument("--size", type=int, default=64, help="sensor rows and cols")
    simulate_parser.add_argument("--wavelength", type=float, default=850.0, metavar="NM")
    simulate_parser.add_argument(
        "--truth", metavar="FILE", help="also write the sensor's true figures as JSON"
    )
    simulate_parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite existing output files (never a run record or a registry file)",
    )
    simulate_parser.set_defaults(run=run_simulate)
    export_parser = actions.add_parser(
        "export-ptc",
        help="write the photon-transfer series a run measured as a PTC.h5 dataset",
        description=(
            "Read the photon-transfer series a photon_transfer step measured through the "
            "instrument from its run record and write it in the PTC.h5 layout that "
            "'calib characterize' and 'calib record-detector' read."
        ),
    )
    export_parser.add_argument("record", metavar="RUN.h5")
    export_parser.add_argument("out", metavar="OUT.h5")
    export_parser.add_argument("--step", default="ptc", help="name of the photon_transfer step")
    export_parser.add_argument(
        "--force", action="store_true", help="overwrite an existing output file"
    )
    export_parser.set_defaults(run=run_export)
    calib_records.register_actions(actions)
    calib_study.register(actions)
    calib_photodiode.register(actions)


def _format(value: object) -> str:
    from calibration.emva1288 import Measurement

    if isinstance(value, Measurement):
        return f"{value.value:.6g} ± {value.uncertainty:.2g} {value.unit}"
    if isinstance(value, tuple):
        return f"{len(value)} " + " ".join(f"({r},{c})" for r, c in value[:8])
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def run_characterize(args: argparse.Namespace) -> int:
    """Execute ``nirpoct calib characterize``."""
    from calibration.emva1288 import characterize
    from calibration.photon_transfer import read_photon_transfer

    result = characterize(read_photon_transfer(args.dataset))
    if args.json:
        print(json.dumps(result.to_json_dict()))
        return 0
    for name, value in vars(result).items():
        if value is not None:
            print(f"{name:40s} {_format(value)}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Execute ``nirpoct calib export-ptc``."""
    from calibration.photon_transfer import write_photon_transfer
    from instrument.run_record import read_run_record
    from protocols.cli.output_file import atomic_output, refuse_unsafe_output
    from protocols.steps.photon_transfer import photon_transfer_from_record

    out = refuse_unsafe_output(args.out, force=args.force)
    data = photon_transfer_from_record(read_run_record(args.record), args.step)
    with atomic_output(out) as scratch:
        write_photon_transfer(scratch, data)
    steps, _, height, width = data.temporal_bright.shape
    print(f"{steps} exposure steps of {height}×{width} pixels written to {args.out}")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    """Execute ``nirpoct calib simulate-ptc``."""
    # The physics scene is heavy to import; only this action needs it.
    from drivers.sim.photon_transfer import save_photon_transfer_h5, simulate_photon_transfer
    from protocols.cli.output_file import atomic_output, refuse_unsafe_output

    out = refuse_unsafe_output(args.out, force=args.force)
    truth_out = None
    if args.truth:
        truth_out = refuse_unsafe_output(args.truth, force=args.force, option="--truth")
        if truth_out.resolve() == out.resolve():
            raise ValueError(f"--truth {args.truth}: is also the dataset file; choose another")
    datasets, attrs, truth = simulate_photon_transfer(
        args.seed, height=args.size, width=args.size, wavelength_nm=args.wavelength
    )
    with atomic_output(out) as scratch:
        save_photon_transfer_h5(scratch, datasets, attrs)
    if truth_out is not None:
        with atomic_output(truth_out) as scratch:
            scratch.write_text(json.dumps(truth, indent=2, default=str))
    print(f"photon-transfer dataset written to {args.out}")
    return 0
