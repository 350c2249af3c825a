"""The parser and the pretty-printer: round trips, layout, spans and syntax diagnostics."""
from __future__ import annotations

import dataclasses
import re
from importlib import resources
from pathlib import Path

import pytest
from ast_strategies import KEYWORDS, expressions, modules, types
from hypothesis import given, settings
from hypothesis import strategies as st

from nclang.dsl import ast as A
from nclang.dsl.diagnostics import NclError
from nclang.dsl.parser import parse
from nclang.dsl.pretty import pretty, pretty_expr, pretty_type

ROOT = Path(__file__).resolve().parent.parent

# The seven example programs of the design document, exactly as written there.
DESIGN_EXAMPLES = {
    "bfs": """\
// stdlib/graph/bfs.ncl — reachability: after r rounds, the nodes within r hops of a source.
program bfs(g: graph, source: node[bool]) -> node[bool] {
    reached = source
    repeat n - 1 {
        reached[v] = reached[v] or any(reached[u] for u in in(v))
    }
    return reached
}
""",
    "bellman_ford": """\
// stdlib/graph/bellman_ford.ncl — single-source shortest paths, integer weights.
program bellman_ford(g: graph, w: edge[int[0..1000]], source: node[bool]) -> node[int] {
    dist[v] = 0 if source[v] else inf
    repeat n - 1 {
        dist[v] = min(dist[v], min(dist[u] + w[u, v] for u in in(v)))
    }
    return dist
}
""",
    "closure": """\
// stdlib/graph/closure.ncl — transitive closure by repeated squaring: NC².
program closure(g: graph) -> pair[bool] {
    r[i, j] = i == j or edge(i, j)
    repeat ceil(log2(n)) {
        r[i, j] = any(r[i, k] and r[k, j] for k in nodes)
    }
    return r
}
""",
    "parity": """\
// stdlib/bits/parity.ncl — a balanced xor tree: NC¹.
program parity(x: bits[k]) -> bool {
    return reduce(xor, x)
}
""",
    "majority": """\
// stdlib/bits/majority.ncl — one threshold neuron: TC⁰.
program majority(x: bits[k]) -> bool {
    return 2 * count(i for i in range(k) if x[i]) > k
}
""",
    "reverse": """\
// stdlib/seq/reverse.ncl
program reverse(tokens: seq[token]) -> seq[token] {
    out[i] = tokens[n - 1 - i]
    return out
}
""",
    "hist": """\
// stdlib/seq/hist.ncl — how often each token occurs.
program hist(tokens: seq[token]) -> seq[int] {
    h[i] = count(j for j in positions if tokens[j] == tokens[i])
    return h
}
""",
}


def _doc_programs() -> dict[str, str]:
    out = {}
    for doc in sorted((ROOT / "docs").glob("*.md")):
        blocks = re.findall(r"^```ncl\n(.*?)^```", doc.read_text(), re.MULTILINE | re.DOTALL)
        out.update({f"{doc.name}#{i}": src for i, src in enumerate(blocks)})
    return out


def _stdlib_programs() -> dict[str, str]:
    root = resources.files("nclang.stdlib")
    return {f"{kind}/{f.name}": f.read_text()
            for kind in ("graph", "bits", "seq") if root.joinpath(kind).is_dir()
            for f in sorted(root.joinpath(kind).iterdir(), key=lambda f: f.name)
            if f.name.endswith(".ncl")}


EXAMPLES = {**DESIGN_EXAMPLES, **_doc_programs(), **_stdlib_programs()}


def _program(source: str) -> A.Program:
    (item,) = parse(source).items
    return item


def _errors(source: str, file: str = "t.ncl") -> list:
    with pytest.raises(NclError) as info:
        parse(source, file)
    return info.value.diagnostics


# ---------------------------------------------------------------- round trips

@settings(max_examples=200, deadline=None)
@given(modules)
def test_parse_inverts_pretty_on_generated_modules(module):
    assert parse(pretty(module)) == module


@settings(max_examples=200, deadline=None)
@given(expressions(4))
def test_parse_inverts_pretty_expr_on_generated_expressions(expr):
    (item,) = parse(f"program p() -> int {{ return {pretty_expr(expr)} }}").items
    assert item.body == (A.Return((expr,)),)


@settings(max_examples=200, deadline=None)
@given(types(3))
def test_parse_inverts_pretty_type_on_generated_types(t):
    prog = _program(f"program p(x: {pretty_type(t)}) -> {pretty_type(t)} {{}}")
    assert prog.params[0].type == t and prog.results == (t,)


