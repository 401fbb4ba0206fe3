"""examples/tour.ipynb runs top to bottom, headless, and shows its figures and animation."""

from __future__ import annotations

import shutil
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
    client.execute()  # jupyter_client runs the "python3" kernel with this very interpreter
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    gifs = [o for o in outputs if "image/gif" in o.get("data", {})]
    assert len(images) >= 7, "data, surface, three Figure 6.1s, look-ahead, trace, comparison"
    assert len(gifs) == 1
    assert (tmp_path / "race.gif").exists()
    text = "".join(o.get("text", "") for o in outputs)
    assert "look-ahead point recorded" in text and "L − L_min" in text
