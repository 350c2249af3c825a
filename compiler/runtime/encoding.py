"""Between the values of a program (`nclang.dsl.values`) and the flat vectors a compiled network
reads and writes, using only the weight file's `encodings` metadata: running a file needs no source.

Each item of `encodings["inputs"]` / `["outputs"]` is `{"name", "type", "kind", "shape",
"channels": [start, stop]}`: the value's elements, flattened row-major, occupy channels
start..stop-1 of the feature vector. `kind` says how an element is a number:

| kind    | element            | number                 |
| ------- | ------------------ | ---------------------- |
| `bool`  | `np.bool_`         | 0 or 1                 |
| `int`   | `np.float64`       | the integer            |
| `index` | `np.int64`         | the index, -1 for none |
| `bits`  | a bit of `bits[k]` | 0 or 1                 |
| `ninf`  | an int or `-inf`   | two channels (f, v): v where the flag f is 1, -inf where it is 0 |
| `pinf`  | an int or `inf`    | the same, +inf where f is 0 |

A flagged kind (`ninf`, `pinf`: an output only, a conditional max / min that may select nothing)
takes two channels per element, element-major: element e's flag is channel start + 2e, its value
start + 2e + 1, as the gnn target lays them out.

Outputs are decoded without rounding. A network that computes its program exactly produces exact
0/1 and integers; anything else is kept as the raw float (a float64 array where the program's
form is bool or int64) so that a comparison with the interpreter fails visibly instead of a
rounding step hiding the error. `inexact` lists such outputs. A trained file (`nclang train`,
`encodings["readout"] == "nearest"`) is read with `nearest` instead: it is not exact by
construction, and its answer is the valid value nearest to what it computes.

No torch here: these functions work on numpy arrays, so they serve every runtime module.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from nclang.dsl.diagnostics import Diagnostic, NclError
from nclang.dsl.values import Instance

KINDS = ("bool", "int", "index", "bits", "ninf", "pinf")
FLAGGED = ("ninf", "pinf")


def _per(kind) -> int:
    """Channels per element."""
    return 2 if kind in FLAGGED else 1


@dataclass(frozen=True)
class Slot:
    """One input or output value's place in the feature vector."""
    name: str
    type: str
    kind: str
    shape: tuple[int, ...]
    start: int
    stop: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def slots(items: list[dict], side: str, width: int) -> tuple[list[Slot], list[str]]:
    """The slots of `encodings[side]` for a vector of `width` channels, and what is wrong with
    them (each problem one sentence, for a `bad-weights` diagnostic)."""
    out, problems = [], []
    for i, item in enumerate(items):
        where = f"encodings {side}[{i}] ('{item.get('name')}')"
        kind, shape, channels = item.get("kind"), item.get("shape"), item.get("channels")
        if kind not in KINDS:
            problems.append(f"{where} has kind {kind!r}; one of {', '.join(KINDS)}")
            continue
        if not (isinstance(shape, list) and all(_nat(d) for d in shape)):
            problems.append(f"{where} must have 'shape': a list of sizes")
            continue
        if not (isinstance(channels, list) and len(channels) == 2 and all(map(_nat, channels))):
            problems.append(f"{where} must have 'channels': [start, stop]")
            continue
        start, stop = channels
        if side == "inputs" and kind in FLAGGED:
            problems.append(f"{where} has kind {kind!r}, which only an output may have")
            continue
        if stop - start != _per(kind) * math.prod(shape):
            per = f", {_per(kind)} channels each" if _per(kind) > 1 else ""
            problems.append(f"{where} has shape {shape} ({math.prod(shape)} elements{per}) but "
                            f"channels [{start}, {stop}] ({stop - start})")
            continue
        if stop > width:
            problems.append(f"{where} has channels [{start}, {stop}] but the network's "
                            f"{'input' if side == 'inputs' else 'output'} has {width}")
            continue
        out.append(Slot(item["name"], item["type"], kind, tuple(shape), start, stop))
    return out, problems


