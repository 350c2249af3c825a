"""The property-testing kit (nclang.compiler.testing) and `nclang test`.

The generators must give inputs that the JSON codec and the interpreter accept for every stdlib
program; the runner must pass a network that agrees and must catch, shrink and report one that
does not — including a real weight file with one weight changed, whose counterexample `nclang run`
and `nclang exec` must reproduce.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from nclang import stdlib
from nclang.compiler import cli
from nclang.compiler.testing import (instance_to_json, instances, outputs_agree, test_program,
                                     vocabulary)
from nclang.compiler.testing.inputs import DEFAULT_MAX_N
from nclang.dsl.checker import check_source
from nclang.dsl.diagnostics import NclError
from nclang.dsl.interpreter import run
from nclang.dsl.jsonio import decode

GEN = settings(max_examples=40, database=None, deadline=None, derandomize=True,
               suppress_health_check=list(HealthCheck))


def checked_of(name: str):
    path = stdlib.path(name)
    return check_source(path.read_text(), str(path))[0]


def sizes_for(checked, k: int = 8) -> dict[str, int]:
    return {"k": k} if "k" in checked.size_vars else {}


def same_values(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object or b.dtype == object:
        return a.dtype == b.dtype and a.tolist() == b.tolist()
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


# ---------------------------------------------------------------- generators

@pytest.mark.parametrize("name", stdlib.names())
def test_generated_inputs_decode_and_mostly_run(name):
    """Every drawn instance is what its JSON form decodes to, and the interpreter accepts most of
    them (programs with preconditions, like sort_unique's distinct values, reject some)."""
    checked = checked_of(name)
    sizes = sizes_for(checked)
    outcome = {"ran": 0, "rejected": 0}

    @GEN
    @given(instances(checked, sizes))
    def check(instance):
        obj = json.loads(json.dumps(instance_to_json(checked, instance), allow_nan=False))
        decoded = decode(checked, obj, sizes, "<generated>")
        assert decoded.sizes == instance.sizes
        assert set(decoded.values) == set(instance.values)
        for key, value in instance.values.items():
            assert same_values(decoded.values[key], value), key
        if instance.graph is not None:
            assert decoded.graph.n == instance.graph.n
            assert decoded.graph.src.tolist() == instance.graph.src.tolist()
            assert decoded.graph.dst.tolist() == instance.graph.dst.tolist()
            assert instance.graph.n <= DEFAULT_MAX_N
        try:
            run(checked, instance)
            outcome["ran"] += 1
        except NclError:
            outcome["rejected"] += 1

    check()
    total = outcome["ran"] + outcome["rejected"]
    assert outcome["ran"] >= total // 3, outcome


def draw_many(strategy, count: int = 300) -> list:
    found = []

    @settings(max_examples=count, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(x):
        found.append(x)

    collect()
    return found


def test_bits_inputs_include_the_extremes():
    checked = checked_of("bits/parity")
    xs = {instance_to_json(checked, i)["x"] for i in draw_many(instances(checked, {"k": 8}))}
    assert {0, 255} <= xs
    assert any(x in xs for x in (1, 2, 4, 8, 16, 32, 64, 128))
    assert any(x in xs for x in (254, 253, 251, 247, 239, 223, 191, 127))
    assert len(xs) > 50


def test_int_inputs_include_the_bounds():
    checked = checked_of("bits/sbn_step")
    mems = [instance_to_json(checked, i)["mem"] for i in draw_many(instances(checked, {}))]
    flat = {x for mem in mems for x in mem}
    assert {-64, 0, 63} <= flat
    assert all(-64 <= x <= 63 for x in flat)


def test_graph_inputs_cover_the_awkward_shapes():
    checked = checked_of("graph/bfs")
    graphs = [instance_to_json(checked, i) for i in draw_many(instances(checked, {}))]
    assert any(g["n"] == 1 for g in graphs)
    assert any(g["n"] == DEFAULT_MAX_N for g in graphs)
    assert any(not g["edges"] for g in graphs)
    assert any(u == v for g in graphs for u, v in g["edges"])
    assert any(len(g["edges"]) != len({tuple(e) for e in g["edges"]}) for g in graphs)
    # a path through every node: what a repeat n - 1 needs all its rounds for
    assert any(g["n"] >= 4 and len(g["edges"]) >= g["n"] - 1 and
               len({u for u, _ in g["edges"]}) >= g["n"] - 1 for g in graphs)


def test_pointer_fields_are_often_forests():
    checked = checked_of("graph/list_ranking")
    forests = 0
    draws = draw_many(instances(checked, {}), 100)
    for instance in draws:
        succ = instance.values["succ"].tolist()
        acyclic = True
        for v in range(len(succ)):
            seen, u = set(), v
            while succ[u] != u and u not in seen:
                seen.add(u)
                u = succ[u]
            acyclic &= succ[u] == u
        forests += acyclic
    assert forests >= len(draws) // 3


def test_vocabulary_is_the_programs_literals_then_extras():
    vocab = vocabulary(checked_of("seq/dyck2"))
    assert vocab[:4] == ("(", ")", "{", "}")
    assert len(vocab) > 4


def test_sequence_lengths_follow_max_n():
    checked = checked_of("seq/reverse")
    lengths = {len(i.values["tokens"]) for i in draw_many(instances(checked, {}, max_n=3), 100)}
    assert lengths == {1, 2, 3}


# ---------------------------------------------------------------- comparing outputs

def test_outputs_agree_is_exact():
    checked = checked_of("bits/popcount")
    exact = {"result": np.array(3.0)}
    assert outputs_agree(checked, exact, {"result": np.array(3.0)}) == []
    assert outputs_agree(checked, exact, {"result": np.array(3.0000001)}) == ["result"]
    assert outputs_agree(checked, exact, {"result": np.array(np.nan)}) == ["result"]
    assert outputs_agree(checked, exact, {}) == ["result"]
    assert outputs_agree(checked, {"result": np.array(np.inf)},
                         {"result": np.array(np.inf)}) == []
    parity = checked_of("bits/parity")
    assert outputs_agree(parity, {"result": np.array(True)}, {"result": np.array(1.0)}) == []
    assert outputs_agree(parity, {"result": np.array(True)}, {"result": np.array(0.5)}) \
        == ["result"]


# ---------------------------------------------------------------- the runner, on stand-in networks

class Interpreted:
    """A 'network' that is the interpreter itself: always right."""

    def __init__(self, checked):
        self.checked = checked
        self.calls = 0

    def run(self, batch):
        self.calls += 1
        return [run(self.checked, inst) for inst in batch]


class WrongWhenBits3And5(Interpreted):
    """Off by a half in bit 2 of the sum whenever a has bits 3 and 5 set."""

    def run(self, batch):
        outs = super().run(batch)
        for inst, out in zip(batch, outs):
            a = inst.values["a"]
            if a[3] and a[5]:
                s = out["s"].astype(np.float64)
                s[2] += 0.5
                out["s"] = s
        return outs


def test_an_agreeing_network_passes_in_batches():
    checked = checked_of("bits/add")
    net = Interpreted(checked)
    result = test_program(checked, net, {"k": 8}, examples=100, seed=1)
    assert result.ok and result.counterexample is None
    assert 50 <= result.examples <= 100
    assert net.calls == 1  # one batch, not one call per input
    assert result.summary().startswith(f"ok: {result.examples} distinct inputs agree (k=8, seed 1)")


def test_a_disagreement_is_found_and_shrunk():
    checked = checked_of("bits/add")
    result = test_program(checked, WrongWhenBits3And5(checked), {"k": 8}, examples=200, seed=1)
    assert not result.ok and result.shrunk
    cx = result.counterexample
    assert cx.outputs == ["s"]
    a, b = cx.input["a"], cx.input["b"]
    assert a & 0b101000 == 0b101000
    assert b == 0  # shrunk: b does not matter
    assert cx.expected == {"s": a}
    # the wrong bit shows as the number it is, not rounded into agreement
    assert cx.got["s"][2] == ((a >> 2) & 1) + 0.5
    assert "FAILED" in result.summary()


def test_the_same_seed_gives_the_same_run():
    checked = checked_of("bits/add")
    first = test_program(checked, WrongWhenBits3And5(checked), {"k": 8}, examples=200, seed=7)
    again = test_program(checked, WrongWhenBits3And5(checked), {"k": 8}, examples=200, seed=7)
    assert first.counterexample.to_json() == again.counterexample.to_json()
    ok1 = test_program(checked, Interpreted(checked), {"k": 8}, examples=30, seed=3)
    ok2 = test_program(checked, Interpreted(checked), {"k": 8}, examples=30, seed=3)
    assert ok1.summary() == ok2.summary()


def test_inputs_the_program_rejects_are_skipped_not_failed():
    checked = checked_of("seq/sort_unique")
    result = test_program(checked, Interpreted(checked), examples=50, seed=2)
    assert result.ok
    assert result.rejected > 0


def test_graph_counterexamples_shrink():
    checked = checked_of("graph/bfs")

    class FlipsOnLongGraphs(Interpreted):
        def run(self, batch):
            outs = super().run(batch)
            for inst, out in zip(batch, outs):
                if inst.graph.m >= 3:
                    out["reached"] = ~out["reached"]
            return outs

    result = test_program(checked, FlipsOnLongGraphs(checked), examples=100, seed=5)
    cx = result.counterexample
    assert cx is not None and result.shrunk
    assert len(cx.input["edges"]) == 3
    assert cx.input["n"] <= 2
    assert not any(cx.input["source"])


# ---------------------------------------------------------------- nclang test

def nclang(capsys, *args):
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def compile_to(capsys, tmp_path, name: str, k: int):
    out = tmp_path / f"{name.split('/')[-1]}_{k}.safetensors"
    code, _, err = nclang(capsys, "compile", stdlib.path(name), "--size", f"k={k}", "-o", out)
    assert code == 0, err
    return out


def test_nclang_test_passes_a_correct_network(capsys):
    code, out, err = nclang(capsys, "test", stdlib.path("bits/add"), "--size", "k=8",
                            "--examples", "50", "--seed", "1")
    assert code == cli.EXIT_OK, err
    assert out.startswith("ok: ") and "(k=8, seed 1)" in out
    assert len(out.splitlines()) == 1


def test_nclang_test_passes_a_weight_file(capsys, tmp_path):
    weights = compile_to(capsys, tmp_path, "bits/parity", 8)
    code, out, err = nclang(capsys, "test", stdlib.path("bits/parity"), "--weights", weights,
                            "--examples", "30")
    assert code == cli.EXIT_OK, err
    assert "(k=8, seed " in out
    assert err == ""


def perturb(path, tensor: str | None = None, index=None, delta: float = 1.0):
    """Add `delta` to one entry of one tensor (the last layer's first bias by default) and save
    the file again with the same metadata."""
    from nclang.compiler.weights import read_weights, write_weights
    tensors, meta = read_weights(path)
    if tensor is None:
        last = len(meta["architecture"]["layers"]) - 1
        tensor, index = f"layers.{last}.bias", (0,)
    tensors = dict(tensors)
    changed = tensors[tensor].copy()
    changed[index] += delta
    tensors[tensor] = changed
    write_weights(path, tensors, meta)


def test_a_perturbed_weight_fails_with_a_counterexample_run_and_exec_reproduce(capsys, tmp_path):
    source = stdlib.path("bits/add")
    weights = compile_to(capsys, tmp_path, "bits/add", 8)
    perturb(weights)
    code, out, err = nclang(capsys, "test", source, "--weights", weights, "--seed", "1")
    assert code == cli.EXIT_DISAGREE, err
    assert "FAILED" in err
    cx = json.loads(out)
    assert set(cx) == {"input", "expected", "got"}
    assert cx["expected"] != cx["got"]

    given_input = tmp_path / "cx.json"
    given_input.write_text(json.dumps(cx["input"]))
    code, out, err = nclang(capsys, "run", source, "--input", given_input, "--size", "k=8")
    assert code == 0, err
    assert json.loads(out) == cx["expected"]
    code, out, err = nclang(capsys, "exec", weights, "--input", given_input)
    assert code == 0, err
    assert json.loads(out) == cx["got"]


def test_a_perturbed_hidden_weight_is_caught(capsys, tmp_path):
    """A change deep inside the network, which only some inputs expose: the property test has to
    search for them."""
    from nclang.compiler.weights import read_weights
    source = stdlib.path("bits/parity")
    weights = compile_to(capsys, tmp_path, "bits/parity", 8)
    tensors, _ = read_weights(weights)
    w = tensors["layers.0.weight"]
    row, col = map(int, np.argwhere(w != 0)[0])
    perturb(weights, "layers.0.weight", (row, col), delta=0.5)
    code, out, err = nclang(capsys, "test", source, "--weights", weights, "--seed", "3")
    assert code == cli.EXIT_DISAGREE, err
    cx = json.loads(out)
    assert run(checked_of("bits/parity"),
               decode(checked_of("bits/parity"), cx["input"], {"k": 8}, "<cx>"))["result"] \
        == cx["expected"]["result"]


def test_nclang_test_seed_reproduces_the_output(capsys, tmp_path):
    source = stdlib.path("bits/add")
    weights = compile_to(capsys, tmp_path, "bits/add", 8)
    perturb(weights, delta=0.5)
    first = nclang(capsys, "test", source, "--weights", weights, "--seed", "11")
    again = nclang(capsys, "test", source, "--weights", weights, "--seed", "11")
    assert first == again
    assert first[0] == cli.EXIT_DISAGREE


def test_nclang_test_warns_about_weights_of_another_program(capsys, tmp_path):
    weights = compile_to(capsys, tmp_path, "bits/parity", 4)
    code, out, err = nclang(capsys, "test", stdlib.path("bits/majority"), "--weights", weights,
                            "--seed", "1")
    assert "warning: it was compiled from program 'parity', not 'majority'" in err
    assert code == cli.EXIT_DISAGREE  # parity and majority differ on 4 bits, e.g. on 0b0011
    cx = json.loads(out)
    assert cx["expected"] != cx["got"]


def test_nclang_test_refuses_conflicting_sizes_and_options(capsys, tmp_path):
    weights = compile_to(capsys, tmp_path, "bits/parity", 4)
    code, _, err = nclang(capsys, "test", stdlib.path("bits/parity"), "--weights", weights,
                          "--size", "k=8")
    assert code == cli.EXIT_USER
    assert "compiled for other sizes" in err
    code, _, err = nclang(capsys, "test", stdlib.path("bits/parity"), "--weights", weights,
                          "--target", "mlp")
    assert code == cli.EXIT_USAGE
    code, _, err = nclang(capsys, "test", stdlib.path("bits/parity"))
    assert code == cli.EXIT_USER
    assert "size k is not fixed" in err


# ---------------------------------------------------------------- boundary inputs

def test_boundary_inputs_hold_the_cases_constructions_break_on():
    from nclang.compiler.testing.boundary import boundary_instances
    (seq,) = check_source("program p(tokens: seq[int[0..9]]) -> seq[int] {\n"
                          "    o[i] = tokens[i]\n    return o\n}\n", "s.ncl")
    cases = boundary_instances(seq, {"n": 4})
    singles = {float(c.values["tokens"][0]) for c in cases if c.sizes["n"] == 1}
    assert singles == set(map(float, range(10)))          # every value alone
    assert {c.sizes["n"] for c in cases} == {1, 2, 3, 4}   # every length
    (g,) = check_source("program q(g: graph, s: node[bool]) -> node[bool] {\n"
                        "    r = s\n    return r\n}\n", "g.ncl")
    shapes = {(c.graph.n, tuple(zip(c.graph.src.tolist(), c.graph.dst.tolist())))
              for c in boundary_instances(g, max_n=4)}
    assert {(1, ()), (1, ((0, 0),)), (4, ())} <= shapes
    (b,) = check_source("program r(x: bits[k]) -> bool {\n    return x[0]\n}\n", "b.ncl")
    bits = {tuple(c.values["x"].tolist()) for c in boundary_instances(b, {"k": 3})}
    assert {(False,) * 3, (True,) * 3} <= bits
