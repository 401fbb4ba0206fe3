"""The batched loss surface against a plain per-point loop, and its parameters, chunks and axes."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from descentlab import budget
from descentlab.errors import InputError
from descentlab.networks import directions, params, record, surface
from descentlab.networks.directions import Plane


def _mlp() -> tuple[torch.nn.Module, torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 6),
                                torch.nn.Tanh(), torch.nn.Linear(6, 1))
    x = torch.randn(30, 2, dtype=torch.float64)
    y = torch.sin(x[:, :1]) + 0.1 * torch.randn(30, 1, dtype=torch.float64)
    return model, torch.nn.MSELoss(), x, y


class _ConvNet(torch.nn.Module):
    """Conv → BatchNorm (eval: running statistics, buffers) → tanh → pool → linear, for 3 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 3, 3)
        self.norm = torch.nn.BatchNorm2d(3)
        self.head = torch.nn.Linear(3 * 2 * 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.max_pool2d(torch.tanh(self.norm(self.conv(x))), 2)
        return self.head(h.flatten(1))


def _conv() -> tuple[torch.nn.Module, torch.nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    model = _ConvNet()
    with torch.no_grad():  # running statistics that are not the defaults, so the buffers matter
        model.norm.running_mean.copy_(torch.tensor([0.3, -0.2, 0.1]))
        model.norm.running_var.copy_(torch.tensor([0.5, 2.0, 1.5]))
    x = torch.randn(20, 1, 6, 6, dtype=torch.float64)
    y = torch.randint(0, 3, (20,))
    return model, torch.nn.CrossEntropyLoss(), x, y


def _pca_plane(model: torch.nn.Module, seed: int = 0) -> Plane:
    """A PCA-like plane: the two leading right singular vectors of a random walk's φ_t − φ_T."""
    rng = np.random.default_rng(seed)
    phi_t = params.flat(model)
    walk = phi_t + np.cumsum(0.05 * rng.standard_normal((12, phi_t.size)), axis=0)[::-1]
    _, _, vt = np.linalg.svd(walk - phi_t, full_matrices=False)
    return Plane(origin=phi_t, d1=vt[0], d2=vt[1], kind="pca", explained=None)


def _random_plane(model: torch.nn.Module, seed: int = 1) -> Plane:
    rng = np.random.default_rng(seed)
    n = params.size(model)
    return Plane(origin=params.flat(model), d1=0.3 * rng.standard_normal(n), d2=0.3 * rng.standard_normal(n),
                 kind="given", explained=None)


def _loop(model, loss_fn, x, y, plane, a, b) -> np.ndarray:
    """The oracle: load each point's parameters into a deep copy of the model and evaluate."""
    net = copy.deepcopy(model).double().eval()
    out = np.empty((len(b), len(a)))
    for i, bi in enumerate(b):
        for j, aj in enumerate(a):
            params.load(net, plane.origin + aj * plane.d1 + bi * plane.d2)
            with torch.no_grad():
                out[i, j] = float(loss_fn(net(x), y))
    return out


def _filter_plane(model: torch.nn.Module) -> Plane:
    """Li et al. §4's filter-normalised random plane, from :mod:`descentlab.networks.directions`."""
    return directions.filter_normalized(model, seed=2)


def _trained_pca_plane(model: torch.nn.Module) -> Plane:
    """Li et al. §5's PCA plane of a real recorded run (a copy of the model, 12 steps of momentum)."""
    net = copy.deepcopy(model).double()
    x = torch.randn(16, *_INPUT[type(model)], dtype=torch.float64)
    out = net(x)
    y = torch.randn_like(out)
    run = record.train(net, torch.nn.MSELoss(), x, y, optimizer="momentum", alpha=0.05, steps=12,
                       progress=False)
    return directions.pca(run)


NETS = {"mlp": _mlp, "conv": _conv}
_INPUT = {torch.nn.Sequential: (2,), _ConvNet: (1, 6, 6)}
PLANES = {"pca-like": _pca_plane, "random": _random_plane, "filter": _filter_plane, "pca": _trained_pca_plane}


@pytest.mark.parametrize("plane_kind", PLANES)
@pytest.mark.parametrize("net", NETS)
def test_grid_equals_a_plain_per_point_loop(net, plane_kind):
    model, loss_fn, x, y = NETS[net]()
    plane = PLANES[plane_kind](model)
    a, b = np.linspace(-1.0, 0.6, 7), np.linspace(-0.5, 1.2, 5)
    got = surface.grid(model, loss_fn, x, y, plane, a, b, progress=False)
    want = _loop(model, loss_fn, x, y, plane, a, b)
    assert got.shape == (5, 7)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
    assert np.ptp(got) > 1e-3  # the plane is not flat: the test can tell points apart


@pytest.mark.parametrize("net", NETS)
def test_chunk_size_does_not_change_a_bit(net):
    model, loss_fn, x, y = NETS[net]()
    plane = _random_plane(model)
    a, b = np.linspace(-1, 1, 6), np.linspace(-1, 1, 5)
    grids = [surface.grid(model, loss_fn, x, y, plane, a, b, chunk=c, progress=False)
             for c in (1, 4, 7, 64, None)]
    for g in grids[1:]:
        assert np.array_equal(g, grids[0])


def test_evaluate_points_matches_the_grid_and_the_origin():
    model, loss_fn, x, y = _mlp()
    plane = _pca_plane(model)
    a, b = np.array([-0.4, 0.0, 0.7]), np.array([0.2, 0.0])
    g = surface.grid(model, loss_fn, x, y, plane, a, b, progress=False)
    coords = np.array([[0.7, 0.2], [0.0, 0.0], [-0.4, 0.0]])
    got = surface.evaluate_points(model, loss_fn, x, y, plane, coords)
    assert np.array_equal(got, [g[0, 2], g[1, 1], g[1, 0]])
    with torch.no_grad():  # (0, 0) is φ_T itself: the model's own loss
        assert got[1] == pytest.approx(float(loss_fn(copy.deepcopy(model).double()(x), y)), abs=1e-12)


def test_the_callers_model_is_left_as_it_was():
    model, loss_fn, x, y = _conv()
    model.train()
    before = params.flat(model)
    stats = model.norm.running_mean.clone()
    surface.grid(model, loss_fn, x, y, _random_plane(model), np.linspace(-1, 1, 3), np.linspace(-1, 1, 3),
                 progress=False)
    assert model.training and np.array_equal(params.flat(model), before)
    assert next(model.parameters()).dtype == torch.float32
    assert torch.equal(model.norm.running_mean, stats)


def test_subset_is_a_fixed_draw_of_examples():
    model, loss_fn, x, y = _mlp()
    plane = _random_plane(model)
    coords = np.array([[0.1, -0.3], [0.5, 0.5]])
    got = surface.evaluate_points(model, loss_fn, x, y, plane, coords, subset=10, seed=3)
    index = np.sort(np.random.default_rng(3).choice(30, size=10, replace=False))
    want = surface.evaluate_points(model, loss_fn, x[index], y[index], plane, coords)
    assert np.array_equal(got, want)
    full = surface.evaluate_points(model, loss_fn, x, y, plane, coords)
    assert not np.allclose(got, full)
    assert np.array_equal(surface.evaluate_points(model, loss_fn, x, y, plane, coords, subset=30), full)


def test_float32_model_with_dtype_none_works_in_float32():
    model, loss_fn, x, y = _mlp()
    plane = _random_plane(model)
    coords = np.array([[0.2, 0.1], [-0.3, 0.4]])
    single = surface.evaluate_points(model, loss_fn, x.float(), y.float(), plane, coords, dtype=None)
    double = surface.evaluate_points(model, loss_fn, x, y, plane, coords)
    np.testing.assert_allclose(single, double, rtol=1e-5)
    assert not np.array_equal(single, double)


def test_batches_follow_the_memory_budget(monkeypatch):
    model, loss_fn, x, y = _mlp()
    # one forward pass of 30 examples: Linear 8 + Tanh 8 + Linear 6 + Tanh 6 + Linear 1 + the Sequential 1
    assert surface.activation_values(model, x.float()) == 30 * (8 + 8 + 6 + 6 + 1 + 1)
    per_point = params.size(model) + 30 * 30
    assert surface.points_that_fit(model, x.float()) == budget.MAX_GRID_VALUES // per_point
    assert surface.batch_for(model, x.float()) == surface.BATCH
    monkeypatch.setattr(surface, "BATCH_VALUES", 3 * per_point + 1)  # room for 3 points a call
    assert surface.batch_for(model, x.float()) == 3
    plane = _pca_plane(model)
    a, b = np.linspace(-1, 1, 4), np.linspace(-1, 1, 2)
    got = surface.grid(model, loss_fn, x, y, plane, a, b, chunk=5, progress=False)
    np.testing.assert_allclose(got, _loop(model, loss_fn, x, y, plane, a, b), rtol=0, atol=1e-10)


def test_axes_cover_every_point_with_the_origin_on_the_grid():
    rng = np.random.default_rng(0)
    plane = None
    for resolution in (41, 40, 3):
        coords = rng.normal(size=(25, 2)) * [3.0, 0.2] + [4.0, 0.0]
        a, b = surface.axes_for(plane, coords, resolution=resolution, margin=0.25)
        assert a.shape == b.shape == (resolution,)
        assert 0.0 in a and 0.0 in b
        for axis, k in ((a, 0), (b, 1)):
            lo, hi = min(coords[:, k].min(), 0.0), max(coords[:, k].max(), 0.0)
            width = hi - lo
            assert axis[0] <= lo - 0.25 * width + 1e-12 and axis[-1] >= hi + 0.25 * width - 1e-12
            assert np.all(np.diff(axis) > 0)
            assert np.ptp(axis) <= 1.5 * width * (1 + 2 / (resolution - 1)) + 1e-12  # not wasteful
    a, b = surface.axes_for(plane, np.array([[1.0, 0.0], [2.0, 0.0]]), resolution=5)
    assert np.ptp(b) > 0 and 0.0 in b  # a still axis borrows the other's width


@pytest.mark.parametrize("resolution", [2, 0, 2001, 4.5])
def test_axes_refuse_a_bad_resolution(resolution):
    with pytest.raises(InputError, match="resolution"):
        surface.axes_for(None, np.zeros((2, 2)), resolution=resolution)


def test_grid_refuses_too_much_work_before_starting():
    model, loss_fn, _, _ = _mlp()
    x = torch.zeros(200_000, 2)
    y = torch.zeros(200_000, 1)
    plane = _random_plane(model)
    big = np.linspace(-1, 1, 200)
    with pytest.raises(InputError, match="multiply-adds; the limit"):
        surface.grid(model, loss_fn, x, y, plane, big, big, progress=False)
    with pytest.raises(InputError, match="or evaluate on a subset"):
        surface.check_grid(200, 200, 200_000, params.size(model))
    surface.check_grid(200, 200, 1_000, params.size(model))  # a subset of the examples fits
    with pytest.raises(InputError, match="20,000 points × 200,000 examples"):
        surface.evaluate_points(model, loss_fn, x, y, plane, np.zeros((20_000, 2)))
    with pytest.raises(InputError, match="resolution 2,001"):
        surface.grid(model, loss_fn, x[:5], y[:5], plane, np.zeros(2001), np.zeros(3), progress=False)


def test_bad_inputs_are_one_line_input_errors():
    model, loss_fn, x, y = _mlp()
    plane = _random_plane(model)
    other = Plane(origin=np.zeros(5), d1=np.zeros(5), d2=np.zeros(5), kind="given", explained=None)
    with pytest.raises(InputError, match="another network"):
        surface.evaluate_points(model, loss_fn, x, y, other, np.zeros((1, 2)))
    with pytest.raises(InputError, match=r"shape \(K, 2\)"):
        surface.evaluate_points(model, loss_fn, x, y, plane, np.zeros((3, 3)))
    with pytest.raises(InputError, match="finite"):
        surface.grid(model, loss_fn, x, y, plane, np.array([0.0, np.nan]), np.zeros(2), progress=False)
    with pytest.raises(InputError, match="one number"):
        surface.evaluate_points(model, torch.nn.MSELoss(reduction="none"), x, y, plane, np.zeros((2, 2)))
    with pytest.raises(InputError, match="one row per example"):
        surface.evaluate_points(model, loss_fn, x, y[:5], plane, np.zeros((2, 2)))
    with pytest.raises(InputError, match="chunk"):
        surface.evaluate_points(model, loss_fn, x, y, plane, np.zeros((2, 2)), chunk=0)


# ---- params --------------------------------------------------------------------------------------

def test_flat_matches_parameters_to_vector_and_load_round_trips():
    model, _, _, _ = _conv()
    vector = params.flat(model)
    want = torch.nn.utils.parameters_to_vector(model.parameters()).detach().double().numpy()
    assert vector.dtype == np.float64 and np.array_equal(vector, want)
    assert [n for n, _ in params.shapes(model)] == [n for n, _ in model.named_parameters()]
    new = np.random.default_rng(0).standard_normal(vector.size)
    tensors = params.unflat(model, new)
    for name, p in model.named_parameters():
        assert tensors[name].shape == p.shape and tensors[name].dtype == p.dtype
    params.load(model, new)
    assert np.array_equal(params.flat(model), new.astype(np.float32))
    with pytest.raises(InputError, match=f"{vector.size} parameters"):
        params.load(model, new[:-1])


# ---- a first layer linear in the plane ------------------------------------------------------------

class _Wrapped(torch.nn.Module):
    """The same layers as a Sequential, but not one: evaluated whole (no head shortcut)."""

    def __init__(self, seq: torch.nn.Sequential) -> None:
        super().__init__()
        self.seq = seq

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x)


class _ScaledLinear(torch.nn.Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2.0 * super().forward(x)


def test_the_head_shortcut_applies_to_a_plain_linear_first_layer_only():
    model, *_ = _mlp()
    assert surface.linear_head(model) == 2 * 8 + 8
    assert surface.linear_head(_Wrapped(model)) is None
    assert surface.linear_head(torch.nn.Sequential(_ScaledLinear(2, 3), torch.nn.Linear(3, 1))) is None
    assert surface.linear_head(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh())) is None
    assert surface.linear_head(torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Linear(2, 1))) is None
    assert surface.linear_head(torch.nn.Sequential(torch.nn.Linear(2, 3, bias=False), torch.nn.ReLU(),
                                                   torch.nn.Linear(3, 1))) == 6


