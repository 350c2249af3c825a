"""The static checker: every error kind with its exact position and code, and the DESIGN.md
example programs checking cleanly with the expected families, output names and types."""
import textwrap
import typing

import pytest

from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.checker import check_source, select_program
from nclang.dsl.diagnostics import NclError

FILE = "t.ncl"

EXAMPLES = """
program bfs(g: graph, source: node[bool]) -> node[bool] {
    reached = source
    repeat n - 1 {
        reached[v] = reached[v] or any(reached[u] for u in in(v))
    }
    return reached
}

program bellman_ford(g: graph, w: edge[int[0..1000]], source: node[bool]) -> node[int] {
    dist[v] = 0 if source[v] else inf
    repeat n - 1 {
        dist[v] = min(dist[v], min(dist[u] + w[u, v] for u in in(v)))
    }
    return dist
}

program closure(g: graph) -> pair[bool] {
    r[i, j] = i == j or edge(i, j)
    repeat ceil(log2(n)) {
        r[i, j] = any(r[i, k] and r[k, j] for k in nodes)
    }
    return r
}

program parity(x: bits[k]) -> bool {
    return reduce(xor, x)
}

program majority(x: bits[k]) -> bool {
    return 2 * count(i for i in range(k) if x[i]) > k
}

program reverse(tokens: seq[token]) -> seq[token] {
    out[i] = tokens[n - 1 - i]
    return out
}

program hist(tokens: seq[token]) -> seq[int] {
    h[i] = count(j for j in positions if tokens[j] == tokens[i])
    return h
}
"""

ADD = """
def carry(x: int[0..2], y: int[0..2]) -> int[0..2] {
    return x if y == 1 else y
}

program add(a: bits[k], b: bits[k]) -> bits[k + 1] {
    st[i] = 2 if a[i] and b[i] else (1 if a[i] xor b[i] else 0)
    c = scan(carry, st)
    s[i in range(k + 1)] = (i < k and (a[i] xor b[i])) xor (i > 0 and c[i - 1] == 2)
    return s
}
"""


def check(src: str):
    return check_source(textwrap.dedent(src), FILE)


def errors(src: str) -> list[tuple[str, int, int, str]]:
    with pytest.raises(NclError) as info:
        check(src)
    return [(d.file, d.line, d.col, d.code) for d in info.value.diagnostics]


def error(src: str) -> tuple[int, int, str]:
    found = errors(src)
    assert len(found) == 1, found
    return found[0][1:]


def message(src: str) -> str:
    with pytest.raises(NclError) as info:
        check(src)
    return info.value.diagnostics[0].message


def by_name(src: str):
    return {c.program.name: c for c in check(src)}


# ---------------------------------------------------------------- the design examples

def test_design_examples_check_with_their_families_and_output_names():
    checked = by_name(EXAMPLES)
    expected = {
        "bfs": ("graph", ("reached",), {"n", "m"}),
        "bellman_ford": ("graph", ("dist",), {"n", "m"}),
        "closure": ("graph", ("r",), {"n", "m"}),
        "parity": ("bits", ("result",), {"k"}),
        "majority": ("bits", ("result",), {"k"}),
        "reverse": ("seq", ("out",), {"n"}),
        "hist": ("seq", ("h",), {"n"}),
    }
    assert {name: (c.family, c.result_names, set(c.size_vars))
            for name, c in checked.items()} == expected


def test_every_expression_of_the_examples_has_a_type():
    exprs = typing.get_args(A.Expr)
    for c in check(EXAMPLES + ADD):
        def walk(node):
            if isinstance(node, tuple):
                for x in node:
                    yield from walk(x)
            elif hasattr(node, "__dataclass_fields__") and not isinstance(node, A.Span):
                yield node
                for name in node.__dataclass_fields__:
                    yield from walk(getattr(node, name))
        missing = [n for n in walk(c.program.body) if isinstance(n, exprs) and id(n) not in c.types]
        assert missing == [], c.program.name


