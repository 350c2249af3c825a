"""`Stack`, one MLP of a network as numpy arrays, how it computes, and the symmetries that
leave its function unchanged: per hidden layer a permutation of the units and, for relu units,
positive per-unit scales (`transform`, `random_symmetry`); the squared norms the distances
are built from."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTS = ("relu", "step", "id")
# random_symmetry's relu scales are 2**k for k in this range: wide enough to move weights far
# from the reference, and exact in binary floating point.
_LOG2_SCALE = 2


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


def activate(z: np.ndarray, act: str) -> np.ndarray:
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
        x = activate(x @ W.T + b, act)
        states.append(x)
    return states


def forward_stack(stack: Stack, X) -> np.ndarray:
    """The stack's output on inputs X (rows, in), float64."""
    return hidden_states(stack, X)[-1]


def transform(stack: Stack, perms: list[np.ndarray], scales: list[np.ndarray]) -> Stack:
    """Apply per hidden layer l: new unit i = old unit perms[l][i], scaled by scales[l][i]
    (its incoming row and bias times s, its outgoing column divided by s)."""
    layers = [[W.copy(), b.copy(), act] for W, b, act in stack.layers]
    for l, (p, s) in enumerate(zip(perms, scales)):
        W, b, _ = layers[l]
        layers[l][0] = W[p] * s[:, None]
        layers[l][1] = b[p] * s
        layers[l + 1][0] = layers[l + 1][0][:, p] / s[None, :]
    return Stack(stack.name, tuple((W, b, act) for W, b, act in layers))


def check_same(a: list[Stack], b: list[Stack]) -> None:
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
        out.append(transform(stack, perms, scales))
    return out


def sq_norm(stacks) -> float:
    """The squared Frobenius norm of every weight and bias of `stacks`."""
    return sum(float((W * W).sum() + (b * b).sum()) for s in stacks for W, b, _ in s.layers)


def sq_diff(a: list[Stack], b: list[Stack]) -> float:
    """The squared Frobenius norm of a - b over every weight and bias (same architecture)."""
    return sum(float(((Wa - Wb) ** 2).sum() + ((ba - bb) ** 2).sum())
               for sa, sb in zip(a, b) for (Wa, ba, _), (Wb, bb, _) in zip(sa.layers, sb.layers))
