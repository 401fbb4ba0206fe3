"""Property-based tests of the expression language (fixed budgets, derandomised: bounded CI time).

* Random valid expression trees, rendered with Python's precedence, evaluate as a scalar
  reference walk with :mod:`math` does, pointwise and over arrays; their exact gradients match
  derivatives taken by mpmath at high precision.
* Random hostile strings never raise anything but ExpressionError, never hang and never run
  code (the famous ``__import__('os').system(...)`` leaves no file behind).
"""

from __future__ import annotations

import math
import time
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from descentlab.problems.expression import FUNCTIONS, MAX_LENGTH, Expression, ExpressionError, parse

VARS = ("x", "y")
FAST = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# ---- random valid expressions ------------------------------------------------------------------
# A tree is ("num", v) | ("var", name) | ("const", name) | ("neg", a) | (op, a, b) | ("call", f, a),
# plus a flag per node for redundant parentheses.

numbers = st.one_of(st.sampled_from([0, 1, 2, 3, 10, 0.5, 0.25, 1.5, 1e-3, 2.5e2]),
                    st.floats(0.0, 20.0, allow_nan=False, allow_infinity=False))
variables = st.sampled_from(VARS).map(lambda n: ("var", n))
leaves = st.one_of(variables, numbers.map(lambda v: ("num", v)), variables,
                   st.sampled_from(["pi", "e"]).map(lambda n: ("const", n)))


def _extend(children):
    return st.one_of(
        children.map(lambda a: ("neg", a)),
        st.tuples(st.sampled_from(["+", "-", "*", "/", "**"]), children, children),
        st.tuples(st.just("call"), st.sampled_from(FUNCTIONS), children),
    )


trees = st.recursive(leaves, _extend, max_leaves=20)
PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}


def render(tree, parens: list[bool]) -> tuple[str, int]:
    """Text with the minimal parentheses for Python's precedence (and some redundant ones)."""
    kind = tree[0]
    if kind == "num":
        v = tree[1]
        text, prec = (str(v) if isinstance(v, int) else repr(float(v))), 5
    elif kind in ("var", "const"):
        text, prec = tree[1], 5
    elif kind == "call":
        text, prec = f"{tree[1]}({render(tree[2], parens)[0]})", 5
    elif kind == "neg":
        inner, p = render(tree[1], parens)
        text, prec = "-" + (inner if p >= 3 else f"({inner})"), 3
    else:
        (left, lp), (right, rp) = render(tree[1], parens), render(tree[2], parens)
        mine = PREC[kind]
        if kind == "**":
            left = left if lp >= 5 else f"({left})"
            right = right if rp >= 3 else f"({right})"
        else:
            left = left if lp >= mine else f"({left})"
            right = right if rp > mine else f"({right})"
        text, prec = f"{left} {kind} {right}", mine
    if parens and parens.pop():
        return f"({text})", 5
    return text, prec


def reference(tree, env, ops) -> tuple[float | None, float]:
    """Scalar evaluation with ``ops`` (math or mpmath); None where undefined. Also returns the
    largest |intermediate value| (a scale for rounding-error tolerances)."""
    biggest = [0.0]

    def walk(t):
        kind = t[0]
        if kind == "num":
            v = ops.num(t[1])
        elif kind == "var":
            v = env[t[1]]
        elif kind == "const":
            v = ops.const(t[1])
        elif kind == "neg":
            v = -walk(t[1])
        elif kind == "call":
            v = ops.call(t[1], walk(t[2]))
        else:
            a, b = walk(t[1]), walk(t[2])
            v = ops.binary(t[0], a, b)
        if not ops.finite(v):
            raise ArithmeticError
        biggest[0] = max(biggest[0], abs(float(v)))
        return v

    try:
        return walk(tree), biggest[0]
    except (ArithmeticError, ValueError, TypeError):
        return None, biggest[0]


class MathOps:
    """Python floats and math, with numpy's definitions of the extra functions."""

    FUNCS: ClassVar[dict] = {
        "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
        "atan": math.atan, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
        "asinh": math.asinh, "acosh": math.acosh, "atanh": math.atanh, "exp": math.exp,
        "expm1": math.expm1, "log": math.log, "log2": math.log2, "log10": math.log10,
        "log1p": math.log1p, "sqrt": math.sqrt, "cbrt": math.cbrt, "abs": abs,
        "sigmoid": lambda a: 1.0 / (1.0 + math.exp(-a)) if a > -700 else math.exp(a),
        "softplus": lambda a: a + math.log1p(math.exp(-a)) if a > 0 else math.log1p(math.exp(a)),
        "relu": lambda a: max(a, 0.0),
    }
    for _n in ("asin", "acos", "atan", "asinh", "acosh", "atanh"):
        FUNCS["arc" + _n[1:]] = FUNCS[_n]

    num = staticmethod(float)
    const = staticmethod(lambda n: {"pi": math.pi, "e": math.e}[n])
    finite = staticmethod(math.isfinite)

    @staticmethod
    def call(name, a):
        return MathOps.FUNCS[name](a)

    @staticmethod
    def binary(op, a, b):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        return math.pow(a, b)


