"""The names the checker gives a meaning of its own: builtins, aggregations, fold operators,
complexity classes, and the limits on what it tabulates or re-checks."""
from __future__ import annotations

from .. import types as T

INF = T.INF
BUILTINS = ("min", "max", "abs", "edge", "src", "dst", "ceil", "floor", "log2")
SIZE_FUNCS = ("ceil", "floor", "log2")
AGGREGATIONS = ("any", "all", "sum", "count", "min", "max", "mean", "argmin", "argmax", "only")
FOLD_BUILTINS = ("xor", "and", "or", "+", "*", "min", "max")
CLASSES = ("AC0", "TC0", "NC1", "NC2", "NC3", "NC")
# Associativity is checked over all triples of the domain: 256 values are 16.7M triples.
ASSOCIATIVITY_LIMIT = 256
_MAX_LOOP_PASSES = 8
