"""The transformer target: a sequence program → an exact decoder-style transformer for every
length 1..n (n from `--size n=N`, the maximum length).

The network reads a beginning-of-sequence (BOS) row and one row per token; its residual stream
holds the program's values, one slot (a set of channels) per value: a number in one channel
(integers, booleans as 0/1, positions), or a one-hot code over a finite domain (tokens). Values
on the global domain `()` are held at every row alike and read at the BOS row.

Lowering (docs/weights.md, "transformer"):
- position-local expressions are fused over their leaves (inputs, positions, aggregates, gathers)
  and computed by one MLP gadget from `nclang.compiler.gadgets` (`table`, or a linear map of a one-hot
  code);
- an aggregation over positions is one attention head. Its condition is split into atoms, each
  comparing a key-side and a query-side expression; an atom adds 1 to the score when it holds
  (one-hot × indicator features) or, for equality of wide numbers, -(k - q)^2 + q^2. The selected
  keys then share the maximal score, every other key is at least 1 lower, and the scores are
  scaled by LAMBDA = 1024: softmax gives each selected key exactly 1/(c+1) (the BOS row is
  selected with them) and every other key exp(-1024) = 0 in float32 and float64 alike.
  `count`/`sum`/`mean`/`only`/`any`/`all` average their values with the BOS row's and decode the
  integer with `gadgets.ratio_decoder`; `argmax`/`argmin`/`max`/`min` and gathers `x[f(i)]`
  select one key exactly and copy its value. `j <= i`-style atoms are causal masks.
  A disjunction is split by inclusion-exclusion (count(p or q) = count(p) + count(q) -
  count(p and q)).
- `mean` results are (sum, count) integer pairs; the runtime divides once in float64, which is
  the interpreter's correctly rounded ratio.
- the residual stream is allocated with liveness (`nclang.compiler.targets.residual`): a slot is
  cleared (an MLP writes -x) after its last reader and its channels are reused.

Refusals: an attention score that float32 (float64) cannot hold exactly, an average whose
decoding margin the rounding could eat, and IR this target does not map (a repeat inside a
repeat, a frac used inside the program, a condition mixing both sides inside arithmetic) are
NclErrors at the span.

`repeat SIZE { … }` compiles to weight-tied blocks: the body is one range of blocks, stored once,
that the runtime runs SIZE times (evaluated exactly from each input's length); the carried
variables keep fixed slots (`loop`, and architecture["loops"]).

No torch here: compiling needs numpy only.
"""
from __future__ import annotations

import itertools
import math
import operator
import dataclasses
from dataclasses import dataclass, field

import numpy as np
import sympy

from nclang.compiler import gadgets as G
from nclang.compiler import ir
from nclang.compiler.lower import lower
from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError
from nclang.dsl.pretty import pretty_type

from .residual import allocate

LAMBDA = 1024              # score units per unit of margin: exp(-1024) is 0 in float32 and float64
DTYPES = {"float32": (np.float32, 2 ** 24), "float64": (np.float64, 2 ** 53)}
TABLE_LIMIT = 1 << 14      # grid points one fused MLP gadget may enumerate
NUMERIC_EQ_MIN = 8         # equality of values with wider domains uses -(k - q)^2 scores
MAX_DISJUNCTS = 3          # inclusion-exclusion over at most this many disjuncts (2^d - 1 heads)
ATTENTION_MARGIN = "attention-margin"
DEFAULT_EXTRA_TOKENS = ("a", "b", "z")


@dataclass
class TransformerArtifact:
    tensors: dict[str, np.ndarray]
    architecture: dict
    encodings: dict


# ---------------------------------------------------------------- slots and tasks

@dataclass(eq=False)
class Slot:
    """A value in the residual stream: `width` channels; `domain` the values it takes (a one-hot
    slot: the value of each channel; a numeric slot: every integer it may hold)."""
    name: str
    width: int
    onehot: bool
    domain: tuple
    writer: object = None
    readers: list = field(default_factory=list)
    channels: list[int] = field(default_factory=list)
    keep: bool = False  # an output, or an embedding slot: never cleared
    write_at: int = -1
    free_at: int | None = None

    @property
    def lo(self):
        return min(self.domain)

    @property
    def hi(self):
        return max(self.domain)


@dataclass(eq=False)
class MLPTask:
    """dest = block(inputs): the block's input vector is the inputs' channels concatenated."""
    inputs: list[Slot]
    block: G.Block
    dest: Slot
    what: str
    at: int = -1
    copy_back: bool = False  # writes a loop's next value into its carried slot (not its writer)
    fill: object = None      # builds `block` from the BOS row's state before the block runs


@dataclass(eq=False)
class Head:
    """One attention head. q/k: per score feature, (slot, channel offset, weight) terms; the
    score of key j for query i is LAMBDA * sum_f q_f(i) k_f(j), causal masks aside. v: per value
    dimension, (slot, offset, weight) terms. dest receives the head's output, dimension by
    dimension."""
    q: list[list[tuple[Slot, int, float]]]
    k: list[list[tuple[Slot, int, float]]]
    v: list[list[tuple[Slot, int, float]]]
    dest: Slot
    mask: str | None
    what: str
    at: int = -1

    @property
    def inputs(self) -> list[Slot]:
        seen = []
        for feats in (self.q, self.k, self.v):
            for terms in feats:
                for s, _, _ in terms:
                    if s not in seen:
                        seen.append(s)
        return seen


# ---------------------------------------------------------------- functions of leaves

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