def _negative_literals_as_negations(node):
    """What the parser makes of a tree: `IntLit(-3)` reads back as `Neg(IntLit(3))`."""
    if isinstance(node, A.IntLit) and node.value < 0:
        return A.Neg(A.IntLit(-node.value))
    if isinstance(node, tuple):
        return tuple(_negative_literals_as_negations(x) for x in node)
    if dataclasses.is_dataclass(node):
        return dataclasses.replace(node, **{
            f.name: _negative_literals_as_negations(getattr(node, f.name))
            for f in dataclasses.fields(node) if f.compare})
    return node


@settings(max_examples=100, deadline=None)
@given(st.recursive(
    st.builds(A.IntLit, st.integers(-50, 50)) | st.builds(A.Name, st.sampled_from("abc")),
    lambda sub: st.builds(A.BinOp, st.sampled_from(("+", "-", "*", "//")), sub, sub)
    | st.builds(A.Neg, sub)
    | st.builds(A.Index, sub, st.tuples(sub))
    | st.builds(A.Compare, st.just("<"), sub, sub),
    max_leaves=8))
def test_pretty_expr_prints_negative_int_literals_as_negations(expr):
    (item,) = parse(f"program p() -> int {{ return {pretty_expr(expr)} }}").items
    assert item.body == (A.Return((_negative_literals_as_negations(expr),)),)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_pretty_of_parse_is_a_fixed_point_on_examples(name):
    once = pretty(parse(EXAMPLES[name]))
    assert pretty(parse(once)) == once
    assert parse(once) == parse(EXAMPLES[name])


# ---------------------------------------------------------------- layout

def test_pretty_layout_indents_four_spaces_one_statement_per_line():
    source = ("program p(x: bits[k], w: vec[int[-64..63], k + 1]) -> (bool, int[0..inf]) in NC1 {"
              "repeat k until stable { y[i in range(k), j] = x[i]; z = -1 } return y, z }"
              "def f(a: int) -> int { repeat 2 {} return a }")
    assert pretty(parse(source)) == """\
program p(x: bits[k], w: vec[int[-64..63], k + 1]) -> (bool, int[0..inf]) in NC1 {
    repeat k until stable {
        y[i in range(k), j] = x[i]
        z = -1
    }
    return y, z
}

def f(a: int) -> int {
    repeat 2 {}
    return a
}
"""


def test_pretty_accepts_a_program_or_a_def_alone():
    module = parse("program p() -> bool { return true }\ndef f() -> bool { return false }")
    assert pretty(module.items[0]) == "program p() -> bool {\n    return true\n}\n"
    assert pretty(module.items[1]) == "def f() -> bool {\n    return false\n}\n"


@pytest.mark.parametrize("source, expected", [
    ("(a + b) + c", "a + b + c"),
    ("a - (b - c)", "a - (b - c)"),
    ("a * (b + c)", "a * (b + c)"),
    ("(a * b) + c", "a * b + c"),
    ("a // b % c", "a // b % c"),
    ("(a < b) == c", "(a < b) == c"),
    ("a < (b == c)", "a < (b == c)"),
    ("(a or b) or c", "a or b or c"),
    ("a or (b or c)", "a or (b or c)"),
    ("(a or b) and c", "(a or b) and c"),
    ("(a and b) xor (c and d)", "a and b xor c and d"),
    ("(a xor b) and c", "(a xor b) and c"),
    ("not (a and b)", "not (a and b)"),
    ("not a == b", "not a == b"),
    ("(not a) == b", "(not a) == b"),
    ("not not a", "not not a"),
    ("a and not b", "a and not b"),
    ("-(a + b)", "-(a + b)"),
    ("- - a", "--a"),
    ("-a[i]", "-a[i]"),
    ("(-a)[i]", "(-a)[i]"),
    ("(a + b)[i, j]", "(a + b)[i, j]"),
    ("f(x)[i]", "f(x)[i]"),
    ("a if b else (c if d else e)", "a if b else c if d else e"),
    ("(a if b else c) if d else e", "(a if b else c) if d else e"),
    ("a if (b if c else d) else e", "a if (b if c else d) else e"),
    ("f((a if b else c), d)", "f(a if b else c, d)"),
    ("any((x if y else z) for x in nodes if (p or q))",
     "any(x if y else z for x in nodes if p or q)"),
    ("any(x for x in range(k) if (a if b else c))", "any(x for x in range(k) if (a if b else c))"),
    ("scan(+, (xs))", "scan(+, xs)"),
    ("reduce(min, out(v))", "reduce(min, out(v))"),
    ("f()", "f()"),
    ('"a\\"b\\\\c"', '"a\\"b\\\\c"'),
])
def test_pretty_expr_parenthesises_minimally(source, expected):
    (ret,) = _program(f"program p() -> int {{ return {source} }}").body
    assert pretty_expr(ret.values[0]) == expected


