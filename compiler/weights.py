"""The weight file: one self-describing safetensors file per compiled program (docs/weights.md).

Tensors are named as a torch `state_dict`; the safetensors metadata maps each key of `KEYS` to a
canonical JSON document. The architecture lists every tensor's shape and dtype, so a file is
validated on load without the source. No torch here: `nclang compile` must stay fast and cold.

The header is serialized here rather than by `safetensors.numpy.save`, because safetensors writes
`__metadata__` from a Rust HashMap whose order changes from process to process, and the same
source and options must give the same bytes. Files are read back with safetensors' own parser.
"""
from __future__ import annotations

import json
import os
import re
import struct

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as _st_load

from compiler.atomic import write_atomic
from dsl.diagnostics import Diagnostic, NclError

FORMAT = "nclang-weights/1"
KEYS = ("format", "program", "source_sha256", "target", "architecture", "encodings", "analysis",
        "options")
# keys a file may have: `training` (a JSON object) marks a file written by `nclang train`
OPTIONAL_KEYS = ("training",)
TARGETS = ("mlp", "gnn", "transformer")
DTYPES = {"float32": "F32", "float64": "F64", "int64": "I64", "int32": "I32", "uint8": "U8",
          "bool": "BOOL"}


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def tensor_specs(tensors: dict[str, np.ndarray]) -> dict[str, dict]:
    """The architecture's `tensors` entry for these tensors."""
    return {k: {"dtype": np.asarray(v).dtype.name, "shape": list(np.shape(v))}
            for k, v in sorted(tensors.items())}


