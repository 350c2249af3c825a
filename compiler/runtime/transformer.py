"""Runtime for the `transformer` family: token and position embeddings, then blocks of
multi-head attention and a relu MLP, each added to the residual stream (docs/weights.md).

Row 0 of every sequence is the beginning-of-sequence (BOS) row; token i sits at row i + 1.
Attention scores are plain q·k (the compiler scaled W_Q already), masked so that padding rows
are never attended, the BOS row attends to itself only, and a head with a causal mask
(`le`, `lt`, `ge`, `gt`: key position against query position) keeps the BOS key always. Outputs
are read from the residual stream's channels: per-position values at rows 1..n, global values at
row 1. A `frac` output is a (sum, count) pair divided once in float64. A `repeat` is a range
of blocks (architecture["loops"]) run as many times as its count, evaluated exactly from each
sequence's length; sequences with different counts run in separate passes.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nclang.dsl.diagnostics import Diagnostic, NclError
from nclang.dsl.values import Instance

from . import CompiledNet, exact_matmul
from .encoding import nearest
from .gnn import size_at


class Transformer(nn.Module):
    """A compiled transformer file as a module: `Transformer(meta["architecture"])`, then
    `load_state_dict(load_file(path), strict=True)`. Every tensor the architecture lists is a
    parameter under its file name (`embed.token`, `blocks.0.attn.q`, `blocks.0.mlp.1.weight`),
    registered in name order."""

    def __init__(self, arch: dict):
        super().__init__()
        self.blocks_spec = arch["blocks"]
        self.loops = arch.get("loops", [])
        for name, spec in sorted(arch["tensors"].items()):
            *path, leaf = name.split(".")
            mod: nn.Module = self
            for part in path:
                if part not in mod._modules:
                    mod.add_module(part, nn.Module())
                mod = mod._modules[part]
            # storage for load_state_dict to copy into, not a random init it would overwrite
            dtype = getattr(torch, arch.get("dtype", "float32"))
            mod.register_parameter(leaf, nn.Parameter(torch.empty(spec["shape"], dtype=dtype)))

    def t(self, name):
        return self.get_parameter(name)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor, trips=(),
                record=None) -> torch.Tensor:
        """The residual stream (B, L, d_model) after the last block. `tokens` (B, L): token ids,
        row 0 the BOS id (V), rows past a sequence's end any id; `lengths` (B,): each sequence's
        real length (rows 1..length are its tokens). `trips`: per loop of the architecture, how
        many times its blocks run (the same for every sequence of the batch). `record(name, h)`
        sees each MLP hidden layer's post-activation state (B, L, width), for training."""
        B, L = tokens.shape
        x = self.t("embed.token")[tokens] + self.t("embed.position")[:L].unsqueeze(0)
        rows = torch.arange(L, device=x.device)
        valid = rows.unsqueeze(0) <= lengths.unsqueeze(1)  # (B, L): BOS and real rows
        q_row, k_row = rows.view(L, 1), rows.view(1, L)
        bos_only = (q_row == 0) & (k_row != 0)
        masks = {None: torch.zeros(L, L, dtype=torch.bool, device=x.device),
                 "le": (k_row > q_row) & (k_row != 0), "lt": (k_row >= q_row) & (k_row != 0),
                 "ge": (k_row < q_row) & (k_row != 0), "gt": (k_row <= q_row) & (k_row != 0)}
        order = []  # the blocks in running order: a loop's range repeated trips times
        b = 0
        starts = {lp["blocks"][0]: (lp, t) for lp, t in zip(self.loops, trips)}
        while b < len(self.blocks_spec):
            if b in starts:
                lp, t = starts.pop(b)
                first, last = lp["blocks"]
                order += list(range(first, last + 1)) * t
                b = max(last + 1, first)
                continue
            order.append(b)
            b += 1
        for b in order:
            spec = self.blocks_spec[b]
            if spec["heads"]:
                q = torch.einsum("bld,hde->bhle", x, self.t(f"blocks.{b}.attn.q"))
                k = torch.einsum("bld,hde->bhle", x, self.t(f"blocks.{b}.attn.k"))
                v = torch.einsum("bld,hde->bhle", x, self.t(f"blocks.{b}.attn.v"))
                s = q @ k.transpose(-1, -2)
                m = torch.stack([masks[mk] for mk in spec["masks"]])  # (H, L, L)
                m = m.unsqueeze(0) | bos_only | ~valid.view(B, 1, 1, L)
                s = s.masked_fill(m, float("-inf"))
                w = torch.softmax(s, dim=-1)
                o = w @ v
                x = x + torch.einsum("bhle,hed->bld", o, self.t(f"blocks.{b}.attn.o"))
            n_mlp = len(spec["mlp"])
            if n_mlp:
                h = x
                for i in range(n_mlp):
                    h = (h @ self.t(f"blocks.{b}.mlp.{i}.weight").T
                         + self.t(f"blocks.{b}.mlp.{i}.bias"))
                    if i < n_mlp - 1:
                        h = torch.relu(h)
                        if record is not None:
                            record(f"blocks.{b}.mlp.{i}", h)
                x = x + h
        return x


