r"""An optional compiled path for sweeps on problems that are not quadratic (``descentlab[fast]``, numba).

A method that registers an iteration matrix (:class:`descentlab.optimizers.Linear`) takes one
gradient per step at a point linear in its state and updates the state linearly in that gradient.
On a quadratic with curvature λ the registry gives its 2×2 map of (e, m), e = φ − φ*:

.. math::
    M(\lambda) = A + \lambda\, u\, p^\top,

where A = M(0) is the step without a gradient, p holds the gradient point's coefficients on
(e, m) and u the gradient's coefficients in the update (the gradient there is λ·pᵀ(e, m)). So on
any problem, with g = ∇L at the gradient point,

.. math::
    \psi_t = \phi_t + c\, m_t,\qquad
    \phi_{t+1} = \phi_t + A_{01}\, m_t + u_0\, g, \qquad m_{t+1} = A_{11}\, m_t + u_1\, g,
    \qquad g = \nabla L[\psi_t],

with c = p₁/p₀ (gradient descent: A₀₁ = c = 0 and no m; momentum eq. 6.11: c = 0, A₀₁ = −αβ,
A₁₁ = β, u = (−α(1−β), 1−β); Nesterov eq. 6.12: c = −αβ, the look-ahead). :func:`coefficients`
reads (c, A₀₁, A₁₁, u₀, u₁) off the registry's matrices for every configuration — evaluated at
λ = 0 and, entry by entry, at a power of two λ_ij where λ_ij·B_ij is about A_ij, so that
B = (M(λ) − A)/λ keeps full precision however small α is — and checks what the update assumes:
M affine in λ (checked at 2λ_ij), B of rank one, A₀₀ = 1 and A₁₀ = 0 (the step commutes with
moving the origin). When a check fails it returns None and the sweep takes its numpy path
(:meth:`descentlab.sweep._Engine.general` also checks the coefficients against the optimizer's own
step); a new linear method needs no code here.

:func:`run` is the kernel. It vectorises *across* configurations: a parallel loop (numba
``prange``, both cores) over blocks of :data:`BLOCK` configurations taken strided across the grid
(so a region that diverges early does not leave one core idle), the state of a block in
(parameter, lane) arrays allocated once per block, each step a few contiguous loops over the lanes
(SIMD) and one pass of branch-free masks. The model enters as *block functions*
``vg_block(points, grads, losses, x, y, alive, scratch)`` (losses and gradients at the P × BLOCK
points) and, optionally, ``value_block(points, losses, x, y, alive, scratch)`` (the loss alone,
cheaper where the gradient is taken elsewhere). Where the gradient point is φ itself (c = 0) one
call per step gives both the loss at φ_{t+1} and the next gradient. It records what the numpy path
of :func:`descentlab.sweep.sweep` records, by the same rules: the loss at every φ_t; a run stopped
at the first step whose loss leaves :func:`descentlab.divergence.limits` (NaN included, at either
end) or whose momentum holds a non-finite number (:func:`descentlab.divergence.diverged` with the
state's buffer); "entered", the step from which the gap L − L_min stayed ≤ tol to the end. Every
:data:`CHECK_EVERY` steps a diverged lane is retired (it stands still at φ_0), and a block with no
live lane stops. The results equal the numpy path's up to rounding (the tests hold them together
cell by cell).

Models (:func:`model_for`): the Gabor fit has hand-written block functions whose sin, cos and exp
are branch-free polynomials (fdlibm's), so the loop over the lanes becomes SIMD instructions; an
expression surface (:mod:`descentlab.problems.expression_numba`) gets the same from the source of
its generated ``vg`` run once per lane (checked against ``vg``); any other compiled model in the
convention ``L = vg(phi, grad_out, x, y)`` (expression models of data) is called once per live lane
(:func:`per_configuration`). numba is imported only when a compiled sweep first runs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

BLOCK = 64
"""Configurations per block: the SIMD loops' length and the unit of parallel work."""
CHECK_EVERY = 8
"""Steps between the passes that retire diverged configurations (a block with none left stops)."""
LINEAR_RTOL = 1e-9
"""Relative tolerance of the structure checks of :func:`coefficients` (rounding passes, a
different structure does not)."""
prange = range  # numba.prange once compiled (see _compiled)


