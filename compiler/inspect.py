"""`nclang inspect`: what a weight file holds, from the file alone (no source, no torch).

`describe` gathers the program, target, sizes, encodings, the layers with their widths,
activations and parameter counts, and the stored analysis into one JSON-ready dict; `text` lays it
out for a terminal and `plot` draws the layer structure as a `matplotlib.figure.Figure` (made
without pyplot, so no backend is chosen: `nclang.compiler.figures` saves it as PNG or SVG).
"""
from __future__ import annotations

import numpy as np


def describe(file: str, tensors: dict[str, np.ndarray], meta: dict) -> dict:
    """The summary of a validated weight file (see `nclang.compiler.weights.read_weights`)."""
    arch, enc = meta["architecture"], meta["encodings"]
    if arch.get("family") == "mlp":
        # the same consistency checks as the runtime, so a file inspect accepts also loads
        from nclang.compiler.runtime.encoding import mlp_layout
        mlp_layout(file, tensors, meta)
    layers = []
    for i, spec in enumerate(arch.get("layers") or []):
        owned = [t for k, t in tensors.items() if k.startswith(f"layers.{i}.")]
        layers.append({"index": i, "in": spec.get("in"), "out": spec.get("out"),
                       "act": spec.get("act"),
                       "parameters": int(sum(t.size for t in owned)),
                       "nonzero": int(sum(np.count_nonzero(t) for t in owned))})
    transformer = None
    if arch.get("family") == "transformer":
        transformer = _transformer(tensors, arch)
    gnn = _gnn(tensors, arch) if arch.get("family") == "gnn" else None
    analysis = meta["analysis"]
    cost, ranges = analysis.get("cost") or {}, analysis.get("ranges") or {}
    return {
        "file": file,
        "format": meta["format"],
        "program": meta["program"],
        "source_sha256": meta["source_sha256"],
        "target": meta["target"],
        "family": arch.get("family"),
        "sizes": arch.get("sizes", meta["options"].get("sizes", {})),
        "activation": arch.get("activation", meta["options"].get("activation")),
        "dtype": arch.get("dtype", "float32"),
        "inputs": [_slot(e) for e in enc["inputs"]],
        "outputs": [_slot(e) for e in enc["outputs"]],
        "depth": arch.get("depth", len(layers)),
        "widths": ([layers[0]["in"]] if layers else []) + [L["out"] for L in layers],
        "layers": layers,
        "parameters": int(sum(t.size for t in tensors.values())),
        "nonzero": int(sum(np.count_nonzero(t) for t in tensors.values())),
        "analysis": {
            "layers": cost.get("layers"),
            "depth_bounded": cost.get("depth_bounded"),
            "depth_threshold": cost.get("depth_threshold"),
            "work": cost.get("work"),
            "class": cost.get("class"),
            "declared_class": cost.get("declared_class"),
            "values": ranges.get("summary"),
        },
        "options": meta["options"],
        **({"transformer": transformer} if transformer else {}),
        **({"gnn": gnn} if gnn else {}),
    }


def _transformer(tensors: dict, arch: dict) -> dict:
    """Per block: heads, MLP widths and parameters; the residual stream with and without reuse,
    which slot holds which channels from which sublayer to which, and the weight-tied loops
    (the block range a `repeat` runs, and its trip count)."""
    blocks = []
    for b, spec in enumerate(arch.get("blocks", [])):
        owned = [t for k, t in tensors.items() if k.startswith(f"blocks.{b}.")]
        blocks.append({"index": b, "heads": spec.get("heads", 0), "masks": spec.get("masks", []),
                       "mlp": spec.get("mlp", []),
                       "parameters": int(sum(t.size for t in owned)),
                       "nonzero": int(sum(np.count_nonzero(t) for t in owned))})
    res = arch.get("residual", {})
    return {"d_model": arch.get("d_model"), "d_model_without_reuse":
            arch.get("d_model_without_reuse"), "attention_layers": arch.get("attention_layers"),
            "heads": arch.get("heads"), "blocks": blocks, "sublayers": res.get("sublayers"),
            "slots": res.get("slots", []), "loops": arch.get("loops", [])}


# channels per value kind, as the gnn runtime holds them: an infinite-able value is a
# (flag, value) pair so that inf never shares a channel with a real number
_GNN_WIDTH = {"bool": 1, "int": 1, "index": 1, "pinf": 2, "ninf": 2}


