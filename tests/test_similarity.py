"""Similarity and invariance-aware alignment (compiler/training/similarity/): CKA's
invariances, the symmetries that keep a network's function, and alignment undoing them."""
import itertools
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nclang.compiler.training.similarity import (
    ACTS, Stack, align, canonical, canonical_distance, forward_stack, hidden_states,
    invariant_distance, linear_cka, random_symmetry, unit_cka, weight_distance,
)

FEW = settings(max_examples=25, deadline=None)
STDLIB = Path(__file__).resolve().parent.parent / "stdlib" / "bits"


@lru_cache(maxsize=None)
def compiled(name: str, k: int, act: str) -> list[Stack]:
    """A compiled mlp as one stack: real compiled nets reuse gadgets side by side, so many units
    share incoming weights (or whole functions) and differ only in where their output goes."""
    from nclang.compiler.targets.mlp import compile_mlp
    from nclang.dsl.checker import check_source
    path = STDLIB / f"{name}.ncl"
    (checked,) = check_source(path.read_text(), str(path))
    art = compile_mlp(checked, {"k": k}, act)
    t = art.tensors
    return [Stack(name, tuple((t[f"layers.{i}.weight"], t[f"layers.{i}.bias"], spec["act"])
                              for i, spec in enumerate(art.architecture["layers"])))]


def random_stacks(seed: int, acts=ACTS, integer: bool = False) -> list[Stack]:
    """Two stacks of 1 to 3 hidden layers with random widths and activations; `integer` weights
    mimic compiled nets (small integers, step thresholds landing exactly on 0)."""
    rng = np.random.default_rng(seed)
    stacks = []
    for name in ("a", "b"):
        widths = ([int(rng.integers(1, 5))]
                  + [int(rng.integers(1, 9)) for _ in range(rng.integers(1, 4))]
                  + [int(rng.integers(1, 4))])
        layers = []
        for i in range(len(widths) - 1):
            shape = (widths[i + 1], widths[i])
            if integer:
                W = rng.integers(-2, 3, shape).astype(float)
                b = rng.integers(-2, 3, shape[0]).astype(float)
            else:
                W, b = rng.normal(size=shape), rng.normal(size=shape[0])
            act = "id" if i == len(widths) - 2 else str(rng.choice(acts))
            layers.append((W, b, act))
        stacks.append(Stack(name, tuple(layers)))
    return stacks


def inputs(stack: Stack, rng, rows: int = 64, integer: bool = False) -> np.ndarray:
    shape = (rows, stack.layers[0][0].shape[1])
    return rng.integers(-3, 4, shape).astype(float) if integer else rng.normal(size=shape) * 3


seeds = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------- CKA

@FEW
@given(seeds, st.integers(2, 40), st.integers(1, 12))
def test_cka_of_a_representation_with_itself_is_one(seed, rows, width):
    X = np.random.default_rng(seed).normal(size=(rows, width))
    assert linear_cka(X, X) == pytest.approx(1.0, abs=1e-12)


@FEW
@given(seeds, st.integers(3, 50), st.integers(1, 8), st.floats(1e-3, 1e3))
def test_cka_is_invariant_to_orthogonal_maps_and_isotropic_scaling(seed, rows, width, scale):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(rows, width)), rng.normal(size=(rows, width + 2))
    Q, _ = np.linalg.qr(rng.normal(size=(width, width)))
    assert linear_cka(X @ Q * scale, Y) == pytest.approx(linear_cka(X, Y), abs=1e-9)
    assert linear_cka(X, Y) == pytest.approx(linear_cka(Y, X), abs=1e-12)
    assert 0.0 <= linear_cka(X, Y) <= 1.0
    # a permutation of units is an orthogonal map: CKA sees through hidden-unit permutations
    assert linear_cka(X[:, rng.permutation(width)], X) == pytest.approx(1.0, abs=1e-12)


def test_cka_of_independent_data_is_near_zero():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(4000, 3)), rng.normal(size=(4000, 4))
    assert linear_cka(X, Y) < 0.01
    assert linear_cka(X, X @ rng.normal(size=(3, 4))) > 0.5  # a linear function of X is close


