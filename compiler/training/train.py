"""The training loop behind `nclang train`: Adam on the type-fitted losses (`loss`), inputs from
`data.sample_instances`, targets (and traces, for hints) from the reference interpreter.

Batches: a graph batch holds graphs of one node count n (the bucket drawn with probability
proportional to its share of the examples). The runtime runs a batch as one disjoint union per
n, so a one-n batch is one union: one pass through the loop's rounds per step instead of one per
distinct n, which is what keeps a step cheap (a loop runs up to n - 1 or 2n rounds). Over the
steps every n of the training range is seen in proportion.

The defaults are small on purpose: `nclang gap` trains several seeds and must finish in minutes
on 2 CPU cores. Seeded: the same config and seed give the same weights (the data from
`config.seed`, the batches from it too; the init is the caller's, `model.build(seed=...)`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch

from nclang.dsl.diagnostics import NclError

from .config import TrainConfig
from .data import reference, sample_instances
from .loss import output_loss, trace_loss

# the largest gradient norm a step applies: an integer output far off (bellman_ford's distances
# reach 15,000 at n = 16) must not throw the weights away in one step
CLIP = 1.0


@dataclass(frozen=True)
class TrainResult:
    losses: list[float]           # per step (NaN for a step whose loss was not finite)
    seconds: float
    steps: int                    # steps taken (the cap, unless early stopping ended sooner)
    examples: int
    cap: int | None = None        # the step cap (config.steps)
    stopped: str = "cap"          # "cap" or "validation loss stopped improving"
    best_step: int | None = None  # the step whose weights were kept (early stopping)
    val_losses: tuple = ()        # (step, validation loss) measurements
    scales: dict | None = None    # the integer targets' normalisers (TrainConfig.normalise)
    scale_from: dict | None = None  # per normaliser: "analysis" (proved bound) or "data"


@dataclass(frozen=True)
class Data:
    """Training inputs with the interpreter's outputs (and per-round traces, for hints);
    `scales`: each integer target's normaliser (None: raw values)."""
    instances: list
    outputs: list[dict]
    traces: list | None = None
    scales: dict | None = None


def make_data(checked, config: TrainConfig, *, vocab=None, trace: bool | None = None,
              rng=None) -> Data:
    """`config.examples` inputs drawn from `config.seed` (or `rng`) and their reference
    outputs; inputs the interpreter rejects (outside the program's domain) are dropped."""
    rng = np.random.default_rng(config.seed) if rng is None else rng
    trace = config.trace_weight > 0 if trace is None else trace
    kw = {"families": config.families} if checked.family == "graph" else {}
    instances = sample_instances(checked, config.examples, rng, sizes=config.sizes,
                                 n_range=config.n_range, vocab=vocab, **kw)
    kept, outputs, traces = [], [], []
    for inst in instances:
        try:
            got = reference(checked, [inst], trace=trace)
        except NclError:
            continue
        kept.append(inst)
        if trace:
            outputs.append(got[0][0])
            traces.append(got[1][0])
        else:
            outputs.append(got[0])
    return Data(kept, outputs, traces if trace else None)


