"""Compiled programs agree with the interpreter: a seed corpus of past miscompiles and crashes
(tests/fuzz_corpus/*.ncl), then hypothesis-drawn well-typed programs of each family
(tests/program_strategies.py), each compiled for its own target at small sizes and compared
with the interpreter on the boundary inputs and on drawn inputs, bit for bit.

A drawn program a target refuses must be refused with a located error (an NclError), never an
internal error; one it compiles must never disagree. Bounded for CI (derandomized, 15
programs a family); a disagreement found here belongs in the corpus, with its sizes in a
`// sizes: k=8` line.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nclang.compiler.driver import Source, compile_checked
from nclang.compiler.runtime import load
from nclang.compiler.testing import instance_to_json, instances, outputs_agree
from nclang.compiler.testing.boundary import boundary_disagreement
from nclang.dsl.checker import check_source
from nclang.dsl.diagnostics import NclError
from nclang.dsl.interpreter import run as interpret
from program_strategies import FAMILIES

CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
SIZES = {"bits": {"k": 5}, "seq": {"n": 6}, "tokens": {"n": 6}, "graph": {}}
MAX_N = 5
DRAWN_INPUTS = 12


def _compile(text: str, sizes: dict, tmp_path: Path):
    (c,) = check_source(text, "fuzz.ncl")
    out = tmp_path / "fuzz.safetensors"
    compiled = compile_checked(Source("fuzz.ncl", text.encode(), text), c, out, sizes=sizes)
    vocab = compiled.meta["encodings"].get("vocab")
    vocab = tuple(vocab) if vocab and isinstance(vocab[0], str) else None
    return c, load(out), vocab


def _agrees(c, net, sizes, vocab, draw=None) -> None:
    max_n = sizes.get("n", MAX_N)
    bad = boundary_disagreement(c, net.run, sizes, max_n=max_n, vocab=vocab)
    assert bad is None, f"disagrees on {bad[3]} at {instance_to_json(c, bad[0])}: " \
                        f"expected {bad[1]}, got {bad[2]}"
    if draw is None:
        return
    strategy = instances(c, sizes, max_n=max_n, vocab=vocab)
    for _ in range(DRAWN_INPUTS):
        inst = draw(strategy)
        try:
            want = interpret(c, inst)
        except NclError:
            continue
        (got,) = net.run([inst])
        assert not outputs_agree(c, want, got), \
            f"disagrees at {instance_to_json(c, inst)}: expected {want}, got {got}"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.ncl")), ids=lambda p: p.stem)
def test_corpus_program_compiles_and_agrees(path, tmp_path):
    text = path.read_text()
    sizes = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)",
                                               (re.findall(r"// sizes: (.*)", text) or [""])[0])}
    c, net, vocab = _compile(text, sizes, tmp_path)
    _agrees(c, net, sizes, vocab)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_drawn_program_compiles_and_agrees_or_is_refused(family, data, tmp_path_factory):
    text = data.draw(FAMILIES[family](), label="program")
    try:
        check_source(text, "fuzz.ncl")
    except NclError as err:  # the generator's programs are meant to check; say which did not
        pytest.fail(f"the generator drew a program the checker refuses:\n{text}\n{err}")
    sizes = SIZES[family]
    try:
        c, net, vocab = _compile(text, sizes, tmp_path_factory.mktemp("fuzz"))
    except NclError as err:
        d = err.diagnostics[0]
        assert d.file == "fuzz.ncl" and d.line >= 1, d  # a located refusal is allowed
        return
    _agrees(c, net, sizes, vocab, data.draw)
