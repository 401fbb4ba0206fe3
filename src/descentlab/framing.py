r"""What region of a function a 2-D view shows, and at what aspect.

A view frames the **function's interesting region**, not only the path that was run:

* the start φ_0 of every run and every iterate of each run that went all its steps (such a path is
  never off-screen);
* the minima: where the problem knows them, the one nearest each run's end; where it does not
  (your ``--loss``, a slice of a model), the minimum each run heads for, found by a damped Newton
  descent from its end (:func:`descend`), *with the way there* — which follows a curved valley,
  so Rosenbrock from (−1.5, 2) shows the whole banana down to (1, 1) — and the lowest minimum of a
  coarse scan around the runs when it is lower still (Rastrigin: the global minimum beside the
  starting basin) (:func:`landmarks`);
* a run that was stopped — diverged, or its loss **unbounded below** (:mod:`descentlab.divergence`)
  — only as far as it stays within reach of all that (one more extent of it on each side, at least
  1.5 × the coordinates' size), so ``x**2 - y**2`` from (1, 0.01) is drawn around its saddle and the
  figure says where the path leaves the view, instead of axes of ±10³².

The problem's own suggested view is used when it holds all of that. ``xlim``/``ylim`` replace an
axis's range.

**Aspect.** With equal axis scales a gradient step is drawn perpendicular to its contour, and line
search's zig-zag turns at right angles, as in the book's Figure 6.1; with unequal scales both are
skewed. So every contour view defaults to equal scales when its two ranges differ by at most
:data:`EQUAL_UP_TO` (an automatic view is then widened to a near-square box, showing more of the
landscape instead of leaving white space in its panel), and to ``auto`` — stretched to fill the
panel, marked "axes not to scale" — when the region is too long and thin for equal scales to
leave more than a sliver (a data fit whose intercept and slope live on different scales, say).
``aspect="equal"`` or ``"auto"`` overrides it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from descentlab import budget
from descentlab.errors import InputError
from descentlab.problems.base import Problem

Bounds = tuple[tuple[float, float], tuple[float, float]]

ASPECTS = ("equal", "auto")
"""``equal``: a unit of φ0 as long as a unit of φ1 on screen; ``auto``: each axis fills its panel."""

EQUAL_UP_TO = 3.0
"""With no aspect given, a view is drawn with equal scales when its two ranges differ by at most this
factor, else stretched to fill its panel (see the module docstring)."""

SQUARE = 0.8
"""An automatic view drawn with equal scales is widened until its shorter range is ≥ this × the longer."""

SCAN = 41
"""Grid points per axis of the coarse scan for minima (:func:`landmarks`)."""


def natural_scale(points: np.ndarray) -> float:
    """A length for the function's structure near ``points`` when nothing else gives one: at least 1,
    and as large as the coordinates themselves (test functions are built around the origin)."""
    finite = np.asarray(points, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return max(1.0, float(np.abs(finite).max())) if finite.size else 1.0


def descend(problem: Problem, seeds: np.ndarray, step_cap: float, iters: int = 80):
    """Damped Newton from every seed at once: ``(iterates (K+1, S, 2), converged (S,))``.

    Each step solves H·d = −g with a finite-difference Hessian of the analytic gradient (a short
    gradient step where H is not positive definite), is at most ``step_cap`` long and is halved until
    the loss decreases enough (Armijo, 10⁻⁴). A seed has converged at a local minimum when H is
    positive definite and the Newton decrement gᵀH⁻¹g is below 10⁻¹²·max(1, |L|).
    """
    x = np.array(seeds, dtype=np.float64).reshape(-1, 2)
    n = len(x)
    trials = 0.5 ** np.arange(48)
    eye = np.eye(2)
    trail, done = [x.copy()], np.zeros(n, dtype=bool)
    with np.errstate(all="ignore"):
        for _ in range(iters):
            loss, g = problem.loss(x), problem.grad(x)
            h = 1e-6 * np.maximum(1.0, np.abs(x))
            moved = problem.grad(x[:, None, :] + h[:, :, None] * eye)   # row i: the gradient at x + h_i·e_i
            hess = (moved - g[:, None, :]) / h[:, :, None]
            hess = 0.5 * (hess + np.swapaxes(hess, 1, 2))
            ok = np.isfinite(hess).all(axis=(1, 2)) & np.isfinite(g).all(axis=1) & np.isfinite(loss)
            safe = np.where(ok[:, None, None], hess, eye)
            lam = np.linalg.eigvalsh(safe)
            convex = ok & (lam[:, 0] > 1e-12 * np.maximum(1.0, np.abs(lam[:, 1])))
            newton = -np.linalg.solve(np.where(convex[:, None, None], safe, eye), g[..., None])[..., 0]
            norm = np.linalg.norm(g, axis=1, keepdims=True)
            d = np.where(convex[:, None], newton, -0.05 * step_cap * g / np.where(norm > 0, norm, 1.0))
            length = np.linalg.norm(d, axis=1, keepdims=True)
            d = np.where(length > step_cap, d * (step_cap / np.where(length > 0, length, 1.0)), d)
            slope = np.sum(g * d, axis=1)
            done = convex & (-slope <= 1e-12 * np.maximum(1.0, np.abs(loss)))
            step = np.full(n, np.nan)       # the first Armijo step length, tried 8 halvings at a time
            for lo in range(0, len(trials), 8):
                todo = np.flatnonzero(ok & ~done & np.isnan(step))
                if not len(todo):
                    break
                part = trials[lo:lo + 8]
                tried = problem.loss(x[todo, None, :] + part[None, :, None] * d[todo, None, :])
                good = np.isfinite(tried) & (
                    tried <= loss[todo, None] + 1e-4 * part[None, :] * np.minimum(slope[todo], 0.0)[:, None])
                found = good.any(axis=1)
                step[todo[found]] = part[np.argmax(good[found], axis=1)]
            go = ~np.isnan(step)
            x = np.where(go[:, None], x + np.where(go, step, 0.0)[:, None] * d, x)
            trail.append(x.copy())
            if not go.any():
                break
    return np.array(trail), done


def _grid_minima(problem: Problem, lo: np.ndarray, hi: np.ndarray, count: int = 4) -> np.ndarray:
    """The ``count`` lowest strict local minima of the loss on a SCAN × SCAN grid over [lo, hi]
    (interior points lower than their eight neighbours)."""
    gx, gy = np.linspace(lo[0], hi[0], SCAN), np.linspace(lo[1], hi[1], SCAN)
    rows = budget.chunk_rows(SCAN * (problem.n_examples or 1))  # per-example values bounded
    z = np.empty((SCAN, SCAN))
    with np.errstate(all="ignore"):
        for i in range(0, SCAN, rows):
            z[i:i + rows] = problem.loss(np.stack(np.meshgrid(gx, gy[i:i + rows]), axis=-1))
    z = np.where(np.isfinite(z), z, np.inf)
    inner = z[1:-1, 1:-1]
    lowest = np.isfinite(inner)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                lowest &= inner < z[1 + di:SCAN - 1 + di, 1 + dj:SCAN - 1 + dj]
    rows, cols = np.nonzero(lowest)
    order = np.argsort(inner[rows, cols])[:count]
    return np.column_stack([gx[cols[order] + 1], gy[rows[order] + 1]])


def landmarks(problem: Problem, core: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minima worth framing on a surface whose minima are unknown, and the way to them: ``(minima, way)``.

    From each seed (a run's end) :func:`descend` finds the minimum the run heads for, and the way
    there. A coarse scan of a box around ``core`` (the starts and paths, grown on each side by
    1.5 × their extent or their coordinates' size, whichever is larger) adds its lowest minimum when
    that is lower than all of those. Minima further than twice that reach are left out.
    """
    core = np.asarray(core, dtype=np.float64).reshape(-1, 2)
    seeds = np.asarray(seeds, dtype=np.float64).reshape(-1, 2)
    lo, hi = core.min(axis=0), core.max(axis=0)
    reach = 1.5 * max(float((hi - lo).max()), natural_scale(core))
    mid = (lo + hi) / 2
    scanned = _grid_minima(problem, mid - reach, mid + reach)
    trail, done = descend(problem, np.vstack([seeds, scanned]), step_cap=reach)
    ends = trail[-1]
    done &= np.all(np.abs(ends - mid) <= 2 * reach, axis=1)
    with np.errstate(all="ignore"):
        end_loss = problem.loss(ends)
    ours = np.flatnonzero(done[:len(seeds)])
    minima = [ends[i] for i in ours]
    way = [trail[:, i] for i in ours]
    theirs = np.flatnonzero(done[len(seeds):]) + len(seeds)
    if len(theirs):
        best = theirs[np.argmin(end_loss[theirs])]
        ref = min((float(end_loss[i]) for i in ours), default=np.inf)
        if not np.isfinite(ref) or end_loss[best] < ref - 1e-6 * max(1.0, abs(ref)):
            minima.append(ends[best])
    return _distinct(np.array(minima).reshape(-1, 2), 1e-6 * reach), \
        (np.vstack(way) if way else np.empty((0, 2)))


