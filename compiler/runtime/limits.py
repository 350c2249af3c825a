"""Resource limits of the runtimes (`nclang exec`, `nclang test --weights`; docs/weights.md,
"Resource limits").

A valid weight file may still ask for more than any machine has: a loop count `n**4` on a
1,000-node graph, a constant 10^12, a triplet aggregation at n = 5,000. Everything a run costs
is known from the architecture and an instance's sizes before anything runs — each loop's trip
count is a formula in n and m, each value's shape its domain (a node field n, an edge field m,
a pair field n², a triplet aggregation n³) times its channels — so an instance is refused, at
its input record, before its batch runs, when the estimate passes a limit. The limits match the
interpreter's (`dsl/limits.py` on the language side: 10^6 loop iterations per run, 2^26
elements per statement) where they mean the same thing.

As in the interpreter, a loop without `until stable` is counted at its trip count before the
run, and one with `until stable` (which may stop after a few rounds whatever its bound: bfs on a
100,000-node graph runs a dozen of its n - 1) as it runs: `guard` counts its rounds and their
work and stops the run, with the same limits, once they pass them.
"""
from __future__ import annotations

import math

from nclang.compiler import formula
from nclang.dsl import limits as _interpreter

MAX_TRIPS = _interpreter.MAX_TRIPS  # 10^6
"""The most loop rounds one instance may run, over all its loops, nested ones multiplied
(the interpreter's limit of loop iterations per run)."""
MAX_ELEMENTS = _interpreter.MAX_ELEMENTS  # 2^26
"""The most elements (channels aside) of one value of one instance: a pair field has n², an
aggregation over `nodes` inside a pair statement n³ (the interpreter's limit on the iteration
space of one statement)."""
MAX_BYTES = 2 ** 32
"""The largest tensor one instance's run may allocate, in bytes: elements × channels (an MLP
stage's widest layer) × the dtype's size."""
BATCH_BYTES = MAX_BYTES
"""The budget of one forward pass: `nclang exec` runs a batch's instances in groups whose
largest tensors add up to at most this (one instance alone may use all of it)."""
MAX_WORK = 10 ** 13
"""The most scalar operations one instance's run may take: each value's elements × its cost
(an MLP stage's multiply-adds per element, else its channels), times the rounds of the loops
around it. Hours of CPU time at torch's speed on small ops; bfs on a 100,000-node,
400,000-edge graph takes about 10^8 per round."""

DOC = "docs/weights.md#resource-limits"

_WIDTH = {"bool": 1, "int": 1, "index": 1, "pinf": 2, "ninf": 2}


class Estimate:
    """What one instance's run costs: rounds, the largest value (elements, bytes) and work."""

    def __init__(self):
        self.trips = 0
        self.elements = 0
        self.bytes = 0
        self.work = 0
        self.where = ""  # the op or loop that set `elements`/`bytes`, for the message

    def value(self, elements: int, channels: int, itemsize: int, where: str) -> None:
        if elements > self.elements:
            self.elements, self.where = elements, where
        self.bytes = max(self.bytes, elements * channels * itemsize)


def _count(text: str, sizes: dict[str, int]) -> int:
    try:
        return max(formula.eval_int(text, sizes), 0)
    except (formula.FormulaError, ValueError, OverflowError):
        return 0  # a count with no value here is the runtime's to report, located


def _elements(dom, n: int, m: int) -> int:
    return math.prod(m if d == "edge" else n if d == "node" else 1 for d in dom)


def _gnn(arch: dict, sizes: dict[str, int], itemsize: int) -> Estimate:
    n, m = sizes.get("n", 0), sizes.get("m", 0)
    stages = arch.get("stages") or []
    est = Estimate()

    def stage_cost(i):
        try:
            layers = stages[i]["layers"]
            return (sum(int(s["in"]) * int(s["out"]) for s in layers),
                    max([int(layers[0]["in"])] + [int(s["out"]) for s in layers]))
        except (IndexError, KeyError, TypeError, ValueError):
            return 1, 1

    def block(code, rounds: int) -> int:
        work = 0
        for ins in code:
            if ins.get("op") == "loop":
                # an `until stable` loop is counted as it runs (`guard`); its body once here,
                # for the sizes of its values
                trips = 1 if ins.get("until_stable") else _count(str(ins.get("count", "0")), sizes)
                if not ins.get("until_stable"):
                    est.trips += rounds * trips
                work += trips * block(ins.get("body") or [], rounds * trips)
                continue
            dom = ins.get("body_dom") or ins.get("dom") or []
            elements = _elements(dom, n, m)
            if ins.get("op") == "mlp":
                cost, channels = stage_cost(ins.get("stage", 0))
            else:
                channels = _WIDTH.get(ins.get("kind"), 2)
                cost = channels
            est.value(elements, channels, itemsize, f"a {ins.get('op')} over "
                                                    f"{' × '.join(dom) or 'the graph'}")
            work += elements * cost
        return work

    est.work = block(arch.get("program") or [], 1)
    return est


def _transformer(arch: dict, sizes: dict[str, int], itemsize: int) -> Estimate:
    n = sizes.get("n", 0)
    est = Estimate()
    L = n + 1
    d = int(arch.get("d_model") or 1)
    blocks = arch.get("blocks") or []
    runs = [1] * len(blocks)
    for lp in arch.get("loops") or []:
        trips = _count(str(lp.get("count", "0")), sizes)
        est.trips += trips
        first, last = lp.get("blocks", [0, -1])
        for b in range(first, min(last, len(blocks) - 1) + 1):
            runs[b] = trips
    heads = max([len(b.get("masks") or []) for b in blocks] + [1])
    est.value(L * L, heads, itemsize, "the attention scores")
    est.work = sum(r * (L * L * d * max(len(b.get("masks") or []), 1) + L * d * d)
                   for r, b in zip(runs, blocks))
    return est


