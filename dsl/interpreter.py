"""The reference interpreter: what an nclang program means.

It works on the AST directly and shares no code with the compiler's lowering, so that a lowering
bug cannot hide in both. Every statement is evaluated as a whole with numpy:

- an expression's value is a `Val`: an array with one numpy dimension per *iteration axis* in
  scope (a binder of an indexed assignment, the variable of a comprehension), named by integer
  ids that grow with creation order; operands are aligned by axis id, so broadcasting does the
  "for every element" part of the semantics;
- laziness (`and`, `or`, `a if c else b`) is an *active mask*: the right operand is evaluated only
  under the mask of elements that need it, and every run-time error is raised only where the mask
  is set, so `i > 0 and c[i - 1] == 2` never complains about `c[-1]`;
- a comprehension over `nodes`, `positions` or `range(S)` adds a dense axis and reduces it;
- a comprehension over `in(x)` / `out(x)` joins every element of x's axes with the edges at the
  node x names (CSR order; a `none` names no node and joins no edge), *substitutes* those axes by the joined edge axis in everything in
  scope (variables, edge bindings, the mask), and reduces segment by segment (`ufunc.reduceat`).
  For `in(v)` with v a binder this is one pass over the m edges, never an n × m matrix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import ast as A
from . import limits
from . import types as T
from .diagnostics import Diagnostic, NclError
from .sizes import eval_size
from .values import EXACT_INT_LIMIT, NONE_INDEX, GraphData, Instance, dtype_of

_BIG = np.iinfo(np.int64).max
_MAX_DEF_DEPTH = 64


class RunError(NclError):
    """A run-time error of the program: the input is well-formed but the program, run on it, does
    something the language forbids (reads outside a field, `inf - inf`, …)."""

    def __init__(self, span: A.Span, code: str, message: str):
        super().__init__(Diagnostic.at(span, code, message))


# ---------------------------------------------------------------- run-time values

@dataclass
class Val:
    """A value over iteration axes: `data.ndim == len(axes)`, axes sorted, a dimension either the
    axis's full size or 1 (constant along that axis). `kind` is bool, int, frac, token or index."""
    data: np.ndarray
    axes: tuple[int, ...]
    kind: str


@dataclass
class Stored:
    """A program variable: a scalar (0-d) or a whole field with the semantic axes of its type."""
    data: np.ndarray
    kind: str
    axes: tuple[T.Axis, ...] = ()


@dataclass
class _AxisInfo:
    size: int
    describe: Callable[[int], str]


@dataclass
class _Ctx:
    vars: dict[str, Val]
    edges: dict[str, Val] = field(default_factory=dict)   # comprehension var -> its edge ids
    dirs: dict[str, str] = field(default_factory=dict)    # comprehension var -> "in" | "out"
    mask: Val | None = None
    env: dict[str, Stored] | None = None                  # None inside a def: defs are pure
    depth: int = 0

    def masked(self, mask: Val | None) -> "_Ctx":
        return _Ctx(self.vars, self.edges, self.dirs, mask, self.env, self.depth)


class _Return(Exception):
    def __init__(self, stmt: A.Return):
        super().__init__()
        self.stmt = stmt




def _union(*vals: Val | None) -> tuple[int, ...]:
    axes: set[int] = set()
    for v in vals:
        if v is not None:
            axes.update(v.axes)
    return tuple(sorted(axes))


def _lift(v: Val, axes: tuple[int, ...]) -> np.ndarray:
    """v's data with a size-1 dimension for every axis of `axes` (a sorted superset) it lacks."""
    if v.axes == axes:
        return v.data
    shape = [v.data.shape[v.axes.index(a)] if a in v.axes else 1 for a in axes]
    return v.data.reshape(shape)


