"""The record of a run: every iterate φ_t, the optimizer's buffers by name (m_t, v_t, α_t …),
where each gradient was taken, the gradient itself, the minibatch, and the full-data loss L[φ_t];
exported to CSV or JSON and read back bit for bit.

Indexing: ``params[t]`` is φ_t for t = 0..T; ``buffers[name][t]`` is that buffer in the state at
step t; step t (from φ_t to φ_{t+1}) took the gradient ``grads[t]`` at ``lookahead[t]`` (φ_t
itself except for Nesterov) on the examples ``batches[t]``. If the run diverged,
``diverged_at = T + 1`` is the first iterate that was not finite (or whose loss passed the bound);
the record holds only the finite part before it.

File format ``descentlab-trajectory/2`` names the buffers (``"buffers": ["momentum"]``; CSV columns
``momentum:φ0``, or just ``alpha`` for a buffer with one value per step); files of version 1
(``m_``/``v_`` columns for momentum and Adam's second moment) still load.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from descentlab.errors import InputError
from descentlab.files import write_text_atomic
from descentlab.optimizers import describe

FORMAT = "descentlab-trajectory/2"
_V1 = "descentlab-trajectory/1"
_V1_BUFFERS = {"momentum": "m_", "second_moment": "v_"}


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A run of one optimizer on one problem. See the module docstring for the indexing."""

    optimizer: str
    hyperparams: dict[str, float]
    problem: str
    param_names: tuple[str, ...]
    params: np.ndarray                      # (T+1, P) φ_t
    losses: np.ndarray                      # (T+1,)  L[φ_t] on all the data
    lookahead: np.ndarray                   # (T, P)  where step t took its gradient
    grads: np.ndarray                       # (T, P)  the gradient used by step t
    buffers: dict[str, np.ndarray] = field(default_factory=dict)  # name → (T+1, P) or (T+1,)
    batches: tuple[np.ndarray, ...] | None = None  # indices of step t; None: all data every step
    diverged_at: int | None = None
    seed: int | None = None
    batch_size: int | None = None
    meta: dict = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """T, the number of updates recorded."""
        return len(self.grads)

    @property
    def momentum(self) -> np.ndarray | None:
        """m_t, shape (T+1, P), for methods that keep a momentum; else None."""
        return self.buffers.get("momentum")

    @property
    def second_moment(self) -> np.ndarray | None:
        """v_t (Adam, RMSProp), shape (T+1, P); else None."""
        return self.buffers.get("second_moment")

    @property
    def final(self) -> np.ndarray:
        """The last finite iterate φ_T."""
        return self.params[-1]

    @property
    def label(self) -> str:
        """``"nesterov (α=0.05, β=0.9)"``."""
        return describe(self.optimizer, self.hyperparams)

    def __repr__(self) -> str:
        status = f"diverged at step {self.diverged_at}" if self.diverged_at else f"loss {self.losses[-1]:.6g}"
        return f"<Trajectory {self.label} on {self.problem!r}: {self.steps} steps, {status}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trajectory):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "buffers":
                if a.keys() != b.keys() or not all(
                        a[k].shape == b[k].shape and np.array_equal(a[k], b[k]) for k in a):
                    return False
            elif f.name == "batches" and a is not None and b is not None:
                if len(a) != len(b) or not all(np.array_equal(u, v) for u, v in zip(a, b, strict=True)):
                    return False
            elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or a.shape != b.shape or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    # ---- export / import -------------------------------------------------------------------

    def _header(self) -> dict:
        return {
            "format": FORMAT, "optimizer": self.optimizer, "hyperparams": self.hyperparams,
            "problem": self.problem, "param_names": list(self.param_names),
            "diverged_at": self.diverged_at, "seed": self.seed, "batch_size": self.batch_size,
            "buffers": list(self.buffers), "has": ["batches"] if self.batches is not None else [],
            "meta": self.meta,
        }

    def to_dict(self) -> dict:
        """Plain lists and numbers (what :meth:`to_json` writes)."""
        out = self._header()
        for name in ("params", "losses", "lookahead", "grads"):
            out[name] = getattr(self, name).tolist()
        out["buffer_values"] = {k: v.tolist() for k, v in self.buffers.items()}
        out["batches"] = None if self.batches is None else [b.tolist() for b in self.batches]
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Trajectory:
        if d.get("format") not in (FORMAT, _V1):
            raise InputError(f"not a descentlab trajectory (format {d.get('format')!r}, expected {FORMAT!r})")
        p = len(d["param_names"])
        if d["format"] == _V1:
            values = {k: d[k] for k in _V1_BUFFERS if d.get(k) is not None}
        else:
            values = d["buffer_values"]

        def arr(name: str, rows_shape: bool = True) -> np.ndarray | None:
            v = d.get(name)
            if v is None:
                return None
            a = np.asarray(v, dtype=np.float64)
            return a.reshape(-1, p) if rows_shape else a

        return cls(
            optimizer=d["optimizer"], hyperparams=dict(d["hyperparams"]), problem=d["problem"],
            param_names=tuple(d["param_names"]), params=arr("params"),
            losses=arr("losses", rows_shape=False), lookahead=arr("lookahead"), grads=arr("grads"),
            buffers={k: np.asarray(v, dtype=np.float64) for k, v in values.items()},
            batches=None if d.get("batches") is None
            else tuple(np.asarray(b, dtype=np.int64) for b in d["batches"]),
            diverged_at=d["diverged_at"], seed=d["seed"], batch_size=d["batch_size"],
            meta=dict(d.get("meta", {})),
        )

    def to_json(self, path: str | Path | None = None) -> str:
        """The trajectory as JSON; written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), ensure_ascii=False)
        if path is not None:
            write_text_atomic(path, text)
        return text

    def to_csv(self, path: str | Path | None = None) -> str:
        """One row per iterate t: step, loss, φ_t, each buffer (``momentum:φ0`` …), then the
        look-ahead point, gradient and batch of step t (empty on the last row). The first line is
        ``# `` + JSON metadata."""
        names = self.param_names
        cols = ["step", "loss", *names]
        blocks = [self.params]
        for key, values in self.buffers.items():
            cols += [f"{key}:{n}" for n in names] if values.ndim == 2 else [key]
            blocks.append(values.reshape(len(values), -1))
        cols += [f"lookahead_{n}" for n in names] + [f"grad_{n}" for n in names] + ["batch"]
        buf = io.StringIO()
        buf.write("# " + json.dumps(self._header(), ensure_ascii=False) + "\n")
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(cols)
        for t in range(len(self.params)):
            row = [t, repr(float(self.losses[t]))]
            for block in blocks:
                row += [repr(float(v)) for v in block[t]]
            if t < self.steps:
                row += [repr(float(v)) for v in self.lookahead[t]] + [repr(float(v)) for v in self.grads[t]]
                row.append("" if self.batches is None else " ".join(map(str, self.batches[t])))
            else:
                row += [""] * (2 * len(names) + 1)
            writer.writerow(row)
        text = buf.getvalue()
        if path is not None:
            write_text_atomic(path, text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> Trajectory:
        """Load from JSON text or a ``.json`` file."""
        return cls.from_dict(json.loads(_text(text_or_path)))

    @classmethod
    def from_csv(cls, text_or_path: str | Path) -> Trajectory:
        """Load from CSV text or a ``.csv`` file written by :meth:`to_csv`."""
        text = _text(text_or_path)
        first, _, body = text.partition("\n")
        if not first.startswith("# "):
            raise InputError("not a descentlab trajectory CSV (no '# {...}' metadata line)")
        d = json.loads(first[2:])
        rows = list(csv.reader(io.StringIO(body)))
        cols, rows = rows[0], rows[1:]
        names = d["param_names"]

        def block(columns: list[str], last_row: bool) -> list:
            idx = [cols.index(c) for c in columns]
            use = rows if last_row else rows[:-1]
            return [[float(r[i]) for i in idx] for r in use]

        d["params"] = block(names, True)
        d["losses"] = [float(r[1]) for r in rows]
        d["lookahead"] = block([f"lookahead_{n}" for n in names], False)
        d["grads"] = block([f"grad_{n}" for n in names], False)
        if d.get("format") == _V1:
            for key, prefix in _V1_BUFFERS.items():
                d[key] = block([prefix + n for n in names], True) if key in d["has"] else None
        else:
            d["buffer_values"] = {}
            for key in d["buffers"]:
                if key in cols:  # one value per step
                    d["buffer_values"][key] = [v[0] for v in block([key], True)]
                else:
                    d["buffer_values"][key] = block([f"{key}:{n}" for n in names], True)
        d["batches"] = ([[int(i) for i in r[-1].split()] for r in rows[:-1]]
                        if "batches" in d["has"] else None)
        return cls.from_dict(d)


def _text(text_or_path: str | Path) -> str:
    if isinstance(text_or_path, Path) or (isinstance(text_or_path, str) and "\n" not in text_or_path
                                          and not text_or_path.lstrip().startswith(("{", "#"))):
        return Path(text_or_path).read_text(encoding="utf-8")
    return text_or_path
