"""Expressions evaluate in bounded memory, with the same bits, and fail with short, safe messages.

* Chunked evaluation (:data:`~descentlab.problems.expression.CHUNK_POINTS`) gives the result of
  evaluating everything at once, bit for bit: values, gradients and pullbacks of random
  expressions on grids, broadcast and model-shaped inputs, with chunks down to one point. The
  oracle is the same expression evaluated in one piece.
* The longest legal expressions at the largest resolution the command line allows (2000×2000)
  stay under 1 GB, measured in a fresh process (its own peak, VmHWM); before, ``x+x+…+x`` needed ~32 GB.
* Errors from the parser are at most 400 characters a line, with no control character, for
  hostile names, characters and lengths.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from descentlab.errors import MESSAGE_LIMIT
from descentlab.problems import expression as ex
from descentlab.problems.expression import MAX_LENGTH, ExpressionError, parse
from own_peak import OWN_PEAK
from test_expression_fuzz import parsed, trees

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def bits(a) -> np.ndarray:
    """The float64 bits, every NaN written as one NaN (the sign of a NaN depends on whether numpy
    took a vector or a scalar loop, and means nothing)."""
    a = np.array(a, dtype=np.float64)
    a[np.isnan(a)] = np.nan
    return a.view(np.uint64)


def same_bits(a, b) -> bool:
    """Equal bit for bit (so 0.0 ≠ −0.0), NaNs aside."""
    return np.shape(a) == np.shape(b) and np.array_equal(bits(a), bits(b))


def layouts(rng: np.random.Generator) -> list[tuple[dict, np.ndarray | float]]:
    """(values, seed) in the shapes the problems use: a grid of points (strided views), x and y
    broadcast against each other, a model's parameters against data, a scalar with an array."""
    grid = rng.uniform(-3, 3, (9, 7, 2))
    return [
        ({"x": grid[..., 0], "y": grid[..., 1]}, 1.0),
        ({"x": rng.uniform(-3, 3, (6, 1)), "y": rng.uniform(-3, 3, (1, 11))}, 1.0),
        ({"x": rng.uniform(-3, 3, (5, 1)), "y": rng.uniform(-3, 3, 13)}, rng.normal(size=(5, 13))),
        ({"x": 0.7, "y": rng.uniform(-3, 3, 17)}, rng.normal(size=17)),
        ({"x": rng.uniform(-3, 3, 40), "y": rng.uniform(-3, 3, 40)}, rng.normal(size=(3, 40))),
    ]


def everything(expr, values, seed):
    value = expr.evaluate(values)
    v2, grads = expr.value_and_grad(values)
    v3, pullback = expr.vjp(values)
    return [value, v2, *grads, v3, *pullback(seed), *pullback(1.0)]


@SETTINGS
@given(tree=trees, chunk=st.sampled_from([1, 2, 3, 7, 64]), seed=st.integers(0, 2**32 - 1))
def test_chunked_evaluation_gives_the_same_bits_as_one_piece(tree, chunk, seed):
    _, expr = parsed(tree)
    assume(expr is not None)
    for values, weights in layouts(np.random.default_rng(seed)):
        whole = everything(expr, values, weights)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ex, "CHUNK_POINTS", chunk)
            parts = everything(expr, values, weights)
        assert len(whole) == len(parts)
        for a, b in zip(whole, parts, strict=True):
            assert same_bits(a, b), (expr.text, values, chunk)


LONG = {
    "sum": "+".join(["x"] * 1000),
    "product": "*".join(["x"] * 1000),
    "products": "+".join(f"{i}*x*y" for i in range(1, 250)),
    "functions": "+".join(f"sin({i}*x)*exp(-y/{i})" for i in range(1, 80))[:1990].rsplit("+", 1)[0],
    "nested": "sin(" * 29 + "x*y" + ")" * 29 + "+" + "(" * 25 + "x" + "**1.01)" * 25,
    "repeated": "+".join(f"sqrt(x*x+{i})" for i in range(1, 100)) + "*" + "*".join(f"sqrt(x*x+{i})"
                                                                                 for i in range(1, 45)),
}

assert all(len(text) <= MAX_LENGTH for text in LONG.values())


@pytest.mark.parametrize("name", LONG)
@pytest.mark.parametrize("chunk", [1000, 4099])
def test_long_expressions_on_a_large_grid_give_the_same_bits_in_chunks(name, chunk, monkeypatch):
    """Chunks of thousands of points (numpy's vector loops, ragged last chunk) against one piece."""
    expr = parse(LONG[name], ("x", "y"))
    g = np.linspace(-1.5, 1.5, 120)
    pts = np.stack(np.meshgrid(g, g + 0.1), axis=-1)
    values = {"x": pts[..., 0], "y": pts[..., 1]}

    def results():
        return [expr.evaluate(values), *expr.value_and_grad(values)[1]]

    monkeypatch.setattr(ex, "CHUNK_POINTS", chunk)
    assert pts[..., 0].size > expr._chunk_points()
    chunked = results()
    monkeypatch.setattr(ex, "CHUNK_POINTS", 10**12)
    monkeypatch.setattr(ex, "WORK_BYTES", 10**15)
    assert pts[..., 0].size <= expr._chunk_points()  # one piece
    for a, b in zip(results(), chunked, strict=True):
        assert same_bits(a, b), name