def _domain_name(dom: list[str]) -> str:
    return {(): "global", ("node",): "node", ("edge",): "edge", ("node", "node"): "pair",
            ("node", "edge"): "node-edge", ("node", "node", "node"): "triplet"}.get(
        tuple(dom), "×".join(dom))


def _aggregate_over(ins: dict) -> str:
    """What ⊕ ranges over, in a GNN user's words."""
    if ins.get("kind_of") == "neighbour":
        # grouped by the edge's destination: the messages from u in in(v)
        return "in-neighbours" if ins.get("group") == "dst" else "out-neighbours"
    if ins.get("kind_of") == "nodes":
        return "triplet" if len(ins.get("body_dom", [])) == 3 else "nodes"
    return ins.get("kind_of") or "?"


def _gnn(tensors: dict, arch: dict) -> dict:
    """The message-passing structure of a gnn file: its stages (message / update MLPs), the
    aggregators and pointer gathers, the weight-tied loops with their trip counts, and the state
    channels each domain carries, all read from the stored architecture."""
    stages = []
    for k, spec in enumerate(arch.get("stages", [])):
        owned = [t for key, t in tensors.items() if key.startswith(f"stages.{k}.")]
        layers = spec.get("layers", [])
        stages.append({"index": k, "op": spec.get("op"), "role": spec.get("role"),
                       "domain": _domain_name(spec.get("domain", [])),
                       "widths": ([layers[0]["in"]] if layers else [])
                       + [L["out"] for L in layers],
                       "acts": [L["act"] for L in layers],
                       "parameters": int(sum(t.size for t in owned)),
                       "nonzero": int(sum(np.count_nonzero(t) for t in owned))})
    kinds = arch.get("values", {})
    doms: dict[int, list[str]] = {}
    aggregators, loops, flow = [], [], []
    carried: dict[str, int] = {}

    def walk(code: list[dict], loop: int | None, depth: int) -> None:
        for ins in code:
            if "out" in ins:
                doms[ins["out"]] = ins.get("dom", [])
            op = ins["op"]
            if op == "loop":
                j = len(loops)
                entry = {"index": j, "count": ins["count"],
                         "until_stable": bool(ins.get("until_stable")),
                         "carried": [c["name"] for c in ins.get("carried", [])],
                         "stages": [], "aggregators": 0}
                loops.append(entry)
                flow.append({"kind": "loop", "loop": j, "depth": depth})
                walk(ins.get("body", []), j, depth + 1)
                for c in ins.get("carried", []):
                    dom = _domain_name(doms.get(c["next"], []))
                    carried[dom] = carried.get(dom, 0) + _GNN_WIDTH.get(
                        kinds.get(str(c["next"]), "int"), 1)
                flow.append({"kind": "end", "loop": j, "depth": depth})
            elif op == "mlp":
                if loop is not None:
                    loops[loop]["stages"].append(ins["stage"])
                flow.append({"kind": "stage", "stage": ins["stage"], "depth": depth})
            elif op == "aggregate":
                a = {"agg": ins["agg"], "over": _aggregate_over(ins),
                     "from": _domain_name(ins.get("body_dom", [])),
                     "to": _domain_name(ins.get("dom", [])), "loop": loop}
                aggregators.append(a)
                if loop is not None:
                    loops[loop]["aggregators"] += 1
                flow.append({"kind": "aggregate", **a, "depth": depth})
            elif op == "gather":
                flow.append({"kind": "gather", "to": _domain_name(ins.get("dom", [])),
                             "loop": loop, "depth": depth})

    walk(arch.get("program", []), None, 0)
    used = sorted({f"{a['agg']} over {a['over']}" for a in aggregators})
    return {"design_bound": arch.get("design_bound"), "value_bound": arch.get("value_bound"),
            "stages": stages, "aggregators": aggregators, "aggregators_used": used,
            "loops": loops, "state_channels": dict(sorted(carried.items())), "flow": flow}


def _loop_text(L: dict) -> str:
    return f"repeat {L['count']}" + (" until stable" if L["until_stable"] else "")


