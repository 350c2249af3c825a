"""Runtime for the `gnn` family: a message-passing network over node, edge, pair and global state
(docs/weights.md, "GNN layout"), run with torch.

Batches: instances are grouped by node count n; each group runs as one disjoint union in PyG's
conventions — node state `x` of shape (B·n, C) (held as (B, n, C)), `edge_index` = (src, dst)
with node ids offset by b·n, `edge_attr` (E, C), `batch` = the graph of each node — so one
`scatter_reduce` aggregates every graph's neighbourhoods at once. Pair state is (B, n, n, C),
global state (B, C). Trip counts are evaluated per graph (exact integers from n and m), and a
loop runs until the longest graph is done, each graph's state frozen once its own count is
reached or (`until stable`) once a round left it unchanged.

Aggregation ⊕ is `scatter_reduce(include_self=True)` into a tensor filled with the aggregator's
identity, so an empty neighbourhood gives the identity (min: the flag channel 0, i.e. +inf).
A flagged value (f, v) takes part in min/max only where f = 1: IEEE ±inf appears only as the
fill of that scatter, never in a channel or an MLP.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from nclang.compiler import formula
from nclang.dsl.diagnostics import Diagnostic, NclError
from nclang.dsl.values import NONE_INDEX, GraphData, Instance

from . import CompiledNet, exact_matmul
from .encoding import Slot, inexact, nearest

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


# ---------------------------------------------------------------- the module

class _Stage(nn.Module):
    def __init__(self, layers: list[dict]):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(s["in"], s["out"], device="meta") for s in layers)
        self.acts = [s["act"] for s in layers]

    def forward(self, x):
        for linear, act in zip(self.layers, self.acts):
            x = linear(x)
            if act == "relu":
                x = torch.relu(x)
        return x


class GNN(nn.Module):
    """The stages (message and update MLPs) as modules; the dataflow between them, the
    aggregations and the loops are run by `GNNNet` from the architecture's program."""

    def __init__(self, stages: list[dict]):
        super().__init__()
        self.stages = nn.ModuleList(_Stage(s["layers"]) for s in stages)


class _Group:
    """One disjoint union of graphs that share the node count n."""

    def __init__(self, graphs: list[GraphData], n: int, device):
        self.B, self.n, self.device = len(graphs), n, device
        self.ms = [g.m for g in graphs]
        src = np.concatenate([g.src for g in graphs]) if graphs else np.zeros(0, np.int64)
        dst = np.concatenate([g.dst for g in graphs]) if graphs else np.zeros(0, np.int64)
        self.src = torch.as_tensor(src, dtype=torch.long, device=device)
        self.dst = torch.as_tensor(dst, dtype=torch.long, device=device)
        self.ebatch = torch.as_tensor(np.repeat(np.arange(self.B), self.ms), dtype=torch.long,
                                      device=device)
        self.E = int(self.src.shape[0])
        self.ar = torch.arange(self.E, device=device)

    def lead(self, dom) -> int:
        return self.E if "edge" in dom else self.B

    def per_lead(self, mask: torch.Tensor, dom) -> torch.Tensor:
        return mask[self.ebatch] if "edge" in dom else mask


