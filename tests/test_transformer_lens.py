"""Compiled transformers in TransformerLens: `--mlp-layers 1` fits every stdlib sequence program
to TransformerLens' block shape with the self-check's exactness; `Network.to_transformer_lens()`
computes the interpreter's outputs exactly in TransformerLens' own float32 forward (per-head
masks, the BOS row, loops unrolled); the Hugging Face-style folder loads in TransformerLens
with its own calls and gives the same logits, bit for bit."""
from __future__ import annotations

import doctest
import functools
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nclang
import strategies as S
from cli_inprocess import cli
from nclang.dsl.diagnostics import NclError

torch = pytest.importorskip("torch")
pytest.importorskip("transformer_lens")

from nclang.compiler.export import hf  # noqa: E402
from nclang.compiler.export import transformer_lens as T  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
N = 8
ABZ = ("a", "b", "z")  # the default vocabulary's extra tokens
INPUTS = {  # (dyck_seqs may close what it opened past max_len)
    "dyck1": S.dyck_seqs(kinds=1, max_len=N - 2).filter(lambda x: len(x["tokens"]) <= N),
    "dyck2": S.dyck_seqs(kinds=2, max_len=N - 2).filter(lambda x: len(x["tokens"]) <= N),
    "frac_prevs": S.token_seqs(ABZ, max_len=N), "hist": S.token_seqs(ABZ, max_len=N),
    "length": S.token_seqs(ABZ, max_len=N), "most_freq": S.token_seqs(ABZ, max_len=N),
    "pair_balance": S.token_seqs(S.PARENS + ("a",), max_len=N),
    "reverse": S.token_seqs(ABZ, max_len=N), "sort": S.int_seqs(max_len=N),
    "sort_unique": S.int_seqs(max_len=N, unique=True),
}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # a forward of these small models is ~20 ms on one thread and ten times that when torch's
    # threads fight the other test workers for two cores
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@functools.cache
def compiled(name: str):
    """A stdlib seq program: (checked program, network with --mlp-layers 1, its model), built
    once (not a fixture: hypothesis would print the model in a falsifying example)."""
    prog = nclang.check(f"stdlib/seq/{name}.ncl")
    net = nclang.compile(prog, sizes={"n": N}, mlp_layers=1)
    return prog, net, net.to_transformer_lens()


@pytest.fixture(scope="module")
def models():
    return {name: compiled(name) for name in INPUTS}


def test_every_seq_program_is_covered():
    assert sorted(f"seq/{k}" for k in INPUTS) == S.family("seq")


def test_mlp_layers_1_gives_every_block_one_hidden_layer(models):
    for name, (_, net, model) in models.items():
        blocks = net.architecture["blocks"]
        assert all(len(b["mlp"]) in (0, 2) for b in blocks), name
        assert net.meta["options"]["mlp_layers"] == 1
        assert model.cfg.n_layers == len(blocks) and model.cfg.normalization_type is None
        assert model.cfg.act_fn == "relu" and model.cfg.attention_dir == "bidirectional"


