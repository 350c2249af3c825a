"""Every example in docs/*.md parses, and every one with an input and an output runs to exactly
that output through the CLI (`nclang run`).

A block tagged `ncl` is a program; an `input` block right after it is its JSON input and an
`output` block after that the exact result. A line starting `(run with` right after the output
may give `--size NAME=N` options.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dsl.parser import parse

DOCS = Path(__file__).resolve().parent.parent / "docs"

_EXAMPLE = re.compile(
    r"^```ncl\n(?P<source>.*?)^```[ \t]*\n"
    r"(?:\s*^```input\n(?P<input>.*?)^```[ \t]*\n"
    r"\s*^```output\n(?P<output>.*?)^```[ \t]*(?:\n|\Z)"
    r"(?:[ \t]*\n)*(?P<note>^\(run with[^\n]*)?)?",
    re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    source: str
    input: str | None
    output: str | None
    sizes: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _examples() -> list[Example]:
    out = []
    for doc in sorted(DOCS.glob("*.md")):
        text = doc.read_text()
        for m in _EXAMPLE.finditer(text):
            sizes = tuple(re.findall(r"--size[ =](\w+=\d+)", m["note"] or ""))
            out.append(Example(doc.name, text.count("\n", 0, m.start()) + 2, m["source"],
                               m["input"], m["output"], sizes))
    return out


EXAMPLES = _examples()
RUNNABLE = [e for e in EXAMPLES if e.input is not None]


def _nclang() -> list[str]:
    exe = shutil.which("nclang")
    if exe:
        return [exe]
    return [sys.executable, "-c", "import sys; from compiler.cli import main; sys.exit(main())"]


def test_docs_have_examples_with_inputs_and_outputs():
    assert EXAMPLES and RUNNABLE


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_doc_example_parses(example):
    assert parse(example.source, example.id).items


@pytest.mark.parametrize("example", RUNNABLE, ids=lambda e: e.id)
def test_doc_example_runs_to_its_documented_output(example, tmp_path):
    program = tmp_path / "example.ncl"
    program.write_text(example.source)
    given = tmp_path / "input.json"
    given.write_text(example.input)
    argv = [*_nclang(), "run", str(program), "--input", str(given)]
    for size in example.sizes:
        argv += ["--size", size]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(example.output)
