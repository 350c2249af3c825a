"""The `gnn` family's `torch.nn.Module`: the architecture's dataflow program run on tensors in
PyG's conventions (docs/weights.md, "GNN files" and "The torch modules").

`GNN(architecture, outputs)` holds the MLP stages as `nn.Linear` parameters named as in the file
(`stages.{i}.layers.{j}.weight`), so `load_state_dict(safetensors.torch.load_file(path),
strict=True)` fills it. `forward(inputs, edge_index, batch)` takes the graphs of one call as one
disjoint union: node fields `[N, C]`, edge fields `[E, C]` in `edge_index` order, graph-level
fields `[B, C]`, `edge_index` `[2, E]` with global node ids, `batch` `[N]`. Every graph of one
call has the same node count n (the nclang runtime groups a batch by n), so a node value is held
as (B, n, C) inside and a pair value as (B, n, n, C).

Nothing of a call stays on the module. What depends on the sizes of the graphs through a formula
(a loop's trip count, a `size` value) is evaluated exactly in Python by `size_table` and enters
as the integer tensor `sizes` [B, F]; when it is not given, `forward` computes it from `batch`
and `edge_index`. Loops run while any graph is active (data-dependent control flow); with
`rounds` given, loop i runs exactly rounds[i] rounds, each graph's state frozen once its own
count is reached or it became stable, which is the form `torch.export` can trace: the exported
program asserts at the end of each loop that no graph was still active.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from nclang.compiler import formula


@dataclass(frozen=True)
class Options:
    """How one `forward` call runs, beyond its tensors.

    `early_exit=False` runs an `until stable` loop to its trip count (the result is the same).
    `straight_through`: the 0/1 gates of an aggregation carry their inputs' gradients (training;
    the forward values are unchanged bit for bit). `on_value(ins, t)` sees every op's result (a
    loop-invariant one's once per run of its loop, as it is computed once; and,
    for a sum aggregation, the sum of magnitudes that bounds its partial sums); `on_round(ins,
    cur, active)` each loop round's carried values (batched layout: (B, n..., C), edge values
    (E, ..., C)) and which graphs took part; `on_loop(ins, done)` each loop's rounds per graph
    when it ends; `on_exit(ins, active)` which graphs were still active when it ended (only a
    fixed `rounds` leaves any: an exported graph reports them instead of asserting)."""
    early_exit: bool = True
    straight_through: bool = False
    on_value: Callable | None = None
    on_round: Callable | None = None
    on_loop: Callable | None = None
    on_exit: Callable | None = None


class _Stage(nn.Module):
    def __init__(self, layers: list[dict], dtype):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(s["in"], s["out"], device="meta", dtype=dtype)
                                    for s in layers)
        self.acts = [s["act"] for s in layers]

    def forward(self, x):
        for linear, act in zip(self.layers, self.acts):
            x = linear(x)
            if act == "relu":
                x = torch.relu(x)
        return x


def value_domains(code: list[dict]) -> dict[int, list[str]]:
    """Each value id of a gnn architecture's program (nested loops included) -> its domain."""
    out = {}
    for ins in code:
        if ins["op"] == "loop":
            out.update(value_domains(ins["body"]))
        else:
            out[ins["out"]] = ins["dom"]
    return out


def _walk(code: list[dict]):
    for ins in code:
        yield ins
        if ins["op"] == "loop":
            yield from _walk(ins["body"])


def _invariant(loop: dict) -> set[int]:
    """The ids of a loop body's top-level ops that read nothing a round changes (no carried
    parameter, no value of a nested loop, nothing computed from either): the same tensor every
    round, so a round after the first reuses it (a constant broadcast to every edge is an
    E-row gather otherwise, each round)."""
    variant = {c["param"] for c in loop["carried"] if c["param"] is not None}
    out = set()
    for ins in loop["body"]:
        if ins["op"] == "loop":
            variant |= set(value_domains(ins["body"]))
            variant |= {c["out"] for c in ins["carried"]}
            continue
        reads = [ins.get(k) for k in ("arg", "table", "index", "body", "cond", "elem")]
        reads += ins.get("args", [])
        if ins["op"] == "input" or any(r in variant for r in reads if r is not None):
            variant.add(ins["out"])
        else:
            out.add(ins["out"])
    return out


