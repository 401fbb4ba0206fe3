"""The files a user names: reading them (regular files only, size-limited) and checking, before any
work, that an output can be written where it is asked.

A FIFO, a device such as ``/dev/zero`` or a directory is refused before it is opened (reading one
would hang or never end), and so is a file larger than the caller's limit; an output whose folder
is missing or not writable, or that names a directory, is refused before the computation starts
— each in one line that names the user's path.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from descentlab.errors import InputError, escaped
from descentlab.files import same_file


def _size_text(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def regular_file(path: str | Path, what: str, limit: int) -> Path:
    """``path`` if it names a regular file of at most ``limit`` bytes; else :class:`InputError`
    (``what``: e.g. ``"--config"``, how the message names the path)."""
    p = Path(path)
    shown = escaped(str(p))
    try:
        info = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"{what} {shown}: no such file") from None
    except OSError as err:
        raise InputError(f"{what} {shown}: cannot read ({err.strerror or err})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{what} {shown}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {shown}: not a regular file (a pipe or a device cannot be read as one)")
    if info.st_size > limit:
        raise InputError(f"{what} {shown}: the file is {_size_text(info.st_size)}; the limit is "
                         f"{_size_text(limit)}")
    return p


def read_text(path: str | Path, what: str, limit: int) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (see :func:`regular_file`); a file
    that grows past the limit while it is read is refused too."""
    p = regular_file(path, what, limit)
    shown = escaped(str(p))
    try:
        with open(p, "rb") as f:
            data = f.read(limit + 1)
    except OSError as err:
        raise InputError(f"{what} {shown}: cannot read ({err.strerror or err})") from None
    if len(data) > limit:
        raise InputError(f"{what} {shown}: the file is larger than the limit of {_size_text(limit)}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{what} {shown}: not UTF-8 text (byte {err.start})") from None


def writable(path: str | Path, what: str) -> Path:
    """``path`` if a file can be written there: its folder exists and is writable, and it is not a
    directory (nor a pipe or a device); else :class:`InputError` naming ``what`` (e.g. ``"--output"``)
    and the path."""
    p = Path(path)
    shown = escaped(str(p))
    folder = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise InputError(f"{what} {shown}: is a directory; give a file name")
    if p.exists() and not p.is_file():
        raise InputError(f"{what} {shown}: not a regular file")
    if not folder.is_dir():
        reason = "not a directory" if folder.exists() else "no such directory"
        raise InputError(f"{what} {shown}: {escaped(str(folder))}: {reason}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{what} {shown}: the folder {escaped(str(folder))} is not writable")
    return p


def never_overwrite(inputs: list[tuple[str, Path]], flag: str, *outputs: Path) -> None:
    """Refuse to write an output onto a file the command reads (never overwrite the user's input):
    ``inputs`` are (what it is, its path), e.g. ``("the data file (--data)", Path("d.csv"))``."""
    for out in outputs:
        for what, path in inputs:
            if same_file(out, path):
                raise InputError(f"{flag} {escaped(str(out))}: that is {what}; refusing to overwrite a file "
                                 "this command reads (write the output somewhere else)")


__all__ = ["never_overwrite", "read_text", "regular_file", "writable"]
