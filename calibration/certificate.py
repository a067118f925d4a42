"""Calibration certificate as a PDF a person can read (ISO/IEC 17025 §7.8, 21 CFR 11.50).

Every page carries the record id, version and page number; the last page ends with an explicit
end-of-certificate line. Signatures show printed name, UTC time and meaning.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import SimpleDocTemplate, Spacer
from reportlab.platypus.flowables import Flowable

from calibration.pdf_blocks import heading, paragraph, pdf_text, table
from calibration.record import DECISION_RULES, RecordContent
from calibration.storage import StoredRecord
from calibration.uncertainty import Result


def _number(value: float | None) -> str:
    return pdf_text("—") if value is None else f"{value:.6g}"


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
    return [heading(f"Results {stage}"), table(rows)]


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
            paragraph(f"Uncertainty budget: {result.name} ({stage})", "Heading4"),
            table(rows),
        ]
    return flowables


def write_certificate(record: StoredRecord, state: str, path: str | Path) -> Path:
    """Render ``record`` (whose current state is ``state``) as a PDF certificate at ``path``."""
    content, header = record.content, record.header
    path = Path(path)
    label = f"Certificate {header.record_id} version {header.version}"

    def page_furniture(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 287 * mm, pdf_text(f"{label} - {content.laboratory.name}"))
        canvas.drawRightString(195 * mm, 10 * mm, f"{label} - page {document.page}")
        canvas.restoreState()

    story: list[Flowable] = [
        paragraph(content.title, "Title"),
        _identification(record, state),
        *_traceability(content),
        *_results_table("as found", content.as_found),
        *_results_table("as left", content.as_left),
        paragraph(
            "Expanded uncertainties U = k·u_c with the coverage factor k shown; for k = 2 the "
            "coverage probability is about 95 % (GUM, JCGM 100:2008)."
        ),
        *_conformity(content),
        heading("Uncertainty budgets"),
        *_budget_tables("as found", content.as_found),
        *_budget_tables("as left", content.as_left),
    ]
    if content.remarks:
        story += [heading("Remarks"), paragraph(content.remarks)]
    story += _closing(record)
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


def _identification(record: StoredRecord, state: str) -> Flowable:
    """The field/value table that identifies certificate, laboratory, item and conditions."""
    content, header = record.content, record.header
    item, environment = content.item, content.environment
    conditions = f"{environment.temperature_c:g} °C"
    if environment.humidity_percent is not None:
        conditions += f", {environment.humidity_percent:g} % RH"
    if environment.notes:
        conditions += f", {environment.notes}"
    return table(
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
            ["Environment", conditions],
            ["Content SHA-256", record.computed_sha256],
        ],
        [45 * mm, 130 * mm],
    )


def _traceability(content: RecordContent) -> list[Flowable]:
    """The reference standards with their certificates."""
    return [
        heading("Metrological traceability: reference standards"),
        table(
            [["Standard", "Serial", "Certificate", "Calibrated by", "Due date"]]
            + [
                [r.name, r.serial, r.certificate_id, r.calibrated_by, r.due_date]
                for r in content.references
            ]
        ),
    ]


def _conformity(content: RecordContent) -> list[Flowable]:
    """Decision rule and verdict per toleranced result (nothing when no tolerance is set)."""
    statements = content.conformity()
    if not statements:
        return []
    header = ["Stage", "Quantity", "Value", "U", "Lower limit", "Upper limit", "Unit", "Verdict"]
    rows = [
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
    return [
        heading("Statement of conformity"),
        paragraph(
            f"Decision rule: {content.decision_rule} — {DECISION_RULES[content.decision_rule]}."
        ),
        table([header, *rows]),
    ]


def _closing(record: StoredRecord) -> list[Flowable]:
    """Signatures, scope statement, reproduction notice and the end-of-certificate line."""
    header = record.header
    return [
        heading("Signatures"),
        table(
            [["Meaning", "Printed name", "User id", "Signed (UTC)"]]
            + [[s.meaning, s.signer_name, s.signer_id, s.signed_utc] for s in record.signatures]
        ),
        Spacer(1, 4 * mm),
        paragraph(header.scope_statement),
        paragraph(
            "This certificate shall not be reproduced except in full. Printed "
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC."
        ),
        paragraph(f"End of certificate {header.record_id} version {header.version}.", "Heading4"),
    ]
