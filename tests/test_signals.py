"""SIGTERM, SIGHUP and SIGINT while a command computes or writes its output: the process ends at
once, with one line on stderr and exit status 128 + signal number (130 for Ctrl+C), and leaves the
output folder as it was — no hidden ``.NAME.XXXXXXXX.SUFFIX`` temporary file, the old output
untouched (or, if the signal came after the final rename, a complete new one).

Each trial starts a command in a subprocess and waits until it has installed its handlers (read
from ``/proc/PID/status``: SIGTERM becomes a caught signal), then signals it after a delay, or as
soon as a temporary file appears in the folder (the writing window). Two ways to start it:

* ``driver``: ``python -c`` running :func:`descentlab.cli.main` inside
  :func:`descentlab.files.cleanup_on_signals`, as the CLI's ``main`` does; with ``slow`` it also
  makes writing slow (a pause while the temporary file is open), so the writing window is wide and
  every such trial lands in it.
* ``descentlab``: the installed command itself (its ``main`` must enter the same block).

The in-process tests at the end check the pieces: handlers set and restored, ``nohup``'s ignored
SIGHUP kept, a temporary file only from the first byte, renames of a set not cut in two.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from conftest import DESCENTLAB
from descentlab import files

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").is_file() or not hasattr(signal, "SIGHUP"),
                                reason="needs POSIX signals and Linux's /proc/PID/status")

SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

DRIVER = """
import os, sys, time
from descentlab import files
if os.environ.get("SLOW_WRITES"):  # a slow disk: the temporary file stays open a while
    plain, lazy = files.write_atomic, files._LazyFile.write
    def slow(path, write):
        return plain(path, lambda tmp: (write(tmp), time.sleep(1.5)))
    def slow_lazy(self, data):
        n = lazy(self, data); time.sleep(0.3); return n
    files.write_atomic, files._LazyFile.write = slow, slow_lazy
from descentlab.cli import main
try:
    with files.cleanup_on_signals():
        status = main(sys.argv[1:])
except files.Terminated as err:
    print(f"descentlab: error: {err}", file=sys.stderr)
    status = err.exit_status
sys.exit(status)
"""

COMMANDS = {  # each runs for a second or two; the output file holds OLD before
    "animate": (["animate", "-o", "out.gif", "--optimizers", "gd,nesterov", "--steps", "10",
                 "--frames", "6", "--size", "320x240"], "out.gif"),
    "mp4": (["animate", "-o", "out.mp4", "--optimizers", "gd,nesterov", "--steps", "20",
             "--frames", "20", "--size", "480x360"], "out.mp4"),  # ffmpeg writes while frames render
    "figure": (["figure", "-o", "out.png", "--resolution", "500"], "out.png"),
    "html": (["html", "-o", "out.html", "--resolution", "60", "--steps", "20"], "out.html"),
}
OLD = b"an earlier output, which an interrupted run must leave as it is\n"
SAID = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP", signal.SIGINT: "Ctrl+C"}  # in the stderr line
WRITING = "writing"  # the moment a temporary file appears
STOP_WITHIN = 8.0    # seconds from the signal to the end of the process (a loaded machine is slow)


@dataclass(frozen=True)
class Trial:
    runner: str            # "driver", "slow" (driver with slow writes) or "descentlab"
    command: str
    signum: int
    moment: float | str    # seconds after the handlers are installed, or WRITING


def _prefix(runner: str) -> list[str]:
    return [str(DESCENTLAB)] if runner == "descentlab" else [sys.executable, "-c", DRIVER]


def _caught(pid: int) -> int:
    """The signals ``pid`` has handlers for (SigCgt), as a bit mask (bit n-1: signal n)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((ln for ln in text.splitlines() if ln.startswith("SigCgt:")), "SigCgt: 0")
    return int(line.split()[1], 16)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _complete(path: Path) -> bool:
    """Whether ``path`` is a whole file of its format (not cut short)."""
    data = path.read_bytes()
    if path.suffix == ".html":
        return data.rstrip().endswith(b"</html>")
    if path.suffix == ".mp4":  # written with +faststart: the index (moov) is moved to the front last
        return data[4:8] == b"ftyp" and b"moov" in data[:4096]
    try:
        with Image.open(io.BytesIO(data)) as image:
            for k in range(getattr(image, "n_frames", 1)):
                image.seek(k)
                image.load()
    except Exception:
        return False
    return True


