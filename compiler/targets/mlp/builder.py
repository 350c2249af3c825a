"""The builder: the IR evaluated once over symbolic values at fixed sizes (loops unrolled,
counters constant), each op dispatched to the gate or fold mixin, into one `circuit.Circuit`."""
from __future__ import annotations

import math

import numpy as np

from nclang.compiler import ir
from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError
from nclang.dsl.pretty import pretty_type

from .circuit import Circuit, Form, const
from .folds import Flagged, FoldMixin
from .gates import GateMixin
from .refusals import NONE, _unsupported


class MLPCircuitBuilder(GateMixin, FoldMixin):
    def __init__(self, checked, program: ir.Program, sizes, act: str, max_units: int,
                 max_params: int):
        self.checked = checked
        self.program = program
        self.sizes = sizes
        self.act = act
        self.circuit = Circuit(act, max_units=max_units, max_params=max_params)
        self.static = ir.static_values(program.ops)
        self.env: dict[ir.Value, np.ndarray] = {}
        self.tables: dict = {}
        self.in_enc: list[dict] = []
        self.out_enc: list[dict] = []
        self.output_kinds: list[str] = []
        self.refusals: list | None = None  # collecting every refusal instead of the first

    # ---- plumbing

    def size(self, expr) -> int:
        return ir.size_int(expr, self.sizes)

    def shape(self, domain) -> tuple[int, ...]:
        return tuple(max(self.size(a.size), 0) for a in domain)

    def get(self, v: ir.Value) -> np.ndarray:
        return self.env[v]

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
                try:
                    lo, hi = self.input_range(op, prm)
                except NclError as err:
                    if self.refusals is None:
                        raise
                    self.refuse(err)
                    lo, hi = 0, 0
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
            if isinstance(op, ir.Loop) and self.refusals is not None:
                try:
                    self.loop(op)
                except NclError as err:
                    self.refuse(err)
                    for c in op.carried:
                        self.env[c.out] = self.stand_in(c.out)
            elif isinstance(op, ir.Loop):
                self.loop(op)
            elif self.refusals is None:
                self.env[op.out] = self.op(op)
            else:
                try:
                    self.env[op.out] = self.op(op)
                except NclError as err:
                    self.refuse(err)
                    self.env[op.out] = self.stand_in(op.out)

    def refuse(self, err: NclError) -> None:
        """Record a refusal (once per span: a stand-in may be refused again downstream)."""
        seen = {(d.line, d.col) for d in self.refusals}
        self.refusals += [d for d in err.diagnostics if (d.line, d.col) not in seen]

    def stand_in(self, v: ir.Value) -> np.ndarray:
        """A constant of v's type and shape, so that the rest of the program is still tried
        (nothing is built from it: the refusals are raised at the end)."""
        shape = self.shape(v.domain)
        out = np.empty(shape, object)
        for idx in np.ndindex(*shape):
            out[idx] = self.fill(v.type)
        return out

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

