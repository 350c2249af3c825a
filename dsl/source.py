"""Reading a program's source file: the one reader that every command, the compile driver and the
API use, so that a file means the same text (and the same source hash) wherever it is read.

The text is the file's bytes decoded as UTF-8 (a leading byte-order mark dropped), with no
newline translation: the parser and the diagnostics count lines at `\\n` only and ignore a `\\r`
before it, and the source hash in a weight file is taken of these very bytes. A failure is one
`cannot-read` diagnostic at the file's first line, never a Python exception.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from .diagnostics import Diagnostic, NclError

STDIN = "-"
STDIN_NAME = "<stdin>"
# A program is small; the bound stops `nclang check /dev/zero` before memory runs out. Read as a
# module global at each call, so a test can lower it.
MAX_SOURCE_CHARS = 16 << 20
# UTF-8 takes at most 4 bytes a character: reading this many bytes is enough to tell whether a
# file holds more than MAX_SOURCE_CHARS characters.
_BYTES_PER_CHAR = 4


@dataclass(frozen=True)
class Source:
    file: str    # the name diagnostics use
    data: bytes  # what the source hash is taken of
    text: str


def _cannot_read(file: str, why: str) -> NclError:
    return NclError(Diagnostic(file, 1, 1, 1, 1, "error", "cannot-read",
                               f"cannot read file: {why}"))


def _too_long(file: str, limit: int) -> NclError:
    return _cannot_read(file, f"longer than {limit:,} characters, the most a source file may have")


def read_source(path) -> Source:
    """The source at `path` (`-` is standard input, named `<stdin>`), or NclError
    (`cannot-read`) when it cannot be read, is not UTF-8 text or is longer than
    MAX_SOURCE_CHARS characters."""
    limit = MAX_SOURCE_CHARS
    file = os.fspath(path)
    cap = _BYTES_PER_CHAR * limit + _BYTES_PER_CHAR
    if file == STDIN:
        file = STDIN_NAME
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            # a text stream stands in for stdin (a test's): it is text already
            text = sys.stdin.read(limit + 1)
            if len(text) > limit:
                raise _too_long(file, limit)
            return Source(file, text.encode("utf-8"), text)
        data = stream.read(cap)
    else:
        try:
            with open(file, "rb") as f:
                data = f.read(cap)
        except OSError as err:
            raise _cannot_read(file, err.strerror or str(err)) from None
    if len(data) >= cap:
        raise _too_long(file, limit)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _cannot_read(file, "not UTF-8 text") from None
    if len(text) > limit:
        raise _too_long(file, limit)
    return Source(file, data, text)
