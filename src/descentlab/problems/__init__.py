"""Problems: a loss L[φ] and its analytic gradient, vectorised over points and minibatches.

* :func:`linear_regression` — ŷ = φ0 + φ1·x by least squares (Figure 6.1);
* :func:`gabor` — the book's non-convex Gabor model (Figure 6.2);
* :func:`quadratic`, :func:`rosenbrock`, :func:`beale`, :func:`himmelblau` — surfaces without data.

:func:`by_name` builds any of them (with the built-in data for the data problems).
"""

from __future__ import annotations

from descentlab.problems.base import Problem, Suggested
from descentlab.problems.data_fit import DataFit
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
    "NAMES", "DataFit", "Gabor", "LinearRegression", "Problem", "Quadratic", "Suggested",
    "Surface", "beale", "by_name", "gabor", "himmelblau", "linear_regression", "quadratic",
    "rosenbrock",
]
