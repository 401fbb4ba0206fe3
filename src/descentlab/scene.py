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

from descentlab import budget, framing, validation
from descentlab.errors import InputError
from descentlab.framing import ASPECTS, Bounds, view_bounds  # noqa: F401  (re-exported)
from descentlab.problems.base import Problem
from descentlab.problems.data_fit import DataFit
from descentlab.problems.slices import Slice, parameter_indices, slice_problem
from descentlab.trajectory import Trajectory


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
    stop_reason: str | None = None         # "completed", "diverged" or "unbounded below"
    leaves_at: int | None = None           # the first step outside the view (a run that ran away)
    drawn_losses: np.ndarray | None = None  # (T+1,) the drawn surface's loss at points: a slice's
    slice_gap: float | None = None         # on a slice: max_t |L[φ_t] − the slice's loss at φ_t|

    @property
    def on_surface(self) -> np.ndarray:
        """The heights that put the path on the drawn surface: the loss of the surface drawn (on a
        slice, not the run's own loss, whose other parameters differ), NaN outside the view."""
        return self.losses if self.drawn_losses is None else self.drawn_losses


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
    aspect: str = "auto"        # "equal": one unit of φ0 as long as one of φ1 (framing.ASPECTS)
    minima_found: bool = False  # the starred minima were found numerically (the problem knows none)
    note: str | None = None     # what the view leaves out or bends, in words (slices, stretched axes)

    @property
    def stretched(self) -> bool:
        """Drawn with unequal axis scales and ranges far from square: gradients are not drawn
        perpendicular to their contours, and the figure says so."""
        return self.aspect != "equal" and framing.ratio(self.bounds) > 1.5

    @property
    def has_data(self) -> bool:
        return self.data is not None


def numbered_steps(points: np.ndarray, bounds: Bounds, max_labels: int = 12,
                   min_gap: float = 0.06, avoid: np.ndarray | None = None) -> np.ndarray:
    """Which iterates to number so that labels neither crowd nor overlap.

    Greedy from the first iterate: a candidate (every k-th, at most ``max_labels``) is numbered
    when it lies at least ``min_gap`` (as a fraction of the view) from every numbered one and from
    every point of ``avoid`` (the starred minima, so that numbers do not pile onto a star). The
    first and the last iterate are always numbered.
    """
    n = len(points)
    if n == 0:
        return np.arange(0)
    scale = np.array([bounds[0][1] - bounds[0][0], bounds[1][1] - bounds[1][0]])
    unit = points[:, :2] / scale
    stars = np.empty((0, 2)) if avoid is None else np.asarray(avoid, dtype=np.float64).reshape(-1, 2) / scale
    stride = max(1, int(np.ceil((n - 1) / max(max_labels - 1, 1))))
    last = n - 1
    kept = [0]
    for t in range(stride, last, stride):
        if all(np.linalg.norm(unit[t] - unit[k]) >= min_gap for k in kept) and \
                np.linalg.norm(unit[t] - unit[last]) >= min_gap and \
                all(np.linalg.norm(unit[t] - star) >= min_gap for star in stars):
            kept.append(t)
    if last > 0:
        kept = [k for k in kept if k == 0 or np.linalg.norm(unit[k] - unit[last]) >= min_gap]
        kept.append(last)
    return np.array(kept)


def loss_grid(problem: Problem, bounds: Bounds, resolution: int = 150):
    """The loss on a resolution×resolution grid over ``bounds``: (grid_x, grid_y, L), evaluated a
    block of grid rows at a time so that a data problem's per-example values stay within
    :data:`descentlab.budget.MAX_GRID_VALUES` (row by row for a million examples)."""
    g = validation.integer("resolution", resolution, 2, budget.MAX_RESOLUTION)
    gx, gy = np.linspace(*bounds[0], g), np.linspace(*bounds[1], g)
    rows = budget.chunk_rows(g * (problem.n_examples or 1))
    z = np.empty((g, g))
    with np.errstate(all="ignore"):
        for i in range(0, g, rows):
            z[i:i + rows] = problem.loss(np.stack(np.meshgrid(gx, gy[i:i + rows]), axis=-1))
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


