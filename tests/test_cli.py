"""The `nclang` command as a user runs it: the installed console script, in a subprocess."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nclang.compiler import cli

NCLANG = shutil.which("nclang")
pytestmark = pytest.mark.skipif(NCLANG is None, reason="the nclang console script is not installed")

BFS = """\
program bfs(g: graph, source: node[bool]) -> node[bool] {
    reached = source
    repeat n - 1 {
        reached[v] = reached[v] or any(reached[u] for u in in(v))
    }
    return reached
}
"""

PARITY = """\
program parity(x: bits[k]) -> bool {
    return reduce(xor, x)
}
"""

# Reads one past the end at the last position: an error only the run can find.
SHIFT = """\
program shift(xs: seq[int[0..9]]) -> seq[int[0..9]] {
    y[i] = xs[i + 1]
    return y
}
"""

BROKEN = """\
program broken(g: graph) -> node[bool] {
    r[v] = true +
}
"""

ERROR_LINE = re.compile(r"^(.+?):(\d+):(\d+): error: (.*)$")


def nclang(*args, stdin: str | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([NCLANG, *map(str, args)], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def error_lines(stderr: str) -> list[tuple[str, int, int, str]]:
    found = []
    for line in stderr.splitlines():
        m = ERROR_LINE.match(line)
        if m:
            found.append((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
    return found


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_one_user_error(proc, file, line, col=None, contains="") -> str:
    """Exit 1, no traceback, and exactly one `FILE:LINE:COL: error:` line, at the given place."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    (err,) = error_lines(proc.stderr)
    assert err[0] == str(file) and err[1] == line, proc.stderr
    if col is not None:
        assert err[2] == col, proc.stderr
    assert contains in err[3], proc.stderr
    return err[3]


GOOD_BFS_INPUT = '{"n": 4, "edges": [[0, 1], [1, 2]], "source": [true, false, false, false]}'


# ---------------------------------------------------------------- check

