"""DOT reconstruction of one SNIRF measurement: the pure ``process(path, options)`` of
``nirpoct reconstruct``.

The single command and ``nirpoct batch reconstruct`` (on any Dask worker) call `process`
alike; the measurement and its baseline are opened where `process` runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instrument.snirf import read_snirf
from protocols.analyses.dot import DotOptions, DotResult, reconstruct_snirf, result_summary

logger = logging.getLogger(__name__)

KEY_FIGURES = ("inclusions", "peak_contrast", "background_variation_percent", "alpha")
"""The figures of a result that ``nirpoct batch`` lists in its manifest."""


@dataclass(frozen=True)
class ReconstructOptions:
    """Settings of ``nirpoct reconstruct`` (from the same command-line options).

    Attributes
    ----------
    baseline : str
        Baseline (reference) recording of the same probe, SNIRF.
    dot : DotOptions
        Slab, background optics, grid and solver settings.
    """

    baseline: str
    dot: DotOptions


@dataclass(frozen=True)
class ReconstructFileResult:
    """The reconstruction of one measurement.

    Attributes
    ----------
    summary : dict
        The JSON object ``nirpoct reconstruct --json`` prints.
    dot : DotResult
        Maps, grid, inclusions and background.
    """

    summary: dict[str, Any]
    dot: DotResult


def process(path: str | Path, options: ReconstructOptions) -> ReconstructFileResult:
    """Reconstruct one CW SNIRF measurement against the baseline recording.

    Parameters
    ----------
    path : str or Path
        Measurement, SNIRF (CW amplitudes).
    options : ReconstructOptions
        The baseline file and the reconstruction settings.

    Returns
    -------
    ReconstructFileResult
        The summary (as ``nirpoct reconstruct --json`` prints it) and the maps.

    Raises
    ------
    ValueError
        If a file cannot be read or the data cannot be reconstructed.
    """
    result = reconstruct_snirf(read_snirf(path), read_snirf(options.baseline), options.dot)
    logger.debug("reconstructed %s: %d inclusions", path, len(result.inclusions))
    return ReconstructFileResult(result_summary(result), result)


def key_figures(result: ReconstructFileResult) -> dict[str, float | int | None]:
    """The figures named in `KEY_FIGURES` (peak contrast of the strongest inclusion)."""
    summary = result.summary
    inclusions = summary["inclusions"]
    return {
        "inclusions": len(inclusions),
        "peak_contrast": inclusions[0]["peak_contrast"] if inclusions else None,
        "background_variation_percent": summary["background"]["variation_percent"],
        "alpha": summary["alpha"],
    }