def node_axes(dom) -> int:
    return sum(1 for d in dom if d == "node")


def batched(t: torch.Tensor, dom, B: int, n: int) -> torch.Tensor:
    """A value in PyG's layout (a node-led value's first node axis merged with the graph axis:
    node `[N, C]`, pair `[N, n, C]`) in the module's batched layout ((B, n, C), (B, n, n, C))."""
    if "edge" in dom or not node_axes(dom):
        return t
    return t.reshape(B, n, *t.shape[1:])


def pyg(t: torch.Tensor, dom) -> torch.Tensor:
    """The inverse of `batched`."""
    if "edge" in dom or not node_axes(dom):
        return t
    return t.reshape(t.shape[0] * t.shape[1], *t.shape[2:])


def _numbered(code: list[dict], counter: list[int], loops=None) -> list[dict]:
    """A copy of `code` whose loop and size instructions carry their `column` of the size
    table (program order) and loops their number `loop`."""
    loops = loops if loops is not None else [0]
    out = []
    for ins in code:
        if ins["op"] in ("loop", "size"):
            ins = {**ins, "column": counter[0]}
            counter[0] += 1
        if ins["op"] == "loop":
            ins["loop"] = loops[0]
            loops[0] += 1
            ins["body"] = _numbered(ins["body"], counter, loops)
        out.append(ins)
    return out


class _Graphs:
    """One call's graphs (B graphs of n nodes each, the edges' local endpoints and graph), its
    arguments and the values computed so far: everything of a call, none of it on the module."""

    def __init__(self, inputs: dict, edge_index: torch.Tensor, B, n, sizes: torch.Tensor,
                 rounds: list[int] | None, dtype, device, opts: Options):
        self.B, self.n, self.dtype, self.device, self.opts = B, n, dtype, device, opts
        self.inputs, self.sizes, self.rounds = inputs, sizes, rounds
        src, dst = edge_index[0].long(), edge_index[1].long()
        # every graph has n nodes, so a global id's graph is id // n
        self.ebatch = torch.div(src, n, rounding_mode="floor") if n else src
        self.src, self.dst = src - self.ebatch * n, dst - self.ebatch * n
        self.E = src.shape[0]
        self.ar = torch.arange(self.E, device=device)
        # global endpoint ids, formed once per call rather than once per aggregation and round
        self.ends = {"src": src, "dst": dst}
        # per (endpoint, channels): the 0/1 "has an edge" indicator of an ungated non-flagged
        # min/max aggregation, which depends on the graph only
        self.present: dict[tuple, torch.Tensor] = {}
        self.env: dict[int, torch.Tensor] = {}

    def lead(self, dom):
        return self.E if "edge" in dom else self.B

    def per_lead(self, mask: torch.Tensor, dom) -> torch.Tensor:
        return mask[self.ebatch] if "edge" in dom else mask

    def tensor(self, a) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)


