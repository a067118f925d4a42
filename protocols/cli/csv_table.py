"""Reading measurement tables (CSV with a header row) with errors that name file, line, column."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np


def read_header(path: str | Path) -> list[str]:
    """Column names of a CSV file's header row (empty for an empty file).

    Raises
    ------
    ValueError
        Naming the file that cannot be read.
    """
    try:
        with open(path, newline="") as handle:
            return [name.strip() for name in next(csv.reader(handle), [])]
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None


def read_columns(
    path: str | Path, numeric: tuple[str, ...], text: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """Columns of a CSV file: ``numeric`` ones as float arrays, ``text`` ones as str arrays.

    Raises
    ------
    ValueError
        Naming the file and the missing column, or the line and column of a bad cell.
    """
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    if not rows:
        raise ValueError(f"{path}: empty file; expected a header row")
    header = [name.strip() for name in rows[0]]
    missing = [name for name in (*numeric, *text) if name not in header]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)}; the header is {','.join(header)}"
        )
    columns: dict[str, list[Any]] = {name: [] for name in (*numeric, *text)}
    for line_number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ValueError(
                f"{path}: line {line_number} has {len(row)} cells, expected {len(header)}"
            )
        for name in numeric:
            cell = row[header.index(name)].strip()
            try:
                columns[name].append(float(cell))
            except ValueError:
                raise ValueError(
                    f"{path}: line {line_number}, column {name}: {cell!r} is not a number"
                ) from None
        for name in text:
            columns[name].append(row[header.index(name)].strip())
    if not columns[(numeric or text)[0]]:
        raise ValueError(f"{path}: no data rows")
    return {name: np.asarray(values) for name, values in columns.items()}
