"""Every program in docs/*.md compiles for its own target and the network computes exactly what
the interpreter does, or the compiler refuses it with a located error (exit status 1) that this
file lists with its reason. No docs example may miscompile or crash the compiler or the runtime.

The blocks are the ones tests/test_docs.py runs (a fenced block tagged `ncl`; its "(run with
`--size k=N`)" line gives the bit width). Each program is compiled once at small sizes (k from
the docs or 4, sequences up to n = 8), then `nclang.compiler.testing.test_program` (the kit behind
`nclang test`) draws a bounded number of inputs the interpreter accepts — every length 1..8 of a
sequence, graphs of 1..5 nodes with the kit's edge cases, bit vectors with the extremes — and
compares every output bit for bit, after the deterministic boundary inputs of
`nclang.compiler.testing.boundary` (one-token sequences of every value, n = 1 graphs with and
without a self-loop, empty graphs, all-zero and all-one bits, every range's bounds). A program no
input can run without an error (the docs' run-time error examples) passes with no input drawn: there
is nothing the network could disagree on.
"""
from __future__ import annotations

import re

import pytest

from nclang.compiler import cli
from nclang.compiler.driver import Source, compile_checked
from nclang.compiler.runtime import load
from nclang.compiler.testing import instance_to_json, test_program
from nclang.compiler.testing.boundary import boundary_disagreement
from nclang.dsl.checker import check_source
from nclang.dsl.diagnostics import NclError
from test_docs import EXAMPLES

EXAMPLES_DRAWN = 40
MAX_N = 5       # graphs
MAX_LENGTH = 8  # sequences: the length `nclang test` compiles for (the rising miscompile showed
                # at n = 8, not at 5)
DEFAULT_SIZE = 4

# The docs programs a target refuses, by program name: (the example's line in its doc, the
# refusal's diagnostic code, words of its message). A refusal not listed here fails, and so does
# a listed one that now compiles (take it off the list: it is then compared like the others).
REFUSED = {
    # edge(center, v) compiles now; w: node[int[0..inf]] has no bound on its finite values
    ("language.md", "around"): ("not-exact", "reaches unbounded"),
    ("language.md", "arith"): ("mlp-unsupported", "frac"),
    # d: node[int[0..inf]] has no bound on its finite values
    ("language.md", "infinities"): ("not-exact", "reaches unbounded"),
    ("language.md", "p@451"): ("unsupported", "both +inf and -inf"),
    ("language.md", "aggs"): ("unsupported", "'only'"),
    ("language.md", "slow_reach"): ("class", "declared NC2"),
    ("language.md", "avg_in"): ("unsupported", "frac"),
}


def _programs():
    out = []
    for ex in EXAMPLES:
        try:
            progs = check_source(ex.source, "example.ncl")
        except NclError:
            continue  # a check-time error example: test_docs.py checks its message
        for c in progs:
            out.append(pytest.param(ex, c, id=f"{ex.id}:{c.program.name}"))
    return out


PROGRAMS = _programs()


def _sizes(ex, checked) -> dict[str, int]:
    given = dict(s.split("=") for s in ex.sizes)
    sizes = {k: int(given.get(k, DEFAULT_SIZE)) for k in checked.size_vars if k not in ("n", "m")}
    if checked.family == "seq":
        sizes["n"] = MAX_LENGTH
    return sizes


def _keys(ex, checked) -> tuple:
    """How REFUSED names a program: by its name, or NAME@LINE where the name is not unique."""
    name = checked.program.name
    return (ex.doc, name), (ex.doc, f"{name}@{ex.line}")


def _refusal(ex, checked):
    return next((REFUSED[k] for k in _keys(ex, checked) if k in REFUSED), None)


def test_every_docs_program_is_covered():
    assert len(PROGRAMS) >= 30
    # the refusals listed are docs programs still
    names = {k for p in PROGRAMS for k in _keys(*p.values)}
    assert set(REFUSED) <= names


@pytest.mark.parametrize("ex, checked", PROGRAMS)
def test_docs_program_compiles_and_agrees_or_is_refused(ex, checked, tmp_path):
    sizes = _sizes(ex, checked)
    out = tmp_path / "example.safetensors"
    source = Source("example.ncl", ex.source.encode(), ex.source)
    expected = _refusal(ex, checked)
    try:
        compiled = compile_checked(source, checked, out, sizes=sizes)
    except NclError as err:
        d = err.diagnostics[0]
        assert expected is not None, f"refused, and not listed in REFUSED: {d}"
        code, words = expected
        assert code in d.code and words in d.message, d
        # located inside the example, not at a default 1:1
        assert d.file == "example.ncl" and 1 <= d.line <= ex.source.count("\n") + 1
        assert (d.line, d.col) != (1, 1) or ex.source.startswith("program")
        return
    assert expected is None, f"{checked.program.name} compiles now: take it off REFUSED"
    vocab = compiled.meta["encodings"].get("vocab")
    vocab = tuple(vocab) if vocab and isinstance(vocab[0], str) else None
    try:
        net = load(out)
    except NclError as err:
        # a network past the runtime's resource limits at every size (docs/weights.md,
        # "Resource limits"): only where the example shows the interpreter refusing it too
        d = err.diagnostics[0]
        assert d.code == "resource-limit" and "limit" in (ex.error or ""), d
        return
    max_n = None if checked.family == "seq" else MAX_N
    bad = boundary_disagreement(checked, net.run, sizes, max_n=max_n or MAX_LENGTH, vocab=vocab)
    assert bad is None, f"disagrees on {bad[3]} at {instance_to_json(checked, bad[0])}"
    result = test_program(checked, net, sizes, examples=EXAMPLES_DRAWN, seed=0, max_n=max_n,
                          vocab=vocab)
    assert result.counterexample is None, result.counterexample.to_json()


@pytest.mark.parametrize("key", sorted(REFUSED))
def test_a_refused_docs_program_exits_1_with_a_located_error(key, tmp_path, capsys):
    (ex, checked), = [p.values for p in PROGRAMS if key in _keys(*p.values)]
    (tmp_path / "example.ncl").write_text(ex.source)
    argv = ["compile", str(tmp_path / "example.ncl"), "-o", str(tmp_path / "x.safetensors")]
    for k, v in _sizes(ex, checked).items():
        argv += ["--size", f"{k}={v}"]
    if len(check_source(ex.source, "example.ncl")) > 1:
        argv += ["--program", checked.program.name]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert re.match(r".*example\.ncl:\d+:\d+: error: ", err.splitlines()[0])
    assert "internal error" not in err
