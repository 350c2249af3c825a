"""The range analysis walks the checked AST once, statement by statement, keeping each variable's
interval and recording every expression's and assignment's by `id()` of its node (the IR lowering
attaches them one-to-one to the values it makes from those nodes). Expressions and loops are its
mixins `expressions.py` and `loops.py`."""
from __future__ import annotations

import itertools
import math
from dataclasses import replace

import sympy as sp

from nclang.compiler.ir import size_symbol
from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.pretty import pretty_expr

from .expressions import ExpressionRanges
from .lattice import _INTEGRAL, BOOL, BOTTOM, TOKEN, UNBOUNDED, Interval, join
from .loops import LoopRanges
from .prover import capped_subs, le, size_to_sympy, smax
from .report import NamedValue, RangeReport
from .syntax import _assigned, _default_sizes, _family, _result_names, _subexprs


class _Analysis(ExpressionRanges, LoopRanges):
    def __init__(self, checked):
        self.checked = checked
        self.program: A.Program = checked.program
        self.defs: dict[str, A.Def] = dict(getattr(checked, "defs", None) or {})
        if not self.defs and getattr(checked, "module", None) is not None:
            self.defs = {d.name: d for d in checked.module.defs}
        self.family: str = getattr(checked, "family", None) or _family(self.program)
        self.size_vars = frozenset(getattr(checked, "size_vars", None)
                                   or _default_sizes(self.family))
        self.types: dict = getattr(checked, "types", None) or {}
        self.assign_axes: dict = getattr(checked, "assign_axes", None) or {}
        self.exprs: dict[int, Interval] = {}
        self.owner_of: dict[int, tuple[str, A.Expr]] = {}
        self.assignments: dict[int, Interval] = {}
        self.assign_nodes: dict[int, tuple[str, A.Span]] = {}
        self.var_axes: dict[str, tuple[T.Axis, ...]] = {}
        self.inputs: dict[str, tuple[Interval, A.Span]] = {}
        self.recording = True
        self.sizes_only: set[int] = set()
        self.returned: list[tuple[str, A.Expr]] = []
        self.owner = self.program.name
        self.results: list[Interval] | None = None
        self.notes: list[str] = []
        self.fresh = itertools.count()

    # -- types and axes
    def axis_size(self, axis: T.Axis) -> sp.Expr:
        match axis.kind:
            case "node" | "pos":
                return size_symbol("n")
            case "edge":
                return size_symbol("m")
        return size_to_sympy(axis.size)

    def axis_interval(self, axis: T.Axis, optional: bool = False) -> Interval:
        return Interval(sp.Integer(0), self.axis_size(axis) - 1, kind="index", may_none=optional)

    def from_type(self, t: T.Type) -> Interval:
        match t:
            case T.Field(elem=elem):
                return self.from_type(elem)
            case T.Bool():
                return BOOL
            case T.Int(lo=None):
                return UNBOUNDED
            case T.Int(lo=lo, hi=hi):
                flo = -sp.oo if lo == -T.INF else sp.Integer(lo)
                fhi = sp.oo if hi == T.INF else sp.Integer(hi)
                if flo == sp.oo or fhi == -sp.oo:
                    return Interval(None, None, hi == T.INF, lo == -T.INF)
                return Interval(flo, fhi, hi == T.INF, lo == -T.INF)
            case T.Frac():
                return replace(UNBOUNDED, kind="frac", pos_inf=False, neg_inf=False)
            case T.Index(axis=axis, optional=opt):
                return self.axis_interval(axis, opt)
            case T.NoneType():
                return Interval(kind="none", may_none=True)
            case T.Token():
                return TOKEN
        return BOTTOM

    # -- recording
    def structural(self, e: A.Expr, state: dict, scope: dict) -> Interval:
        """A size the network's shape is built from (a trip count, a range's length): keyed like
        any expression, but not a value the network computes."""
        iv = self.eval(e, state, scope)
        self.sizes_only.update(id(x) for x in _subexprs(e))
        return iv

    def record(self, node, iv: Interval) -> Interval:
        if self.recording:
            key = id(node)
            self.exprs[key] = join(self.exprs.get(key, BOTTOM), iv)
            self.owner_of[key] = (self.owner, node)
        return iv

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- statements
    def exec_block(self, body, state: dict) -> dict:
        for s in body:
            state = self.exec(s, state)
        return state

    def binder_axes(self, s: A.IndexedAssign) -> tuple[T.Axis, ...]:
        axes = self.assign_axes.get(id(s))
        if axes:
            return tuple(axes)
        if all(b.domain is not None for b in s.binders):
            return tuple(T.domain_axis(b.domain) for b in s.binders)
        if s.target in self.var_axes and len(self.var_axes[s.target]) == len(s.binders):
            return self.var_axes[s.target]
        default = {"graph": T.NODE, "seq": T.POS}.get(self.family)
        if default is None:
            default = T.Axis("range", A.Name("k"))
        return tuple(T.domain_axis(b.domain) if b.domain is not None else default
                     for b in s.binders)

    def exec(self, s, state: dict) -> dict:
        match s:
            case A.Assign(target=target, value=value):
                saved, self.owner = self.owner, target if self.owner == self.program.name \
                    else self.owner
                try:
                    iv = self.eval(value, state, {})
                finally:
                    self.owner = saved
                axes = self.axes_of(value, state)
                if axes is not None:
                    self.var_axes[target] = axes
                return self.assign(s, target, iv, state)
            case A.IndexedAssign(target=target, binders=binders, value=value):
                axes = self.binder_axes(s)
                self.var_axes[target] = axes
                scope = {b.name: self.axis_interval(ax) for b, ax in zip(binders, axes)}
                saved, self.owner = self.owner, target if self.owner == self.program.name \
                    else self.owner
                try:
                    iv = self.eval(value, state, scope)
                finally:
                    self.owner = saved
                return self.assign(s, target, iv, state)
            case A.Repeat():
                return self.repeat(s, state)
            case A.Return(values=values):
                saved, self.owner = self.owner, "result" if self.owner == self.program.name \
                    else self.owner
                try:
                    got = [self.eval(v, state, {}) for v in values]
                finally:
                    self.owner = saved
                if self.results is None:
                    self.results = got
                else:
                    self.results = [join(a, b) for a, b in zip(self.results, got)]
                return state
        return state

    def assign(self, s, target: str, iv: Interval, state: dict) -> dict:
        if self.recording:
            self.assignments[id(s)] = join(self.assignments.get(id(s), BOTTOM), iv)
            if self.owner == self.program.name:
                self.assign_nodes[id(s)] = (target, s.target_span)
        return {**state, target: iv}

    # -- the whole program
    def run(self) -> RangeReport:
        state = {}
        for p in self.program.params:
            t = T.from_syntax(p.type)
            if isinstance(t, T.Graph):
                continue
            iv = self.from_type(t)
            state[p.name] = iv
            if isinstance(t, T.Field):
                self.var_axes[p.name] = t.axes
            self.inputs[p.name] = (iv, p.span)
        self.results = None
        final = self.exec_block(self.program.body, state)
        results = tuple(self.results or ())
        names = tuple(getattr(self.checked, "result_names", None) or
                      _result_names(self.program))
        ret = next((x for x in reversed(self.program.body) if isinstance(x, A.Return)), None)
        if ret is not None:
            self.returned = [(name, v) for name, v in zip(names, ret.values)
                             if not isinstance(v, A.Name) and id(v) in self.exprs]
        max_abs, max_value, frac_abs = self._largest()
        variables = {k: v for k, v in final.items() if k not in self.inputs or k in
                     _assigned(self.program.body)}
        held = {name: iv for name, (iv, _) in self.inputs.items()}
        for key, (name, _) in self.assign_nodes.items():
            held[name] = join(held.get(name, BOTTOM), self.assignments[key])
        return RangeReport(self.program.name, self.family, tuple(sorted(self.size_vars)),
                           variables, held, dict(self.exprs), dict(self.assignments), results,
                           names,
                           max_abs, max_value, frac_abs, list(self.notes))

    def _largest(self):
        candidates: list[NamedValue] = []
        for key, (name, span) in self.assign_nodes.items():
            iv = self.assignments[key]
            candidates.append(NamedValue(name, span, iv, iv.magnitude(), "assignment"))
        for name, node in self.returned:
            iv = self.exprs[id(node)]
            candidates.append(NamedValue(name, node.span, iv, iv.magnitude(), "result"))
        for name, (iv, span) in self.inputs.items():
            candidates.append(NamedValue(name, span, iv, iv.magnitude(), "input"))
        for key, (owner, node) in self.owner_of.items():
            if key in self.sizes_only:
                continue
            iv = self.exprs[key]
            text = pretty_expr(node)
            if len(text) > 40:
                text = text[:37] + "..."
            candidates.append(NamedValue(f"{text} in {owner}", node.span, iv, iv.magnitude(),
                                         "expression"))
        ints = [c for c in candidates if c.interval.kind in _INTEGRAL]
        fracs = [c for c in candidates if c.interval.kind == "frac"]
        kept: list[NamedValue] = []
        for c in ints:
            if any(le(c.magnitude, k.magnitude) for k in kept):
                continue
            kept = [k for k in kept if not le(k.magnitude, c.magnitude)] + [c]
        if not kept:
            max_abs, top = sp.Integer(0), None
        else:
            max_abs = smax(*(k.magnitude for k in kept))
            top = max(kept, key=lambda k: _at_large(k.magnitude))
        frac_abs = smax(*(c.magnitude for c in fracs)) if fracs else None
        return max_abs, top, frac_abs


def _at_large(e: sp.Expr) -> float:
    """A magnitude at large sizes (n = m = k = 2^20), to pick which of several incomparable
    bounds to name: the one that decides exactness for the sizes that matter."""
    big = {s: sp.Integer(2 ** 20) for s in sp.sympify(e).free_symbols}
    try:
        v = capped_subs(e, big)
        return math.inf if v.has(sp.oo) else float(v)
    except (TypeError, ValueError):
        return math.inf


def value_ranges(checked) -> RangeReport:
    """Interval analysis of a checked program (`nclang.dsl.checker.CheckedProgram`)."""
    return _Analysis(checked).run()
