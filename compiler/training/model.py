"""The compiled architecture as a trainable torch network (`Trainable`), with compiled or random
weights.

`build` compiles the program exactly as `nclang compile` does (`nclang.compiler.driver`) and keeps
the whole weight file's metadata: the architecture (layers, widths, aggregators, activations,
weight tying: one parameter set per `repeat` body, as in the file) and the encodings. The
weights are the compiled ones (plus seeded Gaussian noise), or a seeded random init of the same
tensors. The forward pass is the runtime's own code (`nclang.compiler.runtime.*`), run with
autograd on, so a `Trainable` with the compiled weights computes bit for bit what `nclang exec`
does.

What stays hard is the compiled architecture itself, not a training shortcut: a GNN's
aggregation conditions (`cond > 1/2`), the flags of values that may be infinite, argmin/argmax
selection, loop trip counts and `until stable`, the transformer's masks. Gradients flow through
the MLP stages, the aggregated values (sum, min, max: to the selected elements) and attention.
The GNN's 0/1 gates (conditions and finite-flags at an aggregation) pass their inputs' gradients
straight through (`gnn.Options.straight_through`, on while autograd is): the forward pass is
still the compiled one bit for bit, but the stages upstream of a gate can learn (without it
bellman_ford's finite-flags and dfs's conditions never receive a gradient). A `step` activation
has zero gradient, so only relu-compiled files train (the default).

Outputs are read as the nearest valid value (`nclang.compiler.runtime.encoding.nearest`): a trained
file says so in `encodings["readout"] = "nearest"` and carries a `training` metadata document,
so `nclang exec` / `test` / `inspect` run it like any weight file.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import tempfile
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nclang.compiler.targets import registry
from nclang.dsl.diagnostics import Diagnostic, NclError

from .similarity import Stack

FAMILIES = registry.NAMES
INITS = ("random", "compiled")


@dataclass(frozen=True)
class Forward:
    """One forward pass over a list of instances.

    `raw[name]`: the output's raw channels, (elements, channels) with grad: each instance's
    elements flattened row-major, instances in the order given. `outputs`: per instance, the
    decoded values (as `Trainable.predict`). `trace`: per instance, per executed loop round (of
    every loop, in execution order), the carried variables decoded, named as in
    `nclang.dsl.interpreter.run(..., trace=True)`; None for mlp and transformer files.
    `raw_trace`: per round, the carried variables' raw channels laid out as `raw` (an instance
    whose loop has stopped repeats its last state); only for a program with exactly one loop,
    else None.
    `hidden[layer]`: (rows, width) post-activation states of every hidden layer, rows in an
    order that depends only on the instances and the rounds run."""
    raw: dict[str, torch.Tensor]
    outputs: list[dict[str, np.ndarray]]
    trace: list[list[dict[str, np.ndarray]]] | None = None
    raw_trace: list[dict[str, torch.Tensor]] | None = None
    hidden: dict[str, torch.Tensor] | None = None


@dataclass(frozen=True)
class OutputSpec:
    """How one output (or carried variable) is read: its name, encoding kind (bool, bits, int,
    index, pinf, ninf, frac, token) and declared type text; `vocab` for a token."""
    name: str
    kind: str
    type: str = ""
    vocab: tuple = ()


# ---------------------------------------------------------------- building

def build(checked, *, target: str | None = None, sizes: dict[str, int] | None = None,
          vocab=None, init: str = "random", noise: float = 0.0, seed: int = 0,
          source=None) -> "Trainable":
    """The architecture `nclang compile` emits for `checked` (at `sizes`, for `target`, with
    `vocab`), with the compiled weights plus Gaussian noise of std `noise` · rms(tensor) per
    tensor (`init="compiled"`: relative, since compiled weights run from 1 to millions, and an
    absolute σ would be nothing on the large ones and everything on the small; an all-zero
    tensor gets std `noise`) or a seeded random init of the same tensors (`init="random"`),
    float32. `source` is the program's `nclang.compiler.driver.Source` (default: read from the
    file the program came from)."""
    from nclang.compiler.driver import compile_checked, read_source
    from nclang.compiler.weights import read_weights
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; one of {', '.join(INITS)}")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    src = source if source is not None else read_source(checked.program.span.file)
    sizes = dict(sizes or {})
    if checked.family == "seq" and "n" not in sizes:
        # the transformer is built for a longest sequence; `nclang test` draws up to this one
        from nclang.compiler.testing.inputs import DEFAULT_MAX_N
        sizes["n"] = DEFAULT_MAX_N
    name = checked.program.name
    with tempfile.TemporaryDirectory(prefix="nclang-train-") as folder:
        path = os.path.join(folder, f"{name}.safetensors")
        compile_checked(src, checked, path, target, sizes, "relu", "float32",
                        tuple(vocab) if vocab else None)
        tensors, meta = read_weights(path)
    rng = np.random.default_rng(seed)
    if init == "compiled":
        tensors = {k: (v + noise * _rms(v) * rng.standard_normal(v.shape)).astype(np.float32)
                   if noise else v.astype(np.float32) for k, v in sorted(tensors.items())}
    else:
        tensors = random_init(tensors, rng)
    return Trainable(f"{name}.safetensors", tensors, meta, checked)


def _rms(v: np.ndarray) -> float:
    r = float(np.sqrt(np.mean(np.square(v, dtype=np.float64)))) if v.size else 0.0
    return r if r > 0 and math.isfinite(r) else 1.0


def random_init(tensors: dict[str, np.ndarray], rng: np.random.Generator) -> dict:
    """Tensors of the same names and shapes, drawn as torch's default init draws them, from
    `rng` in name order (the same seed gives the same weights): uniform in ±1/sqrt(fan-in) for
    weights and their biases, N(0, 1) for embeddings. (He init was tried: it kept an 8-layer
    adder's activations alive a little better, but left 3 of 5 bfs seeds with a dead `any`
    against 1 of 5 for this one.)"""
    out = {}
    for name, t in sorted(tensors.items()):
        if name.startswith("embed."):
            out[name] = rng.standard_normal(t.shape).astype(np.float32)
            continue
        bound = 1.0 / math.sqrt(max(_fan_in(name, tensors), 1))
        out[name] = rng.uniform(-bound, bound, t.shape).astype(np.float32)
    return out


def _fan_in(name: str, tensors: dict) -> int:
    if name.endswith(".bias"):
        w = tensors.get(name[:-len("bias")] + "weight")
        return w.shape[-1] if w is not None else 1
    t = tensors[name]
    if name.endswith(".attn.o"):        # (heads, head_dim, d_model): reads every head
        return t.shape[0] * t.shape[1]
    if name.split(".")[-1] in ("q", "k", "v"):  # (heads, d_model, head_dim)
        return t.shape[1]
    return t.shape[-1] if t.ndim >= 2 else 1


def load_trainable(path, checked=None) -> "Trainable":
    """A weight file (compiled or trained) as a `Trainable`. Without `checked` (the program,
    which training's reference interpreter needs), the file's signature stands in for it."""
    from nclang.compiler.weights import read_weights
    file = os.fspath(path)
    tensors, meta = read_weights(file)
    if meta["target"] not in FAMILIES:
        raise NclError(Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights",
                                  f"target {meta['target']!r} cannot be trained"))
    tensors = {k: v.astype(np.float32) for k, v in tensors.items()}
    return Trainable(file, tensors, meta, checked)


# ---------------------------------------------------------------- the trainable network

class Trainable:
    """A network of a compiled architecture whose weights train. `module.state_dict()` has the
    weight file's tensor names; its parameters require grad."""

    def __init__(self, file: str, tensors: dict[str, np.ndarray], meta: dict, checked=None):
        import importlib
        from nclang.compiler.runtime import FAMILIES as RUNTIMES
        meta = copy.deepcopy(meta)
        meta["encodings"]["readout"] = "nearest"
        meta.setdefault("training", {})
        self.file, self.meta = file, meta
        self.family = meta["architecture"]["family"]
        tensors = {k: np.array(v, dtype=np.float32) for k, v in tensors.items()}
        runtime = importlib.import_module(RUNTIMES[self.family])
        self.net = runtime.build(file, tensors, meta, torch.device("cpu"), torch.float32)
        self.module: nn.Module = self.net.module
        self.module.requires_grad_(True)
        self.checked = checked if checked is not None else self.net.signature
        self.output_specs = _output_specs(meta)

    @property
    def program(self) -> str:
        return self.meta["program"]

    @property
    def sizes(self) -> dict[str, int]:
        return dict(self.net.sizes)

    # ---- running

    def forward(self, instances, *, trace: bool = False, hidden: bool = False,
                early_exit: bool = True, raw_trace: bool | None = None) -> Forward:
        """Run the network on `instances` with autograd as the caller has it (see `Forward`).
        `trace` fills `trace` and `raw_trace`; `raw_trace=True` alone fills only the latter
        (training with hints needs no decoded trace). `early_exit=False` runs every loop to its
        trip count even where `until stable` would stop (the result is the same: a round that
        changes nothing changes nothing again), so that two networks' hidden states are
        row-aligned."""
        from nclang.compiler.runtime import exact_matmul
        instances = list(instances)
        with exact_matmul():
            if self.family == "gnn":
                return _gnn_forward(self, instances, trace, hidden, early_exit,
                                    trace if raw_trace is None else raw_trace)
            if self.family == "mlp":
                return _mlp_forward(self, instances, hidden)
            return _transformer_forward(self, instances, hidden)

    def predict(self, instances, **kw) -> list[dict[str, np.ndarray]]:
        """The decoded outputs (nearest valid values) per instance, without grad."""
        with torch.no_grad():
            return self.forward(instances, **kw).outputs

    def loops(self) -> int:
        """How many `repeat` loops the architecture runs (nested ones counted)."""
        if self.family != "gnn":
            return len(self.meta["architecture"].get("loops", []))
        return _count_loops(self.meta["architecture"]["program"])

    def carried_specs(self) -> list[OutputSpec]:
        """The carried variables of a gnn's loops, as `OutputSpec`s (for hint losses)."""
        if self.family != "gnn":
            return []
        arch = self.meta["architecture"]
        return [OutputSpec(c["name"], arch["values"][str(c["next"])])
                for loop in _loops(arch["program"]) for c in loop["carried"]]

    # ---- weights

    def stacks(self) -> list[Stack]:
        """The MLPs of the network as `similarity.Stack`s: an mlp file's whole MLP, each gnn
        stage, each transformer block's MLP."""
        arch, t = self.meta["architecture"], self.tensors()
        if self.family == "mlp":
            return [Stack("layers", tuple((t[f"layers.{i}.weight"], t[f"layers.{i}.bias"],
                                           spec["act"])
                                          for i, spec in enumerate(arch["layers"])))]
        if self.family == "gnn":
            return [Stack(f"stages.{s}", tuple(
                (t[f"stages.{s}.layers.{i}.weight"], t[f"stages.{s}.layers.{i}.bias"],
                 spec["act"]) for i, spec in enumerate(stage["layers"])))
                for s, stage in enumerate(arch["stages"])]
        out = []
        for b, spec in enumerate(arch["blocks"]):
            n = len(spec["mlp"])
            if n:
                out.append(Stack(f"blocks.{b}.mlp", tuple(
                    (t[f"blocks.{b}.mlp.{i}.weight"], t[f"blocks.{b}.mlp.{i}.bias"],
                     "relu" if i < n - 1 else "id") for i in range(n))))
        return out

    def tensors(self) -> dict[str, np.ndarray]:
        """The current weights: file tensor names -> float32 arrays (copies)."""
        return {k: v.detach().to("cpu", torch.float32).numpy().copy()
                for k, v in sorted(self.module.state_dict().items())}

    def with_tensors(self, tensors: dict[str, np.ndarray]) -> "Trainable":
        """The same architecture with other weights (same names and shapes)."""
        mine = self.tensors()
        if set(tensors) != set(mine) or any(np.shape(tensors[k]) != mine[k].shape
                                            for k in mine):
            raise ValueError("with_tensors needs exactly this network's tensor names and shapes")
        return Trainable(self.file, tensors, self.meta, self.checked)

    def save(self, path, training: dict | None = None) -> None:
        """Write the weight file atomically, with `training` (seed, steps, sizes, losses, ...)
        as the metadata document `training` and outputs read as nearest valid values."""
        from nclang.compiler.weights import write_weights
        meta = copy.deepcopy(self.meta)
        meta["training"] = _json_safe(training if training is not None
                                      else meta.get("training") or {})
        meta["architecture"].pop("tensors", None)  # recomputed from the tensors written
        try:
            write_weights(path, self.tensors(), meta)
        except OSError as err:
            raise NclError(Diagnostic(os.fspath(path), 1, 1, 1, 1, "error", "cannot-write",
                                      f"cannot write file: {err.strerror or err}")) from None


def _json_safe(obj):
    """`obj` with non-finite floats as None and numpy scalars as Python numbers (canonical JSON
    allows neither NaN nor numpy types)."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _output_specs(meta: dict) -> list[OutputSpec]:
    return [OutputSpec(e["name"], e["kind"], e.get("type", ""), tuple(e.get("vocab") or ()))
            for e in meta["encodings"]["outputs"]]


def _loops(code: list[dict]):
    for ins in code:
        if ins["op"] == "loop":
            yield ins
            yield from _loops(ins["body"])


def _count_loops(code: list[dict]) -> int:
    return sum(1 for _ in _loops(code))


# ---------------------------------------------------------------- mlp

def _mlp_forward(tr: Trainable, instances, hidden: bool) -> Forward:
    from nclang.compiler.runtime.encoding import decode_outputs, encode_inputs
    net = tr.net
    x = torch.from_numpy(encode_inputs(instances, net.inputs, net.width_in)).to(torch.float32)
    states: dict[str, list] = {}
    with _hooks(tr, states, hidden):
        y = net.module(x)
    # a flagged output (pinf, ninf) is two channels per element, flag then value, as on the gnn
    raw = {s.name: y[:, s.start:s.stop].reshape(-1, 2 if s.kind in ("pinf", "ninf") else 1)
           for s in net.outputs}
    outputs = decode_outputs(y.detach().to(torch.float64).numpy(), net.outputs, "nearest")
    return Forward(raw, outputs, None, None, _cat(states) if hidden else None)


@contextlib.contextmanager
def _hooks(tr: Trainable, states: dict, on: bool):
    """Record post-activation states of the hidden Linear layers (mlp and gnn) into `states`."""
    handles = []
    if on:
        for prefix, layers, acts in _linear_stacks(tr):
            for i, (linear, act) in enumerate(zip(layers, acts)):
                if i == len(layers) - 1:
                    continue
                name = f"{prefix}{i}"

                def hook(mod, inp, out, name=name, act=act):
                    h = torch.relu(out) if act == "relu" else \
                        (out >= 0).to(out.dtype) if act == "step" else out
                    states.setdefault(name, []).append(h.reshape(-1, h.shape[-1]))
                handles.append(linear.register_forward_hook(hook))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _linear_stacks(tr: Trainable):
    m = tr.module
    if tr.family == "mlp":
        yield "layers.", list(m.layers), m.acts
    else:
        for s, stage in enumerate(m.stages):
            yield f"stages.{s}.layers.", list(stage.layers), stage.acts


def _cat(states: dict) -> dict[str, torch.Tensor]:
    return {k: torch.cat(v) for k, v in states.items()}


# ---------------------------------------------------------------- gnn

def _gnn_forward(tr: Trainable, instances, trace: bool, hidden: bool,
                 early_exit: bool, want_raw_trace: bool) -> Forward:
    from nclang.compiler.runtime.gnn import Options, value_domains
    net = tr.net
    arch = tr.meta["architecture"]
    groups: dict[int, list[int]] = {}
    for i, inst in enumerate(instances):
        groups.setdefault(inst.graph.n, []).append(i)
    order = sorted(groups)
    loops = list(_loops(arch["program"]))
    doms = value_domains(arch["program"])
    carried_doms = {c["name"]: doms.get(c["next"], []) for lp in loops for c in lp["carried"]}
    carried_kinds = {c["name"]: arch["values"][str(c["next"])] for lp in loops
                     for c in lp["carried"]}
    want_rounds = trace or (want_raw_trace and len(loops) == 1)
    outputs: list = [None] * len(instances)
    raw_parts: dict[str, list] = {e["name"]: [] for e in net.outputs}
    group_rounds: list[list[tuple[dict, torch.Tensor]]] = []
    group_graphs = []
    states: dict[str, list] = {}

    def on_round(ins, cur, active):
        rounds.append(({k: v for k, v in cur.items() if v is not None}, active.clone()))

    options = Options(early_exit=early_exit, straight_through=torch.is_grad_enabled(),
                      on_round=on_round if want_rounds else None)
    with _hooks(tr, states, hidden):
        for n in order:
            rounds: list = []
            idx = groups[n]
            g = net.forward_group([instances[i] for i in idx], n, options)
            group_rounds.append(rounds)
            group_graphs.append(g)
            for e in net.outputs:
                t = g.outputs[e["name"]]
                raw_parts[e["name"]].append(t.reshape(-1, t.shape[-1]))
                arr = t.detach().to(torch.float64).numpy()
                for b, i in enumerate(idx):
                    if outputs[i] is None:
                        outputs[i] = {}
                    part = arr[g.ebatch.numpy() == b] if "edge" in e["domain"] else arr[b]
                    outputs[i][e["name"]] = net.decode(part, e, n)
    perms: dict[tuple, torch.Tensor] = {}

    def perm(dom) -> torch.Tensor:
        key = tuple(dom)
        if key not in perms:
            perms[key] = _element_order(instances, groups, order, dom)
        return perms[key]

    raw = {e["name"]: torch.cat(raw_parts[e["name"]])[perm(e["domain"])] for e in net.outputs}
    traces = None
    if trace:
        traces = [[] for _ in instances]
        for n, rounds, g in zip(order, group_rounds, group_graphs):
            eb = g.ebatch.numpy()
            for cur, active in rounds:
                arrs = {k: v.detach().to(torch.float64).numpy() for k, v in cur.items()}
                for b, i in enumerate(groups[n]):
                    if not bool(active[b]):
                        continue
                    step = {}
                    for name, a in arrs.items():
                        part = a[eb == b] if "edge" in carried_doms[name] else a[b]
                        step[name] = _decode_state(part, carried_kinds[name], n)
                    traces[i].append(step)
    raw_trace = None
    if want_raw_trace and len(loops) == 1 and group_rounds and all(group_rounds):
        R = max(len(r) for r in group_rounds)
        raw_trace = []
        for t in range(R):
            step = {}
            for name in carried_kinds:
                parts = []
                for rounds in group_rounds:
                    v = rounds[min(t, len(rounds) - 1)][0].get(name)
                    if v is None:
                        break
                    parts.append(v.reshape(-1, v.shape[-1]))
                else:
                    step[name] = torch.cat(parts)[perm(carried_doms[name])]
            raw_trace.append(step)
    return Forward(raw, outputs, traces, raw_trace, _cat(states) if hidden else None)


def _decode_state(raw: np.ndarray, kind: str, n: int) -> np.ndarray:
    from nclang.compiler.runtime.gnn import decode_nearest
    return decode_nearest(raw, kind, "", n)


def _element_order(instances, groups, order, dom) -> torch.Tensor:
    """The permutation from group-major element order (the runtime's disjoint unions, by n) to
    instance order, for values over domain `dom`."""
    starts, counts, off = {}, {}, 0
    for n in order:
        for i in groups[n]:
            c = instances[i].graph.m if "edge" in dom else n ** sum(1 for d in dom if d == "node")
            starts[i], counts[i] = off, c
            off += c
    if not instances:
        return torch.zeros(0, dtype=torch.long)
    return torch.cat([torch.arange(starts[i], starts[i] + counts[i])
                      for i in range(len(instances))])


# ---------------------------------------------------------------- transformer

def _transformer_forward(tr: Trainable, instances, hidden: bool) -> Forward:
    net = tr.net
    if not instances:
        return Forward({o["name"]: torch.zeros(0, len(o["channels"])) for o in net.outputs},
                       [], None, None, {} if hidden else None)
    toks, lengths, groups = net.encode(instances)
    states: dict[str, list] = {}
    record = None
    if hidden:
        def record(name, h):
            states.setdefault(name, []).append(h.reshape(-1, h.shape[-1]))
    per_instance: list = [None] * len(instances)
    outputs: list = [None] * len(instances)
    for trips, members in groups.items():
        sel = np.array(members)
        x = net.module(torch.from_numpy(toks[sel]), torch.from_numpy(lengths[sel]), trips,
                       record=record)
        arr = x.detach().to(torch.float64).numpy()
        for r, b in enumerate(members):
            n = int(lengths[b])
            per_instance[b] = {o["name"]: (x[r, 1:n + 1] if o["per_position"] else x[r, 1:2])
                               [:, o["channels"]] for o in net.outputs}
            outputs[b] = net.decode(arr[r], n)
    raw = {o["name"]: torch.cat([p[o["name"]] for p in per_instance]) for o in net.outputs}
    return Forward(raw, outputs, None, None, _cat(states) if hidden else None)
