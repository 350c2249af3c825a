"""The transformer plan's data: the residual-stream slots, the tasks that write them (MLP
gadgets and attention heads), the artifact they assemble into, and the target's constants.
Shared by every step of the target, so it imports none of them."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nclang.compiler import gadgets as G
from nclang.dsl.diagnostics import NclError

LAMBDA = 1024              # score units per unit of margin: exp(-1024) is 0 in float32 and float64
TABLE_LIMIT = 1 << 14      # grid points one fused MLP gadget may enumerate
NUMERIC_EQ_MIN = 8         # equality of values with wider domains uses -(k - q)^2 scores
MAX_DISJUNCTS = 3          # inclusion-exclusion over at most this many disjuncts (2^d - 1 heads)
ATTENTION_MARGIN = "attention-margin"
DEFAULT_EXTRA_TOKENS = ("a", "b", "z")


@dataclass
class TransformerArtifact:
    tensors: dict[str, np.ndarray]
    architecture: dict
    encodings: dict


@dataclass(eq=False)
class Slot:
    """A value in the residual stream: `width` channels; `domain` the values it takes (a one-hot
    slot: the value of each channel; a numeric slot: every integer it may hold)."""
    name: str
    width: int
    onehot: bool
    domain: tuple
    writer: object = None
    readers: list = field(default_factory=list)
    channels: list[int] = field(default_factory=list)
    keep: bool = False  # an output, or an embedding slot: never cleared
    write_at: int = -1
    free_at: int | None = None

    @property
    def lo(self):
        return min(self.domain)

    @property
    def hi(self):
        return max(self.domain)


@dataclass(eq=False)
class MLPTask:
    """dest = block(inputs): the block's input vector is the inputs' channels concatenated."""
    inputs: list[Slot]
    block: G.Block
    dest: Slot
    what: str
    at: int = -1
    copy_back: bool = False  # writes a loop's next value into its carried slot (not its writer)
    fill: object = None      # builds `block` from the BOS row's state before the block runs


@dataclass(eq=False)
class Head:
    """One attention head. q/k: per score feature, (slot, channel offset, weight) terms; the
    score of key j for query i is LAMBDA * sum_f q_f(i) k_f(j), causal masks aside. v: per value
    dimension, (slot, offset, weight) terms. dest receives the head's output, dimension by
    dimension."""
    q: list[list[tuple[Slot, int, float]]]
    k: list[list[tuple[Slot, int, float]]]
    v: list[list[tuple[Slot, int, float]]]
    dest: Slot
    mask: str | None
    what: str
    at: int = -1

    @property
    def inputs(self) -> list[Slot]:
        seen = []
        for feats in (self.q, self.k, self.v):
            for terms in feats:
                for s, _, _ in terms:
                    if s not in seen:
                        seen.append(s)
        return seen


def _unsupported(span, what: str) -> NclError:
    return NclError.at(span, "transformer-unsupported", f"the transformer target cannot compile "
                                                         f"{what}")


def _magnitude(s: Slot) -> int:
    return 1 if s.onehot else max(abs(s.lo), abs(s.hi))
