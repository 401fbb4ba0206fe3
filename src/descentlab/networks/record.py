r"""Record a PyTorch training run as the book's iterates: :math:`\phi_t`, :math:`m_t` and :math:`L[\phi_t]`.

A :class:`Run` keeps snapshots of the flattened parameters :math:`\phi_t \in \mathbb{R}^P` (in
``model.named_parameters()`` order, :mod:`descentlab.networks.params`) every ``every`` steps — step
0 and the last step T always — the book's momentum :math:`m_t` at the same steps when the optimiser
is one of the book's, and the training loss :math:`L[\phi_t]` at *every* step t = 0..T.

The book's rules (:mod:`descentlab.integrations.torch`), with :math:`m_0 = 0` and :math:`g` the
gradient of the user's loss as ``loss_fn(model(x), y)`` gives it (mean or sum, recorded as is):

.. math::
    \text{gd (6.3):}\quad \phi_{t+1} &= \phi_t - \alpha\, g(\phi_t) \\
    \text{momentum (6.11):}\quad m_{t+1} &= \beta m_t + (1-\beta)\, g(\phi_t), &
        \phi_{t+1} &= \phi_t - \alpha\, m_{t+1} \\
    \text{Nesterov (6.12):}\quad m_{t+1} &= \beta m_t + (1-\beta)\, g(\phi_t - \alpha\beta m_t), &
        \phi_{t+1} &= \phi_t - \alpha\, m_{t+1}

Gradient descent is :class:`~descentlab.integrations.torch.BookMomentum` with β = 0, so its
recorded :math:`m_{t+1}` is the gradient :math:`g(\phi_t)` of the step that led to
:math:`\phi_{t+1}`. For Nesterov the recorded parameters are always the book's :math:`\phi_t`,
never the look-ahead point :math:`\psi_t = \phi_t - \alpha\beta m_t` where the gradient is taken:
:func:`train` runs :class:`~descentlab.integrations.torch.BookNesterov` with
``parameters_are="phi"`` (the model holds :math:`\phi_t` between steps and the step's closure is
evaluated at :math:`\psi_t`), and :class:`Recorder` converts an optimiser in look-ahead mode with
:math:`\phi_t = \psi_t + \alpha\beta m_t`. Any other ``torch.optim`` optimiser is recorded as it
leaves the parameters (``optimizer="torch"``, no momenta; PyTorch's own Nesterov SGD leaves the
look-ahead point there).

**Run directories.** :meth:`Run.save` writes a folder holding ``arrays.npz`` (steps, params,
momenta, losses; float64, read back bit for bit) and ``run.json`` (format
``descentlab-network-run/1``: label, optimiser, α, β, parameter names and shapes, and the SHA-256
of ``arrays.npz``). Each file is written atomically (a hidden temporary file renamed into place),
the arrays first and ``run.json`` last, so a folder with a ``run.json`` whose checksum matches its
arrays is a complete run. :meth:`Run.save` creates the folder, or writes into an empty one or one
that already holds a descentlab run (its ``run.json`` and ``arrays.npz`` are replaced; other files
there are left alone); it refuses any other existing folder, so it never overwrites a user's
files. :meth:`Run.load` raises :class:`~descentlab.errors.InputError` naming the path for a
missing, truncated, altered or inconsistent file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from descentlab import budget, validation
from descentlab.errors import InputError, escaped
from descentlab.files import write_atomic, write_text_atomic
from descentlab.integrations.torch import BookMomentum, BookNesterov
from descentlab.networks import params as params_
from descentlab.paths import read_bytes, read_text
from descentlab.progress import progress_bar

FORMAT = "descentlab-network-run/1"
"""The ``format`` of ``run.json``; a folder whose ``run.json`` says so is a descentlab run."""
RUN_FILE = "run.json"
ARRAYS_FILE = "arrays.npz"
OPTIMIZERS = ("gd", "momentum", "nesterov", "torch")
"""What a :class:`Run` can have been trained with: the book's three rules, or any torch.optim."""
BOOK = ("gd", "momentum", "nesterov")
SAFETY = 0.5
r"""The default step is :math:`\alpha = \text{SAFETY}/\lambda_{\max}` at :math:`\phi_0` (:func:`train`)."""
MAX_META_BYTES = 16 * 2**20
"""The largest ``run.json`` read back (parameter names of a very large network fit easily)."""
MAX_ARRAYS_BYTES = 16 * budget.MAX_RECORD_BYTES
"""The largest ``arrays.npz`` read back: far above what :func:`train` records (its snapshots are
limited to :data:`descentlab.budget.MAX_RECORD_BYTES`), so only a runaway file is refused."""

