"""A one-line terminal progress bar that stays silent when its stream is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

WIDTH = 30  # characters of the bar itself


def progress_bar(total: int | None, label: str,
                 stream: TextIO | None = None) -> Callable[[int, int | None], None]:
    """A callable ``update(done, total=None)`` that redraws ``label [#####     ]  12/120`` in place.

    The bar is redrawn on one line with ``\\r`` and ends with a newline once ``done`` reaches the
    total. The total given to a call takes precedence over ``total`` given here (None: not yet
    known). When ``stream`` (default ``sys.stderr``) is not a terminal — piped or redirected —
    the callable writes nothing at all, so logs stay clean.
    """
    out = sys.stderr if stream is None else stream
    if not out.isatty():
        return lambda done, total=None: None
    expected = total

    def update(done: int, total: int | None = None) -> None:
        of = expected if total is None else total
        out.write("\r" + _line(label, done, of))
        if of is not None and done >= of:
            out.write("\n")
        out.flush()

    return update


def _line(label: str, done: int, total: int | None) -> str:
    if not total:
        return f"{label} {done}"
    filled = min(WIDTH, WIDTH * done // total)
    width = len(str(total))
    return f"{label} [{'#' * filled}{' ' * (WIDTH - filled)}] {done:>{width}}/{total}"
