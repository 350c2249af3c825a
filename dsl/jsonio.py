"""The JSON codec between the input/output formats of DESIGN.md and run-time values.

Input is one JSON object (one instance) or JSON Lines (one object per non-blank line, a batch).
`read_records` parses the text and remembers where each object stood, so that `decode` can point
a diagnostic at the key or the list element that is wrong rather than at the whole record.
`encode` turns a run's outputs into a JSON-ready dict.

Element encodings: `bool` is `true`/`false`; an int is a JSON integer, or `"inf"`/`"-inf"` where
its declared range allows them; `frac` a number; `token` a string; a node id an integer in
0..n-1 or `null` for `none`; `bits[SIZE]` an unsigned integer below 2^SIZE; a field nested lists.
"""
from __future__ import annotations

import bisect
import io
import json
import math
import re
import sys
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

from . import ast as A
from . import types as T
from .diagnostics import Diagnostic, NclError, did_you_mean
from .values import EXACT_INT_LIMIT, NONE_INDEX, GraphData, Instance, dtype_of

INF = float("inf")

# How many element errors one field reports before summing the rest up in one line: a list of a
# million out-of-range values should not bury the other fields' errors.
MAX_ERRORS_PER_FIELD = 5

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
    # First a vectorised check with strings blanked out (they may hold brackets); the exact
    # place is looked for, character by character, only when the check fails.
    bare = np.frombuffer(_STRING.sub('""', text).encode("utf-8", "replace"), dtype=np.uint8)
    step = (np.isin(bare, (91, 123)).astype(np.int64) - np.isin(bare, (93, 125)))
    if not step.size or int(np.cumsum(step).max()) <= MAX_DEPTH:
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
    for number, text in lines:
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


# ---------------------------------------------------------------- sizes

def _names_in(expr) -> set[str]:
    """The size variables an AST expression mentions."""
    if isinstance(expr, A.Name):
        return {expr.id}
    found: set[str] = set()
    if is_dataclass(expr):
        for f in fields(expr):
            value = getattr(expr, f.name)
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                if is_dataclass(item) and not isinstance(item, A.Span):
                    found |= _names_in(item)
    return found


def input_sizes(checked) -> frozenset[str]:
    """The size variables that an input instance fixes by itself (so `--size` may not)."""
    if checked.family == "graph":
        return frozenset({"n", "m"})
    if checked.family == "seq" and any(_is_seq(T.from_syntax(p.type))
                                       for p in checked.program.params):
        return frozenset({"n"})
    return frozenset()


def _is_seq(t: T.Type) -> bool:
    return isinstance(t, T.Field) and any(a.kind == "pos" for a in t.axes)


def check_sizes(checked, sizes: dict[str, int], file: str) -> None:
    """Raise `missing-size` for every size variable that neither the input nor `sizes` fixes.

    The diagnostic points at the first parameter type that mentions the variable (else at the
    program's name), in the program's source file."""
    program = checked.program
    needed: dict[str, A.Span] = {}
    for p in program.params:
        for name in sorted(_names_in(p.type)):
            needed.setdefault(name, p.type.span)
    for name in sorted(getattr(checked, "size_vars", ())):
        needed.setdefault(name, program.name_span)
    fixed = input_sizes(checked) | set(sizes)
    errors = [Diagnostic.at(span, "missing-size", f"size {name} is not fixed: pass --size {name}=N")
              for name, span in needed.items() if name not in fixed]
    if errors:
        raise NclError(errors)


# ---------------------------------------------------------------- decoding

def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, (int, float)):
        return f"the number {_show(value)}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Bad(Exception):
    """One element that does not fit its type; the message is finished by the caller."""


