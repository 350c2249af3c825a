"""The internal and baselines sections of a gap run: hidden states and weights of each trained
seed against the compiled network, against its own untrained init, and against the other
seeds, measured up to the symmetries that leave a network's function unchanged
(`similarity.unit_cka`, `similarity.canonical_distance`), with bootstrap intervals over seeds
and a verdict on whether training moved the networks closer to the compiled one."""
from __future__ import annotations

import numpy as np

from .baselines import BOOT_SEED, BOOTSTRAP
from .scoring import rounded
from .similarity import canonical_distance, random_symmetry, raw_distance, unit_cka

# the CKA row subset and the function-equivalent copies for the distance are drawn from this
# seed (with the seeds compared), apart from training's draws: every network is compared on
# the same rows, and a comparison repeats exactly
ALIGN_SEED = 7_000_004
# the most (instance, round, unit-row) rows kept per layer for CKA (a fixed subset of rows)
MAX_CKA_ROWS = 20_000


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
    out = []
    for name in layers:
        X, Y = a.get(name), b.get(name)
        if X is None or Y is None or X.shape[0] != Y.shape[0]:
            out.append(None)
            continue
        with np.errstate(all="ignore"):
            out.append(rounded(unit_cka(X, Y)))
    return out


def _distance(a_stacks, b_stacks) -> dict:
    return {"canonical": rounded(canonical_distance(a_stacks, b_stacks)),
            "unaligned": rounded(raw_distance(a_stacks, b_stacks))}


def _seed_ci(values: list, salt) -> dict:
    """The mean of per-seed (or per-pair) values with a bootstrap 95 % interval over them."""
    xs = np.array([v for v in values if v is not None], np.float64)
    if not len(xs):
        return {"value": None, "ci": [None, None], "count": 0}
    idx = np.random.default_rng([BOOT_SEED, *salt]).integers(0, len(xs), (BOOTSTRAP, len(xs)))
    lo, hi = np.percentile(xs[idx].mean(axis=1), [2.5, 97.5])
    return {"value": rounded(xs.mean()), "ci": [rounded(lo), rounded(hi)], "count": len(xs)}


def _verdict(diff: dict, higher_is_closer: bool) -> str:
    """Trained vs untrained, from the interval of their per-seed difference."""
    lo, hi = diff["ci"]
    if lo is None:
        return "not measured"
    if diff.get("count", 0) < 2:
        return "one seed: no interval, no verdict"
    if lo <= 0 <= hi:
        return "no closer than untrained"
    closer = lo > 0 if higher_is_closer else hi < 0
    return "closer than untrained" if closer else "farther than untrained"


def internal_sections(subject, compiled, trained, inits, instances, point, variants: int):
    """Hidden-state similarity (`similarity.unit_cka`) and weight distance
    (`similarity.canonical_distance`): each seed vs compiled, its untrained init vs compiled,
    seed vs seed; means with bootstrap intervals over seeds (pairs), and the verdict from the
    per-seed difference trained − init. `variants` random function-equivalent copies of the
    compiled network check the invariance (the spread must be 0 up to rounding)."""
    ref_hidden = _hidden(compiled, instances)
    layers = list(ref_hidden)
    hidden = [(seed, _hidden(tr, instances)) for seed, tr in trained]
    init_hidden = [_hidden(net, instances) for net in inits]
    compiled_stacks = compiled.stacks()
    rows = int(next(iter(ref_hidden.values())).shape[0]) if ref_hidden else 0
    internal = {"n": point.n, "examples": len(instances), "rows": rows, "layers": layers,
                "stacks": len(compiled_stacks),
                "similarity": "linear CKA after scaling each unit to unit rms (unit_cka): 1 "
                              "for a function-equivalent copy",
                "distance_measure": "canonical_distance: unit-norm relu rows (scale pushed "
                                    "to the next layer), units matched by permutation, "
                                    "symmetric normalisation; 0 for a function-equivalent copy",
                "cka": [], "distance": []}
    for k, ((seed, h), (_, tr)) in enumerate(zip(hidden, trained)):
        internal["cka"].append({"seed": seed, "per_layer": _cka_layers(ref_hidden, h, layers),
                                "init_per_layer": _cka_layers(ref_hidden, init_hidden[k],
                                                              layers)})
        d = _distance(compiled_stacks, tr.stacks())
        d0 = _distance(compiled_stacks, inits[k].stacks())
        internal["distance"].append({"seed": seed, **d, "init_canonical": d0["canonical"],
                                     "init_unaligned": d0["unaligned"]})
    # the invariance check: the same distances against symmetric copies of the compiled net
    spread = 0.0
    rng = np.random.default_rng(ALIGN_SEED)
    for _ in range(variants if trained else 0):
        copy = random_symmetry(compiled_stacks, rng)
        for (_, tr), rec in zip(trained[:2], internal["distance"]):
            d = canonical_distance(copy, tr.stacks())
            if rec["canonical"] is not None and np.isfinite(d):
                spread = max(spread, abs(d - rec["canonical"]))
    internal["invariance_check"] = {"copies": variants, "max_change": rounded(spread)}
    pairs = [(i, j) for i in range(len(trained)) for j in range(i + 1, len(trained))]
    baselines = {"pairs": [[trained[i][0], trained[j][0]] for i, j in pairs], "cka": [],
                 "distance": []}
    if not pairs:
        baselines["skipped"] = "one seed only: no pair of trained networks to compare"
    for i, j in pairs:
        (si, hi), (sj, hj) = hidden[i], hidden[j]
        baselines["cka"].append({"pair": [si, sj], "per_layer": _cka_layers(hi, hj, layers)})
        baselines["distance"].append({"pair": [si, sj], **_distance(
            trained[i][1].stacks(), trained[j][1].stacks())})
    mean = lambda xs: (None if not [x for x in xs if x is not None]  # noqa: E731
                       else float(np.mean([x for x in xs if x is not None])))
    cka_t = [mean(r["per_layer"]) for r in internal["cka"]]
    cka_0 = [mean(r["init_per_layer"]) for r in internal["cka"]]
    dist_t = [r["canonical"] for r in internal["distance"]]
    dist_0 = [r["init_canonical"] for r in internal["distance"]]
    summary = {}
    for salt, (key, t, z, pair, higher) in enumerate((
            ("cka", cka_t, cka_0, [mean(p["per_layer"]) for p in baselines["cka"]], True),
            ("distance", dist_t, dist_0, [p["canonical"] for p in baselines["distance"]],
             False))):
        diff = _seed_ci([a - b if a is not None and b is not None else None
                         for a, b in zip(t, z)], (salt, 2))
        summary[key] = {"trained_vs_compiled": _seed_ci(t, (salt, 0)),
                        "init_vs_compiled": _seed_ci(z, (salt, 1)),
                        "seed_vs_seed": _seed_ci(pair, (salt, 3)),
                        "trained_minus_init": diff, "verdict": _verdict(diff, higher)}
    internal["summary"] = summary
    if not layers:
        internal["skipped"] = "the network has no hidden layer"
    return internal, baselines
