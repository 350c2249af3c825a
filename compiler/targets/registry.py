"""The compile targets and the arithmetic they compile for, each registered once.

A `Target` says which program family it compiles, the activations and dtypes it builds networks
in, and where its compile function (`compile(Compilation) -> artifact`) and its runtime live.
Everything that names targets, activations, dtypes or exactness limits reads them here: the
driver (choosing a target, checking options), the CLI's choices, the weight-file reader and
schema, training, the runtime's loader, and the targets' own exactness checks.

Nothing here imports a target or a runtime (`Target.compile` imports on use), so compiling for
one target loads no other target's code, and nothing here needs numpy or torch.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Dtype:
    """A float type a network computes in: every integer of magnitude below 2^bits, and every
    sum of such, is exact in it."""
    name: str
    bits: int

    @property
    def limit(self) -> int:
        return 2 ** self.bits

    @property
    def bound(self) -> str:
        return f"2^{self.bits}"


DTYPES: dict[str, Dtype] = {d.name: d for d in (Dtype("float32", 24), Dtype("float64", 53))}
ACTIVATIONS = ("relu", "step")


@dataclass(frozen=True)
class Target:
    name: str
    family: str                    # the program family it compiles: bits, graph or seq
    activations: tuple[str, ...]
    dtypes: tuple[str, ...]
    builds: str                    # what its networks are made of, for a refused activation
    compiler: str                  # the module whose `compile(Compilation)` builds the artifact
    runtime: str                   # the module whose `build` runs its weight files
    unrolls: bool                  # one block of layers per loop iteration at the compile sizes

    def compile(self, compilation):
        return importlib.import_module(self.compiler).compile(compilation)


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("mlp", "bits", ("relu", "step"), tuple(DTYPES), "ReLU or threshold layers",
           "nclang.compiler.targets.mlp", "nclang.compiler.runtime.mlp", unrolls=True),
    # a gnn's loops are weight-tied and run at run time
    Target("gnn", "graph", ("relu",), tuple(DTYPES), "ReLU message and update MLPs",
           "nclang.compiler.targets.gnn", "nclang.compiler.runtime.gnn", unrolls=False),
    Target("transformer", "seq", ("relu",), tuple(DTYPES), "ReLU MLP blocks",
           "nclang.compiler.targets.transformer", "nclang.compiler.runtime.transformer",
           unrolls=True),
)}
NAMES = tuple(TARGETS)
# the target each program family compiles to (DESIGN.md)
OF_FAMILY: dict[str, str] = {t.family: t.name for t in TARGETS.values()}


def exact_limit(dtype: str) -> int:
    """The magnitude below which `dtype` holds every integer exactly."""
    return DTYPES[dtype].limit
