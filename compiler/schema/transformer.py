"""The schema of a `transformer` weight file: its blocks and sublayers (attention heads, masks,
per-position MLPs), the residual stream's slots, its vocabulary and the kinds of its values."""
from __future__ import annotations

from .common import _formula, _nat, _pos, _str

SEQ_NAMES = ("n",)

SEQ_KINDS = ("token", "int", "bool", "index", "frac")
SEQ_MASKS = (None, "le", "lt", "ge", "gt")


def _transformer(meta: dict, tensors: dict) -> list[str]:
    arch, enc = meta["architecture"], meta["encodings"]
    sizes = arch.get("sizes", {})
    blocks, loops, d = arch.get("blocks"), arch.get("loops", []), arch.get("d_model")
    if not isinstance(blocks, list) or not isinstance(loops, list) or not _pos(d) \
            or not _pos(sizes.get("n")):
        return ["a transformer architecture needs 'blocks' (a list), 'd_model' and 'sizes' "
                "with 'n' (positive integers)"]
    vocab = enc.get("vocab", [])
    if vocab is None:
        vocab = []
    if not isinstance(vocab, list) or not all(
            _str(t) or (isinstance(t, int) and not isinstance(t, bool)) for t in vocab) \
            or len(set(map(repr, vocab))) != len(vocab):
        return ["encodings 'vocab' must be a list of distinct tokens (strings or integers)"]
    n = sizes["n"]
    p = []
    want = {"embed.token": (len(vocab) + 1, d), "embed.position": (n + 1, d)}
    for b, spec in enumerate(blocks):
        where = f"architecture blocks[{b}]"
        if not isinstance(spec, dict) or not _nat(spec.get("heads")) \
                or not isinstance(spec.get("mlp"), list) or not all(map(_pos, spec["mlp"])):
            p.append(f"{where} must have 'heads' (an integer) and 'mlp' (a list of widths)")
            continue
        if spec["heads"]:
            masks = spec.get("masks")
            if not isinstance(masks, list) or len(masks) != spec["heads"] \
                    or not all(m in SEQ_MASKS for m in masks):
                p.append(f"{where} must have one mask per head (null, le, lt, ge or gt)")
                continue
            q = tensors.get(f"blocks.{b}.attn.q")
            e = q.shape[2] if q is not None and q.ndim == 3 else None
            for nm in ("q", "k", "v"):
                want[f"blocks.{b}.attn.{nm}"] = (spec["heads"], d, e)
            want[f"blocks.{b}.attn.o"] = (spec["heads"], e, d)
        widths = spec["mlp"]
        if widths and widths[-1] != d:
            p.append(f"{where} mlp must end at d_model = {d}")
            continue
        for i, w in enumerate(widths):
            want[f"blocks.{b}.mlp.{i}.weight"] = (w, widths[i - 1] if i else d)
            want[f"blocks.{b}.mlp.{i}.bias"] = (w,)
    for k, shape in want.items():
        t = tensors.get(k)
        if t is None:
            p.append(f"tensor '{k}' is missing; the architecture needs it")
        elif t.shape != shape or t.dtype.kind != "f" or None in shape:
            p.append(f"tensor '{k}' has shape {t.shape} and dtype {t.dtype}; the architecture "
                     f"needs a float tensor of shape {tuple(x for x in shape if x is not None)}")
    p += [f"tensor '{k}' is not part of the architecture" for k in sorted(tensors)
          if k not in want]
    res = arch.get("residual", {})
    if not (isinstance(res, dict) and (res.get("sublayers") is None or _nat(res["sublayers"]))
            and isinstance(res.get("slots", []), list) and all(
                isinstance(sl, dict) and _str(sl.get("name"))
                and all(isinstance(sl.get(k), int) and not isinstance(sl.get(k), bool)
                        for k in ("from", "to"))
                and isinstance(sl.get("channels"), list) and all(map(_nat, sl["channels"]))
                for sl in res.get("slots", []))):
        p.append("architecture 'residual' must have 'sublayers' (an integer) and 'slots' "
                 "({name, from, to, channels})")
    last = -1
    for i, lp in enumerate(loops):
        where = f"architecture loops[{i}]"
        if not (isinstance(lp, dict) and isinstance(lp.get("blocks"), list)
                and len(lp["blocks"]) == 2 and all(map(_nat, lp["blocks"]))
                and last < lp["blocks"][0] <= lp["blocks"][1] < len(blocks)):
            p.append(f"{where} must have 'blocks': [first, last], inside the block list and "
                     f"after the loop before it")
            continue
        last = lp["blocks"][1]
        p += _formula(lp.get("count"), SEQ_NAMES, f"{where} count")
    ins, outs = enc["inputs"], enc["outputs"]
    if len(ins) != 1 or not ins[0]["type"].replace(" ", "").startswith("seq["):
        p.append("a transformer reads one input, the token sequence (a seq[...] type)")
    for i, o in enumerate(outs):
        where = f"encodings outputs[{i}] ('{o['name']}')"
        ch = o.get("channels")
        if o.get("kind") not in SEQ_KINDS or not isinstance(o.get("per_position"), bool) \
                or not isinstance(ch, list) or not ch \
                or not all(_nat(c) and c < d for c in ch):
            p.append(f"{where} must have 'kind' ({', '.join(SEQ_KINDS)}), 'per_position' (a "
                     f"Boolean) and 'channels' (residual channels below d_model = {d})")
            continue
        if o["kind"] == "token":
            voc = o.get("vocab")
            if not isinstance(voc, list) or len(voc) != len(ch) or not all(
                    _str(t) or (isinstance(t, int) and not isinstance(t, bool)) for t in voc):
                p.append(f"{where} must have a 'vocab' with one token per channel")
        elif len(ch) != (2 if o["kind"] == "frac" else 1):
            p.append(f"{where} must have {2 if o['kind'] == 'frac' else 1} channel(s)")
    return p