def train(trainable, config: TrainConfig | None = None, *, progress: bool = True,
          data=None) -> TrainResult:
    """Train `trainable` (in place) for `config.steps` Adam steps (default config: `TrainConfig()`)
    on `data` (a `Data`, or (instances, outputs[, traces])) or, by default, on
    `make_data(trainable.checked, config)`. A tqdm bar shows the loss (when `progress` and stderr
    is a terminal)."""
    from tqdm import tqdm
    config = TrainConfig() if config is None else config
    checked = trainable.checked
    hints = config.trace_weight > 0
    if hints and (trainable.family != "gnn" or trainable.loops() != 1):
        raise NclError.at(checked.program.name_span, "no-hints",
                          f"trace supervision (--hints) needs a graph program with exactly one "
                          f"repeat; '{checked.program.name}' compiles to a {trainable.family} "
                          f"network with {trainable.loops()}")
    if config.steps < 0 or config.batch < 1 or not (config.lr > 0 and math.isfinite(config.lr)):
        raise ValueError("steps >= 0, batch >= 1 and a finite lr > 0 are needed")
    data = _as_data(checked, config, data, hints)
    if not data.instances:
        raise NclError.at(checked.program.name_span, "no-valid-input",
                          f"none of the inputs drawn for {checked.program.name} runs without an "
                          f"error in the interpreter; nothing to train on")
    scale_from = None
    if config.normalise:
        from nclang.compiler.analysis.ranges import value_ranges

        from .scales import design_scales
        states = [state for tr in (data.traces or []) for state in tr]
        found = design_scales(value_ranges(checked), trainable.output_specs,
                              trainable.carried_specs() if states else [], data.instances,
                              data.outputs, states)
        scale_from = {name: s.source for name, s in found.items()}
        data = dataclasses.replace(data, scales={name: s.value for name, s in found.items()})
    rng = np.random.default_rng([config.seed, 1])
    buckets = _buckets(trainable, data.instances)
    weights = np.array([len(b) for b in buckets], np.float64)
    weights /= weights.sum()
    params = [p for p in trainable.module.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    losses: list[float] = []
    bar = tqdm(total=config.steps, desc=f"train {trainable.program}", unit="step",
               disable=not (progress and sys.stderr.isatty()), leave=False)
    start = time.perf_counter()
    early = _EarlyStop(trainable, config, hints, data.scales) if config.patience > 0 else None
    with single_thread():
        _steps(trainable, data, config, opt, params, buckets, weights, rng, losses, bar, early)
    if early is None:
        return TrainResult(losses, time.perf_counter() - start, config.steps,
                           len(data.instances), cap=config.steps, scales=data.scales,
                           scale_from=scale_from)
    early.restore()
    return TrainResult(losses, time.perf_counter() - start, len(losses), len(data.instances),
                       cap=config.steps, stopped=early.stopped, best_step=early.best_step,
                       val_losses=tuple(early.history), scales=data.scales,
                       scale_from=scale_from)


class _EarlyStop:
    """The validation loss every `val_every` steps on inputs drawn from their own stream
    ([seed, 2]: not the training draws), the best weights so far, and when to stop."""

    def __init__(self, trainable, config: TrainConfig, hints: bool, scales=None):
        import copy
        self._copy = copy.deepcopy
        vconf = dataclasses.replace(config, examples=config.val_examples)
        self.data = dataclasses.replace(make_data(trainable.checked, vconf, trace=hints,
                                                  rng=np.random.default_rng([config.seed, 2])),
                                        scales=scales)
        self.buckets = _buckets(trainable, self.data.instances)
        self.trainable, self.config = trainable, config
        self.best, self.best_step, self.bad = math.inf, 0, 0
        self.state = self._copy(trainable.module.state_dict())
        self.history: list = []
        self.stopped = "cap"

    def loss(self) -> float:
        total = count = 0.0
        with torch.no_grad():
            for bucket in self.buckets:
                value = float(batch_loss(self.trainable, self.data, bucket,
                                         self.config.trace_weight))
                total += value * len(bucket)
                count += len(bucket)
        return total / count if count else math.nan

    def check(self, step: int) -> bool:
        """After `step` steps: measure; True when training should stop."""
        if not self.data.instances:
            return False
        value = self.loss()
        self.history.append([step, float(f"{value:.6g}") if math.isfinite(value) else None])
        if math.isfinite(value) and value < self.best:
            self.best, self.best_step, self.bad = value, step, 0
            self.state = self._copy(self.trainable.module.state_dict())
            if value == 0:
                # the losses are exactly 0 at exact outputs: nothing left to improve
                self.stopped = "validation loss reached 0"
                return True
            return False
        self.bad += 1
        if self.bad >= self.config.patience:
            self.stopped = "validation loss stopped improving"
            return True
        return False

    def restore(self) -> None:
        self.trainable.module.load_state_dict(self.state)


def _steps(trainable, data, config, opt, params, buckets, weights, rng, losses, bar,
           early=None) -> None:
    smooth = None
    if early is not None and early.check(0):
        return
    try:
        for step in range(config.steps):
            bucket = buckets[rng.choice(len(buckets), p=weights)]
            take = rng.choice(len(bucket), size=min(config.batch, len(bucket)), replace=False)
            idx = [bucket[j] for j in take]
            loss = batch_loss(trainable, data, idx, config.trace_weight)
            opt.zero_grad(set_to_none=True)
            value = float(loss.detach())
            if math.isfinite(value):
                if loss.requires_grad:
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, CLIP)
                    opt.step()
                smooth = value if smooth is None else 0.9 * smooth + 0.1 * value
            losses.append(value if math.isfinite(value) else math.nan)
            bar.update(1)
            if step % 5 == 0 or step == config.steps - 1:
                bar.set_postfix_str(f"loss {smooth if smooth is not None else math.nan:.4g}")
            done = step + 1
            if early is not None and (done % config.val_every == 0 or done == config.steps):
                if early.check(done):
                    break
    finally:
        bar.close()


