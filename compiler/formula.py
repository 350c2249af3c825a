"""Size formulas read from weight files, parsed by a closed grammar and evaluated exactly.

A weight file stores loop trip counts, `size` values and value bounds as text such as `n - 1`,
`ceil(log2(n))` or `Max(1000, 1000*n - 1000)` (what `nclang.compiler.ir.format_size` prints). A file
is data from anywhere, so its formulas are never handed to sympy, `eval` or any other general
parser: `parse` is a hand-written tokenizer and recursive-descent parser for exactly this
grammar, producing a small AST of frozen dataclasses, and `evaluate` computes it with Python
integers and `Fraction`s (`ceil(log2(x))` / `floor(log2(x))` exactly, by the integer log2 of
`nclang.dsl.sizes`, the one every exact size evaluation uses).

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/" | "//") unary)*
    unary  := "-" unary | power
    power  := atom ("**" INT)?                       -- a constant exponent 0 .. MAX_EXPONENT
    atom   := INT | NAME | FUNC "(" expr ("," expr)* ")" | "(" expr ")"
    FUNC   := ceil | floor | log2 | min | max | Min | Max  (log2, ceil, floor take one argument)

`NAME` is one of the size variables the caller allows (`n`, `m`, `k` by default). `/` is exact
rational division (sympy prints `n/2`); the caller decides whether the result must be an
integer. Everything is bounded, so a hostile formula costs microseconds and fails cleanly with
`FormulaError`: the text (MAX_TEXT characters), the nesting (MAX_DEPTH), integer literals
(MAX_LITERAL_DIGITS digits) and every intermediate value (|numerator| and denominator at most
2^MAX_BITS, checked before a power is computed).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction

from nclang.dsl.sizes import ceil_log2, floor_log2

MAX_TEXT = 1000
MAX_DEPTH = 64
MAX_LITERAL_DIGITS = 19
MAX_EXPONENT = 16
MAX_BITS = 62
NAMES = ("n", "m", "k")
_FUNCS = {"ceil": "ceil", "floor": "floor", "log2": "log2", "min": "min", "max": "max",
          "Min": "min", "Max": "max"}
_ARITY = {"ceil": 1, "floor": 1, "log2": 1}


class FormulaError(ValueError):
    """A formula that is not in the grammar, or that cannot be evaluated at the given sizes."""


# ---------------------------------------------------------------- the AST

@dataclass(frozen=True)
class Num:
    value: int


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Neg:
    arg: object


@dataclass(frozen=True)
class Bin:
    op: str  # + - * / //
    left: object
    right: object


@dataclass(frozen=True)
class Pow:
    base: object
    exponent: int


@dataclass(frozen=True)
class Call:
    func: str  # ceil floor log2 min max
    args: tuple


# ---------------------------------------------------------------- parsing

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z_0-9]*)|(\*\*|//|[-+*/(),]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise FormulaError(f"unexpected character {text[pos:].lstrip()[:1]!r}")
        num, name, op = m.groups()
        if num is not None:
            if len(num) > MAX_LITERAL_DIGITS:
                raise FormulaError(f"integer {num[:12]}... is too long")
            out.append(("int", num))
        elif name is not None:
            out.append(("name", name))
        else:
            out.append(("op", op))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, names: tuple[str, ...]):
        self.toks = _tokens(text)
        self.i = 0
        self.names = names
        self.depth = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "")

    def take(self, value=None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise FormulaError(f"expected {value!r}, found {_shown(tok)}")
        if tok[0] == "end":
            raise FormulaError("unexpected end of formula")
        self.i += 1
        return tok

    def nest(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(f"nested more than {MAX_DEPTH} deep")

    # every operator of a chain (`a + b + c`) is one more level of the AST, so it counts
    # towards MAX_DEPTH like a parenthesis: evaluation recurses that deep

    def expr(self):
        self.nest()
        saved = self.depth
        node = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            self.nest()
            node = Bin(op, node, self.term())
        self.depth = saved - 1
        return node

    def term(self):
        saved = self.depth
        node = self.unary()
        while self.peek() in (("op", "*"), ("op", "/"), ("op", "//")):
            op = self.take()[1]
            self.nest()
            node = Bin(op, node, self.unary())
        self.depth = saved
        return node

    def unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            self.nest()
            node = Neg(self.unary())
            self.depth -= 1
            return node
        return self.power()

    def power(self):
        node = self.atom()
        if self.peek() == ("op", "**"):
            self.take()
            kind, text = self.take()
            if kind != "int" or int(text) > MAX_EXPONENT:
                raise FormulaError(f"an exponent must be an integer 0 .. {MAX_EXPONENT}, "
                                   f"found {text!r}")
            if self.peek() == ("op", "**"):
                raise FormulaError("a power of a power is not allowed")
            node = Pow(node, int(text))
        return node

    def atom(self):
        kind, text = self.take()
        if kind == "int":
            return Num(int(text))
        if kind == "name":
            if text in _FUNCS and self.peek() == ("op", "("):
                func = _FUNCS[text]
                self.take("(")
                args = [self.expr()]
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.expr())
                self.take(")")
                if len(args) != _ARITY.get(func, len(args)):
                    raise FormulaError(f"{text}() takes one argument, found {len(args)}")
                return Call(func, tuple(args))
            if text in self.names:
                return Var(text)
            raise FormulaError(f"unknown name {text!r}; a formula may use "
                               f"{', '.join(self.names)}")
        if text == "(":
            node = self.expr()
            self.take(")")
            return node
        raise FormulaError(f"unexpected {text!r}")


def _shown(tok) -> str:
    return "the end" if tok[0] == "end" else repr(tok[1])


def parse(text: str, names: tuple[str, ...] = NAMES):
    """The AST of `text`, or FormulaError saying what is wrong with it."""
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, not {type(text).__name__}")
    return _parse(text, tuple(names))


@functools.lru_cache(maxsize=1024)
def _parse(text: str, names: tuple[str, ...]):
    # cached: a loop's count is evaluated for every graph of every batch
    if len(text) > MAX_TEXT:
        raise FormulaError(f"formula of {len(text)} characters; at most {MAX_TEXT}")
    p = _Parser(text, names)
    if not p.toks:
        raise FormulaError("empty formula")
    node = p.expr()
    if p.peek()[0] != "end":
        raise FormulaError(f"unexpected {_shown(p.peek())} after a complete formula")
    return node


# ---------------------------------------------------------------- evaluation

def _bounded(v: Fraction) -> Fraction:
    if abs(v.numerator).bit_length() > MAX_BITS or v.denominator.bit_length() > MAX_BITS:
        raise FormulaError(f"a value passes 2^{MAX_BITS}")
    return v


def _log2_int(x: Fraction) -> int:
    if x.denominator != 1 or x < 1:
        raise FormulaError(f"log2 of {x}, which is not a positive integer")
    return int(x)


def _value(node, env: dict[str, int]) -> Fraction:
    if isinstance(node, Num):
        return _bounded(Fraction(node.value))
    if isinstance(node, Var):
        if node.name not in env:
            raise FormulaError(f"no value for size {node.name!r}")
        return _bounded(Fraction(env[node.name]))
    if isinstance(node, Neg):
        return -_value(node.arg, env)
    if isinstance(node, Bin):
        a, b = _value(node.left, env), _value(node.right, env)
        if node.op == "+":
            return _bounded(a + b)
        if node.op == "-":
            return _bounded(a - b)
        if node.op == "*":
            return _bounded(a * b)
        if b == 0:
            raise FormulaError("division by zero")
        return _bounded(a / b if node.op == "/" else Fraction(a // b))
    if isinstance(node, Pow):
        base = _value(node.base, env)
        bits = max(abs(base.numerator).bit_length(), base.denominator.bit_length())
        if bits > 1 and (bits - 1) * node.exponent > MAX_BITS:
            raise FormulaError(f"a value passes 2^{MAX_BITS}")
        return _bounded(base ** node.exponent)
    if isinstance(node, Call):
        f = node.func
        if f in ("ceil", "floor") and isinstance(node.args[0], Call) \
                and node.args[0].func == "log2":
            x = _log2_int(_value(node.args[0].args[0], env))
            return Fraction(ceil_log2(x) if f == "ceil" else floor_log2(x))
        args = [_value(a, env) for a in node.args]
        if f == "ceil":
            return Fraction(-((-args[0].numerator) // args[0].denominator))
        if f == "floor":
            return Fraction(args[0].numerator // args[0].denominator)
        if f == "log2":
            x = _log2_int(args[0])
            if x & (x - 1):
                raise FormulaError(f"log2({x}) is not an integer")
            return Fraction(floor_log2(x))
        return max(args) if f == "max" else min(args)
    raise FormulaError(f"not a formula node: {type(node).__name__}")


def evaluate(node, env: dict[str, int]) -> Fraction:
    """The exact value of a parsed formula at these sizes; FormulaError where it has none."""
    return _value(node, env)


def eval_int(text: str, env: dict[str, int], names: tuple[str, ...] = NAMES) -> int:
    """The exact integer value of formula `text` at sizes `env`; FormulaError if the text is not
    in the grammar or its value is not an integer."""
    value = evaluate(parse(text, names), env)
    if value.denominator != 1:
        sizes = ", ".join(f"{k} = {v}" for k, v in sorted(env.items()))
        raise FormulaError(f"{text} is {value}, not an integer, at {sizes}")
    return int(value)


def check(text, names: tuple[str, ...] = NAMES) -> str | None:
    """Why `text` is not a formula of the grammar over `names`, or None when it is."""
    try:
        parse(text, names)
    except FormulaError as err:
        return str(err)
    return None
