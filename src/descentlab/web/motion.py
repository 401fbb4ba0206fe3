"""Client-side motion: every iterate's moving traces sent once, so the browser scrubs and plays alone.

The explorer's views are a static part (the surface, the contours, the paths, the loss curves) and a
dynamic tail that depends on the selected iterate t (:func:`descentlab.web.figures.contour.dynamic`
and its siblings: φ_t's marker in each view, the model line f[x, φ_t], Nesterov's look-ahead
geometry of step t, eq. 6.12, the dashed line at step t of the loss view, and the look-ahead panel's
step t with its own zoom, :mod:`descentlab.web.figures.lookahead`). :func:`frames` runs
those same builders at every t = 0 … T once per state of the controls and packs what changes, per
view and per dynamic trace, into columns (the attributes that never change are left out: the page
has them already). In the page, :data:`SCRIPT` keeps the columns and moves the dynamic traces alone:

* 2-D views: the moving scatter traces re-plotted alone by plotly.js's scatter module, as a
  transition of no duration (so the other traces stay: a full replot of a subset of traces removes
  the rest), else ``Plotly.animate`` with ``redraw: false``; the title's "t = …" in place; the
  annotations and the look-ahead panel's axis ranges with ``Plotly.react`` on the layout (not
  ``Plotly.relayout``, whose event makes dcc.Graph draw its figure prop again, the server's t).
  The panel takes step t's view (:func:`descentlab.scene.step_bounds`) once the scrubber rests for
  250 ms or play pauses: a change of range redraws the whole panel, contours included (measured
  70–200 ms a frame in headless Chromium on a busy machine), so while the scrubber moves, the
  panel's traces move alone in the view of where it last rested;
* the 3-D view: ``Plotly.restyle`` of its marker traces only. Where WebGL is drawn in software
  (a headless browser without a GPU: ~170 ms a frame for the 150 × 150 surface) the 3-D view follows
  when the scrubber rests rather than at every frame, so it cannot hold the other views back;
* the label and the per-run summary: text precomputed here for every t.

The iterate slider (keyboard or drag), the play button (one iterate per animation frame) and the
summary then need no server: a Dash clientside callback calls ``descentlabMotion.show(t)``. Every
value drawn comes from the same figure code as the server's render, so the two cannot disagree.
"""

from __future__ import annotations

import base64
import json

import numpy as np

from descentlab.scene import Scene
from descentlab.web.figures import contour, data, loss, surface
from descentlab.web.figures import lookahead as lookahead_view
from descentlab.web.figures.look import Context

NUMERIC = ("x", "y", "z", "customdata")
"""Attributes sent as packed float arrays (all others as JSON values, one per iterate)."""
CURVE = 16
"""A numeric attribute with more than this many values at an iterate (a model line f[x, φ_t]) is a
drawn curve, sent as float32; markers keep all of float64 (a test reads them back as params[t])."""
_MISSING = object()


def _flat(trace: dict, prefix: str = "") -> dict[str, object]:
    """A trace's attributes by plotly's dotted path (``marker.line.color``); arrays stay whole."""
    out: dict[str, object] = {}
    for k, v in trace.items():
        if isinstance(v, dict):
            out |= _flat(v, f"{prefix}{k}.")
        else:
            out[prefix + k] = v
    return out


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a)).decode("ascii")


def pack_numeric(values: list) -> dict:
    """One attribute over t (each a list of numbers or of rows, None for a gap) as one typed array.

    ``{"f8" or "f4": base64, "off": [start of t's values … end], "w": row width (0: plain list)}``."""
    arrays = [_numbers(val) for val in values]
    width = 0
    for val in values:
        if len(val) and isinstance(val[0], list | tuple):
            width = len(val[0])
            break
    sizes = [a.size for a in arrays]
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
    flat = np.concatenate(arrays) if off[-1] else np.zeros(0)
    single = max(sizes, default=0) // max(width, 1) > CURVE
    return {("f4" if single else "f8"): _b64(flat.astype("<f4" if single else "<f8")), "off": off,
            "w": width}


def _numbers(val) -> np.ndarray:
    """One iterate's values (numbers or rows of numbers) as a flat float64 array, None as NaN
    (numpy converts None to NaN for a float dtype)."""
    return np.asarray(val, dtype=np.float64).ravel() if len(val) else np.zeros(0)


