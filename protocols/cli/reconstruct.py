"""``nirpoct reconstruct``: diffuse optical tomography of a slab from SNIRF recordings."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from protocols.cli.commands import COMMAND_HELP

if TYPE_CHECKING:
    from protocols.analyses.reconstruct_file import ReconstructOptions


def _values(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers in mm⁻¹, got {text!r}"
        ) from None
    return values


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command to the top-level parser."""
    parser = commands.add_parser(
        "reconstruct",
        help=COMMAND_HELP["reconstruct"],
        description="Reconstruct 3-D absorption (one wavelength) or HbO2/Hb, HbT and StO2 maps "
        "(two or more) of a slab from a CW SNIRF measurement calibrated against a baseline "
        "recording, and report the inclusions found.",
    )
    parser.add_argument("measurement", metavar="MEAS.snirf", help="measurement (SNIRF, CW)")
    add_options(parser)
    parser.add_argument("--out", metavar="OUT.h5", help="write the maps with their grid (HDF5)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing OUT.h5")
    parser.add_argument("--json", action="store_true", help="print a JSON object on stdout")
    parser.set_defaults(run=run)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The reconstruction options, shared by ``reconstruct`` and ``batch reconstruct``."""
    parser.add_argument(
        "--baseline",
        metavar="BASE.snirf",
        help="baseline/reference recording of the same probe (required to calibrate)",
    )
    parser.add_argument(
        "--slab-thickness-mm", type=float, required=True, metavar="T", help="slab thickness, mm"
    )
    parser.add_argument(
        "--mua",
        type=_values,
        metavar="LIST",
        help="background μa per wavelength in the file's order, mm⁻¹ (default: fitted)",
    )
    parser.add_argument(
        "--musp",
        type=_values,
        metavar="LIST",
        help="background μs' per wavelength in the file's order, mm⁻¹ (default: fitted)",
    )
    parser.add_argument("--voxel-mm", type=float, default=4.0, help="voxel edge, mm (4)")
    parser.add_argument(
        "--method",
        choices=("gauss-newton", "linear"),
        default="gauss-newton",
        help="iteratively re-weighted, non-negative Tikhonov on the background (Rytov) "
        "linearisation (default; the Jacobian is not recomputed) or one-step linear Tikhonov",
    )
    parser.add_argument(
        "--alpha", type=float, help="relative regularisation parameter (default: automatic)"
    )
    parser.add_argument(
        "--rule", choices=("gcv", "lcurve"), default="gcv", help="automatic regularisation rule"
    )


def options_from_args(args: argparse.Namespace) -> ReconstructOptions:
    """The reconstruction settings the options given by `add_options` ask for.

    Raises
    ------
    ValueError
        If no baseline recording is given.
    """
    if args.baseline is None:
        raise ValueError(
            "uncalibrated CW intensities cannot be reconstructed: give --baseline BASE.snirf"
        )
    from protocols.analyses.dot import DotOptions
    from protocols.analyses.reconstruct_file import ReconstructOptions

    dot = DotOptions(
        thickness_mm=args.slab_thickness_mm,
        mua_per_mm=args.mua,
        musp_per_mm=args.musp,
        voxel_mm=args.voxel_mm,
        method=args.method,
        alpha=args.alpha,
        rule=args.rule,
    )
    return ReconstructOptions(baseline=args.baseline, dot=dot)


def _check_out(out: str, inputs: tuple[str, ...], force: bool) -> None:
    """Refuse an output that is one of the inputs, or that exists without --force."""
    target = Path(out)
    for name in inputs:
        source = Path(name)
        if target.resolve() == source.resolve() or (
            target.exists() and source.exists() and target.samefile(source)
        ):
            raise ValueError(f"--out {out} is the input file {name}; choose another name")
    if target.is_dir():
        raise ValueError(f"--out {out} is a directory")
    if target.exists() and not force:
        raise ValueError(f"--out {out} exists; give --force to overwrite it")


def run(args: argparse.Namespace) -> int:
    """Execute ``nirpoct reconstruct``."""
    from protocols.analyses.dot import write_dot_maps
    from protocols.analyses.reconstruct_file import process

    options = options_from_args(args)
    if args.out:
        _check_out(args.out, (args.measurement, args.baseline), args.force)
    analysed = process(args.measurement, options)
    result = analysed.dot
    if args.out:
        write_dot_maps(args.out, result)
    summary = analysed.summary
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    kind = "HbT/StO2" if result.multispectral else "absorption"
    print(
        f"{kind} reconstruction on {summary['grid_shape']} voxels, "
        f"{len(result.wavelengths_nm)} wavelength(s), α = {result.alpha:.3g}, "
        f"{result.seconds:.2f} s"
    )
    for k, inclusion in enumerate(summary["inclusions"], start=1):
        extra = ""
        if "hbt_um" in inclusion:
            extra = f", HbT {inclusion['hbt_um']:.1f} µM, StO2 {inclusion['sto2_percent']:.1f} %"
        print(
            f"inclusion {k}: centroid {inclusion['centroid_mm']} mm, peak "
            f"{inclusion['peak_mm']} mm, volume {inclusion['volume_mm3']:.0f} mm³, "
            f"peak contrast {inclusion['peak_contrast']:.2f}{extra}"
        )
    if not summary["inclusions"]:
        print("no inclusion found")
    background = summary["background"]
    level = (
        f"HbT {background['hbt_um']:.1f} µM, StO2 {background['sto2_percent']:.1f} %"
        if result.multispectral
        else f"μa {background['mua_per_mm']:.4g} mm⁻¹"
    )
    print(f"background: {level}, variation {background['variation_percent']:.2f} %")
    if args.out:
        print(f"maps written to {args.out}")
    return 0
