"""What a user sees of a view, and which of it is still English (tests of the Chinese interface)."""

from __future__ import annotations

import re

# Words that are the same in Chinese: acronyms, units, product and format names.
SAME_IN_CHINESE = {
    "nirpoct",
    "SpO2",
    "StO2",
    "TOI",
    "HbT",
    "QC",
    "LED",
    "LEDs",
    "DOT",
    "PDF",
    "UTC",
    "DN",
    "PPG",
    "EMVA",
    "SNR",
    "PRNU",
    "DSNU",
    "HL7",
    "FHIR",
    "DICOM",
    "bpm",
    "nm",
    "USER",
    "NAME",
    "ROLE",
    "calib",
    "users",
    "add",
    "name",
    "role",
    "registry",
    "English",
    "IEC",
}


def plot_texts(view) -> list[str]:
    """The titles and axis labels of the plots a pyqtgraph view shows."""
    import pyqtgraph as pg

    texts = []
    for item in view.scene().items():
        if not isinstance(item, pg.PlotItem) or not item.isVisible():
            continue
        if item.titleLabel.isVisible():
            texts.append(item.titleLabel.text)
        for side in ("left", "bottom", "top", "right"):
            axis = item.getAxis(side)
            if axis.isVisible() and axis.label.isVisible():
                texts.append(axis.labelText)
    return texts


def visible_texts(root) -> list[str]:
    """Every text a user sees in ``root``: labels, buttons, group titles, placeholders, tab
    titles, table headers and cells, combo boxes, plot titles and axis labels, menus."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import (
        QAbstractButton,
        QComboBox,
        QGroupBox,
        QLabel,
        QLineEdit,
        QTableWidget,
        QTabWidget,
        QWidget,
    )

    texts = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root) and widget is not root:
            continue
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
        elif isinstance(widget, QGroupBox):
            texts.append(widget.title())
        elif isinstance(widget, QLineEdit):
            texts.append(widget.placeholderText())
        elif isinstance(widget, QComboBox):
            texts.append(widget.currentText())
        elif isinstance(widget, pg.GraphicsView):
            texts += plot_texts(widget)
        elif isinstance(widget, QTabWidget):
            texts += [widget.tabText(i) for i in range(widget.count())]
        elif isinstance(widget, QTableWidget):
            for column in range(widget.columnCount()):
                header = widget.horizontalHeaderItem(column)
                texts.append(header.text() if header is not None else "")
            texts += [
                widget.item(row, column).text()
                for row in range(widget.rowCount())
                for column in range(widget.columnCount())
                if widget.item(row, column) is not None
            ]
    return [text for text in texts if text]


def untranslated(
    texts: list[str], identifiers: set[str], data: set[str] = frozenset()
) -> list[str]:
    """Texts with an English word that is neither an identifier (protocol, step, kind, record,
    user id, figure name, path) nor the same in Chinese; ``data`` are texts shown as entered
    (a calibration record's title and item)."""
    found = []
    for text in texts:
        if text in data:
            continue
        plain = re.sub(r"<[^>]+>", " ", text)
        plain = re.sub(r"(/[\w.@+-]+)+", " ", plain)  # paths
        words = re.findall(r"[A-Za-z][A-Za-z0-9_.@-]*", plain)
        english = [
            word
            for word in words
            if len(word) > 2
            and word not in SAME_IN_CHINESE
            and word.strip(".-") not in identifiers
            and not re.search(r"[0-9_@]", word)
        ]
        if english:
            found.append(text)
    return found
