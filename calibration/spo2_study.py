"""SpO2 accuracy study (ISO 80601-2-61 Annex EE; FDA pulse-oximeter guidance): pairing of the
instrument's ratio of ratios R with arterial co-oximetry, and the accuracy statistics.

Pairing: a blood sample drawn at time t is paired with the median R of the seconds whose
centres lie in ``[t + lag − window/2, t + lag + window/2]`` (defaults: 20 s window, no lag),
when at least ``min_seconds`` of them carry an R; the lag allows for the instrument's
averaging and the circulation delay between the sampling site and the probe.

Statistics over the points with SaO2 in 70–100 % (ISO 80601-2-61): Arms, bias (mean of
SpO2 − SaO2), precision (SD of the differences), the same per 10 % SaO2 band and per
skin-tone group, and Bland–Altman 95 % limits of agreement corrected for repeated measures
per subject when the true value varies (Bland & Altman, J. Biopharm. Stat. 17, 571–582,
2007, §5: one-way analysis of variance of the differences by subject).

Minimums checked (FDA guidance "Pulse Oximeters – Premarket Notification Submissions", 2013):
at least 10 subjects, 200 data points, SaO2 spread over 70–100 % (every 10 % band holding
data), and at least 2 darkly pigmented subjects or 15 % of the subjects, whichever is more.
Skin tone on the Monk scale (1–10; groups 1–4, 5–7, 8–10) or the Fitzpatrick scale (I–VI;
groups I–II, III–IV, V–VI); "dark" is Monk 8–10 or Fitzpatrick V–VI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from calibration.spo2_curve import SAO2_RANGE_PERCENT, Spo2CurveCalibration, fit_spo2_curve

__all__ = [
    "DARK_SKIN_FRACTION",
    "MIN_DARK_SKIN_SUBJECTS",
    "SAO2_BANDS_PERCENT",
    "STUDY_COLUMNS",
    "AccuracyFigures",
    "StudyReport",
    "accuracy_figures",
    "analyse_study",
    "pair_with_references",
    "skin_tone_group",
]

STUDY_COLUMNS = (
    "study_id",
    "subject_pseudonym",
    "sex",
    "age_band",
    "skin_tone_scale",
    "skin_tone",
    "skin_tone_group",
    "probe_site",
    "session",
    "draw_time_utc",
    "sao2_percent",
    "ratio",
    "ratio_seconds",
    "quality",
)
"""Columns of the study table ``pair`` writes and ``report``/``record-spo2-curve`` read."""
MIN_DARK_SKIN_SUBJECTS = 2
DARK_SKIN_FRACTION = 0.15
SAO2_BANDS_PERCENT = ((70.0, 80.0), (80.0, 90.0), (90.0, 100.0))
"""The 10 % SaO2 bands the accuracy is also stated for (the last includes 100 %)."""
DEFAULT_WINDOW_S = 20.0
DEFAULT_LAG_S = 0.0
DEFAULT_MIN_SECONDS = 10
_FITZPATRICK = ("I", "II", "III", "IV", "V", "VI")
SKIN_TONE_GROUPS = ("light", "medium", "dark")


def skin_tone_group(scale: str, tone: str) -> str:
    """``light``, ``medium`` or ``dark`` for a skin tone on the Monk (1–10) or Fitzpatrick
    (I–VI) scale.

    Raises
    ------
    ValueError
        An unknown scale or a tone outside it.
    """
    scale = scale.strip().lower()
    tone = tone.strip()
    if scale == "monk":
        if not tone.isdigit() or not 1 <= int(tone) <= 10:
            raise ValueError(f"Monk skin tone must be 1-10, got {tone!r}")
        value = int(tone)
        return "light" if value <= 4 else "medium" if value <= 7 else "dark"
    if scale == "fitzpatrick":
        if tone.upper() not in _FITZPATRICK:
            raise ValueError(f"Fitzpatrick skin type must be one of I-VI, got {tone!r}")
        return SKIN_TONE_GROUPS[_FITZPATRICK.index(tone.upper()) // 2]
    raise ValueError(f"skin-tone scale must be monk or fitzpatrick, got {scale!r}")


def pair_with_references(
    session_time_s: ArrayLike,
    session_ratio: ArrayLike,
    session_quality: ArrayLike,
    draw_time_s: ArrayLike,
    *,
    window_s: float = DEFAULT_WINDOW_S,
    lag_s: float = DEFAULT_LAG_S,
    min_seconds: int = DEFAULT_MIN_SECONDS,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """R at the moments blood was drawn.

    Parameters
    ----------
    session_time_s : array_like, shape (S,)
        Centres of the session's seconds, s (any common clock, e.g. POSIX time).
    session_ratio : array_like, shape (S,)
        R per second (NaN where withheld).
    session_quality : array_like, shape (S,)
        Signal quality per second, 0–1.
    draw_time_s : array_like, shape (D,)
        Draw times of the samples on the same clock, s.
    window_s, lag_s : float
        Width of the window and its delay after the draw, s.
    min_seconds : int
        Seconds with an R the window needs for a pair.

    Returns
    -------
    ratio : ndarray, shape (D,)
        Median R in each window; NaN where there are too few seconds.
    seconds : ndarray of int, shape (D,)
        Seconds with an R in each window.
    quality : ndarray, shape (D,)
        Mean quality over each window's seconds (NaN for an empty window).
    """
    time_s = np.asarray(session_time_s, dtype=float)
    ratio = np.asarray(session_ratio, dtype=float)
    quality = np.asarray(session_quality, dtype=float)
    draws = np.asarray(draw_time_s, dtype=float)
    centre = draws[:, np.newaxis] + lag_s
    inside = np.abs(time_s[np.newaxis, :] - centre) <= window_s / 2.0
    valid = inside & np.isfinite(ratio)[np.newaxis, :]
    seconds = valid.sum(axis=1)
    masked = np.where(valid, ratio[np.newaxis, :], np.nan)
    with np.errstate(all="ignore"):
        paired = np.full(draws.shape, np.nan)
        enough = seconds >= min_seconds
        if enough.any():
            paired[enough] = np.nanmedian(masked[enough], axis=1)
        counts = inside.sum(axis=1)
        mean_quality = np.where(
            counts > 0,
            (inside * quality[np.newaxis, :]).sum(axis=1) / np.maximum(counts, 1),
            np.nan,
        )
    return paired, seconds.astype(np.int64), mean_quality


@dataclass(frozen=True)
class AccuracyFigures:
    """Accuracy of SpO2 against SaO2 over a set of points, %.

    ``loa_low_percent``/``loa_high_percent`` are the Bland–Altman 95 % limits of agreement,
    bias ± 1.96 ``sd_repeated_percent``, whose SD allows for several points per subject.
    """

    points: int
    subjects: int
    arms_percent: float
    bias_percent: float
    precision_percent: float
    sd_repeated_percent: float
    loa_low_percent: float
    loa_high_percent: float

    def to_json_dict(self) -> dict[str, float | int]:
        """The figures as a plain dict."""
        return asdict(self)


def repeated_measures_sd(differences: ArrayLike, subjects: ArrayLike) -> float:
    """SD of the differences for limits of agreement with several points per subject whose
    true value varies (Bland & Altman 2007, §5).

    σ²_total = σ²_between + σ²_within with σ²_within = MS_within and
    σ²_between = (MS_between − MS_within) / ((N² − Σ m_i²) / ((n − 1) N)), clipped at 0,
    from the one-way analysis of variance of the differences by subject (n subjects, m_i
    points each, N in all). With one point per subject it is the ordinary SD.
    """
    d = np.asarray(differences, dtype=float)
    labels = np.asarray(subjects)
    groups = [d[labels == label] for label in np.unique(labels)]
    total, n = d.size, len(groups)
    if n < 2 or total <= n:
        return float(np.std(d, ddof=1)) if d.size > 1 else float("nan")
    mean = d.mean()
    sizes = np.array([g.size for g in groups], dtype=float)
    ss_between = float(sum(g.size * (g.mean() - mean) ** 2 for g in groups))
    ss_within = float(sum(((g - g.mean()) ** 2).sum() for g in groups))
    ms_between = ss_between / (n - 1)
    ms_within = ss_within / (total - n)
    divisor = (total**2 - float((sizes**2).sum())) / ((n - 1) * total)
    between = max(0.0, (ms_between - ms_within) / divisor)
    return float(np.sqrt(between + ms_within))


def accuracy_figures(
    spo2_percent: ArrayLike, sao2_percent: ArrayLike, subjects: ArrayLike
) -> AccuracyFigures | None:
    """Arms, bias, precision and repeated-measures limits of agreement; None for < 2 points."""
    spo2 = np.asarray(spo2_percent, dtype=float)
    sao2 = np.asarray(sao2_percent, dtype=float)
    labels = np.asarray(subjects)
    if spo2.size < 2:
        return None
    d = spo2 - sao2
    bias = float(d.mean())
    sd_repeated = repeated_measures_sd(d, labels)
    return AccuracyFigures(
        points=int(d.size),
        subjects=int(np.unique(labels).size),
        arms_percent=float(np.sqrt(np.mean(d**2))),
        bias_percent=bias,
        precision_percent=float(np.std(d, ddof=1)),
        sd_repeated_percent=sd_repeated,
        loa_low_percent=bias - 1.96 * sd_repeated,
        loa_high_percent=bias + 1.96 * sd_repeated,
    )


@dataclass(frozen=True, eq=False)
class StudyReport:
    """A fitted study: the curve, accuracy overall, per SaO2 band and per skin-tone group.

    Attributes
    ----------
    curve : Spo2CurveCalibration
        The fitted curve (its own warnings included in ``warnings``).
    overall : AccuracyFigures
        Over the points with SaO2 in 70–100 %.
    bands : dict
        ``"70-80"`` … → figures (None where a band has < 2 points).
    groups : dict
        Skin-tone group → figures (None where a group has < 2 points).
    subjects_per_group : dict
        Skin-tone group → distinct subjects.
    spo2_percent : ndarray
        The curve's SpO2 at every point of the table, %.
    warnings : tuple of str
        Where the study misses the guidance's minimums.
    """

    curve: Spo2CurveCalibration
    overall: AccuracyFigures
    bands: dict[str, AccuracyFigures | None]
    groups: dict[str, AccuracyFigures | None]
    subjects_per_group: dict[str, int]
    spo2_percent: NDArray[np.float64]
    warnings: tuple[str, ...]

    def to_json_dict(self) -> dict[str, Any]:
        """Figures as JSON-ready dicts."""

        def figures(item: AccuracyFigures | None) -> dict[str, float | int] | None:
            return None if item is None else item.to_json_dict()

        return {
            "study_id": self.curve.study_id,
            "coefficients": [float(c) for c in self.curve.coefficients],
            "overall": self.overall.to_json_dict(),
            "bands": {name: figures(item) for name, item in self.bands.items()},
            "groups": {name: figures(item) for name, item in self.groups.items()},
            "subjects_per_group": dict(self.subjects_per_group),
            "warnings": list(self.warnings),
        }


def analyse_study(
    ratio: ArrayLike,
    sao2_percent: ArrayLike,
    subjects: ArrayLike,
    skin_tone_groups: ArrayLike,
    *,
    degree: int,
    study_id: str,
) -> StudyReport:
    """Fit the R → SpO2 curve of a paired study table and state its accuracy.

    Parameters
    ----------
    ratio, sao2_percent : array_like, shape (n,)
        Paired R and reference SaO2 (%) (unpaired rows already removed).
    subjects : array_like, shape (n,)
        Subject pseudonym of each point.
    skin_tone_groups : array_like, shape (n,)
        ``light``, ``medium`` or ``dark`` per point (:func:`skin_tone_group`).
    degree : {1, 2}
        Polynomial degree of the curve.
    study_id : str
        The study's identifier.

    Raises
    ------
    ValueError
        As :func:`calibration.spo2_curve.fit_spo2_curve`.
    """
    r = np.asarray(ratio, dtype=float)
    sao2 = np.asarray(sao2_percent, dtype=float)
    labels = np.asarray(subjects)
    tones = np.asarray(skin_tone_groups)
    curve = fit_spo2_curve(r, sao2, labels, degree=degree, study_id=study_id)
    spo2 = curve.evaluate(r)
    low, high = SAO2_RANGE_PERCENT
    in_range = (sao2 >= low) & (sao2 <= high)
    overall = accuracy_figures(spo2[in_range], sao2[in_range], labels[in_range])
    assert overall is not None  # fit_spo2_curve refuses fewer than 2 in-range points
    bands: dict[str, AccuracyFigures | None] = {}
    for band_low, band_high in SAO2_BANDS_PERCENT:
        upper = sao2 <= band_high if band_high >= high else sao2 < band_high
        chosen = in_range & (sao2 >= band_low) & upper
        bands[f"{band_low:g}-{band_high:g}"] = accuracy_figures(
            spo2[chosen], sao2[chosen], labels[chosen]
        )
    groups = {
        group: accuracy_figures(
            spo2[in_range & (tones == group)],
            sao2[in_range & (tones == group)],
            labels[in_range & (tones == group)],
        )
        for group in SKIN_TONE_GROUPS
    }
    per_group = {group: int(np.unique(labels[tones == group]).size) for group in SKIN_TONE_GROUPS}
    warnings = [*curve.warnings, *_minimums(sao2, labels, per_group, bands)]
    return StudyReport(curve, overall, bands, groups, per_group, spo2, tuple(warnings))


def _minimums(
    sao2: NDArray[np.float64],
    subjects: NDArray[Any],
    per_group: dict[str, int],
    bands: dict[str, AccuracyFigures | None],
) -> list[str]:
    """Shortfalls against the FDA guidance beyond those :func:`fit_spo2_curve` reports
    (points and subjects)."""
    problems = []
    empty = [name for name, figures in bands.items() if figures is None]
    if empty:
        problems.append(
            f"SaO2 band(s) {', '.join(empty)} % hold fewer than 2 points: the study does not "
            "cover 70-100 %"
        )
    subject_count = int(np.unique(subjects).size)
    needed = max(MIN_DARK_SKIN_SUBJECTS, int(np.ceil(DARK_SKIN_FRACTION * subject_count)))
    if per_group["dark"] < needed:
        problems.append(
            f"{per_group['dark']} darkly pigmented subjects (Monk 8-10 or Fitzpatrick V-VI), "
            f"fewer than {needed} (at least {MIN_DARK_SKIN_SUBJECTS} or "
            f"{DARK_SKIN_FRACTION:.0%} of the subjects)"
        )
    if sao2.size and (sao2.min() > SAO2_RANGE_PERCENT[0] + 5 or sao2.max() < 95.0):
        problems.append(
            f"SaO2 spans {sao2.min():.1f}-{sao2.max():.1f} %, not the 70-100 % of the guidance"
        )
    return problems
