"""One meaning per pointwise op: `ir.scalar.apply` (exact integers, the table the targets build
gadgets from) and `ir.evaluate` (numpy over arrays, what the lowering is tested against) agree on
every `Local` op with an integer meaning, over a grid of operands."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from nclang.compiler import ir
from nclang.dsl import types as T
from nclang.dsl.values import Instance

INTS = range(-3, 4)
BOOLS = (0, 1)
BOOLEAN_OPS = ("and", "or", "xor", "not")


def _operands(op: str) -> list[tuple]:
    arity = ir.LOCAL_OPS[op] or 3  # min and max: three operands
    if op in BOOLEAN_OPS:
        return list(itertools.product(BOOLS, repeat=arity))
    if op == "select":
        return list(itertools.product(BOOLS, INTS, INTS))
    return list(itertools.product(INTS, repeat=arity))


def _program(op: str, kinds: list[T.Type], out: T.Type) -> ir.Program:
    """A program of one op: on a node domain, one point per operand tuple."""
    ins = [ir.Input(ir.Value(i + 1, (ir.NODE,), t), f"x{i}") for i, t in enumerate(kinds)]
    res = ir.Value(len(ins) + 1, (ir.NODE,), out)
    local = ir.Local(res, op, tuple(i.out for i in ins))
    return ir.verify(ir.Program("p", "graph", tuple(ins) + (local,), (("r", res),)))


@pytest.mark.parametrize("op", sorted(set(ir.LOCAL_OPS) - {"div"}))
def test_the_scalar_table_and_the_evaluator_agree(op):
    rows = _operands(op)
    boolean = op in BOOLEAN_OPS
    kinds = [T.Bool() if boolean or (op == "select" and i == 0) else T.Int(-9, 9)
             for i in range(len(rows[0]))]
    out = T.Bool() if boolean or op in ir.COMPARISONS else T.Int(-81, 81)
    values = {f"x{i}": np.array([r[i] for r in rows], dtype=np.bool_ if k == T.Bool()
                                else np.float64) for i, k in enumerate(kinds)}
    got = ir.evaluate(_program(op, kinds, out), Instance({"n": len(rows)}, values))["r"]
    want = [ir.scalar.apply(op, list(r)) for r in rows]
    # where the program would err (x // 0), the table's 0 is a value no input observes
    keep = [not (op in ("floordiv", "mod") and r[1] == 0) for r in rows]
    assert [int(g) for g, k in zip(got.tolist(), keep) if k] == \
        [w for w, k in zip(want, keep) if k]


def test_tokens_compare_as_equal_or_not():
    tokens = ["a", "b"]
    rows = list(itertools.product(tokens, repeat=2))
    for op in ("eq", "ne"):
        prog = _program(op, [T.Token(), T.Token()], T.Bool())
        values = {f"x{i}": np.array([r[i] for r in rows], dtype=object) for i in range(2)}
        got = ir.evaluate(prog, Instance({"n": len(rows)}, values))["r"]
        assert got.tolist() == [bool(ir.scalar.apply(op, list(r))) for r in rows]


def test_an_op_without_an_integer_meaning_is_a_key_error():
    with pytest.raises(KeyError, match="div"):
        ir.scalar.apply("div", [1, 2])
