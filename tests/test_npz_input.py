"""`nclang exec` on `.npz` graph input (docs/cli.md#npz-input): the same outputs as the same
graph in JSON, every bad archive refused with one located error per problem and no traceback,
and error lines that quote a window of a very long JSON line rather than all of it."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from cli_inprocess import cli, headers

REPO = Path(__file__).resolve().parent.parent
BELLMAN_FORD = REPO / "stdlib" / "graph" / "bellman_ford.ncl"
BFS = REPO / "stdlib" / "graph" / "bfs.ncl"
LIST_RANKING = REPO / "stdlib" / "graph" / "list_ranking.ncl"


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("npz_nets")
    out = {}
    for name, prog in (("bellman_ford", BELLMAN_FORD), ("bfs", BFS),
                       ("list_ranking", LIST_RANKING)):
        out[name] = folder / f"{name}.safetensors"
        status, _, err = cli("compile", prog, "-o", out[name])
        assert status == 0, err
    return out


def _graph(n, edges, rng):
    src = [u for u, _ in edges]
    return {"n": n, "edges": [list(e) for e in edges],
            "w": [int(x) for x in rng.integers(0, 1001, len(src))],
            "source": [i == 0 for i in range(n)]}


def _write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


@given(n=st.integers(1, 12), data=st.data())
@settings(deadline=None)
def test_npz_and_json_of_the_same_graph_give_byte_identical_output(nets, tmp_path_factory,
                                                                    n, data):
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                               max_size=30))
    split = data.draw(st.booleans())
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    record = _graph(n, edges, rng)
    folder = tmp_path_factory.mktemp("g")
    (folder / "g.json").write_text(json.dumps(record))
    pairs = np.array(edges, dtype=np.int64).reshape(-1, 2)
    columns = {"src": pairs[:, 0], "dst": pairs[:, 1].astype(np.int32)} if split \
        else {"edges": pairs}
    _write_npz(folder / "g.npz", n=np.int64(n), w=np.array(record["w"], np.int16),
               source=np.array(record["source"]), **columns)
    want = cli("exec", nets["bellman_ford"], "-i", folder / "g.json")
    got = cli("exec", nets["bellman_ford"], "-i", folder / "g.npz")
    assert want[0] == 0 and got == want


def test_npz_output_file_is_written_and_index_fields_read_minus_one_as_none(nets, tmp_path):
    # list_ranking: succ: node[node]; its network refuses none, in either form, alike
    (tmp_path / "l.json").write_text(json.dumps({"n": 3, "edges": [], "succ": [1, 2, 2]}))
    _write_npz(tmp_path / "l.npz", n=np.array(3), succ=np.array([1, 2, 2]))
    want = cli("exec", nets["list_ranking"], "-i", tmp_path / "l.json")
    status, out, err = cli("exec", nets["list_ranking"], "-i", tmp_path / "l.npz",
                           "-o", tmp_path / "out.json")
    assert want[0] == 0 and (status, out, err) == (0, "", "")
    assert (tmp_path / "out.json").read_text() == want[1]
    _write_npz(tmp_path / "none.npz", n=np.array(3), succ=np.array([1, 2, -1]))
    status, _, err = cli("exec", nets["list_ranking"], "-i", tmp_path / "none.npz")
    (found,) = headers(err)
    assert status == 1 and found[4].startswith("succ[2] is none (null)"), err


GOOD = dict(n=np.int64(3), edges=np.array([[0, 1], [1, 2]]), w=np.array([5, 7]),
            source=np.array([True, False, False]))

BAD = [
    ({"w": np.array([5, 1001])}, "w[1]: 1001 is out of range int[0..1000]"),
    ({"w": np.array([5.0, 2.5])}, "w[1]: 2.5 is not an integer"),
    ({"w": np.array([5, 7, 9])}, "w has shape (3,) but edge[int[0..1000]] needs (2,)"),
    ({"w": np.array([True, False])}, "w: int[0..1000] cannot be given as an array of bool"),
    ({"source": np.array([1, 0, 0])}, "source: bool cannot be given as an array of int64"),
    ({"edges": np.array([[0, 1], [1, 3]])}, "edges[1][1]: 3 names a node outside 0..2"),
    ({"edges": np.array([0, 1, 1, 2])}, "edges must be an [m, 2] integer array"),
    ({"edges": np.array([[0.0, 1.0], [1.0, 2.0]])}, "edges must be an [m, 2] integer array"),
    ({"n": np.array([3, 4])}, "n must be a positive integer"),
    ({"n": np.int64(0)}, "n must be a positive integer"),
    ({"wt": np.array([1, 2])}, "unknown array 'wt'; did you mean 'w'?"),
    ({"src": np.array([0, 1])}, "give the edges once"),
]


@pytest.mark.parametrize("change, message", BAD, ids=[m for _, m in BAD])
def test_a_bad_array_is_one_error_at_the_file_naming_the_array_and_element(nets, tmp_path,
                                                                           change, message):
    path = _write_npz(tmp_path / "bad.npz", **{**GOOD, **change})
    status, out, err = cli("exec", nets["bellman_ford"], "-i", path)
    assert status == 1 and out == "" and "Traceback" not in err, err
    (found,) = headers(err)
    assert found[:4] == (str(path), 1, 1, "error") and message in found[4], err


def test_a_missing_array_is_named(nets, tmp_path):
    arrays = {k: v for k, v in GOOD.items() if k != "source"}
    status, _, err = cli("exec", nets["bellman_ford"], "-i", _write_npz(tmp_path / "m.npz",
                                                                        **arrays))
    assert status == 1 and "missing array 'source' (node[bool])" in err, err


def test_an_archive_is_read_without_pickle(nets, tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, **{**GOOD, "w": np.array([5, 7], dtype=object)})
    status, _, err = cli("exec", nets["bellman_ford"], "-i", path)
    assert status == 1 and "holds Python objects" in err and "Traceback" not in err, err


def test_an_archive_whose_header_promises_more_than_it_holds_is_refused_before_reading(
        nets, tmp_path):
    buffer = io.BytesIO()  # a valid header for 32 TB of int64, then 32 bytes
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<i8", "fortran_order": False,
                                                  "shape": (4 * 10 ** 12,)})
    header = buffer.getvalue() + bytes(32)
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in GOOD.items():
            if name != "w":
                item = io.BytesIO()
                np.lib.format.write_array(item, value)
                archive.writestr(f"{name}.npy", item.getvalue())
        archive.writestr("w.npy", header)
    status, _, err = cli("exec", nets["bellman_ford"], "-i", path)
    assert status == 1 and "Traceback" not in err, err
    assert "array 'w' claims shape (4000000000000,)" in err and len(headers(err)) == 1, err


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_a_file_that_is_not_an_archive_is_one_error(nets, tmp_path, content):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    status, out, err = cli("exec", nets["bellman_ford"], "-i", path)
    assert status == 1 and out == "" and "Traceback" not in err
    (found,) = headers(err)
    assert found[0] == str(path) and "not an .npz archive" in found[4], err


def test_run_refuses_an_archive_with_one_error(tmp_path):
    path = _write_npz(tmp_path / "g.npz", **GOOD)
    status, _, err = cli("run", BELLMAN_FORD, "-i", path)
    assert status == 1 and "read by `nclang exec`" in err and len(headers(err)) == 1, err


def test_an_error_in_a_megabyte_line_quotes_a_window_around_its_column(nets, tmp_path):
    n = 100_000
    record = {"n": n, "edges": [[i, i + 1] for i in range(n - 1)] + [[0, n]],
              "source": [False] * n}
    path = tmp_path / "long.json"
    path.write_text(json.dumps(record) + "\n")
    assert path.stat().st_size > 1_000_000
    status, _, err = cli("exec", nets["bfs"], "-i", path)
    assert status == 1 and len(err) < 1000, err[:2000]
    (found,) = headers(err)
    quoted, caret = err.splitlines()[1:3]
    assert len(quoted) <= 130 and "[0, 100000]" in quoted, quoted
    # the caret stands under the bad edge in the window, as it would in the whole line
    assert quoted[caret.index("^"):].startswith("[0, 100000]"), (quoted, caret)
