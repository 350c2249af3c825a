"""Reads that fail on every input: a field read at a constant index outside the field at the
sizes a compile fixes. Runs on a checked program, after `check_module`."""
from __future__ import annotations

import dataclasses

from .. import ast as A
from .. import types as T
from ..diagnostics import Diagnostic
from .messages import _axis_str, _bound_str, _expr_str
from .module import CheckedProgram
from .names import INF


def reads_outside(checked: CheckedProgram, sizes: dict[str, int]) -> list[Diagnostic]:
    """The reads of a field at an integer index that is outside the field at these sizes for
    every element (`tokens[5]` at n = 4): the interpreter fails on every input there, so a
    compiler refuses them rather than build a network for a program that cannot run. Only reads
    that every run evaluates count: one behind a lazy guard (`i > 0 and tokens[i - 1]`), in a
    branch, a comprehension or a loop body that may run no rounds may never happen."""
    from ..sizes import eval_size
    out = []
    for e in _always_evaluated(checked.program.body):
        if not isinstance(e, A.Index) or id(e.base) not in checked.types:
            continue
        base = checked.types[id(e.base)]
        if not isinstance(base, T.Field) or len(base.axes) != len(e.indices):
            continue
        for axis, ie in zip(base.axes, e.indices):
            t = checked.types.get(id(ie))
            if not isinstance(t, T.Int) or t.lo is None or t.lo in (INF, -INF):
                continue
            if axis.kind in ("node", "pos") and "n" in sizes:
                size, at = sizes["n"], f"n = {sizes['n']}"
            elif axis.kind == "range" and all(x.id in sizes for x in A.walk(axis.size)
                                              if isinstance(x, A.Name)):
                size = eval_size(axis.size, sizes)
                at = ", ".join(f"{k} = {v}" for k, v in sorted(sizes.items()))
            else:
                continue
            if t.lo >= size:
                out.append(Diagnostic.at(
                    ie.span, "index-out-of-range",
                    f"index {_expr_str(ie)}"
                    + ("" if t.lo == t.hi else f" (at least {_bound_str(t.lo)})") + " is outside "
                    f"{_axis_str(axis)} (0..{size - 1}) at {at}: every read of it fails"))
    return out


def _always_evaluated(node):
    """The AST nodes of `node` that every run evaluates: not the lazy operand of `and`/`or`, the
    branches of `a if c else b`, a comprehension's body or filter, or a `repeat` body."""
    if isinstance(node, tuple):
        for x in node:
            yield from _always_evaluated(x)
        return
    if not dataclasses.is_dataclass(node) or isinstance(node, A.Span):
        return
    yield node
    match node:
        case A.BoolOp(left=left):
            yield from _always_evaluated(left)
        case A.IfExpr(cond=cond):
            yield from _always_evaluated(cond)
        case A.Comprehension(domain=domain):
            yield from _always_evaluated(domain)
        case A.Repeat(count=count):
            yield from _always_evaluated(count)
        case _:
            for f in dataclasses.fields(node):
                yield from _always_evaluated(getattr(node, f.name))
