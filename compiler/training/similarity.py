"""Comparing two networks of the same architecture: hidden-state similarity and weight distance
up to the symmetries that leave a network's function unchanged.

Why alignment is needed. The hidden units of an MLP can be permuted (rows of W_l and b_l, and
the same permutation on the columns of W_{l+1}) without changing the function, and a ReLU unit
can also be rescaled by any s > 0 (its row of W_l and b_l times s, its column of W_{l+1} divided
by s) because relu(s z) = s relu(z). So "the" compiled network is one point of a whole orbit of
networks that compute the same function, and the raw weight distance between a trained net and
that one point measures mostly which point the compiler happened to emit. Here:

- `Stack` is one MLP whose inputs and outputs are wired to the rest of the net (the whole net of
  the mlp target, one GNN stage, one transformer MLP block); only its hidden units (the outputs
  of every layer but the last) may be moved, so each stack's symmetries are handled on their own.
- `random_symmetry` draws another point of the orbit: per hidden layer a random permutation and,
  for relu layers only, per-unit scales. step and id units are permuted, never rescaled (a step
  unit would also tolerate an uncompensated positive scale of its incoming row; that symmetry
  is left out, so relu's is the only rescaling). The scales are powers of two, so the variant
  computes bit-identical floating-point results (an exact compiled net stays exact: a step
  threshold sitting exactly at 0 downstream cannot flip).
- `align` moves `other` along its orbit to best match `reference`: per hidden layer an optimal
  assignment (`scipy.optimize.linear_sum_assignment`) between units, first on what they compute
  (probe activations and output derivatives), then refined on their weights; then per relu
  unit the positive scale minimising that unit's share of the Frobenius distance. A permuted
  and rescaled copy is mapped back onto the original up to rounding, compiled nets included
  (whose reused gadgets give many units identical incoming weights).
- `weight_distance` is the relative Frobenius distance ||a - b|| / ||a|| over every W and b of
  every stack (a is the reference).
- `invariant_distance` aligns `other` to several random variants of the reference and reports
  the distances after alignment (min / mean / max). Permutations are isometries but rescalings
  are not, so the aligned distance depends on which variant is called the reference; the min
  over variants is the number that does not favour the compiler's own choice, and the spread
  says how much that choice matters.
- `linear_cka` (Kornblith et al. 2019) compares hidden states (rows = the same inputs in the
  same order). It is invariant to orthogonal maps and isotropic scaling of either side, hence to
  unit permutations, but not to per-unit rescaling; that is why weight distances are reported
  after explicit alignment rather than through CKA alone.

numpy and scipy only: the trainable networks hand their weights over as `Stack`s of arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

ACTS = ("relu", "step", "id")
# random_symmetry's relu scales are 2**k for k in this range: wide enough to move weights far
# from the reference, and exact in binary floating point.
_LOG2_SCALE = 2
# align's sweeps over the hidden layers, per phase (each phase stops early when nothing moves)
_SWEEPS = 8
# align's probe inputs for functional unit signatures (fixed seed: align is deterministic)
_PROBES = 32
# ... and at most this many random mixes of the outputs to take derivatives of (memory: probes
# x mixes x width per layer, whatever the stack's output width)
_MIX = 16


@dataclass(frozen=True, eq=False)  # eq=False: fields are arrays, elementwise == has no truth value
class Stack:
    """One MLP: the compiled net's whole MLP, one GNN stage, or one transformer MLP block.

    `layers` are (W (out, in), b (out,), act) with act in ACTS (step(0) = 1, as the runtimes).
    Hidden units are the outputs of every layer but the last; the stack's inputs and outputs
    are wired to the rest of the net, so only hidden units may be permuted or rescaled.
    Arrays are stored as read-only float64 copies (alignment is done in double precision)."""

    name: str
    layers: tuple[tuple[np.ndarray, np.ndarray, str], ...]

    def __post_init__(self):
        layers = []
        for i, (W, b, act) in enumerate(self.layers):
            W = np.array(W, dtype=np.float64)
            b = np.array(b, dtype=np.float64)
            if W.ndim != 2 or b.shape != (W.shape[0],):
                raise ValueError(f"stack {self.name!r} layer {i}: W {W.shape} and b {b.shape} "
                                 "are not (out, in) and (out,)")
            if act not in ACTS:
                raise ValueError(f"stack {self.name!r} layer {i}: unknown activation {act!r}")
            if layers and W.shape[1] != layers[-1][0].shape[0]:
                raise ValueError(f"stack {self.name!r} layer {i}: {W.shape[1]} inputs after "
                                 f"{layers[-1][0].shape[0]} outputs")
            W.setflags(write=False)
            b.setflags(write=False)
            layers.append((W, b, act))
        object.__setattr__(self, "layers", tuple(layers))

    @property
    def hidden(self) -> list[int]:
        """Widths of the hidden layers (every layer but the last)."""
        return [W.shape[0] for W, _, _ in self.layers[:-1]]


def _act(z: np.ndarray, act: str) -> np.ndarray:
    if act == "relu":
        return np.maximum(z, 0.0)
    if act == "step":
        return (z >= 0).astype(z.dtype)
    return z


def hidden_states(stack: Stack, X) -> list[np.ndarray]:
    """Post-activation states of every layer of `stack` on inputs X (rows, in): the hidden
    layers' states, then the output. float64."""
    x = np.asarray(X, dtype=np.float64)
    states = []
    for W, b, act in stack.layers:
        x = _act(x @ W.T + b, act)
        states.append(x)
    return states


