"""PDF of an SpO2 accuracy study: curve, accuracy tables (overall, per band, per skin-tone
group), the fitted curve over the data and the Bland–Altman plot, and the guidance warnings."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Image, SimpleDocTemplate

from calibration.pdf_blocks import heading, paragraph, table
from calibration.spo2_study import AccuracyFigures, StudyReport


def _row(name: str, figures: AccuracyFigures | None) -> list[str]:
    if figures is None:
        return [name, "-", "-", "-", "-", "-", "-"]
    return [
        name,
        str(figures.points),
        str(figures.subjects),
        f"{figures.arms_percent:.2f}",
        f"{figures.bias_percent:+.2f}",
        f"{figures.precision_percent:.2f}",
        f"{figures.loa_low_percent:+.2f} to {figures.loa_high_percent:+.2f}",
    ]


def _plots(report: StudyReport, ratio: np.ndarray, sao2: np.ndarray) -> Image:
    figure, (curve_axes, ba_axes) = plt.subplots(1, 2, figsize=(8.0, 3.4))
    grid = np.linspace(float(ratio.min()), float(ratio.max()), 200)
    curve_axes.plot(ratio, sao2, ".", markersize=3, label="co-oximetry")
    curve_axes.plot(grid, report.curve.evaluate(grid), "-", label="fitted curve")
    curve_axes.set(xlabel="ratio of ratios R", ylabel="SaO2 / SpO2 (%)", title="Curve")
    curve_axes.legend(fontsize=7)
    spo2 = report.curve.evaluate(ratio)
    mean, difference = (spo2 + sao2) / 2.0, spo2 - sao2
    ba_axes.plot(mean, difference, ".", markersize=3)
    overall = report.overall
    for level, style in (
        (overall.bias_percent, "-"),
        (overall.loa_low_percent, "--"),
        (overall.loa_high_percent, "--"),
    ):
        ba_axes.axhline(level, linestyle=style, color="grey")
    ba_axes.set(
        xlabel="(SpO2 + SaO2) / 2 (%)",
        ylabel="SpO2 - SaO2 (%)",
        title="Bland-Altman (repeated measures)",
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150)
    plt.close(figure)
    buffer.seek(0)
    return Image(buffer, width=180 * mm, height=76 * mm)


def write_study_pdf(path: Path, report: StudyReport, ratio: np.ndarray, sao2: np.ndarray) -> None:
    """Write the study's PDF to ``path``.

    Parameters
    ----------
    path : Path
        Output file.
    report : StudyReport
        The fitted study.
    ratio, sao2 : ndarray
        The paired points (R, SaO2 %) the report was fitted to.
    """
    curve = report.curve
    header = ["set", "points", "subjects", "Arms %", "bias %", "precision %", "95 % LoA %"]
    rows = [header, _row("all, SaO2 70-100 %", report.overall)]
    rows += [_row(f"SaO2 {name} %", figures) for name, figures in report.bands.items()]
    rows += [
        _row(f"skin tone {name} ({report.subjects_per_group[name]} subjects)", figures)
        for name, figures in report.groups.items()
    ]
    terms = " + ".join(f"{c:.5g} R^{i}" for i, c in enumerate(curve.coefficients))
    story = [
        heading(f"SpO2 accuracy study {curve.study_id}"),
        paragraph(
            f"Curve (degree {curve.degree}): SpO2 = {terms}. Accuracy per ISO 80601-2-61 over "
            "SaO2 70-100 %; limits of agreement corrected for repeated measures per subject "
            "(Bland & Altman 2007)."
        ),
        table(rows),
        _plots(report, ratio, sao2),
        heading("Against the guidance's minimums"),
        paragraph(
            "; ".join(report.warnings) if report.warnings else "No shortfall found (FDA 2013)."
        ),
    ]
    SimpleDocTemplate(str(path), pagesize=A4, title=f"SpO2 study {curve.study_id}").build(story)
