"""networks.record: a recorded PyTorch run is the book's φ_t, m_t and L[φ_t]; run directories.

Oracles: a plain numpy loop of eqs. 6.3, 6.11 and 6.12 on the flattened parameters (gradients
from torch autograd of the same model), a separate copy of the model trained identically, the
full Hessian's largest eigenvalue, and the bytes of the arrays saved.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.func import functional_call

from descentlab import budget
from descentlab.errors import InputError
from descentlab.integrations.torch import BookNesterov
from descentlab.networks import record
from descentlab.networks.record import Recorder, Run, train

ALPHA, BETA = 0.2, 0.9


def make_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()


def make_data(n: int = 16, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64)
    y = torch.sin(x[:, :1]) + 0.1 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    return x, y


LOSS = torch.nn.MSELoss()


def flat_of(model: torch.nn.Module) -> np.ndarray:
    """φ in named_parameters order (the test's own flattening, not the library's)."""
    return np.concatenate([p.detach().numpy().ravel() for _, p in model.named_parameters()])


def tensors_of(model: torch.nn.Module, vec: np.ndarray) -> dict[str, torch.Tensor]:
    out, start = {}, 0
    for name, p in model.named_parameters():
        n = p.numel()
        out[name] = torch.tensor(vec[start:start + n]).reshape(p.shape)
        start += n
    return out


def loss_at(model, x, y, vec) -> float:
    return float(LOSS(functional_call(model, tensors_of(model, vec), (x,)), y))


def grad_at(model, x, y, vec) -> np.ndarray:
    ps = {k: v.clone().requires_grad_(True) for k, v in tensors_of(model, vec).items()}
    loss = LOSS(functional_call(model, ps, (x,)), y)
    grads = torch.autograd.grad(loss, list(ps.values()))
    return torch.cat([g.reshape(-1) for g in grads]).numpy()


def numpy_loop(method: str, model, x, y, steps: int, batches=None):
    """Eq. 6.3 / 6.11 / 6.12 on the flat vector: (φ_t, m_t) for t = 0..T and L[φ_t] on all the data."""
    beta = 0.0 if method == "gd" else BETA
    phi = flat_of(model)
    m = np.zeros_like(phi)
    phis, moms, losses = [phi], [m], [loss_at(model, x, y, phi)]
    for t in range(steps):
        xb, yb = (x, y) if batches is None else (x[batches[t]], y[batches[t]])
        point = phi - ALPHA * beta * m if method == "nesterov" else phi
        m = beta * m + (1 - beta) * grad_at(model, xb, yb, point)
        phi = phi - ALPHA * m
        phis.append(phi)
        moms.append(m)
        losses.append(loss_at(model, x, y, phi))
    return np.array(phis), np.array(moms), np.array(losses)


# ---- the book's rules against a plain loop -------------------------------------------------------

@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov"])
def test_recorded_phi_and_m_equal_a_numpy_loop_of_the_books_equations(method):
    x, y = make_data()
    start = make_model()
    phis, moms, losses = numpy_loop(method, start, x, y, 30)
    run = train(copy.deepcopy(start), LOSS, x, y, optimizer=method, alpha=ALPHA, beta=BETA, steps=30,
                progress=False)
    assert run.optimizer == method and run.alpha == ALPHA and run.beta == (0.0 if method == "gd" else BETA)
    assert run.steps.tolist() == list(range(31))
    np.testing.assert_allclose(run.params, phis, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.momenta, moms, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.losses, losses, rtol=0, atol=1e-12)
    assert np.abs(run.params[-1] - run.params[0]).max() > 1e-2  # it did move


def test_nesterov_phi_is_not_the_lookahead_point():
    """The recorded φ_t is the book's, ψ_t = φ_t − αβ m_t is where the gradient was taken."""
    x, y = make_data()
    start = make_model()
    phis, moms, _ = numpy_loop("nesterov", start, x, y, 10)
    run = train(copy.deepcopy(start), LOSS, x, y, optimizer="nesterov", alpha=ALPHA, beta=BETA, steps=10,
                progress=False)
    lookahead = phis - ALPHA * BETA * moms
    assert np.abs(run.params[1:] - lookahead[1:]).max() > 1e-3
    np.testing.assert_allclose(run.params, phis, rtol=0, atol=1e-12)


