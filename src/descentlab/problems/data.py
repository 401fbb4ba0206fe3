"""Tables of x, y data for the problems that fit a model: validation and CSV parsing.

:func:`check_xy` checks the arrays every data problem is built from; :func:`read_csv` and
:func:`parse_csv` read two numeric columns of a table and report every problem they find as a
:class:`DataError` (an InputError, so a ValueError) with one clear line naming the file, row and column.

Tables are read as spreadsheets write them: the separator is a comma, a semicolon or a tab
(detected, or given), ``#`` comment lines may stand anywhere, numbers may use a decimal comma where
the separator is not a comma (``1,5;38``), and the result says what was read
(:meth:`XYData.describe`: ``data: scores.csv (semicolon-separated, 15 rows): x = hours, y = score``).

This is the problems' own layer: the built-in data sets (:mod:`descentlab.datasets`) and the
catalogue of named problems (:mod:`descentlab.catalogue`) sit above it and import it, never the
other way round.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from descentlab.errors import InputError, InputTypeError

log = logging.getLogger("descentlab.data")
"""Every file :func:`read_csv` reads is described here at INFO level (the command line prints it)."""

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
"""The separators detected, each with its name."""

DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|", "space": " "}
"""Names a delimiter may be given by, besides the character itself."""

SNIFF_ROWS = 500
"""Rows looked at to detect the separator."""


class DataError(InputError):
    """Data that cannot be used, with a message naming the file, row and column at fault."""


@dataclass(frozen=True)
class XYData:
    """Two columns of finite numbers read from a table, and how they were read."""

    x: np.ndarray
    y: np.ndarray
    x_name: str
    y_name: str
    source: str = "data"
    delimiter: str = ","
    decimal_comma: bool = False          # some cell used was written with a decimal comma
    header: str = "row"                  # "row", "numeric" (a header of numbers), "comment" or "none"
    left_out: tuple[str, ...] = ()       # id columns not taken as x or y

    def describe(self) -> str:
        """One line saying what was read: file, separator, rows and the columns used as x and y."""
        how = [_separator_name(self.delimiter)]
        if self.decimal_comma:
            how.append("decimal commas")
        if self.header == "numeric":
            how.append("a first row of numbers read as column names")
        elif self.header == "comment":
            how.append("column names from a # line")
        how.append(f"{len(self.x)} rows")
        line = (f"data: {_plain(self.source)} ({', '.join(how)}): x = {self._column(self.x_name)}, "
                f"y = {self._column(self.y_name)}")
        if self.left_out:
            ids = ", ".join(self._column(n) for n in self.left_out)
            line += f"; not used: {ids} ({'an id column' if len(self.left_out) == 1 else 'id columns'})"
        return line

    def _column(self, name: str) -> str:
        return f"column {name}" if self.header == "none" else (_plain(name) or "the unnamed column")


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


# ---- cells -------------------------------------------------------------------------------------

def _plain(text: str) -> str:
    """``text`` with control and other unprintable characters escaped, fit for a one-line message."""
    return text if text.isprintable() else repr(text)[1:-1]


def _separator_word(delimiter: str) -> str:
    """comma, semicolon, tab, pipe, space, or the character quoted."""
    return SEPARATORS.get(delimiter) or {"|": "pipe", " ": "space"}.get(delimiter) or repr(delimiter)


def _separator_name(delimiter: str) -> str:
    return f"{_separator_word(delimiter)}-separated"


def _number(cell: str, decimal_comma: bool = False) -> float | None:
    """The number in ``cell``, or None; ``decimal_comma`` also reads ``1,5`` as 1.5."""
    try:
        return float(cell)
    except ValueError:
        if decimal_comma and cell.count(",") == 1 and "." not in cell:
            try:
                return float(cell.replace(",", "."))
            except ValueError:
                return None
        return None


_INTEGER = re.compile(r"[+-]?\d+")


def _is_integer_literal(cell: str) -> bool:
    return _INTEGER.fullmatch(cell) is not None


_ID_NAME = re.compile(r"#|id|idx|index|no\.?|nr\.?|num|row|row[ _]?(?:id|no\.?|nr|num|number|index)|obs|"
                      r"record|unnamed: ?\d+|.+[ _.\-]id", re.IGNORECASE)


def _id_like(name: str) -> bool:
    """A column name that says "row number" or "identifier": id, index, #, Unnamed: 0, student_id, userId…"""
    name = name.strip()
    return _ID_NAME.fullmatch(name) is not None or re.fullmatch(r".*[a-z0-9](?:Id|ID)", name) is not None


