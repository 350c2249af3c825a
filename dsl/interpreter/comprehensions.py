"""Comprehensions: a dense axis over nodes, positions or range(S), or over `in(x)` / `out(x)` a
join with the edges at x (CSR order) that substitutes x's axes by the edge axis; then the
aggregation, segment by segment."""
from __future__ import annotations

import numpy as np

from .. import ast as A
from ..sizes import eval_size
from ..values import NONE_INDEX
from .segments import _Seg
from .values import _A_KIND, _Ctx, RunError, Val, _and_mask, _lift, _union

_BIG = np.iinfo(np.int64).max

class ComprehensionEval:
    """A mixin of `program._Interp`: the state it reads is the interpreter's."""

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
