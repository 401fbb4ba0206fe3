"""Writing files the user owns: all or nothing (write a temporary file beside it, then rename).

A temporary file is hidden (``.NAME.XXXXXXXX.SUFFIX``) in the target's folder, so the final rename
is atomic. It exists only while bytes are being written: :func:`write_stream_atomic` creates it at
the first byte, after a renderer has done its computation. Every one is removed when writing fails
or is interrupted — by the ``except BaseException`` of the writer that made it, and, as a second
line of defence, from a registry of live temporary files (emptied at exit and when a signal
arrives; a :func:`cleanup_on_signals` block removes its own thread's when it ends).

SIGINT raises :class:`KeyboardInterrupt` in Python's main thread, so those cleanups run on Ctrl+C;
SIGTERM and SIGHUP would kill the process without any. :func:`cleanup_on_signals` (the CLI's, not
the library's: it changes the process's signal handlers only while it is active) turns all three
into a :class:`Terminated` exception, so they end the same way: temporary files removed, one line,
exit status ``128 + signal number`` (130 for Ctrl+C).
"""

from __future__ import annotations

import atexit
import io
import os
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_LIVE: dict[str, int] = {}
"""Temporary files that exist (or are about to) and are not yet renamed onto their target, each
with the thread that writes it."""


# ---- one file ------------------------------------------------------------------------------------

@contextmanager
def _naming(target: Path):
    """An operating-system error while writing ``target`` (disk full, permission, a file-size limit)
    names ``target`` — the user's path — never the hidden temporary file."""
    try:
        yield
    except OSError as err:
        if err.errno is None:  # one of ours, already naming the user's path
            raise
        raise type(err)(err.errno, err.strerror or str(err), str(target)) from None


