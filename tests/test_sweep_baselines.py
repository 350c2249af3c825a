"""The examples sweep and the head-to-head shared-function table carry baselines and lift as a
gap report does (issue 13, items 1 and 6): the best baseline is the highest-scoring one, lift is
the seed's score minus it, and a network that was never trained is flagged as its own init and
counts as learning nothing."""
from __future__ import annotations

import pytest

from nclang import stdlib
from nclang.compiler.training.config import TrainConfig
from nclang.compiler.training.gap import GapConfig
from nclang.compiler.training.head_to_head import head_to_head
from nclang.compiler.training.sweep import examples_sweep

UNTRAINED = GapConfig(seeds=2, train=TrainConfig(examples=8, steps=0, batch=4, n_range=(3, 5),
                                                 families=("er",)),
                      eval_sizes=(4,), eval_examples=6, noise=(), variants=1,
                      similarity_examples=2)


def _check_lift(section, labels):
    for label in labels:
        for r in section["seeds"]:
            row = r["by_size"][label]
            best = row["best_baseline_exact_match"]
            # the best baseline is the highest of the listed ones (the init is also a candidate)
            assert all(best["value"] >= b["by_size"][label]["exact_match"]["value"]
                       for b in section["baselines"])
            lift = row["lift_exact_match"]
            assert lift["value"] == pytest.approx(row["exact_match"]["value"] - best["value"],
                                                  abs=1e-5)
            lo, hi = lift["ci"]
            assert lo <= lift["value"] + 1e-9 and lift["value"] <= hi + 1e-9
            # never trained: the network is its init, so it cannot beat the best candidate
            assert lift["value"] <= 0 and not row["learned"]
            assert any(f.startswith("= init") for f in r["flags"])
        assert section["mean"][label]["learned_seeds"] == 0


def test_an_untrained_sweep_is_flagged_as_its_init_at_every_count(tmp_path):
    doc = examples_sweep(stdlib.path("bits/permute"), UNTRAINED, [2, 4], sizes={"k": 3},
                         out_dir=tmp_path, progress=False)
    lift = doc["lift"]
    assert [sec["count"] for sec in lift["by_count"]] == [2, 4]
    names = {b["name"] for b in lift["by_count"][0]["baselines"]}
    # permute's output has its input's type: copy-input is one of the rules tried
    assert {"all-true", "all-false", "copy x"} <= names
    for sec in lift["by_count"]:
        _check_lift(sec, [sec["label"]])
    md = (tmp_path / "gap.md").read_text()
    assert "## Baselines and lift by number of training examples" in md
    assert "**Nothing learned at 2, 4 examples" in md


def test_head_to_head_scores_the_shared_function_beside_its_baselines(tmp_path):
    doc = head_to_head(stdlib.path("graph/bfs"), stdlib.path("graph/closure"), UNTRAINED,
                       out_dir=tmp_path, progress=False)
    common = doc["common"]
    for name in ("bfs", "closure"):
        lift = common["programs"][name]["lift"]
        assert {"all-true", "all-false", "copy source"} <= {b["name"] for b in lift["baselines"]}
        _check_lift(lift, lift["sizes"])
    md = (tmp_path / "gap.md").read_text()
    assert "Baselines of the shared function" in md
    assert "**`closure` learned nothing of the shared function at n=4.**" in md
