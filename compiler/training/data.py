"""Training data: random inputs of a program, and their targets from the reference interpreter.

`sample_instances` draws `nclang.dsl.values.Instance`s with a numpy `Generator` only (no
hypothesis, no global state): the same generator state and arguments give the same instances,
and instance i depends only on the draws before it, so a longer sample extends a shorter one.
Unlike `nclang.compiler.testing.inputs`, which hunts for edge cases, the distributions here are
the plain ones training protocols use (CLRS-30): uniform values, graphs from named random
families.

Graph programs (`n` uniform in `n_range`, one family per instance, uniform over `families`; an
`n` or `m` in `sizes` is ignored, as the graph fixes them):

- node ids are a random permutation in every family, so an id says nothing about a node's place
  in the structure (dfs breaks ties by id; a fixed labelling would leak the answer);
- `er`: Erdős–Rényi, *directed*: every ordered pair u != v is an edge independently with
  p = min(1, 3 / (n - 1)), so mean out-degree (and in-degree) is about 3; no self-loops;
- `er-p`: Erdős–Rényi, directed, with the edge probability p drawn per graph uniformly from
  0.1, 0.2, ..., 0.9, as CLRS-30's samplers draw it (theirs are undirected for bfs and
  bellman_ford; here every ordered pair is drawn, as for `er`). Not in the default families;
- `tree`: a random recursive tree (each node joins a uniform earlier node), n - 1 undirected edges;
- `grid`: an r × c lattice with 4-neighbour edges. r is ⌊√n⌋ or ⌈√n⌉ and c is ⌊n/r⌋ or ⌈n/r⌉:
  of these pairs, the one whose r·c is nearest n and inside `n_range` (ties: the squarer one),
  so the instance has n = r·c nodes, which may differ from the drawn n by a little;
- `path`: the nodes in a random order, joined one after the next, n - 1 undirected edges.

The stdlib graphs are directed multigraphs, so every *undirected* edge of tree, grid and path is
emitted in both directions (u → v and v → u), and an edge field gets the same value on both
directions (an undirected weighted graph, as CLRS's are). Edges are listed in a random order.

Parameter values, by type (any family):

- `node[bool]`: exactly one node true: CLRS's single source / start node;
- a `node` scalar (dfs's `s`): a uniform node; `node[node]` (list_ranking's `succ`): a random
  forest of lists: the nodes in a random order cut into 1 to 3 lists, each node pointing to the
  next in its list and each tail to itself (no other cycles, which pointer jumping requires);
- `int[lo..hi]`: uniform over the finite interval that
  `nclang.compiler.testing.inputs.finite_bounds` gives (so `inf` is never an input value); a
  one-axis int field is drawn with *distinct* values when the program rejects repeated ones
  (sort_unique): found once per call by running the interpreter on an input whose field
  repeats one value;
- `bool` fields and scalars: fair coins; `frac`: quarters in -16..16 (exact in float32);
  `token`: uniform over `vocab` (default `nclang.compiler.testing.inputs.vocabulary`: the program's
  literals, then a, b, z: what a default-compiled transformer accepts); optional indices are
  never `none`.

Bits programs: the size variables (`k`) come from `sizes` and are required (a missing one is the
`missing-size` error of `nclang run`); `bits[k]` is uniform over 0..2^k - 1 (each bit a coin).
Sequence programs: the length is uniform in `n_range` clipped to 1..sizes["n"] (the length a
transformer is compiled for; no clipping without it), and to the value range when values must be
distinct.

A bad `n_range` or an unknown family is a `ValueError` (a caller's mistake: the CLI checks its
options against `GRAPH_FAMILIES` first); the inputs themselves cannot be wrong.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError
from nclang.dsl.interpreter import run as interpret
from nclang.dsl.jsonio import check_sizes, input_sizes
from nclang.dsl.sizes import eval_size
from nclang.dsl.values import GraphData, Instance, dtype_of
from nclang.compiler.testing.inputs import axis_length, finite_bounds, vocabulary

GRAPH_FAMILIES = ("er", "tree", "grid", "path", "er-p")
# which of them `nclang train` and `nclang gap` draw by default: `config.PROTOCOL_FAMILIES`
# `er-p`: the edge probability of each graph is one of these, uniformly (CLRS-30's samplers,
# the Triplet-GMPNN training script: p = 0.1, 0.2, ..., 0.9 per graph)
ER_P_CHOICES = tuple(round(0.1 * i, 1) for i in range(1, 10))
# mean out-degree of an `er` graph (CLRS-30 draws p so that degrees stay small as n grows)
ER_MEAN_DEGREE = 3
# a `node[node]` forest holds 1..MAX_LISTS lists
MAX_LISTS = 3
# frac inputs are quarters in -FRAC_QUARTERS/4 .. FRAC_QUARTERS/4
FRAC_QUARTERS = 64


# ---------------------------------------------------------------- the public API

def sample_instances(checked, count: int, rng: np.random.Generator, *,
                     sizes: dict[str, int] | None = None, n_range: tuple[int, int] = (4, 16),
                     families=GRAPH_FAMILIES, vocab: tuple[str, ...] | None = None
                     ) -> list[Instance]:
    """`count` random valid inputs of `checked`'s program (see the module docstring for the
    distributions). `sizes` fixes size variables the input does not (`k`), and for sequence
    programs bounds the length by sizes["n"]; `vocab` is the token vocabulary."""
    lo, hi = _check_range(n_range)
    families = _check_families(families) if checked.family == "graph" else ()
    from_input = input_sizes(checked)
    fixed = {k: int(v) for k, v in (sizes or {}).items() if k not in from_input}
    check_sizes(checked, fixed, checked.program.name)
    if checked.family == "seq" and sizes and "n" in sizes:
        lo, hi = (min(max(x, 1), int(sizes["n"])) for x in (lo, hi))
    sampler = _Sampler(checked, fixed, tuple(vocab or vocabulary(checked)), families, (lo, hi))
    sampler.distinct = _rejects_repeats(sampler)
    if sampler.distinct and "n" in from_input:
        # n distinct values need a range of at least n
        room = min(_span(sampler.int_types[name]) for name in sampler.distinct)
        sampler.n_range = (min(lo, room), min(hi, room))
    return [sampler.draw(rng) for _ in range(count)]


def reference(checked, instances, *, trace: bool = False):
    """The interpreter's outputs on each instance (a list of dicts, numpy forms of
    dsl/values.py); with `trace=True` the pair (outputs, traces), where traces[i] lists, per
    executed loop round, the carried variables after that round (`nclang.dsl.interpreter.run`)."""
    outputs, traces = [], []
    for instance in instances:
        if trace:
            out, rounds = interpret(checked, instance, trace=True)
            traces.append(rounds)
        else:
            out = interpret(checked, instance)
        outputs.append(out)
    return (outputs, traces) if trace else outputs


# ---------------------------------------------------------------- argument checks

def _check_range(n_range) -> tuple[int, int]:
    lo, hi = (int(x) for x in n_range)
    if lo < 1 or lo > hi:
        raise ValueError(f"n_range must be 1 <= lo <= hi, got {lo}..{hi}")
    return lo, hi


def _check_families(families) -> tuple[str, ...]:
    families = tuple(families)
    unknown = [f for f in families if f not in GRAPH_FAMILIES]
    if unknown or not families:
        raise ValueError(f"unknown graph families {unknown or '(none given)'}: "
                         f"choose from {', '.join(GRAPH_FAMILIES)}")
    return families


def _span(t: T.Int) -> int:
    lo, hi = finite_bounds(t)
    return hi - lo + 1


# ---------------------------------------------------------------- graph families

def _undirected(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(src, dst, which undirected edge each directed one came from) for edges both ways."""
    e = pairs.shape[0]
    src = np.concatenate([pairs[:, 0], pairs[:, 1]])
    dst = np.concatenate([pairs[:, 1], pairs[:, 0]])
    return src, dst, np.concatenate([np.arange(e), np.arange(e)])


