"""Bad inputs to the Python API raise `nclang.NclError` whose message is located
`FILE:LINE:COL: error: ...` lines, the CLI's own where the CLI has the same case — never an
AttributeError, KeyError or TypeError from inside the checker, the interpreter or the runtime."""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import weights_mutants as W
from cli_inprocess import cli, headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nclang.compiler import weights

import nclang

REPO = Path(__file__).resolve().parent.parent
ADD = REPO / "stdlib" / "bits" / "add.ncl"
BFS = REPO / "stdlib" / "graph" / "bfs.ncl"
REVERSE = REPO / "stdlib" / "seq" / "reverse.ncl"
LINE = re.compile(r"^(.+?):(\d+):(\d+): (error|warning|note): (.+)$")


def located(err: nclang.NclError) -> list[tuple[str, int, int, str, str]]:
    """The diagnostics of `err` as (file, line, col, severity, message), after checking that
    its message is exactly those located lines."""
    lines = str(err).split("\n")
    found = [LINE.match(line) for line in lines]
    assert all(found), str(err)
    return [(m[1], int(m[2]), int(m[3]), m[4], m[5]) for m in found]


def raises(call, *args, **kwargs):
    with pytest.raises(nclang.NclError) as info:
        call(*args, **kwargs)
    return located(info.value)


@pytest.fixture(scope="module")
def nets():
    return {"add": nclang.compile(ADD, sizes={"k": 4}), "bfs": nclang.compile(BFS),
            "reverse": nclang.compile(REVERSE, sizes={"n": 4})}


# ---------------------------------------------------------------- source

@pytest.mark.parametrize("text", [
    "program p(x: int[0..3]) -> int[0..3] {\n    return x +\n}\n",
    "program p(x: int[0..3]) -> int[0..3] {\n    return y\n}\n",
    "program p(x: int[0..3]) -> bool {\n    return x\n}\n",
    "",
    "program",
], ids=["syntax", "unknown-name", "wrong-type", "empty", "truncated"])
def test_malformed_source_is_the_error_nclang_check_prints(text, tmp_path):
    f = tmp_path / "bad.ncl"
    f.write_text(text)
    status, _, stderr = cli("check", f)
    assert status == 1
    assert raises(nclang.check, f) == headers(stderr)
    # the same text given as source is the same error in the file `<source>`
    as_text = raises(nclang.check, text)
    assert [d[1:] for d in as_text] == [(*d[1:4], d[4].replace(str(f), "<source>"))
                                        for d in headers(stderr)]
    assert {d[0] for d in as_text} == {"<source>"}


def test_a_file_that_cannot_be_read_is_located_at_the_file(tmp_path):
    (tmp_path / "dir.ncl").mkdir()
    ((file, line, col, sev, msg),) = raises(nclang.check, tmp_path / "dir.ncl")
    assert (file, line, col, sev) == (str(tmp_path / "dir.ncl"), 1, 1, "error")
    assert msg.startswith("cannot read file")


def test_the_wrong_kind_of_argument_is_a_type_error_not_a_crash_inside():
    with pytest.raises(TypeError, match="source text, a path"):
        nclang.check(42)
    with pytest.raises(TypeError, match="weight file's path"):
        nclang.load(3.5)


# ---------------------------------------------------------------- inputs

BAD_INPUTS = {
    "add": [{"a": 1, "c": 2}, {"a": 1}, {"a": 1, "b": 16}, {"a": -1, "b": 0},
            {"a": "1", "b": 0}, {"a": 1.5, "b": 0}, {"a": True, "b": 0}, {"a": None, "b": 0}],
    "bfs": [{"n": 3, "edges": [[0, 5]], "source": [True, False, False]},
            {"n": 0, "edges": [], "source": []},
            {"n": 2, "edges": [[0, 1]], "source": [True]},
            {"n": 2, "edges": "0-1", "source": [True, False]},
            {"n": 2, "edges": [[0, 1, 1]], "source": [True, False]},
            {"edges": [], "source": [True]}],
    "reverse": [{"tokens": "abc"}, {"tokens": [1, 2]}, {"tokens": ["a"] * 5},
                {"tokens": ["a", "q"]}],
}
SOURCES = {"add": ADD, "bfs": BFS, "reverse": REVERSE}
SIZES = {"add": {"k": 4}, "bfs": None, "reverse": None}


def _cases():
    return [(name, i) for name, bad in BAD_INPUTS.items() for i in range(len(bad))]


@pytest.mark.parametrize("name, i", _cases(), ids=[f"{n}-{i}" for n, i in _cases()])
def test_a_bad_input_is_the_error_nclang_exec_prints_for_it_as_json_lines(name, i, nets,
                                                                         tmp_path):
    good = {"add": {"a": 1, "b": 2}, "bfs": {"n": 1, "edges": [], "source": [True]},
            "reverse": {"tokens": ["a"]}}[name]
    inputs = [good, BAD_INPUTS[name][i]]  # the bad one is on line 2
    path = tmp_path / "net.safetensors"
    nets[name].save(path)
    status, _, stderr = cli("exec", path, "-i", "-",
                            stdin="".join(json.dumps(x) + "\n" for x in inputs))
    assert status == 1, stderr
    shown = f"<compiled {nets[name].program}>"  # what the API calls a compiled network
    expected = [(line, col, sev, msg.replace(str(path), shown))
                for _, line, col, sev, msg in headers(stderr)]
    got = raises(nets[name].run, inputs)
    assert {d[0] for d in got} == {"<inputs>"}
    assert [d[1:] for d in got] == expected


