"""Building blocks of our PDF documents: text, paragraphs, headings and tables (reportlab).

Calibration certificates (:mod:`calibration.certificate`) and run reports
(``protocols/report_pdf.py``) use these so that both look the same and both survive the PDF
base fonts, which cover Latin-1 only: :func:`pdf_text` spells out the few other symbols our
units use (⁻, √, η, Δ, σ).

Examples
--------
>>> pdf_text("mm⁻¹")
'mm-¹'
>>> story = [heading("Results"), table([["Quantity", "Value"], ["gain", "0.5"]])]
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib import colors
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, Table, TableStyle

__all__ = ["PDF_TEXT", "TABLE_STYLE", "heading", "paragraph", "pdf_text", "table"]

PDF_TEXT = str.maketrans({"⁻": "-", "√": "sqrt ", "η": "eta", "Δ": "delta ", "σ": "sigma"})
"""Translation of the symbols outside Latin-1 that our names and units use."""
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)
"""8 pt Helvetica, bold header row on a light background, thin grey grid."""

_STYLES = getSampleStyleSheet()


def pdf_text(value: object) -> str:
    """``str(value)`` with the symbols the PDF base fonts lack spelled out (:data:`PDF_TEXT`)."""
    return str(value).translate(PDF_TEXT)


def paragraph(text: str, style: str = "BodyText") -> Paragraph:
    """A paragraph of plain ``text`` (markup characters escaped) in a sample-sheet style.

    Parameters
    ----------
    text : str
        Plain text; ``&`` and ``<`` are shown as typed.
    style : str
        Name in reportlab's sample style sheet: ``BodyText``, ``Title``, ``Heading3``,
        ``Heading4``, ``Italic`` …
    """
    return Paragraph(pdf_text(text).replace("&", "&amp;").replace("<", "&lt;"), _STYLES[style])


def heading(text: str) -> Paragraph:
    """A section heading (``Heading3``)."""
    return paragraph(text, "Heading3")


def table(rows: Sequence[Sequence[object]], widths: Sequence[float] | None = None) -> Table:
    """A table in :data:`TABLE_STYLE`; the first row is the header, repeated on each page.

    Parameters
    ----------
    rows : sequence of sequences
        Cells, row by row; each is shown as :func:`pdf_text` of it.
    widths : sequence of float, optional
        Column widths in points (reportlab units; ``reportlab.lib.units.mm`` converts);
        ``None`` sizes the columns to their content.
    """
    cells = [[pdf_text(cell) for cell in row] for row in rows]
    result = Table(cells, colWidths=None if widths is None else list(widths), repeatRows=1)
    result.setStyle(TABLE_STYLE)
    return result
