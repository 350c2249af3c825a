"""Assembly: a finished plan (its tasks scheduled into blocks by the residual allocator) becomes
the weight tensors and the file's metadata, in steps: the embedding; per block, the attention
weights (with the BOS row's correction), then the MLP sublayer; the BOS row is simulated block by
block alongside, because the BOS corrections and the loop copies are built from its state."""
from __future__ import annotations

import numpy as np

from nclang.compiler import gadgets as G
from nclang.dsl.diagnostics import NclError
from nclang.dsl.pretty import pretty_type

from .slots import LAMBDA, MLPTask, TransformerArtifact


def assemble(plan) -> TransformerArtifact:
    """The weight tensors and metadata of a planned transformer (`tasks.TransformerPlanner`)."""
    layout = plan.layout()
    d = layout.width
    tensors: dict[str, np.ndarray] = {}
    E_tok, E_pos, vocab = _embedding(plan, d)
    tensors["embed.token"] = E_tok.astype(plan.np_dtype)
    tensors["embed.position"] = E_pos.astype(plan.np_dtype)
    blocks = []
    x_bos = E_tok[len(vocab)] + E_pos[0]
    for b, (heads, mlps) in enumerate(layout.blocks):
        spec = {"heads": len(heads), "masks": [h.mask for h in heads], "what":
                [h.what for h in heads] + [t.what for t in mlps]}
        if heads:
            Wq, Wk, Wv, Wo, dh = _attention_weights(plan, heads, d, x_bos)
            x_bos = x_bos + sum(x_bos @ Wv[hi_] @ Wo[hi_] for hi_ in range(len(heads)))
            for nm, W in (("q", Wq), ("k", Wk), ("v", Wv), ("o", Wo)):
                tensors[f"blocks.{b}.attn.{nm}"] = W.astype(plan.np_dtype)
            spec["head_dim"] = dh
        mlp_layers, x_bos = _mlp_sublayer(mlps, d, x_bos)
        _check_bos_row(plan, x_bos, b)
        for i, (W, bias) in enumerate(mlp_layers):
            tensors[f"blocks.{b}.mlp.{i}.weight"] = W.astype(plan.np_dtype)
            tensors[f"blocks.{b}.mlp.{i}.bias"] = bias.astype(plan.np_dtype)
        spec["mlp"] = [int(W.shape[0]) for W, _ in mlp_layers]
        blocks.append(spec)
    return TransformerArtifact(tensors, _architecture(plan, layout, blocks),
                               _encodings(plan, vocab))


def _embedding(plan, d: int):
    """Token rows (the BOS token last) and position rows (row 0 the BOS row)."""
    tok = plan.in_enc[0]["slot"] if plan.in_enc else None
    vocab = list(plan.in_enc[0]["vocab"]) if plan.in_enc else []
    V = len(vocab)
    E_tok = np.zeros((V + 1, d))
    if tok is not None:
        for i, v in enumerate(vocab):
            if tok.onehot:
                E_tok[i, tok.channels[i]] = 1
            else:
                E_tok[i, tok.channels[0]] = v
    E_pos = np.zeros((plan.n + 1, d))
    E_pos[0, plan.bos.channels[0]] = 1
    E_pos[:, plan.one.channels[0]] = 1
    for i in range(plan.n):
        E_pos[i + 1, plan.real.channels[0]] = 1
        E_pos[i + 1, plan.pos.channels[0]] = i
    return E_tok, E_pos, vocab


def _attention_weights(plan, heads, d: int, x_bos):
    """One block's q, k, v, o tensors (heads stacked) and head width, from the heads' features."""
    dh = max(max(len(h.q), len(h.v)) for h in heads)
    Wq = np.zeros((len(heads), d, dh))
    Wk = np.zeros((len(heads), d, dh))
    Wv = np.zeros((len(heads), d, dh))
    Wo = np.zeros((len(heads), dh, d))
    for hi_, h in enumerate(heads):
        for f, (qf, kf) in enumerate(zip(h.q, h.k)):
            for s, c, w in qf:
                Wq[hi_, s.channels[c], f] += w * LAMBDA
            for s, c, w in kf:
                Wk[hi_, s.channels[c], f] += w
        for f, vf in enumerate(h.v):
            for s, c, w in vf:
                Wv[hi_, s.channels[c], f] += w
            Wo[hi_, f, h.dest.channels[f]] = 1
    # The BOS row attends only to itself (the runtime's mask), so every value on it is
    # a constant of the network; the key and value features the BOS row should have
    # (its embedding terms only) are restored by a correction on the BOS channel.
    embed = {id(s) for s in (plan.bos, plan.real, plan.one, plan.pos)}
    for hi_, h in enumerate(heads):
        for W, feats in ((Wk, h.k), (Wv, h.v)):
            for f, terms in enumerate(feats):
                junk = sum(w * x_bos[s.channels[c]] for s, c, w in terms
                           if id(s) not in embed)
                W[hi_, plan.bos.channels[0], f] -= junk
    return Wq, Wk, Wv, Wo, dh


