"""Hypothesis strategies for small WELL-TYPED programs, one per family, as source text.

tests/ast_strategies.py draws every tree the grammar allows (mostly ill-typed: it tests the
parser); these draw programs the checker accepts and the targets are meant to compile, built
from the constructions the targets implement in special ways: reads of a neighbour guarded by a
bound (`i > 0 and x[i - 1]`), aggregations over a range(R) of another length than the vector,
over nothing, with filters, reads at constant indices (`tokens[0]`, `tokens[n - 1]`), message
passing over in/out edges, self-loops (`edge(v, v)`), loops that may run no rounds. A drawn
program may still be refused by a target (with a located error); it must never miscompile.
"""
from __future__ import annotations

from hypothesis import strategies as st

# ---------------------------------------------------------------- bits: x, y: bits[k], c: int[0..7]


def _connect(leaves, depth: int):
    """Boolean expressions over `leaves`: not, and, or, xor, nested up to `depth`."""
    if depth <= 0:
        return leaves
    sub = _connect(leaves, depth - 1)
    return st.one_of(
        leaves,
        st.builds(lambda a: f"(not {a})", sub),
        st.builds(lambda o, a, b: f"({a} {o} {b})", st.sampled_from(["and", "or", "xor"]),
                  sub, sub),
    )


def _bits_bool(depth: int):
    """A Boolean expression of the bit index `i`."""
    leaves = st.sampled_from([
        "x[i]", "y[i]", "(i > 0 and x[i - 1])", "(i < k - 1 and y[i + 1])", "(i == c)",
        "(i < 2)", "(i >= c and x[i])", "(x[i] if i > 0 else y[i])", "true",
        "(i + 1 < k and x[i + 1])",
    ])
    return _connect(leaves, depth)


def _range_size():
    return st.sampled_from(["k", "0", "1", "2", "k - 1", "k // 2", "3"])


def _bits_int():
    agg = st.builds(
        lambda agg, r, b: (f"count(i for i in range({r}) if {b})" if agg == "count"
                           else f"sum({b} for i in range({r}))"),
        st.sampled_from(["count", "sum"]), _range_size(), _bits_bool(1))
    return st.one_of(agg, st.just("c"),
                     st.builds(lambda a, b: f"min({a}, {b})", agg, agg),
                     st.builds(lambda a, b: f"({a} + {b})", agg, st.sampled_from(["c", "1"])))


def _bits_result():
    q = st.builds(lambda agg, r, b: f"{agg}({b} for i in range({r}))",
                  st.sampled_from(["any", "all"]), _range_size(), _bits_bool(1))
    cmp = st.builds(lambda a, o, b: f"({a} {o} {b})", _bits_int(),
                    st.sampled_from(["<", "<=", "==", ">"]), _bits_int())
    return st.one_of(q, cmp)


@st.composite
def bits_programs(draw) -> str:
    v = draw(_bits_bool(2))
    res_b = draw(_bits_result())
    res_i = draw(_bits_int())
    use_fold = draw(st.booleans())
    body = [f"    v[i] = {v}"]
    if use_fold:
        body.append(f"    s = scan({draw(st.sampled_from(['or', 'xor', 'and']))}, v)")
        ret = "s"
        rtype = "bits[k]"
    else:
        ret, rtype = "v", "bits[k]"
    return ("program fz(x: bits[k], y: bits[k], c: int[0..7]) -> "
            f"({rtype}, bool, int) {{\n" + "\n".join(body) +
            f"\n    return {ret}, {res_b}, {res_i}\n}}\n")


# ---------------------------------------------------------------- seq: tokens: seq[int[0..3]]


def _seq_bool(depth: int):
    """A Boolean expression of the position `i`."""
    leaves = st.sampled_from([
        "(tokens[i] == 0)", "(i > 0 and tokens[i - 1] == 0)",
        "(i > 0 and tokens[i - 1] < tokens[i])",
        "(i < n - 1 and tokens[i + 1] == 3)", "(tokens[i] == tokens[0])",
        "(tokens[i] != tokens[n - 1])", "(i == 0)", "(tokens[0] == 2)",
        "(i > 1 and tokens[i - 2] == tokens[i])",
    ])
    return _connect(leaves, depth)