def _columns(per_t: list[dict]) -> dict[str, dict]:
    """The attributes of one dynamic trace that change with t, packed (see :func:`pack_numeric`)."""
    flats = [_flat(tr) for tr in per_t]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    out = {}
    for key in keys:
        values = [f.get(key, _MISSING) for f in flats]
        if all(v == values[0] for v in values[1:]):
            continue  # the page has it already
        if key in NUMERIC:
            out[key] = pack_numeric([[] if v is _MISSING else v for v in values])
        else:
            out[key] = {"v": [None if v is _MISSING else v for v in values]}
    return out


def frames(scene: Scene, lookahead: lookahead_view.Panel | None = None) -> dict:
    """Every iterate's dynamic traces of each view of ``scene``, packed by trace and attribute.

    ``{"last": T, "views": {view: {"n": dynamic traces (the last n of the figure's), "traces":
    [{attribute: packed}], "notes": [annotations per t] (only when they change), "ranges":
    [[x0, x1, y0, y1] per t] (the look-ahead panel: step t's view)}}}``. The traces are exactly
    those of :func:`descentlab.web.figures.views` at each t (plain lists: ``binary=False``; with
    ``lookahead``, its panel too), so the page moved here equals the server's render at t.
    """
    ctx = Context(scene, binary=False)
    steps = range(ctx.last + 1)
    builders = {"surface": surface.dynamic, "contour": contour.dynamic, "loss": loss.dynamic}
    if scene.has_data:
        builders = {"data": data.dynamic} | builders
    out: dict[str, dict] = {}
    for name, build in builders.items():
        per_t = [build(ctx, t) for t in steps]
        n = len(per_t[0])
        if any(len(traces) != n for traces in per_t):
            continue  # not a fixed set of traces: the page asks the server (never the case today)
        out[name] = {"n": n, "traces": [_columns([traces[k] for traces in per_t]) for k in range(n)]}
    if scene.has_data:
        outside = [data.lines_outside(ctx, t) for t in steps]
        if any(outside):
            out["data"]["notes"] = [_outside_note(k, len(scene.paths)) for k in outside]
    if lookahead is not None and lookahead.run is not None:
        out["lookahead"] = _lookahead(lookahead, steps)
    return {"last": ctx.last, "views": out}


def _lookahead(panel: lookahead_view.Panel, steps: range) -> dict:
    """The look-ahead panel's moving traces, view (axis ranges) and remarks at every t."""
    per_t = [lookahead_view.dynamic(panel, t) for t in steps]
    n = len(lookahead_view.DYNAMIC)
    ranges = []
    for t in steps:
        xa, ya = lookahead_view.axes(panel, t)
        ranges.append([*xa["range"], *ya["range"]])
    view = {"n": n, "traces": [_columns([traces[k] for traces in per_t]) for k in range(n)], "ranges": ranges}
    notes = [lookahead_view.notes(panel, t) for t in steps]
    if any(notes):
        view["notes"] = notes
    return view


def _outside_note(count: int, paths: int) -> list[dict]:
    """The data view's annotations at an iterate where ``count`` model lines leave it (as
    :func:`descentlab.web.figures.views` writes them)."""
    from descentlab import theme

    if not count:
        return []
    return [{"x": 0.01, "y": 0.01, "xref": "paper", "yref": "paper", "showarrow": False,
             "xanchor": "left", "yanchor": "bottom", "font": {"size": 11, "color": theme.DIVERGED_COLOR},
             "text": f"{count} of {paths} model lines lie outside this view"}]


def size(motion: dict) -> int:
    """Bytes of ``motion`` as JSON (what the page downloads once per state of the controls)."""
    return len(json.dumps(motion))


