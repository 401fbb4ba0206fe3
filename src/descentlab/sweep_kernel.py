"""An optional compiled path for sweeps on quadratics (``pip install 'descentlab[fast]'``, numba).

On a problem with a constant Hessian H = V·diag(λ)·Vᵀ and all the data at every step, every
method that registers an iteration matrix (:class:`descentlab.optimizers.Linear`: gradient
descent, momentum eq. 6.11, Nesterov eq. 6.12 …) acts on each eigen-direction separately: with
e = Vᵀ(φ − φ*) and m in the same basis, (e, m) ← M(α, β, λ_k)·(e, m), and
L − L_min = ½ Σ λ_k e_k². The matrices come from the registry (computed once per configuration
and direction by numpy) and enter the kernel as four numbers per configuration and direction, so
this kernel knows no update rule of its own: a new linear method in the registry runs here with
no edit.

The kernel vectorises *across* configurations. A parallel loop (numba ``prange``, one block per
task) takes :data:`BLOCK` configurations at a time; each step is a contiguous loop over the block
per eigen-direction (multiply-adds the compiler turns into SIMD instructions) followed by one pass
of branch-free masks over the block: diverged-at (the loss left ``divergence.limits``, NaN too)
and "entered", the step at which the gap last came down to the tolerance (−1 while above it), so
that at the end it is the step from which the gap stayed ≤ tol to the end of the budget. Every
:data:`CHECK_EVERY` steps a housekeeping pass retires configurations: a diverged one stops
counting, and one that is below the tolerance and whose monotone envelope (see
:func:`descentlab.sweep.envelope_forms`) proves it stays there is frozen (its matrix becomes the
identity, so its (e, m) stay put at no cost) and finished after the loop, in a per-block
post-pass, by its iteration matrix raised to the remaining steps. A block whose configurations
have all retired stops early. It computes the same quantities as the numpy path (which runs
:mod:`descentlab.optimizers` itself, checking the envelope at the same steps); they differ by
rounding only, and the tests hold the two together.

numba is imported, and the kernel compiled (or loaded from numba's cache), only when a compiled
sweep first runs: importing this module costs nothing.
"""

from __future__ import annotations

import functools

import numpy as np

from descentlab import gap as gap_rule

BLOCK = 64
"""Configurations per block: the SIMD loop's length and the unit of parallel work."""
CHECK_EVERY = 8
"""Steps between the housekeeping passes (the numpy path compacts and jumps as often)."""
prange = range  # numba.prange once compiled (see _compiled)
_gap = gap_rule.gap  # the one gap rule (descentlab.gap), compiled in _compiled


