"""`run`: the IR's meaning made executable — a numpy evaluation of a program on one input.

It follows the ops' docstrings (nclang.compiler.ir.nodes) and nothing else: it shares no code
with the reference interpreter (which works on the AST) nor with any target, so that comparing
it with the interpreter tests the lowering on its own, and comparing a target with it would test
the target on its own.

Values are held in the numpy forms of `nclang.dsl.values` (bool, float64 numbers with ±inf,
int64 indices with -1 for `none`, object arrays of tokens), one numpy axis per domain axis.

What the IR leaves unspecified stays unchecked: a `Gather` outside its table reads a fill value,
`x // 0` or `inf - inf` give whatever numpy gives, `only` of several points picks one. Every op
is computed at every point, and the lazy ops (`and`, `or`, `select`) then keep the guarded
operand only where the guard selects it, so such a point is never observed where the program's
guards exclude it. On an input the interpreter runs without an error, the results are therefore
the interpreter's; on one it rejects, they mean nothing. A `Loop` always runs its full count,
`until stable` or not: the IR promises that stopping early changes nothing, and running every
iteration is what the networks do.
"""
from __future__ import annotations

import numpy as np

from nclang.compiler import formula
from nclang.dsl import types as T
from nclang.dsl.values import NONE_INDEX, Instance, dtype_of

from . import nodes as I
from .sizes import format_size

_BIG = np.iinfo(np.int64).max


def run(program: I.Program, instance: Instance) -> dict[str, np.ndarray]:
    """The results of `program` on `instance` (its sizes, graph and parameter values), by
    result name, each an array on its value's domain in the numpy form of its value's type."""
    ev = _Evaluator(instance)
    ev.block(program.ops)
    return {name: np.array(ev.read(v)) for name, v in program.results}


