"""Every kind of user error, as the installed `nclang` reports it.

One row per error kind: checker codes, syntax errors, run-time errors and JSON input errors. Each
row is a tiny program (and, for `nclang run`, an input) with the place the error must point at.
For every row the test runs the console script in a subprocess and checks what a user sees:

- exit status 1, nothing on stdout, no traceback anywhere;
- the first stderr line is exactly `FILE:LINE:COL: error: MESSAGE` with the right file, line and
  column, and the message says what the row expects;
- the next line is the offending line of that file (indented by four spaces, as
  `Diagnostic.render` prints it) and the line after it has the caret `^` under the column;
- for `nclang check` rows, the checker in process gives the same first diagnostic with the row's
  code, and the caret is as wide as that diagnostic's span;
- for run-time errors, a note points at the input record that caused them.

Positions are 1-based; `src(...)` takes one string per source line, so a row's line number is the
position of that string in the list.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest

from nclang.dsl import deep_recursion
from nclang.dsl.checker import check_source
from nclang.dsl.diagnostics import NclError

NCLANG = shutil.which("nclang")
pytestmark = pytest.mark.skipif(NCLANG is None, reason="the nclang console script is not installed")

INDENT = "    "  # Diagnostic.render indents the quoted line and the caret line by four spaces


def src(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def nclang(*args) -> subprocess.CompletedProcess:
    return subprocess.run([NCLANG, *map(str, args)], capture_output=True, text=True, timeout=120)


@dataclass(frozen=True)
class Row:
    src: str
    at: tuple[int, int]          # (line, col) of the first error
    says: str                    # a fragment of its message
    code: str | None = None      # its code, checked in process (rows without input only)
    input: str | None = None     # JSON input: the row runs `nclang run`, else `nclang check`
    args: tuple[str, ...] = ()
    in_input: bool = False       # the error points into the input file, not the program
    note_line: int | None = None  # run-time errors: the input line the note points at


def row(id_: str, r: Row, xfail: str | None = None, slow: bool = False):
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    if slow:
        marks.append(pytest.mark.slow)
    return pytest.param(r, id=id_, marks=marks)


def variant(id_: str, r: Row):
    """Another case of an error kind that a default row already covers: each row costs a
    subprocess, so these run only with `-m slow` (or `-m ''`)."""
    return row(id_, r, slow=True)


BFS = src(
    "program bfs(g: graph, source: node[bool]) -> node[bool] {",
    "    reached = source",
    "    repeat n - 1 {",
    "        reached[v] = reached[v] or any(reached[u] for u in in(v))",
    "    }",
    "    return reached",
    "}")

PARITY = src(
    "program parity(x: bits[k]) -> bool {",
    "    return reduce(xor, x)",
    "}")

INT_ID = src(
    "program p(a: int[0..9]) -> int {",
    "    return a",
    "}")


def fold_with(def_lines: tuple[str, ...], elem: str) -> str:
    """A def on lines 1-3 used as the fold operator of `reduce` at line 5, column 19."""
    return src(*def_lines,
               f"program p(x: vec[{elem}, k]) -> int {{",
               "    return reduce(" + def_lines[0].split()[1].split("(")[0] + ", x)",
               "}")


SUB = ("def sub(a: int[0..2], b: int[0..2]) -> int[0..2] {",
       "    return max(a - b, 0)",
       "}")

NAND = ("def nand(a: bool, b: bool) -> bool {",
        "    return not (a and b)",
        "}")

# ---------------------------------------------------------------- checker errors (nclang check)

CHECK_ROWS = [
    row("unknown-name:variable", Row(src(
        "program p(g: graph, reached: node[bool]) -> node[bool] {",
        "    r[v] = reachd[v]",
        "    return r",
        "}"), (2, 12), "unknown name 'reachd'; did you mean 'reached'?", "unknown-name")),
    variant("unknown-name:function", Row(src(
        "def double(x: int[0..3]) -> int[0..6] {",
        "    return 2 * x",
        "}",
        "program p(a: int[0..3]) -> int {",
        "    return doubel(a)",
        "}"), (5, 12), "unknown function 'doubel'; did you mean 'double'?", "unknown-name")),
    variant("unknown-name:fold-operator", Row(src(
        "program p(x: bits[k]) -> bool {",
        "    return reduce(nand, x)",
        "}"), (2, 19), "unknown fold operator 'nand'", "unknown-name")),
    row("unassigned:before-assignment", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    r[v] = s[v]",
        "    s[v] = true",
        "    return r",
        "}"), (2, 12), "'s' is used before it is assigned", "unassigned")),
    row("unassigned:repeat-may-not-run", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    repeat n - 1 {",
        "        r[v] = true",
        "    }",
        "    return r",
        "}"), (5, 12), "'r' may be unassigned here", "unassigned")),
    row("shadowing:binder-hides-size", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    r[n] = true",
        "    return r",
        "}"), (2, 7), "'n' hides the size variable n", "shadowing")),
    row("shadowing:comprehension-hides-parameter", Row(src(
        "program p(g: graph, u: node[bool]) -> node[bool] {",
        "    r[v] = any(true for u in in(v))",
        "    return r",
        "}"), (2, 25), "'u' hides the parameter 'u'", "shadowing")),
    variant("shadowing:assign-to-size", Row(src(
        "program p(g: graph) -> int {",
        "    n = 3",
        "    return n",
        "}"), (2, 5), "cannot assign to the size variable n", "shadowing")),
    row("reserved-name:graph-input-key", Row(src(
        "program p(g: graph, edges: node[bool]) -> node[bool] {",
        "    return edges",
        "}"), (1, 21), "a parameter cannot be named 'edges'", "reserved-name")),
    variant("reserved-name:size-variable", Row(src(
        "program p(x: bits[k], k: int[0..3]) -> bool {",
        "    return true",
        "}"), (1, 23), "a parameter cannot be named 'k'", "reserved-name")),
    row("duplicate-name:program", Row(src(
        "program p(a: int[0..1]) -> int {",
        "    return a",
        "}",
        "program p(a: int[0..1]) -> int {",
        "    return a",
        "}"), (4, 9), "'p' is already defined at line 1", "duplicate-name")),
    row("duplicate-name:parameter", Row(src(
        "program p(a: int[0..1], a: int[0..1]) -> int {",
        "    return a",
        "}"), (1, 25), "parameter 'a' is declared twice", "duplicate-name")),
    variant("duplicate-name:def-named-like-a-builtin", Row(src(
        "def min(a: int[0..1], b: int[0..1]) -> int[0..1] {",
        "    return a",
        "}"), (1, 5), "'min' is a builtin", "duplicate-name")),
    variant("duplicate-name:binder", Row(src(
        "program p(g: graph) -> pair[bool] {",
        "    r[i, i] = true",
        "    return r",
        "}"), (2, 10), "binder 'i' appears twice", "duplicate-name")),
    variant("duplicate-name:returned-twice", Row(src(
        "program p(g: graph) -> (node[bool], node[bool]) {",
        "    r[v] = true",
        "    return r, r",
        "}"), (3, 15), "'r' is returned twice", "duplicate-name")),
    row("mixed-family", Row(src(
        "program p(g: graph, s: seq[bool]) -> bool {",
        "    return true",
        "}"), (1, 9), "mixes graph parameters (g) and sequence parameters (s)", "mixed-family")),
    row("missing-graph", Row(src(
        "program p(x: node[bool]) -> node[bool] {",
        "    return x",
        "}"), (1, 9), "add a parameter 'g: graph'", "missing-graph")),
    row("wrong-family:positions-in-graph-program", Row(src(
        "program p(g: graph) -> node[int] {",
        "    r[v] = count(i for i in positions)",
        "    return r",
        "}"), (2, 29), "positions are only available in sequence programs", "wrong-family")),
    row("wrong-family:edge-in-bits-program", Row(src(
        "program p(x: bits[k]) -> bool {",
        "    return edge(0, 1)",
        "}"), (2, 12), "edge(...) is only available in graph programs", "wrong-family")),
    variant("wrong-family:node-result-of-sequence-program", Row(src(
        "program p(s: seq[bool]) -> node[bool] {",
        "    return s",
        "}"), (1, 28), "only a graph program can return node[bool]", "wrong-family")),
    row("bad-size:variable", Row(src(
        "program p(g: graph, x: int[0..3]) -> int {",
        "    repeat x {",
        "        y = 1",
        "    }",
        "    return 0",
        "}"), (2, 12), "'x' is not a size variable", "bad-size")),
    variant("bad-size:true-division", Row(src(
        "program p(g: graph) -> int {",
        "    repeat n / 2 {",
        "        y = 1",
        "    }",
        "    return 0",
        "}"), (2, 12), "not a size expression", "bad-size")),
    row("size-only", Row(src(
        "program p(x: bits[k]) -> int {",
        "    y = ceil(3)",
        "    return y",
        "}"), (2, 9), "ceil(...) is only allowed in size expressions", "size-only")),
    row("type-mismatch:and-of-int", Row(src(
        "program p(x: bits[k]) -> bool {",
        "    return 1 and x[0]",
        "}"), (2, 12), "expected a bool, got int[1..1]", "type-mismatch")),
    row("type-mismatch:if-branches", Row(src(
        "program p(x: bits[k]) -> int {",
        "    return 1 if x[0] else true",
        "}"), (2, 12), "the branches of if/else disagree", "type-mismatch")),
    variant("type-mismatch:bool-with-token", Row(src(
        "program p(x: bits[k]) -> bool {",
        "    return x[0] == \"a\"",
        "}"), (2, 12), "cannot compare bool with token", "type-mismatch")),
    variant("arity:min-of-one", Row(src(
        "program p(a: int[0..3]) -> int {",
        "    return min(a)",
        "}"), (2, 12), "min takes two or more values", "arity")),
    row("arity:def-call", Row(src(
        "def inc(a: int[0..3]) -> int[0..4] {",
        "    return a + 1",
        "}",
        "program p(a: int[0..3]) -> int {",
        "    return inc(a, a)",
        "}"), (5, 12), "'inc' takes 1 argument(s), not 2", "arity")),
    row("arity:pair-with-one-index", Row(src(
        "program p(g: graph, r: pair[bool]) -> node[bool] {",
        "    s[v] = r[v]",
        "    return s",
        "}"), (2, 12), "pair[bool] takes 2 indices, not 1", "arity")),
    row("arity:fold-operator", Row(fold_with((
        "def f(a: bool, b: bool, c: bool) -> bool {",
        "    return a",
        "}"), "bool"), (5, 19), "fold operator 'f' must take 2 parameters, not 3", "arity")),
    row("wrong-domain:range-index-on-node-field", Row(src(
        "program p(g: graph, x: node[bool]) -> node[bool] {",
        "    r[v] = any(x[i] for i in range(3))",
        "    return r",
        "}"), (2, 18), "a range index cannot index node[bool] 'x'", "wrong-domain")),
    variant("wrong-domain:in-of-an-int", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    r[v] = any(true for u in in(3))",
        "    return r",
        "}"), (2, 33), "in(...) and out(...) take a node, not int[3..3]", "wrong-domain")),
    row("edge-index", Row(src(
        "program p(g: graph, w: edge[int[0..3]]) -> node[bool] {",
        "    r[v] = w[v, v] > 0",
        "    return r",
        "}"), (2, 12), "an edge field is read as w[u, v] inside 'for u in in(v)'", "edge-index")),
    row("not-a-field", Row(src(
        "program p(a: int[0..3]) -> int {",
        "    return a[0]",
        "}"), (2, 12), "only fields can be indexed; this is int[0..3]", "not-a-field")),
    row("unknown-aggregation", Row(src(
        "program p(g: graph) -> node[int] {",
        "    r[v] = summ(1 for u in in(v))",
        "    return r",
        "}"), (2, 12), "unknown aggregation 'summ'; did you mean 'sum'?",
        "unknown-aggregation")),
    row("bad-fold:not-a-field", Row(src(
        "program p(a: bool) -> bool {",
        "    return reduce(xor, a)",
        "}"), (2, 24), "reduce takes a field with one axis, not bool", "bad-fold")),
    variant("bad-fold:floor-division", Row(src(
        "program p(x: bits[k]) -> bool {",
        "    return reduce(//, x)",
        "}"), (2, 19), "'//' is not a fold operator", "bad-fold")),
    row("bad-fold:def-with-two-types", Row(fold_with((
        "def f(a: int[0..3], b: bool) -> int[0..3] {",
        "    return a",
        "}"), "int[0..3]"), (5, 19), "needs two parameters and a result of one finite type",
        "bad-fold")),
    row("not-associative:int", Row(fold_with(SUB, "int[0..2]"), (5, 19),
                                   "operator 'sub' is not associative", "not-associative")),
    variant("not-associative:bool", Row(fold_with(NAND, "bool"), (5, 19),
                                        "operator 'nand' is not associative", "not-associative")),
    row("associativity-unchecked", Row(fold_with((
        "def big(a: int[0..300], b: int[0..300]) -> int[0..300] {",
        "    return max(a, b)",
        "}"), "int[0..300]"), (5, 19), "cannot check associativity of 'big' over 301 values",
        "associativity-unchecked")),
    row("operator-error:division-by-zero", Row(fold_with((
        "def div(a: int[0..2], b: int[0..2]) -> int[0..2] {",
        "    return a // b",
        "}"), "int[0..2]"), (5, 19), "'div(0, 0)' fails", "operator-error")),
    variant("operator-error:result-out-of-range", Row(fold_with((
        "def add(a: int[0..3], b: int[0..3]) -> int[0..3] {",
        "    return a + b",
        "}"), "int[0..3]"), (5, 19), "= 4, outside its result type int[0..3]", "operator-error")),
    row("inf-not-allowed:result", Row(src(
        "program p(a: int[0..3]) -> int[0..5] {",
        "    return inf",
        "}"), (2, 12), "this value may be inf", "inf-not-allowed")),
    variant("inf-not-allowed:def-argument", Row(src(
        "def inc(a: int[0..3]) -> int[0..4] {",
        "    return a + 1",
        "}",
        "program p(a: int[0..3]) -> int {",
        "    return inc(inf)",
        "}"), (5, 16), "argument of 'inc': this value may be inf", "inf-not-allowed")),
    row("misplaced-return:inside-repeat", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    r[v] = true",
        "    repeat 2 {",
        "        return r",
        "    }",
        "    return r",
        "}"), (4, 9), "return cannot be inside a repeat", "misplaced-return")),
    variant("misplaced-return:not-last", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    r[v] = true",
        "    return r",
        "    s = 1",
        "}"), (3, 5), "return must be the last statement of a program", "misplaced-return")),
    variant("misplaced-return:def", Row(src(
        "def f(a: int[0..3]) -> int[0..3] {",
        "    return a",
        "    b = a",
        "}"), (2, 5), "return must be the last statement", "misplaced-return")),
    row("missing-return:program", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    r[v] = true",
        "}"), (1, 9), "program 'p' does not end with a return", "missing-return")),
    variant("missing-return:def", Row(src(
        "def f(a: int[0..3]) -> int[0..3] {",
        "    b = a",
        "}"), (1, 5), "def 'f' does not end with a return", "missing-return")),
    row("result-count:program", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    r[v] = true",
        "    return r, r",
        "}"), (3, 5), "returns 2 value(s) but program 'p' declares 1 result(s)", "result-count")),
    variant("result-count:def", Row(src(
        "def f(a: int[0..3]) -> int[0..3] {",
        "    return a, a",
        "}"), (2, 5), "a def returns one value, not 2", "result-count")),
    row("unknown-class", Row(src(
        "program p(x: bits[k]) -> bool in TCO {",
        "    return x[0]",
        "}"), (1, 34), "unknown class 'TCO'", "unknown-class")),
    variant("no-default-domain:no-bit-vectors", Row(src(
        "program p(a: int[0..3]) -> int {",
        "    r[i] = a",
        "    return a",
        "}"), (2, 7), "this program has no bit-vector sizes", "no-default-domain")),
    row("no-default-domain:several-bit-vector-sizes", Row(src(
        "program p(x: bits[k], y: bits[j]) -> bool {",
        "    r[i] = x[0]",
        "    return true",
        "}"), (2, 7), "this program has several bit-vector sizes", "no-default-domain")),
    row("bad-type:unbounded-int-parameter", Row(src(
        "program p(a: int) -> int {",
        "    return a",
        "}"), (1, 14), "an int parameter needs bounds", "bad-type")),
    variant("bad-type:empty-range", Row(src(
        "program p(a: int[5..1]) -> int {",
        "    return a",
        "}"), (1, 14), "empty range int[5..1]", "bad-type")),
    row("bad-type:two-graphs", Row(src(
        "program p(g: graph, h: graph) -> int {",
        "    return 0",
        "}"), (1, 21), "a program takes at most one graph", "bad-type")),
    variant("bad-type:field-in-def", Row(src(
        "def f(a: node[bool]) -> bool {",
        "    return true",
        "}"), (1, 10), "a def takes and returns single values, not fields", "bad-type")),
    variant("bad-type:field-of-fields", Row(src(
        "program p(g: graph, a: node[node[bool]]) -> int {",
        "    return 0",
        "}"), (1, 29), "a field holds single values", "bad-type")),
    variant("recursion:direct", Row(src(
        "def f(a: int[0..3]) -> int[0..3] {",
        "    return f(a)",
        "}"), (2, 12), "'f' calls itself; a def cannot be recursive", "recursion")),
    row("recursion:mutual", Row(src(
        "def f(a: int[0..3]) -> int[0..3] {",
        "    return g(a)",
        "}",
        "def g(a: int[0..3]) -> int[0..3] {",
        "    return f(a)",
        "}"), (2, 12), "'f' calls itself through 'g'", "recursion")),
    row("def-body", Row(src(
        "def f(a: int[0..3]) -> int[0..3] {",
        "    repeat 2 {",
        "        b = a",
        "    }",
        "    return a",
        "}"), (2, 5), "a def body holds only assignments", "def-body")),
    row("shape-mismatch:indexing-a-single-value", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    x = true",
        "    x[v] = true",
        "    return x",
        "}"), (3, 5), "'x' holds a single value (bool); it cannot be indexed", "shape-mismatch")),
    variant("shape-mismatch:field-becomes-a-value", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    x[v] = true",
        "    x = true",
        "    return x",
        "}"), (3, 5), "'x' held node[bool] and is now assigned bool", "shape-mismatch")),
    row("assign-to-param", Row(src(
        "program p(g: graph, source: node[bool]) -> node[bool] {",
        "    source[v] = true",
        "    return source",
        "}"), (2, 5), "'source' is a parameter", "assign-to-param")),
    # A span over two lines: the caret marks its first character only.
    row("type-mismatch:span-over-two-lines", Row(src(
        "program p(x: bits[k]) -> int {",
        "    return 1 if x[0]",
        "        else true",
        "}"), (2, 12), "the branches of if/else disagree", "type-mismatch")),
    # A 250-term sum is an ordinary program; the error after it must still be reported.
    row("unknown-name:after-a-long-sum", Row(src(
        "program p(a: int[0..3]) -> int {",
        "    return a" + " + a" * 250 + " + bb",
        "}"), (2, 1016), "unknown name 'bb'", "unknown-name")),
    # The quoted line must be the line the position counts: positions count '\n' only.
    row("quoted-line:form-feed-in-a-comment", Row(src(
        "program p(s: seq[token]) -> seq[bool] {",
        "    // a comment with a form feed \f inside",
        "    r[i] = s[i] == \"a\" and foo",
        "    return r",
        "}"), (3, 28), "unknown name 'foo'", "unknown-name")),
]

# ---------------------------------------------------------------- syntax errors

SYNTAX_ROWS = [
    row("syntax:unexpected-token", Row(src(
        "program p(g: graph) -> node[bool] {",
        "    r[v] = true +",
        "}"), (3, 1), "unexpected '}'; expected an expression", "syntax")),
    row("syntax:missing-operand", Row(src(
        "program p(g: graph) -> int {",
        "    x = = 3",
        "    return x",
        "}"), (2, 9), "unexpected '='; expected an expression", "syntax")),
    row("syntax:bad-character", Row(src(
        "program p(g: graph) -> int {",
        "    x = 3 $ 4",
        "    return x",
        "}"), (2, 11), "unexpected character '$'", "syntax")),
    row("syntax:unterminated-block", Row(src(
        "program p(g: graph) -> int {",
        "    x = 3",
        "    return x"), (3, 13), "unexpected end of file; expected '}'", "syntax")),
    variant("syntax:unterminated-block-without-newline", Row(
        "program p(g: graph) -> int {\n    return 3", (2, 13), "unexpected end of file",
        "syntax")),
    row("syntax:unterminated-string", Row(src(
        "program p(s: seq[token]) -> seq[bool] {",
        "    r[i] = s[i] == \"a",
        "    return r",
        "}"), (2, 20), "unexpected character '\"'", "syntax")),
    variant("syntax:chained-comparison", Row(src(
        "program p(a: int[0..3]) -> bool {",
        "    return 0 < a < 3",
        "}"), (2, 18), "unexpected '<'", "syntax")),
    variant("syntax:keyword-as-a-name", Row(src(
        "program p(g: graph) -> int {",
        "    in = 3",
        "    return 0",
        "}"), (2, 5), "unexpected 'in'", "syntax")),
    row("syntax:tab-indented", Row(src(
        "program p(g: graph) -> int {",
        "\tx = = 3",
        "\treturn x",
        "}"), (2, 6), "unexpected '='", "syntax")),
    variant("syntax:crlf-line-ends", Row(
        "program p(g: graph) -> int {\r\n    x = = 3\r\n    return x\r\n}\r\n", (2, 9),
        "unexpected '='", "syntax")),
]

# ---------------------------------------------------------------- errors found by `nclang run`

SEQ_INC = ("def inc(a: int[0..3]) -> int[0..3] {",
           "    return a + 1",
           "}")

RUN_ROWS = [
    row("run:checker-error-before-reading-input", Row(src(
        "program p(g: graph, reached: node[bool]) -> node[bool] {",
        "    r[v] = reachd[v]",
        "    return r",
        "}"), (2, 12), "unknown name 'reachd'", input='{"n": 1, "reached": [true]}\n')),
    row("run:no-program", Row(src(*SEQ_INC), (1, 1), "holds no program", input="{}\n")),
    row("run:ambiguous-program", Row(BFS + PARITY, (1, 1), "holds 2 programs (bfs, parity)",
                                     input='{"x": 1}\n', args=("--size", "k=1"))),
    variant("run:unknown-program", Row(BFS, (1, 1), "no program 'bsf' in", input="{}\n",
                                       args=("--program", "bsf"))),
    # run-time errors: they point into the program, and a note at the input record
    row("run:def-result-out-of-range", Row(src(
        *SEQ_INC,
        "program p(x: seq[int[0..3]]) -> seq[int[0..3]] {",
        "    y[i] = inc(x[i])",
        "    return y",
        "}"), (5, 12), "inc() returned 4, outside its result type int[0..3] at i = 1",
        input='{"x": [1, 3]}\n', note_line=1)),
    variant("run:def-argument-out-of-range", Row(src(
        "def inc(a: int[0..3]) -> int[0..4] {",
        "    return a + 1",
        "}",
        "program p(x: seq[int[0..3]]) -> seq[int] {",
        "    y[i] = inc(x[i] + 1)",
        "    return y",
        "}"), (5, 16), "argument a of inc() is 4, outside int[0..3]",
        input='{"x": [1, 3]}\n', note_line=1)),
    variant("run:result-out-of-range", Row(src(
        "program p(a: int[0..9]) -> int[0..5] {",
        "    return a + 1",
        "}"), (2, 12), "is 8, outside its declared type int[0..5]", input='{"a": 7}\n',
        note_line=1)),
    row("run:read-outside-the-domain", Row(src(
        "program shift(xs: seq[int[0..9]]) -> seq[int[0..9]] {",
        "    y[i] = xs[i + 1]",
        "    return y",
        "}"), (2, 15), "reading xs at 2, outside positions (0..1)",
        input='{"xs": [1, 2]}\n', note_line=1)),
    variant("run:read-through-a-none-pointer", Row(src(
        "program p(g: graph, x: node[int[0..9]]) -> node[int] {",
        "    r[v] = x[argmin(x[u] for u in in(v))]",
        "    return r",
        "}"), (2, 14), "reading x at none", input='{"n": 2, "edges": [[0, 1]], '
        '"x": [1, 2]}\n', note_line=1)),
    row("run:only-with-two-selected", Row(src(
        "program p(xs: seq[bool]) -> seq[bool] {",
        "    y[i] = only(xs[j] for j in positions if xs[j])",
        "    return y",
        "}"), (2, 12), "only() selected 2 elements", input='{"xs": [true, true]}\n',
        note_line=1)),
    row("run:mean-over-nothing", Row(src(
        "program p(g: graph) -> node[frac] {",
        "    r[v] = mean(1 for u in in(v))",
        "    return r",
        "}"), (2, 12), "mean() over nothing is undefined at v = 0",
        input='{"n": 2, "edges": [[0, 1]]}\n', note_line=1)),
    row("run:inf-minus-inf", Row(src(
        "program p(a: int[0..inf], b: int[0..inf]) -> int {",
        "    return a - b",
        "}"), (2, 12), "inf - inf is undefined", input='{"a": "inf", "b": "inf"}\n',
        note_line=1)),
    variant("run:zero-times-inf", Row(src(
        "program p(a: int[0..inf], b: int[0..9]) -> int {",
        "    return a * b",
        "}"), (2, 12), "0 * inf is undefined", input='{"a": "inf", "b": 0}\n',
        note_line=1)),
    row("run:division-by-zero", Row(src(
        "program p(a: int[0..9], b: int[0..9]) -> int {",
        "    return a // b",
        "}"), (2, 12), "division by zero: 3 // 0", input='{"a": 3, "b": 0}\n', note_line=1)),
    variant("run:too-large", Row(src(
        "program p(a: int[0..1000000000]) -> int {",
        "    return a * a * a",
        "}"), (2, 12), "too large to represent exactly", input='{"a": 1000000000}\n',
        note_line=1)),
    variant("run:negative-repeat-count", Row(src(
        "program p(g: graph) -> int {",
        "    repeat n - 5 until stable {",
        "        y = 1",
        "    }",
        "    return 0",
        "}"), (2, 12), "repeat count is -3, below 0", input='{"n": 2}\n', note_line=1)),
    row("run:error-on-the-third-json-line", Row(src(
        "program p(a: int[0..9], b: int[0..9]) -> int {",
        "    return a // b",
        "}"), (2, 12), "division by zero", input='{"a": 3, "b": 1}\n{"a": 3, "b": 2}\n'
        '{"a": 3, "b": 0}\n', note_line=3)),
]

# ---------------------------------------------------------------- JSON input errors

JSON_ROWS = [
    row("json:malformed", Row(
        BFS, (3, 2), "malformed JSON: expecting ',' delimiter", in_input=True,
        input='{"n": 2,\n "edges": [[0, 1]]\n "source": [true, false]}\n')),
    variant("json:trailing-comma", Row(
        BFS, (1, 34), "malformed JSON", in_input=True,
        input='{"n": 2, "source": [true, false],}\n')),
    row("json:malformed-second-json-line", Row(
        BFS, (2, 25), "malformed JSON", in_input=True,
        input='{"n": 1, "source": [true]}\n{"n": 1, "source": [true}\n')),
    variant("json:not-an-object", Row(
        BFS, (1, 1), "expected a JSON object, got a list", in_input=True, input="[1, 2]\n")),
    row("json:empty-input", Row(BFS, (1, 1), "empty input", in_input=True, input="")),
    row("json:wrong-field-length", Row(
        BFS, (1, 29), "source has 2 elements but n = 3", in_input=True,
        input='{"n": 3, "edges": [[0, 1]], "source": [true, false]}\n')),
    row("json:out-of-range-element", Row(src(
        "program p(g: graph, w: edge[int[0..5]]) -> edge[int] {",
        "    return w",
        "}"), (1, 46), "w[1]: 7 is out of range int[0..5]", in_input=True,
        input='{"n": 2, "edges": [[0, 1], [1, 0]], "w": [3, 7]}\n')),
    variant("json:out-of-range-edge-endpoint", Row(
        BFS, (1, 20), "edges[0]: [0, 5] names a node outside 0..1", in_input=True,
        input='{"n": 2, "edges": [[0, 5]], "source": [true, false]}\n')),
    row("json:bits-too-wide", Row(
        PARITY, (1, 2), "x: 16 does not fit in bits[k] with k = 4", in_input=True,
        input='{"x": 16}\n', args=("--size", "k=4"))),
    variant("json:too-large", Row(src(
        "program p(a: int[0..inf]) -> int {",
        "    return a",
        "}"), (1, 2), "too large to represent exactly", in_input=True,
        input='{"a": 100000000000000000000}\n')),
    row("json:unknown-field", Row(
        BFS, (1, 35), "unknown field 'sourc'; did you mean 'source'?", in_input=True,
        input='{"n": 2, "source": [true, false], "sourc": [true, false]}\n')),
    row("json:duplicate-field", Row(
        BFS, (1, 35), "field 'source' is given more than once", in_input=True,
        input='{"n": 2, "source": [true, false], "source": [true, true]}\n')),
    row("json:missing-field", Row(
        BFS, (1, 1), "missing field 'source'", in_input=True, input='{"n": 2, "edges": []}\n')),
    row("json:wrong-type-element", Row(
        BFS, (1, 21), "source[0]: expected true or false, got the number 1", in_input=True,
        input='{"n": 2, "source": [1, 0]}\n')),
    row("json:wrong-type-scalar", Row(
        INT_ID, (1, 2), "a: expected an integer, got the string", in_input=True,
        input='{"a": "three"}\n')),
    variant("json:fraction-for-an-int", Row(
        INT_ID, (1, 2), "a: expected an integer, got the number 2.5", in_input=True,
        input='{"a": 2.5}\n')),
    variant("json:nodes-not-positive", Row(
        BFS, (1, 2), "n must be a positive integer", in_input=True,
        input='{"n": 0, "source": []}\n')),
    variant("json:bad-value-on-the-third-line", Row(
        BFS, (3, 21), "source[0]: expected true or false", in_input=True,
        input='{"n": 1, "source": [true]}\n{"n": 1, "source": [true]}\n'
              '{"n": 1, "source": [1]}\n')),
    # the size is missing from the command line: the error points at the type that needs it
    row("json:missing-size", Row(
        PARITY, (1, 19), "size k is not fixed: pass --size k=N", input='{"x": 5}\n')),
    row("json:quoted-line-after-a-line-separator", Row(src(
        "program p(s: seq[token]) -> seq[token] {",
        "    return s",
        "}"), (2, 8), "s[2]: expected a token (a string), got the number 3", in_input=True,
        input='{"s": ["a\u2028b",\n  "c", 3]}\n')),
]

ROWS = CHECK_ROWS + SYNTAX_ROWS + RUN_ROWS + JSON_ROWS


def _assert_no_traceback(proc):
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("r", ROWS)
def test_each_error_kind_is_reported_at_its_place(tmp_path, r: Row):
    prog = tmp_path / "prog.ncl"
    prog.write_bytes(r.src.encode())
    if r.input is None:
        proc = nclang("check", prog)
    else:
        inp = tmp_path / "input.json"
        inp.write_bytes(r.input.encode())
        proc = nclang("run", prog, "--input", inp, *r.args)
    _assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""

    file, text = (inp, r.input) if r.in_input else (prog, r.src)
    line, col = r.at
    out = proc.stderr.splitlines()
    head = f"{file}:{line}:{col}: error: "
    assert out[0].startswith(head), f"expected {head!r}…, got\n{proc.stderr}"
    assert r.says in out[0][len(head):], proc.stderr

    lines = text.split("\n")
    if line <= len(lines) and lines[line - 1].rstrip("\r"):
        quoted = lines[line - 1].rstrip("\r").expandtabs(1)
        assert out[1] == INDENT + quoted, proc.stderr
        caret = re.fullmatch(re.escape(INDENT) + " " * (col - 1) + r"\^(~*)", out[2])
        assert caret, f"no caret at column {col}:\n{proc.stderr}"
    else:
        assert len(out) == 1 or not out[1].startswith(INDENT), proc.stderr

    if r.note_line is not None:
        note = f"{inp}:{r.note_line}:1: note: while running the program on this input"
        assert note in out, proc.stderr

    if r.input is None:
        # The same first diagnostic in process, with the row's code and the caret's width
        # (under the recursion limit the CLI checks with: a long sum nests deeply).
        with pytest.raises(NclError) as err, deep_recursion():
            check_source(r.src, str(prog))
        first = err.value.diagnostics[0]
        assert (first.code, first.line, first.col) == (r.code, line, col)
        width = first.end_col - first.col if first.end_line == first.line else 1
        assert len(caret.group(1)) + 1 == max(width, 1), proc.stderr


# ---------------------------------------------------------------- not-associative: the example

ASSOC_MESSAGE = re.compile(
    r"operator '(\w+)' is not associative: \1\(\1\(a, b\), c\) = (\S+) but "
    r"\1\(a, \1\(b, c\)\) = (\S+) for \(a, b, c\) = \((\S+), (\S+), (\S+)\)")


def _value(text: str):
    """A value as the checker prints it: true, false or an integer."""
    return {"true": True, "false": False}[text] if text in ("true", "false") else int(text)


@pytest.mark.parametrize("def_lines, elem, f", [
    pytest.param(SUB, "int[0..2]", lambda a, b: max(a - b, 0), id="sub"),
    pytest.param(NAND, "bool", lambda a, b: not (a and b), id="nand"),
])
def test_not_associative_shows_a_true_counterexample(tmp_path, def_lines, elem, f):
    prog = tmp_path / "prog.ncl"
    prog.write_text(fold_with(def_lines, elem))
    proc = nclang("check", prog)
    _assert_no_traceback(proc)
    assert proc.returncode == 1
    m = ASSOC_MESSAGE.search(proc.stderr.splitlines()[0])
    assert m, proc.stderr
    left, right, a, b, c = (_value(x) for x in m.groups()[1:])
    # The def, evaluated here: both sides are what the message says, and they differ.
    assert f(f(a, b), c) == left
    assert f(a, f(b, c)) == right
    assert left != right


# ---------------------------------------------------------------- several errors, --json

THREE_ERRORS = src(
    "program p(g: graph, source: node[bool]) -> node[bool] {",
    "    r[v] = sourc[v]",
    "    s[v] = 1 and source[v]",
    "    return r",
    "}",
    "def f(a: int[0..3]) -> bool {",
    "    return a",
    "}")
# The def is checked before the program, so sorting by position is what puts it last.
THREE_EXPECTED = [
    (2, 12, "unknown-name", "unknown name 'sourc'; did you mean 'source'?"),
    (3, 12, "type-mismatch", "expected a bool, got int[1..1]"),
    (7, 12, "type-mismatch", "'f' returns the wrong type: expected bool, got int[0..3]"),
]


def test_a_file_with_three_errors_reports_all_three_in_order(tmp_path):
    prog = tmp_path / "three.ncl"
    prog.write_text(THREE_ERRORS)
    proc = nclang("check", prog)
    _assert_no_traceback(proc)
    assert proc.returncode == 1
    headers = [ln for ln in proc.stderr.splitlines() if not ln.startswith(INDENT)]
    assert headers == [f"{prog}:{line}:{col}: error: {message}"
                       for line, col, _, message in THREE_EXPECTED]
    # each header is followed by its source line and caret
    out = proc.stderr.splitlines()
    assert len(out) == 3 * len(THREE_EXPECTED)
    source = THREE_ERRORS.splitlines()
    for i, (line, col, _, _) in enumerate(THREE_EXPECTED):
        assert out[3 * i + 1] == INDENT + source[line - 1]
        assert out[3 * i + 2].startswith(INDENT + " " * (col - 1) + "^")


def test_syntax_errors_in_two_items_are_both_reported(tmp_path):
    prog = tmp_path / "two.ncl"
    prog.write_text(src(
        "program p(g: graph) -> int {",
        "    x = = 3",
        "    return x",
        "}",
        "program q(g: graph) -> int {",
        "    return 3 $",
        "}"))
    proc = nclang("check", prog)
    _assert_no_traceback(proc)
    assert proc.returncode == 1
    headers = [ln for ln in proc.stderr.splitlines() if not ln.startswith(INDENT)]
    assert [h.split(": error: ")[0] for h in headers] == [f"{prog}:2:9", f"{prog}:6:14"]


def test_json_flag_lists_the_diagnostics_on_stdout(tmp_path):
    prog = tmp_path / "three.ncl"
    prog.write_text(THREE_ERRORS)
    proc = nclang("check", prog, "--json")
    _assert_no_traceback(proc)
    assert proc.returncode == 1
    assert proc.stderr == ""
    diagnostics = json.loads(proc.stdout)["diagnostics"]
    assert isinstance(diagnostics, list)
    for d in diagnostics:
        assert set(d) == {"file", "line", "col", "end_line", "end_col", "severity", "code",
                          "message"}
        assert d["file"] == str(prog) and d["severity"] == "error"
        assert d["end_line"] == d["line"] and d["end_col"] > d["col"]
    assert [(d["line"], d["col"], d["code"], d["message"]) for d in diagnostics] == THREE_EXPECTED
    # the span of 'sourc' is the name itself
    assert (diagnostics[0]["end_line"], diagnostics[0]["end_col"]) == (2, 17)
