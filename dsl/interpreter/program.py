"""Running a program: the interpreter object (its axes, variables and limits), the statements
(assignments, indexed assignments, `repeat` with its trace), the results, and `run`. Expressions
are its mixins, one module per kind."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import ast as A
from .. import limits
from .. import types as T
from ..sizes import eval_size
from ..values import GraphData, Instance, dtype_of
from .values import _AxisInfo, _Ctx, _Return, RunError, Stored, Val, _fmt, _lift, _same, _union
from .calls import CallEval
from .comprehensions import ComprehensionEval
from .expressions import ExpressionEval
from .folds import FoldEval
from .indexing import IndexEval


# ---------------------------------------------------------------- the interpreter

class _Interp(ExpressionEval, IndexEval, CallEval, ComprehensionEval, FoldEval):
    def __init__(self, checked, instance: Instance, trace: bool):
        self.checked = checked
        self.program: A.Program = checked.program
        self.defs: dict[str, A.Def] = dict(getattr(checked, "defs", {}) or {})
        self.assign_axes: dict[int, tuple[T.Axis, ...]] = dict(
            getattr(checked, "assign_axes", {}) or {})
        self.graph: GraphData | None = instance.graph
        self.sizes = dict(instance.sizes)
        if self.graph is not None:
            self.sizes.setdefault("n", int(self.graph.n))
            self.sizes.setdefault("m", int(self.graph.m))
        self.instance = instance
        self.trace: list[dict[str, np.ndarray]] | None = [] if trace else None
        self.axes: dict[int, _AxisInfo] = {}
        self._next_axis = 0
        self.env: dict[str, Stored] = {}
        self._csr: dict = {}
        self._edge_keys: np.ndarray | None = None
        self.trips = 0  # loop iterations so far, against limits.MAX_TRIPS
        self.family = getattr(checked, "family", None) or self._family()

    # ------------------------------------------------------------ plumbing

    def _family(self) -> str:
        for p in self.program.params:
            t = T.from_syntax(p.type)
            if isinstance(t, T.Graph):
                return "graph"
            if isinstance(t, T.Field) and t.axes and t.axes[0].kind in ("node", "edge"):
                return "graph"
            if isinstance(t, T.Field) and t.axes and t.axes[0].kind == "pos":
                return "seq"
        return "bits"

    def new_axis(self, size: int, describe: Callable[[int], str]) -> int:
        ident = self._next_axis
        self._next_axis += 1
        self.axes[ident] = _AxisInfo(int(size), describe)
        return ident

    def axis_size(self, axis: T.Axis, span: A.Span) -> int:
        if axis.kind in ("node", "pos"):
            return self._size_var("n", span)
        if axis.kind == "edge":
            return self._size_var("m", span)
        return eval_size(axis.size, self.sizes)

    def _size_var(self, name: str, span: A.Span) -> int:
        if name not in self.sizes:
            raise RunError(span, "bad-size", f"the size '{name}' is not known for this input")
        return int(self.sizes[name])

    def full(self, v: Val) -> np.ndarray:
        shape = tuple(self.axes[a].size for a in v.axes)
        return np.broadcast_to(v.data, shape)

    def where(self, coords: dict[int, int]) -> str:
        parts = [self.axes[a].describe(int(c)) for a, c in sorted(coords.items())]
        return " at " + ", ".join(parts) if parts else ""

    def fail_if(self, bad: Val, ctx: _Ctx, span: A.Span, code: str, message) -> None:
        """Raise when `bad` holds at an element where the active mask is set. `message` is a text
        or a function of `at`, which reads any Val at the offending element."""
        if ctx.mask is not None:
            axes = _union(bad, ctx.mask)
            b = _lift(bad, axes) & _lift(ctx.mask, axes)
        else:
            axes, b = bad.axes, bad.data
        if not b.any():
            return
        pos = np.unravel_index(int(np.argmax(b)), b.shape)
        coords = dict(zip(axes, pos))

        def at(v: Val):
            return v.data[tuple(int(coords.get(a, 0)) if v.data.shape[i] > 1 else 0
                                for i, a in enumerate(v.axes))]

        text = message(at) if callable(message) else message
        raise RunError(span, code, text + self.where(coords))

    # ------------------------------------------------------------ running

    def run(self):
        # before anything is allocated: a run too large for the limits is refused at once
        found = (limits.check_sizes(self.sizes, self.program.name_span)
                 or limits.check_spaces(self.checked, self.sizes))
        if found:
            raise RunError(found.span, "resource-limit", found.message)
        for p in self.program.params:
            t = T.from_syntax(p.type)
            if isinstance(t, T.Graph):
                continue
            if p.name not in self.instance.values:
                raise RunError(p.span, "missing-input", f"no value given for parameter "
                                                        f"'{p.name}'")
            data = np.asarray(self.instance.values[p.name], dtype=dtype_of(t))
            axes = t.axes if isinstance(t, T.Field) else ()
            self.env[p.name] = Stored(data, T.scalar_kind(t), axes)
        try:
            self.block(self.program.body)
        except _Return as r:
            return self.results(r.stmt)
        raise RunError(self.program.span, "no-return", f"program '{self.program.name}' ended "
                                                       "without a return")

    def root(self) -> _Ctx:
        return _Ctx({}, env=self.env)

    def block(self, stmts) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, s) -> None:
        match s:
            case A.Assign():
                self.env[s.target] = self.whole(s.value, self.root())
                self.axes.clear()
            case A.IndexedAssign():
                self.indexed_assign(s)
                # no Val outlives its statement; the axes' describers hold join arrays of size m
                self.axes.clear()
            case A.Repeat():
                self.repeat(s)
            case A.Return():
                raise _Return(s)

    def whole(self, expr: A.Expr, ctx: _Ctx) -> Stored:
        """The value of a whole assignment or a returned expression: a field or a scalar."""
        if isinstance(expr, A.Name) and ctx.env is not None and expr.id in ctx.env \
                and expr.id not in ctx.vars and ctx.env[expr.id].data.ndim > 0:
            st = ctx.env[expr.id]
            return Stored(st.data.copy(), st.kind, st.axes)
        if isinstance(expr, A.Fold) and expr.kind == "scan":
            return self.scan_field(expr, ctx)
        v = self.ev(expr, ctx)
        if v.axes:
            raise RunError(expr.span, "internal", "a whole assignment produced an indexed value")
        return Stored(np.array(v.data), v.kind, ())

    def binder_axes(self, s: A.IndexedAssign) -> tuple[T.Axis, ...]:
        axes = self.assign_axes.get(id(s))
        if axes is not None:
            return tuple(axes)
        # without a checker's answer, the rule of docs/language.md
        if all(b.domain is not None for b in s.binders):
            return tuple(self.domain_axis(b.domain) for b in s.binders)
        old = self.env.get(s.target)
        if old is not None and len(old.axes) == len(s.binders):
            return tuple(self.domain_axis(b.domain) if b.domain is not None else a
                         for b, a in zip(s.binders, old.axes))
        default = {"graph": T.NODE, "seq": T.POS}.get(self.family)
        if default is None:
            default = T.Axis("range", A.Name("k"))
        return tuple(self.domain_axis(b.domain) if b.domain is not None else default
                     for b in s.binders)

    @staticmethod
    def domain_axis(d: A.Domain) -> T.Axis:
        if isinstance(d, (A.In, A.Out)):
            raise RunError(d.span, "bad-domain",
                           "a binder ranges over nodes, positions or range(…)")
        return T.domain_axis(d)

    def indexed_assign(self, s: A.IndexedAssign) -> None:
        axes = self.binder_axes(s)
        ids = []
        ctx = self.root()
        for b, ax in zip(s.binders, axes):
            size = self.axis_size(ax, b.span)
            ident = self.new_axis(size, self.describer(b.name, ax))
            ids.append(ident)
            ctx.vars[b.name] = Val(np.arange(size, dtype=np.int64), (ident,), "index")
        v = self.ev(s.value, ctx)
        ids_t = tuple(ids)
        shape = tuple(self.axes[a].size for a in ids_t)
        data = np.array(np.broadcast_to(_lift(v, ids_t), shape))
        self.env[s.target] = Stored(data, v.kind, axes)

    def describer(self, name: str, ax: T.Axis) -> Callable[[int], str]:
        if ax.kind == "edge" and self.graph is not None:
            g = self.graph
            return lambda c: f"{name} = {c} (edge {int(g.src[c])} -> {int(g.dst[c])})"
        return lambda c: f"{name} = {c}"

    def repeat(self, s: A.Repeat) -> None:
        count = eval_size(s.count, self.sizes)
        if count < 0:
            raise RunError(s.count.span, "bad-size", f"repeat count is {count}, below 0")
        total = 0 if s.until_stable else limits.loop_trips(s, count, self.sizes)
        if self.trips + total > limits.MAX_TRIPS:
            found = limits.trips_exceeded(s.span, total, self.trips)
            raise RunError(found.span, "resource-limit", found.message)
        names = _assigned(s.body)
        for _ in range(count):
            self.trips += 1
            if self.trips > limits.MAX_TRIPS:
                found = limits.trips_exceeded(s.span, count, self.trips - 1)
                raise RunError(found.span, "resource-limit", found.message)
            before = {n: self.env[n].data for n in names if n in self.env}
            self.block(s.body)
            if self.trace is not None:
                self.trace.append({n: self.env[n].data.copy() for n in names if n in self.env})
            if s.until_stable and all(n in before and _same(before[n], self.env[n].data)
                                      for n in names if n in self.env):
                break

    def results(self, ret: A.Return) -> dict[str, np.ndarray]:
        types = self.program.results
        names = tuple(getattr(self.checked, "result_names", ()) or ())
        if len(ret.values) != len(types):
            raise RunError(ret.span, "bad-return", f"returns {len(ret.values)} values, but the "
                                                   f"program declares {len(types)}")
        if len(names) != len(types):
            names = _default_result_names(ret)
        out = {}
        for name, expr, rtype in zip(names, ret.values, types):
            st = self.whole(expr, self.root())
            t = T.from_syntax(rtype)
            data = np.asarray(st.data)
            dt = dtype_of(t)
            if st.kind == "index" and dt != np.int64:
                data = data.astype(np.float64)
            data = np.array(data, dtype=dt)
            elem = t.elem if isinstance(t, T.Field) else t
            if isinstance(elem, T.Int) and elem.lo is not None:
                bad = ~((data >= elem.lo) & (data <= elem.hi))
                if bad.any():
                    pos = np.unravel_index(int(np.argmax(bad)), bad.shape)
                    where = f" at element {', '.join(map(str, pos))}" if pos else ""
                    raise RunError(expr.span, "range",
                                   f"result '{name}' is {_fmt(data[pos])}{where}, outside its "
                                   f"declared type {elem}")
            out[name] = data
        return out


def _assigned(stmts) -> tuple[str, ...]:
    names: list[str] = []
    for s in stmts:
        if isinstance(s, (A.Assign, A.IndexedAssign)):
            if s.target not in names:
                names.append(s.target)
        elif isinstance(s, A.Repeat):
            for n in _assigned(s.body):
                if n not in names:
                    names.append(n)
    return tuple(names)


def _default_result_names(ret: A.Return) -> tuple[str, ...]:
    """docs/language.md: a returned name is called by that name; anything else `result`, or
    `result1`, `result2`, … in a tuple."""
    if len(ret.values) == 1:
        v = ret.values[0]
        return (v.id if isinstance(v, A.Name) else "result",)
    return tuple(v.id if isinstance(v, A.Name) else f"result{i + 1}"
                 for i, v in enumerate(ret.values))


def run(checked, instance: Instance, trace: bool = False):
    """Run a checked program on one instance.

    Returns the outputs keyed by `checked.result_names` (numpy forms of dsl/values.py), and with
    `trace=True` also the list, per executed loop iteration in order, of the variables assigned
    in that loop's body as they stand after the iteration."""
    interp = _Interp(checked, instance, trace)
    out = interp.run()
    if trace:
        return out, interp.trace
    return out
