"""Every example in docs/*.md parses, and every one with an expected result runs to exactly that
result through the CLI.

A block tagged `ncl` is a program. After it may come an `input` block (its JSON input) and then
either an `output` block (the exact result of `nclang run`) or an `error` block (the first line
`nclang` prints on stderr, exit status 1; the program is saved as `example.ncl` and the input as
`input.json`, and without an input block the command is `nclang check`). A line starting
`(run with` right after the output or error may give `--size NAME=N` options.

docs/tutorial.md is also run as a session: a fenced block right after a line ending in
"`NAME`:" is saved as file NAME, and every `$ COMMAND` line of its `sh` blocks runs in that
directory, in order, printing (stdout and stderr together) what the block shows after it; a
last line `…` stands for lines left out. A command whose shown output holds `error:` must fail,
every other one must succeed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from nclang.dsl.parser import parse

DOCS = Path(__file__).resolve().parent.parent / "docs"

_FENCE = re.compile(r"^```(?P<tag>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    tag: str
    body: str
    line: int          # of the opening fence, 1-based
    before: str        # the last non-blank line before the block
    after: str         # the first non-blank line after it
    joined: bool       # only blank lines lie between this block and the one before it


def blocks(text: str) -> list[Block]:
    out = []
    end = None
    for m in _FENCE.finditer(text):
        before = [x for x in text[:m.start()].splitlines() if x.strip()]
        after = [x for x in text[m.end():].splitlines() if x.strip()]
        out.append(Block(m["tag"], m["body"], text.count("\n", 0, m.start()) + 1,
                         before[-1] if before else "", after[0] if after else "",
                         end is not None and not text[end:m.start()].strip()))
        end = m.end()
    return out


@dataclass(frozen=True)
class Example:
    doc: str
    line: int
    source: str
    input: str | None
    output: str | None
    error: str | None
    sizes: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def _examples() -> list[Example]:
    out = []
    for doc in sorted(DOCS.glob("*.md")):
        bs = blocks(doc.read_text())
        for i, b in enumerate(bs):
            if b.tag != "ncl":
                continue
            rest = []
            for nxt in bs[i + 1:i + 3]:
                if not nxt.joined:
                    break
                rest.append(nxt)
            given = rest.pop(0).body if rest and rest[0].tag == "input" else None
            last = rest[0] if rest and rest[0].tag in ("output", "error") else None
            sizes = tuple(re.findall(r"--size[ =](\w+=\d+)", last.after)) \
                if last is not None and last.after.startswith("(run with") else ()
            out.append(Example(doc.name, b.line + 1, b.body, given,
                               last.body if last is not None and last.tag == "output" else None,
                               last.body if last is not None and last.tag == "error" else None,
                               sizes))
    return out


EXAMPLES = _examples()
RUNNABLE = [e for e in EXAMPLES if e.input is not None and e.output is not None]
FAILING = [e for e in EXAMPLES if e.error is not None]


def _nclang() -> list[str]:
    exe = shutil.which("nclang")
    if exe:
        return [exe]
    return [sys.executable, "-c",
            "import sys; from nclang.compiler.cli import main; sys.exit(main())"]


def test_docs_have_examples_with_inputs_and_outputs():
    assert EXAMPLES and RUNNABLE and FAILING


def test_every_input_block_belongs_to_an_example():
    for doc in sorted(DOCS.glob("*.md")):
        bs = blocks(doc.read_text())
        for prev, b in zip([None, *bs], bs):
            if b.tag in ("input", "output", "error"):
                assert prev is not None and prev.tag in ("ncl", "input") and b.joined, \
                    f"{doc.name}:{b.line}: a {b.tag} block must follow an ncl or input block"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.error is None], ids=lambda e: e.id)
def test_doc_example_parses(example):
    assert parse(example.source, example.id).items


def _run(example: Example, tmp_path: Path) -> subprocess.CompletedProcess:
    (tmp_path / "example.ncl").write_text(example.source)
    if example.input is None:
        argv = [*_nclang(), "check", "example.ncl"]
    else:
        (tmp_path / "input.json").write_text(example.input)
        argv = [*_nclang(), "run", "example.ncl", "--input", "input.json"]
    for size in example.sizes:
        argv += ["--size", size]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path)


@pytest.mark.parametrize("example", RUNNABLE, ids=lambda e: e.id)
def test_doc_example_runs_to_its_documented_output(example, tmp_path):
    done = _run(example, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(example.output)


@pytest.mark.parametrize("example", FAILING, ids=lambda e: e.id)
def test_doc_error_example_prints_its_documented_error(example, tmp_path):
    done = _run(example, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0] == example.error.strip()


# ---------------------------------------------------------------- docs/tutorial.md as a session

_FILE_NAME = re.compile(r"`([\w.-]+)`:\s*$")


def _tutorial_steps():
    """("file", name, text) and ("sh", command, expected output) in the order of the tutorial."""
    steps = []
    for b in blocks((DOCS / "tutorial.md").read_text()):
        name = _FILE_NAME.search(b.before)
        if b.tag == "sh":
            for chunk in re.split(r"^\$ ", b.body, flags=re.M)[1:]:
                command, _, expected = chunk.partition("\n")
                steps.append(("sh", command, expected))
        elif name:
            steps.append(("file", name[1], b.body))
    return steps


def test_tutorial_session_prints_what_the_tutorial_shows(tmp_path):
    steps = _tutorial_steps()
    assert any(kind == "sh" for kind, _, _ in steps)
    exe = shutil.which("nclang")
    if exe is None:
        pytest.skip("the tutorial's session runs the installed nclang command")
    env = {**os.environ, "PATH": f"{Path(exe).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for kind, what, text in steps:
        if kind == "file":
            (tmp_path / what).write_text(text)
            continue
        done = subprocess.run(["bash", "-c", what + " 2>&1"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        if "error:" in text:
            assert done.returncode != 0, f"$ {what}\n{done.stdout}"
        else:
            assert done.returncode == 0, f"$ {what}\n{done.stdout}"
        if text.endswith("…\n"):
            assert done.stdout.startswith(text[:-len("…\n")]), f"$ {what}\n{done.stdout}"
        else:
            assert done.stdout == text, f"$ {what}\n{done.stdout}"
