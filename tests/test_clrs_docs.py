"""docs/clrs.md: its table of CLRS-30's graph algorithms is what the analysis says of each
stdlib program today, row for row, and every example on the page runs and prints what it shows.

Each row is recomputed here: the class, the rounds (the analysis' layer count) and the NC
alternative (the analysis' hint) from `nclang.check`, and whether the program compiles to a gnn
from `nclang.compile` itself (a refusal is its message). On a mismatch the test prints the
table the page should hold; `python tests/test_clrs_docs.py` writes it into the page. A program
not in this branch yet has a row that says so."""
from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

import nclang
from clrs_programs import compiled
from nclang import clrs

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "clrs.md"
BEGIN = "<!-- the table below is generated: tests/test_clrs_docs.py checks it -->"
END = "<!-- end of the generated table -->"
_FENCE = re.compile(r"^```(?P<tag>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$",
                    re.MULTILINE | re.DOTALL)
HEADER = ("| CLRS algorithm | program | CLRS outputs | class as written | rounds | gnn "
          "| NC alternative |\n| --- | --- | --- | --- | --- | --- | --- |")


def _rounds(prog: nclang.Program) -> str:
    (line,) = [x for x in prog.summary().splitlines() if x.strip().startswith("layers:")]
    text = line.split(":", 1)[1].strip()
    bound = "a bound" in text
    text = text.split(" (")[0]
    return f"at most {text}" if bound else text


def _gnn(alg: clrs.Algorithm) -> str:
    try:
        compiled(alg.name)
    except nclang.NclError as err:
        return "refused: " + str(err).splitlines()[0].split(" error: ", 1)[1]
    return "compiles"


def row(alg: clrs.Algorithm) -> str:
    outputs = ", ".join(f"`{theirs}`" for theirs, _ in alg.outputs)
    prog = nclang.check(ROOT / alg.path)
    hint = prog.cost.hint or "—"
    return (f"| {alg.name} | `{alg.program}` | {outputs} | {prog.cost.cls} | {_rounds(prog)} "
            f"| {_gnn(alg)} | {hint} |")


def expected_table() -> str:
    return "\n".join([HEADER] + [row(clrs.ALGORITHMS[name]) for name in clrs.ALGORITHMS])


def test_the_table_is_what_the_analysis_says_of_each_program():
    text = DOC.read_text()
    assert BEGIN in text and END in text
    shown = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    expected = expected_table()
    assert shown == expected, "docs/clrs.md's table should be:\n\n" + expected


def _blocks(tag: str) -> list[tuple[int, str]]:
    text = DOC.read_text()
    return [(text.count("\n", 0, m.start()) + 1, m["body"]) for m in _FENCE.finditer(text)
            if m["tag"] == tag]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    for name in ("stdlib", "examples", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_python_example_runs_and_prints_what_it_shows(folder):
    blocks = _blocks("python")
    assert blocks
    parser, globs = doctest.DocTestParser(), {}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for line, body in blocks:
        test = parser.get_doctest(body, globs, f"docs/clrs.md:{line}", str(DOC), line)
        # one namespace for the page, in order, as a reader types the examples
        runner.run(test, out=sys.stdout.write, clear_globs=False)
        globs = test.globs  # (a DocTest works on a copy)
    assert runner.failures == 0


def test_every_shell_example_runs_and_prints_what_it_shows(folder):
    blocks = _blocks("sh")
    assert blocks
    bin_dir = Path(sys.executable).parent
    for line, body in blocks:
        for command, shown in _commands(body):
            done = subprocess.run(command, shell=True, capture_output=True, text=True,
                                  env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
            assert done.returncode == (1 if "error:" in shown else 0), (command, done.stderr)
            assert (done.stdout + done.stderr).strip() == shown.strip(), \
                f"docs/clrs.md:{line}: {command}"


def _commands(body: str) -> list[tuple[str, str]]:
    out: list[tuple[str, list[str]]] = []
    for text in body.splitlines():
        if text.startswith("$ "):
            out.append((text[2:], []))
        else:
            out[-1][1].append(text)
    return [(command, "\n".join(lines)) for command, lines in out]


def write_table() -> None:
    """Put the table the analysis gives into docs/clrs.md (after a program or the analysis
    changed, or a program was merged)."""
    from nclang.compiler.atomic import write_atomic
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    write_atomic(DOC, f"{head}{BEGIN}\n{expected_table()}\n{END}{tail}".encode())


if __name__ == "__main__":
    write_table()