class Coefficients(NamedTuple):
    """Per configuration (arrays of length n): ψ = φ + c·m, φ' = φ + a01·m + u0·g, m' = a11·m + u1·g."""

    c: np.ndarray
    a01: np.ndarray
    a11: np.ndarray
    u0: np.ndarray
    u1: np.ndarray

    def stacked(self) -> np.ndarray:
        """Shape (n, 5), C-contiguous: what the kernel reads."""
        return np.ascontiguousarray(np.stack(self, axis=-1), dtype=np.float64)


def coefficients(matrix: Callable[[Mapping[str, Any], Any], np.ndarray], hyper: Mapping[str, Any], n: int,
                 momentum: bool = True) -> Coefficients | None:
    """The update's coefficients for ``n`` configurations from the registry's ``matrix(hyper, λ)``
    (see the module docstring), or None where the method is not of that form.

    ``hyper`` maps names to scalars or arrays of length ``n``; ``momentum`` False: the method keeps
    no m (gradient descent), so the map must not read it (A₀₁ = c = 0)."""
    cols = {k: np.asarray(v, dtype=np.float64) if isinstance(v, np.ndarray) else v for k, v in hyper.items()}
    per_entry = {k: v.reshape(-1, 1) if isinstance(v, np.ndarray) else v for k, v in cols.items()}

    def at(lam) -> np.ndarray:
        """M(λ) for one λ per configuration, shape (n, 2, 2)."""
        return np.broadcast_to(np.asarray(matrix(cols, lam), dtype=np.float64), (n, 2, 2))

    def entries(lam) -> np.ndarray:
        """M_ij at λ_ij for every entry: one call with the four λ of each configuration, shape (n, 2, 2)."""
        out = np.asarray(matrix(per_entry, lam.reshape(n, 4)), dtype=np.float64)
        diagonal = np.arange(4)  # entry e of M at the e-th λ
        return np.broadcast_to(out, (n, 4, 2, 2)).reshape(n, 4, 4)[:, diagonal, diagonal].reshape(n, 2, 2)

    with np.errstate(all="ignore"):
        a = at(np.zeros(n))
        if not np.all(np.isfinite(a)):
            return None
        b, lam = _slopes(entries, a)
        step = 2.0 * lam * b
        twice = entries(2.0 * lam)
        if not np.all(np.abs(twice - a - step) <= LINEAR_RTOL * np.maximum(np.abs(a), np.abs(step))):
            return None  # not affine in λ
        still = np.abs(a[:, 0, 0] - 1.0) <= LINEAR_RTOL
        if not (np.all(still) and np.all(np.abs(a[:, 1, 0]) <= LINEAR_RTOL)):
            return None  # the step without a gradient must not move φ by φ itself
        row = np.argmax(np.abs(b[:, :, 0]), axis=1)
        pivot = b[np.arange(n), row, 0]
        if not np.all((pivot != 0) & np.isfinite(pivot)):
            return None
        c = b[np.arange(n), row, 1] / pivot
        u0, u1 = b[:, 0, 0], b[:, 1, 0]
        rebuilt = b[:, :, 0] * c[:, None]
        size = np.maximum(np.abs(b[:, :, 1]), np.abs(rebuilt))
        if not np.all(np.abs(b[:, :, 1] - rebuilt) <= LINEAR_RTOL * size):
            return None  # B is not u·pᵀ with p = (1, c)
        if not momentum and not (np.all(c == 0) and np.all(a[:, 0, 1] == 0)):
            return None
        if not all(np.all(np.isfinite(v)) for v in (c, a[:, 0, 1], a[:, 1, 1], u0, u1)):
            return None
        return Coefficients(c, a[:, 0, 1].copy(), a[:, 1, 1].copy(), u0.copy(), u1.copy())