def _apply(op: str, a: list):
    """One pointwise op as the interpreter computes it on integers, booleans (0/1) and tokens."""
    ops = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
           "eq": lambda x, y: int(x == y), "ne": lambda x, y: int(x != y),
           "lt": lambda x, y: int(x < y), "le": lambda x, y: int(x <= y),
           "gt": lambda x, y: int(x > y), "ge": lambda x, y: int(x >= y),
           "and": lambda x, y: int(bool(x) and bool(y)), "or": lambda x, y: int(bool(x) or bool(y)),
           "xor": lambda x, y: int(bool(x) != bool(y)),
           "floordiv": lambda x, y: x // y if y else 0, "mod": lambda x, y: x % y if y else 0}
    if op in ops:
        return ops[op](a[0], a[1])
    match op:
        case "neg":
            return -a[0]
        case "abs":
            return abs(a[0])
        case "not":
            return int(not a[0])
        case "select":
            return a[1] if a[0] else a[2]
        case "min":
            return min(a)
        case "max":
            return max(a)
    raise KeyError(op)


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


def _compose(op: str, parts: list[Fn]) -> Fn:
    leaves = []
    for p in parts:
        for x in p.leaves:
            if x not in leaves:
                leaves.append(x)
    where = [[leaves.index(x) for x in p.leaves] for p in parts]

    def f(*vals, parts=parts, where=where):
        return _apply(op, [p.f(*[vals[i] for i in w]) for p, w in zip(parts, where)])
    return Fn(tuple(leaves), f, (op,) + tuple(p.key for p in parts), op, tuple(parts))


def _leaf(v) -> Fn:
    return Fn((v,), lambda x: x, ("leaf", v.id))


def _const_fn(c) -> Fn:
    return Fn((), lambda c=c: c, ("const", repr(c)))


def _unsupported(span, what: str) -> NclError:
    return NclError.at(span, "transformer-unsupported", f"the transformer target cannot compile "
                                                         f"{what}")


# ---------------------------------------------------------------- entry point

def compile_transformer(checked, sizes: dict[str, int], activation: str = "relu",
                        dtype: str = "float32", vocab: tuple[str, ...] | None = None,
                        self_check: bool = True) -> TransformerArtifact:
    """The exact transformer of a sequence program for every length 1..sizes["n"]; with
    `self_check`, first run on the boundary inputs against the interpreter (`verify`)."""
    p = checked.program
    if checked.family != "seq":
        raise NclError.at(p.name_span, "wrong-target",
                          f"the transformer target compiles sequence programs; '{p.name}' is a "
                          f"{checked.family} program")
    if activation != "relu":
        raise NclError.at(p.name_span, "transformer-unsupported",
                          "the transformer target builds relu MLP blocks; drop --activation step")
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; one of {', '.join(DTYPES)}")
    n = sizes.get("n")
    if n is None:
        raise NclError.at(p.name_span, "missing-size",
                          "the transformer target needs the maximum length: pass --size n=N")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise NclError.at(p.name_span, "bad-size", f"size n must be a positive integer, got {n!r}")
    vocab = tuple(vocab) if vocab else default_vocabulary(checked)
    b = _plan(checked, n, dtype, vocab)
    art = b.artifact()
    if self_check:
        from .verify import verify_transformer
        verify_transformer(checked, art, n, dtype, [lp["expr"] for lp in b.loops], vocab)
    return art


def _plan(checked, n: int, dtype: str, vocab: tuple[str, ...]) -> "_Builder":
    """The program's tasks (heads and MLP gadgets) at maximum length n, before assembly: the one
    plan that both `compile_transformer` and `block_count` read."""
    b = _Builder(checked, _folds_as_attention(lower(checked)), n, dtype, vocab)
    b.run()
    return b


def block_count(checked, n: int, dtype: str = "float32",
                vocab: tuple[str, ...] | None = None):
    """The blocks the compiled network runs at maximum length n, as a formula in `n`: the
    blocks the residual allocator schedules the plan's tasks into, with every repeat's body
    range counted `count` times (the runtime runs it that often). The analysis reports this as
    the transformer's layers (`nclang.compiler.analysis.transformer_layers`); it builds no weight file
    and runs no self-check. Raises the target's NclError where the target refuses."""
    vocab = tuple(vocab) if vocab else default_vocabulary(checked)
    b = _plan(checked, n, dtype, vocab)
    layout = b.layout()
    total = sympy.Integer(len(layout.blocks))
    for lp in b.loops:
        first, last = lp["blocks"]
        total += (last - first + 1) * (lp["expr"] - 1)
    return sympy.expand(total)