def _seq_int():
    return st.sampled_from([
        "tokens[i]", "(tokens[i - 1] if i > 0 else 0)", "(tokens[i + 1] if i < n - 1 else 3)",
        "count(j for j in positions if tokens[j] == tokens[i])",
        "count(j for j in positions if j < i and tokens[j] == 0)",
        "count(j for j in positions if tokens[j] == tokens[0])",
        "sum(tokens[j] for j in positions if j <= i)", "tokens[0]", "tokens[n - 1]",
        "max(tokens[j] for j in positions)", "(i + 1)",
    ])


@st.composite
def seq_programs(draw) -> str:
    b = draw(_seq_bool(2))
    a = draw(_seq_int())
    c = draw(_seq_int())
    op = draw(st.sampled_from(["min", "max"]))
    return ("program fz(tokens: seq[int[0..3]]) -> (seq[bool], seq[int]) {\n"
            f"    e[i] = {b}\n    f[i] = {op}({a}, {c})\n    return e, f\n}}\n")


# ---------------------------------------------------------------- seq: tokens: seq[token]


def _token_bool(depth: int):
    leaves = st.sampled_from([
        '(tokens[i] == "a")', '(i > 0 and tokens[i - 1] == "a")',
        '(i < n - 2 and tokens[i + 2] == "b")', '(i > 1 and tokens[i - 2] == tokens[i])',
        '(tokens[n - 1 - i] == "b")',
        'any(tokens[j] == "b" for j in positions if j < i)',
        'all(tokens[j] != tokens[i] for j in positions if j != i)',
        '(count(j for j in positions if tokens[j] == tokens[i]) > 1)',
    ])
    return _connect(leaves, depth)


@st.composite
def token_programs(draw) -> str:
    b = draw(_token_bool(2))
    c = draw(st.sampled_from([
        "count(j for j in positions if j > i and tokens[j] == tokens[i])",
        'count(j for j in positions if tokens[j] == "a" and j <= i)',
        "count(j for j in positions if tokens[j] == tokens[0])", "(n - i)"]))
    r = draw(st.sampled_from(["tokens[n - 1 - i]", "tokens[i]", "tokens[0]",
                              '(tokens[i - 1] if i > 0 else "z")']))
    return ("program fz(tokens: seq[token]) -> (seq[bool], seq[int], seq[token]) {\n"
            f"    e[i] = {b}\n    f[i] = {c}\n    r[i] = {r}\n    return e, f, r\n}}\n")


# -------------------------------------------------------- graph: s: node[bool], w: node[int[0..5]]


def _graph_bool(depth: int):
    leaves = st.sampled_from([
        "s[v]", "any(s[u] for u in in(v))", "all(s[u] for u in out(v))", "edge(v, v)",
        "(count(u for u in in(v)) == 0)", "any(w[u] > w[v] for u in in(v))",
        "(sum(w[u] for u in out(v)) > 3)", "(w[v] == 0)",
    ])
    return _connect(leaves, depth)


@st.composite
def graph_programs(draw) -> str:
    init = draw(_graph_bool(1))
    step = draw(_graph_bool(1)).replace("s[", "r[")
    count = draw(st.sampled_from(["n - 1", "1", "0", "ceil(log2(n))", "n"]))
    tmp = draw(st.booleans())
    if tmp:  # a variable first assigned inside the loop, which may run no rounds
        loop = (f"        t[v] = {step}\n        r[v] = r[v] or t[v]\n")
    else:
        loop = f"        r[v] = r[v] or {step}\n"
    return ("program fz(g: graph, s: node[bool], w: node[int[0..5]]) -> (node[bool], node[int]) {\n"
            f"    r[v] = {init}\n    repeat {count} {{\n{loop}    }}\n"
            "    d[v] = count(u for u in in(v) if r[u])\n    return r, d\n}\n")


FAMILIES = {"bits": bits_programs, "seq": seq_programs, "tokens": token_programs,
            "graph": graph_programs}
