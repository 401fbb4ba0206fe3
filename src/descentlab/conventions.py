r"""Exact maps between the book's momentum and Nesterov and four other ways of writing them.

The five conventions, for a constant learning rate (:math:`g_t` the gradient, taken where said):

* ``book`` — "Understanding Deep Learning", eqs. 6.11 and 6.12, :math:`m_0 = 0`:
  :math:`m_{t+1} = \beta m_t + (1-\beta)\, g(\phi_t - \alpha\beta m_t)`,
  :math:`\phi_{t+1} = \phi_t - \alpha m_{t+1}` (momentum: :math:`g(\phi_t)`).
* ``pytorch`` — ``torch.optim.SGD(lr=η, momentum=μ, dampening=d, nesterov=…)``: first step
  :math:`b_1 = g_0`, then :math:`b_{t+1} = \mu b_t + (1-d) g_t`;
  :math:`\theta_{t+1} = \theta_t - \eta (g_t + \mu b_{t+1})` (nesterov) or :math:`\theta_t - \eta b_{t+1}`.
* ``optax`` — ``optax.sgd(learning_rate=η, momentum=μ, nesterov=…)`` (``trace`` then ``−η``):
  :math:`c_{t+1} = g_t + \mu c_t`, :math:`c_0 = 0`;
  :math:`\theta_{t+1} = \theta_t - \eta (g_t + \mu c_{t+1})` (nesterov) or :math:`\theta_t - \eta c_{t+1}`.
* ``keras`` — Keras 3 ``keras.optimizers.SGD(learning_rate=η, momentum=μ, nesterov=…)``:
  :math:`v_{t+1} = \mu v_t - \eta g_t`, :math:`v_0 = 0`;
  :math:`w_{t+1} = w_t + \mu v_{t+1} - \eta g_t` (nesterov) or :math:`w_t + v_{t+1}`.
* ``sutskever`` — Sutskever, Martens, Dahl & Hinton (2013):
  :math:`v_{t+1} = \mu v_t - \varepsilon \nabla f(\theta_t + \mu v_t)` (classical momentum:
  :math:`\nabla f(\theta_t)`), :math:`\theta_{t+1} = \theta_t + v_{t+1}`.

PyTorch, Optax and Keras take the gradient at their own parameter, so with Nesterov their
parameter is the book's **look-ahead point** :math:`\phi_t - \alpha\beta m_t`; Sutskever's
:math:`\theta_t` is the book's :math:`\phi_t` itself. Every library maps to the book with
:math:`\eta = \alpha(1-\beta)` (``ε`` for Sutskever), :math:`\mu = \beta`, and its state is

=========  =================================================  ====================================
library    book φ from the library's parameter                 book m from the library's buffer
=========  =================================================  ====================================
pytorch    :math:`\phi = \theta + \eta\mu\, b` (nesterov)      :math:`m = (1-\mu)\, b`
optax      :math:`\phi = \theta + \eta\mu\, c` (nesterov)      :math:`m = (1-\mu)\, c`
keras      :math:`\phi = w - \mu v` (nesterov)                 :math:`m = -(1-\mu)\, v/\eta`
sutskever  :math:`\phi = \theta`                               :math:`m = -(1-\mu)\, v/\varepsilon`
=========  =================================================  ====================================

(with classical momentum, every library's parameter is φ). These maps are exact, step for step,
for a constant learning rate. They are *not* exact:

* from PyTorch with ``dampening ≠ 0``: its first step sets :math:`b_1 = g_0` without the factor
  :math:`(1-d)`, so no constant factor relates its buffer to anyone's momentum (``d = β`` is the
  book's EMA except for that first step, whose excess decays as :math:`\beta^t`);
* under a learning-rate schedule, except between PyTorch and Optax (both keep η out of the
  buffer), between Keras and Sutskever (both keep it in the velocity), and between the book's
  *momentum* and PyTorch/Optax (:math:`\eta_t = \alpha_t(1-\beta)`). Keras' velocity
  :math:`v_t = -\sum_s \mu^{t-1-s}\eta_s g_s` carries past learning rates where PyTorch's buffer
  carries none, and a changing α moves the book's look-ahead point :math:`\phi_t - \alpha_t\beta m_t`.

``tests/test_conventions.py`` runs every map through the reference updates of
:mod:`descentlab.reference_updates` (and through PyTorch itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from descentlab import reference_updates, validation
from descentlab.errors import InputError, InputTypeError

CONVENTIONS = ("book", "pytorch", "optax", "keras", "sutskever")
LIBRARY_NAMES = {"book": "the book", "pytorch": "PyTorch", "optax": "Optax", "keras": "Keras",
                 "sutskever": "Sutskever et al. (2013)"}
LR_NAMES = {"book": "lr (α)", "pytorch": "lr", "optax": "learning_rate", "keras": "learning_rate",
            "sutskever": "lr (ε)"}
MOMENTUM_NAMES = {"book": "beta (β)", "pytorch": "momentum", "optax": "momentum", "keras": "momentum",
                  "sutskever": "momentum (μ)"}

# Pairs whose map stays exact under any learning-rate schedule (the same factor on every step).
_SCHEDULE_SAFE = ({"pytorch", "optax"}, {"keras", "sutskever"})
_SCHEDULE_SAFE_MOMENTUM = ({"book", "pytorch", "optax"},)


def _num(x: float) -> str:
    """A float for display: 15 significant digits, so 0.1·(1 − 0.9) prints as 0.01."""
    return f"{x:.15g}"


def check_convention(name: object) -> str:
    """``name`` if it is one of :data:`CONVENTIONS`, else ValueError listing them."""
    if name not in CONVENTIONS:
        raise InputError(f"unknown convention {name!r}; choose one of {', '.join(CONVENTIONS)}")
    return str(name)


@dataclass(frozen=True)
class Setting:
    """Hyper-parameters in one convention: the learning rate (α, lr, learning_rate or ε), the
    momentum coefficient (β or μ), Nesterov or classical momentum, and PyTorch's dampening.

    Built through :func:`setting`, which checks them.
    """

    convention: str
    lr: float
    momentum: float
    nesterov: bool = True
    dampening: float = 0.0

    @property
    def follows(self) -> str:
        """Which of the book's sequences the parameter follows: ``"phi"`` (φ_t) or ``"lookahead"``
        (φ_t − αβ·m_t, for Nesterov in PyTorch, Optax and Keras)."""
        if self.nesterov and self.convention in ("pytorch", "optax", "keras"):
            return "lookahead"
        return "phi"

    @property
    def alpha(self) -> float:
        """The book's α for this setting: lr itself for the book, lr/(1 − μ) otherwise."""
        return self.lr if self.convention == "book" else self.lr / (1.0 - self.momentum)

    def code(self) -> str:
        """How to write this setting in its library, e.g. ``torch.optim.SGD(params, lr=0.01, …)``."""
        lr, mu, c = _num(self.lr), _num(self.momentum), self.convention
        if c == "book":
            return f"descentlab.optimizers.{'nesterov' if self.nesterov else 'momentum'}(lr={lr}, beta={mu})"
        if c == "pytorch":
            args = f"lr={lr}" + (f", momentum={mu}" if self.momentum else "")
            args += f", dampening={_num(self.dampening)}" if self.dampening else ""
            return f"torch.optim.SGD(params, {args}{', nesterov=True' if self.nesterov else ''})"
        nesterov = ", nesterov=True" if self.nesterov else ""
        if c == "optax":
            return f"optax.sgd(learning_rate={lr}, momentum={mu}{nesterov})"
        if c == "keras":
            return f"keras.optimizers.SGD(learning_rate={lr}, momentum={mu}{nesterov})"
        return f"descentlab.reference_updates.sutskever(lr={lr}, momentum={mu}, nesterov={self.nesterov})"

    def relation(self) -> str:
        """One line: what this convention's parameter and state are in the book's terms."""
        c, ahead = self.convention, "the book's look-ahead point φ − αβ·m"
        if c == "book":
            where = "φ − αβ·m" if self.nesterov else "φ"
            return f"the book's parameters are φ; each gradient is taken at {where}"
        if c == "sutskever":
            at = "θ + μ·v, the book's look-ahead point" if self.nesterov else "θ"
            return f"Sutskever's θ is the book's φ itself (the gradient is taken at {at}); m = −(1 − μ)·v/ε"
        if c == "keras":
            phi = f"Keras' variables are {ahead}; book φ = w − momentum·velocity" if self.nesterov else \
                "Keras' variables are the book's φ"
            return f"{phi}, m = −(1 − momentum)·velocity/learning_rate"
        name, lr, buf = ("PyTorch's parameters", "lr", "buf") if c == "pytorch" else \
            ("Optax's params", "learning_rate", "trace")
        if self.momentum == 0:
            return f"{name} are the book's φ (momentum 0 is gradient descent)"
        theta = "θ" if c == "pytorch" else "params"
        phi = f"{name} are {ahead}; book φ = {theta} + {lr}·momentum·{buf}" if self.nesterov else \
            f"{name} are the book's φ"
        return f"{phi}, m = (1 − momentum)·{buf}"


