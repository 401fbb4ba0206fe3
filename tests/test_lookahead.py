"""The look-ahead view: its geometry is exactly eq. 6.12 and 6.11, and the figure draws it."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

import descentlab as dl
from descentlab import plot, scene
from descentlab.plot.lookahead import telling_step


@pytest.fixture(scope="module")
def nesterov_run():
    problem = dl.datasets.line_fit()
    return problem, dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, steps=30)


@pytest.mark.parametrize("t", [0, 1, 5, 17])
def test_geometry_is_the_books_update(nesterov_run, t):
    problem, traj = nesterov_run
    g = scene.lookahead_step(problem, traj, t)
    alpha, beta = 0.05, 0.8
    np.testing.assert_allclose(g.lookahead, traj.params[t] - alpha * beta * traj.momentum[t], rtol=0, atol=0)
    np.testing.assert_array_equal(g.lookahead, traj.lookahead[t])           # where the run took it
    np.testing.assert_array_equal(g.grad_lookahead, problem.grad(g.lookahead))
    np.testing.assert_array_equal(g.grad_lookahead, traj.grads[t])          # the gradient it used
    np.testing.assert_allclose(g.nesterov_next, traj.params[t + 1], rtol=1e-14, atol=1e-15)
    # classical momentum from the same state (eq. 6.11), computed independently
    m_next = beta * traj.momentum[t] + (1 - beta) * problem.grad(traj.params[t])
    np.testing.assert_allclose(g.momentum_next, traj.params[t] - alpha * m_next, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(g.momentum_part + g.nesterov_grad_part, traj.params[t + 1] - traj.params[t],
                               rtol=1e-12, atol=1e-15)


def test_geometry_uses_the_steps_minibatch():
    problem = dl.datasets.line_fit()
    traj = dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, steps=8, batch_size=3, seed=1)
    g = scene.lookahead_step(problem, traj, 4)
    np.testing.assert_array_equal(g.batch, traj.batches[4])
    np.testing.assert_array_equal(g.grad_lookahead, problem.grad(g.lookahead, traj.batches[4]))
    np.testing.assert_allclose(g.nesterov_next, traj.params[5], rtol=1e-14, atol=1e-15)


def _arrows(ax):
    return [a for a in ax.texts if isinstance(a, Annotation) and a.arrow_patch is not None]


def test_figure_draws_the_lookahead_point_and_the_gradient_arrow_there(nesterov_run):
    problem, traj = nesterov_run
    fig = plot.lookahead(problem, traj, step=3)
    left, right = [ax for ax in fig.axes if ax.get_title()]
    g = scene.lookahead_step(problem, traj, 3)
    starts_ends = [(np.array(a.xyann), np.array(a.xy)) for a in _arrows(left)]
    # the momentum arrow φ_t → φ_t − αβ m_t and the gradient arrow from there to φ_{t+1}
    assert any(np.allclose(s, g.phi) and np.allclose(e, g.lookahead) for s, e in starts_ends)
    grad_arrow = [(s, e) for s, e in starts_ends if np.allclose(s, g.lookahead)]
    assert grad_arrow
    s, e = grad_arrow[0]
    np.testing.assert_allclose(e - s, -0.05 * (1 - 0.8) * problem.grad(g.lookahead), rtol=1e-12)
    # momentum: the gradient taken at φ_t (dashed) and applied after the momentum step
    right_arrows = [(np.array(a.xyann), np.array(a.xy)) for a in _arrows(right)]
    assert any(np.allclose(s, g.phi) and np.allclose(e - s, g.momentum_grad_part) for s, e in right_arrows)
    assert any(np.allclose(s, g.lookahead) and np.allclose(e, g.momentum_next) for s, e in right_arrows)
    assert "Nesterov" in left.get_title() and "Momentum" in right.get_title()
    assert left.get_aspect() == 1.0  # gradients drawn perpendicular to their contours


def test_default_step_is_where_the_rules_part_most(nesterov_run):
    problem, traj = nesterov_run
    t = telling_step(problem, traj)
    assert 1 <= t < traj.steps
    assert f"step t = {t}" in plot.lookahead(problem, traj)._suptitle.get_text()


def test_trace_marks_every_lookahead_point(nesterov_run):
    problem, traj = nesterov_run
    ax = plot.lookahead_trace(problem, traj).axes[0]
    ghosts = next(c for c in ax.collections if "where each gradient" in str(c.get_label()))
    offsets = np.asarray(ghosts.get_offsets())
    moved = np.linalg.norm(traj.lookahead - traj.params[:-1], axis=1) > 0
    np.testing.assert_array_equal(offsets, traj.lookahead[moved])


@pytest.mark.parametrize(("make", "needle"), [
    (lambda p: dl.run(dl.optimizers.gd(0.03), p, steps=5), "look-ahead view explains"),
    (lambda p: dl.run(dl.optimizers.adam(0.05), p, steps=5), "adam does not"),
    (lambda p: dl.run(dl.optimizers.nesterov(0.05), p, steps=0), "step"),
])
def test_bad_runs_for_the_lookahead_view(make, needle):
    problem = dl.datasets.line_fit()
    with pytest.raises(ValueError, match=needle):
        plot.lookahead(problem, make(problem), step=0)


def test_step_out_of_range(nesterov_run):
    problem, traj = nesterov_run
    with pytest.raises(ValueError, match="step"):
        scene.lookahead_step(problem, traj, traj.steps)


# ---- labels: inside their panel, clear of the markers and of each other ---------------------------

def _marker_boxes(ax):
    """Display boxes of the single-point markers (φ_t, the look-ahead point, both φ_{t+1})."""
    px = ax.figure.dpi / 72
    boxes = []
    for line in ax.lines:
        x, y = line.get_xdata(), line.get_ydata()
        if len(x) == 1 and line.get_marker() not in (None, "None", ""):
            cx, cy = ax.transData.transform((x[0], y[0]))
            half = line.get_markersize() * px / 2
            boxes.append(Bbox.from_extents(cx - half, cy - half, cx + half, cy + half))
    return boxes


def _label_texts(ax):
    return [a for a in ax.texts if isinstance(a, Annotation) and a.get_text()]


@pytest.mark.parametrize(("problem", "method", "steps", "step"), [
    (dl.datasets.line_fit, dict(lr=0.05, beta=0.8), 30, None),
    (dl.datasets.line_fit, dict(lr=0.05, beta=0.8), 30, 1),
    (dl.datasets.line_fit, dict(lr=0.05, beta=0.8), 30, 5),
    (dl.datasets.line_fit, dict(lr=0.05, beta=0.8), 30, 17),
    (lambda: dl.problems.quadratic(kappa=50), dict(lr=0.2, beta=0.9), 40, 3),
    (dl.problems.rosenbrock, dict(lr=0.002, beta=0.9), 60, 12),
    (dl.problems.himmelblau, dict(lr=0.01, beta=0.9), 30, 4),
])
def test_labels_stay_inside_and_hide_no_marker_and_no_label(problem, method, steps, step):
    prob = problem()
    traj = dl.run(dl.optimizers.nesterov(**method), prob, steps=steps)
    fig = plot.lookahead(prob, traj, step=step)
    fig.draw_without_rendering()
    for ax in (a for a in fig.axes if a.get_title()):
        markers = _marker_boxes(ax)
        assert len(markers) >= 4  # φ_t, look-ahead point, both φ_{t+1}, and any minimum in view
        texts = _label_texts(ax)
        assert {r"$\phi_t$", r"$\phi_{t+1}$"} <= {t.get_text() for t in texts}
        boxes = [t.get_window_extent() for t in texts]
        for text, box in zip(texts, boxes, strict=True):
            assert ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1, text.get_text()
            assert ax.bbox.y0 <= box.y0 and box.y1 <= ax.bbox.y1, text.get_text()
            for m in markers:
                assert not box.overlaps(m), (text.get_text(), box, m)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not a.overlaps(b)


def test_every_step_at_once_equals_one_step_at_a_time():
    """scene.lookahead_steps / steps_bounds (the explorer's panel) against lookahead_step /
    step_bounds at each t: the same geometry and the same views."""
    from descentlab import scene as scene_mod

    problem = dl.datasets.line_fit()
    for batch in (4, None):   # minibatches: step by step; all the data: the gradients stacked
        run = dl.run(dl.optimizers.nesterov(lr=0.05, beta=0.8), problem, steps=25, batch_size=batch, seed=3)
        steps = scene_mod.lookahead_steps(problem, run)
        assert len(steps) == run.steps
        views = scene_mod.steps_bounds(steps, run.params)
        for t, g in enumerate(steps):
            one = scene_mod.lookahead_step(problem, run, t)
            for name in ("phi", "momentum", "lookahead"):
                assert np.array_equal(getattr(g, name), getattr(one, name)), (t, name)
            for name in ("grad_lookahead", "grad_here"):
                np.testing.assert_allclose(getattr(g, name), getattr(one, name), rtol=1e-13, atol=1e-15)
            assert (g.batch is None) == (batch is None) and np.array_equal(g.batch, one.batch)
            np.testing.assert_allclose(views[t], scene_mod.step_bounds(one, run.params[t - 1] if t else None),
                                       rtol=1e-13, atol=1e-15)
    with pytest.raises(dl.errors.InputError, match="look-ahead"):
        scene_mod.lookahead_steps(problem, dl.run(dl.optimizers.gd(lr=0.01), problem, steps=3))