def parse_delimiter(text: str | None) -> str | None:
    """A delimiter as given by a user: one character, or comma, semicolon, tab (or ``\\t``), pipe,
    space. None means "detect it"."""
    if text is None:
        return None
    value = DELIMITER_NAMES.get(text.strip().lower(), text)
    if len(value) != 1 or value.isalnum() or value in "\"'#.+-\r\n":
        raise InputError(f"delimiter must be one character such as , ; or tab (or: "
                         f"{', '.join(DELIMITER_NAMES)}), got {text!r}")
    return value


# ---- lines, separator, header ------------------------------------------------------------------

def _lines(text: str) -> tuple[list[str], list[tuple[int, str]]]:
    """The physical lines of ``text`` with ``#`` comment lines blanked (so row numbers stay those of
    the file), and the comments as (index, text after the #)."""
    lines, comments = [], []
    for i, line in enumerate(io.StringIO(text, newline="")):
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append((i, stripped[1:].strip()))
            line = line[len(line.rstrip("\r\n")):]  # keep only the line ending
        lines.append(line)
    return lines, comments


def _excel_hint(lines: list[str]) -> str | None:
    """The separator Excel's ``sep=;`` first line names (that line is then blanked), or None."""
    for i, line in enumerate(lines):
        if line.strip():
            match = re.fullmatch(r"sep=(.)", line.strip("\r\n"))
            if match is None or match[1] in "\"'#":
                return None
            lines[i] = line[len(line.rstrip("\r\n")):]
            return match[1]
    return None


