"""Tables of x, y data for the problems that fit a model: validation and CSV parsing.

:func:`check_xy` checks the arrays every data problem is built from; :func:`read_csv` and
:func:`parse_csv` read two numeric columns of a table and report every problem they find as a
:class:`DataError` (an InputError, so a ValueError) with one clear line naming the file, row and column.

This is the problems' own layer: the built-in data sets (:mod:`descentlab.datasets`) and the
catalogue of named problems (:mod:`descentlab.catalogue`) sit above it and import it, never the
other way round.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from descentlab.errors import InputError, InputTypeError


class DataError(InputError):
    """Data that cannot be used, with a message naming the file, row and column at fault."""


@dataclass(frozen=True)
class XYData:
    """Two columns of finite numbers read from a table."""

    x: np.ndarray
    y: np.ndarray
    x_name: str
    y_name: str


def check_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x``, ``y`` as float64 1-D arrays after checking shape, length ≥ 2 and finiteness."""
    try:
        xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputTypeError("x and y must be sequences of numbers") from None
    if xa.ndim != 1 or ya.ndim != 1:
        raise InputError(f"x and y must be 1-D, got shapes {xa.shape} and {ya.shape}")
    if len(xa) != len(ya):
        raise InputError(f"x and y must have the same length, got {len(xa)} and {len(ya)}")
    if len(xa) < 2:
        raise InputError(f"at least 2 examples are needed, got {len(xa)}")
    for name, arr in (("x", xa), ("y", ya)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise InputError(f"{name}[{bad[0]}] is {arr[bad[0]]}; all values must be finite")
    return xa, ya


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def parse_csv(text: str, source: str = "data", x: str | None = None,
              y: str | None = None) -> XYData:
    """Parse CSV text into an :class:`XYData`; ``source`` names it in error messages.

    The first row is a header when any of its non-empty cells is not a number; otherwise the
    columns are named "1", "2", …. Without ``x``/``y`` the first two numeric columns are used (a
    column is numeric when any of its cells is a number; every cell of a used column must then be
    a finite number, or the error names its row and column).
    """
    reader = csv.reader(io.StringIO(text, newline=""))  # newline="": CR-only files parse too
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            cells = [c.strip() for c in cells]
            if any(cells):
                rows.append((reader.line_num, cells))
    except csv.Error as err:
        raise DataError(f"{source}: not valid CSV at line {reader.line_num}: {err}") from None
    if not rows:
        raise DataError(f"{source} is empty")
    first = rows[0][1]
    has_header = any(c != "" and _number(c) is None for c in first)
    names = first if has_header else [str(i + 1) for i in range(len(first))]
    data = rows[1:] if has_header else rows
    if not data:
        raise DataError(f"{source} has a header ({', '.join(names)}) but no data rows")
    for line, cells in data:
        if len(cells) != len(names):
            raise DataError(f"{source} row {line}: {len(cells)} cells, but the header has {len(names)}")

    def column(name: str | None, role: str) -> int | None:
        if name is None:
            return None
        if name not in names:
            raise DataError(f"{source} has no column {name!r} (for {role}); columns are: {', '.join(names)}")
        return names.index(name)

    ix, iy = column(x, "x"), column(y, "y")
    if ix is None or iy is None:
        numeric = [j for j in range(len(names)) if j not in (ix, iy)
                   and any(_number(cells[j]) is not None for _, cells in data)]
        if ix is None:
            ix, numeric = (numeric[0], numeric[1:]) if numeric else (None, numeric)
        if iy is None:
            iy = numeric[0] if numeric else None
        if ix is None or iy is None:
            raise DataError(f"{source} needs two numeric columns for x and y; "
                            f"columns are: {', '.join(names)}")

    if ix == iy:
        raise DataError(f"{source}: x and y are the same column {names[ix]!r}")
    values = np.empty((len(data), 2))
    for r, (line, cells) in enumerate(data):
        for k, j in enumerate((ix, iy)):
            v = _number(cells[j])
            if v is None:
                raise DataError(f"{source} row {line}, column {names[j]!r}: {cells[j]!r} is not a number")
            if not math.isfinite(v):
                raise DataError(f"{source} row {line}, column {names[j]!r}: "
                                f"{cells[j]} is not a finite number")
            values[r, k] = v
    if len(values) < 2:
        raise DataError(f"{source} has {len(values)} data row; at least 2 are needed to fit a line")
    return XYData(values[:, 0], values[:, 1], names[ix], names[iy])


def read_csv(path: str | Path, x: str | None = None, y: str | None = None) -> XYData:
    """Read x, y columns from a CSV file; see :func:`parse_csv` for the rules."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if not p.is_file():
        raise DataError(f"{p}: not a file")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{p}: not a UTF-8 text file") from None
    except OSError as err:
        raise DataError(f"{p}: cannot read ({err.strerror})") from None
    return parse_csv(text, str(p), x, y)
