"""One source reader (`nclang.dsl.source.read_source`) for every command, the driver and the API:
a file means the same text and the same hashed bytes however it is read, and every way it can
fail to be read is one located `cannot-read` error."""
from __future__ import annotations

import hashlib
import io
import os
import sys

import pytest

from cli_inprocess import cli, headers
from nclang.compiler import driver
from nclang.dsl import source as S
from nclang.dsl.diagnostics import NclError

PROGRAM = "program p(x: bits[k]) -> bool {\n    return x[0]\n}\n"
BROKEN = "program p(x: bits[k]) -> bool {\r    y = = 1\r    return x[0]\r}\r"


def _error(path) -> str:
    with pytest.raises(NclError) as info:
        S.read_source(path)
    (d,) = info.value.diagnostics
    assert (d.file, d.line, d.col, d.code) == (os.fspath(path) if path != "-" else "<stdin>",
                                               1, 1, "cannot-read")
    return d.message


def test_the_driver_reads_sources_with_the_one_reader():
    assert driver.read_source is S.read_source and driver.Source is S.Source


def test_the_text_is_the_bytes_decoded_without_newline_translation(tmp_path):
    raw = b"\xef\xbb\xbf" + PROGRAM.replace("\n", "\r\n").encode()
    f = tmp_path / "p.ncl"
    f.write_bytes(raw)
    src = S.read_source(f)
    assert src.data == raw  # the source hash is of the file's own bytes
    assert src.text == PROGRAM.replace("\n", "\r\n")  # the byte-order mark only is dropped
    assert src.file == str(f)


def test_stdin_is_read_as_bytes_and_named_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(PROGRAM.encode())))
    src = S.read_source("-")
    assert (src.file, src.text, src.data) == ("<stdin>", PROGRAM, PROGRAM.encode())


def test_a_text_stream_in_place_of_stdin_is_read_as_text(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(PROGRAM))
    assert S.read_source("-").text == PROGRAM


def test_unreadable_sources_are_one_cannot_read_error(tmp_path):
    assert _error(tmp_path / "missing.ncl") == "cannot read file: No such file or directory"
    assert _error(tmp_path) == "cannot read file: Is a directory"
    bad = tmp_path / "latin1.ncl"
    bad.write_bytes(b"program p() -> int { return 0 } # caf\xe9\n")
    assert _error(bad) == "cannot read file: not UTF-8 text"


def test_a_source_longer_than_the_bound_is_refused_reading_only_a_bounded_prefix(
        tmp_path, monkeypatch):
    monkeypatch.setattr(S, "MAX_SOURCE_CHARS", 100)
    want = "cannot read file: longer than 100 characters, the most a source file may have"
    assert _error("/dev/zero") == want  # endless: stops at the bound
    ascii_file = tmp_path / "long.ncl"
    ascii_file.write_text("#" * 101)
    assert _error(ascii_file) == want
    wide = tmp_path / "wide.ncl"
    wide.write_text("#" + "\u00e9" * 99, encoding="utf-8")  # 100 characters in 199 bytes
    assert len(S.read_source(wide).text) == 100


def test_check_and_compile_place_an_error_alike(tmp_path):
    # a file whose lines end in a lone \r: before one reader, `check` (text mode, which turns
    # \r into a line break) put the error on line 2 and `compile` (bytes) on line 1
    f = tmp_path / "p.ncl"
    f.write_bytes(BROKEN.encode())
    at = set()
    for argv in (["check", f], ["compile", f, "-o", tmp_path / "p.safetensors", "--size",
                                "k=4"]):
        status, _, err = cli(*argv)
        assert status == 1, err
        at |= {(h[1], h[2]) for h in headers(err) if h[3] == "error"}
    assert len(at) == 1, at


def test_the_source_hash_in_a_weight_file_is_of_the_bytes_read(tmp_path):
    f = tmp_path / "p.ncl"
    f.write_bytes(PROGRAM.replace("\n", "\r\n").encode())
    out = tmp_path / "p.safetensors"
    status, _, err = cli("compile", f, "-o", out, "--size", "k=4")
    assert status == 0, err
    from safetensors import safe_open
    with safe_open(str(out), "np") as w:
        meta = w.metadata()
    assert hashlib.sha256(f.read_bytes()).hexdigest() in "".join(meta.values())
