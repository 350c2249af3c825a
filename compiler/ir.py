"""The typed dataflow IR that the analyses read and the three targets lower from.

A program is a sequence of ops; each op defines one or more `Value`s. A value is a scalar per
point of its *domain*, a tuple of axes (`()` is a global scalar, `(node,)` a node field,
`(node, node)` a pair field, `(node, node, node)` the triples of a triplet aggregation). Domains
are positional: an op says explicitly, axis by axis, how its operands' axes line up with its own,
so no op depends on names. Every op's meaning is fixed by its docstring alone; the reference
interpreter remains the judge of what a program computes.

Communication is explicit: only `EdgeGather`, `Gather`, `Aggregate` and `Fold` move data between
points of a domain. Everything else (`Local`, `Broadcast`, constants) is pointwise or wiring.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Iterator, Union

import sympy
from sympy.printing.str import StrPrinter

from nclang.dsl import ast as A
from nclang.dsl import types as T

# Size variables: nodes or positions, edges, bit width. sympy tells symbols apart by their
# assumptions as well as their names, so every module takes them from `size_symbol`: two
# definitions of `m` would be two different variables that print alike.
SIZE_SYMBOLS: dict[str, sympy.Symbol] = {
    "n": sympy.Symbol("n", integer=True, positive=True),
    # a graph may have no edges
    "m": sympy.Symbol("m", integer=True, nonnegative=True),
    "k": sympy.Symbol("k", integer=True, positive=True),
}


def size_symbol(name: str) -> sympy.Symbol:
    """The sympy symbol of size variable `name`: an integer, at least 1 except `m`, which is at
    least 0. Other names (a bit width `w` in `bits[w]`) are positive integers."""
    if name in SIZE_SYMBOLS:
        return SIZE_SYMBOLS[name]
    return _OTHER_SIZES.setdefault(name, sympy.Symbol(name, integer=True, positive=True))


_OTHER_SIZES: dict[str, sympy.Symbol] = {}


N, M, K = size_symbol("n"), size_symbol("m"), size_symbol("k")


class log2(sympy.Function):  # noqa: N801 - printed as the language writes it
    """`log2(x)`, kept symbolic so that formulas print as the language writes them."""

    @classmethod
    def eval(cls, x):
        if x.is_Integer and x > 0 and int(x) & (int(x) - 1) == 0:
            return sympy.Integer(int(x).bit_length() - 1)
        return None

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sympy.log(x) / sympy.log(2)

    def _eval_is_nonnegative(self):
        x = self.args[0]
        if x.is_positive and x.is_integer:
            return True
        return None

    def _eval_is_real(self):
        return self.args[0].is_positive


class _Printer(StrPrinter):
    def _print_ceiling(self, expr):
        return f"ceil({self._print(expr.args[0])})"

    def _print_floor(self, expr):
        return f"floor({self._print(expr.args[0])})"


def format_size(expr) -> str:
    """A size or cost formula in the language's own notation (`ceil(log2(n))`)."""
    return _Printer().doprint(sympy.sympify(expr))


def evaluate(expr, sizes: dict[str, int]) -> float:
    """The numeric value of a formula at concrete sizes (floats: used to compare formulas)."""
    values = {size_symbol(name): float(v) for name, v in sizes.items()}
    return _eval(sympy.sympify(expr), values)


def _eval(e, values: dict) -> float:
    if e.is_Number:
        return float(e)
    if e.is_Symbol:
        return values[e]
    args = [_eval(a, values) for a in e.args]
    if e.is_Add:
        return math.fsum(args)
    if e.is_Mul:
        return math.prod(args)
    if e.is_Pow:
        return args[0] ** args[1]
    if isinstance(e, log2):
        # a tree over fewer than one leaf (range(k - 1) at k = 1) has no depth: log2 of a size
        # below 1 counts as 0 rather than a math domain error
        return math.log2(args[0]) if args[0] >= 1 else 0.0
    if isinstance(e, sympy.log):
        return math.log(args[0])
    if isinstance(e, sympy.ceiling):
        return float(math.ceil(args[0] - 1e-9))
    if isinstance(e, sympy.floor):
        return float(math.floor(args[0] + 1e-9))
    if isinstance(e, sympy.Max):
        return max(args)
    if isinstance(e, sympy.Min):
        return min(args)
    raise TypeError(f"cannot evaluate {e}")


