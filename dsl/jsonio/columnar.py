"""Graph input in a columnar form: a numpy `.npz` archive of arrays, one instance per file, for
graphs too large to write as JSON (docs/cli.md#npz-input). Arrays are checked against the
program's types as `decode` checks JSON, but a whole array at a time, and the archive is read
without pickle (`allow_pickle=False`) and with every array's size known before it is read.

Diagnostics point at the file (`FILE:1:1`, an archive has no lines) and name the array and the
element: `w[17]: 1001 is out of range int[0..1000]`."""
from __future__ import annotations

import zipfile

import numpy as np

from .. import types as T
from ..diagnostics import Diagnostic, NclError, did_you_mean
from ..values import EXACT_INT_LIMIT, NONE_INDEX, GraphData, Instance, dtype_of
from .decoding import check_sizes

# The most bytes the arrays of one archive may hold once decompressed: a graph of 10^7 nodes and
# 4·10^7 edges with an int64 weight per edge fits; a compressed archive that would expand past it
# (a zip bomb) is refused from its headers, before anything is decompressed.
MAX_NPZ_BYTES = 2 * 1024 ** 3


def is_npz(path: str) -> bool:
    """Whether an input path names an archive (by its suffix: stdin is always JSON)."""
    return path.lower().endswith(".npz")


def read_npz(stream, file: str) -> dict[str, np.ndarray]:
    """The arrays of an `.npz` archive read from a binary stream, by name; NclError (code
    `bad-input`) when it is not one, holds an object array, or is larger than MAX_NPZ_BYTES."""
    try:
        archive = zipfile.ZipFile(stream)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise _error(file, f"not an .npz archive (a zip of .npy arrays): {err}") from None
    total = 0
    for info in members:
        if not info.filename.endswith(".npy") or "/" in info.filename:
            raise _error(file, f"{info.filename!r} is not an array of the archive (an .npz holds "
                               "NAME.npy members only)")
        total += info.file_size
    if total > MAX_NPZ_BYTES:
        raise _error(file, f"the arrays take {total:,} bytes unpacked, more than the "
                           f"{MAX_NPZ_BYTES:,} an input may")
    arrays = {}
    for info in members:
        name = info.filename[:-4]
        try:
            with archive.open(info) as member:
                _check_header(member, info, name, file)
            with archive.open(info) as member:
                arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
        except NclError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise _error(file, f"array '{name}' cannot be read: {err}") from None
    return arrays


def _check_header(member, info, name: str, file: str) -> None:
    """Refuse an array whose header promises more data than its member holds (the header is
    what numpy allocates by)."""
    version = np.lib.format.read_magic(member)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise _error(file, f"array '{name}' is in .npy format version {version[0]}.{version[1]}; "
                           "this nclang reads versions 1.0 and 2.0 (what numpy.savez writes)")
    shape, _, dtype = read_header(member)
    if dtype.hasobject:
        raise _error(file, f"array '{name}' holds Python objects, which an input may not "
                           "(they would need pickle)")
    size = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if size > info.file_size:
        raise _error(file, f"array '{name}' claims shape {shape} ({size:,} bytes) but its "
                           f"member holds {info.file_size:,}")


def decode_npz(checked, arrays: dict[str, np.ndarray], sizes: dict[str, int],
               file: str) -> Instance:
    """The `Instance` that an archive's arrays denote for a graph program, checked as
    `decode` checks a JSON record: every problem is reported at once."""
    check_sizes(checked, sizes, file)
    params = [(p.name, T.from_syntax(p.type)) for p in checked.program.params]
    if not any(isinstance(t, T.Graph) for _, t in params):
        raise _error(file, f"program {checked.program.name} is not a graph program: an .npz "
                           "input is for graphs; give its input as JSON")
    return _Columns(arrays, file, sizes).run(checked.program.name, params)