class _Evaluator:
    def __init__(self, instance: Instance):
        self.instance = instance
        self.graph = instance.graph
        self.sizes = {k: int(v) for k, v in instance.sizes.items()}
        if self.graph is not None:
            self.sizes.setdefault("n", int(self.graph.n))
            self.sizes.setdefault("m", int(self.graph.m))
        self.env: dict[I.Value, np.ndarray] = {}
        self._lengths: dict = {}

    # ---- sizes and storage

    def size(self, expr) -> int:
        """The exact integer value of a size formula here (through the closed formula grammar:
        no float log2 can lose a round)."""
        key = str(expr)
        if key not in self._lengths:
            self._lengths[key] = formula.eval_int(format_size(expr), self.sizes,
                                                  tuple(self.sizes))
        return self._lengths[key]

    def shape(self, domain: I.Domain) -> tuple[int, ...]:
        return tuple(max(self.size(a.size), 0) for a in domain)

    def read(self, v: I.Value) -> np.ndarray:
        if v not in self.env:
            raise ValueError(f"{v} has no value: a variable first assigned in a loop that ran "
                             "no iteration")
        return self.env[v]

    def write(self, v: I.Value, data) -> None:
        data = _cast(np.asarray(data), v.type)
        want = self.shape(v.domain)
        if data.shape != want:
            raise ValueError(f"{v} evaluated to shape {data.shape}, not its domain's {want}")
        self.env[v] = data

    # ---- ops

    def block(self, ops) -> None:
        for op in ops:
            self.op(op)

    def op(self, op) -> None:
        match op:
            case I.Input():
                self.write(op.out, self.input(op))
            case I.Const(value=value):
                self.write(op.out, _const(value))
            case I.Size(expr=expr):
                self.write(op.out, float(self.size(expr)))
            case I.Iota(out=out):
                self.write(out, np.arange(self.shape(out.domain)[0], dtype=np.int64))
            case I.Local():
                self.write(op.out, self.local(op.op, [self.read(a) for a in op.args], op.out))
            case I.Broadcast(out=out, arg=arg, axes=axes):
                self.write(out, self.wire(out, arg, axes, (None,) * len(axes)))
            case I.EdgeGather(out=out, arg=arg, axes=axes, endpoints=ends):
                self.write(out, self.wire(out, arg, axes, ends))
            case I.Gather():
                self.write(op.out, self.gather(op))
            case I.Aggregate():
                self.write(op.out, self.aggregate(op))
            case I.Fold():
                self.write(op.out, self.fold(op))
            case I.Loop():
                self.loop(op)
            case _:
                raise TypeError(f"not an op: {op!r}")

    def input(self, op: I.Input) -> np.ndarray:
        if op.role == "adjacency":
            g = self.graph
            adj = np.zeros((g.n, g.n), dtype=np.bool_)
            adj[g.src, g.dst] = True
            return adj
        if op.name not in self.instance.values:
            raise ValueError(f"the instance has no value for parameter {op.name!r}")
        return np.asarray(self.instance.values[op.name])

    def local(self, name: str, args: list[np.ndarray], out: I.Value) -> np.ndarray:
        with np.errstate(all="ignore"):
            match name:
                case "and":
                    return args[0].astype(bool) & args[1].astype(bool)
                case "or":
                    return args[0].astype(bool) | args[1].astype(bool)
                case "xor":
                    return args[0].astype(bool) ^ args[1].astype(bool)
                case "not":
                    return ~args[0].astype(bool)
                case "select":
                    then, orelse = _common(args[1:], out)
                    return np.where(args[0].astype(bool), then, orelse)
                case "eq" | "ne" | "lt" | "le" | "gt" | "ge":
                    a, b = _comparable(args[0], args[1])
                    return np.asarray(_COMPARE[name](a, b), dtype=bool)
                case "min" | "max":
                    vals = _common(args, out)
                    fn = np.minimum if name == "min" else np.maximum
                    acc = vals[0]
                    for v in vals[1:]:
                        acc = fn(acc, v)
                    return acc
                case "neg":
                    return -_num(args[0])
                case "abs":
                    return np.abs(_num(args[0]))
            x, y = _num(args[0]), _num(args[1])
            return _ARITH[name](x, y)

    def wire(self, out: I.Value, arg: I.Value, axes, ends) -> np.ndarray:
        """`out[p] = arg[q]`, operand axis i reading output axis axes[i], through an edge's
        endpoint where ends[i] names one."""
        shape = self.shape(out.domain)
        rank = len(shape)
        grid = [np.arange(s, dtype=np.int64).reshape((1,) * i + (s,) + (1,) * (rank - i - 1))
                for i, s in enumerate(shape)]
        index = []
        for a, end in zip(axes, ends):
            g = grid[a]
            if end is not None:
                g = np.asarray(self.graph.src if end == "src" else self.graph.dst,
                               dtype=np.int64)[g]
            index.append(g)
        data = self.read(arg)
        picked = data[tuple(index)] if index else data
        return np.array(np.broadcast_to(picked, shape))

    def gather(self, op: I.Gather) -> np.ndarray:
        table = self.read(op.table)
        shape = self.shape(op.out.domain)
        if 0 in table.shape:
            return np.zeros(shape, dtype=table.dtype)
        index = []
        for d, ix in enumerate(op.index):
            raw = self.read(ix)
            with np.errstate(invalid="ignore"):
                ok = (raw >= 0) & (raw < table.shape[d])
                if raw.dtype.kind == "f":
                    ok &= np.isfinite(raw) & (raw == np.floor(raw))
            # a point outside the table reads its first element: a fill no guard lets through
            index.append(np.where(ok, raw, 0).astype(np.int64))
        return np.array(np.broadcast_to(table[tuple(index)], shape))

    def aggregate(self, op: I.Aggregate) -> np.ndarray:
        shape = self.shape(op.body_domain)
        ax = op.axis
        length, rest = shape[ax], shape[:ax] + shape[ax + 1:]

        def front(v):
            return None if v is None else np.moveaxis(
                np.broadcast_to(self.read(v), shape), ax, 0)

        body, elem = front(op.body), front(op.elem)
        sel = front(op.cond).astype(bool) if op.cond is not None else \
            np.ones((length,) + rest, dtype=bool)
        if op.group is None:
            groups, count = None, 1
        else:
            ends = self.graph.dst if op.group == "dst" else self.graph.src
            groups, count = np.asarray(ends, dtype=np.int64), self.sizes["n"]
        res = _reduce(op.agg, body, sel, elem, groups, count, rest, op.out)
        return res[0] if op.group is None else np.moveaxis(res, 0, ax)

    def fold(self, op: I.Fold) -> np.ndarray:
        xs = self.read(op.arg)
        if len(xs) == 0:  # a fold over nothing is an error of the program
            return np.zeros(self.shape(op.out.domain), dtype=xs.dtype)
        if isinstance(op.op, I.Function):
            acc, prefixes = xs[0], [xs[0]]
            for x in xs[1:]:
                acc = self.call(op.op, acc, x)
                prefixes.append(acc)
            prefixes = [_cast(np.asarray(p), op.out.type) for p in prefixes]
            scan = np.array(prefixes)
        elif op.op in ("xor", "and", "or"):
            fn = {"xor": np.logical_xor, "and": np.logical_and, "or": np.logical_or}[op.op]
            scan = fn.accumulate(xs.astype(bool))
        else:
            fn = {"+": np.add, "*": np.multiply, "min": np.minimum, "max": np.maximum}[op.op]
            with np.errstate(all="ignore"):
                scan = fn.accumulate(_num(xs))
        return scan if op.kind == "scan" else scan[-1]

    def call(self, f: I.Function, a, b) -> np.ndarray:
        """`f(a, b)`: its body evaluated on the global domain with its parameters bound."""
        inner = _Evaluator(self.instance)
        inner.sizes, inner._lengths = self.sizes, self._lengths
        for p, v in zip(f.params, (a, b)):
            inner.write(p, np.asarray(v))
        inner.block(f.body)
        return inner.read(f.result)

    def loop(self, op: I.Loop) -> None:
        for c in op.carried:
            if c.param is not None:
                self.write(c.param, self.read(c.init))
        trips = max(self.size(op.count), 0)
        for _ in range(trips):
            self.block(op.body)
            nexts = [self.read(c.next) for c in op.carried]
            for c, v in zip(op.carried, nexts):
                if c.param is not None:
                    self.write(c.param, v)
        for c in op.carried:
            if trips > 0:
                self.write(c.out, self.read(c.next))
            elif c.init is not None:
                self.write(c.out, self.read(c.init))


