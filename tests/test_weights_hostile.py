"""A weight file is data from anywhere (issues 11 and 19): nothing in it is ever run as code, it is
read with bounded memory, every malformed part is a located `FILE:1:1: error:` (exit status 1)
before anything runs, a damaged weight is caught by the tensor digest, and no mutation of a valid
file makes nclang fail with anything but such an error."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import weights_mutants as W
from nclang.compiler import cli
from nclang.compiler import formula as F
from nclang.compiler.atomic import remove_stale, write_atomic
from nclang.compiler.weights import read_weights

REPO = Path(__file__).resolve().parent.parent
PAYLOAD = "__import__('os').system('id > PWNED.txt') + n - 1"


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return W.build_bases(tmp_path_factory.mktemp("bases"))


def edit(data: bytes, key: str, change) -> bytes:
    """The file with metadata document `key` changed by `change(doc)` (returning the new raw
    string, or None to keep json.dumps of the edited doc), as an outside tool would."""
    header, rest = W.split(data)
    doc = json.loads(header["__metadata__"][key])
    raw = change(doc)
    header["__metadata__"][key] = raw if raw is not None else json.dumps(doc)
    return W.join(header, rest)


def with_count(data: bytes, count: str) -> bytes:
    def change(arch):
        loop = next(i for i in arch["program"] if i["op"] == "loop")
        loop["count"] = count
    return edit(data, "architecture", change)


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(map(str, argv)))
    return code, out.getvalue(), err.getvalue()


def located(err: str, path) -> str:
    """The message of the single located error in `err`."""
    lines = [ln for ln in err.splitlines() if ln.startswith(f"{path}:1:1: error: ")]
    assert lines, err
    assert "Traceback" not in err and "internal error" not in err
    return lines[0].removeprefix(f"{path}:1:1: error: ")


# ---------------------------------------------------------------- no code in a file runs

def test_a_loop_count_that_is_python_code_is_refused_and_runs_nothing(bases, tmp_path):
    bad = tmp_path / "bfs.safetensors"
    bad.write_bytes(with_count(bases["bfs"][0], PAYLOAD))
    (tmp_path / "in.json").write_text(json.dumps(bases["bfs"][1]))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for argv in (["exec", bad.name, "--input", "in.json"], ["inspect", bad.name]):
        proc = subprocess.run(["nclang", *argv], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert "is not a size formula" in located(proc.stderr, bad.name)
    assert not (tmp_path / "PWNED.txt").exists()


AUDIT = textwrap.dedent("""
    import contextlib, json, sys
    sys.path[:0] = {paths!r}
    import weights_mutants as W
    from nclang.dsl.diagnostics import NclError
    files = {files!r}
    given = {given!r}

    def everything():
        for f in files:
            with contextlib.suppress(NclError):
                W.exercise(f, given)
    everything()  # first without the hook: every lazy import (torch, the runtimes) happens here
    seen = []
    WATCH = ("exec", "compile", "os.system", "subprocess.Popen", "os.fork", "os.forkpty",
             "ctypes.dlopen", "pickle.find_class", "marshal.loads", "builtins.input")
    def hook(event, args):
        if event in WATCH or event.startswith(("os.exec", "os.spawn", "os.posix_spawn")):
            seen.append(event)
    sys.addaudithook(hook)
    everything()
    found = list(seen)
    import sympy
    sympy.sympify("n + 1")  # the control: what the old reader did is seen by the hook
    print(json.dumps({{"during": found, "control": sorted(set(seen) - set(found))}}))
