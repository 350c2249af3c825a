"""Mutated weight files, for the fuzz tests (tests/test_weights_hostile.py) and the long run
(bench/fuzz_weights.py): the property is that reading, inspecting, loading and running any of
them ends in a correct run or an NclError (a located `FILE:1:1:` error, exit status 1 through the
CLI), never another exception.

`mutate(data, rng)` takes a valid file's bytes and a `random.Random` and returns a broken (or
occasionally still valid) file: a size formula replaced by a grammar-fuzzed one, a random JSON
value put in a slot of a metadata document, a key removed or added, a tensor's header entry
changed, or the bytes truncated, bit-flipped or extended.
"""
from __future__ import annotations

import contextlib
import io
import json
import struct
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PREFIX_COUNT = """program prefix_count(tokens: seq[token]) -> seq[int] {
    c[i] = 1 if tokens[i] == "a" else 0
    d = 1
    repeat ceil(log2(n)) {
        c[i] = c[i] + (c[i - d] if i >= d else 0)
        d = 2 * d
    }
    return c
}
"""

# (name, source, compile options, one input)
BASES = [
    ("bfs", "stdlib/graph/bfs.ncl", {},
     {"n": 3, "edges": [[0, 1], [1, 2]], "source": [True, False, False]}),
    ("list_ranking", "stdlib/graph/list_ranking.ncl", {}, {"n": 4, "succ": [1, 2, 3, 3]}),
    ("parity", "stdlib/bits/parity.ncl", {"sizes": {"k": 3}}, {"x": 5}),
    ("prefix_count", None, {"sizes": {"n": 4}}, {"tokens": ["a", "b", "a"]}),
]


def build_bases(folder: Path) -> dict[str, tuple[bytes, dict]]:
    """name -> (the compiled file's bytes, an input for it)."""
    from nclang.compiler.driver import compile_file
    out = {}
    for name, src, options, given in BASES:
        if src is None:
            f = folder / f"{name}.ncl"
            f.write_text(PREFIX_COUNT)
            src = f
        else:
            src = REPO / src
        path = folder / f"{name}.safetensors"
        compile_file(src, path, **options)
        out[name] = (path.read_bytes(), given)
    return out


# ---------------------------------------------------------------- the file's parts

def split(data: bytes):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), data[8 + n:]


def join(header: dict, rest: bytes) -> bytes:
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + rest


def _paths(v, prefix=(), depth=0):
    yield prefix
    if depth > 12:
        return
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, prefix + (k,), depth + 1)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _paths(x, prefix + (i,), depth + 1)


def _get(v, path):
    for p in path:
        v = v[p]
    return v


# ---------------------------------------------------------------- random values

_JUNK = ["__import__('os').system('id')", "n +* 1", "q", "n**n**n", "", " ", "n -", "(n",
         "n)", "lambda: 0", "n; 1", "1e9", "n.real", "2**62*n", "n**17", "9" * 25,
         "(" * 80 + "n" + ")" * 80, "+".join(["n"] * 80), "log2(0)", "1/0", "n/2",
         "ceil(n, m)", "Max()", "ceil(log2(m))", "k", "m - n", "-n"]


def formula(rng, depth=0) -> str:
    """A formula drawn from (mostly) the size grammar, sometimes broken."""
    if rng.random() < 0.08:
        return rng.choice(_JUNK)
    r = rng.random()
    if depth >= 3 or r < 0.35:
        return rng.choice(["n", "m", "k", "1", "2", "3", "0", "5", "n", "n"])
    if r < 0.7:
        op = rng.choice(["+", "-", "*", "//", "/", "*", "+"])
        return f"{formula(rng, depth + 1)} {op} {formula(rng, depth + 1)}"
    if r < 0.8:
        return f"({formula(rng, depth + 1)})**{rng.choice([0, 1, 2, 3])}"
    f = rng.choice(["ceil", "floor", "log2", "Max", "min", "ceil(log2"])
    if f == "ceil(log2":
        return f"ceil(log2({formula(rng, depth + 1)}))"
    if f in ("Max", "min"):
        return f"{f}({formula(rng, depth + 1)}, {formula(rng, depth + 1)})"
    return f"{f}({formula(rng, depth + 1)})"


def json_value(rng, depth=0):
    r = rng.random()
    if depth >= 2 or r < 0.6:
        return rng.choice([None, True, False, 0, 1, -1, 2, 3, 7, 2 ** 40, -(2 ** 63), 0.5,
                           1e300, "", "n", "node", "edge", "int", "bool", "pinf", "relu",
                           "float32", "mlp", "gnn", "x", formula(rng)])
    if r < 0.8:
        return [json_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["in", "out", "op", "name", "kind", "x", "count"]):
            json_value(rng, depth + 1) for _ in range(rng.randrange(3))}


# ---------------------------------------------------------------- mutations

FORMULA_SLOTS = ("count", "expr", "value_bound")
DOCS = ("architecture", "encodings", "analysis", "options")


