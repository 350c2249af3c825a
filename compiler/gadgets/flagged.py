"""Flagged integers: a value that may be +inf or -inf (the GNN target)."""
from __future__ import annotations



from .core import (BOOL, Block, Layer, Range, _make, _range)

# ---- flagged integers: a value that may be +inf or -inf (GNN target) ---------------------------
#
# An integer that may be infinite travels as two channels (f, v): f = 1 and v the value when it is
# finite; f = 0 and v = 0 when it is the infinity its type allows. The infinity is never a number
# in a channel, so no finite value, however large, can be mistaken for it. The big constant B
# below lives only inside a gadget's hidden units; v = 0 at f = 0 is what makes B large enough.


def _hull0(a: Range, b: Range) -> Range:
    """The hull of a, b and 0 (the value channel of an infinite operand is 0)."""
    return min(a[0], b[0], 0), max(a[1], b[1], 0)


def flagged_extremum(kind: str, a: Range, b: Range) -> Block:
    """min (over values whose infinity is +inf) or max (-inf) of two flagged integers; inputs
    (fa, va, fb, vb), outputs (f, v), v in the hull of a, b and 0.

    min: with lo, hi that hull and B = hi - lo + 1, x = v + B (1 - f) is v for a finite operand
    and B > hi for an infinite one (v = 0 there, and B >= hi + 1 as lo <= 0). So min(xa, xb) =
    xa - relu(xa - xb) is the least finite value, or B when both are infinite, which
    B relu(1 - fa - fb) (= B exactly when both flags are 0) removes; f = 1 - relu(1 - fa - fb)
    is fa or fb. xa passes the hidden layer as relu(xa - lo) + lo. max is the mirror image."""
    if kind not in ("min", "max"):
        raise ValueError(f"flagged extremum kind {kind!r} is not 'min' or 'max'")
    a, b = _range(a), _range(b)
    lo, hi = _hull0(a, b)
    B = hi - lo + 1
    if kind == "min":
        W1 = [[-B, 1, 0, 0],            # relu(xa - lo), xa = va + B - B fa >= lo
              [-B, 1, B, -1],           # relu(xa - xb)
              [-1, 0, -1, 0]]           # relu(1 - fa - fb)
        b1 = [B - lo, 0, 1]
        W2 = [[0, 0, -1], [1, -1, -B]]  # f; xa - relu(xa - xb) - B relu(1 - fa - fb)
        b2 = [1, lo]
    else:
        W1 = [[-B, -1, 0, 0],           # relu(hi - xa), xa = va - B + B fa <= hi
              [-B, -1, B, 1],           # relu(xb - xa)
              [-1, 0, -1, 0]]           # relu(1 - fa - fb)
        b1 = [hi + B, 0, 1]
        W2 = [[0, 0, -1], [-1, 1, B]]   # f; xa + relu(xb - xa) + B relu(1 - fa - fb)
        b2 = [1, hi]
    return _make([Layer(W1, b1, "relu"), Layer(W2, b2, "id")], [BOOL, a, BOOL, b],
                 [BOOL, (lo, hi)])


def flagged_add(a: Range, b: Range) -> Block:
    """The sum of two flagged integers of the same infinity (inf + x = inf); inputs
    (fa, va, fb, vb), outputs (f, v). With s = va + vb in [slo, shi] (0 included) and
    B = shi - slo: v = relu(s - slo - B (2 - fa - fb)) + slo f, f = relu(fa + fb - 1). Both
    finite: s - slo + slo = s. Otherwise 2 - fa - fb >= 1, so the relu sees at most
    s - slo - B = s - shi <= 0, and f = 0: v = 0."""
    a, b = _range(a), _range(b)
    slo, shi = min(a[0] + b[0], a[0], b[0], 0), max(a[1] + b[1], a[1], b[1], 0)
    B = shi - slo
    return _make([Layer([[B, 1, B, 1], [1, 0, 1, 0]], [-slo - 2 * B, -1], "relu"),
                  Layer([[0, 1], [1, slo]], [0, 0], "id")],
                 [BOOL, a, BOOL, b], [BOOL, (slo, shi)])