def test_cka_gram_and_feature_forms_agree():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 10)), rng.normal(size=(6, 2))  # fewer rows than units: Gram form
    K, L = X - X.mean(0), Y - Y.mean(0)
    feature = np.linalg.norm(L.T @ K) ** 2 / (np.linalg.norm(K.T @ K) * np.linalg.norm(L.T @ L))
    assert linear_cka(X, Y) == pytest.approx(feature, abs=1e-12)


def test_cka_degenerate_inputs():
    rng = np.random.default_rng(2)
    X, const = rng.normal(size=(10, 3)), np.full((10, 2), 0.1)
    assert linear_cka(const, const * 3) == 1.0  # both carry no information
    assert linear_cka(X, const) == 0.0
    assert np.isnan(linear_cka(X, np.full((10, 1), np.inf)))
    with pytest.raises(ValueError):
        linear_cka(X, X[:5])


# ---------------------------------------------------------------- Stack

def test_stack_checks_shapes_and_activations_and_is_read_only():
    W, b = np.ones((3, 2)), np.zeros(3)
    with pytest.raises(ValueError, match="activation"):
        Stack("s", ((W, b, "tanh"),))
    with pytest.raises(ValueError, match="inputs after"):
        Stack("s", ((W, b, "relu"), (np.ones((1, 4)), np.zeros(1), "id")))
    with pytest.raises(ValueError):
        Stack("s", ((W, np.zeros(2), "relu"),))
    s = Stack("s", ((W.astype(np.float32), b, "relu"), (np.ones((1, 3)), np.zeros(1), "id")))
    assert s.hidden == [3] and s.layers[0][0].dtype == np.float64
    with pytest.raises(ValueError):
        s.layers[0][0][0, 0] = 5.0
    W[0, 0] = 7.0  # the stack holds its own copy
    assert s.layers[0][0][0, 0] == 1.0


def test_forward_stack_applies_each_activation():
    s = Stack("s", ((np.eye(3), np.zeros(3), "relu"), (np.eye(3), np.zeros(3), "step"),
                    (np.eye(3), np.array([0.5, 0, 0]), "id")))
    X = np.array([[-1.0, 0.0, 2.0]])
    hidden = hidden_states(s, X)
    assert np.array_equal(hidden[0], [[0, 0, 2]])
    assert np.array_equal(hidden[1], [[1, 1, 1]])  # step(0) = 1, as the runtimes
    assert np.array_equal(forward_stack(s, X), [[1.5, 1, 1]])


# ---------------------------------------------------------------- symmetries

@FEW
@given(seeds)
def test_random_symmetry_preserves_the_function(seed):
    stacks = random_stacks(seed)
    rng = np.random.default_rng(seed + 1)
    copy = random_symmetry(stacks, rng)
    for s, c in zip(stacks, copy):
        X = inputs(s, rng)
        y, yc = forward_stack(s, X), forward_stack(c, X)
        assert np.allclose(yc, y, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(y).max()))
        # hidden layers hold the same units, reordered (and rescaled): CKA ignores the order
        for h, hc, (_, _, act) in zip(hidden_states(s, X), hidden_states(c, X), s.layers[:-1]):
            if act != "relu":
                assert linear_cka(h, hc) == pytest.approx(linear_cka(h, h), abs=1e-9)


@FEW
@given(seeds)
def test_random_symmetry_of_an_exact_integer_net_is_bit_identical(seed):
    # powers-of-two scales: a step threshold sitting exactly on 0 downstream of a rescaled relu
    # layer must not flip, or a compiled net's variant would no longer be exact
    stacks = random_stacks(seed, integer=True)
    rng = np.random.default_rng(seed + 1)
    for s, c in zip(stacks, random_symmetry(stacks, rng)):
        X = inputs(s, rng, integer=True)
        assert np.array_equal(forward_stack(c, X), forward_stack(s, X))