def slice_owner(trajectories: Sequence[Trajectory]) -> int:
    """The run a 2-D slice goes through: the one with the lowest final loss among those that went all
    their steps (among all of them when none did)."""
    trajs = list(trajectories)
    if not trajs:
        raise InputError("give at least one trajectory to draw")
    pool = [i for i, t in enumerate(trajs) if t.diverged_at is None] or list(range(len(trajs)))
    return min(pool, key=lambda i: (not np.isfinite(trajs[i].losses[-1]), float(trajs[i].losses[-1])))


def drawable(problem: Problem, trajectories: Sequence[Trajectory],
             keep: Sequence[str | int] | str | None = None,
             ) -> tuple[Problem, list[Trajectory], list[np.ndarray] | None]:
    """What a 2-D view draws: ``(problem, trajectories, full_params)``.

    A two-parameter problem with no ``keep`` is drawn as it is (``full_params`` None). Otherwise
    the view is the slice in the two parameters ``keep`` (default: the first two) through the final
    point of the best run (:func:`slice_owner`: the lowest final loss), which its name says; the
    runs are cut to those two parameters, and ``full_params`` holds each run's iterates in all
    parameters (figures use them for the model lines and the full start). A path is drawn on the
    slice's surface (:attr:`Path.on_surface`); its own loss differs where its other parameters
    differ from the slice's, by :attr:`Path.slice_gap` at most, which figures report.
    """
    trajs = list(trajectories)
    if keep is None and problem.n_params == 2:
        return problem, trajs, None
    if problem.n_params < 2:
        raise InputError(f"a 2-D view needs two parameters; {problem.name!r} has {problem.n_params}")
    names = parameter_indices(tuple(problem.param_names),
                              keep if keep is not None else problem.param_names[:2])
    if len(names) != 2:
        raise InputError(f"a slice keeps two parameters, e.g. {','.join(problem.param_names[:2])}; "
                         f"got {keep!r}")
    owner = trajs[slice_owner(trajs)]
    point = np.asarray(owner.final, dtype=np.float64)
    held = [i for i in range(problem.n_params) if i not in names]
    name = None
    if held:
        fixed = ", ".join(f"{problem.param_names[i]}={point[i]:.4g}" for i in held)
        who = "the run's" if len(trajs) == 1 else (
            f"{owner.optimizer}'s" if [t.optimizer for t in trajs].count(owner.optimizer) == 1
            else f"{owner.label}'s")
        name = f"{problem.name} — 2-D slice at {fixed} ({who} final point)"
    view = slice_problem(problem, names, at=point, name=name)
    return view, [slice_trajectory(t, names) for t in trajs], [t.params for t in trajs]


def build(problem: Problem, trajectories: Trajectory | Sequence[Trajectory], *,
          resolution: int = 150, log_levels: bool | None = None, bounds: Bounds | None = None,
          max_labels: int = 12, full_params: Sequence[np.ndarray] | None = None,
          xlim: Sequence[float] | None = None, ylim: Sequence[float] | None = None,
          aspect: str | None = None, panel: float | None = None) -> Scene:
    """The scene for ``problem`` and one or more trajectories of it (two-parameter problems).

    Args:
        resolution: grid points per axis for the surface and contours.
        log_levels: log-spaced contour levels (default: the problem's preference).
        bounds: ((φ0_min, φ0_max), (φ1_min, φ1_max)) to override the automatic view
            (:func:`descentlab.framing.frame`).
        max_labels: at most this many iterates get a number per path.
        full_params: for a 2-D slice of a model with more parameters, each run's iterates in all
            its parameters, so that model lines are those of the whole iterate.
        xlim, ylim: (low, high) of one axis instead of the automatic range (they win over ``bounds``).
        aspect: ``"equal"``, ``"auto"``, or None: equal scales where the view's ranges allow
            (:func:`descentlab.framing.default_aspect`).
        panel: width / height of the contour panel, if the renderer knows it: an automatic view
            drawn with equal scales takes its shape.
    """
    trajs = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
    if problem.n_params != 2:
        raise InputError(f"a contour view needs a 2-parameter problem; "
                         f"{problem.name!r} has {problem.n_params}")
    for t in trajs:
        if t.params.shape[1] != 2:
            raise InputError(f"trajectory {t.label} has {t.params.shape[1]} parameters, the problem 2")
    budget.check_surface(resolution, problem.examples_per_loss)  # the grid and the framing scan
    stopped = [t.diverged_at is not None for t in trajs]
    if bounds is not None:
        xlim = bounds[0] if xlim is None else xlim
        ylim = bounds[1] if ylim is None else ylim
    frame = framing.frame(problem, [t.params for t in trajs], stopped, xlim=xlim, ylim=ylim, aspect=aspect,
                          panel=panel)
    bounds = frame.bounds
    gx, gy, z = loss_grid(problem, bounds, resolution)
    log = problem.log_levels if log_levels is None else bool(log_levels)
    min_loss = problem.min_loss
    data = model_x = None
    if isinstance(problem, DataFit):
        data = (problem.x, problem.y)
        lo, hi = float(problem.x.min()), float(problem.x.max())
        pad = 0.05 * (hi - lo or 1.0)
        model_x = np.linspace(lo - pad, hi + pad, 200)
    predict = None
    if isinstance(problem, DataFit):  # only models of data have lines to draw; a surface has none
        # a slice of a model: the line of each iterate uses all of its parameters
        predict = (getattr(problem, "base", problem) if full_params is not None else problem).predict
    whole = full_params if full_params is not None else [t.params for t in trajs]
    stars = framing.inside(frame.minima, bounds)
    paths = tuple(
        _path(problem, t, params, bounds, max_labels, stars,
              None if predict is None else predict(params, model_x))
        for t, params in zip(trajs, whole, strict=True))
    return Scene(
        title=problem.name, param_names=tuple(problem.param_names),
        bounds=bounds, grid_x=gx, grid_y=gy, surface=z,
        levels=contour_levels(z, log=log, floor=min_loss), log_levels=log,
        minima=stars, min_loss=min_loss, paths=paths,
        data=data, data_labels=(getattr(problem, "x_label", "x"), getattr(problem, "y_label", "y")),
        model_x=model_x, aspect=frame.aspect, minima_found=frame.found,
        note=_note(problem, paths, frame.aspect, bounds),
    )