class TransformerNet(CompiledNet):
    def __init__(self, file, meta, module, device, dtype):
        super().__init__(file, meta, module, device, dtype)
        enc = meta["encodings"]
        self.inputs, self.outputs = enc["inputs"], enc["outputs"]
        self.vocab = enc.get("vocab") or []
        self.max_n = meta["architecture"]["sizes"]["n"]
        self.loops = meta["architecture"].get("loops", [])

    def run(self, instances) -> list[dict]:
        if not instances:
            return []
        toks, lengths, groups = self.encode(instances)
        results: list = [None] * len(instances)
        for trips, members in groups.items():
            sel = np.array(members)
            with exact_matmul(), torch.inference_mode():
                x = self.module(torch.from_numpy(toks[sel]).to(self.device),
                                torch.from_numpy(lengths[sel]).to(self.device), trips)
            x = x.to("cpu", torch.float64).numpy()
            for r, b in enumerate(members):
                results[b] = self.decode(x[r], int(lengths[b]))
        return results

    def encode(self, instances):
        """(token ids (B, L) with BOS at row 0, lengths (B,), {trip counts: [instance
        indices]}): the module's inputs, one forward pass per group of sequences that share
        their loops' trip counts."""
        name = self.inputs[0]["name"]
        index = {v: i for i, v in enumerate(self.vocab)}
        L = 1 + max(len(inst.values[name]) for inst in instances)
        if L - 1 > self.max_n:
            raise self._bad(f"input {name} has {L - 1} tokens; the network was compiled for at "
                            f"most n = {self.max_n} (compile with a larger --size n)")
        toks = np.full((len(instances), L), len(self.vocab), np.int64)
        lengths = np.zeros(len(instances), np.int64)
        for b, inst in enumerate(instances):
            seq = list(np.asarray(inst.values[name]).reshape(-1).tolist())
            for i, t in enumerate(seq):
                key = t if isinstance(t, str) else int(t)
                if key not in index:
                    raise self._bad(f"input {name}[{i}] is {t!r}, which is not in the network's "
                                    f"vocabulary ({', '.join(map(str, self.vocab))}); compile "
                                    f"with --vocab to add it")
                toks[b, i + 1] = index[key]
            lengths[b] = len(seq)
        # a repeat runs its blocks a number of times that depends on the length: one forward
        # pass per group of sequences with the same trip counts
        groups: dict[tuple, list[int]] = {}
        for b in range(len(instances)):
            trips = tuple(max(size_at(self.file, lp["count"], {"n": int(lengths[b])},
                                   "loop count"), 0)
                          for lp in self.loops)
            groups.setdefault(trips, []).append(b)
        return toks, lengths, groups

    def refusals(self, instance: Instance) -> list[tuple[str, tuple[int, ...], str]]:
        name = self.inputs[0]["name"]
        seq = list(np.asarray(instance.values[name]).reshape(-1).tolist())
        if len(seq) > self.max_n:
            return [(name, (), f"{name} has {len(seq)} tokens; the network {self.file} was "
                               f"compiled for at most n = {self.max_n} (compile with a larger "
                               f"--size n)")]
        index = set(self.vocab)
        out = []
        for i, t in enumerate(seq):
            if (t if isinstance(t, str) else int(t)) not in index:
                out.append((name, (i,), f"{name}[{i}]: {t!r} is not in the vocabulary of "
                                        f"{self.file} ({', '.join(map(str, self.vocab))}); "
                                        f"compile with --vocab to add it"))
        return out

    def _bad(self, message: str) -> NclError:
        # an input this network was not built for is the user's to fix, not a bug (exit 1)
        return NclError(Diagnostic(self.file, 1, 1, 1, 1, "error", "bad-input", message))

    def decode(self, x: np.ndarray, n: int) -> dict:
        """One sequence's outputs from its residual stream x (L, d_model) and length n."""
        out = {}
        for o in self.outputs:
            rows = x[1:n + 1] if o["per_position"] else x[1:2]
            vals = rows[:, o["channels"]]
            kind = o["kind"]
            if self.readout == "nearest":
                res = self._nearest(vals, o, n)
            elif kind == "token":
                voc = o["vocab"]
                ok = np.isin(vals, (0.0, 1.0)).all() and (vals.sum(1) == 1).all()
                res = np.array([voc[int(r.argmax())] for r in vals], dtype=object) if ok \
                    else vals.sum(1) + 0.5  # not a one-hot: a visible non-token number
            elif kind == "frac":
                num, den = vals[:, 0], vals[:, 1]
                exact = (num == np.round(num)).all() and (den == np.round(den)).all() and \
                    (den >= 1).all()
                res = num / den if exact else num + 0.5
            elif kind == "bool":
                v = vals[:, 0]
                res = v.astype(np.bool_) if np.isin(v, (0.0, 1.0)).all() else v
            elif kind == "index":
                v = vals[:, 0]
                res = v.astype(np.int64) if ((v == np.round(v)) & (v >= -1)).all() else v
            else:
                res = vals[:, 0].astype(np.float64)
            if not o["per_position"]:
                res = np.array(res[0], dtype=res.dtype)  # a 0-d array, object for a token
            out[o["name"]] = res
        return out

    @staticmethod
    def _nearest(vals: np.ndarray, o: dict, n: int) -> np.ndarray:
        """A trained file's readout (`readout: "nearest"`): the token of the largest channel,
        a fraction num / den (0 where den is 0), else `encoding.nearest`."""
        kind = o["kind"]
        if kind == "token":
            return np.array([o["vocab"][int(r.argmax())] for r in vals], dtype=object)
        if kind == "frac":
            num, den = np.nan_to_num(vals[:, 0]), np.nan_to_num(vals[:, 1])
            return np.where(den != 0, num / np.where(den != 0, den, 1.0), 0.0)
        return nearest(vals[:, 0], kind, o.get("type", ""), n)

    def inexact(self, outputs: dict) -> list[str]:
        if self.readout == "nearest":
            return []  # a trained file's outputs are read as valid values
        problems = []
        for o in self.outputs:
            v = np.asarray(outputs[o["name"]])
            kind = o["kind"]
            if kind == "token":
                bad = v.dtype != object
            elif kind == "bool":
                bad = v.dtype != np.bool_
            elif kind == "index":
                bad = v.dtype != np.int64
            elif kind == "int":
                bad = not (v == np.round(v)).all()
            else:
                bad = False
            if bad:
                problems.append(f"output {o['name']} is not an exact {kind}")
        return problems


def build(file: str, tensors: dict, meta: dict, device, dtype) -> TransformerNet:
    arch = meta["architecture"]
    problems = []
    for b, spec in enumerate(arch.get("blocks", [])):
        for nm in ("q", "k", "v", "o") if spec.get("heads") else ():
            if f"blocks.{b}.attn.{nm}" not in tensors:
                problems.append(f"tensor 'blocks.{b}.attn.{nm}' is missing")
        for i in range(len(spec.get("mlp", []))):
            if f"blocks.{b}.mlp.{i}.weight" not in tensors:
                problems.append(f"tensor 'blocks.{b}.mlp.{i}.weight' is missing")
    if problems:
        raise NclError([Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights", p) for p in problems])
    module = Transformer(arch)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()}
    module.load_state_dict(state, strict=True, assign=True)
    module = module.to(device=device, dtype=dtype).train(False)
    module.requires_grad_(False)
    return TransformerNet(file, meta, module, device, dtype)
