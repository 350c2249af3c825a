"""The package's import graph, read from the source with `ast` (nothing is imported), for the
tests that hold its shape: no cycles (test_import_graph) and no target importing another
(test_target_imports).

Nodes are the package's non-test modules under their installed names (the folders dsl/,
compiler/, stdlib/ install as nclang.dsl, nclang.compiler, nclang.stdlib; a package is its
`__init__`). An edge A -> B says that A names B in an import statement:

- every import statement counts, wherever it stands: at the top, inside a function (a lazy
  import), under `if TYPE_CHECKING:`. Each is still a dependency of A on B, and a cycle through
  one is as much a knot in the design as one at the top; lazy imports stay for what they are
  for (not paying for torch or scipy), never to hide a cycle.
- `import a.b.c` is an edge to `a.b.c`; `from P import x` (relative imports resolved against
  the importing module's package) is an edge to `P.x` when that is a module, and otherwise to
  `P` itself, the module or package `__init__` that defines or re-exports the name `x`.
- the parents Python initialises on the way to a module are no edge: importing `a.b.c` runs
  `a/__init__` and `a/b/__init__` first, and a package `__init__` that imports its own
  submodules to re-export their names is how a package presents one face. So `a.b` -> `a.b.c`
  (the re-export) is an edge, `a.b.c` -> `a.b` is one only when `a.b.c` takes a name from the
  package itself (`from . import x`, `from a.b import x` with `x` no submodule), and the two
  then make a cycle, as they should: the submodule needs its own package's face while the face
  is built from it.
- imports of anything outside the package (numpy, torch, the standard library) are no edge.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# repository folder -> the installed name it maps to (pyproject.toml's package-dir)
FOLDERS = {"nclang": "nclang", "dsl": "nclang.dsl", "compiler": "nclang.compiler",
           "stdlib": "nclang.stdlib"}


def is_test_file(rel: Path) -> bool:
    return "tests" in rel.parts or rel.name.startswith("test_")


def module_name(path: Path) -> str:
    """The installed name of a source file of the package (`compiler/training/gap.py` ->
    `nclang.compiler.training.gap`, a package's `__init__.py` -> the package)."""
    rel = path.resolve().relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    parts[0:1] = FOLDERS[parts[0]].split(".")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every non-test module of the package, by installed name."""
    out = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if not is_test_file(path.relative_to(ROOT)):
                out[module_name(path)] = path
    return out


def imports(path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that the source file at `path` imports (the edges out of it)."""
    return imports_of(path.read_text(encoding="utf-8"), module_name(path),
                      path.name == "__init__.py", known, str(path))


def imports_of(source: str, name: str, is_package: bool, known: set[str],
               file: str = "<source>") -> set[str]:
    """The modules of `known` that `source`, the module `name` (a package's `__init__` when
    `is_package`), imports, by the rules of this module's docstring."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source, file)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                origin = ".".join(x for x in (base, node.module) if x)
            else:
                origin = node.module or ""
            for alias in node.names:
                if f"{origin}.{alias.name}" in known:
                    found.add(f"{origin}.{alias.name}")
                elif origin in known:
                    found.add(origin)
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    """module -> the package modules it imports, for every non-test module."""
    paths = modules()
    known = set(paths)
    return {name: imports(path, known) for name, path in paths.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a path that returns to its start, the start repeated at the end) through each
    strongly connected group of two or more modules, shortest from the group's first module in
    name order; [] for a graph without cycles."""
    out = []
    for group in _strongly_connected(edges):
        start = min(group)
        out.append(_shortest_cycle(edges, start, group))
    return sorted(out)


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph may be deeper than the recursion limit)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def _shortest_cycle(edges: dict[str, set[str]], start: str, group: set[str]) -> list[str]:
    """Breadth-first from `start` inside `group` back to `start`."""
    parent = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(edges.get(node, ()) & group):
                if nxt == start:
                    path = [node]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])
                    return path[::-1] + [start]
                if nxt not in parent:
                    parent[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{start} is in a strongly connected group but on no cycle")
