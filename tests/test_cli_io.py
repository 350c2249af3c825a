"""`nclang run` and `exec` input and output: streaming in batches, bounded reads, strict JSON,
the located errors for every malformed input, and the input-domain checks of compiled networks.
The regressions of issue 11 (deep nesting, quadratic JSON Lines, exec answering where the
interpreter refuses) are kept here by name. In-process (`nclang.compiler.cli.main`)."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cli_inprocess import assert_clean_outcome, cli, headers
from nclang.compiler.cli import streaming
from nclang.dsl import jsonio
from nclang.dsl import source as source_module
from nclang.dsl.diagnostics import NclError

REPO = Path(__file__).resolve().parent.parent
BFS = REPO / "stdlib" / "graph" / "bfs.ncl"
LIST_RANKING = REPO / "stdlib" / "graph" / "list_ranking.ncl"
REVERSE = REPO / "stdlib" / "seq" / "reverse.ncl"
GOOD = '{"n": 2, "edges": [[0, 1]], "source": [true, false]}'


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nets")
    out = {}
    for name, prog, extra in (("bfs", BFS, ()), ("list_ranking", LIST_RANKING, ()),
                              ("reverse", REVERSE, ("--size", "n=4"))):
        out[name] = folder / f"{name}.safetensors"
        assert cli("compile", prog, "-o", out[name], *extra)[0] == 0
    return out


def one_error(status: int, stderr: str, file: str, line: int, col: int | None = None) -> str:
    assert status == 1 and "Traceback" not in stderr, stderr
    (err,) = [h for h in headers(stderr) if h[3] == "error"]
    assert err[:2] == (file, line), stderr
    if col is not None:
        assert err[2] == col, stderr
    return err[4]


# ---------------------------------------------------------------- issue 11 regressions

@pytest.mark.parametrize("command", ["run", "exec"])
def test_json_nested_100000_deep_is_one_located_error_not_a_recursion_error(command, nets):
    target = BFS if command == "run" else nets["bfs"]
    deep = '{"n": 1, "source": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    status, out, err = cli(command, target, "-i", "-", stdin=deep)
    msg = one_error(status, err, "<stdin>", 1, col=len('{"n": 1, "source": ') + 64)
    assert "nested more than 64 deep" in msg and out == ""


def test_nesting_just_inside_the_bound_parses():
    jsonio.read_records('{"a": ' + "[" * 63 + "]" * 63 + "}", "in.json")
    with pytest.raises(NclError):
        jsonio.read_records('{"a": ' + "[" * 64 + "]" * 64 + "}", "in.json")


@pytest.mark.parametrize("literal, says", [
    ("NaN", "NaN is not JSON"), ("Infinity", "Infinity is not JSON"),
    ("-Infinity", "-Infinity is not JSON"), ("1e400", "too large for a number"),
    ("9" * 5000, "an integer of 5000 digits is too long"),
    ("-" + "9" * 4301, "an integer of 4301 digits is too long"),
], ids=["nan", "inf", "-inf", "1e400", "5000-digits", "-4301-digits"])
def test_non_rfc8259_numbers_are_refused_at_their_place(literal, says):
    text = GOOD + '\n{"n": 1, "source": [' + literal + "]}\n"
    status, _, err = cli("run", BFS, "-i", "-", stdin=text)
    assert says in one_error(status, err, "<stdin>", 2, col=len('{"n": 1, "source": [') + 1)


def test_nan_inside_a_string_is_a_string_not_a_constant():
    status, _, err = cli("run", BFS, "-i", "-", stdin='{"n": 1, "source": ["NaN"]}')
    assert "expected true or false, got the string" in one_error(status, err, "<stdin>", 1, 21)


def test_the_longest_integer_python_converts_is_read():
    ((obj, _),) = jsonio.read_records('{"a": ' + "9" * jsonio.MAX_INT_DIGITS + "}", "in.json")
    assert obj["a"] == 10 ** jsonio.MAX_INT_DIGITS - 1


def test_huge_integer_beyond_the_declared_type_is_refused_at_its_element():
    prog = REPO / "stdlib" / "graph" / "bellman_ford.ncl"
    text = '{"n": 2, "edges": [[0, 1]], "w": [' + "9" * 400 + '], "source": [true, false]}'
    status, _, err = cli("run", prog, "-i", "-", stdin=text)
    assert "too large to represent exactly" in one_error(status, err, "<stdin>", 1, 35)


def test_json_lines_records_keep_only_their_own_line():
    """Why decoding is linear: a record's spans are computed from its own text, never from the
    input before it (which made 8,000 lines take seconds: quadratic)."""
    text = "".join(GOOD + "\n" for _ in range(3000))
    records = jsonio.read_records(text, "in.jsonl")
    assert all(obj.text == GOOD for obj, _ in records)
    obj, line = records[-1]
    assert (line, obj.key_span("source").line) == (3000, 3000)


def test_exec_refuses_a_pointer_outside_nodes_as_run_does(nets):
    text = '{"n": 3, "succ": [1, 3, 2]}'
    for target, command in ((LIST_RANKING, "run"), (nets["list_ranking"], "exec")):
        status, out, err = cli(command, target, "-i", "-", stdin=text)
        assert "succ[1]: node id 3 is outside 0..2" in one_error(status, err, "<stdin>", 1, 22)


def test_exec_refuses_a_dereference_of_none_which_run_refuses(nets):
    """Issue 11: exec printed {"rank": [4, 4, 4]}, exit 0, where run stops."""
    text = '{"n": 3, "succ": [null, 0, 1]}'
    status, _, err = cli("run", LIST_RANKING, "-i", "-", stdin=text)
    assert status == 1 and "reading rank at none" in err
    status, out, err = cli("exec", nets["list_ranking"], "-i", "-", stdin=text)
    msg = one_error(status, err, "<stdin>", 1, col=len('{"n": 3, "succ": [') + 1)
    assert msg.startswith("succ[0] is none (null)") and out == ""


def test_exec_refuses_none_used_as_a_number_which_run_refuses(tmp_path):
    prog = tmp_path / "plus.ncl"
    prog.write_text("program plus(g: graph, q: node[node]) -> node[int] {\n"
                    "    r[v] = q[v] + 1\n    return r\n}\n")
    weights = tmp_path / "plus.safetensors"
    assert cli("compile", prog, "-o", weights)[0] == 0
    text = '{"n": 2, "q": [1, null]}'
    status, _, err = cli("run", prog, "-i", "-", stdin=text)
    assert status == 1 and "none used as a number" in err
    status, out, err = cli("exec", weights, "-i", "-", stdin=text)
    assert one_error(status, err, "<stdin>", 1, 19).startswith("q[1] is none") and out == ""


def test_exec_refuses_none_in_a_node_input_even_where_run_answers(tmp_path):
    """The price of never answering what the interpreter would not: the network cannot tell a
    guarded use of none from an unguarded one, so it refuses both."""
    prog = tmp_path / "guard.ncl"
    prog.write_text("program guard(g: graph, q: node[node], x: node[int[0..9]]) -> node[int] {\n"
                    "    y[v] = x[q[v]] if q[v] != none else 0\n    return y\n}\n")
    weights = tmp_path / "guard.safetensors"
    assert cli("compile", prog, "-o", weights)[0] == 0
    text = '{"n": 3, "q": [null, 0, 2], "x": [5, 6, 7]}'
    assert cli("run", prog, "-i", "-", stdin=text)[:2] == (0, '{"y": [0, 5, 7]}\n')
    assert cli("exec", weights, "-i", "-", stdin=text)[0] == 1
    text = '{"n": 3, "q": [1, 0, 2], "x": [5, 6, 7]}'
    assert cli("exec", weights, "-i", "-", stdin=text)[:2] == (0, '{"y": [6, 5, 7]}\n')


def test_exec_refuses_a_token_outside_the_vocabulary_at_its_element(nets):
    status, out, err = cli("exec", nets["reverse"], "-i", "-", stdin='{"tokens": ["a", "q"]}')
    msg = one_error(status, err, "<stdin>", 1, col=len('{"tokens": ["a", ') + 1)
    assert msg.startswith("tokens[1]: 'q' is not in the vocabulary") and out == ""


def test_exec_refuses_a_sequence_longer_than_the_network_at_its_key(nets):
    status, _, err = cli("exec", nets["reverse"], "-i", "-", stdin='{"tokens": ["a"] }\n'
                         '{"tokens": ["a", "a", "a", "a", "a"]}\n')
    assert "at most n = 4" in one_error(status, err, "<stdin>", 2, col=2)


# ---------------------------------------------------------------- files and streams

def test_missing_input_file_directory_and_stdin(tmp_path):
    missing = tmp_path / "nope.json"
    msg = one_error(*cli("run", BFS, "-i", missing)[::2], str(missing), 1, 1)
    assert msg == "cannot read file: No such file or directory"
    msg = one_error(*cli("run", BFS, "-i", tmp_path)[::2], str(tmp_path), 1, 1)
    assert msg == "cannot read file: Is a directory"
    assert cli("run", BFS, "-i", "-", stdin=GOOD)[:2] == (0, '{"reached": [true, true]}\n')


def test_dev_zero_as_input_stops_at_the_record_size_bound(monkeypatch):
    monkeypatch.setattr(jsonio.reading, "MAX_RECORD_BYTES", 1 << 20)
    status, _, err = cli("run", BFS, "-i", "/dev/zero")
    assert "longer than 1 MiB" in one_error(status, err, "/dev/zero", 1, 1)


def test_one_document_larger_than_the_bound_is_refused(monkeypatch):
    monkeypatch.setattr(jsonio.reading, "MAX_RECORD_BYTES", 1000)
    text = '{\n"n": 1,\n"source": [\n' + "true,\n" * 400 + "true]\n}\n"
    status, _, err = cli("run", BFS, "-i", "-", stdin=text)
    assert "one JSON document longer than" in one_error(status, err, "<stdin>", 167, 1)


def test_bad_utf8_is_located_at_its_line_and_column():
    text = (GOOD + "\n").encode() + b'{"n": 1, "source": ["\xff"]}\n'
    status, _, err = cli("run", BFS, "-i", "-", stdin=text)
    assert "not UTF-8 text: byte 0xff" in one_error(status, err, "<stdin>", 2, 22)


def test_a_byte_order_mark_is_skipped():
    assert cli("run", BFS, "-i", "-", stdin=b"\xef\xbb\xbf" + GOOD.encode())[0] == 0


def test_iter_records_reads_a_line_at_a_time():
    class Counting(io.BytesIO):
        def readline(self, *args):
            self.lines = getattr(self, "lines", 0) + 1
            return super().readline(*args)
    stream = Counting("".join(GOOD + "\n" for _ in range(100)).encode())
    items = jsonio.iter_records(stream, "in.jsonl")
    next(items)
    next(items)
    assert stream.lines == 2


def test_streaming_writes_each_good_batch_and_stops_at_the_first_bad_one():
    n = streaming.BATCH
    text = "".join(GOOD + "\n" for _ in range(n + 10)) + '{"n": 1, "source": [3]}\n' \
        + "".join(GOOD + "\n" for _ in range(5))
    status, out, err = cli("run", BFS, "-i", "-", stdin=text)
    assert "source[0]" in one_error(status, err, "<stdin>", n + 11, 21)
    assert out == '{"reached": [true, true]}\n' * n  # the first batch only, whole


def test_streaming_to_a_file_writes_nothing_unless_every_batch_succeeds(tmp_path):
    n = streaming.BATCH
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    text = "".join(GOOD + "\n" for _ in range(n + 1)) + '{"n": 1}\n'
    status, stdout, _ = cli("run", BFS, "-i", "-", "-o", out, stdin=text)
    assert status == 1 and stdout == "" and out.read_text() == "previous\n"
    assert sorted(os.listdir(tmp_path)) == ["out.jsonl"]  # no temporary file left behind
    status, _, _ = cli("run", BFS, "-i", "-", "-o", out, stdin=text.rsplit("\n", 2)[0] + "\n")
    assert status == 0 and out.read_text() == '{"reached": [true, true]}\n' * (n + 1)
    assert oct(out.stat().st_mode & 0o777) != "0o600"


def test_every_bad_record_of_a_batch_is_reported_with_its_quoted_line():
    text = GOOD + '\n{"n": 1, "source": [3]}\n' + GOOD + '\n{"n": 1, "sourse": [true]}\n'
    status, out, err = cli("run", BFS, "-i", "-", stdin=text)
    assert status == 1 and out == ""
    assert [h[1] for h in headers(err) if h[3] == "error"] == [2, 4, 4]
    assert '    {"n": 1, "source": [3]}\n' in err and '    {"n": 1, "sourse": [true]}' in err


def test_exec_streams_batches_too(nets):
    n = streaming.BATCH
    text = "".join(GOOD + "\n" for _ in range(2 * n + 3))
    status, out, err = cli("exec", nets["bfs"], "-i", "-", stdin=text)
    assert (status, err) == (0, "") and out == '{"reached": [true, true]}\n' * (2 * n + 3)


@pytest.mark.parametrize("text", ["", "\n\n", '{"n": 1, "source": [true]', '{"n": 1}\n{"n"',
                                  "[1, 2]", '"x"\n', "{\n", "}\n{"])
def test_empty_truncated_or_non_object_input_is_a_located_error(text):
    status, out, err = cli("run", BFS, "-i", "-", stdin=text)
    assert_clean_outcome(status, err, {"<stdin>"})
    assert status == 1 and out == ""


def test_a_result_wider_than_4300_digits_is_written_and_the_guard_restored():
    """multiply at k = 7,500 gives a 15,000-bit result: exit 70 before (json.dumps refused)."""
    import sys
    limit = sys.get_int_max_str_digits()
    assert jsonio.dumps({"acc": 10 ** 5000}) == '{"acc": 1' + "0" * 5000 + "}"
    assert sys.get_int_max_str_digits() == limit


def test_dev_zero_as_a_program_is_refused_before_memory_runs_out(monkeypatch):
    monkeypatch.setattr(source_module, "MAX_SOURCE_CHARS", 1 << 20)
    status, _, err = cli("run", "/dev/zero", "-i", "-", stdin=GOOD)
    assert "longer than 1,048,576 characters" in one_error(status, err, "/dev/zero", 1, 1)
