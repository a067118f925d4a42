"""``nirpoct analyze nirs``: haemoglobin changes of a SNIRF CW-amplitude recording.

Optical density against the recording mean (or a baseline window), then the modified
Beer–Lambert law per source–detector channel (``imaging.mbll``); the HbO/HbR result is
written as SNIRF processed data (dataType 99999, dataTypeLabel HbO/HbR, µM) that MNE reads.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from numpy.typing import NDArray

from imaging.mbll import IntensityError, baseline_reference, dpf_from_age, hemoglobin_changes
from instrument.snirf import (
    DATA_TYPE_CW_AMPLITUDE,
    DATA_TYPE_PROCESSED,
    NirsData,
    read_snirf,
    refuse_unsafe_output,
    write_snirf,
)

DEFAULT_DPF = 6.0


def register(analyses: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the analysis to ``nirpoct analyze``."""
    parser = analyses.add_parser(
        "nirs",
        help="NIRS: ΔHbO2 / ΔHbR (µM) from a SNIRF CW-amplitude file",
        description=(
            "Optical density (natural log) against the recording mean or a baseline window, "
            "then the modified Beer–Lambert law with Prahl's extinction coefficients, per "
            "source–detector channel. Writes HbO/HbR as SNIRF processed data with --out."
        ),
    )
    parser.add_argument("file", metavar="FILE.snirf", help="SNIRF file of CW amplitudes")
    pathlength = parser.add_mutually_exclusive_group()
    pathlength.add_argument(
        "--dpf",
        type=dpf_argument,
        metavar="X[,X…]",
        help=f"differential pathlength factor, one value or one per wavelength "
        f"(default {DEFAULT_DPF:g})",
    )
    pathlength.add_argument(
        "--age",
        type=float,
        metavar="YEARS",
        help="DPF per wavelength from age (Scholkmann & Wolf 2013)",
    )
    parser.add_argument(
        "--baseline",
        type=baseline_argument,
        metavar="START:END",
        help="optical-density reference: mean over this window, s (default: whole recording); "
        "a negative start is given as --baseline=-5:-1",
    )
    parser.add_argument("--out", metavar="HB.snirf", help="write HbO/HbR as SNIRF")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    parser.add_argument("--json", action="store_true", help="print a JSON object on stdout")
    parser.set_defaults(run=run)


def dpf_argument(text: str) -> tuple[float, ...]:
    """Parse ``--dpf X`` or ``--dpf X1,X2,…``."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from None
    if not all(np.isfinite(v) and v > 0.0 for v in values):
        raise argparse.ArgumentTypeError(f"DPF values must be positive, got {text!r}")
    return values


def baseline_argument(text: str) -> tuple[float, float]:
    """Parse ``--baseline START:END`` (s)."""
    try:
        start, end = (float(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:END in s (a negative start as --baseline=-5:-1), got {text!r}"
        ) from None
    if not end > start:
        raise argparse.ArgumentTypeError(f"baseline END must exceed START, got {text!r}")
    return start, end


def channel_columns(data: NirsData) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Source–detector pairs (C, 2) in order of appearance and their columns (C, W).

    Raises
    ------
    ValueError
        If a pair lacks a wavelength or has one twice.
    """
    pairs = np.column_stack([data.source_index, data.detector_index])
    unique, first = np.unique(pairs, axis=0, return_index=True)
    unique = unique[np.argsort(first)]
    count = len(data.wavelengths_nm)
    columns = np.full((len(unique), count), -1, dtype=np.int64)
    pair_of = {tuple(pair): row for row, pair in enumerate(unique.tolist())}
    for column, (pair, wavelength) in enumerate(
        zip(pairs.tolist(), data.wavelength_index.tolist(), strict=True)
    ):
        row = pair_of[tuple(pair)]
        if columns[row, wavelength - 1] != -1:
            raise ValueError(f"channel S{pair[0]}-D{pair[1]} has wavelength {wavelength} twice")
        columns[row, wavelength - 1] = column
    missing = np.argwhere(columns < 0)
    if missing.size:
        row, wavelength = missing[0]
        source, detector = unique[row]
        raise ValueError(
            f"channel S{source}-D{detector} has no {data.wavelengths_nm[wavelength]:g} nm "
            "measurement"
        )
    return unique, columns


