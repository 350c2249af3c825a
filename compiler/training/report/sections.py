"""gap.md for a `"gap"` document (one program, trained seeds against the compiled network):
its settings line and one section per key of the document, in SECTIONS order, each under its
TITLES heading. Head-to-head and sweep reports (`comparisons`) reuse the sections."""
from __future__ import annotations

from .cells import MISSING, ci, image, mean, num, pct, signed, table

SECTIONS = ("lift", "scored", "training", "behaviour", "faithfulness", "internal", "baselines",
            "stability", "problems", "timing")
TITLES = {"lift": "Lift over the baselines (the headline)", "scored": "What is scored",
          "training": "Training", "behaviour": "Behaviour",
          "faithfulness": "Faithfulness over time", "internal": "Internal similarity",
          "baselines": "Internal: trained vs untrained vs seed", "stability": "Stability",
          "problems": "Problems", "timing": "Timing"}


def program_line(p: dict) -> str:
    sizes = ", ".join(f"{k}={v}" for k, v in sorted((p.get("sizes") or {}).items()))
    rounds = f", {p['rounds']} rounds" if p.get("rounds") else ""
    klass = f", class {p['class']}" if p.get("class") else ""
    return (f"`{p['name']}` ({p['file']}): a {p['family']} program on the `{p['target']}` "
            f"target{', sizes ' + sizes if sizes else ''}{rounds}{klass}, "
            f"{p.get('parameters', '?')} parameters")


def gap_markdown(doc: dict, images, prefix: str = "", level: int = 2) -> list[str]:
    h = "#" * level
    p = doc["program"]
    lines = []
    if level == 2:
        lines += [f"# Gap report: {p['name']}", "",
                  "Trained networks of the compiled architecture against the compiled network "
                  "(`nclang gap`).", ""]
    lines += [program_line(p) + ".", "", config_line(doc["config"], p["family"]), ""]
    for section in SECTIONS:
        body = SECTION_MARKDOWN[section](doc.get(section), doc, images, prefix)
        if body is None:
            continue
        lines += [f"{h} {TITLES[section]}", ""] + body
    return lines


def config_line(c: dict, family: str = "graph") -> str:
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


def _md_lift(f, doc, images, prefix):
    if f is None:
        return None
    labels = f["sizes"]
    lines = [f"A trained score counts only beside what no learning scores. Baselines (fitted on "
             f"{f.get('fitted_on', 'the training set')}; scored on the same evaluation inputs "
             f"as the seeds):", ""]
    lines += [f"- `{b['name']}`: {b['description']}" for b in f["baselines"]]
    lines += ["- `init (seed S)`: seed S's untrained init, before any step.", ""]
    rows = [[f"`{b['name']}`", *(f"{ci(b['by_size'][l]['exact_match'])} / "
                                 f"{ci(b['by_size'][l]['per_element'])}" for l in labels)]
            for b in f["baselines"]]
    rows += [[f"init (seed {r['seed']})", *(f"{ci(r['by_size'][l]['exact_match'])} / "
                                            f"{ci(r['by_size'][l]['per_element'])}"
                                            for l in labels)] for r in f["init"]]
    lines += ["Baselines, exact / element, percent [95 % interval]:", ""]
    lines += table(["baseline"] + [f"{l}: exact / element" for l in labels], rows)
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
            cells.append(f"{ci(x['exact_match'])}; best `{x['best_baseline_exact_match']['name']}`"
                         f" {pct(x['best_baseline_exact_match']['value'])}; lift "
                         f"{signed(x['lift_exact_match'])}")
        rows.append([f"seed {r['seed']}", *cells, ", ".join(f"**{x}**" for x in r["flags"])
                     or "none"])
    lines += table(["seed"] + [f"{l}: exact; best baseline; lift" for l in labels]
                    + ["flags"], rows)
    rows = []
    for r in f["seeds"]:
        rows.append([f"seed {r['seed']}", *(
            f"{ci(r['by_size'][l]['per_element'])}; lift "
            f"{signed(r['by_size'][l]['lift_per_element'])}" for l in labels)])
    lines += ["Per element (percent; lift over the best baseline per element, in points):", ""]
    lines += table(["seed"] + [f"{l}: element; lift" for l in labels], rows)
    m = f.get("mean") or {}
    if m:
        rows = [["mean over seeds", *(f"{ci(m[l]['exact_match'])} / "
                                      f"{signed(m[l]['lift_exact_match'])}" for l in labels)],
                ["seeds that learned", *(f"{m[l]['learned_seeds']} of {len(f['seeds'])}"
                                         for l in labels)]]
        lines += table(["", *(f"{l}: exact / lift" for l in labels)], rows)
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
    lines += image(images, prefix + "lift.png", "lift over the best baseline")
    return lines


