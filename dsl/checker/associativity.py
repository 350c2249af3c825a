"""Whether a user def can be a fold operator: two parameters and a result of one finite type,
and associative over all of it (a fold's order of combination is the network's, not the
source's, so only an associative operator gives one answer)."""
from __future__ import annotations

import numpy as np

from .. import ast as A
from .. import types as T
from .evaluator import _Evaluator
from .intervals import _may_be_inf
from .messages import _fmt, _value_str
from .names import ASSOCIATIVITY_LIMIT
from .relations import ERR


def associativity(name: str, params: list, result, defs: dict[str, A.Def],
                  any_unevaluable: bool) -> tuple[str, str] | None:
    """(code, message) when def `name` is not an associative operator on one finite type,
    or None. Checked exhaustively: the def is tabulated on every pair of its domain and the
    table compared on every triple, so no run can meet a counterexample the check missed."""
    if len(params) != 2:
        return "arity", f"fold operator '{name}' must take 2 parameters, not {len(params)}"
    if ERR in params or result is ERR or any_unevaluable:
        return None  # a def with errors (this one or one it may call) cannot be run
    t = params[0]
    finite = isinstance(t, T.Bool) or (isinstance(t, T.Int) and t.lo is not None
                                       and not _may_be_inf(t))
    if not (finite and params[1] == t and result == t):
        sig = f"({', '.join(_fmt(p) for p in params)}) -> {_fmt(result)}"
        return "bad-fold", (f"fold operator '{name}' needs two parameters and a result of "
                            f"one finite type (bool or int[lo..hi]); it has {sig}")
    values = [False, True] if isinstance(t, T.Bool) else list(range(t.lo, t.hi + 1))
    if len(values) > ASSOCIATIVITY_LIMIT:
        return "associativity-unchecked", (
            f"cannot check associativity of '{name}' over {len(values)} values "
            f"(at most {ASSOCIATIVITY_LIMIT}); narrow its type")
    position = {v: i for i, v in enumerate(values)}
    table = np.zeros((len(values), len(values)), dtype=np.int16)
    ev = _Evaluator(defs)
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            args = f"({_value_str(a)}, {_value_str(b)})"
            try:
                r = ev.call(name, [a, b])
            except (ArithmeticError, TypeError, ValueError) as e:
                return "operator-error", f"'{name}{args}' fails: {e}"
            if r not in position or isinstance(r, bool) != isinstance(t, T.Bool):
                return "operator-error", (f"'{name}{args}' = {_value_str(r)}, outside its "
                                          f"result type {_fmt(t)}")
            table[i, j] = position[r]
    left = table[table]  # left[a, b, c] = f(f(a, b), c)
    right = table[np.arange(len(values))[:, None, None], table[None, :, :]]
    bad = np.argwhere(left != right)
    if len(bad) == 0:
        return None
    a, b, c = bad[0]
    triple = ", ".join(_value_str(values[x]) for x in (a, b, c))
    return "not-associative", (
        f"operator '{name}' is not associative: {name}({name}(a, b), c) = "
        f"{_value_str(values[left[a, b, c]])} but {name}(a, {name}(b, c)) = "
        f"{_value_str(values[right[a, b, c]])} for (a, b, c) = ({triple})")