def test_bellman_ford_dist_is_a_node_field_of_ints_that_may_be_inf():
    c = by_name(EXAMPLES)["bellman_ford"]
    assert c.var_types["dist"] == T.Field((T.NODE,), T.Int(0, T.INF))
    assert c.var_types["w"] == T.Field((T.EDGE,), T.Int(0, 1000))


def test_bfs_reached_is_a_node_field_of_bools():
    c = by_name(EXAMPLES)["bfs"]
    assert c.var_types["reached"] == T.Field((T.NODE,), T.Bool())


def test_closure_assigns_a_pair_field_and_its_comprehension_ranges_over_nodes():
    c = by_name(EXAMPLES)["closure"]
    assert c.var_types["r"] == T.Field((T.NODE, T.NODE), T.Bool())
    loop = c.program.body[1]
    inner = loop.body[0]
    assert c.assign_axes[id(inner)] == (T.NODE, T.NODE)
    assert [c.binder_axes[id(b)] for b in inner.binders] == [T.NODE, T.NODE]
    assert c.comp_axes[id(inner.value)] == T.NODE


def test_hist_counts_are_non_negative_ints_over_positions():
    c = by_name(EXAMPLES)["hist"]
    h = c.var_types["h"]
    assert h.axes == (T.POS,) and isinstance(h.elem, T.Int) and h.elem.lo == 0


def test_majority_and_parity_return_bools():
    checked = by_name(EXAMPLES)
    for name in ("majority", "parity"):
        ret = checked[name].program.body[-1]
        assert checked[name].type_of(ret.values[0]) == T.Bool()


def test_reverse_binder_defaults_to_positions():
    c = by_name(EXAMPLES)["reverse"]
    assert c.var_types["out"] == T.Field((T.POS,), T.Token())


def test_add_scans_an_associative_def_and_uses_named_range_domains():
    c = by_name(ADD)["add"]
    k = A.Name("k")
    assert c.var_types["st"] == T.Field((T.Axis("range", k),), T.Int(0, 2))
    assert c.var_types["c"] == T.Field((T.Axis("range", k),), T.Int(0, 2))
    k1 = A.BinOp("+", A.Name("k"), A.IntLit(1))
    assert c.var_types["s"] == T.Field((T.Axis("range", k1),), T.Bool())
    assert set(c.defs) == {"carry"}


def test_loop_carried_counter_is_widened_not_iterated():
    c = by_name("""
        program p(x: bits[k]) -> int {
            c = 0
            repeat k { c = c + 1 }
            return c
        }
    """)["p"]
    assert c.var_types["c"] == T.Int(0, None)


def test_argmin_gives_an_optional_node_and_none_joins_into_it():
    c = by_name("""
        program p(g: graph, s: node[bool]) -> (node[node], node[node]) {
            a[v] = argmin(u for u in in(v))
            b[v] = v if s[v] else none
            return a, b
        }
    """)["p"]
    assert c.var_types["a"] == T.Field((T.NODE,), T.Index(T.NODE, True))
    assert c.var_types["b"] == T.Field((T.NODE,), T.Index(T.NODE, True))
    assert c.result_names == ("a", "b")


def test_non_name_results_in_a_tuple_are_numbered():
    c = by_name("""
        program p(x: bits[k]) -> (bool, int, bool) {
            y = true
            return reduce(or, x), k + 1, y
        }
    """)["p"]
    assert c.result_names == ("result1", "result2", "y")


def test_variable_first_assigned_in_a_repeat_that_always_runs_is_usable_after_it():
    check("""
        program p(g: graph) -> node[bool] {
            repeat n { t[v] = true }
            return t
        }
    """)


# ---------------------------------------------------------------- select_program

def test_select_program_picks_the_only_program_or_the_named_one():
    checked = check(EXAMPLES)
    assert select_program(checked, "hist", FILE).program.name == "hist"
    assert select_program(checked[:1], None, FILE).program.name == "bfs"


