"""The GNN target: a graph program → one size-independent message-passing network.

The IR maps onto message passing op for op, with no unrolling (docs/weights.md, "GNN layout"):
- `EdgeGather` is the message half: a node state read at each edge's source or destination;
- `Local` on an edge domain is the message MLP φ(x_u, x_v, e_uv), on a node / pair / global
  domain the update MLP ψ: each an exact ReLU block from `nclang.compiler.gadgets` (`local`);
- `Aggregate` is ⊕ (sum, min, max, any, all, count, argmin, argmax): over in(v) / out(v)
  (neighbour), over all nodes (global readout, or the triplet aggregation of a pair program),
  over all edges;
- `Broadcast` is wiring (global → node, node → pair, ...), `Gather` a pointer gather x[p[v]];
- `Loop` is one weight-tied block run T times, T the size expression evaluated from each
  graph's n and m at run time; `until stable` ends when a global "changed" readout is false.

Every weight is an integer, so one file runs on every graph size; what limits the size is
exactness: every value must stay below the design bound R, which the compiler picks as large as
the dtype allows for this network (every gadget's intermediates at most 2^24 / 2^53). The
runtime evaluates the value-range analysis' bound at each input's n and m, and where it passes R
watches the run's values instead and refuses it if one passes R. The compiler refuses when the
bound passes R at the sizes given with --size, or at the smallest graph when none are given.

No torch here: compiling needs numpy and sympy only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nclang.compiler import gadgets as G
from nclang.compiler import ir
from nclang.compiler.analysis.ranges import show
from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError
from nclang.dsl.pretty import pretty_type

from ..registry import DTYPES
from .local import CHANNELS, Unsupported, kind_of, local_block

if TYPE_CHECKING:
    from nclang.compiler.compilation import Compilation

# Candidate design bounds, largest first: 2^(bits - d). Each network takes the largest for which
# every block's intermediates stay exact.
_HEADROOM = (2, 3, 4, 5, 6)
# the most axes a value of the network has (a triplet of nodes: the schema's limit)
_MAX_AXES = 3


@dataclass
class GNNArtifact:
    tensors: dict
    architecture: dict
    encodings: dict


def compile_gnn(checked, sizes: dict[str, int], activation: str = "relu",
                dtype: str = "float32") -> GNNArtifact:
    """`compile` of `checked` on its own, for this target's tests and tools: the program is
    lowered and analysed here (`compilation.standalone`), without the driver's refusals."""
    from nclang.compiler.compilation import standalone
    return standalone("gnn", checked, sizes, activation, dtype)


def compile(c: Compilation) -> GNNArtifact:
    """The GNN of a graph program, from the driver's lowering and value ranges."""
    checked, program, report = c.checked, c.program, c.ranges
    sizes, dtype = c.sizes, c.options.dtype
    np_dtype, bits = np.dtype(dtype), c.dtype.bits
    last = None
    for d in _HEADROOM:
        R = 2 ** (bits - d)
        try:
            builder = _Builder(checked, program, R, dtype)
            builder.run()
            break
        except _Inexact as err:
            last = err
    else:
        raise NclError.at(last.span, "not-exact",
                          f"the network for this value needs intermediates past 2^{bits}, "
                          f"where {dtype} stops being exact"
                          + (f"; compile for float64 (exact below {DTYPES['float64'].bound})"
                             if dtype == "float32" else ""))
    _check_ranges(checked, report, sizes, R, dtype)
    tensors = {k: v.astype(np_dtype) for k, v in builder.tensors.items()}
    architecture = {
        "family": "gnn", "activation": "relu", "dtype": dtype, "sizes": {},
        "design_bound": R,
        "value_bound": report.to_json().get("max_abs"),
        "program": builder.code,
        "values": builder.value_kinds,
        "stages": builder.stages,
        "depth": sum(len(s["layers"]) for s in builder.stages),
    }
    return GNNArtifact(tensors, architecture, {"inputs": builder.in_enc,
                                               "outputs": builder.out_enc})


