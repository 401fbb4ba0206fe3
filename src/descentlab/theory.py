r"""Convergence rates on quadratics, in the book's parameterisation, checked against real runs.

On a quadratic with Hessian eigenvalues λ in [μ, L] (κ = L/μ) every method acts on each
eigen-direction separately. Write e_t for the error φ_t − φ* along one direction, so the gradient
is λ·e_t, and η = α(1−β) for the *effective step* of the book's momentum methods.

**Gradient descent** (eq. 6.3): e_{t+1} = (1 − αλ)·e_t, so ρ = |1 − αλ|.

**Momentum** (eq. 6.11, book form with the (1−β) factor). With s_t = (e_t, m_t):

.. math::
    m_{t+1} = \beta m_t + (1-\beta)\lambda e_t,\quad e_{t+1} = e_t - \alpha m_{t+1}
    \;\Rightarrow\; M = \begin{pmatrix} 1-\eta\lambda & -\alpha\beta \\ (1-\beta)\lambda & \beta \end{pmatrix}

Since −α·m_t = e_t − e_{t−1}, this is Polyak's heavy ball e_{t+1} = e_t − ηλe_t + β(e_t − e_{t−1})
with step η = α(1−β): characteristic polynomial z² − (1 + β − ηλ)z + β. Stable iff
0 < ηλ < 2(1+β), i.e. α < 2(1+β) / ((1−β)L). Optimal: β* = ((√κ−1)/(√κ+1))²,
η* = 4/(√L+√μ)², ρ* = (√κ−1)/(√κ+1).

**Nesterov** (eq. 6.12): the gradient is taken at e_t − αβ·m_t = e_t + β(e_t − e_{t−1}), so

.. math::
    M = \begin{pmatrix} 1-\eta\lambda & -\alpha\beta(1-\eta\lambda) \\
                        (1-\beta)\lambda & \beta(1-\eta\lambda) \end{pmatrix}

the Sutskever/PyTorch form y_t = e_t + β(e_t − e_{t−1}), e_{t+1} = y_t − ηλ·y_t: characteristic
polynomial z² − (1−ηλ)(1+β)z + β(1−ηλ). Jury's conditions give stability iff
0 < ηλ < 2(1+β)/(1+2β), i.e. α < 2(1+β) / ((1+2β)(1−β)L). The usual tuning η = 1/L,
β = (√κ−1)/(√κ+1) has ρ = 1 − 1/√κ; the optimum on quadratics (Lessard, Recht & Packard 2016) is
η* = 4/(3L+μ), β* = (√(3κ+1)−2)/(√(3κ+1)+2), ρ* = 1 − 2/√(3κ+1).

**Mapping to the usual forms**: the book's (α, β) is PyTorch's ``SGD(lr=α(1−β), momentum=β)``,
i.e. every "learning rate" η above is α(1−β); :func:`book_alpha` converts back.

The rate over the interval is ρ = max over λ in [μ, L] of the spectral radius of M; for all
three methods the maximum sits at λ = μ or λ = L (checked on a grid in the tests), which is what
:func:`rate` evaluates. :func:`observed_rate` measures the same quantity from a real run by
fitting the 2×2 map that carries (e_t, m_t) to (e_{t+1}, m_{t+1}) in each eigen-direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from descentlab import validation
from descentlab.errors import InputError


def linear_methods() -> tuple[str, ...]:
    """The registered methods that declare an iteration matrix (gd, sgd, momentum, nesterov …)."""
    from descentlab import optimizers

    return tuple(n for n, m in optimizers.methods().items() if m.linear is not None)


def _linear(method: str):
    from descentlab import optimizers

    linear = optimizers.get(method).linear
    if linear is None:
        raise InputError(f"theory covers the methods with an iteration matrix "
                         f"({', '.join(linear_methods())}); got {method!r}")
    return linear


def _spectrum(mu: float, L: float) -> tuple[float, float]:
    m, big = validation.positive("mu (μ)", mu), validation.positive("L", L)
    if big < m:
        raise InputError(f"L must be >= mu (μ), got mu={mu!r}, L={L!r}")
    return m, big


def iteration_matrix(method: str, alpha, beta, lam) -> np.ndarray:
    """The 2×2 map (e_t, m_t) → (e_{t+1}, m_{t+1}) for one eigenvalue λ, broadcast over arrays.

    Read from the method's registration (:class:`descentlab.optimizers.Linear`); gradient descent
    has no momentum: its matrix is diag(1 − αλ, 0).
    """
    a, b, lam = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (alpha, beta, lam)))
    return _linear(method).matrix({"lr": a, "beta": b}, lam)


def spectral_radius(method: str, alpha, beta, lam) -> np.ndarray:
    """ρ(α, β, λ): the largest |root| of the characteristic polynomial z² − tr·z + det."""
    return matrix_radius(iteration_matrix(method, alpha, beta, lam))


def matrix_radius(m: np.ndarray) -> np.ndarray:
    """The spectral radius of each 2×2 matrix of a stack ``(..., 2, 2)``."""
    tr = m[..., 0, 0] + m[..., 1, 1]
    det = m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0]
    disc = np.sqrt((tr * tr - 4.0 * det).astype(np.complex128))
    return np.maximum(np.abs((tr + disc) / 2.0), np.abs((tr - disc) / 2.0))


def rate(method: str, alpha, beta, mu: float, L: float) -> np.ndarray:
    """ρ = max over λ in [μ, L] of ρ(α, β, λ); ≥ 1 means the method does not converge."""
    mu, L = _spectrum(mu, L)
    return np.maximum(spectral_radius(method, alpha, beta, mu), spectral_radius(method, alpha, beta, L))


def stability_limit(method: str, beta, L: float) -> np.ndarray:
    """The largest stable α for a given β (the run converges for 0 < α below it)."""
    linear = _linear(method)
    if linear.stability_limit is None:
        raise InputError(f"{method} declares no stability limit")
    b = np.asarray(beta, dtype=np.float64)
    L = validation.positive("L", L)
    return np.broadcast_to(linear.stability_limit({"beta": b}, L), b.shape).copy()


def book_alpha(eta, beta) -> np.ndarray:
    """The book's α for an effective step η = α(1−β) (PyTorch's ``lr``)."""
    return np.asarray(eta, dtype=np.float64) / (1.0 - np.asarray(beta, dtype=np.float64))


@dataclass(frozen=True)
class Tuning:
    """Hyper-parameters in the book's form and the rate they give."""

    method: str
    alpha: float
    beta: float
    rho: float

    @property
    def iterations(self) -> int:
        """Steps to reduce the error a million-fold (see :func:`iterations_to_reduce`)."""
        return iterations_to_reduce(self.rho)

    def optimizer(self):
        """The :mod:`descentlab.optimizers` update rule with these hyper-parameters."""
        from descentlab import optimizers

        takes = optimizers.hyperparameter_names(self.method)
        return optimizers.make(self.method, lr=self.alpha, **({"beta": self.beta} if "beta" in takes else {}))


