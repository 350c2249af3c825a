"""The weight file: one self-describing safetensors file per compiled program (docs/weights.md).

Tensors are named as a torch `state_dict`; the safetensors metadata maps each key of `KEYS` to a
canonical JSON document. The architecture lists every tensor's shape and dtype, so a file is
validated on load without the source. No torch here: `nclang compile` must stay fast and cold.

The header is serialized here rather than by `safetensors.numpy.save`, because safetensors writes
`__metadata__` from a Rust HashMap whose order changes from process to process, and the same
source and options must give the same bytes. Files are read back with safetensors' own parser.
"""
from __future__ import annotations

import difflib
import functools
import hashlib
import json
import math
import os
import stat
import struct

import numpy as np

from nclang.compiler.atomic import write_atomic
from nclang.compiler.targets import registry
from nclang.dsl.diagnostics import Diagnostic, NclError

FORMAT = "nclang-weights/2"
KEYS = ("format", "program", "source_sha256", "target", "architecture", "encodings", "analysis",
        "options", "tensors_sha256")
# keys a file may have: `training` (a JSON object) marks a file written by `nclang train`
OPTIONAL_KEYS = ("training",)
TARGETS = registry.NAMES
DTYPES = {"float32": "F32", "float64": "F64", "int64": "I64", "int32": "I32", "uint8": "U8",
          "bool": "BOOL"}
