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
import logging
import math
import re
import warnings
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from descentlab.errors import MESSAGE_LIMIT, InputError, InputTypeError, one_line
from descentlab.paths import read_text

log = logging.getLogger("descentlab.data")
"""Every file :func:`read_csv` reads is described here at INFO level (the command line prints it)."""

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
"""The separators detected, each with its name."""

DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|", "space": " "}
"""Names a delimiter may be given by, besides the character itself."""

SNIFF_ROWS = 500
"""Rows looked at to detect the separator."""

SNIFF_CELLS = 20_000
"""Cells of those rows whose share of numbers is counted (a table of a million columns is not)."""

MAX_CSV_BYTES = 100_000_000
"""The largest CSV file (or text) read, in bytes: 100 MB, some 3 to 10 million rows of two numbers.
Every step of a full-batch method and every point of a loss grid goes through all the rows, so a
larger table would make a figure take hours long before memory ran out; reading one this size
takes about a second and at most ~3× its size in memory. The size is checked before reading."""

MAX_MAGNITUDE = 1e100
"""The largest |value| accepted in data: the losses, gradients and curvatures computed from the
data square and sum the values (up to 10⁷ of them), and must stay far from float64's 1.8e308."""


class DataError(InputError):
    """Data that cannot be used, with a message naming the file, row and column at fault; the
    message is one line of at most :data:`~descentlab.errors.MESSAGE_LIMIT` characters, control
    characters escaped (a backstop: its parts are shortened where they are written)."""

    def __init__(self, message: str):
        super().__init__(one_line(message, MESSAGE_LIMIT))


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
    columns: tuple[str, ...] = ()        # the numeric columns, in the file's order: what x and y may name

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


