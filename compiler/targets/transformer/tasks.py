"""Planning: walk the IR once and add, per construct, the tasks (MLP gadgets and attention
heads) and slots it needs, before any weight exists; `repeat` bodies become weight-tied block
ranges. The position-local and attention constructs are planned by the two mixins."""
from __future__ import annotations

import itertools
import dataclasses

import numpy as np

from nclang.compiler import gadgets as G
from nclang.compiler import ir
from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError
from nclang.dsl.pretty import pretty_type

from .attention import AttentionMixin
from .fusion import FusionMixin
from .residual import allocate
from ..registry import DTYPES
from .slots import MLPTask, Slot, _unsupported

# scan / reduce of a builtin operator over a sequence, as the aggregation of each prefix (scan:
# the positions j <= i) or of every position (reduce): a sequence has a position, so neither
# selection is empty. xor, * and a def operator have no such aggregation here.
_FOLD_AGG = {"max": "max", "min": "min", "+": "sum", "or": "any", "and": "all"}


def _folds_as_attention(program: ir.Program) -> ir.Program:
    ids = itertools.count(ir.max_value_id(program) + 1)

    def val(domain, t):
        return ir.Value(next(ids), tuple(domain), t)

    def expand(op) -> list:
        if isinstance(op, ir.Loop):
            return [dataclasses.replace(op, body=tuple(x for o in op.body for x in expand(o)))]
        if not (isinstance(op, ir.Fold) and isinstance(op.op, str) and op.op in _FOLD_AGG
                and op.arg.domain == (ir.POS,)):
            return [op]
        agg, span, arg = _FOLD_AGG[op.op], op.span, op.arg
        if op.kind == "reduce":
            return [ir.Aggregate(op.out, agg, 0, arg, None, None, None, span)]
        pair = (ir.POS, ir.POS)
        pos_t = T.Index(T.POS)
        ji, ii = val((ir.POS,), pos_t), val((ir.POS,), pos_t)
        jb, ib = val(pair, pos_t), val(pair, pos_t)
        le, body = val(pair, T.Bool()), val(pair, arg.type)
        return [ir.Iota(ji, span), ir.Iota(ii, span), ir.Broadcast(jb, ji, (1,), span),
                ir.Broadcast(ib, ii, (0,), span), ir.Local(le, "le", (jb, ib), span),
                ir.Broadcast(body, arg, (1,), span),
                ir.Aggregate(op.out, agg, 1, body, le, None, None, span)]
    ops = tuple(x for o in program.ops for x in expand(o))
    return dataclasses.replace(program, ops=ops)


