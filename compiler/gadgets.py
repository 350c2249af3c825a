"""Exact gadgets: small layered networks that compute Boolean logic, comparisons, min/max,
selection, bounded-integer arithmetic and finite lookup tables EXACTLY on declared input ranges.
All three targets build their local computation from these, so each construction is proved once.

A `Block` is a list of `Layer`s, each `y = act(W @ x + b)` with `W` in `torch.nn.Linear` layout
(out, in), plus the integer box its inputs may range over (`inp`) and the box its outputs are
guaranteed to lie in (`out`). Activations: `relu`, `id`, and `step` (Heaviside, step(0) = 1).

ReLU-mode gadgets end in an `id` layer (an affine read-out); `chain` folds that read-out into the
next block's first layer, so composing costs no depth. Step-mode gadgets use integer weights and
step activations only, ending in a step layer, so a Boolean program becomes a threshold circuit.

Why float32 is exact (the argument every gadget docstring relies on): inputs are integers in the
declared box and all weights and biases are integers, so every exact intermediate value (product,
partial sum in ANY accumulation order, pre-activation) is an integer. A float32 operation whose
exact result is an integer of magnitude below 2^24 returns that integer, because such integers
are representable and IEEE rounding of a representable result is the identity. `bound` gives a
number no intermediate can exceed in magnitude (for every neuron |b| + sum |W_ij| max|x_j|, which
bounds every partial sum and product); `check_exact` refuses a block whose bound reaches 2^24
(float32) or 2^53 (float64). relu and step are exact on any float.
"""
from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from nclang.compiler.targets.registry import DTYPES

Range = tuple[int, int]
BOOL: Range = (0, 1)
ACTS = ("relu", "step", "id")
# the registry's dtypes by their numpy type: every integer below the limit is exact
EXACT_LIMIT = {np.dtype(name): d.limit for name, d in DTYPES.items()}


@dataclass(frozen=True, eq=False)
class Layer:
    W: np.ndarray  # (out, in), float64 holding integers
    b: np.ndarray  # (out,)
    act: str
    # (lo, hi) the construction proves for this layer's outputs on the block's input box, where
    # interval arithmetic alone would lose a correlation (e.g. relu(y - v + 1) - relu(y - v) is in
    # [0, 1], not [-|y|, |y|]); tested, and `bound` intersects it with interval arithmetic
    box: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self):
        W, b = np.asarray(self.W, np.float64), np.asarray(self.b, np.float64)
        if W.ndim != 2 or b.shape != (W.shape[0],) or self.act not in ACTS:
            raise ValueError(f"bad layer: W {W.shape}, b {b.shape}, act {self.act!r}")
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "b", b)
        if self.box is not None:
            box = tuple(np.broadcast_to(np.asarray(v, np.float64), b.shape) for v in self.box)
            object.__setattr__(self, "box", box)


@dataclass(frozen=True, eq=False)
class Block:
    layers: tuple[Layer, ...]
    inp: tuple[Range, ...]
    out: tuple[Range, ...]

    @property
    def n_in(self) -> int: return len(self.inp)
    @property
    def n_out(self) -> int: return len(self.out)
    @property
    def depth(self) -> int: return len(self.layers)
    @property
    def widths(self) -> list[int]: return [L.W.shape[0] for L in self.layers]
    @property
    def acts(self) -> list[str]: return [L.act for L in self.layers]

    def __call__(self, x, dtype=np.float32) -> np.ndarray:
        """Evaluate on x of shape (..., n_in) in `dtype`, as torch would."""
        return self.trace(x, dtype)[-1]

    def trace(self, x, dtype=np.float32) -> list[np.ndarray]:
        """[input, pre-activation 0, output 0, pre-activation 1, output 1, ...]."""
        out = [np.asarray(x, dtype)]
        for L in self.layers:
            z = out[-1] @ L.W.astype(dtype).T + L.b.astype(dtype)
            out += [z, _ACT[L.act](z)]
        return out

    def tensors(self, prefix: str = "") -> dict[str, np.ndarray]:
        """float32 weights named `{prefix}{i}.weight` / `{prefix}{i}.bias`, i the layer index."""
        t = {}
        for i, L in enumerate(self.layers):
            t[f"{prefix}{i}.weight"] = L.W.astype(np.float32)
            t[f"{prefix}{i}.bias"] = L.b.astype(np.float32)
        return t


