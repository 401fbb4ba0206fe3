"""The record of a run: every iterate φ_t, the optimizer's buffers by name (m_t, v_t, α_t …),
where each gradient was taken, the gradient itself, the minibatch, and the full-data loss L[φ_t];
exported to CSV or JSON and read back bit for bit.

Indexing: ``params[t]`` is φ_t for t = 0..T; ``buffers[name][t]`` is that buffer in the state at
step t; step t (from φ_t to φ_{t+1}) took the gradient ``grads[t]`` at ``lookahead[t]`` (φ_t
itself except for Nesterov) on the examples ``batches[t]``. If the run diverged,
``diverged_at = T + 1`` is the first iterate that was not finite (or whose loss left the band of
:mod:`descentlab.divergence`); the record holds only the finite part before it, and ``stop_reason``
says why the run stopped: ``"completed"``, ``"diverged"`` or ``"unbounded below"``.

File format ``descentlab-trajectory/3``: the JSON file holds everything; the CSV file is a plain
table that ``pandas.read_csv`` and spreadsheets open as it is — one header row of ASCII column
names (``step, loss, phi0, phi1, momentum_phi0, …, lookahead_phi0, …, grad_phi0, …, batch``; a
buffer with one value per step is one column, ``alpha``) — and its metadata (optimizer,
hyper-parameters, problem, the parameter names as written, such as φ0, and which column holds
what) is in the sidecar ``<file>.meta.json``. Files of version 2 (a ``# {json}`` first line and
columns such as ``momentum:φ0``) and version 1 (``m_``/``v_`` columns) still load.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from descentlab import divergence
from descentlab.errors import InputError, escaped
from descentlab.files import write_text_atomic, write_texts_atomic
from descentlab.optimizers import describe
from descentlab.paths import read_text

FORMAT = "descentlab-trajectory/3"
PROVENANCE = "config"
"""The ``meta`` key of the configuration a run was made from (not compared by ``==``)."""
_V2 = "descentlab-trajectory/2"
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
    stop_reason: str | None = None          # completed, diverged or unbounded below (descentlab.divergence)

    def __post_init__(self) -> None:
        if self.stop_reason is None:  # older files and hand-made records: from diverged_at
            reason = divergence.COMPLETED if self.diverged_at is None else divergence.DIVERGED
            object.__setattr__(self, "stop_reason", reason)
        elif self.stop_reason not in divergence.STOP_REASONS:
            raise InputError(f"stop_reason must be one of {', '.join(divergence.STOP_REASONS)}, "
                             f"got {self.stop_reason!r}")

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

    @property
    def cycle(self) -> bool:
        """True when the run went all its steps and ends in a period-2 cycle
        (:func:`descentlab.divergence.period_two`: φ_T ≈ φ_{T−2} ≠ φ_{T−1}, L not decreasing)."""
        return self.diverged_at is None and divergence.period_two(self.params, self.losses)

    @property
    def status(self) -> str:
        """How the run ended, in words: ``"ok"``, ``"diverged at step 7"``, ``"unbounded below at
        step 12"`` or ``"period-2 cycle (…)"``."""
        return divergence.describe(self.stop_reason, self.diverged_at, self.cycle)

    def __repr__(self) -> str:
        status = self.status
        status = status if self.diverged_at else f"loss {self.losses[-1]:.6g}" + (
            "" if status == "ok" else f", {status}")
        return f"<Trajectory {self.label} on {self.problem!r}: {self.steps} steps, {status}>"

    def __eq__(self, other: object) -> bool:
        """The same run: every field equal, the arrays exactly — but ``meta["config"]``, the
        configuration the run was made from (:meth:`descentlab.config.Config.run`), which says
        where a run came from, not what it is (a run from the library and the same run from the
        command line are equal)."""
        if not isinstance(other, Trajectory):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "meta":
                a, b = ({k: v for k, v in m.items() if k != PROVENANCE} for m in (a, b))
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
            "meta": self.meta, "stop_reason": self.stop_reason,
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
        if d.get("format") not in (FORMAT, _V2, _V1):
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
            meta=dict(d.get("meta", {})), stop_reason=d.get("stop_reason"),
        )

    def to_json(self, path: str | Path | None = None) -> str:
        """The trajectory as JSON; written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), ensure_ascii=False)
        if path is not None:
            write_text_atomic(path, text)
        return text

    def csv_columns(self) -> dict:
        """Which CSV column holds what: ASCII names (``φ0`` → ``phi0``, see :func:`ascii_name`) for
        ``params``, ``lookahead``, ``grads`` and each buffer (one name, not a list, for a buffer
        with one value per step), all distinct."""
        taken = {"step", "loss", "batch"}

        def unique(name: str) -> str:
            base, n = name, 2
            while name in taken:
                name, n = f"{base}_{n}", n + 1
            taken.add(name)
            return name

        names = [ascii_name(n) for n in self.param_names]
        out: dict = {"params": [unique(n) for n in names]}
        out["buffers"] = {key: [unique(f"{ascii_name(key)}_{n}") for n in names] if values.ndim == 2
                          else unique(ascii_name(key)) for key, values in self.buffers.items()}
        out["lookahead"] = [unique(f"lookahead_{n}") for n in names]
        out["grads"] = [unique(f"grad_{n}") for n in names]
        return out

    def csv_metadata(self) -> dict:
        """What :meth:`to_csv` writes into the sidecar ``<file>.meta.json``: the metadata of
        :meth:`to_json` (without the arrays) and the CSV's ``columns``."""
        return self._header() | {"columns": self.csv_columns()}

    def to_csv(self, path: str | Path | None = None) -> str:
        """One row per iterate t: step, loss, φ_t, each buffer (``momentum_phi0`` …), then the
        look-ahead point, gradient and batch of step t (empty on the last row); ASCII column names
        and nothing else, so pandas and spreadsheets read it as it is. Returns the CSV text; with
        ``path``, writes it and the metadata beside it in ``<path>.meta.json`` (see :func:`sidecar`),
        each file atomically."""
        cols = self.csv_columns()
        header = ["step", "loss", *cols["params"]]
        blocks = [self.params]
        for key, values in self.buffers.items():
            header += [cols["buffers"][key]] if values.ndim == 1 else cols["buffers"][key]
            blocks.append(values.reshape(len(values), -1))
        header += [*cols["lookahead"], *cols["grads"], "batch"]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        width = len(self.param_names)
        for t in range(len(self.params)):
            row = [t, repr(float(self.losses[t]))]
            for block in blocks:
                row += [repr(float(v)) for v in block[t]]
            if t < self.steps:
                row += [repr(float(v)) for v in self.lookahead[t]] + [repr(float(v)) for v in self.grads[t]]
                row.append("" if self.batches is None else " ".join(map(str, self.batches[t])))
            else:
                row += [""] * (2 * width + 1)
            writer.writerow(row)
        text = buf.getvalue()
        if path is not None:
            meta = json.dumps(self.csv_metadata(), ensure_ascii=False, indent=1)
            write_texts_atomic({sidecar(path): meta + "\n", Path(path): text})
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> Trajectory:
        """Load from JSON text or a ``.json`` file."""
        text = _text(text_or_path)
        try:
            d = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{_where(text_or_path)}: not a descentlab trajectory (not JSON: {err})") \
                from None
        if not isinstance(d, dict):
            raise InputError(f"{_where(text_or_path)}: not a descentlab trajectory (no JSON object)")
        return cls.from_dict(d)

    @classmethod
    def from_csv(cls, text_or_path: str | Path, meta: dict | str | Path | None = None) -> Trajectory:
        """Load a CSV file written by :meth:`to_csv` (its metadata read from the sidecar
        ``<file>.meta.json``), or CSV text with ``meta`` (:meth:`csv_metadata`, as a dict, JSON
        text or a file). Files of format versions 1 and 2 carry their metadata in a first
        ``# {json}`` line and need no sidecar."""
        text = _text(text_or_path)
        if text.startswith("# "):
            return cls._from_csv_v2(text)
        if meta is None:
            if not _is_path(text_or_path):
                raise InputError("CSV text of a trajectory needs its metadata: from_csv(text, meta=...) with "
                                 "Trajectory.csv_metadata() or the .meta.json file")
            meta = sidecar(text_or_path)
            if not meta.is_file():
                raise InputError(f"{text_or_path}: its metadata file {meta} is missing (to_csv writes both; "
                                 "the CSV alone holds the numbers, not the optimizer and problem)")
        if isinstance(meta, Path) or (isinstance(meta, str) and not meta.lstrip().startswith("{")):
            meta = Path(meta).read_text(encoding="utf-8")
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except json.JSONDecodeError as err:
                raise InputError(f"the metadata of {_where(text_or_path)} is not JSON: {err}") from None
        d = dict(meta)
        if d.get("format") != FORMAT or "columns" not in d:
            raise InputError(f"{_where(text_or_path)}: its metadata is not that of a descentlab trajectory "
                             f"CSV (format {d.get('format')!r}, expected {FORMAT!r} with columns)")
        rows = list(csv.reader(io.StringIO(text)))
        if len(rows) < 2:
            raise InputError(f"{_where(text_or_path)}: a trajectory CSV needs a header and at least one row")
        header, rows = rows[0], rows[1:]
        cols = d["columns"]
        try:
            def block(columns: list[str], last_row: bool) -> list:
                idx = [header.index(c) for c in columns]
                return [[float(r[i]) for i in idx] for r in (rows if last_row else rows[:-1])]

            d["params"] = block(cols["params"], True)
            d["losses"] = [v[0] for v in block(["loss"], True)]
            d["lookahead"] = block(cols["lookahead"], False)
            d["grads"] = block(cols["grads"], False)
            d["buffer_values"] = {}
            for key in d["buffers"]:
                named = cols["buffers"][key]
                if isinstance(named, str):  # one value per step
                    d["buffer_values"][key] = [v[0] for v in block([named], True)]
                else:
                    d["buffer_values"][key] = block(named, True)
            batch = header.index("batch")
            d["batches"] = ([[int(i) for i in r[batch].split()] for r in rows[:-1]]
                            if "batches" in d["has"] else None)
        except (ValueError, IndexError, KeyError) as err:
            raise InputError(f"{_where(text_or_path)}: does not match its metadata ({err})") from None
        return cls.from_dict(d)

    @classmethod
    def _from_csv_v2(cls, text: str) -> Trajectory:
        """A CSV of format version 1 or 2: ``# `` + JSON metadata, then the table."""
        first, _, body = text.partition("\n")
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


