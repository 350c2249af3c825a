"""Finite functions: layered lookup tables, and one-hidden-layer ridge functions and tables
(`Shallow`), with the selects, extrema and picks built from them."""
from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .core import (BOOL, Block, Layer, Range, _ACT, _act, _make, _range)

# ---- lookup tables -----------------------------------------------------------------------------


def lookup(f: Callable[..., int], domains: Sequence[Range], act: str = "relu",
           max_table: int = 1 << 12) -> Block:
    """f(x_1, ..., x_k) for integers x_i in domains[i], f integer-valued.

    relu, k = 1: the piecewise-linear interpolant f(lo) + sum_v s_v relu(x - v) with integer slope
    changes s_v; it agrees with f at every integer of the domain. Depth 2.
    relu, k >= 2: per coordinate the hats hat(x_i - v) = relu(x_i - v + 1) - 2 relu(x_i - v)
    + relu(x_i - v - 1) (1 at x_i = v, 0 at other integers); per tuple t with f(t) != c0 (c0 the
    most common value) the indicator relu(sum_i hat(x_i - t_i) - k + 1), 1 exactly when x = t;
    out = c0 + sum_t (f(t) - c0) [x = t]. Depth 3.
    step (f into {0, 1}): ge_{i,v} = step(x_i - v), [x_i = v] = ge_{i,v} - ge_{i,v+1}; the tuple
    indicator step(sum_i [x_i = t_i] - k); out = OR of the indicators of f = 1 (or NOR of those of
    f = 0 when 1 is the common value). Depth 3."""
    _act(act)
    doms = [_range(d, "domain") for d in domains]
    k = len(doms)
    if k == 0:
        raise ValueError("lookup over no inputs")
    size = int(np.prod([h - l + 1 for l, h in doms], dtype=object))
    if size > max_table:
        raise ValueError(f"lookup over {' x '.join(str(list(d)) for d in doms)} has {size} "
                         f"entries; the limit is {max_table}")
    pts = list(itertools.product(*[range(l, h + 1) for l, h in doms]))
    vals = {}
    for t in pts:
        v = f(*t)
        if not (isinstance(v, (int, np.integer, bool, np.bool_))
                or (isinstance(v, float) and v.is_integer())):
            raise ValueError(f"lookup: f{t} = {v!r} is not an integer")
        vals[t] = int(v)
    if act == "step" and set(vals.values()) - {0, 1}:
        raise ValueError("step mode makes 0/1 outputs only; this table has other values")
    lo, hi = min(vals.values()), max(vals.values())
    count = Counter(vals.values())
    c0 = min(count, key=lambda v: (-count[v], v))
    if act == "relu" and k == 1:
        (l, h), = doms
        ys = [vals[(x,)] for x in range(l, h + 1)]
        slopes = np.diff(ys)
        coef = np.concatenate([slopes[:1], np.diff(slopes)]) if len(slopes) else np.zeros(0)
        vs = np.arange(l, l + len(coef))
        return _make([Layer(np.ones((len(vs), 1)), -vs, "relu"), Layer([coef], [ys[0]], "id")],
                     doms, [(lo, hi)])
    hot = [t for t in pts if vals[t] != c0]
    offs, units, b1 = [], [], []  # layer-1 units per coordinate
    for l, h in doms:
        offs.append(len(b1))
        us = range(l - 1, h + 1) if act == "relu" else range(l + 1, h + 1)
        units.append({u: len(b1) + j for j, u in enumerate(us)})
        b1 += [-u for u in us]
    W1 = np.zeros((len(b1), k))
    for i in range(k):
        W1[offs[i]:offs[i] + len(units[i]), i] = 1

    def eq_row(i, v):  # [x_i = v] as a row over layer-1 units
        r = np.zeros(len(b1))
        put = lambda u, c: u in units[i] and r.__setitem__(units[i][u], c)
        if act == "relu":
            put(v - 1, 1)
            put(v, -2)
            put(v + 1, 1)
        else:
            put(v, 1)
            put(v + 1, -1)
        return r, (1 if act == "step" and v == doms[i][0] else 0)  # ge_{lo} is the constant 1

    W2 = np.zeros((len(hot), len(b1)))
    b2 = np.full(len(hot), -(k - 1) if act == "relu" else -k, np.float64)
    for j, t in enumerate(hot):
        for i, v in enumerate(t):
            r, c = eq_row(i, v)
            W2[j] += r
            b2[j] += c
    L1 = Layer(W1, np.array(b1, np.float64), act)
    L2 = Layer(W2, b2, act, (0, 1))
    if act == "relu":
        L3 = Layer([[vals[t] - c0 for t in hot]], [c0], "id")
    elif c0 == 0:
        L3 = Layer(np.ones((1, len(hot))), [-1], "step")
    else:
        L3 = Layer(-np.ones((1, len(hot))), [0], "step")
    return _make([L1, L2, L3], doms, [(lo, hi)])


