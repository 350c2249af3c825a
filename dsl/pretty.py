"""AST → source text in one canonical layout.

Layout: four-space indentation, one statement per line, `{` at the end of the header line and `}`
on a line of its own (an empty block is `{}`), one blank line between top-level items, and a
final newline. Binary operators, `=` and `->` have a space either side; `,` is followed by one.
Parentheses appear only where the grammar needs them, so `parse(pretty(tree)) == tree` for every
tree the parser can produce. Comments are not part of the AST and are not printed.
"""
from __future__ import annotations

import math

from . import ast as A

INDENT = "    "

# Binding strength of each expression form, loosest first, mirroring the rule ladder in
# grammar.lark (cond < or < xor < and < not < comparison < arith < term < factor < postfix < atom).
_COND, _OR, _XOR, _AND, _NOT, _CMP, _ARITH, _TERM, _FACTOR, _POSTFIX, _ATOM = range(11)

_BOOL_LEVEL = {"or": _OR, "xor": _XOR, "and": _AND}
_ARITH_LEVEL = {"+": _ARITH, "-": _ARITH, "*": _TERM, "/": _TERM, "//": _TERM, "%": _TERM}


def pretty(node) -> str:
    """Source text for a module, program or def (also accepts a statement, expression or type)."""
    match node:
        case A.Module(items=items):
            return "\n".join(_item(i) for i in items)
        case A.Program() | A.Def():
            return _item(node)
        case A.Assign() | A.IndexedAssign() | A.Repeat() | A.Return():
            return "\n".join(_stmt(node, 0))
        case A.Param():
            return _param(node)
        case _ if _is_type(node):
            return pretty_type(node)
    return pretty_expr(node)


def pretty_expr(expr: A.Expr) -> str:
    """One expression on one line, minimally parenthesised."""
    return _expr(expr)[0]


def pretty_type(t) -> str:
    """A type expression; a tuple of types is a program's tuple result `(T1, T2)`."""
    match t:
        case tuple():
            if len(t) == 1:
                return pretty_type(t[0])
            return "(" + ", ".join(pretty_type(e) for e in t) + ")"
        case A.BoolType():
            return "bool"
        case A.IntType(lo=None, hi=None):
            return "int"
        case A.IntType(lo=lo, hi=hi):
            return f"int[{_bound(lo)}..{_bound(hi)}]"
        case A.FracType():
            return "frac"
        case A.TokenType():
            return "token"
        case A.NodeType():
            return "node"
        case A.PositionType():
            return "position"
        case A.GraphType():
            return "graph"
        case A.BitsType(size=size):
            return f"bits[{pretty_expr(size)}]"
        case A.FieldType(kind=kind, elem=elem):
            return f"{kind}[{pretty_type(elem)}]"
        case A.VecType(elem=elem, size=size):
            return f"vec[{pretty_type(elem)}, {pretty_expr(size)}]"
    raise TypeError(f"not a type expression: {t!r}")


def _is_type(node) -> bool:
    return isinstance(node, (A.BoolType, A.IntType, A.FracType, A.TokenType, A.NodeType,
                             A.PositionType, A.GraphType, A.BitsType, A.FieldType, A.VecType,
                             tuple))


def _bound(b) -> str:
    if isinstance(b, float) and math.isinf(b):
        return "inf" if b > 0 else "-inf"
    return str(int(b))


# ---------------------------------------------------------------- top level and statements

def _item(item) -> str:
    params = ", ".join(_param(p) for p in item.params)
    if isinstance(item, A.Program):
        head = f"program {item.name}({params}) -> {pretty_type(tuple(item.results))}"
        if item.declared_class is not None:
            head += f" in {item.declared_class}"
    else:
        head = f"def {item.name}({params}) -> {pretty_type(item.result)}"
    return "\n".join(_block(head, item.body, 0)) + "\n"


def _param(p: A.Param) -> str:
    return f"{p.name}: {pretty_type(p.type)}"


def _block(head: str, body, depth: int) -> list[str]:
    pad = INDENT * depth
    if not body:
        return [f"{pad}{head} {{}}"]
    lines = [f"{pad}{head} {{"]
    for stmt in body:
        lines.extend(_stmt(stmt, depth + 1))
    lines.append(f"{pad}}}")
    return lines


