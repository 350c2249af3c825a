"""The torch runtime (nclang.compiler.runtime) on hand-made weight files: it loads a file with no
source into a module whose state_dict is the file's tensors, runs a batch in one forward pass,
decodes outputs without ever rounding them, and refuses broken files with one clear diagnostic
each."""
from __future__ import annotations

import hashlib
import json
import struct

import numpy as np
import pytest
import torch

from nclang.compiler import gadgets as G
from nclang.compiler.runtime import exact_matmul, load
from nclang.compiler.weights import write_weights
from nclang.dsl.diagnostics import NclError
from nclang.dsl.jsonio import decode, encode
from nclang.dsl.values import Instance


def mlp_meta(tensors, acts, inputs, outputs, sizes, program="parity", activation="relu",
             **arch):
    layers = [{"in": tensors[f"layers.{i}.weight"].shape[1],
               "out": tensors[f"layers.{i}.weight"].shape[0], "act": a}
              for i, a in enumerate(acts)]
    return {
        "program": program, "source_sha256": hashlib.sha256(program.encode()).hexdigest(),
        "target": "mlp",
        "architecture": {"family": "mlp", "activation": activation, "sizes": sizes,
                         "depth": len(layers), "layers": layers, **arch},
        "encodings": {"inputs": inputs, "outputs": outputs},
        "analysis": {}, "options": {"target": "mlp", "sizes": sizes, "activation": activation},
    }


def write_parity(path, k: int = 3, act: str = "relu", perturb: float = 0.0):
    """`parity(x: bits[k]) -> bool` as a gadget network; `perturb` is added to the last bias."""
    block = G.parity(k, act)
    tensors = block.tensors("layers.")
    tensors[f"layers.{block.depth - 1}.bias"] = tensors[f"layers.{block.depth - 1}.bias"] + \
        np.float32(perturb)
    meta = mlp_meta(tensors, block.acts,
                    [{"name": "x", "type": "bits[k]", "kind": "bits", "shape": [k],
                      "channels": [0, k]}],
                    [{"name": "result", "type": "bool", "kind": "bool", "shape": [],
                      "channels": [0, 1]}], {"k": k}, activation=act)
    write_weights(path, tensors, meta)
    return path


def write_identity(path, dtype=np.float32):
    """Copies (pc: int[0..15], mem: vec[int[-64..63], 4], p: node?) straight to its outputs: a
    one-layer `id` network that exercises the int and index encodings."""
    width = 1 + 4 + 1
    tensors = {"layers.0.weight": np.eye(width, dtype=dtype),
               "layers.0.bias": np.zeros(width, dtype=dtype)}
    items = [{"name": "pc", "type": "int[0..15]", "kind": "int", "shape": [], "channels": [0, 1]},
             {"name": "mem", "type": "vec[int[-64..63], 4]", "kind": "int", "shape": [4],
              "channels": [1, 5]}]
    outs = [dict(items[0], name="pc2"), dict(items[1], name="mem2")]
    extra = {"dtype": "float64"} if dtype == np.float64 else {}
    meta = mlp_meta(tensors, ["id"], items, outs, {}, program="copy", **extra)
    write_weights(path, tensors, meta)
    return path


def bits(value: int, k: int) -> np.ndarray:
    return np.array([(value >> i) & 1 for i in range(k)], dtype=np.bool_)


def parity_instances(k: int) -> list[Instance]:
    return [Instance({"k": k}, {"x": bits(v, k)}) for v in range(2 ** k)]


@pytest.fixture
def parity_file(tmp_path):
    return write_parity(tmp_path / "parity.safetensors")


def one_error(excinfo) -> str:
    (d,) = excinfo.value.diagnostics
    assert (d.line, d.col, d.severity, d.code) == (1, 1, "error", "bad-weights")
    return d.message


# ---------------------------------------------------------------- loading and running

def test_state_dict_keys_are_the_files_tensor_names_and_load_strictly(parity_file):
    from safetensors.torch import load_file
    net = load(parity_file)
    state = load_file(str(parity_file))
    assert list(net.module.state_dict()) == [f"layers.{i}.{p}" for i in range(3)
                                             for p in ("weight", "bias")]
    assert sorted(net.module.state_dict()) == sorted(state)
    net.module.load_state_dict(state, strict=True)


@pytest.mark.parametrize("act", ["relu", "step"])
def test_parity_network_computes_parity_on_every_input(tmp_path, act):
    net = load(write_parity(tmp_path / "p.safetensors", k=4, act=act))
    outs = net.run(parity_instances(4))
    assert [bool(o["result"]) for o in outs] == [bin(v).count("1") % 2 == 1 for v in range(16)]
    assert all(o["result"].dtype == np.bool_ and o["result"].shape == () for o in outs)
    assert all(net.inexact(o) == [] for o in outs)


def test_a_batch_runs_in_one_forward_pass(parity_file):
    net = load(parity_file)
    calls = []
    net.module.register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    net.run(parity_instances(3))
    assert calls == [torch.Size([8, 3])]
    assert net.run([]) == []


def test_float32_by_default_and_float64_on_request(parity_file):
    assert load(parity_file).module.layers[0].weight.dtype == torch.float32
    net = load(parity_file, dtype="float64")
    assert net.module.layers[0].weight.dtype == torch.float64
    assert [bool(o["result"]) for o in net.run(parity_instances(3))] == \
        [bin(v).count("1") % 2 == 1 for v in range(8)]


def test_a_float64_file_runs_in_float64_and_refuses_float32(tmp_path):
    path = write_identity(tmp_path / "copy.safetensors", dtype=np.float64)
    assert load(path).dtype == torch.float64
    with pytest.raises(ValueError, match="float64"):
        load(path, dtype="float32")


