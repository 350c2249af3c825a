"""nclang.compiler.training.model / loss / train: the compiled architecture as a
trainable network."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nclang.compiler.driver import compile_file
from nclang.compiler.runtime import load
from nclang.compiler.training.loss import element_loss, output_loss
from nclang.compiler.training.model import build, load_trainable
from nclang.compiler.training.train import TrainConfig, accuracy, make_data, train
from nclang.compiler.weights import read_weights, write_weights
from nclang.dsl.checker import check_source, select_program
from nclang.dsl.diagnostics import NclError
from nclang.dsl.interpreter import run as interpret

BFS = """\
program bfs(g: graph, source: node[bool]) -> node[bool] {
    reached = source
    repeat n - 1 until stable {
        reached[v] = reached[v] or any(reached[u] for u in in(v))
    }
    return reached
}
"""

SSSP = """\
program sssp(g: graph, w: edge[int[0..9]], source: node[bool]) -> node[int] {
    dist[v] = 0 if source[v] else inf
    repeat n - 1 until stable {
        dist[v] = min(dist[v], min(dist[u] + w[u, v] for u in in(v)))
    }
    return dist
}
"""

PARITY = """\
program parity(x: bits[k]) -> bool {
    return reduce(xor, x)
}
"""

HIST = """\
program hist(tokens: seq[token]) -> seq[int] {
    h[i] = count(j for j in positions if tokens[j] == tokens[i])
    return h
}
"""


def _checked(tmp_path, text: str, name: str):
    path = tmp_path / f"{name}.ncl"
    path.write_text(text)
    return select_program(check_source(text, str(path)), None, str(path)), path


def _data(checked, count=24, seed=0, **kw):
    return make_data(checked, TrainConfig(examples=count, seed=seed, n_range=(4, 7), **kw))


# ---------------------------------------------------------------- the architecture

@pytest.mark.parametrize("text,name,sizes", [(BFS, "bfs", None), (SSSP, "sssp", None),
                                             (PARITY, "parity", {"k": 4}),
                                             (HIST, "hist", {"n": 4})],
                         ids=["bfs", "sssp", "parity", "hist"])
def test_random_init_has_the_compiled_files_tensors_and_is_seeded(tmp_path, text, name, sizes):
    checked, path = _checked(tmp_path, text, name)
    out = tmp_path / f"{name}.safetensors"
    compile_file(path, out, sizes=sizes)
    compiled, _ = read_weights(out)
    a = build(checked, sizes=sizes, seed=3)
    b = build(checked, sizes=sizes, seed=3)
    c = build(checked, sizes=sizes, seed=4)
    ta, tb, tc = a.tensors(), b.tensors(), c.tensors()
    assert {k: v.shape for k, v in ta.items()} == {k: v.shape for k, v in compiled.items()}
    assert set(a.module.state_dict()) == set(compiled)
    assert all(v.dtype == np.float32 for v in ta.values())
    assert all(np.array_equal(ta[k], tb[k]) for k in ta)
    assert any(not np.array_equal(ta[k], tc[k]) for k in ta)
    assert all(p.requires_grad for p in a.module.parameters())


def test_compiled_init_equals_the_runtime_bit_for_bit_gnn(tmp_path):
    checked, path = _checked(tmp_path, SSSP, "sssp")
    out = tmp_path / "sssp.safetensors"
    compile_file(path, out)
    net = load(out)
    tr = build(checked, init="compiled", noise=0.0)
    data = make_data(checked, TrainConfig(examples=12, seed=1, n_range=(6, 6)))
    fwd = tr.forward(data.instances)
    got = net.run(data.instances)
    for mine, theirs, want in zip(fwd.outputs, got, data.outputs):
        assert np.array_equal(mine["dist"], theirs["dist"])
        assert np.array_equal(mine["dist"], want["dist"])
    # the raw channels too: one group (all n = 6), so instance order is the group's
    with torch.inference_mode():
        raw = net.forward_group(data.instances, 6).outputs[net.outputs[0]["name"]]
    assert torch.equal(fwd.raw["dist"].detach(), raw.reshape(-1, raw.shape[-1]))
    assert accuracy(tr, data.instances, data.outputs).exact == 1.0


def test_compiled_init_equals_the_runtime_bit_for_bit_mlp(tmp_path):
    checked, path = _checked(tmp_path, PARITY, "parity")
    out = tmp_path / "parity.safetensors"
    compile_file(path, out, sizes={"k": 5})
    net = load(out)
    tr = build(checked, sizes={"k": 5}, init="compiled")
    data = _data(checked, sizes={"k": 5})
    fwd = tr.forward(data.instances)
    from nclang.compiler.runtime.encoding import encode_inputs
    x = torch.from_numpy(encode_inputs(data.instances, net.inputs, net.width_in)).float()
    with torch.inference_mode():
        y = net.module(x)
    assert torch.equal(fwd.raw["result"].detach().reshape(-1), y[:, 0])
    assert accuracy(tr, data.instances, data.outputs).exact == 1.0


def test_compiled_init_transformer_and_noise(tmp_path):
    checked, _ = _checked(tmp_path, HIST, "hist")
    tr = build(checked, sizes={"n": 4}, init="compiled")
    data = make_data(checked, TrainConfig(examples=16, n_range=(1, 4), sizes={"n": 4}))
    assert accuracy(tr, data.instances, data.outputs).exact == 1.0
    noisy = build(checked, sizes={"n": 4}, init="compiled", noise=0.5, seed=1)
    assert any(not np.array_equal(a, b) for a, b in
               zip(tr.tensors().values(), noisy.tensors().values()))


def test_trace_of_the_compiled_net_is_the_interpreters(tmp_path):
    checked, _ = _checked(tmp_path, SSSP, "sssp")
    tr = build(checked, init="compiled")
    data = _data(checked, count=8)
    fwd = tr.forward(data.instances, trace=True)
    for inst, rounds in zip(data.instances, fwd.trace):
        _, want = interpret(checked, inst, trace=True)
        assert len(rounds) == len(want)
        for a, b in zip(rounds, want):
            assert set(a) == set(b)
            assert all(np.array_equal(a[k], b[k]) for k in a)
    assert fwd.raw_trace is not None and len(fwd.raw_trace) == max(len(t) for t in fwd.trace)
    assert fwd.raw_trace[0]["dist"].shape == fwd.raw["dist"].shape


def test_hidden_states_are_row_aligned_between_networks(tmp_path):
    checked, _ = _checked(tmp_path, SSSP, "sssp")
    data = _data(checked, count=6)
    a = build(checked, seed=0).forward(data.instances, hidden=True, early_exit=False)
    b = build(checked, init="compiled").forward(data.instances, hidden=True, early_exit=False)
    assert a.hidden and a.hidden.keys() == b.hidden.keys()
    assert all(a.hidden[k].shape == b.hidden[k].shape for k in a.hidden)
    assert a.trace is None


def test_stacks_are_the_networks_mlps(tmp_path):
    checked, _ = _checked(tmp_path, SSSP, "sssp")
    tr = build(checked, init="compiled")
    stacks = tr.stacks()
    stages = tr.meta["architecture"]["stages"]
    assert [s.name for s in stacks] == [f"stages.{i}" for i in range(len(stages))]
    for stack, stage in zip(stacks, stages):
        assert [W.shape for W, _, _ in stack.layers] == [(s["out"], s["in"])
                                                         for s in stage["layers"]]
        assert [act for _, _, act in stack.layers] == [s["act"] for s in stage["layers"]]


# ---------------------------------------------------------------- training

def test_training_reduces_the_loss_gnn(tmp_path):
    checked, _ = _checked(tmp_path, BFS, "bfs")
    tr = build(checked, seed=0)
    config = TrainConfig(examples=200, steps=60, seed=0, n_range=(4, 8), lr=3e-2)
    result = train(tr, config, progress=False)
    assert len(result.losses) == 60 and result.examples == 200
    assert np.mean(result.losses[-10:]) < 0.5 * np.mean(result.losses[:10])


def test_training_reduces_the_loss_mlp_and_is_deterministic(tmp_path):
    checked, _ = _checked(tmp_path, PARITY, "parity")
    config = TrainConfig(examples=64, steps=40, seed=2, sizes={"k": 3})
    runs = []
    for _ in range(2):
        tr = build(checked, sizes={"k": 3}, seed=2)
        runs.append((train(tr, config, progress=False), tr.tensors()))
    (r1, t1), (r2, t2) = runs
    assert r1.losses == r2.losses
    assert all(np.array_equal(t1[k], t2[k]) for k in t1)
    assert np.mean(r1.losses[-5:]) < np.mean(r1.losses[:5])


def test_transformer_trains(tmp_path):
    checked, _ = _checked(tmp_path, HIST, "hist")
    tr = build(checked, sizes={"n": 4}, seed=0)
    config = TrainConfig(examples=64, steps=30, seed=0, n_range=(1, 4), sizes={"n": 4})
    result = train(tr, config, progress=False)
    assert np.mean(result.losses[-5:]) < np.mean(result.losses[:5])


def test_hints_train_and_need_one_loop(tmp_path):
    checked, _ = _checked(tmp_path, BFS, "bfs")
    tr = build(checked, seed=0)
    config = TrainConfig(examples=32, steps=5, n_range=(4, 6), trace_weight=1.0)
    result = train(tr, config, progress=False)
    assert all(np.isfinite(result.losses))
    pchecked, _ = _checked(tmp_path, PARITY, "parity")
    with pytest.raises(NclError, match="trace supervision"):
        train(build(pchecked, sizes={"k": 3}), TrainConfig(steps=1, trace_weight=1.0,
                                                           sizes={"k": 3}), progress=False)


def test_compiled_init_stays_exact_under_training(tmp_path):
    checked, _ = _checked(tmp_path, BFS, "bfs")
    tr = build(checked, init="compiled")
    data = _data(checked, count=64)
    train(tr, TrainConfig(steps=10, lr=1e-4), data=data, progress=False)
    assert accuracy(tr, data.instances, data.outputs).exact == 1.0


# ---------------------------------------------------------------- trained files

def test_a_trained_file_round_trips(tmp_path):
    checked, _ = _checked(tmp_path, SSSP, "sssp")
    tr = build(checked, seed=5)
    out = tmp_path / "trained.safetensors"
    tr.save(out, {"seed": 5, "losses": [1.0, float("nan")]})
    tensors, meta = read_weights(out)
    assert meta["training"] == {"seed": 5, "losses": [1.0, None]}
    assert meta["encodings"]["readout"] == "nearest"
    again = load_trainable(out, checked)
    assert all(np.array_equal(again.tensors()[k], v) for k, v in tr.tensors().items())
    net = load(out)
    assert net.readout == "nearest"
    data = _data(checked, count=6)
    outs = net.run(data.instances)
    assert all(net.inexact(o) == [] for o in outs)
    assert all(np.array_equal(a["dist"], b["dist"])
               for a, b in zip(outs, tr.predict(data.instances)))
    other = tr.with_tensors({k: v * 0 for k, v in tr.tensors().items()})
    assert all(not v.any() for v in other.tensors().values())


def test_training_metadata_must_be_an_object(tmp_path):
    checked, path = _checked(tmp_path, BFS, "bfs")
    out = tmp_path / "bfs.safetensors"
    compile_file(path, out)
    tensors, meta = read_weights(out)
    with pytest.raises(ValueError, match="training"):
        write_weights(out, tensors, {**meta, "training": [1, 2]})
    with pytest.raises(ValueError, match="unknown"):
        write_weights(out, tensors, {**meta, "extra": {}})


# ---------------------------------------------------------------- losses

def test_losses_fit_the_output_types():
    exact = element_loss("bool", torch.tensor([[1.0], [0.0]]), np.array([1.0, 0.0]))
    wrong = element_loss("bool", torch.tensor([[0.0], [1.0]]), np.array([1.0, 0.0]))
    # zero (not merely small) at a compiled network's exact outputs, so exact weights are a
    # stationary point; a wrong 0/1 answer costs 1
    assert exact == 0 and wrong == 1
    assert element_loss("bool", torch.tensor([[1.5], [-2.0]]), np.array([1.0, 0.0])) == 0
    assert 0 < element_loss("bool", torch.tensor([[0.6]]), np.array([1.0])) < 1
    assert element_loss("int", torch.tensor([[3.0]]), np.array([3.0])) == 0
    flagged = torch.tensor([[1.0, 4.0], [0.0, 123.0]])
    assert element_loss("pinf", flagged, np.array([4.0, np.inf])) == 0
    assert element_loss("pinf", flagged, np.array([5.0, 2.0])) > 1
    assert element_loss("token", torch.tensor([[0.0, 1.0]]), np.array([1.0])) == 0
    assert element_loss("token", torch.tensor([[1.0, 0.0]]), np.array([1.0])) == 4
    assert element_loss("frac", torch.tensor([[3.0, 2.0]]), np.array([1.5])) == 0
    from nclang.compiler.training.model import OutputSpec
    total = output_loss([OutputSpec("r", "bool")], {"r": torch.tensor([[1.0], [0.0], [1.0]])},
                        [{"r": np.array([True, False])}, {"r": np.array([True])}])
    assert total == 0


def test_early_stopping_stops_when_the_validation_loss_stops_improving():
    # at the compiled weights the loss is 0 and cannot improve: training ends at the first
    # check (step 0); with a little noise, after two checks without a new best or at 0
    from nclang import stdlib
    from nclang.compiler.training.model import build
    from nclang.compiler.training.train import TrainConfig, train
    from nclang.dsl.checker import check_source, select_program
    path = stdlib.path("graph/bfs")
    checked = select_program(check_source(path.read_text(), str(path)), None, str(path))
    net = build(checked, init="compiled")
    result = train(net, TrainConfig(examples=20, steps=1000, batch=4, n_range=(3, 6),
                                    patience=2, val_every=10, val_examples=8), progress=False)
    assert result.cap == 1000 and result.steps == 0 and result.best_step == 0
    assert result.stopped == "validation loss reached 0"
    noisy = build(checked, init="compiled", noise=0.5, seed=1)
    result = train(noisy, TrainConfig(examples=20, steps=1000, batch=4, n_range=(3, 6),
                                      patience=2, val_every=10, val_examples=8), progress=False)
    assert result.steps < 1000 and result.stopped.startswith("validation loss")
    assert result.steps % 10 == 0 and result.best_step <= result.steps


def test_integer_targets_are_normalised_by_their_range_and_raw_error_is_reported():
    # bellman_ford's distances run to thousands: the loss divides them by the training
    # targets' largest finite value, and the score still reports the error in raw units
    import numpy as np
    from nclang.compiler.training.loss import element_loss, target_scales
    from nclang.compiler.training.model import OutputSpec
    from nclang.compiler.training.scoring import score
    spec = OutputSpec("d", "pinf")
    assert target_scales([spec], [{"d": np.array([0.0, 2500.0, np.inf])}]) == {"d": 2500.0}
    import torch
    raw = torch.tensor([[1.0, 2500.0], [1.0, 0.0]])
    assert float(element_loss("pinf", raw, np.array([2500.0, 0.0]), 2500.0)) == 0.0
    off = float(element_loss("int", torch.tensor([[2600.0]]), np.array([2500.0]), 2500.0))
    assert 0 < off < float(element_loss("int", torch.tensor([[2600.0]]), np.array([2500.0])))
    s = score(("d",), [{"d": np.array([0.0, 10.0, np.inf])}],
              [{"d": np.array([1.0, 13.0, np.inf])}])
    assert s["raw_error"] == {"d": 2.0}



def test_integer_targets_are_divided_by_the_proved_range_at_the_largest_training_size(tmp_path):
    # the normaliser is the analysis' bound on dist (9 per edge of a path, n - 1 edges) at
    # the largest n drawn, whatever the sampled graphs' own largest distance happens to be;
    # two data seeds therefore share it
    from nclang.compiler.analysis.ranges import value_ranges
    from nclang.compiler.training.scales import design_scales
    checked, _ = _checked(tmp_path, SSSP, "sssp")
    trainable = build(checked, init="random", seed=0)
    report = value_ranges(checked)
    found = []
    for seed in (0, 1):
        data = _data(checked, count=12, seed=seed)
        n_max = max(inst.graph.n for inst in data.instances)
        scales = design_scales(report, trainable.output_specs, [], data.instances,
                               data.outputs, [])
        assert {k: (s.value, s.source) for k, s in scales.items()} == \
            {"dist": (9.0 * (n_max - 1), "analysis")}
        largest = max(float(np.max(o["dist"][np.isfinite(o["dist"])])) for o in data.outputs)
        assert largest <= scales["dist"].value
        found.append(scales["dist"].value)
    result = train(trainable, TrainConfig(examples=12, steps=2, n_range=(4, 7)), progress=False)
    assert result.scale_from == {"dist": "analysis"}
    assert result.scales == {"dist": found[0]}   # train draws the seed-0 data above


def test_an_integer_without_a_proved_bound_is_normalised_by_the_data_and_says_so():
    # every parameter is bounded, so no stdlib program has such a result; the fallback is
    # exercised on a report whose result interval is the unbounded one
    from types import SimpleNamespace

    from nclang.compiler.analysis.ranges.lattice import UNBOUNDED
    from nclang.compiler.training.model import OutputSpec
    from nclang.compiler.training.scales import design_scales
    report = SimpleNamespace(result_names=("t",), results=(UNBOUNDED,), held={})
    outputs = [{"t": np.array(7.0)}, {"t": np.array(-40.0)}]
    scales = design_scales(report, [OutputSpec("t", "int")], [], [], outputs, [])
    assert {k: (s.value, s.source) for k, s in scales.items()} == {"t": (40.0, "data")}


def test_a_noisy_big_m_network_that_overflows_skips_its_steps_and_the_report_says_so():
    # dfs's selection gadgets carry weights near 10^6: 1 % noise leaves a gate slightly off
    # 0/1, the big-M terms stop cancelling and the 2n rounds overflow float32. Those steps are
    # skipped (no update from a NaN loss), so such a stability run measures nothing, and the
    # gap report must say so rather than show an unchanged distance as a finding
    import math

    from nclang.compiler.training.report.sections import _md_stability
    from nclang.stdlib import path as stdlib_path
    p = stdlib_path("graph/dfs")
    text = open(p).read()
    checked = select_program(check_source(text, str(p)), None, str(p))
    noisy = build(checked, init="compiled", noise=0.01, seed=0)
    before = [t.detach().clone() for t in noisy.module.parameters()]
    result = train(noisy, TrainConfig(examples=8, steps=3, batch=4, n_range=(6, 8)),
                   progress=False)
    assert all(not math.isfinite(x) for x in result.losses) and len(result.losses) == 3
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, noisy.module.parameters()))
    # (not one of the report's problems, which exit 3 for compiler bugs: a caveat in its section)
    exact = {"x": {"exact_match": 0.0}}
    run = {"noise": 0.01, "before": exact, "after": exact, "distance_before": 0.01,
           "distance_after": 0.01, "stays_exact": False, "nonfinite_steps": 3, "steps_taken": 3}
    text = "\n".join(_md_stability({"sizes": ["x"], "steps": 3, "seed": 0, "runs": [run]},
                                   {}, [], ""))
    assert "| 0 of 3 |" in text and "never moved its weights" in text
