"""Problems: a loss L[φ] and its analytic gradient, vectorised over points and minibatches.

* :func:`linear_regression` — ŷ = φ0 + φ1·x by least squares (Figure 6.1);
* :func:`gabor` — the book's non-convex Gabor model (Figure 6.2);
* :func:`quadratic`, :func:`rosenbrock`, :func:`beale`, :func:`himmelblau` — surfaces without data;
* :func:`from_expression`, :func:`from_function`, :func:`from_model` — your own loss or model
  (safe expressions, never eval); :func:`slice_problem` draws two of many parameters;
* :func:`with_reduction` — a data problem's loss as the mean over the examples, not the book's sum.

Problems built from your own data or loss suggest settings derived from themselves (their
curvature, data scale and minima: :mod:`descentlab.problems.suggestions`); the built-in ones keep
those hand-picked for the book's figures.

The problems are the bottom layer of descentlab: they import nothing above them. The data
tables they are built from are checked here (:mod:`descentlab.problems.data`); the built-in data
sets live in :mod:`descentlab.datasets` and the problems by name (:func:`~descentlab.catalogue.by_name`,
:data:`~descentlab.catalogue.NAMES`) in :mod:`descentlab.catalogue`, both above this package.
"""

from __future__ import annotations

from descentlab.problems import expression
from descentlab.problems.base import Problem, Suggested
from descentlab.problems.custom import GRADIENT_METHODS
from descentlab.problems.data import DataError, XYData
from descentlab.problems.data_fit import REDUCTIONS, DataFit, MeanFit, with_reduction
from descentlab.problems.expression import ExpressionError
from descentlab.problems.expression_problems import ExpressionModel, ExpressionSurface, from_expression
from descentlab.problems.functions import FunctionModel, FunctionProblem, from_function, from_model
from descentlab.problems.gabor import Gabor, gabor
from descentlab.problems.linear_regression import LinearRegression, linear_regression
from descentlab.problems.slices import DataSlice, Slice, slice_problem
from descentlab.problems.suggestions import curvature, default_start, hessian, quadratic_suggestion, suggest
from descentlab.problems.surfaces import (
    Quadratic,
    Surface,
    beale,
    himmelblau,
    quadratic,
    rosenbrock,
)

__all__ = [
    "GRADIENT_METHODS", "REDUCTIONS", "DataError", "DataFit", "DataSlice", "ExpressionError",
    "ExpressionModel", "ExpressionSurface", "FunctionModel", "FunctionProblem", "Gabor",
    "LinearRegression", "MeanFit", "Problem", "Quadratic", "Slice", "Suggested", "Surface", "XYData",
    "beale", "curvature", "default_start", "expression", "from_expression", "from_function", "from_model",
    "gabor", "hessian", "himmelblau", "linear_regression", "quadratic", "quadratic_suggestion",
    "rosenbrock", "slice_problem", "suggest", "with_reduction",
]




