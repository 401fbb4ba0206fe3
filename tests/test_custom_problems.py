"""Custom problems: expressions and Python functions as surfaces and models, their gradients
(exact, torch, JAX, finite differences), calling conventions, suggested settings that converge,
divergence instead of crashes, and slices of many-parameter problems for drawing."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pytest

import descentlab as dl
from descentlab import datasets, problems
from descentlab.problems import autodiff, custom
from descentlab.problems.base import round_down
from descentlab.problems.data_fit import DataFit
from descentlab.problems.expression import ExpressionError
from descentlab.problems.expression_problems import ExpressionModel, ExpressionSurface, from_expression
from descentlab.problems.functions import FunctionModel, FunctionProblem, from_function, from_model
from descentlab.problems.slices import DataSlice, slice_problem
from descentlab.problems.suggestions import default_start, hessian, suggest
from descentlab.scene import slice_trajectory

OPTIMIZERS = ("gd", "momentum", "nesterov", "adam")


def fd_grad(problem, points, batch=None, rel_h=1e-5):
    points = np.asarray(points, dtype=np.float64)
    out = np.empty_like(points)
    for i in range(points.shape[-1]):
        step = np.zeros_like(points)
        step[..., i] = rel_h * np.maximum(1.0, np.abs(points[..., i]))
        up, down = points + step, points - step
        out[..., i] = (problem.loss(up, batch) - problem.loss(down, batch)) / (up[..., i] - down[..., i])
    return out


def assert_grad_matches_fd(problem, points, batch=None, rtol=1e-6):
    exact, numeric = problem.grad(points, batch), fd_grad(problem, points, batch)
    assert exact.shape == numeric.shape == np.shape(points)
    loss = np.abs(problem.loss(points, batch))[..., None]
    assert np.all(np.abs(exact - numeric) <= rtol * (np.abs(exact) + 1.0) + 1e-9 * loss)


def optimizer(name: str, problem):
    s = problem.suggested
    if name == "gd":
        return dl.optimizers.gd(lr=s.gd_lr)
    lr = s.value(dl.optimizers.get(name).hyper("lr").suggest)   # the α the method's spec asks for
    return getattr(dl.optimizers, name)(lr=lr, beta=s.beta)


def rosen(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def rosen_grad(p):
    return np.array([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)])


RNG = np.random.default_rng(3)
POINTS = RNG.uniform(-2, 2, size=(25, 2))
X = np.linspace(-2, 2, 30)
Y = 1 + 0.5 * X - 0.7 * X ** 2 + 0.1 * RNG.normal(size=30)


# ---- surfaces from expressions -----------------------------------------------------------------

@pytest.mark.parametrize(("text", "params", "names", "quadratic"), [
    ("x**2 + 10*y**2", None, ("x", "y"), True),
    ("x**2", None, ("x", "y"), False),                 # y is a flat direction: no single minimum
    ("x*y*z + x**2 + y**2 + z**2", None, ("x", "y", "z"), False),     # cubic
    ("p0**2 + 3*p1**2", None, ("p0", "p1"), True),
    ("p1**2 + p3**2", None, ("p1", "p3"), True),
    ("a**2 + 4*b**2", "a, b", ("a", "b"), True),
    ("x**2", ("x",), ("x",), True),
])
def test_surface_parameter_names(text, params, names, quadratic):
    problem = from_expression(text, params=params)
    assert isinstance(problem, ExpressionSurface)
    assert problem.param_names == names and problem.n_params == len(names)
    assert problem.n_examples is None and problem.gradient_method == "expression"
    if quadratic:   # a positive-definite quadratic's minimum is found: here the origin
        assert problem.minima.shape == (1, len(names)) and problem.min_loss == pytest.approx(0.0, abs=1e-12)
        np.testing.assert_allclose(problem.minima[0], 0.0, atol=1e-9)
    else:
        assert problem.minima.shape == (0, len(names)) and problem.min_loss is None


def test_rosenbrock_expression_equals_the_built_in_surface():
    mine = from_expression("(1 - x)**2 + 100*(y - x**2)**2", start=(-1.5, 2))
    ref = problems.rosenbrock()
    assert np.allclose(mine.loss(POINTS), ref.loss(POINTS), rtol=1e-14, atol=0)
    assert np.allclose(mine.grad(POINTS), ref.grad(POINTS), rtol=1e-13, atol=1e-12)
    assert mine.suggested.start == (-1.5, 2.0)
    assert mine.name == "(1 - x)**2 + 100*(y - x**2)**2"
    assert repr(mine) == ("<ExpressionSurface '(1 - x)**2 + 100*(y - x**2)**2': P=2, "
                          "gradient by expression>")


def test_surface_gradient_and_grid():
    problem = from_expression("x**2 + 10*y**2 + 3*sin(x*y)")
    assert_grad_matches_fd(problem, POINTS)
    grid = np.stack(np.meshgrid(np.linspace(-3, 3, 150), np.linspace(-2, 2, 150)), axis=-1)
    assert problem.loss(grid).shape == (150, 150) and problem.grad(grid).shape == (150, 150, 2)
    assert problem.loss(np.array([1.0, 2.0])).shape == ()
    with pytest.raises(ValueError, match="no data"):
        problem.loss(POINTS, np.array([0]))
    with pytest.raises(ValueError, match="last axis of 2"):
        problem.loss(np.zeros(3))


def test_constant_and_flat_surfaces_broadcast():
    problem = from_expression("x**2", start=(1.0, 1.0))
    assert np.array_equal(problem.grad(POINTS)[:, 1], np.zeros(len(POINTS)))
    flat = from_expression("3 + 0*x", start=(0.5, 0.5))
    assert flat.loss(POINTS).shape == (25,) and np.all(flat.grad(POINTS) == 0)
    assert flat.suggested.gd_lr == 1.0                        # no curvature, no gradient: L = 1


def test_suggested_settings_from_the_curvature():
    quartic = "x**2 + 10*y**2 + 0.01*x**4"                      # not a quadratic: the general rule
    s = from_expression(quartic).suggested                     # H ≈ diag(2.27, 20) at the start: L = 20
    assert s.start == (-1.5, 1.0)                               # the first default start
    assert (s.gd_lr, s.lr, s.adam_lr, s.beta, s.steps) == (0.05, 0.25, 0.15, 0.9, 100)
    assert s.view is None and s.kappa is None
    t = from_expression(quartic, start=(3.0, 0.0), steps=20, beta=0.5, view=((-4, 4), (-1, 1)))
    assert t.suggested.lr == 0.05                               # 1/(2·20·(1 − 0.5))
    assert t.suggested.steps == 20 and t.suggested.beta == 0.5
    assert t.suggested.adam_lr == pytest.approx(0.3)            # 0.1 × |start|∞
    assert t.suggested.view == ((-4.0, 4.0), (-1.0, 1.0))
    # a quadratic gets the quadratic's rules: κ = 10, β = (√κ−1)/(√κ+1), α(1−β) = 1/L
    q = from_expression("x**2 + 10*y**2").suggested
    beta = round(1 - float(f"{1 - (10 ** 0.5 - 1) / (10 ** 0.5 + 1):.2g}"), 12)
    assert (q.gd_lr, q.beta, q.kappa) == (0.05, beta, pytest.approx(10.0))
    assert q.lr == round_down(1 / (20 * (1 - beta))) and q.start == (-1.5, 1.0)
    given = from_expression("x**2 + 10*y**2", steps=20, beta=0.5).suggested
    assert (given.steps, given.beta, given.lr) == (20, 0.5, 0.1)  # 1/(20·(1 − 0.5))


def test_hessian_of_a_quadratic():
    problem = from_expression("x**2 + 3*x*y + 10*y**2")
    assert np.allclose(hessian(problem, (0.3, -0.7)), [[2, 3], [3, 20]], rtol=1e-8)


@pytest.mark.parametrize(("text", "minimum"), [
    ("x**2 + 10*y**2", (0, 0)),
    ("10*x**2 + y**2", (0, 0)),
    ("(x - 3)**2 + (y + 4)**2 + (x - 3)*(y + 4)", (3, -4)),
    ("cosh(x) + cosh(2*y)", (0, 0)),
    ("x**2 + y**2 + z**2/4", (0, 0, 0)),
    ("p0**2 + 2*p1**2 + 3*p2**2 + 4*p3**2 + 5*p4**2", (0, 0, 0, 0, 0)),
])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_suggested_settings_converge_on_bowls(text, minimum, name):
    problem = from_expression(text, minima=[minimum])
    traj = dl.run(optimizer(name, problem), problem)
    assert traj.diverged_at is None and traj.steps == problem.suggested.steps >= 100
    start_gap = np.linalg.norm(traj.params[0] - minimum)
    assert np.linalg.norm(traj.final - minimum) < 0.02 * start_gap
    assert problem.min_loss == pytest.approx(float(problem.loss(np.array(minimum, float))))


def test_default_start_avoids_stationary_points_and_bad_domains():
    assert tuple(default_start(from_expression("x**2 + y**2"))) == (-1.5, 1.0)
    assert tuple(default_start(from_expression("(x + 1.5)**2 + (y - 1)**2"))) == (1.0, -1.0)
    start = default_start(from_expression("sqrt(x) + y**2"))
    assert start[0] >= 0
    with pytest.raises(ValueError, match="not finite at any default start"):
        from_expression("log(-x**2 - y**2 - 1)")


def test_start_where_the_loss_is_not_finite_is_refused():
    with pytest.raises(ValueError, match="at the start"):
        from_expression("log(x) + y**2", start=(-1.0, 0.0))
    with pytest.raises(ValueError, match="2 numbers"):
        from_expression("x + y", start=(1.0, 2.0, 3.0))


def test_overflow_is_divergence_not_a_crash(recwarn):
    problem = from_expression("exp(x**2) + y**2")
    traj = dl.run(dl.optimizers.gd(lr=50 * problem.suggested.gd_lr), problem)
    assert traj.diverged_at is not None
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_expression_errors_pass_through():
    with pytest.raises(ExpressionError, match="did you mean 'sin'"):
        from_expression("x + sni(y)")
    with pytest.raises(ExpressionError, match="declared twice"):
        from_expression("a + b", params="a,a")
    with pytest.raises(ExpressionError, match="uses both x and p0"):
        from_expression("x**2 + p0**2")
    assert from_expression("x**2 + p0**2", params="x,p0").param_names == ("x", "p0")


def test_names_options_and_minima():
    p = from_expression("x**2 + y**2", name="bowl", minima=[0, 0], log_levels=True)
    assert p.name == "bowl" and p.log_levels and p.min_loss == 0.0
    long = from_expression(" + ".join(f"{k}*x**2" for k in range(1, 30)) + " + y**2")
    assert len(long.name) == 60 and long.name.endswith("…")
    with pytest.raises(ValueError, match="minima"):
        from_expression("x + y", minima=[1.0, 2.0, 3.0])


# ---- models from expressions -------------------------------------------------------------------

def test_line_model_equals_the_built_in_line_fit():
    line = datasets.line_fit()
    mine = from_expression("p0 + p1*x", data=(line.x, line.y))
    assert isinstance(mine, ExpressionModel) and isinstance(mine, DataFit)
    assert mine.param_names == ("p0", "p1") and mine.n_examples == line.n_examples
    pts = RNG.uniform(-2, 3, size=(4, 5, 2))
    assert np.allclose(mine.loss(pts), line.loss(pts), rtol=1e-11)
    assert np.allclose(mine.grad(pts), line.grad(pts), rtol=1e-10, atol=1e-10)
    batch = np.array([0, 3, 3, 7])
    assert np.allclose(mine.loss(pts, batch), line.loss(pts, batch), rtol=1e-13)
    assert np.allclose(mine.grad(pts, batch), line.grad(pts, batch), rtol=1e-12, atol=1e-12)
    assert np.allclose(mine.predict(pts, line.x[:3]), line.predict(pts, line.x[:3]))
    assert np.allclose(mine.jacobian(pts, line.x[:3]), line.jacobian(pts, line.x[:3]))
    assert repr(mine).endswith("P=2, N=12, gradient by expression>")


def test_gabor_model_equals_the_built_in_gabor():
    ref = datasets.gabor()
    text = "sin(p0 + 0.06*p1*x) * exp(-(p0 + 0.06*p1*x)**2 / 32)"
    mine = from_expression(text, data=(ref.x, ref.y))
    pts = RNG.uniform(-10, 20, size=(50, 2))
    assert np.allclose(mine.loss(pts), ref.loss(pts), rtol=1e-12)
    assert np.allclose(mine.grad(pts), ref.grad(pts), rtol=1e-10, atol=1e-10)
    assert np.allclose(mine.jacobian(pts, ref.x), ref.jacobian(pts, ref.x), rtol=1e-12, atol=1e-14)


def test_three_parameter_model_runs_everywhere():
    model = from_expression("p0 + p1*x + p2*x**2", data=(X, Y))
    assert model.param_names == ("p0", "p1", "p2")
    assert_grad_matches_fd(model, RNG.uniform(-2, 2, size=(10, 3)))
    assert_grad_matches_fd(model, RNG.uniform(-2, 2, size=(10, 3)), batch=np.arange(5))
    design = np.stack([np.ones_like(X), X, X ** 2], axis=1)
    best = np.linalg.lstsq(design, Y, rcond=None)[0]
    floor = float(model.loss(best))
    for name in OPTIMIZERS:
        traj = dl.run(optimizer(name, model), model)
        assert (traj.losses[-1] - floor) < 1e-3 * (traj.losses[0] - floor), name
    sgd = dl.run(dl.optimizers.sgd(lr=model.suggested.gd_lr), model, batch_size=10, seed=1)
    assert sgd.batches is not None and sgd.losses[-1] < sgd.losses[0]


def test_model_parameters_and_data_names():
    named = from_expression("a * exp(-b*x)", data=(X, np.exp(-X)), params="a,b")
    assert named.param_names == ("a", "b")
    gaps = from_expression("p0 + p2*x", data=(X, Y))
    assert gaps.param_names == ("p0", "p2")
    xy = datasets.parse_csv("hours,score\n1,2\n2,4.1\n3,5.9\n", "scores.csv")
    labelled = from_expression("p0 + p1*x", data=xy)
    assert (labelled.x_label, labelled.y_label) == ("hours", "score")
    with pytest.raises(ExpressionError, match="data's target"):
        from_expression("p0 + p1*y", data=(X, Y))
    with pytest.raises(ExpressionError, match="no parameters"):
        from_expression("2*x + pi", data=(X, Y))
    with pytest.raises(ExpressionError, match="pass params='a,b'"):
        from_expression("a + b*x", data=(X, Y))
    with pytest.raises(ExpressionError, match="unknown name 'q'"):
        from_expression("p0 + q*x", data=(X, Y))
    with pytest.raises(ExpressionError, match="names the data"):
        from_expression("x*p0", data=(X, Y), params="p0,x")
    with pytest.raises(ValueError, match="same length"):
        from_expression("p0*x", data=(X, Y[:-1]))
    with pytest.raises(TypeError, match="pair"):
        from_expression("p0*x", data=3)


def test_models_evaluate_many_points_in_blocks(monkeypatch):
    model = from_expression("p0 + p1*x + p2*sin(x)", data=(X, Y))
    pts = RNG.uniform(-2, 2, size=(7, 9, 3))
    whole_loss, whole_grad = model.loss(pts), model.grad(pts)
    monkeypatch.setattr(custom, "_CHUNK", 64)              # 2 points per block of 30 examples
    assert np.array_equal(model.loss(pts), whole_loss)
    assert np.allclose(model.grad(pts), whole_grad, rtol=1e-15, atol=0)
    assert model.loss(np.empty((0, 3))).shape == (0,)


def test_expression_model_draws_with_model_lines():
    model = from_expression("p0 + p1*tanh(x)", data=(X, Y))
    traj = dl.run(optimizer("nesterov", model), model, steps=15)
    scene = dl.scene.build(model, traj, resolution=30)
    assert scene.surface.shape == (30, 30) and scene.paths[0].model_lines.shape == (16, 200)


# ---- slices of many-parameter problems ---------------------------------------------------------

def test_slices_of_a_model_for_drawing():
    model = from_expression("p0 + p1*x + p2*x**2", data=(X, Y))
    traj = dl.run(optimizer("nesterov", model), model)
    cut = slice_problem(model, "p0,p2", at=traj.final)
    assert isinstance(cut, DataSlice) and isinstance(cut, DataFit)
    assert cut.param_names == ("p0", "p2") and cut.n_examples == 30
    assert cut.name.startswith("p0 + p1*x + p2*x**2 — 2-D slice at p1=")
    pts = RNG.uniform(-2, 2, size=(6, 2))
    full = np.repeat(traj.final[None], 6, axis=0)
    full[:, [0, 2]] = pts
    assert np.array_equal(cut.loss(pts), model.loss(full))
    assert np.array_equal(cut.grad(pts), model.grad(full)[:, [0, 2]])
    assert np.array_equal(cut.loss(pts, np.arange(4)), model.loss(full, np.arange(4)))
    assert np.allclose(cut.jacobian(pts, X), model.jacobian(full, X)[..., [0, 2]])
    assert cut.suggested.start == (traj.final[0], traj.final[2])
    kept = ("lr", "gd_lr", "adam_lr", "beta", "steps", "max_dist", "thresh", "curvature")
    assert all(getattr(cut.suggested, k) == getattr(model.suggested, k) for k in kept)
    assert model.suggested.max_dist is not None        # the line search's bracket survives the slice
    flat = slice_trajectory(traj, ["p0", 2])
    t = traj.steps
    assert flat.params.shape == (t + 1, 2) and flat.param_names == ("p0", "p2")
    assert flat.momentum.shape == (t + 1, 2) and flat.grads.shape == (t, 2)
    scene = dl.scene.build(cut, flat, resolution=20)
    assert scene.paths[0].model_lines.shape == (t + 1, 200)


def test_slices_of_surfaces_keep_minima_in_the_slice():
    bowl = from_expression("x**2 + y**2 + z**2", minima=[0, 0, 0])
    assert slice_problem(bowl, (0, 1), at=(1, 1, 0)).minima.tolist() == [[0.0, 0.0]]
    assert slice_problem(bowl, (0, 1), at=(1, 1, 0.5)).minima.shape == (0, 2)
    with pytest.raises(ValueError, match="not a parameter"):
        slice_problem(bowl, "x,w")
    with pytest.raises(ValueError, match="distinct"):
        slice_problem(bowl, "x,x")


# ---- Python functions --------------------------------------------------------------------------

def test_numpy_function_first_axis_and_finite_differences():
    problem = from_function(rosen, n_params=2, start=(-1.5, 2), gradient="fd")
    assert isinstance(problem, FunctionProblem)
    assert problem.gradient_method == "finite differences" and problem.calling == "first axis"
    assert problem.name == "rosen (finite differences)" and problem.param_names == ("x", "y")
    assert "gradient by finite differences" in repr(problem)
    exact = np.array([rosen_grad(p) for p in POINTS])
    assert np.allclose(problem.grad(POINTS), exact, rtol=1e-8, atol=1e-7)
    ref = from_expression("(1 - x)**2 + 100*(y - x**2)**2", start=(-1.5, 2))
    assert np.array_equal(problem.loss(POINTS), ref.loss(POINTS))
    assert problem.suggested.gd_lr == ref.suggested.gd_lr and problem.suggested.lr == ref.suggested.lr


def test_last_axis_functions_and_loops():
    last = from_function(lambda p: np.sum(p ** 2 * [1.0, 10.0], axis=-1), n_params=2, gradient="fd")
    assert last.calling == "last axis"
    assert np.allclose(last.grad(POINTS), POINTS * [2.0, 20.0], rtol=1e-8, atol=1e-9)
    scalar = from_function(lambda p: math.sin(p[0]) + p[1] ** 2, n_params=2, gradient="fd")
    assert scalar.calling == "loop" and scalar.name == "custom function (finite differences)"
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 40), np.linspace(-1, 1, 30)), axis=-1)
    assert np.allclose(scalar.loss(grid), np.sin(grid[..., 0]) + grid[..., 1] ** 2, rtol=1e-15)
    assert np.allclose(scalar.grad(POINTS)[:, 0], np.cos(POINTS[:, 0]), rtol=1e-9)
    forced = from_function(rosen, n_params=2, vectorized=False, gradient="fd")
    assert forced.calling == "loop"


def test_domain_errors_in_loops_become_divergence():
    problem = from_function(lambda p: math.log(p[0]) ** 2 + math.exp(p[1]), start=(2.0, 0.0), gradient="fd")
    assert problem.n_params == 2 and problem.calling == "loop"
    assert math.isnan(float(problem.loss(np.array([-1.0, 0.0]))))
    assert math.isnan(float(problem.loss(np.array([1.0, 1000.0]))))  # OverflowError → nan
    traj = dl.run(dl.optimizers.gd(lr=100.0), problem)
    assert traj.diverged_at is not None


def test_bad_functions():
    with pytest.raises(TypeError, match="n_params"):
        from_function(rosen)
    with pytest.raises(TypeError, match="callable"):
        from_function(3, n_params=2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="one number"):
        from_function(lambda p: np.array([1.0, 2.0, 3.0]), n_params=2, gradient="fd")
    with pytest.raises(TypeError, match="failed"):
        from_function(lambda p, q: p, n_params=2, gradient="fd")
    with pytest.raises(ValueError, match="gradient must be one of"):
        from_function(rosen, n_params=2, gradient="symbolic")
    with pytest.raises(ValueError, match="names"):
        from_function(rosen, n_params=2, params="a,b,c")
    with pytest.raises(ValueError, match="vectorized must be one of"):
        from_function(rosen, n_params=2, vectorized="yes")
    with pytest.raises(ValueError, match="does not give the point-by-point values"):
        from_function(lambda p: p[0] ** 2 + p[1], n_params=2, vectorized="last axis", gradient="fd")


def test_parameter_names_for_functions():
    assert from_function(lambda p: np.sum(p ** 2, axis=0), n_params=4).param_names == ("p0", "p1", "p2",
                                                                                       "p3")
    assert from_function(lambda p: p[0] ** 2, start=(1.0,)).param_names == ("x",)
    assert from_function(lambda p: p[0] ** 2 + p[1] ** 2, params="u,v").param_names == ("u", "v")


def test_torch_functions_get_torch_gradients():
    torch = pytest.importorskip("torch")
    problem = from_function(lambda p: torch.sin(p[0]) * p[1] ** 2, n_params=2)
    assert problem.gradient_method == "torch" and problem.calling == "vmap"
    assert problem.name == "custom function (torch)" and "gradient by torch" in repr(problem)
    expected = np.stack([np.cos(POINTS[:, 0]) * POINTS[:, 1] ** 2,
                         2 * np.sin(POINTS[:, 0]) * POINTS[:, 1]], axis=-1)
    assert np.allclose(problem.grad(POINTS), expected, rtol=1e-14, atol=1e-15)
    assert problem.loss(np.zeros((0, 2))).shape == (0,)

    def branchy(p):
        return p[0] ** 2 + p[1] ** 2 if float(p[0]) > 0 else p[0] ** 4 + p[1] ** 2

    looped = from_function(branchy, n_params=2)
    assert looped.gradient_method == "torch" and looped.calling == "loop"
    assert np.allclose(looped.grad(np.array([[0.5, 1.0], [-1.0, 1.0]])), [[1.0, 2.0], [-4.0, 2.0]])
    assert from_function(lambda p: torch.sin(p[0]) + p[1] ** 2, n_params=2,
                         gradient="fd").gradient_method == "finite differences"


def test_numpy_functions_are_not_mistaken_for_torch():
    pytest.importorskip("torch")
    assert "torch" in sys.modules
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        problem = from_function(lambda p: np.sin(p[0]) * p[1] ** 2, n_params=2)
    assert problem.gradient_method == "finite differences" and problem.calling == "first axis"
    arithmetic = from_function(rosen, n_params=2)          # plain arithmetic works on tensors too
    assert arithmetic.gradient_method in ("torch", "jax")   # (jax is tried first if imported)
    assert np.allclose(arithmetic.grad(POINTS), [rosen_grad(p) for p in POINTS], rtol=1e-14)
    with pytest.raises(ValueError, match="gradient='torch'"):
        from_function(lambda p: np.sin(p[0]) * p[1] ** 2, n_params=2, gradient="torch")


def test_asking_for_a_missing_library(monkeypatch):
    def missing(*args):
        raise ImportError("No module named 'jax'")

    monkeypatch.setattr(autodiff, "_jax_calls", missing)
    with pytest.raises(ValueError, match="needs jax installed"):
        from_function(rosen, n_params=2, gradient="jax")


# ---- Python models -----------------------------------------------------------------------------

def gabor_model(p, x):
    z = p[0] + 0.06 * p[1] * x
    return np.sin(z) * np.exp(-z * z / 32)


def test_numpy_model_equals_the_built_in_gabor():
    ref = datasets.gabor()
    model = from_model(gabor_model, ref.x, ref.y, n_params=2, gradient="fd")
    assert isinstance(model, FunctionModel) and isinstance(model, DataFit)
    assert model.calling == "first axis" and model.gradient_method == "finite differences"
    assert model.param_names == ("p0", "p1") and model.name == "gabor_model (finite differences)"
    pts = RNG.uniform(-10, 20, size=(3, 4, 2))
    assert np.allclose(model.loss(pts), ref.loss(pts), rtol=1e-13)
    assert np.allclose(model.grad(pts), ref.grad(pts), rtol=1e-7, atol=1e-8)
    assert np.allclose(model.jacobian(pts, ref.x), ref.jacobian(pts, ref.x), rtol=1e-7, atol=1e-9)
    batch = np.array([1, 5, 5, 29])
    assert np.allclose(model.loss(pts, batch), ref.loss(pts, batch), rtol=1e-13)


def test_model_calling_conventions():
    last = from_model(lambda p, x: p[..., 0, None] + p[..., 1, None] * x, X, Y, n_params=2, gradient="fd")
    assert last.calling == "last axis"
    loop = from_model(lambda p, x: [p[0] + p[1] * math.tanh(v) for v in x], X, Y, n_params=2, gradient="fd")
    assert loop.calling == "loop"
    pts = RNG.uniform(-1, 1, size=(5, 2))
    want = pts[:, :1] + pts[:, 1:] * np.tanh(X)
    assert np.allclose(loop.predict(pts, X), want, rtol=1e-15)
    assert np.allclose(loop.jacobian(pts, X)[..., 1], np.broadcast_to(np.tanh(X), (5, 30)), rtol=1e-8)
    traj = dl.run(dl.optimizers.sgd(lr=loop.suggested.gd_lr), loop, batch_size=6)
    assert traj.losses[-1] < traj.losses[0]
    with pytest.raises(TypeError, match="n_params"):
        from_model(gabor_model, X, Y)


def test_torch_models_get_exact_jacobians():
    torch = pytest.importorskip("torch")
    model = from_model(lambda p, x: p[0] + p[1] * torch.tanh(p[2] * x), X, Y, n_params=3,
                       start=(0.5, 1.0, 1.0))
    assert model.gradient_method == "torch" and model.calling == "vmap"
    pts = RNG.uniform(-1, 1, size=(4, 3))
    t = np.tanh(pts[:, 2:] * X)
    want = np.stack([np.ones_like(t), t, pts[:, 1:2] * (1 - t * t) * X], axis=-1)
    assert np.allclose(model.jacobian(pts, X), want, rtol=1e-13, atol=1e-15)
    assert np.allclose(model.jacobian(pts, X[:3]), want[:, :3], rtol=1e-13, atol=1e-15)
    assert_grad_matches_fd(model, pts)
    scene = dl.scene.build(slice_problem(model, "p0,p1"),
                           slice_trajectory(dl.run(optimizer("adam", model), model, steps=10), "p0,p1"),
                           resolution=20)
    assert scene.paths[0].model_lines.shape == (11, 200)


# ---- JAX (when installed) ----------------------------------------------------------------------

def test_jax_functions_and_models_in_float64():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    before = jax.config.read("jax_enable_x64")
    problem = from_function(lambda p: jnp.sin(p[0]) * p[1] ** 2, n_params=2)
    assert problem.gradient_method == "jax" and problem.calling == "vmap"
    expected = np.stack([np.cos(POINTS[:, 0]) * POINTS[:, 1] ** 2,
                         2 * np.sin(POINTS[:, 0]) * POINTS[:, 1]], axis=-1)
    assert np.allclose(problem.grad(POINTS), expected, rtol=1e-14, atol=1e-15)   # float64, not 32
    model = from_model(lambda p, x: p[0] + p[1] * jnp.tanh(x), X, Y, n_params=2)
    assert model.gradient_method == "jax"
    assert np.allclose(model.jacobian(POINTS[:2], X)[..., 1], np.tanh(X), rtol=1e-14)
    forced = from_function(lambda p: jnp.sin(p[0]) * p[1] ** 2, n_params=2, gradient="fd")
    assert forced.gradient_method == "finite differences"    # evaluated by JAX in float64, not 32
    assert np.allclose(forced.grad(POINTS), expected, rtol=1e-8, atol=1e-9)
    assert jax.config.read("jax_enable_x64") == before


# ---- suggest() on any problem ------------------------------------------------------------------

def test_suggest_works_for_built_in_problems():
    s = suggest(datasets.line_fit(), (1.6, -0.5))
    line = datasets.line_fit()
    curvature = np.max(np.linalg.eigvalsh(hessian(line, (1.6, -0.5))))
    assert curvature == pytest.approx(51.4, rel=1e-2)                 # the line fit's L (see tests)
    assert s.gd_lr == float(f"{1 / curvature:.2g}")
    traj = dl.run(dl.optimizers.nesterov(lr=s.lr, beta=s.beta), line, start=s.start, steps=s.steps)
    assert traj.losses[-1] == pytest.approx(line.min_loss, rel=1e-4)
    with pytest.raises(ValueError, match="beta"):
        suggest(line, beta=1.0)
