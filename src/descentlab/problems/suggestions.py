r"""Suggested settings derived from the problem itself: its curvature, its data's scale, its minima.

The built-in problems keep the settings hand-picked for the book's figures; every problem built
from your own data, loss or model gets these instead, so that the defaults converge whatever the
data's scale. The rules are the book's stability conditions on a quadratic with Hessian
eigenvalues in [μ, L] (κ = L/μ), as the update rules declare them
(:mod:`descentlab.optimizers.gd`, :mod:`~descentlab.optimizers.momentum`,
:mod:`~descentlab.optimizers.nesterov`):

* gradient descent, e_{t+1} = (1 − αλ)·e_t, is stable for α < 2/L: ``gd_lr`` = **1/L**, half the
  limit, which contracts every direction monotonically (the steepest one in one step);
* the momentum family carries the factor (1−β) (eq. 6.11): its effective step is η = α(1−β). Heavy
  ball is stable for α < 2(1+β)/((1−β)L), Nesterov for α < 2(1+β)/((1+2β)(1−β)L). Where κ is known,
  β = (√κ−1)/(√κ+1) and **η = 1/L**, i.e. ``lr`` = 1/(L(1−β)): Nesterov's usual tuning, error rate
  1 − 1/√κ, well inside both limits;
* adaptive methods (Adam, AdaGrad, RMSProp) move each parameter by about α per step whatever the
  gradient's size, so ``adam_lr`` is a **length in parameter units** from the distance to cover,
  not a curvature;
* a line search's bracket reaches ``max_dist`` = 4/L along −g (the exact step gᵀg/gᵀHg lies in
  [1/L, 1/μ], so the bracket always holds a step that lowers the loss), with the book notebook's
  ratio ``thresh`` = 10⁻⁴·``max_dist``.

**A quadratic with a known minimum** (:func:`quadratic_suggestion`; linear regression, exactly,
from its sufficient statistics): the start lies where the loss exceeds the minimum by a gap G
given by the data's scale (:func:`~descentlab.problems.linear_regression.linear_regression` takes
G = 4·Σ(y − ȳ)², a line twice the data's spread off), a share 1 − f of it along the steepest
eigenvector and f = :data:`FLAT_SHARE` along the flattest — the path then shows the valley, and
even where κ is too large for any budget every method removes the steep part (a share 1 − f) of
the gap. (The flat displacement is √(fκ/(1−f)) times the steep one, at most :data:`FLAT_REACH`:
where κ is beyond any budget the start stays near the valley and its flat share is smaller.)
``steps`` is what Nesterov needs to bring the gap to :data:`TOLERANCE` of its start,
2·√κ·ln(f/TOLERANCE)/2 (its rate 1 − 1/√κ acts on the error, the gap goes with its square; the
factor 2 covers the transient of a double root and the rounding of α and β — simulating the two
eigen-directions needs up to 1.65 for κ up to 10⁵), within [:data:`MIN_STEPS`, :data:`MAX_STEPS`].
β is capped at 1 − 10/steps, so that heavy ball's steepest direction, which contracts by √β,
settles too, and at :data:`MAX_BETA`. ``adam_lr`` = 0.05·min_i w_i with w_i = √(2G/H_ii), the
distance along parameter i over which the loss rises by the gap: one step of α in each of the P
parameters raises the loss by at most (0.05·P)² of the gap. The share is a balance between
RMSProp, whose first steps are α/√(1−γ) = 10α (no bias correction) and which ends oscillating
with an amplitude that grows with α, and AdaGrad, whose steps shrink like 1/√t: on 1500 random
rescalings of a line fit each leaves under 7 % of the gap after the suggested steps (at least
:data:`MIN_STEPS`, for AdaGrad), Adam under 2 %.
The view holds the start and the minimum ± w_i. ``note`` says so when the steps cannot converge.

**A loss that turns out quadratic** (:func:`quadratic_part`: a model linear in its parameters,
such as ``p0 + p1*x + p2*x**2``, or a quadratic expression; up to :data:`QUADRATIC_MAX_PARAMS`
parameters): its Hessian, by central differences at the start and at a second point, is the same
at both (to 10⁻⁶) and positive definite, and a third point's loss agrees with the quadratic model.
Then the minimum φ* = φ − H⁻¹g is known (and drawn), and the settings are the quadratic's above,
with the gap of the given start (or, for a data fit without a start, DATA_GAP·Σ(y − ȳ)² as for a
line); one example's curvature is 2·max_i ‖∂f_i/∂φ‖².

**Any other problem** (:func:`suggest`, used by every constructor of your own problems):
``minima`` is empty unless given; the start is the one given or :func:`default_start`; ``steps``
= 100; L is the largest |eigenvalue| of the Hessian at the start, at the known minima and — when
a ``view`` of two parameters is given (a Gabor fit of your data) — at the lowest point of a 41 × 41
grid over it, where the figure will show the valley (its curvature may be ten times the start's), by
power iteration on Hessian-vector products (central differences of the gradient,
:func:`curvature`) — by Lanczos on the same products above :data:`FULL_HESSIAN_MAX_PARAMS`
parameters (:func:`lanczos_extreme`); when L cannot be estimated (not finite or numerically zero),
L = ‖g‖∞ / (0.1·max(1, ‖φ‖∞)), the curvature that makes the first step 10 % of the scale, or 1
when the gradient is zero too. Then ``gd_lr`` = 1/L; ``lr`` = 1/(2L(1 − β)) with the given β
(default 0.9), an effective step of 1/(2L) since the curvature away from the start is unknown;
``adam_lr`` = 0.1·s with s the distance ‖φ₀ − φ*‖∞ to the nearest known minimum, else the largest
of 1, ‖φ‖∞ and the length ‖H⁻¹g‖∞ of the Newton step when the Hessian is positive definite (at
most 100·max(1, ‖φ‖∞)) — for a data fit (a sum of squares, so the gap is at most L(φ₀)) at most
the quadratic's share :data:`ADAPTIVE_SHARE` of the shortest w_i = √(2·L(φ₀)/H_ii), so that a
stiff parameter (the rate c of ``a + b*exp(-c*x)``) is not thrown out of range by its first
step; each rounded to two significant digits; the line search's bracket as
above. ``view`` (the parameter box to
draw, for P = 2) is None unless given: the figures then frame the paths.

**Many parameters** (P > :data:`FULL_HESSIAN_MAX_PARAMS`): nothing P × P is formed, so that a
polynomial or a small network of 10⁴ parameters builds in bounded memory. The full Hessian
(:func:`hessian`: 2P gradients, P² numbers) is then not used: L comes from Lanczos as above (at
most :data:`_LANCZOS_ITERATIONS` products of O(P) memory each); the Newton step's length is not
estimated (``adam_lr`` = 0.1·max(1, ‖φ‖∞) without known minima); a data fit's H_ii are the
Gauss–Newton diagonal 2·Σ_m (∂f_m/∂φ_i)², from the Jacobian in slices of the data (exact for a
model linear in its parameters, such as a polynomial); and :func:`default_start` takes the
candidates' gradients one at a time, stopping at the first that qualifies (a finite-difference
gradient costs 2P calls). Up to the threshold every rule above is unchanged. With finite-difference
gradients each Hessian-vector product costs 4P calls of the function and carries the rounding of
the loss's size over both steps (ε·|L|/(10⁻⁴·∛ε)), so L is then good to ~10⁻⁵ rather than 10⁻⁶;
torch or JAX gradients make both cheap and exact (:mod:`~descentlab.problems.autodiff`).

Minibatches: see :meth:`~descentlab.problems.base.Suggested.value`, which scales the gradient
steps to a batch's curvature where the problem knows one example's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from descentlab import validation
from descentlab.errors import InputError
from descentlab.problems.base import Problem, Suggested, round_down

DEFAULT_STEPS = 100
DEFAULT_BETA = 0.9
# a quadratic with a known minimum (quadratic_suggestion):
MIN_STEPS = 150                        # suggested steps: at least (for AdaGrad's shrinking steps) …
MAX_STEPS = 2000                       # … and at most (the explorer's steps control stops there)
MAX_BETA = 0.99                        # the top of β's search range (tune, sweeps, the explorer's slider)
DATA_GAP = 4.0                         # a data fit's suggested start: loss − L_min = DATA_GAP·Σ(y − ȳ)²
QUADRATIC_MAX_PARAMS = 64              # up to this many parameters, a loss is tested for being quadratic
FLAT_SHARE = 0.02                      # f: the share of the start's gap along the flattest direction
FLAT_REACH = 30.0                      # the start lies at most this many steep lengths along the valley
TOLERANCE = 1e-6                       # the relative gap Nesterov reaches in the suggested steps
ADAPTIVE_SHARE = 0.05                  # adaptive α = this × the shortest distance w_i (see above)
BRACKET = 4.0                          # a line search's max_dist = BRACKET / L (any problem)
_STEPS_MARGIN = 2.0                    # see steps_for
_HESSIAN_STEP = 1e-4                   # differences of the gradient, for the curvature estimate
_POWER_ITERATIONS = 100
FULL_HESSIAN_MAX_PARAMS = 100          # up to this many parameters the full Hessian is formed (see above)
_LANCZOS_ITERATIONS = 60               # above it: Lanczos steps (Hessian-vector products) at most …
_LANCZOS_TOLERANCE = 1e-7              # … until the Ritz residual is this share of the eigenvalue …
_LANCZOS_STALL = 1e-9                  # … or one step moves the Ritz value by at most this share
_JACOBIAN_ELEMENTS = 1 << 22           # numbers per slice of the Jacobian (Gauss–Newton diagonal)
PLACEHOLDER = Suggested(start=(0.0,), lr=1.0, gd_lr=1.0, adam_lr=1.0)
"""What a problem carries until :func:`with_suggestion` replaces it with :func:`suggest`'s."""