class _Decoder:
    def __init__(self, checked, obj: dict, sizes: dict[str, int], file: str, line: int,
                 params=None):
        self.checked = checked
        self.params = params
        self.obj = obj
        self.sizes = dict(sizes)
        self.file = file
        self.line = line
        self.errors: list[Diagnostic] = []
        self.values: dict[str, np.ndarray] = {}
        self.graph: GraphData | None = None
        self.n: int | None = None
        self.m: int | None = None
        self.n_from: str | None = None

    # ---- where
    def _record_span(self) -> A.Span:
        if isinstance(self.obj, Record):
            return self.obj.record_span()
        return A.Span(self.file, self.line, 1, self.line, 2)

    def _key_span(self, key: str) -> A.Span:
        if isinstance(self.obj, Record):
            return self.obj.key_span(key)
        return self._record_span()

    def _elem_span(self, key: str, path: tuple[int, ...]) -> A.Span:
        if isinstance(self.obj, Record):
            return self.obj.element_span(key, path)
        return self._record_span()

    def error(self, span: A.Span, message: str) -> None:
        self.errors.append(Diagnostic.at(span, "bad-input", message))

    # ---- the whole record
    def run(self) -> Instance:
        program = self.checked.program
        params = self.params or [(p.name, T.from_syntax(p.type)) for p in program.params]
        graph_family = any(isinstance(t, T.Graph) for _, t in params)
        known = {name for name, t in params if not isinstance(t, T.Graph)}
        if graph_family:
            known |= {"n", "edges"}
        for key in self.obj:
            if key not in known:
                self.error(self._key_span(key),
                           f"unknown field '{key}'{did_you_mean(key, known)}"
                           f" (program {program.name} takes: {', '.join(sorted(known))})")
        for key in getattr(self.obj, "duplicates", ()):
            self.error(self._key_span(key), f"field '{key}' is given more than once")
        if graph_family:
            self._graph()
        else:
            self._sequence_length(params)
        for name, t in params:
            if isinstance(t, T.Graph):
                continue
            if name not in self.obj:
                self.error(self._record_span(),
                           f"missing field '{name}' ({t}{self._describe_axes(t)})")
                continue
            self._param(name, t, self.obj[name])
        if self.errors:
            raise NclError(sorted(self.errors, key=lambda d: (d.file != self.file, d.line, d.col)))
        sizes = dict(self.sizes)
        if self.n is not None:
            sizes["n"] = self.n
        if self.m is not None:
            sizes["m"] = self.m
        return Instance(sizes=sizes, values=self.values, graph=self.graph)

    # ---- graph: n and edges
    def _graph(self) -> None:
        if "n" not in self.obj:
            self.error(self._record_span(), "missing field 'n' (the number of nodes)")
        else:
            n = self.obj["n"]
            if not _is_int(n) or n < 1:
                self.error(self._key_span("n"), "n must be a positive integer (the number of"
                                                f" nodes), got {_json_kind(n)}")
            else:
                self.n = int(n)
        edges = self.obj.get("edges", [])
        if not isinstance(edges, list):
            self.error(self._key_span("edges"),
                       f"edges must be a list of [u, v] pairs, got {_json_kind(edges)}")
            return
        src, dst, bad = [], [], 0
        for e, pair in enumerate(edges):
            ok = isinstance(pair, list) and len(pair) == 2 and all(_is_int(u) for u in pair)
            if ok and self.n is not None and not all(0 <= u < self.n for u in pair):
                problem = f"edges[{e}]: {_show(pair)} names a node outside 0..{self.n - 1}"
            elif not ok:
                problem = f"edges[{e}]: expected a pair [u, v] of node ids, got {_show(pair)}"
            else:
                src.append(int(pair[0]))
                dst.append(int(pair[1]))
                continue
            bad += 1
            if bad <= MAX_ERRORS_PER_FIELD:
                self.error(self._elem_span("edges", (e,)), problem)
        if bad > MAX_ERRORS_PER_FIELD:
            self.error(self._key_span("edges"),
                       f"edges: {bad - MAX_ERRORS_PER_FIELD} more bad edges not shown")
        if bad:
            return
        self.m = len(edges)
        if self.n is not None:
            self.graph = GraphData(self.n, np.asarray(src, dtype=np.int64),
                                   np.asarray(dst, dtype=np.int64))

    # ---- sequences: n is the common length
    def _sequence_length(self, params) -> None:
        """n is the length of the first sequence given; the others are checked against it when
        their values are decoded."""
        for name, t in params:
            if not _is_seq(t) or name not in self.obj or not isinstance(self.obj[name], list):
                continue
            if not self.obj[name]:
                self.error(self._key_span(name),
                           f"{name} is empty: a sequence has at least one position")
            else:
                self.n, self.n_from = len(self.obj[name]), name
            return

    # ---- one parameter
    def _describe_axes(self, t: T.Type) -> str:
        if not isinstance(t, T.Field) or t.bits:
            return ""
        kinds = tuple(a.kind for a in t.axes)
        return {("node",): ": one per node", ("edge",): ": one per edge, in the order of edges",
                ("node", "node"): ": n lists of n", ("pos",): ": one per position"}.get(kinds, "")

    def _dim(self, name: str, axis: T.Axis) -> tuple[int | None, str]:
        """The length an axis must have, and how to say where that length comes from."""
        match axis.kind:
            case "node":
                return self.n, f"n = {self.n}"
            case "pos":
                if self.n_from == name:
                    return self.n, ""
                return self.n, f"{self.n_from} has {self.n}"
            case "edge":
                return self.m, f"there are {self.m} edges"
        size = self._size(axis.size)
        return size, f"{_size_text(axis.size)} = {size}"

    def _size(self, expr) -> int | None:
        from .sizes import eval_size
        sizes = dict(self.sizes)
        if self.n is not None:
            sizes["n"] = self.n
        if self.m is not None:
            sizes["m"] = self.m
        if not _names_in(expr) <= set(sizes):
            return None
        size = int(eval_size(expr, sizes))
        if size < 0:
            self.errors.append(Diagnostic.at(expr.span, "bad-size",
                                             f"size {_size_text(expr)} = {size} is negative"))
            return None
        return size

    def _param(self, name: str, t: T.Type, value: Any) -> None:
        if not isinstance(t, T.Field):
            try:
                self.values[name] = np.array(self._scalar(t, value), dtype=dtype_of(t))
            except _Bad as bad:
                self.error(self._key_span(name), f"{name}: {bad}")
            return
        if t.bits:
            self._bits(name, t, value)
            return
        dims = [self._dim(name, a) for a in t.axes]
        before = len(self.errors)
        cells = self._nested(name, t, value, dims, ())
        if len(self.errors) > before or cells is None:
            return
        if any(d is None for d, _ in dims):
            # A size we could not evaluate (already reported) leaves the shape unknown.
            return
        shape = tuple(d for d, _ in dims)
        array = np.empty(shape, dtype=dtype_of(t))
        if array.size:
            if array.dtype == object:
                for index, cell in _cells(cells, len(shape)):
                    array[index] = cell
            else:
                array[...] = np.asarray(cells, dtype=array.dtype)
        self.values[name] = array

    def _bits(self, name: str, t: T.Field, value: Any) -> None:
        width = self._size(t.axes[0].size)
        if width is None:
            return
        if not _is_int(value) or value < 0:
            self.error(self._key_span(name),
                       f"{name}: expected an unsigned integer ({t}), got {_json_kind(value)}")
            return
        value = int(value)
        if value.bit_length() > width:  # value >= 2^width, without computing 2^width
            bound = f"2^{width} = {1 << width}" if width <= 64 else f"2^{width}"
            self.error(self._key_span(name),
                       f"{name}: {value} does not fit in {t} with {_size_text(t.axes[0].size)}"
                       f" = {width} (it must be below {bound})")
            return
        self.values[name] = np.array([(value >> i) & 1 for i in range(width)], dtype=np.bool_)

    def _nested(self, name: str, t: T.Field, value: Any, dims, path: tuple[int, ...]):
        """Check the nested lists under `name` against the axes; the decoded cells, or None."""
        depth = len(path)
        where = name + "".join(f"[{i}]" for i in path)
        # where the list is: looked up only for an error, since finding it means a scan
        def span():
            return self._elem_span(name, path) if path else self._key_span(name)
        if not isinstance(value, list):
            self.error(span(), f"{where}: expected a list ({t}{self._describe_axes(t)}),"
                             f" got {_json_kind(value)}")
            return None
        want, why = dims[depth]
        if want is not None and len(value) != want:
            self.error(span(), f"{where} has {len(value)} elements but {why}"
                             f" ({t}{self._describe_axes(t)})")
            return None
        if depth + 1 < len(dims):
            rows = [self._nested(name, t, row, dims, path + (i,)) for i, row in enumerate(value)]
            return None if any(r is None for r in rows) else rows
        cells, bad = [], 0
        for i, item in enumerate(value):
            try:
                cells.append(self._scalar(t.elem, item))
            except _Bad as err:
                bad += 1
                if bad <= MAX_ERRORS_PER_FIELD:
                    self.error(self._elem_span(name, path + (i,)), f"{where}[{i}]: {err}")
        if bad > MAX_ERRORS_PER_FIELD:
            self.error(span(), f"{where}: {bad - MAX_ERRORS_PER_FIELD} more bad elements not shown")
        return None if bad else cells

    def _scalar(self, t: T.Type, v: Any):
        match t:
            case T.Bool():
                if isinstance(v, bool):
                    return v
                raise _Bad(f"expected true or false, got {_json_kind(v)}")
            case T.Int(lo=lo, hi=hi):
                return _int_value(t, lo, hi, v)
            case T.Frac():
                return _frac_value(v)
            case T.Token():
                if isinstance(v, str):
                    return v
                raise _Bad(f"expected a token (a string), got {_json_kind(v)}")
            case T.Index():
                if v is None:
                    return NONE_INDEX
                if _is_int(v) and self.n is not None and 0 <= v < self.n:
                    return int(v)
                if _is_int(v) and self.n is not None:
                    raise _Bad(f"node id {v} is outside 0..{self.n - 1}")
                if _is_int(v):
                    return int(v)
                raise _Bad(f"expected a node id (0..n-1) or null, got {_json_kind(v)}")
        raise _Bad(f"values of type {t} cannot be given as input")


