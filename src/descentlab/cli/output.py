"""What the commands print: the tables of runs, the data line and the one-line notes."""

from __future__ import annotations

import logging

import numpy as np
import typer

from descentlab.errors import one_line


def _summary(problem, trajs) -> str:
    """One line per optimizer: final loss, gap to the minimum, how it ended (``Trajectory.status``:
    ok, diverged / unbounded below at step k, or a period-2 cycle)."""
    from descentlab.plot.figure import batch_text

    floor = problem.min_loss
    batches = any(t.batches is not None for t in trajs)  # then each run's batch size is a column
    rows = [["optimizer", "steps", "final loss"] + (["L − L_min"] if floor is not None else [])
            + (["batch"] if batches else []) + ["status"]]
    for t in trajs:
        gap = [f"{t.losses[-1] - floor:.3g}"] if floor is not None else []
        batch = [batch_text(t, problem.n_examples)] if batches else []
        rows.append([t.label, str(t.steps), f"{t.losses[-1]:.6g}", *gap, *batch, t.status])
    return _columns(rows)


def _columns(rows: list[list[str]]) -> str:
    """Rows of cells as left-aligned text columns."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _table(problem, traj, rows: int) -> str:
    """The trajectory as an aligned text table of about ``rows`` evenly spaced steps."""
    n = len(traj.params)
    shown = np.unique(np.linspace(0, n - 1, min(rows, n)).round().astype(int))
    names = list(traj.param_names)
    head = ["step", "loss", *names, "|grad|"]
    body = []
    for t in shown:
        g = f"{np.linalg.norm(traj.grads[t]):.4g}" if t < traj.steps else ""
        body.append([str(t), f"{traj.losses[t]:.6g}", *(f"{v:.6g}" for v in traj.params[t]), g])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    batch = f", batch size {traj.batch_size}" if traj.batch_size else ""
    lines = [f"{traj.label} on {problem.name}{batch}"]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *body]]
    if len(problem.minima):
        d = np.min(np.linalg.norm(problem.minima - traj.final, axis=1))
        lines.append(f"distance from φ_{traj.steps} to the nearest known minimum: {d:.3g}")
    return "\n".join(lines)


class _DataLine(logging.Handler):
    """Collects the line a data file's reading logs (the file, its separator, its rows and the
    columns taken as x and y: ``descentlab.problems.data.read_csv``), printed on stderr once per
    command when it succeeds — a failing command prints its error line alone."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = one_line(record.getMessage())
        if message not in self.lines:
            self.lines.append(message)

    def flush_to_stderr(self) -> None:
        for line in self.lines:
            typer.echo(line, err=True)
        self.lines.clear()


_DATA_LINE = _DataLine()


def _echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """``typer.echo``, after the data line (once the command has got as far as saying something)."""
    _DATA_LINE.flush_to_stderr()
    typer.echo(message, err=err, nl=nl)
