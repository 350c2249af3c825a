"""-o targets that are not plain files: a symlink is written through, a device or named pipe
is written in place, never renamed over (as root that would replace /dev/null with a file)."""
from __future__ import annotations

import json
import os
import stat
import threading
import time

import pytest

import weights_mutants as W
from test_weights_hostile import run_cli

BFS = W.REPO / "stdlib/graph/bfs.ncl"
GRAPH = {"n": 3, "edges": [[0, 1]], "source": [True, False, False]}
WANT = {"reached": [True, True, False]}


@pytest.fixture
def inputs(tmp_path):
    inp = tmp_path / "in.json"
    inp.write_text(json.dumps(GRAPH))
    weights = tmp_path / "bfs.safetensors"
    assert run_cli("compile", BFS, "-o", weights)[0] == 0
    return inp, weights


def _commands(inp, weights, out):
    return {"exec": ("exec", weights, "--input", inp, "-o", out),
            "run": ("run", BFS, "--input", inp, "-o", out)}


@pytest.mark.parametrize("command", ["exec", "run"])
def test_output_through_a_symlink_keeps_the_link(tmp_path, inputs, command):
    target = tmp_path / "target.json"
    target.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(target.name)
    code, _, err = run_cli(*_commands(*inputs, link)[command])
    assert code == 0, err
    assert link.is_symlink() and json.loads(target.read_text()) == WANT


@pytest.mark.parametrize("command", ["exec", "run", "compile"])
def test_output_to_a_named_pipe_writes_into_it_and_leaves_it_a_pipe(tmp_path, inputs, command):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # the read end is open before the writer starts (a reader thread that has not reached its
    # open() yet would make the writer's non-blocking open fail); read until the writer is done
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    chunks, done = [], threading.Event()

    def read():
        while True:
            try:
                chunk = os.read(rfd, 1 << 16)
            except BlockingIOError:
                time.sleep(0.005)
                continue
            if chunk:
                chunks.append(chunk)
            elif done.is_set():
                return
            else:
                time.sleep(0.005)

    reader = threading.Thread(target=read)
    reader.start()
    argv = _commands(*inputs, fifo).get(command) or ("compile", BFS, "-o", fifo)
    try:
        code, _, err = run_cli(*argv)
    finally:
        done.set()
        reader.join(60)
        # whatever the reader thread had not got to yet (it was starved once on a loaded CI
        # machine): the writer has closed, so what is left in the pipe is all there is
        while not reader.is_alive():
            try:
                chunk = os.read(rfd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(rfd)
    got = [b"".join(chunks)]
    assert code == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and (json.loads(got[0]) == WANT if command != "compile"
                    else got[0][8:9] == b"{")
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


@pytest.mark.parametrize("command", ["exec", "run", "compile"])
def test_a_named_pipe_with_no_reader_is_a_located_error_at_once(tmp_path, inputs, command):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    argv = _commands(*inputs, fifo).get(command) or ("compile", BFS, "-o", fifo)
    code, _, err = run_cli(*argv)
    assert code == 1
    assert err.startswith(f"{fifo}:1:1: error: cannot write file: ")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_gap_out_onto_a_file_is_a_usage_error(tmp_path):
    out = tmp_path / "file.txt"
    out.write_text("")
    code, _, err = run_cli("gap", W.REPO / "stdlib/bits/parity.ncl", "--size", "k=4", "--out",
                           out)
    assert code == 2 and "argument --out:" in err and "not a folder" in err
