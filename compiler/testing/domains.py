"""What values a program's inputs range over, without hypothesis: the defaults the property kit
draws with (`inputs`) and the boundary inputs (`boundary`) share, importable by the compiler's
self-check without loading hypothesis."""
from __future__ import annotations

import math
from dataclasses import fields, is_dataclass

from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.values import EXACT_INT_LIMIT

# How many nodes or positions an input has at most when the sizes do not say: enough for paths,
# components and repeated values to show up, small enough that the interpreter stays fast.
DEFAULT_MAX_N = 8
# Tokens besides the program's own literals, so that a program also sees symbols it ignores.
EXTRA_TOKENS = ("a", "b", "z")
# The span of values drawn for an `int` whose range is open on one or both sides.
OPEN_RANGE_SPAN = 1000
LARGEST_INT = EXACT_INT_LIMIT - 1


def _string_literals(node, found: list[str]) -> None:
    if isinstance(node, A.StrLit):
        if node.value not in found:
            found.append(node.value)
        return
    if isinstance(node, (list, tuple)):
        for item in node:
            _string_literals(item, found)
        return
    if is_dataclass(node) and not isinstance(node, A.Span):
        for f in fields(node):
            _string_literals(getattr(node, f.name), found)


def vocabulary(checked, extra: tuple[str, ...] = EXTRA_TOKENS) -> tuple[str, ...]:
    """The tokens to draw: the string literals of the program and its defs (in source order, so
    that shrinking goes towards the first), then `extra`."""
    found: list[str] = []
    _string_literals(checked.program, found)
    for d in checked.defs.values():
        _string_literals(d, found)
    return tuple(found) + tuple(t for t in extra if t not in found)


def finite_bounds(t: T.Int) -> tuple[int, int]:
    """A finite interval to draw the finite values of `t` from."""
    lo = t.lo if t.lo is not None and math.isfinite(t.lo) else None
    hi = t.hi if t.hi is not None and math.isfinite(t.hi) else None
    if lo is None and hi is None:
        lo, hi = -OPEN_RANGE_SPAN // 2, OPEN_RANGE_SPAN // 2
    elif lo is None:
        lo = hi - OPEN_RANGE_SPAN
    elif hi is None:
        hi = lo + OPEN_RANGE_SPAN
    return max(int(lo), -LARGEST_INT), min(int(hi), LARGEST_INT)


def most_edges(n: int) -> int:
    """The most edges a drawn graph on n nodes has (`inputs.graphs`: up to 3n random edges, then a
    repeated edge and a self-loop)."""
    return 3 * n + 2


def largest_draw_exceeds(meta: dict, top: int) -> str | None:
    """Why a network (its file's metadata) would pass the runtime's resource limits on the
    largest inputs the property kit draws with `max_n = top`, or None: `nclang test` and
    `nclang.test` refuse such a network before drawing anything."""
    from nclang.compiler.runtime import limits
    family = meta["architecture"].get("family")
    if family == "gnn":
        m = most_edges(top)
        return limits.exceeded(meta, {"n": top, "m": m},
                               f"on the largest inputs test draws (n = {top}, up to {m} edges)")
    if family == "transformer":
        return limits.exceeded(meta, {"n": top}, f"on the longest inputs test draws (n = {top})")
    return None
