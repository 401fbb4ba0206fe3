"""Run one ``descentlab`` command line the way a hostile user would, and record what it did.

The command runs in a subprocess of its own process group, in a fresh working directory that holds
only the files the case made, with no terminal (stdin ``/dev/null``, ``TERM=dumb``), under
``resource`` limits (address space :data:`ADDRESS_SPACE`, no core files, file size
:data:`FILE_SIZE`) and a wall-clock :data:`TIMEOUT` after which its whole process group is killed.
Its peak RSS is measured two ways (see :func:`run`): ``VmHWM`` of ``/proc/PID/status``, polled
while it runs, and ``ru_maxrss`` from ``os.wait4`` on its pid (exact per child, also when several
cases run at once in threads, which ``RUSAGE_CHILDREN`` would mix).
The working directory is snapshotted (names, types, sizes, modes, mtimes, hashes) before and after,
so a file created, removed or changed — an input clobbered, a hidden temporary file left behind —
is seen.

:func:`refusal_problems` turns an :class:`Outcome` into the list of ways it breaks the contract of
issue 12 (empty: the case passes), so the test and the report say the same thing.
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ADDRESS_SPACE = 3 * 1024**3
"""RLIMIT_AS of the command. A normal run peaks at 0.22–0.33 GB of virtual memory (figure, compare,
html, animate) and 0.69 GB (sweep and tune, which import numba); the cap stops a runaway allocation
long before the machine swaps. The RSS assertion (:data:`RSS_LIMIT`) is the contract's own."""
RSS_LIMIT = 1024**3
"""Peak resident memory allowed (the contract: < 1 GB)."""
FILE_SIZE = 512 * 1024**2
"""RLIMIT_FSIZE: no file the command writes may grow past this (a runaway writer fills no disk)."""
TIMEOUT = 10.0
"""Seconds a command may run (the contract: done in 10 s) before its process group is killed."""
STDERR_LIMIT = 500
"""Most characters of the one stderr line."""
CAPTURE = 1 << 16
"""Bytes of stdout and stderr kept (their full sizes are recorded too)."""
HASHED_WHOLE = 64 * 1024**2
"""Files up to this size are hashed whole; larger ones (the 400 MB CSV, sparse files) by their
first and last MiB, beside their size and mtime, which any write changes."""

_CONTROL = re.compile("[\x00-\x1f\x7f\x80-\x9f]")


def command_prefix() -> list[str]:
    """How to start the CLI: ``python -m descentlab`` when the package has a ``__main__``, else the
    ``descentlab`` console script installed beside this interpreter."""
    import importlib.util

    if importlib.util.find_spec("descentlab.__main__") is not None:
        return [sys.executable, "-m", "descentlab"]
    script = Path(sys.executable).with_name("descentlab")
    if not script.exists():
        raise RuntimeError(f"neither descentlab.__main__ nor {script} exists: install the package")
    return [str(script)]


def environment() -> dict[str, str]:
    """A clean environment without a terminal: PATH, HOME and a UTF-8 locale are kept from ours."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "dumb", "COLUMNS": "100", "MPLBACKEND": "Agg"}
    for key in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "NUMBA_CACHE_DIR", "DESCENTLAB_REFERENCE"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


# ---- the working directory ---------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One thing in the working directory: its type, size, mode, mtime and content hash."""

    kind: str
    size: int
    mode: int
    mtime_ns: int
    digest: str | None