def hemoglobin_data(
    data: NirsData,
    dpf: NDArray[np.float64],
    baseline_s: tuple[float, float] | None = None,
) -> tuple[NirsData, NDArray[np.float64]]:
    """ΔHbO2/ΔHbR of a CW-amplitude recording as SNIRF processed data, and the distances.

    Parameters
    ----------
    data : NirsData
        CW amplitudes, two or more wavelengths for every source–detector pair.
    dpf : ndarray, shape (W,)
        DPF per wavelength.
    baseline_s : (start, end), optional
        Optical-density reference window, s; the recording mean by default.

    Returns
    -------
    (NirsData, ndarray)
        HbO then HbR per channel (µM), and each channel's source–detector distance (mm);
        stimulus groups and optode labels are carried over.

    Raises
    ------
    ValueError
        If the data is not CW amplitude, a channel lacks a wavelength, or an intensity is not
        positive and finite (naming the channel, wavelength and time).
    """
    if data.data_type != DATA_TYPE_CW_AMPLITUDE:
        raise ValueError("analyze nirs needs CW amplitude data (SNIRF dataType 1)")
    if len(data.wavelengths_nm) < 2:
        raise ValueError("analyze nirs needs two or more wavelengths")
    pairs, columns = channel_columns(data)
    intensity = data.values[:, columns]  # (T, C, W)
    reference = (
        None if baseline_s is None else baseline_reference(intensity, data.time_s, *baseline_s)
    )
    distance = np.linalg.norm(
        data.source_positions_mm[pairs[:, 0] - 1] - data.detector_positions_mm[pairs[:, 1] - 1],
        axis=1,
    )
    if np.any(distance <= 0.0):
        raise ValueError("a source and a detector share one position (distance 0 mm)")
    try:
        hemoglobin = hemoglobin_changes(intensity, data.wavelengths_nm, distance, dpf, reference)
    except IntensityError as exc:
        source, detector = pairs[exc.channel]
        where = (
            "the baseline reference"
            if exc.sample is None
            else f"t = {data.time_s[exc.sample]:g} s (sample {exc.sample + 1})"
        )
        raise ValueError(
            f"channel S{source}-D{detector} at {data.wavelengths_nm[exc.wavelength]:g} nm has "
            f"intensity {exc.value:g} at {where}; optical density needs positive, finite "
            "intensities"
        ) from None
    count = len(pairs)
    result = NirsData(
        time_s=data.time_s,
        values=hemoglobin.reshape(len(data.time_s), 2 * count),
        source_index=np.repeat(pairs[:, 0], 2),
        detector_index=np.repeat(pairs[:, 1], 2),
        wavelength_index=np.zeros(2 * count, dtype=np.int64),
        wavelengths_nm=data.wavelengths_nm,
        source_positions_mm=data.source_positions_mm,
        detector_positions_mm=data.detector_positions_mm,
        data_type=DATA_TYPE_PROCESSED,
        data_type_labels=("HbO", "HbR") * count,
        metadata=data.metadata,
        stims=data.stims,
        source_labels=data.source_labels,
        detector_labels=data.detector_labels,
    )
    return result, distance


def run(args: argparse.Namespace) -> int:
    """Analyse one SNIRF file."""
    if args.out:
        refuse_unsafe_output(args.out, args.file, overwrite=args.force)
    data = read_snirf(args.file)
    wavelengths = data.wavelengths_nm
    if args.age is not None:
        dpf = dpf_from_age(args.age, wavelengths)
    else:
        given = np.asarray(args.dpf or (DEFAULT_DPF,), dtype=float)
        if len(given) not in (1, len(wavelengths)):
            raise ValueError(
                f"--dpf needs one value or {len(wavelengths)} (one per wavelength), "
                f"got {len(given)}"
            )
        dpf = np.broadcast_to(given, wavelengths.shape).copy()
    try:
        hb, distance = hemoglobin_data(data, dpf, args.baseline)
    except ValueError as exc:
        raise ValueError(f"{args.file}: {exc}") from None
    if args.out:
        write_snirf(args.out, hb, overwrite=args.force)
    hbo, hbr = hb.values[:, 0::2], hb.values[:, 1::2]
    summary = {
        "file": str(args.file),
        "channels": len(distance),
        "samples": len(hb.time_s),
        "duration_s": float(hb.time_s[-1] - hb.time_s[0]),
        "wavelengths_nm": [float(w) for w in wavelengths],
        "dpf": [round(float(d), 4) for d in dpf],
        "reference": "recording mean"
        if args.baseline is None
        else f"baseline {args.baseline[0]:g}:{args.baseline[1]:g} s",
        "distance_mm": {"min": float(distance.min()), "max": float(distance.max())},
        "hbo_um": {"min": float(hbo.min()), "max": float(hbo.max())},
        "hbr_um": {"min": float(hbr.min()), "max": float(hbr.max())},
        "out": args.out,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"{summary['channels']} channels, {summary['samples']} samples "
        f"({summary['duration_s']:.1f} s), "
        f"{'/'.join(f'{w:g}' for w in wavelengths)} nm, "
        f"DPF {'/'.join(f'{d:.2f}' for d in dpf)}, reference: {summary['reference']}"
    )
    print(
        f"ΔHbO2 {hbo.min():.3g} to {hbo.max():.3g} µM, ΔHbR {hbr.min():.3g} to {hbr.max():.3g} µM"
    )
    if args.out:
        print(f"wrote {args.out}")
    return 0
