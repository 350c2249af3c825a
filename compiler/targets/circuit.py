"""A layered circuit of exact gates over bounded integers, and its assembly into MLP layers.

Values are `Form`s: an integer affine combination of *units* (network input channels, or neurons
`act(pre)` at some layer) with the interval the value provably lies in. Affine operations make
new forms and cost nothing; a gate (a `gadgets.Shallow`: one hidden layer plus a linear skip) puts
its neurons one layer after the latest unit its inputs read (ASAP), and its output is again a
form. Assembly then makes the network strictly layered: a unit read k layers after its own is
carried through the layers between by exact copies (relu(u) = u for a relu unit, which is never
negative; step(u - 1) = u for a 0/1 step unit; an input channel x in [lo, hi] by relu(x - lo)
plus lo, or by its thermometer code in step mode), and every form is rewritten over the units of
the layer that reads it.

Everything is ordered by unit ids, which are handed out in evaluation order, so the same circuit
gives the same matrices (no set or dict iteration order leaks into the weights).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from compiler import gadgets as G


@dataclass(frozen=True)
class Form:
    """c + sum coef * unit over `terms` (unit id, coef), sorted by unit id; value in [lo, hi];
    `layer`: the latest layer among its units (0 for inputs and constants)."""
    terms: tuple[tuple[int, int], ...]
    c: int
    lo: int
    hi: int
    layer: int = 0

    @property
    def is_const(self) -> bool:
        return not self.terms

    @property
    def range(self) -> tuple[int, int]:
        return (self.lo, self.hi)


def const(v: int) -> Form:
    v = int(v)
    return Form((), v, v, v, 0)


def lin(pairs, c: int = 0) -> Form:
    """c + sum a * form over `pairs` of (a, form), with the interval of the sum."""
    acc: dict[int, int] = {}
    lo = hi = int(c)
    c = int(c)
    layer = 0
    for a, f in pairs:
        a = int(a)
        if a == 0:
            continue
        c += a * f.c
        lo += min(a * f.lo, a * f.hi)
        hi += max(a * f.lo, a * f.hi)
        layer = max(layer, f.layer)
        for u, w in f.terms:
            acc[u] = acc.get(u, 0) + a * w
    terms = tuple((u, w) for u, w in sorted(acc.items()) if w != 0)
    if not terms:
        return const(c)
    return Form(terms, c, lo, hi, layer)


def clip(f: Form, lo: int, hi: int) -> Form:
    """`f` with the tighter interval a construction proves (it never widens)."""
    lo, hi = max(f.lo, lo), min(f.hi, hi)
    if f.is_const:
        return f
    return Form(f.terms, f.c, lo, hi, f.layer)


@dataclass
class Unit:
    layer: int
    act: str          # "input", "relu" or "step"
    pre: Form | None  # over units of earlier layers (None for an input channel)
    lo: int
    hi: int
    origin: object = None  # the source span the unit was built for (for refusals)
    copy: bool = False     # made by assembly to carry another unit one layer further


class ExactnessError(Exception):
    """A neuron whose partial sums may pass the dtype's exact-integer range."""

    def __init__(self, magnitude: float, origin):
        super().__init__(magnitude)
        self.magnitude = magnitude
        self.origin = origin


@dataclass
class Layers:
    """The assembled network: per layer (W (out, in), b, act), and the largest magnitude any
    weight, input, partial sum or pre-activation can take."""
    layers: list[tuple[np.ndarray, np.ndarray, str]]
    magnitude: float
    worst: object = None
    natural_depth: int = 0  # layers without padding to a requested depth (read-out included)


