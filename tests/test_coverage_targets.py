"""Constructs the gnn and transformer targets used to refuse (issue 12, "Coverage"): each natural
program compiles, and the compiled network, the interpreter and a plain-Python / networkx oracle
agree on drawn inputs, boundary cases included (n = 1, no edges, self-loops, repeated edges)."""
from __future__ import annotations

import random

import networkx as nx
import pytest

from nclang.compiler.driver import compile_file
from nclang.compiler.runtime import load
from nclang.dsl.checker import check_source
from nclang.dsl.interpreter import run as interpret
from nclang.dsl.jsonio import decode, encode


def _build(tmp_path, text: str, name: str = "p", sizes=None):
    path = tmp_path / f"{name}.ncl"
    path.write_text(text)
    (c,) = check_source(text, str(path))
    net = load(compile_file(path, tmp_path / f"{name}.safetensors", sizes=sizes))
    return c, net


def _both(c, net, obj: dict) -> tuple[dict, dict]:
    inst = decode(net.signature, obj, net.sizes, "<test>")
    got = encode(net.signature, net.run([inst])[0])
    want = encode(net.signature, interpret(c, inst))
    return got, want


def _graphs(rng: random.Random, count: int):
    """Random multigraphs, with the boundary cases first."""
    yield 1, []
    yield 1, [[0, 0]]
    yield 2, [[0, 1], [0, 1], [1, 1]]
    yield 3, []
    for _ in range(count):
        n = rng.randint(1, 9)
        m = rng.randint(0, 2 * n + 2)
        yield n, [[rng.randrange(n), rng.randrange(n)] for _ in range(m)]


# ---------------------------------------------------------------- 1. computed edge results

LIGHTEST = """
program lightest_in(g: graph, w: edge[int[0..20]]) -> (edge[bool], edge[int], node[int]) {
    lo[v] = min(w[u, v] for u in in(v))
    light[e in edges] = w[e] == lo[dst(e)]
    heavy[e in edges] = w[e] > 3
    gap[e in edges] = w[e] - min(lo[dst(e)], 20) if src(e) != dst(e) else 0
    return light, gap, lo
}
"""


def test_edge_results_match_networkx(tmp_path):
    c, net = _build(tmp_path, LIGHTEST, "lightest_in")
    rng = random.Random(1)
    for n, edges in _graphs(rng, 40):
        w = [rng.randint(0, 20) for _ in edges]
        obj = {"n": n, "edges": edges, "w": w}
        got, want = _both(c, net, obj)
        assert got == want, obj
        G = nx.MultiDiGraph()
        G.add_nodes_from(range(n))
        for i, (u, v) in enumerate(edges):
            G.add_edge(u, v, key=i, w=w[i])
        lo = [min((d["w"] for _, _, d in G.in_edges(v, data=True)), default="inf")
              for v in range(n)]
        light = [w[i] == lo[v] for i, (u, v) in enumerate(edges)]
        gap = [w[i] - lo[v] if u != v else 0 for i, (u, v) in enumerate(edges)]
        assert got == {"light": light, "gap": gap, "lo": lo}, obj


MST_EDGES = """
// Boruvka's first round: every node marks its lightest incident edge (ties to the smaller edge
// weight, then either endpoint's choice); those edges are in every minimum spanning forest
// when the weights are distinct.
program boruvka_round(g: graph, w: edge[int[0..1000]]) -> edge[bool] {
    lo_in[v] = min(w[u, v] for u in in(v))
    lo_out[v] = min(w[v, u] for u in out(v))
    best[v] = min(lo_in[v], lo_out[v])
    chosen[e in edges] = src(e) != dst(e) and (w[e] == best[src(e)] or w[e] == best[dst(e)])
    return chosen
}
"""


