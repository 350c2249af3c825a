"""Every example in docs/api.md runs and prints what the page shows.

The page's `python` blocks are doctest sessions (`>>>` lines and the output after them). They
run in order in one namespace, as a reader would type them, in a folder that holds the
repository's `stdlib/` and `examples/` (so that relative paths mean what they say and the files
the examples save land in a temporary folder)."""
from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import nclang

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "api.md"
_FENCE = re.compile(r"^```(?P<tag>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$",
                    re.MULTILINE | re.DOTALL)


def _blocks() -> list[tuple[int, str]]:
    text = DOC.read_text()
    return [(text.count("\n", 0, m.start()) + 1, m["body"]) for m in _FENCE.finditer(text)
            if m["tag"] == "python"]


def test_every_python_block_is_a_session_of_examples():
    blocks = _blocks()
    assert len(blocks) >= 10
    for line, body in blocks:
        assert doctest.DocTestParser().get_examples(body), f"docs/api.md:{line} runs nothing"


def test_every_public_name_has_an_example():
    examples = "\n".join(ex.source for _, body in _blocks()
                         for ex in doctest.DocTestParser().get_examples(body))
    for name in nclang.__all__:
        if name in ("__version__", "Program", "Network"):
            continue  # made by check / compile / load, whose examples use them
        assert f"nclang.{name}" in examples, name
    for method in (".run(", ".save(", ".to_bytes()", ".module", ".summary()", ".ir"):
        assert method in examples, method


def test_the_docs_examples_run_and_print_what_they_show(tmp_path, monkeypatch):
    for folder in ("stdlib", "examples"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    namespace: dict = {}
    for line, body in _blocks():
        test = parser.get_doctest(body, namespace, f"docs/api.md:{line}", str(DOC), line)
        out: list[str] = []
        result = runner.run(test, out=out.append, clear_globs=False)
        if result.failed:
            pytest.fail("".join(out), pytrace=False)
        namespace = test.globs
