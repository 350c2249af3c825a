"""The weight file round-trips, is byte-identical for the same input, is written atomically, and
every way a file can be broken gives one clear `FILE:1:1: error:` line instead of a traceback."""
import hashlib
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import load_file, save

from nclang.compiler import gadgets as G
from nclang.compiler.weights import FORMAT, KEYS, read_weights, write_weights
from nclang.dsl.diagnostics import NclError


def example():
    block = G.parity(3)
    tensors = block.tensors("layers.")
    layers = [{"in": tensors[f"layers.{i}.weight"].shape[1],
               "out": tensors[f"layers.{i}.weight"].shape[0], "act": a}
              for i, a in enumerate(block.acts)]
    meta = {
        "program": "parity", "source_sha256": hashlib.sha256(b"program parity").hexdigest(),
        "target": "mlp",
        "architecture": {"family": "mlp", "activation": "relu", "sizes": {"k": 3},
                         "depth": len(layers), "layers": layers},
        "encodings": {"inputs": [{"name": "x", "type": "bits[k]", "kind": "bits", "shape": [3],
                                  "channels": [0, 3]}],
                      "outputs": [{"name": "out", "type": "bool", "kind": "bool", "shape": [],
                                   "channels": [0, 1]}]},
        "analysis": {"cost": {"layers": "ceil(log2(k))", "class": "NC1"}},
        "options": {"sizes": {"k": 3}, "activation": "relu"},
    }
    return block, tensors, meta


@pytest.fixture
def written(tmp_path):
    _, tensors, meta = example()
    path = tmp_path / "parity.safetensors"
    write_weights(path, tensors, meta)
    return path


def test_round_trip_gives_the_same_tensors_and_metadata(written):
    _, tensors, meta = example()
    got, got_meta = read_weights(written)
    assert sorted(got) == sorted(tensors)
    for k in tensors:
        assert got[k].dtype == np.float32
        np.testing.assert_array_equal(got[k], tensors[k])
    assert got_meta["format"] == FORMAT
    assert re.fullmatch(r"[0-9a-f]{64}", got_meta["tensors_sha256"])
    for k in KEYS[1:]:
        if k == "tensors_sha256":
            continue
        want = meta[k]
        if k == "architecture":
            want = dict(want, tensors={n: {"dtype": "float32", "shape": list(t.shape)}
                                       for n, t in tensors.items()})
        assert got_meta[k] == want


def test_file_loads_without_nclang_and_into_a_torch_state_dict(written):
    block, tensors, _ = example()
    with safe_open(str(written), "np") as f:
        arch = json.loads(f.metadata()["architecture"])
        assert json.loads(f.metadata()["format"]) == FORMAT
    raw = load_file(str(written))
    layers = torch.nn.ModuleList(torch.nn.Linear(*reversed(raw[f"layers.{i}.weight"].shape))
                                 for i in range(len(arch["layers"])))
    from safetensors.torch import load_file as torch_load
    torch.nn.Module.load_state_dict(torch.nn.ModuleDict({"layers": layers}), torch_load(written))
    x = torch.tensor([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)],
                     dtype=torch.float32)
    for lin, act in zip(layers, [L["act"] for L in arch["layers"]]):
        x = lin(x)
        x = torch.relu(x) if act == "relu" else x
    assert x.detach().squeeze(1).tolist() == [float((a + b + c) % 2) for a in (0, 1)
                                              for b in (0, 1) for c in (0, 1)]


def test_same_input_gives_byte_identical_files(tmp_path):
    _, tensors, meta = example()
    write_weights(tmp_path / "a.safetensors", tensors, meta)
    write_weights(tmp_path / "b.safetensors", dict(reversed(tensors.items())),
                  dict(reversed(meta.items())))
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()


def test_same_input_gives_byte_identical_files_across_processes_without_torch(tmp_path):
    _, _, meta = example()
    script = ("import json, sys; from nclang.compiler import gadgets as G; "
              "from nclang.compiler.weights import write_weights; "
              "write_weights(sys.argv[1], G.parity(3).tensors('layers.'), "
              "json.loads(sys.argv[2])); "
              "assert 'torch' not in sys.modules")
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / f"{seed}.safetensors"),
                        json.dumps(meta)], check=True, env={**os.environ, "PYTHONHASHSEED": seed})
    assert (tmp_path / "1.safetensors").read_bytes() == (tmp_path / "2.safetensors").read_bytes()
    write_weights(tmp_path / "here.safetensors", *example()[1:])
    assert (tmp_path / "here.safetensors").read_bytes() == (tmp_path / "1.safetensors").read_bytes()


@pytest.mark.parametrize("fail_at", ["fsync", "replace"])
def test_failed_write_leaves_the_old_file_and_no_temporary(written, monkeypatch, fail_at):
    before = written.read_bytes()
    block, tensors, meta = example()
    tensors["layers.0.bias"] = tensors["layers.0.bias"] + 1

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, fail_at, boom)
    with pytest.raises(OSError, match="disk full"):
        write_weights(written, tensors, meta)
    monkeypatch.undo()
    assert written.read_bytes() == before
    assert os.listdir(written.parent) == [written.name]


def test_inconsistent_metadata_is_refused_before_anything_is_written(tmp_path):
    _, tensors, meta = example()
    for bad in [dict(meta, extra=1), {k: v for k, v in meta.items() if k != "analysis"},
                dict(meta, target="cnn"), dict(meta, format="nclang-weights/0"),
                dict(meta, analysis={"x": float("nan")}),
                dict(meta, architecture={"tensors": {"layers.0.weight": {"dtype": "float32",
                                                                          "shape": [9]}}})]:
        with pytest.raises(ValueError):
            write_weights(tmp_path / "x.safetensors", tensors, bad)
    assert os.listdir(tmp_path) == []