def constant_parts(tree):
    """Subtrees without variables."""
    out = []

    def walk(t) -> bool:
        kind = t[0]
        if kind == "num" or kind == "const":
            return False
        if kind == "var":
            return True
        kids = [walk(c) for c in (t[1:] if kind in ("neg",) else t[2:] if kind == "call" else t[1:])]
        varying = any(kids)
        if not varying:
            out.append(t)
        return varying

    walk(tree)
    return out


def parsed(tree) -> tuple[str, Expression | None]:
    """Render and parse; None when a constant part is non-finite (which the parser must refuse)."""
    text = render(tree, [])[0]
    try:
        return text, parse(text, VARS)
    except ExpressionError as err:
        assert "constant part" in err.summary, (text, err.summary)
        bad = [c for c in constant_parts(tree) if reference(c, {}, MathOps)[0] is None]
        assert bad, (text, err.summary)
        return text, None


coordinates = st.floats(-3.0, 3.0).map(lambda v: v if abs(v) > 1e-9 else 0.0)  # no 1/1e-320 overflow
points = st.tuples(coordinates, coordinates)


@FAST
@given(tree=trees, point=points)
def test_random_expressions_evaluate_like_the_reference(tree, point):
    text, expr = parsed(tree)
    assume(expr is not None)
    env = dict(zip(VARS, point, strict=True))
    want, scale = reference(tree, env, MathOps)
    got = float(expr.evaluate(env))
    if want is None:
        return  # undefined in real arithmetic: numpy may give nan/inf, or a value past an overflow
    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9 * max(1.0, scale)), (text, got, want)


@FAST
@given(tree=trees, pts=st.lists(points, min_size=1, max_size=6),
       parens=st.lists(st.booleans(), max_size=30))
def test_arrays_of_points_match_pointwise_and_redundant_parentheses_change_nothing(tree, pts, parens):
    text, expr = parsed(tree)
    assume(expr is not None)
    again = parse(render(tree, list(parens))[0], VARS)
    xs, ys = np.array(pts).T
    many = expr.evaluate({"x": xs, "y": ys})
    assert many.shape == xs.shape
    for i in range(len(xs)):
        one = float(expr.evaluate({"x": xs[i], "y": ys[i]}))
        assert one == many[i] or (math.isnan(one) and math.isnan(many[i])) or math.isclose(
            one, many[i], rel_tol=1e-12), text
    other = again.evaluate({"x": xs, "y": ys})
    assert np.array_equal(other, many, equal_nan=True), text
    _, grads = expr.value_and_grad({"x": xs, "y": ys})
    assert all(g.shape == xs.shape for g in grads)




class MpOps:
    """mpmath at 40 digits; complex results (outside a real domain) are undefined."""

    @staticmethod
    def _lib():
        import mpmath as mp
        return mp

    @staticmethod
    def num(v):
        return MpOps._lib().mpf(v)

    @staticmethod
    def const(n):
        mp = MpOps._lib()
        return {"pi": mp.pi, "e": mp.e}[n]

    @staticmethod
    def finite(v):
        mp = MpOps._lib()
        return isinstance(v, mp.mpf) and mp.isfinite(v) and abs(v) < mp.mpf(1e300)

    @staticmethod
    def call(name, a):
        mp = MpOps._lib()
        name = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
                "arccosh": "acosh", "arctanh": "atanh"}.get(name, name)
        if name == "cbrt":
            return mp.sign(a) * mp.cbrt(abs(a))
        if name == "abs":
            return abs(a)
        if name == "relu":
            return max(a, mp.mpf(0))
        if name == "sigmoid":
            return 1 / (1 + mp.exp(-a))
        if name == "softplus":
            return mp.log1p(mp.exp(a))
        if (name in ("log", "log2", "log10", "sqrt") and a <= 0) or (name == "log1p" and a <= -1):
            raise ValueError
        if (name in ("asin", "acos") and abs(a) > 1) or (name == "acosh" and a < 1):
            raise ValueError
        if name == "atanh" and abs(a) >= 1:
            raise ValueError
        fn = {"log2": lambda t: mp.log(t, 2), "log10": mp.log10}.get(name) or getattr(mp, name)
        return fn(a)

    @staticmethod
    def binary(op, a, b):
        mp = MpOps._lib()
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                raise ZeroDivisionError
            return a / b
        if (a < 0 and b != mp.floor(b)) or (a == 0 and b <= 0):
            raise ValueError
        return mp.power(a, b)


