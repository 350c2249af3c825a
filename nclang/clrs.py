"""CLRS-30 interop: a CLRS sample as an nclang input, and an nclang output in CLRS's encoding.

CLRS-30 (DeepMind's `clrs` package) encodes a graph as an n × n matrix `A` (and `adj`, which is
`A != 0` with the diagonal set), a start node as a one-hot mask `s`, and its outputs as
pointers (`pi[v]`, a node index), masks (0/1 per node) and edge masks and edge pointers (n × n).
nclang's graph input is a node count, an edge list and per-edge / per-node fields, and its
pointers may be `none`. The rules that connect the two, each stated once here (docs/clrs.md):

- **An entry of 0 is no edge.** CLRS's matrices cannot hold a weight-0 edge, which nclang can;
  a sample's `A[i][j] != 0` is the edge i → j (the diagonal too: a self-loop), and an nclang
  edge of weight 0 has no CLRS matrix. Writing one is refused unless `zero_weight="drop"` asks
  for it to be left out.
- **Weights are integers times 1/scale.** nclang's weights are integers; `A[i][j] * scale` must
  be within 1e-9 of one, and is rounded to it (CLRS's `truncate_decimals=1` data, with
  `scale=10`). A CLRS sample whose float sums break ties differently from the integers' is
  CLRS's rounding, not the graph's: run CLRS on the scaled matrix to compare exactly.
- **One matrix entry per ordered pair.** nclang edges may repeat; a repeat with the same weight
  is the same CLRS entry, one with another weight is refused.
- **Undirected algorithms take symmetric matrices**: with `algorithm=` one whose CLRS sampler
  draws undirected graphs, an asymmetric `A` (or an edge without its reverse) is refused.
- **A pointer to nowhere is a pointer to itself**: an nclang `none` in a node pointer is `v`
  (CLRS's `pi[v] = v` for an unreached node), in a pair pointer `Pi[i][j]` it is `i`.
- **An edge mask is n × n**, 1 at [u][v] for each true edge u -> v; where CLRS masks the pairs
  that are no edge (its bridges writes -1 there, which its evaluation skips), so does this.

Errors in a sample or an instance are `NclError`s, one `FILE:1:1: error: ...` line each, FILE
being `file=` (default `<clrs>`), naming the feature and entry at fault.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import clrs_check
from .clrs_check import fail

FILE = "<clrs>"
ZERO_WEIGHT = ("refuse", "drop")


@dataclass(frozen=True)
class Algorithm:
    """One CLRS-30 graph algorithm and the nclang program that computes it: `outputs` pairs each
    CLRS output with the program's result of that name; `undirected`, `weighted` and `source`
    say what CLRS's sampler draws (a symmetric `A`, weights, a start node `s`); `masked`, that
    CLRS writes -1 (its `OutputClass.MASKED`, which its evaluation skips) in an edge mask where
    there is no edge, as its bridges does."""
    name: str
    program: str
    outputs: tuple[tuple[str, str], ...]
    undirected: bool
    weighted: bool
    source: bool
    masked: bool = False

    @property
    def path(self) -> str:
        """The program's file, relative to the repository root."""
        return f"stdlib/{self.program}.ncl"


def _alg(name, program, outputs, undirected, weighted, source, masked=False):
    return Algorithm(name, "graph/" + program, tuple(outputs.items()), undirected, weighted, source,
                     masked)


# CLRS-30's graph algorithms (less bipartite matching), each with its stdlib program
ALGORITHMS = {a.name: a for a in (
    _alg("bfs", "bfs_parent", {"pi": "parent"}, True, False, True),
    _alg("dfs", "dfs_forest", {"pi": "pi"}, False, False, False),
    _alg("topological_sort", "topological_sort", {"topo": "topo", "topo_head": "head"},
         False, False, False),
    _alg("strongly_connected_components", "strongly_connected_components",
         {"scc_id": "scc_id"}, False, False, False),
    _alg("articulation_points", "articulation_points", {"is_cut": "cut"}, True, False, False),
    _alg("bridges", "bridges", {"is_bridge": "bridge"}, True, False, False, masked=True),
    _alg("mst_kruskal", "mst_kruskal", {"in_mst": "in_mst"}, True, True, False),
    _alg("mst_prim", "mst_prim", {"pi": "pi"}, True, True, True),
    _alg("bellman_ford", "bellman_ford_negative", {"pi": "pi"}, True, True, True),
    _alg("dag_shortest_paths", "dag_shortest_paths", {"pi": "pi"}, False, True, True),
    _alg("dijkstra", "dijkstra", {"pi": "pi"}, True, True, True),
    _alg("floyd_warshall", "floyd_warshall", {"Pi": "p"}, True, True, False),
)}