def _fmt(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "true" if x else "false"
    if isinstance(x, (float, np.floating)):
        if x == np.inf:
            return "inf"
        if x == -np.inf:
            return "-inf"
        return str(int(x)) if float(x).is_integer() else repr(float(x))
    if isinstance(x, (int, np.integer)):
        return "none" if x == NONE_INDEX else str(int(x))
    return repr(x)


# ---------------------------------------------------------------- segmented reduction

class _Seg:
    """How a comprehension axis (always the last, newest axis of the body) reduces.

    Arrays handed in are "segment layout": the comprehension axis first, then the remaining axes
    `rest` in order. Results come back with one leading row per segment: 1 for a dense domain,
    one per element of the substituted axes S for an in()/out() join."""

    def __init__(self, axis: int, length: int, *, S: tuple[int, ...] = (),
                 s_shape: tuple[int, ...] = (), starts=None, counts=None, s_of=None):
        self.axis = axis
        self.length = length
        self.ragged = starts is not None
        self.S, self.s_shape = S, s_shape
        self.starts, self.counts, self.s_of = starts, counts, s_of

    def reduce(self, ufunc, arr: np.ndarray, identity) -> np.ndarray:
        if not self.ragged:
            return ufunc.reduce(arr, axis=0, keepdims=True, initial=identity)
        nseg = len(self.starts)
        rest = arr.shape[1:]
        if arr.shape[0] == 0:
            return np.full((nseg,) + rest, identity, dtype=arr.dtype)
        # an identity row at the end keeps every start a valid index, and the last segment's
        # reduction (which runs to the end of the array) unchanged
        pad = np.full((1,) + rest, identity, dtype=arr.dtype)
        out = ufunc.reduceat(np.concatenate([arr, pad]), self.starts, axis=0)
        out[self.counts == 0] = identity
        return out

    def expand(self, res: np.ndarray) -> np.ndarray:
        """Per-segment results back on the comprehension axis."""
        return res if not self.ragged else res[self.s_of]

    def finish(self, res: np.ndarray, rest: tuple[int, ...], kind: str) -> Val:
        if not self.ragged:
            return Val(res[0], rest, kind)
        data = res.reshape(self.s_shape + res.shape[1:])
        axes = self.S + rest
        order = sorted(range(len(axes)), key=lambda i: axes[i])
        return Val(np.transpose(data, order), tuple(axes[i] for i in order), kind)


# ---------------------------------------------------------------- the interpreter

class _Interp:
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

    # ------------------------------------------------------------ expressions

    def ev(self, e: A.Expr, ctx: _Ctx) -> Val:
        match e:
            case A.IntLit(value=v):
                if abs(v) >= EXACT_INT_LIMIT:
                    raise RunError(e.span, "too-large", f"{v} is too large to represent exactly "
                                                        "(beyond 2^53)")
                return Val(np.array(float(v)), (), "int")
            case A.BoolLit(value=v):
                return Val(np.array(bool(v)), (), "bool")
            case A.InfLit():
                return Val(np.array(np.inf), (), "int")
            case A.NoneLit():
                return Val(np.array(NONE_INDEX, dtype=np.int64), (), "index")
            case A.StrLit(value=v):
                arr = np.empty((), dtype=object)
                arr[()] = v
                return Val(arr, (), "token")
            case A.Name():
                return self.name(e, ctx)
            case A.Neg(operand=x):
                v = self.ev(x, ctx)
                return Val(-self.num(v, ctx, x.span), v.axes,
                           "frac" if v.kind == "frac" else "int")
            case A.Not(operand=x):
                v = self.ev(x, ctx)
                return Val(~v.data.astype(bool), v.axes, "bool")
            case A.BinOp():
                return self.arith(e, ctx)
            case A.Compare():
                return self.compare(e, ctx)
            case A.BoolOp():
                return self.boolop(e, ctx)
            case A.IfExpr():
                return self.ifexpr(e, ctx)
            case A.Index():
                return self.index(e, ctx)
            case A.Call():
                return self.call(e, ctx)
            case A.Comprehension():
                return self.comprehension(e, ctx)
            case A.Fold():
                if e.kind == "scan":
                    raise RunError(e.span, "bad-scan", "scan(…) gives a whole field: assign it "
                                                       "to a name, or index it")
                return self.reduce_fold(e, ctx)
        raise RunError(getattr(e, "span", A.NOSPAN), "internal", f"cannot evaluate {e!r}")

    def name(self, e: A.Name, ctx: _Ctx) -> Val:
        if e.id in ctx.vars:
            return ctx.vars[e.id]
        if ctx.env is not None and e.id in ctx.env:
            st = ctx.env[e.id]
            if st.data.ndim:
                raise RunError(e.span, "bad-field", f"'{e.id}' is a field; index it to read an "
                                                    "element")
            return Val(st.data, (), st.kind)
        if e.id in self.sizes:
            return Val(np.array(float(self.sizes[e.id])), (), "int")
        raise RunError(e.span, "unknown-name", f"'{e.id}' has no value here")

    def num(self, v: Val, ctx: _Ctx, span: A.Span) -> np.ndarray:
        """v as float64 numbers: booleans count 1, an index is its integer value."""
        if v.kind in ("int", "frac"):
            return v.data
        if v.kind == "index":
            self.fail_if(Val(v.data == NONE_INDEX, v.axes, "bool"), ctx, span, "none-value",
                         "none used as a number")
            return v.data.astype(np.float64)
        if v.kind == "bool":
            return v.data.astype(np.float64)
        raise RunError(span, "bad-operand", f"a {v.kind} is not a number")

    def check_int(self, r: np.ndarray, axes, ctx: _Ctx, span: A.Span) -> None:
        big = np.isfinite(r) & (np.abs(r) >= EXACT_INT_LIMIT)
        self.fail_if(Val(big, axes, "bool"), ctx, span, "too-large",
                     lambda at: f"{_fmt(at(Val(r, axes, 'int')))} is too large to represent "
                                "exactly (beyond 2^53)")

    def arith(self, e: A.BinOp, ctx: _Ctx) -> Val:
        a, b = self.ev(e.left, ctx), self.ev(e.right, ctx)
        axes = _union(a, b)
        x = _lift(Val(self.num(a, ctx, e.left.span), a.axes, a.kind), axes)
        y = _lift(Val(self.num(b, ctx, e.right.span), b.axes, b.kind), axes)
        X, Y = Val(x, axes, a.kind), Val(y, axes, b.kind)
        op = e.op
        kind = "frac" if "frac" in (a.kind, b.kind) else "int"

        def bad(mask, code, text):
            self.fail_if(Val(mask, axes, "bool"), ctx, e.span, code,
                         lambda at: f"{text}: {_fmt(at(X))} {op} {_fmt(at(Y))}")

        if op in ("/", "//", "%"):
            bad(y == 0, "div-zero", "division by zero")
        if op == "//":
            bad(np.isinf(x), "inf-arith", "inf // x is undefined")
        if op == "%":
            bad(np.isinf(x) | np.isinf(y), "inf-arith", "% with inf is undefined")
        with np.errstate(all="ignore"):
            if op == "+":
                r = x + y
            elif op == "-":
                r = x - y
            elif op == "*":
                r = x * y
            elif op == "/":
                r = x / y
                kind = "frac"
            elif op == "//":
                r = np.floor_divide(x, y)
                kind = "int"
            elif op == "%":
                r = np.mod(x, y)
            else:
                raise RunError(e.span, "internal", f"unknown operator {op}")
        undefined = {"+": "inf + -inf is undefined", "-": "inf - inf is undefined",
                     "*": "0 * inf is undefined", "/": "inf / inf is undefined"}
        bad(np.isnan(r), "inf-arith", undefined.get(op, "undefined"))
        if kind == "int":
            self.check_int(r, axes, ctx, e.span)
        return Val(r, axes, kind)

    def compare(self, e: A.Compare, ctx: _Ctx) -> Val:
        a, b = self.ev(e.left, ctx), self.ev(e.right, ctx)
        axes = _union(a, b)
        if a.kind == b.kind and a.kind in ("index", "bool", "token"):
            x, y = _lift(a, axes), _lift(b, axes)
        elif "token" in (a.kind, b.kind) or "bool" in (a.kind, b.kind):
            raise RunError(e.span, "bad-operand", f"cannot compare a {a.kind} with a {b.kind}")
        else:
            x = _lift(Val(self.num(a, ctx, e.left.span), a.axes, a.kind), axes)
            y = _lift(Val(self.num(b, ctx, e.right.span), b.axes, b.kind), axes)
        if a.kind == "token" and e.op not in ("==", "!="):
            raise RunError(e.span, "bad-operand", "tokens compare only with == and !=")
        fn = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
              ">": np.greater, ">=": np.greater_equal}[e.op]
        return Val(np.asarray(fn(x, y), dtype=bool), axes, "bool")

    def boolop(self, e: A.BoolOp, ctx: _Ctx) -> Val:
        a = self.ev(e.left, ctx)
        if e.op == "xor":
            b = self.ev(e.right, ctx)
            axes = _union(a, b)
            return Val(_lift(a, axes) ^ _lift(b, axes), axes, "bool")
        need = a if e.op == "and" else Val(~a.data, a.axes, "bool")
        sub = _and_mask(ctx.mask, need)
        if not sub.data.any():
            return a
        b = self.ev(e.right, ctx.masked(sub))
        axes = _union(a, b)
        x, y = _lift(a, axes), _lift(b, axes)
        return Val(x & y if e.op == "and" else x | y, axes, "bool")

    def ifexpr(self, e: A.IfExpr, ctx: _Ctx) -> Val:
        c = self.ev(e.cond, ctx)
        m_then = _and_mask(ctx.mask, c)
        m_else = _and_mask(ctx.mask, Val(~c.data, c.axes, "bool"))
        t = self.ev(e.then, ctx.masked(m_then)) if m_then.data.any() else None
        f = self.ev(e.orelse, ctx.masked(m_else)) if m_else.data.any() else None
        if t is None and f is None:
            t = f = self.ev(e.then, ctx.masked(m_then))
        if t is None:
            t = f
        if f is None:
            f = t
        kind, tdata, fdata = self.unify(t, f, ctx, e)
        axes = _union(c, t, f)
        ta, fa = Val(tdata, t.axes, kind), Val(fdata, f.axes, kind)
        return Val(np.where(_lift(c, axes), _lift(ta, axes), _lift(fa, axes)), axes, kind)

    def unify(self, a: Val, b: Val, ctx: _Ctx, e: A.Expr):
        if a.kind == b.kind:
            return a.kind, a.data, b.data
        numeric = {"int", "frac", "index"}
        if a.kind in numeric and b.kind in numeric:
            kind = "frac" if "frac" in (a.kind, b.kind) else "int"
            return kind, self.num(a, ctx, e.span), self.num(b, ctx, e.span)
        raise RunError(e.span, "bad-operand", f"branches give a {a.kind} and a {b.kind}")

    # ------------------------------------------------------------ fields and indexing

    def field_of(self, base: A.Expr, ctx: _Ctx) -> tuple[Stored, str]:
        if isinstance(base, A.Fold) and base.kind == "scan":
            return self.scan_field(base, ctx), "scan"
        if isinstance(base, A.Name) and ctx.env is not None and base.id in ctx.env \
                and base.id not in ctx.vars:
            st = ctx.env[base.id]
            if st.data.ndim:
                return st, base.id
        raise RunError(base.span, "bad-index", "only a field can be indexed")

    def as_index(self, v: Val, size: int, ctx: _Ctx, span: A.Span, what) -> np.ndarray:
        """v as int64 positions in 0..size-1; an error where an active element falls outside
        (inactive ones read position 0)."""
        return self.index_valid(v, size, ctx, span, what)[0]

    def index_valid(self, v: Val, size: int, ctx: _Ctx, span: A.Span, what):
        if v.kind == "index":
            valid = (v.data >= 0) & (v.data < size)
            raw = v.data
        elif v.kind == "int":
            raw = v.data
            valid = np.isfinite(raw) & (raw >= 0) & (raw < size) & (raw == np.floor(raw))
        else:
            raise RunError(span, "bad-index", f"a {v.kind} cannot be an index")
        self.fail_if(Val(~valid, v.axes, "bool"), ctx, span, "out-of-domain",
                     lambda at: what(_fmt(at(v))))
        return np.where(valid, raw, 0).astype(np.int64), valid

    def index(self, e: A.Index, ctx: _Ctx) -> Val:
        st, label = self.field_of(e.base, ctx)
        if len(st.axes) == 1 and st.axes[0].kind == "edge" and len(e.indices) == 2:
            return self.edge_value(e, st, label, ctx)
        if len(e.indices) != st.data.ndim:
            raise RunError(e.span, "bad-index", f"'{label}' has {st.data.ndim} axes, indexed "
                                                f"with {len(e.indices)}")
        vals = [self.ev(i, ctx) for i in e.indices]
        ids = []
        for d, (ix, v) in enumerate(zip(e.indices, vals)):
            size = st.data.shape[d]
            dom = str(st.axes[d]) if d < len(st.axes) else "its axis"
            ids.append(Val(self.as_index(
                v, size, ctx, ix.span,
                lambda x, dom=dom, size=size: f"reading {label} at {x}, outside {dom} "
                                              f"(0..{size - 1})"), v.axes, "index"))
        axes = _union(*ids)
        # asarray: a read at constant indices gives a numpy scalar (a plain str for tokens),
        # where every Val needs an array
        data = np.asarray(st.data[tuple(_lift(i, axes) for i in ids)])
        return Val(data, axes, st.kind)

    def edge_value(self, e: A.Index, st: Stored, label: str, ctx: _Ctx) -> Val:
        """`w[u, v]` inside `for u in in(v)` (or `w[v, u]` inside `out(v)`): that edge's value."""
        a, b = e.indices
        var = None
        if isinstance(a, A.Name) and ctx.dirs.get(a.id) == "in":
            var = a.id
        elif isinstance(b, A.Name) and ctx.dirs.get(b.id) == "out":
            var = b.id
        if var is None:
            raise RunError(e.span, "bad-edge", f"'{label}[…, …]' reads an edge field: it must "
                                               "name the edge of an enclosing in() or out(), as "
                                               "w[u, v] in `for u in in(v)`")
        eids = ctx.edges[var]
        g = self.graph
        x, y = self.ev(a, ctx), self.ev(b, ctx)
        axes = _union(eids, x, y)
        want_x = Val(g.src[eids.data], eids.axes, "index")
        want_y = Val(g.dst[eids.data], eids.axes, "index")
        wrong = (_lift(x, axes) != _lift(want_x, axes)) | (_lift(y, axes) != _lift(want_y, axes))
        self.fail_if(Val(wrong, axes, "bool"), ctx, e.span, "bad-edge",
                     lambda at: f"{label}[{_fmt(at(x))}, {_fmt(at(y))}] is not the edge "
                                f"{_fmt(at(want_x))} -> {_fmt(at(want_y))} of the enclosing "
                                f"{ctx.dirs[var]}()")
        return Val(st.data[eids.data], eids.axes, st.kind)

    # ------------------------------------------------------------ calls

    def call(self, e: A.Call, ctx: _Ctx) -> Val:
        f = e.func
        if f in self.defs:
            return self.call_def(self.defs[f], [self.ev(a, ctx) for a in e.args], e.args,
                                 e.span, ctx)
        if f in ("ceil", "floor", "log2"):
            return Val(np.array(float(eval_size(e, self.sizes))), (), "int")
        if f == "edge" and len(e.args) == 2:
            return self.edge_test(e, ctx)
        if f in ("src", "dst") and len(e.args) == 1 and self.graph is not None:
            # the checker admits only an edge index (a binder over `edges`): always in range
            v = self.ev(e.args[0], ctx)
            ends = self.graph.src if f == "src" else self.graph.dst
            return Val(np.asarray(ends, dtype=np.int64)[v.data.astype(np.int64)], v.axes,
                       "index")
        if f in ("min", "max") and e.args:
            vals = [self.ev(a, ctx) for a in e.args]
            axes = _union(*vals)
            kind = "index" if all(v.kind == "index" for v in vals) else \
                ("frac" if any(v.kind == "frac" for v in vals) else "int")
            datas = [_lift(v if kind == "index" else Val(self.num(v, ctx, a.span), v.axes, kind),
                           axes) for v, a in zip(vals, e.args)]
            fn = np.minimum if f == "min" else np.maximum
            r = datas[0]
            for d in datas[1:]:
                r = fn(r, d)
            return Val(np.asarray(r), axes, kind)
        if f == "abs" and len(e.args) == 1:
            v = self.ev(e.args[0], ctx)
            return Val(np.abs(self.num(v, ctx, e.args[0].span)), v.axes,
                       "frac" if v.kind == "frac" else "int")
        raise RunError(e.func_span, "unknown-function", f"no function '{f}' with "
                                                        f"{len(e.args)} arguments")

    def edge_test(self, e: A.Call, ctx: _Ctx) -> Val:
        g = self.graph
        if g is None:
            raise RunError(e.span, "bad-edge", "edge(…) needs a graph")
        n = g.n
        if self._edge_keys is None:
            self._edge_keys = np.unique(g.src.astype(np.int64) * n + g.dst.astype(np.int64))
        vi, vj = self.ev(e.args[0], ctx), self.ev(e.args[1], ctx)

        def what(x: str) -> str:
            return f"edge() of node {x}, outside nodes (0..{n - 1})"

        i = Val(self.as_index(vi, n, ctx, e.args[0].span, what), vi.axes, "index")
        j = Val(self.as_index(vj, n, ctx, e.args[1].span, what), vj.axes, "index")
        axes = _union(i, j)
        q = _lift(i, axes) * n + _lift(j, axes)
        keys = self._edge_keys
        if len(keys) == 0:
            return Val(np.zeros(q.shape, dtype=bool), axes, "bool")
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        return Val(keys[pos] == q, axes, "bool")

    def call_def(self, d: A.Def, args: list[Val], arg_exprs, span: A.Span, ctx: _Ctx) -> Val:
        if ctx.depth >= _MAX_DEF_DEPTH:
            raise RunError(span, "recursion", f"'{d.name}' calls itself too deeply")
        if len(args) != len(d.params):
            raise RunError(span, "bad-call", f"{d.name}() takes {len(d.params)} arguments, "
                                             f"given {len(args)}")
        local = _Ctx({}, mask=ctx.mask, env=None, depth=ctx.depth + 1)
        for p, v, ex in zip(d.params, args, arg_exprs):
            t = T.from_syntax(p.type)
            local.vars[p.name] = self.conform(
                v, t, ctx, getattr(ex, "span", span),
                lambda x, p=p, t=t: f"argument {p.name} of {d.name}() is {x}, outside "
                                    f"{t}")
        rtype = T.from_syntax(d.result)
        for s in d.body:
            if isinstance(s, A.Assign):
                local.vars[s.target] = self.ev(s.value, local)
            elif isinstance(s, A.Return) and len(s.values) == 1:
                r = self.ev(s.values[0], local)
                return self.conform(r, rtype, ctx, span,
                                    lambda x: f"{d.name}() returned {x}, outside its result "
                                              f"type {rtype}")
            else:
                raise RunError(s.span, "bad-def", "a def holds assignments and one return")
        raise RunError(d.span, "bad-def", f"{d.name}() ended without a return")

    def conform(self, v: Val, t: T.Type, ctx: _Ctx, span: A.Span, what) -> Val:
        """v checked against a def's declared scalar type, converted to its run-time form."""
        if isinstance(t, T.Int):
            x = self.num(v, ctx, span)
            ok = ~np.isnan(x)
            if t.lo is not None:
                ok = ok & (x >= t.lo) & (x <= t.hi)
            ok = ok & (np.isinf(x) | (x == np.floor(x)))
            xv = Val(x, v.axes, "int")
            self.fail_if(Val(~ok, v.axes, "bool"), ctx, span, "range",
                         lambda at: what(_fmt(at(xv))))
            return xv
        if isinstance(t, T.Frac):
            return Val(self.num(v, ctx, span), v.axes, "frac")
        if isinstance(t, T.Index) and v.kind == "index" and self.graph is not None \
                and t.axis.kind == "node":
            ok = (v.data >= 0) & (v.data < self.graph.n)
            if t.optional:
                ok = ok | (v.data == NONE_INDEX)
            self.fail_if(Val(~ok, v.axes, "bool"), ctx, span, "range",
                         lambda at: what(_fmt(at(v))))
        return v

    # ------------------------------------------------------------ comprehensions

    def comprehension(self, c: A.Comprehension, ctx: _Ctx) -> Val:
        if isinstance(c.domain, (A.In, A.Out)):
            inner, seg = self.join(c, ctx)
        else:
            size = self.dense_size(c.domain)
            ax = self.new_axis(size, lambda i, v=c.var: f"{v} = {i}")
            inner = _Ctx(dict(ctx.vars), dict(ctx.edges), dict(ctx.dirs), ctx.mask, ctx.env,
                         ctx.depth)
            inner.vars[c.var] = Val(np.arange(size, dtype=np.int64), (ax,), "index")
            inner.edges.pop(c.var, None)
            inner.dirs.pop(c.var, None)
            seg = _Seg(ax, size)
        sel = self.ev(c.cond, inner) if c.cond is not None else None
        body_mask = _and_mask(inner.mask, sel) if sel is not None else inner.mask
        body = self.ev(c.body, inner.masked(body_mask)) if c.agg != "count" else None
        return self.aggregate(c, ctx, inner, seg, body, sel)

    def dense_size(self, d: A.Domain) -> int:
        match d:
            case A.Nodes():
                return self._size_var("n", d.span)
            case A.Positions():
                return self._size_var("n", d.span)
            case A.Edges():
                return self._size_var("m", d.span)
            case A.Range(size=size):
                s = eval_size(size, self.sizes)
                if s < 0:
                    raise RunError(size.span, "bad-size", f"range({s}) has a negative size")
                return s
        raise RunError(d.span, "bad-domain", "unknown domain")

    def csr(self, direction: str):
        """Edges grouped by the node they enter (`in`) or leave (`out`), stable in edge order."""
        if direction not in self._csr:
            g = self.graph
            key = g.dst if direction == "in" else g.src
            other = g.src if direction == "in" else g.dst
            order = np.argsort(key, kind="stable").astype(np.int64)
            deg = np.bincount(key, minlength=g.n).astype(np.int64)
            indptr = np.concatenate([[0], np.cumsum(deg)]).astype(np.int64)
            self._csr[direction] = (order, deg, indptr, np.asarray(other, dtype=np.int64))
        return self._csr[direction]

    def edges_at(self, direction: str, F: np.ndarray, valid: np.ndarray):
        """For each entry of F (node ids), its edges in that direction, concatenated in CSR
        order: per-entry counts and starts, and per joined element its entry, edge and
        neighbour. `x[v] = … in(v) …` joins the identity every round, so that case is cached."""
        g = self.graph
        identity = len(F) == g.n and bool(valid.all()) and \
            bool(np.array_equal(F, np.arange(g.n)))
        if identity and ("id", direction) in self._csr:
            return self._csr[("id", direction)]
        order, deg, indptr, other = self.csr(direction)
        counts = np.where(valid, deg[F], 0)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        P = int(counts.sum())
        s_of = np.repeat(np.arange(len(F), dtype=np.int64), counts)
        offs = np.arange(P, dtype=np.int64) - starts[s_of]
        e_of = order[indptr[F][s_of] + offs]
        result = (counts, starts, s_of, e_of, other[e_of])
        if identity:
            self._csr[("id", direction)] = result
        return result

    def join(self, c: A.Comprehension, ctx: _Ctx) -> tuple[_Ctx, _Seg]:
        g = self.graph
        if g is None:
            raise RunError(c.domain.span, "bad-domain", "in() and out() need a graph")
        direction = "in" if isinstance(c.domain, A.In) else "out"
        of = self.ev(c.domain.of, ctx)
        # in(none) and out(none) are empty: a none is no error, and `ok` false leaves it no edges
        real = Val(of.data != NONE_INDEX, of.axes, "bool") if of.kind == "index" else None
        idx, ok = self.index_valid(
            of, g.n, ctx.masked(_and_mask(ctx.mask, real)), c.domain.of.span,
            lambda x: f"{direction}() of {x}, which is not a node (0..{g.n - 1})")
        S = of.axes
        s_shape = tuple(self.axes[a].size for a in S)
        F = np.ascontiguousarray(np.broadcast_to(idx, s_shape)).reshape(-1)
        valid = np.ascontiguousarray(np.broadcast_to(ok, s_shape)).reshape(-1)
        counts, starts, s_of, e_of, u_of = self.edges_at(direction, F, valid)
        P = len(e_of)
        s_idx = np.unravel_index(s_of, s_shape) if S else ()
        outer_desc = [self.axes[a].describe for a in S]
        var = c.var

        def describe(j: int) -> str:
            parts = [d(int(ix[j])) for d, ix in zip(outer_desc, s_idx)]
            e = int(e_of[j])
            parts.append(f"{var} = {int(u_of[j])} (edge {int(g.src[e])} -> {int(g.dst[e])})")
            return ", ".join(parts)

        J = self.new_axis(P, describe)
        sub = dict(zip(S, s_idx))

        def subst(v: Val | None) -> Val | None:
            if v is None:
                return None
            present = [a for a in v.axes if a in sub]
            if not present:
                return v
            keep = tuple(a for a in v.axes if a not in sub)
            data = np.moveaxis(v.data, [v.axes.index(a) for a in present],
                               list(range(v.data.ndim - len(present), v.data.ndim)))
            start = data.ndim - len(present)
            ix = tuple(sub[a] if data.shape[start + k] > 1 else np.zeros(P, dtype=np.int64)
                       for k, a in enumerate(present))
            return Val(data[(Ellipsis,) + ix], keep + (J,), v.kind)

        inner = _Ctx({k: subst(v) for k, v in ctx.vars.items()},
                     {k: subst(v) for k, v in ctx.edges.items()}, dict(ctx.dirs),
                     subst(ctx.mask), ctx.env, ctx.depth)
        inner.vars[var] = Val(u_of, (J,), "index")
        inner.edges[var] = Val(e_of, (J,), "index")
        inner.dirs[var] = direction
        seg = _Seg(J, P, S=S, s_shape=s_shape, starts=starts, counts=counts, s_of=s_of)
        return inner, seg

    def aggregate(self, c: A.Comprehension, ctx: _Ctx, inner: _Ctx, seg: _Seg,
                  body: Val | None, sel: Val | None) -> Val:
        # the comprehension axis is the newest in scope, so it sorts last
        axes = tuple(sorted(set(_union(body, sel)) | {seg.axis}))
        rest = tuple(a for a in axes if a != seg.axis)
        shape = tuple(self.axes[a].size for a in axes)

        def arrange(data: np.ndarray, v_axes) -> np.ndarray:
            full = np.broadcast_to(_lift(Val(data, v_axes, ""), axes), shape)
            return np.moveaxis(full, -1, 0)

        s = arrange(sel.data, sel.axes) if sel is not None else \
            np.ones((seg.length,) + shape[:-1], dtype=bool)
        agg = c.agg
        span = c.span

        def finish(res, kind):
            return seg.finish(res, rest, kind)

        def numbers():
            return arrange(self.num(body, inner.masked(_and_mask(inner.mask, sel)), c.body.span),
                           body.axes)

        if agg == "count":
            return finish(seg.reduce(np.add, s.astype(np.float64), 0.0), "int")
        if agg in ("any", "all"):
            b = arrange(body.data.astype(bool), body.axes)
            if agg == "any":
                return finish(seg.reduce(np.logical_or, b & s, False), "bool")
            return finish(seg.reduce(np.logical_and, b | ~s, True), "bool")
        if agg in ("sum", "mean"):
            b = numbers()
            with np.errstate(all="ignore"):
                total = seg.reduce(np.add, np.where(s, b, 0.0), 0.0)
            tv = finish(total, "frac" if body.kind == "frac" else "int")
            self.fail_if(Val(np.isnan(tv.data), tv.axes, "bool"), ctx, span, "inf-arith",
                         f"{agg}() adds inf and -inf, which is undefined")
            if agg == "sum":
                if tv.kind == "int":
                    self.check_int(tv.data, tv.axes, ctx, span)
                return tv
            cv = finish(seg.reduce(np.add, s.astype(np.float64), 0.0), "int")
            self.fail_if(Val(cv.data == 0, cv.axes, "bool"), ctx, span, "mean-empty",
                         "mean() over nothing is undefined")
            ax = _union(tv, cv)
            with np.errstate(all="ignore"):
                return Val(_lift(tv, ax) / _lift(cv, ax), ax, "frac")
        if agg in ("min", "max"):
            b = numbers()
            ident = np.inf if agg == "min" else -np.inf
            fn = np.minimum if agg == "min" else np.maximum
            return finish(seg.reduce(fn, np.where(s, b, ident), ident),
                          "frac" if body.kind == "frac" else "int")
        if agg in ("argmin", "argmax"):
            b = numbers()
            ident = np.inf if agg == "argmin" else -np.inf
            fn = np.minimum if agg == "argmin" else np.maximum
            best = seg.reduce(fn, np.where(s, b, ident), ident)
            cand = s & (b == seg.expand(best))
            x = inner.vars[c.var]
            xs = arrange(x.data, x.axes)
            pick = seg.reduce(np.minimum, np.where(cand, xs, _BIG), _BIG)
            pick = np.where(pick == _BIG, NONE_INDEX, pick)
            return finish(pick, "index")
        if agg == "only":
            cnt = finish(seg.reduce(np.add, s.astype(np.int64), 0), "int")
            self.fail_if(Val(cnt.data >= 2, cnt.axes, "bool"), ctx, span, "only-many",
                         lambda at: f"only() selected {int(at(cnt))} elements; it needs at most "
                                    "one")
            if body.kind != "index":
                self.fail_if(Val(cnt.data == 0, cnt.axes, "bool"), ctx, span, "only-empty",
                             f"only() selected nothing, and {_A_KIND[body.kind]} has no none")
            b = arrange(body.data, body.axes)
            ar = np.arange(seg.length, dtype=np.int64).reshape((-1,) + (1,) * (b.ndim - 1))
            pos = seg.reduce(np.maximum, np.where(s, ar, -1), -1)
            if b.shape[0]:
                picked = np.take_along_axis(b, np.maximum(pos, 0), axis=0)
            else:
                picked = np.zeros(pos.shape, dtype=b.dtype)
            if body.kind == "index":
                picked = np.where(pos < 0, NONE_INDEX, picked)
            return finish(picked, body.kind)
        raise RunError(c.agg_span, "unknown-aggregation", f"no aggregation '{agg}'")

    # ------------------------------------------------------------ scan and reduce

    _BUILTIN = {"xor": np.logical_xor, "and": np.logical_and, "or": np.logical_or,
                "+": np.add, "*": np.multiply, "min": np.minimum, "max": np.maximum}

    def fold(self, f: A.Fold, ctx: _Ctx) -> tuple[np.ndarray, str, tuple[T.Axis, ...]]:
        """The inclusive prefixes of `f.op` over f's one-axis field."""
        st, label = self.field_of(f.arg, ctx)
        if st.data.ndim != 1:
            raise RunError(f.arg.span, "bad-fold", f"{f.kind}() needs a one-axis field; "
                                                   f"'{label}' has {st.data.ndim}")
        if ctx.mask is not None and not ctx.mask.data.any():
            return st.data.copy(), st.kind, st.axes
        if len(st.data) == 0:
            raise RunError(f.span, "empty-fold", f"{f.kind}() over an empty field")
        if f.op in self.defs:
            kind = T.scalar_kind(T.from_syntax(self.defs[f.op].result))
            return self.fold_def(f, st), kind, st.axes
        fn = self._BUILTIN.get(f.op)
        if fn is None:
            raise RunError(f.op_span, "unknown-function", f"'{f.op}' is not an operator or a def")
        data = st.data
        kind = st.kind
        if f.op in ("xor", "and", "or"):
            if kind != "bool":
                raise RunError(f.op_span, "bad-operand", f"{f.op} folds booleans")
            return fn.accumulate(data), "bool", st.axes
        root = self.root()
        if kind == "index":
            data = self.num(Val(data, (), kind), root, f.arg.span)
            kind = "int"
        if kind == "bool":
            raise RunError(f.op_span, "bad-operand", f"'{f.op}' folds numbers")
        with np.errstate(all="ignore"):
            out = fn.accumulate(data.astype(np.float64))
        ax = self.new_axis(len(out), lambda i, name=label: f"{name} prefix ending at {i}")
        text = "inf + -inf is undefined" if f.op == "+" else "0 * inf is undefined"
        self.fail_if(Val(np.isnan(out), (ax,), "bool"), root, f.span, "inf-arith", text)
        if kind == "int":
            self.check_int(out, (ax,), root, f.span)
        return out, kind, st.axes

    def fold_def(self, f: A.Fold, st: Stored) -> np.ndarray:
        """Hillis–Steele: after the step of stride d, y[i] folds xs[i - 2d + 1 .. i]; the
        associativity the checker proves is what makes this equal the left-to-right fold."""
        d_ = self.defs[f.op]
        y = st.data.copy()
        kind = st.kind
        root = self.root()
        stride = 1
        while stride < len(y):
            ax = self.new_axis(len(y) - stride,
                               lambda i, s=stride: f"{f.kind} step {s}, element {i + s}")
            a = Val(y[:-stride], (ax,), kind)
            b = Val(y[stride:], (ax,), kind)
            r = self.call_def(d_, [a, b], (f.arg, f.arg), f.span, root)
            y = y.copy() if r.data.dtype == y.dtype else y.astype(r.data.dtype)
            y[stride:] = np.broadcast_to(r.data, (len(y) - stride,))
            kind = r.kind
            stride *= 2
        return y

    def scan_field(self, f: A.Fold, ctx: _Ctx) -> Stored:
        data, kind, axes = self.fold(f, ctx)
        return Stored(data, kind, axes)

    def reduce_fold(self, f: A.Fold, ctx: _Ctx) -> Val:
        data, kind, _ = self.fold(f, ctx)
        return Val(np.array(data[-1]), (), kind)


_A_KIND = {"int": "an int", "frac": "a frac", "bool": "a bool", "token": "a token"}


def _and_mask(mask: Val | None, c: Val | None) -> Val:
    if c is None:
        return mask
    if mask is None:
        return Val(c.data.astype(bool), c.axes, "bool")
    axes = _union(mask, c)
    return Val(_lift(mask, axes) & _lift(c, axes), axes, "bool")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))


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
