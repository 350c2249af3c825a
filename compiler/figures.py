"""Figures that leave the caller's matplotlib alone, and their bytes.

Every plot in nclang is drawn on a `matplotlib.figure.Figure` made directly, never through
pyplot: pyplot (and `matplotlib.use`) picks a global backend, which in a notebook would replace
the one the user chose, and keeps a registry of open figures that a library would have to close.
A bare `Figure` has neither; the caller shows it (a notebook displays a returned Figure) or saves
it with `figure_bytes` / `save_figure`.
"""
from __future__ import annotations

import io
import os

FORMATS = ("png", "svg")
# No date, software or random ids in the files: the same data gives the same bytes.
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def new_figure(figsize: tuple[float, float]):
    """An empty `Figure` of `figsize` inches, attached to no backend."""
    from matplotlib.figure import Figure
    return Figure(figsize=figsize)


def figure_format(path: str | os.PathLike) -> str:
    """The image format a path's extension names ("png" or "svg"); ValueError otherwise."""
    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise ValueError(f"cannot tell the image format of {os.fspath(path)!r}: the name must "
                         f"end in {' or '.join('.' + f for f in FORMATS)}")
    return ext


def figure_bytes(fig, fmt: str = "png", dpi: int = 120) -> bytes:
    """`fig` as a PNG or SVG file's bytes; its legends and labels outside the axes included."""
    import matplotlib
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; expected one of {', '.join(FORMATS)}")
    buf = io.BytesIO()
    # a fixed salt makes the SVG element ids the same from run to run (they are random else)
    with matplotlib.rc_context({"svg.hashsalt": "nclang", "svg.fonttype": "path"}):
        fig.savefig(buf, dpi=dpi, format=fmt, metadata=_METADATA[fmt], bbox_inches="tight")
    return buf.getvalue()


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> None:
    """Write `fig` to `path` atomically, PNG or SVG by its extension."""
    from nclang.compiler.atomic import write_atomic
    write_atomic(path, figure_bytes(fig, figure_format(path), dpi))
