"""An optional compiled path for sweeps on quadratics (``pip install 'descentlab[fast]'``, numba).

On a problem with a constant Hessian H = V·diag(λ)·Vᵀ and all the data at every step, gradient
descent, momentum (eq. 6.11) and Nesterov (eq. 6.12) act on each eigen-direction separately:
with e = Vᵀ(φ − φ*) and m in the same basis,

* gradient descent:  e ← e − α·λe
* momentum:          m ← βm + (1−β)·λe;            e ← e − αm
* Nesterov:          m ← βm + (1−β)·λ(e − αβm);    e ← e − αm

and L − L_min = ½ Σ λ_k e_k². This kernel runs those recurrences for every configuration in one
fused, parallel loop (numba ``prange``), leaving a configuration as soon as it diverges, or,
once it has reached the tolerance and :mod:`descentlab.theory` predicts it stable, finishing it
with the iteration matrix raised to the remaining steps. It computes the same quantities as the
numpy path (which runs :mod:`descentlab.optimizers` itself); they differ by rounding only, and
the tests hold the two together.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # the numpy path is always there
    numba = None

CODES = {"gd": 0, "sgd": 0, "momentum": 1, "nesterov": 2}


def available() -> bool:
    return numba is not None


def _kernel(code, alpha, beta, lam, e0, steps, tol, floor, bound, stable, final, reached, diverged):
    n_dirs = lam.size
    for c in numba.prange(alpha.size):
        a = alpha[c]
        b = beta[c]
        e = e0.copy()
        m = np.zeros(n_dirs)
        gap = 0.0
        for k in range(n_dirs):
            gap += 0.5 * lam[k] * e[k] * e[k]
        first = 0 if gap <= tol else -1
        gone = -1
        last = floor + gap
        t = 0
        while t < steps:
            gap = 0.0
            for k in range(n_dirs):
                if code == 0:
                    e[k] = e[k] - a * (lam[k] * e[k])
                else:
                    point = e[k] - a * b * m[k] if code == 2 else e[k]
                    m[k] = b * m[k] + (1.0 - b) * (lam[k] * point)
                    e[k] = e[k] - a * m[k]
                gap += 0.5 * lam[k] * e[k] * e[k]
            t += 1
            last = floor + gap
            if not last <= bound:
                gone = t
                break
            if first < 0 and gap <= tol:
                first = t
            if first >= 0 and stable[c] and t < steps:
                last = floor + _jump_gap(code, a, b, lam, e, m, steps - t)
                break
        reached[c] = first
        diverged[c] = gone
        final[c] = np.nan if gone >= 0 else last


def _jump_gap(code, a, b, lam, e, m, n):
    """½ Σ λ_k e_k² after n more steps, by squaring each direction's 2×2 iteration matrix."""
    total = 0.0
    for k in range(lam.size):
        eta_l = a * (1.0 - b) * lam[k]
        if code == 0:
            m00, m01, m10, m11 = 1.0 - a * lam[k], 0.0, 0.0, 0.0
        elif code == 1:
            m00, m01, m10, m11 = 1.0 - eta_l, -a * b, (1.0 - b) * lam[k], b
        else:
            s = 1.0 - eta_l
            m00, m01, m10, m11 = s, -a * b * s, (1.0 - b) * lam[k], b * s
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


if numba is not None:
    _jump_gap = numba.njit(cache=True)(_jump_gap)
    _kernel = numba.njit(parallel=True, cache=True)(_kernel)


def run_quadratic(method: str, alpha: np.ndarray, beta: np.ndarray, lam: np.ndarray, e0: np.ndarray,
                  steps: int, tol: float, floor: float, bound: float, stable: np.ndarray):
    """(final loss, steps to tol, diverged at) for every configuration; see the module docstring."""
    n = alpha.size
    final, reached, diverged = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    _kernel(CODES[method], np.ascontiguousarray(alpha, dtype=np.float64),
            np.ascontiguousarray(beta, dtype=np.float64), np.ascontiguousarray(lam, dtype=np.float64),
            np.ascontiguousarray(e0, dtype=np.float64), steps, tol, floor, bound,
            np.ascontiguousarray(stable), final, reached, diverged)
    return final, reached, diverged