def size_formula(expr: A.Expr, log=None) -> sympy.Expr:
    """The sympy formula of a size expression (the checker has already validated it). `log`
    builds `log2(x)`: by default the printable `log2` function; the range analysis passes sympy's
    real logarithm, which it can solve with."""
    log = log or log2
    match expr:
        case A.IntLit(value=v):
            return sympy.Integer(v)
        case A.Name(id=name):
            return size_symbol(name)
        case A.Neg(operand=x):
            return -size_formula(x, log)
        case A.BinOp(op=op, left=left, right=right):
            a, b = size_formula(left, log), size_formula(right, log)
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "//":
                return sympy.floor(a / b)
        case A.Call(func="log2", args=(x,)):
            return log(size_formula(x, log))
        case A.Call(func="ceil", args=(x,)):
            return sympy.ceiling(size_formula(x, log))
        case A.Call(func="floor", args=(x,)):
            return sympy.floor(size_formula(x, log))
    raise ValueError(f"not a size expression: {expr!r}")


def is_size_expr(expr: A.Expr, sizes: frozenset[str]) -> bool:
    """Whether `expr` is built from integers and the names in `sizes` only. `sizes` is the
    program's own size variables less every name a variable or binder shadows there: a local `m`
    of a sequence program is a variable, not the edge count of a graph it does not have."""
    match expr:
        case A.IntLit():
            return True
        case A.Name(id=name):
            return name in sizes
        case A.Neg(operand=x):
            return is_size_expr(x, sizes)
        case A.BinOp(op=op, left=left, right=right) if op in ("+", "-", "*", "//"):
            return is_size_expr(left, sizes) and is_size_expr(right, sizes)
        case A.Call(func="log2" | "ceil" | "floor", args=(x,)):
            return is_size_expr(x, sizes)
    return False


# ---------------------------------------------------------------- values and domains

@dataclass(frozen=True)
class Axis:
    """One dimension of a domain: `node` (n), `edge` (m), `pos` (n positions) or `range` (size)."""
    kind: str
    size: sympy.Expr

    def __str__(self) -> str:
        if self.kind == "range":
            return f"range({format_size(self.size)})"
        return self.kind


NODE = Axis("node", N)
EDGE = Axis("edge", M)
POS = Axis("pos", N)


def axis_from_type(axis: T.Axis) -> Axis:
    if axis.kind == "range":
        return Axis("range", size_formula(axis.size))
    return {"node": NODE, "edge": EDGE, "pos": POS}[axis.kind]


Domain = tuple[Axis, ...]


def domain_size(domain: Domain) -> sympy.Expr:
    return sympy.Mul(*(a.size for a in domain))


def format_domain(domain: Domain) -> str:
    return "(" + ", ".join(str(a) for a in domain) + ")"


@dataclass(frozen=True)
class Value:
    """An SSA value: one scalar of `type` per point of `domain`."""
    id: int
    domain: Domain
    type: T.Type

    def __str__(self) -> str:
        return f"%{self.id}"


# ---------------------------------------------------------------- ops

@dataclass(frozen=True)
class Input:
    """A program parameter, or (`role="adjacency"`) the graph as a pair field: `out[i, j]` is
    true when the graph has an edge i → j. Edge endpoints are inputs too, used by `EdgeGather`."""
    out: Value
    name: str
    role: str = "param"
    span: A.Span = A.NOSPAN


@dataclass(frozen=True)
class Const:
    """A literal on the global domain: bool, int, ±inf (float), a token (str) or `None` (none)."""
    out: Value
    value: object
    span: A.Span = A.NOSPAN


@dataclass(frozen=True)
class Size:
    """The value of a size expression (an integer formula in n, m, k) on the global domain."""
    out: Value
    expr: sympy.Expr
    span: A.Span = A.NOSPAN


@dataclass(frozen=True)
class Iota:
    """The index of each point of a one-axis domain: node id, position, or bit index."""
    out: Value
    span: A.Span = A.NOSPAN


# Pointwise operations: name → arity (None: two or more).
LOCAL_OPS = {
    "add": 2, "sub": 2, "mul": 2, "div": 2, "floordiv": 2, "mod": 2, "neg": 1, "abs": 1,
    "eq": 2, "ne": 2, "lt": 2, "le": 2, "gt": 2, "ge": 2,
    "and": 2, "or": 2, "xor": 2, "not": 1, "select": 3, "min": None, "max": None,
}
COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})


