"""The problems by name: what ``--problem``, configuration files and the explorer choose from.

The data problems are built with the built-in data (:mod:`descentlab.datasets`), so the
catalogue sits above both the problems and the data sets; neither of them imports it.

    >>> from descentlab.catalogue import NAMES, by_name
    >>> by_name("quadratic", kappa=10.0).n_params
    2
"""

from __future__ import annotations

from collections.abc import Callable

from descentlab import datasets
from descentlab.errors import InputError
from descentlab.problems import Problem, beale, himmelblau, quadratic, rosenbrock

_BUILDERS: dict[str, Callable[..., Problem]] = {
    "line-fit": datasets.line_fit, "gabor": datasets.gabor, "quadratic": quadratic,
    "rosenbrock": rosenbrock, "beale": beale, "himmelblau": himmelblau,
}

NAMES: tuple[str, ...] = tuple(_BUILDERS)
"""Every problem :func:`by_name` builds, the book's line fit first."""

TAKES_OPTIONS = ("quadratic",)
"""The problems whose builder takes options (``kappa``, ``angle``, ``mu``, ``dim``, ``center``)."""


def by_name(name: str, **options) -> Problem:
    """A problem by its name in :data:`NAMES`; ``options`` go to ``quadratic`` (kappa, angle…)."""
    if name not in _BUILDERS:
        raise InputError(f"unknown problem {name!r}; choose one of {', '.join(NAMES)}")
    if options and name not in TAKES_OPTIONS:
        raise InputError(f"problem {name!r} takes no options, got {', '.join(options)}")
    return _BUILDERS[name](**options)


__all__ = ["NAMES", "TAKES_OPTIONS", "by_name"]
