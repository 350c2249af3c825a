"""The expression half of the range walker: an interval for every expression, by the lattice's
transfer functions; calls of defs are evaluated on their arguments' intervals."""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from nclang.compiler.ir import size_symbol
from nclang.dsl import ast as A
from nclang.dsl import types as T

from .lattice import (BOOL, BOTTOM, TOKEN, UNBOUNDED, Interval, _numeric, absolute, add, const,
                      div, join, maximum, meet_declared, minimum, mod, mul, neg, scale_sum)
from .prover import le, size_to_sympy, smax, smin
from .syntax import _at


class ExpressionRanges:
    """Mixin of `walker._Analysis`: the state it reads is the walker's."""

    # -- expressions
    def eval(self, e: A.Expr, state: dict, scope: dict) -> Interval:
        return self.record(e, self._eval(e, state, scope))

    def _eval(self, e: A.Expr, state: dict, scope: dict) -> Interval:
        match e:
            case A.IntLit(value=v):
                return const(v)
            case A.BoolLit(value=v):
                return const(int(v), "bool")
            case A.InfLit():
                return Interval(None, None, True, False, "int")
            case A.NoneLit():
                return Interval(kind="none", may_none=True)
            case A.StrLit():
                return TOKEN
            case A.Name(id=name):
                if name in scope:
                    return scope[name]
                if name in state:
                    return state[name]
                if name in self.size_vars:
                    s = size_symbol(name)
                    return Interval(s, s, kind="int")
                self.note(f"{_at(e.span)}: no range known for '{name}'; taken as unbounded")
                return UNBOUNDED
            case A.Neg(operand=x):
                return neg(self.eval(x, state, scope))
            case A.Not(operand=x):
                self.eval(x, state, scope)
                return BOOL
            case A.BinOp(op=op, left=left, right=right):
                a, b = self.eval(left, state, scope), self.eval(right, state, scope)
                match op:
                    case "+":
                        return add(a, b)
                    case "-":
                        return add(a, neg(b))
                    case "*":
                        return mul(a, b)
                    case "//":
                        return div(a, b, floor=True)
                    case "/":
                        return div(a, b, floor=False)
                    case "%":
                        return mod(a, b)
            case A.Compare(left=left, right=right) | A.BoolOp(left=left, right=right):
                self.eval(left, state, scope)
                self.eval(right, state, scope)
                return BOOL
            case A.IfExpr(then=then, cond=cond, orelse=orelse):
                self.eval(cond, state, scope)
                return join(self.eval(then, state, scope), self.eval(orelse, state, scope))
            case A.Index(base=base, indices=indices):
                elem = self.eval(base, state, scope)
                for i in indices:
                    self.eval(i, state, scope)
                return elem
            case A.Call():
                return self.call(e, state, scope)
            case A.Comprehension():
                return self.comprehension(e, state, scope)
            case A.Fold():
                return self.fold(e, state, scope)
        self.note(f"{_at(getattr(e, 'span', A.NOSPAN))}: no transfer function; taken as unbounded")
        return UNBOUNDED

    def call(self, e: A.Call, state: dict, scope: dict) -> Interval:
        args = [self.eval(a, state, scope) for a in e.args]
        match e.func:
            case "min" if e.func not in self.defs:
                return minimum(args)
            case "max" if e.func not in self.defs:
                return maximum(args)
            case "abs" if e.func not in self.defs:
                return absolute(args[0])
            case "edge" if e.func not in self.defs:
                return BOOL
            case "src" | "dst" if e.func not in self.defs:
                return self.axis_interval(T.NODE)
            case ("ceil" | "floor") as f if e.func not in self.defs:
                a = _numeric(args[0])
                op = sp.ceiling if f == "ceil" else sp.floor
                return replace(a, lo=op(a.lo), hi=op(a.hi), kind="int") if a.fin else a
            case "log2" if e.func not in self.defs:
                a = _numeric(args[0])
                if a.fin and le(1, a.lo):
                    return Interval(sp.log(a.lo, 2), sp.log(a.hi, 2), a.pos_inf, False, "frac")
                return replace(UNBOUNDED, kind="frac")
        if e.func in self.defs:
            return self.call_def(self.defs[e.func], args)
        self.note(f"{_at(e.span)}: no range known for '{e.func}(…)'; taken as unbounded")
        return UNBOUNDED

    def call_def(self, d: A.Def, args: list[Interval]) -> Interval:
        """The def's body is run on its arguments (each narrowed to the declared parameter type,
        which the interpreter enforces), and the result narrowed to the declared result type."""
        state = {}
        for p, a in zip(d.params, args):
            declared = self.from_type(T.from_syntax(p.type))
            state[p.name] = meet_declared(a, declared)
        saved = self.owner, self.results
        self.owner, self.results = d.name, None
        try:
            self.exec_block(d.body, state)
            got = self.results[0] if self.results else BOTTOM
        finally:
            self.owner, self.results = saved
        declared = self.from_type(T.from_syntax(d.result))
        if got.kind is None:
            return declared
        return meet_declared(got, declared)

    def domain(self, dom: A.Domain, state: dict, scope: dict):
        """(interval of the bound variable, size bound, whether the size is fixed)."""
        n = size_symbol("n")
        match dom:
            case A.Nodes():
                return self.axis_interval(T.NODE), n, True
            case A.Positions():
                return self.axis_interval(T.POS), n, True
            case A.Edges():
                return self.axis_interval(T.EDGE), size_symbol("m"), True
            case A.Range(size=size):
                self.structural(size, state, scope)
                s = size_to_sympy(size)
                return self.axis_interval(T.Axis("range", size)), smax(0, s), le(1, s)
            case A.In(of=of) | A.Out(of=of):
                self.eval(of, state, scope)
                # a multigraph may repeat an edge, so m is the only sound degree bound
                return self.axis_interval(T.NODE), size_symbol("m"), False
        raise ValueError(f"unknown domain {dom!r}")

    def comprehension(self, e: A.Comprehension, state: dict, scope: dict) -> Interval:
        var_iv, size, fixed = self.domain(e.domain, state, scope)
        inner = {**scope, e.var: var_iv}
        nonempty = fixed
        if e.cond is not None:
            self.eval(e.cond, state, inner)
            fixed = False
        # can the selection be empty? only an unfiltered nodes/positions/range(>=1) cannot
        nonempty = nonempty and e.cond is None
        body = self.eval(e.body, state, inner)
        match e.agg:
            case "any" | "all":
                return BOOL
            case "count":
                return Interval(size if fixed else sp.Integer(0), size, kind="int")
            case "sum":
                return scale_sum(body, size, fixed)
            case "mean":
                b = _numeric(body)
                return replace(b, kind="frac")
            case "min":
                b = _numeric(body)
                return b if nonempty else replace(b, pos_inf=True)
            case "max":
                b = _numeric(body)
                return b if nonempty else replace(b, neg_inf=True)
            case "argmin" | "argmax":
                return replace(var_iv, may_none=not nonempty)
            case "only":
                return replace(body, may_none=body.may_none or not nonempty)
        self.note(f"{_at(e.span)}: unknown aggregation '{e.agg}'; taken as unbounded")
        return UNBOUNDED

    def axes_of(self, e: A.Expr, state: dict) -> tuple[T.Axis, ...] | None:
        t = self.types.get(id(e))
        if isinstance(t, T.Field):
            return t.axes
        if isinstance(e, A.Name):
            return self.var_axes.get(e.id)
        return None

    def fold(self, e: A.Fold, state: dict, scope: dict) -> Interval:
        xs = self.eval(e.arg, state, scope)
        axes = self.axes_of(e.arg, state)
        length = self.axis_size(axes[0]) if axes else None
        prefix = e.kind == "scan"
        match e.op:
            case "xor" | "and" | "or":
                return BOOL
            case "min" | "max":
                return _numeric(xs)
            case "+":
                if length is None:
                    return UNBOUNDED
                total = scale_sum(xs, length, True)
                return join(_numeric(xs), total) if prefix else total
            case "*":
                x = _numeric(xs)
                if length is None or not x.fin:
                    return replace(UNBOUNDED, kind=x.kind)
                if le(0, x.lo):
                    return Interval(smin(x.lo, 0), smax(x.hi, x.hi ** length), x.pos_inf, False,
                                    x.kind)
                bound = smax(1, x.hi, -x.lo) ** length
                return Interval(-bound, bound, x.pos_inf or x.neg_inf, x.pos_inf or x.neg_inf,
                                x.kind)
        if e.op in self.defs:
            d = self.defs[e.op]
            declared = [self.from_type(T.from_syntax(p.type)) for p in d.params]
            return join(xs, self.call_def(d, declared))
        self.note(f"{_at(e.span)}: unknown fold operator '{e.op}'; taken as unbounded")
        return UNBOUNDED
