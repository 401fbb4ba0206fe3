"""A distinct look for every path: ``theme.path_styles`` over any list of method names (repeats,
unknown names, any mix), and compare / animate / html with many settings of one method (issue 12,
item 5: four settings of one method once crashed with StopIteration).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descentlab import optimizers, theme
from descentlab.cli import main

FILLED_MARKERS = "osD^vPXh*pd<>H8"
"""matplotlib's filled markers: what path_styles may pair with a colour."""

KNOWN = optimizers.methods()
DECLARED = {(m.color, m.marker or "o") for m in KNOWN.values() if m.color}
SPARE_COLOURS = [c for c, _ in theme.SPARE if c not in {m.color for m in KNOWN.values()}]
NAMES = st.sampled_from([*KNOWN, "mine", "plugin-without-colour", ""])


def _distinct_prefix(styles: list[tuple[str, str]]) -> int:
    """How many styles come before the first repeat."""
    seen: set[tuple[str, str]] = set()
    for style in styles:
        if style in seen:
            break
        seen.add(style)
    return len(seen)


@settings(max_examples=150, deadline=None)
@given(st.lists(NAMES, max_size=200) | st.builds(lambda name, n: [name] * n, NAMES, st.integers(0, 200)))
def test_every_path_gets_its_own_pair_while_pairs_last(methods):
    styles = theme.path_styles(methods)
    assert len(styles) == len(methods)
    for colour, marker in styles:
        assert re.fullmatch(r"#[0-9a-f]{6}", colour) and marker in FILLED_MARKERS
    # the pairs there are: every spare colour with every marker, and the declared pair of each
    # registered method in the list
    available = len(SPARE_COLOURS) * len(FILLED_MARKERS) + len({
        (KNOWN[m].color, KNOWN[m].marker or "o") for m in methods if m in KNOWN and KNOWN[m].color})
    assert _distinct_prefix(styles) == min(len(methods), available)
    # and as many colours as there are: the declared colours of the methods listed, and the spares
    present = {KNOWN[m].color for m in methods if m in KNOWN and KNOWN[m].color}
    assert len({c for c, _ in styles}) == min(len(methods), len(present) + len(SPARE_COLOURS))


def test_a_registered_method_shown_once_keeps_its_declared_style():
    for name, method in KNOWN.items():
        if method.color:
            assert theme.path_styles(["mine", name, "mine"])[1] == (method.color, method.marker or "o")


def test_every_marker_has_its_own_plotly_symbol():
    """The HTML page draws a path's marker as a plotly symbol: two paths of one colour need two
    symbols, so every marker path_styles gives must map to a symbol of its own."""
    pytest.importorskip("plotly")
    from descentlab.web.figures.look import SYMBOLS

    assert [m for m in FILLED_MARKERS if m not in SYMBOLS] == []
    symbols = [SYMBOLS[m] for m in FILLED_MARKERS]
    assert len(set(symbols)) == len(symbols)


def _lr(k: int) -> float:
    return round(0.005 + 0.002 * k, 4)


def _config(path, n: int) -> None:
    """``n`` tables of one method, named freely, each with its own learning rate."""
    lines = ['problem = "line-fit"', "steps = 6", "resolution = 30"]
    for k in range(n):
        lines += [f"[optimizers.nag{k}]", 'method = "nesterov"', f"lr = {_lr(k)}", "beta = 0.8"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("n", [4, 6, 12, 40])
def test_many_settings_of_one_method_compare_animate_and_html(tmp_path, monkeypatch, n):
    monkeypatch.chdir(tmp_path)
    _config(tmp_path / "c.toml", n)
    assert main(["compare", "--config", "c.toml", "-o", "c.png"]) in (0, None)
    assert main(["animate", "--config", "c.toml", "-o", "a.gif", "--frames", "2",
                 "--size", "400x300"]) in (0, None)
    assert main(["html", "--config", "c.toml", "-o", "h.html"]) in (0, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "c.png", "c.toml", "h.html"]
    page = (tmp_path / "h.html").read_text(encoding="utf-8")
    for k in range(n):  # every table is a path of the page (its JSON writes α as \u03b1)
        assert f"nesterov (\\u03b1={_lr(k):g}," in page
    styles = theme.path_styles(["nesterov"] * n)
    assert len(set(styles)) == n