class _Inexact(Exception):
    def __init__(self, span):
        self.span = span


def _check_ranges(checked, report, sizes, R: int, dtype: str) -> None:
    """Refuse when the program's proven values pass R at the given sizes (or, without sizes, at
    the smallest graph: then no input at all could run exactly)."""
    at_sizes = dict(sizes) if sizes else {"n": 1, "m": 0}
    value = report.value_at({"n": 1, "m": 0, **at_sizes})
    if value <= R:
        return
    at = ", ".join(f"{k} = {at_sizes[k]}" for k in sorted(at_sizes))
    v = report.max_value
    head = f"{v.name} reaches {show(v.magnitude)}" if v is not None else "a value grows"
    bits = 24 if dtype == "float32" else 53
    msg = (f"{head}, which passes {R} (2^{R.bit_length() - 1}) at {at}: {dtype} cannot compute "
           f"this network exactly (its gadgets need intermediates of at most 2^{bits})")
    msg += ("; compile for float64 (--dtype float64) or use smaller graphs"
            if dtype == "float32" else "")
    span = v.span if v is not None else checked.program.name_span
    raise NclError.at(span, "not-exact", msg)


def _dom(domain) -> list[str]:
    return [a.kind for a in domain]


def _unsupported(span, what: str) -> NclError:
    return NclError.at(span, "gnn-unsupported", f"the gnn target cannot compute {what}")