def encode(tensors: dict[str, np.ndarray], meta: dict) -> bytes:
    """The file's bytes; ValueError when the compiler hands over something inconsistent."""
    meta = dict(meta)
    if meta.setdefault("format", FORMAT) != FORMAT:
        raise ValueError(f"format must be {FORMAT!r}, got {meta['format']!r}")
    allowed = set(KEYS) | set(OPTIONAL_KEYS)
    if not set(KEYS) <= set(meta) <= allowed:
        raise ValueError(f"metadata keys must be {sorted(KEYS)} (and optionally "
                         f"{sorted(OPTIONAL_KEYS)}); missing {sorted(set(KEYS) - set(meta))}, "
                         f"unknown {sorted(set(meta) - allowed)}")
    arrays = {}
    for k, v in tensors.items():
        a = np.asarray(v)
        if not isinstance(k, str) or not k or k == "__metadata__" or a.dtype.name not in DTYPES:
            raise ValueError(f"tensor {k!r} of dtype {a.dtype}: names are non-empty strings, "
                             f"dtypes one of {', '.join(DTYPES)}")
        arrays[k] = np.ascontiguousarray(a, a.dtype.newbyteorder("<"))
    arch = dict(meta["architecture"])
    specs = tensor_specs(arrays)
    if arch.setdefault("tensors", specs) != specs:
        raise ValueError("architecture['tensors'] does not describe the tensors given")
    meta["architecture"] = arch
    problems = _check_meta(json.loads(canonical_json(meta)))
    if problems:
        raise ValueError("; ".join(problems))
    header = {"__metadata__": {k: canonical_json(meta[k]) for k in KEYS + OPTIONAL_KEYS
                               if k in meta}}
    # widest items first, so every tensor starts at a multiple of its item size (as safetensors does)
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    off, blobs = 0, []
    for k in order:
        blob = arrays[k].tobytes(order="C")
        header[k] = {"dtype": DTYPES[arrays[k].dtype.name], "shape": list(arrays[k].shape),
                     "data_offsets": [off, off + len(blob)]}
        off += len(blob)
        blobs.append(blob)
    h = canonical_json(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write_weights(path, tensors: dict[str, np.ndarray], meta: dict) -> None:
    """Write atomically: the file at `path` is the old one or the whole new one, never a part,
    and no temporary file is left behind on failure."""
    write_atomic(path, encode(tensors, meta))


def read_weights(path) -> tuple[dict[str, np.ndarray], dict]:
    """(tensors, metadata with each value parsed from JSON), or NclError with every problem found,
    each a `FILE:1:1: error:` diagnostic with code `bad-weights`."""
    file = os.fspath(path)

    def fail(*msgs):
        return NclError([Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights", m) for m in msgs])

    try:
        with open(file, "rb") as f:
            data = f.read()
    except OSError as e:
        raise fail(f"cannot read the weight file: {e.strerror}") from None
    header = _header(data)
    if isinstance(header, str):
        raise fail(header)
    try:
        tensors = {k: np.array(v) for k, v in sorted(_st_load(data).items())}
    except SafetensorError as e:
        raise fail(f"not a valid safetensors file: {e}") from None
    md = header.get("__metadata__") or {}
    if "format" not in md:
        raise fail("no 'format' metadata: not an nclang weight file")
    fmt = _json(md["format"])
    if fmt != FORMAT:
        shown = fmt if isinstance(fmt, str) else md["format"]
        raise fail(f"unknown format version {shown!r}; this nclang reads {FORMAT!r}")
    meta, problems = {}, []
    for k in KEYS:
        if k not in md:
            problems.append(f"missing metadata key '{k}'")
            continue
        meta[k] = _json(md[k])
        if meta[k] is _BAD:
            problems.append(f"metadata '{k}' is not valid JSON")
    for k in OPTIONAL_KEYS:
        if k in md:
            meta[k] = _json(md[k])
            if not isinstance(meta[k], dict):
                problems.append(f"metadata '{k}' must be a JSON object")
    if problems:
        raise fail(*problems)
    problems = _check_meta(meta)
    if problems:
        raise fail(*problems)
    specs = meta["architecture"]["tensors"]
    for k, spec in specs.items():
        if k not in tensors:
            problems.append(f"tensor '{k}' is missing; the architecture lists it")
            continue
        t, shape = tensors[k], tuple(spec["shape"])
        if t.shape != shape:
            problems.append(f"tensor '{k}' has shape {t.shape}, the architecture says {shape}")
        if t.dtype.name != spec["dtype"]:
            problems.append(f"tensor '{k}' has dtype {t.dtype.name}, the architecture says "
                            f"{spec['dtype']}")
        elif t.dtype.kind == "f" and not np.isfinite(t).all():
            problems.append(f"tensor '{k}' holds NaN or infinite values")
    problems += [f"tensor '{k}' is not in the architecture" for k in tensors if k not in specs]
    if problems:
        raise fail(*problems)
    return tensors, meta


_BAD = object()


def _json(s):
    try:
        return json.loads(s)
    except (TypeError, ValueError):
        return _BAD


def _header(data: bytes) -> dict | str:
    """The parsed safetensors header, or a message saying why the bytes are not a whole file."""
    if len(data) < 8:
        return f"not a safetensors file: {len(data)} bytes, too short for a header"
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        return f"truncated or not a safetensors file: the header needs {n} bytes, {len(data) - 8} follow"
    try:
        header = json.loads(data[8:8 + n])
    except (UnicodeDecodeError, ValueError):
        return "not a safetensors file: the header is not JSON"
    if not isinstance(header, dict):
        return "not a safetensors file: the header is not a JSON object"
    ends = [e["data_offsets"][1] for k, e in header.items()
            if k != "__metadata__" and isinstance(e, dict) and len(e.get("data_offsets", ())) == 2]
    have = len(data) - 8 - n
    if ends and max(ends) > have:
        return f"truncated: the tensors need {max(ends)} bytes of data, the file has {have}"
    return header


def _check_meta(meta: dict) -> list[str]:
    """What is wrong with the parsed metadata's shape (the schema in docs/weights.md)."""
    p = []
    isstr = lambda v: isinstance(v, str)
    if not isstr(meta["program"]) or not meta["program"]:
        p.append("metadata 'program' must be the program's name")
    if not isstr(meta["source_sha256"]) or not re.fullmatch(r"[0-9a-f]{64}", meta["source_sha256"]):
        p.append("metadata 'source_sha256' must be 64 lowercase hex digits")
    if meta["target"] not in TARGETS:
        p.append(f"metadata 'target' is {meta['target']!r}; one of {', '.join(TARGETS)}")
    for k in ("architecture", "encodings", "analysis", "options", *OPTIONAL_KEYS):
        if k in meta and not isinstance(meta[k], dict):
            p.append(f"metadata '{k}' must be a JSON object")
    if p:
        return p
    specs = meta["architecture"].get("tensors")
    if not isinstance(specs, dict) or not all(
            isinstance(s, dict) and s.get("dtype") in DTYPES and isinstance(s.get("shape"), list)
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in s["shape"])
            for s in specs.values()):
        p.append("metadata 'architecture' must have 'tensors': {name: {\"dtype\": ..., "
                 "\"shape\": [...]}}")
    for side in ("inputs", "outputs"):
        items = meta["encodings"].get(side)
        if not isinstance(items, list) or not all(
                isinstance(e, dict) and isstr(e.get("name")) and isstr(e.get("type"))
                for e in items):
            p.append(f"metadata 'encodings' must have '{side}': a list of objects with string "
                     f"'name' and 'type'")
    return p
