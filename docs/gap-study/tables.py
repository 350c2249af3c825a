"""The tables of docs/gap-study.md, printed from the runs' gap.json files, so that every number
in the study is the report's own (nothing typed by hand).

    python docs/gap-study/tables.py docs/gap-study/NAME/gap.json [PROGRAM]   # markdown on stdout

A gap run prints its lift table, internal and stability tables; a head-to-head run each
program's (PROGRAM picks one) and the shared function's; a sweep its table by count."""
import json
import sys


def pct(x):
    return "–" if x is None else f"{100 * x:.1f}"


def ci(c):
    if not c or c.get("value") is None:
        return "–"
    lo, hi = c["ci"]
    return f"{pct(c['value'])} [{pct(lo)}, {pct(hi)}]"


def signed(c):
    if not c or c.get("value") is None:
        return "–"
    lo, hi = c["ci"]
    return f"{100 * c['value']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def num(c):
    if not c or c.get("value") is None:
        return "–"
    lo, hi = c["ci"]
    return f"{c['value']:.3f} [{lo:.3f}, {hi:.3f}]"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def lift_table(f, metric="exact_match"):
    labels = f["sizes"]
    lift = "lift_" + metric
    names = [b["name"] for b in f["baselines"]]
    rows = []
    for l in labels:
        row = [l] + [pct(b["by_size"][l][metric]["value"]) for b in f["baselines"]]
        for r in f["seeds"]:
            x = r["by_size"][l]
            row.append(f"{pct(x[metric]['value'])}; {signed(x[lift])}")
        m = f["mean"][l]
        row.append(f"{ci(m[metric])}; {signed(m[lift])}")
        if metric == "exact_match":
            # `learned` is defined on exact match (the lift interval above 0, unflagged)
            row.append(f"{m['learned_seeds']} of {len(f['seeds'])}")
        rows.append(row)
    header = ["size", *names, *(f"seed {r['seed']}: {metric.replace('_', ' ')}; lift"
                                for r in f["seeds"]),
              "mean over seeds; lift"] + (["seeds that learned"] if metric == "exact_match"
                                          else [])
    flags = [f"seed {r['seed']}: {', '.join(r['flags'])}" for r in f["seeds"] if r["flags"]]
    return table(header, rows) + "\nFlags: " + ("; ".join(flags) or "none") + ".\n"


def gap_tables(d):
    out = []
    t = d["training"]["seeds"]
    out.append("Steps used: " + ", ".join(str(s["steps"]) for s in t) + " (cap "
               f"{t[0].get('cap')}; " + "; ".join(sorted({s['stopped'] for s in t})) + ").\n")
    ev = d["behaviour"]["compiled"]
    out.append("Inputs per size: " + ", ".join(f"{l}: {v['examples']}" for l, v in ev.items())
               + "; compiled exact: " + ", ".join(pct(v["exact_match"]) for v in ev.values())
               + "; overlap with training: " + ", ".join(str(v) for v in
                                                          d["lift"]["overlap"].values()) + ".\n")
    out.append("Exact match:\n\n" + lift_table(d["lift"]))
    out.append("Per element:\n\n" + lift_table(d["lift"], "per_element").split("\nFlags")[0])
    raw = {}
    for r in d["behaviour"]["seeds"]:
        for l, s in r["by_size"].items():
            for k, v in (s.get("raw_error") or {}).items():
                raw.setdefault((l, k), []).append(v)
    if raw:
        out.append("Raw error (mean |predicted − expected| of finite integers, per seed): " +
                   "; ".join(f"{l} {k}: " + ", ".join(f"{v:.3g}" if v is not None else "–"
                                                        for v in vs)
                             for (l, k), vs in raw.items()) + ".\n")
    i = d.get("internal") or {}
    if i.get("summary"):
        rows = []
        for key, label in (("cka", "similarity (unit CKA)"), ("distance", "canonical distance")):
            s = i["summary"][key]
            rows.append([label, num(s["trained_vs_compiled"]), num(s["init_vs_compiled"]),
                         num(s["seed_vs_seed"]), s["verdict"]])
        out.append("Inside the networks:\n\n" + table(
            ["measure", "trained vs compiled", "untrained init vs compiled", "seed vs seed",
             "reading"], rows))
    elif i.get("skipped"):
        out.append(f"Internal: skipped ({i['skipped']}).\n")
    st = d.get("stability") or {}
    if st.get("runs"):
        labels = st["sizes"]
        rows = [[str(r["noise"]), *(f"{pct(r['before'][l]['exact_match'])} → "
                                    f"{pct(r['after'][l]['exact_match'])}" for l in labels)]
                for r in st["runs"]]
        out.append("Stability, exact before → after:\n\n" + table(["σ", *labels], rows))
    out.append(f"Total {d['timing']['total_s']:.0f} s (gap's own timing).\n")
    return "\n".join(out)


def sweep_tables(d):
    rows = []
    for sec in d["lift"]["by_count"]:
        l = sec["label"]
        m = sec["mean"][l]
        best = max(sec["baselines"], key=lambda b: b["by_size"][l]["exact_match"]["value"])
        flags = [f"s{r['seed']}: {', '.join(r['flags'])}" for r in sec["seeds"] if r["flags"]]
        rows.append([str(sec["count"]), ci(m["exact_match"]), ci(m["per_element"]),
                     f"`{best['name']}` {pct(best['by_size'][l]['exact_match']['value'])}",
                     signed(m["lift_exact_match"]), signed(m["lift_per_element"]),
                     f"{m['learned_seeds']} of {len(sec['seeds'])}", "; ".join(flags) or "none"])
    head = (f"Evaluation: {d['eval_examples']} inputs ({d['eval_label']}), "
            f"{d['eval_dropped_as_seen']} dropped as seen in training; compiled exact "
            f"{pct(d['compiled']['exact_match'])}; total {d['timing']['total_s']:.0f} s.\n\n")
    return head + table(["examples", "exact", "element", "best baseline (exact)", "lift exact",
                         "lift element", "seeds that learned", "flags"], rows)


def common_tables(c):
    out = []
    for name, e in c["programs"].items():
        out.append(f"Shared function, `{name}`:\n\n" + lift_table(e["lift"]))
    return "\n".join(out)


def main(path, program=None):
    d = json.load(open(path))
    if d["kind"] == "gap":
        print(gap_tables(d))
    elif d["kind"] == "examples_sweep":
        print(sweep_tables(d))
    else:
        for p in d["programs"]:
            if program in (None, p["program"]["name"]):
                print(f"### {p['program']['name']}\n")
                print(gap_tables(p))
        if program is None:
            print(common_tables(d["common"]))


if __name__ == "__main__":
    main(*sys.argv[1:])
