"""The `.ncl` highlighters: the Pygments lexer (nclang/lexer.py) lexes every docs example, stdlib
program and fuzz-corpus file without an Error token and without losing a character; every word
the grammar has is highlighted as what the grammar makes it (the parser's own lexer is the
oracle), `//` is a comment only where it begins a line, Pygments finds the lexer through its
entry point, it imports neither torch nor hypothesis, and the TextMate grammar for editors has
exactly the lexer's word lists."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygments")

from pygments.token import Comment, Error, Keyword, Name, Operator  # noqa: E402

from nclang.lexer import NclLexer, builtin_names, grammar_words  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```ncl[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _docs_examples() -> list[tuple[str, str]]:
    found = []
    for md in sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]):
        for i, m in enumerate(FENCE.finditer(md.read_text())):
            found.append((f"{md.relative_to(ROOT)}#{i}", m.group(1)))
    return found


def _sources() -> list[tuple[str, str]]:
    files = [*sorted((ROOT / "stdlib").rglob("*.ncl")), *sorted((ROOT / "examples").rglob("*.ncl")),
             *sorted((ROOT / "tests" / "fuzz_corpus").rglob("*.ncl"))]
    return [(str(f.relative_to(ROOT)), f.read_text()) for f in files]


def _tokens(text: str) -> list[tuple[int, object, str]]:
    return list(NclLexer().get_tokens_unprocessed(text))


def test_the_docs_have_ncl_examples():
    examples = _docs_examples()
    assert len(examples) >= 40, len(examples)


@pytest.mark.parametrize("where,text", _docs_examples() + _sources(),
                         ids=[w for w, _ in _docs_examples() + _sources()])
def test_every_example_lexes_without_error_tokens_or_lost_text(where, text):
    tokens = _tokens(text)
    errors = [(i, v) for i, t, v in tokens if t in Error]
    assert not errors, f"{where}: cannot lex {errors[:5]}"
    assert "".join(v for _, _, v in tokens) == text


def test_every_grammar_word_is_in_exactly_one_class():
    words = grammar_words()
    every = [w for ws in words.values() for w in ws]
    assert len(every) == len(set(every))
    assert {"program", "repeat", "until", "stable"} <= set(words["keywords"])
    assert {"true", "none", "inf"} <= set(words["constants"])
    assert {"bool", "graph", "node", "vec"} <= set(words["types"])
    assert {"and", "not"} <= set(words["operators"]) and "nodes" in words["domains"]
    # the grammar file's every quoted word is there (a new keyword cannot be missed)
    grammar = (ROOT / "dsl" / "grammar.lark").read_text()
    quoted = set(re.findall(r'"([a-z][a-z0-9_]*)"', grammar))
    assert quoted <= set(every) and set(every) - quoted <= {"scan", "reduce"} | quoted


KIND = {"keywords": Keyword, "types": Keyword.Type, "constants": Keyword.Constant,
        "operators": Operator.Word, "domains": Name.Builtin}


@pytest.mark.parametrize("where,text", _sources()[:12], ids=[w for w, _ in _sources()[:12]])
def test_the_parsers_keywords_are_highlighted_as_their_class(where, text):
    # The parser's own lexer says which words are keywords; the highlighter must agree at every
    # one of them, and must not make a name of the parser's into a keyword.
    from nclang.dsl.parser import _lark
    words = grammar_words()
    cls_of = {w: KIND[c] for c, ws in words.items() for w in ws}
    at = {i: (t, v) for i, t, v in _tokens(text)}
    for tok in _lark().lex(text):
        if tok.type == "COMMENT":
            continue
        t, v = at[tok.start_pos] if tok.start_pos in at else (None, None)
        if tok.type == "NAME":
            assert t in Name and v == tok.value, (where, tok, t)
        elif tok.value in cls_of:
            expected = cls_of[tok.value]
            assert t in expected or (tok.value in ("program", "def") and t in Keyword), \
                (where, tok.value, tok.line, t)


def test_a_comment_begins_its_line_and_floor_division_does_not():
    text = "// a comment\n  // indented comment\nprogram p(k: int) -> int {\n  return k // 2\n}\n"
    tokens = _tokens(text)
    comments = [v for _, t, v in tokens if t in Comment]
    assert comments == ["// a comment", "  // indented comment"]
    assert ("//", Operator) in [(v, t) for _, t, v in tokens]


def test_names_that_look_like_builtins_are_names_unless_called():
    tokens = [(t, v) for _, t, v in _tokens("m = min(a, b)\nmin = 1\n") if v.strip()]
    assert tokens[2] == (Name.Builtin, "min") and (Name, "min") in tokens
    assert {"min", "max", "any", "count"} <= set(builtin_names())
    assert not set(builtin_names()) & {w for ws in grammar_words().values() for w in ws}


def test_pygments_finds_the_lexer_through_its_entry_point():
    from pygments.lexers import find_lexer_class_for_filename, get_lexer_by_name
    assert type(get_lexer_by_name("nclang")) is NclLexer
    assert find_lexer_class_for_filename("stdlib/graph/bfs.ncl") is NclLexer


def test_the_lexer_imports_neither_torch_nor_hypothesis():
    code = ("import sys, nclang.lexer; nclang.lexer.NclLexer(); "
            "print([m for m in ('torch', 'hypothesis') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def _textmate_words(pattern: str) -> tuple[str, ...]:
    m = re.fullmatch(r"\\b\(\?:([a-z0-9_|]+)\)\\b(\(\?=.*\))?", pattern)
    assert m, pattern
    return tuple(sorted(m.group(1).split("|")))


def test_the_textmate_grammar_has_the_lexers_word_lists():
    tm = json.loads((ROOT / "editors" / "ncl.tmLanguage.json").read_text())
    repo = tm["repository"]
    assert tm["scopeName"] == "source.ncl" and "ncl" in tm["fileTypes"]
    for cls, words in grammar_words().items():
        assert _textmate_words(repo[cls]["match"]) == words, cls
    assert _textmate_words(repo["builtins"]["match"]) == builtin_names()
    # every repository entry is used, and every include names one
    includes = {p["include"].lstrip("#") for p in tm["patterns"]}
    assert includes == set(repo)
    for entry in repo.values():
        for key in ("match", "begin", "end"):
            if key in entry:
                re.compile(entry[key])
