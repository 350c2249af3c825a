"""The analysis' `layers` is the depth of the network the compiler builds (issue 12): for every
stdlib, examples/ and docs program that compiles, per target, the formula evaluated at the
compile sizes equals the depth read back from the weight file's architecture.

- mlp: `architecture["natural_depth"]`, the layers the circuit needs before it is padded to
  `depth` (a padded network would hide an analysis that overestimates); loop-free programs must
  match it exactly, programs with loops may overlap iterations and need no more.
- gnn: the communication rounds of the file's instruction list, walked as the runtime runs it
  (an aggregation or a gather is one round, a loop `count` times its body's, at least one a
  weight-tied iteration), plus the input block.
- transformer: `nclang.compiler.analysis.transformer_layers` (the target's own block plan, a formula in
  n) against the blocks the runtime runs, read from the file: `depth`, plus each loop's block
  range once more per extra trip (its `count` read with the file's formula grammar). The
  target-independent `layers` differs from it (docs/analysis.md says how); every stdlib and docs
  sequence program that compiles is compared, at two maximum lengths.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from nclang.compiler import ir
from nclang.compiler.analysis import analyse
from nclang.compiler.driver import Source, build_checked
from nclang.dsl.checker import check_source
from nclang.dsl.diagnostics import NclError

ROOT = Path(__file__).resolve().parent.parent
GRAPH_SIZES = {"n": 5, "m": 7}
K = 6


def _stdlib():
    paths = sorted((ROOT / "stdlib").glob("*/*.ncl")) + sorted(ROOT.glob("examples/**/*.ncl"))
    for path in paths:
        text = path.read_text()
        for c in check_source(text, str(path)):
            yield pytest.param(text, c, id=str(path.relative_to(ROOT)))


def _docs():
    from test_docs import EXAMPLES
    for ex in EXAMPLES:
        try:
            progs = check_source(ex.source, "example.ncl")
        except NclError:
            continue
        for c in progs:
            yield pytest.param(ex.source, c, id=f"{ex.id}:{c.program.name}")


ALL = list(_stdlib()) + list(_docs())
PROGRAMS = [p for p in ALL if p.values[1].family in ("bits", "graph")]
SEQ = [p for p in ALL if p.values[1].family == "seq"]


def _formula(text: str, sizes: dict) -> int:
    # read with the weight file's own closed grammar, as the runtime reads it
    from nclang.compiler.formula import eval_int
    return eval_int(text, sizes)


def gnn_rounds(code: list[dict], sizes: dict) -> tuple[dict, int]:
    """(value id -> round it is ready in, the latest round) of a gnn instruction list."""
    ready: dict = {}

    def at(v):
        return ready.get(v, 0)

    def args_of(ins):
        return [ins[k] for k in ("arg", "table", "index", "body", "cond", "elem")
                if isinstance(ins.get(k), int)] + list(ins.get("args") or [])

    def refs(code):
        out = set()
        for ins in code:
            if ins["op"] == "loop":
                out |= refs(ins["body"])
            else:
                out |= set(args_of(ins))
        return out

    def walk(code, ready):
        for ins in code:
            op = ins["op"]
            if op == "loop":
                inner: dict = {}
                # an iteration is costed from zero: every value it reads is ready at its start
                walk(ins["body"], inner)
                per = max([inner.get(c["next"], 0) for c in ins["carried"]] + [0])
                per = max(1, per) if ins["body"] else 0
                count = _formula(ins["count"], sizes)
                start = max([ready.get(c["init"], 0) for c in ins["carried"]
                             if c.get("init") is not None] + [0])
                # ... and a value from before the loop that the body reads (bellman_ford_pred's
                # second loop reads the first loop's distances) must be ready before it starts
                start = max([start] + [ready[a] for a in refs(ins["body"]) if a in ready])
                for c in ins["carried"]:
                    ready[c["out"]] = start + count * per
                continue
            args = args_of(ins)
            base = max([ready.get(a, 0) for a in args] + [0])
            ready[ins["out"]] = base + (1 if op in ("aggregate", "gather") else 0)
    walk(code, ready)
    return ready, max(ready.values(), default=0)


@pytest.mark.parametrize("text,checked", PROGRAMS)
def test_layers_equal_the_compiled_depth(text, checked):
    sizes = {x: K for x in checked.size_vars if x not in ("n", "m")}
    try:
        artifact, meta, _ = build_checked(Source("p.ncl", text.encode(), text), checked,
                                          sizes=sizes)
    except NclError:
        pytest.skip("the target refuses this program (tests/test_docs_compile.py lists why)")
    layers = analyse(checked).layers
    arch = artifact.architecture
    if checked.family == "bits":
        want = ir.evaluate(layers, sizes)
        assert arch["depth"] == want
        loops = any(isinstance(op, ir.Loop) for op in ir_ops(checked))
        if loops:
            assert arch["natural_depth"] <= want
        else:
            assert arch["natural_depth"] == want, (arch["natural_depth"], layers)
    else:
        at = {**GRAPH_SIZES, **sizes}
        ready, _ = gnn_rounds(arch["program"], at)
        outs = [e["value"] for e in artifact.encodings["outputs"]]
        compiled = 1 + max([ready.get(v, 0) for v in outs] + [0])
        assert compiled == ir.evaluate(layers, at), (compiled, layers)


def ir_ops(checked):
    from nclang.compiler.lower import lower
    return lower(checked).ops


def transformer_blocks_run(arch: dict, sizes: dict) -> int:
    """The blocks the transformer runtime runs at the file's maximum length: a loop's range of
    blocks `count` times (compiler/runtime/transformer.py), every other block once."""
    total = arch["depth"]
    for lp in arch["loops"]:
        first, last = lp["blocks"]
        total += (last - first + 1) * (_formula(lp["count"], sizes) - 1)
    return total


def test_the_seq_programs_are_all_here():
    # every stdlib sequence program is compared below, and the docs add some of their own
    names = {p.values[1].program.name for p in SEQ}
    stdlib = {path.stem for path in (ROOT / "stdlib" / "seq").glob("*.ncl")}
    assert stdlib <= names and len(SEQ) > len(stdlib)


@pytest.mark.parametrize("n", [3, 8])
@pytest.mark.parametrize("text,checked", SEQ)
def test_transformer_layers_equal_the_blocks_run(text, checked, n):
    from nclang.compiler.analysis import transformer_layers
    try:
        artifact, meta, _ = build_checked(Source("p.ncl", text.encode(), text), checked,
                                          sizes={"n": n})
    except NclError:
        pytest.skip("the target refuses this program (tests/test_docs_compile.py lists why)")
    layers = transformer_layers(checked, n)
    assert set(map(str, layers.free_symbols)) <= {"n"}
    ran = transformer_blocks_run(artifact.architecture, {"n": n})
    assert ir.evaluate(layers, {"n": n}) == ran, (ran, layers)


# no stdlib or docs sequence program has a repeat: these (from tests/test_target_transformer.py)
# check that a loop's body blocks count once per trip, with a count growing in n
REPEATS = {
    "prefix_count": """program prefix_count(tokens: seq[token]) -> seq[int] {
    c[i] = 1 if tokens[i] == "a" else 0
    d = 1
    repeat ceil(log2(n)) {
        c[i] = c[i] + (c[i - d] if i >= d else 0)
        d = 2 * d
    }
    return c
}
""",
    **{f"shift {count}": """program shift(tokens: seq[token]) -> seq[int] {
    c[i] = 1 if tokens[i] == "a" else 0
    repeat COUNT {
        c[i] = c[i - 1] if i >= 1 else 0
    }
    return c
}
""".replace("COUNT", count) for count in ("1", "n", "3 * n")},
}


@pytest.mark.parametrize("n", [1, 5, 8])
@pytest.mark.parametrize("name", sorted(REPEATS))
def test_transformer_layers_count_each_trip(name, n):
    from nclang.compiler.analysis import transformer_layers
    text = REPEATS[name]
    checked = check_source(text, "p.ncl")[0]
    artifact, _, _ = build_checked(Source("p.ncl", text.encode(), text), checked, sizes={"n": n})
    arch = artifact.architecture
    assert arch["loops"]
    layers = transformer_layers(checked, n)
    assert ir.evaluate(layers, {"n": n}) == transformer_blocks_run(arch, {"n": n}), layers
    if name != "shift 1":
        assert "n" in map(str, layers.free_symbols)


def test_check_target_transformer_reports_the_blocks():
    # `nclang check --target transformer` prints the block count beside `layers`, and --json
    # holds it with the length it was planned at
    import json
    from tests.cli_inprocess import cli
    prog = ROOT / "stdlib/seq/dyck1.ncl"
    status, out, err = cli("check", "--target", "transformer", "--size", "n=8", prog)
    assert status == 0, err
    assert "layers:     3" in out and "blocks:     6 (the transformer's, compiled for n = 8)" in out
    status, out, _ = cli("check", "--json", "--target", "transformer", prog)
    assert json.loads(out)["programs"][0]["transformer_blocks"] == {"blocks": "6", "n": 4}
    status, out, _ = cli("check", prog)
    assert "blocks:" not in out
