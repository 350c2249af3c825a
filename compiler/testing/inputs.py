"""Hypothesis strategies that draw valid inputs (`nclang.dsl.values.Instance`) for any checked
program, from its parameter types and the sizes it is compiled at.

Nothing here knows a program by name. The values lean on what networks get wrong: extremes of
every range (0, all ones, a single bit, the bounds of an `int[lo..hi]`, `inf` where the type
allows it), graphs without edges, with self-loops and repeated edges, disconnected, and long paths
(which need every round of a `repeat n - 1`), sequences of length 1.

Some programs accept only part of what their types allow (sort_unique wants distinct values,
list_ranking an acyclic `succ`). The runner filters by running the interpreter and discarding the
inputs it rejects, so the strategies only have to make such inputs *common*: one-axis integer
fields are often drawn with distinct values, and `node[node]` fields are often an in-forest (each
node points to itself or to a node later in a random order), which is what pointer-jumping
programs want.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from nclang.dsl import types as T
from nclang.dsl.jsonio import encode_value, input_sizes
from nclang.dsl.sizes import eval_size
from nclang.dsl.values import GraphData, Instance, dtype_of

# the plain (hypothesis-free) pieces, re-exported here where they used to live
from .domains import (DEFAULT_MAX_N, EXTRA_TOKENS, LARGEST_INT, OPEN_RANGE_SPAN,  # noqa: F401
                      finite_bounds, vocabulary)



# ---------------------------------------------------------------- vocabulary

# ---------------------------------------------------------------- scalars

WIDE_BITS = 1024  # wider integers are drawn in 64-bit words


def unsigned(width: int) -> st.SearchStrategy[int]:
    """A `width`-bit unsigned integer, the extremes (0, all ones, one bit set, one bit clear)
    drawn often. The uniform case is drawn bit by bit, so that hypothesis shrinks each bit to 0
    on its own and a counterexample keeps only the bits that matter."""
    if width <= 0:
        return st.just(0)
    top = (1 << width) - 1
    bit = st.integers(0, width - 1)
    if width <= WIDE_BITS:
        bitwise = st.lists(st.booleans(), min_size=width, max_size=width).map(
            lambda bs: sum(1 << i for i, b in enumerate(bs) if b))
    else:  # hypothesis cannot draw a list this long: 64-bit words, shrinking word by word
        words = -(-width // 64)
        bitwise = st.lists(st.integers(0, (1 << 64) - 1), min_size=words, max_size=words).map(
            lambda ws: sum(w << (64 * i) for i, w in enumerate(ws)) & top)
    return st.one_of(bitwise, st.sampled_from([0, top]),
                     bit.map(lambda i: 1 << i), bit.map(lambda i: top ^ (1 << i)))


def _int_values(t: T.Int) -> st.SearchStrategy[float]:
    lo, hi = finite_bounds(t)
    special = sorted({lo, hi} | ({0} if lo <= 0 <= hi else set()))
    options = [st.integers(lo, hi), st.sampled_from(special)]
    infinities = [x for x, ok in ((math.inf, t.lo is None or t.hi == math.inf),
                                  (-math.inf, t.lo is None or t.lo == -math.inf)) if ok]
    if infinities:
        options.append(st.sampled_from(infinities))
    return st.one_of(options).map(float)


def element(t: T.Type, n: int | None, vocab: tuple[str, ...]) -> st.SearchStrategy:
    """One value of scalar type `t` in its numpy form (`n` bounds node ids)."""
    match t:
        case T.Bool():
            return st.booleans()
        case T.Int():
            return _int_values(t)
        case T.Frac():
            # quarters are exact in float32 and float64 alike
            return st.integers(-64, 64).map(lambda q: q / 4)
        case T.Token():
            return st.sampled_from(vocab)
        case T.Index(axis=axis) if axis.kind == "node" and n is not None:
            return st.integers(0, n - 1)
    raise TypeError(f"cannot draw input values of type {t}")


# ---------------------------------------------------------------- graphs

@st.composite
def _random_edges(draw, n: int) -> list[tuple[int, int]]:
    node = st.integers(0, n - 1)
    density = draw(st.integers(0, 3))
    return draw(st.lists(st.tuples(node, node), max_size=density * n))


@st.composite
def _path_edges(draw, n: int) -> list[tuple[int, int]]:
    """A path through some of the nodes in a random order (the rest left isolated): the longest
    distances a graph on n nodes can have."""
    order = draw(st.permutations(range(n)))
    length = draw(st.integers(1, n))
    return [(order[i], order[i + 1]) for i in range(length - 1)]


@st.composite
def _two_components(draw, n: int) -> list[tuple[int, int]]:
    """Random edges inside each of two node sets, none between them."""
    if n < 2:
        return []
    cut = draw(st.integers(1, n - 1))
    left, right = st.integers(0, cut - 1), st.integers(cut, n - 1)
    return draw(st.lists(st.one_of(st.tuples(left, left), st.tuples(right, right)),
                         max_size=2 * n))


@st.composite
def graphs(draw, max_n: int) -> GraphData:
    """A directed multigraph on 1..max_n nodes."""
    n = draw(st.integers(1, max_n))
    edges = list(draw(st.one_of(_random_edges(n), st.just([]), _path_edges(n),
                                _two_components(n))))
    if edges and draw(st.booleans()):
        edges.append(draw(st.sampled_from(edges)))  # a repeated edge
    if draw(st.booleans()):
        v = draw(st.integers(0, n - 1))
        edges.append((v, v))  # a self-loop
    if len(edges) > 1:
        edges = draw(st.permutations(edges))
    src = np.array([u for u, _ in edges], dtype=np.int64)
    dst = np.array([v for _, v in edges], dtype=np.int64)
    return GraphData(n, src, dst)


# ---------------------------------------------------------------- fields

def _pointer_forest(draw, n: int) -> list[int]:
    """node[node] as an in-forest: in a random order, each node points to itself or to a node
    after it, so following pointers never cycles except at a root's self-loop."""
    order = draw(st.permutations(range(n)))
    out = [0] * n
    for i, v in enumerate(order):
        out[v] = order[draw(st.integers(i, n - 1))]
    return out


