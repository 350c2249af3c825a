"""`nclang gap`: how networks trained from data differ from the compiled network of the same
architecture (issue 7), as one deterministic document (gap.json) and its report (gap.md, PNG
plots: `nclang.compiler.training.report`).

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

`head_to_head` and `sweep` build on this run; `subject` holds the program under study and its
eval inputs, `scoring` the accuracy figures, `faithfulness` and `internal` their sections of the
document, `config` the settings (`GapConfig`), `gap_cli` the run `nclang gap` asks for.

Determinism: every random choice comes from a numpy Generator or torch seed derived from the
training seed (eval inputs from fixed seeds independent of it), so two runs with the same
config give the same gap.json except its "timing" section.
"""
from __future__ import annotations

import contextlib
import math
import dataclasses
import os
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from nclang.dsl.diagnostics import Diagnostic, NclError

# the settings of a run and the training protocol (its defaults shared with `nclang train`)
# live in `config`
from . import baselines as B
from .config import GapConfig, with_default_hints
from .faithfulness import faithfulness_section
from .internal import internal_sections
from .report import write
from .scoring import predict, rounded, run_compiled, score, scored
from .similarity import weight_distance
from .subject import (Subject, build_net, compiled_net, eval_points, instance_key, program_info,
                      sample, subject_of, train_config, train_net, training_inputs)

# points kept of a training loss curve in gap.json
LOSS_POINTS = 100

# ---------------------------------------------------------------- pieces of a gap run

class Progress:
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

    @contextlib.contextmanager
    def timed(self, timing: dict, key: str, text: str | None = None, tick: bool = True):
        """One phase of a run: `text` on the bar (if given), its wall-clock seconds into
        timing[key] (appended where that is a list: one entry per seed or noise level), and
        one tick of the bar when `tick`."""
        if text is not None:
            self.phase(text)
        t0 = time.perf_counter()
        yield
        elapsed = time.perf_counter() - t0
        if isinstance(timing.get(key), list):
            timing[key].append(elapsed)
        else:
            timing[key] = elapsed
        if tick:
            self.done()


def _loss_curve(losses) -> list[list]:
    losses = list(losses)
    if not losses:
        return []
    idx = sorted(set(np.linspace(0, len(losses) - 1, min(LOSS_POINTS, len(losses)))
                     .round().astype(int).tolist()))
    return [[i + 1, rounded(losses[i])] for i in idx]


def _scales_json(result) -> dict:
    """Each integer target's normaliser and where it came from (the proved range, or the data
    where the analysis has no finite bound)."""
    sources = result.scale_from or {}
    return {name: {"scale": rounded(v), "from": sources.get(name, "data")}
            for name, v in sorted((result.scales or {}).items())}


def _training_record(seed: int, source: str, result=None, meta: dict | None = None) -> dict:
    rec = {"seed": seed, "source": source}
    if result is not None:
        rec.update(steps=result.steps, examples=result.examples,
                   final_loss=rounded(result.losses[-1]) if result.losses else None,
                   loss_curve=_loss_curve(result.losses), cap=result.cap,
                   stopped=result.stopped, best_step=result.best_step,
                   val_losses=[list(v) for v in result.val_losses],
                   nonfinite_steps=sum(1 for x in result.losses if not math.isfinite(x)),
                   scales=_scales_json(result))
    elif meta:
        losses = meta.get("losses") or []
        rec.update(steps=meta.get("steps"), examples=meta.get("examples"),
                   final_loss=rounded(losses[-1]) if losses else None,
                   loss_curve=_loss_curve(losses))
    return rec


def _behaviour(trainable, subject, points, evals, preds: dict | None = None) -> dict:
    """Scores per eval size; the predictions go into `preds` (by size) when it is given."""
    out = {}
    for p in points:
        instances, expected = evals[p.label]
        got = predict(trainable, subject, p, instances)
        if preds is not None:
            preds[p.label] = got
        out[p.label] = score(subject.checked.result_names, expected, got)
    return out


def _lift(subject, config, points, evals, seeds, seed_preds, init_preds) -> dict:
    """Baselines fitted on the first seed's training set, lift and flags (`baselines`), and
    the overlap of the eval inputs with every seed's training inputs (should be 0)."""
    from .train import make_data
    data = make_data(subject.checked, train_config(subject, config.train, seed=seeds[0]),
                     vocab=subject.vocab, trace=False)
    fitted = B.fit(subject.checked, data.outputs)
    names = subject.checked.result_names
    expected = {p.label: evals[p.label][1] for p in points}
    base_preds = B.predictions(fitted, {p.label: evals[p.label] for p in points})
    doc = B.lift_section(names, points, expected, base_preds, seed_preds, seeds, fitted,
                         init_preds)
    doc["fitted_on"] = f"the training set of seed {seeds[0]} ({len(data.instances)} inputs)"
    train_keys = set()
    for seed in seeds:
        train_keys |= {instance_key(i) for i in training_inputs(subject, config, seed)}
    doc["overlap"] = {p.label: sum(instance_key(i) in train_keys for i in evals[p.label][0])
                      for p in points}
    return doc


