"""The plots of a gap document: one per section with data (behaviour, lift, loss,
faithfulness, CKA, distance, stability), and the head-to-head and sweep figures.

`figures` gives each as a `matplotlib.figure.Figure` made without pyplot, so drawing a report in
a notebook leaves the notebook's backend alone; `plots` gives their files' bytes (PNG or SVG,
with no date or software metadata, so a document gives the same bytes). Every legend stands
beside its axes, where it cannot cover a point, however the data falls."""
from __future__ import annotations

from nclang.compiler.figures import figure_bytes, new_figure

from .cells import mean

DPI = 100
LEGEND_WIDTH = 2.2  # inches


def figures(doc: dict) -> dict[str, object]:
    """Plot name (without extension) -> `Figure` for `doc`; a section without data draws
    nothing."""
    kind = doc.get("kind")
    if kind == "gap":
        return _gap_plots(doc)
    if kind == "head_to_head":
        out = {}
        for d in doc["programs"]:
            out.update({f"{d['program']['name']}_{k}": v for k, v in _gap_plots(d).items()})
        out["h2h_behaviour"] = _plot_h2h_behaviour(doc)
        faith = _plot_h2h_faithfulness(doc)
        if faith is not None:
            out["h2h_faithfulness"] = faith
        return out
    if kind == "examples_sweep":
        return {"sweep": _plot_sweep(doc)}
    raise ValueError(f"not a gap document: kind {kind!r}")


def plots(doc: dict, fmt: str = "png") -> dict[str, bytes]:
    """File name -> file bytes of `figures(doc)`, each PNG or SVG (`fmt`)."""
    return {f"{name}.{fmt}": figure_bytes(fig, fmt, DPI) for name, fig in figures(doc).items()}


def _figure(figsize, *args, **kwargs):
    fig = new_figure(figsize)
    return fig, fig.subplots(*args, **kwargs)


def _done(fig):
    fig.tight_layout()
    return fig