def candidates(p: int) -> np.ndarray:
    rows = [np.resize([-1.5, 1.0, -0.5, 1.5, -1.0, 0.5], p), np.resize([1.0, -1.0], p), np.ones(p),
            np.full(p, 0.5), np.zeros(p), -np.ones(p), np.resize([2.0, -2.0], p), np.full(p, 3.0)]
    return np.array(rows, dtype=np.float64)


def default_start(problem: Problem) -> np.ndarray:
    """The first of a fixed list of points where the loss and gradient are finite and the gradient
    is not (numerically) zero: (−1.5, 1, −0.5, 1.5, −1, 0.5, …), (1, −1, …), 1, ½, 0, −1, (2, −2, …),
    3 (each cut or repeated to P numbers); else the first with a finite loss.

    Raises:
        ValueError: when the loss is not finite at any of them.
    """
    cands = candidates(problem.n_params)
    with np.errstate(all="ignore"):
        losses = np.asarray(problem.loss(cands), dtype=np.float64)
        if problem.n_params > FULL_HESSIAN_MAX_PARAMS:  # one gradient at a time: each costs 2P calls by FD
            for cand, loss in zip(cands, losses, strict=True):
                if np.isfinite(loss):
                    g = np.asarray(problem.grad(cand), dtype=np.float64)
                    if np.all(np.isfinite(g)) and np.max(np.abs(g)) > 1e-10 * max(1.0, abs(loss)):
                        return cand
            grads = np.full(cands.shape, np.nan)
        else:
            grads = np.asarray(problem.grad(cands), dtype=np.float64)
    finite = np.isfinite(losses) & np.all(np.isfinite(grads), axis=-1)
    moving = np.max(np.abs(grads), axis=-1) > 1e-10 * np.maximum(1.0, np.abs(losses))
    for ok in (finite & moving, np.isfinite(losses)):
        if ok.any():
            return cands[int(np.argmax(ok))]
    raise InputError(f"the loss of {problem.name!r} is not finite at any default start; give start=…")