def forward_stack(stack: Stack, X) -> np.ndarray:
    """The stack's output on inputs X (rows, in), float64."""
    return hidden_states(stack, X)[-1]


# ---------------------------------------------------------------- hidden-state similarity

def linear_cka(X, Y) -> float:
    """Centred linear CKA between X (rows, p) and Y (rows, q), rows the same inputs:
    ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F). 1 for X vs X; invariant to orthogonal maps
    and isotropic scaling of either side. A side that is constant over the rows carries no
    information: CKA is then 1 if both are constant, else 0 (defined, so reports stay finite).
    NaN when either side has a non-finite entry (a diverged network)."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"linear_cka needs (rows, p) and (rows, q) arrays, got {X.shape} "
                         f"and {Y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        return float("nan")
    # a side whose centred norm is rounding noise relative to its raw norm is constant
    cx = np.linalg.norm(X - X.mean(axis=0)) > 1e-10 * np.linalg.norm(X)
    cy = np.linalg.norm(Y - Y.mean(axis=0)) > 1e-10 * np.linalg.norm(Y)
    if not (cx and cy):
        return 1.0 if not (cx or cy) else 0.0
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    X, Y = X / np.linalg.norm(X), Y / np.linalg.norm(Y)  # scale-free; keeps products in range
    if X.shape[0] <= max(X.shape[1], Y.shape[1]):
        K, L = X @ X.T, Y @ Y.T  # Gram form: cheaper when there are fewer rows than units
        num, dx, dy = np.sum(K * L), np.linalg.norm(K), np.linalg.norm(L)
    else:
        num = np.linalg.norm(Y.T @ X) ** 2
        dx, dy = np.linalg.norm(X.T @ X), np.linalg.norm(Y.T @ Y)
    return float(min(1.0, max(0.0, num / (dx * dy))))


# ---------------------------------------------------------------- symmetries

def _transform(stack: Stack, perms: list[np.ndarray], scales: list[np.ndarray]) -> Stack:
    """Apply per hidden layer l: new unit i = old unit perms[l][i], scaled by scales[l][i]
    (its incoming row and bias times s, its outgoing column divided by s)."""
    layers = [[W.copy(), b.copy(), act] for W, b, act in stack.layers]
    for l, (p, s) in enumerate(zip(perms, scales)):
        W, b, _ = layers[l]
        layers[l][0] = W[p] * s[:, None]
        layers[l][1] = b[p] * s
        layers[l + 1][0] = layers[l + 1][0][:, p] / s[None, :]
    return Stack(stack.name, tuple((W, b, act) for W, b, act in layers))


def _check_same(a: list[Stack], b: list[Stack]) -> None:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} stacks vs {len(b)}: not the same architecture")
    for x, y in zip(a, b):
        shapes = lambda s: [(W.shape, act) for W, _, act in s.layers]  # noqa: E731
        if x.name != y.name or shapes(x) != shapes(y):
            raise ValueError(f"stack {x.name!r} {shapes(x)} vs {y.name!r} {shapes(y)}: "
                             "not the same architecture")


def random_symmetry(stacks: list[Stack], rng: np.random.Generator, *,
                    rescale: bool = True) -> list[Stack]:
    """A function-equivalent copy of `stacks`: per hidden layer a random permutation of the
    units and, for relu layers when `rescale`, a positive per-unit scale 2**k, k uniform in
    [-2, 2] (powers of two: the copy's floating-point results are bit-identical)."""
    out = []
    for stack in stacks:
        perms, scales = [], []
        for W, _, act in stack.layers[:-1]:
            width = W.shape[0]
            perms.append(rng.permutation(width))
            if rescale and act == "relu":
                k = rng.integers(-_LOG2_SCALE, _LOG2_SCALE + 1, width)
                scales.append(np.exp2(k).astype(np.float64))
            else:
                scales.append(np.ones(width))
        out.append(_transform(stack, perms, scales))
    return out


# ---------------------------------------------------------------- alignment

def _units(stack: Stack, l: int) -> tuple[np.ndarray, np.ndarray]:
    """Hidden layer l's units: incoming (width, in + 1) = row and bias; outgoing (width, out)
    = the next layer's column."""
    W, b, _ = stack.layers[l]
    return np.hstack([W, b[:, None]]), stack.layers[l + 1][0].T


def _descriptors(inc, out, relu: bool):
    """Per unit, features unchanged by the layer's own symmetry: for relu (u/|u|, c|u|) is
    invariant under u -> s u, c -> c / s; step and id units are not rescaled, so raw (u, c)."""
    if not relu:
        return inc, out
    norm = np.linalg.norm(inc, axis=1, keepdims=True)
    return np.divide(inc, norm, out=np.zeros_like(inc), where=norm > 0), out * norm


def _sqdist(A, B) -> np.ndarray:
    """Pairwise squared Euclidean distances between the rows of A and of B, scaled by A's mean
    squared row norm so incoming and outgoing parts weigh alike."""
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T
    d = np.maximum(d, 0.0)
    ref = (A * A).sum(1).mean() if len(A) else 0.0
    return d / ref if ref > 0 else d


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


def _moved_units(stack: Stack, perms, scales, l: int) -> tuple[np.ndarray, np.ndarray]:
    """`_units(stack, l)` once every hidden layer's move but layer l's own is applied: layer l's
    units keep their order and scale, while their incoming columns (moved by layer l - 1) and
    outgoing rows (moved by layer l + 1) are already in the reference's coordinates."""
    W, b, _ = stack.layers[l]
    if l > 0:
        W = W[:, perms[l - 1]] / scales[l - 1][None, :]
    nxt = stack.layers[l + 1][0]
    if l + 1 < len(perms):
        nxt = nxt[perms[l + 1]] * scales[l + 1][:, None]
    return np.hstack([W, b[:, None]]), nxt.T


def _signatures(stack: Stack, probes: np.ndarray,
                mix: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per hidden layer, per unit: its pre-activation on the probe inputs (width, P), and the
    derivative of a fixed random mix of the stack's output pre-activations (`mix`, (out, r))
    with respect to the unit's output on each probe (width, P * r; relu masks on the way back,
    step and id passed straight through). Both are functions of the network, so the other
    layers' permutations and scales cannot change them; the unit's own scale s multiplies the
    first and divides the second."""
    x, pre, slopes = probes, [], []
    for W, b, act in stack.layers:
        z = x @ W.T + b
        pre.append(z)
        slopes.append((z > 0).astype(float) if act == "relu" else np.ones_like(z))
        x = _act(z, act)
    last = mix.T @ stack.layers[-1][0]
    grad = np.broadcast_to(last, (len(probes),) + last.shape)
    out = []
    for l in range(len(stack.layers) - 2, -1, -1):
        out.append((pre[l].T, grad.transpose(2, 0, 1).reshape(grad.shape[2], -1)))
        grad = (grad * slopes[l][:, None, :]) @ stack.layers[l][0]
    return out[::-1]


def _match_functions(ref: Stack, other: Stack):
    """Match every hidden layer at once on what the units compute rather than on their weights
    (`_signatures` on fixed random probes, each relu unit's own scale divided out), so no layer
    has to be aligned first; units whose weights tie (compiled gadgets reused side by side)
    still differ in where their output goes, which the output derivatives see. Returns the
    per-layer costs (reused by `_match_weights`), and the moves: the optimal assignment, and
    for relu units the scale that makes their probe pre-activations as long as the reference's."""
    rng = np.random.default_rng(0)  # fixed: align is deterministic
    probes = rng.normal(size=(_PROBES, ref.layers[0][0].shape[1]))
    n_out = ref.layers[-1][0].shape[0]
    mix = np.eye(n_out) if n_out <= _MIX else rng.normal(size=(n_out, _MIX))
    costs, perms, scales = [], [], []
    for (z_r, g_r), (z_o, g_o), (_, _, act) in zip(_signatures(ref, probes, mix),
                                                 _signatures(other, probes, mix), ref.layers):
        relu = act == "relu"
        fi_r, fo_r = _descriptors(z_r, g_r, relu)
        fi_o, fo_o = _descriptors(z_o, g_o, relu)
        costs.append(_sqdist(fi_r, fi_o) + _sqdist(fo_r, fo_o))
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
    for sweep in range(_SWEEPS):
        moved = False
        for l, (_, _, act) in enumerate(ref.layers[:-1]):
            relu = act == "relu"
            inc_r, out_r = _units(ref, l)
            inc_o, out_o = _moved_units(other, perms, scales, l)
            fi_r, fo_r = _descriptors(inc_r, out_r, relu)
            fi_o, fo_o = _descriptors(inc_o, out_o, relu)
            cost = _sqdist(fi_r, fi_o) + costs[l]
            if sweep > 0:
                cost = cost + _sqdist(fo_r, fo_o)
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
    for _ in range(_SWEEPS if any(relu) else 0):
        before = [s.copy() for s in scales]
        for l in range(len(relu)):
            if relu[l]:
                inc_r, out_r = _units(ref, l)
                inc_o, out_o = _moved_units(other, perms, scales, l)
                scales[l] = _best_scales(inc_o[perms[l]], out_o[perms[l]], inc_r, out_r)
        if all(np.allclose(a, b, rtol=1e-12, atol=0) for a, b in zip(scales, before)):
            break
    return _transform(other, perms, scales)


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
    _check_same(reference, other)
    return [_align_stack(r, o) for r, o in zip(reference, other)]


# ---------------------------------------------------------------- distances

def _sq(stacks) -> float:
    return sum(float((W * W).sum() + (b * b).sum()) for s in stacks for W, b, _ in s.layers)


def weight_distance(a: list[Stack], b: list[Stack]) -> float:
    """Relative Frobenius distance ||a - b|| / ||a|| over every weight and bias of every stack;
    `a` is the reference. When `a` is all-zero: 0 if `b` is too, else inf."""
    _check_same(a, b)
    diff = sum(float(((Wa - Wb) ** 2).sum() + ((ba - bb) ** 2).sum())
               for sa, sb in zip(a, b)
               for (Wa, ba, _), (Wb, bb, _) in zip(sa.layers, sb.layers))
    norm = _sq(a)
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
    _check_same(reference, other)
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
    probes = rng.normal(size=(_PROBES, stack.layers[0][0].shape[1]))
    n_out = stack.layers[-1][0].shape[0]
    mix = np.eye(n_out) if n_out <= _MIX else rng.normal(size=(n_out, _MIX))
    perms = []
    for z, g in _signatures(stack, probes, mix):
        key = np.hstack([z, g])
        scale = np.abs(key).max() if key.size else 1.0
        key = np.round(key / (scale or 1.0), 9)
        perms.append(np.lexsort(key.T[::-1]))
    return _transform(stack, perms, [np.ones(len(p)) for p in perms])


def _permute_only(ref: Stack, other: Stack) -> Stack:
    """`other` (canonical) with its hidden units permuted to match `ref` (canonical)."""
    if len(ref.layers) < 2:
        return other
    if not all(np.isfinite(W).all() and np.isfinite(b).all() for W, b, _ in other.layers):
        return other
    rng = np.random.default_rng(0)  # fixed probes: the match is a function of the two nets
    probes = rng.normal(size=(_PROBES, ref.layers[0][0].shape[1]))
    n_out = ref.layers[-1][0].shape[0]
    mix = np.eye(n_out) if n_out <= _MIX else rng.normal(size=(n_out, _MIX))
    costs, perms = [], []
    for (z_r, g_r), (z_o, g_o) in zip(_signatures(ref, probes, mix),
                                      _signatures(other, probes, mix)):
        costs.append(_sqdist(z_r, z_o) + _sqdist(g_r, g_o))
        perms.append(linear_sum_assignment(costs[-1])[1])
    ones = [np.ones(w) for w in ref.hidden]
    for sweep in range(_SWEEPS):
        moved = False
        for l in range(len(ref.hidden)):
            inc_r, out_r = _units(ref, l)
            inc_o, out_o = _moved_units(other, perms, ones, l)
            cost = _sqdist(inc_r, inc_o) + _sqdist(out_r, out_o) + costs[l]
            p = linear_sum_assignment(cost)[1]
            moved |= not np.array_equal(p, perms[l])
            perms[l] = p
        if not moved:
            break
    return _transform(other, perms, ones)


def _sq_diff(a: list[Stack], b: list[Stack]) -> float:
    return sum(float(((Wa - Wb) ** 2).sum() + ((ba - bb) ** 2).sum())
               for sa, sb in zip(a, b) for (Wa, ba, _), (Wb, bb, _) in zip(sa.layers, sb.layers))


def canonical_distance(a: list[Stack], b: list[Stack]) -> float:
    """Distance between two networks of one architecture, symmetric and invariant to the
    function-preserving permutations and positive relu rescalings of either:
    sqrt(min over the two matching directions of ||ca - P cb||² / ((||ca||² + ||cb||²) / 2)),
    ca and cb the canonical forms. 0 for a net and a symmetric copy of it; about sqrt(2) for
    two unrelated nets of similar size; 0 when both are all-zero."""
    _check_same(a, b)
    ca = [_ordered(_quantised(x)) for x in canonical(a)]
    cb = [_ordered(_quantised(x)) for x in canonical(b)]
    ab = _sq_diff(ca, [_permute_only(r, o) for r, o in zip(ca, cb)])
    ba = _sq_diff(cb, [_permute_only(r, o) for r, o in zip(cb, ca)])
    norm = (_sq(ca) + _sq(cb)) / 2
    if not np.isfinite(ab) or not np.isfinite(ba) or not np.isfinite(norm):
        return float("nan")
    if norm == 0:
        return 0.0
    return float(np.sqrt(min(ab, ba) / norm))


def unit_cka(X, Y) -> float:
    """Linear CKA after scaling every unit (column) of X and of Y to unit rms over the rows:
    invariant to permutations and positive (or any nonzero) per-unit scales of either side, so 1
    between a network's hidden states and those of a function-equivalent copy. Columns constant
    over the rows are dropped (after centring they carry nothing); see `linear_cka`."""
    def standard(Z):
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2:
            raise ValueError(f"unit_cka needs (rows, units) arrays, got {Z.shape}")
        if not np.isfinite(Z).all():
            return Z
        Z = Z - Z.mean(axis=0)
        rms = np.sqrt((Z * Z).mean(axis=0))
        keep = rms > 1e-12 * max(float(rms.max(initial=0.0)), 1e-300)
        return Z[:, keep] / rms[keep]
    Xs, Ys = standard(X), standard(Y)
    if Xs.shape[1] == 0 or Ys.shape[1] == 0:
        return 1.0 if Xs.shape[1] == Ys.shape[1] else 0.0
    return linear_cka(Xs, Ys)


def raw_distance(a: list[Stack], b: list[Stack]) -> float:
    """||a - b|| / sqrt((||a||² + ||b||²) / 2) over every weight and bias, no alignment:
    symmetric, but not invariant (the "unaligned" column)."""
    _check_same(a, b)
    norm = (_sq(a) + _sq(b)) / 2
    diff = _sq_diff(a, b)
    if not np.isfinite(diff) or not np.isfinite(norm):
        return float("nan")
    return 0.0 if norm == 0 else float(np.sqrt(diff / norm))