def run_trial(trial: Trial, folder: Path) -> str:
    """Run one trial in the empty ``folder``; returns "" when every check passes, else what failed."""
    args, output = COMMANDS[trial.command]
    (folder / output).write_bytes(OLD)
    (folder / "keep.txt").write_text("a file of the user's\n")
    before = {p.name for p in folder.iterdir()}
    env = {**os.environ, "MPLBACKEND": "Agg", "SLOW_WRITES": "1" if trial.runner == "slow" else ""}
    process = subprocess.Popen([*_prefix(trial.runner), *args], cwd=folder, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not _caught(process.pid) & (1 << (signal.SIGTERM - 1)):
            if process.poll() is not None or time.monotonic() > deadline:
                said = process.stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:] \
                    if process.poll() is not None else []
                return (f"{trial}: no SIGTERM handler installed (cli.main must enter "
                        f"files.cleanup_on_signals); status {process.poll()}, stderr {said}")
            time.sleep(0.002)
        if trial.moment == WRITING:
            while not _hidden(folder):
                if process.poll() is not None or time.monotonic() > deadline:
                    return f"{trial}: ended before any temporary file appeared"
                time.sleep(0.001)
        else:
            time.sleep(float(trial.moment))
        if process.poll() is not None:
            return f"{trial}: ended (status {process.returncode}) before the signal; make the run longer"
        process.send_signal(trial.signum)
        sent = time.monotonic()
        try:
            _, err = process.communicate(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            return f"{trial}: still running {STOP_WITHIN:g} s after the signal"
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = err.decode("utf-8", "replace").splitlines()
    problems = []
    if process.returncode != 128 + trial.signum:
        problems.append(f"exit status {process.returncode}, not {128 + trial.signum}")
    if len(lines) != 1 or SAID[trial.signum] not in lines[0]:
        problems.append(f"stderr is not one line naming the signal: {lines[-6:]!r}")
    left = {p.name for p in folder.iterdir()} - before
    if left:
        problems.append(f"left behind: {sorted(left)}")
    out = folder / output
    if not out.exists():
        problems.append(f"{output} was removed")
    elif out.read_bytes() != OLD and not _complete(out):
        problems.append(f"{output} was replaced by an incomplete file")
    return f"{trial} (ended {took:.2f} s after the signal): {'; '.join(problems)}" if problems else ""


def _trials(runner: str) -> list[Trial]:
    """For the driver, each signal five times: before writing, at varied delays after the handlers
    are installed, and in the writing windows, which it slows down so that the short ones (a GIF's
    encoding, a figure's PNG, an HTML page) are hit every time. For the real command, each signal
    before writing and while ffmpeg writes an MP4 (the whole rendering: its widest window)."""
    video = "mp4" if _has_ffmpeg() else "figure"
    out = []
    for k, signum in enumerate(SIGNALS):
        out.append(Trial(runner, "animate", signum, 0.05 + 0.2 * k))
        if runner == "driver":
            out += [Trial(runner, "html", signum, 0.1 * k),
                    Trial(runner, "figure", signum, 0.3 + 0.25 * k),
                    Trial("slow", "animate", signum, WRITING),
                    Trial("slow", ("figure", "html", "figure")[k], signum, WRITING)]
            if k == 0:
                out.append(Trial(runner, video, signum, WRITING))
        else:
            out.append(Trial(runner, video, signum, WRITING))
            if signum == signal.SIGHUP:
                out.append(Trial(runner, "html", signum, 0.1))
    return out


def _has_ffmpeg() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def _run_all(trials: list[Trial], tmp_path: Path) -> list[str]:
    """The trials, three at a time (each mostly waits), each in a folder of its own."""
    def one(item: tuple[int, Trial]) -> str:
        folder = tmp_path / f"t{item[0]}"
        folder.mkdir()
        return run_trial(item[1], folder)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return [r for r in pool.map(one, enumerate(trials)) if r]


def test_signals_through_the_cleanup_block_leave_nothing_behind(tmp_path):
    """The handlers of files.cleanup_on_signals, as cli.main uses them (driven by ``python -c``)."""
    failures = _run_all(_trials("driver"), tmp_path)
    assert not failures, "\n".join(failures)


def test_signals_to_the_descentlab_command_leave_nothing_behind(tmp_path):
    """The installed ``descentlab`` command: its ``main`` enters files.cleanup_on_signals."""
    failures = _run_all(_trials("descentlab"), tmp_path)
    assert not failures, "\n".join(failures)


# ---- the pieces, in this process --------------------------------------------------------------------

def test_handlers_are_set_only_inside_the_block_and_restored():
    before = {s: signal.getsignal(s) for s in SIGNALS}
    with files.cleanup_on_signals():
        inside = {s: signal.getsignal(s) for s in SIGNALS}
        with pytest.raises(files.Terminated) as caught:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts the sleep
    assert caught.value.exit_status == 128 + signal.SIGTERM
    assert str(caught.value) == "stopped by SIGTERM"
    assert all(inside[s] is not before[s] for s in SIGNALS if before[s] in (signal.SIG_DFL,
                                                                            signal.default_int_handler))
    assert {s: signal.getsignal(s) for s in SIGNALS} == before


def test_an_ignored_sighup_stays_ignored():
    """Under ``nohup`` SIGHUP is ignored, and a command must keep running when the terminal closes."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with files.cleanup_on_signals():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_ctrl_c_exits_130():
    with pytest.raises(files.Terminated) as caught, files.cleanup_on_signals():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    assert caught.value.exit_status == 130
    assert "Ctrl+C" in str(caught.value)


def test_outside_the_main_thread_nothing_is_set_but_temporaries_are_removed(tmp_path):
    before = {s: signal.getsignal(s) for s in SIGNALS}
    seen = {}

    def work():
        with files.cleanup_on_signals():
            seen.update({s: signal.getsignal(s) for s in SIGNALS})
            fd, _ = files._create_beside(tmp_path / "x.txt")
            os.close(fd)
        seen["left"] = list(tmp_path.iterdir())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert {s: seen[s] for s in SIGNALS} == before
    assert seen["left"] == []


def test_a_signal_while_writing_removes_the_temporary_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def write(stream):
        stream.write(b"new" * 100_000)
        stream.flush()
        assert len(_hidden(tmp_path)) == 1  # the temporary file exists from the first byte on
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)

    with pytest.raises(files.Terminated), files.cleanup_on_signals():
        files.write_stream_atomic(target, write)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    assert target.read_bytes() == b"old"
    assert files._LIVE == {}


def test_the_temporary_file_appears_only_at_the_first_byte(tmp_path):
    target = tmp_path / "out.gif"
    seen = []

    def write(stream):
        seen.append(list(tmp_path.iterdir()))  # the computation runs here, before any byte
        Image.new("RGB", (30, 20), "red").save(stream, format="GIF")

    files.write_stream_atomic(target, write)
    assert seen == [[]]
    assert list(tmp_path.iterdir()) == [target]
    assert Image.open(target).size == (30, 20)
    mode = target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # as open(..., "w") would make it, not mkstemp's 0o600


def test_a_failed_stream_write_leaves_nothing_even_after_buffered_bytes(tmp_path):
    target = tmp_path / "out.bin"

    def write(stream):
        stream.write(b"abc")  # still in the buffer: it must not be flushed into a new file later
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        files.write_stream_atomic(target, write)
    import gc

    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_a_signal_during_the_renames_of_a_set_waits_until_all_are_done(tmp_path, monkeypatch):
    """A table and its metadata: a signal between the two renames must not leave one old, one new."""
    a, b = tmp_path / "t.csv", tmp_path / "t.csv.meta.json"
    a.write_text("old"), b.write_text("old")
    replace = os.replace
    calls = []

    def replace_then_signal(src, dst):
        replace(src, dst)
        calls.append(dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here, and must not raise yet

    monkeypatch.setattr(files.os, "replace", replace_then_signal)
    with pytest.raises(files.Terminated), files.cleanup_on_signals():
        files.write_texts_atomic({a: "new a", b: "new b"})
    assert (a.read_text(), b.read_text()) == ("new a", "new b")
    assert len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.csv.meta.json"]
