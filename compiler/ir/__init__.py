"""The typed dataflow IR: the contract between the lowering and everything after it (the
analyses and the three targets).

- `nodes`: domains, values, ops, programs and their traversals (the meaning of each op is its
  docstring);
- `sizes`: the size variables as sympy symbols, and size formulas (built, printed, evaluated);
- `printing`: the IR as text (`format_ir`);
- `verify`: the structural invariants (`verify`, raising `IRError`);
- `evaluation`: the IR run with numpy on one input, independent of the interpreter and of every
  target;
- `scalar`: each pointwise op on exact integers and tokens, the table the targets tabulate
  gadgets from (`ir.scalar.apply`).

Everything is re-exported here: passes write `from nclang.compiler import ir` and `ir.Loop`.
"""
from __future__ import annotations

from . import evaluation, scalar
from .nodes import (AGGREGATORS, COMMUNICATION, COMPARISONS, EDGE, FOLD_BUILTINS, IDENTITY,
                    LOCAL_OPS, NODE, POS, Aggregate, Axis, Broadcast, Carried, Const, Domain,
                    EdgeGather, Fold, Function, Gather, Input, Iota, Local, Loop, Op, Program,
                    Size, Value, axis_from_type, domain_size, format_domain, free_values,
                    max_value_id, operands, outputs, static_values, walk)
from .printing import format_ir, format_op
from .sizes import (SIZE_SYMBOLS, K, M, N, format_size, is_size_expr, log2, size_formula,
                    size_int, size_symbol, size_value)
from .verify import IRError, verify


def evaluate(what, at):
    """`evaluate(program, instance)`: the results of an IR `Program` on one input (a
    `nclang.dsl.values.Instance`), by `evaluation.run`.

    `evaluate(formula, sizes)`: the numeric value (a float) of a size or cost formula at
    concrete sizes, by `size_value` (the form the analyses and targets compare formulas in)."""
    if isinstance(what, Program):
        return evaluation.run(what, at)
    return size_value(what, at)


__all__ = [
    "AGGREGATORS", "COMMUNICATION", "COMPARISONS", "EDGE", "FOLD_BUILTINS", "IDENTITY",
    "LOCAL_OPS", "NODE", "POS", "SIZE_SYMBOLS", "K", "M", "N",
    "Aggregate", "Axis", "Broadcast", "Carried", "Const", "Domain", "EdgeGather", "Fold",
    "Function", "Gather", "IRError", "Input", "Iota", "Local", "Loop", "Op", "Program", "Size",
    "Value",
    "axis_from_type", "domain_size", "evaluate", "evaluation", "format_domain", "format_ir",
    "format_op", "format_size", "free_values", "is_size_expr", "log2", "max_value_id",
    "operands", "outputs", "scalar", "size_formula", "size_int", "size_symbol", "size_value",
    "static_values", "verify", "walk",
]
