"""Decoding one input record into an `Instance` for a checked program: the sizes it must give,
every parameter against its declared type (ranges, lengths, `inf`, `none`), to numpy arrays;
every problem of a record is reported, each at its key or element."""
from __future__ import annotations

import json
import math
from itertools import chain
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from .. import ast as A
from .. import types as T
from ..diagnostics import Diagnostic, NclError, did_you_mean
from ..values import EXACT_INT_LIMIT, NONE_INDEX, GraphData, Instance, dtype_of
from .describe import _json_kind, _show
from .reading import Record

INF = float("inf")

# How many element errors one field reports before summing the rest up in one line: a list of a
# million out-of-range values should not bury the other fields' errors.
MAX_ERRORS_PER_FIELD = 5


# ---------------------------------------------------------------- sizes

def _names_in(expr) -> set[str]:
    """The size variables an AST expression mentions."""
    if isinstance(expr, A.Name):
        return {expr.id}
    found: set[str] = set()
    if is_dataclass(expr):
        for f in fields(expr):
            value = getattr(expr, f.name)
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                if is_dataclass(item) and not isinstance(item, A.Span):
                    found |= _names_in(item)
    return found


def input_sizes(checked) -> frozenset[str]:
    """The size variables that an input instance fixes by itself (so `--size` may not)."""
    if checked.family == "graph":
        return frozenset({"n", "m"})
    if checked.family == "seq" and any(_is_seq(T.from_syntax(p.type))
                                       for p in checked.program.params):
        return frozenset({"n"})
    return frozenset()


def _is_seq(t: T.Type) -> bool:
    return isinstance(t, T.Field) and any(a.kind == "pos" for a in t.axes)


def check_sizes(checked, sizes: dict[str, int], file: str) -> None:
    """Raise `missing-size` for every size variable that neither the input nor `sizes` fixes.

    The diagnostic points at the first parameter type that mentions the variable (else at the
    program's name), in the program's source file."""
    program = checked.program
    needed: dict[str, A.Span] = {}
    for p in program.params:
        for name in sorted(_names_in(p.type)):
            needed.setdefault(name, p.type.span)
    for name in sorted(getattr(checked, "size_vars", ())):
        needed.setdefault(name, program.name_span)
    fixed = input_sizes(checked) | set(sizes)
    errors = [Diagnostic.at(span, "missing-size", f"size {name} is not fixed: pass --size {name}=N")
              for name, span in needed.items() if name not in fixed]
    if errors:
        raise NclError(errors)


# ---------------------------------------------------------------- decoding


class _Bad(Exception):
    """One element that does not fit its type; the message is finished by the caller."""


