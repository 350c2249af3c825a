"""Benchmark of the transformer target against tracr's published figures
(../shared/anchors/tracr.md): for each stdlib/seq program at tracr's lengths L and vocabulary
sizes V, compile with `--size n=L` (and `--vocab` of V tokens where the program's type does not
fix it), then print layers (blocks), attention layers, heads, residual width with and without
liveness reuse, parameters (total and nonzero), compile time, and exactness on random inputs of
random length 1..L (the interpreter is the judge; no tolerance).

    python bench/transformer.py                 # every program, L = 5 10 20, 200 inputs each
    python bench/transformer.py --programs sort reverse --lengths 16 64 --inputs 500
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# tracr's vocabularies for its counterparts of our programs (tracr.md)
VOCAB = {"length": "a,b,c", "reverse": "a,b,c", "hist": "a,b,c", "frac_prevs": "a,b,c",
         "pair_balance": "(,)", "dyck1": "(,)", "dyck2": "(,),{,}", "most_freq": "a,b,c"}
PROGRAMS = ("length", "reverse", "hist", "sort_unique", "sort", "frac_prevs", "pair_balance",
            "dyck1", "dyck2", "most_freq")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--programs", nargs="+", default=list(PROGRAMS))
    ap.add_argument("--lengths", nargs="+", type=int, default=[5, 10, 20])
    ap.add_argument("--inputs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from nclang.compiler.driver import compile_checked, read_source
    from nclang.compiler.runtime import load
    from nclang.dsl.checker import check_source
    from nclang.dsl.interpreter import run
    from nclang.dsl.values import Instance
    from nclang.compiler.testing.property import outputs_agree
    rng = np.random.default_rng(args.seed)
    print("| program | L | V | blocks | attn layers | heads | d_model (no reuse) | params "
          "(nonzero) | compile s | exact |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.programs:
            src = read_source(os.path.join(ROOT, "stdlib", "seq", f"{name}.ncl"))
            checked = check_source(src.text, src.file)[0]
            for L in args.lengths:
                vocab = tuple(VOCAB[name].split(",")) if name in VOCAB else None
                out = os.path.join(tmp, f"{name}{L}.safetensors")
                t0 = time.perf_counter()
                res = compile_checked(src, checked, out, sizes={"n": L}, vocab=vocab)
                secs = time.perf_counter() - t0
                arch = res.meta["architecture"]
                total = sum(t.size for t in res.tensors.values())
                nonzero = sum(int(np.count_nonzero(t)) for t in res.tensors.values())
                net = load(out)
                voc = res.meta["encodings"]["vocab"]
                insts, good = [], 0
                for _ in range(args.inputs):
                    n = int(rng.integers(1, L + 1))
                    if name == "sort_unique":
                        toks = rng.permutation(64)[:n].astype(float)
                    elif isinstance(voc[0], str):
                        toks = np.array([voc[i] for i in rng.integers(0, len(voc), n)], object)
                    else:
                        toks = rng.integers(0, 64, n).astype(float)
                    insts.append(Instance(sizes={"n": n}, values={"tokens": toks}))
                for inst, got in zip(insts, net.run(insts)):
                    good += not outputs_agree(checked, run(checked, inst), got)
                print(f"| {name} | {L} | {len(voc)} | {arch['depth']} | "
                      f"{arch['attention_layers']} | {arch['heads']} | {arch['d_model']} "
                      f"({arch['d_model_without_reuse']}) | {total:,} ({nonzero:,}) | "
                      f"{secs:.2f} | {good}/{len(insts)} |", flush=True)


if __name__ == "__main__":
    main()