_NUMPY = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "U8": "u1", "BOOL": "?"}
# the largest header read, as safetensors itself allows: a bound before anything is allocated
MAX_HEADER = 100_000_000


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
    # the digest is always the data's own: a caller re-saving metadata it read (training, a
    # test that perturbs a weight) hands over the old file's digest
    meta.pop("tensors_sha256", None)
    if meta.setdefault("format", FORMAT) != FORMAT:
        raise ValueError(f"format must be {FORMAT!r}, got {meta['format']!r}")
    allowed = set(KEYS) | set(OPTIONAL_KEYS)
    if not set(KEYS) - {"tensors_sha256"} <= set(meta) <= allowed:
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
    blob = {k: arrays[k].tobytes(order="C") for k in arrays}
    meta["tensors_sha256"] = tensors_digest(
        (k, DTYPES[arrays[k].dtype.name], arrays[k].shape, blob[k]) for k in sorted(arrays))
    from nclang.compiler import schema
    problems = schema.check(json.loads(canonical_json(meta)), arrays)
    if problems:
        raise ValueError("; ".join(problems))
    header = {"__metadata__": {k: canonical_json(meta[k]) for k in KEYS + OPTIONAL_KEYS
                               if k in meta}}
    # widest items first, so every tensor starts at a multiple of its item size
    # (as safetensors does)
    order = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    off, blobs = 0, []
    for k in order:
        header[k] = {"dtype": DTYPES[arrays[k].dtype.name], "shape": list(arrays[k].shape),
                     "data_offsets": [off, off + len(blob[k])]}
        off += len(blob[k])
        blobs.append(blob[k])
    h = canonical_json(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write_weights(path, tensors: dict[str, np.ndarray], meta: dict) -> None:
    """Write atomically: the file at `path` is the old one or the whole new one, never a part,
    and no temporary file is left behind on failure."""
    write_atomic(path, encode(tensors, meta))


def read_weights(path, verify: bool = True) -> tuple[dict[str, np.ndarray], dict]:
    """(tensors, metadata with each value parsed from JSON), or NclError with every problem found,
    each a `FILE:1:1: error:` diagnostic with code `bad-weights`.

    Reading is bounded before anything is allocated: the path must be a regular file (not a
    pipe or /dev/zero), the header at most MAX_HEADER bytes, and every tensor's declared
    offsets inside the file; only then is the data read (`read_file_bytes`). Metadata is strict
    JSON (no NaN or Infinity, no duplicate keys, bounded nesting) and must pass the schema
    (`nclang.compiler.schema`), formulas included, so that nothing a runtime reads can be missing
    or of the wrong type (`read_weights_bytes`). `verify=False` skips the tensor digest
    (`tensors_sha256`) only."""
    file = os.fspath(path)
    return read_weights_bytes(read_file_bytes(file), file, verify)


def read_file_bytes(path) -> bytes:
    """The bytes of the weight file at `path`, read bounded: a regular file only, and its
    header's length, the header and its tensors' offsets checked against the file's size
    before the data is read. What the bytes hold is checked by `read_weights_bytes`."""
    file = os.fspath(path)
    fail = functools.partial(_bad_weights, file)
    try:
        # opened without blocking (a FIFO would wait for a writer) and checked on the open
        # file, so the path cannot be swapped for a device between the check and the read
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise fail("not a regular file: a weight file is read from disk, not from a "
                       "device, pipe or folder")
        with os.fdopen(fd, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                return head  # too short: read_weights_bytes says so
            (n,) = struct.unpack("<Q", head)
            if _header_length_problem(n, st.st_size - 8):
                raise fail(_header_length_problem(n, st.st_size - 8))
            raw = f.read(n)
            header = _header(raw)
            if isinstance(header, str):
                raise fail(header)
            entries = _entries(header, st.st_size - 8 - n)
            if isinstance(entries, str):
                raise fail(entries)
            data = f.read(st.st_size - 8 - n)
    except OSError as e:
        raise fail(f"cannot read the weight file: {e.strerror or e}") from None
    if len(data) != st.st_size - 8 - n:
        raise fail("the file changed while it was read")
    return b"".join((head, raw, data))


def read_weights_bytes(data: bytes, file: str = "<bytes>",
                       verify: bool = True) -> tuple[dict[str, np.ndarray], dict]:
    """`read_weights` for a weight file's bytes (`nclang.load` of bytes, and every read from a
    file): the same checks, each diagnostic at `FILE:1:1:` with `file` naming the bytes."""
    fail = functools.partial(_bad_weights, file)
    view = memoryview(data).cast("B")  # the tensors are views of it until copied out
    if len(view) < 8:
        raise fail(f"not a safetensors file: {len(view)} bytes, too short for a header")
    (n,) = struct.unpack("<Q", view[:8])
    if _header_length_problem(n, len(view) - 8):
        raise fail(_header_length_problem(n, len(view) - 8))
    header = _header(bytes(view[8:8 + n]))
    if isinstance(header, str):
        raise fail(header)
    entries = _entries(header, len(view) - 8 - n)
    if isinstance(entries, str):
        raise fail(entries)
    return _read_parts(file, header, entries, view[8 + n:], verify)


def _bad_weights(file: str, *messages: str) -> NclError:
    """The error for a weight file `file` that cannot be used: one `FILE:1:1:` diagnostic per
    problem, code `bad-weights`."""
    return NclError([Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights", m) for m in messages])


def _header_length_problem(n: int, follow: int) -> str | None:
    """Why a declared header length of `n` bytes, with `follow` bytes after the length, cannot
    be a weight file's; None when it can (checked before the header is read or allocated)."""
    if n > MAX_HEADER:
        return (f"not a safetensors file: it declares a header of {n} bytes, more than the "
                f"{MAX_HEADER} a weight file may have")
    if n > follow:
        return (f"truncated or not a safetensors file: the header needs {n} bytes, "
                f"{max(follow, 0)} follow")
    return None


def _read_parts(file: str, header: dict, entries: dict, data: bytes,
                verify: bool) -> tuple[dict[str, np.ndarray], dict]:
    """The tensors and metadata of a header whose entries `_entries` has checked against
    `data`, the bytes after it; NclError for what the tensors, metadata or schema get wrong."""

    fail = functools.partial(_bad_weights, file)

    tensors, problems = {}, []
    for name, (code, shape, begin, end) in sorted(entries.items()):
        dt = np.dtype(_NUMPY[code])
        t = np.frombuffer(data, dt, count=(end - begin) // dt.itemsize, offset=begin)
        if code == "BOOL" and np.frombuffer(data, np.uint8, end - begin, begin).max(
                initial=0) > 1:
            problems.append(f"tensor '{name}' holds bytes other than 0 and 1 in a bool tensor")
        tensors[name] = t.reshape(shape).astype(dt.newbyteorder("="))
    if problems:
        raise fail(*problems)
    md = header.get("__metadata__") or {}
    if "format" not in md:
        raise fail("no 'format' metadata: not an nclang weight file")
    fmt = _json(md["format"])
    if fmt != FORMAT:
        shown = fmt if isinstance(fmt, str) else md["format"]
        raise fail(f"unknown format version {shown!r}; this nclang reads {FORMAT!r}")
    meta = {}
    for k in KEYS:
        if k not in md:
            problems.append(f"missing metadata key '{k}'")
            continue
        meta[k] = _json(md[k])
        if isinstance(meta[k], _Bad):
            problems.append(f"metadata '{k}' is not valid JSON{meta[k].why}")
    for k in OPTIONAL_KEYS:
        if k in md:
            meta[k] = _json(md[k])
            if isinstance(meta[k], _Bad):
                problems.append(f"metadata '{k}' is not valid JSON{meta[k].why}")
    allowed = KEYS + OPTIONAL_KEYS
    for k in sorted(set(md) - set(allowed)):
        close = difflib.get_close_matches(k, allowed, 1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        problems.append(f"unknown metadata key {k!r}{hint}")
    if problems:
        raise fail(*problems)
    from nclang.compiler import schema
    problems = schema.check(meta, tensors)
    if problems:
        raise fail(*problems)
    if verify:
        digest = tensors_digest((k, entries[k][0], entries[k][1], data[entries[k][2]:entries[k][3]])
                                for k in sorted(entries))
        if digest != meta["tensors_sha256"]:
            raise fail(f"the tensor data does not match its digest (tensors_sha256 is "
                       f"{meta['tensors_sha256'][:12]}..., the data hashes to {digest[:12]}...): "
                       f"the file was damaged or its tensors edited; recompile it, or pass "
                       f"--no-verify to use it anyway")
    return tensors, meta


def tensors_digest(items) -> str:
    """SHA-256 of the tensor data: `items` are (name, safetensors dtype code, shape, raw bytes)
    in sorted name order. The hash covers the 8-byte little-endian length of the canonical JSON
    list [[name, code, shape], ...], that list, then every tensor's raw bytes in the same order;
    the list fixes each tensor's byte length, so no two different sets of tensors hash alike."""
    items = list(items)
    index = canonical_json([[k, code, list(shape)] for k, code, shape, _ in items]).encode()
    h = hashlib.sha256(struct.pack("<Q", len(index)) + index)
    for *_, raw in items:
        h.update(raw)
    return h.hexdigest()


class _Strict(ValueError):
    """Valid for `json.loads`, but not strict JSON: the message says why."""


def _strict_pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise _Strict(f"the key {k!r} appears twice")
        out[k] = v
    return out


def _no_constant(name):
    raise _Strict(f"{name} is not a JSON number")


def strict_json(s):
    """`json.loads` that refuses NaN / Infinity and duplicate keys; ValueError (RecursionError
    turned into one) when `s` is not such JSON."""
    try:
        return json.loads(s, parse_constant=_no_constant, object_pairs_hook=_strict_pairs)
    except RecursionError:
        raise _Strict("it is nested too deeply") from None


class _Bad:
    """A metadata value that is not strict JSON, and why when the reason is not just syntax."""

    def __init__(self, why: str = ""):
        self.why = why


def _json(s):
    if not isinstance(s, str):
        return _Bad()
    try:
        return strict_json(s)
    except _Strict as err:
        return _Bad(f" ({err})")
    except ValueError:
        return _Bad()


def _header(raw: bytes) -> dict | str:
    """The parsed safetensors header, or a message saying why the bytes are not one."""
    try:
        header = strict_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "not a safetensors file: the header is not JSON"
    if not isinstance(header, dict):
        return "not a safetensors file: the header is not a JSON object"
    md = header.get("__metadata__", {})
    if not isinstance(md, dict) or not all(isinstance(v, str) for v in md.values()):
        return "not a safetensors file: '__metadata__' must map strings to strings"
    return header


def _entries(header: dict, have: int) -> dict | str:
    """{name: (dtype code, shape, begin, end)} of the header's tensors, checked as safetensors
    does (known dtypes, each tensor's bytes its shape's, laid back to back from offset 0 to the
    end of the file), or a message saying what is wrong."""
    out = {}
    for k, e in header.items():
        if k == "__metadata__":
            continue
        if not (isinstance(e, dict) and set(e) == {"dtype", "shape", "data_offsets"}
                and isinstance(e["dtype"], str) and e["dtype"] in _NUMPY
                and isinstance(e["shape"], list) and all(_nat(d) for d in e["shape"])
                and isinstance(e["data_offsets"], list)
                and len(e["data_offsets"]) == 2 and all(map(_nat, e["data_offsets"]))):
            return (f"not a safetensors file: tensor {k!r} must be {{\"dtype\", \"shape\", "
                    f"\"data_offsets\"}} with a known dtype")
        begin, end = e["data_offsets"]
        size = math.prod(e["shape"]) * np.dtype(_NUMPY[e["dtype"]]).itemsize
        if end - begin != size:
            return (f"not a safetensors file: tensor {k!r} of shape {e['shape']} needs {size} "
                    f"bytes, its offsets hold {end - begin}")
        out[k] = (e["dtype"], tuple(e["shape"]), begin, end)
    at = 0
    for _, _, begin, end in sorted(out.values(), key=lambda v: (v[2], v[3])):
        if begin != at:
            return "not a safetensors file: the tensors' data overlap or leave a gap"
        at = end
    if at > have:
        return f"truncated: the tensors need {at} bytes of data, the file has {have}"
    if at < have:
        return f"not a safetensors file: {have - at} bytes follow the tensors' data"
    return out


def _nat(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0