def setting(convention: str, lr: float, momentum: float, nesterov: bool = True,
            dampening: float = 0.0) -> Setting:
    """A checked :class:`Setting`. Raises ValueError (TypeError for non-numbers) naming the value
    and what is allowed: lr > 0, momentum in [0, 1), dampening in [0, 1] and only for PyTorch,
    PyTorch's rule that Nesterov needs momentum > 0 and no dampening."""
    c = check_convention(convention)
    lr = validation.positive(LR_NAMES[c], lr)
    mu = validation.unit_interval(MOMENTUM_NAMES[c], momentum)
    if not isinstance(nesterov, bool):
        raise InputTypeError(f"nesterov must be True or False, got {nesterov!r}")
    d = validation.real("dampening", dampening)
    if d != 0 and c != "pytorch":
        raise InputError(f"dampening is a PyTorch hyper-parameter; {LIBRARY_NAMES[c]} has none "
                         f"(got dampening={dampening!r})")
    if not 0.0 <= d <= 1.0:
        raise InputError(f"dampening must be in [0, 1], got {dampening!r}")
    if c == "pytorch" and nesterov and (mu == 0 or d != 0):
        raise InputError("PyTorch's Nesterov momentum requires momentum > 0 and dampening = 0, got "
                         f"momentum={momentum!r}, dampening={dampening!r}")
    return Setting(c, lr, mu, nesterov, d)