def test_random_symmetry_moves_weights_and_rescales_only_relu_units():
    rng = np.random.default_rng(3)
    layers = ((rng.normal(size=(16, 4)), rng.normal(size=16), "relu"),
              (rng.normal(size=(16, 16)), rng.normal(size=16), "step"),
              (rng.normal(size=(8, 16)), rng.normal(size=8), "id"),
              (rng.normal(size=(2, 8)), rng.normal(size=2), "id"))
    stacks = [Stack("s", layers)]
    copy = random_symmetry(stacks, rng)
    assert weight_distance(stacks, copy) > 0.1
    col_norms = lambda s, l: np.sort(np.linalg.norm(s.layers[l + 1][0], axis=0))  # noqa: E731
    assert not np.allclose(col_norms(copy[0], 0), col_norms(stacks[0], 0))
    for l in (1, 2):  # step and id units are permuted only: their outgoing columns just move
        assert np.allclose(col_norms(copy[0], l), col_norms(stacks[0], l), rtol=1e-12)
    # output layer: columns move with the hidden units, rows (the stack's outputs) stay put
    plain = random_symmetry(stacks, rng, rescale=False)
    assert np.array_equal(plain[0].layers[-1][1], stacks[0].layers[-1][1])
    assert np.allclose(np.sort(plain[0].layers[0][0], axis=0),
                       np.sort(stacks[0].layers[0][0], axis=0))


# ---------------------------------------------------------------- alignment

@FEW
@given(seeds, st.booleans())
def test_align_recovers_a_known_permutation_and_rescaling(seed, rescale):
    ref = random_stacks(seed)
    other = random_symmetry(ref, np.random.default_rng(seed + 1), rescale=rescale)
    aligned = align(ref, other)
    assert weight_distance(ref, aligned) < 1e-9
    for r, a in zip(ref, aligned):
        for (Wr, br, _), (Wa, ba, _) in zip(r.layers, a.layers):
            assert np.allclose(Wa, Wr, rtol=0, atol=1e-9) and np.allclose(ba, br, rtol=0, atol=1e-9)


def test_align_recovers_a_permutation_bit_exactly_without_relu_units():
    ref = random_stacks(4, acts=("step", "id"))
    aligned = align(ref, random_symmetry(ref, np.random.default_rng(5)))
    assert weight_distance(ref, aligned) == 0.0


def test_align_tells_apart_units_with_the_same_incoming_weights():
    # compiled nets reuse gadgets: two relu units may read the same inputs the same way and
    # differ only in where they write (and in scale); outgoing weights must decide the match
    rng = np.random.default_rng(6)
    row = rng.normal(size=(1, 3))
    W1 = np.vstack([row, row * 2, row, rng.normal(size=(2, 3))])
    ref = [Stack("s", ((W1, np.zeros(5), "relu"),
                       (rng.normal(size=(4, 5)), rng.normal(size=4), "relu"),
                       (rng.normal(size=(2, 4)), rng.normal(size=2), "id")))]
    for k in range(5):
        other = random_symmetry(ref, np.random.default_rng(k))
        assert weight_distance(ref, align(ref, other)) < 1e-9


@pytest.mark.parametrize("name, k, act",
                         [("add", 4, "relu"), ("add", 4, "step"), ("multiply", 3, "step")])
def test_symmetric_copies_of_compiled_nets_are_exact_and_aligned_back(name, k, act):
    net = compiled(name, k, act)
    width = net[0].layers[0][0].shape[1]
    every_input = np.array(list(itertools.product((0.0, 1.0), repeat=width)))
    for seed in range(3):
        copy = random_symmetry(net, np.random.default_rng(seed))
        assert np.array_equal(forward_stack(copy[0], every_input),
                              forward_stack(net[0], every_input))
        assert weight_distance(net, copy) > 0.1
        assert weight_distance(net, align(net, copy)) < 1e-9
        assert weight_distance(copy, align(copy, net)) < 1e-9


@FEW
@given(seeds)
def test_align_keeps_the_function_of_any_network(seed):
    ref, other = random_stacks(seed), random_stacks(seed)
    other = [Stack(s.name, tuple((W + np.random.default_rng(seed).normal(size=W.shape), b, act)
                                 for W, b, act in s.layers)) for s in other]
    rng = np.random.default_rng(seed + 2)
    aligned = align(ref, other)
    assert weight_distance(ref, aligned) <= weight_distance(ref, other) + 1e-12
    for o, a in zip(other, aligned):
        X = inputs(o, rng)
        y = forward_stack(o, X)
        assert np.allclose(forward_stack(a, X), y, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(y).max()))