def _digest(path: str, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        if size <= HASHED_WHOLE:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        else:
            h.update(f.read(1 << 20))
            f.seek(size - (1 << 20))
            h.update(f.read(1 << 20))
    return h.hexdigest()


def snapshot(root: Path) -> dict[str, Entry]:
    """Every entry under ``root`` (hidden ones too) by relative path, without following links or
    opening anything but regular files (a FIFO is never opened: that would block).

    A directory's own mtime is left out: it changes when a temporary file is created and removed
    again, which the contract allows; what a directory holds is compared entry by entry."""
    out: dict[str, Entry] = {}

    def walk(directory: str) -> None:
        for e in sorted(os.scandir(directory), key=lambda e: e.name):
            info = e.stat(follow_symlinks=False)
            mode, digest, size, mtime = info.st_mode, None, info.st_size, info.st_mtime_ns
            if stat.S_ISREG(mode):
                kind, digest = "file", _digest(e.path, size)
            elif stat.S_ISDIR(mode):
                kind, size, mtime = "dir", 0, 0
            elif stat.S_ISLNK(mode):
                kind, digest = "link", os.readlink(e.path)
            else:
                kind = "fifo" if stat.S_ISFIFO(mode) else "other"
            out[os.path.relpath(e.path, root)] = Entry(kind, size, stat.S_IMODE(mode), mtime, digest)
            if kind == "dir":
                walk(e.path)

    walk(str(root))
    return out


def differences(before: dict[str, Entry], after: dict[str, Entry]) -> list[str]:
    """What changed between two snapshots: ``created 'NAME' (kind, size)``, ``removed 'NAME'``,
    ``changed 'NAME' (the fields that differ)``."""
    out = [f"created {name!r} ({after[name].kind}, {after[name].size} bytes)"
           for name in sorted(after.keys() - before.keys())]
    out += [f"removed {name!r}" for name in sorted(before.keys() - after.keys())]
    for name in sorted(before.keys() & after.keys()):
        b, a = before[name], after[name]
        fields = [f for f in ("kind", "size", "mode", "mtime_ns", "digest") if getattr(b, f) != getattr(a, f)]
        if fields:
            out.append(f"changed {name!r} ({', '.join(fields)})")
    return out


# ---- running ------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one command line did."""

    argv: list[str]
    returncode: int | None
    stdout: bytes
    stdout_size: int
    stderr: bytes
    stderr_size: int
    wall: float
    max_rss: int
    """Peak resident set size in bytes of the command (see :func:`run` for how it is measured)."""
    timed_out: bool
    changes: list[str] = field(default_factory=list)

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "backslashreplace")

    def summary(self) -> str:
        """Exit status, time, memory, files left and the start of stderr, for a failure message."""
        status = "killed at the timeout" if self.timed_out else f"exit {self.returncode}"
        err = self.stderr_text[:200].replace("\n", "\\n")
        return (f"{status}; {self.wall:.1f} s; peak RSS {self.max_rss / 1e6:.0f} MB; stderr "
                f"{self.stderr_size} bytes: {err!r}; stdout {self.stdout_size} bytes; files: "
                f"{'; '.join(self.changes) or 'none changed'}")


