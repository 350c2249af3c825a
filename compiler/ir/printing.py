"""The IR as text (`nclang check --ir`): one op per line, `%id: (domain) type = op operands`."""
from __future__ import annotations

import math

from .nodes import (Aggregate, Broadcast, Const, EdgeGather, Fold, Function, Gather, Input, Iota,
                    Local, Loop, Op, Program, Size, Value, format_domain)
from .sizes import format_size


def _scalar_type(t) -> str:
    return str(t)


def _fmt_value(v: Value) -> str:
    dom = format_domain(v.domain) if v.domain else "()"
    return f"%{v.id}: {dom} {_scalar_type(v.type)}"


def _fmt_const(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def format_op(op: Op, indent: str) -> list[str]:
    """The lines of one op (a loop or a fold function with its body), each after `indent`."""
    match op:
        case Input(out=out, name=name, role=role):
            what = "adjacency" if role == "adjacency" else f"input {name}"
            return [f"{indent}{_fmt_value(out)} = {what}"]
        case Const(out=out, value=value):
            return [f"{indent}{_fmt_value(out)} = const {_fmt_const(value)}"]
        case Size(out=out, expr=expr):
            return [f"{indent}{_fmt_value(out)} = size {format_size(expr)}"]
        case Iota(out=out):
            return [f"{indent}{_fmt_value(out)} = index"]
        case Local(out=out, op=name, args=args):
            return [f"{indent}{_fmt_value(out)} = {name} {', '.join(map(str, args))}"]
        case Broadcast(out=out, arg=arg, axes=axes):
            return [f"{indent}{_fmt_value(out)} = broadcast {arg} axes {list(axes)}"]
        case EdgeGather(out=out, arg=arg, axes=axes, endpoints=ends):
            reads = ", ".join(f"{e}(#{a})" if e else f"#{a}" for a, e in zip(axes, ends))
            return [f"{indent}{_fmt_value(out)} = edge_gather {arg} [{reads}]"]
        case Gather(out=out, table=table, index=index, static=static):
            kind = "reindex" if static else "pointer_gather"
            return [f"{indent}{_fmt_value(out)} = {kind} {table}[{', '.join(map(str, index))}]"]
        case Aggregate(out=out):
            parts = [f"{op.agg}", f"over #{op.axis} {op.reduced}"]
            if op.group:
                parts.append(f"at {op.group}")
            for label, v in (("body", op.body), ("if", op.cond), ("elem", op.elem)):
                if v is not None:
                    parts.append(f"{label} {v}")
            return [f"{indent}{_fmt_value(out)} = {op.kind}_aggregate {' '.join(parts)}"]
        case Fold(out=out, kind=kind, op=fop, arg=arg):
            if isinstance(fop, Function):
                lines = [f"{indent}{_fmt_value(out)} = {kind} {fop.name}({fop.params[0]}, "
                         f"{fop.params[1]}) {arg} {{"]
                for inner in fop.body:
                    lines += format_op(inner, indent + "    ")
                return lines + [f"{indent}    yield {fop.result}", f"{indent}}}"]
            return [f"{indent}{_fmt_value(out)} = {kind} {fop} {arg}"]
        case Loop():
            until = " until stable" if op.until_stable else ""
            carried = ", ".join(
                f"{c.name}: {c.param if c.param else '_'} = {c.init if c.init else '_'}"
                for c in op.carried)
            lines = [f"{indent}loop {format_size(op.count)}{until} ({carried}) {{"]
            for inner in op.body:
                lines += format_op(inner, indent + "    ")
            lines.append(f"{indent}    next "
                         + ", ".join(f"{c.name} = {c.next}" for c in op.carried))
            outs = ", ".join(_fmt_value(c.out) for c in op.carried)
            return lines + [f"{indent}}} -> {outs}"]
    raise TypeError(f"not an op: {op!r}")


def format_ir(program: Program) -> str:
    """A readable listing, one op per line: `%id: (domain) type = op operands`."""
    lines = [f"program {program.name} ({program.family})"]
    for op in program.ops:
        lines += format_op(op, "    ")
    lines.append("    return " + ", ".join(f"{name} = {v}" for name, v in program.results))
    return "\n".join(lines) + "\n"


