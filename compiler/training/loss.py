"""Losses that fit the output types of a program, on the raw channels a network computes.

A compiled network encodes a Boolean as 0 / 1, an integer as itself, a value that may be
infinite as (flag, value), a fraction as (numerator, denominator), a token as one-hot channels.
The losses read the same channels, so training targets the compiled encoding:

| kind           | loss                                                                       |
| -------------- | -------------------------------------------------------------------------- |
| bool, bits     | squared hinge at y = 1/2 with margin 1/2: zero once y is 0 / 1 or beyond   |
| int, index     | Huber (δ = 1) on value / scale (scale: the training targets' range, 1 for |
|                | an index or without normalisation): linear far off, quadratic near         |
| pinf, ninf     | the bool loss on the flag (finite or not) + Huber on the value where finite |
| frac           | MSE of numerator / denominator                                             |
| token          | multi-class squared hinge: the target channel above every other by 1       |

Every loss is exactly zero, with zero gradient, at the compiled network's outputs, so training
started at the compiled weights (`--init compiled --noise 0`) stays there: the stability study
then measures what noise does, not a loss that keeps pushing a sure answer further (BCE or
cross-entropy never reach zero, and Adam's normalised steps move exact weights off by several
per cent).

Each output's loss is the mean over its elements (all instances' elements together); the
total is the sum over outputs. Targets are the interpreter's values (`nclang.dsl.values` forms),
flattened as `model.Forward.raw` is: per instance, row-major, in the order given.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .model import OutputSpec

# the largest target magnitude used for a value loss: an unbounded int (an `inf` carried as a
# value) must not overflow float32
_CAP = 2.0 ** 24


def flat_targets(spec: OutputSpec, values: list) -> np.ndarray:
    """The instances' values of one output, flattened and concatenated (float64; tokens as
    vocabulary indices, -1 for one not in it)."""
    parts = []
    for v in values:
        a = np.asarray(v).reshape(-1)
        if spec.kind == "token":
            index = {t: i for i, t in enumerate(spec.vocab)}
            a = np.array([index.get(t if isinstance(t, str) else str(t), -1) for t in a],
                         dtype=np.float64)
        parts.append(a.astype(np.float64))
    return np.concatenate(parts) if parts else np.zeros(0)


def element_loss(kind: str, raw: torch.Tensor, target: np.ndarray,
                 scale: float = 1.0) -> torch.Tensor:
    """The mean loss of raw channels (elements, channels) against targets (elements,).
    `scale` divides an integer's value and its target before the Huber loss (the training
    targets' range: a distance of thousands and a count of 3 then weigh alike, and δ = 1 means
    one range, not one unit); bool, frac and token losses ignore it."""
    if raw.shape[0] == 0:
        return raw.sum() * 0.0
    t = torch.as_tensor(target, dtype=raw.dtype)
    if kind in ("bool", "bits"):
        return _hinge(raw[:, 0], t)
    if kind in ("int", "index"):
        return F.huber_loss(raw[:, 0] / scale, t.clamp(-_CAP, _CAP) / scale, delta=1.0)
    if kind in ("pinf", "ninf"):
        finite = torch.isfinite(t)
        flag = _hinge(raw[:, 0], finite.to(raw.dtype))
        if not bool(finite.any()):
            return flag
        value = F.huber_loss(raw[finite, 1] / scale, t[finite].clamp(-_CAP, _CAP) / scale,
                             delta=1.0)
        return flag + value
    if kind == "frac":
        num, den = raw[:, 0], raw[:, 1]
        # the denominator is a count (>= 1): read one near 0 or below as 1/2, not to blow up
        den = den.clamp(min=0.5)
        return F.mse_loss(num / den, t)
    if kind == "token":
        known = t >= 0
        if not bool(known.any()):
            return raw.sum() * 0.0
        y, k = raw[known], t[known].long()
        gap = 1 - (y.gather(1, k[:, None]) - y)
        gap = gap.scatter(1, k[:, None], 0.0)
        return F.relu(gap).pow(2).sum(1).mean()
    raise ValueError(f"no loss for outputs of kind {kind!r}")


def _hinge(y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Squared hinge for a 0/1 channel: (1/2 - s (y - 1/2))_+^2 with s = ±1 the target's side
    of the border 1/2: 0 at the right answer or beyond it, 1 at the wrong 0/1 answer."""
    s = 2 * t - 1
    return F.relu(0.5 - s * (y - 0.5)).pow(2).mean()


def target_scales(specs: list[OutputSpec], values: list[dict]) -> dict[str, float]:
    """Per integer output (int, pinf, ninf), the largest finite |target| in `values` (at least
    1): the range its loss is normalised by."""
    out = {}
    for spec in specs:
        if spec.kind not in ("int", "pinf", "ninf"):
            continue
        top = 1.0
        for v in values:
            if spec.name in v:
                a = np.asarray(v[spec.name], np.float64).reshape(-1)
                a = a[np.isfinite(a)]
                if a.size:
                    top = max(top, float(np.abs(a).max()))
        out[spec.name] = min(top, _CAP)
    return out


def output_loss(specs: list[OutputSpec], raw: dict[str, torch.Tensor],
                targets: list[dict], scales: dict | None = None) -> torch.Tensor:
    """The loss of a forward pass's raw outputs against the interpreter's outputs
    (`targets[i][name]` for instance i), summed over outputs."""
    total = None
    for spec in specs:
        target = flat_targets(spec, [t[spec.name] for t in targets])
        r = raw[spec.name]
        if r.shape[0] != target.shape[0]:
            raise ValueError(f"output {spec.name}: {r.shape[0]} raw elements but "
                             f"{target.shape[0]} targets")
        loss = element_loss(spec.kind, r, target, (scales or {}).get(spec.name, 1.0))
        total = loss if total is None else total + loss
    if total is None:
        raise ValueError("a program without outputs has no loss")
    return total


def trace_loss(specs: list[OutputSpec], raw_trace: list[dict[str, torch.Tensor]],
               traces: list[list[dict]], scales: dict | None = None) -> torch.Tensor:
    """Trace supervision (CLRS's hints): the mean over rounds of the loss of each carried
    variable's state after round t against the interpreter's state after its round t. A loop
    that stopped earlier (`until stable`, or a graph whose count is smaller) holds its last
    state, so round t is compared with the trace's round min(t, len - 1). A batch with an
    instance whose loop ran no rounds has no trace loss (0)."""
    kinds = {s.name: s for s in specs}
    if not raw_trace or not traces or not all(traces):
        return torch.zeros(())
    losses = []
    for t, step in enumerate(raw_trace):
        for name, r in step.items():
            spec = kinds.get(name)
            values = [tr[min(t, len(tr) - 1)].get(name) for tr in traces]
            if spec is None or any(v is None for v in values):
                continue
            target = flat_targets(spec, values)
            if r.shape[0] == target.shape[0]:
                losses.append(element_loss(spec.kind, r, target,
                                           (scales or {}).get(name, 1.0)))
    if not losses:
        return torch.zeros(())
    return torch.stack(losses).mean()
