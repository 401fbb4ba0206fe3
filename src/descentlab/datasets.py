"""Built-in data sets, and problems from your CSV files.

Built-in data (made once with a fixed seed by ``tools/make_datasets.py`` and shipped as CSV in
the package, never random at import):

* :func:`line_fit` — 12 noisy, roughly linear points with x in [0, 2], in the spirit of Figure 6.1;
* :func:`gabor` — 30 points of the book's Gabor model (Figure 6.2), with its known minima.

User data: :func:`read_csv` reads two numeric columns as spreadsheets write them (comma, semicolon
or tab, detected; ``#`` comments; decimal commas), says what it read (:meth:`XYData.describe`) and
reports every problem it finds as a :class:`DataError` (an InputError, so a ValueError) with one
clear line naming the file, row and column; :func:`from_csv` fits a model to them. The table
checks live with the problems (:mod:`descentlab.problems.data`, re-exported here); this module
sits above the problems and builds them, so the problems never import it.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

import numpy as np

from descentlab.errors import InputError
from descentlab.problems.data import DataError, XYData, check_xy, parse_csv, parse_delimiter, read_csv
from descentlab.problems.gabor import FIGURE_6_2
from descentlab.problems.gabor import gabor as gabor_problem
from descentlab.problems.linear_regression import FIGURE_6_1, linear_regression

__all__ = ["MODELS", "DataError", "XYData", "check_xy", "from_csv", "gabor", "line_fit", "parse_csv",
           "parse_delimiter", "read_csv"]


def _builtin(name: str) -> np.ndarray:
    text = resources.files("descentlab").joinpath("data", name).read_text()
    return np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2)


def line_fit():
    """The built-in 12-point line-fitting problem (ŷ = φ0 + φ1·x, sum of squared errors)."""
    xy = _builtin("line_fit.csv")
    return linear_regression(xy[:, 0], xy[:, 1], name="line-fit", suggested=FIGURE_6_1)


def gabor():
    """The built-in 30-point Gabor problem (book Figure 6.2), with its known minima."""
    xy = _builtin("gabor.csv")
    return gabor_problem(xy[:, 0], xy[:, 1], minima=_builtin("gabor_minima.csv"), suggested=FIGURE_6_2)


MODELS = ("line-fit", "gabor")


def from_csv(path: str | Path, model: str = "line-fit", x: str | None = None, y: str | None = None,
             delimiter: str | None = None):
    """A data problem for the x, y columns of a CSV file: ``model`` is "line-fit" or "gabor";
    ``delimiter`` as in :func:`read_csv` (default: detected)."""
    if model not in MODELS:
        raise InputError(f"no model {model!r} for CSV data; choose one of {', '.join(MODELS)}")
    return fit(read_csv(path, x, y, delimiter), model, Path(path).name)


def fit(table: XYData, model: str, name: str):
    """The problem of fitting ``model`` ("line-fit" or "gabor", :data:`MODELS`) to the columns of
    ``table`` by the sum of squared errors (what :func:`from_csv` builds; the explorer builds an
    upload's the same way, from the text in memory)."""
    if model not in MODELS:
        raise InputError(f"no model {model!r} for CSV data; choose one of {', '.join(MODELS)}")
    build = linear_regression if model == "line-fit" else gabor_problem
    return build(table.x, table.y, name=name, x_label=table.x_name, y_label=table.y_name)
