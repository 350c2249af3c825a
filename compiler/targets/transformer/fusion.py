"""Position-local fusion: an expression over leaf values (inputs, positions, aggregates,
gathers) becomes one `Fn` of its leaves, and one MLP gadget (`gadgets.table`, or a linear map of
a one-hot code) computes it into a slot; also the value domains every gadget is enumerated over.
A mixin of `tasks.TransformerPlanner`: it reads the planner's slots, caches and domains."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from nclang.compiler import gadgets as G
from nclang.compiler import ir
from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError

from .slots import TABLE_LIMIT, MLPTask, Slot, _unsupported


@dataclass(frozen=True, eq=False)
class Fn:
    """A position-local function of leaf values (values some communication or input makes):
    `f(*leaf_values)`. `key` identifies what it computes, for sharing."""
    leaves: tuple
    f: object
    key: tuple
    op: str | None = None   # how it was composed, to split a too-large table into its parts
    parts: tuple = ()

    def __eq__(self, other):
        return isinstance(other, Fn) and self.key == other.key

    def __hash__(self):
        return hash(self.key)


def _compose(op: str, parts: list[Fn]) -> Fn:
    leaves = []
    for p in parts:
        for x in p.leaves:
            if x not in leaves:
                leaves.append(x)
    where = [[leaves.index(x) for x in p.leaves] for p in parts]

    def f(*vals, parts=parts, where=where):
        return ir.scalar.apply(op, [p.f(*[vals[i] for i in w]) for p, w in zip(parts, where)])
    return Fn(tuple(leaves), f, (op,) + tuple(p.key for p in parts), op, tuple(parts))


def _leaf(v) -> Fn:
    return Fn((v,), lambda x: x, ("leaf", v.id))


def _const_fn(c) -> Fn:
    return Fn((), lambda c=c: c, ("const", repr(c)))


def _check_block(block: G.Block, limit, span) -> None:
    if G.bound(block) >= limit:
        raise NclError.at(span, "not-exact", f"the MLP gadget for this value needs intermediates "
                                             f"up to {G.bound(block):.0f}, past {limit}")


class FusionMixin:
    def domain(self, v: ir.Value) -> tuple:
        if v not in self.domains:
            self.domains[v] = self._domain(v)
        return self.domains[v]

    def _domain(self, v: ir.Value) -> tuple:
        op = self.defs.get(v)
        t = v.type
        if isinstance(t, T.Token):
            return self.vocab
        if isinstance(t, T.Bool):
            return (0, 1)
        match op:
            case ir.Input():
                if isinstance(t, T.Int) and t.lo is not None and math.isfinite(t.lo) \
                        and t.hi is not None and math.isfinite(t.hi):
                    return tuple(range(int(t.lo), int(t.hi) + 1))
                raise _unsupported(op.span, f"an input of type {t}: token inputs need a "
                                            f"finite vocabulary (seq[token] or seq[int[lo..hi]])")
            case ir.Const(value=c):
                return (c,)
            case ir.Iota():
                return tuple(range(self.n))
            case ir.Size(expr=e):
                return tuple(sorted({ir.size_int(e, {"n": m})
                                     for m in range(1, self.n + 1)}))
            case ir.Broadcast(arg=arg):
                return self.domain(arg)
            case ir.Gather(table=table):
                return self.domain(table)
            case ir.Local():
                return self.fn_domain(self.fn(v), op.span)
            case ir.Aggregate():
                return self.aggregate_domain(op)
        raise _unsupported(getattr(op, "span", A.NOSPAN), f"this value ({type(op).__name__})")

    def aggregate_domain(self, op: ir.Aggregate) -> tuple:
        n = self.n
        match op.agg:
            case "count":
                return tuple(range(0, n + 1))
            case "sum":
                body = self.domain_on_body(op.body, op)
                lo, hi = min(min(body), 0), max(max(body), 0)
                return tuple(range(n * lo, n * hi + 1))
            case "any" | "all":
                return (0, 1)
            case "argmin" | "argmax":
                return tuple(range(-1, n))
            case "only" | "min" | "max":
                body = self.domain_on_body(op.body, op)
                if isinstance(op.out.type, (T.Index, T.NoneType)):
                    return tuple(sorted(set(body) | {-1}))
                return body
            case "mean":
                return ()
        raise _unsupported(op.span, f"'{op.agg}' over positions")

    def domain_on_body(self, v: ir.Value, op) -> tuple:
        """The values of a body-domain value (2-D ones through the leaf they are built from)."""
        if len(v.domain) == 1:
            return self.domain(v)
        node = self.split(v, op)
        if node[0] != "side":
            raise _unsupported(op.span, "a body that mixes the selecting and selected positions")
        return self.fn_domain(node[2], op.span)

    def fn_domain(self, fn: Fn, span) -> tuple:
        doms = [self.domain(x) for x in fn.leaves]
        size = math.prod(len(d) for d in doms)
        if size > TABLE_LIMIT * 16:
            raise _unsupported(span, f"a position-local value over {size} input combinations")
        vals = {fn.f(*xs) for xs in itertools.product(*doms)}
        if any(isinstance(x, str) for x in vals):
            return tuple(x for x in self.vocab if x in vals)
        return tuple(sorted(int(x) for x in vals))

    # ---- position-local functions

    def fn(self, v: ir.Value) -> Fn:
        """v as a function of leaves (v's own domain; Broadcasts of global values see through)."""
        op = self.defs.get(v)
        match op:
            case ir.Const(value=c):
                return _const_fn(int(c) if isinstance(c, bool) else c)
            case ir.Broadcast(arg=arg) if not arg.domain:
                return self.fn(arg)
            case ir.Local(op=name, args=args):
                return _compose(name, [self.fn(a) for a in args])
        return _leaf(v)

    def materialize_fn(self, fn: Fn, span, what: str) -> Slot:
        """A numeric slot holding fn (one MLP gadget over fn's leaves)."""
        if fn.key in self.cache:
            return self.cache[fn.key]
        if fn.key[0] == "leaf":
            slot = self.leaf_slot(fn.leaves[0])
            if not slot.onehot:
                return slot
        dom = self.fn_domain(fn, span)
        if any(isinstance(x, str) for x in dom):
            # a computed token value (`"x" if c else tokens[i]`): a one-hot over the tokens it
            # may take, one table gadget over its leaves
            if not all(isinstance(x, str) for x in dom):
                raise _unsupported(span, "a value that is a token or a number")
            fns = [Fn(fn.leaves, lambda *xs, v=v: int(fn.f(*xs) == v), (fn.key, "onehot", i))
                   for i, v in enumerate(dom)]
            slot = self.slot(what, len(dom), True, dom)
            self.add(self.table_task(fns, None, span, what, dest=slot))
            self.cache[fn.key] = slot
            return slot
        if not fn.leaves:
            return self.const_slot(int(fn.f()))
        grid = math.prod(len(self.domain(x)) for x in fn.leaves)
        if grid > TABLE_LIMIT and fn.parts:
            # too many input combinations for one gadget: compute the operands first
            subs = []
            for part in fn.parts:
                ps = self.materialize_fn(part, span, what) if part.leaves else None
                if ps is None:
                    subs.append(part)
                    continue
                v = ir.Value(-len(self.slots), (ir.POS,), T.Int())
                self.domains[v] = ps.domain
                self.materialized[v] = ps
                subs.append(_leaf(v))
            fn = _compose(fn.op, subs)
        slot = self.slot(what, 1, False, dom)
        self.cache[fn.key] = slot
        self.add(self.table_task([fn], [slot], span, what))
        return slot

    def table_task(self, fns: list[Fn], outs: list[Slot] | None, span, what, dest=None):
        """One MLP task computing each fn (all over the same leaves) into one slot of
        len(fns) channels, or numeric `outs` (one fn each, merged into one task of one slot)."""
        leaves = []
        for fn in fns:
            for x in fn.leaves:
                if x not in leaves:
                    leaves.append(x)
        if dest is None:
            dest = outs[0]
        if not leaves:
            # constants only (the query row of `tokens[0]`: indicators of a constant index):
            # biases, read off the constant-1 channel so that the task has an input
            cs = [int(fn.f()) for fn in fns]
            blk = G._make([G.Layer(np.zeros((len(cs), 1)), cs, "id")], [(1, 1)],
                          [(c, c) for c in cs])
            return MLPTask([self.one], blk, dest, what)
        inputs = [self.leaf_slot(x) for x in leaves]
        # per leaf: (list of domain values, block mapping the leaf's channels to an index)
        codes = []
        for x, s in zip(leaves, inputs):
            dom = self.domain(x)
            if s.onehot:
                W = np.arange(len(dom), dtype=np.float64).reshape(1, -1)
                codes.append((dom, G._make([G.Layer(W, [0], "id")], [(0, 1)] * s.width,
                                           [(0, len(dom) - 1)])))
            else:
                lo = min(dom)
                codes.append((dom, G._make([G.Layer([[1]], [-lo], "id")], [(lo, max(dom))],
                                           [(0, max(dom) - lo)])))
        idx = [[leaves.index(x) for x in fn.leaves] for fn in fns]
        blocks = []
        for fn, w in zip(fns, idx):
            if not fn.leaves:
                c = fn.f()
                blocks.append(G._make([G.Layer(np.zeros((1, 1)), [int(c)], "id")], [(0, 0)],
                                      [(int(c), int(c))]))
                continue

            def g(*codes_, fn=fn, w=w):
                vals = [codes[i][0][c] for i, c in zip(w, codes_)]
                return int(fn.f(*vals))
            try:
                sh = G.table(g, [(0, len(codes[i][0]) - 1) for i in w], "relu", TABLE_LIMIT)
            except ValueError as err:
                raise _unsupported(span, f"this position-local value: {err}") from None
            body = sh.block()
            blocks.append(G.chain(G.route([(0, len(codes[i][0]) - 1) for i in range(len(leaves))],
                                          w), body) if leaves else body)
        front = G.parallel(*[c for _, c in codes])
        outer = G.chain(front, G.share(*blocks)) if len(blocks) > 1 else G.chain(front, blocks[0])
        _check_block(outer, self.limit, span)
        return MLPTask(inputs, outer, dest, what)
    def size_slot(self, op: ir.Size) -> Slot:
        nv = self.length()
        e = op.expr
        fn = Fn(("n",), lambda m, e=e: ir.size_int(e, {"n": m}), ("size", str(e)))
        dom = tuple(sorted({fn.f(m) for m in range(1, self.n + 1)}))
        if len(dom) == 1:
            return self.const_slot(dom[0])
        slot = self.slot(f"size {ir.format_size(e)}", 1, False, dom)
        sh = G.table(lambda m: fn.f(m), [(1, self.n)], "relu", TABLE_LIMIT)
        self.add(MLPTask([nv], sh.block(), slot, f"size {ir.format_size(e)}"))
        return slot

    def const_slot(self, c: int) -> Slot:
        key = ("constslot", c)
        if key not in self.cache:
            slot = self.slot(f"const {c}", 1, False, (c,))
            blk = G._make([G.Layer([[0]], [0], "relu"), G.Layer([[0]], [c], "id")], [(1, 1)],
                          [(c, c)])
            self.add(MLPTask([self.one], blk, slot, f"const {c}"))
            self.cache[key] = slot
        return self.cache[key]
