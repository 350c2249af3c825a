"""Aggregations over a range axis and folds: `reduce` as a balanced tree, `scan` as a Sklansky
prefix tree, min/max/argmin/argmax as tournaments or flat constant-depth extrema, a `def`
operator as one table. A mixin of `builder.MLPCircuitBuilder`."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nclang.compiler import gadgets as G
from nclang.compiler import ir
from nclang.compiler.analysis.cost import (extremum_fold, flat_extremum, flat_fold, mlp_masked)
from nclang.dsl import types as T

from .circuit import Form, clip, const, lin
from .refusals import NONE, TABLE_LIMIT, _unsupported


@dataclass(frozen=True)
class Flagged:
    """A result that may be infinite: flag f (1: finite) and value v, two output channels
    (encoding kind `ninf` for a max, `pinf` for a min)."""
    agg: str
    flag: Form
    value: Form

    @property
    def kind(self) -> str:
        return "ninf" if self.agg == "max" else "pinf"


class FoldMixin:

    def aggregate(self, op: ir.Aggregate) -> np.ndarray:
        if op.kind != "range":
            raise _unsupported(op.span, "an aggregation over nodes, edges or positions "
                                        "(use --target gnn/transformer)")
        parts = {name: (self.get(v) if v is not None else None)
                 for name, v in (("body", op.body), ("cond", op.cond), ("elem", op.elem))}
        shape = self.shape(op.out.domain)
        out = np.empty(shape, object)
        masked = mlp_masked(op, self.static)
        for idx in np.ndindex(*shape):
            sl = {}
            for name, arr in parts.items():
                if arr is None:
                    sl[name] = None
                    continue
                moved = np.moveaxis(arr, op.axis, -1)
                sl[name] = list(moved[idx])
            n = len(next(s for s in sl.values() if s is not None))
            body = sl["body"] or [None] * n
            cond = sl["cond"] or [const(1)] * n
            elem = sl["elem"] or [None] * n
            out[idx] = self.reduce_axis(op, body, cond, elem, masked)
        return out

    def reduce_axis(self, op, body, cond, elem, masked) -> Form:
        agg, span = op.agg, op.span
        if agg == "count":
            return lin([(1, c) for c in cond])
        if agg == "sum":
            return lin([(1, self.masked(b, c, 0, span)) for b, c in zip(body, cond)])
        if agg in ("any", "all"):
            if agg == "any":
                terms = [self.fn("and", [c, b], span) for b, c in zip(body, cond)]
            else:  # all: every selected body holds = no term (cond and not body)
                terms = [self.fn("or", [lin([(-1, c)], 1), b], span) for b, c in zip(body, cond)]
            if agg == "any" and any(t.is_const and t.c for t in terms):
                return const(1)
            if agg == "all" and any(t.is_const and not t.c for t in terms):
                return const(0)
            live = [t for t in terms if not t.is_const]
            if not live:
                return const(0 if agg == "any" else 1)
            s = lin([(1, t) for t in live])
            need = 1 if agg == "any" else len(live)
            return self.gate(("atleast", need), lambda: G.ridge(lambda v: int(v >= need), (1,),
                                                                [s.range], self.act), [s], span)
        if agg in ("min", "max"):
            if all(c.is_const and c.c for c in cond) and cond:
                if extremum_fold(op) and flat_extremum(len(body)):
                    return self.extremum_flat(agg, body, span)
                return self.extremum_tree(agg, body, span)
            return self.flagged_extremum(op, body, cond)
        if agg in ("argmin", "argmax"):
            return self.arg(op, body, cond, elem)
        if agg == "only":
            if not isinstance(op.out.type, (T.Index, T.NoneType)):
                raise _unsupported(span, "'only' of a non-index value (none has no number)")
            f = lin([(1, self.masked(lin([(1, b)], -NONE), c, 0, span))
                     for b, c in zip(body, cond)], NONE)
            return clip(f, min([NONE] + [b.lo for b in body]), max([NONE] + [b.hi for b in body]))
        raise _unsupported(span, f"'{agg}' (a frac: float networks are exact on integers only)")

    def flagged_extremum(self, op, body, cond) -> "Flagged":
        """A `max` (`min`) that may select nothing, whose empty selection is -inf (inf): the
        pair (f, v), f = [some element is selected] (one threshold gate, Σc ≥ 1) and v the
        extremum where f = 1 (where f = 0, v is a finite filler the decoding ignores). Only a
        program result may be such a value: no network value here holds an infinity, so a
        computation on it is refused (`Flagged` is no `Form`).

        v: each term is b if c else the bodies' least (greatest) value (affine for a constant
        body, `max(i for i in range(k) if x[i])`; one select gate for a computed one), then the
        extremum tree, the layers `analysis.cost` counts for it (masked + ceil(log2 k)); the flag
        gate is ready after one. (For constant bodies one layer would do: with the candidate
        values u1 < u2 < ..., v = Σ (u_t - u_{t-1}) [some element of value >= u_t is
        selected]; the analysis would have to count it so first.)"""
        agg, span = op.agg, op.span
        if not self.only_a_result(op.out):
            raise _unsupported(span, f"'{agg}' over a condition that may select nothing as "
                                     f"part of another value: an empty selection gives "
                                     f"{'-inf' if agg == 'max' else 'inf'}, which its networks "
                                     f"carry only as a program's result (return it as is)")
        live = [(b, c) for b, c in zip(body, cond) if not (c.is_const and not c.c)]
        flag = self.any_of([c for _, c in live], span)
        if not live:
            return Flagged(agg, flag, const(0))
        filler = min(b.lo for b, _ in live) if agg == "max" else max(b.hi for b, _ in live)
        masked = [self.masked(b, c, filler, span) for b, c in live]
        return Flagged(agg, flag, self.extremum_tree(agg, masked, span))

    def any_of(self, bits: list[Form], span) -> Form:
        """[some of the Booleans `bits` holds]: a constant, a single bit, or one gate."""
        if any(b.is_const and b.c for b in bits):
            return const(1)
        live = [b for b in bits if not b.is_const]
        if not live:
            return const(0)
        if len(live) == 1:
            return live[0]
        s = lin([(1, b) for b in live])
        return self.gate(("atleast", 1), lambda: G.ridge(lambda v: int(v >= 1), (1,),
                                                         [s.range], self.act), [s], span)

    def only_a_result(self, v: ir.Value) -> bool:
        """Whether `v` is computed at the program's top level and read by nothing but the
        program's results."""
        top = {out for op in self.program.ops for out in ir.outputs(op)}
        if v not in top:
            return False
        return not any(v in ir.operands(op) for op in ir.walk(self.program.ops))

    def masked(self, b: Form, c: Form, zero: int, span) -> Form:
        """b where c holds, else `zero`."""
        if c.is_const:
            return b if c.c else const(zero)
        if b.is_const:
            return lin([(b.c - zero, c)], zero)
        return self.fn("select", [c, b, const(zero)], span)

    def arg(self, op, body, cond, elem) -> Form:
        if any(e is None or not e.is_const for e in elem):
            raise _unsupported(op.span, f"{op.agg} over computed elements")
        sign = 1 if op.agg == "argmax" else -1
        cands = [j for j in range(len(body)) if not (cond[j].is_const and not cond[j].c)]
        if all(body[j].is_const for j in cands):
            # the first selected candidate in preference order: greatest (least) body, then
            # the smallest element
            cands.sort(key=lambda j: (-sign * body[j].c, elem[j].c))
            terms, before = [], []
            for j in cands:
                c = cond[j]
                s = lin([(1, x) for x in before])
                if s.is_const:
                    h = c
                else:
                    h = self.fn("gt", [c, s], op.span)  # c = 1 and none before: c - s >= 1
                terms.append((elem[j].c - NONE, h))
                if c.is_const:
                    break
                before.append(c)
            return self.one_of(lin(terms, NONE), [elem[j].c for j in cands])
        winners = []
        for i in cands:
            us = []
            for j in cands:
                if j == i:
                    continue
                theta = 0 if elem[i].c < elem[j].c else 1  # ties to the smaller element
                us.append(self.beats(sign, theta, body[i], body[j], cond[j], op.span))
            if any(u.is_const and not u.c for u in us):
                continue
            live = [u for u in us if not u.is_const] + ([cond[i]] if not cond[i].is_const else [])
            if not live:
                h = const(1)
            else:
                s = lin([(1, u) for u in live])
                need = len(live)
                h = self.gate(("atleast", need), lambda need=need, s=s: G.ridge(
                    lambda v: int(v >= need), (1,), [s.range], self.act), [s], op.span)
            winners.append((elem[i].c - NONE, h))
        return self.one_of(lin(winners, NONE), [elem[i].c for i in cands])

    @staticmethod
    def one_of(f: Form, values: list[int]) -> Form:
        """`f`, known to be NONE or one of `values` (one candidate wins at most), with that hull
        as its interval instead of the interval sum of all the candidates."""
        return clip(f, min([NONE] + values), max([NONE] + values))

    def beats(self, sign, theta, bi: Form, bj: Form, cj: Form, span) -> Form:
        """[j is not selected, or body i beats body j]: sign * (bi - bj) >= theta, or cj = 0."""
        d = lin([(sign, bi), (-sign, bj)])
        if cj.is_const:
            if not cj.c:
                return const(1)
            if d.is_const:
                return const(int(d.c >= theta))
            return self.gate(("atleast", theta), lambda: G.ridge(
                lambda v: int(v >= theta), (1,), [d.range], self.act), [d], span)
        B = max(theta - d.lo, 0)
        # B (1 - c) + d >= theta holds whenever c = 0 (B lifts d's least value to theta)
        x = lin([(1, d), (-B, cj)], B)
        return self.gate(("atleast", theta), lambda: G.ridge(
            lambda v: int(v >= theta), (1,), [x.range], self.act), [x], span)

    # ---- scan and reduce

    def fold(self, op: ir.Fold) -> np.ndarray:
        xs = list(self.get(op.arg))
        if flat_fold(op):
            return self.flat_fold(op, xs)
        if extremum_fold(op) and flat_extremum(len(xs)):
            return np.array(self.extremum_flat(op.op, xs, op.span), object)
        combine = self.combiner(op)
        if op.kind == "reduce":
            level = xs
            while len(level) > 1:
                nxt = [combine(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
                if len(level) % 2:
                    nxt.append(level[-1])
                level = nxt
            if not level:
                raise _unsupported(op.span, "reduce over nothing")
            return np.array(level[0], object)
        # Sklansky prefix tree: at the level of blocks of 2d, each element of a block's upper
        # half takes in the last prefix of its lower half: ceil(log2 n) levels
        n, d = len(xs), 1
        vals = list(xs)
        while d < n:
            for i in range(n):
                if i & d:
                    j = (i // (2 * d)) * 2 * d + d - 1
                    vals[i] = combine(vals[j], vals[i])
            d *= 2
        out = np.empty((n,), object)
        for i, v in enumerate(vals):
            out[i] = v
        return out

    def flat_fold(self, op: ir.Fold, xs: list[Form]) -> np.ndarray:
        """`or`/`and` of Booleans as one threshold gate per result,
        whatever the length: OR is Σx ≥ 1, AND is Σx ≥ len (`cost.flat_fold` says which folds
        are built so; the analysis counts each as one layer)."""
        if not xs:
            raise _unsupported(op.span, "reduce over nothing")
        either = op.op

        def gate(prefix: list[Form]) -> Form:
            s = lin([(1, x) for x in prefix])
            need = 1 if either == "or" else len(prefix)
            if s.is_const:
                return const(int(s.c >= need))
            return self.gate(("atleast", need), lambda: G.ridge(
                lambda v: int(v >= need), (1,), [s.range], self.act), [s], op.span)

        if op.kind == "reduce":
            return np.array(gate(xs), object)
        out = np.empty((len(xs),), object)
        for i in range(len(xs)):
            out[i] = gate(xs[:i + 1])
        return out

    def combiner(self, op: ir.Fold):
        span = op.span
        if isinstance(op.op, ir.Function):
            fn = op.op
            memo: dict = {}

            def apply(x: int, y: int) -> int:
                if (x, y) not in memo:
                    memo[(x, y)] = self.call(fn, x, y)
                return memo[(x, y)]

            def combine(a: Form, b: Form) -> Form:
                if a.is_const and b.is_const:
                    return const(apply(a.c, b.c))
                dom = [self.clamp(a, fn.params[0]), self.clamp(b, fn.params[1])]
                var = [i for i, f in enumerate((a, b)) if not f.is_const]
                fixed = (a.c, b.c)

                def f(*xs):
                    v = list(fixed)
                    for i, x in zip(var, xs):
                        v[i] = x
                    return apply(*v)

                args = [(a, b)[i] for i in var]
                key = ("def", id(fn), tuple(var), tuple(None if i in var else fixed[i]
                                                        for i in range(2)))
                return self.gate(key, lambda: G.table(f, [dom[i] for i in var], self.act,
                                                      TABLE_LIMIT), args, span)
            return combine
        name = {"+": "add", "*": "mul"}.get(op.op, op.op)

        def builtin(a: Form, b: Form) -> Form:
            if name == "add":
                return lin([(1, a), (1, b)])
            if name == "mul" and (a.is_const or b.is_const):
                k, x = (a, b) if a.is_const else (b, a)
                return lin([(k.c, x)])
            return self.fn(name, [a, b], span)
        return builtin

    def clamp(self, f: Form, param: ir.Value) -> tuple[int, int]:
        # a def's argument lies in its declared type (the checker verifies every call)
        t = param.type
        lo, hi = f.lo, f.hi
        if isinstance(t, T.Int) and t.lo is not None:
            lo, hi = max(lo, int(t.lo)) if not math.isinf(t.lo) else lo, \
                min(hi, int(t.hi)) if not math.isinf(t.hi) else hi
        elif isinstance(t, T.Bool):
            lo, hi = max(lo, 0), min(hi, 1)
        return lo, hi

    def call(self, fn: ir.Function, x: int, y: int) -> int:
        saved = self.env
        self.env = dict(saved)
        try:
            self.env[fn.params[0]] = np.array(const(x), object)
            self.env[fn.params[1]] = np.array(const(y), object)
            self.block(fn.body)
            r = self.env[fn.result][()]
        finally:
            self.env = saved
        if not r.is_const:
            raise _unsupported(self.checked.program.span,
                               f"def '{fn.name}' as a fold operator: it reads the program's inputs")
        return r.c