def tuning(method: str, name: str, mu: float, L: float) -> Tuning:
    """A closed-form tuning the method declares (``"optimal"``, ``"step 1/L"`` …) and its rate."""
    mu, L = _spectrum(mu, L)
    tunings = _linear(method).tunings
    if name not in tunings:
        raise InputError(f"{method} declares no tuning {name!r}; it has {', '.join(tunings) or 'none'}")
    hyper = tunings[name](mu, L)
    beta = float(hyper.get("beta", 0.0))
    return Tuning(method, float(hyper["lr"]), beta, float(rate(method, hyper["lr"], beta, mu, L)))


def optimal(method: str, mu: float, L: float) -> Tuning:
    """The best constant hyper-parameters on a quadratic with eigenvalues in [μ, L]."""
    tunings = _linear(method).tunings
    return tuning(method, "optimal" if "optimal" in tunings else next(iter(tunings)), mu, L)


def standard_nesterov(mu: float, L: float) -> Tuning:
    """Nesterov's usual tuning: step 1/L, momentum (√κ−1)/(√κ+1); ρ = 1 − 1/√κ."""
    return tuning("nesterov", "step 1/L", mu, L)


def reference_tunings(mu: float, L: float) -> dict[str, Tuning]:
    """Every closed-form tuning the linear methods declare, by label ``"method (tuning)"``: optimal
    gradient descent and heavy ball, the usual Nesterov (step 1/L) and the optimal Nesterov …
    (methods that share another's matrix, such as SGD, are left out)."""
    from descentlab import optimizers

    out, seen = {}, []
    for name in linear_methods():
        linear = optimizers.get(name).linear
        if linear in seen:
            continue
        seen.append(linear)
        for label in linear.tunings:
            out[f"{name} ({label})"] = tuning(name, label, mu, L)
    return out


