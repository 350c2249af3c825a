"""A compiled gnn network as a PyTorch Geometric `MessagePassing` module (docs/interop.md).

`ProgramGNN(net)` runs the architecture's dataflow program (docs/weights.md, "GNN files") on a
PyG `Batch` whose graphs may differ in size, which the runtime's own module
(`nclang.compiler.runtime.gnn_module.GNN`) does not take: it needs every graph of one call to
have the same n. Inside `forward` a node-led value is padded to the batch's largest graph,
(B, n_max, ..., C), with the graph's own nodes first; an edge-led value is (E, n_max..., C) and a
graph-level one (B, C). In that layout the runtime module's shape-generic ops (broadcast,
gather, MLP stages, constants, iota, adjacency) index nodes by their local id exactly as they do
for equal sizes, so they are called, not copied: one definition of what each op computes. What
padding changes is done here: inputs are scattered into the padded layout, `size` formulas and
loop trip counts are evaluated per graph at its own n and m, an aggregation over all nodes of a
graph excludes the padding, and a loop's `until stable` test looks only at real entries. Padding
entries never reach a real one: a neighbourhood has only real edges, a gather follows a real
node's pointer, and every all-nodes reduction masks the padding out.

Every neighbourhood aggregation (`in(v)` / `out(v)`) is one `MessagePassing.propagate` call:
`message` passes the per-edge value through, `aggregate` reduces it at the edge's target (its
source for `out(v)`, via the flipped edge_index) with the program's reduction (`amax` for any,
`amin` / `amax` for min / max and the argmin / argmax candidates, `sum` for sum / count) from the
program's identity. Loops run while any graph is active; each graph stops at its own trip count
or, for `until stable`, at its first round that changes none of its real entries (per-graph early
exit, as `nclang run`), its state frozen while others go on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch_geometric.nn import MessagePassing

from nclang.compiler import formula
from nclang.compiler.runtime import exact_matmul
from nclang.compiler.runtime.gnn_module import node_axes, value_domains
from nclang.dsl import types as T

# the ops the runtime module computes the same way for padded graphs (see the docstring)
SHARED_OPS = ("adjacency", "const", "iota", "mlp", "broadcast", "gather")


@dataclass(frozen=True)
class Field:
    """One input or output field in the PyG layout: its column of `x`, `edge_attr` or `u` (an
    input) or its key of `forward`'s result (an output). `kind` is the network's encoding
    (bool, int, index, pinf, ninf); `lo` / `hi` an int input's declared range."""
    name: str
    type: str
    kind: str
    domain: tuple[str, ...]
    lo: float | None = None
    hi: float | None = None


@dataclass(frozen=True)
class Layout:
    """Where `forward` reads each input and writes each output: `x` (node fields), `edge_attr`
    (edge fields), `u` (graph-level fields), one column each in parameter order, and `outputs`."""
    x: tuple[Field, ...]
    edge_attr: tuple[Field, ...]
    u: tuple[Field, ...]
    outputs: tuple[Field, ...]

    def __str__(self) -> str:
        rows = [(f"{where}[:, {j}]", f.name, f.type, _ENCODING[f.kind])
                for where in ("x", "edge_attr", "u") for j, f in enumerate(getattr(self, where))]
        rows += [(f"out[{f.name!r}]", shape_of(f.domain), f.type,
                  _ENCODING[f.kind] + (", -1 for none" if f.kind == "index" else ""))
                 for f in self.outputs]
        widths = [max(len(r[i]) for r in rows) for i in range(3)] if rows else []
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[3]
                         for r in rows)


# how a value of each encoding is written in a column
_ENCODING = {"bool": "0 or 1", "int": "an integer", "index": "a node of its graph (0..n-1)",
             "pinf": "an integer or inf", "ninf": "an integer or -inf"}


def shape_of(domain) -> str:
    """The shape of a result over `domain` in `forward`'s output: rows per node (N, the
    batch's nodes), edge (E) or graph (B), then n_max per further node axis."""
    lead = "E" if "edge" in domain else ("N" if domain else "B")
    rest = domain.count("node") - (0 if "edge" in domain or not domain else 1)
    return "[" + ", ".join([lead] + ["n_max"] * rest) + "]"


