"""Hypothesis strategies for stdlib program inputs, each drawing one instance in its JSON form, and
the harness that runs a stdlib program on one through the JSON codec and the interpreter.

The graphs, bits and sequences are the public strategies of `nclang.testing` (no copies here);
what this adds is what one program's oracle test wants of them: a single source, small weights
that tie, balanced brackets, disjoint lists.
"""
from __future__ import annotations

import functools
import json
import shlex
import shutil
import subprocess
from pathlib import Path

from hypothesis import strategies as st

import nclang.testing as T
from nclang import stdlib

ROOT = Path(__file__).resolve().parent.parent

TOKENS = ("a", "b", "c")
PARENS = ("(", ")")
PARENS2 = ("(", ")", "{", "}")


# ---------------------------------------------------------------- graphs

def graphs(max_n: int = 30) -> st.SearchStrategy[tuple[int, list[list[int]]]]:
    """(n, edges): the public `nclang.testing.graphs`, unpacked."""
    return T.graphs(max_n).map(lambda g: (g["n"], g["edges"]))


def _weights(draw, m: int) -> list[int]:
    # small weights make ties between paths common; large ones check the range
    hi = draw(st.sampled_from([3, 1000]))
    return draw(st.lists(st.integers(0, hi), min_size=m, max_size=m))


@st.composite
def sources_input(draw, max_n: int = 30) -> dict:
    """{"n", "edges", "source"}: bfs and bfs_distance."""
    n, edges = draw(graphs(max_n))
    source = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if draw(st.booleans()):
        # one source is the common case, and most nodes stay unreached on sparse graphs
        s = draw(st.integers(0, n - 1))
        source = [v == s for v in range(n)]
    return {"n": n, "edges": edges, "source": source}


@st.composite
def weighted_sources_input(draw, max_n: int = 30) -> dict:
    """{"n", "edges", "w", "source"}: bellman_ford."""
    inp = draw(sources_input(max_n))
    inp["w"] = _weights(draw, len(inp["edges"]))
    return inp


@st.composite
def graph_input(draw, max_n: int = 30) -> dict:
    """{"n", "edges"}: connected_components, closure."""
    n, edges = draw(graphs(max_n))
    return {"n": n, "edges": edges}


@st.composite
def weighted_graph_input(draw, max_n: int = 12) -> dict:
    """{"n", "edges", "w"}: apsp."""
    n, edges = draw(graphs(max_n))
    return {"n": n, "edges": edges, "w": _weights(draw, len(edges))}


@st.composite
def dfs_input(draw, max_n: int = 30) -> dict:
    """{"n", "edges", "s"}: dfs."""
    n, edges = draw(graphs(max_n))
    return {"n": n, "edges": edges, "s": draw(st.integers(0, n - 1))}


@st.composite
def list_input(draw, max_n: int = 30) -> dict:
    """{"n", "succ"}: disjoint lists (each tail points to itself), or an in-forest where several
    nodes may share a successor."""
    n = draw(st.integers(1, max_n))
    order = draw(st.permutations(range(n)))
    succ = [0] * n
    if draw(st.booleans()):
        cuts = set(draw(st.lists(st.integers(1, n), max_size=3))) | {n}
        start = 0
        for end in sorted(cuts):
            chunk = order[start:end]
            for a, b in zip(chunk, chunk[1:]):
                succ[a] = b
            if chunk:
                succ[chunk[-1]] = chunk[-1]
            start = end
    else:
        # a node points to itself or to a node earlier in `order`, so the only cycles are tails
        for i, v in enumerate(order):
            j = draw(st.integers(0, i))
            succ[v] = v if j == i else order[j]
    return {"n": n, "succ": succ}


# ---------------------------------------------------------------- bits

WIDTHS = st.integers(1, 64)
unsigned = T.bits  # a k-bit unsigned integer: the public strategy


@st.composite
def sbn_input(draw) -> dict:
    """{"mem", "pc"}: sbn_step's 16 words of -64..63 and a program counter."""
    word = st.one_of(st.integers(-64, 63), st.sampled_from([-64, -1, 0, 63]), st.integers(0, 15))
    return {"mem": draw(st.lists(word, min_size=16, max_size=16)), "pc": draw(st.integers(0, 15))}


# ---------------------------------------------------------------- sequences

def token_seqs(alphabet=TOKENS, max_len: int = 20) -> st.SearchStrategy[dict]:
    """{"tokens": [...]} of length 1..max_len over `alphabet`."""
    return T.sequences(alphabet, max_len).map(lambda ts: {"tokens": ts})


def int_seqs(max_len: int = 20, unique: bool = False) -> st.SearchStrategy[dict]:
    """{"tokens": [ints 0..63]}, pairwise distinct when `unique`; a narrow value range makes
    repeats common otherwise."""
    hi = st.sampled_from([3, 63])
    return hi.flatmap(lambda h: T.sequences(st.integers(0, 63 if unique else h), max_len,
                                            unique=unique)).map(lambda ts: {"tokens": ts})


@st.composite
def _balanced(draw, pairs: tuple[str, str], max_pairs: int) -> list[str]:
    open_, close = pairs
    depth, out = 0, []
    for _ in range(2 * draw(st.integers(0, max_pairs))):
        if depth and draw(st.booleans()):
            out.append(close)
            depth -= 1
        else:
            out.append(open_)
            depth += 1
    return out + [close] * depth


