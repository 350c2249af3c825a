"""An exported ONNX file run by onnxruntime on the interpreter's `Instance`s: the inputs encoded
and the outputs decoded exactly as the nclang runtime does it (the same functions), so that
what is compared with the interpreter is the ONNX graph's arithmetic and nothing else.

`OnnxNet(data, net)` takes the file's bytes and the `CompiledNet` of the weight file it was
exported from; its `run(instances)` is what `nclang.compiler.testing.test_program` calls. A
graph or sequence whose `exact` output is false is an error (ValueError), never a result.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np


class OnnxNet:
    def __init__(self, data: bytes, net):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.log_severity_level = 3  # shape-inference notes on dynamic axes are not errors
        self.session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        self.net = net
        self.family = net.architecture["family"]
        self.names = [o.name for o in self.session.get_outputs()]

    def _call(self, feeds: dict) -> dict:
        return dict(zip(self.names, self.session.run(None, feeds)))

    def run(self, instances) -> list[dict]:
        if not instances:
            return []
        return getattr(self, "_run_" + self.family)(list(instances))

    # ---- mlp

    def _run_mlp(self, instances):
        from nclang.compiler.runtime.encoding import decode_outputs, encode_inputs
        net = self.net
        x = encode_inputs(instances, net.inputs, net.width_in).astype(self._dtype())
        feeds = {s.name: x[:, s.start:s.stop].reshape(len(instances), *s.shape)
                 for s in net.inputs}
        got = self._call(feeds)
        # each output back at its channels, to be read by the runtime's own decoder
        y = np.zeros((len(instances), net.width_out))
        for s in net.outputs:
            y[:, s.start:s.stop] = got[s.name].reshape(len(instances), -1)
        return decode_outputs(y, net.outputs, net.readout)

    # ---- transformer

    def _run_transformer(self, instances):
        net = self.net
        toks, lengths, _ = net.encode(instances)
        tokens = toks[:, 1:].copy()
        tokens[tokens == len(net.vocab)] = 0  # padding: any id of the vocabulary
        got = self._call({"tokens": tokens, "lengths": lengths})
        self._check_exact(got["exact"])
        d = net.module.get_parameter("embed.token").shape[1]
        x = np.zeros((len(instances), toks.shape[1], d))
        for o in net.outputs:
            if o["per_position"]:
                x[:, 1:, o["channels"]] = got[o["name"]]
            else:
                x[:, 1, o["channels"]] = got[o["name"]]
        return [net.decode(x[b], int(lengths[b])) for b in range(len(instances))]

    # ---- gnn

    def _run_gnn(self, instances):
        import torch
        net = self.net
        results: list = [None] * len(instances)
        groups: dict[int, list[int]] = defaultdict(list)
        for i, inst in enumerate(instances):
            groups[inst.graph.n].append(i)
        for n, idx in sorted(groups.items()):
            inputs, edge_index, batch, _ = net.tensors([instances[i] for i in idx], n)
            B = len(idx)
            feeds = {name: inputs[name].numpy() for name, _, _ in net.module.inputs}
            feeds.update(edge_index=edge_index.numpy(), batch=batch.numpy(),
                         ptr=(torch.arange(B + 1) * n).numpy())
            got = self._call(feeds)
            self._check_exact(got["exact"])
            ebatch = edge_index[0].numpy() // n
            for b, i in enumerate(idx):
                values = {}
                for e in net.outputs:
                    t = got[e["name"]].astype(np.float64)
                    if "edge" in e["domain"]:
                        t = t[ebatch == b]
                    elif any(d == "node" for d in e["domain"]):
                        t = t.reshape(B, n, *t.shape[1:])[b]
                    else:
                        t = t[b]
                    values[e["name"]] = net.decode(t, e, n)
                results[i] = values
        return results

    def _dtype(self):
        return np.float64 if self.net.architecture.get("dtype") == "float64" else np.float32

    @staticmethod
    def _check_exact(flags):
        bad = np.flatnonzero(~np.asarray(flags, bool))
        if bad.size:
            raise ValueError(f"the exported graph reports exact = false for input "
                             f"{int(bad[0])} of the call")