def test_every_keeps_step_0_and_T_and_the_same_snapshots():
    x, y = make_data()
    start = make_model()
    full = train(copy.deepcopy(start), LOSS, x, y, optimizer="momentum", alpha=ALPHA, steps=20,
                 progress=False)
    some = train(copy.deepcopy(start), LOSS, x, y, optimizer="momentum", alpha=ALPHA, steps=20, every=7,
                 progress=False)
    assert some.steps.tolist() == [0, 7, 14, 20]
    assert np.array_equal(some.params, full.params[some.steps])
    assert np.array_equal(some.momenta, full.momenta[some.steps])
    assert np.array_equal(some.losses, full.losses)
    exact = train(copy.deepcopy(start), LOSS, x, y, optimizer="momentum", alpha=ALPHA, steps=21, every=7,
                  progress=False)
    assert exact.steps.tolist() == [0, 7, 14, 21]


def test_the_model_is_trained_in_place_to_phi_T():
    x, y = make_data()
    model = make_model()
    run = train(model, LOSS, x, y, optimizer="nesterov", alpha=ALPHA, steps=8, progress=False)
    assert np.array_equal(flat_of(model), run.params[-1])
    assert run.names == [n for n, _ in model.named_parameters()]
    assert run.shapes == [tuple(p.shape) for p in model.parameters()]


def test_minibatches_follow_the_documented_seeded_order_and_losses_use_all_the_data():
    x, y = make_data(n=13)
    start = make_model()
    steps, size = 9, 5
    rng = np.random.default_rng(3)
    order = np.concatenate([rng.permutation(13) for _ in range(4)])
    batches = []
    for epoch in range(4):  # 13 = 5 + 5 + 3: the last batch of an epoch is smaller
        e = order[13 * epoch:13 * (epoch + 1)]
        batches += [e[:5], e[5:10], e[10:]]
    phis, moms, losses = numpy_loop("nesterov", start, x, y, steps, batches=[torch.from_numpy(b)
                                                                             for b in batches])
    run = train(copy.deepcopy(start), LOSS, x, y, optimizer="nesterov", alpha=ALPHA, beta=BETA,
                steps=steps, batch_size=size, seed=3, progress=False)
    np.testing.assert_allclose(run.params, phis, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.momenta, moms, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.losses, losses, rtol=0, atol=1e-12)
    again = train(copy.deepcopy(start), LOSS, x, y, optimizer="nesterov", alpha=ALPHA, steps=steps,
                  batch_size=size, seed=3, progress=False)
    other = train(copy.deepcopy(start), LOSS, x, y, optimizer="nesterov", alpha=ALPHA, steps=steps,
                  batch_size=size, seed=4, progress=False)
    assert np.array_equal(again.params, run.params)
    assert not np.allclose(other.params[-1], run.params[-1], rtol=0, atol=1e-9)


# ---- any torch.optim optimiser, the Recorder in a user's loop -----------------------------------

def test_a_torch_sgd_run_through_the_recorder_equals_a_copy_trained_identically():
    x, y = make_data()
    a, b = make_model(), make_model()

    def loop(model, every=None):
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
        rec = Recorder(model, opt, every=every) if every else None
        seen, user_losses = [flat_of(model)], []
        for t in range(10):
            opt.zero_grad()
            loss = LOSS(model(x), y)
            loss.backward()
            opt.step()
            user_losses.append(loss.item())
            seen.append(flat_of(model))
            if rec:
                rec.record(t, loss)
        return rec, np.array(seen), user_losses

    rec, seen_a, losses_a = loop(a, every=3)
    _, seen_b, _ = loop(b)
    run = rec.run()
    assert run.optimizer == "torch" and run.momenta is None and run.alpha is None and run.beta is None
    assert run.label == "SGD (lr=0.05)"
    assert run.steps.tolist() == [0, 3, 6, 9, 10]
    assert np.array_equal(run.params, seen_b[run.steps])     # bit for bit
    assert np.array_equal(seen_a, seen_b)                     # recording changed nothing
    assert np.array_equal(run.losses[:-1], losses_a)
    assert math.isnan(run.losses[-1])
    assert rec.run(final_loss=0.5).losses[-1] == 0.5


