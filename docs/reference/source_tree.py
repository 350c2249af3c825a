"""mkdocs hook: lets the API reference generator (mkdocstrings' griffe, which reads the source
without importing it) find `nclang.dsl`, `nclang.compiler` and `nclang.stdlib`.

pyproject.toml maps those packages onto the repository's top-level folders dsl/, compiler/ and
stdlib/ (`package-dir`), which griffe cannot follow: it looks for nclang/dsl/. So before the
pages are rendered, this builds the installed layout out of symbolic links in a temporary folder
(from the same `package-dir` table, so it cannot drift from the packaging: a copy of nclang/
with links to the mapped folders in it) and points the python
handler there. Nothing in the repository is written."""
from __future__ import annotations

import shutil
import tempfile
import tomllib
from pathlib import Path

from mkdocs.plugins import event_priority

_made: list[Path] = []


def _tree(root: Path) -> Path:
    mapping = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"]
    top = Path(tempfile.mkdtemp(prefix="nclang-api-src-"))
    _made.append(top)
    for package, folder in sorted(mapping.items(), key=lambda kv: kv[0].count(".")):
        where = top.joinpath(*package.split("."))
        source = (root / folder).resolve()
        if "." in package:
            where.symlink_to(source, target_is_directory=True)
            continue
        # the top package: a copy (griffe follows a link to where it points, and would list the
        # files there), so that the mapped folders can be linked inside it
        shutil.copytree(source, where, ignore=shutil.ignore_patterns("__pycache__"))
    return top


# before mkdocstrings' own on_config, which may start the handler with the paths it has then
@event_priority(100)
def on_config(config, **kwargs):
    root = Path(config.config_file_path).resolve().parent
    python = config.plugins["mkdocstrings"].config.handlers.setdefault("python", {})
    python["paths"] = [str(_tree(root))]
    return config


def on_shutdown(**kwargs):
    while _made:
        shutil.rmtree(_made.pop(), ignore_errors=True)
