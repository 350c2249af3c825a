"""Boundary inputs: a small, deterministic set of the inputs a network's construction is most
likely to get wrong, for any checked program, and the check that runs them.

Random inputs find most disagreements, but a construction fails first where its own assumptions
end: a sequence of one token (every read of a neighbour falls outside it), every length up to
the compiled maximum, a single-node graph with and without its self-loop, a graph without
edges (every aggregation over nothing), all-zero and all-one bit vectors, every value of a
small domain at a position of its own, the bounds of every range. `boundary_instances` lists
those inputs from the parameter types alone; `boundary_disagreement` runs them through the
interpreter (dropping the inputs it rejects) and a network, and returns the first disagreement.

No hypothesis and no torch here: the inputs are plain `Instance`s, so the compiler's own
self-check (numpy) can use them as well as the tests.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError
from nclang.dsl.interpreter import run as interpret
from nclang.dsl.jsonio import input_sizes
from nclang.dsl.sizes import eval_size
from nclang.dsl.values import GraphData, Instance, dtype_of

from .domains import DEFAULT_MAX_N, LARGEST_INT, finite_bounds, vocabulary

# a domain this small is enumerated at length 1 and 2 (every value at a position of its own)
SMALL_DOMAIN = 12
SMALL_PAIRS = 6


def extremes(t: T.Type, n: int | None, vocab: tuple[str, ...]) -> list:
    """The values of scalar type `t` most worth trying: its bounds, 0, ±inf where allowed,
    every token of the vocabulary, the first and last node."""
    match t:
        case T.Bool():
            return [False, True]
        case T.Int():
            lo, hi = finite_bounds(t)
            vals = sorted({lo, hi} | ({0} if lo <= 0 <= hi else set()))
            if t.hi is not None and t.hi == math.inf:
                vals.append(math.inf)
            if t.lo is not None and t.lo == -math.inf:
                vals.insert(0, -math.inf)
            return [float(v) for v in vals]
        case T.Frac():
            return [0.0, 0.5, -1.25]
        case T.Token():
            return list(vocab)
        case T.Index(axis=axis) if axis.kind == "node" and n is not None:
            return sorted({0, n - 1})
    return []


def small_domain(t: T.Type, vocab: tuple[str, ...]) -> list | None:
    """Every value of `t` when there are at most SMALL_DOMAIN of them (else None)."""
    match t:
        case T.Bool():
            return [False, True]
        case T.Token():
            return list(vocab) if len(vocab) <= SMALL_DOMAIN else None
        case T.Int():
            lo, hi = finite_bounds(t)
            if hi - lo + 1 <= SMALL_DOMAIN:
                return [float(v) for v in range(lo, hi + 1)]
    return None


def _ramp(t: T.Type, count: int, vocab, n) -> list:
    """An ascending field: lo, lo + 1, … (clipped), tokens in vocabulary order, alternating
    booleans, node ids in order."""
    match t:
        case T.Int():
            lo, hi = finite_bounds(t)
            return [float(min(lo + i, hi)) for i in range(count)]
        case T.Token():
            return [vocab[i % len(vocab)] for i in range(count)]
        case T.Index() if n is not None:
            return [i % n for i in range(count)]
    ex = extremes(t, n, vocab) or [0]
    return [ex[i % len(ex)] for i in range(count)]


def patterns(t: T.Type, count: int, n: int | None, vocab) -> list[list]:
    """Fields of `count` elements of `t`: constant at each extreme, alternating, ascending,
    descending, one odd element at either end."""
    ex = extremes(t, n, vocab)
    if not ex or count == 0:
        return [[]] if count == 0 else []
    out = [[e] * count for e in ex]
    if len(ex) > 1:
        a, b = ex[0], ex[-1]
        out += [[(a, b)[i % 2] for i in range(count)], [b] + [a] * (count - 1),
                [a] * (count - 1) + [b]]
    ramp = _ramp(t, count, vocab, n)
    out += [ramp, ramp[::-1]]
    seen, uniq = set(), []
    for p in out:
        key = repr(p)
        if key not in seen:
            seen.add(key)
            uniq.append(p)
    return uniq


def _graphs(max_n: int) -> list[GraphData]:
    def g(n, edges):
        return GraphData(n, np.array([u for u, _ in edges], np.int64),
                         np.array([v for _, v in edges], np.int64))
    out = [g(1, []), g(1, [(0, 0)]), g(1, [(0, 0), (0, 0)])]
    if max_n >= 2:
        out += [g(2, []), g(2, [(0, 1)]), g(2, [(1, 0)]), g(2, [(0, 1), (1, 0)]),
                g(2, [(0, 1), (0, 1), (1, 1)])]
    for n in sorted({min(3, max_n), max_n} - {1, 2}):
        path = [(i, i + 1) for i in range(n - 1)]
        out += [g(n, []), g(n, path), g(n, [(v, u) for u, v in path]),
                g(n, [(0, v) for v in range(1, n)]), g(n, [(v, 0) for v in range(1, n)]),
                g(n, [(v, v) for v in range(n)])]
    return out


def _shape(t: T.Field, sizes: dict[str, int]) -> tuple[int, ...]:
    out = []
    for a in t.axes:
        if a.kind in ("node", "pos"):
            out.append(sizes["n"])
        elif a.kind == "edge":
            out.append(sizes["m"])
        else:
            out.append(eval_size(a.size, sizes))
    return tuple(out)


def _options(params, sizes, n, vocab, small: list | None = None) -> list[list] | None:
    """Per parameter, the values to try: its patterns (or, for the first one-axis field, just
    `small`); None when a parameter has none (a node id of a graph without nodes)."""
    out = []
    first = True
    for _, t in params:
        if isinstance(t, T.Graph):
            continue
        if not isinstance(t, T.Field):
            opts = [np.array(e, dtype=dtype_of(t)) for e in extremes(t, n, vocab)]
        else:
            shape = _shape(t, sizes)
            count = int(np.prod(shape)) if shape else 1
            cells = [small] if small is not None and first and len(shape) == 1 else \
                patterns(t.elem, count, n, vocab)
            first = False
            opts = []
            for cs in cells:
                arr = np.empty(shape, dtype=dtype_of(t))
                flat = arr.reshape(-1)
                for i, c in enumerate(cs):
                    flat[i] = c
                opts.append(arr)
        if not opts:
            return None
        out.append(opts)
    return out


def _combinations(options: list[list]) -> list[tuple[int, ...]]:
    """Which option of each parameter: the i-th of all together (cycling), then, for two or
    more parameters, every pair of the first few options of the first two."""
    if not options:
        return [()]
    longest = max(len(o) for o in options)
    picks = [tuple(i % len(o) for o in options) for i in range(longest)]
    if len(options) >= 2:
        for a, b in itertools.product(range(min(4, len(options[0]))),
                                      range(min(4, len(options[1])))):
            picks.append((a, b) + tuple(0 for _ in options[2:]))
    return picks


def boundary_instances(checked, sizes: dict[str, int] | None = None, *,
                       max_n: int | None = None, vocab: tuple[str, ...] | None = None,
                       limit: int = 400) -> list[Instance]:
    """At most `limit` boundary inputs of `checked`'s program at `sizes` (for a size the input
    fixes, `n`, every value up to `max_n`, default sizes["n"] or DEFAULT_MAX_N). They are inputs
    the types allow; the program itself may still reject some (run them through the
    interpreter)."""
    sizes = dict(sizes or {})
    from_input = input_sizes(checked)
    vocab = vocab or vocabulary(checked)
    params = [(p.name, T.from_syntax(p.type)) for p in checked.program.params]
    fixed = {k: v for k, v in sizes.items() if k not in from_input}
    if max_n is None:
        max_n = sizes.get("n", DEFAULT_MAX_N)

    names = [name for name, t in params if not isinstance(t, T.Graph)]

    # (priority, order, instance): the first pick of every shape, then the second of every
    # shape, …, so that a `limit` keeps every length and graph shape
    ranked: list[tuple[int, int, Instance]] = []

    def add(sz, graph=None, small=None, choices=None, priority=0):
        n = sz.get("n") if checked.family == "graph" else None
        options = _options(params, sz, n, vocab, small)
        if options is None:
            return
        picks = _combinations(options)
        for rank, pick in enumerate(picks[:choices]):
            values = {name: options[i][c] for i, (name, c) in enumerate(zip(names, pick))}
            ranked.append((priority + rank, len(ranked),
                           Instance(sizes=dict(sz), values=values, graph=graph)))

    if checked.family == "graph":
        for g in _graphs(max_n):
            add({**fixed, "n": g.n, "m": g.m}, g)
    elif "n" in from_input:
        seq_elems = [t.elem for _, t in params if isinstance(t, T.Field)]
        dom = small_domain(seq_elems[0], vocab) if seq_elems else None
        for L in range(1, max_n + 1):
            add({**fixed, "n": L})
            if dom is not None and L == 1:
                for v in dom:
                    add({**fixed, "n": 1}, small=[v], choices=1)
            if dom is not None and L == 2 and len(dom) <= SMALL_PAIRS:
                for a, b in itertools.product(dom, repeat=2):
                    add({**fixed, "n": 2}, small=[a, b], choices=1, priority=2)
    else:
        add(fixed)
    seen, uniq = set(), []
    for _, _, inst in sorted(ranked, key=lambda r: r[:2]):
        key = instance_key(inst)
        if key not in seen:
            seen.add(key)
            uniq.append(inst)
    return uniq[:limit]


def same(expected, got) -> bool:
    """Exact equality of one output: same shape, tokens equal as strings, numbers equal as
    float64 (bool as 0/1, ±inf equal to itself, NaN equal to nothing)."""
    e, g = np.asarray(expected), np.asarray(got)
    if e.shape != g.shape:
        return False
    if e.dtype == object or g.dtype == object:
        return e.dtype == g.dtype and e.tolist() == g.tolist()
    try:
        return bool(np.array_equal(e.astype(np.float64), g.astype(np.float64)))
    except (TypeError, ValueError):
        return False


def outputs_agree(checked, expected: dict, got: dict) -> list[str]:
    """The names of the outputs on which `got` differs from `expected` (empty when they agree)."""
    return [name for name in checked.result_names
            if name not in got or not same(expected[name], got[name])]


def instance_key(instance: Instance) -> tuple:
    """What tells two drawn inputs apart: the values' exact contents. (Not their JSON: a bits
    input of tens of thousands of bits is an integer Python will not turn into a decimal
    string.)"""
    def exact(a):
        a = np.asarray(a)
        return (a.shape, str(a.dtype), tuple(a.reshape(-1).tolist()) if a.dtype == object
                else a.tobytes())
    g = instance.graph
    graph = None if g is None else (g.n, exact(g.src), exact(g.dst))
    return (tuple(sorted(instance.sizes.items())), graph,
            tuple((k, exact(v)) for k, v in sorted(instance.values.items())))


def boundary_disagreement(checked, run_network, sizes: dict[str, int] | None = None, *,
                          max_n: int | None = None, vocab: tuple[str, ...] | None = None,
                          limit: int = 400):
    """The first boundary input on which `run_network(list[Instance]) -> list[dict]` disagrees
    with the interpreter, as (instance, expected, got, output names), or None. Inputs the
    interpreter rejects are outside the program's domain and skipped."""
    cases = []
    for inst in boundary_instances(checked, sizes, max_n=max_n, vocab=vocab, limit=limit):
        try:
            cases.append((inst, interpret(checked, inst)))
        except NclError:
            continue
    if not cases:
        return None
    got = run_network([inst for inst, _ in cases])
    for (inst, expected), g in zip(cases, got):
        bad = outputs_agree(checked, expected, g)
        if bad:
            return inst, expected, g, bad
    return None


__all__ = ["boundary_disagreement", "boundary_instances", "extremes", "instance_key",
           "outputs_agree", "patterns", "same", "LARGEST_INT"]
