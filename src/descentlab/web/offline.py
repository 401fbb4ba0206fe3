r"""The offline page's α/β grid: precomputed runs that its sliders snap to, and the page's script.

    html, grids, stride = section(problem, scene, trajectories, steps, allowed=LIMIT_BYTES - len(page))
    grids[0].params[i][j]   # the iterates of the run at α = grids[0].axes["lr"][i], β = …["beta"][j]

For each optimizer the page embeds every run of a grid over its learning rate α (9 values
log-spaced around the run's own α, α·2^{k/2} for k = −4 … 4, so α itself is the middle one) and,
for methods with a momentum coefficient, β (7 values, the run's own β among them). The runs are
computed here, in Python, by descentlab's own update rules, **all configurations of one optimizer
at once**: the optimizer is built with α and β as columns (``spec.build(lr=α[:, None], …)``, as the
sweep engine :mod:`descentlab.sweep` does), so one ``(n, P)`` state steps every configuration,

.. math::
    x = \mathrm{gradient\_point}(s_t), \quad g = \nabla L(x) \text{ (on the step's batch)},
    \quad s_{t+1} = \mathrm{update}(s_t, g),

row by row the same arithmetic as :func:`descentlab.run`, with the same minibatch sequence (drawn
once from the run's seed) and the same stopping rule (:mod:`descentlab.divergence`): a diverged
configuration's record ends where ``run`` would end it. Nothing of an update rule is written in
JavaScript; the page's script only decodes the embedded float64 arrays and hands them to
``Plotly.restyle``. A divergent grid point is drawn as the truncated path the run recorded, with a
note, never as NaN.

Size: the runs are embedded as base64 float64 (exact); when the estimate exceeds the budget the
iterates kept are thinned to every k-th (the first and last kept), and the page says so.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from descentlab import budget, divergence
from descentlab import optimizers as optim
from descentlab.errors import InputError
from descentlab.optimizers.registry import buffers
from descentlab.problems.base import Problem
from descentlab.runner import draw_batches, probe
from descentlab.scene import Scene
from descentlab.trajectory import Trajectory
from descentlab.web.figures import contour
from descentlab.web.figures.look import AXIS, Context, escape

LIMIT_BYTES = 15_000_000
"""The whole page's size budget (plotly.js, the iterate-slider figure and the grid together)."""
ALPHA_POINTS = 9
ALPHA_SPAN = 4.0
"""α runs over α₀/4 … 4α₀ (factors of √2)."""
BETAS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)
"""β values of every grid; the run's own β joins them (and 0.7 when it is one of them): 7 in all."""
MODEL_LINE_POINTS = 200


@dataclass(frozen=True, eq=False)
class Grid:
    """Every run of one optimizer over its (α, β) grid, as :func:`descentlab.run` records them.

    ``params[i][j]`` is the iterates φ_0 … of the run at ``axes["lr"][i]`` (and ``axes["beta"][j]``),
    ``losses[i][j]`` their losses; a diverged run's arrays end where ``run`` ends them
    (``diverged_at[i][j]`` and ``stop_reason[i][j]`` as in a Trajectory; None when it went on).
    ``default`` is the grid index of the run's own hyper-parameters.
    """

    name: str
    label: str
    method: str
    hyper: dict
    axes: dict[str, np.ndarray]
    default: tuple[int, ...]
    params: list[list[np.ndarray]]
    losses: list[list[np.ndarray]]
    diverged_at: list[list[int | None]]
    stop_reason: list[list[str]]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values())

    def hyperparams(self, index: Sequence[int]) -> dict:
        """The hyper-parameters of grid point ``index`` (the others as the run had them)."""
        out = dict(self.hyper)
        for (k, v), i in zip(self.axes.items(), index, strict=True):
            out[k] = float(v[i])
        return out

    def caption(self) -> str:
        """``"momentum — α: 9 values 0.0125…0.2 (log), β: 0, 0.5, 0.8, …"``."""
        parts = []
        for k, v in self.axes.items():
            sym = optim.get(self.method).hyper(k).symbol
            if k == "lr":
                parts.append(f"{sym}: {len(v)} values {v[0]:.3g}…{v[-1]:.3g} (log)")
            else:
                parts.append(f"{sym}: " + ", ".join(f"{x:g}" for x in v))
        return f"{self.name} — " + ("; ".join(parts) if parts else "no α or β: its run alone")


