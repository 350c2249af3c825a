"""The reference interpreter on small hand-made inputs with hand-checked outputs."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nclang.dsl.diagnostics import NclError
from nclang.dsl.interpreter import RunError, run
from nclang.dsl.parser import parse
from nclang.dsl.sizes import eval_size
from nclang.dsl.values import GraphData, Instance


def check(src: str, typed: bool = True):
    """The first program of `src`, checked by nclang.dsl.checker; with `typed=False` (or without a
    checker) only the fields the interpreter reads, binder domains left to its own rule."""
    try:
        from nclang.dsl.checker import check_source
    except ImportError:
        typed = False
    if typed:
        return check_source(src, "t.ncl")[0]
    module = parse(src, "t.ncl")
    return SimpleNamespace(program=module.programs[0], module=module,
                           defs={d.name: d for d in module.defs}, assign_axes={},
                           result_names=())


def graph(n: int, edges) -> GraphData:
    e = np.array(edges, dtype=np.int64).reshape(-1, 2)
    return GraphData(n, e[:, 0], e[:, 1])


def bits(value: int, k: int) -> np.ndarray:
    return np.array([(value >> i) & 1 for i in range(k)], dtype=bool)


def unbits(b: np.ndarray) -> int:
    return sum(int(x) << i for i, x in enumerate(b))


def run_bits(src: str, k: int, **values):
    return run(check(src), Instance({"k": k}, {n: bits(v, k) for n, v in values.items()}))


def run_seq(src: str, tokens, trace=False):
    arr = np.empty(len(tokens), dtype=object)
    arr[:] = list(tokens)
    return run(check(src), Instance({"n": len(tokens)}, {"tokens": arr}), trace=trace)


def raises(code: str, fn, *args, **kw) -> RunError:
    with pytest.raises(RunError) as info:
        fn(*args, **kw)
    (d,) = info.value.diagnostics
    assert d.code == code, d
    return info.value


# ---------------------------------------------------------------- size expressions

def _size(text: str, **sizes) -> int:
    module = parse(f"program p(x: bits[{text}]) -> bool {{ return true }}")
    return eval_size(module.programs[0].params[0].type.size, sizes)


@pytest.mark.parametrize("text,want", [
    ("n - 1", 9), ("2 * k + 1", 9), ("k // 3", 1), ("ceil(log2(n))", 4),
    ("floor(log2(n))", 3), ("log2(16)", 4), ("ceil(log2(16))", 4), ("ceil(log2(1))", 0),
    ("floor(log2(k + 1))", 2), ("ceil(log2(k + 1))", 3),
])
def test_eval_size_is_exact(text, want):
    assert _size(text, n=10, k=4) == want


def test_eval_size_large_power_of_two_plus_one_is_not_rounded():
    big = 2 ** 60 + 1
    assert _size("ceil(log2(n))", n=big) == 61
    assert _size("floor(log2(n))", n=big) == 60


@pytest.mark.parametrize("text", ["log2(n)", "q + 1", "n // 0", "log2(0)"])
def test_eval_size_errors_are_bad_size(text):
    with pytest.raises(NclError) as info:
        _size(text, n=10, k=4)
    assert info.value.diagnostics[0].code == "bad-size"


# ---------------------------------------------------------------- aggregation identities

# node 2 has no in-edges, so every aggregation over in(2) selects nothing
EMPTY_IN = """program p(g: graph, x: node[int[0..9]]) -> node[TYPE] {
    r[v] = AGG(x[u] for u in in(v))
    return r
}"""


@pytest.mark.parametrize("agg,rtype,want", [
    ("min", "int", np.inf), ("max", "int", -np.inf), ("sum", "int", 0.0),
    ("count", "int", 0.0),
])
def test_empty_aggregation_identity_over_in(agg, rtype, want):
    src = EMPTY_IN.replace("AGG", agg).replace("TYPE", rtype)
    out = run(check(src), Instance({}, {"x": np.array([4.0, 7.0, 1.0])},
                                   graph(3, [[0, 1], [2, 1], [1, 0]])))
    (r,) = out.values()
    assert r[2] == want
    assert r[1] == {"min": 1.0, "max": 4.0, "sum": 5.0, "count": 2.0}[agg]


@pytest.mark.parametrize("agg,body,rtype,want", [
    ("any", "x[u] > 0", "bool", False), ("all", "x[u] > 0", "bool", True),
    ("argmin", "x[u]", "node", -1), ("argmax", "x[u]", "node", -1), ("only", "u", "node", -1),
])
def test_empty_aggregation_identity_bool_and_index(agg, body, rtype, want):
    src = EMPTY_IN.replace("AGG(x[u]", f"{agg}({body}").replace("TYPE", rtype)
    out = run(check(src), Instance({}, {"x": np.array([4.0, 7.0, 1.0])},
                                   graph(3, [[0, 1], [1, 0]])))
    (r,) = out.values()
    assert r[2] == want


@pytest.mark.parametrize("agg,want", [
    ("min", np.inf), ("max", -np.inf), ("sum", 0), ("count", 0)])
def test_empty_aggregation_identity_over_range(agg, want):
    src = f"program p(x: bits[k]) -> int {{ return {agg}(i for i in range(k) if false) }}"
    assert run_bits(src, 3, x=5)["result"] == want


def test_any_all_over_nothing():
    src = """program p(x: bits[k]) -> (bool, bool) {
        return any(x[i] for i in range(k) if false), all(x[i] for i in range(k) if false)
    }"""
    out = run_bits(src, 3, x=5)
    assert list(out.values()) == [False, True]


def test_mean_over_nothing_is_an_error_with_the_element():
    src = """program p(g: graph, x: node[int[0..9]]) -> node[frac] {
        r[v] = mean(x[u] for u in in(v))
        return r
    }"""
    err = raises("mean-empty", run, check(src),
                 Instance({}, {"x": np.array([4.0, 7.0])}, graph(2, [[0, 1]])))
    d = err.diagnostics[0]
    assert (d.line, d.col) == (2, 16)
    assert "v = 0" in d.message


def test_argmin_ties_go_to_the_smallest_element():
    src = """program p(tokens: seq[int[0..9]]) -> (bool, bool) {
        best = argmin(tokens[j] for j in positions)
        worst = argmax(tokens[j] for j in positions if j > 0)
        return best == 1, worst == 2
    }"""
    out = run(check(src), Instance({"n": 5}, {"tokens": np.array([3.0, 1.0, 4.0, 1.0, 4.0])}))
    assert list(out.values()) == [True, True]


def test_argmin_over_in_breaks_ties_by_node_id_and_skips_unselected():
    src = """program p(g: graph, x: node[int[0..9]]) -> node[node] {
        r[v] = argmin(x[u] for u in in(v) if u != 3)
        return r
    }"""
    g = graph(5, [[4, 0], [2, 0], [1, 0], [3, 0], [4, 1]])
    out = run(check(src), Instance({}, {"x": np.array([9.0, 5.0, 5.0, 0.0, 5.0])}, g))
    assert out["r"].tolist() == [1, 4, -1, -1, -1]


def test_only_with_two_selected_is_an_error():
    src = """program p(tokens: seq[int[0..9]]) -> seq[int[0..9]] {
        out[i] = only(tokens[j] for j in positions if tokens[j] == tokens[i])
        return out
    }"""
    assert run(check(src), Instance({"n": 3}, {"tokens": np.array([2.0, 0.0, 1.0])}))[
        "out"].tolist() == [2, 0, 1]
    err = raises("only-many", run, check(src),
                 Instance({"n": 3}, {"tokens": np.array([2.0, 0.0, 2.0])}))
    assert "at i = 0" in err.diagnostics[0].message


# ---------------------------------------------------------------- arithmetic

def _scalar(expr: str, rtype: str = "int"):
    return run_bits(f"program p(x: bits[k]) -> {rtype} {{ return {expr} }}", 2, x=0)["result"]


@pytest.mark.parametrize("expr,want", [
    ("inf + 3", np.inf), ("-inf + 3", -np.inf), ("inf + inf", np.inf), ("2 * inf", np.inf),
    ("-7 // 2", -4), ("-7 % 2", 1), ("7 % -2", -1), ("min(inf, 3, 5)", 3),
    ("max(-inf, 2)", 2), ("abs(-4)", 4), ("3 - inf", -np.inf),
])
def test_inf_and_floor_arithmetic(expr, want):
    assert _scalar(expr) == want


def test_true_division_gives_a_frac():
    assert _scalar("7 / 2", "frac") == 3.5


@pytest.mark.parametrize("expr", [
    "-inf < 3 and 3 < inf", "inf == inf", "not (inf < inf)"])
def test_inf_comparisons(expr):
    assert _scalar(expr, "bool")


@pytest.mark.parametrize("expr,code", [
    ("inf - inf", "inf-arith"), ("inf + -inf", "inf-arith"), ("0 * inf", "inf-arith"),
    ("inf // 2", "inf-arith"), ("3 // 0", "div-zero"), ("3 % 0", "div-zero"),
    ("1 / 0", "div-zero")])
def test_undefined_arithmetic_is_an_error(expr, code):
    rtype = "frac" if expr == "1 / 0" else "int"
    err = raises(code, _scalar, expr, rtype)
    d = err.diagnostics[0]
    src = f"program p(x: bits[k]) -> {rtype} {{ return {expr} }}"
    assert (d.line, d.col, d.end_col) == (1, src.index(expr) + 1, src.index(expr) + 1 + len(expr))


def test_integer_beyond_2_to_53_is_an_error():
    src = """program p(x: bits[k]) -> int {
        y = 1
        repeat 60 { y = y * 2 }
        return y
    }"""
    err = raises("too-large", run_bits, src, 2, x=0)
    assert "2^53" in err.diagnostics[0].message


# ---------------------------------------------------------------- statements

def test_indexed_assignment_is_synchronous():
    # every element reads the old x: a shift by one, not a smear of x[0]
    src = """program p(x: bits[k]) -> bits[k] {
        y[i] = x[i]
        y[i] = y[i - 1] if i > 0 else false
        return y
    }"""
    assert unbits(run_bits(src, 6, x=0b101101)["y"]) == 0b011010


def test_whole_field_assignment_copies():
    src = """program p(g: graph, source: node[bool]) -> (node[bool], node[bool]) {
        a = source
        b = source
        b[v] = not b[v]
        return a, b
    }"""
    out = run(check(src), Instance({}, {"source": np.array([True, False])}, graph(2, [])))
    assert out["a"].tolist() == [True, False]
    assert out["b"].tolist() == [False, True]


def test_statements_in_a_loop_see_earlier_ones():
    src = """program p(x: bits[k]) -> int {
        a = 0
        b = 0
        repeat 3 { a = a + 1
                   b = b + a }
        return b
    }"""
    assert run_bits(src, 2, x=0)["b"] == 6


def test_until_stable_stops_after_an_unchanged_iteration():
    src = """program bfs(g: graph, source: node[bool]) -> node[bool] {
        reached = source
        repeat n - 1 until stable {
            reached[v] = reached[v] or any(reached[u] for u in in(v))
        }
        return reached
    }"""
    g = graph(8, [[0, 1], [1, 2], [5, 6]])
    out, trace = run(check(src), Instance({}, {"source": np.eye(8, dtype=bool)[0]}, g),
                     trace=True)
    assert out["reached"].tolist() == [True, True, True] + [False] * 5
    # round 1 reaches 1, round 2 reaches 2, round 3 changes nothing and ends the loop
    assert len(trace) == 3
    assert [t["reached"].sum() for t in trace] == [2, 3, 3]


def test_until_stable_counts_a_new_variable_as_changed():
    src = """program p(x: bits[k]) -> int {
        c = 0
        repeat 10 until stable {
            fresh = 1
            c = c + 0
        }
        return c
    }"""
    _, trace = run(check(src), Instance({"k": 2}, {"x": bits(0, 2)}), trace=True)
    assert len(trace) == 2


def test_trace_records_inner_and_outer_iterations_in_order():
    src = """program p(x: bits[k]) -> int {
        t = 0
        repeat 2 {
            repeat 2 { t = t + 1 }
            t = t * 10
        }
        return t
    }"""
    out, trace = run(check(src), Instance({"k": 2}, {"x": bits(0, 2)}), trace=True)
    assert out["t"] == 220
    assert [float(t["t"]) for t in trace] == [1, 2, 20, 21, 22, 220]


# ---------------------------------------------------------------- laziness and domains

def test_lazy_and_if_never_read_outside_the_domain():
    src = """program p(x: bits[k]) -> (bits[k], bits[k], bits[k]) {
        a[i] = i > 0 and x[i - 1]
        b[i] = x[i + 1] if i < k - 1 else false
        c[i] = i == 0 or x[i - 1]
        return a, b, c
    }"""
    out = run_bits(src, 4, x=0b0110)
    assert [unbits(v) for v in out.values()] == [0b1100, 0b0011, 0b1101]


def test_out_of_domain_read_is_an_error_at_the_index():
    src = """program p(x: bits[k]) -> bits[k] {
        a[i] = x[i - 1]
        return a
    }"""
    err = raises("out-of-domain", run_bits, src, 4, x=1)
    d = err.diagnostics[0]
    assert (d.line, d.col, d.end_col) == (2, 18, 23)
    assert "-1" in d.message and "at i = 0" in d.message


def test_reading_through_none_is_an_error_only_where_evaluated():
    src = """program p(g: graph, ptr: node[node], x: node[int[0..9]]) -> node[int] {
        r[v] = x[ptr[v]] if ptr[v] != none else 0
        return r
    }"""
    inst = Instance({}, {"ptr": np.array([1, -1, 0]), "x": np.array([5.0, 6.0, 7.0])},
                    graph(3, []))
    assert run(check(src), inst)["r"].tolist() == [6, 0, 5]
    bad = src.replace(" if ptr[v] != none else 0", "")
    err = raises("out-of-domain", run, check(bad), inst)
    assert "at v = 1" in err.diagnostics[0].message


def test_pointer_gather_and_pointer_jumping():
    src = """program list_ranking(g: graph, succ: node[node]) -> node[int] {
        rank[v] = 0 if succ[v] == v else 1
        nx[v] = succ[v]
        repeat ceil(log2(n)) {
            rank[v] = rank[v] + rank[nx[v]]
            nx[v] = nx[nx[v]]
        }
        return rank
    }"""
    succ = np.array([3, 0, 4, 2, 4, 4])
    out = run(check(src), Instance({}, {"succ": succ}, graph(6, [])))
    assert out["rank"].tolist() == [3, 4, 1, 2, 0, 1]


# ---------------------------------------------------------------- edges and joins

def test_edge_field_reads_the_edge_of_the_iteration():
    src = """program p(g: graph, w: edge[int[0..9]]) -> (node[int], node[int]) {
        a[v] = sum(w[u, v] for u in in(v))
        b[v] = sum(w[v, u] * u for u in out(v))
        return a, b
    }"""
    g = graph(3, [[0, 1], [0, 1], [2, 1], [1, 2], [2, 2]])
    out = run(check(src), Instance({}, {"w": np.array([1.0, 2.0, 3.0, 4.0, 5.0])}, g))
    assert out["a"].tolist() == [0, 6, 9]
    assert out["b"].tolist() == [1 * 1 + 2 * 1, 4 * 2, 3 * 1 + 5 * 2]


def test_in_of_a_pointer_and_out_of_a_global():
    src = """program p(g: graph, ptr: node[node], s: node) -> (node[int], int) {
        a[v] = count(u for u in in(ptr[v]))
        b = sum(u for u in out(s))
        return a, b
    }"""
    g = graph(4, [[0, 1], [2, 1], [3, 1], [1, 2], [1, 3]])
    out = run(check(src), Instance({}, {"ptr": np.array([1, 2, 0, 1]), "s": np.array(1)}, g))
    assert out["a"].tolist() == [3, 1, 0, 3]
    assert out["b"] == 5


def test_nested_joins_count_two_hop_paths():
    src = """program p(g: graph) -> node[int] {
        r[v] = sum(count(w for w in in(u)) for u in in(v))
        return r
    }"""
    g = graph(4, [[0, 1], [1, 2], [3, 2], [0, 3], [2, 2]])
    # in(2) = {1, 3, 2}; in(1) = {0}, in(3) = {0}, in(2) has 3 edges
    out = run(check(src), Instance({}, {}, g))
    assert out["r"].tolist() == [0, 0, 5, 0]


def test_edge_test_and_pairs():
    src = """program closure(g: graph) -> pair[bool] {
        r[i, j] = i == j or edge(i, j)
        repeat ceil(log2(n)) {
            r[i, j] = any(r[i, x] and r[x, j] for x in nodes)
        }
        return r
    }"""
    out = run(check(src), Instance({}, {}, graph(4, [[0, 1], [1, 2], [3, 3]])))
    assert out["r"].astype(int).tolist() == [[1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 1, 0],
                                             [0, 0, 0, 1]]


# ---------------------------------------------------------------- defs, scan, reduce

CARRY = """def carry(x: int[0..2], y: int[0..2]) -> int[0..2] {
    return x if y == 1 else y
}
"""

ADD = CARRY + """program add(a: bits[k], b: bits[k]) -> bits[k + 1] {
    st[i] = 2 if a[i] and b[i] else (1 if a[i] xor b[i] else 0)
    c = scan(carry, st)
    s[i in range(k + 1)] = (i < k and (a[i] xor b[i])) xor (i > 0 and c[i - 1] == 2)
    return s
}"""


@pytest.mark.parametrize("k", [1, 3, 7])
def test_scan_with_a_def_is_the_left_fold(k):
    checked = check(ADD)
    rng = np.random.default_rng(k)
    pairs = [(0, 0), (2 ** k - 1, 1), (2 ** k - 1, 2 ** k - 1)]
    pairs += [tuple(int(x) for x in rng.integers(0, 2 ** k, 2)) for _ in range(30)]
    for a, b in pairs:
        out = run(checked, Instance({"k": k}, {"a": bits(a, k), "b": bits(b, k)}))
        assert unbits(out["s"]) == a + b


def test_builtin_scan_and_reduce():
    src = """program p(x: bits[k], v: vec[int[-9..9], 5]) -> (bool, vec[int, 5], int, int) {
        s = scan(+, v)
        return reduce(xor, x), s, reduce(min, v), reduce(*, v)
    }"""
    out = run(check(src), Instance({"k": 4}, {"x": bits(0b1011, 4),
                                              "v": np.array([3.0, -2.0, 5.0, 1.0, -1.0])}))
    parity, s, lo, prod = out.values()
    assert parity and s.tolist() == [3, 1, 6, 7, 6] and lo == -2 and prod == 30


def test_def_result_outside_its_type_is_an_error_at_the_call():
    src = """def inc(x: int[0..2]) -> int[0..2] {
        y = x + 1
        return y
    }
    program p(x: bits[k]) -> vec[int, k] {
        r[i] = inc(i) if x[i] else 0
        return r
    }"""
    assert run_bits(src, 3, x=0b011)["r"].tolist() == [1, 2, 0]
    err = raises("range", run_bits, src, 3, x=0b111)
    d = err.diagnostics[0]
    assert (d.line, d.col, d.end_col) == (6, 16, 22)
    assert "inc" in d.message and "3" in d.message and "int[0..2]" in d.message
    assert "at i = 2" in d.message


def test_def_argument_outside_its_type_is_an_error_at_the_argument():
    src = CARRY + """program p(x: bits[k]) -> int {
        return carry(1, k)
    }"""
    err = raises("range", run_bits, src, 3, x=0)
    d = err.diagnostics[0]
    assert (d.line, d.col) == (5, 25)
    assert "carry" in d.message and "y" in d.message


def test_bounded_result_type_is_checked():
    src = """program p(x: bits[k]) -> int[0..3] {
        return count(i for i in range(k) if x[i])
    }"""
    assert run_bits(src, 5, x=0b111)["result"] == 3
    raises("range", run_bits, src, 5, x=0b1111)


# ---------------------------------------------------------------- the DESIGN.md programs

def test_design_bfs():
    src = """program bfs(g: graph, source: node[bool]) -> node[bool] {
        reached = source
        repeat n - 1 {
            reached[v] = reached[v] or any(reached[u] for u in in(v))
        }
        return reached
    }"""
    g = graph(6, [[0, 1], [1, 2], [2, 0], [4, 3], [3, 5]])
    src_ = np.array([False, True, False, False, False, False])
    assert run(check(src), Instance({}, {"source": src_}, g))["reached"].tolist() == \
        [True, True, True, False, False, False]


def test_design_bellman_ford():
    src = """program bellman_ford(g: graph, w: edge[int[0..1000]], source: node[bool])
             -> node[int] {
        dist[v] = 0 if source[v] else inf
        repeat n - 1 {
            dist[v] = min(dist[v], min(dist[u] + w[u, v] for u in in(v)))
        }
        return dist
    }"""
    g = graph(5, [[0, 1], [1, 2], [0, 2], [2, 3], [0, 3], [3, 3]])
    w = np.array([1.0, 1.0, 5.0, 2.0, 10.0, 0.0])
    out = run(check(src), Instance({}, {"w": w, "source": np.eye(5, dtype=bool)[0]}, g))
    assert out["dist"].tolist() == [0, 1, 2, 4, np.inf]


def test_design_closure():
    src = """program closure(g: graph) -> pair[bool] {
        r[i, j] = i == j or edge(i, j)
        repeat ceil(log2(n)) {
            r[i, j] = any(r[i, k] and r[k, j] for k in nodes)
        }
        return r
    }"""
    # a path 0 -> 1 -> 2 -> 3 -> 4 needs three squarings: ceil(log2(5)) = 3
    out = run(check(src), Instance({}, {}, graph(5, [[0, 1], [1, 2], [2, 3], [3, 4]])))
    assert out["r"].tolist() == [[j >= i for j in range(5)] for i in range(5)]


def test_design_parity_and_majority():
    parity = "program parity(x: bits[k]) -> bool { return reduce(xor, x) }"
    majority = """program majority(x: bits[k]) -> bool {
        return 2 * count(i for i in range(k) if x[i]) > k
    }"""
    for x in range(16):
        ones = bin(x).count("1")
        assert run_bits(parity, 4, x=x)["result"] == (ones % 2 == 1)
        assert run_bits(majority, 4, x=x)["result"] == (ones > 2)


def test_design_reverse_and_hist():
    reverse = """program reverse(tokens: seq[token]) -> seq[token] {
        out[i] = tokens[n - 1 - i]
        return out
    }"""
    hist = """program hist(tokens: seq[token]) -> seq[int] {
        h[i] = count(j for j in positions if tokens[j] == tokens[i])
        return h
    }"""
    assert run_seq(reverse, "abcb")["out"].tolist() == list("bcba")
    assert run_seq(hist, "abcb")["h"].tolist() == [1, 2, 1, 2]


def test_language_reference_frac_and_tokens():
    src = """program p(tokens: seq[token]) -> seq[frac] {
        f[i] = mean(tokens[j] == "a" for j in positions if j <= i)
        return f
    }"""
    assert run_seq(src, "aba")["f"].tolist() == [1.0, 0.5, 2 / 3]


def test_dfs_walks_in_clrs_order_and_stops_when_stable():
    src = """program dfs(g: graph, s: node) -> (node[int], node[node]) {
        visited[v] = v == s
        parent[v] = none
        disc[v] = 0 if v == s else inf
        cur = s
        t = 1
        repeat 2 * n until stable {
            nxt = argmin(u for u in out(cur) if not visited[u])
            visited[v] = visited[v] or v == nxt
            parent[v] = cur if v == nxt else parent[v]
            disc[v] = t if v == nxt else disc[v]
            t = t + 1 if nxt != none else t
            cur = nxt if nxt != none else (parent[cur] if parent[cur] != none else cur)
        }
        return disc, parent
    }"""
    g = graph(6, [[0, 2], [0, 1], [1, 3], [2, 3], [3, 0], [5, 0]])
    # untyped: the interpreter must run the stdlib's dfs whatever the checker makes of `cur`
    out, trace = run(check(src, typed=False), Instance({}, {"s": np.array(0)}, g), trace=True)
    assert out["disc"].tolist() == [0, 1, 3, 2, np.inf, np.inf]
    assert out["parent"].tolist() == [-1, 0, 0, 1, -1, -1]
    # 3 discoveries, 3 returns to the root, then one round that changes nothing
    assert len(trace) == 7


def test_large_graph_propagation_is_vectorised():
    src = """program bd(g: graph, source: node[bool]) -> node[int] {
        dist[v] = 0 if source[v] else inf
        repeat 10 {
            dist[v] = min(dist[v], min(dist[u] + 1 for u in in(v)))
        }
        return dist
    }"""
    n = 20_000
    nxt = (np.arange(n) + 1) % n
    g = GraphData(n, np.arange(n), nxt)
    src_ = np.zeros(n, dtype=bool)
    src_[0] = True
    dist = run(check(src), Instance({}, {"source": src_}, g))["dist"]
    want = np.where(np.arange(n) <= 10, np.arange(n), np.inf)
    assert np.array_equal(dist, want)


def test_unused_binder_domain_from_the_binder():
    src = """program p(x: bits[k]) -> vec[int, k + 2] {
        s[i in range(k + 2)] = i * i
        return s
    }"""
    assert run_bits(src, 2, x=0)["s"].tolist() == [0, 1, 4, 9]


# ---------------------------------------------------------------- in(x) / out(x) of a pointer

POINTER_IN = """program p(g: graph, w: node[int[0..9]]) -> (node[node], node[int], node[int],
                                                 node[int], node[bool], node[node]) {
    best[v] = argmin(w[u] for u in in(v))
    deg[v] = count(u for u in in(best[v]))
    low[v] = min(w[u] for u in out(best[v]))
    s[v] = sum(w[u] for u in in(best[v]))
    every[v] = all(w[u] > 100 for u in out(best[v]))
    far[v] = argmax(w[u] for u in in(best[v]))
    return best, deg, low, s, every, far
}"""


def test_in_and_out_of_a_pointer_follow_it_and_of_none_are_empty():
    # node 0 has no in-edge, so best[0] is none and every aggregation over in(none) / out(none)
    # gives its identity; node 1's best is 0, node 2's best is 1 (w 3 beats w 5)
    g = graph(3, [[0, 1], [1, 2], [0, 2]])
    out = run(check(POINTER_IN), Instance({}, {"w": np.array([5.0, 3.0, 1.0])}, g))
    assert out["best"].tolist() == [-1, 0, 1]
    assert out["deg"].tolist() == [0, 0, 1]
    assert out["low"].tolist() == [np.inf, 1, 1]
    assert out["s"].tolist() == [0, 0, 5]
    assert out["every"].tolist() == [True, False, False]
    assert out["far"].tolist() == [-1, -1, 0]


def test_in_of_the_none_literal_is_empty():
    src = """program p(g: graph) -> (int, int) {
        return count(u for u in in(none)), min(u for u in out(none))
    }"""
    out = run(check(src), Instance({}, {}, graph(2, [[0, 1], [1, 0]])))
    assert list(out.values()) == [0, np.inf]


def test_in_of_an_integer_outside_the_nodes_is_still_an_error():
    src = """program p(g: graph) -> int {
        return count(u for u in in(n))
    }"""
    raises("out-of-domain", run, check(src, typed=False), Instance({}, {}, graph(2, [])))