_ACT = {"relu": lambda z: np.maximum(z, 0), "id": lambda z: z,
        "step": lambda z: (z >= 0).astype(z.dtype)}


# ---- exactness ---------------------------------------------------------------------------------

def _box(ranges) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([r[0] for r in ranges], np.float64).reshape(-1),
            np.array([r[1] for r in ranges], np.float64).reshape(-1))


def _affine_box(W, b, lo, hi):
    P, N = np.maximum(W, 0), np.minimum(W, 0)
    return P @ lo + N @ hi + b, P @ hi + N @ lo + b


def bound(block: Block) -> float:
    """An upper bound on |v| for every value v a float evaluation of `block` forms on its input box:
    inputs, weights, products, partial sums (in any order) and pre-activations."""
    lo, hi = _box(block.inp)
    m = float(np.abs(np.concatenate([lo, hi])).max(initial=0))
    for L in block.layers:
        # a partial sum of W_i·x + b_i is some positive terms plus some negative ones, so it lies
        # between minus the sum of the negative terms' largest magnitudes and the sum of the
        # positive terms' largest values (tighter than Σ|W||x| where terms cancel, as in a
        # flagged min: -B·fa + va + B·fb - vb)
        ends = np.stack([L.W * lo, L.W * hi])
        up = np.maximum(ends, 0).max(0).sum(1) + np.maximum(L.b, 0)
        down = np.maximum(-ends, 0).max(0).sum(1) + np.maximum(-L.b, 0)
        m = max(m, float(np.maximum(up, down).max(initial=0)), float(np.abs(L.W).max(initial=0)))
        lo, hi = _affine_box(L.W, L.b, lo, hi)
        if L.act == "relu":
            lo, hi = np.maximum(lo, 0), np.maximum(hi, 0)
        elif L.act == "step":
            lo, hi = (lo >= 0).astype(float), (hi >= 0).astype(float)
        if L.box is not None:
            lo, hi = np.maximum(lo, L.box[0]), np.minimum(hi, L.box[1])
    return m


def check_exact(block: Block, dtype=np.float32) -> Block:
    """`block` if evaluating it in `dtype` is exact on its whole input box, else ValueError."""
    limit = EXACT_LIMIT[np.dtype(dtype)]
    for i, L in enumerate(block.layers):
        for name, a in (("weight", L.W), ("bias", L.b)):
            bad = a[a != np.round(a)]
            if bad.size:
                raise ValueError(f"layer {i} has {name} {float(bad[0])}, not an integer; "
                                 f"the exactness argument needs integer weights")
    # every intermediate is an integer of magnitude at most m, and a float holds every integer
    # up to 2^24 (2^53) itself: the first one it loses is 2^24 + 1
    m = bound(block)
    if not m <= limit:
        raise ValueError(f"values reach {m:.0f} (2^{np.log2(m):.1f}); {np.dtype(dtype).name} is "
                         f"exact only for integers up to 2^{int(np.log2(limit))}")
    return block


def _range(r, what="range") -> Range:
    try:
        lo, hi = r
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a pair (lo, hi), got {r!r}") from None
    for v in (lo, hi):
        if not (isinstance(v, (int, np.integer)) or (isinstance(v, float) and v.is_integer())):
            raise ValueError(f"{what} {r!r} must have finite integer bounds")
    if lo > hi:
        raise ValueError(f"{what} {r!r} is empty (lo > hi)")
    return int(lo), int(hi)


def _make(layers, inp, out) -> Block:
    layers = list(layers)
    for i in range(len(layers) - 1):
        L = layers[i]
        if L.W.shape[0] == 0:  # one dead unit instead of none: zero-width Linear layers upset torch
            nxt = layers[i + 1]
            layers[i] = Layer(np.zeros((1, L.W.shape[1])), [0], L.act)
            layers[i + 1] = Layer(np.zeros((nxt.W.shape[0], 1)), nxt.b, nxt.act, nxt.box)
    return check_exact(Block(tuple(layers), tuple(map(_range, inp)), tuple(map(_range, out))),
                       np.float64)


