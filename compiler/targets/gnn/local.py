"""The GNN target's pointwise computation: one IR `Local` op → one exact ReLU block
(`nclang.compiler.gadgets`) over the channels of its operands.

Channel kinds (`kind_of`): `bool` (0/1), `int` and `index` (the integer; an index is -1 for
none), `pinf` / `ninf` (a flagged integer that may be +inf / -inf: channels (f, v), see
`gadgets.flagged_extremum`). Every channel has an integer range; an unbounded side is the
design bound R, which the runtime checks the program's proven value bound against.

Nothing here knows a program by name, and no gadget is derived here: each op is a composition
(`chain`, `parallel`, `route`, `affine`) of gadgets from `nclang.compiler.gadgets`.
"""
from __future__ import annotations

import math

from nclang.compiler import gadgets as G
from nclang.compiler import ir
from nclang.dsl import types as T

CHANNELS = {"bool": 1, "int": 1, "index": 1, "pinf": 2, "ninf": 2}
_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


class Unsupported(Exception):
    """An op or type this target has no exact construction for (the message says which)."""


def kind_of(t) -> str:
    """`T.scalar_kind`, with integers split by which infinity they may take (their encoding)."""
    kind = T.scalar_kind(t)
    t = t.elem if isinstance(t, T.Field) else t
    if kind in ("bool", "index"):
        return kind
    if kind == "int":
        pos = t.hi == T.INF
        neg = t.lo == -T.INF or (t.lo is None and t.hi is None)
        if pos and neg:
            raise Unsupported(f"a value of type {t} (both +inf and -inf)")
        return "pinf" if pos else "ninf" if neg else "int"
    raise Unsupported(f"values of type {t}")


def ranges_of(t, R: int) -> list[G.Range]:
    """The channel ranges of a value of type `t` under design bound R."""
    kind = kind_of(t)
    t = t.elem if isinstance(t, T.Field) else t
    if kind == "bool":
        return [G.BOOL]
    if kind == "index":
        if isinstance(t, T.NoneType):
            return [(-1, -1)]
        return [(-1 if t.optional else 0, R)]

    def side(v, default):
        if v is None or (isinstance(v, float) and math.isinf(v)):
            return default
        return max(-R, min(R, int(v)))
    lo, hi = side(t.lo, -R), side(t.hi, R)
    if kind == "int":
        return [(lo, hi)]
    if lo > hi:  # the constant inf itself: only the flag's 0 and the value's 0
        lo = hi = 0
    return [G.BOOL, (min(lo, 0), max(hi, 0))]


def _tight(block: G.Block, out: list[G.Range]) -> G.Block:
    """`block` with its output ranges narrowed to `out`: the value-range analysis proves the
    op's result lies there (below R) even where interval arithmetic through the gadget cannot."""
    rs = [(max(a[0], b[0]), min(a[1], b[1])) for a, b in zip(block.out, out)]
    rs = [r if r[0] <= r[1] else b for r, b in zip(rs, out)]
    return G.Block(block.layers, block.inp, tuple(rs))


def _lift(kind: str, rs: list[G.Range], want: str) -> G.Block:
    """The operand's channels as a `want` (pinf/ninf) flagged pair: a finite value gets f = 1."""
    if kind == want:
        return G.identity(rs)
    if kind in ("int", "index", "bool"):
        return G.affine([[0], [1]], [1, 0], rs)
    raise Unsupported(f"mixing +inf and -inf values ({kind} with {want})")


def _flagged_compare(op: str, kinds: list[str], rs: list[list[G.Range]]) -> G.Block:
    """[a op b] where either may be infinite: each operand as (f, v) (a finite one gets f = 1),
    the comparison c of the value channels, then a table of (f_a, f_b, c): c when both are
    finite, else the comparison of the infinity (or any finite stand-in) itself. c is read only
    when both flags are 1, so what an infinite value's channel holds does not matter (it lies in
    its range, which is all the compare gadget needs)."""
    pre, infs = [], []
    for k, r in zip(kinds, rs):
        if k in ("pinf", "ninf"):
            pre.append(G.identity(r))
            infs.append(math.inf if k == "pinf" else -math.inf)
        else:
            pre.append(_lift(k, r, "pinf"))  # (1, v)
            infs.append(None)
    both = G.parallel(*pre)  # fa, va, fb, vb
    mid = G.chain(G.route(both.out, [0, 2, 1, 3]),
                  G.parallel(G.identity([G.BOOL, G.BOOL]),
                             G.compare(_CMP[op], both.out[1], both.out[3])))
    py = ir.scalar.COMPARE[op]

    def outcome(fa: int, fb: int, c: int) -> int:
        if fa and fb:
            return c
        if (not fa and infs[0] is None) or (not fb and infs[1] is None):
            return 0  # a finite operand's flag is always 1: never reached
        return int(py(0.0 if fa else infs[0], 0.0 if fb else infs[1]))
    return G.chain(both, mid, G.lookup(outcome, [G.BOOL] * 3))