# ---- one hidden layer: ridge functions and finite tables ---------------------------------------
#
# A layered circuit builder (the MLP target) wants every gate to cost exactly one hidden layer,
# whatever the gate computes, so that network depth is a plain count of gates on a path. Any
# integer function of bounded integers has such a form: along a direction w on which the grid's
# points project injectively (mixed radix always works), f is a function g of the integer p = w.x,
# and g is exactly an integer combination of relu(p - t) (slope changes) or of step(p - t) (value
# changes). `Shallow` holds that layer plus a linear skip from the inputs, which a builder that
# keeps its inputs available applies for free.


@dataclass(frozen=True, eq=False)
class Shallow:
    """out = R @ act(W @ x + b) + S @ x + c: one hidden layer (`act` relu or step) and a linear
    skip S from the inputs. All coefficients are integers, so float evaluation is exact while
    the magnitudes stay below 2^24 (float32); `block()` checks that as any Block."""
    W: np.ndarray
    b: np.ndarray
    act: str
    R: np.ndarray
    c: np.ndarray
    S: np.ndarray
    inp: tuple[Range, ...]
    out: tuple[Range, ...]

    @property
    def n_units(self) -> int:
        return len(self.b)

    def __call__(self, x, dtype=np.float32) -> np.ndarray:
        x = np.asarray(x, dtype)
        h = _ACT[self.act](x @ self.W.astype(dtype).T + self.b.astype(dtype))
        return h @ self.R.astype(dtype).T + x @ self.S.astype(dtype).T + self.c.astype(dtype)

    def block(self) -> Block:
        """The same function as a two-layer Block: each skipped input crosses the hidden layer as
        relu(x - lo) (relu mode, + lo in the read-out) or as its thermometer code
        x = lo + sum_{lo < v <= hi} step(x - v) (step mode)."""
        W, b, R, c = [self.W], [self.b], [self.R], self.c.copy()
        for i, (lo, hi) in enumerate(self.inp):
            col = self.S[:, i]
            if not col.any():
                continue
            vs = [lo] if self.act == "relu" else list(range(lo + 1, hi + 1))
            e = np.zeros((len(vs), len(self.inp)))
            e[:, i] = 1
            W.append(e)
            b.append(-np.array(vs, np.float64))
            R.append(np.repeat(col[:, None], len(vs), 1))
            c = c + col * lo
        return _make([Layer(np.vstack(W), np.concatenate(b), self.act),
                      Layer(np.hstack(R), c, "id")], self.inp, self.out)