def test_align_recovers_a_noisy_symmetric_copy_up_to_the_noise():
    rng = np.random.default_rng(7)
    ref = [Stack("s", ((rng.normal(size=(12, 4)), rng.normal(size=12), "relu"),
                       (rng.normal(size=(12, 12)), rng.normal(size=12), "relu"),
                       (rng.normal(size=(3, 12)), rng.normal(size=3), "id")))]
    noisy = [Stack("s", tuple((W + 0.01 * rng.normal(size=W.shape),
                               b + 0.01 * rng.normal(size=b.shape), a)
                              for W, b, a in ref[0].layers))]
    other = random_symmetry(noisy, rng)
    assert weight_distance(ref, other) > 0.5
    assert weight_distance(ref, align(ref, other)) < 0.02


def test_align_and_distances_reject_different_architectures():
    a = random_stacks(8)
    wider = [Stack(s.name, ((np.ones((9, s.layers[0][0].shape[1])), np.zeros(9), "relu"),
                            (np.ones((1, 9)), np.zeros(1), "id"))) for s in a]
    renamed = [Stack(s.name + "'", s.layers) for s in a]
    for other in (wider, renamed, a[:1]):
        with pytest.raises(ValueError, match="architecture"):
            align(a, other)
        with pytest.raises(ValueError, match="architecture"):
            weight_distance(a, other)


# ---------------------------------------------------------------- distances

def test_weight_distance_is_relative_to_the_reference():
    a = random_stacks(10)
    double = [Stack(s.name, tuple((2 * W, 2 * b, act) for W, b, act in s.layers)) for s in a]
    assert weight_distance(a, a) == 0.0
    assert weight_distance(a, double) == pytest.approx(1.0)
    assert weight_distance(double, a) == pytest.approx(0.5)


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_invariant_distance_of_a_symmetric_copy_is_zero_and_of_a_random_net_is_not(seed):
    ref = random_stacks(seed)
    rng = np.random.default_rng(seed + 1)
    copy = random_symmetry(ref, rng)
    near = invariant_distance(ref, copy, rng, variants=3)
    assert near["max"] < 1e-9 and near["aligned"] < 1e-9
    assert len(near["distances"]) == near["variants"] == 3
    json.dumps(near)  # plain floats, ready for gap.json
    stranger = [Stack(s.name, tuple((rng.normal(size=W.shape), rng.normal(size=b.shape), act)
                                    for W, b, act in s.layers)) for s in ref]
    far = invariant_distance(ref, stranger, rng, variants=3)
    assert far["min"] > 0.1
    assert far["min"] <= far["mean"] <= far["max"]


def test_invariant_distance_of_a_compiled_net_against_noise():
    net = compiled("add", 4, "relu")
    rng = np.random.default_rng(11)
    noisy = [Stack(s.name, tuple((W + 0.01 * rng.normal(size=W.shape), b, act)
                                 for W, b, act in s.layers))
             for s in net]
    report = invariant_distance(net, random_symmetry(noisy, rng), rng, variants=4)
    assert report["raw"] > 0.5  # unaligned, the symmetric copy looks like another network
    assert report["max"] < 0.05  # aligned, only the noise is left
    assert invariant_distance(net, random_symmetry(net, rng), rng, variants=4)["max"] < 1e-9


def test_best_scale_minimises_the_units_share_of_the_distance():
    from nclang.compiler.training.similarity.align import _best_scales
    rng = np.random.default_rng(12)
    u, c, u_ref, c_ref = (rng.normal(size=(40, 4)) for _ in range(4))
    s = _best_scales(u, c, u_ref, c_ref)
    grid = np.exp(np.linspace(-5, 5, 20001))[:, None]
    for i in range(40):
        def cost(t, i=i):
            return ((t * u[i] - u_ref[i]) ** 2).sum(-1) + ((c[i] / t - c_ref[i]) ** 2).sum(-1)
        assert s[i] > 0 and cost(np.array([[s[i]]]))[0] <= cost(grid).min() + 1e-9


