"""The compiled sweep for problems that are not quadratic (descentlab.sweep_general), the fused
value-and-gradient of the data problems, and the update read off the registry's matrices.

Engines cell by cell: the numpy path (engine="numpy") runs the optimizers themselves; the kernel
runs the update derived from the registry. Both round differently, so a cell whose own result is
sensitive to rounding — a chaotic run (bouncing about a non-convex loss, or blowing up through
sin of a growing argument), found by running the numpy path again with α and φ_0 moved by ±1e-12
(see :func:`steady_cells`), or a gap that meets the tolerance to within rounding — may come out
differently; every other cell must agree: the same steps to tolerance, the same step of
divergence (both ends of the band), final losses within 1e-12 relative (of the start's gap where
the loss is at the rounding level of a zero minimum, as for the quadratic kernel). The sensitive cells are
counted and kept few (≤ 15 %), so the test cannot pass by exempting everything.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import descentlab as dl
from descentlab import divergence, sweep_general
from descentlab import optimizers as optim
from descentlab.errors import InputError
from descentlab.optimizers.registry import Linear
from descentlab.problems import DataFit, from_expression, with_reduction
from descentlab.problems.gabor import gabor, value_and_grad_one, value_one
from descentlab.sweep import sweep

METHODS = ("gd", "momentum", "nesterov")
SADDLE = "x**2 - 0.1*y**2"  # x settles or blows up (loss → +∞), y grows: loss → −∞ (unbounded below)


# ---- fused value and gradient -----------------------------------------------------------------

class Cubic(DataFit):
    """A model with only predict and jacobian: the default fused pass of DataFit."""

    def predict(self, points, x):
        p = np.asarray(points, dtype=np.float64)
        return p[..., 0, None] + p[..., 1, None] * x + p[..., 2, None] * x ** 3

    def jacobian(self, points, x):
        p = np.asarray(points, dtype=np.float64)
        return np.broadcast_to(np.stack([np.ones_like(x), x, x ** 3], axis=-1), (*p.shape[:-1], len(x), 3))


def data_problems():
    rng = np.random.default_rng(3)
    x = rng.uniform(-15, 15, 200)
    y = np.sin(0.3 + 0.5 * x) * np.exp(-(0.3 + 0.5 * x) ** 2 / 32) + 0.1 * rng.standard_normal(200)
    builtin = dl.datasets.gabor()
    cubic = Cubic(name="cubic", param_names=("a", "b", "c"), minima=np.empty((0, 3)),
                  suggested=builtin.suggested, x=x / 10, y=y)
    return {"gabor": builtin, "gabor-mean": with_reduction(builtin, "mean"), "gabor-200": gabor(x, y),
            "cubic": cubic, "line-fit": dl.datasets.line_fit()}


def reference(problem, points, batch=None):
    """(L, ∂L/∂φ) from the model's prediction and its stacked Jacobian: L = Σ r², ∇L = 2 Jᵀ r, and the
    size of the terms of that sum (for a tolerance that means something where they cancel)."""
    base = problem.base if hasattr(problem, "base") and problem.base is not None else problem
    x, y = (base.x, base.y) if batch is None else (base.x[batch], base.y[batch])
    p = np.asarray(points, dtype=np.float64)
    r = base.predict(p, x) - y
    jac = base.jacobian(p, x)
    count = len(x) if problem is not base else 1
    terms = 2.0 * np.abs(r)[..., None] * np.abs(jac)
    return (np.sum(r * r, axis=-1) / count, 2.0 * np.einsum("...n,...np->...p", r, jac) / count,
            terms.sum(axis=-2) / count)


@pytest.mark.parametrize("name", list(data_problems()))
@pytest.mark.parametrize("batched", [False, True])
def test_value_and_grad_equals_the_loss_and_the_jacobian_sum(name, batched):
    problem = data_problems()[name]
    rng = np.random.default_rng(1)
    start = np.asarray(problem.suggested.start, dtype=float)
    centre = start if start.size == problem.n_params else np.zeros(problem.n_params)
    points = centre + 4.0 * rng.standard_normal((7, 5, problem.n_params))
    batch = rng.choice(problem.n_examples, size=5, replace=False) if batched else None
    value, grad = problem.value_and_grad(points, batch)
    assert value.shape == points.shape[:-1] and grad.shape == points.shape
    want_value, want_grad, size = reference(problem, points, batch)
    np.testing.assert_allclose(value, problem.loss(points, batch), rtol=1e-13)
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    assert np.all(np.abs(grad - problem.grad(points, batch)) <= 1e-13 * size + 1e-300)
    assert np.all(np.abs(grad - want_grad) <= 1e-13 * size + 1e-300)


def test_gabor_gradient_is_the_derivative_of_its_loss():
    """Central differences of the loss (an oracle independent of both gradient formulas)."""
    problem = dl.datasets.gabor()
    points = np.random.default_rng(2).uniform([-8, 3], [8, 20], (20, 2))
    _, grad = problem.value_and_grad(points)
    h = 1e-6
    for k in range(2):
        step = np.zeros(2)
        step[k] = h
        fd = (problem.loss(points + step) - problem.loss(points - step)) / (2 * h)
        np.testing.assert_allclose(grad[:, k], fd, rtol=1e-6, atol=1e-6)


def test_the_scalar_loops_equal_the_numpy_sums():
    problem = dl.datasets.gabor()
    for point in np.random.default_rng(4).uniform([-8, 3], [8, 20], (10, 2)):
        grad = np.empty(2)
        value = value_and_grad_one(point, grad, problem.x, problem.y)
        want_value, want_grad = problem.value_and_grad(point)
        np.testing.assert_allclose(value, want_value, rtol=1e-13)
        np.testing.assert_allclose(value_one(point, problem.x, problem.y), want_value, rtol=1e-13)
        _, _, size = reference(problem, point)
        assert np.all(np.abs(grad - want_grad) <= 1e-13 * size)


# ---- the compiled Gabor model -------------------------------------------------------------------

def test_the_polynomial_sin_cos_exp_are_accurate_to_an_ulp():
    """The branch-free sin, cos (|z| ≤ 1e5) and exp (w ≤ 0) of the Gabor block against numpy."""
    numba = pytest.importorskip("numba")
    plain = {name: getattr(sweep_general, name) for name in ("_sin_cos", "_exp_nonpositive")}
    sin_cos, exp = (numba.njit(getattr(f, "py_func", f)) for f in plain.values())
    rng = np.random.default_rng(6)
    z = np.concatenate([rng.uniform(-10, 10, 4000), rng.uniform(-1e5, 1e5, 4000),
                        [0.0, -0.0, np.pi / 4, np.pi / 2, np.pi, 1e-300]])
    for v in z:
        for got, want in zip(sin_cos(v), (np.sin(v), np.cos(v)), strict=True):
            # an ulp or two, plus the reduction's last bits of π/2 (|z|·1e-22 absolute)
            assert abs(got - want) <= 3 * np.spacing(abs(want)) + 1e-22 * abs(v), v
    for v in (np.nan, np.inf, -np.inf):
        assert all(np.isnan(sin_cos(v)))
    assert all(np.isfinite(sin_cos(3e200)))  # beyond the reduction: finite (exp(−z²/32) is 0 there)
    w = np.concatenate([-rng.uniform(0, 1, 3000), -rng.uniform(0, 745, 3000), [0.0, -700.0, -708.5, -740.0]])
    for v in w:
        want = np.exp(v)
        tiny = want < np.finfo(float).tiny  # subnormal: an absolute error of one subnormal step
        assert abs(exp(v) - want) <= (4e-324 * 2 if tiny else 2.5 * np.spacing(want)), v
    assert exp(-746.5) == 0.0 and exp(-np.inf) == 0.0 and np.isnan(exp(np.nan))


def test_the_gabor_block_equals_its_scalar_loop_lane_by_lane():
    """The SIMD block (polynomial sin, cos, exp) against value_and_grad_one compiled as it is (numba's
    libm), called per lane through per_configuration — including lanes at NaN and ±∞."""
    numba = pytest.importorskip("numba")
    problem = dl.datasets.gabor()
    x, y = problem.x, problem.y
    block, value = sweep_general.model_for(problem)[:2]
    scalar, _ = sweep_general.per_configuration(numba.njit(value_and_grad_one))
    rng = np.random.default_rng(7)
    n = sweep_general.BLOCK
    points = np.ascontiguousarray(np.stack([rng.uniform(-10, 10, n), rng.uniform(-30, 30, n)]))
    points[:, :3] = [[np.nan, np.inf, 1e200], [1.0, 2.0, 1e200]]
    alive, scratch = np.ones(n, dtype=bool), np.empty((2, 2))
    got, want = (np.empty((2, n)), np.empty(n)), (np.empty((2, n)), np.empty(n))
    block(points, *got, x, y, alive, scratch)
    scalar(points, *want, x, y, alive, scratch)
    alone = np.empty(n)
    value(points, alone, x, y, alive, scratch)
    np.testing.assert_array_equal(np.isnan(got[1]), np.isnan(want[1]))
    ok = ~np.isnan(want[1])
    np.testing.assert_allclose(got[1][ok], want[1][ok], rtol=1e-13)
    np.testing.assert_allclose(alone[ok], want[1][ok], rtol=1e-13)
    with np.errstate(over="ignore"):  # z² overflows at φ = 1e200: exp(−z²/32) = 0, as it should
        _, _, size = reference(problem, points.T[ok])
    assert np.all(np.abs(got[0][:, ok] - want[0][:, ok]) <= 1e-13 * size.T + 1e-300)


# ---- the update read off the registry -----------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_coefficients_rebuild_the_registry_matrix(method):
    """A + λ·u·pᵀ with p = (1, c) equals M(α, β, λ) for random α, β, λ (α over 12 decades)."""
    spec = optim.get(method)
    rng = np.random.default_rng(5)
    n = 500
    hyper = {"lr": 10.0 ** rng.uniform(-8, 4, n)}
    if "beta" in spec.hyper_names:
        hyper["beta"] = rng.uniform(0, 0.999, n)
    coef = sweep_general.coefficients(spec.linear.matrix, hyper, n, momentum=spec.linear.momentum is not None)
    assert coef is not None
    for lam in (rng.uniform(0, 10, n), 10.0 ** rng.uniform(-6, 3, n)):
        want = spec.linear.matrix(hyper, lam)
        got = np.empty((n, 2, 2))
        got[:, 0, 0] = 1.0 + lam * coef.u0
        got[:, 0, 1] = coef.a01 + lam * coef.u0 * coef.c
        got[:, 1, 0] = lam * coef.u1
        got[:, 1, 1] = coef.a11 + lam * coef.u1 * coef.c
        scale = np.abs(want).max(axis=(1, 2))[:, None, None]
        err = np.abs(got - want) / scale
        assert np.all(err <= 1e-13), err.max()
    a = hyper["lr"]
    b = hyper.get("beta", np.zeros(n))
    closed = {"gd": (0 * a, 0 * a, -a), "momentum": (0 * a, -a * b, -a * (1 - b)),
              "nesterov": (-a * b, -a * b, -a * (1 - b))}[method]
    for got, want in zip((coef.c, coef.a01, coef.u0), closed, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)


def test_coefficients_refuse_what_the_kernel_cannot_run():
    n = 4
    hyper = {"lr": np.full(n, 0.1)}

    def matrix(entries):
        def build(h, lam):
            a, lam = np.broadcast_arrays(np.asarray(h["lr"], dtype=float), np.asarray(lam, dtype=float))
            out = np.zeros((*a.shape, 2, 2))
            for (i, j), f in entries.items():
                out[..., i, j] = f(a, lam)
            return out
        return build

    good = matrix({(0, 0): lambda a, lam: 1 - a * lam, (0, 1): lambda a, lam: -a,
                   (1, 1): lambda a, lam: 0.5 + 0 * a})
    assert sweep_general.coefficients(good, hyper, n) is not None
    bad = {
        "not affine in λ": {(0, 0): lambda a, lam: 1 - a * lam * lam},
        "rank two": {(0, 0): lambda a, lam: 1 - a * lam, (1, 1): lambda a, lam: 0.5 - a * lam},
        "moves φ by φ": {(0, 0): lambda a, lam: 0.9 - a * lam},
        "m from φ alone": {(0, 0): lambda a, lam: 1 - a * lam, (1, 0): lambda a, lam: 0.1 + lam},
        "no gradient": {(0, 0): lambda a, lam: 1 + 0 * a},
    }
    for why, entries in bad.items():
        assert sweep_general.coefficients(matrix(entries), hyper, n) is None, why
    # without a momentum buffer the map must not read m
    reads_m = matrix({(0, 0): lambda a, lam: 1 - a * lam, (0, 1): lambda a, lam: -a})
    assert sweep_general.coefficients(reads_m, hyper, n, momentum=False) is None


# ---- kernel against the numpy path, cell by cell -----------------------------------------------

def cases():
    huge = [1e305, 1e307, 1.7e308]  # the only αs that leave the band: the Gabor loss is bounded
    return {
        "gabor": (dl.datasets.gabor, np.concatenate([np.geomspace(1e-3, 2.0, 12), huge]), 250),
        "gabor-mean": (lambda: with_reduction(dl.datasets.gabor(), "mean"),
                       np.concatenate([np.geomspace(3e-2, 60.0, 12), huge]), 250),
        "saddle": (lambda: from_expression(SADDLE, start=(1.0, 0.01)), np.geomspace(1e-2, 3.0, 14), 250),
        # larger αs blow p1 up through sin(p1·x): chaotic, their step of divergence is rounding's choice
        "model": (lambda: from_expression("p0 * sin(p1 * x)", data=(np.linspace(-3, 3, 25),
                                                                     np.sin(1.3 * np.linspace(-3, 3, 25))),
                                          start=(0.5, 1.0)), np.geomspace(1e-4, 0.1, 14), 200),
    }


def steady_cells(problem, method, grid, steps, start, plain) -> np.ndarray:
    """Cells whose numpy result is not sensitive to rounding: moving α and φ_0 by ±1e-12 (three
    ways) changes neither the step of divergence nor the steps to tolerance, and the final loss by
    at most 1e-9 relative (a linear response; a chaotic run changes by far more); and moving the
    tolerance by ±1e-9 of itself does not change the steps to it (no gap meets it to within rounding)."""
    steady = np.ones(plain.shape, dtype=bool)
    for du, dv in ((1, 1), (-1, 1), (1, -1)):
        nudged = {**grid, "lr": grid["lr"] * (1 + du * 1e-12)}
        moved = sweep(problem, method, nudged, steps=steps, engine="numpy", start=start * (1 + dv * 1e-12))
        with np.errstate(all="ignore"):
            change = np.abs(moved.final_loss - plain.final_loss) / np.abs(plain.final_loss)
        same_nan = np.isnan(moved.final_loss) == np.isnan(plain.final_loss)
        steady &= (moved.diverged_at == plain.diverged_at) & (moved.steps_to_tol == plain.steps_to_tol) & \
            same_nan & ((change <= 1e-9) | np.isnan(plain.final_loss))
    edges = [sweep(problem, method, grid, steps=steps, engine="numpy", tol=plain.tol * (1 + e)).steps_to_tol
             for e in (-1e-9, 1e-9)]
    return steady & (edges[0] == edges[1])


PAIRS = [(name, method) for name in ("gabor", "saddle") for method in METHODS] + \
    [("gabor-mean", "momentum"), ("model", "nesterov"), ("model", "gd")]


@pytest.mark.parametrize(("name", "method"), PAIRS)
def test_kernel_equals_the_numpy_path(name, method):
    make, lrs, steps = cases()[name]
    problem = make()
    if method == "nesterov" and name.startswith("gabor"):
        lrs = lrs[lrs < 1e100]  # its coefficients α²β overflow beyond; those sweeps take the numpy path
    grid = {"lr": lrs}
    if method != "gd":
        grid["beta"] = np.array([0.0, 0.5, 0.9, 0.99])
    start = np.asarray(problem.suggested.start, dtype=float)
    fast = sweep(problem, method, grid, steps=steps, engine="numba")
    plain = sweep(problem, method, grid, steps=steps, engine="numpy")
    steady = steady_cells(problem, method, grid, steps, start, plain)
    assert steady.mean() >= 0.85, f"{(~steady).sum()} of {steady.size} cells are sensitive to rounding"
    np.testing.assert_array_equal(fast.diverged_at[steady], plain.diverged_at[steady])
    np.testing.assert_array_equal(fast.steps_to_tol[steady], plain.steps_to_tol[steady])
    np.testing.assert_array_equal(np.isnan(fast.final_loss[steady]), np.isnan(plain.final_loss[steady]))
    both = steady & ~np.isnan(plain.final_loss)
    # relative, or of the start's gap where the loss itself is at the rounding level of a zero minimum
    diff = np.abs(fast.final_loss[both] - plain.final_loss[both])
    assert np.all(diff <= 1e-12 * np.maximum(np.abs(plain.final_loss[both]), plain.start_gap)), diff.max()
    np.testing.assert_array_equal(fast.nearest_minimum[steady], plain.nearest_minimum[steady])
    np.testing.assert_allclose(fast.final_grad[both], plain.final_grad[both], rtol=1e-6, atol=1e-9)
    # the regimes the grid is meant to hold are there: diverging, reaching the tolerance, neither
    if name == "saddle" or (name == "gabor" and method != "nesterov"):
        assert plain.diverged.any(), "no diverging configuration"
    assert (plain.steps_to_tol >= 0).any(), "no configuration reaches the tolerance"
    assert (~plain.diverged & (plain.steps_to_tol < 0)).any() or name == "saddle"


@pytest.mark.parametrize("method", METHODS)
def test_the_band_is_left_at_both_ends_on_the_saddle(method):
    """x² − 0.1·y²: a small α leaves the band below (y grows, L → −∞: unbounded below), a large one
    above (x oscillates out: diverged); the kernel stops each at the step where a single run
    (dl.run, the same divergence rule) stops."""
    problem = from_expression(SADDLE, start=(1.0, 0.01))
    lrs = np.array([0.5, 2.0]) if method == "gd" else np.array([0.5, 6.0])
    fixed = {} if method == "gd" else {"beta": 0.5}
    fast = sweep(problem, method, {"lr": lrs}, steps=400, engine="numba", fixed=fixed)
    reasons = []
    for lr, stop in zip(lrs, fast.diverged_at[:, 0], strict=True):
        traj = dl.run(optim.get(method).build(lr=lr, **fixed), problem, start=(1.0, 0.01), steps=400)
        assert traj.diverged_at == stop > 0
        reasons.append(traj.stop_reason)
    assert reasons == [divergence.UNBOUNDED, divergence.DIVERGED]


# ---- integration ---------------------------------------------------------------------------------

def test_sweep_takes_the_compiled_path_only_where_it_applies(monkeypatch):
    calls = []
    real = sweep_general.run

    def spy(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep_general, "run", spy)
    problem = dl.datasets.gabor()
    grid = {"lr": [0.01, 0.1], "beta": [0.5, 0.9]}
    sweep(problem, "nesterov", grid, steps=20)
    assert len(calls) == 1
    sweep(problem, "nesterov", grid, steps=20, engine="numpy")
    sweep(problem, "momentum", grid, steps=20, batch_size=5)  # minibatches: the numpy path
    sweep(problem, "adam", {"lr": [0.01, 0.1]}, steps=20)  # not linear
    assert len(calls) == 1
    with pytest.raises(InputError, match="numba engine"):
        sweep(problem, "adam", {"lr": [0.01]}, steps=5, engine="numba")
    surface = sweep_general.model_for(from_expression(SADDLE))
    assert surface is not None and surface.value_block is not None  # the lanes, not a call per lane


def test_a_matrix_that_does_not_match_the_update_falls_back(monkeypatch):
    """Momentum's update registered with Nesterov's matrix: the run-time check against the
    optimizer's own step refuses the kernel, and the sweep equals the numpy path."""
    real = optim.get
    momentum = real("momentum")
    lying = type(momentum)(**{**momentum.__dict__, "linear": Linear(real("nesterov").linear.matrix)})
    monkeypatch.setattr(optim, "get", lambda name: lying if name == "momentum" else real(name))
    problem = dl.datasets.gabor()
    grid = {"lr": [0.05, 0.2], "beta": [0.5, 0.9]}
    with pytest.raises(InputError, match="numba engine"):
        sweep(problem, "momentum", grid, steps=30, engine="numba")
    auto = sweep(problem, "momentum", grid, steps=30)
    plain = sweep(problem, "momentum", grid, steps=30, engine="numpy")
    np.testing.assert_array_equal(auto.final_loss, plain.final_loss)


def test_importing_the_module_does_not_import_numba():
    code = "import sys, descentlab.sweep_general, descentlab.sweep; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_benchmark_quick_runs(capsys, monkeypatch):
    """The benchmark's smoke run, in this process (the kernel is compiled already): it prints its
    ratios, and the three ways agree on divergence and steps to tolerance in every cell of its grid
    (final losses may differ in its chaotic cells, α near 1)."""
    pytest.importorskip("jax")
    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_sweep_general.py"
    spec = importlib.util.spec_from_file_location("bench_sweep_general", bench)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclass looks its module up
    spec.loader.exec_module(module)
    assert module.main(["--quick", "--case", "gabor"]) == 0
    out = capsys.readouterr().out
    assert "RATIO descentlab / JAX (wall time)" in out and "RATIO descentlab / numpy loop (cpu time)" in out
    assert out.count("diverged-at differs in 0, steps-to-tol in 0,") == 2
