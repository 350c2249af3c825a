"""The modules `nclang export --format onnx` traces: each family's runtime module behind a
`forward` of plain tensors, named inputs in and named outputs out (docs/export.md), with what
the nclang runtime does around its module in Python (the size formulas, the trip counts, the
checks that an input is one the network computes exactly) done in tensors, so the exported graph
needs nothing but onnxruntime.

Each model lists `input_names`, `output_names` and `dynamic_axes` (name -> {axis: symbol}) for
the exporter, and `example()`, inputs to trace it with.
"""
from __future__ import annotations

import torch
from torch import nn

from nclang.compiler import formula
from nclang.compiler.runtime.gnn_module import GNN, Options, node_axes

from . import sizes as formulas

EXACT = "exact"


# ---------------------------------------------------------------- mlp

class BitsModel(nn.Module):
    """An mlp file: each input `[batch, *shape]` (its elements row-major, the channels of
    `encodings.inputs`), each output `[batch, *shape]` (`[batch, *shape, 2]` for a flagged one:
    flag, value)."""

    def __init__(self, mlp: nn.Module, width_in: int, inputs, outputs):
        super().__init__()
        self.mlp, self.width_in = mlp, width_in
        self.slots_in = sorted(inputs, key=lambda s: s.start)
        self.slots_out = list(outputs)
        self.input_names = [s.name for s in self.slots_in]
        self.output_names = [s.name for s in self.slots_out]
        self.dynamic_axes = {name: {0: "batch"} for name in self.input_names + self.output_names}
        self.dtype = mlp.layers[0].weight.dtype

    def forward(self, *fields):
        B = fields[0].shape[0]
        pieces, at = [], 0
        for s, x in zip(self.slots_in, fields):
            if s.start > at:  # channels no input names stay 0, as in encoding.encode_inputs
                pieces.append(x.new_zeros(B, s.start - at))
            pieces.append(x.reshape(B, s.stop - s.start).to(self.dtype))
            at = s.stop
        if at < self.width_in:
            pieces.append(fields[0].new_zeros(B, self.width_in - at).to(self.dtype))
        y = self.mlp(torch.cat(pieces, 1))
        return tuple(y[:, s.start:s.stop].reshape(B, *s.shape, *((2,) if s.kind in
                                                                  ("pinf", "ninf") else ()))
                     for s in self.slots_out)

    def example(self):
        return tuple(torch.zeros(2, *s.shape, dtype=self.dtype) for s in self.slots_in)


# ---------------------------------------------------------------- transformer

class SequenceModel(nn.Module):
    """A transformer file: `tokens` `[batch, T]` int64 vocabulary ids (T at most the compiled n;
    past a sequence's length any id), `lengths` `[batch]` int64. Each output is its
    channels of the residual stream: `[batch, T, C]` for a per-position output (rows past the
    length are padding), `[batch, C]` for a global one; `exact` `[batch]` is false where a
    sequence is not one the network was built for (a length past n, an id outside the
    vocabulary, a loop count with no value)."""

    def __init__(self, transformer: nn.Module, meta: dict):
        super().__init__()
        self.tr = transformer
        enc, arch = meta["encodings"], meta["architecture"]
        self.V = len(enc.get("vocab") or [])
        self.N = int(arch["sizes"]["n"])
        self.outs = [(o["name"], bool(o["per_position"]), list(o["channels"]))
                     for o in enc["outputs"]]
        # a repeat runs a number of times set by the length: every length 0..N gets the trip
        # counts the runtime evaluates for it, and the exported graph runs the stack once per
        # distinct tuple and keeps, per sequence, the run of its own length
        loops = arch.get("loops", [])
        choices: dict[tuple, int] = {}
        index, ok = [], []
        for L in range(self.N + 1):
            try:
                trips = tuple(max(formula.eval_int(lp["count"], {"n": L}), 0) for lp in loops)
            except formula.FormulaError:
                index.append(0)
                ok.append(False)
                continue
            index.append(choices.setdefault(trips, len(choices)))
            ok.append(True)
        self.trips = list(choices) or [()]
        self.register_buffer("trip_index", torch.tensor(index, dtype=torch.long),
                             persistent=False)
        self.register_buffer("length_ok", torch.tensor(ok, dtype=torch.bool), persistent=False)
        self.input_names = ["tokens", "lengths"]
        self.output_names = [name for name, _, _ in self.outs] + [EXACT]
        self.dynamic_axes = {"tokens": {0: "batch", 1: "T"}, "lengths": {0: "batch"},
                             EXACT: {0: "batch"}}
        for name, per_position, _ in self.outs:
            self.dynamic_axes[name] = {0: "batch", 1: "T"} if per_position else {0: "batch"}

    def forward(self, tokens, lengths):
        B = tokens.shape[0]
        # row 0 is the BOS row, id V (docs/weights.md, "Transformer files")
        # an id outside the vocabulary is clamped to one inside (exact says so where it is read),
        # so that no input makes the embedding's gather fail
        toks = torch.cat([torch.full_like(tokens[:, :1], self.V), tokens.clamp(0, self.V)], 1)
        lengths = lengths.long()
        at = lengths.clamp(0, self.N)
        x = None
        for k, trips in enumerate(self.trips):
            xk = self.tr(toks, lengths, trips)
            x = xk if x is None else torch.where((self.trip_index[at] == k).view(B, 1, 1), xk, x)
        pos = torch.arange(tokens.shape[1], device=tokens.device).view(1, -1)
        real = pos < lengths.view(B, 1)
        bad_id = ((tokens < 0) | (tokens >= self.V)) & real
        exact = (lengths >= 0) & (lengths <= self.N) & (lengths <= tokens.shape[1]) \
            & self.length_ok[at] & ~bad_id.any(1)
        outs = []
        for _, per_position, channels in self.outs:
            ch = torch.tensor(channels, dtype=torch.long, device=x.device)
            outs.append(x[:, 1:].index_select(2, ch) if per_position
                        else x[:, 1].index_select(1, ch))
        return (*outs, exact)

    def example(self):
        T = max(1, min(self.N, 3))
        return torch.zeros(2, T, dtype=torch.long), torch.tensor([T, T - 1 if T > 1 else T])


