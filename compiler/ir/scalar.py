"""The meaning of each pointwise op (`Local`) on exact scalars: Python integers (a bool as 0/1)
and tokens. This is the one table the targets tabulate gadgets from; `evaluation` computes the
same meanings with numpy over whole arrays, and tests/test_ir_scalar.py holds the two to one
answer on every op.

Where the program itself would err (`x // 0`, `x % 0`) the value is 0: a network needs some
value there, and the interpreter rejects every input that would observe it.
"""
from __future__ import annotations

import operator

COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
           "gt": operator.gt, "ge": operator.ge}

_BINARY = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "floordiv": lambda x, y: x // y if y else 0,
    "mod": lambda x, y: x % y if y else 0,
    "and": lambda x, y: int(bool(x) and bool(y)),
    "or": lambda x, y: int(bool(x) or bool(y)),
    "xor": lambda x, y: int(bool(x) != bool(y)),
    "eq": lambda x, y: int(x == y), "ne": lambda x, y: int(x != y),
    "lt": lambda x, y: int(x < y), "le": lambda x, y: int(x <= y),
    "gt": lambda x, y: int(x > y), "ge": lambda x, y: int(x >= y),
}


def apply(op: str, args: list):
    """`op` of `args` (integers, 0/1 for booleans, or tokens where the op compares them);
    KeyError for an op with no exact integer meaning (`div`, which gives a frac)."""
    if op in _BINARY:
        return _BINARY[op](args[0], args[1])
    match op:
        case "neg":
            return -args[0]
        case "abs":
            return abs(args[0])
        case "not":
            return int(not args[0])
        case "select":
            return args[1] if args[0] else args[2]
        case "min":
            return min(args)
        case "max":
            return max(args)
    raise KeyError(f"no exact integer meaning for the op {op!r}")