@pytest.mark.parametrize("name, code, text", [
    (None, "ambiguous-program", "7 programs (bfs, bellman_ford, closure, parity, majority, "
                                "reverse, hist); pass --program NAME"),
    ("hits", "unknown-program", "did you mean 'hist'?"),
])
def test_select_program_errors(name, code, text):
    with pytest.raises(NclError) as info:
        select_program(check(EXAMPLES), name, FILE)
    (d,) = info.value.diagnostics
    assert (d.file, d.code) == (FILE, code) and text in d.message


def test_select_program_in_a_file_without_programs_is_an_error():
    with pytest.raises(NclError) as info:
        select_program([], None, FILE)
    assert info.value.diagnostics[0].code == "no-program"


# ---------------------------------------------------------------- errors, one kind each

def test_unknown_name_suggests_a_close_variable():
    src = """
        program p(g: graph, source: node[bool]) -> node[bool] {
            reached = source
            r[v] = reachd[v]
            return r
        }
    """
    assert error(src) == (4, 12, "unknown-name")
    assert "did you mean 'reached'?" in message(src)


def test_unknown_function_suggests_a_def():
    src = """
        def carry(x: bool, y: bool) -> bool { return x }
        program p(x: bits[k]) -> bool { return cary(x[0], x[1]) }
    """
    assert error(src) == (3, 40, "unknown-name")
    assert "did you mean 'carry'?" in message(src)


def test_variable_used_before_assignment():
    assert error("""
        program p(x: bits[k]) -> int {
            y = z + 1
            z = 2
            return y
        }
    """) == (3, 9, "unassigned")


def test_variable_assigned_only_in_a_repeat_that_may_not_run_is_unassigned_after_it():
    src = """
        program p(g: graph) -> node[bool] {
            repeat n - 1 { t[v] = true }
            return t
        }
    """
    assert error(src) == (4, 12, "unassigned")
    assert "may run zero times" in message(src)


def test_binder_may_not_shadow_a_size_variable():
    assert error("""
        program p(g: graph) -> node[bool] {
            t[n] = true
            return t
        }
    """) == (3, 7, "shadowing")


def test_comprehension_variable_may_not_shadow_a_parameter():
    assert error("""
        program p(g: graph, s: node[bool]) -> node[bool] {
            t[v] = any(true for s in in(v))
            return t
        }
    """) == (3, 25, "shadowing")


def test_duplicate_parameter():
    assert error("""
        program p(x: bits[k], x: bits[k]) -> bool { return true }
    """) == (2, 23, "duplicate-name")


def test_duplicate_program_and_def_names():
    assert errors("""
        def f(x: bool) -> bool { return x }
        program f(x: bits[k]) -> bool { return true }
    """) == [(FILE, 3, 9, "duplicate-name")]


def test_graph_and_sequence_parameters_cannot_mix():
    assert error("""
        program p(g: graph, tokens: seq[token]) -> bool { return true }
    """) == (2, 9, "mixed-family")


def test_node_fields_need_a_graph_parameter():
    assert error("""
        program p(s: node[bool]) -> node[bool] { return s }
    """) == (2, 9, "missing-graph")


def test_nodes_domain_only_in_graph_programs():
    assert error("""
        program p(tokens: seq[token]) -> int {
            return count(i for i in nodes)
        }
    """) == (3, 29, "wrong-family")


def test_edge_builtin_only_in_graph_programs():
    assert error("""
        program p(x: bits[k]) -> bool { return edge(0, 1) }
    """) == (2, 40, "wrong-family")


def test_repeat_count_must_be_a_size_expression():
    src = """
        program p(g: graph) -> node[bool] {
            t[v] = true
            repeat n / 2 { t[v] = true }
            return t
        }
    """
    assert error(src) == (4, 12, "bad-size")


def test_a_variable_is_not_a_size():
    assert error("""
        program p(x: bits[k]) -> bool {
            c = 3
            y[i in range(c)] = true
            return reduce(or, y)
        }
    """) == (4, 18, "bad-size")


