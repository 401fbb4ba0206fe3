"""An optional compiled path for sweeps on quadratics (``pip install 'descentlab[fast]'``, numba).

On a problem with a constant Hessian H = V·diag(λ)·Vᵀ and all the data at every step, every
method that registers an iteration matrix (:class:`descentlab.optimizers.Linear`: gradient
descent, momentum eq. 6.11, Nesterov eq. 6.12 …) acts on each eigen-direction separately: with
e = Vᵀ(φ − φ*) and m in the same basis, (e, m) ← M(α, β, λ_k)·(e, m), and
L − L_min = ½ Σ λ_k e_k². The matrices come from the registry (computed once per configuration
and direction by numpy), so this kernel knows no update rule of its own. It runs the recurrences
for every configuration in one fused, parallel loop (numba ``prange``), leaving a configuration as
soon as it diverges, or, once it is below the tolerance and its monotone envelope (see
:func:`descentlab.sweep.envelope_forms`) proves it stays there, finishing it with the iteration
matrix raised to the remaining steps. "Steps to tolerance" is the step from which the gap stays
at or below the tolerance to the end of the budget. It computes the same quantities as the numpy path
(which runs :mod:`descentlab.optimizers` itself); they differ by rounding only, and the tests hold
the two together.

numba is imported with this module, and this module only when a compiled sweep runs.
"""

from __future__ import annotations

import numba
import numpy as np


def _kernel(mats, lam, e0, steps, safe_tol, tol, floor, bound, stable, forms, final, reached, diverged):
    n_dirs = lam.size
    for c in numba.prange(mats.shape[0]):
        e = e0.copy()
        m = np.zeros(n_dirs)
        gap = 0.0
        for k in range(n_dirs):
            gap += 0.5 * lam[k] * e[k] * e[k]
        entered = 0 if gap <= tol else -1
        gone = -1
        last = floor + gap
        t = 0
        while t < steps:
            gap = 0.0
            for k in range(n_dirs):
                e_k = mats[c, k, 0] * e[k] + mats[c, k, 1] * m[k]
                m[k] = mats[c, k, 2] * e[k] + mats[c, k, 3] * m[k]
                e[k] = e_k
                gap += 0.5 * lam[k] * e_k * e_k
            t += 1
            last = floor + gap
            if not bound[0] <= last <= bound[1]:  # divergence.limits: (low, high); NaN too
                gone = t
                entered = -1
                break
            if gap > tol:
                entered = -1
            elif entered < 0:
                entered = t
            if entered >= 0 and stable[c] and t < steps:
                envelope = 0.0
                for k in range(n_dirs):
                    envelope += 0.5 * lam[k] * (forms[c, k, 0] * e[k] * e[k]
                                                + 2.0 * forms[c, k, 1] * e[k] * m[k]
                                                + forms[c, k, 2] * m[k] * m[k])
                if envelope <= safe_tol:  # no later step can rise above the tolerance: jump to the end
                    last = floor + _jump_gap(mats[c], lam, e, m, steps - t)
                    break
        reached[c] = entered
        diverged[c] = gone
        final[c] = np.nan if gone >= 0 else last


def _jump_gap(mats, lam, e, m, n):
    """½ Σ λ_k e_k² after n more steps, by squaring each direction's 2×2 iteration matrix."""
    total = 0.0
    for k in range(lam.size):
        m00, m01, m10, m11 = mats[k, 0], mats[k, 1], mats[k, 2], mats[k, 3]
        r00, r01, r10, r11 = 1.0, 0.0, 0.0, 1.0
        p = n
        while p > 0:
            if p & 1:
                r00, r01, r10, r11 = (r00 * m00 + r01 * m10, r00 * m01 + r01 * m11,
                                      r10 * m00 + r11 * m10, r10 * m01 + r11 * m11)
            p >>= 1
            if p > 0:
                m00, m01, m10, m11 = (m00 * m00 + m01 * m10, m00 * m01 + m01 * m11,
                                      m10 * m00 + m11 * m10, m10 * m01 + m11 * m11)
        end = r00 * e[k] + r01 * m[k]
        total += 0.5 * lam[k] * end * end
    return total


_jump_gap = numba.njit(cache=True)(_jump_gap)
_kernel = numba.njit(parallel=True, cache=True)(_kernel)


def run_quadratic(matrices: np.ndarray, lam: np.ndarray, e0: np.ndarray, steps: int, safe_tol: float,
                  tol: float, floor: float, bound: tuple[float, float], stable: np.ndarray,
                  forms: np.ndarray):
    """(final loss, steps to tol, diverged at) for every configuration; see the module docstring.

    ``matrices`` and ``forms`` (the envelopes of :func:`descentlab.sweep.envelope_forms`) have
    shape (configurations, eigen-directions, 2, 2); a stable configuration whose envelope is
    ≤ ``safe_tol`` is finished by the jump.
    """
    n = matrices.shape[0]
    final, reached, diverged = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    mats = np.ascontiguousarray(matrices.reshape(n, lam.size, 4), dtype=np.float64)
    _kernel(mats, np.ascontiguousarray(lam, dtype=np.float64), np.ascontiguousarray(e0, dtype=np.float64),
            steps, safe_tol, tol, floor, (float(bound[0]), float(bound[1])), np.ascontiguousarray(stable),
            np.ascontiguousarray(forms.reshape(n, lam.size, 4)[..., [0, 1, 3]], dtype=np.float64),
            final, reached, diverged)
    return final, reached, diverged