def _singular(tree, env) -> bool:
    """Whether some part is at (or within 1e-6 of) a point without a finite derivative: a kink of
    abs/relu, the edge of a function's domain (sqrt(0), asin(1)…) or a power of 0. The chain rule
    gives inf·0 = nan there even where the composite is smooth (asin(1**x) is constant)."""
    edges = {"abs": lambda v: abs(v) < 1e-6, "relu": lambda v: abs(v) < 1e-6,
             "sqrt": lambda v: abs(v) < 1e-6, "cbrt": lambda v: abs(v) < 1e-6,
             "log": lambda v: abs(v) < 1e-6, "log2": lambda v: abs(v) < 1e-6,
             "log10": lambda v: abs(v) < 1e-6, "log1p": lambda v: abs(v + 1) < 1e-6,
             "asin": lambda v: abs(v) > 1 - 1e-6, "acos": lambda v: abs(v) > 1 - 1e-6,
             "atanh": lambda v: abs(v) > 1 - 1e-6, "acosh": lambda v: v < 1 + 1e-6}
    for n in ("asin", "acos", "atanh", "acosh"):
        edges["arc" + n[1:]] = edges[n]
    found = []

    def walk(t):
        if (t[0] == "call" and t[1] in edges) or t[0] == "**":
            v, _ = reference(t[2] if t[0] == "call" else t[1], env, MathOps)
            if v is None or (edges[t[1]](v) if t[0] == "call" else abs(v) < 1e-6):
                found.append(t)
        for c in t[1:]:
            if isinstance(c, tuple):
                walk(c)

    walk(tree)
    return bool(found)


@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(tree=trees, point=points)
def test_random_expression_gradients_match_high_precision_derivatives(tree, point):
    mp = pytest.importorskip("mpmath")
    text, expr = parsed(tree)
    assume(expr is not None)
    env = dict(zip(VARS, point, strict=True))
    want, scale = reference(tree, env, MathOps)
    assume(want is not None and scale < 1e12 and not _singular(tree, env))
    _, grads = expr.value_and_grad(env)
    with mp.workdps(40):
        menv = {k: mp.mpf(v) for k, v in env.items()}
        for name, got in zip(VARS, grads, strict=True):
            def along(t, name=name):
                value, _ = reference(tree, {**menv, name: menv[name] + t}, MpOps)
                if value is None:
                    raise ValueError
                return value
            try:
                exact = float(mp.diff(along, 0))
            except (ValueError, ZeroDivisionError, TypeError):
                return
            # mpmath's step is too coarse for derivatives as steep as 1/1e-83: keep moderate ones
            assume(math.isfinite(exact) and abs(exact) < 1e12 and abs(float(got)) < 1e12)
            tol = 1e-7 * abs(exact) + 1e-9 * max(1.0, scale)
            assert abs(float(got) - exact) <= tol, (text, name, float(got), exact)


# ---- hostile input -----------------------------------------------------------------------------

TOKENS = ["x", "y", "1", "2.5", "1e308", "9", "**", "*", "/", "+", "-", "(", ")", "sin", "exp", "log",
          "__import__", "'os'", "system", "'", '"', ".", "[", "]", "lambda", ":", "for", "in", "if",
          "else", ",", "=", "==", ":=", "^", "%", "@", "~", "not", "and", "pi", "e", "np", "__class__",
          "__builtins__", "__subclasses__", "eval", "exec", "open", "{", "}", "\\", " ", "\n", "\t",
          "0x1f", "1j", "True", "None", "...", "yield", "await", "f'", "b'", "#", ";", "\x00", "φ",
          "\u202e", "sigmoid", "relu", "sqrt", "abs", "9**9**9", "1_0", "0b1", "x.real", "*x", "**{}"]
soups = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
hostile = st.one_of(st.text(max_size=80), soups,
                    st.text(alphabet="()+-*/x1.e ", max_size=200))

DANGEROUS = [
    "__import__('os').system('touch pwned')",
    "__import__('os').system('touch pwned') + x",
    "().__class__.__bases__[0].__subclasses__()",
    "exec(\"open('pwned', 'w')\")",
    "eval(\"__import__('os').system('touch pwned')\")",
    "open('pwned', 'w').write('x')",
    "[open('pwned', 'w') for _ in (1,)]",
    "(lambda: __import__('os').system('touch pwned'))()",
    "x.__class__.__init__.__globals__",
    "sin.__globals__['__builtins__']",
    "globals()['os']",
    "f\"{__import__('os').system('touch pwned')}\"",
    "breakpoint()",
    "x; import os",
    "import os",
    "(yield)",
    "sin(x)\nimport os",
    "x" + " + x" * 600,
    "9" * (MAX_LENGTH - 1),
    "(" * 1000 + ")" * 1000,
    "-" * (MAX_LENGTH - 1) + "x",
    "x" + "**x" * 600,
    "sin(" * 400 + "x" + ")" * 400,
]


def must_not_misbehave(text: str) -> None:
    start = time.perf_counter()
    try:
        expr = parse(text, VARS)
    except ExpressionError as err:
        assert err.summary and "\n" not in err.summary
    else:
        value = expr.evaluate({"x": np.array([0.5, -2.0]), "y": np.array([3.0, 0.0])})
        assert value.dtype == np.float64
        expr.value_and_grad({"x": 0.5, "y": 3.0})
    assert time.perf_counter() - start < 1.0, text


@FAST
@given(text=hostile)
def test_hostile_strings_raise_only_expression_errors(text):
    must_not_misbehave(text)


def test_dangerous_strings_run_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in DANGEROUS:
        must_not_misbehave(text)
    assert list(tmp_path.iterdir()) == []
