"""The GNN target: every stdlib graph program compiles to one size-independent message-passing
network that agrees with the interpreter on hypothesis graphs (edge cases included) and with a
networkx / scipy oracle on random graphs of a few hundred nodes; one bfs file runs on 5 and
2,000 nodes; `until stable` stops after L + O(1) rounds on a path of length L; values past
float32's exact range are refused; `nclang test` passes and catches a perturbed weight."""
from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import oracles
from nclang.compiler import cli
from nclang.compiler.driver import compile_file
from nclang.compiler.runtime import load
from nclang.compiler.runtime.graphs import graph_instance
from nclang.compiler.runtime.gnn import eval_size_text
from nclang.compiler.testing import test_program
from nclang.compiler.weights import read_weights, write_weights
from nclang.dsl.checker import check_source
from nclang.dsl.diagnostics import NclError
from nclang.dsl.jsonio import decode, encode
from nclang.dsl.values import GraphData, Instance

GRAPH = Path(__file__).resolve().parents[1] / "stdlib" / "graph"
PROGRAMS = ("bfs", "bfs_distance", "bellman_ford", "connected_components", "closure", "apsp",
            "dfs", "list_ranking")
# the interpreter runs pair programs (n^3 per round) and dfs (2n rounds) slowly: smaller graphs
MAX_N = {"closure": 16, "apsp": 16, "dfs": 24}


@lru_cache(maxsize=None)
def checked(name: str):
    path = GRAPH / f"{name}.ncl"
    (c,) = check_source(path.read_text(), str(path))
    return c


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gnn")
    files = {}
    for name in PROGRAMS:
        files[name] = compile_file(GRAPH / f"{name}.ncl", folder / f"{name}.safetensors")
    return files


@pytest.fixture(scope="module")
def nets(compiled):
    return {name: load(path) for name, path in compiled.items()}


def run_json(net, objs: list[dict]) -> list[dict]:
    insts = [decode(net.signature, o, net.sizes, "<test>") for o in objs]
    return [encode(net.signature, out) for out in net.run(insts)]


@pytest.mark.parametrize("name", PROGRAMS)
def test_matches_interpreter(nets, name):
    result = test_program(checked(name), nets[name], examples=60, seed=1,
                          max_n=MAX_N.get(name, 40))
    assert result.ok, result.counterexample and result.counterexample.to_json()


def random_input(name: str, n: int, rng: random.Random) -> dict:
    m = 3 * n
    edges = [[rng.randrange(n), rng.randrange(n)] for _ in range(m)]
    if name == "list_ranking":
        order = list(range(n))
        rng.shuffle(order)
        succ = [0] * n
        for i, v in enumerate(order):
            succ[v] = v if rng.random() < 0.05 or i + 1 == n else order[i + 1 + rng.randrange(
                min(2, n - i - 1))]
        return {"n": n, "succ": succ}
    obj = {"n": n, "edges": edges}
    if name in ("bfs", "bfs_distance", "bellman_ford"):
        obj["source"] = [rng.random() < 0.01 for _ in range(n)]
        obj["source"][rng.randrange(n)] = True
    if name in ("bellman_ford", "apsp"):
        obj["w"] = [rng.randrange(0, 1001) for _ in range(m)]
    if name == "dfs":
        obj["s"] = rng.randrange(n)
    return obj