def config_doc(config: GapConfig, subject: Subject) -> dict:
    t = dataclasses.asdict(train_config(subject, config.train))
    t["n_range"] = list(t["n_range"])
    t["families"] = list(t["families"])
    return {"seeds": config.seeds, "train": t, "eval_sizes": list(config.eval_sizes),
            "eval_families": list(config.eval_families or config.train.families)
            if subject.checked.family == "graph" else None, "hints": config.hints,
            "eval_examples": config.eval_examples, "noise": list(config.noise),
            "variants": config.variants, "similarity_examples": config.similarity_examples,
            "stability_steps": config.stability_steps or config.train.steps}


# ---------------------------------------------------------------- gap

def gap(path_or_checked, config: GapConfig | None = None, *, target: str | None = None,
        sizes: dict | None = None, vocab=None, load=(), out_dir=None,
        progress: bool = True, plot_format: str = "png") -> dict:
    """Train (or load) seeds, compare them with the compiled network, and write gap.json, gap.md
    and plots into `out_dir` (nothing is written when it is None). Returns the document."""
    config = config or GapConfig()
    doc, _ = gap_run(subject_of(path_or_checked, target, sizes, vocab, config), config, load,
                     progress)
    if out_dir is not None:
        write(doc, out_dir, plot_format)
    return doc


@dataclass(frozen=True)
class Run:
    """What a gap run leaves besides its document: the networks, for head to head to reuse."""
    subject: Subject
    net: object                   # the compiled network (nclang.compiler.runtime)
    trained: list                 # (seed, Trainable)


def gap_run(subject: Subject, config: GapConfig, load, progress: bool) -> tuple[dict, Run]:
    load = [os.fspath(p) for p in load or ()]
    seeds = len(load) if load else config.seeds
    if seeds < 1:
        raise ValueError("gap needs at least one seed")
    with tempfile.TemporaryDirectory(prefix="nclang-gap-") as folder:
        return _gap(subject, config, load, seeds, folder, progress)


