"""Value ranges: an interval for every value a checked program computes, as sympy expressions in
the size variables, so that the compiler can prove float32 exact (every integer below 2^24 in
magnitude) or refuse with the name of the value that grows too large.

The analysis runs on the checked AST, not on the IR, and keys its results by `id()` of the AST
nodes (expressions and assignment statements): the IR lowering attaches them one-to-one to the
values it makes from those nodes.

Intervals keep `inf` apart from the finite bounds: Bellman-Ford's `dist` is [0, (n-1)*W] plus the
value `inf`, and folding the two together would make every shortest-path program look unbounded.
A finite bound of sympy `oo` means "no finite bound known", never the value `inf`.

Loops are solved, not widened: the bounds of every variable a `repeat` body updates become
symbols, the body is run once on them, and the resulting recurrences are solved in closed form
(fixpoints, additive growth `h + c`, geometric growth `a*h + c`, and maxima and minima of those),
then evaluated at the trip count. What cannot be solved falls back to "unbounded", with a note.

Bounds are symbolic, so they stay small however large the sizes; only substituting numbers into
them can explode (a doubling over `repeat 1000000` is 2^1000000, over `repeat n * n` at n = 2^20
it is 2^(2^40)). Every such substitution goes through `capped_subs`, which takes a power beyond
2^POW_CAP_BITS for "no finite bound" (sympy `oo`): far past any exactness limit, so no answer
changes, and the program is refused as unbounded rather than hanging the analys

The package: `prover` (sympy bounds and proofs between them), `lattice` (intervals and their
transfer functions), `recurrences` (closed forms of loop bounds), `report` (`RangeReport`),
`syntax` (what the walker reads off the AST) and `walker` with its mixins `expressions` and
`loops` (the analysis itself, `value_ranges`).
"""
from nclang.compiler.ir import size_formula, size_symbol

from .lattice import (BOOL, BOTTOM, NUMERIC, TOKEN, UNBOUNDED, Interval, absolute, add, const, div,
                      join, maximum, meet_declared, minimum, mod, mul, neg, scale_sum, show)
from .prover import POW_CAP_BITS, capped_subs, le, nonneg, size_to_sympy, smax, smin
from .report import F32_EXACT, NamedValue, RangeReport
from .walker import value_ranges

__all__ = ["BOOL", "BOTTOM", "F32_EXACT", "NUMERIC", "POW_CAP_BITS", "TOKEN", "UNBOUNDED",
           "Interval", "NamedValue", "RangeReport", "absolute", "add", "capped_subs", "const",
           "div", "join", "le", "maximum", "meet_declared", "minimum", "mod", "mul", "neg",
           "nonneg", "scale_sum", "show", "size_formula", "size_symbol", "size_to_sympy", "smax",
           "smin", "value_ranges"]
