"""Value ranges: the headline bounds come out exactly, loops are solved in closed form, and every
value the interpreter computes on random inputs lies inside the reported interval."""
from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strategies as S
from nclang.compiler.analysis.ranges import F32_EXACT, size_symbol, value_ranges
from nclang.dsl.checker import check_source
from nclang.dsl.interpreter import run
from nclang.dsl.jsonio import decode

n, m, k = size_symbol("n"), size_symbol("m"), size_symbol("k")


def same(a, b) -> bool:
    return sp.simplify(sp.sympify(a) - sp.sympify(b)) == 0


@functools.cache
def analyse(text: str):
    (checked,) = check_source(text, "<test>")
    return checked, value_ranges(checked)


@functools.cache
def analyse_stdlib(name: str):
    checked = S.checked(name)
    return checked, value_ranges(checked)


BELLMAN_FORD = """
program bellman_ford(g: graph, w: edge[int[0..{W}]], source: node[bool]) -> node[int] {{
    dist[v] = 0 if source[v] else inf
    repeat n - 1 {{
        dist[v] = min(dist[v], min(dist[u] + w[u, v] for u in in(v)))
    }}
    return dist
}}
"""

# the same algorithm with every name changed: the analysis must not care
RENAMED = """
program relax(h: graph, cost: edge[int[0..{W}]], start: node[bool]) -> node[int] {{
    best[x] = 0 if start[x] else inf
    repeat n - 1 {{
        best[x] = min(best[x], min(best[y] + cost[y, x] for y in in(x)))
    }}
    return best
}}
"""


# ---------------------------------------------------------------- headline results

@pytest.mark.parametrize("W", [1, 7, 1000])
@pytest.mark.parametrize("template", [BELLMAN_FORD, RENAMED])
def test_bellman_ford_reaches_n_minus_1_times_W(template, W):
    _, r = analyse(template.format(W=W))
    (dist,) = r.results
    assert same(dist.hi, W * (n - 1)) and same(dist.lo, 0)
    assert dist.pos_inf and not dist.neg_inf  # inf is kept apart from the finite bound
    assert same(r.max_value.magnitude, W * (n - 1))
    assert r.max_value.what == "assignment"


def test_stdlib_bellman_ford_and_its_float32_limit():
    _, r = analyse_stdlib("graph/bellman_ford")
    assert r.max_value.name == "dist"
    assert same(r.held["dist"].hi, 1000 * (n - 1))
    # 1000 (n - 1) < 2^24  <=>  n - 1 <= 16777
    assert r.float32_limit() == {"n": 16778}
    assert r.exact_float32({"n": 16778, "m": 40})
    assert not r.exact_float32({"n": 16779, "m": 40})
    assert r.summary() == "largest value 1000*(n - 1) (dist), exact in float32 for n <= 16778"
    assert r.overflow_message() == "dist reaches 1000*(n - 1), which passes 2^24 at n = 16779"
    assert r.overflow_message({"n": 10, "m": 3}) is None


@pytest.mark.parametrize("body", [
    "count(i for i in range(k) if x[i])",
    "sum(x[i] for i in range(k))",
    "reduce(+, x)",
])
def test_popcount_reaches_k(body):
    _, r = analyse(f"program popcount(x: bits[k]) -> int {{ return {body} }}")
    (res,) = r.results
    assert same(res.hi, k) and same(res.lo, 0) and not res.pos_inf
    assert r.float32_limit() == {"k": F32_EXACT - 1}


def test_stdlib_popcount():
    _, r = analyse_stdlib("bits/popcount")
    assert same(r.results[0].hi, k)
    assert same(r.max_abs, k)


def test_bfs_distance_is_at_most_n_minus_1_or_inf():
    _, r = analyse_stdlib("graph/bfs_distance")
    dist = r.variables["dist"]
    assert same(dist.hi, n - 1) and same(dist.lo, 0) and dist.pos_inf


def test_list_ranking_rank_is_linear_in_n():
    _, r = analyse_stdlib("graph/list_ranking")
    hi = r.variables["rank"].hi
    # the real bound is n - 1; pointer jumping doubles for ceil(log2 n) rounds: 2^ceil(log2 n) < 2n
    assert sp.limit(hi / n, n, sp.oo).is_finite
    for size in (1, 2, 3, 5, 8, 100, 1000):
        assert hi.subs(n, size) >= size - 1


def test_renamed_program_gets_the_same_bounds():
    _, a = analyse(BELLMAN_FORD.format(W=1000))
    _, b = analyse(RENAMED.format(W=1000))
    assert same(a.max_abs, b.max_abs)
    assert a.float32_limit() == b.float32_limit()


# ---------------------------------------------------------------- loops