# ---------------------------------------------------------------- what gap reports (issue 13)
#
# The distance and the hidden-state similarity gap reports must be symmetric and invariant by
# construction: d(gC, hT) = d(C, T) and d(C, T) = d(T, C) for random function-preserving g, h
# (unit permutations, any positive relu rescaling, not only powers of two), and the similarity
# of a net with a function-equivalent copy of itself is 1. The compiled nets reuse gadgets, so
# their units tie: the matching must not depend on how ties are listed. (The measures gap used
# before, `invariant_distance`'s min over random copies and raw `linear_cka`, fail these.)

def _symmetry(stacks, rng):
    """A random function-preserving copy: every hidden layer permuted, relu units rescaled by
    arbitrary positive reals (e^U(-2, 2))."""
    from nclang.compiler.training.similarity.stack import transform
    out = []
    for s in stacks:
        perms = [rng.permutation(w) for w in s.hidden]
        scales = [np.exp(rng.uniform(-2, 2, W.shape[0])) if act == "relu" else np.ones(W.shape[0])
                  for W, _, act in s.layers[:-1]]
        out.append(transform(s, perms, scales))
    return out


def _like(stacks, rng, noise=None):
    """A net of the same architecture: random weights, or `stacks` plus noise."""
    return [Stack(s.name, tuple(((W + noise * rng.normal(size=W.shape)) if noise else
                                 rng.normal(size=W.shape) * (np.abs(W).mean() + 0.1),
                                 (b + noise * rng.normal(size=b.shape)) if noise else
                                 rng.normal(size=b.shape), act) for W, b, act in s.layers))
            for s in stacks]


NETS = [("add", 3, "relu"), ("add", 3, "step")]


@FEW
@given(seeds, st.sampled_from(NETS), st.sampled_from([None, 0.1]))
def test_gap_distance_is_invariant_to_symmetries_of_either_net(seed, net, noise):
    rng = np.random.default_rng(seed)
    C = compiled(*net)
    T = _like(C, rng, noise)
    d = canonical_distance(C, T)
    assert d > 1e-3
    assert canonical_distance(_symmetry(C, rng), _symmetry(T, rng)) == pytest.approx(d, abs=1e-6)


@FEW
@given(seeds, st.sampled_from(NETS), st.sampled_from([None, 0.1]))
def test_gap_distance_is_symmetric(seed, net, noise):
    rng = np.random.default_rng(seed)
    C = compiled(*net)
    T = _like(C, rng, noise)
    assert canonical_distance(C, T) == pytest.approx(canonical_distance(T, C), abs=1e-6)


@FEW
@given(seeds, st.sampled_from(NETS))
def test_gap_distance_of_a_function_equivalent_copy_is_zero(seed, net):
    rng = np.random.default_rng(seed)
    C = compiled(*net)
    assert canonical_distance(C, _symmetry(C, rng)) < 1e-6


@FEW
@given(seeds, st.sampled_from(NETS))
def test_gap_similarity_of_a_net_and_its_function_equivalent_copy_is_one(seed, net):
    rng = np.random.default_rng(seed)
    C = compiled(*net)
    g = _symmetry(C, rng)
    X = inputs(C[0], rng, integer=True).clip(0, 1)
    for a, b in zip(hidden_states(C[0], X)[:-1], hidden_states(g[0], X)[:-1]):
        assert unit_cka(a, b) == pytest.approx(1.0, abs=1e-6)


@FEW
@given(seeds)
def test_canonical_form_keeps_the_function_and_has_unit_relu_rows(seed):
    a, _ = random_stacks(seed)
    c = canonical([a])[0]
    X = inputs(a, np.random.default_rng(seed))
    assert np.allclose(forward_stack(c, X), forward_stack(a, X), atol=1e-9)
    for W, b, act in c.layers[:-1]:
        if act == "relu":
            norm = np.sqrt((W * W).sum(1) + b * b)
            assert np.allclose(norm[norm > 0], 1.0)


def test_unit_cka_of_unrelated_states_is_small():
    rng = np.random.default_rng(0)
    assert unit_cka(rng.normal(size=(500, 4)), rng.normal(size=(500, 4))) < 0.1
