"""Comparing two networks of the same architecture: hidden-state similarity and weight distance
up to the symmetries that leave a network's function unchanged.

Why alignment is needed. The hidden units of an MLP can be permuted (rows of W_l and b_l, and
the same permutation on the columns of W_{l+1}) without changing the function, and a ReLU unit
can also be rescaled by any s > 0 (its row of W_l and b_l times s, its column of W_{l+1} divided
by s) because relu(s z) = s relu(z). So "the" compiled network is one point of a whole orbit of
networks that compute the same function, and the raw weight distance between a trained net and
that one point measures mostly which point the compiler happened to emit. Here:

- `Stack` is one MLP whose inputs and outputs are wired to the rest of the net (the whole net of
  the mlp target, one GNN stage, one transformer MLP block); only its hidden units (the outputs
  of every layer but the last) may be moved, so each stack's symmetries are handled on their own.
- `random_symmetry` draws another point of the orbit: per hidden layer a random permutation and,
  for relu layers only, per-unit scales. step and id units are permuted, never rescaled (a step
  unit would also tolerate an uncompensated positive scale of its incoming row; that symmetry
  is left out, so relu's is the only rescaling). The scales are powers of two, so the variant
  computes bit-identical floating-point results (an exact compiled net stays exact: a step
  threshold sitting exactly at 0 downstream cannot flip).
- `align` moves `other` along its orbit to best match `reference`: per hidden layer an optimal
  assignment (`scipy.optimize.linear_sum_assignment`) between units, first on what they compute
  (probe activations and output derivatives), then refined on their weights; then per relu
  unit the positive scale minimising that unit's share of the Frobenius distance. A permuted
  and rescaled copy is mapped back onto the original up to rounding, compiled nets included
  (whose reused gadgets give many units identical incoming weights).
- `weight_distance` is the relative Frobenius distance ||a - b|| / ||a|| over every W and b of
  every stack (a is the reference).
- `invariant_distance` aligns `other` to several random variants of the reference and reports
  the distances after alignment (min / mean / max). Permutations are isometries but rescalings
  are not, so the aligned distance depends on which variant is called the reference; the min
  over variants is the number that does not favour the compiler's own choice, and the spread
  says how much that choice matters.
- `linear_cka` (Kornblith et al. 2019) compares hidden states (rows = the same inputs in the
  same order). It is invariant to orthogonal maps and isotropic scaling of either side, hence to
  unit permutations, but not to per-unit rescaling; that is why weight distances are reported
  after explicit alignment rather than through CKA alone.

numpy and scipy only: the trainable networks hand their weights over as `Stack`s of arrays.

The package: `stack` (the networks and their symmetries), `units` (hidden units as the
matchings see them), `align` (alignment and the distances on it), `canonical` (the invariant
distances gap reports), `cka` (hidden-state similarity).
"""
from __future__ import annotations

from .align import align, invariant_distance, weight_distance
from .canonical import canonical, canonical_distance, raw_distance
from .cka import linear_cka, unit_cka
from .stack import ACTS, Stack, forward_stack, hidden_states, random_symmetry

__all__ = ["ACTS", "Stack", "align", "canonical", "canonical_distance", "forward_stack",
           "hidden_states", "invariant_distance", "linear_cka", "random_symmetry",
           "raw_distance", "unit_cka", "weight_distance"]
