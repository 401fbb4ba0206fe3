"""descentlab html: one offline page with the linked views and a slider."""

from __future__ import annotations

import os
import re

import pytest

from descentlab.cli import main


def test_html_writes_one_self_contained_page(tmp_path, capsys):
    out = tmp_path / "explore.html"
    assert main(["html", "--optimizers", "momentum,nesterov", "--steps", "30", "-o", str(out)]) == 0
    text = out.read_text()
    assert "<title>" in text and "Plotly" in text and len(text) > 3_000_000  # plotly.js is inside
    assert not re.search(r"<script[^>]+src=[\"']https?://", text)           # nothing from the network
    assert 'Plotly.addFrames' in text and '"sliders"' in text  # the slider animates frames
    assert "wrote" in capsys.readouterr().out


def test_html_for_a_sliced_model(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("x,y\n" + "".join(f"{i / 10},{(i / 10) ** 2 - i / 20}\n" for i in range(20)))
    assert main(["html", "--data", str(csv), "--model", "p0 + p1*x + p2*x**2", "--slice", "p0,p2",
                 "--optimizers", "nesterov", "--steps", "20", "-o", str(tmp_path / "m.html")]) == 0
    assert "2-D slice" in (tmp_path / "m.html").read_text()


@pytest.mark.parametrize(("args", "needle"), [(["html", "-o", "x.png"], ".html"),
                                              (["html", "--frames", "1"], "frames")])
def test_bad_html_options(args, needle, tmp_path, capsys):
    os.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