def iterations_to_reduce(rho: float, factor: float = 1e6) -> int:
    """Steps k with ρ^k ≤ 1/factor: ⌈ln(factor) / −ln ρ⌉ (a huge number when ρ → 1)."""
    if not 0.0 <= rho < 1.0:
        raise InputError(f"a rate must be in [0, 1) to converge, got {rho!r}")
    if rho == 0.0:
        return 1
    return max(1, math.ceil(math.log(factor) / -math.log(rho)))


def observed_rate(problem, trajectory) -> float:
    """The per-step contraction of a real run on a quadratic problem, measured from the run.

    In each Hessian eigen-direction, the map (e_t, m_t) → (e_{t+1}, m_{t+1}) is fitted by least
    squares over every recorded step (each row scaled to unit size, so late, tiny errors count as
    much as early ones); the result is the largest spectral radius of the fitted maps. Gradient
    descent fits the scalar e_{t+1} = c·e_t.
    """
    hessian = _hessian(problem)
    lam, vectors = np.linalg.eigh(hessian)
    e = (trajectory.params - problem.minima[0]) @ vectors
    buffer = _linear(trajectory.optimizer).momentum
    has_m = buffer is not None and buffer in trajectory.buffers
    m = trajectory.buffers[buffer] @ vectors if has_m else None
    total = np.linalg.norm(np.column_stack([e, m]) if has_m else e, axis=1)[:-1]
    radii = []
    for k in range(len(lam)):
        now = np.column_stack([e[:-1, k], m[:-1, k]]) if has_m else e[:-1, k:k + 1]
        nxt = np.column_stack([e[1:, k], m[1:, k]]) if has_m else e[1:, k:k + 1]
        scale = np.linalg.norm(now, axis=1)
        # a direction that has decayed below the rounding of the others is noise from then on
        keep = (scale > 1e-250) & (scale > 1e-9 * total)
        if keep.sum() < now.shape[1] + 1:
            continue
        fit, *_ = np.linalg.lstsq(now[keep] / scale[keep, None], nxt[keep] / scale[keep, None], rcond=None)
        radii.append(float(np.max(np.abs(np.linalg.eigvals(fit.T)))))
    if not radii:
        return _reached_minimum_rate(np.column_stack([e, m]) if has_m else e)
    return max(radii)


def _reached_minimum_rate(state: np.ndarray) -> float:
    """The rate of a run too quick to fit a map: one that reaches the minimum (to rounding) in k
    steps — on a quadratic with κ = 1 the optimal tunings take one step — contracts on average by
    (‖s_k‖/‖s_0‖)^{1/k}, 0 when it lands exactly. Anything else is too short to measure."""
    norms = np.linalg.norm(state, axis=1)
    landed = np.flatnonzero(norms <= 1e-12 * norms[0]) if len(norms) >= 2 and norms[0] > 0 else []
    if len(landed) == 0 or landed[0] == 0:
        raise InputError("the run is too short (or already at the minimum) to measure its rate")
    k = int(landed[0])
    return float((norms[k] / norms[0]) ** (1.0 / k))


def _hessian(problem) -> np.ndarray:
    hessian = getattr(problem, "hessian", None)
    if hessian is None or callable(hessian):
        raise InputError(f"{problem.name!r} is not a quadratic with a constant Hessian")
    return np.asarray(hessian, dtype=np.float64)


def eigenvalue_range(problem) -> tuple[float, float]:
    """(μ, L) of a quadratic problem's constant Hessian."""
    lam = np.linalg.eigvalsh(_hessian(problem))
    return float(lam[0]), float(lam[-1])


# ---- what a diverged run should try ---------------------------------------------------------------

