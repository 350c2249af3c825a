"""The IR: lowering keeps communication explicit, nodes are immutable and carry spans, and what
the lowering builds verifies and means what the program says."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import sympy

from nclang.compiler import ir
from nclang.compiler.lower import _Lowerer, lower
from nclang.dsl.checker import check_source
from nclang.dsl.values import GraphData, Instance

STDLIB = Path(__file__).resolve().parents[1] / "stdlib"


def lowered(text: str) -> ir.Program:
    (checked,) = check_source(text, "<test>")
    return lower(checked)


def stdlib_ir(path: str) -> ir.Program:
    file = STDLIB / path
    (checked,) = check_source(file.read_text(), str(file))
    return lower(checked)


def ops_of(program: ir.Program, kind) -> list:
    return [op for op in ir.walk(program.ops) if isinstance(op, kind)]


def _graph_instance(n, edges, **values):
    src = np.array([u for u, _ in edges], dtype=np.int64)
    dst = np.array([v for _, v in edges], dtype=np.int64)
    return Instance({"n": n, "m": len(edges)}, {k: np.asarray(v) for k, v in values.items()},
                    GraphData(n, src, dst))


def test_bfs_is_message_passing_inside_a_loop_that_may_stop_when_stable():
    program = stdlib_ir("graph/bfs.ncl")
    (loop,) = [op for op in program.ops if isinstance(op, ir.Loop)]
    assert loop.until_stable and loop.count == ir.N - 1
    (carried,) = loop.carried
    (gather,) = [op for op in loop.body if isinstance(op, ir.EdgeGather)]
    (agg,) = [op for op in loop.body if isinstance(op, ir.Aggregate)]
    # the message reads the carried value at each edge's source; the aggregate sums it up at
    # the target, so only communication ops move data between nodes
    assert gather.arg == carried.param and gather.endpoints == ("src",)
    assert agg.kind == "neighbour" and agg.agg == "any" and agg.body == gather.out
    assert {type(op) for op in loop.body} == {ir.EdgeGather, ir.Aggregate, ir.Local}
    # and it means reachability: along 0 -> 1 -> 2, not backwards to 3 -> 0
    inst = _graph_instance(4, [(0, 1), (1, 2), (3, 0)], source=[True, False, False, False])
    assert ir.evaluate(program, inst)["reached"].tolist() == [True, True, True, False]


def test_closure_is_a_triplet_aggregation_over_nodes_repeated_log_n_times():
    program = stdlib_ir("graph/closure.ncl")
    (loop,) = ops_of(program, ir.Loop)
    assert loop.count == sympy.ceiling(ir.log2(ir.N))
    assert any(isinstance(op, ir.Input) and op.role == "adjacency" for op in program.ops)
    (agg,) = ops_of(program, ir.Aggregate)
    assert agg.kind == "nodes" and agg.agg == "any"
    assert agg.body_domain == (ir.NODE, ir.NODE, ir.NODE)
    assert agg.out.domain == (ir.NODE, ir.NODE)
    # a path of 5 nodes needs ceil(log2(5)) = 3 squarings to connect its ends
    inst = _graph_instance(5, [(0, 1), (1, 2), (2, 3), (3, 4)])
    r = ir.evaluate(program, inst)["r"]
    assert r.tolist() == [[j >= i for j in range(5)] for i in range(5)]


def test_hist_counts_with_attention_over_positions():
    program = stdlib_ir("seq/hist.ncl")
    (agg,) = ops_of(program, ir.Aggregate)
    assert agg.kind == "attention" and agg.agg == "count" and agg.body is None
    assert agg.reduced == ir.POS and agg.out.domain == (ir.POS,)
    tokens = np.array(["a", "b", "a", "c", "a"], dtype=object)
    inst = Instance({"n": 5}, {"tokens": tokens})
    assert ir.evaluate(program, inst)["h"].tolist() == [3, 1, 3, 1, 3]


def test_the_printed_ir_shows_every_op_s_values_once_with_their_domain_and_type():
    # `nclang check --ir` shows this text: a value defined by an op prints as `%id: (domain)
    # type`, once; operands (and loop and fold parameters, in their headers) as a bare `%id`
    for path in ("graph/bfs.ncl", "bits/add.ncl", "graph/closure.ncl", "seq/sort.ncl"):
        program = stdlib_ir(path)
        text = ir.format_ir(program)
        shown = re.findall(r"%(\d+): ", text)
        defined = [v for op in ir.walk(program.ops) for v in ir.outputs(op)]
        assert sorted(int(i) for i in shown) == sorted(v.id for v in defined), path
        for v in defined:
            head = f"%{v.id}: {ir.format_domain(v.domain) if v.domain else '()'} {v.type}"
            assert text.count(head) == 1, (path, head)


def test_neighbour_aggregation_groups_edges_at_the_target_for_in():
    program = lowered("""
