"""Tests for descentlab.datasets: CSV loading with one-line errors, check_xy, built-in data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descentlab import datasets
from descentlab.datasets import DataError, XYData, check_xy, parse_csv, read_csv


def write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def load_error(tmp_path: Path, content: str | bytes, **columns) -> str:
    """The DataError message read_csv gives for a file with ``content``, checked to be one line
    naming the file."""
    path = write(tmp_path, content)
    with pytest.raises(DataError) as info:
        read_csv(path, **columns)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message
    assert str(path) in message
    return message


# --------------------------------------------------------------------------- good files


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_the_table_checks_live_with_the_problems():
    # datasets re-exports them: one class and one function each, whichever module names them
    from descentlab.problems import data

    assert (DataError, XYData, check_xy, parse_csv, read_csv) == (
        data.DataError, data.XYData, data.check_xy, data.parse_csv, data.read_csv)


def test_header_default_columns(tmp_path):
    data = read_csv(write(tmp_path, "x,y\n0,1\n1,3\n2.5,-6e-1\n"))
    assert isinstance(data, XYData)
    assert (data.x_name, data.y_name) == ("x", "y")
    np.testing.assert_array_equal(data.x, [0.0, 1.0, 2.5])
    np.testing.assert_array_equal(data.y, [1.0, 3.0, -0.6])
    assert data.x.dtype == np.float64 and data.y.dtype == np.float64
    assert data.x.shape == data.y.shape == (3,)


def test_leading_text_column_is_skipped(tmp_path):
    data = read_csv(write(tmp_path, "name,height,score\nann,1.5,3\nbob,1.7,4\ncid,1.6,5\n"))
    assert (data.x_name, data.y_name) == ("height", "score")
    np.testing.assert_array_equal(data.x, [1.5, 1.7, 1.6])
    np.testing.assert_array_equal(data.y, [3, 4, 5])


def test_default_is_first_two_numeric_columns(tmp_path):
    data = read_csv(write(tmp_path, "a,label,b,c\n1,p,2,3\n4,q,5,6\n"))
    assert (data.x_name, data.y_name) == ("a", "b")
    np.testing.assert_array_equal(data.x, [1, 4])
    np.testing.assert_array_equal(data.y, [2, 5])


def test_text_columns_are_fine_when_not_used(tmp_path):
    # "label" holds text, but only a and c are read
    data = read_csv(write(tmp_path, "a,label,c\n1,p,3\n4,q,6\n"), x="c", y="a")
    np.testing.assert_array_equal(data.x, [3, 6])
    np.testing.assert_array_equal(data.y, [1, 4])


def test_explicit_columns(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n7,8,9\n")
    data = read_csv(path, x="c", y="a")
    assert (data.x_name, data.y_name) == ("c", "a")
    np.testing.assert_array_equal(data.x, [3, 6, 9])
    np.testing.assert_array_equal(data.y, [1, 4, 7])


def test_only_x_given_takes_next_numeric_column_for_y(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n")
    data = read_csv(path, x="b")
    assert (data.x_name, data.y_name) == ("b", "a")


def test_only_y_given_takes_first_other_numeric_column_for_x(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n")
    data = read_csv(path, y="a")
    assert (data.x_name, data.y_name) == ("b", "a")


def test_headerless_numeric_file(tmp_path):
    path = write(tmp_path, "0,1\n1,3\n2,5\n")
    data = read_csv(path)
    assert (data.x_name, data.y_name) == ("1", "2")
    np.testing.assert_array_equal(data.x, [0, 1, 2])
    np.testing.assert_array_equal(data.y, [1, 3, 5])
    swapped = read_csv(path, x="2", y="1")
    np.testing.assert_array_equal(swapped.x, [1, 3, 5])
    np.testing.assert_array_equal(swapped.y, [0, 1, 2])


def test_utf8_bom_is_ignored(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfx,y\n1,2\n3,4\n")
    data = read_csv(path)
    assert data.x_name == "x"  # not "\ufeffx"
    np.testing.assert_array_equal(data.x, [1, 3])
    assert read_csv(path, x="x", y="y").x_name == "x"


def test_bom_on_headerless_file(tmp_path):
    data = read_csv(write(tmp_path, b"\xef\xbb\xbf1,2\n3,4\n"))
    np.testing.assert_array_equal(data.x, [1, 3])


def test_blank_lines_are_skipped(tmp_path):
    data = read_csv(write(tmp_path, "\n\nx,y\n\n1,2\n   \n,\n3,4\n\n\n"))
    np.testing.assert_array_equal(data.x, [1, 3])
    np.testing.assert_array_equal(data.y, [2, 4])


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_line_endings(tmp_path, newline):
    data = read_csv(write(tmp_path, newline.join(["x,y", "1,2", "", "3,4", ""])))
    np.testing.assert_array_equal(data.x, [1, 3])
    np.testing.assert_array_equal(data.y, [2, 4])


def test_spaces_quotes_and_number_formats(tmp_path):
    data = read_csv(write(tmp_path, ' x ,"y"\n  1e3 ,"-2.5"\n+.5,\t1E-3\n'))
    assert (data.x_name, data.y_name) == ("x", "y")
    np.testing.assert_array_equal(data.x, [1000.0, 0.5])
    np.testing.assert_array_equal(data.y, [-2.5, 0.001])


def test_read_csv_accepts_str_path(tmp_path):
    data = read_csv(str(write(tmp_path, "x,y\n1,2\n3,4\n")))
    np.testing.assert_array_equal(data.y, [2, 4])


def test_parse_csv_names_its_source():
    assert parse_csv("x,y\n1,2\n3,4\n").x_name == "x"
    with pytest.raises(DataError, match=r"^data is empty$"):
        parse_csv("")
    with pytest.raises(DataError, match=r"^upload\.csv row 3, column 'y'"):
        parse_csv("x,y\n1,2\n3,oops\n", "upload.csv")


def test_loaded_data_fits_a_line(tmp_path):
    from descentlab.problems import linear_regression

    data = read_csv(write(tmp_path, "x,y\n0,1\n1,3\n2,5\n3,7\n"))
    problem = linear_regression(data.x, data.y)
    np.testing.assert_allclose(problem.minima[0], [1.0, 2.0], atol=1e-12)


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=2, max_size=30), st.booleans())
def test_round_trip(pairs, header):
    lines = ([] if not header else ["x,y"]) + [f"{a!r},{b!r}" for a, b in pairs]
    data = parse_csv("\n".join(lines) + "\n")
    np.testing.assert_array_equal(data.x, [a for a, _ in pairs])
    np.testing.assert_array_equal(data.y, [b for _, b in pairs])


# --------------------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(DataError) as info:
        read_csv(path)
    assert str(info.value) == f"{path}: no such file"


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(DataError) as info:
        read_csv(tmp_path)
    assert str(info.value) == f"{tmp_path}: not a file but a directory; give a CSV file"


def test_not_utf8(tmp_path):
    message = load_error(tmp_path, b"x,y\n1,2\n\xff\xfe,3\n")
    assert "not a UTF-8 text file" in message


def test_latin1_file_is_not_utf8(tmp_path):
    message = load_error(tmp_path, "größe,y\n1,2\n3,4\n".encode("latin-1"))
    assert "UTF-8" in message


@pytest.mark.parametrize("content", ["", "\n\n\n", "  \n , \n", b"\xef\xbb\xbf"],
                         ids=["empty", "newlines", "blank-cells", "bom-only"])
def test_empty_file(tmp_path, content):
    assert load_error(tmp_path, content).endswith(" is empty")


def test_header_only(tmp_path):
    message = load_error(tmp_path, "x,y\n\n")
    assert message.endswith("has a header (x, y) but no data rows")


def test_non_numeric_cell_names_row_and_column(tmp_path):
    content = "name,height,score\nann,1.5,3\nbob,1.7,4\ncid,1.6,abc\n"
    message = load_error(tmp_path, content)
    assert "row 4, column 'score'" in message
    assert "'abc' is not a number" in message


def test_non_numeric_row_counts_blank_lines_as_in_the_file(tmp_path):
    message = load_error(tmp_path, "x,y\n\n1,2\n\n\n3,4\n?,5\n")
    assert "row 7, column 'x'" in message
    assert "'?' is not a number" in message


def test_non_numeric_row_counts_the_bom_line_as_row_1(tmp_path):
    message = load_error(tmp_path, b"\xef\xbb\xbfx,y\n1,2\n3,x3\n")
    assert "row 3, column 'y'" in message


def test_non_numeric_cell_in_headerless_file(tmp_path):
    message = load_error(tmp_path, "1,2\n3,4\n5,six\n")
    assert "row 3, column '2'" in message


def test_empty_cell_in_explicit_column(tmp_path):
    message = load_error(tmp_path, "x,y\n1,2\n3,\n", x="x", y="y")
    assert "row 3, column 'y': '' is not a number" in message


def test_non_numeric_cell_in_explicit_column(tmp_path):
    message = load_error(tmp_path, "name,v\nann,1\nbob,2\n", x="name", y="v")
    assert "row 2, column 'name': 'ann' is not a number" in message


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_non_finite_cell(tmp_path, cell):
    message = load_error(tmp_path, f"x,score\n1,2\n2,{cell}\n3,4\n")
    assert "row 3, column 'score'" in message
    assert f"{cell} is not a finite number" in message


def test_non_finite_cell_in_x(tmp_path):
    message = load_error(tmp_path, "t,v\n1,2\nNaN,3\n")
    assert "row 3, column 't': NaN is not a finite number" in message


@pytest.mark.parametrize("content", ["x,y\n1,2\n", "1,2\n", "\nx,y\n\n1,2\n\n"],
                         ids=["header", "headerless", "blank-lines"])
def test_fewer_than_two_rows(tmp_path, content):
    message = load_error(tmp_path, content)
    assert "has 1 data row; at least 2 are needed" in message


def test_unknown_x_column_lists_columns(tmp_path):
    message = load_error(tmp_path, "name,height,score\nann,1.5,3\nbob,1.7,4\n", x="weight")
    assert "no column 'weight' (for x)" in message
    assert message.endswith("columns are: name, height, score")


def test_unknown_y_column_lists_columns(tmp_path):
    message = load_error(tmp_path, "a,b\n1,2\n3,4\n", x="a", y="B")
    assert "no column 'B' (for y)" in message
    assert message.endswith("columns are: a, b")


def test_unknown_column_in_headerless_file(tmp_path):
    message = load_error(tmp_path, "1,2\n3,4\n", x="x")
    assert message.endswith("columns are: 1, 2")


@pytest.mark.parametrize(("content", "row", "cells"), [
    ("x,y\n1,2\n3\n5,6\n", 3, 1),
    ("x,y\n1,2\n3,4\n5,6,7\n", 4, 3),
    ("1,2\n3,4,5\n", 2, 3),
])
def test_wrong_number_of_cells(tmp_path, content, row, cells):
    message = load_error(tmp_path, content)
    assert f"row {row}: {cells} cells, but the header has 2" in message


@pytest.mark.parametrize("content", [
    "name,score\nann,1\nbob,2\n",
    "x\n1\n2\n",
    "a,b\nfoo,1\nbar,2\n",
    "7\n8\n",
])
def test_only_one_numeric_column(tmp_path, content):
    message = load_error(tmp_path, content)
    assert "needs two numeric columns for x and y; columns are: " in message


def test_only_one_numeric_column_besides_explicit_x(tmp_path):
    message = load_error(tmp_path, "name,score\nann,1\nbob,2\n", x="score")
    assert "needs two numeric columns" in message


def test_invalid_csv(tmp_path):
    huge = "9" * 200_000  # longer than the csv module's field size limit
    message = load_error(tmp_path, f"x,y\n1,2\n3,{huge}\n")
    assert "not valid CSV at line" in message


# --------------------------------------------------------------------------- check_xy


def test_check_xy_converts_to_float_arrays():
    x, y = check_xy([1, 2, 3], (4, 5, 6))
    assert x.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_array_equal(y, [4, 5, 6])


def test_check_xy_length_mismatch():
    with pytest.raises(ValueError, match="same length, got 3 and 2"):
        check_xy([1, 2, 3], [1, 2])


def test_check_xy_two_dimensional():
    with pytest.raises(ValueError, match=r"must be 1-D, got shapes \(2, 2\) and \(2,\)"):
        check_xy([[1, 2], [3, 4]], [1, 2])
    with pytest.raises(ValueError, match="1-D"):
        check_xy([1, 2], np.ones((2, 1)))
    with pytest.raises(ValueError, match="1-D"):
        check_xy(1.0, 2.0)


@pytest.mark.parametrize(("x", "y", "pattern"), [
    ([1, np.nan, 3], [1, 2, 3], r"x\[1\] is nan"),
    ([1, 2, 3], [np.inf, 2, 3], r"y\[0\] is inf"),
    ([1, 2, 3], [1, 2, -np.inf], r"y\[2\] is -inf"),
])
def test_check_xy_non_finite(x, y, pattern):
    with pytest.raises(ValueError, match=pattern):
        check_xy(x, y)


@pytest.mark.parametrize("n", [0, 1])
def test_check_xy_fewer_than_two(n):
    with pytest.raises(ValueError, match=f"at least 2 examples are needed, got {n}"):
        check_xy(np.arange(n), np.arange(n))


def test_check_xy_not_numbers():
    with pytest.raises(TypeError, match="sequences of numbers"):
        check_xy(["a", "b"], [1, 2])


# --------------------------------------------------------------------------- built-in data


def test_line_fit_shape_and_range():
    problem = datasets.line_fit()
    assert problem.name == "line-fit"
    assert problem.n_examples == 12
    assert problem.x.shape == problem.y.shape == (12,)
    assert problem.x.min() >= 0.0 and problem.x.max() <= 2.0
    assert np.all(np.isfinite(problem.x)) and np.all(np.isfinite(problem.y))


def test_line_fit_is_deterministic():
    a, b = datasets.line_fit(), datasets.line_fit()
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.minima, b.minima)


def test_line_fit_minimum_is_least_squares():
    problem = datasets.line_fit()
    design = np.column_stack([np.ones_like(problem.x), problem.x])
    coef, residual, _, _ = np.linalg.lstsq(design, problem.y, rcond=None)
    assert problem.minima.shape == (1, 2)
    np.testing.assert_allclose(problem.minima[0], coef, rtol=0, atol=1e-10)
    np.testing.assert_allclose(problem.min_loss, residual[0], rtol=1e-10)
    np.testing.assert_allclose(problem.grad(problem.minima[0]), [0.0, 0.0], atol=1e-10)


def test_line_fit_is_noisy_but_roughly_linear():
    problem = datasets.line_fit()
    rss = problem.min_loss
    rms = np.sqrt(rss / problem.n_examples)
    r_squared = 1.0 - rss / np.sum((problem.y - problem.y.mean()) ** 2)
    assert rms > 0.05
    assert r_squared > 0.8
    assert problem.minima[0, 1] > 0  # y grows with x


def test_gabor_data():
    problem = datasets.gabor()
    assert problem.n_examples == 30
    assert problem.x.shape == problem.y.shape == (30,)
    assert problem.minima.ndim == 2 and problem.minima.shape[1] == 2
    assert len(problem.minima) > 0
    assert np.all(np.isfinite(problem.minima))


def test_gabor_is_deterministic():
    a, b = datasets.gabor(), datasets.gabor()
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.minima, b.minima)


def test_gabor_minima_are_local_minima():
    problem = datasets.gabor()
    np.testing.assert_allclose(problem.grad(problem.minima), 0.0, atol=1e-8)
    steps = 1e-3 * np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [-1, -1], [1, -1]])
    around = problem.minima[:, None, :] + steps[None, :, :]
    assert np.all(problem.loss(around) > problem.loss(problem.minima)[:, None])


def test_loading_builtin_data_does_not_touch_global_random_state():
    before = np.random.get_state()  # noqa: NPY002 - the legacy global state is what is checked
    for _ in range(2):
        datasets.line_fit()
        datasets.gabor()
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


def test_import_and_load_use_no_randomness():
    """In a fresh interpreter: importing descentlab and loading the built-in data twice leaves
    numpy's and Python's global random states alone and never builds a random generator."""
    script = r"""