def _slopes(entries: Callable[[np.ndarray], np.ndarray], a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """B = (M(λ) − A)/λ entry by entry, each at its own power of two λ_ij chosen so that λ_ij·|B_ij|
    is about |A_ij| (about 1 where A_ij = 0): then M(λ) − A cancels no digits of B (at λ = 1,
    1 − α(1−β)·λ − 1 would keep only the digits of α(1−β) above 1's last bit). An entry whose slope
    does not show at λ = 1 is looked for at 2⁶⁴, 2²⁵⁶ and 2⁷⁶⁸ first (α down to 1e-230); then each
    λ_ij is refined from the estimate. Returns (B, λ); λ = 1 where B_ij = 0."""
    lam = np.ones(a.shape)
    b = np.zeros(a.shape)
    target = np.where(a != 0, np.abs(a), 1.0)
    for power in (0.0, 64.0, 256.0, 768.0):
        hidden = b == 0
        if power and not hidden.any():
            break
        probe = np.where(hidden, 2.0 ** power, lam)
        estimate = (entries(probe) - a) / probe
        found = hidden & np.isfinite(estimate) & (estimate != 0)
        b = np.where(found, estimate, b)
        lam = np.where(found, probe, lam)
    for _ in range(6):
        want = np.where(b != 0, np.exp2(np.clip(np.round(np.log2(target / np.abs(b))), -900, 900)), 1.0)
        if np.array_equal(want, lam):
            break
        estimate = (entries(want) - a) / want
        ok = np.isfinite(estimate)
        b = np.where(ok, estimate, b)
        lam = np.where(ok, want, lam)
    return b, np.where(b == 0, 1.0, lam)


def _blocks(vg_block, value_block, coef, has_m, phi0, loss0, steps, tol, floor, low, high, count, x, y,
            final, reached, diverged, params):
    """The kernel of :func:`run`: ``coef`` (n, 5) as :meth:`Coefficients.stacked`; the model as block
    functions (see :func:`per_configuration`)."""
    n = coef.shape[0]
    n_params = phi0.size
    block = BLOCK  # a compile-time constant: the SIMD loops' trip count
    n_blocks = (n + block - 1) // block
    start_below = loss0 - floor <= tol
    for b in prange(n_blocks):
        width = (n - b + n_blocks - 1) // n_blocks  # lanes l hold configurations b + l·n_blocks < n
        c = np.zeros(block)
        a01 = np.zeros(block)
        a11 = np.zeros(block)
        u0 = np.zeros(block)
        u1 = np.zeros(block)
        phi = np.empty((n_params, block))  # (parameter, lane): each row contiguous across configurations
        m = np.zeros((n_params, block))
        point = np.empty((n_params, block))
        g = np.empty((n_params, block))
        spare = np.empty((n_params, block))
        scratch = np.empty((2, n_params))
        loss = np.full(block, loss0)
        finite = np.ones(block, dtype=np.bool_)
        alive = np.zeros(block, dtype=np.bool_)
        gone = np.zeros(block, dtype=np.int64)  # padding lanes count as gone at step 0
        entered = np.full(block, 0 if start_below else -1, dtype=np.int64)
        fused = True
        for lane in range(width):
            j = b + lane * n_blocks
            c[lane] = coef[j, 0]
            a01[lane] = coef[j, 1]
            a11[lane] = coef[j, 2]
            u0[lane] = coef[j, 3]
            u1[lane] = coef[j, 4]
            alive[lane] = True
            gone[lane] = -1
            fused = fused and c[lane] == 0.0  # the gradient point is φ: one call per step
        for k in range(n_params):
            for lane in range(block):
                phi[k, lane] = phi0[k]
        running = width
        if fused and steps > 0:
            vg_block(phi, g, spare[0], x, y, alive, scratch)  # ∇L[φ_0]; its loss is loss0
            if count != 1.0:
                _divide(g, count)
        t = 0
        while t < steps and running > 0:
            stop = min(t + CHECK_EVERY, steps)
            while t < stop:
                t += 1
                if not fused:
                    for k in range(n_params):
                        for lane in range(block):
                            point[k, lane] = phi[k, lane] + c[lane] * m[k, lane]
                    vg_block(point, g, loss, x, y, alive, scratch)
                    if count != 1.0:
                        _divide(g, count)
                if has_m:
                    for lane in range(block):
                        finite[lane] = True
                    for k in range(n_params):
                        for lane in range(block):
                            mk = m[k, lane]
                            gk = g[k, lane]
                            phi[k, lane] = phi[k, lane] + a01[lane] * mk + u0[lane] * gk
                            mk = a11[lane] * mk + u1[lane] * gk
                            m[k, lane] = mk
                            finite[lane] = finite[lane] & (mk - mk == 0.0)  # False for ±inf and NaN
                else:
                    for k in range(n_params):
                        for lane in range(block):
                            phi[k, lane] = phi[k, lane] + u0[lane] * g[k, lane]
                if fused:
                    vg_block(phi, g, loss, x, y, alive, scratch)
                    if count != 1.0:
                        _divide(g, count)
                elif value_block is None:
                    vg_block(phi, spare, loss, x, y, alive, scratch)
                else:
                    value_block(phi, loss, x, y, alive, scratch)
                if count != 1.0:
                    for lane in range(block):
                        loss[lane] = loss[lane] / count
                for lane in range(block):  # branch-free masks: divergence.diverged, then "entered"
                    value = loss[lane]
                    inside = (value <= high) & (value >= low) & finite[lane]  # False for NaN
                    gone[lane] = t if (gone[lane] < 0) & (not inside) else gone[lane]
                    entered[lane] = -1 if value - floor > tol else (t if entered[lane] < 0 else entered[lane])
            for lane in range(width):  # housekeeping: a diverged lane stops counting and stands still
                if alive[lane] and gone[lane] >= 0:
                    alive[lane] = False
                    running -= 1
                    c[lane] = a01[lane] = a11[lane] = u0[lane] = u1[lane] = 0.0
                    for k in range(n_params):
                        phi[k, lane] = phi0[k]
                        m[k, lane] = 0.0
        for lane in range(width):
            j = b + lane * n_blocks
            for k in range(n_params):
                params[j, k] = phi[k, lane]
            diverged[j] = gone[lane]
            if gone[lane] >= 0:
                final[j] = np.nan
                reached[j] = -1
            else:
                final[j] = loss[lane] if steps > 0 else loss0
                reached[j] = entered[lane]


def _divide(grads, count):
    """∂L/∂φ of a sum made the mean's: every entry divided by the examples counted."""
    for k in range(grads.shape[0]):
        for lane in range(grads.shape[1]):
            grads[k, lane] = grads[k, lane] / count


@functools.cache
def _compiled():
    """The compiled kernel: numba is imported here, on the first compiled sweep."""
    import numba

    globals()["prange"] = numba.prange
    globals()["_divide"] = numba.njit(inline="always")(_divide)
    return numba.njit(parallel=True, error_model="numpy")(_blocks)


def run(vg_block, coefficients: Coefficients | np.ndarray, phi0, steps: int, tol: float, floor: float,
        bound: tuple[float, float], x: np.ndarray, y: np.ndarray, *, value_block=None, momentum: bool = True,
        loss0: float, count: float = 1.0, params: np.ndarray | None = None):
    """(final loss, steps to tol, diverged at) of every configuration; see the module docstring.

    Args:
        vg_block: the model as a compiled block function (:func:`per_configuration` makes one from a
            ``vg(phi, grad_out, x, y) -> L``; :attr:`Model.vg_block`).
        coefficients: from :func:`coefficients` (or its :meth:`~Coefficients.stacked` array).
        phi0: φ_0, shape (P,).
        steps, tol, floor, bound: the budget, the tolerance on L − floor, L_min (0 when unknown)
            and the band of :func:`descentlab.divergence.limits`.
        x, y: the data (empty arrays for a problem without data).
        value_block: optionally, the loss alone as a block function (cheaper where the gradient is
            taken elsewhere).
        momentum: whether the method keeps m (its finiteness is then part of the divergence rule).
        loss0: L[φ_0] as the caller computed it.
        count: the block functions' loss and gradient are divided by this (N for a model of a
            sum used as a mean, :class:`~descentlab.problems.MeanFit`; 1 otherwise).
        params: optionally (n, P) float64, receives φ_T (meaningless where the run diverged).
    """
    coef = coefficients.stacked() if isinstance(coefficients, Coefficients) else \
        np.ascontiguousarray(coefficients, dtype=np.float64)
    n = coef.shape[0]
    phi0 = np.ascontiguousarray(phi0, dtype=np.float64)
    final, reached, diverged = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    params = np.empty((n, phi0.size)) if params is None else params
    if n == 0:
        return final, reached, diverged
    x, y = (np.ascontiguousarray(v, dtype=np.float64) for v in (x, y))
    _compiled()(vg_block, value_block, coef, bool(momentum), phi0, float(loss0), int(steps), float(tol),
                float(floor), float(bound[0]), float(bound[1]), float(count), x, y, final, reached, diverged,
                params)
    return final, reached, diverged


# ---- models as block functions ---------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def per_configuration(vg):
    """Block functions for a compiled ``vg(phi, grad_out, x, y) -> L`` (the compiled-model
    convention): ``vg_block(points, grads, losses, x, y, alive, scratch)`` fills ``losses[l]`` and
    ``grads[:, l]`` for every live lane l of ``points`` (P, BLOCK), one call of ``vg`` per lane
    through two rows of ``scratch`` (2, P); ``value_block(points, losses, x, y, alive, scratch)``
    the losses alone."""
    import numba

    def vg_block(points, grads, losses, x, y, alive, scratch):
        one = scratch[0]
        grad = scratch[1]
        for lane in range(points.shape[1]):
            if alive[lane]:
                for k in range(points.shape[0]):
                    one[k] = points[k, lane]
                losses[lane] = vg(one, grad, x, y)
                for k in range(points.shape[0]):
                    grads[k, lane] = grad[k]

    return numba.njit(error_model="numpy")(vg_block), None


# The Gabor model on a block of configurations, vectorised across them: sin, cos and exp written
# as the branch-free polynomials of fdlibm/musl (range reduction, then minimax polynomials), so that
# the compiler turns the loop over the lanes into SIMD instructions; accurate to about an ulp.

_TWO_OVER_PI = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e+00  # π/2 in three parts: 33 + 33 + 53 bits (fdlibm's rem_pio2)
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_2T = 2.02226624879595063154e-21
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11
_INV_LN2 = 1.44269504088896338700e+00
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # fdlibm's split of ln 2
_REDUCE_LIMIT = 1e5
"""Beyond |z| = 1e5 the three-part reduction loses digits; there exp(−z²/32) = 0 exactly, so any
finite sin, cos will do (the Gabor model is 0 there either way)."""


def _sin_cos(z):
    """(sin z, cos z): z = k·π/2 + r, |r| ≤ π/4, then fdlibm's kernels and the quadrant of k.
    NaN and ±∞ give NaN; a finite |z| > :data:`_REDUCE_LIMIT` gives finite values (see there)."""
    a = abs(z)
    z = 0.0 if (a > _REDUCE_LIMIT) & (a < np.inf) else z
    k = np.floor(z * _TWO_OVER_PI + 0.5)
    r = ((z - k * _PIO2_1) - k * _PIO2_2) - k * _PIO2_2T
    r2 = r * r
    r4 = r2 * r2
    sr = r + r2 * r * (_S1 + r2 * (_S2 + r2 * (_S3 + r2 * _S4) + r2 * r4 * (_S5 + r2 * _S6)))
    cp = r2 * (_C1 + r2 * (_C2 + r2 * _C3)) + r4 * r4 * (_C4 + r2 * (_C5 + r2 * _C6))
    half = 0.5 * r2
    w = 1.0 - half
    cr = w + (((1.0 - w) - half) + r2 * cp)
    q = k - 4.0 * np.floor(0.25 * k)  # the quadrant, 0…3
    odd = (q == 1.0) | (q == 3.0)
    s = cr if odd else sr
    c = sr if odd else cr
    s = -s if q >= 2.0 else s
    c = -c if (q == 1.0) | (q == 2.0) else c
    return s, c


def _exp_nonpositive(w):
    """exp(w) for w ≤ 0 (or NaN): w = k·ln 2 + r, |r| ≤ ln 2 / 2, a degree-13 Taylor polynomial
    in r (truncation below 5e-18), times 2^k built from its bits in two halves (so that results
    in the subnormal range come out right); 0 below −746, NaN for NaN."""
    k = np.floor(w * _INV_LN2 + 0.5)
    k = k if k > -1080.0 else -1080.0
    r = (w - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (
        1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (
            1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600 + r * (1.0 / 6227020800)))))))))))))
    n = np.int64(k)
    half = n >> 1
    low = np.int64((half + 1023) << 52).view(np.float64)
    high = np.int64((n - half + 1023) << 52).view(np.float64)
    out = p * low * high
    return 0.0 if w < -746.0 else out


