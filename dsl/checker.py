"""The static checker: names, program families, size expressions, types, shapes, and the
associativity of user fold operators.

Every error in a file is collected (a faulty expression gets the error type, which silences the
errors that would follow from it) and raised at the end as one `NclError`.

Integer ranges use interval arithmetic. A bound of `None` means *finite but unknown*; a bound of
±inf means the value itself may be ±inf. Variables carried around a `repeat` are widened: a bound
that still moves after one round of joining becomes unknown, so no loop needs a fixpoint over
exact ranges.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from . import ast as A
from . import types as T
from .diagnostics import Diagnostic, NclError, did_you_mean
from .parser import parse

INF = T.INF
BUILTINS = ("min", "max", "abs", "edge", "src", "dst", "ceil", "floor", "log2")
SIZE_FUNCS = ("ceil", "floor", "log2")
AGGREGATIONS = ("any", "all", "sum", "count", "min", "max", "mean", "argmin", "argmax", "only")
FOLD_BUILTINS = ("xor", "and", "or", "+", "*", "min", "max")
CLASSES = ("AC0", "TC0", "NC1", "NC2", "NC3", "NC")
# Associativity is checked over all triples of the domain: 256 values are 16.7M triples.
ASSOCIATIVITY_LIMIT = 256
_MAX_LOOP_PASSES = 8


@dataclass(frozen=True)
class ErrorType:
    """The type of an expression that already has an error; it matches everything."""

    def __str__(self):
        return "error"


ERR = ErrorType()


@dataclass
class CheckedProgram:
    program: A.Program
    module: A.Module
    family: str
    types: dict[int, T.Type]
    var_types: dict[str, T.Type]
    assign_axes: dict[int, tuple[T.Axis, ...]]
    binder_axes: dict[int, T.Axis]
    comp_axes: dict[int, T.Axis]
    defs: dict[str, A.Def]
    size_vars: frozenset[str]
    result_names: tuple[str, ...]

    def type_of(self, e) -> T.Type:
        return self.types[id(e)]


# ---------------------------------------------------------------- public API

def check_module(module: A.Module, source: str | None = None) -> list[CheckedProgram]:
    """Check every program and def; raise `NclError` with all diagnostics if there are any.
    `source` is accepted so callers can pass the text along; diagnostics carry spans only."""
    mod = _ModuleChecker(module)
    checked = mod.run()
    if mod.diags:
        unique = list(dict.fromkeys(mod.diags))
        unique.sort(key=lambda d: (d.file, d.line, d.col))
        raise NclError(unique)
    return checked


def check_source(text: str, file: str) -> list[CheckedProgram]:
    return check_module(parse(text, file), text)


def select_program(checked: list[CheckedProgram], name: str | None, file: str) -> CheckedProgram:
    names = [c.program.name for c in checked]
    span = A.Span.unknown(file)
    if name is None:
        if len(checked) == 1:
            return checked[0]
        if not checked:
            raise NclError.at(span, "no-program", f"{file} holds no program")
        raise NclError.at(span, "ambiguous-program",
                          f"{file} holds {len(checked)} programs ({', '.join(names)}); "
                          "pass --program NAME to choose one")
    for c in checked:
        if c.program.name == name:
            return c
    raise NclError.at(span, "unknown-program",
                      f"no program '{name}' in {file}" + did_you_mean(name, names))


def reads_outside(checked: CheckedProgram, sizes: dict[str, int]) -> list[Diagnostic]:
    """The reads of a field at an integer index that is outside the field at these sizes for
    every element (`tokens[5]` at n = 4): the interpreter fails on every input there, so a
    compiler refuses them rather than build a network for a program that cannot run. Only reads
    that every run evaluates count: one behind a lazy guard (`i > 0 and tokens[i - 1]`), in a
    branch, a comprehension or a loop body that may run no rounds may never happen."""
    from .sizes import eval_size
    out = []
    for e in _always_evaluated(checked.program.body):
        if not isinstance(e, A.Index) or id(e.base) not in checked.types:
            continue
        base = checked.types[id(e.base)]
        if not isinstance(base, T.Field) or len(base.axes) != len(e.indices):
            continue
        for axis, ie in zip(base.axes, e.indices):
            t = checked.types.get(id(ie))
            if not isinstance(t, T.Int) or t.lo is None or t.lo in (INF, -INF):
                continue
            if axis.kind in ("node", "pos") and "n" in sizes:
                size, at = sizes["n"], f"n = {sizes['n']}"
            elif axis.kind == "range" and all(x.id in sizes for x in A.walk(axis.size)
                                              if isinstance(x, A.Name)):
                size = eval_size(axis.size, sizes)
                at = ", ".join(f"{k} = {v}" for k, v in sorted(sizes.items()))
            else:
                continue
            if t.lo >= size:
                out.append(Diagnostic.at(
                    ie.span, "index-out-of-range",
                    f"index {_expr_str(ie)}"
                    + ("" if t.lo == t.hi else f" (at least {_bound_str(t.lo)})") + " is outside "
                    f"{_axis_str(axis)} (0..{size - 1}) at {at}: every read of it fails"))
    return out


# ---------------------------------------------------------------- formatting

def _expr_str(e: A.Expr) -> str:
    match e:
        case A.IntLit(value=v):
            return str(v)
        case A.Name(id=x):
            return x
        case A.BinOp(op=op, left=l, right=r):
            return f"{_operand_str(l)} {op} {_operand_str(r)}"
        case A.Call(func=f, args=args):
            return f"{f}({', '.join(_expr_str(a) for a in args)})"
        case A.Neg(operand=o):
            return f"-{_operand_str(o)}"
        case A.InfLit():
            return "inf"
    return "…"


def _operand_str(e: A.Expr) -> str:
    return f"({_expr_str(e)})" if isinstance(e, A.BinOp) else _expr_str(e)


def _axis_str(a: T.Axis) -> str:
    return f"range({_expr_str(a.size)})" if a.kind == "range" else str(a)


def _fmt(t) -> str:
    """A type as the user writes it (`T.Axis.__str__` needs the pretty-printer; this does not)."""
    if isinstance(t, T.Field):
        kinds = tuple(a.kind for a in t.axes)
        name = {("node",): "node", ("pos",): "seq", ("edge",): "edge",
                ("node", "node"): "pair"}.get(kinds)
        if name:
            return f"{name}[{_fmt(t.elem)}]"
        if kinds == ("range",):
            size = _expr_str(t.axes[0].size)
            return f"bits[{size}]" if t.bits else f"vec[{_fmt(t.elem)}, {size}]"
        return f"field over {' × '.join(_axis_str(a) for a in t.axes)} of {_fmt(t.elem)}"
    if isinstance(t, T.Index):
        name = {"node": "node", "pos": "position", "edge": "edge"}.get(t.axis.kind)
        name = name or f"index of {_axis_str(t.axis)}"
        return name + (" or none" if t.optional else "")
    if isinstance(t, T.Int) and (t.lo, t.hi) != (None, None):
        return f"int[{_bound_str(t.lo)}..{_bound_str(t.hi)}]"
    return str(t)


def _bound_str(b) -> str:
    return "?" if b is None else _value_str(b)


def _index_noun(axis: T.Axis) -> str:
    return {"node": "a node index", "pos": "a position", "edge": "an edge index"}.get(
        axis.kind, "a range index")


def _value_str(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v == INF or v == -INF:
        return "inf" if v > 0 else "-inf"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _always_evaluated(node):
    """The AST nodes of `node` that every run evaluates: not the lazy operand of `and`/`or`, the
    branches of `a if c else b`, a comprehension's body or filter, or a `repeat` body."""
    if isinstance(node, tuple):
        for x in node:
            yield from _always_evaluated(x)
        return
    if not dataclasses.is_dataclass(node) or isinstance(node, A.Span):
        return
    yield node
    match node:
        case A.BoolOp(left=left):
            yield from _always_evaluated(left)
        case A.IfExpr(cond=cond):
            yield from _always_evaluated(cond)
        case A.Comprehension(domain=domain):
            yield from _always_evaluated(domain)
        case A.Repeat(count=count):
            yield from _always_evaluated(count)
        case _:
            for f in dataclasses.fields(node):
                yield from _always_evaluated(getattr(node, f.name))