def test_train_with_make_optimizer_equals_a_closure_loop():
    x, y = make_data()
    a, b = make_model(), make_model()
    run = train(a, LOSS, x, y, make_optimizer=lambda p: torch.optim.Adam(p, lr=0.01), steps=6, progress=False)
    opt = torch.optim.Adam(b.parameters(), lr=0.01)
    seen = [flat_of(b)]
    for _ in range(6):
        def closure():
            opt.zero_grad()
            out = LOSS(b(x), y)
            out.backward()
            return out
        opt.step(closure)
        seen.append(flat_of(b))
    assert run.optimizer == "torch" and run.label == "Adam (lr=0.01)"
    assert np.array_equal(run.params, np.array(seen))
    assert run.losses.tolist() == [loss_at(b, x, y, v) for v in seen]


@pytest.mark.parametrize("mode", ["lookahead", "phi"])
def test_recorder_turns_a_lookahead_book_nesterov_into_phi(mode):
    """In look-ahead mode the model holds ψ_t; the Recorder records φ_t = ψ_t + αβ m_t."""
    x, y = make_data()
    start = make_model()
    ref = train(copy.deepcopy(start), LOSS, x, y, optimizer="nesterov", alpha=ALPHA, beta=BETA, steps=12,
                progress=False)
    model = copy.deepcopy(start)
    opt = BookNesterov(model.parameters(), lr=ALPHA, beta=BETA, parameters_are=mode)
    rec = Recorder(model, opt, every=4, loss=lambda: LOSS(model(x), y))

    def closure():
        opt.zero_grad()
        out = LOSS(model(x), y)
        out.backward()
        return out

    for t in range(12):
        opt.step(closure)
        rec.record(t)
    run = rec.run()
    assert run.optimizer == "nesterov" and run.label == "Nesterov (α=0.2, β=0.9)"
    assert run.steps.tolist() == [0, 4, 8, 12]
    np.testing.assert_allclose(run.params, ref.params[run.steps], rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.momenta, ref.momenta[run.steps], rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.losses, ref.losses, rtol=0, atol=1e-12)
    if mode == "lookahead":  # the model holds ψ_T, not φ_T
        assert np.abs(flat_of(model) - run.params[-1]).max() > 1e-4


def test_recorder_refuses_misuse():
    x, y = make_data()
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    rec = Recorder(model, opt)
    with pytest.raises(InputError, match=r"expected step 0"):
        rec.record(1, 0.3)
    with pytest.raises(InputError, match="give the loss"):
        rec.record(0)
    measuring = Recorder(model, opt, loss=lambda: LOSS(model(x), y))
    with pytest.raises(InputError, match="without a loss"):
        measuring.record(0, 0.3)
    with pytest.raises(InputError, match=r"torch\.optim\.Optimizer"):
        Recorder(model, "sgd")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="every"):
        Recorder(model, opt, every=0)


# ---- the default step, checks before work, divergence ------------------------------------------

def test_default_alpha_is_half_over_the_top_eigenvalue_of_the_full_hessian():
    x, y = make_data()
    model = make_model()
    phi0 = flat_of(model)

    def loss_of(vec):
        return LOSS(functional_call(model, {k: v for k, v in _split(model, vec).items()}, (x,)), y)

    hess = torch.autograd.functional.hessian(loss_of, torch.tensor(phi0))
    lam = np.linalg.eigvalsh(hess.numpy()).max()
    run = train(model, LOSS, x, y, optimizer="gd", steps=2, progress=False)
    assert record.SAFETY == 0.5
    assert run.alpha == pytest.approx(0.5 / lam, rel=1e-8)
    assert run.label == f"GD (α={run.alpha:.4g})"


def _split(model, vec: torch.Tensor) -> dict[str, torch.Tensor]:
    out, start = {}, 0
    for name, p in model.named_parameters():
        out[name] = vec[start:start + p.numel()].reshape(p.shape)
        start += p.numel()
    return out


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"optimizer": "adam"}, "'adam' is not one of gd, momentum, nesterov"),
    ({"steps": 0}, "steps must be an integer >= 1"),
    ({"every": 0}, "every must be an integer >= 1"),
    ({"batch_size": 17}, r"batch_size must be an integer in 1\.\.16"),
    ({"alpha": -1.0}, "alpha must be finite and > 0"),
    ({"beta": 1.0}, r"beta must be in \[0, 1\)"),
    ({"alpha": 0.1, "make_optimizer": lambda p: torch.optim.SGD(p, lr=0.1)}, "with make_optimizer"),
    ({"make_optimizer": lambda p: "not an optimiser"}, "must return a torch.optim.Optimizer"),
    ({"steps": budget.MAX_STEPS + 1}, "more than the limit"),
])
def test_bad_arguments_are_refused_before_training(kwargs, match):
    x, y = make_data()
    model = make_model()
    before = flat_of(model)
    args = kwargs if "make_optimizer" in kwargs else {"alpha": 0.1, **kwargs}
    with pytest.raises(InputError, match=match):
        train(model, LOSS, x, y, **args, progress=False)
    assert np.array_equal(flat_of(model), before)