class _Decoder:
    def __init__(self, checked, obj: dict, sizes: dict[str, int], file: str, line: int,
                 params=None):
        self.checked = checked
        self.params = params
        self.obj = obj
        self.sizes = dict(sizes)
        self.file = file
        self.line = line
        self.errors: list[Diagnostic] = []
        self.values: dict[str, np.ndarray] = {}
        self.graph: GraphData | None = None
        self.n: int | None = None
        self.m: int | None = None
        self.n_from: str | None = None

    # ---- where
    def _record_span(self) -> A.Span:
        if isinstance(self.obj, Record):
            return self.obj.record_span()
        return A.Span(self.file, self.line, 1, self.line, 2)

    def _key_span(self, key: str) -> A.Span:
        if isinstance(self.obj, Record):
            return self.obj.key_span(key)
        return self._record_span()

    def _elem_span(self, key: str, path: tuple[int, ...]) -> A.Span:
        if isinstance(self.obj, Record):
            return self.obj.element_span(key, path)
        return self._record_span()

    def error(self, span: A.Span, message: str) -> None:
        self.errors.append(Diagnostic.at(span, "bad-input", message))

    # ---- the whole record
    def run(self) -> Instance:
        program = self.checked.program
        params = self.params or [(p.name, T.from_syntax(p.type)) for p in program.params]
        graph_family = any(isinstance(t, T.Graph) for _, t in params)
        known = {name for name, t in params if not isinstance(t, T.Graph)}
        if graph_family:
            known |= {"n", "edges"}
        for key in self.obj:
            if key not in known:
                self.error(self._key_span(key),
                           f"unknown field {_field_name(key)}{did_you_mean(key, known)}"
                           f" (program {program.name} takes: {', '.join(sorted(known))})")
        for key in getattr(self.obj, "duplicates", ()):
            self.error(self._key_span(key), f"field {_field_name(key)} is given more than once")
        if graph_family:
            self._graph()
        else:
            self._sequence_length(params)
        for name, t in params:
            if isinstance(t, T.Graph):
                continue
            if name not in self.obj:
                self.error(self._record_span(),
                           f"missing field '{name}' ({t}{self._describe_axes(t)})")
                continue
            self._param(name, t, self.obj[name])
        if self.errors:
            raise NclError(sorted(self.errors, key=lambda d: (d.file != self.file, d.line, d.col)))
        sizes = dict(self.sizes)
        if self.n is not None:
            sizes["n"] = self.n
        if self.m is not None:
            sizes["m"] = self.m
        return Instance(sizes=sizes, values=self.values, graph=self.graph)

    # ---- graph: n and edges
    def _graph(self) -> None:
        if "n" not in self.obj:
            self.error(self._record_span(), "missing field 'n' (the number of nodes)")
        else:
            n = self.obj["n"]
            if not _is_int(n) or n < 1:
                self.error(self._key_span("n"), "n must be a positive integer (the number of"
                                                f" nodes), got {_json_kind(n)}")
            else:
                self.n = int(n)
        edges = self.obj.get("edges", [])
        if not isinstance(edges, list):
            self.error(self._key_span("edges"),
                       f"edges must be a list of [u, v] pairs, got {_json_kind(edges)}")
            return
        pairs = _int_pairs(edges) if self.n is not None else None
        if pairs is not None and (not pairs.size or (pairs.min() >= 0 and pairs.max() < self.n)):
            self.m = len(edges)
            self.graph = GraphData(self.n, np.ascontiguousarray(pairs[:, 0]),
                                   np.ascontiguousarray(pairs[:, 1]))
            return
        # some edge is wrong (or written unusually): edge by edge, to say which
        src, dst, bad = [], [], 0
        for e, pair in enumerate(edges):
            ok = isinstance(pair, list) and len(pair) == 2 and all(_is_int(u) for u in pair)
            if ok and self.n is not None and not all(0 <= u < self.n for u in pair):
                problem = f"edges[{e}]: {_show(pair)} names a node outside 0..{self.n - 1}"
            elif not ok:
                problem = f"edges[{e}]: expected a pair [u, v] of node ids, got {_show(pair)}"
            else:
                src.append(int(pair[0]))
                dst.append(int(pair[1]))
                continue
            bad += 1
            if bad <= MAX_ERRORS_PER_FIELD:
                self.error(self._elem_span("edges", (e,)), problem)
        if bad > MAX_ERRORS_PER_FIELD:
            self.error(self._key_span("edges"),
                       f"edges: {bad - MAX_ERRORS_PER_FIELD} more bad edges not shown")
        if bad:
            return
        self.m = len(edges)
        if self.n is not None:
            self.graph = GraphData(self.n, np.asarray(src, dtype=np.int64),
                                   np.asarray(dst, dtype=np.int64))

    # ---- sequences: n is the common length
    def _sequence_length(self, params) -> None:
        """n is the length of the first sequence given; the others are checked against it when
        their values are decoded."""
        for name, t in params:
            if not _is_seq(t) or name not in self.obj or not isinstance(self.obj[name], list):
                continue
            if not self.obj[name]:
                self.error(self._key_span(name),
                           f"{name} is empty: a sequence has at least one position")
            else:
                self.n, self.n_from = len(self.obj[name]), name
            return

    # ---- one parameter
    def _describe_axes(self, t: T.Type) -> str:
        if not isinstance(t, T.Field) or t.bits:
            return ""
        kinds = tuple(a.kind for a in t.axes)
        return {("node",): ": one per node", ("edge",): ": one per edge, in the order of edges",
                ("node", "node"): ": n lists of n", ("pos",): ": one per position"}.get(kinds, "")

    def _dim(self, name: str, axis: T.Axis) -> tuple[int | None, str]:
        """The length an axis must have, and how to say where that length comes from."""
        match axis.kind:
            case "node":
                return self.n, f"n = {self.n}"
            case "pos":
                if self.n_from == name:
                    return self.n, ""
                return self.n, f"{self.n_from} has {self.n}"
            case "edge":
                return self.m, f"there are {self.m} edges"
        size = self._size(axis.size)
        return size, f"{_size_text(axis.size)} = {size}"

    def _size(self, expr) -> int | None:
        from ..sizes import eval_size
        sizes = dict(self.sizes)
        if self.n is not None:
            sizes["n"] = self.n
        if self.m is not None:
            sizes["m"] = self.m
        if not _names_in(expr) <= set(sizes):
            return None
        size = int(eval_size(expr, sizes))
        if size < 0:
            self.errors.append(Diagnostic.at(expr.span, "bad-size",
                                             f"size {_size_text(expr)} = {size} is negative"))
            return None
        return size

    def _param(self, name: str, t: T.Type, value: Any) -> None:
        if not isinstance(t, T.Field):
            try:
                self.values[name] = np.array(self._scalar(t, value), dtype=dtype_of(t))
            except _Bad as bad:
                self.error(self._key_span(name), f"{name}: {bad}")
            return
        if t.bits:
            self._bits(name, t, value)
            return
        dims = [self._dim(name, a) for a in t.axes]
        before = len(self.errors)
        cells = self._nested(name, t, value, dims, ())
        if len(self.errors) > before or cells is None:
            return
        if any(d is None for d, _ in dims):
            # A size we could not evaluate (already reported) leaves the shape unknown.
            return
        shape = tuple(d for d, _ in dims)
        array = np.empty(shape, dtype=dtype_of(t))
        if array.size:
            if array.dtype == object:
                for index, cell in _cells(cells, len(shape)):
                    array[index] = cell
            else:
                array[...] = np.asarray(cells, dtype=array.dtype)
        self.values[name] = array

    def _bits(self, name: str, t: T.Field, value: Any) -> None:
        width = self._size(t.axes[0].size)
        if width is None:
            return
        if not _is_int(value) or value < 0:
            self.error(self._key_span(name),
                       f"{name}: expected an unsigned integer ({t}), got {_json_kind(value)}")
            return
        value = int(value)
        if value.bit_length() > width:  # value >= 2^width, without computing 2^width
            bound = f"2^{width} = {1 << width}" if width <= 64 else f"2^{width}"
            self.error(self._key_span(name),
                       f"{name}: {value} does not fit in {t} with {_size_text(t.axes[0].size)}"
                       f" = {width} (it must be below {bound})")
            return
        self.values[name] = np.array([(value >> i) & 1 for i in range(width)], dtype=np.bool_)

    def _nested(self, name: str, t: T.Field, value: Any, dims, path: tuple[int, ...]):
        """Check the nested lists under `name` against the axes; the decoded cells, or None."""
        depth = len(path)
        where = name + "".join(f"[{i}]" for i in path)
        # where the list is: looked up only for an error, since finding it means a scan
        def span():
            return self._elem_span(name, path) if path else self._key_span(name)
        if not isinstance(value, list):
            self.error(span(), f"{where}: expected a list ({t}{self._describe_axes(t)}),"
                             f" got {_json_kind(value)}")
            return None
        want, why = dims[depth]
        if want is not None and len(value) != want:
            self.error(span(), f"{where} has {len(value)} elements but {why}"
                             f" ({t}{self._describe_axes(t)})")
            return None
        if depth + 1 < len(dims):
            rows = [self._nested(name, t, row, dims, path + (i,)) for i, row in enumerate(value)]
            return None if any(r is None for r in rows) else rows
        cells = _plain_cells(t.elem, value, self.n)
        if cells is not None:
            return cells
        cells, bad = [], 0
        for i, item in enumerate(value):
            try:
                cells.append(self._scalar(t.elem, item))
            except _Bad as err:
                bad += 1
                if bad <= MAX_ERRORS_PER_FIELD:
                    self.error(self._elem_span(name, path + (i,)), f"{where}[{i}]: {err}")
        if bad > MAX_ERRORS_PER_FIELD:
            self.error(span(), f"{where}: {bad - MAX_ERRORS_PER_FIELD} more bad elements not shown")
        return None if bad else cells

    def _scalar(self, t: T.Type, v: Any):
        match t:
            case T.Bool():
                if isinstance(v, bool):
                    return v
                raise _Bad(f"expected true or false, got {_json_kind(v)}")
            case T.Int(lo=lo, hi=hi):
                return _int_value(t, lo, hi, v)
            case T.Frac():
                return _frac_value(v)
            case T.Token():
                if isinstance(v, str):
                    return v
                raise _Bad(f"expected a token (a string), got {_json_kind(v)}")
            case T.Index():
                if v is None:
                    return NONE_INDEX
                if _is_int(v) and self.n is not None and 0 <= v < self.n:
                    return int(v)
                if _is_int(v) and self.n is not None:
                    raise _Bad(f"node id {v} is outside 0..{self.n - 1}")
                if _is_int(v):
                    return int(v)
                raise _Bad(f"expected a node id (0..n-1) or null, got {_json_kind(v)}")
        raise _Bad(f"values of type {t} cannot be given as input")


