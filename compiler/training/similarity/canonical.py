"""Distances invariant by construction (issue 13, item 2): `canonical` forms of the rescaling
orbit, `canonical_distance` between them (units matched by permutation only, symmetric), and
`raw_distance` (symmetric, no alignment: the "unaligned" column of gap)."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .stack import Stack, check_same, sq_diff, sq_norm, transform
from .units import MIX, PROBES, SWEEPS, layer_units, moved_units, signatures, sqdist

# ---------------------------------------------------------------- invariant by construction
#
# What gap reports (issue 13, item 2). `invariant_distance` above depends on which symmetric
# copy of the reference is drawn and on how many (its min is an order statistic), and it is
# relative to one side's norm, so d(A, B) != d(B, A). The measures below remove both by
# construction:
#
# - `canonical` puts each network in a canonical form of its rescaling orbit: every relu unit's
#   incoming row and bias are scaled to unit norm and the scale is pushed into its outgoing
#   column (layer by layer, front to back). Rescaling a unit by s > 0 before canonicalising
#   changes nothing after it (up to rounding), so only permutations remain.
# - `canonical_distance` matches the hidden units of the two canonical forms by permutation
#   only: an optimal assignment on what the units compute (their pre-activations on fixed
#   probes and the output's derivatives with respect to them, both functions of the network, so
#   independent of the order in which either net lists its units), refined by coordinate
#   descent on the weights. Both directions are matched and the smaller squared distance is
#   kept, and it is divided by the mean of the two squared norms: symmetric by construction,
#   and unchanged by any permutation and positive rescaling of either net.
# - `unit_cka` is linear CKA after scaling each unit (column) of both states to unit rms: CKA
#   is already invariant to permutations of units, and the per-unit scaling removes each unit's
#   own positive scale, so a net and a function-equivalent copy of it (units permuted and
#   rescaled) score 1.

def canonical(stacks: list[Stack]) -> list[Stack]:
    """`stacks` with every relu unit's incoming row + bias of unit norm, its scale moved to the
    unit's outgoing column; the function is unchanged (relu(s z) = s relu(z), s > 0)."""
    out = []
    for stack in stacks:
        layers = [[W.copy(), b.copy(), act] for W, b, act in stack.layers]
        for l in range(len(layers) - 1):
            W, b, act = layers[l]
            if act != "relu":
                continue
            norm = np.sqrt((W * W).sum(1) + b * b)
            s = np.where(norm > 0, norm, 1.0)
            layers[l][0] = W / s[:, None]
            layers[l][1] = b / s
            layers[l + 1][0] = layers[l + 1][0] * s[None, :]
        out.append(Stack(stack.name, tuple((W, b, act) for W, b, act in layers)))
    return out


# canonical weights are rounded to this many significant digits (relative to each tensor's
# largest entry) before matching: a rescaled copy's canonical form differs from the original's
# by rounding noise (1e-16), which would otherwise break the exact ties of compiled gadgets
# the other way and land the matching in another local optimum
_DIGITS = 11


def _quantised(stack: Stack) -> Stack:
    def q(x):
        top = float(np.abs(x).max(initial=0.0))
        if top == 0 or not np.isfinite(top):
            return x
        unit = 10.0 ** (np.floor(np.log10(top)) - _DIGITS + 1)
        return np.round(x / unit) * unit
    return Stack(stack.name, tuple((q(W), q(b), act) for W, b, act in stack.layers))