def write_atomic(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path``.

    If ``write`` raises, ``path`` is untouched and the temporary file is removed. The temporary
    file exists from the call on: for a writer that computes before it writes (renders a figure,
    encodes frames), prefer :func:`write_stream_atomic`.
    """
    target = Path(path)
    with _naming(target):
        tmp = _temporary_beside(target)
        try:
            write(tmp)
            os.chmod(tmp, _mode_for(target))
            os.replace(tmp, target)
        except BaseException:
            _remove(tmp)
            raise
    _LIVE.pop(tmp, None)
    return target


def write_stream_atomic(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(stream)`` with a binary stream whose temporary file is created only at its first
    byte, then rename that file onto ``path`` (an empty file if nothing was written).

    Writers that take a file object (``Image.save``, ``Figure.savefig``) do their computation
    before the first byte, so no temporary file exists while they compute. The stream does not
    seek (``tell`` works). If ``write`` raises, ``path`` is untouched and nothing is left behind.
    """
    target = Path(path)
    with _naming(target):
        _folder(target)
        raw = _LazyFile(target)
        stream = io.BufferedWriter(raw, buffer_size=1 << 16)
        try:
            write(stream)
            if not stream.closed:
                stream.flush()
            raw.finish()
        except BaseException:
            raw.abandon()
            raise
        finally:
            stream.close()  # after abandon() whatever is still buffered is dropped, not written
    return target


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_texts_atomic(texts: dict[str | Path, str]) -> list[Path]:
    """Write several files that belong together (a table and its metadata): each is written to a
    temporary file beside it first, and only when all are written are they renamed into place, so
    a failure leaves every target untouched (a signal waits until the renames are done)."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in texts.items():
            target = Path(path)
            with _naming(target):
                tmp = _temporary_beside(target)
                staged.append((tmp, target))
                Path(tmp).write_text(text, encoding="utf-8")
                os.chmod(tmp, _mode_for(target))
        with deferred_signals():
            for tmp, target in staged:
                os.replace(tmp, target)
                _LIVE.pop(tmp, None)
    except BaseException:
        for tmp, _ in staged:
            _remove(tmp)
        raise
    return [target for _, target in staged]


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` name one existing file (through links, ``..`` or another spelling)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # either is missing: writing ``a`` cannot clobber ``b``
        return False


# ---- temporary files -----------------------------------------------------------------------------

def _folder(target: Path) -> Path:
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory")
    return directory


def _create_beside(target: Path) -> tuple[int, str]:
    """A new empty hidden file in ``target``'s folder, open for writing: (descriptor, path).

    The name is registered before the file is created (with ``O_EXCL``), so a signal at any moment
    finds it in the registry once it exists.
    """
    directory = _folder(target)
    for _ in range(100):
        tmp = str(directory / f".{target.name}.{secrets.token_hex(4)}{target.suffix}")
        _LIVE[tmp] = threading.get_ident()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        except FileExistsError:  # someone else's: not ours to remove
            _LIVE.pop(tmp, None)
            continue
        except BaseException:
            _LIVE.pop(tmp, None)
            raise
        return fd, tmp
    raise FileExistsError(f"{directory}: no free temporary name for {target.name}")


def _temporary_beside(target: Path) -> str:
    """An empty hidden temporary file in ``target``'s folder (so the final rename is atomic)."""
    fd, tmp = _create_beside(target)
    os.close(fd)
    return tmp


def _remove(tmp: str) -> None:
    try:
        Path(tmp).unlink(missing_ok=True)
    except OSError:
        pass  # its folder went away, or became read-only: nothing more to do
    _LIVE.pop(tmp, None)


def remove_temporaries(thread: int | None = None) -> None:
    """Remove every temporary file not yet renamed onto its target (at exit; on a signal), or only
    those that ``thread`` (an ident) writes."""
    for tmp, writer in list(_LIVE.items()):
        if thread is None or writer == thread:
            _remove(tmp)


atexit.register(remove_temporaries)


def _mode_for(target: Path) -> int:
    """The existing file's permissions, or what a plain ``open(..., "w")`` would give."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class _LazyFile(io.RawIOBase):
    """A write-only stream for ``target`` whose temporary file is created at the first byte."""

    def __init__(self, target: Path):
        super().__init__()
        self._target = target
        self._fd: int | None = None
        self._tmp: str | None = None
        self._position = 0
        self._done = False  # finished or abandoned: later writes (a buffer's last flush) go nowhere

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        if self._done or not len(view):
            return len(view)
        if self._fd is None:
            self._fd, self._tmp = _create_beside(self._target)
        done = 0
        while done < len(view):
            done += os.write(self._fd, view[done:])
        self._position += done
        return done

    def finish(self) -> None:
        """Close the temporary file (creating it if nothing was written) and rename it onto the target."""
        self._done = True
        if self._fd is None:
            self._fd, self._tmp = _create_beside(self._target)
        os.close(self._fd)
        self._fd = None
        os.chmod(self._tmp, _mode_for(self._target))
        os.replace(self._tmp, self._target)
        _LIVE.pop(self._tmp, None)

    def abandon(self) -> None:
        """Close and remove the temporary file, if there is one."""
        self._done = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._tmp is not None:
            _remove(self._tmp)


# ---- signals -------------------------------------------------------------------------------------

class Terminated(BaseException):
    """SIGINT, SIGTERM or SIGHUP arrived while :func:`cleanup_on_signals` was active.

    Like :class:`KeyboardInterrupt` it is not an :class:`Exception`, so ``except Exception``
    does not swallow it, while every ``finally`` and ``except BaseException`` cleanup runs.
    """

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__("interrupted (Ctrl+C)" if self.signum == signal.SIGINT
                         else f"stopped by {_name(self.signum)}")

    @property
    def exit_status(self) -> int:
        """``128 + signal number``, as a shell reports a process ended by that signal (130 for Ctrl+C)."""
        return 128 + self.signum


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_deferring = 0
_pending: list[int] = []


def _on_signal(signum: int, frame) -> None:
    """Remove the live temporary files, then raise :class:`Terminated` in the main thread (or,
    inside :class:`deferred_signals`, remember the signal for when it ends). A signal that lands
    while a module is being imported — an exception there can leave a C extension half
    initialised and abort the interpreter at exit — is delivered again :data:`REDELIVER` seconds
    later, until the import is done."""
    if _deferring:
        _pending.append(signum)
        return
    if _importing(frame):
        again = threading.Timer(REDELIVER, os.kill, (os.getpid(), signum))
        again.daemon = True
        again.start()
        return
    global _received
    _received = signum
    remove_temporaries()
    raise Terminated(signum)


_received: int | None = None


def received() -> int | None:
    """The signal that :func:`cleanup_on_signals` turned into :class:`Terminated`, if one came: a
    library that catches the exception where it lands (matplotlib's renderer turns it into a
    ``ValueError``) cannot hide that the command was stopped."""
    return _received


REDELIVER = 0.05
"""Seconds after which a signal that arrived during an import is sent again."""


def _importing(frame) -> bool:
    """Whether ``frame`` (the interrupted one) runs inside the import machinery."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


@contextmanager
def deferred_signals() -> Iterator[None]:
    """A stretch that a signal must not cut in two (the renames of a set of files; starting a
    process that must be stopped afterwards): under :func:`cleanup_on_signals`, a signal arriving
    meanwhile is raised when the stretch ends, unless an exception is already on its way out.
    Elsewhere it changes nothing."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        signum = _pending[0] if _pending and not _deferring else None
        if not _deferring:
            _pending.clear()
    if signum is not None:
        raise Terminated(signum)


def cleanup_on_signals() -> SignalCleanup:
    """``with cleanup_on_signals():`` — SIGINT, SIGTERM and SIGHUP raise :class:`Terminated` in
    the block (see :class:`SignalCleanup`); the CLI's ``main`` runs its command in one."""
    return SignalCleanup()


class SignalCleanup:
    """While active (in the main thread), SIGINT, SIGTERM and SIGHUP raise :class:`Terminated`,
    and the live temporary files are removed when one arrives and when the block ends.

    The previous handlers are restored at the end, so library users are not affected. A signal
    that is ignored (``nohup`` ignores SIGHUP) or has a handler of the caller's own keeps it; SIGINT
    is taken over only from Python's default (:class:`KeyboardInterrupt`). Outside the main thread
    handlers cannot be set, and only the removal at the end applies.
    """

    def __init__(self) -> None:
        self._previous: dict[int, object] = {}

    def __enter__(self) -> SignalCleanup:
        global _received
        if threading.current_thread() is not threading.main_thread():
            return self
        _received = None
        for signum in _SIGNALS:
            current = signal.getsignal(signum)
            default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
            if current is default:
                self._previous[signum] = signal.signal(signum, _on_signal)
        return self

    def __exit__(self, kind, error, tb) -> None:
        try:
            with deferred_signals():  # a second signal now must not stop the handlers being restored
                remove_temporaries(threading.get_ident())
                for signum, handler in self._previous.items():
                    signal.signal(signum, handler)
                self._previous.clear()
        except Terminated:
            if kind is None:
                raise  # else the first signal's exception is on its way out already
