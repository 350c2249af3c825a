"""Boolean gates and comparisons of bounded integers (outputs in {0, 1})."""
from __future__ import annotations


import numpy as np

from .core import (BOOL, Block, Layer, Range, _act, _make, _range)
from .compose import (tree)

# ---- Boolean gates (inputs and outputs in {0, 1}) ----------------------------------------------


def not_(act: str = "relu") -> Block:
    """relu: 1 - x (affine). step: step(-x), which is 1 exactly when x = 0."""
    if _act(act) == "relu":
        return _make([Layer([[-1]], [1], "id")], [BOOL], [BOOL])
    return _make([Layer([[-1]], [0], "step")], [BOOL], [BOOL])


def and_(n: int = 2, act: str = "relu") -> Block:
    """s = sum x in [0, n]; relu: relu(s - n + 1) is 1 at s = n and 0 below; step: step(s - n)."""
    _n(n)
    if _act(act) == "relu":
        return _make([Layer(np.ones((1, n)), [1 - n], "relu"), Layer([[1]], [0], "id")],
                     [BOOL] * n, [BOOL])
    return _make([Layer(np.ones((1, n)), [-n], "step")], [BOOL] * n, [BOOL])


def or_(n: int = 2, act: str = "relu") -> Block:
    """s = sum x in [0, n]; relu: 1 - relu(1 - s) is 0 at s = 0 and 1 for s >= 1;
    step: step(s - 1)."""
    _n(n)
    if _act(act) == "relu":
        return _make([Layer(-np.ones((1, n)), [1], "relu"), Layer([[-1]], [1], "id")],
                     [BOOL] * n, [BOOL])
    return _make([Layer(np.ones((1, n)), [-1], "step")], [BOOL] * n, [BOOL])


def xor(act: str = "relu") -> Block:
    """s = x + y in {0, 1, 2}. relu: relu(s) - 2 relu(s - 1) gives 0, 1, 0. step: AND(OR, NAND) =
    step(step(s - 1) + step(1 - s) - 2), both hidden units 1 only at s = 1."""
    if _act(act) == "relu":
        return _make([Layer([[1, 1], [1, 1]], [0, -1], "relu"), Layer([[1, -2]], [0], "id")],
                     [BOOL, BOOL], [BOOL])
    return _make([Layer([[1, 1], [-1, -1]], [-1, 1], "step"), Layer([[1, 1]], [-2], "step")],
                 [BOOL, BOOL], [BOOL])


def parity(n: int, act: str = "relu") -> Block:
    """XOR of n bits as a balanced tree of 2-input XORs: ceil(log2 n) levels (NC^1 shape)."""
    return tree(xor(act), _n(n))


def _n(n: int) -> int:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"a gate needs at least one input, got {n!r}")
    return int(n)


# ---- comparisons of bounded integers (output in {0, 1}) ----------------------------------------


def _ge0(w, c, inp, act) -> Block:
    """[d >= 0] for the integer d = w.x + c. relu: relu(d + 1) - relu(d) is 1 for d >= 0 and 0 for
    d <= -1, the only integer values d can take. step: step(d)."""
    w = np.asarray(w, np.float64)[None]
    if act == "relu":
        return _make([Layer(np.vstack([w, w]), [c + 1, c], "relu"), Layer([[1, -1]], [0], "id")],
                     inp, [BOOL])
    return _make([Layer(w, [c], "step")], inp, [BOOL])


def _eq0(w, c, inp, act, negate=False) -> Block:
    """[d == 0] for the integer d = w.x + c. relu: the hat relu(d + 1) - 2 relu(d) + relu(d - 1) is
    1 at d = 0 and 0 at every other integer. step: step(step(d) + step(-d) - 2) (both hold only at
    0); `negate` gives [d != 0]: 1 - hat, or step(1 - step(d) - step(-d))."""
    w = np.asarray(w, np.float64)[None]
    s = -1 if negate else 1
    if act == "relu":
        return _make([Layer(np.vstack([w, w, w]), [c + 1, c, c - 1], "relu"),
                      Layer([[s, -2 * s, s]], [0 if s > 0 else 1], "id")], inp, [BOOL])
    return _make([Layer(np.vstack([w, -w]), [c, -c], "step"),
                  Layer([[s, s]], [-2 if s > 0 else 1], "step")], inp, [BOOL])


_CMP = {">=": (1, 0), ">": (1, -1), "<=": (-1, 0), "<": (-1, -1)}


def _cmp(op, w, c, inp, act) -> Block:
    _act(act)
    if op in _CMP:
        s, off = _CMP[op]
        return _ge0([s * v for v in w], s * c + off, inp, act)
    if op in ("==", "!="):
        return _eq0(w, c, inp, act, negate=op == "!=")
    raise ValueError(f"unknown comparison {op!r}; one of >= > <= < == !=")


def compare(op: str, a: Range, b: Range, act: str = "relu") -> Block:
    """[x op y] for integers x in a, y in b (inputs (x, y)); d = x - y, see `_ge0` / `_eq0`."""
    return _cmp(op, [1, -1], 0, [_range(a), _range(b)], act)


def compare_const(op: str, c: int, a: Range, act: str = "relu") -> Block:
    """[x op c] for an integer x in a and an integer constant c; d = x - c."""
    _range((c, c), "constant")
    return _cmp(op, [1], -int(c), [_range(a)], act)
