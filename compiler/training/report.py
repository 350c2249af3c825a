"""The gap report: a gap document (the dict `gap`, `head_to_head` or `sweep` in
`nclang.compiler.training` builds, saved as gap.json) becomes gap.md and PNG plots.

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

Files are written one at a time, each atomically (a temporary file in the same folder, then a
rename), so a reader never sees half a file.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

from nclang.compiler.atomic import write_atomic

SECTIONS = ("lift", "scored", "training", "behaviour", "faithfulness", "internal", "baselines",
            "stability", "problems", "timing")
TITLES = {"lift": "Lift over the baselines (the headline)", "scored": "What is scored", "training": "Training", "behaviour": "Behaviour",
          "faithfulness": "Faithfulness over time", "internal": "Internal similarity",
          "baselines": "Internal: trained vs untrained vs seed", "stability": "Stability",
          "problems": "Problems", "timing": "Timing"}
MISSING = "—"


# ---------------------------------------------------------------- writing files

def write(doc: dict, out_dir) -> list[Path]:
    """Write gap.json, gap.md and the plots of `doc` into `out_dir` (created if need be); the
    paths written, gap.json first."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"gap.json": (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode("utf-8")}
    pictures = plots(doc)
    files["gap.md"] = markdown(doc, sorted(pictures)).encode("utf-8")
    files.update(pictures)
    written = []
    for name, data in files.items():
        path = out / name
        write_atomic(path, data)
        written.append(path)
    return written


# ---------------------------------------------------------------- markdown

def markdown(doc: dict, images: list[str] = ()) -> str:
    """gap.md for any kind of document; `images` are the PNG names to link."""
    kind = doc.get("kind")
    if kind == "gap":
        lines = _gap_markdown(doc, images)
    elif kind == "head_to_head":
        lines = _h2h_markdown(doc, images)
    elif kind == "examples_sweep":
        lines = _sweep_markdown(doc, images)
    else:
        raise ValueError(f"not a gap document: kind {kind!r}")
    return "\n".join(lines).rstrip() + "\n"