class _Builder:
    def __init__(self, checked, program: ir.Program, R: int, dtype: str):
        self.checked = checked
        self.program = program
        self.R = R
        self.dtype = dtype
        self.tensors: dict[str, np.ndarray] = {}
        self.stages: list[dict] = []
        self.code: list[dict] = []
        self.value_kinds: dict[str, str] = {}
        self.in_enc: list[dict] = []
        self.out_enc: list[dict] = []
        self.blocks: dict = {}
        self.defs: dict[int, object] = {}  # value id -> the IR op defining it
        self.next_id = ir.max_value_id(program) + 1  # fresh values of expanded ops

    def kind(self, v: ir.Value, span) -> str:
        try:
            k = kind_of(v.type)
        except Unsupported as err:
            raise _unsupported(span, str(err)) from None
        for axis in v.domain:
            if axis.kind not in ("node", "edge"):
                raise _unsupported(span, f"a value over a {axis.kind} axis")
        if sum(a.kind == "edge" for a in v.domain) > 1:
            raise _unsupported(span, "a value over two edge axes")
        if len(v.domain) > _MAX_AXES:
            # a value is held as one tensor of n (or m) per axis, and the file format and
            # runtime hold at most three: n^4 values for one pair statement is past them
            raise _unsupported(span, f"a value over {len(v.domain)} axes "
                                     f"({', '.join(a.kind for a in v.domain)}); its networks "
                                     f"hold values over at most {_MAX_AXES} (the statement's own "
                                     f"and those of the aggregations open there: a pair "
                                     f"statement may aggregate over one node at a time, not "
                                     f"nest an aggregation over nodes in another)")
        self.value_kinds[str(v.id)] = k
        return k

    def run(self) -> None:
        p = self.checked.program
        params = {prm.name: prm for prm in p.params}
        for prm in p.params:
            t = T.from_syntax(prm.type)
            if isinstance(t, T.Graph):
                self.in_enc.append({"name": prm.name, "type": pretty_type(prm.type),
                                    "kind": "graph"})
        self.code = self.block(self.program.ops, params)
        for (name, v), texpr in zip(self.program.results, p.results):
            self.out_enc.append({"name": name, "type": pretty_type(texpr),
                                 "kind": self.kind(v, p.name_span), "value": v.id,
                                 "domain": _dom(v.domain)})

    def block(self, ops, params) -> list[dict]:
        code = []
        for op in ops:
            if getattr(op, "out", None) is not None:
                self.defs[op.out.id] = op
            got = self.op(op, params)
            code.extend(got if isinstance(got, list) else [got])
        return code

    def op(self, op, params) -> dict:
        span = getattr(op, "span", A.NOSPAN)
        if isinstance(op, ir.Loop):
            return self.loop(op, params, span)
        out = op.out
        kind = self.kind(out, span)
        head = {"out": out.id, "dom": _dom(out.domain), "kind": kind}
        match op:
            case ir.Input(name=name, role=role):
                if role == "adjacency":
                    return {"op": "adjacency", **head}
                prm = params[name]
                self.in_enc.append({"name": name, "type": pretty_type(prm.type), "kind": kind,
                                    "value": out.id, "domain": _dom(out.domain)})
                return {"op": "input", "name": name, **head}
            case ir.Const(value=value):
                return {"op": "const", "value": _channels(value, kind), **head}
            case ir.Size(expr=expr):
                return {"op": "size", "expr": ir.format_size(expr), **head}
            case ir.Iota():
                if _dom(out.domain) != ["node"]:
                    raise _unsupported(span, "an index over this domain")
                return {"op": "iota", **head}
            case ir.Local(op=name, args=args):
                for a in args:
                    self.kind(a, span)
                return {"op": "mlp", "args": [a.id for a in args],
                        "stage": self.stage(name, args, out, span), **head}
            case ir.Broadcast(arg=arg, axes=axes):
                self.kind(arg, span)
                return {"op": "broadcast", "arg": arg.id, "arg_dom": _dom(arg.domain),
                        "axes": list(axes), "endpoints": [None] * len(axes), **head}
            case ir.EdgeGather(arg=arg, axes=axes, endpoints=ends):
                self.kind(arg, span)
                return {"op": "broadcast", "arg": arg.id, "arg_dom": _dom(arg.domain),
                        "axes": list(axes), "endpoints": list(ends), **head}
            case ir.Gather(table=table, index=index):
                if len(index) == 1 and _dom(table.domain) == ["node"] \
                        and _dom(out.domain) == ["node"]:
                    self.kind(table, span)
                    return {"op": "gather", "table": table.id, "index": index[0].id, **head}
                return self.gather_by_selection(op, span)
            case ir.Aggregate():
                return self.aggregate(op, head, span)
            case ir.Fold():
                raise _unsupported(span, "scan or reduce (a bits / sequence construct)")
        raise _unsupported(span, f"the op {type(op).__name__}")

    def loop(self, op: ir.Loop, params, span) -> list[dict]:
        """The loop, with each carried variable's start and next value in the encoding of the
        variable itself (its type joins every value it holds): a variable that starts finite
        and may become inf carries the (flag, value) channels from the first round on."""
        for c in op.carried:
            if c.param is not None:
                self.kind(c.param, span)
            self.kind(c.out, span)
        pre: list[dict] = []
        inits = []
        for c in op.carried:
            init = c.init
            if init is not None:
                init, lift = self.lifted(init, c.out, span)
                pre += lift
            inits.append(init)
        body = self.block(op.body, params)
        carried = []
        for c, init in zip(op.carried, inits):
            nxt, lift = self.lifted(c.next, c.out, span)
            body += lift
            carried.append({"name": c.name, "init": init.id if init is not None else None,
                            "param": c.param.id if c.param is not None else None,
                            "next": nxt.id, "out": c.out.id})
        return pre + [{"op": "loop", "count": ir.format_size(op.count),
                       "until_stable": op.until_stable, "carried": carried, "body": body}]

    def lifted(self, v: ir.Value, like: ir.Value, span) -> tuple[ir.Value, list[dict]]:
        """`v` in the encoding of `like` (a finite value as a flagged one), and the code for it."""
        want, have = self.kind(like, span), self.kind(v, span)
        if have == want or CHANNELS[have] == CHANNELS[want] == 1:
            # one channel is the integer itself, an index or an int alike
            return v, []
        out = self.fresh(v.domain, like.type, span)
        return out, [{"op": "mlp", "args": [v.id], "stage": self.stage("lift", [v], out, span),
                      "out": out.id, "dom": _dom(v.domain), "kind": want}]

    # ---- a read at node-valued indices, as selections: out = AGG(table[.., x, ..] for x in
    # nodes if x == index), which selects exactly one node (an index is a node, never none where
    # the interpreter reads it), so any AGG that returns its single element will do

    def fresh(self, domain, type_, span) -> ir.Value:
        v = ir.Value(self.next_id, tuple(domain), type_)
        self.next_id += 1
        self.kind(v, span)
        return v

    def gather_by_selection(self, op: ir.Gather, span) -> list[dict]:
        table, index, out = op.table, op.index, op.out
        tdom, odom = _dom(table.domain), _dom(out.domain)
        what = ("this read (a node or pair field read at node-valued indices, into a node or "
                "graph-level value; a pair field read at two computed nodes inside a node "
                "statement is not built)")
        if any(k != "node" for k in tdom) or odom not in ([], ["node"]) \
                or len(index) != len(tdom) or len(tdom) not in (1, 2):
            raise _unsupported(span, what)
        self.kind(table, span)
        for ix in index:
            self.kind(ix, span)
        code: list[dict] = []
        if odom == ["node"]:
            if len(tdom) != 2:
                raise _unsupported(span, what)
            iota = [isinstance(self.defs.get(ix.id), ir.Iota) for ix in index]
            if iota[0]:
                cur, other = table, index[1]
            elif iota[1]:
                cur = self.fresh(table.domain, table.type, span)
                code.append(self.broadcast_entry(cur, table, [1, 0]))
                other = index[0]
            else:
                raise _unsupported(span, what)
            code += self.select(cur, 1, other, out, span)
            return code
        # a graph-level read: select one table axis at a time, the first first
        cur = table
        for k, ix in enumerate(index):
            last = k == len(index) - 1
            nxt = out if last else self.fresh(cur.domain[1:], table.type, span)
            code += self.select(cur, 0, ix, nxt, span)
            cur = nxt
        return code

    def broadcast_entry(self, out: ir.Value, arg: ir.Value, axes: list[int]) -> dict:
        return {"op": "broadcast", "arg": arg.id, "arg_dom": _dom(arg.domain), "axes": axes,
                "endpoints": [None] * len(axes), "out": out.id, "dom": _dom(out.domain),
                "kind": self.value_kinds[str(out.id)]}

    def select(self, cur: ir.Value, axis: int, idx: ir.Value, out: ir.Value, span) -> list[dict]:
        """out = cur's element, along node axis `axis`, at idx (over cur's other axes)."""
        dom = cur.domain
        code = []
        node = self.fresh((ir.NODE,), T.Index(T.NODE), span)
        code.append({"op": "iota", "out": node.id, "dom": ["node"], "kind": "index"})
        j = self.fresh(dom, T.Index(T.NODE), span)
        code.append(self.broadcast_entry(j, node, [axis]))
        at = self.fresh(dom, idx.type, span)
        others = [a for a in range(len(dom)) if a != axis]
        code.append(self.broadcast_entry(at, idx, others if idx.domain else []))
        hit = self.fresh(dom, T.Bool(), span)
        code.append({"op": "mlp", "args": [j.id, at.id],
                     "stage": self.stage("eq", [j, at], hit, span), "out": hit.id,
                     "dom": _dom(dom), "kind": "bool"})
        kind = self.value_kinds[str(out.id)]
        agg = {"bool": "any", "int": "min", "index": "min", "pinf": "min", "ninf": "max"}[kind]
        code.append({"op": "aggregate", "agg": agg, "axis": axis, "group": None,
                     "kind_of": "nodes", "body_dom": _dom(dom), "body": cur.id,
                     "body_kind": self.value_kinds[str(cur.id)], "cond": hit.id, "elem": None,
                     "out": out.id, "dom": _dom(out.domain), "kind": kind})
        return code

    def aggregate(self, op: ir.Aggregate, head: dict, span) -> dict:
        if op.agg in ("mean", "only"):
            raise _unsupported(span, f"the aggregation '{op.agg}'")
        body_kind = self.kind(op.body, span) if op.body is not None else None
        if op.cond is not None:
            self.kind(op.cond, span)
        if op.elem is not None:
            self.kind(op.elem, span)
        if op.agg in ("sum",) and body_kind in ("pinf", "ninf"):
            raise _unsupported(span, "a sum of values that may be infinite")
        if op.agg in ("min", "argmin") and body_kind == "ninf" or \
                op.agg in ("max", "argmax") and body_kind == "pinf":
            raise _unsupported(span, _opposite_infinity(op, body_kind))
        if op.agg in ("min", "max") and head["kind"] not in ("pinf", "ninf", "int", "index"):
            raise _unsupported(span, f"{op.agg} into a {head['kind']} value")
        body_dom = _dom(op.body_domain)
        return {"op": "aggregate", "agg": op.agg, "axis": op.axis, "group": op.group,
                "kind_of": op.kind, "body_dom": body_dom,
                "body": op.body.id if op.body is not None else None,
                "body_kind": body_kind,
                "cond": op.cond.id if op.cond is not None else None,
                "elem": op.elem.id if op.elem is not None else None, **head}

    def stage(self, name: str, args, out, span) -> int:
        """The index of the stage (an MLP) computing Local `name`; identical constructions share
        nothing on purpose: each stage is one layer block of the network, named in the file."""
        try:
            blk = local_block(name, [a.type for a in args], out.type, self.R)
        except Unsupported as err:
            raise _unsupported(span, str(err)) from None
        except ValueError:
            # a gadget's own float64 check: too large a design bound for it
            raise _Inexact(span) from None
        try:
            G.check_exact(blk, np.dtype(self.dtype))
        except ValueError:
            raise _Inexact(span) from None
        k = len(self.stages)
        layers = []
        for j, L in enumerate(blk.layers):
            self.tensors[f"stages.{k}.layers.{j}.weight"] = L.W
            self.tensors[f"stages.{k}.layers.{j}.bias"] = L.b
            layers.append({"in": int(L.W.shape[1]), "out": int(L.W.shape[0]), "act": L.act})
        where = "message" if any(a.kind == "edge" for a in out.domain) else "update"
        self.stages.append({"op": name, "role": where, "domain": _dom(out.domain),
                            "layers": layers})
        return k


