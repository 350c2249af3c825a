"""`verify`: the structural invariants of an IR program, which every pass and target relies on.

A violation is a compiler bug, not a user error: `IRError` (an internal error, exit status 70 in
the CLI) names the offending op as `format_ir` prints it and the source span it was lowered from.

What is checked:
- SSA: every value is defined once, by one op; ids are positive and unique; every operand is
  defined before it is read, in its own region or an enclosing one (a loop body sees the loop's
  carried parameters, a fold function only its own parameters and values); the results are
  top-level values.
- domains: each op's operands sit on the domains its docstring says (pointwise ops on the output
  domain, wiring that names valid output axes of matching kind and size, an aggregate's output
  domain derived from its body domain, one-axis folds, carried values on one domain throughout).
- types: every value's type is a scalar; booleans where an op needs them (conditions, `and`,
  the guard of `select`), comparisons and `any`/`all` give booleans, constants of their type.
- flags derived from the program agree with it: a `Gather` is marked `static` exactly when its
  indices are static values.
"""
from __future__ import annotations

from typing import get_args

import sympy

from nclang.dsl import ast as A
from nclang.dsl import types as T

from . import nodes as I
from .printing import format_op
from .sizes import size_symbol

_SCALARS = (T.Bool, T.Int, T.Frac, T.Token, T.Index, T.NoneType)
_AXIS_KINDS = ("node", "edge", "pos", "range")


class IRError(Exception):
    """The IR breaks one of its invariants: a bug in the pass that built it."""

    def __init__(self, what: str, op=None, span: A.Span = A.NOSPAN):
        where = f"{span.file}:{span.line}:{span.col}: " if span is not A.NOSPAN else ""
        shown = ""
        if op is not None:
            shown = "\n    " + "\n    ".join(format_op(op, "")[:3])
        super().__init__(f"{where}internal error: invalid IR: {what}{shown}")
        self.what, self.op, self.span = what, op, span


def verify(program: I.Program) -> I.Program:
    """Raise `IRError` at the first broken invariant of `program`; return it unchanged."""
    _Verifier(program).run()
    return program