def _er(rng, n: int, p: float | None = None):
    if n < 2:
        empty = np.zeros(0, np.int64)
        return n, empty, empty, empty
    p = min(1.0, ER_MEAN_DEGREE / (n - 1)) if p is None else p
    adj = rng.random((n, n)) < p
    np.fill_diagonal(adj, False)
    src, dst = np.nonzero(adj)
    return n, src.astype(np.int64), dst.astype(np.int64), np.arange(src.shape[0])


def _tree(rng, n: int):
    # node i (i >= 1, before relabelling) joins a uniform node among 0..i-1
    parents = np.floor(rng.random(n - 1) * np.arange(1, n)).astype(np.int64)
    return (n, *_undirected(np.stack([parents, np.arange(1, n)], axis=1)))


def _path(rng, n: int):
    return (n, *_undirected(np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)))


@functools.lru_cache(maxsize=None)
def grid_shape(n: int, n_range: tuple[int, int]) -> tuple[int, int]:
    """The (rows, columns) of the grid drawn for a drawn size n (module docstring)."""
    lo, hi = n_range
    near = [(r, c) for r in {math.isqrt(n), math.isqrt(n - 1) + 1} if r >= 1
            for c in {n // r, -(-n // r)} if c >= 1 and lo <= r * c <= hi]
    if near:
        return min(near, key=lambda rc: (abs(rc[0] * rc[1] - n), abs(rc[1] - rc[0])))
    # no near-square lattice fits the range (a prime-only range like 5..5): the squarest that does
    fits = [(r, c) for r in range(1, math.isqrt(hi) + 1)
            for c in range(max(r, -(-lo // r)), hi // r + 1)]
    return min(fits, key=lambda rc: (rc[1] / rc[0], abs(rc[0] * rc[1] - n)))


def _grid(rng, n: int, n_range: tuple[int, int]):
    r, c = grid_shape(n, n_range)
    ids = np.arange(r * c).reshape(r, c)
    right = np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()], axis=1)
    down = np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()], axis=1)
    return (r * c, *_undirected(np.concatenate([right, down])))


# ---------------------------------------------------------------- one instance

class _Sampler:
    """Draws instances of one program; built once per `sample_instances` call so that the
    per-instance work is only numpy draws."""

    def __init__(self, checked, fixed: dict[str, int], vocab: tuple[str, ...], families,
                 n_range: tuple[int, int]):
        self.checked = checked
        self.fixed = fixed
        self.n_from_input = "n" in input_sizes(checked)
        self.n_range = n_range
        self.vocab = np.array(vocab, dtype=object)
        self.families = families
        self.params = [(p.name, T.from_syntax(p.type)) for p in checked.program.params
                       if not isinstance(T.from_syntax(p.type), T.Graph)]
        # one-axis int fields over nodes or positions: the ones a program may need distinct
        self.int_types = {name: t.elem for name, t in self.params
                          if isinstance(t, T.Field) and isinstance(t.elem, T.Int)
                          and len(t.axes) == 1 and t.axes[0].kind in ("node", "pos")}
        self.distinct: frozenset[str] = frozenset()
        self.repeat: str | None = None  # the field the repeat probe fills with one value

    def draw(self, rng: np.random.Generator, n: int | None = None) -> Instance:
        sizes = dict(self.fixed)
        graph, edge_of = None, None
        if n is None:
            n = int(rng.integers(self.n_range[0], self.n_range[1] + 1))
        if self.checked.family == "graph":
            graph, edge_of = self._graph(rng, n)
            sizes.update(n=graph.n, m=graph.m)
        elif self.n_from_input:
            sizes["n"] = n
        values = {name: self._value(rng, name, t, sizes, edge_of) for name, t in self.params}
        return Instance(sizes=sizes, values=values, graph=graph)

    def _graph(self, rng, n: int):
        family = self.families[int(rng.integers(len(self.families)))]
        if family == "er":
            n, src, dst, edge_of = _er(rng, n)
        elif family == "er-p":
            n, src, dst, edge_of = _er(rng, n, ER_P_CHOICES[int(rng.integers(len(ER_P_CHOICES)))])
        elif family == "grid":
            n, src, dst, edge_of = _grid(rng, n, self.n_range)
        else:
            n, src, dst, edge_of = (_tree if family == "tree" else _path)(rng, n)
        label = rng.permutation(n)
        order = rng.permutation(src.shape[0])
        graph = GraphData(n, label[src[order]].astype(np.int64), label[dst[order]].astype(np.int64))
        return graph, edge_of[order]

    def _value(self, rng, name: str, t: T.Type, sizes: dict[str, int], edge_of) -> np.ndarray:
        if not isinstance(t, T.Field):
            return np.asarray(self._cells(rng, t, (), sizes.get("n")), dtype=dtype_of(t))
        if t.bits:
            width = eval_size(t.axes[0].size, sizes)
            return rng.random(width) < 0.5
        axes = [a.kind for a in t.axes]
        shape = tuple(axis_length(a, sizes) for a in t.axes)
        n = sizes.get("n")
        if self.checked.family == "graph" and axes == ["node"]:
            if isinstance(t.elem, T.Bool):
                one_hot = np.zeros(n, dtype=np.bool_)
                one_hot[rng.integers(n)] = True
                return one_hot
            if isinstance(t.elem, T.Index) and t.elem.axis.kind == "node":
                return _list_forest(rng, n)
        if name == self.repeat:
            lo, _ = finite_bounds(t.elem)
            return np.full(shape, float(lo))
        if name in self.distinct:
            lo, _ = finite_bounds(t.elem)
            return (rng.choice(_span(t.elem), size=shape, replace=False) + lo).astype(np.float64)
        if axes == ["edge"] and edge_of is not None:
            # one value per undirected edge, shared by its two directions
            per_edge = self._cells(rng, t.elem, (int(edge_of.max(initial=-1)) + 1,), n)
            return np.asarray(per_edge, dtype=dtype_of(t))[edge_of]
        return np.asarray(self._cells(rng, t.elem, shape, n), dtype=dtype_of(t))

    def _cells(self, rng, t: T.Type, shape: tuple[int, ...], n: int | None):
        match t:
            case T.Bool():
                return rng.random(shape) < 0.5
            case T.Int():
                lo, hi = finite_bounds(t)
                return rng.integers(lo, hi, size=shape, endpoint=True).astype(np.float64)
            case T.Frac():
                return rng.integers(-FRAC_QUARTERS, FRAC_QUARTERS, size=shape,
                                    endpoint=True) / 4
            case T.Token():
                return self.vocab[rng.integers(len(self.vocab), size=shape)]
            case T.Index(axis=axis):
                size = n if axis.kind in ("node", "pos") else eval_size(axis.size, self.fixed)
                return rng.integers(size, size=shape)
        raise TypeError(f"cannot draw input values of type {t}")


def _list_forest(rng, n: int) -> np.ndarray:
    """succ of 1..MAX_LISTS disjoint lists covering the nodes in a random order; tails point to
    themselves."""
    order = rng.permutation(n)
    lists = int(rng.integers(1, min(MAX_LISTS, n) + 1))
    cuts = np.zeros(n, dtype=np.bool_)  # cuts[i]: order[i] ends its list
    cuts[n - 1] = True
    if lists > 1:
        cuts[rng.choice(n - 1, size=lists - 1, replace=False)] = True
    succ = np.empty(n, dtype=np.int64)
    succ[order] = np.where(cuts, order, np.roll(order, -1))
    return succ


# ---------------------------------------------------------------- distinct values

def _rejects_repeats(sampler: _Sampler) -> frozenset[str]:
    """The one-axis int fields that the program rejects when they repeat a value: each is probed
    by one interpreter run on an input (of a fixed private seed) whose field holds one value
    everywhere."""
    found = set()
    lo, hi = sampler.n_range
    n = min(max(lo, 2), hi)
    for name in sampler.int_types:
        sampler.repeat = name
        try:
            interpret(sampler.checked, sampler.draw(np.random.default_rng(0), n))
        except NclError:
            found.add(name)
        finally:
            sampler.repeat = None
    return frozenset(found)
