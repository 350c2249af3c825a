"""Gates: each pointwise op over symbolic values (`circuit.Form`s) is affine (a new form) or one
gate, a one-hidden-layer gadget from `nclang.compiler.gadgets`; gathers with a dynamic index are
multiplexers. A mixin of `builder.MLPCircuitBuilder`."""
from __future__ import annotations

import math

import numpy as np

from nclang.compiler import gadgets as G
from nclang.compiler import ir
from nclang.compiler.analysis.cost import (mlp_affine_local)
from nclang.dsl import types as T

from .circuit import Form, clip, const, lin
from .refusals import SMALL_SELECT, TABLE_LIMIT, _unsupported


class GateMixin:
    def gate(self, key, make, args: list[Form], span) -> Form:
        """A gate from the cached gadget `make()` (keyed by what it computes and its input
        ranges), folded to a constant when its output range is one value."""
        full = (key, tuple(a.range for a in args), self.act)
        sh = self.tables.get(full)
        if sh is None:
            try:
                sh = make()
            except ValueError as err:
                raise _unsupported(span, f"this value exactly: {err}") from None
            self.tables[full] = sh
        if sh.out[0][0] == sh.out[0][1]:
            return const(sh.out[0][0])
        return self.circuit.gate(sh, args, span)

    def fn(self, op: str, args: list[Form], span) -> Form:
        """The gate computing `op` on forms (the constants among them folded in)."""
        if all(a.is_const for a in args):
            return const(ir.scalar.apply(op, [a.c for a in args]))
        var = [i for i, a in enumerate(args) if not a.is_const]
        fixed = [a.c for a in args]

        def f(*xs):
            vals = list(fixed)
            for i, x in zip(var, xs):
                vals[i] = x
            return ir.scalar.apply(op, vals)

        dyn = [args[i] for i in var]
        if len(dyn) == 1 and 0 <= dyn[0].lo and dyn[0].hi <= 1:
            f0, f1 = f(0), f(1)  # any function of one bit is affine
            return lin([(f1 - f0, dyn[0])], f0)
        key = (op, tuple(var), tuple(fixed[i] if i not in var else None
                                     for i in range(len(args))))
        if op in ("eq", "ne", "lt", "le", "gt", "ge") and len(dyn) == 2:
            return self.gate(key, lambda: G.ridge(lambda d: ir.scalar.apply(op, [d, 0]), (1, -1),
                                                  [a.range for a in dyn], self.act), dyn, span)
        if op in ("min", "max") and len(dyn) == 2 and len(args) == 2:
            return self.gate(key, lambda: G.extremum_shallow(op, dyn[0].range, dyn[1].range,
                                                             self.act), dyn, span)
        if op == "select" and 0 in var:
            points = 2 * math.prod(a.hi - a.lo + 1 for a in args[1:])
            if points > SMALL_SELECT:
                return self.gate(("select2",), lambda: G.select_shallow(
                    args[1].range, args[2].range, self.act), args, span)
        return self.gate(key, lambda: G.table(f, [a.range for a in dyn], self.act,
                                              TABLE_LIMIT), dyn, span)
    # ---- pointwise

    def local(self, op: ir.Local) -> np.ndarray:
        if op.op == "div":
            raise _unsupported(op.span, "'/' (a frac): float networks are exact on integers only")
        args = [self.get(a) for a in op.args]
        shape = self.shape(op.out.domain)
        out = np.empty(shape, object)
        affine = mlp_affine_local(op, self.static)
        fills = [self.fill(a.type) for a in op.args]
        for idx in np.ndindex(*shape):
            # an operand on a shorter axis (a[i] for i in range(k + 1)) reads a fill value past
            # its end, as a gather outside its table does; the program's guards never observe it
            xs = [a[idx] if all(i < n for i, n in zip(idx, a.shape)) else f
                  for a, f in zip(args, fills)]
            out[idx] = self.point(op, xs, affine)
        return out

    def point(self, op: ir.Local, xs: list[Form], affine: bool) -> Form:
        name = op.op
        if all(x.is_const for x in xs):
            return const(ir.scalar.apply(name, [x.c for x in xs]))
        if name == "select" and xs[0].is_const:
            return xs[1] if xs[0].c else xs[2]
        if name == "and" and any(x.is_const and not x.c for x in xs):
            return const(0)
        if name == "or" and any(x.is_const and x.c for x in xs):
            return const(1)
        if name in ("add", "sub", "neg") or (name == "mul" and affine):
            if name == "add":
                return lin([(1, xs[0]), (1, xs[1])])
            if name == "sub":
                return lin([(1, xs[0]), (-1, xs[1])])
            if name == "neg":
                return lin([(-1, xs[0])])
            a, x = (xs[0], xs[1]) if xs[0].is_const else (xs[1], xs[0])
            return lin([(a.c, x)])
        if name in ("min", "max") and len(xs) > 2:
            return self.extremum_tree(name, xs, op.span)
        return self.fn(name, xs, op.span)

    def extremum_tree(self, name: str, xs: list[Form], span) -> Form:
        consts = [x.c for x in xs if x.is_const]
        leaves = [x for x in xs if not x.is_const]
        if consts:
            leaves.append(const(min(consts) if name == "min" else max(consts)))
        while len(leaves) > 1:
            nxt = [self.fn(name, [leaves[i], leaves[i + 1]], span)
                   for i in range(0, len(leaves) - 1, 2)]
            if len(leaves) % 2:
                nxt.append(leaves[-1])
            leaves = nxt
        return leaves[0]

    def extremum_flat(self, name: str, xs: list[Form], span) -> Form:
        """min/max of many values at constant depth (`cost.extremum_layers`): x_i wins iff it
        beats every other (strictly those before it, ties to the first): one layer of pairwise
        comparison ridges, one AND gate per candidate, then the winner's value, a select per
        candidate summed (exactly one wins)."""
        sign = 1 if name == "max" else -1
        consts = [x.c for x in xs if x.is_const]
        leaves = [x for x in xs if not x.is_const]
        if consts:
            leaves.append(const(max(consts) if name == "max" else min(consts)))
        if len(leaves) == 1:
            return leaves[0]
        terms = []
        for i, xi in enumerate(leaves):
            us = [self.beats(sign, 0 if i < j else 1, xi, xj, const(1), span)
                  for j, xj in enumerate(leaves) if j != i]
            if any(u.is_const and not u.c for u in us):
                continue
            live = [u for u in us if not u.is_const]
            if not live:
                h = const(1)
            else:
                s = lin([(1, u) for u in live])
                need = len(live)
                h = self.gate(("atleast", need), lambda need=need, s=s: G.ridge(
                    lambda v: int(v >= need), (1,), [s.range], self.act), [s], span)
            terms.append(self.masked(xi, h, 0, span))
        lo, hi = min(x.lo for x in leaves), max(x.hi for x in leaves)
        return clip(lin([(1, t) for t in terms]), lo, hi)

    # ---- gathers

    def gather(self, op: ir.Gather) -> np.ndarray:
        table = self.get(op.table)
        index = [self.get(i) for i in op.index]
        shape = self.shape(op.out.domain)
        out = np.empty(shape, object)
        fill = self.fill(op.out.type)
        for idx in np.ndindex(*shape):
            ix = [i[idx] for i in index]
            if all(i.is_const for i in ix):
                pos = tuple(i.c for i in ix)
                inside = all(0 <= c < n for c, n in zip(pos, table.shape))
                out[idx] = table[pos] if inside else fill
            elif len(ix) == 1:
                out[idx] = self.mux(table, ix[0], op.span)
            else:
                raise _unsupported(op.span, "a computed read of a field with several axes")
        return out

    def fill(self, t) -> Form:
        # what a read outside the field gives; the program's own guards never observe it
        if isinstance(t, T.Int) and t.lo is not None and not math.isinf(t.lo):
            return const(int(t.lo))
        return const(0)

    def mux(self, table: np.ndarray, d: Form, span) -> Form:
        """table[d] for a computed index d in one layer: the constant entries as one table over
        d, each computed entry x_t as the table (x, d) -> x if d == t else 0 (0 outside)."""
        fixed = {t: table[t].c for t in range(len(table)) if table[t].is_const}
        terms = []
        if fixed:
            key = ("mux-const", tuple(sorted(fixed.items())))
            terms.append(self.gate(key, lambda: G.table(lambda x: fixed.get(x, 0), [d.range],
                                                        self.act, TABLE_LIMIT), [d], span))
        for t in range(len(table)):
            x = table[t]
            if x.is_const or not (d.lo <= t <= d.hi):
                continue
            if x.lo >= 0 and x.hi <= 1:  # a bit: a table along (x, d) is a few units
                make = (lambda t=t, x=x: G.table(lambda xv, dv: xv if dv == t else 0,
                                                 [x.range, d.range], self.act, TABLE_LIMIT))
            else:  # wide values: `pick` keeps the weights small
                make = (lambda t=t, x=x: G.pick(x.range, d.range, t, self.act))
            terms.append(self.gate(("mux", t, x.lo >= 0 and x.hi <= 1), make, [x, d], span))
        if not terms:
            return const(0)
        # one entry at most is selected (none when d is outside the table: then 0), so the sum
        # lies in the hull of the entries and 0, far inside the interval sum of the terms
        reach = [table[t] for t in range(len(table)) if d.lo <= t <= d.hi]
        lo = min([0] + [x.lo for x in reach])
        hi = max([0] + [x.hi for x in reach])
        return clip(lin([(1, f) for f in terms]), lo, hi)