program p(g: graph, x: node[int[0..9]]) -> node[int] {
    y[v] = sum(x[u] for u in in(v))
    return y
}""")
    (agg,) = ops_of(program, ir.Aggregate)
    assert agg.kind == "neighbour" and agg.group == "dst"
    (gather,) = ops_of(program, ir.EdgeGather)
    assert gather.endpoints == ("src",)


def test_out_of_a_node_value_aggregates_over_all_edges_with_a_condition():
    program = lowered("""
program p(g: graph, s: node) -> node {
    return argmin(u for u in out(s))
}""")
    (agg,) = ops_of(program, ir.Aggregate)
    assert agg.kind == "edges" and agg.cond is not None and agg.elem is not None


def test_pointer_dereference_is_a_dynamic_gather():
    program = stdlib_ir("graph/list_ranking.ncl")
    gathers = ops_of(program, ir.Gather)
    assert gathers and not any(g.static for g in gathers)
    static = ir.static_values(program.ops)
    assert all(not all(i in static for i in g.index) for g in gathers)


def test_index_by_a_loop_counter_is_static_wiring():
    # `i` starts at 0 and counts up: it never depends on the input, so a[i] is a fixed wire.
    program = stdlib_ir("bits/add_ripple.ncl")
    gathers = ops_of(program, ir.Gather)
    assert gathers and all(g.static for g in gathers)


def test_reverse_reads_a_fixed_permutation_of_positions():
    program = stdlib_ir("seq/reverse.ncl")
    (gather,) = ops_of(program, ir.Gather)
    assert gather.static and gather.table.domain == (ir.POS,)


def test_fold_with_a_def_inlines_the_operator():
    program = stdlib_ir("bits/add.ncl")
    (fold,) = ops_of(program, ir.Fold)
    assert fold.kind == "scan" and isinstance(fold.op, ir.Function)
    assert fold.op.name == "carry" and fold.op.body


def test_ir_nodes_are_frozen():
    program = stdlib_ir("graph/bfs.ncl")
    with pytest.raises(dataclasses.FrozenInstanceError):
        program.ops[0].name = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        program.ops[0].out.id = 99


def test_loop_carries_the_span_of_its_repeat():
    program = stdlib_ir("graph/bfs.ncl")
    (loop,) = ops_of(program, ir.Loop)
    source = (STDLIB / "graph/bfs.ncl").read_text().splitlines()
    assert source[loop.span.line - 1].lstrip().startswith("repeat")
    assert all(op.span.line >= 1 for op in ir.walk(program.ops) if hasattr(op, "span"))


def test_every_stdlib_program_lowers_to_ir_that_verifies():
    count = 0
    for file in sorted(STDLIB.glob("*/*.ncl")):
        for checked in check_source(file.read_text(), str(file)):
            program = _Lowerer(checked).program()  # lower() without its own verify call
            assert ir.verify(program) is program
            count += 1
    assert count >= 25


def test_size_int_is_exact_where_floats_round_wrong():
    """Widths, shapes and trip counts come from `ir.size_int`: exact, where the float evaluator
    (kept for comparing formulas) puts ceil(log2(2^40 + 1)) at 40."""
    import sympy
    n, k = ir.size_symbol("n"), ir.size_symbol("k")
    depth = sympy.ceiling(ir.log2(n))
    assert ir.evaluate(depth, {"n": 2**40 + 1}) == 40.0  # the float evaluator's answer
    for x in (1, 2, 3, 4, 5, 2**40, 2**40 + 1, 2**61 - 1):
        assert ir.size_int(depth, {"n": x}) == (x - 1).bit_length()
        assert ir.size_int(sympy.floor(ir.log2(n)), {"n": x}) == x.bit_length() - 1
    assert ir.size_int(sympy.ceiling(ir.log2(k - 1)), {"k": 1}) == 0  # a tree over no leaves
    assert ir.size_int(sympy.Max(3, 2 * n - 1) + sympy.floor(n / 3), {"n": 10}) == 22
    with pytest.raises(ValueError):
        ir.size_int(n / 3, {"n": 10})
