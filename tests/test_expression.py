"""The expression language: values against Python's math, exact gradients against high-order
finite differences, vectorisation over grids, and errors that point at the problem."""

from __future__ import annotations

import math
import pickle
import time

import numpy as np
import pytest

from descentlab.problems.expression import (
    CONSTANTS,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    names_in,
    numbered_parameters,
    parse,
)

XY = ("x", "y")


def value(text: str, **env) -> float:
    return float(parse(text, tuple(env) or XY).evaluate(env))


def five_point(f, x0: float, h: float = 1e-3) -> float:
    """Five-point central difference: error O(h⁴) ≈ 1e-12 for smooth f of moderate size."""
    return (-f(x0 + 2 * h) + 8 * f(x0 + h) - 8 * f(x0 - h) + f(x0 - 2 * h)) / (12 * h)


# ---- values and precedence -------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("-x**2", -(1.5 ** 2)),                  # ** binds tighter than unary minus
    ("2**3**2", 2.0 ** 9),                   # and is right-associative
    ("(2**3)**2", 64.0),
    ("x - y - 1", 1.5 - (-2.0) - 1),         # left-associative
    ("x / y / 4", 1.5 / -2.0 / 4),
    ("x*-y", 1.5 * 2.0),
    ("2**-x", 2.0 ** -1.5),
    ("--x", 1.5),
    ("+x", 1.5),
    ("1e-3 * x + 0.5", 1e-3 * 1.5 + 0.5),
    ("pi * e", math.pi * math.e),
    ("(x + y) * (x - y)", (1.5 - 2.0) * (1.5 + 2.0)),
    ("x\t+\ny", -0.5),                       # tabs and line breaks are spaces
    ("0x10 + 1_000", 1016.0),
])
def test_values_follow_python_precedence(text, expected):
    assert value(text, x=1.5, y=-2.0) == pytest.approx(expected, rel=1e-15)


MATH = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos,
    "atan": math.atan, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh, "asinh": math.asinh,
    "acosh": math.acosh, "atanh": math.atanh, "exp": math.exp, "expm1": math.expm1, "log": math.log,
    "log2": math.log2, "log10": math.log10, "log1p": math.log1p, "sqrt": math.sqrt, "cbrt": math.cbrt,
    "abs": abs, "sigmoid": lambda a: 1.0 / (1.0 + math.exp(-a)),
    "softplus": lambda a: math.log1p(math.exp(a)), "relu": lambda a: max(a, 0.0),
}
for _n in ("asin", "acos", "atan", "asinh", "acosh", "atanh"):
    MATH["arc" + _n[1:]] = MATH[_n]


def _points(name: str) -> list[float]:
    """Three points inside the function's domain."""
    if name in ("acosh", "arccosh"):
        return [1.2, 2.5, 7.0]
    if name in ("asin", "acos", "atanh", "arcsin", "arccos", "arctanh"):
        return [0.3, -0.45, 0.8]
    if name in ("log", "log2", "log10", "sqrt"):
        return [0.3, 1.2, 4.0]
    return [0.3, -0.45, 1.2]


@pytest.mark.parametrize(("name", "a"), [(n, a) for n in FUNCTIONS for a in _points(n)])
def test_every_function_value_and_derivative(name, a):
    expr = parse(f"{name}(x)", ("x",))
    assert float(expr.evaluate({"x": a})) == pytest.approx(MATH[name](a), rel=1e-14, abs=1e-300)
    _, (d,) = expr.value_and_grad({"x": a})
    numeric = five_point(MATH[name], a)
    assert float(d) == pytest.approx(numeric, rel=1e-9, abs=1e-10)


def test_functions_and_constants_are_the_documented_ones():
    for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid"):
        assert name in FUNCTIONS
    assert CONSTANTS == {"pi": math.pi, "e": math.e}


def test_stable_sigmoid_and_softplus_at_extremes():
    f = parse("sigmoid(x) + softplus(y)", XY)
    out = f.evaluate({"x": np.array([-800.0, 800.0]), "y": np.array([-800.0, 800.0])})
    assert np.all(np.isfinite(out))
    assert out[1] == pytest.approx(1.0 + 800.0)
    small = float(parse("sigmoid(x)", ("x",)).evaluate({"x": -40.0}))
    assert small == pytest.approx(math.exp(-40.0), rel=1e-12)   # not rounded to 0


