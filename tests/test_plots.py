"""Plots behave in a notebook: drawing them (inspect's three pictures, every gap-report figure)
leaves the caller's matplotlib backend as it was and never loads pyplot, every plotting function
returns a `matplotlib.figure.Figure`, legends stand outside the axes (none covers a point), the
CLI writes SVG or PNG by the output's extension, and the same data gives the same file bytes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli_inprocess import cli, headers

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent
GAP_STUDY = ROOT / "docs" / "gap-study"
# one document of each kind, as saved by earlier runs of `nclang gap`
DOCS = {"gap": "bfs", "head_to_head": "bfs-vs-closure", "examples_sweep": "multiply-sweep"}
# a network of each family, compiled small
NETWORKS = {"mlp": ("bits/parity", {"k": 4}), "gnn": ("graph/bfs", {}),
            "transformer": ("seq/reverse", {"n": 4})}


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory):
    import nclang
    from nclang import stdlib
    out = tmp_path_factory.mktemp("plots")
    files = {}
    for family, (name, sizes) in NETWORKS.items():
        net = nclang.compile(stdlib.path(name), sizes=sizes)
        assert net.architecture["family"] == family
        files[family] = net.save(out / f"{family}.safetensors")
    return files


def test_plotting_keeps_the_backend_and_returns_figures(weight_files):
    # A fresh interpreter whose backend a "notebook" chose: every plotting function runs, and
    # afterwards the backend is the same and pyplot was never imported.
    script = f"""
import json, sys
import matplotlib
matplotlib.use("svg")
before = matplotlib.get_backend()
from matplotlib.figure import Figure
from nclang.compiler.inspect import describe, plot
from nclang.compiler.training.report import figures
from nclang.compiler.weights import read_weights
kinds = []
for path in {[str(p) for p in weight_files.values()]!r}:
    tensors, meta = read_weights(path)
    fig = plot(describe(path, tensors, meta))
    kinds.append(type(fig).__name__ if isinstance(fig, Figure) else repr(fig))
for name in {sorted(DOCS.values())!r}:
    doc = json.load(open({str(GAP_STUDY)!r} + "/" + name + "/gap.json"))
    for fig in figures(doc).values():
        kinds.append(type(fig).__name__ if isinstance(fig, Figure) else repr(fig))
print(json.dumps({{"before": before, "after": matplotlib.get_backend(),
                  "pyplot": "matplotlib.pyplot" in sys.modules, "kinds": sorted(set(kinds)),
                  "count": len(kinds)}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["before"] == seen["after"] == "svg"
    assert seen["pyplot"] is False
    assert seen["kinds"] == ["Figure"]
    assert seen["count"] > len(NETWORKS) + len(DOCS)


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _legends_clear_of_axes(figs: dict) -> int:
    """How many legends the figures have; fails where one lies over any axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    legends = 0
    for name, fig in figs.items():
        canvas = FigureCanvasAgg(fig)  # a canvas of its own: no backend is chosen
        canvas.draw()
        renderer = canvas.get_renderer()
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            legends += 1
            box = legend.get_window_extent(renderer)
            for other in fig.axes:
                assert not _overlaps(box, other.get_window_extent(renderer)), \
                    f"{name}: the legend lies over the axes"
    return legends


@pytest.mark.parametrize("kind", sorted(DOCS))
def test_gap_report_legends_cover_no_axes(kind):
    from nclang.compiler.training.report import figures
    doc = json.loads((GAP_STUDY / DOCS[kind] / "gap.json").read_text())
    figs = figures(doc)
    assert "cka" in figs or kind != "gap"
    assert _legends_clear_of_axes(figs) > 0


def test_inspect_legends_cover_no_axes(weight_files):
    from nclang.compiler.inspect import describe, plot
    from nclang.compiler.weights import read_weights
    figs = {}
    for family, path in weight_files.items():
        tensors, meta = read_weights(path)
        figs[family] = plot(describe(str(path), tensors, meta))
    assert _legends_clear_of_axes(figs) > 0


def test_inspect_writes_svg_or_png_by_extension(weight_files, tmp_path):
    for family, weights in weight_files.items():
        svg, png = tmp_path / f"{family}.svg", tmp_path / f"{family}.PNG"
        status, _, err = cli("inspect", weights, "--plot", svg)
        assert status == 0, err
        head = svg.read_bytes()[:400]
        assert head.startswith(b"<?xml") and b"<svg" in head
        status, _, err = cli("inspect", weights, "--plot", png)
        assert status == 0, err
        assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    # the same file draws the same bytes, SVG included (no date, fixed element ids)
    again = tmp_path / "again.svg"
    assert cli("inspect", weight_files["gnn"], "--plot", again)[0] == 0
    assert again.read_bytes() == (tmp_path / "gnn.svg").read_bytes()


def test_inspect_refuses_a_plot_name_without_an_image_extension(weight_files, tmp_path):
    bad = tmp_path / "layers.jpg"
    status, out, err = cli("inspect", weight_files["mlp"], "--plot", bad)
    assert status == 1 and not bad.exists()
    (found,) = headers(err)
    assert found[0] == str(bad) and found[3] == "error" and ".png or .svg" in found[4]


def test_gap_plots_give_svg_files():
    from nclang.compiler.training.report import plots
    doc = json.loads((GAP_STUDY / "bfs" / "gap.json").read_text())
    files = plots(doc, "svg")
    assert "cka.svg" in files and all(name.endswith(".svg") for name in files)
    assert all(b"<svg" in data[:400] for data in files.values())


def test_gap_writes_svg_plots_when_asked_and_its_report_links_them(tmp_path):
    out = tmp_path / "gap-svg"
    status, _, err = cli("gap", "stdlib/graph/bfs.ncl", "--seeds", "1", "--steps", "5",
                         "--examples", "20", "--eval-sizes", "8", "--eval-examples", "4",
                         "--noise", "0", "--stability-steps", "2", "--variants", "1",
                         "--plot-format", "svg", "--out", out, "--quiet")
    assert status == 0, err
    svgs = sorted(p.name for p in out.glob("*.svg"))
    assert svgs and not list(out.glob("*.png"))
    assert all((out / name).read_bytes().lstrip().startswith(b"<?xml") for name in svgs)
    md = (out / "gap.md").read_text()
    assert all(f"]({name})" in md for name in svgs) and ".png)" not in md
