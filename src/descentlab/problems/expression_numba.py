r"""Compile a parsed loss expression to one numba function that returns L[φ] and writes ∂L/∂φ.

The compiled sweep (:mod:`descentlab.sweep_general`) calls, at every step of every configuration,

.. code-block:: python

    L = vg(phi, grad_out, x, y)    # phi, grad_out: float64[::1] of length P; x, y: float64[::1]

which writes ∂L/∂φ into ``grad_out`` and returns L. :func:`compile_value_and_grad` builds ``vg``
for the expression problems of :mod:`descentlab.problems.expression_problems`:

* a **surface** L[φ] = f(φ) (``x`` and ``y`` are empty and ignored), and
* a **model** f[x, φ] fitted by the book's sum of squared errors over the data (eq. 2.5 / 6.9)

  .. math::
      L[\phi] = \sum_{i=1}^{N} r_i^2,\quad r_i = f[x_i, \phi] - y_i,\qquad
      \frac{\partial L}{\partial \phi_k} = \sum_{i=1}^{N} 2 r_i\,
      \frac{\partial f[x_i, \phi]}{\partial \phi_k},

  or its mean over the N examples (:class:`~descentlab.problems.data_fit.MeanFit`: both divided by N).

**How.** The source of ``vg`` is generated from the *validated tape* of
:class:`~descentlab.problems.expression.Expression` — the whitelisted operations that the parser
built from the syntax tree (constants folded, common subexpressions shared) — and never from the
user's text: every value is a local ``v<i>``, a parameter is ``phi[k]`` and the data variable ``x[i]``
(indices, never names), a number is written by ``repr(float)``, and a function is looked up in the
fixed table :data:`_TABLE` (an unknown one makes the compiler decline). The derivative is reverse
mode written out as source (an adjoint ``a<i>`` per value, seeded with 1 for a surface and with
2 r_i per data point for a model):

.. math::
    \bar v_{\text{root}} = \text{seed},\qquad
    \bar v_j \mathrel{+}= \bar v_i\,\frac{\partial v_i}{\partial v_j}\ \text{(operations } i
    \text{ in reverse order, arguments } j\text{)},\qquad
    \frac{\partial L}{\partial \phi_k} = \bar v_{\phi_k},

with the same partial derivatives, in the same order, as the numpy reverse pass of
:meth:`Expression.value_and_grad` (e.g. ∂a^b/∂a = 0 where b = 0, ∂a^b/∂b = 0 where a = 0, |a|′ =
sign a, relu′(0) = 0, softplus and sigmoid through ``logaddexp`` without overflow). In a model,
the values that do not depend on x are computed once, before the loop over the data. The function
is compiled with ``error_model="numpy"``: a division by zero or a logarithm of a negative number
gives ±inf or nan, as the numpy evaluation does, and the sweep counts it as divergence. Results
equal the numpy path up to rounding (the data sum runs in order rather than pairwise, and numba's
transcendental functions may differ from numpy's in the last bit).

:func:`compile_value_and_grad_block` compiles the same code for B configurations at once,
``vg_block(phi, grad_out, x, y, loss_out)`` with φ of shape (P, B), one configuration per column:
for a surface the loop over the columns is innermost and its iterations independent, so the
arithmetic is vectorised across configurations (Rosenbrock, Nesterov, 128² × 1000, two cores, in
a hand-written prange loop over blocks of 64: 1.6e9 config-steps/s, against 1.45e8 for the scalar
form in the same loop and 3e8 for JAX jit + vmap + scan), and each column's result is bit for bit
the scalar form's.

Compiled functions are cached by their generated source (an LRU of :data:`CACHE_SIZE`), so the
same expression — whatever its variables are called — compiles once per process; numba is
imported only when the first one is compiled. :func:`compile_value_and_grad` returns None for what
it does not support (numba missing, a problem that is not an expression, a tape longer than
:data:`MAX_OPS`), and the sweep then takes its numpy path.
"""

from __future__ import annotations

import functools
import math
import threading
import time
import types
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from descentlab.problems.data_fit import MeanFit
from descentlab.problems.expression import (
    _ADD,
    _CALL,
    _CONST,
    _DIV,
    _MUL,
    _NEG,
    _POW,
    _SQUARE,
    _SUB,
    _VAR,
    Expression,
)
from descentlab.problems.expression_problems import ExpressionModel, ExpressionSurface