@dataclass(frozen=True)
class Conversion:
    """The result of :func:`convert`: the setting in the target convention and notes on how the
    two conventions' parameters and states relate."""

    source: Setting
    target: Setting
    notes: tuple[str, ...]

    def describe(self) -> str:
        """The target's code on the first line, then one ``note: …`` line per note."""
        return "\n".join([self.target.code(), *(f"note: {n}" for n in self.notes)])


def _to_book_hyper(s: Setting) -> tuple[float, float]:
    if s.convention == "book":
        return s.lr, s.momentum
    if s.convention == "pytorch" and s.momentum > 0 and s.dampening != 0:
        raise InputError(
            f"no exact map from PyTorch with dampening={_num(s.dampening)}: its first step sets the buffer "
            "to the gradient without the factor (1 − dampening), so no constant factor relates its buffer "
            "to the book's momentum (or to any other convention's); use dampening=0")
    return s.alpha, s.momentum


def _schedule_reason(source: Setting, target: Setting) -> str | None:
    """Why the map is not exact under a learning-rate schedule (None if it is)."""
    pair = {source.convention, target.convention}
    if len(pair) == 1:
        return None
    safe = _SCHEDULE_SAFE + (() if source.nesterov else _SCHEDULE_SAFE_MOMENTUM)
    if any(pair <= group for group in safe):
        return None
    if "book" in pair and pair & {"pytorch", "optax"}:
        return ("with a changing α the book's look-ahead point φ_t − α_t·β·m_t moves, while the "
                "library's parameter stays the look-ahead point of the previous step's rate")
    carry = sorted(pair & {"keras", "sutskever"})
    if carry:
        return (f"{LIBRARY_NAMES[carry[0]]}'s velocity carries every past learning rate "
                f"(v_t = −Σ μ^(t−1−s)·η_s·g_s), which no constant factor turns into the other's state")
    return "the conventions scale the momentum by different learning rates"


