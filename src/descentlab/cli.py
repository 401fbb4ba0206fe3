"""The ``descentlab`` command: a thin shell over the library.

    descentlab figure -o fig.png
    descentlab run --problem rosenbrock --optimizer nesterov --lr 1e-3 --beta 0.9 --steps 500 --save run.csv

Heavy imports (matplotlib) happen inside the commands, so ``descentlab --help`` stays fast.
Bad input prints one line, ``descentlab <command>: error: ...``, and exits with status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from descentlab import optimizers, validation
from descentlab.problems import NAMES as PROBLEM_NAMES

app = typer.Typer(
    name="descentlab", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Gradient descent, momentum and Nesterov momentum exactly as 'Understanding Deep Learning' "
         "(ch. 6) writes them: run them, record them, draw Figure 6.1.",
)


class UsageError(ValueError):
    """A bad command line (reported in one line, exit status 2)."""


# ---- options shared by the commands ------------------------------------------------------------

ProblemOpt = Annotated[str, typer.Option(
    "--problem", "-p", help=f"Built-in problem: {', '.join(PROBLEM_NAMES)}. "
    "With --data: the model to fit to the data (line-fit or gabor).")]
DataOpt = Annotated[Path | None, typer.Option(
    "--data", help="CSV file of x, y data to fit (default: the problem's built-in data).")]
XOpt = Annotated[str | None, typer.Option("--x", help="Column of --data used as x (default: first numeric).")]
YOpt = Annotated[str | None, typer.Option("--y", help="Column of --data used as y (default: 2nd numeric).")]
KappaOpt = Annotated[float | None, typer.Option(
    "--kappa", help="Condition number κ ≥ 1 (quadratic only; default 10).")]
AngleOpt = Annotated[float | None, typer.Option(
    "--angle", help="Rotation of the quadratic's axes in degrees (quadratic only; default 30).")]
OptimizerOpt = Annotated[str, typer.Option(
    "--optimizer", "-O", help=f"Update rule: {', '.join(optimizers.OPTIMIZERS)}.")]
LrOpt = Annotated[float | None, typer.Option(
    "--lr", help="Learning rate α > 0 (default: suggested for the problem and optimizer).")]
BetaOpt = Annotated[float | None, typer.Option(
    "--beta", help="Momentum β in [0, 1) for momentum, nesterov and adam "
    "(default: suggested for the problem; adam 0.9).")]
GammaOpt = Annotated[float | None, typer.Option(
    "--gamma", help="Adam's second-moment factor γ in [0, 1) (default 0.999).")]
EpsOpt = Annotated[float | None, typer.Option("--eps", help="Adam's ε > 0 (default 1e-8).")]
StepsOpt = Annotated[int | None, typer.Option(
    "--steps", "-n", help="Number of updates T ≥ 0 (default: suggested for the problem).")]
StartOpt = Annotated[str | None, typer.Option(
    "--start", help="Start point φ_0 as comma-separated numbers, e.g. 1.6,-0.5 "
    "(default: suggested for the problem).")]
BatchOpt = Annotated[int | None, typer.Option(
    "--batch-size", "-b", help="Minibatch size 1..N for data problems (default: all N, "
    "except sgd, which draws 3 examples per step).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the minibatch draw (same seed, same run).")]

SGD_BATCH = 3


def _parse_start(text: str | None, n_params: int) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise UsageError(f"--start must be {n_params} comma-separated numbers, got {text!r}") from None
    if len(values) != n_params:
        raise UsageError(f"--start needs {n_params} numbers (one per parameter), got {text!r}")
    return values


def _problem(problem: str, data: Path | None, x: str | None, y: str | None,
             kappa: float | None, angle: float | None):
    from descentlab import datasets, problems

    quad = {k: v for k, v in (("kappa", kappa), ("angle", angle)) if v is not None}
    if quad and problem != "quadratic":
        raise UsageError(f"--{next(iter(quad))} applies to --problem quadratic only")
    if data is not None:
        return datasets.from_csv(data, model=problem, x=x, y=y)
    if x is not None or y is not None:
        raise UsageError("--x and --y choose columns of --data; give --data FILE too")
    return problems.by_name(problem, **quad)


def _optimizer(name: str, problem, lr, beta, gamma, eps) -> optimizers.Optimizer:
    given = {"lr": lr, "beta": beta, "gamma": gamma, "eps": eps}
    takes = optimizers.hyperparameter_names(name)
    for key, value in given.items():
        if value is not None and key not in takes:
            flags = ", ".join("--" + k for k in takes)
            raise UsageError(f"--{key} does not apply to {name} (it takes {flags})")
    hyper = {"lr": problem.suggested.lr_for(name) if lr is None else lr}
    if "beta" in takes:
        hyper["beta"] = beta if beta is not None else (0.9 if name == "adam" else problem.suggested.beta)
    hyper |= {k: v for k, v in (("gamma", gamma), ("eps", eps)) if v is not None}
    return optimizers.make(name, **hyper)


def _batch_size(name: str, problem, batch_size: int | None) -> int | None:
    n = problem.n_examples
    if batch_size is not None:
        if n is None:
            raise UsageError(f"--batch-size applies to data problems; {problem.name!r} has no data")
        return validation.integer("--batch-size", batch_size, 1, n)
    if name == "sgd" and n is not None:
        return min(SGD_BATCH, n)
    return None


def _setup(problem, data, x, y, kappa, angle, optimizer, lr, beta, gamma, eps, steps, start,
           batch_size, seed):
    """Problem, optimizer and a finished run from the command-line options."""
    from descentlab.run import run

    prob = _problem(problem, data, x, y, kappa, angle)
    opt = _optimizer(optimizer, prob, lr, beta, gamma, eps)
    traj = run(opt, prob, _parse_start(start, prob.n_params), steps,
               batch_size=_batch_size(optimizer, prob, batch_size), seed=seed)
    return prob, traj


def _diverged_note(traj) -> None:
    if traj.diverged_at is not None:
        typer.echo(f"note: diverged at step {traj.diverged_at} (try a smaller --lr); "
                   f"showing the {traj.steps} finite steps before it", err=True)


@app.command(help=(
    "Draw the book's Figure 6.1: (a) the data, (b) the 3-D loss surface with the path, (c) the contour "
    "map with the iterates numbered 0, 1, 2, …, (d) the data with the model line of every iterate. "
    "Surfaces without data (rosenbrock, …) get the 3-D surface, the contours and the loss per step."))
def figure(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file; the suffix picks the format "
                                         "(.png, .svg, .pdf).")] = Path("figure-6-1.png"),
    problem: ProblemOpt = "line-fit", data: DataOpt = None, x: XOpt = None, y: YOpt = None,
    kappa: KappaOpt = None, angle: AngleOpt = None,
    optimizer: OptimizerOpt = "nesterov", lr: LrOpt = None, beta: BetaOpt = None,
    gamma: GammaOpt = None, eps: EpsOpt = None, steps: StepsOpt = None, start: StartOpt = None,
    batch_size: BatchOpt = None, seed: SeedOpt = 0,
    levels: Annotated[str, typer.Option("--levels", help="Contour levels: auto, linear (quadratic "
                                        "spacing, for bowls) or log (for steep surfaces).")] = "auto",
    resolution: Annotated[int, typer.Option("--resolution", help="Grid points per axis of the surface "
                                            "(2..2000).")] = 150,
    labels: Annotated[int, typer.Option("--labels", help="At most this many iterates are numbered "
                                        "on the contour map.")] = 12,
) -> None:
    """Draw Figure 6.1 for a problem and an optimizer run."""
    from descentlab import plot

    if Path(output).suffix.lower().lstrip(".") not in plot.FORMATS:
        raise UsageError(f"--output {str(output)!r}: use a .png, .svg or .pdf suffix")
    if levels not in ("auto", "linear", "log"):
        raise UsageError(f"--levels must be auto, linear or log, got {levels!r}")
    validation.integer("--labels", labels, 2)
    prob, traj = _setup(problem, data, x, y, kappa, angle, optimizer, lr, beta, gamma, eps, steps,
                        start, batch_size, seed)
    if prob.n_params != 2:
        raise UsageError(f"figure draws 2-parameter problems; {prob.name!r} has {prob.n_params}")
    fig = plot.figure_6_1(prob, traj, log_levels=None if levels == "auto" else levels == "log",
                          resolution=resolution, max_labels=labels)
    plot.save(fig, output)
    _diverged_note(traj)
    typer.echo(f"wrote {output}: {traj!r}")


@app.command("run")
def run_command(
    problem: ProblemOpt = "line-fit", data: DataOpt = None, x: XOpt = None, y: YOpt = None,
    kappa: KappaOpt = None, angle: AngleOpt = None,
    optimizer: OptimizerOpt = "nesterov", lr: LrOpt = None, beta: BetaOpt = None,
    gamma: GammaOpt = None, eps: EpsOpt = None, steps: StepsOpt = None, start: StartOpt = None,
    batch_size: BatchOpt = None, seed: SeedOpt = 0,
    save: Annotated[Path | None, typer.Option("--save", help="Also write the whole trajectory to a .csv "
                                              "or .json file (loads back with Trajectory.from_csv/json).")]
    = None,
    rows: Annotated[int, typer.Option("--rows", help="Rows of the printed table (even steps).")] = 12,
) -> None:
    """Run one optimizer and print a compact table of its steps (loss, φ_t, |gradient|)."""
    if save is not None and save.suffix.lower() not in (".csv", ".json"):
        raise UsageError(f"--save {str(save)!r}: use a .csv or .json suffix")
    validation.integer("--rows", rows, 2)
    prob, traj = _setup(problem, data, x, y, kappa, angle, optimizer, lr, beta, gamma, eps, steps,
                        start, batch_size, seed)
    typer.echo(_table(prob, traj, rows))
    if save is not None:
        (traj.to_csv if save.suffix.lower() == ".csv" else traj.to_json)(save)
        typer.echo(f"saved {save}")
    _diverged_note(traj)


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


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning bad input into one line on stderr and exit status 2."""
    from descentlab.datasets import DataError

    args = sys.argv[1:] if argv is None else argv
    command = typer.main.get_command(app)
    sub = next((a for a in args if not a.startswith("-")), None)
    prog = f"descentlab {sub}" if sub in getattr(command, "commands", {}) else "descentlab"
    try:
        result = command.main(args=args, prog_name="descentlab", standalone_mode=False)
    except typer.TyperException as err:  # click's usage errors: unknown option, bad type, …
        message = err.format_message() if hasattr(err, "format_message") else str(err)
        if not args:  # bare `descentlab` printed its help
            return 0
        typer.echo(f"{prog}: error: {message}", err=True)
        return getattr(err, "exit_code", 2)
    except (UsageError, DataError, ValueError, TypeError) as err:
        typer.echo(f"{prog}: error: {err}", err=True)
        return 2
    except OSError as err:
        typer.echo(f"{prog}: error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), err=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