@dataclass(frozen=True)
class Local:
    """Pointwise `op` over `args`, all on `out.domain`. Integer arithmetic is exact with the
    language's `inf` rules; `div` gives a frac; `floordiv`/`mod` floor like Python. `select` is
    `args[1] if args[0] else args[2]`; `and`/`or`/`select` are lazy per point, so an operand that
    reads outside a field (a `Gather` fill) is never observed where the guard excludes it."""
    out: Value
    op: str
    args: tuple[Value, ...]
    span: A.Span = A.NOSPAN


@dataclass(frozen=True)
class Broadcast:
    """Wiring: `out[p] = arg[p[axes[0]], …, p[axes[r-1]]]` — operand axis i reads output axis
    `axes[i]`. Covers broadcasting, transposition and diagonals (`r[v, v]`)."""
    out: Value
    arg: Value
    axes: tuple[int, ...]
    span: A.Span = A.NOSPAN


@dataclass(frozen=True)
class EdgeGather:
    """The message half of message passing: like `Broadcast`, but an operand node axis may read an
    output *edge* axis through one of its endpoints: `endpoints[i]` is `"src"`, `"dst"` or None
    (read the output axis directly). For an edge e = u → v, `src(e) = u`, `dst(e) = v`."""
    out: Value
    arg: Value
    axes: tuple[int, ...]
    endpoints: tuple[str | None, ...]
    span: A.Span = A.NOSPAN


@dataclass(frozen=True)
class Gather:
    """`out[p] = table[index[0][p], …, index[r-1][p]]` for computed indices (all on
    `out.domain`, one per table axis). `static` when every index is independent of the program's
    inputs (a fixed permutation such as `tokens[n - 1 - i]` or `c[i - 1]`; wiring in a circuit);
    otherwise a pointer dereference (`x[p[v]]`), a multiplexer. An index outside the table (or
    `none`) gives an unspecified fill value; the program's own guards keep it unobserved."""
    out: Value
    table: Value
    index: tuple[Value, ...]
    static: bool = False
    span: A.Span = A.NOSPAN


AGGREGATORS = ("any", "all", "sum", "count", "min", "max", "mean", "argmin", "argmax", "only")
IDENTITY = {"any": False, "all": True, "sum": 0, "count": 0, "min": math.inf, "max": -math.inf,
            "argmin": None, "argmax": None, "only": None}


@dataclass(frozen=True)
class Aggregate:
    """Reduce axis `axis` of the body domain with `agg`.

    The body domain is the domain of `body`, `cond` and `elem` (those present). A point takes
    part when `cond` is true there (always, without `cond`). `any`/`all`/`sum`/`min`/`max` combine
    `body` (`sum` counts a true boolean as 1); `count` counts the points; `mean` is sum / count
    (an error over nothing); `argmin`/`argmax` give the `elem` of the least / greatest `body`,
    ties to the smallest `elem`; `only` gives `body` at the single selected point (two or more
    is an error). Over nothing the result is `IDENTITY[agg]` (`None` is the index `none`).

    `group` makes it a neighbour aggregation: the reduced axis is an edge axis and the output
    has, in its place, a node axis; edge e contributes to node `group(e)` (`"dst"`: over in(v),
    `"src"`: over out(v)). Without `group` the axis is dropped from the output.
    """
    out: Value
    agg: str
    axis: int
    body: Value | None
    cond: Value | None = None
    elem: Value | None = None
    group: str | None = None
    span: A.Span = A.NOSPAN

    @property
    def body_domain(self) -> Domain:
        present = [v for v in (self.body, self.cond, self.elem) if v is not None]
        return present[0].domain

    @property
    def reduced(self) -> Axis:
        return self.body_domain[self.axis]

    @property
    def kind(self) -> str:
        """What the targets implement it with: `neighbour` (message passing), `edges` (over all
        edges), `nodes` (all-pairs / triplet / global readout over a node axis), `attention`
        (over positions) or `range` (over a bit or vector axis)."""
        if self.group is not None:
            return "neighbour"
        return {"edge": "edges", "node": "nodes", "pos": "attention",
                "range": "range"}[self.reduced.kind]


@dataclass(frozen=True)
class Function:
    """An inlined two-argument `def` used as a fold operator: `result` from `params` via `body`,
    all on the global domain."""
    name: str
    params: tuple[Value, Value]
    body: tuple["Op", ...]
    result: Value


FOLD_BUILTINS = ("xor", "and", "or", "+", "*", "min", "max")