# symbols of each library's parameter, momentum buffer and learning rate, for the notes
_PARAM = {"pytorch": "θ", "optax": "params", "keras": "w", "sutskever": "θ"}
_BUFFER = {"pytorch": "buf", "optax": "trace", "keras": "velocity", "sutskever": "v"}
_LR = {"pytorch": "lr", "optax": "learning_rate", "keras": "learning_rate", "sutskever": "ε"}


def _direct_relation(src: Setting, tgt: Setting) -> str | None:
    """``state: w = θ + momentum·v, velocity = v``: the target's state from the source's, for two
    libraries (buffers scale as v = −lr·buf; the look-ahead point is φ + μ·v = φ − lr·μ·buf)."""
    c_s, c_t = src.convention, tgt.convention
    if c_s == c_t or "book" in (c_s, c_t) or tgt.momentum == 0:
        return None
    p_s, b_s, lr_s = _PARAM[c_s], _BUFFER[c_s], _LR[c_s]
    p_t, b_t = _PARAM[c_t], _BUFFER[c_t]
    if p_s == p_t:
        short = {"pytorch": "PyTorch", "sutskever": "Sutskever"}
        p_s, p_t = f"{p_s} ({short[c_s]})", f"{p_t} ({short[c_t]})"
    velocity_s = c_s in ("keras", "sutskever")
    velocity_t = c_t in ("keras", "sutskever")
    if velocity_s == velocity_t:
        buffer = f"{b_t} = {b_s}"
    else:
        buffer = f"{b_t} = −{lr_s}·{b_s}" if velocity_t else f"{b_t} = −{b_s}/{lr_s}"
    if src.follows == tgt.follows:
        param = f"{p_t} = {p_s}"
    else:  # look-ahead = φ + μ·v = φ − lr·μ·buf
        sign = 1 if tgt.follows == "lookahead" else -1
        shift = f"momentum·{b_s}" if velocity_s else f"{lr_s}·momentum·{b_s}"
        param = f"{p_t} = {p_s} {'+' if sign * (1 if velocity_s else -1) > 0 else '−'} {shift}"
    return f"state: {param}, {buffer}"


def convert(source: str, target: str, *, lr: float, momentum: float, nesterov: bool = True,
            dampening: float = 0.0, schedule: bool = False) -> Conversion:
    r"""The exact map of a momentum or Nesterov setting from ``source`` to ``target``.

    ``convert("book", "pytorch", lr=0.1, momentum=0.9)`` gives
    ``torch.optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True)``: the book's (α, β) is every
    library's (η, μ) = (α(1−β), β). ``momentum`` is the book's β or the library's μ; ``dampening``
    is PyTorch's (source only). With ``schedule=True`` the learning rate is the base of a schedule
    and only maps that stay exact under any schedule are given (the target's schedule is the
    source's times the same factor).

    Raises ValueError with a one-line reason for bad values, unknown conventions, and where no
    exact map exists (PyTorch with dampening ≠ 0; most pairs under a schedule).
    """
    src = setting(source, lr, momentum, nesterov, dampening)
    tgt_name = check_convention(target)
    if not isinstance(schedule, bool):
        raise InputTypeError(f"schedule must be True or False, got {schedule!r}")
    if tgt_name == src.convention:
        tgt = src
        alpha = beta = math.nan
    else:
        alpha, beta = _to_book_hyper(src)
        if tgt_name == "book":
            tgt = setting("book", alpha, beta, nesterov)
        elif tgt_name == "pytorch" and beta == 0:  # PyTorch refuses nesterov=True without momentum
            tgt = setting("pytorch", alpha, 0.0, False)
        else:
            tgt = setting(tgt_name, alpha * (1.0 - beta), beta, nesterov)
    if schedule:
        reason = _schedule_reason(src, tgt)
        if reason is not None:
            raise InputError(f"no exact map from {src.convention} to {tgt.convention} under a "
                             f"learning-rate schedule: {reason}")
    notes = [s.relation() for s in dict.fromkeys((src, tgt)) if s.convention != "book"]
    if tgt.convention == "pytorch" and nesterov and not tgt.nesterov:
        notes.append("β = 0 is gradient descent, and PyTorch refuses nesterov=True without momentum")
    direct = _direct_relation(src, tgt)
    if direct:
        notes.append(direct)
    if schedule:
        notes.append("exact under any learning-rate schedule: multiply every step's rate by "
                     f"{_num(tgt.lr / src.lr)}")
    elif src.convention != tgt.convention and _schedule_reason(src, tgt) is not None:
        notes.append("exact for a constant learning rate, not under a learning-rate schedule")
    if not math.isnan(alpha) and "book" not in (src.convention, tgt.convention):
        notes.append(f"book equivalent: α = {_num(alpha)}, β = {_num(beta)}")
    return Conversion(src, tgt, tuple(notes))