def _act(act: str, allowed=("relu", "step")) -> str:
    if act not in allowed:
        raise ValueError(f"activation {act!r} is not one of {', '.join(allowed)} for this gadget")
    return act


def _within(r: Range, s: Range) -> bool:
    return s[0] <= r[0] and r[1] <= s[1]


# ---- composition -------------------------------------------------------------------------------

def chain(*blocks: Block) -> Block:
    """Blocks in sequence. A trailing `id` layer is folded into the next block's first layer
    (integer matrix products stay integer), so relu gadgets compose without extra depth."""
    if not blocks:
        raise ValueError("chain of no blocks")
    acc = blocks[0]
    for nxt in blocks[1:]:
        if acc.n_out != nxt.n_in:
            raise ValueError(f"chain: {acc.n_out} outputs feed {nxt.n_in} inputs")
        for i, (r, s) in enumerate(zip(acc.out, nxt.inp)):
            if not _within(r, s):
                raise ValueError(f"chain: output {i} ranges over {list(r)}, the next block is "
                                 f"exact only on {list(s)}")
        layers = list(acc.layers)
        first = nxt.layers[0]
        if layers[-1].act == "id":
            F = layers.pop()
            first = Layer(first.W @ F.W, first.W @ F.b + first.b, first.act, first.box)
        acc = _make(layers + [first, *nxt.layers[1:]], acc.inp, nxt.out)
    return acc


def deepen(block: Block, depth: int, act: str = "relu") -> Block:
    """The same function with exactly `depth` layers, padded with identity layers in `act` mode
    (relu: relu(y - lo) + lo, exact as y >= lo; step: step(y - 1), exact for y in {0, 1}).
    In step mode a trailing `id` layer becomes a step layer even when no depth is added."""
    _act(act)
    L = list(block.layers)
    if depth < len(L):
        raise ValueError(f"cannot make a {len(L)}-layer block {depth} layers deep")
    n = block.n_out
    if act == "step":
        if L[-1].act == "id":
            if not all(_within(r, BOOL) for r in block.out):
                raise ValueError(f"step mode carries only 0/1 values, not ranges {block.out}")
            F = L.pop()
            L.append(Layer(F.W, F.b - 1, "step"))
        if L[-1].act != "step":
            raise ValueError(f"step mode cannot extend a block ending in {L[-1].act!r}")
        L += [Layer(np.eye(n), -np.ones(n), "step")] * (depth - len(L))
    elif depth > len(L) and L[-1].act == "id":
        lo = np.array([r[0] for r in block.out], np.float64)
        F = L.pop()
        L.append(Layer(F.W, F.b - lo, "relu"))
        L += [Layer(np.eye(n), np.zeros(n), "relu")] * (depth - len(L) - 1)
        L.append(Layer(np.eye(n), lo, "id"))
    elif depth > len(L):
        if L[-1].act != "relu":
            raise ValueError(f"relu mode cannot extend a block ending in {L[-1].act!r}")
        L += [Layer(np.eye(n), np.zeros(n), "relu")] * (depth - len(L))
    return _make(L, block.inp, block.out)


def parallel(*blocks: Block) -> Block:
    """Blocks side by side (inputs and outputs concatenated, block-diagonal weights), padded to a
    common depth. Step mode when any block has a step layer, else relu mode."""
    if not blocks:
        raise ValueError("parallel of no blocks")
    act = "step" if any("step" in b.acts for b in blocks) else "relu"
    d = max(b.depth for b in blocks)
    padded = [deepen(b, d, act) for b in blocks]
    layers = []
    for i in range(d):
        ls = [b.layers[i] for b in padded]
        if len({L.act for L in ls}) > 1:
            raise ValueError(f"parallel: layer {i} mixes activations {[L.act for L in ls]}")
        W = np.zeros((sum(L.W.shape[0] for L in ls), sum(L.W.shape[1] for L in ls)))
        r = c = 0
        for L in ls:
            W[r:r + L.W.shape[0], c:c + L.W.shape[1]] = L.W
            r, c = r + L.W.shape[0], c + L.W.shape[1]
        box = None
        if any(L.box is not None for L in ls):
            box = tuple(np.concatenate([L.box[j] if L.box is not None else np.full(len(L.b), v)
                                        for L in ls]) for j, v in enumerate((-np.inf, np.inf)))
        layers.append(Layer(W, np.concatenate([L.b for L in ls]), ls[0].act, box))
    return _make(layers, sum((b.inp for b in blocks), ()), sum((b.out for b in blocks), ()))


