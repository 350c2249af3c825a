"""Cost formulas and complexity classes: stdlib expectations, structure over names, declared
classes and hints."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
import sympy

from nclang.compiler import ir
from nclang.compiler.analysis import analyse
from nclang.compiler.analysis.classify import grows_like, polylog_degree
from nclang.dsl.checker import check_source

STDLIB = Path(__file__).resolve().parents[1] / "stdlib"
n, k = ir.N, ir.K
log_n, log_k = sympy.log(n), sympy.log(k)


@lru_cache(maxsize=None)
def stdlib(path: str):
    file = STDLIB / path
    text = file.read_text()
    (checked,) = check_source(text, str(file))
    return analyse(checked, text)


def inline(text: str):
    (checked,) = check_source(text, "<test>")
    return analyse(checked, text)


BFS = """
program {name}(g: graph, source: node[bool]) -> node[bool] {{
    reached = source
    repeat {count} until stable {{
        reached[v] = reached[v] or any(reached[u] for u in in(v))
    }}
    return reached
}}
"""


@pytest.mark.parametrize("path, cls", [
    ("graph/closure.ncl", "NC2"),
    ("graph/apsp.ncl", "NC2"),
    ("bits/parity.ncl", "NC1"),
    ("bits/majority.ncl", "TC0"),
    ("bits/add.ncl", "NC1"),
    ("graph/bfs.ncl", "not in NC"),
    ("graph/bellman_ford.ncl", "not in NC"),
    ("graph/connected_components.ncl", "not in NC"),
    ("graph/dfs.ncl", "not in NC"),
    ("bits/add_ripple.ncl", "not in NC"),
])
def test_stdlib_program_has_its_expected_class(path, cls):
    assert stdlib(path).cls == cls


def test_parity_is_a_log_depth_tree_with_bounded_fan_in():
    a = stdlib("bits/parity.ncl")
    assert grows_like(a.depth_bounded, k, log_k)
    # as written, the xor tree stays log-depth even with threshold gates
    assert polylog_degree(a.depth_threshold, k) == 1


def test_majority_is_one_threshold_gate():
    assert stdlib("bits/majority.ncl").depth_threshold == 1


def test_add_scan_has_logarithmic_depth():
    assert grows_like(stdlib("bits/add.ncl").depth_bounded, k, log_k)


def test_add_ripple_has_linear_depth():
    assert grows_like(stdlib("bits/add_ripple.ncl").depth_bounded, k, k)


def test_list_ranking_runs_logarithmically_many_layers():
    assert grows_like(stdlib("graph/list_ranking.ncl").layers, n, log_n)


def test_closure_layers_are_one_plus_ceil_log2_n():
    a = stdlib("graph/closure.ncl")
    assert sympy.simplify(a.layers - (1 + sympy.ceiling(ir.log2(n)))) == 0
    assert grows_like(a.depth_bounded, n, log_n ** 2)


def test_not_in_nc_names_the_sequential_repeat():
    a = inline(BFS.format(name="bfs", count="n - 1"))
    assert a.cls == "not in NC"
    assert a.reason_span is not None and a.reason_span.line == 4
    assert "n - 1" in a.reason and "repeat" in a.reason


def test_a_renamed_copy_gets_the_same_analysis():
    a = inline(BFS.format(name="bfs", count="n - 1"))
    b = inline(BFS.format(name="reach_everything", count="n - 1"))
    assert (a.cls, a.layers, a.depth_bounded, a.depth_threshold, a.work) == \
        (b.cls, b.layers, b.depth_bounded, b.depth_threshold, b.work)


def test_a_logarithmic_trip_count_puts_bfs_in_nc():
    a = inline(BFS.format(name="bfs", count="ceil(log2(n))"))
    assert a.cls == "NC2" and a.reason is None


def test_nested_logarithmic_repeats_give_log_squared_layers():
    a = inline("""
program p(g: graph, x: node[bool]) -> node[bool] {
    y = x
    repeat ceil(log2(n)) {
        repeat ceil(log2(n)) {
            y[v] = y[v] or any(y[u] for u in in(v))
        }
    }
    return y
}""")
    assert grows_like(a.layers, n, log_n ** 2)


def test_a_program_of_local_ops_has_one_layer():
    a = stdlib("bits/permute.ncl")
    assert a.layers == 1 and a.cls == "AC0"


def test_count_makes_a_constant_depth_program_tc0_and_or_keeps_it_ac0():
    counted = inline("""
program p(x: bits[k]) -> bool {
    return count(i for i in range(k) if x[i]) >= 2
}""")
    ored = inline("""
program p(x: bits[k]) -> bool {
    return any(x[i] for i in range(k))
}""")
    assert (counted.cls, ored.cls) == ("TC0", "AC0")


def test_declared_class_that_the_analysis_cannot_show_is_an_error():
    a = inline(BFS.format(name="bfs", count="n - 1")
               .replace("node[bool] {", "node[bool] in NC2 {", 1))
    (diag,) = a.diagnostics
    assert diag.code == "class-mismatch" and diag.severity == "error"
    assert diag.line == 2


def test_declared_class_that_matches_gives_no_diagnostic():
    a = inline("""
program p(x: bits[k]) -> bool in NC1 {
    return reduce(xor, x)
}""")
    assert a.cls == "NC1" and not a.diagnostics


def test_declared_class_looser_than_the_analysis_is_only_a_warning():
    a = inline("""
program p(x: bits[k]) -> bool in NC {
    return reduce(xor, x)
}""")
    assert [d.severity for d in a.diagnostics] == ["warning"]


def test_hint_comes_from_the_programs_own_annotation():
    annotated = "// nc-alternative: closure\n" + BFS.format(name="anything", count="n - 1")
    assert "closure" in inline(annotated).hint
    assert inline(BFS.format(name="bfs", count="n - 1")).hint is None


def test_to_json_reports_formulas_as_text():
    doc = stdlib("graph/closure.ncl").to_json()
    assert doc["class"] == "NC2"
    assert doc["layers"] == "ceil(log2(n)) + 1"
    assert {"depth_bounded", "depth_threshold", "work", "reason", "hint"} <= set(doc)