def _opposite_infinity(op: ir.Aggregate, body_kind: str) -> str:
    """Why a min (max) over values that may be -inf (+inf) is refused, in terms a user can act
    on: one value carries one infinity flag, and an empty min (max) already needs +inf (-inf).
    A value of unknown bounds (plain `int`) is encoded as possibly -inf, which users rarely
    mean: say so, and how to give it bounds."""
    t = op.body.type.elem if isinstance(op.body.type, T.Field) else op.body.type
    other, empty = ("-inf", "+inf") if body_kind == "ninf" else ("+inf", "-inf")
    why = (f"{op.agg} over values that may be {other} (their type is {t}), but an empty "
           f"{op.agg} gives {empty} and a value here carries only one kind of infinity")
    if isinstance(t, T.Int) and t.lo is None and t.hi is None:
        why += ("; a value of unknown bounds counts as possibly -inf: give it bounds, e.g. "
                "build it from bounded values (a literal, n, n + n, 100 * n) or clamp it with "
                "min/max")
    return why


def _channels(value, kind: str) -> list[int]:
    """A constant's channels (an infinite constant is the flag 0 with value 0)."""
    if kind in ("pinf", "ninf"):
        if isinstance(value, float) and np.isinf(value):
            return [0, 0]
        return [1, int(value)]
    if value is None:
        return [-1]
    return [int(value)]