@dataclass(frozen=True)
class Fold:
    """`scan` (inclusive prefixes, same domain as `arg`) or `reduce` (the last prefix, global) of
    `arg` along its only axis with an associative operator: a builtin name from `FOLD_BUILTINS`
    or a `Function`. Targets build a balanced prefix tree of depth ceil(log2(len))."""
    out: Value
    kind: str
    op: Union[str, Function]
    arg: Value
    span: A.Span = A.NOSPAN


@dataclass(frozen=True)
class Carried:
    """A loop variable: `param` holds its value at the start of an iteration inside the body,
    `next` at the end, `out` after the loop. `init` is its value before the loop (None for a
    variable first assigned in the body, which then has no `param`: the body writes it before
    reading it, and `out` is its value from the last iteration)."""
    name: str
    init: Value | None
    param: Value | None
    next: Value
    out: Value


@dataclass(frozen=True)
class Loop:
    """Run `body` `count` times (a size formula, 0 when negative), threading the carried values.
    With `until_stable` it may stop after an iteration that left every carried value unchanged;
    as the body is a deterministic function of the carried values, the result equals that of all
    `count` iterations, so a network may always run `count`."""
    carried: tuple[Carried, ...]
    count: sympy.Expr
    until_stable: bool
    body: tuple["Op", ...]
    span: A.Span = A.NOSPAN


Op = Union[Input, Const, Size, Iota, Local, Broadcast, EdgeGather, Gather, Aggregate, Fold, Loop]
COMMUNICATION = (EdgeGather, Gather, Aggregate, Fold)


@dataclass(frozen=True)
class Program:
    name: str
    family: str
    ops: tuple[Op, ...]
    results: tuple[tuple[str, Value], ...]
    span: A.Span = A.NOSPAN


# ---------------------------------------------------------------- traversal

def outputs(op: Op) -> tuple[Value, ...]:
    if isinstance(op, Loop):
        return tuple(c.out for c in op.carried)
    return (op.out,)


def operands(op: Op) -> tuple[Value, ...]:
    """The values an op reads from its enclosing region (for a loop: inits and free values)."""
    match op:
        case Local(args=args):
            return args
        case Broadcast(arg=arg) | EdgeGather(arg=arg):
            return (arg,)
        case Gather(table=table, index=index):
            return (table, *index)
        case Aggregate(body=body, cond=cond, elem=elem):
            return tuple(v for v in (body, cond, elem) if v is not None)
        case Fold(arg=arg):
            return (arg,)
        case Loop():
            inits = tuple(c.init for c in op.carried if c.init is not None)
            return inits + free_values(op.body, {c.param for c in op.carried if c.param})
    return ()


def free_values(ops: tuple[Op, ...], bound: set[Value] = frozenset()) -> tuple[Value, ...]:
    """The values `ops` read but do not define (nor find in `bound`), in first-use order."""
    defined = set(bound)
    free: dict[Value, None] = {}
    for op in ops:
        for v in operands(op):
            if v not in defined:
                free[v] = None
        defined.update(outputs(op))
    return tuple(free)


def walk(ops: tuple[Op, ...]) -> Iterator[Op]:
    """Every op, loop bodies and fold functions included, in program order."""
    for op in ops:
        yield op
        if isinstance(op, Loop):
            yield from walk(op.body)
        elif isinstance(op, Fold) and isinstance(op.op, Function):
            yield from walk(op.op.body)


def static_values(ops: tuple[Op, ...]) -> set[Value]:
    """The values that do not depend on the program's inputs: built from constants, sizes and
    indices only (through loops too: `i = i + 1` from `i = 0`). A circuit for fixed sizes holds
    them as constants, and a gather with static indices is wiring."""
    static: set[Value] = set()
    _static(ops, static)
    return static


def _static(ops: tuple[Op, ...], static: set[Value]) -> None:
    for op in ops:
        match op:
            case Const() | Size() | Iota():
                static.add(op.out)
            case Input() | EdgeGather():
                pass
            case Aggregate(kind=kind) if kind in ("neighbour", "edges"):
                pass
            case Fold(op=Function() as f):
                _static(f.body, static)
                if op.arg in static:
                    static.add(op.out)
            case Loop():
                _static_loop(op, static)
            case _:
                if all(v in static for v in operands(op)):
                    static.add(op.out)


def _static_loop(loop: Loop, static: set[Value]) -> None:
    # Optimistic fixpoint: assume every carried value with a static init is static, and drop the
    # ones whose next value turns out not to be, until nothing changes.
    candidates = {c.param for c in loop.carried
                  if c.param is not None and c.init in static}
    while True:
        trial = set(static) | candidates
        _static(loop.body, trial)
        keep = {c.param for c in loop.carried if c.param in candidates and c.next in trial}
        if keep == candidates:
            static.clear()
            static.update(trial)
            for c in loop.carried:
                if (c.param is None or c.param in keep) and c.next in trial:
                    static.add(c.out)
            return
        candidates = keep


