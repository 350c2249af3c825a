"""The IR is the contract: a compile lowers the program once and runs each analysis once, and
every target builds from that one `Compilation` (the driver's), whichever way it is reached."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nclang.compiler import analysis, driver
from nclang.compiler import lower as lowering
from nclang.compiler.analysis import ranges
from nclang.compiler.targets import registry
from nclang.dsl.checker import check_source
from nclang.dsl.diagnostics import NclError

STDLIB = Path(__file__).resolve().parents[1] / "stdlib"
PROGRAMS = [("bits/add.ncl", {"k": 4}), ("graph/bfs.ncl", {}), ("seq/reverse.ncl", {"n": 4})]


def _calls(fn) -> dict[str, int]:
    """How often `fn()` enters the lowering and the analyses, however they are imported (the
    profiler sees the code objects themselves)."""
    watched = {lowering.lower.__code__: "lower",
               lowering._Lowerer.program.__code__: "lowerer",
               analysis.analyse.__code__: "analyse",
               ranges.value_ranges.__code__: "value_ranges"}
    counts = dict.fromkeys(watched.values(), 0)

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in watched:
            counts[watched[frame.f_code]] += 1

    old = sys.getprofile()
    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(old)
    return counts


@pytest.mark.parametrize("path, sizes", PROGRAMS, ids=[p for p, _ in PROGRAMS])
def test_a_compile_lowers_once_and_analyses_once(path, sizes):
    source = driver.read_source(STDLIB / path)
    (checked,) = check_source(source.text, source.file)
    counts = _calls(lambda: driver.build_checked(source, checked, sizes=sizes))
    assert counts == {"lower": 1, "lowerer": 1, "analyse": 1, "value_ranges": 1}


@pytest.mark.parametrize("path, sizes", PROGRAMS, ids=[p for p, _ in PROGRAMS])
def test_the_target_builds_from_the_driver_s_compilation(path, sizes, monkeypatch):
    source = driver.read_source(STDLIB / path)
    (checked,) = check_source(source.text, source.file)
    target = registry.TARGETS[registry.OF_FAMILY[checked.family]]
    seen = []
    real = target.compile

    def spy(self, compilation):
        seen.append(compilation)
        return real(compilation)

    monkeypatch.setattr(registry.Target, "compile", spy)
    driver.build_checked(source, checked, sizes=sizes)
    (c,) = seen
    assert c.checked is checked and c.options.target == target.name
    assert c.program.name == checked.program.name and c.cost.layers is not None
    assert c.ranges is not None


def test_every_target_is_registered_once_with_its_runtime():
    assert registry.NAMES == ("mlp", "gnn", "transformer")
    assert set(registry.OF_FAMILY) == {"bits", "graph", "seq"}
    for t in registry.TARGETS.values():
        assert set(t.activations) <= set(registry.ACTIVATIONS)
        assert set(t.dtypes) <= set(registry.DTYPES)
        assert t.compiler.endswith(f"targets.{t.name}") and t.runtime.endswith(f"runtime.{t.name}")
    assert registry.exact_limit("float32") == 2 ** 24 and registry.exact_limit("float64") == 2 ** 53


def test_an_option_a_target_does_not_build_with_is_refused_in_its_words():
    source = driver.read_source(STDLIB / "graph/bfs.ncl")
    (checked,) = check_source(source.text, source.file)
    with pytest.raises(NclError) as err:
        driver.build_checked(source, checked, activation="step")
    (d,) = err.value.diagnostics
    assert d.code == "gnn-unsupported" and d.line == checked.program.name_span.line
    assert d.message == ("the gnn target builds ReLU message and update MLPs; --activation step "
                         "is for the mlp target")
    with pytest.raises(NclError, match=r"a graph program \(its target is gnn\)"):
        driver.build_checked(source, checked, target="mlp")


@pytest.mark.parametrize("option", [{"target": "tpu"}, {"activation": "gelu"},
                                    {"dtype": "float16"}])
def test_a_name_the_registry_does_not_know_is_a_value_error(option):
    source = driver.read_source(STDLIB / "bits/add.ncl")
    (checked,) = check_source(source.text, source.file)
    with pytest.raises(ValueError, match="unknown"):
        driver.build_checked(source, checked, sizes={"k": 4}, **option)