def layout_of(meta: dict) -> Layout:
    """The PyG layout of a gnn file's metadata; ValueError for a parameter that has none (a
    pair-valued input: PyG has no per-pair input tensor)."""
    from nclang.compiler.runtime.encoding import signature
    params = {p.name: T.from_syntax(p.type) for p in signature(meta, "<pyg>")[0].program.params}
    groups: dict[str, list[Field]] = {"x": [], "edge_attr": [], "u": []}
    for e in meta["encodings"]["inputs"]:
        if e["kind"] == "graph":
            continue
        dom = tuple(e.get("domain") or ())
        where = {("node",): "x", ("edge",): "edge_attr", (): "u"}.get(dom)
        if where is None:
            raise ValueError(f"parameter {e['name']}: {e['type']} has no PyG input layout "
                             f"(node fields go in x, edge fields in edge_attr, scalars in u)")
        t = params[e["name"]]
        elem = t.elem if isinstance(t, T.Field) else t
        lo, hi = (elem.lo, elem.hi) if isinstance(elem, T.Int) else (None, None)
        groups[where].append(Field(e["name"], e["type"], e["kind"], dom, lo, hi))
    outs = tuple(Field(e["name"], e["type"], e["kind"], tuple(e["domain"]))
                 for e in meta["encodings"]["outputs"])
    return Layout(tuple(groups["x"]), tuple(groups["edge_attr"]), tuple(groups["u"]), outs)


class _Padded:
    """One call's graphs in the padded layout: what the runtime module's ops read from their
    graphs argument (B, n, ebatch, src, dst, E, ar, env, dtype, device, tensor), plus each node's
    graph and local id and which padded slots are real nodes."""

    def __init__(self, edge_index, batch, B: int, dtype, device):
        self.dtype, self.device, self.B = dtype, device, B
        self.N = int(batch.shape[0])
        self.counts = torch.bincount(batch, minlength=B)
        self.ptr = torch.zeros(B + 1, dtype=torch.long, device=device)
        self.ptr[1:] = torch.cumsum(self.counts, 0)
        self.n = int(self.counts.max()) if B else 0
        self.batch = batch
        self.local = torch.arange(self.N, device=device) - self.ptr[batch]
        self.edge_index = edge_index
        src, dst = edge_index[0], edge_index[1]
        self.ebatch = batch[src]
        self.src, self.dst = self.local[src], self.local[dst]
        self.E = int(src.shape[0])
        self.ar = torch.arange(self.E, device=device)
        self.real = torch.arange(self.n, device=device).view(1, -1) < self.counts.view(-1, 1)
        self.env: dict[int, torch.Tensor] = {}

    def tensor(self, a) -> torch.Tensor:
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    def dense(self, flat: torch.Tensor) -> torch.Tensor:
        """Node rows [N, ...] in the padded layout (B, n_max, ...), padding 0."""
        out = torch.zeros((self.B, self.n, *flat.shape[1:]), dtype=flat.dtype, device=self.device)
        out[self.batch, self.local] = flat
        return out

    def flat(self, dense: torch.Tensor) -> torch.Tensor:
        """The inverse of `dense`: each real node's row."""
        return dense[self.batch, self.local]

    def mask(self, dom, shape) -> torch.Tensor | None:
        """Which entries of a value over `dom` (shape without channels) are real, or None when
        all are (no node axis)."""
        k = node_axes(dom)
        if not k:
            return None
        base = self.real[self.ebatch] if "edge" in dom else self.real
        m = torch.ones(shape, dtype=torch.bool, device=self.device)
        for i in range(k):
            view = [base.shape[0]] + [1] * k
            view[1 + i] = self.n
            m = m & base.view(view)
        return m


def _scatter(vals, index, size: int, how: str, fill: float):
    out = torch.full((size, *vals.shape[1:]), fill, dtype=vals.dtype, device=vals.device)
    idx = index.view(-1, *[1] * (vals.dim() - 1)).expand_as(vals)
    return out.scatter_reduce(0, idx, vals, reduce=how, include_self=True)


