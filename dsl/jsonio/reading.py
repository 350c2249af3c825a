"""Reading input records: JSON Lines or one document, a line at a time, parsed strictly (RFC 8259:
no NaN, no Infinity, no duplicate keys, bounded depth, digits and record size), each object kept
as a `Record` that can point a diagnostic at one of its keys or elements."""
from __future__ import annotations

import bisect
import io
import json
import math
import re
import sys

import numpy as np

from .. import ast as A
from ..diagnostics import Diagnostic, NclError
from .describe import _json_kind

_DECODER = json.JSONDecoder()


# ---------------------------------------------------------------- reading records

# The most bytes one record may take: a JSON Lines line, or the whole of a one-document input.
# Input is read a line at a time, so this, not the input's length, bounds the memory a read
# needs; an endless stream without newlines (/dev/zero) stops here with an error.
MAX_RECORD_BYTES = 64 * 1024 * 1024
# The deepest nesting of lists and objects a record may have. No input type nests more than a
# few levels (an object holding n lists of n values is 3); the bound keeps the recursive JSON
# parser, and everything that walks a value after it, far from Python's recursion limit.
MAX_DEPTH = 64
# The most digits an integer may have: Python's own limit on converting decimal text
# (sys.get_int_max_str_digits), 4,300 by default: enough for a bits[14000] value.
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300


