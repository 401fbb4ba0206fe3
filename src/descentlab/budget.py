"""Budgets stated up front: the work and memory a request needs, estimated before anything starts.

Each ``check_*`` function estimates what a run, sweep, tuning, contour grid or animation would cost
from its sizes alone — before a single array is allocated — and raises
:class:`~descentlab.errors.InputError` with one line naming the estimate, the limit and what to
change, e.g.::

    steps 1,000,000,000,000 × 4 optimizers × 2 parameters would record ≈ 320 TiB; the limit is
    64 MiB of record (at most 190,649 steps here): lower steps or run fewer optimizers

The limits below are chosen so that anything under them finishes in about two minutes or less on
one core of a small machine (a progress bar shows anything longer than ~2 s, see
:func:`needs_progress`) and stays well under 1 GB of memory, exports and figures included. The
functions take ``cli=True`` to name the command line's options (``--steps``) instead of the
library's arguments (``steps``).
"""

from __future__ import annotations

import math

from descentlab.errors import InputError, one_line

# ---- the limits --------------------------------------------------------------------------------

MAX_STEPS = 1_000_000
"""Steps of one run (and per sweep configuration or tuning trial): ~20 s per optimizer at ~20 µs a
step, and far more iterates than a figure has pixels."""

MAX_RECORD_BYTES = 64 * 2**20
"""Memory of all the runs' records together (φ, look-ahead point, gradient, loss and every buffer at
each step, float64, and the minibatch indices): a run and its CSV export (≈ 4× the record at the
peak: measured 155 MB for 41 MB) stay well under 1 GB; drawing and JSON get
:data:`MAX_DRAWN_BYTES`."""

MAX_DRAWN_BYTES = 12 * 2**20
"""Memory of the records a command draws (figure, compare, animate, html, rates) or saves as JSON:
those cost 15–50 times the record at their peak (measured: the HTML page of 4 runs × 50,000 steps,
14 MB of record, peaked at 805 MB; JSON ≈ 15×), so they get this smaller limit to stay under 1 GB."""

MAX_RUN_WORK = 4_000_000
"""Steps summed over the optimizers of one command (a line-search step counts
:data:`LINE_SEARCH_COST`): ~80 s at ~20 µs a step."""

LINE_SEARCH_COST = 35
"""A line-search step (a method that ``needs_loss``) evaluates the loss many times: measured ≈ 35
plain steps on the line fit."""

MAX_CONFIGS = 4_000_000
"""Sweep configurations × seeds (one sweep axis alone too; and tuning trials × seeds): the grid's
columns and the result arrays take ≈ :data:`SWEEP_BYTES_PER_CONFIG` each, ≈ 0.5 GB at the limit."""

SWEEP_BYTES_PER_CONFIG = 128
"""Memory per sweep configuration: a float64 column per axis (two), five result arrays and three
integer copies of them, and the checks of the values (measured ≈ 111 bytes at 10⁶ configurations,
the chunk's working memory included)."""

MAX_SWEEP_WORK = 1_000_000_000
"""Configuration-steps of a sweep or tuning (configurations × seeds × steps, × the examples each
gradient reads on a data problem without a closed form): ~100 s at ~100 ns each."""

MAX_RESOLUTION = 2000
"""Grid points per axis of a contour or surface: 4 million points, more than any screen shows."""

MAX_GRID_VALUES = 16_000_000
"""Values of one loss evaluation on a contour grid (resolution² points × the values each point
needs, e.g. one per example for a data model without a closed form): 128 MiB per intermediate
array, so a few intermediates stay under 1 GB."""

MAX_SURFACE_WORK = 500_000_000
"""Example evaluations of one drawn loss surface (grid points × the examples one loss reads): a
Gabor figure of 90 × 90 points on 2·10⁵ rows (1.6·10⁹) took 2 min 20 s on the 2-core development
machine, so this is ~20–40 s; the line fit reads one number per point whatever N (its sufficient
statistics)."""