def test_written_file_is_readable_by_owner_and_group_like_any_output(written):
    umask = os.umask(0)
    os.umask(umask)
    assert written.stat().st_mode & 0o777 == 0o666 & ~umask


# ---- validation ----------------------------------------------------------------------------

def rewrite(path, tensors=None, metadata=None, drop=()):
    """Re-save `path` with replaced tensors / raw metadata strings, as an outside tool would."""
    with safe_open(str(path), "np") as f:
        md = dict(f.metadata())
    ts = load_file(str(path))
    ts.update(tensors or {})
    md.update(metadata or {})
    for k in drop:
        ts.pop(k, None)
        md.pop(k, None)
    path.write_bytes(save(ts, md))


def one_error(path) -> str:
    with pytest.raises(NclError) as e:
        read_weights(path)
    assert [d.code for d in e.value.diagnostics] == ["bad-weights"]
    d = e.value.diagnostics[0]
    assert (d.file, d.line, d.col) == (str(path), 1, 1)
    assert str(e.value) == f"{path}:1:1: error: {d.message}"
    return d.message


def test_missing_file_is_a_clear_error(tmp_path):
    assert "cannot read the weight file" in one_error(tmp_path / "nope.safetensors")


def test_not_a_safetensors_file_is_a_clear_error(tmp_path):
    p = tmp_path / "x.safetensors"
    p.write_text('{"a": 7, "b": 9}\n')
    assert "not a safetensors file" in one_error(p)
    p.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00[1,2]")
    assert "not a JSON object" in one_error(p)
    p.write_bytes(b"")
    assert "too short" in one_error(p)


@pytest.mark.parametrize("keep", [4, 20, -1, -7])
def test_truncated_file_is_a_clear_error(written, keep):
    data = written.read_bytes()
    written.write_bytes(data[:keep])
    msg = one_error(written)
    assert "truncated" in msg or "too short" in msg


def test_unknown_format_version_is_a_clear_error(written):
    rewrite(written, metadata={"format": json.dumps("nclang-weights/9")})
    assert one_error(written) == ("unknown format version 'nclang-weights/9'; this nclang reads "
                                  f"{FORMAT!r}")
    # a file of the first version has no digest: it must be recompiled, not half-checked
    rewrite(written, metadata={"format": json.dumps("nclang-weights/1")})
    assert one_error(written).startswith("unknown format version 'nclang-weights/1'")
    rewrite(written, metadata={"format": "pt"})
    assert one_error(written).startswith("unknown format version 'pt'")


def test_file_without_nclang_metadata_is_a_clear_error(tmp_path):
    p = tmp_path / "plain.safetensors"
    p.write_bytes(save({"w": np.zeros(2, np.float32)}))
    assert one_error(p) == "no 'format' metadata: not an nclang weight file"


@pytest.mark.parametrize("key", KEYS[1:])
def test_missing_metadata_key_is_a_clear_error(written, key):
    rewrite(written, drop=[key])
    assert one_error(written) == f"missing metadata key '{key}'"


def test_metadata_that_is_not_json_is_a_clear_error(written):
    rewrite(written, metadata={"options": "{size: 3"})
    assert one_error(written) == "metadata 'options' is not valid JSON"


def test_metadata_of_the_wrong_shape_is_a_clear_error(written):
    rewrite(written, metadata={"target": json.dumps("cnn")})
    assert one_error(written) == "metadata 'target' is 'cnn'; one of mlp, gnn, transformer"
    rewrite(written, metadata={"target": json.dumps("mlp"), "architecture": json.dumps({})})
    assert "must have 'tensors'" in one_error(written)


def test_missing_tensor_is_a_clear_error(written):
    rewrite(written, drop=["layers.1.weight"])
    assert one_error(written) == "tensor 'layers.1.weight' is missing; the architecture lists it"


def test_wrong_shape_is_a_clear_error(written):
    rewrite(written, tensors={"layers.0.weight": np.zeros((3, 4), np.float32)})
    assert one_error(written) == ("tensor 'layers.0.weight' has shape (3, 4), the architecture "
                                  "says (3, 3)")


def test_wrong_dtype_is_a_clear_error(written):
    rewrite(written, tensors={"layers.0.bias": np.zeros(3, np.float64)})
    assert one_error(written) == ("tensor 'layers.0.bias' has dtype float64, the architecture "
                                  "says float32")


def test_extra_tensor_is_a_clear_error(written):
    rewrite(written, tensors={"layers.9.weight": np.zeros(1, np.float32)})
    assert one_error(written) == "tensor 'layers.9.weight' is not in the architecture"


def test_non_finite_weight_is_a_clear_error(written):
    w = load_file(str(written))["layers.1.bias"].copy()
    w[0] = np.nan
    rewrite(written, tensors={"layers.1.bias": w})
    assert one_error(written) == "tensor 'layers.1.bias' holds NaN or infinite values"


def test_every_problem_is_reported_at_once(written):
    rewrite(written, tensors={"layers.0.weight": np.zeros((3, 4), np.float32)},
            drop=["layers.1.weight"])
    with pytest.raises(NclError) as e:
        read_weights(written)
    assert len(e.value.diagnostics) == 2


def test_a_perturbed_weight_is_refused_by_its_digest_unless_not_verified(written):
    w = load_file(str(written))["layers.0.weight"].copy()
    w[0, 0] += 1
    rewrite(written, tensors={"layers.0.weight": w})
    assert one_error(written).startswith("the tensor data does not match its digest")
    assert read_weights(written, verify=False)[0]["layers.0.weight"][0, 0] == w[0, 0]
