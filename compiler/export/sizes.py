"""A weight file's size formulas (`nclang.compiler.formula`) as torch int64 operations, so that an
exported graph computes a GNN's size table (`GNN.size_table`: each loop's trip count and each
`size` value) itself, per graph, from its node and edge counts.

The formula is parsed here, at export time, by the closed grammar of `formula`; what is traced is
only integer arithmetic on the sizes. A value is an unreduced fraction (numerator, denominator),
each an int64 tensor with one element per graph, the denominator kept positive, so `/` stays
exact as in `formula.evaluate`. Where `formula.evaluate` raises (division by zero, a log2 of
something that is no positive integer, a bare log2 that is not a power of two, a non-integer
result, a value past 2^62) the traced graph cannot raise: it computes some number and reports
the graph as not valid, which the exporter turns into `exact = false` for that graph.
"""
from __future__ import annotations

import torch

from nclang.compiler import formula

# the log2 sums compare against 2^j for j up to this: every value is below 2^62
_LOG_BITS = formula.MAX_BITS
_LIMIT = float(2 ** formula.MAX_BITS)


class Value:
    """One formula value per graph: num / den (den > 0), `ok` where it is defined, and `big`,
    the float64 magnitude the exact value would have, to flag an int64 overflow."""

    def __init__(self, num, den, ok, big):
        self.num, self.den, self.ok, self.big = num, den, ok, big

    @staticmethod
    def of(t: torch.Tensor) -> "Value":
        return Value(t, torch.ones_like(t), torch.ones_like(t, dtype=torch.bool),
                     t.to(torch.float64).abs())

    def checked(self) -> "Value":
        self.ok = self.ok & (self.big < _LIMIT) & (self.den.to(torch.float64) < _LIMIT)
        return self

    def integer(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(the value, ok): ok is false where it is undefined or not an integer."""
        return (torch.div(self.num, self.den, rounding_mode="floor"),
                self.ok & (torch.remainder(self.num, self.den) == 0))


def _floor(v: Value) -> torch.Tensor:
    return torch.div(v.num, v.den, rounding_mode="floor")


def _ceil(v: Value) -> torch.Tensor:
    return -torch.div(-v.num, v.den, rounding_mode="floor")


def _const(like: torch.Tensor, c: int) -> Value:
    return Value.of(torch.full_like(like, c))


def _int(like: Value, t: torch.Tensor, ok=None) -> Value:
    out = Value.of(t)
    out.ok = like.ok if ok is None else ok
    return out.checked()


def _log2s(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(ceil(log2 x), floor(log2 x)) of positive integers: counts of the powers of two below
    (at most) x, compared as q < ceil(x / 2^j) and 1 <= x // 2^j so that nothing overflows."""
    up = torch.zeros_like(x)
    down = torch.zeros_like(x)
    for j in range(_LOG_BITS + 1):
        p = 2 ** j
        up = up + (1 < -torch.div(-x, p, rounding_mode="floor")).long()
        if j:
            down = down + (torch.div(x, p, rounding_mode="floor") >= 1).long()
    return up, down


def _eval(node, env: dict[str, torch.Tensor], like: torch.Tensor) -> Value:
    F = formula
    if isinstance(node, F.Num):
        return _const(like, node.value).checked()
    if isinstance(node, F.Var):
        return Value.of(env[node.name]).checked()
    if isinstance(node, F.Neg):
        a = _eval(node.arg, env, like)
        return Value(-a.num, a.den, a.ok, a.big)
    if isinstance(node, F.Bin):
        a, b = _eval(node.left, env, like), _eval(node.right, env, like)
        ok = a.ok & b.ok
        bigs = a.big * b.den.to(torch.float64) + b.big * a.den.to(torch.float64)
        if node.op in ("+", "-"):
            sign = 1 if node.op == "+" else -1
            return Value(a.num * b.den + sign * b.num * a.den, a.den * b.den, ok,
                         bigs).checked()
        if node.op == "*":
            return Value(a.num * b.num, a.den * b.den, ok, a.big * b.big).checked()
        zero = b.num == 0
        ok = ok & ~zero
        # a / b = (a.num b.den) / (a.den b.num), the sign moved to the numerator
        sign = torch.where(b.num < 0, -1, 1)
        bnum = torch.where(zero, torch.ones_like(b.num), b.num)
        q = Value(sign * a.num * b.den, sign * a.den * bnum, ok,
                  a.big * b.den.to(torch.float64))
        if node.op == "/":
            return q.checked()
        return _int(q, _floor(q))
    if isinstance(node, F.Pow):
        base = _eval(node.base, env, like)
        out = _const(like, 1)
        out.ok = base.ok
        for _ in range(node.exponent):
            out = Value(out.num * base.num, out.den * base.den, out.ok,
                        out.big * base.big).checked()
        return out
    if isinstance(node, F.Call):
        f = node.func
        if f in ("ceil", "floor") and isinstance(node.args[0], F.Call) \
                and node.args[0].func == "log2":
            x, ok = _log2_arg(_eval(node.args[0].args[0], env, like))
            up, down = _log2s(x)
            return _int(Value.of(x), up if f == "ceil" else down, ok)
        args = [_eval(a, env, like) for a in node.args]
        if f == "ceil":
            return _int(args[0], _ceil(args[0]))
        if f == "floor":
            return _int(args[0], _floor(args[0]))
        if f == "log2":
            x, ok = _log2_arg(args[0])
            up, down = _log2s(x)
            return _int(Value.of(x), down, ok & (up == down))
        best = args[0]
        for other in args[1:]:
            # a/b < c/d  <=>  a d < c b, both denominators positive
            less = other.num * best.den < best.num * other.den
            take = less if f == "min" else ~less & (other.num * best.den != best.num * other.den)
            best = Value(torch.where(take, other.num, best.num),
                         torch.where(take, other.den, best.den), best.ok & other.ok,
                         torch.maximum(best.big, other.big))
        return best
    raise formula.FormulaError(f"not a formula node: {type(node).__name__}")


def _log2_arg(v: Value) -> tuple[torch.Tensor, torch.Tensor]:
    x, ok = v.integer()
    ok = ok & (x >= 1)
    return torch.where(ok, x, torch.ones_like(x)), ok


def evaluate(text: str, env: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(value, ok) of formula `text` at the sizes `env` (int64 tensors of one shape, one element
    per graph): value is `formula.eval_int(text, sizes)` wherever ok is true; where ok is false
    `eval_int` raises FormulaError. FormulaError here for a text outside the grammar."""
    like = next(iter(env.values()))
    return _eval(formula.parse(text, tuple(env)), env, like).integer()