def test_subgradients_at_kinks():
    _, (d,) = parse("abs(x) + relu(x)", ("x",)).value_and_grad({"x": 0.0})
    assert float(d) == 0.0


# ---- gradients -------------------------------------------------------------------------------

EXPRESSIONS = [
    "(1 - x)**2 + 100*(y - x**2)**2",
    "x**2 + 10*y**2 + 3*sin(x*y)",
    "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    "exp(-x**2 - y**2) * cos(3*x) / (1 + y**2)",
    "sqrt(x**2 + y**2 + 1) + log(1 + exp(x - y))",
    "x**y + y**x",                                  # both base and exponent vary (x, y > 0 below)
    "tanh(x)*sigmoid(y) - atan(x/y) + cbrt(x*y)",
    "(x*y)**2 / (x**2 + 1) - x**3 + y**-2",
]


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_gradient_matches_finite_differences(text):
    expr = parse(text, XY)
    rng = np.random.default_rng(7)
    pts = rng.uniform(0.3, 2.0, size=(20, 2))
    for x0, y0 in pts:
        _, (gx, gy) = expr.value_and_grad({"x": x0, "y": y0})
        nx = five_point(lambda t, y0=y0: float(expr.evaluate({"x": t, "y": y0})), x0, 1e-4)
        ny = five_point(lambda t, x0=x0: float(expr.evaluate({"x": x0, "y": t})), y0, 1e-4)
        size = abs(float(expr.evaluate({"x": x0, "y": y0}))) + 1.0
        assert abs(float(gx) - nx) <= 1e-7 * (abs(nx) + size)
        assert abs(float(gy) - ny) <= 1e-7 * (abs(ny) + size)


def test_power_derivatives_at_zero_base():
    _, (gx, gy) = parse("x**y", XY).value_and_grad({"x": 0.0, "y": 2.0})
    assert float(gx) == 0.0 and float(gy) == 0.0          # the limit, not 0·log 0 = nan
    _, (g,) = parse("x**2", ("x",)).value_and_grad({"x": 0.0})
    assert float(g) == 0.0


def test_grid_evaluation_is_vectorised_and_matches_points():
    expr = parse("x**2 + 10*y**2 + 3*sin(x*y)", XY)
    gx, gy = np.meshgrid(np.linspace(-2, 2, 150), np.linspace(-1, 3, 150))
    start = time.perf_counter()
    z, (dx, dy) = expr.value_and_grad({"x": gx, "y": gy})
    assert time.perf_counter() - start < 0.5
    assert z.shape == dx.shape == dy.shape == (150, 150)
    for i, j in [(0, 0), (17, 99), (149, 3)]:
        assert z[i, j] == float(expr.evaluate({"x": gx[i, j], "y": gy[i, j]}))
    assert np.allclose(dx, 2 * gx + 3 * np.cos(gx * gy) * gy, rtol=1e-14, atol=1e-14)


def test_unused_variables_and_constants_broadcast():
    expr = parse("3 + x", XY)
    _, (dx, dy) = expr.value_and_grad({"x": np.zeros(4), "y": np.zeros(4)})
    assert np.array_equal(dx, np.ones(4)) and np.array_equal(dy, np.zeros(4))
    assert float(parse("2*pi", XY).evaluate({})) == pytest.approx(2 * math.pi)
    assert parse("x + y", XY).used == frozenset(XY)
    assert parse("x + 0*1", XY).used == frozenset({"x"})


def test_repeated_subexpressions_are_computed_once():
    once = parse("sin(x*y)", XY).size
    assert parse("sin(x*y) + sin(x*y) * sin(x*y)", XY).size == once + 2


def test_vjp_seeds_and_does_not_sum():
    expr = parse("p0 + p1*x", ("p0", "p1", "x"))
    x = np.array([1.0, 2.0, 3.0])
    value, pullback = expr.vjp({"p0": np.array([[0.5]]), "p1": np.array([[2.0]]), "x": x}, ("p0", "p1"))
    assert value.shape == (1, 3)
    d0, d1 = pullback(np.array([[1.0, 10.0, 100.0]]))
    assert np.array_equal(d0, [[1.0, 10.0, 100.0]]) and np.array_equal(d1, [[1.0, 20.0, 300.0]])