def _distinct(points: np.ndarray, tol: float) -> np.ndarray:
    kept: list[np.ndarray] = []
    for p in points:
        if all(np.linalg.norm(p - k) > tol for k in kept):
            kept.append(p)
    return np.array(kept).reshape(-1, 2)


def check_limits(name: str, limits: Sequence[float] | None) -> tuple[float, float] | None:
    """``xlim``/``ylim``: None, or two finite numbers, low < high."""
    if limits is None:
        return None
    try:
        lo, hi = (float(v) for v in limits)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be two numbers LOW,HIGH, e.g. -2,2; got {limits!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise InputError(f"{name} must be two finite numbers with LOW < HIGH, got {lo:g},{hi:g}")
    if max(abs(lo), abs(hi)) > LIMIT_MAGNITUDE or (hi - lo) < 1e-12 * max(abs(lo), abs(hi)):
        raise InputError(f"{name} {lo:g},{hi:g}: a drawn range must lie within ±{LIMIT_MAGNITUDE:g} and be "
                         "wider than 1e-12 of its size (float64 cannot draw it otherwise)")
    return lo, hi


LIMIT_MAGNITUDE = 1e100
"""The largest |value| of a drawn range (its width and grid must stay finite in float64)."""


def check_aspect(aspect: str | None) -> str | None:
    """``aspect``: None (the view decides), ``"equal"`` or ``"auto"``."""
    if aspect is not None and aspect not in ASPECTS:
        raise InputError(f"aspect must be {' or '.join(ASPECTS)}, got {aspect!r}")
    return aspect


def ratio(bounds: Bounds) -> float:
    """How many times longer the view's longer range is than its shorter (≥ 1)."""
    wx, wy = bounds[0][1] - bounds[0][0], bounds[1][1] - bounds[1][0]
    return max(wx, wy) / max(min(wx, wy), 1e-300)


def default_aspect(bounds: Bounds) -> str:
    """``"equal"`` when the ranges differ by at most :data:`EQUAL_UP_TO`, else ``"auto"``."""
    return "equal" if ratio(bounds) <= EQUAL_UP_TO else "auto"


@dataclass(frozen=True, eq=False)
class View:
    """What :func:`frame` decides: the box, the aspect, and the minima to star."""

    bounds: Bounds
    aspect: str                 # "equal" or "auto"
    minima: np.ndarray          # (K, 2): the known minima, or those found (all of them; filter with inside)
    found: bool                 # True when the minima were found numerically (the problem knows none)


def frame(problem: Problem, paths: Sequence[np.ndarray], stopped: Sequence[bool] | None = None, *,
          margin: float = 0.12, xlim: Sequence[float] | None = None, ylim: Sequence[float] | None = None,
          aspect: str | None = None, panel: float | None = None) -> View:
    """The view of ``problem`` for runs with iterates ``paths`` (see the module docstring).

    Args:
        paths: each run's iterates, (T+1, 2).
        stopped: per path, True when its run was stopped (diverged, unbounded below): it is framed
            only as far as it stays near the rest.
        margin: padding, as a fraction of the region's extent.
        xlim, ylim: (low, high) to show instead of the automatic range of that axis.
        aspect: ``"equal"``, ``"auto"`` or None to choose by :func:`default_aspect`.
        panel: width / height of the panel the view will fill, if known: an automatic view drawn
            with equal scales is widened to that shape (else to a near-square one).
    """
    xlim, ylim = check_limits("xlim", xlim), check_limits("ylim", ylim)
    aspect = check_aspect(aspect)
    paths = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in paths]
    paths = [p[np.isfinite(p).all(axis=1)] for p in paths]
    stopped = [False] * len(paths) if stopped is None else [bool(s) for s in stopped]
    if len(stopped) != len(paths):
        raise InputError(f"stopped has {len(stopped)} flags for {len(paths)} paths")
    whole = [p for p, s in zip(paths, stopped, strict=True) if len(p) and not s]
    gone = [p for p, s in zip(paths, stopped, strict=True) if len(p) and s]
    core = [*whole, *(p[:1] for p in gone)]
    core = np.vstack(core) if core else np.asarray([problem.suggested.start[:2]], dtype=np.float64)
    seeds = np.array([p[-1] for p in whole] + [p[0] for p in gone]).reshape(-1, 2)
    if not len(seeds):
        seeds = core[:1]
    found = len(problem.minima) == 0
    if found:
        minima, way = landmarks(problem, core, seeds)
        extra = np.vstack([minima, way])
    else:
        minima = problem.minima[:, :2]
        extra = minima[[int(np.argmin(np.linalg.norm(minima - s, axis=1))) for s in seeds]]
    auto = _automatic(problem, core, extra, gone, margin)
    bounds = (xlim or auto[0], ylim or auto[1])
    chosen = default_aspect(bounds) if aspect is None else aspect
    if chosen == "equal" and (xlim is None or ylim is None):
        bounds = _squared(bounds, xlim is not None, ylim is not None, panel)
    return View(bounds=bounds, aspect=chosen, minima=minima, found=found)