def test_record_budget_and_mismatched_data_are_refused():
    x, y = make_data()
    big = torch.nn.Linear(3000, 1000).double()   # 3 million parameters
    with pytest.raises(InputError, match=r"MiB; the limit is 64 MiB .* raise every or lower steps"):
        train(big, LOSS, torch.zeros(2, 3000), torch.zeros(2, 1000), alpha=0.1, steps=10, progress=False)
    with pytest.raises(InputError, match="x has 16 examples and y has 15"):
        train(make_model(), LOSS, x, y[:15], alpha=0.1, progress=False)


def test_a_diverging_run_is_an_input_error_naming_alpha():
    x, y = make_data()
    with pytest.raises(InputError, match=r"diverged: L\[φ_\d+\] = (inf|nan).*lower alpha \(α = 1e\+06\)"):
        train(make_model(), LOSS, x, y, optimizer="gd", alpha=1e6, steps=50, progress=False)


def test_float32_data_follow_a_float64_model():
    x, y = make_data()
    run = train(make_model(), LOSS, x.float().numpy(), y.float(), optimizer="gd", alpha=0.1, steps=3,
                progress=False)
    assert run.params.dtype == np.float64 and run.losses.shape == (4,)


# ---- run directories ------------------------------------------------------------------------------

def small_runs() -> tuple[Run, Run]:
    x, y = make_data()
    nes = train(make_model(), LOSS, x, y, optimizer="nesterov", alpha=ALPHA, steps=9, every=4, progress=False)
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rec = Recorder(model, opt, every=2)
    for t in range(3):
        opt.zero_grad()
        loss = LOSS(model(x), y)
        loss.backward()
        opt.step()
        rec.record(t, loss)
    return nes, rec.run("sgd ♥ run")      # the last loss is NaN


@pytest.mark.parametrize("which", [0, 1])
def test_save_load_round_trip_is_bit_identical(tmp_path, which):
    run = small_runs()[which]
    run.save(tmp_path / "a" / "b")               # missing parents are created
    back = Run.load(tmp_path / "a" / "b")
    for field in ("label", "optimizer", "alpha", "beta", "names", "shapes"):
        assert getattr(back, field) == getattr(run, field)
    for field in ("steps", "params", "momenta", "losses"):
        mine, theirs = getattr(run, field), getattr(back, field)
        if mine is None:
            assert theirs is None
            continue
        assert theirs.dtype == mine.dtype and theirs.shape == mine.shape
        assert theirs.tobytes() == mine.tobytes()
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["arrays.npz", "run.json"]
    assert record.is_run_directory(tmp_path / "a" / "b")


def test_save_overwrites_only_a_run_directory(tmp_path):
    nes, sgd = small_runs()
    users = tmp_path / "mine"
    users.mkdir()
    (users / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match=r"mine: the directory holds files that are not a descentlab run "
                                         r"\(notes\.txt\)"):
        nes.save(users)
    assert sorted(p.name for p in users.iterdir()) == ["notes.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(InputError, match="exists and is not a directory"):
        nes.save(a_file)
    assert a_file.read_text() == "x"
    empty = tmp_path / "empty"
    empty.mkdir()
    nes.save(empty)
    (empty / "plot.png").write_bytes(b"png")          # a file of the user's beside the run
    sgd.save(empty)                                   # a run directory: replaced
    assert Run.load(empty).label == "sgd ♥ run"
    assert (empty / "plot.png").read_bytes() == b"png"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "run.json").write_text('{"format": "something else"}')
    with pytest.raises(InputError, match="not a descentlab run"):
        nes.save(tmp_path / "other")


