"""The lowering is correct: on every stdlib program and every docs program, the lowered IR run by
`ir.evaluate` gives exactly what the reference interpreter gives, on every input the interpreter
accepts — without any target, so that a lowering bug shows here and not as a miscompile of
one target.

Each program is checked and lowered once (cached); the property then draws only inputs: the
deterministic boundary inputs of `nclang.compiler.testing.boundary`, then a bounded number drawn
by the strategies behind `nclang test` (graphs of 1..5 nodes, sequences up to 6 positions, bit
widths 4 or the docs' own), compared output by output, bit for bit.
"""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nclang.compiler import ir
from nclang.compiler.lower import lower
from nclang.compiler.testing import instance_to_json
from nclang.compiler.testing.boundary import boundary_instances, outputs_agree
from nclang.compiler.testing.inputs import instances
from nclang.dsl.checker import check_source
from nclang.dsl.diagnostics import NclError
from nclang.dsl.interpreter import run as interpret
from nclang.dsl.values import GraphData, Instance
from test_docs import EXAMPLES

STDLIB = Path(__file__).resolve().parents[1] / "stdlib"
EXAMPLES_DRAWN = 12
MAX_N = 5        # graphs
MAX_LENGTH = 6   # sequences
BOUNDARY_LIMIT = 80
DEFAULT_SIZE = 4


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    source: str
    file: str
    index: int                   # which program of the file
    sizes: tuple                 # (name, value) pairs
    runtime_error: bool = False  # a docs example that shows a run-time error


def _sizes(checked, given: dict[str, str]) -> tuple:
    sizes = {k: int(given.get(k, DEFAULT_SIZE)) for k in checked.size_vars
             if k not in ("n", "m")}
    if checked.family == "seq":
        sizes["n"] = MAX_LENGTH
    return tuple(sorted(sizes.items()))


def _cases() -> list[Case]:
    out = []
    for file in sorted(STDLIB.glob("*/*.ncl")):
        text = file.read_text()
        for i, checked in enumerate(check_source(text, str(file))):
            out.append(Case(f"{file.parent.name}/{file.name}:{checked.program.name}", text,
                            str(file), i, _sizes(checked, {})))
    for ex in EXAMPLES:
        try:
            progs = check_source(ex.source, "example.ncl")
        except NclError:
            continue  # a check-time error example: nothing to lower
        given = dict(s.split("=") for s in ex.sizes)
        for i, checked in enumerate(progs):
            out.append(Case(f"{ex.id}:{checked.program.name}", ex.source, "example.ncl", i,
                            _sizes(checked, given), ex.error is not None))
    return out


CASES = _cases()


@functools.cache
def _lowered(case: Case):
    checked = check_source(case.source, case.file)[case.index]
    return checked, lower(checked)


def _compare(case: Case, instance: Instance) -> bool:
    """Whether the interpreter accepts `instance`; AssertionError where the IR disagrees."""
    checked, program = _lowered(case)
    try:
        want = interpret(checked, instance)
    except NclError:
        return False
    got = ir.evaluate(program, instance)
    wrong = outputs_agree(checked, want, got)
    assert not wrong, (f"the IR disagrees with the interpreter on {wrong} at "
                       f"{instance_to_json(checked, instance)}: expected "
                       f"{[want[w].tolist() for w in wrong]}, got "
                       f"{[got[w].tolist() for w in wrong if w in got]}")
    return True


def test_every_stdlib_and_docs_program_is_a_case():
    files = sorted(STDLIB.glob("*/*.ncl"))
    stdlib = [c for c in CASES if c.file.endswith(".ncl") and c.file != "example.ncl"]
    assert {Path(c.file) for c in stdlib} == set(files) and len(files) >= 25
    assert len(CASES) - len(stdlib) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_lowered_ir_computes_what_the_interpreter_does(case):
    checked, _ = _lowered(case)
    sizes = dict(case.sizes)
    max_n = MAX_LENGTH if checked.family == "seq" else MAX_N
    compared = sum(_compare(case, inst) for inst in
                   boundary_instances(checked, sizes, max_n=max_n)[:BOUNDARY_LIMIT])

    @settings(max_examples=EXAMPLES_DRAWN, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def agrees(data):
        nonlocal compared
        compared += _compare(case, data.draw(instances(checked, sizes, max_n=max_n)))

    agrees()
    # only a docs example that shows a run-time error may have no input to compare on
    assert compared > 0 or case.runtime_error


def _graph(n, edges, **values):
    src = np.array([u for u, _ in edges], dtype=np.int64)
    dst = np.array([v for _, v in edges], dtype=np.int64)
    return Instance({"n": n, "m": len(edges)}, {k: np.asarray(v) for k, v in values.items()},
                    GraphData(n, src, dst))


def test_a_lowering_bug_is_a_disagreement():
    # the property is not vacuous: sending bfs's messages from each edge's target to its source
    # (lowering in(v) as out(v)) makes the IR reach backwards, which the comparison sees
    case = next(c for c in CASES if c.id == "graph/bfs.ncl:bfs")
    checked, program = _lowered(case)
    (loop,) = [op for op in program.ops if isinstance(op, ir.Loop)]
    flipped = {ir.Aggregate: {"group": "src"}, ir.EdgeGather: {"endpoints": ("dst",)}}
    body = tuple(dataclasses.replace(op, **flipped.get(type(op), {})) for op in loop.body)
    wrong = dataclasses.replace(program, ops=tuple(
        dataclasses.replace(op, body=body) if op is loop else op for op in program.ops))
    inst = _graph(3, [(0, 1), (1, 2)], source=[False, False, True])
    assert interpret(checked, inst)["reached"].tolist() == [False, False, True]
    assert ir.evaluate(program, inst)["reached"].tolist() == [False, False, True]
    assert ir.evaluate(wrong, inst)["reached"].tolist() == [True, True, True]


def test_an_until_stable_loop_runs_its_full_count_with_the_same_result():
    # bellman_ford's relaxation is stable after 2 rounds on this graph, but the IR runs all
    # n - 1 = 4 (as a network does); the results agree with the interpreter, which stops early
    case = next(c for c in CASES if c.id == "graph/bellman_ford.ncl:bellman_ford")
    checked, program = _lowered(case)
    inst = _graph(5, [(0, 1), (1, 2), (0, 2)], w=[3.0, 4.0, 9.0],
                  source=[True, False, False, False, False])
    got = ir.evaluate(program, inst)["dist"]
    assert got.tolist() == [0.0, 3.0, 7.0, np.inf, np.inf]
    assert interpret(checked, inst)["dist"].tolist() == got.tolist()


def test_evaluate_still_gives_a_size_formula_s_value():
    assert ir.evaluate(ir.N - 1, {"n": 5}) == 4.0
    assert ir.evaluate(ir.log2(ir.N), {"n": 8}) == 3.0