@st.composite
def dyck_seqs(draw, kinds: int = 1, max_len: int = 20) -> dict:
    """{"tokens": [...]}: balanced words (interleaved when kinds == 2), slightly broken ones (one
    token changed, dropped or swapped), shuffled ones (as many openers as closers of each kind, but
    some prefix may close more than it opened), and random words."""
    alphabet = PARENS if kinds == 1 else PARENS2
    mode = draw(st.sampled_from(["balanced", "mutated", "shuffled", "random"]))
    if mode == "random":
        return draw(token_seqs(alphabet, max_len))
    words = [draw(_balanced(alphabet[2 * i: 2 * i + 2], max_len // (2 * kinds)))
             for i in range(kinds)]
    tokens: list[str] = []
    while any(words):
        w = draw(st.sampled_from([w for w in words if w]))
        tokens.append(w.pop(0))
    if mode == "shuffled":
        tokens = draw(st.permutations(tokens))
    if mode == "mutated" and tokens:
        i = draw(st.integers(0, len(tokens) - 1))
        how = draw(st.sampled_from(["change", "drop", "swap"]))
        if how == "change":
            tokens[i] = draw(st.sampled_from(alphabet))
        elif how == "drop":
            del tokens[i]
        else:
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
    if not tokens:
        tokens = [draw(st.sampled_from(alphabet))]
    return {"tokens": tokens}


# ---------------------------------------------------------------- running stdlib programs

@functools.cache
def checked(name: str):
    """The checked program of stdlib file `name` ("graph/bfs"), checked once per test session."""
    from nclang.dsl.checker import check_source, select_program
    path = stdlib.path(name)
    return select_program(check_source(path.read_text(), str(path)), None, str(path))


def run_json(name: str, inp: dict, sizes: dict[str, int] | None = None) -> dict:
    """Run stdlib program `name` on one JSON input through the codec and the interpreter, as
    `nclang run` does, and give its JSON output."""
    from nclang.dsl.interpreter import run
    from nclang.dsl.jsonio import decode, encode
    program = checked(name)
    # through JSON text and back, so the input is exactly what a user's file would hold
    obj = json.loads(json.dumps(inp))
    out = encode(program, run(program, decode(program, obj, sizes or {}, "<test>")))
    return json.loads(json.dumps(out, allow_nan=False))


def header(name: str) -> list[str]:
    """The leading `//` comment lines of stdlib file `name`, without the `//`."""
    lines = []
    for line in stdlib.path(name).read_text().splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[2:].strip())
    return lines


def example_command(name: str) -> list[str]:
    """The `nclang run …` command of the header's `Example:` line, as an argument list."""
    (line,) = [h for h in header(name) if h.startswith("Example:")]
    return shlex.split(line.removeprefix("Example:"))


def example(name: str) -> tuple[dict, dict[str, int]]:
    """The example input a stdlib program's header names, and the `--size` options it passes."""
    args = example_command(name)
    inp = json.loads((ROOT / args[args.index("--input") + 1]).read_text())
    sizes = {}
    for i, arg in enumerate(args):
        if arg == "--size":
            key, value = args[i + 1].split("=")
            sizes[key] = int(value)
    return inp, sizes


def family(prefix: str) -> list[str]:
    """The stdlib programs of one family ("graph", "bits", "seq")."""
    return [name for name in stdlib.names() if name.startswith(prefix + "/")]


def assert_header_and_parses(name: str) -> None:
    """Stdlib file `name` opens with a header saying what it computes, its class, its input and an
    example command, and holds one program named after the file."""
    from nclang.dsl.parser import parse
    lines = header(name)
    stem = name.split("/")[1]
    assert lines and lines[0].startswith(stem + ":"), f"{name}: header must open with '{stem}:'"
    for key in ("Class:", "Input:", "Example:"):
        assert any(h.startswith(key) for h in lines), f"{name}: header has no '{key}' line"
    module = parse(stdlib.path(name).read_text(), str(stdlib.path(name)))
    assert [p.name for p in module.programs] == [stem]
    assert example_command(name)[:3] == ["nclang", "run", f"stdlib/{name}.ncl"]


def assert_cli_example(name: str, oracle) -> None:
    """The header's example command, run through the installed `nclang`, prints the oracle's
    answer."""
    args = example_command(name)
    exe = shutil.which(args[0])
    assert exe, "the nclang command is not installed (pip install -e .)"
    done = subprocess.run([exe, *args[1:]], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    inp, sizes = example(name)
    expected = oracle(inp, sizes["k"]) if "k" in sizes else oracle(inp)
    assert json.loads(done.stdout) == expected


_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def assert_class_in_header(name: str) -> None:
    """The header's `Class:` line names the class the analysis finds, and the analysis has nothing
    to say against the program's declared class."""
    from nclang.compiler.analysis import analyse
    found = analyse(checked(name), stdlib.path(name).read_text())
    assert not found.diagnostics, [d.message for d in found.diagnostics]
    (line,) = [h for h in header(name) if h.startswith("Class:")]
    claimed = line.removeprefix("Class:").strip().translate(_DIGITS)
    assert claimed.startswith(found.cls), f"{name}: header says {claimed!r}, analysis {found.cls}"