def hessian(problem: Problem, point: Sequence[float]) -> np.ndarray:
    """The symmetrised central-difference Hessian of ``problem`` at ``point`` (from its gradient,
    with steps 1e-4·max(1, |φ_i|)), on all the data: 2P gradients and P² numbers, so the
    suggestions use it only up to :data:`FULL_HESSIAN_MAX_PARAMS` parameters."""
    phi = validation.point("point", point, problem.n_params)
    p = len(phi)
    h = _HESSIAN_STEP * np.maximum(1.0, np.abs(phi))
    shifts = np.diag(h)
    with np.errstate(all="ignore"):
        g = np.asarray(problem.grad(np.concatenate([phi + shifts, phi - shifts])), dtype=np.float64)
    width = (phi + h) - (phi - h)
    hess = (g[:p] - g[p:]) / width[:, None]
    return 0.5 * (hess + hess.T)


def _two_digits(v: float) -> float:
    return float(f"{v:.2g}")


def curvature(problem: Problem, points) -> float:
    """The largest |eigenvalue| of the Hessian of the loss (on all the data) at any of ``points``
    (shape (K, P) or (P,)), from Hessian-vector products taken as central differences of the
    gradient, Hv ≈ (g(φ + hv) − g(φ − hv))/2h with h = 10⁻⁴·max(1, ‖φ‖∞) (NaN where the gradient
    is not finite). Up to :data:`FULL_HESSIAN_MAX_PARAMS` parameters by power iteration, all points
    at once (each gradient call on 2K points; ‖Hv‖ for a unit v never exceeds the largest |λ| and
    rises to it); above, by Lanczos (:func:`lanczos_extreme`) at each point: a few dozen products
    where power iteration needs up to 100, in O(P) memory per product."""
    phi = np.atleast_2d(np.asarray(points, dtype=np.float64))
    k, p = phi.shape
    h = _HESSIAN_STEP * np.maximum(1.0, np.max(np.abs(phi), axis=1, keepdims=True))
    v = np.broadcast_to(np.random.default_rng(0).standard_normal(p), (k, p)).copy()
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    if p > FULL_HESSIAN_MAX_PARAMS:
        found = [lanczos_extreme(lambda u, x=x, s=float(s[0]): hessian_vector(problem, x, u, s), v[0])
                 for x, s in zip(phi, h, strict=True)]
        return float(np.max(found)) if np.all(np.isfinite(found)) else float("nan")
    estimate = np.zeros(k)
    for _ in range(_POWER_ITERATIONS):
        with np.errstate(all="ignore"):
            g = np.asarray(problem.grad(np.concatenate([phi + h * v, phi - h * v])), dtype=np.float64)
            hv = (g[:k] - g[k:]) / (2 * h)
            norm = np.linalg.norm(hv, axis=1)
        if not np.all(np.isfinite(norm)):
            return float("nan")
        done = np.abs(norm - estimate) <= 1e-6 * norm
        estimate = norm
        if np.all(done | (norm == 0)):
            break
        v = np.where(norm[:, None] > 0, hv / np.where(norm > 0, norm, 1.0)[:, None], v)
    return float(np.max(estimate))