def test_a_seed_larger_than_the_values_is_pulled_back_in_chunks(monkeypatch):
    expr = parse("p0 * exp(-p1 * x) + p1**2", ("p0", "p1", "x"))
    rng = np.random.default_rng(3)
    values = {"p0": rng.normal(size=(4, 1)), "p1": rng.normal(size=(4, 1)), "x": rng.normal(size=50)}
    seed = rng.normal(size=(4, 50))
    _, pullback = expr.vjp(values, ("p0", "p1"))
    whole = pullback(seed)
    monkeypatch.setattr(ex, "CHUNK_POINTS", 9)
    _, pullback = expr.vjp(values, ("p0", "p1"))
    for a, b in zip(whole, pullback(seed), strict=True):
        assert same_bits(a, b)
    # and the elementwise oracle: d/dp0 = exp(-p1 x), d/dp1 = -p0 x exp(-p1 x) + 2 p1
    e = np.exp(-values["p1"] * values["x"])
    np.testing.assert_allclose(whole[0], seed * e, rtol=1e-14)
    np.testing.assert_allclose(whole[1], seed * (-values["p0"] * values["x"] * e + 2 * values["p1"]),
                               rtol=1e-12)


def test_the_chunk_shrinks_with_the_tape():
    assert parse("x + y", ("x", "y"))._chunk_points() == ex.CHUNK_POINTS
    long = parse(LONG["product"], ("x", "y"))
    assert long._chunk_points() * 8 * (long.size + 1) <= ex.WORK_BYTES


# ---- memory, measured in a fresh process --------------------------------------------------------

PEAK = OWN_PEAK + textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))  # a regression fails, not the machine
    import numpy as np
    from descentlab.problems import from_expression
    text, r, grad = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "grad"
    problem = from_expression(text)
    g = np.linspace(-1, 1, r)
    points = np.stack(np.meshgrid(g, g), axis=-1)
    out = problem.grad(points) if grad else problem.loss(points)
    assert out.shape[:2] == (r, r)
    print(own_peak())
""")


@pytest.mark.parametrize(("name", "resolution", "grad"), [
    ("sum", 2000, False),                 # the reproduction: ~32 GB before
    ("product", 500, True),               # the reverse pass keeps every product: ~3.9 GB before
    ("functions", 500, True),
    ("nested", 2000, False),
])
def test_legal_expressions_at_a_large_resolution_stay_under_1_gb(name, resolution, grad):
    text = LONG[name]
    done = subprocess.run([sys.executable, "-c", PEAK, text, str(resolution), "grad" if grad else "loss"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    peak = int(done.stdout.split()[-1])
    assert peak < 1 << 30, f"{name}: peak {peak / 2**20:.0f} MiB"


# ---- errors: short, one summary line, no control characters ------------------------------------

HOSTILE = {
    "escape sequence": ("x + \x1b[31mred", ("x",), "U+001B"),
    "bell": ("x\x07", ("x",), "U+0007"),
    "terminal title": ("x + \x1b]0;owned\x07", ("x",), "U+001B"),
    "line separator": ("x + y\u2028", ("x", "y"), "U+2028"),
    "long unknown name": ("x + " + "q" * 1990, ("x",), "unknown name 'qqqq"),
    "long function": ("f" * 1990 + "(x)", ("x",), "calling 'ffff"),
    "long attribute": ("x." + "a" * 1990, ("x",), "attribute access"),
    "long constant part": ("x + " + "+".join(["1e308*10"] * 200), ("x",), "evaluates to inf"),
    "too long": ("x+" * 1001, ("x",), "at most 2000"),
    "escape in a variable name": ("x", ("x\x1b",), "\\x1b"),
    "long variable name": ("x", ("v-" * 3000,), "got 'v-v-"),
    "many variables": ("q", tuple(f"v{i}" for i in range(3000)), "unknown name 'q'"),
    "twice": ("x", ("a" * 500, "a" * 500), "declared twice"),
    "not normal form": ("x", ("ﬁ" * 300,), "normal form"),
    "nul": ("x\x00", ("x",), "U+0000"),
    "deep": ("(" * 100 + "x" + ")" * 100, ("x",), "nested too deeply"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_parser_errors_are_short_and_safe(name):
    text, variables, expected = HOSTILE[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ExpressionError) as info:
            parse(text, variables)
    err = info.value
    assert expected in err.summary
    assert len(err.summary) <= MESSAGE_LIMIT and err.summary.isprintable()
    for line in str(err).split("\n"):
        assert len(line) <= MESSAGE_LIMIT and line.isprintable(), repr(line)


def test_the_caret_stays_under_an_escaped_character():
    with pytest.raises(ExpressionError) as info:
        parse("x + \x1b[31m", ("x",))
    _, shown, marks = str(info.value).split("\n")
    assert shown == "  x + \\x1b[31m"
    assert marks == "      ^^^^"  # under the four characters of \x1b
