"""The MLP target: a bits (or scalar-only) program at fixed sizes → an exact layered MLP.

With every size fixed, the IR is evaluated once over *symbolic* values (`circuit.Form`s): loops
unroll, loop counters and indices are constants, so `a[i]` with a counter `i` is wiring. Affine
ops (sums, constant scaling, any function of one Boolean) only make new forms; every other op is
one gate, a one-hidden-layer gadget from `nclang.compiler.gadgets` (`table` for finite functions,
`ridge` for comparisons, `select_shallow`, `extremum_shallow`). `scan` is a Sklansky prefix tree
and `reduce` a balanced tree, ceil(log2 len) gate layers; a `def` operator is one table. The
circuit is then assembled into layers (`circuit.Circuit.assemble`).

Depth: which ops are affine and how many gates each puts on a path are the rules of
`nclang.compiler.analysis.cost` (`mlp_affine_local`, `mlp_local_layers`, ...), so the network has exactly
`analyse(checked).layers` layers at the sizes: results that are ready earlier (a loop's
iterations are costed one after another, while the unrolled circuit may overlap them) are carried
to that depth. In step mode a network whose results are single threshold gates drops its read-out
layer (majority is one step layer).

Activations: `relu`, or `step` (Heaviside, step(0) = 1) for a threshold circuit with integer
weights: Boolean inputs only (a threshold circuit reads bits; an integer input would be carried
as a thermometer code of its whole range), integers inside as weighted sums of threshold gates;
Boolean results are read out by a step layer, integer results (popcount) by a linear one.

Exactness: all weights and inputs are integers and every neuron's partial sums are bounded by
|b| + sum |w| max|x|; float32 is exact below 2^24 (float64 below 2^53). A program whose values
pass that at the sizes is refused by the value-range analysis, naming the value; a construction
whose own intermediates pass it is refused at the op that needs them. `dtype="float64"` compiles
for a runtime in float64 instead (weights stored as float64; `architecture["dtype"]` says so).

No torch here: compiling needs numpy only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nclang.compiler import gadgets as G
from nclang.compiler import ir
from nclang.compiler.analysis import analyse
from nclang.compiler.analysis.cost import flat_fold, mlp_affine_local, mlp_masked
from nclang.compiler.analysis.ranges import value_ranges
from nclang.compiler.lower import lower
from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError
from nclang.dsl.pretty import pretty_type

from .circuit import Circuit, ExactnessError, Form, TooLargeError, clip, const, lin

ACTIVATIONS = ("relu", "step")
DTYPES = {"float32": (np.float32, 2 ** 24), "float64": (np.float64, 2 ** 53)}
NONE = -1          # the index `none`
TABLE_LIMIT = 1 << 16  # grid points a table gate may enumerate
SMALL_SELECT = 4096    # above this, a select uses the two-ridge gadget instead of a table
_OTHER_TARGET = {"graph": "gnn", "seq": "transformer"}
# Size limits (docs/performance.md): the layers are dense matrices, so a network past these
# would take gigabytes and minutes to build; the compiler refuses instead: before building when
# the input channels alone pass MAX_NEURONS, while building as soon as the circuit's neurons
# (inputs and carrying copies included) pass it (the builder makes some 20,000 a second, so
# this stops within seconds), and before allocating the matrices when their entries would pass
# MAX_PARAMETERS (2^27: 512 MiB of float32)
MAX_NEURONS = 1 << 17
MAX_PARAMETERS = 1 << 27


@dataclass(frozen=True)
class Flagged:
    """A result that may be infinite: flag f (1: finite) and value v, two output channels
    (encoding kind `ninf` for a max, `pinf` for a min)."""
    agg: str
    flag: Form
    value: Form

    @property
    def kind(self) -> str:
        return "ninf" if self.agg == "max" else "pinf"


@dataclass
class MLPArtifact:
    tensors: dict[str, np.ndarray]
    architecture: dict
    encodings: dict


# ---------------------------------------------------------------- entry point

def compile_mlp(checked, sizes: dict[str, int], activation: str = "relu",
                dtype: str = "float32", self_check: bool = True) -> MLPArtifact:
    """The exact MLP of a bits or scalar program at `sizes` (NclError for what it cannot be);
    with `self_check`, first run on the boundary inputs against the interpreter (`verify`)."""
    p = checked.program
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; one of {', '.join(ACTIVATIONS)}")
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; one of {', '.join(DTYPES)}")
    if checked.family != "bits":
        other = _OTHER_TARGET.get(checked.family, "another target")
        raise NclError.at(p.name_span, "wrong-target",
                          f"the mlp target compiles bits and scalar programs; '{p.name}' is a "
                          f"{checked.family} program: use --target {other}")
    sizes = _fixed_sizes(checked, sizes)
    _check_ranges(checked, sizes, dtype)
    if activation == "step":
        _check_step_inputs(checked)
    program = lower(checked)
    want = analyse(checked, None, program).layers
    layers_at_sizes = int(round(ir.evaluate(want, sizes)))
    channels = sum(_count(op.out.domain, sizes) for op in program.ops
                   if isinstance(op, ir.Input))
    if channels > MAX_NEURONS:
        raise _too_large(checked, TooLargeError("input channels", channels, MAX_NEURONS), sizes)
    builder = _Builder(checked, program, sizes, activation)
    try:
        outputs = builder.run()
    except TooLargeError as err:
        raise _too_large(checked, err, sizes) from None
    final = "id"
    if activation == "step" and all(k in ("bool", "bits") for k in builder.output_kinds):
        final = "step"
    np_dtype, limit = DTYPES[dtype]
    try:
        net = builder.circuit.assemble(outputs, layers_at_sizes - 1, final, limit)
    except ExactnessError as err:
        raise _inexact(checked, err, sizes, dtype) from None
    except TooLargeError as err:
        raise _too_large(checked, err, sizes) from None
    tensors, specs = {}, []
    for i, (W, b, act) in enumerate(net.layers):
        tensors[f"layers.{i}.weight"] = W.astype(np_dtype)
        tensors[f"layers.{i}.bias"] = b.astype(np_dtype)
        specs.append({"in": int(W.shape[1]), "out": int(W.shape[0]), "act": act})
    used = {k: sizes[k] for k in sorted(checked.size_vars)}
    architecture = {
        "family": "mlp", "activation": activation, "sizes": used, "depth": len(specs),
        "layers": specs, "dtype": dtype,
        "analysis_layers": layers_at_sizes,
        "natural_depth": net.natural_depth,
        "max_magnitude": net.magnitude,
    }
    art = MLPArtifact(tensors, architecture, {"inputs": builder.in_enc,
                                              "outputs": builder.out_enc})
    if self_check:
        from .verify import verify_mlp
        verify_mlp(checked, art, sizes, dtype)
    return art


# ---------------------------------------------------------------- refusals

def _fixed_sizes(checked, sizes) -> dict[str, int]:
    p = checked.program
    sizes = dict(sizes or {})
    for name in sorted(checked.size_vars):
        if name not in sizes:
            raise NclError.at(_size_span(p, name), "missing-size",
                              f"size {name} is not fixed: pass --size {name}=N")
        v = sizes[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise NclError.at(_size_span(p, name), "bad-size",
                              f"size {name} must be a positive integer, got {v!r}")
        sizes[name] = int(v)
    return sizes


def _size_span(p: A.Program, name: str) -> A.Span:
    for prm in p.params:
        if any(isinstance(n, A.Name) and n.id == name for n in _walk(prm.type)):
            return prm.span
    return p.name_span


def _walk(node):
    yield node
    if hasattr(node, "__dataclass_fields__"):
        for f in node.__dataclass_fields__:
            v = getattr(node, f)
            for x in v if isinstance(v, tuple) else (v,):
                if hasattr(x, "__dataclass_fields__"):
                    yield from _walk(x)


def _check_ranges(checked, sizes, dtype) -> None:
    report = value_ranges(checked)
    _, limit = DTYPES[dtype]
    if report.value_at(sizes) < limit:
        return
    at = ", ".join(f"{k} = {sizes[k]}" for k in sorted(sizes)) or "these sizes"
    v = report.max_value
    head = f"{v.name} reaches {_show(v.magnitude)}" if v is not None else "a value grows"
    if dtype == "float32":
        msg = (f"{head}, which passes 2^24 at {at}: float32 cannot hold it exactly; compile "
               f"for float64 (exact below 2^53) or use smaller sizes")
    else:
        msg = f"{head}, which passes 2^53 at {at}: not even float64 holds it exactly"
    span = v.span if v is not None else checked.program.name_span
    raise NclError.at(span, "not-exact", msg)


def _show(e) -> str:
    from nclang.compiler.analysis.ranges import show
    return show(e)


def _inexact(checked, err: ExactnessError, sizes, dtype) -> NclError:
    at = ", ".join(f"{k} = {sizes[k]}" for k in sorted(sizes)) or "these sizes"
    bits = math.log2(err.magnitude) if err.magnitude > 0 else 0
    bound = "2^24" if dtype == "float32" else "2^53"
    hint = "; compile for float64 (exact below 2^53)" if dtype == "float32" else ""
    span = err.origin if isinstance(err.origin, A.Span) else checked.program.name_span
    return NclError.at(span, "not-exact",
                       f"the network for this value needs intermediates up to "
                       f"{err.magnitude:.0f} (2^{bits:.1f}) at {at}, past {bound}, where "
                       f"{dtype} stops being exact{hint}")


def _count(domain, sizes) -> int:
    return math.prod(max(int(round(ir.evaluate(a.size, sizes))), 0) for a in domain)


def _too_large(checked, err: TooLargeError, sizes) -> NclError:
    at = ", ".join(f"{k} = {sizes[k]}" for k in sorted(sizes)) or "these sizes"
    need = "more than " if err.what == "neurons" else ""
    return NclError.at(checked.program.name_span, "too-large",
                       f"the mlp network for '{checked.program.name}' at {at} needs "
                       f"{need}{err.count:,} {err.what}, past the mlp target's limit of "
                       f"{err.limit:,} (its layers are dense matrices); use a smaller size")


def _check_step_inputs(checked) -> None:
    for prm in checked.program.params:
        t = T.from_syntax(prm.type)
        elem = t.elem if isinstance(t, T.Field) else t
        if not isinstance(elem, T.Bool):
            raise NclError.at(prm.span, "step-needs-bool",
                              f"--activation step builds a Boolean threshold circuit, which "
                              f"reads bits; '{prm.name}' is {pretty_type(prm.type)} (compile "
                              f"with --activation relu)")


def _unsupported(span, what: str) -> NclError:
    return NclError.at(span, "mlp-unsupported", f"the mlp target cannot compute {what}")


# ---------------------------------------------------------------- evaluation over forms

def _apply(op: str, args: list[int]) -> int:
    """One pointwise op on integers (bools as 0/1), as the interpreter computes it."""
    match op:
        case "add":
            return args[0] + args[1]
        case "sub":
            return args[0] - args[1]
        case "mul":
            return args[0] * args[1]
        case "neg":
            return -args[0]
        case "abs":
            return abs(args[0])
        case "floordiv":
            return args[0] // args[1] if args[1] else 0  # never observed: the program errs
        case "mod":
            return args[0] % args[1] if args[1] else 0
        case "eq":
            return int(args[0] == args[1])
        case "ne":
            return int(args[0] != args[1])
        case "lt":
            return int(args[0] < args[1])
        case "le":
            return int(args[0] <= args[1])
        case "gt":
            return int(args[0] > args[1])
        case "ge":
            return int(args[0] >= args[1])
        case "and":
            return int(bool(args[0]) and bool(args[1]))
        case "or":
            return int(bool(args[0]) or bool(args[1]))
        case "xor":
            return int(bool(args[0]) != bool(args[1]))
        case "not":
            return int(not args[0])
        case "select":
            return args[1] if args[0] else args[2]
        case "min":
            return min(args)
        case "max":
            return max(args)
    raise AssertionError(f"no integer meaning for {op}")




class _Builder:
    def __init__(self, checked, program: ir.Program, sizes, act: str):
        self.checked = checked
        self.program = program
        self.sizes = sizes
        self.act = act
        self.circuit = Circuit(act, max_units=MAX_NEURONS, max_params=MAX_PARAMETERS)
        self.static = ir.static_values(program.ops)
        self.env: dict[ir.Value, np.ndarray] = {}
        self.tables: dict = {}
        self.in_enc: list[dict] = []
        self.out_enc: list[dict] = []
        self.output_kinds: list[str] = []

    # ---- plumbing

    def size(self, expr) -> int:
        return int(round(ir.evaluate(expr, self.sizes)))

    def shape(self, domain) -> tuple[int, ...]:
        return tuple(max(self.size(a.size), 0) for a in domain)

    def get(self, v: ir.Value) -> np.ndarray:
        return self.env[v]

    def gate(self, key, make, args: list[Form], span) -> Form:
        """A gate from the cached gadget `make()` (keyed by what it computes and its input
        ranges), folded to a constant when its output range is one value."""
        full = (key, tuple(a.range for a in args), self.act)
        sh = self.tables.get(full)
        if sh is None:
            try:
                sh = make()
            except ValueError as err:
                raise _unsupported(span, f"this value exactly: {err}") from None
            self.tables[full] = sh
        if sh.out[0][0] == sh.out[0][1]:
            return const(sh.out[0][0])
        return self.circuit.gate(sh, args, span)

    def fn(self, op: str, args: list[Form], span) -> Form:
        """The gate computing `op` on forms (the constants among them folded in)."""
        if all(a.is_const for a in args):
            return const(_apply(op, [a.c for a in args]))
        var = [i for i, a in enumerate(args) if not a.is_const]
        fixed = [a.c for a in args]

        def f(*xs):
            vals = list(fixed)
            for i, x in zip(var, xs):
                vals[i] = x
            return _apply(op, vals)

        dyn = [args[i] for i in var]
        if len(dyn) == 1 and 0 <= dyn[0].lo and dyn[0].hi <= 1:
            f0, f1 = f(0), f(1)  # any function of one bit is affine
            return lin([(f1 - f0, dyn[0])], f0)
        key = (op, tuple(var), tuple(fixed[i] if i not in var else None
                                     for i in range(len(args))))
        if op in ("eq", "ne", "lt", "le", "gt", "ge") and len(dyn) == 2:
            return self.gate(key, lambda: G.ridge(lambda d: _apply(op, [d, 0]), (1, -1),
                                                  [a.range for a in dyn], self.act), dyn, span)
        if op in ("min", "max") and len(dyn) == 2 and len(args) == 2:
            return self.gate(key, lambda: G.extremum_shallow(op, dyn[0].range, dyn[1].range,
                                                             self.act), dyn, span)
        if op == "select" and 0 in var:
            points = 2 * math.prod(a.hi - a.lo + 1 for a in args[1:])
            if points > SMALL_SELECT:
                return self.gate(("select2",), lambda: G.select_shallow(
                    args[1].range, args[2].range, self.act), args, span)
        return self.gate(key, lambda: G.table(f, [a.range for a in dyn], self.act,
                                              TABLE_LIMIT), dyn, span)

    # ---- program

    def run(self) -> list[Form]:
        p = self.checked.program
        params = {prm.name: prm for prm in p.params}
        start = 0
        for op in self.program.ops:
            if isinstance(op, ir.Input):
                if op.role != "param":
                    raise _unsupported(op.span, "a graph")
                prm = params[op.name]
                shape = self.shape(op.out.domain)
                kind = T.scalar_kind(op.out.type)
                lo, hi = self.input_range(op, prm)
                vals = np.empty(shape, object)
                for idx in np.ndindex(*shape):
                    vals[idx] = self.circuit.input(lo, hi)
                self.env[op.out] = vals
                t = T.from_syntax(prm.type)
                n = int(np.prod(shape, dtype=np.int64))
                self.in_enc.append({
                    "name": prm.name, "type": pretty_type(prm.type),
                    "kind": "bits" if isinstance(t, T.Field) and t.bits else kind,
                    "shape": list(shape), "channels": [start, start + n]})
                start += n
        self.block(tuple(op for op in self.program.ops if not isinstance(op, ir.Input)))
        outputs, begin = [], 0
        result_types = p.results
        for (name, v), texpr in zip(self.program.results, result_types):
            vals = self.get(v)
            t = T.from_syntax(texpr)
            kind = T.scalar_kind(t)
            flat = [vals[idx] for idx in np.ndindex(*vals.shape)]
            flagged = [f for f in flat if isinstance(f, Flagged)]
            if flagged:  # (f, v) per element; `only_a_result` made every element one
                kind = flagged[0].kind
                flat = [x for f in flat for x in (f.flag, f.value)]
            elif isinstance(t, T.Field) and t.bits:
                kind = "bits"
            outputs += flat
            self.out_enc.append({
                "name": name, "type": pretty_type(texpr), "kind": kind,
                "shape": list(vals.shape), "channels": [begin, begin + len(flat)]})
            self.output_kinds.append(self.out_enc[-1]["kind"])
            begin += len(flat)
        return outputs

    def input_range(self, op: ir.Input, prm) -> tuple[int, int]:
        t = op.out.type
        if isinstance(t, T.Bool):
            return 0, 1
        if isinstance(t, T.Int) and t.lo is not None and not t.allows_inf:
            return int(t.lo), int(t.hi)
        raise _unsupported(prm.span, f"input '{prm.name}' of type {pretty_type(prm.type)}: "
                                     f"it needs a finite integer range (int[lo..hi]) or bool")

    def block(self, ops) -> None:
        for op in ops:
            if isinstance(op, ir.Loop):
                self.loop(op)
            else:
                self.env[op.out] = self.op(op)

    def loop(self, loop: ir.Loop) -> None:
        count = max(self.size(loop.count), 0)
        cur = {c.name: (self.get(c.init) if c.init is not None else None) for c in loop.carried}
        for _ in range(count):
            for c in loop.carried:
                if c.param is not None:
                    self.env[c.param] = cur[c.name]
            self.block(loop.body)
            cur = {c.name: self.get(c.next) for c in loop.carried}
        for c in loop.carried:
            if cur[c.name] is None:
                raise _unsupported(loop.span, f"'{c.name}' after a loop that runs no times")
            self.env[c.out] = cur[c.name]

    def op(self, op) -> np.ndarray:
        match op:
            case ir.Const(value=value):
                return np.array(const(self.constant(value, op)), object)
            case ir.Size(expr=expr):
                return np.array(const(self.size(expr)), object)
            case ir.Iota():
                (n,) = self.shape(op.out.domain)
                out = np.empty((n,), object)
                for i in range(n):
                    out[i] = const(i)
                return out
            case ir.Broadcast(arg=arg, axes=axes):
                src = self.get(arg)
                shape = self.shape(op.out.domain)
                out = np.empty(shape, object)
                for idx in np.ndindex(*shape):
                    out[idx] = src[tuple(idx[a] for a in axes)]
                return out
            case ir.Local():
                return self.local(op)
            case ir.Gather():
                return self.gather(op)
            case ir.Aggregate():
                return self.aggregate(op)
            case ir.Fold():
                return self.fold(op)
        raise _unsupported(getattr(op, "span", self.checked.program.span),
                           "this operation (message passing needs --target gnn)")

    def constant(self, value, op) -> int:
        if value is None:
            return NONE
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and math.isinf(value):
            raise _unsupported(op.span, "inf: its networks hold bounded integers only")
        raise _unsupported(op.span, f"the value {value!r} (tokens need --target transformer)")

    # ---- pointwise

    def local(self, op: ir.Local) -> np.ndarray:
        if op.op == "div":
            raise _unsupported(op.span, "'/' (a frac): float networks are exact on integers only")
        args = [self.get(a) for a in op.args]
        shape = self.shape(op.out.domain)
        out = np.empty(shape, object)
        affine = mlp_affine_local(op, self.static)
        fills = [self.fill(a.type) for a in op.args]
        for idx in np.ndindex(*shape):
            # an operand on a shorter axis (a[i] for i in range(k + 1)) reads a fill value past
            # its end, as a gather outside its table does; the program's guards never observe it
            xs = [a[idx] if all(i < n for i, n in zip(idx, a.shape)) else f
                  for a, f in zip(args, fills)]
            out[idx] = self.point(op, xs, affine)
        return out

    def point(self, op: ir.Local, xs: list[Form], affine: bool) -> Form:
        name = op.op
        if all(x.is_const for x in xs):
            return const(_apply(name, [x.c for x in xs]))
        if name == "select" and xs[0].is_const:
            return xs[1] if xs[0].c else xs[2]
        if name == "and" and any(x.is_const and not x.c for x in xs):
            return const(0)
        if name == "or" and any(x.is_const and x.c for x in xs):
            return const(1)
        if name in ("add", "sub", "neg") or (name == "mul" and affine):
            if name == "add":
                return lin([(1, xs[0]), (1, xs[1])])
            if name == "sub":
                return lin([(1, xs[0]), (-1, xs[1])])
            if name == "neg":
                return lin([(-1, xs[0])])
            a, x = (xs[0], xs[1]) if xs[0].is_const else (xs[1], xs[0])
            return lin([(a.c, x)])
        if name in ("min", "max") and len(xs) > 2:
            return self.extremum_tree(name, xs, op.span)
        return self.fn(name, xs, op.span)

    def extremum_tree(self, name: str, xs: list[Form], span) -> Form:
        consts = [x.c for x in xs if x.is_const]
        leaves = [x for x in xs if not x.is_const]
        if consts:
            leaves.append(const(min(consts) if name == "min" else max(consts)))
        while len(leaves) > 1:
            nxt = [self.fn(name, [leaves[i], leaves[i + 1]], span)
                   for i in range(0, len(leaves) - 1, 2)]
            if len(leaves) % 2:
                nxt.append(leaves[-1])
            leaves = nxt
        return leaves[0]

    # ---- gathers

    def gather(self, op: ir.Gather) -> np.ndarray:
        table = self.get(op.table)
        index = [self.get(i) for i in op.index]
        shape = self.shape(op.out.domain)
        out = np.empty(shape, object)
        fill = self.fill(op.out.type)
        for idx in np.ndindex(*shape):
            ix = [i[idx] for i in index]
            if all(i.is_const for i in ix):
                pos = tuple(i.c for i in ix)
                inside = all(0 <= c < n for c, n in zip(pos, table.shape))
                out[idx] = table[pos] if inside else fill
            elif len(ix) == 1:
                out[idx] = self.mux(table, ix[0], op.span)
            else:
                raise _unsupported(op.span, "a computed read of a field with several axes")
        return out

    def fill(self, t) -> Form:
        # what a read outside the field gives; the program's own guards never observe it
        if isinstance(t, T.Int) and t.lo is not None and not math.isinf(t.lo):
            return const(int(t.lo))
        return const(0)

    def mux(self, table: np.ndarray, d: Form, span) -> Form:
        """table[d] for a computed index d in one layer: the constant entries as one table over
        d, each computed entry x_t as the table (x, d) -> x if d == t else 0 (0 outside)."""
        fixed = {t: table[t].c for t in range(len(table)) if table[t].is_const}
        terms = []
        if fixed:
            key = ("mux-const", tuple(sorted(fixed.items())))
            terms.append(self.gate(key, lambda: G.table(lambda x: fixed.get(x, 0), [d.range],
                                                        self.act, TABLE_LIMIT), [d], span))
        for t in range(len(table)):
            x = table[t]
            if x.is_const or not (d.lo <= t <= d.hi):
                continue
            if x.lo >= 0 and x.hi <= 1:  # a bit: a table along (x, d) is a few units
                make = (lambda t=t: G.table(lambda xv, dv: xv if dv == t else 0,
                                            [x.range, d.range], self.act, TABLE_LIMIT))
            else:  # wide values: `pick` keeps the weights small
                make = (lambda t=t: G.pick(x.range, d.range, t, self.act))
            terms.append(self.gate(("mux", t, x.lo >= 0 and x.hi <= 1), make, [x, d], span))
        if not terms:
            return const(0)
        # one entry at most is selected (none when d is outside the table: then 0), so the sum
        # lies in the hull of the entries and 0, far inside the interval sum of the terms
        reach = [table[t] for t in range(len(table)) if d.lo <= t <= d.hi]
        lo = min([0] + [x.lo for x in reach])
        hi = max([0] + [x.hi for x in reach])
        return clip(lin([(1, f) for f in terms]), lo, hi)

    # ---- aggregations over a range axis

    def aggregate(self, op: ir.Aggregate) -> np.ndarray:
        if op.kind != "range":
            raise _unsupported(op.span, "an aggregation over nodes, edges or positions "
                                        "(use --target gnn/transformer)")
        parts = {name: (self.get(v) if v is not None else None)
                 for name, v in (("body", op.body), ("cond", op.cond), ("elem", op.elem))}
        shape = self.shape(op.out.domain)
        out = np.empty(shape, object)
        masked = mlp_masked(op, self.static)
        for idx in np.ndindex(*shape):
            sl = {}
            for name, arr in parts.items():
                if arr is None:
                    sl[name] = None
                    continue
                moved = np.moveaxis(arr, op.axis, -1)
                sl[name] = list(moved[idx])
            n = len(next(s for s in sl.values() if s is not None))
            body = sl["body"] or [None] * n
            cond = sl["cond"] or [const(1)] * n
            elem = sl["elem"] or [None] * n
            out[idx] = self.reduce_axis(op, body, cond, elem, masked)
        return out

    def reduce_axis(self, op, body, cond, elem, masked) -> Form:
        agg, span = op.agg, op.span
        if agg == "count":
            return lin([(1, c) for c in cond])
        if agg == "sum":
            return lin([(1, self.masked(b, c, 0, span)) for b, c in zip(body, cond)])
        if agg in ("any", "all"):
            if agg == "any":
                terms = [self.fn("and", [c, b], span) for b, c in zip(body, cond)]
            else:  # all: every selected body holds = no term (cond and not body)
                terms = [self.fn("or", [lin([(-1, c)], 1), b], span) for b, c in zip(body, cond)]
            if agg == "any" and any(t.is_const and t.c for t in terms):
                return const(1)
            if agg == "all" and any(t.is_const and not t.c for t in terms):
                return const(0)
            live = [t for t in terms if not t.is_const]
            if not live:
                return const(0 if agg == "any" else 1)
            s = lin([(1, t) for t in live])
            need = 1 if agg == "any" else len(live)
            return self.gate(("atleast", need), lambda: G.ridge(lambda v: int(v >= need), (1,),
                                                                [s.range], self.act), [s], span)
        if agg in ("min", "max"):
            if all(c.is_const and c.c for c in cond) and cond:
                return self.extremum_tree(agg, body, span)
            return self.flagged_extremum(op, body, cond)
        if agg in ("argmin", "argmax"):
            return self.arg(op, body, cond, elem)
        if agg == "only":
            if not isinstance(op.out.type, (T.Index, T.NoneType)):
                raise _unsupported(span, "'only' of a non-index value (none has no number)")
            f = lin([(1, self.masked(lin([(1, b)], -NONE), c, 0, span))
                     for b, c in zip(body, cond)], NONE)
            return clip(f, min([NONE] + [b.lo for b in body]), max([NONE] + [b.hi for b in body]))
        raise _unsupported(span, f"'{agg}' (a frac: float networks are exact on integers only)")

    def flagged_extremum(self, op, body, cond) -> "Flagged":
        """A `max` (`min`) that may select nothing, whose empty selection is -inf (inf): the
        pair (f, v), f = [some element is selected] (one threshold gate, Σc ≥ 1) and v the
        extremum where f = 1 (where f = 0, v is a finite filler the decoding ignores). Only a
        program result may be such a value: no network value here holds an infinity, so a
        computation on it is refused (`Flagged` is no `Form`).

        v: each term is b if c else the bodies' least (greatest) value (affine for a constant
        body, `max(i for i in range(k) if x[i])`; one select gate for a computed one), then the
        extremum tree, the layers `analysis.cost` counts for it (masked + ceil(log2 k)); the flag
        gate is ready after one. (For constant bodies one layer would do: with the candidate
        values u1 < u2 < ..., v = Σ (u_t - u_{t-1}) [some element of value >= u_t is
        selected]; the analysis would have to count it so first.)"""
        agg, span = op.agg, op.span
        if not self.only_a_result(op.out):
            raise _unsupported(span, f"'{agg}' over a condition that may select nothing as "
                                     f"part of another value: an empty selection gives "
                                     f"{'-inf' if agg == 'max' else 'inf'}, which its networks "
                                     f"carry only as a program's result (return it as is)")
        live = [(b, c) for b, c in zip(body, cond) if not (c.is_const and not c.c)]
        flag = self.any_of([c for _, c in live], span)
        if not live:
            return Flagged(agg, flag, const(0))
        filler = min(b.lo for b, _ in live) if agg == "max" else max(b.hi for b, _ in live)
        masked = [self.masked(b, c, filler, span) for b, c in live]
        return Flagged(agg, flag, self.extremum_tree(agg, masked, span))

    def any_of(self, bits: list[Form], span) -> Form:
        """[some of the Booleans `bits` holds]: a constant, a single bit, or one gate."""
        if any(b.is_const and b.c for b in bits):
            return const(1)
        live = [b for b in bits if not b.is_const]
        if not live:
            return const(0)
        if len(live) == 1:
            return live[0]
        s = lin([(1, b) for b in live])
        return self.gate(("atleast", 1), lambda: G.ridge(lambda v: int(v >= 1), (1,),
                                                         [s.range], self.act), [s], span)

    def only_a_result(self, v: ir.Value) -> bool:
        """Whether `v` is computed at the program's top level and read by nothing but the
        program's results."""
        top = {out for op in self.program.ops for out in ir.outputs(op)}
        if v not in top:
            return False
        return not any(v in ir.operands(op) for op in ir.walk(self.program.ops))

    def masked(self, b: Form, c: Form, zero: int, span) -> Form:
        """b where c holds, else `zero`."""
        if c.is_const:
            return b if c.c else const(zero)
        if b.is_const:
            return lin([(b.c - zero, c)], zero)
        return self.fn("select", [c, b, const(zero)], span)

    def arg(self, op, body, cond, elem) -> Form:
        if any(e is None or not e.is_const for e in elem):
            raise _unsupported(op.span, f"{op.agg} over computed elements")
        sign = 1 if op.agg == "argmax" else -1
        cands = [j for j in range(len(body)) if not (cond[j].is_const and not cond[j].c)]
        if all(body[j].is_const for j in cands):
            # the first selected candidate in preference order: greatest (least) body, then
            # the smallest element
            cands.sort(key=lambda j: (-sign * body[j].c, elem[j].c))
            terms, before = [], []
            for j in cands:
                c = cond[j]
                s = lin([(1, x) for x in before])
                if s.is_const:
                    h = c
                else:
                    h = self.fn("gt", [c, s], op.span)  # c = 1 and none before: c - s >= 1
                terms.append((elem[j].c - NONE, h))
                if c.is_const:
                    break
                before.append(c)
            return self.one_of(lin(terms, NONE), [elem[j].c for j in cands])
        winners = []
        for i in cands:
            us = []
            for j in cands:
                if j == i:
                    continue
                theta = 0 if elem[i].c < elem[j].c else 1  # ties to the smaller element
                us.append(self.beats(sign, theta, body[i], body[j], cond[j], op.span))
            if any(u.is_const and not u.c for u in us):
                continue
            live = [u for u in us if not u.is_const] + ([cond[i]] if not cond[i].is_const else [])
            if not live:
                h = const(1)
            else:
                s = lin([(1, u) for u in live])
                need = len(live)
                h = self.gate(("atleast", need), lambda: G.ridge(
                    lambda v: int(v >= need), (1,), [s.range], self.act), [s], op.span)
            winners.append((elem[i].c - NONE, h))
        return self.one_of(lin(winners, NONE), [elem[i].c for i in cands])

    @staticmethod
    def one_of(f: Form, values: list[int]) -> Form:
        """`f`, known to be NONE or one of `values` (one candidate wins at most), with that hull
        as its interval instead of the interval sum of all the candidates."""
        return clip(f, min([NONE] + values), max([NONE] + values))

    def beats(self, sign, theta, bi: Form, bj: Form, cj: Form, span) -> Form:
        """[j is not selected, or body i beats body j]: sign * (bi - bj) >= theta, or cj = 0."""
        d = lin([(sign, bi), (-sign, bj)])
        if cj.is_const:
            if not cj.c:
                return const(1)
            if d.is_const:
                return const(int(d.c >= theta))
            return self.gate(("atleast", theta), lambda: G.ridge(
                lambda v: int(v >= theta), (1,), [d.range], self.act), [d], span)
        B = max(theta - d.lo, 0)
        # B (1 - c) + d >= theta holds whenever c = 0 (B lifts d's least value to theta)
        x = lin([(1, d), (-B, cj)], B)
        return self.gate(("atleast", theta), lambda: G.ridge(
            lambda v: int(v >= theta), (1,), [x.range], self.act), [x], span)

    # ---- scan and reduce

    def fold(self, op: ir.Fold) -> np.ndarray:
        xs = list(self.get(op.arg))
        if flat_fold(op):
            return self.flat_fold(op, xs)
        combine = self.combiner(op)
        if op.kind == "reduce":
            level = xs
            while len(level) > 1:
                nxt = [combine(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
                if len(level) % 2:
                    nxt.append(level[-1])
                level = nxt
            if not level:
                raise _unsupported(op.span, "reduce over nothing")
            return np.array(level[0], object)
        # Sklansky prefix tree: at the level of blocks of 2d, each element of a block's upper
        # half takes in the last prefix of its lower half: ceil(log2 n) levels
        n, d = len(xs), 1
        vals = list(xs)
        while d < n:
            for i in range(n):
                if i & d:
                    j = (i // (2 * d)) * 2 * d + d - 1
                    vals[i] = combine(vals[j], vals[i])
            d *= 2
        out = np.empty((n,), object)
        for i, v in enumerate(vals):
            out[i] = v
        return out

    def flat_fold(self, op: ir.Fold, xs: list[Form]) -> np.ndarray:
        """`or`/`and` of Booleans as one threshold gate per result,
        whatever the length: OR is Σx ≥ 1, AND is Σx ≥ len (`cost.flat_fold` says which folds
        are built so; the analysis counts each as one layer)."""
        if not xs:
            raise _unsupported(op.span, "reduce over nothing")
        either = op.op

        def gate(prefix: list[Form]) -> Form:
            s = lin([(1, x) for x in prefix])
            need = 1 if either == "or" else len(prefix)
            if s.is_const:
                return const(int(s.c >= need))
            return self.gate(("atleast", need), lambda: G.ridge(
                lambda v: int(v >= need), (1,), [s.range], self.act), [s], op.span)

        if op.kind == "reduce":
            return np.array(gate(xs), object)
        out = np.empty((len(xs),), object)
        for i in range(len(xs)):
            out[i] = gate(xs[:i + 1])
        return out

    def combiner(self, op: ir.Fold):
        span = op.span
        if isinstance(op.op, ir.Function):
            fn = op.op
            memo: dict = {}

            def apply(x: int, y: int) -> int:
                if (x, y) not in memo:
                    memo[(x, y)] = self.call(fn, x, y)
                return memo[(x, y)]

            def combine(a: Form, b: Form) -> Form:
                if a.is_const and b.is_const:
                    return const(apply(a.c, b.c))
                dom = [self.clamp(a, fn.params[0]), self.clamp(b, fn.params[1])]
                var = [i for i, f in enumerate((a, b)) if not f.is_const]
                fixed = (a.c, b.c)

                def f(*xs):
                    v = list(fixed)
                    for i, x in zip(var, xs):
                        v[i] = x
                    return apply(*v)

                args = [(a, b)[i] for i in var]
                key = ("def", id(fn), tuple(var), tuple(None if i in var else fixed[i]
                                                        for i in range(2)))
                return self.gate(key, lambda: G.table(f, [dom[i] for i in var], self.act,
                                                      TABLE_LIMIT), args, span)
            return combine
        name = {"+": "add", "*": "mul"}.get(op.op, op.op)

        def builtin(a: Form, b: Form) -> Form:
            if name == "add":
                return lin([(1, a), (1, b)])
            if name == "mul" and (a.is_const or b.is_const):
                k, x = (a, b) if a.is_const else (b, a)
                return lin([(k.c, x)])
            return self.fn(name, [a, b], span)
        return builtin

    def clamp(self, f: Form, param: ir.Value) -> tuple[int, int]:
        # a def's argument lies in its declared type (the checker verifies every call)
        t = param.type
        lo, hi = f.lo, f.hi
        if isinstance(t, T.Int) and t.lo is not None:
            lo, hi = max(lo, int(t.lo)) if not math.isinf(t.lo) else lo, \
                min(hi, int(t.hi)) if not math.isinf(t.hi) else hi
        elif isinstance(t, T.Bool):
            lo, hi = max(lo, 0), min(hi, 1)
        return lo, hi

    def call(self, fn: ir.Function, x: int, y: int) -> int:
        saved = self.env
        self.env = dict(saved)
        try:
            self.env[fn.params[0]] = np.array(const(x), object)
            self.env[fn.params[1]] = np.array(const(y), object)
            self.block(fn.body)
            r = self.env[fn.result][()]
        finally:
            self.env = saved
        if not r.is_const:
            raise _unsupported(self.checked.program.span,
                               f"def '{fn.name}' as a fold operator: it reads the program's inputs")
        return r.c
