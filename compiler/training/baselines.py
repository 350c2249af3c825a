"""Trivial predictors a trained network must beat, lift, constant flags and bootstrap intervals
(issue 13, item 1): a trained score means something only beside what no learning scores.

Baselines (each a function from an input to a value of every output; the output *shape* is read
from the interpreter's answer, never a value):

- constants, fitted on the training set per output element type: for a bool output
  `all-true` and `all-false`; for every other output the most common element value of the
  training outputs (`most-common`: the majority integer, token or index, inf included);
- input-only rules, chosen by output type and role, never by program name:
  `copy NAME` (an output of the same type as the input NAME is that input: for bfs, the
  source vector, i.e. source-only reachability; for a sequence program, copy-input),
  `argmin-in` (a node-valued output, a pointer: each node points to its in-neighbour of least
  edge weight when the program has a numeric edge input, else of least id; ties to the
  smallest id; none without an in-neighbour) and `self` (each node points to itself);
  outputs a rule does not cover take the most common value;
- the untrained init of each seed (built and scored by `gap`, same seed, before training).

Lift = trained score − the best baseline's score, per size and metric (exact match, per
element); the best is the highest-scoring on the evaluation inputs themselves (the baseline most
favourable to "nothing learned"), the seed's own init included. Intervals are bootstrap 95 %
percentile intervals: over inputs for one seed (paired with its baseline on the same inputs),
over seeds and inputs (both resampled) for the mean over seeds. Draws come from BOOT_SEED, so a
report repeats exactly.

Flags: a seed is **constant** when its prediction is the same (every output, every element) for
at least FLAG_SHARE of the inputs of each size, and **= NAME** when its elements agree with
baseline NAME's on at least FLAG_SHARE of all elements. A flagged seed never counts as learning,
whatever its lift; a seed learned at a size when it is unflagged and the lower end of its lift
interval (exact match) is above 0.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np

from nclang.dsl import types as T

from .scoring import matches, rounded

FLAG_SHARE = 0.99
BOOTSTRAP = 1000
BOOT_SEED = 7_000_005
METRICS = ("exact_match", "per_element")


@dataclass(frozen=True)
class Baseline:
    name: str
    description: str
    rule: Callable          # (instance, expected outputs: for shapes only) -> dict of outputs

    def predict(self, instances, expected) -> list[dict]:
        return [self.rule(i, e) for i, e in zip(instances, expected)]


def _result_types(checked):
    return [(name, T.from_syntax(r)) for name, r in zip(checked.result_names,
                                                         checked.program.results)]


def _param_types(checked):
    return [(p.name, T.from_syntax(p.type)) for p in checked.program.params
            if not isinstance(T.from_syntax(p.type), T.Graph)]


def _elem(t):
    return t.elem if isinstance(t, T.Field) else t


def _is_pointer(t) -> bool:
    return (isinstance(t, T.Field) and tuple(a.kind for a in t.axes) == ("node",)
            and isinstance(t.elem, T.Index) and t.elem.axis.kind == "node")


def _most_common(values: list[np.ndarray]):
    counts: Counter = Counter()
    for v in values:
        for x in np.asarray(v).reshape(-1).tolist():
            counts[x] += 1
    if not counts:
        return None
    # ties to the smallest value (as text): deterministic whatever the order of the data
    best = max(counts.values())
    return sorted((x for x, c in counts.items() if c == best), key=repr)[0]


def _filled(expected, value):
    e = np.asarray(expected)
    return np.full(e.shape, value, dtype=e.dtype)


def fit(checked, train_outputs: list[dict]) -> list[Baseline]:
    """The constant and input-only baselines of `checked`'s program, constants fitted on
    `train_outputs` (the interpreter's outputs on the training inputs)."""
    results = _result_types(checked)
    params = _param_types(checked)
    mode = {name: _most_common([o[name] for o in train_outputs]) for name, _ in results}

    def fill(e, overrides: dict, inst=None):
        return {name: (overrides[name](inst, e[name]) if name in overrides
                       else _filled(e[name], mode[name])) for name, _ in results}

    out = []
    bools = [name for name, t in results if isinstance(_elem(t), T.Bool)]
    for value, label in ((True, "all-true"), (False, "all-false")):
        if bools:
            over = {name: (lambda inst, e, v=value: _filled(e, v)) for name in bools}
            out.append(Baseline(label, f"every element of {', '.join(bools)} {label[4:]}; "
                                       f"other outputs their most common training value",
                                lambda inst, e, o=over: fill(e, o, inst)))
    others = [name for name, t in results if name not in bools]
    if others:
        text = ", ".join(f"{name} = {_show(mode[name])}" for name in others)
        out.append(Baseline("most-common", f"every element the most common training value "
                                           f"({text})", lambda inst, e: fill(e, {}, inst)))
    # copy-input: an output of an input's exact type is that input
    copies = {}
    for name, t in results:
        src = next((p for p, pt in params if str(pt) == str(t) and pt == t), None)
        if src is not None:
            copies[name] = src
    if copies:
        over = {name: (lambda inst, e, p=src: np.asarray(inst.values[p]).astype(
            np.asarray(e).dtype).reshape(np.asarray(e).shape)) for name, src in copies.items()}
        label = "copy " + ", ".join(sorted(set(copies.values())))
        out.append(Baseline(label, "; ".join(f"{n} = the input {s}" for n, s in copies.items()),
                            lambda inst, e, o=over: fill(e, o, inst)))
    pointers = [name for name, t in results if _is_pointer(t)]
    if pointers:
        weight = next((p for p, pt in params if isinstance(pt, T.Field)
                       and tuple(a.kind for a in pt.axes) == ("edge",)
                       and isinstance(pt.elem, (T.Int, T.Frac))), None)
        key = f"the least {weight}" if weight else "the least id"
        over = {name: (lambda inst, e, w=weight: _argmin_in(inst, e, w)) for name in pointers}
        out.append(Baseline("argmin-in", f"{', '.join(pointers)}: each node's in-neighbour of "
                                         f"{key} (ties: smallest id; none without one)",
                            lambda inst, e, o=over: fill(e, o, inst)))
        over = {name: (lambda inst, e: np.arange(np.asarray(e).shape[0], dtype=np.int64))
                for name in pointers}
        out.append(Baseline("self", f"{', '.join(pointers)}: each node points to itself",
                            lambda inst, e, o=over: fill(e, o, inst)))
    return out


def _show(x) -> str:
    if isinstance(x, float) and np.isfinite(x) and x == int(x):
        return str(int(x))
    return "none" if x == -1 and isinstance(x, int) else str(x)


def _argmin_in(inst, expected, weight) -> np.ndarray:
    g = inst.graph
    n = np.asarray(expected).shape[0]
    best = np.full(n, -1, dtype=np.int64)
    key = np.full(n, np.inf)
    w = (np.asarray(inst.values[weight], np.float64) if weight
         else np.asarray(g.src, np.float64))
    for e in range(g.m):
        u, v = int(g.src[e]), int(g.dst[e])
        k = float(w[e])
        if k < key[v] or (k == key[v] and (best[v] < 0 or u < best[v])):
            key[v], best[v] = k, u
    return best


def predictions(baselines: list[Baseline], evals: dict) -> dict:
    """Each baseline's outputs on the evaluation inputs: {name: {label: outputs}}, for
    `evals[label] = (instances, expected)`."""
    return {b.name: {label: b.predict(inst, exp) for label, (inst, exp) in evals.items()}
            for b in baselines}


# ---------------------------------------------------------------- per-input scores

def per_input(names, expected: list[dict], got: list[dict]) -> dict:
    """Per input: exact (every element right), right (elements right), total (elements)."""
    exact, right, total = [], [], []
    for e, g in zip(expected, got):
        r = t = 0
        ok = True
        for name in names:
            m = matches(e[name], g.get(name))
            r += int(m.sum())
            t += int(m.size)
            ok = ok and bool(m.all())
        exact.append(ok)
        right.append(r)
        total.append(t)
    return {"exact": np.array(exact, np.float64), "right": np.array(right, np.float64),
            "total": np.array(total, np.float64)}


def agreement(names, a: list[dict], b: list[dict]) -> tuple[int, int]:
    """Elements on which two predictions agree, and elements compared."""
    same = total = 0
    for x, y in zip(a, b):
        for name in names:
            m = matches(x[name], y.get(name))
            same += int(m.sum())
            total += int(m.size)
    return same, total


def modal_count(got: list[dict]) -> int:
    """How many predictions equal the most common one (all outputs, every element)."""
    keys = Counter()
    for g in got:
        parts = []
        for name in sorted(g):
            v = np.asarray(g[name])
            parts.append((name, v.shape, v.astype(str).tobytes() if v.dtype == object
                          else v.astype(np.float64).tobytes()))
        keys[tuple(parts)] += 1
    return max(keys.values()) if keys else 0


def _value(s: dict, metric: str, idx=None):
    if idx is None:
        if metric == "exact_match":
            return s["exact"].mean(axis=-1)
        return s["right"].sum(axis=-1) / s["total"].sum(axis=-1)
    if metric == "exact_match":
        return s["exact"][..., idx].mean(axis=-1)
    return s["right"][..., idx].sum(axis=-1) / s["total"][idx].sum(axis=-1)


def _interval(samples) -> list:
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return [rounded(lo), rounded(hi)]


def _draws(n: int, salt) -> np.ndarray:
    return np.random.default_rng([BOOT_SEED, *salt]).integers(0, n, size=(BOOTSTRAP, n))


def score_ci(s: dict, metric: str, salt) -> dict:
    """A score of one network with its bootstrap interval over inputs."""
    idx = _draws(len(s["exact"]), salt)
    return {"value": rounded(_value(s, metric)), "ci": _interval(_value(s, metric, idx))}


def lift_ci(s: dict, base: dict, metric: str, salt) -> dict:
    """trained − baseline on the same inputs, with a paired bootstrap interval over inputs."""
    idx = _draws(len(s["exact"]), salt)
    d = _value(s, metric, idx) - _value(base, metric, idx)
    return {"value": rounded(_value(s, metric) - _value(base, metric)), "ci": _interval(d)}


def mean_ci(per_seed: list[np.ndarray], metric: str, salt, totals=None) -> dict:
    """The mean over seeds of a per-input quantity, with an interval over seeds and inputs.
    `per_seed[s]` holds, per input, exact (or right) values; for per_element `totals` holds the
    elements per input (shared by every seed: the same inputs)."""
    X = np.stack(per_seed)                              # (seeds, inputs)
    S, N = X.shape
    idx = _draws(N, salt)                               # (B, N)
    sidx = np.random.default_rng([BOOT_SEED, *salt, 1]).integers(0, S, size=(BOOTSTRAP, S))
    if metric == "exact_match":
        value = X.mean()
        per = X[:, idx].mean(axis=-1)                   # (S, B)
    else:
        value = X.sum(axis=1).mean() / totals.sum()
        per = X[:, idx].sum(axis=-1) / totals[idx].sum(axis=-1)
    boot = per[sidx, np.arange(BOOTSTRAP)[:, None]].mean(axis=1)
    return {"value": rounded(value), "ci": _interval(boot)}


def lift_section(names, points, expected: dict, baseline_preds: dict,
                 seed_preds: list, seeds: list[int], baselines: list[Baseline],
                 init_preds: list) -> dict:
    """The `lift` section of a gap document.

    expected[label]: interpreter outputs; baseline_preds[name][label]: a baseline's outputs;
    init_preds[s][label], seed_preds[s][label]: seed s's untrained init's and trained outputs."""
    labels = [p.label for p in points]
    base_scores = {b: {l: per_input(names, expected[l], baseline_preds[b][l]) for l in labels}
                   for b in baseline_preds}
    doc = {"flag_share": FLAG_SHARE, "bootstrap": BOOTSTRAP, "interval": "95 % bootstrap "
           "percentile; per seed over inputs (lift paired on the same inputs), the mean over "
           "seeds and inputs", "sizes": labels,
           "baselines": [], "init": [], "seeds": [], "mean": {}}
    for j, b in enumerate(baselines):
        doc["baselines"].append({"name": b.name, "description": b.description, "by_size": {
            l: {m: score_ci(base_scores[b.name][l], m, (j, k, 0)) for m in METRICS}
            for k, l in enumerate(labels)}})
    trained_scores, best_scores = [], []
    for i, seed in enumerate(seeds):
        init_s = {l: per_input(names, expected[l], init_preds[i][l]) for l in labels}
        doc["init"].append({"seed": seed, "by_size": {
            l: {m: score_ci(init_s[l], m, (seed, k, 1)) for m in METRICS}
            for k, l in enumerate(labels)}})
        got = seed_preds[i]
        scores = {l: per_input(names, expected[l], got[l]) for l in labels}
        candidates = dict(base_scores)
        candidates[f"init (seed {seed})"] = init_s
        rec = {"seed": seed, "by_size": {}}
        best_for = {}
        for k, l in enumerate(labels):
            row = {}
            for m in METRICS:
                # the best baseline: the highest score; ties go to the first listed
                best = max(candidates, key=lambda c: float(_value(candidates[c][l], m)))
                best_for[(l, m)] = candidates[best][l]
                row[m] = score_ci(scores[l], m, (seed, k, 2))
                row[f"best_baseline_{m}"] = {"name": best, "value": rounded(
                    _value(candidates[best][l], m))}
                row[f"lift_{m}"] = lift_ci(scores[l], candidates[best][l], m, (seed, k, 3))
            rec["by_size"][l] = row
        # flags, pooled over the sizes
        modal = sum(modal_count(got[l]) for l in labels)
        count = sum(len(got[l]) for l in labels)
        per_size_const = [modal_count(got[l]) / max(len(got[l]), 1) for l in labels]
        agree = {}
        pool = {b: baseline_preds[b] for b in baseline_preds}
        pool[f"init (seed {seed})"] = init_preds[i]
        for b, preds in pool.items():
            same = total = 0
            for l in labels:
                s, t = agreement(names, got[l], preds[l])
                same += s
                total += t
            agree[b] = rounded(same / total) if total else None
        constant = bool(per_size_const) and min(per_size_const) >= FLAG_SHARE
        same_as = [b for b, a in agree.items() if a is not None and a >= FLAG_SHARE]
        flags = (["constant"] if constant else []) + [f"= {b}" for b in same_as]
        rec.update(constant_share=rounded(modal / count) if count else None,
                   constant=constant, same_as=same_as, agreement=agree, flags=flags)
        for l in labels:
            r = rec["by_size"][l]
            r["learned"] = (not flags) and r["lift_exact_match"]["ci"][0] is not None \
                and r["lift_exact_match"]["ci"][0] > 0
        doc["seeds"].append(rec)
        trained_scores.append(scores)
        best_scores.append(best_for)
    for k, l in enumerate(labels):
        row = {}
        totals = trained_scores[0][l]["total"] if trained_scores else None
        for m in METRICS:
            key = "exact" if m == "exact_match" else "right"
            row[m] = mean_ci([s[l][key] for s in trained_scores], m, (k, 4, len(METRICS)),
                             totals)
            row[f"lift_{m}"] = mean_ci([s[l][key] - best_scores[i][(l, m)][key]
                                        for i, s in enumerate(trained_scores)], m, (k, 5),
                                       totals)
        row["learned_seeds"] = sum(1 for r in doc["seeds"] if r["by_size"][l]["learned"])
        doc["mean"][l] = row
    doc["flagged_seeds"] = [r["seed"] for r in doc["seeds"] if r["flags"]]
    return doc
