"""Checks of expressions: names, operators, indexing, calls, comprehensions and folds, each
giving the expression's type (an integer's with its interval)."""
from __future__ import annotations

from .. import ast as A
from .. import types as T
from ..diagnostics import did_you_mean
from .intervals import (_hi_max, _hi_min, _int_abs, _int_add, _int_floordiv, _int_mod, _int_mul,
                        _int_neg, _int_sum, _lo_max, _lo_min, _may_be_inf, _unknown_int)
from .messages import _axis_str, _bound_str, _expr_str, _fmt, _index_noun
from .names import AGGREGATIONS, BUILTINS, FOLD_BUILTINS, INF, SIZE_FUNCS
from .relations import ERR, _accepts, _as_int, _join, _optional
from .size_ranges import _size_value


class ExpressionChecks:
    """The expression half of `body._Checker`; a mixin, so it holds no state of its own."""

    # ---- expressions

    def expr(self, e):
        t = self._expr(e)
        self.types[id(e)] = t
        return t

    def scalar(self, e):
        t = self.expr(e)
        if isinstance(t, (T.Field, T.Graph)):
            hint = f"; index it, as in {e.id}[...]" if isinstance(e, A.Name) and isinstance(
                t, T.Field) else ""
            return self.err(e.span, "type-mismatch", f"expected a single value, got {_fmt(t)}"
                            + hint)
        return t

    def boolean(self, e, t=None):
        t = self.scalar(e) if t is None else t
        if t is not ERR and not isinstance(t, T.Bool):
            return self.err(e.span, "type-mismatch", f"expected a bool, got {_fmt(t)}")
        return t

    def number(self, e, t=None, allow_bool=False):
        """`e`'s type as a number (an index counts as its integer value); `t` when known."""
        t = self.scalar(e) if t is None else t
        if t is ERR or isinstance(t, (T.Int, T.Frac)):
            return t
        if isinstance(t, T.Bool) and allow_bool:
            return T.Int(0, 1)
        if isinstance(t, T.Bool):
            return self.err(e.span, "type-mismatch", "expected a number, got bool: a bool is not "
                            "a number (write '1 if … else 0', or count booleans with sum or count)")
        if isinstance(t, T.Index):
            if t.optional:
                return self.err(e.span, "type-mismatch",
                                f"this {_fmt(t)} may be none, which is not a number")
            return _as_int(t, self.sizes)
        return self.err(e.span, "type-mismatch", f"expected a number, got {_fmt(t)}")

    def _expr(self, e):
        match e:
            case A.IntLit(value=v):
                return T.Int(v, v)
            case A.BoolLit():
                return T.Bool()
            case A.InfLit():
                return T.Int(INF, INF)
            case A.NoneLit():
                return T.NoneType()
            case A.StrLit():
                return T.Token()
            case A.Name():
                return self.name(e)
            case A.Neg(operand=o):
                t = self.number(o)
                return _int_neg(t) if isinstance(t, T.Int) else t
            case A.Not(operand=o):
                return ERR if self.boolean(o) is ERR else T.Bool()
            case A.BoolOp(left=l, right=r):
                a, b = self.boolean(l), self.boolean(r)
                return ERR if ERR in (a, b) else T.Bool()
            case A.BinOp():
                return self.binop(e)
            case A.Compare():
                return self.compare(e)
            case A.IfExpr(then=then, cond=cond, orelse=orelse):
                self.boolean(cond)
                a, b = self.scalar(then), self.scalar(orelse)
                joined = _join(a, b)
                if joined is None:
                    return self.err(e.span, "type-mismatch", "the branches of if/else disagree: "
                                    f"{_fmt(a)} and {_fmt(b)}")
                return joined
            case A.Index():
                return self.index(e)
            case A.Call():
                return self.call(e)
            case A.Comprehension():
                return self.comprehension(e)
            case A.Fold():
                return self.fold(e)
        return self.err(e.span, "type-mismatch", "not an expression")

    def name(self, e: A.Name):
        for name, t, _ in reversed(self.scope):
            if name == e.id:
                return t
        if e.id in self.vars:
            if e.id in self.maybe:
                line = self.maybe[e.id].span.line
                return self.err(e.span, "unassigned",
                                f"'{e.id}' may be unassigned here: it is first assigned inside the "
                                f"repeat at line {line}, which may run zero times")
            return self.vars[e.id]
        if e.id in self.params:
            return self.params[e.id]
        if e.id in self.sizes:
            return self.sizes[e.id]
        if e.id in ("src", "dst") and e.id not in self.mod.defs:
            # a typo for a variable (`dst` for `dist`) is likelier than a bare endpoint function
            hint = did_you_mean(e.id, [n for n in self.known_names() if n not in BUILTINS])
            if hint:
                return self.err(e.span, "unknown-name", f"unknown name '{e.id}'" + hint)
        if e.id in self.mod.defs or e.id in BUILTINS:
            return self.err(e.span, "type-mismatch", f"'{e.id}' is a function; call it")
        if e.id in self.assigned_names:
            return self.err(e.span, "unassigned", f"'{e.id}' is used before it is assigned")
        return self.err(e.span, "unknown-name",
                        f"unknown name '{e.id}'" + did_you_mean(e.id, self.known_names()))

    def known_names(self):
        return ([n for n, _, _ in self.scope] + list(self.vars) + list(self.params)
                + list(self.sizes) + list(self.mod.defs) + list(BUILTINS))

    def bind(self, name: str, span, t, comp: A.Comprehension | None = None):
        why = None
        if name in self.sizes:
            why = f"the size variable {name}"
        elif name in self.params:
            why = f"the parameter '{name}'"
        elif name in self.vars:
            why = f"the variable '{name}'"
        elif any(n == name for n, _, _ in self.scope):
            why = f"the enclosing '{name}'"
        if why:
            self.err(span, "shadowing", f"'{name}' hides {why}; choose another name")
        self.scope.append((name, t, comp))

    def binop(self, e: A.BinOp):
        a, b = self.number(e.left), self.number(e.right)
        if ERR in (a, b):
            return ERR
        if e.op == "/" or isinstance(a, T.Frac) or isinstance(b, T.Frac):
            return T.Frac()
        match e.op:
            case "+":
                return _int_add(a, b)
            case "-":
                return _int_add(a, _int_neg(b))
            case "*":
                return _int_mul(a, b)
            case "//":
                return _int_floordiv(a, b)
        return _int_mod(a, b)

    def compare(self, e: A.Compare):
        a, b = self.scalar(e.left), self.scalar(e.right)
        if ERR in (a, b):
            return T.Bool()
        equality = e.op in ("==", "!=")
        numeric = (T.Int, T.Frac, T.Index)
        if isinstance(a, T.Index) and isinstance(b, T.Index) and a.axis.kind != b.axis.kind:
            self.err(e.span, "wrong-domain",
                     f"cannot compare {_index_noun(a.axis)} with {_index_noun(b.axis)}")
        elif isinstance(a, numeric) and isinstance(b, numeric):
            if not equality and (_optional(a) or _optional(b)):
                self.err(e.span, "type-mismatch", "a value that may be none has no order")
        elif equality and (a == b or {type(a), type(b)} == {T.Index, T.NoneType}):
            pass
        elif a == b:
            self.err(e.span, "type-mismatch", f"{_fmt(a)} values have no order")
        else:
            self.err(e.span, "type-mismatch", f"cannot compare {_fmt(a)} with {_fmt(b)}")
        return T.Bool()

    # ---- indexing

    def index(self, e: A.Index):
        base = self.expr(e.base)
        idx = [self.scalar(i) for i in e.indices]
        if base is ERR:
            return ERR
        if not isinstance(base, T.Field):
            return self.err(e.base.span, "not-a-field",
                            f"only fields can be indexed; this is {_fmt(base)}")
        if base.axes == (T.EDGE,):
            if len(idx) == 1 and isinstance(idx[0], T.Index) and idx[0].axis == T.EDGE:
                return base.elem  # w[e], e an edge (a binder or variable over `edges`)
            return self.edge_index(e, base)
        if len(e.indices) != len(base.axes):
            want = "1 index" if len(base.axes) == 1 else f"{len(base.axes)} indices"
            return self.err(e.span, "arity", f"{_fmt(base)} takes {want}, not "
                            f"{len(e.indices)}")
        for axis, t, ie in zip(base.axes, idx, e.indices):
            if isinstance(t, T.Int):
                self.index_in_reach(axis, t, ie)
                continue
            if t is ERR:
                continue
            if isinstance(t, T.Index):
                if t.axis.kind != axis.kind:
                    what = f"'{e.base.id}'" if isinstance(e.base, A.Name) else "this field"
                    self.err(ie.span, "wrong-domain", f"{_index_noun(t.axis)} cannot index "
                             f"{_fmt(base)} {what}")
            else:
                self.err(ie.span, "type-mismatch",
                         f"an index is an integer, a node or a position, not {_fmt(t)}")
        return base.elem

    def index_in_reach(self, axis: T.Axis, t: T.Int, ie: A.Expr) -> None:
        """Refuse an integer index that is outside `axis` at every size: every read of it would
        fail, and a network has no failure to mirror that with."""
        if _may_be_inf(t):
            self.err(ie.span, "index-out-of-range",
                     f"index {_expr_str(ie)} may be inf ({_fmt(t)}), which indexes nothing")
            return
        size = _size_value(axis.size, self.sizes) if axis.kind == "range" else T.Int(1, None)
        below = t.hi is not None and t.hi != INF and t.hi < 0
        beyond = (t.lo is not None and t.lo != -INF and size.hi is not None
                  and size.hi != INF and t.lo >= size.hi)
        if below or beyond:
            constant = axis.kind == "range" and size.hi is not None and size.hi == size.lo
            where = f"0..{_bound_str(size.hi - 1)}" if constant else "indexes from 0"
            value = "" if t.lo == t.hi and _expr_str(ie) == _bound_str(t.lo) else f" (in {_fmt(t)})"
            self.err(ie.span, "index-out-of-range",
                     f"index {_expr_str(ie)}{value} is outside {_axis_str(axis)} ({where}) at "
                     "every size, so every read of it fails")

    def edge_index(self, e: A.Index, base: T.Field):
        names = [i.id if isinstance(i, A.Name) else None for i in e.indices]
        if len(names) == 2 and None not in names:
            u, v = names
            for var, want, dom in ((u, v, A.In), (v, u, A.Out)):
                comp = next((c for n, _, c in reversed(self.scope) if n == var), None)
                if (isinstance(comp, A.Comprehension) and isinstance(comp.domain, dom)
                        and isinstance(comp.domain.of, A.Name) and comp.domain.of.id == want):
                    return base.elem
        field = e.base.id if isinstance(e.base, A.Name) else "w"
        return self.err(e.span, "edge-index",
                        f"an edge field is read as {field}[u, v] inside 'for u in in(v)', or "
                        f"{field}[v, u] inside 'for u in out(v)', where v is a plain name, or "
                        f"as {field}[e] with e over edges ('for e in edges', or "
                        f"'t[e in edges] = …')")

    # ---- calls

    def call(self, e: A.Call):
        f = e.func
        if f in SIZE_FUNCS:
            for a in e.args:
                self.expr(a)
            return self.err(e.func_span, "size-only", f"{f}(...) is only allowed in size "
                            "expressions (repeat counts, range(...), bits[...] sizes)")
        if f in ("min", "max", "abs"):
            args = [self.number(a) for a in e.args]
            wanted = len(args) == 1 if f == "abs" else len(args) >= 2
            if not wanted:
                how = "one value" if f == "abs" else \
                    f"two or more values; for the {f} of many use {f}(x for x in ...)"
                return self.err(e.func_span, "arity", f"{f} takes {how}")
            if ERR in args:
                return ERR
            if any(isinstance(a, T.Frac) for a in args):
                return T.Frac()
            if f == "abs":
                return _int_abs(args[0])
            lo, hi = (_lo_min, _hi_min) if f == "min" else (_lo_max, _hi_max)
            out = args[0]
            for a in args[1:]:
                out = T.Int(lo(out.lo, a.lo), hi(out.hi, a.hi))
            return out
        if f == "edge":
            return self.edge_call(e)
        if f in ("src", "dst") and f not in self.mod.defs:
            return self.endpoint_call(e)
        if f in self.mod.defs:
            return self.call_def(e)
        for a in e.args:
            self.expr(a)
        if f in self.vars or f in self.params or f in self.sizes or any(
                n == f for n, _, _ in self.scope):
            return self.err(e.func_span, "type-mismatch", f"'{f}' is a value, not a function")
        if f in AGGREGATIONS:
            return self.err(e.func_span, "unknown-name", f"'{f}' aggregates a comprehension: "
                            f"{f}(x for x in DOMAIN)")
        return self.err(e.func_span, "unknown-name", f"unknown function '{f}'"
                        + did_you_mean(f, list(self.mod.defs) + list(BUILTINS)))

    def edge_call(self, e: A.Call):
        args = [self.scalar(a) for a in e.args]
        if self.family != "graph":
            return self.err(e.func_span, "wrong-family", "edge(...) is only available in graph "
                            "programs")
        if len(args) != 2:
            return self.err(e.func_span, "arity", f"edge takes two nodes, not {len(args)}")
        for a, t in zip(e.args, args):
            if isinstance(t, T.Index) and t.axis.kind != "node":
                self.err(a.span, "wrong-domain", f"edge takes nodes, not {_fmt(t)}")
            elif t is not ERR and not isinstance(t, (T.Index, T.Int)):
                self.err(a.span, "type-mismatch", f"edge takes nodes, not {_fmt(t)}")
        return T.Bool()

    def endpoint_call(self, e: A.Call):
        """src(e) / dst(e): the node an edge leaves / enters, e over `edges`."""
        args = [self.scalar(a) for a in e.args]
        if self.family != "graph":
            return self.err(e.func_span, "wrong-family", f"{e.func}(...) is only available in "
                            "graph programs")
        if len(args) != 1:
            return self.err(e.func_span, "arity", f"{e.func} takes one edge, not {len(args)}")
        t = args[0]
        if t is not ERR and not (isinstance(t, T.Index) and t.axis == T.EDGE
                                 and not t.optional):
            return self.err(e.args[0].span, "type-mismatch",
                            f"{e.func} takes an edge (a binder over edges), not {_fmt(t)}")
        return T.Index(T.NODE)

    def call_def(self, e: A.Call):
        params, result = self.mod.def_params[e.func], self.mod.def_results[e.func]
        args = [self.scalar(a) for a in e.args]
        if len(args) != len(params):
            return self.err(e.func_span, "arity", f"'{e.func}' takes {len(params)} "
                            f"argument(s), not {len(args)}")
        for a, declared, actual in zip(e.args, params, args):
            found = _accepts(declared, actual)
            if found:
                self.err(a.span, found[0], f"argument of '{e.func}': {found[1]}")
        if result == T.Int(None, None):
            return T.Int(-INF, INF)
        return result

    # ---- comprehensions and folds

    def domain(self, d):
        """(axis, how many elements) of a domain."""
        match d:
            case A.Nodes() | A.Edges() | A.In() | A.Out() if self.family != "graph":
                return self.err(d.span, "wrong-family", "nodes, edges, in(v) and out(v) are "
                                "only available in graph programs"), T.Int(0, None)
            case A.Edges():
                return T.EDGE, self.sizes.get("m", T.Int(0, None))
            case A.Positions() if self.family != "seq":
                return self.err(d.span, "wrong-family", "positions are only available in "
                                "sequence programs"), T.Int(0, None)
            case A.Nodes() | A.Positions():
                return (T.NODE if isinstance(d, A.Nodes) else T.POS), self.sizes["n"]
            case A.Range(size=size):
                count = self.size_expr(size)
                if count is ERR:
                    return ERR, T.Int(0, None)
                return T.Axis("range", size), T.Int(_lo_max(count.lo, 0), count.hi)
            case A.In(of=of) | A.Out(of=of):
                # a node that may be none (an argmin's result) is allowed: in(none) and
                # out(none) are empty, so a pointer that points nowhere needs no guard
                t = self.scalar(of)
                node = isinstance(t, T.Index) and t.axis == T.NODE
                if t is not ERR and not node and not isinstance(t, T.NoneType):
                    self.err(of.span, "wrong-domain", f"in(...) and out(...) take a node, "
                             f"not {_fmt(t)}")
                return T.NODE, T.Int(0, None)

    def comprehension(self, c: A.Comprehension):
        axis, count = self.domain(c.domain)
        if axis is not ERR:
            self.comp_axes[id(c)] = axis
        depth = len(self.scope)
        self.bind(c.var, c.var_span, ERR if axis is ERR else T.Index(axis), c)
        if c.cond is not None:
            self.boolean(c.cond)
            count = T.Int(0, count.hi)
        body = self.scalar(c.body)
        del self.scope[depth:]
        if c.agg not in AGGREGATIONS:
            return self.err(c.agg_span, "unknown-aggregation", f"unknown aggregation '{c.agg}'"
                            + did_you_mean(c.agg, AGGREGATIONS))
        if axis is ERR or body is ERR:
            return ERR
        empty = count.lo is None or count.lo < 1
        match c.agg:
            case "any" | "all":
                return ERR if self.boolean(c.body, body) is ERR else T.Bool()
            case "count":
                return T.Int(0, count.hi)
            case "sum":
                t = self.number(c.body, body, allow_bool=True)
                return t if not isinstance(t, T.Int) else _int_sum(t, count)
            case "mean":
                return ERR if self.number(c.body, body, allow_bool=True) is ERR else T.Frac()
            case "min" | "max":
                t = self.number(c.body, body)
                if not isinstance(t, T.Int) or not empty:
                    return t
                return T.Int(t.lo, INF) if c.agg == "min" else T.Int(-INF, t.hi)
            case "argmin" | "argmax":
                if self.number(c.body, body, allow_bool=True) is ERR:
                    return ERR
                return T.Index(axis, empty)
            case "only":
                if isinstance(body, T.Index):
                    return T.Index(body.axis, body.optional or empty)
                return body

    def fold(self, f: A.Fold):
        arg = self.expr(f.arg)
        if arg is ERR:
            return ERR
        if not isinstance(arg, T.Field) or len(arg.axes) != 1:
            return self.err(f.arg.span, "bad-fold",
                            f"{f.kind} takes a field with one axis, not {_fmt(arg)}")
        axis, elem = arg.axes[0], arg.elem
        count = self.sizes.get("m", T.Int(0, None)) if axis == T.EDGE else (
            _size_value(axis.size, self.sizes) if axis.kind == "range" else self.sizes["n"])
        count = T.Int(max(count.lo or 0, 1), count.hi)
        out = self.fold_elem(f, elem, count)
        if out is ERR:
            return ERR
        return out if f.kind == "reduce" else T.Field(arg.axes, out)

    def fold_elem(self, f: A.Fold, elem, count: T.Int):
        op = f.op
        if op in ("xor", "and", "or"):
            if not isinstance(elem, T.Bool):
                return self.err(f.arg.span, "type-mismatch", f"'{op}' folds bools, not "
                                f"{_fmt(elem)}")
            return T.Bool()
        if op in ("+", "*", "min", "max"):
            value = T.Int(0, 1) if isinstance(elem, T.Bool) and op in ("+", "*") else (
                elem if isinstance(elem, (T.Int, T.Frac)) else None)
            if value is None:
                return self.err(f.arg.span, "type-mismatch",
                                f"'{op}' folds numbers, not {_fmt(elem)}")
            if isinstance(value, T.Frac) or op in ("min", "max"):
                return value
            if op == "+":
                return _int_sum(value, count)
            unit = value.lo is not None and value.hi is not None and 0 <= value.lo <= value.hi <= 1
            return value if unit else _unknown_int(value)
        if op in self.mod.defs:
            problem = self.mod.check_associative(op)
            if problem:
                return self.err(f.op_span, *problem)
            param, result = self.mod.def_params[op][0], self.mod.def_results[op]
            found = _accepts(param, elem)
            if found:
                return self.err(f.arg.span, found[0], f"elements for '{op}': {found[1]}")
            return result
        if op in ("/", "//", "%"):
            return self.err(f.op_span, "bad-fold", f"'{op}' is not a fold operator; use "
                            f"{', '.join(FOLD_BUILTINS)} or a def")
        return self.err(f.op_span, "unknown-name", f"unknown fold operator '{op}'"
                        + did_you_mean(op, list(self.mod.defs) + ["min", "max"]))
