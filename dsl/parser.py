"""Source text → AST, through the LALR grammar in `grammar.lark` (package data)."""
from __future__ import annotations

import ast as pyast
from functools import lru_cache
from importlib import resources

import lark
from lark import Token, Transformer, v_args

from . import ast as A
from .diagnostics import Diagnostic, NclError

_TOKEN_NAMES = {
    "NAME": "a name", "INT": "an integer", "STRING": "a string", "LBRACE": "'{'",
    "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','",
    "COLON": "':'", "EQUAL": "'='", "COMP_OP": "a comparison", "PLUS": "'+'", "MINUS": "'-'",
    "MUL_OP": "'*', '/', '//' or '%'", "$END": "end of file", "SEMICOLON": "';'",
}


@lru_cache(maxsize=1)
def _lark() -> lark.Lark:
    grammar = resources.files("dsl").joinpath("grammar.lark").read_text()
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
        return -int(value) if sign else int(value)

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
        return A.IntLit(int(c[0]), self._span(meta))

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


def _syntax_error(err: lark.exceptions.LarkError, file: str, text: str) -> Diagnostic:
    line = getattr(err, "line", 1) or 1
    col = getattr(err, "column", 1) or 1
    if line < 0:  # lark reports end of input as -1
        lines = text.splitlines() or [""]
        line, col = len(lines), len(lines[-1]) + 1
    span = A.Span(file, line, col, line, col + 1)
    if isinstance(err, lark.exceptions.UnexpectedToken):
        tok = err.token
        got = "end of file" if tok.type == "$END" else f"'{tok}'"
        expected = sorted({_describe(t) for t in err.expected})
        if tok.type != "$END":
            span = A.Span(file, line, col, line, col + max(1, len(str(tok))))
        shown = ", ".join(expected[:6]) + (", …" if len(expected) > 6 else "")
        return Diagnostic.at(span, "syntax", f"unexpected {got}; expected {shown}")
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        return Diagnostic.at(span, "syntax", f"unexpected character {text_at(text, line, col)!r}")
    return Diagnostic.at(span, "syntax", str(err).splitlines()[0])


def text_at(text: str, line: int, col: int) -> str:
    lines = text.splitlines()
    if 1 <= line <= len(lines) and 1 <= col <= len(lines[line - 1]):
        return lines[line - 1][col - 1]
    return ""


def parse(text: str, file: str = "<input>") -> A.Module:
    """Parse a whole `.ncl` file; raise `NclError` with a syntax diagnostic on failure."""
    try:
        tree = _lark().parse(text)
    except lark.exceptions.UnexpectedInput as err:
        raise NclError(_syntax_error(err, file, text)) from None
    return _Build(file).transform(tree)
