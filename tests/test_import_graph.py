"""No import cycles in the package (issue 14, "modules with one job each, no cycles"): the graph
of which non-test module imports which, read from the source with `ast`, has no cycle.

The rule (tests/import_graph.py has it in full): every import statement is an edge, lazy ones
inside functions and `TYPE_CHECKING` ones included, so a cycle cannot be hidden by moving an
import into a function; a package `__init__` that imports its own submodules to re-export them
is fine, since the parents Python initialises on the way to a module are no edge; but a
submodule that takes a name from its own package (`from . import x`, x no submodule) depends on
that `__init__`, and is in a cycle when the `__init__` imports it back. What two modules share
goes to a module both import, not into a function.

Where targets may import each other (they may not) is tests/test_target_imports.py, on the
same graph."""
from __future__ import annotations

import subprocess
import sys

import pytest

from import_graph import cycles, graph, imports_of, modules

TRAINING = "nclang.compiler.training"


def _shown(cycle: list[str]) -> str:
    return " -> ".join(cycle)


def test_the_package_has_no_import_cycle():
    edges = graph()
    found = cycles(edges)
    assert found == [], "import cycles (move what the modules share into a module both " \
                        "import): " + "; ".join(_shown(c) for c in found)


def test_the_walk_sees_every_folder_of_the_package_under_its_installed_name():
    names = set(modules())
    for name in ("nclang", "nclang.dsl.parser", "nclang.compiler.driver", "nclang.stdlib",
                 f"{TRAINING}.config", f"{TRAINING}.report", f"{TRAINING}.similarity.align",
                 "nclang.compiler.targets.transformer"):
        assert name in names, name
    assert not [n for n in names if n.rpartition(".")[2].startswith("test_")]
    assert not [n for n in names if not n.startswith("nclang")]
    # the edges are there too: a module with no edge out of it would pass the cycle check
    edges = graph()
    assert sum(len(v) for v in edges.values()) > 2 * len(edges)


def test_a_cycle_is_found_and_reported_as_a_path():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert cycles(edges) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    # two separate knots: one cycle each, shortest from the first name
    two = cycles({"a": {"b"}, "b": {"a"}, "x": {"y", "z"}, "y": {"x"}, "z": {"y"}})
    assert two == [["a", "b", "a"], ["x", "y", "x"]]


def test_a_cycle_through_the_training_run_is_found_as_it_was_before_issue_14():
    # the cycle issue 14 names, gap -> scoring -> subject -> gap, closed by a type-only import
    # (subject's `if TYPE_CHECKING: from .gap import GapConfig`): type-only imports count
    known = {f"{TRAINING}.{m}" for m in ("gap", "scoring", "subject")}
    sources = {"gap": "from .scoring import score\nfrom .subject import Subject\n",
               "scoring": "from .subject import Point\n",
               "subject": "from typing import TYPE_CHECKING\n"
                          "if TYPE_CHECKING:\n    from .gap import GapConfig\n"}
    edges = {f"{TRAINING}.{m}": imports_of(src, f"{TRAINING}.{m}", False, known)
             for m, src in sources.items()}
    assert cycles(edges) == [[f"{TRAINING}.gap", f"{TRAINING}.subject", f"{TRAINING}.gap"]]


def test_a_lazy_import_inside_a_function_is_an_edge():
    src = "def f():\n    from .report import write\n    import nclang.compiler.atomic\n"
    known = {f"{TRAINING}.report", "nclang.compiler.atomic"}
    assert imports_of(src, f"{TRAINING}.gap", False, known) == known
    # and the real graph sees the package's own lazy imports (gap writes its report lazily)
    assert f"{TRAINING}.report" in graph()[f"{TRAINING}.gap"]


def test_relative_imports_resolve_against_the_package_and_name_submodules_when_they_are():
    known = {"p", "p.a", "p.b", "p.q", "p.q.c", "other"}
    # in module p.q.c: `.` is p.q, `..` is p
    src = "from .. import a\nfrom ..b import thing\nfrom . import NAME\nfrom other import x\n"
    assert imports_of(src, "p.q.c", False, known) == {"p.a", "p.b", "p.q", "other"}
    # in a package __init__, `.` is the package itself
    assert imports_of("from . import c\nfrom .c import f\n", "p.q", True, known) == {"p.q.c"}
    # outside modules are no edges
    assert imports_of("import numpy\nfrom torch import nn\n", "p.a", False, known) == set()


@pytest.mark.parametrize("submodule, cyclic", [
    ("import numpy\n", False),                        # the re-export alone: no cycle
    ("from .sibling import g\n", False),              # a sibling, not the package face
    ("from . import sibling\n", False),               # a submodule by name: still a sibling
    ("from . import VERSION\n", True),                # a name the __init__ defines
    ("from p import VERSION\n", True),                # the same, spelt absolute
    ("def f():\n    from . import VERSION\n", True),  # the same, hidden in a function
])
def test_a_package_re_exporting_its_submodules_is_no_cycle_unless_they_use_its_face(
        submodule, cyclic):
    known = {"p", "p.a", "p.sibling"}
    edges = {"p": imports_of("from .a import f\nVERSION = 1\n", "p", True, known),
             "p.a": imports_of(submodule, "p.a", False, known),
             "p.sibling": imports_of("import math\n", "p.sibling", False, known)}
    assert bool(cycles(edges)) == cyclic, edges


def test_the_training_config_imports_no_torch():
    # the CLI builds every command's parser from training.config's defaults, so importing it
    # must not pay for torch (nor the rest of the training stack)
    code = ("import sys\nimport nclang.compiler.training.config as c\n"
            "assert c.GapConfig().train == c.default_train()\n"
            "print(sorted(m for m in ('torch', 'scipy', 'matplotlib', 'tqdm') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