MAX_OPS = 1200
"""The longest tape compiled (operations after folding and sharing). The language's 2000
characters give at most about 1000; a longer tape is declined (None) rather than compiled slowly."""

CACHE_SIZE = 64
"""Compiled functions kept (least recently used dropped first)."""

SIGNATURE = "float64(float64[::1], float64[::1], float64[::1], float64[::1])"
"""``vg(phi, grad_out, x, y) -> L``: the calling convention shared with the compiled sweep."""

BLOCK_SIGNATURE = "void(float64[:, ::1], float64[:, ::1], float64[::1], float64[::1], float64[::1])"
"""``vg_block(phi, grad_out, x, y, loss_out)``: B configurations at once, one per column of φ."""

_LN2, _LN10 = repr(math.log(2.0)), repr(math.log(10.0))

# name -> (value of argument {a}, derivative given argument {a} and value {o}): the same formulas,
# in the same order of operations, as expression._FUNCTIONS.
_TABLE: dict[str, tuple[str, str]] = {
    "sin": ("np.sin({a})", "np.cos({a})"),
    "cos": ("np.cos({a})", "-np.sin({a})"),
    "tan": ("np.tan({a})", "1.0 + {o} * {o}"),
    "asin": ("np.arcsin({a})", "1.0 / np.sqrt(1.0 - {a} * {a})"),
    "acos": ("np.arccos({a})", "-1.0 / np.sqrt(1.0 - {a} * {a})"),
    "atan": ("np.arctan({a})", "1.0 / (1.0 + {a} * {a})"),
    "sinh": ("np.sinh({a})", "np.cosh({a})"),
    "cosh": ("np.cosh({a})", "np.sinh({a})"),
    "tanh": ("np.tanh({a})", "1.0 - {o} * {o}"),
    "asinh": ("np.arcsinh({a})", "1.0 / np.sqrt({a} * {a} + 1.0)"),
    "acosh": ("np.arccosh({a})", "1.0 / np.sqrt({a} * {a} - 1.0)"),
    "atanh": ("np.arctanh({a})", "1.0 / (1.0 - {a} * {a})"),
    "exp": ("np.exp({a})", "{o}"),
    "expm1": ("np.expm1({a})", "{o} + 1.0"),
    "log": ("np.log({a})", "1.0 / {a}"),
    "log2": ("np.log2({a})", "1.0 / ({a} * " + _LN2 + ")"),
    "log10": ("np.log10({a})", "1.0 / ({a} * " + _LN10 + ")"),
    "log1p": ("np.log1p({a})", "1.0 / (1.0 + {a})"),
    "sqrt": ("np.sqrt({a})", "0.5 / {o}"),
    "cbrt": ("np.cbrt({a})", "1.0 / (3.0 * {o} * {o})"),
    "abs": ("np.abs({a})", "_sign({a})"),
    "sigmoid": ("_sigmoid({a})", "{o} * (1.0 - {o})"),
    "softplus": ("_logaddexp(0.0, {a})", "_sigmoid({a})"),
    "relu": ("_relu({a})", "_relu_slope({a})"),
}
for _name in ("asin", "acos", "atan", "asinh", "acosh", "atanh"):
    _TABLE["arc" + _name[1:]] = _TABLE[_name]  # numpy's spellings, as the language allows


# ---- scalar helpers, written as numpy computes them ------------------------------------------

def _logaddexp(a, b):
    """numpy's ``logaddexp`` (npy_logaddexp): log(eᵃ + eᵇ) without overflow."""
    if a == b:
        return a + 0.6931471805599453  # log 2; also inf + log 2 for two equal infinities
    d = a - b
    if d > 0.0:
        return a + np.log1p(np.exp(-d))
    if d <= 0.0:
        return b + np.log1p(np.exp(d))
    return d  # nan


def _sigmoid(a):
    """1/(1 + e⁻ᵃ) as the language computes it: exp(−logaddexp(0, −a))."""
    return np.exp(-_logaddexp(0.0, -a))


def _relu(a):
    """``np.maximum(a, 0.0)``: a where a ≥ 0 or a is nan, else 0."""
    return a if (a >= 0.0 or a != a) else 0.0


def _relu_slope(a):
    """``np.where(a > 0, 1.0, 0.0)``."""
    return 1.0 if a > 0.0 else 0.0


def _sign(a):
    """``np.sign(a)``: −1, 0, 1, and nan for nan."""
    if a > 0.0:
        return 1.0
    if a < 0.0:
        return -1.0
    return a if a != a else 0.0