def _rows(lines, delimiter: str, source: str, limit: int | None = None) -> list[tuple[int, list[str]]]:
    """The non-blank rows: (line number in the file, stripped cells)."""
    reader = csv.reader(lines, delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            cells = [c.strip() for c in cells]
            if any(cells):
                rows.append((reader.line_num, cells))
                if limit is not None and len(rows) >= limit:
                    break
    except csv.Error as err:
        raise DataError(f"{source}: not valid CSV at line {reader.line_num}: {err}") from None
    return rows


def _sniff(lines: list[str], source: str) -> str:
    """The separator among comma, semicolon and tab that splits the first rows most consistently
    into two or more cells, the most of them numbers; a comma when none does."""
    best, best_key = ",", None
    for rank, delimiter in enumerate(SEPARATORS):
        try:
            rows = _rows(lines, delimiter, source, SNIFF_ROWS)
        except DataError:
            continue
        widths = Counter(len(cells) for _, cells in rows)
        if not widths:
            continue
        width, count = max(widths.items(), key=lambda kv: (kv[1], kv[0]))
        if width < 2:
            continue
        comma = delimiter != ","
        cells = [c for _, row in rows if len(row) == width for c in row]
        numeric = sum(_number(c, comma) is not None for c in cells) / len(cells)
        key = (count / len(rows), numeric, -rank)
        if best_key is None or key > best_key:
            best, best_key = delimiter, key
    return best


def _numeric_header(first: list[str], data: list[tuple[int, list[str]]], comma: bool) -> bool:
    """Whether a first row of numbers is a header (names such as 1990, 2000) because the rest of
    each column says so: every first cell is a whole number, distinct from the others, and in every
    numeric column it lies outside the other values, either far (by more than ten times their range,
    and at least their size) or when they are all written with decimals; at
    least one lies far out. A sorted column's first value just below the others is data."""
    if len(data) < 2 or not all(_is_integer_literal(c) for c in first) or len(set(first)) != len(first):
        return False
    votes, far_out = [], False
    for j, cell in enumerate(first):
        rest = [_number(cells[j], comma) for _, cells in data]
        if any(v is None or not math.isfinite(v) for v in rest):
            continue  # not a numeric column: no say
        v, lo, hi = float(cell), min(rest), max(rest)
        scale = 10 * max(hi - lo, 0.1 * max(abs(lo), abs(hi)))
        far = v < lo - scale or v > hi + scale
        decimals = not any(_is_integer_literal(cells[j]) for _, cells in data)
        votes.append(far or (decimals and not lo <= v <= hi))
        far_out |= far
    return bool(votes) and all(votes) and far_out


def _comment_names(comments: list[tuple[int, str]], row_index: int, width: int, delimiter: str,
                   comma: bool) -> list[str] | None:
    """Column names from a ``#`` line right above the first row (as ``numpy.savetxt(header=…)``
    writes them), when it holds one name per column: distinct words without spaces, none a number.
    A comment in prose (``# survey, 2024``) names nothing."""
    above = [text for i, text in comments if i == row_index - 1]
    if not above:
        return None
    try:
        names = [c.strip() for c in next(csv.reader([above[0]], delimiter=delimiter), [])]
    except csv.Error:
        return None
    if len(names) != width or len(set(names)) != width or \
            not all(n and not any(c.isspace() for c in n) and _number(n, comma) is None for n in names):
        return None
    return names


# ---- the table ---------------------------------------------------------------------------------

def parse_csv(text: str, source: str = "data", x: str | None = None, y: str | None = None,
              delimiter: str | None = None) -> XYData:
    """Parse CSV text into an :class:`XYData`; ``source`` names it in error messages.

    * Separator: ``delimiter`` (see :func:`parse_delimiter`), or the one a first line ``sep=;``
      names (as Excel writes it), or the one of comma, semicolon and tab that splits the first
      rows most consistently (:attr:`XYData.delimiter` says which).
    * Lines whose first non-blank character is ``#`` are comments, before or within the data;
      blank lines are skipped; row numbers in messages are the file's line numbers.
    * With a separator other than a comma, ``1,5`` is 1.5 (a decimal comma).
    * The first row is a header when any of its cells is not a number, or when it is a row of
      whole numbers that the first rows below mark as names (``1990,2000`` over the data; see
      :func:`_numeric_header`); otherwise the columns are named "1", "2", … (or by a ``#`` line
      right above the data, when it names every column).
    * Without ``x``/``y`` the first two numeric columns are used (a column is numeric when any of
      its cells is a number), leaving out id columns — whole numbers, all different, named like an
      id or index (``id``, ``index``, ``#``, ``student_id``…), or unnamed and counting 0…N−1 or
      1…N — while two others remain. Every cell of a used column must be a finite number, or the
      error names its row and column.

    A table of numbers only is read by numpy's parser; anything else (quotes, text columns, a
    cell to report) by the csv module, with the same result.
    """
    where = _plain(source)
    lines, comments = _lines(text.removeprefix("\ufeff"))
    hinted = _excel_hint(lines)
    if delimiter is not None:
        delimiter = parse_delimiter(delimiter)
    else:
        delimiter = hinted or _sniff(lines, where)
    comma = delimiter != ","
    head = _rows(lines, delimiter, where, SNIFF_ROWS)
    if not head:
        raise DataError(f"{where} is empty")
    first_line, first = head[0]
    header = "row" if any(c != "" and _number(c, comma) is None for c in first) else "none"
    if header == "none" and _numeric_header(first, head[1:], comma):
        header = "numeric"
    names = first if header != "none" else _comment_names(comments, first_line - 1, len(first), delimiter,
                                                           comma)
    if header == "none" and names is not None:
        header = "comment"
    names = names or [str(i + 1) for i in range(len(first))]
    shown = ", ".join(_plain(n) for n in names)
    skip = 1 if header in ("row", "numeric") else 0

    table = _fast_table(lines, first_line - 1 + skip, delimiter, len(names)) if FAST_PATH else None
    if table is not None:
        values, used_comma = table
        numeric = list(range(len(names)))

        def column(j: int) -> np.ndarray:
            return values[:, j]

        def whole(j: int) -> np.ndarray | None:
            return values[:, j]
    else:
        rows = _rows(lines, delimiter, where)
        data = rows[skip:]
        if not data:
            raise DataError(f"{where} has a header ({shown}) but no data rows")
        for line, cells in data:
            if len(cells) != len(names):
                raise DataError(f"{where} row {line}: {len(cells)} cells, but the header has {len(names)}")
        numeric = [j for j in range(len(names))
                   if any(_number(cells[j], comma) is not None for _, cells in data)]
        used_comma = False

        def column(j: int) -> np.ndarray:
            nonlocal used_comma
            out = np.empty(len(data))
            for r, (line, cells) in enumerate(data):
                cell = cells[j]
                v = _number(cell, comma)
                if v is None:
                    raise DataError(f"{where} row {line}, column {names[j]!r}: {cell!r} is not a number")
                if not math.isfinite(v):
                    raise DataError(f"{where} row {line}, column {names[j]!r}: "
                                    f"{_plain(cell)} is not a finite number")
                used_comma |= comma and "," in cell
                out[r] = v
            return out

        def whole(j: int) -> np.ndarray | None:
            numbers = [_number(cells[j], comma) for _, cells in data]
            return None if any(v is None for v in numbers) else np.array(numbers)

    ix, iy, left_out = _choose(names, x, y, numeric, whole, header != "none", where, shown, delimiter)
    xs, ys = column(ix), column(iy)
    if len(xs) < 2:
        raise DataError(f"{where} has {len(xs)} data row; at least 2 are needed to fit a line")
    return XYData(xs, ys, names[ix], names[iy], source=source, delimiter=delimiter, decimal_comma=used_comma,
                  header=header, left_out=tuple(names[j] for j in left_out))


FAST_PATH = True
"""Read tables of numbers only with numpy's parser (the tests turn it off to compare both ways)."""


def _fast_table(lines: list[str], start: int, delimiter: str, width: int) -> tuple[np.ndarray, bool] | None:
    """The data rows ``lines[start:]`` as a (N, width) array of finite numbers, read by numpy, and
    whether a decimal comma was read; None when they are anything else (then the csv module reads
    them and names the cell at fault)."""
    if delimiter not in ",;\t|":
        return None
    body = "\n".join(line.rstrip("\r\n") if line.strip() else "" for line in lines[start:])
    if '"' in body or "'" in body:
        return None
    decimal_comma = delimiter != "," and "," in body
    if decimal_comma:
        body = body.replace(",", ".")  # "1,5" → 1.5, as _number reads it; anything odd fails below
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty body warns; it is reported by the csv path
            values = np.loadtxt(io.StringIO(body), delimiter=delimiter, ndmin=2, dtype=np.float64,
                                comments=None)
    except ValueError:
        return None
    if values.shape[1:] != (width,) or len(values) < 2 or not np.all(np.isfinite(values)):
        return None
    return values, decimal_comma


def _choose(names: list[str], x: str | None, y: str | None, numeric: list[int], whole, named: bool,
            where: str, shown: str, delimiter: str) -> tuple[int, int, list[int]]:
    """The columns of x and y (given, or the first two numeric ones that are not id columns while
    two others remain) and the id columns passed over."""
    def given(name: str | None, role: str) -> int | None:
        if name is None:
            return None
        if name not in names:
            raise DataError(f"{where} has no column {name!r} (for {role}); columns are: {shown}")
        return names.index(name)

    ix, iy = given(x, "x"), given(y, "y")
    left_out: list[int] = []
    if ix is None or iy is None:
        free = [j for j in numeric if j not in (ix, iy)]
        ids = [j for j in free if _is_id_column(names[j], whole(j), named)]
        need = (ix is None) + (iy is None)
        if ids and len(free) - len(ids) >= need:
            left_out = [j for j in ids if j in free[:need]]  # the ones that would have been taken
            free = [j for j in free if j not in ids]
        if ix is None:
            ix, free = (free[0], free[1:]) if free else (None, free)
        if iy is None:
            iy = free[0] if free else None
        if ix is None or iy is None:
            word = _separator_word(delimiter)
            hint = "" if len(names) > 1 else f" (split at the {word}, every row is one cell)"
            raise DataError(f"{where} needs two numeric columns for x and y; columns are: {shown}{hint}")
    if ix == iy:
        raise DataError(f"{where}: x and y are the same column {names[ix]!r}")
    return ix, iy, left_out


def _is_id_column(name: str, values: np.ndarray | None, named: bool) -> bool:
    """Whole numbers, all different, in a column named like an id (or unnamed, and counting
    0…N−1 or 1…N: the index column pandas writes, or a headerless file's row numbers)."""
    if values is None or not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return False
    if len(np.unique(values)) != len(values):
        return False
    if named and name.strip() != "":
        return _id_like(name)
    n = len(values)
    return bool(np.array_equal(values, np.arange(n)) or np.array_equal(values, np.arange(1, n + 1)))


def read_csv(path: str | Path, x: str | None = None, y: str | None = None,
             delimiter: str | None = None) -> XYData:
    """Read x, y columns from a CSV file; see :func:`parse_csv` for the rules. What was read is
    described (:meth:`XYData.describe`) on the ``descentlab.data`` logger."""
    p = Path(path)
    where = _plain(str(p))
    if not p.exists():
        raise DataError(f"{where}: no such file")
    if not p.is_file():
        raise DataError(f"{where}: not a file")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{where}: not a UTF-8 text file") from None
    except OSError as err:
        raise DataError(f"{where}: cannot read ({err.strerror})") from None
    table = parse_csv(text, str(p), x, y, delimiter)
    log.info(table.describe())
    return table