def _legend_beside(ax, **kwargs) -> None:
    """A legend to the right of `ax`, outside it: inside, some data would fall under it."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, **kwargs)
    # the legend takes room the axes had: widen the figure by about its width
    ax.figure.set_figwidth(ax.figure.get_figwidth() + LEGEND_WIDTH)


def _nan(x):
    return float("nan") if x is None else x


def _gap_plots(doc: dict) -> dict:
    out = {"behaviour": _plot_behaviour(doc)}
    if doc.get("lift") and doc["lift"]["seeds"]:
        out["lift"] = _plot_lift(doc)
    losses = [s for s in doc["training"]["seeds"] if s.get("loss_curve")]
    if losses:
        out["loss"] = _plot_loss(losses)
    f = doc.get("faithfulness")
    if f and not f.get("skipped"):
        out["faithfulness"] = _plot_faithfulness(doc)
    i = doc.get("internal")
    if i and not i.get("skipped") and i["layers"]:
        out["cka"] = _plot_cka(doc)
        out["distance"] = _plot_distance(doc)
    s = doc.get("stability")
    if s and not s.get("skipped") and s["runs"]:
        out["stability"] = _plot_stability(doc)
    return out


def _plot_behaviour(doc: dict):
    b = doc["behaviour"]
    labels = b["sizes"]
    x = list(range(len(labels)))
    fig, axes = _figure((9, 3.6), 1, 2, sharey=True)
    for ax, key, title in zip(axes, ("exact_match", "per_element"),
                              ("exact match", "per-element accuracy")):
        for r in b["seeds"]:
            ax.plot(x, [_nan(r["by_size"][s][key]) for s in labels], "o-", alpha=0.5,
                    label=f"trained seed {r['seed']}")
        ax.plot(x, [_nan(b["compiled"][s][key]) for s in labels], "k--s", label="compiled")
        ax.set_xticks(x, labels)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    _legend_beside(axes[1], fontsize=7)
    fig.suptitle(f"{doc['program']['name']}: accuracy by input size")
    return _done(fig)


def _plot_lift(doc: dict):
    """Lift (exact match, points) per seed and size with its interval; flagged seeds hollow,
    labelled with their flags."""
    f = doc["lift"]
    labels = f["sizes"]
    fig, ax = _figure((7, 3.6))
    k = len(f["seeds"])
    for j, r in enumerate(f["seeds"]):
        xs = [i + (j - (k - 1) / 2) * 0.8 / max(k, 1) for i in range(len(labels))]
        ys = [100 * _nan(r["by_size"][l]["lift_exact_match"]["value"]) for l in labels]
        lo = [100 * _nan(r["by_size"][l]["lift_exact_match"]["ci"][0]) for l in labels]
        hi = [100 * _nan(r["by_size"][l]["lift_exact_match"]["ci"][1]) for l in labels]
        err = [[y - a for y, a in zip(ys, lo)], [b - y for y, b in zip(ys, hi)]]
        flag = ", ".join(r["flags"])
        ax.errorbar(xs, ys, yerr=err, fmt="o", capsize=3,
                    mfc="none" if r["flags"] else None,
                    label=f"seed {r['seed']}" + (f" ({flag})" if flag else ""))
    ax.axhline(0, color="k", lw=1)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("lift, exact match (points)")
    ax.grid(alpha=0.3)
    _legend_beside(ax, fontsize=6)
    ax.set_title(f"{doc['program']['name']}: trained − best baseline (95 % intervals; hollow: "
                 f"flagged)", fontsize=9)
    return _done(fig)


def _plot_loss(seeds: list[dict]):
    fig, ax = _figure((6, 3.4))
    for s in seeds:
        curve = s["loss_curve"]
        ax.plot([c[0] for c in curve], [c[1] for c in curve], label=f"seed {s['seed']}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    _legend_beside(ax, fontsize=7)
    return _done(fig)


def _plot_faithfulness(doc: dict):
    f = doc["faithfulness"]
    fig, ax = _figure((6, 3.6))
    for s in f["seeds"]:
        ax.plot(range(1, len(s["per_element"]) + 1), [_nan(v) for v in s["per_element"]],
                "-", alpha=0.7, label=f"trained seed {s['seed']}")
    c = f["compiled"]["per_element"]
    ax.plot(range(1, len(c) + 1), [_nan(v) for v in c], "k--", label="compiled")
    ax.set_xlabel("round")
    ax.set_ylabel("state accuracy (per element)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(f"{doc['program']['name']}: state vs interpreter trace, n = {f['n']}")
    ax.grid(alpha=0.3)
    _legend_beside(ax, fontsize=7)
    return _done(fig)


def _plot_cka(doc: dict):
    i, base = doc["internal"], doc.get("baselines") or {}
    layers = i["layers"]
    x = list(range(len(layers)))
    fig, ax = _figure((max(5, 0.6 * len(layers) + 2), 3.8))
    for s in i["cka"]:
        ax.plot(x, [_nan(v) for v in s["per_layer"]], "o", alpha=0.6,
                label=f"seed {s['seed']} vs compiled")
    means = [_nan(mean([s["per_layer"][j] for s in i["cka"]])) for j in x]
    ax.bar(x, means, alpha=0.3, color="C0", label="trained vs compiled (mean)")
    init = [_nan(mean([s.get("init_per_layer", [None] * len(x))[j] for s in i["cka"]]))
            for j in x]
    ax.plot(x, init, "k_", markersize=18, mew=2, label="untrained init vs compiled (mean)")
    if base and not base.get("skipped") and base["cka"]:
        pair = [_nan(mean([p["per_layer"][j] for p in base["cka"]])) for j in x]
        ax.plot(x, pair, "r_", markersize=18, mew=2, label="seed vs seed (mean)")
    ax.set_xticks(x, layers, rotation=60, ha="right", fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("unit CKA")
    ax.set_title(f"{doc['program']['name']}: hidden-state similarity per layer")
    _legend_beside(ax, fontsize=7)
    return _done(fig)


def _plot_distance(doc: dict):
    i, base = doc["internal"], doc.get("baselines") or {}
    groups = [("trained vs compiled", [r["canonical"] for r in i["distance"]]),
              ("init vs compiled", [r.get("init_canonical") for r in i["distance"]])]
    if base and not base.get("skipped") and base["distance"]:
        groups.append(("seed vs seed", [r["canonical"] for r in base["distance"]]))
    fig, ax = _figure((6, 3.6))
    ax.bar(range(len(groups)), [_nan(mean(v)) for _, v in groups], 0.6, alpha=0.6)
    for g, (_, v) in enumerate(groups):
        ax.plot([g] * len(v), [_nan(x) for x in v], "k.", markersize=5)
    ax.set_xticks(range(len(groups)), [g for g, _ in groups])
    ax.set_ylabel("canonical distance")
    ax.set_title(f"{doc['program']['name']}: weight distance (symmetric, invariant)")
    return _done(fig)


def _plot_stability(doc: dict):
    s = doc["stability"]
    labels = s["sizes"]
    fig, ax = _figure((6, 3.6))
    x = list(range(len(labels)))
    for k, r in enumerate(s["runs"]):
        color = f"C{k}"
        ax.plot(x, [_nan(r["before"][l]["exact_match"]) for l in labels], "o:", color=color,
                alpha=0.6, label=f"σ={r['noise']} before")
        ax.plot(x, [_nan(r["after"][l]["exact_match"]) for l in labels], "s-", color=color,
                label=f"σ={r['noise']} after")
    ax.set_xticks(x, labels)
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel("exact match")
    ax.set_title(f"{doc['program']['name']}: training from the compiled weights")
    ax.grid(alpha=0.3)
    _legend_beside(ax, fontsize=7)
    return _done(fig)


def _plot_h2h_behaviour(doc: dict):
    a, b = doc["programs"]
    fig, axes = _figure((9, 3.6), 1, 2, sharey=True)
    for ax, key, title in zip(axes, ("exact_match", "per_element"),
                              ("exact match", "per-element accuracy")):
        for k, d in enumerate((a, b)):
            be = d["behaviour"]
            labels = be["sizes"]
            x = list(range(len(labels)))
            ax.plot(x, [_nan(mean([r["by_size"][s][key] for r in be["seeds"]]))
                        for s in labels], "o-", color=f"C{k}",
                    label=f"{d['program']['name']} trained (mean)")
            ax.plot(x, [_nan(be["compiled"][s][key]) for s in labels], "--", color=f"C{k}",
                    alpha=0.6, label=f"{d['program']['name']} compiled")
            ax.set_xticks(x, labels)
        ax.set_title(title)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    _legend_beside(axes[1], fontsize=7)
    fig.suptitle(f"{a['program']['name']} vs {b['program']['name']}")
    return _done(fig)


def _plot_h2h_faithfulness(doc: dict):
    fs = [(d["program"]["name"], d.get("faithfulness")) for d in doc["programs"]]
    fs = [(n, f) for n, f in fs if f and not f.get("skipped")]
    if not fs:
        return None
    fig, ax = _figure((6, 3.6))
    for k, (name, f) in enumerate(fs):
        R = len(f["compiled"]["per_element"])
        xs = [(r + 1) / R for r in range(R)]  # rounds differ (n - 1 vs log n): a fraction
        for j, s in enumerate(f["seeds"]):
            ax.plot(xs, [_nan(v) for v in s["per_element"]], "-", color=f"C{k}", alpha=0.6,
                    label=f"{name} trained ({R} rounds)" if j == 0 else None)
    ax.set_xlabel("fraction of the rounds")
    ax.set_ylabel("state accuracy (per element)")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    _legend_beside(ax, fontsize=7)
    return _done(fig)


def _plot_sweep(doc: dict):
    counts = doc["counts"]
    fig, axes = _figure((9, 3.6), 1, 2, sharey=True)
    for ax, key, title in zip(axes, ("exact_match", "per_element"),
                              ("exact match", "per-element accuracy")):
        for s in doc["seeds"]:
            ax.plot(counts, [_nan(p[key]) for p in s["points"]], "o-", alpha=0.5,
                    label=f"seed {s['seed']}")
        ax.plot(counts, [_nan(mean([s["points"][j][key] for s in doc["seeds"]]))
                         for j in range(len(counts))], "k-", lw=2, label="mean")
        lift = doc.get("lift")
        if lift:
            # the best baseline (not counting inits) at each count: what no learning scores
            best = [max((_nan(b["by_size"][sec["label"]][key]["value"])
                         for b in sec["baselines"]), default=float("nan"))
                    for sec in lift["by_count"]]
            ax.plot(counts, best, color="0.5", ls="--", label="best baseline")
        if doc.get("reference_count"):
            ax.axvline(doc["reference_count"], color="r", ls=":", label=doc["reference_label"])
        ax.set_xscale("log", base=2)
        ax.set_xlabel("training examples")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    _legend_beside(axes[1], fontsize=7)
    fig.suptitle(f"{doc['program']['name']}: accuracy vs training examples "
                 f"({doc['eval_label']})")
    return _done(fig)
