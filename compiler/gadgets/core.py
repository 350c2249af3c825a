"""The gadget data (`Layer`, `Block`), the declared input boxes, and the exactness bound every
gadget is checked against."""
from __future__ import annotations

from dataclasses import dataclass

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