def _mlp_sublayer(mlps: list[MLPTask], d: int, x_bos):
    """One block's MLP layers (the loop copies built first from the BOS row's state) and the BOS
    row after them."""
    for t in mlps:
        if t.fill is not None:
            t.block = t.fill(x_bos)
    mlp_layers = _mlp_layers(mlps, d)
    h_bos = x_bos
    for i, (W, bias) in enumerate(mlp_layers):
        h_bos = W @ h_bos + bias
        if i < len(mlp_layers) - 1:
            h_bos = np.maximum(h_bos, 0)
    if mlp_layers:
        x_bos = x_bos + h_bos
    return mlp_layers, x_bos


def _check_bos_row(plan, x_bos, b: int) -> None:
    if np.abs(x_bos).max(initial=0) >= plan.limit:
        raise NclError.at(plan.checked.program.name_span, "not-exact",
                          "the beginning-of-sequence row reaches values past "
                          f"{plan.limit} in block {b}")


def _architecture(plan, layout, blocks: list[dict]) -> dict:
    return {
        "family": "transformer", "sizes": {"n": plan.n}, "dtype": plan.dtype,
        "activation": "relu", "d_model": layout.width,
        "d_model_without_reuse": layout.width_no_reuse,
        "blocks": blocks, "depth": len(blocks),
        "attention_layers": sum(1 for bl in blocks if bl["heads"]),
        "heads": sum(bl["heads"] for bl in blocks),
        "score_scale": LAMBDA, "max_score": int(plan.max_score),
        "embedding": {"bos": plan.bos.channels[0], "real": plan.real.channels[0],
                      "one": plan.one.channels[0], "position": plan.pos.channels[0]},
        "residual": layout.to_json(),
        "loops": [{"blocks": list(lp["blocks"]), "count": lp["count"],
                   "until_stable": lp["until_stable"], "carried": lp["carried"]}
                  for lp in plan.loops],
    }


def _encodings(plan, vocab: list) -> dict:
    outputs = []
    for e in plan.out_enc:
        s = e["slot"]
        outputs.append({"name": e["name"], "type": _result_type(plan.checked, e["name"]),
                        "kind": e["kind"], "per_position": e["per_position"],
                        "channels": list(s.channels),
                        **({"vocab": list(s.domain)} if e["kind"] == "token" else {})})
    inputs = [{"name": e["name"], "type": e["type"], "kind": e["kind"], "vocab": e["vocab"],
               "channels": list(e["slot"].channels)} for e in plan.in_enc]
    return {"inputs": inputs, "outputs": outputs, "vocab": vocab}


def _result_type(checked, name):
    for n, t in zip(checked.result_names, checked.program.results):
        if n == name:
            return pretty_type(t)
    raise KeyError(name)


def _mlp_layers(tasks: list[MLPTask], d: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """One MLP sublayer from its tasks: hidden relu layers side by side (shorter tasks padded at
    the front with exact signed identities; at least one hidden layer), and a read-out into each
    task's slot channels."""
    if not tasks:
        return []
    blocks = []
    for t in tasks:
        blk = t.block
        if blk.layers[-1].act != "id":
            blk = G.Block(blk.layers + (G.Layer(np.eye(blk.n_out), np.zeros(blk.n_out), "id"),),
                          blk.inp, blk.out)
        blocks.append(blk)
    depth = max(2, max(b.depth for b in blocks))
    padded = []
    for b in blocks:
        while b.depth < depth:
            si = G.signed_identity(b.n_in)
            first = b.layers[0]
            W = first.W @ si.layers[1].W
            b = G.Block((si.layers[0], G.Layer(W, first.b, first.act, first.box)) + b.layers[1:],
                        b.inp, b.out)
        padded.append(b)
    layers = []
    prev_off = [0] * len(padded)
    for ell in range(depth):
        last = ell == depth - 1
        rows = d if last else sum(b.layers[ell].W.shape[0] for b in padded)
        cols = d if ell == 0 else sum(b.layers[ell - 1].W.shape[0] for b in padded)
        W, bias = np.zeros((rows, cols)), np.zeros(rows)
        r, offs = 0, []
        for i, (t, b) in enumerate(zip(tasks, padded)):
            L = b.layers[ell]
            if ell == 0:
                src = [ch for s in t.inputs for ch in s.channels]
            else:
                src = list(range(prev_off[i], prev_off[i] + L.W.shape[1]))
            dst = list(t.dest.channels) if last else list(range(r, r + L.W.shape[0]))
            W[np.ix_(dst, src)] += L.W
            bias[dst] += L.b
            offs.append(r)
            r += L.W.shape[0]
        prev_off = offs
        layers.append((W, bias))
    return layers