""")


def test_loading_and_running_crafted_files_evaluates_no_code(bases, tmp_path):
    # audit hooks cannot be removed, so this runs in its own process
    data, given = bases["bfs"]
    files = []
    for i, count in enumerate([PAYLOAD, "n - 1", "ceil(log2(n))", "n +* 1", "n**n**n",
                               "(lambda: 0)()", "max(n, 2) - 1"]):
        f = tmp_path / f"c{i}.safetensors"
        f.write_bytes(with_count(data, count))
        files.append(str(f))
    rng = random.Random(11)
    for i in range(20):
        f = tmp_path / f"m{i}.safetensors"
        f.write_bytes(W.mutate(data, rng))
        files.append(str(f))
    script = AUDIT.format(paths=[str(REPO), str(REPO / "tests")], files=files, given=given)
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["during"] == []
    assert report["control"], "the audit hook did not see sympify compile code: it proves nothing"
    assert not (tmp_path / "PWNED.txt").exists()


def test_no_code_evaluating_call_is_left_on_the_path_that_reads_weight_files():
    banned = ("sympify(", "parse_expr(", "eval(", "exec(", "pickle.load", "torch.load(")
    files = sorted((REPO / "compiler" / "runtime").glob("*.py")) + [
        REPO / "compiler" / f for f in ("weights.py", "schema.py", "formula.py", "inspect.py")]
    hits = [(f.name, b) for f in files for b in banned if b in f.read_text()]
    assert hits == []


# ---------------------------------------------------------------- the reproducers of issue 11

@pytest.mark.parametrize("count,why", [
    ("n +* 1", "unexpected '*'"),
    ("q", "unknown name 'q'"),
    ("n**n**n", "an exponent must be an integer"),
    ("k - 1", "unknown name 'k'"),  # a gnn count is in n and m only
    ("2**62*n", "an exponent must be an integer"),
    ("(" * 100 + "n" + ")" * 100, "nested more than"),
])
def test_a_malformed_loop_count_is_a_located_error_at_load_time(bases, tmp_path, count, why):
    bad = tmp_path / "bfs.safetensors"
    bad.write_bytes(with_count(bases["bfs"][0], count))
    (tmp_path / "in.json").write_text(json.dumps(bases["bfs"][1]))
    for argv in (["exec", bad, "--input", tmp_path / "in.json"], ["inspect", bad]):
        code, _, err = run_cli(*argv)
        assert code == 1
        msg = located(err, bad)
        assert "count" in msg and why in msg


def test_a_count_with_no_value_at_an_input_is_a_located_error_when_it_runs(bases, tmp_path):
    # log2(m) is in the grammar but has no value on a graph without edges
    bad = tmp_path / "bfs.safetensors"
    bad.write_bytes(with_count(bases["bfs"][0], "ceil(log2(m))"))
    (tmp_path / "in.json").write_text(json.dumps({"n": 2, "edges": [], "source": [True, False]}))
    code, _, err = run_cli("exec", bad, "--input", tmp_path / "in.json")
    assert code == 1
    assert "loop count 'ceil(log2(m))' cannot be evaluated at m = 0, n = 2" in located(err, bad)


@pytest.mark.parametrize("raw,why", [
    ('{"cost": NaN}', "'analysis' is not valid JSON (NaN is not a JSON number)"),
    ('{"cost": -Infinity}', "'analysis' is not valid JSON (-Infinity is not a JSON number)"),
    ('{"cost": {}, "cost": {}}', "'analysis' is not valid JSON (the key 'cost' appears twice)"),
    ("[" * 100_000 + "]" * 100_000, "'analysis' is not valid JSON (it is nested too deeply)"),
    ('{"cost": ', "metadata 'analysis' is not valid JSON"),
    ('{"cost": [1, 2]}', "'analysis' must have 'cost' as a JSON object"),
])
def test_metadata_that_is_not_strict_json_of_its_shape_is_a_located_error(bases, tmp_path, raw,
                                                                          why):
    bad = tmp_path / "parity.safetensors"
    bad.write_bytes(edit(bases["parity"][0], "analysis", lambda doc: raw))
    code, _, err = run_cli("inspect", bad)
    assert code == 1
    assert why in located(err, bad)


def _set_input(i, **fields):
    def change(enc):
        enc["inputs"][i].update(fields)
    return change


@pytest.mark.parametrize("name,key,change,why", [
    ("bfs", "encodings", _set_input(1, type="edge[bool]"), "but its type edge[bool] is over"),
    ("bfs", "encodings", lambda enc: enc.update(family="bits"), "encodings family 'bits'"),
    ("bfs", "encodings", _set_input(0, kind="bool"), "exactly one input of kind graph"),
    ("prefix_count", "encodings", _set_input(0, type="bool"), "(a seq[...] type)"),
    ("parity", "encodings", _set_input(0, type="bool"), "but its type bool is []"),
    ("list_ranking", "architecture",
     lambda a: a["program"].insert(0, {"op": "gather", "out": 999, "dom": ["node"],
                                       "kind": "int", "table": 1, "index": 2}),
     "which is not a value computed before it"),
])
def test_a_signature_the_runtime_cannot_feed_is_a_located_error(bases, tmp_path, name, key,
                                                                change, why):
    # each of these used to pass loading (and inspect): the input decoder, or the runtime
    # with a TypeError or a shape error, was left to notice; now loading refuses the file
    bad = tmp_path / f"{name}.safetensors"
    bad.write_bytes(edit(bases[name][0], key, change))
    (tmp_path / "in.json").write_text(json.dumps(bases[name][1]))
    for argv in (["exec", bad, "--input", tmp_path / "in.json"], ["inspect", bad]):
        code, _, err = run_cli(*argv)
        assert code == 1
        assert why in located(err, bad)


def test_inspecting_a_device_reads_nothing_and_is_a_located_error():
    code, _, err = run_cli("inspect", "/dev/zero")
    assert code == 1
    assert located(err, "/dev/zero").startswith("not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "w.safetensors"
    os.mkfifo(fifo)
    proc = subprocess.run(["nclang", "inspect", str(fifo)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert proc.returncode == 1
    assert located(proc.stderr, fifo).startswith("not a regular file")


def test_a_huge_declared_header_is_refused_before_it_is_read(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(struct.pack("<Q", 2 ** 63) + b"{}")
    assert "more than the 100000000" in located(run_cli("inspect", bad)[2], bad)
    bad.write_bytes(struct.pack("<Q", 50_000_000) + b"{}")
    assert "truncated" in located(run_cli("inspect", bad)[2], bad)


def test_tensor_offsets_past_the_end_are_refused_before_the_data_is_read(bases, tmp_path):
    header, rest = W.split(bases["parity"][0])
    name = next(k for k in header if k != "__metadata__")
    header[name]["data_offsets"][1] += 2 ** 40
    bad = tmp_path / "p.safetensors"
    bad.write_bytes(W.join(header, rest))
    assert "not a safetensors file" in located(run_cli("inspect", bad)[2], bad)


def test_an_unknown_metadata_key_is_refused_with_the_key_it_resembles(bases, tmp_path):
    header, rest = W.split(bases["parity"][0])
    header["__metadata__"]["trainig"] = "{}"
    bad = tmp_path / "p.safetensors"
    bad.write_bytes(W.join(header, rest))
    assert located(run_cli("inspect", bad)[2], bad) == (
        "unknown metadata key 'trainig'; did you mean 'training'?")


def test_testing_weights_of_another_signature_is_a_located_error(bases, tmp_path):
    bf = tmp_path / "bellman_ford.safetensors"
    cli.main(["compile", str(REPO / "stdlib/graph/bellman_ford.ncl"), "-o", str(bf)])
    code, _, err = run_cli("test", REPO / "stdlib/graph/bfs.ncl", "--weights", bf,
                           "--examples", "3")
    assert code == 1
    msg = located(err, bf)
    assert msg.startswith("the network takes and returns (g: graph, w: edge[int[0..1000]]")
    assert "but bfs is (g: graph, source: node[bool])" in msg


# ---------------------------------------------------------------- issue 19: the digest

def _flip_first_weight_bit(data: bytes) -> bytes:
    header, rest = W.split(data)
    name, e = next((k, e) for k, e in sorted(header.items())
                   if k != "__metadata__" and e["dtype"] == "F32" and e["shape"])
    i = len(data) - len(rest) + e["data_offsets"][0] + 1  # a mantissa bit of the first weight
    return data[:i] + bytes([data[i] ^ 0x40]) + data[i + 1:]


def test_one_flipped_bit_in_a_weight_is_refused_unless_not_verified(bases, tmp_path):
    bad = tmp_path / "bfs.safetensors"
    bad.write_bytes(_flip_first_weight_bit(bases["bfs"][0]))
    given = tmp_path / "in.json"
    given.write_text(json.dumps(bases["bfs"][1]))
    for argv in (["exec", bad, "--input", given], ["inspect", bad],
                 ["test", REPO / "stdlib/graph/bfs.ncl", "--weights", bad, "--examples", "3"]):
        code, _, err = run_cli(*argv)
        assert code == 1
        assert located(err, bad).startswith("the tensor data does not match its digest")
    code, _, err = run_cli("inspect", bad, "--no-verify")
    assert code == 0, err
    assert run_cli("exec", bad, "--input", given, "--no-verify")[0] in (0, 3)


def test_the_digest_is_the_documented_hash_of_names_dtypes_shapes_and_bytes(bases):
    data = bases["list_ranking"][0]
    header, rest = W.split(data)
    md = header.pop("__metadata__")
    names = sorted(header)
    index = json.dumps([[k, header[k]["dtype"], header[k]["shape"]] for k in names],
                       sort_keys=True, separators=(",", ":")).encode()
    h = hashlib.sha256(struct.pack("<Q", len(index)) + index)
    for k in names:
        b, e = header[k]["data_offsets"]
        h.update(rest[b:e])
    assert json.loads(md["tensors_sha256"]) == h.hexdigest()


# ---------------------------------------------------------------- formulas

def test_every_formula_the_compiler_writes_parses_and_evaluates_as_sympy_does(bases, tmp_path):
    import sympy
    from nclang.compiler import ir
    texts = set()

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k in W.FORMULA_SLOTS and isinstance(x, str):
                    texts.add(x)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    for data, _ in bases.values():
        header, _ = W.split(data)
        walk(json.loads(header["__metadata__"]["architecture"]))
    for f in sorted((REPO / "stdlib" / "graph").glob("*.ncl")):
        out = tmp_path / f"{f.stem}.safetensors"
        cli.main(["compile", str(f), "-o", str(out)])
        walk(read_weights(out)[1]["architecture"])
    assert {"n - 1", "ceil(log2(n))", "2*n", "Max(1000, 1000*n - 1000)"} <= texts
    names = {"log2": ir.log2, "ceil": sympy.ceiling, "floor": sympy.floor,
             **{k: ir.size_symbol(k) for k in "nmk"}}
    for text in texts:
        for n, m in [(1, 0), (2, 1), (5, 7), (64, 100), (1000, 3), (2 ** 20 + 1, 5)]:
            want = ir.evaluate(sympy.sympify(text, locals=names), {"n": n, "m": m, "k": n})
            assert float(F.evaluate(F.parse(text), {"n": n, "m": m, "k": n})) == want, text


@pytest.mark.parametrize("text,sizes,value", [
    ("ceil(log2(n))", {"n": 2 ** 50 + 1}, 51), ("ceil(log2(n))", {"n": 2 ** 50}, 50),
    ("floor(log2(n))", {"n": 2 ** 50 - 1}, 49), ("log2(n)", {"n": 64}, 6),
    ("n - 1", {"n": 1}, 0), ("2*n", {"n": 7}, 14), ("n**2 - -n", {"n": 3}, 12),
    ("floor(n/2) + n//3", {"n": 7}, 5), ("Max(1, n - 1)", {"n": 1}, 1),
    ("min(n, m, 3)", {"n": 9, "m": 4}, 3), ("(n + 1)*(n - 1)/2", {"n": 3}, 4),
])
def test_formulas_evaluate_exactly(text, sizes, value):
    assert F.eval_int(text, sizes) == value


@pytest.mark.parametrize("text,why", [
    ("n/2", "not an integer"), ("log2(n)", "is not an integer"), ("1/(n - 5)", "division"),
    ("ceil(log2(n - 5))", "not a positive integer"), ("n**16*n**16", r"passes 2\^62"),
    ("9223372036854775807*n", r"passes 2\^62"), ("9" * 20, "too long"), ("x" * 1001, "at most"),
    ("n.real", "unexpected character"), ("ceil(n, m)", "one argument"), ("", "empty"),
])
def test_formulas_outside_the_grammar_or_its_limits_are_refused(text, why):
    with pytest.raises(F.FormulaError, match=why):
        F.eval_int(text, {"n": 5, "m": 1})


@given(st.recursive(st.sampled_from(["n", "m", "1", "2", "7", "0"]),
                    lambda e: st.one_of(
                        st.tuples(e, st.sampled_from(["+", "-", "*", "//"]), e).map(
                            lambda t: f"({t[0]} {t[1]} {t[2]})"),
                        e.map(lambda x: f"ceil(log2(({x})**2 + 1))"),
                        st.tuples(e, e).map(lambda t: f"Max({t[0]}, {t[1]})"),
                        e.map(lambda x: f"-{x}")),
                    max_leaves=12),
       st.integers(1, 10 ** 6), st.integers(0, 10 ** 6))
@settings(max_examples=60, deadline=None)
def test_grammar_formulas_evaluate_as_python_integers_do(text, n, m):
    # the oracle: the same text as Python integer arithmetic, with exact integer helpers
    def clog2(x):
        return (x - 1).bit_length()
    py = text.replace("ceil(log2(", "clog2((").replace("Max(", "max(")
    try:
        want = eval(py, {"clog2": clog2, "max": max, "n": n, "m": m})  # noqa: S307 - test oracle
    except ZeroDivisionError:
        with pytest.raises(F.FormulaError, match="division by zero"):
            F.eval_int(text, {"n": n, "m": m})
        return
    if abs(want).bit_length() > F.MAX_BITS:
        with pytest.raises(F.FormulaError):
            F.eval_int(text, {"n": n, "m": m})
        return
    try:
        assert F.eval_int(text, {"n": n, "m": m}) == want
    except F.FormulaError as err:
        assert "passes 2^62" in str(err) or "nested" in str(err)  # an intermediate was too big


# ---------------------------------------------------------------- the fuzzer

@given(rnd=st.randoms(use_true_random=False), name=st.sampled_from([b[0] for b in W.BASES]),
       twice=st.booleans(), verify=st.booleans())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
def test_a_mutated_weight_file_is_a_located_error_or_runs(bases, tmp_path, rnd, name, twice,
                                                          verify):
    data, given_ = bases[name]
    data = W.mutate(data, rnd)
    if twice:
        data = W.mutate(data, rnd)
    path = tmp_path / f"{name}.safetensors"
    path.write_bytes(data)
    assert W.exercise(path, given_, verify) in ("refused", "ran", "slow")


@pytest.mark.slow
def test_ten_thousand_mutated_files_through_the_cli_give_no_internal_error(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "fuzz_weights.py"), "--files",
                           "10000", "--seed", "1"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=7200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


# ---------------------------------------------------------------- atomic writes

def test_a_killed_writers_temporary_is_removed_by_the_next_write_and_nothing_else(tmp_path):
    target = tmp_path / "out.safetensors"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    old = time.time() - 60
    leftovers = {
        f".out.safetensors.{dead}.abcd1234.tmp": False,          # dead writer: removed
        f".out.safetensors.{os.getpid()}.abcd1235.tmp": True,    # a live writer: kept
        ".out.safetensors.abcd1236.tmp": True,                   # old name, young: kept
        f".other.safetensors.{dead}.abcd1237.tmp": True,         # another target: kept
        f".out.safetensors.{dead}.abcd1238.tmp.bak": True,        # not our pattern: kept
    }
    for name in leftovers:
        (tmp_path / name).write_bytes(b"partial")
        os.utime(tmp_path / name, (old, old))
    ancient = tmp_path / ".out.safetensors.abcd1239.tmp"          # older than an hour: removed
    ancient.write_bytes(b"partial")
    os.utime(ancient, (old - 7200, old - 7200))
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    for name, kept in leftovers.items():
        assert (tmp_path / name).exists() == kept, name
    assert not ancient.exists()
    young = tmp_path / f".out.safetensors.{dead}.abcd1240.tmp"   # dead but just written: kept
    young.write_bytes(b"")
    assert remove_stale(str(tmp_path), "out.safetensors") == []


def test_writing_onto_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path, bases):
    real = tmp_path / "store" / "bfs.safetensors"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "bfs.safetensors"
    link.symlink_to(real)
    assert cli.main(["compile", str(REPO / "stdlib/graph/bfs.ncl"), "-o", str(link)]) == 0
    assert link.is_symlink()
    assert real.read_bytes() == bases["bfs"][0]
    assert [p.name for p in real.parent.iterdir()] == ["bfs.safetensors"]