def loop_bound(body: str, init: str = "s = 0", count: str = "k", result: str = "s"):
    _, r = analyse(f"program p(x: bits[k]) -> int {{ {init} repeat {count} {{ {body} }} "
                   f"return {result} }}")
    return r


def test_additive_growth():
    assert same(loop_bound("s = s + 3").variables["s"].hi, 3 * k)


def test_nested_loops_multiply():
    assert same(loop_bound("repeat k { s = s + 1 }").variables["s"].hi, k ** 2)


def test_geometric_growth():
    r = loop_bound("s = 2 * s", init="s = 1")
    assert same(r.variables["s"].hi, 2 ** k)
    assert r.float32_limit() == {"k": 23}


def test_doubling_for_log_rounds_is_linear():
    r = loop_bound("s = s + s", init="s = 1", count="ceil(log2(k))")
    assert same(r.variables["s"].hi, 2 * k - 1)


def test_fixpoint_and_max_of_growing_value():
    r = loop_bound("i = i + 1\n t = max(t, i)", init="i = 0 t = 0", result="t")
    assert same(r.variables["t"].hi, k) and same(r.variables["i"].hi, k)
    assert same(loop_bound("s = min(s, 5)", init="s = 2").variables["s"].hi, 2)


def test_decreasing_lower_bound():
    r = loop_bound("s = s - 2")
    assert same(r.variables["s"].lo, -2 * k) and same(r.variables["s"].hi, 0)


def test_value_that_starts_as_inf():
    _, r = analyse("""
    program p(g: graph, w: node[int[-5..7]]) -> int {
        b = inf
        repeat n { b = min(b, sum(w[u] for u in nodes)) }
        return b
    }""")
    b = r.variables["b"]
    assert same(b.hi, 7 * n) and same(b.lo, -5 * n) and b.pos_inf


def test_unsolvable_growth_is_unbounded_and_said():
    r = loop_bound("s = s * s + 1", init="s = 2")
    assert r.variables["s"].hi == sp.oo
    assert r.notes and "not affine or geometric" in r.notes[0]
    assert r.float32_limit() == {"k": 0}
    assert "unbounded" in r.summary()


def test_degree_bound_is_m():
    _, r = analyse("""
    program deg(g: graph) -> node[int] {
        d[v] = count(u for u in in(v))
        return d
    }""")
    assert same(r.variables["d"].hi, m)
    # with m <= n^2: n^2 < 2^24
    assert r.float32_limit() == {"n": 4095}


def test_empty_min_is_inf_and_def_results_are_declared():
    _, r = analyse("""
    def clip(x: int[0..100]) -> int[0..10] { return min(x, 10) }
    program p(g: graph, w: node[int[0..100]]) -> (node[int], node[int]) {
        a[v] = min(w[u] for u in in(v))
        b[v] = clip(w[v])
        return a, b
    }""")
    a, b = r.results
    assert a.pos_inf and same(a.hi, 100)
    assert same(b.hi, 10) and not b.pos_inf


def test_every_expression_and_assignment_is_keyed():
    checked, r = analyse(BELLMAN_FORD.format(W=1000))
    from nclang.dsl import ast as A

    def walk(x):
        if isinstance(x, tuple):
            for y in x:
                yield from walk(y)
        elif hasattr(x, "__dataclass_fields__"):
            yield x
            for f in x.__dataclass_fields__:
                if "span" not in f:
                    yield from walk(getattr(x, f))
    exprs = [x for x in walk(checked.program.body) if id(x) in checked.types]
    assert exprs and all(id(e) in r.exprs for e in exprs)
    stmts = [x for x in walk(checked.program.body) if isinstance(x, (A.Assign, A.IndexedAssign))]
    assert all(id(s) in r.assignments for s in stmts)


def test_json_and_summary():
    _, r = analyse_stdlib("graph/bellman_ford")
    data = json.loads(json.dumps(r.to_json()))
    assert data["float32_limit"] == {"n": 16778}
    assert data["max_value"]["name"] == "dist"
    assert data["variables"]["dist"]["inf"] is True
    assert "\n" not in r.summary()


@pytest.mark.parametrize("name", S.family("graph") + S.family("bits") + S.family("seq"))
def test_every_stdlib_program_is_bounded(name):
    _, r = analyse_stdlib(name)
    assert not r.max_abs.has(sp.oo), (name, r.notes)
    assert not r.notes


# ---------------------------------------------------------------- soundness

def _num(e, sizes) -> float:
    v = sp.sympify(e).subs({size_symbol(a): b for a, b in sizes.items()})
    return float(v)


