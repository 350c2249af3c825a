"""The IR: lowering keeps communication explicit, nodes are immutable and carry spans."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nclang.compiler import ir
from nclang.compiler.lower import lower
from nclang.dsl.checker import check_source

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


def test_bfs_prints_message_passing_inside_a_loop():
    text = ir.format_ir(stdlib_ir("graph/bfs.ncl"))
    assert "loop n - 1 until stable" in text
    assert "edge_gather" in text
    assert "neighbour_aggregate any" in text


def test_closure_prints_a_triplet_aggregation_over_nodes():
    program = stdlib_ir("graph/closure.ncl")
    text = ir.format_ir(program)
    assert "loop ceil(log2(n))" in text
    assert "adjacency" in text
    (agg,) = ops_of(program, ir.Aggregate)
    assert agg.kind == "nodes" and agg.agg == "any"
    assert agg.body_domain == (ir.NODE, ir.NODE, ir.NODE)
    assert agg.out.domain == (ir.NODE, ir.NODE)


def test_hist_prints_attention_over_positions():
    text = ir.format_ir(stdlib_ir("seq/hist.ncl"))
    assert "attention_aggregate count" in text


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
    assert "pointer_gather" in ir.format_ir(program)


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


def test_every_value_is_defined_before_it_is_used_in_every_stdlib_program():
    for file in sorted(STDLIB.glob("*/*.ncl")):
        for checked in check_source(file.read_text(), str(file)):
            program = lower(checked)
            _defined_before_use(program.ops, set())
            ir.format_ir(program)


def _defined_before_use(ops, defined: set) -> None:
    for op in ops:
        missing = [v for v in ir.operands(op) if v not in defined]
        assert not missing, f"{op} reads undefined {missing}"
        if isinstance(op, ir.Loop):
            inner = set(defined) | {c.param for c in op.carried if c.param is not None}
            _defined_before_use(op.body, inner)
        defined.update(ir.outputs(op))
