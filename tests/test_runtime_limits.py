"""The runtimes' resource limits (docs/weights.md, "Resource limits"): a valid file whose run
would take hours or all memory is refused before it runs, with a located error, exit 1."""
from __future__ import annotations

import json
import time

import pytest

import weights_mutants as W
from nclang.compiler.runtime import limits
from nclang.compiler.weights import read_weights
from test_weights_hostile import edit, located, run_cli


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return W.build_bases(tmp_path_factory.mktemp("bases"))


def with_loop(data: bytes, count: str, until_stable: bool | None = None) -> bytes:
    def change(arch):
        loop = next(i for i in arch["program"] if i["op"] == "loop")
        loop["count"] = count
        if until_stable is not None:
            loop["until_stable"] = until_stable
    return edit(data, "architecture", change)


def path_graph(n: int) -> dict:
    return {"n": n, "edges": [[i, i + 1] for i in range(n - 1)],
            "source": [True] + [False] * (n - 1)}


def write_input(tmp_path, *records) -> str:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_a_constant_count_of_10_to_the_12_is_refused_when_the_file_loads(bases, tmp_path):
    bad = tmp_path / "bfs.safetensors"
    bad.write_bytes(with_loop(bases["bfs"][0], "1000000000000", until_stable=False))
    start = time.monotonic()
    code, out, err = run_cli("exec", bad, "--input", write_input(tmp_path, path_graph(3)))
    assert time.monotonic() - start < 30
    assert code == 1 and out == ""
    msg = located(err, bad)
    assert msg.startswith("even at n = 1 the network's loops would run 1,000,000,000,000 rounds")
    assert "limit of 1,000,000 rounds per instance" in msg
    # nclang test --weights refuses it the same way, before drawing anything
    code, _, err = run_cli("test", W.REPO / "stdlib/graph/bfs.ncl", "--weights", bad)
    assert code == 1 and "1,000,000,000,000 rounds" in located(err, bad)


def test_a_count_of_n_to_the_4_is_refused_at_the_input_whose_size_passes_the_limit(bases,
                                                                                    tmp_path):
    bad = tmp_path / "bfs.safetensors"
    bad.write_bytes(with_loop(bases["bfs"][0], "n**4", until_stable=False))
    small, big = path_graph(3), path_graph(1000)
    inp = write_input(tmp_path, small, big)
    start = time.monotonic()
    code, out, err = run_cli("exec", bad, "--input", inp)
    assert time.monotonic() - start < 30
    assert code == 1 and out == ""
    first = err.splitlines()[0]
    assert first.startswith(f"{inp}:2:")
    assert "at m = 999, n = 1000 the network's loops would run 1,000,000,000,000 rounds" in first
    # the small graph alone runs: the limit is per instance
    code, out, _ = run_cli("exec", bad, "--input", write_input(tmp_path, small))
    assert code == 0 and json.loads(out) == {"reached": [True, True, True]}
    # and test draws at most n = 8 by default, 8^4 rounds: within the limit, but not n = 40
    code, _, err = run_cli("test", W.REPO / "stdlib/graph/bfs.ncl", "--weights", bad,
                           "--max-n", 40)
    assert code == 1
    assert "on the largest inputs test draws (n = 40" in located(err, bad)


def test_a_triplet_aggregation_too_large_for_memory_is_refused_before_it_runs(tmp_path):
    weights = tmp_path / "closure.safetensors"
    assert run_cli("compile", W.REPO / "stdlib/graph/closure.ncl", "-o", weights)[0] == 0
    inp = write_input(tmp_path, {"n": 1000, "edges": [[0, 1]]})
    start = time.monotonic()
    code, _, err = run_cli("exec", weights, "--input", inp)
    assert time.monotonic() - start < 30
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith(f"{inp}:1:")
    assert "1,000,000,000 elements, beyond the runtime's limit of 67,108,864 (2^26)" in first
    # n = 406 is inside the limit (406^3 < 2^26), as in the interpreter
    est = limits.estimate(read_weights(weights)[1], {"n": 406, "m": 1})
    assert est.elements == 406 ** 3 and limits.exceeded(read_weights(weights)[1],
                                                        {"n": 406, "m": 1}) is None
    assert limits.exceeded(read_weights(weights)[1], {"n": 407, "m": 1}) is not None


def test_an_until_stable_loop_that_never_stabilises_is_stopped_at_the_round_limit(
        tmp_path, monkeypatch):
    src = tmp_path / "toggle.ncl"
    src.write_text("program toggle(g: graph, s: node[bool]) -> node[bool] {\n"
                   "    r = s\n    repeat n until stable {\n        r[v] = not r[v]\n    }\n"
                   "    return r\n}\n")
    weights = tmp_path / "toggle.safetensors"
    assert run_cli("compile", src, "-o", weights)[0] == 0
    bad = tmp_path / "forever.safetensors"
    bad.write_bytes(with_loop(weights.read_bytes(), "1000000000000"))
    inp = write_input(tmp_path, {"n": 3, "edges": [], "s": [True, False, False]})
    monkeypatch.setattr(limits, "MAX_TRIPS", 500)  # the real limit takes minutes to reach
    code, out, err = run_cli("exec", bad, "--input", inp)
    assert code == 1 and out == ""
    msg = located(err, bad)
    assert "ran 501 rounds without becoming stable" in msg and "limit of 500 rounds" in msg


