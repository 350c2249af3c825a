"""Runtime for the `gnn` family: `GNNNet`, the `CompiledNet` of a gnn file, around the module
`gnn_module.GNN` (docs/weights.md, "GNN files" and "The torch modules").

`GNNNet.run` groups instances by node count n and encodes each group as one disjoint union in
PyG's conventions — node fields `[B·n, C]`, `edge_index` with node ids offset by b·n, edge
fields `[E, C]`, `batch` — with the size formulas evaluated exactly per graph
(`GNN.size_table`), so one `scatter_reduce` aggregates every graph's neighbourhoods at once.
What is the wrapper's and not the module's: refusing inputs the network cannot take, watching
values against the design bound R where the value-range analysis does not prove them below it,
the resource guard on `until stable` rounds (both as `Options` hooks of one call), and
decoding the channels into the interpreter's values.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nclang.compiler import formula
from nclang.dsl.diagnostics import Diagnostic, NclError
from nclang.dsl.values import NONE_INDEX, Instance

from . import CompiledNet, exact_matmul, limits
from .encoding import Slot, inexact, nearest
from .gnn_module import GNN, Options, Unrolled, batched, node_axes, rounds_for, value_domains

__all__ = ["GNN", "GNNNet", "GroupRun", "Options", "Unrolled", "build", "decode_nearest",
           "rounds_for", "size_at", "value_domains"]

_WIDTH = {"bool": 1, "int": 1, "index": 1, "pinf": 2, "ninf": 2}


# ---------------------------------------------------------------- exact size expressions

def eval_size_text(text: str, sizes: dict[str, int]) -> int:
    """The exact integer value of a size formula as the architecture stores it (`n - 1`,
    `ceil(log2(n))`): read by the closed grammar of `nclang.compiler.formula`, never as code, and
    computed with Python integers and fractions only. FormulaError (a ValueError) when it has no
    integer value at these sizes."""
    return formula.eval_int(text, sizes)


def size_at(file: str, text: str, sizes: dict[str, int], what: str) -> int:
    """`eval_size_text` for a runtime: a formula that passed validation at load time may still
    have no value at some input's sizes (`log2(m)` on a graph without edges); that is the file's
    fault, reported as a `bad-weights` error rather than a crash."""
    try:
        return formula.eval_int(text, sizes)
    except formula.FormulaError as err:
        at = ", ".join(f"{k} = {v}" for k, v in sorted(sizes.items()))
        raise NclError(Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights",
                                  f"{what} {text!r} cannot be evaluated at {at}: {err}")) \
            from None


# ---------------------------------------------------------------- the wrapper

class GNNNet(CompiledNet):
    """A gnn file ready to run on `Instance`s: encodes them into the module's tensors (one
    disjoint union per node count), runs `GNN.forward`, checks exactness and decodes."""

    def __init__(self, file, meta, module, device, dtype):
        super().__init__(file, meta, module, device, dtype)
        arch = meta["architecture"]
        self.R = int(arch["design_bound"])
        self.bound = arch.get("value_bound")
        self.outputs = meta["encodings"]["outputs"]
        self.inputs = [e for e in meta["encodings"]["inputs"] if e["kind"] != "graph"]
        # per instance of the last `run`: the rounds each loop executed, in program order (a
        # record for callers such as the tests; nothing reads it back)
        self.rounds: list[list[int]] = []
        self.training = meta.get("training")
        # set by `limits.guard` (runtime.load): count rounds and work as loops run
        self.guarded = False

    # ---- entry

    def run(self, instances: list[Instance]) -> list[dict]:
        results: list[dict | None] = [None] * len(instances)
        self.rounds = [[] for _ in instances]
        groups: dict[int, list[int]] = {}
        watch: set[int] = set()
        for i, inst in enumerate(instances):
            if not self._proven(inst):
                watch.add(inst.graph.n)
            groups.setdefault(inst.graph.n, []).append(i)
        with exact_matmul(), torch.inference_mode():
            for n, idx in sorted(groups.items()):
                outs, rounds = self._run_group([instances[i] for i in idx], n, n in watch)
                for j, i in enumerate(idx):
                    results[i] = outs[j]
                    self.rounds[i] = rounds[j]
        return results

    def run_networkx(self, G, **fields) -> dict:
        """`run` on one networkx graph (see `nclang.compiler.runtime.graphs.graph_instance` for how
        its nodes, edges and attributes become the program's input)."""
        from .graphs import graph_instance
        return self.run([graph_instance(self, G, **fields)])[0]

    def inexact(self, outputs: dict) -> list[str]:
        if self.readout == "nearest":
            return []  # every output was read as a valid value: wrong ones are for `test` to find
        slots = [Slot(e["name"], e["type"], e["kind"], (), 0, 0) for e in self.outputs
                 if e["kind"] not in ("pinf", "ninf")]
        problems = inexact(outputs, slots)
        for e in self.outputs:
            if e["kind"] not in ("pinf", "ninf"):
                continue
            v = np.asarray(outputs[e["name"]], np.float64)
            # an infinity here is a value (flag 0), a NaN a flag that was neither 0 nor 1
            bad = np.isnan(v) | (np.isfinite(v) & (v != np.round(v)))
            if bad.any():
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                where = e["name"] + "".join(f"[{i}]" for i in first)
                problems.append(f"output {where} is not an integer or inf ({int(bad.sum())} of "
                                f"{v.size} elements are off)")
        return problems

    def refusals(self, instance: Instance) -> list[tuple[str, tuple[int, ...], str]]:
        if self.training is None and instance.graph.n > self.R:
            return [("n", (), f"a graph with n = {instance.graph.n} has node indices past "
                              f"{self.R}, the largest value this "
                              f"{self.architecture.get('dtype', 'float32')} network computes "
                              f"exactly")]
        # The interpreter stops where a none node id is read through or used as a number; the
        # network computes on with none as -1 (a read through it gives node 0), and nothing in
        # its ops says which uses are guarded. So a none in a node-valued input is refused
        # outright: sometimes where the interpreter would run (a guarded read, a comparison),
        # never an answer the interpreter would not give.
        out = []
        for e in self.inputs:
            if e["kind"] != "index" or e["name"] not in instance.values:
                continue
            where = np.argwhere(np.asarray(instance.values[e["name"]]) == NONE_INDEX)
            for path in where[:5]:
                path = tuple(int(i) for i in path)
                label = e["name"] + "".join(f"[{i}]" for i in path)
                out.append((e["name"], path,
                            f"{label} is none (null), which {self.file} does not take: a "
                            f"compiled network cannot check that the program never reads "
                            f"through it or computes with it (nclang run can)"))
            if len(where) > 5:
                out.append((e["name"], (), f"{e['name']}: {len(where) - 5} more none values "
                                           f"not shown"))
        return out

    def _proven(self, inst: Instance) -> bool:
        """Whether the value-range analysis proves every value of this graph's run below R.

        Where it does not (its bound is the worst case: a path of maximal weights), the run is
        watched instead: every op's values are checked against R as they are computed, and the
        run is refused at the first one past it. Each block is exact on inputs below R (the
        compiler proved that for every block), so a run that passes the watch is exact; a
        100,000-node random graph has distances far below the bound (n - 1)·W."""
        if self.training is not None:
            return True  # a trained file is not exact anyway: nothing to prove or refuse
        n, m = inst.graph.n, inst.graph.m
        if n > self.R:
            self._refuse(f"a graph with n = {n} has node indices past {self.R}")
        need = size_at(self.file, self.bound, {"n": n, "m": m}, "the value bound") \
            if self.bound else 0
        return need <= self.R

    def _refuse(self, what: str):
        dtype = self.architecture.get("dtype", "float32")
        hint = ": recompile with --dtype float64" if dtype == "float32" else ""
        raise NclError(Diagnostic(
            self.file, 1, 1, 1, 1, "error", "not-exact",
            f"{what}, past {self.R}, the largest value this {dtype} network computes "
            f"exactly{hint}"))

    # ---- one group

    def tensors(self, insts: list[Instance], n: int):
        """The module's arguments for graphs that all have n nodes: (inputs, edge_index, batch,
        sizes) in PyG's layout (`gnn_module`), the graphs laid out as one disjoint union."""
        B = len(insts)
        inputs = {}
        for name, kind, dom in self.module.inputs:
            vals = [_encode(np.asarray(inst.values[name]), kind) for inst in insts]
            if "edge" in dom:
                arr = np.concatenate(vals) if vals else np.zeros((0, _WIDTH[kind]))
            else:
                arr = np.stack(vals) if vals else np.zeros((0, _WIDTH[kind]))
                if node_axes(dom):
                    arr = arr.reshape(B * n, *arr.shape[2:])
            inputs[name] = torch.as_tensor(arr, dtype=self.dtype, device=self.device)
        offsets = [b * n for b in range(B)]
        src = np.concatenate([inst.graph.src + o for inst, o in zip(insts, offsets)]) \
            if insts else np.zeros(0, np.int64)
        dst = np.concatenate([inst.graph.dst + o for inst, o in zip(insts, offsets)]) \
            if insts else np.zeros(0, np.int64)
        edge_index = torch.as_tensor(np.stack([src, dst]).astype(np.int64), device=self.device)
        batch = torch.arange(B, device=self.device).repeat_interleave(n)
        sizes = self.module.size_table(
            n, [inst.graph.m for inst in insts],
            lambda text, at, what: size_at(self.file, text, at, what)).to(self.device)
        return inputs, edge_index, batch, sizes

    def forward_group(self, insts: list[Instance], n: int, options: Options | None = None,
                      watch: bool = False) -> "GroupRun":
        """Run the module on graphs that all have n nodes. `watch`: check every value against R
        as it is computed (`_proven`). Sets no grad mode: `run` wraps it in inference mode,
        training calls it with autograd on. `options.on_round` is chained after the watch's and
        the resource guard's own."""
        opts = options or Options()
        inputs, edge_index, batch, sizes = self.tensors(insts, n)
        ms = [inst.graph.m for inst in insts]
        top = [torch.zeros((), dtype=self.dtype, device=self.device)]
        rounds: list[list[int]] = []

        def on_value(ins, t):
            # the largest integer channel (flags and Booleans are 0/1 by construction); no sync
            # here: `check` reads it once per round and at the end
            kind = ins["kind"]
            if kind == "bool" or t.numel() == 0:
                return
            v = t[..., 1] if kind in ("pinf", "ninf") else t[..., 0]
            top[0] = torch.maximum(top[0], v.detach().abs().amax())

        def check():
            # a run that passed R anywhere is refused as a whole, so nothing inexact is returned
            if watch and float(top[0]) > self.R:
                at = f"n = {n}" + (f", m = {ms[0]}" if len(ms) == 1 else "")
                self._refuse(f"on this graph ({at}) the network's values reach "
                             f"{float(top[0]):.0f}")

        hooks = [h for h in (limits.round_counter(self, n, ms) if self.guarded else None,
                             opts.on_round) if h is not None]

        def on_round(ins, cur, active):
            check()
            for h in hooks:
                h(ins, cur, active)

        run = Options(early_exit=opts.early_exit, straight_through=opts.straight_through,
                      on_value=on_value if watch else opts.on_value, on_round=on_round,
                      on_loop=lambda ins, done: rounds.append(done.tolist()))
        out = self.module(inputs, edge_index, batch, sizes, options=run)
        check()
        B = len(insts)
        outputs = {name: batched(out[name], dom, B, n) for name, _, dom in self.module.outputs}
        ebatch = torch.div(edge_index[0], n, rounding_mode="floor") if n else edge_index[0]
        return GroupRun(outputs, B, n, ebatch, [[r[b] for r in rounds] for b in range(B)])

    def _run_group(self, insts: list[Instance], n: int, watch: bool):
        g = self.forward_group(insts, n, watch=watch)
        outs = []
        for b in range(g.B):
            values = {}
            for e in self.outputs:
                t = g.outputs[e["name"]]
                t = t[g.ebatch == b] if "edge" in e["domain"] else t[b]
                values[e["name"]] = self.decode(t.to("cpu", torch.float64).numpy(), e, n)
            outs.append(values)
        return outs, g.rounds

    def decode(self, raw: np.ndarray, item: dict, n: int) -> np.ndarray:
        """One output's channels (last axis) in the interpreter's numpy form: exactly, or the
        nearest valid value for a trained file (`encodings["readout"] == "nearest"`)."""
        if self.readout == "nearest":
            return decode_nearest(raw, item["kind"], item["type"], n)
        return _decode(raw, item["kind"])


@dataclass(frozen=True)
class GroupRun:
    """What `GNNNet.forward_group` computed: {output name: tensor} in the batched layout (a
    node-led value (B, n..., C), an edge value (E, ..., C)), the group's B and n, each edge's
    graph, and per graph the rounds each loop ran (program order)."""
    outputs: dict[str, torch.Tensor]
    B: int
    n: int
    ebatch: torch.Tensor
    rounds: list[list[int]]

def _encode(value: np.ndarray, kind: str) -> np.ndarray:
    """An input value's channels (last axis)."""
    if kind in ("pinf", "ninf"):
        v = value.astype(np.float64)
        fin = np.isfinite(v)
        return np.stack([fin.astype(np.float64), np.where(fin, v, 0.0)], -1)
    return value.astype(np.float64)[..., None]


def _decode(raw: np.ndarray, kind: str) -> np.ndarray:
    """Channels back to the interpreter's numpy form; a value off the encoding stays raw (and
    NaN for a flag that is neither 0 nor 1), so that a comparison fails visibly."""
    if kind in ("pinf", "ninf"):
        f, v = raw[..., 0], raw[..., 1]
        ok = np.isin(f, (0.0, 1.0))
        inf = np.inf if kind == "pinf" else -np.inf
        return np.where(ok, np.where(f == 1.0, v, inf), np.nan)
    x = raw[..., 0]
    if kind == "bool":
        return x.astype(np.bool_) if np.isin(x, (0.0, 1.0)).all() else x
    if kind == "index":
        exact = np.isfinite(x).all() and (x == np.round(x)).all() and (x >= -1).all()
        return x.astype(np.int64) if exact else x
    return x


def decode_nearest(raw: np.ndarray, kind: str, type_text: str, n: int) -> np.ndarray:
    """A trained network's readout of channels (last axis): each element the nearest valid value
    (`encoding.nearest`); a flagged value is infinite where its flag is below 1/2."""
    if kind in ("pinf", "ninf"):
        v = nearest(raw[..., 1], "int", type_text)
        return np.where(raw[..., 0] > 0.5, v, np.inf if kind == "pinf" else -np.inf)
    return nearest(raw[..., 0], kind, type_text, n)


def build(file: str, tensors: dict[str, np.ndarray], meta: dict, device, dtype) -> GNNNet:
    arch = meta["architecture"]
    stages = arch.get("stages")
    if not isinstance(stages, list) or not isinstance(arch.get("program"), list) \
            or not isinstance(arch.get("design_bound"), int):
        raise NclError(Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights",
                                  "a gnn architecture needs 'stages', 'program' and "
                                  "'design_bound'"))
    module = GNN(arch, meta["encodings"]["outputs"])
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()}
    try:
        module.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as err:
        raise NclError(Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights",
                                  f"tensors do not match the architecture: "
                                  f"{str(err).splitlines()[0]}")) from None
    module = module.to(device=device, dtype=dtype).train(False)
    module.requires_grad_(False)
    return GNNNet(file, meta, module, device, dtype)
