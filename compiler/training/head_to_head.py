"""Head to head: `gap` on two programs that compute the same function (bfs vs closure,
bellman_ford vs apsp), with both also scored on the function they share."""
from __future__ import annotations

import time

import numpy as np

from nclang.dsl import types as T
from nclang.dsl.values import Instance

from . import baselines as B
from .config import GapConfig
from .gap import Progress, Run, gap_run
from .report import write
from .scoring import predict, run_compiled, score
from .subject import build_net, eval_points, sample, subject_of, train_config


def head_to_head(path_a, path_b, config: GapConfig | None = None, *, target=None, sizes=None,
                 vocab=None, out_dir=None, progress: bool = True,
                 plot_format: str = "png") -> dict:
    """`gap` on two programs that compute the same function, side by side in one report, with
    both scored on the function they share where one is a single-source view of the other."""
    config = config or GapConfig()
    started = time.perf_counter()
    subjects = [subject_of(path, target, sizes, vocab, config) for path in (path_a, path_b)]
    if subjects[0].name == subjects[1].name:
        raise ValueError("head_to_head needs two different programs")
    docs, runs = zip(*(gap_run(s, config, (), progress) for s in subjects))
    bar = Progress(1, progress, f"nclang gap {subjects[0].name} vs {subjects[1].name}")
    bar.phase("scoring both on the shared function")
    try:
        common = _common(list(runs), config)
        bar.done()
    finally:
        bar.close()
    doc = {"kind": "head_to_head", "version": 1, "programs": list(docs), "common": common,
           "timing": {"total_s": round(time.perf_counter() - started, 2)}}
    if out_dir is not None:
        write(doc, out_dir, plot_format)
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


def _common(runs: list[Run], config: GapConfig) -> dict:
    from .train import make_data
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
    points = eval_points(pair, config)
    doc["sizes"] = [p.label for p in points]
    evals = {p.label: sample(single, config, p, 100 + i) for i, p in enumerate(points)}
    run_of = {r.subject.name: r for r in runs}
    # baselines of the shared function, as a gap report has them: fitted on the single-source
    # program's training outputs (the first seed's set), scored on the same inputs
    data = make_data(single.checked, train_config(single, config.train, seed=config.train.seed),
                     vocab=single.vocab, trace=False)
    fitted = B.fit(single.checked, data.outputs)
    base_preds = B.predictions(fitted, evals)
    expected_of = {label: exp for label, (_, exp) in evals.items()}
    doc["baselines_fitted_on"] = (f"the training set of {sname}'s seed {config.train.seed} "
                                  f"({len(data.instances)} inputs)")
    for subject in (single, pair):
        run = run_of[subject.name]
        entry = {"compiled": {}, "seeds": []}
        for p in points:
            instances, expected = evals[p.label]
            got = run_compiled(run.net, subject, p, _inputs_for(subject, instances, source))
            entry["compiled"][p.label] = _common_score(subject is pair, rs, rp, source,
                                                       instances, expected, got)
        seed_views, init_views = [], []
        for seed, tr in run.trained:
            by, views, init = {}, {}, {}
            untrained = build_net(subject, init="random", seed=seed)
            for p in points:
                instances, expected = evals[p.label]
                inputs = _inputs_for(subject, instances, source)
                views[p.label] = _views(subject is pair, rs, rp, source, instances,
                                        predict(tr, subject, p, inputs))
                init[p.label] = _views(subject is pair, rs, rp, source, instances,
                                       predict(untrained, subject, p, inputs))
                by[p.label] = score((rs,), expected, views[p.label])
            entry["seeds"].append({"seed": seed, "by_size": by})
            seed_views.append(views)
            init_views.append(init)
        entry["lift"] = B.lift_section((rs,), points, expected_of, base_preds,
                                       seed_views, [s for s, _ in run.trained], fitted,
                                       init_views)
        doc["programs"][subject.name] = entry
    return doc


def _inputs_for(subject, instances, source: str) -> list:
    if source in subject.checked.var_types and any(
            p.name == source for p in subject.checked.program.params):
        return instances
    return [Instance(dict(i.sizes), {k: v for k, v in i.values.items() if k != source}, i.graph)
            for i in instances]


def _common_score(is_pair: bool, rs: str, rp: str, source: str, instances, expected, got) -> dict:
    return score((rs,), expected, _views(is_pair, rs, rp, source, instances, got))


def _views(is_pair: bool, rs: str, rp: str, source: str, instances, got) -> list[dict]:
    """Each prediction as the single-source output `rs`: row s of the pair output."""
    views = []
    for inst, g in zip(instances, got):
        if is_pair:
            s = int(np.flatnonzero(np.asarray(inst.values[source]))[0])
            value = g.get(rp)
            views.append({rs: np.asarray(value)[s] if value is not None
                          and np.ndim(value) == 2 else None})
        else:
            views.append({rs: g.get(rs)})
    return views