def test_boruvka_edges_are_in_the_networkx_minimum_spanning_tree(tmp_path):
    c, net = _build(tmp_path, MST_EDGES, "boruvka_round")
    rng = random.Random(2)
    for _ in range(40):
        n = rng.randint(1, 9)
        pairs = [(u, v) for u in range(n) for v in range(u + 1, n)]
        rng.shuffle(pairs)
        edges = [list(p) for p in pairs[:rng.randint(0, len(pairs))]]
        w = rng.sample(range(1001), len(edges))  # distinct: the tree is unique
        obj = {"n": n, "edges": edges, "w": w}
        got, want = _both(c, net, obj)
        assert got == want, obj
        G = nx.Graph()
        G.add_nodes_from(range(n))
        G.add_weighted_edges_from((u, v, x) for (u, v), x in zip(edges, w))
        tree = {frozenset(e) for e in nx.minimum_spanning_edges(G, data=False)}
        for (u, v), chosen in zip(edges, got["chosen"]):
            if chosen:
                assert frozenset((u, v)) in tree, obj
        # every node with an edge marks one
        for v in range(n):
            if G.degree(v):
                assert any(ch and v in e for e, ch in zip(edges, got["chosen"])), obj


def test_an_edge_binder_checks_its_uses():
    bad = ("program p(g: graph, w: edge[int[0..9]], x: node[int[0..9]]) -> edge[int] {\n"
           "    t[e in edges] = x[e]\n    return t\n}\n")
    with pytest.raises(Exception, match="an edge index cannot index"):
        check_source(bad, "p.ncl")
    bad = ("program p(g: graph, x: node[node]) -> node[node] {\n"
           "    t[v] = src(x[v])\n    return t\n}\n")
    with pytest.raises(Exception, match="src takes an edge"):
        check_source(bad, "p.ncl")


# ---------------------------------------------------------------- 2. pair reads at computed nodes

def _hops(n, edges):
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(edges)
    return {u: dict(ls) for u, ls in nx.all_pairs_shortest_path_length(G)}


def test_pair_reads_at_node_valued_indices_match_networkx(tmp_path):
    text = """
program hops_to(g: graph, s: node, t: node, p: node[node], x: node[int[0..9]])
        -> (node[int], node[int], int, node[int], node[bool], int) {
    d[i, j] = 0 if i == j else (1 if edge(i, j) else inf)
    repeat ceil(log2(n)) {
        d[i, j] = min(d[i, k] + d[k, j] for k in nodes)
    }
    r[i, j] = d[i, j] < inf
    to_t[i] = d[i, t]
    from_t[i] = d[t, i]
    via[i] = d[i, p[i]]
    back[i] = r[p[i], i]
    return to_t, from_t, d[s, t], via, back, x[t]
}
"""
    c, net = _build(tmp_path, text, "hops_to")
    rng = random.Random(3)
    for n, edges in _graphs(rng, 40):
        obj = {"n": n, "edges": edges, "s": rng.randrange(n), "t": rng.randrange(n),
               "p": [rng.randrange(n) for _ in range(n)],
               "x": [rng.randint(0, 9) for _ in range(n)]}
        got, want = _both(c, net, obj)
        assert got == want, obj
        h = _hops(n, edges)
        s, t, p = obj["s"], obj["t"], obj["p"]

        def dist(a, b, h=h):
            return h[a].get(b, "inf")
        assert got == {"to_t": [dist(i, t) for i in range(n)],
                       "from_t": [dist(t, i) for i in range(n)],
                       "result3": dist(s, t),
                       "via": [dist(i, p[i]) for i in range(n)],
                       "back": [i in h[p[i]] for i in range(n)],
                       "result6": obj["x"][t]}, obj


def test_a_pair_read_at_two_computed_nodes_is_refused_with_its_span(tmp_path):
    text = ("program p(g: graph, q: node[node]) -> node[bool] {\n"
            "    r[i, j] = edge(i, j)\n    y[i] = r[q[i], q[i]]\n    return y\n}\n")
    path = tmp_path / "p.ncl"
    path.write_text(text)
    with pytest.raises(Exception, match=r"p.ncl:3:12: error: the gnn target cannot compute this "
                                        r"read .*two computed nodes"):
        compile_file(path, tmp_path / "p.safetensors")


# ---------------------------------------------------------------- 3. transformer: prefix min/max,
# position comparisons in bodies

N = 8