def assert_within(iv, value, sizes, what):
    a = np.asarray(value)
    if iv.kind == "token" or a.dtype == object or a.size == 0:
        return
    a = a.astype(np.float64).ravel()
    if iv.may_none:
        a = a[a != -1]
    assert not (np.isposinf(a).any() and not iv.pos_inf), f"{what}: inf not allowed by {iv}"
    assert not (np.isneginf(a).any() and not iv.neg_inf), f"{what}: -inf not allowed by {iv}"
    fin = a[np.isfinite(a)]
    if fin.size:
        assert iv.fin, f"{what}: finite values {fin} but interval {iv}"
        lo, hi = _num(iv.lo, sizes), _num(iv.hi, sizes)
        assert lo - 1e-9 <= fin.min() and fin.max() <= hi + 1e-9, \
            f"{what}: values in [{fin.min()}, {fin.max()}] outside {iv} = [{lo}, {hi}] at {sizes}"


def check_run(checked, report, inp: dict, sizes: dict | None = None):
    instance = decode(checked, json.loads(json.dumps(inp)), sizes or {}, "<test>")
    out, trace = run(checked, instance, trace=True)
    for name, iv in zip(report.result_names, report.results):
        assert_within(iv, out[name], instance.sizes, f"result {name}")
    for snapshot in trace:
        for var, value in snapshot.items():
            assert_within(report.held[var], value, instance.sizes, f"{var} in a loop")


SOUND_GRAPH = {
    "graph/bellman_ford": S.weighted_sources_input(max_n=12),
    "graph/bfs_distance": S.sources_input(max_n=12),
    "graph/connected_components": S.graph_input(max_n=12),
    "graph/list_ranking": S.list_input(max_n=16),
    "graph/dfs": S.dfs_input(max_n=10),
    "graph/apsp": S.weighted_graph_input(max_n=6),
}


@pytest.mark.parametrize("name", sorted(SOUND_GRAPH))
def test_graph_values_lie_in_their_ranges(name):
    checked, report = analyse_stdlib(name)

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(SOUND_GRAPH[name])
    def prop(inp):
        check_run(checked, report, inp)

    prop()


SOUND_BITS = ["bits/popcount", "bits/add", "bits/add_ripple", "bits/multiply", "bits/majority"]


@pytest.mark.parametrize("name", SOUND_BITS)
def test_bits_values_lie_in_their_ranges(name):
    checked, report = analyse_stdlib(name)
    names = [p.name for p in checked.program.params]

    @settings(max_examples=10, deadline=None)
    @given(st.integers(1, 12).flatmap(
        lambda w: st.tuples(st.just(w), st.tuples(*(S.unsigned(w) for _ in names)))))
    def prop(case):
        width, values = case
        check_run(checked, report, dict(zip(names, values)), {"k": width})

    prop()


INLINE = [
    """program grow(x: bits[k]) -> (int, int, int) {
        s = 1
        t = 0
        c = 0
        repeat k {
            s = 2 * s - (1 if x[0] else 0)
            repeat k { t = t + (1 if x[c % k] else 0) }
            c = c + 1
        }
        return s, t, c
    }""",
    """program prefix(x: bits[k]) -> vec[int, k] {
        v[i] = 3 if x[i] else -2
        p = scan(+, v)
        q[i] = max(p[i], 0) - min(p[i], 0)
        return q
    }""",
]


@pytest.mark.parametrize("text", INLINE)
def test_inline_values_lie_in_their_ranges(text):
    checked, report = analyse(text)

    @settings(max_examples=10, deadline=None)
    @given(st.integers(1, 10).flatmap(lambda w: st.tuples(st.just(w), S.unsigned(w))))
    def prop(case):
        width, x = case
        check_run(checked, report, {"x": x}, {"k": width})

    prop()


def _check_runs_on(checked, report, strategy):
    @settings(max_examples=15, deadline=None)
    @given(strategy)
    def prop(inp):
        check_run(checked, report, inp)

    prop()


def test_seq_values_lie_in_their_ranges():
    for name in ("seq/hist", "seq/dyck1", "seq/length"):
        checked, report = analyse_stdlib(name)
        _check_runs_on(checked, report, S.dyck_seqs() if "dyck" in name else S.token_seqs())


def test_exactness_threshold_is_strict():
    _, r = analyse("program p(x: bits[k]) -> int { return k * 0 + 16777216 }")
    assert r.value_at({"k": 3}) == F32_EXACT and not r.exact_float32({"k": 3})
    _, r = analyse("program p(x: bits[k]) -> int { return 16777215 }")
    assert r.exact_float32({"k": 3}) and r.float32_limit() == {}
    assert "every size" in r.summary()
    assert math.isinf(analyse("program p(x: bits[k], y: int[0..inf]) -> int { return y }")[1]
                      .value_at({"k": 1}))
