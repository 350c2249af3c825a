"""The examples sweep: accuracy against the number of training examples.

The evaluation inputs exclude every input of every training set of the sweep (a training set of
c examples is a prefix of the largest one, so the largest sets of all seeds cover them): the
report says how many were dropped and how many remain. A reference line is drawn only for a
program whose figure the literature has (`REFERENCES`: the NTK result for k-bit addition)."""
from __future__ import annotations

import dataclasses
import tempfile
import time

from . import baselines as B
from .config import GapConfig
from .gap import Progress, config_doc
from .report import write
from .scoring import predict, rounded, run_compiled, score, scored
from .subject import (build_net, compiled_net, eval_points, instance_key, program_info, sample,
                      subject_of, train_config, train_net, training_inputs)


# program name -> (examples as a function of k, label, sentence): published figures only
REFERENCES = {
    "add": (lambda k: 4 * k, lambda k: f"4·k = {4 * k}",
            lambda k: f"The published NTK results reach exactness with about 4·k training "
                      f"examples for k-bit addition (4·k = {4 * k} here)."),
}


def examples_sweep(path, config: GapConfig | None = None, counts=None, *, target=None,
                   sizes=None, vocab=None, out_dir=None, progress: bool = True,
                   plot_format: str = "png") -> dict:
    """Accuracy at the training size against the number of training examples (default counts:
    k/2 · 2^i for bits programs, 16 · 2^i otherwise); each count trains `seeds` networks."""
    config = config or GapConfig()
    started = time.perf_counter()
    subject = subject_of(path, target, sizes, vocab, config)
    k = subject.sizes.get("k") if subject.checked.family == "bits" else None
    if counts is None:
        base = max(1, k // 2) if k else 16
        counts = [base * 2 ** i for i in range(6)]
    counts = sorted(dict.fromkeys(int(c) for c in counts))
    if not counts or counts[0] < 1:
        raise ValueError("examples_sweep needs positive example counts")
    point = eval_points(subject, config)[0]
    bar = Progress(1 + len(counts) * config.seeds, progress,
                   f"nclang gap --sweep {subject.name}")
    try:
        with tempfile.TemporaryDirectory(prefix="nclang-gap-") as folder:
            bar.phase("compiling")
            net, weights = compiled_net(subject, folder)
            instances, expected = sample(subject, config, point, 0)
            seen = set()
            for i in range(config.seeds):
                seen |= {instance_key(x) for x in training_inputs(
                    subject, dataclasses.replace(config, train=dataclasses.replace(
                        config.train, examples=counts[-1])), config.train.seed + i)}
            keep = [j for j, x in enumerate(instances) if instance_key(x) not in seen]
            dropped = len(instances) - len(keep)
            if not keep:
                raise ValueError(f"every evaluation input of {subject.name} is in a training "
                                 f"set of the sweep: no unseen input to score")
            instances, expected = [instances[j] for j in keep], [expected[j] for j in keep]
            names = subject.checked.result_names
            compiled = score(names, expected, run_compiled(net, subject, point, instances))
            info = program_info(subject, net, weights)
            bar.done()
            seeds, seed_preds, init_preds = [], [], []
            for i in range(config.seeds):
                seed = config.train.seed + i
                pts, preds = [], []
                # every count of a seed starts from the same init: one untrained baseline
                init_preds.append(predict(build_net(subject, init="random", seed=seed),
                                          subject, point, instances))
                for count in counts:
                    bar.phase(f"seed {seed}, {count} examples")
                    tr = build_net(subject, init="random", seed=seed)
                    result = train_net(subject, tr, train_config(
                        subject, config.train, seed=seed, examples=count), progress)
                    got = predict(tr, subject, point, instances)
                    preds.append(got)
                    s = score(names, expected, got)
                    final = rounded(result.losses[-1]) if result.losses else None
                    pts.append({"count": count, "exact_match": s["exact_match"],
                                "per_element": s["per_element"], "final_loss": final})
                    bar.done()
                seeds.append({"seed": seed, "points": pts})
                seed_preds.append(preds)
            lift = _lift(subject, config, point, counts, instances, expected,
                         [s["seed"] for s in seeds], seed_preds, init_preds)
    finally:
        bar.close()
    doc = {"kind": "examples_sweep", "version": 1, "program": info,
           "config": config_doc(config, subject), "counts": counts, "seeds": seeds,
           "compiled": compiled, "eval_examples": len(instances), "eval_label": point.label,
           "eval_dropped_as_seen": dropped, "lift": lift,
           "scored": scored(subject.checked),
           "problems": [] if compiled["exact_match"] == 1.0 else [
               f"the compiled network scores {compiled['exact_match']} exact match at "
               f"{point.label}, not 1.0: a compiler or runtime bug; please report it"]}
    ref = REFERENCES.get(subject.name)
    if k and ref:
        doc.update(reference_count=ref[0](k), reference_label=ref[1](k), reference=ref[2](k))
    doc["timing"] = {"total_s": round(time.perf_counter() - started, 2)}
    if out_dir is not None:
        write(doc, out_dir, plot_format)
    return doc


def _lift(subject, config, point, counts, instances, expected, seeds, seed_preds,
          init_preds) -> dict:
    """Baselines and lift per count, as `gap` reports them (`baselines.lift_section`, one
    count at a time so that a seed is flagged constant at the count where it is): the
    constants fitted on the first seed's largest training set, every count scored on the same
    evaluation inputs."""
    from .train import make_data
    data = make_data(subject.checked, train_config(subject, config.train, seed=seeds[0],
                                                   examples=counts[-1]),
                     vocab=subject.vocab, trace=False)
    fitted = B.fit(subject.checked, data.outputs)
    names = subject.checked.result_names
    base = B.predictions(fitted, {point.label: (instances, expected)})
    by_count = []
    for j, count in enumerate(counts):
        label = f"{count} examples"
        at = dataclasses.replace(point, label=label)
        section = B.lift_section(names, [at], {label: expected},
                                 {b: {label: v[point.label]} for b, v in base.items()},
                                 [{label: p[j]} for p in seed_preds], seeds, fitted,
                                 [{label: p} for p in init_preds])
        by_count.append({"count": count, "label": label, **section})
    return {"fitted_on": f"the training set of seed {seeds[0]} at {counts[-1]} examples "
                         f"({len(data.instances)} inputs)", "by_count": by_count}
