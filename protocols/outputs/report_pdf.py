"""The PDF report of a protocol run, for people.

Contents: who ran it and when, for which subject (the id as the operator typed it — the
records hold only its pseudonym), the instrument, the protocol and its hash, the calibrations
used with their states, each step's status and figures with units, the QC gate table, and the
key plots the run produced (board warm-up, PPG traces, SpO2 trend, lock-in sweep, StO2 and
imaging-PPG maps, mean dark frame).
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, SimpleDocTemplate, Spacer, Table
from reportlab.platypus.flowables import Flowable

from calibration.pdf_blocks import heading, paragraph, pdf_text, table
from imaging.statistics import finite_range

if TYPE_CHECKING:
    from protocols.context import RunContext

UNIT_SUFFIXES = (
    ("_dn_per_e", "DN/e-"),
    ("_e_per_s", "e-/s"),
    ("_dn_per_photon", "DN/photon"),
    ("_percent", "%"),
    ("_bpm", "1/min"),
    ("_dn", "DN"),
    ("_db", "dB"),
    ("_mm3", "mm3"),
    ("_mm", "mm"),
    ("_um", "µM"),
    ("_hz", "Hz"),
    ("_nm", "nm"),
    ("_v", "V"),
    ("_c", "°C"),
    ("_s", "s"),
    ("_e", "e-"),
    ("_photons", "photons"),
)
TRACE_COLOURS = (colors.red, colors.darkred, colors.orange, colors.blue, colors.purple)
PLOT_SIZE = (170 * mm, 55 * mm)
MAP_SIDE_MM = 60
MM_PER_CHAR = 2.0  # average Helvetica character width at the table font size, mm
CELL_CHARS = 40  # line length in cells of tables without set column widths
MAX_CELL_CHARS = 300  # longer cell text is cut (a cell must fit on a page)
MAX_PARAGRAPH_CHARS = 2000


def unit_of(figure: str) -> str:
    """The unit a figure's name ends with ("" when dimensionless)."""
    for suffix, unit in UNIT_SUFFIXES:
        if figure.endswith(suffix) or figure.endswith(suffix + "_uncertainty"):
            return unit
    return ""


def _value(value: Any) -> str:
    if value is None:
        return "withheld"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value) if len(value) <= 8 else f"{len(value)} items"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_value(v)}" for k, v in value.items())
    return str(value)


