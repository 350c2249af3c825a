"""Resource limits of the reference interpreter (docs/language.md, "Resource limits").

The interpreter computes every statement as whole numpy arrays, so its memory is the size of a
statement's *iteration space*: the elements of the assigned field times the extent of every
comprehension nested in the value (a pair statement with an aggregation over `nodes` is n³).
That size is known from the types and the sizes alone, so it is estimated for every statement
before anything is allocated, and a run that would pass a limit is refused with a message that
names the limit, rather than ending in a MemoryError after minutes, or never (`repeat 10^12`).

Loop iterations are counted as they are about to run: a `repeat` without `until stable` is
refused before its first iteration when its iterations, its nested loops' included, would pass
the limit; one with `until stable` when its iterations do.

The compile limits live here too, beside the interpreter's, so that one table documents them:
the mlp and transformer targets build one block per loop iteration, so `nclang.compiler.driver`
bounds their unrolled iterations (MAX_UNROLLED), and the transformer's sizes (MAX_UNROLLED_SIZE: it
builds size × size matrices); the mlp bounds its own network by neurons and weights.
"""
from __future__ import annotations

import dataclasses
import math

from . import ast as A
from . import types as T
from .sizes import eval_size

MAX_SIZE = 10 ** 7
"""The largest value of any size variable in a run (n, m, k, or a named width)."""
MAX_ELEMENTS = 2 ** 26
"""The largest iteration space of one statement, in elements (about 67 million: 512 MiB for
one array of 64-bit integers)."""
MAX_TRIPS = 10 ** 6
"""The most loop iterations one run may execute, over all its `repeat`s together."""
MAX_UNROLLED_SIZE = 4096
"""The largest size (a `--size` value, or a constant width) the transformer target compiles
for: it builds matrices of size × size (4096² float64 is 128 MiB,
10^5² would be 75 GiB)."""
MAX_UNROLLED = 10 ** 4
"""The most loop iterations a compiler may unroll into layers (the mlp and transformer targets
build one block per iteration; a gnn's loops are weight-tied and run at run time)."""

DOC = "docs/language.md#resource-limits"


@dataclasses.dataclass(frozen=True)
class Exceeded:
    span: A.Span
    message: str


def check_sizes(sizes: dict[str, int], where: A.Span) -> Exceeded | None:
    for name, value in sorted(sizes.items()):
        if value > MAX_SIZE:
            return Exceeded(where, f"size {name} = {value} is beyond the interpreter's limit of "
                                   f"{MAX_SIZE:,} for any size ({DOC})")
    return None


def check_spaces(checked, sizes: dict[str, int]) -> Exceeded | None:
    """The first statement whose iteration space at `sizes` passes MAX_ELEMENTS, if any."""
    est = _Estimate(checked, sizes)
    for stmt in _statements(checked.program.body):
        base, what = est.statement(stmt)
        total = est.expr(stmt if isinstance(stmt, A.Return) else stmt.value, base)
        if total > MAX_ELEMENTS:
            at = ", ".join(f"{k} = {v}" for k, v in sorted(sizes.items()))
            return Exceeded(stmt.span, f"this statement works on about {_count(total)} "
                                       f"elements{what} at {at}, beyond the interpreter's "
                                       f"limit of {MAX_ELEMENTS:,} (2^26) ({DOC})")
    return None


def loop_trips(loop: A.Repeat, count: int, sizes: dict[str, int],
               stable_too: bool = False) -> int:
    """The iterations a `repeat` of `count` runs, its nested loops' included; a nested loop
    with `until stable` counts as none, since it may stop at once, unless `stable_too` (a
    compiled network runs every loop to its bound)."""
    inner = 0
    for s in loop.body:
        if isinstance(s, A.Repeat) and (stable_too or not s.until_stable):
            try:
                inner += loop_trips(s, max(eval_size(s.count, sizes), 0), sizes, stable_too)
            except Exception:  # noqa: BLE001 - a bad count fails, located, when the loop runs
                pass
    return count * (1 + inner)


def widths(checked, sizes: dict[str, int]):
    """(span, value) of every size the program's parameter and result types have at `sizes`:
    each size variable, and each constant or computed width of a `bits[…]` / `vec[…, …]`."""
    out = []
    for texpr in [p.type for p in checked.program.params] + list(checked.program.results):
        for node in A.walk(texpr):
            if isinstance(node, (A.BitsType, A.VecType)):
                try:
                    out.append((node.span, eval_size(node.size, sizes)))
                except Exception:  # noqa: BLE001 - a size left open is reported elsewhere
                    pass
    return out