# ---- states ------------------------------------------------------------------------------------

def to_book(s: Setting, params: Any, buffer: Any) -> tuple[Any, Any]:
    r"""The book's (φ_t, m_t) from a library's parameter and momentum buffer under setting ``s``.

    Works on anything with ``+``, ``-`` and ``*`` (numpy arrays, torch tensors, jax arrays).
    ``buffer=None`` (no step taken yet, or PyTorch/Keras with momentum 0, which keep none) gives
    m = None: before the first step the book's m_0 is 0 and φ_0 is the parameter itself.
    """
    _to_book_hyper(s)
    c, mu = s.convention, s.momentum
    if buffer is None:
        return params, None
    if c == "book":
        return params, buffer
    if c in ("pytorch", "optax"):
        m = buffer * (1.0 - mu)
        phi = params + buffer * (s.lr * mu) if s.follows == "lookahead" else params
        return phi, m
    m = buffer * (-(1.0 - mu) / s.lr)  # keras, sutskever: v = −α·m
    phi = params - buffer * mu if s.follows == "lookahead" else params
    return phi, m


def from_book(s: Setting, phi: Any, m: Any) -> tuple[Any, Any]:
    """The inverse of :func:`to_book`: the library's (parameter, buffer) for the book's (φ, m).

    For PyTorch with momentum > 0 a zero buffer is returned as a buffer of zeros; PyTorch itself
    has none before its first step, and its first step then copies the gradient instead of
    computing μ·0 + g, which is the same number.
    """
    _to_book_hyper(s)
    c, mu = s.convention, s.momentum
    if m is None:
        return phi, None
    if c == "book":
        return phi, m
    if c in ("pytorch", "optax"):
        if mu == 0 and c == "pytorch":
            return phi, None
        buffer = m * (1.0 / (1.0 - mu))
        params = phi - buffer * (s.lr * mu) if s.follows == "lookahead" else phi
        return params, buffer
    if c == "keras" and mu == 0:
        return phi, None
    velocity = m * (-s.alpha)
    params = phi + velocity * mu if s.follows == "lookahead" else phi
    return params, velocity


def translate_state(source: Setting, target: Setting, params: Any, buffer: Any) -> tuple[Any, Any]:
    """Carry a run over from one convention to another: (parameter, buffer) in ``target``'s terms."""
    phi, m = to_book(source, params, buffer)
    return from_book(target, phi, m)


def reference(s: Setting) -> reference_updates.Reference:
    """The numpy reference update of ``s``'s library (for the book, wrap descentlab.optimizers)."""
    c = s.convention
    if c == "pytorch":
        return reference_updates.pytorch_sgd(s.lr, s.momentum, s.dampening, s.nesterov)
    if c == "optax":
        return reference_updates.optax_sgd(s.lr, s.momentum, s.nesterov)
    if c == "keras":
        return reference_updates.keras_sgd(s.lr, s.momentum, s.nesterov)
    if c == "sutskever":
        return reference_updates.sutskever(s.lr, s.momentum, s.nesterov)
    return reference_updates.book(s.lr, s.momentum, s.nesterov)
