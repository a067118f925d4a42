"""NIRS haemoglobin changes of one SNIRF file: the pure ``process(path, options)`` of
``nirpoct analyze nirs``.

Optical density against the recording mean (or a baseline window), then the modified
Beer–Lambert law per source–detector channel (``imaging.mbll``). The single command and
``nirpoct batch nirs`` (on any Dask worker) call `process` alike; the file is opened where
`process` runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from imaging.mbll import IntensityError, baseline_reference, dpf_from_age, hemoglobin_changes
from instrument.run_record import unfinished_note
from instrument.snirf import (
    DATA_TYPE_CW_AMPLITUDE,
    DATA_TYPE_PROCESSED,
    RECORD_STATUS_TAG,
    NirsData,
    read_snirf,
)
from protocols.analyses.option_defaults import DEFAULT_DPF

logger = logging.getLogger(__name__)

KEY_FIGURES = ("channels", "samples", "hbo_min_um", "hbo_max_um", "hbr_min_um", "hbr_max_um")
"""The figures of a result that ``nirpoct batch`` lists in its manifest."""


@dataclass(frozen=True)
class NirsOptions:
    """Settings of ``nirpoct analyze nirs`` (from the same command-line options).

    Attributes
    ----------
    dpf : tuple of float or None
        Differential pathlength factor, one value or one per wavelength (None: `DEFAULT_DPF`
        unless `age_years` is given).
    age_years : float or None
        Subject age, years: DPF per wavelength from age (Scholkmann & Wolf 2013).
    baseline_s : (start, end) or None
        Optical-density reference window, s (None: the recording mean).
    """

    dpf: tuple[float, ...] | None = None
    age_years: float | None = None
    baseline_s: tuple[float, float] | None = None


@dataclass(frozen=True)
class NirsFileResult:
    """The analysis of one file.

    Attributes
    ----------
    summary : dict
        The JSON object ``nirpoct analyze nirs --json`` prints, without its ``out`` entry.
    hemoglobin : NirsData
        ΔHbO2 then ΔHbR per channel as SNIRF processed data, µM.
    distance_mm : ndarray, shape (C,)
        Source–detector distance per channel, mm.
    dpf : ndarray, shape (W,)
        DPF used per wavelength.
    warning : str
        One line when the file was exported from a run that did not finish (else "").
    """

    summary: dict[str, Any]
    hemoglobin: NirsData
    distance_mm: NDArray[np.float64]
    dpf: NDArray[np.float64]
    warning: str = ""


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


def pathlength_factors(
    options: NirsOptions, wavelengths_nm: NDArray[np.float64]
) -> NDArray[np.float64]:
    """DPF per wavelength the options ask for.

    Raises
    ------
    ValueError
        If the number of DPF values is neither one nor one per wavelength.
    """
    if options.age_years is not None:
        return dpf_from_age(options.age_years, wavelengths_nm)
    given = np.asarray(options.dpf or (DEFAULT_DPF,), dtype=float)
    if len(given) not in (1, len(wavelengths_nm)):
        raise ValueError(
            f"--dpf needs one value or {len(wavelengths_nm)} (one per wavelength), got {len(given)}"
        )
    return np.broadcast_to(given, wavelengths_nm.shape).copy()


def process(path: str | Path, options: NirsOptions) -> NirsFileResult:
    """ΔHbO2/ΔHbR of one SNIRF CW-amplitude file.

    Parameters
    ----------
    path : str or Path
        SNIRF file of CW amplitudes.
    options : NirsOptions
        The analysis settings.

    Returns
    -------
    NirsFileResult
        The summary (as ``nirpoct analyze nirs --json`` prints it) and the haemoglobin data.

    Raises
    ------
    ValueError
        If the file cannot be read or analysed (the message names the file).
    """
    data = read_snirf(path)
    wavelengths = data.wavelengths_nm
    dpf = pathlength_factors(options, wavelengths)
    try:
        hb, distance = hemoglobin_data(data, dpf, options.baseline_s)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    hbo, hbr = hb.values[:, 0::2], hb.values[:, 1::2]
    summary = {
        "file": str(path),
        "channels": len(distance),
        "samples": len(hb.time_s),
        "duration_s": float(hb.time_s[-1] - hb.time_s[0]),
        "wavelengths_nm": [float(w) for w in wavelengths],
        "dpf": [round(float(d), 4) for d in dpf],
        "reference": "recording mean"
        if options.baseline_s is None
        else f"baseline {options.baseline_s[0]:g}:{options.baseline_s[1]:g} s",
        "distance_mm": {"min": float(distance.min()), "max": float(distance.max())},
        "hbo_um": {"min": float(hbo.min()), "max": float(hbo.max())},
        "hbr_um": {"min": float(hbr.min()), "max": float(hbr.max())},
    }
    logger.debug("analysed %s: %d channels", path, len(distance))
    warning = unfinished_note(path, data.metadata.get(RECORD_STATUS_TAG))
    return NirsFileResult(summary, hb, distance, dpf, warning)


def key_figures(result: NirsFileResult) -> dict[str, float | int]:
    """The figures named in `KEY_FIGURES`."""
    summary = result.summary
    return {
        "channels": summary["channels"],
        "samples": summary["samples"],
        "hbo_min_um": summary["hbo_um"]["min"],
        "hbo_max_um": summary["hbo_um"]["max"],
        "hbr_min_um": summary["hbr_um"]["min"],
        "hbr_max_um": summary["hbr_um"]["max"],
    }
