"""Saving figures without ever leaving a half-written file behind."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from descentlab.errors import InputError
from descentlab.files import write_stream_atomic

FORMATS = ("png", "svg", "pdf")


def save(fig: Figure, path: str | Path, dpi: int = 130) -> Path:
    """Save ``fig`` to ``path`` in the format its suffix names (png, svg, pdf), atomically."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputError(f"cannot tell the format of {str(path)!r}: use a .png, .svg or .pdf suffix")
    return write_stream_atomic(path, lambda out: fig.savefig(out, format=fmt, dpi=dpi))