SCRIPT = r"""
(function () {
  if (window.descentlabMotion) return;
  const REST_MS = 250;  // the scrubber rests once no new iterate came for this long
  const VIEWS = {data: 'view-data', surface: 'view-surface', contour: 'view-contour', loss: 'view-loss',
                 lookahead: 'view-lookahead'};
  const M = window.descentlabMotion = {
    motion: null, key: null, shown: null, playing: false, played: 0, times: [], renders: [],
    slow3d: true, timer3d: null, timerZoom: null, zooms: 0, zoomed: null, shown3d: null,
    opts: {title: true, views: null, fast: true},
  };
  function gd(view) { return document.querySelector('#' + VIEWS[view] + ' .js-plotly-plot'); }
  function decode(p) {
    const kind = p.f8 !== undefined ? 'f8' : 'f4';
    const bin = atob(p[kind]);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const a = kind === 'f8' ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
    return {a, off: p.off, w: p.w};
  }
  function value(col, t) {
    if (col.v !== undefined) return col.v[t];
    const a = col.a.subarray(col.off[t], col.off[t + 1]);
    if (!col.w) return a;
    const rows = [];
    for (let i = 0; i < a.length; i += col.w) rows.push(a.subarray(i, i + col.w));
    return rows;
  }
  // the motion of a new state: decode the packed columns once
  M.load = function (motion) {
    if (!motion || motion.key === M.key) return;
    for (const view of Object.values(motion.views)) {
      for (const trace of view.traces) {
        for (const [k, col] of Object.entries(trace)) if (col.v === undefined) trace[k] = decode(col);
      }
    }
    M.motion = motion; M.key = motion.key; M.shown = null;
  };
  function update(view, t) {
    const m = M.motion.views[view], g = gd(view);
    if (!g || !g._fullData || g.data.length < m.n) return null;
    const first = g.data.length - m.n, idx = [], frame = [];
    m.traces.forEach((cols, j) => {
      const part = {};
      for (const [k, col] of Object.entries(cols)) { const v = value(col, t); if (v !== null) part[k] = v; }
      if (Object.keys(part).length) { idx.push(first + j); frame.push(part); }
    });
    return {g, idx, frame, m};
  }
  function title(g, t) {
    const text = g.layout.title && g.layout.title.text;
    if (typeof text !== 'string' || !/t = \d+/.test(text)) return null;
    return text.replace(/t = \d+/, 't = ' + t);
  }
  function put(obj, path, v) {
    const keys = path.split('.');
    for (const k of keys.slice(0, -1)) obj = (obj[k] = obj[k] || {});
    obj[keys[keys.length - 1]] = v;
  }
  // the moving scatter traces alone: their data set, their calcdata made anew and only they plotted
  // (what plotly.js does for an animated trace, without recomputing the contour trace or the axes);
  // plotly.animate when this plotly.js lacks the pieces
  function fast(g, idx, frame) {
    const plain = idx.every(i => g._fullData[i] && g._fullData[i].type === 'scatter');
    if (!M.opts.fast || !g.calcdata || !plain) return false;
    // each subplot's scatter layer (what plotly.js draws scatter traces in)
    const layers = {};
    for (const i of idx) {
      const id = g._fullData[i].xaxis + g._fullData[i].yaxis, info = g._fullLayout._plots[id];
      const layer = info && info.plot && info.plot.select('.scatterlayer');
      if (!layer || layer.empty()) return false;
      layers[id] = layers[id] || {info, layer, cd: []};
    }
    idx.forEach((i, j) => {
      const full = g._fullData[i];
      for (const [k, v] of Object.entries(frame[j])) { put(g.data[i], k, v); put(full, k, v); }
      full._length = Math.min((full.x || []).length, (full.y || []).length);
      let cd = full._module.calc(g, full);
      if (!Array.isArray(cd) || !cd[0]) cd = [{x: undefined, y: undefined}];  // as plotly.js: no points
      cd[0].trace = full;
      cd[0].t = cd[0].t || {};
      g.calcdata[i] = cd;
      layers[full.xaxis + full.yaxis].cd.push(cd);
    });
    // the scatter module's plot of these traces alone, as a transition of no duration: plotly.js then
    // updates them and leaves the others be (cartesian.plot(g, idx), a full replot of the traces it
    // is given, removes every other trace of the subplot: the contours, the paths, the data)
    for (const {info, layer, cd} of Object.values(layers)) {
      cd[0][0].trace._module.plot(g, info, cd, layer, {duration: 0});
    }
    return true;
  }
  function show2d(view, t) {
    const u = update(view, t);
    if (!u) return;
    if (u.idx.length && !fast(u.g, u.idx, u.frame)) {
      Plotly.animate(u.g, {data: u.frame, traces: u.idx},
                     {frame: {duration: 0, redraw: false}, transition: {duration: 0}, mode: 'immediate'});
    }
    const text = title(u.g, Math.min(t, M.motion.last));
    if (text !== null && M.opts.title) retitle(u.g, text);
    if (u.m.notes && JSON.stringify(u.m.notes[t]) !== JSON.stringify(u.g.layout.annotations || [])) {
      relayout(u.g, {annotations: u.m.notes[t]});
    }
  }
  // Plotly.relayout without its plotly_relayout event: dcc.Graph answers that event by drawing its
  // figure prop again, i.e. the layout of the iterate the server sent (its title's "t = …" too)
  function relayout(g, changes) {
    const layout = Object.assign({}, g.layout);
    for (const [path, v] of Object.entries(changes)) {
      const keys = path.split('.');
      let obj = layout;
      for (const k of keys.slice(0, -1)) obj = obj[k] = Object.assign({}, obj[k]);
      obj[keys[keys.length - 1]] = v;
    }
    return Plotly.react(g, g.data, layout);
  }
  // a view with its own axis ranges at each t (the look-ahead panel: step t's view) takes them once
  // the scrubber rests or play pauses: a relayout redraws the whole view (~100 ms with its contours),
  // so while it moves the traces move alone, in the view of the iterate where it last rested
  function rezoom() {
    clearTimeout(M.timerZoom);
    if (!M.motion || M.shown === null) return;
    const t = M.shown;
    for (const [view, m] of Object.entries(M.motion.views)) {
      const g = gd(view);
      if (!m.ranges || !g || !g._fullLayout) continue;
      const r = m.ranges[t], xr = g.layout.xaxis.range || [], yr = g.layout.yaxis.range || [];
      if (xr[0] !== r[0] || xr[1] !== r[1] || yr[0] !== r[2] || yr[1] !== r[3]) {
        M.zooms += 1;
        relayout(g, {'xaxis.range': [r[0], r[1]], 'yaxis.range': [r[2], r[3]]}).then(() => { M.zoomed = t; });
      } else {
        M.zoomed = t;
      }
    }
  }
  // the title's "t = …": its text in the figure and in the drawn SVG (a relayout redraws the view)
  function retitle(g, text) {
    g.layout.title.text = text;
    if (g._fullLayout.title) g._fullLayout.title.text = text;
    const el = g.querySelector('.g-gtitle .gtitle');
    if (el) el.textContent = text;
  }
  function show3d(t) {
    const u = update('surface', t);
    if (!u) return;
    const attrs = {};
    u.frame.forEach((part, j) => {
      for (const k of Object.keys(part)) if (!(k in attrs)) attrs[k] = u.frame.map(() => undefined);
      for (const [k, v] of Object.entries(part)) attrs[k][j] = v;
    });
    const text = title(u.g, Math.min(t, M.motion.last));
    const t0 = performance.now();
    const done = () => {
      // software WebGL (no GPU) takes ~10 frames to draw the surface: the 3-D view then waits
      // for the scrubber to rest, so the other views keep their frame rate (it waits until a
      // redraw at rest has shown that it is fast)
      requestAnimationFrame(() => requestAnimationFrame(() => {
        const took = performance.now() - t0;
        M.renders.push(took);
        M.slow3d = took > 60;
        M.shown3d = t;
      }));
    };
    const scene = u.g._fullLayout.scene && u.g._fullLayout.scene._scene;
    const objs = scene && u.idx.map(i => u.g._fullData[i] && scene.traces[u.g._fullData[i].uid]);
    if (M.opts.fast && objs && objs.every(o => o && o.update)) {
      // the marker traces' WebGL objects alone take the new points; the surface is not converted again
      u.idx.forEach((i, j) => {
        const full = u.g._fullData[i];
        for (const [k, v] of Object.entries(u.frame[j])) { put(u.g.data[i], k, v); put(full, k, v); }
        full._length = Math.min((full.x || []).length, (full.y || []).length, (full.z || []).length);
        objs[j].update(full);
      });
      scene.glplot.redraw();
      if (text !== null) retitle(u.g, text);
      done();
      return;
    }
    Plotly.update(u.g, attrs, text === null ? {} : {'title.text': text}, u.idx).then(done);
  }
  // move every view to iterate t (the 3-D view at once, or once the scrubber rests when it is slow)
  M.show = function (t) {
    if (!M.motion || t === M.shown) return;
    const start = performance.now();
    t = Math.max(0, Math.min(t, M.motion.last));
    let rendered = null, sync = 0;
    requestAnimationFrame(() => {  // queued first: runs before plotly's transition in the next frame
      rendered = performance.now();
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { M.times.push(sync + performance.now() - rendered); };
      ch.port2.postMessage(0);  // delivered once the frame's rendering is done
    });
    for (const view of Object.keys(M.motion.views)) {
      if (view !== 'surface' && (!M.opts.views || M.opts.views.includes(view))) show2d(view, t);
    }
    if (M.motion.views.surface) {
      clearTimeout(M.timer3d);
      if (M.slow3d || M.playing) M.timer3d = setTimeout(() => show3d(M.shown), M.playing ? 400 : REST_MS);
      else show3d(t);
    }
    clearTimeout(M.timerZoom);
    if (!M.playing) M.timerZoom = setTimeout(rezoom, REST_MS);
    if (M.playing) {  // while playing, the label and the summary follow here (the slider on pause)
      const label = document.getElementById('iterate-label');
      if (label) label.textContent = M.label(t);
      const items = document.querySelectorAll('#summary li'), lines = M.motion.summary[t];
      if (items.length === lines.length) lines.forEach((line, i) => { items[i].textContent = line; });
    }
    M.shown = t;
    sync = performance.now() - start;
  };
  M.label = (t) => 'iterate t = ' + Math.max(0, Math.min(t, M.motion.last)) + ' of ' + M.motion.last;
  // whether what the page does once the scrubber rests at t is done: the 3-D view's markers and the
  // look-ahead panel's view both at t (a test or benchmark starts timing frames after it)
  M.rested = function (t) {
    if (!M.motion) return false;
    const views = M.motion.views, zooms = Object.values(views).some((m) => m.ranges);
    return (!views.surface || M.shown3d === t) && (!zooms || M.zoomed === t);
  };
  // play: one iterate per animation frame from where the scrubber is, round to the start at the end
  M.play = function (from) {
    if (M.playing || !M.motion) return;
    M.playing = true;
    let t = from >= M.motion.last ? 0 : from;
    const step = () => {
      if (!M.playing) return;
      t = t >= M.motion.last ? 0 : t + 1;
      M.show(t);
      M.played += 1;
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  };
  M.pause = function () {
    if (!M.playing) return M.shown;
    M.playing = false;
    if (M.motion && M.motion.views.surface) { clearTimeout(M.timer3d); show3d(M.shown); }
    rezoom();
    return M.shown;
  };
  window.dash_clientside = Object.assign({}, window.dash_clientside);
  window.dash_clientside.descentlab = {
    // the iterate slider moved (keyboard, drag, the server): move the views, no server request
    scrub: function (t, motion, key) {
      const nu = window.dash_clientside.no_update;
      if (!motion || motion.key !== key || typeof t !== 'number') return [nu, nu];
      M.load(motion);
      M.show(t);
      const at = Math.max(0, Math.min(t, motion.last));
      return [M.label(at), motion.summary[at].map(
        line => ({type: 'Li', namespace: 'dash_html_components', props: {children: line}}))];
    },
    // play / pause; on pause the slider takes the iterate shown
    play: function (clicks, t, motion, key) {
      const nu = window.dash_clientside.no_update;
      if (!motion || motion.key !== key) return [nu, nu];
      M.load(motion);
      if (M.playing) { const at = M.pause(); return ['▶ play', at]; }
      M.play(typeof t === 'number' ? t : motion.last);
      return ['❚❚ pause', nu];
    },
  };
})();
"""
"""The page's side (installed after Dash's scripts): ``window.descentlabMotion`` and the clientside
callbacks ``dash_clientside.descentlab.scrub`` and ``.play``. ``descentlabMotion.times`` holds the
time of each scrub frame (the update's own work plus the rendering of the frame that shows it, in
ms), ``.played`` the frames played, ``.renders`` the 3-D view's redraw times, ``.zooms`` the
look-ahead panel's changes of view (made when the scrubber rests), ``.zoomed`` the iterate whose
view it shows, ``.shown3d`` the iterate the 3-D view's markers show, and ``.rested(t)`` whether both
have caught up with a scrubber resting at t."""
