"""The gnn runtime computes a loop body's loop-invariant ops (those that read no carried value)
once per run of the loop and reuses them in later rounds. Programs whose invariant ops read a
value that an outer loop changes, or that an earlier run of the same inner loop saw, must still
agree with the interpreter: an inner loop's invariants are recomputed at each of its runs."""
from __future__ import annotations

import pytest

from compiled_texts import compile_texts
from nclang.compiler.runtime.gnn_module import _invariant
from nclang.compiler.testing import test_program

PROGRAMS = {
    # the inner body's sum over in-neighbours reads only d: invariant during an inner run,
    # changed by every outer round
    "outer_value_in_inner_loop": """\
program p(g: graph, x: node[int[0..9]]) -> node[int] {
    d[v] = x[v]
    acc[v] = 0
    repeat 3 {
        repeat 2 {
            acc[v] = min(acc[v] + sum(d[u] for u in in(v)), 100)
        }
        d[v] = min(d[v] + 1, 20)
    }
    return acc
}
""",
    # a constant and its broadcast to the edges: invariant, read by a changing message
    "constant_message": """\
program p(g: graph, s: node[bool]) -> node[int] {
    dist[v] = 0 if s[v] else inf
    repeat n - 1 until stable {
        dist[v] = min(dist[v], min(dist[u] + 1 for u in in(v)))
    }
    return dist
}
""",
}


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    return compile_texts(tmp_path_factory.mktemp("invariant"), PROGRAMS)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_reusing_invariant_ops_agrees_with_the_interpreter(nets, name):
    c, net = nets[name]
    result = test_program(c, net, examples=60, seed=11, max_n=6)
    assert result.ok, result.counterexample and result.counterexample.to_json()


def test_an_inner_loop_reuses_an_aggregation_of_an_outer_value(nets):
    _, net = nets["outer_value_in_inner_loop"]
    outer, inner = net.module.loops
    body = {ins["out"]: ins for ins in inner["body"]}
    assert any(body[v]["op"] == "aggregate" for v in _invariant(inner))
    # the inner loop reruns every outer round: nothing it computes is the outer loop's to keep
    inside = set(body) | {c["out"] for c in inner["carried"]}
    assert not inside & _invariant(outer)


def test_only_ops_that_read_no_carried_value_are_invariant(nets):
    _, net = nets["constant_message"]
    (loop,) = net.module.loops
    keep = _invariant(loop)
    params = {c["param"] for c in loop["carried"]}
    body = {ins["out"]: ins for ins in loop["body"]}
    assert keep, "the constant 1 and its broadcast to the edges read nothing that changes"
    for v in keep:
        ins = body[v]
        reads = [ins.get(k) for k in ("arg", "table", "index", "body", "cond", "elem")]
        assert not params & set(reads + ins.get("args", []))
        assert ins["op"] in ("const", "broadcast", "size", "iota")
    # the message and everything after it read dist
    assert {ins["out"] for ins in loop["body"] if ins["op"] in ("mlp", "aggregate")}.isdisjoint(
        keep)
