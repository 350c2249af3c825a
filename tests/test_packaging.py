"""What installs: one import namespace, `nclang`, mapped from the repository's pipeline folders."""
import ast
import importlib.metadata
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"nclang": "nclang", "nclang.dsl": "dsl", "nclang.compiler": "compiler",
           "nclang.stdlib": "stdlib"}


def _installed_distribution():
    # An egg-info left in the checkout by a build is not the installed distribution.
    for dist in importlib.metadata.distributions(name="nclang"):
        where = Path(str(dist.locate_file(""))).resolve()
        if not where.is_relative_to(REPO):
            return dist
    raise AssertionError("nclang is not installed (pip install -e .)")


def test_installed_distribution_has_exactly_one_top_level_package():
    top = _installed_distribution().read_text("top_level.txt").split()
    assert top == ["nclang"]


def test_every_package_folder_is_mapped_into_the_nclang_namespace():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == FOLDERS
    on_disk = {".".join([prefix, *init.parent.relative_to(REPO / folder).parts])
               for prefix, folder in FOLDERS.items()
               for init in (REPO / folder).rglob("__init__.py")}
    assert set(config["packages"]) == on_disk


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_no_code_imports_the_folders_by_their_bare_names():
    # `import dsl` from a checkout would load a second copy of every module, with its own classes.
    folders = ("nclang", "dsl", "compiler", "stdlib", "tests", "bench", "examples", "docs")
    files = [p for d in folders for p in (REPO / d).rglob("*.py")]
    bare = [(str(p.relative_to(REPO)), name) for p in files for name in _imports(p)
            if name.split(".")[0] in {"dsl", "compiler", "stdlib"}]
    assert bare == []


def test_importing_nclang_loads_none_of_the_bare_names():
    assert not {"dsl", "compiler", "stdlib"} & set(sys.modules)
