"""`nclang export --format onnx`: a compiled network as an ONNX file for onnxruntime
(docs/export.md).

The family's model (`onnx_models`) is traced by torch's TorchScript-based ONNX exporter
(`torch.onnx.export(..., dynamo=False)`): on the runtime's unrolled bfs it took 0.65-0.9 s where
the dynamo exporter took 8 s for a graph with the same results (docs/export.md), which decides
whether every stdlib program can be exported in a test run. The trace keeps the batch, the
sequence length and the node and edge counts dynamic (checked in tests/test_export_onnx.py by
running each export at other sizes than it was traced at). A gnn file's loops are unrolled to
a fixed number of rounds (`default_rounds`, or the caller's); each graph's state is frozen once
its own loop ends (its trip count, or `until stable`), so the values are the runtime's on every
graph that needs no more rounds, and the `exact` output is false on one that does.

The file carries the weight file's metadata as JSON under the ONNX metadata key `nclang`
(encodings, architecture), `nclang.format` = FORMAT and, for a gnn file, `nclang.rounds`.
Written atomically (`nclang.compiler.atomic`).
"""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

DESCRIPTION = "ONNX (onnxruntime), opset 18"
FORMAT = "nclang-onnx/1"
OPSET = 18


def default_rounds(gnn, max_nodes: int) -> list[int]:
    """Per loop of `gnn` (program order), the most rounds any graph of 1..max_nodes nodes can
    need: its trip count's largest value there, over edge counts 0, n and n^2."""
    from nclang.compiler.runtime.gnn import rounds_for
    best = [0] * len(gnn.loops)
    for n in range(1, max_nodes + 1):
        for i, r in enumerate(rounds_for(gnn, gnn.size_table(n, [0, n, n * n]))):
            best[i] = max(best[i], r)
    return best


def model(net, options):
    """The traceable model of a loaded `CompiledNet` (`onnx_models`), and its rounds (None but
    for a gnn file). ValueError for `options.rounds` that do not fit the network's loops."""
    from . import onnx_models as models
    family = net.architecture["family"]
    if family != "gnn" and options.rounds is not None:
        raise ValueError(f"rounds: only a gnn file's loops are unrolled to a round count; this "
                         f"is {'an' if family == 'mlp' else 'a'} {family} file")
    if options.max_nodes < 1 or any(r < 0 for r in options.rounds or ()):
        raise ValueError("rounds are at least 0 and max_nodes at least 1")
    if family == "mlp":  # MLPNet: its encodings' slots, read by runtime.encoding.mlp_layout
        return models.BitsModel(net.module, net.width_in, net.inputs, net.outputs), None
    if family == "transformer":
        return models.SequenceModel(net.module, net.meta), None
    gnn = net.module
    loops = len(gnn.loops)
    if options.rounds is None:
        rounds = default_rounds(gnn, options.max_nodes)
    elif len(options.rounds) == 1:
        rounds = list(options.rounds) * loops
    elif len(options.rounds) == loops:
        rounds = list(options.rounds)
    else:
        raise ValueError(f"{len(options.rounds)} round counts given, but the network has "
                         f"{loops} loop{'s' if loops != 1 else ''}: give one count, or one per "
                         f"loop")
    return models.GraphModel(gnn, net.meta, rounds), rounds


def to_bytes(net, options) -> bytes:
    """The ONNX file of a loaded `CompiledNet`, as bytes."""
    import onnx
    import torch
    mod, rounds = model(net, options)
    mod.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # the tracer warns about every Python int it reads off a shape; tests/test_export_onnx.py
        # runs each export at sizes other than the traced ones instead
        warnings.simplefilter("ignore")
        torch.onnx.export(mod, mod.example(), buf, dynamo=False, opset_version=OPSET,
                          input_names=mod.input_names, output_names=mod.output_names,
                          dynamic_axes=mod.dynamic_axes, do_constant_folding=True)
    proto = onnx.load_from_string(buf.getvalue())
    # the tracer's intermediate shapes are those of the example; onnxruntime infers its own
    del proto.graph.value_info[:]
    _literal_zeros(proto.graph)
    props = {"nclang": json.dumps(net.meta, sort_keys=True), "nclang.format": FORMAT}
    if rounds is not None:
        props["nclang.rounds"] = json.dumps(rounds)
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "nclang"
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def _literal_zeros(graph) -> None:
    """Every Reshape with `allowzero = 1`: a 0 in a shape is a 0, as in torch (an edge-led
    value of a graph without edges). With ONNX's default a 0 copies the input's dimension, and
    onnxruntime, fusing a shape computation into a constant, writes -1 beside it, which a
    tensor of 0 elements cannot be reshaped to."""
    for node in graph.node:
        if node.op_type == "Reshape":
            for attr in node.attribute:
                if attr.name == "allowzero":
                    attr.i = 1


def export(net, path, options) -> Path:
    """Write the ONNX file of `net` (a loaded `CompiledNet`) to `path` atomically. OSError when
    it cannot be written, ValueError for options that do not fit the network."""
    from nclang.compiler.atomic import write_atomic
    data = to_bytes(net, options)
    out = Path(path)
    write_atomic(out, data)
    return out