def md_scored(s, doc, images, prefix):
    if s is None:
        return None
    rows = [[f"`{o['name']}`", f"`{o['type']}`", o["element"], o["how"]] for o in s["outputs"]]
    lines = table(["output", "type", "one element is", "compared"], rows)
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
             str(r.get("examples", MISSING)), num(r.get("final_loss"), 4)] for r in t["seeds"]]
    return (table(["seed", "from", "steps used", "step cap", "stopped by", "weights kept from "
                    "step", "examples", "final loss"], rows)
            + image(images, prefix + "loss.png", "training loss"))


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
    rows = [["compiled"] + [f"{pct(b['compiled'][s]['exact_match'])} / "
                            f"{pct(b['compiled'][s]['per_element'])}" for s in labels]]
    for r in b["seeds"]:
        rows.append([f"seed {r['seed']}"] + [f"{pct(r['by_size'][s]['exact_match'])} / "
                                             f"{pct(r['by_size'][s]['per_element'])}"
                                             for s in labels])
    if b["seeds"]:
        rows.append(["trained mean"] + [
            f"{pct(mean([r['by_size'][s]['exact_match'] for r in b['seeds']]))} / "
            f"{pct(mean([r['by_size'][s]['per_element'] for r in b['seeds']]))}"
            for s in labels])
    examples = ", ".join(f"{s}: {b['compiled'][s]['examples']}" for s in labels)
    lines += table(["network"] + [f"{s}: exact / element" for s in labels], rows)
    raw = [r for r in b["seeds"] if any(r["by_size"][s].get("raw_error") for s in labels)]
    if raw:
        lines += ["Mean absolute error of the integer outputs, in the program's own units "
                  "(where expected and predicted are finite; training divides each integer "
                  "target by its proved range at the largest training size, this is the raw "
                  "error):", ""]
        lines += table(["network"] + labels, [[f"seed {r['seed']}"] + [", ".join(
            f"{k} {num(v, 2)}" for k, v in (r["by_size"][s].get("raw_error") or {}).items())
            for s in labels] for r in raw])
    lines += [f"Inputs per size: {examples}.", ""]
    lines += image(images, prefix + "behaviour.png", "accuracy by size")
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
    rows = [["compiled"] + [pct(f["compiled"]["per_element"][r - 1]) for r in picks]]
    rows += [[f"seed {s['seed']}"] + [pct(s["per_element"][r - 1]) for r in picks]
             for s in f["seeds"]]
    lines += table(["network"] + [f"round {r}" for r in picks], rows)
    lines += image(images, prefix + "faithfulness.png", "per-round accuracy")
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
        rows.append([f"`{name}`", *(f"{num(a)} (init {num(b)})"
                                    for a, b in zip(per_seed, per_init)),
                     num(mean(per_seed)), num(mean(per_init)), num(mean(pairs))])
    lines += table(["layer", *(f"seed {s['seed']}" for s in i["cka"]), "trained mean",
                     "init mean", "seed vs seed"], rows)
    lines += image(images, prefix + "cka.png", "CKA per layer")
    stacks = f"{i['stacks']} MLP stack{'s' if i['stacks'] != 1 else ''}"
    lines += [f"Weight distance over the {stacks}: {i.get('distance_measure', '')}. "
              f"`unaligned` compares the weights as they are (symmetric normalisation).", ""]
    rows = [[f"seed {s['seed']} vs compiled", num(s["canonical"]),
             num(s.get("init_canonical")), num(s["unaligned"])] for s in i["distance"]]
    rows += [[f"seeds {pr['pair'][0]} vs {pr['pair'][1]}", num(pr["canonical"]), MISSING,
              num(pr["unaligned"])] for pr in base.get("distance", [])]
    lines += table(["pair", "distance", "its init vs compiled", "unaligned"], rows)
    check = i.get("invariance_check")
    if check:
        lines += [f"Invariance check: against {check['copies']} random function-equivalent "
                  f"copies of the compiled network the distances change by at most "
                  f"{num(check['max_change'], 9)}.", ""]
    lines += image(images, prefix + "distance.png", "weight distances")
    return lines