def test_ceil_outside_a_size_expression():
    assert error("""
        program p(x: bits[k]) -> int { return ceil(k) }
    """) == (2, 39, "size-only")


def test_and_needs_bools():
    assert error("""
        program p(x: bits[k]) -> bool { return x[0] and 3 }
    """) == (2, 49, "type-mismatch")


def test_if_else_branches_must_agree():
    assert error("""
        program p(x: bits[k]) -> int { return 1 if x[0] else true }
    """) == (2, 39, "type-mismatch")


def test_tokens_compare_only_for_equality_with_tokens():
    assert error("""
        program p(tokens: seq[token]) -> seq[bool] {
            b[i] = tokens[i] == 3
            return b
        }
    """) == (3, 12, "type-mismatch")


def test_a_whole_field_is_not_a_single_value():
    src = """
        program p(x: bits[k]) -> bool { return not x }
    """
    assert error(src) == (2, 44, "type-mismatch")
    assert "index it" in message(src)


def test_index_count_must_match_the_axes():
    assert error("""
        program p(g: graph, s: node[bool]) -> node[bool] {
            t[v] = s[v, v]
            return t
        }
    """) == (3, 12, "arity")


def test_def_call_arity():
    assert error("""
        def f(a: bool, b: bool) -> bool { return a }
        program p(x: bits[k]) -> bool { return f(x[0]) }
    """) == (3, 40, "arity")


def test_a_range_index_cannot_index_a_node_field():
    src = """
        program p(g: graph, s: node[bool]) -> vec[bool, 4] {
            t[i in range(4)] = s[i]
            return t
        }
    """
    assert error(src) == (3, 26, "wrong-domain")
    assert "a range index cannot index node[bool] 's'" in message(src)


def test_a_node_index_cannot_index_a_vector():
    assert error("""
        program p(g: graph, b: vec[bool, 4]) -> node[bool] {
            t[v] = b[v]
            return t
        }
    """) == (3, 14, "wrong-domain")


def test_edge_fields_are_read_only_through_in_or_out():
    src = """
        program p(g: graph, w: edge[int[0..9]]) -> node[int] {
            t[v] = sum(w[v, u] for u in in(v))
            return t
        }
    """
    assert error(src) == (3, 16, "edge-index")
    assert "w[u, v] inside 'for u in in(v)'" in message(src)


def test_edge_fields_through_out_are_indexed_source_first():
    check("""
        program p(g: graph, w: edge[int[0..9]]) -> node[int] {
            t[v] = sum(w[v, u] for u in out(v))
            return t
        }
    """)


def test_unknown_aggregation_suggests_one():
    src = """
        program p(g: graph) -> int { return summ(1 for v in nodes) }
    """
    assert error(src) == (2, 37, "unknown-aggregation")
    assert "did you mean 'sum'?" in message(src)


def test_fold_over_a_pair_field():
    assert error("""
        program p(g: graph) -> bool {
            r[i, j] = true
            return reduce(and, r)
        }
    """) == (4, 24, "bad-fold")


def test_fold_with_a_non_associative_def_gives_a_counterexample():
    src = """
        def dist(x: int[0..3], y: int[0..3]) -> int[0..3] {
            return x - y if x > y else y - x
        }
        program p(g: graph, s: node[int[0..3]]) -> int { return reduce(dist, s) }
    """
    assert error(src) == (5, 64, "not-associative")
    assert message(src) == ("operator 'dist' is not associative: dist(dist(a, b), c) = 2 but "
                            "dist(a, dist(b, c)) = 0 for (a, b, c) = (1, 1, 2)")


def test_fold_operator_over_too_many_values_is_refused():
    src = """
        def mx(x: int[0..1000], y: int[0..1000]) -> int[0..1000] { return max(x, y) }
        program p(g: graph, s: node[int[0..1000]]) -> int { return reduce(mx, s) }
    """
    assert error(src) == (3, 67, "associativity-unchecked")
    assert "1001 values" in message(src)


