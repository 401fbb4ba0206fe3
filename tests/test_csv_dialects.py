"""CSV files as spreadsheets, pandas and numpy write them: one table of dialects, each read by
``read_csv`` and by the command line, which must both take the same columns and say so in one line.

The oracle is the table itself: the numbers each file holds are written out by hand below, and
the command line's first loss, L[φ0 = 0, φ1 = 1] = Σ (x_i − y_i)², is checked against them.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import descentlab as dl
from descentlab.cli import main
from descentlab.datasets import DataError, parse_csv, parse_delimiter, read_csv

X = [1.5, 2.0, 3.5]
Y = [38.0, 40.0, 45.0]


def case(content, x=X, y=Y, names=("hours", "score"), line=None, **kwargs):
    return {"content": content, "x": x, "y": y, "names": names, "line": line, "kwargs": kwargs}


DIALECTS = {
    "comma": case("hours,score\n1.5,38\n2,40\n3.5,45\n",
                  line="data: {} (comma-separated, 3 rows): x = hours, y = score"),
    "semicolon": case("hours;score\n1.5;38\n2;40\n3.5;45\n",
                      line="data: {} (semicolon-separated, 3 rows): x = hours, y = score"),
    "tab": case("hours\tscore\n1.5\t38\n2\t40\n3.5\t45\n",
                line="data: {} (tab-separated, 3 rows): x = hours, y = score"),
    "decimal comma": case("hours;score\n1,5;38\n2;40\n3,5;45\n",
                          line="data: {} (semicolon-separated, decimal commas, 3 rows): "
                               "x = hours, y = score"),
    "decimal comma, tab": case("hours\tscore\n1,5\t38,25\n2\t40\n3,5\t45\n", y=[38.25, 40.0, 45.0]),
    "decimal commas everywhere": case("1,5;38,5\n2,0;40,5\n3,5;45,5\n", y=[38.5, 40.5, 45.5],
                                      names=("1", "2"),
                                      line="data: {} (semicolon-separated, decimal commas, 3 rows): "
                                           "x = column 1, y = column 2"),
    "comments": case("# exported 2024-05-01\n#units: hours, points\nhours,score\n1.5,38\n# a break\n2,40\n"
                     "   # indented\n3.5,45\n# the end\n"),
    "comment before a semicolon header": case("# survey; first wave\nhours;score\n1,5;38\n2;40\n3,5;45\n"),
    "BOM": case(b"\xef\xbb\xbfhours;score\n1,5;38\n2;40\n3,5;45\n"),
    "CRLF": case("hours;score\r\n1,5;38\r\n2;40\r\n3,5;45\r\n"),
    "CR only": case("hours\tscore\r1.5\t38\r2\t40\r3.5\t45\r"),
    "quoted fields": case('"hours";"score"\n"1,5";"38"\n"2";"40"\n"3,5";"45"\n'),
    "quoted separator in a name": case('"name, first";"hours";"score"\n"Smith, J";1,5;38\n"Ng; K";2;40\n'
                                       '"Li, Q";3,5;45\n'),
    "excel sep= line": case("sep=;\r\nhours;score\r\n1,5;38\r\n2;40\r\n3,5;45\r\n"),
    "numeric-looking header": case("1990,2000\n1.5,38\n2,40\n3.5,45\n", names=("1990", "2000"),
                                   line="data: {} (comma-separated, a first row of numbers read as column "
                                        "names, 3 rows): x = 1990, y = 2000"),
    "numeric-looking header over decimals": case("1990;2000\n1,5;38,0\n2,0;40,0\n3,5;45,0\n",
                                                 names=("1990", "2000")),
    "id column": case("id,hours,score\n1,1.5,38\n2,2,40\n3,3.5,45\n",
                      line="data: {} (comma-separated, 3 rows): x = hours, y = score; not used: id "
                           "(an id column)"),
    "student ids": case("student_id;hours;score\n1017;1,5;38\n1003;2;40\n1042;3,5;45\n"),
    "pandas index": case(",hours,score\n0,1.5,38\n1,2,40\n2,3.5,45\n",
                         line="data: {} (comma-separated, 3 rows): x = hours, y = score; "
                              "not used: the unnamed column (an id column)"),
    "headerless row numbers": case("1;1,5;38\n2;2;40\n3;3,5;45\n", names=("2", "3"),
                                   line="data: {} (semicolon-separated, decimal commas, 3 rows): "
                                        "x = column 2, y = column 3; not used: column 1 (an id column)"),
    "blank lines": case("\n\nhours,score\n\n1.5,38\n,\n2,40\n   \n3.5,45\n\n\n"),
    "numpy savetxt header": case("# hours,score\n1.500000000000000000e+00,3.800000000000000000e+01\n"
                                 "2.000000000000000000e+00,4.000000000000000000e+01\n"
                                 "3.500000000000000000e+00,4.500000000000000000e+01\n",
                                 line="data: {} (comma-separated, column names from a # line, 3 rows): "
                                      "x = hours, y = score"),
    "sorted data is not a header": case("1,30\n1.5,38.5\n2.5,40.25\n", x=[1.0, 1.5, 2.5],
                                        y=[30.0, 38.5, 40.25], names=("1", "2")),
    "given delimiter": case("hours|score\n1.5|38\n2|40\n3.5|45\n", delimiter="pipe",
                            line="data: {} (pipe-separated, 3 rows): x = hours, y = score"),
    "given tab": case("a,b\thours\tscore\nx\t1.5\t38\ny\t2\t40\nz\t3.5\t45\n", names=("hours", "score"),
                      delimiter="\\t"),
}


def write(tmp_path, content, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("name", DIALECTS)
def test_read_csv_reads_every_dialect(tmp_path, name):
    c = DIALECTS[name]
    path = write(tmp_path, c["content"])
    table = read_csv(path, **c["kwargs"])
    np.testing.assert_array_equal(table.x, c["x"])
    np.testing.assert_array_equal(table.y, c["y"])
    assert (table.x_name, table.y_name) == c["names"]
    line = table.describe()
    assert line.startswith(f"data: {path} (") and "\n" not in line
    assert f"{len(c['x'])} rows" in line
    if c["line"] is not None:
        assert line == c["line"].format(path)


@pytest.mark.parametrize("name", DIALECTS)
def test_the_command_line_reads_every_dialect_and_says_which_columns(tmp_path, capsys, name):
    c = DIALECTS[name]
    path = write(tmp_path, c["content"])
    given = ["--delimiter", c["kwargs"]["delimiter"]] if "delimiter" in c["kwargs"] else []
    saved = tmp_path / "run.json"
    assert main(["run", "--data", str(path), *given, "--optimizer", "gd", "--lr", "1e-4", "--steps", "1",
                 "--start", "0,1", "--save", str(saved)]) == 0
    err = capsys.readouterr().err
    data_lines = [s for s in err.splitlines() if s.startswith("data: ")]
    assert data_lines == [read_csv(path, **c["kwargs"]).describe()]  # one line, once
    traj = dl.Trajectory.from_json(saved)
    x, y = np.array(c["x"]), np.array(c["y"])
    assert traj.losses[0] == pytest.approx(np.sum((x - y) ** 2), rel=1e-12)  # L[0, 1] on these numbers


@pytest.mark.parametrize("command", ["figure", "run", "compare", "lookahead", "animate", "html", "sweep",
                                     "tune"])
def test_every_command_that_reads_data_says_what_it_read(tmp_path, capsys, command):
    path = write(tmp_path, "id;hours;score\n# exported\n1;1,5;38\n2;2;40\n3;3,5;45\n4;4;50\n")
    out = {"animate": "a.gif", "html": "a.html"}.get(command, "a.png")
    small = ["--lr", "1e-4", "--steps", "3"]
    extra = {
        "run": small,
        "figure": [*small, "-o", str(tmp_path / out)],
        "compare": [*small, "--optimizers", "gd,nesterov", "-o", str(tmp_path / out)],
        "lookahead": [*small, "-o", str(tmp_path / out)],
        "animate": [*small, "--optimizers", "gd", "--size", "240x200", "-o", str(tmp_path / out)],
        "html": [*small, "--optimizers", "gd", "--resolution", "20", "-o", str(tmp_path / out)],
        "sweep": ["--steps", "5", "--lr", "1e-4,1e-3", "--beta", "0.5", "-o", str(tmp_path / out)],
        "tune": ["--budget", "3", "--trials", "2", "--seeds", "1", "--optimizers", "gd"],
    }[command]
    assert main([command, "--data", str(path), *extra]) == 0
    err = capsys.readouterr().err
    expected = (f"data: {path} (semicolon-separated, decimal commas, 4 rows): x = hours, y = score; "
                "not used: id (an id column)")
    assert [s for s in err.splitlines() if s.startswith("data: ")] == [expected]


def test_a_model_fitted_to_data_says_what_it_read_too(tmp_path, capsys):
    path = write(tmp_path, "t\tv\n0,5\t1\n1\t2,5\n2\t3\n")
    assert main(["run", "--data", str(path), "--model", "p0 + p1*x", "--steps", "1"]) == 0
    assert f"data: {path} (tab-separated, decimal commas, 3 rows): x = t, y = v" in capsys.readouterr().err


def test_id_columns_are_used_when_nothing_else_is_left(tmp_path):
    table = read_csv(write(tmp_path, "id,score\n1,38\n2,40\n3,45\n"))
    assert (table.x_name, table.y_name) == ("id", "score") and table.left_out == ()
    # named columns that merely count 1..N are data (a day number, say), and so is a given id
    assert read_csv(write(tmp_path, "day,hours,score\n1,1.5,38\n2,2,40\n3,3.5,45\n")).x_name == "day"
    assert read_csv(write(tmp_path, "id,hours,score\n1,1.5,38\n2,2,40\n"), x="id").y_name == "hours"


def test_an_id_column_of_repeated_or_fractional_values_is_data(tmp_path):
    for content in ("id,hours,score\n1,1.5,38\n1,2,40\n2,3.5,45\n", "id,hours,score\n1.5,1.5,38\n2,2,40\n"):
        assert read_csv(write(tmp_path, content)).x_name == "id"


def test_explicit_columns_with_a_detected_separator(tmp_path):
    table = read_csv(write(tmp_path, "id;hours;score\n1;1,5;38\n2;2;40\n"), x="score", y="hours")
    np.testing.assert_array_equal(table.x, [38, 40])
    np.testing.assert_array_equal(table.y, [1.5, 2.0])
    assert table.describe().endswith("x = score, y = hours")


@pytest.mark.parametrize(("text", "expected"), [
    (",", ","), (";", ";"), ("tab", "\t"), ("TAB", "\t"), ("\\t", "\t"), ("\t", "\t"), ("semicolon", ";"),
    ("comma", ","), ("pipe", "|"), ("space", " "), (None, None)])
def test_parse_delimiter(text, expected):
    assert parse_delimiter(text) == expected


@pytest.mark.parametrize("text", ["", ";;", "a", "1", ".", "-", '"', "#", "\n", "tabs"])
def test_parse_delimiter_refuses(text):
    with pytest.raises(ValueError, match=r"^delimiter must be one character"):
        parse_delimiter(text)


# ---- errors: one line naming the file, row, column and value, control characters escaped --------

ERRORS = {
    "not a number": ("hours;score\n1,5;38\n2;abc\n", {}, "row 3, column 'score': 'abc' is not a number"),
    "control character in a cell": ("hours;score\n1;2\n3;a\x1bb\n", {},
                                     "row 3, column 'score': 'a\\x1bb' is not a number"),
    "control character in a name": ("h\x07;s\n1;2\nz;3\n", {}, "row 3, column 'h\\x07': 'z' is not a number"),
    "decimal comma in a comma file": ('x,y\n"1,5",2\n3,4\n', {}, "row 2, column 'x': '1,5' is not a number"),
    "thousands separators": ("x;y\n1.234,5;2\n3;4\n", {}, "row 2, column 'x': '1.234,5' is not a number"),
    "not finite": ("x;y\n1;2\n3;inf\n", {}, "row 3, column 'y': inf is not a finite number"),
    "wrong separator given": ("x\ty\n1\t2\n3\t4\n", {"delimiter": ";"},
                              "needs two numeric columns for x and y; columns are: x\\ty (split at the "
                              "semicolon, every row is one cell)"),
    "ragged rows": ("x;y\n1;2\n3;4;5\n", {}, "row 3: 3 cells, but the header has 2"),
    "comment-only file": ("# nothing here\n# at all\n", {}, " is empty"),
    "unknown column": ("a;b\n1;2\n3;4\n", {"x": "c"}, "no column 'c' (for x); columns are: a, b"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_one_line_with_file_row_column_and_value(tmp_path, capsys, name):
    content, kwargs, expected = ERRORS[name]
    path = write(tmp_path, content)
    with pytest.raises(DataError) as info:
        read_csv(path, **kwargs)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message
    assert message.isprintable(), message  # no raw control character, no line break
    args = [f"--{k}={v}" for k, v in kwargs.items()]
    assert main(["run", "--data", str(path), *args, "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err == f"descentlab run: error: {message}\n"


def test_a_file_name_with_control_characters_is_escaped(tmp_path, capsys):
    path = write(tmp_path, "x;y\n1;2\n3;oops\n", name="odd\x1b[31mname\n.csv")
    with pytest.raises(DataError) as info:
        read_csv(path)
    message = str(info.value)
    assert message.isprintable() and "odd\\x1b[31mname\\n.csv row 3, column 'y'" in message
    assert read_csv(write(tmp_path, "x;y\n1;2\n3;4\n", name="ok\t.csv")).describe().isprintable()


# ---- property: any table, written in any dialect, reads back exactly ----------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)


@settings(max_examples=80, deadline=None)
@given(pairs=st.lists(st.tuples(finite, finite), min_size=2, max_size=25),
       dialect=st.sampled_from([(",", False), (";", False), (";", True), ("\t", False), ("\t", True)]),
       header=st.booleans(), newline=st.sampled_from(["\n", "\r\n"]), bom=st.booleans(),
       comments=st.lists(st.integers(0, 30), max_size=4), blanks=st.lists(st.integers(0, 30), max_size=3))
def test_any_table_in_any_dialect_reads_back_exactly(pairs, dialect, header, newline, bom, comments, blanks):
    sep, decimal_comma = dialect

    def cell(v: float) -> str:
        text = repr(v)
        return text.replace(".", ",") if decimal_comma else text

    lines = [f"{cell(a)}{sep}{cell(b)}" for a, b in pairs]
    if header:
        lines.insert(0, f"hours{sep}score")
    for at in sorted(comments, reverse=True):
        lines.insert(min(at, len(lines)), "# a comment, with; separators\tin it")
    for at in sorted(blanks, reverse=True):
        lines.insert(min(at, len(lines)), "")
    text = ("\ufeff" if bom else "") + newline.join(lines) + newline
    table = parse_csv(text, "t.csv")
    np.testing.assert_array_equal(table.x, [a for a, _ in pairs])
    np.testing.assert_array_equal(table.y, [b for _, b in pairs])
    assert table.delimiter == sep
    assert (table.x_name, table.y_name) == (("hours", "score") if header else ("1", "2"))
    assert table.decimal_comma == (decimal_comma and any("." in repr(v) for p in pairs for v in p))
    assert f"{len(pairs)} rows" in table.describe()


# ---- numpy's parser (tables of numbers only) and the csv module's read the same -----------------

@settings(max_examples=80, deadline=None)
@given(pairs=st.lists(st.tuples(finite, finite, st.integers(-5, 5)), min_size=2, max_size=20),
       dialect=st.sampled_from([(",", False), (";", False), (";", True), ("\t", True), ("|", False)]),
       header=st.sampled_from(["", "hours{0}score{0}id\n", "# hours{0}score{0}n\n", "{1}{0}2000{0}#\n"]),
       spaces=st.booleans())
def test_the_fast_and_the_csv_module_paths_agree(pairs, dialect, header, spaces):
    from descentlab.problems import data

    sep, decimal_comma = dialect
    pad = " " if spaces else ""

    def cell(v) -> str:
        text = repr(v)
        return pad + (text.replace(".", ",") if decimal_comma else text) + pad

    text = header.format(sep, 1990) + "".join(f"{cell(a)}{sep}{cell(b)}{sep}{cell(i)}\n" for a, b, i in pairs)
    given = sep if sep == "|" else None
    tables = []
    for fast in (True, False):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(data, "FAST_PATH", fast)
            try:
                tables.append(parse_csv(text, "t.csv", delimiter=given))
            except DataError as err:
                tables.append(str(err))
    fast, slow = tables
    if isinstance(slow, str):
        assert fast == slow
    else:
        np.testing.assert_array_equal(fast.x, slow.x)
        np.testing.assert_array_equal(fast.y, slow.y)
        assert fast.describe() == slow.describe()


def test_many_rows_read_by_numpy_equal_the_csv_module(tmp_path, monkeypatch):
    from descentlab.problems import data

    rng = np.random.default_rng(5)
    x, y = rng.uniform(1, 8, 100_000), rng.normal(50, 10, 100_000)
    rows = enumerate(zip(x.tolist(), y.tolist(), strict=True))
    path = write(tmp_path, "# big\nid;hours;score\n" + "".join(f"{i};{a!r};{b!r}\n".replace(".", ",")
                                                                for i, (a, b) in rows))
    numpy_only = data._fast_table
    monkeypatch.setattr(data, "_fast_table", lambda *args: numpy_only(*args) or pytest.fail("not by numpy"))
    fast = read_csv(path)  # by numpy: it would fail otherwise
    monkeypatch.setattr(data, "FAST_PATH", False)
    slow = read_csv(path)
    np.testing.assert_array_equal(fast.x, x)
    np.testing.assert_array_equal(fast.y, y)
    np.testing.assert_array_equal(slow.x, x)
    assert fast.describe() == slow.describe() == (f"data: {path} (semicolon-separated, decimal commas, "
                                                  "100000 rows): x = hours, y = score; not used: id "
                                                  "(an id column)")


def test_the_delimiter_is_a_configuration_key(tmp_path, capsys):
    from descentlab.config import Config

    path = write(tmp_path, "a|b\n1|2\n2|4,5\n3|5\n")
    cfg = Config(data=str(path), delimiter="\t")
    assert Config.from_toml(cfg.to_toml()).delimiter == "\t"
    (tmp_path / "run.toml").write_text(f'data = "{path}"\ndelimiter = "|"\n[optimizers.gd]\nlr = 0.01\n')
    assert main(["compare", "--config", str(tmp_path / "run.toml"), "--steps", "2", "-o",
                 str(tmp_path / "c.png")]) == 0
    assert f"data: {path} (pipe-separated, decimal commas, 3 rows): x = a, y = b" in capsys.readouterr().err
    np.testing.assert_array_equal(Config(data=str(path), delimiter="pipe").build_problem().y, [2, 4.5, 5])
    with pytest.raises(ValueError, match="x, y and delimiter say how to read data; give data"):
        Config(delimiter=";").build_problem()