def _distinct_ints(t: T.Int, count: int):
    lo, hi = finite_bounds(t)
    if hi - lo + 1 < count:
        return None
    return st.lists(st.integers(lo, hi), min_size=count, max_size=count,
                    unique=True).map(lambda xs: [float(x) for x in xs])


def _field_cells(draw, t: T.Field, shape: tuple[int, ...], n: int | None,
                 vocab: tuple[str, ...]) -> list:
    count = int(np.prod(shape)) if shape else 1
    elem = element(t.elem, n, vocab)
    if len(shape) == 1 and count > 1:
        if isinstance(t.elem, T.Index) and t.axes[0].kind == "node" and draw(st.booleans()):
            return _pointer_forest(draw, count)
        if isinstance(t.elem, T.Int) and draw(st.booleans()):
            distinct = _distinct_ints(t.elem, count)
            if distinct is not None:
                return draw(distinct)
    return draw(st.lists(elem, min_size=count, max_size=count))


def _array(t: T.Type, cells: list, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=dtype_of(t))
    flat = out.reshape(-1)
    for i, cell in enumerate(cells):
        flat[i] = cell
    return out


@st.composite
def instances(draw, checked, sizes: dict[str, int] | None = None, *, max_n: int | None = None,
              vocab: tuple[str, ...] | None = None) -> Instance:
    """A valid input of `checked`'s program.

    `sizes` fixes the size variables the input does not (`k`); for a size the input fixes (`n` of
    a graph or a sequence) a value in `sizes` is the largest drawn instead (default
    `DEFAULT_MAX_N`, or `max_n`). `vocab` is the token vocabulary (default `vocabulary`)."""
    sizes = dict(sizes or {})
    from_input = input_sizes(checked)
    if max_n is None:
        max_n = sizes.get("n", DEFAULT_MAX_N) if "n" in from_input else DEFAULT_MAX_N
    fixed = {k: v for k, v in sizes.items() if k not in from_input}
    vocab = vocab or vocabulary(checked)
    params = [(p.name, T.from_syntax(p.type)) for p in checked.program.params]

    graph = None
    if checked.family == "graph":
        graph = draw(graphs(max_n))
        fixed.update(n=graph.n, m=graph.m)
    elif "n" in from_input:
        fixed["n"] = draw(st.integers(1, max_n))
    n = fixed.get("n") if checked.family == "graph" else None

    values: dict[str, np.ndarray] = {}
    for name, t in params:
        if isinstance(t, T.Graph):
            continue
        if not isinstance(t, T.Field):
            values[name] = np.array(draw(element(t, n, vocab)), dtype=dtype_of(t))
            continue
        if t.bits:
            width = eval_size(t.axes[0].size, fixed)
            x = draw(unsigned(width))
            values[name] = np.array([(x >> i) & 1 for i in range(width)], dtype=np.bool_)
            continue
        shape = tuple(axis_length(a, fixed) for a in t.axes)
        values[name] = _array(t, _field_cells(draw, t, shape, n, vocab), shape)
    return Instance(sizes=fixed, values=values, graph=graph)


def axis_length(axis: T.Axis, sizes: dict[str, int]) -> int:
    match axis.kind:
        case "node" | "pos":
            return sizes["n"]
        case "edge":
            return sizes["m"]
    return eval_size(axis.size, sizes)


# ---------------------------------------------------------------- JSON

def instance_to_json(checked, instance: Instance) -> dict:
    """The JSON input (`nclang run --input`) that denotes `instance`."""
    obj: dict = {}
    if instance.graph is not None:
        g = instance.graph
        obj["n"] = g.n
        obj["edges"] = [[int(u), int(v)] for u, v in zip(g.src.tolist(), g.dst.tolist())]
    for p in checked.program.params:
        t = T.from_syntax(p.type)
        if not isinstance(t, T.Graph):
            obj[p.name] = encode_value(t, instance.values[p.name])
    return obj