def grid_axes(method: str, hyper: dict) -> dict[str, np.ndarray]:
    """The α (and β) values of a grid around ``hyper``: α₀·2^{k/2}, k = −4 … 4 (α₀ exactly at the
    middle), and :data:`BETAS` with β₀ (7 values). A method without ``lr`` gets no axis."""
    spec = optim.get(method)
    axes: dict[str, np.ndarray] = {}
    if "lr" in spec.hyper_names:
        half = ALPHA_POINTS // 2
        axes["lr"] = float(hyper["lr"]) * ALPHA_SPAN ** (np.arange(-half, half + 1) / half)
        axes["lr"][half] = float(hyper["lr"])
    if "beta" in spec.hyper_names:
        b0 = float(hyper["beta"])
        betas = set(BETAS) | {b0}
        if len(betas) == len(BETAS):
            betas.add(0.7)
        axes["beta"] = np.array(sorted(betas))
    for k, v in axes.items():
        spec.hyper(k).check(v)  # e.g. an α grid that overflows
    return axes


def run_grid(problem: Problem, traj: Trajectory, steps: int, *, name: str | None = None) -> Grid:
    """Run ``traj``'s optimizer over its :func:`grid_axes`, from its start, for ``steps`` steps and
    on its minibatches (drawn again from its seed), all configurations in one batched state.

    Raises InputError when the grid's work or record exceeds :mod:`descentlab.budget` (checked
    before anything runs), or when the run's batches cannot be drawn again (explicit batches).
    """
    spec = optim.get(traj.optimizer)
    hyper = dict(traj.hyperparams)
    axes = grid_axes(traj.optimizer, hyper)
    shape = tuple(len(v) for v in axes.values())
    n = int(np.prod(shape)) if shape else 1
    phi0 = np.asarray(traj.params[0], dtype=np.float64)
    p = len(phi0)
    plan = None
    if traj.batch_size is not None:
        if traj.seed is None or problem.n_examples is None:
            raise InputError(f"{traj.label}: its minibatches were given explicitly, so the α/β grid "
                             "cannot draw them again")
        plan = draw_batches(problem.n_examples, traj.batch_size, steps, traj.seed)
    mesh = np.meshgrid(*axes.values(), indexing="ij") if axes else []
    cols = {k: m.ravel() for k, m in zip(axes, mesh, strict=True)}
    state = spec.build(**{**hyper, **{k: v[:, None] for k, v in cols.items()}}).init(
        np.broadcast_to(phi0, (n, p)))
    budget.check_run(steps, n, p, sum(max(1, -(-np.size(b) // max(n * p, 1)))
                                      for b in buffers(state).values()),
                     batch_sizes=set() if traj.batch_size is None else {traj.batch_size},
                     line_searches=n * int(spec.needs_loss))  # held here; the page is thinned
    params = np.full((steps + 1, n, p), np.nan)
    losses = np.full((steps + 1, n), np.nan)
    params[0] = phi0
    with np.errstate(all="ignore"):
        loss0 = float(problem.loss(phi0))
    losses[0] = loss0
    limit = divergence.limits(loss0)
    stopped = np.full(n, -1)
    reasons = [divergence.COMPLETED] * n
    idx = np.arange(n)

    def build(rows):
        return spec.build(**{**hyper, **{k: v[rows][:, None] for k, v in cols.items()}})

    opt = build(idx)
    with np.errstate(all="ignore"):
        for t in range(steps):
            batch = None if plan is None else plan[t]
            x = opt.gradient_point(state)
            g = problem.grad(x, batch)
            new = opt.update(state, g, probe(problem, batch)) if spec.needs_loss else opt.update(state, g)
            loss = np.asarray(problem.loss(new.params), dtype=np.float64)
            kept = list(buffers(new).values())
            bad = divergence.diverged(loss, limit, kept)
            if bad.any():
                for r in np.flatnonzero(bad):
                    reason = divergence.reason_one(float(loss[r]), limit,
                                                   [np.asarray(b)[r] for b in kept])
                    stopped[idx[r]] = t + 1
                    reasons[idx[r]] = reason or divergence.DIVERGED
                good = ~bad
                idx = idx[good]
                new = type(new)(*(a[good] if isinstance(a, np.ndarray) and a.ndim >= 1 else a for a in new))
                loss = loss[good]
                if idx.size == 0:
                    break
                opt = build(idx)
            state = new
            params[t + 1, idx] = new.params
            losses[t + 1, idx] = loss
    out_p: list = []
    out_l: list = []
    for k in range(n):
        done = steps if stopped[k] < 0 else int(stopped[k]) - 1
        out_p.append(params[:done + 1, k].copy())
        out_l.append(losses[:done + 1, k].copy())
    default = tuple(int(np.flatnonzero(v == float(hyper[k]))[0]) for k, v in axes.items())

    def nest(flat: list) -> list:
        return [flat[i * shape[-1]:(i + 1) * shape[-1]] for i in range(n // shape[-1])] if shape else [flat]

    def shaped(flat: list):
        if len(shape) == 2:
            return nest(flat)
        return [[v] for v in flat] if shape else [flat]

    return Grid(name=name or traj.optimizer, label=traj.label, method=traj.optimizer, hyper=hyper,
                axes=axes, default=default, params=shaped(out_p), losses=shaped(out_l),
                diverged_at=shaped([None if s < 0 else int(s) for s in stopped]),
                stop_reason=shaped(reasons))


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f8").tobytes()).decode("ascii")


def decode(text: str, columns: int = 1) -> np.ndarray:
    """A base64 float64 array of the page back as numpy (``columns`` per row)."""
    a = np.frombuffer(base64.b64decode(text), dtype="<f8")
    return a.reshape(-1, columns) if columns > 1 else a


def kept_steps(n_recorded: int, stride: int) -> np.ndarray:
    """The recorded iterates a page keeps: every ``stride``-th and the last."""
    keep = np.arange(0, n_recorded, stride)
    return keep if n_recorded == 0 or keep[-1] == n_recorded - 1 else np.append(keep, n_recorded - 1)


def estimate_bytes(grids: Sequence[Grid], steps: int, n_params: int, model: bool, stride: int = 1) -> int:
    """The embedded JSON's size in bytes, at most (every run going all ``steps`` steps)."""
    per_run = (len(kept_steps(steps + 1, stride)) * (n_params + 1) + (MODEL_LINE_POINTS if model else 0))
    runs = sum(int(np.prod(g.shape)) if g.shape else 1 for g in grids)
    return int(runs * (per_run * 8 * 4 / 3 + 120)) + 4096


def choose_stride(grids_shape: Sequence[int], steps: int, n_params: int, model: bool, allowed: int) -> int:
    """The smallest stride whose :func:`estimate_bytes` fits ``allowed`` (InputError when none does)."""
    runs = sum(grids_shape)
    fixed = runs * ((MODEL_LINE_POINTS if model else 0) * 8 * 4 / 3 + 120 + 2 * (n_params + 1) * 32) + 4096
    per_point = runs * (n_params + 1) * 8 * 4 / 3
    if allowed <= fixed:
        raise InputError(f"the α/β grid ({runs} runs) does not fit the page's size budget of "
                         f"{LIMIT_BYTES / 1e6:g} MB; draw fewer optimizers or use --no-grid")
    points = max(2, int((allowed - fixed) // per_point))
    return max(1, math.ceil((steps + 1) / max(points - 1, 1)))


def payload(problem: Problem, grids: Sequence[Grid], scene: Scene, stride: int) -> dict:
    """What the page embeds: per optimizer, its axes and every run (base64 float64, thinned by
    ``stride``), its model line at the last iterate on data problems."""
    model_x = scene.model_x
    predict = getattr(problem, "predict", None) if model_x is not None else None
    out = []
    for g in grids:
        runs = []
        for row_p, row_l, row_d, row_r in zip(g.params, g.losses, g.diverged_at, g.stop_reason, strict=True):
            for pts, loss, at, why in zip(row_p, row_l, row_d, row_r, strict=True):
                keep = kept_steps(len(pts), stride)
                line = None
                if predict is not None:
                    with np.errstate(all="ignore"):
                        line = _b64(np.asarray(predict(pts[-1], model_x), dtype=np.float64))
                runs.append({"n": len(pts), "params": _b64(pts[keep]), "losses": _b64(loss[keep]),
                             "model": line, "diverged_at": at, "stop_reason": why})
        out.append({"name": g.name, "method": g.method, "label": g.label, "caption": g.caption(),
                    "axes": {k: [float(x) for x in v] for k, v in g.axes.items()},
                    "symbols": {k: optim.get(g.method).hyper(k).symbol for k in g.axes},
                    "shape": list(g.shape), "default": list(g.default), "runs": runs,
                    "hyper": {k: v for k, v in g.hyper.items() if k not in g.axes}})
    return {"stride": stride, "min_loss": scene.min_loss,
            "model_x": None if model_x is None else _b64(model_x), "optimizers": out}


def figure(scene: Scene, data: dict) -> dict:
    """The grid's figure: the contour map with one path per optimizer, the loss per step, and (data
    problems) the data with each optimizer's model at its last iterate; traces the sliders restyle."""
    ctx = Context(scene, binary=True)
    has_data = scene.data is not None
    cells = [(0.0, 0.28), (0.40, 0.66), (0.73, 1.0)] if has_data else [(0.0, 0.44), (0.58, 1.0)]
    background = contour.static(ctx, "x", "y", legend=False,
                                colorbar={"x": cells[0][1] + 0.005, "len": 0.9, "thickness": 10})
    traces = [background[0]] + [t for t in background if "minimum" in str(t.get("name", ""))]
    loss_log = scene.min_loss is not None or all(bool(np.all(p.losses > 0)) for p in scene.paths)
    if has_data:
        x, y = scene.data
        traces.append({"type": "scatter", "mode": "markers", "name": f"data (N={len(x)})",
                       "x": x[:2000].tolist(), "y": y[:2000].tolist(), "xaxis": "x3", "yaxis": "y3",
                       "marker": {"size": 6, "color": "#888888"}, "showlegend": False})
    roles = []
    for k, (o, look) in enumerate(zip(data["optimizers"], ctx.looks, strict=False)):
        group = f"grid-{k}"
        traces.append({"type": "scatter", "mode": "lines+markers", "name": escape(o["label"]),
                       "x": [], "y": [], "xaxis": "x", "yaxis": "y", "legendgroup": group,
                       "line": {"color": look.mark, "width": 2},
                       "marker": {"size": 5, "color": look.mark, "maxdisplayed": 60},
                       "hovertemplate": "step %{customdata}<br>(%{x:.6~g}, %{y:.6~g})<extra></extra>"})
        roles.append({"optimizer": k, "role": "path", "trace": len(traces) - 1})
        traces.append({"type": "scatter", "mode": "lines", "name": escape(o["label"]), "x": [], "y": [],
                       "xaxis": "x2", "yaxis": "y2", "legendgroup": group, "showlegend": False,
                       "line": {"color": look.mark, "width": 2},
                       "hovertemplate": "step %{x}<br>%{y:.6~g}<extra></extra>"})
        roles.append({"optimizer": k, "role": "loss", "trace": len(traces) - 1})
        if has_data:
            traces.append({"type": "scatter", "mode": "lines", "name": escape(o["label"]), "x": [], "y": [],
                           "xaxis": "x3", "yaxis": "y3", "legendgroup": group, "showlegend": False,
                           "line": {"color": look.mark, "width": 2.5}})
            roles.append({"optimizer": k, "role": "model", "trace": len(traces) - 1})
    (x0, x1), (y0, y1) = scene.bounds
    ytitle = "L[φ<sub>t</sub>] − L<sub>min</sub>" if scene.min_loss is not None else "L[φ<sub>t</sub>]"
    layout = {"height": 520, "margin": {"l": 60, "r": 20, "t": 40, "b": 50}, "template": "none",
              "legend": {"orientation": "h", "y": -0.15}, "uirevision": "grid",
              "xaxis": {**AXIS, "domain": list(cells[0]), "range": [x0, x1], "title": {"text": ctx.names[0]}},
              "yaxis": {**AXIS, "domain": [0, 1], "range": [y0, y1], "title": {"text": ctx.names[1]}},
              "xaxis2": {**AXIS, "domain": list(cells[1]), "anchor": "y2", "title": {"text": "step t"}},
              "yaxis2": {**AXIS, "anchor": "x2", "type": "log" if loss_log else "linear",
                         "title": {"text": ytitle}, "exponentformat": "power"}}
    if has_data:
        lx, ly = (escape(s) for s in scene.data_labels)
        ys = scene.data[1]
        pad_y = 0.15 * (float(np.ptp(ys)) or 1.0)
        layout["xaxis3"] = {**AXIS, "domain": list(cells[2]), "anchor": "y3", "title": {"text": lx},
                            "range": [float(scene.model_x[0]), float(scene.model_x[-1])]}
        layout["yaxis3"] = {**AXIS, "anchor": "x3", "title": {"text": ly},
                            "range": [float(ys.min()) - pad_y, float(ys.max()) + pad_y]}
    return {"data": traces, "layout": layout, "roles": roles}


_SCRIPT = r"""
(function () {
  const data = JSON.parse(document.getElementById('descentlab-grid-data').textContent);
  const gd = document.getElementById('descentlab-grid');
  const roles = JSON.parse(document.getElementById('descentlab-grid-roles').textContent);
  function decode(s) {  // base64 little-endian float64, exactly as Python wrote it
    const bin = atob(s); const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return Array.from(new Float64Array(bytes.buffer));
  }
  function kept(n, stride) { const k = []; for (let i = 0; i < n; i += stride) k.push(i);
    if (n > 0 && k[k.length - 1] !== n - 1) k.push(n - 1); return k; }
  const modelX = data.model_x ? decode(data.model_x) : null;
  const P = 2;
  const at = data.optimizers.map(o => o.default.slice());
  function fmt(v) { return Number(v.toPrecision(4)).toString(); }
  function run(k) {
    const o = data.optimizers[k]; let flat = 0;
    for (let a = 0; a < o.shape.length; a++) flat = flat * o.shape[a] + at[k][a];
    return o.runs[flat];
  }
  function label(k) {
    const o = data.optimizers[k]; const keys = Object.keys(o.axes);
    const parts = keys.map((key, a) => o.symbols[key] + '=' + fmt(o.axes[key][at[k][a]]));
    return o.method + (parts.length ? ' (' + parts.join(', ') + ')' : '');
  }
  function show(k) {
    const r = run(k); const steps = kept(r.n, data.stride);
    const flat = decode(r.params); const xs = [], ys = [];
    for (let i = 0; i < steps.length; i++) { xs.push(flat[i * P]); ys.push(flat[i * P + 1]); }
    let loss = decode(r.losses);
    if (data.min_loss !== null) loss = loss.map(v => v - data.min_loss);
    const idx = [], upd = {x: [], y: [], customdata: [], name: []};
    for (const role of roles) {
      if (role.optimizer !== k) continue;
      idx.push(role.trace);
      if (role.role === 'path') { upd.x.push(xs); upd.y.push(ys); upd.customdata.push(steps); }
      else if (role.role === 'loss') { upd.x.push(steps); upd.y.push(loss); upd.customdata.push(steps); }
      else { upd.x.push(r.model ? modelX : []); upd.y.push(r.model ? decode(r.model) : []);
             upd.customdata.push(null); }
      upd.name.push(label(k));
    }
    Plotly.restyle(gd, upd, idx);
    const note = document.getElementById('descentlab-grid-note-' + k);
    note.textContent = r.diverged_at === null ? label(k) + ': ' + (r.n - 1) + ' steps, final L = '
        + fmt(decode(r.losses).slice(-1)[0])
      : label(k) + ': ' + r.stop_reason + ' at step ' + r.diverged_at + ' (path drawn up to step '
        + (r.n - 1) + ')';
    note.className = r.diverged_at === null ? 'grid-note' : 'grid-note grid-diverged';
  }
  data.optimizers.forEach((o, k) => {
    Object.keys(o.axes).forEach((key, a) => {
      const input = document.getElementById('descentlab-grid-' + k + '-' + key);
      const value = document.getElementById('descentlab-grid-' + k + '-' + key + '-value');
      const update = () => { at[k][a] = parseInt(input.value, 10);
        value.textContent = o.symbols[key] + ' = ' + fmt(o.axes[key][at[k][a]]); show(k); };
      input.addEventListener('input', update);
      value.textContent = o.symbols[key] + ' = ' + fmt(o.axes[key][at[k][a]]);
    });
  });
  window.descentlabGrid = {data: data, at: at, show: show, run: run, decode: decode, kept: kept};
  Plotly.newPlot(gd, JSON.parse(document.getElementById('descentlab-grid-figure').textContent),
                 {displaylogo: false, responsive: true}).then(() => {
    data.optimizers.forEach((o, k) => show(k)); gd.dataset.ready = '1'; });
})();
"""


def _json_script(id_: str, value) -> str:
    text = json.dumps(value, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{id_}">{text}</script>\n'


def section(problem: Problem, scene: Scene, trajectories: Sequence[Trajectory], steps: int, allowed: int,
            names: Sequence[str] | None = None) -> tuple[str, list[Grid], int]:
    """(the page's grid section, the grids, the stride): the size estimated and the stride chosen
    before any grid runs (:func:`choose_stride`), then one :func:`run_grid` per trajectory."""
    trajs = list(trajectories)
    names = [t.optimizer for t in trajs] if names is None else list(names)
    shapes = [int(np.prod([len(v) for v in grid_axes(t.optimizer, t.hyperparams).values()]))
              for t in trajs]
    stride = choose_stride(shapes, steps, 2, scene.model_x is not None, allowed)
    grids = [run_grid(problem, t, steps, name=n) for t, n in zip(trajs, names, strict=True)]
    return grid_block(problem, scene, grids, steps, stride), grids, stride


def grid_block(problem: Problem, scene: Scene, grids: Sequence[Grid], steps: int, stride: int) -> str:
    """The HTML of the grid section: a caption stating the grid, a slider per α/β of each
    optimizer, the figure and the embedded runs (thinned by ``stride``)."""
    data = payload(problem, grids, scene, stride)
    fig = figure(scene, data)
    roles = fig.pop("roles")
    rows = []
    for k, g in enumerate(grids):
        sliders = []
        for key, values in g.axes.items():
            sliders.append(
                f'<label class="grid-slider">'
                f'<span id="descentlab-grid-{k}-{key}-value"></span>'
                f'<input type="range" id="descentlab-grid-{k}-{key}" min="0" max="{len(values) - 1}" '
                f'step="1" value="{g.default[list(g.axes).index(key)]}" '
                f'aria-label="{html.escape(g.name)} {key}"></label>')
        rows.append(f'<div class="grid-row"><b>{html.escape(g.name)}</b> {"".join(sliders)}'
                    f'<span id="descentlab-grid-note-{k}" class="grid-note"></span></div>')
    thinned = "" if stride == 1 else (f" To fit the page's {LIMIT_BYTES / 1e6:g} MB, every {stride}th "
                                      "iterate is kept (the first and last always).")
    caption = ("<p id=\"descentlab-grid-caption\"><b>α/β grid</b> — every run below was computed in "
               f"advance by descentlab from the same start for {steps} steps; the sliders snap to the "
               "grid values. " + html.escape("; ".join(g.caption() for g in grids)) + "." + thinned
               + "</p>")
    style = ("<style>.grid-row{margin:4px 0}.grid-slider{margin:0 14px;display:inline-flex;gap:6px;"
             "align-items:center}.grid-slider span{min-width:80px;display:inline-block}"
             ".grid-note{color:#333;margin-left:10px}.grid-diverged{color:#b00020}</style>\n")
    block = (f'{style}<section id="descentlab-grid-section"><h3>Live α and β</h3>{caption}{"".join(rows)}'
             '<div id="descentlab-grid" style="height:520px"></div></section>\n'
             + _json_script("descentlab-grid-data", data) + _json_script("descentlab-grid-roles", roles)
             + _json_script("descentlab-grid-figure", fig) + f"<script>{_SCRIPT}</script>\n")
    return block