def test_fold_operator_leaving_its_type_is_reported():
    src = """
        def inc(x: int[0..3], y: int[0..3]) -> int[0..3] { return x + y }
        program p(g: graph, s: node[int[0..3]]) -> int { return reduce(inc, s) }
    """
    assert error(src) == (3, 64, "operator-error")
    assert message(src) == "'inc(1, 3)' = 4, outside its result type int[0..3]"


def test_inf_cannot_be_passed_to_a_bounded_def_parameter():
    assert error("""
        def f(a: int[0..9]) -> int[0..9] { return a }
        program p(g: graph, s: node[bool]) -> node[int] {
            d[v] = f(0 if s[v] else inf)
            return d
        }
    """) == (4, 14, "inf-not-allowed")


def test_inf_cannot_be_returned_from_a_bounded_def():
    assert error("""
        def f(a: int[0..9]) -> int[0..9] { return inf }
        program p(x: bits[k]) -> bool { return true }
    """) == (2, 43, "inf-not-allowed")


def test_program_result_that_may_be_inf_needs_a_type_allowing_it():
    src = """
        program p(x: bits[k]) -> int[0..100] {
            return min(i for i in range(k) if x[i])
        }
    """
    assert error(src) == (3, 12, "inf-not-allowed")


def test_program_without_return():
    assert error("""
        program p(x: bits[k]) -> bool {
            y = true
        }
    """) == (2, 9, "missing-return")


def test_return_inside_repeat():
    assert errors("""
        program p(x: bits[k]) -> bool {
            repeat k { return true }
        }
    """) == [(FILE, 3, 16, "misplaced-return")]


def test_return_before_the_end():
    assert error("""
        program p(x: bits[k]) -> bool {
            return true
            y = 1
        }
    """) == (3, 5, "misplaced-return")


def test_returned_value_count_must_match_the_results():
    assert error("""
        program p(x: bits[k]) -> bool { return true, false }
    """) == (2, 33, "result-count")


def test_returned_type_must_match_the_result():
    assert error("""
        program p(x: bits[k]) -> bool { return 3 }
    """) == (2, 40, "type-mismatch")


def test_unknown_declared_class():
    src = """
        program p(x: bits[k]) -> bool in NC9x { return true }
    """
    assert error(src) == (2, 34, "unknown-class")
    assert "did you mean 'NC'?" in message(src)


def test_binder_needs_a_domain_when_bit_widths_differ():
    assert error("""
        program p(a: bits[k], b: bits[j]) -> bool {
            t[i] = true
            return reduce(or, t)
        }
    """) == (3, 7, "no-default-domain")


def test_parameter_int_needs_bounds():
    assert error("""
        program p(g: graph, s: node[int]) -> bool { return true }
    """) == (2, 29, "bad-type")


def test_def_may_not_recurse():
    assert error("""
        def f(x: bool) -> bool { return f(x) }
    """) == (2, 33, "recursion")


def test_def_body_holds_only_assignments_and_a_return():
    assert error("""
        def f(x: bool) -> bool {
            repeat 3 { y = x }
            return x
        }
    """) == (3, 5, "def-body")


def test_reassignment_keeps_the_shape():
    assert error("""
        program p(g: graph) -> int {
            t[v] = true
            t = 3
            return t
        }
    """) == (4, 5, "shape-mismatch")


def test_parameters_cannot_be_assigned():
    assert error("""
        program p(g: graph, s: node[bool]) -> node[bool] {
            s[v] = true
            return s
        }
    """) == (3, 5, "assign-to-param")


def test_only_fields_are_indexed():
    assert error("""
        program p(x: bits[k]) -> bool {
            y = true
            return y[0]
        }
    """) == (4, 12, "not-a-field")


