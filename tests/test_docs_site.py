"""The docs site: `mkdocs build --strict` (what CI runs) succeeds on the repository as it is and
writes nothing into it; the nav lists every page of docs/; the API reference carries the
docstring of every public name of `nclang`; and the ```ncl fences come out highlighted by
nclang's lexer (its token classes, not the plain text a missing lexer leaves)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")
yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    before = _git_status()
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                           "-d", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _git_status() == before, "mkdocs build wrote into the repository"
    return out


def _nav_pages(nav) -> set[str]:
    pages = set()
    for entry in nav:
        for value in (entry.values() if isinstance(entry, dict) else [entry]):
            pages |= _nav_pages(value) if isinstance(value, list) else {value}
    return pages


def _config() -> dict:
    class Loader(yaml.SafeLoader):
        pass
    # mkdocs.yml may use mkdocs' own tags (!ENV, !relative); they do not matter here
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader)


def test_the_nav_lists_every_page_of_docs():
    pages = _nav_pages(_config()["nav"])
    on_disk = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").glob("*.md")}
    assert on_disk <= pages, sorted(on_disk - pages)
    assert "reference/api.md" in pages
    assert all((ROOT / "docs" / p).is_file() for p in pages)


def test_the_api_reference_has_every_public_names_docstring(site):
    import inspect

    import nclang
    page = (site / "reference" / "api" / "index.html").read_text()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    for name in nclang.__all__:
        if name == "__version__":
            continue
        obj = getattr(nclang, name)
        doc = inspect.getdoc(obj)
        assert doc, f"nclang.{name} has no docstring"
        # the docstring's first words, as rendered (markdown may change punctuation after)
        first = re.sub(r"\s+", " ", doc).split("`")[0].split("(")[0][:30].strip()
        assert first and first in text, f"nclang.{name}: {first!r} is not on the page"


def test_ncl_fences_are_highlighted_by_the_nclang_lexer(site):
    page = (site / "language" / "index.html").read_text()
    # Keyword.Type (kt), Keyword (k) and Name.Function (nf): only nclang's lexer gives a `graph`
    # parameter type and a program's name these classes
    assert re.search(r'<span class="kt">graph</span>', page)
    assert re.search(r'<span class="k">program</span>(<span class="w"> </span>)?'
                     r'<span class="nf">\w+</span>', page)
    assert '<span class="err">' not in page
    tutorial = (site / "tutorial" / "index.html").read_text()
    assert '<span class="k">repeat</span>' in tutorial and '<span class="err">' not in tutorial
