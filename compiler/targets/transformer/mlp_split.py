"""`--mlp-layers K`: every block's MLP with at most K hidden layers, for frameworks whose blocks
have a fixed shape (TransformerLens: attention, then an MLP with one hidden layer).

An assembled network whose block b has an MLP of H > K hidden layers becomes ceil(H / K)
blocks: the first keeps b's heads and runs the MLP's first K hidden layers, each later one has
no heads and runs the next K. Between them the last hidden layer's values wait in scratch
channels appended to the residual stream: a piece writes them (the residual there is 0, so
0 + h = h exactly), the next piece reads them, and, since a relu output is never negative,
also passes them through relu unchanged and writes -h back, which clears the channels exactly.
Two scratch regions alternate, so a piece never reads and clears the channels it writes.

The arithmetic is the unsplit network's, value for value: the same hidden layers on the same
inputs, with the inputs of block b read before anything else writes (the inserted blocks have
no attention) and the outputs added to the residual once, by the last piece. The self-check
(`verify`) then runs on the split network as on any other.
"""
from __future__ import annotations

import numpy as np

from .slots import TransformerArtifact


def split_mlps(art: TransformerArtifact, max_hidden: int) -> TransformerArtifact:
    """`art` with every MLP of more than `max_hidden` hidden layers split over blocks."""
    arch = art.architecture
    d = arch["d_model"]
    t = art.tensors
    layers = [[(t[f"blocks.{b}.mlp.{i}.weight"], t[f"blocks.{b}.mlp.{i}.bias"])
               for i in range(len(spec["mlp"]))] for b, spec in enumerate(arch["blocks"])]
    # the widths each region must hold: piece p of a split MLP writes region p % 2
    region = [0, 0]
    for mlp in layers:
        groups = _groups(len(mlp) - 1, max_hidden)
        for p, (_, end) in enumerate(groups[:-1]):
            region[p % 2] = max(region[p % 2], mlp[end - 1][0].shape[0])
    if not any(region):
        return art
    scratch = [list(range(d, d + region[0])), list(range(d + region[0], d + sum(region)))]
    width = d + sum(region)
    tensors = {k: _pad(v, d, width) for k, v in t.items() if k.startswith("embed.")}
    blocks, first_of, last_of, slots = [], [], [], []
    for b, spec in enumerate(arch["blocks"]):
        first_of.append(len(blocks))
        mlp = layers[b]
        groups = _groups(len(mlp) - 1, max_hidden) if mlp else [(0, 0)]
        for p, (start, end) in enumerate(groups):
            nb = len(blocks)
            if p:
                new = {"heads": 0, "masks": [],
                       "what": [f"{w} (hidden layers {start + 1}..{end} of {len(mlp) - 1})"
                                for w in spec["what"][spec["heads"]:]]}
            else:
                new = dict(spec)
                for nm in ("q", "k", "v", "o") if spec["heads"] else ():
                    tensors[f"blocks.{nb}.attn.{nm}"] = _pad_attn(nm, t[f"blocks.{b}.attn.{nm}"],
                                                                 d, width)
            piece = _piece(mlp, start, end, p, len(groups), d, width, scratch) if mlp else []
            dtype = t["embed.token"].dtype
            for i, (W, bias) in enumerate(piece):
                tensors[f"blocks.{nb}.mlp.{i}.weight"] = W.astype(dtype)
                tensors[f"blocks.{nb}.mlp.{i}.bias"] = bias.astype(dtype)
            new["mlp"] = [int(W.shape[0]) for W, _ in piece]
            if p < len(groups) - 1:
                used = scratch[p % 2][:mlp[end - 1][0].shape[0]]
                slots.append({"name": f"hidden layer {end} of block {b}'s MLP",
                              "channels": used, "from": 2 * nb + 1, "to": 2 * nb + 3})
            blocks.append(new)
        last_of.append(len(blocks) - 1)
    return TransformerArtifact(tensors, _architecture(arch, blocks, first_of, last_of, slots,
                                                      width, max_hidden), art.encodings)