# ---------------------------------------------------------------- what a program takes and gives

def signature(program) -> tuple[dict[str, str], dict[str, str]]:
    """(parameters, results) of `program` as {name: type text}: a `Program`, a `Network`, or
    what `nclang.check` takes (a path or source text)."""
    from .network import Network
    from .program import Program, check
    if isinstance(program, Network):
        enc = program.meta["encodings"]
        return ({e["name"]: e["type"] for e in enc["inputs"]},
                {e["name"]: e["type"] for e in enc["outputs"]})
    if not isinstance(program, Program):
        program = check(program)
    return program.params, program.results


def signature_of_checked(checked) -> tuple[dict[str, str], dict[str, str]]:
    """(parameters, results) of the checker's record, or of the runtime's stand-in for it (what
    the CLI holds)."""
    from nclang.dsl import types as T
    params = {p.name: str(T.from_syntax(p.type)) for p in checked.program.params}
    results = {name: str(T.from_syntax(t))
               for name, t in zip(checked.result_names, checked.program.results)}
    return params, results


def _algorithm(algorithm, file) -> Algorithm | None:
    if algorithm is None or isinstance(algorithm, Algorithm):
        return algorithm
    if algorithm not in ALGORITHMS:
        known = ", ".join(ALGORITHMS)
        raise fail(file, f"no CLRS-30 graph algorithm {algorithm!r} (known: {known})")
    return ALGORITHMS[algorithm]


def _positive(scale) -> None:
    # a wrong argument, not wrong data: Python's error, as for any other API argument
    if not clrs_check.finite(scale) or scale <= 0:
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")


# ---------------------------------------------------------------- CLRS sample -> nclang input

def to_input(sample: Mapping, program, *, scale=1, algorithm=None, file: str = FILE) -> dict:
    """The nclang JSON input (the dict `nclang run` reads) of a CLRS sample's inputs: `A` (n × n,
    0 = no edge), `s` (a one-hot list, or the node's index) where the program takes a start
    node, and `adj`, which must agree with `A` where given. `program` names the program to feed:
    its `edge[int…]` parameter gets `A[i][j] * scale`, its `node[bool]` parameter the one-hot
    `s`, its `node` parameter `s`'s index."""
    _positive(scale)
    params, _ = signature(program)
    alg = _algorithm(algorithm, file)
    matrix = clrs_check.matrix(sample, "A", file)
    n = len(matrix)
    if "adj" in sample:
        clrs_check.adj_agrees(sample["adj"], matrix, file)
    if alg is not None and alg.undirected:
        clrs_check.symmetric(matrix, file, alg.name)
    edges = [[i, j] for i in range(n) for j in range(n) if matrix[i][j] != 0]
    inp: dict = {"n": n, "edges": edges}
    for name, kind in params.items():
        if kind == "graph":
            continue
        if kind.startswith("edge[int"):
            inp[name] = [clrs_check.integer(matrix[i][j] * scale, f"A[{i}][{j}] * {scale}", file)
                         for i, j in edges]
        elif kind == "node[bool]":
            start = clrs_check.start(sample, n, file)
            inp[name] = [v == start for v in range(n)]
        elif kind == "node":
            inp[name] = clrs_check.start(sample, n, file)
        else:
            raise fail(file, f"the program's parameter {name}: {kind} is not one a "
                         f"CLRS sample gives (A as edges and edge weights, s as "
                         f"a node or a one-hot node[bool])")
    return inp


# ---------------------------------------------------------------- nclang input -> CLRS sample