@dataclass(frozen=True)
class StepAdvice:
    """A value to try after a run diverged, from the curvature the run met.

    ``hyper`` is the hyper-parameter to change (``"lr"``, or ``"max_dist"`` for a line search),
    ``value`` the value to try, ``limit`` the largest stable value on a quadratic with that
    curvature (None where the method declares no limit), ``curvature`` the L used.
    """

    method: str
    hyper: str
    symbol: str
    value: float
    limit: float | None
    curvature: float | None

    def text(self, flag: str | None = None) -> str:
        """``"the curvature allows α < 0.0019 for gd: try --lr 0.001"`` (``flag``: how to set it)."""
        flag = flag or f"--{self.hyper.replace('_', '-')} "
        why = (f"the curvature allows {self.symbol} < {self.limit:.2g} for {self.method}: "
               if self.limit is not None else "")
        return f"{why}try {flag}{self.value:g}"


def _run_curvature(problem, trajectory) -> float | None:
    """L where the run went: the constant Hessian's, else the largest |eigenvalue| of the Hessian at
    the start, the last finite iterates and where their gradients were taken (power iteration)."""
    from descentlab.problems.suggestions import curvature

    hessian = getattr(problem, "constant_hessian", None)
    if hessian is not None:
        return float(np.max(np.abs(np.linalg.eigvalsh(hessian))))
    points = [trajectory.params[:1], trajectory.params[-3:], trajectory.lookahead[-3:]]
    pts = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, problem.n_params) for p in points])
    big = curvature(problem, pts[np.all(np.isfinite(pts), axis=1)])
    return big if np.isfinite(big) and big > 0 else None


def step_advice(problem, trajectory) -> StepAdvice | None:
    """What to try after ``trajectory`` diverged on ``problem`` (None if it did not, or when the
    method has no step to shrink).

    For a method with an iteration matrix (gd, sgd, momentum, Nesterov…) the largest stable α
    is its declared stability limit at the curvature L the run met (on a minibatch, the bound
    λ_B of the problem's suggestions where known: :meth:`~descentlab.problems.Suggested.value`):
    2/L for gradient descent, 2(1+β)/((1−β)L) for momentum, 2(1+β)/((1+2β)(1−β)L) for Nesterov,
    and the value to try is 0.7 of it cut to one significant digit. A line search gets the bracket
    4/L. Adaptive methods have no such limit (their α is a step in parameter units): they get the
    problem's suggested α, or a tenth of theirs. The advice is never larger than a tenth of the
    value that diverged when the limit does not explain the divergence.
    """
    from descentlab import optimizers
    from descentlab.problems.base import round_down

    if trajectory.diverged_at is None or trajectory.stop_reason == "unbounded below":
        return None
    method = optimizers.get(trajectory.optimizer) if trajectory.optimizer in optimizers.names() else None
    if method is None:
        return None
    hyper = dict(trajectory.hyperparams)
    big = _run_curvature(problem, trajectory)
    suggested = problem.suggested
    if big is not None and trajectory.batch_size is not None:
        big = suggested.batch_curvature(trajectory.batch_size) or big
    if "lr" in hyper:
        current = float(hyper["lr"])
        limit = None
        if method.linear is not None and method.linear.stability_limit is not None and big is not None:
            limit = float(method.linear.stability_limit({"beta": hyper.get("beta", 0.0)}, big))
            value = round_down(0.7 * limit, 1)
        else:
            spec = method.hyper("lr").suggest
            value = suggested.value(spec, trajectory.batch_size) if spec else None
            value = round_down(value, 1) if value else None
        if value is None or value >= current:  # the curvature does not explain it (current < limit)
            limit, value = None, round_down(0.1 * current, 1)
        return StepAdvice(method.name, "lr", method.hyper("lr").symbol, value, limit, big)
    if "max_dist" in hyper and big is not None:
        from descentlab.problems.suggestions import BRACKET

        current = float(hyper["max_dist"])
        value = round_down(BRACKET / big, 1)
        if value >= current:
            value = round_down(0.1 * current, 1)
        return StepAdvice(method.name, "max_dist", method.hyper("max_dist").symbol, value, None, big)
    return None
