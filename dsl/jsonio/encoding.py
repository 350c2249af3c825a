"""Encoding a run's outputs as JSON: each result by its declared type (`inf` as a string, `none`
as null, `bits[SIZE]` as one unsigned integer), and writing a document as one line."""
from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np

from .. import types as T
from ..values import NONE_INDEX

INF = float("inf")


# ---------------------------------------------------------------- encoding

def dumps(doc) -> str:
    """`doc` as one line of JSON. Python refuses to write an integer of more than
    sys.get_int_max_str_digits() digits (4,300), a guard against quadratic-time conversion of
    untrusted text; a `bits[2 * k]` result at k = 7,500 has more, and its size is bounded by
    the program, not by what a user sends, so the guard is lifted while writing it."""
    try:
        return json.dumps(doc, allow_nan=False)
    except ValueError:
        limit = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            return json.dumps(doc, allow_nan=False)
        finally:
            sys.set_int_max_str_digits(limit)


def encode(checked, outputs: dict[str, np.ndarray]) -> dict:
    """A JSON-ready dict of a run's outputs, in the order of the program's results."""
    result = {}
    for name, texpr in zip(checked.result_names, checked.program.results):
        result[name] = encode_value(T.from_syntax(texpr), outputs[name])
    return result


def encode_value(t: T.Type, value) -> Any:
    array = np.asarray(value)
    if isinstance(t, T.Field) and t.bits:
        return sum(1 << i for i, bit in enumerate(array.tolist()) if bit)
    elem = t.elem if isinstance(t, T.Field) else t
    return _map_nested(array.tolist(), lambda x: _encode_scalar(elem, x))


def _map_nested(value, f):
    if isinstance(value, list):
        return [_map_nested(v, f) for v in value]
    return f(value)


def _encode_scalar(t: T.Type, x) -> Any:
    match t:
        case T.Bool():
            return bool(x)
        case T.Int():
            if x == INF:
                return "inf"
            if x == -INF:
                return "-inf"
            return int(x)
        case T.Frac():
            if x == INF:
                return "inf"
            if x == -INF:
                return "-inf"
            return float(x)
        case T.Token():
            return str(x)
        case T.Index() | T.NoneType():
            return None if x == NONE_INDEX else int(x)
    raise TypeError(f"no JSON form for values of type {t}")