def _ordered(stack: Stack) -> Stack:
    """`stack` with each hidden layer's units in a canonical order: sorted by what they compute
    (pre-activations on fixed probes, then the output's derivatives with respect to them: both
    functions of the network, rounded to 9 significant digits so rounding noise does not
    reorder them). Two copies that differ by a permutation come out in the same order (units
    that tie are identical, so their order does not matter); the matching that follows then
    breaks its ties the same way for both."""
    if len(stack.layers) < 2 or not all(np.isfinite(W).all() for W, _, _ in stack.layers):
        return stack
    rng = np.random.default_rng(0)
    probes = rng.normal(size=(PROBES, stack.layers[0][0].shape[1]))
    n_out = stack.layers[-1][0].shape[0]
    mix = np.eye(n_out) if n_out <= MIX else rng.normal(size=(n_out, MIX))
    perms = []
    for z, g in signatures(stack, probes, mix):
        key = np.hstack([z, g])
        scale = np.abs(key).max() if key.size else 1.0
        key = np.round(key / (scale or 1.0), 9)
        perms.append(np.lexsort(key.T[::-1]))
    return transform(stack, perms, [np.ones(len(p)) for p in perms])


def _permute_only(ref: Stack, other: Stack) -> Stack:
    """`other` (canonical) with its hidden units permuted to match `ref` (canonical)."""
    if len(ref.layers) < 2:
        return other
    if not all(np.isfinite(W).all() and np.isfinite(b).all() for W, b, _ in other.layers):
        return other
    rng = np.random.default_rng(0)  # fixed probes: the match is a function of the two nets
    probes = rng.normal(size=(PROBES, ref.layers[0][0].shape[1]))
    n_out = ref.layers[-1][0].shape[0]
    mix = np.eye(n_out) if n_out <= MIX else rng.normal(size=(n_out, MIX))
    costs, perms = [], []
    for (z_r, g_r), (z_o, g_o) in zip(signatures(ref, probes, mix),
                                      signatures(other, probes, mix)):
        costs.append(sqdist(z_r, z_o) + sqdist(g_r, g_o))
        perms.append(linear_sum_assignment(costs[-1])[1])
    ones = [np.ones(w) for w in ref.hidden]
    for _ in range(SWEEPS):
        moved = False
        for l in range(len(ref.hidden)):
            inc_r, out_r = layer_units(ref, l)
            inc_o, out_o = moved_units(other, perms, ones, l)
            cost = sqdist(inc_r, inc_o) + sqdist(out_r, out_o) + costs[l]
            p = linear_sum_assignment(cost)[1]
            moved |= not np.array_equal(p, perms[l])
            perms[l] = p
        if not moved:
            break
    return transform(other, perms, ones)


def canonical_distance(a: list[Stack], b: list[Stack]) -> float:
    """Distance between two networks of one architecture, symmetric and invariant to the
    function-preserving permutations and positive relu rescalings of either:
    sqrt(min over the two matching directions of ||ca - P cb||² / ((||ca||² + ||cb||²) / 2)),
    ca and cb the canonical forms. 0 for a net and a symmetric copy of it; about sqrt(2) for
    two unrelated nets of similar size; 0 when both are all-zero."""
    check_same(a, b)
    ca = [_ordered(_quantised(x)) for x in canonical(a)]
    cb = [_ordered(_quantised(x)) for x in canonical(b)]
    ab = sq_diff(ca, [_permute_only(r, o) for r, o in zip(ca, cb)])
    ba = sq_diff(cb, [_permute_only(r, o) for r, o in zip(cb, ca)])
    norm = (sq_norm(ca) + sq_norm(cb)) / 2
    if not np.isfinite(ab) or not np.isfinite(ba) or not np.isfinite(norm):
        return float("nan")
    if norm == 0:
        return 0.0
    return float(np.sqrt(min(ab, ba) / norm))


def raw_distance(a: list[Stack], b: list[Stack]) -> float:
    """||a - b|| / sqrt((||a||² + ||b||²) / 2) over every weight and bias, no alignment:
    symmetric, but not invariant (the "unaligned" column)."""
    check_same(a, b)
    norm = (sq_norm(a) + sq_norm(b)) / 2
    diff = sq_diff(a, b)
    if not np.isfinite(diff) or not np.isfinite(norm):
        return float("nan")
    return 0.0 if norm == 0 else float(np.sqrt(diff / norm))
