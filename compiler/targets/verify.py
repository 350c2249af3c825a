"""The compiler's self-check: before a file is written, the network just built runs on the
boundary inputs its construction depends on (`nclang.compiler.testing.boundary`: every length
up to the compiled maximum, one-token sequences of every value, all-zero and all-one bits, the
bounds of every range) and must agree with the reference interpreter bit for bit. A
disagreement is a compiler bug, so it is an internal error (exit status 70) naming the output,
the input and the construct, never a file.

Both passes are numpy, not the torch runtime: `check`/`compile` import no torch (DESIGN.md).
They follow `nclang.compiler.runtime.mlp` / `nclang.compiler.runtime.transformer` operation for
operation in the file's dtype; the constructions are exact under any summation order, so numpy
agreeing where torch would not is itself a bug the property tests (`nclang test`, torch) would show.

The GNN target is not self-checked: its runtime interprets an instruction list with scatter
aggregations, and a second (numpy) interpreter of that list would be a second runtime to keep in
step, while its constructions have no length- or value-dependent tricks of the kind checked
here (tests/test_docs_compile.py and tests/test_target_gnn.py run its boundary cases in torch).

The inputs go in priority order (the first pick of every length and shape, then the second,
…), so a budget cut keeps the short lengths, where reads fall outside the sequence first; a
long maximum length is covered up to the budget, the rest by `nclang test`.

Cost: the interpreter on at most SELF_CHECK_CASES inputs (fewer once SELF_CHECK_SECONDS are
spent, or when the forward pass would pass SELF_CHECK_WORK multiply-adds) and one batched
forward pass; a stdlib compile takes 0.01-0.15 s longer (measured in the commit).
"""
from __future__ import annotations

import time

import numpy as np

from nclang.compiler import ir
from nclang.compiler.testing.boundary import boundary_instances, outputs_agree
from nclang.dsl.diagnostics import NclError
from nclang.dsl.interpreter import run as interpret

SELF_CHECK_CASES = 48
SELF_CHECK_MIN = 3
SELF_CHECK_SECONDS = 0.15
SELF_CHECK_WORK = 5e7


class SelfCheckError(RuntimeError):
    """The network the compiler built disagrees with the interpreter: a bug in nclang."""