def test_every_error_in_a_file_is_reported_sorted_by_position():
    assert errors("""
        program a(g: graph, s: node[bool]) -> node[bool] {
            t[v] = s[v] and 3
            u[v] = nope[v]
            repeat n {
                t[v] = t[v] or any(t[w] for w in nodes) and q
            }
            return t
        }
        program b(x: bits[k]) -> bool in XX {
            return edge(1, 2)
        }
    """) == [
        (FILE, 3, 21, "type-mismatch"),
        (FILE, 4, 12, "unknown-name"),
        (FILE, 6, 53, "unknown-name"),
        (FILE, 10, 34, "unknown-class"),
        (FILE, 11, 12, "wrong-family"),
    ]


def test_an_error_in_a_widened_loop_is_reported_once():
    assert errors("""
        program p(x: bits[k]) -> int {
            c = 0
            repeat k { c = c + 1 + bad }
            return c
        }
    """) == [(FILE, 4, 28, "unknown-name")]


@pytest.mark.parametrize("op", ["+", "-", "*", "//", "%"])
@pytest.mark.parametrize("a, b", [((0, 3), (1, 4)), ((-5, 2), (-3, -1)), ((-4, 6), (-2, 3)),
                                  ((2, 2), (5, 7))])
def test_integer_ranges_hold_every_value_and_are_exact_for_plus_minus_times(op, a, b):
    src = f"""
        program p(a: int[{a[0]}..{a[1]}], b: int[{b[0]}..{b[1]}]) -> int {{
            return a {op} b
        }}
    """
    c = by_name(src)["p"]
    got = c.type_of(c.program.body[-1].values[0])
    values = [eval(f"x {op} y") for x in range(a[0], a[1] + 1) for y in range(b[0], b[1] + 1)
              if not (op in ("//", "%") and y == 0)]
    assert got.lo is None or got.lo <= min(values)
    assert got.hi is None or got.hi >= max(values)
    if op in "+-*":
        assert (got.lo, got.hi) == (min(values), max(values))


# ---------------------------------------------------------------- in(x) / out(x) of a pointer

def test_in_and_out_accept_a_node_that_may_be_none():
    check("""
        program p(g: graph, w: node[int[0..9]]) -> (node[int], node[int], int) {
            best[v] = argmin(w[u] for u in in(v))
            deg[v] = count(u for u in in(best[v]))
            low[v] = min(w[u] for u in out(best[v]))
            return deg, low, count(u for u in in(none))
        }
    """)


@pytest.mark.parametrize("of, shown", [("true", "bool"), ("w[v]", "int[0..9]")])
def test_in_still_rejects_what_is_not_a_node(of, shown):
    src = f"""
        program p(g: graph, w: node[int[0..9]]) -> node[int] {{
            r[v] = count(u for u in in({of}))
            return r
        }}
    """
    assert error(src) == (3, 32, "wrong-domain")
    assert f"take a node, not {shown}" in message(src)


# ---------------------------------------------------------------- reserved parameter names

@pytest.mark.parametrize("params, col, text", [
    ("g: graph, n: node[bool]", 21, "'n': a graph program's input already uses the key \"n\""),
    ("g: graph, edges: edge[bool]", 21, "the key \"edges\" for the edge list"),
    ("g: graph, m: int[0..3]", 21, "'m': m is a size variable"),
    ("tokens: seq[token], n: int[0..3]", 31, "'n': n is a size variable"),
    ("x: bits[w], w: int[0..3]", 23, "'w': w is a size variable"),
    ("x: bits[k], k: bool", 23, "'k': k is a size variable"),
    ("x: bits[w], n: bool", 23, "'n': n is a size variable"),
])
def test_parameter_named_like_an_input_key_or_a_size_is_reserved(params, col, text):
    src = f"""
        program p({params}) -> bool {{ return true }}
    """
    assert error(src) == (2, col, "reserved-name")
    assert text in message(src) and "choose another name" in message(src)


def test_def_parameters_may_use_size_names():
    check("""
        def f(n: int[0..3], k: int[0..3]) -> int[0..6] { return n + k }
        program p(x: bits[k]) -> int { return f(1, 2) }
    """)
