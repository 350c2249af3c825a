"""A compiled transformer as a TransformerLens model (`Network.to_transformer_lens()`), and as a
folder of `config.json` + `model.safetensors` (`nclang export --format hf`).

TransformerLens 4 removed `HookedTransformer`; its successor for a model built from weights
(no Hugging Face checkpoint) is `TransformerBridge.boot_native(config)`, TransformerLens' own
transformer with the HookedTransformer names (`W_E`, `W_pos`, `blocks.i.attn.W_Q`,
`run_with_cache`, `hook_pattern`, ...). `plan` builds its config and state dict with numpy
alone; `to_bridge` boots it. The mapping, block by block (docs/transformer_lens.md):

- no normalization, relu, learned absolute positions: the file's embeddings as they are, widened
  by N + 1 one-hot position channels (row i of `W_pos` sets channel i);
- every nclang block is one TransformerLens block; loops are unrolled, which needs a trip count
  that is the same at every length 1..N (or one `length` to build for); an MLP must have one
  hidden layer (compile with `--mlp-layers 1`), else the network is refused naming the block;
- masks: TransformerLens masks all heads of a model alike, nclang per head (causal `le`, `lt`,
  `ge`, `gt`, none, and the BOS row attending only to itself). The model is bidirectional and
  each head's mask is a score penalty: N + 1 extra head dimensions whose query side is the
  one-hot position and whose key side adds -P to each masked (query, key) entry, with P twice
  the largest score plus two score units. A kept key's penalty is an exact 0, so its score is
  the compiled one, bit for bit; a masked key's is at least 2048 below the row's maximum, so
  softmax gives it exactly 0 in float32, as the runtime's -inf does;
- TransformerLens refuses unscaled attention with d_head > 1, so scores are divided by
  `attn_scale` = 2 and W_Q carries the factor 2 (scaling by a power of two is exact);
- `W_U` reads the outputs: per output, one logit per value the output can take, in the order
  `readout` lists; a token's logit is its one-hot channel, an integer value c's logit is
  c * x - c^2 / 2 (its constant from the always-1 channel), largest exactly at c = x. So the
  argmax of a group is the value; `decode` turns a model's logits into the program's outputs.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from nclang.compiler import formula
from nclang.dsl.diagnostics import Diagnostic, NclError

ATTN_SCALE = 2.0
MAX_CLASSES = 4097   # logits one integer output may take: c^2 / 2 stays exact in float32


def _refuse(file: str, message: str) -> NclError:
    return NclError(Diagnostic(file, 1, 1, 1, 1, "error", "transformer-lens-unsupported", message))


def plan(meta: dict, tensors: dict, file: str, length: int | None = None):
    """(config, state, readout) of the TransformerLens model of a compiled transformer: the
    `TransformerBridgeConfig` fields (JSON), the bridge's state dict (numpy, its own key names),
    and what each group of logits means. `length`: build for sequences of exactly this length
    (needed only where a loop's trip count depends on the length)."""
    if meta.get("target") != "transformer":
        raise _refuse(file, f"a {meta.get('target')} network has no TransformerLens form; only "
                            "the transformer target's networks do")
    arch = meta["architecture"]
    N = arch["sizes"]["n"]
    if length is not None and not 1 <= length <= N:
        raise _refuse(file, f"length {length} is outside 1..{N}, the lengths the network was "
                            f"compiled for")
    order = _block_order(arch, N, file, length)
    blocks = arch["blocks"]
    for b, spec in enumerate(blocks):
        if len(spec["mlp"]) not in (0, 2):
            raise _refuse(file, f"block {b}'s MLP has {len(spec['mlp']) - 1} hidden layers; a "
                                f"TransformerLens block has one: compile with --mlp-layers 1")
    d0 = arch["d_model"]
    d = d0 + N + 1
    onehot = list(range(d0, d))
    dtype = np.float64 if arch["dtype"] == "float64" else np.float32
    n_heads = max([1] + [spec["heads"] for spec in blocks])
    d_head = max([1] + [spec.get("head_dim", 0) for spec in blocks]) + N + 1
    d_mlp = max([1] + [spec["mlp"][0] for spec in blocks if spec["mlp"]])
    penalty = 2 * arch["max_score"] + 2 * arch["score_scale"]
    state = {}
    E = tensors["embed.token"]
    state["embed.weight"] = _widen(E, d)
    P = _widen(tensors["embed.position"], d)
    P[np.arange(N + 1), onehot] = 1
    state["pos_embed.weight"] = P
    for layer, b in enumerate(order):
        _attention(state, f"blocks.{layer}.attn", tensors, blocks[b], b, n_heads, d_head, d0, d,
                   onehot, penalty, N)
        _mlp(state, f"blocks.{layer}.mlp", tensors, blocks[b], b, d_mlp, d0, d)
    readout, W_U, b_U = _unembedding(meta, arch, d, N, file)
    state["unembed.weight"] = W_U
    state["unembed.bias"] = b_U
    state = {k: np.ascontiguousarray(v, dtype) for k, v in state.items()}  # safetensors: C order
    config = {
        "model_name": f"nclang-{meta['program']}", "architecture": "TransformerLensNative",
        "d_model": d, "d_head": d_head, "n_heads": n_heads, "n_layers": len(order),
        "n_ctx": N + 1, "d_mlp": d_mlp, "d_vocab": int(E.shape[0]),
        "d_vocab_out": int(W_U.shape[0]), "act_fn": "relu", "normalization_type": None,
        "positional_embedding_type": "standard", "attention_dir": "bidirectional",
        "use_attn_scale": True, "attn_scale": ATTN_SCALE, "init_weights": False,
        "tokenizer_prepends_bos": False, "default_prepend_bos": False,
        # Hugging Face's name: TransformerBridgeConfig.from_dict drops it, boot_native takes it
        "torch_dtype": arch["dtype"],
    }
    vocab = list(meta["encodings"].get("vocab") or [])
    return config, state, {"program": meta["program"], "n": N, "length": length,
                           "vocab": vocab, "bos": len(vocab), "outputs": readout}


def _block_order(arch: dict, N: int, file: str, length: int | None) -> list[int]:
    """The blocks in running order, each loop's range repeated its trip count: the count must
    be the same at every length the model will see."""
    starts = {}
    for lp in arch.get("loops", []):
        lengths = [length] if length is not None else range(1, N + 1)
        trips = {max(formula.eval_int(lp["count"], {"n": L}), 0) for L in lengths}
        if len(trips) > 1:
            raise _refuse(file, f"the loop over blocks {lp['blocks'][0]}..{lp['blocks'][1]} runs "
                                f"{lp['count']} times, {min(trips)} to {max(trips)} as the length "
                                f"goes from 1 to {N}; a TransformerLens model has one number of "
                                f"layers: build one per length (length=L)")
        starts[lp["blocks"][0]] = (lp["blocks"][1], trips.pop())
    order, b = [], 0
    while b < len(arch["blocks"]):
        if b in starts:
            last, t = starts[b]
            order += list(range(b, last + 1)) * t
            b = last + 1
            continue
        order.append(b)
        b += 1
    return order


def _widen(v: np.ndarray, d: int) -> np.ndarray:
    out = np.zeros(v.shape[:-1] + (d,))
    out[..., :v.shape[-1]] = v
    return out


def _masked(kind: str | None, N: int) -> np.ndarray:
    """(N + 1, N + 1) booleans: query row i may not attend key row j (row 0 the BOS row), as
    the runtime masks: the BOS query sees only itself, a causal mask keeps the BOS key; "bos"
    (an unused head) sees the BOS key alone."""
    q = np.arange(N + 1).reshape(-1, 1)
    k = np.arange(N + 1).reshape(1, -1)
    causal = {None: np.zeros((N + 1, N + 1), bool), "le": k > q, "lt": k >= q, "ge": k < q,
              "gt": k <= q, "bos": np.ones((N + 1, N + 1), bool)}[kind] & (k != 0)
    return causal | ((q == 0) & (k != 0))


def _attention(state, at, tensors, spec, b, H, dh, d0, d, onehot, penalty, N):
    Wq, Wk, Wv = (np.zeros((H, d, dh)) for _ in range(3))
    Wo = np.zeros((H, dh, d))
    masks = spec.get("masks", []) if spec["heads"] else []
    for h in range(H):
        if h < spec["heads"]:
            e = spec["head_dim"]
            for nm, W in (("q", Wq), ("k", Wk), ("v", Wv)):
                W[h, :d0, :e] = tensors[f"blocks.{b}.attn.{nm}"][h]
            Wo[h, :e, :d0] = tensors[f"blocks.{b}.attn.o"][h]
            kind = masks[h]
        else:
            e, kind = 0, "bos"  # an unused head: it attends to the BOS row and writes nothing
        # score dimension e + i is 1 on query row i; key row j adds -P there where (i, j) is
        # masked
        M = -penalty * _masked(kind, N)
        Wq[h, onehot, e + np.arange(N + 1)] = 1
        Wk[h, onehot, e:e + N + 1] = M.T
    Wq *= ATTN_SCALE
    for nm, W in (("q", Wq), ("k", Wk), ("v", Wv)):
        state[f"{at}.{nm}.weight"] = W.transpose(0, 2, 1).reshape(H * dh, d)
        state[f"{at}.{nm}.bias"] = np.zeros(H * dh)
    state[f"{at}.o.weight"] = Wo.reshape(H * dh, d).T
    state[f"{at}.o.bias"] = np.zeros(d)


def _mlp(state, at, tensors, spec, b, d_mlp, d0, d):
    W_in, b_in = np.zeros((d_mlp, d)), np.zeros(d_mlp)
    W_out, b_out = np.zeros((d, d_mlp)), np.zeros(d)
    if spec["mlp"]:
        w = spec["mlp"][0]
        W_in[:w, :d0] = tensors[f"blocks.{b}.mlp.0.weight"]
        b_in[:w] = tensors[f"blocks.{b}.mlp.0.bias"]
        W_out[:d0, :w] = tensors[f"blocks.{b}.mlp.1.weight"]
        b_out[:d0] = tensors[f"blocks.{b}.mlp.1.bias"]
    state[f"{at}.in.weight"], state[f"{at}.in.bias"] = W_in, b_in
    state[f"{at}.out.weight"], state[f"{at}.out.bias"] = W_out, b_out


def _unembedding(meta, arch, d: int, N: int, file: str):
    """The readout groups and W_U (logits, d) with its bias, output by output."""
    one = arch["embedding"]["one"]
    results = meta.get("analysis", {}).get("ranges", {}).get("results", {})
    groups, cols = [], []  # cols: per logit, (channel, coefficient, constant)
    for o in meta["encodings"]["outputs"]:
        base = {"name": o["name"], "kind": o["kind"], "per_position": o["per_position"]}
        if o["kind"] == "token":
            groups.append(dict(base, part="value", start=len(cols), values=list(o["vocab"])))
            cols += [(ch, 1.0, 0.0) for ch in o["channels"]]
            continue
        parts = [("value", o["channels"][0])] if o["kind"] != "frac" else \
            [("num", o["channels"][0]), ("den", o["channels"][1])]
        for part, ch in parts:
            lo, hi = _value_range(o, part, results.get(o["name"]), N, file)
            values = list(range(lo, hi + 1))
            groups.append(dict(base, part=part, start=len(cols), values=values))
            cols += [(ch, float(c), -c * c / 2) for c in values]
    W = np.zeros((len(cols), d))
    bias = np.zeros(len(cols))
    for i, (ch, coef, const) in enumerate(cols):
        W[i, ch] = coef
        W[i, one] += const  # the always-1 channel: exact, where b_U would be too
    return groups, W, bias


def _value_range(o: dict, part: str, interval: dict | None, N: int, file: str):
    """The integers an output channel can hold at lengths 1..N, from the file's value ranges."""
    if o["kind"] == "bool":
        return 0, 1
    if part == "den":
        return 0, N
    if not interval or interval.get("lo") is None or interval.get("hi") is None \
            or interval.get("inf") or interval.get("neg_inf"):
        raise _refuse(file, f"output {o['name']} has no finite value range in the file, so no "
                            "unembedding can list its values")
    try:
        los = [formula.evaluate(formula.parse(interval["lo"]), {"n": L}) for L in range(1, N + 1)]
        his = [formula.evaluate(formula.parse(interval["hi"]), {"n": L}) for L in range(1, N + 1)]
    except formula.FormulaError as err:
        raise _refuse(file, f"output {o['name']}'s value range cannot be read: {err}") from None
    lo, hi = Fraction(min(los)), Fraction(max(his))
    if part == "num":  # a mean's sum over at most N positions
        lo, hi = min(lo * N, Fraction(0)), max(hi * N, Fraction(0))
    lo, hi = math.floor(lo), math.ceil(hi)
    if o["kind"] == "index" and interval.get("none"):
        lo = min(lo, -1)
    if hi - lo + 1 > MAX_CLASSES or max(abs(lo), abs(hi)) > MAX_CLASSES // 2:
        raise _refuse(file, f"output {o['name']} takes values {lo}..{hi}: too many for one "
                            f"logit per value (at most {MAX_CLASSES}, |value| <= "
                            f"{MAX_CLASSES // 2})")
    return lo, hi


# ---------------------------------------------------------------- torch and TransformerLens


def to_bridge(meta: dict, tensors: dict, file: str, length: int | None = None, device=None):
    """The `transformer_lens` `TransformerBridge` of a compiled transformer (see `plan`), with
    its readout as `model.nclang_readout` (what `decode` reads)."""
    return boot(*plan(meta, tensors, file, length), device=device)


def boot(config: dict, state: dict, readout: dict, device=None):
    """A TransformerBridge from `plan`'s config, state dict and readout (also what a folder
    written by `write_hf` holds): TransformerLens' native model, its weights loaded strictly."""
    import torch
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge.sources.native import boot as boot_native
    dtype = {"float32": torch.float32, "float64": torch.float64}[config["torch_dtype"]]
    cfg = TransformerBridgeConfig.from_dict(config)
    cfg.dtype = dtype
    model = boot_native(cfg, device=device, dtype=dtype)
    missing = model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in state.items()},
                                    strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys, missing
    model.eval()
    model.nclang_readout = readout
    return model