def hessian_vector(problem: Problem, point: np.ndarray, v: np.ndarray, h: float) -> np.ndarray:
    """Hv at ``point`` by central differences of the gradient with step ``h`` along ``v``: one
    gradient call on two points."""
    with np.errstate(all="ignore"):
        g = np.asarray(problem.grad(np.stack([point + h * v, point - h * v])), dtype=np.float64)
    return (g[0] - g[1]) / (2.0 * h)


def lanczos_extreme(hvp, start: np.ndarray, iterations: int = _LANCZOS_ITERATIONS,
                    tolerance: float = _LANCZOS_TOLERANCE) -> float:
    """The largest |eigenvalue| of the symmetric operator ``hvp`` (v ↦ Hv) by Lanczos from
    ``start``, with full reorthogonalisation (``iterations`` vectors of P numbers): the Ritz value
    of largest magnitude once its residual β_j·|s_j| is at most ``tolerance`` times it (then it
    lies within that share of an eigenvalue), or one step moved it by at most
    :data:`_LANCZOS_STALL` of itself (the extreme Ritz values rise monotonically to the extreme
    eigenvalues, by steps that shrink geometrically), or the Krylov space is exhausted, or after
    ``iterations`` products; NaN when a product is not finite. A lower bound that converges to
    the largest |λ| much faster than power iteration when the top eigenvalues are close."""
    basis = np.empty((iterations, len(start)))
    diag: list[float] = []
    off: list[float] = []
    v = np.asarray(start, dtype=np.float64) / np.linalg.norm(start)
    estimate = 0.0
    for j in range(iterations):
        basis[j] = v
        w = np.asarray(hvp(v), dtype=np.float64)
        if not np.all(np.isfinite(w)):
            return float("nan")
        diag.append(float(v @ w))
        used = basis[:j + 1]
        for _ in range(2):                                   # twice is enough (Kahan–Parlett)
            w = w - used.T @ (used @ w)
        beta = float(np.linalg.norm(w))
        tri = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
        theta, vectors = np.linalg.eigh(tri)
        top = int(np.argmax(np.abs(theta)))
        previous, estimate = estimate, float(abs(theta[top]))
        if (beta * abs(vectors[-1, top]) <= tolerance * estimate or beta <= 1e-14 * max(estimate, 1e-300)
                or abs(estimate - previous) <= _LANCZOS_STALL * estimate):
            break
        off.append(beta)
        v = w / beta
    return estimate