def route(inp: Sequence[Range], idx: Sequence[int]) -> Block:
    """Output j is input idx[j]: any selection, permutation or copying of channels (one `id`
    layer, free once chained)."""
    inp = [_range(r) for r in inp]
    W = np.zeros((len(idx), len(inp)))
    for j, i in enumerate(idx):
        W[j, i] = 1
    return _make([Layer(W, np.zeros(len(idx)), "id")], inp, [inp[i] for i in idx])


def identity(inp: Sequence[Range]) -> Block:
    return route(inp, range(len(inp)))


def share(*blocks: Block) -> Block:
    """Blocks that all read the same inputs, outputs concatenated; exact on the intersection of
    their input boxes."""
    n = blocks[0].n_in
    if any(b.n_in != n for b in blocks):
        raise ValueError(f"share: blocks read {[b.n_in for b in blocks]} inputs")
    box = [(max(b.inp[i][0] for b in blocks), min(b.inp[i][1] for b in blocks)) for i in range(n)]
    return chain(route(box, list(range(n)) * len(blocks)), parallel(*blocks))


def tree(g: Block, n: int) -> Block:
    """A balanced tree of the 2-input gadget `g` over n inputs: depth ceil(log2 n) gadgets. Exact
    when g is, because g's output range lies inside its (equal) input ranges."""
    if g.n_in != 2 or g.n_out != 1 or g.inp[0] != g.inp[1] or not _within(g.out[0], g.inp[0]):
        raise ValueError("tree needs a 2-input, 1-output gadget whose output range lies in its "
                         "equal input ranges")
    if n < 1:
        raise ValueError(f"tree over {n} inputs")
    acc = identity([g.inp[0]] * n)
    while acc.n_out > 1:
        parts = [g] * (acc.n_out // 2) + [identity(acc.out[-1:])] * (acc.n_out % 2)
        acc = chain(acc, parallel(*parts))
    return acc


# ---- Boolean gates (inputs and outputs in {0, 1}) ----------------------------------------------

def not_(act: str = "relu") -> Block:
    """relu: 1 - x (affine). step: step(-x), which is 1 exactly when x = 0."""
    if _act(act) == "relu":
        return _make([Layer([[-1]], [1], "id")], [BOOL], [BOOL])
    return _make([Layer([[-1]], [0], "step")], [BOOL], [BOOL])


def and_(n: int = 2, act: str = "relu") -> Block:
    """s = sum x in [0, n]; relu: relu(s - n + 1) is 1 at s = n and 0 below; step: step(s - n)."""
    _n(n)
    if _act(act) == "relu":
        return _make([Layer(np.ones((1, n)), [1 - n], "relu"), Layer([[1]], [0], "id")],
                     [BOOL] * n, [BOOL])
    return _make([Layer(np.ones((1, n)), [-n], "step")], [BOOL] * n, [BOOL])


def or_(n: int = 2, act: str = "relu") -> Block:
    """s = sum x in [0, n]; relu: 1 - relu(1 - s) is 0 at s = 0 and 1 for s >= 1; step: step(s - 1)."""
    _n(n)
    if _act(act) == "relu":
        return _make([Layer(-np.ones((1, n)), [1], "relu"), Layer([[-1]], [1], "id")],
                     [BOOL] * n, [BOOL])
    return _make([Layer(np.ones((1, n)), [-1], "step")], [BOOL] * n, [BOOL])


def xor(act: str = "relu") -> Block:
    """s = x + y in {0, 1, 2}. relu: relu(s) - 2 relu(s - 1) gives 0, 1, 0. step: AND(OR, NAND) =
    step(step(s - 1) + step(1 - s) - 2), both hidden units 1 only at s = 1."""
    if _act(act) == "relu":
        return _make([Layer([[1, 1], [1, 1]], [0, -1], "relu"), Layer([[1, -2]], [0], "id")],
                     [BOOL, BOOL], [BOOL])
    return _make([Layer([[1, 1], [-1, -1]], [-1, 1], "step"), Layer([[1, 1]], [-2], "step")],
                 [BOOL, BOOL], [BOOL])


def parity(n: int, act: str = "relu") -> Block:
    """XOR of n bits as a balanced tree of 2-input XORs: ceil(log2 n) levels (NC^1 shape)."""
    return tree(xor(act), _n(n))


def _n(n: int) -> int:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"a gate needs at least one input, got {n!r}")
    return int(n)