def view_bounds(problem: Problem, paths: Sequence[np.ndarray], margin: float = 0.12,
                diverged: Sequence[bool] | None = None) -> Bounds:
    """The automatic box of :func:`frame` (equal scales where they fit)."""
    return frame(problem, paths, diverged, margin=margin).bounds


def _squared(bounds: Bounds, keep_x: bool, keep_y: bool, panel: float | None) -> Bounds:
    """Widen an automatic range about its middle until the box has the panel's shape (width /
    height ``panel``, within 5%), or, with no panel, until its shorter side is ≥ SQUARE × the longer:
    drawn with equal scales, it then fills its panel with landscape rather than white space."""
    (x0, x1), (y0, y1) = bounds
    wx, wy = x1 - x0, y1 - y0
    shape, slack = (1.0, SQUARE) if panel is None else (float(panel), 0.95)
    if not keep_x and wx < slack * shape * wy:
        grow = (shape * wy - wx) / 2
        x0, x1 = x0 - grow, x1 + grow
    elif not keep_y and wy * shape < slack * wx:
        grow = (wx / shape - wy) / 2
        y0, y1 = y0 - grow, y1 + grow
    return (float(x0), float(x1)), (float(y0), float(y1))


def _automatic(problem: Problem, core: np.ndarray, extra: np.ndarray, gone: list[np.ndarray],
               margin: float) -> Bounds:
    """The box around ``core`` and ``extra``, and each stopped path in ``gone`` as far as it stays
    within reach; the problem's suggested view when that holds all of it."""
    must = np.vstack([core, extra])
    lo, hi = must.min(axis=0), must.max(axis=0)
    reach = max(float((hi - lo).max()), 1.5 * natural_scale(core))
    for p in gone:
        near = np.all((p >= lo - reach) & (p <= hi + reach), axis=1)
        upto = len(p) if near.all() else int(np.argmin(near))
        must = np.vstack([must, p[:upto]])
    lo, hi = must.min(axis=0), must.max(axis=0)
    view = problem.suggested.view
    if view is not None and all(view[k][0] <= lo[k] and hi[k] <= view[k][1] for k in range(2)):
        return (tuple(map(float, view[0])), tuple(map(float, view[1])))
    span = hi - lo
    pad = np.maximum(margin * span, 0.05 * max(float(span.max()), 1e-3))
    pad = np.maximum(pad, 0.5 * (0.25 * span.max() - span))  # keep the box from being a sliver
    lo, hi = lo - pad, hi + pad
    return ((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])))


def inside(points: np.ndarray, bounds: Bounds) -> np.ndarray:
    """The rows of ``points`` (K, 2) that lie in ``bounds``."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts[within(pts, bounds)]


def within(pts: np.ndarray, bounds: Bounds) -> np.ndarray:
    """True for each row of ``pts`` (K, 2) that lies in ``bounds``."""
    return ((bounds[0][0] <= pts[:, 0]) & (pts[:, 0] <= bounds[0][1])
            & (bounds[1][0] <= pts[:, 1]) & (pts[:, 1] <= bounds[1][1]))


def leaves_at(points: np.ndarray, bounds: Bounds) -> int | None:
    """The step t from which the path stays outside ``bounds`` to its end (None when it ends inside):
    where a run that ran away leaves the view for good."""
    inside = within(np.asarray(points, dtype=np.float64).reshape(-1, 2), bounds)
    if not len(inside) or inside[-1]:
        return None
    back = np.flatnonzero(inside)
    return int(back[-1]) + 1 if len(back) else 0
