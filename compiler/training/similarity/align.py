"""Aligning one network to another along its symmetry orbit (`align`: units matched by
function, then by weight, then relu scales fitted), and the distances built on it:
`weight_distance` (relative Frobenius, no alignment) and `invariant_distance` (aligned to
random symmetric copies of the reference)."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from .stack import Stack, check_same, random_symmetry, sq_norm, transform
from .units import MIX, PROBES, SWEEPS, layer_units, moved_units, signatures, sqdist


def _descriptors(inc, out, relu: bool):
    """Per unit, features unchanged by the layer's own symmetry: for relu (u/|u|, c|u|) is
    invariant under u -> s u, c -> c / s; step and id units are not rescaled, so raw (u, c)."""
    if not relu:
        return inc, out
    norm = np.linalg.norm(inc, axis=1, keepdims=True)
    return np.divide(inc, norm, out=np.zeros_like(inc), where=norm > 0), out * norm


def _best_scales(u, c, u_ref, c_ref) -> np.ndarray:
    """Per row, the s > 0 minimising |s u - u_ref|^2 + |c / s - c_ref|^2: a positive root of
    |u|^2 s^4 - <u, u_ref> s^3 + <c, c_ref> s - |c|^2 (the derivative times s^3 / 2), found as
    eigenvalues of the companion matrices, all rows at once."""
    uu, ur = (u * u).sum(1), (u * u_ref).sum(1)
    cc, cr = (c * c).sum(1), (c * c_ref).sum(1)
    # one side zero: the other side's least-squares scale if positive; at the boundary
    # (optimum s -> 0 or infinity, a degenerate unit) the scale stays 1
    s = np.ones(len(u))
    only_in, only_out = (cc == 0) & (ur > 0), (uu == 0) & (cr > 0)
    s[only_in] = ur[only_in] / uu[only_in]
    s[only_out] = cc[only_out] / cr[only_out]
    both = (uu > 0) & (cc > 0)
    if both.any():
        # monic s^4 + a3 s^3 + a2 s^2 + a1 s + a0; it is -|c|^2 / |u|^2 < 0 at 0 and grows
        # without bound, so a positive real root (the cost's minimum) always exists
        a3, a1, a0 = -ur[both] / uu[both], cr[both] / uu[both], -cc[both] / uu[both]
        comp = np.zeros((both.sum(), 4, 4))
        comp[:, 1:, :3] = np.eye(3)
        comp[:, :, 3] = np.stack([-a0, -a1, np.zeros_like(a0), -a3], axis=1)
        roots = np.linalg.eigvals(comp)
        real = (np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots.real))) & (roots.real > 0)
        r = np.where(real, roots.real, 1.0)
        uu_, ur_, cc_, cr_ = (x[both][:, None] for x in (uu, ur, cc, cr))
        cost = np.where(real, uu_ * r * r - 2 * ur_ * r + cc_ / (r * r) - 2 * cr_ / r, np.inf)
        best = r[np.arange(len(r)), cost.argmin(1)]
        s[both] = np.where(np.isfinite(cost.min(1)), best, 1.0)
    return s


def _match_functions(ref: Stack, other: Stack):
    """Match every hidden layer at once on what the units compute rather than on their weights
    (`signatures` on fixed random probes, each relu unit's own scale divided out), so no layer
    has to be aligned first; units whose weights tie (compiled gadgets reused side by side)
    still differ in where their output goes, which the output derivatives see. Returns the
    per-layer costs (reused by `_match_weights`), and the moves: the optimal assignment, and
    for relu units the scale that makes their probe pre-activations as long as the reference's."""
    rng = np.random.default_rng(0)  # fixed: align is deterministic
    probes = rng.normal(size=(PROBES, ref.layers[0][0].shape[1]))
    n_out = ref.layers[-1][0].shape[0]
    mix = np.eye(n_out) if n_out <= MIX else rng.normal(size=(n_out, MIX))
    costs, perms, scales = [], [], []
    for (z_r, g_r), (z_o, g_o), (_, _, act) in zip(signatures(ref, probes, mix),
                                                 signatures(other, probes, mix), ref.layers):
        relu = act == "relu"
        fi_r, fo_r = _descriptors(z_r, g_r, relu)
        fi_o, fo_o = _descriptors(z_o, g_o, relu)
        costs.append(sqdist(fi_r, fi_o) + sqdist(fo_r, fo_o))
        _, p = linear_sum_assignment(costs[-1])
        perms.append(p)
        scales.append(_norm_ratio(z_r, z_o[p]) if relu else np.ones(len(p)))
    return costs, perms, scales


def _norm_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row, |a| / |b| (1 where either is 0): the scale that makes b's rows as long as a's."""
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    return np.where((na > 0) & (nb > 0), na / np.where(nb > 0, nb, 1.0), 1.0)


def _match_weights(ref: Stack, other: Stack, perms, scales, costs):
    """Coordinate descent on weight descriptors from the functional match: each hidden layer in
    turn, the others' moves applied, matched on incoming row + bias and outgoing column (relu:
    with the unit's own scale divided out) plus the function cost; relu units then take the
    scale that equalises incoming norms. Stops when no permutation changes.

    This fixes units that compute the same function from different weights (they read
    duplicated units of the layer before), which probes cannot tell apart. The first sweep
    leaves the outgoing columns out: if the next layer holds such a tie, matching its columns
    would make this layer swap two units in concert with it, a local minimum of the weight cost
    that later sweeps cannot leave; with the layers before already right, the incoming rows
    settle the tie instead."""
    perms, scales = list(perms), list(scales)
    for sweep in range(SWEEPS):
        moved = False
        for l, (_, _, act) in enumerate(ref.layers[:-1]):
            relu = act == "relu"
            inc_r, out_r = layer_units(ref, l)
            inc_o, out_o = moved_units(other, perms, scales, l)
            fi_r, fo_r = _descriptors(inc_r, out_r, relu)
            fi_o, fo_o = _descriptors(inc_o, out_o, relu)
            cost = sqdist(fi_r, fi_o) + costs[l]
            if sweep > 0:
                cost = cost + sqdist(fo_r, fo_o)
            _, p = linear_sum_assignment(cost)
            scales[l] = _norm_ratio(inc_r, inc_o[p]) if relu else np.ones(len(p))
            moved |= not np.array_equal(p, perms[l])
            perms[l] = p
        if not moved and sweep > 0:
            break
    return perms, scales


def _fit_scales(ref: Stack, other: Stack, perms, scales):
    """With the permutations fixed, each relu unit's scale minimises the terms of the Frobenius
    distance it touches (its row + bias and its outgoing column), layer by layer. Units of one
    layer touch disjoint terms, so this is exact coordinate descent: the distance never grows."""
    scales = list(scales)
    relu = [act == "relu" for _, _, act in ref.layers[:-1]]
    for _ in range(SWEEPS if any(relu) else 0):
        before = [s.copy() for s in scales]
        for l in range(len(relu)):
            if relu[l]:
                inc_r, out_r = layer_units(ref, l)
                inc_o, out_o = moved_units(other, perms, scales, l)
                scales[l] = _best_scales(inc_o[perms[l]], out_o[perms[l]], inc_r, out_r)
        if all(np.allclose(a, b, rtol=1e-12, atol=0) for a, b in zip(scales, before)):
            break
    return transform(other, perms, scales)


def _align_stack(ref: Stack, other: Stack) -> Stack:
    if len(ref.layers) < 2:
        return other  # no hidden units: nothing may move
    if not all(np.isfinite(W).all() and np.isfinite(b).all() for W, b, _ in other.layers):
        return other  # a diverged network: nothing to match (its distances come out nan/inf)
    costs, perms, scales = _match_functions(ref, other)
    identity = [np.arange(w) for w in ref.hidden], [np.ones(w) for w in ref.hidden]
    candidates = [_fit_scales(ref, other, perms, scales),
                  _fit_scales(ref, other, *_match_weights(ref, other, perms, scales, costs)),
                  _fit_scales(ref, other, *identity)]  # so aligning never moves `other` away
    return min(candidates, key=lambda c: weight_distance([ref], [c]))


def align(reference: list[Stack], other: list[Stack]) -> list[Stack]:
    """`other`, function unchanged, with each hidden layer's units permuted and (relu) positively
    rescaled to best match `reference`, stack by stack.

    1. Functional matching: per hidden layer, `linear_sum_assignment` on the distance between
       unit signatures computed on fixed random probe inputs (pre-activations, and the output's
       derivatives with respect to the unit), with each relu unit's own scale divided out
       ((z/|z|, g|z|) is unchanged by z -> s z, g -> g / s). Signatures are functions of the
       network, so every layer is matched at once.
    2. Weight matching: coordinate descent over the layers on the same kind of descriptor built
       from the weights (incoming row + bias, outgoing column), starting from 1.
    3. Scales: each relu unit takes the positive scale minimising its share of the Frobenius
       distance (coordinate descent, never increasing it).
    Of 1+3, 1+2+3 and 3 alone (units left in place) the result closest to `reference` is
    returned, so the distance after alignment is never larger than before. A permuted and
    rescaled copy of `reference` is mapped back onto it up to rounding (exactly, without relu
    units); step 1 alone can be fooled where units compute the same function from different
    weights (they read duplicated units), which step 2 resolves. A network with non-finite
    weights is returned as it is."""
    check_same(reference, other)
    return [_align_stack(r, o) for r, o in zip(reference, other)]


def weight_distance(a: list[Stack], b: list[Stack]) -> float:
    """Relative Frobenius distance ||a - b|| / ||a|| over every weight and bias of every stack;
    `a` is the reference. When `a` is all-zero: 0 if `b` is too, else inf."""
    check_same(a, b)
    diff = sum(float(((Wa - Wb) ** 2).sum() + ((ba - bb) ** 2).sum())
               for sa, sb in zip(a, b)
               for (Wa, ba, _), (Wb, bb, _) in zip(sa.layers, sb.layers))
    norm = sq_norm(a)
    if norm == 0:
        return 0.0 if diff == 0 else float("inf")
    return float(np.sqrt(diff / norm))


def invariant_distance(reference: list[Stack], other: list[Stack], rng: np.random.Generator, *,
                       variants: int = 8) -> dict:
    """Distance from `other` to the orbit of `reference`, independent of which member of that
    orbit was emitted: `other` is aligned to `variants` random function-equivalent copies of the
    reference (random_symmetry) and the relative distances after alignment are reported.

    Returns {"min", "mean", "max", "distances" (per variant), "aligned" (after aligning to the
    reference as given), "raw" (no alignment), "variants"}; plain floats, ready for JSON."""
    if variants < 1:
        raise ValueError("invariant_distance needs at least one variant")
    check_same(reference, other)
    dists = []
    for _ in range(variants):
        ref_v = random_symmetry(reference, rng)
        dists.append(weight_distance(ref_v, align(ref_v, other)))
    lo, hi = min(dists), max(dists)
    return {
        "min": float(lo),
        "mean": float(np.clip(np.mean(dists), lo, hi)),  # equal distances: no rounding past max
        "max": float(hi),
        "distances": [float(d) for d in dists],
        "aligned": weight_distance(reference, align(reference, other)),
        "raw": weight_distance(reference, other),
        "variants": variants,
    }
