"""min / max / select and bounded-integer arithmetic."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .core import (BOOL, Block, Layer, Range, _affine_box, _box, _make, _range)

# ---- min / max / select (relu only; exact for any reals in range, integers included) -----------


def maximum(a: Range, b: Range) -> Block:
    """max(x, y) = y + relu(x - y); y passes the hidden layer as relu(y - lo_b) + lo_b
    (y >= lo_b)."""
    a, b = _range(a), _range(b)
    return _make([Layer([[0, 1], [1, -1]], [-b[0], 0], "relu"), Layer([[1, 1]], [b[0]], "id")],
                 [a, b], [(max(a[0], b[0]), max(a[1], b[1]))])


def minimum(a: Range, b: Range) -> Block:
    """min(x, y) = x - relu(x - y); x passes the hidden layer as relu(x - lo_a) + lo_a."""
    a, b = _range(a), _range(b)
    return _make([Layer([[1, 0], [1, -1]], [-a[0], 0], "relu"), Layer([[1, -1]], [a[0]], "id")],
                 [a, b], [(min(a[0], b[0]), min(a[1], b[1]))])


def select(a: Range, b: Range) -> Block:
    """c ? x : y for c in {0, 1}, inputs (c, x, y). With lo, hi the hull of a and b and B = hi - lo:
    lo + relu(x - lo - B(1 - c)) + relu(y - lo - Bc). At c = 1 the first term is x - lo and the
    second relu(y - hi) = 0; at c = 0 symmetrically. Weights are integers of size B."""
    a, b = _range(a), _range(b)
    lo, hi = min(a[0], b[0]), max(a[1], b[1])
    B = hi - lo
    return _make([Layer([[B, 1, 0], [-B, 0, 1]], [-lo - B, -lo], "relu"),
                  Layer([[1, 1]], [lo], "id")], [BOOL, a, b], [(lo, hi)])


# ---- bounded-integer arithmetic ----------------------------------------------------------------


def affine(W, b, inp: Sequence[Range]) -> Block:
    """x -> W x + b with integer W, b (one `id` layer, free once chained). The output ranges are the
    exact images of the input box (interval arithmetic is tight for one affine map)."""
    b = np.asarray(b, np.float64).reshape(-1)
    W = np.asarray(W, np.float64).reshape(len(b), len(inp))
    if (W != np.round(W)).any() or (b != np.round(b)).any():
        raise ValueError("affine gadgets take integer coefficients only")
    inp = [_range(r) for r in inp]
    lo, hi = _affine_box(W, b, *_box(inp))
    return _make([Layer(W, b, "id")], inp, [(int(l), int(h)) for l, h in zip(lo, hi)])


def add(a: Range, b: Range) -> Block:
    return affine([[1, 1]], [0], [a, b])


def sub(a: Range, b: Range) -> Block:
    return affine([[1, -1]], [0], [a, b])


def mul_const(c: int, a: Range) -> Block:
    return affine([[c]], [0], [a])


def mul(a: Range, b: Range, max_table: int = 1 << 16) -> Block:
    """x * y for integers x in a, y in b, as a table over the factor with fewer values (say y):
    x y = lo_y x + sum_{v = lo_y + 1}^{hi_y} [y >= v] x. [y >= v] = relu(y - v + 1) - relu(y - v) is
    exact for integer y; g ? x : 0 = relu(x - hi'(1 - g)) - relu(-x + lo'(1 - g)) with
    hi' = max(hi_x, 0), lo' = min(lo_x, 0): at g = 1 it is relu(x) - relu(-x) = x, at g = 0 both
    terms are 0 because lo' <= x <= hi'. Width O(|range of y|), depth 3."""
    a, b = _range(a), _range(b)
    corners = [p * q for p in a for q in b]
    swap = b[1] - b[0] > a[1] - a[0]
    (xl, xh), (yl, yh) = (b, a) if swap else (a, b)
    if yh - yl >= max_table:
        raise ValueError(f"mul of ranges {list(a)} x {list(b)} needs a table of {yh - yl + 1} "
                         f"rows; the limit is {max_table}")
    ix, iy = (1, 0) if swap else (0, 1)
    if yl == yh:
        W = np.zeros((1, 2))
        W[0, ix] = yl
        return affine(W, [0], [a, b])
    # layer 1: p = relu(x - xl), q_u = relu(y - u) for u in [yl, yh - 1]
    us = np.arange(yl, yh)
    W1 = np.zeros((1 + len(us), 2))
    W1[0, ix] = 1
    W1[1:, iy] = 1
    b1 = np.concatenate([[-xl], -us])
    # g_v = q_{v-1} - q_v (q_yh = 0), as a row over layer-1 units, for v in [yl + 1, yh]
    G = np.zeros((len(us), 1 + len(us)))
    for k in range(len(us)):
        G[k, 1 + k] = 1
        if k + 1 < len(us):
            G[k, 2 + k] = -1
    P = np.zeros((1, 1 + len(us)))
    P[0, 0] = 1  # x = P h + xl
    rows, bias, out = [P], [[0]], [yl]
    if xh > 0:  # relu(x - xh + xh g)
        rows.append(np.repeat(P, len(us), 0) + xh * G)
        bias.append(np.full(len(us), xl - xh))
        out += [1] * len(us)
    if xl < 0:  # relu(-x + xl - xl g)
        rows.append(-np.repeat(P, len(us), 0) - xl * G)
        bias.append(np.zeros(len(us)))
        out += [-1] * len(us)
    W2, b2 = np.vstack(rows), np.concatenate([np.ravel(v) for v in bias]).astype(float)
    box = np.array([xh - xl] + [max(xh, 0)] * len(us) * (xh > 0)
                   + [-min(xl, 0)] * len(us) * (xl < 0))
    L2 = Layer(W2, b2, "relu", (0, box))
    return _make([Layer(W1, b1, "relu"), L2, Layer([out], [yl * xl], "id")],
                 [a, b], [(min(corners), max(corners))])
