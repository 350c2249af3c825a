"""The compiler's self-check (compiler/targets/verify.py): a network that disagrees with the
interpreter on a boundary input is never written — compile stops with an internal error (exit 70)
naming the program, the output and the input; a correct one costs a stdlib compile little; and
neither the check nor compile imports torch or hypothesis."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nclang.compiler.targets import verify as V
from nclang.compiler.targets.mlp import compile_mlp
from nclang.compiler.targets.transformer import compile_transformer
from nclang.dsl.checker import check_source

REPO = Path(__file__).resolve().parents[1]
RISING = ("program rising(tokens: seq[int[0..9]]) -> seq[bool] {\n"
          "    up[i] = i > 0 and tokens[i - 1] < tokens[i]\n    return up\n}\n")


def _checked(text, name="p.ncl"):
    (c,) = check_source(text, name)
    return c


def test_a_perturbed_mlp_is_caught_on_a_boundary_input():
    c = _checked((REPO / "stdlib/bits/add.ncl").read_text(), "add.ncl")
    art = compile_mlp(c, {"k": 8}, self_check=False)
    V.verify_mlp(c, art, {"k": 8}, "float32")  # the compiled one passes
    art.tensors["layers.0.bias"] = art.tensors["layers.0.bias"] + np.float32(0.5)
    with pytest.raises(V.SelfCheckError, match=r"'add' .* output 's' .*boundary input"):
        V.verify_mlp(c, art, {"k": 8}, "float32")


def test_a_perturbed_transformer_is_caught_on_a_boundary_input():
    c = _checked(RISING)
    art = compile_transformer(c, {"n": 8}, self_check=False)
    V.verify_transformer(c, art, 8, "float32", [], None)
    last = max(k for k in art.tensors if k.endswith(".bias") and ".mlp." in k)
    art.tensors[last] = art.tensors[last] + np.float32(0.25)
    with pytest.raises(V.SelfCheckError, match="rising"):
        V.verify_transformer(c, art, 8, "float32", [], None)


def test_the_unfixed_guarded_read_would_have_been_refused(monkeypatch):
    # the miscompile of issue 12 #1, rebuilt by undoing the fix in the gather: the self-check
    # refuses it at compile instead of writing a file that answers true on [1]
    from nclang.compiler.targets.transformer import attention as TT
    original = TT.AttentionMixin.gather

    def unfixed(self, op):
        table = self.leaf_slot(op.table)
        idx = self.fn(op.index[0])
        lit = ("atom", "eq", TT._leaf(self._pos_value()), idx)
        fake = TT.ir.Aggregate(op.out, "only", 1, None, None, None, None, op.span)
        q, k, mask = self.features([lit], fake, False)
        out = self.slot("gather", table.width, table.onehot, table.domain)
        v = [[(table, ch, 1)] for ch in range(table.width)]
        return self.head(q, k, v, out, mask, "gather", op.span)

    monkeypatch.setattr(TT.AttentionMixin, "gather", unfixed)
    with pytest.raises(V.SelfCheckError, match=r"output 'up'"):
        compile_transformer(_checked(RISING), {"n": 8})
    monkeypatch.setattr(TT.AttentionMixin, "gather", original)
    compile_transformer(_checked(RISING), {"n": 8})


def test_self_check_stops_compile_with_exit_70_and_writes_nothing(tmp_path, monkeypatch,
                                                                   capsys):
    from nclang.compiler import cli

    def broken(*args, **kwargs):
        raise V.SelfCheckError("self-check: the mlp network built for 'parity' disagrees")
    monkeypatch.setattr(V, "verify_mlp", broken)
    out = tmp_path / "p.safetensors"
    code = cli.main(["compile", str(REPO / "stdlib/bits/parity.ncl"), "--size", "k=4",
                     "-o", str(out)])
    assert code == 70 and not out.exists()
    assert "self-check" in capsys.readouterr().err


@pytest.mark.parametrize("path, sizes", [("stdlib/bits/add.ncl", {"k": 32}),
                                         ("stdlib/seq/sort.ncl", {"n": 16}),
                                         ("stdlib/seq/dyck2.ncl", {"n": 16})])
def test_self_check_costs_little(path, sizes):
    c = _checked((REPO / path).read_text(), path)
    compile_ = compile_mlp if "k" in sizes else compile_transformer
    art = compile_(c, sizes, self_check=False)
    start = time.perf_counter()
    if "k" in sizes:
        V.verify_mlp(c, art, sizes, "float32")
    else:
        V.verify_transformer(c, art, sizes["n"], "float32", [], None)
    assert time.perf_counter() - start < 2.0  # 0.02-0.06 s measured; slack for a busy machine


def test_compile_with_self_check_imports_neither_torch_nor_hypothesis(tmp_path):
    code = (
        "import sys\n"
        "from nclang.compiler.cli import main\n"
        f"assert main(['compile', {str(REPO / 'stdlib/seq/reverse.ncl')!r}, '--size', 'n=4',"
        f" '-o', {str(tmp_path / 'r.safetensors')!r}]) == 0\n"
        f"assert main(['compile', {str(REPO / 'stdlib/bits/add.ncl')!r}, '--size', 'k=4',"
        f" '-o', {str(tmp_path / 'a.safetensors')!r}]) == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'hypothesis' not in sys.modules, 'hypothesis was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
