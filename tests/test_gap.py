"""`nclang gap` (nclang.compiler.training.gap, nclang.compiler.training.report): the document has
every section, the compiled network scores 1.0, the report names each section and its plots are PNG
images, head to head shows both programs, the examples sweep has its structure, and the same seeds
give the same gap.json (timing aside). Tiny settings throughout: a few steps on a few small
graphs."""
from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import pytest

from nclang import stdlib
from nclang.compiler.cli.gap import add_arguments
from nclang.compiler.training import report
from nclang.compiler.training.gap import GapConfig, gap
from nclang.compiler.training.gap_cli import main
from nclang.compiler.training.head_to_head import head_to_head
from nclang.compiler.training.report import sections
from nclang.compiler.training.scoring import score
from nclang.compiler.training.sweep import examples_sweep
from nclang.compiler.training.train import TrainConfig

PNG = b"\x89PNG\r\n\x1a\n"
TINY = GapConfig(seeds=2, train=TrainConfig(examples=8, steps=2, batch=4, n_range=(3, 5),
                                            families=("er",)),
                 eval_sizes=(5, 8), eval_examples=4, noise=(0.0, 0.1), variants=2,
                 similarity_examples=2)
SECTIONS = ("scored", "training", "behaviour", "faithfulness", "internal", "baselines",
            "stability", "problems", "timing")


def _strip_timing(doc):
    if isinstance(doc, dict):
        return {k: _strip_timing(v) for k, v in doc.items() if k != "timing"}
    if isinstance(doc, list):
        return [_strip_timing(v) for v in doc]
    return doc


def _is_png(path) -> bool:
    import matplotlib.image as mpimg
    data = path.read_bytes()
    return data.startswith(PNG) and mpimg.imread(path).ndim == 3


@pytest.fixture(scope="module")
def bfs(tmp_path_factory):
    out = tmp_path_factory.mktemp("gap-bfs")
    return gap(stdlib.path("graph/bfs"), TINY, out_dir=out, progress=False), out


def test_gap_document_has_every_section_and_compiled_is_exact(bfs):
    doc, _ = bfs
    assert doc["kind"] == "gap" and set(SECTIONS) <= set(doc)
    b = doc["behaviour"]
    assert b["sizes"] == ["n=5", "n=8"]
    for label in b["sizes"]:
        assert b["compiled"][label]["exact_match"] == 1.0
        assert b["compiled"][label]["per_element"] == 1.0
    assert [s["seed"] for s in b["seeds"]] == [0, 1]
    assert doc["problems"] == []
    f = doc["faithfulness"]
    assert f["variables"] == ["reached"] and set(f["compiled"]["per_element"]) == {1.0}
    assert len(f["seeds"]) == 2 and len(f["seeds"][0]["per_element"]) == 4  # n - 1 rounds
    assert doc["internal"]["layers"] and len(doc["internal"]["cka"]) == 2
    assert doc["baselines"]["pairs"] == [[0, 1]]
    # every internal comparison has the untrained init beside it, with intervals and a reading
    assert all("init_per_layer" in r for r in doc["internal"]["cka"])
    assert all("init_canonical" in r for r in doc["internal"]["distance"])
    for key in ("cka", "distance"):
        x = doc["internal"]["summary"][key]
        assert len(x["trained_vs_compiled"]["ci"]) == 2
        assert x["verdict"].endswith("untrained") or "no verdict" in x["verdict"]
    assert doc["internal"]["invariance_check"]["max_change"] < 1e-4
    runs = doc["stability"]["runs"]
    assert [r["noise"] for r in runs] == [0.0, 0.1]
    assert all(v["exact_match"] == 1.0 for v in runs[0]["before"].values())


def test_report_files(bfs):
    doc, out = bfs
    assert json.loads((out / "gap.json").read_text()) == doc
    md = (out / "gap.md").read_text()
    for section in SECTIONS:
        assert f"## {report.TITLES[section]}" in md or (section == "problems"
                                                         and not doc["problems"])
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert {"behaviour.png", "faithfulness.png", "cka.png", "distance.png",
            "stability.png"} <= set(pngs)
    assert all(_is_png(out / p) for p in pngs)
    for p in pngs:
        assert f"]({p})" in md
    assert "CLRS" in md and "`reached`" in md   # says what is scored, and that CLRS differs
    assert not list(out.glob(".*.tmp"))         # atomic writes leave no temporary files
    # the report is a function of the document alone: redrawn from gap.json, the same text
    assert report.markdown(json.loads((out / "gap.json").read_text()),
                           pngs) == md


