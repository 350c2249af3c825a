"""The abstract syntax tree: frozen dataclasses, each carrying the source span it came from.

Spans are excluded from equality and hashing, so two trees compare equal when they mean the same
program, wherever the text stood (this is what `parse(pretty(ast)) == ast` relies on).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Span:
    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def unknown(file: str = "<unknown>") -> "Span":
        return Span(file, 1, 1, 1, 1)


NOSPAN = Span.unknown()


def _span() -> Span:
    return field(default=NOSPAN, compare=False, repr=False)


# ---------------------------------------------------------------- type expressions (syntax)

@dataclass(frozen=True)
class BoolType:
    span: Span = _span()


@dataclass(frozen=True)
class IntType:
    """`int[lo..hi]`; bounds are Python ints or ±float('inf'); `int` alone has lo = hi = None."""
    lo: int | float | None = None
    hi: int | float | None = None
    span: Span = _span()


@dataclass(frozen=True)
class FracType:
    span: Span = _span()


@dataclass(frozen=True)
class TokenType:
    span: Span = _span()


@dataclass(frozen=True)
class PositionType:
    """A position of a sequence as a value (an argmin over positions), or none."""
    span: Span = _span()


@dataclass(frozen=True)
class NodeType:
    """A node identifier as a value (a pointer), e.g. the elements of `node[node]`."""
    span: Span = _span()


@dataclass(frozen=True)
class GraphType:
    span: Span = _span()


@dataclass(frozen=True)
class BitsType:
    size: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class FieldType:
    """`node[T]`, `edge[T]`, `pair[T]` or `seq[T]`."""
    kind: str
    elem: "TypeExpr"
    span: Span = _span()


@dataclass(frozen=True)
class VecType:
    """`vec[T, SIZE]`: a fixed-length vector over `range(SIZE)`."""
    elem: "TypeExpr"
    size: "Expr"
    span: Span = _span()


TypeExpr = Union[BoolType, IntType, FracType, TokenType, NodeType, PositionType, GraphType,
                 BitsType, FieldType, VecType]


# ---------------------------------------------------------------- expressions

@dataclass(frozen=True)
class IntLit:
    value: int
    span: Span = _span()


@dataclass(frozen=True)
class BoolLit:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class InfLit:
    span: Span = _span()


@dataclass(frozen=True)
class NoneLit:
    span: Span = _span()


@dataclass(frozen=True)
class StrLit:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = _span()


@dataclass(frozen=True)
class Neg:
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    operand: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class BinOp:
    """Arithmetic: op is one of + - * / // %."""
    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Compare:
    """op is one of == != < <= > >= (comparisons do not chain)."""
    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class BoolOp:
    """op is one of and, or, xor."""
    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class IfExpr:
    """`then if cond else orelse`."""
    then: "Expr"
    cond: "Expr"
    orelse: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    base: "Expr"
    indices: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    """A call of a builtin (`min`, `max`, `edge`, `ceil`, `log2`, …) or of a user `def`."""
    func: str
    args: tuple["Expr", ...]
    span: Span = _span()
    func_span: Span = _span()


@dataclass(frozen=True)
class Comprehension:
    """`agg(body for var in domain if cond)`."""
    agg: str
    body: "Expr"
    var: str
    domain: "Domain"
    cond: "Expr | None" = None
    span: Span = _span()
    agg_span: Span = _span()
    var_span: Span = _span()


@dataclass(frozen=True)
class Fold:
    """`scan(op, xs)` (inclusive prefixes) or `reduce(op, xs)`; op a builtin or a `def` name."""
    kind: str
    op: str
    arg: "Expr"
    span: Span = _span()
    op_span: Span = _span()


Expr = Union[IntLit, BoolLit, InfLit, NoneLit, StrLit, Name, Neg, Not, BinOp, Compare, BoolOp,
             IfExpr, Index, Call, Comprehension, Fold]


# ---------------------------------------------------------------- domains

@dataclass(frozen=True)
class Nodes:
    span: Span = _span()


@dataclass(frozen=True)
class Edges:
    """Every edge, in the order of the input's edge list (an indexed assignment's binder)."""
    span: Span = _span()


@dataclass(frozen=True)
class Positions:
    span: Span = _span()


@dataclass(frozen=True)
class Range:
    size: Expr
    span: Span = _span()


@dataclass(frozen=True)
class In:
    """In-neighbours of a node: one element per incoming edge (duplicates kept)."""
    of: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Out:
    of: Expr
    span: Span = _span()


Domain = Union[Nodes, Edges, Positions, Range, In, Out]


# ---------------------------------------------------------------- statements

@dataclass(frozen=True)
class Binder:
    name: str
    domain: Domain | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Assign:
    target: str
    value: Expr
    span: Span = _span()
    target_span: Span = _span()


@dataclass(frozen=True)
class IndexedAssign:
    target: str
    binders: tuple[Binder, ...]
    value: Expr
    span: Span = _span()
    target_span: Span = _span()


@dataclass(frozen=True)
class Repeat:
    count: Expr
    until_stable: bool
    body: tuple["Stmt", ...]
    span: Span = _span()


@dataclass(frozen=True)
class Return:
    values: tuple[Expr, ...]
    span: Span = _span()


Stmt = Union[Assign, IndexedAssign, Repeat, Return]


# ---------------------------------------------------------------- top level

@dataclass(frozen=True)
class Param:
    name: str
    type: TypeExpr
    span: Span = _span()


@dataclass(frozen=True)
class Program:
    name: str
    params: tuple[Param, ...]
    results: tuple[TypeExpr, ...]
    declared_class: str | None
    body: tuple[Stmt, ...]
    span: Span = _span()
    name_span: Span = _span()
    class_span: Span = _span()


@dataclass(frozen=True)
class Def:
    """A pure scalar function, inlined where it is called."""
    name: str
    params: tuple[Param, ...]
    result: TypeExpr
    body: tuple[Stmt, ...]
    span: Span = _span()
    name_span: Span = _span()


@dataclass(frozen=True)
class Module:
    items: tuple[Program | Def, ...]
    span: Span = _span()

    @property
    def programs(self) -> tuple[Program, ...]:
        return tuple(i for i in self.items if isinstance(i, Program))

    @property
    def defs(self) -> tuple[Def, ...]:
        return tuple(i for i in self.items if isinstance(i, Def))


def walk(node):
    """Every AST node in `node` (a node or a tuple of nodes), itself included; spans excluded."""
    if isinstance(node, tuple):
        for x in node:
            yield from walk(x)
    elif dataclasses.is_dataclass(node) and not isinstance(node, (Span, type)):
        yield node
        for f in dataclasses.fields(node):
            yield from walk(getattr(node, f.name))