def _budget(tensors, rows: int) -> int:
    """How many inputs the forward pass may take: SELF_CHECK_WORK multiply-adds in all, at
    about one per weight per row (multiply at k = 32, 10M weights, gets SELF_CHECK_MIN)."""
    per_input = max(1, rows * sum(int(t.size) for t in tensors.values()))
    return max(SELF_CHECK_MIN, min(SELF_CHECK_CASES, int(SELF_CHECK_WORK // per_input)))


def _cases(checked, sizes, max_n=None, vocab=None, limit=SELF_CHECK_CASES):
    """(input, interpreter's output) for the boundary inputs in their priority order (every
    length and shape first), as many as SELF_CHECK_SECONDS of interpreting allow, at least
    SELF_CHECK_MIN. The interpreter is where the time goes (multiply at k = 32 takes 0.1 s an
    input), and the check only decides whether to refuse: the file never depends on it."""
    out = []
    start = time.perf_counter()
    for inst in boundary_instances(checked, sizes, max_n=max_n, vocab=vocab, limit=limit):
        if len(out) >= SELF_CHECK_MIN and time.perf_counter() - start > SELF_CHECK_SECONDS:
            break
        try:
            out.append((inst, interpret(checked, inst)))
        except NclError:
            continue  # outside the program's domain: nothing to agree on
        except Exception:  # noqa: BLE001 - an interpreter bug is not this network's to report
            continue
    return out


def _fail(checked, target, inst, expected, got, bad) -> SelfCheckError:
    from nclang.compiler.testing.inputs import instance_to_json
    name = bad[0]
    shown = {k: (np.asarray(v).tolist() if hasattr(v, "tolist") else v) for k, v in got.items()}
    where = checked.program.span
    return SelfCheckError(
        f"self-check: the {target} network built for '{checked.program.name}' "
        f"({where.file}:{where.line}) disagrees with the interpreter on output '{name}' for "
        f"the boundary input {instance_to_json(checked, inst)}: expected "
        f"{np.asarray(expected[name]).tolist()}, got {shown.get(name)}; the file was not written")


def _check(checked, target, cases, outs):
    for (inst, expected), got in zip(cases, outs):
        bad = outputs_agree(checked, expected, got)
        if bad:
            raise _fail(checked, target, inst, expected, got, bad)


# ---------------------------------------------------------------- mlp

def verify_mlp(checked, artifact, sizes: dict[str, int], dtype: str) -> None:
    from nclang.compiler.runtime.encoding import decode_outputs, slots
    cases = _cases(checked, sizes, limit=_budget(artifact.tensors, 1))
    if not cases:
        return
    arch = artifact.architecture
    np_dtype = np.float64 if dtype == "float64" else np.float32
    width_in, width_out = arch["layers"][0]["in"], arch["layers"][-1]["out"]
    inputs, _ = slots(artifact.encodings["inputs"], "inputs", width_in)
    outputs, _ = slots(artifact.encodings["outputs"], "outputs", width_out)
    from nclang.compiler.runtime.encoding import encode_inputs
    x = encode_inputs([inst for inst, _ in cases], inputs, width_in).astype(np_dtype)
    for i, spec in enumerate(arch["layers"]):
        # einsum: single-threaded, so a loaded machine does not make it slow (see below)
        x = np.einsum("bi,oi->bo", x, artifact.tensors[f"layers.{i}.weight"]) + \
            artifact.tensors[f"layers.{i}.bias"]
        if spec["act"] == "relu":
            x = np.maximum(x, np_dtype(0))
        elif spec["act"] == "step":
            x = (x >= 0).astype(np_dtype)
    _check(checked, "mlp", cases, decode_outputs(x.astype(np.float64), outputs, "exact"))


# ---------------------------------------------------------------- transformer

def _softmax(s: np.ndarray) -> np.ndarray:
    m = s.max(axis=-1, keepdims=True)
    e = np.exp(s - m)
    return e / e.sum(axis=-1, keepdims=True)


def _transformer_forward(tensors, arch, toks, lengths, trips, np_dtype):
    """nclang.compiler.runtime.transformer.Transformer.forward in numpy. einsum, not matmul: its
    loops are single-threaded, while a threaded BLAS on a loaded machine turned 0.05 s into
    2.5 s."""
    t = {k: v.astype(np_dtype) for k, v in tensors.items()}
    B, L = toks.shape
    x = t["embed.token"][toks] + t["embed.position"][:L][None]
    rows = np.arange(L)
    valid = rows[None, :] <= lengths[:, None]
    q_row, k_row = rows.reshape(L, 1), rows.reshape(1, L)
    bos_only = (q_row == 0) & (k_row != 0)
    masks = {None: np.zeros((L, L), bool), "le": (k_row > q_row) & (k_row != 0),
             "lt": (k_row >= q_row) & (k_row != 0), "ge": (k_row < q_row) & (k_row != 0),
             "gt": (k_row <= q_row) & (k_row != 0)}
    order, b = [], 0
    spec_blocks = arch["blocks"]
    starts = {lp["blocks"][0]: (lp, n) for lp, n in zip(arch.get("loops", []), trips)}
    while b < len(spec_blocks):
        if b in starts:
            lp, n = starts.pop(b)
            first, last = lp["blocks"]
            order += list(range(first, last + 1)) * n
            b = max(last + 1, first)
            continue
        order.append(b)
        b += 1
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for b in order:
            spec = spec_blocks[b]
            if spec["heads"]:
                q = np.einsum("bld,hde->bhle", x, t[f"blocks.{b}.attn.q"])
                k = np.einsum("bld,hde->bhle", x, t[f"blocks.{b}.attn.k"])
                v = np.einsum("bld,hde->bhle", x, t[f"blocks.{b}.attn.v"])
                s = np.einsum("bhle,bhme->bhlm", q, k)
                m = np.stack([masks[mk] for mk in spec["masks"]])[None]
                m = m | bos_only | ~valid[:, None, None, :]
                s = np.where(m, np_dtype(-np.inf), s)
                o = np.einsum("bhlm,bhme->bhle", _softmax(s), v)
                x = x + np.einsum("bhle,hed->bld", o, t[f"blocks.{b}.attn.o"])
            n_mlp = len(spec["mlp"])
            if n_mlp:
                h = x
                for i in range(n_mlp):
                    h = np.einsum("bld,wd->blw", h, t[f"blocks.{b}.mlp.{i}.weight"]) + \
                        t[f"blocks.{b}.mlp.{i}.bias"]
                    if i < n_mlp - 1:
                        h = np.maximum(h, np_dtype(0))
                x = x + h
    return x.astype(np.float64)


def _transformer_decode(x: np.ndarray, outputs: list[dict], n: int) -> dict:
    """nclang.compiler.runtime.transformer.TransformerNet._decode (the exact readout) in numpy."""
    out = {}
    for o in outputs:
        rows = x[1:n + 1] if o["per_position"] else x[1:2]
        vals = rows[:, o["channels"]]
        kind = o["kind"]
        if kind == "token":
            voc = o["vocab"]
            ok = np.isin(vals, (0.0, 1.0)).all() and (vals.sum(1) == 1).all()
            res = np.array([voc[int(r.argmax())] for r in vals], dtype=object) if ok \
                else vals.sum(1) + 0.5
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
            res = np.array(res[0], dtype=res.dtype)
        out[o["name"]] = res
    return out


def verify_transformer(checked, artifact, n: int, dtype: str, loop_counts, vocab) -> None:
    """`loop_counts`: per loop of the architecture, its trip count as a sympy expression in n."""
    cases = _cases(checked, {"n": n}, max_n=n, vocab=vocab,
                   limit=_budget(artifact.tensors, n + 1))
    if not cases:
        return
    enc = artifact.encodings
    np_dtype = np.float64 if dtype == "float64" else np.float32
    name = enc["inputs"][0]["name"] if enc["inputs"] else None
    index = {v: i for i, v in enumerate(enc.get("vocab") or [])}
    groups: dict[tuple, list[int]] = {}
    for i, (inst, _) in enumerate(cases):
        L = inst.sizes["n"]
        trips = tuple(max(ir.size_int(c, {"n": L}), 0) for c in loop_counts)
        groups.setdefault(trips, []).append(i)
    outs: list = [None] * len(cases)
    for trips, members in groups.items():
        Ls = [cases[i][0].sizes["n"] for i in members]
        toks = np.full((len(members), 1 + max(Ls)), len(index), np.int64)
        for r, i in enumerate(members):
            if name is None:
                continue
            seq = np.asarray(cases[i][0].values[name]).reshape(-1).tolist()
            for j, tk in enumerate(seq):
                key = tk if isinstance(tk, str) else int(tk)
                if key not in index:  # a value the network was not built for: not checkable
                    toks = None
                    break
                toks[r, j + 1] = index[key]
            if toks is None:
                break
        if toks is None:
            for i in members:
                outs[i] = cases[i][1]
            continue
        x = _transformer_forward(artifact.tensors, artifact.architecture, toks,
                                 np.array(Ls, np.int64), trips, np_dtype)
        for r, i in enumerate(members):
            outs[i] = _transformer_decode(x[r], enc["outputs"], Ls[r])
    _check(checked, "transformer", cases, outs)


__all__ = ["SELF_CHECK_CASES", "SelfCheckError", "verify_mlp", "verify_transformer"]
