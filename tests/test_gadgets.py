"""Every gadget is exact on its whole declared input range, in numpy float32 and in torch float32
(the same weights in a torch Sequential), and refuses what it cannot make exact."""
import itertools
import math
import operator

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from nclang.compiler import gadgets as G

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
       "==": operator.eq, "!=": operator.ne}


class Step(torch.nn.Module):
    def forward(self, x):
        return torch.heaviside(x, torch.ones((), dtype=x.dtype))


def to_torch(block: G.Block, dtype=torch.float32) -> torch.nn.Sequential:
    mods = []
    for L in block.layers:
        lin = torch.nn.Linear(L.W.shape[1], L.W.shape[0], dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(L.W))
            lin.bias.copy_(torch.from_numpy(L.b))
        mods += [lin] + {"relu": [torch.nn.ReLU()], "step": [Step()], "id": []}[L.act]
    return torch.nn.Sequential(*mods)


def grid(box):
    return np.array(list(itertools.product(*[range(lo, hi + 1) for lo, hi in box])),
                    np.float64).reshape(-1, len(box))


def assert_computes(block, f, X=None):
    """block(x) == f(x) on X (default: every integer point of the box), numpy and torch float32;
    also that the magnitude bound and the declared hidden boxes hold there."""
    X = grid(block.inp) if X is None else np.asarray(X, np.float64).reshape(-1, block.n_in)
    want = np.array([f(*map(int, x)) for x in X], np.float64).reshape(len(X), block.n_out)
    assert ((X >= [r[0] for r in block.inp]) & (X <= [r[1] for r in block.inp])).all()
    np.testing.assert_array_equal(block(X), want)
    with torch.no_grad():
        got = to_torch(block)(torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_array_equal(got, want)
    assert ((want >= [r[0] for r in block.out]) & (want <= [r[1] for r in block.out])).all()
    assert_bound_holds(block, X)


def assert_bound_holds(block, X):
    m = G.bound(block)
    tr = block.trace(X, np.float64)
    assert np.abs(tr[0]).max(initial=0) <= m
    for i, L in enumerate(block.layers):
        x, z, y = tr[2 * i], tr[2 * i + 1], tr[2 * i + 2]
        # any partial sum, in any order: between minus the negative terms and the positive ones
        bias = np.broadcast_to(L.b, (len(x), len(L.b)))[..., None]
        terms = np.concatenate([x[:, None, :] * L.W[None], bias], -1)
        assert np.maximum(terms, 0).sum(-1).max(initial=0) <= m
        assert np.maximum(-terms, 0).sum(-1).max(initial=0) <= m
        assert np.abs(z).max(initial=0) <= m
        if L.box is not None:
            assert (y >= L.box[0]).all() and (y <= L.box[1]).all()


def rng(lo=-50, hi=50, max_size=12):
    return st.integers(lo, hi).flatmap(
        lambda a: st.integers(a, min(hi, a + max_size)).map(lambda b: (a, b)))


def points(box, n=40):
    return st.lists(st.tuples(*[st.integers(lo, hi) for lo, hi in box]), min_size=1, max_size=n)


# ---- Boolean gates ---------------------------------------------------------------------------

ACTS = ["relu", "step"]


@pytest.mark.parametrize("act", ACTS)
def test_not_is_exact(act):
    assert_computes(G.not_(act), lambda x: 1 - x)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_and_or_are_exact_for_every_fan_in(act, n):
    assert_computes(G.and_(n, act), lambda *x: int(all(x)))
    assert_computes(G.or_(n, act), lambda *x: int(any(x)))


@pytest.mark.parametrize("act", ACTS)
def test_xor_is_exact(act):
    assert_computes(G.xor(act), operator.xor)


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8, 9])
def test_parity_is_exact_and_log_depth(act, n):
    b = G.parity(n, act)
    assert_computes(b, lambda *x: sum(x) % 2)
    levels = math.ceil(math.log2(n))
    assert b.depth == (levels + 1 if act == "relu" else max(2 * levels, 1))


@pytest.mark.parametrize("act", ACTS)
def test_step_gates_are_threshold_circuits_with_integer_weights(act):
    for b in [G.not_(act), G.and_(4, act), G.or_(3, act), G.xor(act), G.parity(6, act),
              G.compare("==", (0, 5), (2, 7), act),
              G.lookup(lambda x, y: x > y, [(0, 3)] * 2, act)]:
        for L in b.layers:
            assert (L.W == np.round(L.W)).all() and (L.b == np.round(L.b)).all()
        assert set(b.acts) <= ({"step"} if act == "step" else {"relu", "id"})


# ---- comparisons -----------------------------------------------------------------------------

@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("op", list(OPS))
def test_compare_is_exact_on_small_ranges(op, act):
    assert_computes(G.compare(op, (-4, 5), (-2, 7), act), lambda x, y: int(OPS[op](x, y)))
    assert_computes(G.compare_const(op, 3, (-4, 9), act), lambda x: int(OPS[op](x, 3)))
    assert_computes(G.compare_const(op, 30, (-4, 9), act), lambda x: int(OPS[op](x, 30)))


@settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(list(OPS)), act=st.sampled_from(ACTS),
       a=rng(-10 ** 6, 10 ** 6, 10 ** 6), b=rng(-10 ** 6, 10 ** 6, 10 ** 6), data=st.data())
def test_compare_is_exact_on_large_ranges(op, act, a, b, data):
    xs = data.draw(points([a, b]))
    xs += [(a[0], min(max(a[0], b[0]), b[1])), (a[1], min(max(a[1], b[0]), b[1]))]  # near x == y
    xs = [x for x in xs if b[0] <= x[1] <= b[1]]
    assert_computes(G.compare(op, a, b, act), lambda x, y: int(OPS[op](x, y)), xs)


# ---- min / max / select ------------------------------------------------------------------------

def test_min_max_select_are_exact_on_small_ranges():
    for a, b in [((-3, 4), (0, 6)), ((2, 2), (-5, 1)), ((0, 1), (0, 1))]:
        assert_computes(G.maximum(a, b), max)
        assert_computes(G.minimum(a, b), min)
        assert_computes(G.select(a, b), lambda c, x, y: x if c else y)


@settings(max_examples=60, deadline=None)
@given(a=rng(-10 ** 6, 10 ** 6, 10 ** 6), b=rng(-10 ** 6, 10 ** 6, 10 ** 6), data=st.data())
def test_min_max_select_are_exact_on_large_ranges(a, b, data):
    xs = data.draw(points([a, b]))
    assert_computes(G.maximum(a, b), max, xs)
    assert_computes(G.minimum(a, b), min, xs)
    cxs = [(c, x, y) for c in (0, 1) for x, y in xs]
    assert_computes(G.select(a, b), lambda c, x, y: x if c else y, cxs)


def test_tree_of_max_is_exact():
    assert_computes(G.tree(G.maximum((0, 3), (0, 3)), 5), lambda *x: max(x))
    assert_computes(G.tree(G.minimum((-2, 2), (-2, 2)), 3), lambda *x: min(x))


# ---- arithmetic ------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(a=rng(-10 ** 6, 10 ** 6, 10 ** 6), b=rng(-10 ** 6, 10 ** 6, 10 ** 6),
       c=st.integers(-7, 7), data=st.data())
def test_add_sub_mul_const_are_exact(a, b, c, data):
    xs = data.draw(points([a, b]))
    assert_computes(G.add(a, b), operator.add, xs)
    assert_computes(G.sub(a, b), operator.sub, xs)
    assert_computes(G.mul_const(c, a), lambda x: c * x, [x[:1] for x in xs])
    assert_computes(G.affine([[2, -3], [0, 1]], [5, -1], [a, b]),
                    lambda x, y: (2 * x - 3 * y + 5, y - 1), xs)


def test_mul_is_exact_on_small_ranges():
    for a, b in [((-3, 4), (-5, 2)), ((0, 40), (2, 6)), ((-4, -1), (2, 3)), ((3, 3), (-2, 5)),
                 ((0, 1), (0, 1)), ((-6, 0), (-1, 7))]:
        assert_computes(G.mul(a, b), operator.mul)


@settings(max_examples=40, deadline=None)
@given(a=rng(-3000, 3000, 3000), b=rng(-3000, 3000, 200), data=st.data())
def test_mul_is_exact_on_large_ranges(a, b, data):
    assert_computes(G.mul(a, b), operator.mul, data.draw(points([a, b])) + [(a[0], b[1])])


# ---- lookup tables -----------------------------------------------------------------------------

_TABLE_VALUES = st.integers(-20, 20)


@st.composite
def tables(draw, values=_TABLE_VALUES):
    doms = draw(st.lists(rng(-4, 4, 4), min_size=1, max_size=3))
    pts = list(itertools.product(*[range(lo, hi + 1) for lo, hi in doms]))
    vals = draw(st.lists(values, min_size=len(pts), max_size=len(pts)))
    return doms, dict(zip(pts, vals))


@settings(max_examples=80, deadline=None)
@given(t=tables())
def test_lookup_is_exact_for_every_finite_integer_table(t):
    doms, table = t
    assert_computes(G.lookup(lambda *x: table[x], doms), lambda *x: table[x])


@settings(max_examples=80, deadline=None)
@given(t=tables(st.integers(0, 1)))
def test_step_lookup_is_exact_for_every_boolean_table(t):
    doms, table = t
    assert_computes(G.lookup(lambda *x: table[x], doms, "step"), lambda *x: table[x])


# ---- composition -------------------------------------------------------------------------------

def test_parallel_pads_shallow_blocks_and_stays_exact():
    b = G.parallel(G.add((0, 3), (1, 2)), G.mul((-2, 2), (0, 3)), G.not_())
    assert b.depth == 3
    assert_computes(b, lambda x, y, p, q, c: (x + y, p * q, 1 - c))
    s = G.parallel(G.xor("step"), G.identity([G.BOOL]), G.and_(3, "step"))
    assert set(s.acts) == {"step"}
    assert_computes(s, lambda x, y, c, p, q, r: (x ^ y, c, p & q & r))


