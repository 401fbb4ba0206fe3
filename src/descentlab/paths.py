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
import tempfile
from pathlib import Path

from descentlab.errors import InputError, escaped
from descentlab.files import same_file

_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a named pipe (FIFO)",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def size_text(n: int) -> str:
    """A size in bytes as people read it: ``"256 KB"``, ``"188.6 MB"``."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n} bytes"


def read_bytes(path: str | Path, where: str, limit: int, note: str = "") -> bytes:
    """The bytes of the regular file ``path``, of at most ``limit`` bytes. The file is opened
    without blocking and looked at before a byte is read: a directory, a named pipe, a device
    (``/dev/zero``) or a socket is refused at once, never waited on; so is a file too large, or one
    that grows past the limit while it is read. ``where`` names the file in the messages (escaped
    by the caller); ``note`` says what the limit is for (default: the limit itself)."""
    note = note or f"the limit is {size_text(limit)}"
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{where}: not a file but a directory") from None
    except OSError as err:
        raise InputError(f"{where}: cannot read ({err.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise InputError(f"{where}: not a file but {kind}")
        if info.st_size > limit:
            raise InputError(f"{where} is {size_text(info.st_size)}; {note}")
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "rb", closefd=True) as f:
        try:
            data = f.read(limit + 1)
        except OSError as err:
            raise InputError(f"{where}: cannot read ({err.strerror})") from None
    if len(data) > limit:  # it grew while being read
        raise InputError(f"{where} is more than {size_text(limit)}; {note}")
    return data


def read_text(path: str | Path, where: str, limit: int, note: str = "") -> str:
    """The UTF-8 text (a byte-order mark dropped) of a regular file of at most ``limit`` bytes
    (see :func:`read_bytes`, whose ``where`` and ``note`` it takes)."""
    data = read_bytes(path, where, limit, note)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        byte = data[err.start]
        raise InputError(f"{where}: not a UTF-8 text file (byte {err.start + 1:,} is {byte:#04x})") from None


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
    try:  # an unnamed file where the system has them (O_TMPFILE): nothing ever shows in the folder
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise InputError(f"{what} {shown}: cannot write in {escaped(str(folder))} "
                         f"({err.strerror or 'not writable'})") from None
    return p


def never_overwrite(inputs: list[tuple[str, Path]], flag: str, *outputs: Path) -> None:
    """Refuse to write an output onto a file the command reads (never overwrite the user's input):
    ``inputs`` are (what it is, its path), e.g. ``("the data file (--data)", Path("d.csv"))``."""
    for out in outputs:
        for what, path in inputs:
            if same_file(out, path):
                raise InputError(f"{flag} {escaped(str(out))}: that is {what}; refusing to overwrite a file "
                                 "this command reads (write the output somewhere else)")


__all__ = ["never_overwrite", "read_bytes", "read_text", "size_text", "writable"]
