"""Reading fields: a field by name, an index checked against its axis, and the value of an edge
field at an edge a comprehension binds."""
from __future__ import annotations

import numpy as np

from .. import ast as A
from .values import _Ctx, RunError, Stored, Val, _fmt, _lift, _union


class IndexEval:
    """A mixin of `program._Interp`: the state it reads is the interpreter's."""

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