class GNNNet(CompiledNet):
    def __init__(self, file, meta, module, device, dtype):
        super().__init__(file, meta, module, device, dtype)
        arch = meta["architecture"]
        self.code = arch["program"]
        self.R = int(arch["design_bound"])
        self.bound = arch.get("value_bound")
        self.outputs = meta["encodings"]["outputs"]
        self.inputs = [e for e in meta["encodings"]["inputs"] if e["kind"] != "graph"]
        # per instance of the last `run`: the rounds each loop executed, in program order
        self.rounds: list[list[int]] = []
        self.training = meta.get("training")
        self.watch = False
        # for training (nclang.compiler.training.model): `early_exit=False` runs every loop to its trip
        # count even where `until stable` would stop; `on_round(ins, state, active)` is called
        # after each round with the carried variables' states and which graphs took part
        self.early_exit = True
        self.on_round = None
        # for training: hard gates pass their inputs' gradients straight through (`_aggregate`)
        self.straight_through = False

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
                self.watch = n in watch
                outs, rounds = self._run_group([instances[i] for i in idx], n)
                for j, i in enumerate(idx):
                    results[i] = outs[j]
                    self.rounds[i] = rounds[j]
        return results

    def run_networkx(self, G, **fields) -> dict:
        """`run` on one networkx graph (see `nclang.compiler.runtime.graphs.graph_instance` for how its
        nodes, edges and attributes become the program's input)."""
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

    def _watch_value(self, ins: dict, t: torch.Tensor) -> None:
        """Track the largest integer channel of every value (flags and Booleans are 0/1 by
        construction). No sync here: `_check_watch` reads it once per round and at the end, and
        a run that passed R anywhere is refused as a whole, so nothing inexact is returned."""
        kind = ins["kind"]
        if kind == "bool" or t.numel() == 0:
            return
        v = t[..., 1] if kind in ("pinf", "ninf") else t[..., 0]
        self.top = torch.maximum(self.top, v.detach().abs().amax())

    def _check_watch(self) -> None:
        if self.watch and float(self.top) > self.R:
            g = self.g
            sizes = f"n = {g.n}" + (f", m = {g.ms[0]}" if g.B == 1 else "")
            self._refuse(f"on this graph ({sizes}) the network's values reach "
                         f"{float(self.top):.0f}")

    # ---- one group

    def _run_group(self, insts: list[Instance], n: int):
        g = self.forward_group(insts, n)
        outs = []
        for b in range(g.B):
            values = {}
            for e in self.outputs:
                t = self.env[e["value"]]
                if "edge" in e["domain"]:
                    t = t[g.ebatch == b]
                else:
                    t = t[b]
                values[e["name"]] = self.decode(t.to("cpu", torch.float64).numpy(), e, n)
            outs.append(values)
        rounds = [[r[b] for r in self.loop_rounds] for b in range(g.B)]
        return outs, rounds

    def forward_group(self, insts: list[Instance], n: int) -> _Group:
        """Run the program on graphs that all have n nodes, leaving every value in `self.env`
        (output e is `self.env[e["value"]]`). Sets no grad mode: `run` wraps it in inference
        mode, training calls it with autograd on."""
        g = _Group([inst.graph for inst in insts], n, self.device)
        self.g, self.insts = g, insts
        self.env: dict[int, torch.Tensor] = {}
        self.loop_rounds: list[list[int]] = []
        self.top = torch.zeros((), dtype=self.dtype, device=self.device)
        self._block(self.code)
        self._check_watch()
        return g

    def decode(self, raw: np.ndarray, item: dict, n: int) -> np.ndarray:
        """One output's channels (last axis) in the interpreter's numpy form: exactly, or the
        nearest valid value for a trained file (`encodings["readout"] == "nearest"`)."""
        if self.readout == "nearest":
            return decode_nearest(raw, item["kind"], item["type"], n)
        return _decode(raw, item["kind"])

    def _tensor(self, a) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def _block(self, code: list[dict]) -> None:
        for ins in code:
            if ins["op"] == "loop":
                self._loop(ins)
            else:
                t = self.env[ins["out"]] = getattr(self, "_" + ins["op"])(ins)
                if self.watch:
                    self._watch_value(ins, t)

    def _input(self, ins) -> torch.Tensor:
        g, kind, dom = self.g, ins["kind"], ins["dom"]
        vals = [_encode(np.asarray(inst.values[ins["name"]]), kind) for inst in self.insts]
        if "edge" in dom:
            arr = np.concatenate(vals) if vals else np.zeros((0, _WIDTH[kind]))
        else:
            arr = np.stack(vals) if vals else np.zeros((0, _WIDTH[kind]))
        return self._tensor(arr)

    def _adjacency(self, ins) -> torch.Tensor:
        g = self.g
        t = torch.zeros((g.B, g.n, g.n, 1), dtype=self.dtype, device=self.device)
        t[g.ebatch, g.src, g.dst, 0] = 1
        return t

    def _const(self, ins) -> torch.Tensor:
        return self._tensor(ins["value"]).expand(self.g.B, len(ins["value"])).clone()

    def _size(self, ins) -> torch.Tensor:
        vals = [[size_at(self.file, ins["expr"], {"n": self.g.n, "m": m}, "size")]
                for m in self.g.ms]
        return self._tensor(np.array(vals, np.float64).reshape(self.g.B, 1))

    def _iota(self, ins) -> torch.Tensor:
        g = self.g
        return torch.arange(g.n, dtype=self.dtype, device=self.device).view(1, g.n, 1) \
            .expand(g.B, g.n, 1).clone()

    def _mlp(self, ins) -> torch.Tensor:
        x = torch.cat([self.env[a] for a in ins["args"]], dim=-1)
        return self.module.stages[ins["stage"]](x)

    def _broadcast(self, ins) -> torch.Tensor:
        g = self.g
        t = self.env[ins["arg"]]
        arg_dom, out_dom, axes, ends = ins["arg_dom"], ins["dom"], ins["axes"], ins["endpoints"]
        # rows per edge: the graph's row (lead B) or the edge's own (lead E); the first endpoint
        # read indexes graph and node at once, so no (E, n) intermediate is formed
        rows = g.ebatch if "edge" in out_dom and "edge" not in arg_dom else None
        cur = [i for i, k in enumerate(arg_dom) if k == "node"]
        for i, end in enumerate(ends):
            if end is None:
                continue
            pos = 1 + cur.index(i)
            idx = g.src if end == "src" else g.dst
            t = t.movedim(pos, 1)[g.ar if rows is None else rows, idx]
            rows = None
            cur.remove(i)
        if rows is not None:
            t = t[rows]
        out_nodes = [j for j, k in enumerate(out_dom) if k == "node"]
        targets = [out_nodes.index(axes[i]) for i in cur]
        # two node axes onto one (`edge(v, v)`, `r[v, v]`): the diagonal, kept at the first
        # axis's place (torch.diagonal puts it last, behind the channels)
        while len(set(targets)) != len(targets):
            i = next(i for i in range(len(targets)) if targets[i] in targets[:i])
            j = targets.index(targets[i])
            t = torch.diagonal(t, 0, 1 + j, 1 + i).movedim(-1, 1 + j)
            del targets[i]
        order = sorted(range(len(targets)), key=lambda j: targets[j])
        t = t.permute(0, *[1 + o for o in order], t.dim() - 1)
        shape = [g.n if p in targets else 1 for p in range(len(out_nodes))]
        t = t.reshape(t.shape[0], *shape, t.shape[-1])
        return t.expand(t.shape[0], *[g.n] * len(out_nodes), t.shape[-1])

    def _gather(self, ins) -> torch.Tensor:
        table, index = self.env[ins["table"]], self.env[ins["index"]]
        B, C = table.shape[0], table.shape[-1]
        # an index is -1 (none) or a node; the clamp keeps an off-range one (weights that do
        # not compute the program) a wrong value rather than an out-of-bounds gather
        idx = index.reshape(B, -1).nan_to_num(0.0).clamp(0, table.shape[1] - 1).long()
        out = torch.gather(table, 1, idx.unsqueeze(-1).expand(B, idx.shape[1], C))
        return out.reshape(*index.shape[:-1], C)

    # ---- aggregation

    def _aggregate(self, ins) -> torch.Tensor:
        g = self.g
        body_dom, axis, agg = ins["body_dom"], ins["axis"], ins["agg"]
        nodes = [i for i, k in enumerate(body_dom) if k == "node"]
        if ins["group"] is not None:
            ends = g.dst if ins["group"] == "dst" else g.src
            index, size = ends + g.ebatch * g.n, g.B * g.n
            pos = sum(1 for i in nodes if i < axis)

            def prep(t):
                return t

            def finish(t):
                t = t.reshape(g.B, g.n, *t.shape[1:])
                return t.movedim(1, 1 + pos)
        elif body_dom[axis] == "edge":
            index, size = g.ebatch, g.B

            def prep(t):
                return t

            def finish(t):
                return t
        else:
            d = 1 + nodes.index(axis)
            L = g.lead(body_dom)
            index = torch.arange(L, device=self.device).repeat_interleave(g.n)
            size = L

            def prep(t):
                t = t.expand(*t.shape[:d], g.n, *t.shape[d + 1:]) if t.shape[d] != g.n else t
                t = t.movedim(d, 1)
                return t.reshape(t.shape[0] * t.shape[1], *t.shape[2:])

            def finish(t):
                return t

        def get(v):
            return prep(self.env[v]) if v is not None else None

        body, cond, elem = get(ins["body"]), get(ins["cond"]), get(ins["elem"])
        ref = next(t for t in (body, cond, elem) if t is not None)
        c = (cond > 0.5) if cond is not None else torch.ones_like(ref[..., :1], dtype=torch.bool)

        def gate(hard, *softs):
            """A 0/1 gate as a float. For training (`straight_through`) it carries the gradient
            of the channels it thresholds: h + (s - s.detach()) adds exactly 0 going forward,
            so the forward pass is the compiled one bit for bit."""
            g = hard.to(self.dtype)
            if self.straight_through:
                for s in softs:
                    if s is not None and s.requires_grad:
                        g = g + (s - s.detach())
            return g

        def scat(vals, how, ident):
            out = torch.full((size, *vals.shape[1:]), ident, dtype=self.dtype, device=self.device)
            idx = index.view(-1, *[1] * (vals.dim() - 1)).expand_as(vals)
            return out.scatter_reduce(0, idx, vals, reduce=how, include_self=True)

        zero = torch.zeros((), dtype=self.dtype, device=self.device)
        cg = gate(c, cond)
        if agg == "any":
            return finish(scat(body * cg, "amax", 0.0))
        if agg == "all":
            return finish(scat(body * cg + (1 - cg), "amin", 1.0))
        if agg == "sum":
            if self.watch:
                # a partial sum may pass R where the total does not: bound it by the sum of |x|
                self._watch_value({**ins, "kind": "int"}, scat((body * cg).abs(), "sum", 0.0))
            return finish(scat(body * cg, "sum", 0.0))
        if agg == "count":
            return finish(scat(cg, "sum", 0.0))
        # min / max / argmin / argmax over the flagged-finite elements
        lo = agg in ("min", "argmin")
        if ins["body_kind"] in ("pinf", "ninf"):
            f, v = c & (body[..., :1] > 0.5), body[..., 1:]
            fg = gate(f, cond, body[..., :1])
        else:
            f, v = c, body
            fg = cg
        inf = math.inf if lo else -math.inf
        F = scat(fg, "amax", 0.0)
        M = scat(torch.where(f, v, zero + inf), "amin" if lo else "amax", inf)
        if agg in ("min", "max"):
            V = torch.where(F > 0.5, M, zero)
            out = torch.cat([F, V], -1) if ins["kind"] in ("pinf", "ninf") else V
            return finish(out)
        cand = f & (v == M[index])
        best = scat(torch.where(cand, elem, zero + math.inf), "amin", math.inf)
        return finish(torch.where(torch.isinf(best), zero - 1, best))

    # ---- loops

    def _loop(self, ins) -> None:
        g = self.g
        counts = torch.tensor([max(size_at(self.file, ins["count"], {"n": g.n, "m": m},
                                            "loop count"), 0)
                               for m in g.ms], dtype=torch.long, device=self.device)
        carried = ins["carried"]
        doms = {}
        cur = {}
        for c in carried:
            cur[c["name"]] = self.env[c["init"]] if c["init"] is not None else None
        active = counts > 0
        done = torch.zeros(g.B, dtype=torch.long, device=self.device)
        t = 0
        body_doms = _doms(ins["body"])
        while bool(active.any()):
            for c in carried:
                if c["param"] is not None:
                    self.env[c["param"]] = cur[c["name"]]
            self._block(ins["body"])
            changed = torch.zeros(g.B, dtype=torch.bool, device=self.device)
            for c in carried:
                new, old = self.env[c["next"]], cur[c["name"]]
                dom = body_doms.get(c["next"], doms.get(c["name"], []))
                doms[c["name"]] = dom
                if old is None:
                    cur[c["name"]] = new
                    changed |= True
                    continue
                mask = g.per_lead(active, dom).view(-1, *[1] * (new.dim() - 1))
                cur[c["name"]] = torch.where(mask, new, old)
                diff = (new != old).reshape(new.shape[0], -1).any(1)
                if "edge" in dom:
                    diff = torch.zeros(g.B, device=self.device).index_add(
                        0, g.ebatch, diff.to(torch.float32)) > 0
                changed |= diff
            done += active.long()
            self._check_watch()
            if self.on_round is not None:
                self.on_round(ins, cur, active)
            t += 1
            active = active & (counts > t)
            if ins["until_stable"] and self.early_exit:
                active = active & changed
        for c in carried:
            v = cur[c["name"]]
            if v is None:
                # first assigned inside a loop that ran no rounds: unassigned, as in the
                # interpreter; the checker refuses every read of it after the loop
                continue
            self.env[c["out"]] = v
        self.loop_rounds.append(done.tolist())


def _doms(code: list[dict]) -> dict[int, list[str]]:
    out = {}
    for ins in code:
        if ins["op"] == "loop":
            out.update(_doms(ins["body"]))
        else:
            out[ins["out"]] = ins["dom"]
    return out


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
    module = GNN(stages)
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