def _path(problem: Problem, t: Trajectory, params: np.ndarray, bounds: Bounds, max_labels: int,
          stars: np.ndarray, model_lines: np.ndarray | None) -> Path:
    """One run as drawn: numbered iterates (none on a star), where it leaves the view, and its heights
    on the drawn surface (a slice's loss, NaN outside the view)."""
    pts = t.params
    on_slice = isinstance(problem, Slice) and problem.base.n_params > 2
    with np.errstate(all="ignore"):
        drawn = np.asarray(problem.loss(pts), dtype=np.float64) if on_slice else t.losses.astype(np.float64)
        diffs = np.abs(t.losses - drawn)
    diffs = diffs[np.isfinite(diffs)]
    gap = float(diffs.max()) if on_slice and diffs.size else None
    outside = ~framing.within(pts, bounds)
    return Path(label=t.label, optimizer=t.optimizer, points=pts, losses=t.losses,
                lookahead=t.lookahead, numbered=numbered_steps(pts, bounds, max_labels, avoid=stars),
                model_lines=model_lines, diverged_at=t.diverged_at, grads=t.grads,
                hyperparams=dict(t.hyperparams), stop_reason=t.stop_reason,
                leaves_at=framing.leaves_at(pts, bounds), drawn_losses=np.where(outside, np.nan, drawn),
                slice_gap=gap)


def _note(problem: Problem, paths: Sequence[Path], aspect: str, bounds: Bounds) -> str | None:
    """What the view bends or leaves out, in words, or None."""
    notes = []
    gaps = [p.slice_gap for p in paths if p.slice_gap is not None]
    if gaps:
        whose = "its" if len(paths) == 1 else "a run's"
        notes.append(f"drawn on the slice: where {whose} other parameters differ from the slice's, "
                     f"{whose} own loss differs (by up to {max(gaps):.3g})")
    gone = [p for p in paths if p.leaves_at is not None]
    for p in gone:
        notes.append(f"{p.optimizer} leaves the view at step {p.leaves_at}")
    if aspect != "equal" and framing.ratio(bounds) > 1.5:
        notes.append("axes not to scale: gradients are not drawn perpendicular to the contours")
    ill = problem.suggested.note
    if ill and paths and max(len(p.points) - 1 for p in paths) <= problem.suggested.steps:
        notes.append(ill)   # too ill-conditioned for the steps run: say so where the figure is seen
    return "; ".join(notes) or None


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
    """The smallest L − L_min float64 resolves near L_min (:func:`floored` draws no gap below it)."""
    return 4.0 * float(np.finfo(np.float64).eps) * max(1.0, abs(min_loss or 0.0))


