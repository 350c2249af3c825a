"""Checked AST → IR (`nclang.compiler.ir`).

Statements become dataflow: an indexed assignment computes a value on its binders' domain from
the values before it, a `repeat` becomes a `Loop` region threading the variables it assigns, and a
`def` is inlined where it is called (or becomes the `Function` of a fold).

While lowering an expression, every axis of the value being built is a *dim*: a binder of the
statement or the variable of an enclosing comprehension. A value is kept on the dims it actually
depends on (a constant stays global) and broadcast only where operands meet. Inside
`for u in in(v)` the comprehension runs over the edges into v: the dim of v is replaced there by
an edge dim, and both `u` and `v` name an endpoint of that edge, so reading `x[u]` is an
`EdgeGather` through the source and `x[v]` one through the target.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError

from . import ir

_ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div", "//": "floordiv", "%": "mod"}
_COMPARE = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
# For `for u in in(v)`: u is the edge's source and v its target; out(v) the other way round.
_ENDPOINTS = {A.In: ("src", "dst"), A.Out: ("dst", "src")}


@dataclass(frozen=True)
class _LV:
    """A value being built, with the dim of each of its axes."""
    value: ir.Value
    dims: tuple[int, ...]


@dataclass(frozen=True)
class _Dim:
    axis: ir.Axis
    taxis: T.Axis


@dataclass(frozen=True)
class _Bind:
    """What a binder or comprehension variable denotes: a dim, or an endpoint of an edge dim."""
    uid: int
    endpoint: str | None = None


@dataclass(frozen=True)
class _Ctx:
    binds: dict[str, _Bind] = field(default_factory=dict)
    locals: dict[str, _LV] = field(default_factory=dict)

    def bind(self, extra: dict[str, _Bind]) -> "_Ctx":
        return _Ctx({**self.binds, **extra}, self.locals)


def _scalar(t: T.Type) -> T.Type:
    return t.elem if isinstance(t, T.Field) else t


def _assigned(stmts) -> list[str]:
    names: dict[str, None] = {}
    for s in stmts:
        if isinstance(s, (A.Assign, A.IndexedAssign)):
            names[s.target] = None
        elif isinstance(s, A.Repeat):
            names.update(dict.fromkeys(_assigned(s.body)))
    return list(names)


class _Lowerer:
    def __init__(self, checked):
        self.c = checked
        self.value_ids = 0
        self.dims: dict[int, _Dim] = {}
        self.top: list[ir.Op] = []
        self.ops: list[ir.Op] = self.top
        self.vars: dict[str, ir.Value] = {}
        self.adjacency: ir.Value | None = None
        self.iotas: dict[tuple[int, str | None], _LV] = {}
        self.broadcasts: dict[ir.Value, ir.Broadcast] = {}
        self.results: tuple[tuple[str, ir.Value], ...] = ()

    # ---- plumbing

    def value(self, domain, type_) -> ir.Value:
        self.value_ids += 1
        return ir.Value(self.value_ids, tuple(domain), _scalar(type_))

    def emit(self, op) -> ir.Value:
        self.ops.append(op)
        return op.out

    def new_dim(self, axis: ir.Axis, taxis: T.Axis) -> int:
        uid = len(self.dims)
        self.dims[uid] = _Dim(axis, taxis)
        return uid

    def domain(self, dims) -> tuple[ir.Axis, ...]:
        return tuple(self.dims[d].axis for d in dims)

    def type_of(self, e, default=None) -> T.Type:
        return _scalar(self.c.types.get(id(e), default or T.Int()))

    def align(self, lv: _LV, dims: tuple[int, ...], span) -> ir.Value:
        """`lv` on exactly `dims` (a superset of its own), broadcast as needed."""
        if lv.dims == dims:
            return lv.value
        arg, axes = lv.value, tuple(dims.index(d) for d in lv.dims)
        inner = self.broadcasts.get(arg)
        if inner is not None:
            # A broadcast of a broadcast is one broadcast; the inner one is then dead code.
            arg, axes = inner.arg, tuple(axes[a] for a in inner.axes)
        out = self.value(self.domain(dims), lv.value.type)
        op = ir.Broadcast(out, arg, axes, span)
        self.broadcasts[out] = op
        return self.emit(op)

    @staticmethod
    def union(lvs) -> tuple[int, ...]:
        return tuple(sorted({d for lv in lvs for d in lv.dims}))

    def local(self, op: str, args: list[_LV], type_, span) -> _LV:
        dims = self.union(args)
        vals = tuple(self.align(a, dims, span) for a in args)
        return _LV(self.emit(ir.Local(self.value(self.domain(dims), type_), op, vals, span)),
                   dims)

    def const(self, value, type_, span) -> _LV:
        return _LV(self.emit(ir.Const(self.value((), type_), value, span)), ())

    def whole(self, v: ir.Value) -> _LV:
        """A field used as a whole: fresh dims for its axes."""
        dims = tuple(self.new_dim(a, _taxis(a)) for a in v.domain)
        return _LV(v, dims)

    def iota(self, bind: _Bind, span) -> _LV:
        key = (bind.uid, bind.endpoint)
        if key in self.iotas:
            return self.iotas[key]
        dim = self.dims[bind.uid]
        if bind.endpoint is None:
            out = self.value((dim.axis,), T.Index(dim.taxis))
            lv = _LV(self.emit(ir.Iota(out, span)), (bind.uid,))
        else:
            node = self.emit(ir.Iota(self.value((ir.NODE,), T.Index(T.NODE)), span))
            out = self.value((ir.EDGE,), T.Index(T.NODE))
            lv = _LV(self.emit(ir.EdgeGather(out, node, (0,), (bind.endpoint,), span)),
                     (bind.uid,))
        self.iotas[key] = lv
        return lv

    def adjacency_value(self, span) -> ir.Value:
        # Defined once at the top level, so that every region may read it.
        if self.adjacency is None:
            out = self.value((ir.NODE, ir.NODE), T.Bool())
            self.top.append(ir.Input(out, "edge", "adjacency", span))
            self.adjacency = out
        return self.adjacency

    # ---- program and statements

    def program(self) -> ir.Program:
        p = self.c.program
        for prm in p.params:
            t = T.from_syntax(prm.type) if prm.name not in self.c.var_types else \
                self.c.var_types[prm.name]
            if isinstance(t, T.Graph):
                continue
            axes = tuple(ir.axis_from_type(a) for a in t.axes) if isinstance(t, T.Field) else ()
            out = self.value(axes, t)
            self.vars[prm.name] = self.emit(ir.Input(out, prm.name, "param", prm.span))
        self.block(p.body)
        live = _live(tuple(self.top), {v for _, v in self.results})
        ops = _prune(tuple(self.top), live)
        ops = _mark_static(ops, ir.static_values(ops))
        return ir.Program(p.name, self.c.family, ops, self.results, p.span)

    def block(self, stmts) -> None:
        for s in stmts:
            self.iotas = {}
            match s:
                case A.Assign(target=target, value=value):
                    self.vars[target] = self.expr(value, _Ctx()).value
                case A.IndexedAssign():
                    self.indexed_assign(s)
                case A.Repeat():
                    self.repeat(s)
                case A.Return(values=values):
                    lvs = [self.expr(v, _Ctx()) for v in values]
                    self.results = tuple((name, lv.value)
                                         for name, lv in zip(self.c.result_names, lvs))

    def indexed_assign(self, s: A.IndexedAssign) -> None:
        axes = self.c.assign_axes[id(s)]
        dims = tuple(self.new_dim(ir.axis_from_type(a), a) for a in axes)
        ctx = _Ctx({b.name: _Bind(d) for b, d in zip(s.binders, dims)})
        self.vars[s.target] = self.align(self.expr(s.value, ctx), dims, s.span)

    def repeat(self, s: A.Repeat) -> None:
        names = _assigned(s.body)
        inits = {name: self.vars.get(name) for name in names}
        params = {}
        for name, init in inits.items():
            if init is not None:
                params[name] = self.value(init.domain, self.c.var_types.get(name, init.type))
                self.vars[name] = params[name]
        outer, self.ops = self.ops, []
        self.block(s.body)
        body, self.ops = tuple(self.ops), outer
        carried = []
        for name in names:
            nxt = self.vars[name]
            out = self.value(nxt.domain, self.c.var_types.get(name, nxt.type))
            carried.append(ir.Carried(name, inits[name], params.get(name), nxt, out))
            self.vars[name] = out
        self.ops.append(ir.Loop(tuple(carried), ir.size_formula(s.count), s.until_stable, body,
                                s.span))

    # ---- expressions

    def expr(self, e, ctx: _Ctx) -> _LV:
        sizes = self.c.size_vars - set(ctx.binds) - set(ctx.locals) - set(self.vars)
        if not isinstance(e, A.IntLit) and ir.is_size_expr(e, sizes):
            formula = ir.size_formula(e)
            if formula.is_Integer:
                return self.const(int(formula), self.type_of(e), e.span)
            out = self.value((), self.type_of(e))
            return _LV(self.emit(ir.Size(out, formula, e.span)), ())
        match e:
            case A.IntLit(value=v):
                return self.const(v, self.type_of(e), e.span)
            case A.BoolLit(value=v):
                return self.const(v, T.Bool(), e.span)
            case A.InfLit():
                return self.const(float("inf"), self.type_of(e), e.span)
            case A.NoneLit():
                return self.const(None, T.NoneType(), e.span)
            case A.StrLit(value=v):
                return self.const(v, T.Token(), e.span)
            case A.Name():
                return self.name(e, ctx)
            case A.Neg(operand=x):
                return self.local("neg", [self.expr(x, ctx)], self.type_of(e), e.span)
            case A.Not(operand=x):
                return self.local("not", [self.expr(x, ctx)], T.Bool(), e.span)
            case A.BinOp(op=op, left=left, right=right):
                args = [self.expr(left, ctx), self.expr(right, ctx)]
                return self.local(_ARITH[op], args, self.type_of(e), e.span)
            case A.Compare(op=op, left=left, right=right):
                args = [self.expr(left, ctx), self.expr(right, ctx)]
                return self.local(_COMPARE[op], args, T.Bool(), e.span)
            case A.BoolOp(op=op, left=left, right=right):
                return self.local(op, [self.expr(left, ctx), self.expr(right, ctx)], T.Bool(),
                                  e.span)
            case A.IfExpr(then=then, cond=cond, orelse=orelse):
                args = [self.expr(cond, ctx), self.expr(then, ctx), self.expr(orelse, ctx)]
                return self.local("select", args, self.type_of(e), e.span)
            case A.Index(base=base, indices=indices):
                return self.index(e, base, indices, ctx)
            case A.Call():
                return self.call(e, ctx)
            case A.Comprehension():
                return self.comprehension(e, ctx)
            case A.Fold():
                return self.fold(e, ctx)
        raise _unsupported(e, "this expression")

    def name(self, e: A.Name, ctx: _Ctx) -> _LV:
        if e.id in ctx.binds:
            return self.iota(ctx.binds[e.id], e.span)
        if e.id in ctx.locals:
            return ctx.locals[e.id]
        v = self.vars[e.id]
        return self.whole(v) if v.domain else _LV(v, ())

    def index(self, e, base, indices, ctx: _Ctx) -> _LV:
        table = self.expr(base, ctx).value
        comps = [self.component(i, ctx) for i in indices]
        if table.domain == (ir.EDGE,) and len(comps) == 2:
            return self.edge_field(e, table, comps)
        return self.read(table, comps, self.type_of(e), e.span)

    def component(self, i, ctx: _Ctx):
        """An index as a binder (`_Bind`, `src(e)` / `dst(e)` an endpoint of e's edge dim) or a
        computed value (`_LV`)."""
        if isinstance(i, A.Name) and i.id in ctx.binds:
            return ctx.binds[i.id]
        end = self.endpoint(i, ctx)
        return end if end is not None else self.expr(i, ctx)

    def endpoint(self, e, ctx: _Ctx) -> _Bind | None:
        if (isinstance(e, A.Call) and e.func in ("src", "dst") and e.func not in self.c.defs
                and len(e.args) == 1 and isinstance(e.args[0], A.Name)
                and e.args[0].id in ctx.binds):
            b = ctx.binds[e.args[0].id]
            if b.endpoint is None and self.dims[b.uid].axis == ir.EDGE:
                return _Bind(b.uid, e.func)
        return None

    def edge_field(self, e, table: ir.Value, comps) -> _LV:
        # The checker admits only w[u, v] in `for u in in(v)` and w[v, u] in `for u in out(v)`:
        # both name the endpoints, source first, of one edge dim, whose value is the edge's own.
        src, dst = comps
        if not (isinstance(src, _Bind) and isinstance(dst, _Bind) and src.uid == dst.uid
                and (src.endpoint, dst.endpoint) == ("src", "dst")):
            raise _unsupported(e, "this edge-field read")
        return _LV(table, (src.uid,))

    def read(self, table: ir.Value, comps, type_, span) -> _LV:
        """`table[comps]`, each component a binder (`_Bind`) or a computed index (`_LV`)."""
        if all(isinstance(c, _Bind) for c in comps) and all(
                c.endpoint or self.dims[c.uid].axis.size == a.size
                for c, a in zip(comps, table.domain)):
            # Binders over the table's own axes: the table itself (wiring). A binder over a
            # range of another size (`x[i] for i in range(2)` of a bits[k]) is a Gather below,
            # so that the value lives on the binder's domain, not the table's.
            dims = tuple(sorted({c.uid for c in comps}))
            axes = tuple(dims.index(c.uid) for c in comps)
            if any(c.endpoint for c in comps):
                out = self.value(self.domain(dims), type_)
                ends = tuple(c.endpoint for c in comps)
                return _LV(self.emit(ir.EdgeGather(out, table, axes, ends, span)), dims)
            if axes == tuple(range(len(dims))):
                return _LV(table, dims)
            out = self.value(self.domain(dims), type_)
            op = ir.Broadcast(out, table, axes, span)
            self.broadcasts[out] = op
            return _LV(self.emit(op), dims)
        index = [self.iota(c, span) if isinstance(c, _Bind) else c for c in comps]
        dims = self.union(index)
        vals = tuple(self.align(i, dims, span) for i in index)
        out = self.value(self.domain(dims), type_)
        return _LV(self.emit(ir.Gather(out, table, vals, False, span)), dims)

    def call(self, e: A.Call, ctx: _Ctx) -> _LV:
        match e.func:
            case "min" | "max" | "abs":
                args = [self.expr(a, ctx) for a in e.args]
                return self.local(e.func, args, self.type_of(e), e.span)
            case "edge":
                comps = [self.component(a, ctx) for a in e.args]
                return self.read(self.adjacency_value(e.span), comps, T.Bool(), e.span)
        if e.func not in self.c.defs:
            end = self.endpoint(e, ctx)
            if end is None:
                raise _unsupported(e, f"{e.func}(...) of this value (only of a binder over edges)")
            return self.iota(end, e.span)
        d = self.c.defs[e.func]
        return self.inline(d, [self.expr(a, ctx) for a in e.args])

    def inline(self, d: A.Def, args: list[_LV]) -> _LV:
        local = _Ctx({}, {p.name: a for p, a in zip(d.params, args)})
        for s in d.body:
            match s:
                case A.Assign(target=target, value=value):
                    local.locals[target] = self.expr(value, local)
                case A.Return(values=(value,)):
                    return self.expr(value, local)
        raise _unsupported(d, f"def '{d.name}' without a final return")

    def comprehension(self, c: A.Comprehension, ctx: _Ctx) -> _LV:
        extra_cond, group, center = None, None, None
        if isinstance(c.domain, (A.In, A.Out)):
            var_end, center_end = _ENDPOINTS[type(c.domain)]
            d = self.new_dim(ir.EDGE, T.EDGE)
            of = c.domain.of
            if isinstance(of, A.Name) and of.id in ctx.binds and ctx.binds[of.id].endpoint is None:
                # Message passing: v's dim becomes the edge dim, grouped back at v's endpoint.
                center, group = ctx.binds[of.id].uid, center_end
                inner = ctx.bind({c.var: _Bind(d, var_end), of.id: _Bind(d, center_end)})
            else:
                # A node given by a value (`out(cur)`): every edge, kept when its endpoint is it.
                at = self.expr(of, ctx)
                inner = ctx.bind({c.var: _Bind(d, var_end)})
                extra_cond = self.local("eq", [self.iota(_Bind(d, center_end), c.span), at],
                                        T.Bool(), c.span)
        else:
            taxis = self.c.comp_axes[id(c)]
            d = self.new_dim(ir.axis_from_type(taxis), taxis)
            inner = ctx.bind({c.var: _Bind(d)})
        body = None if c.agg == "count" else self.expr(c.body, inner)
        cond = self.expr(c.cond, inner) if c.cond is not None else None
        if extra_cond is not None:
            cond = extra_cond if cond is None else self.local("and", [extra_cond, cond],
                                                             T.Bool(), c.span)
        elem = self.iota(inner.binds[c.var], c.span) if c.agg in ("argmin", "argmax") else None
        if body is None and cond is None:
            cond = self.const(True, T.Bool(), c.span)
        parts = [p for p in (body, cond, elem) if p is not None]
        dims = tuple(sorted({d, *self.union(parts)}))
        body_v, cond_v, elem_v = (self.align(p, dims, c.span) if p is not None else None
                                  for p in (body, cond, elem))
        axis = dims.index(d)
        if group is not None:
            out_dims = dims[:axis] + (center,) + dims[axis + 1:]
        else:
            out_dims = dims[:axis] + dims[axis + 1:]
        out = self.value(self.domain(out_dims), self.type_of(c))
        op = ir.Aggregate(out, c.agg, axis, body_v, cond_v, elem_v, group, c.span)
        return _LV(self.emit(op), out_dims)

    def fold(self, f: A.Fold, ctx: _Ctx) -> _LV:
        arg = self.expr(f.arg, ctx)
        if len(arg.dims) != 1:
            raise _unsupported(f, "a fold over a value with more than one axis")
        op = f.op if f.op in ir.FOLD_BUILTINS else self.function(self.c.defs[f.op])
        t = self.c.types.get(id(f))
        elem = _scalar(t) if t is not None else arg.value.type
        if f.kind == "scan":
            out = self.value(arg.value.domain, elem)
            return _LV(self.emit(ir.Fold(out, "scan", op, arg.value, f.span)), arg.dims)
        out = self.value((), elem)
        return _LV(self.emit(ir.Fold(out, "reduce", op, arg.value, f.span)), ())

    def function(self, d: A.Def) -> ir.Function:
        params = tuple(self.value((), T.from_syntax(p.type)) for p in d.params)
        outer, self.ops = self.ops, []
        result = self.inline(d, [_LV(p, ()) for p in params])
        body, self.ops = tuple(self.ops), outer
        return ir.Function(d.name, params, body, result.value)


def _taxis(axis: ir.Axis) -> T.Axis:
    """The checker's axis for an IR axis, for the type of index values (ranges keep no AST size:
    an index of a range is an integer in every use the IR makes of it)."""
    return {"node": T.NODE, "edge": T.EDGE, "pos": T.POS}.get(axis.kind, T.Axis("range"))


def _unsupported(node, what: str) -> NclError:
    span = getattr(node, "span", A.NOSPAN)
    return NclError.at(span, "unsupported", f"the compiler does not support {what} yet")


def _mark_static(ops: tuple[ir.Op, ...], static: set[ir.Value]) -> tuple[ir.Op, ...]:
    """The ops with each `Gather` marked static when its indices are."""
    out = []
    for op in ops:
        if isinstance(op, ir.Gather):
            op = dataclasses.replace(op, static=all(i in static for i in op.index))
        elif isinstance(op, ir.Loop):
            op = dataclasses.replace(op, body=_mark_static(op.body, static))
        elif isinstance(op, ir.Fold) and isinstance(op.op, ir.Function):
            fn = dataclasses.replace(op.op, body=_mark_static(op.op.body, static))
            op = dataclasses.replace(op, op=fn)
        out.append(op)
    return tuple(out)


def _live(ops: tuple[ir.Op, ...], live: set[ir.Value]) -> set[ir.Value]:
    """`live` grown by every value the ops need to compute it (loops keep all their variables)."""
    for op in reversed(ops):
        if isinstance(op, ir.Loop):
            inner = {c.next for c in op.carried}
            inner = _live(op.body, inner)
            live |= inner | {c.init for c in op.carried if c.init is not None}
        elif isinstance(op, ir.Input) or op.out in live:
            live |= set(ir.operands(op))
            if isinstance(op, ir.Fold) and isinstance(op.op, ir.Function):
                live |= _live(op.op.body, {op.op.result})
    return live


def _prune(ops: tuple[ir.Op, ...], live: set[ir.Value]) -> tuple[ir.Op, ...]:
    out = []
    for op in ops:
        if isinstance(op, ir.Loop):
            out.append(dataclasses.replace(op, body=_prune(op.body, live)))
        elif isinstance(op, ir.Input) or op.out in live:
            if isinstance(op, ir.Fold) and isinstance(op.op, ir.Function):
                op = dataclasses.replace(op, op=dataclasses.replace(
                    op.op, body=_prune(op.op.body, live)))
            out.append(op)
    return tuple(out)


def lower(checked) -> ir.Program:
    """The IR of one checked program."""
    return _Lowerer(checked).program()