class _Verifier:
    def __init__(self, program: I.Program):
        self.program = program
        self.ids: dict[int, I.Value] = {}
        self.static = I.static_values(program.ops)

    def run(self) -> None:
        visible = self.region(self.program.ops, set(), None)
        names = set()
        for name, v in self.program.results:
            if v not in visible:
                raise IRError(f"result {name!r} is {v}, which no top-level op defines",
                              span=self.program.span)
            if name in names:
                raise IRError(f"two results are named {name!r}", span=self.program.span)
            names.add(name)

    # ---- regions and definitions

    def region(self, ops, visible: set, owner) -> set:
        """Check `ops` reading from `visible` (values of enclosing regions); return `visible`
        with what they define."""
        visible = set(visible)
        for op in ops:
            if not isinstance(op, get_args(I.Op)):
                raise IRError(f"{type(op).__name__} is not an op",
                              span=getattr(owner, "span", A.NOSPAN))
            # a loop's body reports its own reads, at the op that reads
            reads = [c.init for c in op.carried if c.init is not None] \
                if isinstance(op, I.Loop) else I.operands(op)
            for v in reads:
                if v not in visible:
                    raise IRError(f"{v} is read before it is defined", op, _span(op))
            self.op(op, visible)
            for v in I.outputs(op):
                self.define(v, op)
                visible.add(v)
        return visible

    def define(self, v, op) -> None:
        if not isinstance(v, I.Value):
            raise IRError(f"defines {v!r}, which is not a value", op, _span(op))
        if v.id <= 0:
            raise IRError(f"{v} has an id below 1", op, _span(op))
        if v.id in self.ids:
            same = "again" if self.ids[v.id] == v else "for a second, different value"
            raise IRError(f"{v} is defined {same}", op, _span(op))
        self.ids[v.id] = v
        if not isinstance(v.type, _SCALARS):
            raise IRError(f"{v} has type {v.type}, not a scalar type", op, _span(op))
        for axis in v.domain:
            if not isinstance(axis, I.Axis) or axis.kind not in _AXIS_KINDS:
                raise IRError(f"{v} has a domain axis {axis!r}", op, _span(op))
            self.formula(axis.size, op, f"the size of axis {axis}")

    def formula(self, expr, op, what: str) -> None:
        if not isinstance(expr, sympy.Expr):
            raise IRError(f"{what} is {expr!r}, not a size formula", op, _span(op))
        for s in expr.free_symbols:
            if s is not size_symbol(s.name):
                raise IRError(f"{what} uses {s}, not a size variable's symbol", op, _span(op))

    # ---- one op

    def op(self, op, visible: set) -> None:
        span = _span(op)

        def need(ok: bool, what: str) -> None:
            if not ok:
                raise IRError(what, op, span)

        match op:
            case I.Input(out=out, role=role):
                need(role in ("param", "adjacency"), f"unknown input role {role!r}")
                if role == "adjacency":
                    need(out.domain == (I.NODE, I.NODE) and _kind(out) == "bool",
                         "the adjacency is not a (node, node) bool field")
            case I.Const(out=out, value=value):
                need(out.domain == (), "a constant off the global domain")
                need(_const_fits(value, out.type), f"constant {value!r} of type {out.type}")
            case I.Size(out=out, expr=expr):
                need(out.domain == () and _kind(out) == "int", "a size off the global domain "
                                                               "or not an int")
                self.formula(expr, op, "the size")
            case I.Iota(out=out):
                need(len(out.domain) == 1, "an index of a domain with other than one axis")
                need(_kind(out) == "index", "an index value not typed as an index")
            case I.Local():
                self.local(op, need)
            case I.Broadcast(out=out, arg=arg, axes=axes):
                self.wiring(out, arg, axes, (None,) * len(axes), need)
                need(_kind(out) == _kind(arg), f"broadcast of a {_kind(arg)} gives a "
                                               f"{_kind(out)}")
            case I.EdgeGather(out=out, arg=arg, axes=axes, endpoints=ends):
                need(len(ends) == len(axes), "one endpoint per operand axis")
                self.wiring(out, arg, axes, ends, need)
                need(_kind(out) == _kind(arg), f"edge gather of a {_kind(arg)} gives a "
                                               f"{_kind(out)}")
            case I.Gather(out=out, table=table, index=index, static=static):
                need(len(index) == len(table.domain) >= 1, "one index per table axis")
                for ix in index:
                    need(ix.domain == out.domain, f"index {ix} is not on the output domain")
                    need(_kind(ix) in ("index", "int"), f"index {ix} is a {_kind(ix)}")
                need(_kind(out) == _kind(table), f"a gather from a {_kind(table)} gives a "
                                                 f"{_kind(out)}")
                want = all(ix in self.static for ix in index)
                need(static == want, "a gather marked static with input-dependent indices"
                     if static else "a gather with static indices not marked static")
            case I.Aggregate():
                self.aggregate(op, need)
            case I.Fold():
                self.fold(op, need)
            case I.Loop():
                self.loop(op, visible, need)

    def local(self, op: I.Local, need) -> None:
        need(op.op in I.LOCAL_OPS, f"unknown pointwise op {op.op!r}")
        arity = I.LOCAL_OPS[op.op]
        need(len(op.args) == arity if arity is not None else len(op.args) >= 2,
             f"{op.op} of {len(op.args)} operands")
        for a in op.args:
            need(a.domain == op.out.domain, f"operand {a} is not on the output domain")
        kinds = [_kind(a) for a in op.args]
        if op.op in I.COMPARISONS or op.op in ("and", "or", "xor", "not"):
            need(_kind(op.out) == "bool", f"{op.op} gives a {_kind(op.out)}")
        if op.op in ("and", "or", "xor", "not"):
            need(all(k == "bool" for k in kinds), f"{op.op} of a non-bool operand")
        if op.op == "select":
            need(kinds[0] == "bool", "select guarded by a non-bool")
        if op.op in ("add", "sub", "mul", "div", "floordiv", "mod", "neg", "abs"):
            need("token" not in kinds, f"{op.op} of a token")

    def wiring(self, out, arg, axes, ends, need) -> None:
        need(len(axes) == len(arg.domain), "one output axis per operand axis")
        for i, (a, end) in enumerate(zip(axes, ends)):
            need(0 <= a < len(out.domain), f"operand axis {i} reads output axis {a}, which "
                                           f"{out} does not have")
            if end is None:
                need(arg.domain[i] == out.domain[a], f"operand axis {i} ({arg.domain[i]}) "
                                                     f"reads output axis {a} "
                                                     f"({out.domain[a]})")
            else:
                need(end in ("src", "dst"), f"unknown endpoint {end!r}")
                need(arg.domain[i] == I.NODE and out.domain[a] == I.EDGE,
                     f"the {end} of operand axis {i} is not a node axis read at an edge axis")

    def aggregate(self, op: I.Aggregate, need) -> None:
        need(op.agg in I.AGGREGATORS, f"unknown aggregation {op.agg!r}")
        parts = [v for v in (op.body, op.cond, op.elem) if v is not None]
        need(bool(parts), "an aggregation of nothing")
        dom = parts[0].domain
        need(all(v.domain == dom for v in parts), "body, condition and element on different "
                                                  "domains")
        need(0 <= op.axis < len(dom), f"reduces axis {op.axis} of a {len(dom)}-axis domain")
        need(op.cond is None or _kind(op.cond) == "bool", "a non-bool condition")
        need((op.body is None) == (op.agg == "count"), "count takes no body; every other "
                                                       "aggregation one")
        need((op.elem is not None) == (op.agg in ("argmin", "argmax")),
             "argmin and argmax take an element; no other aggregation does")
        if op.group is None:
            want = dom[:op.axis] + dom[op.axis + 1:]
        else:
            need(op.group in ("src", "dst"), f"unknown group {op.group!r}")
            need(dom[op.axis] == I.EDGE, "a neighbour aggregation over a non-edge axis")
            want = dom[:op.axis] + (I.NODE,) + dom[op.axis + 1:]
        need(op.out.domain == want, f"the output is on {I.format_domain(op.out.domain)}, "
                                    f"not {I.format_domain(want)}")
        result = {"any": "bool", "all": "bool", "count": "int", "argmin": "index",
                  "argmax": "index"}.get(op.agg)
        need(result is None or _kind(op.out) == result,
             f"{op.agg} gives a {_kind(op.out)}, not a {result}")
        if op.agg in ("any", "all"):
            need(_kind(op.body) == "bool", f"{op.agg} of a {_kind(op.body)}")

    def fold(self, op: I.Fold, need) -> None:
        need(op.kind in ("scan", "reduce"), f"unknown fold {op.kind!r}")
        need(len(op.arg.domain) == 1, "a fold over other than one axis")
        want = op.arg.domain if op.kind == "scan" else ()
        need(op.out.domain == want, "a fold's output on the wrong domain")
        if isinstance(op.op, I.Function):
            f = op.op
            need(len(f.params) == 2, f"fold function {f.name} takes {len(f.params)} "
                                     "parameters")
            for p in f.params:
                need(p.domain == (), f"parameter {p} off the global domain")
                self.define(p, op)
            inner = self.region(f.body, set(f.params), op)
            need(f.result in inner, f"{f.name} yields {f.result}, which it does not define")
            need(f.result.domain == (), f"{f.name} yields a value off the global domain")
            for inner_op in I.walk(f.body):
                for v in I.outputs(inner_op):
                    need(v.domain == (), f"{v} in {f.name} is off the global domain")
        else:
            need(op.op in I.FOLD_BUILTINS, f"unknown fold operator {op.op!r}")
            if op.op in ("xor", "and", "or"):
                need(_kind(op.arg) == "bool", f"{op.op} folds a {_kind(op.arg)}")

    def loop(self, op: I.Loop, visible: set, need) -> None:
        self.formula(op.count, op, "the trip count")
        names = [c.name for c in op.carried]
        need(len(set(names)) == len(names), "a variable carried twice")
        params = set()
        for c in op.carried:
            need((c.init is None) == (c.param is None),
                 f"{c.name} has an init without a parameter, or the reverse")
            for v in (c.init, c.param, c.next):
                need(v is None or v.domain == c.out.domain,
                     f"{c.name} changes domain across the loop ({v})")
            if c.param is not None:
                self.define(c.param, op)
                params.add(c.param)
        inner = self.region(op.body, visible | params, op)
        for c in op.carried:
            need(c.next in inner, f"the next value of {c.name}, {c.next}, is not defined by "
                                  "the body or before the loop")


def _kind(v: I.Value) -> str:
    if isinstance(v.type, T.NoneType):
        return "index"
    return T.scalar_kind(v.type)


def _const_fits(value, t) -> bool:
    if value is None:
        return isinstance(t, (T.NoneType, T.Index))
    if isinstance(value, bool):
        return isinstance(t, T.Bool)
    if isinstance(value, str):
        return isinstance(t, T.Token)
    if isinstance(value, float):
        return value in (float("inf"), float("-inf")) and isinstance(t, (T.Int, T.Frac))
    if isinstance(value, int):
        return isinstance(t, (T.Int, T.Frac, T.Index))
    return False


def _span(op) -> A.Span:
    return getattr(op, "span", A.NOSPAN)
