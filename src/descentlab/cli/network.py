"""``descentlab landscape``: Figure 6.1 and the sharpness of a real PyTorch network's training.

The model is the user's own code, imported from a ``module:factory`` spec as uvicorn and gunicorn
do; everything heavy (torch, Dask, matplotlib) is imported inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from descentlab.cli.options import UsageError, _check_output, app
from descentlab.cli.output import _columns, _echo

FORMATS = ("png", "svg", "pdf")


@app.command(help=(
    "Figure 6.1 for a PyTorch network: train it with the book's momentum and Nesterov from one start, "
    "then draw (a) the data and the final model, (b) the loss over a plane through the last iterate "
    "with the projected paths, (c) its contours with the iterates numbered, (d) the model of each "
    "iterate. The plane is spanned by the trajectory's two principal directions (--directions pca) or "
    "two filter-normalised random directions (filter). --sharpness also draws the top Hessian "
    "eigenvalue along training against each optimiser's stability limit (edge of stability). "
    "--model imports YOUR code: a factory taking no arguments and returning (model, loss_fn)."))
def landscape(
    model: Annotated[str, typer.Option(
        "--model", help="module:factory, e.g. mypkg.models:make_mlp (the current directory is on the "
        "import path). The factory returns (torch.nn.Module, loss_fn(prediction, target)). This runs "
        "your code.")],
    data: Annotated[str, typer.Option(
        "--data", help="A built-in data set (digits: scikit-learn's bundled 8×8 digits) or a CSV whose "
        "last numeric column is the target and the others the inputs (x,y for a 1-D regression).")
    ] = "digits",
    output: Annotated[Path, typer.Option("--output", "-o", help="Output figure (.png, .svg, .pdf).")
                      ] = Path("landscape.png"),
    optimizers: Annotated[str, typer.Option(
        "--optimizers", help="Comma-separated book rules from gd, momentum, nesterov; every run starts "
        "from the same initial network.")] = "momentum,nesterov",
    steps: Annotated[int, typer.Option("--steps", help="Training steps of each run.", min=1)] = 300,
    lr: Annotated[float | None, typer.Option(
        "--lr", help="The book's α (default: derived from the curvature at the start, "
        "0.5/λ_max of the loss's Hessian).")] = None,
    beta: Annotated[float, typer.Option("--beta", help="The book's β (momentum and Nesterov).")] = 0.9,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", help="Minibatch size (default: all the data, full-batch descent).", min=1)] = None,
    every: Annotated[int | None, typer.Option(
        "--every", help="Keep a snapshot every k steps (default: about 100 snapshots per run).",
        min=1)] = None,
    directions: Annotated[str, typer.Option(
        "--directions", help="pca (Li et al. 2018 §5) or filter (filter-normalised random, §4).")] = "pca",
    resolution: Annotated[int, typer.Option("--resolution", help="Grid points per axis.", min=3)] = 41,
    seed: Annotated[int, typer.Option("--seed", help="Seed of minibatches and random directions.")] = 0,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="Evaluate the grid on a local Dask cluster of this many processes "
        "(127.0.0.1 only).", min=1)] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Evaluate the grid on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 "
        "(dask-jobqueue, dask-kubernetes, …).")] = None,
    sharpness: Annotated[bool, typer.Option(
        "--sharpness", help="Also draw the top Hessian eigenvalue along training against each "
        "optimiser's stability limit, into OUTPUT's name + '-sharpness'.")] = False,
    save: Annotated[Path | None, typer.Option(
        "--save", help="Save the recorded runs into this run directory (one folder per optimiser).")
    ] = None,
    saved: Annotated[Path | None, typer.Option(
        "--from", help="Draw runs recorded before (--save) instead of training; --model and --data "
        "must be the ones they were trained with.")] = None,
) -> None:
    """Train, cut the plane, evaluate and draw a network's Figure 6.1."""
    if workers is not None and scheduler is not None:
        raise UsageError("give --workers or --scheduler, not both")
    if saved is not None and save is not None:
        raise UsageError("--from draws saved runs: give it without --save")
    if directions not in ("pca", "filter"):
        raise UsageError(f"--directions {directions!r}: use pca or filter")
    _check_output(output, FORMATS)
    side = output.with_name(f"{output.stem}-sharpness{output.suffix}")
    if sharpness:
        _check_output(side, FORMATS)

    from descentlab.networks import data as data_
    from descentlab.networks import factory, params, record, runs_dir
    from descentlab.networks import pipeline as land
    from descentlab.networks import sharpness as sharp
    from descentlab.networks.figure import draw_landscape, draw_sharpness

    net, loss_fn = factory.load_factory(model)
    table = data_.load_data(data)
    if saved is not None:
        runs = runs_dir.load(saved)
        runs_dir.check_model(runs, net, saved)
    else:
        names = optimizers.split(",")
        every = every or max(1, steps // 100)
        record.check_record(steps, every, params.size(net), runs=len(names), cli=True)
        runs = land.train_all(net, loss_fn, table, land.settings(names, lr, beta), steps=steps,
                              every=every, batch_size=batch_size, seed=seed)
        if save is not None:
            runs_dir.save(runs, save)
            _echo(f"saved {len(runs)} runs to {save}")
    plane = land.plane_for(runs, net, directions, seed=seed)
    result = land.evaluate(net, loss_fn, table, runs, plane, resolution=resolution, workers=workers,
                           scheduler=scheduler)
    draw_landscape(result, output)
    _echo(_columns(land.summary_rows(result)))
    _echo(f"wrote {output}")
    if sharpness:
        values = [sharp.along(r, net, loss_fn, table.x, table.y) for r in runs]
        draw_sharpness(runs, values, [sharp.limit(r) for r in runs], side)
        _echo(_columns(land.sharpness_rows(runs, values)))
        _echo(f"wrote {side}")