@functools.cache
def _numba():
    """numba and the helpers compiled for it, or None when numba is not installed (imported here,
    on the first compilation, never at import)."""
    try:
        import numba
    except ImportError:
        return None
    jit = numba.njit(inline="always", error_model="numpy")
    helpers = {"_logaddexp": jit(_logaddexp)}
    sigmoid_globals = {"np": np, "_logaddexp": helpers["_logaddexp"]}
    helpers["_sigmoid"] = jit(_rebind(_sigmoid, sigmoid_globals))
    for f in (_relu, _relu_slope, _sign):
        helpers[f.__name__] = jit(f)
    return numba, helpers


def _rebind(f: Callable, namespace: dict) -> Callable:
    """``f`` with its global names looked up in ``namespace`` (so a helper calls a compiled helper)."""
    return types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)


# ---- source generation -----------------------------------------------------------------------

def _literal(value: float) -> str:
    text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


class _Source:
    """The lines of ``vg`` (or, with ``lanes``, of the block form ``vg_block``) for one tape."""

    def __init__(self, tape, params: tuple[str, ...], data_variable: str | None, lanes: bool = False):
        self.tape = tape
        self.index = {name: k for k, name in enumerate(params)}
        self.data = data_variable
        self.n_params = len(params)
        self.lane = ", j" if lanes else ""          # phi[k] or phi[k, j]: configuration j of a block
        want = frozenset(params)
        self.carries = [bool(op.deps & want) for op in tape]     # a gradient flows through it
        self.per_point = [data_variable is not None and data_variable in op.deps for op in tape]

    def value(self, i: int) -> str:
        op = self.tape[i]
        return _literal(op.value) if op.code == _CONST else f"v{i}"

    def forward(self, i: int) -> str | None:
        """The assignment of operation i, or None for a constant (written inline)."""
        op, v = self.tape[i], self.value
        code = op.code
        if code == _CONST:
            return None
        if code == _VAR:
            if op.name == self.data:
                return f"v{i} = x[i]"
            return f"v{i} = phi[{self.index[op.name]}{self.lane}]"
        a = v(op.args[0])
        if code == _NEG:
            rhs = f"-{a}"
        elif code == _SQUARE:
            rhs = f"{a} * {a}"
        elif code == _CALL:
            rhs = _TABLE[op.name][0].format(a=a)
        else:
            b = v(op.args[1])
            symbol = {_ADD: "+", _SUB: "-", _MUL: "*", _DIV: "/", _POW: "**"}[code]
            rhs = f"{a} {symbol} {b}"
        return f"v{i} = {rhs}"

    def partial(self, i: int, k: int, g: str) -> str:
        """g·∂v_i/∂(argument k), as :meth:`Expression._partial` computes it."""
        op, v = self.tape[i], self.value
        code, out = op.code, f"v{i}"
        a = v(op.args[0])
        if code == _NEG:
            return f"-{g}"
        if code == _SQUARE:
            return f"{g} * 2.0 * {a}"
        if code == _CALL:
            return f"{g} * ({_TABLE[op.name][1].format(a=a, o=out)})"
        b = v(op.args[1])
        if code == _ADD:
            return g
        if code == _SUB:
            return g if k == 0 else f"-{g}"
        if code == _MUL:
            return f"{g} * {b if k == 0 else a}"
        if code == _DIV:
            return f"{g} / {b}" if k == 0 else f"-{g} * {out} / {b}"
        if k == 0:  # _POW: d/da a**b = b·a**(b−1), 0 where b = 0
            return f"{g} * (0.0 if {b} == 0.0 else {b} * {a} ** ({b} - 1.0))"
        return f"{g} * (0.0 if {a} == 0.0 else {out} * np.log({a}))"  # d/db a**b = a**b·log a, 0 at a = 0

    def backward(self, seed: str) -> tuple[list[str], dict[int, str]]:
        """The reverse pass from the root (adjoint ``seed``): its lines and, per parameter index,
        the name of its adjoint (absent when no gradient reaches it)."""
        tape = self.tape
        root = len(tape) - 1
        lines: list[str] = []
        assigned = {root} if self.carries[root] else set()
        if self.carries[root]:
            lines.append(f"a{root} = {seed}")
        for i in range(root, -1, -1):
            op = tape[i]
            if i not in assigned or op.code in (_CONST, _VAR):
                continue
            for k, j in enumerate(op.args):
                if not self.carries[j]:
                    continue
                part = self.partial(i, k, f"a{i}")
                lines.append(f"a{j} = {part}" if j not in assigned else f"a{j} = a{j} + {part}")
                assigned.add(j)
        params = {self.index[op.name]: f"a{i}" for i, op in enumerate(tape)
                  if op.code == _VAR and op.name in self.index and i in assigned}
        return lines, params

    def surface(self) -> tuple[list[str], str]:
        """The body for one configuration, and the loss it ends with."""
        body = [line for i in range(len(self.tape)) if (line := self.forward(i))]
        back, params = self.backward("1.0")
        body += back
        body += [f"grad_out[{k}{self.lane}] = {params.get(k, '0.0')}" for k in range(self.n_params)]
        return body, self.value(len(self.tape) - 1)

    def model(self, mean: bool) -> tuple[list[str], str]:
        """The body for one configuration (a loop over the data), and the loss it ends with."""
        root = len(self.tape) - 1
        hoisted = [line for i in range(len(self.tape)) if not self.per_point[i] and (line := self.forward(i))]
        loop = [line for i in range(len(self.tape)) if self.per_point[i] and (line := self.forward(i))]
        loop.append(f"r = {self.value(root)} - y[i]")
        loop.append("total += r * r")
        back, params = self.backward("2.0 * r")
        loop += back
        loop += [f"g{k} += {name}" for k, name in sorted(params.items())]
        body = [*hoisted, "total = 0.0"]
        body += [f"g{k} = 0.0" for k in sorted(params)]
        body.append("for i in range(n):")
        body += ["    " + line for line in loop]
        scale = " / n" if mean else ""
        body += [f"grad_out[{k}{self.lane}] = {f'g{k}' if k in params else '0.0'}{scale}"
                 for k in range(self.n_params)]
        return body, f"total{scale}"