def _gnn_text(d: dict) -> list[str]:
    g = d["gnn"]
    lines = [f"  bound:       values below {g['design_bound']} stay exact in {d['dtype']}; the "
             f"program's values reach {g['value_bound']}",
             "  state:       "
             + (", ".join(f"{v} channels per {k}" for k, v in g["state_channels"].items())
                or "no loop state"),
             f"  aggregators: {', '.join(g['aggregators_used']) or 'none'}"]
    for L in g["loops"]:
        lines.append(f"  loop {L['index']}:      {_loop_text(L)} (one weight-tied block; "
                     f"carries {', '.join(L['carried'])}; {len(L['stages'])} MLPs, "
                     f"{L['aggregators']} aggregations)")
    lines.append("  stages:      stage  role     domain    op         widths          "
                 "parameters   nonzero")
    for S in g["stages"]:
        # role and op are descriptive and optional in a file (nclang.compiler.schema): "-" if absent
        lines.append(f"               {S['index']:>5}  {S['role'] or '-':<8} {S['domain']:<9} "
                     f"{S['op'] or '-':<10} {'-'.join(map(str, S['widths'])):<15} "
                     f"{S['parameters']:>10} {S['nonzero']:>9}")
    return lines


def _slot(e: dict) -> dict:
    return {k: e.get(k) for k in ("name", "type", "kind", "shape", "channels")}


def _sizes_text(sizes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(sizes.items())) or "none"


def _slots_text(items: list[dict]) -> str:
    parts = []
    for e in items:
        ch = e.get("channels")
        where = ""
        if isinstance(ch, list) and len(ch) == 2 and ch[1] > ch[0]:
            where = f" (channel {ch[0]})" if ch[1] == ch[0] + 1 else \
                f" (channels {ch[0]}..{ch[1] - 1})"
        parts.append(f"{e['name']}: {e['type']}{where}")
    return ", ".join(parts) or "(none)"


def _widths_text(widths: list[int]) -> str:
    """The widths in order; a deep network's middle is elided (the layer table has them all)."""
    if len(widths) <= 20:
        return " -> ".join(map(str, widths))
    shown = " -> ".join(map(str, widths[:10])) + " -> … -> " + " -> ".join(map(str, widths[-5:]))
    return f"{shown} (widest {max(widths)})"


def text(d: dict) -> str:
    """The summary for a terminal."""
    a = d["analysis"]
    lines = [
        f"{d['program']}: {d['target']} network ({d['format']})",
        f"  sizes:       {_sizes_text(d['sizes'])}",
        f"  activation:  {d['activation']}, {d['dtype']}",
        f"  inputs:      {_slots_text(d['inputs'])}",
        f"  outputs:     {_slots_text(d['outputs'])}",
        f"  depth:       {d['depth']} layers",
        f"  widths:      {_widths_text(d['widths'])}",
        f"  parameters:  {d['parameters']} ({d['nonzero']} nonzero)",
    ]
    if d.get("gnn"):
        # a gnn file has no single layer stack: its widths are per stage, in the stage table
        lines[5] = f"  depth:       {d['depth']} layers over {len(d['gnn']['stages'])} MLP stages"
        del lines[6]
    if d["layers"]:
        lines.append("  layers:      layer      in     out  act   parameters   nonzero")
        for L in d["layers"]:
            lines.append(f"               {L['index']:>5} {L['in']:>7} {L['out']:>7}  "
                         f"{L['act']:<4} {L['parameters']:>11} {L['nonzero']:>9}")
    tr = d.get("transformer")
    if tr:
        lines.append(f"  residual:    d_model {tr['d_model']} with liveness reuse "
                     f"({tr['d_model_without_reuse']} without); {tr['heads']} heads in "
                     f"{tr['attention_layers']} attention layers")
        lines.append("  blocks:      block  heads  mlp widths          parameters   nonzero")
        for B in tr["blocks"]:
            mlp = "x".join(map(str, B["mlp"])) or "-"
            lines.append(f"               {B['index']:>5} {B['heads']:>6}  {mlp:<18} "
                         f"{B['parameters']:>11} {B['nonzero']:>9}")
    if d.get("gnn"):
        lines += _gnn_text(d)
    if a["class"] is not None:
        declared = f" (declared {a['declared_class']})" if a["declared_class"] else ""
        lines += [
            f"  analysis:    class {a['class']}{declared}",
            f"               layers {a['layers']}",
            f"               depth {a['depth_bounded']} (bounded fan-in), "
            f"{a['depth_threshold']} (threshold gates)",
            f"               work {a['work']}",
        ]
    if a["values"]:
        lines.append(f"  values:      {a['values']}")
    lines.append(f"  source:      sha256 {d['source_sha256']}")
    return "\n".join(lines) + "\n"


