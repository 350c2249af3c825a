"""A layered circuit of exact gates over bounded integers, and its assembly into MLP layers.

Values are `Form`s: an integer affine combination of *units* (network input channels, or neurons
`act(pre)` at some layer) with the interval the value provably lies in. Affine operations make
new forms and cost nothing; a gate (a `gadgets.Shallow`: one hidden layer plus a linear skip) puts
its neurons one layer after the latest unit its inputs read (ASAP), and its output is again a
form. Assembly first schedules the neurons again, as late as their readers allow and then whole
gates earlier where that carries less (the depth stays; the width is what moves), then makes the
network strictly layered: a value read k layers after it is made is carried through the layers
between by exact copies (relu(u) = u for a relu unit, which is never negative; step(u - 1) = u
for a 0/1 step unit; an input channel x in [lo, hi] by relu(x - lo) plus lo, or by its
thermometer code in step mode; a sum of several units as one neuron relu(f - lo)), and every
form is rewritten over the units of the layer that reads it.

Everything is ordered by unit ids, which are handed out in evaluation order, so the same circuit
gives the same matrices (no set or dict iteration order leaks into the weights).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nclang.compiler import gadgets as G


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
    copy: bool = False     # made by assembly to carry a value one layer further
    # a gate neuron's pre-activation as the gadget wrote it, bias + sum w * arg over (w, arg)
    # pairs: assembly carries each argument as a whole value (`pre` is its expansion over units)
    pairs: tuple[tuple[int, Form], ...] = ()
    bias: int = 0
    gate: int = -1  # the first unit of the gate this neuron belongs to


class TooLargeError(Exception):
    """The network would pass a size limit: `what` ("neurons", "parameters"), how many it needs
    at least (`count`), and the limit."""

    def __init__(self, what: str, count: int, limit: int):
        super().__init__(f"{count} {what}, past the limit of {limit}")
        self.what, self.count, self.limit = what, count, limit


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
    # refuse (TooLargeError) rather than build past these: neurons (inputs and copies included)
    # and dense weight entries; checked as the circuit grows and before any matrix is allocated,
    # so a huge size stops in seconds instead of exhausting memory
    max_units: int | None = None
    max_params: int | None = None

    def _grow(self) -> None:
        if self.max_units is not None and len(self.units) >= self.max_units:
            raise TooLargeError("neurons", len(self.units) + 1, self.max_units)

    # ---- building

    def input(self, lo: int, hi: int) -> Form:
        self._grow()
        u = len(self.units)
        self.units.append(Unit(0, "input", None, lo, hi))
        self.inputs.append(u)
        return Form(((u, 1),), 0, lo, hi, 0) if lo != hi else const(lo)

    def _unit(self, layer: int, act: str, pre: Form, origin) -> int:
        self._grow()
        if act == "relu":
            lo, hi = max(pre.lo, 0), max(pre.hi, 0)
        else:
            lo, hi = int(pre.lo >= 0), int(pre.hi >= 0)
        self.units.append(Unit(layer, act, pre, lo, hi, origin))
        return len(self.units) - 1

    def gate(self, sh: G.Shallow, args: list[Form], origin=None) -> Form:
        """The gadget's hidden layer one layer after its latest input, and its output form."""
        layer = 1 + max((a.layer for a in args), default=0)
        first = len(self.units)
        hidden = []
        for j in range(sh.n_units):
            pre = lin(zip(sh.W[j], args), sh.b[j])
            if pre.is_const:  # a unit of constants is a constant: no neuron needed
                v = pre.c
                hidden.append(const(max(v, 0) if sh.act == "relu" else int(v >= 0)))
                continue
            u = self._unit(layer, sh.act, pre, origin)
            unit = self.units[u]
            unit.pairs = tuple((int(w), a) for w, a in zip(sh.W[j], args)
                               if int(w) != 0 and not a.is_const)
            unit.gate = first
            unit.bias = int(sh.b[j]) + sum(int(w) * a.c for w, a in zip(sh.W[j], args)
                                           if a.is_const)
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
        base = len(self.units)
        # whether every output is one 0/1 neuron, decided on the outputs as built: carrying can
        # turn a sum into one neuron, and that must not change the depth
        single = all(len(f.terms) == 1 and f.terms[0][1] == 1 and f.c == 0 for f in outputs)
        try:
            self._lay = self._schedule(live, outputs, H)
            self._at: dict[tuple[int, int], Form] = {}
            self._held: dict[tuple, Form] = {}
            rows: dict[int, Form] = {}  # unit -> its pre-activation over the previous layer
            for u in sorted(live):
                unit = self.units[u]
                if unit.act == "input":
                    continue
                ell = self._lay[u] - 1
                if unit.pairs:
                    rows[u] = lin([(w, self._carry_value(a, ell)) for w, a in unit.pairs],
                                  unit.bias)
                else:
                    rows[u] = self._carry(unit.pre, ell)
            outs = [self._carry_value(f, H) for f in outputs]
            # copies made while carrying are rows too
            for u in range(base, len(self.units)):
                rows[u] = self.units[u].pre
            return self._layers(rows, outs, H, natural, final, limit, single)
        finally:
            # the copies belong to this assembly only: the circuit stays as built, so assembling
            # it again gives the same network
            del self.units[base:]

    def _layers(self, rows, outs, H, natural, final, limit, single) -> Layers:
        by_layer: list[list[int]] = [list(self.inputs)] + [[] for _ in range(H)]
        for u in sorted(rows):
            by_layer[self._layer(u)].append(u)
        elide = (self.mode == "step" and final == "step" and H >= 1 and outs and single
                 and all(len(f.terms) == 1 and f.terms[0][1] == 1 and f.c == 0
                         and self._layer(f.terms[0][0]) == H for f in outs))
        if self.max_params is not None:
            widths = [max(len(ids), 1) for ids in by_layer]
            total = sum(a * b for a, b in zip(widths, widths[1:])) + \
                (0 if elide else len(outs) * widths[-1])
            if total > self.max_params:
                raise TooLargeError("parameters", total, self.max_params)
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
            assert self._layer(u) == layer, "a form read across layers"
            w[col[u]] = a
            unit = self.units[u]
            m += abs(a) * max(abs(unit.lo), abs(unit.hi))
            m = max(m, abs(a))
        return w, float(f.c), m

    def _layer(self, u: int) -> int:
        """The layer unit u is placed at in this assembly (a copy is made at its own layer)."""
        return self._lay.get(u, self.units[u].layer)

    def _schedule(self, live: set[int], outputs: list[Form], H: int) -> dict[int, int]:
        """The layer of every live unit: as late as its readers allow (ALAP), the outputs' units
        at H. Building placed each gate as early as its inputs allow (ASAP); a value computed
        early and read late is carried by one copy per layer between, and there are many more
        gate results than inputs (multiply's k^2 partial products against its 2k input bits),
        so computing a gate just before it is read carries the few values it reads instead of
        the many it makes. Readers have larger unit ids than what they read, so one pass in
        decreasing id order settles every unit after all its readers."""
        latest: dict[int, int] = {}
        for f in outputs:
            for u, _ in f.terms:
                latest[u] = H
        lay: dict[int, int] = {}
        for u in sorted(live, reverse=True):
            unit = self.units[u]
            if unit.act == "input":
                lay[u] = 0
                continue
            lay[u] = latest[u]
            assert lay[u] >= unit.layer, "a unit scheduled before its inputs"
            for v in self._reads(u):
                latest[v] = min(latest.get(v, lay[u] - 1), lay[u] - 1)
        self._earlier(lay, live, outputs, H)
        return lay

    def _hold_width(self, f: Form) -> int:
        """Neurons per layer that carrying `f` takes (see `_carry_value`)."""
        if len(f.terms) < 2:
            return 1
        return min(len(f.terms), 1 if self.mode == "relu" else f.hi - f.lo)

    def _earlier(self, lay: dict[int, int], live: set[int], outputs: list[Form], H: int):
        """Moves whole gates earlier than ALAP where that carries fewer neurons: a gate that is
        the last reader of values wider than its own result (an xor of two input bits whose
        result waits for a carry chain) is better computed at once and its result carried.
        The carrying cost of a value is its width times the layers between its latest unit and
        its last reader; each gate, in building order (so what it reads is settled), takes the
        layer in [earliest its arguments allow, ALAP] that minimises the cost of the values it
        reads and the values made of its neurons, the latest on ties. Moving a gate earlier
        never passes a reader, so the schedule stays valid."""
        def key(f: Form):
            return f.terms[0][0] if len(f.terms) == 1 else (f.terms, f.c, f.lo, f.hi)

        groups: dict[int, list[int]] = {}
        for u in sorted(live):
            unit = self.units[u]
            if unit.act != "input":
                groups.setdefault(unit.gate if unit.pairs else -1 - u, []).append(u)
        value: dict = {}
        readers: dict = {}
        args: dict[int, list] = {}
        for g, us in groups.items():
            ks = []
            for u in us:
                for _, a in self.units[u].pairs:
                    k = key(a)
                    value[k] = a
                    if g not in readers.setdefault(k, []):
                        readers[k].append(g)
                    if k not in ks:
                        ks.append(k)
            args[g] = ks
        read_out = set()
        for f in outputs:
            if f.terms:
                value[key(f)] = f
                read_out.add(key(f))
        holds: dict[int, list] = {}
        for k, f in value.items():
            for u, _ in f.terms:
                holds.setdefault(u, []).append(k)
        at = {g: lay[us[0]] for g, us in groups.items()}

        def cost(k, moved=None, to=0):
            f = value[k]
            top = max(to if self.units[u].gate == moved else lay[u] for u, _ in f.terms)
            last = H if k in read_out else 0
            for g in readers.get(k, ()):
                last = max(last, (to if g == moved else at[g]) - 1)
            return self._hold_width(f) * max(0, last - top)

        for g, us in groups.items():
            if g < 0 or any(lay[u] != at[g] for u in us):
                continue
            L = at[g]
            touched = list(dict.fromkeys(args[g] + [k for u in us for k in holds.get(u, ())]))
            E = 1 + max((lay[u] for k in args[g] for u, _ in value[k].terms), default=0)
            if E >= L:
                continue
            cands = {E}
            for k in touched:
                f = value[k]
                for u, _ in f.terms:
                    if E <= lay[u] < L and self.units[u].gate != g:
                        cands.add(lay[u])
                for h in readers.get(k, ()):
                    if h != g and E <= at[h] < L:
                        cands.add(at[h])
            now = sum(cost(k) for k in touched)
            best, to = now, L
            for c in sorted(cands, reverse=True):
                new = sum(cost(k, g, c) for k in touched)
                if new < best:
                    best, to = new, c
            if to != L:
                at[g] = to
                for u in us:
                    lay[u] = to
        for u in live:
            for v in self._reads(u):
                assert lay[v] < lay[u], "a unit scheduled after a reader"

    def _reads(self, u: int) -> list[int]:
        """The units unit u's row is built from: every unit of every argument it carries (a
        superset of its pre's, whose sum may cancel a unit that carrying still reads)."""
        unit = self.units[u]
        if unit.pairs:
            return [v for _, a in unit.pairs for v, _ in a.terms]
        return [v for v, _ in unit.pre.terms] if unit.pre is not None else []

    def _live(self, outputs: list[Form]) -> set[int]:
        live: set[int] = set()
        stack = [u for f in outputs for u, _ in f.terms]
        while stack:
            u = stack.pop()
            if u in live:
                continue
            live.add(u)
            stack.extend(self._reads(u))
        return live

    def _carry_value(self, f: Form, layer: int) -> Form:
        """`f` over the units of `layer`, carried as one value: a sum of several units made
        before `layer` is computed once into a neuron of its own (relu(f - lo), exact as f >= lo
        is proven; in step mode its thermometer code, exact as f is an integer in [lo, hi]),
        and that neuron is carried, when that takes fewer neurons per layer than carrying each
        of its units (a two-unit gate result carried across a round of multiply is then one
        copy per layer, not two)."""
        if len(f.terms) < 2:
            return self._carry(f, layer)
        top = max(self._layer(u) for u, _ in f.terms)
        width = 1 if self.mode == "relu" else f.hi - f.lo
        if top >= layer or width >= len(f.terms):
            return self._carry(f, layer)
        key = (f.terms, f.c, f.lo, f.hi)
        held = self._held.get(key)
        if held is None:
            g = self._carry(f, top)
            if self.mode == "relu":
                pre = Form(g.terms, g.c - f.lo, 0, f.hi - f.lo, top)
                parts = [(1, self._new_unit(top + 1, "relu", pre, None))]
            else:
                parts = [(1, self._new_unit(top + 1, "step",
                                            Form(g.terms, g.c - t, f.lo - t, f.hi - t, top),
                                            None))
                         for t in range(f.lo + 1, f.hi + 1)]
            held = lin(parts, f.lo)
            held = Form(held.terms, held.c, f.lo, f.hi, top + 1)
            self._held[key] = held
        return self._carry(held, layer)

    def _carry(self, f: Form, layer: int) -> Form:
        """`f` rewritten over the units of `layer` (every unit of f is at `layer` or earlier)."""
        if f.is_const:
            return f
        out = lin([(a, self._unit_at(u, layer)) for u, a in f.terms], f.c)
        return Form(out.terms, out.c, f.lo, f.hi, layer) if out.terms else out

    def _unit_at(self, u: int, layer: int) -> Form:
        unit = self.units[u]
        if self._layer(u) == layer:
            return Form(((u, 1),), 0, unit.lo, unit.hi, layer)
        key = (u, layer)
        if key in self._at:
            return self._at[key]
        # walk up from the unit's own layer, one copy per layer, memoised
        ell = self._layer(u)
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
        return self._new_unit(layer, act, pre, src.origin)

    def _new_unit(self, layer: int, act: str, pre: Form, origin) -> Form:
        """A neuron made by assembly, to carry a value (one of its units, or the whole sum)."""
        u = self._unit(layer, act, pre, origin)
        unit = self.units[u]
        unit.copy = True
        return Form(((u, 1),), 0, unit.lo, unit.hi, layer)
