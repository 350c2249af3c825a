"""gap.md for the two documents built on gap runs: `"head_to_head"` (two programs for the same
function side by side, their shared function, then each program's own gap report) and
`"examples_sweep"` (accuracy and lift against the number of training examples)."""
from __future__ import annotations

from .cells import MISSING, ci, image, mean, num, pct, signed, table
from .sections import config_line, gap_markdown, md_problems, md_scored, md_timing, program_line


# ---- head to head

def h2h_markdown(doc: dict, images) -> list[str]:
    a, b = doc["programs"]
    na, nb = a["program"]["name"], b["program"]["name"]
    lines = [f"# Head to head: {na} vs {nb}", "",
             f"Two programs for the same function, trained and compared with their compiled "
             f"networks under the same settings. "
             f"{config_line(a['config'], a['program']['family'])}", ""]
    rows = [["program", f"`{na}` ({a['program']['file']})", f"`{nb}` ({b['program']['file']})"],
            ["target", a["program"]["target"], b["program"]["target"]],
            ["rounds", a["program"].get("rounds") or "none", b["program"].get("rounds") or "none"],
            ["class", a["program"].get("class") or MISSING, b["program"].get("class") or MISSING],
            ["parameters", str(a["program"].get("parameters")),
             str(b["program"].get("parameters"))],
            ["scored", _scored_short(a), _scored_short(b)]]
    lines += ["## Programs", ""] + table(rows[0], rows[1:])
    lines += ["## Behaviour side by side", "",
              "Exact match / per-element accuracy in percent, each program scored on its own "
              "outputs; trained: the mean over seeds.", ""]
    labels = [s for s in a["behaviour"]["sizes"] if s in b["behaviour"]["sizes"]]
    rows = []
    for s in labels:
        row = [s]
        for d in (a, b):
            be = d["behaviour"]
            row.append(f"{pct(mean([r['by_size'][s]['exact_match'] for r in be['seeds']]))} / "
                       f"{pct(mean([r['by_size'][s]['per_element'] for r in be['seeds']]))}")
            row.append(f"{pct(be['compiled'][s]['exact_match'])} / "
                       f"{pct(be['compiled'][s]['per_element'])}")
        rows.append(row)
    lines += table(["size", f"{na} trained", f"{na} compiled", f"{nb} trained",
                     f"{nb} compiled"], rows)
    lines += image(images, "h2h_behaviour.png", "behaviour side by side")
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
                ex = mean([r["by_size"][s]["exact_match"] for r in c["seeds"]])
                el = mean([r["by_size"][s]["per_element"] for r in c["seeds"]])
                row.append(f"{pct(ex)} / {pct(el)}")
                row.append(f"{pct(c['compiled'][s]['exact_match'])} / "
                           f"{pct(c['compiled'][s]['per_element'])}")
            rows.append(row)
        lines += table(["size", f"{na} trained", f"{na} compiled", f"{nb} trained",
                         f"{nb} compiled"], rows)
        lines += _md_common_lift(common, (na, nb))
    lines += ["## Faithfulness and internals side by side", ""]
    rows = []
    for d in (a, b):
        f, i, base = d.get("faithfulness") or {}, d.get("internal") or {}, d.get("baselines") or {}
        last = (mean([s["per_element"][-1] for s in f["seeds"]])
                if f and not f.get("skipped") and f["seeds"] else None)
        cka = (mean([mean(s["per_layer"]) for s in i["cka"]])
               if i and not i.get("skipped") else None)
        dist = (mean([s["canonical"] for s in i["distance"]])
                if i and not i.get("skipped") else None)
        bcka = (mean([mean(p["per_layer"]) for p in base["cka"]])
                if base and not base.get("skipped") else None)
        bdist = (mean([p["canonical"] for p in base["distance"]])
                 if base and not base.get("skipped") else None)
        stab = d.get("stability") or {}
        stays = (", ".join(f"σ={r['noise']}: {'yes' if r['stays_exact'] else 'no'}"
                           for r in stab["runs"]) if stab and not stab.get("skipped") else MISSING)
        rows.append([f"`{d['program']['name']}`", pct(last), num(cka), num(bcka), num(dist),
                     num(bdist), stays])
    lines += table(["program", "last-round state accuracy", "CKA vs compiled",
                     "CKA seed vs seed", "distance vs compiled", "distance seed vs seed",
                     "stays exact"], rows)
    lines += image(images, "h2h_faithfulness.png", "faithfulness side by side")
    for d in (a, b):
        name = d["program"]["name"]
        lines += [f"## {name}", ""]
        lines += gap_markdown(d, images, prefix=f"{name}_", level=3)
    if doc.get("timing"):
        lines += ["## Timing", ""] + md_timing(doc["timing"], doc, images, "")
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
    lines += table(["baseline", *labels],
                    [[f"`{b['name']}`", *(ci(b["by_size"][l]["exact_match"]) for l in labels)]
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
        rows.append([f"`{n}`", *(f"{ci(m[l]['exact_match'])}; lift "
                                 f"{signed(m[l]['lift_exact_match'])}; "
                                 f"{m[l]['learned_seeds']} of {len(f['seeds'])} learned"
                                 for l in labels), "; ".join(flagged) or "none"])
    lines += table(["program", *(f"{l}: exact; lift; seeds that learned" for l in labels),
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

def sweep_markdown(doc: dict, images) -> list[str]:
    p = doc["program"]
    lines = [f"# Examples sweep: {p['name']}", "",
             program_line(p) + ".", "",
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
        loss = mean([s["points"][j].get("final_loss") for s in doc["seeds"]])
        rows.append([str(count), *(f"{pct(e)} / {pct(x)}" for e, x in zip(ex, el)),
                     f"{pct(mean(ex))} / {pct(mean(el))}", num(loss, 4)])
    lines += table(["examples", *(f"seed {s['seed']}: exact / element" for s in doc["seeds"]),
                     "mean", "final training loss (mean)"], rows)
    c = doc["compiled"]
    lines += [f"The compiled network on the same inputs: {pct(c['exact_match'])} / "
              f"{pct(c['per_element'])}.", ""]
    lines += _md_sweep_lift(doc.get("lift"))
    lines += image(images, "sweep.png", "accuracy vs training examples")
    if doc.get("scored"):
        lines += ["## What is scored", ""] + md_scored(doc["scored"], doc, images, "")
    if doc.get("problems"):
        lines += ["## Problems", ""] + md_problems(doc["problems"], doc, images, "")
    if doc.get("timing"):
        lines += ["## Timing", ""] + md_timing(doc["timing"], doc, images, "")
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
                     *(ci(b["by_size"][label]["exact_match"]) for b in sec["baselines"]),
                     ci(m["exact_match"]), signed(m["lift_exact_match"]),
                     f"{m['learned_seeds']} of {len(sec['seeds'])}",
                     "; ".join(flagged) or "none"])
    lines += table(["examples", *(f"`{n}`" for n in names), "mean over seeds: exact",
                     "mean lift", "seeds that learned", "flags"], rows)
    none = [str(sec["count"]) for sec in lift["by_count"]
            if sec["mean"][sec["label"]]["learned_seeds"] == 0]
    if none:
        lines += [f"**Nothing learned at {', '.join(none)} examples: no unflagged seed beats "
                  f"the best baseline outside its interval.**", ""]
    return lines
