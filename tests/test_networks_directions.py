"""networks.directions: PCA of the trajectory, filter-normalised random directions, projection.

Oracles: numpy.linalg.svd of the stacked φ_t − φ_T, numpy.linalg.lstsq, and the definition of
filter normalisation (Li et al. 2018 §4) checked filter by filter on a Conv2d and neuron by neuron
on a Linear layer.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from descentlab.errors import InputError
from descentlab.networks import directions
from descentlab.networks.directions import Plane, filter_normalized, given, pca, project
from descentlab.networks.record import train

LOSS = torch.nn.MSELoss()


def mlp(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).double()


def data(n: int = 20):
    g = torch.Generator().manual_seed(5)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    return x, torch.cat([torch.sin(x[:, :1]), x[:, 1:2] * x[:, 2:3]], dim=1)


@pytest.fixture(scope="module")
def runs():
    x, y = data()
    start = mlp()
    return [train(copy.deepcopy(start), LOSS, x, y, optimizer=name, alpha=0.5, steps=40, every=2,
                  progress=False) for name in ("momentum", "nesterov")]


def conv_net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(4 * 3 * 3, 3)).double()


# ---- PCA ------------------------------------------------------------------------------------------

def test_pca_directions_equal_the_svd_of_the_trajectory_around_phi_T(runs):
    plane = pca(runs)
    origin = runs[0].params[-1]
    m = np.concatenate([r.params for r in runs]) - origin
    _, s, vt = np.linalg.svd(m, full_matrices=False)
    assert plane.kind == "pca"
    assert np.array_equal(plane.origin, origin)
    for d, v in ((plane.d1, vt[0]), (plane.d2, vt[1])):
        sign = np.sign(d @ v)
        np.testing.assert_allclose(d, sign * v, rtol=0, atol=1e-10)
        assert d[np.argmax(np.abs(d))] > 0              # the documented sign
    np.testing.assert_allclose(plane.explained, s[:2] ** 2 / np.sum(s**2), rtol=1e-12)
    assert plane.explained[0] >= plane.explained[1] > 0
    assert abs(plane.d1 @ plane.d2) < 1e-12 and abs(np.linalg.norm(plane.d1) - 1) < 1e-12


def test_pca_of_one_run_and_another_origin(runs):
    one = pca(runs[1])
    assert np.array_equal(one.origin, runs[1].params[-1])
    origin = runs[0].params[0]
    moved = pca(runs, origin=origin)
    _, _, vt = np.linalg.svd(np.concatenate([r.params for r in runs]) - origin, full_matrices=False)
    assert abs(abs(moved.d1 @ vt[0]) - 1) < 1e-10
    assert np.array_equal(moved.origin, origin)


def test_projections_equal_least_squares_and_phi_T_is_the_origin(runs):
    model = mlp()
    from descentlab.networks import params

    params.load(model, runs[0].params[-1])
    rng = np.random.default_rng(0)
    planes = [pca(runs), filter_normalized(model, seed=1),
              given(runs[0].params[-1], rng.standard_normal(runs[0].n_params),
                    rng.standard_normal(runs[0].n_params))]
    for plane in planes:
        for run in runs:
            coords = project(plane, run.params)
            basis = np.stack([plane.d1, plane.d2], axis=1)
            expected = np.linalg.lstsq(basis, (run.params - plane.origin).T, rcond=None)[0].T
            np.testing.assert_allclose(coords, expected, rtol=1e-10, atol=1e-12)
        end = project(plane, runs[0].params[-1])
        assert end.shape == (2,) and end[0] == 0 and end[1] == 0
        assert project(plane, runs[0].params[-1:]).tolist() == [[0.0, 0.0]]
    pca_plane = planes[0]
    a, b = project(pca_plane, runs[0].params[3])
    inside = pca_plane.point(a, b)
    np.testing.assert_allclose(project(pca_plane, inside), [a, b], rtol=1e-10, atol=1e-12)


def test_pca_refuses_what_it_cannot_do(runs):
    x, y = data()
    short = train(mlp(), LOSS, x, y, optimizer="gd", alpha=0.1, steps=1, progress=False)
    with pytest.raises(InputError, match="do not span two directions"):
        pca(short)                                   # φ_0 − φ_1 and 0: one direction
    with pytest.raises(InputError, match="at least one recorded run"):
        pca([])
    bigger = train(torch.nn.Linear(3, 2).double(), LOSS, x, y, optimizer="gd", alpha=0.1, steps=3,
                   progress=False)
    with pytest.raises(InputError, match="different numbers of parameters"):
        pca([runs[0], bigger])
    with pytest.raises(InputError, match=r"origin must be a vector of shape \(38,\), got shape \(3,\)"):
        pca(runs, origin=np.zeros(3))


# ---- filter normalisation -------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 7])
def test_filter_normalisation_matches_its_definition_filter_by_filter(seed):
    net = conv_net()
    plane = filter_normalized(net, seed=seed)
    rng = np.random.default_rng(seed)
    n = sum(p.numel() for p in net.parameters())
    raws = [rng.standard_normal(n), rng.standard_normal(n)]        # d1 drawn first, then d2
    assert plane.kind == "filter" and plane.explained is None
    np.testing.assert_array_equal(plane.origin, np.concatenate(
        [p.detach().numpy().ravel() for p in net.parameters()]))
    checked = {"conv": 0, "linear": 0, "zero": 0}
    for d, raw in ((plane.d1, raws[0]), (plane.d2, raws[1])):
        start = 0
        for name, p in net.named_parameters():
            k = p.numel()
            piece, r = d[start:start + k].reshape(p.shape), raw[start:start + k].reshape(p.shape)
            theta = p.detach().numpy()
            start += k
            if p.ndim < 2:                                 # biases and BatchNorm's weight and bias
                assert not piece.any(), name
                checked["zero"] += 1
                continue
            for j in range(p.shape[0]):                    # conv: output channel; linear: neuron's row
                np.testing.assert_allclose(np.linalg.norm(piece[j]), np.linalg.norm(theta[j]), rtol=1e-12)
                scale = np.linalg.norm(theta[j]) / np.linalg.norm(r[j])
                np.testing.assert_allclose(piece[j], scale * r[j], rtol=1e-12, atol=0)
            checked["conv" if p.ndim == 4 else "linear"] += 1
    assert checked == {"conv": 2, "linear": 2, "zero": 8}


def test_filter_directions_are_seeded_and_follow_the_given_origin():
    net = conv_net()
    a, b, c = filter_normalized(net, seed=3), filter_normalized(net, seed=3), filter_normalized(net, seed=4)
    assert np.array_equal(a.d1, b.d1) and np.array_equal(a.d2, b.d2)
    assert not np.allclose(a.d1, c.d1) and not np.allclose(a.d2, c.d2)
    assert not np.allclose(a.d1, a.d2)
    origin = 2.0 * a.origin
    doubled = filter_normalized(net, seed=3, origin=origin)
    np.testing.assert_allclose(doubled.d1, 2.0 * a.d1, rtol=1e-12)
    assert np.array_equal(doubled.origin, origin)


def test_a_zero_filter_gets_a_zero_direction_and_a_network_of_biases_is_refused():
    net = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        net.weight[1].zero_()
    plane = filter_normalized(net, seed=0)
    w = plane.d1[:12].reshape(3, 4)
    assert not w[1].any() and w[0].any() and w[2].any()
    with pytest.raises(InputError, match="no nonzero weight matrix"):
        filter_normalized(torch.nn.LayerNorm(5).double())
    with pytest.raises(InputError, match="seed"):
        filter_normalized(net, seed=-1)


# ---- given and the plane itself ---------------------------------------------------------------

def test_given_checks_its_vectors():
    o, d1, d2 = np.zeros(4), np.array([1.0, 0, 0, 0]), np.array([0, 2.0, 0, 0])
    plane = given(o, d1, d2)
    assert plane.kind == "given" and plane.explained is None
    assert project(plane, np.array([3.0, 4.0, 5.0, 6.0])).tolist() == [3.0, 2.0]
    with pytest.raises(InputError, match="linearly independent"):
        given(o, d1, 3 * d1)
    with pytest.raises(InputError, match="linearly independent"):
        given(o, d1, np.zeros(4))
    with pytest.raises(InputError, match=r"d2 must be a vector of shape \(4,\)"):
        given(o, d1, np.zeros(5))
    with pytest.raises(InputError, match="finite"):
        given(o, d1, np.array([0, np.nan, 0, 1.0]))
    with pytest.raises(InputError, match=r"points must have shape \(K, 4\)"):
        project(plane, np.zeros((2, 3)))


def test_a_plane_is_read_only_and_a_copy():
    d1 = np.array([1.0, 0.0])
    plane = Plane(origin=np.zeros(2), d1=d1, d2=np.array([0.0, 1.0]), kind="given")
    d1[0] = 5.0
    assert plane.d1[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        plane.d1[0] = 2.0
    with pytest.raises(InputError, match="kind"):
        Plane(origin=np.zeros(2), d1=d1, d2=d1, kind="random")
    assert directions.KINDS == ("pca", "filter", "given")
