"""The numba value-and-gradient of an expression (problems/expression_numba.py) against the numpy
evaluation of the same expression problem: every node type and every function of the language,
surfaces and models (sum and mean), domain errors, hostile inputs, the cache and what it declines."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("numba")

from descentlab import datasets
from descentlab.problems import expression_numba as xn
from descentlab.problems import (
    from_expression,
    from_function,
    linear_regression,
    rosenbrock,
    with_reduction,
)
from descentlab.problems.expression import FUNCTIONS, MAX_DEPTH, MAX_LENGTH, ExpressionError, parse

RTOL = 1e-13
EMPTY = np.empty(0)


def compiled_at(problem, points: np.ndarray, block: bool = False):
    """(losses, gradients) of the compiled vg at each row of ``points`` (``block``: of vg_block,
    all rows at once as the columns of φ)."""
    x, y = xn.data_arrays(problem)
    if block:
        vg_block = xn.compile_value_and_grad_block(problem)
        assert vg_block is not None
        phi = np.ascontiguousarray(points.T)
        grads = np.full_like(phi, 12345.0)
        losses = np.full(len(points), 12345.0)
        vg_block(phi, grads, x, y, losses)
        return losses, grads.T
    vg = xn.compile_value_and_grad(problem)
    assert vg is not None
    losses = np.empty(len(points))
    grads = np.empty_like(points)
    for n, phi in enumerate(points):
        g = np.full(points.shape[1], 12345.0)  # every entry must be written
        losses[n] = vg(np.ascontiguousarray(phi), g, x, y)
        grads[n] = g
    return losses, grads


def assert_same(problem, points: np.ndarray, rtol: float = RTOL, block: bool = False):
    losses, grads = compiled_at(problem, points, block)
    np.testing.assert_allclose(losses, problem.loss(points), rtol=rtol, atol=0, equal_nan=True)
    np.testing.assert_allclose(grads, problem.grad(points), rtol=rtol, atol=0, equal_nan=True)


def points(p: int, n: int = 40, lo: float = -2.0, hi: float = 2.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, (n, p))


# Every node type (constant, variable, -, +, -, *, /, ** with constant and variable exponents,
# the square) and every function of the language, each inside its domain at the test points.
SURFACES = [
    "(1 - x)**2 + 100*(y - x**2)**2",                      # Rosenbrock
    "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",              # Himmelblau
    "abs(x) + 2*abs(y - 0.5)",
    "x**3 - 2*y**4 + x**-2 + (x**2 + 1)**0.5 + (y*y + 2)**(-1.5)",
    "(1 + x**2)**(y/3) + 2**x + x**0",                     # variable exponent, base and exponent
    "x / (1 + y**2) - y / (2 + x) + 1/(x**2 + 0.5)",
    "-x**2 - -y + -(x*y) + +x",
    "pi*x + e*y - x*x*y/3 + 2.5e-3*x*y*y",
    "sin(x)*cos(y) + tan(0.3*x) + sinh(y) - cosh(0.5*x) + tanh(x*y)",
    "asin(0.5*tanh(x)) + acos(0.3*sin(y)) + atan(x*y) + arcsin(0.2*cos(x)) + arccos(0.1*y) + arctan(y)",
    "asinh(x) + acosh(2 + x**2) + atanh(0.4*tanh(y)) + arcsinh(y*x) + arccosh(1.5 + y*y) + arctanh(x/5)",
    "exp(-x**2) + expm1(y/2) + log(1 + x**2) + log2(2 + y**2) + log10(3 + x*y*x*y) + log1p(y**2)",
    "sqrt(1 + x**2) + cbrt(y) + cbrt(x + 3)",
    "sigmoid(3*x) + softplus(y) + relu(x - y) + softplus(-40*x) + sigmoid(50*y)",
    "relu(x)*relu(-y) + abs(sin(x*y)) + exp(sin(x + y)) - log(exp(y) + 1)",
    "x",
    "3 + y",
]


def test_the_table_covers_every_function_of_the_language():
    used = {f for text in SURFACES for f in FUNCTIONS if re.search(rf"\b{f}\(", text)}
    assert used == set(FUNCTIONS)
    assert set(xn._TABLE) == set(FUNCTIONS)  # the compiler knows exactly the language's functions


@pytest.mark.parametrize("text", SURFACES)
def test_surface_value_and_gradient_equal_the_numpy_problem(text):
    problem = from_expression(text)
    pts = points(problem.n_params, seed=len(text))
    assert_same(problem, pts)
    assert_same(problem, pts, block=True)
    # the block form computes each column as the scalar form does
    for a, b in zip(compiled_at(problem, pts, block=True), compiled_at(problem, pts), strict=True):
        np.testing.assert_array_equal(a, b)


def test_surface_with_three_and_unused_parameters():
    three = from_expression("x**2 + y*z + sin(z)")
    assert three.n_params == 3
    assert_same(three, points(3))
    flat = from_expression("x**2 + 3")  # y is a flat direction: its gradient is written as 0
    _, grads = compiled_at(flat, points(2))
    assert np.all(grads[:, 1] == 0.0)
    assert_same(flat, points(2))
    numbered = from_expression("p0**2 + p3*p0", params="p3,p1,p0")  # order of params= is kept
    assert_same(numbered, points(3))


def test_names_never_enter_the_source():
    # parameter names that would collide with the generated code's own names
    problem = from_expression("v1**2 + phi*grad_out + sin(np)", params="v1,phi,grad_out,np")
    assert_same(problem, points(4))
    source = xn.source_for(problem.expression, problem.param_names)
    assert "grad_out[3]" in source and "sin(np)" not in source
    # the same tree under other names is the same source, hence one compiled function
    other = from_expression("a**2 + b*c + sin(d)", params="a,b,c,d")
    assert xn.source_for(other.expression, other.param_names) == source
    assert xn.compile_value_and_grad(other) is xn.compile_value_and_grad(problem)


MODELS = [
    "p0 + p1*x",
    "p0*exp(-p1*x)*sin(p2*x) + softplus(p0)",
    "p0*sin(p1*x + p2) + p3*x**2",
    "p0/(1 + exp(-p1*(x - p2)))",
    "p0*abs(x - p1) + relu(p2*x) + sqrt(1 + p0**2)",
    "p0**x + (1 + x**2)**p1",
    "p1",                                                   # no dependence on the data
]


@pytest.mark.parametrize("text", MODELS)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_model_value_and_gradient_equal_the_numpy_problem(text, reduction):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.5, 1.5, 30)
    y = np.sin(2 * x) + 0.1 * rng.normal(size=30)
    model = from_expression(text, data=(x, y))
    problem = with_reduction(model, reduction)
    pts = points(problem.n_params, lo=0.2, hi=1.5, seed=len(text))
    # The data sum runs in order here and pairwise in numpy, so a gradient is compared against the
    # sum of the sizes of its terms |2 r_i ∂f_i/∂φ_k| (what its rounding is relative to), not
    # against itself, which may nearly cancel.
    terms = np.abs(model.jacobian(pts, x) * 2 * (model.predict(pts, x) - y)[..., None]).sum(axis=-2)
    if reduction == "mean":
        terms /= len(x)
    for block in (False, True):
        losses, grads = compiled_at(problem, pts, block)
        np.testing.assert_allclose(losses, problem.loss(pts), rtol=RTOL, atol=0)
        assert np.all(np.abs(grads - problem.grad(pts)) <= RTOL * terms)
        assert np.any(grads != 0)


def test_bare_expression_as_surface_and_as_model():
    expr = parse("p0*exp(p1*t) - q", ("p0", "p1", "q", "t"))
    rng = np.random.default_rng(2)
    t, y = rng.normal(size=20), rng.normal(size=20)
    model = xn.compile_value_and_grad(expr, data_variable="t")
    phi = np.array([0.7, -0.4, 0.3])
    g = np.empty(3)
    loss = model(phi, g, t, y)
    value, pullback = expr.vjp({"p0": phi[0], "p1": phi[1], "q": phi[2], "t": t}, ("p0", "p1", "q"))
    r = value - y
    assert loss == pytest.approx(np.sum(r * r), rel=RTOL)
    np.testing.assert_allclose(g, [np.sum(part) for part in pullback(2 * r)], rtol=1e-12)
    surface = xn.compile_value_and_grad(expr)  # all four variables are parameters
    g4 = np.empty(4)
    phi4 = np.array([0.7, -0.4, 0.3, 1.2])
    value, grads = expr.value_and_grad(dict(zip(("p0", "p1", "q", "t"), phi4, strict=True)))
    assert surface(phi4, g4, EMPTY, EMPTY) == pytest.approx(float(value), rel=RTOL)
    np.testing.assert_allclose(g4, np.array(grads, dtype=float), rtol=RTOL)


# ---- domain errors: nan and inf where numpy gives them ------------------------------------------

@pytest.mark.parametrize("text", [
    "log(x) + y", "sqrt(x) + y", "x**0.5 + y", "1/x + y", "y/(x - 1)", "x**-1 + y", "acosh(x) + y",
    "atanh(x) + y", "asin(x) + y", "log(x*y) + 0**y", "abs(x)/x + relu(x)/x", "exp(1000*x) + y",
    "(x - 1)**y", "0**x + y", "cbrt(x - x) + y",
])
def test_domain_errors_give_the_same_nan_and_inf(text):
    problem = from_expression(text)
    grid = np.array([(a, b) for a in (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0) for b in (-1.0, 0.0, 2.0)])
    with np.errstate(all="ignore"):
        assert_same(problem, grid)
        assert_same(problem, grid, block=True)
        losses, grads = compiled_at(problem, grid)
    assert not np.all(np.isfinite(losses)) or not np.all(np.isfinite(grads))  # the case is exercised


def test_log_of_a_negative_number_is_nan_not_an_error():
    vg = xn.compile_value_and_grad(from_expression("log(x) + y**2"))
    g = np.empty(2)
    assert np.isnan(vg(np.array([-1.0, 0.5]), g, EMPTY, EMPTY))
    assert g[0] == -1.0 and g[1] == 1.0  # the partial 1/a is defined at a = -1, as in numpy


# ---- what is declined ---------------------------------------------------------------------------

def test_unsupported_targets_give_none():
    assert xn.compile_value_and_grad(rosenbrock()) is None   # a built-in surface, not an expression
    assert xn.compile_value_and_grad(datasets.gabor()) is None     # a data fit, not an expression
    assert xn.compile_value_and_grad(linear_regression(np.arange(3.0), np.arange(3.0))) is None
    assert xn.compile_value_and_grad(from_function(lambda p: p[0] ** 2 + p[1] ** 2, 2)) is None
    assert xn.compile_value_and_grad("x**2 + y**2") is None  # text is not compiled: parse it first
    assert xn.compile_value_and_grad(object()) is None


def test_long_tapes_unknown_functions_and_a_missing_numba_give_none(monkeypatch):
    problem = from_expression("x**2 + 3*y**2 + sin(x*y)")
    monkeypatch.setattr(xn, "MAX_OPS", 5)
    assert xn.compile_value_and_grad(problem) is None
    assert xn.compile_value_and_grad_block(problem) is None
    monkeypatch.undo()
    monkeypatch.delitem(xn._TABLE, "sin")            # a function the compiler would not know
    assert xn.source_for(problem.expression, problem.param_names) is None
    assert xn.compile_value_and_grad(problem) is None
    monkeypatch.undo()
    xn.cache_clear()
    monkeypatch.setattr(xn, "_numba", lambda: None)  # numba not installed
    assert xn.compile_value_and_grad(problem) is None
    xn.cache_clear()

    class Refusing:                                   # numba installed but refusing the source
        @staticmethod
        def njit(*args, **kwargs):
            raise TypeError("refused")

    monkeypatch.setattr(xn, "_numba", lambda: (Refusing, {}))
    assert xn.compile_value_and_grad(problem) is None
    monkeypatch.undo()
    xn.cache_clear()
    assert xn.compile_value_and_grad(problem) is not None


def test_importing_the_module_does_not_import_numba():
    code = ("import sys, descentlab.problems.expression_numba as m; "
            "from descentlab.problems import from_expression; "
            "m.source_for(from_expression('x**2').expression, ('x', 'y')); "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- hostile expressions, within the language's limits --------------------------------------------

def test_deep_nesting_and_extreme_literals():
    def nested(depth: int) -> str:
        return "sin(" * depth + "x*y + 0.5" + ")" * depth

    depth = next(d for d in range(MAX_DEPTH, 0, -1) if _parses(nested(d)))  # the deepest allowed
    assert depth >= MAX_DEPTH - 5
    deep = from_expression(nested(depth))
    assert_same(deep, points(2, n=10))
    extreme = from_expression("1.7976931348623157e308*x**2*1e-308 + 5e-324*y + 2.2250738585072014e-308*x")
    source = xn.source_for(extreme.expression, extreme.param_names)
    assert "1.7976931348623157e+308" in source and "5e-324" in source  # every literal round-trips
    assert_same(extreme, points(2, n=10))


def _parses(text: str) -> bool:
    try:
        parse(text, ("x", "y"))
    except ExpressionError:
        return False
    return True


def test_the_longest_expression_compiles_in_bounded_time():
    text = "x" + "*x" * ((MAX_LENGTH - 1) // 2)  # ~1000 distinct operations: the most 2000 characters give
    problem = from_expression(text, params="x")
    assert problem.expression.size >= 990
    start = time.perf_counter()
    vg = xn.compile_value_and_grad(problem)
    seconds = time.perf_counter() - start
    print(f"\n{problem.expression.size}-operation expression compiled in {seconds:.2f} s")
    assert vg is not None and seconds < 60
    pts = np.random.default_rng(3).uniform(0.9, 1.1, (10, 1))
    assert_same(problem, pts, rtol=1e-12)  # 1000 products: rounding grows with the length


# ---- the cache and calling from another compiled function ---------------------------------------

def test_cache_returns_the_same_function_at_once():
    xn.cache_clear()
    problem = from_expression("(1 - x)**2 + 100*(y - x**2)**2")
    start = time.perf_counter()
    vg = xn.compile_value_and_grad(problem)
    first = time.perf_counter() - start
    respaced = from_expression("(1-x)**2+100*(y-x**2)**2")
    start = time.perf_counter()
    again = xn.compile_value_and_grad(respaced)
    second = time.perf_counter() - start
    print(f"\nRosenbrock: compiled in {first:.3f} s, cache hit in {second * 1e6:.0f} µs")
    assert again is vg
    source = xn.source_for(problem.expression, problem.param_names)
    assert xn.compile_seconds[source] <= first
    assert second < 0.01 and second < first / 10


def test_cache_keeps_the_most_recent(monkeypatch):
    xn.cache_clear()
    monkeypatch.setattr(xn, "CACHE_SIZE", 2)
    a, b, c = (from_expression(t) for t in ("x**2 + y", "x + y**2", "x*y"))
    vg_a = xn.compile_value_and_grad(a)
    xn.compile_value_and_grad(b)
    assert xn.compile_value_and_grad(a) is vg_a     # a is now the most recent
    xn.compile_value_and_grad(c)                      # drops b
    assert xn.compile_value_and_grad(a) is vg_a
    assert len(xn._CACHE) == 2
    assert xn.source_for(b.expression, b.param_names) not in xn._CACHE


def test_callable_from_a_parallel_compiled_loop():
    """Both forms passed to a parallel numba loop (as the compiled sweep does) run gradient
    descent to the numpy problem's result; the throughput of each is printed."""
    import numba

    @numba.njit(parallel=True, error_model="numpy")
    def descend(vg, starts, lr, steps, x, y):
        out = np.empty(starts.shape[0])
        for c in numba.prange(starts.shape[0]):
            phi = starts[c].copy()
            g = np.empty(starts.shape[1])
            loss = 0.0
            for _ in range(steps):
                loss = vg(phi, g, x, y)
                for k in range(phi.size):
                    phi[k] -= lr * g[k]
            out[c] = loss
        return out

    @numba.njit(parallel=True, error_model="numpy")
    def descend_blocks(vg_block, starts, lr, steps, x, y):
        p, n = starts.shape
        out = np.empty(n)
        for b in numba.prange((n + 63) // 64):
            lo, hi = b * 64, min(n, b * 64 + 64)
            phi = np.ascontiguousarray(starts[:, lo:hi])
            g = np.empty_like(phi)
            loss = np.empty(hi - lo)
            for _ in range(steps):
                vg_block(phi, g, x, y, loss)
                for k in range(p):
                    for j in range(hi - lo):
                        phi[k, j] -= lr * g[k, j]
            out[lo:hi] = loss
        return out

    problem = from_expression("(x**2 + y - 11)**2 + (x + y**2 - 7)**2")
    vg, vg_block = xn.compile_value_and_grad(problem), xn.compile_value_and_grad_block(problem)
    starts = points(2, n=100)
    got = descend(vg, starts, 1e-3, 50, EMPTY, EMPTY)
    got_blocks = descend_blocks(vg_block, np.ascontiguousarray(starts.T), 1e-3, 50, EMPTY, EMPTY)
    phi = starts.copy()
    for _ in range(50):
        loss = problem.loss(phi)
        phi -= 1e-3 * problem.grad(phi)
    np.testing.assert_allclose(got, loss, rtol=1e-12)
    np.testing.assert_array_equal(got_blocks, got)

    many, steps = points(2, n=4096), 200
    rates = {}
    for name, run, arg in (("vg", descend, many), ("vg_block", descend_blocks, np.ascontiguousarray(many.T))):
        best = math.inf
        for _ in range(3):
            start = time.perf_counter()
            run(vg if name == "vg" else vg_block, arg, 1e-4, steps, EMPTY, EMPTY)
            best = min(best, time.perf_counter() - start)
        rates[name] = len(many) * steps / best
    print("\nHimmelblau gradient descent, config-steps/s: "
          + ", ".join(f"{k} {v:.3g}" for k, v in rates.items())
          + f"; block/scalar {rates['vg_block'] / rates['vg']:.1f}x")
