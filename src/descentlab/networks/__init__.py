"""Figure 6.1 for a real network: record PyTorch training, cut a plane through parameter space, draw.

    from descentlab import networks
    model, loss_fn = make_mlp()                              # your network and loss
    data = networks.load_data("digits")                      # or a CSV: inputs…, target
    land = networks.landscape(model, loss_fn, data, optimizers=("momentum", "nesterov"), steps=300)
    networks.draw_landscape(land, "net.png")                 # panels (a)–(d) of Figure 6.1

The pieces, in the order data flows (each usable alone):

* :mod:`~descentlab.networks.record` — :func:`train` with the book's gd, momentum (eq. 6.11) or
  Nesterov (eq. 6.12), or any ``torch.optim`` optimiser; :class:`Recorder` inside your own loop;
  a :class:`Run` keeps φ_t (every k steps), the book's m_t and L[φ_t], and saves to a run directory;
* :mod:`~descentlab.networks.directions` — the plane: PCA of the trajectory (Li et al. 2018 §5),
  filter-normalised random directions (§4) or two given vectors; least-squares projection;
* :mod:`~descentlab.networks.surface` — the loss over a grid of the plane, many points per call
  (``torch.func.functional_call`` + ``vmap``), memory-bounded, float64;
* :mod:`~descentlab.networks.distribute` — the same grid on a Dask cluster (``workers=N`` or an
  existing ``scheduler`` address), identical to one process;
* :mod:`~descentlab.networks.sharpness` — the top Hessian eigenvalue by Lanczos on Hessian-vector
  products, and each optimiser's stability limit in the book's α, β (edge of stability);
* :mod:`~descentlab.networks.pipeline` — all of it for several optimisers from one start;
* :mod:`~descentlab.networks.figure` — the matplotlib figures.

Importing this package imports torch (``pip install 'descentlab[networks]'``).
"""

from descentlab.networks.data import Data, load_data
from descentlab.networks.directions import Plane, filter_normalized, given, pca, project
from descentlab.networks.factory import load_factory
from descentlab.networks.figure import draw_landscape, draw_sharpness
from descentlab.networks.pipeline import Landscape, landscape
from descentlab.networks.record import Recorder, Run, train
from descentlab.networks.sharpness import top_eigenvalue

__all__ = ["Data", "Landscape", "Plane", "Recorder", "Run", "draw_landscape", "draw_sharpness",
           "filter_normalized", "given", "landscape", "load_data", "load_factory", "pca", "project",
           "top_eigenvalue", "train"]
