"""No source text makes `nclang` crash: every program is checked, compiled and run, or refused
with located diagnostics (`FILE:LINE:COL: error: …`, exit status 1).

Two halves:

- `CORPUS`: every crash once reported on source input (issues 11, 12 and 19), as an explicit
  regression case with the exit status and message it must give now. Cases run the CLI in this
  process, so that a traceback would fail the test rather than vanish in a subprocess.
- a bounded fuzzer: token-level mutations of the stdlib and docs programs (delete, duplicate or
  swap tokens, huge/negative/zero literals, identifiers renamed to size names, `repeat` with
  enormous counts, …) and random token soups, each checked and, when it checks, compiled with
  small sizes. The property: only `NclError` (located diagnostics) or success, never another
  exception and never a hang. Each test sets a fixed, small example count (CI=true adds
  hypothesis's `ci` profile: derandomized); the slow-marked test runs 10^4 mutants.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ast_strategies
from nclang.compiler import cli
from nclang.dsl.pretty import pretty
from source_fuzz import MUTATIONS, check_and_compile, mutate, seeds

ROOT = Path(__file__).resolve().parent.parent


def src(*lines: str) -> str:
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    source: str
    command: str = "check"            # check | compile | run
    args: tuple[str, ...] = ()
    input: dict | None = None         # for `run`
    status: int = 1
    says: str = ""                    # a fragment of the first error (status 1) or of stdout
    at: tuple[int, int] | None = None  # (line, col) of the first error


CORPUS: dict[str, Case] = {}


def case(name: str, c: Case) -> None:
    assert name not in CORPUS
    CORPUS[name] = c


# ---- sizes other than n, m, k (issue 11): named widths work end to end
case("width-w-compiles", Case(src("program p(x: bits[w]) -> bool {",
                                  "    return reduce(xor, x)",
                                  "}"), "compile", ("--size", "w=4"), status=0))
case("width-q-beside-k-compiles", Case(src("program p(x: bits[q], y: bits[k]) -> bool {",
                                           "    return x[0] and y[0]",
                                           "}"), "compile", ("--size", "q=4", "--size", "k=3"),
                                       status=0))
case("width-NC2-compiles", Case(src("program p(x: bits[NC2]) -> int {",
                                    "    return count(i for i in range(NC2) if x[i])",
                                    "}"), "compile", ("--size", "NC2=4"), status=0))
# ---- a local named like a size the family lacks is a variable (issue 12 #2)
case("local-m-k-in-seq-compiles", Case(
    src("program p(tokens: seq[int[0..9]]) -> int {",
        "    m = 3",
        "    k = m + 1",
        "    return k + count(i for i in positions if tokens[i] > m)",
        "}"), "compile", ("--size", "n=4"), status=0))

# ---- literals beyond 2^53, whatever their length (issue 11): refused as they are read
case("literal-5000-digits-in-expression", Case(src("program p(x: bits[k]) -> int {",
                                                   "    return " + "9" * 5000,
                                                   "}"), says="too large", at=(2, 12)))
case("literal-5000-digits-in-type", Case(src("program p(x: bits[" + "9" * 5000 + "]) -> bool {",
                                             "    return x[0]",
                                             "}"), says="too large", at=(1, 19)))
case("literal-beyond-2^53", Case(src("program p(g: graph, s: node[bool]) -> node[int] {",
                                     "    r[v] = 9007199254740993 if s[v] else 0",
                                     "    return r",
                                     "}"), "compile", says="below 2^53", at=(2, 12)))
case("literal-mod-10^41", Case(src("program p(x: vec[int[0..100], k]) -> vec[int, k] {",
                                   f"    y[i] = x[i] % {10 ** 41}",
                                   "    return y",
                                   "}"), "compile", ("--size", "k=3"), says="too large",
                               at=(2, 19)))
case("bound-10^400", Case(src(f"program p(g: graph, d: node[int[0..{10 ** 400}]]) -> node[int] {{",
                              "    e[v] = d[v]",
                              "    return e",
                              "}"), says="too large", at=(1, 36)))
case("negative-bound-beyond-2^53", Case(
    src("program p(g: graph, d: node[int[-9007199254740992..0]]) -> node[int] {",
        "    e[v] = d[v]",
        "    return e",
        "}"), says="-9007199254740992", at=(1, 34)))
case("vec-size-10^20", Case(src(f"program p(x: vec[int[0..9], {10 ** 20}]) -> int {{",
                                "    return reduce(+, x)",
                                "}"), says="too large", at=(1, 29)))
# ---- ranges with no finite bound (issue 11)
case("int-inf-inf", Case(src("program p(g: graph, d: node[int[inf..inf]]) -> node[int] {",
                             "    e[v] = d[v]",
                             "    return e",
                             "}"), says="lower bound cannot be inf", at=(1, 29)))
case("int-minus-inf-minus-inf", Case(
    src("program p(g: graph, d: node[int[-inf..-inf]]) -> node[int] {",
        "    e[v] = d[v]",
        "    return e",
        "}"), says="upper bound -inf", at=(1, 29)))
# ---- an empty file is not a program (issue 19)
case("empty-file", Case("", says="no program in", at=(1, 1)))
case("comments-only", Case("// nothing here\n", says="no program in", at=(1, 1)))

# ---- size expressions are integers at every size (issues 11, 12 #5, 19)
case("size-divide-by-zero-in-type", Case(
    src("program p(x: bits[k // 0]) -> bool {",
        "    return x[0]",
        "}"), says="division by 0: a size divides only", at=(1, 24)))
case("size-divide-by-zero-in-range", Case(src("program p(x: bits[k]) -> int {",
                                              "    return count(i for i in range(k // 0) if x[0])",
                                              "}"), "compile", ("--size", "k=3"),
                                          says="division by 0: a size divides only", at=(2, 40)))
case("size-divide-by-zero-in-repeat", Case(
    src("program p(g: graph, s: node[bool]) -> node[bool] {",
        "    r = s",
        "    repeat n // 0 {",
        "        r[v] = r[v] or any(r[u] for u in in(v))",
        "    }",
        "    return r",
        "}"), says="division by 0: a size divides only", at=(3, 17)))
case("size-divisor-may-be-zero", Case(
    src("program p(x: bits[k]) -> int {",
        "    return count(i for i in range(k // (k - 1)) if x[0])",
        "}"), says="divisor k - 1 of a size may be 0",
    at=(2, 41)))
case("size-bare-log2", Case(src("program p(g: graph, s: node[bool]) -> node[bool] {",
                                "    r = s",
                                "    repeat log2(n) {",
                                "        r[v] = r[v] or any(r[u] for u in in(v))",
                                "    }",
                                "    return r",
                                "}"), says="ceil(log2(n))", at=(3, 12)))
case("size-log2-of-zero", Case(src("program p(x: bits[k]) -> int {",
                                   "    return count(i for i in range(ceil(log2(k - 1))) if x[0])",
                                   "}"), says="needs at least 1", at=(2, 40)))
case("size-log2-of-a-constant-power-of-two", Case(
    src("program p(x: bits[k]) -> int {",
        "    return count(i for i in range(log2(8)) if x[i])",
        "}"), "run", ("--size", "k=4"),
    input={"x": 15}, status=0, says='"result": 3'))

# ---- booleans are not numbers, and and/or/xor take booleans (issue 19), also inside a repeat,
# whose later passes used to see only the silent error type
case("bool-plus-int-in-repeat", Case(
    src("program p(g: graph, source: node[bool]) -> node[bool] {",
        "    reached = source",
        "    repeat n - 1 {",
        "        reached[v] = reached[v] + 1 or any(reached[u] for u in in(v))",
        "    }",
        "    return reached",
        "}"), says="a bool is not a number", at=(4, 22)))
case("int-or-bool", Case(src("program p(g: graph, x: node[int[0..3]]) -> node[bool] {",
                             "    r[v] = x[v] or true",
                             "    return r",
                             "}"), says="expected a bool, got int[0..3]", at=(2, 12)))
case("int-or-in-repeat", Case(src("program p(g: graph, x: node[int[0..3]]) -> node[bool] {",
                                  "    r[v] = false",
                                  "    repeat 2 {",
                                  "        r[v] = r[v] or x[v]",
                                  "    }",
                                  "    return r",
                                  "}"), says="expected a bool", at=(4, 24)))
# ---- comparisons do not chain: a syntax error at the second operator
case("chained-comparison", Case(src("program p(tokens: seq[int[0..9]]) -> seq[bool] {",
                                    "    c[i] = 0 < tokens[i] < 5",
                                    "    return c",
                                    "}"), says="comparisons do not chain", at=(2, 26)))

# ---- the range analysis stays bounded however long a loop runs (issue 11)
LIST_RANKING = (ROOT / "stdlib" / "graph" / "list_ranking.ncl").read_text()
APSP = (ROOT / "stdlib" / "graph" / "apsp.ncl").read_text()
case("list-ranking-repeat-10^6-checks", Case(
    LIST_RANKING.replace("repeat ceil(log2(n))", "repeat 1000000"), status=0, says="unbounded"))
case("list-ranking-repeat-10^12-checks", Case(
    LIST_RANKING.replace("repeat ceil(log2(n))", "repeat 1000000000000"), status=0,
    says="unbounded"))
case("list-ranking-repeat-10^6-is-refused-as-unbounded", Case(
    LIST_RANKING.replace("repeat ceil(log2(n))", "repeat 1000000"), "compile",
    says="rank reaches unbounded"))
case("min-plus-repeat-n*n-checks", Case(
    APSP.replace("repeat ceil(log2(n))", "repeat n * n").replace(" in NC2", ""), status=0,
    says="exact in float32 for n <= 3"))

# ---- constant indexes outside the domain (issue 11, 12 #4)
case("index-minus-one", Case(src("program p(tokens: seq[token]) -> seq[token] {",
                                 "    out[i] = tokens[-1]",
                                 "    return out",
                                 "}"), says="index -1 is outside positions", at=(2, 21)))
case("index-beyond-a-constant-width", Case(src("program p(x: bits[4]) -> bool {",
                                               "    return x[4]",
                                               "}"), says="outside range(4) (0..3)", at=(2, 14)))
case("index-5-at-n-4-compile", Case(src("program p(tokens: seq[token]) -> seq[token] {",
                                        "    out[i] = tokens[5]",
                                        "    return out",
                                        "}"), "compile", ("--size", "n=4"),
                                    says="index 5 is outside positions (0..3) at n = 4",
                                    at=(2, 21)))
case("index-guarded-minus-one-in-range-is-fine", Case(
    src("program p(tokens: seq[int[0..9]]) -> seq[int] {",
        "    s[i] = tokens[i - 1] if i > 0 else 0",
        "    return s",
        "}"), "run", input={"tokens": [1, 2]}, status=0, says='"s": [0, 1]'))
case("count-against-tokens-0-runs", Case(
    src("program p(tokens: seq[token]) -> seq[int] {",
        "    c[i] = count(j for j in positions if tokens[j] == tokens[0])",
        "    return c",
        "}"), "run", input={"tokens": ["a", "b", "a", "c"]}, status=0,
    says='"c": [2, 2, 2, 2]'))

# ---- interpreter resource limits, checked before allocating (issue 11)
CLOSURE = (ROOT / "stdlib" / "graph" / "closure.ncl").read_text()
case("closure-at-n-10^9-is-refused-at-once", Case(CLOSURE, "run", input={"n": 10 ** 9},
                                                  says="limit of 10,000,000 for any size"))
case("closure-at-n-5000-is-refused-before-n^3", Case(CLOSURE, "run", input={"n": 5000},
                                                     says="limit of 67,108,864"))
case("repeat-10^12-is-refused-before-it-starts", Case(
    src("program p(g: graph, s: node[bool]) -> node[bool] {",
        "    r = s",
        "    repeat 1000000000000 {",
        "        r[v] = not r[v]",
        "    }",
        "    return r",
        "}"), "run", input={"n": 2, "s": [True, False]}, says="limit of 1,000,000 loop",
    at=(3, 5)))
case("nested-repeats-count-together", Case(
    src("program p(g: graph, s: node[bool]) -> node[bool] {",
        "    r = s",
        "    repeat 1000 {",
        "        repeat 1001 {",
        "            r[v] = not r[v]",
        "        }",
        "    }",
        "    return r",
        "}"), "run", input={"n": 1, "s": [True]}, says="would run 1,002,000 iterations",
    at=(3, 5)))
case("huge-vec-is-refused-before-allocating", Case(
    src("program p(x: bits[k]) -> vec[int, 1099511627776] {",
        "    c[i in range(1099511627776)] = i",
        "    return c",
        "}"), "run", ("--size", "k=1"), input={"x": 0}, says="limit of 67,108,864",
    at=(2, 5)))
case("compile-size-beyond-the-limit", Case(
    (ROOT / "stdlib" / "bits" / "parity.ncl").read_text(), "compile",
    ("--size", "k=100000000"), says="limit of 10,000,000"))
case("mlp-compile-size-beyond-its-limit", Case(
    (ROOT / "stdlib" / "bits" / "parity.ncl").read_text(), "compile",
    ("--size", "k=100000"), says="past the mlp target's limit of 131,072"))
case("mlp-constant-width-beyond-its-limit", Case(
    src("program parity(x: bits[16777216]) -> bool {",
        "    return reduce(xor, x)",
        "}"), "compile", says="needs 16,777,216 input channels", at=(1, 9)))

# ---- constants beyond what the arithmetic holds exactly are refused for every target (issue 11)
case("seq-literal-beyond-2^24-float32", Case(src("program p(tokens: seq[int[0..9]]) -> seq[bool] {",
                                                 "    c[i] = tokens[i] == 1073741825",
                                                 "    return c",
                                                 "}"), "compile", ("--size", "n=4"),
                                             says="passes 2^24 at n = 4", at=(2, 25)))
case("seq-literal-beyond-2^24-float64-compiles", Case(
    src("program p(tokens: seq[int[0..9]]) -> seq[bool] {",
        "    c[i] = tokens[i] == 1073741825",
        "    return c",
        "}"), "compile", ("--size", "n=4", "--dtype", "float64"), status=0))
case("graph-literal-beyond-2^24", Case(
    src("program p(g: graph, x: node[int[0..9]]) -> node[bool] {",
        "    c[v] = x[v] == 1073741825",
        "    return c",
        "}"), "compile", says="float32 cannot", at=(2, 20)))

case("mlp-repeat-10^12-is-refused-before-unrolling", Case(
    (ROOT / "stdlib" / "bits" / "add_ripple.ncl").read_text().replace("repeat k {",
                                                                      "repeat 1000000000000 {"),
    "compile", ("--size", "k=3"), says="limit of 10,000 unrolled iterations"))
# ---- found by the fuzzer
case("index-may-be-inf", Case(src("program p(tokens: seq[token]) -> seq[token] {",
                                  "    out[i] = tokens[inf - 1 - i]",
                                  "    return out",
                                  "}"), says="may be inf", at=(2, 21)))
case("index-minus-one-of-a-sized-range", Case(src("program p(a: bits[k]) -> bits[2 * k] {",
                                                  "    acc[j in range(2 * k)] = false",
                                                  "    acc[j] = acc[- 1]",
                                                  "    return acc",
                                                  "}"), says="outside range(2 * k)",
                                              at=(3, 18)))
case("width-q-in-the-cost-analysis", Case(
    src("program p(a: bits[q], b: bits[q]) -> bool in AC0 {",
        "    d = argmax(i for i in range(q) if a[i] xor b[i])",
        "    return d != none and b[d]",
        "}"), "compile", ("--size", "q=3"), status=0))


def run_cli(tmp_path, capsys, c: Case) -> tuple[int, str, str, str]:
    prog = tmp_path / "prog.ncl"
    prog.write_text(c.source)
    args = [c.command, str(prog), *c.args]
    if c.command == "compile":
        args += ["-o", str(tmp_path / "out.safetensors")]
    if c.command == "run":
        (tmp_path / "in.json").write_text(json.dumps(c.input))
        args += ["--input", str(tmp_path / "in.json")]
    status = cli.main(args)
    out, err = capsys.readouterr()
    return status, out, err, str(prog)


# once a crash inside the transformer target (issue 12 #4: 'parallel of no blocks')
case("count-against-tokens-0-compiles", Case(
    src("program p(tokens: seq[token]) -> seq[int] {",
        "    c[i] = count(j for j in positions if tokens[j] == tokens[0])",
        "    return c",
        "}"), "compile", ("--size", "n=4"), status=0))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_reported_crash_is_now_an_answer_or_a_located_error(name, tmp_path, capsys):
    c = CORPUS[name]
    status, out, err, prog = run_cli(tmp_path, capsys, c)
    assert "internal error" not in err and "Traceback" not in err, err
    assert status == c.status, err
    if status == 1:
        first = err.splitlines()[0]
        where, _, message = first.partition(": error: ")
        assert message, first
        file, line, col = where.rsplit(":", 2)
        assert file == prog, first
        if c.at is not None:
            assert (int(line), int(col)) == c.at, first
        assert c.says in message, first
    else:
        assert c.says in out, out


# ---------------------------------------------------------------- the fuzzer

SEEDS = seeds()


def assert_only_located_errors(text: str, compile_too: bool = True) -> None:
    out = check_and_compile(text, compile_too=compile_too, seconds=60)
    if out.error:
        raise AssertionError(f"{out.stage}: not a located error:\n{out.error}\n--- source:\n{text}")


@st.composite
def mutants(draw, max_mutations: int = 3) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, max_mutations))):
        text = mutate(text, lambda xs: draw(st.sampled_from(list(xs))))
    return text


# vocabulary of the random token soups: enough of the grammar that some soups parse
SOUP = ("program", "p", "(", ")", "x", ":", "bits", "[", "]", "k", "->", "bool", "int", "{", "}",
        "return", "repeat", "n", "g", "graph", "node", "seq", "token", "tokens", "v", "i", "=",
        "+", "-", "*", "//", "%", "==", "<", "and", "or", "not", "if", "else", "for", "in",
        "nodes", "positions", "range", "count", "sum", "any", "min", "0", "1", "-1", "inf",
        "9007199254740993", "..", ",", "reduce", "xor", "def", "ceil", "log2", "until",
        "stable", '"a"', "none", "edge", "pair", "vec", "m", "w")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_mutated_programs_check_and_compile_or_give_located_errors(text):
    assert_only_located_errors(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(SOUP), max_size=40).map(" ".join))
def test_random_token_soups_give_located_errors(text):
    assert_only_located_errors(text)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(ast_strategies.modules)
def test_generated_modules_check_or_give_located_errors(module):
    assert_only_located_errors(pretty(module))


def test_every_mutation_kind_is_exercised():
    import random
    rng = random.Random(0)
    seed = SEEDS[0]
    outs = {kind: mutate(seed, lambda xs, kind=kind: kind if xs is MUTATIONS else rng.choice(xs))
            for kind in MUTATIONS}
    assert all(isinstance(t, str) for t in outs.values())
    assert sum(t != seed for t in outs.values()) >= len(MUTATIONS) - 1


@pytest.mark.slow
def test_ten_thousand_mutants_give_no_internal_error():
    import random
    rng = random.Random(20261202)
    failures = []
    for _ in range(10_000):
        text = rng.choice(SEEDS)
        for _ in range(rng.choice((1, 1, 2, 3))):
            text = mutate(text, rng.choice)
        out = check_and_compile(text, seconds=60)
        if out.error:
            failures.append((out.error.strip().splitlines()[-1], text))
    assert not failures, f"{len(failures)} internal errors; first: {failures[0]}"


# ---------------------------------------------------------------- the limits' estimates

def _checked(name: str):
    from nclang.dsl.checker import check_source
    path = ROOT / "stdlib" / name
    return check_source(path.read_text(), str(path))[0]


def test_limits_let_message_passing_at_large_sparse_graphs_through():
    from nclang.dsl import limits
    # in(v) joins each node with its own edges: about m elements, never n × m
    assert limits.check_spaces(_checked("graph/bfs.ncl"), {"n": 10 ** 5, "m": 10 ** 6}) is None


def test_limits_bound_pair_fields_by_n_squared_and_triplets_by_n_cubed():
    from nclang.dsl import limits
    closure = _checked("graph/closure.ncl")
    assert limits.check_spaces(closure, {"n": 400, "m": 0}) is None       # 400^3 < 2^26
    found = limits.check_spaces(closure, {"n": 410, "m": 0})               # 410^3 > 2^26
    assert found is not None and "68,921,000 elements" in found.message