def _clipped(text: object, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters (marked "...")."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _fitted_table(rows: list[list[Any]], widths: list[float] | None = None) -> Table:
    """A table whose cells wrap to their column width and are cut when very long."""
    chars = [max(8, int(w / mm / MM_PER_CHAR)) for w in widths] if widths else None
    fitted = [
        [
            textwrap.fill(_clipped(cell, MAX_CELL_CHARS), chars[column] if chars else CELL_CHARS)
            for column, cell in enumerate(row)
        ]
        for row in rows
    ]
    return table(fitted, widths=widths)


def _is_table(value: Any) -> bool:
    """Lists of records (calibrations, lesions) have tables of their own."""
    return isinstance(value, list) and any(isinstance(item, dict) for item in value)


def _line_plot(
    title: str, series: list[tuple[str, np.ndarray, np.ndarray]], y_label: str
) -> Drawing:
    width, height = PLOT_SIZE
    drawing = Drawing(width, height)
    plot = LinePlot()
    plot.x, plot.y = 14 * mm, 10 * mm
    plot.width, plot.height = width - 20 * mm, height - 18 * mm
    data = []
    for _, x, y in series:
        finite = np.isfinite(x) & np.isfinite(y)
        step = max(1, int(finite.sum()) // 600)
        data.append(list(zip(x[finite][::step].tolist(), y[finite][::step].tolist(), strict=True)))
    plot.data = [points for points in data if points] or [[(0.0, 0.0)]]
    for index in range(len(plot.data)):
        plot.lines[index].strokeColor = TRACE_COLOURS[index % len(TRACE_COLOURS)]
        plot.lines[index].strokeWidth = 0.8
    plot.xValueAxis.labels.fontSize = plot.yValueAxis.labels.fontSize = 6
    drawing.add(plot)
    drawing.add(String(14 * mm, height - 5 * mm, pdf_text(title), fontSize=8))
    legend = "  ".join(name for name, _, _ in series)
    drawing.add(
        String(width - 6 * mm, height - 5 * mm, pdf_text(legend), fontSize=6, textAnchor="end")
    )
    drawing.add(String(2 * mm, 10 * mm, pdf_text(y_label), fontSize=6))
    return drawing


def _map_plot(
    title: str,
    image: np.ndarray,
    unit: str,
    outline: tuple[float, float, float] | None = None,
) -> Flowable:
    """A map in grey levels (black = low, white = high; NaN drawn as mid-blue), with an
    optional red circle ``outline`` = (row, col, radius) in map pixels."""
    values = np.asarray(image, dtype=float)
    low, high = finite_range(values)
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    grey = np.round(np.nan_to_num(scaled, nan=0.0) * 255).astype(np.uint8)
    rgb = np.repeat(grey[..., np.newaxis], 3, axis=2)
    rgb[~np.isfinite(values)] = (90, 120, 200)
    picture_image = PILImage.fromarray(rgb, "RGB")
    if outline is not None:
        zoom = max(1, 256 // max(values.shape))
        picture_image = picture_image.resize(
            (values.shape[1] * zoom, values.shape[0] * zoom), PILImage.Resampling.NEAREST
        )
        row, col, radius = ((v + 0.5) * zoom for v in outline)
        radius -= 0.5 * zoom
        ImageDraw.Draw(picture_image).ellipse(
            (col - radius, row - radius, col + radius, row + radius), outline=(220, 0, 0), width=2
        )
    buffer = io.BytesIO()
    picture_image.save(buffer, format="PNG")
    buffer.seek(0)
    rows, cols = values.shape
    scale = MAP_SIDE_MM * mm / max(rows, cols)
    picture = Image(buffer, width=cols * scale, height=rows * scale)
    legend = [paragraph(title), paragraph(f"black {low:.4g} {unit}, white {high:.4g} {unit}")]
    return Table([[picture, legend]], colWidths=[MAP_SIDE_MM * mm + 6 * mm, 100 * mm])


def _dot_slices(
    name: str, arrays: dict[str, np.ndarray], results: dict[str, Any]
) -> list[Flowable]:
    """HbT (or μa) slices through the strongest lesion, outlined by its equivalent sphere:
    the x–y plane at its depth and the x–z plane through it."""
    key = next((k for k in ("dot_hbt_map", "dot_mua_map") if k in arrays), None)
    if key is None:
        return []
    volume = arrays[key]
    x, y, z = arrays["dot_x_mm"], arrays["dot_y_mm"], arrays["dot_z_mm"]
    lesions = results.get("lesions") or []
    unit = "µM" if key == "dot_hbt_map" else "mm-1"
    label = "HbT" if key == "dot_hbt_map" else "μa"
    if not lesions:
        iz = volume.shape[2] // 2
        return [
            _map_plot(
                f"{name}: {label} at depth {z[iz]:.1f} mm (no lesion)", volume[:, :, iz].T, unit
            )
        ]
    cx, cy, cz = lesions[0]["centroid_mm"]
    ix, iy, iz = (int(np.argmin(np.abs(axis - c))) for axis, c in ((x, cx), (y, cy), (z, cz)))
    radius_mm = (3 * lesions[0]["volume_mm3"] / (4 * np.pi)) ** (1 / 3)
    dx, dz = float(x[1] - x[0]) if x.size > 1 else 1.0, float(z[1] - z[0]) if z.size > 1 else 1.0
    return [
        _map_plot(
            f"{name}: {label} at depth {z[iz]:.1f} mm, lesion 1 outlined",
            volume[:, :, iz].T,
            unit,
            (iy, ix, radius_mm / dx),
        ),
        _map_plot(
            f"{name}: {label} in the x–depth plane at y {y[iy]:.1f} mm",
            volume[:, iy, :].T,
            unit,
            (iz, ix, radius_mm / dz),
        ),
    ]


def _plots(context: RunContext | None) -> list[Flowable]:
    if context is None:
        return []
    plots: list[Flowable] = []
    for step in context.protocol_steps:
        outcome = context.outcomes.get(step.name)
        if outcome is None:
            continue
        arrays = outcome.arrays
        if step.kind == "warm_up" and len(arrays.get("time_s", ())) > 1:
            plots.append(
                _line_plot(
                    f"{step.name}: board temperature",
                    [("board", arrays["time_s"], arrays["board_temperature_c"])],
                    "°C",
                )
            )
        if "ppg_signals" in arrays:
            signals = arrays["ppg_signals"]
            series = [
                (f"{w:g} nm", arrays["ppg_time_s"], signals[:, i] / np.nanmean(signals[:, i]))
                for i, w in enumerate(arrays["ppg_wavelengths_nm"])
            ]
            plots.append(_line_plot(f"{step.name}: PPG traces (relative)", series, "I/Imean"))
        if "spo2_percent" in arrays and arrays["spo2_percent"].ndim == 1:
            plots.append(
                _line_plot(
                    f"{step.name}: SpO2 trend",
                    [("SpO2", arrays["time_s"], arrays["spo2_percent"])],
                    "%",
                )
            )
        if step.kind == "lockin_sweep" and "amplitude_v" in arrays:
            plots.append(
                _line_plot(
                    f"{step.name}: lock-in amplitude vs frequency",
                    [("R", np.log10(arrays["frequency_hz"]), arrays["amplitude_v"])],
                    "V rms vs log10(f / Hz)",
                )
            )
        for key, label in (
            ("sto2_map_percent", "StO2 map"),
            ("spo2_map_percent", "imaging-PPG SpO2 map"),
            ("perfusion_index_map_percent", "perfusion index map"),
        ):
            if key in arrays:
                plots.append(_map_plot(f"{step.name}: {label}", arrays[key], unit_of(key)))
        plots += _dot_slices(step.name, arrays, outcome.results)
        if step.kind == "dark_reference" and "mean_frame_dn" in arrays:
            plots.append(_map_plot(f"{step.name}: mean dark frame", arrays["mean_frame_dn"], "DN"))
    return [item for plot in plots for item in (plot, Spacer(1, 4 * mm))]


def write_report(
    path: str | Path,
    summary: dict[str, Any],
    context: RunContext | None,
    *,
    subject_id: str = "",
) -> Path:
    """Render the run's PDF report at ``path``; ``subject_id`` is printed as typed."""
    path = Path(path)
    protocol = summary["protocol"]
    title = _clipped(
        (context.data.get("report_title") if context is not None else "")
        or f"{protocol['name']} run report",
        200,
    )
    label = f"{protocol['name']} {protocol['version']} — run {summary['run_id'] or 'not started'}"

    def page_furniture(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 10 * mm, pdf_text(label))
        canvas.drawRightString(195 * mm, 10 * mm, f"page {document.page}")
        canvas.restoreState()

    story: list[Flowable] = [
        paragraph(title, "Title"),
        _overview(summary, subject_id),
        *_instrument_table(summary),
        *_calibrations_table(summary),
        *_qc_gates_table(summary),
        heading("Steps and results"),
    ]
    for step in summary["steps"]:
        story += _step_section(step)
    plots = _plots(context)
    if plots:
        story += [heading("Plots"), *plots]
    story.append(paragraph("End of report."))
    document = SimpleDocTemplate(
        str(path), pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, title=pdf_text(title)
    )
    document.build(story, onFirstPage=page_furniture, onLaterPages=page_furniture)
    return path


def _overview(summary: dict[str, Any], subject_id: str) -> Table:
    """Status, protocol, operator, subject, times, software and record of the run."""
    protocol = summary["protocol"]
    status = f"{summary['status']}" + (f" — {summary['error']}" if summary["error"] else "")
    return _fitted_table(
        [
            ["Item", "Value"],
            ["Status", status],
            ["QC passed", "yes" if summary["qc_passed"] else "no"],
            [
                "Protocol",
                f"{protocol['name']} version {protocol['version']} ({protocol['intended_use']})",
            ],
            ["Protocol SHA-256", protocol["sha256"]],
            ["Operator", summary["operator"] or "—"],
            ["Subject", subject_id or "—"],
            ["Started (UTC)", summary["start_time_utc"] or "—"],
            ["Stopped (UTC)", summary["stop_time_utc"] or "—"],
            ["Software", summary["software_version"] or "—"],
            ["Run record", summary["record"] or "none (the instrument did not open)"],
            ["Duration scale", f"{summary['duration_scale']:g}"],
        ],
        widths=[35 * mm, 135 * mm],
    )


def _instrument_table(summary: dict[str, Any]) -> list[Flowable]:
    """Model, serial, firmware and address of each device."""
    rows = [
        [name, d.get("model", ""), d.get("serial", ""), d.get("firmware", ""), d.get("address", "")]
        for name, d in summary["instrument"].items()
    ]
    return [
        heading("Instrument"),
        _fitted_table([["Device", "Model", "Serial", "Firmware", "Address"], *rows]),
    ]


def _calibrations_table(summary: dict[str, Any]) -> list[Flowable]:
    """The calibration records the run used, their states and any override."""
    rows = (
        [["Record", "State", "Due", "Override by", "Reason"]]
        + [
            [c["record"], c["state"], c["due_date"], c["override_by"], c["override_reason"]]
            for c in summary["calibrations"]
        ]
        if summary["calibrations"]
        else [["Record", "State"], ["none", "—"]]
    )
    return [heading("Calibrations used"), _fitted_table(rows)]


def _qc_gates_table(summary: dict[str, Any]) -> list[Flowable]:
    """Each QC gate: figure, value, limits and verdict."""
    if not summary["qc_gates"]:
        return [heading("QC gates"), _fitted_table([["Gate"], ["none in this protocol"]])]
    rows = [
        [
            g["step"],
            g["figure"],
            _value(g["value"]),
            g["unit"],
            _value(g["low"]) if g["low"] is not None else "—",
            _value(g["high"]) if g["high"] is not None else "—",
            ("PASS" if g["passed"] else "FAIL") if g["ran"] else "not run",
            "yes" if g["stops_run"] else "no",
        ]
        for g in summary["qc_gates"]
    ]
    header = ["Gate", "Figure", "Value", "Unit", "Low", "High", "Result", "Stops run"]
    return [heading("QC gates"), _fitted_table([header, *rows])]


def _step_section(step: dict[str, Any]) -> list[Flowable]:
    """One step: its status line, message, figures table and lesions table."""
    flag = step["status"].upper()
    section: list[Flowable] = [
        paragraph(f"{step['index'] + 1}. {step['name']} ({step['kind']}): {flag}")
    ]
    if step["message"]:
        section.append(paragraph(_clipped(step["message"], MAX_PARAGRAPH_CHARS), "Italic"))
    rows = [
        [name, _value(value), unit_of(name)]
        for name, value in step["results"].items()
        if step["kind"] not in ("qc_gate", "report") and not _is_table(value)
    ]
    if rows:
        section.append(
            _fitted_table([["Figure", "Value", "Unit"], *rows], widths=[70 * mm, 70 * mm, 30 * mm])
        )
    lesions = step["results"].get("lesions") or []
    if lesions:
        section += [paragraph("Lesions, strongest first"), _lesions_table(lesions)]
    return section


def _lesions_table(lesions: list[dict[str, Any]]) -> Table:
    """Centroid, volume, peak contrast, HbT and StO2 of each lesion."""
    header = ["#", "Centroid x, y, z (mm)", "Volume (mm3)", "Peak contrast", "HbT (µM)", "StO2 (%)"]
    rows = [
        [
            index + 1,
            _value(lesion["centroid_mm"]),
            _value(lesion["volume_mm3"]),
            _value(lesion["peak_contrast"]),
            _value(lesion.get("hbt_um")),
            _value(lesion.get("sto2_percent")),
        ]
        for index, lesion in enumerate(lesions)
    ]
    return _fitted_table([header, *rows])