def _nat(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def encode_inputs(instances: list[Instance], inputs: list[Slot], width: int) -> np.ndarray:
    """The (batch, width) float64 input matrix; channels no slot names stay 0. Each slot is
    filled for the whole batch at once; a batch with a bad value is gone through one instance
    at a time, so that the error is the first instance's, as it always was."""
    x = np.zeros((len(instances), width), dtype=np.float64)
    for s in inputs:
        values = [np.asarray(inst.values[s.name]) for inst in instances]
        if not all(value.shape == s.shape for value in values):
            return _encode_one_by_one(instances, inputs, width)
        block = np.stack(values).reshape(len(instances), -1).astype(np.float64) \
            if values else np.zeros((0, s.size))
        if not np.isfinite(block).all():
            return _encode_one_by_one(instances, inputs, width)
        x[:, s.start:s.stop] = block
    return x


def _encode_one_by_one(instances: list[Instance], inputs: list[Slot], width: int) -> np.ndarray:
    x = np.zeros((len(instances), width), dtype=np.float64)
    for b, inst in enumerate(instances):
        for s in inputs:
            value = np.asarray(inst.values[s.name])
            if value.shape != s.shape:
                raise ValueError(f"input {s.name} has shape {value.shape}; the network was "
                                 f"compiled for {s.shape}")
            flat = value.reshape(-1).astype(np.float64)
            if not np.isfinite(flat).all():
                raise ValueError(f"input {s.name} holds an infinite value, which the network's "
                                 f"encoding cannot represent")
            x[b, s.start:s.stop] = flat
    return x


def decode_outputs(y: np.ndarray, outputs: list[Slot],
                   readout: str = "exact") -> list[dict[str, np.ndarray]]:
    """One dict per row of the (batch, width) output matrix, in the interpreter's numpy forms
    where the network's values are exact, raw float64 where they are not (`readout="nearest"`:
    the nearest valid values).

    Each slot is decoded for the whole batch at once; whether a row's value is exact is decided
    per row, as if the rows were decoded one at a time, so that one inexact row stays raw
    without turning the others raw."""
    y = np.asarray(y, dtype=np.float64)
    batch = y.shape[0]
    columns = []
    for s in outputs:
        raw = y[:, s.start:s.stop].reshape((batch,) + s.shape + ((2,) if s.kind in FLAGGED
                                                                  else ()))
        if readout == "nearest":  # trained files only, row by row (a scalar stays a scalar)
            columns.append((s.name, [nearest(raw[b], s.kind, s.type) for b in range(batch)]))
        else:
            columns.append((s.name, _decode_rows(raw, s.kind)))
    # `[b, ...]` keeps a row of a scalar slot a 0-d array, as slicing one row gave
    return [{name: rows[b] for name, rows in columns} for b in range(batch)]


def _decode_rows(raw: np.ndarray, kind: str) -> list[np.ndarray]:
    """`_decode` of each row of `raw` (batch first), computed for the batch at once."""
    batch = raw.shape[0]
    if kind == "int":
        return [raw[b, ...] for b in range(batch)]
    if kind in FLAGGED:  # elementwise, so the batch's result is every row's
        whole = _decode(raw, kind)
        return [whole[b, ...] for b in range(batch)]
    flat = raw.reshape(batch, -1)
    if kind in ("bool", "bits"):
        exact = ((flat == 0.0) | (flat == 1.0)).all(axis=1)
        form = np.bool_
    else:
        exact = (np.isfinite(flat) & (flat == np.round(flat)) & (flat >= -1)).all(axis=1)
        form = np.int64
    if exact.all():
        whole = raw.astype(form)
        return [whole[b, ...] for b in range(batch)]
    rows = [raw[b, ...] for b in range(batch)]
    converted = raw[exact].astype(form)
    for j, b in enumerate(np.flatnonzero(exact)):
        rows[b] = converted[j, ...]
    return rows


_INT_RANGE = re.compile(r"int\[(-?\d+)\.\.(-?\d+)\]")


def nearest(raw: np.ndarray, kind: str, type_text: str = "", n: int | None = None) -> np.ndarray:
    """The valid value nearest to each raw element, in the interpreter's numpy form: a bool
    (bit) is `raw > 1/2`; an int is rounded and clamped to the range its type declares
    (`int[lo..hi]`); an index is rounded and clamped to -1 (none) .. n - 1 where `n` is known.
    NaN reads as false, the range's low end, and none: every result has a JSON form."""
    raw = np.asarray(raw, dtype=np.float64)
    if kind in ("bool", "bits"):
        return raw > 0.5
    if kind in FLAGGED:  # channels (f, v) on the last axis
        v = nearest(raw[..., 1], "int", type_text)
        return np.where(raw[..., 0] > 0.5, v, -np.inf if kind == "ninf" else np.inf)
    match = _INT_RANGE.search(type_text) if kind == "int" else None
    lo = float(match.group(1)) if match else (-1.0 if kind == "index" else -np.inf)
    hi = float(match.group(2)) if match else (n - 1.0 if kind == "index" and n else np.inf)
    low = lo if np.isfinite(lo) else 0.0
    v = np.clip(np.round(np.nan_to_num(raw, nan=low, posinf=hi, neginf=lo)), lo, hi)
    # an unbounded int stays finite: a trained net's huge value is a number, not `inf`
    v = np.clip(v, -2.0 ** 53, 2.0 ** 53)
    return v.astype(np.int64) if kind == "index" else v


def _decode(raw: np.ndarray, kind: str) -> np.ndarray:
    if kind in ("bool", "bits"):
        return raw.astype(np.bool_) if np.isin(raw, (0.0, 1.0)).all() else raw
    if kind == "int":
        return raw  # the interpreter's form of an int is float64 already
    if kind in FLAGGED:  # a flag off 0/1 gives NaN, so that a comparison fails visibly
        f, v = raw[..., 0], raw[..., 1]
        inf = -np.inf if kind == "ninf" else np.inf
        return np.where(np.isin(f, (0.0, 1.0)), np.where(f == 1.0, v, inf), np.nan)
    exact = np.isfinite(raw).all() and (raw == np.round(raw)).all() and (raw >= -1).all()
    return raw.astype(np.int64) if exact else raw


def inexact(outputs: dict[str, np.ndarray], slots_: list[Slot]) -> list[str]:
    """For each output whose raw values are not exact 0/1 or integers, a sentence saying so."""
    problems = []
    for s in slots_:
        v = np.asarray(outputs[s.name])
        if s.kind in ("bool", "bits"):
            if v.dtype == np.bool_:
                continue
            bad = ~np.isin(v, (0.0, 1.0))
            want = "0 or 1"
        elif s.kind == "int":
            bad = ~(np.isfinite(v) & (v == np.round(v)))
            want = "an integer"
        elif s.kind in FLAGGED:
            inf = -np.inf if s.kind == "ninf" else np.inf
            bad = ~((np.isfinite(v) & (v == np.round(v))) | (v == inf))
            want = f"an integer or {'-' if s.kind == 'ninf' else ''}inf"
        else:
            if v.dtype == np.int64:
                continue
            bad = ~(np.isfinite(v) & (v == np.round(v)) & (v >= -1))
            want = "an index (-1 for none)"
        if not bad.any():
            continue
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = s.name + "".join(f"[{i}]" for i in first)
        problems.append(f"output {where} is {float(v[first])!r}, not {want} "
                        f"({int(bad.sum())} of {v.size} elements are off)")
    return problems


# ---------------------------------------------------------------- the mlp family's layout

MLP_ACTS = ("relu", "step", "id")


def check_layers(arch: dict, tensors: dict) -> list[str]:
    """What is wrong with the architecture's `layers` against the tensors, one sentence each."""
    layers = arch.get("layers")
    if not isinstance(layers, list) or not layers:
        return ["architecture 'layers' must be a non-empty list of {\"in\", \"out\", \"act\"}"]
    problems = []
    for i, spec in enumerate(layers):
        if not (isinstance(spec, dict) and all(isinstance(spec.get(k), int)
                                               and not isinstance(spec.get(k), bool)
                                               and spec[k] >= 1 for k in ("in", "out"))):
            problems.append(f"architecture layers[{i}] must have positive integers 'in' and 'out'")
            continue
        if spec.get("act") not in MLP_ACTS:
            problems.append(f"architecture layers[{i}] has act {spec.get('act')!r}; one of "
                            f"{', '.join(MLP_ACTS)}")
        for name, shape in ((f"layers.{i}.weight", (spec["out"], spec["in"])),
                            (f"layers.{i}.bias", (spec["out"],))):
            t = tensors.get(name)
            if t is None:
                problems.append(f"tensor '{name}' is missing; architecture layers[{i}] needs it")
            elif t.shape != shape:
                problems.append(f"tensor '{name}' has shape {t.shape}, architecture layers[{i}] "
                                f"says {shape}")
            elif t.dtype.kind != "f":
                problems.append(f"tensor '{name}' has dtype {t.dtype}; a float dtype is needed")
    if not problems:
        # only once every tensor matches its layer: a mismatch there is the clearer message
        for i in range(1, len(layers)):
            if layers[i]["in"] != layers[i - 1]["out"]:
                problems.append(f"architecture layers[{i}] reads {layers[i]['in']} values but "
                                f"layer {i - 1} writes {layers[i - 1]['out']}")
    names = {f"layers.{i}.{p}" for i in range(len(layers)) for p in ("weight", "bias")}
    problems += [f"tensor '{k}' is not part of any layer" for k in sorted(tensors)
                 if k not in names]
    if arch.get("depth", len(layers)) != len(layers):
        problems.append(f"architecture depth is {arch.get('depth')!r} but it lists "
                        f"{len(layers)} layers")
    return problems


def mlp_layout(file: str, tensors: dict, meta: dict):
    """(input width, output width, input slots, output slots) of an `mlp` file, or NclError with
    every inconsistency between its layers, tensors and encodings (`bad-weights`). Here rather
    than in `runtime.mlp` so that `nclang inspect` checks a file without importing torch."""
    arch = meta["architecture"]
    problems = check_layers(arch, tensors)
    if not problems:
        width_in, width_out = arch["layers"][0]["in"], arch["layers"][-1]["out"]
        inputs, p_in = slots(meta["encodings"]["inputs"], "inputs", width_in)
        outputs, p_out = slots(meta["encodings"]["outputs"], "outputs", width_out)
        problems = p_in + p_out
    if problems:
        raise NclError([Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights", p)
                        for p in problems])
    return width_in, width_out, inputs, outputs


# ---------------------------------------------------------------- the program's signature

def signature(meta: dict, file: str):
    """A stand-in for `nclang.dsl.checker.CheckedProgram` with what the JSON codec
    (`nclang.dsl.jsonio`) reads: the program's parameters and results as type syntax, its family,
    size variables and result names, built from the metadata. The declared type texts are parsed
    with the language's own grammar, so the codec decodes and encodes exactly as `nclang run`
    does."""
    from nclang.dsl.parser import parse
    enc = meta["encodings"]
    params = [(e["name"], e["type"]) for e in enc["inputs"]]
    results = [(e["name"], e["type"]) for e in enc["outputs"]]
    name = meta["program"]
    bad = [n for n, _ in params + results if not n.isidentifier()] + \
        ([name] if not name.isidentifier() else [])
    if bad:
        raise _bad(file, f"metadata names {bad[0]!r}, which is not a name in the language")
    result_text = ", ".join(t for _, t in results)
    if len(results) != 1:  # the grammar writes several results (and only those) in parentheses
        result_text = f"({result_text})"
    text = f"program {name}({', '.join(f'{n}: {t}' for n, t in params)}) -> {result_text} {{ }}"

    try:
        module = parse(text, file)
    except NclError:
        raise _bad(file, "metadata 'encodings' holds a type the language does not have: "
                         + ", ".join(repr(t) for _, t in params + results)) from None
    if len(module.items) != 1 or len(module.programs[0].params) != len(params) \
            or len(module.programs[0].results) != len(results):
        raise _bad(file, "metadata 'encodings' holds a type the language does not have")
    program = module.programs[0]
    family = enc.get("family") or _family(program)
    sizes = dict(meta["architecture"].get("sizes") or meta["options"].get("sizes") or {})
    from nclang.dsl.jsonio import input_sizes
    shim = SimpleNamespace(program=program, family=family, size_vars=frozenset(sizes),
                           result_names=tuple(n for n, _ in results))
    shim.size_vars = frozenset(sizes) | input_sizes(shim)
    return shim, sizes


def _family(program) -> str:
    from nclang.dsl import types as T
    ts = [T.from_syntax(p.type) for p in program.params]
    if any(isinstance(t, T.Graph) for t in ts):
        return "graph"
    if any(isinstance(t, T.Field) and any(a.kind == "pos" for a in t.axes) for t in ts):
        return "seq"
    return "bits"


def _bad(file: str, message: str) -> NclError:
    return NclError(Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights", message))