@pytest.mark.parametrize("name, i", [c for c in _cases() if c[0] != "reverse"],
                         ids=[f"{n}-{i}" for n, i in _cases() if n != "reverse"])
def test_a_bad_input_to_the_interpreter_is_the_error_nclang_run_prints(name, i):
    inputs = [BAD_INPUTS[name][i]]
    argv = ["run", SOURCES[name], "-i", "-"]
    for k, v in (SIZES[name] or {}).items():
        argv += ["--size", f"{k}={v}"]
    status, _, stderr = cli(*argv, stdin=json.dumps(inputs[0]) + "\n")
    assert status == 1
    got = raises(nclang.run, SOURCES[name], inputs, sizes=SIZES[name])
    assert [d[1:] for d in got] == [d[1:] for d in headers(stderr)]


@pytest.mark.parametrize("inputs, says", [
    (5, "inputs must be a dict"), ("{}", "inputs must be a dict"), ([5], "must be a dict"),
    ([{"a": 1, "b": 2}, ["a"]], "input 2 must be a dict"),
    ({"a": float("nan"), "b": 1}, "not JSON data"), ({"a": object(), "b": 1}, "not JSON data"),
    ({"a": 1, "b": 2, 3: 4}, "unknown field '3'"),
])
def test_inputs_that_are_not_json_objects_are_located_errors(inputs, says, nets):
    for call in (nets["add"].run, lambda x: nclang.run(ADD, x, sizes={"k": 4})):
        found = raises(call, inputs)
        assert any(says in d[4] for d in found), found
        assert all(d[0] == "<inputs>" for d in found)


def test_a_run_error_of_the_program_is_noted_at_its_input():
    src = ("program div(a: int[0..7], b: int[0..7]) -> int[0..7] {\n"
           "    return a // b\n}\n")
    found = raises(nclang.run, src, [{"a": 1, "b": 1}, {"a": 1, "b": 0}])
    assert found[0][:2] == ("<source>", 2) and found[0][3] == "error"
    assert found[-1] == ("<inputs>", 2, 1, "note", "while running the program on this input")


def test_an_output_the_network_did_not_compute_exactly_is_an_error_not_an_answer(nets):
    tensors, meta = weights.read_weights_bytes(nets["add"].to_bytes())
    last = max(k for k in tensors if k.endswith("bias"))
    tensors[last] = tensors[last] + 0.5  # every output half-way between two values
    broken = nclang.load(weights.encode(tensors, meta))
    found = raises(broken.run, [{"a": 1, "b": 2}, {"a": 3, "b": 3}])
    assert {(d[0], d[1]) for d in found} == {("<inputs>", 1), ("<inputs>", 2)}
    assert all(d[4].endswith("<bytes> does not compute add exactly on this input")
               for d in found)


# ---------------------------------------------------------------- options

@pytest.mark.parametrize("kwargs, code_says", [
    ({"target": "gpu"}, "unknown target 'gpu'"),
    ({"target": "gnn"}, "the gnn target compiles graph programs"),
    ({"activation": "tanh"}, "unknown activation 'tanh'"),
    ({"dtype": "float16"}, "unknown dtype 'float16'"),
    ({"sizes": {"k": 0}}, "a size is an integer of at least 1"),
    ({"sizes": {"k": -3}}, "a size is an integer of at least 1"),
    ({"sizes": {"k": True}}, "a size is an integer of at least 1"),
    ({"sizes": {"k": "8"}}, "a size is an integer of at least 1"),
    ({"sizes": {"k": 4.0}}, "a size is an integer of at least 1"),
    ({"sizes": {"q": 4}}, "has no size variable q"),
    ({"sizes": {"k": 4, "kk": 2}}, "has no size variable kk; did you mean 'k'?"),
    ({"sizes": [("k", 4)]}, "sizes must be a dict"),
    ({"sizes": {"k": 10 ** 9}}, "beyond the limit"),
    ({"sizes": None}, "size k is not fixed"),
])
def test_bad_compile_options_are_errors_at_the_programs_name(kwargs, code_says):
    kwargs = {"sizes": {"k": 4}, **kwargs}
    ((file, _, _, sev, msg),) = raises(nclang.compile, ADD, **kwargs)
    assert (file, sev) == (str(ADD), "error") and code_says in msg, msg


def test_a_size_the_input_fixes_is_refused():
    ((_, _, _, _, msg),) = raises(nclang.compile, BFS, sizes={"n": 4})
    assert "fixed by the input" in msg
    ((_, _, _, _, msg),) = raises(nclang.run, BFS, {"n": 1, "edges": [], "source": [True]},
                                  sizes={"n": 1})
    assert "fixed by the input" in msg