ACT_COLOURS = {"input": "#55a868", "relu": "#4c72b0", "step": "#dd8452", "id": "#8c8c8c"}


def plot(d: dict):
    """The picture of a `describe` summary, as a `matplotlib.figure.Figure`: the residual stream
    of a transformer, the stages of a gnn, the layers of anything else."""
    if d.get("transformer"):
        return _plot_residual(d)
    if d.get("gnn"):
        return _plot_gnn(d)
    return _plot_layers(d)


def _plot_residual(d: dict):
    """The residual stream of a transformer file: channels up, sublayers across
    (attention at even, MLP at odd ones), one coloured bar per slot from the sublayer that
    writes it to the one from which its channels are free again."""
    from nclang.compiler.figures import new_figure

    tr = d["transformer"]
    slots, S = tr["slots"], max(tr["sublayers"] or 1, 1)
    width = tr["d_model"] or 1
    from matplotlib import colormaps
    fig = new_figure((min(16.0, 4 + 0.8 * S), min(14.0, 3 + 0.12 * width)))
    ax = fig.subplots()
    cmap = colormaps["tab20"]
    for i, s in enumerate(slots):
        chans = sorted(s["channels"])
        runs, start = [], None
        for j, c in enumerate(chans):
            if start is None:
                start = c
            if j + 1 == len(chans) or chans[j + 1] != c + 1:
                runs.append((start, c - start + 1))
                start = None
        x0 = s["from"] + 0.5
        for lo, h in runs:
            ax.broken_barh([(x0, s["to"] - x0 + 0.5)], (lo, h), facecolors=cmap(i % 20),
                           edgecolors="black", linewidth=0.3)
        if runs:
            lo, h = runs[0]
            ax.text(x0 + 0.05, lo + h / 2, s["name"], va="center", fontsize=6, clip_on=True)
    ax.set_xlim(-0.5, S + 0.5)
    ax.set_ylim(0, width)
    ticks = list(range(-1, S))
    ax.set_xticks([t + 0.5 for t in ticks],
                  ["embed"] + [("attn " if t % 2 == 0 else "mlp ") + str(t // 2)
                               for t in ticks[1:]], rotation=45, fontsize=7)
    ax.set_ylabel("residual channel")
    ax.set_title(f"{d['program']} — transformer, {_sizes_text(d['sizes'])}: residual width "
                 f"{tr['d_model']} with reuse ({tr['d_model_without_reuse']} without), "
                 f"{tr['heads']} heads", fontsize=9)
    fig.tight_layout()
    return fig


def _plot_layers(d: dict):
    """The layer structure: a bar per layer whose height is its width (the input
    first), coloured by activation, above the parameters and nonzero parameters of each layer."""
    from nclang.compiler.figures import new_figure
    from matplotlib.patches import Patch

    layers = d["layers"]
    widths = d["widths"]
    acts = ["input"] + [L["act"] for L in layers]
    xs = np.arange(len(widths))
    many = len(widths) > 40  # then the bars are too thin for a label each
    fig = new_figure((min(16.0, max(6.0, 0.5 * len(widths) + 3)), 6.5))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    top.bar(xs, widths, color=[ACT_COLOURS.get(a, "#c44e52") for a in acts], width=0.7)
    for x, w in zip(xs, [] if many else widths):
        top.annotate(str(w), (x, w), ha="center", va="bottom", fontsize=8,
                     xytext=(0, 2), textcoords="offset points")
    top.set_ylabel("width (units)")
    top.set_ylim(0, max(widths or [1]) * 1.15)
    sizes = _sizes_text(d["sizes"])
    top.set_title(f"{d['program']} — {d['target']}, {sizes}, {d['activation']}: "
                  f"{d['depth']} layers, {d['parameters']:,} parameters "
                  f"({d['nonzero']:,} nonzero)", fontsize=10)
    used = [a for a in ACT_COLOURS if a in acts]
    # beside the axes, not on them: a bar can reach any corner
    top.legend(handles=[Patch(color=ACT_COLOURS[a], label=a) for a in used], fontsize=8,
               loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    # per layer, on a log scale: the nonzero weights of a compiled layer are often a small
    # fraction of its dense parameter count, and a linear scale would hide them
    lx = xs[1:]
    bottom.bar(lx - 0.2, [max(L["parameters"], 1) for L in layers], width=0.4, color="#bbbbbb",
               label="parameters")
    bottom.bar(lx + 0.2, [max(L["nonzero"], 1) for L in layers], width=0.4, color="#4c72b0",
               label="nonzero")
    bottom.set_yscale("log")
    bottom.set_ylabel("parameters (log scale)")
    bottom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    labels = ["in"] + [str(L["index"]) for L in layers]
    step = max(1, len(xs) // 25)
    bottom.set_xticks(xs[::step], labels[::step])
    bottom.set_xlabel("layer")
    fig.tight_layout()
    return fig


GNN_COLOURS = {"message": "#dd8452", "update": "#4c72b0", "aggregate": "#55a868",
               "gather": "#8172b2"}


def _plot_gnn(d: dict):
    """The stage structure of a gnn file: one row per MLP stage, aggregation or pointer
    gather in program order, top to bottom, each weight-tied loop a frame around its body
    labelled with its trip count."""
    from nclang.compiler.figures import new_figure
    from matplotlib.patches import FancyBboxPatch, Patch, Rectangle

    g = d["gnn"]
    rows = [f for f in g["flow"] if f["kind"] not in ("loop", "end")]
    nrows = max(len(rows), 1)
    fig = new_figure((9.0, min(40.0, 1.6 + 0.55 * nrows)))
    ax = fig.subplots()
    y_of, y = {}, 0
    opened: dict[int, float] = {}
    frames = []
    for f in g["flow"]:
        if f["kind"] == "loop":
            opened[f["loop"]] = y
            continue
        if f["kind"] == "end":
            frames.append((f["loop"], f["depth"], opened.pop(f["loop"]), y))
            continue
        y_of[id(f)] = y
        x0 = 1.0 + 0.6 * f["depth"]
        if f["kind"] == "stage":
            S = g["stages"][f["stage"]]
            label = (f"{S['role']} MLP {S['index']} ({S['op']}) on {S['domain']}: "
                     f"{' → '.join(map(str, S['widths']))}, {S['nonzero']}/{S['parameters']} "
                     f"nonzero")
            colour = GNN_COLOURS.get(S["role"], "#c44e52")
        elif f["kind"] == "aggregate":
            label = f"⊕ {f['agg']} over {f['over']}: {f['from']} → {f['to']}"
            colour = GNN_COLOURS["aggregate"]
        else:
            label = f"pointer gather x[p[v]] on {f['to']}"
            colour = GNN_COLOURS["gather"]
        ax.add_patch(FancyBboxPatch((x0, -y - 0.35), 9.5 - x0, 0.7,
                                    boxstyle="round,pad=0.02", facecolor=colour, alpha=0.85,
                                    edgecolor="black", linewidth=0.5))
        ax.text(x0 + 0.15, -y, label, va="center", fontsize=8, color="white")
        if y > 0:
            ax.annotate("", (5.5, -y + 0.35), (5.5, -y + 0.65),
                        arrowprops={"arrowstyle": "->", "linewidth": 0.6})
        y += 1
    for j, depth, top, bottom in frames:
        L = g["loops"][j]
        x0 = 0.55 + 0.6 * depth
        ax.add_patch(Rectangle((x0, -bottom + 0.5), 9.8 - x0, bottom - top,
                               fill=False, linestyle="--", edgecolor="#444444"))
        ax.text(x0 + 0.25, -(top + bottom - 1) / 2, f"{_loop_text(L)}\n(weight-tied)",
                rotation=90, va="center", ha="center", fontsize=7)
    ax.set_xlim(0, 10)
    ax.set_ylim(-nrows + 0.2, 0.9)
    ax.axis("off")
    ax.set_title(f"{d['program']} — gnn, {d['dtype']}: {len(g['stages'])} MLP stages, "
                 f"{len(g['aggregators'])} aggregations, {len(g['loops'])} loops, "
                 f"{d['parameters']:,} parameters ({d['nonzero']:,} nonzero)", fontsize=9)
    ax.legend(handles=[Patch(color=c, label=k) for k, c in GNN_COLOURS.items()], fontsize=7,
              loc="upper right", bbox_to_anchor=(1.0, 1.0 + 0.6 / (1.6 + 0.55 * nrows)),
              ncol=4, frameon=False)
    fig.tight_layout()
    return fig