def test_a_transformer_loop_count_is_bounded_too(tmp_path):
    src = tmp_path / "flip.ncl"
    src.write_text('program flip(tokens: seq[token]) -> seq[bool] {\n'
                   '    r[i] = tokens[i] == "a"\n    repeat 2 {\n        r[i] = not r[i]\n'
                   '    }\n    return r\n}\n')
    weights = tmp_path / "flip.safetensors"
    assert run_cli("compile", src, "--size", "n=8", "--vocab", "a,b", "-o", weights)[0] == 0

    def with_count(count):
        def change(arch):
            arch["loops"][0]["count"] = count
        return edit(weights.read_bytes(), "architecture", change)
    const, power = tmp_path / "const.safetensors", tmp_path / "power.safetensors"
    const.write_bytes(with_count("1000000000000"))
    power.write_bytes(with_count("n**8"))
    short = write_input(tmp_path, {"tokens": ["a", "b"]})
    code, _, err = run_cli("exec", const, "--input", short)
    assert code == 1 and "1,000,000,000,000 rounds" in located(err, const)
    code, out, _ = run_cli("exec", power, "--input", short)  # 2^8 rounds: fine
    assert code == 0 and json.loads(out) == {"r": [True, False]}
    inp = write_input(tmp_path, {"tokens": ["a"] * 8})
    code, _, err = run_cli("exec", power, "--input", inp)
    assert code == 1 and err.startswith(f"{inp}:1:")
    assert "at n = 8 the network's loops would run 16,777,216 rounds" in err.splitlines()[0]


@pytest.mark.parametrize("name", ["bfs", "bellman_ford", "bfs_distance", "connected_components",
                                  "dfs", "list_ranking", "closure", "apsp"])
def test_the_stdlib_graph_programs_are_far_inside_the_limits(tmp_path, name):
    weights = tmp_path / f"{name}.safetensors"
    assert run_cli("compile", W.REPO / f"stdlib/graph/{name}.ncl", "-o", weights)[0] == 0
    meta = read_weights(weights)[1]
    # the benchmark's largest graphs (docs/performance.md), and pair programs at n = 400
    n = 400 if name in ("closure", "apsp") else 100_000
    assert limits.exceeded(meta, {"n": n, "m": 4 * n}) is None
    assert limits.constant_exceeded(meta) is None


def test_a_batch_runs_in_groups_that_fit_the_memory_budget(tmp_path, monkeypatch):
    weights = tmp_path / "bfs.safetensors"
    assert run_cli("compile", W.REPO / "stdlib/graph/bfs.ncl", "-o", weights)[0] == 0
    records = [path_graph(n) for n in (3, 5, 4, 3)]
    want = [json.loads(line) for line in run_cli("exec", weights, "--input",
                                                 write_input(tmp_path, *records))[1].splitlines()]
    monkeypatch.setattr(limits, "BATCH_BYTES", 1)  # every instance its own group
    calls = []
    from nclang.compiler.runtime.gnn import GNNNet
    real = GNNNet.run
    monkeypatch.setattr(GNNNet, "run", lambda self, insts: calls.append(len(insts))
                        or real(self, insts))
    code, out, _ = run_cli("exec", weights, "--input", write_input(tmp_path, *records))
    assert code == 0 and [json.loads(line) for line in out.splitlines()] == want
    assert calls == [1, 1, 1, 1]


def test_test_refuses_a_max_n_past_the_limits_at_the_program_not_a_temporary_file():
    prog = W.REPO / "stdlib/graph/closure.ncl"
    code, _, err = run_cli("test", prog, "--max-n", 500, "--examples", 2)
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith(f"{prog}:") and "nclang-test-" not in err
    assert "on the largest inputs test draws (n = 500" in first and "--max-n" in first


@pytest.mark.parametrize("k", ["99999999999999999999", "20000000"])
def test_run_refuses_a_size_past_the_interpreters_limit_before_decoding(tmp_path, k):
    prog = W.REPO / "stdlib/bits/parity.ncl"
    inp = tmp_path / "in.json"
    inp.write_text('{"x": 7}')
    code, _, err = run_cli("run", prog, "--input", inp, "--size", f"k={k}")
    assert code == 1 and "internal error" not in err
    assert err.startswith(f"{prog}:") and f"size k = {k} is beyond the interpreter's limit" in err


def test_a_bits_value_past_its_width_is_a_located_error(tmp_path):
    inp = tmp_path / "in.json"
    inp.write_text('{"x": ' + "9" * 4000 + "}")
    code, _, err = run_cli("run", W.REPO / "stdlib/bits/parity.ncl", "--input", inp,
                           "--size", "k=8")
    assert code == 1 and "internal error" not in err
    assert "does not fit in bits[k] with k = 8 (it must be below 2^8 = 256)" in err
