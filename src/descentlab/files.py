"""Writing files the user owns: all or nothing (write a temporary file beside it, then rename)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``.

    If ``write`` raises, ``path`` is untouched and the temporary file is removed.
    """
    target = Path(path)
    tmp = _temporary_beside(target)
    try:
        write(tmp)
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _temporary_beside(target: Path) -> str:
    """An empty hidden temporary file in ``target``'s folder (so the final rename is atomic)."""
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=directory)
    os.close(fd)
    return tmp


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _mode_for(target: Path) -> int:
    """The existing file's permissions, or what a plain ``open(..., "w")`` would give."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` name one existing file (through links, ``..`` or another spelling)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # either is missing: writing ``a`` cannot clobber ``b``
        return False


def write_texts_atomic(texts: dict[str | Path, str]) -> list[Path]:
    """Write several files that belong together (a table and its metadata): each is written to a
    temporary file beside it first, and only when all are written are they renamed into place, so
    a failure leaves every target untouched."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in texts.items():
            target = Path(path)
            tmp = _temporary_beside(target)
            staged.append((tmp, target))
            Path(tmp).write_text(text, encoding="utf-8")
            os.chmod(tmp, _mode_for(target))
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    return [target for _, target in staged]