def test_int_outputs_keep_the_interpreters_forms_and_encode_to_json(tmp_path):
    net = load(write_identity(tmp_path / "copy.safetensors"))
    inst = decode(net.signature, {"pc": 7, "mem": [-64, 0, 5, 63]}, net.sizes, "in.json")
    (out,) = net.run([inst])
    assert out["pc2"].dtype == np.float64 and out["pc2"].shape == ()
    assert encode(net.signature, out) == {"pc2": 7, "mem2": [-64, 0, 5, 63]}


def test_signature_decodes_json_exactly_as_run_does(parity_file):
    net = load(parity_file)
    inst = decode(net.signature, {"x": 6}, net.sizes, "in.json")
    np.testing.assert_array_equal(inst.values["x"], bits(6, 3))
    with pytest.raises(NclError, match="does not fit in bits"):
        decode(net.signature, {"x": 8}, net.sizes, "in.json")


def test_outputs_are_never_rounded_and_inexact_ones_are_named(tmp_path):
    net = load(write_parity(tmp_path / "p.safetensors", perturb=0.25))
    outs = net.run(parity_instances(3))
    assert outs[1]["result"].dtype == np.float64 and float(outs[1]["result"]) == 1.25
    (problem,) = net.inexact(outs[1])
    assert "result" in problem and "1.25" in problem and "0 or 1" in problem


def test_run_keeps_tf32_off_and_restores_the_callers_settings(parity_file):
    matmul = torch.backends.cuda.matmul
    before = (matmul.allow_tf32, torch.get_float32_matmul_precision())
    matmul.allow_tf32 = True
    torch.set_float32_matmul_precision("medium")
    try:
        with exact_matmul():
            assert not matmul.allow_tf32
            assert torch.get_float32_matmul_precision() == "highest"
        assert matmul.allow_tf32 and torch.get_float32_matmul_precision() == "medium"
    finally:
        matmul.allow_tf32 = before[0]
        torch.set_float32_matmul_precision(before[1])


def test_an_unavailable_device_is_refused_with_a_reason(parity_file):
    with pytest.raises(ValueError, match="not a torch device"):
        load(parity_file, device="gpu7")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            load(parity_file, device="cuda")


# ---------------------------------------------------------------- broken files

def test_a_truncated_file_is_one_clear_error(parity_file):
    data = parity_file.read_bytes()
    parity_file.write_bytes(data[:-7])
    with pytest.raises(NclError) as excinfo:
        load(parity_file)
    assert "truncated" in one_error(excinfo)


def _edit_metadata(path, key, edit):
    """Rewrite one metadata document in place, keeping the file otherwise valid."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    doc = json.loads(header["__metadata__"][key])
    edit(doc)
    header["__metadata__"][key] = json.dumps(doc)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + data[8 + n:])


@pytest.mark.parametrize("edit,expected", [
    (lambda a: a["layers"][1].update(act="gelu"), "act 'gelu'"),
    (lambda a: a["layers"][1].update({"in": 4}), "has shape (2, 3), architecture layers[1] says"),
    (lambda a: a.update(family="rnn"), "family 'rnn'"),
    (lambda a: a.update(dtype="float16"), "dtype 'float16'"),
], ids=["activation", "widths", "family", "dtype"])
def test_edited_architecture_is_one_clear_error(parity_file, edit, expected):
    _edit_metadata(parity_file, "architecture", edit)
    with pytest.raises(NclError) as excinfo:
        load(parity_file)
    assert expected in one_error(excinfo)


@pytest.mark.parametrize("edit,expected", [
    (lambda e: e["inputs"][0].update(channels=[0, 5]), "shape [3] (3 elements) but channels"),
    (lambda e: e["outputs"][0].update(kind="float"), "kind 'float'"),
    (lambda e: e["inputs"][0].update(type="bits[k"), "type the language does not have"),
], ids=["channels", "kind", "type"])
def test_edited_encodings_are_one_clear_error(parity_file, edit, expected):
    _edit_metadata(parity_file, "encodings", edit)
    with pytest.raises(NclError) as excinfo:
        load(parity_file)
    assert expected in one_error(excinfo)


def test_a_tensor_of_the_wrong_shape_is_one_clear_error(tmp_path):
    block = G.parity(3)
    tensors = block.tensors("layers.")
    meta = mlp_meta(tensors, block.acts, [], [], {"k": 3})
    write_weights(tmp_path / "w.safetensors", tensors, meta)
    tensors["layers.1.weight"] = np.zeros((2, 4), np.float32)
    meta["architecture"]["layers"][1]["in"] = 4
    # nclang does not write such a file ...
    with pytest.raises(ValueError, match="layers\\[1\\] reads 4 values but layer 0 writes 3"):
        write_weights(tmp_path / "w.safetensors", tensors, meta)
    # ... but another tool may: the same metadata and tensors saved by safetensors itself
    from safetensors import safe_open
    from safetensors.numpy import save
    with safe_open(str(tmp_path / "w.safetensors"), "np") as f:
        md = dict(f.metadata())
    arch = json.loads(md["architecture"])
    arch["layers"][1]["in"] = 4
    arch["tensors"]["layers.1.weight"]["shape"] = [2, 4]
    md["architecture"] = json.dumps(arch)
    (tmp_path / "w.safetensors").write_bytes(save(tensors, md))
    with pytest.raises(NclError) as excinfo:
        load(tmp_path / "w.safetensors")
    assert "layers[1] reads 4 values but layer 0 writes 3" in one_error(excinfo)
