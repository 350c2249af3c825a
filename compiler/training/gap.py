"""`nclang gap`: how networks trained from data differ from the compiled network of the same
architecture (issue 7), as one deterministic document (gap.json) and its report (gap.md, PNG
plots: `compiler.training.report`).

`gap` trains `seeds` networks from random inits (or loads trained files) and measures, against
the compiled network built from the same program:

- behaviour: exact match and per-element accuracy on fresh inputs at the training size and
  larger ones (n = 16, 64, 256 for graphs: CLRS's out-of-distribution protocol), for every seed
  and for the compiled network, which must score 1.0 (anything less is reported as a problem:
  a compiler or runtime bug, never smoothed over);
- faithfulness over time: per-round accuracy of the carried loop state against the
  interpreter's trace (the interpreter stops early at a stable state; the target after that is
  its last state, since a stable state is what every later round holds);
- internal: per-layer linear CKA of hidden states, trained vs compiled, on the same inputs,
  and the weight distance after aligning hidden units against several function-equivalent
  copies of the compiled network (`similarity.invariant_distance`);
- baselines: the same CKA and distance between every pair of trained seeds;
- stability: training started at the compiled weights plus noise σ: exact before, and after?

`head_to_head` runs `gap` on two programs for the same function (bfs vs closure, bellman_ford vs
apsp) and also scores both on the function they share; `examples_sweep` reports accuracy
against the number of training examples (bit-level programs: the NTK result is about 4·k
examples for k-bit addition).

Determinism: every random choice comes from a numpy Generator or torch seed derived from the
training seed (eval inputs from fixed seeds independent of it), so two runs with the same
config give the same gap.json except its "timing" section.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dsl import types as T
from dsl.diagnostics import Diagnostic, NclError
from dsl.values import Instance

# eval inputs come from these seeds, not the training seed: every seed and the compiled net see
# the same inputs, and a different training seed does not change the test set
EVAL_SEED = 7_000_003
ALIGN_SEED = 7_000_004
# above this many nodes an eval size gets fewer inputs (each costs n rounds of n nodes)
FULL_EVAL_N = 64
# the most (instance, round, unit-row) rows kept per layer for CKA (a fixed subset of rows)
MAX_CKA_ROWS = 20_000
# the most input cells (instances × n^(node axes + 1)) run through a network at once
CHUNK_CELLS = 1 << 22
# points kept of a training loss curve in gap.json
LOSS_POINTS = 100
# k for a bits program when neither --size nor the caller fixes it
DEFAULT_K = 8

# training defaults sized for `nclang gap stdlib/graph/bfs.ncl` in a few minutes on 2 CPU
# cores (3 seeds and 3 stability runs train); the rest are `TrainConfig`'s own
DEFAULT_EXAMPLES = 1000
DEFAULT_STEPS = 400


def default_train() -> "TrainConfig":
    # imported on use: the CLI builds its parser from `add_arguments` for every command, and
    # `check`/`compile` must not import torch (which the training loop does)
    from .train import TrainConfig
    return TrainConfig(examples=DEFAULT_EXAMPLES, steps=DEFAULT_STEPS)


@dataclass(frozen=True)
class GapConfig:
    seeds: int = 3
    train: "TrainConfig" = field(default_factory=default_train)
    eval_sizes: tuple[int, ...] = (16, 64, 256)
    # inputs per eval size up to n = 64; fewer above (see _points)
    eval_examples: int = 64
    noise: tuple[float, ...] = (0.0, 0.01, 0.1)
    variants: int = 8
    # inputs (at the training size) for faithfulness and hidden-state similarity
    similarity_examples: int = 16
    # training steps of each stability run (None: train.steps)
    stability_steps: int | None = None


# ---------------------------------------------------------------- the program under study

@dataclass(frozen=True)
class _Subject:
    checked: object
    file: str                     # display name
    source: object                # compiler.driver.Source: compiled exactly as nclang compile
    target: str | None
    sizes: dict = field(default_factory=dict)
    vocab: tuple | None = None

    @property
    def name(self) -> str:
        return self.checked.program.name


def _subject(path_or_checked, target, sizes, vocab, config: GapConfig) -> _Subject:
    from compiler.driver import read_source
    if isinstance(path_or_checked, (str, os.PathLike)):
        from dsl.checker import check_source, select_program
        source = read_source(os.fspath(path_or_checked))
        checked = select_program(check_source(source.text, source.file), None, source.file)
    else:
        # a checked program knows the file it was read from (as `model.build` reads it)
        checked = path_or_checked
        source = read_source(checked.program.span.file)
    file = os.path.basename(source.file)
    sizes = dict(sizes or {})
    if checked.family == "bits":
        for name in sorted(checked.size_vars):
            sizes.setdefault(name, DEFAULT_K)
    elif checked.family == "seq":
        sizes.setdefault("n", max(config.train.n_range[1], 1))
    return _Subject(checked, file, source, target, sizes, tuple(vocab) if vocab else None)


def _node_axes(checked) -> int:
    """How many node axes the widest assigned value has: 1 for node state, 2 for pair state."""
    widest = 0
    for axes in checked.assign_axes.values():
        widest = max(widest, sum(1 for a in axes if a.kind in ("node", "pos")))
    return max(widest, 1)


@dataclass(frozen=True)
class _Point:
    label: str                 # "n=64", "k=8"
    n: int | None
    count: int


def _points(subject: _Subject, config: GapConfig, examples: int | None = None) -> list[_Point]:
    """Where behaviour is measured: each eval size (graphs; sequences up to their compiled
    length), or the compiled sizes (bits programs have one width)."""
    examples = examples or config.eval_examples
    family = subject.checked.family
    if family == "bits":
        label = ",".join(f"{k}={v}" for k, v in sorted(subject.sizes.items())) or "fixed"
        return [_Point(label, None, examples)]
    sizes = list(dict.fromkeys(int(s) for s in config.eval_sizes))
    if family == "seq":
        sizes = [s for s in sizes if s <= subject.sizes["n"]] or [subject.sizes["n"]]
    # an input of n nodes costs about n^(axes + 1) per round: above FULL_EVAL_N, node programs
    # get examples · 64/n inputs (16 at n = 256), pair programs examples · (64/n)^3 (2 at 256)
    power = 2 * _node_axes(subject.checked) - 1
    out = []
    for s in sizes:
        share = min(1.0, FULL_EVAL_N / s) ** power
        out.append(_Point(f"n={s}", s, max(2, round(examples * share))))
    return out


def _sample(subject: _Subject, config: GapConfig, point: _Point, salt: int):
    from .data import reference, sample_instances
    rng = np.random.default_rng([EVAL_SEED, salt, point.n or 0])
    n_range = (point.n, point.n) if point.n is not None else config.train.n_range
    instances = sample_instances(subject.checked, point.count, rng, sizes=subject.sizes,
                                 n_range=n_range, families=config.train.families,
                                 vocab=subject.vocab)
    # inputs outside the program's domain (the interpreter rejects them) are dropped, as the
    # training data drops them
    kept, expected = [], []
    for instance in instances:
        try:
            expected.append(reference(subject.checked, [instance])[0])
        except NclError:
            continue
        kept.append(instance)
    if not kept:
        raise NclError.at(subject.checked.program.name_span, "no-valid-input",
                          f"none of the {len(instances)} inputs drawn at {point.label} runs "
                          f"without an error in the interpreter; nothing to score")
    return kept, expected


# ---------------------------------------------------------------- scoring

def _matches(expected, got) -> np.ndarray:
    """Per element of `expected`, whether `got` holds the same value (numbers compared as
    float64, so inf equals inf and a raw inexact float equals nothing)."""
    e = np.asarray(expected)
    g = np.asarray(got) if got is not None else None
    if g is None or e.shape != g.shape:
        return np.zeros(e.shape, dtype=bool)
    if e.dtype == object or g.dtype == object:
        return np.array([a == b for a, b in zip(e.reshape(-1).tolist(), g.reshape(-1).tolist())],
                        dtype=bool).reshape(e.shape)
    try:
        return e.astype(np.float64) == g.astype(np.float64)
    except (TypeError, ValueError):
        return np.zeros(e.shape, dtype=bool)


def score(names, expected: list[dict], got: list[dict]) -> dict:
    """Exact match (every element of every output right) and per-element accuracy (all elements
    of all outputs of all inputs pooled), overall and per output."""
    right = {name: 0 for name in names}
    total = {name: 0 for name in names}
    exact = 0
    for e, g in zip(expected, got):
        ok = True
        for name in names:
            m = _matches(e[name], g.get(name))
            right[name] += int(m.sum())
            total[name] += max(int(m.size), 0)
            ok = ok and bool(m.all())
        exact += ok
    elements = sum(total.values())
    return {"examples": len(expected),
            "exact_match": _r(exact / len(expected)) if expected else None,
            "per_element": _r(sum(right.values()) / elements) if elements else None,
            "outputs": {name: (_r(right[name] / total[name]) if total[name] else None)
                        for name in names}}


def _r(x):
    """A float for gap.json: 6 significant digits (stable text), None for NaN."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return None
    return float(f"{x:.6g}")


