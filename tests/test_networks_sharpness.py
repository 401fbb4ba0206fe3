"""Sharpness: Lanczos against the full Hessian, the edge of stability, and the stability limits."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch.func import functional_call

from descentlab import theory
from descentlab.errors import InputError
from descentlab.networks import params, record, sharpness


def _net(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """A 3-12-8-1 tanh MLP (161 parameters) on 40 random regression examples."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 12), torch.nn.Tanh(), torch.nn.Linear(12, 8),
                                torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    x = torch.randn(40, 3, dtype=torch.float64)
    y = torch.randn(40, 1, dtype=torch.float64)
    return model, x, y


def _hessian(model, loss_fn, x, y, vector: np.ndarray) -> np.ndarray:
    """The oracle: the full P × P Hessian by torch.autograd.functional.hessian of the flat loss."""
    layout = [(n, p.shape, p.numel()) for n, p in model.named_parameters()]

    def loss(theta):
        tensors, start = {}, 0
        for name, shape, k in layout:
            tensors[name] = theta[start:start + k].reshape(shape)
            start += k
        return loss_fn(functional_call(model, tensors, (x,)), y)

    return torch.autograd.functional.hessian(loss, torch.from_numpy(vector)).numpy()


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_top_eigenvalue_equals_the_full_hessians_largest(task):
    model, x, y = _net()
    loss_fn = torch.nn.MSELoss()
    if task == "classification":
        model[-1] = torch.nn.Linear(8, 3).double()
        y = torch.randint(0, 3, (40,))
        loss_fn = torch.nn.CrossEntropyLoss()
    vector = params.flat(model) + 0.3 * np.random.default_rng(1).standard_normal(params.size(model))
    eig = sharpness.top_eigenvalue(model, loss_fn, x, y, vector)
    spectrum = np.linalg.eigvalsh(_hessian(model, loss_fn, x, y, vector))
    assert 50 <= spectrum.size <= 200
    assert spectrum[0] < 0  # not convex: the largest eigenvalue, not the largest |eigenvalue|
    assert eig.converged and 1 <= eig.iterations <= 100
    assert abs(eig.value - spectrum[-1]) <= 1e-8
    assert eig.residual <= 1e-8 * max(abs(eig.value), 1.0)


def test_lanczos_finds_the_largest_algebraic_eigenvalue_of_a_matrix():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((120, 120)))
    values = np.concatenate([[-50.0, 7.0, 6.9], rng.uniform(-5, 5, 117)])
    matrix = torch.from_numpy((q * values) @ q.T)
    eig = sharpness.lanczos_top(lambda v: matrix @ v, torch.zeros(120, dtype=torch.float64))
    assert eig.converged and abs(eig.value - 7.0) <= 1e-9
    v = np.linalg.eigh(matrix.numpy())[1][:, -1]
    assert eig.residual <= 1e-8 and np.linalg.norm(matrix.numpy() @ v - 7.0 * v) <= 1e-10


def test_too_few_iterations_report_no_convergence():
    model, x, y = _net()
    vector = params.flat(model)
    eig = sharpness.top_eigenvalue(model, torch.nn.MSELoss(), x, y, vector, iters=2)
    spectrum = np.linalg.eigvalsh(_hessian(model, torch.nn.MSELoss(), x, y, vector))
    assert not eig.converged and eig.iterations == 2
    assert eig.value < spectrum[-1] and eig.residual > 1e-3  # a Ritz value from below, and far off
    again = sharpness.top_eigenvalue(model, torch.nn.MSELoss(), x, y, vector, iters=2)
    assert again == eig  # same seed, same start vector, same numbers


def test_along_is_the_top_eigenvalue_at_each_snapshot_and_leaves_the_model_alone():
    model, x, y = _net()
    loss_fn = torch.nn.MSELoss()
    run = record.train(copy.deepcopy(model), loss_fn, x, y, optimizer="gd", alpha=0.05, steps=20, every=10,
                       progress=False)
    before = params.flat(model)
    values = sharpness.along(run, model, loss_fn, x, y, progress=False)
    assert values.shape == (3,)
    for value, vector in zip(values, run.params, strict=True):
        assert value == sharpness.top_eigenvalue(model, loss_fn, x, y, vector).value
    assert np.array_equal(params.flat(model), before)
    with pytest.warns(RuntimeWarning, match="did not converge at 3 of 3"):
        sharpness.along(run, model, loss_fn, x, y, progress=False, iters=2)


def test_a_loss_linear_in_the_parameters_has_zero_sharpness():
    model = torch.nn.Linear(3, 2).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    linear = lambda out, y: (out * y).sum()  # noqa: E731
    eig = sharpness.top_eigenvalue(model, linear, x, torch.ones(5, 2), params.flat(model))
    assert eig.value == 0.0 and eig.converged and eig.residual == 0.0


def test_bad_inputs_are_input_errors():
    model, x, y = _net()
    with pytest.raises(InputError, match="161 parameters"):
        sharpness.top_eigenvalue(model, torch.nn.MSELoss(), x, y, np.zeros(5))
    with pytest.raises(InputError, match="finite"):
        sharpness.top_eigenvalue(model, torch.nn.MSELoss(), x, y, np.full(161, np.nan))
    with pytest.raises(InputError, match="one number"):
        sharpness.top_eigenvalue(model, torch.nn.MSELoss(reduction="none"), x, y, params.flat(model))
    with pytest.raises(InputError, match="iters"):
        sharpness.top_eigenvalue(model, torch.nn.MSELoss(), x, y, params.flat(model), iters=0)
    big = torch.nn.Linear(2000, 2000)
    with pytest.raises(InputError, match="Lanczos basis"):
        sharpness.top_eigenvalue(big, torch.nn.MSELoss(), torch.zeros(2, 2000), torch.zeros(2, 2000),
                                 params.flat(big))