@pytest.mark.parametrize("t, expected", [
    (A.IntType(-64, 63), "int[-64..63]"),
    (A.IntType(0, float("inf")), "int[0..inf]"),
    (A.IntType(float("-inf"), float("inf")), "int[-inf..inf]"),
    (A.IntType(), "int"),
    (A.FieldType("pair", A.FieldType("node", A.NodeType())), "pair[node[node]]"),
    ((A.BoolType(), A.TokenType()), "(bool, token)"),
])
def test_pretty_type_prints_bounds_and_nesting(t, expected):
    assert pretty_type(t) == expected


def test_fold_op_is_stored_as_its_spelling():
    (ret,) = _program("program p(x: bits[k]) -> bool { return reduce(xor, scan(//, x)) }").body
    fold = ret.values[0]
    assert (fold.kind, fold.op, fold.arg.kind, fold.arg.op) == ("reduce", "xor", "scan", "//")


# ---------------------------------------------------------------- the examples

@pytest.mark.parametrize("name", sorted(DESIGN_EXAMPLES))
def test_design_examples_parse_to_one_named_program(name):
    prog = _program(DESIGN_EXAMPLES[name])
    assert isinstance(prog, A.Program) and prog.name == name
    assert isinstance(prog.body[-1], A.Return)


def test_bellman_ford_parses_to_the_expected_tree():
    prog = _program(DESIGN_EXAMPLES["bellman_ford"])
    assert prog.params[1] == A.Param("w", A.FieldType("edge", A.IntType(0, 1000)))
    assert prog.results == (A.FieldType("node", A.IntType()),)
    init, loop, _ = prog.body
    assert init == A.IndexedAssign("dist", (A.Binder("v"),), A.IfExpr(
        A.IntLit(0), A.Index(A.Name("source"), (A.Name("v"),)), A.InfLit()))
    assert loop.count == A.BinOp("-", A.Name("n"), A.IntLit(1)) and not loop.until_stable
    inner = loop.body[0].value.args[1]
    assert inner == A.Comprehension(
        "min", A.BinOp("+", A.Index(A.Name("dist"), (A.Name("u"),)),
                       A.Index(A.Name("w"), (A.Name("u"), A.Name("v")))),
        "u", A.In(A.Name("v")))


# ---------------------------------------------------------------- spans

def test_spans_locate_the_bfs_comprehension_and_its_parts():
    prog = parse(DESIGN_EXAMPLES["bfs"], "bfs.ncl").items[0]
    update = prog.body[1].body[0]
    comp = update.value.right
    assert isinstance(comp, A.Comprehension)
    assert comp.span == A.Span("bfs.ncl", 5, 36, 5, 66)
    assert comp.agg_span == A.Span("bfs.ncl", 5, 36, 5, 39)
    assert comp.var_span == A.Span("bfs.ncl", 5, 55, 5, 56)
    assert comp.domain.span == A.Span("bfs.ncl", 5, 60, 5, 65)
    line = DESIGN_EXAMPLES["bfs"].splitlines()[4]
    assert line[comp.span.col - 1:comp.span.end_col - 1] == "any(reached[u] for u in in(v))"


def test_spans_locate_statements_names_and_types():
    prog = parse(DESIGN_EXAMPLES["bfs"], "bfs.ncl").items[0]
    assert prog.span == A.Span("bfs.ncl", 2, 1, 8, 2)
    assert prog.name_span == A.Span("bfs.ncl", 2, 9, 2, 12)
    assert prog.params[1].span == A.Span("bfs.ncl", 2, 23, 2, 41)
    assert prog.params[1].type.span == A.Span("bfs.ncl", 2, 31, 2, 41)
    assert prog.body[1].span == A.Span("bfs.ncl", 4, 5, 6, 6)
    update = prog.body[1].body[0]
    assert update.target_span == A.Span("bfs.ncl", 5, 9, 5, 16)
    assert update.binders[0].span == A.Span("bfs.ncl", 5, 17, 5, 18)
    assert prog.body[2].span == A.Span("bfs.ncl", 7, 5, 7, 19)


def test_spans_locate_the_declared_class_and_fold_op():
    prog = _program("program p(x: bits[k]) -> bool in NC1 {\n    return reduce(xor, x)\n}")
    assert (prog.class_span.line, prog.class_span.col) == (1, 34)
    fold = prog.body[0].values[0]
    assert (fold.op_span.line, fold.op_span.col, fold.op_span.end_col) == (2, 19, 22)


# ---------------------------------------------------------------- comments and floor division

def test_double_slash_after_an_operand_is_floor_division():
    (ret,) = _program("program p(x: int) -> int {\n    return x // 2\n}").body
    assert ret.values[0] == A.BinOp("//", A.Name("x"), A.IntLit(2))