def default_vocabulary(checked) -> tuple[str, ...]:
    """The token literals of the program in source order, then a, b, z: the same vocabulary
    `nclang test` draws from (nclang.compiler.testing.inputs.vocabulary), so a default-compiled network
    can be property-tested as it is."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, A.StrLit):
            if node.value not in found:
                found.append(node.value)
        elif isinstance(node, (list, tuple)):
            for x in node:
                walk(x)
        elif hasattr(node, "__dataclass_fields__") and not isinstance(node, A.Span):
            for name in node.__dataclass_fields__:
                walk(getattr(node, name))
    walk(checked.program)
    for d in checked.defs.values():
        walk(d)
    return tuple(found) + tuple(t for t in DEFAULT_EXTRA_TOKENS if t not in found)


class _Builder:
    def __init__(self, checked, program: ir.Program, n: int, dtype: str, vocab):
        self.checked, self.program, self.n, self.dtype = checked, program, n, dtype
        self.np_dtype, self.limit = DTYPES[dtype]
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

    # ---- domains

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
                return tuple(sorted({int(round(ir.evaluate(e, {"n": m})))
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
        codes = []  # per leaf: (list of domain values, block mapping the leaf's channels to an index)
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

    def leaf_slot(self, v: ir.Value) -> Slot:
        if v in self.materialized:
            return self.materialized[v]
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

    # ---- sizes

    def length(self) -> Slot:
        """n, the sequence length, at every row: a head selecting every row averages the BOS
        flag to 1/(n+1) and the real-row flag to n/(n+1)."""
        if self.n_value is None:
            tmp = self.slot("avg n", 2, False, (0, 1))
            self.add(Head([[(self.one, 0, 0)]], [[(self.one, 0, 0)]],
                          [[(self.bos, 0, 1)], [(self.real, 0, 1)]], tmp, None, "count rows"))
            self.n_value = self.decode(tmp, 1, self.n, "n", A.NOSPAN)
        return self.n_value

    def size_slot(self, op: ir.Size) -> Slot:
        nv = self.length()
        e = op.expr
        fn = Fn(("n",), lambda m, e=e: int(round(ir.evaluate(e, {"n": m}))), ("size", str(e)))
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

    def decode(self, tmp: Slot, lo_hi_or_dom, hi=None, name="", span=A.NOSPAN,
               thresholds=None, value_dim=1) -> Slot:
        """The integer X from a head's (1/(c+1), X/(c+1)) outputs (dims 0 and value_dim)."""
        if hi is None:
            lo, hi = min(lo_hi_or_dom), max(lo_hi_or_dom)
        else:
            lo = lo_hi_or_dom
        bound = max(abs(lo), abs(hi), 1)
        if thresholds is None:
            err = G.ratio_margin_error(self.n, bound, self.np_dtype)
            if err >= 1:
                raise NclError.at(span, ATTENTION_MARGIN,
                                  f"the attention average for this value cannot be decoded "
                                  f"exactly: values up to {bound} averaged over up to "
                                  f"{self.n + 1} rows leave a rounding error of {err:.2f} "
                                  f"against a margin of 1 in {self.dtype}; use a smaller "
                                  f"--size n or --dtype float64")
        blk = G.ratio_decoder(lo, hi, self.n, thresholds)
        box = [(min(lo, 0), max(hi, 0))] * tmp.width
        box[0] = (0, 1)
        blk = G.chain(G.route(box, [value_dim, 0]), blk)
        out = self.slot(name, 1, False, (0, 1) if thresholds else tuple(range(lo, hi + 1)))
        self.add(MLPTask([tmp], blk, out, f"decode {name}"))
        return out

    # ---- attention

    def split(self, v: ir.Value, agg: ir.Aggregate):
        """A body-domain value of an aggregation as ("side", "k"|"q", Fn) — depending on one
        side only — or a Boolean tree of ("atom", op, key Fn, query Fn)."""
        if len(v.domain) == 1:
            return ("side", "k", self.fn(v))
        r = agg.axis
        op = self.defs.get(v)
        match op:
            case ir.Broadcast(arg=arg):
                if not arg.domain:
                    return ("side", "g", self.fn(arg))
                if len(arg.domain) == 1:
                    return ("side", "k" if op.axes[0] == r else "q", self.fn(arg))
            case ir.Local(op=name, args=args):
                parts = [self.split(a, agg) for a in args]
                if all(p[0] == "side" for p in parts):
                    sides = {p[1] for p in parts} - {"g"}
                    if len(sides) <= 1:
                        return ("side", sides.pop() if sides else "g",
                                _compose(name, [p[2] for p in parts]))
                    if name in ir.COMPARISONS and len(parts) == 2:
                        a, b = parts
                        if a[1] == "q" or b[1] == "k":
                            a, b = b, a
                            name = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}.get(name, name)
                        return ("atom", name, a[2], b[2])
                if name in ("and", "or", "not"):
                    return (name, *parts)
            case ir.Const():
                return ("side", "g", self.fn(v))
        raise _unsupported(agg.span, "this condition: each comparison must set a value of the "
                                     "selected position against one of the selecting position")

    def dnf(self, node, agg) -> list[list]:
        """The condition as a list of conjunctions (lists of literals)."""
        def neg(nd):
            match nd[0]:
                case "side":
                    return ("side", nd[1], _compose("not", [nd[2]]))
                case "atom":
                    flip = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le"}
                    return ("atom", flip[nd[1]], nd[2], nd[3])
                case "not":
                    return nd[1]
                case "and":
                    return ("or", neg(nd[1]), neg(nd[2]))
                case "or":
                    return ("and", neg(nd[1]), neg(nd[2]))

        def go(nd):
            match nd[0]:
                case "side" | "atom":
                    return [[nd]]
                case "not":
                    return go(neg(nd[1]))
                case "and":
                    return [a + b for a in go(nd[1]) for b in go(nd[2])]
                case "or":
                    return go(nd[1]) + go(nd[2])
        terms = go(node)
        if len(terms) > 16:
            raise _unsupported(agg.span, "a condition with this many alternatives")
        return terms

    def features(self, lits: list, agg, bos_level: bool):
        """Score features (q, k) and causal mask for a conjunction of literals; the BOS row
        scores the full level when `bos_level`, else one below it."""
        q, k, mask, level_one = [], [], None, 0
        span = agg.span
        for lit in lits:
            if lit[0] == "side":
                side, fn = lit[1], lit[2]
                if fn.leaves == () and fn.f():
                    continue
                if side == "k":
                    s = self.materialize_fn(fn, span, "key condition")
                    q.append([(self.one, 0, 1)])
                    k.append([(s, 0, 1)])
                else:  # a query-side (or global) condition: real keys score it, BOS scores 1
                    s = self.materialize_fn(fn, span, "query condition")
                    q.append([(s, 0, 1)])
                    k.append([(self.real, 0, 1)])
                    q.append([(self.one, 0, 1)])
                    k.append([(self.bos, 0, 1)])
                    continue
                level_one += 1
                continue
            _, name, kf, qf = lit
            if kf.key == ("leaf", self._iota_id(kf)) and qf.key == ("leaf", self._iota_id(qf)) \
                    and name in ("le", "lt", "ge", "gt") and mask is None:
                mask = name
                continue
            kdom, qdom = self.fn_domain(kf, span), self.fn_domain(qf, span)
            numeric = not any(isinstance(x, str) for x in kdom + qdom)
            if name == "eq" and numeric and min(len(kdom), len(qdom)) >= NUMERIC_EQ_MIN:
                km_, qm_ = max(map(abs, kdom)), max(map(abs, qdom))
                self.check_scores((2 * qm_ * km_ + km_ * km_ + qm_ * qm_) * LAMBDA, span)
                ks = self.materialize_fn(kf, span, "key")
                kk = self.materialize_fn(_compose("mul", [kf, kf]), span, "key squared")
                qs = self.materialize_fn(qf, span, "query")
                qq = self.materialize_fn(_compose("mul", [qf, qf]), span, "query squared")
                # 2kq - k^2 = q^2 - (k - q)^2: q^2 at k = q, at most q^2 - 1 elsewhere
                q += [[(qs, 0, 2)], [(self.one, 0, 1)], [(qq, 0, 1)]]
                k += [[(ks, 0, 1)], [(kk, 0, -1)], [(self.bos, 0, 1)]]
                continue
            # one-hot of the smaller side against the other side's indicator row
            op = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
                  "gt": operator.gt, "ge": operator.ge}[name]
            if len(kdom) <= len(qdom):
                oh = self.onehot(kf, kdom, span, "key one-hot")
                ind = self.indicators(qf, [lambda x, v=v: int(op(v, x)) for v in kdom], span,
                                      f"query {name} row")
                for c in range(len(kdom)):
                    q.append([(ind, c, 1)])
                    k.append([(oh, c, 1)])
            else:
                oh = self.onehot(qf, qdom, span, "query one-hot")
                ind = self.indicators(kf, [lambda x, v=v: int(op(x, v)) for v in qdom], span,
                                      f"key {name} row")
                for c in range(len(qdom)):
                    q.append([(oh, c, 1)])
                    k.append([(ind, c, 1)])
            level_one += 1
        level = level_one if bos_level else level_one - 1
        if level:
            q.append([(self.one, 0, 1)])
            k.append([(self.bos, 0, level)])
        if not q:
            q, k = [[(self.one, 0, 0)]], [[(self.one, 0, 0)]]
        return q, k, mask

    def _iota_id(self, fn: Fn):
        if len(fn.leaves) == 1 and isinstance(self.defs.get(fn.leaves[0]), ir.Iota):
            return fn.leaves[0].id
        return None

    def onehot(self, fn: Fn, dom, span, what) -> Slot:
        if fn.key[0] == "leaf":
            s = self.leaf_slot(fn.leaves[0])
            if s.onehot and tuple(s.domain) == tuple(dom):
                return s
        return self.indicators(fn, [lambda x, v=v: int(x == v) for v in dom], span, what)

    def indicators(self, fn: Fn, preds, span, what) -> Slot:
        key = ("ind", fn.key, what, tuple(p(x) for p in preds
                                          for x in self.fn_domain(fn, span)))
        if key in self.cache:
            return self.cache[key]
        fns = [Fn(fn.leaves, lambda *xs, p=p: p(fn.f(*xs)), (fn.key, what, i))
               for i, p in enumerate(preds)]
        slot = self.slot(what, len(fns), False, (0, 1))
        self.add(self.table_task(fns, None, span, what, dest=slot))
        self.cache[key] = slot
        return slot

    def head(self, q, k, v, dest, mask, what, span):
        bound = 0
        for qf, kf in zip(q, k):
            qm = sum(abs(w) * _magnitude(s) for s, _, w in qf)
            # the BOS row's key is its BOS-channel term alone (the compiler corrects it so), a
            # real row's has no BOS term: a key's magnitude is the larger of the two
            km = max(sum(abs(w) * _magnitude(s) for s, _, w in kf if s is not self.bos),
                     sum(abs(w) for s, _, w in kf if s is self.bos))
            bound += qm * km
        bound *= LAMBDA
        self.check_scores(bound, span)
        self.max_score = max(self.max_score, bound)
        self.add(Head(q, k, v, dest, mask, what))
        return dest

    def check_scores(self, bound, span) -> None:
        if bound >= self.limit:
            raise NclError.at(span, ATTENTION_MARGIN,
                              f"attention margin cannot be guaranteed: this selection needs "
                              f"scores up to {bound:.0f} (2^{math.log2(bound):.1f}) at n = "
                              f"{self.n}, past 2^{int(math.log2(self.limit))}, where {self.dtype} "
                              f"stops computing them exactly (margin 1 scaled by {LAMBDA})")

    def aggregate(self, op: ir.Aggregate) -> Slot:
        agg, span = op.agg, op.span
        if op.kind != "attention":
            raise _unsupported(span, f"an aggregation over {op.reduced}")
        if len(op.body_domain) > 2:
            raise _unsupported(span, "an aggregation with more than two position axes")
        cond = self.split(op.cond, op) if op.cond is not None else ("side", "g", _const_fn(1))
        terms = self.dnf(cond, op)
        if op.body is not None and agg in ("any", "all", "sum") and len(op.body_domain) == 2 \
                and not self._one_sided(op.body, op):
            return self.mixed_body(op, cond)
        body = self.split(op.body, op) if op.body is not None else None
        if body is not None and body[0] != "side":
            raise _unsupported(span, "a body that compares the selecting and selected "
                                     "positions (move the comparison into the condition)")
        name = f"{agg} %{op.out.id}"
        if agg in ("argmax", "argmin", "max", "min"):
            return self.select_extreme(op, terms, body, name)
        if len(terms) > 1 and agg not in ("count", "sum", "any", "all", "mean"):
            raise _unsupported(span, f"'{agg}' over a condition with alternatives ('or')")
        if len(terms) > MAX_DISJUNCTS:
            raise _unsupported(span, f"a condition with {len(terms)} alternatives (at most "
                                     f"{MAX_DISJUNCTS})")
        # inclusion-exclusion: sum over non-empty subsets of the disjuncts of their conjunction
        subsets = [c for r in range(1, len(terms) + 1)
                   for c in itertools.combinations(range(len(terms)), r)]
        if agg == "mean":
            if any(self.consumers(op.out)):
                raise _unsupported(span, "a mean used inside the program (a frac is computed "
                                         "only as a result, as an exact sum / count pair)")
            s = self.counted(op, subsets, terms, body, "sum", name + " sum")
            c = self.counted(op, subsets, terms, body, "count", name + " count")
            out = self.slot(name, 2, False, tuple(range(min(s.lo, 0), max(s.hi, self.n) + 1)))
            blk = G.parallel(G.identity([(s.lo, s.hi)]), G.identity([(c.lo, c.hi)]))
            self.add(MLPTask([s, c], blk, out, "mean pair"))
            out.frac = True
            return out
        return self.counted(op, subsets, terms, body, agg, name)

    def _one_sided(self, v, agg) -> bool:
        try:
            return self.split(v, agg)[0] == "side"
        except NclError:
            return False

    def mixed_body(self, op, cond) -> Slot:
        """any / all / sum of a body that compares the selecting and selected positions (or
        their values): the comparison moves into the condition. any(b if c) is
        count(c and b) >= 1, all(b if c) is count(c and not b) == 0, sum of a Boolean b is
        count(c and b), and sum(x if b else y if c) is sum(x if c and b) + sum(y if c and
        not b), x and y values of the selected position (or constants)."""
        agg, span, name = op.agg, op.span, f"{op.agg} %{op.out.id}"
        v = op.body

        def sel_count(tree, body, how, label):
            terms = self.dnf(tree, op)
            if len(terms) > MAX_DISJUNCTS:
                raise _unsupported(span, f"a condition with {len(terms)} alternatives (at most "
                                         f"{MAX_DISJUNCTS}) once the body's comparison joins it")
            subsets = [c for r in range(1, len(terms) + 1)
                       for c in itertools.combinations(range(len(terms)), r)]
            return self.counted(op, subsets, terms, body, how, label)
        if isinstance(v.type, T.Bool):
            b = self.split(v, op)
            if agg == "all":
                b = ("not", b)
            c = sel_count(("and", cond, b), None, "count", name + " count")
            if agg == "sum":
                return c
            bit = self.slot(name, 1, False, (0, 1))
            f = (lambda x: int(x >= 1)) if agg == "any" else (lambda x: int(x == 0))
            sh = G.table(f, [(c.lo, c.hi)], "relu", TABLE_LIMIT)
            self.add(MLPTask([c], sh.block(), bit, name))
            return bit
        src = self.defs.get(v)
        if agg == "sum" and isinstance(src, ir.Local) and src.op == "select":
            c_v, x_v, y_v = src.args
            b = self.split(c_v, op)
            xs, ys = self.split(x_v, op), self.split(y_v, op)
            if xs[0] == "side" and ys[0] == "side" and "q" not in (xs[1], ys[1]):
                a = sel_count(("and", cond, b), xs, "sum", name + " then")
                e = sel_count(("and", cond, ("not", b)), ys, "sum", name + " else")
                lo, hi = a.lo + e.lo, a.hi + e.hi
                out = self.slot(name, 1, False, tuple(range(lo, hi + 1)))
                ranges = [(a.lo, a.hi), (e.lo, e.hi)]
                blk = G.chain(G.parallel(*[G.identity([r]) for r in ranges]),
                              G._make([G.Layer(np.array([[1, 1]], np.float64), [0], "id")],
                                      ranges, [(lo, hi)]))
                self.add(MLPTask([a, e], blk, out, f"{name} (then + else)"))
                return out
        raise _unsupported(span, "a body that compares the selecting and selected positions "
                                 "here (any, all and sum of a comparison, and sum of "
                                 "'x if COMPARISON else y', compile; move it into the condition)")

    def _never_empty(self, lits) -> bool:
        """Whether a conjunction holds at the selecting position itself (j = i), so that the
        selection is never empty: each literal an inclusive comparison of the two positions
        (j <= i, j >= i, j == i) or of one value at both (tokens[j] == tokens[i])."""
        for lit in lits:
            if lit[0] == "side":
                if lit[2].leaves == () and lit[2].f():
                    continue
                return False
            _, name, kf, qf = lit
            if name not in ("eq", "le", "ge"):
                return False
            both_pos = self._iota_id(kf) is not None and self._iota_id(qf) is not None \
                and kf.key == ("leaf", self._iota_id(kf)) and qf.key == ("leaf", self._iota_id(qf))
            if not (both_pos or kf.key == qf.key):
                return False
        return True

    def consumers(self, v):
        for o in ir.walk(self.program.ops):
            if v in ir.operands(o):
                yield o

    def value_terms(self, body, agg, op):
        """The head's value dimension for `agg` over `body`, with its range."""
        if agg == "count":
            return [(self.real, 0, 1)], (0, 1)
        fn = body[2]
        if agg == "any":
            s = self.materialize_fn(fn, op.span, "any body")
            return [(s, 0, 1)], (0, 1)
        if agg == "all":
            s = self.materialize_fn(_compose("not", [fn]), op.span, "all body")
            return [(s, 0, 1)], (0, 1)
        s = self.materialize_fn(fn, op.span, f"{agg} body")
        if agg == "only" and isinstance(op.out.type, (T.Index, T.NoneType)):
            return [(s, 0, 1), (self.real, 0, 1)], (s.lo + 1, s.hi + 1)
        return [(s, 0, 1)], (s.lo, s.hi)

    def counted(self, op, subsets, terms, body, agg, name) -> Slot:
        if body is not None and body[1] == "q" and agg not in ("count",):
            raise _unsupported(op.span, "a body that depends on the selecting position only")
        vt, (vlo, vhi) = self.value_terms(body, agg, op)
        n = self.n
        parts = []
        for sub in subsets:
            lits = [lit for i in sub for lit in terms[i]]
            q, k, mask = self.features(lits, op, True)
            tmp = self.slot(f"avg {name}", 2, False, (min(vlo, 0), max(vhi, 1)))
            self.head(q, k, [[(self.bos, 0, 1)], vt], tmp, mask, name, op.span)
            if agg in ("count", "sum"):
                lo, hi = (0, n) if agg == "count" else (n * min(vlo, 0), n * max(vhi, 0))
            elif agg in ("any", "all"):
                lo, hi = 0, n
            else:
                lo, hi = min(vlo, 0), max(vhi, 0)
            parts.append((len(sub), self.decode(tmp, lo, hi, name, op.span)))
        if len(parts) == 1:
            x = parts[0][1]
        else:
            signs = [(-1) ** (r + 1) for r, _ in parts]
            lo = sum(min(s * p.lo, s * p.hi) for s, (_, p) in zip(signs, parts))
            hi = sum(max(s * p.lo, s * p.hi) for s, (_, p) in zip(signs, parts))
            lo, hi = max(lo, 0 if agg == "count" else lo), min(hi, n if agg == "count" else hi)
            x = self.slot(name, 1, False, tuple(range(lo, hi + 1)))
            W = np.array([signs], np.float64)
            ranges = [(p.lo, p.hi) for _, p in parts]
            blk = G.chain(G.parallel(*[G.identity([r]) for r in ranges]),
                          G._make([G.Layer(W, [0], "id")], ranges, [(lo, hi)]))
            self.add(MLPTask([p for _, p in parts], blk, x, f"{name} (inclusion-exclusion)"))
        if agg in ("any", "all"):
            bit = self.slot(name, 1, False, (0, 1))
            f = (lambda c: int(c >= 1)) if agg == "any" else (lambda c: int(c == 0))
            sh = G.table(f, [(x.lo, x.hi)], "relu", TABLE_LIMIT)
            self.add(MLPTask([x], sh.block(), bit, name))
            return bit
        if agg == "only" and isinstance(op.out.type, (T.Index, T.NoneType)):
            out = self.slot(name, 1, False, tuple(range(x.lo - 1, x.hi)))
            blk = G._make([G.Layer([[1]], [-x.lo], "relu"), G.Layer([[1]], [x.lo - 1], "id")],
                          [(x.lo, x.hi)], [(x.lo - 1, x.hi - 1)])
            self.add(MLPTask([x], blk, out, name))
            return out
        return x

    def select_extreme(self, op, terms, body, name) -> Slot:
        """argmax/argmin/max/min: one key wins exactly: score W * (condition level) + s_j with
        s_j = sign * (N+1) * body_j - j, unique per key; the BOS row (the empty selection's
        none) scores below every selected key and above every unselected one."""
        agg, span = op.agg, op.span
        if len(terms) > 1:
            raise _unsupported(span, f"'{agg}' over a condition with alternatives ('or')")
        if body is None or body[0] != "side" or body[1] == "q":
            raise _unsupported(span, f"'{agg}' of a value of the selecting position")
        if agg in ("max", "min") and terms != [[("side", "g", terms[0][0][2])]] \
                and op.cond is not None and not self._never_empty(terms[0]):
            inf = "-inf" if agg == "max" else "inf"
            raise _unsupported(span, f"'{agg}' over a condition that may select nothing: an "
                                     f"empty selection gives {inf}, which the network cannot "
                                     f"hold (a condition that holds at the selecting position, "
                                     f"such as j <= i, compiles)")
        sign = 1 if agg in ("argmax", "max") else -1
        bs = self.materialize_fn(body[2], span, f"{agg} key")
        N = self.n
        srange = (N + 1) * (bs.hi - bs.lo) + N
        q, k, mask = self.features(terms[0], op, False)
        # the condition's unit of score must outweigh every s_j difference
        Wc = srange + 2
        q = [[(s, c, w * Wc) for s, c, w in f] for f in q]
        if agg in ("argmax", "argmin"):
            if op.elem is None or not isinstance(self.defs.get(self._base(op.elem)), ir.Iota):
                raise _unsupported(span, f"'{agg}' whose element is not the position")
        # A key at condition level l scores l * Wc + s_j, s_j in [smax - srange, smax]; the BOS
        # row, given level L - 1 by `features` (L the full level), scores smax + 1 on top: just
        # below every selected key (L * Wc + smax - srange > that) and above every key that
        # fails a literal (at most (L - 1) * Wc + smax), so an empty selection gives none.
        smax = (bs.hi if sign > 0 else -bs.lo) * (N + 1)
        q.append([(self.one, 0, 1)])
        k.append([(bs, 0, sign * (N + 1)), (self.pos, 0, -1), (self.bos, 0, smax + 1)])
        if agg in ("argmax", "argmin"):
            v = [[(self.pos, 0, 1), (self.real, 0, 1), (self.one, 0, -1)]]
            out = self.slot(name, 1, False, tuple(range(-1, N)))
        else:
            v = [[(bs, 0, 1)]]
            out = self.slot(name, 1, False, bs.domain)
        return self.head(q, k, v, out, mask, name, span)

    def _base(self, v):
        op = self.defs.get(v)
        while isinstance(op, ir.Broadcast):
            v = op.arg
            op = self.defs.get(v)
        return v

    def gather(self, op: ir.Gather) -> Slot:
        if len(op.index) != 1 or len(op.table.domain) != 1:
            raise _unsupported(op.span, "a read of a field with other than one position axis")
        table = self.leaf_slot(op.table)
        idx = self.fn(op.index[0])
        span = op.span
        pos_fn = _leaf(self._pos_value())
        lit = ("atom", "eq", pos_fn, idx)
        fake = ir.Aggregate(op.out, "only", 1, None, None, None, None, span)
        # An index outside the sequence (`tokens[i - 1]` at i = 0, `tokens[i + 1]` at the last
        # position) matches no key. The program never observes such a read (it is guarded, or
        # the interpreter errs), but the fused gadgets that consume it are exact only on their
        # domain's grid, so a miss must still give a value of the domain, not an average of
        # every row. Hence the BOS row scores half a level below the match: the matching key
        # wins, and on a miss the BOS row wins alone and contributes the fill value (the
        # domain's first value; the BOS row's value features are its embedding terms only, see
        # `artifact`). Half a level is LAMBDA / 2 = 512 score units: exp(-512) is 0 in float32
        # (it underflows below exp(-104)), so float32 keeps the scores' size; in float64 it is
        # not 0, so there the scores are doubled instead (2^53 leaves room) and the BOS row
        # sits one full unit below the match.
        q, k, mask = self.features([lit], fake, True)
        if self.dtype == "float64":
            q = [[(s, c, 2 * w) for s, c, w in f] for f in q]
            q.append([(self.one, 0, 1)])
            k.append([(self.bos, 0, -1)])
        else:
            q.append([(self.one, 0, 1)])
            k.append([(self.bos, 0, -0.5)])
        out = self.slot(f"gather %{op.out.id}", table.width, table.onehot, table.domain)
        fill = 1 if table.onehot else table.lo  # channel 0: the first value's, or the number
        v = [[(table, c, 1)] + ([(self.bos, 0, fill)] if c == 0 and fill else [])
             for c in range(table.width)]
        return self.head(q, k, v, out, mask, f"gather %{op.out.id}", span)

    def _pos_value(self) -> ir.Value:
        v = ir.Value(-1, (ir.POS,), T.Index(T.POS))
        self.defs[v] = ir.Iota(v)
        self.materialized[v] = self.pos
        return v

    # ---- program

    def run(self) -> None:
        p = self.checked.program
        params = {prm.name: prm for prm in p.params}
        for o in ir.walk(self.program.ops):
            if isinstance(o, ir.Fold):
                what = f"'{o.op}'" if isinstance(o.op, str) else f"the def '{o.op.name}'"
                raise _unsupported(o.span, f"{o.kind} with {what} (max, min, +, or and and "
                                           "compile; xor, * and def operators do not)")
            if isinstance(o, ir.Loop):
                if not any(o is top for top in self.program.ops):
                    raise _unsupported(o.span, "a repeat inside a repeat")
                continue
            for v in ir.outputs(o):
                self.defs[v] = o
        for o in self.program.ops:
            if isinstance(o, ir.Input):
                prm = params[o.name]
                t = o.out.type
                dom = self.domain(o.out)
                if o.out.domain != (ir.POS,):
                    raise _unsupported(o.span, "a parameter that is not a sequence")
                onehot = isinstance(t, T.Token)
                s = self.slot(o.name, len(dom) if onehot else 1, onehot, dom, keep=True)
                self.materialized[o.out] = s
                self.in_enc.append({"name": o.name, "type": pretty_type(prm.type),
                                    "kind": "token" if onehot else "int",
                                    "vocab": list(dom), "slot": s})
        for o in self.program.ops:
            if isinstance(o, ir.Loop):
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
        return [max(int(round(ir.evaluate(loop.count, {"n": m}))), 0)
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

    # ---- assembly

    def layout(self):
        """The residual allocator's schedule of the tasks into blocks (computed once)."""
        if getattr(self, "_layout", None) is None:
            embed = [self.bos, self.real, self.one, self.pos] + [e["slot"] for e in self.in_enc]
            self._layout = allocate(self.slots, self.tasks, embed, self.loops)
        return self._layout

    def artifact(self) -> TransformerArtifact:
        layout = self.layout()
        d = layout.width
        N, V = self.n, None
        tensors: dict[str, np.ndarray] = {}
        np_dtype = self.np_dtype
        # embedding: token rows (the BOS token last), position rows (row 0 the BOS row)
        tok = self.in_enc[0]["slot"] if self.in_enc else None
        vocab = list(self.in_enc[0]["vocab"]) if self.in_enc else []
        V = len(vocab)
        E_tok = np.zeros((V + 1, d))
        if tok is not None:
            for i, v in enumerate(vocab):
                if tok.onehot:
                    E_tok[i, tok.channels[i]] = 1
                else:
                    E_tok[i, tok.channels[0]] = v
        E_pos = np.zeros((N + 1, d))
        E_pos[0, self.bos.channels[0]] = 1
        E_pos[:, self.one.channels[0]] = 1
        for i in range(N):
            E_pos[i + 1, self.real.channels[0]] = 1
            E_pos[i + 1, self.pos.channels[0]] = i
        tensors["embed.token"] = E_tok.astype(np_dtype)
        tensors["embed.position"] = E_pos.astype(np_dtype)
        blocks = []
        x_bos = E_tok[V] + E_pos[0]
        for b, (heads, mlps) in enumerate(layout.blocks):
            spec = {"heads": len(heads), "masks": [h.mask for h in heads], "what":
                    [h.what for h in heads] + [t.what for t in mlps]}
            if heads:
                dh = max(max(len(h.q), len(h.v)) for h in heads)
                Wq = np.zeros((len(heads), d, dh))
                Wk = np.zeros((len(heads), d, dh))
                Wv = np.zeros((len(heads), d, dh))
                Wo = np.zeros((len(heads), dh, d))
                for hi_, h in enumerate(heads):
                    for f, (qf, kf) in enumerate(zip(h.q, h.k)):
                        for s, c, w in qf:
                            Wq[hi_, s.channels[c], f] += w * LAMBDA
                        for s, c, w in kf:
                            Wk[hi_, s.channels[c], f] += w
                    for f, vf in enumerate(h.v):
                        for s, c, w in vf:
                            Wv[hi_, s.channels[c], f] += w
                        Wo[hi_, f, h.dest.channels[f]] = 1
                # The BOS row attends only to itself (the runtime's mask), so every value on it is
                # a constant of the network; the key and value features the BOS row should have
                # (its embedding terms only) are restored by a correction on the BOS channel.
                embed = {id(s) for s in (self.bos, self.real, self.one, self.pos)}
                for hi_, h in enumerate(heads):
                    for W, feats in ((Wk, h.k), (Wv, h.v)):
                        for f, terms in enumerate(feats):
                            junk = sum(w * x_bos[s.channels[c]] for s, c, w in terms
                                       if id(s) not in embed)
                            W[hi_, self.bos.channels[0], f] -= junk
                x_bos = x_bos + sum(x_bos @ Wv[hi_] @ Wo[hi_] for hi_ in range(len(heads)))
                for nm, W in (("q", Wq), ("k", Wk), ("v", Wv), ("o", Wo)):
                    tensors[f"blocks.{b}.attn.{nm}"] = W.astype(np_dtype)
                spec["head_dim"] = dh
            for t in mlps:
                if t.fill is not None:
                    t.block = t.fill(x_bos)
            mlp_layers = _mlp_layers(mlps, d)
            h_bos = x_bos
            for i, (W, bias) in enumerate(mlp_layers):
                h_bos = W @ h_bos + bias
                if i < len(mlp_layers) - 1:
                    h_bos = np.maximum(h_bos, 0)
            if mlp_layers:
                x_bos = x_bos + h_bos
            if np.abs(x_bos).max(initial=0) >= self.limit:
                raise NclError.at(self.checked.program.name_span, "not-exact",
                                  "the beginning-of-sequence row reaches values past "
                                  f"{self.limit} in block {b}")
            for i, (W, bias) in enumerate(mlp_layers):
                tensors[f"blocks.{b}.mlp.{i}.weight"] = W.astype(np_dtype)
                tensors[f"blocks.{b}.mlp.{i}.bias"] = bias.astype(np_dtype)
            spec["mlp"] = [int(W.shape[0]) for W, _ in mlp_layers]
            blocks.append(spec)
        outputs = []
        for e in self.out_enc:
            s = e["slot"]
            outputs.append({"name": e["name"], "type": _result_type(self.checked, e["name"]),
                            "kind": e["kind"], "per_position": e["per_position"],
                            "channels": list(s.channels),
                            **({"vocab": list(s.domain)} if e["kind"] == "token" else {})})
        inputs = [{"name": e["name"], "type": e["type"], "kind": e["kind"], "vocab": e["vocab"],
                   "channels": list(e["slot"].channels)} for e in self.in_enc]
        architecture = {
            "family": "transformer", "sizes": {"n": N}, "dtype": self.dtype,
            "activation": "relu", "d_model": d, "d_model_without_reuse": layout.width_no_reuse,
            "blocks": blocks, "depth": len(blocks),
            "attention_layers": sum(1 for bl in blocks if bl["heads"]),
            "heads": sum(bl["heads"] for bl in blocks),
            "score_scale": LAMBDA, "max_score": int(self.max_score),
            "embedding": {"bos": self.bos.channels[0], "real": self.real.channels[0],
                          "one": self.one.channels[0], "position": self.pos.channels[0]},
            "residual": layout.to_json(),
            "loops": [{"blocks": list(lp["blocks"]), "count": lp["count"],
                       "until_stable": lp["until_stable"], "carried": lp["carried"]}
                      for lp in self.loops],
        }
        return TransformerArtifact(tensors, architecture, {"inputs": inputs, "outputs": outputs,
                                                           "vocab": vocab})


def _magnitude(s: Slot) -> int:
    return 1 if s.onehot else max(abs(s.lo), abs(s.hi))


def _result_type(checked, name):
    for n, t in zip(checked.result_names, checked.program.results):
        if n == name:
            return pretty_type(t)
    raise KeyError(name)




def _check_block(block: G.Block, limit, span) -> None:
    if G.bound(block) >= limit:
        raise NclError.at(span, "not-exact", f"the MLP gadget for this value needs intermediates "
                                             f"up to {G.bound(block):.0f}, past {limit}")


def _mlp_layers(tasks: list[MLPTask], d: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """One MLP sublayer from its tasks: hidden relu layers side by side (shorter tasks padded at
    the front with exact signed identities; at least one hidden layer), and a read-out into each
    task's slot channels."""
    if not tasks:
        return []
    blocks = []
    for t in tasks:
        blk = t.block
        if blk.layers[-1].act != "id":
            blk = G.Block(blk.layers + (G.Layer(np.eye(blk.n_out), np.zeros(blk.n_out), "id"),),
                          blk.inp, blk.out)
        blocks.append(blk)
    depth = max(2, max(b.depth for b in blocks))
    padded = []
    for b in blocks:
        while b.depth < depth:
            si = G.signed_identity(b.n_in)
            first = b.layers[0]
            W = first.W @ si.layers[1].W
            b = G.Block((si.layers[0], G.Layer(W, first.b, first.act, first.box)) + b.layers[1:],
                        b.inp, b.out)
        padded.append(b)
    layers = []
    prev_off = [0] * len(padded)
    for ell in range(depth):
        last = ell == depth - 1
        rows = d if last else sum(b.layers[ell].W.shape[0] for b in padded)
        cols = d if ell == 0 else sum(b.layers[ell - 1].W.shape[0] for b in padded)
        W, bias = np.zeros((rows, cols)), np.zeros(rows)
        r, offs = 0, []
        for i, (t, b) in enumerate(zip(tasks, padded)):
            L = b.layers[ell]
            if ell == 0:
                src = [ch for s in t.inputs for ch in s.channels]
            else:
                src = list(range(prev_off[i], prev_off[i] + L.W.shape[1]))
            dst = list(t.dest.channels) if last else list(range(r, r + L.W.shape[0]))
            W[np.ix_(dst, src)] += L.W
            bias[dst] += L.b
            offs.append(r)
            r += L.W.shape[0]
        prev_off = offs
        layers.append((W, bias))
    return layers