def _function(body: list[str], result: str, lanes: bool) -> str:
    """``vg(phi, grad_out, x, y) -> L`` or, with ``lanes``, ``vg_block(phi, grad_out, x, y, loss_out)``
    whose body runs once per column j of ``phi``."""
    if not lanes:
        lines = ["n = x.shape[0]", *body, f"return {result}"]
        return "def vg(phi, grad_out, x, y):\n" + "".join(f"    {line}\n" for line in lines)
    lines = ["n = x.shape[0]", "for j in range(phi.shape[1]):",
             *("    " + line for line in body), f"    loss_out[j] = {result}"]
    return "def vg(phi, grad_out, x, y, loss_out):\n" + "".join(f"    {line}\n" for line in lines)


def source_for(expression: Expression, params: tuple[str, ...], data_variable: str | None = None,
               reduction: str = "sum", *, block: bool = False) -> str | None:
    """The Python source of ``vg`` (``block``: of ``vg_block``) for ``expression`` with parameters
    ``params`` (in order) and, for a model, the data variable; None when it cannot be compiled (an
    operation or function outside the table, a variable that is neither, a tape over
    :data:`MAX_OPS`)."""
    tape = expression._tape
    if not tape or len(tape) > MAX_OPS:
        return None
    known = {*params, *((data_variable,) if data_variable else ())}
    for op in tape:
        if op.code == _CONST and not math.isfinite(op.value):
            return None
        if op.code == _VAR and op.name not in known:
            return None
        if op.code == _CALL and op.name not in _TABLE:
            return None
        if op.code not in (_CONST, _VAR, _NEG, _ADD, _SUB, _MUL, _DIV, _POW, _SQUARE, _CALL):
            return None
    src = _Source(tape, tuple(params), data_variable, lanes=block)
    body, result = src.surface() if data_variable is None else src.model(reduction == "mean")
    return _function(body, result, block)


def _target(problem_or_expression, data_variable: str | None):
    """(expression, params, data variable, reduction) for what can be compiled, else None."""
    obj, reduction = problem_or_expression, "sum"
    if isinstance(obj, MeanFit):
        obj, reduction = obj.base, "mean"
    if isinstance(obj, ExpressionSurface):
        return obj.expression, tuple(obj.param_names), None, "sum"
    if isinstance(obj, ExpressionModel):
        return obj.expression, tuple(obj.param_names), obj.data_variable, reduction
    if isinstance(obj, Expression):
        params = tuple(v for v in obj.variables if v != data_variable)
        return obj, params, data_variable, "sum"
    return None


