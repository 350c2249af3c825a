"""Checks the statements and expressions of one body: a program's, or with `family` None a
def's. The checks are split by what they look at — statements, expressions, size expressions —
into mixins that share this object's state (scopes, variable types, the diagnostics list)."""
from __future__ import annotations

import math

from .. import ast as A
from .. import types as T
from ..diagnostics import Diagnostic
from .expressions import ExpressionChecks
from .messages import _bound_str, _fmt
from .relations import ERR
from .size_checks import SizeChecks
from .statements import StatementChecks



def _mentions(t, kinds) -> bool:
    if isinstance(t, T.Field):
        return any(a.kind in kinds for a in t.axes) or _mentions(t.elem, kinds)
    return isinstance(t, T.Index) and t.axis.kind in kinds


# ---------------------------------------------------------------- one body

class _Checker(StatementChecks, ExpressionChecks, SizeChecks):
    """Checks the statements and expressions of one program (or, with `family` None, one def)."""

    # mod: the module's checker (module._ModuleChecker, which imports this module: no annotation)
    def __init__(self, mod, family: str | None, sizes: dict[str, T.Int],
                 types: dict[int, T.Type]):
        self.mod = mod
        self.diags = mod.diags
        self.family = family
        self.sizes = sizes
        self.types = types
        self.params: dict[str, T.Type] = {}
        self.vars: dict[str, T.Type] = {}
        self.maybe: dict[str, A.Repeat] = {}  # assigned only in a repeat that may not run
        self.scope: list[tuple[str, T.Type, A.Comprehension | None]] = []
        self.assigned_names: set[str] = set()
        self.var_types: dict[str, T.Type] = {}
        self.assign_axes: dict[int, tuple[T.Axis, ...]] = {}
        self.binder_axes: dict[int, T.Axis] = {}
        self.comp_axes: dict[int, T.Axis] = {}
        self.default_range: T.Axis | None = None
        self.range_count = 0

    def err(self, span, code, message):
        self.diags.append(Diagnostic.at(span, code, message))
        return ERR

    # ---- declarations

    def declare_params(self, params, types):
        for prm, t in zip(params, types):
            self.params.setdefault(prm.name, t)
            self.var_types.setdefault(prm.name, t)

    def type_of_syntax(self, texpr, where: str):
        """The semantic type of a declared type; `where` is param, result, def or def-result."""
        in_def = where.startswith("def")
        unbounded_ok = where in ("result", "def-result")
        match texpr:
            case A.IntType(lo=lo, hi=hi):
                if lo is None and not unbounded_ok:
                    return self.err(texpr.span, "bad-type", "an int parameter needs bounds, "
                                    "as in int[0..100] (plain int is only for results)")
                if lo is not None and lo > hi:
                    return self.err(texpr.span, "bad-type", f"empty range int[{lo}..{hi}]")
                if lo == math.inf or hi == -math.inf:
                    # inf is a value only beside finite ones: int[inf..inf] has no finite
                    # bound, and every range computation on it would be inf - inf
                    return self.err(texpr.span, "bad-type",
                                    f"int[{_bound_str(lo)}..{_bound_str(hi)}]: the lower bound "
                                    "cannot be inf, nor the upper bound -inf")
            case A.GraphType() if where != "param":
                return self.err(texpr.span, "bad-type", "a graph can only be a program parameter")
            case A.FieldType() | A.BitsType() | A.VecType() if in_def:
                return self.err(texpr.span, "bad-type",
                                "a def takes and returns single values, not fields")
            case A.FieldType(elem=elem) | A.VecType(elem=elem):
                if isinstance(elem, (A.FieldType, A.BitsType, A.VecType, A.GraphType)):
                    return self.err(elem.span, "bad-type", "a field holds single values")
                if self.type_of_syntax(elem, where) is ERR:
                    return ERR
        if isinstance(texpr, (A.BitsType, A.VecType)) and self.size_expr(texpr.size) is ERR:
            return ERR
        return T.from_syntax(texpr)

    def check_family_of(self, span, t, what: str):
        if _mentions(t, ("node", "edge")) and self.family != "graph":
            self.err(span, "wrong-family", f"only a graph program can {what} {_fmt(t)}")
        elif _mentions(t, ("pos",)) and self.family != "seq":
            self.err(span, "wrong-family", f"only a sequence program can {what} {_fmt(t)}")