def to_sample(instance: Mapping, program, *, scale=1, zero_weight: str = "refuse",
              algorithm=None, file: str = FILE) -> dict:
    """The CLRS sample inputs of an nclang graph input to `program`: `A` (n × n: weight / scale,
    or 1 where the program takes no weights) and `s` (one-hot) where it takes a start node. The
    weights are the program's `edge[int…]` parameter; `zero_weight="drop"` leaves weight-0
    edges out, which CLRS cannot write, instead of refusing them. The inverse of `to_input`."""
    _positive(scale)
    if zero_weight not in ZERO_WEIGHT:
        raise ValueError(f"zero_weight must be one of {ZERO_WEIGHT}, got {zero_weight!r}")
    params, _ = signature(program)
    alg = _algorithm(algorithm, file)
    n, edges = clrs_check.graph(instance, file)
    weight_key = next((k for k, t in params.items() if t.startswith("edge[int")), None)
    weights = None if weight_key is None else \
        clrs_check.edge_weights(instance, weight_key, len(edges), file)
    matrix = [[0] * n for _ in range(n)]
    for k, (u, v) in enumerate(edges):
        w = 1 if weights is None else weights[k]
        if w == 0:
            if zero_weight == "drop":
                continue
            raise fail(file, f"edges[{k}] ({u} -> {v}) has weight 0, which CLRS's "
                         f"matrices read as no edge (zero_weight='drop' leaves "
                         f"it out)")
        value = w if scale == 1 else w / scale
        if matrix[u][v] not in (0, value):
            raise fail(file, f"edges[{k}] repeats {u} -> {v} with weight {w}, another "
                         f"than before: a CLRS matrix holds one weight per pair")
        matrix[u][v] = value
    if alg is not None and alg.undirected:
        clrs_check.symmetric(matrix, file, alg.name)
    sample: dict = {"A": matrix}
    start = clrs_check.instance_start(instance, params, n, file)
    if start is not None:
        sample["s"] = [int(v == start) for v in range(n)]
    return sample


# ---------------------------------------------------------------- nclang output -> CLRS output

def to_outputs(program, instance: Mapping, outputs: Mapping, *, algorithm=None,
               file: str = FILE) -> dict:
    """`outputs` (a dict as `nclang run` / `Network.run` give it, for `instance`) in CLRS's
    encoding. With `algorithm`, the result is CLRS's outputs by CLRS's names (`pi`, `in_mst`,
    ...); without, every result keeps its name and is encoded by its type (`encode`)."""
    _, results = signature(program)
    n, edges = clrs_check.graph(instance, file)
    return encode_outputs(results, n, edges, outputs, algorithm=algorithm, file=file)


def encode_outputs(results: Mapping[str, str], n: int, edges, outputs: Mapping, *,
                   algorithm=None, file: str = FILE) -> dict:
    """`to_outputs` given the program's results as {name: type text} and the input's graph (what
    the CLI holds)."""
    alg = _algorithm(algorithm, file)
    encoded = {name: encode(results[name], value, n, edges) for name, value in outputs.items()
               if name in results}
    if alg is None:
        return encoded
    missing = [ours for _, ours in alg.outputs if ours not in encoded]
    if missing:
        raise fail(file, f"CLRS's {alg.name} needs the result {missing[0]!r}, which "
                         f"the program does not give (it gives "
                         f"{', '.join(encoded) or 'nothing'})")
    if alg.masked:
        edge_masks = {ours for _, ours in alg.outputs if results[ours] in EDGE_MASKS}
        encoded = {k: masked(v, edges) if k in edge_masks else v for k, v in encoded.items()}
    return {theirs: encoded[ours] for theirs, ours in alg.outputs}


EDGE_MASKS = ("edge[bool]", "pair[bool]")
# CLRS's specs.OutputClass.MASKED: an entry its evaluation leaves out
MASKED = -1


def masked(mask: list[list[int]], edges) -> list[list[int]]:
    """An n × n edge mask with MASKED where i != j and there is no edge i -> j (CLRS's `adj`,
    which holds the diagonal, is where an entry counts)."""
    present = set(map(tuple, edges))
    return [[x if i == j or (i, j) in present else MASKED for j, x in enumerate(row)]
            for i, row in enumerate(mask)]


def encode(kind: str, value, n: int, edges):
    """One result in CLRS's encoding, by its nclang type: a node pointer (none -> v), a pair
    pointer (none -> i), a mask (0/1), an edge mask (n × n, 1 at u, v for each true edge u -> v),
    a pair mask (0/1); anything else, which CLRS has no output for, as it is."""
    if kind == "node[node]":
        return [v if p is None else p for v, p in enumerate(value)]
    if kind == "pair[node]":
        return [[i if p is None else p for p in row] for i, row in enumerate(value)]
    if kind in ("node[bool]", "pair[bool]"):
        return _bits(value)
    if kind == "edge[bool]":
        mask = [[0] * n for _ in range(n)]
        for (u, v), flag in zip(edges, value):
            if flag:
                mask[u][v] = 1
        return mask
    return value


def _bits(value):
    if isinstance(value, list):
        return [_bits(x) for x in value]
    return int(value)

