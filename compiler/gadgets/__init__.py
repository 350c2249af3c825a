"""Exact gadgets: small layered networks that compute Boolean logic, comparisons, min/max,
selection, bounded-integer arithmetic and finite lookup tables EXACTLY on declared input ranges.
All three targets build their local computation from these, so each construction is proved once.

A `Block` is a list of `Layer`s, each `y = act(W @ x + b)` with `W` in `torch.nn.Linear` layout
(out, in), plus the integer box its inputs may range over (`inp`) and the box its outputs are
guaranteed to lie in (`out`). Activations: `relu`, `id`, and `step` (Heaviside, step(0) = 1).

ReLU-mode gadgets end in an `id` layer (an affine read-out); `chain` folds that read-out into the
next block's first layer, so composing costs no depth. Step-mode gadgets use integer weights and
step activations only, ending in a step layer, so a Boolean program becomes a threshold circuit.

Why float32 is exact (the argument every gadget docstring relies on): inputs are integers in the
declared box and all weights and biases are integers, so every exact intermediate value (product,
partial sum in ANY accumulation order, pre-activation) is an integer. A float32 operation whose
exact result is an integer of magnitude below 2^24 returns that integer, because such integers
are representable and IEEE rounding of a representable result is the identity. `bound` gives a
number no intermediate can exceed in magnitude (for every neuron |b| + sum |W_ij| max|x_j|, which
bounds every partial sum and product); `check_exact` refuses a block whose bound reaches 2^24
(float32) or 2^53 (float64). relu and step are exact on any float.

The package, by gadget kind: `core` (Layer, Block, the exactness bound), `compose`, `boolean`
(gates and comparisons), `arith` (min, max, select, arithmetic), `tables` (lookup tables and
one-hidden-layer `Shallow` gadgets), `flagged` (values that may be infinite), `ratio` (attention
averages). Every name is re-exported here: `from nclang.compiler import gadgets as G; G.table`.
"""
from __future__ import annotations

from .core import (ACTS, BOOL, Block, EXACT_LIMIT, Layer, Range, _ACT, _act, _affine_box, _box,
                   _make, _range, _within, bound, check_exact)
from .compose import (chain, deepen, identity, parallel, route, share, tree)
from .boolean import (_CMP, _cmp, _eq0, _ge0, _n, and_, compare, compare_const, not_, or_, parity,
                      xor)
from .arith import (add, affine, maximum, minimum, mul, mul_const, select, sub)
from .tables import (Shallow, _directions, _span_of, extremum_shallow, interpolate, lookup, pick,
                     ridge, ridges, select_shallow, table)
from .flagged import (_hull0, flagged_add, flagged_extremum)
from .ratio import (ratio_decoder, ratio_margin_error, signed_identity)

__all__ = ['ACTS', 'BOOL', 'Block', 'EXACT_LIMIT', 'Layer', 'Range', 'Shallow', '_ACT', '_CMP',
           '_act', '_affine_box', '_box', '_cmp', '_directions', '_eq0', '_ge0', '_hull0', '_make',
           '_n', '_range', '_span_of', '_within', 'add', 'affine', 'and_', 'bound', 'chain',
           'check_exact', 'compare', 'compare_const', 'deepen', 'extremum_shallow', 'flagged_add',
           'flagged_extremum', 'identity', 'interpolate', 'lookup', 'maximum', 'minimum', 'mul',
           'mul_const', 'not_', 'or_', 'parallel', 'parity', 'pick', 'ratio_decoder',
           'ratio_margin_error', 'ridge', 'ridges', 'route', 'select', 'select_shallow', 'share',
           'signed_identity', 'sub', 'table', 'tree', 'xor']