def _sequences(rng: random.Random, count: int, hi: int = 9):
    for length in range(1, N + 1):  # every length, all equal and strictly rising
        yield [0] * length
        yield list(range(length))
    for _ in range(count):
        yield [rng.randint(0, hi) for _ in range(rng.randint(1, N))]


PREFIX = """
program prefix_extremes(tokens: seq[int[0..9]]) -> (seq[int], seq[int], seq[int]) {
    hi[i] = max(tokens[j] for j in positions if j <= i)
    lo[i] = min(tokens[j] for j in positions if j >= i)
    first_le[i] = min(j for j in positions if j >= i and tokens[j] <= tokens[i])
    return hi, lo, first_le
}
"""
LAST_SAME = """
program last_same(tokens: seq[token]) -> seq[int] {
    same_max[i] = max(j for j in positions if tokens[j] == tokens[i])
    return same_max
}
"""


def test_prefix_conditional_min_max_match_python(tmp_path):
    c, net = _build(tmp_path, PREFIX, "prefix_extremes", {"n": N})
    for xs in _sequences(random.Random(4), 60):
        got, want = _both(c, net, {"tokens": xs})
        assert got == want, xs
        L = len(xs)
        assert got == {
            "hi": [max(xs[:i + 1]) for i in range(L)],
            "lo": [min(xs[i:]) for i in range(L)],
            "first_le": [min(j for j in range(i, L) if xs[j] <= xs[i]) for i in range(L)],
        }, xs
    c, net = _build(tmp_path, LAST_SAME, "last_same", {"n": N})
    for xs in _sequences(random.Random(6), 40, hi=2):
        ts = ["abz"[x % 3] for x in xs]
        got, want = _both(c, net, {"tokens": ts})
        assert got == want == {"same_max": [max(j for j in range(len(ts)) if ts[j] == t)
                                            for t in ts]}, ts


BODIES = """
program before(tokens: seq[int[0..9]]) -> (seq[int], seq[bool], seq[bool], seq[int]) {
    earlier_same[i] = sum(j < i for j in positions if tokens[j] == tokens[i])
    any_later_bigger[i] = any(j > i and tokens[j] > tokens[i] for j in positions)
    all_before_small[i] = all(j >= i or tokens[j] < 5 for j in positions)
    weighted[i] = sum((tokens[j] if j < i else 1) for j in positions)
    return earlier_same, any_later_bigger, all_before_small, weighted
}
"""


def test_bodies_comparing_the_two_positions_match_python(tmp_path):
    c, net = _build(tmp_path, BODIES, "before", {"n": N})
    for xs in _sequences(random.Random(5), 60):
        got, want = _both(c, net, {"tokens": xs})
        assert got == want, xs
        L = len(xs)
        assert got == {
            "earlier_same": [sum(1 for j in range(i) if xs[j] == xs[i]) for i in range(L)],
            "any_later_bigger": [any(xs[j] > xs[i] for j in range(i + 1, L)) for i in range(L)],
            "all_before_small": [all(xs[j] < 5 for j in range(i)) for i in range(L)],
            "weighted": [sum(xs[:i]) + (L - i) for i in range(L)],
        }, xs


def test_a_max_that_may_select_nothing_is_refused_naming_minus_inf(tmp_path):
    text = ("program p(tokens: seq[int[0..9]]) -> seq[int] {\n"
            "    m[i] = max(tokens[j] for j in positions if j < i)\n    return m\n}\n")
    path = tmp_path / "p.ncl"
    path.write_text(text)
    with pytest.raises(Exception, match=r"p.ncl:2:12: .*'max' over a condition that may select "
                                        r"nothing: an empty selection gives -inf"):
        compile_file(path, tmp_path / "p.safetensors", sizes={"n": N})


# ---------------------------------------------------------------- 4. a position or none, returned

ARG = """
program firsts(tokens: seq[int[0..9]]) -> (seq[position], seq[position], position) {
    best_before[i] = argmax(tokens[j] for j in positions if j < i)
    next_zero[i] = argmin(j for j in positions if j > i and tokens[j] == 0)
    return best_before, next_zero, argmin(tokens[j] for j in positions)
}
"""