def floored(gap: np.ndarray, floor: float) -> tuple[np.ndarray, int | None]:
    """A loss-gap curve for a log axis, honest about float64: ``(curve, k)`` where k is the first
    step whose gap is at or below ``floor`` (:func:`gap_floor`), None if none is. The curve is the
    gap, ending at step k drawn at the floor; later gaps at or below it are left out (nan) rather
    than drawn as a flat line at the floor, which would look like a converged value."""
    g = np.array(gap, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        low = g <= floor
    if not low.any():
        return g, None
    k = int(np.argmax(low))
    g[low] = np.nan
    g[k] = floor
    return g, k


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
    alpha, beta = _lookahead_hypers(trajectory)
    t = validation.integer("step", step, 0, max(trajectory.steps - 1, 0))
    if trajectory.steps == 0:
        raise InputError("the trajectory has no steps to show")
    return _step(problem, trajectory, t, alpha, beta)


def lookahead_steps(problem: Problem, trajectory: Trajectory) -> tuple[LookaheadStep, ...]:
    """:func:`lookahead_step` at every step t = 0 … T − 1 (the run checked once). On all the data
    (no minibatches) both gradients of every step come from one call each on the stacked points."""
    alpha, beta = _lookahead_hypers(trajectory)
    t_max = trajectory.steps
    if trajectory.batches is not None or t_max == 0:
        return tuple(_step(problem, trajectory, t, alpha, beta) for t in range(t_max))
    phi, m = trajectory.params[:t_max], trajectory.momentum[:t_max]
    ahead = phi - alpha * beta * m
    g_ahead, g_here = problem.grad(ahead), problem.grad(phi)
    return tuple(LookaheadStep(step=t, alpha=alpha, beta=beta, phi=phi[t], momentum=m[t], lookahead=ahead[t],
                               grad_lookahead=g_ahead[t], grad_here=g_here[t], batch=None)
                 for t in range(t_max))


def _lookahead_hypers(trajectory: Trajectory) -> tuple[float, float]:
    """(α, β) of a run whose method takes its gradient ahead of φ_t; a clear error otherwise."""
    from descentlab import optimizers

    known = optimizers.methods().get(trajectory.optimizer)
    if known is None or not known.lookahead or trajectory.momentum is None \
            or not {"lr", "beta"} <= set(trajectory.hyperparams):
        takes = ", ".join(n for n, m in optimizers.methods().items() if m.lookahead)
        raise InputError(f"the look-ahead view explains methods that take their gradient ahead of φ_t "
                         f"({takes}); {trajectory.optimizer} does not")
    return trajectory.hyperparams["lr"], trajectory.hyperparams["beta"]


def _step(problem: Problem, trajectory: Trajectory, t: int, alpha: float, beta: float) -> LookaheadStep:
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
    return step_views(pts[None, :, :2], pad)[0]


def steps_bounds(steps: tuple[LookaheadStep, ...], params: np.ndarray, pad: float = 0.35) -> list[Bounds]:
    """:func:`step_bounds` of every step at once, each with φ_{t−1} (``params[t − 1]``) from t = 1."""
    if not steps:
        return []
    phi = np.array([g.phi[:2] for g in steps])
    ahead = np.array([g.lookahead[:2] for g in steps])
    alpha_grad = np.array([[g.alpha * (1.0 - g.beta)] for g in steps])
    before = np.array([params[g.step - 1, :2] if g.step > 0 else g.phi[:2] for g in steps])
    nesterov = ahead - alpha_grad * np.array([g.grad_lookahead[:2] for g in steps])
    momentum = ahead - alpha_grad * np.array([g.grad_here[:2] for g in steps])
    return step_views(np.stack([phi, ahead, nesterov, momentum, before], axis=1), pad)


def step_views(points: np.ndarray, pad: float = 0.35) -> list[Bounds]:
    """For each set of points (S, K, 2): the square, ``pad`` of its side beyond their extent on each
    side, centred on them (drawn with equal aspect)."""
    lo, hi = points.min(axis=1), points.max(axis=1)
    side = (1 + 2 * pad) * np.maximum((hi - lo).max(axis=1), 1e-9)
    mid = (lo + hi) / 2
    return [((float(m[0] - h), float(m[0] + h)), (float(m[1] - h), float(m[1] + h)))
            for m, h in zip(mid, side / 2, strict=True)]