def steps_for(kappa: float) -> int:
    """The steps Nesterov (η = 1/L, β = (√κ−1)/(√κ+1)) needs to bring a start with a share
    :data:`FLAT_SHARE` of its gap along the flattest direction to :data:`TOLERANCE` of that gap:
    2·√κ·ln(f/TOLERANCE)/2, within [:data:`MIN_STEPS`, :data:`MAX_STEPS`]."""
    if not math.isfinite(kappa):
        return MAX_STEPS
    return int(min(max(math.ceil(_nesterov_needs(kappa)), MIN_STEPS), MAX_STEPS))


def _nesterov_needs(kappa: float) -> float:
    return _STEPS_MARGIN * math.sqrt(kappa) * math.log(FLAT_SHARE / TOLERANCE) / 2.0


def momentum_beta(kappa: float, steps: int) -> float:
    """β = (√κ−1)/(√κ+1), at most 1 − 10/steps and :data:`MAX_BETA`, with 1 − β given to two
    significant digits."""
    beta = (math.sqrt(kappa) - 1.0) / (math.sqrt(kappa) + 1.0) if math.isfinite(kappa) else 1.0
    beta = min(beta, 1.0 - 10.0 / steps, MAX_BETA)
    return float(f"{1.0 - float(f'{1.0 - beta:.2g}'):.12g}")