def _chunks(subject: _Subject, point: _Point, instances: list) -> list[list]:
    n = point.n or 1
    per = max(1, CHUNK_CELLS // (n ** (_node_axes(subject.checked) + 1)))
    return [instances[i:i + per] for i in range(0, len(instances), per)]


def _predict(trainable, subject, point, instances) -> list[dict]:
    out = []
    for chunk in _chunks(subject, point, instances):
        out += trainable.predict(chunk)
    return out


def _run_compiled(net, subject, point, instances) -> list[dict]:
    out = []
    for chunk in _chunks(subject, point, instances):
        out += net.run(chunk)
    return out


def _scored(checked) -> dict:
    """What the accuracy numbers count, in words, from the program's result types."""
    outputs = []
    for name, rtype in zip(checked.result_names, checked.program.results):
        t = T.from_syntax(rtype)
        elem = t.elem if isinstance(t, T.Field) else t
        if isinstance(t, T.Field):
            kinds = tuple(a.kind for a in t.axes)
            element = {("node",): "node", ("node", "node"): "ordered pair of nodes (i, j)",
                       ("edge",): "edge", ("pos",): "position"}.get(kinds)
            element = element or ("bit" if t.bits else "element")
        else:
            element = "the whole value (one per input)"
        if isinstance(elem, T.Bool):
            how = "the bit, exactly"
        elif isinstance(elem, T.Int):
            how = "the integer, exactly" + ("; inf is a value and must be predicted as inf"
                                            if elem.allows_inf else "")
        elif isinstance(elem, T.Index):
            how = "the index, exactly" + ("; none is a value" if elem.optional else "")
        elif isinstance(elem, T.Token):
            how = "the token, exactly"
        else:
            how = "the value, exactly"
        outputs.append({"name": name, "type": str(t), "element": element, "how": how})
    doc = {"outputs": outputs,
           "per_element": "the share of output elements (as listed) equal to the interpreter's, "
                          "pooled over every output of every input",
           "exact_match": "the share of inputs on which every element of every output is right",
           "decoding": "bool: > 0.5; int and index: rounded to the nearest valid value; inf "
                       "flag: > 0.5; the compiled network is read without rounding, so an "
                       "inexact value counts as wrong"}
    if checked.family == "graph":
        doc["note"] = ("CLRS-30 and the published trained results (Triplet-GMPNN, n = 64 after "
                       "training on n ≤ 16: about 99.5 for BFS, 98.7 for Bellman-Ford, 19.3 for "
                       "DFS) score the predecessor pointer of each node; this report scores the "
                       "program's own outputs listed above, so the numbers are comparable in "
                       "protocol (sizes, graph families) but not in what is predicted.")
    return doc


# ---------------------------------------------------------------- pieces of a gap run

class _Progress:
    """One line on stderr saying which phase runs (tqdm), quiet when progress is off."""

    def __init__(self, total: int, enabled: bool, name: str):
        self.bar = None
        if enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=name, file=sys.stderr, leave=True,
                            bar_format="{desc}: {n}/{total} phases [{elapsed}] {postfix}")

    def phase(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def done(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _compiled_net(subject: _Subject, folder: str):
    """The compiled network as `nclang compile` + `nclang exec` run it: the measurement of
    "the compiled network" goes through the real runtime, not through the trainable copy."""
    from compiler.runtime import load
    from compiler.driver import compile_checked
    out = os.path.join(folder, f"{subject.name}.safetensors")
    compile_checked(subject.source, subject.checked, out, subject.target,
                    _compile_sizes(subject), vocab=subject.vocab)
    return load(out), out


def _compile_sizes(subject: _Subject) -> dict:
    from dsl.jsonio import input_sizes
    if subject.checked.family == "seq":
        return dict(subject.sizes)
    fixed = input_sizes(subject.checked)
    return {k: v for k, v in subject.sizes.items() if k not in fixed}


def _build(subject: _Subject, **kw):
    from .model import build
    return build(subject.checked, target=subject.target, sizes=_compile_sizes(subject),
                 vocab=subject.vocab, source=subject.source, **kw)


def _train_config(subject: _Subject, config: "TrainConfig", **changes) -> "TrainConfig":
    if subject.checked.family != "graph" and config.sizes is None:
        changes.setdefault("sizes", dict(subject.sizes))
    return dataclasses.replace(config, **changes)


def _train(subject: _Subject, trainable, config: "TrainConfig", progress: bool):
    from .train import train
    return train(trainable, config, progress=progress)


def _loss_curve(losses) -> list[list]:
    losses = list(losses)
    if not losses:
        return []
    idx = sorted(set(np.linspace(0, len(losses) - 1, min(LOSS_POINTS, len(losses)))
                     .round().astype(int).tolist()))
    return [[i + 1, _r(losses[i])] for i in idx]


def _training_record(seed: int, source: str, result=None, meta: dict | None = None) -> dict:
    rec = {"seed": seed, "source": source}
    if result is not None:
        rec.update(steps=result.steps, examples=result.examples,
                   final_loss=_r(result.losses[-1]) if result.losses else None,
                   loss_curve=_loss_curve(result.losses))
    elif meta:
        losses = meta.get("losses") or []
        rec.update(steps=meta.get("steps"), examples=meta.get("examples"),
                   final_loss=_r(losses[-1]) if losses else None, loss_curve=_loss_curve(losses))
    return rec


def _behaviour(trainable, subject, points, evals) -> dict:
    out = {}
    for p in points:
        instances, expected = evals[p.label]
        got = _predict(trainable, subject, p, instances)
        out[p.label] = score(subject.checked.result_names, expected, got)
    return out


def _state_accuracy(trace, ref_trace) -> tuple[list[float], list[float], list[str]]:
    """Per round r, (per-element accuracy, exact match) of the carried state over instances; the
    interpreter's trace is extended with its last (stable) state."""
    rounds = max((len(t) for t in trace), default=0)
    names = None
    for t, rt in zip(trace, ref_trace):
        if t and rt:
            common = [k for k in t[0] if k in rt[0]]
            names = common if names is None else [k for k in names if k in common]
    names = names or []
    per, exact = [], []
    for r in range(rounds):
        right = total = ok = count = 0
        for t, rt in zip(trace, ref_trace):
            if not t or not rt:
                continue
            got = t[min(r, len(t) - 1)]
            want = rt[min(r, len(rt) - 1)]
            good = True
            for name in names:
                m = _matches(want[name], got.get(name))
                right += int(m.sum())
                total += int(m.size)
                good = good and bool(m.all())
            ok += good
            count += 1
        per.append(_r(right / total) if total else None)
        exact.append(_r(ok / count) if count else None)
    return per, exact, names


def _trace(trainable, instances):
    fwd = trainable.forward(instances, trace=True, early_exit=False)
    return fwd.trace


def _hidden(trainable, instances) -> dict[str, np.ndarray]:
    import torch
    with torch.no_grad():
        fwd = trainable.forward(instances, hidden=True, early_exit=False)
    out = {}
    for name, h in (fwd.hidden or {}).items():
        x = h.detach().cpu().double().numpy() if hasattr(h, "detach") else np.asarray(h, float)
        x = x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1)
        if x.shape[0] > MAX_CKA_ROWS:
            keep = np.sort(np.random.default_rng(ALIGN_SEED).choice(x.shape[0], MAX_CKA_ROWS,
                                                                     replace=False))
            x = x[keep]
        out[name] = x
    return out


def _cka_layers(a: dict, b: dict, layers: list[str]) -> list:
    from .similarity import linear_cka
    out = []
    for name in layers:
        X, Y = a.get(name), b.get(name)
        if X is None or Y is None or X.shape[0] != Y.shape[0]:
            out.append(None)
            continue
        with np.errstate(all="ignore"):
            out.append(_r(linear_cka(X, Y)))
    return out


def _distance(reference_stacks, other_stacks, rng, variants: int) -> dict:
    from .similarity import invariant_distance
    d = invariant_distance(reference_stacks, other_stacks, rng, variants=variants)
    return {"aligned_min": _r(d["min"]), "aligned_mean": _r(d["mean"]),
            "aligned_max": _r(d["max"]), "aligned_to_emitted": _r(d["aligned"]),
            "unaligned": _r(d["raw"])}


def _program_info(subject: _Subject, net, weights_path: str) -> dict:
    from compiler.weights import read_weights
    tensors, meta = read_weights(weights_path)
    cost = (meta.get("analysis") or {}).get("cost") or {}
    return {"name": subject.name, "file": subject.file, "family": subject.checked.family,
            "target": meta.get("target"), "sizes": dict(sorted(subject.sizes.items())),
            "rounds": _rounds(meta.get("architecture", {}).get("program")) or None,
            "class": cost.get("class"),
            "parameters": int(sum(int(np.prod(t.shape)) for t in tensors.values()))}


def _rounds(program) -> str:
    counts = []

    def walk(x):
        if isinstance(x, dict):
            if x.get("op") == "loop" and "count" in x:
                counts.append(str(x["count"]))
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(program)
    return ", ".join(dict.fromkeys(counts))


def _config_doc(config: GapConfig, subject: _Subject) -> dict:
    t = dataclasses.asdict(_train_config(subject, config.train))
    t["n_range"] = list(t["n_range"])
    t["families"] = list(t["families"])
    return {"seeds": config.seeds, "train": t, "eval_sizes": list(config.eval_sizes),
            "eval_examples": config.eval_examples, "noise": list(config.noise),
            "variants": config.variants, "similarity_examples": config.similarity_examples,
            "stability_steps": config.stability_steps or config.train.steps}


# ---------------------------------------------------------------- gap

def gap(path_or_checked, config: GapConfig | None = None, *, target: str | None = None,
        sizes: dict | None = None, vocab=None, load=(), out_dir=None,
        progress: bool = True) -> dict:
    """Train (or load) seeds, compare them with the compiled network, and write gap.json, gap.md
    and plots into `out_dir` (nothing is written when it is None). Returns the document."""
    config = config or GapConfig()
    doc, _ = _gap_run(_subject(path_or_checked, target, sizes, vocab, config), config, load,
                      progress)
    if out_dir is not None:
        from .report import write
        write(doc, out_dir)
    return doc


@dataclass(frozen=True)
class _Run:
    """What a gap run leaves besides its document: the networks, for head to head to reuse."""
    subject: _Subject
    net: object                   # the compiled network (compiler.runtime)
    trained: list                 # (seed, Trainable)


def _gap_run(subject: _Subject, config: GapConfig, load, progress: bool) -> tuple[dict, _Run]:
    load = [os.fspath(p) for p in load or ()]
    seeds = len(load) if load else config.seeds
    if seeds < 1:
        raise ValueError("gap needs at least one seed")
    with tempfile.TemporaryDirectory(prefix="nclang-gap-") as folder:
        return _gap(subject, config, load, seeds, folder, progress)


def _gap(subject: _Subject, config: GapConfig, load: list[str], seeds: int, folder: str,
         progress: bool) -> tuple[dict, "_Run"]:
    timing: dict = {}
    started = time.perf_counter()
    noise = tuple(config.noise)
    bar = _Progress(2 + seeds + 3 + len(noise), progress, f"nclang gap {subject.name}")
    try:
        # the compiled network and the eval inputs
        bar.phase("compiling, drawing eval inputs")
        t0 = time.perf_counter()
        net, weights = _compiled_net(subject, folder)
        compiled = _build(subject, init="compiled")
        points = _points(subject, config)
        evals = {p.label: _sample(subject, config, p, i) for i, p in enumerate(points)}
        sim_point = dataclasses.replace(points[0], count=config.similarity_examples)
        sim_instances, _ = _sample(subject, config, sim_point, len(points))
        timing["eval_inputs_s"] = time.perf_counter() - t0
        bar.done()

        bar.phase("scoring the compiled network")
        t0 = time.perf_counter()
        names = subject.checked.result_names
        behaviour = {"sizes": [p.label for p in points],
                     "compiled": {p.label: score(names, evals[p.label][1],
                                                 _run_compiled(net, subject, p,
                                                               evals[p.label][0]))
                                  for p in points},
                     "seeds": []}
        timing["compiled_eval_s"] = time.perf_counter() - t0
        bar.done()

        # the trained seeds
        trained, training = [], []
        timing["train_s"] = []
        for i in range(seeds):
            t0 = time.perf_counter()
            if load:
                from compiler.weights import read_weights
                from .model import load_trainable
                bar.phase(f"loading {load[i]}")
                tr = load_trainable(load[i], subject.checked)
                _check_same_architecture(compiled, tr, load[i])
                meta = read_weights(load[i])[1].get("training") or {}
                seed = int(meta.get("seed", i))
                training.append(_training_record(seed, f"loaded from {os.path.basename(load[i])}",
                                                 meta=meta))
            else:
                seed = config.train.seed + i
                bar.phase(f"training seed {seed} ({i + 1}/{seeds})")
                tr = _build(subject, init="random", seed=seed)
                result = _train(subject, tr, _train_config(subject, config.train, seed=seed),
                                progress)
                training.append(_training_record(seed, "random init", result))
            trained.append((seed, tr))
            timing["train_s"].append(time.perf_counter() - t0)
            bar.done()

        bar.phase("behaviour of the trained seeds")
        t0 = time.perf_counter()
        for seed, tr in trained:
            behaviour["seeds"].append({"seed": seed,
                                       "by_size": _behaviour(tr, subject, points, evals)})
        timing["trained_eval_s"] = time.perf_counter() - t0
        bar.done()

        bar.phase("faithfulness over rounds")
        t0 = time.perf_counter()
        faithfulness = _faithfulness(subject, compiled, trained, sim_instances, sim_point)
        timing["faithfulness_s"] = time.perf_counter() - t0
        bar.done()

        bar.phase("hidden states and weights")
        t0 = time.perf_counter()
        internal, baselines = _internal(subject, compiled, trained, sim_instances, sim_point,
                                        config.variants)
        timing["internal_s"] = time.perf_counter() - t0
        bar.done()

        stability = {"sizes": [p.label for p in points], "seed": config.train.seed,
                     "steps": config.stability_steps or config.train.steps, "runs": []}
        if not noise:
            stability["skipped"] = "no noise levels given (--noise)"
        timing["stability_s"] = []
        compiled_stacks = compiled.stacks()
        from .similarity import weight_distance
        for sigma in noise:
            t0 = time.perf_counter()
            bar.phase(f"stability σ={sigma}")
            start = _build(subject, init="compiled", noise=float(sigma), seed=config.train.seed)
            before = _behaviour(start, subject, points, evals)
            d_before = weight_distance(compiled_stacks, start.stacks())
            result = _train(subject, start, _train_config(
                subject, config.train, seed=config.train.seed,
                steps=config.stability_steps or config.train.steps), progress)
            after = _behaviour(start, subject, points, evals)
            stability["runs"].append({
                "noise": float(sigma), "before": before, "after": after,
                "final_loss": _r(result.losses[-1]) if result.losses else None,
                "distance_before": _r(d_before),
                "distance_after": _r(weight_distance(compiled_stacks, start.stacks())),
                "stays_exact": all(after[p.label]["exact_match"] == 1.0 for p in points)})
            timing["stability_s"].append(time.perf_counter() - t0)
            bar.done()
        bar.phase("done")
    finally:
        bar.close()

    problems = _problems(behaviour, faithfulness, stability)
    timing["total_s"] = time.perf_counter() - started
    timing = {k: ([round(x, 2) for x in v] if isinstance(v, list) else round(v, 2))
              for k, v in timing.items()}
    doc = {"kind": "gap", "version": 1,
            "program": _program_info(subject, net, weights),
            "config": _config_doc(dataclasses.replace(config, seeds=seeds), subject),
            "scored": _scored(subject.checked),
            "training": {"seeds": training},
            "behaviour": behaviour, "faithfulness": faithfulness, "internal": internal,
            "baselines": baselines, "stability": stability, "problems": problems,
            "timing": timing}
    return doc, _Run(subject, net, trained)


def _check_same_architecture(compiled, trained, path: str) -> None:
    a, b = compiled.tensors(), trained.tensors()
    if set(a) != set(b) or any(a[k].shape != b[k].shape for k in a):
        raise NclError(Diagnostic(path, 1, 1, 1, 1, "error", "architecture-mismatch",
                                  "this weight file does not have the architecture the program "
                                  "compiles to (other tensor names or shapes); train it from "
                                  "this program with the same --size/--target options"))


def _faithfulness(subject, compiled, trained, instances, point) -> dict:
    if compiled.family == "mlp":
        return {"skipped": "the mlp target unrolls every loop into a fixed circuit: there is no "
                           "per-round carried state to compare"}
    from .data import reference
    _, ref_traces = reference(subject.checked, instances, trace=True)
    if not any(ref_traces):
        return {"skipped": "the program has no loop: there is no per-round state"}
    comp_trace = _trace(compiled, instances)
    if comp_trace is None:
        return {"skipped": "this network family reports no per-round state"}
    per, exact, names = _state_accuracy(comp_trace, ref_traces)
    doc = {"n": point.n, "examples": len(instances), "variables": names,
           "compiled": {"per_element": per, "exact_match": exact}, "seeds": []}
    for seed, tr in trained:
        per, exact, _ = _state_accuracy(_trace(tr, instances), ref_traces)
        doc["seeds"].append({"seed": seed, "per_element": per, "exact_match": exact})
    return doc


def _internal(subject, compiled, trained, instances, point, variants: int):
    ref_hidden = _hidden(compiled, instances)
    layers = list(ref_hidden)
    hidden = [(seed, _hidden(tr, instances)) for seed, tr in trained]
    compiled_stacks = compiled.stacks()
    rows = int(next(iter(ref_hidden.values())).shape[0]) if ref_hidden else 0
    internal = {"n": point.n, "examples": len(instances), "rows": rows, "layers": layers,
                "stacks": len(compiled_stacks), "cka": [], "distance": []}
    for k, ((seed, h), (_, tr)) in enumerate(zip(hidden, trained)):
        internal["cka"].append({"seed": seed, "per_layer": _cka_layers(ref_hidden, h, layers)})
        rng = np.random.default_rng([ALIGN_SEED, seed])
        internal["distance"].append({"seed": seed, **_distance(compiled_stacks, tr.stacks(), rng,
                                                                variants)})
    pairs = [(i, j) for i in range(len(trained)) for j in range(i + 1, len(trained))]
    baselines = {"pairs": [[trained[i][0], trained[j][0]] for i, j in pairs], "cka": [],
                 "distance": []}
    if not pairs:
        baselines["skipped"] = "one seed only: no pair of trained networks to compare"
    for i, j in pairs:
        (si, hi), (sj, hj) = hidden[i], hidden[j]
        baselines["cka"].append({"pair": [si, sj], "per_layer": _cka_layers(hi, hj, layers)})
        rng = np.random.default_rng([ALIGN_SEED, si, sj])
        baselines["distance"].append({"pair": [si, sj], **_distance(
            trained[i][1].stacks(), trained[j][1].stacks(), rng, variants)})
    if not layers:
        internal["skipped"] = "the network has no hidden layer"
    return internal, baselines


def _problems(behaviour, faithfulness, stability) -> list[str]:
    out = []
    for label, s in behaviour["compiled"].items():
        if s["exact_match"] != 1.0 or s["per_element"] != 1.0:
            out.append(f"the compiled network scores {s['exact_match']} exact match / "
                       f"{s['per_element']} per element at {label}, not 1.0: a compiler or "
                       f"runtime bug; please report it")
    if faithfulness and not faithfulness.get("skipped"):
        bad = [r + 1 for r, v in enumerate(faithfulness["compiled"]["per_element"]) if v != 1.0]
        if bad:
            out.append(f"the compiled network's carried state differs from the interpreter's "
                       f"trace at rounds {bad[:10]}: a bug in the trainable copy or the runtime")
    for run in stability.get("runs", []):
        if run["noise"] == 0.0:
            bad = [k for k, v in run["before"].items() if v["exact_match"] != 1.0]
            if bad:
                out.append(f"the compiled weights loaded as a trainable network are not exact at "
                           f"{', '.join(bad)} before training: a bug in the trainable copy")
    return out


# ---------------------------------------------------------------- head to head

def head_to_head(path_a, path_b, config: GapConfig | None = None, *, target=None, sizes=None,
                 vocab=None, out_dir=None, progress: bool = True) -> dict:
    """`gap` on two programs that compute the same function, side by side in one report, with
    both scored on the function they share where one is a single-source view of the other."""
    config = config or GapConfig()
    started = time.perf_counter()
    subjects = [_subject(path, target, sizes, vocab, config) for path in (path_a, path_b)]
    if subjects[0].name == subjects[1].name:
        raise ValueError("head_to_head needs two different programs")
    docs, runs = zip(*(_gap_run(s, config, (), progress) for s in subjects))
    bar = _Progress(1, progress, f"nclang gap {subjects[0].name} vs {subjects[1].name}")
    bar.phase("scoring both on the shared function")
    try:
        common = _common(list(runs), config)
        bar.done()
    finally:
        bar.close()
    doc = {"kind": "head_to_head", "version": 1, "programs": list(docs), "common": common,
           "timing": {"total_s": round(time.perf_counter() - started, 2)}}
    if out_dir is not None:
        from .report import write
        write(doc, out_dir)
    return doc


def _projection(subjects):
    """(single, pair, source param) when one program takes a one-hot node[bool] source and
    returns a node field, and the other takes the same inputs without it and returns the pair
    field of the same element type whose row at the source is that node field; else None."""
    def params(s):
        return {p.name: str(T.from_syntax(p.type)) for p in s.checked.program.params}

    def result(s):
        if len(s.checked.program.results) != 1:
            return None
        return T.from_syntax(s.checked.program.results[0])

    for single, pair in (subjects, subjects[::-1]):
        ps, pp = params(single), params(pair)
        extra = [k for k in ps if k not in pp]
        if len(extra) != 1 or ps[extra[0]] != "node[bool]":
            continue
        if {k: v for k, v in ps.items() if k != extra[0]} != pp:
            continue
        rs, rp = result(single), result(pair)
        if not (isinstance(rs, T.Field) and isinstance(rp, T.Field)):
            continue
        if tuple(a.kind for a in rs.axes) != ("node",) or \
                tuple(a.kind for a in rp.axes) != ("node", "node"):
            continue
        if type(rs.elem) is not type(rp.elem):
            continue
        return single, pair, extra[0]
    return None


def _common(runs: list[_Run], config: GapConfig) -> dict:
    found = _projection([r.subject for r in runs])
    if found is None:
        return {"skipped": "neither program is a single-source view of the other (a node[bool] "
                           "source input and a node output against a pair output)"}
    single, pair, source = found
    sname, pname = single.name, pair.name
    rs, rp = single.checked.result_names[0], pair.checked.result_names[0]
    doc = {"description":
           f"Both programs scored on the same inputs (n nodes, one source s) on what they share: "
           f"`{sname}`'s `{rs}` per node, and row s of `{pname}`'s `{rp}` "
           f"({rp}[s, v] per node v; `{pname}` does not read the source). Exact match / "
           f"per-element accuracy in percent; trained: the mean over the seeds above.",
           "single": sname, "pair": pname, "sizes": [], "programs": {}}
    # the pair program's sizes: it costs n^3 per input, so it sets how many inputs are affordable
    points = _points(pair, config)
    doc["sizes"] = [p.label for p in points]
    evals = {p.label: _sample(single, config, p, 100 + i) for i, p in enumerate(points)}
    run_of = {r.subject.name: r for r in runs}
    for subject in (single, pair):
        run = run_of[subject.name]
        entry = {"compiled": {}, "seeds": []}
        for p in points:
            instances, expected = evals[p.label]
            got = _run_compiled(run.net, subject, p, _inputs_for(subject, instances, source))
            entry["compiled"][p.label] = _common_score(subject is pair, rs, rp, source,
                                                       instances, expected, got)
        for seed, tr in run.trained:
            by = {}
            for p in points:
                instances, expected = evals[p.label]
                got = _predict(tr, subject, p, _inputs_for(subject, instances, source))
                by[p.label] = _common_score(subject is pair, rs, rp, source, instances,
                                            expected, got)
            entry["seeds"].append({"seed": seed, "by_size": by})
        doc["programs"][subject.name] = entry
    return doc


def _inputs_for(subject, instances, source: str) -> list:
    if source in subject.checked.var_types and any(
            p.name == source for p in subject.checked.program.params):
        return instances
    return [Instance(dict(i.sizes), {k: v for k, v in i.values.items() if k != source}, i.graph)
            for i in instances]


def _common_score(is_pair: bool, rs: str, rp: str, source: str, instances, expected, got) -> dict:
    views = []
    for inst, g in zip(instances, got):
        if is_pair:
            s = int(np.flatnonzero(np.asarray(inst.values[source]))[0])
            value = g.get(rp)
            views.append({rs: np.asarray(value)[s] if value is not None
                          and np.ndim(value) == 2 else None})
        else:
            views.append({rs: g.get(rs)})
    return score((rs,), expected, views)


# ---------------------------------------------------------------- examples sweep

def examples_sweep(path, config: GapConfig | None = None, counts=None, *, target=None,
                   sizes=None, vocab=None, out_dir=None, progress: bool = True) -> dict:
    """Accuracy at the training size against the number of training examples (default counts:
    k/2 · 2^i for bits programs, 16 · 2^i otherwise); each count trains `seeds` networks."""
    config = config or GapConfig()
    started = time.perf_counter()
    subject = _subject(path, target, sizes, vocab, config)
    k = subject.sizes.get("k") if subject.checked.family == "bits" else None
    if counts is None:
        base = max(1, k // 2) if k else 16
        counts = [base * 2 ** i for i in range(6)]
    counts = sorted(dict.fromkeys(int(c) for c in counts))
    if not counts or counts[0] < 1:
        raise ValueError("examples_sweep needs positive example counts")
    point = _points(subject, config)[0]
    bar = _Progress(1 + len(counts) * config.seeds, progress,
                    f"nclang gap --sweep {subject.name}")
    try:
        with tempfile.TemporaryDirectory(prefix="nclang-gap-") as folder:
            bar.phase("compiling")
            net, weights = _compiled_net(subject, folder)
            instances, expected = _sample(subject, config, point, 0)
            names = subject.checked.result_names
            compiled = score(names, expected, _run_compiled(net, subject, point, instances))
            info = _program_info(subject, net, weights)
            bar.done()
            seeds = []
            for i in range(config.seeds):
                seed = config.train.seed + i
                pts = []
                for count in counts:
                    bar.phase(f"seed {seed}, {count} examples")
                    tr = _build(subject, init="random", seed=seed)
                    result = _train(subject, tr, _train_config(
                        subject, config.train, seed=seed, examples=count), progress)
                    s = score(names, expected, _predict(tr, subject, point, instances))
                    pts.append({"count": count, "exact_match": s["exact_match"],
                                "per_element": s["per_element"],
                                "final_loss": _r(result.losses[-1]) if result.losses else None})
                    bar.done()
                seeds.append({"seed": seed, "points": pts})
    finally:
        bar.close()
    doc = {"kind": "examples_sweep", "version": 1, "program": info,
           "config": _config_doc(config, subject), "counts": counts, "seeds": seeds,
           "compiled": compiled, "eval_examples": len(instances), "eval_label": point.label,
           "scored": _scored(subject.checked),
           "problems": [] if compiled["exact_match"] == 1.0 else [
               f"the compiled network scores {compiled['exact_match']} exact match at "
               f"{point.label}, not 1.0: a compiler or runtime bug; please report it"]}
    if k:
        doc.update(reference_count=4 * k, reference_label=f"4·k = {4 * k}",
                   reference=f"The published NTK results reach exactness with about 4·k "
                             f"training examples for k-bit addition (4·k = {4 * k} here).")
    doc["timing"] = {"total_s": round(time.perf_counter() - started, 2)}
    if out_dir is not None:
        from .report import write
        write(doc, out_dir)
    return doc


# ---------------------------------------------------------------- the command line

def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got "
                                         f"{text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, "
                                         f"got {text!r}")
    return values


def _float_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got "
                                         f"{text!r}") from None
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative numbers, got {text!r}")
    return values