class GNN(nn.Module):
    """A compiled gnn file as a module: `GNN(meta["architecture"], meta["encodings"]["outputs"])`,
    then `load_state_dict(load_file(path), strict=True)`. `forward` returns {output name: tensor}
    in PyG's layout (see `pyg`)."""

    def __init__(self, architecture: dict, outputs: list[dict]):
        super().__init__()
        dtype = getattr(torch, architecture.get("dtype", "float32"))
        self.stages = nn.ModuleList(_Stage(s["layers"], dtype) for s in architecture["stages"])
        self.program = _numbered(architecture["program"], [0])
        self.outputs = [(e["name"], e["value"], list(e["domain"])) for e in outputs]
        self.inputs = [(ins["name"], ins["kind"], list(ins["dom"]))
                       for ins in _walk(self.program) if ins["op"] == "input"]
        # the size formulas, in program order: the columns of `sizes`
        self.formulas = [ins for ins in _walk(self.program) if ins["op"] in ("loop", "size")]
        self.loops = [ins for ins in self.formulas if ins["op"] == "loop"]
        # carries the module's dtype and device where it has no stage; not in the state_dict
        self.register_buffer("_like", torch.zeros((), dtype=dtype), persistent=False)
        # storage for load_state_dict to copy into, not a random init it would overwrite
        self.to_empty(device="cpu")

    # ---- sizes

    def size_table(self, n: int, ms: list[int], evaluate=None) -> torch.Tensor:
        """The formulas' exact values for B = len(ms) graphs of n nodes with ms[b] edges: [B, F]
        int64, column j `self.formulas[j]` (a loop's trip count, at least 0, or a `size` value).
        `evaluate(text, sizes, what)` computes one formula (default `formula.eval_int`, which
        raises FormulaError where it has no integer value). A formula inside a loop that no
        graph enters is not evaluated (it may have no value there; it is never read): 0."""
        def default(text, sizes, what):
            return formula.eval_int(text, sizes)
        ev = evaluate or default
        table = [[0] * len(self.formulas) for _ in ms]

        def fill(code):
            for ins in code:
                if ins["op"] == "size":
                    for row, m in zip(table, ms):
                        row[ins["column"]] = ev(ins["expr"], {"n": n, "m": m}, "size")
                elif ins["op"] == "loop":
                    for row, m in zip(table, ms):
                        row[ins["column"]] = max(ev(ins["count"], {"n": n, "m": m},
                                                    "loop count"), 0)
                    if any(row[ins["column"]] > 0 for row in table):
                        fill(ins["body"])

        fill(self.program)
        return torch.tensor(table, dtype=torch.long).reshape(len(ms), len(self.formulas))

    def graph_sizes(self, edge_index: torch.Tensor, batch: torch.Tensor) -> tuple[int, list[int]]:
        """(n, edges per graph) of a PyG batch whose graphs all have n nodes; ValueError for one
        whose graphs differ in size."""
        N = int(batch.shape[0])
        B = int(batch.max()) + 1 if N else 0
        counts = torch.bincount(batch, minlength=B)
        n = N // B if B else 0
        if B and not bool((counts == n).all()):
            raise ValueError("the graphs of one GNN forward call must have the same number of "
                             "nodes (group them by n)")
        if B and not bool((batch == torch.arange(B, device=batch.device)
                           .repeat_interleave(n)).all()):
            raise ValueError("batch must list each graph's nodes together, graph 0 first")
        ms = torch.bincount(batch[edge_index[0]], minlength=B).tolist() if B else []
        return n, ms

    # ---- entry

    def forward(self, inputs: dict[str, torch.Tensor], edge_index: torch.Tensor,
                batch: torch.Tensor, sizes: torch.Tensor | None = None,
                rounds: list[int] | None = None, options: Options | None = None
                ) -> dict[str, torch.Tensor]:
        """`inputs`: {parameter name: tensor in PyG's layout, channels last} (a `pinf` / `ninf`
        field has two channels: finite flag, value). `sizes`: `size_table` of these graphs
        (computed from `batch` and `edge_index` when None). `rounds`: per loop in program order,
        the rounds to run (None: while any graph is active)."""
        opts = options or Options()
        N = batch.shape[0]
        if sizes is None:
            n, ms = self.graph_sizes(edge_index, batch)
            sizes = self.size_table(n, ms).to(batch.device)
        B = sizes.shape[0]
        n = N // B if B else 0
        if rounds is not None and len(rounds) != len(self.loops):
            raise ValueError(f"rounds: {len(self.loops)} loops, {len(rounds)} counts given")
        missing = [name for name, _, _ in self.inputs if name not in inputs]
        if missing:
            raise ValueError(f"inputs: no tensor for parameter {', '.join(missing)}")
        g = _Graphs(inputs, edge_index, B, n, sizes, rounds, self._like.dtype,
                    self._like.device, opts)
        self._block(g, self.program)
        return {name: pyg(g.env[value], dom) for name, value, dom in self.outputs}

    def _block(self, g: _Graphs, code: list[dict], keep: set | None = None) -> None:
        """Run `code`; `keep`: ids whose value in `g.env` is from an earlier round and
        still right (loop-invariant, `_invariant`), not computed again."""
        for ins in code:
            if ins["op"] == "loop":
                self._loop(g, ins)
            elif keep is not None and ins["out"] in keep and ins["out"] in g.env:
                continue
            else:
                t = g.env[ins["out"]] = getattr(self, "_" + ins["op"])(g, ins)
                if g.opts.on_value is not None:
                    g.opts.on_value(ins, t)

    # ---- ops

    def _input(self, g: _Graphs, ins) -> torch.Tensor:
        t = g.inputs[ins["name"]].to(device=g.device, dtype=g.dtype)
        return batched(t, ins["dom"], g.B, g.n)

    def _adjacency(self, g: _Graphs, ins) -> torch.Tensor:
        t = torch.zeros((g.B, g.n, g.n, 1), dtype=g.dtype, device=g.device)
        t[g.ebatch, g.src, g.dst, 0] = 1
        return t

    def _const(self, g: _Graphs, ins) -> torch.Tensor:
        return g.tensor(ins["value"]).expand(g.B, len(ins["value"])).clone()

    def _size(self, g: _Graphs, ins) -> torch.Tensor:
        # through float64, as the exact integer becomes a float everywhere else
        col = g.sizes[:, ins["column"]]
        return col.to(torch.float64).to(g.dtype).reshape(g.B, 1)

    def _iota(self, g: _Graphs, ins) -> torch.Tensor:
        return torch.arange(g.n, dtype=g.dtype, device=g.device).view(1, g.n, 1) \
            .expand(g.B, g.n, 1).clone()

    def _mlp(self, g: _Graphs, ins) -> torch.Tensor:
        x = torch.cat([g.env[a] for a in ins["args"]], dim=-1)
        return self.stages[ins["stage"]](x)

    def _broadcast(self, g: _Graphs, ins) -> torch.Tensor:
        t = g.env[ins["arg"]]
        arg_dom, out_dom, axes, ends = ins["arg_dom"], ins["dom"], ins["axes"], ins["endpoints"]
        # rows per edge: the graph's row (lead B) or the edge's own (lead E); the first endpoint
        # read indexes graph and node at once, so no (E, n) intermediate is formed
        rows = g.ebatch if "edge" in out_dom and "edge" not in arg_dom else None
        cur = [i for i, k in enumerate(arg_dom) if k == "node"]
        if isinstance(g, _Graphs) and rows is not None and cur == [0] \
                and ends[0] is not None:
            # one node axis read at an endpoint: one row gather of the (B·n, C) table by the
            # global endpoint id, the same elements as indexing graph and node separately
            # (only in this module's layout: nclang.pyg's padded one numbers nodes otherwise)
            t = t.reshape(t.shape[0] * t.shape[1], *t.shape[2:]).index_select(0, g.ends[ends[0]])
            rows = None
            cur = []
        for i, end in enumerate(ends):
            if end is None or i not in cur:
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

    def _gather(self, g: _Graphs, ins) -> torch.Tensor:
        table, index = g.env[ins["table"]], g.env[ins["index"]]
        B, C = table.shape[0], table.shape[-1]
        # an index is -1 (none) or a node; the clamp keeps an off-range one (weights that do
        # not compute the program) a wrong value rather than an out-of-bounds gather
        idx = index.reshape(B, -1).nan_to_num(0.0).clamp(0, table.shape[1] - 1).long()
        out = torch.gather(table, 1, idx.unsqueeze(-1).expand(B, idx.shape[1], C))
        return out.reshape(*index.shape[:-1], C)

    # ---- aggregation

    def _aggregate(self, g: _Graphs, ins) -> torch.Tensor:
        body_dom, axis, agg = ins["body_dom"], ins["axis"], ins["agg"]
        nodes = [i for i, k in enumerate(body_dom) if k == "node"]
        dtype, device = g.dtype, g.device
        if ins["group"] is not None:
            index, size = g.ends[ins["group"]], g.B * g.n
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
            index = torch.arange(L, device=device).view(L, 1).expand(L, g.n).reshape(-1)
            size = L

            def prep(t):
                t = t.expand(*t.shape[:d], g.n, *t.shape[d + 1:]) if t.shape[d] != g.n else t
                t = t.movedim(d, 1)
                return t.reshape(t.shape[0] * t.shape[1], *t.shape[2:])

            def finish(t):
                return t

        def get(v):
            return prep(g.env[v]) if v is not None else None

        body, cond, elem = get(ins["body"]), get(ins["cond"]), get(ins["elem"])
        ref = next(t for t in (body, cond, elem) if t is not None)
        c = (cond > 0.5) if cond is not None else torch.ones_like(ref[..., :1], dtype=torch.bool)

        def gate(hard, *softs):
            """A 0/1 gate as a float. For training (`straight_through`) it carries the gradient
            of the channels it thresholds: h + (s - s.detach()) adds exactly 0 going forward,
            so the forward pass is the compiled one bit for bit."""
            out = hard.to(dtype)
            if g.opts.straight_through:
                for s in softs:
                    if s is not None and s.requires_grad:
                        out = out + (s - s.detach())
            return out

        def scat(vals, how, ident):
            out = torch.full((size, *vals.shape[1:]), ident, dtype=dtype, device=device)
            idx = index.view(-1, *[1] * (vals.dim() - 1)).expand_as(vals)
            return out.scatter_reduce(0, idx, vals, reduce=how, include_self=True)

        zero = torch.zeros((), dtype=dtype, device=device)
        cg = gate(c, cond)
        # ungated (no `where`): every element takes part, and x * 1 is x bit for bit, so the
        # gate's product and select are skipped
        ungated = cond is None
        if agg == "any":
            return finish(scat(body if ungated else body * cg, "amax", 0.0))
        if agg == "all":
            return finish(scat(body * cg + (1 - cg), "amin", 1.0))
        if agg == "sum":
            if g.opts.on_value is not None:
                # a partial sum may pass R where the total does not: bound it by the sum of |x|
                g.opts.on_value({**ins, "kind": "int"}, scat((body * cg).abs(), "sum", 0.0))
            return finish(scat(body * cg, "sum", 0.0))
        if agg == "count":
            return finish(scat(cg, "sum", 0.0))
        # min / max / argmin / argmax over the flagged-finite elements
        lo = agg in ("min", "argmin")
        if ins["body_kind"] in ("pinf", "ninf"):
            f, v = (body[..., :1] > 0.5) if ungated else c & (body[..., :1] > 0.5), body[..., 1:]
            fg = gate(f, cond, body[..., :1])
        else:
            f, v = c, body
            fg = cg
        inf = math.inf if lo else -math.inf
        key = (ins["group"], body_dom[axis], tuple(fg.shape[1:])) \
            if ungated and ins["body_kind"] not in ("pinf", "ninf") \
            and (ins["group"] is not None or body_dom[axis] == "edge") else None
        if key is not None:
            # fg is all ones here: F marks the segments with an element, a fact of the graph
            if key not in g.present:
                g.present[key] = scat(fg, "amax", 0.0)
            F = g.present[key]
            M = scat(v, "amin" if lo else "amax", inf)
        else:
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

    def _loop(self, g: _Graphs, ins) -> None:
        counts = g.sizes[:, ins["column"]]
        bound = None if g.rounds is None else g.rounds[ins["loop"]]
        carried = ins["carried"]
        doms: dict[str, list] = {}
        cur = {c["name"]: g.env[c["init"]] if c["init"] is not None else None for c in carried}
        active = counts > 0
        done = torch.zeros(g.B, dtype=torch.long, device=g.device)
        body_doms = value_domains(ins["body"])
        keep = _invariant(ins)
        for v in keep:
            g.env.pop(v, None)  # from an earlier run of this loop: its inputs may differ now
        t = 0
        while (bool(active.any()) if bound is None else t < bound):
            for c in carried:
                if c["param"] is not None:
                    g.env[c["param"]] = cur[c["name"]]
            self._block(g, ins["body"], keep)
            changed = torch.zeros(g.B, dtype=torch.bool, device=g.device)
            for c in carried:
                new, old = g.env[c["next"]], cur[c["name"]]
                dom = body_doms.get(c["next"], doms.get(c["name"], []))
                doms[c["name"]] = dom
                if old is None:
                    cur[c["name"]] = new
                    changed = torch.ones_like(changed)
                    continue
                mask = g.per_lead(active, dom).view(-1, *[1] * (new.dim() - 1))
                cur[c["name"]] = torch.where(mask, new, old)
                diff = (new != old).reshape(new.shape[0], -1).any(1)
                if "edge" in dom:
                    diff = torch.zeros(g.B, device=g.device).index_add(
                        0, g.ebatch, diff.to(torch.float32)) > 0
                changed = changed | diff
            done = done + active.long()
            if g.opts.on_round is not None:
                g.opts.on_round(ins, cur, active)
            t += 1
            active = active & (counts > t)
            if ins["until_stable"] and g.opts.early_exit:
                active = active & changed
        if bound is not None:
            # fewer rounds than some graph needed would be a wrong answer, not a slow one
            torch._assert_async(~active.any(), f"rounds[{ins['loop']}] = {bound} "
                                               f"is fewer than a graph's loop needs")
        if g.opts.on_exit is not None:
            g.opts.on_exit(ins, active)
        for c in carried:
            v = cur[c["name"]]
            if v is None:
                # first assigned inside a loop that ran no rounds: unassigned, as in the
                # interpreter; the checker refuses every read of it after the loop
                continue
            g.env[c["out"]] = v
        if g.opts.on_loop is not None:
            g.opts.on_loop(ins, done)