MAX_FRAMES = 1000
"""Frames of an animation or HTML slider: each is drawn and encoded (~0.1 s a frame), ≈ 2 min."""

MAX_FRAME_PIXELS = 1000 * 960 * 760
"""Pixels of all the frames together (1,000 frames at the default 960×760): what encoding costs."""

PROGRESS_WORK = 100_000
"""Steps of work (as :data:`MAX_RUN_WORK` counts them) above which a run takes ~2 s or more, so a
terminal should show a progress bar."""

BATCH_BYTES_PER_STEP = 120
"""Memory of one step's minibatch besides its indices: the index array's header and its place in
the plan and in the trajectory (measured 112 + 8 bytes)."""

_FLOAT = 8  # bytes of a float64 or an int64


# ---- estimates ---------------------------------------------------------------------------------

def record_bytes(steps: int, n_params: int, n_buffers: int = 2) -> int:
    """Bytes one run of ``steps`` steps records, as :func:`descentlab.run` stores it: φ_t and every
    buffer (``n_buffers`` of ``n_params`` values) for t = 0..T, L[φ_t] for t = 0..T, and the
    look-ahead point and gradient of each of the T steps, all float64."""
    rows = steps + 1
    return _FLOAT * (rows * (n_params * (1 + n_buffers) + 1) + steps * 2 * n_params)


def batch_bytes(steps: int, batch_size: int | None) -> int:
    """Bytes of one minibatch plan of ``steps`` steps (0 without minibatches)."""
    return 0 if batch_size is None else steps * (BATCH_BYTES_PER_STEP + _FLOAT * batch_size)


def run_work(steps: int, n_optimizers: int = 1, line_searches: int = 0) -> int:
    """Steps of work of ``n_optimizers`` runs of ``steps`` steps, ``line_searches`` of them line
    searches (each of their steps counts :data:`LINE_SEARCH_COST`)."""
    return steps * (n_optimizers + (LINE_SEARCH_COST - 1) * line_searches)


def needs_progress(steps: int, n_optimizers: int = 1, line_searches: int = 0) -> bool:
    """Whether runs of this size take ~2 s or more (:data:`PROGRESS_WORK`): worth a progress bar."""
    return run_work(steps, n_optimizers, line_searches) > PROGRESS_WORK


