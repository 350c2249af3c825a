"""Checks of statements: assignments (plain and indexed), binders, and `repeat`, whose carried
variables are widened until their types stop moving."""
from __future__ import annotations

from .. import ast as A
from .. import types as T
from ..diagnostics import Diagnostic
from .messages import _axis_str, _fmt
from .names import _MAX_LOOP_PASSES
from .relations import ERR, _join, _widen


class StatementChecks:
    """The statement half of `body._Checker`; a mixin, so it holds no state of its own."""

    # ---- statements

    def block(self, stmts, top: bool):
        for i, s in enumerate(stmts):
            match s:
                case A.Assign():
                    self.assign(s)
                case A.IndexedAssign():
                    self.indexed_assign(s)
                case A.Repeat():
                    self.repeat(s)
                case A.Return(values=values):
                    if not top:
                        self.err(s.span, "misplaced-return", "return cannot be inside a repeat")
                    elif i != len(stmts) - 1:
                        self.err(s.span, "misplaced-return",
                                 "return must be the last statement of a program")
                    for v in values:
                        if self.expr(v) == T.Graph():
                            self.err(v.span, "type-mismatch", "a program cannot return a graph")

    def check_target(self, name: str, span) -> bool:
        if name in self.sizes:
            self.err(span, "shadowing", f"cannot assign to the size variable {name}")
            return False
        if name in self.params:
            self.err(span, "assign-to-param",
                     f"'{name}' is a parameter; assign to a new variable instead")
            return False
        return True

    def assign(self, s: A.Assign):
        ok = self.check_target(s.target, s.target_span)
        if isinstance(s.value, (A.Name, A.Fold)):
            t = self.expr(s.value)
            if t == T.Graph():
                t = self.err(s.value.span, "type-mismatch", "a graph cannot be assigned")
        else:
            t = self.scalar(s.value)
        if ok:
            self.store(s.target, s.target_span, t)

    def indexed_assign(self, s: A.IndexedAssign):
        ok = self.check_target(s.target, s.target_span)
        old = self.vars.get(s.target) if ok else None
        seen: set[str] = set()
        for b in s.binders:
            if b.name in seen:
                self.err(b.span, "duplicate-name", f"binder '{b.name}' appears twice")
            seen.add(b.name)
        if isinstance(old, T.Field) and len(old.axes) != len(s.binders):
            self.err(s.target_span, "arity", f"'{s.target}' is {_fmt(old)}, assigned with "
                     f"{len(old.axes)} binder(s), not {len(s.binders)}")
            old, ok = ERR, False
        elif old is not None and not isinstance(old, T.Field) and old is not ERR:
            self.err(s.target_span, "shape-mismatch",
                     f"'{s.target}' holds a single value ({_fmt(old)}); it cannot be indexed")
            old, ok = ERR, False
        axes = []
        for i, b in enumerate(s.binders):
            axis = self.binder_axis(b, old.axes[i] if isinstance(old, T.Field) else None)
            axes.append(axis)
            self.binder_axes[id(b)] = axis
        self.assign_axes[id(s)] = tuple(axes)
        depth = len(self.scope)
        for b, axis in zip(s.binders, axes):
            if all(n != b.name for n, _, _ in self.scope[depth:]):  # a duplicate is reported
                self.bind(b.name, b.span, ERR if axis is ERR else T.Index(axis))
        elem = self.scalar(s.value)
        del self.scope[depth:]
        if ok:
            t = ERR if elem is ERR or ERR in axes else T.Field(tuple(axes), elem)
            self.store(s.target, s.target_span, t)

    def binder_axis(self, b: A.Binder, existing: T.Axis | None):
        if b.domain is not None:
            if isinstance(b.domain, (A.In, A.Out)):
                return self.err(b.domain.span, "wrong-domain",
                                "a binder ranges over nodes, edges, positions or range(SIZE)")
            axis, _ = self.domain(b.domain)
            if existing is not None and axis is not ERR and axis != existing:
                return self.err(b.domain.span, "wrong-domain",
                                f"the axis is {_axis_str(existing)}, not {_axis_str(axis)}")
            return axis
        if existing is not None:
            return existing
        if self.family == "graph":
            return T.NODE
        if self.family == "seq":
            return T.POS
        if self.default_range is not None:
            return self.default_range
        many = "no" if self.range_count == 0 else "several"
        return self.err(b.span, "no-default-domain",
                        f"this program has {many} bit-vector sizes, so '{b.name}' needs its domain "
                        f"named, as in [{b.name} in range(SIZE)]")

    def store(self, name: str, span, t):
        old = self.vars.get(name)
        if old is not None and old is not ERR and t is not ERR and _join(old, t) is None:
            shape = isinstance(old, T.Field) != isinstance(t, T.Field) or (
                isinstance(old, T.Field) and old.axes != t.axes)
            self.err(span, "shape-mismatch" if shape else "type-mismatch",
                     f"'{name}' held {_fmt(old)} and is now assigned {_fmt(t)}; a variable keeps "
                     "its shape and kind of value")
        self.vars[name] = t
        self.maybe.pop(name, None)
        known = self.var_types.get(name)
        joined = t if known is None else _join(known, t)
        self.var_types[name] = t if joined is None else joined

    def repeat(self, s: A.Repeat):
        count = self.size_expr(s.count)
        before, before_maybe = dict(self.vars), dict(self.maybe)
        carried = dict(before)
        found: list[Diagnostic] = []
        for attempt in range(_MAX_LOOP_PASSES):
            self.vars, self.maybe = dict(carried), dict(before_maybe)
            outer, self.diags = self.diags, []
            self.block(s.body, top=False)
            # every pass's errors: a wrong expression makes its variable ERR, and ERR is
            # silent, so the pass after one that found an error finds none
            found, self.diags = found + self.diags, outer
            grown = {}
            for name, t in carried.items():
                new = _widen(t, self.vars[name], attempt == 0)
                if new != t:
                    grown[name] = new
            if not grown:
                break
            carried.update(grown)
        self.diags.extend(dict.fromkeys(found))
        new = {k: v for k, v in self.vars.items() if k not in carried}
        runs = count is not ERR and count.lo is not None and count.lo >= 1
        self.maybe = self.maybe if runs else {**before_maybe, **{k: s for k in new}}
        self.vars = {**carried, **new}