def test_missing_and_unknown_variables():
    expr = parse("x + y", XY)
    with pytest.raises(KeyError, match="y"):
        expr.evaluate({"x": 1.0})
    with pytest.raises(KeyError, match="z"):
        expr.value_and_grad({"x": 1.0, "y": 1.0}, wrt=("z",))
    assert expr(x=1.0, y=2.0) == 3.0


# ---- overflow and domain errors become inf/nan, silently ----------------------------------------

def test_overflow_and_domain_errors_are_silent(recwarn):
    f = parse("exp(x) * log(y) + sqrt(y) + x**1e300", XY)
    v = f.evaluate({"x": np.array([1000.0, 1.5]), "y": np.array([-1.0, 2.0])})
    assert not np.isfinite(v).any()
    _, grads = f.value_and_grad({"x": 1000.0, "y": -1.0})
    assert all(np.shape(g) == () for g in grads)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_huge_constant_powers_are_refused_quickly():
    for text in ("9**9**9", "10**10**10**10", "x + 2**100000", "(1e308*10) * x", "exp(1000) * x"):
        start = time.perf_counter()
        with pytest.raises(ExpressionError, match="constant part"):
            parse(text, XY)
        assert time.perf_counter() - start < 0.1
    assert value("2**1000 * 0 + x", x=1.0) == 1.0            # large but finite: fine


# ---- errors ------------------------------------------------------------------------------------

def error(text: str, variables=XY) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse(text, variables)
    return info.value


def caret_column(err: ExpressionError) -> int:
    lines = str(err).split("\n")
    return lines[2].index("^") - 2 + 1  # 1-based column of the first caret under the text


@pytest.mark.parametrize(("text", "column", "words"), [
    ("x + * y", 5, "syntax error"),
    ("x +", 4, "ends too early"),
    ("sin(x", 4, "never closed"),
    ("2x + y", 1, "2*x"),
    ("x**2 + 3 * sni(x*y)", 12, "did you mean 'sin'"),
    ("x + yy", 5, "did you mean 'y'"),
    ("x + q", 5, "unknown name 'q'"),
    ("Sin(x)", 1, "did you mean 'sin'"),
    ("ln(x)", 1, "use log"),
    ("__import__('os').system('touch pwned')", 1, "attribute access"),
    ("x + np.sin(y)", 5, "write sin(…), not np.sin(…)"),
    ("math.pi * x", 1, "write pi"),
    ("x.real", 1, "attribute access"),
    ("x[0] + y", 1, "subscript"),
    ("(lambda: 0) + x", 2, "lambda"),
    ("[t for t in x]", 1, "comprehension"),
    ("sum(t for t in x)", 1, "calling 'sum' is not allowed"),
    ("x + 'abc'", 5, "a string"),
    ("f'{x}'", 1, "f-string"),
    ("x ^ 2", 3, "use ** for powers"),
    ("x % 2", 3, "remainder"),
    ("x if y else 1", 1, "conditional"),
    ("x < y", 1, "comparison"),
    ("x and y", 1, "'and'/'or'"),
    ("(x := 2)", 2, "assignment"),
    ("x, y", 1, "tuple"),
    ("sin(x, y)", 1, "exactly one argument"),
    ("sin(x=1)", 7, "keyword"),
    ("sin(*x)", 5, "starred"),
    ("x(1 + y)", 1, "not a function"),
    ("sin + x", 1, "call it as sin(…)"),
    ("True + x", 1, "only numbers"),
    ("1j * x", 1, "complex"),
    ("1e999 * x", 1, "too large"),
    ("~x", 1, "bitwise not"),
    ("eval('1')", 1, "calling 'eval' is not allowed"),
    ("x + y\x00", 6, "U+0000"),
    ("x\u202e + y", 2, "RIGHT-TO-LEFT OVERRIDE"),
])
def test_errors_name_the_problem_and_point_at_it(text, column, words):
    err = error(text)
    assert words in err.summary
    assert err.column == column
    assert caret_column(err) == column
    assert err.one_line() == err.summary == str(err).split("\n")[0]
    assert "\n" not in err.summary
    assert isinstance(err, ValueError)