def test_share_feeds_the_same_inputs_to_each_block():
    b = G.share(G.maximum((0, 5), (0, 5)), G.compare("<", (0, 5), (0, 5)), G.sub((0, 5), (0, 5)))
    assert_computes(b, lambda x, y: (max(x, y), int(x < y), x - y))


def test_chain_folds_affine_readouts_into_the_next_layer():
    b = G.chain(G.and_(2), G.not_())
    assert b.depth == 2
    assert_computes(b, lambda x, y: 1 - (x & y))
    c = G.chain(G.share(G.sub((0, 9), (0, 9)), G.add((0, 9), (0, 9))),
                G.mul((-9, 9), (0, 18)), G.compare_const(">=", 10, (-162, 162)))
    assert_computes(c, lambda x, y: int((x - y) * (x + y) >= 10))


def test_deepen_keeps_the_function():
    for act, g in [("relu", G.maximum((-3, 3), (0, 2))), ("step", G.or_(2, "step"))]:
        d = G.deepen(g, g.depth + 3, act)
        assert d.depth == g.depth + 3
        assert_computes(d, lambda *x, g=g: g(np.array(x))[0])


# ---- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: G.compare(">=", (0, float("inf")), (0, 3)),
    lambda: G.compare(">=", (3, 0), (0, 3)),
    lambda: G.compare(">=", (0.5, 3), (0, 3)),
    lambda: G.compare("=>", (0, 3), (0, 3)),
    lambda: G.compare_const(">", 1.5, (0, 3)),
    lambda: G.maximum((0, 3), 4),
    lambda: G.and_(0),
    lambda: G.xor("sigmoid"),
    lambda: G.lookup(lambda x, y: x + y, [(0, 99), (0, 99)]),
    lambda: G.lookup(lambda x: x + 2, [(0, 3)], "step"),
    lambda: G.lookup(lambda x: x / 2, [(0, 3)]),
    lambda: G.mul((0, 10 ** 6), (0, 10 ** 6)),
    lambda: G.affine([[0.5]], [0], [(0, 3)]),
    lambda: G.chain(G.add((0, 3), (0, 3)), G.not_()),
    lambda: G.chain(G.xor(), G.xor()),
    lambda: G.tree(G.add((0, 3), (0, 3)), 4),
    lambda: G.parallel(G.maximum((0, 1), (0, 1)), G.xor("step")),
    lambda: G.deepen(G.parity(4), 1),
    lambda: G.add((0, 2 ** 60), (0, 2 ** 60)),
], ids=["inf", "empty", "fraction", "op", "const", "not-a-range", "no-inputs", "act",
        "table-too-big", "step-non-boolean", "non-integer-table", "mul-too-big", "dyadic",
        "chain-range", "chain-arity", "tree-range", "mixed-modes", "shallower", "beyond-float64"])
def test_requests_outside_what_can_be_exact_raise_value_error(make):
    with pytest.raises(ValueError):
        make()


def test_check_exact_refuses_exactly_what_float32_gets_wrong():
    ok = G.add((0, 2 ** 23), (0, 2 ** 23 - 2))
    assert G.check_exact(ok) is ok
    assert_computes(ok, operator.add, [(2 ** 23, 2 ** 23 - 2)])
    big = G.add((0, 2 ** 24), (0, 1))
    with pytest.raises(ValueError, match="float32 is exact only for integers up to 2\\^24"):
        G.check_exact(big)
    G.check_exact(big, np.float64)
    # the refusal is not overcautious here
    assert float(big(np.array([[2 ** 24, 1]]))[0, 0]) != 2 ** 24 + 1


# ---- the magnitude bound -------------------------------------------------------------------------

GADGETS = [
    lambda a, b: G.maximum(a, b), lambda a, b: G.minimum(a, b), lambda a, b: G.select(a, b),
    lambda a, b: G.add(a, b), lambda a, b: G.sub(a, b), lambda a, b: G.mul(a, b),
    lambda a, b: G.compare("==", a, b), lambda a, b: G.compare(">", a, b, "step"),
    lambda a, b: G.lookup(lambda x, y: x * y - 3 * x, [a, b]),
    lambda a, b: G.chain(G.share(G.add(a, b), G.sub(a, b)),
                         G.mul((a[0] + b[0], a[1] + b[1]), (a[0] - b[1], a[1] - b[0]))),
]


@settings(max_examples=150, deadline=None)
@given(g=st.sampled_from(GADGETS), a=rng(-30, 30, 8), b=rng(-30, 30, 8), data=st.data())
def test_magnitude_bound_is_sound(g, a, b, data):
    block = g(a, b)
    X = np.array(data.draw(points(block.inp)), np.float64)
    assert_bound_holds(block, X)
    assert_bound_holds(block, grid(block.inp))