def test_argmin_over_positions_is_returned_as_an_integer_or_null(tmp_path):
    c, net = _build(tmp_path, ARG, "firsts", {"n": N})
    for xs in _sequences(random.Random(7), 60, hi=3):
        got, want = _both(c, net, {"tokens": xs})
        assert got == want, xs
        L = len(xs)

        def argmax(js, xs=xs):
            js = list(js)
            return max(js, key=lambda k: (xs[k], -k)) if js else None
        assert got == {
            "best_before": [argmax(range(i)) for i in range(L)],
            "next_zero": [next((j for j in range(i + 1, L) if xs[j] == 0), None)
                          for i in range(L)],
            "result3": min(range(L), key=lambda j: (xs[j], j)),
        }, xs


def test_an_argmin_declared_int_says_which_type_to_write():
    text = ("program p(tokens: seq[int[0..9]]) -> seq[int] {\n"
            "    a[i] = argmax(tokens[j] for j in positions if j < i)\n    return a\n}\n")
    with pytest.raises(Exception) as info:
        check_source(text, "p.ncl")
    msg = str(info.value)
    assert "declare it seq[position] (a position or none, written as an integer or null)" in msg
    assert msg.count("wrong result type") == 1


# ---------------------------------------------------------------- 5. scan / reduce on a sequence

FOLDS = """
program folds(tokens: seq[int[0..9]]) -> (seq[int], seq[int], seq[int], seq[bool], seq[bool],
                                         int, int, bool) {
    big[i] = tokens[i] > 4
    running_max = scan(max, tokens)
    running_min = scan(min, tokens)
    running_sum = scan(+, tokens)
    seen_big = scan(or, big)
    all_big = scan(and, big)
    return running_max, running_min, running_sum, seen_big, all_big,
        reduce(max, tokens), reduce(+, tokens), reduce(or, big)
}
"""


def test_scan_and_reduce_on_a_sequence_match_python(tmp_path):
    from itertools import accumulate
    c, net = _build(tmp_path, FOLDS, "folds", {"n": N})
    for xs in _sequences(random.Random(8), 60):
        got, want = _both(c, net, {"tokens": xs})
        assert got == want, xs
        big = [x > 4 for x in xs]
        assert got == {
            "running_max": list(accumulate(xs, max)), "running_min": list(accumulate(xs, min)),
            "running_sum": list(accumulate(xs)), "seen_big": list(accumulate(big, bool.__or__)),
            "all_big": list(accumulate(big, bool.__and__)), "result6": max(xs),
            "result7": sum(xs), "result8": any(big),
        }, xs


def test_a_scan_of_xor_on_a_sequence_is_refused_naming_the_operator(tmp_path):
    text = ("program p(tokens: seq[bool]) -> seq[bool] {\n"
            "    r = scan(xor, tokens)\n    return r\n}\n")
    path = tmp_path / "p.ncl"
    path.write_text(text)
    with pytest.raises(Exception, match=r"p.ncl:2:9: error: the transformer target cannot "
                                        r"compile scan with 'xor'"):
        compile_file(path, tmp_path / "p.safetensors", sizes={"n": N})


# ---------------------------------------------------------------- 5. computed token values

TOKENS = """
program retag(tokens: seq[token]) -> (seq[token], seq[token], seq[int]) {
    masked[i] = "x" if tokens[i] == "a" else tokens[i]
    prev[i] = tokens[i - 1] if i > 0 else "^"
    same[i] = count(j for j in positions if masked[j] == masked[i])
    return masked, prev, same
}
"""


def test_computed_token_values_match_python(tmp_path):
    c, net = _build(tmp_path, TOKENS, "retag", {"n": N})
    for xs in _sequences(random.Random(9), 60, hi=3):
        ts = ["abz^"[x % 4] for x in xs]
        got, want = _both(c, net, {"tokens": ts})
        assert got == want, ts
        masked = ["x" if t == "a" else t for t in ts]
        assert got == {"masked": masked, "prev": ["^"] + ts[:-1],
                       "same": [masked.count(t) for t in masked]}, ts
