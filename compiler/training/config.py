"""The settings of a training run (`TrainConfig`) and of a gap run (`GapConfig`), and the
protocol both `nclang train` and `nclang gap` default to (`default_train`,
`with_default_hints`), kept in one place so the two commands cannot drift apart (issue 13:
`train` kept the old protocol after `gap` moved on). Every module of a gap run reads its
settings from here, so none needs the module that runs it (`gap`) for them.

Imports no torch: the CLI builds every command's parser from these defaults, and
`check`/`compile` must not pay for torch."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

# graph families of a bare `TrainConfig` (the mix used before issue 13; library callers and
# small tests set their own). The protocol's are PROTOCOL_FAMILIES.
BARE_FAMILIES = ("er", "tree", "grid", "path")

# the protocol (issue 13, item 3): train until the validation loss stops improving (PATIENCE
# checks, one every 100 steps, without a new best) or STEPS, CLRS-like; graph programs on
# Erdős–Rényi graphs of both kinds (`er`: mean degree 3; `er-p`: p per graph as CLRS draws it),
# which keeps the share of reached nodes from being a constant's easy win; hints (the state
# after each round as a target, weight HINT_WEIGHT) where the program allows them
PROTOCOL_EXAMPLES = 1000
PROTOCOL_STEPS = 5000
PROTOCOL_PATIENCE = 5
PROTOCOL_FAMILIES = ("er", "er-p")
HINT_WEIGHT = 1.0


@dataclass(frozen=True)
class TrainConfig:
    examples: int = 1000          # training inputs drawn (then batches are drawn from them)
    steps: int = 400
    batch: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.0
    seed: int = 0                 # data and batch order
    n_range: tuple[int, int] = (4, 16)   # graph node counts / sequence lengths (CLRS: n <= 16)
    families: tuple[str, ...] = BARE_FAMILIES
    trace_weight: float = 0.0     # > 0: trace supervision (CLRS hints), per-round state loss
    sizes: dict | None = field(default=None, hash=False)   # bits/seq programs: k, n
    # early stopping: with patience > 0, the validation loss (val_examples inputs drawn apart
    # from the training ones) is measured every val_every steps; training stops after
    # `patience` measurements without a new best, and the best weights are kept. `steps` is
    # then the cap. patience 0: exactly `steps` steps, the last weights.
    patience: int = 0
    val_every: int = 100
    val_examples: int = 64
    # integer targets (and states, with hints) divided by their proved range at the largest
    # training sizes (`scales.design_scales`; the data's range where the analysis has no finite
    # bound), so a loss of thousands does not swamp the rest
    normalise: bool = True


def default_train() -> TrainConfig:
    """The protocol's training settings: what `nclang train` and `nclang gap` run with no
    options (hints are added per program by `with_default_hints`)."""
    return TrainConfig(examples=PROTOCOL_EXAMPLES, steps=PROTOCOL_STEPS,
                       patience=PROTOCOL_PATIENCE, families=PROTOCOL_FAMILIES)


def hints_allowed(trainable) -> bool:
    """Trace supervision needs one per-round state to fit: a gnn with exactly one loop."""
    return trainable.family == "gnn" and trainable.loops() == 1


def with_default_hints(config: TrainConfig, trainable, hints: bool = True) -> TrainConfig:
    """`config` with hints at HINT_WEIGHT when `hints` is on, none were asked for explicitly
    (trace_weight 0) and the program allows them; otherwise `config` unchanged."""
    if hints and config.trace_weight == 0 and hints_allowed(trainable):
        return dataclasses.replace(config, trace_weight=HINT_WEIGHT)
    return config


@dataclass(frozen=True)
class GapConfig:
    seeds: int = 5
    train: TrainConfig = field(default_factory=default_train)
    eval_sizes: tuple[int, ...] = (16, 64, 256)
    # inputs per eval size and family: 400 keeps a 95 % interval of an exact-match share
    # under 10 points (2 · 1.96 · sqrt(.25 / 400) = 9.8); pair programs get fewer above
    # n = 64 (see `subject.eval_points`), and the report says how many
    eval_examples: int = 400
    # graph programs: the families scored, each on its own (None: the training families)
    eval_families: tuple[str, ...] | None = None
    # trace supervision (CLRS hints) where the program allows it (a gnn with one loop), with
    # weight 1, unless train.trace_weight is set; False: off (`--no-hints`)
    hints: bool = True
    noise: tuple[float, ...] = (0.0, 0.01, 0.1)
    variants: int = 8
    # inputs (at the training size) for faithfulness and hidden-state similarity
    similarity_examples: int = 16
    # the step cap of each stability run (None: train.steps); early stopping applies as in
    # training, and a run from exact weights stops at once (its loss is 0)
    stability_steps: int | None = 1000