def _groups(hidden: int, k: int) -> list[tuple[int, int]]:
    """The hidden layers (1-based, inclusive end) each piece runs: (start, end) with start
    counted from 0."""
    return [(s, min(s + k, hidden)) for s in range(0, max(hidden, 1), k)]


def _piece(mlp, start: int, end: int, p: int, pieces: int, d: int, width: int, scratch):
    """Piece p's linear layers (weight (out, in), bias): hidden layers start+1..end of `mlp`,
    reading the residual (p = 0) or the previous piece's scratch region, and writing the next
    region (not the last piece) or the MLP's own read-out, clearing what it read."""
    last = p == pieces - 1
    carried = [] if p == 0 else scratch[(p - 1) % 2][:mlp[start - 1][0].shape[0]]
    c = len(carried)
    out = []
    for i in range(start, end):
        W, bias = mlp[i]
        rows, cols = W.shape
        if i == start:
            src = list(range(d)) if p == 0 else carried
            Wn = np.zeros((rows + c, width))
            Wn[:rows, src] = W
            Wn[rows + np.arange(c), carried] = 1  # relu(h) = h: h is a relu output
        else:
            Wn = np.zeros((rows + c, cols + c))
            Wn[:rows, :cols] = W
            Wn[rows + np.arange(c), cols + np.arange(c)] = 1
        out.append((Wn, np.concatenate([bias, np.zeros(c)])))
    h = out[-1][0].shape[0] - c  # the piece's last hidden layer, then its carried values
    R = np.zeros((width, h + c))
    bias = np.zeros(width)
    if last:
        W, b_out = mlp[-1]
        R[:d, :h] = W
        bias[:d] = b_out
    else:
        R[scratch[p % 2][:h], np.arange(h)] = 1
    R[carried, h + np.arange(c)] = -1  # clears the channels this piece read
    out.append((R, bias))
    return out


def _pad(v: np.ndarray, d: int, width: int) -> np.ndarray:
    """An embedding tensor (rows, d) widened to the new residual width with zero channels."""
    out = np.zeros(v.shape[:-1] + (width,), v.dtype)
    out[..., :d] = v
    return out


def _pad_attn(nm: str, v: np.ndarray, d: int, width: int) -> np.ndarray:
    if nm == "o":  # (heads, head_dim, d): writes no scratch channel
        out = np.zeros(v.shape[:2] + (width,), v.dtype)
        out[:, :, :d] = v
    else:          # (heads, d, head_dim): reads no scratch channel
        out = np.zeros((v.shape[0], width, v.shape[2]), v.dtype)
        out[:, :d] = v
    return out


def _architecture(arch: dict, blocks, first_of, last_of, scratch_slots, width: int,
                  max_hidden: int) -> dict:
    def sublayer(s: int) -> int:
        # an attention sublayer runs in the first piece of its block, an MLP's writes land in
        # the last piece
        b = s // 2
        if s % 2 == 0:
            return 2 * (first_of[b] if b < len(first_of) else len(blocks))
        return 2 * last_of[b] + 1
    res = dict(arch["residual"])
    res["slots"] = [dict(sl, **{"from": sublayer(sl["from"]) if sl["from"] >= 0 else sl["from"],
                                "to": sublayer(sl["to"])}) for sl in res["slots"]] + scratch_slots
    res["width"] = width
    extra = width - arch["d_model"]  # the scratch regions, which no reuse could save
    res["width_without_reuse"] = res.get("width_without_reuse", 0) + extra
    res["sublayers"] = 2 * len(blocks)
    loops = [dict(lp, blocks=[first_of[lp["blocks"][0]], last_of[lp["blocks"][1]]])
             for lp in arch["loops"]]
    return dict(arch, d_model=width, d_model_without_reuse=arch["d_model_without_reuse"] + extra,
                blocks=blocks, depth=len(blocks), residual=res,
                loops=loops, mlp_hidden_layers=max_hidden)