def test_error_display():
    err = error("x**2 + 3 * sni(x*y)")
    assert str(err) == ("column 12: unknown function 'sni'; did you mean 'sin'?\n"
                        "  x**2 + 3 * sni(x*y)\n"
                        "             ^^^")
    assert err.span == (11, 14) and err.expression == "x**2 + 3 * sni(x*y)"


def test_error_columns_count_characters_not_bytes():
    err = error("φ0 + φ1*sni(x)", ("φ0", "φ1", "x"))
    assert err.column == 9 and caret_column(err) == 9
    assert float(parse("φ0 + φ1", ("φ0", "φ1")).evaluate({"φ0": 1.0, "φ1": 2.0})) == 3.0


def test_long_expression_errors_show_a_window():
    text = "x + " * 300 + "sni(y)"
    err = error(text)
    lines = str(err).split("\n")
    assert len(lines) == 3 and len(lines[1]) < 90
    assert lines[1][lines[2].index("^"):].startswith("sni")


def test_errors_without_position_are_one_line():
    for text, words in [("", "empty"), ("   ", "empty"), ("x" * (MAX_LENGTH + 1), "at most 2000")]:
        err = error(text)
        assert words in str(err) and "\n" not in str(err) and err.column is None


def test_error_pickles():
    err = error("x + q")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.column == err.column


def test_non_strings_are_a_type_error():
    with pytest.raises(TypeError):
        parse(3, XY)  # type: ignore[arg-type]


def test_bad_variable_names():
    for names, words in [(("x", "sin"), "function"), (("pi",), "constant"), (("x", "x"), "twice"),
                         (("1a",), "identifier"), (("a b",), "identifier"), (("lambda",), "keyword")]:
        with pytest.raises(ExpressionError, match=words):
            parse("1", names)


def test_reserved_names_are_explained():
    err = error("p0 + y", ("p0", "x"))
    assert "unknown name 'y'" in err.summary
    with pytest.raises(ExpressionError, match="the data's target"):
        parse("p0 + y", ("p0", "x"), reserved={"y": "the data's target"})


# ---- limits ------------------------------------------------------------------------------------

def test_length_limit():
    ok = "+".join(["x"] * (MAX_LENGTH // 2))               # 1999 characters, a 1000-term sum
    assert float(parse(ok, XY).evaluate({"x": 1.0})) == 1000.0
    with pytest.raises(ExpressionError, match="characters long"):
        parse(ok + "+x", XY)


def test_depth_limit():
    fine = "(" * (MAX_DEPTH - 2) + "x" + ")" * (MAX_DEPTH - 2)
    assert float(parse(fine, XY).evaluate({"x": 2.0})) == 2.0
    for deep in ["(" * 100 + "x" + ")" * 100, "-" * 500 + "x", "-" * 1999 + "x",
                 "x" + "**x" * 300, "sin(" * 70 + "x" + ")" * 70, "+(" * 61 + "x" + ")" * 61]:
        start = time.perf_counter()
        err = error(deep)
        assert "nested too deeply" in str(err) or "syntax error" in str(err)
        assert time.perf_counter() - start < 0.5


def test_long_products_and_polynomials_are_not_deep():
    poly = " + ".join(f"p{i}*x**{i}" for i in range(80))
    names = (*(f"p{i}" for i in range(80)), "x")
    expr = parse(poly, names)
    env = {f"p{i}": 1.0 for i in range(80)} | {"x": 0.5}
    assert float(expr.evaluate(env)) == pytest.approx(sum(0.5 ** i for i in range(80)))


# ---- names -------------------------------------------------------------------------------------

def test_names_in_and_numbered_parameters():
    text = "p0 + p1*x + p10*x**2 + p2*sin(x) + p01"
    assert names_in(text) == ("p0", "p1", "x", "p10", "p2", "p01")
    assert numbered_parameters(text) == ("p0", "p1", "p2", "p10")     # p01 is not a numbered name
    assert numbered_parameters("a*x + b") == ()
    with pytest.raises(ExpressionError):
        names_in("p0 +")