def _stmt(stmt, depth: int) -> list[str]:
    pad = INDENT * depth
    match stmt:
        case A.Assign(target=target, value=value):
            return [f"{pad}{target} = {pretty_expr(value)}"]
        case A.IndexedAssign(target=target, binders=binders, value=value):
            bs = ", ".join(_binder(b) for b in binders)
            return [f"{pad}{target}[{bs}] = {pretty_expr(value)}"]
        case A.Repeat(count=count, until_stable=stable, body=body):
            head = f"repeat {pretty_expr(count)}" + (" until stable" if stable else "")
            return _block(head, body, depth)
        case A.Return(values=values):
            return [f"{pad}return " + ", ".join(pretty_expr(v) for v in values)]
    raise TypeError(f"not a statement: {stmt!r}")


def _binder(b: A.Binder) -> str:
    return b.name if b.domain is None else f"{b.name} in {_domain(b.domain)}"


def _domain(d) -> str:
    match d:
        case A.Nodes():
            return "nodes"
        case A.Edges():
            return "edges"
        case A.Positions():
            return "positions"
        case A.Range(size=size):
            return f"range({pretty_expr(size)})"
        case A.In(of=of):
            return f"in({pretty_expr(of)})"
        case A.Out(of=of):
            return f"out({pretty_expr(of)})"
    raise TypeError(f"not a domain: {d!r}")


# ---------------------------------------------------------------- expressions

def _at(expr, level: int) -> str:
    """`expr` printed where the grammar needs at least binding strength `level`."""
    text, own = _expr(expr)
    return text if own >= level else f"({text})"


def _expr(e) -> tuple[str, int]:
    """The text of `e` without outer parentheses, and its binding strength."""
    match e:
        case A.IntLit(value=v):
            # The parser reads `-3` as Neg(IntLit(3)); a negative literal built by hand prints the
            # same way and binds like a negation.
            return (str(v), _ATOM) if v >= 0 else (str(v), _FACTOR)
        case A.BoolLit(value=v):
            return ("true" if v else "false"), _ATOM
        case A.InfLit():
            return "inf", _ATOM
        case A.NoneLit():
            return "none", _ATOM
        case A.StrLit(value=v):
            return _string(v), _ATOM
        case A.Name(id=name):
            return name, _ATOM
        case A.Neg(operand=x):
            return "-" + _at(x, _FACTOR), _FACTOR
        case A.Not(operand=x):
            return "not " + _at(x, _NOT), _NOT
        case A.BinOp(op=op, left=l, right=r):
            lv = _ARITH_LEVEL[op]
            return f"{_at(l, lv)} {op} {_at(r, lv + 1)}", lv
        case A.BoolOp(op=op, left=l, right=r):
            lv = _BOOL_LEVEL[op]
            return f"{_at(l, lv)} {op} {_at(r, lv + 1)}", lv
        case A.Compare(op=op, left=l, right=r):
            return f"{_at(l, _ARITH)} {op} {_at(r, _ARITH)}", _CMP
        case A.IfExpr(then=t, cond=c, orelse=o):
            return f"{_at(t, _OR)} if {_at(c, _OR)} else {_at(o, _COND)}", _COND
        case A.Index(base=base, indices=idx):
            return f"{_at(base, _POSTFIX)}[{_args(idx)}]", _POSTFIX
        case A.Call(func=f, args=args):
            return f"{f}({_args(args)})", _ATOM
        case A.Comprehension(agg=agg, body=body, var=var, domain=dom, cond=cond):
            text = f"{agg}({pretty_expr(body)} for {var} in {_domain(dom)}"
            if cond is not None:
                text += f" if {_at(cond, _OR)}"
            return text + ")", _ATOM
        case A.Fold(kind=kind, op=op, arg=arg):
            return f"{kind}({op}, {pretty_expr(arg)})", _ATOM
    raise TypeError(f"not an expression: {e!r}")


def _string(value: str) -> str:
    """A double-quoted literal that the parser (which decodes with Python's rules) reads back as
    `value`: printable characters stand as themselves, everything else is a Python escape."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _args(exprs) -> str:
    return ", ".join(pretty_expr(x) for x in exprs)