# ---------------------------------------------------------------- gnn

class GraphModel(nn.Module):
    """A gnn file in PyG's conventions: each input field by parameter name (`[N, C]` a node
    field, `[E, C]` an edge field in `edge_index` order, `[B, C]` a graph-level one, a pair
    field `[N, n, C]`), `edge_index` `[2, E]` int64 with global node ids, `batch` `[N]` and
    `ptr` `[B + 1]` as `torch_geometric.data.Batch` has them (every graph of a call has the
    same node count n = N / B, graph-major). Outputs by result name in the same layout, and
    `exact` `[B]`: false where a graph needed more loop rounds than were exported, a size
    formula has no value, the value-range analysis does not prove every value below the
    design bound, or a node-valued input is none."""

    def __init__(self, gnn: GNN, meta: dict, rounds: list[int]):
        super().__init__()
        self.gnn, self.rounds = gnn, list(rounds)
        arch = meta["architecture"]
        self.R = int(arch["design_bound"])
        self.bound = arch.get("value_bound")
        self.trained = meta.get("training") is not None
        self.fields = list(gnn.inputs)
        self.input_names = [name for name, _, _ in self.fields] + ["edge_index", "batch", "ptr"]
        self.output_names = [name for name, _, _ in gnn.outputs] + [EXACT]
        self.dynamic_axes = {"edge_index": {1: "E"}, "batch": {0: "N"}, "ptr": {0: "B+1"},
                             EXACT: {0: "B"}}
        for name, _, dom in self.fields + [(o, None, d) for o, _, d in gnn.outputs]:
            self.dynamic_axes[name] = _axes(dom)

    def forward(self, *args):
        *fields, edge_index, batch, ptr = args
        B = ptr.shape[0] - 1
        n = batch.shape[0] // B
        src = edge_index[0].long()
        counts = torch.zeros_like(ptr[1:]).long()
        m = counts.scatter_add(0, torch.div(src, n, rounding_mode="floor"), torch.ones_like(src))
        nodes = counts + n
        sizes, ok = self._size_table({"n": nodes, "m": m})
        stuck = []
        opts = Options(on_exit=lambda ins, active: stuck.append(active))
        inputs = {name: t for (name, _, _), t in zip(self.fields, fields)}
        out = self.gnn(inputs, edge_index, batch, sizes, rounds=self.rounds, options=opts)
        for active in stuck:
            ok = ok & ~active
        for (_, kind, dom), t in zip(self.fields, fields):
            if kind == "index":  # the runtime refuses a none node id (GNNNet.refusals)
                ok = ok & ~self._per_graph(t < 0, dom, B, src, n)
        ok = ok & ~self._bad_layout(edge_index, batch, ptr, B, n)
        return (*(out[name] for name, _, _ in self.gnn.outputs), ok)

    def _bad_layout(self, edge_index, batch, ptr, B, n):
        """Per graph, whether the batch is not the one disjoint union of B graphs of n nodes
        the module computes on: an edge into another graph, `batch` or `ptr` not graph-major.
        (What the runtime's encoder builds by construction; it also keeps every input of the
        file's interface in the traced graph, which drops inputs it does not read.)"""
        src, dst = edge_index[0].long(), edge_index[1].long()
        g_src = torch.div(src, n, rounding_mode="floor")
        g_dst = torch.div(dst, n, rounding_mode="floor")
        edge_bad = (g_src != g_dst).long()
        per_graph = torch.zeros_like(ptr[1:]).long().scatter_add(0, g_src.clamp(0, B - 1),
                                                                 edge_bad) > 0
        nodes = torch.arange(batch.shape[0], device=batch.device)
        batch_bad = (batch.long() != torch.div(nodes, n, rounding_mode="floor")).reshape(B, n)
        ptr_bad = ptr.long() != torch.arange(B + 1, device=ptr.device) * n
        return per_graph | batch_bad.any(1) | ptr_bad[:-1] | ptr_bad[1:]

    def _per_graph(self, flags, dom, B, src, n):
        if "edge" in dom:
            graph = torch.div(src, n, rounding_mode="floor")
            per_edge = flags.reshape(flags.shape[0], -1).any(1).long()
            return torch.zeros(B, dtype=torch.long).scatter_add(0, graph, per_edge) > 0
        return flags.reshape(B, -1).any(1)

    def _size_table(self, env):
        """`GNN.size_table` in tensors: [B, F] int64, and per graph whether every formula it
        needs has a value there (a formula inside a loop the graph does not enter is 0 and not
        needed, as in `size_table`)."""
        like = env["n"]
        columns: list = [None] * len(self.gnn.formulas)
        ok = torch.ones_like(like, dtype=torch.bool)

        def fill(code, entered):
            nonlocal ok
            for ins in code:
                if ins["op"] not in ("size", "loop"):
                    continue
                value, good = formulas.evaluate(ins["expr" if ins["op"] == "size" else "count"],
                                                env)
                if ins["op"] == "loop":
                    value = value.clamp(min=0)
                columns[ins["column"]] = torch.where(entered, value, torch.zeros_like(value))
                ok = ok & (good | ~entered)
                if ins["op"] == "loop":
                    fill(ins["body"], entered & (value > 0))

        fill(self.gnn.program, torch.ones_like(ok))
        if not self.trained:
            n = env["n"]
            ok = ok & (n <= self.R)
            if self.bound:
                need, good = formulas.evaluate(self.bound, env)
                ok = ok & good & (need <= self.R)
        if not columns:
            return torch.zeros(like.shape[0], 0, dtype=torch.long), ok
        return torch.stack(columns, 1), ok

    def example(self):
        """Two graphs of two nodes, one edge each: shapes only (the trace keeps them dynamic).
        Not one node, nor one graph: the module asks whether an axis is 1 or n (a broadcast
        axis or a node axis, `_aggregate`'s `prep`), and at n = 1 the trace could not tell."""
        n, B = 2, 2
        dtype = self.gnn._like.dtype
        edge_index = torch.tensor([[0, 2], [1, 3]])
        fields = []
        for _, _, dom in self.fields:
            if "edge" in dom:
                shape = (edge_index.shape[1], *[n] * node_axes(dom))
            elif node_axes(dom):
                shape = (B * n, *[n] * (node_axes(dom) - 1))
            else:
                shape = (B,)
            fields.append(torch.zeros(*shape, 1, dtype=dtype))
        batch = torch.arange(B).repeat_interleave(n)
        return (*fields, edge_index, batch, torch.arange(B + 1) * n)


def _axes(dom) -> dict[int, str]:
    """The dynamic axes of a field over `dom` in PyG's layout."""
    if "edge" in dom:
        return {0: "E", **{1 + i: "n" for i in range(node_axes(dom))}}
    if node_axes(dom):
        return {0: "N", **{i: "n" for i in range(1, node_axes(dom))}}
    return {0: "B"}