def test_same_seeds_same_document(bfs):
    doc, _ = bfs
    again = gap(stdlib.path("graph/bfs"), TINY, progress=False)
    assert _strip_timing(again) == _strip_timing(doc)
    assert "total_s" in again["timing"]


def test_score_counts_elements_and_exact_inputs():
    expected = [{"d": np.array([0.0, np.inf, 3.0])}, {"d": np.array([1.0, 2.0, 3.0])}]
    got = [{"d": np.array([0.0, np.inf, 3.0])}, {"d": np.array([1.0, 2.4, np.inf])}]
    s = score(("d",), expected, got)
    assert s["exact_match"] == 0.5 and s["per_element"] == pytest.approx(4 / 6, abs=1e-6)
    # a raw inexact float (the compiled network's readout) is wrong, never rounded
    assert score(("d",), expected[:1], [{"d": np.array([0.0, np.inf, 3.0001])}])[
        "exact_match"] == 0.0


def test_head_to_head_shows_both_programs(tmp_path):
    config = dataclasses.replace(TINY, seeds=1, noise=(), eval_sizes=(4,))
    doc = head_to_head(stdlib.path("graph/bfs"), stdlib.path("graph/closure"), config,
                       out_dir=tmp_path, progress=False)
    assert [d["program"]["name"] for d in doc["programs"]] == ["bfs", "closure"]
    common = doc["common"]
    assert common["single"] == "bfs" and common["pair"] == "closure"
    for name in ("bfs", "closure"):
        assert common["programs"][name]["compiled"]["n=4"]["exact_match"] == 1.0
    md = (tmp_path / "gap.md").read_text()
    assert "bfs trained" in md and "closure trained" in md and "## The shared function" in md
    assert _is_png(tmp_path / "h2h_behaviour.png")
    assert _is_png(tmp_path / "closure_behaviour.png")


def test_examples_sweep_structure_on_a_bits_program(tmp_path):
    config = dataclasses.replace(TINY, seeds=1, eval_examples=8)
    doc = examples_sweep(stdlib.path("bits/add"), config, [2, 4], sizes={"k": 2},
                         out_dir=tmp_path, progress=False)
    assert doc["counts"] == [2, 4] and len(doc["seeds"][0]["points"]) == 2
    assert doc["compiled"]["exact_match"] == 1.0 and doc["reference_count"] == 8
    assert _is_png(tmp_path / "sweep.png")
    md = (tmp_path / "gap.md").read_text()
    assert "4·k" in md and "none scored was seen in training" in md


def test_cli_main_writes_the_report(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(stdlib.path("bits/permute")), "--size", "k=2", "--seeds", "1",
                              "--steps", "1", "--examples", "4", "--eval-examples", "4",
                              "--noise", "0", "--variants", "1", "--quiet",
                              "--out", str(tmp_path / "r")])
    assert main(args) == 0
    doc = json.loads((tmp_path / "r" / "gap.json").read_text())
    assert doc["program"]["target"] == "mlp" and doc["behaviour"]["sizes"] == ["k=2"]
    assert doc["faithfulness"]["skipped"]     # an mlp has no per-round state
    assert "permute: trained exact match" in capsys.readouterr().out