def check_xy(x, y, labels: tuple[str, str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x``, ``y`` as float64 1-D arrays after checking shape, length ≥ 2, finiteness and
    size (at most :data:`MAX_MAGNITUDE`); ``labels`` (the columns' names) are named in errors."""
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
    for k, (name, arr) in enumerate((("x", xa), ("y", ya))):
        column = "" if labels is None else f" (column {_quoted(str(labels[k]))})"
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise InputError(f"{name}[{bad[0]}]{column} is {arr[bad[0]]}; all values must be finite")
        big = np.flatnonzero(np.abs(arr) > MAX_MAGNITUDE)
        if big.size:
            raise InputError(f"{name}[{big[0]}]{column} is {arr[big[0]]:.6g}; {_MAGNITUDE_RULE}")
    return xa, ya


_MAGNITUDE_RULE = (f"values up to {MAX_MAGNITUDE:.0e} in size are accepted, so that the sums of squares "
                   "of the loss stay finite")


# ---- cells -------------------------------------------------------------------------------------

def _plain(text: str, limit: int = 160) -> str:
    """``text`` with control and other unprintable characters escaped and the middle of a long
    one cut out (:func:`~descentlab.errors.one_line`), fit for a one-line message."""
    return one_line(text if text.isprintable() else repr(text)[1:-1], limit)


def _quoted(text: str, limit: int = 60) -> str:
    """``repr(text)``, the end of a long text cut off: a cell or a name quoted in a message."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _names(names: list[str], limit: int = 12) -> str:
    """The first ``limit`` column names, and how many there are when that is not all of them."""
    shown = ", ".join(_plain(n, 40) for n in names[:limit])
    return shown if len(names) <= limit else f"{shown}, … ({len(names):,} columns)"


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

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
"""One physical line with its ending (\\n, \\r\\n or a lone \\r, as ``newline=""`` splits)."""

HEAD_ROWS = 2 * SNIFF_ROWS + 2
"""Non-blank lines kept in memory as lines, to detect the separator and the header; the rest of
the text is read line by line, never split into a list."""


def _blank_comment(line: str) -> str:
    """A ``#`` comment line as its line ending alone (the row numbers stay those of the file)."""
    return line[len(line.rstrip("\r\n")):] if line.lstrip().startswith("#") else line


def _head(text: str, start: int) -> tuple[list[str], list[tuple[int, str]], list[int]]:
    """The first lines of ``text`` from ``start`` (up to :data:`HEAD_ROWS` non-blank ones), with
    ``#`` comment lines blanked, the comments as (index, text after the #), and the offset in
    ``text`` where each line begins, then where the rest begins."""
    lines, comments, offsets, filled = [], [], [start], 0
    for match in _LINE.finditer(text, start):
        line = match.group()
        offsets.append(match.end())
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append((len(lines), stripped[1:].strip()))
            line = _blank_comment(line)
        elif stripped:
            filled += 1
        lines.append(line)
        if filled >= HEAD_ROWS:
            break
    return lines, comments, offsets


def _all_lines(head: list[str], text: str, rest: int):
    """Every line of the text: the head as given, then the rest, comments blanked, one at a time."""
    yield from head
    for match in _LINE.finditer(text, rest):
        yield _blank_comment(match.group())


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
    into two or more cells, the most of them numbers (among the first :data:`SNIFF_CELLS`); a
    comma when none does."""
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
        cells = [c for _, row in rows if len(row) == width for c in row][:SNIFF_CELLS]
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
      1…N — while two others remain. Every cell of a used column must be a finite number of size
      at most :data:`MAX_MAGNITUDE`, or the error names its row and column.
    * At most :data:`MAX_CSV_BYTES` characters.

    A table of numbers only is read by numpy's parser; anything else (quotes, text columns, a
    cell to report) by the csv module, with the same result. Either way the text is read line by
    line into one array of numbers (8 bytes a cell), never into a list of rows: memory stays
    within a small multiple of the text's size.
    """
    where = _plain(source)
    if len(text) > MAX_CSV_BYTES:
        raise DataError(f"{where} is {len(text):,} characters long; at most {MAX_CSV_BYTES:,} are read "
                        "(descentlab.problems.data.MAX_CSV_BYTES)")
    lines, comments, offsets = _head(text, 1 if text.startswith("\ufeff") else 0)
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
    skip = 1 if header in ("row", "numeric") else 0
    del head

    table = None
    if FAST_PATH:
        table = _fast_table(text, offsets[first_line - 1 + skip], delimiter, len(names))
    if table is not None:
        values, used_comma = table
        numeric = list(range(len(names)))
        problems: list = [None] * len(names)

        def whole(j: int) -> np.ndarray | None:
            return values[:, j]
    else:
        cells = _read_cells(_all_lines(lines, text, offsets[-1]), delimiter, where, names, skip)
        values, problems, text_seen, commas = cells.values, cells.problems, cells.text_seen, cells.commas
        numeric = [j for j in range(len(names)) if cells.any_number[j]]

        def whole(j: int) -> np.ndarray | None:
            return None if text_seen[j] else values[:, j]

    ix, iy, left_out = _choose(names, x, y, numeric, whole, header != "none", where, delimiter)
    for j in (ix, iy):
        if problems[j] is not None:
            line, cell, is_number = problems[j]
            if not is_number:
                raise DataError(f"{where} row {line}, column {_quoted(names[j])}: {_quoted(cell)} "
                                "is not a number")
            raise DataError(f"{where} row {line}, column {_quoted(names[j])}: "
                            f"{_plain(cell, 60)} is not a finite number")
    if table is None:
        used_comma = commas[ix] or commas[iy]
    xs, ys = values[:, ix], values[:, iy]
    if len(xs) < 2:
        raise DataError(f"{where} has {len(xs)} data row; at least 2 are needed to fit a line")
    return XYData(np.array(xs), np.array(ys), names[ix], names[iy], source=source, delimiter=delimiter,
                  decimal_comma=used_comma, header=header, left_out=tuple(names[j] for j in left_out),
                  columns=tuple(dict.fromkeys(names[j] for j in numeric)))


FAST_PATH = True
"""Read tables of numbers only with numpy's parser (the tests turn it off to compare both ways)."""


_BLOCK = 1 << 20
"""Characters of text the fast path hands numpy's parser at a time (cut at a line end)."""


def _fast_table(text: str, start: int, delimiter: str, width: int) -> tuple[np.ndarray, bool] | None:
    """The data rows of ``text`` from the offset ``start`` as a (N, width) array of finite
    numbers, read by numpy, and whether a decimal comma was read; None when they are anything
    else (then the csv module reads them and names the cell at fault).

    The text is read a block of lines at a time: a block without comments, carriage returns or
    blank lines of spaces goes to numpy whole, once its separators are counted (numpy checks that
    every row has as many cells as the first); any other block line by line."""
    if delimiter not in ",;\t|":
        return None
    decimal_comma, found_comma = delimiter != ",", False
    blocks, rows = [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty body warns; it is reported by the csv path
        while start < len(text):
            end = text.find("\n", start + _BLOCK)
            end = len(text) if end < 0 else end + 1
            block = text[start:end]
            start = end
            if '"' in block or "'" in block:
                return None
            if "#" in block or "\r" in block:
                lines = _numbers_only(block, delimiter, width)
            else:
                lines = block.split("\n")
                filled = len(lines) - lines.count("")
                if block.count(delimiter) != (width - 1) * filled:
                    lines = _numbers_only(block, delimiter, width)
            if lines is None:
                return None
            if decimal_comma and "," in block and any("," in line for line in lines):
                found_comma = True
                lines = [line.replace(",", ".") for line in lines]  # "1,5" → 1.5, as _number reads it
            try:
                values = np.loadtxt(lines, delimiter=delimiter, ndmin=2, dtype=np.float64, comments=None)
            except ValueError:
                return None
            if values.size == 0:
                continue
            if values.shape[1:] != (width,) or not np.all(np.isfinite(values)):
                return None
            blocks.append(values)
            rows += len(values)
    if rows < 2:
        return None
    return (blocks[0] if len(blocks) == 1 else np.concatenate(blocks)), found_comma


def _numbers_only(block: str, delimiter: str, width: int) -> list[str] | None:
    """The lines of ``block`` that hold data (comments and blank lines left out, line ends cut),
    or None when one of them has a separator too many or too few."""
    out = []
    for match in _LINE.finditer(block):
        line = _blank_comment(match.group())
        if not line.strip():
            continue
        line = line.rstrip("\r\n")
        if line.count(delimiter) != width - 1:
            return None
        out.append(line)
    return out


class _Cells(NamedTuple):
    """What :func:`_read_cells` found; the lists have one entry a column."""

    values: np.ndarray          # (rows, columns); NaN where a cell is not a number
    problems: list              # the first cell that is not a finite number: (line, cell, is it a number)
    text_seen: list[bool]       # some cell is not a number
    any_number: list[bool]      # some cell is a number
    commas: list[bool]          # some number was written with a decimal comma


def _read_cells(lines, delimiter: str, where: str, names: list[str], skip: int) -> _Cells:
    """Every data row, read by the csv module one at a time into one (N, width) array of numbers
    (NaN for a cell that is not a number), with, for each column: the first cell that is not a
    finite number (line, cell, whether it is a number at all), whether any cell is text, whether
    any is a number, whether any used a decimal comma."""
    width, comma = len(names), delimiter != ","
    values = array("d")
    problems: list = [None] * width
    text_seen, any_number, commas = [False] * width, [False] * width, [False] * width
    ragged: tuple[int, int] | None = None
    rows = 0
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        for raw in reader:
            cells = [c.strip() for c in raw]
            if not any(cells):
                continue
            rows += 1
            if rows <= skip:
                continue
            line = reader.line_num
            if len(cells) != width:
                ragged = ragged or (line, len(cells))
            if ragged:
                continue  # reported once every row has been read (a CSV error comes first)
            for j, cell in enumerate(cells):
                v = _number(cell, comma)
                if v is None:
                    text_seen[j] = True
                    values.append(math.nan)
                    if problems[j] is None:
                        problems[j] = (line, cell[:200], False)
                    continue
                any_number[j] = True
                if problems[j] is None and not math.isfinite(v):
                    problems[j] = (line, cell[:200], True)
                commas[j] |= comma and "," in cell
                values.append(v)
    except csv.Error as err:
        raise DataError(f"{where}: not valid CSV at line {reader.line_num}: {err}") from None
    if rows <= skip:
        raise DataError(f"{where} has a header ({_names(names)}) but no data rows")
    if ragged:
        raise DataError(f"{where} row {ragged[0]}: {ragged[1]} cells, but the header has {width}")
    table = np.frombuffer(values, dtype=np.float64).reshape(-1, width) if width else np.empty((0, 0))
    return _Cells(table, problems, text_seen, any_number, commas)


def _choose(names: list[str], x: str | None, y: str | None, numeric: list[int], whole, named: bool,
            where: str, delimiter: str) -> tuple[int, int, list[int]]:
    """The columns of x and y (given, or the first two numeric ones that are not id columns while
    two others remain) and the id columns passed over. Columns are looked at in order only until
    two that are not ids are found (a table of a million columns is not searched through)."""
    def given(name: str | None, role: str) -> int | None:
        if name is None:
            return None
        try:
            return names.index(name)
        except ValueError:
            raise DataError(f"{where} has no column {_quoted(name)} (for {role}); columns are: "
                            f"{_names(names)}") from None

    ix, iy = given(x, "x"), given(y, "y")
    left_out: list[int] = []
    if ix is None or iy is None:
        free = [j for j in numeric if j not in (ix, iy)]
        need = (ix is None) + (iy is None)
        ids, others = [], []
        for j in free:
            if len(others) >= need:
                break
            (ids if _is_id_column(names[j], whole, j, named) else others).append(j)
        if ids and len(others) >= need:
            left_out = [j for j in ids if j in free[:need]]  # the ones that would have been taken
            free = others
        if ix is None:
            ix, free = (free[0], free[1:]) if free else (None, free)
        if iy is None:
            iy = free[0] if free else None
        if ix is None or iy is None:
            word = _separator_word(delimiter)
            hint = "" if len(names) > 1 else f" (split at the {word}, every row is one cell)"
            raise DataError(f"{where} needs two numeric columns for x and y; columns are: "
                            f"{_names(names)}{hint}")
    if ix == iy:
        raise DataError(f"{where}: x and y are the same column {_quoted(names[ix])}")
    return ix, iy, left_out


def _is_id_column(name: str, whole, j: int, named: bool) -> bool:
    """Whole numbers, all different, in a column named like an id (or unnamed, and counting
    0…N−1 or 1…N: the index column pandas writes, or a headerless file's row numbers).
    ``whole(j)`` gives the column's numbers (None when some cell is not one); the name is
    looked at first."""
    if named and name.strip() != "" and not _id_like(name):
        return False
    values = whole(j)
    if values is None or not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return False
    if len(np.unique(values)) != len(values):
        return False
    if named and name.strip() != "":
        return True
    n = len(values)
    return bool(np.array_equal(values, np.arange(n)) or np.array_equal(values, np.arange(1, n + 1)))


_LIMIT_NOTE = (f"CSV files of at most {MAX_CSV_BYTES / 1e6:,.0f} MB are read "
               "(descentlab.problems.data.MAX_CSV_BYTES)")


def read_csv(path: str | Path, x: str | None = None, y: str | None = None,
             delimiter: str | None = None) -> XYData:
    """Read x, y columns from a CSV file; see :func:`parse_csv` for the rules. What was read is
    described (:meth:`XYData.describe`) on the ``descentlab.data`` logger.

    Only a regular file of at most :data:`MAX_CSV_BYTES` is read (checked before reading); the
    bytes are decoded once and dropped, so memory stays within about 3× the file's size for a
    table of numbers in ASCII."""
    p = Path(path)
    where = _plain(str(p))
    try:
        text = read_text(p, where, MAX_CSV_BYTES, _LIMIT_NOTE)
    except InputError as err:
        raise DataError(f"{err}{'; give a CSV file' if 'not a file but' in str(err) else ''}") from None
    table = parse_csv(text, str(p), x, y, delimiter)
    log.info(table.describe())
    return table
