"""Running `nclang` in-process (`nclang.compiler.cli.main`) with given stdin bytes, capturing the
exit status, stdout and stderr: cheap enough for property tests to call per drawn input."""
from __future__ import annotations

import io
import re
import sys
from contextlib import redirect_stderr, redirect_stdout

from nclang.compiler.cli import main

# `FILE:LINE:COL: severity: message`, the one form a diagnostic header may take
HEADER = re.compile(r"^(.+?):(\d+):(\d+): (error|warning|note): (.+)$")


def cli(*argv, stdin: bytes | str | None = None) -> tuple[int, str, str]:
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            status = main([str(a) for a in argv])
    finally:
        sys.stdin = saved
    return status, out.getvalue(), err.getvalue()


def headers(stderr: str) -> list[tuple[str, int, int, str, str]]:
    """The diagnostic headers in stderr: (file, line, col, severity, message)."""
    found = []
    for line in stderr.splitlines():
        m = HEADER.match(line)
        if m:
            found.append((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)))
    return found


def assert_clean_outcome(status: int, stderr: str, files: set[str]) -> None:
    """Exit 0 with nothing on stderr, or exit 1 with at least one located error, every line of
    stderr a diagnostic header in one of `files` or its quoted source and caret: never a
    traceback, never an internal error (70)."""
    assert "Traceback" not in stderr, stderr
    assert status in (0, 1), (status, stderr)
    if status == 0:
        assert stderr == "", stderr
        return
    found = headers(stderr)
    assert any(h[3] == "error" for h in found), stderr
    assert {h[0] for h in found} <= files, stderr
    # split at "\n" only: a quoted record may hold U+2028, which splitlines breaks at
    for line in stderr.rstrip("\n").split("\n"):
        assert HEADER.match(line) or line.startswith("    "), stderr