@pytest.mark.parametrize("name", PROGRAMS)
def test_matches_oracle_on_large_graphs(nets, name):
    rng = random.Random(7)
    n = {"closure": 90, "apsp": 90, "dfs": 80}.get(name, 300)
    objs = [random_input(name, n, rng) for _ in range(2)] + [random_input(name, n // 3, rng)]
    got = run_json(nets[name], objs)
    for obj, out in zip(objs, got):
        assert out == getattr(oracles, name)(obj)


def test_one_bfs_file_runs_on_every_size(nets):
    net = nets["bfs"]
    rng = random.Random(3)
    for n in (5, 2000):
        obj = random_input("bfs", n, rng)
        # a path through every node too, so the last rounds matter
        path = {"n": n, "edges": [[i, i + 1] for i in range(n - 1)],
                "source": [i == 0 for i in range(n)]}
        assert run_json(net, [obj, path]) == [oracles.bfs(obj), oracles.bfs(path)]


@pytest.mark.parametrize("L", (1, 7, 60, 300))
def test_early_exit_rounds_on_a_path(nets, L):
    n = 2 * L + 1  # n - 1 rounds would be twice the path's length
    obj = {"n": n, "edges": [[i, i + 1] for i in range(L)], "source": [i == 0 for i in range(n)]}
    for name in ("bfs", "bfs_distance"):
        net = nets[name]
        run_json(net, [obj])
        (rounds,) = net.rounds[0]
        assert L <= rounds <= L + 2


def test_batches_of_different_sizes_count_rounds_per_graph(nets):
    net = nets["bfs"]
    objs = [{"n": n, "edges": [[i, i + 1] for i in range(n - 1)],
             "source": [i == 0 for i in range(n)]} for n in (3, 9, 9, 1)]
    assert run_json(net, objs) == [oracles.bfs(o) for o in objs]
    # n - 1 rounds each: the path needs them all, and the count allows no more
    assert [r[0] for r in net.rounds] == [2, 8, 8, 0]


def test_trip_counts_are_exact_integers():
    assert eval_size_text("ceil(log2(n))", {"n": 2 ** 50 + 1}) == 51
    assert eval_size_text("ceil(log2(n))", {"n": 2 ** 50}) == 50
    assert eval_size_text("n - 1", {"n": 1}) == 0
    assert eval_size_text("2*n", {"n": 7}) == 14


def test_refuses_past_float32(tmp_path):
    with pytest.raises(NclError) as err:
        compile_file(GRAPH / "bellman_ford.ncl", tmp_path / "bf.safetensors",
                     sizes={"n": 100000})
    (d,) = err.value.diagnostics
    assert d.code == "not-exact"
    assert "float32 cannot compute this network exactly" in d.message
    assert "--dtype float64" in d.message
    heavy = tmp_path / "heavy.ncl"
    heavy.write_text((GRAPH / "bellman_ford.ncl").read_text().replace("int[0..1000]",
                                                                      "int[0..100000000]"))
    with pytest.raises(NclError) as err:
        compile_file(heavy, tmp_path / "heavy.safetensors")
    assert err.value.diagnostics[0].code == "not-exact"
    compile_file(heavy, tmp_path / "heavy64.safetensors", dtype="float64")


def test_runtime_refuses_a_run_whose_values_pass_the_design_bound(nets):
    # a path of maximal weights is the analysis' worst case: dist reaches 1000 (n - 1) > R
    net = nets["bellman_ford"]
    n = net.R // 1000 + 10
    edges = [[i, i + 1] for i in range(n - 1)]
    with pytest.raises(NclError) as err:
        run_json(net, [{"n": n, "edges": edges, "w": [1000] * (n - 1),
                        "source": [True] + [False] * (n - 1)}])
    d = err.value.diagnostics[0]
    assert d.code == "not-exact" and "--dtype float64" in d.message and "values reach" in d.message


def test_graphs_past_the_static_bound_run_exactly_when_their_values_stay_small(nets):
    # the same n as above, but distances stay small: the watched run is exact and not refused
    net = nets["bellman_ford"]
    n = net.R // 1000 + 10
    rng = np.random.default_rng(3)
    src, dst = rng.integers(0, n, 4 * n), rng.integers(0, n, 4 * n)
    w = rng.integers(0, 1001, 4 * n)
    source = np.zeros(n, bool)
    source[0] = True
    got = run_json(net, [{"n": n, "edges": np.stack([src, dst], 1).tolist(), "w": w.tolist(),
                          "source": source.tolist()}])[0]["dist"]
    import scipy.sparse as sps
    from scipy.sparse.csgraph import dijkstra
    least: dict = {}
    for u, v, x in zip(src.tolist(), dst.tolist(), w.tolist()):
        least[u, v] = min(x, least.get((u, v), x))
    # csgraph drops explicit zeros, so weights are shifted by a tiny epsilon and rounded back
    keys = list(least)
    A = sps.csr_matrix(([least[k] + 1e-9 for k in keys], ([k[0] for k in keys],
                        [k[1] for k in keys])), shape=(n, n))
    want = np.round(dijkstra(A, indices=0))
    assert np.array_equal(np.asarray(got, np.float64), want)


def test_float64_file_runs_bellman_ford_past_float32(tmp_path):
    path = compile_file(GRAPH / "bellman_ford.ncl", tmp_path / "bf64.safetensors",
                        dtype="float64")
    net = load(path)
    n = 20000  # 1000 (n - 1) passes 2^24
    rng = np.random.default_rng(5)
    src, dst = rng.integers(0, n, 2 * n), rng.integers(0, n, 2 * n)
    w = rng.integers(0, 1001, 2 * n)
    # networkx on the sparse graph (the oracle module's dense matrix would be n^2)
    least: dict = {}
    for u, v, x in zip(src.tolist(), dst.tolist(), w.tolist()):
        least[u, v] = min(x, least.get((u, v), x))
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from((u, v, x) for (u, v), x in least.items())
    found = nx.single_source_dijkstra_path_length(g, 0)
    source = np.zeros(n, np.bool_)
    source[0] = True
    inst = Instance({"n": n, "m": 2 * n}, {"w": w.astype(np.float64), "source": source},
                    GraphData(n, src, dst))
    got = encode(net.signature, net.run([inst])[0])
    assert got == {"dist": [found.get(v, "inf") for v in range(n)]}


def test_compiles_to_the_same_bytes(tmp_path):
    a = compile_file(GRAPH / "dfs.ncl", tmp_path / "a.safetensors")
    b = compile_file(GRAPH / "dfs.ncl", tmp_path / "b.safetensors")
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("name", PROGRAMS)
def test_cli_test_passes_and_catches_a_perturbed_weight(compiled, name, tmp_path, capsys):
    prog = str(GRAPH / f"{name}.ncl")
    assert cli.main(["test", prog, "--weights", str(compiled[name]), "--examples", "40",
                     "--seed", "2"]) == 0
    tensors, meta = read_weights(compiled[name])
    # the last stage writes a loop's carried state or a result: a changed bias shows there
    key = sorted(k for k in tensors if k.endswith("bias"))[-1]
    bad = dict(tensors)
    bad[key] = tensors[key] + np.asarray(0.5, tensors[key].dtype)
    broken = tmp_path / "broken.safetensors"
    write_weights(broken, bad, meta)
    capsys.readouterr()
    assert cli.main(["test", prog, "--weights", str(broken), "--examples", "40",
                     "--seed", "2"]) == 3


def test_inspect_describes_the_message_passing_architecture(compiled, tmp_path, capsys):
    weights = str(compiled["bellman_ford"])
    png = tmp_path / "bf.png"
    assert cli.main(["inspect", weights, "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "aggregators: min over in-neighbours" in out
    assert "repeat n - 1 until stable" in out
    assert "message  edge" in out and "update   node" in out
    assert "channels per node" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["inspect", weights, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    g = d["gnn"]
    assert d["family"] == "gnn" and d["dtype"] == "float32"
    assert d["parameters"] >= d["nonzero"] > 0
    assert g["design_bound"] > 0 and g["value_bound"]
    assert {"role": "message", "domain": "edge"}.items() <= g["stages"][1].items()
    assert sum(S["parameters"] for S in g["stages"]) == d["parameters"]
    assert [(a["agg"], a["over"], a["loop"]) for a in g["aggregators"]] == \
        [("min", "in-neighbours", 0)]
    (loop,) = g["loops"]
    assert loop["count"] == "n - 1" and loop["until_stable"] and loop["carried"] == ["dist"]
    assert g["state_channels"] == {"node": 2}  # dist: a (reached, value) pair


def test_inspect_names_triplet_and_readout_aggregators(compiled, capsys):
    assert cli.main(["inspect", str(compiled["apsp"]), "--json"]) == 0
    g = json.loads(capsys.readouterr().out)["gnn"]
    assert "min over triplet" in g["aggregators_used"]
    assert g["loops"][0]["count"] == "ceil(log2(n))" and not g["loops"][0]["until_stable"]
    assert g["state_channels"] == {"pair": 2}
    assert cli.main(["inspect", str(compiled["dfs"]), "--json"]) == 0
    g = json.loads(capsys.readouterr().out)["gnn"]
    assert "argmin over nodes" in g["aggregators_used"]
    assert "global" in g["state_channels"]


def test_networkx_graphs_run_and_match_networkx(nets):
    rng = random.Random(11)
    G = nx.gnm_random_graph(120, 300, seed=4, directed=True)
    # labels that are not 0..n-1, to exercise the relabelling in sorted order
    G = nx.relabel_nodes(G, {v: f"v{v:03d}" for v in G})
    for _u, _v, attrs in G.edges(data=True):
        attrs["weight"] = rng.randrange(0, 1001)
    for v in G:
        G.nodes[v]["start"] = v == "v000"
    nodes = sorted(G)
    net = nets["bellman_ford"]
    got = encode(net.signature, net.run_networkx(G, w="weight", source="start"))["dist"]
    want = nx.single_source_dijkstra_path_length(G, "v000")
    assert got == [want.get(v, "inf") for v in nodes]
    net = nets["bfs"]
    got = encode(net.signature, net.run_networkx(G, source="start"))["reached"]
    assert got == [v in nx.descendants(G, "v000") | {"v000"} for v in nodes]
    # an undirected graph: each edge both ways
    H = nx.path_graph(6)
    nx.set_node_attributes(H, {v: v == 3 for v in H}, "source")
    inst = graph_instance(net, H)
    assert inst.graph.m == 10
    assert encode(net.signature, net.run([inst])[0])["reached"] == [True] * 6


def test_networkx_missing_attribute_is_refused(nets):
    G = nx.DiGraph([(0, 1)])
    with pytest.raises(ValueError, match="no attribute 'source'"):
        graph_instance(nets["bfs"], G)


def test_cli_exec_runs_a_batch_of_graphs_like_run(compiled, tmp_path, capsys):
    rng = random.Random(9)
    objs = [random_input("bfs", n, rng) for n in (1, 4, 17, 4, 60)]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(json.dumps(o) + "\n" for o in objs))
    assert cli.main(["exec", str(compiled["bfs"]), "-i", str(batch)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(objs)
    for i, (obj, line) in enumerate(zip(objs, lines)):
        one = tmp_path / f"g{i}.json"
        one.write_text(json.dumps(obj))
        assert cli.main(["run", str(GRAPH / "bfs.ncl"), "-i", str(one)]) == 0
        assert json.loads(line) == json.loads(capsys.readouterr().out)
        assert json.loads(line) == oracles.bfs(obj)


@pytest.mark.slow  # 100,000 nodes through JSON (about a minute); the watched-run test above
# checks the same property on 4,200 nodes
def test_default_bellman_ford_file_agrees_with_networkx_on_100k_nodes(tmp_path):
    n, m = 100_000, 400_000
    rng = np.random.default_rng(7)
    src, dst, w = rng.integers(0, n, m), rng.integers(0, n, m), rng.integers(0, 1001, m)
    source = [False] * n
    source[0] = True
    g = tmp_path / "g.json"
    g.write_text(json.dumps({"n": n, "edges": np.stack([src, dst], 1).tolist(),
                             "w": w.tolist(), "source": source}))
    bf = tmp_path / "bf.safetensors"
    assert cli.main(["compile", str(GRAPH / "bellman_ford.ncl"), "-o", str(bf)]) == 0
    out = tmp_path / "out.json"
    assert cli.main(["exec", str(bf), "--input", str(g), "-o", str(out)]) == 0
    got = json.loads(out.read_text())["dist"]
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for u, v, x in zip(src.tolist(), dst.tolist(), w.tolist()):
        if not G.has_edge(u, v) or G[u][v]["weight"] > x:
            G.add_edge(u, v, weight=x)
    found = nx.single_source_dijkstra_path_length(G, 0)
    assert got == [found.get(v, "inf") for v in range(n)]


# issue 19: `edge(v, v)` and `r[v, v]` (a diagonal) compiled, but every exec stopped with "a
# diagonal broadcast is not supported" (exit 70); issue 12 #3: a `repeat n - 1` whose body first
# assigns a variable ran no rounds at n = 1 and the runtime stopped on that variable (exit 70)
EDGE_CASES = {
    "jump": "program jump(g: graph, succ: node[node], val: node[int[0..9]]) -> (node[int], "
            "node[node], node[bool]) {\n    next_val[v] = val[succ[v]]\n"
            "    two_ahead[v] = succ[succ[v]]\n    loop_here[v] = edge(v, v)\n"
            "    return next_val, two_ahead, loop_here\n}\n",
    "diagonal": "program d(g: graph, w: pair[int[0..5]]) -> (node[int], node[bool], pair[bool]) {\n"
                "    r[i, j] = edge(j, i) and w[j, i] > 2\n"
                "    d[v] = w[v, v] + (1 if edge(v, v) else 0)\n    s[v] = r[v, v]\n"
                "    t[i, j] = r[j, j] and edge(i, i)\n    return d, s, t\n}\n",
    "zero_rounds": "program z(g: graph, source: node[bool]) -> node[bool] {\n    r = source\n"
                   "    repeat n - 1 {\n        tmp[v] = any(r[u] for u in in(v))\n"
                   "        r[v] = r[v] or tmp[v]\n    }\n    return r\n}\n",
}


@pytest.mark.parametrize("what", sorted(EDGE_CASES))
def test_diagonals_and_loops_of_no_rounds_run_like_the_interpreter(what, tmp_path):
    src = tmp_path / f"{what}.ncl"
    src.write_text(EDGE_CASES[what])
    (c,) = check_source(src.read_text(), str(src))
    net = load(compile_file(src, tmp_path / f"{what}.safetensors"))
    # n = 1 first: the single-node graph (with and without its self-loop) is where both broke
    result = test_program(c, net, examples=120, seed=11, max_n=1)
    assert result.ok, result.counterexample and result.counterexample.to_json()
    result = test_program(c, net, examples=120, seed=11, max_n=6)
    assert result.ok, result.counterexample and result.counterexample.to_json()


def test_comparisons_with_values_that_may_be_infinite(tmp_path):
    # a distance compared with a number, a field, another distance or inf itself: was refused
    # ("a comparison with a value that may be infinite"); now (flag, value) pairs and a table
    text = ("program q(g: graph, w: edge[int[0..9]], source: node[bool], x: node[int[0..20]]) -> "
            "(node[bool], node[bool], node[bool], node[bool]) {\n"
            "    dist[v] = 0 if source[v] else inf\n"
            "    repeat n - 1 {\n"
            "        dist[v] = min(dist[v], min(dist[u] + w[u, v] for u in in(v)))\n    }\n"
            "    a[v] = dist[v] == x[v]\n    b[v] = dist[v] >= min(dist[u] for u in in(v))\n"
            "    c[v] = dist[v] < 4\n    f[v] = inf > dist[v]\n    return a, b, c, f\n}\n")
    src = tmp_path / "q.ncl"
    src.write_text(text)
    (c,) = check_source(text, str(src))
    net = load(compile_file(src, tmp_path / "q.safetensors"))
    result = test_program(c, net, examples=150, seed=2, max_n=6)
    assert result.ok, result.counterexample and result.counterexample.to_json()


READ_AT_A_NODE = """\
program p(g: graph, source: node[bool]) -> node[bool] {
    reached = source
    repeat n - 1 {
        reached[v] = reached[0] or any(reached[u] for u in in(v))
    }
    return reached
}
"""


def test_a_node_field_read_at_a_constant_node_compiles_and_agrees(tmp_path):
    # `reached[0]` is a gather into a global; the file's schema once refused it (fuzzer find)
    src = tmp_path / "at_node.ncl"
    src.write_text(READ_AT_A_NODE)
    (c,) = check_source(READ_AT_A_NODE, str(src))
    net = load(compile_file(src, tmp_path / "at_node.safetensors"))
    result = test_program(c, net, examples=80, seed=3, max_n=6)
    assert result.ok, result.counterexample and result.counterexample.to_json()