# ---- comparisons of bounded integers (output in {0, 1}) ----------------------------------------

def _ge0(w, c, inp, act) -> Block:
    """[d >= 0] for the integer d = w.x + c. relu: relu(d + 1) - relu(d) is 1 for d >= 0 and 0 for
    d <= -1, the only integer values d can take. step: step(d)."""
    w = np.asarray(w, np.float64)[None]
    if act == "relu":
        return _make([Layer(np.vstack([w, w]), [c + 1, c], "relu"), Layer([[1, -1]], [0], "id")],
                     inp, [BOOL])
    return _make([Layer(w, [c], "step")], inp, [BOOL])


def _eq0(w, c, inp, act, negate=False) -> Block:
    """[d == 0] for the integer d = w.x + c. relu: the hat relu(d + 1) - 2 relu(d) + relu(d - 1) is 1
    at d = 0 and 0 at every other integer. step: step(step(d) + step(-d) - 2) (both hold only at
    0); `negate` gives [d != 0]: 1 - hat, or step(1 - step(d) - step(-d))."""
    w = np.asarray(w, np.float64)[None]
    s = -1 if negate else 1
    if act == "relu":
        return _make([Layer(np.vstack([w, w, w]), [c + 1, c, c - 1], "relu"),
                      Layer([[s, -2 * s, s]], [0 if s > 0 else 1], "id")], inp, [BOOL])
    return _make([Layer(np.vstack([w, -w]), [c, -c], "step"),
                  Layer([[s, s]], [-2 if s > 0 else 1], "step")], inp, [BOOL])


_CMP = {">=": (1, 0), ">": (1, -1), "<=": (-1, 0), "<": (-1, -1)}


def _cmp(op, w, c, inp, act) -> Block:
    _act(act)
    if op in _CMP:
        s, off = _CMP[op]
        return _ge0([s * v for v in w], s * c + off, inp, act)
    if op in ("==", "!="):
        return _eq0(w, c, inp, act, negate=op == "!=")
    raise ValueError(f"unknown comparison {op!r}; one of >= > <= < == !=")


def compare(op: str, a: Range, b: Range, act: str = "relu") -> Block:
    """[x op y] for integers x in a, y in b (inputs (x, y)); d = x - y, see `_ge0` / `_eq0`."""
    return _cmp(op, [1, -1], 0, [_range(a), _range(b)], act)


def compare_const(op: str, c: int, a: Range, act: str = "relu") -> Block:
    """[x op c] for an integer x in a and an integer constant c; d = x - c."""
    _range((c, c), "constant")
    return _cmp(op, [1], -int(c), [_range(a)], act)


# ---- min / max / select (relu only; exact for any reals in range, integers included) -----------

def maximum(a: Range, b: Range) -> Block:
    """max(x, y) = y + relu(x - y); y passes the hidden layer as relu(y - lo_b) + lo_b (y >= lo_b)."""
    a, b = _range(a), _range(b)
    return _make([Layer([[0, 1], [1, -1]], [-b[0], 0], "relu"), Layer([[1, 1]], [b[0]], "id")],
                 [a, b], [(max(a[0], b[0]), max(a[1], b[1]))])


def minimum(a: Range, b: Range) -> Block:
    """min(x, y) = x - relu(x - y); x passes the hidden layer as relu(x - lo_a) + lo_a."""
    a, b = _range(a), _range(b)
    return _make([Layer([[1, 0], [1, -1]], [-a[0], 0], "relu"), Layer([[1, -1]], [a[0]], "id")],
                 [a, b], [(min(a[0], b[0]), min(a[1], b[1]))])


