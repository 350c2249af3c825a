"""Programs that `nclang check --target gnn` accepted but whose compile ended in an internal error
(exit 70) now either compile to a network that agrees with the interpreter on hypothesis-drawn
graphs, or are refused by check and compile alike with one located error (exit 1):

- a loop-carried variable whose values change encoding: it starts finite and may become inf in
  the loop (or the other way round), so its carried channels are the variable's joint (flag,
  value) encoding from the first round on: compiles and agrees;
- a statement whose aggregations open a value over four axes (a pair statement nesting one
  aggregation over nodes in another: n^4 values), past the three the network holds: refused at
  the inner aggregation.
"""
from __future__ import annotations

import pytest

from compiled_texts import compile_texts
from cli_inprocess import cli, headers
from nclang.compiler.testing import test_program

# each: a carried variable whose start, or next value, has another encoding than the variable
CARRIED = {
    # finite start (x), the min over in(v) is +inf at a node with no in-edge
    "becomes_pinf": """\
program p(g: graph, x: node[int[0..9]]) -> node[int] {
    a[v] = x[v]
    repeat 2 { a[v] = min(a[u] for u in in(v)) }
    return a
}
""",
    # the same with max: -inf
    "becomes_ninf": """\
program p(g: graph, x: node[int[0..9]]) -> node[int] {
    a[v] = x[v]
    repeat n { a[v] = max(a[u] for u in in(v)) }
    return a
}
""",
    # a start that may be inf and a finite next value
    "becomes_finite": """\
program p(g: graph, x: node[int[0..9]]) -> node[int] {
    a[v] = min(x[u] for u in in(v))
    repeat 2 { a[v] = x[v] + 1 }
    return a
}
""",
    # the carried value read inside the body before it changes, and a second result
    "read_before_it_changes": """\
program p(g: graph, x: node[int[0..9]]) -> (node[int], node[bool]) {
    a[v] = x[v]
    repeat 2 {
        c[v] = a[v] == 3
        a[v] = min(a[u] for u in in(v))
    }
    return a, c
}
""",
    # a graph-level variable, changed in an inner loop of an outer one
    "nested_global": """\
program p(g: graph, x: node[int[0..9]], s: node[bool]) -> int {
    best = 5
    repeat 2 {
        repeat 2 { best = min(x[v] for v in nodes if s[v]) }
    }
    return best
}
""",
}

# a pair statement whose one open aggregation over nodes reads the edges of its node: three axes
PAIR_THROUGH_EDGES = """\
program p(g: graph, w: edge[int[0..9]]) -> pair[bool] {
    r[i, j] = any(any(w[u, k] > 3 and u == i and k != j for u in in(k)) for k in nodes)
    return r
}
"""

FOUR_AXES = ("the gnn target cannot compute a value over 4 axes (node, node, node, node); its "
             "networks hold values over at most 3 (the statement's own and those of the "
             "aggregations open there: a pair statement may aggregate over one node at a time, "
             "not nest an aggregation over nodes in another)")

# (source, the line and column of the first value over four axes: the inner body, or part of it)
REFUSED = {
    "pair_nested_any": ("""\
program p(g: graph, w: edge[int[0..9]]) -> pair[bool] {
    r[i, j] = any(any(i == k and j == l for l in nodes) for k in nodes)
    return r
}
""", 2, 23),
    "pair_nested_min": ("""\
program p(g: graph) -> pair[int] {
    r[i, j] = min(min(l for l in nodes if edge(i, l) and edge(l, k) and edge(k, j)) for k in nodes)
    return r
}
""", 2, 43),
    "node_three_nested": ("""\
program p(g: graph) -> node[bool] {
    r[v] = any(any(any(edge(v, a) and edge(b, c) for c in nodes) for b in nodes) for a in nodes)
    return r
}
""", 2, 24),
}

COMPILED = {**CARRIED, "pair_through_edges": PAIR_THROUGH_EDGES}


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    return compile_texts(tmp_path_factory.mktemp("exit70"), COMPILED)


@pytest.mark.parametrize("name", sorted(COMPILED))
def test_program_that_check_accepts_compiles_and_agrees_with_the_interpreter(nets, name):
    c, net = nets[name]
    result = test_program(c, net, examples=80, seed=7, max_n=6)
    assert result.ok, result.counterexample and result.counterexample.to_json()


@pytest.mark.parametrize("name", sorted(COMPILED))
def test_check_for_gnn_accepts_what_compiles(name, tmp_path):
    src = tmp_path / f"{name}.ncl"
    src.write_text(COMPILED[name])
    status, _, err = cli("check", "--target", "gnn", src)
    assert (status, headers(err)) == (0, [])


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.parametrize("command", ["check", "compile"])
def test_value_over_four_axes_is_refused_alike_by_check_and_compile(name, command, tmp_path):
    text, line, col = REFUSED[name]
    src = tmp_path / f"{name}.ncl"
    src.write_text(text)
    out = tmp_path / f"{name}.safetensors"
    argv = ["check", "--target", "gnn", src] if command == "check" else ["compile", src, "-o", out]
    status, _, err = cli(*argv)
    assert status == 1
    assert headers(err) == [(str(src), line, col, "error", FOUR_AXES)]
    assert not out.exists()