class Record(dict):
    """A JSON object as read from a text, with what is needed to find its keys and elements.

    `text` is the record's own text (its line, for JSON Lines), `start` the offset of its `{` in
    it, and `first_line` the number of the line `text` begins on, so that finding a key costs
    time in the record's length, not in the length of the input before it."""

    def __init__(self, pairs=()):
        super().__init__()
        self.duplicates: list[str] = []
        for key, value in pairs:
            if key in self:
                self.duplicates.append(key)
            self[key] = value
        self.text, self.start, self.file, self.first_line = "", 0, "<input>", 1
        self._line_starts: list[int] | None = None

    def _bind(self, text: str, start: int, file: str, first_line: int = 1) -> "Record":
        self.text, self.start, self.file, self.first_line = text, start, file, first_line
        self._line_starts = None
        return self

    def _line_col(self, offset: int) -> tuple[int, int]:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        i = bisect.bisect_right(self._line_starts, offset) - 1
        return self.first_line + i, offset - self._line_starts[i] + 1

    def span_of(self, offset: int, end: int) -> A.Span:
        line, col = self._line_col(offset)
        end_line, end_col = self._line_col(end)
        return A.Span(self.file, line, col, end_line, end_col)

    def record_span(self) -> A.Span:
        return self.span_of(self.start, self.start + 1)

    def key_span(self, key: str) -> A.Span:
        """The span of `"key"` in this object's text (the record's start if it cannot be found)."""
        found = _locate_key(self.text, self.start, key)
        return self.span_of(*found) if found else self.record_span()

    def element_span(self, key: str, path: tuple[int, ...]) -> A.Span:
        """The span of the element at `path` inside the list under `key`."""
        found = _locate_value(self.text, self.start, key, path)
        return self.span_of(*found) if found else self.key_span(key)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _members(text: str, pos: int):
    """(key start, key end, value start) for each member of the object at `pos` (valid JSON)."""
    pos = _skip_ws(text, pos)
    if pos >= len(text) or text[pos] != "{":
        return
    pos = _skip_ws(text, pos + 1)
    while pos < len(text) and text[pos] == '"':
        key, key_end = _DECODER.raw_decode(text, pos)
        value_start = _skip_ws(text, _skip_ws(text, key_end) + 1)
        yield key, pos, key_end, value_start
        _, value_end = _DECODER.raw_decode(text, value_start)
        pos = _skip_ws(text, value_end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
        else:
            return


def _locate_key(text: str, start: int, key: str) -> tuple[int, int] | None:
    found = None
    # The last occurrence is the one json keeps when a key is repeated.
    for name, key_start, key_end, _ in _members(text, start):
        if name == key:
            found = (key_start, key_end)
    return found


def _locate_value(text: str, start: int, key: str, path: tuple[int, ...]):
    value_start = None
    for name, _, _, vstart in _members(text, start):
        if name == key:
            value_start = vstart
    if value_start is None:
        return None
    pos = value_start
    for index in path:
        if text[pos] != "[":
            return None
        pos = _skip_ws(text, pos + 1)
        for _ in range(index):
            if text[pos] == "]":
                return None
            _, pos = _DECODER.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            if text[pos] != ",":
                return None
            pos = _skip_ws(text, pos + 1)
        if text[pos] == "]":
            return None
    _, end = _DECODER.raw_decode(text, pos)
    return pos, end


# ---- strict parsing (RFC 8259)

class _Refused(ValueError):
    """A literal the standard json module would accept but RFC 8259 (or Python) does not."""

    def __init__(self, literal: str, message: str):
        super().__init__(message)
        self.literal, self.message = literal, message


def _refuse_constant(name: str):
    raise _Refused(name, f"{name} is not JSON (RFC 8259 has no NaN or infinities)"
                   + ("; write infinity as the string \"inf\"" if "Infinity" in name else ""))


def _long_int(text: str) -> tuple[int, str] | None:
    """The offset of the first integer outside strings longer than MAX_INT_DIGITS, and why."""
    for m in _TOKEN.finditer(text):
        token = m.group()
        digits = len(token) - token.startswith("-")
        if token[-1].isdigit() and token.lstrip("-").isdigit() and digits > MAX_INT_DIGITS:
            return m.start(), (f"an integer of {digits} digits is too long (the most is "
                               f"{MAX_INT_DIGITS})")
    return None


def _strict_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise _Refused(text, f"{_clip(text)} is too large for a number (the largest is about "
                             f"1.8e308)")
    return x


def _clip(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


# ints are left to the C scanner (a Python hook per int halves the speed); the one it refuses,
# longer than Python converts, comes out as a ValueError and is found by `_long_int`
_STRICT = json.JSONDecoder(object_pairs_hook=Record, parse_constant=_refuse_constant,
                           parse_float=_strict_float)
# a JSON string, or a token the strict parser may refuse (a constant or a number)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _locate_literal(text: str, literal: str) -> int:
    """The offset of the first token `literal` outside strings (0 if there is none)."""
    for m in _TOKEN.finditer(text):
        if m.group() == literal:
            return m.start()
    return 0


def _depth_exceeded(text: str) -> int | None:
    """The offset of the bracket that nests deeper than MAX_DEPTH, or None."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    # First a vectorised check that ignores brackets inside strings; the exact place is looked
    # for, character by character, only when the check fails.
    if _max_depth(text) <= MAX_DEPTH:
        return None
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return i
        elif ch in "]}":
            depth -= 1
    return 0


def _max_depth(text: str) -> int:
    """The deepest nesting of brackets outside strings in `text`: the running sum of +1 per
    opening and -1 per closing bracket, over the brackets and quotes alone (`bytes.translate`
    drops every other byte; a hundredth of a second for a 10^5-node graph). Without a
    backslash, a bracket is inside a string exactly when an odd number of quotes come before
    it; with one (an escaped quote breaks the count), strings are blanked out first."""
    if "\\" in text:
        text = _STRING.sub('""', text)
    marks = np.frombuffer(text.encode("utf-8", "replace").translate(_MARK, _UNMARKED),
                          dtype=np.int8)
    quote = marks == _QUOTE
    if quote.any():
        marks = np.where(quote | (np.cumsum(quote) & 1).astype(bool), 0, marks)
    return int(np.cumsum(marks, dtype=np.int64).max()) if marks.size else 0


# each byte kept by `_max_depth` and its mark: +1 for [ and {, -1 for ] and }, _QUOTE for "
_QUOTE = 2
_MARK = bytes(np.array([{91: 1, 123: 1, 93: -1, 125: -1, 34: _QUOTE}.get(i, 0)
                        for i in range(256)], dtype=np.int8).view(np.uint8))
_UNMARKED = bytes(i for i in range(256) if i not in (91, 123, 93, 125, 34))


class _Parsed:
    """One record as read: the object (None when it could not be read) or its diagnostics."""
    __slots__ = ("record", "errors", "syntax")

    def __init__(self, record, errors, syntax=False):
        # syntax: the text is not (the start of) one whole JSON value, as opposed to a value
        # that is refused (NaN, too deep, not an object)
        self.record, self.errors, self.syntax = record, errors, syntax


def _parse(text: str, file: str, first_line: int) -> _Parsed:
    """Parse one record's text strictly; every failure is a located `bad-json` diagnostic."""
    def at(offset: int, message: str) -> _Parsed:
        probe = Record()._bind(text, 0, file, first_line)
        line, col = probe._line_col(offset)
        return _Parsed(None, [Diagnostic(file, line, col, line, col + 1, "error", "bad-json",
                                         message)])
    try:
        value = _STRICT.decode(text)
    except json.JSONDecodeError as err:
        return _Parsed(None, [_json_error(file, err, first_line - 1)], syntax=True)
    except _Refused as err:
        return at(_locate_literal(text, err.literal), f"malformed JSON: {err.message}")
    except ValueError:
        found = _long_int(text)
        if found is None:
            raise
        return at(found[0], f"malformed JSON: {found[1]}")
    except RecursionError:
        return at(_depth_exceeded(text) or 0,
                  f"malformed JSON: lists and objects nested more than {MAX_DEPTH} deep")
    deep = _depth_exceeded(text)
    if deep is not None:
        return at(deep, f"malformed JSON: lists and objects nested more than {MAX_DEPTH} deep")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if not isinstance(value, Record):
        return at(start, f"expected a JSON object, got {_json_kind(value)}")
    return _Parsed(value._bind(text, start, file, first_line), [])


def _json_error(file: str, err: json.JSONDecodeError, line_offset: int = 0) -> Diagnostic:
    line = err.lineno + line_offset
    msg = err.msg[:1].lower() + err.msg[1:]
    return Diagnostic(file, line, err.colno, line, err.colno + 1, "error", "bad-json",
                      f"malformed JSON: {msg}")


# ---- the input, a line at a time

class Item:
    """One record of an input: `record` (a `Record`, or None) or `errors` (its diagnostics),
    the `line` it starts on, and `text`, its source from line `first_line` on, for quoting.
    `fatal` says reading cannot go on after it (a line too long to read)."""
    __slots__ = ("line", "record", "errors", "text", "first_line", "fatal")

    def __init__(self, line, record, errors, text, first_line, fatal=False):
        self.line, self.record, self.errors = line, record, errors
        self.text, self.first_line, self.fatal = text, first_line, fatal


def _error_item(file: str, line: int, col: int, message: str, text: str = "",
                fatal: bool = False) -> Item:
    return Item(line, None, [Diagnostic(file, line, col, line, col + 1, "error", "bad-json",
                                        message)], text, line, fatal)


def _raw_lines(stream, file: str):
    """(number, text or an error Item) for each line of a binary or text stream, without its
    newline; at most MAX_RECORD_BYTES + 1 are read for a line, so a line too long ends it."""
    number = 0
    while True:
        try:
            chunk = stream.readline(MAX_RECORD_BYTES + 1)
        except OSError as err:
            yield number + 1, _error_item(file, number + 1, 1, "cannot read file: "
                                          f"{err.strerror or err}", fatal=True)
            return
        if not chunk:
            return
        number += 1
        newline = b"\n" if isinstance(chunk, bytes) else "\n"
        if chunk.endswith(newline):
            chunk = chunk[:-1]
        elif len(chunk) > MAX_RECORD_BYTES:
            yield number, _error_item(file, number, 1, f"line {number} is longer than "
                                      f"{_mib(MAX_RECORD_BYTES)}, the most a record may take",
                                      fatal=True)
            return
        if isinstance(chunk, bytes):
            try:
                chunk = chunk.decode("utf-8")
            except UnicodeDecodeError as err:
                col = len(chunk[:err.start].decode("utf-8", "replace")) + 1
                yield number, _error_item(file, number, col, f"not UTF-8 text: byte "
                                          f"0x{chunk[err.start]:02x} cannot start or continue "
                                          f"a character", chunk.decode("utf-8", "replace"))
                continue
        if number == 1:
            chunk = chunk.removeprefix("\ufeff")
        yield number, chunk


def _mib(size: int) -> str:
    return f"{size >> 20} MiB" if size % (1 << 20) == 0 else f"{size:,} bytes"


def _looks_like_a_line(line: str) -> bool:
    s = line.strip()
    return s.startswith("{") and s.endswith("}")


def iter_records(stream, file: str):
    """The records of an input stream (binary or text), one `Item` each, reading it a line at
    a time.

    The first non-blank line decides the form. If it is a JSON value by itself, or looks like a
    one-line object (so that a malformed first record is still reported at its line), the
    input is JSON Lines: each non-blank line is a record, read and given out before the next
    is read. Otherwise the input is one JSON document that spans several lines, read whole
    (at most MAX_RECORD_BYTES); if it does not parse but every non-blank line looks like a
    one-line object, it is reported as JSON Lines after all."""
    lines = _raw_lines(stream, file)
    blank = []
    for number, text in lines:  # noqa: B007 (number is read after the break)
        if isinstance(text, Item):
            yield text
            if text.fatal:
                return
            continue
        if text.strip():
            break
        blank.append(text)
    else:
        yield _error_item(file, 1, 1, "empty input: expected a JSON object or JSON Lines")
        return
    first = _parse(text, file, number)
    if not first.syntax or _looks_like_a_line(text):
        yield Item(number, first.record, first.errors, text, number)
        yield from _json_lines(lines, file)
        return
    yield from _document(blank + [text], lines, file)


def _json_lines(lines, file: str):
    for number, text in lines:
        if isinstance(text, Item):
            yield text
            if text.fatal:
                return
            continue
        if not text.strip():
            continue
        parsed = _parse(text, file, number)
        yield Item(number, parsed.record, parsed.errors, text, number)


def _document(head: list[str], lines, file: str):
    """One document spanning several lines (`head` read so far, the rest still in `lines`)."""
    parts, size = list(head), sum(len(s) + 1 for s in head)
    for number, text in lines:
        if isinstance(text, Item):
            yield text
            return
        parts.append(text)
        size += len(text) + 1
        if size > MAX_RECORD_BYTES:
            yield _error_item(file, number, 1, f"the input is one JSON document longer than "
                              f"{_mib(MAX_RECORD_BYTES)}, the most a record may take",
                              fatal=True)
            return
    whole = "\n".join(parts)
    first = next(i for i, s in enumerate(parts) if s.strip()) + 1
    parsed = _parse(whole, file, 1)
    body = [s for s in parts if s.strip()]
    if parsed.record is None and len(body) > 1 and all(map(_looks_like_a_line, body)):
        yield from _json_lines(iter(enumerate(parts, start=1)), file)
        return
    yield Item(first, parsed.record, parsed.errors, whole, 1)


def read_records(text: str, file: str) -> list[tuple[dict, int]]:
    """The instances in an input text, each with the 1-based line it starts on.

    Raises `NclError` (code `bad-json`) with one diagnostic per malformed record."""
    records, errors = [], []
    for item in iter_records(io.StringIO(text), file):
        if item.errors:
            errors.extend(item.errors)
        else:
            records.append((item.record, item.line))
    if errors:
        raise NclError(errors)
    return records
