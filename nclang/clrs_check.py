"""The checks `nclang.clrs` makes of what it is given: a CLRS sample's matrices and start node,
and an nclang graph input's edges, weights and start. Each failure is one `NclError` naming the
feature and the entry at fault (the conversion rules are nclang.clrs's docstring)."""
from __future__ import annotations

import math
from collections.abc import Mapping

from nclang.dsl.diagnostics import Diagnostic, NclError

# how near an integer `A[i][j] * scale` must be: CLRS's truncated floats times 10 miss by ~1e-15
TOLERANCE = 1e-9


def fail(file: str, message: str) -> NclError:
    return NclError(Diagnostic(file, 1, 1, 1, 2, "error", "bad-clrs", message))


def finite(x) -> bool:
    """Whether `x` is a finite real number (not a bool, not inf or nan)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _rows(value):
    # a numpy array (CLRS's own type) or nested lists, without importing numpy
    return value.tolist() if hasattr(value, "tolist") else value


def matrix(sample: Mapping, key: str, file: str) -> list[list]:
    """sample[key] as a square list of lists of finite numbers, at least 1 × 1."""
    if not isinstance(sample, Mapping):
        raise fail(file, f"a CLRS sample is a dict of its features, got {type(sample).__name__}")
    if key not in sample:
        raise fail(file, f"the sample has no {key!r} (its features: {', '.join(sample) or 'none'})")
    rows = _rows(sample[key])
    if not isinstance(rows, list) or not rows:
        raise fail(file, f"{key} must be an n × n matrix (a non-empty list of rows)")
    n = len(rows)
    for i, row in enumerate(rows):
        row = _rows(row)
        if not isinstance(row, list) or len(row) != n:
            raise fail(file, f"{key}[{i}] must be a row of {n} numbers, as {key} has {n} rows")
        for j, x in enumerate(row):
            if not finite(x):
                raise fail(file, f"{key}[{i}][{j}]: {x!r} is not a finite number")
    return [list(_rows(row)) for row in rows]


def adj_agrees(adj, a: list[list], file: str) -> None:
    """CLRS's `adj` is `A != 0` with the diagonal set: the same graph, or the sample is torn."""
    got = matrix({"adj": adj}, "adj", file)
    n = len(a)
    if len(got) != n:
        raise fail(file, f"adj is {len(got)} × {len(got)} but A is {n} × {n}")
    for i in range(n):
        for j in range(n):
            if (got[i][j] != 0) != (i == j or a[i][j] != 0):
                raise fail(file, f"adj[{i}][{j}] is {got[i][j]} but A[{i}][{j}] is {a[i][j]}: "
                                 f"CLRS's adj is A != 0 with the diagonal set")


def symmetric(a: list[list], file: str, algorithm: str) -> None:
    for i, row in enumerate(a):
        for j in range(i):
            if row[j] != a[j][i]:
                raise fail(file, f"A[{i}][{j}] is {row[j]} but A[{j}][{i}] is {a[j][i]}: "
                                 f"{algorithm} takes an undirected graph, a symmetric A")


def integer(x: float, what: str, file: str) -> int:
    near = round(x)
    if abs(x - near) > TOLERANCE:
        raise fail(file, f"{what} = {x!r} is not an integer: nclang's weights are integers "
                         f"(choose scale= so that every weight times it is one)")
    return int(near)


def start(sample: Mapping, n: int, file: str) -> int:
    """The start node of a sample's `s`: a one-hot list of n entries, or an index."""
    if "s" not in sample:
        raise fail(file, "the program takes a start node, and the sample has no 's'")
    s = _rows(sample["s"])
    if isinstance(s, list):
        if len(s) != n or not all(finite(x) for x in s):
            raise fail(file, f"s must be a one-hot list of {n} numbers")
        hot = [v for v, x in enumerate(s) if x != 0]
        if len(hot) != 1 or s[hot[0]] != 1:
            raise fail(file, f"s must be one-hot (one 1, the rest 0), got {s}")
        return hot[0]
    if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < n:
        raise fail(file, f"s must be a node index 0..{n - 1} or a one-hot list, got {s!r}")
    return s


def graph(instance: Mapping, file: str) -> tuple[int, list[tuple[int, int]]]:
    """(n, edges) of an nclang graph input."""
    if not isinstance(instance, Mapping):
        raise fail(file, f"an nclang input is a dict, got {type(instance).__name__}")
    n = instance.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise fail(file, f"n must be a node count of at least 1, got {n!r}")
    edges = instance.get("edges", [])
    if not isinstance(edges, list):
        raise fail(file, "edges must be a list of [u, v] pairs")
    out = []
    for k, e in enumerate(edges):
        if not (isinstance(e, (list, tuple)) and len(e) == 2 and
                all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < n for x in e)):
            raise fail(file, f"edges[{k}] must be a pair [u, v] of nodes 0..{n - 1}, got {e!r}")
        out.append((e[0], e[1]))
    return n, out


def edge_weights(instance: Mapping, key: str, m: int, file: str) -> list[int]:
    w = instance.get(key)
    if not isinstance(w, list) or len(w) != m or \
            not all(isinstance(x, int) and not isinstance(x, bool) for x in w):
        raise fail(file, f"{key} must be a list of {m} integers, one per edge")
    return w


def instance_start(instance: Mapping, params: Mapping[str, str], n: int, file: str):
    """The start node of an nclang input, from the program's `node` or one-hot `node[bool]`
    parameter; None when it takes none."""
    for name, kind in params.items():
        if kind == "node":
            s = instance.get(name)
            if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < n:
                raise fail(file, f"{name} must be a node 0..{n - 1}, got {s!r}")
            return s
        if kind == "node[bool]":
            s = instance.get(name)
            if not isinstance(s, list) or len(s) != n or \
                    [x for x in s if not isinstance(x, bool)]:
                raise fail(file, f"{name} must be a list of {n} booleans")
            if s.count(True) != 1:
                raise fail(file, f"{name} must mark exactly one node for CLRS's one-hot s, "
                                 f"it marks {s.count(True)}")
            return s.index(True)
    return None