_CACHE: OrderedDict[str, Callable | None] = OrderedDict()
_LOCK = threading.Lock()
compile_seconds: dict[str, float] = {}
"""Seconds the last compilation of each cached source took (for reports and benchmarks)."""


def compile_value_and_grad(problem_or_expression, *, data_variable: str | None = None):
    """The numba function ``vg(phi, grad_out, x, y) -> L`` of an expression problem, or None.

    Args:
        problem_or_expression: an :class:`ExpressionSurface` (x, y unused: pass empty arrays), an
            :class:`ExpressionModel` or a :class:`MeanFit` of one (pass its data: see
            :func:`data_arrays`), or a bare :class:`Expression` (a surface over its variables, in
            order; or a model when ``data_variable`` names its data variable).
        data_variable: for a bare expression only: the variable that holds the data x.

    Returns:
        A compiled function (eagerly, for :data:`SIGNATURE`; ``phi`` and ``grad_out`` must have
        length P, unchecked), shared by every call with the same generated source; None when numba
        is not installed or the target is not supported, so the caller falls back to numpy.
        Compiling takes about half a second the first time in a process (numba's import
        included), well under a second for a short expression after that; a call with an
        expression already compiled returns the cached function at once.
    """
    return _cached(problem_or_expression, data_variable, block=False)


def compile_value_and_grad_block(problem_or_expression, *, data_variable: str | None = None):
    """The block form ``vg_block(phi, grad_out, x, y, loss_out)`` of :func:`compile_value_and_grad`.

    ``phi`` and ``grad_out`` are (P, B) C-contiguous float64 arrays, one configuration per column,
    and ``loss_out`` has length B: column j gets ∂L/∂φ at ``phi[:, j]`` and ``loss_out[j]`` its L,
    exactly what ``vg`` computes for that column. For a surface the loop over the B columns is
    the innermost loop, with no dependence between its iterations, so the compiler vectorises
    the arithmetic across configurations (SIMD) where the scalar form is bound by the latency of
    one configuration's chain: about 8× the throughput on Rosenbrock. A model loops over its data
    inside each column. Same arguments and None cases as :func:`compile_value_and_grad`.
    """
    return _cached(problem_or_expression, data_variable, block=True)


def _cached(problem_or_expression, data_variable: str | None, *, block: bool):
    target = _target(problem_or_expression, data_variable)
    if target is None:
        return None
    source = source_for(*target, block=block)
    if source is None:
        return None
    with _LOCK:
        if source in _CACHE:
            _CACHE.move_to_end(source)
            return _CACHE[source]
    compiled = _compile(source, BLOCK_SIGNATURE if block else SIGNATURE)
    with _LOCK:
        _CACHE[source] = compiled
        _CACHE.move_to_end(source)
        while len(_CACHE) > CACHE_SIZE:
            dropped, _ = _CACHE.popitem(last=False)
            compile_seconds.pop(dropped, None)
    return compiled


def _compile(source: str, signature: str) -> Callable | None:
    """njit the generated ``source`` (names resolved in a namespace holding only numpy and the
    helpers); None if numba is missing or refuses it."""
    loaded = _numba()
    if loaded is None:
        return None
    numba, helpers = loaded
    namespace: dict = {"__builtins__": {"range": range}, "np": np, **helpers}
    start = time.perf_counter()
    try:
        exec(compile(source, "<descentlab expression vg>", "exec"), namespace)  # generated, not user text
        compiled = numba.njit(signature, error_model="numpy")(namespace["vg"])
    except Exception:  # any refusal by numba means: take the numpy path
        return None
    compile_seconds[source] = time.perf_counter() - start
    return compiled


def data_arrays(problem) -> tuple[np.ndarray, np.ndarray]:
    """The ``x, y`` to pass to ``vg`` for ``problem``: its data as contiguous float64 for a model,
    empty arrays for a surface."""
    base = problem.base if isinstance(problem, MeanFit) else problem
    if isinstance(base, ExpressionModel):
        return np.ascontiguousarray(base.x, dtype=np.float64), np.ascontiguousarray(base.y, dtype=np.float64)
    return np.empty(0), np.empty(0)


def cache_clear() -> None:
    """Forget every compiled function (tests)."""
    with _LOCK:
        _CACHE.clear()
        compile_seconds.clear()


__all__ = ["BLOCK_SIGNATURE", "CACHE_SIZE", "MAX_OPS", "SIGNATURE", "cache_clear", "compile_seconds",
           "compile_value_and_grad", "compile_value_and_grad_block", "data_arrays", "source_for"]
