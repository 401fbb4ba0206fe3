r"""The data a network is trained on: a built-in set by name, or your CSV file.

:func:`load_data` turns a ``--data`` spec into a :class:`Data` — inputs ``x`` (N, D), targets
``y``, and whether the task is regression or classification:

* ``digits`` — scikit-learn's bundled 8×8 handwritten digits (1,797 images, no download): the
  64 pixels scaled from 0..16 to [0, 1], the digit 0..9 as the class. Classification.
* ``moons`` — scikit-learn's two interleaving half-moons, 200 points generated with a fixed seed
  (``make_moons(200, noise=0.2, random_state=0)``): a 2-D classification whose decision regions
  Figure 6.1's panel (a) can draw.
* anything else is a CSV path. It is read as :mod:`descentlab.problems.data` reads tables (comma,
  semicolon or tab detected; ``#`` comments; decimal commas; a header row or none; at most
  :data:`~descentlab.problems.data.MAX_CSV_BYTES`; a regular file only): the **last numeric
  column is the target and the other numeric columns are the inputs**. Columns without a single
  number (text) are left out, and so are id columns (whole numbers, all different, named like an
  id, or unnamed and counting the rows) while two others remain. Every cell of a used column must
  be a finite number of size at most :data:`~descentlab.problems.data.MAX_MAGNITUDE`; an error
  names the file, the row and the column. A 1-D regression file ``x,y`` is the simplest case.

**Task of a CSV** (:func:`detect_task`, unless ``task=`` says): *classification* when there are
at least two inputs and the target's values are whole numbers that are exactly the labels
0, 1, …, K−1 of 2 ≤ K ≤ :data:`MAX_CLASSES` classes; otherwise *regression*. One input is always
regression by default (a curve ``x, y`` whose y happen to be integers is still a curve); pass
``task="classification"`` to train a classifier on it.

Targets come in the shapes PyTorch's losses take: classification ``y`` is (N,) int64 class
indices (for ``torch.nn.CrossEntropyLoss``), regression ``y`` is (N, 1) in ``dtype`` (for
``torch.nn.MSELoss`` against a model whose last layer is ``Linear(…, 1)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from descentlab.errors import InputError, one_line
from descentlab.paths import read_text, size_text
from descentlab.problems import data as tables
from descentlab.problems.data import MAX_CSV_BYTES, MAX_MAGNITUDE, DataError

TASKS = ("regression", "classification")
MAX_CLASSES = 20
"""The most classes a CSV target is read as class labels by default (:func:`detect_task`)."""
MOONS_SIZE, MOONS_NOISE, MOONS_SEED = 200, 0.2, 0
BUILTIN = ("digits", "moons")
"""The data sets known by name."""


@dataclass(frozen=True, eq=False)
class Data:
    """Inputs and targets of a network's training set.

    Attributes:
        x: (N, D) inputs in the requested floating dtype.
        y: (N,) int64 class indices (classification) or (N, 1) targets in x's dtype (regression).
        task: ``"regression"`` or ``"classification"``.
        name: what the data is called in titles (``digits``, the CSV's file name).
        inputs: the D input columns' names.
        target: the target column's name.
        classes: K for classification (labels 0..K−1), None for regression.
        note: how the data was read, in one line (:meth:`describe`).
    """

    x: torch.Tensor
    y: torch.Tensor
    task: str
    name: str
    inputs: list[str]
    target: str
    classes: int | None = None
    note: str = field(default="")

    @property
    def n_examples(self) -> int:
        return int(self.x.shape[0])

    def describe(self) -> str:
        """One line: the data, its size, inputs, target and task (and how a CSV was read)."""
        more = f", … ({len(self.inputs)} inputs)" if len(self.inputs) > 6 else ""
        ins = one_line(", ".join(self.inputs[:6]) + more, 200)
        task = self.task if self.classes is None else f"{self.task} of {self.classes} classes"
        head = (f"data: {one_line(self.name, 120)} ({self.n_examples:,} examples): inputs {ins}; "
                f"target {one_line(self.target, 60)}; {task}")
        return head + (f" ({self.note})" if self.note else "")


# ---- the task ----------------------------------------------------------------------------------

def class_count(target: np.ndarray) -> int | None:
    """K when the values are whole numbers forming exactly the labels 0..K−1 (K ≥ 2), else None."""
    t = np.asarray(target, dtype=np.float64)
    if t.size == 0 or not np.all(np.isfinite(t)) or not np.all(t == np.round(t)):
        return None
    labels = np.unique(t)
    k = int(labels.size)
    if k < 2 or labels[0] != 0 or labels[-1] != k - 1:
        return None
    return k


def detect_task(target: np.ndarray, n_inputs: int) -> str:
    """The task of a CSV by the module's rule: ``"classification"`` when ``n_inputs`` ≥ 2 and the
    target is the labels 0..K−1 of 2 ≤ K ≤ :data:`MAX_CLASSES` classes, else ``"regression"``."""
    k = class_count(target)
    return "classification" if n_inputs >= 2 and k is not None and k <= MAX_CLASSES else "regression"


# ---- built-in data -----------------------------------------------------------------------------

def _digits() -> tuple[np.ndarray, np.ndarray, list[str], str, str]:
    from sklearn.datasets import load_digits

    d = load_digits()
    names = [f"pixel {i // 8},{i % 8}" for i in range(64)]
    return d.data / 16.0, d.target.astype(np.int64), names, "digit", "scikit-learn's bundled 8×8 digits"


def _moons() -> tuple[np.ndarray, np.ndarray, list[str], str, str]:
    from sklearn.datasets import make_moons

    x, y = make_moons(MOONS_SIZE, noise=MOONS_NOISE, random_state=MOONS_SEED)
    return x, y.astype(np.int64), ["x1", "x2"], "moon", \
        f"scikit-learn's make_moons({MOONS_SIZE}, noise={MOONS_NOISE}, random_state={MOONS_SEED})"


# ---- CSV ---------------------------------------------------------------------------------------

def read_table(path: str | Path) -> tuple[np.ndarray, list[str], str]:
    """The numeric columns of a CSV file used for training: ``(values (N, D+1), names, note)``,
    the target last. The file is read as :func:`descentlab.problems.data.read_csv` reads one (the
    same separator detection, header rules, size limit and messages); see the module docstring for
    which columns are used."""
    p = Path(path)
    where = tables._plain(str(p))
    try:
        text = read_text(p, where, MAX_CSV_BYTES, f"CSV files of at most {size_text(MAX_CSV_BYTES)} are read "
                         "(descentlab.problems.data.MAX_CSV_BYTES)")
    except InputError as err:
        hint = "; give a CSV file" if "not a file but" in str(err) else ""
        raise DataError(f"--data {err}{hint}") from None
    return _parse(text, where)


def _parse(text: str, where: str) -> tuple[np.ndarray, list[str], str]:
    """:func:`descentlab.problems.data.parse_csv`'s reading, keeping every numeric column."""
    lines, comments, offsets = tables._head(text, 1 if text.startswith("\ufeff") else 0)
    delimiter = tables._excel_hint(lines) or tables._sniff(lines, where)
    comma = delimiter != ","
    head = tables._rows(lines, delimiter, where, tables.SNIFF_ROWS)
    if not head:
        raise DataError(f"{where} is empty")
    first_line, first = head[0]
    header = "row" if any(c != "" and tables._number(c, comma) is None for c in first) else "none"
    if header == "none" and tables._numeric_header(first, head[1:], comma):
        header = "numeric"
    names = first if header != "none" else tables._comment_names(comments, first_line - 1, len(first),
                                                                 delimiter, comma)
    names = names or [str(i + 1) for i in range(len(first))]
    skip = 1 if header in ("row", "numeric") else 0
    del head

    table = tables._fast_table(text, offsets[first_line - 1 + skip], delimiter, len(names)) \
        if tables.FAST_PATH else None
    if table is not None:
        values = table[0]
        problems: list = [None] * len(names)
        numeric = list(range(len(names)))
        text_seen = [False] * len(names)
    else:
        cells = tables._read_cells(tables._all_lines(lines, text, offsets[-1]), delimiter, where, names, skip)
        values, problems, text_seen = cells.values, cells.problems, cells.text_seen
        numeric = [j for j in range(len(names)) if cells.any_number[j]]

    def whole(j: int) -> np.ndarray | None:
        return None if text_seen[j] else values[:, j]

    named = header != "none"
    ids = [j for j in numeric if tables._is_id_column(names[j], whole, j, named)]
    used = [j for j in numeric if j not in ids] if len(numeric) - len(ids) >= 2 else numeric
    if len(used) < 2:
        word = tables._separator_word(delimiter)
        hint = "" if len(names) > 1 else f" (split at the {word}, every row is one cell)"
        raise DataError(f"{where} needs at least two numeric columns (inputs, then the target last); "
                        f"columns are: {tables._names(names)}{hint}")
    for j in used:
        if problems[j] is not None:
            line, cell, is_number = problems[j]
            what = "is not a number" if not is_number else "is not a finite number"
            raise DataError(f"{where} row {line}, column {tables._quoted(names[j])}: "
                            f"{tables._quoted(cell) if not is_number else tables._plain(cell, 60)} {what}")
    out = np.ascontiguousarray(values[:, used], dtype=np.float64)
    big = np.argwhere(np.abs(out) > MAX_MAGNITUDE)
    if big.size:
        r, c = (int(v) for v in big[0])
        raise DataError(f"{where} data row {r + 1}, column {tables._quoted(names[used[c]])}: "
                        f"{out[r, c]:.6g} is larger than {MAX_MAGNITUDE:.0e} in size")
    if len(out) < 2:
        raise DataError(f"{where} has {len(out)} data row; at least 2 are needed to train on")
    left = [names[j] for j in range(len(names)) if j not in used]
    how = [tables._separator_name(delimiter), f"{len(out):,} rows"]
    if left:
        how.append("not used: " + tables._names(left, 6))
    return out, [names[j] for j in used], ", ".join(how)


# ---- the spec ----------------------------------------------------------------------------------

def _dtype(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise InputError(f"dtype must be a floating torch dtype such as torch.float64, got {dtype!r}")
    return dtype


def load_data(spec: str, *, dtype: torch.dtype = torch.float64, task: str | None = None) -> Data:
    """The data named by ``spec``: ``digits``, ``moons`` or the path of a CSV file (module docstring).

    Args:
        spec: a built-in name or a CSV path (``--data``).
        dtype: the floating dtype of the inputs (and of regression targets).
        task: ``"regression"`` or ``"classification"`` to override the CSV rule (:func:`detect_task`);
            a built-in set has its own task and refuses the other.

    Raises:
        InputError: an unknown name, a file that cannot be read as a table of numbers, or a target
            that cannot be class labels; the message names the spec.
    """
    dtype = _dtype(dtype)
    if not isinstance(spec, str | Path):
        raise InputError(f"--data must be a data set name or a CSV path, got {type(spec).__name__}")
    spec = str(spec)
    shown = repr(one_line(spec, 160))
    if task is not None and task not in TASKS:
        raise InputError(f"--task {one_line(repr(task), 60)}: use regression or classification")
    key = spec.strip().lower()
    if key in BUILTIN and not Path(spec).is_file():
        x, y, inputs, target, note = _digits() if key == "digits" else _moons()
        if task == "regression":
            raise InputError(f"--data {shown} is a classification data set; it cannot be read as regression")
        return Data(torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=torch.int64), "classification",
                    key, inputs, target, int(y.max()) + 1, note)
    p = Path(spec)
    if not p.exists() and not p.suffix:
        raise InputError(f"--data {shown}: no such file, and not a built-in data set "
                         f"({', '.join(BUILTIN)}); give a CSV whose last numeric column is the target")
    values, names, note = read_table(p)
    x, t = values[:, :-1], values[:, -1]
    inputs, target = names[:-1], names[-1]
    chosen = task or detect_task(t, len(inputs))
    rule = "given" if task else ("detected: ≥ 2 inputs and labels 0..K−1" if chosen == "classification"
                                 else "detected")
    note = f"{note}; {chosen} {rule}"
    if chosen == "classification":
        k = class_count(t)
        if k is None:
            bad = t[~np.isfinite(t) | (t != np.round(t))]
            why = (f"{bad[0]:g} is not a whole number" if bad.size else
                   f"its values {_some(np.unique(t))} are not the labels 0..K−1 of K ≥ 2 classes")
            raise InputError(f"--data {shown}: the target column {one_line(repr(target), 60)} cannot be "
                             f"class labels: {why}")
        return Data(torch.tensor(x, dtype=dtype), torch.tensor(t.astype(np.int64)), chosen, p.name,
                    inputs, target, k, note)
    return Data(torch.tensor(x, dtype=dtype), torch.tensor(t, dtype=dtype).reshape(-1, 1), chosen, p.name,
                inputs, target, None, note)


def _some(values: np.ndarray, limit: int = 6) -> str:
    shown = ", ".join(f"{v:g}" for v in values[:limit])
    return shown + (f", … ({len(values):,} values)" if len(values) > limit else "")


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """The share of examples whose predicted class (:func:`predicted_class`) is the label."""
    return float(np.mean(predicted_class(predictions) == np.asarray(labels).reshape(-1)))


def predicted_class(predictions: np.ndarray) -> np.ndarray:
    """The class a classifier's output says: the argmax of K ≥ 2 scores (logits or probabilities)
    per example; a single output column is rounded to the nearest label (a regression onto labels)."""
    out = np.asarray(predictions, dtype=np.float64)
    if out.ndim == 2 and out.shape[1] >= 2:
        return np.argmax(out, axis=1)
    flat = out.reshape(len(out), -1)[:, 0]
    return np.where(np.isfinite(flat), np.maximum(np.round(flat), 0), -1).astype(np.int64)


__all__ = ["BUILTIN", "MAX_CLASSES", "TASKS", "Data", "accuracy", "class_count", "detect_task", "load_data",
           "predicted_class", "read_table"]
