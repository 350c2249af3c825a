"""The transformer target: a sequence program → an exact decoder-style transformer for every
length 1..n (n from `--size n=N`, the maximum length).

The network reads a beginning-of-sequence (BOS) row and one row per token; its residual stream
holds the program's values, one slot (a set of channels) per value: a number in one channel
(integers, booleans as 0/1, positions), or a one-hot code over a finite domain (tokens). Values
on the global domain `()` are held at every row alike and read at the BOS row.

Lowering (docs/weights.md, "transformer"):
- position-local expressions are fused over their leaves (inputs, positions, aggregates, gathers)
  and computed by one MLP gadget from `nclang.compiler.gadgets` (`table`, or a linear map of a
  one-hot code);
- an aggregation over positions is one attention head. Its condition is split into atoms, each
  comparing a key-side and a query-side expression; an atom adds 1 to the score when it holds
  (one-hot × indicator features) or, for equality of wide numbers, -(k - q)^2 + q^2. The selected
  keys then share the maximal score, every other key is at least 1 lower, and the scores are
  scaled by LAMBDA = 1024: softmax gives each selected key exactly 1/(c+1) (the BOS row is
  selected with them) and every other key exp(-1024) = 0 in float32 and float64 alike.
  `count`/`sum`/`mean`/`only`/`any`/`all` average their values with the BOS row's and decode the
  integer with `gadgets.ratio_decoder`; `argmax`/`argmin`/`max`/`min` and gathers `x[f(i)]`
  select one key exactly and copy its value. `j <= i`-style atoms are causal masks.
  A disjunction is split by inclusion-exclusion (count(p or q) = count(p) + count(q) -
  count(p and q)).
- `mean` results are (sum, count) integer pairs; the runtime divides once in float64, which is
  the interpreter's correctly rounded ratio.
- the residual stream is allocated with liveness (`residual`): a slot is
  cleared (an MLP writes -x) after its last reader and its channels are reused.

Refusals: an attention score that float32 (float64) cannot hold exactly, an average whose
decoding margin the rounding could eat, and IR this target does not map (a repeat inside a
repeat, a frac used inside the program, a condition mixing both sides inside arithmetic) are
NclErrors at the span.

`mlp_layers` (`--mlp-layers K`) caps every block's MLP at K hidden layers by splitting deeper
ones over blocks without heads (`mlp_split`), for frameworks with a fixed block shape.

`repeat SIZE { … }` compiles to weight-tied blocks: the body is one range of blocks, stored once,
that the runtime runs SIZE times (evaluated exactly from each input's length); the carried
variables keep fixed slots (`loop`, and architecture["loops"]).

No torch here: compiling needs numpy only.

The package, one step per module: `tasks` plans what each construct needs (slots, MLP tasks,
heads) with its two mixins `fusion` (position-local MLP gadgets) and `attention` (heads);
`residual` schedules the tasks into blocks and allocates channels; `assembly` turns the
scheduled plan into weight tensors and metadata. `slots` holds the data they share. This module
is the entry point: plan → assemble → self-check, from the driver's `Compilation`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import sympy

from nclang.compiler.lower import lower
from nclang.dsl import ast as A
from nclang.dsl.diagnostics import NclError

from .assembly import assemble
from .mlp_split import split_mlps
from .slots import DEFAULT_EXTRA_TOKENS, TransformerArtifact
from .tasks import TransformerPlanner, _folds_as_attention

if TYPE_CHECKING:
    from nclang.compiler.compilation import Compilation

__all__ = ["TransformerArtifact", "block_count", "compile", "compile_transformer",
           "default_vocabulary"]


def compile_transformer(checked, sizes: dict[str, int], activation: str = "relu",
                        dtype: str = "float32", vocab: tuple[str, ...] | None = None,
                        self_check: bool = True, all_refusals: bool = False,
                        mlp_layers: int | None = None) -> TransformerArtifact:
    """`compile` of `checked` on its own, for this target's tests and tools: the program is
    lowered and analysed here (`compilation.standalone`), without the driver's refusals."""
    from nclang.compiler.compilation import standalone
    return standalone("transformer", checked, sizes, activation, dtype,
                      vocab=tuple(vocab) if vocab else None, self_check=self_check,
                      all_refusals=all_refusals, mlp_layers=mlp_layers)


def compile(c: Compilation) -> TransformerArtifact:
    """The exact transformer of a sequence program for every length 1..sizes["n"], from the
    driver's lowering; with `c.options.self_check`, first run on the boundary inputs against
    the interpreter (`verify`). With `all_refusals` (`nclang check --target transformer`),
    every construct it cannot compile is reported in one NclError, not just the first."""
    checked, dtype = c.checked, c.options.dtype
    p = checked.program
    n = c.sizes.get("n")
    if n is None:
        raise NclError.at(p.name_span, "missing-size",
                          "the transformer target needs the maximum length: pass --size n=N")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise NclError.at(p.name_span, "bad-size", f"size n must be a positive integer, got {n!r}")
    vocab = c.options.vocab or default_vocabulary(checked)
    b = _plan(checked, c.program, n, dtype, vocab, c.options.all_refusals)
    art = assemble(b)
    if c.options.mlp_layers is not None:
        art = split_mlps(art, c.options.mlp_layers)
    if c.options.self_check:
        from ..verify import verify_transformer
        verify_transformer(checked, art, n, dtype, [lp["expr"] for lp in b.loops], vocab)
    return art


def _plan(checked, program, n: int, dtype: str, vocab: tuple[str, ...],
          all_refusals: bool = False) -> TransformerPlanner:
    """The program's tasks (heads and MLP gadgets) at maximum length n, before assembly: the one
    plan that both `compile` and `block_count` read."""
    b = TransformerPlanner(checked, _folds_as_attention(program), n, dtype, vocab)
    b.refusals = [] if all_refusals else None
    b.run()
    if b.refusals:
        raise NclError(b.refusals)
    return b


def block_count(checked, n: int, dtype: str = "float32",
                vocab: tuple[str, ...] | None = None):
    """The blocks the compiled network runs at maximum length n, as a formula in `n`: the
    blocks the residual allocator schedules the plan's tasks into, with every repeat's body
    range counted `count` times (the runtime runs it that often). It builds no weight file and
    runs no self-check. The analysis derives the same count from the IR on its own
    (`nclang.compiler.analysis.transformer_layers`); tests/test_layers_match.py holds the two,
    and the compiled files, equal. Raises the target's NclError where the target refuses."""
    vocab = tuple(vocab) if vocab else default_vocabulary(checked)
    b = _plan(checked, lower(checked), n, dtype, vocab)
    layout = b.layout()
    total = sympy.Integer(len(layout.blocks))
    for lp in b.loops:
        first, last = lp["blocks"]
        total += (last - first + 1) * (lp["expr"] - 1)
    return sympy.expand(total)


def default_vocabulary(checked) -> tuple[str, ...]:
    """The token literals of the program in source order, then a, b, z: the same vocabulary
    `nclang test` draws from (nclang.compiler.testing.inputs.vocabulary), so a default-compiled
    network can be property-tested as it is."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, A.StrLit):
            if node.value not in found:
                found.append(node.value)
        elif isinstance(node, (list, tuple)):
            for x in node:
                walk(x)
        elif hasattr(node, "__dataclass_fields__") and not isinstance(node, A.Span):
            for name in node.__dataclass_fields__:
                walk(getattr(node, name))
    walk(checked.program)
    for d in checked.defs.values():
        walk(d)
    return tuple(found) + tuple(t for t in DEFAULT_EXTRA_TOKENS if t not in found)
