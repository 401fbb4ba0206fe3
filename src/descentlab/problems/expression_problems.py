r"""Problems from expressions: a surface, or a model fitted to data (never run as code).

From an expression (never run as code; see :mod:`descentlab.problems.expression` for the
language, its limits and its errors)::

    import descentlab as dl
    from descentlab.problems import from_expression

    bowl = from_expression("x**2 + 10*y**2 + 3*sin(x*y)")            # a surface over x, y
    banana = from_expression("(1 - x)**2 + 100*(y - x**2)**2", start=(-1.5, 2))
    traj = dl.run(dl.optimizers.nesterov(lr=banana.suggested.lr), banana)

    quad = from_expression("p0 + p1*x + p2*x**2", data=(x, y))       # a model of x, three parameters
    named = from_expression("a * exp(-b*x)", data=(x, y), params="a,b")

* A **surface** (no ``data``) has the parameters x and y (P = 2, even when one does not appear:
  it is then a flat direction), or x, y, z (P = 3) when z appears. An expression in p0, p1, …
  alone has those parameters instead. ``params=`` names them explicitly, in order (any number).
* A **model** (``data=(x, y)`` or a :class:`~descentlab.datasets.XYData`) predicts y from the data
  variable ``x``; its parameters are the p0, p1, … it uses, ordered by number (gaps allowed), or
  ``params=``. The loss is the book's sum of squared errors L[φ] = Σᵢ (f[xᵢ, φ] − yᵢ)², so
  minibatches and the model lines of the figures work as for the built-in line fit.
* Gradients are exact (reverse-mode differentiation of the parsed expression).

Suggested settings come from :func:`~descentlab.problems.suggestions.suggest`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from descentlab.errors import InputTypeError
from descentlab.problems.base import Problem, check_batch
from descentlab.problems.custom import ChunkedFit, Described, minima_array, split_names
from descentlab.problems.data import check_xy
from descentlab.problems.expression import (
    CONSTANTS,
    FUNCTIONS,
    Expression,
    ExpressionError,
    names_in,
    numbered_parameters,
    parse,
)
from descentlab.problems.suggestions import DEFAULT_BETA, DEFAULT_STEPS, PLACEHOLDER, with_suggestion


@dataclass(frozen=True, eq=False, repr=False)
class ExpressionSurface(Described, Problem):
    """A loss written as an expression of its parameters (no data); exact gradient."""

    expression: Expression = None  # type: ignore[assignment]
    gradient_method: str = "expression"

    def _env(self, p: np.ndarray) -> dict[str, np.ndarray]:
        return {name: p[..., i] for i, name in enumerate(self.param_names)}

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        check_batch(batch, None, self.name)
        p = self._points(points)
        return np.array(np.broadcast_to(self.expression.evaluate(self._env(p)), p.shape[:-1]))

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        check_batch(batch, None, self.name)
        p = self._points(points)
        _, parts = self.expression.value_and_grad(self._env(p), self.param_names)
        return np.stack([np.broadcast_to(g, p.shape[:-1]) for g in parts], axis=-1)


@dataclass(frozen=True, eq=False, repr=False)
class ExpressionModel(Described, ChunkedFit):
    """A model f[x, φ] written as an expression, fitted by the sum of squared errors; exact gradient."""

    expression: Expression = None  # type: ignore[assignment]
    data_variable: str = "x"
    gradient_method: str = "expression"

    def _env(self, p: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray]:
        env = {name: p[..., i, None] for i, name in enumerate(self.param_names)}
        env[self.data_variable] = x
        return env

    def predict(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        p, x = np.asarray(points, dtype=np.float64), np.asarray(x, dtype=np.float64)
        return np.array(np.broadcast_to(self.expression.evaluate(self._env(p, x)), (*p.shape[:-1], len(x))))

    def jacobian(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        p, x = np.asarray(points, dtype=np.float64), np.asarray(x, dtype=np.float64)
        _, parts = self.expression.value_and_grad(self._env(p, x), self.param_names)
        shape = (*p.shape[:-1], len(x))
        return np.stack([np.broadcast_to(g, shape) for g in parts], axis=-1)

    def _residual_grad(self, block: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # reverse mode seeded with the residuals: no (points, data, P) Jacobian is formed
        value, pullback = self.expression.vjp(self._env(block, x), self.param_names)
        seed = 2.0 * (np.broadcast_to(value, (len(block), len(x))) - y)
        return np.stack([np.sum(g, axis=-1) for g in pullback(seed)], axis=-1)


def _surface_params(text: str) -> tuple[str, ...]:
    used = names_in(text)
    numbered = numbered_parameters(text)
    letters = [n for n in ("x", "y", "z") if n in used]
    if numbered and letters:
        raise ExpressionError(f"the expression uses both {', '.join(letters)} and {', '.join(numbered)}; "
                              f"pass params=… to say which are the parameters")
    if numbered:
        return numbered
    return ("x", "y", "z") if "z" in used else ("x", "y")


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def from_expression(expression: str, *, data=None, params: Sequence[str] | str | None = None,
                    start: Sequence[float] | None = None, name: str | None = None, minima=None,
                    steps: int = DEFAULT_STEPS, beta: float = DEFAULT_BETA, log_levels: bool = False,
                    view=None, x_label: str | None = None,
                    y_label: str | None = None) -> ExpressionSurface | ExpressionModel:
    """A problem from an expression: a surface, or a model fitted to ``data``.

    Args:
        expression: e.g. ``"x**2 + 10*y**2"`` or, with data, ``"p0 + p1*x + p2*x**2"``.
        data: ``(x, y)`` arrays or an :class:`~descentlab.datasets.XYData` (whose column names
            become the axis labels); None for a surface.
        params: the parameter names in order (a sequence or ``"a,b,c"``); default: see the
            module docstring.
        start: φ_0 (default: :func:`default_start`).
        name: the problem's name (default: the expression, shortened).
        minima: known minima (K×P), if any; default none.
        steps, beta: suggested number of steps and momentum β.
        log_levels: draw log-spaced contours (steep surfaces).
        view: ((lo, hi), (lo, hi)) to draw, for two parameters.
        x_label, y_label: axis names for the data (default: the XYData's columns, or x and y).

    Raises:
        ExpressionError: for a problem with the expression or the parameter names.
        ValueError: for bad data or settings, or a start where the loss is not finite.
    """
    names = split_names(params)
    if data is None:
        if names is None:
            names = _surface_params(expression)
        expr = parse(expression, names)
        problem: Problem = ExpressionSurface(
            name=name or _short(expression), param_names=names, minima=minima_array(minima, len(names)),
            suggested=PLACEHOLDER, log_levels=bool(log_levels), expression=expr)
        return with_suggestion(problem, start, steps, beta, view)

    if hasattr(data, "x") and hasattr(data, "y"):
        x_label = x_label or getattr(data, "x_name", None)
        y_label = y_label or getattr(data, "y_name", None)
        xs, ys = data.x, data.y
    else:
        try:
            xs, ys = data
        except (TypeError, ValueError):
            raise InputTypeError("data must be a pair (x, y) of sequences or an XYData") from None
    xs, ys = check_xy(xs, ys, labels=(x_label or "x", y_label or "y"))
    variable = "x"
    reserved = {"y": "y is the data's target; the model predicts it from x"}
    if names is None:
        names = numbered_parameters(expression)
        if not names:
            others = [n for n in names_in(expression) if n not in (variable, "y", *CONSTANTS, *FUNCTIONS)]
            if others:
                raise ExpressionError(f"the model has no parameters p0, p1, …; to use {', '.join(others)} "
                                      f"as its parameters, pass params='{','.join(others)}'")
            raise ExpressionError("the model has no parameters: name them p0, p1, … (or pass params=…)")
    for n in names:
        if n in (variable, "y"):
            raise ExpressionError(f"{n!r} cannot be a parameter of a model: it names the data")
    expr = parse(expression, (*names, variable), reserved=reserved)
    problem = ExpressionModel(
        name=name or _short(expression), param_names=names, minima=minima_array(minima, len(names)),
        suggested=PLACEHOLDER, log_levels=bool(log_levels), x=xs, y=ys,
        x_label=x_label or "x", y_label=y_label or "y", expression=expr, data_variable=variable)
    return with_suggestion(problem, start, steps, beta, view)


__all__ = ["ExpressionModel", "ExpressionSurface", "from_expression"]