import json, random
import numpy as np

np.random.seed(99)
random.seed(99)
np_before = np.random.get_state()
py_before = random.getstate()

def forbidden(*args, **kwargs):
    raise AssertionError("randomness used while loading built-in data")

np.random.default_rng = forbidden
np.random.RandomState = forbidden
np.random.Generator = forbidden

from descentlab import datasets
loaded = [datasets.line_fit() for _ in range(2)] + [datasets.gabor() for _ in range(2)]
np_after = np.random.get_state()
print(json.dumps({
    "numpy_same": bool(np_before[0] == np_after[0]
                       and np.array_equal(np_before[1], np_after[1])
                       and np_before[2:] == np_after[2:]),
    "python_same": py_before == random.getstate(),
    "same_data": bool(np.array_equal(loaded[0].y, loaded[1].y)
                      and np.array_equal(loaded[2].y, loaded[3].y)),
}))
"""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"numpy_same": True, "python_same": True, "same_data": True}


def test_a_blank_cell_in_the_first_row_is_reported_where_it_is(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("x,y\n1,\n3,4\n5,6\n")
    with pytest.raises(DataError, match=r"row 2, column 'y'"):
        read_csv(path)


def test_a_headerless_first_row_with_a_blank_cell_is_data(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("1,,2\n3,4,5\n")
    with pytest.raises(DataError, match=r"row 1, column '2'"):
        read_csv(path)


def test_x_and_y_cannot_be_the_same_column(tmp_path):
    path = tmp_path / "same.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(DataError, match="same column 'a'"):
        read_csv(path, x="a", y="a")