# ---- the common case, a list at a time: plain values of the right type, none of them wrong.
# Each test is a pass in C over the list (`map(type, ...)`, numpy's conversion); a list that
# fails any goes through `_scalar` element by element, which finds and reports what is wrong, so
# these only ever accept what `_scalar` accepts, as the same numbers.

def _ints(items: list) -> np.ndarray | None:
    """`items` as int64 when every one is a plain int (not a bool) that fits; else None."""
    if not set(map(type, items)) <= {int}:
        return None
    try:
        return np.array(items, dtype=np.int64)
    except OverflowError:
        return None


def _int_pairs(edges: list) -> np.ndarray | None:
    """The (m, 2) int64 array of a list of [u, v] pairs of plain ints; else None."""
    if set(map(type, edges)) != {list} or set(map(len, edges)) != {2}:
        return None
    flat = _ints(list(chain.from_iterable(edges)))
    return None if flat is None else flat.reshape(-1, 2)


def _plain_cells(t: T.Type, items: list, n: int | None) -> np.ndarray | None:
    """The values of a list of scalars of type `t` (as `_scalar` gives them), when the list
    holds only plain values of the type that are all in range; None when it may not."""
    if not items:
        return None
    match t:
        case T.Bool():
            return np.array(items, dtype=np.bool_) if set(map(type, items)) == {bool} else None
        case T.Int(lo=lo, hi=hi):
            ints = _ints(items)
            if ints is None or not ((ints > -EXACT_INT_LIMIT) & (ints < EXACT_INT_LIMIT)).all():
                return None
            if lo is not None and not ((ints >= lo) & (ints <= hi)).all():
                return None
            return ints.astype(np.float64)
        case T.Frac():
            if not set(map(type, items)) <= {int, float}:
                return None
            try:
                values = np.array(items, dtype=np.float64)
            except OverflowError:
                return None
            return values if np.isfinite(values).all() else None
        case T.Index():
            ints = _ints(items)
            if ints is None or n is None or not ((ints >= 0) & (ints < n)).all():
                return None
            return ints
    return None


