"""Hostile CSV input: what is refused before reading, how errors read, and the memory reading takes.

* Not a regular file (a named pipe, ``/dev/zero``, a directory) or larger than
  :data:`~descentlab.problems.data.MAX_CSV_BYTES`: refused at once, from the file's metadata.
* Every error is one line of at most 400 characters with no control character, naming the file
  and the offending value (cut when huge: a 10⁶-column header, a megabyte cell), and raises no
  warning. Values whose squares overflow are refused by ``check_xy``, naming the value.
* Reading a table takes at most ~3× the file's size in memory (measured in a fresh process), by
  numpy's parser and by the csv module, which read block by block and agree exactly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from descentlab.datasets import from_csv
from descentlab.errors import MESSAGE_LIMIT, InputError
from descentlab.problems import data
from descentlab.problems.data import MAX_CSV_BYTES, DataError, check_xy, parse_csv, read_csv
from own_peak import OWN_PEAK


def write(tmp_path, content, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def wide(n: int) -> str:
    names = ",".join(f"c{i}" for i in range(n))
    return names + "\n" + ",".join(["1"] * n) + "\n" + ",".join(["2"] * n) + "\n"


def fifo(tmp_path):
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    return path


def sparse(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.truncate(MAX_CSV_BYTES + 1)  # no blocks written: the size alone is refused
    return path


def link_to_zero(tmp_path):
    path = tmp_path / "zero.csv"
    path.symlink_to("/dev/zero")
    return path


# name: (the file: content or a function of tmp_path, read_csv keywords, expected in the message)
CASES = {
    "named pipe": (fifo, {}, "not a file but a named pipe (FIFO)"),
    "/dev/zero": (lambda tmp: "/dev/zero", {}, "/dev/zero: not a file but a character device"),
    "link to /dev/zero": (link_to_zero, {}, "character device"),
    "directory": (lambda tmp: tmp, {}, ": not a file"),
    "missing": (lambda tmp: tmp / "missing.csv", {}, "missing.csv: no such file"),
    "too large": (sparse, {}, "is 100.0 MB; CSV files of at most 100 MB are read"),
    "not UTF-8": (b"x,y\n1,\xff\n3,4\n", {}, "not a UTF-8 text file (byte 7 is 0xff)"),
    "wide header, unknown x": (wide(20_000), {"x": "nope"},
                               "no column 'nope' (for x); columns are: c0, c1, c2, c3, c4, c5, c6, c7, c8, "
                               "c9, c10, c11, … (20,000 columns)"),
    "huge unknown y": ("a,b\n1,2\n3,4\n", {"y": "q" * 100_000}, "no column 'qqqq"),
    "escape in the unknown column": ("a,b\n1,2\n3,4\n", {"x": "\x1b[2J"}, "no column '\\x1b[2J'"),
    "escape in a header": ("a\x1b]0;owned\x07,b\n1,2\n3,4\n", {"x": "c"},
                           "columns are: a\\x1b]0;owned\\x07, b"),
    "bidi override in a header": ("\u202eab,c\n1,2\n3,4\n", {"x": "z"}, "columns are: \\u202eab, c"),
    "bell in a cell": ("a,b\n1,2\n3,\x07\n4,5\n", {}, "row 3, column 'b': '\\x07' is not a number"),
    "megabyte cell": ("a,b\n1,2\n3," + "z" * 1_000_000 + "\n", {}, "line 3: field larger than field limit"),
    "long cell": ("a,b\n1,2\n3," + "z" * 100_000 + "\n", {}, "row 3, column 'b': 'zzzz"),
    "long cell of digits": ("a;b\n1;2\n3;" + "9" * 100_000 + "\n", {}, "row 3, column 'b': 999"),
    "infinite cell": ("a,b\n1,2\n3,-inf\n", {}, "row 3, column 'b': -inf is not a finite number"),
    "nan cell": ("a,b\n1,nan\n3,4\n", {}, "row 2, column 'b': nan is not a finite number"),
    "header only, many columns": (",".join(f"n{i}" for i in range(5000)) + "\n", {},
                                  "has a header (n0, n1, n2"),
    "ragged row": ("a,b\n1,2\n" + ",".join(["3"] * 100_000) + "\n", {},
                   "row 3: 100000 cells, but the header has 2"),
    "no two numeric columns": (",".join(f"t{i}" for i in range(3000)) + "\n" + ",".join(["w"] * 3000) + "\n",
                               {}, "needs two numeric columns for x and y; columns are: t0, t1"),
    "same column, long name": ("n" * 5000 + ",b\n1,2\n3,4\n", {"x": "n" * 5000, "y": "n" * 5000},
                               "x and y are the same column 'nnnn"),
    "one data row": ("a,b\n1,2\n", {}, "has 1 data row; at least 2 are needed"),
    "empty": ("# only a comment\n", {}, "is empty"),
    "invalid CSV": ('a,b\n1,"2\n3,4\n"x"y,5\n', {}, "data.csv"),
    "control characters in the path": (lambda tmp: tmp / "a\x1b[31m\n.csv", {},
                                       "a\\x1b[31m\\n.csv: no such file"),
    "long path": (lambda tmp: tmp / ("d" * 250) / ("e" * 250) / "x.csv", {}, "no such file"),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_csv_input_gives_one_short_safe_line(tmp_path, name):
    source, kwargs, expected = CASES[name]
    path = source(tmp_path) if callable(source) else write(tmp_path, source)
    old = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("read_csv waited"))
    signal.alarm(20)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(DataError) as info:
                read_csv(path, **kwargs)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    message = str(info.value)
    assert expected in message, message
    assert len(message) <= MESSAGE_LIMIT and message.isprintable(), message


def test_a_million_columns_and_an_unknown_x_give_a_short_line(tmp_path):
    path = write(tmp_path, wide(1_000_000))
    with pytest.raises(DataError) as info:
        read_csv(path, x="nope")
    message = str(info.value)
    assert message.endswith("columns are: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, "
                            "… (1,000,000 columns)")
    assert len(message) <= MESSAGE_LIMIT
    assert read_csv(path).describe().endswith("x = c0, y = c1")


def test_text_longer_than_the_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(data, "MAX_CSV_BYTES", 100)
    with pytest.raises(DataError, match=r"^upload\.csv is 101 characters long; at most 100 are read"):
        parse_csv("x,y\n" + "1,2\n" * 24 + "1", "upload.csv")


@pytest.mark.parametrize(("x", "y", "expected"), [
    ([1e200, 2.0, 3.0], [1.0, 2.0, 3.0], "x[0] is 1e+200"),
    ([1.0, 2.0, 3.0], [1.0, -2e150, 3.0], "y[1] is -2e+150"),
    ([1.0, 2.0, 1.7e308], [1.0, 2.0, 3.0], "x[2] is 1.7e+308"),
])
def test_values_whose_squares_overflow_are_refused_by_name(x, y, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError) as info:
            check_xy(x, y)
    assert str(info.value).startswith(expected) and "up to 1e+100" in str(info.value)
    check_xy([1e100, -1e100], [1.0, 2.0])  # the limit itself is fine


def test_the_columns_are_named_when_given():
    with pytest.raises(InputError, match=r"^y\[1\] \(column 'sco\\x1bre'\) is 1e\+300; values up to"):
        check_xy([1.0, 2.0], [1.0, 1e300], labels=("hours", "sco\x1bre"))


def test_a_csv_value_of_1e200_gives_one_line_and_no_warning(tmp_path):
    path = write(tmp_path, "hours,score\n1e200,1\n2,3\n4,5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_csv(path)  # the table itself reads back exactly
        assert table.x[0] == 1e200
        with pytest.raises(InputError, match=r"^x\[0\] \(column 'hours'\) is 1e\+200; values up to 1e\+100"):
            from_csv(path)


# ---- numpy's block-wise reading and the csv module's agree -------------------------------------

MIXED = ("\ufeff# exported\r\nhours;score;id\r\n1,5;38;1\r\n\r\n# a break, with; separators\r\n2;40;2\r\n"
         "   \r\n3,25;45,5;3\r\n" + "".join(f"{i},5;{i}0;{i}\r\n" for i in range(4, 60)) + "# end\r\n")


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("text", [MIXED, MIXED.replace("\r\n", "\n"),
                                  MIXED.replace("\r\n", "\n").replace(",", ".")])
def test_blocks_of_any_size_read_like_the_csv_module(monkeypatch, block, text):
    monkeypatch.setattr(data, "_BLOCK", block)
    calls = []
    numpy_only = data._fast_table
    monkeypatch.setattr(data, "_fast_table", lambda *args: calls.append(1) or numpy_only(*args))
    fast = parse_csv(text, "t.csv")
    monkeypatch.setattr(data, "FAST_PATH", False)
    slow = parse_csv(text, "t.csv")
    assert calls and numpy_only(text, text.index("1,5;38") if "1,5" in text else text.index("1.5;38"), ";", 3)
    np.testing.assert_array_equal(fast.x, slow.x)
    np.testing.assert_array_equal(fast.y, slow.y)
    assert fast.describe() == slow.describe()
    assert fast.x[:3].tolist() == [1.5, 2.0, 3.25] and len(fast.x) == 59


# ---- memory, measured in a fresh process --------------------------------------------------------

PEAK = OWN_PEAK + textwrap.dedent("""
    import os, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    from descentlab.problems import data
    if sys.argv[2] == "slow":
        data.FAST_PATH = False
    before = own_peak()
    table = data.read_csv(sys.argv[1])
    after = own_peak()
    print(len(table.x), (after - before) / os.path.getsize(sys.argv[1]))
""")


@pytest.mark.parametrize(("kind", "rows", "path"), [
    ("numbers", 1_000_000, "fast"),
    ("numbers with a text column", 300_000, "slow"),
    ("decimal commas", 600_000, "fast"),
])
def test_reading_takes_at_most_three_times_the_file_size(tmp_path, kind, rows, path):
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=rows), rng.normal(size=rows)
    pairs = list(zip(x.tolist(), y.tolist(), strict=True))
    file = tmp_path / "big.csv"
    with open(file, "w") as f:
        if kind == "numbers":
            f.write("x,y\n")
            np.savetxt(f, np.column_stack([x, y]), delimiter=",", fmt="%.15g")
        elif kind == "decimal commas":
            f.write("x;y\n")
            f.write("".join(f"{a:.15g};{b:.15g}\n".replace(".", ",") for a, b in pairs))
        else:
            f.write("name,x,y\n")
            f.write("".join(f"p{i},{a!r},{b!r}\n" for i, (a, b) in enumerate(pairs)))
    done = subprocess.run([sys.executable, "-c", PEAK, str(file), path], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    n, ratio = done.stdout.split()
    assert int(n) == rows
    assert float(ratio) <= 3.0, f"{kind}: {float(ratio):.2f}× the file size"
