"""Segmented reduction: the edges a comprehension over `in(x)` / `out(x)` joins are one axis cut
into segments, one per element of x, reduced with `ufunc.reduceat` (never an n × m matrix)."""
from __future__ import annotations

import numpy as np

from .values import Val


# ---------------------------------------------------------------- segmented reduction

class _Seg:
    """How a comprehension axis (always the last, newest axis of the body) reduces.

    Arrays handed in are "segment layout": the comprehension axis first, then the remaining axes
    `rest` in order. Results come back with one leading row per segment: 1 for a dense domain,
    one per element of the substituted axes S for an in()/out() join."""

    def __init__(self, axis: int, length: int, *, S: tuple[int, ...] = (),
                 s_shape: tuple[int, ...] = (), starts=None, counts=None, s_of=None):
        self.axis = axis
        self.length = length
        self.ragged = starts is not None
        self.S, self.s_shape = S, s_shape
        self.starts, self.counts, self.s_of = starts, counts, s_of

    def reduce(self, ufunc, arr: np.ndarray, identity) -> np.ndarray:
        if not self.ragged:
            return ufunc.reduce(arr, axis=0, keepdims=True, initial=identity)
        nseg = len(self.starts)
        rest = arr.shape[1:]
        if arr.shape[0] == 0:
            return np.full((nseg,) + rest, identity, dtype=arr.dtype)
        # an identity row at the end keeps every start a valid index, and the last segment's
        # reduction (which runs to the end of the array) unchanged
        pad = np.full((1,) + rest, identity, dtype=arr.dtype)
        out = ufunc.reduceat(np.concatenate([arr, pad]), self.starts, axis=0)
        out[self.counts == 0] = identity
        return out

    def expand(self, res: np.ndarray) -> np.ndarray:
        """Per-segment results back on the comprehension axis."""
        return res if not self.ragged else res[self.s_of]

    def finish(self, res: np.ndarray, rest: tuple[int, ...], kind: str) -> Val:
        if not self.ragged:
            return Val(res[0], rest, kind)
        data = res.reshape(self.s_shape + res.shape[1:])
        axes = self.S + rest
        order = sorted(range(len(axes)), key=lambda i: axes[i])
        return Val(np.transpose(data, order), tuple(axes[i] for i in order), kind)