def quadratic_suggestion(hessian, minimum, gap: float, *, smallest: float | None = None,
                         example_curvature: float | None = None, hint: str = "") -> Suggested:
    """The settings of a quadratic with a constant ``hessian`` and a known ``minimum`` (see the module
    docstring): a start whose loss exceeds the minimum by ``gap``, steps from κ, β and α from L and
    κ, the adaptive α from the distances w_i. ``smallest``: μ where the caller knows it better than
    the eigen-solver (which resolves μ only down to ~10⁻¹⁶·L); ``hint`` (e.g. "centre x") ends the
    note written when the suggested steps cannot converge."""
    h = np.asarray(hessian, dtype=np.float64)
    m = np.asarray(minimum, dtype=np.float64)
    lam, vectors = np.linalg.eigh(h)
    big = float(lam[-1])
    if not (big > 0 and math.isfinite(big) and gap > 0):
        raise InputError(f"cannot suggest settings for a Hessian with eigenvalues {lam.tolist()}")
    small = float(lam[0]) if smallest is None else float(smallest)
    kappa = big / small if small > 1e-15 * big else math.inf

    def oriented(v: np.ndarray) -> np.ndarray:  # first non-negligible component positive
        lead = v[np.argmax(np.abs(v) > 1e-12)]
        return v if lead >= 0 else -v

    # the flat displacement is r times the steep one: r²/κ : 1 splits the gap f : 1 − f, but the start
    # stays within FLAT_REACH steep lengths of the valley's floor where κ is beyond any budget
    reach = min(math.sqrt(FLAT_SHARE / (1 - FLAT_SHARE) * kappa), FLAT_REACH) if math.isfinite(kappa) else 0.0
    steep = math.sqrt(2.0 * gap / (big * (1.0 + reach * reach / kappa)))
    start = m + steep * oriented(vectors[:, -1]) + reach * steep * oriented(vectors[:, 0])
    steps = steps_for(kappa)
    beta = momentum_beta(kappa, steps)
    widths = np.sqrt(2.0 * gap / np.maximum(np.diag(h), 1e-300))     # w_i
    view = None
    if len(m) == 2:
        lo, hi = np.minimum(start, m - widths), np.maximum(start, m + widths)
        pad = 0.05 * (hi - lo)
        view = tuple((float(a), float(b)) for a, b in zip(lo - pad, hi + pad, strict=True))
    note = None
    if not math.isfinite(kappa) or _nesterov_needs(kappa) > steps:
        shown = "∞ (a flat direction)" if not math.isfinite(kappa) else f"{kappa:.2g}"
        note = (f"ill-conditioned: κ = {shown}; the suggested {steps} steps cannot reach the minimum along "
                f"the flattest direction (defaults still lower the loss, by the steep part of the gap)"
                f"{'; ' + hint if hint else ''}")
    return Suggested(
        start=tuple(float(v) for v in start), lr=round_down(1.0 / (big * (1.0 - beta))),
        gd_lr=round_down(1.0 / big), adam_lr=round_down(ADAPTIVE_SHARE * float(np.min(widths))),
        beta=beta, steps=steps, view=view, max_dist=round_down(BRACKET / big),
        thresh=round_down(1e-4 * BRACKET / big), curvature=big, example_curvature=example_curvature,
        kappa=kappa, note=note)


def quadratic_part(problem: Problem, point: Sequence[float]) -> tuple[np.ndarray, np.ndarray] | None:
    """(H, φ*) where the loss of ``problem`` is a quadratic with a positive-definite Hessian H and
    minimum φ* (see the module docstring), else None. ``point``: where to look first (the start)."""
    phi = validation.point("point", point, problem.n_params)
    if problem.n_params > QUADRATIC_MAX_PARAMS:
        return None
    h = problem.constant_hessian
    with np.errstate(all="ignore"):
        if h is None:
            h = hessian(problem, phi)
            away = phi + np.random.default_rng(1).uniform(0.5, 1.5, len(phi)) * np.maximum(1.0, np.abs(phi))
            scale = float(np.max(np.abs(h))) if np.all(np.isfinite(h)) else np.nan
            if not (np.isfinite(scale) and scale > 0):
                return None
            if np.max(np.abs(hessian(problem, away) - h)) > 1e-6 * scale:
                return None
        lam = np.linalg.eigvalsh(h)
        if not (np.all(np.isfinite(lam)) and lam[0] > 1e-15 * lam[-1] > 0):
            return None
        g = np.asarray(problem.grad(phi), dtype=np.float64)
        minimum = phi - np.linalg.solve(h, g)
        step = 0.5 * (minimum - phi)
        loss = float(problem.loss(phi))
        expected = loss + float(g @ step) + 0.5 * float(step @ h @ step)
        actual = float(problem.loss(phi + step))
    agrees = abs(actual - expected) <= 1e-6 * max(abs(loss), abs(actual), 1e-300)
    if not (np.all(np.isfinite(minimum)) and agrees):
        return None
    return h, minimum