def test_check_prints_each_programs_interface(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    proc = nclang("check", prog)
    assert proc.returncode == 0, proc.stderr
    assert "bfs: graph program" in proc.stdout
    assert "g: graph, source: node[bool]" in proc.stdout
    assert "reached: node[bool]" in proc.stdout


def test_check_reports_a_syntax_error_with_source_line_and_caret(tmp_path):
    prog = write(tmp_path, "broken.ncl", BROKEN)
    proc = nclang("check", prog)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert error_lines(proc.stderr)[0][:2] == (str(prog), 3)
    assert "    }" in proc.stderr and "^" in proc.stderr


def test_check_json_lists_programs(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    proc = nclang("check", prog, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["diagnostics"] == []
    (p,) = doc["programs"]
    assert p["name"] == "bfs" and p["family"] == "graph"
    assert p["params"] == [{"name": "g", "type": "graph"}, {"name": "source", "type": "node[bool]"}]
    assert p["results"] == [{"name": "reached", "type": "node[bool]"}]


def test_check_json_diagnostics_follow_the_schema_on_stdout(tmp_path):
    prog = write(tmp_path, "broken.ncl", BROKEN)
    proc = nclang("check", prog, "--json")
    assert proc.returncode == 1
    assert proc.stderr == ""
    doc = json.loads(proc.stdout)
    assert doc["programs"] == [] and doc["diagnostics"]
    for d in doc["diagnostics"]:
        assert set(d) == {"file", "line", "col", "end_line", "end_col", "severity", "code",
                          "message"}
        assert d["file"] == str(prog) and d["severity"] == "error"
        assert all(isinstance(d[k], int) for k in ("line", "col", "end_line", "end_col"))


def test_check_json_reports_an_unreadable_file_as_a_diagnostic(tmp_path):
    proc = nclang("check", tmp_path / "nope.ncl", "--json")
    assert proc.returncode == 1
    (d,) = json.loads(proc.stdout)["diagnostics"]
    assert (d["line"], d["col"]) == (1, 1) and "cannot read file" in d["message"]


# ---------------------------------------------------------------- run: success

def test_run_single_document_gives_one_json_document(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    inp = write(tmp_path, "in.json", GOOD_BFS_INPUT)
    proc = nclang("run", prog, "--input", inp)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == '{"reached": [true, true, true, false]}\n'


def test_run_json_lines_batch_gives_one_line_per_record_in_order(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    records = [
        {"n": 3, "edges": [[0, 1]], "source": [True, False, False]},
        {"n": 2, "source": [False, True]},
        {"n": 2, "edges": [[1, 0]], "source": [False, True]},
    ]
    inp = write(tmp_path, "in.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    proc = nclang("run", prog, "-i", inp)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [
        {"reached": [True, True, False]},
        {"reached": [False, True]},
        {"reached": [True, True]},
    ]


def test_run_reads_stdin_and_writes_stdout_with_dash(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    proc = nclang("run", prog, "--input", "-", "--output", "-", stdin=GOOD_BFS_INPUT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"reached": [True, True, True, False]}


def test_run_bits_program_with_size(tmp_path):
    prog = write(tmp_path, "parity.ncl", PARITY)
    proc = nclang("run", prog, "-i", "-", "--size", "k=8", stdin='{"x": 7}\n{"x": 3}\n')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ['{"result": true}', '{"result": false}']


def test_run_writes_output_file(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    inp = write(tmp_path, "in.json", GOOD_BFS_INPUT)
    out = tmp_path / "out.json"
    proc = nclang("run", prog, "-i", inp, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert json.loads(out.read_text()) == {"reached": [True, True, True, False]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bfs.ncl", "in.json", "out.json"]


def test_run_with_several_programs_selects_by_name(tmp_path):
    prog = write(tmp_path, "two.ncl", BFS + PARITY)
    proc = nclang("run", prog, "--program", "parity", "--size", "k=2", "-i", "-",
                  stdin='{"x": 1}')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"result": True}


# ---------------------------------------------------------------- run: errors in the input

def test_malformed_json_reports_its_line_and_column(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    inp = write(tmp_path, "in.json", '{\n  "n": 4,\n  "source": [true false]\n}\n')
    assert_one_user_error(nclang("run", prog, "-i", inp), inp, 3, 19, "malformed JSON")


def test_json_lines_error_on_line_three_reports_line_three(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    good = '{"n": 1, "source": [true]}'
    inp = write(tmp_path, "in.jsonl", f'{good}\n{good}\n{{"n": 1, "source": [true}}\n{good}\n')
    assert_one_user_error(nclang("run", prog, "-i", inp), inp, 3, None, "malformed JSON")


def test_json_lines_decode_error_is_reported_on_its_record_line(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    good = '{"n": 1, "source": [true]}'
    inp = write(tmp_path, "in.jsonl", f'{good}\n\n{{"n": 1, "source": [3]}}\n')
    assert_one_user_error(nclang("run", prog, "-i", inp), inp, 3, 21, "source[0]")


def test_wrong_field_length_is_one_error_at_the_field(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    text = '{"n": 4, "edges": [], "source": [true, false]}'
    inp = write(tmp_path, "in.json", text)
    msg = assert_one_user_error(nclang("run", prog, "-i", inp), inp, 1,
                                text.index('"source"') + 1)
    assert "source has 2 elements but n = 4" in msg


def test_out_of_range_value_names_field_index_value_and_range(tmp_path):
    src = "program w(g: graph, w: edge[int[0..1000]]) -> node[bool] {\n r[v] = true\n return r\n}\n"
    prog = write(tmp_path, "w.ncl", src)
    text = '{"n": 2, "edges": [[0, 1], [1, 0]], "w": [5, 1200]}'
    inp = write(tmp_path, "in.json", text)
    msg = assert_one_user_error(nclang("run", prog, "-i", inp), inp, 1, text.index("1200") + 1)
    assert msg == "w[1]: 1200 is out of range int[0..1000]"


def test_unknown_field_suggests_a_parameter(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    text = '{"n": 1, "source": [true], "sourse": [false]}'
    inp = write(tmp_path, "in.json", text)
    msg = assert_one_user_error(nclang("run", prog, "-i", inp), inp, 1,
                                text.index('"sourse"') + 1)
    assert "unknown field 'sourse'" in msg and "did you mean 'source'?" in msg


def test_missing_field_is_named(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    inp = write(tmp_path, "in.json", '{"n": 2, "edges": [[0, 1]]}')
    assert_one_user_error(nclang("run", prog, "-i", inp), inp, 1, 1, "missing field 'source'")


def test_missing_size_asks_for_the_option(tmp_path):
    prog = write(tmp_path, "parity.ncl", PARITY)
    proc = nclang("run", prog, "-i", "-", stdin='{"x": 7}')
    msg = assert_one_user_error(proc, prog, 1, PARITY.index("bits[k]") + 1)
    assert msg == "size k is not fixed: pass --size k=N"


def test_bits_value_too_wide_for_its_size(tmp_path):
    prog = write(tmp_path, "parity.ncl", PARITY)
    proc = nclang("run", prog, "-i", "-", "--size", "k=3", stdin='{"x": 8}')
    assert_one_user_error(proc, "<stdin>", 1, 2, "does not fit in bits[k]")


def test_every_bad_record_is_reported_at_once(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    inp = write(tmp_path, "in.jsonl", '{"n": 1, "source": [1]}\n{"n": 1}\n'
                                      '{"n": 1, "source": [true]}\n')
    proc = nclang("run", prog, "-i", inp)
    assert proc.returncode == 1 and proc.stdout == ""
    assert [e[1] for e in error_lines(proc.stderr)] == [1, 2]


def test_run_time_error_points_into_the_program_and_notes_the_input(tmp_path):
    prog = write(tmp_path, "shift.ncl", SHIFT)
    inp = write(tmp_path, "in.jsonl", '{"xs": [1, 2]}\n{"xs": [3]}\n')
    proc = nclang("run", prog, "-i", inp)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""
    errs = error_lines(proc.stderr)
    assert errs and all(e[0] == str(prog) for e in errs)
    assert f"{inp}:1:1: note:" in proc.stderr


def test_program_errors_are_reported_before_reading_input(tmp_path):
    prog = write(tmp_path, "broken.ncl", BROKEN)
    proc = nclang("run", prog, "-i", tmp_path / "absent.json")
    assert proc.returncode == 1
    assert {e[0] for e in error_lines(proc.stderr)} == {str(prog)}


def test_missing_program_file_is_a_user_error(tmp_path):
    missing = tmp_path / "nope.ncl"
    msg = assert_one_user_error(nclang("check", missing), missing, 1, 1)
    assert msg.startswith("cannot read file: ")


def test_missing_input_file_is_a_user_error(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    missing = tmp_path / "nope.json"
    assert_one_user_error(nclang("run", prog, "-i", missing), missing, 1, 1, "cannot read file")


# ---------------------------------------------------------------- output is all or nothing

def test_failed_run_leaves_no_output_file(tmp_path):
    prog = write(tmp_path, "shift.ncl", SHIFT)
    inp = write(tmp_path, "in.jsonl", '{"xs": [1, 2]}\n')
    out = tmp_path / "out.jsonl"
    proc = nclang("run", prog, "-i", inp, "-o", out)
    assert proc.returncode == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "shift.ncl"]


def test_failed_run_keeps_an_existing_output_file_unchanged(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    inp = write(tmp_path, "in.json", '{"n": 1}')
    out = write(tmp_path, "out.json", "previous\n")
    assert nclang("run", prog, "-i", inp, "-o", out).returncode == 1
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bfs.ncl", "in.json", "out.json"]


def test_unwritable_output_is_a_user_error(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    inp = write(tmp_path, "in.json", GOOD_BFS_INPUT)
    out = tmp_path / "no" / "such" / "dir.json"
    assert_one_user_error(nclang("run", prog, "-i", inp, "-o", out), out, 1, 1,
                          "cannot write file")


# ---------------------------------------------------------------- usage errors

@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["run", "p.ncl"],
    ["run", "p.ncl", "-i", "-", "--size", "k32"],
    ["run", "p.ncl", "-i", "-", "--size", "k=x"],
    ["check", "p.ncl", "--bogus"],
])
def test_usage_errors_exit_2(tmp_path, args):
    write(tmp_path, "p.ncl", PARITY)
    proc = nclang(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert "usage:" in proc.stderr and "Traceback" not in proc.stderr


def test_size_fixed_by_the_input_is_a_usage_error(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    proc = nclang("run", prog, "-i", "-", "--size", "n=3", stdin=GOOD_BFS_INPUT)
    assert proc.returncode == 2 and "n is fixed by the input" in proc.stderr


def test_size_the_program_lacks_is_a_usage_error_with_suggestion(tmp_path):
    prog = write(tmp_path, "parity.ncl", PARITY)
    proc = nclang("run", prog, "-i", "-", "--size", "K=3", stdin='{"x": 1}')
    assert proc.returncode == 2 and "no size variable K" in proc.stderr


def test_help_exits_0():
    proc = nclang("run", "--help")
    assert proc.returncode == 0 and "--size" in proc.stdout


# ---------------------------------------------------------------- never 70 for user errors

USER_ERROR_CASES = {
    "syntax": (BROKEN, '{"n": 1}', []),
    "bad json": (BFS, '{"n": 1,', []),
    "not an object": (BFS, "[1]", []),
    "empty input": (BFS, "", []),
    "bad field": (BFS, '{"n": "x", "edges": 3, "source": {}}', []),
    "missing size": (PARITY, '{"x": 1}', []),
    "run error": (SHIFT, '{"xs": [1]}', []),
    "ambiguous": (BFS + PARITY, '{"x": 1}', ["--size", "k=1"]),
}


@pytest.mark.parametrize("case", sorted(USER_ERROR_CASES))
def test_user_errors_exit_1_without_traceback(tmp_path, case):
    src, text, extra = USER_ERROR_CASES[case]
    prog = write(tmp_path, "p.ncl", src)
    proc = nclang("run", prog, "-i", "-", *extra, stdin=text)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert error_lines(proc.stderr)


# ---------------------------------------------------------------- internal errors (in process)

def _explode(ctx):
    raise RuntimeError("boom")


def test_internal_error_exits_70_with_one_line_asking_for_a_bug_report(monkeypatch, capsys):
    monkeypatch.setitem(cli._COMMANDS, "check", (cli.check.add_arguments, _explode, "check"))
    assert cli.main(["check", "x.ncl"]) == 70
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "internal error" in err and "report" in err and "Traceback" not in err


def test_debug_shows_the_traceback_of_an_internal_error(monkeypatch, capsys):
    monkeypatch.setitem(cli._COMMANDS, "check", (cli.check.add_arguments, _explode, "check"))
    assert cli.main(["check", "x.ncl", "--debug"]) == 70
    assert "Traceback" in capsys.readouterr().err


def test_check_and_run_do_not_import_torch(tmp_path):
    prog = write(tmp_path, "bfs.ncl", BFS)
    inp = write(tmp_path, "in.json", GOOD_BFS_INPUT)
    code = (
        "import sys\n"
        "from nclang.compiler.cli import main\n"
        f"assert main(['check', {str(prog)!r}]) == 0\n"
        f"assert main(['run', {str(prog)!r}, '-i', {str(inp)!r}]) == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------- docs/cli.md

REPO = Path(__file__).resolve().parent.parent


def _doc_sessions():
    """(command, expected stdout) for every `$ …` line in the sh blocks of docs/cli.md; an
    expected output whose last line is `…` shows only the start of what is printed."""
    text = (REPO / "docs" / "cli.md").read_text()
    sessions = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, expected = chunk.partition("\n")
            sessions.append((command, expected))
    return sessions


@pytest.mark.parametrize("command,expected", _doc_sessions())
def test_cli_doc_examples_print_what_the_docs_show(command, expected):
    proc = subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    if expected.endswith("…\n"):
        shown = expected[:-len("…\n")]
        assert proc.stdout.startswith(shown)
    else:
        assert proc.stdout == expected


def test_doc_error_example_is_what_run_prints(tmp_path):
    text = (REPO / "docs" / "cli.md").read_text()
    shown = re.search(r"## Errors.*?```\n(.*?)```", text, flags=re.S).group(1)
    prog = write(tmp_path, "bfs.ncl", BFS)
    good = '{"n": 1, "source": [true]}'
    write(tmp_path, "in.jsonl", f'{good}\n{good}\n{{"n": 1, "source": [3]}}\n')
    proc = nclang("run", prog, "-i", "in.jsonl", cwd=tmp_path)
    assert proc.stderr == shown