def _pct(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    return f"{100 * x:.1f}"


def _num(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    return f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out + [""]


def _mean(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return sum(xs) / len(xs) if xs else None


def _image(images, name: str, alt: str) -> list[str]:
    return [f"![{alt}]({name})", ""] if name in images else []


def _program_line(p: dict) -> str:
    sizes = ", ".join(f"{k}={v}" for k, v in sorted((p.get("sizes") or {}).items()))
    rounds = f", {p['rounds']} rounds" if p.get("rounds") else ""
    klass = f", class {p['class']}" if p.get("class") else ""
    return (f"`{p['name']}` ({p['file']}): a {p['family']} program on the `{p['target']}` "
            f"target{', sizes ' + sizes if sizes else ''}{rounds}{klass}, "
            f"{p.get('parameters', '?')} parameters")


def _gap_markdown(doc: dict, images, prefix: str = "", level: int = 2) -> list[str]:
    h = "#" * level
    p = doc["program"]
    lines = []
    if level == 2:
        lines += [f"# Gap report: {p['name']}", "",
                  "Trained networks of the compiled architecture against the compiled network "
                  "(`nclang gap`).", ""]
    lines += [_program_line(p) + ".", "", _config_line(doc["config"], p["family"]), ""]
    for section in SECTIONS:
        body = _SECTION_MARKDOWN[section](doc.get(section), doc, images, prefix)
        if body is None:
            continue
        lines += [f"{h} {TITLES[section]}", ""] + body
    return lines


def _config_line(c: dict, family: str = "graph") -> str:
    t = c["train"]
    lo, hi = t["n_range"]
    if family == "graph":
        sizes = f"training graphs of {lo}..{hi} nodes ({', '.join(t['families'])})"
    elif family == "seq":
        sizes = f"training lengths {lo}..{hi}"
    else:
        sizes = "sizes " + ", ".join(f"{k}={v}" for k, v in sorted((t.get("sizes") or {}).items()))
    hints = (f", hints weight {t['trace_weight']}" if t["trace_weight"] else ", no hints")
    if t.get("patience"):
        hints += (f"; early stopping: validation loss every {t['val_every']} steps on "
                  f"{t['val_examples']} held-out inputs, patience {t['patience']}")
    noise = ", ".join(str(s) for s in c["noise"]) or "none"
    return (f"Settings: {c['seeds']} seeds, at most {t['steps']} steps of batch {t['batch']} on "
            f"{t['examples']} examples (Adam, lr {t['lr']}; {sizes}{hints}); stability noise "
            f"σ {noise}; {c['variants']} symmetric copies of the compiled network for the "
            f"invariance check.")


def _ci(c, pct: bool = True) -> str:
    """A value with its interval: "12.5 [8.0, 17.1]" (percent) or points of lift."""
    if not c or c.get("value") is None:
        return MISSING
    f = _pct if pct else _num
    lo, hi = c.get("ci") or (None, None)
    return f"{f(c['value'])} [{f(lo)}, {f(hi)}]"


def _signed(c) -> str:
    if not c or c.get("value") is None:
        return MISSING
    lo, hi = c.get("ci") or (None, None)
    g = lambda x: MISSING if x is None else f"{100 * x:+.1f}"
    return f"{g(c['value'])} [{g(lo)}, {g(hi)}]"


def _md_lift(f, doc, images, prefix):
    if f is None:
        return None
    labels = f["sizes"]
    lines = [f"A trained score counts only beside what no learning scores. Baselines (fitted on "
             f"{f.get('fitted_on', 'the training set')}; scored on the same evaluation inputs "
             f"as the seeds):", ""]
    lines += [f"- `{b['name']}`: {b['description']}" for b in f["baselines"]]
    lines += ["- `init (seed S)`: seed S's untrained init, before any step.", ""]
    rows = [[f"`{b['name']}`", *(f"{_ci(b['by_size'][l]['exact_match'])} / "
                                 f"{_ci(b['by_size'][l]['per_element'])}" for l in labels)]
            for b in f["baselines"]]
    rows += [[f"init (seed {r['seed']})", *(f"{_ci(r['by_size'][l]['exact_match'])} / "
                                            f"{_ci(r['by_size'][l]['per_element'])}"
                                            for l in labels)] for r in f["init"]]
    lines += ["Baselines, exact / element, percent [95 % interval]:", ""]
    lines += _table(["baseline"] + [f"{l}: exact / element" for l in labels], rows)
    lines += [f"Each seed: exact match in percent, the best baseline at that size (any of the "
              f"above, the seed's own init included), and **lift** = seed − best baseline in "
              f"points, with its interval ({f['interval']}). A seed whose prediction is the "
              f"same on ≥ {100 * f['flag_share']:.0f} % of the inputs of every size is "
              f"**constant**; one that agrees with a baseline on ≥ "
              f"{100 * f['flag_share']:.0f} % of elements is **= NAME**. A flagged seed never "
              f"counts as learning, whatever its lift; an unflagged seed learned at a size when "
              f"its lift interval lies above 0.", ""]
    rows = []
    for r in f["seeds"]:
        cells = []
        for l in labels:
            x = r["by_size"][l]
            cells.append(f"{_ci(x['exact_match'])}; best `{x['best_baseline_exact_match']['name']}`"
                         f" {_pct(x['best_baseline_exact_match']['value'])}; lift "
                         f"{_signed(x['lift_exact_match'])}")
        rows.append([f"seed {r['seed']}", *cells, ", ".join(f"**{x}**" for x in r["flags"])
                     or "none"])
    lines += _table(["seed"] + [f"{l}: exact; best baseline; lift" for l in labels]
                    + ["flags"], rows)
    rows = []
    for r in f["seeds"]:
        rows.append([f"seed {r['seed']}", *(
            f"{_ci(r['by_size'][l]['per_element'])}; lift "
            f"{_signed(r['by_size'][l]['lift_per_element'])}" for l in labels)])
    lines += ["Per element (percent; lift over the best baseline per element, in points):", ""]
    lines += _table(["seed"] + [f"{l}: element; lift" for l in labels], rows)
    m = f.get("mean") or {}
    if m:
        rows = [["mean over seeds", *(f"{_ci(m[l]['exact_match'])} / "
                                      f"{_signed(m[l]['lift_exact_match'])}" for l in labels)],
                ["seeds that learned", *(f"{m[l]['learned_seeds']} of {len(f['seeds'])}"
                                         for l in labels)]]
        lines += _table(["", *(f"{l}: exact / lift" for l in labels)], rows)
    flagged = f.get("flagged_seeds") or []
    if flagged:
        lines += [f"**Flagged seeds {', '.join(map(str, flagged))}: constant or equal to a "
                  f"baseline; nothing learned there.**", ""]
    if any(m[l]["learned_seeds"] == 0 for l in labels) if m else False:
        none = [l for l in labels if m[l]["learned_seeds"] == 0]
        lines += [f"**Nothing learned at {', '.join(none)}: no seed beats the best baseline "
                  f"outside its interval.**", ""]
    if f.get("overlap") is not None:
        lines += ["Evaluation inputs identical to a training input: " + ", ".join(
            f"{l}: {v}" for l, v in f["overlap"].items()) + (
            " (after dropping " + ", ".join(f"{l}: {v}" for l, v in f["overlap_removed"].items())
            + " that were)" if any((f.get("overlap_removed") or {}).values()) else "") + ".", ""]
    lines += _image(images, prefix + "lift.png", "lift over the best baseline")
    return lines


def _md_scored(s, doc, images, prefix):
    if s is None:
        return None
    rows = [[f"`{o['name']}`", f"`{o['type']}`", o["element"], o["how"]] for o in s["outputs"]]
    lines = _table(["output", "type", "one element is", "compared"], rows)
    if s.get("pointers"):
        lines += ["", "- **Pointer outputs** ("
                  + ", ".join(f"`{p}`" for p in s["pointers"]) + "): " + s["pointer_accuracy"]]
    lines += [f"- **Per-element accuracy**: {s['per_element']}",
              f"- **Exact match**: {s['exact_match']}",
              f"- **Trained networks** are decoded as `Trainable.predict` does: {s['decoding']}"]
    if s.get("note"):
        lines.append(f"- {s['note']}")
    return lines + [""]


def _md_training(t, doc, images, prefix):
    if t is None:
        return None
    rows = [[str(r["seed"]), r["source"], str(r.get("steps", MISSING)),
             str(r.get("cap") or MISSING), r.get("stopped") or MISSING,
             str(r.get("best_step") if r.get("best_step") is not None else MISSING),
             str(r.get("examples", MISSING)), _num(r.get("final_loss"), 4)] for r in t["seeds"]]
    return (_table(["seed", "from", "steps used", "step cap", "stopped by", "weights kept from "
                    "step", "examples", "final loss"], rows)
            + _image(images, prefix + "loss.png", "training loss"))


def _md_behaviour(b, doc, images, prefix):
    if b is None:
        return None
    labels = b["sizes"]
    lines = ["Accuracy in percent on fresh inputs at each size (the first is the training "
             "size); `exact` is the share of inputs with every output element right."]
    if doc["program"]["family"] == "graph":
        families = ", ".join(doc["config"]["train"]["families"])
        lines[0] += (f" Inputs are drawn as the training data is ({families}; a node[bool] "
                     f"input marks one node), with exactly n nodes (a grid: the nearest r × c).")
    lines.append("")
    rows = [["compiled"] + [f"{_pct(b['compiled'][s]['exact_match'])} / "
                            f"{_pct(b['compiled'][s]['per_element'])}" for s in labels]]
    for r in b["seeds"]:
        rows.append([f"seed {r['seed']}"] + [f"{_pct(r['by_size'][s]['exact_match'])} / "
                                             f"{_pct(r['by_size'][s]['per_element'])}"
                                             for s in labels])
    if b["seeds"]:
        rows.append(["trained mean"] + [
            f"{_pct(_mean([r['by_size'][s]['exact_match'] for r in b['seeds']]))} / "
            f"{_pct(_mean([r['by_size'][s]['per_element'] for r in b['seeds']]))}"
            for s in labels])
    examples = ", ".join(f"{s}: {b['compiled'][s]['examples']}" for s in labels)
    lines += _table(["network"] + [f"{s}: exact / element" for s in labels], rows)
    raw = [r for r in b["seeds"] if any(r["by_size"][s].get("raw_error") for s in labels)]
    if raw:
        lines += ["Mean absolute error of the integer outputs, in the program's own units "
                  "(where expected and predicted are finite; training normalises the loss by "
                  "the targets' range, this is the raw error):", ""]
        lines += _table(["network"] + labels, [[f"seed {r['seed']}"] + [", ".join(
            f"{k} {_num(v, 2)}" for k, v in (r["by_size"][s].get("raw_error") or {}).items())
            for s in labels] for r in raw])
    lines += [f"Inputs per size: {examples}.", ""]
    lines += _image(images, prefix + "behaviour.png", "accuracy by size")
    return lines


def _md_faithfulness(f, doc, images, prefix):
    if f is None:
        return None
    if f.get("skipped"):
        return [f"Not measured: {f['skipped']}", ""]
    R = len(f["compiled"]["per_element"])
    picks = sorted({1, max(1, R // 4), max(1, R // 2), max(1, 3 * R // 4), R})
    lines = [f"Per-element accuracy (percent) of the carried loop state "
             f"({', '.join('`' + v + '`' for v in f['variables'])}) after each round against "
             f"the interpreter's trace, on {f['examples']} inputs with n = {f['n']} "
             f"({R} rounds; after the interpreter stops at a stable state, its last state is "
             f"the target). Trained networks run every round.", ""]
    rows = [["compiled"] + [_pct(f["compiled"]["per_element"][r - 1]) for r in picks]]
    rows += [[f"seed {s['seed']}"] + [_pct(s["per_element"][r - 1]) for r in picks]
             for s in f["seeds"]]
    lines += _table(["network"] + [f"round {r}" for r in picks], rows)
    lines += _image(images, prefix + "faithfulness.png", "per-round accuracy")
    return lines


def _md_internal(i, doc, images, prefix):
    if i is None:
        return None
    if i.get("skipped"):
        return [f"Not measured: {i['skipped']}", ""]
    layers = i["layers"]
    base = doc.get("baselines") or {}
    lines = [f"Hidden-state similarity: {i.get('similarity', 'linear CKA')}, per layer, on the "
             f"same {i['examples']} inputs (n = {i['n']}, every round, {i['rows']} rows for the "
             f"first layer). Each seed beside its own untrained init (`init`): a trained number "
             f"means something only where it differs from the init's.", ""]
    rows = []
    for j, name in enumerate(layers):
        per_seed = [s["per_layer"][j] for s in i["cka"]]
        per_init = [s.get("init_per_layer", [None] * len(layers))[j] for s in i["cka"]]
        pairs = [pr["per_layer"][j] for pr in base.get("cka", [])]
        rows.append([f"`{name}`", *(f"{_num(a)} (init {_num(b)})"
                                    for a, b in zip(per_seed, per_init)),
                     _num(_mean(per_seed)), _num(_mean(per_init)), _num(_mean(pairs))])
    lines += _table(["layer", *(f"seed {s['seed']}" for s in i["cka"]), "trained mean",
                     "init mean", "seed vs seed"], rows)
    lines += _image(images, prefix + "cka.png", "CKA per layer")
    stacks = f"{i['stacks']} MLP stack{'s' if i['stacks'] != 1 else ''}"
    lines += [f"Weight distance over the {stacks}: {i.get('distance_measure', '')}. "
              f"`unaligned` compares the weights as they are (symmetric normalisation).", ""]
    rows = [[f"seed {s['seed']} vs compiled", _num(s["canonical"]),
             _num(s.get("init_canonical")), _num(s["unaligned"])] for s in i["distance"]]
    rows += [[f"seeds {pr['pair'][0]} vs {pr['pair'][1]}", _num(pr["canonical"]), MISSING,
              _num(pr["unaligned"])] for pr in base.get("distance", [])]
    lines += _table(["pair", "distance", "its init vs compiled", "unaligned"], rows)
    check = i.get("invariance_check")
    if check:
        lines += [f"Invariance check: against {check['copies']} random function-equivalent "
                  f"copies of the compiled network the distances change by at most "
                  f"{_num(check['max_change'], 9)}.", ""]
    lines += _image(images, prefix + "distance.png", "weight distances")
    return lines


def _md_baselines(b, doc, images, prefix):
    if b is None:
        return None
    internal = doc.get("internal") or {}
    summary = internal.get("summary")
    if not summary:
        return [f"Not measured: {b.get('skipped', 'no internal comparison')}", ""]
    lines = [f"Means over seeds (pairs of seeds) with bootstrap 95 % intervals over them; the "
             f"verdict compares each seed with its own untrained init (the interval of the "
             f"per-seed difference trained − init).", ""]
    rows = []
    for key, label in (("cka", "similarity (unit CKA, mean over layers; 1 = same)"),
                       ("distance", "canonical distance (0 = same)")):
        x = summary[key]
        rows.append([label, _ci(x["trained_vs_compiled"], False),
                     _ci(x["init_vs_compiled"], False), _ci(x["seed_vs_seed"], False),
                     _ci(x["trained_minus_init"], False), f"**{x['verdict']}**"])
    lines += _table(["measure", "trained vs compiled", "untrained init vs compiled",
                     "seed vs seed", "trained − init", "reading"], rows)
    if b.get("skipped"):
        lines += [f"Seed vs seed: {b['skipped']}.", ""]
    return lines


def _md_stability(s, doc, images, prefix):
    if s is None:
        return None
    if s.get("skipped"):
        return [f"Not measured: {s['skipped']}", ""]
    labels = s["sizes"]
    lines = [f"Training started at the compiled weights plus Gaussian noise of std σ · rms(W) "
             f"per tensor (relative to its scale), "
             f"{s['steps']} steps with the settings above (seed {s['seed']}); exact-match "
             f"accuracy in percent before and after, and the relative weight distance from "
             f"the compiled weights.", ""]
    rows = []
    for r in s["runs"]:
        rows.append([str(r["noise"]),
                     *(f"{_pct(r['before'][x]['exact_match'])} → "
                       f"{_pct(r['after'][x]['exact_match'])}" for x in labels),
                     _num(r["distance_before"], 4), _num(r["distance_after"], 4),
                     "yes" if r["stays_exact"] else "no"])
    lines += _table(["σ", *labels, "distance before",
                     "distance after", "stays exact"], rows)
    lines += _image(images, prefix + "stability.png", "stability")
    return lines


def _md_problems(p, doc, images, prefix):
    if not p:
        return None
    return [f"- **{x}**" for x in p] + [""]


def _md_timing(t, doc, images, prefix):
    if t is None:
        return None
    rows = [[k.replace("_", " "), _num(v, 1) if not isinstance(v, list)
             else ", ".join(_num(x, 1) for x in v)] for k, v in t.items()]
    return ["Wall-clock seconds (the only part of gap.json that changes between runs with "
            "the same seeds).", ""] + _table(["step", "seconds"], rows)


_SECTION_MARKDOWN = {"lift": _md_lift, "scored": _md_scored, "training": _md_training, "behaviour": _md_behaviour,
                     "faithfulness": _md_faithfulness, "internal": _md_internal,
                     "baselines": _md_baselines, "stability": _md_stability,
                     "problems": _md_problems, "timing": _md_timing}


# ---- head to head

def _h2h_markdown(doc: dict, images) -> list[str]:
    a, b = doc["programs"]
    na, nb = a["program"]["name"], b["program"]["name"]
    lines = [f"# Head to head: {na} vs {nb}", "",
             f"Two programs for the same function, trained and compared with their compiled "
             f"networks under the same settings. "
             f"{_config_line(a['config'], a['program']['family'])}", ""]
    rows = [["program", f"`{na}` ({a['program']['file']})", f"`{nb}` ({b['program']['file']})"],
            ["target", a["program"]["target"], b["program"]["target"]],
            ["rounds", a["program"].get("rounds") or "none", b["program"].get("rounds") or "none"],
            ["class", a["program"].get("class") or MISSING, b["program"].get("class") or MISSING],
            ["parameters", str(a["program"].get("parameters")),
             str(b["program"].get("parameters"))],
            ["scored", _scored_short(a), _scored_short(b)]]
    lines += ["## Programs", ""] + _table(rows[0], rows[1:])
    lines += ["## Behaviour side by side", "",
              "Exact match / per-element accuracy in percent, each program scored on its own "
              "outputs; trained: the mean over seeds.", ""]
    labels = [s for s in a["behaviour"]["sizes"] if s in b["behaviour"]["sizes"]]
    rows = []
    for s in labels:
        row = [s]
        for d in (a, b):
            be = d["behaviour"]
            row.append(f"{_pct(_mean([r['by_size'][s]['exact_match'] for r in be['seeds']]))} / "
                       f"{_pct(_mean([r['by_size'][s]['per_element'] for r in be['seeds']]))}")
            row.append(f"{_pct(be['compiled'][s]['exact_match'])} / "
                       f"{_pct(be['compiled'][s]['per_element'])}")
        rows.append(row)
    lines += _table(["size", f"{na} trained", f"{na} compiled", f"{nb} trained",
                     f"{nb} compiled"], rows)
    lines += _image(images, "h2h_behaviour.png", "behaviour side by side")
    common = doc.get("common")
    lines += ["## The shared function", ""]
    if common is None or common.get("skipped"):
        lines += [f"Not measured: {(common or {}).get('skipped', 'no common projection')}", ""]
    else:
        lines += [common["description"], ""]
        rows = []
        for s in common["sizes"]:
            row = [s]
            for name in (na, nb):
                c = common["programs"][name]
                ex = _mean([r["by_size"][s]["exact_match"] for r in c["seeds"]])
                el = _mean([r["by_size"][s]["per_element"] for r in c["seeds"]])
                row.append(f"{_pct(ex)} / {_pct(el)}")
                row.append(f"{_pct(c['compiled'][s]['exact_match'])} / "
                           f"{_pct(c['compiled'][s]['per_element'])}")
            rows.append(row)
        lines += _table(["size", f"{na} trained", f"{na} compiled", f"{nb} trained",
                         f"{nb} compiled"], rows)
        lines += _md_common_lift(common, (na, nb))
    lines += ["## Faithfulness and internals side by side", ""]
    rows = []
    for d in (a, b):
        f, i, base = d.get("faithfulness") or {}, d.get("internal") or {}, d.get("baselines") or {}
        last = (_mean([s["per_element"][-1] for s in f["seeds"]])
                if f and not f.get("skipped") and f["seeds"] else None)
        cka = (_mean([_mean(s["per_layer"]) for s in i["cka"]])
               if i and not i.get("skipped") else None)
        dist = (_mean([s["canonical"] for s in i["distance"]])
                if i and not i.get("skipped") else None)
        bcka = (_mean([_mean(p["per_layer"]) for p in base["cka"]])
                if base and not base.get("skipped") else None)
        bdist = (_mean([p["canonical"] for p in base["distance"]])
                 if base and not base.get("skipped") else None)
        stab = d.get("stability") or {}
        stays = (", ".join(f"σ={r['noise']}: {'yes' if r['stays_exact'] else 'no'}"
                           for r in stab["runs"]) if stab and not stab.get("skipped") else MISSING)
        rows.append([f"`{d['program']['name']}`", _pct(last), _num(cka), _num(bcka), _num(dist),
                     _num(bdist), stays])
    lines += _table(["program", "last-round state accuracy", "CKA vs compiled",
                     "CKA seed vs seed", "distance vs compiled", "distance seed vs seed",
                     "stays exact"], rows)
    lines += _image(images, "h2h_faithfulness.png", "faithfulness side by side")
    for d in (a, b):
        name = d["program"]["name"]
        lines += [f"## {name}", ""]
        lines += _gap_markdown(d, images, prefix=f"{name}_", level=3)
    if doc.get("timing"):
        lines += ["## Timing", ""] + _md_timing(doc["timing"], doc, images, "")
    return lines


def _md_common_lift(common: dict, names) -> list[str]:
    """Baselines and lift on the shared function, per program, as in a gap report."""
    lifts = {n: common["programs"][n].get("lift") for n in names}
    if not all(lifts.values()):
        return []
    first = lifts[names[0]]
    labels = first["sizes"]
    lines = [f"Baselines of the shared function (fitted on "
             f"{common.get('baselines_fitted_on', 'the training set')}), exact match in "
             f"percent [95 % interval]:", ""]
    lines += _table(["baseline", *labels],
                    [[f"`{b['name']}`", *(_ci(b["by_size"][l]["exact_match"]) for l in labels)]
                     for b in first["baselines"]])
    lines += [f"Each program's seeds on the shared function: mean exact match, and lift over "
              f"the best baseline at that size (the seed's own untrained init included) in "
              f"points, [95 % interval over seeds and inputs]; flagged seeds (constant, or = a "
              f"baseline on ≥ {100 * first['flag_share']:.0f} % of elements) never count.", ""]
    rows = []
    for n in names:
        f = lifts[n]
        m = f["mean"]
        flagged = [f"seed {r['seed']}: {', '.join(r['flags'])}" for r in f["seeds"]
                   if r["flags"]]
        rows.append([f"`{n}`", *(f"{_ci(m[l]['exact_match'])}; lift "
                                 f"{_signed(m[l]['lift_exact_match'])}; "
                                 f"{m[l]['learned_seeds']} of {len(f['seeds'])} learned"
                                 for l in labels), "; ".join(flagged) or "none"])
    lines += _table(["program", *(f"{l}: exact; lift; seeds that learned" for l in labels),
                     "flags"], rows)
    for n in names:
        none = [l for l in labels if lifts[n]["mean"][l]["learned_seeds"] == 0]
        if none:
            lines += [f"**`{n}` learned nothing of the shared function at {', '.join(none)}.**",
                      ""]
    return lines


def _scored_short(d: dict) -> str:
    return "; ".join(f"`{o['name']}` per {o['element']}" for o in d["scored"]["outputs"])


# ---- examples sweep

def _sweep_markdown(doc: dict, images) -> list[str]:
    p = doc["program"]
    lines = [f"# Examples sweep: {p['name']}", "",
             _program_line(p) + ".", "",
             f"Accuracy on {doc['eval_examples']} fresh inputs ({doc['eval_label']}; "
             f"{doc.get('eval_dropped_as_seen', 0)} drawn inputs dropped because a training "
             f"set held them: none scored was seen in training) after "
             f"training on a given number of examples, at most "
             f"{doc['config']['train']['steps']} steps each, {doc['config']['seeds']} seeds.",
             ""]
    if doc.get("reference"):
        lines += [doc["reference"], ""]
    lines += ["## Accuracy by number of training examples", ""]
    rows = []
    for j, count in enumerate(doc["counts"]):
        ex = [s["points"][j]["exact_match"] for s in doc["seeds"]]
        el = [s["points"][j]["per_element"] for s in doc["seeds"]]
        loss = _mean([s["points"][j].get("final_loss") for s in doc["seeds"]])
        rows.append([str(count), *(f"{_pct(e)} / {_pct(x)}" for e, x in zip(ex, el)),
                     f"{_pct(_mean(ex))} / {_pct(_mean(el))}", _num(loss, 4)])
    lines += _table(["examples", *(f"seed {s['seed']}: exact / element" for s in doc["seeds"]),
                     "mean", "final training loss (mean)"], rows)
    c = doc["compiled"]
    lines += [f"The compiled network on the same inputs: {_pct(c['exact_match'])} / "
              f"{_pct(c['per_element'])}.", ""]
    lines += _md_sweep_lift(doc.get("lift"))
    lines += _image(images, "sweep.png", "accuracy vs training examples")
    if doc.get("scored"):
        lines += ["## What is scored", ""] + _md_scored(doc["scored"], doc, images, "")
    if doc.get("problems"):
        lines += ["## Problems", ""] + _md_problems(doc["problems"], doc, images, "")
    if doc.get("timing"):
        lines += ["## Timing", ""] + _md_timing(doc["timing"], doc, images, "")
    return lines


def _md_sweep_lift(lift) -> list[str]:
    """Baselines and lift per number of examples: the sweep's headline, as in a gap report."""
    if not lift:
        return []
    first = lift["by_count"][0]
    lines = ["## Baselines and lift by number of training examples", "",
             f"As in a gap report: baselines fitted on {lift['fitted_on']} and scored on the "
             f"same inputs; the best baseline at each count is the highest-scoring of them and "
             f"of the seed's own untrained init; lift = seed − best baseline, exact match, in "
             f"points [95 % interval: {first['interval']}]. A seed whose prediction is the "
             f"same on ≥ {100 * first['flag_share']:.0f} % of inputs is **constant**, one "
             f"agreeing with a baseline on ≥ {100 * first['flag_share']:.0f} % of elements "
             f"**= NAME**; flagged seeds never count as learning.", ""]
    names = [b["name"] for b in first["baselines"]]
    rows = []
    for sec in lift["by_count"]:
        label = sec["label"]
        m = sec["mean"][label]
        flagged = [f"seed {r['seed']}: {', '.join(r['flags'])}" for r in sec["seeds"]
                   if r["flags"]]
        rows.append([str(sec["count"]),
                     *(_ci(b["by_size"][label]["exact_match"]) for b in sec["baselines"]),
                     _ci(m["exact_match"]), _signed(m["lift_exact_match"]),
                     f"{m['learned_seeds']} of {len(sec['seeds'])}",
                     "; ".join(flagged) or "none"])
    lines += _table(["examples", *(f"`{n}`" for n in names), "mean over seeds: exact",
                     "mean lift", "seeds that learned", "flags"], rows)
    none = [str(sec["count"]) for sec in lift["by_count"]
            if sec["mean"][sec["label"]]["learned_seeds"] == 0]
    if none:
        lines += [f"**Nothing learned at {', '.join(none)} examples: no unflagged seed beats "
                  f"the best baseline outside its interval.**", ""]
    return lines


# ---------------------------------------------------------------- plots

def plots(doc: dict) -> dict[str, bytes]:
    """PNG name -> PNG bytes for `doc`; a section without data draws nothing."""
    kind = doc.get("kind")
    if kind == "gap":
        return _gap_plots(doc)
    if kind == "head_to_head":
        out = {}
        for d in doc["programs"]:
            out.update({f"{d['program']['name']}_{k}": v for k, v in _gap_plots(d).items()})
        out["h2h_behaviour.png"] = _plot_h2h_behaviour(doc)
        faith = _plot_h2h_faithfulness(doc)
        if faith is not None:
            out["h2h_faithfulness.png"] = faith
        return out
    if kind == "examples_sweep":
        return {"sweep.png": _plot_sweep(doc)}
    raise ValueError(f"not a gap document: kind {kind!r}")


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # no display: this must work on a headless machine
    import matplotlib.pyplot as plt
    return plt


def _png(fig) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.tight_layout()
    # no Software/date metadata: the same document gives the same bytes
    fig.savefig(buf, dpi=100, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _nan(x):
    return float("nan") if x is None else x


def _gap_plots(doc: dict) -> dict[str, bytes]:
    out = {"behaviour.png": _plot_behaviour(doc)}
    if doc.get("lift") and doc["lift"]["seeds"]:
        out["lift.png"] = _plot_lift(doc)
    losses = [s for s in doc["training"]["seeds"] if s.get("loss_curve")]
    if losses:
        out["loss.png"] = _plot_loss(losses)
    f = doc.get("faithfulness")
    if f and not f.get("skipped"):
        out["faithfulness.png"] = _plot_faithfulness(doc)
    i = doc.get("internal")
    if i and not i.get("skipped") and i["layers"]:
        out["cka.png"] = _plot_cka(doc)
        out["distance.png"] = _plot_distance(doc)
    s = doc.get("stability")
    if s and not s.get("skipped") and s["runs"]:
        out["stability.png"] = _plot_stability(doc)
    return out


def _plot_behaviour(doc: dict) -> bytes:
    plt = _pyplot()
    b = doc["behaviour"]
    labels = b["sizes"]
    x = list(range(len(labels)))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
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
    axes[1].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{doc['program']['name']}: accuracy by input size")
    return _png(fig)


def _plot_lift(doc: dict) -> bytes:
    """Lift (exact match, points) per seed and size with its interval; flagged seeds hollow,
    labelled with their flags."""
    plt = _pyplot()
    f = doc["lift"]
    labels = f["sizes"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
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
    ax.legend(fontsize=6, loc="best")
    ax.set_title(f"{doc['program']['name']}: trained − best baseline (95 % intervals; hollow: "
                 f"flagged)", fontsize=9)
    return _png(fig)


def _plot_loss(seeds: list[dict]) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for s in seeds:
        curve = s["loss_curve"]
        ax.plot([c[0] for c in curve], [c[1] for c in curve], label=f"seed {s['seed']}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(fig)


def _plot_faithfulness(doc: dict) -> bytes:
    plt = _pyplot()
    f = doc["faithfulness"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
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
    ax.legend(fontsize=7)
    return _png(fig)


def _plot_cka(doc: dict) -> bytes:
    plt = _pyplot()
    i, base = doc["internal"], doc.get("baselines") or {}
    layers = i["layers"]
    x = list(range(len(layers)))
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(layers) + 2), 3.8))
    for s in i["cka"]:
        ax.plot(x, [_nan(v) for v in s["per_layer"]], "o", alpha=0.6,
                label=f"seed {s['seed']} vs compiled")
    means = [_nan(_mean([s["per_layer"][j] for s in i["cka"]])) for j in x]
    ax.bar(x, means, alpha=0.3, color="C0", label="trained vs compiled (mean)")
    init = [_nan(_mean([s.get("init_per_layer", [None] * len(x))[j] for s in i["cka"]]))
            for j in x]
    ax.plot(x, init, "k_", markersize=18, mew=2, label="untrained init vs compiled (mean)")
    if base and not base.get("skipped") and base["cka"]:
        pair = [_nan(_mean([p["per_layer"][j] for p in base["cka"]])) for j in x]
        ax.plot(x, pair, "r_", markersize=18, mew=2, label="seed vs seed (mean)")
    ax.set_xticks(x, layers, rotation=60, ha="right", fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("unit CKA")
    ax.set_title(f"{doc['program']['name']}: hidden-state similarity per layer")
    ax.legend(fontsize=7)
    return _png(fig)


def _plot_distance(doc: dict) -> bytes:
    plt = _pyplot()
    i, base = doc["internal"], doc.get("baselines") or {}
    groups = [("trained vs compiled", [r["canonical"] for r in i["distance"]]),
              ("init vs compiled", [r.get("init_canonical") for r in i["distance"]])]
    if base and not base.get("skipped") and base["distance"]:
        groups.append(("seed vs seed", [r["canonical"] for r in base["distance"]]))
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.bar(range(len(groups)), [_nan(_mean(v)) for _, v in groups], 0.6, alpha=0.6)
    for g, (_, v) in enumerate(groups):
        ax.plot([g] * len(v), [_nan(x) for x in v], "k.", markersize=5)
    ax.set_xticks(range(len(groups)), [g for g, _ in groups])
    ax.set_ylabel("canonical distance")
    ax.set_title(f"{doc['program']['name']}: weight distance (symmetric, invariant)")
    return _png(fig)


def _plot_stability(doc: dict) -> bytes:
    plt = _pyplot()
    s = doc["stability"]
    labels = s["sizes"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
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
    ax.legend(fontsize=7)
    return _png(fig)


def _plot_h2h_behaviour(doc: dict) -> bytes:
    plt = _pyplot()
    a, b = doc["programs"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, key, title in zip(axes, ("exact_match", "per_element"),
                              ("exact match", "per-element accuracy")):
        for k, d in enumerate((a, b)):
            be = d["behaviour"]
            labels = be["sizes"]
            x = list(range(len(labels)))
            ax.plot(x, [_nan(_mean([r["by_size"][s][key] for r in be["seeds"]]))
                        for s in labels], "o-", color=f"C{k}",
                    label=f"{d['program']['name']} trained (mean)")
            ax.plot(x, [_nan(be["compiled"][s][key]) for s in labels], "--", color=f"C{k}",
                    alpha=0.6, label=f"{d['program']['name']} compiled")
            ax.set_xticks(x, labels)
        ax.set_title(title)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{a['program']['name']} vs {b['program']['name']}")
    return _png(fig)


def _plot_h2h_faithfulness(doc: dict) -> bytes | None:
    plt = _pyplot()
    fs = [(d["program"]["name"], d.get("faithfulness")) for d in doc["programs"]]
    fs = [(n, f) for n, f in fs if f and not f.get("skipped")]
    if not fs:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
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
    ax.legend(fontsize=7)
    return _png(fig)


def _plot_sweep(doc: dict) -> bytes:
    plt = _pyplot()
    counts = doc["counts"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, key, title in zip(axes, ("exact_match", "per_element"),
                              ("exact match", "per-element accuracy")):
        for s in doc["seeds"]:
            ax.plot(counts, [_nan(p[key]) for p in s["points"]], "o-", alpha=0.5,
                    label=f"seed {s['seed']}")
        ax.plot(counts, [_nan(_mean([s["points"][j][key] for s in doc["seeds"]]))
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
    axes[1].legend(fontsize=7)
    fig.suptitle(f"{doc['program']['name']}: accuracy vs training examples "
                 f"({doc['eval_label']})")
    return _png(fig)
