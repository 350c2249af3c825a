"""What a command works with: its parsed options, the files it has read (so that a diagnostic
can quote its line, streamed records included), and the exit statuses it ends with.

Exit statuses: 0 ok, 1 errors in the user's input, 2 usage, 3 a compiled network disagrees with
the reference interpreter, 70 internal error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

EXIT_OK = 0
EXIT_USER = 1
EXIT_USAGE = 2
EXIT_DISAGREE = 3
EXIT_INTERNAL = 70

STDIO = "-"
STDIN_NAME = "<stdin>"


class Context:
    """What a command has read so far, so that diagnostics can quote the offending line."""

    def __init__(self, args: argparse.Namespace, parser: argparse.ArgumentParser):
        self.args = args
        self.parser = parser
        self.sources: dict[str, str] = {}
        # file -> {first line: text}: records of a streamed input that diagnostics quote
        self.quoted: dict[str, dict[int, str]] = {}

    def read(self, path: str) -> tuple[str, str]:
        """The display name and text of a file, `-` being stdin (`nclang.dsl.source`, the one
        source reader)."""
        from nclang.dsl.source import read_source
        source = read_source(path)
        self.sources[source.file] = source.text
        return source.file, source.text

    def open_input(self, path: str):
        """The display name and a binary stream of an input, `-` being stdin; the caller reads
        it a line at a time (`nclang.dsl.jsonio.iter_records`) and closes it."""
        from nclang.dsl.diagnostics import Diagnostic, NclError
        if path == STDIO:
            # a test may put a text stream in place of stdin; iter_records reads either
            return STDIN_NAME, getattr(sys.stdin, "buffer", sys.stdin)
        try:
            if os.path.isdir(path):
                raise IsADirectoryError(21, "Is a directory")
            return path, open(path, "rb")
        except OSError as err:
            raise NclError(Diagnostic(path, 1, 1, 1, 1, "error", "cannot-read",
                                      f"cannot read file: {err.strerror or err}")) from None

    def quote(self, file: str, first_line: int, text: str) -> None:
        """Remember `text`, the lines of `file` from `first_line` on, so that a diagnostic there
        can quote its line: a streamed input is not kept whole, only its records in error."""
        if first_line == 1:
            self.sources[file] = text
        else:
            self.quoted.setdefault(file, {})[first_line] = text

    def usage_error(self, message: str):
        self.parser.error(message)  # exits with status 2

    def render(self, diagnostics) -> str:
        """The diagnostics as the user reads them, each quoting its line where it was read."""
        from nclang.dsl.diagnostics import render_all
        if not self.quoted:
            return render_all(diagnostics, self.sources)
        return "\n".join(self._render_one(d) for d in diagnostics)

    def _render_one(self, d) -> str:
        """A diagnostic quoting its line from a streamed record: rendered as if the record's
        text were the whole file (its lines renumbered from 1), under the diagnostic's own
        header."""
        import dataclasses
        for first, text in self.quoted.get(d.file, {}).items():
            if first <= d.line <= first + text.count("\n"):
                shifted = dataclasses.replace(d, line=d.line - first + 1,
                                              end_line=d.end_line - first + 1)
                return d.header() + shifted.render(text)[len(shifted.header()):]
        return d.render(self.sources.get(d.file))


def load_program(ctx: Context, path: str, name: str | None):
    """The checked program `name` of the file at `path` (the only one when `name` is None)."""
    from nclang.dsl.checker import check_source, select_program
    file, text = ctx.read(path)
    return select_program(check_source(text, file), name, file)


def print_json(doc) -> None:
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
