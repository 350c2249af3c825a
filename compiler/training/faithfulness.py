"""The faithfulness section of a gap run: per round, how well each network's carried loop state
matches the interpreter's trace (per-element accuracy and exact match over the inputs).

The interpreter stops early at a stable state; its trace is extended with that last state,
since a stable state is what every later round holds. The compiled network must match every
round (`gap` reports anything less as a problem)."""
from __future__ import annotations

from .data import reference
from .scoring import matches, rounded


def _state_accuracy(trace, ref_trace) -> tuple[list[float], list[float], list[str]]:
    """Per round r, (per-element accuracy, exact match) of the carried state over instances; the
    interpreter's trace is extended with its last (stable) state."""
    rounds = max((len(t) for t in trace), default=0)
    names = None
    for t, rt in zip(trace, ref_trace):
        if t and rt:
            # the variables carried in every round of both traces: a program with two loops in
            # sequence (bellman_ford_pred) carries different ones in each, and the rounds of
            # the two need not line up, so those are left out
            common = [k for k in t[0] if all(k in x for x in t) and all(k in x for x in rt)]
            names = common if names is None else [k for k in names if k in common]
    names = names or []
    per, exact = [], []
    for r in range(rounds):
        right = total = ok = count = 0
        for t, rt in zip(trace, ref_trace):
            if not t or not rt:
                continue
            got = t[min(r, len(t) - 1)]
            want = rt[min(r, len(rt) - 1)]
            good = True
            for name in names:
                m = matches(want[name], got.get(name))
                right += int(m.sum())
                total += int(m.size)
                good = good and bool(m.all())
            ok += good
            count += 1
        per.append(rounded(right / total) if total else None)
        exact.append(rounded(ok / count) if count else None)
    return per, exact, names


def _trace(trainable, instances):
    fwd = trainable.forward(instances, trace=True, early_exit=False)
    return fwd.trace


def faithfulness_section(subject, compiled, trained, instances, point) -> dict:
    """The section: the compiled network's and each trained seed's (seed, Trainable) per-round
    accuracy on `instances` (drawn at `point`), or why there is nothing to compare."""
    if compiled.family == "mlp":
        return {"skipped": "the mlp target unrolls every loop into a fixed circuit: there is no "
                           "per-round carried state to compare"}
    _, ref_traces = reference(subject.checked, instances, trace=True)
    if not any(ref_traces):
        return {"skipped": "the program has no loop: there is no per-round state"}
    comp_trace = _trace(compiled, instances)
    if comp_trace is None:
        return {"skipped": "this network family reports no per-round state"}
    per, exact, names = _state_accuracy(comp_trace, ref_traces)
    if not names:
        return {"skipped": "no variable is carried in every round (the program has loops in "
                           "sequence, each carrying its own): there is no per-round state to "
                           "compare round by round"}
    doc = {"n": point.n, "examples": len(instances), "variables": names,
           "compiled": {"per_element": per, "exact_match": exact}, "seeds": []}
    for seed, tr in trained:
        per, exact, _ = _state_accuracy(_trace(tr, instances), ref_traces)
        doc["seeds"].append({"seed": seed, "per_element": per, "exact_match": exact})
    return doc
