"""nclang and PyTorch Geometric (docs/interop.md): a gnn `Network` as a `MessagePassing` module,
and conversions between the JSON format `nclang run` reads and writes and PyG `Data`.

`module(net)` (what `Network.to_pyg()` returns) runs the program on a `Batch`; `to_data(net,
inputs)` makes one graph's `Data` in the module's layout (`x`, `edge_attr`, `u`), `from_data(data,
net)` reads it back, and `outputs(net, data, out)` turns the module's output tensors into the
outputs `Network.run` gives, per graph of a batch, refusing any the network did not compute
exactly. Node pointers are each graph's own node ids (0..n_b - 1, -1 for none) in inputs and
outputs alike, so a `Data` keeps its meaning through `Batch.from_data_list` and
`Batch.to_data_list`, which do not shift `x`. torch_geometric is imported by these functions,
not by importing this module.
"""
from __future__ import annotations

import math

import numpy as np

from nclang.dsl.diagnostics import Diagnostic, NclError

from . import records

__all__ = ["from_data", "module", "outputs", "to_data"]


def _export():
    """The implementation module, or the missing-extra message when torch_geometric is not
    installed."""
    from nclang.compiler.extras import missing_extra
    try:
        from nclang.compiler.export import pyg
    except ModuleNotFoundError as err:
        why = missing_extra(err)
        if why is None:
            raise
        raise ModuleNotFoundError(why, name=err.name) from None
    return pyg


def _gnn(net):
    if net.architecture.get("family") != "gnn":
        raise NclError(Diagnostic(net.name, 1, 1, 1, 1, "error", "bad-option",
                                  f"PyTorch Geometric takes a gnn network; {net.name} is "
                                  f"{net.architecture.get('family')} ({net.program})"))
    return net


def module(net):
    """The `MessagePassing` module of gnn `Network` `net` (`Network.to_pyg`)."""
    return _export().build(_gnn(net))


def layout(net):
    """Where the module reads each input and writes each output (`compiler.export.pyg.Layout`)."""
    return _export().layout_of(_gnn(net).meta)


def to_data(net, inputs: dict, outputs: dict | None = None):
    """One graph's `torch_geometric.data.Data` for `inputs` (a dict in the JSON input format,
    read and checked as `nclang run` reads it; what the network itself cannot take, the module
    refuses when it runs): `edge_index`, `num_nodes`, and `x`, `edge_attr`, `u`
    in the module's layout (each field one column; inf as ±inf, none as -1). `outputs` (the
    JSON outputs of `Network.run` or `nclang.run` on the same input) adds each as `y_NAME`, in
    the layout the module returns it."""
    import torch
    from torch_geometric.data import Data

    from nclang.dsl.jsonio import decode
    lay = layout(net)
    cnet = net.compiled_net
    inst = decode(cnet.signature, inputs, cnet.sizes, records.INPUTS_NAME)
    g = inst.graph
    dtype = cnet.module._like.dtype
    data = Data(edge_index=torch.as_tensor(np.stack([g.src, g.dst]).astype(np.int64)),
                num_nodes=int(g.n))

    def columns(fields, rows):
        cols = [np.asarray(inst.values[f.name], np.float64).reshape(rows) for f in fields]
        arr = np.stack(cols, -1) if cols else np.zeros((rows, 0))
        return torch.as_tensor(arr, dtype=dtype)

    data.x = columns(lay.x, g.n)
    data.edge_attr = columns(lay.edge_attr, g.m)
    data.u = columns(lay.u, 1)
    for f in lay.outputs if outputs is not None else ():
        value = np.asarray(_from_json(outputs[f.name]), np.float64)
        if not f.domain:
            value = value.reshape(1)  # a graph-level output is [B] on a batch
        data[f"y_{f.name}"] = torch.as_tensor(value, dtype=dtype)
    return data


