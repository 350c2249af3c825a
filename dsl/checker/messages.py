"""How checker messages show expressions, types, bounds and values, as the user writes them.

Kept apart from `nclang.dsl.pretty` on purpose: a message must be formattable from a half-checked
tree, and `T.Axis.__str__` needs the pretty-printer, which these do not."""
from __future__ import annotations

from .. import ast as A
from .. import types as T
from .names import INF


def _expr_str(e: A.Expr) -> str:
    match e:
        case A.IntLit(value=v):
            return str(v)
        case A.Name(id=x):
            return x
        case A.BinOp(op=op, left=l, right=r):
            return f"{_operand_str(l)} {op} {_operand_str(r)}"
        case A.Call(func=f, args=args):
            return f"{f}({', '.join(_expr_str(a) for a in args)})"
        case A.Neg(operand=o):
            return f"-{_operand_str(o)}"
        case A.InfLit():
            return "inf"
    return "…"


def _operand_str(e: A.Expr) -> str:
    return f"({_expr_str(e)})" if isinstance(e, A.BinOp) else _expr_str(e)


def _axis_str(a: T.Axis) -> str:
    return f"range({_expr_str(a.size)})" if a.kind == "range" else str(a)


def _fmt(t) -> str:
    """A type as the user writes it (`T.Axis.__str__` needs the pretty-printer; this does not)."""
    if isinstance(t, T.Field):
        kinds = tuple(a.kind for a in t.axes)
        name = {("node",): "node", ("pos",): "seq", ("edge",): "edge",
                ("node", "node"): "pair"}.get(kinds)
        if name:
            return f"{name}[{_fmt(t.elem)}]"
        if kinds == ("range",):
            size = _expr_str(t.axes[0].size)
            return f"bits[{size}]" if t.bits else f"vec[{_fmt(t.elem)}, {size}]"
        return f"field over {' × '.join(_axis_str(a) for a in t.axes)} of {_fmt(t.elem)}"
    if isinstance(t, T.Index):
        name = {"node": "node", "pos": "position", "edge": "edge"}.get(t.axis.kind)
        name = name or f"index of {_axis_str(t.axis)}"
        return name + (" or none" if t.optional else "")
    if isinstance(t, T.Int) and (t.lo, t.hi) != (None, None):
        return f"int[{_bound_str(t.lo)}..{_bound_str(t.hi)}]"
    return str(t)


def _bound_str(b) -> str:
    return "?" if b is None else _value_str(b)


def _index_noun(axis: T.Axis) -> str:
    return {"node": "a node index", "pos": "a position", "edge": "an edge index"}.get(
        axis.kind, "a range index")


def _value_str(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v == INF or v == -INF:
        return "inf" if v > 0 else "-inf"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