def test_a_failed_save_leaves_no_new_directory(tmp_path, monkeypatch):
    nes, _ = small_runs()

    def boom(path, text):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(record, "write_text_atomic", boom)
    with pytest.raises(OSError, match="No space left"):
        nes.save(tmp_path / "new")
    assert not (tmp_path / "new").exists()
    assert list(tmp_path.iterdir()) == []


def _saved(tmp_path: Path) -> Path:
    root = tmp_path / "run"
    small_runs()[0].save(root)
    return root


def _rewrite_meta(root: Path, **changes) -> None:
    meta = json.loads((root / "run.json").read_text())
    meta.update(changes)
    (root / "run.json").write_text(json.dumps(meta))


def _replace_arrays(root: Path, data: bytes) -> None:
    import hashlib
    (root / "arrays.npz").write_bytes(data)
    _rewrite_meta(root, sha256=hashlib.sha256(data).hexdigest())


def _npz(**arrays) -> bytes:
    import io
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


CORRUPTIONS = {
    "no directory": (lambda r: __import__("shutil").rmtree(r), "run", "no such directory"),
    "no run.json": (lambda r: (r / "run.json").unlink(), "run.json", "no such file"),
    "no arrays": (lambda r: (r / "arrays.npz").unlink(), "arrays.npz", "no such file"),
    "arrays is a folder": (lambda r: ((r / "arrays.npz").unlink(), (r / "arrays.npz").mkdir()),
                           "arrays.npz", "directory"),
    "truncated arrays": (lambda r: (r / "arrays.npz").write_bytes((r / "arrays.npz").read_bytes()[:100]),
                         "arrays.npz", "checksum differs"),
    "garbage arrays": (lambda r: _replace_arrays(r, b"not a zip file at all"), "arrays.npz",
                       "not a readable array file"),
    "missing array": (lambda r: _replace_arrays(r, _npz(steps=np.arange(3))), "arrays.npz",
                      "'params' is missing"),
    "pickled array": (lambda r: _replace_arrays(r, _npz(steps=np.arange(3), params=np.array([{}]),
                                                        losses=np.zeros(3))),
                      "arrays.npz", "not a readable array file"),
    "wrong shapes": (lambda r: _replace_arrays(r, _npz(steps=np.array([0, 2]), params=np.zeros((2, 21)),
                                                       momenta=np.zeros((2, 21)), losses=np.zeros(2))),
                     "run.json", "losses has shape"),
    "not json": (lambda r: (r / "run.json").write_text("{oops"), "run.json", "not valid JSON"),
    "json list": (lambda r: (r / "run.json").write_text("[1, 2]"), "run.json", "not a descentlab run"),
    "other format": (lambda r: _rewrite_meta(r, format="descentlab-trajectory/3"), "run.json",
                     "not a descentlab run"),
    "no label": (lambda r: _rewrite_meta(r, label=None), "run.json", "'label' is missing"),
    "bad shapes": (lambda r: _rewrite_meta(r, shapes=[[5, "2"]]), "run.json", "lists of integers"),
    "bad optimizer": (lambda r: _rewrite_meta(r, optimizer="adam"), "run.json", "not one of"),
    "bad alpha": (lambda r: _rewrite_meta(r, alpha=-1), "run.json", "alpha -1 is not allowed"),
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_a_missing_or_corrupt_run_is_an_input_error_naming_the_path(tmp_path, case):
    root = _saved(tmp_path)
    damage, name, match = CORRUPTIONS[case]
    damage(root)
    with pytest.raises(InputError, match=match) as err:
        Run.load(root)
    where = root if name == "run" else root / name
    assert str(where) in str(err.value)


def test_an_inconsistent_run_cannot_be_built():
    nes, _ = small_runs()
    with pytest.raises(InputError, match="losses has shape"):
        Run(nes.label, nes.optimizer, nes.alpha, nes.beta, nes.steps, nes.params, nes.momenta,
            nes.losses[:-1], nes.names, nes.shapes)
    with pytest.raises(InputError, match="momenta are recorded exactly"):
        Run(nes.label, nes.optimizer, nes.alpha, nes.beta, nes.steps, nes.params, None,
            nes.losses, nes.names, nes.shapes)
    with pytest.raises(InputError, match="steps must be increasing"):
        Run(nes.label, nes.optimizer, nes.alpha, nes.beta, nes.steps[::-1], nes.params, nes.momenta,
            nes.losses, nes.names, nes.shapes)
