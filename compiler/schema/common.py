"""What the schema checks of every weight file, whatever its target: the top-level keys, the
tensors against the architecture's list, the encodings, analysis and options, and the checks of
single values (naturals, strings, size maps, formulas) that each target's checks use."""
from __future__ import annotations

import re

import numpy as np

from nclang.compiler import formula
from nclang.compiler.targets import registry

TARGETS = registry.NAMES
TENSOR_DTYPES = ("float32", "float64", "int64", "int32", "uint8", "bool")
RUN_DTYPES = tuple(registry.DTYPES)

_HEX64 = re.compile(r"[0-9a-f]{64}")


def _nat(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _pos(v) -> bool:
    return _nat(v) and v >= 1


def _str(v) -> bool:
    return isinstance(v, str)


def _top(meta: dict) -> list[str]:
    p = []
    if not _str(meta["program"]) or not meta["program"]:
        p.append("metadata 'program' must be the program's name")
    for k in ("source_sha256", "tensors_sha256"):
        if not _str(meta[k]) or not _HEX64.fullmatch(meta[k]):
            p.append(f"metadata '{k}' must be 64 lowercase hex digits")
    if meta["target"] not in TARGETS:
        p.append(f"metadata 'target' is {meta['target']!r}; one of {', '.join(TARGETS)}")
    for k in ("architecture", "encodings", "analysis", "options", "training"):
        if k in meta and not isinstance(meta[k], dict):
            p.append(f"metadata '{k}' must be a JSON object")
    return p


def _tensors(arch: dict, tensors: dict) -> list[str]:
    specs = arch.get("tensors")
    if not isinstance(specs, dict) or not all(
            isinstance(s, dict) and s.get("dtype") in TENSOR_DTYPES
            and isinstance(s.get("shape"), list) and all(map(_nat, s["shape"]))
            for s in specs.values()):
        return ["metadata 'architecture' must have 'tensors': {name: {\"dtype\": ..., "
                "\"shape\": [...]}}"]
    p = []
    for k, spec in specs.items():
        if k not in tensors:
            p.append(f"tensor '{k}' is missing; the architecture lists it")
            continue
        t, shape = tensors[k], tuple(spec["shape"])
        if t.shape != shape:
            p.append(f"tensor '{k}' has shape {t.shape}, the architecture says {shape}")
        if t.dtype.name != spec["dtype"]:
            p.append(f"tensor '{k}' has dtype {t.dtype.name}, the architecture says "
                     f"{spec['dtype']}")
        elif t.dtype.kind == "f" and not np.isfinite(t).all():
            p.append(f"tensor '{k}' holds NaN or infinite values")
    return p + [f"tensor '{k}' is not in the architecture" for k in tensors if k not in specs]


def _encodings(enc: dict) -> list[str]:
    p = []
    for side in ("inputs", "outputs"):
        items = enc.get(side)
        if not isinstance(items, list) or not all(
                isinstance(e, dict) and _str(e.get("name")) and _str(e.get("type"))
                for e in items):
            p.append(f"metadata 'encodings' must have '{side}': a list of objects with string "
                     f"'name' and 'type'")
        elif len({e["name"] for e in items}) != len(items):
            p.append(f"metadata 'encodings' names one of its {side} twice")
    if "family" in enc and enc["family"] not in ("bits", "graph", "seq"):
        p.append("encodings 'family' must be \"bits\", \"graph\" or \"seq\"")
    return p


def _analysis(doc: dict) -> list[str]:
    # inspect reads analysis.cost / analysis.ranges as objects and shows their fields as text
    return [f"metadata 'analysis' must have '{k}' as a JSON object" for k in ("cost", "ranges")
            if k in doc and not isinstance(doc[k], dict)]


def _options(doc: dict) -> list[str]:
    if "sizes" in doc and not _sizes(doc["sizes"]):
        return ["metadata 'options' 'sizes' must map size names to positive integers"]
    return []


def _sizes(v) -> bool:
    return isinstance(v, dict) and all(_str(k) and k.isidentifier() and _pos(x)
                                       for k, x in v.items())


def _formula(text, names, where: str) -> list[str]:
    why = formula.check(text, names)
    return [] if why is None else [f"{where} {str(text)[:60]!r} is not a size formula: {why}"]
