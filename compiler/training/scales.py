"""What each integer target's loss is divided by: the program's design range, not the data's.

The value-range analysis proves a bound on every integer a program holds (`nclang check`'s
"largest value 1000*(n - 1) (dist)"). Dividing a target by that bound, evaluated at the largest
sizes trained on, puts every integer output on the same footing whatever the sample happened to
contain: the largest distance drawn in 300 graphs depends on the seed and on how many graphs
were disconnected, the bound does not. Where the analysis has no finite bound (an unbounded
`int`), the largest finite target in the training data is used instead, and the source says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from nclang.compiler.analysis.ranges.prover import capped_subs
from nclang.compiler.ir import size_symbol

from .loss import _CAP, target_scales
from .model import OutputSpec

_INTEGER = ("int", "pinf", "ninf")


@dataclass(frozen=True)
class Scale:
    value: float
    source: str      # "analysis" (the proved bound at the training sizes) or "data"

    def to_json(self) -> dict:
        return {"scale": self.value, "from": self.source}


def design_scales(report, outputs: list[OutputSpec], carried: list[OutputSpec],
                  instances, targets: list[dict], states: list[dict]) -> dict[str, Scale]:
    """One Scale per integer output (`outputs`, read from the report's results) and carried
    variable (`carried`, from what the variable holds over the whole run), at the largest value
    of each size variable among `instances`; the data fallback reads `targets` / `states`."""
    sizes = _largest_sizes(instances)
    results = dict(zip(report.result_names, report.results))
    out: dict[str, Scale] = {}
    for specs, intervals, values in ((outputs, results, targets),
                                     (carried, report.held, states)):
        for spec in specs:
            if spec.kind not in _INTEGER:
                continue
            bound = _bound(intervals.get(spec.name), sizes)
            if bound is None:
                fallback = target_scales([spec], values) if values else {spec.name: 1.0}
                out[spec.name] = Scale(fallback[spec.name], "data")
            else:
                out[spec.name] = Scale(bound, "analysis")
    return out


def _largest_sizes(instances) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for inst in instances:
        for k, v in inst.sizes.items():
            sizes[k] = max(sizes.get(k, 0), int(v))
    return sizes


def _bound(interval, sizes: dict[str, int]) -> float | None:
    """max(1, the interval's largest finite magnitude at `sizes`), or None when that is not a
    finite number (an unbounded int, or a size the instances do not fix)."""
    if interval is None or not interval.fin:
        return None
    v = capped_subs(interval.magnitude(), {size_symbol(k): sp.Integer(x) for k, x in sizes.items()})
    if not v.is_number or not v.is_finite:
        return None
    value = float(v)
    # a bound past float32's exact range is capped as the data fallback is
    return min(max(1.0, value), _CAP) if math.isfinite(value) else None