@dataclass
class Circuit:
    mode: str  # "relu" or "step"
    units: list[Unit] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)

    # ---- building

    def input(self, lo: int, hi: int) -> Form:
        u = len(self.units)
        self.units.append(Unit(0, "input", None, lo, hi))
        self.inputs.append(u)
        return Form(((u, 1),), 0, lo, hi, 0) if lo != hi else const(lo)

    def _unit(self, layer: int, act: str, pre: Form, origin) -> int:
        if act == "relu":
            lo, hi = max(pre.lo, 0), max(pre.hi, 0)
        else:
            lo, hi = int(pre.lo >= 0), int(pre.hi >= 0)
        self.units.append(Unit(layer, act, pre, lo, hi, origin))
        return len(self.units) - 1

    def gate(self, sh: G.Shallow, args: list[Form], origin=None) -> Form:
        """The gadget's hidden layer one layer after its latest input, and its output form."""
        layer = 1 + max((a.layer for a in args), default=0)
        hidden = []
        for j in range(sh.n_units):
            pre = lin(zip(sh.W[j], args), sh.b[j])
            if pre.is_const:  # a unit of constants is a constant: no neuron needed
                v = pre.c
                hidden.append(const(max(v, 0) if sh.act == "relu" else int(v >= 0)))
                continue
            u = self._unit(layer, sh.act, pre, origin)
            unit = self.units[u]
            hidden.append(Form(((u, 1),), 0, unit.lo, unit.hi, layer))
        out = lin(list(zip(sh.R[0], hidden)) + list(zip(sh.S[0], args)), sh.c[0])
        return clip(out, *sh.out[0])

    # ---- assembly

    def assemble(self, outputs: list[Form], min_hidden: int, final: str,
                 limit: float) -> Layers:
        """Layers reading the input channels (in `input` order) and writing `outputs`: at least
        `min_hidden` hidden layers (results ready earlier are carried), then a read-out layer
        `final` ("id", or "step": step(form - 1) for 0/1 outputs). In step mode, when every
        output is one neuron of the last hidden layer, that layer is the output layer. Raises
        ExactnessError when a magnitude reaches `limit`."""
        natural = max((f.layer for f in outputs), default=0)
        H = max(natural, min_hidden)
        live = self._live(outputs)
        self._at: dict[tuple[int, int], Form] = {}
        rows: dict[int, Form] = {}  # unit -> its pre-activation over the previous layer
        for u in sorted(live):
            unit = self.units[u]
            if unit.act != "input":
                rows[u] = self._carry(unit.pre, unit.layer - 1)
        outs = [self._carry(f, H) for f in outputs]
        # copies made while carrying are rows too
        for u in range(len(self.units)):
            unit = self.units[u]
            if unit.copy and u not in rows:
                rows[u] = unit.pre
        by_layer: list[list[int]] = [list(self.inputs)] + [[] for _ in range(H)]
        for u in sorted(rows):
            by_layer[self.units[u].layer].append(u)
        elide = (self.mode == "step" and final == "step" and H >= 1 and outs
                 and all(len(f.terms) == 1 and f.terms[0][1] == 1 and f.c == 0
                         and self.units[f.terms[0][0]].layer == H for f in outs))
        col = {}
        for ids in by_layer:
            for j, u in enumerate(ids):
                col[u] = j
        mag, worst = max((max(abs(self.units[u].lo), abs(self.units[u].hi))
                          for u in self.inputs), default=0), None
        layers = []
        for ell in range(1, H + 1):
            ids = by_layer[ell]
            if elide and ell == H:
                ids = [f.terms[0][0] for f in outs]
            n_in = max(len(by_layer[ell - 1]), 1)
            W = np.zeros((max(len(ids), 1), n_in))
            b = np.zeros(max(len(ids), 1))
            act = self.mode
            for i, u in enumerate(ids):
                W[i], b[i], m = self._row(rows[u], col, ell - 1, n_in)
                if m > mag:
                    mag, worst = m, self.units[u].origin
            layers.append((W, b, act))
        if not elide:
            n_in = max(len(by_layer[H]), 1)
            W = np.zeros((len(outs), n_in))
            b = np.zeros(len(outs))
            for i, f in enumerate(outs):
                W[i], b[i], m = self._row(f, col, H, n_in)
                if final == "step":
                    b[i] -= 1
                    m += 1
                if m > mag:
                    mag, worst = m, None
            layers.append((W, b, final))
        if mag >= limit:
            raise ExactnessError(mag, worst)
        return Layers(layers, float(mag), worst, natural + (0 if elide and natural == H else 1))

    def _row(self, f: Form, col: dict[int, int], layer: int, n_in: int):
        w = np.zeros(n_in)
        m = abs(f.c)
        for u, a in f.terms:
            assert self.units[u].layer == layer, "a form read across layers"
            w[col[u]] = a
            unit = self.units[u]
            m += abs(a) * max(abs(unit.lo), abs(unit.hi))
            m = max(m, abs(a))
        return w, float(f.c), m

    def _live(self, outputs: list[Form]) -> set[int]:
        live: set[int] = set()
        stack = [u for f in outputs for u, _ in f.terms]
        while stack:
            u = stack.pop()
            if u in live:
                continue
            live.add(u)
            pre = self.units[u].pre
            if pre is not None:
                stack.extend(v for v, _ in pre.terms)
        return live

    def _carry(self, f: Form, layer: int) -> Form:
        """`f` rewritten over the units of `layer` (every unit of f is at `layer` or earlier)."""
        if f.is_const:
            return f
        out = lin([(a, self._unit_at(u, layer)) for u, a in f.terms], f.c)
        return Form(out.terms, out.c, f.lo, f.hi, layer) if out.terms else out

    def _unit_at(self, u: int, layer: int) -> Form:
        unit = self.units[u]
        if unit.layer == layer:
            return Form(((u, 1),), 0, unit.lo, unit.hi, layer)
        key = (u, layer)
        if key in self._at:
            return self._at[key]
        # walk up from the unit's own layer, one copy per layer, memoised
        ell = unit.layer
        cur = Form(((u, 1),), 0, unit.lo, unit.hi, ell)
        while ell < layer:
            ell += 1
            if (u, ell) in self._at:
                cur = self._at[(u, ell)]
                continue
            cur = lin([(a, self._copy(v, ell)) for v, a in cur.terms], cur.c)
            cur = Form(cur.terms, cur.c, unit.lo, unit.hi, ell)
            self._at[(u, ell)] = cur
        return cur

    def _copy(self, v: int, layer: int) -> Form:
        """Unit v (at layer - 1) as a form over new units at `layer`."""
        key = (-1 - v, layer)
        if key in self._at:
            return self._at[key]
        src = self.units[v]
        one = Form(((v, 1),), 0, src.lo, src.hi, layer - 1)
        parts = []
        if src.act == "input" and self.mode == "relu":
            parts.append((1, self._new_copy(layer, "relu", lin([(1, one)], -src.lo), src)))
            res = lin(parts, src.lo)
        elif src.act == "input":  # thermometer code: x = lo + sum_{lo < t <= hi} step(x - t)
            for t in range(src.lo + 1, src.hi + 1):
                parts.append((1, self._new_copy(layer, "step", lin([(1, one)], -t), src)))
            res = lin(parts, src.lo)
        elif src.act == "relu":
            res = self._new_copy(layer, "relu", one, src)
        else:
            res = self._new_copy(layer, "step", lin([(1, one)], -1), src)
        self._at[key] = res
        return res

    def _new_copy(self, layer: int, act: str, pre: Form, src: Unit) -> Form:
        u = self._unit(layer, act, pre, src.origin)
        unit = self.units[u]
        unit.copy = True
        return Form(((u, 1),), 0, unit.lo, unit.hi, layer)