def _gabor_block(points, grads, losses, x, y, alive, scratch):
    """L and ∂L/∂φ of the Gabor model (sum of squared errors) for every lane of ``points`` (2, BLOCK):
    the fused sums of :mod:`descentlab.problems.gabor`, data outside, lanes inside (SIMD)."""
    block = BLOCK
    for lane in range(block):
        losses[lane] = 0.0
        grads[0, lane] = 0.0
        grads[1, lane] = 0.0
    for i in range(x.shape[0]):
        xi = x[i]
        yi = y[i]
        for lane in range(block):
            z = points[0, lane] + 0.06 * points[1, lane] * xi
            s, c = _sin_cos(z)
            e = _exp_nonpositive(-z * z / 32.0)
            r = s * e - yi
            losses[lane] += r * r
            d = 2.0 * r * e * (c - z * s / 16.0)
            grads[0, lane] += d
            grads[1, lane] += d * xi
    for lane in range(block):
        grads[1, lane] = 0.06 * grads[1, lane]


def _gabor_value_block(points, losses, x, y, alive, scratch):
    """L alone of the Gabor model for every lane (no cos, no derivative)."""
    block = BLOCK
    for lane in range(block):
        losses[lane] = 0.0
    for i in range(x.shape[0]):
        xi = x[i]
        yi = y[i]
        for lane in range(block):
            z = points[0, lane] + 0.06 * points[1, lane] * xi
            s, _ = _sin_cos(z)
            r = s * _exp_nonpositive(-z * z / 32.0) - yi
            losses[lane] += r * r