def chunk_rows(values_per_row: int) -> int:
    """Rows (configurations, grid points) to evaluate at once so that one intermediate array of
    ``values_per_row`` values a row stays within :data:`MAX_GRID_VALUES` (at least one row)."""
    return max(1, MAX_GRID_VALUES // max(values_per_row, 1))


# ---- checks ------------------------------------------------------------------------------------

def check_run(steps: int, n_optimizers: int = 1, n_params: int = 2, n_buffers: int = 2, *,
              batch_sizes=(), line_searches: int = 0, drawn: bool = False, cli: bool = False) -> None:
    """Refuse runs whose record would exceed :data:`MAX_RECORD_BYTES` (:data:`MAX_DRAWN_BYTES`
    when ``drawn``), whose work would exceed :data:`MAX_RUN_WORK` or whose steps exceed
    :data:`MAX_STEPS`.

    Args:
        steps: steps of every run.
        n_optimizers: runs of that length (one per optimizer).
        n_params: parameters P of the problem.
        n_buffers: buffers of P values each run records per step (the most any optimizer keeps:
            Adam's two).
        batch_sizes: the distinct minibatch sizes drawn (one plan each; none: all the data).
        line_searches: how many of the optimizers are line searches (slow steps).
        drawn: the runs will be drawn (figure, compare, animate, html, rates) or saved as JSON.
        cli: name ``--steps`` instead of ``steps``.
    """
    limit = MAX_DRAWN_BYTES if drawn else MAX_RECORD_BYTES
    name = _name("steps", cli)
    sizes = [b for b in batch_sizes if b is not None]
    record = n_optimizers * record_bytes(steps, n_params, n_buffers) + \
        sum(batch_bytes(steps, b) for b in sizes)
    work = run_work(steps, n_optimizers, line_searches)
    per_step = max(record_bytes(1, n_params, n_buffers) - record_bytes(0, n_params, n_buffers), 1)
    per_step = n_optimizers * per_step + sum(batch_bytes(1, b) for b in sizes)
    fixed = n_optimizers * record_bytes(0, n_params, n_buffers)
    most = max(0, min(MAX_STEPS, MAX_RUN_WORK // max(run_work(1, n_optimizers, line_searches), 1),
                      (limit - fixed) // per_step))
    what = f"{name} {_count(steps)} × {_plural(n_optimizers, 'optimizer')} × {_plural(n_params, 'parameter')}"
    advice = f"lower {name}" + (" or run fewer optimizers" if n_optimizers > 1 else "")
    if record > limit:
        kind = "of record to draw or save as JSON" if drawn else "of record"
        _refuse(f"{what} would record ≈ {_bytes(record)}; the limit is {_bytes(limit)} {kind} "
                f"(at most {_count(most)} steps here): {advice}")
    if work > MAX_RUN_WORK:
        slow = f" ({_plural(line_searches, 'line search')} counting {LINE_SEARCH_COST} each)" \
            if line_searches else ""
        _refuse(f"{what} is {_count(work)} steps of work{slow}; the limit is {_count(MAX_RUN_WORK)} "
                f"(at most {_count(most)} steps here): {advice}")
    if steps > MAX_STEPS:
        _refuse(f"{name} {_count(steps)} is more than the limit of {_count(MAX_STEPS)} steps per run: "
                f"{advice}")


def check_batches(steps: int, batch_size: int | None, *, cli: bool = False) -> None:
    """Refuse a minibatch plan of ``steps`` batches of ``batch_size`` indices beyond
    :data:`MAX_STEPS` or :data:`MAX_RECORD_BYTES` (None: no minibatches, nothing to check)."""
    if batch_size is None:
        return
    name = _name("steps", cli)
    plan = batch_bytes(steps, batch_size)
    if plan > MAX_RECORD_BYTES:
        most = MAX_RECORD_BYTES // batch_bytes(1, batch_size)
        _refuse(f"{name} {_count(steps)} minibatches of {_count(batch_size)} examples would take ≈ "
                f"{_bytes(plan)}; the limit is {_bytes(MAX_RECORD_BYTES)} (at most {_count(most)} steps "
                f"here): lower {name} or the batch size")
    if steps > MAX_STEPS:
        _refuse(f"{name} {_count(steps)} is more than the limit of {_count(MAX_STEPS)} steps: lower {name}")


def check_axis(count: int, text: str = "", *, cli: bool = False) -> None:
    """Refuse a sweep axis of more than :data:`MAX_CONFIGS` values (before it is built)."""
    if count > MAX_CONFIGS:
        part = text if len(text) <= 200 else f"{text[:100]} … {text[-40:]}"  # never copy all of it
        shown = f" in {one_line(repr(part), 80)}" if text else ""
        _refuse(f"a range of {_count(count)} values{shown} would take ≈ {_bytes(count * _FLOAT)}; the "
                f"limit is {_count(MAX_CONFIGS)} configurations: lower its COUNT")


def check_sweep(n_configs: int, steps: int, n_params: int = 2, *, examples: int = 1,
                batch_size: int | None = None, line_search: bool = False, cli: bool = False) -> None:
    """Refuse a sweep of ``n_configs`` configurations (axes multiplied, × seeds) of ``steps``
    steps beyond :data:`MAX_CONFIGS`, :data:`MAX_STEPS`, :data:`MAX_SWEEP_WORK` (``examples``:
    the examples each gradient reads on a data problem without a closed form; a line search's
    steps count :data:`LINE_SEARCH_COST`) or, for the minibatch plan of ``batch_size``,
    :data:`MAX_RECORD_BYTES`. Checked from the sizes alone, before any grid is built.
    ``n_params`` is the problem's P (kept for callers; the results do not depend on it)."""
    steps_name, seeds_name = _name("steps", cli), _name("seeds", cli)
    if n_configs > MAX_CONFIGS:
        _refuse(f"{_count(n_configs)} configurations is too many (results alone ≈ "
                f"{_bytes(n_configs * SWEEP_BYTES_PER_CONFIG)}); the limit is {_count(MAX_CONFIGS)}: use "
                f"fewer points or {seeds_name}")
    if steps > MAX_STEPS:
        _refuse(f"{steps_name} {_count(steps)} is more than the limit of {_count(MAX_STEPS)} steps per "
                f"configuration: lower {steps_name}")
    cost = max(examples, 1) * (LINE_SEARCH_COST if line_search else 1)
    work = n_configs * steps * cost
    if work > MAX_SWEEP_WORK:
        per = (f" × {_plural(examples, 'example')}" if examples > 1 else "") + \
            (f" × {LINE_SEARCH_COST} (a line search)" if line_search else "")
        _refuse(f"{_plural(n_configs, 'configuration')} × {steps_name} {_count(steps)}{per} is "
                f"{_count(work)} configuration-steps; the limit is {_count(MAX_SWEEP_WORK)} "
                f"(≈ 100 s): lower {steps_name} or use fewer points")
    check_batches(steps, batch_size, cli=cli)


def check_tune(trials: int, budget: int, seeds: int, n_optimizers: int = 1, n_params: int = 2, *,
               examples: int = 1, batch_size: int | None = None, line_searches: int = 0,
               cli: bool = False) -> None:
    """Refuse a tuning beyond the sweep limits (every optimizer sweeps ``trials`` configurations
    for each of ``seeds`` seeds: trials × seeds ≤ :data:`MAX_CONFIGS`, and
    trials × seeds × optimizers × budget ≤ :data:`MAX_SWEEP_WORK`, × ``examples`` as for
    :func:`check_sweep`, a line search counting :data:`LINE_SEARCH_COST` optimizers) or whose best
    runs (one per optimizer and seed, ``budget`` steps) would record more than
    :data:`MAX_RECORD_BYTES`. Checked before anything is sampled."""
    trials_name, budget_name, seeds_name = (_name(n, cli) for n in ("trials", "budget", "seeds"))
    configs = trials * seeds
    if configs > MAX_CONFIGS:
        _refuse(f"{trials_name} {_count(trials)} × {seeds_name} {_count(seeds)} is {_count(configs)} "
                f"configurations per optimizer (≈ {_bytes(configs * SWEEP_BYTES_PER_CONFIG)}); the limit is "
                f"{_count(MAX_CONFIGS)}: lower {trials_name} or {seeds_name}")
    if budget > MAX_STEPS:
        _refuse(f"{budget_name} {_count(budget)} is more than the limit of {_count(MAX_STEPS)} steps per "
                f"trial: lower {budget_name}")
    work = configs * run_work(budget, n_optimizers, line_searches) * max(examples, 1)
    if work > MAX_SWEEP_WORK:
        _refuse(f"{trials_name} {_count(trials)} × {seeds_name} {_count(seeds)} × "
                f"{_plural(n_optimizers, 'optimizer')} × {budget_name} {_count(budget)} is {_count(work)} "
                f"configuration-steps; the limit is {_count(MAX_SWEEP_WORK)} (≈ 100 s): lower "
                f"{trials_name}, {seeds_name} or {budget_name}")
    runs = n_optimizers * seeds
    record = runs * record_bytes(budget, n_params) + batch_bytes(budget, batch_size)
    if record > MAX_RECORD_BYTES:
        _refuse(f"the best runs ({_plural(runs, 'run')} of {budget_name} {_count(budget)} steps × "
                f"{_plural(n_params, 'parameter')}) would record ≈ {_bytes(record)}; the limit is "
                f"{_bytes(MAX_RECORD_BYTES)} of record: lower {budget_name} or {seeds_name}")


def check_grid(resolution: int, values_per_point: int = 1, *, cli: bool = False) -> None:
    """Refuse a contour/surface grid finer than :data:`MAX_RESOLUTION` or whose one loss evaluation
    (resolution² points × ``values_per_point``) exceeds :data:`MAX_GRID_VALUES`."""
    name = _name("resolution", cli)
    if resolution > MAX_RESOLUTION:
        _refuse(f"{name} {_count(resolution)} is {_count(resolution * resolution)} grid points; the limit is "
                f"{_count(MAX_RESOLUTION)} per axis: lower {name}")
    values = resolution * resolution * max(values_per_point, 1)
    if values > MAX_GRID_VALUES:
        most = math.isqrt(MAX_GRID_VALUES // max(values_per_point, 1))
        _refuse(f"{name} {_count(resolution)} × {_count(resolution)} points × {_count(values_per_point)} "
                f"values each would evaluate ≈ {_bytes(values * _FLOAT)} at once; the limit is "
                f"{_bytes(MAX_GRID_VALUES * _FLOAT)} (at most {name} {_count(most)} here): lower {name}")


def check_surface(resolution: int, examples: int, *, cli: bool = False) -> None:
    """Refuse a drawn surface of resolution² points whose loss reads ``examples`` examples each
    beyond :data:`MAX_SURFACE_WORK` (checked before the grid, the framing scan or any contour)."""
    work = resolution * resolution * max(examples, 1)
    if work > MAX_SURFACE_WORK:
        name = _name("resolution", cli)
        most = math.isqrt(MAX_SURFACE_WORK // max(examples, 1))
        _refuse(f"{name} {_count(resolution)} on {_plural(examples, 'example')} is {_count(work)} example "
                f"evaluations for the surface; the limit is {_count(MAX_SURFACE_WORK)} (at most {name} "
                f"{_count(most)} here): lower {name}")


def check_frames(frames: int, pixels: int | None = None, *, cli: bool = False) -> None:
    """Refuse more than :data:`MAX_FRAMES` frames, or more than :data:`MAX_FRAME_PIXELS` pixels in
    all (``pixels``: one frame's width × height)."""
    name = _name("frames", cli)
    if frames > MAX_FRAMES:
        _refuse(f"{name} {_count(frames)} is more than the limit of {_count(MAX_FRAMES)} frames "
                f"(≈ 0.1 s each): lower {name}")
    if pixels is not None and frames * pixels > MAX_FRAME_PIXELS:
        _refuse(f"{name} {_count(frames)} × {_count(pixels)} pixels is {_count(frames * pixels)} pixels to "
                f"draw; the limit is {_count(MAX_FRAME_PIXELS)}: lower {name} or the frame size")


# ---- formatting --------------------------------------------------------------------------------

def _refuse(message: str) -> None:
    raise InputError(one_line(message))


def _name(name: str, cli: bool) -> str:
    return f"--{name}" if cli else name


def _count(n: int) -> str:
    """``1,234,567``; a number of more than 15 digits as ``1.23e+18`` (any size, no digit limit)."""
    n = int(n)
    if abs(n) < 10**15:
        return f"{n:,}"
    m = abs(n)
    exponent = int(math.log10(m))
    exponent += (10 ** (exponent + 1) <= m) - (10**exponent > m)  # float rounding of log10
    lead = m // 10 ** (exponent - 2)  # the three leading digits
    return f"{'-' if n < 0 else ''}{lead / 100:.2f}e+{exponent}"


def _plural(n: int, word: str) -> str:
    plural = word + ("es" if word.endswith("h") else "s")
    return f"{_count(n)} {word if n == 1 else plural}"


def _bytes(n: int) -> str:
    """``64 MiB``, ``2.91 TiB``: binary units, three significant digits (whole above 100)."""
    n = int(n)
    if n < 1024:
        return f"{n} bytes"
    for i, unit in enumerate(("KiB", "MiB", "GiB", "TiB", "PiB"), start=1):
        if n < 1024 ** (i + 1):
            value = n / 1024**i
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{_count(n // 1024**6)} EiB"