class Unrolled(nn.Module):
    """`gnn` with its loops run a fixed number of rounds: loop i (program order) exactly
    `rounds[i]` rounds, each graph's state frozen once its own trip count is reached or it is
    stable. `forward(inputs, edge_index, batch, sizes)` has no data-dependent control flow, so
    `torch.export.export` traces it with dynamic node and edge counts; the result equals
    `gnn`'s on every graph whose loops need at most that many rounds, and the program asserts
    that each did (`rounds_for` gives enough for graphs up to a size)."""

    def __init__(self, gnn: GNN, rounds: list[int]):
        super().__init__()
        if len(rounds) != len(gnn.loops):
            raise ValueError(f"rounds: {len(gnn.loops)} loops, {len(rounds)} counts given")
        self.gnn = gnn
        self.rounds = [int(r) for r in rounds]

    def forward(self, inputs: dict[str, torch.Tensor], edge_index: torch.Tensor,
                batch: torch.Tensor, sizes: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.gnn(inputs, edge_index, batch, sizes, rounds=self.rounds)


def rounds_for(gnn: GNN, sizes: torch.Tensor) -> list[int]:
    """Per loop, the largest trip count in a size table (`GNN.size_table`): rounds that are
    enough for every graph of it (an `until stable` loop stops at its count at the latest)."""
    return [int(sizes[:, ins["column"]].max()) if sizes.shape[0] else 0 for ins in gnn.loops]
