"""The MLP target: a bits (or scalar-only) program at fixed sizes → an exact layered MLP.

With every size fixed, the IR is evaluated once over *symbolic* values (`circuit.Form`s): loops
unroll, loop counters and indices are constants, so `a[i]` with a counter `i` is wiring. Affine
ops (sums, constant scaling, any function of one Boolean) only make new forms; every other op is
one gate, a one-hidden-layer gadget from `nclang.compiler.gadgets` (`table` for finite functions,
`ridge` for comparisons, `select_shallow`, `extremum_shallow`). `scan` is a Sklansky prefix tree
and `reduce` a balanced tree, ceil(log2 len) gate layers; a `def` operator is one table. The
circuit is then assembled into layers (`circuit.Circuit.assemble`).

Depth: which ops are affine and how many gates each puts on a path are the rules of
`nclang.compiler.analysis.cost` (`mlp_affine_local`, `mlp_local_layers`, ...), so the network
has exactly
`analyse(checked).layers` layers at the sizes: results that are ready earlier (a loop's
iterations are costed one after another, while the unrolled circuit may overlap them) are carried
to that depth. In step mode a network whose results are single threshold gates drops its read-out
layer (majority is one step layer).

Activations: `relu`, or `step` (Heaviside, step(0) = 1) for a threshold circuit with integer
weights: Boolean inputs only (a threshold circuit reads bits; an integer input would be carried
as a thermometer code of its whole range), integers inside as weighted sums of threshold gates;
Boolean results are read out by a step layer, integer results (popcount) by a linear one.

Exactness: all weights and inputs are integers and every neuron's partial sums are bounded by
|b| + sum |w| max|x|; float32 is exact below 2^24 (float64 below 2^53). A program whose values
pass that at the sizes is refused by the value-range analysis, naming the value; a construction
whose own intermediates pass it is refused at the op that needs them. `dtype="float64"` compiles
for a runtime in float64 instead (weights stored as float64; `architecture["dtype"]` says so).

No torch here: compiling needs numpy only.

The package: `builder` evaluates the IR over forms, with the mixins `gates` (pointwise ops) and
`folds` (aggregations, folds, extrema); `circuit` assembles the gates into layers; `refusals`
holds the options and the located errors. This module is the entry point.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nclang.compiler import ir
from nclang.dsl.diagnostics import NclError

from .builder import MLPCircuitBuilder
from .circuit import ExactnessError, TooLargeError
from .refusals import (_check_ranges, _check_step_inputs, _count, _fixed_sizes, _inexact,
                       _too_large)

if TYPE_CHECKING:
    from nclang.compiler.compilation import Compilation

__all__ = ["MLPArtifact", "compile", "compile_mlp"]

# Size limits (docs/performance.md): the layers are dense matrices, so a network past these
# would take gigabytes and minutes to build; the compiler refuses instead: before building when
# the input channels alone pass MAX_NEURONS, while building as soon as the circuit's neurons
# (inputs and carrying copies included) pass it (the builder makes some 20,000 a second, so
# this stops within seconds), and before allocating the matrices when their entries would pass
# MAX_PARAMETERS (2^27: 512 MiB of float32)
MAX_NEURONS = 1 << 17
MAX_PARAMETERS = 1 << 27


@dataclass
class MLPArtifact:
    tensors: dict[str, np.ndarray]
    architecture: dict
    encodings: dict


# ---------------------------------------------------------------- entry point


def compile_mlp(checked, sizes: dict[str, int], activation: str = "relu",
                dtype: str = "float32", self_check: bool = True,
                all_refusals: bool = False) -> MLPArtifact:
    """`compile` of `checked` on its own, for this target's tests and tools: the program is
    lowered and analysed here (`compilation.standalone`), without the driver's refusals."""
    from nclang.compiler.compilation import standalone
    return standalone("mlp", checked, sizes, activation, dtype, self_check=self_check,
                      all_refusals=all_refusals)


def compile(c: Compilation) -> MLPArtifact:
    """The exact MLP of a bits or scalar program at `c.sizes` (NclError for what it cannot be),
    from the driver's lowering and analyses; with `c.options.self_check`, first run on the
    boundary inputs against the interpreter (`verify`). With `all_refusals` (`nclang check
    --target mlp`), every construct it cannot compute is reported in one NclError, not just the
    first."""
    checked, program = c.checked, c.program
    activation, dtype = c.options.activation, c.options.dtype
    self_check, all_refusals = c.options.self_check, c.options.all_refusals
    sizes = _fixed_sizes(checked, c.sizes)
    _check_ranges(checked, c.ranges, sizes, c.dtype)
    if activation == "step":
        _check_step_inputs(checked)
    want = c.cost.layers
    layers_at_sizes = ir.size_int(want, sizes)
    channels = sum(_count(op.out.domain, sizes) for op in program.ops
                   if isinstance(op, ir.Input))
    if channels > MAX_NEURONS:
        raise _too_large(checked, TooLargeError("input channels", channels, MAX_NEURONS), sizes)
    builder = MLPCircuitBuilder(checked, program, sizes, activation, MAX_NEURONS,
                                MAX_PARAMETERS)
    builder.refusals = [] if all_refusals else None
    try:
        outputs = builder.run()
    except TooLargeError as err:
        raise _too_large(checked, err, sizes) from None
    if builder.refusals:
        raise NclError(builder.refusals)
    final = "id"
    if activation == "step" and all(k in ("bool", "bits") for k in builder.output_kinds):
        final = "step"
    np_dtype, limit = np.dtype(dtype), c.dtype.limit
    try:
        net = builder.circuit.assemble(outputs, layers_at_sizes - 1, final, limit)
    except ExactnessError as err:
        raise _inexact(checked, err, sizes, dtype) from None
    except TooLargeError as err:
        raise _too_large(checked, err, sizes) from None
    tensors, specs = {}, []
    for i, (W, b, act) in enumerate(net.layers):
        tensors[f"layers.{i}.weight"] = W.astype(np_dtype)
        tensors[f"layers.{i}.bias"] = b.astype(np_dtype)
        specs.append({"in": int(W.shape[1]), "out": int(W.shape[0]), "act": act})
    used = {k: sizes[k] for k in sorted(checked.size_vars)}
    architecture = {
        "family": "mlp", "activation": activation, "sizes": used, "depth": len(specs),
        "layers": specs, "dtype": dtype,
        "analysis_layers": layers_at_sizes,
        "natural_depth": net.natural_depth,
        "max_magnitude": net.magnitude,
    }
    art = MLPArtifact(tensors, architecture, {"inputs": builder.in_enc,
                                              "outputs": builder.out_enc})
    if self_check:
        from ..verify import verify_mlp
        verify_mlp(checked, art, sizes, dtype)
    return art