# ---------------------------------------------------------------- printing

def _scalar_type(t) -> str:
    return str(t)


def _fmt_value(v: Value) -> str:
    dom = format_domain(v.domain) if v.domain else "()"
    return f"%{v.id}: {dom} {_scalar_type(v.type)}"


def _fmt_const(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _fmt_op(op: Op, indent: str) -> list[str]:
    match op:
        case Input(out=out, name=name, role=role):
            what = "adjacency" if role == "adjacency" else f"input {name}"
            return [f"{indent}{_fmt_value(out)} = {what}"]
        case Const(out=out, value=value):
            return [f"{indent}{_fmt_value(out)} = const {_fmt_const(value)}"]
        case Size(out=out, expr=expr):
            return [f"{indent}{_fmt_value(out)} = size {format_size(expr)}"]
        case Iota(out=out):
            return [f"{indent}{_fmt_value(out)} = index"]
        case Local(out=out, op=name, args=args):
            return [f"{indent}{_fmt_value(out)} = {name} {', '.join(map(str, args))}"]
        case Broadcast(out=out, arg=arg, axes=axes):
            return [f"{indent}{_fmt_value(out)} = broadcast {arg} axes {list(axes)}"]
        case EdgeGather(out=out, arg=arg, axes=axes, endpoints=ends):
            reads = ", ".join(f"{e}(#{a})" if e else f"#{a}" for a, e in zip(axes, ends))
            return [f"{indent}{_fmt_value(out)} = edge_gather {arg} [{reads}]"]
        case Gather(out=out, table=table, index=index, static=static):
            kind = "reindex" if static else "pointer_gather"
            return [f"{indent}{_fmt_value(out)} = {kind} {table}[{', '.join(map(str, index))}]"]
        case Aggregate(out=out):
            parts = [f"{op.agg}", f"over #{op.axis} {op.reduced}"]
            if op.group:
                parts.append(f"at {op.group}")
            for label, v in (("body", op.body), ("if", op.cond), ("elem", op.elem)):
                if v is not None:
                    parts.append(f"{label} {v}")
            return [f"{indent}{_fmt_value(out)} = {op.kind}_aggregate {' '.join(parts)}"]
        case Fold(out=out, kind=kind, op=fop, arg=arg):
            if isinstance(fop, Function):
                lines = [f"{indent}{_fmt_value(out)} = {kind} {fop.name}({fop.params[0]}, "
                         f"{fop.params[1]}) {arg} {{"]
                for inner in fop.body:
                    lines += _fmt_op(inner, indent + "    ")
                return lines + [f"{indent}    yield {fop.result}", f"{indent}}}"]
            return [f"{indent}{_fmt_value(out)} = {kind} {fop} {arg}"]
        case Loop():
            until = " until stable" if op.until_stable else ""
            carried = ", ".join(
                f"{c.name}: {c.param if c.param else '_'} = {c.init if c.init else '_'}"
                for c in op.carried)
            lines = [f"{indent}loop {format_size(op.count)}{until} ({carried}) {{"]
            for inner in op.body:
                lines += _fmt_op(inner, indent + "    ")
            lines.append(f"{indent}    next "
                         + ", ".join(f"{c.name} = {c.next}" for c in op.carried))
            outs = ", ".join(_fmt_value(c.out) for c in op.carried)
            return lines + [f"{indent}}} -> {outs}"]
    raise TypeError(f"not an op: {op!r}")


def format_ir(program: Program) -> str:
    """A readable listing, one op per line: `%id: (domain) type = op operands`."""
    lines = [f"program {program.name} ({program.family})"]
    for op in program.ops:
        lines += _fmt_op(op, "    ")
    lines.append("    return " + ", ".join(f"{name} = {v}" for name, v in program.results))
    return "\n".join(lines) + "\n"


def max_value_id(program: "Program") -> int:
    """The largest value id in `program` (0 if none): a pass that adds values numbers them
    above it."""
    best = 0

    def walk(x):
        nonlocal best
        if isinstance(x, Value):
            best = max(best, x.id)
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y)
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            for f in dataclasses.fields(x):
                walk(getattr(x, f.name))
    walk(program.ops)
    walk(program.results)
    return best
