"""How values are held at run time, shared by the JSON codec, the interpreter and the runtimes.

| type            | numpy form                                                     |
| --------------- | -------------------------------------------------------------- |
| bool            | `np.bool_`                                                     |
| int, frac       | `np.float64`, integral for int, `±inf` allowed where typed     |
| token           | `object` array of Python `str`                                 |
| node / index    | `np.int64`, `-1` for `none`                                    |
| field           | an array of the element form, one numpy axis per field axis   |
| bits[k]         | a bool array of length k, bit 0 (least significant) first      |
| scalar          | a 0-d array of the element form                                |

Floats hold integers because `inf` must be a value; every integer is kept below 2^53, where a
float64 represents it exactly (the interpreter reports anything larger as an error).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import types as T

EXACT_INT_LIMIT = 2 ** 53
NONE_INDEX = -1


@dataclass(frozen=True)
class GraphData:
    """A directed multigraph on nodes 0..n-1: edge e goes from src[e] to dst[e]."""
    n: int
    src: np.ndarray
    dst: np.ndarray

    @property
    def m(self) -> int:
        return int(self.src.shape[0])


@dataclass
class Instance:
    """One input to a program: the size variables, the graph (graph programs), and one numpy value
    per non-graph parameter."""
    sizes: dict[str, int]
    values: dict[str, np.ndarray] = field(default_factory=dict)
    graph: GraphData | None = None


def dtype_of(t: T.Type) -> np.dtype:
    """The numpy dtype that holds values of scalar or field type `t`."""
    elem = t.elem if isinstance(t, T.Field) else t
    match elem:
        case T.Bool():
            return np.dtype(np.bool_)
        case T.Int() | T.Frac():
            return np.dtype(np.float64)
        case T.Token():
            return np.dtype(object)
        case T.Index() | T.NoneType():
            return np.dtype(np.int64)
    raise TypeError(f"no run-time form for {t}")
