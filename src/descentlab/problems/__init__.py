"""Problems: a loss L[φ] and its analytic gradient, vectorised over points and minibatches.

* :func:`linear_regression` — ŷ = φ0 + φ1·x by least squares (Figure 6.1);
* :func:`gabor` — the book's non-convex Gabor model (Figure 6.2);
* :func:`quadratic`, :func:`rosenbrock`, :func:`beale`, :func:`himmelblau` — surfaces without data;
* :func:`from_expression`, :func:`from_function`, :func:`from_model` — your own loss or model
  (safe expressions, never eval); :func:`slice_problem` draws two of many parameters.

:func:`by_name` builds any of them (with the built-in data for the data problems).
"""

from __future__ import annotations

from descentlab.problems import expression
from descentlab.problems.base import Problem, Suggested
from descentlab.problems.custom import (
    DataSlice,
    ExpressionModel,
    ExpressionSurface,
    FunctionModel,
    FunctionProblem,
    Slice,
    default_start,
    drawable,
    from_expression,
    from_function,
    from_model,
    slice_problem,
    slice_trajectory,
    suggest,
)
from descentlab.problems.data_fit import DataFit
from descentlab.problems.expression import ExpressionError
from descentlab.problems.gabor import Gabor, gabor
from descentlab.problems.linear_regression import LinearRegression, linear_regression
from descentlab.problems.surfaces import (
    Quadratic,
    Surface,
    beale,
    himmelblau,
    quadratic,
    rosenbrock,
)

NAMES = ("line-fit", "gabor", "quadratic", "rosenbrock", "beale", "himmelblau")


def by_name(name: str, **options) -> Problem:
    """A problem by its name in :data:`NAMES`; ``options`` go to ``quadratic`` (kappa, angle…)."""
    from descentlab import datasets

    builders = {"line-fit": datasets.line_fit, "gabor": datasets.gabor, "quadratic": quadratic,
                "rosenbrock": rosenbrock, "beale": beale, "himmelblau": himmelblau}
    if name not in builders:
        raise ValueError(f"unknown problem {name!r}; choose one of {', '.join(NAMES)}")
    if options and name != "quadratic":
        raise ValueError(f"problem {name!r} takes no options, got {', '.join(options)}")
    return builders[name](**options)


__all__ = [
    "NAMES", "DataFit", "DataSlice", "ExpressionError", "ExpressionModel", "ExpressionSurface",
    "FunctionModel", "FunctionProblem", "Gabor", "LinearRegression", "Problem", "Quadratic", "Slice",
    "Suggested", "Surface", "beale", "by_name", "default_start", "drawable", "expression", "from_expression",
    "from_function", "from_model", "gabor", "himmelblau", "linear_regression", "quadratic", "rosenbrock",
    "slice_problem", "slice_trajectory", "suggest",
]