# ---------------------------------------------------------------- interval arithmetic
# Bounds: numbers, ±inf, or None (finite, unknown).

def _lo_min(a, b):
    """The lower bound of a join: -inf absorbs, unknown absorbs the rest."""
    if a == -INF or b == -INF:
        return -INF
    return None if a is None or b is None else min(a, b)


def _hi_max(a, b):
    if a == INF or b == INF:
        return INF
    return None if a is None or b is None else max(a, b)


def _hi_min(a, b):
    """The upper bound of min(x, y): an unknown finite bound still sits below the other one."""
    if a is None:
        return None if b == INF else b
    if b is None:
        return None if a == INF else a
    return min(a, b)


def _lo_max(a, b):
    if a is None:
        return None if b == -INF else b
    if b is None:
        return None if a == -INF else a
    return max(a, b)


def _add_bound(a, b):
    if a is None or b is None:
        other = b if a is None else a
        return other if other in (INF, -INF) else None
    s = a + b
    return None if s != s else s


def _neg_bound(a):
    return None if a is None else -a


def _int_add(x: T.Int, y: T.Int) -> T.Int:
    return T.Int(_add_bound(x.lo, y.lo), _add_bound(x.hi, y.hi))


def _int_neg(x: T.Int) -> T.Int:
    return T.Int(_neg_bound(x.hi), _neg_bound(x.lo))


def _has_inf(*xs: T.Int) -> bool:
    return any(b in (INF, -INF) for x in xs for b in (x.lo, x.hi))


def _unknown_int(*xs: T.Int) -> T.Int:
    return T.Int(-INF, INF) if _has_inf(*xs) else T.Int(None, None)


def _int_mul(x: T.Int, y: T.Int) -> T.Int:
    if None in (x.lo, x.hi, y.lo, y.hi):
        return _mul_half_known(x, y)
    corners = [a * b for a in (x.lo, x.hi) for b in (y.lo, y.hi)]
    corners = [c for c in corners if c == c]  # 0 * inf is a run-time error, not a value
    return T.Int(min(corners), max(corners)) if corners else _unknown_int(x, y)


def _mul_half_known(x: T.Int, y: T.Int) -> T.Int:
    """x * y where a bound is unknown (None: finite, but not bounded by anything known, as the
    upper bound of a size `n` is). The product's bounds follow from the signs, as `_int_add`'s
    do: `100 * n` is int[100..] just as `n + n` is int[2..]. With a possibly infinite operand,
    or an unknown bound on both sides of one operand, nothing is known."""
    if _has_inf(x, y) or (x.lo is None and x.hi is None) or (y.lo is None and y.hi is None):
        return _unknown_int(x, y)
    # An unknown bound is an unbounded side: -oo below, +oo above (float infinities only as a
    # device here; they map back to None). 0 times an unbounded finite value is 0.
    lo = lambda b: -INF if b is None else b
    hi = lambda b: INF if b is None else b
    corners = [0 if 0 in (a, b) else a * b
               for a in (lo(x.lo), hi(x.hi)) for b in (lo(y.lo), hi(y.hi))]
    low, high = min(corners), max(corners)
    return T.Int(None if low == -INF else low, None if high == INF else high)