def _md_baselines(b, doc, images, prefix):
    if b is None:
        return None
    internal = doc.get("internal") or {}
    summary = internal.get("summary")
    if not summary:
        return [f"Not measured: {b.get('skipped', 'no internal comparison')}", ""]
    lines = ["Means over seeds (pairs of seeds) with bootstrap 95 % intervals over them; the "
             "verdict compares each seed with its own untrained init (the interval of the "
             "per-seed difference trained − init).", ""]
    rows = []
    for key, label in (("cka", "similarity (unit CKA, mean over layers; 1 = same)"),
                       ("distance", "canonical distance (0 = same)")):
        x = summary[key]
        rows.append([label, ci(x["trained_vs_compiled"], False),
                     ci(x["init_vs_compiled"], False), ci(x["seed_vs_seed"], False),
                     ci(x["trained_minus_init"], False), f"**{x['verdict']}**"])
    lines += table(["measure", "trained vs compiled", "untrained init vs compiled",
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
                     *(f"{pct(r['before'][x]['exact_match'])} → "
                       f"{pct(r['after'][x]['exact_match'])}" for x in labels),
                     num(r["distance_before"], 4), num(r["distance_after"], 4),
                     _finite_steps(r), "yes" if r["stays_exact"] else "no"])
    lines += table(["σ", *labels, "distance before",
                     "distance after", "steps with a finite loss", "stays exact"], rows)
    if any(r.get("steps_taken") and r.get("nonfinite_steps") == r["steps_taken"]
           for r in s["runs"]):
        lines += ["A run with no finite-loss step never moved its weights (the noisy network's "
                  "values overflow float32, so every step is skipped): its \"after\" is its "
                  "\"before\", and it says nothing about whether training repairs the noise.", ""]
    lines += image(images, prefix + "stability.png", "stability")
    return lines


def _finite_steps(r) -> str:
    if "steps_taken" not in r:   # a report from before the count was kept
        return "–"
    return f"{r['steps_taken'] - r['nonfinite_steps']} of {r['steps_taken']}"


def md_problems(p, doc, images, prefix):
    if not p:
        return None
    return [f"- **{x}**" for x in p] + [""]


def md_timing(t, doc, images, prefix):
    if t is None:
        return None
    rows = [[k.replace("_", " "), num(v, 1) if not isinstance(v, list)
             else ", ".join(num(x, 1) for x in v)] for k, v in t.items()]
    return ["Wall-clock seconds (the only part of gap.json that changes between runs with "
            "the same seeds).", ""] + table(["step", "seconds"], rows)


SECTION_MARKDOWN = {"lift": _md_lift, "scored": md_scored, "training": _md_training,
                    "behaviour": _md_behaviour, "faithfulness": _md_faithfulness,
                    "internal": _md_internal, "baselines": _md_baselines,
                    "stability": _md_stability, "problems": md_problems, "timing": md_timing}
