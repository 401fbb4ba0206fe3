"""The ``descentlab`` command: a thin shell over the library.

    descentlab figure -o fig.png
    descentlab figure --optimizer linesearch --steps 4 -o book.png   # the book's own Figure 6.1
    descentlab run --problem rosenbrock --optimizer nesterov --lr 1e-3 --beta 0.9 --steps 500 --save run.csv
    descentlab compare --optimizers gd,momentum,nesterov,adam -o compare.png
    descentlab lookahead -o lookahead.png
    descentlab animate --optimizers momentum,nesterov -o race.gif
    descentlab sweep --optimizer adagrad -o sweep.png
    descentlab convert --from book --to pytorch --lr 0.1 --beta 0.9
    descentlab serve                  # the interactive explorer on http://127.0.0.1:8050
    descentlab html -o explore.html   # the same views in one offline page
    descentlab landscape --model examples.networks:digits_mlp --data digits -o net.png   # a real network

Everything about the optimizers comes from their registry (:mod:`descentlab.optimizers`): the
names ``--optimizer`` accepts, one option per hyper-parameter (``--lr``, ``--beta``, ``--mode``,
… and a plugin's own), the ``--set`` keys, the defaults, which methods ``lookahead`` explains and
what ``sweep`` and ``tune`` search. The other shared options are the fields of
:class:`~descentlab.config.Config`, the configuration keys.

The package: :mod:`~descentlab.cli.options` (the shared options, generated from the configuration
keys and the registry, and their checks), :mod:`~descentlab.cli.draw` (figure, run, compare,
lookahead, animate, convert, html, serve), :mod:`~descentlab.cli.search` (rates, sweep, tune),
:mod:`~descentlab.cli.network` (landscape),
:mod:`~descentlab.cli.output` (what they print), and here :func:`main`, the one error path.
Heavy imports (matplotlib) happen inside the commands, so ``descentlab --help`` stays fast.
Every failure the user can act on prints one line, ``descentlab <command>: error: ...``, and exits
with status 2 (see :func:`main`); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading

import numpy as np
import typer

from descentlab import files
from descentlab.cli import draw, network, search  # noqa: F401  (the commands register themselves on ``app``)
from descentlab.cli.options import _REFRESH, app
from descentlab.cli.output import _DATA_LINE
from descentlab.errors import InputError, one_line

EXIT_INTERRUPTED = 130
"""The exit status after Ctrl+C (128 + SIGINT), as shells report it."""


def _expression_line(err) -> str:
    """An expression error in one line: its summary and the part of the expression around it."""
    if err.span is None or not err.expression:
        return err.summary
    start = err.span[0]
    lo = max(0, start - 30)
    window = err.expression[lo:start + 30]
    more = "…" if start + 30 < len(err.expression) else ""
    return f"{err.summary} (at »{'…' if lo else ''}{window}{more}«)"


def _failure(err: BaseException) -> tuple[str, int] | None:
    """The one line and exit status for a failure the user can act on; None for a bug."""
    from descentlab.problems import ExpressionError

    if isinstance(err, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    if isinstance(err, ExpressionError):
        return _expression_line(err), 2
    if isinstance(err, InputError):
        return str(err), 2
    if isinstance(err, MemoryError):
        return ("out of memory: the request is larger than this machine can hold (lower --steps, "
                "--resolution, the grid or the data)"), 2
    if isinstance(err, RecursionError):
        return "the input is nested too deeply to read", 2
    if isinstance(err, OSError):
        where = f": {err.filename}" if err.filename else ""
        return f"{err.strerror or err}{where}", 2
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning every failure the user can act on into one line on stderr.

    Bad input (an :class:`~descentlab.errors.InputError`: a bad value, file or expression, or a usage
    error of the command line), a request too large for memory, input nested too deeply and an
    operating-system error on a file exit with status 2; Ctrl+C with 130. The line names the
    user's value or path, at most :data:`~descentlab.errors.MESSAGE_LIMIT` characters, control
    characters escaped. numpy's floating-point warnings never reach the terminal (divergence is
    detected and reported by the runs themselves). Anything else is a bug and keeps its traceback.
    """
    import warnings

    data_log = logging.getLogger("descentlab.data")  # every command that reads data says what it read
    _DATA_LINE.lines.clear()
    if _DATA_LINE not in data_log.handlers:
        data_log.addHandler(_DATA_LINE)
        data_log.setLevel(logging.INFO)
        data_log.propagate = False
    for refresh in _REFRESH:  # options for the hyper-parameters of methods registered since import
        refresh()
    args = sys.argv[1:] if argv is None else argv
    command = typer.main.get_command(app)
    sub = next((a for a in args if not a.startswith("-")), None)
    prog = f"descentlab {sub}" if sub in getattr(command, "commands", {}) else "descentlab"
    try:
        with files.cleanup_on_signals(), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            result = command.main(args=args, prog_name="descentlab", standalone_mode=False)
    except files.Terminated as err:  # Ctrl+C, SIGTERM, SIGHUP: the temporary files are already removed
        typer.echo(f"{prog}: error: {err}", err=True)
        return err.exit_status  # 130, 143, 129
    except typer.TyperException as err:  # click's usage errors: unknown option, bad type, …
        message = err.format_message() if hasattr(err, "format_message") else str(err)
        if not args:  # bare `descentlab` printed its help
            return 0
        typer.echo(f"{prog}: error: {one_line(message)}", err=True)
        return getattr(err, "exit_code", 2)
    except BaseException as err:  # sorted by _failure; a bug is re-raised
        if files.received() is not None:  # stopped by a signal that a library turned into another error
            stopped = files.Terminated(files.received())
            typer.echo(f"{prog}: error: {stopped}", err=True)
            return stopped.exit_status
        failure = _failure(err)
        if failure is None:
            raise
        message, status = failure
        typer.echo(f"{prog}: error: {one_line(message)}", err=True)
        return status
    _DATA_LINE.flush_to_stderr()
    return result if isinstance(result, int) else 0


def script() -> None:
    """The ``descentlab`` console script and ``python -m descentlab``: :func:`main`, then a quick exit.

    Once the command is done, the ``atexit`` handlers run (temporary files, loggers, clusters) and
    the output is flushed; then, when no other non-daemon thread is alive, the process ends at once
    rather than tearing the interpreter down object by object (≈ 0.1 s after a figure: every
    matplotlib artist, every typer command, freed one at a time). A thread still running gets
    Python's own exit, which waits for it. :func:`main` itself returns normally (tests call it).
    """
    code = main()
    if any(t is not threading.main_thread() and t.is_alive() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head) or stream: nothing more to say
            pass
    os._exit(code)


__all__ = ["app", "main", "script"]