def _quadratic(problem: Problem, phi: np.ndarray, given_start: bool,
               view) -> tuple[Suggested, np.ndarray] | None:
    """The settings of a problem whose loss is quadratic (:func:`quadratic_part`), and its minimum."""
    found = quadratic_part(problem, phi)
    if found is None:
        return None
    h, minimum = found
    y = getattr(problem, "y", None)
    with np.errstate(all="ignore"):
        gap = float(problem.loss(phi) - problem.loss(minimum))
        example = None
        if y is not None and hasattr(problem, "jacobian"):
            jac = np.asarray(problem.jacobian(minimum, problem.x), dtype=np.float64)
            example = float(2.0 * np.max(np.sum(jac * jac, axis=-1)))
    hint = "centring and scaling x (x − mean)/spread usually lowers κ" if y is not None else ""
    if y is not None and not given_start:
        spread = float(np.sum((y - np.mean(y)) ** 2))
        gap = DATA_GAP * (spread if spread > 0 else len(y) * max(float(np.mean(y)) ** 2, 1.0))
    if not (gap > 0 and math.isfinite(gap)):
        return None
    found_settings = quadratic_suggestion(h, minimum, gap, example_curvature=example, hint=hint)
    if given_start or y is None:
        found_settings = dataclasses.replace(found_settings, start=tuple(float(v) for v in phi), view=None)
    if view is not None:
        box = tuple((float(lo), float(hi)) for lo, hi in view)
        found_settings = dataclasses.replace(found_settings, view=box)
    return found_settings, minimum


def suggest(problem: Problem, start: Sequence[float] | None = None, *, steps: int = DEFAULT_STEPS,
            beta: float = DEFAULT_BETA, view=None) -> Suggested:
    """Settings for ``problem`` from its curvature at ``start`` and at its known minima (see the
    module docstring: "any other problem").

    Raises:
        ValueError: if the loss at the start is not finite.
    """
    steps = validation.integer("steps", steps, 1)
    beta = validation.unit_interval("beta (β)", beta)
    phi = default_start(problem) if start is None else validation.point("start", start, problem.n_params)
    with np.errstate(all="ignore"):
        loss = float(problem.loss(phi))
        g = np.asarray(problem.grad(phi), dtype=np.float64)
    if not np.isfinite(loss):
        raise InputError(f"the loss of {problem.name!r} at the start {phi.tolist()} is {loss}; "
                         "choose a start where it is finite")
    size = max(1.0, float(np.max(np.abs(phi))))
    grad_size = float(np.max(np.abs(g))) if np.all(np.isfinite(g)) else 0.0
    minima = np.asarray(problem.minima, dtype=np.float64).reshape(-1, problem.n_params)
    lowest = _lowest_in_view(problem, view) if view is not None else None
    big = curvature(problem, np.vstack([phi[None], minima, *([] if lowest is None else [lowest[None]])]))
    if not (np.isfinite(big) and big > 1e-9 * max(1.0, grad_size)):
        big = grad_size / (0.1 * size) if grad_size > 0 else 1.0
    scale = float(np.min(np.max(np.abs(minima - phi), axis=1))) if len(minima) else 0.0
    if not scale > 0:
        scale = max(size, _newton_length(problem, phi, g, grad_size, size))
    adam = 0.1 * scale
    if getattr(problem, "y", None) is not None:  # a sum of squares: L ≥ 0, so the gap is at most L(φ₀)
        with np.errstate(all="ignore"):
            diag = _hessian_diagonal(problem, phi)
            widths = np.sqrt(2.0 * (loss - (problem.min_loss or 0.0)) / np.maximum(diag, 1e-300))
        if np.all(np.isfinite(widths)) and np.min(widths) > 0:
            adam = min(adam, ADAPTIVE_SHARE * float(np.min(widths)))
    view = None if view is None else tuple((float(lo), float(hi)) for lo, hi in view)
    return Suggested(start=tuple(float(v) for v in phi),
                     lr=_two_digits(1.0 / (2.0 * big * (1.0 - beta))),
                     gd_lr=_two_digits(1.0 / big), adam_lr=_two_digits(adam), beta=beta,
                     steps=steps, view=view, max_dist=round_down(BRACKET / big),
                     thresh=round_down(1e-4 * BRACKET / big), curvature=float(big))


def _lowest_in_view(problem: Problem, view, resolution: int = 41) -> np.ndarray | None:
    """The lowest point of a ``resolution`` × ``resolution`` grid over ``view`` (two parameters), or
    None: where the figure will show the valley, so that its curvature — not only the start's, which
    may lie on a flat shoulder — sets the step (a Gabor fit of your data: the curvature at the start
    is a tenth of the valley's)."""
    if problem.n_params != 2:
        return None
    (a, b), (c, d) = view
    xx, yy = np.meshgrid(np.linspace(a, b, resolution), np.linspace(c, d, resolution))
    with np.errstate(all="ignore"):
        z = np.asarray(problem.loss(np.stack([xx, yy], axis=-1)), dtype=np.float64)
    if not np.any(np.isfinite(z)):
        return None
    k = int(np.nanargmin(np.where(np.isfinite(z), z, np.nan)))
    return np.array([xx.flat[k], yy.flat[k]])