def select(a: Range, b: Range) -> Block:
    """c ? x : y for c in {0, 1}, inputs (c, x, y). With lo, hi the hull of a and b and B = hi - lo:
    lo + relu(x - lo - B(1 - c)) + relu(y - lo - Bc). At c = 1 the first term is x - lo and the
    second relu(y - hi) = 0; at c = 0 symmetrically. Weights are integers of size B."""
    a, b = _range(a), _range(b)
    lo, hi = min(a[0], b[0]), max(a[1], b[1])
    B = hi - lo
    return _make([Layer([[B, 1, 0], [-B, 0, 1]], [-lo - B, -lo], "relu"),
                  Layer([[1, 1]], [lo], "id")], [BOOL, a, b], [(lo, hi)])


# ---- bounded-integer arithmetic ----------------------------------------------------------------

def affine(W, b, inp: Sequence[Range]) -> Block:
    """x -> W x + b with integer W, b (one `id` layer, free once chained). The output ranges are the
    exact images of the input box (interval arithmetic is tight for one affine map)."""
    b = np.asarray(b, np.float64).reshape(-1)
    W = np.asarray(W, np.float64).reshape(len(b), len(inp))
    if (W != np.round(W)).any() or (b != np.round(b)).any():
        raise ValueError("affine gadgets take integer coefficients only")
    inp = [_range(r) for r in inp]
    lo, hi = _affine_box(W, b, *_box(inp))
    return _make([Layer(W, b, "id")], inp, [(int(l), int(h)) for l, h in zip(lo, hi)])


def add(a: Range, b: Range) -> Block:
    return affine([[1, 1]], [0], [a, b])


def sub(a: Range, b: Range) -> Block:
    return affine([[1, -1]], [0], [a, b])


def mul_const(c: int, a: Range) -> Block:
    return affine([[c]], [0], [a])


def mul(a: Range, b: Range, max_table: int = 1 << 16) -> Block:
    """x * y for integers x in a, y in b, as a table over the factor with fewer values (say y):
    x y = lo_y x + sum_{v = lo_y + 1}^{hi_y} [y >= v] x. [y >= v] = relu(y - v + 1) - relu(y - v) is
    exact for integer y; g ? x : 0 = relu(x - hi'(1 - g)) - relu(-x + lo'(1 - g)) with
    hi' = max(hi_x, 0), lo' = min(lo_x, 0): at g = 1 it is relu(x) - relu(-x) = x, at g = 0 both
    terms are 0 because lo' <= x <= hi'. Width O(|range of y|), depth 3."""
    a, b = _range(a), _range(b)
    corners = [p * q for p in a for q in b]
    swap = b[1] - b[0] > a[1] - a[0]
    (xl, xh), (yl, yh) = (b, a) if swap else (a, b)
    if yh - yl >= max_table:
        raise ValueError(f"mul of ranges {list(a)} x {list(b)} needs a table of {yh - yl + 1} "
                         f"rows; the limit is {max_table}")
    ix, iy = (1, 0) if swap else (0, 1)
    if yl == yh:
        W = np.zeros((1, 2)); W[0, ix] = yl
        return affine(W, [0], [a, b])
    # layer 1: p = relu(x - xl), q_u = relu(y - u) for u in [yl, yh - 1]
    us = np.arange(yl, yh)
    W1 = np.zeros((1 + len(us), 2)); W1[0, ix] = 1; W1[1:, iy] = 1
    b1 = np.concatenate([[-xl], -us])
    # g_v = q_{v-1} - q_v (q_yh = 0), as a row over layer-1 units, for v in [yl + 1, yh]
    G = np.zeros((len(us), 1 + len(us)))
    for k in range(len(us)):
        G[k, 1 + k] = 1
        if k + 1 < len(us):
            G[k, 2 + k] = -1
    P = np.zeros((1, 1 + len(us))); P[0, 0] = 1  # x = P h + xl
    rows, bias, out = [P], [[0]], [yl]
    if xh > 0:  # relu(x - xh + xh g)
        rows.append(np.repeat(P, len(us), 0) + xh * G); bias.append(np.full(len(us), xl - xh))
        out += [1] * len(us)
    if xl < 0:  # relu(-x + xl - xl g)
        rows.append(-np.repeat(P, len(us), 0) - xl * G); bias.append(np.zeros(len(us)))
        out += [-1] * len(us)
    W2, b2 = np.vstack(rows), np.concatenate([np.ravel(v) for v in bias]).astype(float)
    box = np.array([xh - xl] + [max(xh, 0)] * len(us) * (xh > 0) + [-min(xl, 0)] * len(us) * (xl < 0))
    L2 = Layer(W2, b2, "relu", (0, box))
    return _make([Layer(W1, b1, "relu"), L2, Layer([out], [yl * xl], "id")],
                 [a, b], [(min(corners), max(corners))])


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
    for i, (l, h) in enumerate(doms):
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
            put(v - 1, 1); put(v, -2); put(v + 1, 1)
        else:
            put(v, 1); put(v + 1, -1)
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