def test_parser_imports_no_torch():
    # the CLI builds every command's parser, and `check`/`compile` must not import torch
    import subprocess
    import sys
    code = ("import argparse, sys; from nclang.compiler.cli.gap import add_arguments; "
            "add_arguments(argparse.ArgumentParser()); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_gap_on_loaded_files(tmp_path):
    from nclang.compiler.training.model import build
    from nclang.dsl.checker import check_source, select_program
    from nclang.dsl.diagnostics import NclError
    path = stdlib.path("graph/bfs")
    checked = select_program(check_source(path.read_text(), str(path)), None, str(path))
    files = []
    for seed in (3, 4):
        files.append(tmp_path / f"bfs-{seed}.safetensors")
        build(checked, init="random", seed=seed).save(files[-1], training={"seed": seed})
    config = dataclasses.replace(TINY, noise=())
    doc = gap(path, config, load=files, progress=False)
    assert [s["seed"] for s in doc["training"]["seeds"]] == [3, 4]
    assert doc["training"]["seeds"][0]["source"] == "loaded from bfs-3.safetensors"
    assert doc["stability"]["skipped"]
    other = stdlib.path("graph/bfs_distance")
    checked = select_program(check_source(other.read_text(), str(other)), None, str(other))
    build(checked, init="random").save(tmp_path / "other.safetensors")
    with pytest.raises(NclError, match="architecture"):
        gap(path, config, load=[tmp_path / "other.safetensors"], progress=False)


# ---------------------------------------------------------------- baselines, lift, flags

def _bfs_checked():
    from nclang.dsl.checker import check_source, select_program
    path = stdlib.path("graph/bfs")
    return select_program(check_source(path.read_text(), str(path)), None, str(path))


def test_constant_network_scores_lift_zero_and_is_flagged():
    # a network that answers "reached" everywhere is the all-true rule: lift exactly 0 at
    # every size and metric, flagged constant and = all-true, never counted as learning
    from nclang.compiler.training import baselines as B
    from nclang.compiler.training.data import reference, sample_instances
    from nclang.compiler.training.subject import Point
    checked = _bfs_checked()
    rng = np.random.default_rng(0)
    train = sample_instances(checked, 50, rng, n_range=(4, 16))
    fitted = B.fit(checked, reference(checked, train))
    points = [Point("n=16", 16, 40), Point("n=64", 64, 40)]
    evals = {p.label: sample_instances(checked, p.count, rng, n_range=(p.n, p.n))
             for p in points}
    expected = {l: reference(checked, v) for l, v in evals.items()}
    base = {b.name: {l: b.predict(evals[l], expected[l]) for l in evals} for b in fitted}
    constant = {l: [{"reached": np.ones(i.graph.n, bool)} for i in evals[l]] for l in evals}
    init = {l: [{"reached": np.zeros(i.graph.n, bool)} for i in evals[l]] for l in evals}
    doc = B.lift_section(("reached",), points, expected, base, [constant], [0], fitted, [init])
    seed = doc["seeds"][0]
    assert seed["constant"] and "all-true" in seed["same_as"]
    assert seed["flags"][:2] == ["constant", "= all-true"]
    for l in evals:
        row = seed["by_size"][l]
        assert row["best_baseline_exact_match"]["name"] == "all-true"
        assert row["lift_exact_match"]["value"] == 0.0
        assert row["lift_exact_match"]["ci"] == [0.0, 0.0]
        assert row["lift_per_element"]["value"] == 0.0 and not row["learned"]
        assert doc["mean"][l]["learned_seeds"] == 0
    # the baselines a reviewer would try are there, chosen by type: copy-input is the source
    assert {"all-true", "all-false", "copy source"} <= {b.name for b in fitted}


def test_a_correct_network_has_positive_lift_and_no_flag():
    from nclang.compiler.training import baselines as B
    from nclang.compiler.training.data import reference, sample_instances
    from nclang.compiler.training.subject import Point
    checked = _bfs_checked()
    rng = np.random.default_rng(1)
    fitted = B.fit(checked, reference(checked, sample_instances(checked, 50, rng)))
    points = [Point("n=32", 32, 60)]
    evals = {"n=32": sample_instances(checked, 60, rng, n_range=(32, 32))}
    expected = {"n=32": reference(checked, evals["n=32"])}
    base = {b.name: {"n=32": b.predict(evals["n=32"], expected["n=32"])} for b in fitted}
    doc = B.lift_section(("reached",), points, expected, base, [expected], [0], fitted,
                         [base["all-false"]])
    seed = doc["seeds"][0]
    assert not seed["flags"] and seed["by_size"]["n=32"]["learned"]
    lift = seed["by_size"]["n=32"]["lift_exact_match"]
    assert lift["value"] > 0 and lift["ci"][0] > 0


def test_pointer_baselines_are_generic_by_type():
    # dfs's parent is a node-valued output: argmin-in and self apply; disc takes its mode
    from nclang.compiler.training import baselines as B
    from nclang.compiler.training.data import reference, sample_instances
    from nclang.dsl.checker import check_source, select_program
    path = stdlib.path("graph/dfs")
    checked = select_program(check_source(path.read_text(), str(path)), None, str(path))
    inst = sample_instances(checked, 5, np.random.default_rng(2))
    fitted = {b.name: b for b in B.fit(checked, reference(checked, inst))}
    assert {"most-common", "argmin-in", "self"} <= set(fitted)
    i = inst[0]
    got = fitted["argmin-in"].predict([i], reference(checked, [i]))[0]["parent"]
    for v in range(i.graph.n):
        ins = sorted(int(u) for u, w in zip(i.graph.src, i.graph.dst) if w == v)
        assert got[v] == (ins[0] if ins else -1)


def test_old_setting_bfs_seeds_are_constant_with_lift_zero():
    # the setting the earlier study ran (400 steps, no hints, er/tree/grid/path with mean
    # degree 3): the report must say its seeds are constant predictors, = all-true or
    # all-false, and that none has a lift above 0
    old = GapConfig(seeds=3, train=TrainConfig(examples=1000, steps=400,
                                               families=("er", "tree", "grid", "path"),
                                               trace_weight=0.0), hints=False,
                    eval_sizes=(16, 64), eval_examples=32, noise=(), variants=1,
                    similarity_examples=2)
    doc = gap(stdlib.path("graph/bfs"), old, progress=False)
    lift = doc["lift"]
    assert lift["flagged_seeds"] == [0, 1, 2]
    for r in lift["seeds"]:
        assert r["constant"] and {"all-true", "all-false"} & set(r["same_as"])
        for row in r["by_size"].values():
            assert row["lift_exact_match"]["value"] <= 0.0 and not row["learned"]
            if "all-true" in r["same_as"]:
                # = all-true on >= 99 % of elements: the odd element off costs an input or two
                assert row["lift_exact_match"]["value"] >= -0.05
    md = report.markdown(doc)
    assert "**constant**, **= all-true**" in md and "Nothing learned" in md


def test_same_command_same_document_in_two_processes_with_hints(tmp_path):
    # determinism across processes (fresh interpreters, fresh hash seeds), the hints path
    # included: everything random must come from the seeds, nothing from process state
    import os
    import subprocess
    import sys
    docs = []
    for k, hashseed in enumerate(("1", "2")):
        out = tmp_path / f"r{k}"
        cmd = [sys.executable, "-m", "nclang.compiler.cli", "gap", str(stdlib.path("graph/bfs")),
               "--seeds", "2", "--steps", "3", "--examples", "8", "--batch", "4",
               "--train-sizes", "3..5", "--eval-sizes", "5", "--eval-examples", "4",
               "--noise", "0.1", "--stability-steps", "2", "--variants", "1", "--hints",
               "--quiet", "--out", str(out)]
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        docs.append(json.loads((out / "gap.json").read_text()))
    assert docs[0]["config"]["train"]["trace_weight"] > 0
    assert _strip_timing(docs[0]) == _strip_timing(docs[1])


def test_sweep_draws_no_reference_line_without_a_published_figure(tmp_path):
    # the NTK 4·k figure is for addition; permute has none, so no line and no sentence
    config = dataclasses.replace(TINY, seeds=1, eval_examples=8)
    doc = examples_sweep(stdlib.path("bits/permute"), config, [2], sizes={"k": 2},
                         out_dir=tmp_path, progress=False)
    assert "reference_count" not in doc and "4·k" not in (tmp_path / "gap.md").read_text()


def test_pointer_outputs_are_labelled_and_scored_per_node():
    # CLRS-30 scores a predecessor pointer per node: the per-output accuracy of a node[node]
    # output is that score, and `scored` says which outputs are pointers
    from nclang.compiler.training.scoring import scored
    from nclang.dsl.checker import check_source, select_program
    path = stdlib.path("graph/bellman_ford_pred")
    checked = select_program(check_source(path.read_text(), str(path)), None, str(path))
    doc = scored(checked)
    assert doc["pointers"] == ["pred"] and "CLRS" in doc["pointer_accuracy"]
    assert [o.get("pointer", False) for o in doc["outputs"]] == [False, True]
    assert "`pred`" in doc["note"]
    md = "\n".join(sections.md_scored(doc, {}, {}, ""))
    assert "Pointer outputs" in md and "`pred`" in md
    expected = [{"dist": np.array([0.0, 2.0, np.inf]), "pred": np.array([0, 0, -1])}]
    got = [{"dist": np.array([0.0, 2.0, np.inf]), "pred": np.array([0, 1, -1])}]
    s = score(("dist", "pred"), expected, got)
    assert s["outputs"]["pred"] == pytest.approx(2 / 3, abs=1e-6) and s["exact_match"] == 0.0
    # a program without pointers keeps the old note and lists none
    path = stdlib.path("graph/bfs")
    assert "pointers" not in scored(select_program(check_source(path.read_text(), str(path)),
                                                   None, str(path)))


def test_gap_runs_on_two_loops_in_sequence():
    # bellman_ford_pred carries dist in its first loop and pred, reached in its second: the
    # per-round comparison has no variable common to every round and says so (it used to fail
    # on a missing key); the rest of the report, pointer label included, is there
    doc = gap(stdlib.path("graph/bellman_ford_pred"), dataclasses.replace(TINY, seeds=1),
              progress=False)
    assert "skipped" in doc["faithfulness"] and doc["scored"]["pointers"] == ["pred"]
    assert doc["behaviour"]["compiled"]