@pytest.mark.parametrize("vocab", ["abc", ("a", "a"), ("a", ""), (1, 2), ()])
def test_a_bad_vocabulary_is_refused(vocab):
    ((_, _, _, _, msg),) = raises(nclang.compile, REVERSE, sizes={"n": 4}, vocab=vocab)
    assert "vocab must be distinct non-empty token strings" in msg


@pytest.mark.parametrize("kwargs", [{"examples": 0}, {"examples": "many"}, {"max_n": -1},
                                    {"seed": "s"}])
def test_bad_test_options_are_refused(kwargs, nets):
    raises(nclang.test, ADD, nets["add"], **kwargs)


def test_a_device_this_machine_lacks_is_an_error_when_the_network_is_first_used():
    net = nclang.compile(ADD, sizes={"k": 4}, device="no-such-device")
    ((file, _, _, _, msg),) = raises(net.run, {"a": 1, "b": 1})
    assert file == str(ADD) and "not a torch device" in msg


def test_save_to_a_folder_that_does_not_exist_is_a_located_error(tmp_path, nets):
    ((file, line, col, _, msg),) = raises(nets["add"].save, tmp_path / "no" / "x.safetensors")
    assert (file, line, col) == (str(tmp_path / "no" / "x.safetensors"), 1, 1)
    assert msg.startswith("cannot write file")


# ---------------------------------------------------------------- weight bytes

@pytest.mark.parametrize("data, says", [
    (b"", "too short for a header"), (b"garbage", "too short for a header"),
    (b"\xff" * 16, "declares a header of"), (b"\x08" + b"\0" * 7 + b"not json", "not JSON"),
])
def test_bad_weight_bytes_are_located_at_bytes(data, says):
    ((file, line, col, _, msg),) = raises(nclang.load, data)
    assert (file, line, col) == ("<bytes>", 1, 1) and says in msg


def test_edited_tensor_bytes_fail_the_digest_unless_verify_is_off(nets):
    data = bytearray(nets["add"].to_bytes())
    data[-1] ^= 0x01
    ((_, _, _, _, msg),) = raises(nclang.load, bytes(data))
    assert "does not match its digest" in msg
    assert nclang.load(bytes(data), verify=False).program == "add"


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return W.build_bases(tmp_path_factory.mktemp("bases"))


def test_mutated_weight_bytes_are_read_as_the_same_file_on_disk_is(bases, tmp_path):
    """For mutants of every base file: reading the bytes gives what reading the file gives
    (the same tensors and metadata, or the same diagnostics); `nclang.load` refuses exactly the
    files the reader refuses, and a loaded network runs or refuses its input, never crashing."""
    rng = random.Random(14)
    path = tmp_path / "m.safetensors"
    for _ in range(40):
        name = rng.choice(sorted(bases))
        data, given = bases[name]
        mutant = W.mutate(data, rng)
        path.write_bytes(mutant)
        try:
            expected = weights.read_weights(path)
        except nclang.NclError as err:
            expected = [(d.line, d.col, d.message) for d in err.diagnostics]
        try:
            got = weights.read_weights_bytes(mutant, str(path))
        except nclang.NclError as err:
            got = [(d.line, d.col, d.message) for d in err.diagnostics]
        if isinstance(expected, list):
            assert got == expected
            located(pytest.raises(nclang.NclError, nclang.load, mutant).value)
            continue
        assert got[1] == expected[1] and got[0].keys() == expected[0].keys()
        try:
            net = nclang.load(mutant)
            if not W.counts_too_big(path, given):
                net.run(given)
        except nclang.NclError as err:
            located(err)


# ---------------------------------------------------------------- fuzzed inputs

_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.floats(allow_nan=True)
    | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner,
                                                                max_size=3),
    max_leaves=12)
_FIELDS = {"add": ("a", "b"), "bfs": ("n", "edges", "source"), "reverse": ("tokens",)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(_FIELDS)), st.data())
def test_any_json_like_input_runs_or_is_a_located_error(name, data):
    """Whatever values the fields hold, the interpreter and the network each give outputs or
    an NclError of located lines; where both run they agree."""
    fields = _FIELDS[name] + data.draw(st.sampled_from([(), ("extra",)]))
    given_ = {f: data.draw(_JSONISH) for f in fields if data.draw(st.booleans()) or f != "extra"}
    outcomes = []
    for call in (lambda: nclang.run(SOURCES[name], given_, sizes=SIZES[name]),
                 lambda: _FUZZ_NETS[name].run(given_)):
        try:
            outcomes.append(call())
        except nclang.NclError as err:
            located(err)
            outcomes.append(None)
    if None not in outcomes:
        assert outcomes[0] == outcomes[1]


_FUZZ_NETS = {"add": nclang.compile(ADD, sizes={"k": 4}), "bfs": nclang.compile(BFS),
              "reverse": nclang.compile(REVERSE, sizes={"n": 4})}