def _limits(address_space: int, file_size: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    return apply


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kib(path: str, key: str) -> int:
    """A ``kB`` field of a ``/proc/…/status`` file in bytes (0 when the process is gone)."""
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _head(f) -> tuple[bytes, int]:
    """The first :data:`CAPTURE` bytes of a capture file, and its size."""
    f.flush()
    size = os.fstat(f.fileno()).st_size
    f.seek(0)
    return f.read(CAPTURE), size


def run(args: list[str], cwd: Path, *, timeout: float = TIMEOUT, address_space: int = ADDRESS_SPACE,
        file_size: int = FILE_SIZE, during: Callable[[subprocess.Popen, Path], None] | None = None,
        ) -> Outcome:
    """Run ``descentlab ARGS`` in ``cwd`` and return what it did, with the snapshot of ``cwd``
    before and after. stdout and stderr go to temporary files outside ``cwd``. ``during``, if given,
    is called with the running process (to send it a signal, say) before it is waited for.

    Peak RSS: ``ru_maxrss`` of a forked child counts the pages it shared with this (forking) process
    before its ``exec``, so on its own it is only an upper bound: max(our RSS at the fork, the
    command's peak). ``VmHWM``, polled every 20 ms once ``Popen`` has returned (after the ``exec``:
    a new address space, a fresh high-water mark), is a lower bound that misses at most a spike in
    the last 20 ms. The peak reported is ``ru_maxrss`` where it is clearly above our own RSS (then
    it is the command's), else the polled ``VmHWM``; either way a peak over :data:`RSS_LIMIT` is
    seen, as long as this process stays below it."""
    before = snapshot(cwd)
    ours = _kib("/proc/self/status", "VmRSS:")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen([*command_prefix(), *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, env=environment(), start_new_session=True,
                                preexec_fn=_limits(address_space, file_size))
        if during is not None:
            during(proc, cwd)
        timed_out, hwm, status_file = False, 0, f"/proc/{proc.pid}/status"
        while True:
            hwm = max(hwm, _kib(status_file, "VmHWM:"))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= start + timeout:
                timed_out = True
                _kill_group(proc.pid)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.monotonic() - start
        _kill_group(proc.pid)  # anything the command left running in its group
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait for it again
        stdout, stdout_size = _head(out)
        stderr, stderr_size = _head(err)
    maxrss = usage.ru_maxrss * 1024
    peak = maxrss if maxrss > max(ours, _kib("/proc/self/status", "VmRSS:")) + 64 * 1024**2 else max(hwm, 1)
    return Outcome(argv=list(args), returncode=proc.returncode, stdout=stdout, stdout_size=stdout_size,
                   stderr=stderr, stderr_size=stderr_size, wall=wall, max_rss=peak,
                   timed_out=timed_out, changes=differences(before, snapshot(cwd)))


# ---- the contract -------------------------------------------------------------------------------

def controls(text: str) -> list[str]:
    """The distinct control characters (C0, DEL, C1) in ``text``, as reprs."""
    return sorted({repr(c) for c in _CONTROL.findall(text)})


def limit_problems(outcome: Outcome, timeout: float = TIMEOUT) -> list[str]:
    """Time and memory: finished by itself within ``timeout``, peak RSS below :data:`RSS_LIMIT`."""
    problems = []
    if outcome.timed_out:
        problems.append(f"still running after {timeout:g} s (killed)")
    elif outcome.wall >= timeout:
        problems.append(f"took {outcome.wall:.1f} s (limit {timeout:g} s)")
    if outcome.max_rss >= RSS_LIMIT:
        problems.append(f"peak RSS {outcome.max_rss / 1e6:.0f} MB (limit {RSS_LIMIT / 1e6:.0f} MB)")
    return problems


def refusal_problems(outcome: Outcome, mentions: str | None = None) -> list[str]:
    """The ways ``outcome`` breaks the contract for bad input: exit 2; exactly one stderr line of at
    most :data:`STDERR_LIMIT` characters, valid UTF-8, without control characters or a traceback,
    holding ``mentions`` (the user's path) if given; stdout empty or without control characters;
    nothing in the working directory created or changed; within the time and memory limits."""
    problems = limit_problems(outcome)
    if not outcome.timed_out and outcome.returncode != 2:
        problems.append(f"exit status {outcome.returncode}, expected 2")
    try:
        text = outcome.stderr.decode("utf-8")
    except UnicodeDecodeError:
        problems.append("stderr is not valid UTF-8 (raw bytes of the input reach the terminal)")
        text = outcome.stderr_text
    lines = text.count("\n")
    if "Traceback" in text:
        problems.append("stderr holds a traceback")
    if outcome.stderr_size > len(outcome.stderr):
        problems.append(f"stderr is {outcome.stderr_size:,} bytes")
    elif not text:
        problems.append("stderr is empty, expected one line saying what is wrong")
    elif lines != 1 or not text.endswith("\n"):
        problems.append(f"stderr is {lines} lines{'' if text.endswith(chr(10)) else ' and a part'}, "
                        "expected exactly one")
    elif len(text) - 1 > STDERR_LIMIT:
        problems.append(f"the stderr line is {len(text) - 1:,} characters (limit {STDERR_LIMIT})")
    if bad := controls(text.replace("\n", "")):
        problems.append(f"stderr holds control characters {', '.join(bad[:6])}")
    if mentions is not None and text and mentions not in text:
        problems.append(f"the error does not name {mentions!r}, the path the user gave")
    if bad := controls(outcome.stdout.decode("utf-8", "backslashreplace").replace("\n", "")):
        problems.append(f"stdout holds control characters {', '.join(bad[:6])}")
    if outcome.changes:
        problems.append("the working directory changed: " + "; ".join(outcome.changes[:5]))
    return problems


def success_problems(outcome: Outcome, outputs: tuple[str, ...], timeout: float) -> list[str]:
    """The ways a run of legal input fails: exit 0, no traceback, exactly ``outputs`` created (no
    temporary file left beside them, no input changed), within ``timeout`` and the memory limit."""
    problems = limit_problems(outcome, timeout)
    if not outcome.timed_out and outcome.returncode != 0:
        problems.append(f"exit status {outcome.returncode}, expected 0")
    if "Traceback" in outcome.stderr_text:
        problems.append("stderr holds a traceback")
    made = {change.rsplit(" (", 1)[0] for change in outcome.changes}
    if outcome.returncode == 0 and made != {f"created {name!r}" for name in outputs}:
        problems.append(f"files: {'; '.join(outcome.changes) or 'none'}; expected only "
                        f"{', '.join(outputs) or 'none'} created")
    return problems


def bounded_problems(outcome: Outcome, outputs: tuple[str, ...], timeout: float) -> list[str]:
    """Legal but heavy input, which a documented budget may refuse: either it succeeds (as
    :func:`success_problems`, within ``timeout``) or it is refused before the work, as bad input is
    (:func:`refusal_problems`: exit 2 in 10 s) — within the memory limit either way."""
    if outcome.returncode == 2:
        return refusal_problems(outcome)
    return success_problems(outcome, outputs, timeout)
