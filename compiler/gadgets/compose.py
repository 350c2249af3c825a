"""Composition of blocks: in sequence (`chain`, folding a read-out into the next layer),
side by side (`parallel`, `share`), rewiring (`route`, `identity`), padding (`deepen`) and trees."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .core import (BOOL, Block, Layer, Range, _act, _make, _range, _within)

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
