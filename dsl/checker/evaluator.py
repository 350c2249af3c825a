"""Runs a def on Python scalars, so that the checker can tabulate a fold operator and test its
associativity before any program runs. Errors surface as Python exceptions for the caller to
report; this is not the reference interpreter (`nclang.dsl.interpreter`), which runs whole
programs on numpy fields."""
from __future__ import annotations

import math
from fractions import Fraction

from .. import ast as A
from ..sizes import eval_size
from .messages import _value_str
from .names import INF


class _Evaluator:
    """Runs a def on Python scalars, to tabulate a fold operator. Errors surface as exceptions."""

    def __init__(self, defs: dict[str, A.Def]):
        self.defs = defs

    def call(self, name: str, args: list):
        d = self.defs[name]
        env = {p.name: a for p, a in zip(d.params, args)}
        for s in d.body:
            if isinstance(s, A.Return):
                return self.eval(s.values[0], env)
            env[s.target] = self.eval(s.value, env)
        raise ValueError("no return")

    def eval(self, e, env):
        match e:
            case A.IntLit(value=v) | A.BoolLit(value=v) | A.StrLit(value=v):
                return v
            case A.InfLit():
                return INF
            case A.NoneLit():
                return None
            case A.Name(id=x):
                return env[x]
            case A.Neg(operand=o):
                return -self.eval(o, env)
            case A.Not(operand=o):
                return not self.eval(o, env)
            case A.BoolOp(op="and", left=l, right=r):
                return self.eval(l, env) and self.eval(r, env)
            case A.BoolOp(op="or", left=l, right=r):
                return self.eval(l, env) or self.eval(r, env)
            case A.BoolOp(op="xor", left=l, right=r):
                return self.eval(l, env) != self.eval(r, env)
            case A.IfExpr(then=then, cond=cond, orelse=orelse):
                return self.eval(then if self.eval(cond, env) else orelse, env)
            case A.Compare(op=op, left=l, right=r):
                return _COMPARE[op](self.eval(l, env), self.eval(r, env))
            case A.BinOp(op=op, left=l, right=r):
                return _arith(op, self.eval(l, env), self.eval(r, env))
            case A.Call(func="min" | "max" | "abs" as f, args=args):
                return {"min": min, "max": max, "abs": abs}[f](*[self.eval(a, env) for a in args])
            case A.Call(func=f, args=args):
                return self.call(f, [self.eval(a, env) for a in args])
            case A.Comprehension(domain=A.Range(size=size)):
                return self.aggregate(e, range(eval_size(size, {})), env)
        raise ValueError(f"cannot evaluate {type(e).__name__} in a def")

    def aggregate(self, c: A.Comprehension, domain, env):
        items = [x for x in domain if c.cond is None or self.eval(c.cond, {**env, c.var: x})]
        if c.agg == "count":
            return len(items)
        values = [self.eval(c.body, {**env, c.var: x}) for x in items]
        match c.agg:
            case "any":
                return any(values)
            case "all":
                return all(values)
            case "sum":
                return sum(int(v) if isinstance(v, bool) else v for v in values)
            case "min":
                return min(values, default=INF)
            case "max":
                return max(values, default=-INF)
            case "mean":
                return Fraction(sum(values)) / len(values)
            case "argmin" | "argmax":
                if not values:
                    return None
                best = (min if c.agg == "argmin" else max)(values)
                return items[values.index(best)]
            case "only":
                if len(values) > 1:
                    raise ValueError("only: more than one element")
                return values[0] if values else None


_COMPARE = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _arith(op: str, a, b):
    match op:
        case "+":
            r = a + b
        case "-":
            r = a - b
        case "*":
            r = a * b
        case "/":
            r = Fraction(a) / Fraction(b)
        case "//":
            r = a // b
        case _:
            r = a % b
    if isinstance(r, float) and (r != r or (math.isinf(r) and op in ("//", "%"))):
        raise ArithmeticError(f"{_value_str(a)} {op} {_value_str(b)} is undefined")
    return r