def _blocks(mats, lam, e0, steps, safe_tol, tol, floor, low, high, stable, forms, every,
            final, reached, diverged, left):
    """The kernel: ``mats`` (directions, 4, configurations), ``forms`` (directions, 3, configurations)."""
    n_dirs = lam.size
    n = final.size
    block = BLOCK  # a compile-time constant: the SIMD loops' offsets are known, so they need no alias checks
    half = 0.5 * lam
    gap0 = 0.0
    for k in range(n_dirs):
        gap0 += half[k] * e0[k] * e0[k]
    for b in prange((n + block - 1) // block):
        lo = b * block
        width = min(block, n - lo)
        mat = np.zeros((n_dirs, 4, block))  # one array each, so that the SIMD loop's
        state = np.zeros((n_dirs, 2, block))  # alias checks stay few: (e, m) per direction
        gap = np.full(block, gap0)
        entered = np.full(block, 0 if _gap(floor + gap0, floor) <= tol else -1, dtype=np.int64)
        gone = np.full(block, -1, dtype=np.int64)
        out = np.full(block, steps, dtype=np.int64)  # the step at which a configuration stopped running
        for k in range(n_dirs):
            for j in range(width):
                for i in range(4):
                    mat[k, i, j] = mats[k, i, lo + j]
                state[k, 0, j] = e0[k]
        running = width
        for j in range(width, block):  # padding: all-zero lanes that never diverge, already retired
            gone[j] = 0
            out[j] = 0
        t = 0
        while t < steps and running > 0:
            stop = min(t + every, steps)
            while t < stop:
                t += 1
                if n_dirs == 2:  # the usual two parameters: one fused SIMD loop, all in registers
                    h0 = half[0]
                    h1 = half[1]
                    for j in range(block):
                        e_0 = state[0, 0, j]
                        m_0 = state[0, 1, j]
                        e_1 = state[1, 0, j]
                        m_1 = state[1, 1, j]
                        x0 = mat[0, 0, j] * e_0 + mat[0, 1, j] * m_0
                        x1 = mat[1, 0, j] * e_1 + mat[1, 1, j] * m_1
                        state[0, 1, j] = mat[0, 2, j] * e_0 + mat[0, 3, j] * m_0
                        state[1, 1, j] = mat[1, 2, j] * e_1 + mat[1, 3, j] * m_1
                        state[0, 0, j] = x0
                        state[1, 0, j] = x1
                        g = h0 * x0 * x0 + h1 * x1 * x1  # the same sum, in the same order, as below
                        gap[j] = g
                        last = floor + g
                        inside = (last >= low) & (last <= high)  # False for NaN
                        gone[j] = t if (gone[j] < 0) & (not inside) else gone[j]
                        entered[j] = -1 if _gap(last, floor) > tol else (t if entered[j] < 0 else entered[j])
                else:
                    for j in range(block):
                        gap[j] = 0.0
                    for k in range(n_dirs):
                        h = half[k]
                        for j in range(block):  # the SIMD loop, one direction at a time
                            ek = state[k, 0, j]
                            mk = state[k, 1, j]
                            en = mat[k, 0, j] * ek + mat[k, 1, j] * mk
                            state[k, 1, j] = mat[k, 2, j] * ek + mat[k, 3, j] * mk
                            state[k, 0, j] = en
                            gap[j] += h * en * en
                    for j in range(block):  # branch-free masks
                        g = gap[j]
                        last = floor + g
                        inside = (last >= low) & (last <= high)  # False for NaN
                        gone[j] = t if (gone[j] < 0) & (not inside) else gone[j]
                        entered[j] = -1 if _gap(last, floor) > tol else (t if entered[j] < 0 else entered[j])
            for j in range(width):  # housekeeping: retire the diverged and the provably finished
                if out[j] < steps:
                    continue
                if gone[j] >= 0:
                    out[j] = gone[j]
                    running -= 1
                    for k in range(n_dirs):  # a still lane: no overflow, no NaN from here on
                        mat[k, 0, j] = mat[k, 1, j] = mat[k, 2, j] = mat[k, 3, j] = 0.0
                        state[k, 0, j] = state[k, 1, j] = 0.0
                elif entered[j] >= 0 and stable[lo + j] and t < steps:
                    envelope = 0.0
                    for k in range(n_dirs):
                        ek = state[k, 0, j]
                        mk = state[k, 1, j]
                        c = lo + j
                        envelope += half[k] * (forms[k, 0, c] * ek * ek + 2.0 * forms[k, 1, c] * ek * mk
                                               + forms[k, 2, c] * mk * mk)
                    if envelope <= safe_tol:  # no later step can rise above the tolerance: freeze
                        out[j] = t
                        running -= 1
                        for k in range(n_dirs):
                            mat[k, 0, j] = mat[k, 3, j] = 1.0
                            mat[k, 1, j] = mat[k, 2, j] = 0.0
        for j in range(width):  # post-pass: the results, and the jump of the frozen ones
            c = lo + j
            left[c] = out[j]
            if gone[j] >= 0:
                final[c] = np.nan
                reached[c] = -1
                diverged[c] = gone[j]
            else:
                reached[c] = entered[j]
                diverged[c] = -1
                if out[j] < steps:
                    final[c] = floor + _jump_gap(mats, half, state, c, j, steps - out[j])
                else:
                    final[c] = floor + gap[j]


def _jump_gap(mats, half, state, c, j, n):
    """½ Σ λ_k e_k² after n more steps of configuration c (lane j), by squaring each direction's
    2×2 iteration matrix."""
    total = 0.0
    for k in range(half.size):
        m00, m01, m10, m11 = mats[k, 0, c], mats[k, 1, c], mats[k, 2, c], mats[k, 3, c]
        r00, r01 = 1.0, 0.0
        p = n
        while p > 0:
            if p & 1:
                r00, r01 = r00 * m00 + r01 * m10, r00 * m01 + r01 * m11
            p >>= 1
            if p > 0:
                m00, m01, m10, m11 = (m00 * m00 + m01 * m10, m00 * m01 + m01 * m11,
                                      m10 * m00 + m11 * m10, m10 * m01 + m11 * m11)
        end = r00 * state[k, 0, j] + r01 * state[k, 1, j]
        total += half[k] * end * end
    return total


@functools.cache
def _compiled():
    """The compiled kernel: numba is imported here, on the first compiled sweep."""
    import numba

    globals()["prange"] = numba.prange
    globals()["_jump_gap"] = numba.njit(cache=True, inline="always")(_jump_gap)
    globals()["_gap"] = numba.njit(cache=True, inline="always")(gap_rule.gap)
    return numba.njit(parallel=True, cache=True, error_model="numpy")(_blocks)


def run_quadratic(matrices: np.ndarray, lam: np.ndarray, e0: np.ndarray, steps: int, safe_tol: float,
                  tol: float, floor: float, bound: tuple[float, float], stable: np.ndarray,
                  forms: np.ndarray, *, every: int = CHECK_EVERY,
                  left: np.ndarray | None = None):
    """(final loss, steps to tol, diverged at) for every configuration; see the module docstring.

    ``matrices`` and ``forms`` (the envelopes of :func:`descentlab.sweep.envelope_forms`) have
    shape (configurations, eigen-directions, 2, 2); a stable configuration whose envelope is
    ≤ ``safe_tol`` is finished by the jump. ``left``, if given (int64, one per configuration),
    receives the step at which each configuration stopped running (diverged or finished by the
    jump; ``steps`` for one that ran to the end): the executed work, for benchmarks.
    """
    n, n_dirs = matrices.shape[0], lam.size
    final, reached, diverged = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    left = np.empty(n, dtype=np.int64) if left is None else left
    if n == 0:
        return final, reached, diverged
    # (directions, entries, configurations): each entry is contiguous across configurations
    mats = np.ascontiguousarray(np.moveaxis(matrices.reshape(n, n_dirs, 4), 0, -1), dtype=np.float64)
    envelopes = np.ascontiguousarray(np.moveaxis(forms.reshape(n, n_dirs, 4)[..., [0, 1, 3]], 0, -1),
                                     dtype=np.float64)
    _compiled()(mats, np.ascontiguousarray(lam, dtype=np.float64), np.ascontiguousarray(e0, dtype=np.float64),
                int(steps), float(safe_tol), float(tol), float(floor), float(bound[0]), float(bound[1]),
                np.ascontiguousarray(stable, dtype=np.bool_), envelopes, int(every),
                final, reached, diverged, left)
    return final, reached, diverged