def _newton_length(problem: Problem, phi: np.ndarray, g: np.ndarray, grad_size: float, size: float) -> float:
    """‖H⁻¹g‖∞ at most 100·``size`` where the Hessian is positive definite, else 0; not estimated
    (0) above :data:`FULL_HESSIAN_MAX_PARAMS` parameters."""
    if problem.n_params > FULL_HESSIAN_MAX_PARAMS:
        return 0.0
    h = hessian(problem, phi)
    eig = np.linalg.eigvalsh(h) if np.all(np.isfinite(h)) else np.array([np.nan])
    if np.all(np.isfinite(eig)) and eig.min() > 1e-9 * eig.max() > 0 and grad_size > 0:
        newton = float(np.max(np.abs(np.linalg.solve(h, g))))
        if np.isfinite(newton):
            return min(newton, 100.0 * size)
    return 0.0


def _hessian_diagonal(problem: Problem, phi: np.ndarray) -> np.ndarray:
    """|H_ii| of a data fit at ``phi``: from :func:`hessian` up to :data:`FULL_HESSIAN_MAX_PARAMS`
    parameters; above, the Gauss–Newton diagonal 2·Σ_m (∂f_m/∂φ_i)² (exact for a model linear in
    its parameters), from the Jacobian in slices of the data (O(P) numbers per datum)."""
    if problem.n_params <= FULL_HESSIAN_MAX_PARAMS:
        return np.abs(np.diag(hessian(problem, phi)))
    x = np.asarray(problem.x)  # type: ignore[attr-defined]
    rows = max(1, _JACOBIAN_ELEMENTS // problem.n_params)
    diag = np.zeros(problem.n_params)
    for i in range(0, len(x), rows):
        jac = np.asarray(problem.jacobian(phi, x[i:i + rows]), dtype=np.float64)  # type: ignore[attr-defined]
        diag += 2.0 * np.sum(jac * jac, axis=0)
    return diag


def with_suggestion(problem: Problem, start, steps: int, beta: float, view) -> Problem:
    """``problem`` with its suggested settings: a quadratic's (and its minimum, when none was given)
    where the loss turns out quadratic, with ``steps`` and ``beta`` where they differ from the
    defaults (α of the momentum family then from that β); else :func:`suggest`'s."""
    phi = default_start(problem) if start is None else validation.point("start", start, problem.n_params)
    found = _quadratic(problem, phi, start is not None or getattr(problem, "y", None) is None, view)
    if found is None:
        settings = suggest(problem, phi, steps=steps, beta=beta, view=view)
        return dataclasses.replace(problem, suggested=settings)
    settings, minimum = found
    if steps != DEFAULT_STEPS:
        settings = dataclasses.replace(settings, steps=validation.integer("steps", steps, 1))
    if beta != DEFAULT_BETA:
        beta = validation.unit_interval("beta (β)", beta)
        lr = round_down(1.0 / (settings.curvature * (1.0 - beta)))
        settings = dataclasses.replace(settings, beta=beta, lr=lr)
    minima = problem.minima if len(problem.minima) else minimum[None, :]
    return dataclasses.replace(problem, minima=minima, suggested=settings)


__all__ = ["ADAPTIVE_SHARE", "BRACKET", "DATA_GAP", "DEFAULT_BETA", "DEFAULT_STEPS", "FLAT_SHARE",
           "FULL_HESSIAN_MAX_PARAMS", "MAX_BETA", "MAX_STEPS", "MIN_STEPS", "PLACEHOLDER", "TOLERANCE",
           "candidates", "curvature", "default_start", "hessian", "hessian_vector", "lanczos_extreme",
           "momentum_beta", "quadratic_part", "quadratic_suggestion", "steps_for", "suggest",
           "with_suggestion"]