# ---------------------------------------------------------------- aggregation

def _combine(ufunc, values: np.ndarray, groups, count: int, identity) -> np.ndarray:
    """`ufunc`-reduce `values` (reduced axis first) into `count` rows: row g combines the points
    whose group is g (every point into row 0 without groups); a row of nothing is `identity`."""
    if groups is None:
        return ufunc.reduce(values, axis=0, keepdims=True, initial=identity)
    out = np.full((count,) + values.shape[1:], identity, dtype=values.dtype)
    ufunc.at(out, groups, values)
    return out


def _reduce(agg: str, body, sel, elem, groups, count: int, rest, out: I.Value) -> np.ndarray:
    def combine(ufunc, values, identity):
        return _combine(ufunc, values, groups, count, identity)

    with np.errstate(all="ignore"):
        match agg:
            case "any":
                return combine(np.logical_or, body.astype(bool) & sel, False)
            case "all":
                return combine(np.logical_and, body.astype(bool) | ~sel, True)
            case "count":
                return combine(np.add, sel.astype(np.float64), 0.0)
            case "sum":
                return combine(np.add, np.where(sel, _num(body), 0.0), 0.0)
            case "mean":
                total = combine(np.add, np.where(sel, _num(body), 0.0), 0.0)
                return total / combine(np.add, sel.astype(np.float64), 0.0)
            case "min" | "max":
                ident = np.inf if agg == "min" else -np.inf
                fn = np.minimum if agg == "min" else np.maximum
                return combine(fn, np.where(sel, _num(body), ident), ident)
            case "argmin" | "argmax":
                ident = np.inf if agg == "argmin" else -np.inf
                fn = np.minimum if agg == "argmin" else np.maximum
                b = _num(body)
                best = combine(fn, np.where(sel, b, ident), ident)
                best_at = best[groups] if groups is not None else best
                chosen = sel & (b == best_at)
                pick = combine(np.minimum, np.where(chosen, elem, _BIG), _BIG)
                return np.where(pick == _BIG, NONE_INDEX, pick)
            case "only":
                length = sel.shape[0]
                at = np.arange(length, dtype=np.int64).reshape((-1,) + (1,) * len(rest))
                pos = combine(np.maximum, np.where(sel, at, -1), -1)
                if length == 0:
                    picked = np.zeros(pos.shape, dtype=body.dtype)
                else:
                    picked = np.take_along_axis(np.broadcast_to(body, sel.shape),
                                                np.maximum(pos, 0), axis=0)
                if T.scalar_kind(out.type) == "index" or isinstance(out.type, T.NoneType):
                    picked = np.where(pos < 0, NONE_INDEX, picked)
                return picked
    raise ValueError(f"unknown aggregation {agg!r}")


# ---------------------------------------------------------------- scalars

_COMPARE = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
            "gt": np.greater, "ge": np.greater_equal}
_ARITH = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
          "floordiv": np.floor_divide, "mod": np.mod}


def _cast(data: np.ndarray, t) -> np.ndarray:
    """`data` in the numpy form of type `t` (a number that is no index, such as an unobserved
    inf, becomes none)."""
    want = dtype_of(t)
    if data.dtype == want:
        return data
    if want == np.int64 and data.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(data), data, NONE_INDEX).astype(np.int64)
    if want == np.bool_ and data.dtype.kind in "fi":
        return data != 0
    return data.astype(want)


def _num(x: np.ndarray) -> np.ndarray:
    """A value as a float64 number: a bool counts 1, an index is its integer."""
    return x if x.dtype == np.float64 else x.astype(np.float64)


def _comparable(a: np.ndarray, b: np.ndarray):
    if a.dtype == b.dtype:
        return a, b
    return _num(a), _num(b)


def _common(args: list[np.ndarray], out: I.Value) -> list[np.ndarray]:
    """Operands that meet in one result (`select`'s branches, `min`'s arguments) in one form:
    integers when the result is an index, numbers when it is numeric."""
    want = dtype_of(out.type)
    if want == np.float64:
        return [_num(a) for a in args]
    return [_cast(a, out.type) for a in args]


def _const(value) -> np.ndarray:
    if value is None:
        return np.array(NONE_INDEX, dtype=np.int64)
    if isinstance(value, str):
        arr = np.empty((), dtype=object)
        arr[()] = value
        return arr
    if isinstance(value, bool):
        return np.array(value)
    return np.array(float(value))
