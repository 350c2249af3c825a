"""What keeps a cold `nclang check` / `compile` short (issue 17): the analysis imports no graph
library, and the shortcuts that replace sympy's `limit` in the class analysis give the degrees
`limit` gives. Not a timing test: bench/run_all.py measures the time."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sympy

from nclang.compiler import ir
from nclang.compiler.analysis.classify import _MAX_DEGREE, _T, _in_log, polylog_degree
from nclang.compiler.ir.sizes import log2

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [
    ["check", "stdlib/graph/bellman_ford.ncl"],
    ["compile", "stdlib/graph/bellman_ford.ncl", "--target", "gnn", "-o", "{out}"],
])
def test_a_cold_check_or_compile_of_a_loop_imports_no_networkx(command, tmp_path):
    # bellman_ford's `repeat` is what once needed networkx's strongly connected components
    argv = [a.format(out=tmp_path / "bf.safetensors") for a in command]
    code = ("import sys\nfrom nclang.compiler.cli import main\n"
            f"status = main({argv!r})\n"
            "assert status == 0, status\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'networkx'))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def _degree_by_limits(expr, x):
    """polylog_degree as it was computed before the shortcuts: by sympy's limit alone."""
    f = _in_log(expr, x)
    t = _T
    if t not in f.free_symbols:
        return 0
    if f.is_polynomial(t):
        candidates = [sympy.Poly(f, t).degree()]
    elif sympy.limit(f / t ** _MAX_DEGREE, t, sympy.oo) is sympy.oo:
        return None
    else:
        candidates = range(_MAX_DEGREE + 1)
    for degree in candidates:
        if sympy.limit(f / t ** degree, t, sympy.oo).is_finite:
            return degree
    return None


N, M, K = ir.N, ir.M, ir.K
FORMULAS = [
    N, N - 1, 3 * N + 2, N ** 2, M + N, M * N, sympy.sqrt(N), N / 2 - 1,
    sympy.ceiling(log2(N)), sympy.ceiling(log2(N)) ** 2 + 3, (N - 1) * sympy.ceiling(log2(N)),
    sympy.Max(N, log2(N)), log2(N) * log2(M), N * log2(N) - N, 1 / N + log2(N),
    log2(log2(N)), sympy.Integer(7), N - N + 1, K + 1, 2 ** sympy.ceiling(log2(N)),
    sympy.floor(N / 2) + log2(N), sympy.Min(N, log2(K)) + log2(M) ** 3,
]


@pytest.mark.parametrize("expr", FORMULAS, ids=str)
def test_polylog_degree_without_limits_is_the_degree_limits_give(expr):
    x = K if expr.has(K) else N
    polylog_degree.cache_clear()
    assert polylog_degree(expr, x) == _degree_by_limits(expr, x)