def test_double_slash_beginning_a_line_is_a_comment():
    source = ("// header\n  // indented\nprogram p(x: int) -> int {\n"
              "    y = x\n    // between statements: not `x // between`\n    return y\n}\n// end")
    assert [type(s) for s in _program(source).body] == [A.Assign, A.Return]


def test_trailing_double_slash_comment_is_reported_with_a_hint():
    (d,) = _errors("program p() -> int {\n    x = a  // the sum of all\n    return x\n}\n")
    assert (d.line, d.col) == (2, 23)  # `a // the` is read as division, `sum` as a statement
    assert "floor division" in d.message and "comment must start its line" in d.message


# ---------------------------------------------------------------- syntax errors

def test_syntax_error_for_an_unexpected_token_names_it_and_what_was_expected():
    (d,) = _errors("program p(x: int) -> int {\n    return f(x))\n}\n", "bad.ncl")
    assert (d.file, d.line, d.col, d.end_line, d.end_col) == ("bad.ncl", 2, 16, 2, 17)
    assert d.severity == "error" and d.code == "syntax"
    assert d.message.startswith("unexpected ')'; expected '}'")
    assert d.header().startswith("bad.ncl:2:16: error: unexpected ')'")


def test_syntax_error_for_a_missing_operand_says_an_expression_was_expected():
    (d,) = _errors("program p() -> int {\n    x = a +\n}")
    assert (d.line, d.col) == (3, 1)
    assert d.message == "unexpected '}'; expected an expression"


def test_syntax_error_for_an_unterminated_block_points_past_the_last_token():
    (d,) = _errors("program p() -> int {\n    repeat 2 {\n        x = 1\n    }\n    return x\n\n")
    assert (d.line, d.col) == (5, 13)
    assert d.message.startswith("unexpected end of file; expected '}'")


def test_syntax_error_for_a_bad_character_shows_it():
    (d,) = _errors("program p() -> int {\n    return 1 $ 2\n}")
    assert (d.line, d.col) == (2, 14)
    assert d.message == "unexpected character '$'"


def test_syntax_error_rendering_shows_the_line_and_a_caret():
    source = "program p(x: int) -> int { return ) }"
    (d,) = _errors(source, "r.ncl")
    assert d.render(source).splitlines() == [
        "r.ncl:1:35: error: unexpected ')'; expected an expression",
        "    program p(x: int) -> int { return ) }",
        "                                      ^",
    ]


def test_syntax_errors_in_several_items_are_all_reported_once_each():
    source = """\
// three items, two broken
program a() -> int {
    x = (1 +
}

def f(x: int) -> int {
    return x
}

program b(g: graph) -> int {
    y = 2 )
    return y
}
"""
    diags = _errors(source)
    assert [(d.line, d.col) for d in diags] == [(4, 1), (11, 11)]
    assert diags[0].message.startswith("unexpected '}'")
    assert diags[1].message.startswith("unexpected ')'")


def test_unterminated_block_is_reported_where_the_next_item_begins():
    source = "program a() -> int {\n    repeat 3 {\n        x = 1\n    return x\n}\n\n" \
             "program b() -> int {\n    return 2 ]\n}\n"
    diags = _errors(source)
    assert [(d.line, d.col) for d in diags] == [(7, 1), (8, 14)]
    assert diags[0].message.startswith("unexpected 'program'; expected '}'")
    assert (diags[0].end_line, diags[0].end_col) == (7, 8)


def test_a_keyword_in_mid_line_does_not_start_a_new_item_or_follow_on_errors():
    diags = _errors("program a() -> int { x = program }\nprogram b() -> int { return 1 }\n")
    assert [(d.line, d.col, d.message.split(";")[0]) for d in diags] == [
        (1, 26, "unexpected 'program'")]


# ---------------------------------------------------------------- names and keywords

@pytest.mark.parametrize("word", sorted({"program", "def", "repeat", "until", "return", "if",
                                         "else", "for", "in", "and", "or", "xor", "not", "true",
                                         "false", "inf", "none", "scan", "reduce"}))
def test_reserved_words_are_not_variable_names(word):
    with pytest.raises(NclError):
        parse(f"program p() -> int {{ {word} = 1 return {word} }}")


@pytest.mark.parametrize("name", ["format", "in_x", "order", "notx", "iff", "nodes1", "_", "X9"])
def test_names_that_begin_with_a_keyword_are_names(name):
    (assign, _) = _program(f"program p() -> int {{ {name} = 1 return {name} }}").body
    assert assign.target == name


def test_strategy_keyword_list_covers_every_word_in_the_grammar():
    grammar = resources.files("nclang.dsl").joinpath("grammar.lark").read_text()
    words = set(re.findall(r'"([a-z]+)"', grammar))
    assert words <= KEYWORDS