def interpolate(points: dict[int, int], act: str) -> tuple[list[int], list[int], int]:
    """(thresholds t, coefficients a, constant c0) with g(p) = c0 + sum_j a_j act(p - t_j) at every
    given integer point p (integer values). step: one unit per value change, at the next point
    (step(p - t) is 1 exactly from t on). relu: g is extended to every integer between the points,
    linearly across a gap when the slope is an integer, otherwise held and then jumping over the
    gap's last unit; then one unit relu(p - t) per slope change (relu(p - t) = p - t for p >= t)."""
    _act(act)
    ps = sorted(points)
    c0 = int(points[ps[0]])
    if act == "step":
        ts, cs = [], []
        for p, q in zip(ps, ps[1:]):
            if points[q] != points[p]:
                ts.append(q)
                cs.append(int(points[q] - points[p]))
        return ts, cs, c0
    vals = []
    for p, q in zip(ps, ps[1:]):
        vp, vq, gap = int(points[p]), int(points[q]), q - p
        if (vq - vp) % gap == 0:
            vals += [vp + (vq - vp) // gap * j for j in range(gap)]
        else:
            vals += [vp] * gap
    vals.append(int(points[ps[-1]]))
    ts, cs, prev = [], [], 0
    for j in range(len(vals) - 1):
        s = vals[j + 1] - vals[j]
        if s != prev:
            ts.append(ps[0] + j)
            cs.append(s - prev)
            prev = s
    return ts, cs, c0


def _span_of(w, doms) -> Range:
    lo = sum(min(a * l, a * h) for a, (l, h) in zip(w, doms))
    hi = sum(max(a * l, a * h) for a, (l, h) in zip(w, doms))
    return int(lo), int(hi)


def ridges(terms, domains: Sequence[Range], out: Range, act: str = "relu", skip=None,
           const: int = 0) -> Shallow:
    """const + skip.x + sum_j g_j(w_j.x) for integer x in `domains`, one hidden layer. Each term is
    (w, g): an integer direction and either a dict {p: g(p)} over (at least) the values w.x takes
    on the box, or a callable evaluated on every integer of w.x's range. `out` is the output range
    the caller proves (the tests check it by enumeration)."""
    act = _act(act)
    doms = [_range(d, "domain") for d in domains]
    rows, bias, coef, c = [], [], [], int(const)
    for w, g in terms:
        w = [int(v) for v in w]
        if len(w) != len(doms):
            raise ValueError(f"ridge direction {w} for {len(doms)} inputs")
        if callable(g):
            lo, hi = _span_of(w, doms)
            g = {p: g(p) for p in range(lo, hi + 1)}
        ts, cs, c0 = interpolate(g, act)
        c += c0
        for t, a in zip(ts, cs):
            rows.append(w)
            bias.append(-t)
            coef.append(a)
    n = len(doms)
    S = np.zeros((1, n)) if skip is None else np.asarray(skip, np.float64).reshape(1, n)
    return Shallow(np.array(rows, np.float64).reshape(len(rows), n), np.array(bias, np.float64),
                   act, np.array(coef, np.float64).reshape(1, len(coef)),
                   np.array([c], np.float64), S, tuple(doms), (_range(out),))


def ridge(g: Callable[[int], int], w, domains: Sequence[Range], act: str = "relu") -> Shallow:
    """g(w.x) for an integer function g, tabulated on w.x's range (e.g. a comparison [x - y >= 0]
    along w = (1, -1), or x mod 16 along w = (1,)); the output range is g's on that range."""
    doms = [_range(d, "domain") for d in domains]
    lo, hi = _span_of(w, doms)
    pts = {p: int(g(p)) for p in range(lo, hi + 1)}
    return ridges([(w, pts)], doms, (min(pts.values()), max(pts.values())), act)


def _directions(doms, n_points: int):
    """Candidate projections for `table`, best-first among equals: short integer directions
    (they find sums, differences and thresholds), then the mixed-radix ones (always injective)."""
    r = len(doms)
    if r == 1:
        return [(1,)]
    cands = []
    if n_points <= 4096 and r <= 4:
        for w in itertools.product(range(-2, 3), repeat=r):
            nz = [v for v in w if v]
            if nz and nz[0] > 0:
                cands.append(w)
        cands.sort(key=lambda w: (sum(map(abs, w)), [-v for v in w]))
    for order in (range(r), range(r - 1, -1, -1)):
        w, m = [0] * r, 1
        for i in order:
            w[i] = m
            m *= doms[i][1] - doms[i][0] + 1
        cands.append(tuple(w))
    return cands


def table(f: Callable[..., int], domains: Sequence[Range], act: str = "relu",
          max_points: int = 1 << 16) -> Shallow:
    """f(x_1, ..., x_r) for integers x_i in domains[i], f integer-valued, in ONE hidden layer (the
    depth-1 alternative to `lookup`): the direction w with the fewest units among `_directions`
    on which f is a function of p = w.x over the grid; then g(p) by `interpolate`. Exact at every
    grid point because each grid point's p carries exactly f's value there."""
    act = _act(act)
    doms = [_range(d, "domain") for d in domains]
    if not doms:
        raise ValueError("table over no inputs")
    size = math.prod(h - l + 1 for l, h in doms)
    if size > max_points:
        raise ValueError(f"a table over {' x '.join(str(list(d)) for d in doms)} has {size} "
                         f"entries; the limit is {max_points}")
    pts = np.array(list(itertools.product(*[range(l, h + 1) for l, h in doms])),
                   np.int64).reshape(size, len(doms))
    vals = []
    for t in pts.tolist():
        v = f(*t)
        if not (isinstance(v, (int, np.integer, bool, np.bool_))
                or (isinstance(v, float) and v.is_integer())):
            raise ValueError(f"table: f{tuple(t)} = {v!r} is not an integer")
        vals.append(int(v))
    vals = np.array(vals, np.int64)
    best = None
    for w in _directions(doms, size):
        p = pts @ np.array(w, np.int64)
        order = np.argsort(p, kind="stable")
        ps, vs = p[order], vals[order]
        same = ps[1:] == ps[:-1]
        if (vs[1:][same] != vs[:-1][same]).any():
            continue
        keep = np.concatenate([[True], ~same])
        points = dict(zip(ps[keep].tolist(), vs[keep].tolist()))
        units = len(interpolate(points, act)[0])
        score = (units, int(np.abs(ps).max(initial=0)))
        if best is None or score < best[0]:
            best = (score, w, points)
    _, w, points = best
    return ridges([(w, points)], doms, (int(vals.min()), int(vals.max())), act)


def select_shallow(a: Range, b: Range, act: str = "relu") -> Shallow:
    """c ? x : y, inputs (c, x, y), c in {0, 1}, in one hidden layer: as `select`,
    lo + g(x + Bc) + g'(y - Bc) with g(p) = relu(p - lo - B), g'(p) = relu(p - lo) (B = hi - lo):
    at c = 1 the first ridge is x - lo and the second sees y - B <= lo, so 0; symmetrically at
    c = 0. In step mode each ridge is its step table (B units)."""
    a, b = _range(a), _range(b)
    lo, hi = min(a[0], b[0]), max(a[1], b[1])
    B = hi - lo
    doms = [BOOL, a, b]
    return ridges([((B, 1, 0), lambda p: max(p - lo - B, 0)),
                   ((-B, 0, 1), lambda p: max(p - lo, 0))], doms, (lo, hi), act, const=lo)


def extremum_shallow(kind: str, a: Range, b: Range, act: str = "relu") -> Shallow:
    """max(x, y) = y + relu(x - y) or min(x, y) = x - relu(x - y) in one hidden layer, the
    untouched operand through the skip (relu: one unit; step: relu(d) is a staircase of step
    units, one per value of d above 0)."""
    a, b = _range(a), _range(b)
    if kind == "max":
        return ridges([((1, -1), lambda d: max(d, 0))], [a, b],
                      (max(a[0], b[0]), max(a[1], b[1])), act, skip=(0, 1))
    if kind == "min":
        return ridges([((1, -1), lambda d: -max(d, 0))], [a, b],
                      (min(a[0], b[0]), min(a[1], b[1])), act, skip=(1, 0))
    raise ValueError(f"extremum kind {kind!r} is not 'min' or 'max'")


def pick(a: Range, d: Range, t: int, act: str = "relu") -> Shallow:
    """x if d == t else 0, inputs (x, d), one hidden layer: the term of multiplexer entry t. With
    x' = x - lo in [0, R], B = R + 1 and e = d - t:
    x [e = 0] = lo [e = 0] + relu(x' + B e) - relu(x' + B (e - 1)) - B [e >= 1].
    e <= -1: both relus see at most R - B < 0. e = 0: x' - 0. e >= 1: the relus differ by B,
    which the last term removes. The d-only terms are one ridge on d. Unlike a `table` along a
    mixed-radix direction, whose units and slopes both grow with R times the range of d, this
    keeps the weights (and so the partial sums of whatever reads it) small."""
    a, d = _range(a), _range(d)
    lo, R = a[0], a[1] - a[0]
    B = R + 1
    terms = [((1, B), lambda p: max(p - lo - B * t, 0)),
             ((1, B), lambda p: -max(p - lo - B * (t + 1), 0)),
             ((0, 1), lambda v: lo * (v == t) - B * (v > t))]
    out = (min(a[0], 0), max(a[1], 0)) if d[0] <= t <= d[1] else (0, 0)
    return ridges(terms, [a, d], out, act)