@contextlib.contextmanager
def single_thread():
    """torch on one intra-op thread for the duration, restoring the caller's setting after.
    The networks are tiny (tens to thousands of weights): a second thread only adds
    synchronisation, which on a loaded machine costs 10x (measured: 60 ms vs 6 ms per step)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def batch_loss(trainable, data: Data, idx: list[int], trace_weight: float = 0.0) -> torch.Tensor:
    """The training loss on the instances `idx` of `data`: output loss + trace_weight × hints."""
    insts = [data.instances[i] for i in idx]
    fwd = trainable.forward(insts, raw_trace=trace_weight > 0)
    loss = output_loss(trainable.output_specs, fwd.raw, [data.outputs[i] for i in idx],
                       data.scales)
    if trace_weight > 0 and fwd.raw_trace is not None and data.traces is not None:
        loss = loss + trace_weight * trace_loss(trainable.carried_specs(), fwd.raw_trace,
                                                [data.traces[i] for i in idx], data.scales)
    return loss


def _as_data(checked, config: TrainConfig, data, hints: bool) -> Data:
    if data is None:
        return make_data(checked, config, trace=hints)
    if not isinstance(data, Data):
        data = Data(*data)
    if hints and data.traces is None:
        outputs, traces = reference(checked, data.instances, trace=True)
        data = Data(data.instances, outputs, traces)
    return data


def _buckets(trainable, instances) -> list[list[int]]:
    """Instance indices grouped so that one batch is one forward pass: graphs by n."""
    if trainable.family != "gnn":
        return [list(range(len(instances)))]
    by_n: dict[int, list[int]] = {}
    for i, inst in enumerate(instances):
        by_n.setdefault(inst.graph.n, []).append(i)
    return [by_n[n] for n in sorted(by_n)]


# ---------------------------------------------------------------- accuracy

@dataclass(frozen=True)
class Accuracy:
    exact: float       # fraction of instances whose every output equals the interpreter's
    elements: float    # fraction of output elements equal
    count: int


def accuracy(trainable, instances, outputs: list[dict], *, batch: int = 256) -> Accuracy:
    """How often the network's decoded outputs equal the interpreter's `outputs`."""
    names = [s.name for s in trainable.output_specs]
    exact = same = total = 0
    for start in range(0, len(instances), batch):
        got = trainable.predict(instances[start:start + batch])
        for g, want in zip(got, outputs[start:start + batch]):
            ok = True
            for name in names:
                eq = _equal(want[name], g[name])
                same += int(eq.sum())
                total += eq.size
                ok = ok and bool(eq.all())
            exact += ok
    n = len(instances)
    return Accuracy(exact / n if n else math.nan, same / total if total else math.nan, n)


def _equal(want, got) -> np.ndarray:
    w, g = np.asarray(want), np.asarray(got)
    if w.shape != g.shape:
        return np.zeros(max(w.size, 1), bool)
    if w.dtype == object or g.dtype == object:
        return np.array([str(a) == str(b) for a, b in zip(w.reshape(-1), g.reshape(-1))], bool)
    return (w.astype(np.float64) == g.astype(np.float64)).reshape(-1)