class _Columns:
    def __init__(self, arrays: dict[str, np.ndarray], file: str, sizes: dict[str, int]):
        self.arrays, self.file, self.sizes = arrays, file, dict(sizes)
        self.errors: list[Diagnostic] = []
        self.n: int | None = None
        self.m: int | None = None

    def error(self, message: str) -> None:
        self.errors.append(Diagnostic(self.file, 1, 1, 1, 2, "error", "bad-input", message))

    def run(self, program: str, params) -> Instance:
        fields = {name: t for name, t in params if not isinstance(t, T.Graph)}
        known = set(fields) | {"n", "edges", "src", "dst"}
        for name in sorted(self.arrays):
            if name not in known:
                self.error(f"unknown array '{name}'{did_you_mean(name, known)} (program "
                           f"{program} takes: {', '.join(sorted(known))})")
        graph = self._graph()
        values = {}
        for name, t in fields.items():
            if name not in self.arrays:
                self.error(f"missing array '{name}' ({t})")
                continue
            value = self._field(name, t, self.arrays[name])
            if value is not None:
                values[name] = value
        if self.errors:
            raise NclError(self.errors)
        return Instance({**self.sizes, "n": self.n, "m": self.m}, values, graph)

    # ---- n and the edges
    def _graph(self) -> GraphData | None:
        n = self.arrays.get("n")
        if n is None:
            self.error("missing array 'n' (the number of nodes, a 0-d integer array)")
        elif n.shape not in ((), (1,)) or n.dtype.kind not in "iu" or int(n.reshape(())) < 1:
            self.error(f"n must be a positive integer (a 0-d integer array), got "
                       f"{_describe(n)}")
        else:
            self.n = int(n.reshape(()))
        if "src" in self.arrays or "dst" in self.arrays:
            if "edges" in self.arrays:
                self.error("give the edges once: as 'edges' [m, 2] or as 'src' and 'dst' [m]")
                return None
            src, dst = self.arrays.get("src"), self.arrays.get("dst")
            if src is None or dst is None:
                self.error(f"missing array '{'dst' if dst is None else 'src'}' (with "
                           f"'{'src' if dst is None else 'dst'}': the edges' endpoints)")
                return None
            ok = [self._ids(name, a) for name, a in (("src", src), ("dst", dst))]
            if not all(ok):
                return None
            if src.shape != dst.shape:
                self.error(f"src has {src.shape[0]} elements but dst has {dst.shape[0]}: one "
                           "each per edge")
                return None
        else:
            edges = self.arrays.get("edges", np.zeros((0, 2), np.int64))
            if edges.ndim != 2 or edges.shape[1] != 2:
                self.error(f"edges must be an [m, 2] integer array of (u, v) pairs, got "
                           f"{_describe(edges)}")
                return None
            if not self._ids("edges", edges):
                return None
            src, dst = edges[:, 0], edges[:, 1]
        self.m = int(src.shape[0])
        if self.n is None:
            return None
        return GraphData(self.n, np.ascontiguousarray(src, dtype=np.int64),
                         np.ascontiguousarray(dst, dtype=np.int64))

    def _ids(self, name: str, a: np.ndarray) -> bool:
        """Whether `a` holds node ids 0..n-1 (1-D for src/dst), reporting the first that is not."""
        if a.dtype.kind not in "iu" or (name != "edges" and a.ndim != 1):
            shape = "an [m] integer array" if name != "edges" else "an [m, 2] integer array"
            self.error(f"{name} must be {shape} of node ids, got {_describe(a)}")
            return False
        if self.n is None or not a.size:
            return True
        bad = (a < 0) | (a >= self.n)
        if bad.any():
            self._first_bad(name, a, bad, f"names a node outside 0..{self.n - 1}")
            return False
        return True

    # ---- one field
    def _field(self, name: str, t: T.Type, a: np.ndarray):
        shape = self._shape(name, t)
        if shape is None:
            return None
        if a.shape != shape:
            self.error(f"{name} has shape {a.shape} but {t} needs {shape}")
            return None
        elem = t.elem if isinstance(t, T.Field) else t
        value = self._elements(name, elem, a)
        return None if value is None else value.astype(dtype_of(t), copy=False)

    def _shape(self, name: str, t: T.Type) -> tuple[int, ...] | None:
        if not isinstance(t, T.Field):
            return ()
        if t.bits or any(a.kind not in ("node", "edge") for a in t.axes):
            self.error(f"{name}: an .npz input holds node, edge and pair fields and scalars, not "
                       f"{t}; give this program's input as JSON")
            return None
        dims = [self.n if a.kind == "node" else self.m for a in t.axes]
        return None if any(d is None for d in dims) else tuple(dims)

    def _elements(self, name: str, t: T.Type, a: np.ndarray) -> np.ndarray | None:
        kind = a.dtype.kind
        match t:
            case T.Bool() if kind == "b":
                return a
            case T.Int(lo=lo, hi=hi) if kind in "iuf":
                if kind == "f":
                    bad = np.isnan(a) | (np.isfinite(a) & (a != np.round(a)))
                    if bad.any():
                        return self._first_bad(name, a, bad, "is not an integer")
                big = np.isfinite(a) & ((a <= -EXACT_INT_LIMIT) | (a >= EXACT_INT_LIMIT)) \
                    if kind == "f" else (a <= -EXACT_INT_LIMIT) | (a >= EXACT_INT_LIMIT)
                if big.any():
                    return self._first_bad(name, a, big, "is too large to represent exactly "
                                                         "(the limit is 2^53)")
                if lo is not None:
                    out = (a < lo) | (a > hi)
                    if out.any():
                        return self._first_bad(name, a, out, f"is out of range {t}")
                return a  # ±inf where the range allows it, as "inf" / "-inf" in JSON
            case T.Frac() if kind in "iuf":
                bad = ~np.isfinite(a) if kind == "f" else np.zeros(a.shape, bool)
                if bad.any():
                    return self._first_bad(name, a, bad, "is not a finite number (frac)")
                return a
            case T.Index() if kind in "iu":
                if self.n is None:
                    return None  # n is wrong, and said so
                bad = (a < NONE_INDEX) | (a >= self.n)
                if bad.any():
                    return self._first_bad(name, a, bad, f"is not a node id 0..{self.n - 1} "
                                                         f"or {NONE_INDEX} for none")
                return a
        self.error(f"{name}: {t} cannot be given as an array of {a.dtype}"
                   f"{_WANT.get(type(t), '')}")
        return None

    def _first_bad(self, name: str, a: np.ndarray, bad: np.ndarray, why: str) -> None:
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        more = int(bad.sum()) - 1
        where = name + "".join(f"[{i}]" for i in index)
        self.error(f"{where}: {a[index].item()!r} {why}"
                   + (f" ({more} more elements like it)" if more else ""))


_WANT = {T.Bool: " (a bool array is needed)", T.Int: " (an integer or float array is needed)",
         T.Frac: " (an integer or float array is needed)",
         T.Index: " (an integer array of node ids, -1 for none, is needed)",
         T.Token: " (tokens are given as JSON)"}


def _describe(a: np.ndarray) -> str:
    return f"an array of shape {a.shape} and dtype {a.dtype}"


def _error(file: str, message: str) -> NclError:
    return NclError(Diagnostic(file, 1, 1, 1, 2, "error", "bad-input", message))