_NAMES = {"gd": "GD", "momentum": "Momentum", "nesterov": "Nesterov"}


# ---- the record ----------------------------------------------------------------------------------

@dataclass(eq=False)
class Run:
    """One recorded training run (see the module docstring).

    Attributes:
        label: how figures and tables name the run, e.g. ``"Nesterov (α=0.1, β=0.9)"``.
        optimizer: ``"gd"``, ``"momentum"``, ``"nesterov"`` or ``"torch"`` (any torch.optim).
        alpha, beta: the book's α and β (None for a ``"torch"`` run; β = 0 for ``"gd"``).
        steps: (S,) int64, the step t of each snapshot, increasing, from 0 to T.
        params: (S, P) float64, the book's φ_t at those steps (Nesterov: φ_t, not the look-ahead).
        momenta: (S, P) float64, the book's m_t at those steps, or None for a ``"torch"`` run.
        losses: (T+1,) float64, L[φ_t] at every step t = 0..T on the training data used (the
            full data set unless the Recorder was given other values).
        names, shapes: each parameter tensor's name and shape, to rebuild them from φ.
    """

    label: str
    optimizer: str
    alpha: float | None
    beta: float | None
    steps: np.ndarray
    params: np.ndarray
    momenta: np.ndarray | None
    losses: np.ndarray
    names: list[str]
    shapes: list[tuple[int, ...]]

    def __post_init__(self) -> None:
        self.steps = np.asarray(self.steps, dtype=np.int64)
        self.params = np.asarray(self.params, dtype=np.float64)
        self.losses = np.asarray(self.losses, dtype=np.float64)
        if self.momenta is not None:
            self.momenta = np.asarray(self.momenta, dtype=np.float64)
        self.names = [str(n) for n in self.names]
        self.shapes = [tuple(int(k) for k in s) for s in self.shapes]
        problem = _problem(self)
        if problem:
            raise InputError(f"an inconsistent run {escaped(self.label)!r}: {problem}")
        self.alpha = None if self.alpha is None else float(self.alpha)
        self.beta = None if self.beta is None else float(self.beta)

    def __repr__(self) -> str:
        return (f"Run({self.label!r}, optimizer={self.optimizer!r}, steps 0..{int(self.steps[-1])}, "
                f"{self.steps.size} snapshots of {self.n_params:,} parameters)")

    @property
    def n_params(self) -> int:
        """P, the length of each φ_t."""
        return int(self.params.shape[1])

    def save(self, directory: str | Path) -> Path:
        """Write the run into ``directory`` (``run.json`` + ``arrays.npz``, each atomically).

        The folder (and its parents) is created when missing. An existing folder must be empty or
        already hold a descentlab run (a ``run.json`` of format :data:`FORMAT`), which is then
        replaced; any other existing folder or file is refused with an
        :class:`~descentlab.errors.InputError`, so no file of the user's is ever overwritten.
        Returns the folder.
        """
        root = Path(directory)
        _check_target(root)
        created = not root.exists()
        root.mkdir(parents=True, exist_ok=True)
        arrays = {"steps": self.steps, "params": self.params, "losses": self.losses}
        if self.momenta is not None:
            arrays["momenta"] = self.momenta
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        data = buffer.getvalue()
        meta = {"format": FORMAT, "label": self.label, "optimizer": self.optimizer,
                "alpha": self.alpha, "beta": self.beta, "names": self.names,
                "shapes": [list(s) for s in self.shapes], "steps": int(self.steps[-1]),
                "snapshots": int(self.steps.size), "parameters": self.n_params,
                "arrays": ARRAYS_FILE, "sha256": hashlib.sha256(data).hexdigest()}
        try:
            write_atomic(root / ARRAYS_FILE, lambda tmp: Path(tmp).write_bytes(data))
            write_text_atomic(root / RUN_FILE, json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
        except BaseException:
            if created:
                with contextlib.suppress(OSError):
                    (root / ARRAYS_FILE).unlink(missing_ok=True)
                    root.rmdir()
            raise
        return root

    @classmethod
    def load(cls, directory: str | Path) -> Run:
        """Read a run written by :meth:`save`; anything missing, truncated, altered or inconsistent
        raises :class:`~descentlab.errors.InputError` naming the file."""
        root = Path(directory)
        if not root.is_dir():
            raise InputError(f"{escaped(str(root))}: not a recorded run (no such directory)")
        meta_path, arrays_path = root / RUN_FILE, root / ARRAYS_FILE
        where = escaped(str(meta_path))
        meta = _read_meta(meta_path)
        data = read_bytes(arrays_path, escaped(str(arrays_path)), MAX_ARRAYS_BYTES)
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise InputError(f"{escaped(str(arrays_path))}: does not match its {RUN_FILE} (the checksum "
                             "differs: the file was changed, truncated or comes from another run)")
        arrays = _read_arrays(data, escaped(str(arrays_path)))
        try:
            return cls(label=meta["label"], optimizer=meta["optimizer"], alpha=meta["alpha"],
                       beta=meta["beta"], steps=arrays["steps"], params=arrays["params"],
                       momenta=arrays.get("momenta"), losses=arrays["losses"], names=meta["names"],
                       shapes=meta["shapes"])
        except InputError as err:
            raise InputError(f"{where}: {err}") from None


def _problem(run: Run) -> str:
    """What is inconsistent in ``run`` (empty when nothing is)."""
    if run.optimizer not in OPTIMIZERS:
        return f"optimizer {escaped(run.optimizer)!r} is not one of {', '.join(OPTIMIZERS)}"
    for name, value, ok in (("alpha", run.alpha, lambda v: math.isfinite(v) and v > 0),
                            ("beta", run.beta, lambda v: 0 <= v < 1)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not ok(float(value)):
            return f"{name} {value!r} is not allowed"
    if run.optimizer == "torch" and (run.alpha is not None or run.beta is not None):
        return "a torch.optim run has no book α and β"
    steps, p = run.steps, run.params
    if steps.ndim != 1 or steps.size < 1 or steps[0] != 0 or np.any(np.diff(steps) <= 0):
        return "steps must be increasing integers from 0"
    if p.ndim != 2 or p.shape[0] != steps.size:
        return f"params has shape {p.shape}; one row per snapshot ({steps.size}) is needed"
    if run.momenta is not None and run.momenta.shape != p.shape:
        return f"momenta has shape {run.momenta.shape}, params {p.shape}"
    if (run.momenta is None) != (run.optimizer == "torch"):
        return "momenta are recorded exactly when the optimizer is one of the book's"
    if run.losses.shape != (int(steps[-1]) + 1,):
        return f"losses has shape {run.losses.shape}; one per step 0..{int(steps[-1])} is needed"
    if len(run.names) != len(run.shapes):
        return f"{len(run.names)} parameter names for {len(run.shapes)} shapes"
    if sum(math.prod(s) for s in run.shapes) != p.shape[1] or any(k < 0 for s in run.shapes for k in s):
        return f"the parameter shapes do not add up to the {p.shape[1]} values of each snapshot"
    return ""


def is_run_directory(directory: str | Path) -> bool:
    """Whether ``directory`` holds a descentlab run (a ``run.json`` of format :data:`FORMAT`)."""
    try:
        return json.loads(read_text(Path(directory) / RUN_FILE, "", MAX_META_BYTES)).get("format") == FORMAT
    except (InputError, ValueError, AttributeError):
        return False


def _check_target(root: Path) -> None:
    shown = escaped(str(root))
    if root.exists() and not root.is_dir():
        raise InputError(f"{shown}: exists and is not a directory; give a new or empty directory for the run")
    if root.is_dir() and any(root.iterdir()) and not is_run_directory(root):
        names = sorted(e.name for e in root.iterdir())
        shown_names = escaped(", ".join(names[:3])) + (" …" if len(names) > 3 else "")
        raise InputError(f"{shown}: the directory holds files that are not a descentlab run ({shown_names}); "
                         "give a new or empty directory, or one a run was saved in")


def _read_meta(path: Path) -> dict[str, Any]:
    where = escaped(str(path))
    text = read_text(path, where, MAX_META_BYTES)
    try:
        meta = json.loads(text)
    except ValueError as err:
        raise InputError(f"{where}: not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise InputError(f"{where}: not a descentlab run (format {escaped(repr(got))}, expected {FORMAT!r})")
    kinds = {"label": str, "optimizer": str, "names": list, "shapes": list, "sha256": str}
    for key, kind in kinds.items():
        if not isinstance(meta.get(key), kind):
            raise InputError(f"{where}: {key!r} is missing or not a {kind.__name__}")
    if not all(isinstance(s, list) and all(isinstance(k, int) and not isinstance(k, bool) for k in s)
               for s in meta["shapes"]):
        raise InputError(f"{where}: 'shapes' must be lists of integers")
    if not all(isinstance(n, str) for n in meta["names"]):
        raise InputError(f"{where}: 'names' must be strings")
    for key in ("alpha", "beta"):
        if key not in meta:
            raise InputError(f"{where}: {key!r} is missing")
    return meta


def _read_arrays(data: bytes, where: str) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise InputError(f"{where}: not a readable array file ({escaped(err)})") from None
    for key, kind in (("steps", np.integer), ("params", np.floating), ("losses", np.floating),
                      ("momenta", np.floating)):
        if key not in arrays:
            if key == "momenta":
                continue
            raise InputError(f"{where}: the array {key!r} is missing")
        if not np.issubdtype(arrays[key].dtype, kind):
            raise InputError(f"{where}: the array {key!r} holds {arrays[key].dtype}, not numbers of its kind")
    return arrays


# ---- recording inside any training loop ----------------------------------------------------------

def _kind(optimizer: torch.optim.Optimizer) -> str:
    if isinstance(optimizer, BookNesterov):
        return "nesterov"
    if isinstance(optimizer, BookMomentum):
        return "gd" if all(g["beta"] == 0 for g in optimizer.param_groups) else "momentum"
    return "torch"


def _shared(optimizer: torch.optim.Optimizer, key: str) -> float | None:
    """The hyper-parameter ``key`` when every parameter group has the same value, else None."""
    values = {float(g[key]) for g in optimizer.param_groups if key in g}
    return values.pop() if len(values) == 1 else None


def default_label(optimizer: str, alpha: float | None, beta: float | None, torch_name: str = "") -> str:
    """``"Nesterov (α=0.1, β=0.9)"``, ``"GD (α=0.05)"``, or the torch optimiser's class name."""
    if optimizer == "torch":
        return torch_name or "torch"
    a = "α=?" if alpha is None else f"α={alpha:.4g}"
    if optimizer == "gd":
        return f"GD ({a})"
    b = "β=?" if beta is None else f"β={beta:.4g}"
    return f"{_NAMES[optimizer]} ({a}, {b})"


class Recorder:
    r"""Records a run from inside your own training loop::

        opt = BookNesterov(model.parameters(), lr=0.1, beta=0.9)      # or any torch.optim optimiser
        rec = Recorder(model, opt, every=10)                           # before the first step: φ_0
        for t in range(T):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            rec.record(t, loss)            # t: the step just taken, from 0; loss: the one computed at φ_t
        run = rec.run("my run")

    Snapshots of φ and (for the book's optimisers) m are kept after steps t with
    (t + 1) a multiple of ``every``, besides φ_0 and the last one. φ is the book's φ_t for
    :class:`~descentlab.integrations.torch.BookNesterov` in either mode (look-ahead mode:
    :math:`\psi_t + \alpha\beta m_t`); for any other optimiser it is the parameters as they are.
    α and β are read from the optimiser's parameter groups when it is constructed (None when the
    groups differ); a ``torch.optim`` run has α = β = None and its class name and ``lr`` as label.

    Losses: by default ``losses[t]`` is the value passed to ``record(t, loss)`` (your loop's loss
    at φ_t: for a minibatch, that batch's; for a look-ahead optimiser, the loss at the look-ahead
    point) and ``losses[T]`` is ``run(final_loss=...)`` or NaN. Give ``loss=`` a callable of no
    arguments returning the training loss at the model's current parameters (e.g. ``lambda:
    loss_fn(model(x), y)``) and the Recorder measures :math:`L[\phi_t]` itself at every step (at
    the book's φ_t, under ``at_phi()`` in look-ahead mode); then ``record(t)`` takes no loss.

    The Recorder holds all snapshots in memory (P values each, two for a book optimiser): choose
    ``every`` for your network's size.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, *, every: int = 1,
                 loss: Callable[[], Any] | None = None) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise InputError(f"Recorder needs a torch.optim.Optimizer, got {type(optimizer).__name__}")
        self.model, self.optimizer = model, optimizer
        self.every = validation.integer("every", every, 1)
        self.kind = _kind(optimizer)
        self.alpha = None if self.kind == "torch" else _shared(optimizer, "lr")
        self.beta = None if self.kind == "torch" else _shared(optimizer, "beta")
        lr = _shared(optimizer, "lr")
        self.label = default_label(self.kind, self.alpha, self.beta,
                                   type(optimizer).__name__ + ("" if lr is None else f" (lr={lr:.4g})"))
        """The run's default name: ``"Nesterov (α=0.1, β=0.9)"``, ``"SGD (lr=0.01)"``."""
        self._measure = loss
        self._names = [n for n, _ in params_.shapes(model)]
        self._shapes = [tuple(int(k) for k in s) for _, s in params_.shapes(model)]
        self._tensors = [p for _, p in model.named_parameters()]
        self._groups = {id(p): g for g in optimizer.param_groups for p in g["params"]}
        self._steps: list[int] = []
        self._params: list[np.ndarray] = []
        self._momenta: list[np.ndarray] = []
        self._losses: list[float] = []
        self._last: tuple[int, np.ndarray, np.ndarray | None] | None = None
        self._keep(0, *self._snapshot())
        if loss is not None:
            self._losses.append(self.measure())

    # -- reading the optimiser ---------------------------------------------------------------------

    def _lookahead(self, p: torch.Tensor) -> bool:
        group = self._groups.get(id(p))
        return (self.kind == "nesterov" and group is not None and group["parameters_are"] == "lookahead"
                and "momentum" in self.optimizer.state[p])

    def _snapshot(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(φ, m) now: the book's φ_t (look-ahead mode converted) and m_t (zero where not yet set)."""
        phis, moms = [], []
        with torch.no_grad():
            for p in self._tensors:
                m = self.optimizer.state[p].get("momentum") if self.kind != "torch" else None
                if self._lookahead(p):
                    group = self._groups[id(p)]
                    phi = p.detach() + (group["lr"] * group["beta"]) * m
                else:
                    phi = p.detach()
                phis.append(phi.to(device="cpu", dtype=torch.float64).reshape(-1))
                if self.kind != "torch":
                    moms.append(torch.zeros(p.numel(), dtype=torch.float64) if m is None
                                else m.detach().to(device="cpu", dtype=torch.float64).reshape(-1))
        phi = _cat(phis)
        return phi, (_cat(moms) if self.kind != "torch" else None)

    @contextlib.contextmanager
    def at_phi(self) -> Iterator[None]:
        """Within the block the model holds the book's φ_t (a look-ahead BookNesterov's
        ``at_phi()``; nothing to do for any other optimiser)."""
        if self.kind == "nesterov":
            with self.optimizer.at_phi():
                yield
        else:
            yield

    def measure(self) -> float:
        """The ``loss=`` callable's value at the book's φ_t now, as a float."""
        if self._measure is None:
            raise InputError("Recorder.measure() needs the Recorder's loss= callable")
        with torch.no_grad(), self.at_phi():
            return _float(self._measure())

    # -- recording ---------------------------------------------------------------------------------

    def _keep(self, step: int, phi: np.ndarray, mom: np.ndarray | None) -> None:
        self._steps.append(step)
        self._params.append(phi)
        if mom is not None:
            self._momenta.append(mom)

    @property
    def steps_taken(self) -> int:
        """T so far: how many steps have been recorded."""
        return len(self._losses) - (1 if self._measure is not None else 0)

    def record(self, step: int, loss: Any = None) -> None:
        """Record step ``step`` (counting from 0), just taken: the model now holds φ_{step+1}.

        ``loss``: the loss your loop computed at φ_step (a float or a 0-d tensor); leave it out when
        the Recorder was given ``loss=`` (it then measures L[φ_{step+1}] itself).
        """
        expected = self.steps_taken
        if isinstance(step, bool) or not isinstance(step, int | np.integer) or int(step) != expected:
            raise InputError(f"Recorder.record(step={step!r}): expected step {expected}, the index of the "
                             "step just taken, counting from 0, one call after each optimizer step")
        if self._measure is not None:
            if loss is not None:
                raise InputError("Recorder.record(): this Recorder measures the loss itself (loss=); "
                                 "call record(step) without a loss")
            self._losses.append(self.measure())
        else:
            if loss is None:
                raise InputError("Recorder.record(step, loss): give the loss computed at this step "
                                 "(or create the Recorder with loss= to measure it)")
            self._losses.append(_float(loss))
        t = int(step) + 1
        phi, mom = self._snapshot()
        if t % self.every == 0:
            self._keep(t, phi, mom)
            self._last = None
        else:
            self._last = (t, phi, mom)

    def run(self, label: str | None = None, *, final_loss: Any = None) -> Run:
        """The :class:`Run` recorded so far (label: ``default_label`` when None). Without ``loss=``,
        ``final_loss`` is L[φ_T] (NaN when not given)."""
        steps, phis, moms = list(self._steps), list(self._params), list(self._momenta)
        if self._last is not None:
            t, phi, mom = self._last
            steps.append(t)
            phis.append(phi)
            if mom is not None:
                moms.append(mom)
        losses = list(self._losses)
        if self._measure is None:
            losses.append(math.nan if final_loss is None else _float(final_loss))
        elif final_loss is not None:
            raise InputError("Recorder.run(): this Recorder measured L[φ_T] itself; leave out final_loss")
        return Run(label=label or self.label,
                   optimizer=self.kind, alpha=self.alpha, beta=self.beta, steps=np.array(steps),
                   params=np.stack(phis), momenta=np.stack(moms) if self.kind != "torch" else None,
                   losses=np.array(losses, dtype=np.float64), names=self._names, shapes=self._shapes)


def _cat(parts: list[torch.Tensor]) -> np.ndarray:
    return torch.cat(parts).numpy().copy() if parts else np.zeros(0, dtype=np.float64)


def _float(value: Any) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise InputError(f"a loss must be one number, got a tensor of shape {tuple(value.shape)}")
        return float(value.detach().item())
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"a loss must be a number, got {escaped(repr(value))[:80]}") from None


# ---- training ------------------------------------------------------------------------------------

def _as_tensor(name: str, value: Any, like: torch.Tensor) -> torch.Tensor:
    try:
        t = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise InputError(f"{name} must be a tensor or an array, got {type(value).__name__}") from None
    if t.ndim == 0:
        raise InputError(f"{name} must have one row per example, got a single number")
    if t.is_floating_point():
        return t.to(device=like.device, dtype=like.dtype)
    return t.to(device=like.device)


def check_record(steps: int, every: int, n_params: int, n_buffers: int = 2, *, runs: int = 1,
                 cli: bool = False) -> None:
    """Refuse, before training, ``runs`` runs whose snapshots (``n_buffers`` vectors of ``n_params``
    each: φ_t and m_t) exceed :data:`budget.MAX_RECORD_BYTES` together (``cli``: name the options)."""
    steps_name, every_name = ("--steps", "--every") if cli else ("steps", "every")
    if steps > budget.MAX_STEPS:
        raise InputError(f"{steps_name} {steps:,} is more than the limit of {budget.MAX_STEPS:,} steps "
                         "per run")
    snapshots = steps // every + 2
    size = 8 * runs * (snapshots * n_params * n_buffers + steps + 1)
    if size > budget.MAX_RECORD_BYTES:
        most = max(1, budget.MAX_RECORD_BYTES // (8 * runs * n_params * n_buffers) - 2)
        many = f" × {runs} runs" if runs > 1 else ""
        raise InputError(f"{steps_name} {steps:,} with a snapshot every {every} step(s){many} of "
                         f"{n_params:,} parameters would keep ≈ {size / 2**20:,.0f} MiB; the limit is "
                         f"{budget.MAX_RECORD_BYTES / 2**20:,.0f} MiB (at most {most:,} snapshots per run "
                         f"here): raise {every_name} or lower {steps_name}")


def _batches(n: int, batch_size: int | None, seed: int) -> Iterator[torch.Tensor | None]:
    """The examples of each step: None (all of them) without a batch size; else consecutive slices
    of a fresh ``numpy.random.default_rng(seed)`` permutation of 0..n−1 every epoch (the last batch
    of an epoch is smaller when ``batch_size`` does not divide n)."""
    if batch_size is None:
        while True:
            yield None
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield torch.from_numpy(order[start:start + batch_size])


def default_alpha(model: torch.nn.Module, loss_fn: Callable, x: torch.Tensor, y: torch.Tensor, *,
                  seed: int = 0) -> float:
    r""":math:`\alpha = \text{SAFETY}/\lambda_{\max}`, the top Hessian eigenvalue of the loss at the
    model's current parameters (:func:`descentlab.networks.sharpness.top_eigenvalue`)."""
    from descentlab.networks.sharpness import top_eigenvalue

    eig = top_eigenvalue(model, loss_fn, x, y, params_.flat(model), seed=seed)
    lam = float(eig.value)
    if not (math.isfinite(lam) and lam > 0):
        raise InputError(f"alpha: cannot derive a step from the curvature at the start (the top Hessian "
                         f"eigenvalue is {lam:g}); give alpha")
    return SAFETY / lam


def train(model: torch.nn.Module, loss_fn: Callable, x: Any, y: Any, *, optimizer: str = "nesterov",
          alpha: float | None = None, beta: float = 0.9, steps: int = 300, every: int = 1,
          batch_size: int | None = None, seed: int = 0,
          make_optimizer: Callable[[Any], torch.optim.Optimizer] | None = None, label: str | None = None,
          progress: bool = True) -> Run:
    r"""Train ``model`` in place for ``steps`` steps and record the run.

    Args:
        model: the network, trained from its current parameters (deep-copy one initial model to
            start several runs from one initialisation).
        loss_fn: ``loss_fn(model(x), y)`` → a scalar tensor, mean or sum as you define it; the
            book's α is tied to that choice (a mean divides the gradient by the number of examples).
        x, y: the training data (tensors or arrays; floating ones are cast to the model's dtype).
        optimizer: ``"gd"`` (eq. 6.3: BookMomentum with β = 0; ``beta`` is not used),
            ``"momentum"`` (eq. 6.11, BookMomentum) or ``"nesterov"`` (eq. 6.12, BookNesterov with
            ``parameters_are="phi"``, so the model holds φ_t and the gradient is taken at
            φ_t − αβ m_t inside the step).
        alpha: the book's α. None: :math:`\alpha = 0.5/\lambda_{\max}` with :math:`\lambda_{\max}` the
            top eigenvalue of the loss's Hessian at φ_0 over all the data
            (:func:`descentlab.networks.sharpness.top_eigenvalue`), half the largest stable step of
            gradient descent on the local quadratic model and well inside the momentum and Nesterov
            limits (:func:`descentlab.theory.stability_limit`).
        beta: the book's β in [0, 1).
        steps: T, the number of steps.
        every: keep a snapshot of φ (and m) every ``every`` steps (0 and T always).
        batch_size: None: full batch, every step uses all the data. Otherwise minibatches of that
            size, in the order of a fresh ``numpy.random.default_rng(seed)`` permutation of the
            examples every epoch.
        seed: the minibatch order's seed (and the start vector of the eigenvalue iteration).
        make_optimizer: ``make_optimizer(model.parameters())`` → any ``torch.optim`` optimiser,
            used instead of ``optimizer``/``alpha``/``beta``; its ``step(closure)`` is called with a
            closure that zeroes the gradients and back-propagates the step's batch. A BookMomentum
            or BookNesterov made this way is still recorded with its m_t; any other is ``"torch"``.
        label: the run's name (default: e.g. ``"Nesterov (α=0.1, β=0.9)"``).
        progress: show a progress bar on a terminal.

    Returns:
        the :class:`Run`, whose ``losses[t]`` is :math:`L[\phi_t]` over all of ``x, y`` for every
        t = 0..T (measured at the book's φ_t, also for Nesterov and for minibatches).

    Raises:
        InputError: a bad argument, a record over the budget, or a run that diverged (a loss that
            is not finite): lower α.
    """
    tensors = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    if not tensors:
        raise InputError("model must be a torch.nn.Module with parameters")
    steps = validation.integer("steps", steps, 1)
    every = validation.integer("every", every, 1)
    seed = validation.integer("seed", seed, 0)
    if make_optimizer is None:
        if optimizer not in BOOK:
            raise InputError(f"optimizer {escaped(repr(optimizer))} is not one of {', '.join(BOOK)} "
                             "(pass make_optimizer= for any torch.optim optimiser)")
        beta = 0.0 if optimizer == "gd" else validation.unit_interval("beta", beta)
        if alpha is not None:
            alpha = validation.positive("alpha", alpha)
    elif alpha is not None:
        raise InputError("alpha is the book's step for optimizer=gd/momentum/nesterov; with make_optimizer "
                         "set the learning rate in your optimiser")
    x = _as_tensor("x", x, tensors[0])
    y = _as_tensor("y", y, tensors[0])
    n = int(x.shape[0])
    if int(y.shape[0]) != n:
        raise InputError(f"x has {n} examples and y has {int(y.shape[0])}: they must match")
    if batch_size is not None:
        batch_size = validation.integer("batch_size", batch_size, 1, n)
    check_record(steps, every, params_.size(model), 2)

    if make_optimizer is not None:
        opt = make_optimizer(model.parameters())
        if not isinstance(opt, torch.optim.Optimizer):
            raise InputError(f"make_optimizer must return a torch.optim.Optimizer, got {type(opt).__name__}")
    else:
        if alpha is None:
            alpha = default_alpha(model, loss_fn, x, y, seed=seed)
        opt = (BookNesterov(model.parameters(), lr=alpha, beta=beta, parameters_are="phi")
               if optimizer == "nesterov" else BookMomentum(model.parameters(), lr=alpha, beta=beta))

    def full_loss() -> torch.Tensor:
        return loss_fn(model(x), y)

    rec = Recorder(model, opt, every=every)
    name = label or rec.label
    # the step's own loss is L[φ_t] for full-batch gd and momentum: no second forward pass
    reuse = make_optimizer is None and optimizer != "nesterov" and batch_size is None
    bar = progress_bar(steps, f"training {name}") if progress else None
    batches = _batches(n, batch_size, seed)
    for t in range(steps):
        idx = next(batches)
        xb, yb = (x, y) if idx is None else (x[idx], y[idx])
        if not reuse:
            with torch.no_grad(), rec.at_phi():
                value = _float(full_loss())
            _diverged(value, t, name, rec.alpha)

        def closure(xb=xb, yb=yb) -> torch.Tensor:
            opt.zero_grad()
            out = loss_fn(model(xb), yb)
            out.backward()
            return out

        got = opt.step(closure)
        if reuse:
            value = _float(got)
            _diverged(value, t, name, rec.alpha)
        rec.record(t, value)
        if bar is not None and ((t + 1) % max(1, steps // 200) == 0 or t + 1 == steps):
            bar(t + 1)
    with torch.no_grad(), rec.at_phi():
        final = _float(full_loss())
    _diverged(final, steps, name, rec.alpha)
    return rec.run(name, final_loss=final)


def _diverged(value: float, step: int, label: str, alpha: float | None) -> None:
    if not math.isfinite(value):
        advice = "lower the learning rate" if alpha is None else f"lower alpha (α = {alpha:.4g})"
        raise InputError(f"the run {escaped(label)!r} diverged: L[φ_{step}] = {value}; {advice}")


__all__ = ["ARRAYS_FILE", "FORMAT", "OPTIMIZERS", "RUN_FILE", "SAFETY", "Recorder", "Run",
           "default_alpha", "default_label", "is_run_directory", "train"]