# ---- flagged integers: a value that may be +inf or -inf (GNN target) ---------------------------
#
# An integer that may be infinite travels as two channels (f, v): f = 1 and v the value when it is
# finite; f = 0 and v = 0 when it is the infinity its type allows. The infinity is never a number
# in a channel, so no finite value, however large, can be mistaken for it. The big constant B
# below lives only inside a gadget's hidden units; v = 0 at f = 0 is what makes B large enough.

def _hull0(a: Range, b: Range) -> Range:
    """The hull of a, b and 0 (the value channel of an infinite operand is 0)."""
    return min(a[0], b[0], 0), max(a[1], b[1], 0)


def flagged_extremum(kind: str, a: Range, b: Range) -> Block:
    """min (over values whose infinity is +inf) or max (-inf) of two flagged integers; inputs
    (fa, va, fb, vb), outputs (f, v), v in the hull of a, b and 0.

    min: with lo, hi that hull and B = hi - lo + 1, x = v + B (1 - f) is v for a finite operand
    and B > hi for an infinite one (v = 0 there, and B >= hi + 1 as lo <= 0). So min(xa, xb) =
    xa - relu(xa - xb) is the least finite value, or B when both are infinite, which
    B relu(1 - fa - fb) (= B exactly when both flags are 0) removes; f = 1 - relu(1 - fa - fb)
    is fa or fb. xa passes the hidden layer as relu(xa - lo) + lo. max is the mirror image."""
    if kind not in ("min", "max"):
        raise ValueError(f"flagged extremum kind {kind!r} is not 'min' or 'max'")
    a, b = _range(a), _range(b)
    lo, hi = _hull0(a, b)
    B = hi - lo + 1
    if kind == "min":
        W1 = [[-B, 1, 0, 0],            # relu(xa - lo), xa = va + B - B fa >= lo
              [-B, 1, B, -1],           # relu(xa - xb)
              [-1, 0, -1, 0]]           # relu(1 - fa - fb)
        b1 = [B - lo, 0, 1]
        W2 = [[0, 0, -1], [1, -1, -B]]  # f; xa - relu(xa - xb) - B relu(1 - fa - fb)
        b2 = [1, lo]
    else:
        W1 = [[-B, -1, 0, 0],           # relu(hi - xa), xa = va - B + B fa <= hi
              [-B, -1, B, 1],           # relu(xb - xa)
              [-1, 0, -1, 0]]           # relu(1 - fa - fb)
        b1 = [hi + B, 0, 1]
        W2 = [[0, 0, -1], [-1, 1, B]]   # f; xa + relu(xb - xa) + B relu(1 - fa - fb)
        b2 = [1, hi]
    return _make([Layer(W1, b1, "relu"), Layer(W2, b2, "id")], [BOOL, a, BOOL, b],
                 [BOOL, (lo, hi)])


def flagged_add(a: Range, b: Range) -> Block:
    """The sum of two flagged integers of the same infinity (inf + x = inf); inputs
    (fa, va, fb, vb), outputs (f, v). With s = va + vb in [slo, shi] (0 included) and
    B = shi - slo: v = relu(s - slo - B (2 - fa - fb)) + slo f, f = relu(fa + fb - 1). Both
    finite: s - slo + slo = s. Otherwise 2 - fa - fb >= 1, so the relu sees at most
    s - slo - B = s - shi <= 0, and f = 0: v = 0."""
    a, b = _range(a), _range(b)
    slo, shi = min(a[0] + b[0], a[0], b[0], 0), max(a[1] + b[1], a[1], b[1], 0)
    B = shi - slo
    return _make([Layer([[B, 1, B, 1], [1, 0, 1, 0]], [-slo - 2 * B, -1], "relu"),
                  Layer([[0, 1], [1, slo]], [0, 0], "id")],
                 [BOOL, a, BOOL, b], [BOOL, (slo, shi)])


