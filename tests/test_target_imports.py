"""Targets do not import each other (compiler/targets/__init__.py): each target is a module or a
package under compiler/targets/, and what two targets share lives outside them (gadgets, ir).

The import graph is the one tests/test_import_graph.py checks for cycles (tests/import_graph.py:
read from the source with `ast`, nothing imported), so a lazy import inside a function counts
as much as one at the top. A package target's own modules may import each other. `verify` is
no target but the self-check every target runs on its network before writing it: targets may
import it, and it imports no target (it checks artifacts through the runtime, so it needs
none). `registry` is data every target reads (names, options, exactness limits) and imports no
target."""
from __future__ import annotations

from import_graph import graph

PREFIX = "nclang.compiler.targets"
SHARED = {"verify", "registry"}  # modules under targets/ that are services, not targets


def _owner(module: str) -> str | None:
    """The target (first name under compiler/targets) a module belongs to, None outside."""
    if not module.startswith(PREFIX + "."):
        return None
    return module[len(PREFIX) + 1:].split(".")[0]


def _graph() -> dict[str, set[str]]:
    """The import graph of the modules under compiler/targets."""
    return {m: e for m, e in graph().items() if m.startswith(PREFIX + ".")}


def _crossings(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, imported in graph.items():
        me = _owner(module)
        for other in sorted(imported):
            them = _owner(other)
            if me is None or them is None or them == me or them in SHARED:
                continue
            bad.append(f"{module} imports {other}")
    return bad


def test_no_target_imports_another_target():
    graph = _graph()
    assert len(graph) > 10, sorted(graph)  # the walk found the targets (packages included)
    assert _crossings(graph) == []


def test_a_crossing_is_reported_and_a_package_s_own_modules_are_not():
    # the check itself: imports of another target are reported, one's own submodules and the
    # shared self-check are not
    graph = {f"{PREFIX}.transformer.tasks": {f"{PREFIX}.mlp", f"{PREFIX}.gnn.local",
                                             f"{PREFIX}.transformer.fusion",
                                             f"{PREFIX}.verify", "nclang.compiler.gadgets"}}
    assert _crossings(graph) == [f"{PREFIX}.transformer.tasks imports {PREFIX}.gnn.local",
                                 f"{PREFIX}.transformer.tasks imports {PREFIX}.mlp"]


def test_a_lazy_import_inside_a_function_is_seen():
    # the walk reads every import statement, not only the module's top
    assert f"{PREFIX}.verify" in _graph()[f"{PREFIX}.transformer"]
    assert f"{PREFIX}.verify" in _graph()[f"{PREFIX}.mlp"]


def test_relative_imports_resolve_to_their_package():
    # `from .slots import y` in a package's module is the package's own
    assert f"{PREFIX}.transformer.slots" in _graph()[f"{PREFIX}.transformer.residual"]
    assert f"{PREFIX}.gnn.local" in _graph()[f"{PREFIX}.gnn"]


def test_verify_imports_no_target():
    imported = _graph()[f"{PREFIX}.verify"]
    assert not {m for m in imported if _owner(m) not in (None, "verify")}, imported