def from_data(data, net) -> dict | list[dict]:
    """The JSON input of `data` (a `Data` in `to_data`'s layout; a `Batch` gives one per
    graph), checked as `nclang run` checks its input: NclError for a value the program's
    types do not allow."""
    if hasattr(data, "to_data_list"):
        return [from_data(d, net) for d in data.to_data_list()]
    from nclang.dsl.jsonio import decode
    lay = layout(net)
    obj: dict = {"n": int(data.num_nodes),
                 "edges": data.edge_index.t().tolist() if data.edge_index is not None else []}
    for fields, t in ((lay.x, data.x), (lay.edge_attr, data.edge_attr), (lay.u, data.u)):
        for j, f in enumerate(fields):
            col = [_to_json(v, f.kind) for v in t[:, j].tolist()]
            obj[f.name] = col if f.domain else col[0]
    cnet = net.compiled_net
    decode(cnet.signature, obj, cnet.sizes, records.INPUTS_NAME)
    return obj


def outputs(net, data, out: dict) -> dict | list[dict]:
    """The module's result `out` on `data` as `Network.run`'s outputs: a dict for a `Data`, a
    list (one per graph, in order) for a `Batch`. NclError where an output is not exactly a
    value of its type (weights that do not compute the program)."""
    import torch

    from nclang.dsl.jsonio import encode
    lay = layout(net)
    cnet = net.compiled_net
    N = int(data.num_nodes)
    batch = data.batch if getattr(data, "batch", None) is not None \
        else torch.zeros(N, dtype=torch.long)
    B = int(data.num_graphs) if hasattr(data, "num_graphs") and data.batch is not None else 1
    counts = torch.bincount(batch, minlength=B)
    ptr = [0] + torch.cumsum(counts, 0).tolist()
    ebatch = batch[data.edge_index[0]] if data.edge_index is not None else batch[:0]
    results, errors = [], []
    for b in range(B):
        values = {}
        for f in lay.outputs:
            t = out[f.name].detach().to("cpu", torch.float64)
            if "edge" in f.domain:
                t = t[ebatch == b]
            elif f.domain:
                t = t[ptr[b]:ptr[b + 1]]
            else:
                t = t[b]
            # the node axes after the first are padded to the batch's largest graph
            rest = f.domain.count("node") - (0 if "edge" in f.domain else 1)
            if rest > 0:
                t = t[(slice(None),) + (slice(0, int(counts[b])),) * rest]
            values[f.name] = _interpreter_form(t.numpy(), f.kind)
        for problem in cnet.inexact(values):
            errors.append(Diagnostic(net.name, 1, 1, 1, 1, "error", "inexact-output",
                                     f"graph {b}: {problem}: {net.name} does not compute "
                                     f"{net.program} exactly on this input"))
        if not errors:
            results.append(encode(cnet.signature, values))
    if errors:
        raise NclError(errors)
    single = getattr(data, "batch", None) is None
    return results[0] if single else results


def _interpreter_form(v: np.ndarray, kind: str) -> np.ndarray:
    """A decoded output in the interpreter's numpy form; a value off its type stays a float, so
    `inexact` finds it."""
    if kind == "bool" and np.isin(v, (0.0, 1.0)).all():
        return v.astype(np.bool_)
    if kind == "index" and np.isfinite(v).all() and (v == np.round(v)).all() and (v >= -1).all():
        return v.astype(np.int64)
    return v


def _to_json(v: float, kind: str):
    """A column value as the JSON input format writes it (the decoder then checks it)."""
    if kind == "bool":
        return bool(v) if v in (0.0, 1.0) else v
    if kind == "index":
        return None if v == -1 else (int(v) if float(v).is_integer() else v)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return int(v) if float(v).is_integer() else v


def _from_json(v):
    """A JSON output value as the module writes it: inf as ±inf, none as -1."""
    if isinstance(v, list):
        return [_from_json(x) for x in v]
    if v is None:
        return -1
    if v == "inf":
        return math.inf
    if v == "-inf":
        return -math.inf
    return float(v)
