"""Scoring against the interpreter: exact match and per-element accuracy, what they count, and
the outputs of trained or compiled networks on many inputs."""
from __future__ import annotations

import math

import numpy as np

from nclang.dsl import types as T

from .subject import Point, Subject, node_axes

# the most input cells (instances × n^(node axes + 1)) run through a network at once
CHUNK_CELLS = 1 << 22


def matches(expected, got) -> np.ndarray:
    """Per element of `expected`, whether `got` holds the same value (numbers compared as
    float64, so inf equals inf and a raw inexact float equals nothing)."""
    e = np.asarray(expected)
    g = np.asarray(got) if got is not None else None
    if g is None or e.shape != g.shape:
        return np.zeros(e.shape, dtype=bool)
    if e.dtype == object or g.dtype == object:
        return np.array([a == b for a, b in zip(e.reshape(-1).tolist(), g.reshape(-1).tolist())],
                        dtype=bool).reshape(e.shape)
    try:
        return e.astype(np.float64) == g.astype(np.float64)
    except (TypeError, ValueError):
        return np.zeros(e.shape, dtype=bool)


def score(names, expected: list[dict], got: list[dict]) -> dict:
    """Exact match (every element of every output right) and per-element accuracy (all elements
    of all outputs of all inputs pooled), overall and per output."""
    right = {name: 0 for name in names}
    total = {name: 0 for name in names}
    err = {name: [0.0, 0] for name in names}
    exact = 0
    for e, g in zip(expected, got):
        ok = True
        for name in names:
            _raw_error(err[name], e[name], g.get(name))
            m = matches(e[name], g.get(name))
            right[name] += int(m.sum())
            total[name] += max(int(m.size), 0)
            ok = ok and bool(m.all())
        exact += ok
    elements = sum(total.values())
    return {"examples": len(expected),
            "exact_match": rounded(exact / len(expected)) if expected else None,
            "per_element": rounded(sum(right.values()) / elements) if elements else None,
            "outputs": {name: (rounded(right[name] / total[name]) if total[name] else None)
                        for name in names},
            # integer outputs: mean |predicted - expected| in the program's own units, over
            # the elements where both are finite (the loss is normalised; this is not)
            "raw_error": {name: rounded(err[name][0] / err[name][1]) for name in names
                          if err[name][1]}}


def _raw_error(acc: list, expected, got) -> None:
    e = np.asarray(expected)
    if got is None or e.dtype != np.float64:
        return
    g = np.asarray(got)
    if g.shape != e.shape or g.dtype == object:
        return
    g = g.astype(np.float64)
    both = np.isfinite(e) & np.isfinite(g)
    acc[0] += float(np.abs(e[both] - g[both]).sum())
    acc[1] += int(both.sum())


def rounded(x):
    """A float for gap.json: 6 significant digits (stable text), None for NaN."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return None
    return float(f"{x:.6g}")


def _chunks(subject: Subject, point: Point, instances: list) -> list[list]:
    n = point.n or 1
    per = max(1, CHUNK_CELLS // (n ** (node_axes(subject.checked) + 1)))
    return [instances[i:i + per] for i in range(0, len(instances), per)]


def predict(trainable, subject, point, instances) -> list[dict]:
    out = []
    for chunk in _chunks(subject, point, instances):
        out += trainable.predict(chunk)
    return out


def run_compiled(net, subject, point, instances) -> list[dict]:
    out = []
    for chunk in _chunks(subject, point, instances):
        out += net.run(chunk)
    return out


def scored(checked) -> dict:
    """What the accuracy numbers count, in words, from the program's result types."""
    outputs = []
    for name, rtype in zip(checked.result_names, checked.program.results):
        t = T.from_syntax(rtype)
        elem = t.elem if isinstance(t, T.Field) else t
        if isinstance(t, T.Field):
            kinds = tuple(a.kind for a in t.axes)
            element = {("node",): "node", ("node", "node"): "ordered pair of nodes (i, j)",
                       ("edge",): "edge", ("pos",): "position"}.get(kinds)
            element = element or ("bit" if t.bits else "element")
        else:
            element = "the whole value (one per input)"
        if isinstance(elem, T.Bool):
            how = "the bit, exactly"
        elif isinstance(elem, T.Int):
            how = "the integer, exactly" + ("; inf is a value and must be predicted as inf"
                                            if elem.allows_inf else "")
        elif isinstance(elem, T.Index):
            how = "the index, exactly" + ("; none is a value" if elem.optional else "")
        elif isinstance(elem, T.Token):
            how = "the token, exactly"
        else:
            how = "the value, exactly"
        entry = {"name": name, "type": str(t), "element": element, "how": how}
        if element == "node" and isinstance(elem, T.Index):
            # a node[node] output is a pointer per node: its per-output accuracy is CLRS-30's
            # pointer score (the share of nodes whose pointer is right), beside exact match
            entry["pointer"] = True
        outputs.append(entry)
    doc = {"outputs": outputs,
           "per_element": "the share of output elements (as listed) equal to the interpreter's, "
                          "pooled over every output of every input",
           "exact_match": "the share of inputs on which every element of every output is right",
           "decoding": "bool: > 0.5; int and index: rounded to the nearest valid value; inf "
                       "flag: > 0.5; the compiled network is read without rounding, so an "
                       "inexact value counts as wrong"}
    pointers = [o["name"] for o in outputs if o.get("pointer")]
    if pointers:
        doc["pointers"] = pointers
        doc["pointer_accuracy"] = ("per output, `outputs.NAME` of a pointer output is the share "
                                   "of nodes whose pointer is right: the per-node accuracy "
                                   "CLRS-30 reports for predecessor pointers")
    if checked.family == "graph" and pointers:
        doc["note"] = ("CLRS-30 and the published trained results (Triplet-GMPNN, n = 64 after "
                       "training on n ≤ 16: about 99.5 for BFS, 98.7 for Bellman-Ford, 19.3 for "
                       "DFS) score the predecessor pointer of each node; this program outputs "
                       "pointers (" + ", ".join(f"`{p}`" for p in pointers) + "), and their "
                       "per-output accuracy is that per-node score, reported beside exact match.")
    elif checked.family == "graph":
        doc["note"] = ("CLRS-30 and the published trained results (Triplet-GMPNN, n = 64 after "
                       "training on n ≤ 16: about 99.5 for BFS, 98.7 for Bellman-Ford, 19.3 for "
                       "DFS) score the predecessor pointer of each node; this report scores the "
                       "program's own outputs listed above, so the numbers are comparable in "
                       "protocol (sizes, graph families) but not in what is predicted.")
    return doc