def sidecar(path: str | Path) -> Path:
    """The metadata file beside a trajectory CSV: ``run.csv`` → ``run.csv.meta.json``."""
    path = Path(path)
    return path.with_name(path.name + ".meta.json")


def ascii_name(name: str) -> str:
    """A column name for CSV readers: Greek letters spelled out (``φ0`` → ``phi0``, ``Θ`` →
    ``Theta``), other letters without accents, subscripts as digits; anything else becomes ``_``."""
    out = []
    for ch in unicodedata.normalize("NFKD", name):
        if ch.isascii():
            out.append(ch if ch.isalnum() or ch in "_-." else "_")
        elif unicodedata.category(ch) == "Mn":  # a combining accent: dropped
            continue
        else:
            spelled = unicodedata.name(ch, "").split()
            if spelled[:1] == ["GREEK"] and "LETTER" in spelled:
                word = spelled[-1].lower()
                out.append(word.capitalize() if "CAPITAL" in spelled else word)
            else:
                out.append("_")
    return "".join(out) or "_"

def _is_path(text_or_path: str | Path) -> bool:
    return isinstance(text_or_path, Path) or ("\n" not in text_or_path
                                              and not text_or_path.lstrip().startswith(("{", "#")))


def _where(text_or_path: str | Path) -> str:
    return str(text_or_path) if _is_path(text_or_path) else "the text"


MAX_FILE_BYTES = 512 * 10**6
"""The largest saved run read back (a million steps of a 2-parameter run is about 200 MB of JSON)."""


def _text(text_or_path: str | Path) -> str:
    if _is_path(text_or_path):
        return read_text(text_or_path, escaped(str(text_or_path)), MAX_FILE_BYTES,
                         f"saved runs of at most {MAX_FILE_BYTES // 10**6} MB are read")
    return text_or_path