class ProgramGNN(MessagePassing):
    """A compiled gnn network on PyG batches: `forward(x, edge_index, batch=None, edge_attr=None,
    u=None)` returns {output name: tensor} (docs/interop.md has the layout). `gnn` is the
    runtime's module, whose stages this module shares (its state_dict is under `gnn.`)."""

    def __init__(self, gnn, meta: dict):
        super().__init__(aggr=None, node_dim=0)
        self.gnn = gnn
        self.layout = layout_of(meta)
        arch = meta["architecture"]
        self.R = int(arch["design_bound"])
        self.value_bound = arch.get("value_bound")
        self.trained = meta.get("training") is not None
        self.program = meta["program"]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.program} -> " \
            f"{', '.join(f.name for f in self.layout.outputs)})"

    # ---- MessagePassing: the per-edge value passes through, reduced at its target

    def message(self, msg):
        return msg

    def aggregate(self, inputs, index, dim_size, how: str, fill: float):
        return _scatter(inputs, index, dim_size, how, fill)

    # ---- entry

    def forward(self, x, edge_index, batch=None, edge_attr=None, u=None) -> dict:
        """The program's outputs on a PyG batch: `x` [N, len(layout.x)], `edge_index` [2, E],
        `batch` [N] (None: one graph), `edge_attr` [E, len(layout.edge_attr)], `u` [B,
        len(layout.u)]. ValueError for an input the network cannot compute exactly."""
        like = self.gnn._like
        dtype, device = like.dtype, like.device
        edge_index = edge_index.to(device).long()
        if x is None and batch is None:
            raise ValueError("give x (or, for a program without node fields, batch): "
                             "the number of nodes comes from them")
        N = int(x.shape[0]) if x is not None else int(batch.shape[0])
        batch = torch.zeros(N, dtype=torch.long, device=device) if batch is None \
            else batch.to(device).long()
        B = int(batch.max()) + 1 if N else 0
        if u is not None:
            # u has a row per graph, so it also counts graphs without nodes at the batch's end
            if int(u.shape[0]) < B:
                raise ValueError(f"u: {int(u.shape[0])} rows for {B} graphs")
            B = int(u.shape[0])
        if N and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch must list each graph's nodes together, graph 0 first (as "
                             "Batch.from_data_list does)")
        g = _Padded(edge_index, batch, B, dtype, device)
        if g.E and bool((batch[edge_index[0]] != batch[edge_index[1]]).any()):
            raise ValueError("an edge joins two graphs of the batch")
        ms = torch.bincount(g.ebatch, minlength=B).tolist()
        ns = g.counts.tolist()
        if not self.trained and g.n > self.R:
            raise ValueError(f"a graph with n = {g.n} has node indices past {self.R}, the "
                             f"largest value this network computes exactly")
        inputs = self._encode(g, x, edge_attr, u)
        g.sizes = self._size_table(ns, ms).to(device)
        watch = not self.trained and any(self._need(n, m) > self.R for n, m in zip(ns, ms))
        g.top = torch.zeros((), dtype=dtype, device=device)
        g.watch, g.inputs = watch, inputs
        with exact_matmul():
            self._block(g, self.gnn.program)
        if watch and float(g.top) > self.R:
            raise ValueError(f"on this batch the network's values reach {float(g.top):.0f}, "
                             f"past {self.R}, the largest value it computes exactly")
        return {f.name: self._decode(g, g.env[value], f)
                for f, (_, value, _) in zip(self.layout.outputs, self.gnn.outputs)}

    # ---- inputs and outputs

    def _encode(self, g: _Padded, x, edge_attr, u) -> dict[str, torch.Tensor]:
        L = self.layout
        out = {}
        for fields, t, rows, what in ((L.x, x, g.N, "x"), (L.edge_attr, edge_attr, g.E,
                                      "edge_attr"), (L.u, u, g.B, "u")):
            if not fields:
                continue
            if t is None or t.dim() != 2 or tuple(t.shape) != (rows, len(fields)):
                shape = None if t is None else tuple(t.shape)
                raise ValueError(f"{what}: expected shape ({rows}, {len(fields)}) for "
                                 f"{', '.join(f.name for f in fields)}, got {shape}")
            t = t.to(device=g.device, dtype=torch.float64)
            for j, f in enumerate(fields):
                col = t[:, j]
                self._check(g, f, col, what)
                if f.kind in ("pinf", "ninf"):
                    fin = torch.isfinite(col)
                    ch = torch.stack([fin.double(), torch.where(fin, col, 0.0)], -1)
                else:
                    ch = col.unsqueeze(-1)
                ch = ch.to(g.dtype)
                out[f.name] = g.dense(ch) if f.domain == ("node",) else ch
        return out

    def _check(self, g: _Padded, f: Field, col, what: str) -> None:
        """Refuse what the JSON decoder refuses, so that no input runs inexactly."""
        def bad(mask, why):
            if bool(mask.any()):
                i = int(mask.nonzero()[0, 0])
                raise ValueError(f"{what}[{i}] ({f.name}: {f.type}) = {float(col[i])!r}: {why}")
        bad(torch.isnan(col), "not a number")
        if f.kind == "bool":
            bad((col != 0) & (col != 1), "expected 0 or 1")
            return
        fin = torch.isfinite(col)
        bad(fin & (col != torch.round(col)), "not an integer")
        if f.kind == "index":
            # a pointer is a node of its own graph (local id); none is refused as the runtime
            # refuses it: nothing in the network says which reads of it are guarded
            owner = g.batch if f.domain == ("node",) else \
                (g.ebatch if f.domain == ("edge",) else torch.arange(g.B, device=g.device))
            bad(col == -1, "none (-1), which a compiled network does not take")
            bad(~fin | (col < 0) | (col >= g.counts[owner]), "not a node of its graph")
            return
        may_inf = f.lo is None or f.hi == math.inf
        may_ninf = f.lo is None or f.lo == -math.inf
        bad((col == math.inf) & (not may_inf), "infinite, which its type excludes")
        bad((col == -math.inf) & (not may_ninf), "infinite, which its type excludes")
        if f.lo is not None:
            bad(fin & ((col < f.lo) | (col > f.hi)), f"out of range {f.lo}..{f.hi}")

    def _decode(self, g: _Padded, t: torch.Tensor, f: Field) -> torch.Tensor:
        if node_axes(f.domain) and "edge" not in f.domain:
            t = g.flat(t)
        if f.kind in ("pinf", "ninf"):
            flag, v = t[..., 0], t[..., 1]
            inf = math.inf if f.kind == "pinf" else -math.inf
            # a flag that is neither 0 nor 1 reads as NaN, never as a plausible value
            return torch.where(flag == 1, v, torch.where(flag == 0, inf, math.nan))
        return t[..., 0]

    # ---- sizes

    def _size_table(self, ns: list[int], ms: list[int]) -> torch.Tensor:
        rows, seen = [], {}
        for n, m in zip(ns, ms):
            if (n, m) not in seen:
                try:
                    seen[n, m] = self.gnn.size_table(n, [m])
                except formula.FormulaError as err:
                    raise ValueError(f"a size formula has no value at n = {n}, m = {m}: "
                                     f"{err}") from None
            rows.append(seen[n, m])
        if not rows:
            return torch.zeros((0, len(self.gnn.formulas)), dtype=torch.long)
        return torch.cat(rows)

    def _need(self, n: int, m: int) -> int:
        if not self.value_bound:
            return 0
        try:
            return formula.eval_int(self.value_bound, {"n": n, "m": m})
        except formula.FormulaError as err:
            raise ValueError(f"the value bound has no value at n = {n}, m = {m}: {err}") \
                from None

    # ---- the program

    def _block(self, g: _Padded, code: list[dict]) -> None:
        for ins in code:
            op = ins["op"]
            if op == "loop":
                self._loop(g, ins)
                continue
            if op in SHARED_OPS:
                t = getattr(self.gnn, "_" + op)(g, ins)
            else:
                t = getattr(self, "_" + op)(g, ins)
            g.env[ins["out"]] = t
            if g.watch and ins["kind"] != "bool" and t.numel():
                v = t[..., 1] if ins["kind"] in ("pinf", "ninf") else t[..., 0]
                g.top = torch.maximum(g.top, v.abs().amax())

    def _input(self, g: _Padded, ins) -> torch.Tensor:
        return g.inputs[ins["name"]]

    def _size(self, g: _Padded, ins) -> torch.Tensor:
        col = g.sizes[:, ins["column"]]
        return col.to(torch.float64).to(g.dtype).reshape(g.B, 1)

    def _aggregate(self, g: _Padded, ins) -> torch.Tensor:
        body_dom, axis, agg = ins["body_dom"], ins["axis"], ins["agg"]
        valid = None
        if ins["group"] is not None:
            # a neighbourhood: one message per edge, reduced at its target by propagate
            ei = g.edge_index if ins["group"] == "dst" else g.edge_index.flip(0)
            index = ei[1]
            pos = sum(1 for i, k in enumerate(body_dom) if k == "node" and i < axis)

            def reduce(vals, how, fill):
                return self.propagate(ei, msg=vals, size=(g.N, g.N), how=how, fill=fill)

            def finish(t):
                return g.dense(t).movedim(1, 1 + pos)

            def prep(t):
                return t
        else:
            if body_dom[axis] == "edge":
                index, size = g.ebatch, g.B

                def prep(t):
                    return t
            else:
                # all nodes of a graph: that axis joins the lead, and its padding is masked out
                nodes = [i for i, k in enumerate(body_dom) if k == "node"]
                d = 1 + nodes.index(axis)
                L = g.E if "edge" in body_dom else g.B
                index = torch.arange(L, device=g.device).repeat_interleave(g.n)
                size = L
                rows = g.real[g.ebatch] if "edge" in body_dom else g.real
                valid = rows.reshape(-1, *[1] * len(nodes))

                def prep(t):
                    t = t.expand(*t.shape[:d], g.n, *t.shape[d + 1:]) if t.shape[d] != g.n \
                        else t
                    t = t.movedim(d, 1)
                    return t.reshape(t.shape[0] * t.shape[1], *t.shape[2:])

            def reduce(vals, how, fill):
                return _scatter(vals, index, size, how, fill)

            def finish(t):
                return t

        def get(v):
            return prep(g.env[v]) if v is not None else None

        body, cond, elem = get(ins["body"]), get(ins["cond"]), get(ins["elem"])
        ref = next(t for t in (body, cond, elem) if t is not None)
        c = (cond > 0.5) if cond is not None else torch.ones_like(ref[..., :1], dtype=torch.bool)
        if valid is not None:
            valid = valid.expand(*c.shape[:-1], 1)
            c = c & valid
            body = torch.where(valid, body, 0.0) if body is not None else None
            elem = torch.where(valid, elem, 0.0) if elem is not None else None
        return finish(self._reduce(ins, agg, body, c, elem, index, reduce, g.dtype, g.device))

    @staticmethod
    def _reduce(ins, agg, body, c, elem, index, reduce, dtype, device):
        """The aggregation `agg` of `body` over the elements where `c`, each reduced into its
        `index` by `reduce(vals, how, fill)`, in the network's encoding (a pinf / ninf result
        is a finite flag and a value; an argmin / argmax the least `elem` among the best)."""
        zero = torch.zeros((), dtype=dtype, device=device)
        cg = c.to(dtype)
        if agg == "any":
            return reduce(body * cg, "amax", 0.0)
        if agg == "all":
            return reduce(body * cg + (1 - cg), "amin", 1.0)
        if agg == "sum":
            return reduce(body * cg, "sum", 0.0)
        if agg == "count":
            return reduce(cg, "sum", 0.0)
        lo = agg in ("min", "argmin")
        if ins["body_kind"] in ("pinf", "ninf"):
            f, v = c & (body[..., :1] > 0.5), body[..., 1:]
        else:
            f, v = c, body
        inf = math.inf if lo else -math.inf
        F = reduce(f.to(dtype), "amax", 0.0)
        M = reduce(torch.where(f, v, zero + inf), "amin" if lo else "amax", inf)
        if agg in ("min", "max"):
            V = torch.where(F > 0.5, M, zero)
            return torch.cat([F, V], -1) if ins["kind"] in ("pinf", "ninf") else V
        cand = f & (v == M[index])
        best = reduce(torch.where(cand, elem, zero + math.inf), "amin", math.inf)
        return torch.where(torch.isinf(best), zero - 1, best)

    def _loop(self, g: _Padded, ins) -> None:
        counts = g.sizes[:, ins["column"]]
        carried = ins["carried"]
        body_doms = value_domains(ins["body"])
        doms: dict[str, list] = {}
        cur = {c["name"]: g.env[c["init"]] if c["init"] is not None else None for c in carried}
        active = counts > 0
        t = 0
        while bool(active.any()):
            for c in carried:
                if c["param"] is not None:
                    g.env[c["param"]] = cur[c["name"]]
            self._block(g, ins["body"])
            changed = torch.zeros(g.B, dtype=torch.bool, device=g.device)
            for c in carried:
                new, old = g.env[c["next"]], cur[c["name"]]
                dom = body_doms.get(c["next"], doms.get(c["name"], []))
                doms[c["name"]] = dom
                if old is None:
                    cur[c["name"]] = new
                    changed = changed | True
                    continue
                lead = g.ebatch if "edge" in dom else None
                mask = (active[lead] if lead is not None else active) \
                    .view(-1, *[1] * (new.dim() - 1))
                cur[c["name"]] = torch.where(mask, new, old)
                # only real entries count: a padding slot is no part of any graph
                diff = (new != old).any(-1)
                real = g.mask(dom, diff.shape)
                if real is not None:
                    diff = diff & real
                diff = diff.reshape(diff.shape[0], -1).any(1)
                if lead is not None:
                    diff = torch.zeros(g.B, device=g.device).index_add(
                        0, lead, diff.to(torch.float32)) > 0
                changed = changed | diff
            t += 1
            active = active & (counts > t)
            if ins["until_stable"]:
                active = active & changed
        for c in carried:
            if cur[c["name"]] is not None:
                # first assigned inside a loop that ran no rounds stays unassigned, as in the
                # interpreter; the checker refuses every read of it after the loop
                g.env[c["out"]] = cur[c["name"]]


def build(net) -> ProgramGNN:
    """The `ProgramGNN` of a `Network` whose target is gnn (it shares the network's module)."""
    return ProgramGNN(net.module, net.meta)