@functools.cache
def _gabor():
    """The Gabor model's block functions (sum of squared errors), compiled (numba imported here)."""
    import numba

    inline = numba.njit(inline="always", error_model="numpy")
    module = globals()
    module["_sin_cos"] = inline(_sin_cos)
    module["_exp_nonpositive"] = inline(_exp_nonpositive)
    jit = numba.njit(error_model="numpy")
    return jit(_gabor_block), jit(_gabor_value_block)


class Model(NamedTuple):
    """A problem's compiled model as block functions (see :func:`per_configuration`), and its data."""

    vg_block: Callable
    value_block: Callable | None
    x: np.ndarray
    y: np.ndarray
    count: float = 1.0
    """What the block functions' loss and gradient are divided by (N where they sum a mean's terms)."""


def model_for(problem) -> Model | None:
    """The compiled model of ``problem`` (the Gabor fit or an expression problem, summed or averaged
    over the examples), or None where there is none (the sweep then takes its numpy path)."""
    from descentlab.problems import ExpressionModel, ExpressionSurface, Gabor, MeanFit

    mean = isinstance(problem, MeanFit)
    base = problem.base if mean else problem
    if type(base) is Gabor:  # exactly: a subclass may change the model
        vg, value = _gabor()
        return Model(vg, value, np.ascontiguousarray(base.x, dtype=np.float64),
                     np.ascontiguousarray(base.y, dtype=np.float64), float(base.n_examples) if mean else 1.0)
    if type(base) in (ExpressionModel, ExpressionSurface):
        from descentlab.problems import expression_numba

        vg = expression_numba.compile_value_and_grad(problem)
        if vg is None:
            return None
        x, y = expression_numba.data_arrays(problem)
        lanes = _surface_lanes(problem, vg) if type(base) is ExpressionSurface else None
        return Model(*(lanes or per_configuration(vg)), x, y)
    return None


