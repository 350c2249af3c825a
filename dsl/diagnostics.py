"""Diagnostics in GNU style: `FILE:LINE:COL: error: message`, then the source line and a caret.

Every stage collects diagnostics instead of stopping at the first, and raises `NclError` with the
whole list when it is done, so a user sees every error in a file at once.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass

from .ast import Span


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int
    col: int
    end_line: int
    end_col: int
    severity: str  # "error" | "warning" | "note"
    code: str      # a stable short name, e.g. "unknown-name"
    message: str

    @staticmethod
    def at(span: Span, code: str, message: str, severity: str = "error") -> "Diagnostic":
        return Diagnostic(span.file, span.line, span.col, span.end_line, span.end_col, severity,
                          code, message)

    def header(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"

    def render(self, source: str | None = None) -> str:
        """The header line, then (when the source is known) the offending line and a caret."""
        out = self.header()
        if source is None:
            return out
        lines = source_lines(source)
        if not 1 <= self.line <= len(lines) or not lines[self.line - 1]:
            return out
        text = lines[self.line - 1].expandtabs(1)
        width = 1
        if self.end_line == self.line and self.end_col > self.col:
            width = self.end_col - self.col
        col = self.col
        if len(text) > MAX_WHOLE_LINE:
            # a very long line (a whole graph on one JSON line) is quoted around the column
            # only: an error message of a few lines, never megabytes
            start = max(0, min(col - 1 - MAX_QUOTE // 2, len(text) - MAX_QUOTE))
            end = start + MAX_QUOTE
            width = max(1, min(width, end - (col - 1)))
            col = col - start + (start > 0)
            text = "…" * (start > 0) + text[start:end] + "…" * (end < len(text))
        caret = " " * (col - 1) + "^" + "~" * (width - 1)
        return f"{out}\n    {text}\n    {caret}"

    def to_json(self) -> dict:
        return asdict(self)


# A line of at most MAX_WHOLE_LINE characters is quoted whole (a long line of a program stays
# readable); of a longer one, MAX_QUOTE characters around the column.
MAX_WHOLE_LINE = 2048
MAX_QUOTE = 120


def source_lines(text: str) -> list[str]:
    """Lines as the parser and the JSON reader count them: split at `\n` only (str.splitlines
    also breaks at form feeds and Unicode separators, which would quote the wrong line)."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


class NclError(Exception):
    """One or more diagnostics about the user's input (exit status 1)."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(d.header() for d in self.diagnostics))

    @staticmethod
    def at(span: Span, code: str, message: str) -> "NclError":
        return NclError(Diagnostic.at(span, code, message))


def did_you_mean(name: str, candidates) -> str:
    """A ` (did you mean 'x'?)` suffix when some candidate is close to `name`, else ''."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def render_all(diagnostics: list[Diagnostic], sources: dict[str, str] | None = None) -> str:
    sources = sources or {}
    return "\n".join(d.render(sources.get(d.file)) for d in diagnostics)


def to_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2)