def _run_mlps(arch, tensors, x):
    """The residual after every block's MLP (x += mlp(x)), in float64 numpy."""
    for b, spec in enumerate(arch["blocks"]):
        h = x
        for i in range(len(spec["mlp"])):
            h = h @ tensors[f"blocks.{b}.mlp.{i}.weight"].T + tensors[f"blocks.{b}.mlp.{i}.bias"]
            h = np.maximum(h, 0) if i < len(spec["mlp"]) - 1 else h
        x = x + h if spec["mlp"] else x
    return x


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_splitting_deep_mlps_computes_the_unsplit_values(k):
    # MLPs of 4, 1 and 0 hidden layers with integer weights (every sum exact in any order),
    # split to at most k hidden layers per block: the same residual, scratch channels zero again
    from nclang.compiler.targets.transformer.mlp_split import split_mlps
    from nclang.compiler.targets.transformer.slots import TransformerArtifact
    rng = np.random.default_rng(k)
    d = 5
    tensors = {"embed.token": np.zeros((3, d), np.float32),
               "embed.position": np.zeros((4, d), np.float32)}
    blocks = []
    for b, widths in enumerate([[7, 6, 4, 3, d], [4, d], []]):
        for i, (w, prev) in enumerate(zip(widths, [d] + widths)):
            tensors[f"blocks.{b}.mlp.{i}.weight"] = rng.integers(-3, 4, (w, prev)).astype(
                np.float32)
            tensors[f"blocks.{b}.mlp.{i}.bias"] = rng.integers(-3, 4, w).astype(np.float32)
        blocks.append({"heads": 0, "masks": [], "what": [f"task {b}"], "mlp": widths})
    arch = {"d_model": d, "d_model_without_reuse": d, "blocks": blocks, "depth": 3,
            "loops": [{"blocks": [0, 1], "count": "2"}],
            "residual": {"width": d, "width_without_reuse": d, "sublayers": 6, "slots": []}}
    split = split_mlps(TransformerArtifact(tensors, arch, {}), k)
    new = split.architecture
    assert all(len(b["mlp"]) - 1 <= k for b in new["blocks"])
    assert new["depth"] == 2 + -(-4 // k)
    assert new["loops"][0]["blocks"] == [0, new["depth"] - 2]
    x = rng.integers(-9, 10, (20, d)).astype(np.float64)
    wide = np.zeros((20, new["d_model"]))
    wide[:, :d] = x
    got = _run_mlps(new, {t: v.astype(np.float64) for t, v in split.tensors.items()}, wide)
    want = _run_mlps(arch, {t: v.astype(np.float64) for t, v in tensors.items()}, x)
    assert np.array_equal(got[:, :d], want) and not got[:, d:].any()


def test_the_models_weights_are_the_files(models):
    from nclang.compiler import weights
    _, net, model = models["dyck2"]
    tensors, _ = weights.read_weights_bytes(net.to_bytes())
    d = net.architecture["d_model"]
    assert torch.equal(model.W_E[:, :d], torch.from_numpy(tensors["embed.token"]))
    assert torch.equal(model.W_pos[:, :d], torch.from_numpy(tensors["embed.position"]))
    for b, spec in enumerate(net.architecture["blocks"]):
        if spec["heads"]:
            e = spec["head_dim"]
            assert torch.equal(model.blocks[b].attn.W_V[:spec["heads"], :d, :e],
                               torch.from_numpy(tensors[f"blocks.{b}.attn.v"]))
        if spec["mlp"]:
            w = spec["mlp"][0]
            assert torch.equal(model.blocks[b].mlp.W_in[:d, :w],
                               torch.from_numpy(tensors[f"blocks.{b}.mlp.0.weight"]).T)
    # one logit per value of the one boolean output: false, true
    assert model.W_U.shape == (model.cfg.d_model, 2)


def test_the_default_compile_has_deeper_mlps_and_is_refused_naming_the_fix():
    net = nclang.compile("stdlib/seq/hist.ncl", sizes={"n": N})
    assert any(len(b["mlp"]) > 2 for b in net.architecture["blocks"])
    with pytest.raises(NclError, match="hidden layers.*--mlp-layers 1"):
        net.to_transformer_lens()


@pytest.mark.parametrize("name", sorted(INPUTS))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_model_argmax_equals_the_interpreter(name, data):
    prog, _, model = compiled(name)
    drawn = data.draw(st.lists(INPUTS[name], min_size=1, max_size=3), label="inputs")
    by_length = {}
    for x in drawn:  # sequences of one length share a forward pass
        by_length.setdefault(len(x["tokens"]), []).append(x["tokens"])
    for seqs in by_length.values():
        with torch.no_grad():
            logits = model(T.tokens(model, seqs))
        assert logits.dtype == torch.float32
        assert T.decode(model, logits) == [nclang.run(prog, {"tokens": s}) for s in seqs]


def test_padded_batches_with_an_attention_mask_agree(models):
    prog, _, model = models["sort"]
    seqs = [[5, 1, 4], [9, 9, 0, 2, 7, 7, 3, 1], [0]]
    bos = model.nclang_readout["bos"]
    ids = torch.tensor([[bos] + s + [0] * (N - len(s)) for s in seqs])
    mask = torch.tensor([[1] * (1 + len(s)) + [0] * (N - len(s)) for s in seqs])
    with torch.no_grad():
        logits = model(ids, attention_mask=mask)
    got = [T.decode(model, logits[i:i + 1, :1 + len(s)])[0] for i, s in enumerate(seqs)]
    assert got == [nclang.run(prog, {"tokens": s}) for s in seqs]


def test_run_with_cache_sees_hard_attention_and_the_bos_row_alone(models):
    prog, net, model = models["dyck1"]
    ids = T.tokens(model, [["(", ")", "(", "a", ")"]])
    logits, cache = model.run_with_cache(ids)
    assert torch.equal(logits, model(ids))
    masks = [m for b in net.architecture["blocks"] for m in b["masks"]]
    assert {None, "le"} <= set(masks)  # dyck1 mixes masked and unmasked heads
    for layer, spec in enumerate(net.architecture["blocks"]):
        pattern = cache[f"blocks.{layer}.attn.hook_pattern"][0]  # (heads, query, key)
        assert torch.equal(pattern[:, 0, 0], torch.ones(model.cfg.n_heads))  # BOS: itself
        for h, kind in enumerate(spec["masks"]):
            if kind == "le":  # causal: no weight on a later key, to the last bit
                assert torch.equal(torch.triu(pattern[h], 1), torch.zeros_like(pattern[h]))
    assert T.decode(model, logits) == [nclang.run(prog, {"tokens": ["(", ")", "(", "a", ")"]})]


SHIFT = """program shift(tokens: seq[token]) -> seq[int] {
    c[i] = 1 if tokens[i] == "a" else 0
    repeat COUNT {
        c[i] = c[i - 1] if i >= 1 else 0
    }
    return c
}
"""


def test_a_loop_is_unrolled_into_layers():
    prog = nclang.check(SHIFT.replace("COUNT", "3"))
    net = nclang.compile(prog, sizes={"n": 6}, mlp_layers=1)
    first, last = net.architecture["loops"][0]["blocks"]
    model = net.to_transformer_lens()
    assert model.cfg.n_layers == net.architecture["depth"] + 2 * (last - first + 1)
    seqs = [["a", "b", "a", "a", "b", "z"], ["b", "a", "b", "b", "a", "a"]]
    with torch.no_grad():
        got = T.decode(model, model(T.tokens(model, seqs)))
    assert got == [nclang.run(prog, {"tokens": s}) for s in seqs]


def test_a_loop_whose_count_varies_with_the_length_is_built_per_length():
    prog = nclang.check(SHIFT.replace("COUNT", "n - 1"))
    net = nclang.compile(prog, sizes={"n": 5}, mlp_layers=1)
    with pytest.raises(NclError, match="n - 1 times, 0 to 4.*length=L"):
        net.to_transformer_lens()
    for length in (1, 4):
        model = net.to_transformer_lens(length=length)
        seq = ["a", "b", "a", "a", "b"][:length]
        with torch.no_grad():
            got = T.decode(model, model(T.tokens(model, [seq])))
        assert got == [nclang.run(prog, {"tokens": seq})]


def test_a_graph_network_is_refused():
    net = nclang.compile("stdlib/graph/bfs.ncl")
    with pytest.raises(NclError, match="only the transformer target"):
        net.to_transformer_lens()


def test_the_hf_folder_loads_in_transformer_lens_with_the_same_logits(models, tmp_path):
    from safetensors.torch import load_file
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge
    _, net, model = models["most_freq"]
    from nclang.compiler.runtime import load
    path = net.save(tmp_path / "most_freq.safetensors")
    # the `nclang export --format hf` writer, on the runtime's network as the command loads it
    assert hf.export(load(str(path)), tmp_path / "hf", None) == tmp_path / "hf"
    # TransformerLens' own calls, no nclang code
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    plain = TransformerBridge.boot_native(TransformerBridgeConfig.from_dict(config))
    plain.load_state_dict(load_file(str(tmp_path / "hf" / "model.safetensors")), strict=True)
    ids = T.tokens(model, [["a", "b", "b", "z", "a", "b"]])
    with torch.no_grad():
        want, got = model(ids), plain(ids)
    assert torch.equal(got, want)
    assert T.decode(plain, got, config["nclang"]) == T.decode(model, want)
    assert torch.equal(hf.load_hf(tmp_path / "hf")(ids), want)


def test_cli_export_hf_writes_the_folder_the_writer_writes_and_refuses_a_deep_mlp(tmp_path):
    one = tmp_path / "pb1.safetensors"
    assert cli("compile", "stdlib/seq/pair_balance.ncl", "--size", "n=6", "--mlp-layers", "1",
               "-o", one)[0] == 0
    status, _, err = cli("export", one, "--format", "hf", "-o", tmp_path / "cli")
    assert status == 0, err
    from nclang.compiler.runtime import load
    hf.export(load(str(one)), tmp_path / "api", None)
    for name in (hf.CONFIG, hf.TENSORS):
        assert (tmp_path / "cli" / name).read_bytes() == (tmp_path / "api" / name).read_bytes()
    deep = tmp_path / "pb.safetensors"
    assert cli("compile", "stdlib/seq/pair_balance.ncl", "--size", "n=6", "-o", deep)[0] == 0
    status, _, err = cli("export", deep, "--format", "hf", "-o", tmp_path / "no")
    assert status == 1 and "--mlp-layers 1" in err and err.count("\n") == 1, err
    assert not (tmp_path / "no" / hf.TENSORS).exists()


def test_cli_compile_mlp_layers_then_nclang_test_passes(tmp_path):
    out = tmp_path / "pb.safetensors"
    status, _, err = cli("compile", "stdlib/seq/pair_balance.ncl", "--size", "n=6",
                         "--mlp-layers", "1", "-o", out)
    assert status == 0, err
    status, stdout, err = cli("test", "stdlib/seq/pair_balance.ncl", "--weights", out,
                              "--examples", "25")
    assert status == 0, stdout + err


@pytest.mark.parametrize("args, status, message", [
    (["stdlib/seq/hist.ncl", "--size", "n=4", "--mlp-layers", "0"], 2, "positive integer"),
    (["stdlib/graph/bfs.ncl", "--mlp-layers", "1"], 1, "transformer target's blocks"),
])
def test_cli_mlp_layers_refusals(tmp_path, args, status, message):
    got, _, err = cli("compile", *args, "-o", tmp_path / "x.safetensors")
    assert got == status and message in err, err


def test_nclang_imports_no_transformer_lens_and_without_the_extra_names_it():
    code = """
import sys
import nclang
net = nclang.compile('stdlib/seq/length.ncl', sizes={'n': 3}, mlp_layers=1)
assert 'transformer_lens' not in sys.modules, 'compiling imported transformer_lens'
class _NotInstalled:
    def find_spec(self, name, *args):
        if name.split(".")[0] == "transformer_lens":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _NotInstalled())
try:
    net.to_transformer_lens()
except ModuleNotFoundError as err:
    print(err)
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'pip install "nclang[tl]"' in proc.stdout, proc.stdout + proc.stderr


# ---------------------------------------------------------------- docs/transformer_lens.md

DOC = REPO / "docs" / "transformer_lens.md"
_FENCE = re.compile(r"^```(?P<tag>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


def _doc_blocks(tag: str) -> list[tuple[int, str]]:
    text = DOC.read_text()
    return [(text.count("\n", 0, m.start()) + 1, m["body"]) for m in _FENCE.finditer(text)
            if m["tag"] == tag]


def test_the_docs_python_examples_run_and_print_what_they_show(tmp_path, monkeypatch):
    # one namespace, in order, as a reader types them, in a folder with the repository's stdlib
    (tmp_path / "stdlib").symlink_to(REPO / "stdlib")
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    namespace: dict = {}
    blocks = _doc_blocks("python")
    assert len(blocks) >= 4
    for line, body in blocks:
        test = parser.get_doctest(body, namespace, f"docs/transformer_lens.md:{line}", str(DOC),
                                  line)
        assert test.examples, f"docs/transformer_lens.md:{line} runs nothing"
        out: list[str] = []
        if runner.run(test, out=out.append, clear_globs=False).failed:
            pytest.fail("".join(out), pytrace=False)
        namespace = test.globs


def test_the_docs_commands_succeed(tmp_path, monkeypatch):
    (tmp_path / "stdlib").symlink_to(REPO / "stdlib")
    monkeypatch.chdir(tmp_path)
    commands = [line[2:].split() for _, body in _doc_blocks("sh") for line in body.splitlines()
                if line.startswith("$ ")]
    assert commands and all(c[0] == "nclang" for c in commands)
    for argv in commands:
        status, out, err = cli(*argv[1:])
        assert status == 0, (argv, out, err)


CAPPED_PREFIX = """program capped_prefix(tokens: seq[token]) -> seq[int] {
    c[i] = 1 if tokens[i] == "a" else 0
    repeat ceil(log2(n)) {
        c[i] = min(count(j for j in positions if j <= i and c[j] >= 1), 2)
    }
    return c
}
"""


def test_a_split_loop_body_keeps_its_blocks_tied_and_exact():
    # the body's count has a two-hidden-layer decoder: split, the loop's block range grows over
    # the inserted block and the runtime still runs it ceil(log2(len)) times (0 to 3)
    prog = nclang.check(CAPPED_PREFIX)
    net = nclang.compile(prog, sizes={"n": 8}, mlp_layers=1)
    plain = nclang.compile(prog, sizes={"n": 8})
    first, last = net.architecture["loops"][0]["blocks"]
    p_first, p_last = plain.architecture["loops"][0]["blocks"]
    assert last - first == p_last - p_first + 1
    assert all(len(b["mlp"]) in (0, 2) for b in net.architecture["blocks"])
    result = nclang.test(prog, net.to_bytes(), examples=40, seed=3)
    assert result.ok, result.summary()
    model = net.to_transformer_lens(length=5)
    seqs = [["a", "b", "a", "a", "z"], ["b", "b", "a", "b", "a"]]
    with torch.no_grad():
        got = T.decode(model, model(T.tokens(model, seqs)))
    assert got == [nclang.run(prog, {"tokens": s}) for s in seqs]
