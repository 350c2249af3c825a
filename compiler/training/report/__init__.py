"""The gap report: a gap document (the dict `gap`, `head_to_head` or `sweep` in
`nclang.compiler.training` builds, saved as gap.json) becomes gap.md and PNG plots
(`figures` gives the plots as `matplotlib.figure.Figure`s instead, for a notebook).

Three kinds of document, told apart by `doc["kind"]`:

- `"gap"`: one program, trained seeds against the compiled network. Sections (each a key of
  the document, each a heading of gap.md): `scored` (what accuracy counts), `training`,
  `behaviour` (accuracy by input size), `faithfulness` (per-round accuracy of the carried state
  against the interpreter's trace), `internal` (per-layer CKA and aligned weight distance,
  trained vs compiled), `baselines` (the same between pairs of trained seeds), `stability`
  (training started at the compiled weights), `problems`, and `timing` (wall-clock seconds: the
  only part that differs between two runs with the same seeds).
- `"head_to_head"`: two programs that compute the same function, each a `"gap"` document under
  `programs`, with `common` (both scored on the function they share, on the same inputs).
- `"examples_sweep"`: accuracy against the number of training examples.

Accuracy is a fraction in the document and a percentage in gap.md (published tables use
percentages). Nothing here computes a result: it only lays out what the document holds, so a
report can be redrawn from a saved gap.json (`write(json.load(f), folder)`).

The package: `sections` writes a gap document's sections, `comparisons` the head-to-head and
sweep reports around them, `cells` the figures inside every table, `figures` the plots; this
module writes the files.

Files are written one at a time, each atomically (a temporary file in the same folder, then a
rename), so a reader never sees half a file.
"""
from __future__ import annotations

import json
from pathlib import Path

from nclang.compiler.atomic import write_atomic

from .comparisons import h2h_markdown, sweep_markdown
from .figures import figures, plots
from .sections import SECTIONS, TITLES, gap_markdown

__all__ = ["SECTIONS", "TITLES", "figures", "markdown", "plots", "write"]


def write(doc: dict, out_dir, plot_format: str = "png") -> list[Path]:
    """Write gap.json, gap.md and the plots of `doc` (`plot_format`: png or svg) into `out_dir`
    (created if need be); the paths written, gap.json first."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"gap.json": (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode("utf-8")}
    pictures = plots(doc, plot_format)
    files["gap.md"] = markdown(doc, sorted(pictures)).encode("utf-8")
    files.update(pictures)
    written = []
    for name, data in files.items():
        path = out / name
        write_atomic(path, data)
        written.append(path)
    return written


def markdown(doc: dict, images: list[str] = ()) -> str:
    """gap.md for any kind of document; `images` are the plot file names to link."""
    kind = doc.get("kind")
    if kind == "gap":
        lines = gap_markdown(doc, images)
    elif kind == "head_to_head":
        lines = h2h_markdown(doc, images)
    elif kind == "examples_sweep":
        lines = sweep_markdown(doc, images)
    else:
        raise ValueError(f"not a gap document: kind {kind!r}")
    return "\n".join(lines).rstrip() + "\n"