def _int_floordiv(x: T.Int, y: T.Int) -> T.Int:
    if _has_inf(x, y) or y.lo is None or y.hi is None or y.lo <= 0 <= y.hi:
        return _unknown_int(x, y)
    if y.lo > 0:
        # Each bound of x divides on its own, so an unknown one stays unknown alone.
        lo = None if x.lo is None else x.lo // (y.hi if x.lo >= 0 else y.lo)
        hi = None if x.hi is None else x.hi // (y.lo if x.hi >= 0 else y.hi)
        return T.Int(lo, hi)
    if x.lo is None or x.hi is None:
        return T.Int(None, None)
    corners = [a // b for a in (x.lo, x.hi) for b in (y.lo, y.hi)]
    return T.Int(min(corners), max(corners))


def _int_mod(x: T.Int, y: T.Int) -> T.Int:
    if y.lo is not None and y.hi is not None and not _has_inf(y):
        if y.lo > 0:
            if x.lo is not None and x.hi is not None and 0 <= x.lo and x.hi < y.lo:
                return x
            return T.Int(0, y.hi - 1)
        if y.hi < 0:
            return T.Int(y.lo + 1, 0)
    return T.Int(None, None)


def _int_abs(x: T.Int) -> T.Int:
    if x.lo is not None and x.lo >= 0:
        return x
    if x.hi is not None and x.hi <= 0:
        return _int_neg(x)
    return T.Int(0, _hi_max(_neg_bound(x.lo), x.hi))


def _times(bound, count):
    return 0 if count == 0 else bound * count


def _int_sum(x: T.Int, count: T.Int) -> T.Int:
    """The range of a sum of `count` values in `x` (count ≥ 0)."""
    c_lo, c_hi = count.lo or 0, count.hi
    if x.lo is None or x.lo == -INF:
        lo = x.lo
    elif x.lo >= 0:
        lo = _times(x.lo, c_lo)
    else:
        lo = None if c_hi is None else _times(x.lo, c_hi)
    if x.hi is None or x.hi == INF:
        hi = x.hi
    elif x.hi <= 0:
        hi = _times(x.hi, c_lo)
    else:
        hi = None if c_hi is None else _times(x.hi, c_hi)
    return T.Int(lo, hi)


def _may_be_inf(t: T.Int) -> bool:
    return t.lo == -INF or t.hi == INF


# ---------------------------------------------------------------- type relations

def _join(a, b):
    """The least type holding both, or None when there is none."""
    if a is ERR or b is ERR:
        return ERR
    if isinstance(a, T.Field) or isinstance(b, T.Field):
        if not (isinstance(a, T.Field) and isinstance(b, T.Field)) or a.axes != b.axes:
            return None
        elem = _join(a.elem, b.elem)
        return None if elem is None else T.Field(a.axes, elem, a.bits and b.bits)
    if a == b:
        return a
    match a, b:
        case T.Int(), T.Int():
            return T.Int(_lo_min(a.lo, b.lo), _hi_max(a.hi, b.hi))
        case (T.Int() | T.Frac(), T.Frac()) | (T.Frac(), T.Int()):
            return T.Frac()
        case T.Index(), T.Index() if a.axis == b.axis:
            return T.Index(a.axis, a.optional or b.optional)
        case (T.Index(), T.NoneType()) | (T.NoneType(), T.Index()):
            idx = a if isinstance(a, T.Index) else b
            return T.Index(idx.axis, True)
    ia, ib = _as_int(a), _as_int(b)
    if ia is not None and ib is not None and not _optional(a) and not _optional(b):
        if isinstance(a, T.Index) and isinstance(b, T.Index) and a.axis.kind != b.axis.kind:
            return None
        return _join(ia, ib)
    return None


def _optional(t) -> bool:
    return isinstance(t, T.Index) and t.optional


def _as_int(t, sizes: dict | None = None):
    """An integer's range, an index used as an integer, or None for other types."""
    if isinstance(t, T.Int):
        return t
    if isinstance(t, T.Index):
        if t.axis.kind == "range" and sizes is not None:
            hi = _size_value(t.axis.size, sizes).hi
            return T.Int(0, None if hi is None else hi - 1)
        return T.Int(0, None)
    return None


def _widen(old, new, first: bool):
    """The type a variable carried round a loop gets after one more pass."""
    joined = _join(old, new)
    if joined is None or joined is ERR or first:
        return old if joined is None else joined
    if isinstance(joined, T.Field):
        return T.Field(joined.axes, _widen(old.elem, joined.elem, False), joined.bits)
    if isinstance(joined, T.Int) and isinstance(old, T.Int):
        lo = old.lo if joined.lo == old.lo or joined.lo == -INF else None
        hi = old.hi if joined.hi == old.hi or joined.hi == INF else None
        return T.Int(joined.lo if joined.lo == -INF else lo, joined.hi if joined.hi == INF else hi)
    return joined


def _accepts(declared, actual) -> tuple[str, str] | None:
    """(code, message) when a value of type `actual` cannot flow into `declared`."""
    if actual is ERR or declared is ERR:
        return None
    if isinstance(declared, T.Field):
        if not isinstance(actual, T.Field) or len(actual.axes) != len(declared.axes) or any(
                d.kind != a.kind for d, a in zip(declared.axes, actual.axes)):
            return "type-mismatch", f"expected {_fmt(declared)}, got {_fmt(actual)}"
        found = _accepts(declared.elem, actual.elem)
        if found is not None and found[0] == "inf-not-allowed":
            return found[0], (f"{_fmt(actual)} may hold inf, which {_fmt(declared)} "
                              "does not allow")
        if found is not None:
            return found[0], f"expected {_fmt(declared)}, got {_fmt(actual)}"
        return None
    if isinstance(actual, (T.Field, T.Graph)):
        return "type-mismatch", f"expected {_fmt(declared)}, got {_fmt(actual)}"
    mismatch = ("type-mismatch", f"expected {_fmt(declared)}, got {_fmt(actual)}")
    match declared:
        case T.Bool() | T.Token():
            return None if actual == declared else mismatch
        case T.Frac():
            return None if isinstance(actual, (T.Int, T.Frac)) else mismatch
        case T.Index():
            if isinstance(actual, T.Index):
                return None if actual.axis.kind == declared.axis.kind else mismatch
            return None if isinstance(actual, (T.NoneType, T.Int)) else mismatch
        case T.Int():
            value = _as_int(actual)
            if value is None or _optional(actual):
                return mismatch
            if declared.lo is None:
                return None
            if ((value.hi == INF and declared.hi != INF)
                    or (value.lo == -INF and declared.lo != -INF)):
                return "inf-not-allowed", (f"this value may be inf ({_fmt(actual)}), which "
                                           f"{_fmt(declared)} does not allow")
            return None
    return mismatch


# ---------------------------------------------------------------- size expressions

def _size_value(e: A.Expr, sizes: dict[str, T.Int]) -> T.Int:
    """The range of a (valid) size expression, given the ranges of the size variables."""
    match e:
        case A.IntLit(value=v):
            return T.Int(v, v)
        case A.Name(id=x):
            return sizes.get(x, T.Int(None, None))
        case A.BinOp(op=op, left=l, right=r):
            x, y = _size_value(l, sizes), _size_value(r, sizes)
            match op:
                case "+":
                    return _int_add(x, y)
                case "-":
                    return _int_add(x, _int_neg(y))
                case "*":
                    return _int_mul(x, y)
                case "//":
                    return _int_floordiv(x, y)
        case A.Call(func="ceil" | "floor" as f, args=(A.Call(func="log2", args=(arg,)),)):
            return _log2(_size_value(arg, sizes), f)
        case A.Call(func="log2", args=(arg,)):
            x = _size_value(arg, sizes)
            return T.Int(_log2(x, "floor").lo, _log2(x, "ceil").hi)
        case A.Call(func="ceil" | "floor", args=(arg,)):
            return _size_value(arg, sizes)
    return T.Int(None, None)


def _log2(x: T.Int, rounding: str) -> T.Int:
    def one(b):
        if b is None or b == INF or b < 1:
            return None
        b = int(b)
        return (b - 1).bit_length() if rounding == "ceil" else b.bit_length() - 1
    return T.Int(one(x.lo), one(x.hi))


def _size_vars_of(texpr) -> list[str]:
    """Names used in the sizes of `bits[...]` / `vec[..., ...]` in a type expression."""
    names = []
    for node in A.walk(texpr):
        if isinstance(node, (A.BitsType, A.VecType)):
            names += [n.id for n in A.walk(node.size) if isinstance(n, A.Name)]
    return names


# ---------------------------------------------------------------- the module

class _ModuleChecker:
    def __init__(self, module: A.Module):
        self.module = module
        self.diags: list[Diagnostic] = []
        self.defs: dict[str, A.Def] = {}
        self.def_params: dict[str, list] = {}
        self.def_results: dict[str, object] = {}
        self.def_types: dict[int, T.Type] = {}
        self.unevaluable: set[str] = set()  # defs with errors or recursion
        self.associativity: dict[str, tuple[str, str] | None] = {}

    def err(self, span, code, message):
        self.diags.append(Diagnostic.at(span, code, message))
        return ERR

    def run(self) -> list[CheckedProgram]:
        seen: dict[str, A.Span] = {}
        for item in self.module.items:
            if item.name in seen:
                first = seen[item.name]
                self.err(item.name_span, "duplicate-name",
                         f"'{item.name}' is already defined at line {first.line}")
                continue
            seen[item.name] = item.name_span
            if isinstance(item, A.Def):
                if item.name in BUILTINS or item.name in AGGREGATIONS:
                    self.err(item.name_span, "duplicate-name",
                             f"'{item.name}' is a builtin; choose another name")
                self.defs[item.name] = item
        for d in self.defs.values():
            self.def_signature(d)
        self.check_recursion()
        for d in self.defs.values():
            self.check_def(d)
        if not self.module.items:
            # an empty file would otherwise check silently, with exit 0 (a file of defs alone
            # checks them; running it says it holds no program)
            file = self.module.span.file
            self.err(A.Span.unknown(file), "no-program",
                     f"no program in {file}: a file holds one or more 'program NAME(…) -> T {{ … }}'")
        return [c for p in self.module.programs if (c := self.check_program(p)) is not None]

    # ---- defs

    def def_signature(self, d: A.Def):
        ch = _Checker(self, None, {}, self.def_types)
        self.def_params[d.name] = [ch.type_of_syntax(p.type, "def") for p in d.params]
        self.def_results[d.name] = ch.type_of_syntax(d.result, "def-result")

    def check_recursion(self):
        calls = {name: [c for c in A.walk(d.body) if isinstance(c, A.Call) and c.func in self.defs]
                 for name, d in self.defs.items()}
        reach: dict[str, set[str]] = {}
        for name in self.defs:
            seen, todo = set(), [c.func for c in calls[name]]
            while todo:
                f = todo.pop()
                if f not in seen:
                    seen.add(f)
                    todo += [c.func for c in calls[f]]
            reach[name] = seen
        for name in self.defs:
            for c in calls[name]:
                if c.func == name or name in reach[c.func]:
                    self.unevaluable.add(name)
                    how = "itself" if c.func == name else f"itself through '{c.func}'"
                    self.err(c.func_span, "recursion",
                             f"'{name}' calls {how}; a def cannot be recursive")

    def check_def(self, d: A.Def):
        before = len(self.diags)
        ch = _Checker(self, None, {}, self.def_types)
        seen: set[str] = set()
        for prm in d.params:
            if prm.name in seen:
                self.err(prm.span, "duplicate-name", f"parameter '{prm.name}' is declared twice")
            seen.add(prm.name)
        ch.declare_params(d.params, self.def_params[d.name])
        ch.assigned_names = {s.target for s in d.body if isinstance(s, A.Assign)}
        result = self.def_results[d.name]
        for i, s in enumerate(d.body):
            match s:
                case A.Assign():
                    ch.assign(s)
                case A.Return(values=values):
                    if i != len(d.body) - 1:
                        self.err(s.span, "misplaced-return", "return must be the last statement")
                    for v in values:
                        ch.scalar(v)
                    if len(values) != 1:
                        self.err(s.span, "result-count",
                                 f"a def returns one value, not {len(values)}")
                    else:
                        found = _accepts(result, ch.types[id(values[0])])
                        if found:
                            self.err(values[0].span, found[0],
                                     f"'{d.name}' returns the wrong type: {found[1]}")
                case _:
                    self.err(s.span, "def-body", "a def body holds only assignments 'x = ...' "
                             "and a final return")
        if not any(isinstance(s, A.Return) for s in d.body):
            self.err(d.name_span, "missing-return", f"def '{d.name}' does not end with a return")
        if len(self.diags) > before:
            self.unevaluable.add(d.name)

    def check_associative(self, name: str) -> tuple[str, str] | None:
        if name not in self.associativity:
            self.associativity[name] = self._associativity(name)
        return self.associativity[name]

    def _associativity(self, name: str) -> tuple[str, str] | None:
        params, result = self.def_params[name], self.def_results[name]
        if len(params) != 2:
            return "arity", f"fold operator '{name}' must take 2 parameters, not {len(params)}"
        if ERR in params or result is ERR or self.unevaluable:
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
        ev = _Evaluator(self.defs)
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

    # ---- programs

    def check_program(self, p: A.Program) -> CheckedProgram | None:
        before = len(self.diags)
        size_names = {x for prm in p.params for x in _size_vars_of(prm.type)}
        bit_sizes = {x: T.Int(1, None) for x in size_names}
        types: dict[int, T.Type] = {}
        probe = _Checker(self, None, bit_sizes, types)
        param_types: dict[str, T.Type] = {}
        for prm in p.params:
            t = probe.type_of_syntax(prm.type, "param")
            if prm.name in param_types:
                self.err(prm.span, "duplicate-name", f"parameter '{prm.name}' is declared twice")
            else:
                param_types[prm.name] = t
        family = self.family(p, param_types)
        sizes = dict(bit_sizes)
        if family in ("graph", "seq"):
            sizes["n"] = T.Int(1, None)
        if family == "graph":
            sizes["m"] = T.Int(0, None)
        ch = _Checker(self, family, sizes, types)
        for prm in p.params:
            why = _reserved_param(prm.name, family, sizes)
            if why:
                self.err(prm.span, "reserved-name",
                         f"a parameter cannot be named '{prm.name}': {why}; choose another name")
        ch.declare_params(p.params, [param_types.get(prm.name, ERR) for prm in p.params])
        ranges = {a for t in param_types.values() if isinstance(t, T.Field)
                  for a in t.axes if a.kind == "range"}
        ch.default_range = next(iter(ranges)) if len(ranges) == 1 else None
        ch.range_count = len(ranges)
        results = [ch.type_of_syntax(r, "result") for r in p.results]
        for texpr, t in zip(p.results, results):
            ch.check_family_of(texpr.span, t, "return")
        if p.declared_class is not None and not re.fullmatch(r"AC0|TC0|NC|NC[1-9][0-9]*",
                                                              p.declared_class):
            self.err(p.class_span, "unknown-class",
                     f"unknown class '{p.declared_class}'; expected AC0, TC0, NC1, NC2, …, or NC"
                     + did_you_mean(p.declared_class, CLASSES))
        ch.assigned_names = {s.target for s in A.walk(p.body)
                             if isinstance(s, (A.Assign, A.IndexedAssign))}
        ch.block(p.body, top=True)
        result_names: tuple[str, ...] = ()
        ret = p.body[-1] if p.body and isinstance(p.body[-1], A.Return) else None
        if ret is None:
            if not any(isinstance(s, A.Return) for s in A.walk(p.body)):
                self.err(p.name_span, "missing-return",
                         f"program '{p.name}' does not end with a return")
        else:
            result_names = self.check_results(p, ret, results, types)
        if len(self.diags) > before:
            return None
        types.update(self.def_types)
        return CheckedProgram(p, self.module, family, types, ch.var_types, ch.assign_axes,
                              ch.binder_axes, ch.comp_axes, dict(self.defs),
                              frozenset(sizes), result_names)

    def family(self, p: A.Program, params: dict[str, T.Type]) -> str:
        graphs = [prm for prm in p.params if isinstance(params.get(prm.name), T.Graph)]
        graphy = [name for name, t in params.items() if _mentions(t, ("node", "edge"))]
        seqy = [name for name, t in params.items() if _mentions(t, ("pos",))]
        for extra in graphs[1:]:
            self.err(extra.span, "bad-type", "a program takes at most one graph")
        if (graphs or graphy) and seqy:
            self.err(p.name_span, "mixed-family",
                     f"program '{p.name}' mixes graph parameters "
                     f"({', '.join(x.name for x in graphs) or ', '.join(graphy)}) and sequence "
                     f"parameters ({', '.join(seqy)}); a program is one or the other")
            return "graph"
        if graphy and not graphs:
            self.err(p.name_span, "missing-graph",
                     f"program '{p.name}' has node, edge or pair parameters "
                     f"({', '.join(graphy)}) but no graph; add a parameter 'g: graph'")
        if graphs or graphy:
            return "graph"
        return "seq" if seqy else "bits"

    def check_results(self, p, ret: A.Return, results, types) -> tuple[str, ...]:
        if len(ret.values) != len(results):
            self.err(ret.span, "result-count", f"returns {len(ret.values)} value(s) but program "
                     f"'{p.name}' declares {len(results)} result(s)")
        else:
            for v, declared in zip(ret.values, results):
                actual = types.get(id(v), ERR)
                found = _accepts(declared, actual)
                if found:
                    elem = actual.elem if isinstance(actual, T.Field) else actual
                    hint = ""
                    if isinstance(elem, T.Index) and elem.axis.kind in ("node", "pos"):
                        word = "node" if elem.axis.kind == "node" else "position"
                        want = (f"{_fmt(actual).split('[')[0]}[{word}]"
                                if isinstance(actual, T.Field) else word)
                        hint = (f"; declare it {want} (a {word} or none, written as an "
                                f"integer or null)")
                    self.err(v.span, found[0], f"wrong result type: {found[1]}{hint}")
        names = []
        for i, v in enumerate(ret.values):
            if isinstance(v, A.Name):
                name = v.id
            else:
                name = "result" if len(ret.values) == 1 else f"result{i + 1}"
            if name in names:
                self.err(v.span, "duplicate-name", f"'{name}' is returned twice; the output "
                         "would have two entries with that name")
            names.append(name)
        return tuple(names)


# The JSON input of a graph program holds the graph under these keys, beside its parameters.
GRAPH_INPUT_KEYS = {"n": "the number of nodes", "edges": "the edge list"}
SIZE_NAMES = ("n", "m", "k")


def _reserved_param(name: str, family: str, sizes) -> str | None:
    """Why a program parameter may not be called `name`, or None. A parameter is a key of the
    JSON input and a name in every expression, so it may be neither a graph's own key nor a size
    variable (of this program, or one of n, m, k, which the docs always mean as sizes)."""
    if family == "graph" and name in GRAPH_INPUT_KEYS:
        return f"a graph program's input already uses the key \"{name}\" for " \
               f"{GRAPH_INPUT_KEYS[name]}"
    if name in sizes or name in SIZE_NAMES:
        return f"{name} is a size variable"
    return None


def _mentions(t, kinds) -> bool:
    if isinstance(t, T.Field):
        return any(a.kind in kinds for a in t.axes) or _mentions(t.elem, kinds)
    return isinstance(t, T.Index) and t.axis.kind in kinds


# ---------------------------------------------------------------- one body

class _Checker:
    """Checks the statements and expressions of one program (or, with `family` None, one def)."""

    def __init__(self, mod: _ModuleChecker, family: str | None, sizes: dict[str, T.Int],
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

    # ---- statements

    def block(self, stmts, top: bool):
        for i, s in enumerate(stmts):
            match s:
                case A.Assign():
                    self.assign(s)
                case A.IndexedAssign():
                    self.indexed_assign(s)
                case A.Repeat():
                    self.repeat(s)
                case A.Return(values=values):
                    if not top:
                        self.err(s.span, "misplaced-return", "return cannot be inside a repeat")
                    elif i != len(stmts) - 1:
                        self.err(s.span, "misplaced-return",
                                 "return must be the last statement of a program")
                    for v in values:
                        if self.expr(v) == T.Graph():
                            self.err(v.span, "type-mismatch", "a program cannot return a graph")

    def check_target(self, name: str, span) -> bool:
        if name in self.sizes:
            self.err(span, "shadowing", f"cannot assign to the size variable {name}")
            return False
        if name in self.params:
            self.err(span, "assign-to-param",
                     f"'{name}' is a parameter; assign to a new variable instead")
            return False
        return True

    def assign(self, s: A.Assign):
        ok = self.check_target(s.target, s.target_span)
        if isinstance(s.value, (A.Name, A.Fold)):
            t = self.expr(s.value)
            if t == T.Graph():
                t = self.err(s.value.span, "type-mismatch", "a graph cannot be assigned")
        else:
            t = self.scalar(s.value)
        if ok:
            self.store(s.target, s.target_span, t)

    def indexed_assign(self, s: A.IndexedAssign):
        ok = self.check_target(s.target, s.target_span)
        old = self.vars.get(s.target) if ok else None
        seen: set[str] = set()
        for b in s.binders:
            if b.name in seen:
                self.err(b.span, "duplicate-name", f"binder '{b.name}' appears twice")
            seen.add(b.name)
        if isinstance(old, T.Field) and len(old.axes) != len(s.binders):
            self.err(s.target_span, "arity", f"'{s.target}' is {_fmt(old)}, assigned with "
                     f"{len(old.axes)} binder(s), not {len(s.binders)}")
            old, ok = ERR, False
        elif old is not None and not isinstance(old, T.Field) and old is not ERR:
            self.err(s.target_span, "shape-mismatch",
                     f"'{s.target}' holds a single value ({_fmt(old)}); it cannot be indexed")
            old, ok = ERR, False
        axes = []
        for i, b in enumerate(s.binders):
            axis = self.binder_axis(b, old.axes[i] if isinstance(old, T.Field) else None)
            axes.append(axis)
            self.binder_axes[id(b)] = axis
        self.assign_axes[id(s)] = tuple(axes)
        depth = len(self.scope)
        for b, axis in zip(s.binders, axes):
            if all(n != b.name for n, _, _ in self.scope[depth:]):  # a duplicate is reported
                self.bind(b.name, b.span, ERR if axis is ERR else T.Index(axis))
        elem = self.scalar(s.value)
        del self.scope[depth:]
        if ok:
            t = ERR if elem is ERR or ERR in axes else T.Field(tuple(axes), elem)
            self.store(s.target, s.target_span, t)

    def binder_axis(self, b: A.Binder, existing: T.Axis | None):
        if b.domain is not None:
            if isinstance(b.domain, (A.In, A.Out)):
                return self.err(b.domain.span, "wrong-domain",
                                "a binder ranges over nodes, edges, positions or range(SIZE)")
            axis, _ = self.domain(b.domain)
            if existing is not None and axis is not ERR and axis != existing:
                return self.err(b.domain.span, "wrong-domain",
                                f"the axis is {_axis_str(existing)}, not {_axis_str(axis)}")
            return axis
        if existing is not None:
            return existing
        if self.family == "graph":
            return T.NODE
        if self.family == "seq":
            return T.POS
        if self.default_range is not None:
            return self.default_range
        many = "no" if self.range_count == 0 else "several"
        return self.err(b.span, "no-default-domain",
                        f"this program has {many} bit-vector sizes, so '{b.name}' needs its domain "
                        f"named, as in [{b.name} in range(SIZE)]")

    def store(self, name: str, span, t):
        old = self.vars.get(name)
        if old is not None and old is not ERR and t is not ERR and _join(old, t) is None:
            shape = isinstance(old, T.Field) != isinstance(t, T.Field) or (
                isinstance(old, T.Field) and old.axes != t.axes)
            self.err(span, "shape-mismatch" if shape else "type-mismatch",
                     f"'{name}' held {_fmt(old)} and is now assigned {_fmt(t)}; a variable keeps "
                     "its shape and kind of value")
        self.vars[name] = t
        self.maybe.pop(name, None)
        known = self.var_types.get(name)
        joined = t if known is None else _join(known, t)
        self.var_types[name] = t if joined is None else joined

    def repeat(self, s: A.Repeat):
        count = self.size_expr(s.count)
        before, before_maybe = dict(self.vars), dict(self.maybe)
        carried = dict(before)
        found: list[Diagnostic] = []
        for attempt in range(_MAX_LOOP_PASSES):
            self.vars, self.maybe = dict(carried), dict(before_maybe)
            outer, self.diags = self.diags, []
            self.block(s.body, top=False)
            # every pass's errors: a wrong expression makes its variable ERR, and ERR is
            # silent, so the pass after one that found an error finds none
            found, self.diags = found + self.diags, outer
            grown = {}
            for name, t in carried.items():
                new = _widen(t, self.vars[name], attempt == 0)
                if new != t:
                    grown[name] = new
            if not grown:
                break
            carried.update(grown)
        self.diags.extend(dict.fromkeys(found))
        new = {k: v for k, v in self.vars.items() if k not in carried}
        runs = count is not ERR and count.lo is not None and count.lo >= 1
        self.maybe = self.maybe if runs else {**before_maybe, **{k: s for k in new}}
        self.vars = {**carried, **new}

    # ---- expressions

    def expr(self, e):
        t = self._expr(e)
        self.types[id(e)] = t
        return t

    def scalar(self, e):
        t = self.expr(e)
        if isinstance(t, (T.Field, T.Graph)):
            hint = f"; index it, as in {e.id}[...]" if isinstance(e, A.Name) and isinstance(
                t, T.Field) else ""
            return self.err(e.span, "type-mismatch", f"expected a single value, got {_fmt(t)}"
                            + hint)
        return t

    def boolean(self, e, t=None):
        t = self.scalar(e) if t is None else t
        if t is not ERR and not isinstance(t, T.Bool):
            return self.err(e.span, "type-mismatch", f"expected a bool, got {_fmt(t)}")
        return t

    def number(self, e, t=None, allow_bool=False):
        """`e`'s type as a number (an index counts as its integer value); `t` when known."""
        t = self.scalar(e) if t is None else t
        if t is ERR or isinstance(t, (T.Int, T.Frac)):
            return t
        if isinstance(t, T.Bool) and allow_bool:
            return T.Int(0, 1)
        if isinstance(t, T.Bool):
            return self.err(e.span, "type-mismatch", "expected a number, got bool: a bool is not "
                            "a number (write '1 if … else 0', or count booleans with sum or count)")
        if isinstance(t, T.Index):
            if t.optional:
                return self.err(e.span, "type-mismatch",
                                f"this {_fmt(t)} may be none, which is not a number")
            return _as_int(t, self.sizes)
        return self.err(e.span, "type-mismatch", f"expected a number, got {_fmt(t)}")

    def _expr(self, e):
        match e:
            case A.IntLit(value=v):
                return T.Int(v, v)
            case A.BoolLit():
                return T.Bool()
            case A.InfLit():
                return T.Int(INF, INF)
            case A.NoneLit():
                return T.NoneType()
            case A.StrLit():
                return T.Token()
            case A.Name():
                return self.name(e)
            case A.Neg(operand=o):
                t = self.number(o)
                return _int_neg(t) if isinstance(t, T.Int) else t
            case A.Not(operand=o):
                return ERR if self.boolean(o) is ERR else T.Bool()
            case A.BoolOp(left=l, right=r):
                a, b = self.boolean(l), self.boolean(r)
                return ERR if ERR in (a, b) else T.Bool()
            case A.BinOp():
                return self.binop(e)
            case A.Compare():
                return self.compare(e)
            case A.IfExpr(then=then, cond=cond, orelse=orelse):
                self.boolean(cond)
                a, b = self.scalar(then), self.scalar(orelse)
                joined = _join(a, b)
                if joined is None:
                    return self.err(e.span, "type-mismatch", "the branches of if/else disagree: "
                                    f"{_fmt(a)} and {_fmt(b)}")
                return joined
            case A.Index():
                return self.index(e)
            case A.Call():
                return self.call(e)
            case A.Comprehension():
                return self.comprehension(e)
            case A.Fold():
                return self.fold(e)
        return self.err(e.span, "type-mismatch", "not an expression")

    def name(self, e: A.Name):
        for name, t, _ in reversed(self.scope):
            if name == e.id:
                return t
        if e.id in self.vars:
            if e.id in self.maybe:
                line = self.maybe[e.id].span.line
                return self.err(e.span, "unassigned",
                                f"'{e.id}' may be unassigned here: it is first assigned inside the "
                                f"repeat at line {line}, which may run zero times")
            return self.vars[e.id]
        if e.id in self.params:
            return self.params[e.id]
        if e.id in self.sizes:
            return self.sizes[e.id]
        if e.id in ("src", "dst") and e.id not in self.mod.defs:
            # a typo for a variable (`dst` for `dist`) is likelier than a bare endpoint function
            hint = did_you_mean(e.id, [n for n in self.known_names() if n not in BUILTINS])
            if hint:
                return self.err(e.span, "unknown-name", f"unknown name '{e.id}'" + hint)
        if e.id in self.mod.defs or e.id in BUILTINS:
            return self.err(e.span, "type-mismatch", f"'{e.id}' is a function; call it")
        if e.id in self.assigned_names:
            return self.err(e.span, "unassigned", f"'{e.id}' is used before it is assigned")
        return self.err(e.span, "unknown-name",
                        f"unknown name '{e.id}'" + did_you_mean(e.id, self.known_names()))

    def known_names(self):
        return ([n for n, _, _ in self.scope] + list(self.vars) + list(self.params)
                + list(self.sizes) + list(self.mod.defs) + list(BUILTINS))

    def bind(self, name: str, span, t, comp: A.Comprehension | None = None):
        why = None
        if name in self.sizes:
            why = f"the size variable {name}"
        elif name in self.params:
            why = f"the parameter '{name}'"
        elif name in self.vars:
            why = f"the variable '{name}'"
        elif any(n == name for n, _, _ in self.scope):
            why = f"the enclosing '{name}'"
        if why:
            self.err(span, "shadowing", f"'{name}' hides {why}; choose another name")
        self.scope.append((name, t, comp))

    def binop(self, e: A.BinOp):
        a, b = self.number(e.left), self.number(e.right)
        if ERR in (a, b):
            return ERR
        if e.op == "/" or isinstance(a, T.Frac) or isinstance(b, T.Frac):
            return T.Frac()
        match e.op:
            case "+":
                return _int_add(a, b)
            case "-":
                return _int_add(a, _int_neg(b))
            case "*":
                return _int_mul(a, b)
            case "//":
                return _int_floordiv(a, b)
        return _int_mod(a, b)

    def compare(self, e: A.Compare):
        a, b = self.scalar(e.left), self.scalar(e.right)
        if ERR in (a, b):
            return T.Bool()
        equality = e.op in ("==", "!=")
        numeric = (T.Int, T.Frac, T.Index)
        if isinstance(a, T.Index) and isinstance(b, T.Index) and a.axis.kind != b.axis.kind:
            self.err(e.span, "wrong-domain",
                     f"cannot compare {_index_noun(a.axis)} with {_index_noun(b.axis)}")
        elif isinstance(a, numeric) and isinstance(b, numeric):
            if not equality and (_optional(a) or _optional(b)):
                self.err(e.span, "type-mismatch", "a value that may be none has no order")
        elif equality and (a == b or {type(a), type(b)} == {T.Index, T.NoneType}):
            pass
        elif a == b:
            self.err(e.span, "type-mismatch", f"{_fmt(a)} values have no order")
        else:
            self.err(e.span, "type-mismatch", f"cannot compare {_fmt(a)} with {_fmt(b)}")
        return T.Bool()

    # ---- indexing

    def index(self, e: A.Index):
        base = self.expr(e.base)
        idx = [self.scalar(i) for i in e.indices]
        if base is ERR:
            return ERR
        if not isinstance(base, T.Field):
            return self.err(e.base.span, "not-a-field",
                            f"only fields can be indexed; this is {_fmt(base)}")
        if base.axes == (T.EDGE,):
            if len(idx) == 1 and isinstance(idx[0], T.Index) and idx[0].axis == T.EDGE:
                return base.elem  # w[e], e an edge (a binder or variable over `edges`)
            return self.edge_index(e, base)
        if len(e.indices) != len(base.axes):
            want = "1 index" if len(base.axes) == 1 else f"{len(base.axes)} indices"
            return self.err(e.span, "arity", f"{_fmt(base)} takes {want}, not "
                            f"{len(e.indices)}")
        for axis, t, ie in zip(base.axes, idx, e.indices):
            if isinstance(t, T.Int):
                self.index_in_reach(axis, t, ie)
                continue
            if t is ERR:
                continue
            if isinstance(t, T.Index):
                if t.axis.kind != axis.kind:
                    what = f"'{e.base.id}'" if isinstance(e.base, A.Name) else "this field"
                    self.err(ie.span, "wrong-domain", f"{_index_noun(t.axis)} cannot index "
                             f"{_fmt(base)} {what}")
            else:
                self.err(ie.span, "type-mismatch",
                         f"an index is an integer, a node or a position, not {_fmt(t)}")
        return base.elem

    def index_in_reach(self, axis: T.Axis, t: T.Int, ie: A.Expr) -> None:
        """Refuse an integer index that is outside `axis` at every size: every read of it would
        fail, and a network has no failure to mirror that with."""
        if _may_be_inf(t):
            self.err(ie.span, "index-out-of-range",
                     f"index {_expr_str(ie)} may be inf ({_fmt(t)}), which indexes nothing")
            return
        size = _size_value(axis.size, self.sizes) if axis.kind == "range" else T.Int(1, None)
        below = t.hi is not None and t.hi != INF and t.hi < 0
        beyond = (t.lo is not None and t.lo != -INF and size.hi is not None
                  and size.hi != INF and t.lo >= size.hi)
        if below or beyond:
            constant = axis.kind == "range" and size.hi is not None and size.hi == size.lo
            where = f"0..{_bound_str(size.hi - 1)}" if constant else "indexes from 0"
            value = "" if t.lo == t.hi and _expr_str(ie) == _bound_str(t.lo) else f" (in {_fmt(t)})"
            self.err(ie.span, "index-out-of-range",
                     f"index {_expr_str(ie)}{value} is outside {_axis_str(axis)} ({where}) at "
                     "every size, so every read of it fails")

    def edge_index(self, e: A.Index, base: T.Field):
        names = [i.id if isinstance(i, A.Name) else None for i in e.indices]
        if len(names) == 2 and None not in names:
            u, v = names
            for var, want, dom in ((u, v, A.In), (v, u, A.Out)):
                comp = next((c for n, _, c in reversed(self.scope) if n == var), None)
                if (isinstance(comp, A.Comprehension) and isinstance(comp.domain, dom)
                        and isinstance(comp.domain.of, A.Name) and comp.domain.of.id == want):
                    return base.elem
        field = e.base.id if isinstance(e.base, A.Name) else "w"
        return self.err(e.span, "edge-index",
                        f"an edge field is read as {field}[u, v] inside 'for u in in(v)', or "
                        f"{field}[v, u] inside 'for u in out(v)', where v is a plain name, or "
                        f"as {field}[e] with e over edges ('for e in edges', or "
                        f"'t[e in edges] = …')")

    # ---- calls

    def call(self, e: A.Call):
        f = e.func
        if f in SIZE_FUNCS:
            for a in e.args:
                self.expr(a)
            return self.err(e.func_span, "size-only", f"{f}(...) is only allowed in size "
                            "expressions (repeat counts, range(...), bits[...] sizes)")
        if f in ("min", "max", "abs"):
            args = [self.number(a) for a in e.args]
            wanted = len(args) == 1 if f == "abs" else len(args) >= 2
            if not wanted:
                how = "one value" if f == "abs" else \
                    f"two or more values; for the {f} of many use {f}(x for x in ...)"
                return self.err(e.func_span, "arity", f"{f} takes {how}")
            if ERR in args:
                return ERR
            if any(isinstance(a, T.Frac) for a in args):
                return T.Frac()
            if f == "abs":
                return _int_abs(args[0])
            lo, hi = (_lo_min, _hi_min) if f == "min" else (_lo_max, _hi_max)
            out = args[0]
            for a in args[1:]:
                out = T.Int(lo(out.lo, a.lo), hi(out.hi, a.hi))
            return out
        if f == "edge":
            return self.edge_call(e)
        if f in ("src", "dst") and f not in self.mod.defs:
            return self.endpoint_call(e)
        if f in self.mod.defs:
            return self.call_def(e)
        for a in e.args:
            self.expr(a)
        if f in self.vars or f in self.params or f in self.sizes or any(
                n == f for n, _, _ in self.scope):
            return self.err(e.func_span, "type-mismatch", f"'{f}' is a value, not a function")
        if f in AGGREGATIONS:
            return self.err(e.func_span, "unknown-name", f"'{f}' aggregates a comprehension: "
                            f"{f}(x for x in DOMAIN)")
        return self.err(e.func_span, "unknown-name", f"unknown function '{f}'"
                        + did_you_mean(f, list(self.mod.defs) + list(BUILTINS)))

    def edge_call(self, e: A.Call):
        args = [self.scalar(a) for a in e.args]
        if self.family != "graph":
            return self.err(e.func_span, "wrong-family", "edge(...) is only available in graph "
                            "programs")
        if len(args) != 2:
            return self.err(e.func_span, "arity", f"edge takes two nodes, not {len(args)}")
        for a, t in zip(e.args, args):
            if isinstance(t, T.Index) and t.axis.kind != "node":
                self.err(a.span, "wrong-domain", f"edge takes nodes, not {_fmt(t)}")
            elif t is not ERR and not isinstance(t, (T.Index, T.Int)):
                self.err(a.span, "type-mismatch", f"edge takes nodes, not {_fmt(t)}")
        return T.Bool()

    def endpoint_call(self, e: A.Call):
        """src(e) / dst(e): the node an edge leaves / enters, e over `edges`."""
        args = [self.scalar(a) for a in e.args]
        if self.family != "graph":
            return self.err(e.func_span, "wrong-family", f"{e.func}(...) is only available in "
                            "graph programs")
        if len(args) != 1:
            return self.err(e.func_span, "arity", f"{e.func} takes one edge, not {len(args)}")
        t = args[0]
        if t is not ERR and not (isinstance(t, T.Index) and t.axis == T.EDGE
                                 and not t.optional):
            return self.err(e.args[0].span, "type-mismatch",
                            f"{e.func} takes an edge (a binder over edges), not {_fmt(t)}")
        return T.Index(T.NODE)

    def call_def(self, e: A.Call):
        params, result = self.mod.def_params[e.func], self.mod.def_results[e.func]
        args = [self.scalar(a) for a in e.args]
        if len(args) != len(params):
            return self.err(e.func_span, "arity", f"'{e.func}' takes {len(params)} "
                            f"argument(s), not {len(args)}")
        for a, declared, actual in zip(e.args, params, args):
            found = _accepts(declared, actual)
            if found:
                self.err(a.span, found[0], f"argument of '{e.func}': {found[1]}")
        if result == T.Int(None, None):
            return T.Int(-INF, INF)
        return result

    # ---- comprehensions and folds

    def domain(self, d):
        """(axis, how many elements) of a domain."""
        match d:
            case A.Nodes() | A.Edges() | A.In() | A.Out() if self.family != "graph":
                return self.err(d.span, "wrong-family", "nodes, edges, in(v) and out(v) are "
                                "only available in graph programs"), T.Int(0, None)
            case A.Edges():
                return T.EDGE, self.sizes.get("m", T.Int(0, None))
            case A.Positions() if self.family != "seq":
                return self.err(d.span, "wrong-family", "positions are only available in "
                                "sequence programs"), T.Int(0, None)
            case A.Nodes() | A.Positions():
                return (T.NODE if isinstance(d, A.Nodes) else T.POS), self.sizes["n"]
            case A.Range(size=size):
                count = self.size_expr(size)
                if count is ERR:
                    return ERR, T.Int(0, None)
                return T.Axis("range", size), T.Int(_lo_max(count.lo, 0), count.hi)
            case A.In(of=of) | A.Out(of=of):
                # a node that may be none (an argmin's result) is allowed: in(none) and
                # out(none) are empty, so a pointer that points nowhere needs no guard
                t = self.scalar(of)
                node = isinstance(t, T.Index) and t.axis == T.NODE
                if t is not ERR and not node and not isinstance(t, T.NoneType):
                    self.err(of.span, "wrong-domain", f"in(...) and out(...) take a node, "
                             f"not {_fmt(t)}")
                return T.NODE, T.Int(0, None)

    def comprehension(self, c: A.Comprehension):
        axis, count = self.domain(c.domain)
        if axis is not ERR:
            self.comp_axes[id(c)] = axis
        depth = len(self.scope)
        self.bind(c.var, c.var_span, ERR if axis is ERR else T.Index(axis), c)
        if c.cond is not None:
            self.boolean(c.cond)
            count = T.Int(0, count.hi)
        body = self.scalar(c.body)
        del self.scope[depth:]
        if c.agg not in AGGREGATIONS:
            return self.err(c.agg_span, "unknown-aggregation", f"unknown aggregation '{c.agg}'"
                            + did_you_mean(c.agg, AGGREGATIONS))
        if axis is ERR or body is ERR:
            return ERR
        empty = count.lo is None or count.lo < 1
        match c.agg:
            case "any" | "all":
                return ERR if self.boolean(c.body, body) is ERR else T.Bool()
            case "count":
                return T.Int(0, count.hi)
            case "sum":
                t = self.number(c.body, body, allow_bool=True)
                return t if not isinstance(t, T.Int) else _int_sum(t, count)
            case "mean":
                return ERR if self.number(c.body, body, allow_bool=True) is ERR else T.Frac()
            case "min" | "max":
                t = self.number(c.body, body)
                if not isinstance(t, T.Int) or not empty:
                    return t
                return T.Int(t.lo, INF) if c.agg == "min" else T.Int(-INF, t.hi)
            case "argmin" | "argmax":
                if self.number(c.body, body, allow_bool=True) is ERR:
                    return ERR
                return T.Index(axis, empty)
            case "only":
                if isinstance(body, T.Index):
                    return T.Index(body.axis, body.optional or empty)
                return body

    def fold(self, f: A.Fold):
        arg = self.expr(f.arg)
        if arg is ERR:
            return ERR
        if not isinstance(arg, T.Field) or len(arg.axes) != 1:
            return self.err(f.arg.span, "bad-fold",
                            f"{f.kind} takes a field with one axis, not {_fmt(arg)}")
        axis, elem = arg.axes[0], arg.elem
        count = self.sizes.get("m", T.Int(0, None)) if axis == T.EDGE else (
            _size_value(axis.size, self.sizes) if axis.kind == "range" else self.sizes["n"])
        count = T.Int(max(count.lo or 0, 1), count.hi)
        out = self.fold_elem(f, elem, count)
        if out is ERR:
            return ERR
        return out if f.kind == "reduce" else T.Field(arg.axes, out)

    def fold_elem(self, f: A.Fold, elem, count: T.Int):
        op = f.op
        if op in ("xor", "and", "or"):
            if not isinstance(elem, T.Bool):
                return self.err(f.arg.span, "type-mismatch", f"'{op}' folds bools, not "
                                f"{_fmt(elem)}")
            return T.Bool()
        if op in ("+", "*", "min", "max"):
            value = T.Int(0, 1) if isinstance(elem, T.Bool) and op in ("+", "*") else (
                elem if isinstance(elem, (T.Int, T.Frac)) else None)
            if value is None:
                return self.err(f.arg.span, "type-mismatch",
                                f"'{op}' folds numbers, not {_fmt(elem)}")
            if isinstance(value, T.Frac) or op in ("min", "max"):
                return value
            if op == "+":
                return _int_sum(value, count)
            unit = value.lo is not None and value.hi is not None and 0 <= value.lo <= value.hi <= 1
            return value if unit else _unknown_int(value)
        if op in self.mod.defs:
            problem = self.mod.check_associative(op)
            if problem:
                return self.err(f.op_span, *problem)
            param, result = self.mod.def_params[op][0], self.mod.def_results[op]
            found = _accepts(param, elem)
            if found:
                return self.err(f.arg.span, found[0], f"elements for '{op}': {found[1]}")
            return result
        if op in ("/", "//", "%"):
            return self.err(f.op_span, "bad-fold", f"'{op}' is not a fold operator; use "
                            f"{', '.join(FOLD_BUILTINS)} or a def")
        return self.err(f.op_span, "unknown-name", f"unknown fold operator '{op}'"
                        + did_you_mean(op, list(self.mod.defs) + ["min", "max"]))

    # ---- sizes

    def size_expr(self, e):
        """Check a size expression and give its range: integers, size variables, + - * //,
        ceil, floor and log2."""
        bad = self.bad_size(e)
        if bad is not None:
            return ERR
        for node in A.walk(e):
            self.types[id(node)] = _size_value(node, self.sizes)
        return self.types[id(e)]

    def bad_size(self, e, rounded: bool = False):
        """The error (ERR) when `e` is not a valid size expression, else None. `rounded`: `e` is
        the argument of ceil or floor. Beyond the syntax, the rules that make a size an integer
        at every size: a divisor is at least 1, and log2 takes at least 1 and, unless its value
        is a constant power of two, sits directly under ceil or floor."""
        rule = (f"a size uses integers, {', '.join(sorted(self.sizes)) or 'size variables'}, "
                "+ - * //, ceil, floor and log2")
        match e:
            case A.BinOp(op="//", left=l, right=r):
                if self.bad_size(l) or self.bad_size(r):
                    return ERR
                divisor = _size_value(r, self.sizes)
                if divisor.lo is None or divisor.lo < 1:
                    text, low = _expr_str(r), _bound_str(divisor.lo)
                    if divisor.lo is not None and divisor.lo == divisor.hi:
                        what = f"division by {text}" + ("" if text == low else f", which is {low}")
                    else:
                        what = f"the divisor {text} of a size may be {low}"
                    return self.err(r.span, "bad-size", f"{what}: a size divides only by values "
                                    "of at least 1 at every size")
                return None
            case A.Call(func="log2", args=(arg,)):
                if self.bad_size(arg):
                    return ERR
                x = _size_value(arg, self.sizes)
                if x.lo is None or x.lo < 1:
                    return self.err(e.span, "bad-size",
                                    f"log2({_expr_str(arg)}) is undefined where its argument is "
                                    f"{_bound_str(x.lo)}; log2 needs at least 1 at every size")
                constant_power = x.lo == x.hi and int(x.lo) & (int(x.lo) - 1) == 0
                if not rounded and not constant_power:
                    return self.err(e.span, "bad-size",
                                    f"log2({_expr_str(arg)}) is not an integer at every size; "
                                    f"round it: ceil(log2({_expr_str(arg)})) or "
                                    f"floor(log2({_expr_str(arg)}))")
                return None
            case A.Call(func="ceil" | "floor", args=(arg,)):
                return self.bad_size(arg, rounded=True)
        match e:
            case A.IntLit():
                return None
            case A.Name(id=x) if x in self.sizes:
                return None
            case A.Name(id=x):
                known = (x in self.vars or x in self.params
                         or any(n == x for n, _, _ in self.scope))
                if known:
                    return self.err(e.span, "bad-size", f"'{x}' is not a size variable; {rule}")
                return self.err(e.span, "unknown-name", f"unknown size variable '{x}'"
                                + did_you_mean(x, self.sizes))
            case A.BinOp(op="+" | "-" | "*", left=l, right=r):
                return self.bad_size(l) or self.bad_size(r)
        return self.err(e.span, "bad-size", f"not a size expression; {rule}")


# ---------------------------------------------------------------- evaluating defs

class _Evaluator:
    """Runs a def on Python scalars, to tabulate a fold operator. Errors surface as exceptions."""

    def __init__(self, defs: dict[str, A.Def]):
        self.defs = defs

    def call(self, name: str, args: list):
        d = self.defs[name]
        env = {p.name: a for p, a in zip(d.params, args)}
        for s in d.body:
            if isinstance(s, A.Return):
                return self.eval(s.values[0], env)
            env[s.target] = self.eval(s.value, env)
        raise ValueError("no return")

    def eval(self, e, env):
        match e:
            case A.IntLit(value=v) | A.BoolLit(value=v) | A.StrLit(value=v):
                return v
            case A.InfLit():
                return INF
            case A.NoneLit():
                return None
            case A.Name(id=x):
                return env[x]
            case A.Neg(operand=o):
                return -self.eval(o, env)
            case A.Not(operand=o):
                return not self.eval(o, env)
            case A.BoolOp(op="and", left=l, right=r):
                return self.eval(l, env) and self.eval(r, env)
            case A.BoolOp(op="or", left=l, right=r):
                return self.eval(l, env) or self.eval(r, env)
            case A.BoolOp(op="xor", left=l, right=r):
                return self.eval(l, env) != self.eval(r, env)
            case A.IfExpr(then=then, cond=cond, orelse=orelse):
                return self.eval(then if self.eval(cond, env) else orelse, env)
            case A.Compare(op=op, left=l, right=r):
                return _COMPARE[op](self.eval(l, env), self.eval(r, env))
            case A.BinOp(op=op, left=l, right=r):
                return _arith(op, self.eval(l, env), self.eval(r, env))
            case A.Call(func="min" | "max" | "abs" as f, args=args):
                return {"min": min, "max": max, "abs": abs}[f](*[self.eval(a, env) for a in args])
            case A.Call(func=f, args=args):
                return self.call(f, [self.eval(a, env) for a in args])
            case A.Comprehension(domain=A.Range(size=size)):
                return self.aggregate(e, range(int(_size_value(size, {}).lo)), env)
        raise ValueError(f"cannot evaluate {type(e).__name__} in a def")

    def aggregate(self, c: A.Comprehension, domain, env):
        items = [x for x in domain if c.cond is None or self.eval(c.cond, {**env, c.var: x})]
        if c.agg == "count":
            return len(items)
        values = [self.eval(c.body, {**env, c.var: x}) for x in items]
        match c.agg:
            case "any":
                return any(values)
            case "all":
                return all(values)
            case "sum":
                return sum(int(v) if isinstance(v, bool) else v for v in values)
            case "min":
                return min(values, default=INF)
            case "max":
                return max(values, default=-INF)
            case "mean":
                return Fraction(sum(values)) / len(values)
            case "argmin" | "argmax":
                if not values:
                    return None
                best = (min if c.agg == "argmin" else max)(values)
                return items[values.index(best)]
            case "only":
                if len(values) > 1:
                    raise ValueError("only: more than one element")
                return values[0] if values else None


_COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _arith(op: str, a, b):
    match op:
        case "+":
            r = a + b
        case "-":
            r = a - b
        case "*":
            r = a * b
        case "/":
            r = Fraction(a) / Fraction(b)
        case "//":
            r = a // b
        case _:
            r = a % b
    if isinstance(r, float) and (r != r or (math.isinf(r) and op in ("//", "%"))):
        raise ArithmeticError(f"{_value_str(a)} {op} {_value_str(b)} is undefined")
    return r
