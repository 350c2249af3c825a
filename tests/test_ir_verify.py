"""`ir.verify` rejects IR that breaks an invariant the passes after lowering rely on, with an
internal error that names the offending op and the source span it was lowered from; every
lowered program passes it (tests/test_ir.py)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nclang.compiler import ir
from nclang.compiler.lower import lower
from nclang.dsl import types as T
from nclang.dsl.checker import check_source

STDLIB = Path(__file__).resolve().parents[1] / "stdlib"


def stdlib_ir(path: str) -> ir.Program:
    file = STDLIB / path
    (checked,) = check_source(file.read_text(), str(file))
    return lower(checked)


def _map_ops(ops, fn):
    """`ops` with `fn` applied to every op, loop bodies and fold functions included (`fn`
    returns a list of ops in place of one)."""
    out = []
    for op in ops:
        if isinstance(op, ir.Loop):
            op = dataclasses.replace(op, body=_map_ops(op.body, fn))
        elif isinstance(op, ir.Fold) and isinstance(op.op, ir.Function):
            op = dataclasses.replace(op, op=dataclasses.replace(op.op,
                                                                body=_map_ops(op.op.body, fn)))
        out.extend(fn(op))
    return tuple(out)


def _broken(program: ir.Program, fn) -> ir.Program:
    return dataclasses.replace(program, ops=_map_ops(program.ops, fn))


def _refused(program: ir.Program, words: str, op_text: str, line: int) -> ir.IRError:
    with pytest.raises(ir.IRError) as info:
        ir.verify(program)
    message = str(info.value)
    assert words in message
    assert op_text in message
    assert f".ncl:{line}:" in message.splitlines()[0]
    assert "internal error" in message
    return info.value


def _line_of(path: str, text: str) -> int:
    lines = (STDLIB / path).read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if text in line)


def test_a_value_read_before_its_definition_is_refused_at_the_reader():
    program = stdlib_ir("graph/bfs.ncl")
    (loop,) = [op for op in program.ops if isinstance(op, ir.Loop)]
    gather, agg, rest = loop.body[0], loop.body[1], loop.body[2:]
    assert isinstance(gather, ir.EdgeGather) and isinstance(agg, ir.Aggregate)
    swapped = dataclasses.replace(loop, body=(agg, gather) + rest)
    bad = dataclasses.replace(program, ops=tuple(swapped if op is loop else op
                                                 for op in program.ops))
    err = _refused(bad, f"{gather.out} is read before it is defined", "neighbour_aggregate",
                   _line_of("graph/bfs.ncl", "any(reached[u]"))
    assert err.op is agg


def test_a_value_defined_twice_is_refused():
    program = stdlib_ir("graph/list_ranking.ncl")
    first = next(op for op in ir.walk(program.ops) if isinstance(op, ir.Gather))
    bad = _broken(program, lambda op: [op, op] if op is first else [op])
    _refused(bad, f"{first.out} is defined again", "pointer_gather", first.span.line)


def test_an_operand_on_another_domain_is_refused():
    program = stdlib_ir("bits/add.ncl")
    a = program.ops[0].out  # input a, on range(k)
    target = next(op for op in program.ops if isinstance(op, ir.Local) and op.op == "and"
                  and op.out.domain != a.domain)
    bad = _broken(program, lambda op: [dataclasses.replace(op, args=(op.args[0], a))]
                  if op is target else [op])
    _refused(bad, f"operand {a} is not on the output domain", "= and ", target.span.line)


def test_a_gather_whose_static_flag_is_wrong_is_refused():
    wiring = stdlib_ir("seq/reverse.ncl")
    (gather,) = [op for op in wiring.ops if isinstance(op, ir.Gather)]
    bad = _broken(wiring, lambda op: [dataclasses.replace(op, static=False)]
                  if op is gather else [op])
    _refused(bad, "a gather with static indices not marked static", "pointer_gather",
             gather.span.line)
    pointers = stdlib_ir("graph/list_ranking.ncl")
    bad = _broken(pointers, lambda op: [dataclasses.replace(op, static=True)]
                  if isinstance(op, ir.Gather) else [op])
    _refused(bad, "marked static with input-dependent indices", "reindex",
             _line_of("graph/list_ranking.ncl", "rank[nx[v]]"))


def test_an_aggregate_whose_output_domain_does_not_follow_from_its_body_is_refused():
    program = stdlib_ir("graph/closure.ncl")
    agg = next(op for op in ir.walk(program.ops) if isinstance(op, ir.Aggregate))
    out = dataclasses.replace(agg.out, domain=(ir.NODE,))
    bad = _broken(program, lambda op: [dataclasses.replace(op, out=out)] if op is agg else [op])
    _refused(bad, "the output is on (node), not (node, node)", "nodes_aggregate",
             agg.span.line)


def test_a_condition_that_is_not_a_bool_is_refused():
    program = stdlib_ir("seq/hist.ncl")
    agg = next(op for op in ir.walk(program.ops) if isinstance(op, ir.Aggregate))
    # a well-formed int on the condition's domain, put in the condition's place
    top = ir.max_value_id(program)
    one = ir.Const(ir.Value(top + 1, (), T.Int(1, 1)), 1, agg.span)
    ones = ir.Broadcast(ir.Value(top + 2, agg.cond.domain, T.Int(1, 1)), one.out, (), agg.span)
    bad = _broken(program, lambda op: [one, ones, dataclasses.replace(op, cond=ones.out)]
                  if op is agg else [op])
    _refused(bad, "a non-bool condition", "attention_aggregate count", agg.span.line)


def test_a_result_that_no_top_level_op_defines_is_refused():
    program = stdlib_ir("graph/bfs.ncl")
    (loop,) = [op for op in program.ops if isinstance(op, ir.Loop)]
    inner = loop.body[-1].out  # defined inside the loop: not visible after it
    bad = dataclasses.replace(program, results=(("reached", inner),))
    with pytest.raises(ir.IRError, match=f"result 'reached' is {inner}, which no top-level op"):
        ir.verify(bad)


def test_a_carried_value_that_changes_domain_is_refused():
    program = stdlib_ir("graph/bfs.ncl")
    (loop,) = [op for op in program.ops if isinstance(op, ir.Loop)]
    (c,) = loop.carried
    out = dataclasses.replace(c.out, domain=(ir.NODE, ir.NODE))
    bad_loop = dataclasses.replace(loop, carried=(dataclasses.replace(c, out=out),))
    bad = dataclasses.replace(program, ops=tuple(bad_loop if op is loop else op
                                                 for op in program.ops),
                              results=(("reached", out),))
    _refused(bad, "reached changes domain across the loop", "loop n - 1 until stable",
             loop.span.line)


def test_verify_returns_a_valid_program_unchanged():
    program = stdlib_ir("bits/add.ncl")
    assert ir.verify(program) is program
