"""Hypothesis strategies for random well-formed ASTs.

The trees are syntactically valid (every one has a source form, which `nclang.dsl.pretty` prints)
but not necessarily type-correct. Integer literals are non-negative because the parser reads `-3` as
`Neg(IntLit(3))`; negation is generated as `Neg`.
"""
from __future__ import annotations

from functools import lru_cache

from hypothesis import strategies as st

from nclang.dsl import ast as A

# Every word the grammar spells out. Some are only reserved where the contextual lexer expects
# them (`graph` is a NAME inside an expression), but a name that is a keyword anywhere would make
# the generated tree depend on where it lands, so all of them are kept out.
KEYWORDS = frozenset("""
    program def repeat until stable return if else for in and or xor not true false inf none
    scan reduce graph bool int frac token node edge pair seq bits vec nodes edges positions position
    range out
""".split())

# Prefixes that are keywords test that the NAME regex only reserves whole words (`format`, `in_`).
_STEMS = sorted(KEYWORDS | {"x", "v", "n", "k", "dist", "any", "min", "count", "_", "f", "A"})

_HEAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_TAIL = _HEAD + "0123456789"
names = st.builds(
    lambda stem, tail: stem + tail,
    st.sampled_from(_HEAD) | st.sampled_from(_STEMS),
    st.text(_TAIL, max_size=3),
).filter(lambda s: s not in KEYWORDS)

ARITH_OPS = ("+", "-", "*", "/", "//", "%")
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")
BOOL_OPS = ("and", "or", "xor")
FOLD_SYMBOL_OPS = ("xor", "and", "or", "+", "*", "/", "//", "%")
FIELD_KINDS = ("node", "edge", "pair", "seq")

# literals stop below 2^53 (nclang.dsl.parser.MAX_LITERAL): larger ones are refused as they are read
int_lits = st.builds(A.IntLit, st.one_of(st.integers(0, 100), st.integers(0, 2**53 - 1)))
str_lits = st.builds(A.StrLit, st.text(max_size=8))
leaves = st.one_of(
    int_lits,
    st.builds(A.BoolLit, st.booleans()),
    st.just(A.InfLit()),
    st.just(A.NoneLit()),
    str_lits,
    st.builds(A.Name, names),
)


def _tuples(strategy, min_size: int, max_size: int):
    return st.lists(strategy, min_size=min_size, max_size=max_size).map(tuple)


@lru_cache(maxsize=None)
def expressions(depth: int = 3):
    """Expressions of every node kind, nested at most `depth` deep."""
    if depth <= 0:
        return leaves
    sub = expressions(depth - 1)
    compound = st.one_of(
        st.builds(A.Neg, sub),
        st.builds(A.Not, sub),
        st.builds(A.BinOp, st.sampled_from(ARITH_OPS), sub, sub),
        st.builds(A.Compare, st.sampled_from(COMPARE_OPS), sub, sub),
        st.builds(A.BoolOp, st.sampled_from(BOOL_OPS), sub, sub),
        st.builds(A.IfExpr, sub, sub, sub),
        st.builds(A.Index, sub, _tuples(sub, 1, 3)),
        st.builds(A.Call, names, _tuples(sub, 0, 3)),
        st.builds(A.Comprehension, names, sub, names, domains(depth - 1), st.none() | sub),
        st.builds(A.Fold, st.sampled_from(("scan", "reduce")),
                  st.sampled_from(FOLD_SYMBOL_OPS) | names, sub),
    )
    return st.one_of(leaves, compound)


@lru_cache(maxsize=None)
def domains(depth: int = 2):
    sub = expressions(depth)
    return st.one_of(
        st.just(A.Nodes()),
        st.just(A.Positions()),
        st.builds(A.Range, sub),
        st.builds(A.In, sub),
        st.builds(A.Out, sub),
    )


int_bounds = st.one_of(st.integers(-1000, 1000), st.sampled_from((float("inf"), float("-inf"))))


@lru_cache(maxsize=None)
def types(depth: int = 2):
    """Type expressions of every kind; field element types nest at most `depth` deep."""
    scalars = st.one_of(
        st.just(A.BoolType()),
        st.just(A.IntType()),
        st.builds(A.IntType, int_bounds, int_bounds),
        st.just(A.FracType()),
        st.just(A.TokenType()),
        st.just(A.NodeType()),
        st.just(A.GraphType()),
        st.builds(A.BitsType, expressions(1)),
    )
    if depth <= 0:
        return scalars
    sub = types(depth - 1)
    return st.one_of(
        scalars,
        st.builds(A.FieldType, st.sampled_from(FIELD_KINDS), sub),
        st.builds(A.VecType, sub, expressions(1)),
    )


binders = st.builds(A.Binder, names, st.none() | domains(1))


@lru_cache(maxsize=None)
def statements(depth: int = 2):
    """Statements of every kind; `repeat` bodies nest at most `depth` deep."""
    expr = expressions(2)
    simple = st.one_of(
        st.builds(A.Assign, names, expr),
        st.builds(A.IndexedAssign, names, _tuples(binders, 1, 3), expr),
        st.builds(A.Return, _tuples(expr, 1, 3)),
    )
    if depth <= 0:
        return simple
    return st.one_of(
        simple,
        st.builds(A.Repeat, expr, st.booleans(), _tuples(statements(depth - 1), 0, 3)),
    )


bodies = _tuples(statements(), 0, 4)
params = st.builds(A.Param, names, types())

programs = st.builds(
    A.Program,
    name=names,
    params=_tuples(params, 0, 3),
    results=_tuples(types(), 1, 3),
    declared_class=st.none() | st.sampled_from(("AC0", "TC0", "NC1", "NC2", "NC")) | names,
    body=bodies,
)

defs = st.builds(
    A.Def,
    name=names,
    params=_tuples(params, 0, 3),
    result=types(),
    body=bodies,
)

modules = st.builds(A.Module, _tuples(st.one_of(programs, defs), 0, 3))
