"""What the range analysis reports for one program (`RangeReport`): every value's interval,
the largest integer magnitude, and whether float32 is exact at given sizes (or up to which)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import sympy as sp

from nclang.compiler.ir import size_symbol
from nclang.compiler.targets.registry import DTYPES
from nclang.dsl import ast as A

from .lattice import Interval, show
from .prover import capped_subs

F32_EXACT = DTYPES["float32"].limit
"""float32 represents every integer of magnitude below this exactly (and 2^24 itself, but the
first integer it loses is 2^24 + 1, so the analysis asks for strictly less)."""


_SEARCH_CAP = 2 ** 62



@dataclass
class NamedValue:
    """A value the report can point at: a variable (or an input) and the source it comes from."""
    name: str
    span: A.Span
    interval: Interval
    magnitude: sp.Expr
    what: str  # "assignment", "result" (a returned expression), "input" or "expression"

    def where(self) -> str:
        return f"{self.span.file}:{self.span.line}:{self.span.col}"


@dataclass
class RangeReport:
    """What `value_ranges` finds for one program.

    `variables`: each variable's interval when the program returns; `held`: every value a
    variable (or input) holds at any time, over all its assignments and loop iterations;
    `exprs` and `assignments`: by `id()` of the expression node or assignment statement, joined
    over every time it runs; `results`: one interval per returned value. `max_abs` is the largest
    finite magnitude of any integer, index or boolean value (a Max where no single bound is
    provably largest at every size), and `max_value` names the one that dominates at large sizes.
    """
    program: str
    family: str
    size_vars: tuple[str, ...]
    variables: dict[str, Interval]
    held: dict[str, Interval]
    exprs: dict[int, Interval]
    assignments: dict[int, Interval]
    results: tuple[Interval, ...]
    result_names: tuple[str, ...]
    max_abs: sp.Expr
    max_value: NamedValue | None
    frac_max_abs: sp.Expr | None
    notes: list[str] = field(default_factory=list)

    # -- exactness
    def _at(self, e: sp.Expr, sizes: dict[str, int]) -> sp.Expr:
        return capped_subs(e, {size_symbol(k): sp.Integer(v) for k, v in sizes.items()})

    def value_at(self, sizes: dict[str, int]):
        """The largest integer magnitude at these sizes (a Python int, or math.inf)."""
        v = self._at(self.max_abs, sizes)
        if v.has(sp.oo) or not v.is_number:
            return math.inf
        return int(sp.floor(v))

    def exact_float32(self, sizes: dict[str, int]) -> bool:
        """Whether float32 holds every integer value exactly at these sizes. frac values (from
        `/` and `mean`) are not covered: their exactness needs a rounding analysis of its own."""
        return self.value_at(sizes) < F32_EXACT

    def float32_limit(self) -> dict[str, int | None]:
        """For each size variable the bound depends on, the largest size at which every integer
        value stays below 2^24 (None: no size breaks it; 0: none is safe). In a graph program,
        the limit for n assumes m <= n^2 (no repeated edges), and m gets a limit of its own only
        when the bound does not also depend on n.

        Searched once per bound: `summary`, `to_json` (written twice by a compile, into the
        file's metadata and by its target) and `overflow_message` all ask, and each search
        substitutes sizes into the sympy bound dozens of times."""
        key = (self.max_abs, frozenset(self.size_vars))
        cached = self.__dict__.get("_float32_limit")
        if cached is None or cached[0] != key:
            cached = self.__dict__["_float32_limit"] = (key, self._search_float32_limit())
        return dict(cached[1])

    def _search_float32_limit(self) -> dict[str, int | None]:
        f = sp.sympify(self.max_abs)
        names = sorted(s.name for s in f.free_symbols if s.name in self.size_vars)
        if f.has(sp.oo):
            return {v: 0 for v in names or self.size_vars}
        if not names:
            return {}
        out: dict[str, int | None] = {}
        n, m = size_symbol("n"), size_symbol("m")
        for name in names:
            x = size_symbol(name)
            g = f
            if name == "m" and "n" in names:
                continue
            if name == "n" and "m" in names:
                g = g.subs(m, n ** 2)
            others = {s: 1 for s in g.free_symbols if s != x}
            out[name] = _largest_below(g.subs(others), x, 0 if name == "m" else 1)
        return out

    def overflow_message(self, sizes: dict[str, int] | None = None) -> str | None:
        """"dist reaches 1000*(n - 1), which passes 2^24 at n = 16779" — or None when exact
        (at `sizes`, or at every size when no sizes are given)."""
        if self.max_value is None:
            return None
        v = self.max_value
        head = f"{v.name} reaches {show(v.magnitude)}"
        if sizes is not None:
            if self.exact_float32(sizes):
                return None
            at = ", ".join(f"{k} = {sizes[k]}" for k in sorted(sizes))
            return f"{head}, which passes 2^24 at {at}"
        limits = self.float32_limit()
        broken = {k: lim for k, lim in limits.items() if lim is not None}
        if not broken:
            return None
        where = ", ".join(f"{k} = {lim + 1}" for k, lim in sorted(broken.items()))
        return f"{head}, which passes 2^24 at {where}"

    def summary(self) -> str:
        """One line for `nclang check`."""
        if self.max_value is None:
            text = "no numeric values"
        else:
            text = f"largest value {show(self.max_value.magnitude)} ({self.max_value.name})"
        limits = self.float32_limit()
        if self.max_abs.has(sp.oo):
            text += ", unbounded: float32 exactness not guaranteed"
        elif not limits:
            exact = self.value_at({}) < F32_EXACT
            text += ", exact in float32 at every size" if exact else ", not exact in float32"
        else:
            parts = []
            for k, lim in sorted(limits.items()):
                if lim is None:
                    parts.append(f"any {k}")
                elif lim == 0:
                    parts.append(f"no {k}")
                else:
                    parts.append(f"{k} <= {lim}")
            text += ", exact in float32 for " + " and ".join(parts)
        if self.frac_max_abs is not None:
            text += "; frac values need a separate exactness check"
        return text

    def to_json(self) -> dict:
        def named(v: NamedValue | None):
            if v is None:
                return None
            return {"name": v.name, "line": v.span.line, "col": v.span.col,
                    "end_line": v.span.end_line, "end_col": v.span.end_col,
                    "interval": v.interval.to_json(), "what": v.what}
        return {
            "program": self.program,
            "max_abs": show(self.max_abs),
            "max_value": named(self.max_value),
            "float32_limit": self.float32_limit(),
            "frac_max_abs": None if self.frac_max_abs is None else show(self.frac_max_abs),
            "variables": {k: v.to_json() for k, v in self.held.items()},
            "results": {name: iv.to_json() for name, iv in zip(self.result_names, self.results)},
            "summary": self.summary(),
            "notes": list(self.notes),
        }


def _largest_below(g: sp.Expr, x: sp.Symbol, start: int) -> int | None:
    """The largest integer X >= start - 1 with g(y) < 2^24 for start <= y <= X, assuming g is
    nondecreasing (every bound the analysis builds is). None when no size passes 2^24."""
    def ok(v: int) -> bool:
        val = capped_subs(g, {x: sp.Integer(v)})
        return bool(val.is_number and not val.has(sp.oo) and val < F32_EXACT)

    if not ok(start):
        return start - 1
    guess = None
    if g.is_polynomial(x):
        try:
            roots = [r for r in sp.Poly(g - F32_EXACT, x).nroots() if abs(sp.im(r)) < 1e-9]
        except (sp.PolynomialError, sp.polys.polyerrors.PolynomialError, ValueError):
            roots = []
        real = [int(sp.floor(sp.re(r))) for r in roots if sp.re(r) >= start]
        guess = min(real) if real else None
    if guess is not None:
        lo = max(start, guess - 2)
        while not ok(lo) and lo > start:
            lo = max(start, lo - 1 - (guess - lo))
        hi = lo + 1
        step = 1
        while ok(hi):
            lo, hi, step = hi, hi + step, step * 2
            if hi > _SEARCH_CAP:
                return None
    else:
        lo, hi = start, start + 1
        while ok(hi):
            lo, hi = hi, hi * 2
            if hi > _SEARCH_CAP:
                return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo
