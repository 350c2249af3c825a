"""The transformer's depth in blocks, from a sequence program's IR (docs/analysis.md, "layers").

The cost model's `layers` counts communication rounds; the transformer target spends more: its
residual stream alternates attention and MLP sublayers (block b = attention 2b, MLP 2b + 1) and
every value is a slot written by one task, so a round of attention usually waits for an MLP
that computes its query and key features, and a head's average waits for an MLP that decodes
it. This module derives the blocks from the program's dependency structure with one cost rule
per construct, written down here and in docs/analysis.md, without building anything:

- inputs, positions and the BOS / real-row / constant-1 flags are the embedding: ready at 0;
- a position-local expression is fused into ONE MLP over its leaves (the values some input or
  communication makes); a bare numeric leaf needs none, a constant one MLP reading the 1 flag;
- an aggregation over positions is one head per alternative of its condition (inclusion-
  exclusion over the `or`s) whose query/key features are each one MLP first (a one-hot, or an
  indicator row, of each side of each comparison; `j <= i` of bare positions is the causal
  mask, free), then one MLP that decodes the head's average; `any`/`all` one more MLP (the
  threshold), several alternatives one more (the signed sum), `mean` a sum and a count and one
  MLP pairing them, `only` of a position one more; `min`/`max`/`argmin`/`argmax` one head with
  nothing to decode; a read `x[e]` is one head matching position = e (features first);
- `n` is a head counting the rows and an MLP decoding it, a size formula one MLP more;
- a task runs at the first sublayer of its kind after its inputs are ready (ASAP) and after
  the last repeat before it; a repeat's body starts a fresh block after everything before it,
  its carried values are copied in by one MLP before and copied back by one MLP after the
  body's last reader, and the body's range of blocks runs `count` times.

These are the rules the target's construction follows (compiler/targets/transformer/, its
allocator in residual.py); tests/test_layers_match.py compares the count with
the blocks of the compiled network for every stdlib and docs sequence program. A construct the
target refuses raises `Unmodelled` here too, and the analysis then reports no block count.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from nclang.dsl import types as T

from .. import ir
from ..dnf import dnf

_AGG_OF_FOLD = {"max": "max", "min": "min", "+": "sum", "or": "any", "and": "all"}
_ORDER = ("le", "lt", "ge", "gt")
# The target's bound on one fused MLP gadget's input grid (compiler/targets/transformer/slots.py
# TABLE_LIMIT): a position-local expression over more leaf combinations is computed from its
# operands first, one MLP more on the path.
TABLE_LIMIT = 1 << 14
_EXTRA_TOKENS = ("a", "b", "z")  # the target's default vocabulary: the program's tokens and these


class Unmodelled(Exception):
    """A construct outside the transformer target (it refuses it, with its own error)."""


@dataclass(eq=False)
class _Slot:
    """A value in the residual stream, as far as depth is concerned: when it is readable, who
    reads it (kind and sublayer), and whether it is a one-hot (a token)."""
    ready: int
    onehot: bool = False
    write_at: int = -1
    reads: list = field(default_factory=list)


@dataclass(frozen=True)
class _Fn:
    """A position-local function of leaf values, by structure (`key` identifies it, to share);
    `parts` its operands, from which a too-large table is built in two steps."""
    key: tuple
    leaves: tuple
    token: bool = False
    parts: tuple = ()


def _leaf(v: ir.Value) -> _Fn:
    return _Fn(("leaf", v.id), (v,), isinstance(v.type, T.Token))


def _const(c) -> _Fn:
    return _Fn(("const", repr(c)), (), isinstance(c, str))


def _compose(op: str, parts, token=False) -> _Fn:
    leaves = []
    for p in parts:
        leaves += [x for x in p.leaves if x not in leaves]
    return _Fn((op,) + tuple(p.key for p in parts), tuple(leaves), token, tuple(parts))


class _Model:
    def __init__(self, program: ir.Program, n: int):
        self.n = n
        self.defs: dict = {}
        for op in ir.walk(program.ops):
            if isinstance(op, ir.Loop):
                continue
            for v in ir.outputs(op):
                self.defs[v] = op
        self.program = program
        tokens = {op.value for op in ir.walk(program.ops)
                  if isinstance(op, ir.Const) and isinstance(op.value, str)}
        self.vocab = len(tokens | set(_EXTRA_TOKENS))
        self.embed = _Slot(0)
        self.floor, self.last = 0, -1
        self.intervals: dict = {}
        self.materialized: dict = {}
        self.cache: dict = {}
        self.n_value = None
        self.body_slots: list | None = None  # the slots the current repeat body writes
        self.loops: list = []  # per repeat: (blocks of its body, count)

    # ---- scheduling

    def task(self, kind: str, inputs, onehot=False) -> _Slot:
        """One head ("att", even sublayers) or MLP ("mlp", odd) reading `inputs`: at the first
        sublayer of its kind after they are ready (and after the last repeat)."""
        at = max([self.floor] + [s.ready for s in inputs])
        at += at % 2 != (0 if kind == "att" else 1)
        self.last = max(self.last, at)
        for s in inputs:
            s.reads.append((kind, at))
        out = _Slot(at + 1, onehot, at)
        if self.body_slots is not None:
            self.body_slots.append(out)
        return out

    def mlp(self, inputs, onehot=False) -> _Slot:
        return self.task("mlp", list(inputs) or [self.embed], onehot)

    # ---- values

    def slot(self, v: ir.Value) -> _Slot:
        if v in self.materialized:
            return self.materialized[v]
        op = self.defs.get(v)
        match op:
            case ir.Input():
                if v.domain != (ir.POS,):
                    raise Unmodelled("a parameter that is not a sequence")
                s = _Slot(0, isinstance(v.type, T.Token))
            case ir.Iota():
                s = self.embed
            case ir.Broadcast(arg=arg):
                s = self.slot(arg)
            case ir.Size():
                s = self.size(op)
            case ir.Gather():
                s = self.gather(op)
            case ir.Aggregate():
                s = self.aggregate(op)
            case ir.Fold():
                s = self.fold(op)
            case ir.Local() | ir.Const():
                s = self.materialize(self.fn(v))
            case _:
                raise Unmodelled(f"the value %{v.id}")
        self.materialized[v] = s
        return s

    def fn(self, v: ir.Value) -> _Fn:
        op = self.defs.get(v)
        match op:
            case ir.Const(value=c):
                return _const(int(c) if isinstance(c, bool) else c)
            case ir.Broadcast(arg=arg) if not arg.domain:
                return self.fn(arg)
            case ir.Local(op=name, args=args):
                return _compose(name, [self.fn(a) for a in args], isinstance(v.type, T.Token))
        return _leaf(v)

    def materialize(self, fn: _Fn) -> _Slot:
        """A slot holding fn: the leaf's own (a number), else one MLP over its leaves."""
        if fn.key in self.cache:
            return self.cache[fn.key]
        if fn.key[0] == "leaf":
            s = self.slot(fn.leaves[0])
            if not s.onehot:
                return s
        if not fn.leaves and not fn.token:
            return self.const(fn.key)
        grid = 1
        for x in fn.leaves:
            grid *= self.values(x)
        if grid > TABLE_LIMIT and fn.parts and not fn.token:
            # too many combinations for one gadget: its operands first, then one MLP over them
            inputs = [self.materialize(p) for p in fn.parts if p.leaves]
        else:
            inputs = [self.slot(x) for x in fn.leaves]
        s = self.mlp(inputs, fn.token)
        self.cache[fn.key] = s
        return s

    def values(self, v: ir.Value) -> int:
        """How many values a leaf takes at lengths up to n (its table's grid axis): the
        vocabulary for tokens, else the integers of its interval."""
        if isinstance(v.type, T.Token):
            return self.vocab
        lo, hi = self.interval(v)
        return hi - lo + 1

    def interval(self, v: ir.Value) -> tuple[int, int]:
        """Bounds on an integer (or Boolean, 0/1) value at lengths 1..n, propagated through
        the ops; a carried value's as the target finds it, iterating the body's bounds."""
        if v in self.intervals:
            return self.intervals[v]
        op, t, n = self.defs.get(v), v.type, self.n
        if isinstance(t, T.Bool):
            out = (0, 1)
        else:
            match op:
                case ir.Input():
                    out = (int(t.lo), int(t.hi)) if _finite(t) else (0, TABLE_LIMIT)
                case ir.Const(value=c):
                    out = (int(c), int(c)) if not isinstance(c, (str, type(None), float)) \
                        else (-1, -1)
                case ir.Iota():
                    out = (0, n - 1)
                case ir.Size(expr=e):
                    vals = [ir.size_int(e, {"n": m}) for m in range(1, n + 1)]
                    out = (min(vals), max(vals))
                case ir.Broadcast(arg=arg) | ir.Gather(table=arg):
                    out = self.interval(arg)
                case ir.Local():
                    out = _local_interval(op.op, [self.interval(a) for a in op.args])
                case ir.Aggregate(agg=agg) | ir.Fold(op=agg):
                    agg = _AGG_OF_FOLD.get(agg, agg)
                    body = getattr(op, "body", None) or getattr(op, "arg", None)
                    b = self.interval(body) if body is not None else (0, 1)
                    if agg in ("count",):
                        out = (0, n)
                    elif agg == "sum":
                        out = (n * min(b[0], 0), n * max(b[1], 0))
                    elif agg in ("argmin", "argmax"):
                        out = (-1, n - 1)
                    elif agg == "only" and isinstance(t, (T.Index, T.NoneType)):
                        out = (min(b[0], -1), b[1])
                    else:
                        out = b
                case _:
                    out = (int(t.lo), int(t.hi)) if _finite(t) else (0, TABLE_LIMIT)
        self.intervals[v] = out
        return out

    def carried_intervals(self, loop: ir.Loop, trips: int) -> None:
        saved = dict(self.intervals)
        cur = {c: self.interval(c.init) for c in loop.carried}
        for _ in range(trips):
            self.intervals = dict(saved)
            for c in loop.carried:
                self.intervals[c.param] = cur[c]
            new = {}
            for c in loop.carried:
                lo, hi = self.interval(c.next)
                new[c] = (min(lo, cur[c][0]), max(hi, cur[c][1]))
            if new == cur:
                break
            cur = new
        self.intervals = saved
        for c in loop.carried:
            self.intervals[c.param] = self.intervals[c.out] = cur[c]

    def const(self, key) -> _Slot:
        key = ("constslot", key)
        if key not in self.cache:
            self.cache[key] = self.mlp([self.embed])
        return self.cache[key]

    def indicators(self, fn: _Fn, what) -> _Slot:
        key = ("ind", fn.key, what)
        if key not in self.cache:
            self.cache[key] = self.mlp([self.slot(x) for x in fn.leaves])
        return self.cache[key]

    def bare_onehot(self, fn: _Fn) -> bool:
        return fn.key[0] == "leaf" and self.slot(fn.leaves[0]).onehot

    def length(self) -> _Slot:
        if self.n_value is None:
            avg = self.task("att", [self.embed])
            self.n_value = self.mlp([avg])
        return self.n_value

    def size(self, op: ir.Size) -> _Slot:
        nv = self.length()
        values = {ir.size_int(op.expr, {"n": m}) for m in range(1, self.n + 1)}
        if len(values) == 1:
            return self.const(("const", repr(values.pop())))
        return self.mlp([nv])

    # ---- attention

    def split(self, v: ir.Value, agg: ir.Aggregate):
        """("side", "k" | "q" | "g", fn) for a value of one side of the selection, or a Boolean
        tree of ("atom", op, key fn, query fn) comparisons of the two sides."""
        if len(v.domain) == 1:
            return ("side", "k", self.fn(v))
        op = self.defs.get(v)
        match op:
            case ir.Broadcast(arg=arg):
                if not arg.domain:
                    return ("side", "g", self.fn(arg))
                if len(arg.domain) == 1:
                    return ("side", "k" if op.axes[0] == agg.axis else "q", self.fn(arg))
            case ir.Local(op=name, args=args):
                parts = [self.split(a, agg) for a in args]
                if all(p[0] == "side" for p in parts):
                    sides = {p[1] for p in parts} - {"g"}
                    if len(sides) <= 1:
                        return ("side", sides.pop() if sides else "g",
                                _compose(name, [p[2] for p in parts],
                                         isinstance(v.type, T.Token)))
                    if name in ir.COMPARISONS and len(parts) == 2:
                        a, b = parts
                        if a[1] == "q" or b[1] == "k":
                            a, b = b, a
                        return ("atom", name, a[2], b[2])
                if name in ("and", "or", "not"):
                    return (name, *parts)
            case ir.Const():
                return ("side", "g", self.fn(v))
        raise Unmodelled("a condition mixing the two positions outside a comparison")

    def dnf(self, node) -> list[list]:
        def negate(lit):
            if lit[0] == "side":
                return ("side", lit[1], _compose("not", [lit[2]]))
            return lit  # an atom: the same features either way
        return dnf(node, negate)

    def _iota(self, fn: _Fn) -> bool:
        return fn.key[0] == "leaf" and isinstance(self.defs.get(fn.leaves[0]), ir.Iota)

    def features(self, lits) -> list[_Slot]:
        """The slots a head's scores read for a conjunction of literals: per side condition its
        materialized value, per comparison a one-hot of one side and an indicator row of the
        other (a bare token's own one-hot serves), the first order of bare positions the mask."""
        out, mask = [], False
        for lit in lits:
            if lit[0] == "side":
                fn = lit[2]
                if fn.key[0] == "const" and fn.key[1] not in ("0", "False", "None"):
                    continue
                out.append(self.materialize(fn))
                continue
            _, name, kf, qf = lit
            if self._iota(kf) and self._iota(qf) and name in _ORDER and not mask:
                mask = True
                continue
            if self.bare_onehot(kf) and self.bare_onehot(qf):
                out += [self.slot(kf.leaves[0]), self.indicators(qf, ("query", name))]
            else:
                out += [self.indicators(kf, ("key", name)), self.indicators(qf, ("query", name))]
        return out

    def head(self, inputs) -> _Slot:
        return self.task("att", [self.embed] + list(inputs))

    def aggregate(self, op: ir.Aggregate) -> _Slot:
        if op.kind != "attention" or len(op.body_domain) > 2:
            raise Unmodelled(f"an aggregation over {op.reduced}")
        cond = self.split(op.cond, op) if op.cond is not None else ("side", "g", _const(1))
        terms = self.dnf(cond)
        if op.body is not None and op.agg in ("any", "all", "sum") \
                and len(op.body_domain) == 2 and not self._one_sided(op.body, op):
            return self.mixed_body(op, cond)
        body = self.split(op.body, op) if op.body is not None else None
        if op.agg in ("argmax", "argmin", "max", "min"):
            return self.extreme(terms, body)
        if op.agg == "mean":
            s = self.counted(op, terms, body, "sum")
            c = self.counted(op, terms, body, "count")
            return self.mlp([s, c])
        return self.counted(op, terms, body, op.agg)

    def fold(self, op: ir.Fold) -> _Slot:
        # scan: the aggregation over j <= i (the causal mask), reduce: over every position
        if not isinstance(op.op, str) or op.op not in _AGG_OF_FOLD or op.arg.domain != (ir.POS,):
            raise Unmodelled(f"{op.kind} with this operator")
        agg = _AGG_OF_FOLD[op.op]
        body = ("side", "k", self.fn(op.arg))
        if agg in ("max", "min"):
            return self.extreme([[]], body)
        return self.counted(None, [[]], body, agg)

    def _one_sided(self, v, op) -> bool:
        try:
            return self.split(v, op)[0] == "side"
        except Unmodelled:
            return False

    def extreme(self, terms, body) -> _Slot:
        """One head whose score ranks the selected keys; its average is the winner's value."""
        if len(terms) > 1 or body is None or body[0] != "side":
            raise Unmodelled("an extremum over alternatives or of a mixed body")
        key = self.materialize(body[2])
        return self.head(self.features(terms[0]) + [key])

    def counted(self, op, terms, body, agg) -> _Slot:
        """count / sum / any / all / only: per subset of the alternatives one head and one MLP
        decoding its average, the signed sum of several one MLP, a threshold one MLP more."""
        if agg == "count":
            value = []
        elif agg == "all":
            value = [self.materialize(_compose("not", [body[2]]))]
        else:
            value = [self.materialize(body[2])]
        subsets = [c for r in range(1, len(terms) + 1)
                   for c in _combinations(range(len(terms)), r)]
        parts = []
        for sub in subsets:
            lits = [lit for i in sub for lit in terms[i]]
            avg = self.head(self.features(lits) + value)
            parts.append(self.mlp([avg]))
        x = parts[0] if len(parts) == 1 else self.mlp(parts)
        if agg in ("any", "all"):
            return self.mlp([x])
        if agg == "only" and op is not None and isinstance(op.out.type, (T.Index, T.NoneType)):
            return self.mlp([x])
        return x

    def mixed_body(self, op, cond) -> _Slot:
        """any / all / sum of a body comparing the two sides: the comparison joins the
        condition (a count), `any`/`all` then a threshold MLP; sum of `x if b else y` two
        sums and one MLP adding them."""
        v = op.body
        if isinstance(v.type, T.Bool):
            b = self.split(v, op)
            c = self.counted(op, self.dnf(("and", cond, b)), None, "count")
            return c if op.agg == "sum" else self.mlp([c])
        src = self.defs.get(v)
        if op.agg == "sum" and isinstance(src, ir.Local) and src.op == "select":
            c_v, x_v, y_v = src.args
            b = self.split(c_v, op)
            xs, ys = self.split(x_v, op), self.split(y_v, op)
            a = self.counted(op, self.dnf(("and", cond, b)), xs, "sum")
            e = self.counted(op, self.dnf(("and", cond, ("not", b))), ys, "sum")
            return self.mlp([a, e])
        raise Unmodelled("a body comparing the two positions here")

    def gather(self, op: ir.Gather) -> _Slot:
        """x[e]: one head whose key position matches e; its features read an indicator row of
        the positions and of e."""
        if len(op.index) != 1 or len(op.table.domain) != 1:
            raise Unmodelled("a read of a field with other than one position axis")
        table = self.slot(op.table)
        idx = self.fn(op.index[0])
        pos = self.embed
        feats = [self._position_indicators(pos), self.indicators(idx, ("query", "eq"))]
        out = self.head(feats + [table])
        out.onehot = table.onehot
        return out

    def _position_indicators(self, pos) -> _Slot:
        key = ("ind", "position")
        if key not in self.cache:
            self.cache[key] = self.mlp([pos])
        return self.cache[key]

    # ---- repeat

    def loop(self, loop: ir.Loop) -> None:
        for c in loop.carried:
            if c.init is None or c.param is None:
                raise Unmodelled("a repeat that first assigns a variable in its body")
        trips = [max(ir.size_int(loop.count, {"n": m}), 0)
                 for m in range(1, self.n + 1)]
        self.carried_intervals(loop, max(trips))
        inits = [self.slot(c.init) for c in loop.carried]
        carried = [self.mlp([s], s.onehot) for s in inits]
        start = self.last + 1
        start += start % 2
        self.floor = start
        snapshot = (dict(self.cache), dict(self.materialized), self.n_value)
        self.body_slots = []
        for c, C in zip(loop.carried, carried):
            self.materialized[c.param] = C
        nexts = [self.slot(c.next) for c in loop.carried]
        copies = False
        for C, nx in zip(carried, nexts):
            if nx is C:
                continue
            copies = True
            # the copy back waits for the body's last reader of the carried slot
            after = [at if kind == "mlp" else at + 1 for kind, at in C.reads if at >= start]
            at = max([self.floor, nx.ready, C.ready] + after)
            at += at % 2 == 0
            self.last = max(self.last, at)
            nx.reads.append(("mlp", at))
            C.reads.append(("mlp", at))
        body = self.body_slots
        self.body_slots = None
        if not body and not copies:
            end = start + 1
        else:
            ends = [start - 1] + [self.last]
            for s in body:
                if s.reads:
                    kind, at = max(s.reads, key=lambda r: r[1])
                    ends.append(at if kind == "mlp" else at + 1)
                else:
                    ends.append(s.write_at + 1 + ((s.write_at + 1) % 2 == 0))
            end = max(ends)
            end += end % 2 == 0
        self.floor, self.last = end + 1, max(self.last, end)
        self.loops.append((end // 2 - start // 2 + 1, loop.count))
        self.cache, self.materialized, self.n_value = snapshot
        for c, C in zip(loop.carried, carried):
            self.materialized[c.out] = C

    def run(self) -> sympy.Expr:
        for op in self.program.ops:
            if isinstance(op, ir.Loop):
                if any(isinstance(o, ir.Loop) for o in ir.walk(op.body)):
                    raise Unmodelled("a repeat inside a repeat")
                self.loop(op)
        for _, v in self.program.results:
            self.slot(v)
        total = sympy.Integer(self.last // 2 + 1 if self.last >= 0 else 0)
        for blocks, count in self.loops:
            total += blocks * (count - 1)
        return sympy.expand(total)


def _finite(t) -> bool:
    return isinstance(t, T.Int) and t.lo is not None and t.hi is not None \
        and abs(t.lo) != float("inf") and abs(t.hi) != float("inf")


def _local_interval(op: str, args: list) -> tuple[int, int]:
    """Bounds of one pointwise op from its operands' (Booleans are 0/1)."""
    if op in ir.COMPARISONS or op in ("and", "or", "not", "xor"):
        return (0, 1)
    if op == "select":
        (_, _), (a0, a1), (b0, b1) = args
        return (min(a0, b0), max(a1, b1))
    if op in ("min", "max"):
        f = min if op == "min" else max
        return (f(a[0] for a in args), f(a[1] for a in args))
    if op == "neg":
        return (-args[0][1], -args[0][0])
    if op == "abs":
        lo, hi = args[0]
        return (0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
    if op in ("add", "sub", "mul") and len(args) == 2:
        (a0, a1), (b0, b1) = args
        if op == "add":
            return (a0 + b0, a1 + b1)
        if op == "sub":
            return (a0 - b1, a1 - b0)
        xs = [a0 * b0, a0 * b1, a1 * b0, a1 * b1]
        return (min(xs), max(xs))
    if op == "mod" and len(args) == 2 and args[1][0] > 0:
        return (0, args[1][1] - 1)
    if op in ("floordiv", "div") and len(args) == 2 and args[1][0] > 0:
        xs = [a // b for a in args[0] for b in args[1]]
        return (min(xs + [0]), max(xs + [0]))
    return (-TABLE_LIMIT, TABLE_LIMIT)


def _combinations(xs, r):
    import itertools
    return itertools.combinations(xs, r)


def transformer_blocks(program: ir.Program, n: int) -> sympy.Expr:
    """The blocks the transformer runs for this sequence program compiled for lengths up to n,
    a formula in n (a repeat's body counted `count` times). `n` matters only where the network
    does: a size that is one number at every length 1..n is a constant there. Raises
    `Unmodelled` for a construct the target refuses."""
    return _Model(program, n).run()
