"""A Pygments lexer for nclang source (`.ncl`), registered under the `pygments.lexers` entry
point with the alias `nclang` and the file pattern `*.ncl`, so `pygmentize -l nclang FILE` and
`pygmentize FILE.ncl` highlight it. The alias `ncl` is taken by a lexer Pygments ships (NCAR
Command Language), and Pygments' own lexers win a lookup by alias, so the docs site maps its
```` ```ncl ```` fences to `nclang` (mkdocs.yml, `extend_pygments_lang`).

The words it knows are read from the language's own grammar (`nclang/dsl/grammar.lark`), not
listed here, so that a keyword added to the language cannot be missing from the highlighter:
every alphabetic literal of the grammar falls in exactly one class, by where the grammar uses it
(`grammar_words`); the builtin functions come from the checker's table (`builtin_names`).
editors/ncl.tmLanguage.json holds the same lists for editors, and a test keeps the two equal.
Needs pygments and lark only (no torch, no hypothesis).
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (Comment, Keyword, Name, Number, Operator, Punctuation, String,
                            Whitespace)

__all__ = ["NclLexer", "grammar_words"]

# in the order they claim a word used in two places
CLASSES = ("constants", "operators", "keywords", "types", "domains")


@lru_cache(maxsize=1)
def grammar_words() -> dict[str, tuple[str, ...]]:
    """The grammar's words by class, each sorted:

    - `constants`: a whole alternative of an atom (`true`, `inf`, ...);
    - `operators`: the words of the boolean-expression rules (`and`, `not`, ...);
    - `keywords`: the words the grammar reserves (no name may be one), and any other word it
      does not class below;
    - `types`: the words of the type rules (`bool`, `node`, `vec`, ...);
    - `domains`: the words of the iteration domains (`nodes`, `range`, ...).

    A word used in two places goes to the first class in that order that claims it (`in` opens a
    domain and a class declaration: it is a reserved keyword)."""
    import lark
    from lark.lexer import PatternStr

    grammar = resources.files("nclang.dsl").joinpath("grammar.lark").read_text()
    parser = lark.Lark(grammar, parser="earley")
    literal = {t.name: t.pattern.value for t in parser.terminals
               if isinstance(t.pattern, PatternStr) and t.pattern.value.isidentifier()}
    (name,) = [t for t in parser.terminals if t.name == "NAME"]
    reserved = re.match(r"\(\?!\(([a-z|]+)\)", name.pattern.value)
    if reserved is None:
        raise RuntimeError("grammar.lark: NAME no longer starts with its (?!(reserved|...)) list")
    by_rule: dict[str, set[str]] = {}
    atoms: set[str] = set()
    for rule in parser.rules:
        found = {literal[s.name] for s in rule.expansion if s.name in literal}
        by_rule.setdefault(rule.origin.name, set()).update(found)
        if rule.origin.name == "atom" and len(rule.expansion) == 1 and found:
            atoms |= found
    claims = {
        "constants": atoms,
        "operators": set().union(*(w for r, w in by_rule.items() if r.endswith("_expr"))),
        "keywords": set(reserved.group(1).split("|")),
        "types": by_rule.get("type", set()) | by_rule.get("scalar_type", set()),
        "domains": by_rule.get("domain", set()),
    }
    classed: dict[str, set[str]] = {c: set() for c in CLASSES}
    taken: set[str] = set()
    for cls in CLASSES:
        classed[cls] = claims[cls] - taken
        taken |= classed[cls]
    classed["keywords"] |= set().union(*by_rule.values()) - taken
    return {c: tuple(sorted(classed[c])) for c in CLASSES}


@lru_cache(maxsize=1)
def builtin_names() -> tuple[str, ...]:
    """The functions and aggregations the checker gives a meaning (`min`, `any`, `count`, ...),
    which are names to the grammar; a word the grammar classes itself (`edge`) is left to it."""
    from nclang.dsl.checker.names import AGGREGATIONS, BUILTINS
    taken = set().union(*grammar_words().values())
    return tuple(sorted((set(BUILTINS) | set(AGGREGATIONS)) - taken))


def _words(cls: str):
    found = grammar_words()[cls]
    if not found:  # an empty alternation would match the empty string, forever
        raise RuntimeError(f"grammar.lark: no {cls} found; nclang/lexer.py must follow it")
    return words(found, prefix=r"\b", suffix=r"\b")


class NclLexer(RegexLexer):
    """nclang source: programs and defs, their types, `repeat` loops and comprehensions."""

    name = "nclang"
    aliases = ["nclang"]  # not `ncl`: see the module's docstring
    filenames = ["*.ncl"]
    mimetypes = ["text/x-nclang"]

    tokens = {
        "root": [
            # a comment is a `//` that begins its line (its indentation included, so this comes
            # before the whitespace); anywhere else `//` is floor division
            (r"^[ \t]*//.*?$", Comment.Single),
            (r"\n", Whitespace),
            (r"[ \t\f\r]+", Whitespace),
            (r'"(\\.|[^"\\\n])*"', String.Double),
            (r"\d+", Number.Integer),
            (r"\b(program|def)(\s+)([A-Za-z_]\w*)", bygroups(Keyword, Whitespace, Name.Function)),
            (_words("constants"), Keyword.Constant),
            (_words("operators"), Operator.Word),
            (_words("keywords"), Keyword),
            (_words("types"), Keyword.Type),
            (_words("domains"), Name.Builtin),
            # a builtin is an ordinary name unless it is called
            (words(builtin_names(), prefix=r"\b", suffix=r"\b(?=\s*\()"), Name.Builtin),
            (r"[A-Za-z_]\w*", Name),
            (r"->|\.\.|==|!=|<=|>=|//|[-+*/%<>=]", Operator),
            (r"[()\[\]{},:;]", Punctuation),
        ],
    }

