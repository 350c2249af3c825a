"""The hidden units of a `Stack` as the matchings see them: a unit's incoming row and outgoing
column (`layer_units`, `moved_units`), what it computes on fixed probe inputs (`signatures`), and
the pairwise cost between two layers' units (`sqdist`). Shared by `align` and `canonical`,
with the probe counts and sweep cap both use."""
from __future__ import annotations

import numpy as np

from .stack import Stack, activate

# the matchings' sweeps over the hidden layers, per phase (each phase stops early when nothing
# moves)
SWEEPS = 8
# probe inputs for functional unit signatures (fixed seed: the matchings are deterministic)
PROBES = 32
# ... and at most this many random mixes of the outputs to take derivatives of (memory: probes
# x mixes x width per layer, whatever the stack's output width)
MIX = 16


def layer_units(stack: Stack, l: int) -> tuple[np.ndarray, np.ndarray]:
    """Hidden layer l's units: incoming (width, in + 1) = row and bias; outgoing (width, out)
    = the next layer's column."""
    W, b, _ = stack.layers[l]
    return np.hstack([W, b[:, None]]), stack.layers[l + 1][0].T


def sqdist(A, B) -> np.ndarray:
    """Pairwise squared Euclidean distances between the rows of A and of B, scaled by A's mean
    squared row norm so incoming and outgoing parts weigh alike."""
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * A @ B.T
    d = np.maximum(d, 0.0)
    ref = (A * A).sum(1).mean() if len(A) else 0.0
    return d / ref if ref > 0 else d


def moved_units(stack: Stack, perms, scales, l: int) -> tuple[np.ndarray, np.ndarray]:
    """`layer_units(stack, l)` once every hidden layer's move but layer l's own is applied:
    layer l's units keep their order and scale, while their incoming columns (moved by layer
    l - 1) and outgoing rows (moved by layer l + 1) are already in the reference's
    coordinates."""
    W, b, _ = stack.layers[l]
    if l > 0:
        W = W[:, perms[l - 1]] / scales[l - 1][None, :]
    nxt = stack.layers[l + 1][0]
    if l + 1 < len(perms):
        nxt = nxt[perms[l + 1]] * scales[l + 1][:, None]
    return np.hstack([W, b[:, None]]), nxt.T


def signatures(stack: Stack, probes: np.ndarray,
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
        x = activate(z, act)
    last = mix.T @ stack.layers[-1][0]
    grad = np.broadcast_to(last, (len(probes),) + last.shape)
    out = []
    for l in range(len(stack.layers) - 2, -1, -1):
        out.append((pre[l].T, grad.transpose(2, 0, 1).reshape(grad.shape[2], -1)))
        grad = (grad * slopes[l][:, None, :]) @ stack.layers[l][0]
    return out[::-1]
