"""examples/tour.ipynb runs top to bottom, headless, and shows its figures, its animation and the
explorer inline (dl.explore: an iframe of a server on 127.0.0.1 that answers while the kernel runs)."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TOUR = Path(__file__).resolve().parents[1] / "examples" / "tour.ipynb"


def test_tour_executes_and_shows_figures(tmp_path):
    nb = nbformat.read(TOUR, as_version=4)
    # run in a scratch folder: the animation cell writes race.gif next to the notebook
    shutil.copy(TOUR, tmp_path / TOUR.name)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    # jupyter_client runs the "python3" kernel with this very interpreter; the kernel stays up
    # until the block ends, so the explorer the notebook started can be asked for its page
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        html = "".join(o.get("data", {}).get("text/html", "") for cell in nb.cells
                       if cell.cell_type == "code" for o in cell.outputs)
        (address,) = re.findall(r'<iframe[^>]*src="(http://127\.0\.0\.1:\d+/)"', html)
        with urllib.request.urlopen(address + "_dash-layout", timeout=30) as response:
            assert response.status == 200
            layout = response.read().decode()
    # the page starts on the notebook's line fit with the three methods it names
    values = dict(_values(json.loads(layout)))
    assert values["problem"] == "line-fit" and values["optimizers"] == ["gd", "momentum", "nesterov"]
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    gifs = [o for o in outputs if "image/gif" in o.get("data", {})]
    assert len(images) >= 7, "data, surface, three Figure 6.1s, look-ahead, trace, comparison"
    assert len(gifs) == 1
    assert (tmp_path / "race.gif").exists()
    text = "".join(o.get("text", "") for o in outputs)
    assert "look-ahead point recorded" in text and "L − L_min" in text
    assert f"explorer on {address}" in text


def _values(node):
    """(id, value) of every component with a plain id and a value in a Dash layout's JSON."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if isinstance(props, dict) and isinstance(props.get("id"), str) and "value" in props:
            yield props["id"], props["value"]
        for v in node.values():
            yield from _values(v)
    elif isinstance(node, list):
        for v in node:
            yield from _values(v)
