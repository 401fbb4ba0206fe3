"""What to draw, computed once and renderer-neutral: view bounds, the loss grid, contour levels,
the paths of one or more runs, numbered iterates, and model lines on the data.

The matplotlib figures (:mod:`descentlab.plot`) draw a :class:`Scene`; nothing here imports a
plotting library, so other renderers can draw the very same numbers. A problem with more than
two parameters is drawn through a 2-D slice: :func:`drawable` picks it and :func:`slice_trajectory`
cuts the runs down to it.
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
from descentlab.problems.slices import parameter_indices, slice_problem
from descentlab.trajectory import Trajectory

Bounds = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True, eq=False)
class Path:
    """One run as drawn: its iterates, which of them get a number, and its model lines."""

    label: str
    optimizer: str
    points: np.ndarray          # (T+1, 2) φ_t
    losses: np.ndarray          # (T+1,)
    lookahead: np.ndarray       # (T, 2) where each gradient was taken
    numbered: np.ndarray        # indices t whose iterate is labelled with its number
    model_lines: np.ndarray | None  # (T+1, M) f[x, φ_t] on Scene.model_x (data problems)
    diverged_at: int | None
    grads: np.ndarray | None = None        # (T, 2) the gradient step t used (taken at lookahead[t])
    hyperparams: dict | None = None        # the run's hyper-parameters ({"lr": α, "beta": β, …})


@dataclass(frozen=True, eq=False)
class Scene:
    """Everything a Figure 6.1-style view needs, for one problem and one or more runs."""

    title: str
    param_names: tuple[str, str]
    bounds: Bounds
    grid_x: np.ndarray          # (G,)
    grid_y: np.ndarray          # (G,)
    surface: np.ndarray         # (G, G) L on the grid, surface[i, j] at (grid_x[j], grid_y[i])
    levels: np.ndarray          # contour band boundaries, increasing, levels[0] = floor
    log_levels: bool
    minima: np.ndarray          # (K, 2) known minima inside the bounds
    min_loss: float | None
    paths: tuple[Path, ...]
    data: tuple[np.ndarray, np.ndarray] | None
    data_labels: tuple[str, str]
    model_x: np.ndarray | None  # (M,) inputs for the model lines

    @property
    def has_data(self) -> bool:
        return self.data is not None


def numbered_steps(points: np.ndarray, bounds: Bounds, max_labels: int = 12,
                   min_gap: float = 0.06) -> np.ndarray:
    """Which iterates to number so that labels neither crowd nor overlap.

    Greedy from the first iterate: a candidate (every k-th, at most ``max_labels``) is numbered
    when it lies at least ``min_gap`` (as a fraction of the view) from every numbered one. The
    first and the last iterate are always numbered.
    """
    n = len(points)
    if n == 0:
        return np.arange(0)
    scale = np.array([bounds[0][1] - bounds[0][0], bounds[1][1] - bounds[1][0]])
    unit = points[:, :2] / scale
    stride = max(1, int(np.ceil((n - 1) / max(max_labels - 1, 1))))
    last = n - 1
    kept = [0]
    for t in range(stride, last, stride):
        if all(np.linalg.norm(unit[t] - unit[k]) >= min_gap for k in kept) and \
                np.linalg.norm(unit[t] - unit[last]) >= min_gap:
            kept.append(t)
    if last > 0:
        kept = [k for k in kept if k == 0 or np.linalg.norm(unit[k] - unit[last]) >= min_gap]
        kept.append(last)
    return np.array(kept)


def view_bounds(problem: Problem, paths: Sequence[np.ndarray], margin: float = 0.12,
                diverged: Sequence[bool] | None = None) -> Bounds:
    """A box that contains every path and the minimum nearest each path's end.

    The problem's suggested view is used when it already contains all of that. Paths flagged in
    ``diverged`` are left out of the framing when others did not diverge, so one run flying off
    does not squeeze the rest into a corner (its figure notes where it diverged).
    """
    if diverged is not None and not all(diverged):
        paths = [p for p, gone in zip(paths, diverged, strict=True) if not gone]
    pts = [p for p in paths if len(p)]
    must = np.concatenate(pts) if pts else np.asarray([problem.suggested.start[:2]], dtype=float)
    if len(problem.minima):
        nearest = [problem.minima[np.argmin(np.linalg.norm(problem.minima[:, :2] - p[-1], axis=1)), :2]
                   for p in pts] or [problem.minima[0, :2]]
        must = np.vstack([must, nearest])
    lo, hi = must.min(axis=0), must.max(axis=0)
    view = problem.suggested.view
    if view is not None and all(view[k][0] <= lo[k] and hi[k] <= view[k][1] for k in range(2)):
        return (tuple(map(float, view[0])), tuple(map(float, view[1])))
    span = hi - lo
    pad = np.maximum(margin * span, 0.05 * max(float(span.max()), 1e-3))
    pad = np.maximum(pad, 0.5 * (0.25 * span.max() - span))  # keep the box from being a sliver
    lo, hi = lo - pad, hi + pad
    return ((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])))


def loss_grid(problem: Problem, bounds: Bounds, resolution: int = 150):
    """The loss on a resolution×resolution grid over ``bounds``: (grid_x, grid_y, L)."""
    g = validation.integer("resolution", resolution, 2, 2000)
    gx, gy = np.linspace(*bounds[0], g), np.linspace(*bounds[1], g)
    with np.errstate(all="ignore"):
        z = problem.loss(np.stack(np.meshgrid(gx, gy), axis=-1))
    return gx, gy, z


def contour_levels(surface: np.ndarray, n: int = 16, log: bool = False,
                   floor: float | None = None) -> np.ndarray:
    """Band boundaries for filled contours of ``surface``, from its floor upward (n + 1 values).

    The floor is the minimum loss when known (else the grid's minimum). Default levels rise
    quadratically up to the 95th percentile (so a few steep corners do not squeeze the rest into
    one band); log levels are spaced geometrically above the floor and suit steep surfaces such
    as Rosenbrock.
    """
    finite = surface[np.isfinite(surface)]
    if finite.size == 0:
        return np.linspace(0.0, 1.0, n + 1)
    base = float(finite.min()) if floor is None else min(float(floor), float(finite.min()))
    if log:
        top = max(float(finite.max()) - base, 1e-12)
        bottom = min(max(float(np.percentile(finite, 0.5)) - base, top * 1e-6, 1e-12), top / 10)
        return np.r_[base, base + np.geomspace(bottom, top, n)]
    top = float(np.percentile(finite, 95))
    if top <= base:
        top = base + 1.0
    # Quadratic spacing: near a minimum L − L_min grows like distance², so these levels are
    # evenly spaced in distance and the valley floor is not one flat band.
    return base + (top - base) * np.linspace(0.0, 1.0, n + 1) ** 2


# ---- more than two parameters: the 2-D slice a view draws ------------------------------------

def slice_trajectory(trajectory: Trajectory, keep: Sequence[str | int] | str) -> Trajectory:
    """A :class:`~descentlab.trajectory.Trajectory` reduced to the parameters ``keep`` (its
    iterates, look-ahead points, gradients and buffers), to draw on a
    :func:`~descentlab.problems.slice_problem`. The losses stay those of the full problem."""
    idx = list(parameter_indices(tuple(trajectory.param_names), keep))

    def cut(a):
        return None if a is None else np.asarray(a)[:, idx]

    return dataclasses.replace(
        trajectory, param_names=tuple(trajectory.param_names[i] for i in idx),
        params=cut(trajectory.params), lookahead=cut(trajectory.lookahead), grads=cut(trajectory.grads),
        buffers={k: v[:, idx] if v.ndim == 2 else v for k, v in trajectory.buffers.items()})


def drawable(problem: Problem, trajectories: Sequence[Trajectory],
             keep: Sequence[str | int] | str | None = None,
             ) -> tuple[Problem, list[Trajectory], list[np.ndarray] | None]:
    """What a 2-D view draws: ``(problem, trajectories, full_params)``.

    A two-parameter problem with no ``keep`` is drawn as it is (``full_params`` None). Otherwise
    the view is the slice through the first run's final point in the two parameters ``keep``
    (default: the first two), the runs are cut to them, and ``full_params`` holds each run's
    iterates in all parameters (figures use them for the model lines).
    """
    if keep is None and problem.n_params == 2:
        return problem, list(trajectories), None
    if problem.n_params < 2:
        raise InputError(f"a 2-D view needs two parameters; {problem.name!r} has {problem.n_params}")
    names = parameter_indices(tuple(problem.param_names),
                              keep if keep is not None else problem.param_names[:2])
    if len(names) != 2:
        raise InputError(f"a slice keeps two parameters, e.g. {','.join(problem.param_names[:2])}; "
                         f"got {keep!r}")
    view = slice_problem(problem, names, at=trajectories[0].final)
    return view, [slice_trajectory(t, names) for t in trajectories], [t.params for t in trajectories]


def build(problem: Problem, trajectories: Trajectory | Sequence[Trajectory], *,
          resolution: int = 150, log_levels: bool | None = None, bounds: Bounds | None = None,
          max_labels: int = 12, full_params: Sequence[np.ndarray] | None = None) -> Scene:
    """The scene for ``problem`` and one or more trajectories of it (two-parameter problems).

    Args:
        resolution: grid points per axis for the surface and contours.
        log_levels: log-spaced contour levels (default: the problem's preference).
        bounds: ((φ0_min, φ0_max), (φ1_min, φ1_max)) to override the automatic view.
        max_labels: at most this many iterates get a number per path.
        full_params: for a 2-D slice of a model with more parameters, each run's iterates in all
            its parameters, so that model lines are those of the whole iterate.
    """
    trajs = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
    if problem.n_params != 2:
        raise InputError(f"a contour view needs a 2-parameter problem; "
                         f"{problem.name!r} has {problem.n_params}")
    for t in trajs:
        if t.params.shape[1] != 2:
            raise InputError(f"trajectory {t.label} has {t.params.shape[1]} parameters, the problem 2")
    if bounds is None:
        bounds = view_bounds(problem, [t.params for t in trajs],
                             diverged=[t.diverged_at is not None for t in trajs])
    gx, gy, z = loss_grid(problem, bounds, resolution)
    log = problem.log_levels if log_levels is None else bool(log_levels)
    min_loss = problem.min_loss
    data = model_x = None
    if isinstance(problem, DataFit):
        data = (problem.x, problem.y)
        lo, hi = float(problem.x.min()), float(problem.x.max())
        pad = 0.05 * (hi - lo or 1.0)
        model_x = np.linspace(lo - pad, hi + pad, 200)
    predict = problem.predict if isinstance(problem, DataFit) else None
    if full_params is not None:  # a slice: the model of each iterate uses all of its parameters
        predict = problem.base.predict  # type: ignore[attr-defined]
    whole = full_params if full_params is not None else [t.params for t in trajs]
    paths = tuple(
        Path(label=t.label, optimizer=t.optimizer, points=t.params, losses=t.losses,
             lookahead=t.lookahead, numbered=numbered_steps(t.params, bounds, max_labels),
             model_lines=None if predict is None else predict(params, model_x),
             diverged_at=t.diverged_at, grads=t.grads, hyperparams=dict(t.hyperparams))
        for t, params in zip(trajs, whole, strict=True))
    inside = [m for m in problem.minima[:, :2]
              if bounds[0][0] <= m[0] <= bounds[0][1] and bounds[1][0] <= m[1] <= bounds[1][1]]
    return Scene(
        title=problem.name, param_names=tuple(problem.param_names),
        bounds=bounds, grid_x=gx, grid_y=gy, surface=z,
        levels=contour_levels(z, log=log, floor=min_loss), log_levels=log,
        minima=np.array(inside).reshape(-1, 2), min_loss=min_loss, paths=paths,
        data=data, data_labels=(getattr(problem, "x_label", "x"), getattr(problem, "y_label", "y")),
        model_x=model_x,
    )


# ---- what every renderer draws the same way ----------------------------------------------------

MANY = 80
"""Paths longer than this are drawn as lines, with markers only where numbers go."""


def surface_heights(scene: Scene, z: np.ndarray) -> np.ndarray:
    """Heights for the 3-D view: the loss, or log10 of its height above the floor (log levels)."""
    if not scene.log_levels:
        return z
    lowest_band = scene.levels[1] - scene.levels[0]
    return np.log10(np.maximum(z - scene.levels[0], 0.0) + lowest_band)


def viewing_azimuth(z: np.ndarray) -> float:
    """The 3-D view's azimuth in degrees: from above the lowest corner of the height grid ``z``,
    so that high walls stand behind the paths."""
    corners = {(-1, -1): z[0, 0], (1, -1): z[0, -1], (-1, 1): z[-1, 0], (1, 1): z[-1, -1]}
    finite = {k: v for k, v in corners.items() if np.isfinite(v)}
    cx, cy = min(finite, key=finite.get) if finite else (1, -1)
    return float(np.degrees(np.arctan2(cy, cx)))


def gap_floor(min_loss: float | None) -> float:
    """The smallest L − L_min float64 resolves near L_min: gaps below it are drawn at it."""
    return 4.0 * float(np.finfo(np.float64).eps) * max(1.0, abs(min_loss or 0.0))


def frame_steps(n_iterates: int, max_frames: int) -> list[int]:
    """The iterates an animation or a slider shows: all of them when there are at most
    ``max_frames``, else ``max_frames`` evenly spaced over 0 … n_iterates − 1 (rounded half up),
    the first and the last included, none twice. The GIF/MP4 (:mod:`descentlab.plot.animation`)
    and the HTML page (:mod:`descentlab.web`) both take their frames from here."""
    n = validation.integer("number of iterates", n_iterates, 1)
    m = validation.integer("max_frames", max_frames, 2)
    if n <= m:
        return list(range(n))
    # the spacing (n − 1)/(m − 1) is at least 1, so the rounded steps are distinct
    return [int(v) for v in np.floor(np.linspace(0, n - 1, m) + 0.5)]


@dataclass(frozen=True, eq=False)
class LookaheadStep:
    r"""One step of Nesterov (eq. 6.12) and of classical momentum (eq. 6.11) from the same φ_t, m_t.

    Both rules move by the momentum part :math:`-\alpha\beta\,m_t` and by a gradient part
    :math:`-\alpha(1-\beta)\,g`; they differ only in where g is taken:

    * Nesterov: g = ∂L/∂φ at the look-ahead point φ_t − αβ·m_t;
    * momentum: g = ∂L/∂φ at φ_t.

    so that φ_{t+1} = φ_t − αβ·m_t − α(1−β)·g = φ_t − α·m_{t+1}.
    """

    step: int
    alpha: float
    beta: float
    phi: np.ndarray                 # φ_t
    momentum: np.ndarray            # m_t
    lookahead: np.ndarray           # φ_t − αβ·m_t
    grad_lookahead: np.ndarray      # the gradient at the look-ahead point (Nesterov's)
    grad_here: np.ndarray           # the gradient at φ_t (momentum's)
    batch: np.ndarray | None

    @property
    def momentum_part(self) -> np.ndarray:
        """−αβ·m_t, the same for both rules."""
        return self.lookahead - self.phi

    @property
    def nesterov_grad_part(self) -> np.ndarray:
        return -self.alpha * (1.0 - self.beta) * self.grad_lookahead

    @property
    def momentum_grad_part(self) -> np.ndarray:
        return -self.alpha * (1.0 - self.beta) * self.grad_here

    @property
    def nesterov_next(self) -> np.ndarray:
        return self.lookahead + self.nesterov_grad_part

    @property
    def momentum_next(self) -> np.ndarray:
        return self.lookahead + self.momentum_grad_part


def lookahead_step(problem: Problem, trajectory: Trajectory, step: int) -> LookaheadStep:
    """The geometry of step ``step`` of a run of a look-ahead method (Nesterov, eq. 6.12) under its
    own rule and under momentum's (eq. 6.11), from the same φ_t and m_t."""
    from descentlab import optimizers

    known = optimizers.methods().get(trajectory.optimizer)
    if known is None or not known.lookahead or trajectory.momentum is None \
            or not {"lr", "beta"} <= set(trajectory.hyperparams):
        takes = ", ".join(n for n, m in optimizers.methods().items() if m.lookahead)
        raise InputError(f"the look-ahead view explains methods that take their gradient ahead of φ_t "
                         f"({takes}); {trajectory.optimizer} does not")
    t = validation.integer("step", step, 0, max(trajectory.steps - 1, 0))
    if trajectory.steps == 0:
        raise InputError("the trajectory has no steps to show")
    alpha, beta = trajectory.hyperparams["lr"], trajectory.hyperparams["beta"]
    phi, m = trajectory.params[t], trajectory.momentum[t]
    batch = None if trajectory.batches is None else trajectory.batches[t]
    ahead = phi - alpha * beta * m
    return LookaheadStep(step=t, alpha=alpha, beta=beta, phi=phi, momentum=m, lookahead=ahead,
                         grad_lookahead=problem.grad(ahead, batch), grad_here=problem.grad(phi, batch),
                         batch=batch)


def step_bounds(geometry: LookaheadStep, previous: np.ndarray | None = None,
                pad: float = 0.35) -> Bounds:
    """A square view around φ_t, the look-ahead point and both next points (and φ_{t−1} if given)."""
    pts = np.array([geometry.phi, geometry.lookahead, geometry.nesterov_next, geometry.momentum_next])
    if previous is not None:
        pts = np.vstack([pts, previous])
    lo, hi = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
    side = (1 + 2 * pad) * max(float((hi - lo).max()), 1e-9)  # square: drawn with equal aspect
    mid = (lo + hi) / 2
    return ((float(mid[0] - side / 2), float(mid[0] + side / 2)),
            (float(mid[1] - side / 2), float(mid[1] + side / 2)))
