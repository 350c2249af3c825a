"""Runtime for the `mlp` family: a stack of `y = act(W x + b)` layers on a flat feature vector.

The architecture lists the layers as `{"in", "out", "act"}` with `act` one of `relu`, `step`
(Heaviside, step(0) = 1) or `id`; layer i's tensors are `layers.{i}.weight` (out, in) and
`layers.{i}.bias` (out,), the names `MLP.state_dict()` uses.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import CompiledNet, exact_matmul
from .encoding import decode_outputs, encode_inputs, inexact, mlp_layout


class MLP(nn.Module):
    """A compiled mlp file as a module: `MLP(meta["architecture"])`, then
    `load_state_dict(load_file(path), strict=True)`. `forward(bits)` maps the input vector
    (batch, layers[0].in) — each input's elements at its channels (`encoding.encode_inputs`) —
    to the output vector (batch, layers[-1].out)."""

    def __init__(self, arch: dict):
        super().__init__()
        dtype = getattr(torch, arch.get("dtype", "float32"))
        layers = arch["layers"]
        # built on the meta device, then given storage: the weights come from the file, a
        # random init would be wasted
        self.layers = nn.ModuleList(nn.Linear(spec["in"], spec["out"], device="meta", dtype=dtype)
                                    for spec in layers)
        self.acts = [spec["act"] for spec in layers]
        self.to_empty(device="cpu")

    def forward(self, bits: torch.Tensor) -> torch.Tensor:
        x = bits
        for linear, act in zip(self.layers, self.acts):
            x = linear(x)
            if act == "relu":
                x = torch.relu(x)
            elif act == "step":
                x = (x >= 0).to(x.dtype)
        return x


class MLPNet(CompiledNet):
    def __init__(self, file, meta, module, device, dtype, width_in, width_out, inputs, outputs):
        super().__init__(file, meta, module, device, dtype)
        self.width_in, self.width_out = width_in, width_out
        self.inputs, self.outputs = inputs, outputs

    def run(self, instances) -> list[dict]:
        if not instances:
            return []
        x = encode_inputs(instances, self.inputs, self.width_in)
        with exact_matmul(), torch.inference_mode():
            y = self.module(torch.from_numpy(x).to(device=self.device, dtype=self.dtype))
        return decode_outputs(y.to("cpu", torch.float64).numpy(), self.outputs, self.readout)

    def inexact(self, outputs: dict) -> list[str]:
        if self.readout == "nearest":
            return []  # a trained file's outputs are read as valid values (encoding.nearest)
        return inexact(outputs, self.outputs)


def build(file: str, tensors: dict[str, np.ndarray], meta: dict, device, dtype) -> MLPNet:
    arch = meta["architecture"]
    width_in, width_out, inputs, outputs = mlp_layout(file, tensors, meta)
    module = MLP(arch)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()}
    module.load_state_dict(state, strict=True, assign=True)
    module = module.to(device=device, dtype=dtype).train(False)
    module.requires_grad_(False)
    return MLPNet(file, meta, module, device, dtype, width_in, width_out, inputs, outputs)
