"""Calibration certificate as a PDF a person can read (ISO/IEC 17025 §7.8, 21 CFR 11.50).

Every page carries the record id, version and page number; the last page ends with an explicit
end-of-certificate line. Signatures show printed name, UTC time and meaning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from calibration.record import DECISION_RULES
from calibration.storage import StoredRecord
from calibration.uncertainty import Result

# The PDF base fonts cover Latin-1 only; spell out the few other symbols our units use.
PDF_TEXT = str.maketrans({"⁻": "-", "√": "sqrt ", "η": "eta", "Δ": "delta ", "σ": "sigma"})
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _text(value: object) -> str:
    return str(value).translate(PDF_TEXT)


def _number(value: float | None) -> str:
    return "—".translate(PDF_TEXT) if value is None else f"{value:.6g}"


def _table(rows: Sequence[Sequence[object]], widths: list[float] | None = None) -> Table:
    table = Table([[_text(cell) for cell in row] for row in rows], colWidths=widths, repeatRows=1)
    table.setStyle(TABLE_STYLE)
    return table


def _results_table(stage: str, results: tuple[Result, ...]) -> list[Flowable]:
    if not results:
        return []
    rows: list[list[object]] = [["Quantity", "Value", "U (expanded)", "k", "Unit"]]
    rows += [
        [
            r.name,
            _number(r.value),
            _number(r.expanded_uncertainty),
            f"{r.coverage_factor:.2f}",
            r.unit,
        ]
        for r in results
    ]
    return [_heading(f"Results {stage}"), _table(rows)]


def _budget_tables(stage: str, results: tuple[Result, ...]) -> list[Flowable]:
    flowables: list[Flowable] = []
    for result in results:
        rows: list[list[object]] = [
            [
                "Input quantity",
                "Estimate",
                "u(x_i)",
                "Unit",
                "c_i",
                "Contribution",
                "Type",
                "Distribution",
                "dof",
            ]
        ]
        rows += [
            [
                c.name,
                _number(c.estimate),
                _number(c.standard_uncertainty),
                c.unit,
                _number(c.sensitivity),
                _number(c.contribution),
                c.evaluation,
                c.distribution,
                "inf" if c.degrees_of_freedom == float("inf") else f"{c.degrees_of_freedom:g}",
            ]
            for c in result.budget.components
        ]
        rows.append(
            [
                "Combined standard uncertainty u_c",
                "",
                _number(result.standard_uncertainty),
                result.unit,
                "",
                "",
                "",
                "",
                "",
            ]
        )
        flowables += [
            _paragraph(f"Uncertainty budget: {result.name} ({stage})", "Heading4"),
            _table(rows),
        ]
    return flowables


_STYLES = getSampleStyleSheet()


def _paragraph(text: str, style: str = "BodyText") -> Paragraph:
    return Paragraph(_text(text).replace("&", "&amp;").replace("<", "&lt;"), _STYLES[style])


def _heading(text: str) -> Paragraph:
    return _paragraph(text, "Heading3")


def write_certificate(record: StoredRecord, state: str, path: str | Path) -> Path:
    """Render ``record`` (whose current state is ``state``) as a PDF certificate at ``path``."""
    content, header = record.content, record.header
    path = Path(path)
    label = f"Certificate {header.record_id} version {header.version}"

    def page_furniture(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 287 * mm, _text(f"{label} - {content.laboratory.name}"))
        canvas.drawRightString(195 * mm, 10 * mm, f"{label} - page {document.page}")
        canvas.restoreState()

    item = content.item
    story: list[Flowable] = [
        _paragraph(content.title, "Title"),
        _table(
            [
                ["Field", "Value"],
                ["Certificate / record id", f"{header.record_id} (version {header.version})"],
                ["Supersedes", header.supersedes or "none"],
                ["State", state],
                ["Laboratory", f"{content.laboratory.name}, {content.laboratory.address}"],
                ["Location of calibration", content.laboratory.location],
                ["Customer", content.customer],
                ["Item", f"{item.instrument} {item.model}, serial {item.serial}, {item.component}"],
                ["Condition of the item", item.condition],
                [
                    "Method",
                    f"{content.method.name}; {content.method.sop_id} "
                    f"version {content.method.sop_version}",
                ],
                ["Software", content.method.software_version],
                ["Date of calibration", content.calibration_date],
                ["Date of issue", header.created_utc[:10]],
                ["Due date", content.due_date.isoformat()],
                [
                    "Environment",
                    f"{content.environment.temperature_c:g} °C"
                    + (
                        f", {content.environment.humidity_percent:g} % RH"
                        if content.environment.humidity_percent is not None
                        else ""
                    )
                    + (f", {content.environment.notes}" if content.environment.notes else ""),
                ],
                ["Content SHA-256", record.computed_sha256],
            ],
            [45 * mm, 130 * mm],
        ),
        _heading("Metrological traceability: reference standards"),
        _table(
            [["Standard", "Serial", "Certificate", "Calibrated by", "Due date"]]
            + [
                [r.name, r.serial, r.certificate_id, r.calibrated_by, r.due_date]
                for r in content.references
            ]
        ),
        *_results_table("as found", content.as_found),
        *_results_table("as left", content.as_left),
        _paragraph(
            "Expanded uncertainties U = k·u_c with the coverage factor k shown; for k = 2 the "
            "coverage probability is about 95 % (GUM, JCGM 100:2008)."
        ),
    ]
    statements = content.conformity()
    if statements:
        story += [
            _heading("Statement of conformity"),
            _paragraph(
                f"Decision rule: {content.decision_rule} — {DECISION_RULES[content.decision_rule]}."
            ),
            _table(
                [
                    [
                        "Stage",
                        "Quantity",
                        "Value",
                        "U",
                        "Lower limit",
                        "Upper limit",
                        "Unit",
                        "Verdict",
                    ]
                ]
                + [
                    [
                        s.stage,
                        s.result,
                        _number(s.value),
                        _number(s.expanded_uncertainty),
                        _number(s.lower),
                        _number(s.upper),
                        s.unit,
                        s.verdict.upper(),
                    ]
                    for s in statements
                ]
            ),
        ]
    story += [
        _heading("Uncertainty budgets"),
        *_budget_tables("as found", content.as_found),
        *_budget_tables("as left", content.as_left),
    ]
    if content.remarks:
        story += [_heading("Remarks"), _paragraph(content.remarks)]
    story += [
        _heading("Signatures"),
        _table(
            [["Meaning", "Printed name", "User id", "Signed (UTC)"]]
            + [[s.meaning, s.signer_name, s.signer_id, s.signed_utc] for s in record.signatures]
        ),
        Spacer(1, 4 * mm),
        _paragraph(header.scope_statement),
        _paragraph(
            "This certificate shall not be reproduced except in full. Printed "
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC."
        ),
        _paragraph(f"End of certificate {header.record_id} version {header.version}.", "Heading4"),
    ]
    document = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        title=label,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
    )
    document.build(story, onFirstPage=page_furniture, onLaterPages=page_furniture)
    return path