# ---- the edge of stability -----------------------------------------------------------------------

def _sine_mlp() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """A 1-32-32-32-1 tanh MLP (2,209 parameters) and 64 points of a wiggly 1-D curve."""
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = [torch.nn.Linear(1, 32), torch.nn.Tanh()]
    for _ in range(2):
        layers += [torch.nn.Linear(32, 32), torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(32, 1)).double()
    x = torch.linspace(-1, 1, 64, dtype=torch.float64)[:, None]
    return model, x, torch.sin(3 * x) + 0.5 * torch.cos(7 * x)


@pytest.mark.parametrize("alpha", [0.07, 0.1])
def test_edge_of_stability_gradient_descent_sharpens_to_two_over_alpha_and_hovers(alpha):
    """Cohen et al. (2021): full-batch gradient descent on an MSE network sharpens until λ_max reaches
    2/α and then hovers there while the loss keeps falling. Two steps, two different plateaus: the
    sharpness follows 2/α, not a property of the network alone."""
    model, x, y = _sine_mlp()
    loss_fn = torch.nn.MSELoss()
    run = record.train(copy.deepcopy(model), loss_fn, x, y, optimizer="gd", alpha=alpha, steps=3000, every=20,
                       progress=False)
    edge = sharpness.limit(run)
    assert edge == 2.0 / alpha
    eigens = sharpness.eigens_along(run, model, loss_fn, x, y, iters=60, tol=1e-8, progress=False)
    assert all(e.converged for e in eigens)
    ratio = np.array([e.value for e in eigens]) / edge
    assert ratio[0] < 0.5  # it starts far below the edge: progressive sharpening, not the initialisation
    late = ratio[run.steps >= 1500]
    assert np.all(np.abs(late - 1.0) <= 0.10), (late.min(), late.max())  # hovers within 10 % of 2/α
    assert run.losses[-1] < run.losses[0] / 20  # and the loss went on falling


# ---- the stability limits ------------------------------------------------------------------------

class _Book:
    """What :func:`sharpness.limit` reads of a run: its optimiser and the book's α, β."""

    def __init__(self, optimizer: str, alpha: float | None, beta: float | None) -> None:
        self.optimizer, self.alpha, self.beta = optimizer, alpha, beta


def _quadratic(method: str, alpha: float, beta: float, lam: float, steps: int = 20_000) -> float:
    """|φ_T| of the book's rule (eq. 6.3, 6.11 or 6.12) on L = λφ²/2 from φ_0 = 1, m_0 = 0."""
    phi, m = 1.0, 0.0
    for _ in range(steps):
        if method == "nesterov":
            g = lam * (phi - alpha * beta * m)
        else:
            g = lam * phi
        m = beta * m + (1.0 - beta) * g
        phi = phi - alpha * m
        if abs(phi) > 1e30:
            break
    return abs(phi)


@pytest.mark.parametrize("method, beta", [("gd", 0.0), ("momentum", 0.5), ("momentum", 0.9),
                                          ("nesterov", 0.5), ("nesterov", 0.9)])
def test_limit_is_where_the_books_rule_turns_unstable_on_a_quadratic(method, beta):
    alpha = 0.3
    lam = sharpness.limit(_Book(method, alpha, beta))
    if method == "gd":
        assert lam == 2.0 / alpha
    else:
        assert lam == float(theory.stability_limit(method, beta, 1.0)) / alpha
        # stability_limit(β, L) = c(β)/L: the largest stable α falls as 1/L, so λ* = c(β)/α
        ls = np.array([0.01, 1.0, 3.0, 250.0])
        c = np.array([float(theory.stability_limit(method, beta, L)) for L in ls]) * ls
        np.testing.assert_allclose(c, c[0], rtol=1e-14)
    assert _quadratic(method, alpha, beta, 0.99 * lam) < 1e-3  # just below: it converges
    assert _quadratic(method, alpha, beta, 1.01 * lam) > 1e3  # just above: it blows up


def test_limit_matches_the_closed_forms_and_refuses_what_it_cannot_know():
    # momentum 2(1+β)/((1−β)α); Nesterov 2(1+β)/((1+2β)(1−β)α); β = 0 is gradient descent's 2/α
    assert sharpness.limit(_Book("momentum", 0.1, 0.9)) == pytest.approx(2 * 1.9 / 0.1 / 0.1, rel=1e-14)
    assert sharpness.limit(_Book("nesterov", 0.1, 0.9)) == pytest.approx(2 * 1.9 / 2.8 / 0.1 / 0.1, rel=1e-14)
    assert sharpness.limit(_Book("momentum", 0.1, 0.0)) == pytest.approx(20.0, rel=1e-15)
    with pytest.raises(InputError, match="'torch'"):
        sharpness.limit(_Book("torch", None, None))
    with pytest.raises(InputError, match="no step"):
        sharpness.limit(_Book("gd", None, None))
    with pytest.raises(InputError, match="no momentum"):
        sharpness.limit(_Book("nesterov", 0.1, None))