# ---- decoding attention averages (the transformer target) --------------------------------------
#
# An attention head that selects c positions and the beginning-of-sequence position with equal
# scores averages their values: for a value X/(c+1)-style readout it returns u ~ X / (c + 1) and,
# reading a channel that is 1 at the BOS position only, y ~ 1 / (c + 1). Neither is an integer,
# so the argument of `check_exact` does not apply; these gadgets rest on a margin instead.

def ratio_margin_error(n_max: int, value_bound: int, dtype=np.float32) -> float:
    """An upper bound on the error of z = a u - a (s - 1/2) y (`ratio_decoder`'s first layer, a =
    4 (n_max + 1)) when u and y come from a float softmax average: the weights 1/(c+1) are
    rounded (relative error eps), each product and each of the at most n_max + 1 partial sums of
    the average adds eps times at most `value_bound`, and z's own two products and sum add eps
    times their magnitudes. `ratio_decoder` is exact while this stays below 1."""
    eps = float(np.finfo(dtype).eps) / 2
    n, B = int(n_max), int(value_bound)
    a = 4 * (n + 1)
    return 1.1 * a * eps * (n + 5) * (2 * B + 2)


def ratio_decoder(lo: int, hi: int, n_max: int, thresholds: Sequence[int] | None = None) -> Block:
    """Decode an integer X in [lo, hi] from (u, y) with u = X / (c + 1), y = 1 / (c + 1) for some
    c in [0, n_max] (up to float rounding): the output is X, or with `thresholds` the bits
    [X >= s] for each s.

    X >= s holds exactly when u - s y = (X - s) / (c + 1) >= 0; between integers the gap of that
    quantity is at least 1 / (n_max + 1), so with a = 4 (n_max + 1) the unit
    r_s = relu(a u - a (s - 1/2) y) is exactly 0 when X <= s - 1 (its pre-activation is <= -2)
    and at least 1 when X >= s (>= 2), as long as the float error of the pre-activation stays
    below 1 (`ratio_margin_error`). The second layer g_s = relu(1 - r_s) is then exactly [X < s]
    (1 - 0, or a non-positive number cut to 0), a 0/1 value, and the read-out X = hi - sum g_s
    (or 1 - g_s per threshold) has integer weights on 0/1 inputs: exact. Weights are integers
    (a (s - 1/2) = 2 (n_max + 1)(2 s - 1))."""
    lo, hi = int(lo), int(hi)
    a = 4 * (int(n_max) + 1)
    ss = list(range(lo + 1, hi + 1)) if thresholds is None else [int(s) for s in thresholds]
    W1 = np.array([[a, -2 * (n_max + 1) * (2 * s - 1)] for s in ss], np.float64).reshape(-1, 2)
    L1 = Layer(W1, np.zeros(len(ss)), "relu")
    L2 = Layer(-np.eye(len(ss)), np.ones(len(ss)), "relu", (0, 1))
    inp = [(min(lo, 0), max(hi, 0)), (0, 1)]
    if thresholds is None:
        L3 = Layer(-np.ones((1, len(ss))), [hi], "id")
        return _make([L1, L2, L3], inp, [(lo, hi)])
    L3 = Layer(-np.eye(len(ss)), np.ones(len(ss)), "id")
    return _make([L1, L2, L3], inp, [BOOL] * len(ss))


def signed_identity(n: int, sign: int = 1) -> Block:
    """sign * x for n values of any magnitude and any float (not only integers): relu(x) and
    relu(-x), at most one of them nonzero, read out as sign * (h+ - h-); each output sums one
    nonzero term, so it is exact. Used to carry a value through padding layers and, with
    sign = -1, to clear a residual-stream slot (x + (-x) = 0 exactly)."""
    eye = np.eye(n)
    return Block((Layer(np.vstack([eye, -eye]), np.zeros(2 * n), "relu"),
                  Layer(sign * np.hstack([eye, -eye]), np.zeros(n), "id")),
                 tuple([(-1, 1)] * n), tuple([(-1, 1)] * n))