def tokens(model, sequences):
    """The token ids (B, 1 + L) of sequences of one length L, the BOS id first."""
    import torch
    readout = model.nclang_readout
    index = {v: i for i, v in enumerate(readout["vocab"])}
    unknown = sorted({repr(t) for seq in sequences for t in seq if t not in index})
    if unknown:
        raise ValueError(f"{', '.join(unknown)} not in the model's vocabulary "
                         f"({', '.join(map(str, readout['vocab']))})")
    rows = [[readout["bos"]] + [index[t] for t in seq] for seq in sequences]
    if len({len(r) for r in rows}) > 1:
        raise ValueError("tokens() takes sequences of one length; run other lengths apart")
    return torch.tensor(rows, dtype=torch.long, device=model.cfg.device)


def decode(model, logits, readout: dict | None = None) -> list[dict]:
    """The program's outputs, one dict per sequence (the interpreter's JSON values), from the
    logits (B, 1 + L, d_vocab_out) of sequences of length L: per output the argmax of its
    logits, after checking that they are an exact value's (ValueError if not). `readout`:
    the model's `nclang_readout` (default), or a Hugging Face folder's config["nclang"]."""
    readout = readout if readout is not None else model.nclang_readout
    z = logits.detach().to("cpu").double().numpy()
    out = []
    for row in z:
        values = {}
        for g in readout["outputs"]:
            if g["part"] == "den":
                continue
            got = [_read(row[i], g) for i in (range(1, len(row)) if g["per_position"] else [1])]
            if g["kind"] == "frac":
                den = next(h for h in readout["outputs"] if h["name"] == g["name"]
                           and h["part"] == "den")
                dens = [_read(row[i], den) for i in
                        (range(1, len(row)) if g["per_position"] else [1])]
                if 0 in dens:
                    raise ValueError(f"output {g['name']}: a mean over no position")
                got = [num / den for num, den in zip(got, dens)]
            elif g["kind"] == "bool":
                got = [bool(v) for v in got]
            elif g["kind"] == "index":
                got = [None if v == -1 else v for v in got]
            values[g["name"]] = got if g["per_position"] else got[0]
        out.append(values)
    return out


def _read(logits: np.ndarray, g: dict):
    """One group's value: the argmax, checked to be exact."""
    vals = g["values"]
    part = logits[g["start"]:g["start"] + len(vals)]
    best = int(part.argmax())
    if g["kind"] == "token":
        exact = np.isin(part, (0.0, 1.0)).all() and part.sum() == 1
    elif len(vals) > 1:  # l_c = c x - c^2 / 2, so x = l_(c0+1) - l_c0 + c0 + 1/2
        exact = part[1] - part[0] + vals[0] + 0.5 == vals[best]
    else:
        exact = True
    if not exact:
        raise ValueError(f"output {g['name']}: its logits are not an exact value's: {part}")
    return vals[best]