@pytest.mark.parametrize("bias", [True, False])
def test_the_head_planes_are_the_first_layer_along_each_direction(bias):
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4, bias=bias), torch.nn.Tanh(),
                                torch.nn.Linear(4, 2)).double()
    x = torch.randn(9, 5, dtype=torch.float64)
    plane = _random_plane(model, seed=4)
    z0, z1, z2 = surface.head_planes(model, x, plane)
    first = copy.deepcopy(model)

    def head_at(vector):
        params.load(first, vector)
        with torch.no_grad():
            return first[0](x).numpy()

    at = head_at(plane.origin)
    np.testing.assert_allclose(z0.numpy(), at, rtol=1e-13, atol=1e-13)
    for d, z in ((plane.d1, z1), (plane.d2, z2)):   # affine: the change over a unit step is exact
        np.testing.assert_allclose(z.numpy(), head_at(plane.origin + d) - at, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_the_head_shortcut_equals_the_whole_network_and_the_loop(bias):
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Linear(6, 7, bias=bias), torch.nn.ReLU(), torch.nn.Linear(7, 5),
                                torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()
    x, y = torch.randn(40, 6, dtype=torch.float64), torch.randint(0, 3, (40,))
    plane, loss = _random_plane(model, seed=6), torch.nn.CrossEntropyLoss()
    a, b = np.linspace(-1.0, 1.5, 7), np.linspace(-0.5, 1.0, 5)
    shortcut = surface.grid(model, loss, x, y, plane, a, b, chunk=3, progress=False)
    whole = surface.grid(_Wrapped(model), loss, x, y, plane, a, b, chunk=3, progress=False)
    np.testing.assert_allclose(shortcut, whole, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(shortcut, _loop(model, loss, x, y, plane, a, b), rtol=1e-12, atol=1e-14)
    assert np.array_equal(shortcut, surface.grid(model, loss, x, y, plane, a, b, chunk=5, progress=False))


def test_one_point_at_a_time_when_one_forward_pass_fills_the_cache(monkeypatch):
    """Large data: each point alone (no vmap) — the same values as vmapped batches and the loop."""
    model, loss, x, y = _mlp()
    plane, a, b = _random_plane(model, seed=7), np.linspace(-1, 1, 5), np.linspace(-0.5, 0.5, 4)
    batched = surface.grid(model, loss, x, y, plane, a, b, chunk=3, progress=False)
    net, xs, _ = surface.prepared(model, x, y)
    assert surface.batch_for(net, xs) > 1
    monkeypatch.setattr(surface, "CACHE_VALUES", surface.activation_values(net, xs))
    assert surface.batch_for(net, xs) == 1
    monkeypatch.setattr(surface, "CACHE_VALUES", 1)     # every network below: one point a call
    single = surface.grid(model, loss, x, y, plane, a, b, chunk=3, progress=False)
    np.testing.assert_allclose(single, batched, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(single, _loop(model, loss, x, y, plane, a, b), rtol=1e-12, atol=1e-14)
    conv, closs, cx, cy = _conv()   # the whole network (no head shortcut) one point at a time too
    cplane = _random_plane(conv, seed=8)
    np.testing.assert_allclose(surface.grid(conv, closs, cx, cy, cplane, a, b, progress=False),
                               _loop(conv, closs, cx, cy, cplane, a, b), rtol=1e-10, atol=1e-12)
