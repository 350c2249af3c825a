"""The interpreter's run-time values (`Val` over iteration axes, `Stored` program variables), its
evaluation context, its error, and the helpers that align values by axis."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from .. import ast as A
from ..diagnostics import Diagnostic, NclError
from ..values import NONE_INDEX

if TYPE_CHECKING:
    from .. import types as T


class RunError(NclError):
    """A run-time error of the program: the input is well-formed but the program, run on it, does
    something the language forbids (reads outside a field, `inf - inf`, …)."""

    def __init__(self, span: A.Span, code: str, message: str):
        super().__init__(Diagnostic.at(span, code, message))


# ---------------------------------------------------------------- run-time values

@dataclass
class Val:
    """A value over iteration axes: `data.ndim == len(axes)`, axes sorted, a dimension either the
    axis's full size or 1 (constant along that axis). `kind` is bool, int, frac, token or index."""
    data: np.ndarray
    axes: tuple[int, ...]
    kind: str


@dataclass
class Stored:
    """A program variable: a scalar (0-d) or a whole field with the semantic axes of its type."""
    data: np.ndarray
    kind: str
    axes: tuple[T.Axis, ...] = ()


@dataclass
class _AxisInfo:
    size: int
    describe: Callable[[int], str]


@dataclass
class _Ctx:
    vars: dict[str, Val]
    edges: dict[str, Val] = field(default_factory=dict)   # comprehension var -> its edge ids
    dirs: dict[str, str] = field(default_factory=dict)    # comprehension var -> "in" | "out"
    mask: Val | None = None
    env: dict[str, Stored] | None = None                  # None inside a def: defs are pure
    depth: int = 0

    def masked(self, mask: Val | None) -> "_Ctx":
        return _Ctx(self.vars, self.edges, self.dirs, mask, self.env, self.depth)


class _Return(Exception):
    def __init__(self, stmt: A.Return):
        super().__init__()
        self.stmt = stmt


def _union(*vals: Val | None) -> tuple[int, ...]:
    axes: set[int] = set()
    for v in vals:
        if v is not None:
            axes.update(v.axes)
    return tuple(sorted(axes))


def _lift(v: Val, axes: tuple[int, ...]) -> np.ndarray:
    """v's data with a size-1 dimension for every axis of `axes` (a sorted superset) it lacks."""
    if v.axes == axes:
        return v.data
    shape = [v.data.shape[v.axes.index(a)] if a in v.axes else 1 for a in axes]
    return v.data.reshape(shape)


def _fmt(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "true" if x else "false"
    if isinstance(x, (float, np.floating)):
        if x == np.inf:
            return "inf"
        if x == -np.inf:
            return "-inf"
        return str(int(x)) if float(x).is_integer() else repr(float(x))
    if isinstance(x, (int, np.integer)):
        return "none" if x == NONE_INDEX else str(int(x))
    return repr(x)


_A_KIND = {"int": "an int", "frac": "a frac", "bool": "a bool", "token": "a token"}


def _and_mask(mask: Val | None, c: Val | None) -> Val:
    if c is None:
        return mask
    if mask is None:
        return Val(c.data.astype(bool), c.axes, "bool")
    axes = _union(mask, c)
    return Val(_lift(mask, axes) & _lift(c, axes), axes, "bool")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))