def estimate(meta: dict, sizes: dict[str, int]) -> Estimate:
    """The cost of one instance at `sizes` (n, m) of a validated file's run."""
    arch = meta.get("architecture") or {}
    itemsize = 8 if arch.get("dtype") == "float64" else 4
    if arch.get("family") == "gnn":
        return _gnn(arch, sizes, itemsize)
    if arch.get("family") == "transformer":
        return _transformer(arch, sizes, itemsize)
    return Estimate()  # an mlp is one pass through its layers, bounded by the file's size


def _big(x: int) -> str:
    return f"{x:,}" if x < 10 ** 15 else f"about 10^{len(str(x)) - 1}"


def exceeded(meta: dict, sizes: dict[str, int], at: str | None = None) -> str | None:
    """Why a run at `sizes` passes a limit, one sentence, or None; `at` says where (default:
    the sizes)."""
    est = estimate(meta, sizes)
    at = at or "at " + ", ".join(f"{k} = {v}" for k, v in sorted(sizes.items()))
    if est.trips > MAX_TRIPS:
        return (f"{at} the network's loops would run {_big(est.trips)} rounds, beyond the "
                f"runtime's limit of {MAX_TRIPS:,} rounds per instance ({DOC})")
    if est.elements > MAX_ELEMENTS:
        return (f"{at} {est.where} has {_big(est.elements)} elements, beyond the runtime's "
                f"limit of {MAX_ELEMENTS:,} (2^26) elements per value ({DOC})")
    if est.bytes > MAX_BYTES:
        return (f"{at} the network's largest tensor would take {_big(est.bytes)} bytes, "
                f"beyond the runtime's limit of {MAX_BYTES:,} (4 GiB) ({DOC})")
    if est.work > MAX_WORK:
        return (f"{at} the run would take about {_big(est.work)} operations, beyond the "
                f"runtime's limit of {MAX_WORK:,} (10^13) per instance ({DOC})")
    return None


def constant_exceeded(meta: dict) -> str | None:
    """Why a file passes a limit whatever its input (a constant loop count of 10^12), or None:
    the estimate at the smallest sizes an input can have."""
    family = (meta.get("architecture") or {}).get("family")
    if family == "gnn":
        return exceeded(meta, {"n": 1, "m": 0}, "even at n = 1")
    if family == "transformer":
        return exceeded(meta, {"n": 1}, "even at n = 1")
    return None


def instance_sizes(net, instance) -> dict[str, int] | None:
    """The sizes the runtime evaluates its formulas at for this instance, or None."""
    family = net.architecture.get("family")
    if family == "gnn" and getattr(instance, "graph", None) is not None:
        return {"n": int(instance.graph.n), "m": int(instance.graph.m)}
    if family == "transformer":
        import numpy as np
        name = net.encodings["inputs"][0]["name"]
        return {"n": int(np.asarray(instance.values[name]).size)}
    return None


def round_work(meta: dict, loop: dict, n: int, m: int) -> int:
    """The work of one round of `loop` (an op of a gnn architecture) at n, m: its body's ops,
    nested loops at their trip counts."""
    arch = meta.get("architecture") or {}
    itemsize = 8 if arch.get("dtype") == "float64" else 4
    return _gnn({**arch, "program": loop.get("body") or []}, {"n": n, "m": m}, itemsize).work


def guard(net) -> None:
    """Make a gnn network count the rounds and work of its runs as they go (`round_counter`),
    the part of the limits that an `until stable` loop's rounds need, since they are known only
    while it runs. Other families have nothing to count."""
    if hasattr(net, "guarded"):
        net.guarded = True


def round_counter(net, n: int, ms: list[int]):
    """An `on_round` hook (`gnn_module.Options`) for one run of `net` on graphs of n nodes with
    ms edges: it stops the run with a located error once it passes MAX_TRIPS rounds or MAX_WORK
    operations per instance."""
    from nclang.dsl.diagnostics import Diagnostic, NclError
    state, works = {"rounds": 0, "work": 0}, {}
    m = max(ms, default=0)

    def on_round(ins, cur, active):
        key = id(ins)
        if key not in works:
            works[key] = round_work(net.meta, ins, n, m)
        state["rounds"] += 1
        state["work"] += works[key]
        why = None
        if state["rounds"] > MAX_TRIPS:
            why = f"{MAX_TRIPS:,} rounds per instance"
        elif state["work"] > MAX_WORK:
            why = f"{MAX_WORK:,} (10^13) operations per instance"
        if why:
            raise NclError(Diagnostic(
                net.file, 1, 1, 1, 1, "error", "resource-limit",
                f"on the graphs with n = {n} the network's loops ran {state['rounds']:,} "
                f"rounds without becoming stable, and were stopped at the runtime's limit of "
                f"{why} ({DOC})"))

    return on_round


def run_in_groups(net, instances: list) -> list:
    """`net.run` over `instances` in groups whose largest tensors together stay under
    BATCH_BYTES (each instance's `net.cost`), in order: what `nclang exec` and `Network.run` do
    with a batch of any length."""
    outputs, group, held = [], [], 0
    for instance in instances:
        cost = net.cost(instance)
        if group and held + cost > BATCH_BYTES:
            outputs += net.run(group)
            group, held = [], 0
        group.append(instance)
        held += cost
    return outputs + (net.run(group) if group else [])