def _int_value(t: T.Int, lo, hi, v: Any) -> float:
    unbounded = lo is None
    may_inf, may_neg_inf = unbounded or hi == INF, unbounded or lo == -INF
    if isinstance(v, str) and v in ("inf", "-inf"):
        if (may_inf if v == "inf" else may_neg_inf):
            return INF if v == "inf" else -INF
        raise _Bad(f"\"{v}\" is out of range {t}")
    if isinstance(v, float) and not math.isfinite(v):
        raise _Bad(f"{json.dumps(v)} is not standard JSON"
                   + ("; write infinity as \"inf\"" if math.isinf(v) else ""))
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not _is_int(v):
        allowed = (" or \"inf\"" if may_inf else "") + (" or \"-inf\"" if may_neg_inf else "")
        raise _Bad(f"expected an integer{allowed}, got {_json_kind(v)}")
    if abs(v) >= EXACT_INT_LIMIT:
        raise _Bad(f"{v} is too large to represent exactly (the limit is 2^53)")
    if not unbounded and not (lo <= v <= hi):
        raise _Bad(f"{v} is out of range {t}")
    return float(v)


def _frac_value(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        try:
            x = float(v)
        except OverflowError:
            x = INF
        if math.isfinite(x):
            return x
    raise _Bad(f"expected a finite number (frac), got {_json_kind(v)}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _cells(rows, depth: int, prefix: tuple[int, ...] = ()):
    if depth == 1:
        for i, cell in enumerate(rows):
            yield prefix + (i,), cell
        return
    for i, row in enumerate(rows):
        yield from _cells(row, depth - 1, prefix + (i,))


def _size_text(expr) -> str:
    from .pretty import pretty_expr
    return pretty_expr(expr)


def decode(checked, obj: dict, sizes: dict[str, int], file: str, line: int = 1) -> Instance:
    """The `Instance` that one JSON object denotes for `checked`'s program.

    `sizes` are the size variables fixed outside the input (`--size k=32`). Raises `NclError`
    with every problem in the object (code `bad-input`, or `missing-size` in the program's file).
    An object from `read_records` gets diagnostics at the offending key or element; a plain dict
    gets them at `file:line:1`."""
    key = (id(checked), tuple(sorted(sizes.items())))
    if _CHECKED.get(key, (None,))[0] is not checked:
        check_sizes(checked, sizes, file)
        if len(_CHECKED) > 64:
            _CHECKED.clear()
        # the program is kept in the entry, so its id cannot be reused while the entry lives
        _CHECKED[key] = (checked, [(p.name, T.from_syntax(p.type)) for p in checked.program.params])
    return _Decoder(checked, obj, sizes, file, line, _CHECKED[key][1]).run()


# (id of a checked program, sizes) -> (the program, its parameters' types), for programs whose
# sizes check_sizes has passed: a batch of instances decodes without redoing it per instance
_CHECKED: dict[tuple, tuple] = {}


def input_error(obj: dict, file: str, line: int, field: str, path: tuple[int, ...],
                message: str, code: str = "bad-input") -> Diagnostic:
    """A diagnostic at the element `path` of `field` in a record from `read_records` /
    `iter_records` (at its key when `path` is empty; at `file:line:1` for a plain dict), for a
    check made after `decode`, such as what a compiled network cannot take."""
    if isinstance(obj, Record):
        span = obj.element_span(field, path) if path else obj.key_span(field)
    else:
        span = A.Span(file, line, 1, line, 2)
    return Diagnostic.at(span, code, message)


# ---------------------------------------------------------------- encoding

def dumps(doc) -> str:
    """`doc` as one line of JSON. Python refuses to write an integer of more than
    sys.get_int_max_str_digits() digits (4,300), a guard against quadratic-time conversion of
    untrusted text; a `bits[2 * k]` result at k = 7,500 has more, and its size is bounded by
    the program, not by what a user sends, so the guard is lifted while writing it."""
    try:
        return json.dumps(doc, allow_nan=False)
    except ValueError:
        limit = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            return json.dumps(doc, allow_nan=False)
        finally:
            sys.set_int_max_str_digits(limit)


def encode(checked, outputs: dict[str, np.ndarray]) -> dict:
    """A JSON-ready dict of a run's outputs, in the order of the program's results."""
    result = {}
    for name, texpr in zip(checked.result_names, checked.program.results):
        result[name] = encode_value(T.from_syntax(texpr), outputs[name])
    return result


def encode_value(t: T.Type, value) -> Any:
    array = np.asarray(value)
    if isinstance(t, T.Field) and t.bits:
        return sum(1 << i for i, bit in enumerate(array.tolist()) if bit)
    elem = t.elem if isinstance(t, T.Field) else t
    return _map_nested(array.tolist(), lambda x: _encode_scalar(elem, x))


def _map_nested(value, f):
    if isinstance(value, list):
        return [_map_nested(v, f) for v in value]
    return f(value)


def _encode_scalar(t: T.Type, x) -> Any:
    match t:
        case T.Bool():
            return bool(x)
        case T.Int():
            if x == INF:
                return "inf"
            if x == -INF:
                return "-inf"
            return int(x)
        case T.Frac():
            if x == INF:
                return "inf"
            if x == -INF:
                return "-inf"
            return float(x)
        case T.Token():
            return str(x)
        case T.Index() | T.NoneType():
            return None if x == NONE_INDEX else int(x)
    raise TypeError(f"no JSON form for values of type {t}")