def _range_arg(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*([0-9]+)\s*(?:\.\.\s*([0-9]+)\s*)?", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected LO..HI (e.g. 4..16), got {text!r}")
    lo = int(match.group(1))
    hi = int(match.group(2) or lo)
    if lo < 1 or hi < lo:
        raise argparse.ArgumentTypeError(f"expected 1 <= LO <= HI, got {text!r}")
    return lo, hi


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `nclang gap`. Imports no torch: the CLI builds every command's parser."""
    from compiler.cli import _count_arg, _size_arg, _vocab_arg
    d = {f.name: f.default for f in dataclasses.fields(GapConfig)}
    p.add_argument("programs", nargs="+", metavar="PROG.ncl",
                   help="the program; two programs for the same function: head to head")
    p.add_argument("--out", metavar="DIR",
                   help="where to write gap.json, gap.md and the plots (default: gap-NAME, or "
                        "gap-A-vs-B head to head, gap-NAME-sweep)")
    p.add_argument("--target", choices=("mlp", "gnn", "transformer"),
                   help="the network family (default: the program's own)")
    p.add_argument("--size", action="append", type=_size_arg, metavar="NAME=INT",
                   help=f"fix a size variable, e.g. --size k=8 (bits programs default to "
                        f"k={DEFAULT_K})")
    p.add_argument("--vocab", type=_vocab_arg, metavar="A,B,C",
                   help="the token vocabulary of a sequence program")
    p.add_argument("--seeds", type=_count_arg, default=d["seeds"], metavar="N",
                   help=f"trained networks per program (default {d['seeds']})")
    p.add_argument("--load", action="append", metavar="FILE.safetensors",
                   help="compare these trained weight files (nclang train) instead of training "
                        "seeds (repeatable)")
    p.add_argument("--steps", type=_count_arg, default=DEFAULT_STEPS, metavar="N",
                   help=f"training steps per network (default {DEFAULT_STEPS})")
    p.add_argument("--examples", type=_count_arg, default=DEFAULT_EXAMPLES, metavar="N",
                   help=f"training examples (default {DEFAULT_EXAMPLES})")
    p.add_argument("--batch", type=_count_arg, metavar="N",
                   help="batch size (default: nclang train's)")
    p.add_argument("--lr", type=_positive_float, metavar="X",
                   help="Adam learning rate (default: nclang train's)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="the first training seed; seed i is S + i (default: nclang train's, 0)")
    p.add_argument("--train-sizes", type=_range_arg, metavar="LO..HI",
                   help="training graph sizes or sequence lengths (default: nclang train's, "
                        "4..16)")
    p.add_argument("--families", metavar="F,G",
                   help="graph families to train and score on (default: er,tree,grid,path)")
    p.add_argument("--hints", type=_positive_float, nargs="?", const=1.0, metavar="WEIGHT",
                   help="trace supervision: the state after each round as an extra target "
                        "(weight 1 when given without a value)")
    p.add_argument("--eval-sizes", type=_int_list, default=d["eval_sizes"], metavar="N,N",
                   help=f"graph sizes to score at (default "
                        f"{','.join(map(str, d['eval_sizes']))})")
    p.add_argument("--eval-examples", type=_count_arg, default=d["eval_examples"], metavar="N",
                   help=f"inputs per eval size up to n={FULL_EVAL_N}, fewer above (default "
                        f"{d['eval_examples']})")
    p.add_argument("--noise", type=_float_list, default=d["noise"], metavar="S,S",
                   help=f"stability: σ of the noise added to the compiled weights before "
                        f"training (default {','.join(map(str, d['noise']))}; '' for none)")
    p.add_argument("--stability-steps", type=_count_arg, metavar="N",
                   help="training steps of each stability run (default: --steps)")
    p.add_argument("--variants", type=_count_arg, default=d["variants"], metavar="N",
                   help=f"function-equivalent compiled references for the aligned distance "
                        f"(default {d['variants']})")
    p.add_argument("--sweep", type=_int_list, nargs="?", const=(), metavar="N,N",
                   help="examples sweep: accuracy against the number of training examples, "
                        "for these counts (default: k/2·2^i, i < 6, for bits programs; "
                        "16·2^i otherwise)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _config_from(args) -> GapConfig:
    t = default_train()
    changes = {"examples": args.examples, "steps": args.steps,
               "trace_weight": args.hints or 0.0}
    for option, name in (("batch", "batch"), ("lr", "lr"), ("seed", "seed"),
                         ("train_sizes", "n_range")):
        if getattr(args, option) is not None:
            changes[name] = tuple(getattr(args, option)) if name == "n_range" \
                else getattr(args, option)
    if args.families:
        from .data import GRAPH_FAMILIES
        families = tuple(f.strip() for f in args.families.split(",") if f.strip())
        bad = [f for f in families if f not in GRAPH_FAMILIES]
        if bad or not families:
            _usage(args, f"argument --families: unknown {', '.join(bad) or '(none)'}; choose "
                         f"from {', '.join(GRAPH_FAMILIES)}")
        changes["families"] = families
    return GapConfig(seeds=args.seeds, train=dataclasses.replace(t, **changes),
                     eval_sizes=tuple(args.eval_sizes), eval_examples=args.eval_examples,
                     noise=tuple(args.noise), variants=args.variants,
                     stability_steps=args.stability_steps)


def _usage(args, message: str):
    parser = getattr(args, "_parser", None)
    if parser is not None:
        parser.error(message)  # exits with status 2
    sys.stderr.write(f"nclang gap: error: {message}\n")
    raise SystemExit(2)


def main(args) -> int:
    """`nclang gap`: 0 when done, 3 when the compiled network was not exact (the report is
    still written, naming the problem)."""
    programs = list(args.programs)
    if len(programs) > 2:
        _usage(args, "argument PROG.ncl: one program, or two for head to head")
    if "-" in programs:
        _usage(args, "argument PROG.ncl: gap reads programs from files, not stdin")
    if args.load and (len(programs) > 1 or args.sweep is not None):
        _usage(args, "argument --load: applies to a single program without --sweep")
    if args.sweep is not None and len(programs) > 1:
        _usage(args, "argument --sweep: applies to a single program")
    sizes: dict[str, int] = {}
    for name, value in args.size or ():
        if sizes.get(name, value) != value:
            _usage(args, f"argument --size: {name} is given twice ({sizes[name]} and {value})")
        sizes[name] = value
    config = _config_from(args)
    names = [Path(p).stem for p in programs]
    if args.out:
        out = args.out
    elif args.sweep is not None:
        out = f"gap-{names[0]}-sweep"
    else:
        out = f"gap-{'-vs-'.join(names)}"
    kw = dict(target=args.target, sizes=sizes, vocab=args.vocab, out_dir=out,
              progress=not args.quiet)
    if args.sweep is not None:
        doc = examples_sweep(programs[0], config, args.sweep or None, **kw)
        problems = doc["problems"]
    elif len(programs) == 2:
        doc = head_to_head(programs[0], programs[1], config, **kw)
        problems = [p for d in doc["programs"] for p in d["problems"]]
    else:
        doc = gap(programs[0], config, load=args.load or (), **kw)
        problems = doc["problems"]
    print(_summary(doc, out))
    for problem in problems:
        sys.stderr.write(f"nclang gap: error: {problem}\n")
    return 3 if problems else 0


def _summary(doc: dict, out: str) -> str:
    lines = [f"wrote {os.path.join(out, 'gap.md')} (and gap.json, plots)"]
    docs = doc["programs"] if doc["kind"] == "head_to_head" else \
        [doc] if doc["kind"] == "gap" else []
    for d in docs:
        b = d["behaviour"]
        cells = []
        for label in b["sizes"]:
            ex = [r["by_size"][label]["exact_match"] for r in b["seeds"]]
            mean = sum(ex) / len(ex) if ex else float("nan")
            cells.append(f"{label}: {100 * mean:.1f}% "
                         f"(compiled {100 * b['compiled'][label]['exact_match']:.1f}%)")
        lines.append(f"{d['program']['name']}: trained exact match " + ", ".join(cells))
    if doc["kind"] == "examples_sweep":
        for j, count in enumerate(doc["counts"]):
            ex = [s["points"][j]["exact_match"] for s in doc["seeds"]]
            lines.append(f"{count} examples: exact match {100 * sum(ex) / len(ex):.1f}%")
    return "\n".join(lines)