def _int_value(t: T.Int, lo, hi, v: Any) -> float:
    unbounded = lo is None
    may_inf, may_neg_inf = unbounded or hi == INF, unbounded or lo == -INF
    if isinstance(v, str) and v in ("inf", "-inf"):
        if (may_inf if v == "inf" else may_neg_inf):
            return INF if v == "inf" else -INF
        raise _Bad(f"\"{v}\" is out of range {t}")
    if isinstance(v, float) and not math.isfinite(v):
        raise _Bad(f"{json.dumps(v)} is not standard JSON"
                   + ("; write infinity as \"inf\"" if math.isinf(v) else ""))
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not _is_int(v):
        allowed = (" or \"inf\"" if may_inf else "") + (" or \"-inf\"" if may_neg_inf else "")
        raise _Bad(f"expected an integer{allowed}, got {_json_kind(v)}")
    if abs(v) >= EXACT_INT_LIMIT:
        raise _Bad(f"{v} is too large to represent exactly (the limit is 2^53)")
    if not unbounded and not (lo <= v <= hi):
        raise _Bad(f"{v} is out of range {t}")
    return float(v)


def _frac_value(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            x = float(v)
        except OverflowError:
            x = INF
        if math.isfinite(x):
            return x
    raise _Bad(f"expected a finite number (frac), got {_json_kind(v)}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _cells(rows, depth: int, prefix: tuple[int, ...] = ()):
    if depth == 1:
        for i, cell in enumerate(rows):
            yield prefix + (i,), cell
        return
    for i, row in enumerate(rows):
        yield from _cells(row, depth - 1, prefix + (i,))


def _size_text(expr) -> str:
    from ..pretty import pretty_expr
    return pretty_expr(expr)


def decode(checked, obj: dict, sizes: dict[str, int], file: str, line: int = 1) -> Instance:
    """The `Instance` that one JSON object denotes for `checked`'s program.

    `sizes` are the size variables fixed outside the input (`--size k=32`). Raises `NclError`
    with every problem in the object (code `bad-input`, or `missing-size` in the program's file).
    An object from `read_records` gets diagnostics at the offending key or element; a plain dict
    gets them at `file:line:1`."""
    key = (id(checked), tuple(sorted(sizes.items())))
    if _CHECKED.get(key, (None,))[0] is not checked:
        check_sizes(checked, sizes, file)
        if len(_CHECKED) > 64:
            _CHECKED.clear()
        # the program is kept in the entry, so its id cannot be reused while the entry lives
        _CHECKED[key] = (checked, [(p.name, T.from_syntax(p.type)) for p in checked.program.params])
    return _Decoder(checked, obj, sizes, file, line, _CHECKED[key][1]).run()


# (id of a checked program, sizes) -> (the program, its parameters' types), for programs whose
# sizes check_sizes has passed: a batch of instances decodes without redoing it per instance
_CHECKED: dict[tuple, tuple] = {}


def input_error(obj: dict, file: str, line: int, field: str, path: tuple[int, ...],
                message: str, code: str = "bad-input") -> Diagnostic:
    """A diagnostic at the element `path` of `field` in a record from `read_records` /
    `iter_records` (at its key when `path` is empty; at `file:line:1` for a plain dict), for a
    check made after `decode`, such as what a compiled network cannot take."""
    if isinstance(obj, Record):
        span = obj.element_span(field, path) if path else obj.key_span(field)
    else:
        span = A.Span(file, line, 1, line, 2)
    return Diagnostic.at(span, code, message)


def _field_name(key: str) -> str:
    """A JSON key as a message shows it: quoted as is, or in JSON notation when it holds a
    character that would break the one-line diagnostic (a newline, a control character)."""
    return f"'{key}'" if key.isprintable() else json.dumps(key)