def largest_unrolled(stmts, sizes: dict[str, int]) -> tuple[A.Repeat, int] | None:
    """The top-level `repeat` with the most iterations at `sizes` (nested loops and
    `until stable` bounds included) and that number, or None without loops."""
    best = None
    for s in stmts:
        if isinstance(s, A.Repeat):
            try:
                trips = loop_trips(s, max(eval_size(s.count, sizes), 0), sizes, True)
            except Exception:  # noqa: BLE001 - sizes left open: nothing to bound here
                continue
            if best is None or trips > best[1]:
                best = (s, trips)
    return best


def trips_exceeded(span: A.Span, count: int, done: int) -> Exceeded:
    before = f" after {done:,} earlier ones" if done else ""
    return Exceeded(span, f"this repeat would run {_count(count)} iterations{before}, beyond the "
                          f"interpreter's limit of {MAX_TRIPS:,} loop iterations per run ({DOC})")


def _count(x: float) -> str:
    return f"{math.ceil(x):,}" if x != math.inf else "unboundedly many"


def _statements(stmts):
    for s in stmts:
        if isinstance(s, A.Repeat):
            yield from _statements(s.body)
        elif isinstance(s, (A.Assign, A.IndexedAssign, A.Return)):
            yield s


class _Estimate:
    def __init__(self, checked, sizes: dict[str, int]):
        # getattr: the interpreter also runs bare programs (tests pass a namespace with no types)
        self.types = getattr(checked, "types", None) or {}
        self.assign_axes = getattr(checked, "assign_axes", None) or {}
        self.sizes = sizes
        self.n = sizes.get("n", 1)
        self.m = sizes.get("m", 0)

    def axis(self, axis: T.Axis) -> float:
        if axis.kind in ("node", "pos"):
            return self.n
        if axis.kind == "edge":
            return self.m
        try:
            return max(eval_size(axis.size, self.sizes), 0)
        except Exception:  # noqa: BLE001 - an invalid size fails at run time, located, itself
            return 0

    def statement(self, stmt) -> tuple[float, str]:
        """The elements of what `stmt` assigns, and a note on where they come from."""
        if isinstance(stmt, A.IndexedAssign):
            axes = self.assign_axes.get(id(stmt), ())
            size = math.prod(self.axis(a) for a in axes)
            return size, (f" ({' × '.join(str(a) for a in axes)} for '{stmt.target}', times "
                          "the extent of its aggregations)")
        return 1, ""

    def expr(self, e, base: float) -> float:
        """The largest iteration space inside `e`, evaluated for `base` elements."""
        if isinstance(e, A.Return):
            return max([self.expr(v, base) for v in e.values] + [base])
        largest = base
        if isinstance(e, A.Comprehension):
            inner = base * self.domain(e.domain)
            largest = max(largest, inner, self.expr(e.body, inner))
            if e.cond is not None:
                largest = max(largest, self.expr(e.cond, inner))
            return max(largest, self.expr(e.domain, base))
        if isinstance(e, A.Fold):
            t = self.types.get(id(e.arg))
            if isinstance(t, T.Field):
                largest = max(largest, base * math.prod(self.axis(a) for a in t.axes))
        elif isinstance(e, A.Name):
            t = self.types.get(id(e))
            if isinstance(t, T.Field):
                largest = max(largest, math.prod(self.axis(a) for a in t.axes))
        if dataclasses.is_dataclass(e) and not isinstance(e, A.Span):
            for f in dataclasses.fields(e):
                child = getattr(e, f.name)
                for c in child if isinstance(child, tuple) else (child,):
                    if dataclasses.is_dataclass(c) and not isinstance(c, A.Span):
                        largest = max(largest, self.expr(c, base))
        return largest

    def domain(self, d) -> float:
        if isinstance(d, (A.Nodes, A.Positions)):
            return self.n
        if isinstance(d, A.Edges):
            return max(self.m, 1)
        if isinstance(d, A.Range):
            try:
                return max(eval_size(d.size, self.sizes), 0)
            except Exception:  # noqa: BLE001 - reported, located, when the range is evaluated
                return 0
        # in(v) / out(v): the interpreter joins each element with the edges at its node, about
        # m / n of them on average, never an n × m matrix
        return max(1.0, self.m / max(self.n, 1))
