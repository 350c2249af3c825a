"""Cost of an IR program as sympy formulas in n, m, k: network layers, circuit depth with bounded
fan-in, circuit depth with unbounded fan-in threshold gates, and work (circuit size).

The model is documented, with a worked example, in docs/analysis.md; the per-op rules below
follow it line by line. Depths are critical paths: an op's result is ready at the latest of its
operands plus the op's own cost; a loop adds its trip count times the critical path of one
iteration.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from nclang.dsl import types as T

from .. import ir

ZERO = sympy.Integer(0)
ONE = sympy.Integer(1)

# Sizes at which two formulas are compared when sympy cannot order them symbolically. Cost
# formulas are sums and products of sizes, logarithms and ceilings, monotone in every size, so
# one that is at least the other at all of these is taken to dominate it.
_SAMPLES = tuple(
    {"n": n, "k": n, "m": m}
    for n in (1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 1000, 10 ** 6)
    for m in {1, n, n * n}
)


def smax(a, b):
    """The larger of two cost formulas, kept as one of them whenever that one dominates."""
    a, b = sympy.sympify(a), sympy.sympify(b)
    if a == b or b == ZERO:
        return a
    if a == ZERO:
        return b
    diff = a - b
    if diff.is_nonnegative:
        return a
    if diff.is_nonpositive:
        return b
    # a named width (bits[w]) is sampled like k
    widths = {x.name for x in a.free_symbols | b.free_symbols}
    samples = [{**{name: s["k"] for name in widths}, **s} for s in _SAMPLES]
    va = [ir.evaluate(a, s) for s in samples]
    vb = [ir.evaluate(b, s) for s in samples]
    if all(x >= y for x, y in zip(va, vb)):
        return a
    if all(y >= x for x, y in zip(va, vb)):
        return b
    return sympy.Max(a, b)


def smax_all(xs):
    out = ZERO
    for x in xs:
        out = smax(out, x)
    return out


def clog2(x) -> sympy.Expr:
    """ceil(log2(x)): the depth of a balanced binary tree over x leaves."""
    x = sympy.sympify(x)
    if x.is_Integer:
        return sympy.Integer(max(0, (int(x) - 1).bit_length()))
    return sympy.ceiling(ir.log2(x))


@dataclass(frozen=True)
class _M:
    """Costs of one value: network layers, bounded fan-in depth, threshold depth, and whether
    the threshold-circuit value is a pending linear form (a sum not yet compared)."""
    layers: sympy.Expr = ZERO
    bounded: sympy.Expr = ZERO
    threshold: sympy.Expr = ZERO
    pending: bool = False

    def materialized(self) -> sympy.Expr:
        """Threshold depth once a pending sum feeds anything but a comparison: one gate more."""
        return self.threshold + 1 if self.pending else self.threshold


_NOTHING = _M()


@dataclass(frozen=True)
class LoopCost:
    """What the classifier needs to know about one `repeat`."""
    count: sympy.Expr
    until_stable: bool
    span: object
    bounded_per_iteration: sympy.Expr
    enclosing: tuple[sympy.Expr, ...]


@dataclass(frozen=True)
class Cost:
    layers: sympy.Expr
    depth_bounded: sympy.Expr
    depth_threshold: sympy.Expr
    work: sympy.Expr
    uses_threshold: bool
    threshold_spans: tuple
    loops: tuple[LoopCost, ...]


# ---- the MLP target's layers (bits programs) ------------------------------------------------
#
# A bits program compiles to one fixed layered circuit (compiler/targets/mlp/): loops unrolled,
# every gate ONE hidden layer (gadgets.table / ridges / select_shallow / extremum_shallow), affine
# maps fused into the next gate's weights, one read-out layer at the end. Its layer count is then
# 1 + the most gates on any path, and the rules below say how many gates each IR op puts on a
# path. The target decides affine-or-gate with the same predicates, so the two cannot drift.

def mlp_affine_local(op: ir.Local, static) -> bool:
    """Whether the MLP target computes this pointwise op as an affine map of its operands (no
    layer): sums, differences, scaling by a constant, a select with a known condition, and any
    function of a single Boolean operand (f(0) + (f(1) - f(0)) x)."""
    dyn = [a for a in op.args if a not in static]
    if not dyn or op.op in ("add", "sub", "neg"):
        return True
    if op.op == "mul" and len(dyn) == 1:
        return True
    if op.op == "select" and op.args[0] in static:
        return True
    return len(dyn) == 1 and isinstance(dyn[0].type, T.Bool)


def mlp_local_layers(op: ir.Local, static) -> int:
    """Gates on a path through one pointwise op: 0 affine, a tree of 2-input gates for min/max
    over several computed operands (the constants fold into one more leaf), else one table."""
    if mlp_affine_local(op, static):
        return 0
    if op.op in ("min", "max"):
        dyn = sum(1 for a in op.args if a not in static)
        return max(1, (dyn + (dyn < len(op.args)) - 1).bit_length())
    return 1


def flat_fold(op: ir.Fold) -> bool:
    """Whether a `scan`/`reduce` is one unbounded fan-in gate per result rather than a tree:
    `or` (`and`) of Booleans is the threshold Σx ≥ 1 (Σx ≥ len), which a threshold circuit, and
    the MLP target with one ridge per result, computes at depth 1 whatever the length. Every
    other operator stays the tree it is written as (`min`/`max` fold numbers, where one ReLU
    layer does not give the k-ary extremum). The MLP target builds exactly the folds this says
    are flat."""
    return not isinstance(op.op, ir.Function) and op.op in ("or", "and")


# `reduce(min, x)` / `reduce(max, x)` (and an unconditional `min`/`max` over a range) at
# constant depth: x_i is the result iff it beats every x_j (x_i < x_j for j < i, x_i <= x_j for
# j > i: ties go to the first), so one layer of k(k-1) pairwise comparison ridges, one AND
# gate per i, one select per i and their (affine) sum: 3 layers, O(k^2) gates. The tree of
# 2-input extremum gates is ceil(log2 k) layers and k - 1 gates. The MLP target builds the
# constant-depth form where it is shallower (k > 8) and its comparisons fit the budget below,
# the tree elsewhere; `extremum_layers` is that choice, as a formula in k.
FLAT_EXTREMUM_LAYERS = 3
FLAT_EXTREMUM_PAIRS = 1024  # k(k - 1) <= this: k <= 32


def flat_extremum(length: int) -> bool:
    """Whether the MLP target builds a k-ary min/max of `length` computed values at constant
    depth (all-pairs comparisons) rather than as a tree."""
    return length > 1 << FLAT_EXTREMUM_LAYERS and length * (length - 1) <= FLAT_EXTREMUM_PAIRS


def extremum_layers(length) -> sympy.Expr:
    """MLP layers of a k-ary min/max (k = `length`, a formula in the sizes)."""
    length = sympy.sympify(length)
    if length.is_Integer:
        return sympy.Integer(FLAT_EXTREMUM_LAYERS) if flat_extremum(int(length)) \
            else clog2(length)
    # for integers: the tree's depth where it is at most 3, 3 up to the largest k that fits
    # the budget, the tree beyond (an indicator of k > kmax from Min/Max, which every formula
    # reader here evaluates)
    kmax = max(k for k in range(1, FLAT_EXTREMUM_PAIRS + 2)
               if k * (k - 1) <= FLAT_EXTREMUM_PAIRS)
    tree = clog2(length)
    beyond = sympy.Min(1, sympy.Max(0, length - kmax))
    return sympy.Max(sympy.Min(tree, FLAT_EXTREMUM_LAYERS), tree * beyond)


def extremum_fold(op) -> bool:
    """A `reduce` or unconditional range aggregation of `min`/`max`: one extremum of all."""
    if isinstance(op, ir.Fold):
        return op.kind == "reduce" and not isinstance(op.op, ir.Function) \
            and op.op in ("min", "max")
    return isinstance(op, ir.Aggregate) and op.agg in ("min", "max") and op.cond is None \
        and op.kind == "range"


def mlp_masked(op: ir.Aggregate, static) -> bool:
    """An aggregation whose body and condition are both computed: each term is a gate first."""
    return (op.body is not None and op.body not in static
            and op.cond is not None and op.cond not in static)


def _mlp_layers(op, static) -> sympy.Expr:
    """Gates an op adds on a path in the MLP target (loops are handled by the region)."""
    if op.out in static:
        return ZERO
    match op:
        case ir.Local():
            return sympy.Integer(mlp_local_layers(op, static))
        case ir.Gather():
            return ZERO if op.static else ONE  # wiring, or one multiplexer layer
        case ir.Aggregate():
            masked = 1 if mlp_masked(op, static) else 0
            if op.agg in ("sum", "count", "only"):
                return sympy.Integer(masked)  # a weighted sum: affine
            if op.agg in ("any", "all", "mean"):
                return sympy.Integer(1 + masked)  # one threshold on the sum of the terms
            if op.agg in ("argmin", "argmax"):
                # static body: the first selected in preference order, one layer; computed
                # body: all pairwise comparisons (condition folded in), then the winner
                return ONE if op.body in static else sympy.Integer(2)
            if extremum_fold(op):
                return extremum_layers(op.reduced.size)
            return masked + clog2(op.reduced.size)  # min / max: a tree
        case ir.Fold():
            if op.op == "+":
                return ZERO
            if extremum_fold(op):
                return extremum_layers(op.arg.domain[0].size)
            return ONE if flat_fold(op) else clog2(op.arg.domain[0].size)
    return ZERO


@dataclass
class _Region:
    """Costs inside one region (the program, a loop body, a fold operator)."""
    static: set
    mlp: bool = False
    metrics: dict = field(default_factory=dict)
    defining: dict = field(default_factory=dict)
    work: sympy.Expr = ZERO
    threshold_spans: list = field(default_factory=list)
    loops: list = field(default_factory=list)
    enclosing: tuple = ()

    def of(self, v: ir.Value) -> _M:
        return self.metrics.get(v, _NOTHING)

    def run(self, ops) -> None:
        for op in ops:
            for out in ir.outputs(op):
                self.defining[out] = op
            if isinstance(op, ir.Loop):
                self.loop(op)
            else:
                m = self.op(op)
                if self.mlp:
                    ready = smax_all(self.of(v).layers for v in ir.operands(op))
                    m = _M(ready + _mlp_layers(op, self.static), m.bounded, m.threshold,
                           m.pending)
                self.metrics[op.out] = m

    def sub(self, enclosing=None) -> "_Region":
        return _Region(self.static, self.mlp,
                       enclosing=self.enclosing if enclosing is None else enclosing)

    def absorb(self, inner: "_Region", times) -> None:
        self.work += times * inner.work
        self.threshold_spans += inner.threshold_spans
        self.loops += inner.loops

    # ---- one op

    def op(self, op) -> _M:
        ins = [self.of(v) for v in ir.operands(op)]
        layers = smax_all(m.layers for m in ins)
        bounded = smax_all(m.bounded for m in ins)
        materialized = smax_all(m.materialized() for m in ins)
        static = op.out in self.static
        size = ir.domain_size(op.out.domain)
        match op:
            case ir.Input() | ir.Const() | ir.Size() | ir.Iota():
                return _NOTHING
            case ir.Broadcast():
                return ins[0]
            case ir.Local():
                return self.local(op, ins, layers, bounded, materialized, static, size)
            case ir.EdgeGather():
                if isinstance(self.defining.get(op.arg), ir.Iota):
                    return _M(layers)  # an endpoint's id is part of the edge list: an input
                self.work += size * ir.N
                return _M(layers, bounded + clog2(ir.N) + 1, materialized + 2)
            case ir.Gather():
                return self.gather(op, layers, bounded, materialized, size)
            case ir.Aggregate():
                return self.aggregate(op, layers, bounded, materialized, static)
            case ir.Fold():
                return self.fold(op, layers, bounded, materialized, static)
        raise TypeError(f"no cost rule for {op!r}")

    def local(self, op, ins, layers, bounded, materialized, static, size) -> _M:
        if static:
            return _M(layers)
        fan_in = len(op.args)
        self.work += size * max(1, fan_in - 1)
        step = clog2(fan_in) if op.op in ("min", "max") else ONE
        pending = any(m.pending for m in ins)
        if pending and op.op in ir.COMPARISONS:
            # weighted sum, then compare: one threshold gate (why `majority` has depth 1)
            return _M(layers, bounded + step, smax_all(m.threshold for m in ins) + 1)
        linear = op.op in ("add", "sub", "neg") or (
            op.op == "mul" and any(a in self.static for a in op.args))
        if pending and linear:
            return _M(layers, bounded + step, smax_all(m.threshold for m in ins), True)
        return _M(layers, bounded + step, materialized + 1)

    def gather(self, op: ir.Gather, layers, bounded, materialized, size) -> _M:
        across = any(a.kind != "range" for a in op.table.domain)
        if op.static:
            # a fixed permutation: wiring in a circuit; across nodes or positions a network
            # still needs a round of communication for it
            return _M(layers + (1 if across else 0), bounded, materialized)
        table = ir.domain_size(op.table.domain)
        self.work += size * table
        return _M(layers + 1, bounded + clog2(table) + 1, materialized + 2)

    def aggregate(self, op: ir.Aggregate, layers, bounded, materialized, static) -> _M:
        if static:
            return _M(layers + 1)
        reduced = op.reduced.size
        self.work += ir.domain_size(op.body_domain)
        mask = 1 if op.body is not None and op.cond is not None else 0
        tree = clog2(reduced) + (1 if op.agg == "mean" else 0)
        if op.agg in ("sum", "count", "mean") and reduced.free_symbols:
            self.threshold_spans.append(op.span)
        if op.agg in ("sum", "count"):
            return _M(layers + 1, bounded + mask + tree, materialized + mask, True)
        gates = {"any": 1, "all": 1, "mean": 2}.get(op.agg, 2)
        return _M(layers + 1, bounded + mask + tree, materialized + mask + gates)

    def fold(self, op: ir.Fold, layers, bounded, materialized, static) -> _M:
        length = op.arg.domain[0].size
        levels = clog2(length)
        if static:
            return _M(layers + levels)
        if isinstance(op.op, ir.Function):
            inner = self.sub()
            inner.run(op.op.body)
            result = inner.of(op.op.result)
            op_bounded = smax(ONE, result.bounded)
            op_threshold = smax(ONE, result.materialized())
            op_work = smax(ONE, inner.work)
        else:
            op_bounded = op_threshold = op_work = ONE
            if op.op == "+" and length.free_symbols:
                self.threshold_spans.append(op.span)
        applications = length * levels if op.kind == "scan" else length
        self.work += applications * op_work
        if flat_fold(op):
            # one unbounded fan-in gate (an AND / OR, or a threshold) per result: threshold
            # depth 1; bounded fan-in gates still need the tree
            return _M(layers + levels, bounded + levels * op_bounded, materialized + 1)
        if extremum_fold(op):
            # all pairs compared (comparisons of words are AC0 gates, as for any `Local`),
            # then select the one that beats all: 2, as for a `min`/`max` aggregation
            return _M(layers + levels, bounded + levels * op_bounded, materialized + 2)
        return _M(layers + levels, bounded + levels * op_bounded,
                  materialized + levels * op_threshold)

    def loop(self, loop: ir.Loop) -> None:
        # One iteration is costed from zero (its variables and outer values all ready at its
        # start); the loop then adds `count` such iterations to the latest of its inputs.
        body = self.sub(self.enclosing + (loop.count,))
        body.run(loop.body)
        nexts = [body.of(c.next) for c in loop.carried]
        per_layers = smax_all(m.layers for m in nexts)
        if not self.mlp and loop.body:
            per_layers = smax(ONE, per_layers)  # a weight-tied block per iteration
        per_bounded = smax_all(m.bounded for m in nexts)
        per_threshold = smax_all(m.materialized() for m in nexts)
        entry = [self.of(v) for v in ir.operands(loop)]
        start = _M(smax_all(m.layers for m in entry), smax_all(m.bounded for m in entry),
                   smax_all(m.materialized() for m in entry))
        self.loops.append(LoopCost(loop.count, loop.until_stable, loop.span, per_bounded,
                                   self.enclosing))
        self.absorb(body, loop.count)
        done = _M(start.layers + loop.count * per_layers,
                  start.bounded + loop.count * per_bounded,
                  start.threshold + loop.count * per_threshold)
        for c in loop.carried:
            self.metrics[c.out] = done if c.out not in self.static else _M(done.layers)


def cost(program: ir.Program) -> Cost:
    """The four cost formulas of a program, and what the classifier needs besides."""
    region = _Region(ir.static_values(program.ops), program.family == "bits")
    region.run(program.ops)
    results = [region.of(v) for _, v in program.results]
    layers = 1 + smax_all(m.layers for m in results)
    return Cost(
        layers=layers,
        depth_bounded=smax_all(m.bounded for m in results),
        depth_threshold=smax_all(m.materialized() for m in results),
        work=sympy.expand(region.work),
        uses_threshold=bool(region.threshold_spans),
        threshold_spans=tuple(region.threshold_spans),
        loops=tuple(region.loops),
    )