def _gap(subject: Subject, config: GapConfig, load: list[str], seeds: int, folder: str,
         progress: bool) -> tuple[dict, "Run"]:
    timing: dict = {}
    started = time.perf_counter()
    noise = tuple(config.noise)
    bar = Progress(2 + seeds + 3 + len(noise), progress, f"nclang gap {subject.name}")
    try:
        # the compiled network and the eval inputs
        with bar.timed(timing, "eval_inputs_s", "compiling, drawing eval inputs"):
            net, weights = compiled_net(subject, folder)
            compiled = build_net(subject, init="compiled")
            config = dataclasses.replace(config, train=with_default_hints(config.train, compiled,
                                                                          config.hints))
            points = eval_points(subject, config)
            evals = {p.label: sample(subject, config, p, i) for i, p in enumerate(points)}
            # train and evaluation disjoint: an eval input equal to a training input of any seed
            # is dropped (bits programs have few distinct inputs), and the count is reported
            train_keys = set()
            for i in range(0 if load else seeds):
                train_keys |= {instance_key(x) for x in
                               training_inputs(subject, config, config.train.seed + i)}
            removed = {}
            for p in points:
                inst, exp = evals[p.label]
                keep = [k for k, x in enumerate(inst) if instance_key(x) not in train_keys]
                removed[p.label] = len(inst) - len(keep)
                if keep and len(keep) < len(inst):
                    evals[p.label] = ([inst[k] for k in keep], [exp[k] for k in keep])
            sim_point = dataclasses.replace(points[0], count=config.similarity_examples)
            sim_instances, _ = sample(subject, config, sim_point, len(points))

        with bar.timed(timing, "compiled_eval_s", "scoring the compiled network"):
            names = subject.checked.result_names
            behaviour = {"sizes": [p.label for p in points],
                         "compiled": {p.label: score(names, evals[p.label][1],
                                                     run_compiled(net, subject, p,
                                                                  evals[p.label][0]))
                                      for p in points},
                         "seeds": []}

        # the trained seeds, and the untrained init of each (a baseline)
        trained, training, init_preds = [], [], []
        timing["train_s"] = []
        for i in range(seeds):
            if load:
                from nclang.compiler.weights import read_weights
                from .model import load_trainable
                with bar.timed(timing, "train_s", f"loading {load[i]}"):
                    tr = load_trainable(load[i], subject.checked)
                    _check_same_architecture(compiled, tr, load[i])
                    meta = read_weights(load[i])[1].get("training") or {}
                    seed = int(meta.get("seed", i))
                    # the init `nclang train --seed` starts from (build's seeded random init)
                    init = {}
                    _behaviour(build_net(subject, init="random", seed=seed), subject, points,
                               evals, init)
                    init_preds.append(init)
                    training.append(_training_record(
                        seed, f"loaded from {os.path.basename(load[i])}", meta=meta))
                    trained.append((seed, tr))
            else:
                seed = config.train.seed + i
                with bar.timed(timing, "train_s", f"training seed {seed} ({i + 1}/{seeds})"):
                    tr = build_net(subject, init="random", seed=seed)
                    init = {}
                    _behaviour(tr, subject, points, evals, init)
                    init_preds.append(init)
                    result = train_net(subject, tr, train_config(subject, config.train,
                                                                 seed=seed), progress)
                    training.append(_training_record(seed, "random init", result))
                    trained.append((seed, tr))

        seed_preds = []
        with bar.timed(timing, "trained_eval_s", "behaviour of the trained seeds", tick=False):
            for seed, tr in trained:
                preds = {}
                behaviour["seeds"].append({"seed": seed, "by_size": _behaviour(
                    tr, subject, points, evals, preds)})
                seed_preds.append(preds)
        with bar.timed(timing, "lift_s"):
            lift = _lift(subject, config, points, evals, [s for s, _ in trained], seed_preds,
                         init_preds)
            lift["overlap_removed"] = removed

        with bar.timed(timing, "faithfulness_s", "faithfulness over rounds"):
            faithfulness = faithfulness_section(subject, compiled, trained, sim_instances,
                                                sim_point)

        with bar.timed(timing, "internal_s", "hidden states and weights"):
            inits = [build_net(subject, init="random", seed=seed) for seed, _ in trained]
            internal, baselines = internal_sections(subject, compiled, trained, inits,
                                                    sim_instances, sim_point, config.variants)

        stability = {"sizes": [p.label for p in points], "seed": config.train.seed,
                     "steps": config.stability_steps or config.train.steps, "runs": []}
        if not noise:
            stability["skipped"] = "no noise levels given (--noise)"
        timing["stability_s"] = []
        compiled_stacks = compiled.stacks()
        for sigma in noise:
            with bar.timed(timing, "stability_s", f"stability σ={sigma}"):
                start = build_net(subject, init="compiled", noise=float(sigma),
                                  seed=config.train.seed)
                before = _behaviour(start, subject, points, evals)
                d_before = weight_distance(compiled_stacks, start.stacks())
                result = train_net(subject, start, train_config(
                    subject, config.train, seed=config.train.seed,
                    steps=config.stability_steps or config.train.steps), progress)
                after = _behaviour(start, subject, points, evals)
                stability["runs"].append({
                    "noise": float(sigma), "before": before, "after": after,
                    "final_loss": rounded(result.losses[-1]) if result.losses else None,
                    "distance_before": rounded(d_before),
                    "distance_after": rounded(weight_distance(compiled_stacks, start.stacks())),
                    # a noisy copy of big-M gadgets can overflow float32: those steps are
                    # skipped, and a run where every step was skipped measured nothing
                    "nonfinite_steps": sum(1 for x in result.losses if not math.isfinite(x)),
                    "steps_taken": len(result.losses),
                    "stays_exact": all(after[p.label]["exact_match"] == 1.0 for p in points)})
        bar.phase("done")
    finally:
        bar.close()

    problems = _problems(behaviour, faithfulness, stability)
    timing["total_s"] = time.perf_counter() - started
    timing = {k: ([round(x, 2) for x in v] if isinstance(v, list) else round(v, 2))
              for k, v in timing.items()}
    doc = {"kind": "gap", "version": 1,
            "program": program_info(subject, net, weights),
            "config": config_doc(dataclasses.replace(config, seeds=seeds), subject),
            "scored": scored(subject.checked), "lift": lift,
            "training": {"seeds": training},
            "behaviour": behaviour, "faithfulness": faithfulness, "internal": internal,
            "baselines": baselines, "stability": stability, "problems": problems,
            "timing": timing}
    return doc, Run(subject, net, trained)


def _check_same_architecture(compiled, trained, path: str) -> None:
    a, b = compiled.tensors(), trained.tensors()
    if set(a) != set(b) or any(a[k].shape != b[k].shape for k in a):
        raise NclError(Diagnostic(path, 1, 1, 1, 1, "error", "architecture-mismatch",
                                  "this weight file does not have the architecture the program "
                                  "compiles to (other tensor names or shapes); train it from "
                                  "this program with the same --size/--target options"))


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