_PARAM = re.compile(r"\bphi\[(\d+)\]")
_GRAD = re.compile(r"^grad_out\[(\d+)\] = ")


def _surface_lanes(problem, vg) -> tuple[Callable, Callable] | None:
    """Block functions (value and gradient, value alone) for an expression surface with the lanes
    as their loop: the body of the generated ``vg``
    (:func:`descentlab.problems.expression_numba.source_for`, straight-line code for a surface) run
    once per lane, ``phi[k]`` read as ``points[k, lane]`` — so the compiler vectorises across
    configurations; the value alone drops the gradient's stores (and with them the reverse pass).
    None (the caller then calls ``vg`` per lane) where the source is not straight-line code or the
    result differs from ``vg`` at test points."""
    from descentlab.problems import expression_numba

    source = expression_numba.source_for(problem.expression, tuple(problem.param_names))
    if source is None:
        return None
    head, *body = source.rstrip().splitlines()
    if not head.startswith("def vg(") or not body or any(not line.startswith("    ") for line in body):
        return None
    both, alone = [], []
    for line in (line[4:] for line in body):
        if line.startswith(("for ", "while ", "if ")):
            return None
        if line.startswith("return "):
            line = "losses[lane] = " + line[len("return "):]
        grad = _GRAD.match(line) is not None
        line = _GRAD.sub(lambda mt: f"grads[{mt.group(1)}, lane] = ", _PARAM.sub(r"points[\1, lane]", line))
        both.append("        " + line)
        if not grad:
            alone.append("        " + line)
    loop = "    for lane in range(points.shape[1]):\n"
    text = ("def vg_block(points, grads, losses, x, y, alive, scratch):\n" + loop + "\n".join(both) + "\n"
            "def value_block(points, losses, x, y, alive, scratch):\n" + loop + "\n".join(alone) + "\n")
    return _compile_lanes(text, vg, problem.n_params)