def mutate(data: bytes, rng) -> bytes:
    kind = rng.choice(["formula", "formula", "slot", "slot", "slot", "delete", "extra",
                       "top", "tensor", "truncate", "flip", "append"])
    try:
        header, rest = split(data)
        md = header["__metadata__"]
        json.loads(md["architecture"])
    except (ValueError, KeyError, TypeError, struct.error):
        kind = rng.choice(["truncate", "flip", "append"])  # no longer a file to edit
    if not data:
        return data
    if kind == "truncate":
        return data[:rng.randrange(len(data))]
    if kind == "flip":
        i = rng.randrange(len(data))
        return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
    if kind == "append":
        return data + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
    if kind == "top":
        r = rng.random()
        k = rng.choice(sorted(md))
        if r < 0.3:
            del md[k]
        elif r < 0.5:
            md[rng.choice(["extra", "trainin", "training", "Format"])] = json.dumps(
                json_value(rng))
        elif r < 0.7:
            md[k] = rng.choice(["NaN", "{\"a\": Infinity}", "[" * 5000 + "]" * 5000,
                                "{\"a\": 1, \"a\": 2}", "{", "-Infinity"])
        else:
            md[k] = json.dumps(json_value(rng))
        return join(header, rest)
    if kind == "tensor":
        names = [k for k in header if k != "__metadata__"]
        e = header[rng.choice(names)]
        r = rng.random()
        if r < 0.3:
            e["dtype"] = rng.choice(["F64", "I64", "BOOL", "U8", "F16", "X"])
        elif r < 0.6:
            e["shape"] = [rng.randrange(5) for _ in range(rng.randrange(4))]
        else:
            e["data_offsets"] = [rng.randrange(64), rng.randrange(2 ** 40)]
        return join(header, rest)
    doc_key = rng.choice([k for k in DOCS if k in md])
    try:
        doc = json.loads(md[doc_key])
    except ValueError:
        doc = {}
    if kind == "formula":
        slots = [p for p in _paths(doc) if p and p[-1] in FORMULA_SLOTS]
        if slots:
            p = rng.choice(slots)
            _get(doc, p[:-1])[p[-1]] = formula(rng)
        else:
            kind = "slot"
    if kind in ("slot", "delete", "extra"):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            doc = json_value(rng)
        else:
            p = rng.choice(paths)
            parent = _get(doc, p[:-1])
            if kind == "slot":
                parent[p[-1]] = json_value(rng)
            elif kind == "delete":
                del parent[p[-1]]
            elif isinstance(parent, dict):
                parent[rng.choice(["extra", "in", "kind", "op", "count", "x"])] = \
                    json_value(rng)
            else:
                parent.append(json_value(rng))
    md[doc_key] = json.dumps(doc)
    return join(header, rest)


# ---------------------------------------------------------------- the property

MAX_ROUNDS = 300  # a crafted count can ask for 2^62 rounds: that is slow, not a crash


def exercise(path: Path, given: dict, verify: bool = True) -> str:
    """Read, inspect, load and run the file at `path` on `given` in-process: "refused" (an
    NclError), "ran" or "slow" (a valid file whose loops would run past MAX_ROUNDS on `given`,
    not run). Any other exception propagates: that is the failure the fuzzers look for."""
    from nclang.compiler.inspect import describe, text
    from nclang.compiler.runtime import load
    from nclang.compiler.weights import read_weights
    from nclang.dsl.diagnostics import NclError
    from nclang.dsl.jsonio import decode, encode
    try:
        tensors, meta = read_weights(path, verify=verify)
        summary = describe(str(path), tensors, meta)
        text(summary)
        net = load(path, verify=verify)
        inst = decode(net.signature, json.loads(json.dumps(given)), net.sizes, "in.json", 1)
        if _too_many_rounds(meta, given):
            return "slow"
        out = net.run([inst])[0]
        if not net.inexact(out):
            json.dumps(encode(net.signature, out), allow_nan=False)
    except NclError:
        return "refused"
    return "ran"


def counts_too_big(path: Path, given: dict) -> bool:
    """Whether the file's loops would run more than MAX_ROUNDS rounds on `given`."""
    from nclang.compiler.weights import read_weights
    from nclang.dsl.diagnostics import NclError
    try:
        return _too_many_rounds(read_weights(path, verify=False)[1], given)
    except NclError:
        return False


def _too_many_rounds(meta: dict, given: dict) -> bool:
    from nclang.compiler import formula as F
    sizes = {"n": given.get("n") or len(given.get("tokens", ())) or 1,
             "m": len(given.get("edges", ()))}
    total = 0
    for lp in _loops(meta["architecture"]):
        with contextlib.suppress(F.FormulaError):
            total += max(F.eval_int(lp["count"], sizes), 0)
    return total > MAX_ROUNDS


def _loops(arch: dict):
    if arch.get("family") == "transformer":
        yield from arch.get("loops", [])
        return

    def walk(code):
        for ins in code:
            if ins.get("op") == "loop":
                yield ins
                yield from walk(ins.get("body", []))
    yield from walk(arch.get("program", []))


def cli_codes(path: Path, given_file: Path) -> tuple[int, int, str]:
    """(exit status of `nclang exec`, of `nclang inspect --json`, their stderr), run in-process."""
    from nclang.compiler import cli
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        a = cli.main(["exec", str(path), "--input", str(given_file)])
        b = cli.main(["inspect", "--json", str(path)])
    return a, b, err.getvalue()
