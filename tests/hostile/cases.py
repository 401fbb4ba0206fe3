"""The hostile command lines of issue 12, each with the files it needs.

A :class:`Case` is one command line (``args``; ``{busy_port}`` stands for a port this suite holds
open), the issue's class of root cause it attacks (``klass``, "1" … "12", as the issue numbers
them), and a ``setup`` that makes its input files in the empty working directory. Every case in
:data:`CASES` is bad input: the contract is exit 2 with one clean line (naming ``mentions``, where
given: the user's path, not a temporary file's), nothing written, within 10 s and 1 GB.
:data:`LEGAL` holds legal but heavy inputs, which must succeed within the memory limit or, where a
budget may refuse them, be refused before the work.

Budget cases (classes 1 and 2) are sized so that only a refusal *before* the work can pass: a
program that starts the work runs into the timeout or the memory limit.

Limits of the platform the cases respect: one argument of a command line is at most 128 KiB
(``MAX_ARG_STRLEN``), so "10⁵ names" on the command line are 43,000 (129 KB) and the 10⁵-element
variants go through a configuration file; an argument cannot hold a NUL, so NULs go through files.
As root (whom a mode of 0o500 does not stop) a read-only folder is made immutable (``chattr +i``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Setup = Callable[[Path], None]

INT64_MAX = str(2**63 - 1)
BIG = "1000000000000"  # 10¹²
HUGE_DIGITS = "1" * 100_000  # 10⁵ digits: past Python's int-from-text limit; as a float, inf
LONG = "z" * 100_000  # one argument of 100 KB (the limit is 128 KiB)
ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"  # retitle the terminal, clear it, turn it red
GOOD_CSV = "x,y\n0,1\n1,3\n2,5\n3,7.5\n4,9\n"
LEGAL_LOSS = "+".join(["x"] * 1000)  # 1999 characters, 999 additions: the longest legal expression


@dataclass(frozen=True)
class Case:
    """One command line and what it needs."""

    id: str
    args: tuple[str, ...]
    klass: str
    setup: Setup | None = None
    teardown: Setup | None = None
    mentions: str | None = None
    """Text the error line must hold (the user's path, as given), where it matters."""
    file_size: int | None = None
    """RLIMIT_FSIZE for this case (None: the harness's default), e.g. 1 KiB for a full disk."""
    outputs: tuple[str, ...] = ()
    """For :data:`LEGAL` cases: the files a successful run creates."""
    timeout: float = 10.0
    expect: str = "refuse"
    """refuse (bad input), ok (legal: must succeed) or bounded (succeed, or be refused before work)."""


# ---- setups -------------------------------------------------------------------------------------

def files(named: dict[str, str | bytes | Setup]) -> Setup:
    """Make the files ``named`` (text, bytes, or a function of the path that makes it)."""
    def make(root: Path) -> None:
        for name, content in named.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if callable(content):
                content(path)
            elif isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
    return make


def data(content: str | bytes | Setup, name: str = "d.csv") -> Setup:
    return files({name: content})


def config(text: str | bytes | Setup, name: str = "c.toml") -> Setup:
    return files({name: text})


def fifo(path: Path) -> None:
    os.mkfifo(path)


def directory(path: Path) -> None:
    path.mkdir()


def link_to(target: str) -> Setup:
    def make(path: Path) -> None:
        path.symlink_to(target)
    return make


def sparse(size: int, head: bytes = b"") -> Setup:
    """A file of ``size`` bytes that takes no disk: ``head``, then a hole (zero bytes)."""
    def make(path: Path) -> None:
        with open(path, "wb") as f:
            f.write(head)
            f.truncate(size)
    return make


def repeated(head: str, row: str, size: int) -> Setup:
    """A CSV of about ``size`` bytes: ``head``, then ``row`` again and again (written in blocks)."""
    def make(path: Path) -> None:
        block = row * max(1, (1 << 22) // len(row))
        with open(path, "w", encoding="ascii") as f:
            f.write(head)
            written = len(head)
            while written < size:
                f.write(block)
                written += len(block)
    return make


def wide_csv(columns: int) -> str:
    """A CSV of ``columns`` numeric columns and three rows (about 7 bytes a column)."""
    names = ",".join(f"c{i}" for i in range(columns))
    row = ",".join("1" for _ in range(columns))
    return f"{names}\n{row}\n{row}\n{row}\n"


def nested(depth: int, open_: str, close: str, inner: str) -> str:
    return open_ * depth + inner + close * depth


def unwritable(path: Path) -> None:
    """A directory nobody may write into: mode 0o500 for a normal user; as root, whom modes do not
    stop, the immutable attribute (``chattr +i``), undone by :func:`writable`. Where neither works,
    no unwritable folder can be made here, and the setup fails saying so (the case fails; it is
    not skipped)."""
    path.mkdir()
    (path / "keep.txt").write_text("the user's file\n", encoding="utf-8")
    if os.geteuid() != 0:
        path.chmod(0o500)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
        raise RuntimeError(f"running as root and cannot make {path} immutable (chattr +i): no unwritable "
                           "folder inside the working directory is possible here")


def writable(root: Path) -> None:
    """Undo :func:`unwritable` on every directory named ``ro*`` under ``root`` (so it can be removed)."""
    for path in root.glob("ro*"):
        if os.geteuid() == 0 and shutil.which("chattr"):
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        else:
            path.chmod(0o700)


# ---- the commands -------------------------------------------------------------------------------

SHARED = ("figure", "run", "compare", "lookahead", "animate", "html")
"""The commands that take the shared options (problem, start, steps, hyper-parameters, config)."""
OUT = {"figure": ("-o", "out.png"), "run": ("--save", "out.json"), "compare": ("-o", "out.png"),
       "lookahead": ("-o", "out.png"), "animate": ("-o", "out.gif"), "html": ("-o", "out.html"),
       "sweep": ("-o", "out.png"), "tune": ("-o", "out.png"), "rates": ("--plot", "out.png")}
"""Each command's output option and a good name for it in the working directory."""
SUFFIX = {cmd: name.rsplit(".", 1)[1] for cmd, (_, name) in OUT.items()}


def out(cmd: str, name: str | None = None) -> tuple[str, ...]:
    """``cmd``'s output option with ``name`` (default: out.SUFFIX)."""
    flag, default = OUT[cmd]
    return (flag, name or default)


def w(text: str) -> tuple[str, ...]:
    """Arguments written as one string (none of them holds a space)."""
    return tuple(text.split())


def c(klass: str, id_: str, *args: str, **kw) -> Case:
    return Case(id=f"c{klass}-{id_}", args=tuple(args), klass=klass, **kw)


# ---- 1. no upper bound on steps ------------------------------------------------------------------

def _class1() -> list[Case]:
    one = "[optimizers.nesterov]\n"
    cases = [c("1", f"{cmd}-steps-1e12", cmd, "--steps", BIG, *out(cmd)) for cmd in SHARED]
    cases += [c("1", f"{cmd}-steps-int64max", cmd, "--steps", INT64_MAX, *out(cmd))
              for cmd in ("figure", "run", "html")]
    cases += [c("1", f"{cmd}-steps-1e30", cmd, "-n", "1" + "0" * 30, *out(cmd))
              for cmd in ("compare", "animate")]
    cases += [c("1", f"{cmd}-config-steps-int64max", cmd, "--config", "c.toml", *out(cmd),
                setup=config(f"steps = {INT64_MAX}\n{one}")) for cmd in ("run", "lookahead", "compare")]
    cases += [
        c("1", "run-steps-1e8", *w("run --steps 100000000")),
        c("1", "figure-steps-1e8-rosenbrock", *w("figure -p rosenbrock --steps 100000000"), *out("figure")),
        c("1", "animate-config-steps-1e9", "animate", "--config", "c.toml", *out("animate"),
          setup=config("steps = 1000000000\n[optimizers.gd]\n[optimizers.adam]\n")),
        c("1", "rates-steps-1e12", "rates", "--steps", BIG),
        c("1", "rates-steps-int64max", "rates", "--steps", INT64_MAX, *out("rates")),
        c("1", "sweep-steps-1e9", *w("sweep --steps 1000000000"), *out("sweep")),
        c("1", "sweep-steps-int64max-two-cells", *w("sweep --lr 0.01,0.02 --beta 0.9 --steps"), INT64_MAX,
          *out("sweep")),
        c("1", "tune-budget-1e9", *w("tune --budget 1000000000")),
        c("1", "tune-budget-int64max", "tune", "--budget", INT64_MAX, "--optimizers", "gd", *out("tune")),
        c("1", "tune-budget-1e12-one-trial", *w("tune --trials 1 --seeds 1 --budget"), BIG),
        c("1", "run-linesearch-max-iter-1e12",
          *w("run -O linesearch --thresh 1e-300 --steps 1000 --max-iter"), BIG),
        c("1", "html-frames-and-steps-1e9", *w("html --frames 1000000000 --steps 1000000000"), *out("html")),
    ]
    return cases


# ---- 2. sizes allocated before they are checked ------------------------------------------------

def _class2() -> list[Case]:
    line = data(GOOD_CSV)
    return [
        c("2", "sweep-lr-count-2e9", *w("sweep --lr 1e-4:1e-1:2000000000:log"), *out("sweep")),
        c("2", "sweep-axis-lr-count-2e9", *w("sweep --axis lr=1e-4:1e-1:2000000000:log"), *out("sweep")),
        c("2", "sweep-grid-1e5-by-1e5", *w("sweep --lr 0.001:0.1:100000 --beta 0:0.9:100000"), *out("sweep")),
        c("2", "sweep-beta-count-1e30", "sweep", "--beta", "0:0.9:1" + "0" * 30, *out("sweep")),
        c("2", "sweep-seeds-1e9-minibatch", *w("sweep -O sgd --data d.csv --batch-size 1 --seeds 1000000000"),
          *out("sweep"), setup=line),
        c("2", "sweep-seeds-1e9", *w("sweep --seeds 1000000000"), *out("sweep")),
        c("2", "sweep-lr-list-20000-values", "sweep", "--lr", ",".join(["0.01"] * 20000), "--beta",
          "0:0.9:20000", *out("sweep")),
        c("2", "tune-trials-1e8", *w("tune --trials 100000000 --optimizers gd")),
        c("2", "tune-trials-int64max", "tune", "--trials", INT64_MAX, *out("tune")),
        c("2", "tune-seeds-1e9", *w("tune --seeds 1000000000 --optimizers gd")),
        c("2", "tune-trials-1e6-budget-1e6", *w("tune --trials 1000000 --budget 1000000")),
        c("2", "animate-size-100000x100000", *w("animate --size 100000x100000"), *out("animate")),
        c("2", "animate-size-overflow", *w("animate --size 99999999999999999999x10"), *out("animate")),
        c("2", "animate-size-60000-dpi-300", *w("animate --size 60000x60000 --dpi 300"), *out("animate")),
        c("2", "figure-resolution-1e9", *w("figure --resolution 1000000000"), *out("figure")),
        c("2", "html-resolution-1e30", "html", "--resolution", "1" + "0" * 30, *out("html")),
        c("2", "lookahead-resolution-2001", *w("lookahead --resolution 2001"), *out("lookahead")),
        c("2", "figure-batch-size-1e12", *w("figure -O sgd --batch-size"), BIG, *out("figure")),
        c("2", "run-batch-size-int64max", *w("run -O sgd -b"), INT64_MAX),
        c("2", "run-model-3000-params", *w("run --data d.csv --model"),
          "+".join(f"p{i}*x" for i in range(3000)), setup=line),
        c("2", "figure-config-resolution-1e9", "figure", "--config", "c.toml", *out("figure"),
          setup=config("resolution = 1000000000\n")),
    ]


# ---- 3. expressions ----------------------------------------------------------------------------

def _class3() -> list[Case]:
    line = data(GOOD_CSV)
    return [
        c("3", "figure-loss-2001-chars", "figure", "--loss", "+".join(["x"] * 1001), *out("figure")),
        c("3", "run-loss-100k-chars", "run", "--loss", "x+" * 49_999 + "x"),
        c("3", "compare-loss-500-nested-parens", "compare", "--loss", nested(500, "(", ")", "x"),
          *out("compare")),
        c("3", "run-loss-5000-unary-minus", "run", "--loss", "-" * 5000 + "x"),
        c("3", "lookahead-loss-power-tower", "lookahead", "--loss", "x**" * 600 + "y", *out("lookahead")),
        c("3", "figure-loss-constant-overflow", "figure", "--loss", "9**9**9**9 + x + y", *out("figure")),
        c("3", "run-loss-syntax-trailing-plus", "run", "--loss", "x+"),
        c("3", "figure-loss-unclosed-paren", "figure", "--loss", "(x + y", *out("figure")),
        c("3", "html-loss-juxtaposed", "html", "--loss", "x y", *out("html")),
        c("3", "run-loss-statement", "run", "--loss", "x; import os"),
        c("3", "animate-loss-dunder-import", "animate", "--loss", "__import__('os').system('id') + x + y",
          *out("animate")),
        c("3", "compare-loss-list", "compare", "--loss", "[x, y]", *out("compare")),
        c("3", "run-loss-matmul", "run", "--loss", "x @ y"),
        c("3", "sweep-loss-unknown-name", "sweep", "--loss", "q + x**2 + y**2", *out("sweep")),
        c("3", "tune-loss-unknown-function", "tune", "--loss", "sinh2(x) + y**2"),
        c("3", "figure-loss-escape-sequence", "figure", "--loss", f"x + {ESC}y", *out("figure")),
        c("3", "run-loss-newline-cr", "run", "--loss", "x +\r\ny +\n)"),
        c("3", "run-loss-del-and-c1", "run", "--loss", "x + \x7f\u009b31m y"),
        c("3", "compare-loss-3000-escapes", "compare", "--loss", "\x1b" * 3000, *out("compare")),
        c("3", "config-loss-with-nul", *w("run --config c.toml"), setup=config('loss = "x\\u0000 + y"\n')),
        c("3", "run-model-syntax-error", *w("run --data d.csv --model"), "p0 + p1*x +", setup=line),
        c("3", "figure-model-unknown-name", *w("figure --data d.csv --model"), "p0 + p1*w", *out("figure"),
          setup=line),
        c("3", "run-model-3000-chars", *w("run --data d.csv --model"), "p0+" + "x+" * 1500 + "p1",
          setup=line),
        c("3", "run-params-duplicate", *w("run --data d.csv --model a+b*x --params a,a"), setup=line),
        c("3", "run-params-not-identifiers", *w("run --data d.csv --model p0+p1*x --params"), "1a,b c",
          setup=line),
        c("3", "run-params-data-variable", *w("run --data d.csv --model x+x*x --params x"), setup=line),
        c("3", "compare-model-escape", *w("compare --data d.csv --model"), f"p0 + p1*x + {ESC}",
          *out("compare"), setup=line),
    ]


# ---- 4. configuration files --------------------------------------------------------------------

def _class4() -> list[Case]:
    dotted = "a" + ".a" * 99_999 + " = 1\n"  # 100,000 parts, 200 KB
    many_tables = "".join(f'[optimizers.g{i}]\nmethod = "gd"\n' for i in range(100_000))

    def cfg(cmd: str, id_: str, text, **kw) -> Case:
        return c("4", f"{cmd}-config-{id_}", cmd, "--config", "c.toml", *(out(cmd) if cmd != "run" else ()),
                 setup=config(text), **kw)

    return [
        cfg("figure", "fifo", fifo), cfg("run", "fifo", fifo), cfg("html", "fifo", fifo),
        c("4", "figure-config-dev-zero", *w("figure --config /dev/zero"), *out("figure")),
        c("4", "compare-config-dev-zero", *w("compare --config /dev/zero"), *out("compare")),
        c("4", "html-config-link-to-dev-zero", *w("html --config z.toml"), *out("html"),
          setup=config(link_to("/dev/zero"), "z.toml")),
        c("4", "figure-config-directory", *w("figure --config cdir"), *out("figure"),
          setup=files({"cdir": directory})),
        c("4", "animate-config-missing", *w("animate --config nope.toml"), *out("animate")),
        c("4", "lookahead-config-dangling-link", *w("lookahead --config l.toml"), *out("lookahead"),
          setup=config(link_to("nowhere.toml"), "l.toml")),
        cfg("figure", "500-nested-arrays", f"start = {nested(500, '[', ']', '1')}\n"),
        cfg("run", "500-nested-inline-tables", f"x = {nested(500, '{ a = ', ' }', '1')}\n"),
        cfg("html", "500-nested-inline-tables", f"optimizers = {nested(500, '{ a = ', ' }', '1')}\n"),
        cfg("figure", "dotted-key-100000-parts", dotted),
        cfg("run", "table-header-100000-parts", "[a" + ".a" * 99_999 + "]\n"),
        cfg("compare", "100000-optimizer-tables", many_tables),
        cfg("figure", "10MB", "# " + "x" * 10_000_000 + "\nsteps = 5\n"),
        cfg("run", "sparse-2GB", sparse(2 * 1024**3, b"steps = 5\n#")),
        cfg("figure", "unknown-key", "stpes = 10\n"),
        cfg("compare", "unknown-hyper", "[optimizers.gd]\nlrr = 0.1\n"),
        cfg("compare", "unknown-method", '[optimizers.a]\nmethod = "sgdx"\n'),
        cfg("figure", "steps-string", 'steps = "ten"\n'),
        cfg("compare", "lr-string", '[optimizers.gd]\nlr = "x"\n'),
        cfg("run", "start-string", 'start = "1,2"\n'),
        cfg("animate", "start-datetime", "start = 1979-05-27T07:32:00Z\n"),
        cfg("compare", "lr-nan", "[optimizers.gd]\nlr = nan\n"),
        cfg("figure", "lr-inf", "[optimizers.nesterov]\nlr = inf\n"),
        cfg("run", "start-nan", "start = [nan, 0.0]\n"),
        cfg("figure", "not-utf8", b'problem = "caf\xe9"\n'),
        cfg("run", "nul-bytes", b"steps = 5\x00\x00\n"),
        cfg("compare", "binary", bytes(range(256)) * 16),
        cfg("run", "unterminated-string", 'problem = "line\n'),
        cfg("run", "data-dev-zero", 'data = "/dev/zero"\n'),
        c("4", "figure-config-data-fifo", *w("figure --config c.toml"), *out("figure"),
          setup=files({"c.toml": 'data = "p.csv"\n', "p.csv": fifo})),
        cfg("run", "data-directory", 'data = "."\n'),
        cfg("run", "problem-200KB", f'problem = "{"q" * 200_000}"\n'),
        c("4", "figure-config-is-the-csv", *w("figure --config d.csv"), *out("figure"), setup=data(GOOD_CSV)),
    ]


# ---- 6. output destinations --------------------------------------------------------------------

def _class6() -> list[Case]:
    cases = []
    for cmd in ("figure", "compare", "lookahead", "animate", "html", "sweep", "tune", "rates", "run"):
        ext = SUFFIX[cmd]
        cases.append(c("6", f"{cmd}-output-read-only-folder", cmd, *out(cmd, f"ro/out.{ext}"),
                       setup=files({"ro": unwritable}), teardown=writable, mentions=f"ro/out.{ext}"))
        if cmd not in ("lookahead", "tune", "sweep", "rates"):
            cases.append(c("6", f"{cmd}-output-missing-folder", cmd, *out(cmd, f"missing/out.{ext}"),
                           mentions=f"missing/out.{ext}"))
        if cmd in ("figure", "animate", "html", "run"):
            cases.append(c("6", f"{cmd}-output-is-directory", cmd, *out(cmd, f"dir.{ext}"),
                           setup=files({f"dir.{ext}": directory}), mentions=f"dir.{ext}"))
    cases += [
        c("6", "figure-output-under-sys", *w("figure -o /sys/descentlab-hostile.png"),
          mentions="/sys/descentlab-hostile.png"),
        c("6", "tune-output-sys-folder", *w("tune -o /sys/fs/out.png"), mentions="/sys/fs/out.png"),
        c("6", "html-output-under-proc", *w("html -o /proc/descentlab-hostile/out.html"),
          mentions="/proc/descentlab-hostile/out.html"),
        c("6", "figure-output-is-the-data", *w("figure --data d.png -o d.png"),
          setup=data(GOOD_CSV, "d.png")),
        c("6", "run-save-is-the-data", *w("run --data d.csv --save d.csv"), setup=data(GOOD_CSV)),
        c("6", "run-save-sidecar-is-the-data", *w("run --data r.csv.meta.json --save r.csv"),
          setup=data(GOOD_CSV, "r.csv.meta.json")),
        c("6", "compare-output-is-the-config", *w("compare --config c.png -o c.png"),
          setup=config("steps = 5\n", "c.png")),
        c("6", "html-output-is-the-data", *w("html --data d.html -o d.html"), setup=data(GOOD_CSV, "d.html")),
        c("6", "figure-output-jpg", *w("figure -o out.jpg")),
        c("6", "figure-output-no-suffix", *w("figure -o out")),
        c("6", "animate-output-png", *w("animate -o out.png")),
        c("6", "rates-plot-txt", *w("rates --plot out.txt")),
        c("6", "run-save-txt", *w("run --save out.txt")),
        c("6", "figure-output-name-too-long", "figure", "-o", "a" * 300 + ".png"),
        c("6", "compare-output-path-too-long", "compare", "-o", "d/" * 2100 + "x.png"),
        c("6", "compare-save-onto-a-file", *w("compare -o out.png --save s"),
          setup=files({"s": "a file of the user's\n"}), mentions="--save s"),
        c("6", "compare-save-foreign-directory", *w("compare -o out.png --save s"),
          setup=files({"s/notes.txt": "the user's notes\n"}), mentions="--save s"),
        c("6", "figure-disk-full", *w("figure -o out.png"), file_size=1024, mentions="out.png"),
        c("6", "html-disk-full", *w("html -o out.html"), file_size=1024, mentions="out.html"),
        c("6", "run-save-disk-full", *w("run --save out.csv --steps 200"), file_size=1024,
          mentions="out.csv"),
        c("6", "figure-late-check-missing-folder", *w("figure --resolution 2000 -o missing/out.png"),
          mentions="missing/out.png"),
        c("6", "html-late-check-directory", *w("html --resolution 2000 -o dir.html"),
          setup=files({"dir.html": directory}), mentions="dir.html"),
        c("6", "animate-late-check-read-only", *w("animate --frames 200 --steps 200 -o ro/out.gif"),
          setup=files({"ro": unwritable}), teardown=writable, mentions="ro/out.gif"),
    ]
    return cases


# ---- 7. multi-megabyte "one-line" errors -------------------------------------------------------

def _class7() -> list[Case]:
    wide = data(wide_csv(1_000_000))
    start = ",".join(["1"] * 60_000)
    line = data(GOOD_CSV)
    return [
        c("7", "figure-csv-1e6-columns-unknown-x", *w("figure --data d.csv --x nope"), *out("figure"),
          setup=wide),
        c("7", "compare-csv-1e6-columns-unknown-y", *w("compare --data d.csv --y nope"), *out("compare"),
          setup=wide),
        c("7", "figure-start-60000-numbers", "figure", "--start", start, *out("figure")),
        c("7", "run-start-60000-numbers", "run", "--start", start),
        c("7", "run-config-start-100000-numbers", *w("run --config c.toml"),
          setup=config("start = [" + ",".join(["0"] * 100_000) + "]\n")),
        c("7", "compare-optimizers-43000-unknown", "compare", "--optimizers", ",".join(["zz"] * 43_000),
          *out("compare")),
        c("7", "html-optimizers-43000-duplicates", "html", "--optimizers", ",".join(["gd"] * 43_000),
          *out("html")),
        c("7", "animate-optimizers-one-100KB-name", "animate", "--optimizers", LONG, *out("animate")),
        c("7", "figure-problem-100KB", "figure", "--problem", LONG, *out("figure")),
        c("7", "lookahead-aspect-100KB", "lookahead", "--aspect", LONG, *out("lookahead")),
        c("7", "animate-size-100KB", "animate", "--size", LONG, *out("animate")),
        c("7", "run-delimiter-100KB", *w("run --data d.csv --delimiter"), LONG, setup=line),
        c("7", "convert-from-100KB", "convert", "--from", LONG, *w("--to pytorch --lr 0.1 --beta 0.9")),
        c("7", "convert-lr-100000-digits", *w("convert --from book --to pytorch --beta 0.9 --lr"),
          HUGE_DIGITS),
        c("7", "figure-steps-100000-digits", "figure", "--steps", HUGE_DIGITS, *out("figure")),
        c("7", "run-unknown-option-100KB", "run", "--" + LONG, "1"),
        c("7", "unknown-command-100KB", LONG, "--steps", "5"),
        c("7", "figure-data-path-100KB", "figure", "--data", "d/" * 50_000, *out("figure")),
        c("7", "figure-from-path-100KB", "figure", "--from", LONG + ".json", *out("figure")),
        c("7", "compare-set-100KB-key", "compare", "--set", f"gd.{LONG}=1", *out("compare")),
        c("7", "run-x-100KB", *w("run --data d.csv --x"), LONG, setup=line),
        c("7", "figure-slice-100KB", *w("figure --data d.csv --model p0+p1*x+p2*x*x --slice"), LONG,
          *out("figure"), setup=line),
        c("7", "run-params-100KB", *w("run --data d.csv --model p0+p1*x --params"), LONG, setup=line),
        c("7", "sweep-axis-100KB", "sweep", "--axis", LONG, *out("sweep")),
        c("7", "serve-host-10000-chars", *w("serve --no-browser --port {busy_port} --host"), "h" * 10_000),
    ]


# ---- 8. numpy warnings before the error line ---------------------------------------------------

def _class8() -> list[Case]:
    big_x = data("x,y\n1e200,1\n2e200,2\n3e200,3.5\n")
    return [
        c("8", "figure-csv-x-1e200", *w("figure --data d.csv"), *out("figure"), setup=big_x),
        c("8", "run-csv-x-1e200", *w("run --data d.csv"), setup=big_x),
        c("8", "compare-csv-x-1e200", *w("compare --data d.csv"), *out("compare"), setup=big_x),
        c("8", "html-csv-y-1e300", *w("html --data d.csv"), *out("html"),
          setup=data("x,y\n0,1e300\n1,-1e300\n2,1e300\n")),
        c("8", "tune-csv-x-1e200", *w("tune --data d.csv --trials 2 --seeds 1"), setup=big_x),
        c("8", "rates-mu-1e-320", *w("rates --mu 1e-320")),
        c("8", "rates-mu-1e308", *w("rates --mu 1e308")),
        c("8", "rates-kappa-1e308", *w("rates --kappa 1e308")),
        c("8", "rates-mu-kappa-1e300", *w("rates --mu 1e300 --kappa 1e300")),
        c("8", "sweep-log-range-from-zero", *w("sweep --lr 0:0.1:10:log"), *out("sweep")),
        c("8", "sweep-log-range-negative", *w("sweep --lr -1:0.1:5:log"), *out("sweep")),
        c("8", "figure-quadratic-kappa-1e308", *w("figure -p quadratic --kappa 1e308"), *out("figure")),
        c("8", "figure-xlim-full-float-range", *w("figure --xlim=-1e308,1e308"), *out("figure")),
        c("8", "figure-rosenbrock-start-1e200", *w("figure -p rosenbrock --start 1e200,1e200"),
          *out("figure")),
        c("8", "run-start-1e300-line-fit", *w("run --start 1e300,-1e300")),
    ]


# ---- 9. validation gaps ------------------------------------------------------------------------

def _class9() -> list[Case]:
    line = data(GOOD_CSV)
    busy = "serve --no-browser --port {busy_port} --host"
    convert = "convert --from book --to pytorch --beta 0.9 --lr"
    return [
        c("9", "compare-lr-nan-dump-config", *w("compare --lr nan --dump-config")),
        c("9", "figure-lr-nan-dump-config", *w("figure --lr nan --dump-config")),
        c("9", "run-beta-1-dump-config", *w("run --beta 1 --dump-config")),
        c("9", "animate-eps-0-dump-config", *w("animate --eps 0 --dump-config")),
        c("9", "html-gamma-nan-dump-config", *w("html --gamma nan --dump-config")),
        c("9", "lookahead-lr-inf-dump-config", *w("lookahead --lr inf --dump-config")),
        c("9", "compare-set-lr-nan-dump-config", *w("compare --set gd.lr=nan --dump-config")),
        c("9", "tune-optimizers-empty", "tune", "--optimizers", ""),
        c("9", "compare-optimizers-empty", "compare", "--optimizers", "", *out("compare")),
        c("9", "animate-optimizers-comma", *w("animate --optimizers ,"), *out("animate")),
        c("9", "html-optimizers-blank", "html", "--optimizers", " , ", *out("html")),
        c("9", "compare-optimizers-empty-item", *w("compare --optimizers gd,,momentum"), *out("compare")),
        c("9", "compare-optimizers-duplicate", *w("compare --optimizers gd,gd"), *out("compare")),
        c("9", "tune-optimizers-unknown", *w("tune --optimizers gd,nope")),
        c("9", "figure-optimizer-unknown", *w("figure -O nope"), *out("figure")),
        c("9", "run-optimizer-empty", "run", "-O", ""),
        c("9", "lookahead-optimizer-without-lookahead", *w("lookahead -O gd"), *out("lookahead")),
        c("9", "run-lr-nan", *w("run --lr nan")),
        c("9", "figure-lr-inf", *w("figure --lr inf"), *out("figure")),
        c("9", "html-eps-zero", *w("html --optimizers adam --eps 0"), *out("html")),
        c("9", "run-max-iter-zero", *w("run -O linesearch --max-iter 0")),
        c("9", "figure-batch-size-zero", *w("figure -O sgd --batch-size 0"), *out("figure")),
        c("9", "run-batch-size-full-batch-method", *w("run -O gd --batch-size 2")),
        c("9", "run-seed-negative", *w("run --seed -1")),
        c("9", "figure-steps-float", *w("figure --steps 1e3"), *out("figure")),
        c("9", "figure-levels-bogus", *w("figure --levels cubic"), *out("figure")),
        c("9", "compare-aspect-bogus", *w("compare --aspect square"), *out("compare")),
        c("9", "run-reduction-bogus", *w("run --data d.csv --reduction median"), setup=line),
        c("9", "animate-frames-one", *w("animate --frames 1"), *out("animate")),
        c("9", "animate-fps-61", *w("animate --fps 61"), *out("animate")),
        c("9", "animate-dpi-int64max", "animate", "--dpi", INT64_MAX, *out("animate")),
        c("9", "animate-size-float", *w("animate --size 1e3x1e3"), *out("animate")),
        c("9", "lookahead-step-1e9", *w("lookahead --step 1000000000"), *out("lookahead")),
        c("9", "figure-xlim-reversed", *w("figure --xlim 2,1"), *out("figure")),
        c("9", "compare-xlim-inf", *w("compare --xlim inf,1"), *out("compare")),
        c("9", "config-xlim-reversed", *w("figure --config c.toml"), *out("figure"),
          setup=config("xlim = [2.0, 1.0]\n")),
        c("9", "run-start-empty", "run", "--start", ""),
        c("9", "run-start-nan", *w("run --start nan,0")),
        c("9", "figure-kappa-half", *w("figure -p quadratic --kappa 0.5"), *out("figure")),
        c("9", "rates-kappa-nan", *w("rates --kappa nan")),
        c("9", "rates-steps-one", *w("rates --steps 1")),
        c("9", "convert-lr-nan", *w(convert), "nan"),
        c("9", "convert-lr-1e400", *w(convert), "1e400"),
        c("9", "convert-dampening-nan",
          *w("convert --from pytorch --to book --lr 0.1 --beta 0.9 --dampening nan")),
        c("9", "convert-from-bogus", *w("convert --from torch2 --to book --lr 0.1 --beta 0.9")),
        c("9", "convert-missing-to", *w("convert --from book --lr 0.1 --beta 0.9")),
        c("9", "sweep-range-letters", *w("sweep --lr a:b:c"), *out("sweep")),
        c("9", "sweep-list-with-nan", *w("sweep --lr 0.01,0.02,nan"), *out("sweep")),
        c("9", "sweep-tol-negative", *w("sweep --tol -1"), *out("sweep")),
        c("9", "sweep-tol-nan", *w("sweep --tol nan"), *out("sweep")),
        c("9", "sweep-axis-unknown", *w("sweep --axis nope=1:2:3"), *out("sweep")),
        c("9", "sweep-three-axes", *w("sweep -O adam --lr 0.01:0.1:3 --beta 0.1:0.9:3 --gamma 0.9:0.99:3"),
          *out("sweep")),
        c("9", "tune-budget-zero", *w("tune --budget 0")),
        c("9", "serve-port-negative", *w("serve --no-browser --port -1")),
        c("9", "serve-port-70000", *w("serve --no-browser --port 70000")),
        c("9", "serve-port-2e64", "serve", "--no-browser", "--port", str(2**64)),
        c("9", "serve-host-bad-ip", *w(busy), "256.256.256.256"),
        c("9", "serve-host-not-this-machine", *w(busy), "192.0.2.1"),
        c("9", "serve-host-with-space", *w(busy), "exa mple"),
        c("9", "serve-host-empty", *w(busy), ""),
        c("9", "serve-port-in-use", *w("serve --no-browser --port {busy_port}")),
        c("9", "unknown-command", "fgure"),
        c("9", "figure-option-missing-value", "figure", *out("figure"), "--steps"),
        c("9", "run-delimiter-two-chars", *w("run --data d.csv --delimiter ab"), setup=line),
        c("9", "compare-set-unknown-optimizer", *w("compare --set nope.lr=0.1"), *out("compare")),
        c("9", "figure-from-with-steps", *w("figure --from run.json --steps 5"), *out("figure"),
          setup=files({"run.json": "{}"})),
        c("9", "figure-slice-two-params", *w("figure --slice p0,p9"), *out("figure")),
    ]


# ---- 10. terminal escapes in error messages ----------------------------------------------------

def _class10() -> list[Case]:
    esc_header = data(f"x{ESC},y\u009b31m\n0,1\n1,2\n2,4\n")
    busy = "serve --no-browser --port {busy_port} --host"
    return [
        c("10", "figure-csv-header-escapes-unknown-x", *w("figure --data d.csv --x nope"), *out("figure"),
          setup=esc_header),
        c("10", "run-csv-header-escapes-unknown-y", *w("run --data d.csv --y nope"), setup=esc_header),
        c("10", "compare-csv-cell-escape", *w("compare --data d.csv"), *out("compare"),
          setup=data(f"x,y\n0,1\n1,{ESC}\n2,4\n")),
        c("10", "run-csv-header-only-escapes", *w("run --data d.csv"),
          setup=data(f"{ESC},{ESC}\nfoo,bar\nbaz,qux\n")),
        c("10", "html-csv-same-column-escape", *w("html --data d.csv --x"), f"x{ESC}", "--y", f"x{ESC}",
          *out("html"), setup=esc_header),
        c("10", "run-problem-escape", "run", "--problem", f"{ESC}red"),
        c("10", "compare-optimizers-escape", "compare", "--optimizers", f"gd,{ESC}", *out("compare")),
        c("10", "figure-levels-escape", "figure", "--levels", ESC, *out("figure")),
        c("10", "figure-output-escape-missing-folder", "figure", "-o", f"missing{ESC}/x.png"),
        c("10", "run-data-escape-missing", "run", "--data", f"{ESC}.csv"),
        c("10", "compare-config-escape-missing", "compare", "--config", f"{ESC}.toml", *out("compare")),
        c("10", "compare-config-table-escape", *w("compare --config c.toml"), *out("compare"),
          setup=config('[optimizers."\\u001b[31mred"]\nmethod = "nope\\u001b]0;x\\u0007"\n')),
        c("10", "figure-config-key-escape", *w("figure --config c.toml"), *out("figure"),
          setup=config('"st\\u001b[2Jeps" = 5\n')),
        c("10", "convert-from-escape", "convert", "--from", ESC, *w("--to book --lr 0.1 --beta 0.9")),
        c("10", "serve-host-escape", *w(busy), f"{ESC}host"),
        c("10", "run-x-escape", *w("run --data d.csv --x"), ESC, setup=data(GOOD_CSV)),
        c("10", "run-problem-newline", "run", "--problem", "line\nfit"),
        c("10", "figure-problem-c1-next-line", "figure", "--problem", "a\u0085b", *out("figure")),
        c("10", "run-unknown-option-escape", "run", f"--{ESC}"),
        c("10", "sweep-lr-escape", "sweep", "--lr", f"0.1:{ESC}:3", *out("sweep")),
        c("10", "tune-optimizers-escape", "tune", "--optimizers", ESC),
        c("10", "figure-csv-escape-in-ragged-row", *w("figure --data d.csv"), *out("figure"),
          setup=data(f"x,y\n0,1\n1,2\n2,3,{ESC}\n")),
        c("10", "figure-from-escape-json", *w("figure --from r.json"), *out("figure"),
          setup=files({"r.json": '{"format": "descentlab-trajectory/9\\u001b[31m"}'})),
    ]


# ---- 12 and the data files in general ----------------------------------------------------------

def _csv() -> list[Case]:
    meta = "r.csv.meta.json"
    return [
        c("12", "figure-csv-missing", *w("figure --data nope.csv"), *out("figure")),
        c("12", "run-csv-empty", *w("run --data d.csv"), setup=data("")),
        c("12", "compare-csv-directory", *w("compare --data ddir"), *out("compare"),
          setup=files({"ddir": directory})),
        c("12", "run-csv-fifo", *w("run --data d.csv"), setup=data(fifo)),
        c("12", "sweep-csv-fifo", *w("sweep --data d.csv"), *out("sweep"), setup=data(fifo)),
        c("12", "html-csv-dev-zero", *w("html --data /dev/zero"), *out("html")),
        c("12", "tune-csv-link-to-dev-zero", *w("tune --data z.csv"),
          setup=data(link_to("/dev/zero"), "z.csv")),
        c("12", "run-csv-binary", *w("run --data d.csv"), setup=data(bytes(range(256)) * 64)),
        c("12", "figure-csv-not-utf8", *w("figure --data d.csv"), *out("figure"),
          setup=data(b"x,y\xff\xfe\n0,1\n1,\xe92\n2,3\n")),
        c("12", "run-csv-one-row", *w("run --data d.csv"), setup=data("x,y\n1,2\n")),
        c("12", "figure-csv-header-only", *w("figure --data d.csv"), *out("figure"), setup=data("x,y\n")),
        c("12", "compare-csv-nan-cell", *w("compare --data d.csv"), *out("compare"),
          setup=data("x,y\n0,1\n1,nan\n2,3\n")),
        c("12", "run-csv-inf-cell", *w("run --data d.csv"), setup=data("x,y\n0,1\ninf,2\n2,3\n")),
        c("12", "lookahead-csv-ragged", *w("lookahead --data d.csv"), *out("lookahead"),
          setup=data("x,y\n0,1\n1\n2,3,4,5\n")),
        c("12", "run-csv-sparse-2GB", *w("run --data d.csv"), setup=data(sparse(2 * 1024**3, b"x,y\n0,1\n"))),
        c("12", "figure-csv-400MB", *w("figure --data d.csv"), *out("figure"),
          setup=data(repeated("x,y\n", "0.5,1.5\n1.5,3.5\n", 400 * 1024**2))),
        c("12", "run-csv-one-400MB-line", *w("run --data d.csv"),
          setup=data(sparse(400 * 1024**2, b"x,y\n0,1\n1,2\n3,"))),
        c("12", "run-csv-link-loop", *w("run --data a.csv"),
          setup=files({"a.csv": link_to("b.csv"), "b.csv": link_to("a.csv")})),
        c("12", "run-csv-x-and-y-same", *w("run --data d.csv --x x --y x"), setup=data(GOOD_CSV)),
        c("12", "figure-from-bad-json", *w("figure --from r.json"), *out("figure"),
          setup=files({"r.json": '{"format": "descentlab-trajectory/2", "steps": [1, 2'})),
        c("12", "figure-from-fifo", *w("figure --from r.json"), *out("figure"),
          setup=files({"r.json": fifo})),
        c("12", "figure-from-truncated-csv", *w("figure --from r.csv"), *out("figure"),
          setup=files({"r.csv": "step,loss,p0,p1\n0,1.0,0.5\n1,0.5", meta: "{}"})),
        c("12", "figure-from-csv-without-meta", *w("figure --from r.csv"), *out("figure"),
          setup=files({"r.csv": "step,loss,p0,p1\n0,1.0,0.5,0.5\n"})),
        c("12", "figure-from-sparse-1GB-json", *w("figure --from r.json"), *out("figure"),
          setup=files({"r.json": sparse(1024**3, b'{"format": "descentlab-trajectory/2", "x": "')})),
        c("12", "figure-from-dev-zero-link", *w("figure --from r.json"), *out("figure"),
          setup=files({"r.json": link_to("/dev/zero")})),
        c("12", "figure-from-deeply-nested-json", *w("figure --from r.json"), *out("figure"),
          setup=files({"r.json": nested(100_000, "[", "]", "1")})),
        c("12", "figure-from-wrong-suffix", *w("figure --from r.txt"), *out("figure"),
          setup=files({"r.txt": "{}"})),
    ]


CASES: list[Case] = [*_class1(), *_class2(), *_class3(), *_class4(), *_class6(), *_class7(), *_class8(),
                     *_class9(), *_class10(), *_csv()]
"""Every hostile command line; each must be refused (exit 2, one clean line, nothing written)."""


# ---- legal but heavy input (classes 3, 5, 12) ----------------------------------------------------

def _legal() -> list[Case]:
    def table(method: str, beta: float) -> str:
        return f'[optimizers."{method} {beta}"]\nmethod = "{method}"\nbeta = {beta}\n'

    six = "".join(table("nesterov", b) for b in (0.1, 0.3, 0.5, 0.7, 0.8, 0.9))
    four = "".join(table("momentum", b) for b in (0.2, 0.5, 0.7, 0.9))
    huge = "--resolution 2000 -o"
    return [
        Case("legal3-figure-1999-char-loss-resolution-2000",
             ("figure", "--loss", LEGAL_LOSS, *w(huge), "out.png"),
             "3", outputs=("out.png",), timeout=45, expect="bounded"),
        Case("legal3-html-1999-char-loss-resolution-2000",
             ("html", "--loss", LEGAL_LOSS, *w(huge), "out.html"),
             "3", outputs=("out.html",), timeout=45, expect="bounded"),
        Case("legal3-run-1999-char-loss", ("run", "--loss", LEGAL_LOSS, *w("--steps 100")), "3", expect="ok"),
        Case("legal5-compare-six-settings-of-nesterov", w("compare --config c.toml -o out.png"), "5",
             setup=config(six), outputs=("out.png",), timeout=30, expect="ok"),
        Case("legal5-compare-four-settings-of-momentum", w("compare --config c.toml -o out.png"), "5",
             setup=config(four), outputs=("out.png",), timeout=30, expect="ok"),
        Case("legal12-run-csv-40MB", w("run --data d.csv --steps 3"), "12",
             setup=data(repeated("x,y\n", "0.5,1.5\n1.5,3.5\n", 40 * 1024**2)), timeout=45, expect="bounded"),
        Case("legal12-run-csv-constant-x", w("run --data d.csv"), "12",
             setup=data("x,y\n1,1\n1,2\n1,3\n1,4\n"), expect="ok"),
    ]


LEGAL: list[Case] = _legal()


def _check_unique() -> None:
    seen: set[str] = set()
    for case in (*CASES, *LEGAL):
        if case.id in seen:
            raise AssertionError(f"two cases are called {case.id}")
        seen.add(case.id)


_check_unique()
