"""A bounded fuzzer of JSON and JSON Lines input for `nclang run` and `exec` (issue 11).

Two properties, on a few stdlib programs compiled once for the module:
- whatever bytes come in (wrong types, missing and extra keys, huge, negative and NaN numbers,
  deep nesting, edges out of range, wrong lengths, bad UTF-8, empty input, truncated lines),
  both commands exit 0, or exit 1 with located `FILE:LINE:COL: error:` lines: never an internal
  error (70), never a traceback;
- on inputs inside what the network was built for (its vocabulary and length; see
  `CompiledNet.refusals` for what only a network refuses), `exec` refuses exactly the inputs
  `run` refuses, with the same located errors, and otherwise prints the same results; with a
  none in a node-valued input, which a GNN refuses outright, exec refuses whatever run refuses
  and what it answers is run's answer.

In-process (`nclang.compiler.cli.main`), so that each example costs milliseconds. Example counts are
bounded here and otherwise left to the loaded hypothesis profile (CI=true loads `ci`).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_inprocess import assert_clean_outcome, cli, headers

REPO = Path(__file__).resolve().parent.parent
STDLIB = REPO / "stdlib"
# name: (source, compile options, run options)
PROGRAMS = {
    "bfs": ("graph/bfs.ncl", (), ()),
    "bellman_ford": ("graph/bellman_ford.ncl", (), ()),
    "list_ranking": ("graph/list_ranking.ncl", (), ()),
    "parity": ("bits/parity.ncl", ("--size", "k=4"), ("--size", "k=4")),
    "reverse": ("seq/reverse.ncl", ("--size", "n=4"), ()),
    "sort": ("seq/sort.ncl", ("--size", "n=4"), ()),
}
MAX_N = 4  # the transformers' --size n, and the most nodes drawn
VOCAB = ("a", "b", "z")  # reverse's default vocabulary

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-nets")
    out = {}
    for name, (src, options, _) in PROGRAMS.items():
        out[name] = folder / f"{name}.safetensors"
        status, _, err = cli("compile", STDLIB / src, "-o", out[name], *options)
        assert status == 0, err
    return out


# ---------------------------------------------------------------- instances

JUNK = st.sampled_from([None, True, False, -1, 0, 1.5, 1e300, -(2 ** 53), 2 ** 53, 10 ** 30,
                        "inf", "-inf", "", "a", [], [1], {}, {"a": 1}])


@st.composite
def valid_instance(draw, name: str) -> dict:
    if name in ("bfs", "bellman_ford", "list_ranking"):
        n = draw(st.integers(1, MAX_N))
        edge = st.lists(st.integers(0, n - 1), min_size=2, max_size=2)
        obj = {"n": n, "edges": draw(st.lists(edge, max_size=6))}
        if name != "list_ranking":
            obj["source"] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        if name == "bellman_ford":
            m = len(obj["edges"])
            obj["w"] = draw(st.lists(st.integers(0, 1000), min_size=m, max_size=m))
        if name == "list_ranking":
            obj["succ"] = draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n))
        return obj
    if name == "parity":
        return {"x": draw(st.integers(0, 15))}
    if name == "reverse":
        return {"tokens": draw(st.lists(st.sampled_from(VOCAB), min_size=1, max_size=MAX_N))}
    return {"tokens": draw(st.lists(st.integers(0, 63), min_size=1, max_size=MAX_N))}


# values just outside what each program's fields allow
NEAR = {"bfs": [-1], "bellman_ford": [-1, 1001], "list_ranking": [-1, MAX_N],
        "parity": [-1, 16], "reverse": [None], "sort": [-1, 64]}


@st.composite
def instance(draw, name: str) -> dict:
    """A JSON object for program `name`: valid half the time, else with one thing wrong: an
    element of another type or just out of range, a list one too long or short, a bad edge or
    n, a missing field or an extra one."""
    obj = draw(valid_instance(name))
    if draw(st.booleans()):
        return obj
    junk = JUNK
    if name == "reverse":  # a string outside the vocabulary only the network refuses
        junk = JUNK.filter(lambda v: not isinstance(v, str) or v in VOCAB)
    bad = junk | st.sampled_from(NEAR[name])
    lists = sorted(k for k, v in obj.items() if isinstance(v, list) and v)
    how = draw(st.sampled_from(["element", "longer", "shorter", "missing", "extra", "n"]))
    if how == "element" and lists:
        key = draw(st.sampled_from(lists))
        i = draw(st.integers(0, len(obj[key]) - 1))
        obj[key][i] = [draw(bad), obj[key][i][1]] if key == "edges" else draw(bad)
    elif how in ("longer", "shorter") and lists:
        key = draw(st.sampled_from(lists))
        # a sequence longer than the transformer's n only the network refuses
        longer = how == "longer" and not (key == "tokens" and len(obj[key]) == MAX_N)
        obj[key] = obj[key] + obj[key][:1] if longer else obj[key][:-1]
    elif how == "missing":
        del obj[draw(st.sampled_from(sorted(obj)))]
    elif how == "n" and "n" in obj:
        obj["n"] = draw(junk | st.sampled_from([0, obj["n"] + 1]))
    else:
        obj[draw(st.sampled_from(["sourse", "extra", "N", "tokens", "x"]))] = draw(junk)
    return obj


@st.composite
def json_lines(draw, name: str) -> str:
    objs = draw(st.lists(instance(name), min_size=1, max_size=2))
    return "".join(json.dumps(o) + "\n" + draw(st.sampled_from(["", "", "\n"])) for o in objs)


# ---------------------------------------------------------------- arbitrary bytes

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=12)


@st.composite
def hostile(draw, name: str) -> bytes:
    """Bytes that are a mutation of valid input, or not JSON at all."""
    kind = draw(st.sampled_from(["valid", "values", "deep", "huge", "truncated", "utf8",
                                 "bytes", "empty", "pretty"]))
    text = draw(json_lines(name))
    if kind == "values":  # json.dumps writes NaN and Infinity, which strict JSON refuses
        text = "".join(json.dumps(draw(JSON_VALUES)) + "\n" for _ in range(draw(
            st.integers(1, 3))))
    elif kind == "deep":
        depth = draw(st.sampled_from([63, 64, 65, 1000, 100_000]))
        key = draw(st.sampled_from(["n", "edges", "source", "x", "tokens", "succ"]))
        text = text + json.dumps({key: 0}).replace("0", "[" * depth + "]" * depth) + "\n"
    elif kind == "huge":
        digits = draw(st.sampled_from([17, 309, 4300, 4301, 10_000]))
        literal = draw(st.sampled_from(["9" * digits, "-" + "9" * digits, f"1e{digits}",
                                        "NaN", "-Infinity", "1.5e-400"]))
        text = text.replace("1", literal, 1) if "1" in text else text + literal
    elif kind == "truncated":
        text = text[:draw(st.integers(0, max(0, len(text) - 1)))]
    elif kind == "pretty":
        text = json.dumps(draw(instance(name)), indent=draw(st.sampled_from([1, 2, None])))
    data = text.encode()
    if kind == "utf8":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00",
                                                 b"\xef\xbb\xbf"])) + data[at:]
    elif kind == "bytes":
        data = draw(st.binary(max_size=64))
    elif kind == "empty":
        data = draw(st.sampled_from([b"", b"\n", b"   \n\n", b"\r\n"]))
    return data


# ---------------------------------------------------------------- the properties

@pytest.mark.parametrize("name", sorted(PROGRAMS))
@SETTINGS
@given(data=st.data())
def test_run_and_exec_exit_0_or_1_with_located_errors_whatever_the_input(nets, name, data):
    src, _, run_options = PROGRAMS[name]
    prog = STDLIB / src
    stdin = data.draw(hostile(name), label="stdin")
    status, out, err = cli("run", prog, "-i", "-", *run_options, stdin=stdin)
    assert_clean_outcome(status, err, {"<stdin>", str(prog)})
    status, out, err = cli("exec", nets[name], "-i", "-", stdin=stdin)
    assert_clean_outcome(status, err, {"<stdin>"})


def located(stderr: str) -> list[tuple]:
    return [h for h in headers(stderr) if h[0] == "<stdin>"]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@SETTINGS
@given(data=st.data())
def test_exec_refuses_exactly_what_run_refuses_and_otherwise_agrees(nets, name, data):
    src, _, run_options = PROGRAMS[name]
    stdin = data.draw(json_lines(name), label="stdin")
    ran = cli("run", STDLIB / src, "-i", "-", *run_options, stdin=stdin)
    execd = cli("exec", nets[name], "-i", "-", stdin=stdin)
    if name == "list_ranking" and any(isinstance(o.get("succ"), list) and None in o["succ"]
                                      for o in (json.loads(line) for line in stdin.split("\n")
                                                if line.strip())):
        # none in a pointer: a network refuses it even where the interpreter answers (see
        # GNNNet.refusals), so only one way round holds
        assert ran[0] == 0 or execd[0] == 1, (ran, execd)
        assert execd[0] == 1 or execd[1] == ran[1], (ran, execd)
        return
    assert ran[0] == execd[0], (ran, execd)
    if ran[0] == 0:
        assert ran[1] == execd[1]
    else:
        assert located(ran[2]) and located(ran[2]) == located(execd[2]), (ran[2], execd[2])


def test_the_drawn_inputs_include_valid_and_invalid_ones(nets):
    """The agreement property means something only if both outcomes are drawn."""
    seen = set()

    @settings(max_examples=60, deadline=None, database=None)
    @given(stdin=json_lines("bellman_ford"))
    def collect(stdin):
        seen.add(cli("run", STDLIB / PROGRAMS["bellman_ford"][0], "-i", "-", stdin=stdin)[0])
    collect()
    assert seen == {0, 1}