@functools.lru_cache(maxsize=64)
def _compile_lanes(text: str, vg, n_params: int):
    """The block functions of source ``text``, compiled once per process (None if that fails or
    they differ from ``vg``)."""
    import numba

    from descentlab.problems import expression_numba

    helpers = getattr(expression_numba, "_numba", lambda: None)()
    namespace: dict = {"__builtins__": {"range": range}, "np": np, **(helpers[1] if helpers else {})}
    try:
        exec(compile(text, "<descentlab surface lanes>", "exec"), namespace)  # generated from the tape
        jit = numba.njit(error_model="numpy")
        block, value = jit(namespace["vg_block"]), jit(namespace["value_block"])
        return (block, value) if _same(block, value, vg, n_params) else None
    except Exception:
        return None


def _same(block, value, vg, n_params: int) -> bool:
    """Whether the block functions give what ``vg`` gives, lane by lane, at random points."""
    rng = np.random.default_rng(0)
    points = np.ascontiguousarray(rng.standard_normal((n_params, BLOCK)))
    grads, losses, alone = np.empty((n_params, BLOCK)), np.empty(BLOCK), np.empty(BLOCK)
    empty, alive, scratch = np.empty(0), np.ones(BLOCK, dtype=np.bool_), np.empty((2, n_params))
    block(points, grads, losses, empty, empty, alive, scratch)
    value(points, alone, empty, empty, alive, scratch)
    for lane in range(BLOCK):
        grad = np.empty(n_params)
        loss = vg(np.ascontiguousarray(points[:, lane]), grad, empty, empty)
        got = [losses[lane], alone[lane], *grads[:, lane]]
        if not np.array_equal([loss, loss, *grad], got, equal_nan=True):
            return False
    return True
