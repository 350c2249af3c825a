"""Semantic types, shared by the checker, the interpreter and the compiler.

A value is a scalar (`Bool`, `Int`, `Frac`, `Token`, `Index`) or a field: a scalar per point of a
product of axes (`node[T]` has one node axis, `pair[T]` two, `bits[k]` one `range(k)` axis).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from . import ast as A

INF = float("inf")


@dataclass(frozen=True)
class Axis:
    """One dimension of a field: `node`, `pos` (sequence positions), `edge`, or `range` with a size
    expression (an AST expression over the size variables, compared without spans)."""
    kind: str
    size: A.Expr | None = None

    def __str__(self) -> str:
        if self.kind == "range":
            from .pretty import pretty_expr
            return f"range({pretty_expr(self.size)})"
        return {"node": "nodes", "pos": "positions", "edge": "edges"}[self.kind]


NODE = Axis("node")
POS = Axis("pos")
EDGE = Axis("edge")


@dataclass(frozen=True)
class Bool:
    def __str__(self):
        return "bool"


@dataclass(frozen=True)
class Int:
    """An integer in [lo, hi]; the bounds may be ±inf (then the value itself may be ±inf).
    `lo = hi = None` is the unbounded `int` of a declared result type."""
    lo: int | float | None = None
    hi: int | float | None = None

    def __str__(self):
        if self.lo is None:
            return "int"
        return f"int[{_bound(self.lo)}..{_bound(self.hi)}]"

    @property
    def allows_inf(self) -> bool:
        return self.lo is None or self.hi == INF or self.lo == -INF


def _bound(b) -> str:
    return "inf" if b == INF else "-inf" if b == -INF else str(b)


@dataclass(frozen=True)
class Frac:
    """A rational number (from `/` or `mean`), computed once and correctly rounded."""
    def __str__(self):
        return "frac"


@dataclass(frozen=True)
class Token:
    def __str__(self):
        return "token"


@dataclass(frozen=True)
class Index:
    """An element of an axis used as a value: a node id (`node`), a position, a bit index.
    `optional` when it may be `none` (the result of argmin/argmax/only over nothing)."""
    axis: Axis
    optional: bool = False

    def __str__(self):
        name = {"node": "node", "pos": "position", "edge": "edge"}.get(self.axis.kind)
        name = name or f"index of {self.axis}"
        return name + (" or none" if self.optional else "")


@dataclass(frozen=True)
class NoneType:
    """The type of the literal `none`, compatible with every optional index."""
    def __str__(self):
        return "none"


Scalar = Union[Bool, Int, Frac, Token, Index, NoneType]


@dataclass(frozen=True)
class Field:
    """A scalar per point of `axes`. `bits` marks `bits[k]`, whose JSON form is an unsigned int."""
    axes: tuple[Axis, ...]
    elem: Scalar
    bits: bool = False

    def __str__(self):
        if self.bits:
            return f"bits[{self.axes[0].size and _size(self.axes[0])}]"
        if len(self.axes) == 1 and self.axes[0].kind == "range":
            return f"vec[{self.elem}, {_size(self.axes[0])}]"
        kinds = tuple(a.kind for a in self.axes)
        name = {("node",): "node", ("pos",): "seq", ("edge",): "edge",
                ("node", "node"): "pair"}.get(kinds, "field")
        return f"{name}[{self.elem}]"


def _size(axis: Axis) -> str:
    from .pretty import pretty_expr
    return pretty_expr(axis.size)


@dataclass(frozen=True)
class Graph:
    def __str__(self):
        return "graph"


Type = Union[Scalar, Field, Graph]


def from_syntax(t: A.TypeExpr) -> Type:
    """The semantic type a type expression denotes."""
    match t:
        case A.BoolType():
            return Bool()
        case A.IntType(lo=lo, hi=hi):
            return Int(lo, hi)
        case A.FracType():
            return Frac()
        case A.TokenType():
            return Token()
        case A.NodeType():
            return Index(NODE)
        case A.PositionType():
            return Index(POS)
        case A.GraphType():
            return Graph()
        case A.BitsType(size=size):
            return Field((Axis("range", size),), Bool(), bits=True)
        case A.VecType(elem=elem, size=size):
            return Field((Axis("range", size),), from_syntax(elem))
        case A.FieldType(kind=kind, elem=elem):
            axes = {"node": (NODE,), "edge": (EDGE,), "pair": (NODE, NODE), "seq": (POS,)}[kind]
            return Field(axes, from_syntax(elem))
    raise TypeError(f"not a type expression: {t!r}")


def domain_axis(d: A.Domain) -> Axis:
    """The axis whose elements a domain enumerates (`in(v)`/`out(v)` enumerate nodes)."""
    match d:
        case A.Positions():
            return POS
        case A.Edges():
            return EDGE
        case A.Range(size=size):
            return Axis("range", size)
    return NODE


def scalar_kind(t: Type) -> str:
    """The kind of value `t` (or its element) holds: bool, int, frac, token, or index (node ids,
    positions, bit indices, none). Runtimes and targets pick a value's encoding by it."""
    match t.elem if isinstance(t, Field) else t:
        case Bool():
            return "bool"
        case Int():
            return "int"
        case Frac():
            return "frac"
        case Token():
            return "token"
    return "index"


def is_numeric(t: Type) -> bool:
    return isinstance(t, (Int, Frac))
