"""Source text → AST, through the LALR grammar in `grammar.lark` (package data)."""
from __future__ import annotations

import ast as pyast
import re
from functools import lru_cache
from importlib import resources

import lark
from lark import Token, Transformer, v_args

from . import ast as A
from .diagnostics import Diagnostic, NclError, source_lines

_TOKEN_NAMES = {
    "NAME": "a name", "INT": "an integer", "STRING": "a string", "LBRACE": "'{'",
    "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','",
    "COLON": "':'", "EQUAL": "'='", "COMP_OP": "a comparison", "PLUS": "'+'", "MINUS": "'-'",
    "MUL_OP": "'*', '/', '//' or '%'", "$END": "end of file", "SEMICOLON": "';'",
}


@lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    grammar = resources.files("nclang.dsl").joinpath("grammar.lark").read_text()
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def _describe(terminal: str) -> str:
    if terminal in _TOKEN_NAMES:
        return _TOKEN_NAMES[terminal]
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return terminal
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return terminal.lower()


class _Build(Transformer):
    """Builds AST nodes; every rule receives its lark `meta` for the span."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file
        # diagnostics found while building (a literal too large); raised once the tree is built
        self.errors: list[Diagnostic] = []

    def _int(self, tok: Token, negative: bool = False) -> int:
        """The value of an INT token, refused (placeholder 0) at or beyond MAX_LITERAL. The length
        test comes first: Python will not even read an int of more than 4,300 digits."""
        value = int(tok) if len(tok) <= len(str(MAX_LITERAL)) else None
        if value is None or value >= MAX_LITERAL:
            digits = f"{tok[:12]}… ({len(tok)} digits)" if len(tok) > 20 else str(tok)
            self.errors.append(Diagnostic.at(
                self._tok(tok), "literal-too-large",
                f"the integer {'-' if negative else ''}{digits} is too large: integers must stay "
                "below 2^53 (9007199254740992) to be exact; use inf for an unbounded range"))
            return 0
        return -value if negative else value

    def _span(self, meta) -> A.Span:
        if getattr(meta, "empty", False) or not hasattr(meta, "line"):
            return A.Span.unknown(self.file)
        return A.Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok(self, tok: Token) -> A.Span:
        return A.Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    # ---- top level
    @v_args(meta=True)
    def start(self, meta, items):
        return A.Module(tuple(items), self._span(meta))

    @v_args(meta=True)
    def program(self, meta, c):
        name, params, result, cls, body = c
        results = result if isinstance(result, tuple) else (result,)
        return A.Program(str(name), params or (), results, str(cls) if cls else None, body,
                         self._span(meta), self._tok(name),
                         self._tok(cls) if cls else A.Span.unknown(self.file))

    def class_decl(self, c):
        return c[0]

    @v_args(meta=True)
    def def_(self, meta, c):
        name, params, result, body = c
        return A.Def(str(name), params or (), result, body, self._span(meta), self._tok(name))

    def params(self, c):
        return tuple(c)

    @v_args(meta=True)
    def param(self, meta, c):
        return A.Param(str(c[0]), c[1], self._span(meta))

    def tuple_type(self, c):
        return tuple(c)

    # ---- types
    @v_args(meta=True)
    def bool_type(self, meta, c):
        return A.BoolType(self._span(meta))

    @v_args(meta=True)
    def int_type(self, meta, c):
        return A.IntType(None, None, self._span(meta))

    @v_args(meta=True)
    def int_range_type(self, meta, c):
        return A.IntType(c[0], c[1], self._span(meta))

    def int_bound(self, c):
        sign, value = c
        return self._int(value, negative=bool(sign))

    def inf_bound(self, c):
        return float("-inf") if c[0] else float("inf")

    @v_args(meta=True)
    def frac_type(self, meta, c):
        return A.FracType(self._span(meta))

    @v_args(meta=True)
    def token_type(self, meta, c):
        return A.TokenType(self._span(meta))

    @v_args(meta=True)
    def node_type(self, meta, c):
        return A.NodeType(self._span(meta))

    @v_args(meta=True)
    def position_type(self, meta, c):
        return A.PositionType(self._span(meta))

    @v_args(meta=True)
    def graph_type(self, meta, c):
        return A.GraphType(self._span(meta))

    @v_args(meta=True)
    def bits_type(self, meta, c):
        return A.BitsType(c[0], self._span(meta))

    @v_args(meta=True)
    def vec_type(self, meta, c):
        return A.VecType(c[0], c[1], self._span(meta))

    def _field(kind):  # noqa: N805 - a factory used in the class body
        @v_args(meta=True)
        def build(self, meta, c):
            return A.FieldType(kind, c[0], self._span(meta))
        return build

    node_field = _field("node")
    edge_field = _field("edge")
    pair_field = _field("pair")
    seq_field = _field("seq")

    # ---- statements
    def block(self, c):
        return tuple(s for s in c if s is not None)

    def empty(self, c):
        return None

    @v_args(meta=True)
    def assign(self, meta, c):
        return A.Assign(str(c[0]), c[1], self._span(meta), self._tok(c[0]))

    @v_args(meta=True)
    def indexed_assign(self, meta, c):
        return A.IndexedAssign(str(c[0]), tuple(c[1:-1]), c[-1], self._span(meta),
                               self._tok(c[0]))

    @v_args(meta=True)
    def binder(self, meta, c):
        return A.Binder(str(c[0]), c[1], self._span(meta))

    @v_args(meta=True)
    def repeat(self, meta, c):
        return A.Repeat(c[0], c[1] is not None, c[2], self._span(meta))

    def until_stable(self, c):
        return True

    @v_args(meta=True)
    def return_(self, meta, c):
        return A.Return(tuple(c), self._span(meta))

    # ---- expressions
    @v_args(meta=True)
    def if_expr(self, meta, c):
        return A.IfExpr(c[0], c[1], c[2], self._span(meta))

    def _boolop(op):  # noqa: N805
        @v_args(meta=True)
        def build(self, meta, c):
            return A.BoolOp(op, c[0], c[2], self._span(meta))
        return build

    or_ = _boolop("or")
    xor_ = _boolop("xor")
    and_ = _boolop("and")

    @v_args(meta=True)
    def not_(self, meta, c):
        return A.Not(c[0], self._span(meta))

    @v_args(meta=True)
    def compare(self, meta, c):
        return A.Compare(str(c[1]), c[0], c[2], self._span(meta))

    @v_args(meta=True)
    def binop(self, meta, c):
        return A.BinOp(str(c[1]), c[0], c[2], self._span(meta))

    @v_args(meta=True)
    def neg(self, meta, c):
        return A.Neg(c[1], self._span(meta))

    @v_args(meta=True)
    def index(self, meta, c):
        return A.Index(c[0], tuple(c[1:]), self._span(meta))

    @v_args(meta=True)
    def int_lit(self, meta, c):
        return A.IntLit(self._int(c[0]), self._span(meta))

    @v_args(meta=True)
    def true_lit(self, meta, c):
        return A.BoolLit(True, self._span(meta))

    @v_args(meta=True)
    def false_lit(self, meta, c):
        return A.BoolLit(False, self._span(meta))

    @v_args(meta=True)
    def inf_lit(self, meta, c):
        return A.InfLit(self._span(meta))

    @v_args(meta=True)
    def none_lit(self, meta, c):
        return A.NoneLit(self._span(meta))

    @v_args(meta=True)
    def str_lit(self, meta, c):
        return A.StrLit(pyast.literal_eval(str(c[0])), self._span(meta))

    @v_args(meta=True)
    def name(self, meta, c):
        return A.Name(str(c[0]), self._span(meta))

    @v_args(meta=True)
    def call(self, meta, c):
        return A.Call(str(c[0]), c[1] or (), self._span(meta), self._tok(c[0]))

    def args(self, c):
        return tuple(c)

    @v_args(meta=True)
    def comprehension(self, meta, c):
        agg, body, var, domain, cond = c
        return A.Comprehension(str(agg), body, str(var), domain, cond, self._span(meta),
                               self._tok(agg), self._tok(var))

    @v_args(meta=True)
    def fold(self, meta, c):
        kind, op, arg = c
        return A.Fold(str(kind), str(op), arg, self._span(meta), self._tok(op))

    def fold_op(self, c):
        return c[0]

    # ---- domains
    @v_args(meta=True)
    def nodes_domain(self, meta, c):
        return A.Nodes(self._span(meta))

    @v_args(meta=True)
    def edges_domain(self, meta, c):
        return A.Edges(self._span(meta))

    @v_args(meta=True)
    def positions_domain(self, meta, c):
        return A.Positions(self._span(meta))

    @v_args(meta=True)
    def range_domain(self, meta, c):
        return A.Range(c[0], self._span(meta))

    @v_args(meta=True)
    def in_domain(self, meta, c):
        return A.In(c[0], self._span(meta))

    @v_args(meta=True)
    def out_domain(self, meta, c):
        return A.Out(c[0], self._span(meta))


# Terminal sets that read better as one phrase; each is used only when the parser would accept
# every member, so "an expression" never claims more than is true.
_EXPR_START = frozenset({"NAME", "INT", "STRING", "LPAR", "MINUS", "TRUE", "FALSE", "INF", "NONE",
                         "FOLD"})
_OPERATORS = frozenset({"PLUS", "MINUS", "MUL_OP", "COMP_OP", "AND", "OR", "XOR"})
_STMT_START = frozenset({"NAME", "REPEAT", "RETURN"})
_CLOSERS = ("RBRACE", "RPAR", "RSQB")


def _expected(terminals: set[str]) -> str:
    left = set(terminals)
    phrases = [_describe(t) for t in _CLOSERS if t in left]
    left -= set(_CLOSERS)
    for group, phrase in ((_STMT_START, "a statement"), (_EXPR_START, "an expression"),
                          (_OPERATORS, "an operator")):
        if group <= left:
            phrases.append(phrase)
            left -= group | ({"NOT"} if group is _EXPR_START else set())
    if "a statement" in phrases and "an expression" in phrases:
        left -= _STMT_START
    phrases += sorted({_describe(t) for t in left} - set(phrases))
    return ", ".join(phrases[:8]) + (", …" if len(phrases) > 8 else "")


def _offset_pos(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _comment_hint(text: str, line: int, col: int) -> str:
    """Trailing `//` comments are floor division in this grammar; say so when one is near."""
    lines = source_lines(text)
    for ln in (line, line - 1):
        if 1 <= ln <= len(lines):
            code = lines[ln - 1][: col - 1] if ln == line else lines[ln - 1]
            if "//" in code.strip()[1:]:
                return " (note: a `//` after code is floor division; a comment must start its line)"
    return ""


def _syntax_error(err: lark.exceptions.UnexpectedInput, file: str, text: str,
                  stop: int | None = None) -> Diagnostic:
    """The diagnostic for one lark error. `stop`, when given, is the offset where the parsed text
    was cut short (the start of the next item): running out of input there means that item's
    keyword came too early, and the message says so."""
    line, col = getattr(err, "line", 1) or 1, getattr(err, "column", 1) or 1
    if isinstance(err, lark.exceptions.UnexpectedToken):
        tok = err.token
        accepts = err.accepts or err.expected
        if tok.type != "$END":
            got, width = f"'{tok}'", max(1, len(str(tok)))
        elif stop is not None and stop < len(text):
            line, col = _offset_pos(text, stop)
            word = text[stop:].split(None, 1)[0]
            got, width = f"'{word}'", len(word)
        else:
            # lark places the end-of-input token on the last real token; point just past it
            line = getattr(tok, "end_line", None) or line
            col = getattr(tok, "end_column", None) or col
            got, width = "end of file", 1
        span = A.Span(file, line, col, line, col + width)
        message = f"unexpected {got}; expected {_expected(set(accepts))}"
        if tok.type == "COMP_OP" and "INT" not in accepts:
            message += " (note: comparisons do not chain; write 'a < b and b < c')"
        return Diagnostic.at(span, "syntax", message + _comment_hint(text, line, col))
    span = A.Span(file, line, col, line, col + 1)
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        return Diagnostic.at(span, "syntax", f"unexpected character {text_at(text, line, col)!r}")
    return Diagnostic.at(span, "syntax", str(err).splitlines()[0])


def text_at(text: str, line: int, col: int) -> str:
    lines = source_lines(text)
    if 1 <= line <= len(lines) and 1 <= col <= len(lines[line - 1]):
        return lines[line - 1][col - 1]
    return ""


# Only a keyword that begins its line cuts: one in mid-line is more likely a slip inside an item
# (`x = program`) than a new item, and cutting there would report junk from the remainder.
_ITEM_SCAN = re.compile(r"^[ \t]*(program|def)\b", re.MULTILINE)


def _item_starts(text: str) -> list[int]:
    return [m.start(1) for m in _ITEM_SCAN.finditer(text)]


def _all_syntax_errors(text: str, file: str) -> list[Diagnostic]:
    """Every item's first syntax error.

    `program` and `def` are reserved words that can only begin an item, so the text is cut where
    one begins a line and every piece parsed on its own (the text before it blanked, so that lines
    and columns stay those of the file). An error thus never runs on into the next item, and each
    item reports at most one error: recovering inside an item would mean guessing where a
    statement ends, in a grammar where newlines carry no meaning, and would produce follow-on
    errors."""
    cuts = _item_starts(text)
    bounds = [0, *cuts, len(text)]
    out = []
    for start, stop in zip(bounds, bounds[1:]):
        piece = _BLANK.sub(" ", text[:start]) + text[start:stop]
        try:
            _lark().parse(piece)
        except lark.exceptions.UnexpectedInput as err:
            out.append(_syntax_error(err, file, text, stop))
    return out


_BLANK = re.compile(r"[^\n]")


def parse(text: str, file: str = "<input>") -> A.Module:
    """Parse a whole `.ncl` file; raise `NclError` with every item's syntax error on failure."""
    try:
        tree = _lark().parse(text)
    except lark.exceptions.UnexpectedInput as err:
        diagnostics = _all_syntax_errors(text, file) or [_syntax_error(err, file, text)]
        raise NclError(diagnostics) from None
    _check_nesting(tree, file)
    build = _Build(file)
    module = build.transform(tree)
    if build.errors:
        raise NclError(build.errors)
    return module


# Integers are exact only below 2^53 (the interpreter refuses larger values at run time, and
# float64 cannot hold them), so a literal there could never run: refused as it is read.
MAX_LITERAL = 2 ** 53

# Every stage after the parser walks the tree recursively, a few Python frames per level; dsl
# raises the interpreter's recursion limit to fit this depth (see dsl/__init__.py).
MAX_NESTING = 1000


def _check_nesting(tree: lark.Tree, file: str) -> None:
    """Refuse trees deeper than MAX_NESTING with a diagnostic rather than a RecursionError."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            meta = node.meta
            span = A.Span(file, meta.line, meta.column, meta.end_line, meta.end_column)
            raise NclError.at(span, "too-deep", f"expression nested more than {MAX_NESTING} "
                              "levels deep; split it with intermediate variables")
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, lark.Tree))