def _stack(parts: list[G.Block]) -> G.Block:
    return G.parallel(*parts)


def local_block(op: str, arg_types: list, out_type, R: int) -> G.Block:
    """The block computing `op` from the concatenated channels of `arg_types` to the channels of
    `out_type` (Unsupported when no exact construction exists here)."""
    kinds = [kind_of(t) for t in arg_types]
    rs = [ranges_of(t, R) for t in arg_types]
    out_kind, out_rs = kind_of(out_type), ranges_of(out_type, R)
    flat = [r for group in rs for r in group]
    offs = [sum(CHANNELS[k] for k in kinds[:i]) for i in range(len(kinds))]

    flagged = [k for k in kinds if k in ("pinf", "ninf")]
    if op == "lift":
        # the target's own op (no IR op): a value in the encoding of a wider type it belongs
        # to, e.g. a finite start of a loop variable that may become inf
        if out_kind not in ("pinf", "ninf"):
            raise Unsupported(f"values of type {out_type} from {arg_types[0]}")
        return _tight(_lift(kinds[0], rs[0], out_kind), out_rs)
    if op in ("not", "and", "or", "xor"):
        if any(k != "bool" for k in kinds):
            raise Unsupported(f"'{op}' of non-Boolean values")
        gate = {"not": G.not_, "and": lambda: G.and_(2), "or": lambda: G.or_(2),
                "xor": G.xor}[op]()
        return gate
    if op in _CMP:
        if flagged:
            return _tight(_flagged_compare(op, kinds, rs), out_rs)
        return _tight(G.compare(_CMP[op], flat[0], flat[1]), out_rs)
    if op in ("add", "sub", "neg") and not flagged:
        W = {"add": [[1, 1]], "sub": [[1, -1]], "neg": [[-1]]}[op]
        return _tight(G.affine(W, [0], flat), out_rs)
    if op == "add":
        want = flagged[0]
        if any(k not in (want, "int", "index", "bool") for k in kinds):
            raise Unsupported("adding +inf and -inf")
        pre = _stack([_lift(kinds[i], rs[i], want) for i in range(2)])
        body = G.flagged_add(pre.out[1], pre.out[3])
        return _tight(G.chain(pre, body), out_rs if out_kind == want else [G.BOOL] + out_rs)
    if op in ("min", "max"):
        if not flagged:
            g = G.minimum if op == "min" else G.maximum
            acc = G.identity(flat[:1])
            for i in range(1, len(kinds)):
                acc = G.chain(G.parallel(acc, G.identity(flat[offs[i]:offs[i] + 1])),
                              _tight(g(acc.out[0], flat[offs[i]]), out_rs))
            return acc
        want = "pinf" if op == "min" else "ninf"
        # max over values that may be +inf (or min over -inf) is the infinity itself when one
        # operand is: not built here, and no graph program needs it
        if any(k not in (want, "int", "index", "bool") for k in kinds):
            raise Unsupported(f"{op} of values that may be {'-' if op == 'min' else '+'}inf")
        lifts = _stack([_lift(kinds[i], rs[i], want) for i in range(len(kinds))])
        acc = G.identity(list(lifts.out[:2]))
        for i in range(1, len(kinds)):
            nxt = list(lifts.out[2 * i:2 * i + 2])
            acc = G.chain(G.parallel(acc, G.identity(nxt)),
                          G.flagged_extremum(op, acc.out[1], nxt[1]))
        block = G.chain(lifts, acc)
        if out_kind == want:
            return _tight(block, out_rs)
        # a finite operand makes the result finite: drop the flag
        return _tight(G.chain(block, G.route(block.out, [1])), out_rs)
    if op == "select":
        if kinds[0] != "bool":
            raise Unsupported("select on a non-Boolean condition")
        if out_kind in ("pinf", "ninf"):
            lx, ly = _lift(kinds[1], rs[1], out_kind), _lift(kinds[2], rs[2], out_kind)
            pre = G.parallel(G.identity([G.BOOL]), lx, ly)   # c, fx, vx, fy, vy
            mux = G.chain(G.route(pre.out, [0, 1, 3, 0, 2, 4]),
                          G.parallel(G.select(G.BOOL, G.BOOL),
                                     G.select(pre.out[2], pre.out[4])))
            return _tight(G.chain(pre, mux), out_rs)
        if kinds[1] in ("pinf", "ninf") or kinds[2] in ("pinf", "ninf"):
            raise Unsupported("a select whose result type is finite but an operand may be inf")
        return _tight(G.select(flat[1], flat[2]), out_rs)
    raise Unsupported(f"the pointwise op '{op}'")