class TransformerPlanner(FusionMixin, AttentionMixin):
    def __init__(self, checked, program: ir.Program, n: int, dtype: str, vocab):
        self.checked, self.program, self.n, self.dtype = checked, program, n, dtype
        self.np_dtype, self.limit = np.dtype(dtype), DTYPES[dtype].limit
        self.vocab = vocab
        self.defs: dict[ir.Value, ir.Op] = {}
        self.domains: dict[ir.Value, tuple] = {}
        self.slots: list[Slot] = []
        self.tasks: list = []
        self.cache: dict = {}
        self.materialized: dict[ir.Value, Slot] = {}
        self.in_enc, self.out_enc = [], []
        self.n_value: Slot | None = None
        # the embedding: a one-hot BOS flag, a flag for real rows, a constant 1, the position
        self.bos = self.slot("bos", 1, False, (0, 1), keep=True)
        self.real = self.slot("real", 1, False, (0, 1), keep=True)
        self.one = self.slot("one", 1, False, (1,), keep=True)
        self.pos = self.slot("position", 1, False, tuple(range(n)), keep=True)
        self.max_score = 0
        self.loops: list[dict] = []  # per repeat: task and slot index ranges, trip count
        self.refusals: list | None = None  # collecting every refusal instead of the first

    # ---- plumbing

    def slot(self, name, width, onehot, domain, keep=False) -> Slot:
        s = Slot(name, width, onehot, tuple(domain), keep=keep)
        self.slots.append(s)
        return s

    def add(self, task):
        task.dest.writer = task
        for s in task.inputs:
            s.readers.append(task)
        self.tasks.append(task)
        return task.dest
    def leaf_slot(self, v: ir.Value) -> Slot:
        if v in self.materialized:
            return self.materialized[v]
        if self.refusals is None:
            return self._leaf_slot(v)
        try:
            return self._leaf_slot(v)
        except NclError as err:
            if any(d.code != "transformer-unsupported" for d in err.diagnostics):
                raise
            self.refuse(err)
            return self.stand_in(v)

    def refuse(self, err: NclError) -> None:
        """Record a refusal (once per span: a stand-in may be refused again downstream)."""
        seen = {(d.line, d.col) for d in self.refusals}
        self.refusals += [d for d in err.diagnostics if (d.line, d.col) not in seen]

    def stand_in(self, v: ir.Value) -> Slot:
        """A slot of v's kind holding one value, so that the rest of the program is still
        planned (nothing is assembled from it: the refusals are raised at the end)."""
        if isinstance(v.type, T.Token):
            dom = self.vocab
            slot = self.slot(f"refused %{v.id}", len(dom), True, dom)
        else:
            dom = (0,)
            slot = self.slot(f"refused %{v.id}", 1, False, dom)
        self.domains[v] = tuple(dom)
        self.materialized[v] = slot
        return slot

    def _leaf_slot(self, v: ir.Value) -> Slot:
        op = self.defs.get(v)
        match op:
            case ir.Broadcast(arg=arg):
                slot = self.leaf_slot(arg)
            case ir.Iota():
                slot = self.pos
            case ir.Size():
                slot = self.size_slot(op)
            case ir.Gather():
                slot = self.gather(op)
            case ir.Aggregate():
                slot = self.aggregate(op)
            case ir.Local() | ir.Const():
                slot = self.materialize_fn(self.fn(v), op.span, f"%{v.id}")
            case _:
                raise _unsupported(getattr(op, "span", A.NOSPAN), f"the value %{v.id}")
        self.materialized[v] = slot
        return slot
    # ---- program

    def run(self) -> None:
        p = self.checked.program
        params = {prm.name: prm for prm in p.params}
        for o in ir.walk(self.program.ops):
            try:
                if isinstance(o, ir.Fold):
                    what = f"'{o.op}'" if isinstance(o.op, str) else f"the def '{o.op.name}'"
                    raise _unsupported(o.span, f"{o.kind} with {what} (max, min, +, or and and "
                                               "compile; xor, * and def operators do not)")
                if isinstance(o, ir.Loop):
                    if not any(o is top for top in self.program.ops):
                        raise _unsupported(o.span, "a repeat inside a repeat")
                    continue
            except NclError as err:
                if self.refusals is None:
                    raise
                self.refuse(err)  # its values are refused again, at the same span, if read
            for v in ir.outputs(o):
                self.defs[v] = o
        for o in self.program.ops:
            if isinstance(o, ir.Input):
                prm = params[o.name]
                t = o.out.type
                try:
                    dom = self.domain(o.out)
                    if o.out.domain != (ir.POS,):
                        raise _unsupported(o.span, "a parameter that is not a sequence")
                except NclError as err:
                    if self.refusals is None:
                        raise
                    self.refuse(err)
                    self.stand_in(o.out)
                    continue
                onehot = isinstance(t, T.Token)
                s = self.slot(o.name, len(dom) if onehot else 1, onehot, dom, keep=True)
                self.materialized[o.out] = s
                self.in_enc.append({"name": o.name, "type": pretty_type(prm.type),
                                    "kind": "token" if onehot else "int",
                                    "vocab": list(dom), "slot": s})
        for o in self.program.ops:
            if isinstance(o, ir.Loop) and self.refusals is not None:
                try:
                    self.loop(o)
                except NclError as err:
                    self.refuse(err)
                    for c in o.carried:
                        self.stand_in(c.out)
            elif isinstance(o, ir.Loop):
                self.loop(o)
        for name, v in self.program.results:
            s = self.leaf_slot(v)
            kind = T.scalar_kind(v.type)
            if getattr(s, "frac", False):
                kind = "frac"
            s.keep = True
            self.out_enc.append({"name": name, "kind": kind, "per_position": bool(v.domain),
                                 "slot": s, "type": str(v.type)})

    # ---- repeat: weight-tied blocks

    def trips(self, loop: ir.Loop) -> list[int]:
        return [max(ir.size_int(loop.count, {"n": m}), 0)
                for m in range(1, self.n + 1)]

    def _union(self, a: tuple, b: tuple) -> tuple:
        both = set(a) | set(b)
        if any(isinstance(x, str) for x in both):
            return tuple(x for x in self.vocab if x in both)
        return tuple(range(min(both), max(both) + 1))  # numeric slots hold integer ranges

    def loop(self, loop: ir.Loop) -> None:
        """The body compiles once into blocks the runtime runs `count` times. Each carried value
        lives in one fixed slot C: before the loop C = init, after each iteration C = next (a
        linear MLP writing next - C). On the BOS row C is held at 0 (the copies subtract the BOS
        row's value), so the BOS row enters every iteration in the same state and the network's
        BOS corrections hold for every trip count."""
        for c in loop.carried:
            if c.init is None or c.param is None:
                raise _unsupported(loop.span, f"a repeat that first assigns '{c.name}' inside "
                                              f"its body (assign it before the repeat)")
        t_max = max(self.trips(loop))
        # carried domains: every value reachable in up to t_max iterations
        saved = dict(self.domains)
        cur = {c: self._union(self.domain(c.init), ()) for c in loop.carried}
        for _ in range(t_max):
            self.domains = dict(saved)
            for c in loop.carried:
                self.domains[c.param] = cur[c]
            new = {c: self._union(cur[c], self.domain(c.next)) for c in loop.carried}
            if new == cur:
                break
            cur = new
        self.domains = dict(saved)
        for c in loop.carried:
            self.domains[c.param] = self.domains[c.out] = cur[c]
        # the carried slots and their initial copies (before the loop)
        inits = [self.leaf_slot(c.init) for c in loop.carried]
        carried = []
        for c, init in zip(loop.carried, inits):
            if init.onehot and tuple(init.domain) != cur[c]:
                raise _unsupported(loop.span, f"a repeat whose token variable '{c.name}' "
                                              f"takes new values in the loop")
            width = len(cur[c]) if init.onehot else 1
            C = self.slot(f"loop {c.name}", width, init.onehot, cur[c])
            self.add(self.copy_task(init, C, f"loop {c.name} = init", False))
            carried.append(C)
        start_task, start_slot = len(self.tasks), len(self.slots)
        snapshot = (dict(self.cache), dict(self.materialized), self.n_value)
        for c, C in zip(loop.carried, carried):
            self.materialized[c.param] = C
        nexts = [self.leaf_slot(c.next) for c in loop.carried]
        for c, C, nx in zip(loop.carried, carried, nexts):
            if nx is C:
                continue
            if nx.onehot != C.onehot or nx.width != C.width:
                raise _unsupported(loop.span, f"a repeat whose variable '{c.name}' changes "
                                              f"encoding in the loop")
            t = self.copy_task(nx, C, f"loop {c.name} = next", True)
            for s in t.inputs:
                s.readers.append(t)
            self.tasks.append(t)
        self.cache, self.materialized, self.n_value = snapshot
        for c, C in zip(loop.carried, carried):
            self.materialized[c.out] = C
        self.loops.append({"tasks": (start_task, len(self.tasks)),
                           "slots": (start_slot, len(self.slots)),
                           "count": ir.format_size(loop.count), "expr": loop.count,
                           "until_stable": bool(loop.until_stable),
                           "carried": [c.name for c in loop.carried]})

    def copy_task(self, src: Slot, C: Slot, what: str, back: bool) -> MLPTask:
        """C += src - (src's BOS-row value) * bos - C (C is 0 on the BOS row): a linear map,
        built once the BOS row's state before the block is known."""
        w = src.width
        ins = [src, C, self.bos] if back else [src, self.bos]
        box = [(min(src.lo, 0), max(src.hi, 0)) if not src.onehot else (0, 1)] * w

        def fill(x_bos):
            k = np.asarray(x_bos)[src.channels]
            W = np.zeros((w, (2 * w if back else w) + 1))
            W[:, :w] = np.eye(w)
            if back:
                W[:, w:2 * w] = -np.eye(w)
            W[:, -1] = -k
            boxes = box + (box if back else []) + [(0, 1)]
            return G._make([G.Layer(W, np.zeros(w), "id")], boxes, box)
        return MLPTask(ins, None, C, what, copy_back=back, fill=fill)

    # ---- schedule (the residual allocator)

    def layout(self):
        """The residual allocator's schedule of the tasks into blocks (computed once)."""
        if getattr(self, "_layout", None) is None:
            embed = [self.bos, self.real, self.one, self.pos] + [e["slot"] for e in self.in_enc]
            self._layout = allocate(self.slots, self.tasks, embed, self.loops)
        return self._layout
