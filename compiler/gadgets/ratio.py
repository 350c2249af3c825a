"""Decoding attention averages (the transformer target), and the exact signed identity that
clears or copies a residual slot."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .core import (BOOL, Block, Layer, _make)

# ---- decoding attention averages (the transformer target) --------------------------------------
#
# An attention head that selects c positions and the beginning-of-sequence position with equal
# scores averages their values: for a value X/(c+1)-style readout it returns u ~ X / (c + 1) and,
# reading a channel that is 1 at the BOS position only, y ~ 1 / (c + 1). Neither is an integer,
# so the argument of `check_exact` does not apply; these gadgets rest on a margin instead.


def ratio_margin_error(n_max: int, value_bound: int, dtype=np.float32) -> float:
    """An upper bound on the error of z = a u - a (s - 1/2) y (`ratio_decoder`'s first layer, a =
    4 (n_max + 1)) when u and y come from a float softmax average: the weights 1/(c+1) are
    rounded (relative error eps), each product and each of the at most n_max + 1 partial sums of
    the average adds eps times at most `value_bound`, and z's own two products and sum add eps
    times their magnitudes. `ratio_decoder` is exact while this stays below 1."""
    eps = float(np.finfo(dtype).eps) / 2
    n, B = int(n_max), int(value_bound)
    a = 4 * (n + 1)
    return 1.1 * a * eps * (n + 5) * (2 * B + 2)


def ratio_decoder(lo: int, hi: int, n_max: int, thresholds: Sequence[int] | None = None) -> Block:
    """Decode an integer X in [lo, hi] from (u, y) with u = X / (c + 1), y = 1 / (c + 1) for some
    c in [0, n_max] (up to float rounding): the output is X, or with `thresholds` the bits
    [X >= s] for each s.

    X >= s holds exactly when u - s y = (X - s) / (c + 1) >= 0; between integers the gap of that
    quantity is at least 1 / (n_max + 1), so with a = 4 (n_max + 1) the unit
    r_s = relu(a u - a (s - 1/2) y) is exactly 0 when X <= s - 1 (its pre-activation is <= -2)
    and at least 1 when X >= s (>= 2), as long as the float error of the pre-activation stays
    below 1 (`ratio_margin_error`). The second layer g_s = relu(1 - r_s) is then exactly [X < s]
    (1 - 0, or a non-positive number cut to 0), a 0/1 value, and the read-out X = hi - sum g_s
    (or 1 - g_s per threshold) has integer weights on 0/1 inputs: exact. Weights are integers
    (a (s - 1/2) = 2 (n_max + 1)(2 s - 1))."""
    lo, hi = int(lo), int(hi)
    a = 4 * (int(n_max) + 1)
    ss = list(range(lo + 1, hi + 1)) if thresholds is None else [int(s) for s in thresholds]
    W1 = np.array([[a, -2 * (n_max + 1) * (2 * s - 1)] for s in ss], np.float64).reshape(-1, 2)
    L1 = Layer(W1, np.zeros(len(ss)), "relu")
    L2 = Layer(-np.eye(len(ss)), np.ones(len(ss)), "relu", (0, 1))
    inp = [(min(lo, 0), max(hi, 0)), (0, 1)]
    if thresholds is None:
        L3 = Layer(-np.ones((1, len(ss))), [hi], "id")
        return _make([L1, L2, L3], inp, [(lo, hi)])
    L3 = Layer(-np.eye(len(ss)), np.ones(len(ss)), "id")
    return _make([L1, L2, L3], inp, [BOOL] * len(ss))


def signed_identity(n: int, sign: int = 1) -> Block:
    """sign * x for n values of any magnitude and any float (not only integers): relu(x) and
    relu(-x), at most one of them nonzero, read out as sign * (h+ - h-); each output sums one
    nonzero term, so it is exact. Used to carry a value through padding layers and, with
    sign = -1, to clear a residual-stream slot (x + (-x) = 0 exactly)."""
    eye = np.eye(n)
    return Block((Layer(np.vstack([eye, -eye]), np.zeros(2 * n), "relu"),
                  Layer(sign * np.hstack([eye, -eye]), np.zeros(n), "id")),
                 tuple([(-1, 1)] * n), tuple([(-1, 1)] * n))
