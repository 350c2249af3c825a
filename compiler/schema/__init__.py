"""The schema of a weight file's metadata (docs/weights.md), checked on write and on every read.

A weight file is data from anywhere. `check` is built from what the readers take out of it —
the runtimes (`nclang.compiler.runtime.*`), `nclang inspect` (`nclang.compiler.inspect`) and
training (`nclang.compiler.training.model`) — so that a file that passes never makes one of them
fail with a KeyError, TypeError or IndexError: every key they index is present with the type they
use, every value id an instruction reads is defined before it, every stage index and tensor a
runtime takes exists with the shape it multiplies by, and every size formula is in the closed
grammar of `nclang.compiler.formula` over the size variables its runtime supplies. Each problem is
one sentence, for a `bad-weights` diagnostic; `check` returns all of them (or, where one problem
makes the rest meaningless, the ones found so far).

No torch here: `nclang inspect` and `nclang compile` stay cold.

The package: `common` (what every file must have), then one module per target: `mlp`, `gnn`,
`transformer`; `check` here picks the target's checks.
"""
from __future__ import annotations

from .common import (RUN_DTYPES, TARGETS, TENSOR_DTYPES, _analysis, _encodings, _options, _sizes,
                     _tensors, _top)
from .gnn import _gnn
from .mlp import _mlp
from .transformer import _transformer

__all__ = ["RUN_DTYPES", "TARGETS", "TENSOR_DTYPES", "check"]


def check(meta: dict, tensors: dict) -> list[str]:
    """Every problem with parsed metadata `meta` (all keys present) and the tensors (name ->
    numpy array) it describes."""
    p = _top(meta)
    if p:
        return p
    p = _tensors(meta["architecture"], tensors)
    p += _encodings(meta["encodings"])
    p += _analysis(meta["analysis"]) + _options(meta["options"])
    if p:
        return p
    arch = meta["architecture"]
    family = arch.get("family")
    if family != meta["target"]:
        return [f"architecture family {family!r} does not match target {meta['target']!r}"]
    if arch.get("dtype", "float32") not in RUN_DTYPES:
        return [f"architecture dtype {arch.get('dtype')!r}; one of {', '.join(RUN_DTYPES)}"]
    if not _sizes(arch.get("sizes", {})):
        return ["architecture 'sizes' must map size names to positive integers"]
    if "readout" in meta["encodings"] and meta["encodings"]["readout"] not in ("exact",
                                                                               "nearest"):
        return ["encodings 'readout' must be \"exact\" or \"nearest\""]
    want = {"mlp": "bits", "gnn": "graph", "transformer": "seq"}[family]
    if meta["encodings"].get("family", want) != want:
        # the JSON codec reads inputs by this family: a gnn fed bits input has no graph
        return [f"encodings family {meta['encodings']['family']!r}; a {family} file reads "
                f"{want!r} input"]
    return {"mlp": _mlp, "gnn": _gnn, "transformer": _transformer}[family](meta, tensors)
