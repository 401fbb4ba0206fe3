r"""Slices: the loss over two (or a few) of many parameters, the others held fixed.

**More than two parameters** run everywhere (:func:`descentlab.run`, minibatches, trajectories);
contour figures draw two at a time: :func:`slice_problem` gives the loss over two of them with
the others held fixed (at the end of a run, say), as a problem that draws like any other
(model lines included), and :func:`descentlab.scene.slice_trajectory` cuts a run down to the same two::

    run = dl.run(dl.optimizers.nesterov(lr=quad.suggested.lr), quad)
    fig = dl.plot.figure_6_1(slice_problem(quad, "p0,p2", at=run.final), slice_trajectory(run, "p0,p2"))

(and :func:`descentlab.scene.drawable` picks the slice a 2-D view draws).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from descentlab import validation
from descentlab.errors import InputError
from descentlab.problems.base import Problem
from descentlab.problems.data_fit import DataFit


@dataclass(frozen=True, eq=False, repr=False)
class Slice(Problem):
    """The loss of ``base`` over the parameters ``keep``, the others held at ``at``.

    A problem with more than two parameters runs everywhere; contour figures draw two of them.
    ``loss``/``grad`` evaluate the full problem (minibatches included), so a slice through the
    final point of a run shows the loss near the end of that run.
    """

    base: Problem = None  # type: ignore[assignment]
    keep: tuple[int, ...] = ()
    at: np.ndarray = None  # type: ignore[assignment]

    @property
    def n_examples(self) -> int | None:
        return self.base.n_examples

    def full(self, points: np.ndarray) -> np.ndarray:
        """Points of the slice (..., len(keep)) as points of the base problem (..., P)."""
        p = self._points(points)
        out = np.array(np.broadcast_to(self.at, (*p.shape[:-1], self.base.n_params)))
        out[..., list(self.keep)] = p
        return out

    def loss(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        return self.base.loss(self.full(points), batch)

    def grad(self, points: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        return self.base.grad(self.full(points), batch)[..., list(self.keep)]


@dataclass(frozen=True, eq=False, repr=False)
class DataSlice(Slice, DataFit):
    """A :class:`Slice` of a model fitted to data: predictions and model lines work too."""

    def predict(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.base.predict(self.full(points), x)  # type: ignore[attr-defined]

    def jacobian(self, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.base.jacobian(self.full(points), x)[..., list(self.keep)]  # type: ignore[attr-defined]


def parameter_indices(problem_names: Sequence[str], keep: Sequence[str | int] | str) -> tuple[int, ...]:
    """The indices of the parameters ``keep`` (names or indices, or ``"p0,p2"``), distinct."""
    if isinstance(keep, str):
        keep = [k.strip() for k in keep.split(",")]
    out = []
    for k in keep:
        if isinstance(k, str) and k in problem_names:
            out.append(problem_names.index(k))
        elif isinstance(k, int | np.integer) and not isinstance(k, bool) and 0 <= k < len(problem_names):
            out.append(int(k))
        else:
            raise InputError(f"{k!r} is not a parameter; the parameters are {', '.join(problem_names)}")
    if not out or len(set(out)) != len(out):
        raise InputError(f"give distinct parameters to keep, got {keep!r}")
    return tuple(out)


def slice_problem(problem: Problem, keep: Sequence[str | int] | str, at: Sequence[float] | None = None,
                  *, name: str | None = None) -> Slice:
    """The problem over the parameters ``keep`` (names or indices, or ``"p0,p2"``), the others
    fixed at ``at`` (default: the suggested start).

    The slice suggests the base problem's settings (its learning rates and line-search bracket
    were chosen for the full curvature, which bounds the slice's, so they are safe here; the base's
    view and condition number are not the slice's, so they are left out, but its note on the
    conditioning stays: the run is the full problem's) and starts at ``at``'s
    kept coordinates; its minima are the base's minima that lie in the slice.
    """
    names = tuple(problem.param_names)
    idx = parameter_indices(names, keep)
    point = validation.point("at", problem.suggested.start if at is None else at, problem.n_params)
    others = [i for i in range(len(names)) if i not in idx]
    in_slice = [m[list(idx)] for m in problem.minima
                if np.allclose(m[others], point[others], rtol=1e-9, atol=1e-12)]
    fixed = ", ".join(f"{names[i]}={point[i]:.4g}" for i in others)
    cls = DataSlice if isinstance(problem, DataFit) else Slice
    extra = {}
    if isinstance(problem, DataFit):
        extra = dict(x=problem.x, y=problem.y, x_label=problem.x_label, y_label=problem.y_label)
    s = problem.suggested
    return cls(name=name or (f"{problem.name} — 2-D slice at {fixed}" if fixed else problem.name),
               param_names=tuple(names[i] for i in idx),
               minima=np.array(in_slice, dtype=np.float64).reshape(-1, len(idx)),
               suggested=dataclasses.replace(s, start=tuple(float(point[i]) for i in idx), view=None,
                                             kappa=None),
               log_levels=problem.log_levels, base=problem, keep=idx, at=point, **extra)


__all__ = ["DataSlice", "Slice", "parameter_indices", "slice_problem"]
